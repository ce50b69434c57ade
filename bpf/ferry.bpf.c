// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bpf/ferry.bpf.c: the XDP engine: table glue for the common core, encap via adjust_head, one stats-and-verdict exit. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "common/flowcache.h"

/* Load-time knobs, set by ferryd before load. */
const volatile __u32 ferry_hash_seed = 0;
/* Buckets of the flows map, minus one (their number is a power of two). */
const volatile __u32 ferry_flow_mask = FERRY_FLOWS_DEFAULT / FERRY_FLOW_WAYS - 1;
/* Possible CPUs: the flow caches a miss searches. */
const volatile __u32 ferry_nr_cpus = 1;

/* ---- table glue: what common/select.h asks of an engine --------------- */
struct lb_tables;

static __always_inline const struct lb_vip *
lb_tbl_vip(struct lb_tables *t, const struct lb_vip_key *k)
{
	return bpf_map_lookup_elem(&vips, k);
}

static __always_inline __u32 lb_tbl_ring(struct lb_tables *t, __u32 ring,
					 __u32 slot)
{
	void *inner = bpf_map_lookup_elem(&rings, &ring);
	__u32 *id;

	if (!inner)
		return FERRY_NO_BACKEND;
	id = bpf_map_lookup_elem(inner, &slot);
	return id ? *id : FERRY_NO_BACKEND;
}

static __always_inline const struct lb_backend *
lb_tbl_backend(struct lb_tables *t, __u32 id)
{
	return bpf_map_lookup_elem(&backends, &id);
}

static __always_inline const struct lb_pin *
lb_tbl_pin(struct lb_tables *t, const struct lb_pin_key *k)
{
	return bpf_map_lookup_elem(&pins, k);
}

/* Bucket idx of CPU cpu's flow cache. */
static __always_inline struct lb_flow_bucket *lb_flow_bucket(__u32 cpu,
							     __u32 idx)
{
	__u32 key = cpu * (ferry_flow_mask + 1) + idx;

	return bpf_map_lookup_elem(&flows, &key);
}

/* A miss in this CPU's cache asks the others: a flow whose packets
 * arrive on several CPUs (no RSS, a rehashed queue) keeps its backend. */
struct fc_remote {
	struct lb_flow_key key;
	__u32 hash;
	__u32 idx;
	__u32 self;
	__u32 found;
	struct lb_flow flow;
};

static long fc_remote_cb(__u32 cpu, void *data)
{
	struct fc_remote *c = data;
	struct lb_flow_bucket *b;
	int i;

	if (cpu == c->self)
		return 0;
	b = lb_flow_bucket(cpu, c->idx);
	if (!b)
		return 0;
	i = lb_fc_slot(b, &c->key, c->hash);
	if (i < 0)
		return 0;
	c->flow = b->way[i & (FERRY_FLOW_WAYS - 1)].flow;
	c->found = 1;
	return 1;
}

static __always_inline const struct lb_flow *
lb_tbl_flow(struct lb_tables *t, const struct lb_flow_key *k, __u32 hash)
{
	__u32 idx = hash & ferry_flow_mask, self = bpf_get_smp_processor_id();
	struct lb_flow_bucket *b = lb_flow_bucket(self, idx);
	struct lb_flow *f;
	struct fc_remote c;

	if (!b)
		return 0;
	f = lb_fc_find(b, k, hash);
	if (f || ferry_nr_cpus < 2)
		return f;
	__builtin_memcpy(&c.key, k, sizeof(c.key));
	c.hash = hash;
	c.idx = idx;
	c.self = self;
	c.found = 0;
	bpf_loop(ferry_nr_cpus, fc_remote_cb, &c, 0);
	if (!c.found)
		return 0;
	/* Keep a copy here: the next packet is a local hit. */
	lb_fc_put(b, k, hash, &c.flow);
	return lb_fc_find(b, k, hash);
}

static __always_inline void lb_tbl_flow_put(struct lb_tables *t,
					    const struct lb_flow_key *k,
					    __u32 hash, const struct lb_flow *v)
{
	struct lb_flow_bucket *b = lb_flow_bucket(bpf_get_smp_processor_id(),
						  hash & ferry_flow_mask);

	if (b)
		lb_fc_put(b, k, hash, v);
}

static __always_inline __u32 lb_tbl_seed(struct lb_tables *t)
{
	return ferry_hash_seed;
}

#include "common/pipeline.h"

/* ---- the one exit: count, then map the verdict ------------------------ */
/* A BPF-to-BPF call, not inlined: inlined, clang keeps every lb_result
 * field in its own register or stack slot across all of lb_decide's paths
 * (4775 -> 3229 translated insns, established and UDP ~5% faster;
 * perf/README.md). The result is one struct on the stack instead. */
static __noinline int lb_account(const struct lb_result *r, __u64 bytes)
{
	struct lb_global_stats *g;
	struct lb_vip_stats *vs;
	struct lb_counter *c;
	__u32 zero = 0, id;
	int i;

	g = bpf_map_lookup_elem(&global_stats, &zero);
	if (g) {
		if (r->reason < LB_REASON_MAX) {
			g->reason[r->reason].packets++;
			g->reason[r->reason].bytes += bytes;
		}
#pragma unroll
		for (i = 0; i < LB_EVENT_MAX; i++)
			if (r->events & (1u << i))
				g->event[i]++;
	}
	if (r->vip_id != FERRY_NO_BACKEND) {
		id = r->vip_id;
		vs = bpf_map_lookup_elem(&vip_stats, &id);
		if (vs) {
			vs->packets++;
			vs->bytes += bytes;
			vs->new_flows += r->new_flow;
		}
	}
	if (r->verdict == LB_TX) {
		id = r->backend_id;
		c = bpf_map_lookup_elem(&backend_stats, &id);
		if (c) {
			c->packets++;
			c->bytes += bytes;
		}
	}
	if (r->pin_id != FERRY_NO_BACKEND) {
		id = r->pin_id;
		c = bpf_map_lookup_elem(&pin_stats, &id);
		if (c) {
			c->packets++;
			c->bytes += bytes;
		}
	}
	if (r->verdict == LB_TX)
		return XDP_TX;
	if (r->verdict == LB_PASS)
		return XDP_PASS;
	return XDP_DROP;
}

SEC("xdp")
int ferry_xdp(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u64 bytes = end - data;
	const struct lb_config *cfg;
	struct lb_result r;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config, &zero);
	lb_decide(0, cfg, data, end, &r);
	if (r.verdict == LB_TX && cfg) {
		if (bpf_xdp_adjust_head(ctx, -(int)r.outer_len)) {
			lb_finish(&r, LB_DROP, LB_R_DROP_ENCAP);
		} else {
			data = (__u8 *)(long)ctx->data;
			end = (__u8 *)(long)ctx->data_end;
			if (lb_encap(data, end, &r, cfg))
				lb_finish(&r, LB_DROP, LB_R_DROP_ENCAP);
		}
	}
	return lb_account(&r, bytes);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
