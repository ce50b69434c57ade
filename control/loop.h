/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/loop.h: ferryd's one event loop: epoll over file descriptors plus a periodic tick. */
#ifndef FERRY_CONTROL_LOOP_H
#define FERRY_CONTROL_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_tick_cb)(struct loop *l, uint64_t now_ms, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT, ...); 0 or -errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Stops watching fd (safe from inside a callback); the fd stays open. */
void loop_del(struct loop *l, int fd);

/* Called every period_ms (and after each wakeup that ran late). */
void loop_set_tick(struct loop *l, unsigned int period_ms, loop_tick_cb cb,
		   void *arg);

/* Waits at most one tick period and dispatches; 0 or -errno. */
int loop_run_once(struct loop *l);

uint64_t loop_now_ms(void);

#endif /* FERRY_CONTROL_LOOP_H */
