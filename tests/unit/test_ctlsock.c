// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/unit/test_ctlsock.c: the control socket server driven through loop_run_once with real unix sockets in a temp dir (framing, errors, limits, mode, credentials), and the ferryctl binary (argument checks, exit codes, output) against fake handlers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "control/ctlsock.h"
#include "control/loop.h"

extern char **environ;
static const char *ferryctl_path; /* argv[1] or $FERRYCTL */

struct fx {
	char dir[64];
	char path[128];
	struct loop *l;
	struct ctlsock *cs;
	unsigned int calls; /* handler invocations */
	unsigned int stats_calls;
	struct json_object *last_req; /* the last request a handler saw */
};

/* ---- fake handlers ---- */

static void keep_req(struct fx *f, struct json_object *req)
{
	json_object_put(f->last_req);
	f->last_req = json_object_get(req);
	f->calls++;
}

static int h_status(void *ctx, struct json_object *req, struct json_object *resp)
{
	keep_req(ctx, req);
	json_object_object_add(resp, "generation", json_object_new_int(7));
	json_object_object_add(resp, "engine", json_object_new_string("xdp"));
	json_object_object_add(resp, "interface", json_object_new_string("eth0"));
	json_object_object_add(resp, "vips", json_object_new_int(2));
	json_object_object_add(resp, "backends", json_object_new_int(3));
	json_object_object_add(resp, "config",
			       json_object_new_string("/etc/ferry/ferry.conf"));
	json_object_object_add(resp, "uptime_s", json_object_new_int(93784));
	return 0;
}

static int h_echo(void *ctx, struct json_object *req, struct json_object *resp)
{
	int64_t n;

	keep_req(ctx, req);
	if (ctl_arg_int(req, resp, "n", true, 0, 1000, &n) < 0)
		return -EINVAL;
	json_object_object_add(resp, "n", json_object_new_int64(n));
	return 0;
}

static int h_fail(void *ctx, struct json_object *req, struct json_object *resp)
{
	keep_req(ctx, req);
	json_object_object_add(resp, "partial", json_object_new_int(1));
	return ctl_error(resp, "nope %d", 42);
}

static int h_errno(void *ctx, struct json_object *req, struct json_object *resp)
{
	keep_req(ctx, req);
	(void)resp;
	return -ENOENT;
}

static int h_big(void *ctx, struct json_object *req, struct json_object *resp)
{
	int64_t size;
	char *s;

	keep_req(ctx, req);
	if (ctl_arg_int(req, resp, "size", true, 1, 64 << 20, &size) < 0)
		return -EINVAL;
	s = malloc((size_t)size + 1);
	if (!s)
		return -ENOMEM;
	memset(s, 'x', (size_t)size);
	s[size] = '\0';
	json_object_object_add(resp, "data", json_object_new_string(s));
	free(s);
	return 0;
}

static int h_reload(void *ctx, struct json_object *req, struct json_object *resp)
{
	keep_req(ctx, req);
	return ctl_error(resp, "ferry.conf:3: bad");
}

static int h_drain(void *ctx, struct json_object *req, struct json_object *resp)
{
	const char *node, *vip = NULL;

	keep_req(ctx, req);
	if (ctl_arg_string(req, resp, "node", true, &node) < 0 ||
	    ctl_arg_string(req, resp, "vip", false, &vip) < 0)
		return -EINVAL;
	if (strcmp(node, "a"))
		return ctl_error(resp, "unknown node \"%s\"", node);
	json_object_object_add(resp, "changed", json_object_new_int(vip ? 1 : 2));
	return 0;
}

static int h_where(void *ctx, struct json_object *req, struct json_object *resp)
{
	keep_req(ctx, req);
	json_object_object_add(resp, "vip", json_object_new_string("web"));
	json_object_object_add(resp, "backend", json_object_new_string("a"));
	json_object_object_add(resp, "address", json_object_new_string("10.0.1.1"));
	json_object_object_add(resp, "by", json_object_new_string("ring"));
	json_object_object_add(resp, "verdict", json_object_new_string("tx"));
	json_object_object_add(resp, "reason", json_object_new_string("forward"));
	return 0;
}

static struct json_object *obj_kv(const char *k1, struct json_object *v1,
				  const char *k2, struct json_object *v2)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, k1, v1);
	if (k2)
		json_object_object_add(o, k2, v2);
	return o;
}

static int h_stats(void *ctx, struct json_object *req, struct json_object *resp)
{
	struct fx *f = ctx;
	uint64_t n = 1000 * ++f->stats_calls;
	struct json_object *reasons = json_object_new_object();
	struct json_object *vips = json_object_new_array();
	struct json_object *bes = json_object_new_array();
	struct json_object *cpus = json_object_new_array();
	struct json_object *v;

	keep_req(ctx, req);
	json_object_object_add(reasons, "forward", json_object_new_uint64(n));
	json_object_object_add(reasons, "no_vip", json_object_new_uint64(5));
	v = obj_kv("name", json_object_new_string("web"), "packets",
		   json_object_new_uint64(n));
	json_object_object_add(v, "bytes", json_object_new_uint64(n * 100));
	json_object_object_add(v, "new_flows", json_object_new_uint64(n / 10));
	json_object_array_add(vips, v);
	v = obj_kv("vip", json_object_new_string("web"), "node",
		   json_object_new_string("a"));
	json_object_object_add(v, "packets", json_object_new_uint64(n));
	json_object_object_add(v, "bytes", json_object_new_uint64(n * 100));
	json_object_array_add(bes, v);
	json_object_array_add(cpus, json_object_new_uint64(n));
	json_object_array_add(cpus, json_object_new_uint64(0));
	json_object_object_add(resp, "generation", json_object_new_int(7));
	json_object_object_add(resp, "reasons", reasons);
	json_object_object_add(resp, "events", json_object_new_object());
	json_object_object_add(resp, "cpus", cpus);
	json_object_object_add(resp, "vips", vips);
	json_object_object_add(resp, "backends", bes);
	return 0;
}

static int h_vips(void *ctx, struct json_object *req, struct json_object *resp)
{
	struct json_object *arr = json_object_new_array(), *v;

	keep_req(ctx, req);
	v = obj_kv("name", json_object_new_string("web"), "address",
		   json_object_new_string("10.9.0.1"));
	json_object_object_add(v, "port", json_object_new_int(0));
	json_object_object_add(v, "protocol", json_object_new_string("tcp"));
	json_object_object_add(v, "ring_size", json_object_new_int(65537));
	json_object_object_add(v, "backends_up", json_object_new_int(1));
	json_object_object_add(v, "backends", json_object_new_int(2));
	json_object_object_add(v, "fail_open", json_object_new_boolean(0));
	json_object_object_add(v, "packets", json_object_new_uint64(123456789));
	json_object_array_add(arr, v);
	json_object_object_add(resp, "vips", arr);
	return 0;
}

static int h_backends(void *ctx, struct json_object *req,
		      struct json_object *resp)
{
	struct json_object *arr = json_object_new_array(), *b;

	keep_req(ctx, req);
	b = obj_kv("vip", json_object_new_string("web"), "node",
		   json_object_new_string("a"));
	json_object_object_add(b, "state", json_object_new_string("draining"));
	json_object_object_add(b, "check",
			       obj_kv("type", json_object_new_string("tcp"),
				      "last_error",
				      json_object_new_string("connection refused")));
	json_object_array_add(arr, b);
	json_object_object_add(resp, "backends", arr);
	return 0;
}

static const struct ctl_command cmds[] = {
	{ "status", h_status }, { "echo", h_echo },	{ "fail", h_fail },
	{ "errno", h_errno },	{ "big", h_big },	{ "reload", h_reload },
	{ "drain", h_drain },	{ "where", h_where },	{ "stats", h_stats },
	{ "vips", h_vips },	{ "backends", h_backends }, { NULL, NULL },
};

/* ---- fixture: a loop and a server on dir/run/ctl.sock ---- */

static void no_tick(struct loop *l, uint64_t now, void *arg)
{
	(void)l;
	(void)now;
	(void)arg;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/ferry-ctl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/run/ctl.sock", f->dir);
	f->l = loop_new();
	if (!f->l)
		return -1;
	loop_set_tick(f->l, 5, no_tick, NULL);
	f->cs = ctlsock_open(f->l, f->path, 0, cmds, f);
	if (!f->cs)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ctlsock_close(f->cs);
	loop_free(f->l);
	json_object_put(f->last_req);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

static void pump(struct fx *f, unsigned int rounds)
{
	while (rounds--)
		assert_int_equal(loop_run_once(f->l), 0);
}

/* ---- a test client: blocking connect, reads by pumping the loop ---- */

struct cl {
	int fd;
	size_t len;
	char buf[1 << 16];
};

static struct cl *cl_open_ex(struct fx *f, bool accept)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cl *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	strcpy(sa.sun_path, f->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (accept)
		pump(f, 2);
	return c;
}

static struct cl *cl_open(struct fx *f)
{
	return cl_open_ex(f, true);
}

static void cl_close(struct cl *c)
{
	close(c->fd);
	free(c);
}

static void cl_send(struct cl *c, const char *s, size_t len)
{
	assert_int_equal(send(c->fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void cl_puts(struct cl *c, const char *s)
{
	cl_send(c, s, strlen(s));
}

/* The next line (without '\n') into out; false on EOF / reset first. */
static bool cl_line(struct fx *f, struct cl *c, char *out, size_t outlen)
{
	uint64_t deadline = loop_now_ms() + 5000;
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t l = (size_t)(nl - c->buf);

			assert_true(l < outlen);
			memcpy(out, c->buf, l);
			out[l] = '\0';
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return true;
		}
		assert_true(c->len < sizeof(c->buf));
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
			 MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return false;
		assert_true(errno == EAGAIN);
		if (loop_now_ms() > deadline)
			fail_msg("no answer within 5 s");
		pump(f, 1);
	}
}

/* The next answer, parsed; the caller puts it. */
static struct json_object *cl_answer(struct fx *f, struct cl *c)
{
	static char line[1 << 16];
	struct json_object *o;

	if (!cl_line(f, c, line, sizeof(line)))
		fail_msg("connection closed, no answer");
	o = json_tokener_parse(line);
	if (!o)
		fail_msg("answer is not JSON: %s", line);
	return o;
}

static void cl_expect_eof(struct fx *f, struct cl *c)
{
	char line[256];

	if (cl_line(f, c, line, sizeof(line)))
		fail_msg("wanted the end of the connection, got: %s", line);
}

static bool j_ok(struct json_object *o)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, "ok", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

static const char *j_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int64_t j_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_int64(v);
}

/* Sends len bytes, expects ok=false with an error containing want. */
static void expect_error_n(struct fx *f, struct cl *c, const char *line,
			   size_t len, const char *want)
{
	struct json_object *o;
	const char *err;

	cl_send(c, line, len);
	o = cl_answer(f, c);
	err = j_str(o, "error");
	if (j_ok(o) || !err || !strstr(err, want))
		fail_msg("for %s wanted an error with '%s', got %s", line, want,
			 json_object_to_json_string(o));
	assert_int_equal(json_object_object_length(o), 2);
	json_object_put(o);
}

static void expect_error(struct fx *f, struct cl *c, const char *line,
			 const char *want)
{
	expect_error_n(f, c, line, strlen(line), want);
}

static void expect_echo(struct fx *f, struct cl *c, int n)
{
	struct json_object *o = cl_answer(f, c);

	assert_true(j_ok(o));
	assert_int_equal(j_int(o, "n"), n);
	json_object_put(o);
}

/* ---- server tests ---- */

static void test_request_gets_answer(void **state)
{
	struct fx *f = *state;
	struct cl *c = cl_open(f);
	char line[1024];
	struct json_object *o;

	cl_puts(c, "{\"cmd\":\"status\"}\n");
	assert_true(cl_line(f, c, line, sizeof(line)));
	/* One line, "ok" first, paths without escaped slashes. */
	assert_true(!strncmp(line, "{\"ok\":true,", 11));
	assert_non_null(strstr(line, "\"/etc/ferry/ferry.conf\""));
	o = json_tokener_parse(line);
	assert_non_null(o);
	assert_int_equal(j_int(o, "generation"), 7);
	assert_string_equal(j_str(o, "engine"), "xdp");
	json_object_put(o);
	assert_int_equal(f->calls, 1);
	cl_close(c);
	pump(f, 2);
	assert_int_equal(ctlsock_clients(f->cs), 0);
}

static void test_two_requests_one_write(void **state)
{
	struct fx *f = *state;
	struct cl *c = cl_open(f);

	cl_puts(c, "{\"cmd\":\"echo\",\"n\":1}\n{\"cmd\":\"echo\",\"n\":2}\n");
	expect_echo(f, c, 1);
	expect_echo(f, c, 2);
	cl_close(c);
}

static void test_request_split_over_writes(void **state)
{
	struct fx *f = *state;
	const char *req = "{\"cmd\": \"echo\", \"n\": 33}\r\n{\"cmd\":\"echo\",\"n\":34}\n";
	struct cl *c = cl_open(f);
	size_t i;

	for (i = 0; req[i]; i++) {
		cl_send(c, req + i, 1);
		pump(f, 1);
	}
	expect_echo(f, c, 33);
	expect_echo(f, c, 34);
	cl_close(c);
}

static void test_malformed_keeps_connection(void **state)
{
	struct fx *f = *state;
	struct cl *c = cl_open(f);
	static const char nul[] = "{\"cmd\":\"ec\0ho\",\"n\":1}\n";

	expect_error(f, c, "{nope\n", "malformed JSON");
	expect_error(f, c, "{\"cmd\":\"echo\",\"n\":1} x\n", "malformed JSON");
	expect_error(f, c, "{\"cmd\":\"echo\",\"n\":1}{}\n", "malformed JSON");
	expect_error(f, c, "{\"cmd\":\"echo\",\n", "malformed JSON");
	expect_error(f, c, "{\"cmd\":\"\xff\xfe\"}\n", "malformed JSON");
	expect_error(f, c, "[1,2]\n", "JSON object");
	expect_error(f, c, "42\n", "JSON object");
	expect_error(f, c, "null\n", "JSON object");
	expect_error(f, c, "{}\n", "\"cmd\"");
	expect_error(f, c, "{\"cmd\":5}\n", "\"cmd\"");
	expect_error(f, c, "{\"cmd\":null}\n", "\"cmd\"");
	expect_error(f, c, "{\"cmd\":\"echo\"}\n", "missing argument \"n\"");
	expect_error(f, c, "{\"cmd\":\"echo\",\"n\":\"1\"}\n", "must be an integer");
	expect_error(f, c, "{\"cmd\":\"echo\",\"n\":1.5}\n", "must be an integer");
	expect_error(f, c, "{\"cmd\":\"echo\",\"n\":1001}\n", "0..1000");
	expect_error(f, c, "{\"cmd\":\"echo\",\"n\":99999999999999999999}\n", "0..1000");
	expect_error(f, c, "{\"cmd\":\"drain\",\"node\":7}\n", "must be a string");
	expect_error_n(f, c, nul, sizeof(nul) - 1, "malformed JSON");
	assert_int_equal(f->calls, 6); /* the 6 wrong-argument ones */
	/* Still the same connection, still served. */
	cl_puts(c, "{\"cmd\":\"echo\",\"n\":12}\n");
	expect_echo(f, c, 12);
	cl_close(c);
}

static void test_unknown_command(void **state)
{
	struct fx *f = *state;
	struct cl *c = cl_open(f);

	expect_error(f, c, "{\"cmd\":\"nosuch\"}\n", "unknown command \"nosuch\"");
	/* Blank lines are no requests; the connection goes on. */
	cl_puts(c, "\n  \r\n{\"cmd\":\"echo\",\"n\":3}\n");
	expect_echo(f, c, 3);
	assert_int_equal(f->calls, 1);
	cl_close(c);
}

static void test_handler_errors(void **state)
{
	struct fx *f = *state;
	struct cl *c = cl_open(f);
	char want[128];

	/* ctl_error's message; the handler's other keys are dropped. */
	expect_error(f, c, "{\"cmd\":\"fail\"}\n", "nope 42");
	/* -errno without a message: strerror. */
	snprintf(want, sizeof(want), "%s", strerror(ENOENT));
	expect_error(f, c, "{\"cmd\":\"errno\"}\n", want);
	expect_error(f, c, "{\"cmd\":\"drain\",\"node\":\"zz\"}\n",
		     "unknown node \"zz\"");
	cl_puts(c, "{\"cmd\":\"drain\",\"node\":\"a\",\"vip\":null}\n");
	{
		struct json_object *o = cl_answer(f, c);

		assert_true(j_ok(o));
		assert_int_equal(j_int(o, "changed"), 2);
		json_object_put(o);
	}
	cl_close(c);
}

static void test_long_line_closes(void **state)
{
	struct fx *f = *state;
	char *big = malloc(CTL_LINE_MAX + 64);
	struct cl *c = cl_open(f);
	struct json_object *o;
	int len;

	assert_non_null(big);
	/* Exactly CTL_LINE_MAX bytes before the newline: still served. */
	len = snprintf(big, CTL_LINE_MAX + 64, "{\"cmd\":\"echo\",\"n\":5,\"pad\":\"");
	memset(big + len, 'p', CTL_LINE_MAX - len - 2);
	memcpy(big + CTL_LINE_MAX - 2, "\"}\n", 4);
	assert_int_equal(strlen(big), CTL_LINE_MAX + 1);
	cl_send(c, big, CTL_LINE_MAX + 1);
	expect_echo(f, c, 5);

	/* One byte more: an error, then the server closes. */
	memset(big, 'a', CTL_LINE_MAX + 64);
	cl_send(c, big, CTL_LINE_MAX + 64);
	o = cl_answer(f, c);
	assert_false(j_ok(o));
	assert_non_null(strstr(j_str(o, "error"), "longer than 4096"));
	json_object_put(o);
	cl_expect_eof(f, c);
	assert_int_equal(ctlsock_clients(f->cs), 0);
	cl_close(c);
	free(big);
}

static void test_client_limit(void **state)
{
	struct fx *f = *state;
	struct cl *c[CTL_CLIENTS_MAX], *extra;
	struct json_object *o;
	unsigned int i;

	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		c[i] = cl_open(f);
	assert_int_equal(ctlsock_clients(f->cs), CTL_CLIENTS_MAX);
	extra = cl_open_ex(f, false);
	cl_puts(extra, "{\"cmd\":\"status\"}\n"); /* sent before it hears */
	o = cl_answer(f, extra);
	assert_false(j_ok(o));
	assert_non_null(strstr(j_str(o, "error"), "too many clients"));
	json_object_put(o);
	cl_expect_eof(f, extra);
	cl_close(extra);
	assert_int_equal(f->calls, 0);
	assert_int_equal(ctlsock_clients(f->cs), CTL_CLIENTS_MAX);

	/* Every admitted one is served; a freed slot admits again. */
	for (i = 0; i < CTL_CLIENTS_MAX; i++) {
		cl_puts(c[i], "{\"cmd\":\"echo\",\"n\":7}\n");
		expect_echo(f, c[i], 7);
	}
	cl_close(c[0]);
	pump(f, 2);
	c[0] = cl_open(f);
	cl_puts(c[0], "{\"cmd\":\"echo\",\"n\":8}\n");
	expect_echo(f, c[0], 8);
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		cl_close(c[i]);
	pump(f, 2);
	assert_int_equal(ctlsock_clients(f->cs), 0);
}

static void test_socket_file(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctlsock *cs;
	char path[160];
	struct stat st;
	int fd;

	/* Mode 0 is 0660; the missing parent was created. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	snprintf(path, sizeof(path), "%s/a/b/other.sock", f->dir);
	cs = ctlsock_open(f->l, path, 0600, cmds, f);
	assert_non_null(cs);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	ctlsock_close(cs);
	assert_int_equal(stat(path, &st), -1); /* removed on close */

	/* A stale socket (nobody listening) is replaced. */
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cs = ctlsock_open(f->l, path, 0640, cmds, f);
	assert_non_null(cs);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	ctlsock_close(cs);

	/* A live server's socket is not taken. */
	errno = 0;
	assert_null(ctlsock_open(f->l, f->path, 0, cmds, f));
	assert_int_equal(errno, EADDRINUSE);

	/* Nor is a file that is not a socket. */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(ctlsock_open(f->l, path, 0, cmds, f));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void test_slow_reader_dropped(void **state)
{
	struct fx *f = *state;
	struct cl *slow = cl_open(f), *other = cl_open(f);
	struct json_object *o;
	unsigned int i;

	/* 50 answers of 200 KB asked for, none read: the server queues
	 * a bounded amount and stops reading requests, never blocks. */
	for (i = 0; i < 50; i++)
		cl_puts(slow, "{\"cmd\":\"big\",\"size\":200000}\n");
	pump(f, 20);
	assert_true(f->calls < 10);
	cl_puts(other, "{\"cmd\":\"status\"}\n");
	o = cl_answer(f, other);
	assert_true(j_ok(o));
	json_object_put(o);
	assert_int_equal(ctlsock_clients(f->cs), 2);

	/* No progress for CTL_STALL_MS: dropped; the idle one stays. */
	ctlsock_tick(f->cs, loop_now_ms() + CTL_STALL_MS + 100);
	assert_int_equal(ctlsock_clients(f->cs), 1);
	/* Idle for CTL_IDLE_MS: dropped too. */
	ctlsock_tick(f->cs, loop_now_ms() + CTL_IDLE_MS + 100);
	assert_int_equal(ctlsock_clients(f->cs), 0);
	cl_expect_eof(f, other);
	cl_close(slow);
	cl_close(other);
}

static void test_oversized_answer_drops(void **state)
{
	struct fx *f = *state;
	struct cl *c = cl_open(f);
	char req[128];

	snprintf(req, sizeof(req), "{\"cmd\":\"big\",\"size\":%u}\n",
		 CTL_OUT_MAX);
	cl_puts(c, req);
	cl_expect_eof(f, c);
	assert_int_equal(ctlsock_clients(f->cs), 0);
	cl_close(c);
}

static void test_last_line_at_eof(void **state)
{
	struct fx *f = *state;
	struct cl *c = cl_open(f);

	cl_puts(c, "{\"cmd\":\"echo\",\"n\":1}\n{\"cmd\":\"echo\",\"n\":9}");
	shutdown(c->fd, SHUT_WR);
	expect_echo(f, c, 1);
	expect_echo(f, c, 9);
	cl_expect_eof(f, c);
	assert_int_equal(ctlsock_clients(f->cs), 0);
	cl_close(c);
}

/* A child as uid/gid 65534 connects; true if it was served. */
static bool served_as_nobody(struct fx *f, gid_t gid)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (!pid) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char buf[256] = "";
		ssize_t n;
		int fd;

		strcpy(sa.sun_path, f->path);
		if (setgroups(0, NULL) || setgid(gid) || setuid(65534))
			_exit(3);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(4);
		/* A refused peer may find the connection closed already. */
		(void)!send(fd, "{\"cmd\":\"echo\",\"n\":4}\n", 21, MSG_NOSIGNAL);
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			_exit(6);
		_exit(strstr(buf, "\"ok\":true") ? 0 :
		      strstr(buf, "permission denied") ? 1 : 7);
	}
	while (waitpid(pid, &status, WNOHANG) == 0)
		pump(f, 1);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) > 1)
		fail_msg("child failed with %d", WEXITSTATUS(status));
	return WEXITSTATUS(status) == 0;
}

static void test_peer_credentials(void **state)
{
	struct fx *f = *state;
	char run[96];

	if (geteuid() != 0)
		skip(); /* needs another uid to connect */
	snprintf(run, sizeof(run), "%s/run", f->dir);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(run, 0755), 0);
	assert_int_equal(chmod(f->path, 0666), 0); /* only creds stop it */
	assert_false(served_as_nobody(f, 65534));
	/* In the socket file's group: served. */
	assert_int_equal(chown(f->path, 0, 65534), 0);
	assert_true(served_as_nobody(f, 65534));
	assert_int_equal(chown(f->path, 0, 0), 0);
	assert_false(served_as_nobody(f, 65534));
}

/* ---- ferryctl, the binary ---- */

struct run {
	int rc;
	char out[16384], err[4096];
};

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
}

/* Runs ferryctl with -s the fixture's socket unless args name one,
 * pumping the loop meanwhile. */
static void ctl_run(struct fx *f, struct run *r, char **envp, ...)
{
	char *argv[24], out[96], err[96];
	posix_spawn_file_actions_t fa;
	uint64_t deadline;
	int argc = 0, status;
	const char *a;
	va_list ap;
	pid_t pid;

	if (!ferryctl_path)
		skip();
	snprintf(out, sizeof(out), "%s/out", f->dir);
	snprintf(err, sizeof(err), "%s/err", f->dir);
	argv[argc++] = (char *)ferryctl_path;
	va_start(ap, envp);
	while ((a = va_arg(ap, const char *)) && argc < 23)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(posix_spawn(&pid, ferryctl_path, &fa, NULL, argv,
				     envp ? envp : environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	deadline = loop_now_ms() + 20000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (loop_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("ferryctl ran over 20 s");
		}
		pump(f, 1);
	}
	assert_true(WIFEXITED(status));
	r->rc = WEXITSTATUS(status);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

#define CTL(f, r, ...) ctl_run(f, r, NULL, "-s", (f)->path, __VA_ARGS__, NULL)

static void expect_usage(struct fx *f, struct run *r)
{
	if (r->rc != 2 || !strstr(r->err, "usage: ferryctl") || r->out[0])
		fail_msg("wanted exit 2 and a usage line, got %d, out '%s', err '%s'",
			 r->rc, r->out, r->err);
	assert_int_equal(f->calls, 0); /* never reached the daemon */
}

static void test_ferryctl_bad_arguments(void **state)
{
	static const char *const bad[][7] = {
		{ "bogus" },
		{ "where", "10.0.0.1", "80", "fd00::1", "80", "tcp" },
		{ "where", "10.0.0.1", "65536", "10.0.0.2", "80", "tcp" },
		{ "where", "10.0.0.1", "80", "10.0.0.2", "-1", "tcp" },
		{ "where", "10.0.0.1", "8x", "10.0.0.2", "80", "tcp" },
		{ "where", "10.0.0.1", "80", "10.0.0.2", "80", "icmp" },
		{ "where", "10.0.0.256", "80", "10.0.0.2", "80", "udp" },
		{ "where", "10.0.0.1", "80", "10.0.0.2", "80" },
		{ "drain" },
		{ "drain", "a", "web", "extra" },
		{ "maint", "" },
		{ "backends", "a", "b" },
		{ "status", "now" },
		{ "status", "--frobnicate" },
		{ "stats", "--watch", "0" },
		{ "stats", "--watch", "soon" },
		{ "stats", "--count", "3" },
		{ "stats", "--watch", "1", "--count", "0" },
		{ "stats", "--watch" },
	};
	struct fx *f = *state;
	struct run r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctl_run(f, &r, NULL, "-s", f->path, bad[i][0], bad[i][1],
			bad[i][2], bad[i][3], bad[i][4], bad[i][5], NULL);
		expect_usage(f, &r);
	}
	ctl_run(f, &r, NULL, NULL); /* no command at all */
	expect_usage(f, &r);
	ctl_run(f, &r, NULL, "-x", "status", NULL);
	expect_usage(f, &r);
	CTL(f, &r, "help");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "where SRC SPORT DST DPORT PROTO"));
}

static void test_ferryctl_unreachable(void **state)
{
	struct fx *f = *state;
	char path[128], env[160];
	char *envp[] = { env, NULL };
	struct run r;

	snprintf(path, sizeof(path), "%s/none.sock", f->dir);
	ctl_run(f, &r, NULL, "-s", path, "status", NULL);
	assert_int_equal(r.rc, 3);
	assert_non_null(strstr(r.err, "none.sock"));
	assert_non_null(strstr(r.err, "cannot connect"));
	/* FERRY_SOCKET names the socket when -s does not. */
	snprintf(env, sizeof(env), "FERRY_SOCKET=%s", path);
	ctl_run(f, &r, envp, "vips", NULL);
	assert_int_equal(r.rc, 3);
	assert_non_null(strstr(r.err, "none.sock"));
	snprintf(env, sizeof(env), "FERRY_SOCKET=%s", f->path);
	ctl_run(f, &r, envp, "status", NULL);
	assert_int_equal(r.rc, 0);
}

static void test_ferryctl_commands(void **state)
{
	struct fx *f = *state;
	struct json_object *v;
	struct run r;

	CTL(f, &r, "status");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "generation  7\n"));
	assert_non_null(strstr(r.out, "uptime      1d 02:03:04\n"));

	CTL(f, &r, "--json", "status");
	assert_int_equal(r.rc, 0);
	assert_true(!strncmp(r.out, "{\"ok\":true,\"generation\":7,", 26));
	assert_int_equal(strchr(r.out, '\n') - r.out, strlen(r.out) - 1);
	CTL(f, &r, "status", "--json");
	assert_true(!strncmp(r.out, "{\"ok\":true,", 11));

	CTL(f, &r, "reload");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ferryctl: ferry.conf:3: bad\n");

	f->calls = 0;
	CTL(f, &r, "where", "10.0.0.1", "1234", "10.9.0.1", "80", "TCP");
	assert_int_equal(r.rc, 0);
	assert_int_equal(f->calls, 1);
	assert_string_equal(j_str(f->last_req, "src"), "10.0.0.1");
	assert_string_equal(j_str(f->last_req, "dst"), "10.9.0.1");
	assert_string_equal(j_str(f->last_req, "proto"), "tcp");
	assert_true(json_object_object_get_ex(f->last_req, "sport", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int(v), 1234);
	assert_int_equal(j_int(f->last_req, "dport"), 80);
	assert_non_null(strstr(r.out, "backend  a\n"));
	assert_non_null(strstr(r.out, "verdict  tx (forward)\n"));
	CTL(f, &r, "where", "fd00::0:1", "0", "FD00::9", "65535", "udp");
	assert_int_equal(r.rc, 0);
	assert_string_equal(j_str(f->last_req, "src"), "fd00::1");
	assert_string_equal(j_str(f->last_req, "dst"), "fd00::9");

	CTL(f, &r, "drain", "a", "web");
	assert_int_equal(r.rc, 0);
	assert_string_equal(j_str(f->last_req, "node"), "a");
	assert_string_equal(j_str(f->last_req, "vip"), "web");
	assert_non_null(strstr(r.out, "1 backend changed"));
	CTL(f, &r, "drain", "zz");
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "unknown node \"zz\""));
	assert_null(j_str(f->last_req, "vip"));

	CTL(f, &r, "vips");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "NAME"));
	assert_non_null(strstr(r.out, "123456789"));
	assert_non_null(strstr(r.out, "1/2"));
	CTL(f, &r, "backends", "web");
	assert_int_equal(r.rc, 0);
	assert_string_equal(j_str(f->last_req, "vip"), "web");
	assert_non_null(strstr(r.out, "draining"));
	assert_non_null(strstr(r.out, "connection refused"));

	CTL(f, &r, "stats");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "forward"));
	f->stats_calls = 0;
	CTL(f, &r, "stats", "--watch", "0.2", "--count", "2");
	assert_int_equal(r.rc, 0);
	assert_int_equal(f->stats_calls, 3); /* a first sample, then 2 */
	assert_non_null(strstr(r.out, "PKT/S"));
	assert_non_null(strstr(strstr(r.out, "---") + 3, "---"));
	/* 1000 packets more per 0.2 s: about 5.0k/s. */
	assert_non_null(strstr(r.out, "k"));
	CTL(f, &r, "--json", "stats", "--watch=0.1", "--count=1");
	assert_int_equal(r.rc, 0);
	assert_non_null(strchr(strchr(r.out, '\n') + 1, '\n'));
}

static void test_ferryctl_refused(void **state)
{
	struct fx *f = *state;
	struct cl *c[CTL_CLIENTS_MAX];
	struct run r;
	unsigned int i;

	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		c[i] = cl_open(f);
	CTL(f, &r, "status");
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "too many clients"));
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		cl_close(c[i]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_gets_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_requests_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_split_over_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_keeps_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_answer_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_line_at_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ferryctl_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ferryctl_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ferryctl_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ferryctl_refused, setup, teardown),
	};

	ferryctl_path = argc > 1 ? argv[1] : getenv("FERRYCTL");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
