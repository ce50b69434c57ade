/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_ctl.h: the control protocol between ferryd (control/engine_dpdk.c) and ferry-dpdk: framed binary messages over a unix stream socket, one request per connection. Plain C, no DPDK: both sides link it.
 *
 * A client connects, sends one request (a struct dp_ctl_msg header and
 * len payload bytes), reads one reply (the same header, then its payload)
 * and closes. Both ends run on one machine from one build: integers are in
 * host byte order and the structs below are sent as they are; magic,
 * version and the payload size of fixed replies are checked, and a
 * mismatch is an error (-EPROTO), never a guess.
 *
 *   op                request payload          reply payload
 *   DP_CTL_INFO       -                        struct dp_ctl_info
 *   DP_CTL_LOAD       a table snapshot         on error: a message (text)
 *   DP_CTL_STATS      -                        struct dp_ctl_stats
 *   DP_CTL_SNAPSHOT   -                        the live snapshot (may be empty)
 *   DP_CTL_CLEAR      -                        -
 *
 * Every reply carries status (0 or -errno) and the generation ferry-dpdk
 * serves after the request (0: none, everything goes to the exception
 * path). LOAD validates the snapshot (ferry_snap_parse), builds its tables
 * and publishes them (RCU swap between bursts); the bytes are kept (for
 * SNAPSHOT) and written to ferry-dpdk's tables file, so that ferry-dpdk
 * restarting serves the same generation before ferryd pushes it again. A
 * refused snapshot (-EINVAL, the parser's message as payload) leaves the
 * running generation serving. CLEAR publishes empty tables and removes the
 * tables file (ferryd --detach).
 */
#ifndef FERRY_DATAPLANE_DP_CTL_H
#define FERRY_DATAPLANE_DP_CTL_H

#include <stddef.h>
#include <ferry/abi.h>

#define DP_CTL_MAGIC 0x31544346u /* "FCT1" */
#define DP_CTL_VERSION 1
#define DP_CTL_MAX_PAYLOAD (256u << 20) /* a snapshot of every table, full */
#define DP_CTL_MAX_LCORES 128
#define DP_CTL_MAX_PORTS 32
#define DP_CTL_TIMEOUT_MS 5000 /* per request, both sides */

enum dp_ctl_op {
	DP_CTL_INFO = 1,
	DP_CTL_LOAD,
	DP_CTL_STATS,
	DP_CTL_SNAPSHOT,
	DP_CTL_CLEAR,
	DP_CTL_OP_MAX
};

/* Request and reply header. */
struct dp_ctl_msg {
	__u32 magic; /* DP_CTL_MAGIC */
	__u32 version; /* DP_CTL_VERSION */
	__u32 op; /* enum dp_ctl_op; a reply repeats it */
	__s32 status; /* reply: 0 or -errno; request: 0 */
	__u32 generation; /* reply: the live generation; request: 0 */
	__u32 pad; /* 0 */
	__u64 len; /* payload bytes that follow, <= DP_CTL_MAX_PAYLOAD */
};

struct dp_ctl_port {
	__u16 port; /* DPDK port id */
	__u8 data; /* 1: data port, 0: the exception port */
	__u8 link_up;
	__u8 mac[6];
	__u8 pad[6];
	__u64 ipackets, opackets, imissed, ierrors, oerrors;
};

struct dp_ctl_info {
	__u64 boot_id; /* random per ferry-dpdk process: a change is a restart */
	__u32 pid;
	__u32 nlcores; /* forwarding lcores */
	__u32 flows; /* conntrack entries per lcore */
	__u32 align; /* 0: slide, 1: trust */
	__u32 nports;
	__u32 pad;
	__u64 started_ns; /* CLOCK_REALTIME at start */
	struct dp_ctl_port port[DP_CTL_MAX_PORTS];
};

/* Counters, summed over forwarding lcores, in the XDP maps' layout. */
struct dp_ctl_stats {
	__u32 nlcores;
	__u32 generation;
	struct lb_global_stats global;
	struct lb_vip_stats vip[FERRY_MAX_VIPS];
	struct lb_counter backend[FERRY_MAX_BACKENDS];
	struct lb_counter pin[FERRY_MAX_PINS];
	__u32 lcore_id[DP_CTL_MAX_LCORES]; /* EAL lcore id of context i */
	__u64 lcore_packets[DP_CTL_MAX_LCORES];
	__u64 flows_capacity; /* conntrack slots, all lcores */
	__u64 flows_used; /* in use (estimated from a sample of buckets) */
	/* The process's own counters (no place in the XDP layout). */
	__u64 realigned; /* frames slid to align the IP header */
	__u64 linearized; /* multi-segment frames made contiguous */
	__u64 tx_dropped; /* data port TX queue full: freed */
	__u64 pass_freed; /* not ours, no exception port: freed */
	__u64 exception_tx_dropped; /* exception port TX full: freed */
	__u64 exception_rx; /* from the exception port to the wire */
};

_Static_assert(sizeof(struct dp_ctl_msg) == 32, "dp_ctl_msg");
_Static_assert(sizeof(struct dp_ctl_port) == 56, "dp_ctl_port");

/* ---- client (ferryd, tests) ----------------------------------------------- */
/* One request: connects to path, sends op with payload (may be NULL/0),
 * waits at most timeout_ms for the reply. On return 0, *reply holds the
 * reply header and *payload (malloc'd, free() it; NULL when empty) its
 * payload; the request's own outcome is reply->status. -errno when no
 * reply came: -ENOENT/-ECONNREFUSED (nobody listens), -ETIMEDOUT, -EPROTO
 * (not our protocol). */
int dp_ctl_call(const char *path, __u32 op, const void *payload, size_t len,
		int timeout_ms, struct dp_ctl_msg *reply, void **rpayload,
		size_t *rlen);

/* ---- server (ferry-dpdk) -------------------------------------------------- */
/* A listening socket at path (a stale socket file is replaced; the parent
 * directory is created). Non-blocking fd, or -errno. */
int dp_ctl_listen(const char *path, unsigned int mode);
/* Reads one request from a connected fd (blocking, at most timeout_ms):
 * 0 with *payload malloc'd (NULL when empty), or -errno (-EPROTO: bad
 * magic, version, op or length). */
int dp_ctl_recv(int fd, int timeout_ms, struct dp_ctl_msg *req, void **payload,
		size_t *len);
/* Sends a reply: op, status, generation, then len payload bytes. */
int dp_ctl_reply(int fd, int timeout_ms, __u32 op, int status,
		 __u32 generation, const void *payload, size_t len);

#endif /* FERRY_DATAPLANE_DP_CTL_H */
