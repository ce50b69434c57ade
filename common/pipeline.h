/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/pipeline.h: the forwarding decision for one frame: parse -> VIP -> select -> encap plan. Used by BPF and userspace.
 *
 * An engine runs, per frame:
 *   lb_decide(tables, cfg, start, end, &r);   (or its two halves, below)
 *   if r.verdict == LB_TX: grow the frame's front by r.outer_len bytes,
 *       then lb_encap(new_start, new_end, &r, cfg) (failure: drop, encap);
 *   count r (reason, vip, backend, pin, events) and map r.verdict to its own.
 * See select.h for the table functions the engine must define first.
 */
#ifndef FERRY_COMMON_PIPELINE_H
#define FERRY_COMMON_PIPELINE_H

#include "compat.h"
#include "encap.h"
#include "parse.h"
#include "result.h"
#include "select.h"

/* Encap plan: outer header size for the backend's family, MTU check. */
static LB_INLINE int lb_plan_encap(const struct lb_config *cfg,
				   const struct lb_backend *be,
				   struct lb_result *r)
{
	r->dst_family = be->family;
	lb_memcpy(&r->dst, &be->addr, sizeof(r->dst));
	r->outer_len = be->family == LB_AF_INET6 ? LB_OUTER6_LEN : LB_OUTER4_LEN;
	if ((__u32)r->pkt.ip_len + r->outer_len > cfg->mtu)
		return lb_finish(r, LB_DROP, LB_R_DROP_TOO_BIG);
	return lb_finish(r, LB_TX, LB_R_FORWARD);
}

/*
 * lb_decide() in two halves, for engines that work on a batch of frames
 * and prefetch between them (the DPDK engine): lb_decide_head() parses,
 * finds the VIP and computes the flow hashes, touching no per-flow state;
 * on LB_CONTINUE, *vip and *fh (the conntrack hash: bucket and tag) are
 * set and lb_decide_tail() finishes. Head then tail on one frame is
 * exactly lb_decide().
 */
static LB_INLINE int lb_decide_head(struct lb_tables *t,
				    const struct lb_config *cfg,
				    const __u8 *start, const __u8 *end,
				    struct lb_result *r,
				    const struct lb_vip **vipp, __u32 *fh)
{
	const struct lb_vip *vip;
	int v;

	lb_result_init(r);
	v = lb_parse(start, end, &r->pkt);
	if (v != LB_CONTINUE)
		return lb_finish(r, v, r->pkt.reason);

	vip = lb_find_vip(t, cfg, &r->pkt);
	if (!vip)
		return lb_finish(r, LB_PASS, LB_R_PASS_NOT_VIP);
	r->vip_id = vip->id;
	if (r->pkt.frag != LB_FRAG_NONE && !(vip->flags & LB_VIP_HASH_SOURCE))
		return lb_finish(r, LB_DROP, LB_R_DROP_FRAGMENT);
	if (!cfg || !(cfg->flags & LB_CFG_READY))
		return lb_finish(r, LB_DROP, LB_R_DROP_NO_BACKEND);
	*vipp = vip;
	*fh = lb_select_hash(t, vip, r);
	return LB_CONTINUE;
}

static LB_INLINE int lb_decide_tail(struct lb_tables *t,
				    const struct lb_config *cfg,
				    const struct lb_vip *vip, __u32 fh,
				    struct lb_result *r)
{
	const struct lb_backend *be;
	int v;

	v = lb_select_backend(t, vip, r, fh, &be);
	if (v != LB_CONTINUE)
		return v;
	if (r->pkt.icmp_error)
		lb_event(r, LB_EV_ICMP_STEERED);
	return lb_plan_encap(cfg, be, r);
}

static LB_INLINE int lb_decide(struct lb_tables *t, const struct lb_config *cfg,
			       const __u8 *start, const __u8 *end,
			       struct lb_result *r)
{
	const struct lb_vip *vip = 0;
	__u32 fh = 0;
	int v;

	v = lb_decide_head(t, cfg, start, end, r, &vip, &fh);
	if (v != LB_CONTINUE)
		return v;
	return lb_decide_tail(t, cfg, vip, fh, r);
}

#endif /* FERRY_COMMON_PIPELINE_H */
