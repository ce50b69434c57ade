/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/result.h: what the forwarding core decided for one packet, handed to the engine's stats-and-verdict step. Used by BPF and userspace. */
#ifndef FERRY_COMMON_RESULT_H
#define FERRY_COMMON_RESULT_H

#include "compat.h"
#include "parse.h"

struct lb_result {
	struct lb_pkt pkt;
	union lb_addr dst; /* backend address: the outer destination */
	__u32 hash; /* flow hash (5-tuple or source) */
	__u32 vip_id; /* FERRY_NO_BACKEND when no VIP matched */
	__u32 backend_id; /* FERRY_NO_BACKEND when none chosen */
	__u32 pin_id; /* FERRY_NO_BACKEND when no pin matched */
	__u32 events; /* bit (1 << enum lb_event) per event seen */
	__u16 outer_len; /* bytes the engine must add at the front */
	__u8 dst_family;
	__u8 new_flow; /* a conntrack entry was created */
	__u8 verdict; /* enum lb_verdict, final */
	__u8 reason; /* enum lb_reason */
	__u8 pad[2];
};

static LB_INLINE void lb_result_init(struct lb_result *r)
{
	r->hash = 0;
	r->vip_id = FERRY_NO_BACKEND;
	r->backend_id = FERRY_NO_BACKEND;
	r->pin_id = FERRY_NO_BACKEND;
	r->events = 0;
	r->outer_len = 0;
	r->dst_family = 0;
	r->new_flow = 0;
	r->verdict = LB_CONTINUE;
	r->reason = LB_R_FORWARD;
}

static LB_INLINE int lb_finish(struct lb_result *r, int verdict, int reason)
{
	r->verdict = (__u8)verdict;
	r->reason = (__u8)reason;
	return verdict;
}

static LB_INLINE void lb_event(struct lb_result *r, enum lb_event ev)
{
	r->events |= 1u << ev;
}

#endif /* FERRY_COMMON_RESULT_H */
