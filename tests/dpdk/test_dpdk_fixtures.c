/* tests/dpdk/test_dpdk_fixtures.c: runs every packet fixture through the DPDK engine's dp_process_burst() on in-memory mbufs, after loading the fixture world through the snapshot format; then swaps tables under a running lcore (RCU). Exits 77 (skip) when the EAL cannot start. DPDK userspace only.
 *
 * No port is needed: mbufs come from a mempool and go straight into the
 * burst function. Each fixture is checked as the XDP runner checks it
 * (tests/bpf/test_xdp_fixtures.c): conntrack reset to the world's entries,
 * then the verdict (which output vector the mbuf lands in), the one reason
 * counter that moved, the backend counter for LB_TX, and the frame bytes,
 * which must equal the fixture's expected output. Equal expectations on
 * both engines mean byte-identical outputs.
 *
 * Each fixture runs in several placements:
 *   pmd      data at RTE_PKTMBUF_HEADROOM, as a PMD puts it (the IP header
 *            at 2 mod 4): the engine slides it, the output must start at
 *            2 mod 4;
 *   aligned  data 2 bytes later (IP header aligned): nothing to slide;
 *   odd1/3   data 1 / 3 bytes later: slides of other widths;
 *   trust    aligned placement with DP_ALIGN_TRUST (no slide code);
 *   burst    32 copies in one burst (vectors and counters by 32);
 *   multiseg the frame split over two segments (linearized);
 *   noroom   data at offset 0: no headroom, so LB_TX fixtures must drop
 *            as encap_failed with the frame unchanged.
 * Sub-Ethernet frames (FIXTURE_F_SUB_ETH) run too: an mbuf can hold them.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/dp_eal.h"
#include "common/parse.h"
#include "dataplane/dp_engine.h"
#include "world_snap.h"

#define EXIT_SKIP 77
#define BURST 32
#define TEST_FLOWS 4096 /* conntrack entries per lcore, shrunk for the test */
#define DATA_ROOM (RTE_PKTMBUF_HEADROOM + 4096 + 256)
#define SWAP_GENERATIONS 400

static struct rte_mempool *pool;
static struct dp_engine *eng;

struct tally {
	int pass;
	int fail;
};

static void tally(struct tally *t, const char *variant, const char *name,
		  int bad)
{
	if (bad)
		t->fail++;
	else
		t->pass++;
	if (bad || getenv("VERBOSE"))
		printf("%s dpdk %-8s %s\n", bad ? "FAIL" : "ok  ", variant,
		       name);
}

/* ---- one fixture ------------------------------------------------------- */
enum variant {
	V_PMD,
	V_ALIGNED,
	V_ODD1,
	V_ODD3,
	V_TRUST,
	V_BURST,
	V_MULTISEG,
	V_NOROOM,
	V_MAX
};

static const char *const variant_name[V_MAX] = {
	"pmd",	 "aligned", "odd1",	"odd3",
	"trust", "burst",   "multiseg", "noroom",
};

static uint16_t variant_off(enum variant v)
{
	switch (v) {
	case V_ALIGNED:
	case V_TRUST:
		return RTE_PKTMBUF_HEADROOM + 2;
	case V_ODD1:
		return RTE_PKTMBUF_HEADROOM + 1;
	case V_ODD3:
		return RTE_PKTMBUF_HEADROOM + 3;
	case V_NOROOM:
		return 0;
	default:
		return RTE_PKTMBUF_HEADROOM;
	}
}

/* An mbuf holding f->in at data offset off (split after split bytes into
 * two segments when split > 0). */
static struct rte_mbuf *frame_mbuf(const struct fixture *f, uint16_t off,
				   size_t split)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *m2;

	if (!m)
		return NULL;
	m->data_off = off;
	if (!split) {
		memcpy(rte_pktmbuf_mtod(m, void *), f->in, f->in_len);
		m->data_len = (uint16_t)f->in_len;
		m->pkt_len = (uint32_t)f->in_len;
		return m;
	}
	m2 = rte_pktmbuf_alloc(pool);
	if (!m2) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(rte_pktmbuf_mtod(m, void *), f->in, split);
	m->data_len = (uint16_t)split;
	m->pkt_len = (uint32_t)split;
	memcpy(rte_pktmbuf_mtod(m2, void *), f->in + split, f->in_len - split);
	m2->data_len = (uint16_t)(f->in_len - split);
	m2->pkt_len = m2->data_len;
	if (rte_pktmbuf_chain(m, m2)) {
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(m2);
		return NULL;
	}
	return m;
}

static void reset_flows(struct dp_lcore *lc, const struct fixture_world *w)
{
	const struct dp_tables *t = dp_tables_get(eng);
	unsigned int i;

	dp_lcore_flows_clear(lc);
	for (i = 0; i < w->nflows; i++)
		dp_lcore_flow_put(lc, t, &w->flows[i].key, &w->flows[i].flow);
}

static int check_frame(const char *what, const __u8 *want, size_t want_len,
		       struct rte_mbuf *m)
{
	const __u8 *got = rte_pktmbuf_mtod(m, const __u8 *);

	if (m->nb_segs != 1 || m->data_len != m->pkt_len) {
		fprintf(stderr, "%s: output in %u segments\n", what,
			m->nb_segs);
		return 1;
	}
	if (want_len == m->data_len && !memcmp(want, got, want_len))
		return 0;
	fixture_hexdiff(what, want, want_len, got, m->data_len);
	return 1;
}

/* Runs f in variant v on context 0: 0 pass, 1 fail, -errno broken. */
static int run_fixture(const struct fixture_world *w, const struct fixture *f,
		       enum variant v)
{
	struct dp_lcore *lc = dp_engine_lcore(eng, 0);
	struct rte_mbuf *in[BURST], *txv[BURST], *passv[BURST], *dropv[BURST];
	struct dp_out tx = { txv, 0 }, pass = { passv, 0 }, drop = { dropv, 0 };
	struct lb_global_stats before = lc->global;
	__u64 be_before = 0, realigned = lc->dp.realigned;
	int want_verdict = f->verdict, want_reason = f->reason;
	const __u8 *want = f->out;
	size_t want_len = f->out_len;
	uint16_t n = v == V_BURST ? BURST : 1, i;
	struct dp_out *expect;
	char what[96];
	int bad = 0;

	if (v == V_NOROOM && f->verdict == LB_TX) {
		want_verdict = LB_DROP;
		want_reason = LB_R_DROP_ENCAP;
		want = f->in;
		want_len = f->in_len;
	}
	if (f->backend < FERRY_MAX_BACKENDS)
		be_before = lc->backend[f->backend].packets;
	reset_flows(lc, w);
	for (i = 0; i < n; i++) {
		size_t split = v == V_MULTISEG ? f->in_len / 2 : 0;

		in[i] = frame_mbuf(f, variant_off(v), split);
		if (!in[i]) {
			rte_pktmbuf_free_bulk(in, i);
			return -ENOMEM;
		}
	}
	lc->align = v == V_TRUST ? DP_ALIGN_TRUST : DP_ALIGN_SLIDE;
	dp_process_burst(lc, dp_tables_get(eng), in, n, &tx, &pass, &drop);
	lc->align = DP_ALIGN_SLIDE;
	dp_lcore_quiescent(lc);

	snprintf(what, sizeof(what), "%s [%s]", f->name, variant_name[v]);
	expect = want_verdict == LB_TX	 ? &tx :
		 want_verdict == LB_PASS ? &pass :
					   &drop;
	if (expect->n != n || tx.n + pass.n + drop.n != n) {
		fprintf(stderr,
			"%s: want %u in %s, got tx %u pass %u drop %u (%s)\n",
			what, n, fixture_verdict_name(want_verdict), tx.n,
			pass.n, drop.n, fixture_reason_name(want_reason));
		bad = 1;
	}
	for (i = 0; i < LB_REASON_MAX; i++) {
		__u64 d =
			lc->global.reason[i].packets - before.reason[i].packets;
		__u64 exp = i == want_reason ? n : 0;

		if (d != exp) {
			fprintf(stderr,
				"%s: reason %s moved by %llu, want %llu\n",
				what, fixture_reason_name(i),
				(unsigned long long)d, (unsigned long long)exp);
			bad = 1;
		}
	}
	if (want_verdict == LB_TX && f->backend < FERRY_MAX_BACKENDS &&
	    lc->backend[f->backend].packets - be_before != n) {
		fprintf(stderr, "%s: backend %u counted %llu, want %u\n", what,
			f->backend,
			(unsigned long long)(lc->backend[f->backend].packets -
					     be_before),
			n);
		bad = 1;
	}
	if (!bad)
		for (i = 0; i < n && !bad; i++) {
			bad |= check_frame(what, want, want_len, expect->m[i]);
			/* Slid or placed: the IP header was 4-aligned. */
			if (v != V_NOROOM && f->in_len >= 14 &&
			    ((uintptr_t)rte_pktmbuf_mtod(expect->m[i], char *) &
			     3) != 2) {
				fprintf(stderr,
					"%s: frame ends at %p, not 2 mod 4\n",
					what,
					rte_pktmbuf_mtod(expect->m[i], void *));
				bad = 1;
			}
		}
	if ((v == V_ALIGNED || v == V_TRUST) && lc->dp.realigned != realigned) {
		fprintf(stderr, "%s: an aligned frame was moved\n", what);
		bad = 1;
	}
	rte_pktmbuf_free_bulk(tx.m, tx.n);
	rte_pktmbuf_free_bulk(pass.m, pass.n);
	rte_pktmbuf_free_bulk(drop.m, drop.n);
	return bad;
}

/* ---- an ICMP error about another lcore's flow -------------------------- */
/* One frame through context lc: the backend counter that moved, or
 * FERRY_NO_BACKEND (not sent). */
static __u32 one_frame_backend(struct dp_lcore *lc, const struct fixture *f)
{
	struct rte_mbuf *in, *txv[1], *passv[1], *dropv[1];
	struct dp_out tx = { txv, 0 }, pass = { passv, 0 }, drop = { dropv, 0 };
	__u64 before[FERRY_MAX_BACKENDS];
	__u32 id, got = FERRY_NO_BACKEND;

	for (id = 0; id < FERRY_MAX_BACKENDS; id++)
		before[id] = lc->backend[id].packets;
	in = frame_mbuf(f, RTE_PKTMBUF_HEADROOM, 0);
	if (!in)
		return FERRY_NO_BACKEND;
	dp_process_burst(lc, dp_tables_get(eng), &in, 1, &tx, &pass, &drop);
	for (id = 0; id < FERRY_MAX_BACKENDS && tx.n; id++)
		if (lc->backend[id].packets != before[id])
			got = id;
	rte_pktmbuf_free_bulk(tx.m, tx.n);
	rte_pktmbuf_free_bulk(pass.m, pass.n);
	rte_pktmbuf_free_bulk(drop.m, drop.n);
	return got;
}

/*
 * RSS keeps a flow on one lcore, but an ICMP frag-needed about it is
 * spread on the router's and the VIP's addresses and may reach another
 * lcore. The world's conntrack entry that sends a V_TCP4 flow to backend 3
 * (which the ring never names) stands for the quoted flow, on context 0
 * only: the frag-needed goes to backend 3 from context 1 too, and to the
 * ring's backend when no context holds the flow.
 */
static int run_icmp_peek(const struct fixture_world *w,
			 const struct fixture *fx, int n, struct tally *t)
{
	struct dp_lcore *lc0 = dp_engine_lcore(eng, 0), *lc1 = dp_engine_lcore(eng, 1);
	const struct fixture *f = NULL;
	struct lb_flow flow;
	struct lb_pkt pkt;
	__u32 got[3];
	int i, bad;

	for (i = 0; i < n; i++)
		if (!strcmp(fx[i].name, "icmp4_frag_needed"))
			f = &fx[i];
	if (!f || !w->nflows || !lc1 ||
	    lb_parse(f->in, f->in + f->in_len, &pkt) != LB_CONTINUE ||
	    !pkt.icmp_error) {
		fprintf(stderr, "icmp peek: no icmp4_frag_needed fixture to use\n");
		return -EINVAL;
	}
	flow = w->flows[0].flow;
	if (flow.backend == f->backend) {
		fprintf(stderr, "icmp peek: the world's first flow is on the ring's backend: shows nothing\n");
		return -EINVAL;
	}
	pkt.flow.vip = w->flows[0].key.vip; /* the quoted flow, as the core keys it */
	dp_lcore_flows_clear(lc0);
	dp_lcore_flows_clear(lc1);
	got[0] = one_frame_backend(lc1, f); /* nobody holds the flow */
	dp_lcore_flow_put(lc0, dp_tables_get(eng), &pkt.flow, &flow);
	got[1] = one_frame_backend(lc0, f); /* the lcore that holds it */
	got[2] = one_frame_backend(lc1, f); /* another lcore */
	bad = got[0] != f->backend || got[1] != flow.backend ||
	      got[2] != flow.backend;
	if (bad)
		fprintf(stderr,
			"icmp peek: backends %u (no flow), %u (own lcore), %u (other lcore); want %u, %u, %u\n",
			got[0], got[1], got[2], f->backend, flow.backend,
			flow.backend);
	tally(t, "peek", "icmp4_frag_needed from another lcore", bad);
	dp_lcore_flows_clear(lc0);
	dp_lcore_flows_clear(lc1);
	return 0;
}

/* ---- table swaps under a forwarding lcore ----------------------------- */
struct swap_ctx {
	const struct fixture *fx;
	int nfx;
	volatile int stop;
	__u64 bursts;
	__u64 errors; /* a burst's tables freed under it, or mixed up */
	__u32 gens_seen_even, gens_seen_odd;
};

/*
 * Context 1 on a worker lcore: bursts of LB_TX fixtures, again and again.
 * Even generations hold the world (every frame is sent), odd ones no VIP
 * at all (every frame passes): a burst must see one generation throughout,
 * and its tables must not be freed under it.
 */
static int swap_worker(void *arg)
{
	struct swap_ctx *c = arg;
	struct dp_lcore *lc = dp_engine_lcore(eng, 1);
	struct rte_mbuf *in[BURST], *txv[BURST], *passv[BURST], *dropv[BURST];
	int k = 0;

	dp_lcore_online(lc);
	while (!c->stop) {
		struct dp_out tx = { txv, 0 }, pass = { passv, 0 },
			      drop = { dropv, 0 };
		const struct dp_tables *t;
		__u32 gen;
		uint16_t n = 0, i;

		while (n < BURST) {
			const struct fixture *f = &c->fx[k++ % c->nfx];

			if (f->verdict != LB_TX)
				continue;
			in[n] = frame_mbuf(f, RTE_PKTMBUF_HEADROOM, 0);
			if (!in[n])
				break;
			n++;
		}
		t = dp_tables_get(eng);
		gen = t->generation;
		dp_process_burst(lc, t, in, n, &tx, &pass, &drop);
		if (t->generation != gen) /* freed (and poisoned) under us */
			c->errors++;
		if (gen % 2 == 0 ? tx.n != n : pass.n != n)
			c->errors++;
		if (gen % 2 == 0)
			c->gens_seen_even++;
		else
			c->gens_seen_odd++;
		dp_lcore_quiescent(lc);
		for (i = 0; i < tx.n; i++)
			rte_pktmbuf_free(tx.m[i]);
		rte_pktmbuf_free_bulk(pass.m, pass.n);
		rte_pktmbuf_free_bulk(drop.m, drop.n);
		c->bursts++;
	}
	dp_lcore_offline(lc);
	return 0;
}

static int snapshot_gen(const struct fixture_world *w, __u32 gen, void **buf,
			size_t *len)
{
	struct ferry_snap_input in;
	struct lb_config cfg;
	int r = world_snap_input(w, &cfg, &in);

	if (r)
		return r;
	cfg.generation = gen;
	if (gen % 2) /* no VIP: everything passes */
		in.nvips = 0;
	r = ferry_snap_write(&in, buf, len);
	world_snap_input_free(&in);
	return r;
}

static int run_swaps(const struct fixture_world *w, const struct fixture *fx,
		     int nfx, struct tally *t)
{
	static struct swap_ctx c;
	unsigned int worker = rte_get_next_lcore(-1, 1, 0);
	char err[256];
	__u32 g;
	int bad = 0;

	if (worker >= RTE_MAX_LCORE) {
		printf("skip dpdk swap     (one lcore only)\n");
		return 0;
	}
	c.fx = fx;
	c.nfx = nfx;
	/* The main thread stops reading: publishes wait for the worker only. */
	dp_lcore_offline(dp_engine_lcore(eng, 0));
	for (g = 2; g < 2 + SWAP_GENERATIONS && !bad; g++) {
		size_t len;
		void *buf;

		if (snapshot_gen(w, g, &buf, &len))
			return -ENOMEM;
		if (dp_engine_load(eng, buf, len, DP_NO_READER, err,
				   sizeof(err))) {
			fprintf(stderr, "swap: generation %u: %s\n", g, err);
			bad = 1;
		}
		free(buf);
		if (g == 2) /* generation 1 (the world) had an odd number */
			rte_eal_remote_launch(swap_worker, &c, worker);
		/* Let the worker run a few bursts on this one. */
		for (unsigned int spin = 0; spin < 20000; spin++)
			rte_pause();
	}
	c.stop = 1;
	rte_eal_wait_lcore(worker);
	dp_lcore_online(dp_engine_lcore(eng, 0));
	printf("swap: %u generations published while lcore %u forwarded: %llu bursts (%u on world, %u on empty tables), %llu errors\n",
	       SWAP_GENERATIONS, worker, (unsigned long long)c.bursts,
	       c.gens_seen_even, c.gens_seen_odd, (unsigned long long)c.errors);
	bad |= c.errors || !c.gens_seen_even || !c.gens_seen_odd;
	tally(t, "swap", "rcu table swaps", bad);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */
/* The first two CPUs this process may run on, as an EAL --lcores map. */
static void lcore_map(char *buf, size_t len)
{
	int cpus[2] = { -1, -1 }, n = 0, i;
	cpu_set_t set;

	if (!sched_getaffinity(0, sizeof(set), &set))
		for (i = 0; i < CPU_SETSIZE && n < 2; i++)
			if (CPU_ISSET(i, &set))
				cpus[n++] = i;
	if (n == 0)
		cpus[0] = 0;
	if (n < 2)
		cpus[1] = cpus[0]; /* one CPU: both lcores share it */
	snprintf(buf, len, "--lcores=0@%d,1@%d", cpus[0], cpus[1]);
}

static int eal_start(char *prog)
{
	static char lcores[64];
	char *args[] = { prog,
			 "--no-huge",
			 "-m",
			 "256",
			 "--no-pci",
			 lcores,
			 "--log-level=lib.*:error",
			 NULL };
	struct dp_eal_opts o = { .name = "ferry-test-dpdk", .no_huge_mb = 256 };
	char why[256];
	bool no_huge;

	lcore_map(lcores, sizeof(lcores));
	if (dp_eal_init(7, args, &o, &no_huge, why, sizeof(why))) {
		printf("SKIP: EAL cannot start: %s\n", why);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct fixture_world *w = fixtures_world();
	struct dp_engine_conf ec = { .nlcores = 2,
				     .flows = TEST_FLOWS,
				     .socket = SOCKET_ID_ANY };
	struct tally t = { 0 };
	struct fixture *fx;
	char err[256];
	size_t len;
	void *buf;
	int n, i, v, r, broken = 0;

	(void)argc;
	if (eal_start(argv[0]))
		return EXIT_SKIP;
	n = fixtures_build(&fx);
	if (n < 0) {
		fprintf(stderr, "fixtures_build: %s\n", strerror(-n));
		return 1;
	}
	pool = rte_pktmbuf_pool_create("fx_pool", 1023, 0, 0, DATA_ROOM,
				       SOCKET_ID_ANY);
	r = pool ? dp_engine_create(&ec, &eng) : -rte_errno;
	if (r) {
		fprintf(stderr, "setup: %s\n", strerror(-r));
		return 1;
	}
	/* The world, through the snapshot format and its loader. */
	r = world_snapshot(w, &buf, &len);
	if (!r) {
		dp_lcore_online(dp_engine_lcore(eng, 0));
		r = dp_engine_load(eng, buf, len, 0, err, sizeof(err));
		free(buf);
	}
	if (r) {
		fprintf(stderr, "loading the world: %s\n",
			r == -EINVAL ? err : strerror(-r));
		return 1;
	}
	printf("world: snapshot of %zu bytes loaded, generation %u\n", len,
	       dp_tables_get(eng)->generation);

	for (i = 0; i < n && !broken; i++)
		for (v = 0; v < V_MAX && !broken; v++) {
			if (v == V_MULTISEG && fx[i].in_len < 2)
				continue;
			r = run_fixture(w, &fx[i], (enum variant)v);
			if (r < 0) {
				fprintf(stderr, "%s: %s\n", fx[i].name,
					strerror(-r));
				broken = 1;
				break;
			}
			tally(&t, variant_name[v], fx[i].name, r);
		}
	if (!broken && run_icmp_peek(w, fx, n, &t))
		broken = 1;
	if (!broken && run_swaps(w, fx, n, &t))
		broken = 1;
	printf("%d fixtures x %d placements, swaps: %d checks passed, %d failed\n",
	       n, V_MAX, t.pass, t.fail);
	fixtures_free(fx, n);
	dp_engine_free(eng);
	rte_mempool_free(pool);
	dp_eal_cleanup();
	return broken || t.fail ? 1 : 0;
}
