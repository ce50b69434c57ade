/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/plan.h: config (+ backend states) -> the tables of one generation: VIP ids, backend ids and cookies, Maglev rings. Pure: no I/O. */
#ifndef FERRY_CONTROL_PLAN_H
#define FERRY_CONTROL_PLAN_H

#include <ferry/abi.h>
#include "conf.h"

struct plan_backend {
	char vip[CONF_NAME_MAX];
	char node[CONF_NAME_MAX];
	__u32 id; /* index into the backends table; stable across plans */
	__u32 vip_id;
	__u32 weight;
	__u32 ring_weight; /* weight in this generation's ring (0: out) */
	struct lb_backend be;
};

struct plan_vip {
	char name[CONF_NAME_MAX];
	__u32 id; /* stable across plans for the same name */
	struct lb_vip_key key;
	__u32 flags; /* enum lb_vip_flags */
	/* A source-hash VIP on one port also gets (addr, 0, proto) marked
	 * LB_VIP_FRAGS_ONLY, so later fragments (no ports) find it. */
	bool has_frag_key;
	struct lb_vip_key frag_key;
	__u32 ring_size;
	__u32 *ring; /* ring_size backend ids */
	__u64 ring_digest; /* by backend identity, equal across machines */
	bool fail_open; /* no backend active: ring over all but maint */
	bool ring_changed; /* differs from the previous plan's */
	__u32 first_backend; /* index into plan.backends */
	__u32 nbackends;
};

struct plan_pin {
	char vip[CONF_NAME_MAX];
	char peer[64]; /* "10.0.0.0/24" */
	__u32 vip_id;
	struct lb_pin_key key;
	struct lb_pin pin; /* backend id, pin id, action */
	int target; /* index into the VIP's backends, -1: none */
	unsigned int conf_vip, conf_pin; /* where it came from */
};

/* What the daemon decides besides the config: per config backend its
 * state, per config pin (VIPs in order, their pins in order) its node
 * (index into the pin's nodes, -1: none usable). NULL: all active, every
 * pin on its first node. */
struct plan_input {
	const __u8 *states;
	const int *pin_nodes;
};

struct plan {
	__u32 generation;
	__u32 hash_seed;
	struct lb_config cfg; /* src_mac is the engine's to fill */
	struct plan_vip *vips;
	unsigned int nvips;
	struct plan_backend *backends;
	unsigned int nbackends;
	struct plan_pin *pins;
	unsigned int npins;
};

/* NULL with errno set on failure. prev (may be NULL) keeps ids and
 * cookies stable and lends its rings where nothing they depend on changed.
 * in: backend states and pin nodes (struct plan_input); NULL: defaults. */
struct plan *plan_build_states(const struct ferry_conf *conf,
			       const struct plan *prev,
			       const struct plan_input *in, __u32 generation);
struct plan *plan_build(const struct ferry_conf *conf, const struct plan *prev,
			__u32 generation);
void plan_free(struct plan *p);

const struct plan_vip *plan_vip_by_id(const struct plan *p, __u32 id);
const struct plan_vip *plan_vip_by_name(const struct plan *p, const char *name);
const struct plan_backend *plan_backend_by_id(const struct plan *p, __u32 id);

#endif /* FERRY_CONTROL_PLAN_H */
