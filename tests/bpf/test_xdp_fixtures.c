/* tests/bpf/test_xdp_fixtures.c: runs the packet fixture table through the XDP programs with BPF_PROG_TEST_RUN: ferry_xdp (verdict, output frame, reason counter) and ferry_decap (every encapsulated output back to its inner packet). Needs root; exits 77 (skip) without it.
 *
 * The programs are loaded from their skeletons with pinning switched off, so
 * nothing touches /sys/fs/bpf and a running ferryd is left alone. Before
 * every fixture the flows map is emptied and refilled with the world's
 * conntrack entries: no result depends on the order fixtures run in.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "decap.skel.h"
#include "common/flowcache.h"
#include "common/hash.h"
#include "ferry.skel.h"
#include "tests/fixtures/fixtures.h"

#define EXIT_SKIP 77
#define FRAME_OUT_MAX 4096
#define TEST_FLOW_BUCKETS 1024 /* the flows map, shrunk for the test */

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- loading ----------------------------------------------------------- */
static void unpin_all(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
}

/* Loading failed: a skip when we lack the privilege, else a failure. */
static int load_failed(const char *what, int err)
{
	if (err == -EPERM || err == -EACCES) {
		fprintf(stderr,
			"SKIP: loading %s: %s (needs root or CAP_BPF + CAP_NET_ADMIN)\n",
			what, strerror(-err));
		return EXIT_SKIP;
	}
	fprintf(stderr, "loading %s: %s\n", what, strerror(-err));
	return 1;
}

static int open_ferry(const struct fixture_world *w, struct ferry_bpf **out)
{
	struct ferry_bpf *skel = ferry_bpf__open();
	int err;

	if (!skel)
		return -errno;
	unpin_all(skel->obj);
	/* Every possible CPU's buckets, as ferryd sizes it. */
	bpf_map__set_max_entries(skel->maps.flows,
				 TEST_FLOW_BUCKETS * libbpf_num_possible_cpus());
	skel->rodata->ferry_flow_mask = TEST_FLOW_BUCKETS - 1;
	skel->rodata->ferry_hash_seed = w->seed;
	err = ferry_bpf__load(skel);
	if (err) {
		ferry_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

static int open_decap(struct decap_bpf **out)
{
	struct decap_bpf *skel = decap_bpf__open();
	int err;

	if (!skel)
		return -errno;
	unpin_all(skel->obj);
	err = decap_bpf__load(skel);
	if (err) {
		decap_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

/* ---- the world into the maps ------------------------------------------- */
static int put(int fd, const void *k, const void *v, const char *what)
{
	if (bpf_map_update_elem(fd, k, v, BPF_ANY)) {
		fprintf(stderr, "update %s: %s\n", what, strerror(errno));
		return -errno;
	}
	return 0;
}

/* One ring: an inner array of its own size, in the rings outer map. */
static int load_ring(int rings_fd, const struct fixture_ring *r)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	int fd, err = 0;
	__u32 i;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ring", sizeof(__u32),
			    sizeof(__u32), r->size, &opts);
	if (fd < 0) {
		fprintf(stderr, "create ring %u: %s\n", r->index,
			strerror(errno));
		return -errno;
	}
	for (i = 0; i < r->size && !err; i++)
		err = put(fd, &i, &r->slot[i], "ring slot");
	if (!err)
		err = put(rings_fd, &r->index, &fd, "rings");
	close(fd); /* the outer map holds it now */
	return err;
}

/* Empties every CPU's conntrack, then puts the world's flows into the
 * bucket each would use, on every CPU (the test run may use any): CPU c's
 * bucket i at c * TEST_FLOW_BUCKETS + i. */
static int load_flows(const struct ferry_bpf *skel,
		      const struct fixture_world *w)
{
	int fd = bpf_map__fd(skel->maps.flows), ncpus = libbpf_num_possible_cpus();
	struct lb_flow_bucket b;
	unsigned int i;
	__u32 idx, key;
	int c, err = 0;

	memset(&b, 0, sizeof(b));
	for (idx = 0; idx < TEST_FLOW_BUCKETS * (__u32)ncpus && !err; idx++)
		err = put(fd, &idx, &b, "flows");
	for (i = 0; i < w->nflows && !err; i++) {
		__u32 h = lb_hash_flow(&w->flows[i].key, w->seed);

		idx = h & (TEST_FLOW_BUCKETS - 1);
		for (c = 0; c < ncpus && !err; c++) {
			key = (__u32)c * TEST_FLOW_BUCKETS + idx;
			if (bpf_map_lookup_elem(fd, &key, &b)) {
				err = -errno;
				break;
			}
			lb_fc_put(&b, &w->flows[i].key, h, &w->flows[i].flow);
			err = put(fd, &key, &b, "flows");
		}
	}
	return err;
}

static int load_world(const struct ferry_bpf *skel,
		      const struct fixture_world *w)
{
	__u32 zero = 0;
	unsigned int i;
	int err;

	err = put(bpf_map__fd(skel->maps.config), &zero, &w->cfg, "config");
	for (i = 0; i < w->nvips && !err; i++)
		err = put(bpf_map__fd(skel->maps.vips), &w->vips[i].key,
			  &w->vips[i].vip, "vips");
	for (i = 0; i < w->nbackends && !err; i++)
		err = put(bpf_map__fd(skel->maps.backends), &w->backends[i].id,
			  &w->backends[i].be, "backends");
	for (i = 0; i < w->npins && !err; i++)
		err = put(bpf_map__fd(skel->maps.pins), &w->pins[i].key,
			  &w->pins[i].pin, "pins");
	for (i = 0; i < w->nrings && !err; i++)
		err = load_ring(bpf_map__fd(skel->maps.rings), &w->rings[i]);
	return err ? err : load_flows(skel, w);
}

/* ---- counters ---------------------------------------------------------- */
/* The reason counters summed over every CPU. */
static int read_reasons(const struct ferry_bpf *skel, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), c, i;
	struct lb_global_stats *v;
	__u32 zero = 0;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.global_stats), &zero,
				v)) {
		free(v);
		return -errno;
	}
	memset(out, 0, LB_REASON_MAX * sizeof(*out));
	for (c = 0; c < ncpu; c++)
		for (i = 0; i < LB_REASON_MAX; i++)
			out[i] += v[c].reason[i].packets;
	free(v);
	return 0;
}

static int read_decap_stat(const struct decap_bpf *skel, __u32 stat,
			   __u64 *packets)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct lb_counter *v;

	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.decap_stats), &stat,
				v)) {
		free(v);
		return -errno;
	}
	*packets = 0;
	for (c = 0; c < ncpu; c++)
		*packets += v[c].packets;
	free(v);
	return 0;
}

/* ---- running ----------------------------------------------------------- */
struct xdp_run {
	__u32 retval;
	__u8 out[FRAME_OUT_MAX];
	__u32 len;
};

static int xdp_run(int prog_fd, const __u8 *in, size_t len, struct xdp_run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	r->retval = o.retval;
	r->len = o.data_size_out;
	return 0;
}

static __u32 xdp_action(int verdict)
{
	if (verdict == LB_TX)
		return XDP_TX;
	if (verdict == LB_PASS)
		return XDP_PASS;
	return XDP_DROP;
}

static const char *xdp_name(__u32 act)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX",
					     "REDIRECT" };

	return act < 5 ? names[act] : "?";
}

/* 0: the reason counter moved by exactly one, under f's reason only. */
static int check_reasons(const struct fixture *f, const __u64 *before,
			 const __u64 *after)
{
	int i, bad = 0;

	for (i = 0; i < LB_REASON_MAX; i++) {
		__u64 want = i == (int)f->reason ? 1 : 0;

		if (after[i] - before[i] != want) {
			fprintf(stderr,
				"%s: reason %s moved by %llu, want %llu\n",
				f->name, fixture_reason_name(i),
				(unsigned long long)(after[i] - before[i]),
				(unsigned long long)want);
			bad = 1;
		}
	}
	return bad;
}

static int check_frame(const char *what, const __u8 *want, size_t want_len,
		       const __u8 *got, size_t got_len)
{
	if (want_len == got_len && !memcmp(want, got, got_len))
		return 0;
	fixture_hexdiff(what, want, want_len, got, got_len);
	return 1;
}

/* One fixture through ferry_xdp: 0 pass, 1 fail, -errno broken. */
static int run_ferry(const struct ferry_bpf *skel,
		     const struct fixture_world *w, const struct fixture *f)
{
	__u64 before[LB_REASON_MAX], after[LB_REASON_MAX];
	static struct xdp_run r;
	int err, bad = 0;

	err = load_flows(skel, w);
	if (!err)
		err = read_reasons(skel, before);
	if (!err)
		err = xdp_run(bpf_program__fd(skel->progs.ferry_xdp), f->in,
			      f->in_len, &r);
	if (!err)
		err = read_reasons(skel, after);
	if (err) {
		fprintf(stderr, "%s: %s\n", f->name, strerror(-err));
		return err;
	}
	if (r.retval != xdp_action(f->verdict)) {
		fprintf(stderr, "%s: want XDP_%s (%s), got XDP_%s\n", f->name,
			xdp_name(xdp_action(f->verdict)),
			fixture_reason_name(f->reason), xdp_name(r.retval));
		bad = 1;
	}
	bad |= check_reasons(f, before, after);
	bad |= check_frame(f->name, f->out, f->out_len, r.out, r.len);
	return bad;
}

/*
 * An LB_TX fixture's output through ferry_decap: XDP_PASS, and the frame
 * is the original input from the ethertype on (VLAN tag included) behind
 * the encapsulated frame's MACs.
 */
static int run_decap(const struct decap_bpf *skel, const struct fixture *f)
{
	static __u8 want[FRAME_OUT_MAX];
	static struct xdp_run r;
	char what[80];
	int err, bad = 0;

	if (f->in_len > sizeof(want) || f->out_len < 12)
		return -EINVAL;
	memcpy(want, f->out, 12);
	memcpy(want + 12, f->in + 12, f->in_len - 12);
	err = xdp_run(bpf_program__fd(skel->progs.ferry_decap), f->out,
		      f->out_len, &r);
	if (err) {
		fprintf(stderr, "decap %s: %s\n", f->name, strerror(-err));
		return err;
	}
	if (r.retval != XDP_PASS) {
		fprintf(stderr, "decap %s: want XDP_PASS, got XDP_%s\n",
			f->name, xdp_name(r.retval));
		bad = 1;
	}
	snprintf(what, sizeof(what), "decap %s", f->name);
	bad |= check_frame(what, want, f->in_len, r.out, r.len);
	return bad;
}

/* A frame that is not encapsulated: passed untouched, counted as such. */
static int run_decap_plain(const struct decap_bpf *skel,
			   const struct fixture *f)
{
	static struct xdp_run r;
	__u64 before, after;
	char what[80];
	int err, bad = 0;

	err = read_decap_stat(skel, LB_DECAP_PASS, &before);
	if (!err)
		err = xdp_run(bpf_program__fd(skel->progs.ferry_decap), f->in,
			      f->in_len, &r);
	if (!err)
		err = read_decap_stat(skel, LB_DECAP_PASS, &after);
	if (err) {
		fprintf(stderr, "decap plain %s: %s\n", f->name,
			strerror(-err));
		return err;
	}
	if (r.retval != XDP_PASS || after - before != 1) {
		fprintf(stderr,
			"decap plain %s: want XDP_PASS counted once, got XDP_%s counted %llu\n",
			f->name, xdp_name(r.retval),
			(unsigned long long)(after - before));
		bad = 1;
	}
	snprintf(what, sizeof(what), "decap plain %s", f->name);
	bad |= check_frame(what, f->in, f->in_len, r.out, r.len);
	return bad;
}

struct tally {
	int pass;
	int fail;
	int skip;
};

static void tally(struct tally *t, const char *what, const char *name, int rc)
{
	if (rc == 0)
		t->pass++;
	else
		t->fail++;
	printf("%s %s %s\n", rc == 0 ? "ok  " : "FAIL", what, name);
}

/* Every fixture through ferry_xdp; LB_TX outputs then through ferry_decap,
 * and every other frame through it too (not encapsulated: untouched). */
static void run_all(const struct ferry_bpf *ferry,
		    const struct decap_bpf *decap,
		    const struct fixture_world *w, const struct fixture *fx,
		    int n, struct tally *t)
{
	int i;

	for (i = 0; i < n; i++) {
		const struct fixture *f = &fx[i];

		if (f->flags & FIXTURE_F_SUB_ETH) {
			printf("skip xdp   %s (BPF_PROG_TEST_RUN refuses frames under 14 bytes)\n",
			       f->name);
			t->skip++;
			continue;
		}
		tally(t, "xdp  ", f->name, run_ferry(ferry, w, f));
		if (f->verdict == LB_TX)
			tally(t, "decap", f->name, run_decap(decap, f));
		else
			tally(t, "decap-plain", f->name,
			      run_decap_plain(decap, f));
	}
}

int main(int argc, char **argv)
{
	const struct fixture_world *w = fixtures_world();
	struct ferry_bpf *ferry = NULL;
	struct decap_bpf *decap = NULL;
	struct tally t = { 0 };
	struct fixture *fx;
	int n, err;

	verbose = argc > 1 && !strcmp(argv[1], "-v");
	libbpf_set_print(print_libbpf);
	n = fixtures_build(&fx);
	if (n < 0) {
		fprintf(stderr, "fixtures_build: %s\n", strerror(-n));
		return 1;
	}
	err = open_ferry(w, &ferry);
	if (err) {
		fixtures_free(fx, n);
		return load_failed("ferry_bpf", err);
	}
	err = open_decap(&decap);
	if (err) {
		ferry_bpf__destroy(ferry);
		fixtures_free(fx, n);
		return load_failed("decap_bpf", err);
	}
	err = load_world(ferry, w);
	if (!err)
		run_all(ferry, decap, w, fx, n, &t);
	printf("%d fixtures: %d checks passed, %d failed, %d skipped\n", n,
	       t.pass, t.fail, t.skip);
	decap_bpf__destroy(decap);
	ferry_bpf__destroy(ferry);
	fixtures_free(fx, n);
	return err || t.fail ? 1 : 0;
}
