/* tests/unit/test_select.c: cmocka tests of common/select.h and common/pipeline.h (VIP lookup, pins, conntrack, ring, verdicts) over tests/lib/mem_tables.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "tests/lib/mem_tables.h"
#include "common/pipeline.h"
#include "tests/fuzz/testpkt.h"

#define V4 "203.0.113.1"
#define V4B "203.0.113.2"
#define V6 "2001:db8:f::1"
#define C4 "198.51.100.10"
#define C6 "2001:db8:c::10"
#define R4 "192.0.2.254"
#define R6 "2001:db8:e::fe"

#define RING_M 31 /* a small prime */
#define NB FERRY_NO_BACKEND

static struct lb_tables *T;
static struct lb_config CFG;

/* ---- building the world ------------------------------------------------ */

static void be(__u32 id, int family, const char *addr, __u8 state,
	       __u32 cookie)
{
	struct lb_backend *b = &T->backend[id];

	memset(b, 0, sizeof(*b));
	tp_addr(&b->addr, family, addr);
	b->family = (__u8)family;
	b->state = state;
	b->cookie = cookie;
	b->node = (__u16)id;
}

/* A ring of size slots cycling through ids. */
static void ring(__u32 idx, __u32 size, const __u32 *ids, unsigned int n)
{
	__u32 slots[RING_M * 16];

	assert_true(size <= sizeof(slots) / sizeof(slots[0]));
	for (__u32 i = 0; i < size; i++)
		slots[i] = ids[i % n];
	assert_int_equal(mem_set_ring(T, idx, slots, size), 0);
}

static void ring1(__u32 idx, __u32 id)
{
	ring(idx, RING_M, &id, 1);
}

static void vip(int family, const char *addr, __u16 port, __u8 proto,
		__u32 id, __u32 flags, __u32 ring_idx, __u32 ring_size)
{
	struct lb_vip_key k;
	struct lb_vip v = { .id = id, .flags = flags, .ring = ring_idx,
			    .ring_size = ring_size };

	memset(&k, 0, sizeof(k));
	tp_addr(&k.addr, family, addr);
	k.port = htons(port);
	k.proto = proto;
	k.family = (__u8)family;
	assert_int_equal(mem_add_vip(T, &k, &v), 0);
}

static void pin(__u32 vip_id, int family, const char *addr, __u32 bits,
		__u32 backend, __u32 pin_id, __u32 action)
{
	struct lb_pin_key k;
	struct lb_pin p = { .backend = backend, .id = pin_id,
			    .action = action };

	memset(&k, 0, sizeof(k));
	k.prefixlen = 32 + bits;
	k.vip_id = vip_id;
	tp_addr(&k.addr, family, addr);
	assert_int_equal(mem_add_pin(T, &k, &p), 0);
}

static int setup(void **state)
{
	(void)state;
	T = mem_tables_new();
	assert_non_null(T);
	T->seed = 0x5eed;
	memset(&CFG, 0, sizeof(CFG));
	CFG.flags = LB_CFG_READY;
	CFG.mtu = FERRY_DEFAULT_MTU;
	be(1, 4, "10.1.0.1", LB_BE_ACTIVE, 101);
	be(2, 4, "10.1.0.2", LB_BE_ACTIVE, 102);
	be(3, 6, "2001:db8:b::3", LB_BE_ACTIVE, 103);
	be(4, 4, "10.1.0.4", LB_BE_ACTIVE, 104);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mem_tables_free(T);
	T = NULL;
	return 0;
}

/* ---- frames ------------------------------------------------------------- */

static void frame(struct tp *t, int family, const char *src, const char *dst,
		  __u8 proto, __u16 sport, __u16 dport, __u8 flags)
{
	tp_init(t);
	tp_l2(t, family, 0, 0);
	if (family == 4)
		tp_ip4(t, src, dst, proto);
	else
		tp_ip6(t, src, dst, proto);
	if (proto == IPPROTO_TCP)
		tp_tcp(t, sport, dport, flags);
	else
		tp_udp(t, sport, dport);
	tp_payload(t, 16);
	tp_done(t);
}

static void udp4(struct tp *t, const char *src, __u16 sport, const char *dst,
		 __u16 dport)
{
	frame(t, 4, src, dst, IPPROTO_UDP, sport, dport, 0);
}

static void tcp4(struct tp *t, const char *src, __u16 sport, const char *dst,
		 __u16 dport, __u8 flags)
{
	frame(t, 4, src, dst, IPPROTO_TCP, sport, dport, flags);
}

/* IPv4 UDP fragment: first (ports present) or later (offset > 0). */
static void frag4(struct tp *t, const char *src, __u16 sport, const char *dst,
		  __u16 dport, __u8 proto, int later)
{
	__u8 *ip;

	tp_init(t);
	tp_l2(t, 4, 0, 0);
	ip = tp_ip4(t, src, dst, proto);
	tp_ip4_frag(ip, later ? 185 : LB_IP_MF);
	if (later) {
		tp_payload(t, 100);
	} else if (proto == IPPROTO_TCP) {
		tp_tcp(t, sport, dport, LB_TCP_ACK);
	} else {
		tp_udp(t, sport, dport);
	}
	tp_done(t);
}

static int decide_cfg(struct tp *t, const struct lb_config *cfg,
		      struct lb_result *r)
{
	__u8 *f = tp_heap(tp_frame(t), t->len);
	int v;

	memset(r, 0xa5, sizeof(*r));
	v = lb_decide(T, cfg, f, f + t->len, r);
	tp_heap_free(f);
	assert_int_equal(v, r->verdict);
	/* FORWARD iff TX, whatever the path. */
	assert_int_equal(v == LB_TX, r->reason == LB_R_FORWARD);
	return v;
}

static int decide(struct tp *t, struct lb_result *r)
{
	return decide_cfg(t, &CFG, r);
}

#define EV(name) (1u << LB_EV_##name)

static void assert_tx(struct tp *t, __u32 vip_id, __u32 backend,
		      struct lb_result *r)
{
	assert_int_equal(decide(t, r), LB_TX);
	assert_int_equal(r->reason, LB_R_FORWARD);
	assert_int_equal(r->vip_id, vip_id);
	assert_int_equal(r->backend_id, backend);
}

static void assert_drop(struct tp *t, int reason, struct lb_result *r)
{
	assert_int_equal(decide(t, r), LB_DROP);
	assert_int_equal(r->reason, reason);
}

/* ---- VIP lookup -------------------------------------------------------- */

static void test_vip_exact_then_port0(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 1, 0, 2, RING_M);
	vip(4, V4, 0, IPPROTO_TCP, 2, 0, 4, RING_M);
	vip(6, V6, 443, IPPROTO_TCP, 3, 0, 6, RING_M);
	ring1(2, 1);
	ring1(4, 2);
	ring1(6, 3);

	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 1, 1, &r);
	assert_int_equal(r.outer_len, LB_OUTER4_LEN);
	assert_int_equal(r.dst_family, LB_AF_INET);
	assert_int_equal(r.dst.v4, T->backend[1].addr.v4);
	assert_int_equal(r.pin_id, NB);
	assert_int_equal(r.hash, lb_hash_flow(&r.pkt.flow, T->seed));

	/* Another port: the port-0 entry. */
	tcp4(&t, C4, 1000, V4, 8080, LB_TCP_SYN);
	assert_tx(&t, 2, 2, &r);

	/* Another protocol, another address: not a VIP. */
	udp4(&t, C4, 1000, V4, 80);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);
	assert_int_equal(r.vip_id, NB);
	assert_int_equal(r.backend_id, NB);
	tcp4(&t, C4, 1000, V4B, 80, LB_TCP_SYN);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);

	/* IPv6, to an IPv6 backend. */
	frame(&t, 6, C6, V6, IPPROTO_TCP, 1000, 443, LB_TCP_SYN);
	assert_tx(&t, 3, 3, &r);
	assert_int_equal(r.outer_len, LB_OUTER6_LEN);
	assert_int_equal(r.dst_family, LB_AF_INET6);
	assert_memory_equal(&r.dst, &T->backend[3].addr, 16);
	frame(&t, 6, C6, V6, IPPROTO_TCP, 1000, 80, LB_TCP_SYN);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);

	/* The parser's own verdicts come through. */
	tp_init(&t);
	tp_eth(&t, 0x0806);
	tp_payload(&t, 28);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NON_IP);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN);
	t.len = 30;
	assert_drop(&t, LB_R_DROP_TRUNCATED, &r);
	assert_int_equal(r.vip_id, NB);
}

static void test_frags_only(void **state)
{
	static const __u32 ids[] = { 1, 2, 4 };
	struct lb_result r;
	struct tp t;
	__u32 first;

	(void)state;
	vip(4, V4, 53, IPPROTO_UDP, 10, LB_VIP_HASH_SOURCE, 20, RING_M);
	vip(4, V4, 0, IPPROTO_UDP, 11,
	    LB_VIP_HASH_SOURCE | LB_VIP_FRAGS_ONLY, 20, RING_M);
	ring(20, RING_M, ids, 3);

	udp4(&t, C4, 3000, V4, 53);
	assert_int_equal(decide(&t, &r), LB_TX);
	assert_int_equal(r.vip_id, 10);
	first = r.backend_id;

	/* Whole packets to other ports: the frags-only entry is not theirs. */
	udp4(&t, C4, 3000, V4, 54);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);
	udp4(&t, C4, 3000, V4, 0);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);
	/* Nor first fragments (they have ports). */
	frag4(&t, C4, 3000, V4, 54, IPPROTO_UDP, 0);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);

	/* First fragment to the port: the port entry; later ones: the
	 * frags-only entry; one backend for all. */
	frag4(&t, C4, 3000, V4, 53, IPPROTO_UDP, 0);
	assert_tx(&t, 10, first, &r);
	frag4(&t, C4, 0, V4, 0, IPPROTO_UDP, 1);
	assert_tx(&t, 11, first, &r);
	assert_int_equal(r.pkt.frag, LB_FRAG_LATER);

	/* Later fragments of TCP are not matched by a UDP entry. */
	frag4(&t, C4, 0, V4, 0, IPPROTO_TCP, 1);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);
}

/* ---- pins ------------------------------------------------------------ */

static void test_pin_longest_prefix(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 20, LB_VIP_HAS_PINS, 40, RING_M);
	vip(4, V4B, 80, IPPROTO_TCP, 21, 0, 42, RING_M);
	vip(6, V6, 80, IPPROTO_TCP, 22, LB_VIP_HAS_PINS, 44, RING_M);
	ring1(40, 1);
	ring1(42, 1);
	ring1(44, 3);
	pin(20, 4, "192.0.2.0", 24, 2, 7, LB_PIN_FORWARD);
	pin(20, 4, "192.0.2.7", 32, 4, 8, LB_PIN_FORWARD);
	pin(21, 4, "198.51.100.0", 24, 2, 9, LB_PIN_FORWARD);
	pin(22, 6, "2001:db8:c::", 64, 1, 10, LB_PIN_FORWARD);

	/* /32 beats /24. */
	tcp4(&t, "192.0.2.7", 1000, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 20, 4, &r);
	assert_int_equal(r.pin_id, 8);
	assert_true(r.events & EV(PIN_HIT));
	assert_int_equal(r.dst.v4, T->backend[4].addr.v4);
	/* /24 for its neighbours. */
	tcp4(&t, "192.0.2.8", 1000, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 20, 2, &r);
	assert_int_equal(r.pin_id, 7);
	/* Outside every prefix: the ring. */
	tcp4(&t, "192.0.3.7", 1000, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 20, 1, &r);
	assert_int_equal(r.pin_id, NB);
	assert_false(r.events & EV(PIN_HIT));
	/* A pin is scoped to its VIP... */
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 20, 1, &r);
	/* ... and not consulted for a VIP without pins. */
	tcp4(&t, C4, 1000, V4B, 80, LB_TCP_SYN);
	assert_tx(&t, 21, 1, &r);
	assert_int_equal(r.pin_id, NB);
	/* IPv6 /64: a v6 client pinned to a v4 backend (4in6 the other way). */
	frame(&t, 6, C6, V6, IPPROTO_TCP, 1000, 80, LB_TCP_SYN);
	assert_tx(&t, 22, 1, &r);
	assert_int_equal(r.pin_id, 10);
	assert_int_equal(r.outer_len, LB_OUTER4_LEN);
	frame(&t, 6, "2001:db8:d::10", V6, IPPROTO_TCP, 1000, 80, LB_TCP_SYN);
	assert_tx(&t, 22, 3, &r);
	assert_int_equal(r.pin_id, NB);
}

/* Pin first, then conntrack: a pin added later wins over the entry. */
static void test_pin_before_conntrack(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 20, LB_VIP_HAS_PINS, 40, RING_M);
	ring1(40, 1);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 20, 1, &r);
	assert_int_equal(r.new_flow, 1);
	pin(20, 4, C4, 32, 2, 3, LB_PIN_FORWARD);
	assert_tx(&t, 20, 2, &r);
	assert_false(r.events & EV(CT_HIT));
}

static void test_pin_hold(void **state)
{
	struct lb_result r;
	struct tp t;
	unsigned int n;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 20, LB_VIP_HAS_PINS, 40, RING_M);
	ring1(40, 1);
	pin(20, 4, "192.0.2.0", 24, 2, 7, LB_PIN_HOLD);
	n = T->nflows;
	tcp4(&t, "192.0.2.99", 1000, V4, 80, LB_TCP_SYN);
	assert_drop(&t, LB_R_DROP_PIN_HOLD, &r);
	assert_int_equal(r.vip_id, 20);
	assert_int_equal(r.pin_id, 7);
	assert_int_equal(r.backend_id, NB);
	assert_int_equal(T->nflows, n);
	/* An existing conntrack entry does not get round a hold. */
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 20, 1, &r);
	pin(20, 4, C4, 32, 2, 8, LB_PIN_HOLD);
	assert_drop(&t, LB_R_DROP_PIN_HOLD, &r);
}

static void test_pin_rehash(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 20, LB_VIP_HAS_PINS, 40, RING_M);
	ring1(40, 1);
	pin(20, 4, "192.0.2.0", 24, 2, 7, LB_PIN_REHASH);
	tcp4(&t, "192.0.2.99", 1000, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 20, 1, &r);
	assert_int_equal(r.pin_id, 7);
	assert_true(r.events & EV(PIN_REHASH));
	assert_false(r.events & EV(PIN_HIT));
	assert_int_equal(r.new_flow, 1);
}

static void test_pin_to_empty_slot(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 20, LB_VIP_HAS_PINS, 40, RING_M);
	ring1(40, 1);
	pin(20, 4, C4, 32, 9, 7, LB_PIN_FORWARD); /* backend 9: unused */
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN);
	assert_drop(&t, LB_R_DROP_NO_BACKEND, &r);
	assert_int_equal(r.pin_id, 7);
	pin(20, 4, "192.0.2.1", 32, MEM_MAX_BACKENDS + 5, 8, LB_PIN_FORWARD);
	tcp4(&t, "192.0.2.1", 1000, V4, 80, LB_TCP_SYN);
	assert_drop(&t, LB_R_DROP_NO_BACKEND, &r);
}

/* ---- conntrack ----------------------------------------------------------- */

static void test_ct_keeps_backend(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 30, 0, 60, RING_M);
	vip(4, V4, 53, IPPROTO_UDP, 31, 0, 62, RING_M);
	ring1(60, 1);
	ring1(62, 1);

	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 1, &r);
	assert_int_equal(r.new_flow, 1);
	assert_true(r.events & EV(CT_MISS_TCP));
	assert_non_null(lb_tbl_flow(T, &r.pkt.flow, 0));
	assert_int_equal(lb_tbl_flow(T, &r.pkt.flow, 0)->backend, 1);
	assert_int_equal(lb_tbl_flow(T, &r.pkt.flow, 0)->cookie, 101);

	udp4(&t, C4, 1000, V4, 53);
	assert_tx(&t, 31, 1, &r);
	assert_true(r.events & EV(CT_MISS_UDP));

	/* The ring moves; the flows stay. */
	ring1(60, 2);
	ring1(62, 2);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 1, &r);
	assert_int_equal(r.new_flow, 0);
	assert_int_equal(r.events, EV(CT_HIT));
	udp4(&t, C4, 1000, V4, 53);
	assert_tx(&t, 31, 1, &r);
	assert_int_equal(r.events, EV(CT_HIT));
	/* A new flow follows the ring. */
	tcp4(&t, C4, 1001, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 2, &r);
	assert_int_equal(r.new_flow, 1);
}

static void ct_reselect(__u8 state)
{
	struct lb_result r;
	struct tp t;

	vip(4, V4, 80, IPPROTO_TCP, 30, 0, 60, RING_M);
	ring1(60, 1);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 1, &r);
	ring1(60, 2);
	T->backend[1].state = state;
	assert_tx(&t, 30, 2, &r);
	assert_true(r.events & EV(CT_RESELECT));
	assert_false(r.events & EV(CT_HIT));
	assert_int_equal(r.new_flow, 1);
	assert_int_equal(lb_tbl_flow(T, &r.pkt.flow, 0)->backend, 2);
	/* The flow stays on its new backend when the old one returns. */
	T->backend[1].state = LB_BE_ACTIVE;
	ring1(60, 1);
	assert_tx(&t, 30, 2, &r);
	assert_true(r.events & EV(CT_HIT));
}

static void test_ct_down_reselect(void **state)
{
	(void)state;
	ct_reselect(LB_BE_DOWN);
}

static void test_ct_maint_reselect(void **state)
{
	(void)state;
	ct_reselect(LB_BE_MAINT);
}

static void test_ct_none_reselect(void **state)
{
	(void)state;
	ct_reselect(LB_BE_NONE);
}

static void test_draining(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 30, 0, 60, RING_M);
	ring1(60, 1);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 1, &r);
	/* Backend 1 drains: out of the ring, its flows kept. */
	T->backend[1].state = LB_BE_DRAINING;
	ring1(60, 2);
	assert_tx(&t, 30, 1, &r);
	assert_int_equal(r.events, EV(CT_HIT));
	/* A SYN is a new flow: not to the draining backend. */
	tcp4(&t, C4, 1001, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 30, 2, &r);
	tcp4(&t, C4, 1002, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 2, &r);
}

static void test_cookie_mismatch(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 30, 0, 60, RING_M);
	ring1(60, 1);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 1, &r);
	/* Slot 1 reused for another node: the entry is stale. */
	be(1, 4, "10.9.9.9", LB_BE_ACTIVE, 999);
	ring1(60, 2);
	assert_tx(&t, 30, 2, &r);
	assert_true(r.events & EV(CT_RESELECT));
	assert_int_equal(lb_tbl_flow(T, &r.pkt.flow, 0)->cookie, 102);
}

static void test_syn_skips_conntrack(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 30, 0, 60, RING_M);
	ring1(60, 1);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_ACK);
	assert_tx(&t, 30, 1, &r);
	ring1(60, 2);
	/* A SYN for the same 5-tuple (a reused port): the ring, not the
	 * entry, and the entry now says so. */
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN);
	assert_tx(&t, 30, 2, &r);
	assert_int_equal(r.events, EV(CT_MISS_SYN));
	assert_int_equal(r.new_flow, 1);
	assert_int_equal(lb_tbl_flow(T, &r.pkt.flow, 0)->backend, 2);
	/* SYN|ACK is no SYN: the entry is used. */
	ring1(60, 4);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN | LB_TCP_ACK);
	assert_tx(&t, 30, 2, &r);
	assert_int_equal(r.events, EV(CT_HIT));
	/* A SYN with other flags (ECE, CWR) is a SYN. */
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN | 0xc0);
	assert_tx(&t, 30, 4, &r);
	assert_int_equal(r.events, EV(CT_MISS_SYN));
}

static void test_icmp_no_conntrack_entry(void **state)
{
	struct lb_result r;
	struct tp t;
	unsigned int n;
	__u8 *q;

	(void)state;
	vip(4, V4, 443, IPPROTO_TCP, 30, 0, 60, RING_M);
	vip(6, V6, 443, IPPROTO_TCP, 31, 0, 62, RING_M);
	ring1(60, 1);
	ring1(62, 3);
	tcp4(&t, C4, 51000, V4, 443, LB_TCP_ACK);
	assert_tx(&t, 30, 1, &r);
	frame(&t, 6, C6, V6, IPPROTO_TCP, 51000, 443, LB_TCP_ACK);
	assert_tx(&t, 31, 3, &r);
	ring1(60, 2);
	ring1(62, 1);
	n = T->nflows;

	/* Frag-needed for the known flow: its backend, nothing recorded. */
	for (int known = 1; known >= 0; known--) {
		tp_init(&t);
		tp_l2(&t, 4, 0, 0);
		tp_ip4(&t, R4, V4, IPPROTO_ICMP);
		tp_icmp(&t, 3, 4, 1400);
		tp_ip4(&t, V4, C4, IPPROTO_TCP);
		q = tp_put(&t, 8);
		tp_be16(q, 443);
		tp_be16(q + 2, known ? 51000 : 52000);
		tp_done(&t);
		assert_tx(&t, 30, known ? 1 : 2, &r);
		assert_true(r.events & EV(ICMP_STEERED));
		assert_int_equal(!!(r.events & EV(CT_HIT)), known);
		assert_int_equal(r.new_flow, 0);
		assert_int_equal(T->nflows, n);
		assert_int_equal(r.pkt.ip_len, 56);
	}
	/* Packet-too-big likewise. */
	for (int known = 1; known >= 0; known--) {
		tp_init(&t);
		tp_l2(&t, 6, 0, 0);
		tp_ip6(&t, R6, V6, IPPROTO_ICMPV6);
		tp_icmp(&t, LB_ICMPV6_PKT_TOOBIG, 0, 1280);
		tp_ip6(&t, V6, C6, IPPROTO_TCP);
		q = tp_put(&t, 8);
		tp_be16(q, 443);
		tp_be16(q + 2, known ? 51000 : 52000);
		tp_done(&t);
		assert_tx(&t, 31, known ? 3 : 1, &r);
		assert_true(r.events & EV(ICMP_STEERED));
		assert_int_equal(r.new_flow, 0);
		assert_int_equal(T->nflows, n);
	}
}

/* ---- no backend ----------------------------------------------------------- */

static void test_no_backend(void **state)
{
	static const __u32 empty[] = { NB };
	static const __u32 unused[] = { 9 };
	static const __u32 huge[] = { MEM_MAX_BACKENDS + 1 };
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 1, IPPROTO_UDP, 40, 0, 80, 0); /* ring_size 0 */
	vip(4, V4, 2, IPPROTO_UDP, 41, 0, 82, RING_M); /* empty slots */
	vip(4, V4, 3, IPPROTO_UDP, 42, 0, 84, RING_M); /* no ring there */
	vip(4, V4, 4, IPPROTO_UDP, 43, 0, 86, RING_M); /* unused slot */
	vip(4, V4, 5, IPPROTO_UDP, 44, 0, 88, RING_M); /* id out of range */
	vip(4, V4, 6, IPPROTO_UDP, 45, LB_VIP_HASH_SOURCE, 80, 0);
	ring1(80, 1); /* there, but the VIP says size 0 */
	ring(82, RING_M, empty, 1);
	ring(86, RING_M, unused, 1);
	ring(88, RING_M, huge, 1);
	for (__u16 port = 1; port <= 6; port++) {
		udp4(&t, C4, 1000, V4, port);
		assert_drop(&t, LB_R_DROP_NO_BACKEND, &r);
		assert_int_equal(r.vip_id, 39 + port);
		assert_int_equal(r.backend_id, NB);
		assert_int_equal(r.new_flow, 0);
	}
	assert_int_equal(T->nflows, 0);
}

/* ---- fragments, source hash ---------------------------------------------- */

static void test_fragments_of_5tuple_vip(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 50, 0, 100, RING_M);
	vip(4, V4, 0, IPPROTO_UDP, 51, 0, 102, RING_M);
	vip(6, V6, 0, IPPROTO_UDP, 52, 0, 104, RING_M);
	ring1(100, 1);
	ring1(102, 1);
	ring1(104, 3);

	frag4(&t, C4, 1000, V4, 80, IPPROTO_TCP, 0);
	assert_drop(&t, LB_R_DROP_FRAGMENT, &r);
	assert_int_equal(r.vip_id, 50);
	frag4(&t, C4, 1000, V4, 53, IPPROTO_UDP, 0);
	assert_drop(&t, LB_R_DROP_FRAGMENT, &r);
	assert_int_equal(r.vip_id, 51);
	frag4(&t, C4, 0, V4, 0, IPPROTO_UDP, 1);
	assert_drop(&t, LB_R_DROP_FRAGMENT, &r);
	assert_int_equal(r.vip_id, 51);
	/* Later TCP fragments have no port: no port-80 VIP for them. */
	frag4(&t, C4, 0, V4, 0, IPPROTO_TCP, 1);
	assert_int_equal(decide(&t, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);
	/* IPv6 fragments. */
	for (int later = 0; later <= 1; later++) {
		tp_init(&t);
		tp_l2(&t, 6, 0, 0);
		tp_ip6(&t, C6, V6, 44);
		tp_frag6(&t, IPPROTO_UDP, later ? 100 : 0, 1);
		tp_udp(&t, 1000, 53);
		tp_done(&t);
		assert_drop(&t, LB_R_DROP_FRAGMENT, &r);
		assert_int_equal(r.vip_id, 52);
	}
	assert_int_equal(T->nflows, 0);
}

static void test_hash_source(void **state)
{
	static const __u32 ids[] = { 1, 2, 4 };
	struct lb_result r;
	struct lb_flow_key k;
	struct tp t;
	__u32 b0, seen = 0;
	char client[32];

	(void)state;
	vip(4, V4, 0, IPPROTO_UDP, 60, LB_VIP_HASH_SOURCE, 120, 251);
	ring(120, 251, ids, 3);

	udp4(&t, C4, 1000, V4, 53);
	assert_int_equal(decide(&t, &r), LB_TX);
	b0 = r.backend_id;
	/* The key as the core used it: ports zero. */
	assert_int_equal(r.pkt.flow.sport, 0);
	assert_int_equal(r.pkt.flow.dport, 0);
	assert_int_equal(r.hash, lb_hash_source(&r.pkt.flow, T->seed));
	assert_int_equal(r.hash % 251 % 3, b0 == 1 ? 0 : b0 == 2 ? 1 : 2);
	k = r.pkt.flow;
	assert_non_null(lb_tbl_flow(T, &k, 0));
	/* Every port of the peer: the same backend, one conntrack entry. */
	for (__u16 p = 1; p < 200; p += 7) {
		udp4(&t, C4, p, V4, (__u16)(p * 3 + 1));
		assert_tx(&t, 60, b0, &r);
	}
	assert_int_equal(T->nflows, 1);
	/* With conntrack out of the way (ring alone), still the same. */
	T->nflows = 0;
	for (__u16 p = 1; p < 200; p += 7) {
		udp4(&t, C4, (__u16)(p * 5), V4, p);
		assert_tx(&t, 60, b0, &r);
		T->nflows = 0;
	}
	/* Fragments, first and later. */
	frag4(&t, C4, 777, V4, 4444, IPPROTO_UDP, 0);
	assert_tx(&t, 60, b0, &r);
	T->nflows = 0;
	frag4(&t, C4, 0, V4, 0, IPPROTO_UDP, 1);
	assert_tx(&t, 60, b0, &r);
	/* Peers spread over the backends. */
	for (int i = 1; i <= 64; i++) {
		snprintf(client, sizeof(client), "198.51.100.%d", i);
		udp4(&t, client, 1000, V4, 53);
		assert_int_equal(decide(&t, &r), LB_TX);
		seen |= 1u << r.backend_id;
	}
	assert_int_equal(seen, (1u << 1) | (1u << 2) | (1u << 4));
}

/* ---- config, MTU ---------------------------------------------------------- */

static void test_config_not_ready(void **state)
{
	struct lb_config cfg = CFG;
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 80, IPPROTO_TCP, 70, 0, 70, RING_M);
	ring1(70, 1);
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN);
	cfg.flags = 0;
	assert_int_equal(decide_cfg(&t, &cfg, &r), LB_DROP);
	assert_int_equal(r.reason, LB_R_DROP_NO_BACKEND);
	assert_int_equal(r.vip_id, 70);
	assert_int_equal(decide_cfg(&t, NULL, &r), LB_DROP);
	assert_int_equal(r.reason, LB_R_DROP_NO_BACKEND);
	assert_int_equal(T->nflows, 0);
	/* Non-VIP traffic still passes. */
	tcp4(&t, C4, 1000, V4B, 80, LB_TCP_SYN);
	assert_int_equal(decide_cfg(&t, NULL, &r), LB_PASS);
	assert_int_equal(r.reason, LB_R_PASS_NOT_VIP);
	/* Ready again. */
	tcp4(&t, C4, 1000, V4, 80, LB_TCP_SYN);
	assert_int_equal(decide_cfg(&t, &CFG, &r), LB_TX);
}

static void sized(struct tp *t, int family, size_t ip_len)
{
	size_t hdr = family == 4 ? 20 + 8 : 40 + 8;

	tp_init(t);
	tp_l2(t, family, 0, 0);
	if (family == 4)
		tp_ip4(t, C4, V4, IPPROTO_UDP);
	else
		tp_ip6(t, C6, V6, IPPROTO_UDP);
	tp_udp(t, 1000, 53);
	tp_payload(t, ip_len - hdr);
	tp_done(t);
}

static void test_mtu(void **state)
{
	struct lb_result r;
	struct tp t;

	(void)state;
	vip(4, V4, 53, IPPROTO_UDP, 80, 0, 90, RING_M);
	vip(6, V6, 53, IPPROTO_UDP, 81, 0, 92, RING_M);
	ring1(90, 1); /* IPv4 backend: 20 bytes */
	ring1(92, 3); /* IPv6 backend: 40 bytes */
	sized(&t, 4, 1480);
	assert_tx(&t, 80, 1, &r);
	assert_int_equal(r.pkt.ip_len, 1480);
	sized(&t, 4, 1481);
	assert_drop(&t, LB_R_DROP_TOO_BIG, &r);
	assert_int_equal(r.backend_id, 1);
	sized(&t, 6, 1460);
	assert_tx(&t, 81, 3, &r);
	sized(&t, 6, 1461);
	assert_drop(&t, LB_R_DROP_TOO_BIG, &r);
	/* Padding does not count. */
	sized(&t, 4, 1480);
	tp_pad(&t, 10);
	assert_tx(&t, 80, 1, &r);
}

/* An IPv6 packet longer than 65535 bytes in all must not wrap round to
 * a small length and be sent on. */
static void test_mtu_huge_ipv6(void **state)
{
	size_t len = 14 + 40 + 65535;
	struct lb_result r;
	__u8 *f = calloc(1, len + 2), *p = f + 2;
	struct tp t;

	(void)state;
	vip(6, V6, 53, IPPROTO_UDP, 81, 0, 92, RING_M);
	ring1(92, 3);
	CFG.mtu = 0xffff;
	sized(&t, 6, 40 + 8 + 16);
	memcpy(p, tp_frame(&t), t.len);
	tp_be16(p + 18, 65535);
	assert_int_equal(lb_decide(T, &CFG, p, p + len, &r), LB_DROP);
	assert_int_equal(r.reason, LB_R_DROP_TOO_BIG);
	free(f);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T_(test_vip_exact_then_port0),
		T_(test_frags_only),
		T_(test_pin_longest_prefix),
		T_(test_pin_before_conntrack),
		T_(test_pin_hold),
		T_(test_pin_rehash),
		T_(test_pin_to_empty_slot),
		T_(test_ct_keeps_backend),
		T_(test_ct_down_reselect),
		T_(test_ct_maint_reselect),
		T_(test_ct_none_reselect),
		T_(test_draining),
		T_(test_cookie_mismatch),
		T_(test_syn_skips_conntrack),
		T_(test_icmp_no_conntrack_entry),
		T_(test_no_backend),
		T_(test_fragments_of_5tuple_vip),
		T_(test_hash_source),
		T_(test_config_not_ready),
		T_(test_mtu),
		T_(test_mtu_huge_ipv6),
	};
#undef T_

	return cmocka_run_group_tests_name("select", tests, NULL, NULL);
}
