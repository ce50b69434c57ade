/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tests/lib/mem_tables.h: a userspace engine for the forwarding core over plain arrays: the table glue select.h asks for, for unit tests, fuzzing and fixture runs. Userspace only. */
#ifndef FERRY_TESTS_MEM_TABLES_H
#define FERRY_TESTS_MEM_TABLES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ferry/abi.h>

#define MEM_MAX_VIPS 64
#define MEM_MAX_PINS 64
#define MEM_MAX_FLOWS 4096
#define MEM_MAX_RINGS (MEM_MAX_VIPS * FERRY_RING_SLOTS)
#define MEM_MAX_BACKENDS 256

struct mem_ring {
	__u32 size;
	__u32 *slot; /* NULL: no ring at this index */
};

struct lb_tables {
	__u32 seed;
	struct lb_config cfg;
	unsigned int nvips;
	struct lb_vip_key vip_key[MEM_MAX_VIPS];
	struct lb_vip vip[MEM_MAX_VIPS];
	struct mem_ring ring[MEM_MAX_RINGS];
	struct lb_backend backend[MEM_MAX_BACKENDS];
	unsigned int npins;
	struct lb_pin_key pin_key[MEM_MAX_PINS];
	struct lb_pin pin[MEM_MAX_PINS];
	unsigned int nflows; /* flows are kept in insertion order, no eviction */
	struct lb_flow_key flow_key[MEM_MAX_FLOWS];
	struct lb_flow flow[MEM_MAX_FLOWS];
};

static inline const struct lb_vip *lb_tbl_vip(struct lb_tables *t,
					      const struct lb_vip_key *k)
{
	for (unsigned int i = 0; i < t->nvips; i++)
		if (!memcmp(&t->vip_key[i], k, sizeof(*k)))
			return &t->vip[i];
	return NULL;
}

static inline __u32 lb_tbl_ring(struct lb_tables *t, __u32 ring, __u32 slot)
{
	if (ring >= MEM_MAX_RINGS || !t->ring[ring].slot ||
	    slot >= t->ring[ring].size)
		return FERRY_NO_BACKEND;
	return t->ring[ring].slot[slot];
}

static inline const struct lb_backend *lb_tbl_backend(struct lb_tables *t,
						      __u32 id)
{
	return id < MEM_MAX_BACKENDS ? &t->backend[id] : NULL;
}

/* The first prefixlen bits of a and b (bytes of struct lb_pin_key after
 * its prefixlen field) agree. */
static inline bool mem_prefix_match(const __u8 *a, const __u8 *b, __u32 bits)
{
	__u32 full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (0xff00 >> rest)) == 0;
}

static inline const struct lb_pin *lb_tbl_pin(struct lb_tables *t,
					      const struct lb_pin_key *k)
{
	const struct lb_pin *best = NULL;
	__u32 best_len = 0;

	for (unsigned int i = 0; i < t->npins; i++) {
		const struct lb_pin_key *p = &t->pin_key[i];

		if (p->prefixlen > k->prefixlen || (best && p->prefixlen < best_len))
			continue;
		if (mem_prefix_match((const __u8 *)&p->vip_id,
				     (const __u8 *)&k->vip_id, p->prefixlen)) {
			best = &t->pin[i];
			best_len = p->prefixlen;
		}
	}
	return best;
}

static inline const struct lb_flow *lb_tbl_flow(struct lb_tables *t,
						const struct lb_flow_key *k,
						__u32 hash)
{
	(void)hash;
	for (unsigned int i = 0; i < t->nflows; i++)
		if (!memcmp(&t->flow_key[i], k, sizeof(*k)))
			return &t->flow[i];
	return NULL;
}

static inline void lb_tbl_flow_put(struct lb_tables *t,
				   const struct lb_flow_key *k, __u32 hash,
				   const struct lb_flow *v)
{
	unsigned int i;

	(void)hash;
	for (i = 0; i < t->nflows; i++)
		if (!memcmp(&t->flow_key[i], k, sizeof(*k)))
			break;
	if (i == MEM_MAX_FLOWS)
		i = (unsigned int)(k->sport % MEM_MAX_FLOWS); /* full: overwrite */
	else if (i == t->nflows)
		t->nflows++;
	t->flow_key[i] = *k;
	t->flow[i] = *v;
}

static inline __u32 lb_tbl_seed(struct lb_tables *t)
{
	return t->seed;
}

/* ---- building tables -------------------------------------------------- */
static inline struct lb_tables *mem_tables_new(void)
{
	return calloc(1, sizeof(struct lb_tables));
}

static inline void mem_tables_free(struct lb_tables *t)
{
	if (!t)
		return;
	for (unsigned int i = 0; i < MEM_MAX_RINGS; i++)
		free(t->ring[i].slot);
	free(t);
}

static inline int mem_add_vip(struct lb_tables *t, const struct lb_vip_key *k,
			      const struct lb_vip *v)
{
	if (t->nvips == MEM_MAX_VIPS)
		return -1;
	memset(&t->vip_key[t->nvips], 0, sizeof(*k));
	t->vip_key[t->nvips] = *k;
	t->vip[t->nvips] = *v;
	t->nvips++;
	return 0;
}

static inline int mem_set_ring(struct lb_tables *t, __u32 ring,
			       const __u32 *slots, __u32 size)
{
	__u32 *copy;

	if (ring >= MEM_MAX_RINGS)
		return -1;
	copy = malloc(size * sizeof(*copy));
	if (!copy)
		return -1;
	memcpy(copy, slots, size * sizeof(*copy));
	free(t->ring[ring].slot);
	t->ring[ring].slot = copy;
	t->ring[ring].size = size;
	return 0;
}

static inline int mem_add_pin(struct lb_tables *t, const struct lb_pin_key *k,
			      const struct lb_pin *p)
{
	if (t->npins == MEM_MAX_PINS)
		return -1;
	t->pin_key[t->npins] = *k;
	t->pin[t->npins] = *p;
	t->npins++;
	return 0;
}

#endif /* FERRY_TESTS_MEM_TABLES_H */
