/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_tables.c: builds and frees one generation of DPDK tables from a validated snapshot (see dp_tables.h for the shapes). DPDK userspace only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "dp_tables.h"

static void *dp_zalloc(size_t n, int socket)
{
	return rte_zmalloc_socket("ferry_tables", n ? n : 1,
				  RTE_CACHE_LINE_SIZE, socket);
}

void dp_tables_free(struct dp_tables *t)
{
	unsigned int i;

	if (!t)
		return;
	rte_free(t->vip);
	rte_free(t->backend);
	for (i = 0; i < FERRY_SNAP_MAX_RINGS; i++)
		rte_free(t->ring[i].slot);
	for (i = 0; i < FERRY_MAX_VIPS; i++) {
		struct dp_pinset *ps = t->pins[i];
		__u32 g;

		if (!ps)
			continue;
		for (g = 0; g < ps->ngroups; g++)
			rte_free(ps->group[g].e);
		rte_free(ps);
	}
	/* Poisoned: a reader still holding t (an RCU bug) sees garbage at
	 * once (tests/dpdk checks the generation it started a burst with). */
	memset(t, 0xa5, sizeof(*t));
	rte_free(t);
}

static int build_vips(struct dp_tables *t, const struct ferry_snap *s,
		      int socket)
{
	__u32 n = 8, shift = 61, i, j, w[5];

	/* At least 4 slots per key: probes stay short, and empty slots,
	 * which end every probe, always exist. */
	while (n < 4 * s->nvips) {
		n *= 2;
		shift--;
	}
	t->vip_mask = n - 1;
	t->vip_shift = shift;
	t->vip = dp_zalloc(n * sizeof(*t->vip), socket);
	if (!t->vip)
		return -ENOMEM;
	for (i = 0; i < s->nvips; i++) {
		/* The snapshot parser refused duplicates and family 0. */
		dp_vip_words(&s->vips[i].key, w);
		j = dp_vip_slot_of(w, t->vip_shift);
		while (t->vip[j].w[4])
			j = (j + 1) & t->vip_mask;
		memcpy(t->vip[j].w, w, sizeof(w));
		t->vip[j].vip = s->vips[i].vip;
	}
	return 0;
}

static int build_rings(struct dp_tables *t, const struct ferry_snap *s,
		       int socket)
{
	const __u32 *slot;
	size_t pos = 0;
	__u32 i;

	for (i = 0; i < s->nrings; i++) {
		const struct ferry_snap_ring *r =
			ferry_snap_ring_next(s, &pos, &slot);
		struct dp_ring *d = &t->ring[r->index];

		d->slot = rte_malloc_socket("ferry_ring",
					    r->size * sizeof(__u32),
					    RTE_CACHE_LINE_SIZE, socket);
		if (!d->slot)
			return -ENOMEM;
		memcpy(d->slot, slot, r->size * sizeof(__u32));
		d->size = r->size;
	}
	return 0;
}

static int build_backends(struct dp_tables *t, const struct ferry_snap *s,
			  int socket)
{
	__u32 i;

	t->nbackends = s->backend_id_max;
	t->backend = dp_zalloc(t->nbackends * sizeof(*t->backend), socket);
	if (!t->backend)
		return -ENOMEM;
	for (i = 0; i < s->nbackends; i++)
		t->backend[s->backends[i].id] = s->backends[i].be;
	return 0;
}

/* ---- pins ----------------------------------------------------------------- */
static void prefix_mask(__u32 bits, __u64 *hi, __u64 *lo)
{
	*hi = bits == 0 ? 0 : bits >= 64 ? ~0ull : ~0ull << (64 - bits);
	*lo = bits <= 64 ? 0 : bits >= 128 ? ~0ull : ~0ull << (128 - bits);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct dp_pin_entry *x = a;

	return dp_pin_cmp(x->hi, x->lo, b);
}

/* The pins of one VIP (indexes into s->pins in idx[0..n)). */
static int build_pinset(const struct ferry_snap *s, const __u32 *idx, __u32 n,
			int socket, struct dp_pinset **out)
{
	__u32 count[129] = { 0 }, fill[129] = { 0 };
	struct dp_pinset *ps;
	__u32 i, bits, ng = 0, g;

	for (i = 0; i < n; i++)
		count[s->pins[idx[i]].key.prefixlen - 32]++;
	for (bits = 0; bits <= 128; bits++)
		ng += count[bits] ? 1 : 0;
	ps = dp_zalloc(sizeof(*ps) + ng * sizeof(ps->group[0]), socket);
	if (!ps)
		return -ENOMEM;
	*out = ps;
	/* Longest prefixes first: the first hit is the longest match. */
	for (bits = 129, g = 0; bits-- > 0;) {
		struct dp_pin_group *gr;

		if (!count[bits])
			continue;
		gr = &ps->group[g];
		gr->bits = bits;
		prefix_mask(bits, &gr->mask_hi, &gr->mask_lo);
		gr->e = dp_zalloc(count[bits] * sizeof(*gr->e), socket);
		if (!gr->e)
			return -ENOMEM;
		ps->ngroups = ++g;
	}
	for (i = 0; i < n; i++) {
		const struct ferry_snap_pin *p = &s->pins[idx[i]];
		struct dp_pin_group *gr = NULL;
		struct dp_pin_entry *e;

		bits = p->key.prefixlen - 32;
		for (g = 0; g < ps->ngroups; g++)
			if (ps->group[g].bits == bits)
				gr = &ps->group[g];
		e = &gr->e[fill[bits]++];
		e->hi = dp_be64_at(p->key.addr.bytes) & gr->mask_hi;
		e->lo = dp_be64_at(p->key.addr.bytes + 8) & gr->mask_lo;
		e->pin = p->pin;
		gr->n = fill[bits];
	}
	for (g = 0; g < ps->ngroups; g++)
		qsort(ps->group[g].e, ps->group[g].n,
		      sizeof(struct dp_pin_entry), cmp_entry);
	return 0;
}

static int build_pins(struct dp_tables *t, const struct ferry_snap *s,
		      int socket)
{
	__u32 *per_vip, *start, *idx, i, v;
	int err = 0;

	if (!s->npins)
		return 0;
	/* Counting sort of pin indexes by VIP id. */
	per_vip = calloc(FERRY_MAX_VIPS + 1, sizeof(*per_vip));
	start = calloc(FERRY_MAX_VIPS + 1, sizeof(*start));
	idx = calloc(s->npins, sizeof(*idx));
	if (!per_vip || !start || !idx) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->npins; i++)
		per_vip[s->pins[i].key.vip_id]++;
	for (v = 0; v < FERRY_MAX_VIPS; v++)
		start[v + 1] = start[v] + per_vip[v];
	memset(per_vip, 0, (FERRY_MAX_VIPS + 1) * sizeof(*per_vip));
	for (i = 0; i < s->npins; i++) {
		v = s->pins[i].key.vip_id;
		idx[start[v] + per_vip[v]++] = i;
	}
	for (v = 0; v < FERRY_MAX_VIPS && !err; v++)
		if (per_vip[v])
			err = build_pinset(s, idx + start[v], per_vip[v],
					   socket, &t->pins[v]);
out:
	free(per_vip);
	free(start);
	free(idx);
	return err;
}

int dp_tables_build(const struct ferry_snap *s, int socket,
		    struct dp_tables **out)
{
	struct dp_tables *t = dp_zalloc(sizeof(*t), socket);
	int err;

	if (!t)
		return -ENOMEM;
	t->cfg = *s->cfg;
	t->seed = s->hash_seed;
	t->generation = s->generation;
	t->nvips = s->nvips;
	t->nrings = s->nrings;
	t->npins = s->npins;
	err = build_vips(t, s, socket);
	if (!err)
		err = build_rings(t, s, socket);
	if (!err)
		err = build_backends(t, s, socket);
	if (!err)
		err = build_pins(t, s, socket);
	if (err) {
		dp_tables_free(t);
		return err;
	}
	*out = t;
	return 0;
}
