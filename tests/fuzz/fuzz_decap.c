/* tests/fuzz/fuzz_decap.c: libFuzzer target: the backend-side decap (lb_decap_plan / lb_decap_write) on arbitrary frames, with its promises checked. */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_decap d;
	size_t out_len, inner;
	__u8 *f, *out;
	int n;

	if (size > 65536)
		return 0;
	f = fz_frame(data, size, 0);
	/* Planning only reads; the full step agrees with it. */
	memset(&d, 0, sizeof(d));
	n = lb_decap_plan(f, f + size, &d);
	FZ_CHECK(!memcmp(f, data, size));
	FZ_CHECK(fz_decap(f, size, &out, &out_len) == n);
	if (n > 0) {
		/* The outer header's length: a non-empty inner packet that
		 * the frame holds. */
		const __u8 *oh = data + d.l2_len;

		if (n == 20)
			inner = (size_t)(oh[2] << 8 | oh[3]) - 20;
		else
			inner = (size_t)(oh[4] << 8 | oh[5]);
		FZ_CHECK(inner > 0);
		FZ_CHECK(d.l2_len + inner <= out_len);
		/* The outer header was what it claimed. */
		if (n == 20)
			FZ_CHECK(oh[0] == 0x45 && (oh[9] == 4 || oh[9] == 41));
		else
			FZ_CHECK((oh[0] >> 4) == 6 && (oh[6] == 4 || oh[6] == 41));
	}
	fz_free(f);
	return 0;
}
