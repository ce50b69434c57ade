// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/unit/test_announce.c: the `announce` settings (table, min_healthy, per-VIP override, every mistake refused with file:line) and the health rule that decides which VIPs are announced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "control/announce.h"
#include "control/conf.h"
#include "control/plan.h"

static const char good[] =
	"dataplane = { interface = \"eth0\"; next_hop_mac = \"02:00:00:00:00:01\";\n"
	"  encap_source_v4 = \"10.0.0.2\"; };\n"
	"announce = { table = 100; min_healthy = 1; };\n"
	"nodes = ( { name = \"a\"; address = \"10.0.1.1\"; },\n"
	"          { name = \"b\"; address = \"10.0.1.2\"; },\n"
	"          { name = \"c\"; address = \"10.0.1.3\"; } );\n"
	"vips = ( { name = \"web\"; address = \"10.9.0.1\"; port = 80; protocol = \"tcp\";\n"
	"           backends = ( { node = \"a\"; }, { node = \"b\"; }, { node = \"c\"; weight = 0; } ); },\n"
	"         { name = \"api\"; address = \"10.9.0.2\"; port = 80; protocol = \"tcp\";\n"
	"           min_healthy = 2;\n"
	"           backends = ( { node = \"a\"; }, { node = \"b\"; } ); } );\n";

static struct ferry_conf *load(const char *text)
{
	char err[512] = "";
	struct ferry_conf *c = conf_load_string(text, "t.conf", err, sizeof(err));

	if (!c)
		fail_msg("%s", err);
	return c;
}

static void test_settings_load(void **state)
{
	struct ferry_conf *c = load(good);

	(void)state;
	assert_true(c->announce.enabled);
	assert_int_equal(c->announce.table, 100);
	assert_int_equal(c->announce.min_healthy, 1);
	assert_int_equal(c->vips[0].min_healthy, 1); /* the group's */
	assert_int_equal(c->vips[1].min_healthy, 2); /* its own */
	conf_free(c);
}

static void test_absent_group_announces_nothing(void **state)
{
	char text[4096];
	const char *at = strstr(good, "announce = ");
	const char *end = strchr(at, '\n') + 1;
	const char *own = "           min_healthy = 2;\n";
	struct ferry_conf *c;
	char *p;

	(void)state;
	snprintf(text, sizeof(text), "%.*s%s", (int)(at - good), good, end);
	p = strstr(text, own);
	memmove(p, p + strlen(own), strlen(p + strlen(own)) + 1);
	c = load(text);
	assert_false(c->announce.enabled);
	assert_int_equal(c->announce.table, 0);
	conf_free(c);
}

static void expect_error(const char *from, const char *to, const char *want)
{
	char text[4096], err[512] = "";
	const char *at = strstr(good, from);
	struct ferry_conf *c;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to,
		 at + strlen(from));
	c = conf_load_string(text, "t.conf", err, sizeof(err));
	if (c || !strstr(err, want))
		fail_msg("replacing '%s' by '%s': wanted '%s', got '%s'", from,
			 to, want, c ? "(loaded)" : err);
}

static void test_mistakes_refused(void **state)
{
	(void)state;
	expect_error("table = 100;", "table = 254;", "t.conf:3: announce table 254 is the kernel's");
	expect_error("table = 100;", "table = 0;", "t.conf:3: 'table' = 0 is out of range");
	expect_error("table = 100;", "", "t.conf:3: missing setting 'table'");
	expect_error("table = 100;", "table = \"100\";", "'table' must be an integer");
	expect_error("min_healthy = 1; }", "min_healthy = 1; peer = 1; }",
		     "t.conf:3: unknown setting 'peer' in announce");
	expect_error("announce = { table = 100; min_healthy = 1; };", "announce = ( 1 );",
		     "t.conf:3: 'announce' must be a group");
	expect_error("min_healthy = 2;", "min_healthy = 3;",
		     "t.conf:10: VIP \"api\": min_healthy 3 exceeds its 2 backends");
	expect_error("min_healthy = 2;", "min_healthy = -1;", "t.conf:10: 'min_healthy' = -1 is out of range");
	expect_error("announce = { table = 100; min_healthy = 1; };", "",
		     "t.conf:10: VIP \"api\": min_healthy needs the top-level 'announce' group");
}

/* The plan of good with per-config-backend states. */
static struct plan *plan_with(const struct ferry_conf *c, const __u8 *st)
{
	struct plan_input in = { .states = st, .pin_nodes = NULL };
	struct plan *p = plan_build_states(c, NULL, &in, 1);

	assert_non_null(p);
	return p;
}

static void test_health_rule(void **state)
{
	struct ferry_conf *c = load(good);
	/* web: a b c(weight 0); api: a b */
	__u8 up[5] = { LB_BE_ACTIVE, LB_BE_ACTIVE, LB_BE_ACTIVE, LB_BE_ACTIVE, LB_BE_ACTIVE };
	__u8 one[5] = { LB_BE_DOWN, LB_BE_ACTIVE, LB_BE_ACTIVE, LB_BE_DRAINING, LB_BE_ACTIVE };
	__u8 weight0[5] = { LB_BE_DOWN, LB_BE_MAINT, LB_BE_ACTIVE, LB_BE_ACTIVE, LB_BE_ACTIVE };
	__u8 down[5] = { LB_BE_DOWN, LB_BE_DOWN, LB_BE_DOWN, LB_BE_DOWN, LB_BE_DOWN };
	bool settled[5] = { true, true, true, true, false }; /* api's b: not probed enough yet */
	bool b_unsettled[5] = { true, false, true, true, true };
	unsigned int active[2];
	bool ok[2];
	struct plan *p;

	(void)state;
	p = plan_with(c, up);
	announce_vips_ok(c, p, NULL, ok, active);
	assert_true(ok[0]);
	assert_true(ok[1]);
	assert_int_equal(active[0], 2); /* weight 0 takes no flows: not counted */
	assert_int_equal(active[1], 2);
	/* health still settling for one of api's backends: api waits,
	 * whatever its counts (its states may not be the other machines') */
	announce_vips_ok(c, p, settled, ok, active);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_int_equal(active[1], 2);
	plan_free(p);

	/* draining and down backends do not count: api needs 2 */
	p = plan_with(c, one);
	announce_vips_ok(c, p, NULL, ok, active);
	assert_true(ok[0]);
	assert_false(ok[1]);
	plan_free(p);

	/* web's only active backend has weight 0: withdrawn */
	p = plan_with(c, weight0);
	announce_vips_ok(c, p, NULL, ok, active);
	assert_false(ok[0]);
	assert_int_equal(active[0], 0);
	plan_free(p);

	/* a backend in maintenance is not probed: it never holds its VIP
	 * back while health settles */
	p = plan_with(c, weight0);
	p->backends[2].weight = 1; /* web's c takes flows here */
	announce_vips_ok(c, p, b_unsettled, ok, active);
	assert_true(ok[0]); /* b (maint) unsettled, c active */
	plan_free(p);

	/* every backend down: the VIP fails open, and that is not healthy */
	p = plan_with(c, down);
	assert_true(p->vips[0].fail_open);
	announce_vips_ok(c, p, NULL, ok, active);
	assert_false(ok[0]);
	assert_false(ok[1]);
	plan_free(p);

	/* min_healthy = 0: announced whatever the backends do */
	c->vips[1].min_healthy = 0;
	p = plan_with(c, down);
	announce_vips_ok(c, p, NULL, ok, NULL);
	assert_true(ok[1]);
	plan_free(p);
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_load),
		cmocka_unit_test(test_absent_group_announces_nothing),
		cmocka_unit_test(test_mistakes_refused),
		cmocka_unit_test(test_health_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
