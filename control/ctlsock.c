// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/ctlsock.c: the control socket server: unix stream listener, SO_PEERCRED check, non-blocking line framing with bounded input and output, JSON dispatch to command handlers. */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctlsock.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define CTL_OUT_PAUSE (64u << 10) /* stop reading requests above this */
#define CTL_READS_PER_WAKE 16 /* fairness between connections */
#define CTL_ACCEPTS_PER_WAKE 16
#define CTL_JSON_DEPTH 16
#define CTL_ERROR_MAX 512

struct ctl_client {
	struct ctlsock *cs;
	int fd;
	uint32_t events; /* what the loop watches now */
	bool eof; /* the peer will send nothing more */
	bool closing; /* close once the queued answer is out */
	bool drop; /* close now (at the end of this callback) */
	uint64_t last_ms; /* last request or progress in writing */
	size_t inlen;
	char in[CTL_LINE_MAX + 2]; /* a line, its '\n', room for a NUL */
	char *out;
	size_t outoff, outlen, outcap;
	struct ctl_client *prev, *next;
};

struct ctlsock {
	struct loop *l;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	gid_t gid; /* the socket file's group when bound */
	const struct ctl_command *cmds;
	void *ctx;
	struct ctl_client *clients;
	unsigned int nclients;
};

int ctl_error(struct json_object *resp, const char *fmt, ...)
{
	char msg[CTL_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(resp, "error", json_object_new_string(msg));
	return -EINVAL;
}

/* The value of key, or NULL if absent or null (then -EINVAL if required). */
static int ctl_arg(struct json_object *req, struct json_object *resp,
		   const char *key, bool required, struct json_object **v)
{
	*v = NULL;
	if (!json_object_object_get_ex(req, key, v) || !*v) {
		if (required)
			return ctl_error(resp, "missing argument \"%s\"", key);
		return 0;
	}
	return 1;
}

int ctl_arg_string(struct json_object *req, struct json_object *resp,
		   const char *key, bool required, const char **out)
{
	struct json_object *v;
	int r = ctl_arg(req, resp, key, required, &v);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_string))
		return ctl_error(resp, "argument \"%s\" must be a string", key);
	/* A C string: an embedded NUL would make a different name. */
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return ctl_error(resp, "argument \"%s\" contains a NUL", key);
	*out = json_object_get_string(v);
	return 1;
}

int ctl_arg_int(struct json_object *req, struct json_object *resp,
		const char *key, bool required, int64_t min, int64_t max,
		int64_t *out)
{
	struct json_object *v;
	int r = ctl_arg(req, resp, key, required, &v);
	int64_t x;

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_int))
		return ctl_error(resp, "argument \"%s\" must be an integer",
				 key);
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max)
		return ctl_error(resp, "argument \"%s\" must be in %lld..%lld",
				 key, (long long)min, (long long)max);
	*out = x;
	return 1;
}

int ctl_arg_bool(struct json_object *req, struct json_object *resp,
		 const char *key, bool required, bool *out)
{
	struct json_object *v;
	int r = ctl_arg(req, resp, key, required, &v);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_boolean))
		return ctl_error(resp, "argument \"%s\" must be true or false",
				 key);
	*out = json_object_get_boolean(v);
	return 1;
}

static size_t client_queued(const struct ctl_client *c)
{
	return c->outlen - c->outoff;
}

static bool client_paused(const struct ctl_client *c)
{
	return client_queued(c) >= CTL_OUT_PAUSE;
}

/* Appends text and a newline to the output; drops the client past CTL_OUT_MAX. */
static void client_queue(struct ctl_client *c, const char *text, size_t len)
{
	size_t need;
	char *p;

	if (client_queued(c) + len + 1 > CTL_OUT_MAX) {
		c->drop = true;
		return;
	}
	if (c->outoff) {
		memmove(c->out, c->out + c->outoff, client_queued(c));
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	need = c->outlen + len + 1;
	if (need > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			c->drop = true;
			return;
		}
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, text, len);
	c->out[c->outlen + len] = '\n';
	c->outlen = need;
}

static void client_queue_json(struct ctl_client *c, struct json_object *o)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&len);

	if (!s) {
		c->drop = true;
		return;
	}
	client_queue(c, s, len);
}

static const struct ctl_command *ctl_find(const struct ctlsock *cs,
					  struct json_object *name)
{
	const char *s = json_object_get_string(name);
	size_t len = (size_t)json_object_get_string_len(name);
	const struct ctl_command *cmd;

	for (cmd = cs->cmds; cmd->name; cmd++)
		if (strlen(cmd->name) == len && !memcmp(cmd->name, s, len))
			return cmd;
	return NULL;
}

/* 0 and *req (NULL for a JSON null), or -EINVAL with the error in resp. */
static int ctl_parse(const char *line, size_t len, struct json_object *resp,
		     struct json_object **req)
{
	struct json_tokener *tok = json_tokener_new_ex(CTL_JSON_DEPTH);
	enum json_tokener_error jerr;
	int r = 0;

	*req = NULL;
	if (!tok)
		return ctl_error(resp, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	/* len + 1: the NUL after the line ends a number or literal. */
	*req = json_tokener_parse_ex(tok, line, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success)
		r = ctl_error(resp, "malformed JSON: %s",
			      json_tokener_error_desc(jerr));
	else if (json_tokener_get_parse_end(tok) < len)
		r = ctl_error(resp, "malformed JSON: trailing characters");
	json_tokener_free(tok);
	if (r) {
		json_object_put(*req);
		*req = NULL;
	}
	return r;
}

/* Parses and answers one line (without its newline; line[len] is NUL). */
static void client_request(struct ctl_client *c, char *line, size_t len)
{
	struct json_object *resp, *req = NULL, *name, *err, *fail;
	const struct ctl_command *cmd;
	int r = 0;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		line[--len] = '\0';
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (!len)
		return; /* blank lines are not requests */
	c->last_ms = loop_now_ms();

	resp = json_object_new_object();
	if (!resp) {
		c->drop = true;
		return;
	}
	json_object_object_add(resp, "ok", json_object_new_boolean(1));
	r = ctl_parse(line, len, resp, &req);
	if (r)
		goto answer;
	if (!json_object_is_type(req, json_type_object))
		r = ctl_error(resp, "a request is a JSON object");
	else if (!json_object_object_get_ex(req, "cmd", &name) ||
		 !json_object_is_type(name, json_type_string))
		r = ctl_error(resp, "a request needs \"cmd\": a string");
	else if (!(cmd = ctl_find(c->cs, name)))
		r = ctl_error(resp, "unknown command \"%.64s\"",
			      json_object_get_string(name));
	else
		r = cmd->fn(c->cs->ctx, req, resp);
answer:
	if (r < 0 || json_object_object_get_ex(resp, "error", NULL)) {
		fail = json_object_new_object();
		if (!fail) {
			c->drop = true;
			goto out;
		}
		json_object_object_add(fail, "ok", json_object_new_boolean(0));
		if (json_object_object_get_ex(resp, "error", &err) && err)
			json_object_object_add(
				fail, "error",
				json_object_new_string(
					json_object_get_string(err)));
		else
			json_object_object_add(
				fail, "error",
				json_object_new_string(strerror(
					r < 0 && r > -4096 ? -r : EIO)));
		json_object_put(resp);
		resp = fail;
	} else {
		/* Replaces the value in place: "ok" stays the first key. */
		json_object_object_add(resp, "ok", json_object_new_boolean(1));
	}
	client_queue_json(c, resp);
out:
	json_object_put(resp);
	json_object_put(req);
}

static void client_error_close(struct ctl_client *c, const char *msg)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		c->drop = true;
		return;
	}
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	client_queue_json(c, o);
	json_object_put(o);
	c->closing = true;
	c->inlen = 0;
}

/* Answers the complete lines in the input, while the output has room. */
static void client_lines(struct ctl_client *c)
{
	size_t start = 0;
	char *nl;

	while (!c->closing && !c->drop && !client_paused(c)) {
		nl = memchr(c->in + start, '\n', c->inlen - start);
		if (!nl)
			break;
		*nl = '\0';
		client_request(c, c->in + start, (size_t)(nl - c->in) - start);
		start = (size_t)(nl - c->in) + 1;
	}
	if (c->closing || c->drop)
		return;
	if (start) {
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
	}
	if (c->inlen > CTL_LINE_MAX && !memchr(c->in, '\n', c->inlen)) {
		char msg[64];

		snprintf(msg, sizeof(msg), "request line longer than %u bytes",
			 CTL_LINE_MAX);
		client_error_close(c, msg);
	}
}

static void client_flush(struct ctl_client *c)
{
	ssize_t n;

	while (client_queued(c)) {
		n = send(c->fd, c->out + c->outoff, client_queued(c),
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->drop = true;
			return;
		}
		c->outoff += (size_t)n;
		c->last_ms = loop_now_ms();
	}
	c->outoff = c->outlen = 0;
	/* Gives back a big answer's buffer. */
	if (c->outcap > 2 * CTL_OUT_PAUSE) {
		free(c->out);
		c->out = NULL;
		c->outcap = 0;
	}
}

static void client_free(struct ctl_client *c)
{
	struct ctlsock *cs = c->cs;

	loop_del(cs->l, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cs->nclients--;
	free(c->out);
	free(c);
}

static bool client_has_line(const struct ctl_client *c)
{
	return c->inlen && memchr(c->in, '\n', c->inlen);
}

/* Everything a wakeup can do: answer, write, read; then what to watch. */
static void client_service(struct ctl_client *c)
{
	unsigned int round;
	uint32_t ev;
	ssize_t n;

	for (round = 0; round < CTL_READS_PER_WAKE; round++) {
		client_lines(c);
		if (!c->drop)
			client_flush(c);
		if (c->drop || c->closing || client_paused(c))
			break;
		if (client_has_line(c))
			continue; /* the flush made room: answer the rest */
		if (c->eof || c->inlen > CTL_LINE_MAX)
			break;
		n = recv(c->fd, c->in + c->inlen, CTL_LINE_MAX + 1 - c->inlen,
			 MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->drop = true;
			break;
		}
		if (n == 0)
			c->eof = true;
		c->inlen += (size_t)n;
	}
	/* The peer is done sending: a last line without '\n' is a request. */
	if (!c->drop && c->eof && !c->closing && !client_paused(c) &&
	    c->inlen && !client_has_line(c)) {
		c->in[c->inlen] = '\0';
		client_request(c, c->in, c->inlen);
		c->inlen = 0;
		if (!c->drop)
			client_flush(c);
	}
	if (!c->drop && !client_queued(c) &&
	    (c->closing || (c->eof && !client_has_line(c))))
		c->drop = true;
	if (c->drop) {
		client_free(c);
		return;
	}
	/* Writable wakes us for queued output and for lines left unanswered. */
	ev = 0;
	if (client_queued(c) || (!c->closing && client_has_line(c)))
		ev |= EPOLLOUT;
	if (!c->closing && !c->eof && !client_paused(c))
		ev |= EPOLLIN;
	if (ev != c->events) {
		if (loop_mod(c->cs->l, c->fd, ev)) {
			client_free(c);
			return;
		}
		c->events = ev;
	}
}

static void client_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ctl_client *c = arg;

	(void)l;
	(void)fd;
	if (events & EPOLLERR) {
		client_free(c);
		return;
	}
	client_service(c);
}

/* Reads and forgets what the peer sent, so closing does not reset it. */
static void fd_drain(int fd)
{
	char buf[4096];
	int i;

	for (i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

/* One error line to a connection not served, then close. */
static void ctl_refuse(int fd, const char *msg)
{
	char line[256];
	int len;

	len = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n",
		       msg);
	if (len > 0 && (size_t)len < sizeof(line))
		(void)!send(fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	fd_drain(fd);
	close(fd);
}

static bool ctl_in_groups(int fd, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool found = false;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
		if (errno != ERANGE || !len)
			return false;
		groups = malloc(len);
		if (!groups)
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
			free(groups);
			return false;
		}
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			found = true;
	if (groups != small)
		free(groups);
	return found;
}

static bool ctl_peer_allowed(const struct ctlsock *cs, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t gid = cs->gid;
	struct stat st;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) ||
	    len != sizeof(uc))
		return false;
	if (uc.uid == 0 || uc.uid == geteuid())
		return true;
	/* The group the file has now: an operator may have chgrp'ed it. */
	if (!stat(cs->path, &st) && st.st_dev == cs->dev &&
	    st.st_ino == cs->ino)
		gid = st.st_gid;
	return uc.gid == gid || ctl_in_groups(fd, gid);
}

static void ctl_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ctlsock *cs = arg;
	struct ctl_client *c;
	char msg[64];
	int i, cfd;

	(void)events;
	for (i = 0; i < CTL_ACCEPTS_PER_WAKE; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (!ctl_peer_allowed(cs, cfd)) {
			ctl_refuse(cfd, "permission denied");
			continue;
		}
		if (cs->nclients >= CTL_CLIENTS_MAX) {
			snprintf(msg, sizeof(msg), "too many clients (%u)",
				 CTL_CLIENTS_MAX);
			ctl_refuse(cfd, msg);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			ctl_refuse(cfd, "out of memory");
			continue;
		}
		c->cs = cs;
		c->fd = cfd;
		c->events = EPOLLIN;
		c->last_ms = loop_now_ms();
		if (loop_add(l, cfd, c->events, client_cb, c)) {
			free(c);
			ctl_refuse(cfd, "out of memory");
			continue;
		}
		c->next = cs->clients;
		if (c->next)
			c->next->prev = c;
		cs->clients = c;
		cs->nclients++;
	}
}

/* mkdir -p of path's directory. 0 or -errno. */
static int ctl_mkdirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Removes a socket nobody listens on. 0 or -errno. */
static int ctl_unlink_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? errno : 0;
	close(fd);
	if (!r || r == EAGAIN || r == EINPROGRESS)
		return -EADDRINUSE; /* a live server */
	if (r != ECONNREFUSED && r != ENOENT)
		return -r;
	if (unlink(sa->sun_path) && errno != ENOENT)
		return -errno;
	return 0;
}

struct ctlsock *ctlsock_open(struct loop *l, const char *path, mode_t mode,
			     const struct ctl_command *cmds, void *ctx)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctlsock *cs;
	struct stat st;
	mode_t old;
	int r;

	if (!l || !path || !*path || !cmds) {
		errno = EINVAL;
		return NULL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	mode = mode ? mode & 0777 : CTL_SOCKET_MODE;

	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->l = l;
	cs->cmds = cmds;
	cs->ctx = ctx;
	cs->fd = -1;
	strcpy(cs->path, path);

	r = ctl_mkdirs(path);
	if (!r)
		r = ctl_unlink_stale(&sa);
	if (r)
		goto fail;
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cs->fd < 0) {
		r = -errno;
		goto fail;
	}
	/* Born with the mode: no moment where others may connect. */
	old = umask(~mode & 0777);
	r = bind(cs->fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (r)
		goto fail;
	if (chmod(path, mode) || stat(path, &st)) {
		r = -errno;
		unlink(path);
		goto fail;
	}
	cs->dev = st.st_dev;
	cs->ino = st.st_ino;
	cs->gid = st.st_gid;
	if (listen(cs->fd, 64)) {
		r = -errno;
		unlink(path);
		goto fail;
	}
	r = loop_add(l, cs->fd, EPOLLIN, ctl_accept, cs);
	if (r) {
		unlink(path);
		goto fail;
	}
	return cs;
fail:
	if (cs->fd >= 0)
		close(cs->fd);
	free(cs);
	errno = -r;
	return NULL;
}

void ctlsock_close(struct ctlsock *cs)
{
	struct stat st;

	if (!cs)
		return;
	while (cs->clients)
		client_free(cs->clients);
	loop_del(cs->l, cs->fd);
	close(cs->fd);
	/* Only our own file: a newer server may have taken the path. */
	if (!stat(cs->path, &st) && st.st_dev == cs->dev &&
	    st.st_ino == cs->ino)
		unlink(cs->path);
	free(cs);
}

void ctlsock_tick(struct ctlsock *cs, uint64_t now_ms)
{
	struct ctl_client *c, *next;
	uint64_t quiet;

	if (!cs)
		return;
	for (c = cs->clients; c; c = next) {
		next = c->next;
		quiet = now_ms > c->last_ms ? now_ms - c->last_ms : 0;
		if (quiet >= (client_queued(c) ? CTL_STALL_MS : CTL_IDLE_MS))
			client_free(c);
	}
}

unsigned int ctlsock_clients(const struct ctlsock *cs)
{
	return cs ? cs->nclients : 0;
}
