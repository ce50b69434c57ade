// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/fuzz/fuzz_conf.c: libFuzzer target over the config loader and the planner: any text either loads (and plans) or is refused with a file:line message; never a crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "control/conf.h"
#include "control/plan.h"

#define FUZZ_CONF_MAX 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_conf *conf;
	struct plan *p1, *p2;
	char err[512] = "";
	char *text;

	if (size > FUZZ_CONF_MAX)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	conf = conf_load_string(text, "fuzz.conf", err, sizeof(err));
	if (!conf) {
		/* Refused: with a message naming the file. */
		if (strncmp(err, "fuzz.conf", 9))
			abort();
	} else {
		/* Small rings only: the fuzzer should not spend its time in
		 * building 1M-slot rings. */
		unsigned int i;
		size_t slots = 0;

		for (i = 0; i < conf->nvips; i++)
			slots += conf->vips[i].ring_size;
		if (slots <= 4 * 65537) {
			p1 = plan_build(conf, NULL, 1);
			if (!p1)
				abort();
			p2 = plan_build(conf, p1, 2);
			if (!p2)
				abort();
			/* Ids stay put across plans of one config. */
			for (i = 0; i < p1->nbackends; i++)
				if (p1->backends[i].id != p2->backends[i].id)
					abort();
			plan_free(p1);
			plan_free(p2);
		}
		conf_free(conf);
	}
	free(text);
	return 0;
}
