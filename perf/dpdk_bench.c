// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* perf/dpdk_bench.c: packets per second per forwarding lcore of the DPDK engine (dp_process_burst) for established TCP flows, on net_ring vdevs in a loop that mirrors dpdk-testpmd's io forwarding; one measurement per process (perf/dpdk_bench.sh runs the series with testpmd beside it).
 *
 *   dpdk_bench [EAL args] -- --mode io|rewrite|ferry --size 64|512
 *              [--seconds S] [--warmup S] [--flows K] [--burst B]
 *              [--inflight N] [--align slide|trust] [--ports ring|pcap]
 *   dpdk_bench --write-pcap FILE --size 64|512 [--flows K]
 *
 * --ports ring (default): net_ring pairs, as below. --ports pcap: lcore i
 * receives on port 2i, a net_pcap vdev replaying a pcap of the K flows'
 * frames for ever (rx_pcap=FILE,infinite_rx=1: the PMD copies each frame
 * into a fresh mbuf, as a NIC writes each frame), and sends on port 2i+1,
 * a net_null vdev (no-rx=1; it frees what it is sent). Modes io and ferry
 * only: the PMD writes the frames, so there is nothing to rewrite.
 * --write-pcap writes that pcap (the same frames as the rewrite) and exits.
 *
 * Every lcore of the EAL forwards, the main lcore too. Lcore i owns two
 * net_ring ports, 2i and 2i+1 (give 2 x lcores --vdev net_ringN), as
 * testpmd's io mode pairs them with one stream per direction on one
 * lcore: a net_ring port's TX ring is its own RX ring, so what lcore i
 * sends on port 2i+1 it receives there next. Each port is primed with
 * --inflight frames (default 32, testpmd's --tx-first burst); from then on
 * the same mbufs go round. Per burst received on one port:
 *
 *   io       sent on the other port as they are (testpmd --forward-mode=io)
 *   rewrite  each frame written afresh at RTE_PKTMBUF_HEADROOM, as a PMD
 *            places a received frame: the template (an established TCP
 *            flow to the VIP: ACK, 64 or 512 bytes) with the source port
 *            of the next of K flows; then sent: the harness's own cost
 *   ferry    rewrite, then dp_process_burst(), then the encapsulated
 *            frames sent (the frames come back as IPIP; the rewrite turns
 *            them into client frames again)
 *
 * The K flows (default 1024 per lcore) are put in conntrack by one pass
 * before timing, so every timed frame is a conntrack hit, as in steady
 * state; afterwards the counters must show it (ct_hit for every timed
 * frame, no pass, no drop), or the run fails. Each lcore times itself by
 * TSC: --warmup seconds, then --seconds measured.
 *
 * Output (one line each, key=value):
 *   dpdk_bench header mode= size= lcores= ...
 *   dpdk_bench lcore=N cpu=C packets= seconds= mpps=
 *   dpdk_bench result mode= size= lcores= mpps_per_lcore= mpps_total=
 *   dpdk_bench check ... ok=yes|no            (ferry mode)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dataplane/dp_eal.h"
#include "dataplane/dp_engine.h"

#define BURST_MAX 64
#define NBACKENDS 3
#define RING_SIZE FERRY_RING_SIZE_DEFAULT
#define HASH_SEED 0x5eed1234u
#define SPORT_BASE 1024
#define TCP_SPORT_OFF (14 + 20)

enum mode { M_IO, M_REWRITE, M_FERRY };
static const char *const mode_name[] = { "io", "rewrite", "ferry" };
enum ports { P_RING, P_PCAP };
static const char *const ports_name[] = { "ring", "pcap" };

static struct {
	enum mode mode;
	unsigned int size;
	double seconds, warmup;
	unsigned int flows;
	unsigned int burst;
	unsigned int inflight;
	enum dp_align align;
	enum ports ports;
	const char *write_pcap;
} opt = { M_FERRY, 64, 3, 1, 1024, 32, 32, DP_ALIGN_SLIDE, P_RING, NULL };

struct blcore {
	unsigned int lcore;
	uint16_t pa, pb;
	__u64 packets;
	__u64 p0, p1, t0, t1;
	__u64 not_tx; /* ferry: frames that were not sent (must stay 0) */
	__u64 tx_short; /* a TX ring was full (must stay 0) */
	__u32 next_flow;
	int err;
} __rte_cache_aligned;

static struct blcore bl[RTE_MAX_LCORE];
static unsigned int nbl;
static struct rte_mempool *pool;
static struct dp_engine *eng;
static __u8 tmpl[2048];

static const __u8 lb_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const __u8 gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };
static const __u8 peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x10 };
static const __u8 vip[4] = { 192, 0, 2, 1 };
static const __u8 client[4] = { 198, 18, 0, 1 };

/* ---- the template: an established TCP flow's ACK to the VIP ------------ */
static void put16(__u8 *p, unsigned int v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static void build_template(unsigned int size)
{
	__u8 *ip = tmpl + 14, *tcp = ip + 20;
	__u32 sum = 0;
	int i;

	memset(tmpl, 0, sizeof(tmpl));
	memcpy(tmpl, lb_mac, 6);
	memcpy(tmpl + 6, peer_mac, 6);
	put16(tmpl + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, size - 14);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, client, 4);
	memcpy(ip + 16, vip, 4);
	for (i = 0; i < 20; i += 2)
		sum += (__u32)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, ~sum & 0xffff);
	put16(tcp, SPORT_BASE);
	put16(tcp + 2, 80);
	tcp[12] = 0x50; /* data offset 5 */
	tcp[13] = 0x10; /* ACK */
	put16(tcp + 14, 65535);
	for (i = 14 + 40; i < (int)size; i++)
		tmpl[i] = (__u8)i;
}

/* The frame a PMD would hand over: written at the default headroom. */
static inline void rewrite(struct blcore *b, struct rte_mbuf *m)
{
	__u8 *p;

	m->data_off = RTE_PKTMBUF_HEADROOM;
	p = rte_pktmbuf_mtod(m, __u8 *);
	memcpy(p, tmpl, opt.size);
	put16(p + TCP_SPORT_OFF, SPORT_BASE + b->next_flow);
	if (++b->next_flow == opt.flows)
		b->next_flow = 0;
	m->data_len = (uint16_t)opt.size;
	m->pkt_len = opt.size;
	m->nb_segs = 1;
	m->next = NULL;
}

/* The pcap a net_pcap port replays: the K flows' frames, as rewrite()
 * writes them. Host-order classic pcap, Ethernet. */
static int write_pcap(const char *path)
{
	const __u32 hdr[6] = { 0xa1b2c3d4, 2 | 4 << 16, 0, 0, 65535, 1 };
	__u8 frame[2048];
	FILE *f = fopen(path, "wb");
	unsigned int i;
	int ok;

	if (!f)
		return -errno;
	ok = fwrite(hdr, sizeof(hdr), 1, f) == 1;
	memcpy(frame, tmpl, opt.size);
	for (i = 0; i < opt.flows && ok; i++) {
		const __u32 rec[4] = { 0, 0, opt.size, opt.size };

		put16(frame + TCP_SPORT_OFF, SPORT_BASE + i);
		ok = fwrite(rec, sizeof(rec), 1, f) == 1 &&
		     fwrite(frame, opt.size, 1, f) == 1;
	}
	if (fclose(f))
		ok = 0;
	return ok ? 0 : -EIO;
}

/* ---- the tables: one TCP VIP, a 65537-slot ring over 3 backends -------- */
static int load_tables(void)
{
	static __u32 slots[RING_SIZE];
	struct lb_config cfg = { .mtu = 1500,
				 .flags = LB_CFG_READY | LB_CFG_NO_PORT0,
				 .generation = 1,
				 .hash_seed = HASH_SEED };
	struct ferry_snap_vip v = { 0 };
	struct ferry_snap_backend be[NBACKENDS];
	struct ferry_snap_ring_in ring = { 0, RING_SIZE, slots };
	struct ferry_snap_input in = { .cfg = &cfg,
				       .vips = &v,
				       .nvips = 1,
				       .rings = &ring,
				       .nrings = 1,
				       .backends = be,
				       .nbackends = NBACKENDS };
	char err[256];
	size_t len;
	void *buf;
	unsigned int i;
	int r;

	memcpy(cfg.src_mac, lb_mac, 6);
	memcpy(cfg.dst_mac, gw_mac, 6);
	memcpy(&cfg.encap_src_v4, (const __u8[]){ 10, 255, 0, 1 }, 4);
	memcpy(&v.key.addr, vip, 4);
	v.key.port = htons(80);
	v.key.proto = IPPROTO_TCP;
	v.key.family = LB_AF_INET;
	v.vip = (struct lb_vip){ .id = 0, .ring = 0, .ring_size = RING_SIZE };
	memset(be, 0, sizeof(be));
	for (i = 0; i < NBACKENDS; i++) {
		be[i].id = i;
		memcpy(&be[i].be.addr,
		       (const __u8[]){ 10, 0, 0, (__u8)(i + 1) }, 4);
		be[i].be.cookie = 0x100 + i;
		be[i].be.node = (__u16)i;
		be[i].be.family = LB_AF_INET;
		be[i].be.state = LB_BE_ACTIVE;
	}
	for (i = 0; i < RING_SIZE; i++)
		slots[i] = i % NBACKENDS;
	r = ferry_snap_write(&in, &buf, &len);
	if (r)
		return r;
	r = dp_engine_load(eng, buf, len, DP_NO_READER, err, sizeof(err));
	free(buf);
	if (r)
		fprintf(stderr, "dpdk_bench: tables: %s\n", err);
	return r;
}

/* ---- ports --------------------------------------------------------------- */
static int port_start(uint16_t port)
{
	struct rte_eth_conf conf = { 0 };
	int sock = rte_eth_dev_socket_id(port), r;

	if (sock < 0)
		sock = 0;
	r = rte_eth_dev_configure(port, 1, 1, &conf);
	if (!r)
		r = rte_eth_rx_queue_setup(port, 0, 1024, (unsigned int)sock,
					   NULL, pool);
	if (!r)
		r = rte_eth_tx_queue_setup(port, 0, 1024, (unsigned int)sock,
					   NULL);
	if (!r)
		r = rte_eth_dev_start(port);
	return r;
}

/* ---- the loop --------------------------------------------------------------- */
static int prime(struct blcore *b, uint16_t port)
{
	struct rte_mbuf *m[BURST_MAX * 4];
	unsigned int i;

	if (opt.inflight > RTE_DIM(m) ||
	    rte_pktmbuf_alloc_bulk(pool, m, opt.inflight))
		return -ENOMEM;
	for (i = 0; i < opt.inflight; i++)
		rewrite(b, m[i]);
	if (rte_eth_tx_burst(port, 0, m, (uint16_t)opt.inflight) !=
	    opt.inflight)
		return -ENOSPC;
	return 0;
}

/* One pass over the flows, so that every timed frame is a conntrack hit. */
static int warm_conntrack(struct blcore *b, struct dp_lcore *lc)
{
	struct rte_mbuf *m[BURST_MAX], *txv[BURST_MAX], *pv[BURST_MAX],
		*dv[BURST_MAX];
	unsigned int done = 0, n, i;

	while (done < opt.flows) {
		struct dp_out tx = { txv, 0 }, pass = { pv, 0 },
			      drop = { dv, 0 };

		n = RTE_MIN(opt.burst, opt.flows - done);
		if (rte_pktmbuf_alloc_bulk(pool, m, n))
			return -ENOMEM;
		for (i = 0; i < n; i++)
			rewrite(b, m[i]);
		dp_process_burst(lc, dp_tables_get(eng), m, (uint16_t)n, &tx,
				 &pass, &drop);
		if (tx.n != n)
			return -EPROTO;
		rte_pktmbuf_free_bulk(tx.m, tx.n);
		done += n;
	}
	return 0;
}

static int lcore_main(void *arg)
{
	struct blcore *b = &bl[rte_lcore_index((int)rte_lcore_id())];
	struct rte_mbuf *pkts[BURST_MAX], *txv[BURST_MAX], *pv[BURST_MAX],
		*dv[BURST_MAX];
	struct dp_lcore *lc = NULL;
	__u64 hz = rte_get_tsc_hz(), start, warm_end, end, now, iter = 0;
	uint16_t burst = (uint16_t)opt.burst, n, i, sent;
	bool measuring = false;
	int side;

	(void)arg;
	if (opt.mode == M_FERRY) {
		lc = dp_engine_lcore(eng, (unsigned int)(b - bl));
		dp_lcore_online(lc);
		b->err = warm_conntrack(b, lc);
		if (b->err)
			goto out;
	}
	if (opt.ports == P_RING) {
		b->err = prime(b, b->pa);
		if (!b->err)
			b->err = prime(b, b->pb);
	}
	if (b->err)
		goto out;
	start = rte_rdtsc();
	warm_end = start + (__u64)(opt.warmup * (double)hz);
	end = warm_end + (__u64)(opt.seconds * (double)hz);
	for (;; iter++) {
		/* pcap: one direction, pcap port to null port. */
		for (side = 0; side < (opt.ports == P_RING ? 2 : 1); side++) {
			uint16_t in = side ? b->pb : b->pa,
				 out = side ? b->pa : b->pb;
			struct rte_mbuf **o = pkts;
			uint16_t no;

			n = rte_eth_rx_burst(in, 0, pkts, burst);
			if (!n)
				continue;
			no = n;
			if (opt.mode == M_REWRITE ||
			    (opt.mode == M_FERRY && opt.ports == P_RING))
				for (i = 0; i < n; i++)
					rewrite(b, pkts[i]);
			if (opt.mode == M_FERRY) {
				struct dp_out tx = { txv, 0 }, pass = { pv, 0 },
					      drop = { dv, 0 };

				dp_process_burst(lc, dp_tables_get(eng), pkts,
						 n, &tx, &pass, &drop);
				if (pass.n + drop.n) {
					b->not_tx += pass.n + drop.n;
					rte_pktmbuf_free_bulk(pass.m, pass.n);
					rte_pktmbuf_free_bulk(drop.m, drop.n);
				}
				o = tx.m;
				no = tx.n;
			}
			sent = rte_eth_tx_burst(out, 0, o, no);
			if (sent < no) {
				b->tx_short += no - sent;
				rte_pktmbuf_free_bulk(o + sent, no - sent);
			}
			b->packets += n;
		}
		if (lc)
			dp_lcore_quiescent(lc);
		if ((iter & 63) == 0) {
			now = rte_rdtsc();
			if (!measuring && now >= warm_end) {
				b->p0 = b->packets;
				b->t0 = now;
				measuring = true;
			}
			if (now >= end) {
				b->p1 = b->packets;
				b->t1 = now;
				break;
			}
		}
	}
out:
	if (lc)
		dp_lcore_offline(lc);
	return b->err;
}

/* ---- setup and report ------------------------------------------------------ */
static int parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "flows", required_argument, NULL, 'k' },
		{ "burst", required_argument, NULL, 'b' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "align", required_argument, NULL, 'a' },
		{ "ports", required_argument, NULL, 'p' },
		{ "write-pcap", required_argument, NULL, 'W' },
		{ 0 }
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "io"))
				opt.mode = M_IO;
			else if (!strcmp(optarg, "rewrite"))
				opt.mode = M_REWRITE;
			else if (!strcmp(optarg, "ferry"))
				opt.mode = M_FERRY;
			else
				return -1;
			break;
		case 's':
			opt.size = (unsigned int)atoi(optarg);
			break;
		case 't':
			opt.seconds = atof(optarg);
			break;
		case 'w':
			opt.warmup = atof(optarg);
			break;
		case 'k':
			opt.flows = (unsigned int)atoi(optarg);
			break;
		case 'b':
			opt.burst = (unsigned int)atoi(optarg);
			break;
		case 'i':
			opt.inflight = (unsigned int)atoi(optarg);
			break;
		case 'a':
			if (!strcmp(optarg, "slide"))
				opt.align = DP_ALIGN_SLIDE;
			else if (!strcmp(optarg, "trust"))
				opt.align = DP_ALIGN_TRUST;
			else
				return -1;
			break;
		case 'p':
			if (!strcmp(optarg, "ring"))
				opt.ports = P_RING;
			else if (!strcmp(optarg, "pcap"))
				opt.ports = P_PCAP;
			else
				return -1;
			break;
		case 'W':
			opt.write_pcap = optarg;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || opt.size < 64 || opt.size > 1500 || !opt.flows ||
	    opt.flows > 60000 || !opt.burst || opt.burst > BURST_MAX ||
	    !opt.inflight || opt.seconds <= 0 || opt.warmup < 0 ||
	    (opt.ports == P_PCAP && opt.mode == M_REWRITE))
		return -1;
	return 0;
}

/* ferry mode: what the counters must say, and one output frame's shape. */
static int check_ferry(__u64 timed_total)
{
	struct dp_stats *s = calloc(1, sizeof(*s));
	__u64 fwd, hit, miss, other = 0;
	unsigned int i;
	int ok;

	if (!s)
		return -ENOMEM;
	dp_engine_stats(eng, s);
	fwd = s->global.reason[LB_R_FORWARD].packets;
	for (i = 0; i < LB_REASON_MAX; i++)
		if (i != LB_R_FORWARD)
			other += s->global.reason[i].packets;
	hit = s->global.event[LB_EV_CT_HIT];
	miss = s->global.event[LB_EV_CT_MISS_TCP] +
	       s->global.event[LB_EV_CT_MISS_SYN] +
	       s->global.event[LB_EV_CT_MISS_UDP] +
	       s->global.event[LB_EV_CT_RESELECT];
	/* Only the warm-up pass misses: one per flow per lcore, plus the one
	 * frame of check_output(). */
	ok = other == 0 && miss == (__u64)opt.flows * nbl + 1 &&
	     hit + miss == fwd && hit >= timed_total;
	printf("dpdk_bench check forwarded=%llu ct_hit=%llu ct_miss=%llu other_reasons=%llu realigned=%llu timed=%llu ok=%s\n",
	       (unsigned long long)fwd, (unsigned long long)hit,
	       (unsigned long long)miss, (unsigned long long)other,
	       (unsigned long long)s->dp.realigned,
	       (unsigned long long)timed_total, ok ? "yes" : "no");
	free(s);
	return ok ? 0 : -EPROTO;
}

/* One frame through the engine, its output checked: IPIP to a backend,
 * the client's frame inside unchanged. */
static int check_output(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *txv[1], *pv[1], *dv[1];
	struct dp_out tx = { txv, 0 }, pass = { pv, 0 }, drop = { dv, 0 };
	struct blcore b = { 0 };
	const __u8 *p;
	int ok;

	if (!m)
		return -ENOMEM;
	rewrite(&b, m);
	dp_lcore_online(dp_engine_lcore(eng, 0));
	dp_process_burst(dp_engine_lcore(eng, 0), dp_tables_get(eng), &m, 1,
			 &tx, &pass, &drop);
	dp_lcore_offline(dp_engine_lcore(eng, 0));
	p = rte_pktmbuf_mtod(m, const __u8 *);
	ok = tx.n == 1 && m->data_len == opt.size + 20 &&
	     !memcmp(p, gw_mac, 6) && !memcmp(p + 6, lb_mac, 6) &&
	     p[14] == 0x45 && p[14 + 9] == 4 /* IPIP */ && p[14 + 16] == 10 &&
	     p[14 + 19] >= 1 && p[14 + 19] <= NBACKENDS &&
	     !memcmp(p + 34, tmpl + 14, opt.size - 14);
	rte_pktmbuf_free(m);
	if (!ok)
		fprintf(stderr,
			"dpdk_bench: the engine's output is not the expected IPIP frame\n");
	return ok ? 0 : -EPROTO;
}

int main(int argc, char **argv)
{
	struct dp_eal_opts eo = { .name = "ferry-dpdk-bench",
				  .no_huge_mb = 512,
				  .quiet = true };
	struct dp_engine_conf ec = { .socket = SOCKET_ID_ANY };
	double total = 0, secs;
	__u64 timed = 0;
	unsigned int lcore, i;
	uint16_t port;
	int eal_argc = argc, r = 0;
	char why[256];
	bool no_huge;

	if (argc > 1 && !strcmp(argv[1], "--write-pcap")) {
		if (parse_opts(argc, argv) || opt.size > sizeof(tmpl)) {
			fprintf(stderr,
				"usage: dpdk_bench --write-pcap FILE --size BYTES [--flows K]\n");
			return 2;
		}
		build_template(opt.size);
		r = write_pcap(opt.write_pcap);
		if (r)
			fprintf(stderr, "dpdk_bench: %s: %s\n", opt.write_pcap,
				strerror(-r));
		return r ? 1 : 0;
	}
	for (i = 1; i < (unsigned int)argc; i++)
		if (!strcmp(argv[i], "--")) {
			eal_argc = (int)i;
			break;
		}
	if (eal_argc < argc)
		argv[eal_argc] = argv[0];
	if (parse_opts(argc - eal_argc, argv + eal_argc)) {
		fprintf(stderr,
			"usage: dpdk_bench [EAL args] -- --mode io|rewrite|ferry --size BYTES [--seconds S] [--warmup S] [--flows K] [--burst B] [--inflight N] [--align slide|trust] [--ports ring|pcap]\n");
		return 2;
	}
	if (dp_eal_init(eal_argc, argv, &eo, &no_huge, why, sizeof(why))) {
		fprintf(stderr, "dpdk_bench: %s\n", why);
		return 1;
	}
	build_template(opt.size);
	RTE_LCORE_FOREACH(lcore)
	{
		bl[nbl].lcore = lcore;
		bl[nbl].pa = (uint16_t)(2 * nbl);
		bl[nbl].pb = (uint16_t)(2 * nbl + 1);
		nbl++;
	}
	if (rte_eth_dev_count_avail() < 2 * nbl) {
		fprintf(stderr,
			"dpdk_bench: %u lcores need %u ports (--vdev net_ring0 ..., or net_pcap0 net_null0 ...), have %u\n",
			nbl, 2 * nbl, rte_eth_dev_count_avail());
		r = 1;
		goto done;
	}
	/* pcap: each pcap port keeps its K frames in mbufs of this pool. */
	pool = rte_pktmbuf_pool_create(
		"bench_pool",
		8191 + (opt.ports == P_PCAP ? nbl * (opt.flows + 64) : 0), 256,
		0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!pool) {
		fprintf(stderr, "dpdk_bench: mbuf pool: %s\n",
			rte_strerror(rte_errno));
		r = 1;
		goto done;
	}
	for (i = 0; i < 2 * nbl && !r; i++)
		r = port_start((uint16_t)i);
	if (!r && opt.mode == M_FERRY) {
		ec.nlcores = nbl;
		ec.align = opt.align;
		r = dp_engine_create(&ec, &eng);
		if (!r)
			r = load_tables();
		if (!r)
			r = check_output();
		if (!r)
			dp_lcore_flows_clear(dp_engine_lcore(eng, 0));
	}
	if (r) {
		fprintf(stderr, "dpdk_bench: setup: %s\n",
			strerror(r < 0 ? -r : r));
		r = 1;
		goto done;
	}
	printf("dpdk_bench header mode=%s ports=%s size=%u lcores=%u burst=%u inflight=%u flows=%u align=%s hugepages=%s seconds=%g warmup=%g\n",
	       mode_name[opt.mode], ports_name[opt.ports], opt.size, nbl,
	       opt.burst, opt.inflight, opt.flows,
	       opt.align == DP_ALIGN_SLIDE ? "slide" : "trust",
	       no_huge ? "no" : "yes", opt.seconds, opt.warmup);
	rte_eal_mp_remote_launch(lcore_main, NULL, CALL_MAIN);
	rte_eal_mp_wait_lcore();
	for (i = 0; i < nbl; i++) {
		struct blcore *b = &bl[i];

		if (b->err || b->not_tx || b->tx_short) {
			fprintf(stderr,
				"dpdk_bench: lcore %u: err %d, %llu not sent by ferry, %llu TX short\n",
				b->lcore, b->err, (unsigned long long)b->not_tx,
				(unsigned long long)b->tx_short);
			r = 1;
			continue;
		}
		secs = (double)(b->t1 - b->t0) / (double)rte_get_tsc_hz();
		printf("dpdk_bench lcore=%u cpu=%d packets=%llu seconds=%.3f mpps=%.3f\n",
		       b->lcore, rte_lcore_to_cpu_id((int)b->lcore),
		       (unsigned long long)(b->p1 - b->p0), secs,
		       (double)(b->p1 - b->p0) / secs / 1e6);
		total += (double)(b->p1 - b->p0) / secs / 1e6;
		timed += b->p1 - b->p0;
	}
	if (!r && opt.mode == M_FERRY && check_ferry(timed))
		r = 1;
	if (!r)
		printf("dpdk_bench result mode=%s ports=%s size=%u lcores=%u align=%s mpps_per_lcore=%.3f mpps_total=%.3f\n",
		       mode_name[opt.mode], ports_name[opt.ports], opt.size,
		       nbl, opt.align == DP_ALIGN_SLIDE ? "slide" : "trust",
		       total / nbl, total);
done:
	fflush(stdout);
	/* Every port closed (a closed port leaves the count: walk the ids)
	 * before the pool goes: a net_pcap port frees its replay mbufs. */
	RTE_ETH_FOREACH_DEV(port)
	{
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	dp_engine_free(eng);
	rte_mempool_free(pool);
	dp_eal_cleanup();
	return r;
}
