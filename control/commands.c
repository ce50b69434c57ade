// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/commands.c: the control socket's commands (status, vips, backends, stats, drain..., reload, where) over the daemon's state. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "announce.h"
#include "commands.h"
#include "ctlsock.h"
#include "log.h"
#include "names.h"

static json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

static json_object *ju64(__u64 v)
{
	return json_object_new_int64((int64_t)v);
}

static const char *addr_text(const union lb_addr *a, __u8 family, char *buf,
			     size_t len)
{
	return conf_addr_str(a, family, buf, len);
}

static const char *admin_name(enum admin_state a)
{
	return a == ADMIN_DRAIN ? "drain" : a == ADMIN_MAINT ? "maint" : "none";
}

static const char *health_type_name(enum health_type t)
{
	return t == HEALTH_TCP ? "tcp" : t == HEALTH_HTTP ? "http" :
	       t == HEALTH_RADIUS ? "radius" : "none";
}

static struct engine_stats *read_stats(struct ferryd *d)
{
	struct engine_stats *s = calloc(1, sizeof(*s));

	if (s && d->ops->read_stats(d->engine, s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* Whether the dataplane forwards now and the generation it serves (DPDK:
 * ferry-dpdk may be restarting, or serve an older generation until ferryd
 * pushes its own again). */
static void status_dataplane(struct ferryd *d, json_object *resp)
{
	struct engine_stats *s = read_stats(d);
	char why[256] = "";
	bool fwd = !d->ops->forwarding ||
		   d->ops->forwarding(d->engine, why, sizeof(why));

	json_object_object_add(resp, "forwarding", json_object_new_boolean(fwd));
	if (!fwd)
		json_object_object_add(resp, "forwarding_why", jstr(why));
	if (s)
		json_object_object_add(resp, "dataplane_generation",
				       ju64(s->generation));
	free(s);
}

static int cmd_status(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	json_object *rl = json_object_new_object();

	(void)req;
	json_object_object_add(resp, "generation", ju64(d->live->generation));
	json_object_object_add(resp, "engine", jstr(d->ops->name));
	json_object_object_add(resp, "interface", jstr(d->conf->dp.interface));
	json_object_object_add(resp, "vips", ju64(d->live->nvips));
	json_object_object_add(resp, "backends", ju64(d->live->nbackends));
	json_object_object_add(resp, "config", jstr(d->conf_path));
	json_object_object_add(resp, "adopted", json_object_new_boolean(d->adopted));
	json_object_object_add(resp, "uptime_s",
			       ju64((loop_now_ms() - d->started_ms) / 1000));
	json_object_object_add(rl, "ok", ju64(d->reloads_ok));
	json_object_object_add(rl, "failed", ju64(d->reloads_failed));
	json_object_object_add(resp, "reloads", rl);
	status_dataplane(d, resp);
	return 0;
}

static int cmd_vips(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	struct engine_stats *s = read_stats(d);
	json_object *arr = json_object_new_array();
	char buf[64];
	unsigned int i, j;

	(void)req;
	for (i = 0; i < d->live->nvips; i++) {
		const struct plan_vip *v = &d->live->vips[i];
		const struct conf_vip *cv = &d->conf->vips[i];
		json_object *o = json_object_new_object();
		unsigned int up = 0;

		for (j = 0; j < v->nbackends; j++)
			up += d->live->backends[v->first_backend + j].be.state ==
			      LB_BE_ACTIVE;
		json_object_object_add(o, "name", jstr(v->name));
		json_object_object_add(o, "address",
				       jstr(addr_text(&cv->addr, cv->family, buf,
						      sizeof(buf))));
		json_object_object_add(o, "port", ju64(cv->port));
		json_object_object_add(o, "protocol",
				       jstr(cv->proto == IPPROTO_TCP ? "tcp" : "udp"));
		json_object_object_add(o, "hash",
				       jstr(cv->hash_source ? "source" : "5tuple"));
		json_object_object_add(o, "ring_size", ju64(v->ring_size));
		snprintf(buf, sizeof(buf), "%016llx",
			 (unsigned long long)v->ring_digest);
		json_object_object_add(o, "ring_digest", jstr(buf));
		json_object_object_add(o, "backends_up", ju64(up));
		json_object_object_add(o, "backends", ju64(v->nbackends));
		json_object_object_add(o, "fail_open",
				       json_object_new_boolean(v->fail_open));
		json_object_object_add(o, "announced", json_object_new_boolean(announce_vip_announced(d, i)));
		json_object_object_add(o, "packets", ju64(s ? s->vip[v->id].packets : 0));
		json_object_object_add(o, "bytes", ju64(s ? s->vip[v->id].bytes : 0));
		json_object_object_add(o, "new_flows",
				       ju64(s ? s->vip[v->id].new_flows : 0));
		json_object_array_add(arr, o);
	}
	json_object_object_add(resp, "generation", ju64(d->live->generation));
	json_object_object_add(resp, "vips", arr);
	free(s);
	return 0;
}

static json_object *backend_check(struct ferryd *d, unsigned int k,
				  const struct conf_vip *cv)
{
	struct health_probe_info info;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", jstr(health_type_name(cv->health.type)));
	if (!health_info(d->health, d->probe_of[k], &info)) {
		json_object_object_add(o, "ok", ju64(info.ok));
		json_object_object_add(o, "failed", ju64(info.failed));
		json_object_object_add(o, "last_ms", ju64(info.last_ms));
		json_object_object_add(o, "last_error", jstr(info.last_error));
	}
	return o;
}

static int cmd_backends(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	struct engine_stats *s;
	json_object *arr;
	const char *want = NULL;
	unsigned int i, j, found = 0;
	char buf[64];

	if (ctl_arg_string(req, resp, "vip", false, &want) < 0)
		return -EINVAL;
	s = read_stats(d);
	arr = json_object_new_array();
	for (i = 0; i < d->live->nvips; i++) {
		const struct plan_vip *v = &d->live->vips[i];
		const struct conf_vip *cv = &d->conf->vips[i];

		if (want && strcmp(want, v->name))
			continue;
		found++;
		for (j = 0; j < v->nbackends; j++) {
			unsigned int k = v->first_backend + j;
			const struct plan_backend *b = &d->live->backends[k];
			json_object *o = json_object_new_object();
			bool up = health_is_up(d->health, d->probe_of[k]);

			json_object_object_add(o, "vip", jstr(b->vip));
			json_object_object_add(o, "node", jstr(b->node));
			json_object_object_add(o, "address",
					       jstr(addr_text(&b->be.addr,
							      b->be.family, buf,
							      sizeof(buf))));
			json_object_object_add(o, "weight", ju64(b->weight));
			json_object_object_add(o, "state",
					       jstr(lb_backend_state_name(b->be.state)));
			json_object_object_add(o, "health",
					       jstr(cv->health.type == HEALTH_NONE ? "none" :
						    up ? "up" : "down"));
			json_object_object_add(o, "admin",
					       jstr(admin_name(daemon_backend_admin(d, k))));
			json_object_object_add(o, "in_ring",
					       json_object_new_boolean(b->ring_weight > 0));
			json_object_object_add(o, "packets",
					       ju64(s ? s->backend[b->id].packets : 0));
			json_object_object_add(o, "bytes",
					       ju64(s ? s->backend[b->id].bytes : 0));
			json_object_object_add(o, "check", backend_check(d, k, cv));
			json_object_array_add(arr, o);
		}
	}
	free(s);
	if (want && !found) {
		json_object_put(arr);
		return ctl_error(resp, "unknown VIP \"%s\"", want);
	}
	json_object_object_add(resp, "backends", arr);
	return 0;
}

static int cmd_stats(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	struct engine_stats *s = read_stats(d);
	json_object *reasons, *events, *cpus, *vips, *bes;
	unsigned int i;

	(void)req;
	if (!s)
		return ctl_error(resp, "cannot read the dataplane's counters");
	reasons = json_object_new_object();
	events = json_object_new_object();
	cpus = json_object_new_array();
	vips = json_object_new_array();
	bes = json_object_new_array();
	for (i = 0; i < LB_REASON_MAX; i++)
		json_object_object_add(reasons, lb_reason_name(i),
				       ju64(s->global.reason[i].packets));
	for (i = 0; i < LB_EVENT_MAX; i++)
		json_object_object_add(events, lb_event_name(i),
				       ju64(s->global.event[i]));
	for (i = 0; i < s->ncpus && i < ENGINE_MAX_CPUS; i++)
		json_object_array_add(cpus, ju64(s->cpu_packets[i]));
	for (i = 0; i < d->live->nvips; i++) {
		const struct plan_vip *v = &d->live->vips[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", jstr(v->name));
		json_object_object_add(o, "packets", ju64(s->vip[v->id].packets));
		json_object_object_add(o, "bytes", ju64(s->vip[v->id].bytes));
		json_object_object_add(o, "new_flows", ju64(s->vip[v->id].new_flows));
		json_object_array_add(vips, o);
	}
	for (i = 0; i < d->live->nbackends; i++) {
		const struct plan_backend *b = &d->live->backends[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "vip", jstr(b->vip));
		json_object_object_add(o, "node", jstr(b->node));
		json_object_object_add(o, "packets", ju64(s->backend[b->id].packets));
		json_object_object_add(o, "bytes", ju64(s->backend[b->id].bytes));
		json_object_array_add(bes, o);
	}
	json_object_object_add(resp, "generation", ju64(d->live->generation));
	json_object_object_add(resp, "reasons", reasons);
	json_object_object_add(resp, "events", events);
	json_object_object_add(resp, "cpus", cpus);
	if (s->cpu_label) {
		json_object *ids = json_object_new_array();

		for (i = 0; i < s->ncpus && i < ENGINE_MAX_CPUS; i++)
			json_object_array_add(ids, ju64(s->cpu_id[i]));
		json_object_object_add(resp, "cpu_label", jstr(s->cpu_label));
		json_object_object_add(resp, "cpu_ids", ids);
	}
	if (s->nports) {
		json_object *ports = json_object_new_array();

		for (i = 0; i < s->nports && i < ENGINE_MAX_PORTS; i++) {
			const struct engine_port *pt = &s->port[i];
			json_object *o = json_object_new_object();

			json_object_object_add(o, "port", ju64(pt->id));
			json_object_object_add(o, "role",
					       jstr(pt->data ? "data" : "exception"));
			json_object_object_add(o, "link_up",
					       json_object_new_boolean(pt->link_up));
			json_object_object_add(o, "rx_packets", ju64(pt->rx_packets));
			json_object_object_add(o, "tx_packets", ju64(pt->tx_packets));
			json_object_object_add(o, "rx_missed", ju64(pt->rx_missed));
			json_object_object_add(o, "rx_errors", ju64(pt->rx_errors));
			json_object_object_add(o, "tx_errors", ju64(pt->tx_errors));
			json_object_array_add(ports, o);
		}
		json_object_object_add(resp, "ports", ports);
	}
	if (s->nextra) {
		json_object *ex = json_object_new_object();

		for (i = 0; i < s->nextra && i < ENGINE_MAX_EXTRA; i++)
			json_object_object_add(ex, s->extra[i].name,
					       ju64(s->extra[i].value));
		json_object_object_add(resp, "engine_counters", ex);
	}
	json_object_object_add(resp, "vips", vips);
	json_object_object_add(resp, "backends", bes);
	free(s);
	return 0;
}

static int cmd_admin(struct ferryd *d, json_object *req, json_object *resp,
		     enum admin_state state, const char *verb)
{
	const char *node = NULL, *vip = NULL;
	int n;

	if (ctl_arg_string(req, resp, "node", true, &node) < 0 ||
	    ctl_arg_string(req, resp, "vip", false, &vip) < 0)
		return -EINVAL;
	n = daemon_admin(d, node, vip, state);
	if (n == -ENOENT)
		return ctl_error(resp, "unknown %s \"%s\"",
				 conf_find_node(d->conf, node) < 0 ? "node" : "VIP",
				 conf_find_node(d->conf, node) < 0 ? node : vip);
	if (n < 0)
		return ctl_error(resp, "%s: %s", verb, strerror(-n));
	/* Take effect now, not at the next tick. */
	if (n > 0 && daemon_sync(d))
		return ctl_error(resp, "%s recorded, but applying it failed", verb);
	log_info("%s node %s%s%s (%d backends)", verb, node, vip ? " on VIP " : "",
		 vip ? vip : "", n);
	json_object_object_add(resp, "changed", ju64((__u64)n));
	json_object_object_add(resp, "generation", ju64(d->live->generation));
	return 0;
}

static int cmd_drain(void *ctx, json_object *req, json_object *resp)
{
	return cmd_admin(ctx, req, resp, ADMIN_DRAIN, "drain");
}

static int cmd_maint(void *ctx, json_object *req, json_object *resp)
{
	return cmd_admin(ctx, req, resp, ADMIN_MAINT, "maint");
}

static int cmd_undrain(void *ctx, json_object *req, json_object *resp)
{
	return cmd_admin(ctx, req, resp, ADMIN_NONE, "undrain");
}

static int cmd_unmaint(void *ctx, json_object *req, json_object *resp)
{
	return cmd_admin(ctx, req, resp, ADMIN_NONE, "unmaint");
}

static const char *failback_name(const struct conf_pin *cp, char *buf,
				 size_t len)
{
	if (cp->failback == PIN_FAILBACK_AFTER)
		snprintf(buf, len, "after=%us", cp->failback_after_s);
	else
		snprintf(buf, len, "%s",
			 cp->failback == PIN_FAILBACK_MANUAL ? "manual" :
							       "immediate");
	return buf;
}

/* Why a pin points where it does, in words. */
static const char *pin_why(struct ferryd *d, const struct plan_pin *pp,
			   const struct conf_pin *cp, unsigned int first,
			   char *buf, size_t len)
{
	const struct conf_vip *cv = &d->conf->vips[pp->conf_vip];
	unsigned int n, b;
	int node = -1;

	for (n = 0; n < cp->nnodes; n++)
		if ((int)cp->backend[n] == pp->target)
			node = (int)n;
	if (node < 0) {
		snprintf(buf, len, "every node down: %s",
			 cp->all_down == PIN_ALL_DOWN_HOLD ? "hold (drop)" :
							     "rehash");
		return buf;
	}
	if (node == 0) {
		snprintf(buf, len, "primary");
		return buf;
	}
	for (n = 0; n < (unsigned int)node; n++) {
		b = first + cp->backend[n];
		if (daemon_backend_state(d, b) == LB_BE_ACTIVE ||
		    daemon_backend_state(d, b) == LB_BE_DRAINING) {
			snprintf(buf, len, "fallback; %s is up again, failback %s",
				 d->conf->nodes[cv->backends[cp->backend[n]].node].name,
				 cp->failback == PIN_FAILBACK_MANUAL ?
					 "waits for `ferryctl pin failback`" :
					 "pending");
			return buf;
		}
	}
	snprintf(buf, len, "fallback; %s is %s",
		 d->conf->nodes[cv->backends[cp->backend[0]].node].name,
		 lb_backend_state_name(daemon_backend_state(d, first + cp->backend[0])));
	return buf;
}

static int cmd_pins(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	struct engine_stats *s;
	json_object *arr;
	const char *want = NULL;
	unsigned int i, n, first, found = 0;
	char buf[128];

	if (ctl_arg_string(req, resp, "vip", false, &want) < 0)
		return -EINVAL;
	s = read_stats(d);
	arr = json_object_new_array();
	for (i = 0; i < d->live->npins; i++) {
		const struct plan_pin *pp = &d->live->pins[i];
		const struct conf_vip *cv = &d->conf->vips[pp->conf_vip];
		const struct conf_pin *cp = &cv->pins[pp->conf_pin];
		const struct plan_vip *v = &d->live->vips[pp->conf_vip];
		json_object *o, *nodes;

		if (want && strcmp(want, pp->vip))
			continue;
		found++;
		first = v->first_backend;
		o = json_object_new_object();
		nodes = json_object_new_array();
		for (n = 0; n < cp->nnodes; n++)
			json_object_array_add(nodes,
				jstr(d->conf->nodes[cv->backends[cp->backend[n]].node].name));
		json_object_object_add(o, "vip", jstr(pp->vip));
		json_object_object_add(o, "peer", jstr(pp->peer));
		json_object_object_add(o, "nodes", nodes);
		json_object_object_add(o, "target",
				       pp->target >= 0 ?
					       jstr(d->conf->nodes[cv->backends[pp->target].node].name) :
					       NULL);
		json_object_object_add(o, "action",
				       jstr(pp->pin.action == LB_PIN_FORWARD ? "forward" :
					    pp->pin.action == LB_PIN_HOLD ? "hold" : "rehash"));
		json_object_object_add(o, "failback", jstr(failback_name(cp, buf, sizeof(buf))));
		json_object_object_add(o, "why", jstr(pin_why(d, pp, cp, first, buf, sizeof(buf))));
		json_object_object_add(o, "packets",
				       ju64(s ? s->pin[pp->pin.id].packets : 0));
		json_object_object_add(o, "bytes", ju64(s ? s->pin[pp->pin.id].bytes : 0));
		json_object_array_add(arr, o);
	}
	free(s);
	if (want && !found && !plan_vip_by_name(d->live, want)) {
		json_object_put(arr);
		return ctl_error(resp, "unknown VIP \"%s\"", want);
	}
	json_object_object_add(resp, "pins", arr);
	return 0;
}

static int cmd_pin_failback(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	const char *vip, *peer;
	int r;

	if (ctl_arg_string(req, resp, "vip", true, &vip) < 0 ||
	    ctl_arg_string(req, resp, "peer", true, &peer) < 0)
		return -EINVAL;
	r = daemon_pin_failback(d, vip, peer);
	if (r == -ENOENT)
		return ctl_error(resp, "no pin of peer \"%s\" on VIP \"%s\"", peer, vip);
	if (r > 0 && daemon_sync(d))
		return ctl_error(resp, "failback recorded, but applying it failed");
	if (r > 0) {
		union lb_addr a;
		__u8 fam, plen;
		char text[64];

		conf_parse_prefix(peer, &a, &fam, &plen);
		log_info("pin %s on VIP %s: manual failback", conf_prefix_str(&a, fam, plen, text, sizeof(text)), vip);
	}
	json_object_object_add(resp, "moved", json_object_new_boolean(r > 0));
	json_object_object_add(resp, "generation", ju64(d->live->generation));
	return 0;
}

static int cmd_reload(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	char msg[512];

	(void)req;
	if (daemon_reload(d, msg, sizeof(msg))) {
		log_err("reload refused, generation %u keeps serving: %s",
			d->live->generation, msg);
		return ctl_error(resp, "%s", msg);
	}
	log_info("reloaded: %s", msg);
	json_object_object_add(resp, "generation", ju64(d->live->generation));
	return 0;
}

/* A frame as a client would send it for an established flow: Ethernet,
 * IP, and a TCP ACK or UDP header. Returns its length. */
static __u32 where_frame(__u8 *buf, const union lb_addr *src,
			 const union lb_addr *dst, __u8 family, __u16 sport,
			 __u16 dport, __u8 proto)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	__u8 *l4;
	__u32 l4len = proto == IPPROTO_TCP ? sizeof(struct tcphdr) :
					     sizeof(struct udphdr);

	memset(buf, 0, 128);
	if (family == LB_AF_INET) {
		struct iphdr *ip = (struct iphdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((__u16)(sizeof(*ip) + l4len));
		ip->ttl = 64;
		ip->protocol = proto;
		ip->saddr = src->v4;
		ip->daddr = dst->v4;
		l4 = (__u8 *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->payload_len = htons((__u16)l4len);
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, src, 16);
		memcpy(&ip6->daddr, dst, 16);
		l4 = (__u8 *)(ip6 + 1);
	}
	((struct udphdr *)l4)->source = htons(sport);
	((struct udphdr *)l4)->dest = htons(dport);
	if (proto == IPPROTO_TCP) {
		((struct tcphdr *)l4)->doff = 5;
		((struct tcphdr *)l4)->ack = 1;
	} else {
		((struct udphdr *)l4)->len = htons((__u16)l4len);
	}
	return (__u32)(l4 + l4len - buf);
}

static void where_answer(struct ferryd *d, const struct lb_result *r,
			 json_object *resp)
{
	const struct plan_backend *b = NULL;
	const struct plan_vip *v = NULL;
	const char *by = "none";
	char buf[64];

	if (r->vip_id != FERRY_NO_BACKEND)
		v = plan_vip_by_id(d->live, r->vip_id);
	if (r->verdict == LB_TX)
		b = plan_backend_by_id(d->live, r->backend_id);
	if (r->events & (1u << LB_EV_PIN_HIT))
		by = "pin";
	else if (r->events & (1u << LB_EV_CT_HIT))
		by = "conntrack";
	else if (r->verdict == LB_TX)
		by = "ring";
	json_object_object_add(resp, "vip", v ? jstr(v->name) : NULL);
	json_object_object_add(resp, "backend", b ? jstr(b->node) : NULL);
	json_object_object_add(resp, "address",
			       b ? jstr(addr_text(&b->be.addr, b->be.family, buf,
						  sizeof(buf))) :
				   NULL);
	json_object_object_add(resp, "by", jstr(by));
	json_object_object_add(resp, "verdict",
			       jstr(r->verdict == LB_TX ? "tx" :
				    r->verdict == LB_PASS ? "pass" : "drop"));
	json_object_object_add(resp, "reason", jstr(lb_reason_name(r->reason)));
}

static int cmd_where(void *ctx, json_object *req, json_object *resp)
{
	struct ferryd *d = ctx;
	const char *src, *dst, *proto;
	union lb_addr sa, da;
	__u8 sf, df, p;
	int64_t sport, dport;
	struct lb_result r;
	__u8 frame[128];
	__u32 len;
	int err;

	if (ctl_arg_string(req, resp, "src", true, &src) < 0 ||
	    ctl_arg_string(req, resp, "dst", true, &dst) < 0 ||
	    ctl_arg_string(req, resp, "proto", true, &proto) < 0 ||
	    ctl_arg_int(req, resp, "sport", true, 0, 65535, &sport) < 0 ||
	    ctl_arg_int(req, resp, "dport", true, 0, 65535, &dport) < 0)
		return -EINVAL;
	if (conf_parse_addr(src, &sa, &sf) || conf_parse_addr(dst, &da, &df))
		return ctl_error(resp, "src and dst must be IPv4 or IPv6 addresses");
	if (sf != df)
		return ctl_error(resp, "src and dst must be of one family");
	if (!strcmp(proto, "tcp"))
		p = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		p = IPPROTO_UDP;
	else
		return ctl_error(resp, "proto must be tcp or udp");
	len = where_frame(frame, &sa, &da, sf, (__u16)sport, (__u16)dport, p);
	err = d->ops->where(d->engine, frame, len, &r);
	if (err)
		return ctl_error(resp, "reading the dataplane: %s", strerror(-err));
	where_answer(d, &r, resp);
	return 0;
}

static const struct ctl_command commands[] = {
	{ "status", cmd_status },   { "vips", cmd_vips },
	{ "backends", cmd_backends }, { "stats", cmd_stats },
	{ "drain", cmd_drain },	    { "undrain", cmd_undrain },
	{ "maint", cmd_maint },	    { "unmaint", cmd_unmaint },
	{ "reload", cmd_reload },   { "where", cmd_where },
	{ "pins", cmd_pins },	    { "pin_failback", cmd_pin_failback },
	{ NULL, NULL },
};

static void ctl_tick(struct ferryd *d, uint64_t now)
{
	ctlsock_tick(d->ctl, now);
}

int ctl_start(struct ferryd *d)
{
	d->ctl = ctlsock_open(d->loop, d->conf->ctl.socket,
			      d->conf->ctl.socket_mode, commands, d);
	if (!d->ctl)
		return -errno;
	d->on_tick = ctl_tick;
	return 0;
}

void ctl_stop(struct ferryd *d)
{
	ctlsock_close(d->ctl);
	d->ctl = NULL;
	d->on_tick = NULL;
}
