// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/ferryctl.c: the operator CLI: validates arguments, sends one JSON request per command over ferryd's control socket, prints tables (or the JSON as is), watches counter rates. */
#define _GNU_SOURCE /* vasprintf */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "conf.h"
#include "ctlsock.h"

enum {
	EXIT_OKAY = 0,
	EXIT_REFUSED = 1, /* the daemon answered ok=false */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
};

#define CTL_ANSWER_MAX (64u << 20)
#define CTL_TIMEOUT_S 60
#define WATCH_MIN_S 0.1
#define WATCH_MAX_S 86400.0

static const char synopsis[] = "usage: ferryctl [-s SOCKET] [--json] COMMAND [ARGS]";

static void help(FILE *out)
{
	fprintf(out,
		"%s\n"
		"commands:\n"
		"  status                           generation, engine, forwarding, config, uptime, reloads\n"
		"  vips                             VIPs: ring, backends up, counters\n"
		"  backends [VIP]                   backends: state, health, admin, check, counters\n"
		"  stats [--watch SECONDS [--count N]]\n"
		"                                   counters; --watch: per-second rates every\n"
		"                                   SECONDS (until Ctrl-C, or N times)\n"
		"  drain NODE [VIP]                 no new flows to NODE (on VIP, else every VIP)\n"
		"  undrain NODE [VIP]               end a drain\n"
		"  maint NODE [VIP]                 take NODE out as if down, stop probing it\n"
		"  unmaint NODE [VIP]               end maintenance\n"
		"  reload                           re-read the configuration file\n"
		"  where SRC SPORT DST DPORT PROTO  where the dataplane sends that flow\n"
		"                                   (same address family; PROTO tcp or udp)\n"
		"  pins [VIP]                       pinned peers: nodes, target, why, counters\n"
		"  pin failback VIP PEER            move a pinned peer back to its first\n"
		"                                   usable node (failback = \"manual\")\n"
		"  help                             this text\n"
		"options:\n"
		"  -s, --socket PATH  control socket (default: $FERRY_SOCKET, else %s)\n"
		"  -j, --json         print the daemon's JSON answer as is (one line)\n"
		"  -h, --help         this text\n"
		"exit status: 0 ok, 1 ferryd refused (its error on stderr), 2 usage error,\n"
		"3 ferryd unreachable\n",
		synopsis, CTL_SOCKET_DEFAULT);
}

/* A usage error: what is wrong, then the usage line; exit status 2. */
static int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("ferryctl: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "%s\n", usage ? usage : synopsis);
	if (!usage)
		fprintf(stderr, "(ferryctl help lists the commands)\n");
	return EXIT_USAGE;
}

/* ---- talking to ferryd ---- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct answer {
	char *line; /* as received, without the newline */
	size_t len;
	struct json_object *obj;
	bool ok;
};

static void answer_free(struct answer *a)
{
	free(a->line);
	json_object_put(a->obj);
	memset(a, 0, sizeof(*a));
}

static int unreachable(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int unreachable(const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ferryctl: %s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_UNREACHABLE;
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		unreachable(path, "socket path too long");
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		unreachable(path, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		unreachable(path, "cannot connect: %s%s", strerror(err),
			    err == ENOENT || err == ECONNREFUSED ?
				    " (is ferryd running? -s or FERRY_SOCKET name another socket)" :
			    err == EACCES ?
				    " (needs root or the socket's group)" :
				    "");
		return -1;
	}
	return fd;
}

/*
 * Sends req, reads one answer line into a. EXIT_OKAY when an answer came
 * (a->ok says which kind), EXIT_UNREACHABLE (said why), or -EINTR when
 * interrupted by Ctrl-C.
 */
static int ctl_call(const char *path, struct json_object *req,
		    struct answer *a)
{
	const char *text = json_object_to_json_string_ext(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text), off = 0, cap = 0;
	struct json_object *ok;
	char *buf = NULL, *nl = NULL, *p;
	int fd, rc = EXIT_UNREACHABLE;
	ssize_t n;

	memset(a, 0, sizeof(*a));
	fd = ctl_connect(path);
	if (fd < 0)
		return EXIT_UNREACHABLE;
	/* The request and its newline in one send: one line, whole. */
	buf = malloc(len + 1);
	if (!buf) {
		unreachable(path, "out of memory");
		goto out;
	}
	memcpy(buf, text, len);
	buf[len] = '\n';
	while (off < len + 1) {
		n = send(fd, buf + off, len + 1 - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR && !interrupted)
				continue;
			if (errno == EINTR) {
				rc = -EINTR;
				goto out;
			}
			/* Refused (too many clients, credentials): the
			 * reason may be waiting to be read. */
			if (errno == EPIPE || errno == ECONNRESET)
				break;
			unreachable(path, "sending: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	free(buf);
	buf = NULL;
	off = 0;
	while (!nl) {
		if (cap - off < 4096) {
			if (cap >= CTL_ANSWER_MAX) {
				unreachable(path, "answer longer than %u bytes",
					    CTL_ANSWER_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap + 1);
			if (!p) {
				unreachable(path, "out of memory");
				goto out;
			}
			buf = p;
		}
		n = recv(fd, buf + off, cap - off, 0);
		if (n < 0) {
			if (errno == EINTR && !interrupted)
				continue;
			if (errno == EINTR) {
				rc = -EINTR;
				goto out;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				unreachable(path, "no answer within %d s",
					    CTL_TIMEOUT_S);
			else
				unreachable(path, "reading: %s",
					    strerror(errno));
			goto out;
		}
		if (n == 0) {
			unreachable(path, "ferryd closed the connection without an answer");
			goto out;
		}
		nl = memchr(buf + off, '\n', (size_t)n);
		off += (size_t)n;
	}
	*nl = '\0';
	a->len = (size_t)(nl - buf);
	a->line = buf;
	buf = NULL;
	a->obj = json_tokener_parse(a->line);
	if (!a->obj || !json_object_is_type(a->obj, json_type_object) ||
	    !json_object_object_get_ex(a->obj, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		unreachable(path, "not a ferryd answer: %.80s", a->line);
		answer_free(a);
		goto out;
	}
	a->ok = json_object_get_boolean(ok);
	rc = EXIT_OKAY;
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- reading answers ---- */

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A string or number as text; "-" when absent or null. */
static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (!v)
		return "-";
	return json_object_get_string(v);
}

static uint64_t ju64(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		if (json_object_get_int64(v) < 0)
			return 0;
		return json_object_get_uint64(v);
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		return d > 0 && d < 1.8e19 ? (uint64_t)d : 0;
	}
	return 0;
}

static struct json_object *jarray(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

static size_t jlen(struct json_object *arr)
{
	return arr ? json_object_array_length(arr) : 0;
}

/* ---- aligned tables ---- */

struct table {
	unsigned int ncols;
	const char *const *head;
	const char *align; /* 'l' or 'r' per column */
	char **cells;
	size_t ncells, cap;
};

static void table_add(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void table_add(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **p = realloc(t->cells, cap * sizeof(*p));

		if (!p) {
			perror("ferryctl");
			exit(EXIT_UNREACHABLE);
		}
		t->cells = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		perror("ferryctl");
		exit(EXIT_UNREACHABLE);
	}
	va_end(ap);
	t->cells[t->ncells++] = s;
}

static void table_print(struct table *t)
{
	size_t w[32] = { 0 }, i, n;
	unsigned int c;

	for (c = 0; c < t->ncols && c < 32; c++)
		w[c] = strlen(t->head[c]);
	for (i = 0; i < t->ncells; i++) {
		n = strlen(t->cells[i]);
		if (n > w[i % t->ncols])
			w[i % t->ncols] = n;
	}
	for (i = 0; i < t->ncells + t->ncols; i++) {
		const char *s = i < t->ncols ? t->head[i] :
					       t->cells[i - t->ncols];
		bool last;

		c = i % t->ncols;
		last = c == t->ncols - 1;
		if (t->align[c] == 'r')
			printf("%*s", (int)w[c], s);
		else if (last)
			printf("%s", s);
		else
			printf("%-*s", (int)w[c], s);
		fputs(last ? "\n" : "  ", stdout);
	}
	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

/* ---- human output of each answer ---- */

static const char *yes_no(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (!v || !json_object_is_type(v, json_type_boolean))
		return "-";
	return json_object_get_boolean(v) ? "yes" : "no";
}

static void print_status(struct json_object *o)
{
	struct json_object *rl = jget(o, "reloads");
	uint64_t up = ju64(o, "uptime_s");
	char uptime[64];

	if (up >= 86400)
		snprintf(uptime, sizeof(uptime), "%llud %02u:%02u:%02u",
			 (unsigned long long)(up / 86400),
			 (unsigned int)(up % 86400 / 3600),
			 (unsigned int)(up % 3600 / 60),
			 (unsigned int)(up % 60));
	else
		snprintf(uptime, sizeof(uptime), "%02u:%02u:%02u",
			 (unsigned int)(up / 3600), (unsigned int)(up % 3600 / 60),
			 (unsigned int)(up % 60));
	printf("generation  %s", jstr(o, "generation"));
	if (jget(o, "dataplane_generation") &&
	    strcmp(jstr(o, "dataplane_generation"), jstr(o, "generation")))
		printf(" (the dataplane serves %s)",
		       jstr(o, "dataplane_generation"));
	printf("\n");
	printf("engine      %s\n", jstr(o, "engine"));
	if (jget(o, "forwarding"))
		printf("forwarding  %s%s%s\n", yes_no(o, "forwarding"),
		       jget(o, "forwarding_why") ? ": " : "",
		       jget(o, "forwarding_why") ? jstr(o, "forwarding_why") : "");
	printf("interface   %s\n", jstr(o, "interface"));
	printf("dataplane   %s\n", yes_no(o, "adopted")[0] == 'y' ?
				    "adopted at start (was running)" :
				    "loaded at start");
	printf("config      %s\n", jstr(o, "config"));
	printf("vips        %s\n", jstr(o, "vips"));
	printf("backends    %s\n", jstr(o, "backends"));
	printf("uptime      %s\n", uptime);
	printf("reloads     %llu ok, %llu failed\n",
	       (unsigned long long)ju64(rl, "ok"),
	       (unsigned long long)ju64(rl, "failed"));
}


static void print_vips(struct json_object *o)
{
	static const char *const head[] = {
		"NAME", "ADDRESS", "PORT", "PROTO", "HASH", "RING", "DIGEST",
		"UP", "FAIL_OPEN", "ANNOUNCED", "PACKETS", "BYTES", "NEW_FLOWS",
	};
	struct table t = { .ncols = 13, .head = head, .align = "lllllrlllrrrr" };
	struct json_object *arr = jarray(o, "vips"), *v;
	size_t i;

	for (i = 0; i < jlen(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		table_add(&t, "%s", jstr(v, "name"));
		table_add(&t, "%s", jstr(v, "address"));
		if (jget(v, "port") && !ju64(v, "port"))
			table_add(&t, "*");
		else
			table_add(&t, "%s", jstr(v, "port"));
		table_add(&t, "%s", jstr(v, "protocol"));
		table_add(&t, "%s", jstr(v, "hash"));
		table_add(&t, "%s", jstr(v, "ring_size"));
		table_add(&t, "%s", jstr(v, "ring_digest"));
		table_add(&t, "%s/%s", jstr(v, "backends_up"),
			  jstr(v, "backends"));
		table_add(&t, "%s", yes_no(v, "fail_open"));
		table_add(&t, "%s", yes_no(v, "announced"));
		table_add(&t, "%llu", (unsigned long long)ju64(v, "packets"));
		table_add(&t, "%llu", (unsigned long long)ju64(v, "bytes"));
		table_add(&t, "%llu", (unsigned long long)ju64(v, "new_flows"));
	}
	table_print(&t);
}

static void print_pins(struct json_object *o)
{
	static const char *const head[] = {
		"VIP", "PEER", "NODES", "TARGET", "ACTION", "FAILBACK",
		"PACKETS", "BYTES", "WHY",
	};
	struct table t = { .ncols = 9, .head = head, .align = "llllllrrl" };
	struct json_object *arr = jarray(o, "pins"), *p, *nodes;
	char list[256];
	size_t i, n, used;

	for (i = 0; i < jlen(arr); i++) {
		p = json_object_array_get_idx(arr, i);
		nodes = jarray(p, "nodes");
		list[0] = 0;
		for (n = 0, used = 0; n < jlen(nodes) && used < sizeof(list); n++)
			used += (size_t)snprintf(list + used, sizeof(list) - used,
				"%s%s", n ? "," : "",
				json_object_get_string(json_object_array_get_idx(nodes, n)));
		table_add(&t, "%s", jstr(p, "vip"));
		table_add(&t, "%s", jstr(p, "peer"));
		table_add(&t, "%s", list);
		table_add(&t, "%s", jget(p, "target") ? jstr(p, "target") : "-");
		table_add(&t, "%s", jstr(p, "action"));
		table_add(&t, "%s", jstr(p, "failback"));
		table_add(&t, "%llu", (unsigned long long)ju64(p, "packets"));
		table_add(&t, "%llu", (unsigned long long)ju64(p, "bytes"));
		table_add(&t, "%s", jstr(p, "why"));
	}
	table_print(&t);
}

static void print_backends(struct json_object *o)
{
	static const char *const head[] = {
		"VIP", "NODE", "ADDRESS", "WEIGHT", "STATE", "HEALTH", "ADMIN",
		"CHECK", "OK", "FAILED", "LAST_MS", "PACKETS", "BYTES", "LAST_ERROR",
	};
	struct table t = { .ncols = 14, .head = head, .align = "lllrllllrrrrrl" };
	struct json_object *arr = jarray(o, "backends"), *b, *chk;
	size_t i;

	for (i = 0; i < jlen(arr); i++) {
		b = json_object_array_get_idx(arr, i);
		chk = jget(b, "check");
		table_add(&t, "%s", jstr(b, "vip"));
		table_add(&t, "%s", jstr(b, "node"));
		table_add(&t, "%s", jstr(b, "address"));
		table_add(&t, "%s", jstr(b, "weight"));
		table_add(&t, "%s", jstr(b, "state"));
		table_add(&t, "%s", jstr(b, "health"));
		table_add(&t, "%s", jstr(b, "admin"));
		table_add(&t, "%s", jstr(chk, "type"));
		table_add(&t, "%s", jstr(chk, "ok"));
		table_add(&t, "%s", jstr(chk, "failed"));
		table_add(&t, "%s", jstr(chk, "last_ms"));
		table_add(&t, "%llu", (unsigned long long)ju64(b, "packets"));
		table_add(&t, "%llu", (unsigned long long)ju64(b, "bytes"));
		table_add(&t, "%s", *jstr(chk, "last_error") ?
					    jstr(chk, "last_error") : "-");
	}
	table_print(&t);
}

static void print_counts(struct json_object *o, const char *key,
			 const char *title)
{
	const char *head[] = { title, "COUNT" };
	struct table t = { .ncols = 2, .head = head, .align = "lr" };
	struct json_object *m = jget(o, key);

	if (!m || !json_object_is_type(m, json_type_object))
		return;
	json_object_object_foreach(m, name, v) {
		(void)v;
		table_add(&t, "%s", name);
		table_add(&t, "%llu", (unsigned long long)ju64(m, name));
	}
	table_print(&t);
	putchar('\n');
}

/* "CPU" or "LCORE", and entry i's number (DPDK: the EAL lcore id). */
static const char *cpu_head(struct json_object *o)
{
	struct json_object *l;

	return json_object_object_get_ex(o, "cpu_label", &l) ? "LCORE" :
								  "CPU";
}

static unsigned long long cpu_id(struct json_object *o, size_t i)
{
	struct json_object *ids = jarray(o, "cpu_ids"), *e;

	e = i < jlen(ids) ? json_object_array_get_idx(ids, i) : NULL;
	return e ? (unsigned long long)json_object_get_uint64(e) : i;
}

/* DPDK's ports, when the engine has any. */
static void print_ports(struct json_object *o)
{
	static const char *const head[] = { "PORT", "ROLE", "LINK", "RX",
					    "TX", "RX_MISSED", "RX_ERR",
					    "TX_ERR" };
	struct table t = { .ncols = 8, .head = head, .align = "rllrrrrr" };
	struct json_object *arr = jarray(o, "ports"), *e, *l;
	size_t i;

	if (!jlen(arr))
		return;
	for (i = 0; i < jlen(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		table_add(&t, "%llu", (unsigned long long)ju64(e, "port"));
		table_add(&t, "%s", jstr(e, "role"));
		table_add(&t, "%s",
			  json_object_object_get_ex(e, "link_up", &l) &&
					  json_object_get_boolean(l) ?
				  "up" :
				  "down");
		table_add(&t, "%llu", (unsigned long long)ju64(e, "rx_packets"));
		table_add(&t, "%llu", (unsigned long long)ju64(e, "tx_packets"));
		table_add(&t, "%llu", (unsigned long long)ju64(e, "rx_missed"));
		table_add(&t, "%llu", (unsigned long long)ju64(e, "rx_errors"));
		table_add(&t, "%llu", (unsigned long long)ju64(e, "tx_errors"));
	}
	table_print(&t);
	putchar('\n');
}

static void print_stats(struct json_object *o)
{
	static const char *const vhead[] = { "VIP", "PACKETS", "BYTES",
					     "NEW_FLOWS" };
	static const char *const bhead[] = { "VIP", "NODE", "PACKETS",
					     "BYTES" };
	const char *chead[] = { cpu_head(o), "PACKETS" };
	struct table vt = { .ncols = 4, .head = vhead, .align = "lrrr" };
	struct table bt = { .ncols = 4, .head = bhead, .align = "llrr" };
	struct table ct = { .ncols = 2, .head = chead, .align = "rr" };
	struct json_object *arr, *e;
	size_t i;

	printf("generation %s\n\n", jstr(o, "generation"));
	print_counts(o, "reasons", "REASON");
	print_counts(o, "events", "EVENT");
	arr = jarray(o, "cpus");
	for (i = 0; i < jlen(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		table_add(&ct, "%llu", cpu_id(o, i));
		table_add(&ct, "%llu",
			  (unsigned long long)(e && json_object_is_type(e, json_type_int) ?
						       json_object_get_uint64(e) : 0));
	}
	table_print(&ct);
	putchar('\n');
	print_counts(o, "engine_counters", "ENGINE_COUNTER"); /* DPDK's */
	print_ports(o);
	arr = jarray(o, "vips");
	for (i = 0; i < jlen(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		table_add(&vt, "%s", jstr(e, "name"));
		table_add(&vt, "%llu", (unsigned long long)ju64(e, "packets"));
		table_add(&vt, "%llu", (unsigned long long)ju64(e, "bytes"));
		table_add(&vt, "%llu", (unsigned long long)ju64(e, "new_flows"));
	}
	table_print(&vt);
	putchar('\n');
	arr = jarray(o, "backends");
	for (i = 0; i < jlen(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		table_add(&bt, "%s", jstr(e, "vip"));
		table_add(&bt, "%s", jstr(e, "node"));
		table_add(&bt, "%llu", (unsigned long long)ju64(e, "packets"));
		table_add(&bt, "%llu", (unsigned long long)ju64(e, "bytes"));
	}
	table_print(&bt);
}

static void print_admin(const char *verb, struct json_object *o,
			const char *node, const char *vip)
{
	uint64_t n = ju64(o, "changed");

	printf("%s %s on %s%s: %llu backend%s changed\n", verb, node,
	       vip ? "VIP " : "every VIP", vip ? vip : "",
	       (unsigned long long)n, n == 1 ? "" : "s");
}

static void print_where(struct json_object *o)
{
	const char *vip = jstr(o, "vip"), *be = jstr(o, "backend");

	printf("vip      %s\n", vip);
	printf("backend  %s\n", be);
	printf("address  %s\n", *jstr(o, "address") ? jstr(o, "address") : "-");
	printf("by       %s\n", jstr(o, "by"));
	printf("verdict  %s (%s)\n", jstr(o, "verdict"), jstr(o, "reason"));
}

/* ---- stats --watch: rates between samples ---- */

static void fmt_rate(char *buf, size_t len, double v)
{
	static const char *const unit[] = { "", "k", "M", "G", "T", "P" };
	unsigned int u = 0;

	while (v >= 999.95 && u < 5) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.1f%s", v, unit[u]);
}

static double rate(uint64_t now, uint64_t then, double dt)
{
	return now >= then ? (double)(now - then) / dt : 0; /* reset: 0 */
}

/* The entry of prev's array key whose k1 (and k2) equal e's, or NULL. */
static struct json_object *find_entry(struct json_object *prev,
				      const char *key, struct json_object *e,
				      const char *k1, const char *k2)
{
	struct json_object *arr = jarray(prev, key), *p;
	size_t i;

	for (i = 0; i < jlen(arr); i++) {
		p = json_object_array_get_idx(arr, i);
		if (!strcmp(jstr(p, k1), jstr(e, k1)) &&
		    (!k2 || !strcmp(jstr(p, k2), jstr(e, k2))))
			return p;
	}
	return NULL;
}

static void add_rate(struct table *t, struct json_object *cur,
		     struct json_object *prev, const char *key, double dt)
{
	char buf[32];

	if (!prev) {
		table_add(t, "-");
		return;
	}
	fmt_rate(buf, sizeof(buf), rate(ju64(cur, key), ju64(prev, key), dt));
	table_add(t, "%s", buf);
}

/* Rows of a counter map (reasons, events) whose rate is not zero. */
static void print_rate_counts(struct json_object *cur, struct json_object *prev,
			      const char *key, const char *title, double dt)
{
	const char *head[] = { title, "PER_S" };
	struct table t = { .ncols = 2, .head = head, .align = "lr" };
	struct json_object *m = jget(cur, key), *pm = jget(prev, key);
	char buf[32];
	double r;

	if (!m || !json_object_is_type(m, json_type_object))
		return;
	json_object_object_foreach(m, name, v) {
		(void)v;
		if (!jget(pm, name))
			continue;
		r = rate(ju64(m, name), ju64(pm, name), dt);
		if (r <= 0)
			continue;
		fmt_rate(buf, sizeof(buf), r);
		table_add(&t, "%s", name);
		table_add(&t, "%s", buf);
	}
	if (t.ncells)
		table_print(&t);
	else
		printf("%s  (none)\n", title);
}

static void print_rates(struct json_object *cur, struct json_object *prev,
			double dt)
{
	static const char *const vhead[] = { "VIP", "PKT/S", "BYTES/S",
					     "NEW_FLOWS/S" };
	static const char *const bhead[] = { "VIP", "NODE", "PKT/S",
					     "BYTES/S" };
	struct table vt = { .ncols = 4, .head = vhead, .align = "lrrr" };
	struct table bt = { .ncols = 4, .head = bhead, .align = "llrr" };
	struct json_object *arr, *parr, *e, *p;
	char stamp[32], buf[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	printf("--- %s  generation %s  rates over %.2f s\n", stamp,
	       jstr(cur, "generation"), dt);
	arr = jarray(cur, "vips");
	for (i = 0; i < jlen(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		p = find_entry(prev, "vips", e, "name", NULL);
		table_add(&vt, "%s", jstr(e, "name"));
		add_rate(&vt, e, p, "packets", dt);
		add_rate(&vt, e, p, "bytes", dt);
		add_rate(&vt, e, p, "new_flows", dt);
	}
	table_print(&vt);
	putchar('\n');
	arr = jarray(cur, "backends");
	for (i = 0; i < jlen(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		p = find_entry(prev, "backends", e, "vip", "node");
		table_add(&bt, "%s", jstr(e, "vip"));
		table_add(&bt, "%s", jstr(e, "node"));
		add_rate(&bt, e, p, "packets", dt);
		add_rate(&bt, e, p, "bytes", dt);
	}
	table_print(&bt);
	putchar('\n');
	print_rate_counts(cur, prev, "reasons", "REASON", dt);
	putchar('\n');
	print_rate_counts(cur, prev, "events", "EVENT", dt);
	putchar('\n');
	arr = jarray(cur, "cpus");
	parr = jarray(prev, "cpus");
	printf("%s PKT/S", cpu_head(cur));
	for (i = 0; i < jlen(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		p = i < jlen(parr) ? json_object_array_get_idx(parr, i) : NULL;
		if (p)
			fmt_rate(buf, sizeof(buf),
				 rate(json_object_get_uint64(e),
				      json_object_get_uint64(p), dt));
		printf(" %llu=%s", cpu_id(cur, i), p ? buf : "-");
	}
	printf("\n\n");
	fflush(stdout);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until the monotonic time t; false when Ctrl-C came first. */
static bool sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t };

	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (!interrupted &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return !interrupted;
}

/* Prints an answer that is not ok; EXIT_REFUSED. */
static int refused(const struct answer *a, bool json)
{
	if (json)
		printf("%s\n", a->line);
	fprintf(stderr, "ferryctl: %s\n", jstr(a->obj, "error"));
	return EXIT_REFUSED;
}

static int run_watch(const char *path, bool json, double interval,
		     unsigned long count)
{
	struct json_object *req = json_object_new_object();
	struct answer prev = { 0 }, cur = { 0 };
	struct sigaction sa = { .sa_handler = on_interrupt };
	double t0, tprev, tcur;
	unsigned long i;
	int rc;

	json_object_object_add(req, "cmd", json_object_new_string("stats"));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = ctl_call(path, req, &prev);
	tprev = t0 = mono_s();
	if (rc)
		goto out;
	if (!prev.ok) {
		rc = refused(&prev, json);
		goto out;
	}
	if (json) {
		printf("%s\n", prev.line);
		fflush(stdout);
	}
	for (i = 1; !count || i <= count; i++) {
		if (!sleep_until(t0 + interval * (double)i))
			break;
		rc = ctl_call(path, req, &cur);
		tcur = mono_s();
		if (rc)
			break;
		if (!cur.ok) {
			rc = refused(&cur, json);
			break;
		}
		if (json) {
			printf("%s\n", cur.line);
			fflush(stdout);
		} else {
			print_rates(cur.obj, prev.obj, tcur - tprev > 1e-6 ?
								tcur - tprev : 1e-6);
		}
		answer_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		tprev = tcur;
	}
out:
	if (rc == -EINTR)
		rc = EXIT_OKAY; /* Ctrl-C ends a watch */
	answer_free(&prev);
	answer_free(&cur);
	json_object_put(req);
	return rc;
}

/* ---- argument checks: nothing wrong reaches the daemon ---- */

static bool valid_name(const char *s)
{
	return *s && strlen(s) < CONF_NAME_MAX;
}

static bool parse_port(const char *s, int64_t *out)
{
	long v = 0;
	const char *p;

	if (!*s || strlen(s) > 5)
		return false;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v > 65535)
		return false;
	*out = v;
	return true;
}

/* 4 or 6 for a numeric IPv4 / IPv6 address (canonical text in out), else 0. */
static int parse_addr(const char *s, char *out, size_t len)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, s, buf) == 1) {
		inet_ntop(AF_INET, buf, out, (socklen_t)len);
		return 4;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		inet_ntop(AF_INET6, buf, out, (socklen_t)len);
		return 6;
	}
	return 0;
}

static bool parse_double(const char *s, double *out)
{
	char *end;

	if (!*s || (*s != '.' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !errno && !*end && isfinite(*out);
}

static bool parse_count(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out >= 1 && *out <= 1000000000UL;
}

struct cmd_args {
	const char *pos[8];
	int npos;
	bool json;
	const char *watch, *count;
};

/* Splits a command's arguments into positionals and options. */
static int split_args(int argc, char **argv, const char *usage, bool is_stats,
		      struct cmd_args *ca)
{
	bool opts = true;
	const char *a, **slot;
	int i;

	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (opts && !strcmp(a, "--")) {
			opts = false;
			continue;
		}
		/* "-1" is a (bad) positional, so its message names it. */
		if (opts && a[0] == '-' && a[1] && (a[1] < '0' || a[1] > '9')) {
			if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
				ca->json = true;
				continue;
			}
			slot = NULL;
			if (is_stats && !strncmp(a, "--watch", 7))
				slot = &ca->watch;
			else if (is_stats && !strncmp(a, "--count", 7))
				slot = &ca->count;
			if (slot && a[7] == '=') {
				*slot = a + 8;
				continue;
			}
			if (slot && !a[7]) {
				if (i + 1 == argc)
					return usage_error(usage, "%s needs a value", a);
				*slot = argv[++i];
				continue;
			}
			return usage_error(usage, "unknown option %s", a);
		}
		if (ca->npos == (int)(sizeof(ca->pos) / sizeof(ca->pos[0])))
			return usage_error(usage, "too many arguments");
		ca->pos[ca->npos++] = a;
	}
	return 0;
}

static const char *socket_path(const char *opt)
{
	const char *env = getenv("FERRY_SOCKET");

	if (opt)
		return opt;
	return env && *env ? env : CTL_SOCKET_DEFAULT;
}

/* One request, one answer, printed; the exit status. */
static int run_one(const char *path, bool json, struct json_object *req,
		   const char *cmd, const char *node, const char *vip)
{
	struct answer a;
	int rc = ctl_call(path, req, &a);

	if (rc)
		return rc == -EINTR ? EXIT_UNREACHABLE : rc;
	if (!a.ok) {
		rc = refused(&a, json);
	} else if (json) {
		printf("%s\n", a.line);
	} else if (!strcmp(cmd, "status")) {
		print_status(a.obj);
	} else if (!strcmp(cmd, "vips")) {
		print_vips(a.obj);
	} else if (!strcmp(cmd, "backends")) {
		print_backends(a.obj);
	} else if (!strcmp(cmd, "stats")) {
		print_stats(a.obj);
	} else if (!strcmp(cmd, "reload")) {
		printf("reloaded: generation %s\n", jstr(a.obj, "generation"));
	} else if (!strcmp(cmd, "where")) {
		print_where(a.obj);
	} else if (!strcmp(cmd, "pins")) {
		print_pins(a.obj);
	} else if (!strcmp(cmd, "pin")) {
		printf("pin %s on VIP %s: %s (generation %s)\n", node, vip,
		       yes_no(a.obj, "moved")[0] == 'y' ? "back on its first usable node" :
							 "already on its first usable node",
		       jstr(a.obj, "generation"));
	} else {
		print_admin(cmd, a.obj, node, vip);
	}
	answer_free(&a);
	return rc;
}

static const struct {
	const char *name;
	int min, max; /* positional arguments */
	const char *usage;
} commands[] = {
	{ "status", 0, 0, "usage: ferryctl [-s SOCKET] [--json] status" },
	{ "vips", 0, 0, "usage: ferryctl [-s SOCKET] [--json] vips" },
	{ "backends", 0, 1, "usage: ferryctl [-s SOCKET] [--json] backends [VIP]" },
	{ "stats", 0, 0,
	  "usage: ferryctl [-s SOCKET] [--json] stats [--watch SECONDS [--count N]]" },
	{ "drain", 1, 2, "usage: ferryctl [-s SOCKET] [--json] drain NODE [VIP]" },
	{ "undrain", 1, 2, "usage: ferryctl [-s SOCKET] [--json] undrain NODE [VIP]" },
	{ "maint", 1, 2, "usage: ferryctl [-s SOCKET] [--json] maint NODE [VIP]" },
	{ "unmaint", 1, 2, "usage: ferryctl [-s SOCKET] [--json] unmaint NODE [VIP]" },
	{ "reload", 0, 0, "usage: ferryctl [-s SOCKET] [--json] reload" },
	{ "where", 5, 5,
	  "usage: ferryctl [-s SOCKET] [--json] where SRC SPORT DST DPORT PROTO" },
	{ "pins", 0, 1, "usage: ferryctl [-s SOCKET] [--json] pins [VIP]" },
	{ "pin", 3, 3, "usage: ferryctl [-s SOCKET] [--json] pin failback VIP PEER" },
	{ "help", 0, 0, "usage: ferryctl help" },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_args ca = { 0 };
	const char *sock = NULL, *cmd, *usage = NULL, *node = NULL, *vip = NULL;
	struct json_object *req;
	unsigned long count = 0;
	double watch = 0;
	unsigned int k;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg)
				return usage_error(NULL, "-s needs a path");
			sock = optarg;
			break;
		case 'j':
			ca.json = true;
			break;
		case 'h':
			help(stdout);
			return EXIT_OKAY;
		default:
			if (optopt == 's')
				return usage_error(NULL, "-s needs a path");
			return usage_error(NULL, "unknown option %s",
					   argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error(NULL, "no command given");
	cmd = argv[optind];
	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, cmd))
			usage = commands[k].usage;
	if (!usage)
		return usage_error(NULL, "unknown command \"%s\"", cmd);
	for (k = 0; strcmp(commands[k].name, cmd); k++)
		;
	rc = split_args(argc - optind - 1, argv + optind + 1, usage,
			!strcmp(cmd, "stats"), &ca);
	if (rc)
		return rc;
	if (ca.npos < commands[k].min || ca.npos > commands[k].max)
		return usage_error(usage, ca.npos < commands[k].min ?
						  "missing arguments" :
						  "too many arguments");
	if (!strcmp(cmd, "help")) {
		help(stdout);
		return EXIT_OKAY;
	}

	req = json_object_new_object();
	if (!req) {
		perror("ferryctl");
		return EXIT_UNREACHABLE;
	}
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	rc = EXIT_OKAY;
	if (!strcmp(cmd, "pin")) {
		/* "pin failback VIP PEER" is the daemon's pin_failback. */
		vip = ca.pos[1];
		node = ca.pos[2]; /* the peer, for the message */
		json_object_object_add(req, "cmd",
				       json_object_new_string("pin_failback"));
		if (strcmp(ca.pos[0], "failback"))
			rc = usage_error(usage, "unknown pin action \"%s\"", ca.pos[0]);
		else if (!valid_name(vip))
			rc = usage_error(usage, "bad VIP name \"%s\"", vip);
		else if (strlen(node) > 64 || strspn(node, "0123456789abcdefABCDEF.:/") != strlen(node))
			rc = usage_error(usage, "PEER \"%s\" is not an address or prefix", node);
		json_object_object_add(req, "vip", json_object_new_string(vip));
		json_object_object_add(req, "peer", json_object_new_string(node));
	} else if (!strcmp(cmd, "pins") && ca.npos == 1) {
		if (!valid_name(ca.pos[0]))
			rc = usage_error(usage, "bad VIP name \"%s\"", ca.pos[0]);
		else
			json_object_object_add(req, "vip",
					       json_object_new_string(ca.pos[0]));
	} else if (!strcmp(cmd, "backends") && ca.npos == 1) {
		if (!valid_name(ca.pos[0]))
			rc = usage_error(usage, "bad VIP name \"%s\"", ca.pos[0]);
		else
			json_object_object_add(req, "vip",
					       json_object_new_string(ca.pos[0]));
	} else if (commands[k].min == 1) { /* drain, undrain, maint, unmaint */
		node = ca.pos[0];
		vip = ca.npos == 2 ? ca.pos[1] : NULL;
		if (!valid_name(node))
			rc = usage_error(usage, "bad node name \"%s\"", node);
		else if (vip && !valid_name(vip))
			rc = usage_error(usage, "bad VIP name \"%s\"", vip);
		json_object_object_add(req, "node", json_object_new_string(node));
		if (vip)
			json_object_object_add(req, "vip",
					       json_object_new_string(vip));
	} else if (!strcmp(cmd, "where")) {
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
		int fs = parse_addr(ca.pos[0], src, sizeof(src));
		int fd = parse_addr(ca.pos[2], dst, sizeof(dst));
		const char *proto = ca.pos[4];
		int64_t sport = 0, dport = 0;

		if (!fs)
			rc = usage_error(usage, "SRC \"%s\" is not an IPv4 or IPv6 address",
					 ca.pos[0]);
		else if (!parse_port(ca.pos[1], &sport))
			rc = usage_error(usage, "SPORT \"%s\" is not a port (0..65535)",
					 ca.pos[1]);
		else if (!fd)
			rc = usage_error(usage, "DST \"%s\" is not an IPv4 or IPv6 address",
					 ca.pos[2]);
		else if (!parse_port(ca.pos[3], &dport))
			rc = usage_error(usage, "DPORT \"%s\" is not a port (0..65535)",
					 ca.pos[3]);
		else if (fs != fd)
			rc = usage_error(usage, "SRC and DST must both be IPv4 or both IPv6");
		else if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp"))
			rc = usage_error(usage, "PROTO must be tcp or udp, not \"%s\"",
					 proto);
		if (!rc) {
			json_object_object_add(req, "src", json_object_new_string(src));
			json_object_object_add(req, "sport", json_object_new_int64(sport));
			json_object_object_add(req, "dst", json_object_new_string(dst));
			json_object_object_add(req, "dport", json_object_new_int64(dport));
			json_object_object_add(req, "proto", json_object_new_string(
				!strcasecmp(proto, "tcp") ? "tcp" : "udp"));
		}
	} else if (!strcmp(cmd, "stats")) {
		if (ca.count && !ca.watch)
			rc = usage_error(usage, "--count needs --watch");
		else if (ca.watch && (!parse_double(ca.watch, &watch) ||
				      watch < WATCH_MIN_S || watch > WATCH_MAX_S))
			rc = usage_error(usage, "--watch SECONDS: a number from %g to %g, not \"%s\"",
					 WATCH_MIN_S, WATCH_MAX_S, ca.watch);
		else if (ca.count && !parse_count(ca.count, &count))
			rc = usage_error(usage, "--count N: a whole number from 1, not \"%s\"",
					 ca.count);
	}
	if (!rc) {
		if (ca.watch)
			rc = run_watch(socket_path(sock), ca.json, watch, count);
		else
			rc = run_one(socket_path(sock), ca.json, req, cmd, node,
				     vip);
	}
	json_object_put(req);
	return rc;
}
