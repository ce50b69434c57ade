/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/flowcache.h: conntrack bucket operations (find, insert with LRU replacement) over struct lb_flow_bucket. Used by BPF and userspace.
 *
 * A bucket belongs to one CPU / lcore, so nothing here is atomic. The
 * engine picks the bucket (flow hash & (buckets - 1)) and passes the hash
 * as the tag. Ages are clock - stamp, so the clock wrapping is harmless.
 */
#ifndef FERRY_COMMON_FLOWCACHE_H
#define FERRY_COMMON_FLOWCACHE_H

#include "compat.h"
#include <ferry/abi.h>

static LB_INLINE int lb_fc_key_eq(const struct lb_flow_key *a,
				  const struct lb_flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
		(x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

/* The slot holding k, or -1. */
static LB_INLINE int lb_fc_slot(const struct lb_flow_bucket *b,
				const struct lb_flow_key *k, __u32 tag)
{
	int i;

	LB_UNROLL
	for (i = 0; i < FERRY_FLOW_WAYS; i++)
		if ((b->used & (1u << i)) && b->tag[i] == tag &&
		    lb_fc_key_eq(&b->way[i].key, k))
			return i;
	return -1;
}

static LB_INLINE struct lb_flow *lb_fc_find(struct lb_flow_bucket *b,
					    const struct lb_flow_key *k,
					    __u32 tag)
{
	int i = lb_fc_slot(b, k, tag);

	if (i < 0)
		return 0;
	i &= FERRY_FLOW_WAYS - 1;
	b->stamp[i] = ++b->clock;
	return &b->way[i].flow;
}

/* Same key: updated in place; else an unused slot; else the least
 * recently used one. */
static LB_INLINE void lb_fc_put(struct lb_flow_bucket *b,
				const struct lb_flow_key *k, __u32 tag,
				const struct lb_flow *v)
{
	__u32 age, oldest = 0;
	int i, pick = lb_fc_slot(b, k, tag);

	if (pick < 0) {
		pick = 0;
		LB_UNROLL
		for (i = 0; i < FERRY_FLOW_WAYS; i++) {
			age = (b->used & (1u << i)) ? b->clock - b->stamp[i] :
						      0xffffffffu;
			if (i == 0 || age > oldest) {
				oldest = age;
				pick = i;
			}
		}
	}
	pick &= FERRY_FLOW_WAYS - 1;
	lb_memcpy(&b->way[pick].key, k, sizeof(*k));
	b->way[pick].flow = *v;
	b->tag[pick] = tag;
	b->stamp[pick] = ++b->clock;
	b->used |= 1u << pick;
}

#endif /* FERRY_COMMON_FLOWCACHE_H */
