/* tests/dpdk/world_snap.h: the fixture world as a table snapshot (dataplane/snapshot.h), the form the DPDK engine loads its tables in. Userspace only; no DPDK.
 *
 * The world's hash seed travels in the config (cfg.hash_seed), as ferryd
 * will send it. Conntrack entries are not part of a snapshot: runners put
 * world->flows into an lcore's conntrack themselves.
 */
#ifndef FERRY_TESTS_DPDK_WORLD_SNAP_H
#define FERRY_TESTS_DPDK_WORLD_SNAP_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/snapshot.h"
#include "tests/fixtures/fixtures.h"

/* Writer input for w (arrays malloc'ed into in; world_snap_input_free()). */
static inline int world_snap_input(const struct fixture_world *w,
				   struct lb_config *cfg,
				   struct ferry_snap_input *in)
{
	struct ferry_snap_vip *v = calloc(w->nvips + 1, sizeof(*v));
	struct ferry_snap_ring_in *r = calloc(w->nrings + 1, sizeof(*r));
	struct ferry_snap_backend *b = calloc(w->nbackends + 1, sizeof(*b));
	struct ferry_snap_pin *p = calloc(w->npins + 1, sizeof(*p));
	unsigned int i;

	if (!v || !r || !b || !p) {
		free(v);
		free(r);
		free(b);
		free(p);
		return -ENOMEM;
	}
	*cfg = w->cfg;
	cfg->hash_seed = w->seed;
	for (i = 0; i < w->nvips; i++) {
		v[i].key = w->vips[i].key;
		v[i].vip = w->vips[i].vip;
	}
	for (i = 0; i < w->nrings; i++) {
		r[i].index = w->rings[i].index;
		r[i].size = w->rings[i].size;
		r[i].slot = w->rings[i].slot;
	}
	for (i = 0; i < w->nbackends; i++) {
		b[i].id = w->backends[i].id;
		b[i].be = w->backends[i].be;
	}
	for (i = 0; i < w->npins; i++) {
		p[i].key = w->pins[i].key;
		p[i].pin = w->pins[i].pin;
	}
	*in = (struct ferry_snap_input){
		.cfg = cfg,
		.vips = v,
		.nvips = w->nvips,
		.rings = r,
		.nrings = w->nrings,
		.backends = b,
		.nbackends = w->nbackends,
		.pins = p,
		.npins = w->npins,
	};
	return 0;
}

static inline void world_snap_input_free(struct ferry_snap_input *in)
{
	free((void *)in->vips);
	free((void *)in->rings);
	free((void *)in->backends);
	free((void *)in->pins);
}

/* The world as one snapshot buffer (free() it). */
static inline int world_snapshot(const struct fixture_world *w, void **buf,
				 size_t *len)
{
	struct ferry_snap_input in;
	struct lb_config cfg;
	int r = world_snap_input(w, &cfg, &in);

	if (r)
		return r;
	r = ferry_snap_write(&in, buf, len);
	world_snap_input_free(&in);
	return r;
}

#endif /* FERRY_TESTS_DPDK_WORLD_SNAP_H */
