// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/pins.c: pin target resolution: failover at once, failback by policy. */
#include "pins.h"

static int pin_first_usable(const struct conf_pin *pin, const bool *usable)
{
	unsigned int i;

	for (i = 0; i < pin->nnodes; i++)
		if (usable[i])
			return (int)i;
	return -1;
}

int pin_resolve(const struct conf_pin *pin, int cur, const bool *usable,
		const uint64_t *since_ms, uint64_t now_ms, uint64_t *recheck_ms)
{
	int first = pin_first_usable(pin, usable), i;
	uint64_t due;

	if (first < 0)
		return -1;
	/* No node yet, or the current one failed: move at once. */
	if (cur < 0 || cur >= (int)pin->nnodes || !usable[cur])
		return first;
	if (first >= cur)
		return cur;
	switch (pin->failback) {
	case PIN_FAILBACK_IMMEDIATE:
		return first;
	case PIN_FAILBACK_MANUAL:
		return cur;
	case PIN_FAILBACK_AFTER:
		for (i = 0; i < cur; i++) {
			if (!usable[i])
				continue;
			due = since_ms[i] + (uint64_t)pin->failback_after_s * 1000;
			if (now_ms >= due)
				return i;
			if (due < *recheck_ms)
				*recheck_ms = due;
		}
		return cur;
	}
	return cur;
}

int pin_failback(const struct conf_pin *pin, int cur, const bool *usable)
{
	int first = pin_first_usable(pin, usable);

	return first < 0 ? cur : first;
}
