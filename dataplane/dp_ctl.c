/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_ctl.c: framing of the ferryd <-> ferry-dpdk control protocol (dp_ctl.h): one request and one reply per connection, with deadlines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dp_ctl.h"

static long long dp_ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events before deadline (ms). */
static int dp_ctl_wait(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int r;

	for (;;) {
		left = deadline - dp_ctl_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int dp_ctl_write_all(int fd, const void *buf, size_t len,
			    long long deadline)
{
	const char *p = buf;
	ssize_t n;
	int r;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = dp_ctl_wait(fd, POLLOUT, deadline);
		if (r)
			return r;
	}
	return 0;
}

static int dp_ctl_read_all(int fd, void *buf, size_t len, long long deadline)
{
	char *p = buf;
	ssize_t n;
	int r;

	while (len) {
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET; /* closed mid-message */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = dp_ctl_wait(fd, POLLIN, deadline);
		if (r)
			return r;
	}
	return 0;
}

static int dp_ctl_send(int fd, const struct dp_ctl_msg *m, const void *payload,
		       long long deadline)
{
	int r = dp_ctl_write_all(fd, m, sizeof(*m), deadline);

	if (!r && m->len)
		r = dp_ctl_write_all(fd, payload, m->len, deadline);
	return r;
}

/* Header checks shared by both directions. */
static int dp_ctl_read_msg(int fd, struct dp_ctl_msg *m, void **payload,
			   size_t *len, long long deadline)
{
	void *buf = NULL;
	int r;

	*payload = NULL;
	*len = 0;
	r = dp_ctl_read_all(fd, m, sizeof(*m), deadline);
	if (r)
		return r;
	if (m->magic != DP_CTL_MAGIC || m->version != DP_CTL_VERSION ||
	    !m->op || m->op >= DP_CTL_OP_MAX || m->len > DP_CTL_MAX_PAYLOAD)
		return -EPROTO;
	if (!m->len)
		return 0;
	/* 8-aligned (malloc), as ferry_snap_parse() wants. */
	buf = malloc(m->len);
	if (!buf)
		return -ENOMEM;
	r = dp_ctl_read_all(fd, buf, m->len, deadline);
	if (r) {
		free(buf);
		return r;
	}
	*payload = buf;
	*len = m->len;
	return 0;
}

static int dp_ctl_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int dp_ctl_call(const char *path, __u32 op, const void *payload, size_t len,
		int timeout_ms, struct dp_ctl_msg *reply, void **rpayload,
		size_t *rlen)
{
	long long deadline = dp_ctl_now_ms() + timeout_ms;
	struct dp_ctl_msg m = { .magic = DP_CTL_MAGIC,
				.version = DP_CTL_VERSION,
				.op = op,
				.len = len };
	struct sockaddr_un a;
	int fd, r;

	*rpayload = NULL;
	*rlen = 0;
	if (!op || op >= DP_CTL_OP_MAX || len > DP_CTL_MAX_PAYLOAD)
		return -EINVAL;
	r = dp_ctl_addr(path, &a);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A local connect completes or fails at once (-EAGAIN: its backlog
	 * is full). */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		r = -errno;
		goto out;
	}
	r = dp_ctl_send(fd, &m, payload, deadline);
	if (r)
		goto out;
	r = dp_ctl_read_msg(fd, reply, rpayload, rlen, deadline);
	if (!r && reply->op != op) {
		free(*rpayload);
		*rpayload = NULL;
		*rlen = 0;
		r = -EPROTO;
	}
out:
	close(fd);
	return r;
}

static bool dp_ctl_answered(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = !connect(fd, (const struct sockaddr *)a, sizeof(*a)) ||
	      errno == EAGAIN;
	close(fd);
	return yes;
}

int dp_ctl_listen(const char *path, unsigned int mode)
{
	struct sockaddr_un a;
	char dir[sizeof(a.sun_path)];
	mode_t old;
	char *slash;
	int fd, r;

	r = dp_ctl_addr(path, &a);
	if (r)
		return r;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket someone answers on is another ferry-dpdk's: not ours to
	 * take. One nobody answers on is a stale one of an earlier run. */
	if (dp_ctl_answered(&a)) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	old = umask(0177); /* no window with wider permissions */
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r || chmod(path, (mode_t)mode) || listen(fd, 16)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int dp_ctl_recv(int fd, int timeout_ms, struct dp_ctl_msg *req, void **payload,
		size_t *len)
{
	return dp_ctl_read_msg(fd, req, payload, len,
			       dp_ctl_now_ms() + timeout_ms);
}

int dp_ctl_reply(int fd, int timeout_ms, __u32 op, int status,
		 __u32 generation, const void *payload, size_t len)
{
	struct dp_ctl_msg m = { .magic = DP_CTL_MAGIC,
				.version = DP_CTL_VERSION,
				.op = op,
				.status = status,
				.generation = generation,
				.len = len };

	if (len > DP_CTL_MAX_PAYLOAD)
		return -EMSGSIZE;
	return dp_ctl_send(fd, &m, payload, dp_ctl_now_ms() + timeout_ms);
}
