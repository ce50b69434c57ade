// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bpf/decap.bpf.c: backend-side XDP program: removes Ferry's outer header so the inner packet reaches the VIP on lo. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "common/decap.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct lb_counter);
} decap_stats SEC(".maps");

static __always_inline int decap_count(__u32 stat, __u64 bytes, int verdict)
{
	struct lb_counter *c = bpf_map_lookup_elem(&decap_stats, &stat);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return verdict;
}

SEC("xdp")
int ferry_decap(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct lb_decap d;
	int n;

	n = lb_decap_plan(data, end, &d);
	if (n == 0)
		return decap_count(LB_DECAP_PASS, bytes, XDP_PASS);
	if (n < 0 || lb_decap_write(data, end, &d))
		return decap_count(LB_DECAP_BAD, bytes, XDP_DROP);
	if (bpf_xdp_adjust_head(ctx, d.outer_len))
		return decap_count(LB_DECAP_BAD, bytes, XDP_DROP);
	return decap_count(LB_DECAP_DONE, bytes, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
