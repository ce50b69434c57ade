/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane/snapshot.h: the versioned binary table snapshot that control hands the DPDK dataplane (layout, writer, validating parser). Userspace only; no DPDK, so ferryd links it too.
 *
 * A snapshot is one generation of every table, whole: the DPDK dataplane
 * builds its tables from it to the side and swaps them in at once. It is
 * made and read on the same machine, so integers are in host byte order
 * (the table records are the structs of ferry/abi.h, whose address and port
 * fields are in network order as everywhere). The magic read back in the
 * wrong byte order or any other mismatch is refused.
 *
 *   offset 0            struct ferry_snap_header (48 bytes)
 *   header_size         struct ferry_snap_section[nsections] (24 bytes each)
 *   section offsets     each 8-aligned, inside the file, not overlapping:
 *     CONFIG    1 x struct lb_config; hash_seed is the flow hash seed
 *     VIPS      n x struct ferry_snap_vip (key -> value, as the vips map)
 *     RINGS     n x { struct ferry_snap_ring; __u32 slot[size]; } packed
 *               one after another (4-aligned); index as in the rings map
 *               (VIP id * FERRY_RING_SLOTS + slot); only live rings needed
 *     BACKENDS  n x struct ferry_snap_backend (id -> backend)
 *     PINS      n x struct ferry_snap_pin (LPM key -> pin)
 *
 * Every section appears exactly once (counts may be 0). checksum is
 * lb_hash_bytes() of every byte after the header, seeded with
 * FERRY_SNAP_CSUM_SEED: a corrupted table is refused, not served.
 *
 * ferry_snap_parse() checks everything a dataplane relies on (see
 * snapshot.c for the list): bad input gives -EINVAL and a message, never a
 * crash or an out-of-bounds read. A new incompatible layout bumps
 * FERRY_SNAP_VERSION; a dataplane refuses versions it does not know.
 */
#ifndef FERRY_DATAPLANE_SNAPSHOT_H
#define FERRY_DATAPLANE_SNAPSHOT_H

#include <stddef.h>
#include <ferry/abi.h>

#define FERRY_SNAP_MAGIC "FERRYTBL" /* 8 bytes, no terminator stored */
#define FERRY_SNAP_VERSION 1
#define FERRY_SNAP_CSUM_SEED 0x46455259u /* "FERY" */
#define FERRY_SNAP_MAX_SECTIONS 16
/* Limits of the tables, as the XDP maps have them. */
#define FERRY_SNAP_MAX_VIP_KEYS (FERRY_MAX_VIPS * 4)
#define FERRY_SNAP_MAX_RINGS (FERRY_MAX_VIPS * FERRY_RING_SLOTS)

enum ferry_snap_section_type {
	FERRY_SNAP_CONFIG = 1,
	FERRY_SNAP_VIPS,
	FERRY_SNAP_RINGS,
	FERRY_SNAP_BACKENDS,
	FERRY_SNAP_PINS,
	FERRY_SNAP_SECTION_MAX
};

struct ferry_snap_header {
	char magic[8]; /* FERRY_SNAP_MAGIC */
	__u32 version; /* FERRY_SNAP_VERSION */
	__u32 header_size; /* sizeof(struct ferry_snap_header) */
	__u64 total_size; /* the whole snapshot, header included */
	__u32 generation; /* equals the config section's generation */
	__u32 nsections;
	__u32 checksum; /* lb_hash_bytes(bytes after the header) */
	__u32 flags; /* none defined: 0 */
	__u32 pad[2]; /* 0 */
};

struct ferry_snap_section {
	__u32 type; /* enum ferry_snap_section_type */
	__u32 count; /* records in the section */
	__u64 offset; /* from the start of the snapshot, 8-aligned */
	__u64 size; /* bytes */
};

struct ferry_snap_vip {
	struct lb_vip_key key;
	struct lb_vip vip;
};

struct ferry_snap_ring {
	__u32 index; /* rings map key: VIP id * FERRY_RING_SLOTS + slot */
	__u32 size; /* M, 1 .. FERRY_RING_SIZE_MAX; size slots follow */
};

struct ferry_snap_backend {
	__u32 id; /* backends map key */
	__u32 pad; /* 0 */
	struct lb_backend be;
};

struct ferry_snap_pin {
	struct lb_pin_key key;
	struct lb_pin pin;
};

_Static_assert(sizeof(struct ferry_snap_header) == 48, "snap header");
_Static_assert(sizeof(struct ferry_snap_section) == 24, "snap section");
_Static_assert(sizeof(struct ferry_snap_vip) == 36, "snap vip");
_Static_assert(sizeof(struct ferry_snap_ring) == 8, "snap ring");
_Static_assert(sizeof(struct ferry_snap_backend) == 40, "snap backend");
_Static_assert(sizeof(struct ferry_snap_pin) == 40, "snap pin");

/* ---- writing ---------------------------------------------------------- */
struct ferry_snap_ring_in {
	__u32 index;
	__u32 size;
	const __u32 *slot; /* size backend ids (FERRY_NO_BACKEND: empty) */
};

/* One generation, as arrays; cfg->generation and cfg->hash_seed are the
 * snapshot's generation and flow hash seed. */
struct ferry_snap_input {
	const struct lb_config *cfg;
	const struct ferry_snap_vip *vips;
	unsigned int nvips;
	const struct ferry_snap_ring_in *rings;
	unsigned int nrings;
	const struct ferry_snap_backend *backends;
	unsigned int nbackends;
	const struct ferry_snap_pin *pins;
	unsigned int npins;
};

/* Lays out in as a snapshot in a new buffer (malloc, free() it): 0, or
 * -EINVAL (a count over its limit), -ENOMEM. The content is not checked
 * here: ferry_snap_parse() is the one judge, on both sides. */
int ferry_snap_write(const struct ferry_snap_input *in, void **buf,
		     size_t *len);

/* Recomputes the header's checksum after buf was edited (tests). */
void ferry_snap_seal(void *buf, size_t len);

/* ---- reading ---------------------------------------------------------- */
/* A validated snapshot: pointers into the caller's buffer, which must stay
 * alive and unchanged while they are used. */
struct ferry_snap {
	__u32 generation;
	__u32 hash_seed;
	const struct lb_config *cfg;
	const struct ferry_snap_vip *vips;
	__u32 nvips;
	const __u8 *rings; /* nrings records: ferry_snap_ring_next() */
	__u32 nrings;
	const struct ferry_snap_backend *backends;
	__u32 nbackends;
	__u32 backend_id_max; /* largest backend id + 1 (0: none) */
	const struct ferry_snap_pin *pins;
	__u32 npins;
};

/* Validates buf (8-aligned, len bytes) and fills s. 0, or -EINVAL with a
 * message in err (when err is not NULL). */
int ferry_snap_parse(const void *buf, size_t len, struct ferry_snap *s,
		     char *err, size_t errlen);

/* Ring records of a parsed snapshot, in order: *pos starts at 0, and the
 * caller asks s->nrings times. slot points at the ring's size slots. */
static inline const struct ferry_snap_ring *
ferry_snap_ring_next(const struct ferry_snap *s, size_t *pos,
		     const __u32 **slot)
{
	const struct ferry_snap_ring *r =
		(const struct ferry_snap_ring *)(s->rings + *pos);

	*slot = (const __u32 *)(r + 1);
	*pos += sizeof(*r) + (size_t)r->size * sizeof(__u32);
	return r;
}

/* Reads a snapshot file into a new 8-aligned buffer (free() it) and
 * parses it. 0, -errno (file), or -EINVAL (content, message in err). */
int ferry_snap_read_file(const char *path, void **buf, size_t *len,
			 struct ferry_snap *s, char *err, size_t errlen);

/* Writes buf to path atomically (a temporary file renamed). 0 or -errno. */
int ferry_snap_write_file(const char *path, const void *buf, size_t len);

#endif /* FERRY_DATAPLANE_SNAPSHOT_H */
