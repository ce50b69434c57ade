/* tests/fuzz/fuzz_world.h: the small fixed world (VIPs v4/v6, backends in every state, pins, rings) the fuzz targets and their seed corpus share. Userspace only. */
#ifndef FERRY_TESTS_FUZZ_WORLD_H
#define FERRY_TESTS_FUZZ_WORLD_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "tests/lib/mem_tables.h"

/* Addresses the corpus aims at. */
#define FW_VIP4_A "203.0.113.1" /* :80 TCP pins; :0 UDP source hash */
#define FW_VIP4_B "203.0.113.2" /* :53 UDP source hash + frags-only :0 */
#define FW_VIP4_C "203.0.113.3" /* :80 TCP, ring size 0 */
#define FW_VIP6_A "2001:db8:f::1" /* :443 TCP pins; :0 UDP source hash */
#define FW_VIP6_B "2001:db8:f::2" /* :0 TCP, a ring with holes */
#define FW_CLIENT4 "198.51.100.10" /* pinned /24 */
#define FW_CLIENT4_HOLD "198.51.100.7" /* pinned /32, hold */
#define FW_CLIENT4_REHASH "192.0.2.5" /* pinned /24, rehash */
#define FW_CLIENT4_FREE "100.64.0.9" /* no pin */
#define FW_CLIENT6 "2001:db8:c::10" /* pinned /48 */
#define FW_CLIENT6_HOLD "2001:db8:d::10" /* pinned /64, hold */
#define FW_CLIENT6_FREE "2001:db8:99::1"
#define FW_ROUTER4 "192.0.2.254"
#define FW_ROUTER6 "2001:db8:e::fe"
#define FW_ENCAP_SRC4 "10.0.0.254"
#define FW_ENCAP_SRC6 "2001:db8:a::fe"
#define FW_BACKEND4 "10.1.0.1"
#define FW_BACKEND6 "2001:db8:b::3"

#define FW_RING_M 31
#define FW_MTU 1500

static const __u8 fw_src_mac[6] = { 0x02, 0xfe, 0, 0, 0, 0x01 };
static const __u8 fw_dst_mac[6] = { 0x02, 0xfe, 0, 0, 0, 0x02 };

static inline void fw_pton(void *dst, int family, const char *s)
{
	if (inet_pton(family == LB_AF_INET6 ? AF_INET6 : AF_INET, s, dst) != 1)
		abort();
}

static inline void fw_backend(struct lb_tables *t, __u32 id, int family,
			      const char *addr, __u8 state)
{
	struct lb_backend *b = &t->backend[id];

	memset(b, 0, sizeof(*b));
	fw_pton(&b->addr, family, addr);
	b->family = (__u8)family;
	b->state = state;
	b->cookie = 1000 + id;
	b->node = (__u16)id;
}

static inline void fw_ring(struct lb_tables *t, __u32 idx, const __u32 *ids,
			   unsigned int n)
{
	__u32 slots[FW_RING_M];

	for (unsigned int i = 0; i < FW_RING_M; i++)
		slots[i] = ids[i % n];
	if (mem_set_ring(t, idx, slots, FW_RING_M))
		abort();
}

static inline void fw_vip(struct lb_tables *t, int family, const char *addr,
			  __u16 port, __u8 proto, __u32 id, __u32 flags,
			  __u32 ring, __u32 ring_size)
{
	struct lb_vip_key k;
	struct lb_vip v = { .id = id, .flags = flags, .ring = ring,
			    .ring_size = ring_size };

	memset(&k, 0, sizeof(k));
	fw_pton(&k.addr, family, addr);
	k.port = htons(port);
	k.proto = proto;
	k.family = (__u8)family;
	if (mem_add_vip(t, &k, &v))
		abort();
}

static inline void fw_pin(struct lb_tables *t, __u32 vip_id, int family,
			  const char *addr, __u32 bits, __u32 backend,
			  __u32 id, __u32 action)
{
	struct lb_pin_key k;
	struct lb_pin p = { .backend = backend, .id = id, .action = action };

	memset(&k, 0, sizeof(k));
	k.prefixlen = 32 + bits;
	k.vip_id = vip_id;
	fw_pton(&k.addr, family, addr);
	if (mem_add_pin(t, &k, &p))
		abort();
}

static inline struct lb_tables *fw_new(struct lb_config *cfg)
{
	static const __u32 r0[] = { 1, 2, 3, 6, 4 };
	static const __u32 r2[] = { 1, 3, 6 };
	static const __u32 r4[] = { 6, 1 };
	static const __u32 r8[] = { 3, 1, 5 };
	static const __u32 r10[] = { 3, FERRY_NO_BACKEND };
	static const __u32 r14[] = { 3, 9, 1 }; /* 9: unused slot */
	struct lb_tables *t = mem_tables_new();

	if (!t)
		abort();
	t->seed = 0xf00d;
	fw_backend(t, 1, LB_AF_INET, FW_BACKEND4, LB_BE_ACTIVE);
	fw_backend(t, 2, LB_AF_INET, "10.1.0.2", LB_BE_DRAINING);
	fw_backend(t, 3, LB_AF_INET6, FW_BACKEND6, LB_BE_ACTIVE);
	fw_backend(t, 4, LB_AF_INET, "10.1.0.4", LB_BE_DOWN);
	fw_backend(t, 5, LB_AF_INET6, "2001:db8:b::5", LB_BE_MAINT);
	fw_backend(t, 6, LB_AF_INET, "10.1.0.6", LB_BE_ACTIVE);

	fw_vip(t, LB_AF_INET, FW_VIP4_A, 80, IPPROTO_TCP, 0, LB_VIP_HAS_PINS,
	       0, FW_RING_M);
	fw_vip(t, LB_AF_INET, FW_VIP4_A, 0, IPPROTO_UDP, 1, LB_VIP_HASH_SOURCE,
	       2, FW_RING_M);
	fw_vip(t, LB_AF_INET, FW_VIP4_B, 53, IPPROTO_UDP, 2,
	       LB_VIP_HASH_SOURCE, 4, FW_RING_M);
	fw_vip(t, LB_AF_INET, FW_VIP4_B, 0, IPPROTO_UDP, 3,
	       LB_VIP_HASH_SOURCE | LB_VIP_FRAGS_ONLY, 4, FW_RING_M);
	fw_vip(t, LB_AF_INET6, FW_VIP6_A, 443, IPPROTO_TCP, 4,
	       LB_VIP_HAS_PINS, 8, FW_RING_M);
	fw_vip(t, LB_AF_INET6, FW_VIP6_A, 0, IPPROTO_UDP, 5,
	       LB_VIP_HASH_SOURCE, 10, FW_RING_M);
	fw_vip(t, LB_AF_INET, FW_VIP4_C, 80, IPPROTO_TCP, 6, 0, 12, 0);
	fw_vip(t, LB_AF_INET6, FW_VIP6_B, 0, IPPROTO_TCP, 7, 0, 14, FW_RING_M);
	fw_ring(t, 0, r0, 5);
	fw_ring(t, 2, r2, 3);
	fw_ring(t, 4, r4, 2);
	fw_ring(t, 8, r8, 3);
	fw_ring(t, 10, r10, 2);
	fw_ring(t, 14, r14, 3);

	fw_pin(t, 0, LB_AF_INET, "198.51.100.0", 24, 6, 1, LB_PIN_FORWARD);
	fw_pin(t, 0, LB_AF_INET, FW_CLIENT4_HOLD, 32, 6, 2, LB_PIN_HOLD);
	fw_pin(t, 0, LB_AF_INET, "192.0.2.0", 24, 6, 3, LB_PIN_REHASH);
	fw_pin(t, 4, LB_AF_INET6, "2001:db8:c::", 48, 1, 4, LB_PIN_FORWARD);
	fw_pin(t, 4, LB_AF_INET6, "2001:db8:d::", 64, 3, 5, LB_PIN_HOLD);

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->src_mac, fw_src_mac, 6);
	memcpy(cfg->dst_mac, fw_dst_mac, 6);
	cfg->mtu = FW_MTU;
	cfg->flags = LB_CFG_READY;
	fw_pton(&cfg->encap_src_v4, LB_AF_INET, FW_ENCAP_SRC4);
	fw_pton(&cfg->encap_src_v6, LB_AF_INET6, FW_ENCAP_SRC6);
	return t;
}

#endif /* FERRY_TESTS_FUZZ_WORLD_H */
