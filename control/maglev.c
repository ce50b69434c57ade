/* control/maglev.c: Maglev ring building (Eisenbud et al., NSDI 2016), weighted and deterministic. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ferry/abi.h>
#include "common/hash.h"
#include "control/maglev.h"

/* Seeds of the permutation and digest hashes: part of the ring's definition. */
#define MG_SEED_OFFSET 0x4d676c31u
#define MG_SEED_SKIP 0x4d676c32u
#define MG_SEED_DIGEST_HI 0x4d676c33u
#define MG_SEED_DIGEST_LO 0x4d676c34u
#define MG_DIGEST_EMPTY 0xffffffffu

/* A backend's identity as numbers that sort like (family, address bytes). */
struct mg_key {
	__u64 hi; /* address bytes 0..7, big-endian */
	__u64 lo; /* address bytes 8..15, big-endian; 0 for IPv4 */
	__u32 family;
	__u32 idx; /* into the caller's be[] */
};

/* Scratch for one build, carved from one allocation. */
struct mg_scratch {
	__u64 *filled; /* bitmap of the slots taken so far */
	struct mg_key *keys; /* n: every backend, sorted by identity */
	__u32 *cur; /* nact: next slot in each backend's permutation */
	__u32 *skip; /* nact: step of the permutation */
	__u32 *owner; /* nact: index into the caller's be[] */
	__u32 *weight; /* nact */
	__u32 *count; /* nact: credit (rounds) or claims so far (heap) */
	__u64 *next; /* nact: round of the next claim (heap) */
	__u32 *heap; /* nact: sorted indexes, min-heap on (next, index) */
};

bool maglev_is_prime(__u32 m)
{
	__u32 d;

	if (m < 4)
		return m >= 2;
	if (!(m % 2) || !(m % 3))
		return false;
	/* d <= m / d: no overflow of d * d near 2^32 */
	for (d = 5; d <= m / d; d += 6) {
		if (!(m % d) || !(m % (d + 2)))
			return false;
	}
	return true;
}

static __u32 mg_addr_len(__u8 family)
{
	return family == LB_AF_INET ? 4 : 16;
}

static __u64 mg_load_be64(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void mg_key_init(struct mg_key *k, const struct maglev_backend *b,
			__u32 idx)
{
	__u8 bytes[16] = { 0 };

	memcpy(bytes, b->addr.bytes, mg_addr_len(b->family));
	k->hi = mg_load_be64(bytes);
	k->lo = mg_load_be64(bytes + 8);
	k->family = b->family;
	k->idx = idx;
}

static int mg_key_cmp_id(const struct mg_key *a, const struct mg_key *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

static int mg_key_cmp(const void *pa, const void *pb)
{
	return mg_key_cmp_id(pa, pb);
}

static size_t mg_align8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* One allocation for everything; NULL on failure. */
static void *mg_scratch_alloc(struct mg_scratch *s, size_t n, __u32 m)
{
	size_t words = ((size_t)m + 63) / 64;
	size_t off = 0, o_keys, o_next, o_u32;
	__u8 *base;

	off += words * sizeof(__u64);
	o_keys = off;
	off += n * sizeof(struct mg_key);
	o_next = mg_align8(off);
	off = o_next + n * sizeof(__u64);
	o_u32 = off;
	off += 6 * n * sizeof(__u32);

	base = malloc(off);
	if (!base)
		return NULL;
	s->filled = (__u64 *)base;
	s->keys = (struct mg_key *)(base + o_keys);
	s->next = (__u64 *)(base + o_next);
	s->cur = (__u32 *)(base + o_u32);
	s->skip = s->cur + n;
	s->owner = s->skip + n;
	s->weight = s->owner + n;
	s->count = s->weight + n;
	s->heap = s->count + n;
	memset(s->filled, 0, words * sizeof(__u64));
	return base;
}

/*
 * Claim the first free slot of a backend's permutation from c on, mark it,
 * and return where the next search starts. There is a free slot: the
 * permutation visits every slot (m prime, 1 <= s < m).
 */
static inline __u32 mg_claim(__u64 *filled, __u32 *ring, __u32 m, __u32 c,
			     __u32 s, __u32 owner)
{
	__u64 bit;

	for (;;) {
		bit = 1ull << (c & 63);
		if (!(filled[c >> 6] & bit))
			break;
		c += s;
		if (c >= m)
			c -= m;
	}
	filled[c >> 6] |= bit;
	ring[c] = owner;
	c += s;
	if (c >= m)
		c -= m;
	return c;
}

/* Every backend claims in every round: plain round robin. */
static void mg_fill_equal(struct mg_scratch *s, __u32 nact, __u32 m,
			  __u32 *ring)
{
	__u32 *cur = s->cur, *skip = s->skip, *owner = s->owner;
	__u64 *filled = s->filled;
	__u32 left = m, j;

	for (;;) {
		for (j = 0; j < nact; j++) {
			cur[j] = mg_claim(filled, ring, m, cur[j], skip[j],
					  owner[j]);
			if (!--left)
				return;
		}
	}
}

/* Credit per round: w in, maxw out per claim (credit stays below maxw). */
static void mg_fill_rounds(struct mg_scratch *s, __u32 nact, __u32 m,
			   __u32 maxw, __u32 *ring)
{
	__u32 *cur = s->cur, *skip = s->skip, *owner = s->owner;
	__u32 *weight = s->weight, *credit = s->count;
	__u64 *filled = s->filled;
	__u32 left = m, j, need;

	memset(credit, 0, nact * sizeof(*credit));
	for (;;) {
		for (j = 0; j < nact; j++) {
			need = maxw - weight[j];
			if (credit[j] < need) {
				credit[j] += weight[j];
				continue;
			}
			credit[j] -= need;
			cur[j] = mg_claim(filled, ring, m, cur[j], skip[j],
					  owner[j]);
			if (!--left)
				return;
		}
	}
}

static inline bool mg_heap_less(const __u64 *next, __u32 a, __u32 b)
{
	return next[a] < next[b] || (next[a] == next[b] && a < b);
}

static void mg_heap_down(__u32 *heap, const __u64 *next, __u32 len, __u32 i)
{
	__u32 x = heap[i], c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= len)
			break;
		if (c + 1 < len && mg_heap_less(next, heap[c + 1], heap[c]))
			c++;
		if (!mg_heap_less(next, heap[c], x))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = x;
}

/* The same claims as mg_fill_rounds(), in the same order, without the rounds
 * where a backend has nothing to claim. */
static void mg_fill_heap(struct mg_scratch *s, __u32 nact, __u32 m,
			 __u32 maxw, __u32 *ring)
{
	__u32 *cur = s->cur, *skip = s->skip, *owner = s->owner;
	__u32 *weight = s->weight, *claims = s->count, *heap = s->heap;
	__u64 *next = s->next, *filled = s->filled;
	__u32 left = m, j, i;

	for (j = 0; j < nact; j++) {
		claims[j] = 0;
		next[j] = ((__u64)maxw + weight[j] - 1) / weight[j];
		heap[j] = j;
	}
	for (i = nact / 2; i-- > 0;)
		mg_heap_down(heap, next, nact, i);
	for (;;) {
		j = heap[0];
		cur[j] = mg_claim(filled, ring, m, cur[j], skip[j], owner[j]);
		if (!--left)
			return;
		claims[j]++;
		next[j] = ((__u64)(claims[j] + 1) * maxw + weight[j] - 1) /
			  weight[j];
		mg_heap_down(heap, next, nact, 0);
	}
}

static bool mg_use_heap(__u32 nact, __u32 m, __u32 maxw, __u64 wsum)
{
	__u64 rounds = (__u64)m * maxw / wsum + 2;
	__u64 log2n = 1;

	while ((1ull << log2n) < nact)
		log2n++;
	/* a heap step costs a few visits of a round */
	return rounds * nact > 4 * (__u64)m * log2n;
}

int maglev_build_sched(const struct maglev_backend *be, size_t n, __u32 m,
		       __u32 *ring, enum maglev_sched sched)
{
	struct mg_scratch s;
	__u32 nact = 0, maxw = 0, i, h;
	bool equal = true;
	__u64 wsum = 0;
	void *mem;

	if (m < 3 || m > FERRY_RING_SIZE_MAX || !maglev_is_prime(m) || !ring ||
	    n > m || (n && !be))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (be[i].family != LB_AF_INET && be[i].family != LB_AF_INET6)
			return -EINVAL;
	}

	mem = mg_scratch_alloc(&s, n, m);
	if (!mem)
		return -ENOMEM;

	for (i = 0; i < n; i++)
		mg_key_init(&s.keys[i], &be[i], i);
	qsort(s.keys, n, sizeof(*s.keys), mg_key_cmp);
	for (i = 1; i < n; i++) {
		if (!mg_key_cmp_id(&s.keys[i - 1], &s.keys[i])) {
			free(mem);
			return -EINVAL;
		}
	}

	/* the backends in the ring, in identity order */
	for (i = 0; i < n; i++) {
		const struct maglev_backend *b = &be[s.keys[i].idx];

		if (!b->weight)
			continue;
		h = lb_hash_bytes(b->addr.bytes, mg_addr_len(b->family),
				  MG_SEED_OFFSET);
		s.cur[nact] = h % m;
		h = lb_hash_bytes(b->addr.bytes, mg_addr_len(b->family),
				  MG_SEED_SKIP);
		s.skip[nact] = h % (m - 1) + 1;
		s.owner[nact] = s.keys[i].idx;
		s.weight[nact] = b->weight;
		if (nact && b->weight != maxw)
			equal = false;
		if (b->weight > maxw)
			maxw = b->weight;
		wsum += b->weight;
		nact++;
	}

	if (!nact) {
		for (i = 0; i < m; i++)
			ring[i] = FERRY_NO_BACKEND;
		free(mem);
		return -ENOENT;
	}

	if (sched == MAGLEV_SCHED_AUTO)
		sched = !equal && mg_use_heap(nact, m, maxw, wsum) ?
				MAGLEV_SCHED_HEAP :
				MAGLEV_SCHED_ROUNDS;
	if (sched == MAGLEV_SCHED_HEAP)
		mg_fill_heap(&s, nact, m, maxw, ring);
	else if (equal)
		mg_fill_equal(&s, nact, m, ring);
	else
		mg_fill_rounds(&s, nact, m, maxw, ring);

	free(mem);
	return 0;
}

int maglev_build(const struct maglev_backend *be, size_t n, __u32 m,
		 __u32 *ring)
{
	return maglev_build_sched(be, n, m, ring, MAGLEV_SCHED_AUTO);
}

/* Hash of an identity: the family byte, then the address bytes. */
static __u32 mg_id_hash(const struct maglev_backend *b, __u32 seed)
{
	__u8 id[17];
	__u32 len = mg_addr_len(b->family);

	id[0] = b->family;
	memcpy(id + 1, b->addr.bytes, len);
	return lb_hash_bytes(id, len + 1, seed);
}

__u64 maglev_digest(const struct maglev_backend *be, size_t n,
		    const __u32 *ring, __u32 m)
{
	__u32 hi = MG_SEED_DIGEST_HI, lo = MG_SEED_DIGEST_LO;
	__u32 *ids = NULL, v, a, b;
	size_t i;

	if (!ring)
		m = 0;
	if (!be)
		n = 0;
	/* per-backend hashes once; without memory, per slot: same result */
	if (n && n <= SIZE_MAX / (2 * sizeof(*ids)))
		ids = malloc(2 * n * sizeof(*ids));
	if (ids) {
		for (i = 0; i < n; i++) {
			ids[2 * i] = mg_id_hash(&be[i], MG_SEED_DIGEST_HI);
			ids[2 * i + 1] = mg_id_hash(&be[i], MG_SEED_DIGEST_LO);
		}
	}
	for (i = 0; i < m; i++) {
		v = ring[i];
		if (v >= n) {
			a = MG_DIGEST_EMPTY;
			b = MG_DIGEST_EMPTY;
		} else if (ids) {
			a = ids[2 * v];
			b = ids[2 * v + 1];
		} else {
			a = mg_id_hash(&be[v], MG_SEED_DIGEST_HI);
			b = mg_id_hash(&be[v], MG_SEED_DIGEST_LO);
		}
		hi = lb_hash_mix(hi, a);
		lo = lb_hash_mix(lo, b);
	}
	free(ids);
	return (__u64)lb_hash_final(hi, m) << 32 | lb_hash_final(lo, m);
}
