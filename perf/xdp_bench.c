// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* perf/xdp_bench.c: ns/packet of bpf/ferry.bpf.c through BPF_PROG_TEST_RUN, one packet per call, as a ratio to an XDP_PASS floor.
 *
 * Loads its own unpinned copy of the ferry program (nothing under bpffs is
 * touched), fills it like ferryd would (config, 3 backends, a TCP and a UDP
 * VIP with 65537-slot rings) and times five cases:
 *
 *   floor            bpf/pass.bpf.c (XDP_PASS and nothing else)
 *   new_tcp_syn      TCP SYN to the TCP VIP, a new 5-tuple every call
 *                    (conntrack insert; the table is kept full, as in steady
 *                    state, so every insert also evicts)
 *   established_tcp  TCP ACK of a flow already in conntrack
 *   udp              UDP to the UDP VIP, flow already in conntrack
 *   non_vip_pass     TCP to an address that is no VIP (XDP_PASS)
 *
 * Every call runs the program once (repeat = 1) on the original 64-byte
 * frame; the time is the kernel's own (opts.duration). Cases take turns in
 * blocks so that machine noise hits all of them alike; the whole
 * measurement is repeated and each case's median over the runs is reported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <ferry/abi.h>
#include "ferry.skel.h"
#include "pass.skel.h"

#define FRAME_LEN 64 /* 14 Ethernet + 50 IP, no FCS */
#define RING_SIZE FERRY_RING_SIZE_DEFAULT
#define NBACKENDS 3
#define HASH_SEED 0x5eed1234u
#define OUT_MAX 256

enum { C_FLOOR, C_SYN, C_EST, C_UDP, C_NONVIP, C_COUNT };

struct bcase {
	const char *name;
	double target; /* max ratio to the floor, 0: none */
	int prog_fd;
	__u32 expect; /* XDP_TX or XDP_PASS */
	__u8 frame[FRAME_LEN];
	/* this run */
	unsigned long long sum_ns, calls, dropped;
	/* every run */
	double *ns; /* ns/packet per run */
	double *ratio; /* to the floor of the same run */
};

static const __u8 lb_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const __u8 gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe };
static const __u8 peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x10 };

#define IP4(a, b, c, d) htonl(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static struct {
	unsigned long long calls; /* per case per run */
	unsigned int runs;
	unsigned int block;
	int cpu;
	unsigned int outlier_ns; /* a call above this was interrupted */
	int verbose;
	const char *object; /* another build of ferry.bpf.c to measure */
	unsigned long long syn_keys; /* SYN 5-tuples cycled, 0: never repeat */
	int no_fill; /* leave conntrack empty before measuring */
} opt = {
	.calls = 1000000,
	.runs = 5,
	.block = 10000,
	.cpu = -1,
	.outlier_ns = 50000,
};

/* The program under test and the maps the benchmark fills or reads. */
struct target {
	struct ferry_bpf *skel; /* the built program (default) */
	struct bpf_object *obj; /* skel->obj, or an object file (-o) */
	int prog_fd;
	int vips, rings, backends, config, global_stats;
	__u32 flows_max; /* conntrack entries of one CPU: buckets times ways */
};

static __u16 ip_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

	for (i = 0; i < (int)sizeof(*iph) / 2; i++)
		sum += w[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Ethernet + IPv4 (50 bytes) + TCP or UDP header, zero payload. */
static void build_frame(__u8 *f, __u8 proto, __be32 saddr, __be32 daddr,
			__u16 sport, __u16 dport, __u8 tcp_flags)
{
	struct ethhdr *eth = (struct ethhdr *)f;
	struct iphdr *iph = (struct iphdr *)(f + sizeof(*eth));
	__u8 *l4 = (__u8 *)(iph + 1);

	memset(f, 0, FRAME_LEN);
	memcpy(eth->h_dest, lb_mac, 6);
	memcpy(eth->h_source, peer_mac, 6);
	eth->h_proto = htons(ETH_P_IP);
	iph->version = 4;
	iph->ihl = 5;
	iph->tot_len = htons(FRAME_LEN - sizeof(*eth));
	iph->id = htons(1);
	iph->frag_off = htons(0x4000); /* DF */
	iph->ttl = 64;
	iph->protocol = proto;
	iph->saddr = saddr;
	iph->daddr = daddr;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (struct tcphdr *)l4;

		th->source = htons(sport);
		th->dest = htons(dport);
		th->seq = htonl(1000);
		th->doff = 5;
		l4[13] = tcp_flags;
		th->window = htons(65535);
	} else {
		struct udphdr *uh = (struct udphdr *)l4;

		uh->source = htons(sport);
		uh->dest = htons(dport);
		uh->len = htons(FRAME_LEN - sizeof(*eth) - sizeof(*iph));
	}
	iph->check = 0;
	iph->check = ip_csum(iph);
}

/* SYN number i: a 5-tuple no earlier call used (source 10.200.x.y:port). */
static void syn_vary(__u8 *f, unsigned long long i)
{
	struct iphdr *iph = (struct iphdr *)(f + sizeof(struct ethhdr));
	struct tcphdr *th = (struct tcphdr *)(iph + 1);
	unsigned long long hi = i / 64000;

	th->source = htons((__u16)(1024 + i % 64000));
	iph->saddr = IP4(10, 200, (hi >> 8) & 0xff, hi & 0xff);
	iph->check = 0;
	iph->check = ip_csum(iph);
}

static __be32 backend_addr(__u32 id)
{
	return IP4(10, 1, 0, 10 + id);
}

static int setup_ring(const struct target *t, __u32 ring_idx)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_INNER_MAP);
	__u32 *keys = malloc(sizeof(__u32) * RING_SIZE);
	__u32 *vals = malloc(sizeof(__u32) * RING_SIZE);
	__u32 i, count = RING_SIZE;
	int fd = -1, err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < RING_SIZE; i++) {
		keys[i] = i;
		vals[i] = i % NBACKENDS;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_ring", sizeof(__u32),
			    sizeof(__u32), RING_SIZE, &mopts);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL)) {
		err = -errno;
		goto out;
	}
	if (bpf_map_update_elem(t->rings, &ring_idx, &fd, BPF_ANY))
		err = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(keys);
	free(vals);
	return err;
}

static int setup_vip(const struct target *t, __u32 id, __be32 addr,
		     __u16 port, __u8 proto)
{
	struct lb_vip_key key;
	struct lb_vip vip;
	int err;

	memset(&key, 0, sizeof(key));
	key.addr.v4 = addr;
	key.port = htons(port);
	key.proto = proto;
	key.family = LB_AF_INET;
	memset(&vip, 0, sizeof(vip));
	vip.id = id;
	vip.ring = id * FERRY_RING_SLOTS;
	vip.ring_size = RING_SIZE;
	err = setup_ring(t, vip.ring);
	if (err)
		return err;
	if (bpf_map_update_elem(t->vips, &key, &vip, BPF_ANY))
		return -errno;
	return 0;
}

static int setup_tables(const struct target *t)
{
	struct lb_config cfg;
	struct lb_backend be;
	__u32 zero = 0, id;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.src_mac, lb_mac, 6);
	memcpy(cfg.dst_mac, gw_mac, 6);
	cfg.mtu = FERRY_DEFAULT_MTU;
	cfg.flags = LB_CFG_READY | LB_CFG_NO_PORT0; /* as ferryd sets it: no port-wide VIP */
	cfg.encap_src_v4 = IP4(10, 0, 0, 1);
	cfg.generation = 1;
	if (bpf_map_update_elem(t->config, &zero, &cfg, BPF_ANY))
		return -errno;
	for (id = 0; id < NBACKENDS; id++) {
		memset(&be, 0, sizeof(be));
		be.addr.v4 = backend_addr(id);
		be.cookie = 1 + id;
		be.node = (__u16)id;
		be.family = LB_AF_INET;
		be.state = LB_BE_ACTIVE;
		if (bpf_map_update_elem(t->backends, &id, &be, BPF_ANY))
			return -errno;
	}
	err = setup_vip(t, 0, IP4(192, 0, 2, 1), 80, IPPROTO_TCP);
	if (err)
		return err;
	return setup_vip(t, 1, IP4(192, 0, 2, 2), 53, IPPROTO_UDP);
}

/* One call, one packet. Returns 0 and the kernel's ns, or -errno. */
static int run_once(const struct bcase *c, __u32 *ns, __u32 *retval,
		    void *out, __u32 *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = c->frame,
		    .data_size_in = FRAME_LEN, .repeat = 1);

	if (out) {
		topts.data_out = out;
		topts.data_size_out = *out_len;
	}
	if (bpf_prog_test_run_opts(c->prog_fd, &topts))
		return -errno;
	*ns = topts.duration;
	*retval = topts.retval;
	if (out)
		*out_len = topts.data_size_out;
	return 0;
}

static const char *xdp_name(__u32 v)
{
	switch (v) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	}
	return "?";
}

/* The first call of a case: verdict, and for XDP_TX the outer header. */
static int check_case(const struct bcase *c)
{
	__u8 out[OUT_MAX];
	__u32 ns, rv, len = sizeof(out);
	const struct iphdr *o;
	__u32 id;
	int err = run_once(c, &ns, &rv, out, &len);

	if (err) {
		fprintf(stderr, "xdp_bench: %s: test run: %s\n", c->name,
			strerror(-err));
		return err;
	}
	if (rv != c->expect) {
		fprintf(stderr, "xdp_bench: %s: got %s, want %s\n", c->name,
			xdp_name(rv), xdp_name(c->expect));
		return -EPROTO;
	}
	if (c->expect != XDP_TX) {
		if (len != FRAME_LEN || memcmp(out, c->frame, FRAME_LEN)) {
			fprintf(stderr, "xdp_bench: %s: passed frame changed\n",
				c->name);
			return -EPROTO;
		}
		return 0;
	}
	o = (const struct iphdr *)(out + ETH_HLEN);
	if (len != FRAME_LEN + sizeof(struct iphdr) ||
	    memcmp(out, gw_mac, 6) || memcmp(out + 6, lb_mac, 6) ||
	    ((const struct ethhdr *)out)->h_proto != htons(ETH_P_IP) ||
	    o->protocol != IPPROTO_IPIP || o->saddr != IP4(10, 0, 0, 1) ||
	    memcmp(out + ETH_HLEN + sizeof(*o), c->frame + ETH_HLEN,
		   FRAME_LEN - ETH_HLEN)) {
		fprintf(stderr, "xdp_bench: %s: bad encapsulation\n", c->name);
		return -EPROTO;
	}
	for (id = 0; id < NBACKENDS; id++)
		if (o->daddr == backend_addr(id))
			return 0;
	fprintf(stderr, "xdp_bench: %s: outer destination is no backend\n",
		c->name);
	return -EPROTO;
}

/* Summed per-CPU events of global_stats. */
static int read_events(const struct target *t, __u64 ev[LB_EVENT_MAX])
{
	int ncpus = libbpf_num_possible_cpus();
	struct lb_global_stats *buf;
	__u32 zero = 0;
	int cpu, i;

	if (ncpus <= 0)
		return -EINVAL;
	buf = calloc((size_t)ncpus, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(t->global_stats, &zero, buf)) {
		free(buf);
		return -errno;
	}
	memset(ev, 0, sizeof(__u64) * LB_EVENT_MAX);
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = 0; i < LB_EVENT_MAX; i++)
			ev[i] += buf[cpu].event[i];
	free(buf);
	return 0;
}

/* The load-time knobs of an object opened from a file, as for the skeleton:
 * the seed HASH_SEED, ferry_nr_cpus every possible CPU. */
static void set_rodata_from_btf(struct bpf_object *obj)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	const void *init;
	size_t size = 0;
	__u8 *data;
	int id, i;

	map = bpf_object__find_map_by_name(obj, ".rodata");
	if (!btf || !map)
		return;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	init = bpf_map__initial_value(map, &size);
	if (id < 0 || !init || !size)
		return;
	data = malloc(size);
	if (!data)
		return;
	memcpy(data, init, size);
	sec = btf__type_by_id(btf, (__u32)id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);
		const char *name = btf__name_by_offset(btf, v->name_off);
		__u32 val;

		if (!strcmp(name, "ferry_hash_seed"))
			val = HASH_SEED;
		else if (!strcmp(name, "ferry_nr_cpus"))
			val = (__u32)libbpf_num_possible_cpus();
		else
			continue;
		if (vs->size != sizeof(val) || vs->offset + sizeof(val) > size)
			continue;
		memcpy(data + vs->offset, &val, sizeof(val));
	}
	bpf_map__set_initial_value(map, data, size);
	free(data);
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

/* Load ferry_xdp with every map private (no bpffs pinning). */
static int load_target(struct target *t)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	if (opt.object) {
		t->obj = bpf_object__open_file(opt.object, NULL);
		if (!t->obj)
			return -errno;
	} else {
		t->skel = ferry_bpf__open();
		if (!t->skel)
			return -errno;
		t->obj = t->skel->obj;
	}
	bpf_object__for_each_map(map, t->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
	}
	/* Every possible CPU's conntrack buckets in one array, as ferryd
	 * sizes it (an older build's per-CPU array is left as it is). */
	map = bpf_object__find_map_by_name(t->obj, "flows");
	if (!map)
		return -ENOENT;
	t->flows_max = bpf_map__max_entries(map) * FERRY_FLOW_WAYS;
	if (bpf_map__type(map) == BPF_MAP_TYPE_ARRAY) {
		err = bpf_map__set_max_entries(map, bpf_map__max_entries(map) *
						     libbpf_num_possible_cpus());
		if (err)
			return err;
	}
	if (t->skel) {
		t->skel->rodata->ferry_hash_seed = HASH_SEED;
		/* As ferryd loads it: misses search every CPU's cache. */
		t->skel->rodata->ferry_nr_cpus =
			(__u32)libbpf_num_possible_cpus();
	} else
		set_rodata_from_btf(t->obj);
	err = t->skel ? ferry_bpf__load(t->skel) : bpf_object__load(t->obj);
	if (err)
		return err;
	prog = bpf_object__find_program_by_name(t->obj, "ferry_xdp");
	if (!prog)
		return -ENOENT;
	t->prog_fd = bpf_program__fd(prog);
	t->vips = map_fd(t->obj, "vips");
	t->rings = map_fd(t->obj, "rings");
	t->backends = map_fd(t->obj, "backends");
	t->config = map_fd(t->obj, "config");
	t->global_stats = map_fd(t->obj, "global_stats");
	if (t->vips < 0 || t->rings < 0 || t->backends < 0 || t->config < 0 ||
	    t->global_stats < 0)
		return -ENOENT;
	return 0;
}

static void unload_target(struct target *t)
{
	if (t->skel)
		ferry_bpf__destroy(t->skel);
	else
		bpf_object__close(t->obj);
}

static void prog_sizes(int fd, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		snprintf(buf, len, "prog_id=?");
		return;
	}
	snprintf(buf, len, "prog_id=%u xlated_insns=%u jited_bytes=%u verified_insns=%u",
		 info.id, info.xlated_prog_len / 8, info.jited_prog_len,
		 info.verified_insns);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned int n)
{
	double *t = malloc(n * sizeof(*t));
	double m;

	if (!t)
		return v[0];
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_double);
	m = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	free(t);
	return m;
}

static unsigned long long syn_seq; /* next new 5-tuple */

static void syn_next(__u8 *f)
{
	unsigned long long i = syn_seq++;

	syn_vary(f, opt.syn_keys ? i % opt.syn_keys : i);
}

/* One measurement: opt.calls per case, in blocks of opt.block. */
static int measure(struct bcase *cs, unsigned int run)
{
	unsigned long long done = 0, n, k;
	__u32 ns, rv;
	int i, err;

	for (i = 0; i < C_COUNT; i++)
		cs[i].sum_ns = cs[i].calls = cs[i].dropped = 0;
	while (done < opt.calls) {
		n = opt.calls - done < opt.block ? opt.calls - done : opt.block;
		for (i = 0; i < C_COUNT; i++) {
			struct bcase *c = &cs[i];

			for (k = 0; k < n; k++) {
				if (i == C_SYN)
					syn_next(c->frame);
				err = run_once(c, &ns, &rv, NULL, NULL);
				if (err) {
					fprintf(stderr,
						"xdp_bench: %s: test run: %s\n",
						c->name, strerror(-err));
					return err;
				}
				if (rv != c->expect) {
					fprintf(stderr,
						"xdp_bench: %s: got %s, want %s\n",
						c->name, xdp_name(rv),
						xdp_name(c->expect));
					return -EPROTO;
				}
				if (ns > opt.outlier_ns) {
					c->dropped++;
					continue;
				}
				c->sum_ns += ns;
				c->calls++;
			}
		}
		done += n;
	}
	for (i = 0; i < C_COUNT; i++) {
		struct bcase *c = &cs[i];

		if (!c->calls)
			return -EIO;
		c->ns[run] = (double)c->sum_ns / (double)c->calls;
	}
	for (i = 0; i < C_COUNT; i++)
		cs[i].ratio[run] = cs[i].ns[run] / cs[C_FLOOR].ns[run];
	printf("xdp raw run=%u", run + 1);
	for (i = 0; i < C_COUNT; i++)
		printf(" %s=%.2f", cs[i].name, cs[i].ns[run]);
	printf(" outliers=");
	for (i = 0; i < C_COUNT; i++)
		printf("%s%llu", i ? "," : "", cs[i].dropped);
	printf("\n");
	fflush(stdout);
	return 0;
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "model name", 10))
			continue;
		p = strchr(line, ':');
		if (!p)
			break;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\n")] = 0;
		snprintf(buf, len, "%s", p);
		break;
	}
	fclose(f);
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* One CPU for the whole run: the per-CPU LRU lists and counters stay put. */
static int pin_cpu(void)
{
	cpu_set_t set;
	int c;

	if (opt.cpu < 0) {
		if (sched_getaffinity(0, sizeof(set), &set))
			return -errno;
		for (c = CPU_SETSIZE - 1; c > 0 && !CPU_ISSET(c, &set); c--)
			;
		opt.cpu = c;
	}
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n calls] [-r runs] [-b block] [-c cpu] [-x outlier_ns] [-k keys] [-F] [-o obj] [-v]\n"
		"  -n calls per case per run (default 1000000)\n"
		"  -r runs, the median is reported (default 5)\n"
		"  -b calls of one case before the next takes its turn (default 10000)\n"
		"  -c CPU to run on (default: the last one allowed)\n"
		"  -x a call the kernel timed above this many ns was interrupted;\n"
		"     it is left out and counted (default 50000, 0: keep all)\n"
		"  -k cycle the SYN case over this many 5-tuples (default 0: every\n"
		"     SYN is a 5-tuple never seen before)\n"
		"  -F do not fill conntrack before measuring (default: fill it to its\n"
		"     size, so that every SYN insert also evicts, as in steady state)\n"
		"  -o measure this build of bpf/ferry.bpf.c instead of the built one\n"
		"     (same map names; for trying changes out of tree)\n"
		"  -v print libbpf messages\n",
		prog);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct target t = { .prog_fd = -1 };
	struct pass_bpf *pass = NULL;
	struct bcase cs[C_COUNT];
	__u64 ev0[LB_EVENT_MAX], ev1[LB_EVENT_MAX];
	unsigned long long k, warm, total;
	struct utsname uts;
	char cpu[256], sizes[160], syn_keys[32];
	unsigned int run, met = 0, checked = 0;
	__u32 ns, rv;
	int i, o, err = 0;

	memset(cs, 0, sizeof(cs));
	while ((o = getopt(argc, argv, "n:r:b:c:x:o:k:Fvh")) != -1) {
		switch (o) {
		case 'n': opt.calls = strtoull(optarg, NULL, 0); break;
		case 'r': opt.runs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'b': opt.block = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'c': opt.cpu = atoi(optarg); break;
		case 'x': opt.outlier_ns = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'o': opt.object = optarg; break;
		case 'k': opt.syn_keys = strtoull(optarg, NULL, 0); break;
		case 'F': opt.no_fill = 1; break;
		case 'v': opt.verbose = 1; break;
		default: usage(argv[0]); return o == 'h' ? 0 : 2;
		}
	}
	if (!opt.calls || !opt.runs || !opt.block) {
		usage(argv[0]);
		return 2;
	}
	if (!opt.outlier_ns)
		opt.outlier_ns = 0xffffffffu;
	if (geteuid() != 0)
		fprintf(stderr, "xdp_bench: not root: loading BPF programs will "
				"likely fail (needs CAP_BPF and CAP_NET_ADMIN)\n");
	if (!opt.verbose)
		libbpf_set_print(libbpf_quiet);
	err = pin_cpu();
	if (err) {
		fprintf(stderr, "xdp_bench: cpu %d: %s\n", opt.cpu, strerror(-err));
		return 1;
	}

	/* The program under test: a private copy, nothing pinned. */
	err = load_target(&t);
	if (err) {
		fprintf(stderr, "xdp_bench: load %s: %s\n",
			opt.object ? opt.object : "ferry", strerror(-err));
		goto out;
	}
	pass = pass_bpf__open_and_load();
	if (!pass) {
		err = -errno;
		fprintf(stderr, "xdp_bench: load pass: %s\n", strerror(errno));
		goto out;
	}
	err = setup_tables(&t);
	if (err)
		goto fail;

	cs[C_FLOOR] = (struct bcase){ .name = "floor", .expect = XDP_PASS };
	cs[C_SYN] = (struct bcase){ .name = "new_tcp_syn", .target = 4.7,
				    .expect = XDP_TX };
	cs[C_EST] = (struct bcase){ .name = "established_tcp", .target = 2.4,
				    .expect = XDP_TX };
	cs[C_UDP] = (struct bcase){ .name = "udp", .target = 2.8,
				    .expect = XDP_TX };
	cs[C_NONVIP] = (struct bcase){ .name = "non_vip_pass", .target = 1.9,
				       .expect = XDP_PASS };
	for (i = 0; i < C_COUNT; i++) {
		cs[i].prog_fd = i == C_FLOOR ?
					bpf_program__fd(pass->progs.ferry_pass) :
					t.prog_fd;
		cs[i].ns = calloc(opt.runs, sizeof(double));
		cs[i].ratio = calloc(opt.runs, sizeof(double));
		if (!cs[i].ns || !cs[i].ratio) {
			err = -ENOMEM;
			goto fail;
		}
	}
	build_frame(cs[C_FLOOR].frame, IPPROTO_TCP, IP4(198, 18, 0, 1),
		    IP4(192, 0, 2, 1), 40000, 80, 0x10);
	build_frame(cs[C_SYN].frame, IPPROTO_TCP, IP4(10, 200, 0, 0),
		    IP4(192, 0, 2, 1), 1024, 80, 0x02);
	build_frame(cs[C_EST].frame, IPPROTO_TCP, IP4(198, 18, 0, 1),
		    IP4(192, 0, 2, 1), 40000, 80, 0x10);
	build_frame(cs[C_UDP].frame, IPPROTO_UDP, IP4(198, 18, 0, 2),
		    IP4(192, 0, 2, 2), 40001, 53, 0);
	build_frame(cs[C_NONVIP].frame, IPPROTO_TCP, IP4(198, 18, 0, 3),
		    IP4(198, 51, 100, 1), 40002, 80, 0x10);

	/* Fill conntrack to its size with new flows, so that the SYN case
	 * measures the steady state of a busy balancer (insert + evict). */
	warm = opt.no_fill ? 0 : (unsigned long long)t.flows_max + 4096;
	for (k = 0; k < warm; k++) {
		syn_vary(cs[C_SYN].frame, syn_seq++);
		err = run_once(&cs[C_SYN], &ns, &rv, NULL, NULL);
		if (err)
			goto fail;
		if (rv != XDP_TX) {
			fprintf(stderr, "xdp_bench: filling conntrack: %s: got "
					"%s, want XDP_TX\n", cs[C_SYN].name,
				xdp_name(rv));
			err = -EPROTO;
			goto out;
		}
	}
	/* First calls: verdict and output; the flows of the established and
	 * UDP cases enter conntrack here. */
	for (i = 0; i < C_COUNT; i++) {
		if (i == C_SYN)
			syn_next(cs[i].frame);
		err = check_case(&cs[i]);
		if (err)
			goto out;
	}
	err = read_events(&t, ev0);
	if (err)
		goto fail;

	uname(&uts);
	cpu_model(cpu, sizeof(cpu));
	if (opt.syn_keys)
		snprintf(syn_keys, sizeof(syn_keys), "%llu", opt.syn_keys);
	else
		snprintf(syn_keys, sizeof(syn_keys), "unique");
	printf("xdp header kernel=%s cpu=\"%s\" online_cpus=%ld pinned_cpu=%d "
	       "calls_per_case=%llu runs=%u block=%u outlier_ns=%u "
	       "flows=%u conntrack_prefilled=%s syn_keys=%s ring_size=%u "
	       "bpf_stats_enabled=%d\n",
	       uts.release, cpu, sysconf(_SC_NPROCESSORS_ONLN), opt.cpu,
	       opt.calls, opt.runs, opt.block, opt.outlier_ns, t.flows_max,
	       opt.no_fill ? "no" : "yes", syn_keys, RING_SIZE,
	       read_int_file("/proc/sys/kernel/bpf_stats_enabled"));
	prog_sizes(t.prog_fd, sizes, sizeof(sizes));
	printf("xdp prog object=%s %s\n",
	       opt.object ? opt.object : "build(ferry.skel.h)", sizes);
	fflush(stdout);

	for (run = 0; run < opt.runs; run++) {
		err = measure(cs, run);
		if (err)
			goto out;
	}

	/* Every measured established / UDP packet must have hit conntrack,
	 * every SYN must have been a new flow. */
	err = read_events(&t, ev1);
	if (err)
		goto fail;
	total = 0;
	for (run = 0; run < opt.runs; run++)
		total += opt.calls;
	printf("xdp events ct_hit=%llu ct_miss_tcp_syn=%llu "
	       "ct_miss_tcp_other=%llu ct_miss_udp=%llu ct_reselect=%llu "
	       "expected_ct_hit=%llu expected_ct_miss_tcp_syn=%llu\n",
	       (unsigned long long)(ev1[LB_EV_CT_HIT] - ev0[LB_EV_CT_HIT]),
	       (unsigned long long)(ev1[LB_EV_CT_MISS_SYN] - ev0[LB_EV_CT_MISS_SYN]),
	       (unsigned long long)(ev1[LB_EV_CT_MISS_TCP] - ev0[LB_EV_CT_MISS_TCP]),
	       (unsigned long long)(ev1[LB_EV_CT_MISS_UDP] - ev0[LB_EV_CT_MISS_UDP]),
	       (unsigned long long)(ev1[LB_EV_CT_RESELECT] - ev0[LB_EV_CT_RESELECT]),
	       2 * total, total);
	if (ev1[LB_EV_CT_HIT] - ev0[LB_EV_CT_HIT] != 2 * total ||
	    ev1[LB_EV_CT_MISS_SYN] - ev0[LB_EV_CT_MISS_SYN] != total) {
		fprintf(stderr, "xdp_bench: conntrack events differ from the "
				"plan: the cases did not measure what they say\n");
		err = -EPROTO;
		goto out;
	}

	for (i = 0; i < C_COUNT; i++) {
		const struct bcase *c = &cs[i];
		double ns_med = median(c->ns, opt.runs);
		double r_med = median(c->ratio, opt.runs);

		if (!c->target) {
			printf("xdp case=%s ns_per_pkt=%.2f ratio_to_floor=%.2f "
			       "target=- ok=-\n", c->name, ns_med, r_med);
			continue;
		}
		checked++;
		met += r_med <= c->target;
		printf("xdp case=%s ns_per_pkt=%.2f ratio_to_floor=%.2f "
		       "target=%.1f ok=%s\n", c->name, ns_med, r_med, c->target,
		       r_med <= c->target ? "yes" : "MISSED");
	}
	printf("xdp summary targets_met=%u/%u%s\n", met, checked,
	       met == checked ? "" : " MISSED");
	err = 0;
	goto out;
fail:
	fprintf(stderr, "xdp_bench: setup: %s\n", strerror(err < 0 ? -err : EINVAL));
out:
	for (i = 0; i < C_COUNT; i++) {
		free(cs[i].ns);
		free(cs[i].ratio);
	}
	pass_bpf__destroy(pass);
	if (t.obj)
		unload_target(&t);
	return err ? 1 : 0;
}
