/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/names.h: printable names of the ABI's enums (reasons, events, backend states). */
#ifndef FERRY_CONTROL_NAMES_H
#define FERRY_CONTROL_NAMES_H

#include <ferry/abi.h>

const char *lb_reason_name(unsigned int reason);
const char *lb_event_name(unsigned int event);
const char *lb_backend_state_name(unsigned int state);

#endif /* FERRY_CONTROL_NAMES_H */
