/* tests/unit/test_maglev.c: cmocka tests of control/maglev.c (Maglev ring building). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ferry/abi.h>
#include "control/maglev.h"

#define M_DEFAULT 65537u
#define M_BIG 655373u

/* ---- helpers ------------------------------------------------------------ */

static __u64 rng_state;

static void rng_seed(__u64 seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
}

static __u32 rng_next(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (__u32)(rng_state >> 33);
}

static __u32 rng_below(__u32 n)
{
	return (__u32)(((__u64)rng_next() * n) >> 31);
}

/* n distinct IPv4 backends 10.i.i.i, weight 1 */
static struct maglev_backend *make_v4(size_t n)
{
	struct maglev_backend *be = calloc(n ? n : 1, sizeof(*be));
	size_t i;

	assert_non_null(be);
	for (i = 0; i < n; i++) {
		be[i].family = LB_AF_INET;
		be[i].addr.bytes[0] = 10;
		be[i].addr.bytes[1] = (__u8)(i >> 16);
		be[i].addr.bytes[2] = (__u8)(i >> 8);
		be[i].addr.bytes[3] = (__u8)i;
		be[i].weight = 1;
	}
	return be;
}

/* n distinct IPv6 backends 2001:db8::i, weight 1 */
static struct maglev_backend *make_v6(size_t n)
{
	struct maglev_backend *be = calloc(n ? n : 1, sizeof(*be));
	size_t i;

	assert_non_null(be);
	for (i = 0; i < n; i++) {
		be[i].family = LB_AF_INET6;
		be[i].addr.bytes[0] = 0x20;
		be[i].addr.bytes[1] = 0x01;
		be[i].addr.bytes[2] = 0x0d;
		be[i].addr.bytes[3] = 0xb8;
		be[i].addr.bytes[13] = (__u8)(i >> 16);
		be[i].addr.bytes[14] = (__u8)(i >> 8);
		be[i].addr.bytes[15] = (__u8)i;
		be[i].weight = 1;
	}
	return be;
}

static __u32 *alloc_ring(__u32 m)
{
	__u32 *ring = malloc(m * sizeof(*ring));

	assert_non_null(ring);
	return ring;
}

static size_t id_len(const struct maglev_backend *b)
{
	return b->family == LB_AF_INET ? 4 : 16;
}

static int id_cmp(const struct maglev_backend *a,
		  const struct maglev_backend *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr.bytes, b->addr.bytes, id_len(a));
}

/* ring a over be_a and ring b over be_b name the same address in each slot */
static void assert_same_ring(const struct maglev_backend *be_a, const __u32 *a,
			     const struct maglev_backend *be_b, const __u32 *b,
			     __u32 m)
{
	__u32 i;

	for (i = 0; i < m; i++) {
		if (a[i] == FERRY_NO_BACKEND || b[i] == FERRY_NO_BACKEND) {
			assert_int_equal(a[i], b[i]);
			continue;
		}
		if (id_cmp(&be_a[a[i]], &be_b[b[i]]))
			fail_msg("slot %u differs", i);
	}
}

/* every slot names one of the n backends, one with weight > 0 */
static void assert_full(const struct maglev_backend *be, size_t n,
			const __u32 *ring, __u32 m)
{
	__u32 i;

	for (i = 0; i < m; i++) {
		assert_true(ring[i] < n);
		assert_true(be[ring[i]].weight > 0);
	}
}

/* |slots of i / m - weight of i / total weight| <= 0.01 for each backend */
static void assert_shares(const struct maglev_backend *be, size_t n,
			  const __u32 *ring, __u32 m)
{
	__u32 *count = calloc(n, sizeof(*count));
	double total = 0, share, want;
	size_t i;

	assert_non_null(count);
	for (i = 0; i < m; i++)
		count[ring[i]]++;
	for (i = 0; i < n; i++)
		total += be[i].weight;
	for (i = 0; i < n; i++) {
		share = (double)count[i] / m;
		want = be[i].weight / total;
		if (share - want > 0.01 || want - share > 0.01)
			fail_msg("backend %zu: share %f, weight share %f", i,
				 share, want);
	}
	free(count);
}

static void shuffle(struct maglev_backend *be, size_t n)
{
	struct maglev_backend t;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = rng_below((__u32)i);
		t = be[i - 1];
		be[i - 1] = be[j];
		be[j] = t;
	}
}

/*
 * The definition, written plainly: the backends in identity order; round
 * after round each adds its weight to its credit and, when the credit
 * reaches the largest weight, pays that and claims the first free slot of
 * its permutation (offset, offset + skip, ... mod m) from where it stopped.
 */
static void ref_build(const struct maglev_backend *be, size_t n, __u32 m,
		      __u32 *ring)
{
	size_t *ord = calloc(n ? n : 1, sizeof(*ord));
	__u32 *next = calloc(n ? n : 1, sizeof(*next));
	__u32 *skip = calloc(n ? n : 1, sizeof(*skip));
	__u64 *credit = calloc(n ? n : 1, sizeof(*credit));
	__u32 maxw = 0, filled = 0, c;
	size_t i, j, t;

	assert_non_null(ord);
	assert_non_null(next);
	assert_non_null(skip);
	assert_non_null(credit);
	for (i = 0; i < n; i++)
		ord[i] = i;
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && id_cmp(&be[ord[j - 1]], &be[ord[j]]) > 0;
		     j--) {
			t = ord[j];
			ord[j] = ord[j - 1];
			ord[j - 1] = t;
		}
	}
	for (i = 0; i < n; i++) {
		maglev_permutation(&be[i], m, &next[i], &skip[i]);
		if (be[i].weight > maxw)
			maxw = be[i].weight;
	}
	for (i = 0; i < m; i++)
		ring[i] = FERRY_NO_BACKEND;
	while (maxw && filled < m) {
		for (i = 0; i < n && filled < m; i++) {
			j = ord[i];
			credit[j] += be[j].weight;
			if (!be[j].weight || credit[j] < maxw)
				continue;
			credit[j] -= maxw;
			c = next[j];
			while (ring[c] != FERRY_NO_BACKEND)
				c = (c + skip[j]) % m;
			ring[c] = (__u32)j;
			next[j] = (c + skip[j]) % m;
			filled++;
		}
	}
	free(credit);
	free(skip);
	free(next);
	free(ord);
}

/* ---- tests -------------------------------------------------------------- */

static void test_is_prime(void **state)
{
	static const __u32 primes[] = { 2,     3,     5,      7,      11,
					13,    97,    101,    251,    257,
					65521, 65537, 655373, 1048573 };
	static const __u32 composites[] = {
		0,	 1,	  4,	       6,	   9,	  15,	 25,
		49,	 91,	  121,	       65535,	   65536, 65541, 655371,
		1048575, 1048576, 4294967295u, 4293001441u /* 65521^2 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(primes) / sizeof(primes[0]); i++) {
		if (!maglev_is_prime(primes[i]))
			fail_msg("%u is prime", primes[i]);
	}
	for (i = 0; i < sizeof(composites) / sizeof(composites[0]); i++) {
		if (maglev_is_prime(composites[i]))
			fail_msg("%u is not prime", composites[i]);
	}
	/* largest prime below 2^32 */
	assert_true(maglev_is_prime(4294967291u));
	assert_true(maglev_is_prime(FERRY_RING_SIZE_MAX));
	assert_true(maglev_is_prime(FERRY_RING_SIZE_DEFAULT));
}

static void test_permutation_range(void **state)
{
	static const __u32 ms[] = { 3, 5, 65537, FERRY_RING_SIZE_MAX };
	struct maglev_backend *be = make_v4(1000);
	__u32 off, skip;
	size_t i, k;

	(void)state;
	for (k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
		for (i = 0; i < 1000; i++) {
			maglev_permutation(&be[i], ms[k], &off, &skip);
			assert_true(off < ms[k]);
			assert_true(skip >= 1 && skip < ms[k]);
		}
	}
	free(be);
}

static void test_no_empty_slot(void **state)
{
	static const size_t ns[] = { 1, 2, 3, 10, 100, 1000 };
	__u32 *ring = alloc_ring(M_DEFAULT);
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		struct maglev_backend *be = make_v4(ns[k]);

		assert_int_equal(maglev_build(be, ns[k], M_DEFAULT, ring), 0);
		assert_full(be, ns[k], ring, M_DEFAULT);
		free(be);
	}
	free(ring);
}

static void test_largest_ring(void **state)
{
	struct maglev_backend *be = make_v6(1000);
	__u32 *ring = alloc_ring(FERRY_RING_SIZE_MAX);

	(void)state;
	assert_int_equal(maglev_build(be, 1000, FERRY_RING_SIZE_MAX, ring), 0);
	assert_full(be, 1000, ring, FERRY_RING_SIZE_MAX);
	assert_shares(be, 1000, ring, FERRY_RING_SIZE_MAX);
	free(ring);
	free(be);
}

static void test_share_equal(void **state)
{
	static const struct {
		size_t n;
		__u32 m;
	} cases[] = { { 2, M_DEFAULT },
		      { 10, M_DEFAULT },
		      { 100, M_DEFAULT },
		      { 1000, M_BIG } };
	__u32 *ring = alloc_ring(M_BIG);
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct maglev_backend *be = make_v4(cases[k].n);

		assert_true(cases[k].m > 100 * cases[k].n);
		assert_int_equal(maglev_build(be, cases[k].n, cases[k].m, ring),
				 0);
		assert_shares(be, cases[k].n, ring, cases[k].m);
		free(be);
	}
	free(ring);
}

static void test_share_weighted(void **state)
{
	static const enum maglev_sched scheds[] = { MAGLEV_SCHED_AUTO,
						    MAGLEV_SCHED_ROUNDS,
						    MAGLEV_SCHED_HEAP };
	struct maglev_backend *be = make_v4(50);
	__u32 *ring = alloc_ring(M_DEFAULT);
	size_t i, k;

	(void)state;
	rng_seed(1);
	for (k = 0; k < sizeof(scheds) / sizeof(scheds[0]); k++) {
		/* 1, 2, 3, 4 */
		for (i = 0; i < 4; i++)
			be[i].weight = (__u32)i + 1;
		assert_int_equal(maglev_build_sched(be, 4, M_DEFAULT, ring,
						    scheds[k]),
				 0);
		assert_shares(be, 4, ring, M_DEFAULT);

		/* 1:10 */
		be[0].weight = 1;
		be[1].weight = 10;
		assert_int_equal(maglev_build_sched(be, 2, M_DEFAULT, ring,
						    scheds[k]),
				 0);
		assert_shares(be, 2, ring, M_DEFAULT);

		/* 1:10 among others of weight 1 */
		for (i = 0; i < 10; i++)
			be[i].weight = i == 3 ? 10 : 1;
		assert_int_equal(maglev_build_sched(be, 10, M_DEFAULT, ring,
						    scheds[k]),
				 0);
		assert_shares(be, 10, ring, M_DEFAULT);

		/* 50 weights from 1 to 100 */
		for (i = 0; i < 50; i++)
			be[i].weight = 1 + rng_below(100);
		assert_int_equal(maglev_build_sched(be, 50, M_DEFAULT, ring,
						    scheds[k]),
				 0);
		assert_shares(be, 50, ring, M_DEFAULT);

		/* weights near the top of the range */
		be[0].weight = 0xffffffffu;
		be[1].weight = 0x7fffffffu;
		be[2].weight = 0x55555555u;
		assert_int_equal(maglev_build_sched(be, 3, M_DEFAULT, ring,
						    scheds[k]),
				 0);
		assert_shares(be, 3, ring, M_DEFAULT);
	}
	free(ring);
	free(be);
}

/* Slots that changed hands, leaving out those of the removed backend. */
static __u32 moved_besides(const struct maglev_backend *be_a, const __u32 *a,
			   const struct maglev_backend *be_b, const __u32 *b,
			   __u32 m, const struct maglev_backend *removed)
{
	__u32 i, moved = 0;

	for (i = 0; i < m; i++) {
		if (!id_cmp(&be_a[a[i]], removed))
			continue;
		if (id_cmp(&be_a[a[i]], &be_b[b[i]]))
			moved++;
	}
	return moved;
}

static void test_remove_one(void **state)
{
	static const size_t ns[] = { 10, 100 };
	__u32 *before = alloc_ring(M_DEFAULT), *after = alloc_ring(M_DEFAULT);
	size_t k, r, i, tries;

	(void)state;
	for (k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		struct maglev_backend *be = make_v4(n), *less = make_v4(n);

		assert_int_equal(maglev_build(be, n, M_DEFAULT, before), 0);
		tries = n < 10 ? n : 10;
		for (r = 0; r < tries; r++) {
			size_t gone = r * n / tries, o = 0;
			__u32 moved;

			for (i = 0; i < n; i++) {
				if (i != gone)
					less[o++] = be[i];
			}
			assert_int_equal(
				maglev_build(less, n - 1, M_DEFAULT, after), 0);
			/* the removed backend's slots all went elsewhere */
			for (i = 0; i < M_DEFAULT; i++)
				assert_int_not_equal(
					id_cmp(&less[after[i]], &be[gone]), 0);
			moved = moved_besides(be, before, less, after,
					      M_DEFAULT, &be[gone]);
			if (moved > M_DEFAULT * 3 / 100)
				fail_msg("n=%zu: removing %zu moved %u more", n,
					 gone, moved);
		}
		free(less);
		free(be);
	}
	free(after);
	free(before);
}

static void test_order_independent(void **state)
{
	const size_t n = 200;
	struct maglev_backend *be = make_v4(n), *v6 = make_v6(n / 2);
	struct maglev_backend *mixed = calloc(n, sizeof(*mixed));
	__u32 *ref = alloc_ring(M_DEFAULT), *ring = alloc_ring(M_DEFAULT);
	__u64 digest;
	size_t i, round;

	(void)state;
	assert_non_null(mixed);
	rng_seed(7);
	/* half IPv4, half IPv6, assorted weights, a few not in the ring */
	for (i = 0; i < n; i++) {
		mixed[i] = i % 2 ? v6[i / 2] : be[i];
		mixed[i].weight = i % 17 ? 1 + rng_below(5) : 0;
	}
	assert_int_equal(maglev_build(mixed, n, M_DEFAULT, ref), 0);
	digest = maglev_digest(mixed, n, ref, M_DEFAULT);
	for (round = 0; round < 6; round++) {
		shuffle(mixed, n);
		assert_int_equal(maglev_build(mixed, n, M_DEFAULT, ring), 0);
		/* ring still indexes the caller's (shuffled) array */
		assert_full(mixed, n, ring, M_DEFAULT);
		assert_int_equal(maglev_digest(mixed, n, ring, M_DEFAULT),
				 digest);
	}
	free(mixed);
	free(v6);
	free(be);
	free(ring);
	free(ref);
}

static void test_order_independent_by_slot(void **state)
{
	const size_t n = 100;
	struct maglev_backend *a = make_v6(n), *b = malloc(n * sizeof(*b));
	__u32 *ra = alloc_ring(M_DEFAULT), *rb = alloc_ring(M_DEFAULT);
	size_t i, round;

	(void)state;
	assert_non_null(b);
	rng_seed(11);
	for (i = 0; i < n; i++)
		a[i].weight = 1 + rng_below(3);
	assert_int_equal(maglev_build(a, n, M_DEFAULT, ra), 0);
	memcpy(b, a, n * sizeof(*b));
	for (round = 0; round < 5; round++) {
		shuffle(b, n);
		assert_int_equal(maglev_build(b, n, M_DEFAULT, rb), 0);
		assert_same_ring(a, ra, b, rb, M_DEFAULT);
		assert_int_equal(maglev_digest(a, n, ra, M_DEFAULT),
				 maglev_digest(b, n, rb, M_DEFAULT));
	}
	free(rb);
	free(ra);
	free(b);
	free(a);
}

static void test_ipv6(void **state)
{
	struct maglev_backend *be = make_v6(100), pair[2];
	__u32 *ring = alloc_ring(M_DEFAULT), i, seen[2] = { 0, 0 };

	(void)state;
	assert_int_equal(maglev_build(be, 100, M_DEFAULT, ring), 0);
	assert_full(be, 100, ring, M_DEFAULT);
	assert_shares(be, 100, ring, M_DEFAULT);

	/* 1.2.3.4 and 102:304:: are two backends, both in the ring */
	memset(pair, 0, sizeof(pair));
	pair[0].family = LB_AF_INET;
	pair[1].family = LB_AF_INET6;
	for (i = 0; i < 2; i++) {
		pair[i].addr.bytes[0] = 1;
		pair[i].addr.bytes[1] = 2;
		pair[i].addr.bytes[2] = 3;
		pair[i].addr.bytes[3] = 4;
		pair[i].weight = 1;
	}
	assert_int_equal(maglev_build(pair, 2, M_DEFAULT, ring), 0);
	for (i = 0; i < M_DEFAULT; i++)
		seen[ring[i]]++;
	assert_true(seen[0] > 0 && seen[1] > 0);

	/* addresses that differ only in the last byte */
	pair[0] = be[0];
	pair[1] = be[0];
	pair[1].addr.bytes[15] ^= 0x80;
	assert_int_equal(maglev_build(pair, 2, M_DEFAULT, ring), 0);
	free(ring);
	free(be);
}

static void test_einval(void **state)
{
	static const __u32 bad_m[] = { 0,     1,       2,	4,	    100,
				       65536, 1048575, 1048583, 4294967291u };
	struct maglev_backend *be = make_v4(10), dup[3];
	__u32 *ring = alloc_ring(1048583);
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(bad_m) / sizeof(bad_m[0]); k++) {
		ring[0] = 0x12345678;
		assert_int_equal(maglev_build(be, 10, bad_m[k], ring), -EINVAL);
		assert_int_equal(ring[0], 0x12345678);
	}
	/* 3 is the smallest, FERRY_RING_SIZE_MAX the largest */
	assert_int_equal(maglev_build(be, 3, 3, ring), 0);
	assert_int_equal(maglev_build(be, 10, FERRY_RING_SIZE_MAX, ring), 0);

	/* more backends than slots */
	assert_int_equal(maglev_build(be, 10, 7, ring), -EINVAL);
	assert_int_equal(maglev_build(be, 7, 7, ring), 0);

	/* duplicate identities, whatever their weights */
	dup[0] = be[0];
	dup[1] = be[1];
	dup[2] = be[0];
	dup[2].weight = 0;
	assert_int_equal(maglev_build(dup, 3, M_DEFAULT, ring), -EINVAL);
	/* an IPv4 identity is 4 bytes: the rest of addr does not count */
	dup[2] = be[0];
	dup[2].addr.bytes[9] = 0xff;
	assert_int_equal(maglev_build(dup, 3, M_DEFAULT, ring), -EINVAL);

	/* unknown family */
	dup[2] = be[2];
	dup[2].family = 5;
	assert_int_equal(maglev_build(dup, 3, M_DEFAULT, ring), -EINVAL);

	/* NULL pointers */
	assert_int_equal(maglev_build(be, 10, M_DEFAULT, NULL), -EINVAL);
	assert_int_equal(maglev_build(NULL, 10, M_DEFAULT, ring), -EINVAL);

	/* bad scheduling choice */
	assert_int_equal(maglev_build_sched(be, 10, M_DEFAULT, ring,
					    (enum maglev_sched)7),
			 -EINVAL);
	free(ring);
	free(be);
}

static void test_enoent(void **state)
{
	struct maglev_backend *be = make_v4(10);
	__u32 *ring = alloc_ring(M_DEFAULT), i;

	(void)state;
	for (i = 0; i < 10; i++)
		be[i].weight = 0;
	for (i = 0; i < M_DEFAULT; i++)
		ring[i] = 0;
	assert_int_equal(maglev_build(be, 10, M_DEFAULT, ring), -ENOENT);
	for (i = 0; i < M_DEFAULT; i++)
		assert_int_equal(ring[i], FERRY_NO_BACKEND);

	ring[5] = 0;
	assert_int_equal(maglev_build(NULL, 0, M_DEFAULT, ring), -ENOENT);
	assert_int_equal(ring[5], FERRY_NO_BACKEND);
	free(ring);
	free(be);
}

static void test_weight_zero_excluded(void **state)
{
	struct maglev_backend *be = make_v4(20), *kept = make_v4(20);
	__u32 *a = alloc_ring(M_DEFAULT), *b = alloc_ring(M_DEFAULT);
	size_t i, o = 0;

	(void)state;
	for (i = 0; i < 20; i++) {
		if (i % 3 == 0)
			be[i].weight = 0;
		else
			kept[o++] = be[i];
	}
	assert_int_equal(maglev_build(be, 20, M_DEFAULT, a), 0);
	assert_full(be, 20, a, M_DEFAULT);
	assert_int_equal(maglev_build(kept, o, M_DEFAULT, b), 0);
	assert_same_ring(be, a, kept, b, M_DEFAULT);
	assert_int_equal(maglev_digest(be, 20, a, M_DEFAULT),
			 maglev_digest(kept, o, b, M_DEFAULT));
	free(b);
	free(a);
	free(kept);
	free(be);
}

/* Every schedule and every way of finding slots against the definition. */
static void test_reference(void **state)
{
	static const __u32 ms[] = { 3,	 5,    7,     13,    101,
				    211, 1009, 10007, 65537, M_BIG };
	static const enum maglev_sched scheds[] = { MAGLEV_SCHED_AUTO,
						    MAGLEV_SCHED_ROUNDS,
						    MAGLEV_SCHED_HEAP };
	struct maglev_backend *v4 = make_v4(1000), *v6 = make_v6(1000);
	struct maglev_backend *be = make_v4(1000);
	__u32 *ref = alloc_ring(M_BIG), *ring = alloc_ring(M_BIG);
	size_t k, t, s, n, i;

	(void)state;
	rng_seed(3);
	for (k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
		for (t = 0; t < 4; t++) {
			__u32 m = ms[k], wmax;

			n = 1 + rng_below(m < 300 ? m : 300);
			wmax = t == 0 ? 1 : t == 1 ? 4 : t == 2 ? 1000 : 3;
			for (i = 0; i < n; i++) {
				be[i] = i % 2 ? v6[i] : v4[i];
				be[i].weight = 1 + rng_below(wmax);
				if (t == 3 && rng_below(4) == 0)
					be[i].weight = 0;
			}
			be[0].weight = 1;
			ref_build(be, n, m, ref);
			for (s = 0; s < 3; s++) {
				memset(ring, 0, m * sizeof(*ring));
				assert_int_equal(maglev_build_sched(be, n, m,
								    ring,
								    scheds[s]),
						 0);
				if (memcmp(ring, ref, m * sizeof(*ring)))
					fail_msg("m=%u n=%zu w<=%u sched=%d", m,
						 n, wmax, (int)scheds[s]);
			}
		}
	}
	free(ring);
	free(ref);
	free(be);
	free(v6);
	free(v4);
}

static void test_reference_large_n(void **state)
{
	struct maglev_backend *be = make_v4(1000);
	__u32 *ref = alloc_ring(M_DEFAULT), *ring = alloc_ring(M_DEFAULT);
	size_t i;

	(void)state;
	ref_build(be, 1000, M_DEFAULT, ref);
	assert_int_equal(maglev_build(be, 1000, M_DEFAULT, ring), 0);
	assert_memory_equal(ring, ref, M_DEFAULT * sizeof(*ring));

	rng_seed(5);
	for (i = 0; i < 1000; i++)
		be[i].weight = 1 + rng_below(10);
	ref_build(be, 1000, M_DEFAULT, ref);
	assert_int_equal(maglev_build(be, 1000, M_DEFAULT, ring), 0);
	assert_memory_equal(ring, ref, M_DEFAULT * sizeof(*ring));
	free(ring);
	free(ref);
	free(be);
}

static void test_sched_same(void **state)
{
	struct maglev_backend *be = make_v4(300);
	__u32 *a = alloc_ring(M_DEFAULT), *b = alloc_ring(M_DEFAULT);
	__u32 *c = alloc_ring(M_DEFAULT);
	size_t i, t;

	(void)state;
	rng_seed(9);
	for (t = 0; t < 3; t++) {
		for (i = 0; i < 300; i++)
			be[i].weight = t ? 1 + rng_below(t == 1 ? 3 : 50) : 7;
		assert_int_equal(maglev_build_sched(be, 300, M_DEFAULT, a,
						    MAGLEV_SCHED_AUTO),
				 0);
		assert_int_equal(maglev_build_sched(be, 300, M_DEFAULT, b,
						    MAGLEV_SCHED_ROUNDS),
				 0);
		assert_int_equal(maglev_build_sched(be, 300, M_DEFAULT, c,
						    MAGLEV_SCHED_HEAP),
				 0);
		assert_memory_equal(a, b, M_DEFAULT * sizeof(*a));
		assert_memory_equal(a, c, M_DEFAULT * sizeof(*a));
	}
	free(c);
	free(b);
	free(a);
	free(be);
}

static void test_digest(void **state)
{
	struct maglev_backend *be = make_v4(10), *six = make_v6(10);
	__u32 *ring = alloc_ring(M_DEFAULT), saved;
	__u64 d;

	(void)state;
	assert_int_equal(maglev_build(be, 10, M_DEFAULT, ring), 0);
	d = maglev_digest(be, 10, ring, M_DEFAULT);
	assert_int_equal(maglev_digest(be, 10, ring, M_DEFAULT), d);

	/* one slot to another backend */
	saved = ring[100];
	ring[100] = (saved + 1) % 10;
	assert_int_not_equal(maglev_digest(be, 10, ring, M_DEFAULT), d);
	ring[100] = saved;

	/* an empty slot */
	ring[100] = FERRY_NO_BACKEND;
	assert_int_not_equal(maglev_digest(be, 10, ring, M_DEFAULT), d);
	ring[100] = saved;

	/* the same address bytes, another family */
	assert_int_not_equal(maglev_digest(six, 10, ring, M_DEFAULT), d);

	/* a shorter ring */
	assert_int_not_equal(maglev_digest(be, 10, ring, 65521), d);
	assert_int_equal(maglev_digest(be, 10, ring, M_DEFAULT), d);
	free(ring);
	free(six);
	free(be);
}

/*
 * Pinned values: the ring and its digest are part of what every machine must
 * agree on. A change here changes which backend every flow goes to.
 */
static void test_golden(void **state)
{
	static const __u32 want_head[8] = { 0, 7, 2, 6, 6, 9, 1, 0 };
	struct maglev_backend *be = make_v4(10);
	__u32 *ring = alloc_ring(M_DEFAULT);

	(void)state;
	assert_int_equal(maglev_build(be, 10, M_DEFAULT, ring), 0);
	assert_memory_equal(ring, want_head, sizeof(want_head));
	assert_int_equal(maglev_digest(be, 10, ring, M_DEFAULT),
			 0x1d75a02ca336111full);
	free(ring);
	free(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_prime),
		cmocka_unit_test(test_permutation_range),
		cmocka_unit_test(test_no_empty_slot),
		cmocka_unit_test(test_largest_ring),
		cmocka_unit_test(test_share_equal),
		cmocka_unit_test(test_share_weighted),
		cmocka_unit_test(test_remove_one),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_order_independent_by_slot),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_enoent),
		cmocka_unit_test(test_weight_zero_excluded),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_reference_large_n),
		cmocka_unit_test(test_sched_same),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
