/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/daemon.h: ferryd's running state: config, health, admin states, the live plan, and the sync step that reconciles them into the engine. */
#ifndef FERRY_CONTROL_DAEMON_H
#define FERRY_CONTROL_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include "conf.h"
#include "engine.h"
#include "health.h"
#include "loop.h"
#include "plan.h"

struct ctlsock;

enum admin_state {
	ADMIN_NONE = 0,
	ADMIN_DRAIN, /* no new flows, existing ones stay */
	ADMIN_MAINT, /* as down, and not probed */
};

/* An operator's drain / maint, by name so it survives reloads. */
struct admin_entry {
	char vip[CONF_NAME_MAX]; /* "" = every VIP of the node */
	char node[CONF_NAME_MAX];
	enum admin_state state;
};

#define DAEMON_MAX_ADMIN 4096

struct ferryd {
	const char *conf_path;
	const struct engine_ops *ops;
	struct engine *engine;
	struct loop *loop;
	struct health *health;
	struct ferry_conf *conf;
	struct plan *live;
	unsigned int nbe; /* config backends, VIPs in order */
	unsigned int *probe_of; /* per config backend: its probe */
	struct admin_entry *admin;
	unsigned int nadmin;
	unsigned int npins; /* config pins, VIPs in order */
	int *pin_node; /* per config pin: its current node, -1: none */
	uint64_t *usable_since; /* per config backend: active or draining
				 * since (ms), 0: not usable */
	uint64_t pin_recheck_ms; /* a timed failback is due then */
	bool dirty; /* health or admin changed: sync at the next tick */
	bool stop;
	bool adopted;
	uint64_t started_ms;
	__u64 reloads_ok, reloads_failed;
	__u64 syncs_failed;
	struct ctlsock *ctl; /* control socket, owned by the top level */
	void (*on_tick)(struct ferryd *d, uint64_t now_ms);
	/* After every applied generation (first start, sync, reload). */
	void (*on_apply)(struct ferryd *d);
	void *announce; /* route announcements, owned by the top level */
};

/* Opens the engine (adopting a running dataplane and its states), starts
 * probes, applies the first plan. 0 or -errno (logged by the caller). */
int daemon_start(struct ferryd *d, const struct engine_ops *ops,
		 struct ferry_conf *conf, const char *conf_path);
void daemon_stop(struct ferryd *d);

/* Re-reads the config file; on any error the live generation stays.
 * 0 or -errno; msg gets "file:line: message" or what failed. */
int daemon_reload(struct ferryd *d, char *msg, size_t len);

/* Sets (or clears, with ADMIN_NONE) an admin state for node, on vip or
 * every VIP (vip NULL). Returns the number of backends whose admin state
 * changed (0: nothing to do, no new generation), or -ENOENT for an
 * unknown node / VIP. */
int daemon_admin(struct ferryd *d, const char *node, const char *vip,
		 enum admin_state state);

/* `ferryctl pin failback`: the pin of peer (text as in the config, or its
 * /len form) on vip goes back to its first usable node. 1 if it moved,
 * 0 if not, -ENOENT for an unknown VIP or peer. */
int daemon_pin_failback(struct ferryd *d, const char *vip, const char *peer);

/* Health or admin changed: a new plan, applied. 0 or -errno. */
int daemon_sync(struct ferryd *d);

/* The state of config backend k as the plan sees it. */
enum lb_backend_state daemon_backend_state(const struct ferryd *d,
					   unsigned int k);
enum admin_state daemon_backend_admin(const struct ferryd *d, unsigned int k);

#endif /* FERRY_CONTROL_DAEMON_H */
