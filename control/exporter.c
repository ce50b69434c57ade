// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/exporter.c: GET /metrics (Prometheus text format 0.0.4) with libmicrohttpd in external epoll mode: MHD's epoll fd and a timerfd for its timeouts sit in ferryd's loop, so requests are answered in the loop's thread and read the daemon's state directly. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <microhttpd.h>
#include "announce.h"
#include "exporter.h"
#include "log.h"
#include "names.h"

#define EXP_CONN_LIMIT 32 /* concurrent scrapers / browsers */
#define EXP_CONN_TIMEOUT_S 10 /* idle connections closed after this */
#define EXP_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct exporter {
	struct ferryd *d;
	struct MHD_Daemon *mhd;
	int epfd; /* MHD's, watched by the loop; MHD closes it */
	int tfd; /* fires when MHD's next timeout is due */
	bool failing; /* the last /metrics could not read the counters */
};

/* One daemon per process: the exporter is its singleton. */
static struct exporter *exp_the;

/* ---- rendering ----------------------------------------------------------- */

static void fam(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format wants: \\, \" and \n. */
static void lval(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* name{k1="v1",k2="v2",...} without the value; NULL ends the pairs. */
static void series(FILE *f, const char *name, ...)
{
	const char *k, *v;
	bool first = true;
	va_list ap;

	fputs(name, f);
	va_start(ap, name);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		fprintf(f, "%s%s=\"", first ? "{" : ",", k);
		lval(f, v);
		fputc('"', f);
		first = false;
	}
	va_end(ap);
	if (!first)
		fputc('}', f);
}

static void u64(FILE *f, __u64 v)
{
	fprintf(f, " %llu\n", (unsigned long long)v);
}

/* Drops are the LB_R_DROP_* reasons: told by the enumerator's name. */
#define EXP_ID_STR(name, str) #name,
static const char *const reason_ids[] = { LB_REASONS(EXP_ID_STR) };
static const char *const event_ids[] = { LB_EVENTS(EXP_ID_STR) };
#undef EXP_ID_STR

static bool reason_is_drop(unsigned int r)
{
	return !strncmp(reason_ids[r], "DROP_", 5);
}

static bool event_is_conntrack(unsigned int e)
{
	return !strncmp(event_ids[e], "CT_", 3);
}

static void render_vips(FILE *f, struct ferryd *d, const struct engine_stats *s)
{
	const struct plan *p = d->live;
	unsigned int i, j, up;

	fam(f, "ferry_vip_packets_total", "counter",
	    "Packets addressed to the VIP (forwarded or dropped), since the dataplane was loaded.");
	for (i = 0; i < p->nvips; i++) {
		series(f, "ferry_vip_packets_total", "vip", p->vips[i].name,
		       NULL);
		u64(f, s->vip[p->vips[i].id].packets);
	}
	fam(f, "ferry_vip_bytes_total", "counter",
	    "Bytes of the VIP's packets as received (Ethernet frame, before encapsulation).");
	for (i = 0; i < p->nvips; i++) {
		series(f, "ferry_vip_bytes_total", "vip", p->vips[i].name,
		       NULL);
		u64(f, s->vip[p->vips[i].id].bytes);
	}
	fam(f, "ferry_vip_new_flows_total", "counter",
	    "Conntrack entries created for the VIP (a flow seen on several CPUs counts once per CPU).");
	for (i = 0; i < p->nvips; i++) {
		series(f, "ferry_vip_new_flows_total", "vip", p->vips[i].name,
		       NULL);
		u64(f, s->vip[p->vips[i].id].new_flows);
	}
	fam(f, "ferry_vip_backends_up", "gauge",
	    "Backends of the VIP that are active (healthy, not drained, not in maintenance).");
	for (i = 0; i < p->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];

		for (j = up = 0; j < v->nbackends; j++)
			up += p->backends[v->first_backend + j].be.state ==
			      LB_BE_ACTIVE;
		series(f, "ferry_vip_backends_up", "vip", v->name, NULL);
		u64(f, up);
	}
	fam(f, "ferry_vip_announced", "gauge",
	    "1 while ferryd announces the VIP's address (announce table for BIRD), 0 otherwise or without announce.");
	for (i = 0; i < p->nvips; i++) {
		series(f, "ferry_vip_announced", "vip", p->vips[i].name, NULL);
		u64(f, announce_vip_announced(d, i));
	}
	fam(f, "ferry_vip_fail_open", "gauge",
	    "1 when no backend of the VIP is active and its ring holds every backend not in maintenance.");
	for (i = 0; i < p->nvips; i++) {
		series(f, "ferry_vip_fail_open", "vip", p->vips[i].name, NULL);
		u64(f, p->vips[i].fail_open);
	}
}

static void render_backends(FILE *f, struct ferryd *d,
			    const struct engine_stats *s)
{
	static const unsigned int states[] = { LB_BE_ACTIVE, LB_BE_DRAINING,
					       LB_BE_DOWN, LB_BE_MAINT };
	const struct plan *p = d->live;
	struct health_probe_info info;
	unsigned int i, k, st;
	char buf[32];

	fam(f, "ferry_backend_packets_total", "counter",
	    "Packets encapsulated to the backend for the VIP.");
	for (k = 0; k < p->nbackends; k++) {
		const struct plan_backend *b = &p->backends[k];

		series(f, "ferry_backend_packets_total", "vip", b->vip,
		       "backend", b->node, NULL);
		u64(f, s->backend[b->id].packets);
	}
	fam(f, "ferry_backend_bytes_total", "counter",
	    "Bytes of the packets sent to the backend, as received (before encapsulation).");
	for (k = 0; k < p->nbackends; k++) {
		const struct plan_backend *b = &p->backends[k];

		series(f, "ferry_backend_bytes_total", "vip", b->vip, "backend",
		       b->node, NULL);
		u64(f, s->backend[b->id].bytes);
	}
	fam(f, "ferry_backend_state", "gauge",
	    "The backend's state in the live generation: 1 for the current state, 0 for the others.");
	for (k = 0; k < p->nbackends; k++) {
		const struct plan_backend *b = &p->backends[k];

		for (st = 0; st < sizeof(states) / sizeof(states[0]); st++) {
			series(f, "ferry_backend_state", "vip", b->vip,
			       "backend", b->node, "state",
			       lb_backend_state_name(states[st]), NULL);
			u64(f, b->be.state == states[st]);
		}
	}
	fam(f, "ferry_backend_up", "gauge",
	    "1 when the backend's health check says up (always 1 with health type none).");
	for (k = 0; k < p->nbackends && k < d->nbe; k++) {
		const struct plan_backend *b = &p->backends[k];

		series(f, "ferry_backend_up", "vip", b->vip, "backend", b->node,
		       NULL);
		u64(f, health_is_up(d->health, d->probe_of[k]));
	}
	fam(f, "ferry_health_checks_total", "counter",
	    "Finished health probes of the backend by result (a probe shared by VIPs counts under each).");
	for (i = 0; i < p->nvips && i < d->conf->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];

		if (d->conf->vips[i].health.type == HEALTH_NONE)
			continue; /* never probed */
		for (k = v->first_backend;
		     k < v->first_backend + v->nbackends && k < d->nbe; k++) {
			const struct plan_backend *b = &p->backends[k];

			if (health_info(d->health, d->probe_of[k], &info))
				continue;
			series(f, "ferry_health_checks_total", "vip", b->vip,
			       "backend", b->node, "result", "ok", NULL);
			u64(f, info.ok);
			series(f, "ferry_health_checks_total", "vip", b->vip,
			       "backend", b->node, "result", "failed", NULL);
			u64(f, info.failed);
		}
	}
	fam(f, "ferry_health_check_duration_seconds", "gauge",
	    "Duration of the backend's last finished health probe.");
	for (i = 0; i < p->nvips && i < d->conf->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];

		if (d->conf->vips[i].health.type == HEALTH_NONE)
			continue;
		for (k = v->first_backend;
		     k < v->first_backend + v->nbackends && k < d->nbe; k++) {
			const struct plan_backend *b = &p->backends[k];

			if (health_info(d->health, d->probe_of[k], &info) ||
			    info.ok + info.failed == 0)
				continue;
			series(f, "ferry_health_check_duration_seconds", "vip",
			       b->vip, "backend", b->node, NULL);
			snprintf(buf, sizeof(buf), "%.3f",
				 info.last_ms / 1000.0);
			fprintf(f, " %s\n", buf);
		}
	}
}

/* Per pin: packets and bytes, and where the peer goes now (one series
 * with value 1, labelled with the target node, or "none"). */
static void render_pins(FILE *f, struct ferryd *d, const struct engine_stats *s)
{
	const struct plan *p = d->live;
	unsigned int i;

	fam(f, "ferry_pin_packets_total", "counter",
	    "Packets of a pinned peer (its longest-prefix pin matched).");
	for (i = 0; i < p->npins; i++) {
		series(f, "ferry_pin_packets_total", "vip", p->pins[i].vip,
		       "pin", p->pins[i].peer, NULL);
		u64(f, s->pin[p->pins[i].pin.id].packets);
	}
	fam(f, "ferry_pin_bytes_total", "counter",
	    "Bytes of a pinned peer's packets as received.");
	for (i = 0; i < p->npins; i++) {
		series(f, "ferry_pin_bytes_total", "vip", p->pins[i].vip,
		       "pin", p->pins[i].peer, NULL);
		u64(f, s->pin[p->pins[i].pin.id].bytes);
	}
	fam(f, "ferry_pin_target", "gauge",
	    "1 for the node a pin sends its peer to now; target=\"none\" when every listed node is down (action hold or rehash).");
	for (i = 0; i < p->npins; i++) {
		const struct plan_pin *pp = &p->pins[i];
		const struct conf_vip *cv = &d->conf->vips[pp->conf_vip];
		const char *target = pp->target >= 0 ?
			d->conf->nodes[cv->backends[pp->target].node].name : "none";
		const char *action = pp->pin.action == LB_PIN_FORWARD ? "forward" :
				     pp->pin.action == LB_PIN_HOLD ? "hold" : "rehash";

		series(f, "ferry_pin_target", "vip", pp->vip, "pin", pp->peer,
		       "target", target, "action", action, NULL);
		u64(f, 1);
	}
}


/* DPDK's ports: link and ethdev counters, by port id and role. */
static void render_ports(FILE *f, const struct engine_stats *s)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} c[] = {
		{ "ferry_dpdk_port_rx_packets_total", "Frames the port received.",
		  offsetof(struct engine_port, rx_packets) },
		{ "ferry_dpdk_port_tx_packets_total", "Frames the port sent.",
		  offsetof(struct engine_port, tx_packets) },
		{ "ferry_dpdk_port_rx_missed_total",
		  "Frames the port dropped because ferry-dpdk's RX queues were full (forwarding lcores too slow).",
		  offsetof(struct engine_port, rx_missed) },
		{ "ferry_dpdk_port_rx_errors_total", "Erroneous frames the port received.",
		  offsetof(struct engine_port, rx_errors) },
		{ "ferry_dpdk_port_tx_errors_total", "Frames the port failed to send.",
		  offsetof(struct engine_port, tx_errors) },
	};
	unsigned int i, j, n = s->nports < ENGINE_MAX_PORTS ? s->nports :
							 ENGINE_MAX_PORTS;
	char id[8];

	if (!n)
		return;
	fam(f, "ferry_dpdk_port_up", "gauge",
	    "1 when the port's link is up (role: data, or exception: the kernel's path).");
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%u", s->port[i].id);
		series(f, "ferry_dpdk_port_up", "port", id, "role",
		       s->port[i].data ? "data" : "exception", NULL);
		u64(f, s->port[i].link_up);
	}
	for (j = 0; j < sizeof(c) / sizeof(c[0]); j++) {
		fam(f, c[j].name, "counter", c[j].help);
		for (i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "%u", s->port[i].id);
			series(f, c[j].name, "port", id, "role",
			       s->port[i].data ? "data" : "exception", NULL);
			u64(f, *(const __u64 *)((const char *)&s->port[i] +
						c[j].off));
		}
	}
}

/* Per CPU (XDP) or per forwarding lcore (DPDK): ferry_cpu_packets_total
 * {cpu} or ferry_lcore_packets_total{lcore}. */
static void render_cpus(FILE *f, const struct engine_stats *s)
{
	const char *label = s->cpu_label ? s->cpu_label : "cpu";
	char name[64], id[16];
	unsigned int i;

	snprintf(name, sizeof(name), "ferry_%s_packets_total", label);
	fam(f, name, "counter",
	    s->cpu_label ?
		    "Packets the dataplane handled on each forwarding lcore (EAL lcore id)." :
		    "Packets the dataplane handled on each CPU.");
	for (i = 0; i < s->ncpus && i < ENGINE_MAX_CPUS; i++) {
		snprintf(id, sizeof(id), "%u", s->cpu_label ? s->cpu_id[i] : i);
		series(f, name, label, id, NULL);
		u64(f, s->cpu_packets[i]);
	}
}

static void render_global(FILE *f, struct ferryd *d,
			  const struct engine_stats *s)
{
	unsigned int i;
	char buf[80];

	fam(f, "ferry_packets_total", "counter",
	    "Every packet the dataplane saw, under the one reason it ended with (forward, pass_*, or a drop).");
	for (i = 0; i < LB_REASON_MAX; i++) {
		series(f, "ferry_packets_total", "reason", lb_reason_name(i),
		       NULL);
		u64(f, s->global.reason[i].packets);
	}
	fam(f, "ferry_drops_total", "counter",
	    "Packets dropped, by reason (the drop reasons of ferry_packets_total).");
	for (i = 0; i < LB_REASON_MAX; i++) {
		if (!reason_is_drop(i))
			continue;
		series(f, "ferry_drops_total", "reason", lb_reason_name(i),
		       NULL);
		u64(f, s->global.reason[i].packets);
	}
	fam(f, "ferry_conntrack_events_total", "counter",
	    "Conntrack outcomes of VIP packets: hits, misses (TCP SYN, other TCP, UDP), re-selections.");
	for (i = 0; i < LB_EVENT_MAX; i++) {
		if (!event_is_conntrack(i))
			continue;
		series(f, "ferry_conntrack_events_total", "event",
		       lb_event_name(i), NULL);
		u64(f, s->global.event[i]);
	}
	fam(f, "ferry_events_total", "counter",
	    "Other dataplane events: source pins used or rehashed, ICMP errors steered to a flow's backend.");
	for (i = 0; i < LB_EVENT_MAX; i++) {
		if (event_is_conntrack(i))
			continue;
		series(f, "ferry_events_total", "event", lb_event_name(i),
		       NULL);
		u64(f, s->global.event[i]);
	}
	fam(f, "ferry_flows_entries", "gauge",
	    "Conntrack entries in use, over every CPU's (XDP) or forwarding lcore's (DPDK) flow cache (counted a window at a time: exact for a still table after a round).");
	fprintf(f, "ferry_flows_entries %llu\n",
		(unsigned long long)s->flows_entries);
	fam(f, "ferry_flows_capacity", "gauge",
	    "Conntrack entries there is room for: buckets x ways, over every CPU (XDP) or forwarding lcore (DPDK).");
	fprintf(f, "ferry_flows_capacity %llu\n",
		(unsigned long long)s->flows_capacity);
	render_cpus(f, s);
	render_ports(f, s);
	for (i = 0; i < s->nextra && i < ENGINE_MAX_EXTRA; i++) {
		snprintf(buf, sizeof(buf), "ferry_%s_total", s->extra[i].name);
		fam(f, buf, "counter", s->extra[i].help);
		fprintf(f, "%s %llu\n", buf,
			(unsigned long long)s->extra[i].value);
	}
	(void)d;
}

static void render_daemon(FILE *f, struct ferryd *d)
{
	fam(f, "ferry_config_generation", "gauge",
	    "The configuration generation the dataplane serves.");
	fprintf(f, "ferry_config_generation %u\n", d->live->generation);
	fam(f, "ferry_reloads_total", "counter",
	    "Configuration reloads since ferryd started, by result (a failed one leaves the running generation serving).");
	series(f, "ferry_reloads_total", "result", "ok", NULL);
	u64(f, d->reloads_ok);
	series(f, "ferry_reloads_total", "result", "failed", NULL);
	u64(f, d->reloads_failed);
	fam(f, "ferry_engine_info", "gauge",
	    "The dataplane engine and the interface it serves (always 1).");
	series(f, "ferry_engine_info", "engine", d->ops->name, "interface",
	       d->conf->dp.interface, NULL);
	u64(f, 1);
	fam(f, "ferry_up", "gauge", "1: ferryd is running and answering.");
	fputs("ferry_up 1\n", f);
}

char *exporter_render(struct ferryd *d, size_t *len)
{
	struct engine_stats *s = calloc(1, sizeof(*s));
	char *buf = NULL;
	FILE *f;
	int err;

	if (!s)
		return NULL;
	err = d->ops->read_stats(d->engine, s);
	if (err) {
		free(s);
		errno = -err;
		return NULL;
	}
	f = open_memstream(&buf, len);
	if (!f) {
		free(s);
		return NULL;
	}
	render_daemon(f, d);
	render_vips(f, d, s);
	render_backends(f, d, s);
	render_pins(f, d, s);
	render_global(f, d, s);
	free(s);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- serving ------------------------------------------------------------- */

static enum MHD_Result exp_reply(struct MHD_Connection *c, unsigned int status,
				 const char *ctype, char *body, size_t len,
				 bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body,
					    owned ? MHD_RESPMEM_MUST_FREE :
						    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result exp_handle(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	static char index[] =
		"<html><head><title>ferryd</title></head><body>"
		"<a href=\"/metrics\">/metrics</a></body></html>\n";
	static char not_found[] = "not found: this exporter serves /metrics\n";
	static char no_method[] = "only GET and HEAD\n";
	static char no_stats[] = "cannot read the dataplane's counters\n";
	struct ferryd *d = cls;
	char *body;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return exp_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				 no_method, sizeof(no_method) - 1, false);
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body on a GET: ignored */
		return MHD_YES;
	}
	if (!strcmp(url, "/"))
		return exp_reply(c, MHD_HTTP_OK, "text/html", index,
				 sizeof(index) - 1, false);
	if (strcmp(url, "/metrics"))
		return exp_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
				 sizeof(not_found) - 1, false);
	body = exporter_render(d, &len);
	if (!body) {
		if (!exp_the->failing) /* once, not at every scrape */
			log_warn(
				"exporter: /metrics: cannot read the counters: %s",
				strerror(errno));
		exp_the->failing = true;
		return exp_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "text/plain", no_stats, sizeof(no_stats) - 1,
				 false);
	}
	if (exp_the->failing)
		log_info("exporter: /metrics: counters readable again");
	exp_the->failing = false;
	return exp_reply(c, MHD_HTTP_OK, EXP_CONTENT_TYPE, body, len, true);
}

static void exp_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = 0;
	log_warn("exporter: %s", msg);
}

/* Runs MHD, then arms the timer for its next timeout (0: at once). */
static void exp_run(struct exporter *x)
{
	struct itimerspec its;
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(x->mhd);
	memset(&its, 0, sizeof(its));
	if (MHD_get_timeout(x->mhd, &ms) == MHD_YES) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
		if (!ms)
			its.it_value.tv_nsec = 1; /* 0 would disarm it */
	}
	timerfd_settime(x->tfd, 0, &its, NULL);
}

static void exp_on_mhd(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	exp_run(arg);
}

static void exp_on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("exporter: timerfd: %s", strerror(errno));
	exp_run(arg);
}

/* "a.b.c.d:port" or "[v6]:port" (checked by the config loader) bound and
 * listening; the fd, or -errno (the caller tells). */
static int exp_listen(const char *spec)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	socklen_t slen;
	size_t hl;
	long port;
	int fd, one = 1, err;

	if (!colon)
		goto bad;
	port = strtol(colon + 1, NULL, 10);
	hl = (size_t)(colon - spec);
	if (port < 1 || port > 65535 || hl < 1 || hl >= sizeof(host))
		goto bad;
	memcpy(host, spec, hl);
	host[hl] = 0;
	memset(&ss, 0, sizeof(ss));
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			goto bad;
		slen = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		slen = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, slen) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
bad:
	return -EINVAL;
}

void exporter_stop(struct ferryd *d)
{
	struct exporter *x = exp_the;

	(void)d;
	if (!x)
		return;
	if (x->epfd >= 0)
		loop_del(x->d->loop, x->epfd);
	if (x->tfd >= 0) {
		loop_del(x->d->loop, x->tfd);
		close(x->tfd);
	}
	if (x->mhd)
		MHD_stop_daemon(
			x->mhd); /* closes the listener and its epoll fd */
	free(x);
	exp_the = NULL;
}

int exporter_start(struct ferryd *d)
{
	const char *spec = d->conf->ctl.exporter;
	const union MHD_DaemonInfo *info;
	struct exporter *x;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int lfd, err;

	if (!spec[0]) {
		log_info("exporter: off");
		return 0;
	}
	if (exp_the)
		return -EALREADY;
	if (!MHD_is_feature_supported(MHD_FEATURE_EPOLL))
		return -ENOTSUP; /* this libmicrohttpd was built without epoll */
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->d = d;
	x->epfd = x->tfd = -1;
	exp_the = x;
	lfd = exp_listen(spec);
	if (lfd < 0) {
		exporter_stop(d);
		return lfd;
	}
	if (spec[0] == '[')
		flags |= MHD_USE_IPv6;
	x->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, exp_handle, d, MHD_OPTION_EXTERNAL_LOGGER,
		exp_mhd_log, NULL, /* first */
		MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)EXP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)EXP_CONN_TIMEOUT_S,
		MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1, MHD_OPTION_END);
	if (!x->mhd) {
		/* MHD has logged why (exp_mhd_log) and closed lfd */
		exporter_stop(d);
		return -EIO;
	}
	info = MHD_get_daemon_info(x->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	x->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!info || x->tfd < 0) {
		err = x->tfd < 0 ? -errno : -EIO;
		exporter_stop(d);
		return err;
	}
	err = loop_add(d->loop, info->epoll_fd, EPOLLIN, exp_on_mhd, x);
	if (!err) {
		x->epfd = info->epoll_fd;
		err = loop_add(d->loop, x->tfd, EPOLLIN, exp_on_timer, x);
	}
	if (err) {
		exporter_stop(d);
		return err;
	}
	exp_run(x);
	log_info("exporter: serving http://%s/metrics", spec);
	return 0;
}
