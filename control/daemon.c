// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/daemon.c: ferryd's sync step (config + health + admin -> plan -> engine), reload, admin states and restart adoption. Logs what operators must see. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daemon.h"
#include "log.h"
#include "names.h"
#include "pins.h"

/* Config backend k's VIP and node. */
static void daemon_backend_at(const struct ferry_conf *c, unsigned int k,
			      const struct conf_vip **vip,
			      const struct conf_backend **be)
{
	unsigned int i;

	for (i = 0; i < c->nvips; i++) {
		if (k < c->vips[i].nbackends) {
			*vip = &c->vips[i];
			*be = &c->vips[i].backends[k];
			return;
		}
		k -= c->vips[i].nbackends;
	}
	*vip = NULL;
	*be = NULL;
}

enum admin_state daemon_backend_admin(const struct ferryd *d, unsigned int k)
{
	const struct conf_backend *be;
	const struct conf_vip *vip;
	enum admin_state node_wide = ADMIN_NONE;
	unsigned int i;

	daemon_backend_at(d->conf, k, &vip, &be);
	if (!vip)
		return ADMIN_NONE;
	for (i = 0; i < d->nadmin; i++) {
		const struct admin_entry *a = &d->admin[i];

		if (strcmp(a->node, d->conf->nodes[be->node].name))
			continue;
		if (!strcmp(a->vip, vip->name))
			return a->state; /* the specific entry wins */
		if (!a->vip[0])
			node_wide = a->state;
	}
	return node_wide;
}

enum lb_backend_state daemon_backend_state(const struct ferryd *d,
					   unsigned int k)
{
	enum admin_state a = daemon_backend_admin(d, k);

	if (a == ADMIN_MAINT)
		return LB_BE_MAINT;
	if (!health_is_up(d->health, d->probe_of[k]))
		return LB_BE_DOWN;
	if (a == ADMIN_DRAIN)
		return LB_BE_DRAINING;
	return LB_BE_ACTIVE;
}

static void daemon_health_changed(void *arg, unsigned int probe, bool up)
{
	struct ferryd *d = arg;
	struct health_probe_info info;
	const struct conf_backend *be;
	const struct conf_vip *vip;
	unsigned int k;

	health_info(d->health, probe, &info);
	for (k = 0; k < d->nbe; k++) {
		if (d->probe_of[k] != probe)
			continue;
		daemon_backend_at(d->conf, k, &vip, &be);
		if (up)
			log_info("backend %s of VIP %s: up", d->conf->nodes[be->node].name,
				 vip->name);
		else
			log_warn("backend %s of VIP %s: down (%s)",
				 d->conf->nodes[be->node].name, vip->name,
				 info.last_error);
	}
	d->dirty = true;
}

/* One probe per (address, check): VIPs sharing a node and a check share
 * its probe. up0[k] is the state each backend starts in. */
static int daemon_probes(struct ferryd *d, struct ferry_conf *conf,
			 const bool *up0, unsigned int **probe_of_out)
{
	struct health_probe_def *defs = NULL;
	unsigned int *probe_of = NULL;
	unsigned int n = 0, k = 0, i, j, p;
	int err = -ENOMEM;

	for (i = 0; i < conf->nvips; i++)
		n += conf->vips[i].nbackends;
	defs = calloc(n ? n : 1, sizeof(*defs));
	probe_of = calloc(n ? n : 1, sizeof(*probe_of));
	if (!defs || !probe_of)
		goto out;
	n = 0;
	for (i = 0; i < conf->nvips; i++) {
		const struct conf_vip *v = &conf->vips[i];

		for (j = 0; j < v->nbackends; j++, k++) {
			const struct conf_node *node =
				&conf->nodes[v->backends[j].node];
			struct health_probe_def def;

			memset(&def, 0, sizeof(def));
			def.addr = node->addr;
			def.family = node->family;
			def.spec = v->health;
			def.up = up0 ? up0[k] : true;
			for (p = 0; p < n; p++)
				if (!memcmp(&defs[p].addr, &def.addr,
					    sizeof(def.addr)) &&
				    !memcmp(&defs[p].spec, &def.spec,
					    sizeof(def.spec)))
					break;
			if (p == n)
				defs[n++] = def;
			else if (!def.up)
				defs[p].up = false;
			probe_of[k] = p;
		}
	}
	err = health_set(d->health, defs, n);
	if (!err) {
		free(d->probe_of);
		d->probe_of = probe_of;
		probe_of = NULL;
		*probe_of_out = d->probe_of;
	}
out:
	free(defs);
	free(probe_of);
	return err;
}

/* States of every config backend; a probe whose backends are all in
 * maintenance is paused (maint: no probes), and resumes with them. */
static __u8 *daemon_states(const struct ferryd *d)
{
	__u8 *st = calloc(d->nbe ? d->nbe : 1, 1);
	bool *serving = calloc(d->nbe ? d->nbe : 1, sizeof(*serving));
	unsigned int k;

	if (!st || !serving) {
		free(st);
		free(serving);
		return NULL;
	}
	/* Probes number at most one per backend: probe_of[k] < nbe. */
	for (k = 0; k < d->nbe; k++) {
		st[k] = (__u8)daemon_backend_state(d, k);
		if (st[k] != LB_BE_MAINT)
			serving[d->probe_of[k]] = true;
	}
	for (k = 0; k < d->nbe; k++)
		health_pause(d->health, d->probe_of[k], !serving[d->probe_of[k]]);
	free(serving);
	return st;
}

static void daemon_log_fail_open(const struct plan *old, const struct plan *p)
{
	unsigned int i;

	for (i = 0; i < p->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];
		const struct plan_vip *o = NULL;
		unsigned int j;

		for (j = 0; old && j < old->nvips; j++)
			if (!strcmp(old->vips[j].name, v->name))
				o = &old->vips[j];
		if (v->fail_open && (!o || !o->fail_open))
			log_warn("VIP %s: no backend is up: failing open to every backend not in maintenance",
				 v->name);
		else if (!v->fail_open && o && o->fail_open)
			log_info("VIP %s: backends up again", v->name);
	}
}

/* Active or draining backends may keep and take pinned peers. */
static bool daemon_usable(__u8 state)
{
	return state == LB_BE_ACTIVE || state == LB_BE_DRAINING;
}

/* Each pin's node now, from the states of this sync (which also date
 * when each backend became usable). */
static void daemon_resolve_pins(struct ferryd *d, const struct ferry_conf *conf,
				const __u8 *st)
{
	uint64_t now = loop_now_ms();
	bool usable[CONF_PIN_NODES_MAX];
	uint64_t since[CONF_PIN_NODES_MAX];
	unsigned int i, j, n, k = 0, first = 0;
	char peer[64];
	int node;

	for (k = 0; k < d->nbe; k++) {
		if (!daemon_usable(st[k]))
			d->usable_since[k] = 0;
		else if (!d->usable_since[k])
			d->usable_since[k] = now;
	}
	d->pin_recheck_ms = UINT64_MAX;
	for (i = 0, k = 0; i < conf->nvips; i++) {
		const struct conf_vip *v = &conf->vips[i];

		for (j = 0; j < v->npins; j++, k++) {
			const struct conf_pin *pin = &v->pins[j];

			for (n = 0; n < pin->nnodes; n++) {
				unsigned int b = first + pin->backend[n];

				usable[n] = daemon_usable(st[b]);
				since[n] = d->usable_since[b];
			}
			node = pin_resolve(pin, d->pin_node[k], usable, since, now,
					   &d->pin_recheck_ms);
			if (node == d->pin_node[k])
				continue;
			conf_prefix_str(&pin->addr, pin->family, pin->plen, peer,
					sizeof(peer));
			if (node >= 0)
				log_info("pin %s on VIP %s: to node %s", peer, v->name,
					 conf->nodes[v->backends[pin->backend[node]].node].name);
			else
				log_warn("pin %s on VIP %s: every node down: %s", peer,
					 v->name,
					 pin->all_down == PIN_ALL_DOWN_HOLD ?
						 "holding (dropping, counted)" :
						 "rehashing over the VIP");
			d->pin_node[k] = node;
		}
		first += v->nbackends;
	}
}

/* Plan from conf + states, applied; on success it becomes live. */
static int daemon_apply(struct ferryd *d, struct ferry_conf *conf,
			const struct plan *prev, __u32 generation)
{
	__u8 *st = daemon_states(d);
	struct plan_input in;
	struct plan *p;
	int err;

	if (!st)
		return -ENOMEM;
	daemon_resolve_pins(d, conf, st);
	in.states = st;
	in.pin_nodes = d->pin_node;
	p = plan_build_states(conf, prev, &in, generation);
	free(st);
	if (!p)
		return -errno;
	err = d->ops->apply(d->engine, p);
	if (err) {
		plan_free(p);
		return err;
	}
	daemon_log_fail_open(d->live, p);
	/* prev has served its purpose (it is the old live plan, or the
	 * caller's snapshot): the new plan replaces the live one. */
	plan_free(d->live);
	d->live = p;
	if (d->on_apply)
		d->on_apply(d);
	return 0;
}

int daemon_sync(struct ferryd *d)
{
	struct plan *old = d->live;
	int err;

	d->dirty = false;
	err = daemon_apply(d, d->conf, old, old->generation + 1);
	if (err) {
		d->syncs_failed++;
		d->dirty = true; /* try again at the next tick */
		log_err("applying generation %u: %s", old->generation + 1,
			strerror(-err));
		return err;
	}
	return 0;
}

static void daemon_tick(struct loop *l, uint64_t now, void *arg)
{
	struct ferryd *d = arg;

	(void)l;
	health_tick(d->health, now);
	if (now >= d->pin_recheck_ms)
		d->dirty = true; /* a timed failback is due */
	if (d->dirty)
		daemon_sync(d);
	if (d->ops->tick) {
		char msg[256];
		int r = d->ops->tick(d->engine, now, msg, sizeof(msg));

		if (r > 0)
			log_info("%s", msg);
		else if (r < 0)
			log_warn("dataplane: %s", msg);
	}
	if (d->on_tick)
		d->on_tick(d, now);
}

/* --- restart adoption ---------------------------------------------------- */

static const struct lb_backend *snap_backend(const struct engine_snapshot *s,
					     __u32 vip_id,
					     const struct conf_node *n,
					     __u32 *id)
{
	unsigned int i;

	for (i = 0; i < s->nbackends; i++) {
		const struct lb_backend *b = &s->backends[i];

		if (b->vip_id == vip_id && b->family == n->family &&
		    !memcmp(&b->addr, &n->addr, sizeof(n->addr))) {
			*id = s->backend_ids[i];
			return b;
		}
	}
	return NULL;
}

static const struct lb_vip *snap_vip(const struct engine_snapshot *s,
				     const struct conf_vip *v)
{
	struct lb_vip_key key;
	unsigned int i;

	memset(&key, 0, sizeof(key));
	key.addr = v->addr;
	key.port = htons(v->port);
	key.proto = v->proto;
	key.family = v->family;
	for (i = 0; i < s->nvips; i++)
		if (!memcmp(&s->vip_keys[i], &key, sizeof(key)))
			return &s->vips[i];
	return NULL;
}

/*
 * What the running dataplane holds, as a previous plan: the same ids and
 * cookies (conntrack entries stay valid), and the states it served (health
 * seeds, drains and maintenance restored).
 */
static struct plan *daemon_plan_from_snapshot(struct ferryd *d,
					      const struct ferry_conf *conf,
					      bool *up0)
{
	struct engine_snapshot s;
	struct plan *p = calloc(1, sizeof(*p));
	unsigned int i, j, k = 0, nb = 0;

	if (!p || d->ops->snapshot(d->engine, &s)) {
		free(p);
		return NULL;
	}
	for (i = 0; i < conf->nvips; i++)
		nb += conf->vips[i].nbackends;
	p->vips = calloc(conf->nvips ? conf->nvips : 1, sizeof(*p->vips));
	p->backends = calloc(nb ? nb : 1, sizeof(*p->backends));
	if (!p->vips || !p->backends)
		goto fail;
	for (i = 0; i < conf->nvips; i++) {
		const struct conf_vip *cv = &conf->vips[i];
		const struct lb_vip *sv = snap_vip(&s, cv);
		struct plan_vip *pv = &p->vips[p->nvips];

		for (j = 0; j < cv->nbackends; j++)
			up0[k + j] = true;
		if (!sv) {
			k += cv->nbackends;
			continue;
		}
		snprintf(pv->name, sizeof(pv->name), "%s", cv->name);
		pv->id = sv->id;
		pv->first_backend = p->nbackends;
		for (j = 0; j < cv->nbackends; j++, k++) {
			const struct conf_node *n = &conf->nodes[cv->backends[j].node];
			struct plan_backend *pb = &p->backends[p->nbackends];
			const struct lb_backend *b;
			__u32 id;

			b = snap_backend(&s, sv->id, n, &id);
			if (!b)
				continue;
			snprintf(pb->vip, sizeof(pb->vip), "%s", cv->name);
			snprintf(pb->node, sizeof(pb->node), "%s", n->name);
			pb->id = id;
			pb->be = *b;
			p->nbackends++;
			pv->nbackends++;
			up0[k] = b->state != LB_BE_DOWN;
			if ((b->state == LB_BE_DRAINING ||
			     b->state == LB_BE_MAINT) &&
			    d->nadmin < DAEMON_MAX_ADMIN) {
				struct admin_entry *a = &d->admin[d->nadmin++];

				snprintf(a->vip, sizeof(a->vip), "%s", cv->name);
				snprintf(a->node, sizeof(a->node), "%s", n->name);
				a->state = b->state == LB_BE_MAINT ? ADMIN_MAINT :
								     ADMIN_DRAIN;
			}
		}
		p->nvips++;
	}
	engine_snapshot_free(&s);
	return p;
fail:
	engine_snapshot_free(&s);
	plan_free(p);
	return NULL;
}

static unsigned int conf_backend_count(const struct ferry_conf *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nvips; i++)
		n += c->vips[i].nbackends;
	return n;
}

static unsigned int conf_pin_count(const struct ferry_conf *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nvips; i++)
		n += c->vips[i].npins;
	return n;
}

/*
 * Per-pin and per-backend memory for conf: what old (may be NULL) knew of
 * a pin (same VIP, same peer) or a backend (same VIP, same node) carries
 * over. On success d's arrays are the new ones and *old_pin / *old_since
 * the previous ones, for the caller to free or restore.
 */
static int daemon_pin_arrays(struct ferryd *d, const struct ferry_conf *conf,
			     const struct ferry_conf *old, int **old_pin,
			     uint64_t **old_since)
{
	unsigned int np = conf_pin_count(conf), nb = conf_backend_count(conf);
	int *pin = malloc(sizeof(*pin) * (np ? np : 1));
	uint64_t *since = calloc(nb ? nb : 1, sizeof(*since));
	unsigned int i, j, k = 0, b = 0, oi, oj, ok, ob;

	if (!pin || !since) {
		free(pin);
		free(since);
		return -ENOMEM;
	}
	for (i = 0; i < conf->nvips; i++) {
		const struct conf_vip *v = &conf->vips[i];

		for (j = 0; j < v->npins; j++)
			pin[k + j] = -1;
		for (oi = 0, ok = 0, ob = 0; old && oi < old->nvips; oi++) {
			const struct conf_vip *o = &old->vips[oi];

			if (strcmp(o->name, v->name)) {
				ok += o->npins;
				ob += o->nbackends;
				continue;
			}
			for (j = 0; j < v->npins; j++)
				for (oj = 0; oj < o->npins; oj++)
					if (o->pins[oj].plen == v->pins[j].plen &&
					    !memcmp(&o->pins[oj].addr, &v->pins[j].addr,
						    sizeof(v->pins[j].addr)) &&
					    d->pin_node[ok + oj] >= 0 &&
					    d->pin_node[ok + oj] < (int)v->pins[j].nnodes)
						pin[k + j] = d->pin_node[ok + oj];
			for (j = 0; j < v->nbackends; j++)
				for (oj = 0; oj < o->nbackends; oj++)
					if (o->backends[oj].node < old->nnodes &&
					    !strcmp(old->nodes[o->backends[oj].node].name,
						    conf->nodes[v->backends[j].node].name))
						since[b + j] = d->usable_since[ob + oj];
			break;
		}
		k += v->npins;
		b += v->nbackends;
	}
	*old_pin = d->pin_node;
	*old_since = d->usable_since;
	d->pin_node = pin;
	d->usable_since = since;
	d->npins = np;
	return 0;
}

int daemon_pin_failback(struct ferryd *d, const char *vip, const char *peer)
{
	bool usable[CONF_PIN_NODES_MAX];
	unsigned int i, j, n, k = 0, first = 0;
	union lb_addr a;
	__u8 fam, plen;
	int node;

	if (conf_parse_prefix(peer, &a, &fam, &plen))
		return -ENOENT;
	for (i = 0; i < d->conf->nvips; i++) {
		const struct conf_vip *v = &d->conf->vips[i];

		if (strcmp(v->name, vip)) {
			k += v->npins;
			first += v->nbackends;
			continue;
		}
		for (j = 0; j < v->npins; j++, k++) {
			const struct conf_pin *pin = &v->pins[j];

			if (pin->plen != plen || pin->family != fam ||
			    memcmp(&pin->addr, &a, sizeof(a)))
				continue;
			for (n = 0; n < pin->nnodes; n++)
				usable[n] = daemon_usable(
					(__u8)daemon_backend_state(d, first + pin->backend[n]));
			node = pin_failback(pin, d->pin_node[k], usable);
			if (node == d->pin_node[k])
				return 0;
			d->pin_node[k] = node;
			d->dirty = true;
			return 1;
		}
		return -ENOENT;
	}
	return -ENOENT;
}

int daemon_start(struct ferryd *d, const struct engine_ops *ops,
		 struct ferry_conf *conf, const char *conf_path)
{
	struct engine_stats *st = NULL;
	struct plan *prev = NULL;
	unsigned int *probe_of;
	__u32 generation = 1;
	bool *up0 = NULL;
	int err = -ENOMEM;

	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->conf_path = conf_path;
	d->started_ms = loop_now_ms();
	d->loop = loop_new();
	d->admin = calloc(DAEMON_MAX_ADMIN, sizeof(*d->admin));
	if (!d->loop || !d->admin)
		return -ENOMEM;
	d->health = health_new(d->loop, daemon_health_changed, d);
	d->nbe = conf_backend_count(conf);
	up0 = calloc(d->nbe ? d->nbe : 1, sizeof(*up0));
	st = calloc(1, sizeof(*st));
	if (!d->health || !up0 || !st)
		goto out;

	d->engine = ops->open(conf, &d->adopted);
	if (!d->engine) {
		err = -errno;
		goto out;
	}
	if (d->adopted) {
		if (!ops->read_stats(d->engine, st) && st->generation)
			generation = st->generation;
		prev = daemon_plan_from_snapshot(d, conf, up0);
		if (!prev)
			log_warn("could not read the running dataplane's tables: taking it over with fresh ids");
	} else {
		memset(up0, 1, d->nbe * sizeof(*up0));
	}
	d->conf = conf;
	{
		int *op;
		uint64_t *os;

		err = daemon_pin_arrays(d, conf, NULL, &op, &os);
		if (err)
			goto out;
		free(op);
		free(os);
	}
	err = daemon_probes(d, conf, prev ? up0 : NULL, &probe_of);
	if (err)
		goto out;
	/* A restart serves the generation it found: same tables, same N. */
	err = daemon_apply(d, conf, prev, generation);
	if (err)
		goto out;
	loop_set_tick(d->loop, 100, daemon_tick, d);
out:
	if (prev != d->live)
		plan_free(prev);
	free(up0);
	free(st);
	return err;
}

void daemon_stop(struct ferryd *d)
{
	health_free(d->health);
	d->health = NULL;
	if (d->ops && d->engine)
		d->ops->close(d->engine);
	d->engine = NULL;
	plan_free(d->live);
	d->live = NULL;
	conf_free(d->conf);
	d->conf = NULL;
	loop_free(d->loop);
	d->loop = NULL;
	free(d->probe_of);
	free(d->admin);
	free(d->pin_node);
	free(d->usable_since);
	d->probe_of = NULL;
	d->admin = NULL;
	d->pin_node = NULL;
	d->usable_since = NULL;
}

/* Settings a reload cannot change: "file:line: what" for the first one
 * that differs, true if one does. */
static bool daemon_fixed_changed(const struct ferry_conf *n,
				 const struct ferry_conf *o, char *msg,
				 size_t len)
{
	const struct conf_dataplane *a = &n->dp, *b = &o->dp;
	const char *what = NULL;
	int line = 0;

	if (strcmp(a->engine, b->engine)) {
		what = "engine";
	} else if (strcmp(a->interface, b->interface)) {
		what = "interface";
		line = a->line_interface;
	} else if (a->dpdk && strcmp(a->dp.control, b->dp.control)) {
		what = "dpdk.control";
		line = a->dp.line_control;
	} else if (a->xdp_generic != b->xdp_generic) {
		what = "xdp_mode";
		line = a->line_xdp_mode;
	} else if (strcmp(a->bpffs, b->bpffs)) {
		what = "bpffs";
		line = a->line_bpffs;
	} else if (a->flows != b->flows) {
		what = "flows";
		line = a->line_flows;
	} else if (a->hash_seed != b->hash_seed) {
		what = "hash_seed";
		line = a->line_hash_seed;
	}
	if (!what)
		return false;
	snprintf(msg, len,
		 "%s:%d: dataplane.%s changes only with a restart (ferryd --detach, then start ferryd)",
		 n->path, line ? line : a->line, what);
	return true;
}

int daemon_reload(struct ferryd *d, char *msg, size_t len)
{
	struct ferry_conf *conf = conf_load(d->conf_path, msg, len);
	struct ferry_conf *old_conf = d->conf;
	unsigned int old_nbe = d->nbe, old_npins = d->npins, *probe_of;
	uint64_t *old_since;
	int *old_pin;
	int err;

	if (!conf) {
		d->reloads_failed++;
		return -EINVAL;
	}
	if (daemon_fixed_changed(conf, old_conf, msg, len)) {
		conf_free(conf);
		d->reloads_failed++;
		return -EINVAL;
	}
	err = daemon_pin_arrays(d, conf, old_conf, &old_pin, &old_since);
	if (err) {
		conf_free(conf);
		snprintf(msg, len, "reload: %s", strerror(-err));
		d->reloads_failed++;
		return err;
	}
	d->conf = conf;
	d->nbe = conf_backend_count(conf);
	err = daemon_probes(d, conf, NULL, &probe_of);
	if (!err)
		err = daemon_apply(d, conf, d->live, d->live->generation + 1);
	if (err) {
		/* The live generation stays; so do its config and probes. */
		free(d->pin_node);
		free(d->usable_since);
		d->pin_node = old_pin;
		d->usable_since = old_since;
		d->npins = old_npins;
		d->conf = old_conf;
		d->nbe = old_nbe;
		daemon_probes(d, old_conf, NULL, &probe_of);
		conf_free(conf);
		snprintf(msg, len, "applying the new config: %s", strerror(-err));
		d->reloads_failed++;
		return err;
	}
	conf_free(old_conf);
	free(old_pin);
	free(old_since);
	d->reloads_ok++;
	snprintf(msg, len, "generation %u", d->live->generation);
	return 0;
}

int daemon_admin(struct ferryd *d, const char *node, const char *vip,
		 enum admin_state state)
{
	unsigned int i, n = 0, k;
	enum admin_state *before;

	if (conf_find_node(d->conf, node) < 0)
		return -ENOENT;
	if (vip) {
		for (i = 0; i < d->conf->nvips; i++)
			if (!strcmp(d->conf->vips[i].name, vip))
				break;
		if (i == d->conf->nvips)
			return -ENOENT;
	}
	before = calloc(d->nbe ? d->nbe : 1, sizeof(*before));
	if (!before)
		return -ENOMEM;
	for (k = 0; k < d->nbe; k++)
		before[k] = daemon_backend_admin(d, k);
	/* Drop entries this one replaces: the same scope, and for a
	 * node-wide change every per-VIP entry of the node. */
	for (i = 0; i < d->nadmin;) {
		struct admin_entry *a = &d->admin[i];

		if (!strcmp(a->node, node) &&
		    (!vip || !strcmp(a->vip, vip)))
			d->admin[i] = d->admin[--d->nadmin];
		else
			i++;
	}
	if (state != ADMIN_NONE) {
		struct admin_entry *a;

		if (d->nadmin == DAEMON_MAX_ADMIN) {
			free(before);
			return -ENOSPC;
		}
		a = &d->admin[d->nadmin++];
		snprintf(a->vip, sizeof(a->vip), "%s", vip ? vip : "");
		snprintf(a->node, sizeof(a->node), "%s", node);
		a->state = state;
	}
	for (k = 0; k < d->nbe; k++)
		if (before[k] != daemon_backend_admin(d, k))
			n++;
	free(before);
	if (n)
		d->dirty = true;
	return (int)n;
}
