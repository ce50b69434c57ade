/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/decap.h: backend side: recognise an IPIP / IP6IP6 / 4in6 / 6in4 frame and plan removing its outer header. Used by BPF and userspace.
 *
 * Contract: lb_decap_plan() reads [start, end) and says how many bytes of
 * outer IP header follow the L2 header (0: not encapsulated, pass as is;
 * < 0: encapsulated but malformed). lb_decap_write() then rewrites the L2
 * header in place at start + outer_len (ethertype of the inner family, the
 * VLAN tag kept), after which the engine drops outer_len bytes at the front.
 */
#ifndef FERRY_COMMON_DECAP_H
#define FERRY_COMMON_DECAP_H

#include "compat.h"
#include "parse.h"

/* Bytes lb_decap_write() touches at most: a tagged L2 header moved past
 * an IPv6 outer header. Every frame it is given is longer: it carries at
 * least one byte of inner packet after those. */
#define LB_DECAP_MAX_MOVE (14 + 4 + 40)

struct lb_decap {
	__u16 l2_len; /* 14, or 18 with a VLAN tag */
	__u16 outer_len; /* 20 or 40 */
	__be16 inner_proto; /* ethertype of the inner packet */
};

static LB_INLINE int lb_decap_inner(__u8 proto, struct lb_decap *d)
{
	if (proto == IPPROTO_IPIP)
		d->inner_proto = lb_htons(ETH_P_IP);
	else if (proto == IPPROTO_IPV6)
		d->inner_proto = lb_htons(ETH_P_IPV6);
	else
		return 0;
	return 1;
}

/* > 0: outer_len to strip; 0: not ours; -1: malformed. */
static LB_INLINE int lb_decap_plan(const __u8 *start, const __u8 *end,
				   struct lb_decap *d)
{
	const struct ethhdr *eth = (const struct ethhdr *)start;
	const __u8 *l3 = start + sizeof(*eth);
	__be16 proto;

	if (l3 > end)
		return 0;
	proto = eth->h_proto;
	d->l2_len = sizeof(*eth);
	if (proto == lb_htons(LB_ETH_P_8021Q)) {
		const struct lb_vlan_hdr *vh = (const struct lb_vlan_hdr *)l3;

		if (l3 + sizeof(*vh) > end)
			return 0;
		proto = vh->proto;
		l3 += sizeof(*vh);
		d->l2_len += sizeof(*vh);
	}
	if (proto == lb_htons(ETH_P_IP)) {
		const struct iphdr *iph = (const struct iphdr *)l3;

		if (l3 + sizeof(*iph) > end)
			return 0;
		if (!lb_decap_inner(iph->protocol, d))
			return 0;
		/* We only ever send 20-byte outer headers, never fragments. */
		if (iph->ihl != 5 || iph->version != 4 ||
		    (iph->frag_off & lb_htons(LB_IP_MF | LB_IP_OFFMASK)))
			return -1;
		/* The outer length covers an inner packet and the frame
		 * holds it (Ethernet padding may follow). */
		if (lb_ntohs(iph->tot_len) <= sizeof(*iph) ||
		    l3 + lb_ntohs(iph->tot_len) > end)
			return -1;
		d->outer_len = sizeof(*iph);
	} else if (proto == lb_htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = (const struct ipv6hdr *)l3;

		if (l3 + sizeof(*ip6) > end)
			return 0;
		if (!lb_decap_inner(ip6->nexthdr, d))
			return 0;
		if (ip6->version != 6 || !ip6->payload_len ||
		    l3 + sizeof(*ip6) + lb_ntohs(ip6->payload_len) > end)
			return -1;
		d->outer_len = sizeof(*ip6);
	} else {
		return 0;
	}
	/* After the move the frame must still hold the whole L2 header and
	 * the inner packet must begin: check the most that is touched. */
	if (start + LB_DECAP_MAX_MOVE + 1 > end)
		return -1;
	return d->outer_len;
}

/* Writes the L2 header at start + outer_len; start..end still the old frame. */
static LB_INLINE int lb_decap_write(__u8 *start, const __u8 *end,
				    const struct lb_decap *d)
{
	struct ethhdr eth;

	if (start + LB_DECAP_MAX_MOVE > end)
		return -1;
	lb_memcpy(&eth, start, sizeof(eth));
	if (d->l2_len == sizeof(eth)) {
		eth.h_proto = d->inner_proto;
		if (d->outer_len == 40)
			lb_memcpy(start + 40, &eth, sizeof(eth));
		else
			lb_memcpy(start + 20, &eth, sizeof(eth));
	} else {
		struct lb_vlan_hdr vh;

		lb_memcpy(&vh, start + sizeof(eth), sizeof(vh));
		vh.proto = d->inner_proto;
		if (d->outer_len == 40) {
			lb_memcpy(start + 40, &eth, sizeof(eth));
			lb_memcpy(start + 40 + sizeof(eth), &vh, sizeof(vh));
		} else {
			lb_memcpy(start + 20, &eth, sizeof(eth));
			lb_memcpy(start + 20 + sizeof(eth), &vh, sizeof(vh));
		}
	}
	return 0;
}

#endif /* FERRY_COMMON_DECAP_H */
