/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_tables.h: one generation of the DPDK dataplane's tables (VIP hash, rings, backends, pins), built from a validated snapshot, read-only once published. DPDK userspace only.
 *
 * Shapes, against the XDP maps they mirror:
 * - vips: an open-addressing table of our own (dp_vip_lookup() below):
 *   a power of two of slots, at least 4 per key, each the key as five
 *   words and its struct lb_vip, linear probing to the first empty slot.
 *   Built once per generation, never written after, so there are no
 *   deletions and no tombstones; a hit is one multiply-hash and usually
 *   one slot (an rte_hash lookup was a call, a bucket search and a key
 *   compare through a pointer: about a fifth of the per-packet cost);
 * - rings: ring[index] as in the rings map (VIP id * FERRY_RING_SLOTS +
 *   slot), each a flat array of size backend ids; only live rings are
 *   sent, since a generation is swapped whole;
 * - backends: a flat array over ids 0 .. max id; ids past it are absent;
 * - pins: per VIP, a longest-prefix table over the source address. The
 *   XDP engine uses one LPM trie keyed (VIP id, address). rte_lpm and
 *   rte_lpm6 cannot be scoped by VIP id, and one per VIP costs a 64 MiB
 *   tbl24 each; so each VIP with pins gets its prefixes grouped by
 *   length, longest first, each group a sorted array of masked addresses:
 *   a lookup is one binary search per distinct prefix length (a RADIUS VIP
 *   has one to three: /32 peers, a few networks), over memory that is
 *   built once per generation and never written. Matching is bit for bit
 *   what the LPM trie does: a pin of length L matches when the first L
 *   address bits agree and L does not exceed the lookup's length.
 *
 * Lifetime: built by dp_tables_build() on a control thread, published by
 * dp_engine_publish() (dp_engine.h), freed after every forwarding lcore
 * passed a quiescent state (rte_rcu_qsbr).
 */
#ifndef FERRY_DATAPLANE_DP_TABLES_H
#define FERRY_DATAPLANE_DP_TABLES_H

#include <stdint.h>
#include <string.h>
#include <ferry/abi.h>
#include "snapshot.h"

struct dp_ring {
	__u32 size; /* 0: no ring at this index */
	__u32 *slot;
};

/* One pin prefix, address as two host-order words (big-endian meaning). */
struct dp_pin_entry {
	__u64 hi;
	__u64 lo;
	struct lb_pin pin;
};

struct dp_pin_group {
	__u32 bits; /* address bits of every prefix in the group */
	__u32 n;
	__u64 mask_hi;
	__u64 mask_lo;
	struct dp_pin_entry *e; /* sorted by (hi, lo) */
};

struct dp_pinset {
	__u32 ngroups; /* groups[] longest prefix first */
	struct dp_pin_group group[];
};

/* One VIP table slot: the key as dp_vip_words() packs it, w[4] == 0 (no
 * family) when empty, and the VIP. */
struct dp_vip_slot {
	__u32 w[5];
	__u32 pad;
	struct lb_vip vip;
};

struct dp_tables {
	struct lb_config cfg; /* cfg.hash_seed: the flow hash seed */
	__u32 seed;
	__u32 generation;
	__u32 nbackends; /* ids 0 .. nbackends - 1 */
	__u32 vip_mask; /* VIP table slots - 1 */
	__u32 vip_shift; /* 64 - log2(VIP table slots) */
	struct dp_vip_slot *vip; /* vip_mask + 1 slots */
	struct lb_backend *backend;
	struct dp_ring ring[FERRY_SNAP_MAX_RINGS];
	struct dp_pinset *pins[FERRY_MAX_VIPS]; /* NULL: VIP has no pins */
	__u32 nvips, nrings, npins; /* what the snapshot held, for logs */
};

/* Builds tables from a parsed snapshot, memory on NUMA socket (or
 * SOCKET_ID_ANY). 0 or -errno (-ENOMEM). */
int dp_tables_build(const struct ferry_snap *s, int socket,
		    struct dp_tables **out);
void dp_tables_free(struct dp_tables *t); /* NULL accepted */

/* ---- VIP table (inline: used per packet) ------------------------------ */
/* The 20-byte key as five words, read field by field (the core builds the
 * key with stores of those widths: wider loads would wait for them). */
static inline void dp_vip_words(const struct lb_vip_key *k, __u32 w[5])
{
	w[0] = k->addr.v6[0];
	w[1] = k->addr.v6[1];
	w[2] = k->addr.v6[2];
	w[3] = k->addr.v6[3];
	w[4] = (__u32)k->port | (__u32)k->proto << 16 | (__u32)k->family << 24;
}

/* Fibonacci hashing: the top bits of one product, which every key bit
 * reaches; shift is 64 - log2(slots). */
static inline __u32 dp_vip_slot_of(const __u32 w[5], __u32 shift)
{
	__u64 x = (__u64)(w[0] ^ w[1] ^ w[2] ^ w[3]) << 32 | w[4];

	return (__u32)((x * 0x9e3779b97f4a7c15ull) >> shift);
}

/* The VIP whose key equals k (all 20 bytes), or NULL. */
static inline const struct lb_vip *dp_vip_lookup(const struct dp_tables *t,
						 const struct lb_vip_key *k)
{
	const struct dp_vip_slot *s;
	__u32 w[5], i;

	dp_vip_words(k, w);
	for (i = dp_vip_slot_of(w, t->vip_shift);; i = (i + 1) & t->vip_mask) {
		s = &t->vip[i];
		if (!s->w[4]) /* an empty slot ends the probe: no deletions */
			return NULL;
		if (s->w[4] == w[4] && s->w[0] == w[0] && s->w[1] == w[1] &&
		    s->w[2] == w[2] && s->w[3] == w[3])
			return &s->vip;
	}
}

/* ---- pin lookup (inline: used per packet) ----------------------------- */
static inline __u64 dp_be64_at(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline int dp_pin_cmp(__u64 ahi, __u64 alo, const struct dp_pin_entry *e)
{
	if (ahi != e->hi)
		return ahi < e->hi ? -1 : 1;
	if (alo != e->lo)
		return alo < e->lo ? -1 : 1;
	return 0;
}

/* The longest pin of VIP vip_id whose prefix holds addr, with at most bits
 * address bits (32 for IPv4 lookups, 128 for IPv6); NULL if none. */
static inline const struct lb_pin *dp_pin_lookup(const struct dp_tables *t,
						 __u32 vip_id,
						 const union lb_addr *addr,
						 __u32 bits)
{
	const struct dp_pinset *ps;
	__u64 hi, lo;
	__u32 g;

	if (vip_id >= FERRY_MAX_VIPS || !(ps = t->pins[vip_id]))
		return NULL;
	hi = dp_be64_at(addr->bytes);
	lo = dp_be64_at(addr->bytes + 8);
	for (g = 0; g < ps->ngroups; g++) {
		const struct dp_pin_group *gr = &ps->group[g];
		__u64 mhi = hi & gr->mask_hi, mlo = lo & gr->mask_lo;
		__u32 a = 0, b = gr->n;

		if (gr->bits > bits)
			continue;
		while (a < b) {
			__u32 m = a + (b - a) / 2;
			int c = dp_pin_cmp(mhi, mlo, &gr->e[m]);

			if (!c)
				return &gr->e[m].pin;
			if (c < 0)
				b = m;
			else
				a = m + 1;
		}
	}
	return NULL;
}

#endif /* FERRY_DATAPLANE_DP_TABLES_H */
