/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/dp_eal.c: EAL start and stop with Ferry's defaults (see dp_eal.h). DPDK userspace only. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "dp_eal.h"

#define DP_EAL_MAX_ARGS 256

static char dp_runtime_dir[4096]; /* set when we chose the prefix */

static bool has_arg(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], name, n) &&
		    (argv[i][n] == 0 || argv[i][n] == '='))
			return true;
	return false;
}

/* Free hugepages of the default size, and a hugetlbfs mounted anywhere to
 * map them from (EAL finds it in /proc/mounts too). */
static bool hugepages_usable(void)
{
	unsigned long free_pages = 0;
	bool mounted = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/mounts", "r");
	if (!f)
		return false;
	while (!mounted && fgets(line, sizeof(line), f))
		mounted = strstr(line, " hugetlbfs ") != NULL;
	fclose(f);
	if (!mounted)
		return false;
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %lu", &free_pages) == 1)
			break;
	fclose(f);
	return free_pages > 0;
}

/* The runtime directory holds only flat files and sockets. */
static void remove_runtime_dir(const char *dir)
{
	char path[4096 + 256];
	struct dirent *d;
	DIR *dp;

	dp = opendir(dir);
	if (!dp)
		return;
	while ((d = readdir(dp)))
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
			unlink(path);
		}
	closedir(dp);
	rmdir(dir);
}

int dp_eal_init(int argc, char **argv, const struct dp_eal_opts *o,
		bool *no_huge, char *why, size_t whylen)
{
	static char prefix[128], mem[32];
	static char *args[DP_EAL_MAX_ARGS];
	const char *rt;
	int n = 0, i, r;
	bool own_prefix = false;

	if (argc + 8 > DP_EAL_MAX_ARGS) {
		snprintf(why, whylen, "too many EAL arguments");
		return -1;
	}
	for (i = 0; i < argc; i++)
		args[n++] = argv[i];
	if (!has_arg(argc, argv, "--file-prefix") &&
	    !has_arg(argc, argv, "--in-memory")) {
		snprintf(prefix, sizeof(prefix), "--file-prefix=%s-%d", o->name,
			 (int)getpid());
		args[n++] = prefix;
		own_prefix = true;
	}
	*no_huge = has_arg(argc, argv, "--no-huge");
	if (!*no_huge && !hugepages_usable()) {
		args[n++] = (char *)"--no-huge";
		*no_huge = true;
		if (!has_arg(argc, argv, "-m") &&
		    !has_arg(argc, argv, "--socket-mem")) {
			snprintf(mem, sizeof(mem), "%u", o->no_huge_mb);
			args[n++] = (char *)"-m";
			args[n++] = mem;
		}
	} else if (!*no_huge && own_prefix &&
		   !has_arg(argc, argv, "--huge-unlink")) {
		args[n++] = (char *)"--huge-unlink";
	}
	if (o->quiet && !has_arg(argc, argv, "--log-level"))
		args[n++] = (char *)"--log-level=lib.*:warning";
	args[n] = NULL;
	r = rte_eal_init(n, args);
	rt = rte_eal_get_runtime_dir();
	if (r < 0) {
		snprintf(why, whylen, "rte_eal_init: %s%s",
			 rte_strerror(rte_errno),
			 *no_huge ? " (without hugepages)" : "");
		if (own_prefix && rt && rt[0])
			remove_runtime_dir(rt);
		return -1;
	}
	if (own_prefix && rt)
		snprintf(dp_runtime_dir, sizeof(dp_runtime_dir), "%s", rt);
	return 0;
}

void dp_eal_cleanup(void)
{
	rte_eal_cleanup();
	if (dp_runtime_dir[0])
		remove_runtime_dir(dp_runtime_dir);
	dp_runtime_dir[0] = 0;
}
