/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/ctlsock.h: ferryd's control socket: line-delimited JSON requests over a unix stream socket, dispatched to command handlers from the event loop. */
#ifndef FERRY_CONTROL_CTLSOCK_H
#define FERRY_CONTROL_CTLSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "loop.h"

/*
 * Protocol: a request is one JSON object on one line, {"cmd": "NAME", ...};
 * the answer is one JSON object on one line, {"ok": true, ...} or
 * {"ok": false, "error": "message"}. Several requests per connection are
 * answered in order. Blank lines are ignored; a line may end in "\r\n".
 */
#define CTL_SOCKET_DEFAULT "/run/ferry/ferryd.sock"
#define CTL_SOCKET_MODE 0660 /* mode 0 given to ctlsock_open means this */
#define CTL_LINE_MAX 4096 /* longest request line, without its newline */
#define CTL_CLIENTS_MAX 16 /* connections served at once */
#define CTL_OUT_MAX (16u << 20) /* queued answer bytes per connection */
#define CTL_STALL_MS 10000 /* queued answer, none of it read for this long */
#define CTL_IDLE_MS 120000 /* nothing queued, no request for this long */

/*
 * A handler answers one request. resp already holds "ok": true; the handler
 * adds its keys to it. It fails by returning -errno or by calling
 * ctl_error() (or both); then the answer is exactly {"ok": false, "error":
 * MESSAGE}, MESSAGE being ctl_error()'s text or else strerror(errno), and
 * whatever else the handler put in resp is dropped. req is the parsed
 * request (an object whose "cmd" is a string); both are owned by the server.
 */
struct ctl_command {
	const char *name;
	int (*fn)(void *ctx, struct json_object *req, struct json_object *resp);
};

struct ctlsock;

/*
 * Listens on path: creates missing parent directories (0755), removes a
 * stale socket there (refuses EADDRINUSE if a server answers on it, EEXIST
 * if it is not a socket), binds with the given mode (0: CTL_SOCKET_MODE)
 * and watches it in l. cmds ends with a { NULL, NULL } entry and must
 * outlive the server; ctx is passed to every handler. Peers are accepted
 * if SO_PEERCRED says uid 0, the daemon's own effective uid, or a primary
 * or supplementary group equal to the socket file's group (chgrp the file
 * to grant a group); others get an error line and are closed. NULL with
 * errno on failure.
 */
struct ctlsock *ctlsock_open(struct loop *l, const char *path, mode_t mode,
			     const struct ctl_command *cmds, void *ctx);
/* Closes every connection and removes the socket file. NULL accepted. */
void ctlsock_close(struct ctlsock *cs);
/* From the loop's tick: drops stalled readers and idle connections. */
void ctlsock_tick(struct ctlsock *cs, uint64_t now_ms);
/* Connections being served now. */
unsigned int ctlsock_clients(const struct ctlsock *cs);

/* Sets resp's "error" to the message; returns -EINVAL for handlers to return. */
int ctl_error(struct json_object *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Request arguments. Each returns 1 when key is present (and *out set), 0
 * when key is absent or null and !required (*out untouched), -EINVAL after
 * ctl_error(resp, ...) when a required key is absent or the value has the
 * wrong type or range. Strings point into req.
 */
int ctl_arg_string(struct json_object *req, struct json_object *resp,
		   const char *key, bool required, const char **out);
int ctl_arg_int(struct json_object *req, struct json_object *resp,
		const char *key, bool required, int64_t min, int64_t max,
		int64_t *out);
int ctl_arg_bool(struct json_object *req, struct json_object *resp,
		 const char *key, bool required, bool *out);

#endif /* FERRY_CONTROL_CTLSOCK_H */
