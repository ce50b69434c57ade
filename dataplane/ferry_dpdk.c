/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/ferry_dpdk.c: the ferry-dpdk process: options and config, EAL and ports (RSS, a queue pair per forwarding lcore), the run-to-completion loop, the exception port, counters, the main lcore's control loop. DPDK userspace only.
 *
 *   ferry-dpdk [EAL args] -- --tables FILE [options]
 *   ferry-dpdk [EAL args --] --control SOCK [--tables FILE] [options]
 *   ferry-dpdk [EAL args --] --config FILE [options]
 *
 * Every ethdev port is a data port (or those given with --port), except
 * the exception port (--exception-port). Each worker lcore forwards: it
 * owns RX and TX queue i of every data port (RSS spreads flows over the
 * queues) and TX queue i of the exception port. Frames the core
 * encapsulates leave through the port they came in on (as XDP_TX); frames
 * that are not ours (ARP, non-VIP IP) go to the exception port, or are
 * freed and counted without one; drops are freed. The exception port's RX
 * (what the kernel sends, e.g. through a tap) is sent out of the first data
 * port: worker i reads the exception port's RX queue i. The main lcore does not forward: it prints counters
 * every --stats-every seconds, serves ferryd's requests on the --control
 * socket (dp_ctl_server.c: LOAD publishes a snapshot and saves it as the
 * tables file), reloads the tables file on SIGHUP (swap by RCU), and stops
 * everything on SIGINT/SIGTERM. With --control, the tables file need not
 * exist: ferry-dpdk then starts with no tables (generation 0, every frame
 * to the exception path) and waits for ferryd.
 *
 * --config reads ferryd's config (engine = "dpdk", its dpdk group): EAL
 * arguments (after those of the command line), the control socket, the
 * tables file, the exception port, align, idle_sleep_us, burst, and flows
 * (per lcore, rounded up to a power of two). Command-line options win.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "control/conf.h"
#include "dp_ctl_server.h"
#include "dp_eal.h"
#include "dp_engine.h"

#define MAX_PORTS RTE_MAX_ETHPORTS
#define BURST_MAX 256
#define DRAIN_US 100 /* TX buffers flushed at least this often */
#define NO_PORT DP_SERVER_NO_PORT
#define IDLE_SLEEP_MAX_US 100000 /* as the config allows; a swap waits this */

#define REASON_NAME(name, str) str,
static const char *const reason_names[] = { LB_REASONS(REASON_NAME) };
#undef REASON_NAME
#define EVENT_NAME(name, str) str,
static const char *const event_names[] = { LB_EVENTS(EVENT_NAME) };
#undef EVENT_NAME

struct opts {
	const char *tables; /* NULL: none (only with --control) */
	const char *control; /* NULL: no control socket */
	const char *config;
	__u32 idle_sleep_us; /* a poll found nothing: sleep (0: busy poll) */
	bool given[128]; /* options given on the command line, by code */
	unsigned int stats_every; /* seconds, 0: only at exit */
	unsigned int run_for; /* seconds, 0: until a signal */
	uint16_t ports[MAX_PORTS];
	unsigned int nports; /* 0: every port but the exception port */
	uint16_t exc_port; /* NO_PORT: none */
	__u32 flows;
	enum dp_align align;
	unsigned int burst;
	unsigned int rxd, txd;
	unsigned int mbufs; /* 0: sized from ports and queues */
};

/* What the process counts besides the engine: one per worker. */
struct worker_stats {
	__u64 tx_dropped; /* TX queue full: freed */
	__u64 pass_freed; /* not ours and no exception port */
	__u64 exc_tx_dropped; /* exception port TX full */
	__u64 exc_rx; /* from the exception port to the wire */
} __rte_cache_aligned;

struct worker {
	unsigned int lcore;
	unsigned int q; /* queue index on every port */
	struct dp_lcore *lc;
	struct rte_eth_dev_tx_buffer *txb[MAX_PORTS]; /* data ports */
	struct rte_eth_dev_tx_buffer *excb; /* exception port */
	struct rte_eth_dev_tx_buffer *wireb; /* exception RX queue q -> data port 0 */
	struct worker_stats st;
};

static struct opts opt = {
	.stats_every = 0,
	.exc_port = NO_PORT,
	.align = DP_ALIGN_SLIDE,
	.burst = 32,
	.rxd = 1024,
	.txd = 1024,
};
static struct dp_engine *engine;
static struct dp_server srv = { .fd = -1 };
/* Each data port's MAC, and whether it differs from the first port's
 * (whose MAC the tables carry when the config gives none). */
static struct rte_ether_addr port_mac[MAX_PORTS];
static bool port_mac_differs[MAX_PORTS];
static struct ferry_conf *conf; /* --config; its strings are used until exit */
static struct worker workers[RTE_MAX_LCORE];
static unsigned int lcore_ids[RTE_MAX_LCORE]; /* EAL lcore of worker i */
static unsigned int nworkers;
static volatile sig_atomic_t quit, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-dpdk [EAL args --] [--config FILE] [--control SOCK] [--tables FILE]\n"
		"         [--stats-every S] [--run-for S] [--port P]... [--exception-port P]\n"
		"         [--flows N] [--align slide|trust] [--burst N] [--idle-sleep-us N]\n"
		"         [--rxd N] [--txd N] [--mbufs N]\n"
		"  --config FILE        ferryd's config (engine = \"dpdk\"): EAL args (after the command line's),\n"
		"                       control, tables, exception_port, align, idle_sleep_us, burst, flows;\n"
		"                       the command line's options win\n"
		"  --control SOCK       serve ferryd's requests on this unix socket (dataplane/dp_ctl.h)\n"
		"  --tables FILE        table snapshot (ferry_snap_write); re-read on SIGHUP; with --control,\n"
		"                       where LOAD saves the live generation (need not exist at start)\n"
		"  --stats-every S      print counters every S seconds (0: at exit only)\n"
		"  --run-for S          stop after S seconds (tests)\n"
		"  --port P             a data port (repeatable; default: every port but the exception port)\n"
		"  --exception-port P   where frames that are not ours go (e.g. a tap vdev); default: freed, counted\n"
		"  --flows N            conntrack entries per lcore, a power of two (default %u)\n"
		"  --align slide|trust  misaligned IP headers: move the frame (default) or rely on unaligned loads\n"
		"  --idle-sleep-us N    a worker whose poll found nothing sleeps N us, <= 100000 (default 0: busy poll)\n"
		"Without \"--\", every argument is an option of ferry-dpdk (EAL args from --config).\n"
		"EAL defaults (unless given): --file-prefix=ferry-dpdk-<pid>; --huge-unlink, or --no-huge -m 256\n"
		"without free hugepages. The main lcore does not forward: give at least two lcores (-l 0-1).\n",
		FERRY_FLOWS_DEFAULT);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	return errno || !*s || *end || *v > max ? -1 : 0;
}

/* One numeric option. 0 or -1 (out of range). */
static int set_uint_opt(int c, unsigned long v)
{
	switch (c) {
	case 's':
		opt.stats_every = (unsigned int)v;
		return 0;
	case 'r':
		opt.run_for = (unsigned int)v;
		return 0;
	case 'p':
		if (v >= MAX_PORTS || opt.nports == MAX_PORTS)
			return -1;
		opt.ports[opt.nports++] = (uint16_t)v;
		return 0;
	case 'x':
		if (v >= MAX_PORTS)
			return -1;
		opt.exc_port = (uint16_t)v;
		return 0;
	case 'f':
		opt.flows = (__u32)v;
		return 0;
	case 'b':
		if (!v || v > BURST_MAX)
			return -1;
		opt.burst = (unsigned int)v;
		return 0;
	case 'i':
		if (v > IDLE_SLEEP_MAX_US)
			return -1;
		opt.idle_sleep_us = (__u32)v;
		return 0;
	case 'R':
		opt.rxd = (unsigned int)v;
		return 0;
	case 'T':
		opt.txd = (unsigned int)v;
		return 0;
	case 'm':
		opt.mbufs = (unsigned int)v;
		return 0;
	}
	return -1;
}

static int parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "control", required_argument, NULL, 'C' },
		{ "tables", required_argument, NULL, 't' },
		{ "stats-every", required_argument, NULL, 's' },
		{ "run-for", required_argument, NULL, 'r' },
		{ "port", required_argument, NULL, 'p' },
		{ "exception-port", required_argument, NULL, 'x' },
		{ "flows", required_argument, NULL, 'f' },
		{ "align", required_argument, NULL, 'a' },
		{ "burst", required_argument, NULL, 'b' },
		{ "idle-sleep-us", required_argument, NULL, 'i' },
		{ "rxd", required_argument, NULL, 'R' },
		{ "txd", required_argument, NULL, 'T' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c > 0 && c < (int)sizeof(opt.given))
			opt.given[c] = true;
		switch (c) {
		case 'c':
			opt.config = optarg;
			continue;
		case 'C':
			opt.control = optarg;
			continue;
		case 't':
			opt.tables = optarg;
			continue;
		case 'a':
			if (!strcmp(optarg, "slide"))
				opt.align = DP_ALIGN_SLIDE;
			else if (!strcmp(optarg, "trust"))
				opt.align = DP_ALIGN_TRUST;
			else
				goto bad;
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case '?':
			goto bad;
		}
		if (parse_uint(optarg, UINT32_MAX, &v) || set_uint_opt(c, v))
			goto bad;
	}
	if (optind != argc)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

static __u32 pow2_up(__u32 v)
{
	__u32 p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

/* --config: what the command line did not give. 0 or -1. */
static int apply_config(void)
{
	const struct conf_dpdk *d;
	char err[512];

	conf = conf_load(opt.config, err, sizeof(err));
	if (!conf) {
		fprintf(stderr, "ferry-dpdk: %s\n", err);
		return -1;
	}
	if (!conf->dp.dpdk) {
		fprintf(stderr,
			"ferry-dpdk: %s: engine = \"%s\": ferry-dpdk runs with engine = \"dpdk\"\n",
			opt.config, conf->dp.engine);
		return -1;
	}
	d = &conf->dp.dp;
	if (!opt.given['C'])
		opt.control = d->control;
	if (!opt.given['t'])
		opt.tables = d->tables;
	if (!opt.given['x'] && d->exception_port >= 0) {
		if (d->exception_port >= MAX_PORTS) {
			fprintf(stderr,
				"ferry-dpdk: %s: exception_port %d: at most %d ports\n",
				opt.config, d->exception_port, MAX_PORTS - 1);
			return -1;
		}
		opt.exc_port = (uint16_t)d->exception_port;
	}
	if (!opt.given['a'])
		opt.align = d->align_trust ? DP_ALIGN_TRUST : DP_ALIGN_SLIDE;
	if (!opt.given['i'])
		opt.idle_sleep_us = d->idle_sleep_us;
	if (!opt.given['b'] && d->burst && d->burst <= BURST_MAX)
		opt.burst = d->burst;
	if (!opt.given['f'])
		opt.flows = pow2_up(conf->dp.flows);
	return 0;
}

/* ---- ports ---------------------------------------------------------------- */
static int port_setup(uint16_t port, uint16_t nrxq, uint16_t ntxq,
		      struct rte_mempool *pool, bool rss)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	struct rte_eth_txconf txc;
	struct rte_eth_rxconf rxc;
	uint16_t rxd = (uint16_t)opt.rxd, txd = (uint16_t)opt.txd, q;
	int r, sock = rte_eth_dev_socket_id(port);

	r = rte_eth_dev_info_get(port, &info);
	if (r)
		return r;
	if (nrxq > info.max_rx_queues || ntxq > info.max_tx_queues) {
		fprintf(stderr,
			"port %u (%s): needs %u RX / %u TX queues, has %u / %u\n",
			port, info.driver_name, nrxq, ntxq, info.max_rx_queues,
			info.max_tx_queues);
		return -EINVAL;
	}
	if (rss && nrxq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
		if (!conf.rx_adv_conf.rss_conf.rss_hf)
			fprintf(stderr,
				"port %u (%s): no RSS; flows are not spread over queues by the port\n",
				port, info.driver_name);
		if (!conf.rx_adv_conf.rss_conf.rss_hf)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	/* One segment per frame: the core reads frames whole. */
	conf.rxmode.offloads &= ~RTE_ETH_RX_OFFLOAD_SCATTER;
	r = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
	if (r)
		return r;
	r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	if (r)
		return r;
	rxc = info.default_rxconf;
	rxc.offloads = conf.rxmode.offloads;
	for (q = 0; q < nrxq; q++) {
		r = rte_eth_rx_queue_setup(port, q, rxd,
					   sock < 0 ? 0 : (unsigned int)sock,
					   &rxc, pool);
		if (r)
			return r;
	}
	txc = info.default_txconf;
	txc.offloads = conf.txmode.offloads;
	for (q = 0; q < ntxq; q++) {
		r = rte_eth_tx_queue_setup(
			port, q, txd, sock < 0 ? 0 : (unsigned int)sock, &txc);
		if (r)
			return r;
	}
	r = rte_eth_dev_start(port);
	if (r)
		return r;
	rte_eth_promiscuous_enable(port); /* VIP traffic is not for our MAC */
	return 0;
}

static struct rte_eth_dev_tx_buffer *txbuf_new(int socket, __u64 *dropped)
{
	struct rte_eth_dev_tx_buffer *b;

	b = rte_zmalloc_socket("ferry_txbuf", RTE_ETH_TX_BUFFER_SIZE(BURST_MAX),
			       0, socket);
	if (!b)
		return NULL;
	rte_eth_tx_buffer_init(b, BURST_MAX);
	rte_eth_tx_buffer_set_err_callback(b, rte_eth_tx_buffer_count_callback,
					   dropped);
	return b;
}

/* ---- the forwarding loop ------------------------------------------------ */
static void worker_flush(struct worker *w)
{
	unsigned int p;

	for (p = 0; p < opt.nports; p++)
		rte_eth_tx_buffer_flush(opt.ports[p], (uint16_t)w->q,
					w->txb[p]);
	if (w->excb)
		rte_eth_tx_buffer_flush(opt.exc_port, (uint16_t)w->q, w->excb);
	if (w->wireb)
		rte_eth_tx_buffer_flush(opt.ports[0], (uint16_t)w->q, w->wireb);
}

/* One burst from data port p: process, send, pass, free. Frames read. */
static uint16_t worker_port(struct worker *w, unsigned int p,
			    struct rte_mbuf **pkts)
{
	struct rte_mbuf *txv[BURST_MAX], *passv[BURST_MAX], *dropv[BURST_MAX];
	struct dp_out tx = { txv, 0 }, pass = { passv, 0 }, drop = { dropv, 0 };
	uint16_t port = opt.ports[p], n, i;

	n = rte_eth_rx_burst(port, (uint16_t)w->q, pkts, (uint16_t)opt.burst);
	if (!n)
		return 0;
	dp_process_burst(w->lc, dp_tables_get(engine), pkts, n, &tx, &pass,
			 &drop);
	if (port_mac_differs[p] &&
	    __atomic_load_n(&srv.mac_per_port, __ATOMIC_RELAXED))
		for (i = 0; i < tx.n; i++)
			rte_ether_addr_copy(
				&port_mac[p],
				&rte_pktmbuf_mtod(tx.m[i], struct rte_ether_hdr *)
					 ->src_addr);
	for (i = 0; i < tx.n; i++)
		rte_eth_tx_buffer(port, (uint16_t)w->q, w->txb[p], tx.m[i]);
	if (opt.exc_port != NO_PORT) {
		for (i = 0; i < pass.n; i++)
			rte_eth_tx_buffer(opt.exc_port, (uint16_t)w->q, w->excb,
					  pass.m[i]);
	} else if (pass.n) {
		rte_pktmbuf_free_bulk(pass.m, pass.n);
		w->st.pass_freed += pass.n;
	}
	if (drop.n)
		rte_pktmbuf_free_bulk(drop.m, drop.n);
	return n;
}

static int worker_main(void *arg)
{
	struct worker *w = arg;
	struct rte_mbuf *pkts[BURST_MAX];
	const __u64 drain =
		(rte_get_tsc_hz() + 1000000 - 1) / 1000000 * DRAIN_US;
	__u64 prev = rte_rdtsc();
	unsigned int p, got;
	uint16_t n, i;

	dp_lcore_online(w->lc);
	while (!quit) {
		got = 0;
		for (p = 0; p < opt.nports; p++)
			got += worker_port(w, p, pkts);
		if (w->wireb) { /* the kernel's frames go out */
			n = rte_eth_rx_burst(opt.exc_port, (uint16_t)w->q, pkts,
					     (uint16_t)opt.burst);
			for (i = 0; i < n; i++)
				rte_eth_tx_buffer(opt.ports[0], (uint16_t)w->q,
						  w->wireb, pkts[i]);
			w->st.exc_rx += n;
			got += n;
		}
		/* No table pointer is held past this point. */
		dp_lcore_quiescent(w->lc);
		if (!got || rte_rdtsc() - prev > drain) {
			worker_flush(w);
			prev = rte_rdtsc();
		}
		if (!got && opt.idle_sleep_us)
			rte_delay_us_sleep(opt.idle_sleep_us);
	}
	dp_lcore_offline(w->lc);
	return 0;
}

/* ---- control (main lcore) ------------------------------------------------ */
static void sum_workers(struct worker_stats *ws)
{
	unsigned int i;

	memset(ws, 0, sizeof(*ws));
	for (i = 0; i < nworkers; i++) {
		const struct worker_stats *st = &workers[i].st;

		ws->tx_dropped +=
			__atomic_load_n(&st->tx_dropped, __ATOMIC_RELAXED);
		ws->pass_freed +=
			__atomic_load_n(&st->pass_freed, __ATOMIC_RELAXED);
		ws->exc_tx_dropped +=
			__atomic_load_n(&st->exc_tx_dropped, __ATOMIC_RELAXED);
		ws->exc_rx += __atomic_load_n(&st->exc_rx, __ATOMIC_RELAXED);
	}
}

/* The control server's STATS: the process's counters. */
static void proc_stats(struct dp_ctl_stats *st)
{
	struct worker_stats ws;

	sum_workers(&ws);
	st->tx_dropped = ws.tx_dropped;
	st->pass_freed = ws.pass_freed;
	st->exception_tx_dropped = ws.exc_tx_dropped;
	st->exception_rx = ws.exc_rx;
}

static void print_stats(struct dp_stats *s)
{
	struct rte_eth_stats es;
	struct worker_stats ws;
	unsigned int i;
	uint16_t port;

	dp_engine_stats(engine, s);
	sum_workers(&ws);
	printf("stats generation=%u", s->generation);
	for (i = 0; i < LB_REASON_MAX; i++)
		printf(" %s=%llu", reason_names[i],
		       (unsigned long long)s->global.reason[i].packets);
	printf("\nstats events");
	for (i = 0; i < LB_EVENT_MAX; i++)
		printf(" %s=%llu", event_names[i],
		       (unsigned long long)s->global.event[i]);
	printf("\nstats engine realigned=%llu linearized=%llu tx_dropped=%llu pass_freed=%llu exception_tx_dropped=%llu exception_rx=%llu\n",
	       (unsigned long long)s->dp.realigned,
	       (unsigned long long)s->dp.linearized,
	       (unsigned long long)ws.tx_dropped,
	       (unsigned long long)ws.pass_freed,
	       (unsigned long long)ws.exc_tx_dropped,
	       (unsigned long long)ws.exc_rx);
	printf("stats lcores");
	for (i = 0; i < nworkers; i++)
		printf(" %u=%llu", workers[i].lcore,
		       (unsigned long long)s->lcore_packets[i]);
	printf("\n");
	RTE_ETH_FOREACH_DEV(port)
	{
		if (rte_eth_stats_get(port, &es))
			continue;
		printf("stats port=%u ipackets=%llu opackets=%llu imissed=%llu ierrors=%llu oerrors=%llu\n",
		       port, (unsigned long long)es.ipackets,
		       (unsigned long long)es.opackets,
		       (unsigned long long)es.imissed,
		       (unsigned long long)es.ierrors,
		       (unsigned long long)es.oerrors);
	}
	fflush(stdout);
}

/* Requests, SIGHUP, counters, --run-for; the poll is the loop's tick. */
static int control_loop(void)
{
	struct dp_stats *s = calloc(1, sizeof(*s));
	__u64 hz = rte_get_tsc_hz(), start = rte_rdtsc(), last = start;

	if (!s)
		return -ENOMEM;
	while (!quit) {
		dp_server_poll(&srv, 10);
		if (reload) {
			reload = 0;
			if (opt.tables)
				dp_server_load_file(&srv, "reload");
		}
		if (opt.stats_every &&
		    rte_rdtsc() - last >= opt.stats_every * hz) {
			last = rte_rdtsc();
			print_stats(s);
		}
		if (opt.run_for && rte_rdtsc() - start >= opt.run_for * hz)
			quit = 1;
	}
	rte_eal_mp_wait_lcore();
	print_stats(s);
	free(s);
	return 0;
}

/* ---- setup ------------------------------------------------------------------ */
static int pick_ports(void)
{
	uint16_t port;
	unsigned int i;

	if (opt.exc_port != NO_PORT &&
	    !rte_eth_dev_is_valid_port(opt.exc_port)) {
		fprintf(stderr, "ferry-dpdk: no exception port %u\n",
			opt.exc_port);
		return -1;
	}
	if (!opt.nports)
		RTE_ETH_FOREACH_DEV(port)
	if (port != opt.exc_port)
		opt.ports[opt.nports++] = port;
	for (i = 0; i < opt.nports; i++)
		if (!rte_eth_dev_is_valid_port(opt.ports[i]) ||
		    opt.ports[i] == opt.exc_port) {
			fprintf(stderr, "ferry-dpdk: bad data port %u\n",
				opt.ports[i]);
			return -1;
		}
	if (!opt.nports) {
		fprintf(stderr,
			"ferry-dpdk: no data port (give a NIC, or a vdev: --vdev net_af_packet0,iface=eth0)\n");
		return -1;
	}
	return 0;
}

/* The tables file, if there is one. With --control, no file (or a bad
 * one) is not an error: no tables until ferryd loads some. 0 or -1. */
static int start_tables(void)
{
	int r;

	srv.engine = engine;
	srv.tables = opt.tables;
	srv.ports = opt.ports;
	srv.nports = opt.nports;
	srv.exc_port = opt.exc_port;
	srv.lcore_id = lcore_ids;
	srv.proc_stats = proc_stats;
	if (dp_server_init(&srv)) {
		fprintf(stderr, "ferry-dpdk: out of memory\n");
		return -1;
	}
	if (!opt.tables || (opt.control && access(opt.tables, F_OK)))
		r = -ENOENT; /* with --control: not saved yet */
	else
		r = dp_server_load_file(&srv, "load");
	if (!r || !opt.control)
		return r ? -1 : 0;
	if (r == -ENOENT)
		fprintf(stderr,
			"ferry-dpdk: no tables file yet: no tables (generation 0) until ferryd loads some\n");
	else
		fprintf(stderr,
			"ferry-dpdk: %s refused: no tables (generation 0) until ferryd loads some\n",
			opt.tables);
	return 0;
}

/* The control socket, and the line that says what is served. 0 or -1. */
static int start_control(void)
{
	int r;

	if (opt.control) {
		r = dp_server_listen(&srv, opt.control);
		if (r) {
			fprintf(stderr, "ferry-dpdk: control socket %s: %s\n",
				opt.control, strerror(-r));
			return -1;
		}
	}
	fprintf(stderr,
		"ferry-dpdk: control socket %s, tables file %s, serving generation %u%s\n",
		opt.control ? opt.control : "(none)",
		opt.tables ? opt.tables : "(none)", dp_server_generation(&srv),
		dp_server_generation(&srv) ?
			"" :
			" (no tables: every frame to the exception path)");
	return 0;
}

static int setup(struct rte_mempool **pool)
{
	struct dp_engine_conf ec = { .flows = opt.flows,
				     .align = opt.align,
				     .socket = (int)rte_socket_id() };
	int socks[RTE_MAX_LCORE];
	unsigned int lcore, i, p, nmbufs, nq;
	int r;

	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		workers[nworkers].lcore = lcore;
		workers[nworkers].q = nworkers;
		lcore_ids[nworkers] = lcore;
		socks[nworkers] = (int)rte_lcore_to_socket_id(lcore);
		nworkers++;
	}
	if (!nworkers) {
		fprintf(stderr,
			"ferry-dpdk: no worker lcore: the main lcore runs control; give two or more (-l 0-1)\n");
		return -1;
	}
	if (pick_ports())
		return -1;
	nq = nworkers;
	nmbufs = opt.mbufs;
	if (!nmbufs)
		nmbufs = (opt.nports + 1) * nq * (opt.rxd + opt.txd) +
			 nworkers * (3 * BURST_MAX + 512) + 4096;
	*pool = rte_pktmbuf_pool_create("ferry_mbufs", nmbufs, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE,
					(int)rte_socket_id());
	if (!*pool) {
		fprintf(stderr, "ferry-dpdk: mbuf pool of %u: %s\n", nmbufs,
			rte_strerror(rte_errno));
		return -1;
	}
	ec.nlcores = nworkers;
	ec.lcore_socket = socks;
	r = dp_engine_create(&ec, &engine);
	if (r) {
		fprintf(stderr, "ferry-dpdk: engine: %s\n", strerror(-r));
		return -1;
	}
	if (start_tables())
		return -1;
	for (p = 0; p < opt.nports; p++) {
		r = port_setup(opt.ports[p], (uint16_t)nq, (uint16_t)nq, *pool,
			       true);
		if (r) {
			fprintf(stderr, "ferry-dpdk: port %u: %s\n",
				opt.ports[p], rte_strerror(r < 0 ? -r : r));
			return -1;
		}
		if (rte_eth_macaddr_get(opt.ports[p], &port_mac[p]))
			port_mac[p] = port_mac[0];
		port_mac_differs[p] =
			!rte_is_same_ether_addr(&port_mac[p], &port_mac[0]);
	}
	if (opt.exc_port != NO_PORT) {
		/* A queue pair per worker: the kernel may send on any of
		 * a tap's queues (and net_tap wants as many RX as TX). */
		r = port_setup(opt.exc_port, (uint16_t)nq, (uint16_t)nq, *pool,
			       false);
		if (r) {
			fprintf(stderr, "ferry-dpdk: exception port %u: %s\n",
				opt.exc_port, rte_strerror(r < 0 ? -r : r));
			return -1;
		}
	}
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		int sock = socks[i];

		w->lc = dp_engine_lcore(engine, i);
		for (p = 0; p < opt.nports; p++)
			if (!(w->txb[p] = txbuf_new(sock, &w->st.tx_dropped)))
				return -1;
		if (opt.exc_port != NO_PORT) {
			w->excb = txbuf_new(sock, &w->st.exc_tx_dropped);
			if (!w->excb)
				return -1;
			w->wireb = txbuf_new(sock, &w->st.tx_dropped);
			if (!w->wireb)
				return -1;
		}
	}
	fprintf(stderr,
		"ferry-dpdk: %u forwarding lcore(s), %u data port(s), exception port %s, conntrack %u per lcore, align %s\n",
		nworkers, opt.nports, opt.exc_port == NO_PORT ? "none" : "set",
		engine->flows, opt.align == DP_ALIGN_SLIDE ? "slide" : "trust");
	return start_control();
}

/* argv split at "--": EAL args before, options after (without "--",
 * every argument is an option); then --config. *eal_argc: argv[0] and the
 * EAL args. 0 or -1. */
static int parse_args(int argc, char **argv, int *eal_argc)
{
	int i, sep = 0, r;

	for (i = 1; i < argc && !sep; i++)
		if (!strcmp(argv[i], "--"))
			sep = i;
	if (sep) {
		*eal_argc = sep;
		argv[sep] = argv[0]; /* the options, getopt-style */
		r = parse_opts(argc - sep, argv + sep);
	} else {
		*eal_argc = 1;
		r = parse_opts(argc, argv);
	}
	if (r)
		return -1;
	if (opt.config && apply_config())
		return -1;
	if (!opt.tables && !opt.control) {
		fprintf(stderr,
			"ferry-dpdk: give --tables FILE, --control SOCK or --config FILE\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* argv[0] and the command line's EAL args, then the config's. */
static char **eal_args(int eal_argc, char **argv, int *n)
{
	unsigned int neal = conf ? conf->dp.dp.neal : 0, i;
	char **a = calloc((size_t)eal_argc + neal + 1, sizeof(*a));

	if (!a)
		return NULL;
	memcpy(a, argv, (size_t)eal_argc * sizeof(*a));
	for (i = 0; i < neal; i++)
		a[eal_argc + (int)i] = conf->dp.dp.eal[i];
	*n = eal_argc + (int)neal;
	return a;
}

int main(int argc, char **argv)
{
	struct dp_eal_opts eo = { .name = "ferry-dpdk", .no_huge_mb = 256 };
	struct rte_mempool *pool = NULL;
	char why[256], **eargv;
	bool no_huge;
	int eal_argc, eargc, i, rc = 1;
	uint16_t port;

	if (parse_args(argc, argv, &eal_argc))
		return 2;
	eargv = eal_args(eal_argc, argv, &eargc);
	if (!eargv ||
	    dp_eal_init(eargc, eargv, &eo, &no_huge, why, sizeof(why))) {
		fprintf(stderr, "ferry-dpdk: %s\n",
			eargv ? why : "out of memory");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (setup(&pool) == 0) {
		for (i = 0; i < (int)nworkers; i++)
			rte_eal_remote_launch(worker_main, &workers[i],
					      workers[i].lcore);
		rc = control_loop() ? 1 : 0;
	}
	quit = 1;
	rte_eal_mp_wait_lcore();
	if (srv.fd >= 0)
		unlink(opt.control); /* nobody listens any more */
	RTE_ETH_FOREACH_DEV(port)
	{
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	dp_engine_free(engine);
	dp_server_fini(&srv);
	rte_mempool_free(pool);
	dp_eal_cleanup();
	free(eargv);
	conf_free(conf);
	return rc;
}
