/* tests/unit/test_encap.c: cmocka tests of common/encap.h, common/decap.h and common/csum.h (outer headers, DSCP/DF/flow label, VLAN, round trips, malformed outers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/lib/mem_tables.h"
#include "common/pipeline.h"
#include "common/decap.h"
#include "tests/fuzz/testpkt.h"

#define C4 "198.51.100.10"
#define V4 "203.0.113.1"
#define C6 "2001:db8:c::10"
#define V6 "2001:db8:f::1"
#define B4 "10.1.0.1"
#define B6 "2001:db8:b::1"
#define S4 "10.0.0.254"
#define S6 "2001:db8:a::fe"

static const __u8 SRC_MAC[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };
static const __u8 DST_MAC[6] = { 0x02, 0xbb, 0, 0, 0, 0x02 };

static struct lb_config cfg(void)
{
	struct lb_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.src_mac, SRC_MAC, 6);
	memcpy(c.dst_mac, DST_MAC, 6);
	c.mtu = 9000;
	c.flags = LB_CFG_READY;
	tp_addr(&c.encap_src_v4, 4, S4);
	tp_addr(&c.encap_src_v6, 6, S6);
	return c;
}

/* An inner frame: family 4/6, tagged or not, a TOS, IPv4 flags. */
static void inner(struct tp *t, int family, int vlan, __u8 tos,
		  __u16 frag_off, size_t payload)
{
	__u8 *ip;

	tp_init(t);
	tp_l2(t, family, vlan, 0x0123);
	if (family == 4) {
		ip = tp_ip4(t, C4, V4, IPPROTO_TCP);
		tp_ip4_frag(ip, frag_off);
	} else {
		ip = tp_ip6(t, C6, V6, IPPROTO_TCP);
	}
	tp_set_tos(ip, tos);
	tp_tcp(t, 40000, 443, LB_TCP_ACK);
	tp_payload(t, payload);
	tp_done(t);
}

/* The decision for a frame to a backend of family bf: parse, then the
 * pipeline's own encap plan. */
static void plan(struct tp *t, int bf, __u32 hash, struct lb_result *r)
{
	struct lb_config c = cfg();
	struct lb_backend b;

	memset(&b, 0, sizeof(b));
	b.family = (__u8)bf;
	b.state = LB_BE_ACTIVE;
	tp_addr(&b.addr, bf, bf == 4 ? B4 : B6);
	lb_result_init(r);
	assert_int_equal(lb_parse(tp_frame(t), tp_frame(t) + t->len, &r->pkt),
			 LB_CONTINUE);
	r->hash = hash;
	assert_int_equal(lb_plan_encap(&c, &b, r), LB_TX);
	assert_int_equal(r->outer_len, bf == 4 ? LB_OUTER4_LEN : LB_OUTER6_LEN);
}

/* What an engine does: grow the front by outer_len (a fresh exact-size
 * heap frame, so ASan sees overruns), then lb_encap(). */
static __u8 *encap(struct tp *t, const struct lb_result *r, size_t *len,
		   int *rc)
{
	struct lb_config c = cfg();
	__u8 *f;

	*len = t->len + r->outer_len;
	f = malloc(*len + 2);
	assert_non_null(f);
	f += 2;
	memset(f, 0xee, r->outer_len);
	memcpy(f + r->outer_len, tp_frame(t), t->len);
	*rc = lb_encap(f, f + *len, r, &c);
	return f;
}

static __u16 get16(const __u8 *p)
{
	return tp_get16(p);
}

/* Sum of the 16-bit words of an IPv4 header, folded: 0xffff if valid. */
static __u16 ip4_sum(const __u8 *p)
{
	__u32 sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += get16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The checks every encapsulated frame passes. */
static void check_outer(struct tp *t, const struct lb_result *r,
			const __u8 *o, size_t len)
{
	size_t l2 = r->pkt.has_vlan ? 18 : 14;
	const __u8 *ip = o + l2;
	union lb_addr a;

	assert_int_equal(len, t->len + r->outer_len);
	assert_memory_equal(o, DST_MAC, 6);
	assert_memory_equal(o + 6, SRC_MAC, 6);
	if (r->pkt.has_vlan) {
		assert_int_equal(get16(o + 12), 0x8100);
		assert_int_equal(get16(o + 14), 0x0123);
	}
	assert_int_equal(get16(o + l2 - 2),
			 r->dst_family == 4 ? 0x0800 : 0x86dd);
	/* The inner packet and anything after it, untouched. */
	assert_memory_equal(ip + r->outer_len, tp_frame(t) + l2, t->len - l2);
	if (r->dst_family == 4) {
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[1], r->pkt.tos);
		assert_int_equal(get16(ip + 2), r->pkt.ip_len + 20);
		assert_int_equal(get16(ip + 4), 0);
		assert_int_equal(get16(ip + 6), r->pkt.df ? 0x4000 : 0);
		assert_int_equal(ip[8], FERRY_ENCAP_TTL);
		assert_int_equal(ip[9], r->pkt.flow.family == 4 ? 4 : 41);
		assert_int_equal(ip4_sum(ip), 0xffff);
		tp_addr(&a, 4, S4);
		assert_memory_equal(ip + 12, &a, 4);
		tp_addr(&a, 4, B4);
		assert_memory_equal(ip + 16, &a, 4);
	} else {
		__u32 label = (__u32)(ip[1] & 0xf) << 16 | get16(ip + 2);

		assert_int_equal(ip[0] >> 4, 6);
		assert_int_equal((ip[0] & 0xf) << 4 | ip[1] >> 4, r->pkt.tos);
		assert_int_equal(label, r->hash & 0xfffff);
		assert_int_equal(get16(ip + 4), r->pkt.ip_len);
		assert_int_equal(ip[6], r->pkt.flow.family == 4 ? 4 : 41);
		assert_int_equal(ip[7], FERRY_ENCAP_TTL);
		tp_addr(&a, 6, S6);
		assert_memory_equal(ip + 8, &a, 16);
		tp_addr(&a, 6, B6);
		assert_memory_equal(ip + 24, &a, 16);
	}
}

/* ---- csum ------------------------------------------------------------- */

static void test_csum(void **state)
{
	/* The usual worked example: checksum 0xb861. */
	__u8 h[20] __attribute__((aligned(4))) = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
		       0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
		       0xc0, 0xa8, 0x00, 0xc7 };
	__u16 c;

	(void)state;
	c = lb_csum_ipv4_hdr(h);
	memcpy(h + 10, &c, 2);
	assert_int_equal(h[10], 0xb8);
	assert_int_equal(h[11], 0x61);
	assert_int_equal(ip4_sum(h), 0xffff);

	/* Carries folded twice: all ones sums to 0xffff -> 0. */
	memset(h, 0xff, sizeof(h));
	memset(h + 10, 0, 2);
	assert_int_equal(lb_csum_ipv4_hdr(h), 0);
	memset(h, 0, sizeof(h));
	assert_int_equal(lb_csum_ipv4_hdr(h), 0xffff);
	assert_int_equal(lb_csum_fold(0), 0xffff);
	assert_int_equal(lb_csum_fold(0xffff), 0);
	assert_int_equal(lb_csum_fold(0x1fffe), 0);
	assert_int_equal(lb_csum_fold(0xffffffff), 0);
	assert_int_equal(lb_csum_fold(0x00010000), 0xfffe);

	/* Random headers: what it writes verifies. */
	for (int i = 0; i < 1000; i++) {
		for (int j = 0; j < 20; j++)
			h[j] = (__u8)(i * 131 + j * 17 + (i >> 3));
		memset(h + 10, 0, 2);
		c = lb_csum_ipv4_hdr(h);
		memcpy(h + 10, &c, 2);
		assert_int_equal(ip4_sum(h), 0xffff);
		assert_int_equal(tp_csum(h, 20), 0);
	}
}

/* ---- encap --------------------------------------------------------- */

static void encap_case(int inf, int outf, int vlan, __u8 tos, __u16 frag,
		       __u32 hash, size_t payload, size_t pad)
{
	struct lb_result r;
	struct tp t;
	size_t len;
	__u8 *o;
	int rc;

	inner(&t, inf, vlan, tos, frag, payload);
	tp_pad(&t, pad);
	plan(&t, outf, hash, &r);
	o = encap(&t, &r, &len, &rc);
	assert_int_equal(rc, 0);
	check_outer(&t, &r, o, len);
	free(o - 2);
}

static void test_encap_ipip(void **state)
{
	(void)state;
	encap_case(4, 4, 0, 0, 0x4000, 1, 100, 0);
	encap_case(4, 4, 0, 0, 0, 1, 0, 6);
}

static void test_encap_ip6ip6(void **state)
{
	(void)state;
	encap_case(6, 6, 0, 0, 0, 0xabcdef12, 100, 0);
	encap_case(6, 6, 0, 0, 0, 0xfffff, 0, 0);
}

static void test_encap_4in6_6in4(void **state)
{
	(void)state;
	encap_case(4, 6, 0, 0, 0x4000, 0x12345678, 10, 0);
	encap_case(6, 4, 0, 0, 0, 0x12345678, 10, 0);
}

static void test_encap_tot_len(void **state)
{
	(void)state;
	for (size_t payload = 0; payload < 1400; payload += 199) {
		encap_case(4, 4, 0, 0, 0, 5, payload, 0);
		encap_case(4, 6, 0, 0, 0, 5, payload, 0);
		encap_case(6, 4, 0, 0, 0, 5, payload, 0);
		encap_case(6, 6, 0, 0, 0, 5, payload, 0);
	}
	/* Ethernet padding is carried, not counted. */
	encap_case(4, 4, 0, 0, 0, 5, 0, 20);
	encap_case(4, 6, 1, 0, 0, 5, 0, 20);
}

/* DSCP and ECN copied to the outer header, every combination. */
static void test_encap_dscp(void **state)
{
	static const __u8 tos[] = { 0x00, 0xb8, 0x28, 0x01, 0x02, 0x03,
				    0xfc, 0xff, 0x10 };

	(void)state;
	for (size_t i = 0; i < sizeof(tos); i++)
		for (int inf = 4; inf <= 6; inf += 2)
			for (int outf = 4; outf <= 6; outf += 2)
				encap_case(inf, outf, 0, tos[i], 0x4000, 77,
					   20, 0);
}

static __u16 outer_frag(int inf, __u16 frag)
{
	struct lb_result r;
	struct tp t;
	size_t len;
	__u8 *o;
	__u16 v;
	int rc;

	inner(&t, inf, 0, 0, frag, 20);
	plan(&t, 4, 1, &r);
	o = encap(&t, &r, &len, &rc);
	assert_int_equal(rc, 0);
	check_outer(&t, &r, o, len);
	v = get16(o + 14 + 6);
	free(o - 2);
	return v;
}

/* Outer DF follows the inner DF (IPv6 inner: always DF); the outer is
 * never a fragment. */
static void test_encap_df(void **state)
{
	(void)state;
	assert_int_equal(outer_frag(4, 0x4000), 0x4000);
	assert_int_equal(outer_frag(4, 0), 0);
	assert_int_equal(outer_frag(6, 0), 0x4000);
}

static void test_encap_flow_label(void **state)
{
	static const __u32 h[] = { 0, 1, 0xfffff, 0x100000, 0xffffffff,
				   0xdeadbeef, 0x000abcde };

	(void)state;
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		encap_case(6, 6, 0, 0xff, 0, h[i], 10, 0);
		encap_case(4, 6, 1, 0x00, 0, h[i], 10, 0);
	}
}

static void test_encap_vlan(void **state)
{
	(void)state;
	encap_case(4, 4, 1, 0x20, 0x4000, 3, 64, 0);
	encap_case(4, 6, 1, 0x20, 0x4000, 3, 64, 0);
	encap_case(6, 4, 1, 0x20, 0, 3, 64, 0);
	encap_case(6, 6, 1, 0x20, 0, 3, 64, 0);
}

/* The writer needs LB_ENCAP_MAX_HDR bytes; less: -1, nothing written. */
static void test_encap_short(void **state)
{
	struct lb_config c = cfg();
	struct lb_result r;
	struct tp t;
	__u8 *f;

	(void)state;
	inner(&t, 4, 0, 0, 0, 0);
	plan(&t, 4, 1, &r);
	for (size_t len = 0; len < LB_ENCAP_MAX_HDR; len++) {
		f = tp_heap(tp_frame(&t), len);
		assert_int_equal(lb_encap(f, f + len, &r, &c), -1);
		assert_memory_equal(f, tp_frame(&t), len);
		tp_heap_free(f);
	}
	f = tp_heap(tp_frame(&t), LB_ENCAP_MAX_HDR);
	assert_int_equal(lb_encap(f, f + LB_ENCAP_MAX_HDR, &r, &c), 0);
	tp_heap_free(f);
}

/* ---- decap ---------------------------------------------------------- */

/* What a decap engine does; returns the plan's answer, *out the frame
 * after the front is dropped. */
static int decap(__u8 *f, size_t len, __u8 **out, size_t *out_len)
{
	struct lb_decap d;
	int n;

	memset(&d, 0, sizeof(d));
	n = lb_decap_plan(f, f + len, &d);
	if (n <= 0)
		return n;
	assert_int_equal(n, d.outer_len);
	assert_int_equal(lb_decap_write(f, f + len, &d), 0);
	*out = f + n;
	*out_len = len - (size_t)n;
	return n;
}

static void roundtrip(int inf, int outf, int vlan, size_t payload, size_t pad)
{
	struct lb_result r;
	struct tp t;
	size_t len, dlen, l2 = vlan ? 18 : 14;
	__u8 *o, *d;
	int rc;

	inner(&t, inf, vlan, 0x48, 0x4000, payload);
	tp_pad(&t, pad);
	plan(&t, outf, 0x9876543, &r);
	o = encap(&t, &r, &len, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(decap(o, len, &d, &dlen), r.outer_len);
	/* Same length, same bytes from L3 on. */
	assert_int_equal(dlen, t.len);
	assert_memory_equal(d + l2, tp_frame(&t) + l2, t.len - l2);
	/* L2: the encap's MACs, the inner ethertype, the tag kept. */
	assert_memory_equal(d, DST_MAC, 6);
	assert_memory_equal(d + 6, SRC_MAC, 6);
	assert_memory_equal(d + 12, tp_frame(&t) + 12, l2 - 12);
	/* And the core sees the same packet again. */
	{
		struct lb_pkt p;

		assert_int_equal(lb_parse(d, d + dlen, &p), LB_CONTINUE);
		assert_memory_equal(&p, &r.pkt, sizeof(p));
	}
	free(o - 2);
}

static void test_roundtrip(void **state)
{
	(void)state;
	for (int vlan = 0; vlan <= 1; vlan++)
		for (size_t pad = 0; pad <= 8; pad += 8)
			for (size_t payload = 0; payload < 600; payload += 97) {
				roundtrip(4, 4, vlan, payload, pad);
				roundtrip(4, 6, vlan, payload, pad);
				roundtrip(6, 4, vlan, payload, pad);
				roundtrip(6, 6, vlan, payload, pad);
			}
}

static int plan_only(struct tp *t)
{
	struct lb_decap d;
	__u8 *f = tp_heap(tp_frame(t), t->len);
	int n = lb_decap_plan(f, f + t->len, &d);

	assert_memory_equal(f, tp_frame(t), t->len);
	tp_heap_free(f);
	return n;
}

static void test_decap_not_encapsulated(void **state)
{
	struct tp t;

	(void)state;
	inner(&t, 4, 0, 0, 0, 100);
	assert_int_equal(plan_only(&t), 0);
	inner(&t, 6, 1, 0, 0, 100);
	assert_int_equal(plan_only(&t), 0);
	/* UDP, ICMP, GRE. */
	tp_init(&t);
	tp_l2(&t, 4, 0, 0);
	tp_ip4(&t, C4, V4, IPPROTO_UDP);
	tp_udp(&t, 1, 2);
	tp_payload(&t, 50);
	tp_done(&t);
	assert_int_equal(plan_only(&t), 0);
	tp_frame(&t)[14 + 9] = 47;
	assert_int_equal(plan_only(&t), 0);
	tp_init(&t);
	tp_l2(&t, 6, 0, 0);
	tp_ip6(&t, C6, V6, IPPROTO_ICMPV6);
	tp_payload(&t, 50);
	tp_done(&t);
	assert_int_equal(plan_only(&t), 0);
	/* ARP, plain and tagged. */
	tp_init(&t);
	tp_eth(&t, 0x0806);
	tp_payload(&t, 46);
	assert_int_equal(plan_only(&t), 0);
	tp_init(&t);
	tp_eth(&t, 0x8100);
	tp_vlan(&t, 1, 0x0806);
	tp_payload(&t, 46);
	assert_int_equal(plan_only(&t), 0);
	/* Too short to tell. */
	for (size_t len = 0; len < 34; len++) {
		inner(&t, 4, 0, 0, 0, 100);
		tp_frame(&t)[14 + 9] = IPPROTO_IPIP;
		t.len = len;
		assert_int_equal(plan_only(&t), 0);
	}
	for (size_t len = 0; len < 14 + 4 + 40; len++) {
		inner(&t, 6, 1, 0, 0, 100);
		tp_frame(&t)[18 + 6] = IPPROTO_IPV6;
		t.len = len;
		assert_int_equal(plan_only(&t), 0);
	}
}

/* An encapsulated frame, then broken in one place. */
static void outer(struct tp *t, int inf, int outf, int vlan)
{
	struct lb_result r;
	struct tp in;
	size_t len;
	__u8 *o;
	int rc;

	inner(&in, inf, vlan, 0, 0x4000, 40);
	plan(&in, outf, 1, &r);
	o = encap(&in, &r, &len, &rc);
	assert_int_equal(rc, 0);
	tp_init(t);
	tp_bytes(t, o, len);
	free(o - 2);
}

static void test_decap_malformed(void **state)
{
	struct tp t;
	size_t l3;

	(void)state;
	for (int vlan = 0; vlan <= 1; vlan++) {
		l3 = vlan ? 18 : 14;
		/* The unbroken ones decap. */
		outer(&t, 4, 4, vlan);
		assert_int_equal(plan_only(&t), 20);
		outer(&t, 6, 6, vlan);
		assert_int_equal(plan_only(&t), 40);

		/* IPv4 outer: options, version, fragments. */
		outer(&t, 6, 4, vlan);
		tp_frame(&t)[l3] = 0x46;
		assert_int_equal(plan_only(&t), -1);
		tp_frame(&t)[l3] = 0x44;
		assert_int_equal(plan_only(&t), -1);
		tp_frame(&t)[l3] = 0x55;
		assert_int_equal(plan_only(&t), -1);
		outer(&t, 4, 4, vlan);
		tp_be16(tp_frame(&t) + l3 + 6, LB_IP_MF | LB_IP_DF);
		assert_int_equal(plan_only(&t), -1);
		tp_be16(tp_frame(&t) + l3 + 6, 1);
		assert_int_equal(plan_only(&t), -1);
		/* tot_len past the frame, or leaving no inner packet. */
		outer(&t, 4, 4, vlan);
		tp_be16(tp_frame(&t) + l3 + 2, (__u16)(t.len - l3 + 1));
		assert_int_equal(plan_only(&t), -1);
		tp_be16(tp_frame(&t) + l3 + 2, 20);
		assert_int_equal(plan_only(&t), -1);
		tp_be16(tp_frame(&t) + l3 + 2, 0);
		assert_int_equal(plan_only(&t), -1);
		/* Frame cut: the outer header says more than there is. */
		outer(&t, 4, 4, vlan);
		t.len -= 1;
		assert_int_equal(plan_only(&t), -1);

		/* IPv6 outer: version, payload_len. */
		outer(&t, 4, 6, vlan);
		tp_frame(&t)[l3] = (__u8)((tp_frame(&t)[l3] & 0x0f) | 0x40);
		assert_int_equal(plan_only(&t), -1);
		outer(&t, 6, 6, vlan);
		tp_be16(tp_frame(&t) + l3 + 4, 0);
		assert_int_equal(plan_only(&t), -1);
		tp_be16(tp_frame(&t) + l3 + 4, (__u16)(t.len - l3 - 40 + 1));
		assert_int_equal(plan_only(&t), -1);
		outer(&t, 6, 6, vlan);
		t.len -= 1;
		assert_int_equal(plan_only(&t), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_encap_ipip),
		cmocka_unit_test(test_encap_ip6ip6),
		cmocka_unit_test(test_encap_4in6_6in4),
		cmocka_unit_test(test_encap_tot_len),
		cmocka_unit_test(test_encap_dscp),
		cmocka_unit_test(test_encap_df),
		cmocka_unit_test(test_encap_flow_label),
		cmocka_unit_test(test_encap_vlan),
		cmocka_unit_test(test_encap_short),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decap_not_encapsulated),
		cmocka_unit_test(test_decap_malformed),
	};

	return cmocka_run_group_tests_name("encap", tests, NULL, NULL);
}
