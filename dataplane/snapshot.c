/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/snapshot.c: writes and validates table snapshots (format in snapshot.h). Userspace only; no DPDK.
 *
 * What ferry_snap_parse() refuses (-EINVAL), so that a dataplane can index
 * its arrays with every id it finds without another check:
 * - header: buffer not 8-aligned or shorter than the header, wrong magic or
 *   version, header_size, total_size other than the buffer length, flags or
 *   padding not 0, a section table past the end, a checksum mismatch;
 * - sections: an unknown or repeated type, one missing, an offset not
 *   8-aligned, inside the header or section table, or past the end,
 *   sections overlapping, a size that is not count records;
 * - config: count not 1, unknown flags, mtu under 68, a generation other
 *   than the header's, padding not 0;
 * - VIPs: more than FERRY_SNAP_MAX_VIP_KEYS, family not IPv4/IPv6, protocol
 *   not TCP/UDP, IPv4 address bytes past the first four not 0, id or ring
 *   index out of range, unknown flags, fragments-only on a port other than
 *   0, ring_size over FERRY_RING_SIZE_MAX or other than the size of the
 *   ring it names (when that ring is in the snapshot), a key twice, a
 *   port-wide VIP while the config says there is none (LB_CFG_NO_PORT0);
 * - rings: more than FERRY_SNAP_MAX_RINGS, a record past the section, index
 *   out of range or twice, size 0 or over FERRY_RING_SIZE_MAX, a slot that
 *   is neither FERRY_NO_BACKEND nor a backend id in range, bytes left over;
 * - backends: more than FERRY_MAX_BACKENDS, id out of range or twice,
 *   unknown state, padding not 0; a backend in use (state not NONE) with a
 *   family not IPv4/IPv6, cookie 0, IPv4 address bytes past four not 0, or
 *   vip_id out of range;
 * - pins: more than FERRY_MAX_PINS, prefixlen not 32..160 (the VIP id's
 *   32 bits plus the address's), vip_id or pin id out of range, address
 *   bits past the prefix not 0, unknown action, a forward pin without a
 *   backend id in range, padding not 0, one prefix twice on one VIP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include "common/hash.h"
#include "snapshot.h"

#define SNAP_MIN_MTU 68

static const __u32 snap_recsize[FERRY_SNAP_SECTION_MAX] = {
	[FERRY_SNAP_CONFIG] = sizeof(struct lb_config),
	[FERRY_SNAP_VIPS] = sizeof(struct ferry_snap_vip),
	[FERRY_SNAP_RINGS] = 0, /* variable */
	[FERRY_SNAP_BACKENDS] = sizeof(struct ferry_snap_backend),
	[FERRY_SNAP_PINS] = sizeof(struct ferry_snap_pin),
};

static const __u32 snap_maxcount[FERRY_SNAP_SECTION_MAX] = {
	[FERRY_SNAP_CONFIG] = 1,
	[FERRY_SNAP_VIPS] = FERRY_SNAP_MAX_VIP_KEYS,
	[FERRY_SNAP_RINGS] = FERRY_SNAP_MAX_RINGS,
	[FERRY_SNAP_BACKENDS] = FERRY_MAX_BACKENDS,
	[FERRY_SNAP_PINS] = FERRY_MAX_PINS,
};

static const char *const snap_name[FERRY_SNAP_SECTION_MAX] = {
	[FERRY_SNAP_CONFIG] = "config", [FERRY_SNAP_VIPS] = "vips",
	[FERRY_SNAP_RINGS] = "rings",	[FERRY_SNAP_BACKENDS] = "backends",
	[FERRY_SNAP_PINS] = "pins",
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static __u32 snap_checksum(const __u8 *buf, size_t len)
{
	size_t hs = sizeof(struct ferry_snap_header);

	return lb_hash_bytes(buf + hs, (__u32)(len - hs), FERRY_SNAP_CSUM_SEED);
}

/* ---- writing ---------------------------------------------------------- */
static size_t rings_size(const struct ferry_snap_input *in)
{
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < in->nrings; i++)
		n += sizeof(struct ferry_snap_ring) +
		     (size_t)in->rings[i].size * sizeof(__u32);
	return n;
}

int ferry_snap_write(const struct ferry_snap_input *in, void **out,
		     size_t *outlen)
{
	struct ferry_snap_section sec[FERRY_SNAP_SECTION_MAX - 1];
	struct ferry_snap_header *h;
	size_t size[FERRY_SNAP_SECTION_MAX], off, total;
	__u32 count[FERRY_SNAP_SECTION_MAX];
	unsigned int i, t, ns = FERRY_SNAP_SECTION_MAX - 1;
	__u8 *buf, *p;

	if (!in->cfg || in->nvips > FERRY_SNAP_MAX_VIP_KEYS ||
	    in->nrings > FERRY_SNAP_MAX_RINGS ||
	    in->nbackends > FERRY_MAX_BACKENDS || in->npins > FERRY_MAX_PINS)
		return -EINVAL;
	for (i = 0; i < in->nrings; i++)
		if (in->rings[i].size > FERRY_RING_SIZE_MAX)
			return -EINVAL;
	count[FERRY_SNAP_CONFIG] = 1;
	count[FERRY_SNAP_VIPS] = in->nvips;
	count[FERRY_SNAP_RINGS] = in->nrings;
	count[FERRY_SNAP_BACKENDS] = in->nbackends;
	count[FERRY_SNAP_PINS] = in->npins;
	for (t = 1; t < FERRY_SNAP_SECTION_MAX; t++)
		size[t] = (size_t)count[t] * snap_recsize[t];
	size[FERRY_SNAP_RINGS] = rings_size(in);

	off = align8(sizeof(*h) + ns * sizeof(sec[0]));
	for (t = 1; t < FERRY_SNAP_SECTION_MAX; t++) {
		sec[t - 1] = (struct ferry_snap_section){ .type = t,
							  .count = count[t],
							  .offset = off,
							  .size = size[t] };
		off = align8(off + size[t]);
	}
	total = off;
	buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;

	h = (struct ferry_snap_header *)buf;
	memcpy(h->magic, FERRY_SNAP_MAGIC, sizeof(h->magic));
	h->version = FERRY_SNAP_VERSION;
	h->header_size = sizeof(*h);
	h->total_size = total;
	h->generation = in->cfg->generation;
	h->nsections = ns;
	memcpy(buf + sizeof(*h), sec, ns * sizeof(sec[0]));

	memcpy(buf + sec[FERRY_SNAP_CONFIG - 1].offset, in->cfg,
	       sizeof(*in->cfg));
	if (in->nvips)
		memcpy(buf + sec[FERRY_SNAP_VIPS - 1].offset, in->vips,
		       size[FERRY_SNAP_VIPS]);
	p = buf + sec[FERRY_SNAP_RINGS - 1].offset;
	for (i = 0; i < in->nrings; i++) {
		struct ferry_snap_ring r = { in->rings[i].index,
					     in->rings[i].size };

		memcpy(p, &r, sizeof(r));
		p += sizeof(r);
		if (r.size) {
			memcpy(p, in->rings[i].slot, r.size * sizeof(__u32));
			p += r.size * sizeof(__u32);
		}
	}
	if (in->nbackends)
		memcpy(buf + sec[FERRY_SNAP_BACKENDS - 1].offset, in->backends,
		       size[FERRY_SNAP_BACKENDS]);
	if (in->npins)
		memcpy(buf + sec[FERRY_SNAP_PINS - 1].offset, in->pins,
		       size[FERRY_SNAP_PINS]);
	h->checksum = snap_checksum(buf, total);
	*out = buf;
	*outlen = total;
	return 0;
}

void ferry_snap_seal(void *buf, size_t len)
{
	struct ferry_snap_header *h = buf;

	if (len >= sizeof(*h))
		h->checksum = snap_checksum(buf, len);
}

/* ---- reading ---------------------------------------------------------- */
struct snap_ctx {
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int bad(struct snap_ctx *c,
						     const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int addr_v4_clean(const union lb_addr *a)
{
	return !a->v6[1] && !a->v6[2] && !a->v6[3];
}

static int family_ok(__u8 f)
{
	return f == LB_AF_INET || f == LB_AF_INET6;
}

static int backend_ref_ok(__u32 id)
{
	return id == FERRY_NO_BACKEND || id < FERRY_MAX_BACKENDS;
}

static int check_header(struct snap_ctx *c, const __u8 *buf, size_t len)
{
	const struct ferry_snap_header *h =
		(const struct ferry_snap_header *)buf;

	if (!buf || ((uintptr_t)buf & 7))
		return bad(c, "snapshot buffer not 8-aligned");
	if (len < sizeof(*h))
		return bad(c, "snapshot of %zu bytes: shorter than its header",
			   len);
	if (memcmp(h->magic, FERRY_SNAP_MAGIC, sizeof(h->magic)))
		return bad(c, "not a Ferry table snapshot (bad magic)");
	if (h->version != FERRY_SNAP_VERSION)
		return bad(c, "snapshot version %u, this dataplane reads %u",
			   h->version, FERRY_SNAP_VERSION);
	if (h->header_size != sizeof(*h))
		return bad(c, "header_size %u, want %zu", h->header_size,
			   sizeof(*h));
	if (h->total_size != len)
		return bad(c, "total_size %llu, but %zu bytes given",
			   (unsigned long long)h->total_size, len);
	if (h->flags || h->pad[0] || h->pad[1])
		return bad(c, "header flags or padding not 0");
	if (h->nsections == 0 || h->nsections > FERRY_SNAP_MAX_SECTIONS)
		return bad(c, "%u sections", h->nsections);
	if ((size_t)h->nsections * sizeof(struct ferry_snap_section) >
	    len - sizeof(*h))
		return bad(c, "section table past the end");
	if (h->checksum != snap_checksum(buf, len))
		return bad(c, "checksum mismatch: snapshot corrupted");
	return 0;
}

/* Locates every section; sec[type] is it (bounds and sizes checked). */
static int check_sections(struct snap_ctx *c, const __u8 *buf, size_t len,
			  const struct ferry_snap_section **sec)
{
	const struct ferry_snap_header *h =
		(const struct ferry_snap_header *)buf;
	const struct ferry_snap_section *tab =
		(const struct ferry_snap_section *)(buf + sizeof(*h));
	size_t first = sizeof(*h) + h->nsections * sizeof(*tab);
	unsigned int i, j, t;

	for (t = 0; t < FERRY_SNAP_SECTION_MAX; t++)
		sec[t] = NULL;
	for (i = 0; i < h->nsections; i++) {
		const struct ferry_snap_section *s = &tab[i];

		t = s->type;
		if (t == 0 || t >= FERRY_SNAP_SECTION_MAX)
			return bad(c, "section %u: unknown type %u", i, t);
		if (sec[t])
			return bad(c, "section %s twice", snap_name[t]);
		sec[t] = s;
		if (s->offset & 7)
			return bad(c, "section %s: offset %llu not 8-aligned",
				   snap_name[t], (unsigned long long)s->offset);
		if (s->offset < first || s->offset > len ||
		    s->size > len - s->offset)
			return bad(
				c,
				"section %s: bytes %llu+%llu outside the snapshot",
				snap_name[t], (unsigned long long)s->offset,
				(unsigned long long)s->size);
		if (s->count > snap_maxcount[t])
			return bad(c, "section %s: %u records, at most %u",
				   snap_name[t], s->count, snap_maxcount[t]);
		if (snap_recsize[t] &&
		    s->size != (__u64)s->count * snap_recsize[t])
			return bad(
				c,
				"section %s: %llu bytes for %u records of %u",
				snap_name[t], (unsigned long long)s->size,
				s->count, snap_recsize[t]);
	}
	for (t = 1; t < FERRY_SNAP_SECTION_MAX; t++)
		if (!sec[t])
			return bad(c, "section %s missing", snap_name[t]);
	/* Sections must not share bytes (a record would mean two things). */
	for (i = 1; i < FERRY_SNAP_SECTION_MAX; i++)
		for (j = i + 1; j < FERRY_SNAP_SECTION_MAX; j++) {
			const struct ferry_snap_section *a = sec[i],
							*b = sec[j];

			if (a->size && b->size &&
			    a->offset < b->offset + b->size &&
			    b->offset < a->offset + a->size)
				return bad(c, "sections %s and %s overlap",
					   snap_name[i], snap_name[j]);
		}
	return 0;
}

static int check_config(struct snap_ctx *c, const struct lb_config *cfg,
			__u32 generation)
{
	if (cfg->flags & ~(LB_CFG_READY | LB_CFG_NO_PORT0))
		return bad(c, "config: unknown flags 0x%x", cfg->flags);
	if (cfg->mtu < SNAP_MIN_MTU)
		return bad(c, "config: mtu %u under %u", cfg->mtu,
			   SNAP_MIN_MTU);
	if (cfg->generation != generation)
		return bad(c, "config: generation %u, header says %u",
			   cfg->generation, generation);
	if (cfg->pad)
		return bad(c, "config: padding not 0");
	return 0;
}

/* Walks the ring records; ring_size[index] = size (0: no ring there). */
static int check_rings(struct snap_ctx *c, const __u8 *p, __u64 size,
		       __u32 count, __u32 *ring_size)
{
	__u64 off = 0;
	__u32 i, k;

	for (i = 0; i < count; i++) {
		const struct ferry_snap_ring *r;
		const __u32 *slot;

		if (size - off < sizeof(*r))
			return bad(c, "rings: record %u past the section", i);
		r = (const struct ferry_snap_ring *)(p + off);
		off += sizeof(*r);
		if (r->index >= FERRY_SNAP_MAX_RINGS)
			return bad(c, "rings: index %u out of range", r->index);
		if (ring_size[r->index])
			return bad(c, "rings: index %u twice", r->index);
		if (r->size == 0 || r->size > FERRY_RING_SIZE_MAX)
			return bad(c, "rings: ring %u of size %u", r->index,
				   r->size);
		if ((size - off) / sizeof(__u32) < r->size)
			return bad(c, "rings: ring %u past the section",
				   r->index);
		slot = (const __u32 *)(p + off);
		for (k = 0; k < r->size; k++)
			if (!backend_ref_ok(slot[k]))
				return bad(
					c,
					"rings: ring %u slot %u: backend id %u out of range",
					r->index, k, slot[k]);
		off += (__u64)r->size * sizeof(__u32);
		ring_size[r->index] = r->size;
	}
	if (off != size)
		return bad(c, "rings: %llu bytes left after %u records",
			   (unsigned long long)(size - off), count);
	return 0;
}

static int cmp_vip_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct lb_vip_key));
}

static int check_vips(struct snap_ctx *c, const struct ferry_snap_vip *v,
		      __u32 n, const __u32 *ring_size,
		      const struct lb_config *cfg)
{
	const __u32 known = LB_VIP_HASH_SOURCE | LB_VIP_HAS_PINS |
			    LB_VIP_FRAGS_ONLY;
	struct lb_vip_key *keys;
	__u32 i;
	int err = 0;

	for (i = 0; i < n; i++) {
		const struct lb_vip_key *k = &v[i].key;
		const struct lb_vip *x = &v[i].vip;

		if (!family_ok(k->family))
			return bad(c, "vips: entry %u: family %u", i,
				   k->family);
		if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP)
			return bad(c, "vips: entry %u: protocol %u", i,
				   k->proto);
		if (k->family == LB_AF_INET && !addr_v4_clean(&k->addr))
			return bad(
				c,
				"vips: entry %u: IPv4 address with bytes past the fourth",
				i);
		if (x->id >= FERRY_MAX_VIPS)
			return bad(c, "vips: entry %u: id %u out of range", i,
				   x->id);
		if (x->flags & ~known)
			return bad(c, "vips: entry %u: unknown flags 0x%x", i,
				   x->flags);
		if ((x->flags & LB_VIP_FRAGS_ONLY) && k->port)
			return bad(
				c,
				"vips: entry %u: fragments-only entry with a port",
				i);
		if (!k->port && !(x->flags & LB_VIP_FRAGS_ONLY) &&
		    (cfg->flags & LB_CFG_NO_PORT0))
			return bad(
				c,
				"vips: entry %u: port-wide VIP, but the config says there is none",
				i);
		if (x->ring >= FERRY_SNAP_MAX_RINGS)
			return bad(c, "vips: entry %u: ring %u out of range", i,
				   x->ring);
		if (x->ring_size > FERRY_RING_SIZE_MAX)
			return bad(c, "vips: entry %u: ring_size %u", i,
				   x->ring_size);
		if (ring_size[x->ring] && ring_size[x->ring] != x->ring_size)
			return bad(
				c,
				"vips: entry %u: ring_size %u, ring %u has %u slots",
				i, x->ring_size, x->ring, ring_size[x->ring]);
	}
	if (n < 2)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = v[i].key;
	qsort(keys, n, sizeof(*keys), cmp_vip_key);
	for (i = 1; i < n && !err; i++)
		if (!cmp_vip_key(&keys[i - 1], &keys[i]))
			err = bad(c, "vips: a key twice");
	free(keys);
	return err;
}

static int check_backends(struct snap_ctx *c,
			  const struct ferry_snap_backend *b, __u32 n,
			  __u32 *id_max)
{
	__u8 *seen = calloc(FERRY_MAX_BACKENDS / 8, 1);
	__u32 i;
	int err = 0;

	if (!seen)
		return -ENOMEM;
	*id_max = 0;
	for (i = 0; i < n && !err; i++) {
		const struct lb_backend *be = &b[i].be;
		__u32 id = b[i].id;

		if (id >= FERRY_MAX_BACKENDS) {
			err = bad(c, "backends: id %u out of range", id);
			break;
		}
		if (seen[id / 8] & (1u << (id % 8))) {
			err = bad(c, "backends: id %u twice", id);
			break;
		}
		seen[id / 8] |= (__u8)(1u << (id % 8));
		if (id + 1 > *id_max)
			*id_max = id + 1;
		if (b[i].pad || be->pad)
			err = bad(c, "backends: id %u: padding not 0", id);
		else if (be->state > LB_BE_MAINT)
			err = bad(c, "backends: id %u: state %u", id,
				  be->state);
		else if (be->state == LB_BE_NONE)
			continue;
		else if (!family_ok(be->family))
			err = bad(c, "backends: id %u: family %u", id,
				  be->family);
		else if (!be->cookie)
			err = bad(c, "backends: id %u: cookie 0", id);
		else if (be->family == LB_AF_INET && !addr_v4_clean(&be->addr))
			err = bad(
				c,
				"backends: id %u: IPv4 address with bytes past the fourth",
				id);
		else if (be->vip_id >= FERRY_MAX_VIPS)
			err = bad(c, "backends: id %u: vip_id %u out of range",
				  id, be->vip_id);
	}
	free(seen);
	return err;
}

/* Bits of a past the first bits (bytes of union lb_addr, network order). */
static int host_bits_clear(const union lb_addr *a, __u32 bits)
{
	__u32 i;

	for (i = bits; i < 128; i++)
		if (a->bytes[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

static int cmp_pin_key(const void *a, const void *b)
{
	const struct lb_pin_key *x = a, *y = b;

	if (x->vip_id != y->vip_id)
		return x->vip_id < y->vip_id ? -1 : 1;
	if (x->prefixlen != y->prefixlen)
		return x->prefixlen < y->prefixlen ? -1 : 1;
	return memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

static int check_pins(struct snap_ctx *c, const struct ferry_snap_pin *p,
		      __u32 n)
{
	struct lb_pin_key *keys;
	__u32 i;
	int err = 0;

	for (i = 0; i < n; i++) {
		const struct lb_pin_key *k = &p[i].key;
		const struct lb_pin *x = &p[i].pin;

		if (k->prefixlen < 32 || k->prefixlen > 32 + 128)
			return bad(c, "pins: entry %u: prefixlen %u", i,
				   k->prefixlen);
		if (k->vip_id >= FERRY_MAX_VIPS)
			return bad(c, "pins: entry %u: vip_id %u out of range",
				   i, k->vip_id);
		if (!host_bits_clear(&k->addr, k->prefixlen - 32))
			return bad(
				c,
				"pins: entry %u: address bits past the prefix",
				i);
		if (x->id >= FERRY_MAX_PINS)
			return bad(c, "pins: entry %u: id %u out of range", i,
				   x->id);
		if (x->action > LB_PIN_REHASH)
			return bad(c, "pins: entry %u: action %u", i,
				   x->action);
		if (x->action == LB_PIN_FORWARD ?
			    x->backend >= FERRY_MAX_BACKENDS :
			    !backend_ref_ok(x->backend))
			return bad(c, "pins: entry %u: backend id %u", i,
				   x->backend);
		if (x->pad)
			return bad(c, "pins: entry %u: padding not 0", i);
	}
	if (n < 2)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = p[i].key;
	qsort(keys, n, sizeof(*keys), cmp_pin_key);
	for (i = 1; i < n && !err; i++)
		if (!cmp_pin_key(&keys[i - 1], &keys[i]))
			err = bad(c, "pins: VIP %u: prefix twice",
				  keys[i].vip_id);
	free(keys);
	return err;
}

int ferry_snap_parse(const void *data, size_t len, struct ferry_snap *s,
		     char *err, size_t errlen)
{
	const struct ferry_snap_section *sec[FERRY_SNAP_SECTION_MAX];
	struct snap_ctx c = { err, errlen };
	const __u8 *buf = data;
	const struct ferry_snap_header *h = data;
	__u32 *ring_size;
	int r;

	if (err && errlen)
		err[0] = 0;
	r = check_header(&c, buf, len);
	if (!r)
		r = check_sections(&c, buf, len, sec);
	if (r)
		return r;
	if (sec[FERRY_SNAP_CONFIG]->count != 1)
		return bad(&c, "config: %u records, want 1",
			   sec[FERRY_SNAP_CONFIG]->count);

	memset(s, 0, sizeof(*s));
	s->generation = h->generation;
	s->cfg = (const struct lb_config *)(buf +
					    sec[FERRY_SNAP_CONFIG]->offset);
	s->hash_seed = s->cfg->hash_seed;
	s->vips = (const struct ferry_snap_vip *)(buf +
						  sec[FERRY_SNAP_VIPS]->offset);
	s->nvips = sec[FERRY_SNAP_VIPS]->count;
	s->rings = buf + sec[FERRY_SNAP_RINGS]->offset;
	s->nrings = sec[FERRY_SNAP_RINGS]->count;
	s->backends = (const struct ferry_snap_backend
			       *)(buf + sec[FERRY_SNAP_BACKENDS]->offset);
	s->nbackends = sec[FERRY_SNAP_BACKENDS]->count;
	s->pins = (const struct ferry_snap_pin *)(buf +
						  sec[FERRY_SNAP_PINS]->offset);
	s->npins = sec[FERRY_SNAP_PINS]->count;

	r = check_config(&c, s->cfg, h->generation);
	if (r)
		return r;
	ring_size = calloc(FERRY_SNAP_MAX_RINGS, sizeof(*ring_size));
	if (!ring_size)
		return -ENOMEM;
	r = check_rings(&c, s->rings, sec[FERRY_SNAP_RINGS]->size, s->nrings,
			ring_size);
	if (!r)
		r = check_vips(&c, s->vips, s->nvips, ring_size, s->cfg);
	free(ring_size);
	if (!r)
		r = check_backends(&c, s->backends, s->nbackends,
				   &s->backend_id_max);
	if (!r)
		r = check_pins(&c, s->pins, s->npins);
	return r;
}

/* ---- files ------------------------------------------------------------ */
int ferry_snap_read_file(const char *path, void **out, size_t *outlen,
			 struct ferry_snap *s, char *err, size_t errlen)
{
	struct stat st;
	size_t len, got = 0;
	void *buf;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (unsigned long long)st.st_size > (1ull << 32)) {
		close(fd);
		if (err && errlen)
			snprintf(err, errlen,
				 "%s: not a regular file of a sensible size",
				 path);
		return -EINVAL;
	}
	len = (size_t)st.st_size;
	buf = aligned_alloc(8, align8(len));
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			free(buf);
			close(fd);
			return r;
		}
		got += (size_t)n;
	}
	close(fd);
	r = ferry_snap_parse(buf, len, s, err, errlen);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int ferry_snap_write_file(const char *path, const void *buf, size_t len)
{
	char tmp[4096];
	size_t done = 0;
	ssize_t n;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < len && !r) {
		n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}
