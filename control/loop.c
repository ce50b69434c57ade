// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/loop.c: epoll dispatch with deferred removal, and a tick driven by the monotonic clock. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "loop.h"

struct loop_watch {
	int fd;
	bool dead;
	loop_fd_cb cb;
	void *arg;
	struct loop_watch *next;
};

struct loop {
	int epfd;
	struct loop_watch *watches; /* all, live and dead */
	unsigned int tick_ms;
	uint64_t next_tick;
	loop_tick_cb tick;
	void *tick_arg;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->tick_ms = 1000;
	return l;
}

void loop_free(struct loop *l)
{
	struct loop_watch *w, *n;

	if (!l)
		return;
	for (w = l->watches; w; w = n) {
		n = w->next;
		free(w);
	}
	close(l->epfd);
	free(l);
}

static struct loop_watch *loop_find(struct loop *l, int fd)
{
	struct loop_watch *w;

	for (w = l->watches; w; w = w->next)
		if (w->fd == fd && !w->dead)
			return w;
	return NULL;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(w);
		return -errno;
	}
	w->next = l->watches;
	l->watches = w;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct loop_watch *w = loop_find(l, fd);
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOENT;
	ev.data.ptr = w;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
}

void loop_del(struct loop *l, int fd)
{
	struct loop_watch *w = loop_find(l, fd);

	if (!w)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->dead = true; /* freed after this round's dispatch */
}

void loop_set_tick(struct loop *l, unsigned int period_ms, loop_tick_cb cb,
		   void *arg)
{
	l->tick_ms = period_ms ? period_ms : 1;
	l->tick = cb;
	l->tick_arg = arg;
	l->next_tick = loop_now_ms() + l->tick_ms;
}

static void loop_reap(struct loop *l)
{
	struct loop_watch **pp = &l->watches, *w;

	while ((w = *pp)) {
		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

int loop_run_once(struct loop *l)
{
	struct epoll_event ev[64];
	uint64_t now = loop_now_ms();
	int i, n, timeout;

	timeout = l->next_tick > now ? (int)(l->next_tick - now) : 0;
	n = epoll_wait(l->epfd, ev, 64, timeout);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < n; i++) {
		struct loop_watch *w = ev[i].data.ptr;

		if (!w->dead)
			w->cb(l, w->fd, ev[i].events, w->arg);
	}
	now = loop_now_ms();
	if (l->tick && now >= l->next_tick) {
		l->next_tick = now + l->tick_ms;
		l->tick(l, now, l->tick_arg);
	}
	loop_reap(l);
	return 0;
}
