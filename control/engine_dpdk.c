// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/engine_dpdk.c: the DPDK engine as ferryd sees it: each plan as a table snapshot pushed to ferry-dpdk over its control socket (dataplane/dp_ctl.h), its counters read back, its live tables taken over on restart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "dataplane/dp_ctl.h"
#include "dataplane/snapshot.h"

#define DPDK_CHECK_MS 1000 /* how often tick asks ferry-dpdk how it is */

/*
 * ferryd does not run ferry-dpdk: it is its own process (a systemd unit of
 * its own, or the lab's), so that ferryd stopping, crashing or restarting
 * never stops forwarding. ferry-dpdk keeps the last generation it was
 * given in its tables file and serves it again when it restarts; ferryd
 * notices a restart (a new boot_id) or a generation other than its own
 * and pushes its live plan again (dpdk_tick).
 */
struct engine {
	char control[CONF_PATH_MAX];
	void *live; /* the snapshot of the last plan applied (or adopted) */
	size_t live_len;
	struct ferry_snap snap; /* live, parsed: for where */
	__u32 generation; /* of live; 0: none yet */
	bool pushed; /* ferry-dpdk acknowledged live */
	bool reachable;
	__u64 boot_id; /* of the ferry-dpdk that acknowledged live */
	__u64 checked_ms;
	char why[160]; /* why not forwarding, when !reachable */
	bool refused; /* the last re-push was refused (said once) */
};

/* One request; on a failure to reach ferry-dpdk, e->why says why. */
static int dpdk_call(struct engine *e, __u32 op, const void *payload,
		     size_t len, struct dp_ctl_msg *reply, void **rpayload,
		     size_t *rlen)
{
	int r = dp_ctl_call(e->control, op, payload, len, DP_CTL_TIMEOUT_MS,
			    reply, rpayload, rlen);

	e->reachable = !r;
	if (r)
		snprintf(e->why, sizeof(e->why),
			 "ferry-dpdk does not answer on %s: %s", e->control,
			 strerror(-r));
	return r;
}

static int dpdk_info(struct engine *e, struct dp_ctl_info *info,
		     __u32 *generation)
{
	struct dp_ctl_msg m;
	void *buf;
	size_t len;
	int r = dpdk_call(e, DP_CTL_INFO, NULL, 0, &m, &buf, &len);

	if (r)
		return r;
	if (!m.status && len != sizeof(*info))
		r = -EPROTO;
	else if (m.status)
		r = m.status;
	else
		memcpy(info, buf, sizeof(*info));
	*generation = m.generation;
	free(buf);
	return r;
}

static void dpdk_set_live(struct engine *e, void *buf, size_t len,
			  const struct ferry_snap *s)
{
	free(e->live);
	e->live = buf;
	e->live_len = len;
	e->snap = *s;
	e->generation = s->generation;
}

/* The tables ferry-dpdk serves now, parsed: 0, -ENOENT (none), -errno. */
static int dpdk_fetch_live(struct engine *e)
{
	struct ferry_snap s;
	struct dp_ctl_msg m;
	char err[256];
	void *buf;
	size_t len;
	int r = dpdk_call(e, DP_CTL_SNAPSHOT, NULL, 0, &m, &buf, &len);

	if (r)
		return r;
	if (m.status || !len) {
		free(buf);
		return m.status ? m.status : -ENOENT;
	}
	if (ferry_snap_parse(buf, len, &s, err, sizeof(err))) {
		free(buf);
		return -EPROTO;
	}
	dpdk_set_live(e, buf, len, &s);
	return 0;
}

static struct engine *dpdk_new(const struct ferry_conf *conf)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	snprintf(e->control, sizeof(e->control), "%s", conf->dp.dp.control);
	snprintf(e->why, sizeof(e->why), "ferry-dpdk not asked yet");
	return e;
}

static void dpdk_close(struct engine *e)
{
	if (!e)
		return;
	free(e->live);
	free(e);
}

/* Adopts what a running ferry-dpdk serves; without one, ferryd still
 * starts and pushes its plan as soon as ferry-dpdk answers (tick). */
static struct engine *dpdk_open(const struct ferry_conf *conf, bool *adopted)
{
	struct engine *e = dpdk_new(conf);
	struct dp_ctl_info info;
	__u32 gen = 0;

	*adopted = false;
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	if (dpdk_info(e, &info, &gen))
		return e;
	/* The first push (apply) goes to this ferry-dpdk: no second one. */
	e->boot_id = info.boot_id;
	if (!gen)
		return e;
	if (dpdk_fetch_live(e))
		return e;
	if (e->snap.hash_seed != conf->dp.hash_seed) {
		dpdk_close(e);
		errno = ESTALE;
		return NULL;
	}
	e->pushed = true;
	*adopted = true;
	return e;
}

static struct engine *dpdk_attach_existing(const struct ferry_conf *conf)
{
	struct engine *e = dpdk_new(conf);
	struct dp_ctl_info info;
	__u32 gen;
	int r;

	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	r = dpdk_info(e, &info, &gen);
	if (r) {
		dpdk_close(e);
		errno = -r;
		return NULL;
	}
	return e;
}

/* ---- plan -> snapshot ---------------------------------------------------- */
static int dpdk_snapshot_of(const struct plan *p, void **buf, size_t *len)
{
	struct ferry_snap_input in = { 0 };
	struct ferry_snap_vip *vips;
	struct ferry_snap_ring_in *rings;
	struct ferry_snap_backend *bes;
	struct ferry_snap_pin *pins;
	struct lb_config cfg = p->cfg;
	unsigned int i, nv = 0;
	int err = -ENOMEM;

	vips = calloc(p->nvips * 2 + 1, sizeof(*vips));
	rings = calloc(p->nvips + 1, sizeof(*rings));
	bes = calloc(p->nbackends + 1, sizeof(*bes));
	pins = calloc(p->npins + 1, sizeof(*pins));
	if (!vips || !rings || !bes || !pins)
		goto out;
	/* A generation is swapped whole: one ring per VIP, in slot 0. */
	for (i = 0; i < p->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];
		struct lb_vip val = { .id = v->id,
				      .flags = v->flags,
				      .ring = v->id * FERRY_RING_SLOTS,
				      .ring_size = v->ring_size };

		vips[nv].key = v->key;
		vips[nv++].vip = val;
		if (v->has_frag_key) {
			val.flags |= LB_VIP_FRAGS_ONLY;
			vips[nv].key = v->frag_key;
			vips[nv++].vip = val;
		}
		rings[i].index = val.ring;
		rings[i].size = v->ring_size;
		rings[i].slot = v->ring;
	}
	for (i = 0; i < p->nbackends; i++) {
		bes[i].id = p->backends[i].id;
		bes[i].be = p->backends[i].be;
	}
	for (i = 0; i < p->npins; i++) {
		pins[i].key = p->pins[i].key;
		pins[i].pin = p->pins[i].pin;
	}
	cfg.generation = p->generation;
	cfg.hash_seed = p->hash_seed;
	in.cfg = &cfg;
	in.vips = vips;
	in.nvips = nv;
	in.rings = rings;
	in.nrings = p->nvips;
	in.backends = bes;
	in.nbackends = p->nbackends;
	in.pins = pins;
	in.npins = p->npins;
	err = ferry_snap_write(&in, buf, len);
out:
	free(vips);
	free(rings);
	free(bes);
	free(pins);
	return err;
}

/* LOAD of snapshot buf (generation gen). 0; -EINVAL when ferry-dpdk
 * refused it (its reason in e->why); -errno when it could not be asked. */
static int dpdk_push(struct engine *e, const void *buf, size_t blen,
		     __u32 gen)
{
	struct dp_ctl_msg m;
	void *msg;
	size_t len;
	int r = dpdk_call(e, DP_CTL_LOAD, buf, blen, &m, &msg, &len);

	if (r)
		return r;
	if (m.status)
		snprintf(e->why, sizeof(e->why), "ferry-dpdk refused generation %u: %.*s",
			 gen, (int)(len < 120 ? len : 120),
			 msg ? (const char *)msg : "");
	free(msg);
	return m.status;
}

static int dpdk_apply(struct engine *e, const struct plan *p)
{
	struct ferry_snap s;
	char err[256];
	size_t len;
	void *buf;
	int r;

	r = dpdk_snapshot_of(p, &buf, &len);
	if (r)
		return r;
	/* Our own check first: ferry-dpdk runs the same parser. */
	if (ferry_snap_parse(buf, len, &s, err, sizeof(err))) {
		free(buf);
		return -EINVAL;
	}
	/* An adopting ferryd rebuilds the very tables it found. */
	if (e->pushed && e->reachable && e->live_len == len &&
	    !memcmp(e->live, buf, len)) {
		free(buf);
		return 0;
	}
	r = dpdk_push(e, buf, len, s.generation);
	if (r == -EINVAL || r == -ESTALE) {
		/* Refused: the old generation serves on, and stays ours. */
		free(buf);
		return r;
	}
	/* Not reachable (r < 0): the plan is ours all the same and goes out
	 * when ferry-dpdk answers again (tick); forwarding() says it is not
	 * forwarding meanwhile. */
	dpdk_set_live(e, buf, len, &s);
	e->pushed = !r;
	return 0;
}

/* Every DPDK_CHECK_MS: a ferry-dpdk that restarted or serves another
 * generation gets ours again. 1: pushed again, 0: nothing to do, -errno:
 * ferry-dpdk became unreachable, or refused (once per change). */
static int dpdk_tick(struct engine *e, __u64 now_ms, char *msg, size_t len)
{
	struct dp_ctl_info info;
	__u32 gen = 0;
	bool was = e->reachable;
	int r;

	if (e->checked_ms && now_ms - e->checked_ms < DPDK_CHECK_MS)
		return 0;
	e->checked_ms = now_ms;
	r = dpdk_info(e, &info, &gen);
	if (r) {
		snprintf(msg, len, "%s", e->why);
		return was ? r : 0;
	}
	if (!e->live)
		return 0;
	if (e->pushed && info.boot_id == e->boot_id && gen == e->generation)
		return 0;
	r = dpdk_push(e, e->live, e->live_len, e->generation);
	snprintf(msg, len, "%s", e->why);
	if (r) {
		/* Tried again every second; said once until it changes. */
		if (r == -EINVAL && e->refused)
			return 0;
		e->refused = r == -EINVAL;
		return r;
	}
	e->refused = false;
	e->pushed = true;
	snprintf(msg, len,
		 "ferry-dpdk (pid %u) served generation %u: generation %u pushed again",
		 info.pid, gen, e->generation);
	e->boot_id = info.boot_id;
	return 1;
}

/* The ports and their ethdev counters, from INFO. */
static int dpdk_read_ports(struct engine *e, struct engine_stats *s)
{
	struct dp_ctl_info info;
	unsigned int i;
	__u32 gen;
	int r = dpdk_info(e, &info, &gen);

	if (r)
		return r;
	for (i = 0; i < info.nports && i < DP_CTL_MAX_PORTS &&
		    i < ENGINE_MAX_PORTS;
	     i++) {
		const struct dp_ctl_port *p = &info.port[i];
		struct engine_port *q = &s->port[s->nports++];

		q->id = p->port;
		q->data = p->data;
		q->link_up = p->link_up;
		q->rx_packets = p->ipackets;
		q->tx_packets = p->opackets;
		q->rx_missed = p->imissed;
		q->rx_errors = p->ierrors;
		q->tx_errors = p->oerrors;
	}
	return 0;
}

static int dpdk_read_stats(struct engine *e, struct engine_stats *s)
{
	struct dp_ctl_stats *st;
	struct dp_ctl_msg m;
	unsigned int i;
	size_t len;
	void *buf;
	int r = dpdk_call(e, DP_CTL_STATS, NULL, 0, &m, &buf, &len);

	if (r)
		return r;
	if (m.status || len != sizeof(*st)) {
		free(buf);
		return m.status ? m.status : -EPROTO;
	}
	st = buf;
	memset(s, 0, sizeof(*s));
	s->ncpus = st->nlcores < ENGINE_MAX_CPUS ? st->nlcores : ENGINE_MAX_CPUS;
	s->cpu_label = "lcore";
	for (i = 0; i < s->ncpus && i < DP_CTL_MAX_LCORES; i++) {
		s->cpu_id[i] = st->lcore_id[i];
		s->cpu_packets[i] = st->lcore_packets[i];
	}
	s->global = st->global;
	memcpy(s->vip, st->vip, sizeof(s->vip));
	memcpy(s->backend, st->backend, sizeof(s->backend));
	memcpy(s->pin, st->pin, sizeof(s->pin));
	s->flows_entries = st->flows_used;
	s->flows_capacity = st->flows_capacity;
	s->generation = st->generation;
#define EXTRA(n, h, v)                                                   \
	do {                                                             \
		s->extra[s->nextra].name = n;                            \
		s->extra[s->nextra].help = h;                            \
		s->extra[s->nextra++].value = v;                         \
	} while (0)
	EXTRA("dpdk_realigned", "Frames moved 2 bytes to align the IP header.",
	      st->realigned);
	EXTRA("dpdk_linearized", "Multi-segment frames made contiguous.",
	      st->linearized);
	EXTRA("dpdk_tx_dropped", "Frames freed because a data port's TX queue was full.",
	      st->tx_dropped);
	EXTRA("dpdk_pass_freed", "Frames not for a VIP freed for want of an exception port.",
	      st->pass_freed);
	EXTRA("dpdk_exception_tx_dropped", "Frames freed because the exception port's TX queue was full.",
	      st->exception_tx_dropped);
	EXTRA("dpdk_exception_rx", "Frames from the kernel (exception port) sent to the wire.",
	      st->exception_rx);
#undef EXTRA
	free(buf);
	return dpdk_read_ports(e, s);
}

static int dpdk_snapshot(struct engine *e, struct engine_snapshot *s)
{
	const struct ferry_snap *sn = &e->snap;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	if (!e->live)
		return -ENOENT;
	s->vip_keys = calloc(sn->nvips + 1, sizeof(*s->vip_keys));
	s->vips = calloc(sn->nvips + 1, sizeof(*s->vips));
	s->backend_ids = calloc(sn->nbackends + 1, sizeof(*s->backend_ids));
	s->backends = calloc(sn->nbackends + 1, sizeof(*s->backends));
	if (!s->vip_keys || !s->vips || !s->backend_ids || !s->backends) {
		engine_snapshot_free(s);
		return -ENOMEM;
	}
	for (i = 0; i < sn->nvips; i++) {
		s->vip_keys[i] = sn->vips[i].key;
		s->vips[i] = sn->vips[i].vip;
	}
	s->nvips = sn->nvips;
	for (i = 0; i < sn->nbackends; i++) {
		s->backend_ids[i] = sn->backends[i].id;
		s->backends[i] = sn->backends[i].be;
	}
	s->nbackends = sn->nbackends;
	return 0;
}

static bool dpdk_forwarding(struct engine *e, char *why, size_t len)
{
	struct dp_ctl_info info;
	__u32 gen = 0;
	unsigned int i, up = 0, data = 0;

	if (dpdk_info(e, &info, &gen)) {
		if (why)
			snprintf(why, len, "%s", e->why);
		return false;
	}
	for (i = 0; i < info.nports && i < DP_CTL_MAX_PORTS; i++) {
		if (!info.port[i].data)
			continue;
		data++;
		up += info.port[i].link_up;
	}
	if (!gen || gen != e->generation) {
		if (why)
			snprintf(why, len, "ferry-dpdk serves generation %u, not %u",
				 gen, e->generation);
		return false;
	}
	if (!data || !up) {
		if (why)
			snprintf(why, len, "ferry-dpdk has no data port with a link up");
		return false;
	}
	return true;
}

/* Forgets the tables: ferry-dpdk serves nothing (every frame goes to the
 * kernel through the exception port) and removes its tables file. */
static int dpdk_destroy(const struct ferry_conf *conf)
{
	struct engine *e = dpdk_new(conf);
	struct dp_ctl_msg m;
	void *buf;
	size_t len;
	int r;

	if (!e)
		return -ENOMEM;
	r = dpdk_call(e, DP_CTL_CLEAR, NULL, 0, &m, &buf, &len);
	free(buf);
	if (!r)
		r = m.status;
	if (r == -ENOENT || r == -ECONNREFUSED) {
		/* Nobody serves: only the tables file would come back. */
		r = 0;
		if (remove(conf->dp.dp.tables) && errno != ENOENT)
			r = -errno;
	}
	dpdk_close(e);
	return r;
}

/* ---- where: the core over the live snapshot, read-only ------------------ */
struct lb_tables {
	const struct ferry_snap *s;
};

static inline const struct lb_vip *lb_tbl_vip(struct lb_tables *t,
					      const struct lb_vip_key *k)
{
	__u32 i;

	for (i = 0; i < t->s->nvips; i++)
		if (!memcmp(&t->s->vips[i].key, k, sizeof(*k)))
			return &t->s->vips[i].vip;
	return NULL;
}

static inline __u32 lb_tbl_ring(struct lb_tables *t, __u32 ring, __u32 slot)
{
	const struct ferry_snap_ring *r;
	const __u32 *slots;
	size_t pos = 0;
	__u32 i;

	for (i = 0; i < t->s->nrings; i++) {
		r = ferry_snap_ring_next(t->s, &pos, &slots);
		if (r->index == ring)
			return slot < r->size ? slots[slot] : FERRY_NO_BACKEND;
	}
	return FERRY_NO_BACKEND;
}

static inline const struct lb_backend *lb_tbl_backend(struct lb_tables *t,
						      __u32 id)
{
	__u32 i;

	for (i = 0; i < t->s->nbackends; i++)
		if (t->s->backends[i].id == id)
			return &t->s->backends[i].be;
	return NULL;
}

/* The first bits bits of a and b agree. */
static bool dpdk_prefix_match(const __u8 *a, const __u8 *b, __u32 bits)
{
	__u32 full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (0xff00 >> rest));
}

/* Longest prefix over (vip_id, addr), as the XDP LPM trie matches. */
static inline const struct lb_pin *lb_tbl_pin(struct lb_tables *t,
					      const struct lb_pin_key *k)
{
	const struct lb_pin *best = NULL;
	__u32 i, best_len = 0;

	for (i = 0; i < t->s->npins; i++) {
		const struct lb_pin_key *p = &t->s->pins[i].key;

		if (p->prefixlen > k->prefixlen || (best && p->prefixlen < best_len))
			continue;
		if (dpdk_prefix_match((const __u8 *)&p->vip_id,
				      (const __u8 *)&k->vip_id, p->prefixlen)) {
			best = &t->s->pins[i].pin;
			best_len = p->prefixlen;
		}
	}
	return best;
}

/* ferry-dpdk's conntrack is per lcore, in its own memory: where answers
 * what the tables decide (a new flow's backend). */
static inline const struct lb_flow *lb_tbl_flow(struct lb_tables *t,
						const struct lb_flow_key *k,
						__u32 hash)
{
	(void)t;
	(void)k;
	(void)hash;
	return NULL;
}

static inline void lb_tbl_flow_put(struct lb_tables *t,
				   const struct lb_flow_key *k, __u32 hash,
				   const struct lb_flow *v)
{
	(void)t;
	(void)k;
	(void)hash;
	(void)v;
}

static inline __u32 lb_tbl_seed(struct lb_tables *t)
{
	return t->s->hash_seed;
}

#include "common/pipeline.h"

static int dpdk_where(struct engine *e, const __u8 *frame, __u32 len,
		      struct lb_result *r)
{
	struct lb_tables t = { .s = &e->snap };

	if (!e->live)
		return -ENOENT;
	lb_decide(&t, e->snap.cfg, frame, frame + len, r);
	return 0;
}

const struct engine_ops engine_dpdk_ops = {
	.name = "dpdk",
	.open = dpdk_open,
	.attach_existing = dpdk_attach_existing,
	.apply = dpdk_apply,
	.read_stats = dpdk_read_stats,
	.snapshot = dpdk_snapshot,
	.where = dpdk_where,
	.forwarding = dpdk_forwarding,
	.tick = dpdk_tick,
	.destroy = dpdk_destroy,
	.close = dpdk_close,
};
