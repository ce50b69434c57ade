/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/parse.h: the packet parser (Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP, ICMP errors). Used by BPF and userspace.
 *
 * Parser contract, for every function here:
 * - input is a frame as a (start, end) cursor: bytes [start, end) are
 *   readable, nothing else is; every read is checked against end first;
 * - the result is LB_CONTINUE with struct lb_pkt filled in, or a final
 *   verdict (LB_PASS, LB_DROP) with pkt->reason saying why;
 * - nothing is written to the frame;
 * - the flow key is always the client's view: src = client, dst = VIP, also
 *   for an ICMP error, whose quoted (VIP -> client) packet is turned round;
 * - fragments are recognised: a non-first fragment has no ports (0) and
 *   frag = LB_FRAG_LATER, a first fragment keeps its ports and has
 *   frag = LB_FRAG_FIRST.
 */
#ifndef FERRY_COMMON_PARSE_H
#define FERRY_COMMON_PARSE_H

#include "compat.h"
#include <ferry/abi.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#define LB_ETH_P_8021Q 0x8100
#define LB_ETH_P_8021AD 0x88A8
#define LB_IP_MF 0x2000
#define LB_IP_DF 0x4000
#define LB_IP_OFFMASK 0x1fff
#define LB_IPV6_FRAG_OFFMASK 0xfff8
#define LB_IPV6_FRAG_MF 0x0001

enum lb_frag {
	LB_FRAG_NONE = 0,
	LB_FRAG_FIRST, /* offset 0, more to come: ports present */
	LB_FRAG_LATER, /* offset > 0: no transport header */
};

/* ICMP and ICMPv6 share this opening (linux/icmp.h drags in libc). */
struct lb_icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest; /* unused, or the next-hop MTU */
};

#define LB_ICMP_DEST_UNREACH 3
#define LB_ICMP_FRAG_NEEDED 4
#define LB_ICMPV6_PKT_TOOBIG 2

struct lb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct lb_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct lb_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

/* What the parser learnt; offsets are from the frame start. */
struct lb_pkt {
	struct lb_flow_key flow;
	__u16 l3_off; /* start of the IP header */
	__u16 ip_len; /* IP packet length from its header (total) */
	__be16 vlan_tci; /* valid if has_vlan */
	__u8 has_vlan;
	__u8 tos; /* IPv4 TOS / IPv6 traffic class: DSCP and ECN */
	__u8 frag; /* enum lb_frag */
	__u8 tcp_flags; /* TCP only: the flags byte (SYN = 0x02, ACK = 0x10) */
	__u8 icmp_error; /* frag-needed / packet-too-big, flow from the quote */
	__u8 df; /* IPv4 don't-fragment (always 1 for IPv6) */
	__u8 reason; /* enum lb_reason, for a final verdict */
	__u8 pad[3];
};

#define LB_TCP_SYN 0x02
#define LB_TCP_ACK 0x10
#define LB_TCP_FLAGS_OFF 13

/*
 * A header of n bytes at p fits if it ends inside the frame (end: what the
 * BPF verifier trusts) and inside the IP packet (lim: what the IP header
 * says, which can be shorter than the frame: Ethernet padding).
 */
#define LB_FITS(p, n, end, lim)                                                \
	((const __u8 *)(p) + (n) <= (end) && (const __u8 *)(p) + (n) <= (lim))

static LB_INLINE int lb_parse_end(struct lb_pkt *pkt, int verdict, int reason)
{
	pkt->reason = (__u8)reason;
	return verdict;
}

/* Ports of a TCP or UDP header at l4; both start with sport, dport. */
static LB_INLINE int lb_parse_ports(const __u8 *l4, const __u8 *end,
				    const __u8 *lim, __u8 proto, __be16 *sport,
				    __be16 *dport, __u8 *tcp_flags)
{
	if (proto == IPPROTO_TCP) {
		if (!LB_FITS(l4, sizeof(struct tcphdr), end, lim))
			return -1;
		*tcp_flags = l4[LB_TCP_FLAGS_OFF];
	} else {
		if (!LB_FITS(l4, sizeof(struct udphdr), end, lim))
			return -1;
	}
	*sport = ((const struct udphdr *)l4)->source;
	*dport = ((const struct udphdr *)l4)->dest;
	return 0;
}

/*
 * An ICMP error quotes the packet that caused it: IPv4 header (any IHL) or
 * IPv6 header, then at least 8 bytes of transport, enough for the ports.
 * That quoted packet went VIP -> client; the flow is turned round.
 */
static LB_INLINE int lb_parse_quote4(const __u8 *q, const __u8 *end,
				     const __u8 *lim, struct lb_pkt *pkt)
{
	const struct iphdr *iph = (const struct iphdr *)q;
	__u32 ihl;

	if (!LB_FITS(q, sizeof(*iph), end, lim))
		return -1;
	ihl = (__u32)(iph->ihl & 0xf) * 4;
	if (iph->version != 4 || ihl < sizeof(*iph))
		return -1;
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return -1;
	if (iph->frag_off & lb_htons(LB_IP_OFFMASK))
		return -1;
	q += ihl;
	if (!LB_FITS(q, 8, end, lim))
		return -1;
	pkt->flow.src.v4 = iph->daddr;
	pkt->flow.dst.v4 = iph->saddr;
	pkt->flow.proto = iph->protocol;
	pkt->flow.sport = ((const struct udphdr *)q)->dest;
	pkt->flow.dport = ((const struct udphdr *)q)->source;
	return 0;
}

static LB_INLINE int lb_parse_quote6(const __u8 *q, const __u8 *end,
				     const __u8 *lim, struct lb_pkt *pkt)
{
	const struct ipv6hdr *ip6 = (const struct ipv6hdr *)q;

	if (!LB_FITS(q, sizeof(*ip6) + 8, end, lim))
		return -1;
	if (ip6->version != 6)
		return -1;
	/* Quotes with extension headers are not steered. */
	if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
		return -1;
	q += sizeof(*ip6);
	lb_memcpy(&pkt->flow.src, &ip6->daddr, 16);
	lb_memcpy(&pkt->flow.dst, &ip6->saddr, 16);
	pkt->flow.proto = ip6->nexthdr;
	pkt->flow.sport = ((const struct udphdr *)q)->dest;
	pkt->flow.dport = ((const struct udphdr *)q)->source;
	return 0;
}

/* Transport stage, shared by both IP versions; l4 is past all IP headers. */
static LB_INLINE int lb_parse_l4(const __u8 *l4, const __u8 *end,
				 const __u8 *lim, __u8 proto, struct lb_pkt *pkt)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		pkt->flow.proto = proto;
		if (pkt->frag == LB_FRAG_LATER)
			return LB_CONTINUE;
		if (lb_parse_ports(l4, end, lim, proto, &pkt->flow.sport,
				   &pkt->flow.dport, &pkt->tcp_flags))
			return lb_parse_end(pkt, LB_DROP, LB_R_DROP_TRUNCATED);
		return LB_CONTINUE;
	}
	if (pkt->frag != LB_FRAG_NONE)
		return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
	if (proto == IPPROTO_ICMP && pkt->flow.family == LB_AF_INET) {
		const struct lb_icmp_hdr *ic = (const struct lb_icmp_hdr *)l4;

		if (!LB_FITS(l4, sizeof(*ic), end, lim))
			return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
		if (ic->type != LB_ICMP_DEST_UNREACH ||
		    ic->code != LB_ICMP_FRAG_NEEDED)
			return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
		if (lb_parse_quote4(l4 + sizeof(*ic), end, lim, pkt))
			return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
		pkt->icmp_error = 1;
		return LB_CONTINUE;
	}
	if (proto == IPPROTO_ICMPV6 && pkt->flow.family == LB_AF_INET6) {
		const struct lb_icmp_hdr *ic = (const struct lb_icmp_hdr *)l4;

		if (!LB_FITS(l4, sizeof(*ic), end, lim))
			return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
		if (ic->type != LB_ICMPV6_PKT_TOOBIG)
			return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
		if (lb_parse_quote6(l4 + sizeof(*ic), end, lim, pkt))
			return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
		pkt->icmp_error = 1;
		return LB_CONTINUE;
	}
	return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NOT_VIP);
}

static LB_INLINE int lb_parse_ipv4(const __u8 *l3, const __u8 *end,
				   struct lb_pkt *pkt)
{
	const struct iphdr *iph = (const struct iphdr *)l3;
	__u32 ihl, tot;
	__u16 frag;

	if (l3 + sizeof(*iph) > end)
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_TRUNCATED);
	ihl = (__u32)(iph->ihl & 0xf) * 4;
	tot = lb_ntohs(iph->tot_len);
	if (iph->version != 4 || ihl < sizeof(*iph) || tot < ihl)
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_BAD_IP);
	if (l3 + ihl > end)
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_TRUNCATED);
	if (l3 + tot > end)
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_BAD_IP);

	pkt->ip_len = (__u16)tot;
	pkt->tos = iph->tos;
	pkt->flow.family = LB_AF_INET;
	pkt->flow.src.v4 = iph->saddr;
	pkt->flow.dst.v4 = iph->daddr;
	frag = lb_ntohs(iph->frag_off);
	pkt->df = (frag & LB_IP_DF) ? 1 : 0;
	if (frag & LB_IP_OFFMASK)
		pkt->frag = LB_FRAG_LATER;
	else if (frag & LB_IP_MF)
		pkt->frag = LB_FRAG_FIRST;
	/* Transport bytes end where the IP packet does, not the frame. */
	return lb_parse_l4(l3 + ihl, end, l3 + tot, iph->protocol, pkt);
}

/* The extension headers the IPv6 walk steps over. */
static LB_INLINE int lb_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH ||
	       nh == IPPROTO_FRAGMENT;
}

static LB_INLINE int lb_parse_ipv6(const __u8 *l3, const __u8 *end,
				   struct lb_pkt *pkt)
{
	const struct ipv6hdr *ip6 = (const struct ipv6hdr *)l3;
	const __u8 *p, *pend;
	__u32 plen;
	__u8 nh;
	int i;

	if (l3 + sizeof(*ip6) > end)
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_TRUNCATED);
	plen = lb_ntohs(ip6->payload_len);
	if (ip6->version != 6 || plen == 0)
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_BAD_IP);
	pend = l3 + sizeof(*ip6) + plen;
	if (pend > end)
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_BAD_IP);

	/* 16 bits hold every IPv4 length but not the 40-byte header plus
	 * a payload_len over 65495: saturate, never wrap to a small length
	 * (no MTU is that large: such a packet is dropped as too big). */
	if (plen > 0xffff - sizeof(*ip6))
		pkt->ip_len = 0xffff;
	else
		pkt->ip_len = (__u16)(sizeof(*ip6) + plen);
	pkt->tos = (__u8)((ip6->priority << 4) | (ip6->flow_lbl[0] >> 4));
	pkt->df = 1;
	pkt->flow.family = LB_AF_INET6;
	lb_memcpy(&pkt->flow.src, &ip6->saddr, 16);
	lb_memcpy(&pkt->flow.dst, &ip6->daddr, 16);

	p = l3 + sizeof(*ip6);
	nh = ip6->nexthdr;
	LB_UNROLL
	for (i = 0; i < FERRY_IPV6_EXT_MAX; i++) {
		if (nh == IPPROTO_FRAGMENT) {
			const struct lb_ipv6_frag_hdr *fh =
				(const struct lb_ipv6_frag_hdr *)p;
			__u16 off;

			if (!LB_FITS(p, sizeof(*fh), end, pend))
				return lb_parse_end(pkt, LB_DROP,
						    LB_R_DROP_TRUNCATED);
			off = lb_ntohs(fh->frag_off);
			if (off & LB_IPV6_FRAG_OFFMASK)
				pkt->frag = LB_FRAG_LATER;
			else if (off & LB_IPV6_FRAG_MF)
				pkt->frag = LB_FRAG_FIRST;
			nh = fh->nexthdr;
			p += sizeof(*fh);
			if (pkt->frag == LB_FRAG_LATER)
				return lb_parse_l4(p, end, pend, nh, pkt);
			continue;
		}
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
		    nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH) {
			const struct lb_ipv6_opt_hdr *oh =
				(const struct lb_ipv6_opt_hdr *)p;
			__u32 len;

			if (!LB_FITS(p, sizeof(*oh), end, pend))
				return lb_parse_end(pkt, LB_DROP,
						    LB_R_DROP_TRUNCATED);
			if (nh == IPPROTO_AH)
				len = ((__u32)oh->hdrlen + 2) * 4;
			else
				len = ((__u32)oh->hdrlen + 1) * 8;
			nh = oh->nexthdr;
			p += len;
			if (!LB_FITS(p, 0, end, pend))
				return lb_parse_end(pkt, LB_DROP,
						    LB_R_DROP_TRUNCATED);
			continue;
		}
		return lb_parse_l4(p, end, pend, nh, pkt);
	}
	/* FERRY_IPV6_EXT_MAX headers walked: one more is too many, but the
	 * transport header may still follow the last of them. */
	if (lb_ipv6_is_ext(nh))
		return lb_parse_end(pkt, LB_DROP, LB_R_DROP_IPV6_EXT);
	return lb_parse_l4(p, end, pend, nh, pkt);
}

/* Entry point: one frame in, lb_pkt out. */
static LB_INLINE int lb_parse(const __u8 *start, const __u8 *end,
			      struct lb_pkt *pkt)
{
	const struct ethhdr *eth = (const struct ethhdr *)start;
	const __u8 *l3 = start + sizeof(*eth);
	__be16 proto;

	lb_memset(pkt, 0, sizeof(*pkt));
	if (l3 > end)
		return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NON_IP);
	proto = eth->h_proto;
	if (proto == lb_htons(LB_ETH_P_8021Q)) {
		const struct lb_vlan_hdr *vh = (const struct lb_vlan_hdr *)l3;

		if (l3 + sizeof(*vh) > end)
			return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NON_IP);
		pkt->has_vlan = 1;
		pkt->vlan_tci = vh->tci;
		proto = vh->proto;
		l3 += sizeof(*vh);
	}
	pkt->l3_off = (__u16)(l3 - start);
	if (proto == lb_htons(ETH_P_IP))
		return lb_parse_ipv4(l3, end, pkt);
	if (proto == lb_htons(ETH_P_IPV6))
		return lb_parse_ipv6(l3, end, pkt);
	return lb_parse_end(pkt, LB_PASS, LB_R_PASS_NON_IP);
}

#endif /* FERRY_COMMON_PARSE_H */
