/* tests/unit/test_parse.c: cmocka tests of common/parse.h (Ethernet, VLAN, IPv4, IPv6 extension headers, TCP/UDP, ICMP errors, truncation). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/parse.h"
#include "tests/fuzz/testpkt.h"

#define C4 "198.51.100.10" /* client */
#define V4 "203.0.113.1" /* VIP */
#define R4 "192.0.2.254" /* a router sending ICMP errors */
#define C6 "2001:db8:c::10"
#define V6 "2001:db8:f::1"
#define R6 "2001:db8:e::fe"

#define NH_HOP 0
#define NH_TCP 6
#define NH_UDP 17
#define NH_ROUTING 43
#define NH_FRAG 44
#define NH_AH 51
#define NH_ICMP6 58
#define NH_DSTOPTS 60

/*
 * Parses the first len bytes of the frame from an exact-size heap copy (ASan
 * sees any read past the end) and checks that the parser wrote nothing.
 */
static int parse_len(struct tp *t, size_t len, struct lb_pkt *pkt)
{
	__u8 *f = tp_heap(tp_frame(t), len);
	int v;

	v = lb_parse(f, f + len, pkt);
	assert_memory_equal(f, tp_frame(t), len);
	tp_heap_free(f);
	return v;
}

static int parse(struct tp *t, struct lb_pkt *pkt)
{
	return parse_len(t, t->len, pkt);
}

static void assert_addr(const union lb_addr *a, int family, const char *s)
{
	union lb_addr want;

	memset(&want, 0, sizeof(want));
	tp_addr(&want, family, s);
	assert_memory_equal(a, &want, sizeof(want));
}

static void assert_end(struct tp *t, size_t len, int verdict, int reason)
{
	struct lb_pkt pkt;

	assert_int_equal(parse_len(t, len, &pkt), verdict);
	assert_int_equal(pkt.reason, reason);
}

/* ---- Ethernet and VLAN ------------------------------------------------ */

static void test_eth_non_ip(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	tp_init(&t);
	tp_eth(&t, 0x0806); /* ARP */
	tp_payload(&t, 28);
	assert_int_equal(parse(&t, &pkt), LB_PASS);
	assert_int_equal(pkt.reason, LB_R_PASS_NON_IP);

	/* Shorter than an Ethernet header, down to nothing. */
	for (size_t len = 0; len < 14; len++)
		assert_end(&t, len, LB_PASS, LB_R_PASS_NON_IP);

	/* 802.1ad outer tag is not walked: not IP to us. */
	tp_init(&t);
	tp_eth(&t, LB_ETH_P_8021AD);
	tp_vlan(&t, 5, 0x0800);
	tp_ip4(&t, C4, V4, NH_UDP);
	tp_udp(&t, 1000, 53);
	tp_done(&t);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NON_IP);
}

static void test_vlan_ipv4(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	tp_init(&t);
	tp_l2(&t, 4, 1, 0x2064);
	tp_ip4(&t, C4, V4, NH_TCP);
	tp_tcp(&t, 40000, 80, LB_TCP_SYN);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.has_vlan, 1);
	assert_int_equal(lb_ntohs(pkt.vlan_tci), 0x2064);
	assert_int_equal(pkt.l3_off, 18);
	assert_int_equal(pkt.ip_len, 40);
	assert_int_equal(pkt.flow.family, LB_AF_INET);
	assert_int_equal(pkt.flow.proto, IPPROTO_TCP);
	assert_addr(&pkt.flow.src, 4, C4);
	assert_addr(&pkt.flow.dst, 4, V4);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 40000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 80);

	/* Tag cut short: not IP. */
	assert_end(&t, 15, LB_PASS, LB_R_PASS_NON_IP);
	assert_end(&t, 17, LB_PASS, LB_R_PASS_NON_IP);
	/* Tag then ARP. */
	tp_init(&t);
	tp_l2(&t, 4, 1, 7);
	tp_be16(tp_frame(&t) + 16, 0x0806);
	tp_payload(&t, 28);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NON_IP);
}

/* ---- IPv4 ------------------------------------------------------------- */

static void test_ipv4_tcp(void **state)
{
	struct tp t;
	struct lb_pkt pkt;
	__u8 *ip;

	(void)state;
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, C4, V4, NH_TCP);
	tp_set_tos(ip, 0xb9);
	tp_ip4_frag(ip, LB_IP_DF);
	tp_tcp(&t, 40000, 443, LB_TCP_ACK | 0x08);
	tp_payload(&t, 100);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.has_vlan, 0);
	assert_int_equal(pkt.l3_off, 14);
	assert_int_equal(pkt.ip_len, 140);
	assert_int_equal(pkt.tos, 0xb9);
	assert_int_equal(pkt.df, 1);
	assert_int_equal(pkt.frag, LB_FRAG_NONE);
	assert_int_equal(pkt.tcp_flags, LB_TCP_ACK | 0x08);
	assert_int_equal(pkt.icmp_error, 0);
	assert_int_equal(pkt.flow.proto, IPPROTO_TCP);
	assert_int_equal(pkt.flow.family, LB_AF_INET);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 40000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 443);
	assert_addr(&pkt.flow.src, 4, C4);
	assert_addr(&pkt.flow.dst, 4, V4);
	assert_int_equal(pkt.flow.vip, 0);

	/* Without DF. */
	tp_ip4_frag(ip, 0);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.df, 0);
}

static void test_tcp_flags(void **state)
{
	static const __u8 flags[] = { LB_TCP_SYN, LB_TCP_SYN | LB_TCP_ACK,
				      LB_TCP_ACK, 0x11 /* FIN|ACK */,
				      0x04 /* RST */, 0xff, 0 };
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	for (size_t i = 0; i < sizeof(flags); i++) {
		tp_init(&t);
		tp_l2(&t, 6, 0, 0);
		tp_ip6(&t, C6, V6, NH_TCP);
		tp_tcp(&t, 1234, 80, flags[i]);
		tp_done(&t);
		assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
		assert_int_equal(pkt.tcp_flags, flags[i]);
	}
	/* UDP leaves the flags at zero. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, C4, V4, NH_UDP);
	tp_udp(&t, 1234, 53);
	tp_payload(&t, 13); /* byte 13 of the UDP "header" area is payload */
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.tcp_flags, 0);
	assert_int_equal(pkt.flow.proto, IPPROTO_UDP);
}

static void test_ipv4_options(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	for (int ihl = 5; ihl <= 15; ihl++) {
		tp_init(&t);
		tp_l2(&t, 4, 0, 0);
		tp_ip4_opt(&t, C4, V4, NH_UDP, ihl);
		tp_udp(&t, 5353, 53);
		tp_done(&t);
		assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
		assert_int_equal(lb_ntohs(pkt.flow.sport), 5353);
		assert_int_equal(lb_ntohs(pkt.flow.dport), 53);
		assert_int_equal(pkt.ip_len, ihl * 4 + 8);
		/* The UDP header cut by one byte (both the frame and tot_len). */
		tp_be16(tp_frame(&t) + 16, (__u16)(ihl * 4 + 7));
		assert_end(&t, t.len - 1, LB_DROP, LB_R_DROP_TRUNCATED);
	}
}

static void test_ipv4_bad_header(void **state)
{
	struct tp t;
	__u8 *ip;

	(void)state;
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, C4, V4, NH_UDP);
	tp_udp(&t, 1, 2);
	tp_payload(&t, 40);
	tp_done(&t);
	assert_end(&t, t.len, LB_CONTINUE, LB_R_FORWARD);

	/* IHL below 5. */
	for (int ihl = 0; ihl < 5; ihl++) {
		ip[0] = (__u8)(0x40 | ihl);
		assert_end(&t, t.len, LB_DROP, LB_R_DROP_BAD_IP);
	}
	ip[0] = 0x45;
	/* Version not 4 under an IPv4 ethertype. */
	ip[0] = 0x65;
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_BAD_IP);
	ip[0] = 0x45;
	/* tot_len shorter than the header. */
	tp_be16(ip + 2, 19);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_BAD_IP);
	/* tot_len longer than the frame. */
	tp_be16(ip + 2, (__u16)(t.len - 14 + 1));
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_BAD_IP);
	tp_be16(ip + 2, 0xffff);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_BAD_IP);
	/* tot_len exactly the frame. */
	tp_be16(ip + 2, (__u16)(t.len - 14));
	assert_end(&t, t.len, LB_CONTINUE, LB_R_FORWARD);
	/* IHL runs past the frame (tot_len agrees with the IHL). */
	ip[0] = 0x4f;
	tp_be16(ip + 2, 60);
	assert_end(&t, 14 + 40, LB_DROP, LB_R_DROP_TRUNCATED);
	/* IHL fits the frame but the transport header is past tot_len. */
	ip[0] = 0x4f;
	tp_be16(ip + 2, 60);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);
}

static void test_ipv4_padding(void **state)
{
	struct tp t;
	struct lb_pkt pkt;
	size_t iplen;

	(void)state;
	/* A minimal UDP packet padded to the 60-byte Ethernet minimum. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, C4, V4, NH_UDP);
	tp_udp(&t, 7, 9);
	iplen = tp_done(&t) - 14;
	tp_pad(&t, 60 - t.len);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.ip_len, iplen);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 9);

	/* The IP packet ends inside the UDP header; the padding must not be
	 * read as the rest of it. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, C4, V4, NH_UDP);
	tp_put(&t, 4); /* half a UDP header */
	tp_done(&t);
	tp_pad(&t, 60 - t.len);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);

	/* Same for TCP: 19 bytes in the packet, the 20th in the padding. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, C4, V4, NH_TCP);
	tp_tcp(&t, 1, 2, LB_TCP_SYN);
	t.len--;
	tp_done(&t);
	tp_pad(&t, 20);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);
}

/* Every cut of a frame: the reason names the header that ran out. */
static void test_truncation_ipv4(void **state)
{
	struct tp t;
	size_t full;

	(void)state;
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, C4, V4, NH_TCP);
	tp_tcp(&t, 1000, 80, LB_TCP_SYN);
	full = tp_done(&t);
	assert_end(&t, full, LB_CONTINUE, LB_R_FORWARD);
	/* Frame cut, tot_len left as it was. */
	for (size_t len = 0; len < full; len++) {
		if (len < 14)
			assert_end(&t, len, LB_PASS, LB_R_PASS_NON_IP);
		else if (len < 34)
			assert_end(&t, len, LB_DROP, LB_R_DROP_TRUNCATED);
		else
			assert_end(&t, len, LB_DROP, LB_R_DROP_BAD_IP);
	}
	/* Frame and tot_len cut together: the TCP header runs out. */
	for (size_t len = 34; len < full; len++) {
		tp_be16(tp_frame(&t) + 16, (__u16)(len - 14));
		assert_end(&t, len, LB_DROP, LB_R_DROP_TRUNCATED);
	}
}

static void test_truncation_ipv6(void **state)
{
	struct tp t;
	size_t full;

	(void)state;
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_HOP);
	tp_ext6(&t, NH_HOP, NH_FRAG, 8);
	tp_frag6(&t, NH_UDP, 0, 1);
	tp_udp(&t, 1000, 53);
	full = tp_done(&t);
	assert_end(&t, full, LB_CONTINUE, LB_R_FORWARD);
	for (size_t len = 0; len < full; len++) {
		if (len < 14)
			assert_end(&t, len, LB_PASS, LB_R_PASS_NON_IP);
		else if (len < 54)
			assert_end(&t, len, LB_DROP, LB_R_DROP_TRUNCATED);
		else
			assert_end(&t, len, LB_DROP, LB_R_DROP_BAD_IP);
	}
	/* payload_len cut together with the frame: each header in turn. */
	for (size_t len = 55; len < full; len++) {
		tp_be16(tp_frame(&t) + 18, (__u16)(len - 54));
		assert_end(&t, len, LB_DROP, LB_R_DROP_TRUNCATED);
	}
	/* payload_len 0 (jumbogram or nonsense) and a bad version. */
	tp_done(&t);
	tp_be16(tp_frame(&t) + 18, 0);
	assert_end(&t, full, LB_DROP, LB_R_DROP_BAD_IP);
	tp_done(&t);
	tp_frame(&t)[14] = 0x40;
	assert_end(&t, full, LB_DROP, LB_R_DROP_BAD_IP);
}

/* ---- fragments ---------------------------------------------------------- */

static void test_ipv4_fragments(void **state)
{
	struct tp t;
	struct lb_pkt pkt;
	__u8 *ip;

	(void)state;
	/* First fragment: ports kept. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, C4, V4, NH_UDP);
	tp_ip4_frag(ip, LB_IP_MF);
	tp_udp(&t, 4000, 53);
	tp_payload(&t, 64);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_FIRST);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 4000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 53);

	/* Later fragment: no ports, even though the bytes look like some. */
	tp_ip4_frag(ip, 9);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_LATER);
	assert_int_equal(pkt.flow.sport, 0);
	assert_int_equal(pkt.flow.dport, 0);
	assert_int_equal(pkt.flow.proto, IPPROTO_UDP);
	assert_addr(&pkt.flow.src, 4, C4);

	/* Last fragment (offset, no MF) is a later one too. */
	tp_ip4_frag(ip, LB_IP_MF | 100);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_LATER);

	/* A later fragment with no transport bytes at all. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, C4, V4, NH_TCP);
	tp_ip4_frag(ip, 3);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_LATER);
	assert_int_equal(pkt.ip_len, 20);
	assert_int_equal(pkt.tcp_flags, 0);

	/* A first fragment too short for its ports. */
	tp_ip4_frag(ip, LB_IP_MF);
	tp_put(&t, 6);
	tp_done(&t);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);

	/* Fragments of anything else are not ours. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, C4, V4, 1 /* ICMP */);
	tp_ip4_frag(ip, LB_IP_MF);
	tp_icmp(&t, 3, 4, 1400);
	tp_done(&t);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
}

static void test_ipv6_fragments(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	/* First fragment. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_FRAG);
	tp_frag6(&t, NH_TCP, 0, 1);
	tp_tcp(&t, 5555, 443, LB_TCP_ACK);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_FIRST);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 5555);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 443);
	assert_int_equal(pkt.tcp_flags, LB_TCP_ACK);

	/* Later fragment: no ports. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_FRAG);
	tp_frag6(&t, NH_TCP, 185, 1);
	tp_tcp(&t, 5555, 443, LB_TCP_ACK);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_LATER);
	assert_int_equal(pkt.flow.sport, 0);
	assert_int_equal(pkt.flow.dport, 0);
	assert_int_equal(pkt.flow.proto, IPPROTO_TCP);
	assert_int_equal(pkt.tcp_flags, 0);

	/* Last fragment, nothing after the fragment header. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_FRAG);
	tp_frag6(&t, NH_UDP, 1, 0);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_LATER);
	assert_int_equal(pkt.ip_len, 48);

	/* Fragment header after hop-by-hop and dst-opts. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_HOP);
	tp_ext6(&t, NH_HOP, NH_DSTOPTS, 8);
	tp_ext6(&t, NH_DSTOPTS, NH_FRAG, 16);
	tp_frag6(&t, NH_UDP, 0, 1);
	tp_udp(&t, 9, 53);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_FIRST);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 53);

	/* Atomic fragment (offset 0, no M): a whole packet. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_FRAG);
	tp_frag6(&t, NH_UDP, 0, 0);
	tp_udp(&t, 9, 53);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_NONE);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 9);

	/* A later fragment of ICMPv6 is not ours. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_FRAG);
	tp_frag6(&t, NH_ICMP6, 10, 0);
	tp_payload(&t, 8);
	tp_done(&t);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);

	/* Fragment header cut short. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_FRAG);
	tp_put(&t, 7);
	tp_done(&t);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);
}

/* ---- IPv6 --------------------------------------------------------------- */

static void test_ipv6_basic(void **state)
{
	struct tp t;
	struct lb_pkt pkt;
	__u8 *ip;

	(void)state;
	tp_init(&t);
	tp_l2(&t, 6, 1, 100);
	ip = tp_ip6(&t, C6, V6, NH_UDP);
	tp_set_tos(ip, 0xb8);
	ip[1] |= 0x0a; /* flow label bits must not leak into tos */
	ip[2] = 0xbc;
	tp_udp(&t, 33000, 4789);
	tp_payload(&t, 10);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.l3_off, 18);
	assert_int_equal(pkt.ip_len, 40 + 18);
	assert_int_equal(pkt.tos, 0xb8);
	assert_int_equal(pkt.df, 1);
	assert_int_equal(pkt.frag, LB_FRAG_NONE);
	assert_int_equal(pkt.flow.family, LB_AF_INET6);
	assert_int_equal(pkt.flow.proto, IPPROTO_UDP);
	assert_addr(&pkt.flow.src, 6, C6);
	assert_addr(&pkt.flow.dst, 6, V6);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 33000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 4789);

	/* Padding after the IPv6 packet is not part of it. */
	tp_pad(&t, 30);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.ip_len, 40 + 18);

	/* Unknown next header: not ours. */
	ip[6] = 47; /* GRE */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	ip[6] = 59; /* no next header */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
}

static void test_ipv6_ext_walk(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	/* Hop-by-hop, routing, destination options, of various lengths. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_HOP);
	tp_ext6(&t, NH_HOP, NH_ROUTING, 8);
	tp_ext6(&t, NH_ROUTING, NH_DSTOPTS, 24);
	tp_ext6(&t, NH_DSTOPTS, NH_TCP, 16);
	tp_tcp(&t, 60000, 8443, LB_TCP_SYN);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.flow.proto, IPPROTO_TCP);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 60000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 8443);
	assert_int_equal(pkt.tcp_flags, LB_TCP_SYN);

	/* An extension header whose length runs past the packet. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_DSTOPTS);
	tp_ext6(&t, NH_DSTOPTS, NH_UDP, 8);
	tp_udp(&t, 1, 2);
	tp_done(&t);
	tp_frame(&t)[14 + 40 + 1] = 2; /* 24 bytes, 16 there */
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);
	/* ... and one that runs into the Ethernet padding only. */
	tp_pad(&t, 64);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);

	/* An extension header whose first two bytes are missing. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_ROUTING);
	tp_put(&t, 1);
	tp_done(&t);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);

	/* Extension header ending exactly at the packet end, nothing after. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_DSTOPTS);
	tp_ext6(&t, NH_DSTOPTS, NH_UDP, 8);
	tp_done(&t);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_TRUNCATED);
}

static void test_ipv6_ah(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	/* AH counts 4-byte units minus 2: 12 and 24 bytes. With the 8-byte
	 * rule of the other headers the ports would come from elsewhere. */
	for (size_t ahlen = 12; ahlen <= 24; ahlen += 12) {
		tp_init(&t);
		tp_l2(&t, 6, 0, 0);
		tp_ip6(&t, C6, V6, NH_AH);
		tp_ext6(&t, NH_AH, NH_UDP, ahlen);
		tp_udp(&t, 4500, 500);
		tp_payload(&t, 32);
		tp_done(&t);
		assert_int_equal(tp_frame(&t)[14 + 41], ahlen / 4 - 2);
		assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
		assert_int_equal(lb_ntohs(pkt.flow.sport), 4500);
		assert_int_equal(lb_ntohs(pkt.flow.dport), 500);
	}
	/* AH then destination options then TCP. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_AH);
	tp_ext6(&t, NH_AH, NH_DSTOPTS, 20);
	tp_ext6(&t, NH_DSTOPTS, NH_TCP, 8);
	tp_tcp(&t, 1, 22, LB_TCP_ACK);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 22);
}

/* Builds a chain of n destination-options headers before UDP. */
static void ext_chain(struct tp *t, int n)
{
	tp_init(t);
	tp_l2(t, 6, 0, 0);
	tp_ip6(t, C6, V6, n ? NH_DSTOPTS : NH_UDP);
	for (int i = 0; i < n; i++)
		tp_ext6(t, NH_DSTOPTS, i + 1 < n ? NH_DSTOPTS : NH_UDP, 8);
	tp_udp(t, 777, 53);
	tp_done(t);
}

static void test_ipv6_ext_max(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	/* Up to FERRY_IPV6_EXT_MAX extension headers are walked... */
	for (int n = 0; n <= FERRY_IPV6_EXT_MAX; n++) {
		ext_chain(&t, n);
		assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
		assert_int_equal(lb_ntohs(pkt.flow.dport), 53);
	}
	/* ... one more is too many. */
	ext_chain(&t, FERRY_IPV6_EXT_MAX + 1);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_IPV6_EXT);
	ext_chain(&t, FERRY_IPV6_EXT_MAX + 3);
	assert_end(&t, t.len, LB_DROP, LB_R_DROP_IPV6_EXT);

	/* A fragment header counts as one of them. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_DSTOPTS);
	for (int i = 0; i < FERRY_IPV6_EXT_MAX - 1; i++)
		tp_ext6(&t, NH_DSTOPTS,
			i + 2 < FERRY_IPV6_EXT_MAX ? NH_DSTOPTS : NH_FRAG, 8);
	tp_frag6(&t, NH_UDP, 0, 1);
	tp_udp(&t, 777, 53);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.frag, LB_FRAG_FIRST);
}

/* payload_len 65535: the IP length does not fit 16 bits with the header;
 * it saturates rather than wrapping to a small number. */
static void test_ipv6_huge(void **state)
{
	size_t len = 14 + 40 + 65535;
	struct lb_pkt pkt;
	__u8 *f = calloc(1, len + 2);
	__u8 *p = f + 2;
	struct tp t;
	int v;

	(void)state;
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, NH_UDP);
	tp_udp(&t, 1, 2);
	memcpy(p, tp_frame(&t), t.len);
	tp_be16(p + 18, 65535);
	v = lb_parse(p, p + len, &pkt);
	assert_int_equal(v, LB_CONTINUE);
	assert_int_equal(pkt.ip_len, 0xffff);
	free(f);
}

/* ---- ICMP errors -------------------------------------------------------- */

/* Frag-needed from a router to the VIP, quoting VIP -> client. */
static void icmp4_frame(struct tp *t, __u8 type, __u8 code, __u8 qproto,
			int quote_ihl, size_t quote_l4)
{
	tp_init(t);
	tp_l2(t, 4, 0, 0);
	tp_ip4(t, R4, V4, 1);
	tp_icmp(t, type, code, 1400);
	tp_ip4_opt(t, V4, C4, qproto, quote_ihl);
	if (quote_l4 >= 4) {
		__u8 *q = tp_put(t, quote_l4);

		tp_be16(q, 443); /* VIP port */
		tp_be16(q + 2, 51000); /* client port */
	} else {
		tp_put(t, quote_l4);
	}
	tp_done(t);
}

static void test_icmp4_frag_needed(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	icmp4_frame(&t, 3, 4, NH_TCP, 5, 8);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.icmp_error, 1);
	assert_int_equal(pkt.flow.family, LB_AF_INET);
	assert_int_equal(pkt.flow.proto, IPPROTO_TCP);
	assert_addr(&pkt.flow.src, 4, C4);
	assert_addr(&pkt.flow.dst, 4, V4);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 51000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 443);
	assert_int_equal(pkt.ip_len, 20 + 8 + 20 + 8);

	/* Quoted header with options; UDP quote. */
	icmp4_frame(&t, 3, 4, NH_UDP, 8, 8);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.flow.proto, IPPROTO_UDP);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 51000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 443);

	/* Not ours: other ICMP, other codes, short or odd quotes. */
	icmp4_frame(&t, 8, 0, NH_TCP, 5, 8); /* echo request */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 3, 3, NH_TCP, 5, 8); /* port unreachable */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 11, 0, NH_TCP, 5, 8); /* time exceeded */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 3, 4, NH_TCP, 5, 7); /* quote short of 8 bytes */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 3, 4, 1, 5, 8); /* quoting ICMP */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 3, 4, NH_TCP, 5, 8);
	tp_frame(&t)[14 + 28] = 0x44; /* quoted IHL 4 */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 3, 4, NH_TCP, 5, 8);
	tp_frame(&t)[14 + 28] = 0x65; /* quoted version 6 */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 3, 4, NH_TCP, 5, 8);
	tp_ip4_frag(tp_frame(&t) + 14 + 28, 5); /* quote of a later fragment */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, 3, 4, NH_TCP, 15, 8); /* quoted IHL past the end */
	tp_frame(&t)[14 + 28] = 0x4f;
	assert_end(&t, t.len - 8, LB_DROP, LB_R_DROP_BAD_IP); /* tot_len */
	tp_be16(tp_frame(&t) + 16, (__u16)(t.len - 8 - 14));
	assert_end(&t, t.len - 8, LB_PASS, LB_R_PASS_NOT_VIP);
	/* ICMP header itself cut short. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, R4, V4, 1);
	tp_put(&t, 3);
	tp_done(&t);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
}

static void icmp6_frame(struct tp *t, __u8 type, __u8 qnh, size_t quote_l4)
{
	__u8 *q;

	tp_init(t);
	tp_l2(t, 6, 0, 0);
	tp_ip6(t, R6, V6, NH_ICMP6);
	tp_icmp(t, type, 0, 1280);
	tp_ip6(t, V6, C6, qnh);
	q = tp_put(t, quote_l4);
	if (quote_l4 >= 4) {
		tp_be16(q, 443);
		tp_be16(q + 2, 52000);
	}
	tp_done(t);
}

static void test_icmp6_ptb(void **state)
{
	struct tp t;
	struct lb_pkt pkt;

	(void)state;
	icmp6_frame(&t, LB_ICMPV6_PKT_TOOBIG, NH_TCP, 20);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.icmp_error, 1);
	assert_int_equal(pkt.flow.family, LB_AF_INET6);
	assert_int_equal(pkt.flow.proto, IPPROTO_TCP);
	assert_addr(&pkt.flow.src, 6, C6);
	assert_addr(&pkt.flow.dst, 6, V6);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 52000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 443);

	icmp6_frame(&t, LB_ICMPV6_PKT_TOOBIG, NH_UDP, 8);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.flow.proto, IPPROTO_UDP);

	/* Not ours. */
	icmp6_frame(&t, 128, NH_TCP, 8); /* echo request */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp6_frame(&t, 1, NH_TCP, 8); /* destination unreachable */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp6_frame(&t, LB_ICMPV6_PKT_TOOBIG, NH_TCP, 7);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp6_frame(&t, LB_ICMPV6_PKT_TOOBIG, NH_DSTOPTS, 16);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp6_frame(&t, LB_ICMPV6_PKT_TOOBIG, NH_TCP, 8);
	tp_frame(&t)[14 + 48] = 0x40; /* quoted version 4 */
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);

	/* ICMPv4 under IPv6 and ICMPv6 under IPv4 are nothing. */
	icmp6_frame(&t, LB_ICMPV6_PKT_TOOBIG, NH_TCP, 8);
	tp_frame(&t)[14 + 6] = 1;
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	icmp4_frame(&t, LB_ICMPV6_PKT_TOOBIG, 0, NH_TCP, 5, 8);
	tp_frame(&t)[14 + 9] = NH_ICMP6;
	tp_done(&t);
	assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);

	/* PTB behind an extension header is still found. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, R6, V6, NH_DSTOPTS);
	tp_ext6(&t, NH_DSTOPTS, NH_ICMP6, 8);
	tp_icmp(&t, LB_ICMPV6_PKT_TOOBIG, 0, 1280);
	tp_ip6(&t, V6, C6, NH_UDP);
	tp_udp(&t, 53, 40000);
	tp_done(&t);
	assert_int_equal(parse(&t, &pkt), LB_CONTINUE);
	assert_int_equal(pkt.icmp_error, 1);
	assert_int_equal(lb_ntohs(pkt.flow.sport), 40000);
	assert_int_equal(lb_ntohs(pkt.flow.dport), 53);
}

static void test_other_l4(void **state)
{
	static const __u8 protos[] = { 1, 2, 41, 47, 50, 132, 255 };
	struct tp t;

	(void)state;
	for (size_t i = 0; i < sizeof(protos); i++) {
		tp_init(&t);
		tp_l2(&t, 4, 0, 0);
		tp_ip4(&t, C4, V4, protos[i]);
		tp_payload(&t, 40);
		tp_done(&t);
		assert_end(&t, t.len, LB_PASS, LB_R_PASS_NOT_VIP);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_non_ip),
		cmocka_unit_test(test_vlan_ipv4),
		cmocka_unit_test(test_ipv4_tcp),
		cmocka_unit_test(test_tcp_flags),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_bad_header),
		cmocka_unit_test(test_ipv4_padding),
		cmocka_unit_test(test_truncation_ipv4),
		cmocka_unit_test(test_truncation_ipv6),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_ipv6_basic),
		cmocka_unit_test(test_ipv6_ext_walk),
		cmocka_unit_test(test_ipv6_ah),
		cmocka_unit_test(test_ipv6_ext_max),
		cmocka_unit_test(test_ipv6_huge),
		cmocka_unit_test(test_icmp4_frag_needed),
		cmocka_unit_test(test_icmp6_ptb),
		cmocka_unit_test(test_other_l4),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
