// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/plan.c: builds a plan from the config: stable ids, backend entries, one Maglev ring per VIP. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "maglev.h"
#include "plan.h"

static __u32 plan_cookie(void)
{
	__u32 c = 0;

	while (getrandom(&c, sizeof(c), 0) != sizeof(c) || c == 0)
		;
	return c;
}

/* Lowest id in [0, max) not in used[]. */
static __u32 plan_free_id(const unsigned char *used, __u32 max)
{
	__u32 i;

	for (i = 0; i < max; i++)
		if (!used[i])
			return i;
	return FERRY_NO_BACKEND;
}

static const struct plan_vip *plan_prev_vip(const struct plan *prev,
					    const char *name)
{
	unsigned int i;

	for (i = 0; prev && i < prev->nvips; i++)
		if (!strcmp(prev->vips[i].name, name))
			return &prev->vips[i];
	return NULL;
}

static const struct plan_backend *plan_prev_backend(const struct plan *prev,
						    const char *vip,
						    const char *node)
{
	unsigned int i;

	for (i = 0; prev && i < prev->nbackends; i++)
		if (!strcmp(prev->backends[i].vip, vip) &&
		    !strcmp(prev->backends[i].node, node))
			return &prev->backends[i];
	return NULL;
}

static int plan_ids(const struct ferry_conf *conf, const struct plan *prev,
		    struct plan *p)
{
	unsigned char *vused = calloc(FERRY_MAX_VIPS, 1);
	unsigned char *bused = calloc(FERRY_MAX_BACKENDS, 1);
	unsigned int i, j, k = 0;
	int err = 0;

	if (!vused || !bused) {
		err = -ENOMEM;
		goto out;
	}
	/* Ids the previous plan gave keep their owners. */
	for (i = 0; i < conf->nvips; i++) {
		const struct plan_vip *pv = plan_prev_vip(prev, conf->vips[i].name);

		p->vips[i].id = FERRY_NO_BACKEND;
		if (pv) {
			p->vips[i].id = pv->id;
			vused[pv->id] = 1;
		}
		for (j = 0; j < conf->vips[i].nbackends; j++, k++) {
			const struct conf_backend *cb = &conf->vips[i].backends[j];
			const struct plan_backend *pb = plan_prev_backend(
				prev, conf->vips[i].name, conf->nodes[cb->node].name);

			p->backends[k].id = FERRY_NO_BACKEND;
			if (pb) {
				p->backends[k].id = pb->id;
				p->backends[k].be.cookie = pb->be.cookie;
				bused[pb->id] = 1;
			}
		}
	}
	for (i = 0; i < conf->nvips; i++) {
		if (p->vips[i].id == FERRY_NO_BACKEND) {
			p->vips[i].id = plan_free_id(vused, FERRY_MAX_VIPS);
			vused[p->vips[i].id] = 1;
		}
	}
	for (k = 0; k < p->nbackends; k++) {
		if (p->backends[k].id == FERRY_NO_BACKEND) {
			p->backends[k].id = plan_free_id(bused, FERRY_MAX_BACKENDS);
			p->backends[k].be.cookie = plan_cookie();
			bused[p->backends[k].id] = 1;
		}
	}
out:
	free(vused);
	free(bused);
	return err;
}

static void plan_fill_vip(const struct ferry_conf *conf,
			  const struct conf_vip *cv, struct plan_vip *v)
{
	(void)conf;
	memcpy(v->name, cv->name, sizeof(v->name));
	memset(&v->key, 0, sizeof(v->key));
	v->key.addr = cv->addr;
	v->key.port = htons(cv->port);
	v->key.proto = cv->proto;
	v->key.family = cv->family;
	v->flags = cv->hash_source ? LB_VIP_HASH_SOURCE : 0;
	v->ring_size = cv->ring_size;
}

static void plan_fill_backend(const struct ferry_conf *conf,
			      const struct conf_vip *cv,
			      const struct conf_backend *cb, __u32 vip_id,
			      __u8 state, struct plan_backend *b)
{
	const struct conf_node *n = &conf->nodes[cb->node];

	memcpy(b->vip, cv->name, sizeof(b->vip));
	memcpy(b->node, n->name, sizeof(b->node));
	b->vip_id = vip_id;
	b->weight = cb->weight;
	b->be.addr = n->addr;
	b->be.family = n->family;
	b->be.node = (__u16)cb->node;
	b->be.vip_id = vip_id;
	b->be.state = state;
}

static bool plan_same_key(const struct lb_vip_key *a, const struct lb_vip_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/*
 * Later fragments carry no ports: they look up (addr, 0, proto). Give that
 * key to the first source-hash VIP on a port of (addr, proto), unless a
 * port-0 VIP or an earlier source-hash VIP already holds it.
 */
static void plan_frag_keys(struct plan *p)
{
	unsigned int i, j;

	for (i = 0; i < p->nvips; i++) {
		struct plan_vip *v = &p->vips[i];
		bool taken = false;

		if (!(v->flags & LB_VIP_HASH_SOURCE) || !v->key.port)
			continue;
		v->frag_key = v->key;
		v->frag_key.port = 0;
		for (j = 0; j < p->nvips && !taken; j++)
			taken = plan_same_key(&p->vips[j].key, &v->frag_key) ||
				(j < i && p->vips[j].has_frag_key &&
				 plan_same_key(&p->vips[j].frag_key,
					       &v->frag_key));
		v->has_frag_key = !taken;
	}
}

/*
 * Which backends the ring holds: the active ones; if there is none, every
 * backend not in maintenance (fail open: better a down node than none).
 */
static void plan_ring_weights(struct plan *p, struct plan_vip *v)
{
	bool any = false;
	__u32 i;

	for (i = 0; i < v->nbackends; i++) {
		struct plan_backend *b = &p->backends[v->first_backend + i];

		b->ring_weight = b->be.state == LB_BE_ACTIVE ? b->weight : 0;
		any |= b->ring_weight > 0;
	}
	v->fail_open = !any;
	for (i = 0; !any && i < v->nbackends; i++) {
		struct plan_backend *b = &p->backends[v->first_backend + i];

		if (b->be.state != LB_BE_MAINT)
			b->ring_weight = b->weight;
	}
}

/* The previous plan's ring for v, if built from exactly the same inputs. */
static const struct plan_vip *plan_same_ring(const struct plan *prev,
					     const struct plan *p,
					     const struct plan_vip *v)
{
	const struct plan_vip *o = plan_prev_vip(prev, v->name);
	__u32 i;

	if (!o || !o->ring || o->ring_size != v->ring_size ||
	    o->nbackends != v->nbackends)
		return NULL;
	for (i = 0; i < v->nbackends; i++) {
		const struct plan_backend *a = &p->backends[v->first_backend + i];
		const struct plan_backend *b =
			&prev->backends[o->first_backend + i];

		if (a->id != b->id || a->ring_weight != b->ring_weight ||
		    a->be.family != b->be.family ||
		    memcmp(&a->be.addr, &b->be.addr, sizeof(a->be.addr)))
			return NULL;
	}
	return o;
}

/* Ring of one VIP; reused from prev when nothing it depends on changed. */
static int plan_ring(struct plan *p, const struct plan *prev,
		     struct plan_vip *v)
{
	const struct plan_vip *same;
	struct maglev_backend *mb;
	__u32 i;
	int err;

	plan_ring_weights(p, v);
	v->ring = malloc(sizeof(*v->ring) * v->ring_size);
	if (!v->ring)
		return -ENOMEM;
	same = plan_same_ring(prev, p, v);
	if (same) {
		memcpy(v->ring, same->ring, sizeof(*v->ring) * v->ring_size);
		v->ring_digest = same->ring_digest;
		v->ring_changed = false;
		return 0;
	}
	v->ring_changed = true;
	mb = calloc(v->nbackends, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	for (i = 0; i < v->nbackends; i++) {
		const struct plan_backend *b = &p->backends[v->first_backend + i];

		mb[i].addr = b->be.addr;
		mb[i].family = b->be.family;
		mb[i].weight = b->ring_weight;
	}
	err = maglev_build(mb, v->nbackends, v->ring_size, v->ring);
	if (err == -ENOENT) {
		/* Nothing may take flows (all in maintenance): an empty
		 * ring, every packet a counted no_backend drop. */
		v->ring_digest = 0;
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	v->ring_digest = maglev_digest(mb, v->nbackends, v->ring, v->ring_size);
	/* Ring slots name backends by index in the VIP: make them ids. */
	for (i = 0; i < v->ring_size; i++)
		v->ring[i] = p->backends[v->first_backend + v->ring[i]].id;
out:
	free(mb);
	return err;
}

struct plan *plan_build(const struct ferry_conf *conf, const struct plan *prev,
			__u32 generation)
{
	return plan_build_states(conf, prev, NULL, generation);
}

/* Pin ids (pin_stats indexes) stay with (VIP name, peer) across plans. */
static __u32 plan_pin_id(const struct plan *prev, const struct plan_pin *pp,
			 unsigned char *used)
{
	unsigned int i;

	for (i = 0; prev && i < prev->npins; i++)
		if (!strcmp(prev->pins[i].vip, pp->vip) &&
		    !strcmp(prev->pins[i].peer, pp->peer) &&
		    !used[prev->pins[i].pin.id]) {
			used[prev->pins[i].pin.id] = 1;
			return prev->pins[i].pin.id;
		}
	return FERRY_NO_BACKEND;
}

static int plan_pins(const struct ferry_conf *conf, const struct plan *prev,
		     const int *pin_nodes, struct plan *p)
{
	unsigned char *used = calloc(FERRY_MAX_PINS, 1);
	unsigned int i, j, k = 0, n = 0;

	for (i = 0; i < conf->nvips; i++)
		n += conf->vips[i].npins;
	p->pins = calloc(n ? n : 1, sizeof(*p->pins));
	if (!used || !p->pins) {
		free(used);
		return -ENOMEM;
	}
	for (i = 0; i < conf->nvips; i++) {
		const struct conf_vip *cv = &conf->vips[i];
		const struct plan_vip *v = &p->vips[i];

		if (cv->npins)
			p->vips[i].flags |= LB_VIP_HAS_PINS;
		for (j = 0; j < cv->npins; j++, k++) {
			const struct conf_pin *cp = &cv->pins[j];
			struct plan_pin *pp = &p->pins[k];
			int node = pin_nodes ? pin_nodes[k] : 0;

			snprintf(pp->vip, sizeof(pp->vip), "%s", cv->name);
			conf_prefix_str(&cp->addr, cp->family, cp->plen,
					pp->peer, sizeof(pp->peer));
			pp->vip_id = v->id;
			pp->conf_vip = i;
			pp->conf_pin = j;
			pp->key.prefixlen = 32 + cp->plen;
			pp->key.vip_id = v->id;
			pp->key.addr = cp->addr;
			pp->target = node >= 0 ? (int)cp->backend[node] : -1;
			if (pp->target >= 0) {
				pp->pin.action = LB_PIN_FORWARD;
				pp->pin.backend =
					p->backends[v->first_backend + pp->target].id;
			} else {
				pp->pin.action = cp->all_down == PIN_ALL_DOWN_HOLD ?
							 LB_PIN_HOLD :
							 LB_PIN_REHASH;
				pp->pin.backend = FERRY_NO_BACKEND;
			}
			pp->pin.id = plan_pin_id(prev, pp, used);
		}
	}
	p->npins = k;
	for (k = 0; k < p->npins; k++) {
		if (p->pins[k].pin.id != FERRY_NO_BACKEND)
			continue;
		p->pins[k].pin.id = plan_free_id(used, FERRY_MAX_PINS);
		used[p->pins[k].pin.id] = 1;
	}
	free(used);
	return 0;
}

struct plan *plan_build_states(const struct ferry_conf *conf,
			       const struct plan *prev,
			       const struct plan_input *in, __u32 generation)
{
	const __u8 *states = in ? in->states : NULL;
	struct plan *p = calloc(1, sizeof(*p));
	unsigned int i, j, k = 0;
	int err = -ENOMEM;

	if (!p)
		goto fail;
	p->generation = generation;
	p->hash_seed = conf->dp.hash_seed;
	p->nvips = conf->nvips;
	for (i = 0; i < conf->nvips; i++)
		p->nbackends += conf->vips[i].nbackends;
	p->vips = calloc(p->nvips ? p->nvips : 1, sizeof(*p->vips));
	p->backends = calloc(p->nbackends ? p->nbackends : 1,
			     sizeof(*p->backends));
	if (!p->vips || !p->backends)
		goto fail;

	memcpy(p->cfg.dst_mac, conf->dp.next_hop_mac, 6);
	p->cfg.mtu = (__u16)conf->dp.mtu;
	p->cfg.flags = LB_CFG_READY | LB_CFG_NO_PORT0;
	for (i = 0; i < conf->nvips; i++)
		if (!conf->vips[i].port)
			p->cfg.flags &= (__u16)~LB_CFG_NO_PORT0;
	p->cfg.encap_src_v4 = conf->dp.encap_src_v4;
	p->cfg.encap_src_v6 = conf->dp.encap_src_v6;
	p->cfg.generation = generation;
	p->cfg.hash_seed = conf->dp.hash_seed;

	err = plan_ids(conf, prev, p);
	if (err)
		goto fail;
	for (i = 0; i < conf->nvips; i++) {
		const struct conf_vip *cv = &conf->vips[i];
		struct plan_vip *v = &p->vips[i];

		plan_fill_vip(conf, cv, v);
		v->first_backend = k;
		v->nbackends = cv->nbackends;
		for (j = 0; j < cv->nbackends; j++, k++)
			plan_fill_backend(conf, cv, &cv->backends[j], v->id,
					  states ? states[k] : LB_BE_ACTIVE,
					  &p->backends[k]);
	}
	err = plan_pins(conf, prev, in ? in->pin_nodes : NULL, p);
	if (err)
		goto fail;
	plan_frag_keys(p);
	for (i = 0; i < p->nvips; i++) {
		err = plan_ring(p, prev, &p->vips[i]);
		if (err)
			goto fail;
	}
	return p;
fail:
	plan_free(p);
	errno = -err;
	return NULL;
}

void plan_free(struct plan *p)
{
	unsigned int i;

	if (!p)
		return;
	for (i = 0; p->vips && i < p->nvips; i++)
		free(p->vips[i].ring);
	free(p->vips);
	free(p->backends);
	free(p->pins);
	free(p);
}

const struct plan_vip *plan_vip_by_id(const struct plan *p, __u32 id)
{
	unsigned int i;

	for (i = 0; i < p->nvips; i++)
		if (p->vips[i].id == id)
			return &p->vips[i];
	return NULL;
}

const struct plan_vip *plan_vip_by_name(const struct plan *p, const char *name)
{
	unsigned int i;

	for (i = 0; i < p->nvips; i++)
		if (!strcmp(p->vips[i].name, name))
			return &p->vips[i];
	return NULL;
}

const struct plan_backend *plan_backend_by_id(const struct plan *p, __u32 id)
{
	unsigned int i;

	for (i = 0; i < p->nbackends; i++)
		if (p->backends[i].id == id)
			return &p->backends[i];
	return NULL;
}
