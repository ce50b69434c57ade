/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_eal.h: EAL start and stop with Ferry's defaults (a file prefix of our own, hugepages or --no-huge), shared by ferry-dpdk, the dpdk tests and dpdk_bench. DPDK userspace only.
 *
 * Defaults added to the caller's EAL arguments unless it gave its own:
 * - --file-prefix=<name>-<pid>: several DPDK processes (ferry-dpdk, tests,
 *   testpmd) run side by side without sharing a runtime directory;
 * - with free hugepages (a hugetlbfs mounted, HugePages_Free > 0):
 *   --huge-unlink, so that no hugepage file outlives the process (with a
 *   prefix per process, left files would eat the pool run by run); the
 *   price: no secondary processes (dpdk-pdump), so give --file-prefix
 *   yourself to keep them;
 * - without: --no-huge -m <MiB> (the caller's small size).
 * dp_eal_cleanup() removes the runtime directory of a prefix it made.
 */
#ifndef FERRY_DATAPLANE_DP_EAL_H
#define FERRY_DATAPLANE_DP_EAL_H

#include <stdbool.h>
#include <stddef.h>

struct dp_eal_opts {
	const char *name; /* file prefix stem, e.g. "ferry-dpdk" */
	unsigned int no_huge_mb; /* -m when there are no hugepages */
	bool quiet; /* --log-level=lib.*:warning unless given */
};

/* Runs rte_eal_init() on argv[0..argc) (argv[0]: the program name) plus
 * the defaults. 0, or -1 with why filled in (EAL's reason). *no_huge says
 * whether it runs without hugepages. */
int dp_eal_init(int argc, char **argv, const struct dp_eal_opts *o,
		bool *no_huge, char *why, size_t whylen);
void dp_eal_cleanup(void);

#endif /* FERRY_DATAPLANE_DP_EAL_H */
