/* tests/dpdk/test_dpdk_snapshot.c: the table snapshot loader against bad input: every truncation, every corrupted byte, one crafted mistake per rule, random mutations; whatever it accepts must build DPDK tables. DPDK userspace only.
 *
 * The parser part needs no EAL and always runs. The part that builds
 * tables from accepted snapshots (dp_tables_build) runs when the EAL
 * starts (--no-huge); when it cannot, that part is reported skipped and
 * the rest still counts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "dataplane/dp_eal.h"
#include "dataplane/dp_tables.h"
#include "world_snap.h"

#define MUTATIONS 20000

static int npass, nfail;
static bool have_eal;

#define CHECK(cond, ...)                                            \
	do {                                                        \
		if (cond) {                                         \
			npass++;                                    \
		} else {                                            \
			nfail++;                                    \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)

/* A copy of len bytes in 8-aligned memory (the parser's contract). */
static void *copy8(const void *p, size_t len)
{
	void *c = aligned_alloc(8, (len + 7) & ~(size_t)7);

	if (c && len)
		memcpy(c, p, len);
	return c;
}

static int parse(const void *buf, size_t len, char *err, size_t errlen)
{
	struct ferry_snap s;

	return ferry_snap_parse(buf, len, &s, err, errlen);
}

/* Parses, and when accepted, builds and frees tables (EAL permitting). */
static int parse_build(const void *buf, size_t len)
{
	struct dp_tables *t;
	struct ferry_snap s;
	int r = ferry_snap_parse(buf, len, &s, NULL, 0);

	if (r || !have_eal)
		return r;
	r = dp_tables_build(&s, SOCKET_ID_ANY, &t);
	if (r)
		return r;
	dp_tables_free(t);
	return 0;
}

/* ---- the valid world --------------------------------------------------- */
static void test_world(const void *buf, size_t len)
{
	char err[256];
	struct ferry_snap s;
	int r = ferry_snap_parse(buf, len, &s, err, sizeof(err));

	CHECK(r == 0, "world snapshot refused: %s", err);
	if (r)
		return;
	CHECK(s.nvips == fixtures_world()->nvips &&
		      s.nrings == fixtures_world()->nrings &&
		      s.nbackends == fixtures_world()->nbackends &&
		      s.npins == fixtures_world()->npins,
	      "world counts");
	CHECK(s.hash_seed == fixtures_world()->seed,
	      "seed travels in the config");
	CHECK(parse_build(buf, len) == 0, "world tables build");
}

/* ---- truncations and byte flips ----------------------------------------- */
static void test_truncated(const void *buf, size_t len)
{
	size_t l;
	int bad = 0;

	for (l = 0; l < len; l++) {
		void *c = copy8(buf, l ? l : 1);
		char err[256];

		if (parse(c, l, err, sizeof(err)) != -EINVAL || !err[0])
			bad++;
		free(c);
	}
	CHECK(!bad, "%d of %zu truncations accepted", bad, len);
	CHECK(parse(NULL, 0, NULL, 0) == -EINVAL, "NULL buffer");
}

/* Every byte flipped, checksum left as it was: all refused. */
static void test_flipped(const void *buf, size_t len)
{
	__u8 *c = copy8(buf, len);
	size_t i;
	int bad = 0;

	for (i = 0; i < len; i++) {
		c[i] ^= 0xff;
		if (parse(c, len, NULL, 0) != -EINVAL)
			bad++;
		c[i] ^= 0xff;
	}
	free(c);
	CHECK(!bad, "%d of %zu byte flips accepted without a new checksum", bad,
	      len);
}

/* Every byte flipped and the checksum recomputed (a writer bug, not
 * line noise): refused or accepted, never a crash; whatever is accepted
 * builds tables. */
static void test_flipped_sealed(const void *buf, size_t len)
{
	__u8 *c = copy8(buf, len);
	int accepted = 0, build_failed = 0, r;
	size_t i;

	for (i = 0; i < len; i++) {
		c[i] ^= 0xff;
		ferry_snap_seal(c, len);
		r = parse_build(c, len);
		if (r == 0)
			accepted++;
		else if (r != -EINVAL)
			build_failed++;
		c[i] ^= 0xff;
	}
	free(c);
	CHECK(!build_failed, "%d accepted snapshots did not build",
	      build_failed);
	printf("sealed byte flips: %d of %zu accepted (bytes no rule constrains: MACs, addresses, ports, ...)\n",
	       accepted, len);
}

/* Random mutations (1-4 bytes set at random, resealed), fixed seed. */
static void test_random(const void *buf, size_t len)
{
	__u8 *c = copy8(buf, len);
	unsigned int seed = 12345, i, k;
	int accepted = 0, build_failed = 0, r;

	for (i = 0; i < MUTATIONS; i++) {
		memcpy(c, buf, len);
		for (k = 0; k <= (unsigned int)rand_r(&seed) % 4; k++)
			c[(size_t)rand_r(&seed) % len] = (__u8)rand_r(&seed);
		ferry_snap_seal(c, len);
		r = parse_build(c, len);
		if (r == 0)
			accepted++;
		else if (r != -EINVAL)
			build_failed++;
	}
	free(c);
	CHECK(!build_failed, "%d accepted mutations did not build",
	      build_failed);
	printf("random mutations: %d of %d accepted%s\n", accepted, MUTATIONS,
	       have_eal ? ", every one built" : "");
}

/* ---- one mistake per rule -------------------------------------------------- */
struct mk {
	struct ferry_snap_input in;
	struct lb_config cfg;
	struct ferry_snap_vip vips[32];
	struct ferry_snap_ring_in rings[32];
	__u32 slots[32][16];
	struct ferry_snap_backend backends[32];
	struct ferry_snap_pin pins[32];
};

/* A mutable copy of the world's writer input. */
static void mk_world(struct mk *m)
{
	struct ferry_snap_input w;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	if (world_snap_input(fixtures_world(), &m->cfg, &w))
		abort();
	memcpy(m->vips, w.vips, w.nvips * sizeof(*w.vips));
	memcpy(m->backends, w.backends, w.nbackends * sizeof(*w.backends));
	memcpy(m->pins, w.pins, w.npins * sizeof(*w.pins));
	for (i = 0; i < w.nrings; i++) {
		m->rings[i] = w.rings[i];
		memcpy(m->slots[i], w.rings[i].slot,
		       w.rings[i].size * sizeof(__u32));
		m->rings[i].slot = m->slots[i];
	}
	m->in = w;
	m->in.cfg = &m->cfg;
	m->in.vips = m->vips;
	m->in.rings = m->rings;
	m->in.backends = m->backends;
	m->in.pins = m->pins;
	world_snap_input_free(&w);
}

static void expect_refused(const char *what, struct mk *m, const char *word)
{
	char err[256] = "";
	size_t len;
	void *buf;
	int r;

	if (ferry_snap_write(&m->in, &buf, &len)) {
		CHECK(0, "%s: writer failed", what);
		return;
	}
	r = parse(buf, len, err, sizeof(err));
	CHECK(r == -EINVAL && strstr(err, word),
	      "%s: got %d \"%s\", want -EINVAL mentioning \"%s\"", what, r, err,
	      word);
	if (getenv("VERBOSE"))
		printf("refused %-34s %s\n", what, err);
	free(buf);
}

/* Edits of the laid-out buffer: header and section table. */
static void expect_raw_refused(const char *what, const void *buf, size_t len,
			       void (*edit)(__u8 *, size_t *), const char *word)
{
	__u8 *c = aligned_alloc(8, ((len + 7) & ~(size_t)7) + 64);
	char err[256] = "";
	size_t l = len;
	int r;

	memcpy(c, buf, len);
	memset(c + len, 0, 64);
	edit(c, &l);
	ferry_snap_seal(c, l);
	r = parse(c, l, err, sizeof(err));
	CHECK(r == -EINVAL && strstr(err, word),
	      "%s: got %d \"%s\", want -EINVAL mentioning \"%s\"", what, r, err,
	      word);
	if (getenv("VERBOSE"))
		printf("refused %-34s %s\n", what, err);
	free(c);
}

static struct ferry_snap_header *H(__u8 *c)
{
	return (struct ferry_snap_header *)c;
}

static struct ferry_snap_section *S(__u8 *c, unsigned int i)
{
	return (struct ferry_snap_section *)(c +
					     sizeof(struct ferry_snap_header)) +
	       i;
}

static void e_magic(__u8 *c, size_t *l)
{
	(void)l;
	c[0] = 'X';
}
static void e_version(__u8 *c, size_t *l)
{
	(void)l;
	H(c)->version = 2;
}
static void e_hsize(__u8 *c, size_t *l)
{
	(void)l;
	H(c)->header_size = 64;
}
static void e_total(__u8 *c, size_t *l)
{
	(void)l;
	H(c)->total_size += 8;
}
static void e_longer(__u8 *c, size_t *l)
{
	(void)c;
	*l += 8;
}
static void e_flags(__u8 *c, size_t *l)
{
	(void)l;
	H(c)->flags = 1;
}
static void e_nsec0(__u8 *c, size_t *l)
{
	(void)l;
	H(c)->nsections = 0;
}
static void e_nsec_big(__u8 *c, size_t *l)
{
	(void)l;
	H(c)->nsections = 1000;
}
static void e_gen(__u8 *c, size_t *l)
{
	(void)l;
	H(c)->generation++;
}
static void e_sec_type(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 1)->type = 99;
}
static void e_sec_dup(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 1)->type = S(c, 0)->type;
}
static void e_sec_align(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 1)->offset += 4;
}
static void e_sec_past(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 4)->offset = H(c)->total_size + 8;
}
static void e_sec_size(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 1)->size += 1;
}
static void e_sec_count(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 3)->count = 0xffffffffu;
}
static void e_sec_overlap(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 4)->offset = S(c, 3)->offset;
}
static void e_sec_in_table(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 0)->offset = sizeof(struct ferry_snap_header);
}
static void e_sec_huge(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 1)->size = ~0ull - 4;
}
static void e_ring_left(__u8 *c, size_t *l)
{
	(void)l;
	S(c, 2)->count--;
}

static void test_rules(const void *buf, size_t len)
{
	static struct mk m;
	__u32 i;

	expect_raw_refused("bad magic", buf, len, e_magic, "magic");
	expect_raw_refused("version 2", buf, len, e_version, "version");
	expect_raw_refused("header_size", buf, len, e_hsize, "header_size");
	expect_raw_refused("total_size", buf, len, e_total, "total_size");
	expect_raw_refused("bytes past total_size", buf, len, e_longer,
			   "total_size");
	expect_raw_refused("header flags", buf, len, e_flags, "flags");
	expect_raw_refused("no sections", buf, len, e_nsec0, "sections");
	expect_raw_refused("1000 sections", buf, len, e_nsec_big, "sections");
	expect_raw_refused("header generation", buf, len, e_gen, "generation");
	expect_raw_refused("unknown section", buf, len, e_sec_type,
			   "unknown type");
	expect_raw_refused("section twice", buf, len, e_sec_dup, "twice");
	expect_raw_refused("section misaligned", buf, len, e_sec_align,
			   "8-aligned");
	expect_raw_refused("section past the end", buf, len, e_sec_past,
			   "outside");
	expect_raw_refused("section size", buf, len, e_sec_size, "records of");
	expect_raw_refused("section count", buf, len, e_sec_count, "at most");
	expect_raw_refused("sections overlap", buf, len, e_sec_overlap,
			   "overlap");
	expect_raw_refused("section in the table", buf, len, e_sec_in_table,
			   "outside");
	expect_raw_refused("section size overflow", buf, len, e_sec_huge,
			   "outside");
	expect_raw_refused("ring bytes left over", buf, len, e_ring_left,
			   "left");

	{
		__u8 *c = aligned_alloc(8, ((len + 7) & ~(size_t)7) + 8);

		memcpy(c + 1, buf, len);
		CHECK(parse(c + 1, len, NULL, 0) == -EINVAL,
		      "unaligned buffer");
		free(c);
	}

	mk_world(&m);
	m.cfg.flags |= 0x80;
	expect_refused("config flags", &m, "flags");
	mk_world(&m);
	m.cfg.mtu = 0;
	expect_refused("config mtu 0", &m, "mtu");
	mk_world(&m);
	m.cfg.pad = 1;
	expect_refused("config padding", &m, "padding");

	mk_world(&m);
	m.vips[0].key.family = 7;
	expect_refused("vip family", &m, "family");
	mk_world(&m);
	m.vips[0].key.proto = 1;
	expect_refused("vip protocol", &m, "protocol");
	mk_world(&m);
	m.vips[0].key.addr.bytes[9] = 1;
	expect_refused("vip v4 address tail", &m, "IPv4 address");
	mk_world(&m);
	m.vips[0].vip.id = FERRY_MAX_VIPS;
	expect_refused("vip id", &m, "id");
	mk_world(&m);
	m.vips[0].vip.flags |= 1u << 9;
	expect_refused("vip flags", &m, "flags");
	mk_world(&m);
	m.vips[0].vip.flags |= LB_VIP_FRAGS_ONLY;
	expect_refused("frags-only with a port", &m, "fragments-only");
	mk_world(&m);
	m.vips[0].vip.ring = FERRY_SNAP_MAX_RINGS;
	expect_refused("vip ring index", &m, "ring");
	mk_world(&m);
	m.vips[0].vip.ring_size = FERRY_RING_SIZE_MAX + 1;
	expect_refused("vip ring_size max", &m, "ring_size");
	mk_world(&m);
	m.vips[0].vip.ring_size++;
	expect_refused("vip ring_size vs ring", &m, "slots");
	mk_world(&m);
	m.vips[1].key = m.vips[0].key;
	expect_refused("vip key twice", &m, "twice");
	mk_world(&m);
	m.cfg.flags |= LB_CFG_NO_PORT0;
	expect_refused("port-wide VIP with NO_PORT0", &m, "port-wide");

	mk_world(&m);
	m.rings[0].index = FERRY_SNAP_MAX_RINGS;
	expect_refused("ring index", &m, "index");
	mk_world(&m);
	m.rings[1].index = m.rings[0].index;
	expect_refused("ring twice", &m, "twice");
	mk_world(&m);
	m.slots[0][0] = FERRY_MAX_BACKENDS;
	expect_refused("ring slot id", &m, "backend id");
	mk_world(&m);
	m.rings[0].size = 0;
	for (i = 0; i < m.in.nvips; i++)
		if (m.vips[i].vip.ring == m.rings[0].index)
			m.vips[i].vip.ring_size = 0;
	expect_refused("ring size 0", &m, "size 0");

	mk_world(&m);
	m.backends[0].id = FERRY_MAX_BACKENDS;
	expect_refused("backend id", &m, "out of range");
	mk_world(&m);
	m.backends[1].id = m.backends[0].id;
	expect_refused("backend twice", &m, "twice");
	mk_world(&m);
	m.backends[0].be.state = 9;
	expect_refused("backend state", &m, "state");
	mk_world(&m);
	m.backends[0].be.cookie = 0;
	expect_refused("backend cookie 0", &m, "cookie");
	mk_world(&m);
	m.backends[0].be.family = 0;
	expect_refused("backend family", &m, "family");
	mk_world(&m);
	m.backends[0].pad = 1;
	expect_refused("backend padding", &m, "padding");
	mk_world(&m);
	m.backends[0].be.vip_id = FERRY_MAX_VIPS;
	expect_refused("backend vip_id", &m, "vip_id");
	mk_world(&m);
	m.backends[0].be.addr.bytes[12] = 1;
	expect_refused("backend v4 address tail", &m, "IPv4 address");

	mk_world(&m);
	m.pins[0].key.prefixlen = 20;
	expect_refused("pin prefixlen 20", &m, "prefixlen");
	mk_world(&m);
	m.pins[0].key.prefixlen = 200;
	expect_refused("pin prefixlen 200", &m, "prefixlen");
	mk_world(&m);
	m.pins[0].key.addr.bytes[3] = 1; /* in a /24 */
	expect_refused("pin host bits", &m, "past the prefix");
	mk_world(&m);
	m.pins[0].key.vip_id = FERRY_MAX_VIPS;
	expect_refused("pin vip_id", &m, "vip_id");
	mk_world(&m);
	m.pins[0].pin.id = FERRY_MAX_PINS;
	expect_refused("pin id", &m, "id");
	mk_world(&m);
	m.pins[0].pin.action = 3;
	expect_refused("pin action", &m, "action");
	mk_world(&m);
	m.pins[1].pin.backend = FERRY_NO_BACKEND; /* forward */
	expect_refused("forward pin without backend", &m, "backend");
	mk_world(&m);
	m.pins[1].key = m.pins[0].key;
	expect_refused("pin twice", &m, "twice");
	mk_world(&m);
	m.pins[0].pin.pad = 1;
	expect_refused("pin padding", &m, "padding");

	/* What the loader must accept: the empty snapshot, a VIP whose ring
	 * is not (yet) in the snapshot, backends of state NONE. */
	mk_world(&m);
	m.in.nvips = m.in.nrings = m.in.nbackends = m.in.npins = 0;
	{
		size_t l;
		void *b;

		CHECK(!ferry_snap_write(&m.in, &b, &l) &&
			      parse_build(b, l) == 0,
		      "empty snapshot accepted");
		free(b);
	}
	mk_world(&m);
	m.in.nrings = 0;
	{
		size_t l;
		void *b;

		CHECK(!ferry_snap_write(&m.in, &b, &l) &&
			      parse_build(b, l) == 0,
		      "VIPs without rings accepted");
		free(b);
	}
	mk_world(&m);
	m.backends[0].be = (struct lb_backend){ 0 };
	{
		size_t l;
		void *b;

		CHECK(!ferry_snap_write(&m.in, &b, &l) &&
			      parse_build(b, l) == 0,
		      "a backend slot of state NONE accepted");
		free(b);
	}
}

/* ---- pins: the per-VIP prefix table against a straightforward LPM ------ */
static const struct lb_pin *ref_lookup(const struct ferry_snap_pin *p,
				       unsigned int n, __u32 vip,
				       const union lb_addr *a, __u32 bits)
{
	const struct lb_pin *best = NULL;
	__u32 best_len = 0, i, b;

	for (i = 0; i < n; i++) {
		__u32 len = p[i].key.prefixlen - 32;
		bool match = p[i].key.vip_id == vip && len <= bits;

		for (b = 0; b < len && match; b++)
			match = ((a->bytes[b / 8] ^
				  p[i].key.addr.bytes[b / 8]) &
				 (0x80 >> (b % 8))) == 0;
		if (match && (!best || len > best_len)) {
			best = &p[i].pin;
			best_len = len;
		}
	}
	return best;
}

static void test_pins(void)
{
	static struct ferry_snap_pin pins[600];
	struct lb_config cfg = { .mtu = 1500, .flags = LB_CFG_READY };
	struct ferry_snap_input in = { .cfg = &cfg, .pins = pins };
	unsigned int seed = 777, i, k, bad = 0;
	struct dp_tables *t;
	struct ferry_snap s;
	size_t len;
	void *buf;

	if (!have_eal) {
		printf("skip pins lookup (no EAL)\n");
		return;
	}
	/* Random prefixes on 3 VIPs, IPv4-like (<= 32 bits) and IPv6-like. */
	for (i = 0; i < 600; i++) {
		struct ferry_snap_pin *p = &pins[in.npins];
		__u32 len_bits = (__u32)rand_r(&seed) % 129, b;
		bool dup = false;

		memset(p, 0, sizeof(*p));
		p->key.vip_id = (__u32)rand_r(&seed) % 3;
		if (i % 2)
			len_bits %= 33;
		p->key.prefixlen = 32 + len_bits;
		for (b = 0; b < 16; b++)
			p->key.addr.bytes[b] =
				(__u8)(rand_r(&seed) % 4); /* dense */
		for (b = len_bits; b < 128; b++)
			p->key.addr.bytes[b / 8] &= (__u8) ~(0x80 >> (b % 8));
		p->pin.id = i;
		p->pin.action = LB_PIN_HOLD;
		p->pin.backend = FERRY_NO_BACKEND;
		for (k = 0; k < in.npins && !dup; k++)
			dup = !memcmp(&pins[k].key, &p->key, sizeof(p->key));
		if (!dup)
			in.npins++;
	}
	if (ferry_snap_write(&in, &buf, &len) ||
	    ferry_snap_parse(buf, len, &s, NULL, 0) ||
	    dp_tables_build(&s, SOCKET_ID_ANY, &t)) {
		CHECK(0, "pin tables");
		return;
	}
	for (i = 0; i < 200000; i++) {
		union lb_addr a;
		__u32 vip = (__u32)rand_r(&seed) % 4, bits = i % 2 ? 32 : 128,
		      b;
		const struct lb_pin *want, *got;

		for (b = 0; b < 16; b++)
			a.bytes[b] = (__u8)(rand_r(&seed) % 4);
		if (bits == 32)
			memset(a.bytes + 4, 0, 12);
		want = ref_lookup(pins, in.npins, vip, &a, bits);
		got = dp_pin_lookup(t, vip, &a, bits);
		if ((want ? want->id : ~0u) != (got ? got->id : ~0u))
			bad++;
	}
	CHECK(!bad, "%u of 200000 pin lookups differ from the reference LPM",
	      bad);
	printf("pins: %u prefixes on 3 VIPs, 200000 lookups checked against a reference LPM\n",
	       in.npins);
	dp_tables_free(t);
	free(buf);
}

int main(int argc, char **argv)
{
	char *args[] = { argv[0],    "--no-huge",
			 "-m",	     "256",
			 "--no-pci", "-l",
			 "0",	     "--log-level=lib.*:error",
			 NULL };
	struct dp_eal_opts o = { .name = "ferry-test-snap", .no_huge_mb = 256 };
	char why[256];
	bool no_huge;
	size_t len;
	void *buf;

	(void)argc;
	have_eal = dp_eal_init(8, args, &o, &no_huge, why, sizeof(why)) == 0;
	if (!have_eal)
		printf("note: EAL cannot start (%s): the table-building checks are skipped\n",
		       why);
	if (world_snapshot(fixtures_world(), &buf, &len)) {
		printf("FAIL: writing the world snapshot\n");
		return 1;
	}
	test_world(buf, len);
	test_truncated(buf, len);
	test_flipped(buf, len);
	test_flipped_sealed(buf, len);
	test_random(buf, len);
	test_rules(buf, len);
	test_pins();
	free(buf);
	printf("snapshot (%zu bytes): %d checks passed, %d failed\n", len,
	       npass, nfail);
	if (have_eal)
		dp_eal_cleanup();
	return nfail ? 1 : 0;
}
