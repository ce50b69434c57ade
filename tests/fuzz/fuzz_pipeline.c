/* tests/fuzz/fuzz_pipeline.c: libFuzzer target: one frame through parse -> select -> encap -> decap over mem_tables, with the pipeline's invariants checked. */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_world.h"
#include "common/pipeline.h"
#include "tests/fuzz/fuzz_check.h"

static struct lb_tables *W;
static struct lb_config CFG;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	W = fw_new(&CFG);
	return 0;
}

static int is_drop_reason(int reason)
{
	switch (reason) {
	case LB_R_DROP_TRUNCATED:
	case LB_R_DROP_BAD_IP:
	case LB_R_DROP_IPV6_EXT:
	case LB_R_DROP_FRAGMENT:
	case LB_R_DROP_NO_BACKEND:
	case LB_R_DROP_PIN_HOLD:
	case LB_R_DROP_TOO_BIG:
		return 1;
	}
	return 0;
}

/* What every decision must satisfy, whatever the bytes. */
static void check_result(const struct lb_result *r, size_t size)
{
	const struct lb_backend *be;

	FZ_CHECK(r->verdict == LB_TX || r->verdict == LB_PASS ||
		 r->verdict == LB_DROP);
	FZ_CHECK(r->reason < LB_REASON_MAX);
	FZ_CHECK((r->verdict == LB_TX) == (r->reason == LB_R_FORWARD));
	FZ_CHECK((r->events >> LB_EVENT_MAX) == 0);
	if (r->verdict == LB_PASS) {
		FZ_CHECK(r->reason == LB_R_PASS_NON_IP ||
			 r->reason == LB_R_PASS_NOT_VIP);
		FZ_CHECK(r->vip_id == FERRY_NO_BACKEND);
		FZ_CHECK(r->backend_id == FERRY_NO_BACKEND);
		FZ_CHECK(r->new_flow == 0);
	}
	if (r->verdict == LB_DROP)
		FZ_CHECK(is_drop_reason(r->reason));
	if (r->reason == LB_R_DROP_FRAGMENT)
		FZ_CHECK(r->pkt.frag != LB_FRAG_NONE &&
			 r->vip_id != FERRY_NO_BACKEND);
	if (r->reason == LB_R_DROP_PIN_HOLD)
		FZ_CHECK(r->pin_id != FERRY_NO_BACKEND);
	if (r->vip_id == FERRY_NO_BACKEND)
		FZ_CHECK(r->backend_id == FERRY_NO_BACKEND);
	if (r->verdict != LB_TX)
		return;

	/* Forwarded: a real backend, a plan that fits, a sane packet. */
	FZ_CHECK(r->vip_id < 8);
	FZ_CHECK(r->backend_id < MEM_MAX_BACKENDS);
	be = &W->backend[r->backend_id];
	FZ_CHECK(be->state != LB_BE_NONE);
	FZ_CHECK(r->dst_family == be->family);
	FZ_CHECK(!memcmp(&r->dst, &be->addr, sizeof(r->dst)));
	FZ_CHECK(r->outer_len == (be->family == LB_AF_INET6 ? LB_OUTER6_LEN :
							      LB_OUTER4_LEN));
	FZ_CHECK((__u32)r->pkt.ip_len + r->outer_len <= CFG.mtu);
	FZ_CHECK(r->pkt.l3_off == (r->pkt.has_vlan ? 18 : 14));
	FZ_CHECK((size_t)r->pkt.l3_off + r->pkt.ip_len <= size);
	FZ_CHECK(r->pkt.ip_len >= (r->pkt.flow.family == LB_AF_INET6 ? 40 : 20));
	FZ_CHECK(r->pkt.flow.family == LB_AF_INET ||
		 r->pkt.flow.family == LB_AF_INET6);
	FZ_CHECK(r->pkt.flow.proto == IPPROTO_TCP ||
		 r->pkt.flow.proto == IPPROTO_UDP);
	if (r->pkt.frag == LB_FRAG_LATER)
		FZ_CHECK(!r->pkt.flow.sport && !r->pkt.flow.dport);
	if (r->pkt.frag != LB_FRAG_NONE)
		FZ_CHECK(r->vip_id == 1 || r->vip_id == 2 || r->vip_id == 3 ||
			 r->vip_id == 5); /* the source-hash VIPs */
	if (r->pkt.icmp_error)
		FZ_CHECK(!r->new_flow && (r->events & (1u << LB_EV_ICMP_STEERED)));
	if (r->new_flow) {
		const struct lb_flow *f = lb_tbl_flow(W, &r->pkt.flow, 0);

		FZ_CHECK(f && f->backend == r->backend_id &&
			 f->cookie == be->cookie);
	}
	if (r->pin_id != FERRY_NO_BACKEND && !(r->events & (1u << LB_EV_PIN_REHASH)))
		FZ_CHECK(r->events & (1u << LB_EV_PIN_HIT));
}

/* Encapsulate as an engine does, check the outer headers, decap it again. */
static void check_tx(const __u8 *in, size_t size, const struct lb_result *r)
{
	size_t len = size + r->outer_len, l3 = r->pkt.l3_off, dlen;
	__u8 *o = fz_frame(in, size, r->outer_len);
	const __u8 *ip;
	struct lb_pkt p0, p1;
	__u8 *d;
	int rc, n;

	rc = lb_encap(o, o + len, r, &CFG);
	if (len < LB_ENCAP_MAX_HDR) {
		/* Documented: the writer wants that much frame (only a frame
		 * under the Ethernet minimum can be this short). */
		FZ_CHECK(rc == -1);
		fz_free(o);
		return;
	}
	FZ_CHECK(rc == 0);

	/* L2: our MACs, the tag kept, the outer family. */
	FZ_CHECK(!memcmp(o, CFG.dst_mac, 6) && !memcmp(o + 6, CFG.src_mac, 6));
	if (r->pkt.has_vlan) {
		FZ_CHECK(o[12] == 0x81 && o[13] == 0x00);
		FZ_CHECK(!memcmp(o + 14, in + 14, 2));
	}
	FZ_CHECK(o[l3 - 2] == (r->dst_family == LB_AF_INET6 ? 0x86 : 0x08));
	FZ_CHECK(o[l3 - 1] == (r->dst_family == LB_AF_INET6 ? 0xdd : 0x00));
	/* The inner IP packet (and any trailer) is the input's, unchanged. */
	FZ_CHECK(!memcmp(o + l3 + r->outer_len, in + l3, size - l3));

	ip = o + l3;
	if (r->dst_family == LB_AF_INET) {
		__u32 sum = 0;

		for (int i = 0; i < 20; i += 2)
			sum += (__u32)ip[i] << 8 | ip[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		FZ_CHECK(sum == 0xffff);
		FZ_CHECK(ip[0] == 0x45 && ip[1] == r->pkt.tos);
		FZ_CHECK((ip[2] << 8 | ip[3]) == r->pkt.ip_len + 20);
		FZ_CHECK(ip[9] == (r->pkt.flow.family == LB_AF_INET6 ? 41 : 4));
		FZ_CHECK(!memcmp(ip + 12, &CFG.encap_src_v4, 4));
		FZ_CHECK(!memcmp(ip + 16, &r->dst, 4));
	} else {
		__u32 label = (__u32)(ip[1] & 0xf) << 16 | ip[2] << 8 | ip[3];

		FZ_CHECK((ip[0] >> 4) == 6);
		FZ_CHECK((__u8)(ip[0] << 4 | ip[1] >> 4) == r->pkt.tos);
		FZ_CHECK(label == (r->hash & 0xfffff));
		FZ_CHECK((ip[4] << 8 | ip[5]) == r->pkt.ip_len);
		FZ_CHECK(ip[6] == (r->pkt.flow.family == LB_AF_INET6 ? 41 : 4));
		FZ_CHECK(!memcmp(ip + 8, &CFG.encap_src_v6, 16));
		FZ_CHECK(!memcmp(ip + 24, &r->dst, 16));
	}

	/* The backend's side: decap gives the input back from L3 on. */
	n = fz_decap(o, len, &d, &dlen);
	if (len <= LB_DECAP_MAX_MOVE) {
		/* Documented: decap wants one inner byte past that. */
		FZ_CHECK(n == -1);
		fz_free(o);
		return;
	}
	FZ_CHECK(n == r->outer_len);
	FZ_CHECK(dlen == size);
	FZ_CHECK(!memcmp(d + 12, in + 12, l3 - 12));
	FZ_CHECK(!memcmp(d + l3, in + l3, size - l3));
	/* ... and the core reads it as it read the input. */
	FZ_CHECK(lb_parse(in, in + size, &p0) == LB_CONTINUE);
	FZ_CHECK(lb_parse(d, d + dlen, &p1) == LB_CONTINUE);
	FZ_CHECK(!memcmp(&p0, &p1, sizeof(p0)));
	fz_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_result r1, r2;
	__u8 *in, *copy, *d;
	size_t dlen;

	if (size > 65536)
		return 0;
	in = fz_frame(data, size, 0);

	/* Fresh conntrack per input: the outcome depends on the bytes only. */
	W->nflows = 0;
	lb_decide(W, &CFG, in, in + size, &r1);
	FZ_CHECK(!memcmp(in, data, size)); /* the core wrote nothing */
	check_result(&r1, size);

	/* Again, now with whatever conntrack entry the first one made: the
	 * same answer (a hit keeps the backend; a reselect lands where the
	 * ring put it; SYNs and ICMP errors go to the ring again). */
	lb_decide(W, &CFG, in, in + size, &r2);
	check_result(&r2, size);
	FZ_CHECK(r1.verdict == r2.verdict && r1.reason == r2.reason);
	FZ_CHECK(r1.vip_id == r2.vip_id && r1.backend_id == r2.backend_id);
	FZ_CHECK(r1.pin_id == r2.pin_id && r1.hash == r2.hash);
	FZ_CHECK(!r2.new_flow || (r2.events & ((1u << LB_EV_CT_RESELECT) |
					       (1u << LB_EV_CT_MISS_SYN))));

	if (r1.verdict == LB_TX)
		check_tx(in, size, &r1);

	/* The same bytes handed to the decap side. */
	copy = fz_frame(data, size, 0);
	fz_decap(copy, size, &d, &dlen);
	fz_free(copy);
	fz_free(in);
	return 0;
}
