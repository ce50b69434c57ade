/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/commands.h: ferryd's control socket commands, started and stopped with the daemon. */
#ifndef FERRY_CONTROL_COMMANDS_H
#define FERRY_CONTROL_COMMANDS_H

#include "daemon.h"

/* Opens the control socket of d's config with every command. 0 / -errno. */
int ctl_start(struct ferryd *d);
/* Closes it; safe when never started. */
void ctl_stop(struct ferryd *d);

#endif /* FERRY_CONTROL_COMMANDS_H */
