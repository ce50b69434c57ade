// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/health.c: the probe state machine (due -> connecting -> waiting -> done; a connect that completes at once, as UDP's does, goes straight to waiting), rise/fall accounting, and the tcp, http and radius kinds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/rand.h>
#include "health.h"
#include "radius.h"

_Static_assert(HEALTH_SECRET_MAX == RADIUS_SECRET_MAX,
	       "the configured secret must fit the RADIUS code");

enum probe_state { P_IDLE, P_CONNECTING, P_WAITING };

struct probe {
	struct health *h;
	struct health_probe_def def;
	struct health_probe_info info;
	enum probe_state state;
	bool paused;
	int fd;
	uint64_t started, deadline, next_due;
	__u32 ok_run, fail_run; /* consecutive results */
	size_t got;
	char buf[64];
	/* Why the running probe failed, published as info.last_error when it
	 * ends (which so keeps the previous result's while one runs). */
	char err[sizeof(((struct health_probe_info *)0)->last_error)];
	__u8 rad_id; /* radius: the request's identifier and authenticator */
	__u8 rad_auth[RADIUS_AUTH_LEN];
};

/* What one kind of probe does once connected. A SOCK_DGRAM kind's
 * connect() completes at once: its connected() runs straight away (it sends
 * the request) and the probe waits for EPOLLIN. */
struct health_kind {
	int sock_type; /* SOCK_STREAM or SOCK_DGRAM */
	/* 1: success already; 0: wait for EPOLLIN; < 0: failure. */
	int (*connected)(struct health *h, struct probe *p);
	/* 1: success; 0: need more; < 0: failure. */
	int (*readable)(struct health *h, struct probe *p);
};

struct health {
	struct loop *loop;
	health_change_cb cb;
	void *arg;
	struct probe *probes;
	unsigned int n;
};

static int tcp_connected(struct health *h, struct probe *p)
{
	(void)h;
	(void)p;
	return 1;
}

static int http_connected(struct health *h, struct probe *p)
{
	char req[320], host[64];
	int len;

	(void)h;
	if (p->def.spec.host[0])
		snprintf(host, sizeof(host), "%s", p->def.spec.host);
	else
		inet_ntop(p->def.family == LB_AF_INET6 ? AF_INET6 : AF_INET,
			  &p->def.addr, host, sizeof(host));
	len = snprintf(req, sizeof(req),
		       "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: ferryd\r\n"
		       "Connection: close\r\n\r\n",
		       p->def.spec.path, host);
	if (len < 0 || (size_t)len >= sizeof(req))
		return -EINVAL;
	if (send(p->fd, req, (size_t)len, MSG_NOSIGNAL) != len)
		return -EIO;
	p->got = 0;
	return 0;
}

/* "HTTP/1.x NNN": enough of the status line to judge. */
static int http_readable(struct health *h, struct probe *p)
{
	ssize_t r;
	unsigned int code;

	(void)h;
	r = recv(p->fd, p->buf + p->got, sizeof(p->buf) - 1 - p->got, 0);
	if (r < 0)
		return errno == EAGAIN ? 0 : -errno;
	p->got += (size_t)r;
	p->buf[p->got] = 0;
	if (p->got < 12 && r > 0)
		return 0;
	if (sscanf(p->buf, "HTTP/1.%*1[01] %3u", &code) != 1)
		return -EPROTO;
	if (code != p->def.spec.expect) {
		snprintf(p->err, sizeof(p->err), "status %u", code);
		return -EBADMSG;
	}
	return 1;
}

/* radius: Status-Server (RFC 5997) with a random Request Authenticator and
 * identifier, a Message-Authenticator and NAS-Identifier "ferryd". */
static int radius_connected(struct health *h, struct probe *p)
{
	uint8_t pkt[RADIUS_HDR_LEN + 64];
	uint8_t rnd[1 + RADIUS_AUTH_LEN];
	ssize_t sent;
	int len;

	(void)h;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(p->err, sizeof(p->err), "no random bytes");
		return -EIO;
	}
	p->rad_id = rnd[0];
	memcpy(p->rad_auth, rnd + 1, RADIUS_AUTH_LEN);
	len = radius_status_server(pkt, sizeof(pkt), p->rad_id, p->rad_auth,
				   "ferryd", p->def.spec.secret,
				   strlen(p->def.spec.secret));
	if (len < 0)
		return len;
	/* ECONNREFUSED here: an ICMP port unreachable already came back. */
	sent = send(p->fd, pkt, (size_t)len, MSG_NOSIGNAL);
	if (sent < 0)
		return -errno;
	return sent == len ? 0 : -EIO;
}

/* One datagram: the reply, verified; anything else is a failure. ICMP
 * port unreachable surfaces here as ECONNREFUSED. */
static int radius_readable(struct health *h, struct probe *p)
{
	uint8_t pkt[RADIUS_PACKET_MAX];
	uint8_t want = p->def.spec.radius_acct ? RADIUS_ACCOUNTING_RESPONSE :
						 RADIUS_ACCESS_ACCEPT;
	uint8_t code = 0;
	enum radius_result res;
	ssize_t r;

	(void)h;
	r = recv(p->fd, pkt, sizeof(pkt), MSG_TRUNC);
	if (r < 0)
		return errno == EAGAIN ? 0 : -errno;
	if ((size_t)r > sizeof(pkt)) {
		snprintf(p->err, sizeof(p->err), "reply of %zd octets", r);
		return -EMSGSIZE;
	}
	res = radius_verify_reply(pkt, (size_t)r, p->rad_id, p->rad_auth, want,
				  p->def.spec.secret,
				  strlen(p->def.spec.secret), &code);
	if (res == RADIUS_OK)
		return 1;
	if (res == RADIUS_ERR_CODE)
		snprintf(p->err, sizeof(p->err), "code %u", code);
	else
		snprintf(p->err, sizeof(p->err), "%s", radius_result_str(res));
	return -EBADMSG;
}

static const struct health_kind kinds[HEALTH_TYPE_MAX] = {
	[HEALTH_TCP] = { SOCK_STREAM, tcp_connected, NULL },
	[HEALTH_HTTP] = { SOCK_STREAM, http_connected, http_readable },
	[HEALTH_RADIUS] = { SOCK_DGRAM, radius_connected, radius_readable },
};

static void probe_close(struct health *h, struct probe *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (p->fd < 0)
		return;
	loop_del(h->loop, p->fd);
	/* Reset, not FIN: a checker leaves no TIME_WAIT behind. */
	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(p->fd);
	p->fd = -1;
}

static void probe_done(struct health *h, struct probe *p, int result)
{
	unsigned int idx = (unsigned int)(p - h->probes);
	uint64_t now = loop_now_ms();
	bool was = p->info.up;

	probe_close(h, p);
	p->state = P_IDLE;
	p->info.last_ms = (__u32)(now - p->started);
	if (result > 0) {
		p->info.ok++;
		p->ok_run++;
		p->fail_run = 0;
		p->info.last_error[0] = 0;
		if (!p->info.up && p->ok_run >= p->def.spec.rise)
			p->info.up = true;
	} else {
		p->info.failed++;
		p->fail_run++;
		p->ok_run = 0;
		if (p->err[0])
			snprintf(p->info.last_error, sizeof(p->info.last_error),
				 "%s", p->err);
		else
			snprintf(p->info.last_error, sizeof(p->info.last_error),
				 "%s", strerror(-result));
		if (p->info.up && p->fail_run >= p->def.spec.fall)
			p->info.up = false;
	}
	if (was != p->info.up && h->cb)
		h->cb(h->arg, idx, p->info.up);
}

static void probe_io(struct health *h, struct probe *p, uint32_t events)
{
	const struct health_kind *k = &kinds[p->def.spec.type];
	int err = 0, r;
	socklen_t len = sizeof(err);

	if (p->state == P_CONNECTING) {
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			probe_done(h, p, -(err ? err : errno));
			return;
		}
		r = k->connected(h, p);
		if (r != 0) {
			probe_done(h, p, r);
			return;
		}
		p->state = P_WAITING;
		loop_mod(h->loop, p->fd, EPOLLIN);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		r = k->readable ? k->readable(h, p) : -EPROTO;
		if (r != 0)
			probe_done(h, p, r);
	}
}

static void probe_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct probe *p = arg;

	(void)l;
	(void)fd;
	probe_io(p->h, p, events);
}

static void probe_start(struct health *h, struct probe *p, uint64_t now)
{
	const struct health_kind *k = &kinds[p->def.spec.type];
	struct sockaddr_storage ss;
	socklen_t sl;
	int r;

	memset(&ss, 0, sizeof(ss));
	if (p->def.family == LB_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p->def.spec.port);
		memcpy(&s6->sin6_addr, &p->def.addr, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(p->def.spec.port);
		s4->sin_addr.s_addr = p->def.addr.v4;
		sl = sizeof(*s4);
	}
	p->started = now;
	p->deadline = now + p->def.spec.timeout_ms;
	p->next_due = now + p->def.spec.interval_ms;
	p->err[0] = 0;
	p->fd = socket(ss.ss_family, k->sock_type | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (p->fd < 0) {
		probe_done(h, p, -errno);
		return;
	}
	r = connect(p->fd, (struct sockaddr *)&ss, sl);
	if (r && errno != EINPROGRESS) {
		probe_done(h, p, -errno);
		return;
	}
	if (loop_add(h->loop, p->fd, r ? EPOLLOUT : EPOLLIN, probe_cb, p)) {
		probe_done(h, p, -ENOMEM);
		return;
	}
	if (r) {
		p->state = P_CONNECTING;
		return;
	}
	/* Connected at once (UDP): send the request, wait for the answer. */
	p->state = P_WAITING;
	r = k->connected(h, p);
	if (r != 0)
		probe_done(h, p, r);
}

void health_tick(struct health *h, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < h->n; i++) {
		struct probe *p = &h->probes[i];

		if (p->def.spec.type == HEALTH_NONE || p->paused)
			continue;
		if (p->state != P_IDLE && now >= p->deadline) {
			snprintf(p->err, sizeof(p->err), "timeout");
			probe_done(h, p, -ETIMEDOUT);
		}
		if (p->state == P_IDLE && now >= p->next_due)
			probe_start(h, p, now);
	}
}

struct health *health_new(struct loop *l, health_change_cb cb, void *arg)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->loop = l;
	h->cb = cb;
	h->arg = arg;
	return h;
}

void health_free(struct health *h)
{
	unsigned int i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		probe_close(h, &h->probes[i]);
	free(h->probes);
	free(h);
}

static bool probe_same(const struct health_probe_def *a,
		       const struct health_probe_def *b)
{
	return a->family == b->family &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr)) &&
	       !memcmp(&a->spec, &b->spec, sizeof(a->spec));
}

static uint64_t jitter(__u32 interval_ms)
{
	__u32 r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (__u32)loop_now_ms();
	return interval_ms ? r % interval_ms : 0;
}

int health_set(struct health *h, const struct health_probe_def *defs,
	       unsigned int n)
{
	struct probe *np = calloc(n ? n : 1, sizeof(*np));
	uint64_t now = loop_now_ms();
	unsigned int i, j;

	if (!np)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		np[i].h = h;
		np[i].def = defs[i];
		np[i].fd = -1;
		np[i].info.up = defs[i].up;
		/* Jittered first run: probes of many nodes spread out. */
		np[i].next_due = now + jitter(defs[i].spec.interval_ms);
		for (j = 0; j < h->n; j++) {
			struct probe *o = &h->probes[j];

			if (o->def.spec.type == HEALTH_TYPE_MAX ||
			    !probe_same(&o->def, &defs[i]))
				continue;
			probe_close(h, o);
			np[i].info = o->info;
			np[i].ok_run = o->ok_run;
			np[i].fail_run = o->fail_run;
			np[i].next_due = o->next_due;
			o->def.spec.type = HEALTH_TYPE_MAX; /* taken */
			break;
		}
	}
	for (j = 0; j < h->n; j++)
		probe_close(h, &h->probes[j]);
	free(h->probes);
	h->probes = np;
	h->n = n;
	return 0;
}

void health_pause(struct health *h, unsigned int probe, bool paused)
{
	struct probe *p;

	if (probe >= h->n || h->probes[probe].paused == paused)
		return;
	p = &h->probes[probe];
	p->paused = paused;
	if (paused) {
		probe_close(h, p);
		p->state = P_IDLE;
	} else {
		p->next_due = loop_now_ms();
	}
}

bool health_is_up(const struct health *h, unsigned int probe)
{
	return probe < h->n ? h->probes[probe].info.up : false;
}

int health_info(const struct health *h, unsigned int probe,
		struct health_probe_info *out)
{
	if (probe >= h->n)
		return -ENOENT;
	*out = h->probes[probe].info;
	return 0;
}
