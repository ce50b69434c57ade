// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/unit/test_conf.c: the config loader: a good file loads as written; every kind of mistake is refused with file:line and a message naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "control/conf.h"
#include "control/plan.h"

static const char good[] =
	"dataplane = { interface = \"eth0\"; next_hop_mac = \"02:00:00:00:00:01\";\n"
	"  encap_source_v4 = \"10.0.0.2\"; encap_source_v6 = \"fd00::2\"; mtu = 1600; };\n"
	"nodes = ( { name = \"a\"; address = \"10.0.1.1\"; },\n"
	"          { name = \"b\"; address = \"10.0.1.2\"; },\n"
	"          { name = \"c\"; address = \"fd00::1:3\"; } );\n"
	"vips = ( { name = \"web\"; address = \"10.9.0.1\"; port = 80; protocol = \"tcp\";\n"
	"           backends = ( { node = \"a\"; }, { node = \"b\"; weight = 3; } ); },\n"
	"         { name = \"radius\"; address = \"10.9.0.1\"; port = 1812; protocol = \"udp\";\n"
	"           hash = \"source\"; ring_size = 257; health = { type = \"none\"; };\n"
	"           backends = ( { node = \"c\"; } ); } );\n";

static void test_good_config_loads(void **state)
{
	char err[256] = "";
	struct ferry_conf *c = conf_load_string(good, "t.conf", err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->dp.interface, "eth0");
	assert_int_equal(c->dp.mtu, 1600);
	assert_int_equal(c->dp.flows, FERRY_FLOWS_DEFAULT);
	assert_int_equal(c->nnodes, 3);
	assert_int_equal(c->nodes[2].family, LB_AF_INET6);
	assert_int_equal(c->nvips, 2);
	assert_int_equal(c->vips[0].port, 80);
	assert_int_equal(c->vips[0].proto, 6);
	assert_false(c->vips[0].hash_source);
	assert_int_equal(c->vips[0].ring_size, FERRY_RING_SIZE_DEFAULT);
	assert_int_equal(c->vips[0].backends[1].weight, 3);
	assert_true(c->vips[1].hash_source);
	assert_int_equal(c->vips[1].ring_size, 257);
	conf_free(c);
}

/* Replace the first occurrence of from with to in good, load, expect err. */
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

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	expect_error("{ node = \"b\"; weight = 3; }", "{ node = \"zz\"; }",
		     "t.conf:7: unknown node \"zz\"");
	expect_error("ring_size = 257", "ring_size = 256",
		     "t.conf:9: ring_size 256 is not prime");
	expect_error("port = 1812; protocol = \"udp\"",
		     "port = 80; protocol = \"tcp\"",
		     "t.conf:8: VIP \"radius\" duplicates the address, port and protocol of \"web\" (line 6)");
	expect_error("name = \"radius\"", "name = \"web\"",
		     "t.conf:8: VIP name \"web\" already used at line 6");
	expect_error("name = \"b\"", "name = \"a\"",
		     "t.conf:4: node name \"a\" already used at line 3");
	expect_error("address = \"10.0.1.2\"", "address = \"10.0.1.1\"",
		     "has the address of node");
	expect_error("address = \"10.0.1.2\"", "address = \"10.0.1.999\"",
		     "t.conf:4: 'address' = \"10.0.1.999\" is not an IPv4 or IPv6 address");
	expect_error("mtu = 1600", "mtu = 100", "t.conf:2: 'mtu' = 100 is out of range");
	expect_error("mtu = 1600", "mtu = \"big\"", "'mtu' must be an integer");
	expect_error("mtu = 1600", "mtuu = 1600", "t.conf:2: unknown setting 'mtuu' in dataplane");
	expect_error("02:00:00:00:00:01", "02:00:00:00:00", "is not a MAC address");
	expect_error("hash = \"source\"", "hash = \"random\"", "hash must be");
	expect_error("protocol = \"tcp\"", "protocol = \"sctp\"", "protocol must be");
	expect_error("{ node = \"a\"; }, { node = \"b\"; weight = 3; }",
		     "{ node = \"a\"; }, { node = \"a\"; }", "is listed twice");
	expect_error("weight = 3", "weight = -1", "out of range");
	expect_error("encap_source_v6 = \"fd00::2\"; ", "",
		     "IPv6 node \"c\" but dataplane.encap_source_v6 is not set");
	expect_error("backends = ( { node = \"c\"; } )", "backends = ( )",
		     "empty backend list");
	expect_error("interface = \"eth0\"; ", "", "t.conf:1: missing setting 'interface'");
	expect_error(" health = { type = \"none\"; };", "",
		     "t.conf:8: UDP VIP \"radius\" needs an explicit health check");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"tcp\"; interval = 500; timeout = 500; }",
		     "t.conf:9: health timeout (500 ms) must be shorter than the interval (500 ms)");
	expect_error("vips = (", "vipz = (", "unknown setting 'vipz'");
	expect_error("port = 80;", "port = = 80;", "t.conf:6: syntax error");
	expect_error("port = 80;", "port = 70000;", "out of range [0, 65535]");
}

/* good with the radius VIP's health replaced by text; loads or fails. */
static struct ferry_conf *load_radius_health(const char *health)
{
	char text[4096], err[512] = "";
	const char *from = "health = { type = \"none\"; }";
	const char *at = strstr(good, from);
	struct ferry_conf *c;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, health,
		 at + strlen(from));
	c = conf_load_string(text, "t.conf", err, sizeof(err));
	if (!c)
		fail_msg("'%s' refused: %s", health, err);
	return c;
}

static void test_radius_health(void **state)
{
	struct ferry_conf *c;
	char secret[140];

	(void)state;
	/* Defaults: auth, port 1812, whatever the VIP's port. */
	c = load_radius_health("health = { type = \"radius\"; secret = \"s3cret\"; }");
	assert_int_equal(c->vips[1].health.type, HEALTH_RADIUS);
	assert_int_equal(c->vips[1].health.port, 1812);
	assert_false(c->vips[1].health.radius_acct);
	assert_string_equal(c->vips[1].health.secret, "s3cret");
	conf_free(c);
	c = load_radius_health("health = { type = \"radius\"; radius = \"acct\"; secret = \"x\"; interval = 500; timeout = 200; fall = 2; }");
	assert_int_equal(c->vips[1].health.port, 1813);
	assert_true(c->vips[1].health.radius_acct);
	assert_int_equal(c->vips[1].health.interval_ms, 500);
	assert_int_equal(c->vips[1].health.fall, 2);
	conf_free(c);
	c = load_radius_health("health = { type = \"radius\"; radius = \"acct\"; port = 11813; secret = \"x\"; }");
	assert_int_equal(c->vips[1].health.port, 11813);
	conf_free(c);
	/* 128 octets is the most. */
	memset(secret, 'k', 128);
	secret[128] = 0;
	{
		char h[256];

		snprintf(h, sizeof(h), "health = { type = \"radius\"; secret = \"%s\"; }", secret);
		c = load_radius_health(h);
		assert_int_equal(strlen(c->vips[1].health.secret), 128);
		conf_free(c);
		snprintf(h, sizeof(h), "health = { type = \"radius\"; secret = \"%sk\"; }", secret);
		expect_error("health = { type = \"none\"; }", h,
			     "t.conf:9: 'secret' is longer than 128 characters");
	}
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radius\"; }",
		     "t.conf:9: radius health checks need the shared secret");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radius\"; secret = \"\"; }",
		     "t.conf:9: 'secret' must not be empty");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radius\"; secret = 5; }",
		     "t.conf:9: 'secret' must be a string");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radius\"; radius = \"coa\"; secret = \"x\"; }",
		     "t.conf:9: radius must be \"auth\" or \"acct\"");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"tcp\"; port = 80; secret = \"x\"; }",
		     "t.conf:9: radius and secret apply to radius health checks only");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"none\"; radius = \"auth\"; }",
		     "t.conf:9: radius and secret apply to radius health checks only");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radius\"; secret = \"x\"; path = \"/\"; }",
		     "t.conf:9: path, host and expect apply to http health checks only");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radius\"; secret = \"x\"; port = 0; }",
		     "t.conf:9: 'port' = 0 is out of range [1, 65535]");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radius\"; secret = \"x\"; secrets = \"y\"; }",
		     "t.conf:9: unknown setting 'secrets' in health");
	expect_error("health = { type = \"none\"; }",
		     "health = { type = \"radios\"; }",
		     "t.conf:9: health type must be \"tcp\", \"http\", \"radius\" or \"none\"");
}

/* engine = "dpdk" and its group: read as written, defaults, mistakes. */
static void test_dpdk_engine(void **state)
{
	static const char *dp = "dataplane = { interface = \"eth0\";";
	static const char *with =
		"dataplane = { engine = \"dpdk\"; interface = \"ferry0\";\n"
		"  dpdk = { eal = [ \"-l\", \"0-1\", \"--vdev\", \"net_tap0,iface=ferry0\" ];\n"
		"    exception_port = 1; align = \"trust\"; idle_sleep_us = 50; };";
	char text[4096], err[512] = "";
	const char *at = strstr(good, dp);
	struct ferry_conf *c;

	(void)state;
	assert_non_null(at);
	snprintf(text, sizeof(text), "%s%s", with, at + strlen(dp));
	c = conf_load_string(text, "t.conf", err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_true(c->dp.dpdk);
	assert_int_equal(c->dp.dp.neal, 4);
	assert_string_equal(c->dp.dp.eal[3], "net_tap0,iface=ferry0");
	assert_int_equal(c->dp.dp.exception_port, 1);
	assert_true(c->dp.dp.align_trust);
	assert_int_equal(c->dp.dp.idle_sleep_us, 50);
	assert_int_equal(c->dp.dp.burst, 32);
	assert_string_equal(c->dp.dp.control, CONF_DPDK_CONTROL_DEFAULT);
	assert_string_equal(c->dp.dp.tables, CONF_DPDK_TABLES_DEFAULT);
	conf_free(c);

	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; engine = \"dpdk\";",
		     "t.conf:1: engine \"dpdk\" needs a group 'dpdk'");
	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; engine = \"vpp\";",
		     "engine \"vpp\" is not supported");
	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; dpdk = { eal = [ \"-l\" ]; };",
		     "a 'dpdk' group needs engine = \"dpdk\"");
	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; engine = \"dpdk\"; dpdk = { };",
		     "missing setting 'eal'");
	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; engine = \"dpdk\"; dpdk = { eal = [ 1 ]; };",
		     "EAL argument 1 is not a string");
	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; engine = \"dpdk\"; dpdk = { eal = [ \"-l\" ]; align = \"up\"; };",
		     "align must be");
	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; engine = \"dpdk\"; dpdk = { eal = [ \"-l\" ]; lcores = 2; };",
		     "unknown setting 'lcores' in dpdk");
	expect_error("interface = \"eth0\";",
		     "interface = \"eth0\"; engine = \"dpdk\"; dpdk = { eal = [ \"-l\" ]; control = \"x.sock\"; };",
		     "must be absolute paths");
}

static void test_missing_file_is_an_error(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(conf_load("/nonexistent/ferry.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/ferry.conf: cannot read"));
}

static void test_plan_ids_stable_and_rings_by_identity(void **state)
{
	char err[256];
	struct ferry_conf *c = conf_load_string(good, "t.conf", err, sizeof(err));
	struct plan *p1, *p2;
	unsigned int i;

	(void)state;
	assert_non_null(c);
	p1 = plan_build(c, NULL, 1);
	assert_non_null(p1);
	assert_int_equal(p1->nvips, 2);
	assert_int_equal(p1->nbackends, 3);
	/* The source-hash VIP on a port also owns (addr, 0, udp) for frags. */
	assert_true(p1->vips[1].has_frag_key);
	assert_int_equal(p1->vips[1].frag_key.port, 0);
	assert_false(p1->vips[0].has_frag_key);
	/* Every ring slot names one of the VIP's backend ids. */
	for (i = 0; i < p1->vips[0].ring_size; i++)
		assert_true(p1->vips[0].ring[i] == p1->backends[0].id ||
			    p1->vips[0].ring[i] == p1->backends[1].id);
	/* A second plan from the same config keeps ids and cookies. */
	p2 = plan_build(c, p1, 2);
	assert_non_null(p2);
	for (i = 0; i < p1->nbackends; i++) {
		assert_int_equal(p1->backends[i].id, p2->backends[i].id);
		assert_int_equal(p1->backends[i].be.cookie,
				 p2->backends[i].be.cookie);
	}
	assert_memory_equal(p1->vips[0].ring, p2->vips[0].ring,
			    p1->vips[0].ring_size * sizeof(__u32));
	assert_int_equal(p2->generation, 2);
	plan_free(p1);
	plan_free(p2);
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_config_loads),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_missing_file_is_an_error),
		cmocka_unit_test(test_dpdk_engine),
		cmocka_unit_test(test_radius_health),
		cmocka_unit_test(test_plan_ids_stable_and_rings_by_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
