/* tests/dpdk/fixture_export.c: writes the fixture world as a table snapshot file and the fixtures as pcap files (inputs; expected outputs of the data and exception ports; expected reason counts), for running the ferry-dpdk process end to end (test_ferry_dpdk.sh). Userspace only; no DPDK.
 *
 *   fixture_export DIR
 *     DIR/world.snap      the world (dataplane/snapshot.h)
 *     DIR/world_nomac.snap  the same without a source MAC (ferry-dpdk
 *                         then uses each data port's own)
 *     DIR/in.pcap         the fixtures' input frames, in table order
 *     DIR/want_tx.pcap    the LB_TX fixtures' expected outputs, in order
 *     DIR/want_pass.pcap  the LB_PASS fixtures' frames, in order
 *     DIR/want_reasons    "name count" per reason
 *
 * A process starts with empty conntrack and keeps it across frames, so the
 * fixtures that need the world's conntrack entries ("_ct_" in the name) are
 * left out; for the others, an entry made by an earlier frame names the
 * backend the ring names anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world_snap.h"

struct pcap_hdr {
	__u32 magic;
	__u16 major, minor;
	__s32 zone;
	__u32 sigfigs, snaplen, linktype;
};

struct pcap_rec {
	__u32 sec, usec, caplen, len;
};

static FILE *pcap_open(const char *dir, const char *name)
{
	struct pcap_hdr h = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f && fwrite(&h, sizeof(h), 1, f) != 1) {
		fclose(f);
		return NULL;
	}
	return f;
}

static int pcap_put(FILE *f, const __u8 *p, size_t len, __u32 i)
{
	struct pcap_rec r = { i, 0, (__u32)len, (__u32)len };

	return fwrite(&r, sizeof(r), 1, f) == 1 &&
			       (len == 0 || fwrite(p, len, 1, f) == 1) ?
		       0 :
		       -EIO;
}

int main(int argc, char **argv)
{
	const char *names[LB_REASON_MAX];
	__u64 count[LB_REASON_MAX] = { 0 };
	FILE *in, *tx, *pass, *rs;
	struct fixture *fx;
	char path[4096];
	size_t len;
	void *buf;
	int n, i, err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: fixture_export DIR\n");
		return 2;
	}
	n = fixtures_build(&fx);
	if (n < 0 || world_snapshot(fixtures_world(), &buf, &len)) {
		fprintf(stderr, "fixture_export: building fixtures\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/world.snap", argv[1]);
	err = ferry_snap_write_file(path, buf, len);
	free(buf);
	if (!err) {
		struct fixture_world w = *fixtures_world();

		memset(w.cfg.src_mac, 0, sizeof(w.cfg.src_mac));
		err = world_snapshot(&w, &buf, &len);
		snprintf(path, sizeof(path), "%s/world_nomac.snap", argv[1]);
		if (!err)
			err = ferry_snap_write_file(path, buf, len);
		if (!err)
			free(buf);
	}
	in = pcap_open(argv[1], "in.pcap");
	tx = pcap_open(argv[1], "want_tx.pcap");
	pass = pcap_open(argv[1], "want_pass.pcap");
	snprintf(path, sizeof(path), "%s/want_reasons", argv[1]);
	rs = fopen(path, "w");
	if (err || !in || !tx || !pass || !rs) {
		fprintf(stderr, "fixture_export: writing to %s failed\n",
			argv[1]);
		return 1;
	}
	for (i = 0; i < n && !err; i++) {
		const struct fixture *f = &fx[i];

		if (strstr(f->name, "_ct_"))
			continue;
		err = pcap_put(in, f->in, f->in_len, (__u32)i);
		if (!err && f->verdict == LB_TX)
			err = pcap_put(tx, f->out, f->out_len, (__u32)i);
		if (!err && f->verdict == LB_PASS)
			err = pcap_put(pass, f->out, f->out_len, (__u32)i);
		count[f->reason]++;
	}
	for (i = 0; i < LB_REASON_MAX; i++) {
		names[i] = fixture_reason_name(i);
		fprintf(rs, "%s %llu\n", names[i],
			(unsigned long long)count[i]);
	}
	if (fclose(in) | fclose(tx) | fclose(pass) | fclose(rs))
		err = -EIO;
	fixtures_free(fx, n);
	if (err) {
		fprintf(stderr, "fixture_export: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
