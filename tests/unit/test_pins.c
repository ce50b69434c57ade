// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/unit/test_pins.c: pins: config parsing and validation, target resolution (failover at once, failback immediate / after N s / manual, every node down), and the plan's pin entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "control/conf.h"
#include "control/pins.h"
#include "control/plan.h"

static const char base[] =
	"dataplane = { interface = \"eth0\"; next_hop_mac = \"02:00:00:00:00:01\";\n"
	"  encap_source_v4 = \"10.0.0.2\"; };\n"
	"nodes = ( { name = \"a\"; address = \"10.0.1.1\"; },\n"
	"          { name = \"b\"; address = \"10.0.1.2\"; },\n"
	"          { name = \"c\"; address = \"10.0.1.3\"; } );\n"
	"vips = ( { name = \"rad\"; address = \"10.9.0.1\"; port = 1812; protocol = \"udp\";\n"
	"  hash = \"source\"; ring_size = 257; health = { type = \"none\"; };\n"
	"  pin_failback = 30;\n"
	"  backends = ( { node = \"a\"; }, { node = \"b\"; }, { node = \"c\"; } );\n"
	"  pins = ( { peer = \"10.20.0.11\"; nodes = [ \"a\", \"b\" ]; },\n"
	"           { peer = \"10.30.0.0/24\"; nodes = [ \"c\" ]; all_down = \"hold\"; failback = \"manual\"; } ); } );\n";

static struct ferry_conf *load(const char *text, char *err, size_t len)
{
	return conf_load_string(text, "p.conf", err, len);
}

static void test_pins_parse(void **state)
{
	char err[256] = "";
	struct ferry_conf *c = load(base, err, sizeof(err));
	const struct conf_pin *p;

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->vips[0].npins, 2);
	p = &c->vips[0].pins[0];
	assert_int_equal(p->plen, 32);
	assert_int_equal(p->nnodes, 2);
	assert_int_equal(p->backend[0], 0);
	assert_int_equal(p->backend[1], 1);
	assert_int_equal(p->all_down, PIN_ALL_DOWN_REHASH);
	assert_int_equal(p->failback, PIN_FAILBACK_AFTER); /* VIP default */
	assert_int_equal(p->failback_after_s, 30);
	p = &c->vips[0].pins[1];
	assert_int_equal(p->plen, 24);
	assert_int_equal(p->all_down, PIN_ALL_DOWN_HOLD);
	assert_int_equal(p->failback, PIN_FAILBACK_MANUAL);
	conf_free(c);
}

static void expect(const char *from, const char *to, const char *want)
{
	char text[4096], err[512] = "";
	const char *at = strstr(base, from);
	struct ferry_conf *c;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - base), base, to,
		 at + strlen(from));
	c = load(text, err, sizeof(err));
	if (c || !strstr(err, want))
		fail_msg("'%s' -> '%s': wanted '%s', got '%s'", from, to, want,
			 c ? "(loaded)" : err);
}

static void test_pins_errors(void **state)
{
	(void)state;
	expect("\"10.30.0.0/24\"", "\"10.30.0.1/24\"",
	       "p.conf:11: peer \"10.30.0.1/24\" has host bits set");
	expect("\"10.30.0.0/24\"", "\"10.30.0.0/33\"", "is not an address or prefix");
	expect("\"10.30.0.0/24\"", "\"fd00::/64\"", "not of the VIP's address family");
	expect("[ \"c\" ]", "[ \"zz\" ]", "p.conf:11: unknown node \"zz\"");
	expect("[ \"a\", \"b\" ]", "[ \"a\", \"a\" ]", "listed twice in a pin");
	expect("[ \"c\" ]", "[ ]", "a pin lists 1 to 8 nodes");
	expect("all_down = \"hold\"", "all_down = \"drop\"", "all_down must be");
	expect("failback = \"manual\"", "failback = \"later\"", "failback must be");
	expect("failback = \"manual\"", "failback = 0", "out of range");
	expect("\"10.30.0.0/24\"", "\"10.20.0.11\"", "pinned already at line 10");
	expect("backends = ( { node = \"a\"; }, { node = \"b\"; }, { node = \"c\"; } )",
	       "backends = ( { node = \"a\"; }, { node = \"b\"; } )",
	       "node \"c\" is not a backend of VIP \"rad\"");
	expect("peer = \"10.20.0.11\"; ", "", "missing setting 'peer'");
}

static struct conf_pin pin_of(enum conf_pin_failback fb, __u32 after)
{
	struct conf_pin p;

	memset(&p, 0, sizeof(p));
	p.nnodes = 3;
	p.backend[0] = 0;
	p.backend[1] = 1;
	p.backend[2] = 2;
	p.failback = fb;
	p.failback_after_s = after;
	return p;
}

static void test_resolve_failover_and_all_down(void **state)
{
	struct conf_pin p = pin_of(PIN_FAILBACK_IMMEDIATE, 0);
	uint64_t since[3] = { 1, 1, 1 }, re = UINT64_MAX;
	bool up[3] = { true, true, true };

	(void)state;
	assert_int_equal(pin_resolve(&p, -1, up, since, 10, &re), 0);
	up[0] = false; /* primary down: to the first fallback at once */
	assert_int_equal(pin_resolve(&p, 0, up, since, 10, &re), 1);
	up[1] = false;
	assert_int_equal(pin_resolve(&p, 1, up, since, 10, &re), 2);
	up[2] = false; /* nothing usable: the all_down policy applies */
	assert_int_equal(pin_resolve(&p, 2, up, since, 10, &re), -1);
	up[1] = true; /* from nothing, the first usable, no failback wait */
	assert_int_equal(pin_resolve(&p, -1, up, since, 10, &re), 1);
}

static void test_resolve_failback_policies(void **state)
{
	struct conf_pin imm = pin_of(PIN_FAILBACK_IMMEDIATE, 0);
	struct conf_pin man = pin_of(PIN_FAILBACK_MANUAL, 0);
	struct conf_pin aft = pin_of(PIN_FAILBACK_AFTER, 30);
	bool up[3] = { true, true, true };
	uint64_t since[3] = { 100000, 1, 1 }, re;

	(void)state;
	/* On the fallback (1) while the primary is up again since t=100 s. */
	re = UINT64_MAX;
	assert_int_equal(pin_resolve(&imm, 1, up, since, 100000, &re), 0);
	assert_int_equal(pin_resolve(&man, 1, up, since, 500000, &re), 1);
	assert_int_equal(pin_failback(&man, 1, up), 0);
	re = UINT64_MAX;
	assert_int_equal(pin_resolve(&aft, 1, up, since, 129999, &re), 1);
	assert_int_equal(re, 130000); /* when to look again */
	assert_int_equal(pin_resolve(&aft, 1, up, since, 130000, &re), 0);
	/* A draining current node that is usable stays put. */
	up[0] = false;
	assert_int_equal(pin_resolve(&imm, 1, up, since, 1, &re), 1);
	/* Manual failback with nothing better usable keeps the node. */
	assert_int_equal(pin_failback(&man, 1, up), 1);
}

static void test_plan_pin_entries(void **state)
{
	char err[256];
	struct ferry_conf *c = load(base, err, sizeof(err));
	int nodes[2] = { 1, -1 };
	struct plan_input in = { .states = NULL, .pin_nodes = nodes };
	struct plan *p1, *p2;

	(void)state;
	assert_non_null(c);
	p1 = plan_build_states(c, NULL, &in, 1);
	assert_non_null(p1);
	assert_true(p1->vips[0].flags & LB_VIP_HAS_PINS);
	assert_int_equal(p1->npins, 2);
	assert_int_equal(p1->pins[0].key.prefixlen, 32 + 32);
	assert_int_equal(p1->pins[0].key.vip_id, p1->vips[0].id);
	assert_int_equal(p1->pins[0].pin.action, LB_PIN_FORWARD);
	assert_int_equal(p1->pins[0].pin.backend, p1->backends[1].id); /* b */
	assert_int_equal(p1->pins[1].key.prefixlen, 32 + 24);
	assert_int_equal(p1->pins[1].pin.action, LB_PIN_HOLD);
	assert_string_equal(p1->pins[1].peer, "10.30.0.0/24");
	assert_int_not_equal(p1->pins[0].pin.id, p1->pins[1].pin.id);
	/* Pin ids (counters) stay with (VIP, peer) across plans. */
	nodes[0] = 0;
	nodes[1] = 0;
	p2 = plan_build_states(c, p1, &in, 2);
	assert_non_null(p2);
	assert_int_equal(p2->pins[0].pin.id, p1->pins[0].pin.id);
	assert_int_equal(p2->pins[1].pin.id, p1->pins[1].pin.id);
	assert_int_equal(p2->pins[1].pin.action, LB_PIN_FORWARD);
	assert_int_equal(p2->pins[1].pin.backend, p2->backends[2].id); /* c */
	plan_free(p1);
	plan_free(p2);
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pins_parse),
		cmocka_unit_test(test_pins_errors),
		cmocka_unit_test(test_resolve_failover_and_all_down),
		cmocka_unit_test(test_resolve_failback_policies),
		cmocka_unit_test(test_plan_pin_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
