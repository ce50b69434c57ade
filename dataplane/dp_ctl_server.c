/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_ctl_server.c: ferry-dpdk's control server (dp_ctl_server.h): INFO, LOAD, STATS, SNAPSHOT and CLEAR over dp_ctl's framing, the live snapshot and its tables file. DPDK userspace only. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dp_ctl_server.h"

#define FLOWS_SAMPLE 4096 /* buckets per window (a power of two) */
#define FLOWS_WINDOWS_PER_STATS 32 /* windows counted per STATS (~8 MiB) */

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

int dp_server_init(struct dp_server *s)
{
	s->fd = -1;
	if (getrandom(&s->boot_id, sizeof(s->boot_id), 0) !=
	    (ssize_t)sizeof(s->boot_id))
		s->boot_id = rte_rdtsc() ^ now_ns(CLOCK_REALTIME) ^
			     ((__u64)getpid() << 32);
	s->started_ns = now_ns(CLOCK_REALTIME);
	s->stats = calloc(1, sizeof(*s->stats));
	s->reply = calloc(1, sizeof(*s->reply));
	return s->stats && s->reply ? 0 : -ENOMEM;
}

int dp_server_listen(struct dp_server *s, const char *path)
{
	int fd = dp_ctl_listen(path, 0600);

	if (fd < 0)
		return fd;
	s->fd = fd;
	return 0;
}

void dp_server_fini(struct dp_server *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->live);
	free(s->stats);
	free(s->reply);
	free(s->win_used);
	s->win_used = NULL;
	s->live = NULL;
	s->stats = NULL;
	s->reply = NULL;
}

/* ---- tables ---------------------------------------------------------------- */
/* Builds the tables of a parsed snapshot. A config without a source MAC
 * (ferryd leaves it to the engine, as XDP fills in the interface's) gets
 * the first data port's. */
static int server_build(struct dp_server *s, const struct ferry_snap *snap,
			struct dp_tables **t, char *err, size_t errlen)
{
	static const __u8 zero_mac[6];
	struct rte_ether_addr mac;
	int r;

	r = dp_tables_build(snap, s->engine->socket, t);
	if (r) {
		snprintf(err, errlen, "building tables: %s", strerror(-r));
		return r;
	}
	if (!memcmp((*t)->cfg.src_mac, zero_mac, 6) && s->nports &&
	    !rte_eth_macaddr_get(s->ports[0], &mac))
		memcpy((*t)->cfg.src_mac, mac.addr_bytes, 6);
	return 0;
}

/* The live snapshot becomes buf (taken), parsed as snap (NULL: none). A
 * snapshot without a source MAC lets every data port put its own on the
 * frames it sends. */
static void server_keep(struct dp_server *s, void *buf, size_t len,
			const struct ferry_snap *snap)
{
	static const __u8 zero_mac[6];
	bool own = snap && !memcmp(snap->cfg->src_mac, zero_mac, 6);

	__atomic_store_n(&s->mac_per_port, own, __ATOMIC_RELAXED);
	free(s->live);
	s->live = buf;
	s->live_len = len;
}

static void log_live(const char *why, const char *src,
		     const struct ferry_snap *snap)
{
	fprintf(stderr,
		"ferry-dpdk: %s %s: generation %u live (%u VIP keys, %u rings, %u backends, %u pins)\n",
		why, src, snap->generation, snap->nvips, snap->nrings,
		snap->nbackends, snap->npins);
}

int dp_server_load_file(struct dp_server *s, const char *why)
{
	struct ferry_snap snap;
	struct dp_tables *t;
	char err[256] = "";
	size_t len;
	void *buf;
	int r;

	if (!s->tables)
		return -ENOENT;
	r = ferry_snap_read_file(s->tables, &buf, &len, &snap, err,
				 sizeof(err));
	if (r) {
		fprintf(stderr, "ferry-dpdk: %s %s: %s\n", why, s->tables,
			r == -EINVAL && err[0] ? err : strerror(-r));
		return r;
	}
	r = server_build(s, &snap, &t, err, sizeof(err));
	if (!r)
		r = dp_engine_publish(s->engine, t, DP_NO_READER, err,
				      sizeof(err));
	if (r) {
		fprintf(stderr, "ferry-dpdk: %s %s: %s\n", why, s->tables, err);
		free(buf);
		return r;
	}
	log_live(why, s->tables, &snap);
	server_keep(s, buf, len, &snap);
	return 0;
}

/* After a refused publish: the file goes back to the live generation. */
static void server_restore_file(struct dp_server *s)
{
	int r = 0;

	if (s->live)
		r = ferry_snap_write_file(s->tables, s->live, s->live_len);
	else if (unlink(s->tables) && errno != ENOENT)
		r = -errno;
	if (r)
		fprintf(stderr,
			"ferry-dpdk: control: putting %s back to generation %u: %s\n",
			s->tables, dp_server_generation(s), strerror(-r));
}

/* LOAD: validate, build, save, publish. On success buf is the live
 * snapshot; on error the caller keeps it and err says why. */
static int server_load(struct dp_server *s, void *buf, size_t len, char *err,
		       size_t errlen)
{
	struct ferry_snap snap;
	struct dp_tables *t;
	int r;

	r = ferry_snap_parse(buf, len, &snap, err, errlen);
	if (r)
		return r;
	r = server_build(s, &snap, &t, err, errlen);
	if (r)
		return r;
	if (s->tables) {
		r = ferry_snap_write_file(s->tables, buf, len);
		if (r) {
			snprintf(err, errlen, "writing %s: %s", s->tables,
				 strerror(-r));
			dp_tables_free(t);
			return r;
		}
	}
	r = dp_engine_publish(s->engine, t, DP_NO_READER, err, errlen);
	if (r) {
		if (s->tables)
			server_restore_file(s);
		return r;
	}
	log_live("control: load", "from ferryd", &snap);
	server_keep(s, buf, len, &snap);
	return 0;
}

int dp_server_clear(struct dp_server *s)
{
	struct dp_tables *t;
	char err[256] = "";
	int r;

	r = dp_engine_empty_tables(s->engine, &t);
	if (r)
		return r;
	if (s->tables && unlink(s->tables) && errno != ENOENT) {
		r = -errno;
		fprintf(stderr, "ferry-dpdk: control: clear: removing %s: %s\n",
			s->tables, strerror(-r));
		dp_tables_free(t);
		return r;
	}
	r = dp_engine_publish(s->engine, t, DP_NO_READER, err, sizeof(err));
	if (r) {
		fprintf(stderr, "ferry-dpdk: control: clear: %s\n", err);
		if (s->tables)
			server_restore_file(s);
		return r;
	}
	server_keep(s, NULL, 0, NULL);
	fprintf(stderr,
		"ferry-dpdk: control: clear: no tables (generation 0), every frame to the exception path\n");
	return 0;
}

/* ---- requests ---------------------------------------------------------------- */
static void info_port(struct dp_ctl_port *p, uint16_t port, bool data)
{
	struct rte_eth_link link;
	struct rte_ether_addr mac;
	struct rte_eth_stats es;

	p->port = port;
	p->data = data;
	if (!rte_eth_link_get_nowait(port, &link))
		p->link_up = link.link_status == RTE_ETH_LINK_UP;
	if (!rte_eth_macaddr_get(port, &mac))
		memcpy(p->mac, mac.addr_bytes, 6);
	if (rte_eth_stats_get(port, &es))
		return;
	p->ipackets = es.ipackets;
	p->opackets = es.opackets;
	p->imissed = es.imissed;
	p->ierrors = es.ierrors;
	p->oerrors = es.oerrors;
}

static int do_info(struct dp_server *s, int fd)
{
	struct dp_ctl_info info = {
		.boot_id = s->boot_id,
		.pid = (__u32)getpid(),
		.nlcores = s->engine->nlcores,
		.flows = s->engine->flows,
		.align = s->engine->nlcores &&
			 dp_engine_lcore(s->engine, 0)->align == DP_ALIGN_TRUST,
		.started_ns = s->started_ns,
	};
	unsigned int i;

	for (i = 0; i < s->nports && info.nports < DP_CTL_MAX_PORTS; i++)
		info_port(&info.port[info.nports++], s->ports[i], true);
	if (s->exc_port != DP_SERVER_NO_PORT && info.nports < DP_CTL_MAX_PORTS)
		info_port(&info.port[info.nports++], s->exc_port, false);
	return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, DP_CTL_INFO, 0,
			    dp_server_generation(s), &info, sizeof(info));
}

/* Conntrack slots in use, every lcore's cache cut into windows of
 * FLOWS_SAMPLE buckets: each STATS counts the next FLOWS_WINDOWS_PER_STATS
 * windows (a few ms at most) and the total sums every window's last
 * count, so it is exact for a still table after a full round (one call
 * with the default size and a few lcores). */
static __u64 flows_used(struct dp_server *s)
{
	const struct dp_lcore *lc0 = dp_engine_lcore(s->engine, 0);
	__u32 nb = lc0->flow_mask + 1; /* every lcore's size */
	__u32 win = nb < FLOWS_SAMPLE ? nb : FLOWS_SAMPLE, per = nb / win;
	__u64 used = 0;
	unsigned int k;

	if (!s->win_used) {
		s->nwin = s->engine->nlcores * per;
		s->win_used = calloc(s->nwin, sizeof(*s->win_used));
		if (!s->win_used)
			return 0;
	}
	for (k = 0; k < FLOWS_WINDOWS_PER_STATS && k < s->nwin; k++) {
		__u32 idx = s->sample++ % s->nwin;
		const struct dp_lcore *lc = dp_engine_lcore(s->engine, idx / per);

		s->win_used[idx] =
			dp_lcore_flows_used(lc, idx % per * win, win);
	}
	for (k = 0; k < s->nwin; k++)
		used += s->win_used[k];
	return used;
}

static int do_stats(struct dp_server *s, int fd)
{
	struct dp_ctl_stats *st = s->reply;
	const struct dp_stats *es = s->stats;
	unsigned int i;

	dp_engine_stats(s->engine, s->stats);
	memset(st, 0, sizeof(*st));
	st->nlcores = es->nlcores;
	st->generation = es->generation;
	st->global = es->global;
	memcpy(st->vip, es->vip, sizeof(st->vip));
	memcpy(st->backend, es->backend, sizeof(st->backend));
	memcpy(st->pin, es->pin, sizeof(st->pin));
	for (i = 0; i < es->nlcores && i < DP_CTL_MAX_LCORES; i++) {
		st->lcore_id[i] = s->lcore_id[i];
		st->lcore_packets[i] = es->lcore_packets[i];
	}
	st->flows_capacity = es->flows_capacity;
	st->flows_used = flows_used(s);
	st->realigned = es->dp.realigned;
	st->linearized = es->dp.linearized;
	if (s->proc_stats)
		s->proc_stats(st);
	return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, DP_CTL_STATS, 0,
			    st->generation, st, sizeof(*st));
}

static int do_load(struct dp_server *s, int fd, void *buf, size_t len)
{
	char err[256] = "";
	int r = -EINVAL;

	if (!len)
		snprintf(err, sizeof(err), "no snapshot (an empty payload)");
	else
		r = server_load(s, buf, len, err, sizeof(err));
	if (!r)
		return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, DP_CTL_LOAD, 0,
				    dp_server_generation(s), NULL, 0);
	free(buf);
	if (!err[0])
		snprintf(err, sizeof(err), "%s", strerror(-r));
	fprintf(stderr,
		"ferry-dpdk: control: load refused (%zu bytes): %s; generation %u serves on\n",
		len, err, dp_server_generation(s));
	return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, DP_CTL_LOAD, r,
			    dp_server_generation(s), err, strlen(err));
}

/* One request on a connected socket; the payload (if any) is taken. */
static int serve(struct dp_server *s, int fd, const struct dp_ctl_msg *req,
		 void *payload, size_t len)
{
	int r;

	if (req->op == DP_CTL_LOAD)
		return do_load(s, fd, payload, len);
	free(payload);
	if (len) {
		fprintf(stderr,
			"ferry-dpdk: control: op %u with a payload of %zu bytes: refused\n",
			req->op, len);
		return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, req->op, -EINVAL,
				    dp_server_generation(s), NULL, 0);
	}
	switch (req->op) {
	case DP_CTL_INFO:
		return do_info(s, fd);
	case DP_CTL_STATS:
		return do_stats(s, fd);
	case DP_CTL_SNAPSHOT:
		return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, DP_CTL_SNAPSHOT, 0,
				    dp_server_generation(s), s->live,
				    s->live_len);
	case DP_CTL_CLEAR:
		r = dp_server_clear(s);
		return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, DP_CTL_CLEAR, r,
				    dp_server_generation(s), NULL, 0);
	}
	return dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, req->op, -EPROTO,
			    dp_server_generation(s), NULL, 0);
}

static void handle(struct dp_server *s, int fd)
{
	struct dp_ctl_msg req = { 0 };
	void *payload;
	size_t len;
	int r;

	r = dp_ctl_recv(fd, DP_CTL_TIMEOUT_MS, &req, &payload, &len);
	if (r == -EPROTO) {
		fprintf(stderr,
			"ferry-dpdk: control: not a request (magic %#x, version %u, op %u, length %llu): refused\n",
			req.magic, req.version, req.op,
			(unsigned long long)req.len);
		/* Best effort: a client of another protocol may not read. */
		dp_ctl_reply(fd, DP_CTL_TIMEOUT_MS, req.op, -EPROTO,
			     dp_server_generation(s), NULL, 0);
		return;
	}
	if (r) {
		fprintf(stderr, "ferry-dpdk: control: reading a request: %s\n",
			strerror(-r));
		return;
	}
	r = serve(s, fd, &req, payload, len);
	if (r)
		fprintf(stderr, "ferry-dpdk: control: replying to op %u: %s\n",
			req.op, strerror(-r));
}

void dp_server_poll(struct dp_server *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	static bool accept_failing;
	int fd;

	if (s->fd < 0) {
		poll(NULL, 0, timeout_ms);
		return;
	}
	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		if (!accept_failing)
			fprintf(stderr, "ferry-dpdk: control: accept: %s\n",
				strerror(errno));
		accept_failing = true;
		poll(NULL, 0, timeout_ms); /* e.g. EMFILE: do not spin */
		return;
	}
	accept_failing = false;
	handle(s, fd);
	close(fd);
}
