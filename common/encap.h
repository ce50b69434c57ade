/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/encap.h: writes the outer L2 + IP header in front of a packet (IPIP, IP6IP6, 4in6, 6in4). Used by BPF and userspace.
 *
 * Contract: the engine has grown the frame at its front by r->outer_len
 * bytes. The frame now reads [old L2 header moved away][outer space]... and
 * the inner IP packet starts at l3_off + outer_len. lb_encap() writes
 * a fresh L2 header (MACs from config, the VLAN tag kept) and the outer IP
 * header. The inner packet is not touched: the client address stays in it.
 */
#ifndef FERRY_COMMON_ENCAP_H
#define FERRY_COMMON_ENCAP_H

#include "compat.h"
#include "csum.h"
#include "parse.h"
#include "result.h"

#define LB_ETH_HLEN 14
#define LB_VLAN_HLEN 4
#define LB_OUTER4_LEN 20
#define LB_OUTER6_LEN 40
/* The most the writer touches: L2 with a tag plus an IPv6 header. */
#define LB_ENCAP_MAX_HDR (LB_ETH_HLEN + LB_VLAN_HLEN + LB_OUTER6_LEN)

static LB_INLINE __u8 lb_inner_proto(const struct lb_result *r)
{
	return r->pkt.flow.family == LB_AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
}

static LB_INLINE void lb_encap_eth(__u8 *p, const struct lb_result *r,
				   const struct lb_config *cfg, __be16 proto)
{
	struct ethhdr *eth = (struct ethhdr *)p;

	lb_memcpy(eth->h_dest, cfg->dst_mac, 6);
	lb_memcpy(eth->h_source, cfg->src_mac, 6);
	if (r->pkt.has_vlan) {
		struct lb_vlan_hdr *vh = (struct lb_vlan_hdr *)(p + LB_ETH_HLEN);

		eth->h_proto = lb_htons(LB_ETH_P_8021Q);
		vh->tci = r->pkt.vlan_tci;
		vh->proto = proto;
	} else {
		eth->h_proto = proto;
	}
}

static LB_INLINE void lb_encap_ip4(__u8 *p, const struct lb_result *r,
				   const struct lb_config *cfg)
{
	struct iphdr iph;

	lb_memset(&iph, 0, sizeof(iph));
	iph.version = 4;
	iph.ihl = 5;
	iph.tos = r->pkt.tos;
	iph.tot_len = lb_htons((__u16)(r->pkt.ip_len + LB_OUTER4_LEN));
	iph.frag_off = r->pkt.df ? lb_htons(LB_IP_DF) : 0;
	iph.ttl = FERRY_ENCAP_TTL;
	iph.protocol = lb_inner_proto(r);
	iph.saddr = cfg->encap_src_v4;
	iph.daddr = r->dst.v4;
	iph.check = lb_csum_ipv4_hdr(&iph);
	lb_memcpy(p, &iph, sizeof(iph));
}

static LB_INLINE void lb_encap_ip6(__u8 *p, const struct lb_result *r,
				   const struct lb_config *cfg)
{
	struct ipv6hdr ip6;
	__u32 label = r->hash & 0xfffff; /* spreads flows over backend RSS */

	lb_memset(&ip6, 0, sizeof(ip6));
	ip6.version = 6;
	ip6.priority = r->pkt.tos >> 4;
	ip6.flow_lbl[0] = (__u8)(((r->pkt.tos & 0xf) << 4) | (label >> 16));
	ip6.flow_lbl[1] = (__u8)(label >> 8);
	ip6.flow_lbl[2] = (__u8)label;
	ip6.payload_len = lb_htons(r->pkt.ip_len);
	ip6.nexthdr = lb_inner_proto(r);
	ip6.hop_limit = FERRY_ENCAP_TTL;
	lb_memcpy(&ip6.saddr, &cfg->encap_src_v6, 16);
	lb_memcpy(&ip6.daddr, &r->dst, 16);
	lb_memcpy(p, &ip6, sizeof(ip6));
}

/* 0 when written; -1 when the frame is too short (engine: drop, encap). */
static LB_INLINE int lb_encap(__u8 *start, const __u8 *end,
			      const struct lb_result *r,
			      const struct lb_config *cfg)
{
	if (start + LB_ENCAP_MAX_HDR > end)
		return -1;
	if (r->dst_family == LB_AF_INET6) {
		lb_encap_eth(start, r, cfg, lb_htons(ETH_P_IPV6));
		if (r->pkt.has_vlan)
			lb_encap_ip6(start + LB_ETH_HLEN + LB_VLAN_HLEN, r, cfg);
		else
			lb_encap_ip6(start + LB_ETH_HLEN, r, cfg);
	} else {
		lb_encap_eth(start, r, cfg, lb_htons(ETH_P_IP));
		if (r->pkt.has_vlan)
			lb_encap_ip4(start + LB_ETH_HLEN + LB_VLAN_HLEN, r, cfg);
		else
			lb_encap_ip4(start + LB_ETH_HLEN, r, cfg);
	}
	return 0;
}

#endif /* FERRY_COMMON_ENCAP_H */
