/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common/csum.h: Internet checksums (RFC 1071) for headers the core writes. Used by BPF and userspace. */
#ifndef FERRY_COMMON_CSUM_H
#define FERRY_COMMON_CSUM_H

#include "compat.h"

static LB_INLINE __u16 lb_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header with its check field zero. */
static LB_INLINE __u16 lb_csum_ipv4_hdr(const void *hdr)
{
	const __u16 *w = (const __u16 *)hdr;
	__u32 sum = 0;
	int i;

	LB_UNROLL
	for (i = 0; i < 10; i++)
		sum += w[i];
	return lb_csum_fold(sum);
}

#endif /* FERRY_COMMON_CSUM_H */
