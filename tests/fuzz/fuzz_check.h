/* tests/fuzz/fuzz_check.h: invariant checks and the engine-side decap step shared by the fuzz targets. Userspace only. */
#ifndef FERRY_TESTS_FUZZ_CHECK_H
#define FERRY_TESTS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/decap.h"

#define FZ_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* A frame at 2 mod 4 (NET_IP_ALIGN, as engines place them), in a heap
 * block of exactly len bytes after it: ASan sees any read past the end. */
static inline __u8 *fz_frame(const void *data, size_t len, size_t headroom)
{
	__u8 *p = malloc(headroom + len + 2);

	if (!p)
		abort();
	memset(p, 0xee, headroom + 2);
	if (len)
		memcpy(p + 2 + headroom, data, len);
	return p + 2;
}

static inline void fz_free(__u8 *f)
{
	free(f - 2);
}

/*
 * The decap engine's step on frame f of len bytes (written in place):
 * plan, write, drop the front. Checks what lb_decap_plan()/lb_decap_write()
 * promise; returns the plan's answer and, when > 0, the new frame.
 */
static inline int fz_decap(__u8 *f, size_t len, __u8 **out, size_t *out_len)
{
	struct lb_decap d;
	__u8 *before;
	int n;

	memset(&d, 0, sizeof(d));
	n = lb_decap_plan(f, f + len, &d);
	FZ_CHECK(n == 0 || n == -1 || n == 20 || n == 40);
	if (n <= 0)
		return n;
	FZ_CHECK(n == d.outer_len);
	FZ_CHECK(d.l2_len == 14 || d.l2_len == 18);
	FZ_CHECK(d.inner_proto == htons(0x0800) ||
		 d.inner_proto == htons(0x86dd));
	FZ_CHECK(len > LB_DECAP_MAX_MOVE);
	before = malloc(len);
	if (!before)
		abort();
	memcpy(before, f, len);
	FZ_CHECK(lb_decap_write(f, f + len, &d) == 0);
	*out = f + n;
	*out_len = len - (size_t)n;
	/* MACs and the tag moved, the ethertype now the inner family's. */
	FZ_CHECK(!memcmp(*out, before, 12));
	if (d.l2_len == 18) {
		FZ_CHECK(!memcmp(*out + 12, before + 12, 4));
		FZ_CHECK(!memcmp(*out + 16, &d.inner_proto, 2));
	} else {
		FZ_CHECK(!memcmp(*out + 12, &d.inner_proto, 2));
	}
	/* The inner packet, and whatever follows it, not touched. */
	FZ_CHECK(!memcmp(*out + d.l2_len, before + d.l2_len + n,
			 *out_len - d.l2_len));
	free(before);
	return n;
}

#endif /* FERRY_TESTS_FUZZ_CHECK_H */
