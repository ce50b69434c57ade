/* tests/fuzz/gen_corpus.c: writes the fuzz seed corpus (small frames aimed at tests/fuzz/fuzz_world.h) into a directory: gen_corpus DIR. */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/testpkt.h"

static const char *dir;

static void save(const char *name, struct tp *t)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(tp_frame(t), 1, t->len, f) != t->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void l4(struct tp *t, __u8 proto, __u16 sport, __u16 dport, __u8 flags)
{
	if (proto == IPPROTO_TCP)
		tp_tcp(t, sport, dport, flags);
	else
		tp_udp(t, sport, dport);
}

static void simple(const char *name, int family, int vlan, const char *src,
		   const char *dst, __u8 proto, __u16 sport, __u16 dport,
		   __u8 flags, size_t payload)
{
	struct tp t;

	tp_init(&t);
	tp_l2(&t, family, vlan, 42);
	if (family == 4)
		tp_ip4(&t, src, dst, proto);
	else
		tp_ip6(&t, src, dst, proto);
	l4(&t, proto, sport, dport, flags);
	tp_payload(&t, payload);
	tp_done(&t);
	save(name, &t);
}

int main(int argc, char **argv)
{
	struct tp t;
	__u8 *ip, *q;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];

	simple("v4_tcp_syn_pinned", 4, 0, FW_CLIENT4, FW_VIP4_A, IPPROTO_TCP,
	       40000, 80, 0x02, 0);
	simple("v4_tcp_ack_rehash_vlan", 4, 1, FW_CLIENT4_REHASH, FW_VIP4_A,
	       IPPROTO_TCP, 40001, 80, 0x10, 32);
	simple("v4_tcp_hold", 4, 0, FW_CLIENT4_HOLD, FW_VIP4_A, IPPROTO_TCP,
	       40002, 80, 0x10, 0);
	simple("v4_udp_source_hash", 4, 0, FW_CLIENT4_FREE, FW_VIP4_A,
	       IPPROTO_UDP, 5000, 4000, 0, 24);
	simple("v4_tcp_no_ring", 4, 0, FW_CLIENT4_FREE, FW_VIP4_C, IPPROTO_TCP,
	       1, 80, 0x10, 0);
	simple("v6_tcp_syn_pinned", 6, 0, FW_CLIENT6, FW_VIP6_A, IPPROTO_TCP,
	       40000, 443, 0x02, 0);
	simple("v6_udp_vlan", 6, 1, FW_CLIENT6_FREE, FW_VIP6_A, IPPROTO_UDP,
	       53, 9999, 0, 8);

	/* IPv4 fragments to the frags-only VIP: first, later. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, FW_CLIENT4_FREE, FW_VIP4_B, IPPROTO_UDP);
	tp_ip4_frag(ip, 0x2000);
	tp_udp(&t, 3333, 53);
	tp_payload(&t, 16);
	tp_done(&t);
	save("v4_udp_frag_first", &t);
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, FW_CLIENT4_FREE, FW_VIP4_B, IPPROTO_UDP);
	tp_ip4_frag(ip, 3);
	tp_payload(&t, 24);
	tp_done(&t);
	save("v4_udp_frag_later", &t);

	/* IPv4 with options, padded to the Ethernet minimum. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4_opt(&t, FW_CLIENT4, FW_VIP4_A, IPPROTO_TCP, 7);
	tp_tcp(&t, 1234, 80, 0x18);
	tp_done(&t);
	tp_pad(&t, 8);
	save("v4_tcp_options_padded", &t);

	/* ICMP frag-needed quoting VIP -> client. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, FW_ROUTER4, FW_VIP4_A, IPPROTO_ICMP);
	tp_icmp(&t, 3, 4, 1400);
	tp_ip4(&t, FW_VIP4_A, FW_CLIENT4_FREE, IPPROTO_TCP);
	q = tp_put(&t, 8);
	tp_be16(q, 80);
	tp_be16(q + 2, 40000);
	tp_done(&t);
	save("v4_icmp_frag_needed", &t);

	/* IPv6: extension headers, fragment, AH, packet-too-big. */
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, FW_CLIENT6_FREE, FW_VIP6_A, 0);
	tp_ext6(&t, 0, 43, 8);
	tp_ext6(&t, 43, 60, 16);
	tp_ext6(&t, 60, IPPROTO_TCP, 8);
	tp_tcp(&t, 999, 443, 0x10);
	tp_done(&t);
	save("v6_ext_chain", &t);
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, FW_CLIENT6_FREE, FW_VIP6_A, 44);
	tp_frag6(&t, IPPROTO_UDP, 0, 1);
	tp_udp(&t, 4444, 53);
	tp_payload(&t, 8);
	tp_done(&t);
	save("v6_udp_frag_first", &t);
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, FW_CLIENT6_FREE, FW_VIP6_B, 51);
	tp_ext6(&t, 51, IPPROTO_TCP, 16);
	tp_tcp(&t, 999, 22, 0x10);
	tp_done(&t);
	save("v6_ah_tcp", &t);
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, FW_ROUTER6, FW_VIP6_A, IPPROTO_ICMPV6);
	tp_icmp(&t, 2, 0, 1280);
	tp_ip6(&t, FW_VIP6_A, FW_CLIENT6, IPPROTO_TCP);
	q = tp_put(&t, 8);
	tp_be16(q, 443);
	tp_be16(q + 2, 40000);
	tp_done(&t);
	save("v6_icmp_ptb", &t);

	/* Encapsulated frames, for the decap side: IPIP, 6in6 tagged. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	ip = tp_ip4(&t, FW_ENCAP_SRC4, FW_BACKEND4, IPPROTO_IPIP);
	tp_ip4_frag(ip, 0x4000);
	tp_ip4(&t, FW_CLIENT4, FW_VIP4_A, IPPROTO_TCP);
	tp_tcp(&t, 40000, 80, 0x10);
	tp_done(&t);
	save("enc_ipip", &t);
	tp_init(&t);
	tp_l2(&t, 6, 1, 7);
	tp_ip6(&t, FW_ENCAP_SRC6, FW_BACKEND6, IPPROTO_IPV6);
	tp_ip6(&t, FW_CLIENT6, FW_VIP6_A, IPPROTO_UDP);
	tp_udp(&t, 1, 443);
	tp_payload(&t, 4);
	tp_done(&t);
	save("enc_ip6ip6_vlan", &t);

	/* Not IP. */
	tp_init(&t);
	tp_eth(&t, 0x0806);
	tp_payload(&t, 46);
	save("arp", &t);
	return 0;
}
