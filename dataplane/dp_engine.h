/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_engine.h: the DPDK forwarding engine: per-lcore contexts (conntrack, counters), the live tables behind an RCU-protected pointer, and dp_process_burst(). DPDK userspace only.
 *
 * Run-to-completion, per forwarding lcore (ferry_dpdk.c's loop):
 *
 *   dp_lcore_online(lc);
 *   for (;;) {
 *       n = rte_eth_rx_burst(...);
 *       t = dp_tables_get(engine);             // one load per burst
 *       dp_process_burst(lc, t, pkts, n, &tx, &pass, &drop);
 *       ... tx_burst(tx), exception port(pass), free(drop) ...
 *       dp_lcore_quiescent(lc);                // t is not used past here
 *   }
 *
 * Tables are swapped whole: a control thread builds a generation to the
 * side (dp_engine_load(): snapshot -> validate -> dp_tables_build) and
 * dp_engine_publish() stores the new pointer, waits until every online
 * lcore has passed a quiescent point (rte_rcu_qsbr_synchronize), and frees
 * the old generation. One control thread publishes at a time.
 *
 * Per-lcore state is the lcore's alone: its conntrack (a flow cache of
 * struct lb_flow_bucket, common/flowcache.h, kept across generations;
 * entries name a backend id and cookie, so a reused id is never followed)
 * and its counters, in the layout of the XDP maps (lb_global_stats,
 * lb_vip_stats per VIP id, lb_counter per backend id and pin id). RSS keeps
 * a flow's packets on one lcore, so unlike the XDP engine a miss does not
 * search the other lcores' caches, except for ICMP errors (RSS spreads them
 * on their own addresses): those peek read-only into the peers'. Counters are written with relaxed
 * atomic stores by their lcore and summed by dp_engine_stats() from any
 * thread.
 *
 * The core reads headers through struct pointers and needs the IP header
 * 4-byte aligned: the frame must start at 2 mod 4 (NET_IP_ALIGN). DPDK PMDs
 * put frames at buf_addr + RTE_PKTMBUF_HEADROOM, 0 mod 8, so the IP header
 * lands at 2 mod 4. DP_ALIGN_SLIDE (default) moves such a frame 2 bytes
 * into its headroom (one memmove of the frame) before the core sees it,
 * which is correct on every CPU and clean under UBSan; DP_ALIGN_TRUST hands
 * frames as they are, relying on the CPU's unaligned loads (x86-64,
 * arm64; refused elsewhere). The mbuf layout is not changed instead (a pool
 * whose buffers start 2 bytes later): PMDs that compute data positions from
 * the mbuf itself (net_af_xdp zero-copy) would then misplace frames.
 * perf/README.md ("DPDK forwarding") gives the cost of each.
 */
#ifndef FERRY_DATAPLANE_DP_ENGINE_H
#define FERRY_DATAPLANE_DP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ferry/abi.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dp_tables.h"

#define DP_MAX_LCORES 128
#define DP_NO_READER (-1) /* dp_engine_publish(): the caller reads no tables */

enum dp_align {
	DP_ALIGN_SLIDE = 0, /* move misaligned frames (default) */
	DP_ALIGN_TRUST, /* hand frames as they are (unaligned loads) */
};

/* Engine counters that have no place in the XDP layout. */
struct dp_lcore_stats {
	__u64 realigned; /* frames slid to put the IP header on 4 bytes */
	__u64 linearized; /* multi-segment frames made contiguous */
};

struct dp_lcore {
	/* Read on every packet. */
	struct lb_flow_bucket *flows;
	__u32 flow_mask; /* buckets - 1 */
	__u32 qsbr_id;
	struct rte_rcu_qsbr *qs;
	enum dp_align align;
	int socket;
	struct dp_lcore_stats dp;
	/* Every lcore's context, this one's included: an ICMP error whose
	 * quoted flow misses here is looked up in the others' conntrack
	 * (read-only), as the XDP engine searches every CPU's. */
	struct dp_lcore *const *peers;
	unsigned int npeers;
	/* Counters, as the XDP maps lay them out (one CPU's share). */
	struct lb_global_stats global __rte_cache_aligned;
	struct lb_vip_stats vip[FERRY_MAX_VIPS] __rte_cache_aligned;
	struct lb_counter backend[FERRY_MAX_BACKENDS];
	struct lb_counter pin[FERRY_MAX_PINS];
} __rte_cache_aligned;

struct dp_engine_conf {
	unsigned int nlcores; /* forwarding contexts (RCU readers), >= 1 */
	__u32 flows; /* conntrack entries per lcore, a power of two;
		      * 0: FERRY_FLOWS_DEFAULT */
	int socket; /* NUMA socket of the tables (SOCKET_ID_ANY: any) */
	const int *lcore_socket; /* per context; NULL: socket */
	enum dp_align align;
};

struct dp_engine {
	struct dp_tables *live; /* __atomic: acquire to read, release to set */
	struct rte_rcu_qsbr *qs;
	int socket;
	bool seed_fixed; /* a real generation was published: seed is set */
	__u32 seed;
	__u32 generation; /* __atomic: of the live tables, for any thread */
	__u32 flows; /* per lcore */
	unsigned int nlcores;
	struct dp_lcore *lc[]; /* nlcores */
};

/* Where dp_process_burst() puts each frame; m has room for n frames. */
struct dp_out {
	struct rte_mbuf **m;
	uint16_t n;
};

/* ---- setup (control thread; after rte_eal_init) ------------------------ */
/* Creates the engine with empty tables (no VIP: everything passes).
 * 0 or -errno (-EINVAL: bad conf, -ENOMEM). */
int dp_engine_create(const struct dp_engine_conf *conf, struct dp_engine **out);
/* Frees everything; no lcore may be running. NULL accepted. */
void dp_engine_free(struct dp_engine *e);

/* Validates a snapshot, builds its tables and publishes them. self: the
 * caller's own context index if it also forwards (single-threaded tests),
 * else DP_NO_READER. 0, or -EINVAL with a message in err (bad snapshot, or
 * a hash seed other than the running one: that needs a restart, as on the
 * XDP engine), -ENOMEM. */
int dp_engine_load(struct dp_engine *e, const void *buf, size_t len, int self,
		   char *err, size_t errlen);
/* Tables with no VIP and a config that is not ready (every frame passes),
 * with the running hash seed (a publish refuses any other). 0 or -errno. */
int dp_engine_empty_tables(const struct dp_engine *e, struct dp_tables **out);
/* Publishes t (owned by the engine from then on, also on error). */
int dp_engine_publish(struct dp_engine *e, struct dp_tables *t, int self,
		      char *err, size_t errlen);

static inline struct dp_lcore *dp_engine_lcore(struct dp_engine *e,
					       unsigned int i)
{
	return i < e->nlcores ? e->lc[i] : NULL;
}

/* ---- forwarding lcores ------------------------------------------------- */
void dp_lcore_online(struct dp_lcore *lc);
void dp_lcore_offline(struct dp_lcore *lc);

static inline const struct dp_tables *dp_tables_get(const struct dp_engine *e)
{
	return __atomic_load_n(&e->live, __ATOMIC_ACQUIRE);
}

static inline void dp_lcore_quiescent(struct dp_lcore *lc)
{
	rte_rcu_qsbr_quiescent(lc->qs, lc->qsbr_id);
}

/*
 * Runs the forwarding core over pkts[0..n): each frame ends in exactly one
 * of tx (encapsulated, to send out), pass (not ours: the exception path)
 * or drop (to free; left unchanged), and is counted under one reason,
 * its VIP, backend, pin and events, as bpf/ferry.bpf.c counts. Frames go
 * through in chunks of 32, in two passes (parse, VIP and flow hash for
 * every frame with its conntrack bucket prefetched; then conntrack, ring,
 * encapsulation and counters in order): the same decisions, conntrack
 * contents and counts as one frame at a time.
 */
void dp_process_burst(struct dp_lcore *lc, const struct dp_tables *t,
		      struct rte_mbuf **pkts, uint16_t n, struct dp_out *tx,
		      struct dp_out *pass, struct dp_out *drop);

/* ---- conntrack and counters -------------------------------------------- */
void dp_lcore_flows_clear(struct dp_lcore *lc);
/* Puts one entry in lc's conntrack, hashed with t's seed (tests, warm-up). */
void dp_lcore_flow_put(struct dp_lcore *lc, const struct dp_tables *t,
		       const struct lb_flow_key *k, const struct lb_flow *f);
/* Slots in use in buckets [first, first + n) of lc's conntrack. */
__u64 dp_lcore_flows_used(const struct dp_lcore *lc, __u32 first, __u32 n);

/* Counters summed over lcores (the XDP layout), plus per-lcore packets. */
struct dp_stats {
	unsigned int nlcores;
	__u32 generation; /* of the live tables */
	struct lb_global_stats global;
	struct lb_vip_stats vip[FERRY_MAX_VIPS];
	struct lb_counter backend[FERRY_MAX_BACKENDS];
	struct lb_counter pin[FERRY_MAX_PINS];
	__u64 lcore_packets[DP_MAX_LCORES];
	struct dp_lcore_stats dp;
	__u64 flows_capacity; /* slots in all lcores' conntrack */
};

/* Any thread. s is large (about 550 KiB): allocate it. */
void dp_engine_stats(const struct dp_engine *e, struct dp_stats *s);

#endif /* FERRY_DATAPLANE_DP_ENGINE_H */
