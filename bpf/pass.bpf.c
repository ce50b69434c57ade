// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bpf/pass.bpf.c: XDP_PASS and nothing else: the benchmark floor, and the peer program XDP_TX on veth needs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ferry_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
