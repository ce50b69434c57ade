// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/names.c: printable names of the ABI's enums, generated from the X-macro lists in abi.h. */
#include "names.h"

#define LB_NAME_STR(name, str) str,
static const char *const reason_names[] = { LB_REASONS(LB_NAME_STR) };
static const char *const event_names[] = { LB_EVENTS(LB_NAME_STR) };
#undef LB_NAME_STR

static const char *const state_names[] = {
	[LB_BE_NONE] = "none",	       [LB_BE_ACTIVE] = "active",
	[LB_BE_DRAINING] = "draining", [LB_BE_DOWN] = "down",
	[LB_BE_MAINT] = "maint",
};

const char *lb_reason_name(unsigned int reason)
{
	return reason < LB_REASON_MAX ? reason_names[reason] : "unknown";
}

const char *lb_event_name(unsigned int event)
{
	return event < LB_EVENT_MAX ? event_names[event] : "unknown";
}

const char *lb_backend_state_name(unsigned int state)
{
	return state <= LB_BE_MAINT ? state_names[state] : "unknown";
}
