/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/hash.h: the seeded flow hash (murmur3-32 over 32-bit words). Used by BPF and userspace.
 *
 * The same words, seed and result on every engine and every machine: Ferry
 * instances with one config pick one backend for one flow.
 */
#ifndef FERRY_COMMON_HASH_H
#define FERRY_COMMON_HASH_H

#include "compat.h"
#include <ferry/abi.h>

static LB_INLINE __u32 lb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static LB_INLINE __u32 lb_hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = lb_rotl32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = lb_rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

static LB_INLINE __u32 lb_hash_final(__u32 h, __u32 len_bytes)
{
	h ^= len_bytes;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Hash of an address: 1 word for IPv4, 4 for IPv6. */
static LB_INLINE __u32 lb_hash_addr(__u32 h, const union lb_addr *a,
				    __u8 family)
{
	h = lb_hash_mix(h, a->v6[0]);
	if (family == LB_AF_INET6) {
		h = lb_hash_mix(h, a->v6[1]);
		h = lb_hash_mix(h, a->v6[2]);
		h = lb_hash_mix(h, a->v6[3]);
	}
	return h;
}

/* Source-only hash: every packet of a peer, any port, any fragment. */
static LB_INLINE __u32 lb_hash_source(const struct lb_flow_key *k, __u32 seed)
{
	__u32 h = lb_hash_addr(seed, &k->src, k->family);

	return lb_hash_final(h, k->family == LB_AF_INET6 ? 16 : 4);
}

/* 5-tuple hash: source, destination, ports, protocol. */
static LB_INLINE __u32 lb_hash_flow(const struct lb_flow_key *k, __u32 seed)
{
	__u32 h = lb_hash_addr(seed, &k->src, k->family);

	h = lb_hash_addr(h, &k->dst, k->family);
	h = lb_hash_mix(h, ((__u32)k->sport << 16) | k->dport);
	h = lb_hash_mix(h, k->proto);
	return lb_hash_final(h, k->family == LB_AF_INET6 ? 40 : 16);
}

/* Hash of arbitrary bytes (control plane: Maglev permutations, digests). */
static LB_INLINE __u32 lb_hash_bytes(const void *data, __u32 len, __u32 seed)
{
	const __u8 *p = (const __u8 *)data;
	__u32 h = seed, i, k;

	for (i = 0; i + 4 <= len; i += 4) {
		k = (__u32)p[i] | (__u32)p[i + 1] << 8 | (__u32)p[i + 2] << 16 |
		    (__u32)p[i + 3] << 24;
		h = lb_hash_mix(h, k);
	}
	k = 0;
	switch (len & 3) {
	case 3:
		k |= (__u32)p[i + 2] << 16;
		/* fall through */
	case 2:
		k |= (__u32)p[i + 1] << 8;
		/* fall through */
	case 1:
		k |= p[i];
		k *= 0xcc9e2d51u;
		k = lb_rotl32(k, 15);
		k *= 0x1b873593u;
		h ^= k;
	}
	return lb_hash_final(h, len);
}

#endif /* FERRY_COMMON_HASH_H */
