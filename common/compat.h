/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/compat.h: what the forwarding core needs from its compiler, for BPF and userspace alike. */
#ifndef FERRY_COMMON_COMPAT_H
#define FERRY_COMMON_COMPAT_H

#include <linux/types.h>

#define LB_INLINE inline __attribute__((always_inline))

#if defined(__bpf__)
#include <bpf/bpf_endian.h>
#define lb_htons(x) bpf_htons(x)
#define lb_ntohs(x) bpf_ntohs(x)
#define lb_htonl(x) bpf_htonl(x)
#define lb_ntohl(x) bpf_ntohl(x)
#define LB_UNROLL _Pragma("unroll")
#else
#include <arpa/inet.h>
#define lb_htons(x) htons(x)
#define lb_ntohs(x) ntohs(x)
#define lb_htonl(x) htonl(x)
#define lb_ntohl(x) ntohl(x)
#define LB_UNROLL
#endif

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* Copies that clang lowers to plain loads and stores in BPF. */
#define lb_memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define lb_memset(d, c, n) __builtin_memset((d), (c), (n))

#endif /* FERRY_COMMON_COMPAT_H */
