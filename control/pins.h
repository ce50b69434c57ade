/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/pins.h: where a pinned peer goes now: the pin's ordered nodes, their health history and the failback policy -> the current node. Pure. */
#ifndef FERRY_CONTROL_PINS_H
#define FERRY_CONTROL_PINS_H

#include <stdbool.h>
#include <stdint.h>
#include "conf.h"

/*
 * cur: the pin's current node (index into pin->backend[], -1: none).
 * usable[i], since_ms[i]: node i may take the peer (active or draining),
 * and since when. Returns the new current node, -1 when none is usable
 * (the pin's all_down policy applies). A usable current node stays unless
 * an earlier node is usable and the failback policy says go back: at once
 * (immediate), once it has been usable failback_after_s (after; *recheck_ms
 * gets when to look again, if sooner than its value), or never (manual:
 * pin_failback() does it).
 */
int pin_resolve(const struct conf_pin *pin, int cur, const bool *usable,
		const uint64_t *since_ms, uint64_t now_ms, uint64_t *recheck_ms);

/* Manual failback: the first usable node, or cur if none is. */
int pin_failback(const struct conf_pin *pin, int cur, const bool *usable);

#endif /* FERRY_CONTROL_PINS_H */
