/* tests/fuzz/testpkt.h: a small test-only frame builder shared by the common/ unit tests and the fuzz corpus generator. Userspace only. */
#ifndef FERRY_TESTS_TESTPKT_H
#define FERRY_TESTS_TESTPKT_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

/*
 * A frame is built front to back by appending headers. IP headers are
 * remembered; tp_done() makes every remembered IP header's length run to
 * the current end (the quoted packet in an ICMP error included) and fills
 * IPv4 header checksums. Padding appended after tp_done() is not counted.
 *
 * The storage is placed so that the frame starts at 2 mod 4 (NET_IP_ALIGN):
 * the IP header after a 14- or 18-byte L2 header is then 4-byte aligned, as
 * the core's struct accesses expect (UBSan checks alignment).
 */
#define TP_MAX 2048
#define TP_MAX_IP 4

struct tp {
	__u8 store[TP_MAX + 8] __attribute__((aligned(8)));
	size_t len;
	int nip;
	size_t ip_off[TP_MAX_IP];
	int ip_ver[TP_MAX_IP];
};

static inline __u8 *tp_frame(struct tp *t)
{
	return t->store + 2;
}

static inline void tp_init(struct tp *t)
{
	memset(t, 0, sizeof(*t));
}

static inline __u8 *tp_put(struct tp *t, size_t n)
{
	__u8 *p = tp_frame(t) + t->len;

	if (t->len + n > TP_MAX)
		abort();
	memset(p, 0, n);
	t->len += n;
	return p;
}

static inline void tp_bytes(struct tp *t, const void *data, size_t n)
{
	memcpy(tp_put(t, n), data, n);
}

static inline void tp_be16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static inline void tp_be32(__u8 *p, __u32 v)
{
	tp_be16(p, (__u16)(v >> 16));
	tp_be16(p + 2, (__u16)v);
}

static inline __u16 tp_get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static inline void tp_eth(struct tp *t, __u16 proto)
{
	static const __u8 dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const __u8 src[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	__u8 *p = tp_put(t, 14);

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	tp_be16(p + 12, proto);
}

static inline void tp_vlan(struct tp *t, __u16 tci, __u16 proto)
{
	__u8 *p = tp_put(t, 4);

	tp_be16(p, tci);
	tp_be16(p + 2, proto);
}

/* Ethernet (optionally tagged) for an IP family: 4 or 6. */
static inline void tp_l2(struct tp *t, int family, int vlan, __u16 tci)
{
	__u16 et = family == 6 ? 0x86dd : 0x0800;

	if (vlan) {
		tp_eth(t, 0x8100);
		tp_vlan(t, tci, et);
	} else {
		tp_eth(t, et);
	}
}

static inline void tp_addr(void *dst, int family, const char *s)
{
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, s, dst) != 1)
		abort();
}

static inline void tp_remember(struct tp *t, size_t off, int ver)
{
	if (t->nip == TP_MAX_IP)
		abort();
	t->ip_off[t->nip] = off;
	t->ip_ver[t->nip] = ver;
	t->nip++;
}

/* IPv4 header with ihl_words (5..15) words; options are NOPs (1). */
static inline __u8 *tp_ip4_opt(struct tp *t, const char *src, const char *dst,
			       __u8 proto, int ihl_words)
{
	__u8 *p;

	tp_remember(t, t->len, 4);
	p = tp_put(t, (size_t)ihl_words * 4);
	p[0] = (__u8)(0x40 | ihl_words);
	p[8] = 64;
	p[9] = proto;
	tp_addr(p + 12, 4, src);
	tp_addr(p + 16, 4, dst);
	memset(p + 20, 1, (size_t)ihl_words * 4 - 20);
	return p;
}

static inline __u8 *tp_ip4(struct tp *t, const char *src, const char *dst,
			   __u8 proto)
{
	return tp_ip4_opt(t, src, dst, proto, 5);
}

/* frag_off field in host order: 0x4000 DF, 0x2000 MF, low 13 bits offset. */
static inline void tp_ip4_frag(__u8 *ip, __u16 frag_off)
{
	tp_be16(ip + 6, frag_off);
}

static inline __u8 *tp_ip6(struct tp *t, const char *src, const char *dst,
			   __u8 nexthdr)
{
	__u8 *p;

	tp_remember(t, t->len, 6);
	p = tp_put(t, 40);
	p[0] = 0x60;
	p[6] = nexthdr;
	p[7] = 64;
	tp_addr(p + 8, 6, src);
	tp_addr(p + 24, 6, dst);
	return p;
}

/* Traffic class / TOS byte of an IP header. */
static inline void tp_set_tos(__u8 *ip, __u8 tos)
{
	if ((ip[0] >> 4) == 4) {
		ip[1] = tos;
	} else {
		ip[0] = (__u8)(0x60 | tos >> 4);
		ip[1] = (__u8)((ip[1] & 0x0f) | (tos & 0x0f) << 4);
	}
}

/* Generic IPv6 option-style extension header of total_len bytes
 * (multiple of 8; for AH a multiple of 4, at least 12). */
static inline __u8 *tp_ext6(struct tp *t, __u8 type, __u8 nexthdr,
			    size_t total_len)
{
	__u8 *p = tp_put(t, total_len);

	p[0] = nexthdr;
	if (type == 51) /* AH: length in 4-byte units minus 2 */
		p[1] = (__u8)(total_len / 4 - 2);
	else
		p[1] = (__u8)(total_len / 8 - 1);
	if (type != 51 && total_len > 2)
		p[2] = 1, p[3] = (__u8)(total_len - 4); /* PadN */
	return p;
}

/* IPv6 fragment header: offset in 8-byte units, mf 0/1. */
static inline __u8 *tp_frag6(struct tp *t, __u8 nexthdr, __u16 offset, int mf)
{
	__u8 *p = tp_put(t, 8);

	p[0] = nexthdr;
	tp_be16(p + 2, (__u16)(offset << 3 | (mf ? 1 : 0)));
	tp_be32(p + 4, 0x12345678);
	return p;
}

static inline __u8 *tp_tcp(struct tp *t, __u16 sport, __u16 dport, __u8 flags)
{
	__u8 *p = tp_put(t, 20);

	tp_be16(p, sport);
	tp_be16(p + 2, dport);
	tp_be32(p + 4, 1000);
	p[12] = 5 << 4;
	p[13] = flags;
	tp_be16(p + 14, 65535);
	return p;
}

static inline __u8 *tp_udp(struct tp *t, __u16 sport, __u16 dport)
{
	__u8 *p = tp_put(t, 8);

	tp_be16(p, sport);
	tp_be16(p + 2, dport);
	return p;
}

/* ICMP / ICMPv6 header: type, code, 4 bytes rest (e.g. the MTU). */
static inline __u8 *tp_icmp(struct tp *t, __u8 type, __u8 code, __u32 rest)
{
	__u8 *p = tp_put(t, 8);

	p[0] = type;
	p[1] = code;
	tp_be32(p + 4, rest);
	return p;
}

static inline void tp_payload(struct tp *t, size_t n)
{
	__u8 *p = tp_put(t, n);

	for (size_t i = 0; i < n; i++)
		p[i] = (__u8)(0xa0 + i);
}

static inline __u16 tp_csum(const __u8 *p, size_t n)
{
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += tp_get16(p + i);
	if (n & 1)
		sum += (__u32)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Lengths and IPv4 checksums of every IP header; returns the frame length. */
static inline size_t tp_done(struct tp *t)
{
	for (int i = t->nip - 1; i >= 0; i--) {
		__u8 *p = tp_frame(t) + t->ip_off[i];
		size_t rest = t->len - t->ip_off[i];

		if (t->ip_ver[i] == 4) {
			size_t ihl = (size_t)(p[0] & 0xf) * 4;

			tp_be16(p + 2, (__u16)rest);
			tp_be16(p + 10, 0);
			tp_be16(p + 10, tp_csum(p, ihl));
		} else {
			tp_be16(p + 4, (__u16)(rest - 40));
		}
	}
	return t->len;
}

/* Ethernet padding after the IP packet (not counted in its length). */
static inline size_t tp_pad(struct tp *t, size_t n)
{
	memset(tp_put(t, n), 0, n);
	return t->len;
}

/* A heap copy of exactly len bytes (at 2 mod 4), so ASan sees a read
 * past the frame's end; free with tp_heap_free(). */
static inline __u8 *tp_heap(const void *frame, size_t len)
{
	__u8 *p = malloc(len + 2);

	if (!p)
		abort();
	memcpy(p + 2, frame, len);
	return p + 2;
}

static inline void tp_heap_free(__u8 *p)
{
	if (p)
		free(p - 2);
}

#endif /* FERRY_TESTS_TESTPKT_H */
