/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/select.h: VIP lookup and backend selection (pin, conntrack, Maglev ring). Used by BPF and userspace.
 *
 * The engine provides the table lookups, as static inline functions defined
 * before this header is included (the core makes no map or rte_* calls):
 *
 *   const struct lb_vip *lb_tbl_vip(struct lb_tables *, const struct lb_vip_key *);
 *   __u32 lb_tbl_ring(struct lb_tables *, __u32 ring, __u32 slot);   FERRY_NO_BACKEND if none
 *   const struct lb_backend *lb_tbl_backend(struct lb_tables *, __u32 id);
 *   const struct lb_pin *lb_tbl_pin(struct lb_tables *, const struct lb_pin_key *);  longest prefix
 *   const struct lb_flow *lb_tbl_flow(struct lb_tables *, const struct lb_flow_key *, __u32 hash);
 *   void lb_tbl_flow_put(struct lb_tables *, const struct lb_flow_key *, __u32 hash, const struct lb_flow *);
 *     (hash: lb_hash_flow() of the key, for engines that index by it)
 *   __u32 lb_tbl_seed(struct lb_tables *);
 *
 * Selection order, first match wins: pin (longest prefix of the source
 * within this VIP), conntrack (unless a TCP SYN; an entry whose backend is
 * no longer active or draining is ignored), ring[hash % M].
 */
#ifndef FERRY_COMMON_SELECT_H
#define FERRY_COMMON_SELECT_H

#include "compat.h"
#include "hash.h"
#include "result.h"

struct lb_tables;

/* (dst, dport, proto), then (dst, 0, proto) for port-wide VIPs, unless
 * control said there is none (cfg may be NULL: then always). */
static LB_INLINE const struct lb_vip *lb_find_vip(struct lb_tables *t,
						  const struct lb_config *cfg,
						  const struct lb_pkt *pkt)
{
	const struct lb_vip *vip;
	struct lb_vip_key key;

	lb_memcpy(&key.addr, &pkt->flow.dst, sizeof(key.addr));
	key.port = pkt->flow.dport;
	key.proto = pkt->flow.proto;
	key.family = pkt->flow.family;
	if (key.port) {
		vip = lb_tbl_vip(t, &key);
		if (vip)
			return vip;
		if (cfg && (cfg->flags & LB_CFG_NO_PORT0))
			return 0;
		key.port = 0;
	}
	vip = lb_tbl_vip(t, &key);
	if (vip && (vip->flags & LB_VIP_FRAGS_ONLY) &&
	    pkt->frag != LB_FRAG_LATER)
		return 0;
	return vip;
}

static LB_INLINE int lb_is_syn(const struct lb_pkt *pkt)
{
	return pkt->flow.proto == IPPROTO_TCP &&
	       (pkt->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN;
}

static LB_INLINE int lb_backend_takes_flows(const struct lb_backend *be)
{
	return be->state == LB_BE_ACTIVE || be->state == LB_BE_DRAINING;
}

/* Pin stage: LB_CONTINUE with *be set (forward), LB_CONTINUE with *be
 * NULL (no pin or rehash), or LB_DROP (hold). */
static LB_INLINE int lb_select_pin(struct lb_tables *t, const struct lb_vip *vip,
				   struct lb_result *r,
				   const struct lb_backend **be)
{
	const struct lb_pin *pin;
	struct lb_pin_key pk;

	*be = 0;
	pk.prefixlen = r->pkt.flow.family == LB_AF_INET6 ? 32 + 128 : 32 + 32;
	pk.vip_id = vip->id;
	lb_memcpy(&pk.addr, &r->pkt.flow.src, sizeof(pk.addr));
	pin = lb_tbl_pin(t, &pk);
	if (!pin)
		return LB_CONTINUE;
	r->pin_id = pin->id;
	if (pin->action == LB_PIN_HOLD)
		return lb_finish(r, LB_DROP, LB_R_DROP_PIN_HOLD);
	if (pin->action == LB_PIN_REHASH) {
		lb_event(r, LB_EV_PIN_REHASH);
		return LB_CONTINUE;
	}
	*be = lb_tbl_backend(t, pin->backend);
	if (!*be || (*be)->state == LB_BE_NONE)
		return lb_finish(r, LB_DROP, LB_R_DROP_NO_BACKEND);
	r->backend_id = pin->backend;
	lb_event(r, LB_EV_PIN_HIT);
	return LB_CONTINUE;
}

/* Conntrack stage: *be set on a usable hit, NULL otherwise. */
static LB_INLINE void lb_select_flow(struct lb_tables *t, struct lb_result *r,
				     __u32 fh, const struct lb_backend **be)
{
	const struct lb_flow *f;
	const struct lb_backend *b;

	*be = 0;
	if (lb_is_syn(&r->pkt)) {
		lb_event(r, LB_EV_CT_MISS_SYN);
		return;
	}
	f = lb_tbl_flow(t, &r->pkt.flow, fh);
	if (!f) {
		lb_event(r, r->pkt.flow.proto == IPPROTO_TCP ?
				    LB_EV_CT_MISS_TCP :
				    LB_EV_CT_MISS_UDP);
		return;
	}
	b = lb_tbl_backend(t, f->backend);
	if (b && b->cookie == f->cookie && lb_backend_takes_flows(b)) {
		r->backend_id = f->backend;
		lb_event(r, LB_EV_CT_HIT);
		*be = b;
		return;
	}
	lb_event(r, LB_EV_CT_RESELECT);
}

/* Ring stage: ring[hash % M]; records the flow unless it is an ICMP error. */
static LB_INLINE int lb_select_ring(struct lb_tables *t, const struct lb_vip *vip,
				    struct lb_result *r, __u32 fh,
				    const struct lb_backend **be)
{
	struct lb_flow f;
	__u32 id;

	*be = 0;
	if (!vip->ring_size)
		return lb_finish(r, LB_DROP, LB_R_DROP_NO_BACKEND);
	id = lb_tbl_ring(t, vip->ring, r->hash % vip->ring_size);
	if (id == FERRY_NO_BACKEND)
		return lb_finish(r, LB_DROP, LB_R_DROP_NO_BACKEND);
	*be = lb_tbl_backend(t, id);
	if (!*be || (*be)->state == LB_BE_NONE)
		return lb_finish(r, LB_DROP, LB_R_DROP_NO_BACKEND);
	r->backend_id = id;
	if (!r->pkt.icmp_error) {
		f.backend = id;
		f.cookie = (*be)->cookie;
		lb_tbl_flow_put(t, &r->pkt.flow, fh, &f);
		r->new_flow = 1;
	}
	return LB_CONTINUE;
}

/* First half of the select stage: the VIP's id into the flow key, its
 * ports cleared for a source-hash VIP, r->hash; returns the conntrack hash
 * (the bucket and tag of the flow cache). Reads no table but the seed. */
static LB_INLINE __u32 lb_select_hash(struct lb_tables *t,
				      const struct lb_vip *vip,
				      struct lb_result *r)
{
	r->pkt.flow.vip = (__u16)vip->id;
	if (vip->flags & LB_VIP_HASH_SOURCE) {
		/* One peer, one node: ports play no part, fragments alike. */
		r->pkt.flow.sport = 0;
		r->pkt.flow.dport = 0;
		r->hash = lb_hash_source(&r->pkt.flow, lb_tbl_seed(t));
		return lb_hash_flow(&r->pkt.flow, lb_tbl_seed(t));
	}
	r->hash = lb_hash_flow(&r->pkt.flow, lb_tbl_seed(t));
	return r->hash;
}

/* Second half: pin, conntrack, ring; fh from lb_select_hash(). */
static LB_INLINE int lb_select_backend(struct lb_tables *t,
				       const struct lb_vip *vip,
				       struct lb_result *r, __u32 fh,
				       const struct lb_backend **be)
{
	int v;

	if (vip->flags & LB_VIP_HAS_PINS) {
		v = lb_select_pin(t, vip, r, be);
		if (v != LB_CONTINUE || *be)
			return v;
	}
	lb_select_flow(t, r, fh, be);
	if (*be)
		return LB_CONTINUE;
	return lb_select_ring(t, vip, r, fh, be);
}

/* The whole select stage for a packet already matched to vip. */
static LB_INLINE int lb_select(struct lb_tables *t, const struct lb_vip *vip,
			       struct lb_result *r,
			       const struct lb_backend **be)
{
	__u32 fh = lb_select_hash(t, vip, r);

	return lb_select_backend(t, vip, r, fh, be);
}

#endif /* FERRY_COMMON_SELECT_H */
