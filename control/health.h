/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/health.h: non-blocking health probes (tcp, http, radius Status-Server over UDP) with interval, timeout, rise and fall; reports changes only. */
#ifndef FERRY_CONTROL_HEALTH_H
#define FERRY_CONTROL_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <ferry/abi.h>
#include "loop.h"

enum health_type {
	HEALTH_NONE = 0, /* no probe: always up */
	HEALTH_TCP, /* connect() succeeds */
	HEALTH_HTTP, /* GET path answers with the expected status */
	HEALTH_RADIUS, /* Status-Server (RFC 5997) gets an authentic answer */
	HEALTH_TYPE_MAX
};

#define HEALTH_SECRET_MAX 128 /* radius shared secret, octets */

/* Compared with memcmp (probe sharing, reload): zero it before filling. */
struct health_spec {
	enum health_type type;
	__u16 port; /* host order */
	__u32 interval_ms;
	__u32 timeout_ms; /* < interval_ms */
	__u32 rise; /* successes in a row that make a down probe up */
	__u32 fall; /* failures in a row that make an up probe down */
	char path[128]; /* http */
	char host[64]; /* http Host:, empty: the node's address */
	__u16 expect; /* http status */
	bool radius_acct; /* radius: accounting port (Accounting-Response) */
	char secret[HEALTH_SECRET_MAX + 1]; /* radius shared secret */
};

struct health_probe_def {
	union lb_addr addr;
	__u8 family;
	struct health_spec spec;
	bool up; /* state to start in (e.g. what the dataplane had) */
};

struct health_probe_info {
	bool up;
	__u64 ok, failed; /* probes run, by result */
	__u32 last_ms; /* duration of the last finished probe */
	char last_error[48];
};

struct health;
/* probe: index in the last health_set(); called only on changes. */
typedef void (*health_change_cb)(void *arg, unsigned int probe, bool up);

struct health *health_new(struct loop *l, health_change_cb cb, void *arg);
void health_free(struct health *h);
/* Replaces the probe set. A probe equal in address and spec to one of the
 * old set keeps its state and counters. 0 or -errno. */
int health_set(struct health *h, const struct health_probe_def *defs,
	       unsigned int n);
bool health_is_up(const struct health *h, unsigned int probe);
int health_info(const struct health *h, unsigned int probe,
		struct health_probe_info *out);
/* A paused probe runs no more (maintenance) and keeps its state. */
void health_pause(struct health *h, unsigned int probe, bool paused);
/* Drives timers: starts due probes, fails timed-out ones. */
void health_tick(struct health *h, uint64_t now_ms);

#endif /* FERRY_CONTROL_HEALTH_H */
