/* control/maglev.h: Maglev ring building: weighted, deterministic from backend identity. */
#ifndef FERRY_CONTROL_MAGLEV_H
#define FERRY_CONTROL_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>

#include <ferry/abi.h>

struct maglev_backend {
	union lb_addr addr; /* identity: the backend's address */
	__u8 family; /* LB_AF_INET or LB_AF_INET6 */
	__u32 weight; /* 0 = not in the ring */
};

/*
 * The ring (Eisenbud et al., "Maglev", NSDI 2016, with weights): each backend
 * in the ring (weight > 0) walks its permutation of the m slots; in turn,
 * each claims the first slot of its walk that no one holds yet, until all m
 * are held. The turns: round r = 1, 2, ... visits the backends in identity
 * order (family, then address bytes); each adds its weight w to a credit
 * that starts at 0 and, when the credit reaches maxw (the largest weight),
 * pays maxw and claims one slot. So its k-th claim falls in round
 * ceil(k * maxw / w), and it holds w / (sum of weights) of the slots, off by
 * less than 2n / m (n backends; 2 / m for equal weights).
 *
 * How the turns are computed; every choice gives the same ring, they differ
 * only in cost, so AUTO is what callers want. The others are for the tests
 * and the benchmark.
 */
enum maglev_sched {
	MAGLEV_SCHED_AUTO = 0, /* the cheaper of the two for this input */
	MAGLEV_SCHED_ROUNDS, /* visit every backend in every round */
	MAGLEV_SCHED_HEAP, /* take the next claim from a min-heap */
};

/* Whether m is prime. */
bool maglev_is_prime(__u32 m);

/*
 * A backend's permutation of the m slots (m prime, m >= 3): offset,
 * offset + skip, offset + 2 * skip, ... (mod m), with offset = h1 % m and
 * skip = h2 % (m - 1) + 1, h1 and h2 lb_hash_bytes() of its address (4 or 16
 * bytes) under two seeds: the same on every machine. For m < 3: 0 and 1.
 */
void maglev_permutation(const struct maglev_backend *b, __u32 m, __u32 *offset,
			__u32 *skip);

/*
 * Fill ring[0..m-1] with indexes into be[]. The same set of backends in any
 * order gives the same ring in terms of identities (ring[i] names the same
 * address). An identity is the family and the address: 4 bytes for IPv4 (the
 * rest of addr is ignored), 16 for IPv6.
 *
 * Returns 0; -EINVAL: m not prime, m < 3, m > FERRY_RING_SIZE_MAX, n > m,
 * family not LB_AF_INET / LB_AF_INET6, duplicate identity, or a NULL pointer
 * (ring untouched); -ENOENT: no backend with weight > 0 (ring filled with
 * FERRY_NO_BACKEND); -ENOMEM (ring untouched).
 */
int maglev_build(const struct maglev_backend *be, size_t n, __u32 m,
		 __u32 *ring);

/* maglev_build() with the turns computed as sched says (-EINVAL for a value
 * not in enum maglev_sched). */
int maglev_build_sched(const struct maglev_backend *be, size_t n, __u32 m,
		       __u32 *ring, enum maglev_sched sched);

/*
 * 64-bit digest of a ring by identities (slot -> family and address bytes),
 * equal on every machine that built the same ring, whatever the order of be[]
 * and whatever weight-0 backends it holds. Slots whose value is not an index
 * into be[] (FERRY_NO_BACKEND) count as empty. Never fails.
 */
__u64 maglev_digest(const struct maglev_backend *be, size_t n,
		    const __u32 *ring, __u32 m);

#endif /* FERRY_CONTROL_MAGLEV_H */
