/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/announce.h: VIP announcements for scale-out: one route per announced VIP address in a kernel table of Ferry's own, kept by rtnetlink, which BIRD learns and exports over BGP; the routes follow the dataplane and health. */
#ifndef FERRY_CONTROL_ANNOUNCE_H
#define FERRY_CONTROL_ANNOUNCE_H

#include <stdbool.h>
#include "conf.h"
#include "plan.h"

/* The routes' protocol number ("ferry" for `ip route ... proto 252`):
 * ferryd owns exactly the routes of this protocol in the announce table. */
#define ANNOUNCE_RTPROT 252
/* The table is re-checked this often besides on events (a link pinned
 * away by another process, a failed add retried). */
#define ANNOUNCE_RECHECK_MS 1000

struct ferryd;

/*
 * Starts announcing as d->conf says (a config without an `announce` group
 * touches no table): reconciles the table at once (routes of ours that are
 * stale are removed, needed ones added: this is how a restarted ferryd
 * adopts what it finds), then after every applied generation
 * (d->on_apply), on link changes of the dataplane interface, on route
 * changes in the table, and every ANNOUNCE_RECHECK_MS. d->announce holds
 * the state. 0 or -errno.
 */
int announce_start(struct ferryd *d);
/* Stops following. The routes stay: the dataplane outlives ferryd and
 * keeps forwarding. NULL d->announce accepted. */
void announce_stop(struct ferryd *d);

/* Whether VIP i of d->live is announced now (its address's route is in
 * the table). False without announcements. */
bool announce_vip_announced(const struct ferryd *d, unsigned int i);

/* ferryd --detach: removes every route of ours from conf's announce table
 * (nothing without an `announce` group). Returns the number removed, or
 * -errno. */
int announce_withdraw_all(const struct ferry_conf *conf);

/*
 * The health rule, pure (unit-tested): for each VIP i of p (VIPs in config
 * order), ok[i] says whether it has at least conf->vips[i].min_healthy
 * backends that are active and in the ring (weight > 0), counting plan
 * backend k only where counted is NULL or counted[k]. A VIP failing open
 * has no active backend. active (may be NULL) gets the counts.
 */
void announce_vips_ok(const struct ferry_conf *conf, const struct plan *p,
		      const bool *counted, bool *ok, unsigned int *active);

#endif /* FERRY_CONTROL_ANNOUNCE_H */
