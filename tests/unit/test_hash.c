/* tests/unit/test_hash.c: cmocka tests of common/hash.h against an independent murmur3_x86_32 reference, plus determinism and spread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "common/hash.h"

/* ---- reference: MurmurHash3_x86_32, written out from the algorithm ---- */

static uint32_t ref_rotl(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static uint32_t ref_murmur3(const void *key, size_t len, uint32_t seed)
{
	const uint8_t *data = key;
	const size_t nblocks = len / 4;
	const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
	uint32_t h1 = seed, k1;
	const uint8_t *tail;

	for (size_t i = 0; i < nblocks; i++) {
		const uint8_t *b = data + i * 4;

		k1 = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
		     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		k1 *= c1;
		k1 = ref_rotl(k1, 15);
		k1 *= c2;
		h1 ^= k1;
		h1 = ref_rotl(h1, 13);
		h1 = h1 * 5 + 0xe6546b64;
	}
	tail = data + nblocks * 4;
	k1 = 0;
	if ((len & 3) == 3)
		k1 ^= (uint32_t)tail[2] << 16;
	if ((len & 3) >= 2)
		k1 ^= (uint32_t)tail[1] << 8;
	if ((len & 3) >= 1) {
		k1 ^= tail[0];
		k1 *= c1;
		k1 = ref_rotl(k1, 15);
		k1 *= c2;
		h1 ^= k1;
	}
	h1 ^= (uint32_t)len;
	h1 ^= h1 >> 16;
	h1 *= 0x85ebca6b;
	h1 ^= h1 >> 13;
	h1 *= 0xc2b2ae35;
	h1 ^= h1 >> 16;
	return h1;
}

/* A small deterministic PRNG (xorshift32). */
static uint32_t rnd_state = 0x9e3779b9;

static uint32_t rnd(void)
{
	uint32_t x = rnd_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rnd_state = x;
	return x;
}

static void rnd_flow(struct lb_flow_key *k, int family)
{
	memset(k, 0, sizeof(*k));
	k->family = (__u8)family;
	k->proto = (rnd() & 1) ? IPPROTO_TCP : IPPROTO_UDP;
	k->sport = (__be16)rnd();
	k->dport = (__be16)rnd();
	if (family == LB_AF_INET) {
		k->src.v4 = rnd();
		k->dst.v4 = rnd();
	} else {
		for (int i = 0; i < 4; i++) {
			k->src.v6[i] = rnd();
			k->dst.v6[i] = rnd();
		}
	}
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * The bytes lb_hash_flow hashes: the address bytes as they lie in memory
 * (source, then destination; 4 or 16 each), then the 32-bit word
 * (sport << 16 | dport) of the raw (network order) port fields, then the
 * protocol as a 32-bit word, each word as little-endian bytes.
 */
static size_t flow_bytes(const struct lb_flow_key *k, uint8_t *out)
{
	size_t alen = k->family == LB_AF_INET6 ? 16 : 4, n = 0;

	memcpy(out + n, k->src.bytes, alen);
	n += alen;
	memcpy(out + n, k->dst.bytes, alen);
	n += alen;
	put_le32(out + n, (uint32_t)k->sport << 16 | k->dport);
	n += 4;
	put_le32(out + n, k->proto);
	n += 4;
	return n;
}

/* ---- tests ---------------------------------------------------------- */

/* Published MurmurHash3_x86_32 vectors: checks the reference itself and
 * lb_hash_bytes alike. */
static void test_known_vectors(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t seed, want;
	} v[] = {
		{ "", 0, 0, 0 },
		{ "", 0, 1, 0x514e28b7 },
		{ "", 0, 0xffffffff, 0x81f16f39 },
		{ "\xff\xff\xff\xff", 4, 0, 0x76293b50 },
		{ "\x21\x43\x65\x87", 4, 0, 0xf55b516b },
		{ "\x21\x43\x65\x87", 4, 0x5082edee, 0x2362f9de },
		{ "\x21\x43\x65", 3, 0, 0x7e4a8634 },
		{ "\x21\x43", 2, 0, 0xa0f7b07a },
		{ "\x21", 1, 0, 0x72661cf4 },
		{ "\0\0\0\0", 4, 0, 0x2362f9de },
		{ "\0\0\0", 3, 0, 0x85f0b427 },
		{ "\0\0", 2, 0, 0x30f4c306 },
		{ "\0", 1, 0, 0x514e28b7 },
		{ "Hello, world!", 13, 1234, 0xfaf6cdb3 },
		{ "The quick brown fox jumps over the lazy dog", 43, 0x9747b28c,
		  0x2fa826cd },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(ref_murmur3(v[i].s, v[i].len, v[i].seed),
				 v[i].want);
		assert_int_equal(lb_hash_bytes(v[i].s, (__u32)v[i].len,
					       v[i].seed),
				 v[i].want);
	}
}

/* lb_hash_bytes == murmur3 for every length 0..17 (all tail cases). */
static void test_hash_bytes_lengths(void **state)
{
	static const uint32_t seeds[] = { 0, 1, 0xdeadbeef, 0xffffffff };
	uint8_t buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
		for (size_t len = 0; len <= 17; len++) {
			assert_int_equal(lb_hash_bytes(buf, (__u32)len, seeds[s]),
					 ref_murmur3(buf, len, seeds[s]));
			/* From an odd address too. */
			assert_int_equal(lb_hash_bytes(buf + 3, (__u32)len,
						       seeds[s]),
					 ref_murmur3(buf + 3, len, seeds[s]));
		}
}

static void test_hash_flow_matches_reference(void **state)
{
	struct lb_flow_key k;
	uint8_t bytes[64];
	size_t n;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		int family = (i & 1) ? LB_AF_INET6 : LB_AF_INET;
		uint32_t seed = rnd();

		rnd_flow(&k, family);
		n = flow_bytes(&k, bytes);
		assert_int_equal(n, family == LB_AF_INET6 ? 40 : 16);
		assert_int_equal(lb_hash_flow(&k, seed),
				 ref_murmur3(bytes, n, seed));
		assert_int_equal(lb_hash_source(&k, seed),
				 ref_murmur3(k.src.bytes,
					     family == LB_AF_INET6 ? 16 : 4,
					     seed));
	}
}

/* Fixed flows, spelled out, so a layout change shows. */
static void test_hash_flow_fixed(void **state)
{
	struct lb_flow_key k;
	uint8_t b[40];

	(void)state;
	memset(&k, 0, sizeof(k));
	k.family = LB_AF_INET;
	k.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "198.51.100.10", &k.src.v4);
	inet_pton(AF_INET, "203.0.113.1", &k.dst.v4);
	k.sport = htons(40000);
	k.dport = htons(443);
	/* 198.51.100.10, 203.0.113.1, ports word, proto word (LE). */
	{
		const uint8_t want[16] = { 198, 51, 100, 10, 203, 0, 113, 1,
					   0x01, 0xbb, 0x9c, 0x40, 6, 0, 0, 0 };

		assert_int_equal(flow_bytes(&k, b), 16);
		assert_memory_equal(b, want, 16);
		assert_int_equal(lb_hash_flow(&k, 42), ref_murmur3(want, 16, 42));
	}

	memset(&k, 0, sizeof(k));
	k.family = LB_AF_INET6;
	k.proto = IPPROTO_UDP;
	inet_pton(AF_INET6, "2001:db8::1", &k.src);
	inet_pton(AF_INET6, "2001:db8::2", &k.dst);
	k.sport = htons(1);
	k.dport = htons(2);
	assert_int_equal(flow_bytes(&k, b), 40);
	assert_int_equal(lb_hash_flow(&k, 7), ref_murmur3(b, 40, 7));
	assert_int_equal(lb_hash_source(&k, 7), ref_murmur3(b, 16, 7));
}

static void test_determinism_and_sensitivity(void **state)
{
	struct lb_flow_key k, k2;

	(void)state;
	rnd_flow(&k, LB_AF_INET);
	k2 = k;
	assert_int_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k2, 1));
	assert_int_equal(lb_hash_source(&k, 1), lb_hash_source(&k2, 1));
	/* The seed matters. */
	assert_int_not_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k, 2));
	assert_int_not_equal(lb_hash_source(&k, 1), lb_hash_source(&k, 2));
	/* Every field of the 5-tuple matters. */
	k2.sport ^= htons(1);
	assert_int_not_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k2, 1));
	k2 = k;
	k2.dport ^= htons(1);
	assert_int_not_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k2, 1));
	k2 = k;
	k2.proto = k.proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP;
	assert_int_not_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k2, 1));
	k2 = k;
	k2.dst.v4 ^= 1;
	assert_int_not_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k2, 1));
	/* Swapped ports are another flow. */
	k2 = k;
	k2.sport = k.dport;
	k2.dport = k.sport;
	if (k.sport != k.dport)
		assert_int_not_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k2, 1));
	/* IPv4: bytes after the first address word play no part. */
	k2 = k;
	k2.src.v6[1] = 0x12345678;
	k2.dst.v6[3] = 0x9abcdef0;
	assert_int_equal(lb_hash_flow(&k, 1), lb_hash_flow(&k2, 1));
	assert_int_equal(lb_hash_source(&k, 1), lb_hash_source(&k2, 1));
}

/* The source hash depends on the source address only. */
static void test_source_hash_ignores_ports(void **state)
{
	struct lb_flow_key k, k2;

	(void)state;
	for (int family = LB_AF_INET; family <= LB_AF_INET6;
	     family += LB_AF_INET6 - LB_AF_INET) {
		rnd_flow(&k, family);
		for (int i = 0; i < 100; i++) {
			rnd_flow(&k2, family);
			k2.src = k.src;
			assert_int_equal(lb_hash_source(&k, 99),
					 lb_hash_source(&k2, 99));
		}
		k2 = k;
		k2.src.bytes[family == LB_AF_INET6 ? 15 : 3] ^= 1;
		assert_int_not_equal(lb_hash_source(&k, 99),
				     lb_hash_source(&k2, 99));
	}
}

/* 2^16 random flows into 64 buckets: a loose chi-square bound (63 degrees
 * of freedom: mean 63, sd ~11; 150 is far out for a sound hash). */
static double chi_square(int source, int family)
{
	unsigned int bucket[64] = { 0 };
	const unsigned int n = 1u << 16;
	double expect = n / 64.0, chi = 0;
	struct lb_flow_key k;

	for (unsigned int i = 0; i < n; i++) {
		rnd_flow(&k, family);
		bucket[(source ? lb_hash_source(&k, 0x1234) :
				 lb_hash_flow(&k, 0x1234)) % 64]++;
	}
	for (int b = 0; b < 64; b++)
		chi += (bucket[b] - expect) * (bucket[b] - expect) / expect;
	return chi;
}

static void test_distribution(void **state)
{
	(void)state;
	assert_true(chi_square(0, LB_AF_INET) < 150);
	assert_true(chi_square(0, LB_AF_INET6) < 150);
	assert_true(chi_square(1, LB_AF_INET) < 150);
	assert_true(chi_square(1, LB_AF_INET6) < 150);
}

/* Sequential clients and ports (the common real case) spread too. */
static void test_distribution_sequential(void **state)
{
	unsigned int bucket[64] = { 0 };
	struct lb_flow_key k;
	double chi = 0, expect = 65536 / 64.0;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.family = LB_AF_INET;
	k.proto = IPPROTO_TCP;
	k.dst.v4 = htonl(0xcb007101);
	k.dport = htons(443);
	for (unsigned int i = 0; i < 65536; i++) {
		k.src.v4 = htonl(0x0a000000 | (i >> 4));
		k.sport = htons((__u16)(32768 + (i & 15)));
		bucket[lb_hash_flow(&k, 0) % 64]++;
	}
	for (int b = 0; b < 64; b++)
		chi += (bucket[b] - expect) * (bucket[b] - expect) / expect;
	assert_true(chi < 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_hash_bytes_lengths),
		cmocka_unit_test(test_hash_flow_matches_reference),
		cmocka_unit_test(test_hash_flow_fixed),
		cmocka_unit_test(test_determinism_and_sensitivity),
		cmocka_unit_test(test_source_hash_ignores_ports),
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_distribution_sequential),
	};

	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
