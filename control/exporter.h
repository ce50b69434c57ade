/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/exporter.h: ferryd's Prometheus endpoint (GET /metrics, text format 0.0.4), served from the daemon's one event loop. */
#ifndef FERRY_CONTROL_EXPORTER_H
#define FERRY_CONTROL_EXPORTER_H

#include <stddef.h>
#include "daemon.h"

/* Listens on d->conf->ctl.exporter ("host:port", "[v6]:port"; "" = off)
 * and serves /metrics from d's loop: no thread of its own. 0, or -errno
 * (a port taken: -EADDRINUSE) for the caller to log. */
int exporter_start(struct ferryd *d);
/* Closes the listener and every connection; safe when never started. */
void exporter_stop(struct ferryd *d);

/* The exposition text of d's state now, malloc'd, NUL-terminated; its
 * length in *len. NULL with errno when the counters cannot be read. */
char *exporter_render(struct ferryd *d, size_t *len);

#endif /* FERRY_CONTROL_EXPORTER_H */
