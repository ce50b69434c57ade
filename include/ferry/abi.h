/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ferry/abi.h: every type that crosses BPF / DPDK / control. Used by BPF and userspace. */
#ifndef FERRY_ABI_H
#define FERRY_ABI_H

#include <linux/types.h>

/* ---- limits ---------------------------------------------------------- */
#define FERRY_MAX_VIPS 1024
#define FERRY_MAX_BACKENDS 16384 /* (vip, node) pairs */
#define FERRY_MAX_PINS 16384
#define FERRY_RING_SLOTS 2 /* per VIP: active and idle, flipped whole */
#define FERRY_RING_SIZE_DEFAULT 65537
#define FERRY_RING_SIZE_MAX 1048573 /* largest prime below 2^20 */
#define FERRY_FLOWS_DEFAULT 262144 /* conntrack entries per CPU, power of 2 */
#define FERRY_IPV6_EXT_MAX 6 /* extension headers walked before giving up */
#define FERRY_NO_BACKEND 0xffffffffu
#define FERRY_DEFAULT_MTU 1500
#define FERRY_ENCAP_TTL 64

/* ---- verdicts and reasons -------------------------------------------- */
enum lb_verdict {
	LB_CONTINUE = 0, /* stage done, go on */
	LB_TX, /* encapsulated, send back out */
	LB_PASS, /* not ours: hand to the kernel / exception path */
	LB_DROP,
};

/* Why a packet ended where it did. Every packet is counted under one. */
#define LB_REASONS(X)                                                          \
	X(FORWARD, "forward") /* encapsulated to a backend */                  \
	X(PASS_NON_IP, "pass_non_ip") /* ARP, LLDP, ... */                     \
	X(PASS_NOT_VIP, "pass_not_vip") /* IP, but no VIP matches */           \
	X(DROP_TRUNCATED, "truncated") /* a header runs past the frame */      \
	X(DROP_BAD_IP, "bad_ip") /* version, IHL or length field wrong */     \
	X(DROP_IPV6_EXT, "ipv6_ext") /* extension chain too long */            \
	X(DROP_FRAGMENT, "fragment") /* fragment of a 5-tuple VIP */           \
	X(DROP_NO_BACKEND, "no_backend") /* empty ring slot, no ring */        \
	X(DROP_PIN_HOLD, "pin_hold") /* pinned node down, policy hold */       \
	X(DROP_TOO_BIG, "too_big") /* encapsulated size over the MTU */        \
	X(DROP_ENCAP, "encap_failed") /* no headroom */

#define LB_REASON_ENUM(name, str) LB_R_##name,
enum lb_reason { LB_REASONS(LB_REASON_ENUM) LB_REASON_MAX };
#undef LB_REASON_ENUM

/* Events along the select path, for operators (conntrack behaviour). */
#define LB_EVENTS(X)                                                           \
	X(CT_HIT, "ct_hit") /* conntrack entry used */                        \
	X(CT_MISS_SYN, "ct_miss_tcp_syn") /* new TCP flow */                  \
	X(CT_MISS_TCP, "ct_miss_tcp_other") /* TCP non-SYN, no entry */       \
	X(CT_MISS_UDP, "ct_miss_udp") /* UDP, no entry */                     \
	X(CT_RESELECT, "ct_reselect") /* entry's backend down: reselected */  \
	X(PIN_HIT, "pin_hit") /* pin matched and forwarded */                 \
	X(PIN_REHASH, "pin_rehash") /* pin matched, policy rehash */          \
	X(ICMP_STEERED, "icmp_steered") /* frag-needed / PTB sent on */

#define LB_EVENT_ENUM(name, str) LB_EV_##name,
enum lb_event { LB_EVENTS(LB_EVENT_ENUM) LB_EVENT_MAX };
#undef LB_EVENT_ENUM

/* ---- addresses and keys ---------------------------------------------- */
#define LB_AF_INET 4
#define LB_AF_INET6 6

union lb_addr {
	__be32 v4; /* IPv4 lives in the first word, the rest is zero */
	__be32 v6[4];
	__u8 bytes[16];
};

struct lb_vip_key {
	union lb_addr addr;
	__be16 port; /* 0: every port of (addr, proto) */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* LB_AF_INET or LB_AF_INET6 */
};

enum lb_vip_flags {
	LB_VIP_HASH_SOURCE = 1 << 0, /* hash the source address only */
	LB_VIP_HAS_PINS = 1 << 1, /* consult the pins table */
	LB_VIP_FRAGS_ONLY = 1 << 2, /* port-0 entry that serves only
				      * non-first fragments of a source-hash
				      * VIP with a specific port */
};

struct lb_vip {
	__u32 id; /* index into vip_stats, pin key scope */
	__u32 flags; /* enum lb_vip_flags */
	__u32 ring; /* index into rings: id * FERRY_RING_SLOTS + slot */
	__u32 ring_size; /* M of the ring at that index */
};

enum lb_backend_state {
	LB_BE_NONE = 0, /* unused slot */
	LB_BE_ACTIVE,
	LB_BE_DRAINING, /* keeps its flows, gets no new ones */
	LB_BE_DOWN, /* health: flows move at once */
	LB_BE_MAINT, /* admin: as down */
};

struct lb_backend {
	union lb_addr addr; /* where encapsulated packets go */
	__u32 cookie; /* changes when the slot is reused */
	__u16 node; /* node index in the config, for reporting */
	__u8 family;
	__u8 state; /* enum lb_backend_state */
	__u32 vip_id; /* the VIP this (vip, node) entry belongs to: with
		       * addr, how a restarted ferryd finds its ids again */
	__u32 pad;
};

struct lb_flow_key {
	union lb_addr src; /* 8-aligned: compared as five 64-bit words */
	union lb_addr dst;
	__be16 sport; /* 0 for source-hash VIPs and non-first fragments */
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 vip; /* the VIP's id: conntrack entries are per VIP (two
		    * source-hash VIPs on one address must not share one) */
} __attribute__((aligned(8)));

struct lb_flow {
	__u32 backend;
	__u32 cookie; /* must equal the backend's, else the entry is stale;
		       * 0: an empty conntrack slot (cookies are never 0) */
};

/*
 * Conntrack as a set-associative flow cache, one per CPU / lcore: bucket
 * hash & (buckets - 1), FERRY_FLOW_WAYS slots, the least recently used
 * slot replaced when all are taken. A lookup or insert is an array index and at most
 * FERRY_FLOW_WAYS tag compares: no hash-table insert per new flow.
 */
#define FERRY_FLOW_WAYS 4

struct lb_flow_slot {
	struct lb_flow_key key;
	struct lb_flow flow;
};

/* The first cache line holds what a lookup or an insert decides on
 * (tags, ages, which slots are used); a slot line is touched only on a tag
 * match or to write the new entry. */
struct lb_flow_bucket {
	__u32 tag[FERRY_FLOW_WAYS]; /* the flow hash of each slot */
	__u32 stamp[FERRY_FLOW_WAYS]; /* the clock when each was last used */
	__u32 clock; /* ticks on every use of a slot */
	__u32 used; /* bit i: slot i holds a flow */
	__u32 pad[6];
	struct lb_flow_slot way[FERRY_FLOW_WAYS];
};

/* LPM key: prefixlen counts the vip_id bits (32) plus the address bits. */
struct lb_pin_key {
	__u32 prefixlen;
	__u32 vip_id;
	union lb_addr addr;
};

enum lb_pin_action {
	LB_PIN_FORWARD = 0, /* to .backend */
	LB_PIN_HOLD, /* every listed node down, policy hold: drop */
	LB_PIN_REHASH, /* every listed node down, policy rehash: ring */
};

struct lb_pin {
	__u32 backend;
	__u32 id; /* index into pin_stats */
	__u32 action; /* enum lb_pin_action */
	__u32 pad;
};

/* ---- dataplane-wide settings (one entry, written by control) ----------- */
enum lb_config_flags {
	LB_CFG_READY = 1 << 0, /* control has written this entry */
	LB_CFG_NO_PORT0 = 1 << 1, /* no port-wide VIP: skip that lookup */
};

struct lb_config {
	__u8 src_mac[6]; /* our interface */
	__u8 dst_mac[6]; /* next hop towards the backends */
	__u16 mtu; /* largest encapsulated IP packet we may send */
	__u16 flags; /* enum lb_config_flags */
	__be32 encap_src_v4; /* outer source for IPv4 outer headers */
	union lb_addr encap_src_v6; /* outer source for IPv6 outer headers */
	__u32 generation; /* config generation these tables belong to */
	__u32 hash_seed; /* the seed the program was loaded with (a record
			  * for control; the program reads its rodata) */
	__u32 pad;
};

/* ---- counters (per CPU / per lcore, summed by control) ---------------- */
struct lb_counter {
	__u64 packets;
	__u64 bytes;
};

/* One per CPU / lcore: every packet under its reason, every event. */
struct lb_global_stats {
	struct lb_counter reason[LB_REASON_MAX];
	__u64 event[LB_EVENT_MAX];
};

/* Backend side (decap program): what it did with each frame. */
enum lb_decap_stat {
	LB_DECAP_DONE = 0, /* outer header removed, inner passed on */
	LB_DECAP_PASS, /* not encapsulated: passed untouched */
	LB_DECAP_BAD, /* encapsulated but malformed: dropped */
	LB_DECAP_STAT_MAX
};

struct lb_vip_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 pad;
};

/* ---- names of the pinned objects under the bpffs directory ----------- */
#define FERRY_BPFFS_DIR "/sys/fs/bpf/ferry"

_Static_assert(sizeof(union lb_addr) == 16, "lb_addr");
_Static_assert(sizeof(struct lb_vip_key) == 20, "lb_vip_key");
_Static_assert(sizeof(struct lb_vip) == 16, "lb_vip");
_Static_assert(sizeof(struct lb_backend) == 32, "lb_backend");
_Static_assert(sizeof(struct lb_flow_key) == 40, "lb_flow_key");
_Static_assert(sizeof(struct lb_flow) == 8, "lb_flow");
_Static_assert(sizeof(struct lb_flow_slot) == 48, "lb_flow_slot");
_Static_assert(sizeof(struct lb_flow_bucket) == 64 + 48 * FERRY_FLOW_WAYS,
	       "lb_flow_bucket");
_Static_assert(sizeof(struct lb_pin_key) == 24, "lb_pin_key");
_Static_assert(sizeof(struct lb_pin) == 16, "lb_pin");
_Static_assert(sizeof(struct lb_config) == 48, "lb_config");
_Static_assert(sizeof(struct lb_vip_stats) == 32, "lb_vip_stats");
_Static_assert(LB_REASON_MAX <= 32, "reasons fit the stats array");
_Static_assert(LB_EVENT_MAX <= 32, "events fit lb_result.events");
_Static_assert(FERRY_MAX_VIPS <= 65536, "VIP ids fit lb_flow_key.vip");

#endif /* FERRY_ABI_H */
