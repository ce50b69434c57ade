/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bpf/maps.h: every map of the XDP forwarding program, pinned by name under FERRY_BPFFS_DIR. BPF only. */
#ifndef FERRY_BPF_MAPS_H
#define FERRY_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <ferry/abi.h>

/* (addr, port, proto) -> VIP; port-list and fragment entries share ids. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FERRY_MAX_VIPS * 4);
	__type(key, struct lb_vip_key);
	__type(value, struct lb_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vips SEC(".maps");

/* One Maglev ring: slot -> backend id. Real rings are created by control
 * with their own size (BPF_F_INNER_MAP lets sizes differ). */
struct ring_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FERRY_RING_SIZE_DEFAULT);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

/* VIP id * FERRY_RING_SLOTS + slot -> ring; the VIP names its live slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FERRY_MAX_VIPS * FERRY_RING_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct ring_inner);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FERRY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FERRY_MAX_PINS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb_pin_key);
	__type(value, struct lb_pin);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pins SEC(".maps");

/* Conntrack: every CPU's flow cache buckets (common/flowcache.h) in one
 * array, CPU c's bucket i at c * buckets + i. Control sets the size at
 * load: buckets (a power of two) times the possible CPUs. A plain array
 * value is one index away; a per-CPU array would first load the element's
 * pointer, one more cold line for every new flow. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FERRY_FLOWS_DEFAULT / FERRY_FLOW_WAYS);
	__type(key, __u32);
	__type(value, struct lb_flow_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_global_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} global_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRY_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct lb_vip_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRY_MAX_PINS);
	__type(key, __u32);
	__type(value, struct lb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pin_stats SEC(".maps");

#endif /* FERRY_BPF_MAPS_H */
