/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/conf.h: the configuration model (dataplane, nodes, VIPs, backends) and its libconfig loader. */
#ifndef FERRY_CONTROL_CONF_H
#define FERRY_CONTROL_CONF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <ferry/abi.h>
#include "health.h"

#define CONF_NAME_MAX 64
#define CONF_PATH_MAX 256
#define CONF_MAX_NODES 4096
#define CONF_MAX_BACKENDS_PER_VIP 1024
#define CONF_WEIGHT_MAX 1000
#define CONF_MTU_MIN 576
#define CONF_MTU_MAX 9216
#define CONF_FLOWS_MIN 1024
#define CONF_FLOWS_MAX (64u << 20)

#define CONF_DPDK_MAX_EAL 64
#define CONF_DPDK_ARG_MAX 256
#define CONF_DPDK_CONTROL_DEFAULT "/run/ferry/dpdk.sock"
#define CONF_DPDK_TABLES_DEFAULT "/run/ferry/tables.snap"

/* engine = "dpdk": how ferry-dpdk runs and where ferryd reaches it. */
struct conf_dpdk {
	char control[CONF_PATH_MAX]; /* ferry-dpdk's control socket */
	char tables[CONF_PATH_MAX]; /* its copy of the live generation */
	char eal[CONF_DPDK_MAX_EAL][CONF_DPDK_ARG_MAX]; /* EAL arguments */
	unsigned int neal;
	int exception_port; /* DPDK port id of the kernel's path; -1: none */
	bool align_trust; /* align = "trust" (default "slide") */
	__u32 idle_sleep_us; /* sleep this long when a poll finds nothing */
	__u32 burst; /* RX burst size */
	int line, line_control;
};

struct conf_dataplane {
	char engine[16];
	bool dpdk; /* engine = "dpdk" (else "xdp") */
	struct conf_dpdk dp;
	char interface[IF_NAMESIZE];
	bool xdp_generic;
	char bpffs[CONF_PATH_MAX];
	__u8 next_hop_mac[6];
	bool has_src_v4, has_src_v6;
	__be32 encap_src_v4;
	union lb_addr encap_src_v6;
	__u32 mtu;
	__u32 flows;
	__u32 hash_seed;
	/* Where the settings a reload cannot change are (0: not given). */
	int line, line_interface, line_xdp_mode, line_bpffs, line_flows,
		line_hash_seed;
};

#define CONF_SOCKET_DEFAULT "/run/ferry/ferryd.sock"
#define CONF_EXPORTER_DEFAULT "127.0.0.1:9469"

struct conf_control {
	char socket[CONF_PATH_MAX];
	mode_t socket_mode;
	char exporter[CONF_PATH_MAX]; /* host:port, [v6]:port; "" = off */
};

struct conf_node {
	char name[CONF_NAME_MAX];
	union lb_addr addr;
	__u8 family;
	int line;
};

struct conf_backend {
	unsigned int node; /* index into conf.nodes */
	__u32 weight;
	int line;
};

#define CONF_MAX_PINS_PER_VIP 4096
#define CONF_PIN_NODES_MAX 8

enum conf_pin_all_down {
	PIN_ALL_DOWN_REHASH = 0, /* over the VIP's healthy backends */
	PIN_ALL_DOWN_HOLD, /* drop, counted (pin_hold) */
};

enum conf_pin_failback {
	PIN_FAILBACK_IMMEDIATE = 0, /* back as soon as an earlier node is up */
	PIN_FAILBACK_AFTER, /* after it has been up failback_after_s */
	PIN_FAILBACK_MANUAL, /* only by `ferryctl pin failback` */
};

/* A peer (address or prefix) pinned to an ordered list of nodes. */
struct conf_pin {
	union lb_addr addr; /* the prefix, host bits zero */
	__u8 family;
	__u8 plen;
	unsigned int nnodes;
	unsigned int backend[CONF_PIN_NODES_MAX]; /* indexes into vip.backends */
	enum conf_pin_all_down all_down;
	enum conf_pin_failback failback;
	__u32 failback_after_s;
	int line;
};

struct conf_vip {
	char name[CONF_NAME_MAX];
	union lb_addr addr;
	__u8 family;
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u16 port; /* host order; 0 = every port */
	bool hash_source;
	__u32 ring_size;
	struct health_spec health;
	struct conf_backend *backends;
	unsigned int nbackends;
	struct conf_pin *pins;
	unsigned int npins;
	__u32 min_healthy; /* announce: active backends needed (announce.c) */
	int line;
};

/* `announce`: VIP routes in a kernel table for BIRD to export (announce.c). */
#define CONF_ANNOUNCE_MIN_HEALTHY_DEFAULT 1

struct conf_announce {
	bool enabled; /* the group is present */
	__u32 table; /* kernel routing table of the VIP routes */
	__u32 min_healthy; /* default of the VIPs' min_healthy */
};

struct ferry_conf {
	char path[CONF_PATH_MAX];
	struct conf_dataplane dp;
	struct conf_control ctl;
	struct conf_announce announce;
	struct conf_node *nodes;
	unsigned int nnodes;
	struct conf_vip *vips;
	unsigned int nvips;
};

/* NULL on failure with "file:line: message" (or "file: message") in err. */
struct ferry_conf *conf_load(const char *path, char *err, size_t errlen);
/* The same from a string (fuzzing, tests); name is used in messages. */
struct ferry_conf *conf_load_string(const char *text, const char *name,
				    char *err, size_t errlen);
void conf_free(struct ferry_conf *conf);

int conf_find_node(const struct ferry_conf *conf, const char *name);
/* An IPv4 or IPv6 address; 0 or -EINVAL. */
int conf_parse_addr(const char *text, union lb_addr *a, __u8 *family);
/* "10.0.0.0/24", "2001:db8::/32" or a bare address (a host prefix). */
int conf_parse_prefix(const char *text, union lb_addr *a, __u8 *family,
		      __u8 *plen);
/* The prefix as text, e.g. "10.0.0.0/24". */
const char *conf_prefix_str(const union lb_addr *a, __u8 family, __u8 plen,
			    char *buf, size_t len);
/* Address to text (no port), for messages and reports. */
const char *conf_addr_str(const union lb_addr *a, __u8 family, char *buf,
			  size_t len);

#endif /* FERRY_CONTROL_CONF_H */
