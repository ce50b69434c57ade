/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/engine.h: the ops every dataplane engine implements for ferryd: open, apply(plan), read_stats, close. */
#ifndef FERRY_CONTROL_ENGINE_H
#define FERRY_CONTROL_ENGINE_H

#include <stdbool.h>
#include <ferry/abi.h>
#include "common/result.h"
#include "conf.h"
#include "plan.h"

#define ENGINE_MAX_CPUS 512
#define ENGINE_MAX_EXTRA 8
#define ENGINE_MAX_PORTS 32

/* A port of a dataplane that has its own (DPDK: ethdev counters). */
struct engine_port {
	__u16 id;
	bool data; /* a data port; else the exception port */
	bool link_up;
	__u64 rx_packets, tx_packets;
	__u64 rx_missed; /* dropped by the port: RX queues full */
	__u64 rx_errors, tx_errors;
};

/* A counter only one engine has (DPDK: TX drops, ...), exported as
 * ferry_<name>_total. */
struct engine_extra {
	const char *name; /* static */
	const char *help; /* static */
	__u64 value;
};

/* Counters summed over CPUs / lcores, plus per-CPU packet totals. */
struct engine_stats {
	unsigned int ncpus;
	struct lb_global_stats global;
	struct lb_vip_stats vip[FERRY_MAX_VIPS];
	struct lb_counter backend[FERRY_MAX_BACKENDS];
	struct lb_counter pin[FERRY_MAX_PINS];
	__u64 cpu_packets[ENGINE_MAX_CPUS];
	/* What index i of cpu_packets is. NULL: CPU i (XDP); else entry i is
	 * cpu_label number cpu_id[i] (DPDK: "lcore", the EAL lcore id). */
	const char *cpu_label;
	__u32 cpu_id[ENGINE_MAX_CPUS];
	unsigned int nextra;
	struct engine_extra extra[ENGINE_MAX_EXTRA];
	unsigned int nports; /* 0: the engine has no ports of its own (XDP) */
	struct engine_port port[ENGINE_MAX_PORTS];
	__u64 flows_entries; /* conntrack entries in use, if known */
	__u64 flows_capacity;
	__u32 generation; /* the generation the dataplane serves */
};

struct engine;

/* What a running dataplane holds, for a restarted ferryd to take over its
 * ids, cookies and backend states. */
struct engine_snapshot {
	unsigned int nvips;
	struct lb_vip_key *vip_keys;
	struct lb_vip *vips;
	unsigned int nbackends;
	__u32 *backend_ids;
	struct lb_backend *backends;
};

void engine_snapshot_free(struct engine_snapshot *s);

struct engine_ops {
	const char *name;
	/* Adopts a running dataplane if there is one, else starts one.
	 * adopted says which; NULL with errno on failure. */
	struct engine *(*open)(const struct ferry_conf *conf, bool *adopted);
	/* Opens a running dataplane read-only (stats); NULL if none. */
	struct engine *(*attach_existing)(const struct ferry_conf *conf);
	/* Makes plan p the live generation; everything of p lands first. */
	int (*apply)(struct engine *e, const struct plan *p);
	int (*read_stats)(struct engine *e, struct engine_stats *s);
	/* Where would this frame go: the forwarding core run over the live
	 * tables, read-only (nothing is inserted). 0 or -errno. */
	int (*where)(struct engine *e, const __u8 *frame, __u32 len,
		     struct lb_result *r);
	/* Fills s from the live tables; engine_snapshot_free() after. */
	int (*snapshot)(struct engine *e, struct engine_snapshot *s);
	/* Whether the dataplane is attached and forwarding now (XDP: the
	 * pinned link exists and is attached to the configured interface);
	 * if not, why (may be NULL) says why. Route announcements follow it. */
	bool (*forwarding)(struct engine *e, char *why, size_t len);
	/* Called from ferryd's loop every tick (may be NULL): keeps the
	 * dataplane serving the live plan (DPDK: pushes it again to a
	 * ferry-dpdk that restarted). 1: it acted (msg says what), 0:
	 * nothing to do, -errno: something is wrong (msg says what). */
	int (*tick)(struct engine *e, __u64 now_ms, char *msg, size_t len);
	/* Stops forwarding and removes every trace (pins, program). */
	int (*destroy)(const struct ferry_conf *conf);
	/* Lets go of the dataplane; it keeps forwarding. NULL accepted. */
	void (*close)(struct engine *e);
};

extern const struct engine_ops engine_xdp_ops;
extern const struct engine_ops engine_dpdk_ops;

/* The engine the config names. */
static inline const struct engine_ops *engine_ops_of(const struct ferry_conf *c)
{
	return c->dp.dpdk ? &engine_dpdk_ops : &engine_xdp_ops;
}

#endif /* FERRY_CONTROL_ENGINE_H */
