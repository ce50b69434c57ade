// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/announce.c: VIP announcements: one route per announced VIP address (/32, /128, dev <dataplane interface>, proto 252) in the `announce` table, kept equal to "forwarding and healthy" over rtnetlink; BIRD learns the table and speaks BGP. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "announce.h"
#include "daemon.h"
#include "log.h"

/*
 * Why routes in a table, and not BGP here: BIRD (or any daemon that learns
 * kernel routes) does the BGP, BFD and policy; ferryd only says, by a
 * route's presence, "this machine forwards this VIP now". The routes name
 * the dataplane interface, so the kernel removes them with it; they
 * outlive ferryd (the pinned XDP program forwards without it), and
 * ferryd --detach removes them before the program. Only routes of
 * protocol ANNOUNCE_RTPROT in the table are ferryd's: others are left
 * alone.
 */

/* --- rtnetlink ------------------------------------------------------------ */

struct nl {
	int fd;
	__u32 seq;
};

struct nl_route {
	__u8 family; /* AF_INET, AF_INET6 */
	__u8 plen;
	union lb_addr addr;
	int oif;
};

#define NL_BUF (64 * 1024)

static int nl_open(struct nl *nl, unsigned int groups, bool nonblock)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	int one = 1, rcvbuf = 1 << 20;

	nl->seq = (__u32)time(NULL);
	nl->fd = socket(AF_NETLINK,
			SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
			NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	/* Kernel-side dump filtering by table and protocol (ignored by old
	 * kernels: the answer is filtered here as well). */
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (!nonblock) {
		struct timeval tv = { .tv_sec = 2 };

		setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(nl->fd);
		nl->fd = -1;
		return err;
	}
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

static void nl_attr(struct nlmsghdr *n, size_t max, unsigned short type,
		    const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	if (NLMSG_ALIGN(n->nlmsg_len) + RTA_SPACE(len) > max)
		return; /* sized by the callers: never */
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_SPACE(len);
}

static int nl_send(struct nl *nl, struct nlmsghdr *n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	n->nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* Receives the answers to the last request: each message to cb (which may
 * be NULL) until the ACK / NLMSG_DONE. 0 or -errno (the kernel's). */
static int nl_recv(struct nl *nl, void (*cb)(const struct nlmsghdr *h, void *arg),
		   void *arg)
{
	char *buf = malloc(NL_BUF);
	int err = -EIO;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t len = recv(nl->fd, buf, NL_BUF, 0);
		struct nlmsghdr *h;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (len == 0)
			break;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != nl->seq)
				continue; /* a late answer to an earlier request */
			if (h->nlmsg_type == NLMSG_DONE) {
				err = 0;
				goto out;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error;
				goto out;
			}
			if (cb)
				cb(h, arg);
		}
	}
out:
	free(buf);
	return err;
}

static size_t addr_len(__u8 family)
{
	return family == AF_INET6 ? 16 : 4;
}

static __u8 lb_to_af(__u8 lb_family)
{
	return lb_family == LB_AF_INET6 ? AF_INET6 : AF_INET;
}

/* A route message's table (RTA_TABLE wins over the 8-bit field). */
static __u32 rt_table(const struct nlmsghdr *h, struct rtattr **dst,
		      struct rtattr **oif)
{
	const struct rtmsg *r = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*r));
	struct rtattr *a = RTM_RTA(r);
	__u32 table = r->rtm_table;

	if (dst)
		*dst = NULL;
	if (oif)
		*oif = NULL;
	for (; len > 0 && RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= 4)
			memcpy(&table, RTA_DATA(a), 4);
		else if (a->rta_type == RTA_DST && dst)
			*dst = a;
		else if (a->rta_type == RTA_OIF && oif && RTA_PAYLOAD(a) >= 4)
			*oif = a;
	}
	return table;
}

struct dump_ctx {
	__u32 table;
	struct nl_route *rt;
	unsigned int n, cap;
	int err;
};

static void dump_one(const struct nlmsghdr *h, void *arg)
{
	struct dump_ctx *c = arg;
	const struct rtmsg *r = NLMSG_DATA(h);
	struct rtattr *dst, *oif;
	struct nl_route *rt;

	if (h->nlmsg_type != RTM_NEWROUTE ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*r)) ||
	    r->rtm_protocol != ANNOUNCE_RTPROT ||
	    rt_table(h, &dst, &oif) != c->table)
		return;
	if (c->n == c->cap) {
		unsigned int cap = c->cap ? c->cap * 2 : 16;
		struct nl_route *m = realloc(c->rt, cap * sizeof(*m));

		if (!m) {
			c->err = -ENOMEM;
			return;
		}
		c->rt = m;
		c->cap = cap;
	}
	rt = &c->rt[c->n++];
	memset(rt, 0, sizeof(*rt));
	rt->family = r->rtm_family;
	rt->plen = r->rtm_dst_len;
	if (dst && RTA_PAYLOAD(dst) <= sizeof(rt->addr))
		memcpy(&rt->addr, RTA_DATA(dst), RTA_PAYLOAD(dst));
	if (oif)
		memcpy(&rt->oif, RTA_DATA(oif), 4);
}

/* Every route of ours in table (both families) into c->rt. */
static int nl_dump(struct nl *nl, __u32 table, struct dump_ctx *c)
{
	static const __u8 families[] = { AF_INET, AF_INET6 };
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
		char attrs[16];
	} req;
	unsigned int i;
	int err;

	memset(c, 0, sizeof(*c));
	c->table = table;
	for (i = 0; i < sizeof(families); i++) {
		memset(&req, 0, sizeof(req));
		req.n.nlmsg_len = NLMSG_LENGTH(sizeof(req.r));
		req.n.nlmsg_type = RTM_GETROUTE;
		req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		req.r.rtm_family = families[i];
		req.r.rtm_protocol = ANNOUNCE_RTPROT;
		nl_attr(&req.n, sizeof(req), RTA_TABLE, &table, sizeof(table));
		err = nl_send(nl, &req.n);
		if (!err)
			err = nl_recv(nl, dump_one, c);
		/* No such table yet, or no IPv6 here: nothing of ours. */
		if (err == -ENOENT || err == -EAFNOSUPPORT)
			err = 0;
		if (!err)
			err = c->err;
		if (err) {
			free(c->rt);
			c->rt = NULL;
			c->n = 0;
			return err;
		}
	}
	return 0;
}

/* RTM_NEWROUTE (unicast, scope link, dev oif) or RTM_DELROUTE of ours. */
static int nl_route_op(struct nl *nl, int cmd, __u32 table,
		       const struct nl_route *rt)
{
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
		char attrs[64];
	} req;
	__u32 oif = (__u32)rt->oif;
	int err;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(req.r));
	req.n.nlmsg_type = (__u16)cmd;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.r.rtm_family = rt->family;
	req.r.rtm_dst_len = rt->plen;
	req.r.rtm_table = table < 256 ? (__u8)table : RT_TABLE_UNSPEC;
	req.r.rtm_protocol = ANNOUNCE_RTPROT; /* a delete matches ours only */
	if (cmd == RTM_NEWROUTE) {
		/* Never replaces a route someone else put there. */
		req.n.nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
		req.r.rtm_scope = RT_SCOPE_LINK;
		req.r.rtm_type = RTN_UNICAST;
	} else {
		req.r.rtm_scope = RT_SCOPE_NOWHERE;
	}
	nl_attr(&req.n, sizeof(req), RTA_TABLE, &table, sizeof(table));
	nl_attr(&req.n, sizeof(req), RTA_DST, &rt->addr, addr_len(rt->family));
	if (oif)
		nl_attr(&req.n, sizeof(req), RTA_OIF, &oif, sizeof(oif));
	err = nl_send(nl, &req.n);
	return err ? err : nl_recv(nl, NULL, NULL);
}

static const char *route_str(const struct nl_route *rt, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(rt->family, &rt->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, rt->plen);
	return buf;
}

/* Removes every route of ours from table; the number removed or -errno. */
static int nl_flush(struct nl *nl, __u32 table)
{
	struct dump_ctx c;
	unsigned int i;
	int err, n = 0;

	err = nl_dump(nl, table, &c);
	if (err)
		return err;
	for (i = 0; i < c.n; i++) {
		err = nl_route_op(nl, RTM_DELROUTE, table, &c.rt[i]);
		if (err && err != -ESRCH && err != -ENOENT)
			break;
		n += !err;
		err = 0;
	}
	free(c.rt);
	return err ? err : n;
}

/* --- the health rule -------------------------------------------------------- */

void announce_vips_ok(const struct ferry_conf *conf, const struct plan *p,
		      const bool *settled, bool *ok, unsigned int *active)
{
	unsigned int i, j, n;
	bool all;

	for (i = 0; i < p->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];
		__u32 need = i < conf->nvips ? conf->vips[i].min_healthy :
					       conf->announce.min_healthy;

		for (j = 0, n = 0, all = true; j < v->nbackends; j++) {
			unsigned int k = v->first_backend + j;
			const struct plan_backend *b = &p->backends[k];

			if (b->be.state == LB_BE_ACTIVE && b->weight > 0)
				n++;
			if (b->be.state != LB_BE_MAINT && settled && !settled[k])
				all = false;
		}
		ok[i] = all && n >= need;
		if (active)
			active[i] = n;
	}
}

/* --- the daemon's side ------------------------------------------------------- */

/* One VIP address: announced while any VIP on it qualifies. */
struct announce_addr {
	__u8 family; /* AF_INET, AF_INET6 */
	union lb_addr addr;
	bool want; /* this sync */
	bool on; /* its route is in the table (after the last sync) */
	bool was_on; /* before this sync */
	int add_err; /* the last failure to add it, logged once */
	char why[192]; /* why it is not wanted, for the log */
};

struct announce {
	struct ferryd *d;
	struct nl nl; /* requests */
	struct nl ev; /* link and route events */
	int tfd; /* the periodic re-check */
	__u32 table; /* where our routes are; 0: none */
	int ifindex;
	int fwd; /* -1: not known yet, else the last forwarding verdict */
	char fwd_why[160];
	/* Health settles: after a fresh start, or once the dataplane
	 * forwards again, a VIP waits until each of its backends has been
	 * probed max(rise, fall) times since (mark[k]: its probe's results
	 * then), so that its states, and so its rings, are those of the
	 * other Ferry machines, which probed all along. */
	bool settling;
	uint64_t settle_since_ms;
	__u64 *mark; /* per config backend */
	unsigned int nmark;
	const struct ferry_conf *conf_seen; /* a reload replaces d->conf */
	struct announce_addr *addrs;
	unsigned int naddrs;
};

static struct announce_addr *addr_find(const struct announce_addr *v,
				       unsigned int n, __u8 family,
				       const union lb_addr *a)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (v[i].family == family &&
		    !memcmp(&v[i].addr, a, addr_len(family)))
			return (struct announce_addr *)&v[i];
	return NULL;
}

static const char *addr_text(const struct announce_addr *x, char *buf,
			     size_t len)
{
	if (!inet_ntop(x->family, &x->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* The VIP addresses of the live plan, in plan order, each once; what the
 * previous set knew of an address (on, add_err) carries over. */
static int announce_addrs(struct announce *a)
{
	const struct plan *p = a->d->live;
	struct announce_addr *v = calloc(p->nvips ? p->nvips : 1, sizeof(*v));
	unsigned int i, n = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->nvips; i++) {
		const struct lb_vip_key *k = &p->vips[i].key;
		__u8 af = lb_to_af(k->family);
		struct announce_addr *old;

		if (addr_find(v, n, af, &k->addr))
			continue;
		v[n].family = af;
		memcpy(&v[n].addr, &k->addr, addr_len(af));
		old = addr_find(a->addrs, a->naddrs, af, &k->addr);
		if (old) {
			v[n].on = old->on;
			v[n].add_err = old->add_err;
		}
		n++;
	}
	/* Addresses no longer configured: their routes go as stale ones. */
	free(a->addrs);
	a->addrs = v;
	a->naddrs = n;
	return 0;
}

/* The dataplane forwards: the engine says so (XDP: its pinned link is
 * attached to the interface) and the interface is up with a carrier. */
static bool announce_forwarding(struct announce *a, char *why, size_t len)
{
	const char *ifname = a->d->conf->dp.interface;
	struct ifreq ifr;
	int fd, err = 0;

	a->ifindex = (int)if_nametoindex(ifname);
	if (!a->ifindex) {
		snprintf(why, len, "interface %s does not exist", ifname);
		return false;
	}
	if (a->d->ops->forwarding && !a->d->ops->forwarding(a->d->engine, why, len))
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err) {
		snprintf(why, len, "interface %s: %s", ifname, strerror(err));
		return false;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		snprintf(why, len, "interface %s is down", ifname);
		return false;
	}
	if (!(ifr.ifr_flags & IFF_RUNNING)) {
		snprintf(why, len, "interface %s has no carrier", ifname);
		return false;
	}
	return true;
}

/* Config backend k's VIP. */
static const struct conf_vip *backend_vip(const struct ferry_conf *c,
					  unsigned int k)
{
	unsigned int i;

	for (i = 0; i < c->nvips; i++) {
		if (k < c->vips[i].nbackends)
			return &c->vips[i];
		k -= c->vips[i].nbackends;
	}
	return NULL;
}

/* Probe results (ok + failed) of config backend k's probe so far; up:
 * its state; agrees: that state is what its last result says (after
 * "fail, ok" with rise 2 a backend is still down: not yet what the other
 * machines see). */
static __u64 backend_results(const struct ferryd *d, unsigned int k,
			     bool *up, bool *agrees)
{
	struct health_probe_info info;

	if (health_info(d->health, d->probe_of[k], &info)) {
		if (up)
			*up = true;
		if (agrees)
			*agrees = true;
		return 0;
	}
	if (up)
		*up = info.up;
	if (agrees)
		*agrees = info.up == !info.last_error[0];
	return info.ok + info.failed;
}

static void announce_timer(struct announce *a, unsigned int ms)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = ms / 1000,
				 .tv_nsec = (long)(ms % 1000) * 1000000L },
	};

	its.it_value = its.it_interval;
	if (a->tfd >= 0)
		timerfd_settime(a->tfd, 0, &its, NULL);
}

/* Health starts settling now: marks every backend's probe results. */
static void announce_mark(struct announce *a, const char *why)
{
	struct ferryd *d = a->d;
	__u64 *m = calloc(d->nbe ? d->nbe : 1, sizeof(*m));
	unsigned int k;

	if (!m)
		return; /* not settling: states as they are */
	for (k = 0; k < d->nbe; k++)
		m[k] = backend_results(d, k, NULL, NULL);
	free(a->mark);
	a->mark = m;
	a->nmark = d->nbe;
	a->conf_seen = d->conf;
	if (!a->settling) {
		a->settle_since_ms = loop_now_ms();
		log_info("announce: %s: each VIP waits until its backends have been probed max(rise, fall) times",
			 why);
	}
	a->settling = true;
	announce_timer(a, 100); /* notice the end of it soon */
}

/* settled[k] per plan backend (the config's, in order); ends settling
 * once every backend has settled. */
static void announce_settled(struct announce *a, const struct plan *p,
			     bool *settled)
{
	struct ferryd *d = a->d;
	bool all = true;
	unsigned int k;

	if (a->settling && a->conf_seen != d->conf)
		announce_mark(a, "reloaded while health settles"); /* anew */
	a->conf_seen = d->conf;
	for (k = 0; k < p->nbackends; k++) {
		const struct conf_vip *cv = backend_vip(d->conf, k);
		__u64 now, need, since;
		bool up, agrees;

		settled[k] = true;
		if (!a->settling || !cv || k >= a->nmark ||
		    cv->health.type == HEALTH_NONE)
			continue;
		need = cv->health.rise > cv->health.fall ? cv->health.rise :
							   cv->health.fall;
		now = backend_results(d, k, &up, &agrees);
		/* A probe the reload replaced counts from 0. */
		since = now - (now >= a->mark[k] ? a->mark[k] : 0);
		/* The probe's state must be in the live plan (so in the
		 * dataplane's ring) already: a change is applied at the next
		 * tick. A flapping backend settles anyway, later. */
		settled[k] = since >= need &&
			     up == (p->backends[k].be.state != LB_BE_DOWN) &&
			     (agrees || since >= 2 * (__u64)(cv->health.rise +
							     cv->health.fall));
		if (!settled[k] &&
		    p->backends[k].be.state != LB_BE_MAINT) /* not probed */
			all = false;
	}
	if (a->settling && all) {
		a->settling = false;
		log_info("announce: health settled after %llu ms",
			 (unsigned long long)(loop_now_ms() - a->settle_since_ms));
		announce_timer(a, ANNOUNCE_RECHECK_MS);
	}
}

/* Which addresses are wanted now, and why the others are not. */
static int announce_want(struct announce *a, bool forwarding)
{
	struct ferryd *d = a->d;
	const struct plan *p = d->live;
	bool *ok = calloc(p->nvips ? p->nvips : 1, sizeof(*ok));
	unsigned int *active = calloc(p->nvips ? p->nvips : 1, sizeof(*active));
	bool *settled = calloc(p->nbackends ? p->nbackends : 1, sizeof(*settled));
	unsigned int i, j;

	if (!ok || !active || !settled) {
		free(ok);
		free(active);
		free(settled);
		return -ENOMEM;
	}
	announce_settled(a, p, settled);
	announce_vips_ok(d->conf, p, settled, ok, active);
	for (i = 0; i < a->naddrs; i++) {
		a->addrs[i].want = false;
		snprintf(a->addrs[i].why, sizeof(a->addrs[i].why),
			 "dataplane not forwarding: %s", a->fwd_why);
	}
	for (i = 0; forwarding && i < p->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];
		struct announce_addr *x = addr_find(a->addrs, a->naddrs,
						    lb_to_af(v->key.family),
						    &v->key.addr);
		size_t used;

		if (!x)
			continue;
		if (ok[i]) {
			x->want = true;
			continue;
		}
		if (!strncmp(x->why, "dataplane", 9))
			x->why[0] = 0;
		used = strlen(x->why);
		for (j = 0; j < v->nbackends; j++)
			if (!settled[v->first_backend + j] &&
			    p->backends[v->first_backend + j].be.state != LB_BE_MAINT)
				break;
		if (j < v->nbackends)
			snprintf(x->why + used, sizeof(x->why) - used,
				 "%sVIP %s: health settling (backend %s not yet probed max(rise, fall) times)",
				 used ? "; " : "", v->name,
				 p->backends[v->first_backend + j].node);
		else
			snprintf(x->why + used, sizeof(x->why) - used,
				 "%sVIP %s: %u of %u backends active%s, min_healthy %u",
				 used ? "; " : "", v->name, active[i], v->nbackends,
				 v->fail_open ? " (failing open)" : "",
				 i < d->conf->nvips ? d->conf->vips[i].min_healthy : 0);
	}
	free(ok);
	free(active);
	free(settled);
	return 0;
}

static void announce_log_names(const struct announce *a,
			       const struct announce_addr *x, char *buf,
			       size_t len)
{
	const struct plan *p = a->d->live;
	size_t used = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i < p->nvips && used < len; i++)
		if (lb_to_af(p->vips[i].key.family) == x->family &&
		    !memcmp(&p->vips[i].key.addr, &x->addr, addr_len(x->family)))
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 used ? ", " : "", p->vips[i].name);
}

/* Logs what changed for each address since the last sync. */
static void announce_log_changes(const struct announce *a)
{
	char t[INET6_ADDRSTRLEN], names[256];
	unsigned int i;

	for (i = 0; i < a->naddrs; i++) {
		const struct announce_addr *x = &a->addrs[i];

		if (x->on == x->was_on)
			continue;
		announce_log_names(a, x, names, sizeof(names));
		if (x->on)
			log_info("announce: %s announced (table %u, dev %s; VIP %s)",
				 addr_text(x, t, sizeof(t)), a->table,
				 a->d->conf->dp.interface, names);
		else
			log_warn("announce: %s withdrawn (VIP %s): %s",
				 addr_text(x, t, sizeof(t)), names,
				 x->want ? "its route could not be kept" : x->why);
	}
}

/* Routes of ours in the table: kept where wanted as they are, else
 * removed; marks the addresses whose route stays. */
static int announce_prune(struct announce *a)
{
	char r[INET6_ADDRSTRLEN + 8];
	struct dump_ctx c;
	unsigned int i;
	int err;

	err = nl_dump(&a->nl, a->table, &c);
	if (err) {
		log_err("announce: reading table %u: %s", a->table, strerror(-err));
		return err;
	}
	for (i = 0; i < c.n; i++) {
		const struct nl_route *rt = &c.rt[i];
		struct announce_addr *x = addr_find(a->addrs, a->naddrs,
						    rt->family, &rt->addr);

		if (x && x->want && rt->plen == addr_len(rt->family) * 8 &&
		    rt->oif == a->ifindex) {
			x->on = true;
			continue;
		}
		err = nl_route_op(&a->nl, RTM_DELROUTE, a->table, rt);
		if (err && err != -ESRCH && err != -ENOENT) {
			log_err("announce: removing %s from table %u: %s",
				route_str(rt, r, sizeof(r)), a->table,
				strerror(-err));
			continue;
		}
		if (!x || rt->plen != addr_len(rt->family) * 8)
			log_info("announce: removed %s from table %u: not a VIP address of this configuration",
				 route_str(rt, r, sizeof(r)), a->table);
	}
	free(c.rt);
	return 0;
}

/* Routes for wanted addresses that have none: added. */
static void announce_add(struct announce *a)
{
	char t[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN + 8];
	unsigned int i;
	int err;

	for (i = 0; i < a->naddrs; i++) {
		struct announce_addr *x = &a->addrs[i];
		struct nl_route rt;

		if (!x->want || x->on)
			continue;
		memset(&rt, 0, sizeof(rt));
		rt.family = x->family;
		rt.plen = (__u8)(addr_len(x->family) * 8);
		rt.addr = x->addr;
		rt.oif = a->ifindex;
		err = nl_route_op(&a->nl, RTM_NEWROUTE, a->table, &rt);
		if (!err) {
			x->add_err = 0;
			x->on = true;
			continue;
		}
		if (x->add_err != err) {
			if (err == -EEXIST)
				log_err("announce: table %u already has a route to %s that is not ferryd's (protocol %u): not announcing it",
					a->table, addr_text(x, t, sizeof(t)),
					ANNOUNCE_RTPROT);
			else
				log_err("announce: adding %s to table %u: %s",
					route_str(&rt, r, sizeof(r)), a->table,
					strerror(-err));
		}
		x->add_err = err;
	}
}

/* A table no longer configured (a reload changed or removed it): our
 * routes there go. 0 or -errno. */
static int announce_leave_table(struct announce *a, __u32 table)
{
	unsigned int i;
	int n;

	if (!a->table || a->table == table)
		return 0;
	n = nl_flush(&a->nl, a->table);
	if (n < 0) {
		log_err("announce: withdrawing the routes in table %u: %s",
			a->table, strerror(-n));
		return n;
	}
	log_info("announce: table %u no longer configured: %d route%s withdrawn",
		 a->table, n, n == 1 ? "" : "s");
	for (i = 0; i < a->naddrs; i++)
		a->addrs[i].on = false;
	a->table = 0;
	return 0;
}

static void announce_on_event(struct loop *l, int fd, uint32_t events,
			      void *arg);

/* Link and route events matter only while there is a table to keep:
 * subscribed then, not otherwise. 0 or -errno. */
static int announce_watch(struct announce *a, bool on)
{
	int err;

	if (on == (a->ev.fd >= 0))
		return 0;
	if (!on) {
		loop_del(a->d->loop, a->ev.fd);
		nl_close(&a->ev);
		return 0;
	}
	err = nl_open(&a->ev, RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
		      true);
	if (!err) {
		err = loop_add(a->d->loop, a->ev.fd, EPOLLIN, announce_on_event, a);
		if (err)
			nl_close(&a->ev);
	}
	if (err)
		log_err("announce: watching links and routes: %s (checking every %u ms only)",
			strerror(-err), ANNOUNCE_RECHECK_MS);
	return err;
}

/* The table made equal to what is wanted now. */
static void announce_sync(struct announce *a)
{
	const struct conf_announce *an = &a->d->conf->announce;
	__u32 table = an->enabled ? an->table : 0;
	char why[160];
	unsigned int i;
	bool fwd;

	if (announce_leave_table(a, table))
		return; /* again at the next check */
	a->table = table;
	announce_watch(a, table != 0);
	if (announce_addrs(a) || !table)
		return;
	fwd = announce_forwarding(a, why, sizeof(why));
	if (a->fwd != (int)fwd || (!fwd && strcmp(why, a->fwd_why))) {
		if (fwd)
			log_info("announce: the dataplane forwards on %s",
				 a->d->conf->dp.interface);
		else
			log_warn("announce: the dataplane does not forward: %s",
				 why);
	}
	if (fwd && a->fwd == 0)
		announce_mark(a, "the dataplane forwards again");
	a->fwd = fwd;
	snprintf(a->fwd_why, sizeof(a->fwd_why), "%s", fwd ? "" : why);
	if (announce_want(a, fwd))
		return;
	for (i = 0; i < a->naddrs; i++) {
		a->addrs[i].was_on = a->addrs[i].on;
		a->addrs[i].on = false;
	}
	if (announce_prune(a)) {
		for (i = 0; i < a->naddrs; i++)
			a->addrs[i].on = a->addrs[i].was_on;
		return;
	}
	announce_add(a);
	announce_log_changes(a);
}

static void announce_on_apply(struct ferryd *d)
{
	if (d->announce)
		announce_sync(d->announce);
}

/* Is this event about our interface or our table? */
static bool announce_event_relevant(const struct announce *a,
				    const struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi = NLMSG_DATA(h);

		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) &&
		       (ifi->ifi_index == a->ifindex || !a->ifindex);
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)) &&
		       a->table && rt_table(h, NULL, NULL) == a->table;
	default:
		return false;
	}
}

static void announce_on_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct announce *a = arg;
	char *buf = malloc(NL_BUF);
	bool relevant = false;

	(void)l;
	(void)events;
	if (!buf)
		return;
	for (;;) {
		ssize_t len = recv(fd, buf, NL_BUF, MSG_DONTWAIT);
		struct nlmsghdr *h;

		if (len < 0) {
			if (errno == ENOBUFS)
				relevant = true; /* missed some: look again */
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			break;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len))
			relevant |= announce_event_relevant(a, h);
	}
	free(buf);
	if (relevant)
		announce_sync(a);
}

static void announce_on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("announce: timer: %s", strerror(errno));
	announce_sync(arg);
}

static void announce_free(struct announce *a)
{
	if (!a)
		return;
	if (a->tfd >= 0) {
		loop_del(a->d->loop, a->tfd);
		close(a->tfd);
	}
	if (a->ev.fd >= 0)
		loop_del(a->d->loop, a->ev.fd);
	nl_close(&a->ev);
	nl_close(&a->nl);
	free(a->addrs);
	free(a->mark);
	free(a);
}

int announce_start(struct ferryd *d)
{
	struct announce *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	a->d = d;
	a->fwd = -1;
	a->tfd = -1;
	a->nl.fd = a->ev.fd = -1;
	err = nl_open(&a->nl, 0, false);
	if (err)
		goto fail;
	a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->tfd < 0) {
		err = -errno;
		goto fail;
	}
	announce_timer(a, ANNOUNCE_RECHECK_MS);
	err = loop_add(d->loop, a->tfd, EPOLLIN, announce_on_timer, a);
	if (err)
		goto fail;
	d->announce = a;
	d->on_apply = announce_on_apply;
	/* daemon_start applied the first generation before we were here:
	 * reconcile now (this is also a restarted ferryd's adoption). */
	a->conf_seen = d->conf;
	if (d->conf->announce.enabled) {
		log_info("announce: VIP routes in table %u (protocol %u, dev %s)",
			 d->conf->announce.table, ANNOUNCE_RTPROT,
			 d->conf->dp.interface);
		/* Backends start up: a fresh ferryd knows nothing yet. A
		 * restarted one serves the states the dataplane had. */
		if (!d->adopted)
			announce_mark(a, "fresh start");
	}
	announce_sync(a);
	return 0;
fail:
	announce_free(a);
	return err;
}

void announce_stop(struct ferryd *d)
{
	if (!d->announce)
		return;
	d->on_apply = NULL;
	announce_free(d->announce);
	d->announce = NULL;
}

bool announce_vip_announced(const struct ferryd *d, unsigned int i)
{
	const struct announce *a = d->announce;
	const struct announce_addr *x;
	const struct plan_vip *v;

	if (!a || !a->table || i >= d->live->nvips)
		return false;
	v = &d->live->vips[i];
	x = addr_find(a->addrs, a->naddrs, lb_to_af(v->key.family), &v->key.addr);
	return x && x->on;
}

int announce_withdraw_all(const struct ferry_conf *conf)
{
	struct nl nl;
	int n;

	if (!conf->announce.enabled)
		return 0;
	n = nl_open(&nl, 0, false);
	if (n)
		return n;
	n = nl_flush(&nl, conf->announce.table);
	nl_close(&nl);
	return n;
}
