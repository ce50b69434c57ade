/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_ctl_server.h: ferry-dpdk's side of the control protocol (dp_ctl.h): the live snapshot and its tables file, and the requests, served one at a time from the main lcore. DPDK userspace only.
 *
 * The main lcore calls dp_server_poll() in its loop: it waits at most
 * timeout_ms for a connection, then reads one request (at most
 * DP_CTL_TIMEOUT_MS), answers it and closes. A bad request (not our
 * protocol, too long, truncated, slow) gets an error reply or a closed
 * connection and a line on stderr; forwarding lcores never wait on it.
 *
 * Tables change only here, so the live snapshot (the bytes of the
 * generation being served) and the tables file always agree: LOAD writes
 * the file before it publishes (and puts the old file back if the publish
 * is refused), CLEAR removes it, and a failed request changes neither.
 */
#ifndef FERRY_DATAPLANE_DP_CTL_SERVER_H
#define FERRY_DATAPLANE_DP_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_ctl.h"
#include "dp_engine.h"

#define DP_SERVER_NO_PORT UINT16_MAX

struct dp_server {
	/* Set by the caller before dp_server_init(). */
	struct dp_engine *engine;
	const char *tables; /* the tables file; NULL: none kept */
	const uint16_t *ports; /* data ports; ports[0] lends its MAC */
	unsigned int nports;
	uint16_t exc_port; /* DP_SERVER_NO_PORT: none */
	const unsigned int *lcore_id; /* EAL lcore of context i */
	/* Adds the process's own counters (tx_dropped ... exception_rx). */
	void (*proc_stats)(struct dp_ctl_stats *st);
	/* Ours. */
	int fd; /* listening socket; -1: none */
	__u64 boot_id;
	__u64 started_ns;
	void *live; /* the live snapshot (malloc); NULL: none */
	/* __atomic: the live snapshot has no source MAC: each data port's
	 * own goes on the frames it sends (the first port's is in the
	 * tables, so only the others rewrite). */
	bool mac_per_port;
	size_t live_len;
	__u32 sample; /* next window of the conntrack count */
	__u64 *win_used; /* last count per window, lcore after lcore */
	__u32 nwin;
	struct dp_stats *stats; /* scratch (large) */
	struct dp_ctl_stats *reply; /* scratch (large) */
};

/* Boot id, start time, scratch memory. 0 or -ENOMEM. */
int dp_server_init(struct dp_server *s);
/* Listens on path (mode 0600). 0 or -errno. */
int dp_server_listen(struct dp_server *s, const char *path);
void dp_server_fini(struct dp_server *s);

/* Reads s->tables and publishes it; why names the occasion in the log
 * ("load", "reload"). 0, -errno (-ENOENT: no file), -EINVAL (refused: the
 * running generation stays). */
int dp_server_load_file(struct dp_server *s, const char *why);
/* Empty tables (generation 0: every frame to the exception path); the
 * tables file is removed and the live snapshot forgotten. 0 or -errno. */
int dp_server_clear(struct dp_server *s);

static inline __u32 dp_server_generation(const struct dp_server *s)
{
	return __atomic_load_n(&s->engine->generation, __ATOMIC_RELAXED);
}

/* Waits at most timeout_ms for a client and serves one request. Without
 * a socket, only waits. */
void dp_server_poll(struct dp_server *s, int timeout_ms);

#endif /* FERRY_DATAPLANE_DP_CTL_SERVER_H */
