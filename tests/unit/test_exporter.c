// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/unit/test_exporter.c: ferryd's /metrics: the exposition text over a fake engine (HELP and TYPE per family, escaped label values, values where they belong), and the HTTP side driven by the daemon's loop (200, 404, 405, a taken port, "off"). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "control/exporter.h"
#include "control/names.h"

/* A VIP name with every character the text format escapes. */
#define ODD_NAME "we\\\"ird\\\\na\\nme"
#define ODD_ESCAPED "we\\\"ird\\\\na\\nme" /* as written in the exposition */

static const char conf_text[] =
	"dataplane = { interface = \"eth0\"; next_hop_mac = \"02:00:00:00:00:01\";\n"
	"  encap_source_v4 = \"10.0.0.2\"; };\n"
	"nodes = ( { name = \"a\"; address = \"10.0.1.1\"; },\n"
	"          { name = \"b\"; address = \"10.0.1.2\"; } );\n"
	"vips = ( { name = \"web\"; address = \"10.9.0.1\"; port = 80; protocol = \"tcp\";\n"
	"           backends = ( { node = \"a\"; }, { node = \"b\"; } ); },\n"
	"         { name = \"" ODD_NAME
	"\"; address = \"10.9.0.1\"; port = 1812;\n"
	"           protocol = \"udp\"; health = { type = \"none\"; };\n"
	"           backends = ( { node = \"b\"; } ); } );\n";

static int fake_err;

/* Counters that tell where each value went: VIP id v has 1000 + v
 * packets, backend id b 2000 + b, reason r 10 + r, event e 50 + e. */
static int fake_read_stats(struct engine *e, struct engine_stats *s)
{
	unsigned int i;

	(void)e;
	if (fake_err)
		return fake_err;
	memset(s, 0, sizeof(*s));
	s->ncpus = 2;
	for (i = 0; i < 8; i++) {
		s->vip[i].packets = 1000 + i;
		s->vip[i].bytes = 100000 + i;
		s->vip[i].new_flows = 10 + i;
	}
	for (i = 0; i < 8; i++) {
		s->backend[i].packets = 2000 + i;
		s->backend[i].bytes = 200000 + i;
	}
	for (i = 0; i < LB_REASON_MAX; i++)
		s->global.reason[i].packets = 10 + i;
	for (i = 0; i < LB_EVENT_MAX; i++)
		s->global.event[i] = 50 + i;
	s->cpu_packets[0] = 7;
	s->cpu_packets[1] = 9;
	s->flows_entries = 123;
	s->flows_capacity = 4096;
	return 0;
}

static const struct engine_ops fake_ops = {
	.name = "fake",
	.read_stats = fake_read_stats,
};

struct fixture {
	struct ferryd d;
	unsigned int probe_of[8];
};

static void no_change(void *arg, unsigned int probe, bool up)
{
	(void)arg;
	(void)probe;
	(void)up;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct health_probe_def defs[8];
	char err[256] = "";
	unsigned int i, j, k = 0;

	assert_non_null(f);
	f->d.ops = &fake_ops;
	f->d.conf = conf_load_string(conf_text, "t.conf", err, sizeof(err));
	if (!f->d.conf)
		fail_msg("config: %s", err);
	f->d.live = plan_build(f->d.conf, NULL, 7);
	assert_non_null(f->d.live);
	f->d.loop = loop_new();
	f->d.health = health_new(f->d.loop, no_change, NULL);
	assert_non_null(f->d.health);
	memset(defs, 0, sizeof(defs));
	for (i = 0; i < f->d.conf->nvips; i++)
		for (j = 0; j < f->d.conf->vips[i].nbackends; j++, k++) {
			const struct conf_node *n =
				&f->d.conf->nodes
					 [f->d.conf->vips[i].backends[j].node];

			defs[k].addr = n->addr;
			defs[k].family = n->family;
			defs[k].spec = f->d.conf->vips[i].health;
			defs[k].up = k != 1; /* web's b: down */
			f->probe_of[k] = k;
		}
	assert_int_equal(health_set(f->d.health, defs, k), 0);
	f->d.nbe = k;
	f->d.probe_of = f->probe_of;
	f->d.reloads_ok = 3;
	f->d.reloads_failed = 1;
	fake_err = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	exporter_stop(&f->d);
	health_free(f->d.health);
	loop_free(f->d.loop);
	plan_free(f->d.live);
	conf_free(f->d.conf);
	free(f);
	return 0;
}

/* The value of the sample written exactly as series, or -1. */
static long long sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static unsigned int count_lines(const char *text, const char *prefix)
{
	unsigned int n = 0;
	size_t l = strlen(prefix);
	const char *p;

	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, l);
	return n;
}

/* Every line is a HELP, a TYPE or a sample; a family's HELP and TYPE come
 * before its samples, and each family appears once. */
static void test_format(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	char *text = exporter_render(&f->d, &len), *line, *save = NULL;
	char family[128] = "", seen[4096] = " ";
	regex_t re_sample, re_help, re_type;

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_int_equal(
		regcomp(&re_sample,
			"^([a-zA-Z_:][a-zA-Z0-9_:]*)"
			"(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\"\\\\n])*\""
			"(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\"\\\\n])*\")*\\})? "
			"[0-9]+(\\.[0-9]+)?$",
			REG_EXTENDED),
		0);
	assert_int_equal(regcomp(&re_help, "^# HELP ([a-z_]+) [^\n]+$",
				 REG_EXTENDED),
			 0);
	assert_int_equal(regcomp(&re_type, "^# TYPE ([a-z_]+) (counter|gauge)$",
				 REG_EXTENDED),
			 0);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[2];
		char name[128], key[136];

		if (!regexec(&re_help, line, 2, m, 0)) {
			snprintf(family, sizeof(family), "%.*s",
				 (int)(m[1].rm_eo - m[1].rm_so),
				 line + m[1].rm_so);
			snprintf(key, sizeof(key), " %s ", family);
			if (strstr(seen, key))
				fail_msg("family %s twice", family);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			continue;
		}
		if (!regexec(&re_type, line, 2, m, 0)) {
			if (strncmp(line + m[1].rm_so, family,
				    (size_t)(m[1].rm_eo - m[1].rm_so)))
				fail_msg("TYPE without its HELP: %s", line);
			continue;
		}
		if (regexec(&re_sample, line, 2, m, 0))
			fail_msg("not a sample line: %s", line);
		snprintf(name, sizeof(name), "%.*s",
			 (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
		if (strcmp(name, family))
			fail_msg("sample %s under family %s", line, family);
	}
	regfree(&re_sample);
	regfree(&re_help);
	regfree(&re_type);
	free(text);
}

static void test_values(void **state)
{
	struct fixture *f = *state;
	const struct plan *p = f->d.live;
	char series[256];
	size_t len;
	char *t = exporter_render(&f->d, &len);
	unsigned int i, k;

	assert_non_null(t);
	for (i = 0; i < p->nvips; i++) {
		const char *esc = i == 1 ? ODD_ESCAPED : p->vips[i].name;

		snprintf(series, sizeof(series),
			 "ferry_vip_packets_total{vip=\"%s\"}", esc);
		assert_int_equal(sample(t, series), 1000 + p->vips[i].id);
		snprintf(series, sizeof(series),
			 "ferry_vip_new_flows_total{vip=\"%s\"}", esc);
		assert_int_equal(sample(t, series), 10 + p->vips[i].id);
	}
	for (k = 0; k < p->nbackends; k++) {
		const struct plan_backend *b = &p->backends[k];
		const char *esc = strcmp(b->vip, "web") ? ODD_ESCAPED : "web";

		snprintf(
			series, sizeof(series),
			"ferry_backend_packets_total{vip=\"%s\",backend=\"%s\"}",
			esc, b->node);
		assert_int_equal(sample(t, series), 2000 + b->id);
	}
	/* web's b is down: state, up, VIPs' active backends */
	assert_int_equal(
		sample(t, "ferry_backend_up{vip=\"web\",backend=\"b\"}"), 0);
	assert_int_equal(
		sample(t, "ferry_backend_up{vip=\"web\",backend=\"a\"}"), 1);
	assert_int_equal(sample(t, "ferry_backend_up{vip=\"" ODD_ESCAPED
				   "\",backend=\"b\"}"),
			 1);
	assert_int_equal(count_lines(t, "ferry_backend_state{"), 4 * 3);
	assert_int_equal(count_lines(t, "ferry_health_checks_total{"),
			 2 * 2); /* none: not probed */
	for (i = 0; i < LB_REASON_MAX; i++) {
		snprintf(series, sizeof(series),
			 "ferry_packets_total{reason=\"%s\"}",
			 lb_reason_name(i));
		assert_int_equal(sample(t, series), 10 + i);
		snprintf(series, sizeof(series),
			 "ferry_drops_total{reason=\"%s\"}", lb_reason_name(i));
		assert_int_equal(
			sample(t, series),
			i >= LB_R_DROP_TRUNCATED ? (long long)(10 + i) : -1LL);
	}
	assert_int_equal(count_lines(t, "ferry_drops_total{"),
			 LB_REASON_MAX - LB_R_DROP_TRUNCATED);
	assert_int_equal(
		sample(t, "ferry_conntrack_events_total{event=\"ct_hit\"}"),
		50 + LB_EV_CT_HIT);
	assert_int_equal(
		sample(t,
		       "ferry_conntrack_events_total{event=\"ct_reselect\"}"),
		50 + LB_EV_CT_RESELECT);
	assert_int_equal(sample(t, "ferry_events_total{event=\"pin_hit\"}"),
			 50 + LB_EV_PIN_HIT);
	assert_int_equal(
		sample(t, "ferry_conntrack_events_total{event=\"pin_hit\"}"),
		-1);
	assert_int_equal(sample(t, "ferry_flows_entries"), 123);
	assert_int_equal(sample(t, "ferry_flows_capacity"), 4096);
	assert_int_equal(sample(t, "ferry_cpu_packets_total{cpu=\"1\"}"), 9);
	assert_int_equal(sample(t, "ferry_config_generation"), 7);
	assert_int_equal(sample(t, "ferry_reloads_total{result=\"ok\"}"), 3);
	assert_int_equal(sample(t, "ferry_reloads_total{result=\"failed\"}"),
			 1);
	assert_int_equal(
		sample(t,
		       "ferry_engine_info{engine=\"fake\",interface=\"eth0\"}"),
		1);
	assert_int_equal(sample(t, "ferry_up"), 1);
	free(t);
}

static void test_read_failure(void **state)
{
	struct fixture *f = *state;
	size_t len;

	fake_err = -EIO;
	errno = 0;
	assert_null(exporter_render(&f->d, &len));
	assert_int_equal(errno, EIO);
}

/* ---- HTTP through the loop ------------------------------------------------ */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Sends request to 127.0.0.1:port and runs the loop until the server
 * closes; the answer (malloc'd). */
static char *http(struct ferryd *d, int port, const char *request)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	uint64_t end = loop_now_ms() + 5000;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(buf);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, request, strlen(request)),
			 (ssize_t)strlen(request));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (loop_now_ms() < end) {
		ssize_t n;

		assert_int_equal(loop_run_once(d->loop), 0);
		n = read(fd, buf + len, cap - len - 1);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

static void test_http(void **state)
{
	struct fixture *f = *state;
	int port = free_port();
	char *r;

	loop_set_tick(f->d.loop, 10, NULL, NULL);
	snprintf(f->d.conf->ctl.exporter, sizeof(f->d.conf->ctl.exporter),
		 "127.0.0.1:%d", port);
	assert_int_equal(exporter_start(&f->d), 0);

	r = http(
		&f->d, port,
		"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(
		r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
	assert_non_null(strstr(r, "\r\n\r\n# HELP "));
	assert_non_null(strstr(r, "\nferry_up 1\n"));
	free(r);

	r = http(&f->d, port,
		 "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	free(r);

	r = http(
		&f->d, port,
		"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 405"));
	free(r);

	fake_err = -EIO;
	r = http(
		&f->d, port,
		"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 500"));
	free(r);
	fake_err = 0;

	/* HTTP/1.0 (what a plain curl -0 or an old scraper sends) */
	r = http(&f->d, port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, " 200 OK\r\n"));
	assert_non_null(strstr(r, "\nferry_up 1\n"));
	free(r);

	exporter_stop(&f->d);
	exporter_stop(&f->d); /* twice: harmless */
}

static void test_port_taken(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = free_port();

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	snprintf(f->d.conf->ctl.exporter, sizeof(f->d.conf->ctl.exporter),
		 "127.0.0.1:%d", port);
	assert_int_equal(exporter_start(&f->d), -EADDRINUSE);
	close(fd);
	/* and it can start once the port is free */
	assert_int_equal(exporter_start(&f->d), 0);
	exporter_stop(&f->d);
}

static void test_off(void **state)
{
	struct fixture *f = *state;

	f->d.conf->ctl.exporter[0] = 0;
	assert_int_equal(exporter_start(&f->d), 0);
	exporter_stop(&f->d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_taken, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
