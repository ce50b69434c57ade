/* perf/maglev_bench.c: build time of Maglev rings (control/maglev.c), median and min per case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ferry/abi.h>
#include "control/maglev.h"

#define BENCH_MIN_NS 200000000ull /* keep building for at least 0.2 s */
#define BENCH_MIN_RUNS 5
#define BENCH_MAX_RUNS 100000

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* n IPv4 backends 10.0.0.0/8, weight 1 or 1 + i % wmod */
static void make_backends(struct maglev_backend *be, size_t n, __u32 wmod)
{
	size_t i;

	memset(be, 0, n * sizeof(*be));
	for (i = 0; i < n; i++) {
		be[i].family = LB_AF_INET;
		be[i].addr.bytes[0] = 10;
		be[i].addr.bytes[1] = (__u8)(i >> 16);
		be[i].addr.bytes[2] = (__u8)(i >> 8);
		be[i].addr.bytes[3] = (__u8)i;
		be[i].weight = wmod ? 1 + i % wmod : 1;
	}
}

static int bench(const char *name, size_t n, __u32 m, __u32 wmod,
		 unsigned long long *t)
{
	struct maglev_backend *be = calloc(n, sizeof(*be));
	__u32 *ring = malloc(m * sizeof(*ring));
	unsigned long long start, t0, t1;
	size_t runs = 0;
	int err = -ENOMEM;

	if (!be || !ring)
		goto out;
	make_backends(be, n, wmod);
	err = maglev_build(be, n, m, ring); /* warm up */
	if (err)
		goto out;
	start = now_ns();
	while (runs < BENCH_MAX_RUNS &&
	       (runs < BENCH_MIN_RUNS || now_ns() - start < BENCH_MIN_NS)) {
		t0 = now_ns();
		err = maglev_build(be, n, m, ring);
		t1 = now_ns();
		if (err)
			goto out;
		t[runs++] = t1 - t0;
	}
	qsort(t, runs, sizeof(*t), cmp_ull);
	printf("%s n=%zu m=%u", name, n, m);
	if (wmod)
		printf(" weights=1..%u", wmod);
	printf(" median_us=%.1f min_us=%.1f runs=%zu\n", t[runs / 2] / 1e3,
	       t[0] / 1e3, runs);
	fflush(stdout);
out:
	free(ring);
	free(be);
	return err;
}

int main(void)
{
	static const size_t ns[] = { 10, 100, 1000 };
	static const __u32 ms[] = { 65537, 655373 };
	unsigned long long *t = malloc(BENCH_MAX_RUNS * sizeof(*t));
	size_t i, j;
	int err = 0;

	if (!t)
		return 1;
	for (j = 0; j < sizeof(ms) / sizeof(ms[0]) && !err; j++)
		for (i = 0; i < sizeof(ns) / sizeof(ns[0]) && !err; i++)
			err = bench("maglev_build", ns[i], ms[j], 0, t);
	/* unequal weights: the credit / heap schedules */
	for (j = 0; j < sizeof(ms) / sizeof(ms[0]) && !err; j++)
		err = bench("maglev_build_weighted", 1000, ms[j], 10, t);
	free(t);
	if (err)
		fprintf(stderr, "maglev_build: %s\n", strerror(-err));
	return err ? 1 : 0;
}
