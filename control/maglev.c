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

/*
 * Finding a backend's next free slot. With left slots free, a probe finds one
 * with odds left / m, so most of the work, and one mispredicted branch per
 * claim, comes late in the fill. How it is found changes as the table fills
 * (the answer does not):
 *   - while more than m / 2 slots are free, test the next 2 slots of the
 *     permutation without a branch, then 4 while more than m / 4 are: few
 *     claims need more, so the branch that goes on is seldom mispredicted;
 *   - then walk the permutation, 8 slots a step;
 *   - for the last MG_LIST_AT free slots, which would cost m / left probes a
 *     claim, go over a list of them instead: free slot e is
 *     (e - c) * skip^-1 (mod m) steps from c.
 * Measured on perf/maglev_bench (n = 1000, m = 65537): MG_LIST_AT from 120
 * to 200 are alike.
 */
#define MG_LIST_AT 160u
#define MG_STEPS 8 /* slots a step: c + k[i] for k[i] = (i + 1) * skip */
_Static_assert(MG_STEPS == 8, "mg_probe() tries 8 slots a step");

/* A backend's identity as numbers that sort like (family, address bytes). */
struct mg_key {
	__u64 hi; /* address bytes 0..7, big-endian */
	__u64 lo; /* address bytes 8..15, big-endian; 0 for IPv4 */
	__u32 family;
	__u32 idx; /* into the caller's be[] */
};

/* Scratch for one build, carved from one allocation. */
struct mg_scratch {
	__u64 *filled; /* 2m bits: x and x + m set once slot x is taken */
	__u32 *mult; /* MG_STEPS * n: (i + 1) * skip mod m */
	struct mg_key *keys; /* 2n: every backend by identity, room to sort */
	__u64 *next; /* n: round of the next claim (heap) */
	__u32 *last; /* n: slot of each backend's last claim */
	__u32 *skip; /* n: step of the permutation */
	__u32 *owner; /* n: index into the caller's be[] */
	__u32 *weight; /* n */
	__u32 *count; /* n: credit (rounds) or claims so far (heap) */
	__u32 *heap; /* n: min-heap on (next, index); ROUNDS: a round's turns */
	__u32 *inv; /* n: skip^-1 mod m, 0 until needed */
	__u32 *vacant; /* MG_LIST_AT: the last free slots */
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

void maglev_permutation(const struct maglev_backend *b, __u32 m, __u32 *offset,
			__u32 *skip)
{
	__u32 len = mg_addr_len(b->family);

	if (m < 3) { /* not a ring size; keep clear of % 0 */
		*offset = 0;
		*skip = 1;
		return;
	}
	*offset = lb_hash_bytes(b->addr.bytes, len, MG_SEED_OFFSET) % m;
	*skip = lb_hash_bytes(b->addr.bytes, len, MG_SEED_SKIP) % (m - 1) + 1;
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

/* Merge sort of keys[0..n-1], tmp[] as big: stable, no calls per compare. */
static void mg_key_sort(struct mg_key *keys, struct mg_key *tmp, size_t n)
{
	struct mg_key *src = keys, *dst = tmp, *t;
	size_t w, lo, mid, hi, a, b, o;

	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			a = lo;
			b = mid;
			for (o = lo; o < hi; o++) {
				if (a < mid &&
				    (b >= hi ||
				     mg_key_cmp_id(&src[b], &src[a]) >= 0))
					dst[o] = src[a++];
				else
					dst[o] = src[b++];
			}
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != keys)
		memcpy(keys, src, n * sizeof(*keys));
}

static size_t mg_align8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* One allocation for everything; NULL on failure. */
static void *mg_scratch_alloc(struct mg_scratch *s, size_t n, __u32 m)
{
	size_t words = (2 * (size_t)m + 63) / 64;
	size_t off = 0, o_keys, o_next, o_u32;
	__u8 *base;

	off += words * sizeof(__u64);
	o_keys = off;
	off += 2 * n * sizeof(struct mg_key);
	o_next = mg_align8(off);
	off = o_next + n * sizeof(__u64);
	o_u32 = off;
	off += ((7 + MG_STEPS) * n + MG_LIST_AT) * sizeof(__u32);

	base = malloc(off);
	if (!base)
		return NULL;
	s->filled = (__u64 *)base;
	s->keys = (struct mg_key *)(base + o_keys);
	s->next = (__u64 *)(base + o_next);
	s->last = (__u32 *)(base + o_u32);
	s->skip = s->last + n;
	s->owner = s->skip + n;
	s->weight = s->owner + n;
	s->count = s->weight + n;
	s->heap = s->count + n;
	s->inv = s->heap + n;
	s->mult = s->inv + n;
	s->vacant = s->mult + MG_STEPS * n;
	memset(s->filled, 0, words * sizeof(__u64));
	memset(s->inv, 0, n * sizeof(__u32));
	return base;
}

/* p mod m for p < 2m < 2^31, without a branch (compilers make one of
 * p >= m ? p - m : p, which mispredicts half the time here) */
static inline __u32 mg_wrap(__u32 p, __u32 m)
{
	__u32 t = p - m; /* top bit set when p < m */

	return t + (m & (0u - (t >> 31)));
}

/* (a + b) mod m for a, b < m */
static inline __u32 mg_add(__u32 a, __u32 b, __u32 m)
{
	return mg_wrap(a + b, m);
}

static inline __u32 mg_bit(const __u64 *filled, __u32 p)
{
	return (__u32)(filled[p >> 6] >> (p & 63)) & 1;
}

/*
 * x mod m for x < 2^64 / m, given mc = ceil(2^64 / m) (Lemire, Kaser and
 * Kurz, "Faster remainder by direct computation", 2019): with
 * mc = (2^64 + e) / m, 0 < e < m, and x = q * m + r, mc * x mod 2^64 is
 * low = (2^64 * r + e * x) / m exactly, and floor(low * m / 2^64) = r as
 * e * x < 2^64.
 */
static inline __u32 mg_mod(__u64 x, __u64 mc, __u32 m)
{
	__u64 low = mc * x;

	return (__u32)(((low >> 32) * m + (((low & 0xffffffffu) * m) >> 32)) >>
		       32);
}

/* s^-1 mod m, m prime, 0 < s < m */
static __u32 mg_inverse(__u32 s, __u32 m)
{
	__s64 t = 0, nt = 1, r = m, nr = s, q, x;

	while (nr) {
		q = r / nr;
		x = t - q * nt;
		t = nt;
		nt = x;
		x = r - q * nr;
		r = nr;
		nr = x;
	}
	return (__u32)(t < 0 ? t + m : t);
}

/* The free slots into vacant[]; returns how many. */
static __u32 mg_list_build(const __u64 *filled, __u32 m, __u32 *vacant)
{
	__u32 words = (m + 63) / 64, w, n = 0, p;
	__u64 bits;

	for (w = 0; w < words; w++) {
		for (bits = ~filled[w]; bits; bits &= bits - 1) {
			p = w * 64 + (__u32)__builtin_ctzll(bits);
			if (p >= m)
				break;
			vacant[n++] = p;
		}
	}
	return n;
}

/*
 * Which of the n free slots vacant[] comes first from c along steps of s:
 * free slot e is (e - c) * s^-1 (mod m) steps away.
 */
static __u32 mg_list_find(const __u32 *vacant, __u32 n, __u32 m, __u64 mc,
			  __u32 c, __u32 inv)
{
	__u32 best = m, bi = 0, k, d, t;

	for (k = 0; k < n; k++) {
		d = mg_add(vacant[k], m - c, m);
		t = mg_mod((__u64)d * inv, mc, m);
		if (t < best) {
			best = t;
			bi = k;
		}
	}
	return bi;
}

/*
 * The first free slot after c along steps of s, k[i] being (i + 1) * s mod m:
 * c + k[i] < 2m names slot c + (i + 1) * s (mod m) in the mirrored bitmap.
 */
static inline __u32 mg_probe(const __u64 *filled, __u32 m, __u32 c,
			     const __u32 *k)
{
	__u32 p;

#define MG_TRY(x)                       \
	do {                            \
		p = (x);                \
		if (!mg_bit(filled, p)) \
			goto found;     \
	} while (0)
	for (;;) {
		MG_TRY(c + k[0]);
		MG_TRY(c + k[1]);
		MG_TRY(c + k[2]);
		MG_TRY(c + k[3]);
		MG_TRY(c + k[4]);
		MG_TRY(c + k[5]);
		MG_TRY(c + k[6]);
		MG_TRY(c + k[7]);
		c = mg_add(c, k[7], m);
	}
#undef MG_TRY
found:
	return mg_wrap(p, m);
}

/* mg_probe(), testing the first n (2 or 4) slots without a branch */
static inline __u32 mg_probe_n(const __u64 *filled, __u32 m, __u32 c,
			       const __u32 *k, __u32 n)
{
	__u32 full = mg_bit(filled, c + k[0]) | mg_bit(filled, c + k[1]) << 1;

	if (n == 4) {
		full |= mg_bit(filled, c + k[2]) << 2;
		full |= mg_bit(filled, c + k[3]) << 3;
	}
	if (full == (1u << n) - 1)
		return mg_probe(filled, m, mg_add(c, k[n - 1], m), k);
	return mg_wrap(c + k[__builtin_ctz(~full)], m);
}

static inline void mg_take(__u64 *filled, __u32 m, __u32 c)
{
	filled[c >> 6] |= 1ull << (c & 63);
	c += m;
	filled[c >> 6] |= 1ull << (c & 63);
}

/*
 * Who claims next. The turns: round r = 1, 2, ... visits the backends in
 * identity order, and one of weight w claims when its credit (w per round,
 * maxw per claim, starting at 0) reaches maxw, the largest weight. EQUAL is
 * that with every weight the same; HEAP gives the same order from a min-heap
 * on the round of each backend's next claim, ceil(k * maxw / w) for its k-th,
 * without visiting the backends that have nothing to claim.
 */
enum mg_kind { MG_EQUAL, MG_ROUNDS, MG_HEAP };

struct mg_turns {
	__u32 nact, j, maxw;
	__u32 round_n, round_i; /* ROUNDS: claims in heap[] this round, next */
	bool started;
	__u32 *weight, *count, *heap;
	__u64 *next;
};

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

static void mg_turns_init(struct mg_turns *q, struct mg_scratch *s, __u32 nact,
			  __u32 maxw, enum mg_kind kind)
{
	__u32 j, i;

	q->nact = nact;
	q->j = 0;
	q->maxw = maxw;
	q->round_n = 0;
	q->round_i = 0;
	q->started = false;
	q->weight = s->weight;
	q->count = s->count;
	q->heap = s->heap;
	q->next = s->next;
	if (kind == MG_ROUNDS)
		memset(q->count, 0, nact * sizeof(*q->count));
	if (kind != MG_HEAP)
		return;
	for (j = 0; j < nact; j++) {
		q->count[j] = 0;
		q->next[j] = ((__u64)maxw + q->weight[j] - 1) / q->weight[j];
		q->heap[j] = j;
	}
	for (i = nact / 2; i-- > 0;)
		mg_heap_down(q->heap, q->next, nact, i);
}

/* The claims of the next round with any, in heap[] (free in ROUNDS). */
static void mg_round(struct mg_turns *q)
{
	__u32 *weight = q->weight, *credit = q->count, *list = q->heap;
	__u32 maxw = q->maxw, nact = q->nact, n = 0, j, c, need, take;

	while (!n) {
		for (j = 0; j < nact; j++) {
			c = credit[j];
			need = maxw - weight[j];
			take = c >= need;
			credit[j] = take ? c - need : c + weight[j];
			list[n] = j;
			n += take;
		}
	}
	q->round_n = n;
	q->round_i = 0;
}

static inline __u32 mg_turn(struct mg_turns *q, enum mg_kind kind)
{
	__u32 j;

	if (kind == MG_EQUAL) {
		j = q->j;
		q->j = j + 1 == q->nact ? 0 : j + 1;
		return j;
	}
	if (kind == MG_ROUNDS) {
		if (q->round_i == q->round_n)
			mg_round(q);
		return q->heap[q->round_i++];
	}
	if (q->started) {
		j = q->heap[0];
		q->count[j]++;
		q->next[j] = ((__u64)(q->count[j] + 1) * q->maxw +
			      q->weight[j] - 1) /
			     q->weight[j];
		mg_heap_down(q->heap, q->next, q->nact, 0);
	}
	q->started = true;
	return q->heap[0];
}

/*
 * Fill ring[]: in turn, each backend claims the first free slot of its
 * permutation after its last claim. One exists: the permutation visits every
 * slot (m prime, 0 < skip < m).
 */
static LB_INLINE void mg_fill(struct mg_scratch *s, struct mg_turns *q, __u32 m,
			      __u32 *ring, enum mg_kind kind)
{
	__u32 *last = s->last, *skip = s->skip, *owner = s->owner;
	__u32 *inv = s->inv, *vacant = s->vacant, *mult = s->mult, *k;
	__u32 left = m, list_at = m < MG_LIST_AT ? m : MG_LIST_AT;
	__u32 four_at = m / 4 > list_at ? m / 4 : list_at;
	__u32 two_at = m / 2 > four_at ? m / 2 : four_at;
	__u64 *filled = s->filled, mc = UINT64_MAX / m + 1;
	__u32 j, c, i;

	for (j = 0; j < q->nact; j++) {
		k = mult + MG_STEPS * j;
		k[0] = skip[j];
		for (i = 1; i < MG_STEPS; i++)
			k[i] = mg_add(k[i - 1], skip[j], m);
	}

#define MG_CLAIM(j, c)                 \
	do {                           \
		mg_take(filled, m, c); \
		ring[c] = owner[j];    \
		last[j] = c;           \
	} while (0)
	for (; left > two_at; left--) {
		j = mg_turn(q, kind);
		c = mg_probe_n(filled, m, last[j], mult + MG_STEPS * j, 2);
		MG_CLAIM(j, c);
	}
	for (; left > four_at; left--) {
		j = mg_turn(q, kind);
		c = mg_probe_n(filled, m, last[j], mult + MG_STEPS * j, 4);
		MG_CLAIM(j, c);
	}
	for (; left > list_at; left--) {
		j = mg_turn(q, kind);
		c = mg_probe(filled, m, last[j], mult + MG_STEPS * j);
		MG_CLAIM(j, c);
	}

	mg_list_build(filled, m, vacant);
	for (; left; left--) {
		j = mg_turn(q, kind);
		if (!inv[j])
			inv[j] = mg_inverse(skip[j], m);
		c = mg_add(last[j], skip[j], m);
		i = mg_list_find(vacant, left, m, mc, c, inv[j]);
		c = vacant[i];
		vacant[i] = vacant[left - 1];
		ring[c] = owner[j];
		last[j] = c;
	}
#undef MG_CLAIM
}

static void mg_fill_equal(struct mg_scratch *s, struct mg_turns *q, __u32 m,
			  __u32 *ring)
{
	mg_fill(s, q, m, ring, MG_EQUAL);
}

static void mg_fill_rounds(struct mg_scratch *s, struct mg_turns *q, __u32 m,
			   __u32 *ring)
{
	mg_fill(s, q, m, ring, MG_ROUNDS);
}

static void mg_fill_heap(struct mg_scratch *s, struct mg_turns *q, __u32 m,
			 __u32 *ring)
{
	mg_fill(s, q, m, ring, MG_HEAP);
}

/* Visiting every backend each round costs rounds * nact; a heap step costs
 * a few visits per level. */
static bool mg_use_heap(__u32 nact, __u32 m, __u32 maxw, __u64 wsum)
{
	__u64 rounds = (__u64)m * maxw / wsum + 2;
	__u64 log2n = 1;

	while ((1ull << log2n) < nact)
		log2n++;
	return rounds * nact > 4 * (__u64)m * log2n;
}

int maglev_build_sched(const struct maglev_backend *be, size_t n, __u32 m,
		       __u32 *ring, enum maglev_sched sched)
{
	__u32 nact = 0, maxw = 0, i, off;
	struct mg_scratch s;
	struct mg_turns q;
	enum mg_kind kind;
	bool equal = true;
	__u64 wsum = 0;
	void *mem;

	if (m < 3 || m > FERRY_RING_SIZE_MAX || !maglev_is_prime(m) || !ring ||
	    n > m || (n && !be) || (unsigned int)sched > MAGLEV_SCHED_HEAP)
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
	mg_key_sort(s.keys, s.keys + n, n);
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
		maglev_permutation(b, m, &off, &s.skip[nact]);
		/* as if it had just claimed the slot before its first */
		s.last[nact] = mg_add(off, m - s.skip[nact], m);
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

	if (sched == MAGLEV_SCHED_HEAP)
		kind = MG_HEAP;
	else if (sched == MAGLEV_SCHED_ROUNDS)
		kind = MG_ROUNDS;
	else if (equal)
		kind = MG_EQUAL;
	else
		kind = mg_use_heap(nact, m, maxw, wsum) ? MG_HEAP : MG_ROUNDS;

	mg_turns_init(&q, &s, nact, maxw, kind);
	if (kind == MG_EQUAL)
		mg_fill_equal(&s, &q, m, ring);
	else if (kind == MG_ROUNDS)
		mg_fill_rounds(&s, &q, m, ring);
	else
		mg_fill_heap(&s, &q, m, ring);

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
	__u32 len = mg_addr_len(b->family);
	__u8 id[17];

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
