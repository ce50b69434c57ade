/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_engine.c: the DPDK engine: table glue for the common core, dp_process_burst() with its one stats-and-verdict exit, RCU table swaps, per-lcore conntrack and counters. DPDK userspace only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "dp_engine.h"
#include "common/flowcache.h"

#if !(defined(__x86_64__) || defined(__aarch64__))
#define DP_TRUST_REFUSED 1 /* unaligned loads may fault or be slow here */
#endif

/* ---- table glue: what common/select.h asks of an engine --------------- */
/* The core's opaque table handle: this generation and this lcore. */
struct lb_tables {
	const struct dp_tables *t;
	struct dp_lcore *lc;
	bool peek; /* this frame is an ICMP error: a miss asks the peers */
	struct lb_flow found; /* a peer's entry, copied */
};

static inline const struct lb_vip *lb_tbl_vip(struct lb_tables *v,
					      const struct lb_vip_key *k)
{
	return dp_vip_lookup(v->t, k);
}

static inline __u32 lb_tbl_ring(struct lb_tables *v, __u32 ring, __u32 slot)
{
	const struct dp_ring *r;

	if (ring >= FERRY_SNAP_MAX_RINGS)
		return FERRY_NO_BACKEND;
	r = &v->t->ring[ring];
	return slot < r->size ? r->slot[slot] : FERRY_NO_BACKEND;
}

static inline const struct lb_backend *lb_tbl_backend(struct lb_tables *v,
						      __u32 id)
{
	return id < v->t->nbackends ? &v->t->backend[id] : NULL;
}

static inline const struct lb_pin *lb_tbl_pin(struct lb_tables *v,
					      const struct lb_pin_key *k)
{
	return dp_pin_lookup(v->t, k->vip_id, &k->addr, k->prefixlen - 32);
}

/* RSS keeps a flow's packets on one lcore, but an ICMP error about it
 * (frag-needed, packet-too-big) is spread on its own addresses: on a miss
 * it looks in the other lcores' conntrack. Read-only and unlocked: an
 * entry being rewritten meanwhile may be missed or, rarely, torn (the
 * cookie check then refuses a wrong backend, or the frame follows the
 * ring); only ICMP errors take this path. */
static const struct lb_flow *dp_flow_peek(struct lb_tables *v,
					  const struct lb_flow_key *k,
					  __u32 hash)
{
	unsigned int i;
	int w;

	for (i = 0; i < v->lc->npeers; i++) {
		const struct dp_lcore *p = v->lc->peers[i];
		struct lb_flow_bucket *b = &p->flows[hash & p->flow_mask];

		if (p == v->lc)
			continue;
		w = lb_fc_slot(b, k, hash); /* no LRU touch: not ours */
		if (w >= 0) {
			v->found = b->way[w & (FERRY_FLOW_WAYS - 1)].flow;
			return &v->found;
		}
	}
	return NULL;
}

static inline const struct lb_flow *
lb_tbl_flow(struct lb_tables *v, const struct lb_flow_key *k, __u32 hash)
{
	const struct lb_flow *f =
		lb_fc_find(&v->lc->flows[hash & v->lc->flow_mask], k, hash);

	if (likely(f || !v->peek))
		return f;
	return dp_flow_peek(v, k, hash);
}

static inline void lb_tbl_flow_put(struct lb_tables *v,
				   const struct lb_flow_key *k, __u32 hash,
				   const struct lb_flow *f)
{
	lb_fc_put(&v->lc->flows[hash & v->lc->flow_mask], k, hash, f);
}

static inline __u32 lb_tbl_seed(struct lb_tables *v)
{
	return v->t->seed;
}

#include "common/pipeline.h"

/* ---- the one exit: count ---------------------------------------------- */
/* Single writer (this lcore); readers load with __atomic. */
static inline void dp_add(__u64 *c, __u64 v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

static inline void dp_count(struct lb_counter *c, __u64 bytes)
{
	dp_add(&c->packets, 1);
	dp_add(&c->bytes, bytes);
}

/*
 * As lb_account() in bpf/ferry.bpf.c: reason, events, VIP, backend, pin.
 * The reason, event and VIP counters are added per run of frames that
 * count alike (same reason, events, VIP, new flow or not): one add of n
 * frames and their bytes for a run, which is the sum the per-frame adds
 * would make. Most of a burst is one run (established flows to one VIP),
 * so those three counter lines are written once per run, not per frame.
 * Backend and pin counters vary frame to frame: added per frame.
 */
struct dp_run {
	__u32 vip_id;
	__u32 events;
	__u8 reason;
	__u8 new_flow;
	__u32 n;
	__u64 bytes;
};

static inline void dp_run_flush(struct dp_lcore *lc, struct dp_run *run)
{
	__u32 ev = run->events;

	if (!run->n)
		return;
	if (run->reason < LB_REASON_MAX) {
		dp_add(&lc->global.reason[run->reason].packets, run->n);
		dp_add(&lc->global.reason[run->reason].bytes, run->bytes);
	}
	while (ev) {
		int i = __builtin_ctz(ev);

		if (i < LB_EVENT_MAX)
			dp_add(&lc->global.event[i], run->n);
		ev &= ev - 1;
	}
	if (run->vip_id < FERRY_MAX_VIPS) {
		struct lb_vip_stats *vs = &lc->vip[run->vip_id];

		dp_add(&vs->packets, run->n);
		dp_add(&vs->bytes, run->bytes);
		if (run->new_flow)
			dp_add(&vs->new_flows, run->n);
	}
	run->n = 0;
	run->bytes = 0;
}

static inline void dp_account(struct dp_lcore *lc, struct dp_run *run,
			      const struct lb_result *r, __u64 bytes)
{
	if (unlikely(r->reason != run->reason || r->events != run->events ||
		     r->vip_id != run->vip_id ||
		     r->new_flow != run->new_flow)) {
		dp_run_flush(lc, run);
		run->reason = r->reason;
		run->events = r->events;
		run->vip_id = r->vip_id;
		run->new_flow = r->new_flow;
	}
	run->n++;
	run->bytes += bytes;
	if (r->verdict == LB_TX && r->backend_id < FERRY_MAX_BACKENDS)
		dp_count(&lc->backend[r->backend_id], bytes);
	if (r->pin_id < FERRY_MAX_PINS)
		dp_count(&lc->pin[r->pin_id], bytes);
}

/* ---- frame placement ---------------------------------------------------- */
/* Moves the frame so that it starts at 2 mod 4 (its IP header, after 14
 * or 18 bytes of L2, at 0 mod 4): back into the headroom, or forward if
 * there is none. 0, or -1 when the mbuf has room on neither side. */
static int dp_realign(struct dp_lcore *lc, struct rte_mbuf *m)
{
	char *start = rte_pktmbuf_mtod(m, char *);
	unsigned int back = ((uintptr_t)start - 2) & 3, fwd = (4 - back) & 3;

	if (!back)
		return 0;
	if (rte_pktmbuf_headroom(m) >= back) {
		memmove(start - back, start, m->data_len);
		m->data_off = (uint16_t)(m->data_off - back);
	} else if (rte_pktmbuf_tailroom(m) >= fwd) {
		memmove(start + fwd, start, m->data_len);
		m->data_off = (uint16_t)(m->data_off + fwd);
	} else {
		return -1;
	}
	dp_add(&lc->dp.realigned, 1);
	return 0;
}

/* ---- a burst, in chunks of frames --------------------------------------- */
/*
 * Two passes over up to DP_CHUNK frames. The first readies each frame
 * (one segment, aligned), runs the core's first half (parse, VIP, flow
 * hashes: lb_decide_head) and prefetches the frame's conntrack bucket; the
 * second runs the second half (pin, conntrack, ring: lb_decide_tail),
 * encapsulates, counts and sorts each frame in order. The first half
 * reads only tables that no frame changes (a generation is read-only, the
 * conntrack is not touched), so the decisions, the conntrack's contents
 * and every counter are those of one frame at a time; what the split buys
 * is that a bucket missing the cache is fetched while the other frames are
 * parsed, not while the lcore waits.
 */
#define DP_CHUNK 32

struct dp_chunk {
	struct lb_result r[DP_CHUNK];
	const struct lb_vip *vip[DP_CHUNK];
	__u32 fh[DP_CHUNK];
	__u32 bytes[DP_CHUNK];
};

static inline void dp_fail(struct lb_result *r, int reason)
{
	lb_result_init(r);
	lb_finish(r, LB_DROP, reason);
}

static inline void dp_prefetch_bucket(const struct lb_flow_bucket *b)
{
	const char *p = (const char *)b;

	RTE_BUILD_BUG_ON(sizeof(*b) != 4 * RTE_CACHE_LINE_SIZE);
	rte_prefetch0(p);
	rte_prefetch0(p + RTE_CACHE_LINE_SIZE);
	rte_prefetch0(p + 2 * RTE_CACHE_LINE_SIZE);
	rte_prefetch0(p + 3 * RTE_CACHE_LINE_SIZE);
}

/* Pass one, one frame: LB_CONTINUE when the second half is to run. */
static inline int dp_head(struct dp_lcore *lc, struct lb_tables *v,
			  struct rte_mbuf *m, struct dp_chunk *c,
			  unsigned int i)
{
	struct lb_result *r = &c->r[i];
	__u8 *start;
	int verdict;

	c->bytes[i] = rte_pktmbuf_pkt_len(m);
	if (unlikely(m->nb_segs > 1)) {
		/* The core reads one contiguous frame. Ports are set up without
		 * RX scatter, so this is a frame from elsewhere: a header that
		 * does not fit the first segment is one that runs past it. */
		if (rte_pktmbuf_linearize(m)) {
			dp_fail(r, LB_R_DROP_TRUNCATED);
			return LB_DROP;
		}
		dp_add(&lc->dp.linearized, 1);
	}
	if (lc->align == DP_ALIGN_SLIDE && dp_realign(lc, m)) {
		dp_fail(r, LB_R_DROP_ENCAP); /* no room to move it */
		return LB_DROP;
	}
	start = rte_pktmbuf_mtod(m, __u8 *);
	verdict = lb_decide_head(v, &v->t->cfg, start, start + m->data_len, r,
				 &c->vip[i], &c->fh[i]);
	if (verdict == LB_CONTINUE)
		dp_prefetch_bucket(&lc->flows[c->fh[i] & lc->flow_mask]);
	return verdict;
}

/* Pass two, one frame. */
static inline void dp_tail(struct dp_lcore *lc, struct lb_tables *v,
			   struct rte_mbuf *m, struct dp_chunk *c,
			   struct dp_run *run, unsigned int i, int head,
			   struct dp_out *tx, struct dp_out *pass,
			   struct dp_out *drop)
{
	const struct lb_config *cfg = &v->t->cfg;
	struct lb_result *r = &c->r[i];
	__u8 *p;

	if (head == LB_CONTINUE) {
		v->peek = r->pkt.icmp_error;
		lb_decide_tail(v, cfg, c->vip[i], c->fh[i], r);
	}
	if (r->verdict == LB_TX) {
		p = (__u8 *)rte_pktmbuf_prepend(m, r->outer_len);
		if (unlikely(!p)) {
			lb_finish(r, LB_DROP, LB_R_DROP_ENCAP);
		} else if (unlikely(lb_encap(p, p + m->data_len, r, cfg))) {
			/* Drops go out unchanged. */
			rte_pktmbuf_adj(m, r->outer_len);
			lb_finish(r, LB_DROP, LB_R_DROP_ENCAP);
		}
	}
	dp_account(lc, run, r, c->bytes[i]);
	if (r->verdict == LB_TX)
		tx->m[tx->n++] = m;
	else if (r->verdict == LB_PASS)
		pass->m[pass->n++] = m;
	else
		drop->m[drop->n++] = m;
}

/* Each pass its own function: each gets the registers to itself. */
static __rte_noinline void dp_pass_head(struct dp_lcore *lc,
					struct lb_tables *v,
					struct rte_mbuf **pkts, unsigned int n,
					struct dp_chunk *c, __u8 *head)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		head[i] = (__u8)dp_head(lc, v, pkts[i], c, i);
	}
}

static __rte_noinline void
dp_pass_tail(struct dp_lcore *lc, struct lb_tables *v, struct rte_mbuf **pkts,
	     unsigned int n, struct dp_chunk *c, const __u8 *head,
	     struct dp_out *tx, struct dp_out *pass, struct dp_out *drop)
{
	struct dp_run run = { .n = 0 };
	unsigned int i;

	for (i = 0; i < n; i++)
		dp_tail(lc, v, pkts[i], c, &run, i, head[i], tx, pass, drop);
	dp_run_flush(lc, &run);
}

static void dp_process_chunk(struct dp_lcore *lc, struct lb_tables *v,
			     struct rte_mbuf **pkts, unsigned int n,
			     struct dp_out *tx, struct dp_out *pass,
			     struct dp_out *drop)
{
	struct dp_chunk c;
	__u8 head[DP_CHUNK];

	dp_pass_head(lc, v, pkts, n, &c, head);
	dp_pass_tail(lc, v, pkts, n, &c, head, tx, pass, drop);
}

void dp_process_burst(struct dp_lcore *lc, const struct dp_tables *t,
		      struct rte_mbuf **pkts, uint16_t n, struct dp_out *tx,
		      struct dp_out *pass, struct dp_out *drop)
{
	struct lb_tables v = { t, lc };
	unsigned int i, k;

	for (i = 0; i < n; i += k) {
		k = RTE_MIN((unsigned int)n - i, (unsigned int)DP_CHUNK);
		dp_process_chunk(lc, &v, pkts + i, k, tx, pass, drop);
	}
}

/* ---- conntrack ------------------------------------------------------------ */
void dp_lcore_flows_clear(struct dp_lcore *lc)
{
	memset(lc->flows, 0, ((size_t)lc->flow_mask + 1) * sizeof(*lc->flows));
}

void dp_lcore_flow_put(struct dp_lcore *lc, const struct dp_tables *t,
		       const struct lb_flow_key *k, const struct lb_flow *f)
{
	__u32 h = lb_hash_flow(k, t->seed);

	lb_fc_put(&lc->flows[h & lc->flow_mask], k, h, f);
}

__u64 dp_lcore_flows_used(const struct dp_lcore *lc, __u32 first, __u32 n)
{
	__u64 used = 0;
	__u32 i;

	for (i = 0; i < n && first + i <= lc->flow_mask; i++)
		used += (__u64)__builtin_popcount(__atomic_load_n(
			&lc->flows[first + i].used, __ATOMIC_RELAXED));
	return used;
}

/* ---- counters --------------------------------------------------------------- */
static void sum_counter(struct lb_counter *d, const struct lb_counter *s)
{
	d->packets += __atomic_load_n(&s->packets, __ATOMIC_RELAXED);
	d->bytes += __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
}

void dp_engine_stats(const struct dp_engine *e, struct dp_stats *s)
{
	unsigned int l, i;

	memset(s, 0, sizeof(*s));
	s->nlcores = e->nlcores;
	s->generation = __atomic_load_n(&e->generation, __ATOMIC_RELAXED);
	s->flows_capacity = (__u64)e->nlcores * e->flows;
	for (l = 0; l < e->nlcores; l++) {
		const struct dp_lcore *lc = e->lc[l];
		__u64 pk = 0;

		for (i = 0; i < LB_REASON_MAX; i++) {
			sum_counter(&s->global.reason[i],
				    &lc->global.reason[i]);
			pk += __atomic_load_n(&lc->global.reason[i].packets,
					      __ATOMIC_RELAXED);
		}
		if (l < DP_MAX_LCORES)
			s->lcore_packets[l] = pk;
		for (i = 0; i < LB_EVENT_MAX; i++)
			s->global.event[i] += __atomic_load_n(
				&lc->global.event[i], __ATOMIC_RELAXED);
		for (i = 0; i < FERRY_MAX_VIPS; i++) {
			const struct lb_vip_stats *v = &lc->vip[i];

			s->vip[i].packets +=
				__atomic_load_n(&v->packets, __ATOMIC_RELAXED);
			s->vip[i].bytes +=
				__atomic_load_n(&v->bytes, __ATOMIC_RELAXED);
			s->vip[i].new_flows += __atomic_load_n(
				&v->new_flows, __ATOMIC_RELAXED);
		}
		for (i = 0; i < FERRY_MAX_BACKENDS; i++)
			sum_counter(&s->backend[i], &lc->backend[i]);
		for (i = 0; i < FERRY_MAX_PINS; i++)
			sum_counter(&s->pin[i], &lc->pin[i]);
		s->dp.realigned +=
			__atomic_load_n(&lc->dp.realigned, __ATOMIC_RELAXED);
		s->dp.linearized +=
			__atomic_load_n(&lc->dp.linearized, __ATOMIC_RELAXED);
	}
}

/* ---- lcores and RCU ----------------------------------------------------------- */
void dp_lcore_online(struct dp_lcore *lc)
{
	rte_rcu_qsbr_thread_online(lc->qs, lc->qsbr_id);
}

void dp_lcore_offline(struct dp_lcore *lc)
{
	rte_rcu_qsbr_thread_offline(lc->qs, lc->qsbr_id);
}

static void set_err(char *err, size_t len, const char *msg)
{
	if (err && len)
		snprintf(err, len, "%s", msg);
}

int dp_engine_publish(struct dp_engine *e, struct dp_tables *t, int self,
		      char *err, size_t errlen)
{
	struct dp_tables *old;

	if (e->seed_fixed && t->seed != e->seed) {
		set_err(err, errlen,
			"the hash seed differs from the running one: it changes only with a restart");
		dp_tables_free(t);
		return -EINVAL;
	}
	if (self >= 0 && (unsigned int)self >= e->nlcores) {
		set_err(err, errlen, "publish: no such reader");
		dp_tables_free(t);
		return -EINVAL;
	}
	if (t->cfg.flags & LB_CFG_READY) {
		e->seed = t->seed;
		e->seed_fixed = true;
	}
	old = __atomic_exchange_n(&e->live, t, __ATOMIC_ACQ_REL);
	__atomic_store_n(&e->generation, t->generation, __ATOMIC_RELAXED);
	/* Every lcore that could still hold old has moved on after this. */
	rte_rcu_qsbr_synchronize(e->qs, self >= 0 ? (unsigned int)self :
						    RTE_QSBR_THRID_INVALID);
	dp_tables_free(old);
	return 0;
}

int dp_engine_load(struct dp_engine *e, const void *buf, size_t len, int self,
		   char *err, size_t errlen)
{
	struct dp_tables *t;
	struct ferry_snap s;
	int r;

	r = ferry_snap_parse(buf, len, &s, err, errlen);
	if (r)
		return r;
	r = dp_tables_build(&s, e->socket, &t);
	if (r) {
		if (err && errlen)
			snprintf(err, errlen, "building tables: %s",
				 strerror(-r));
		return r;
	}
	return dp_engine_publish(e, t, self, err, errlen);
}

int dp_engine_empty_tables(const struct dp_engine *e, struct dp_tables **out)
{
	struct lb_config cfg = { .mtu = FERRY_DEFAULT_MTU,
				 .hash_seed = e->seed_fixed ? e->seed : 0 };
	struct ferry_snap_input in = { .cfg = &cfg };
	struct ferry_snap s;
	size_t len;
	void *buf;
	int r;

	r = ferry_snap_write(&in, &buf, &len);
	if (r)
		return r;
	r = ferry_snap_parse(buf, len, &s, NULL, 0);
	if (!r)
		r = dp_tables_build(&s, e->socket, out);
	free(buf);
	return r;
}

void dp_engine_free(struct dp_engine *e)
{
	unsigned int i;

	if (!e)
		return;
	for (i = 0; i < e->nlcores; i++) {
		if (!e->lc[i])
			continue;
		rte_free(e->lc[i]->flows);
		rte_free(e->lc[i]);
	}
	dp_tables_free(e->live);
	rte_free(e->qs);
	free(e);
}

int dp_engine_create(const struct dp_engine_conf *c, struct dp_engine **out)
{
	__u32 flows = c->flows ? c->flows : FERRY_FLOWS_DEFAULT;
	struct dp_engine *e;
	unsigned int i;
	size_t sz;
	int r;

	if (c->nlcores == 0 || c->nlcores > DP_MAX_LCORES ||
	    flows < FERRY_FLOW_WAYS || (flows & (flows - 1)))
		return -EINVAL;
#ifdef DP_TRUST_REFUSED
	if (c->align == DP_ALIGN_TRUST)
		return -EINVAL;
#endif
	e = calloc(1, sizeof(*e) + c->nlcores * sizeof(e->lc[0]));
	if (!e)
		return -ENOMEM;
	e->nlcores = c->nlcores;
	e->socket = c->socket;
	e->flows = flows;
	sz = rte_rcu_qsbr_get_memsize(c->nlcores);
	e->qs = rte_zmalloc_socket("ferry_qsbr", sz, RTE_CACHE_LINE_SIZE,
				   c->socket);
	r = e->qs ? 0 : -ENOMEM;
	if (!r && rte_rcu_qsbr_init(e->qs, c->nlcores))
		r = -rte_errno;
	for (i = 0; i < c->nlcores && !r; i++) {
		int sock = c->lcore_socket ? c->lcore_socket[i] : c->socket;
		struct dp_lcore *lc;

		lc = rte_zmalloc_socket("ferry_lcore", sizeof(*lc),
					RTE_CACHE_LINE_SIZE, sock);
		e->lc[i] = lc;
		if (!lc) {
			r = -ENOMEM;
			break;
		}
		lc->flow_mask = flows / FERRY_FLOW_WAYS - 1;
		lc->flows = rte_zmalloc_socket("ferry_flows",
					       (size_t)(lc->flow_mask + 1) *
						       sizeof(*lc->flows),
					       RTE_CACHE_LINE_SIZE, sock);
		if (!lc->flows) {
			r = -ENOMEM;
			break;
		}
		lc->qsbr_id = i;
		lc->qs = e->qs;
		lc->peers = (struct dp_lcore *const *)e->lc;
		lc->npeers = c->nlcores;
		lc->align = c->align;
		lc->socket = sock;
		if (rte_rcu_qsbr_thread_register(e->qs, i))
			r = -rte_errno;
	}
	if (!r)
		r = dp_engine_empty_tables(e, &e->live);
	if (r) {
		dp_engine_free(e);
		return r;
	}
	*out = e;
	return 0;
}
