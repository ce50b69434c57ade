// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/engine_xdp.c: the XDP engine: load or adopt the pinned program, link and maps; apply plans; read per-CPU counters. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "engine.h"
#include "common/flowcache.h"
#include "ferry.skel.h"

enum xdp_map {
	M_VIPS,
	M_RINGS,
	M_BACKENDS,
	M_PINS,
	M_FLOWS,
	M_CONFIG,
	M_GLOBAL,
	M_VIP_STATS,
	M_BACKEND_STATS,
	M_PIN_STATS,
	M_COUNT
};

static const char *const xdp_map_names[M_COUNT] = {
	"vips",	  "rings",	  "backends",	 "pins",
	"flows",  "config",	  "global_stats", "vip_stats",
	"backend_stats", "pin_stats",
};

struct engine {
	char dir[CONF_PATH_MAX];
	int ifindex;
	int link_fd;
	int fd[M_COUNT];
	int ncpus;
	__u8 mac[6];
	__u32 vip_hi, backend_hi, pin_hi; /* ids below these are read */
	__u32 seed; /* the loaded program's hash seed */
	__u32 flow_buckets; /* buckets of the flows map */
	struct ferry_bpf *skel; /* only when this process loaded it */
	/* conntrack occupancy: the buckets in windows of at most
	 * XDP_FLOWS_WINDOW_BYTES (every CPU's copy), one window counted per
	 * read_stats and at most one per XDP_FLOWS_STEP_MS, so a read never
	 * stalls ferryd's loop for long; the total sums each window's last
	 * count. */
	__u64 *flows_win; /* used slots per window, last count */
	__u32 flows_nwin, flows_window; /* windows, buckets per window */
	__u32 flows_next, flows_seen; /* next window; windows counted */
	__u64 flows_at_ms; /* when the last window was counted */
};

#define XDP_FLOWS_WINDOW_BYTES (8u << 20) /* about 8 ms of copying */
#define XDP_FLOWS_STEP_MS 1000
#define XDP_FLOWS_BATCH 256

static int xdp_path(const struct engine *e, const char *name, char *buf,
		    size_t len)
{
	int n = snprintf(buf, len, "%s/%s", e->dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool xdp_is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static int xdp_mkdir_p(const char *dir)
{
	char tmp[CONF_PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The pin directory must live on a bpffs: mount one where needed. */
static int xdp_bpffs_ensure(const char *dir)
{
	static const char std[] = "/sys/fs/bpf";
	int err;

	if (!strncmp(dir, std, sizeof(std) - 1) && !xdp_is_bpffs(std) &&
	    mount("bpf", std, "bpf", 0, "mode=0700"))
		return -errno;
	err = xdp_mkdir_p(dir);
	if (err)
		return err;
	if (!xdp_is_bpffs(dir) && mount("bpf", dir, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

static int xdp_if_mac(const char *ifname, __u8 mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

static struct engine *xdp_new(const struct ferry_conf *conf)
{
	struct engine *e = calloc(1, sizeof(*e));
	int i;

	if (!e)
		return NULL;
	snprintf(e->dir, sizeof(e->dir), "%s", conf->dp.bpffs);
	e->link_fd = -1;
	for (i = 0; i < M_COUNT; i++)
		e->fd[i] = -1;
	e->ncpus = libbpf_num_possible_cpus();
	e->vip_hi = FERRY_MAX_VIPS;
	e->backend_hi = FERRY_MAX_BACKENDS;
	e->pin_hi = FERRY_MAX_PINS; /* until a plan says how many */
	e->seed = conf->dp.hash_seed;
	return e;
}

static void xdp_close(struct engine *e)
{
	int i;

	if (!e)
		return;
	for (i = 0; i < M_COUNT; i++)
		if (e->fd[i] >= 0 && !e->skel)
			close(e->fd[i]);
	if (e->link_fd >= 0)
		close(e->link_fd);
	ferry_bpf__destroy(e->skel);
	free(e->flows_win);
	free(e);
}

static int xdp_read_flow_buckets(struct engine *e)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(e->fd[M_FLOWS], &info, &len))
		return -errno;
	/* Every CPU's buckets in one array (bpf/maps.h). */
	if (info.type != BPF_MAP_TYPE_ARRAY ||
	    info.value_size != sizeof(struct lb_flow_bucket) ||
	    info.max_entries % (__u32)e->ncpus)
		return -EPROTO;
	e->flow_buckets = info.max_entries / (__u32)e->ncpus;
	return 0;
}

static int xdp_open_pinned_maps(struct engine *e)
{
	char path[PATH_MAX];
	int i, err;

	for (i = 0; i < M_COUNT; i++) {
		err = xdp_path(e, xdp_map_names[i], path, sizeof(path));
		if (err)
			return err;
		e->fd[i] = bpf_obj_get(path);
		if (e->fd[i] < 0)
			return -errno;
	}
	return xdp_read_flow_buckets(e);
}

/* A pinned link on our interface: take it over as it is. */
static int xdp_adopt(struct engine *e)
{
	struct lb_config cfg;
	__u32 zero = 0;
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int err;

	err = xdp_path(e, "link", path, sizeof(path));
	if (err)
		return err;
	e->link_fd = bpf_obj_get(path);
	if (e->link_fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(e->link_fd, &info, &len))
		return -errno;
	if (info.type != BPF_LINK_TYPE_XDP)
		return -EINVAL;
	if ((int)info.xdp.ifindex != e->ifindex)
		return -EXDEV;
	err = xdp_open_pinned_maps(e);
	if (err)
		return err;
	/* The program keeps the seed it was loaded with. */
	if (!bpf_map_lookup_elem(e->fd[M_CONFIG], &zero, &cfg) &&
	    (cfg.flags & LB_CFG_READY) && cfg.hash_seed != e->seed)
		return -ESTALE;
	return 0;
}

static int xdp_pin_fd(const struct engine *e, int fd, const char *name)
{
	char path[PATH_MAX];
	int err = xdp_path(e, name, path, sizeof(path));

	if (err)
		return err;
	unlink(path);
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

/* Conntrack buckets: entries / ways, rounded up to a power of two. */
static __u32 xdp_flow_buckets(__u32 entries)
{
	__u32 b = 1;

	while (b * FERRY_FLOW_WAYS < entries)
		b <<= 1;
	return b;
}

/* Fresh start: load the program (reusing pinned maps), attach, pin. */
static int xdp_load(struct engine *e, const struct ferry_conf *conf)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = e->dir);
	LIBBPF_OPTS(bpf_link_create_opts, lopts);
	int i, err, prog_fd;

	e->skel = ferry_bpf__open_opts(&oopts);
	if (!e->skel)
		return -errno;
	e->skel->rodata->ferry_hash_seed = conf->dp.hash_seed;
	e->skel->rodata->ferry_flow_mask = xdp_flow_buckets(conf->dp.flows) - 1;
	e->skel->rodata->ferry_nr_cpus = (__u32)e->ncpus;
	err = bpf_map__set_max_entries(e->skel->maps.flows,
				       xdp_flow_buckets(conf->dp.flows) *
					       (__u32)e->ncpus);
	if (err)
		return err;
	err = ferry_bpf__load(e->skel);
	if (err)
		return err;
	for (i = 0; i < M_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(
			e->skel->obj, xdp_map_names[i]);

		if (!m)
			return -ENOENT;
		e->fd[i] = bpf_map__fd(m);
	}
	err = xdp_read_flow_buckets(e);
	if (err)
		return err;
	prog_fd = bpf_program__fd(e->skel->progs.ferry_xdp);
	lopts.flags = conf->dp.xdp_generic ? XDP_FLAGS_SKB_MODE :
					     XDP_FLAGS_DRV_MODE;
	e->link_fd = bpf_link_create(prog_fd, e->ifindex, BPF_XDP, &lopts);
	if (e->link_fd < 0)
		return -errno;
	err = xdp_pin_fd(e, prog_fd, "prog");
	if (err)
		return err;
	return xdp_pin_fd(e, e->link_fd, "link");
}

static struct engine *xdp_open(const struct ferry_conf *conf, bool *adopted)
{
	struct engine *e = xdp_new(conf);
	char path[PATH_MAX];
	int err;

	if (!e)
		return NULL;
	e->ifindex = (int)if_nametoindex(conf->dp.interface);
	if (!e->ifindex) {
		err = -ENODEV;
		goto fail;
	}
	err = xdp_if_mac(conf->dp.interface, e->mac);
	if (err)
		goto fail;
	err = xdp_bpffs_ensure(e->dir);
	if (err)
		goto fail;
	err = xdp_path(e, "link", path, sizeof(path));
	if (err)
		goto fail;
	*adopted = access(path, F_OK) == 0;
	err = *adopted ? xdp_adopt(e) : xdp_load(e, conf);
	if (err)
		goto fail;
	return e;
fail:
	xdp_close(e);
	errno = err < 0 ? -err : EINVAL;
	return NULL;
}

static struct engine *xdp_attach_existing(const struct ferry_conf *conf)
{
	struct engine *e = xdp_new(conf);
	int err;

	if (!e)
		return NULL;
	err = xdp_open_pinned_maps(e);
	if (err) {
		xdp_close(e);
		errno = -err;
		return NULL;
	}
	return e;
}

/* A ring of its own size, filled, then placed in the VIP's idle slot. */
static int xdp_write_ring(struct engine *e, const struct plan_vip *v,
			  __u32 ring_idx)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_INNER_MAP);
	__u32 *keys = malloc(sizeof(*keys) * v->ring_size);
	__u32 i, count = v->ring_size;
	int fd = -1, err = 0;

	if (!keys)
		return -ENOMEM;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ferry_ring", sizeof(__u32),
			    sizeof(__u32), v->ring_size, &mopts);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < v->ring_size; i++)
		keys[i] = i;
	if (bpf_map_update_batch(fd, keys, v->ring, &count, NULL)) {
		err = -errno;
		goto out;
	}
	if (bpf_map_update_elem(e->fd[M_RINGS], &ring_idx, &fd, BPF_ANY))
		err = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(keys);
	return err;
}

static int xdp_apply_vip(struct engine *e, const struct plan_vip *v)
{
	struct lb_vip cur, next;
	bool live = false;
	__u32 slot = 0;
	int err;

	if (!bpf_map_lookup_elem(e->fd[M_VIPS], &v->key, &cur) &&
	    cur.id == v->id) {
		live = true;
		slot = (cur.ring - cur.id * FERRY_RING_SLOTS + 1) % FERRY_RING_SLOTS;
	}
	/* Untouched VIP: its live ring already is this plan's. */
	if (live && !v->ring_changed && cur.flags == v->flags &&
	    cur.ring_size == v->ring_size)
		return 0;
	next.id = v->id;
	next.flags = v->flags;
	next.ring = v->id * FERRY_RING_SLOTS + slot;
	next.ring_size = v->ring_size;
	err = xdp_write_ring(e, v, next.ring);
	if (err)
		return err;
	/* The flip: one update replaces the whole VIP value. */
	if (bpf_map_update_elem(e->fd[M_VIPS], &v->key, &next, BPF_ANY))
		return -errno;
	if (!v->has_frag_key)
		return 0;
	next.flags |= LB_VIP_FRAGS_ONLY;
	if (bpf_map_update_elem(e->fd[M_VIPS], &v->frag_key, &next, BPF_ANY))
		return -errno;
	return 0;
}

static bool xdp_plan_has_key(const struct plan *p, const void *key)
{
	const struct lb_vip_key *k = key;
	unsigned int i;

	for (i = 0; i < p->nvips; i++)
		if (!memcmp(&p->vips[i].key, k, sizeof(*k)) ||
		    (p->vips[i].has_frag_key &&
		     !memcmp(&p->vips[i].frag_key, k, sizeof(*k))))
			return true;
	return false;
}

static bool xdp_plan_has_pin(const struct plan *p, const void *key)
{
	const struct lb_pin_key *k = key;
	unsigned int i;

	for (i = 0; i < p->npins; i++)
		if (!memcmp(&p->pins[i].key, k, sizeof(*k)))
			return true;
	return false;
}

/* Deletes every key of a hash or LPM map that the plan does not keep:
 * collected first, since deleting while walking restarts the walk. */
static int xdp_delete_unkept(int fd, size_t key_size, unsigned int max,
			     const struct plan *p,
			     bool (*keep)(const struct plan *, const void *))
{
	unsigned char *stale = calloc(max, key_size);
	__u64 key[4], next[4]; /* aligned for the key structs */
	unsigned int n = 0, i;
	void *prev = NULL;

	if (!stale || key_size > sizeof(key)) {
		free(stale);
		return -ENOMEM;
	}
	while (n < max && !bpf_map_get_next_key(fd, prev, next)) {
		if (!keep(p, next))
			memcpy(stale + (size_t)n++ * key_size, next, key_size);
		memcpy(key, next, key_size);
		prev = key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, stale + (size_t)i * key_size);
	free(stale);
	return 0;
}

/* After the flips: VIPs, pins and backends that generation N no longer has. */
static int xdp_remove_stale(struct engine *e, const struct plan *p)
{
	struct lb_backend be, none;
	__u32 id;
	int err;

	err = xdp_delete_unkept(e->fd[M_VIPS], sizeof(struct lb_vip_key),
				FERRY_MAX_VIPS * 4, p, xdp_plan_has_key);
	if (!err)
		err = xdp_delete_unkept(e->fd[M_PINS], sizeof(struct lb_pin_key),
					FERRY_MAX_PINS, p, xdp_plan_has_pin);

	memset(&none, 0, sizeof(none));
	for (id = 0; id < FERRY_MAX_BACKENDS; id++) {
		if (bpf_map_lookup_elem(e->fd[M_BACKENDS], &id, &be))
			continue;
		if (be.state == LB_BE_NONE || plan_backend_by_id(p, id))
			continue;
		if (bpf_map_update_elem(e->fd[M_BACKENDS], &id, &none, BPF_ANY))
			err = -errno;
	}
	return err;
}

static int xdp_apply(struct engine *e, const struct plan *p)
{
	struct lb_config cfg = p->cfg;
	unsigned int i;
	__u32 zero = 0;
	int err;

	memcpy(cfg.src_mac, e->mac, 6);
	if (bpf_map_update_elem(e->fd[M_CONFIG], &zero, &cfg, BPF_ANY))
		return -errno;
	for (i = 0; i < p->nbackends; i++) {
		const struct plan_backend *b = &p->backends[i];

		if (bpf_map_update_elem(e->fd[M_BACKENDS], &b->id, &b->be,
					BPF_ANY))
			return -errno;
	}
	/* Pins before the VIPs that start consulting them. */
	for (i = 0; i < p->npins; i++)
		if (bpf_map_update_elem(e->fd[M_PINS], &p->pins[i].key,
					&p->pins[i].pin, BPF_ANY))
			return -errno;
	for (i = 0; i < p->nvips; i++) {
		err = xdp_apply_vip(e, &p->vips[i]);
		if (err)
			return err;
	}
	e->pin_hi = 0;
	for (i = 0; i < p->npins; i++)
		if (p->pins[i].pin.id >= e->pin_hi)
			e->pin_hi = p->pins[i].pin.id + 1;
	e->vip_hi = e->backend_hi = 0;
	for (i = 0; i < p->nvips; i++)
		if (p->vips[i].id >= e->vip_hi)
			e->vip_hi = p->vips[i].id + 1;
	for (i = 0; i < p->nbackends; i++)
		if (p->backends[i].id >= e->backend_hi)
			e->backend_hi = p->backends[i].id + 1;
	return xdp_remove_stale(e, p);
}

/* Sum a per-CPU counter of n 64-bit words at key into out. */
static int xdp_sum_percpu(struct engine *e, int fd, __u32 key, __u64 *out,
			  size_t words)
{
	size_t stride = words * sizeof(__u64);
	__u64 *buf = calloc((size_t)e->ncpus, stride);
	int cpu;
	size_t w;

	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, buf)) {
		free(buf);
		return -errno;
	}
	for (cpu = 0; cpu < e->ncpus; cpu++)
		for (w = 0; w < words; w++)
			out[w] += buf[cpu * words + w];
	free(buf);
	return 0;
}

/* The global entry, summed, and each CPU's packets (every packet is
 * counted under exactly one reason). */
static int xdp_read_global(struct engine *e, struct engine_stats *s)
{
	const size_t words = sizeof(struct lb_global_stats) / sizeof(__u64);
	__u64 *buf = calloc((size_t)e->ncpus, words * sizeof(__u64));
	__u64 *sum = (__u64 *)&s->global;
	__u32 zero = 0;
	size_t w;
	int c, r;

	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(e->fd[M_GLOBAL], &zero, buf)) {
		free(buf);
		return -errno;
	}
	for (c = 0; c < e->ncpus; c++) {
		const struct lb_global_stats *g =
			(const struct lb_global_stats *)(buf + c * words);

		for (w = 0; w < words; w++)
			sum[w] += buf[c * words + w];
		for (r = 0; r < LB_REASON_MAX && c < ENGINE_MAX_CPUS; r++)
			s->cpu_packets[c] += g->reason[r].packets;
	}
	free(buf);
	return 0;
}

static uint64_t xdp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Used slots of array entries [first, first + n), added to *used; batched
 * reads (a bucket lookup per key where batches are refused). */
static int xdp_scan_range(struct engine *e, __u32 first, __u32 n, __u64 *used)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const __u32 ways = (1u << FERRY_FLOW_WAYS) - 1;
	struct lb_flow_bucket *buf = malloc(sizeof(*buf) * XDP_FLOWS_BATCH);
	__u32 keys[XDP_FLOWS_BATCH], done = 0, prev, out, count, i;
	bool batch = true;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (done < n) {
		count = n - done < XDP_FLOWS_BATCH ? n - done : XDP_FLOWS_BATCH;
		prev = first + done - 1;
		if (batch) {
			err = bpf_map_lookup_batch(e->fd[M_FLOWS],
						   first + done ? &prev : NULL,
						   &out, keys, buf, &count, &opts);
			if (err && errno != ENOENT) {
				if (done) {
					err = -errno;
					break;
				}
				batch = false; /* refused (old kernel): key by key */
				continue;
			}
			err = 0;
		} else {
			for (i = 0; i < count; i++) {
				__u32 key = first + done + i;

				if (bpf_map_lookup_elem(e->fd[M_FLOWS], &key,
							&buf[i])) {
					err = -errno;
					break;
				}
			}
			if (err)
				break;
		}
		for (i = 0; i < count; i++)
			*used += (__u64)__builtin_popcount(buf[i].used & ways);
		if (!count)
			break;
		done += count;
	}
	free(buf);
	return err;
}

/* Used slots of buckets [first, first + n) over every CPU, added to *used:
 * CPU c's bucket i is array entry c * flow_buckets + i. */
static int xdp_scan_flows(struct engine *e, __u32 first, __u32 n, __u64 *used)
{
	int c, err;

	for (c = 0; c < e->ncpus; c++) {
		err = xdp_scan_range(e, (__u32)c * e->flow_buckets + first, n,
				     used);
		if (err)
			return err;
	}
	return 0;
}

/* Conntrack entries in use and the capacity. Until every window has been
 * counted once, the windows counted so far are scaled up (flows spread
 * evenly over buckets by hash). */
static void xdp_read_flows(struct engine *e, struct engine_stats *s)
{
	const __u64 bucket_bytes =
		sizeof(struct lb_flow_bucket) * (__u64)e->ncpus;
	__u64 used = 0, sum = 0, now;
	__u32 first, n, i;

	s->flows_capacity =
		(__u64)e->flow_buckets * FERRY_FLOW_WAYS * (__u64)e->ncpus;
	if (!e->flow_buckets)
		return;
	if (!e->flows_win) {
		__u64 w = XDP_FLOWS_WINDOW_BYTES / bucket_bytes;

		w = w < 1 ? 1 : w > e->flow_buckets ? e->flow_buckets : w;
		e->flows_window = (__u32)w;
		e->flows_nwin = (e->flow_buckets + e->flows_window - 1) /
				e->flows_window;
		e->flows_win = calloc(e->flows_nwin, sizeof(*e->flows_win));
		if (!e->flows_win)
			return;
	}
	now = xdp_now_ms();
	if (!e->flows_seen || now - e->flows_at_ms >= XDP_FLOWS_STEP_MS) {
		first = e->flows_next * e->flows_window;
		n = e->flow_buckets - first < e->flows_window ?
			    e->flow_buckets - first :
			    e->flows_window;
		if (!xdp_scan_flows(e, first, n, &used)) {
			e->flows_win[e->flows_next] = used;
			e->flows_next = (e->flows_next + 1) % e->flows_nwin;
			if (e->flows_seen < e->flows_nwin)
				e->flows_seen++;
			e->flows_at_ms = now;
		}
	}
	for (i = 0; i < e->flows_nwin; i++)
		sum += e->flows_win[i];
	s->flows_entries = e->flows_seen < e->flows_nwin && e->flows_seen ?
				   sum * e->flows_nwin / e->flows_seen :
				   sum;
}

static int xdp_read_stats(struct engine *e, struct engine_stats *s)
{
	__u32 id;
	int err;

	struct lb_config cfg;
	__u32 zero = 0;

	memset(s, 0, sizeof(*s));
	s->ncpus = (unsigned int)e->ncpus;
	if (!bpf_map_lookup_elem(e->fd[M_CONFIG], &zero, &cfg))
		s->generation = cfg.generation;
	err = xdp_read_global(e, s);
	if (err)
		return err;
	for (id = 0; id < e->vip_hi; id++) {
		err = xdp_sum_percpu(e, e->fd[M_VIP_STATS], id,
				     (__u64 *)&s->vip[id], 4);
		if (err)
			return err;
	}
	for (id = 0; id < e->backend_hi; id++) {
		err = xdp_sum_percpu(e, e->fd[M_BACKEND_STATS], id,
				     (__u64 *)&s->backend[id], 2);
		if (err)
			return err;
	}
	for (id = 0; id < e->pin_hi; id++) {
		err = xdp_sum_percpu(e, e->fd[M_PIN_STATS], id,
				     (__u64 *)&s->pin[id], 2);
		if (err)
			return err;
	}
	xdp_read_flows(e, s);
	return 0;
}

static int xdp_snapshot(struct engine *e, struct engine_snapshot *s)
{
	struct lb_vip_key key, next;
	struct lb_backend be;
	void *prev = NULL;
	__u32 id;

	memset(s, 0, sizeof(*s));
	s->vip_keys = calloc(FERRY_MAX_VIPS * 4, sizeof(*s->vip_keys));
	s->vips = calloc(FERRY_MAX_VIPS * 4, sizeof(*s->vips));
	s->backend_ids = calloc(FERRY_MAX_BACKENDS, sizeof(*s->backend_ids));
	s->backends = calloc(FERRY_MAX_BACKENDS, sizeof(*s->backends));
	if (!s->vip_keys || !s->vips || !s->backend_ids || !s->backends) {
		engine_snapshot_free(s);
		return -ENOMEM;
	}
	while (s->nvips < FERRY_MAX_VIPS * 4 &&
	       !bpf_map_get_next_key(e->fd[M_VIPS], prev, &next)) {
		if (!bpf_map_lookup_elem(e->fd[M_VIPS], &next,
					 &s->vips[s->nvips]))
			s->vip_keys[s->nvips++] = next;
		key = next;
		prev = &key;
	}
	for (id = 0; id < FERRY_MAX_BACKENDS; id++) {
		if (bpf_map_lookup_elem(e->fd[M_BACKENDS], &id, &be) ||
		    be.state == LB_BE_NONE)
			continue;
		s->backend_ids[s->nbackends] = id;
		s->backends[s->nbackends++] = be;
	}
	return 0;
}

void engine_snapshot_free(struct engine_snapshot *s)
{
	free(s->vip_keys);
	free(s->vips);
	free(s->backend_ids);
	free(s->backends);
	memset(s, 0, sizeof(*s));
}

static int xdp_unpin(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Unpinning the link detaches the program once no process holds it. */
static int xdp_destroy(const struct ferry_conf *conf)
{
	int i, err = 0;

	if (!xdp_is_bpffs(conf->dp.bpffs))
		return 0;
	if (xdp_unpin(conf->dp.bpffs, "link") ||
	    xdp_unpin(conf->dp.bpffs, "prog"))
		err = -errno;
	for (i = 0; i < M_COUNT; i++)
		if (xdp_unpin(conf->dp.bpffs, xdp_map_names[i]))
			err = -errno;
	return err;
}

/* ---- where: the core over the live maps, read-only --------------------- */
struct lb_tables {
	struct engine *e;
	__u32 seed;
	struct lb_vip vip;
	struct lb_backend be;
	struct lb_pin pin;
	struct lb_flow flow;
};

static inline const struct lb_vip *lb_tbl_vip(struct lb_tables *t,
					      const struct lb_vip_key *k)
{
	return bpf_map_lookup_elem(t->e->fd[M_VIPS], k, &t->vip) ? NULL :
								    &t->vip;
}

static inline __u32 lb_tbl_ring(struct lb_tables *t, __u32 ring, __u32 slot)
{
	__u32 inner_id, id = FERRY_NO_BACKEND;
	int fd;

	if (bpf_map_lookup_elem(t->e->fd[M_RINGS], &ring, &inner_id))
		return FERRY_NO_BACKEND;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return FERRY_NO_BACKEND;
	if (bpf_map_lookup_elem(fd, &slot, &id))
		id = FERRY_NO_BACKEND;
	close(fd);
	return id;
}

static inline const struct lb_backend *lb_tbl_backend(struct lb_tables *t,
						      __u32 id)
{
	return bpf_map_lookup_elem(t->e->fd[M_BACKENDS], &id, &t->be) ? NULL :
									 &t->be;
}

static inline const struct lb_pin *lb_tbl_pin(struct lb_tables *t,
					      const struct lb_pin_key *k)
{
	return bpf_map_lookup_elem(t->e->fd[M_PINS], k, &t->pin) ? NULL :
								    &t->pin;
}

/* Every CPU's bucket is searched: the flow may live on any of them. */
static inline const struct lb_flow *lb_tbl_flow(struct lb_tables *t,
						const struct lb_flow_key *k,
						__u32 hash)
{
	const __u32 nb = t->e->flow_buckets;
	const struct lb_flow *f;
	struct lb_flow_bucket b;
	__u32 key;
	int c;

	for (c = 0; c < t->e->ncpus; c++) {
		key = (__u32)c * nb + (hash & (nb - 1));
		if (bpf_map_lookup_elem(t->e->fd[M_FLOWS], &key, &b))
			continue;
		f = lb_fc_find(&b, k, hash);
		if (f) {
			t->flow = *f;
			return &t->flow;
		}
	}
	return NULL;
}

static inline void lb_tbl_flow_put(struct lb_tables *t,
				   const struct lb_flow_key *k, __u32 hash,
				   const struct lb_flow *v)
{
	(void)t;
	(void)k;
	(void)hash;
	(void)v; /* a question changes nothing */
}

static inline __u32 lb_tbl_seed(struct lb_tables *t)
{
	return t->seed;
}

#include "common/pipeline.h"

static int xdp_where(struct engine *e, const __u8 *frame, __u32 len,
		     struct lb_result *r)
{
	struct lb_tables t = { .e = e, .seed = e->seed };
	struct lb_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(e->fd[M_CONFIG], &zero, &cfg))
		return -errno;
	lb_decide(&t, &cfg, frame, frame + len, r);
	return 0;
}

/* The pinned link, as ferryd --detach or another ferryd would find it:
 * present, an XDP link, attached to our interface. */
static bool xdp_forwarding(struct engine *e, char *why, size_t len)
{
	struct bpf_link_info info;
	__u32 ilen = sizeof(info);
	char path[PATH_MAX], dummy[8];
	int fd, err = 0;

	if (!why) {
		why = dummy;
		len = sizeof(dummy);
	}
	if (xdp_path(e, "link", path, sizeof(path))) {
		snprintf(why, len, "bpffs path too long");
		return false;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(why, len, "no pinned XDP link at %s (%s)", path,
			 strerror(errno));
		return false;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		err = errno;
	close(fd);
	if (err)
		snprintf(why, len, "reading the pinned link: %s", strerror(err));
	else if (info.type != BPF_LINK_TYPE_XDP)
		snprintf(why, len, "%s is not an XDP link", path);
	else if (!info.xdp.ifindex)
		snprintf(why, len, "the XDP link is detached from its interface");
	else if ((int)info.xdp.ifindex != e->ifindex)
		snprintf(why, len, "the XDP link is on interface %u, not %d",
			 info.xdp.ifindex, e->ifindex);
	else
		return true;
	return false;
}

const struct engine_ops engine_xdp_ops = {
	.name = "xdp",
	.open = xdp_open,
	.attach_existing = xdp_attach_existing,
	.apply = xdp_apply,
	.read_stats = xdp_read_stats,
	.snapshot = xdp_snapshot,
	.where = xdp_where,
	.forwarding = xdp_forwarding,
	.destroy = xdp_destroy,
	.close = xdp_close,
};
