// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/unit/test_radius.c: control/radius.c against RFC 5997's example packets (Status-Server with Message-Authenticator, secret "xyzzy5461"), every way a reply can fail verification, and the radius health probe end to end over loopback UDP against an in-process responder. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "control/health.h"
#include "control/loop.h"
#include "control/radius.h"

static const char secret[] = "xyzzy5461";
#define SECRET secret, sizeof(secret) - 1

/* RFC 5997 section 6.1: Status-Server to the authentication port, id 218. */
static const uint8_t rfc_auth_req[] = {
	0x0c, 0xda, 0x00, 0x26, 0x8a, 0x54, 0xf4, 0x68, 0x6f, 0xb3,
	0x94, 0xc5, 0x28, 0x66, 0xe3, 0x02, 0x18, 0x5d, 0x06, 0x23,
	0x50, 0x12, 0x5a, 0x66, 0x5e, 0x2e, 0x1e, 0x84, 0x11, 0xf3,
	0xe2, 0x43, 0x82, 0x20, 0x97, 0xc8, 0x4f, 0xa3,
};
/* ... and its Access-Accept. */
static const uint8_t rfc_auth_resp[] = {
	0x02, 0xda, 0x00, 0x14, 0xef, 0x0d, 0x55, 0x2a, 0x4b, 0xf2,
	0xd6, 0x93, 0xec, 0x2b, 0x6f, 0xe8, 0xb5, 0x41, 0x1d, 0x66,
};
/* Section 6.2: Status-Server to the accounting port, id 179. */
static const uint8_t rfc_acct_req[] = {
	0x0c, 0xb3, 0x00, 0x26, 0x92, 0x5f, 0x6b, 0x66, 0xdd, 0x5f,
	0xed, 0x57, 0x1f, 0xcb, 0x1d, 0xb7, 0xad, 0x38, 0x82, 0x60,
	0x50, 0x12, 0xe8, 0xd6, 0xea, 0xbd, 0xa9, 0x10, 0x87, 0x5c,
	0xd9, 0x1f, 0xda, 0xde, 0x26, 0x36, 0x78, 0x58,
};
/* ... and its Accounting-Response. The RFC prints code 02 (Access-Accept),
 * a known erratum: the authenticator is computed over code 05. */
static const uint8_t rfc_acct_resp[] = {
	0x05, 0xb3, 0x00, 0x14, 0x0f, 0x6f, 0x92, 0x14, 0x5f, 0x10,
	0x7e, 0x2f, 0x50, 0x4e, 0x86, 0x0a, 0x48, 0x60, 0x66, 0x9c,
};

static void test_rfc5997_auth_request_reproduced(void **state)
{
	uint8_t buf[128];
	int n;

	(void)state;
	n = radius_status_server(buf, sizeof(buf), 0xda, rfc_auth_req + 4, NULL,
				 SECRET);
	assert_int_equal(n, sizeof(rfc_auth_req));
	/* Same header, attribute and Message-Authenticator value. */
	assert_memory_equal(buf, rfc_auth_req, sizeof(rfc_auth_req));
	n = radius_status_server(buf, sizeof(buf), 0xb3, rfc_acct_req + 4, "",
				 SECRET);
	assert_int_equal(n, sizeof(rfc_acct_req));
	assert_memory_equal(buf, rfc_acct_req, sizeof(rfc_acct_req));
}

static void test_rfc5997_replies_verify(void **state)
{
	uint8_t code = 0;

	(void)state;
	assert_int_equal(
		radius_verify_reply(rfc_auth_resp, sizeof(rfc_auth_resp), 0xda,
				    rfc_auth_req + 4, RADIUS_ACCESS_ACCEPT,
				    SECRET, &code),
		RADIUS_OK);
	assert_int_equal(code, RADIUS_ACCESS_ACCEPT);
	assert_int_equal(
		radius_verify_reply(rfc_acct_resp, sizeof(rfc_acct_resp), 0xb3,
				    rfc_acct_req + 4,
				    RADIUS_ACCOUNTING_RESPONSE, SECRET, &code),
		RADIUS_OK);
	assert_int_equal(code, RADIUS_ACCOUNTING_RESPONSE);
}

static void test_rfc5997_reply_one_byte_changed(void **state)
{
	uint8_t p[sizeof(rfc_auth_resp)], code;
	size_t i;
	enum radius_result r;

	(void)state;
	for (i = 0; i < sizeof(p); i++) {
		memcpy(p, rfc_auth_resp, sizeof(p));
		p[i] ^= 0x01;
		r = radius_verify_reply(p, sizeof(p), 0xda, rfc_auth_req + 4,
					RADIUS_ACCESS_ACCEPT, SECRET, &code);
		if (r == RADIUS_OK)
			fail_msg("reply with byte %zu changed verified", i);
	}
	/* The authenticator itself: the precise verdict. */
	memcpy(p, rfc_auth_resp, sizeof(p));
	p[10] ^= 0x80;
	assert_int_equal(
		radius_verify_reply(p, sizeof(p), 0xda, rfc_auth_req + 4,
				    RADIUS_ACCESS_ACCEPT, SECRET, NULL),
		RADIUS_ERR_RESPONSE_AUTH);
	/* The code: Access-Accept -> Access-Reject, authenticator stale. */
	memcpy(p, rfc_auth_resp, sizeof(p));
	p[0] = RADIUS_ACCESS_REJECT;
	assert_int_equal(
		radius_verify_reply(p, sizeof(p), 0xda, rfc_auth_req + 4,
				    RADIUS_ACCESS_ACCEPT, SECRET, NULL),
		RADIUS_ERR_RESPONSE_AUTH);
	/* The identifier. */
	memcpy(p, rfc_auth_resp, sizeof(p));
	p[1] = 0xdb;
	assert_int_equal(
		radius_verify_reply(p, sizeof(p), 0xda, rfc_auth_req + 4,
				    RADIUS_ACCESS_ACCEPT, SECRET, NULL),
		RADIUS_ERR_ID);
	/* A different request authenticator (another request's reply). */
	memcpy(p, rfc_auth_req + 4, RADIUS_AUTH_LEN);
	p[0] ^= 1;
	assert_int_equal(
		radius_verify_reply(rfc_auth_resp, sizeof(rfc_auth_resp), 0xda,
				    p, RADIUS_ACCESS_ACCEPT, SECRET, NULL),
		RADIUS_ERR_RESPONSE_AUTH);
}

static void test_rfc5997_wrong_secret(void **state)
{
	uint8_t buf[128];

	(void)state;
	assert_int_equal(
		radius_verify_reply(rfc_auth_resp, sizeof(rfc_auth_resp), 0xda,
				    rfc_auth_req + 4, RADIUS_ACCESS_ACCEPT,
				    "xyzzy5462", 9, NULL),
		RADIUS_ERR_RESPONSE_AUTH);
	assert_int_equal(radius_verify_reply(
				 rfc_acct_resp, sizeof(rfc_acct_resp), 0xb3,
				 rfc_acct_req + 4, RADIUS_ACCOUNTING_RESPONSE,
				 "xyzzy", 5, NULL),
			 RADIUS_ERR_RESPONSE_AUTH);
	/* A request built with another secret carries another MAC. */
	assert_int_equal(radius_status_server(buf, sizeof(buf), 0xda,
					      rfc_auth_req + 4, NULL,
					      "xyzzy5462", 9),
			 sizeof(rfc_auth_req));
	assert_memory_not_equal(buf + 22, rfc_auth_req + 22, RADIUS_AUTH_LEN);
}

static void test_rfc5997_erratum_and_expected_code(void **state)
{
	uint8_t p[sizeof(rfc_acct_resp)], code = 0;

	(void)state;
	/* As printed in the RFC (code 02) it does not verify. */
	memcpy(p, rfc_acct_resp, sizeof(p));
	p[0] = RADIUS_ACCESS_ACCEPT;
	assert_int_equal(
		radius_verify_reply(p, sizeof(p), 0xb3, rfc_acct_req + 4,
				    RADIUS_ACCOUNTING_RESPONSE, SECRET, NULL),
		RADIUS_ERR_RESPONSE_AUTH);
	/* An authentic reply with the other port's code: "code N". */
	assert_int_equal(
		radius_verify_reply(rfc_auth_resp, sizeof(rfc_auth_resp), 0xda,
				    rfc_auth_req + 4,
				    RADIUS_ACCOUNTING_RESPONSE, SECRET, &code),
		RADIUS_ERR_CODE);
	assert_int_equal(code, RADIUS_ACCESS_ACCEPT);
}

/* A reply as a server builds it: attrs, then (if ma) a Message-
 * Authenticator over the reply with the request authenticator, then the
 * Response Authenticator. Returns its length. */
static size_t make_reply(uint8_t *p, uint8_t code, uint8_t id,
			 const uint8_t *req_auth, const uint8_t *attrs,
			 size_t alen, bool ma, const char *key)
{
	size_t len = RADIUS_HDR_LEN + alen + (ma ? 18 : 0);
	uint8_t auth[RADIUS_AUTH_LEN];

	p[0] = code;
	p[1] = id;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + 4, req_auth, RADIUS_AUTH_LEN);
	if (alen)
		memcpy(p + RADIUS_HDR_LEN, attrs, alen);
	if (ma) {
		size_t o = RADIUS_HDR_LEN + alen;

		p[o] = RADIUS_ATTR_MESSAGE_AUTHENTICATOR;
		p[o + 1] = 18;
		memset(p + o + 2, 0, RADIUS_AUTH_LEN);
		assert_int_equal(radius_message_auth(p, len, o + 2, req_auth,
						     key, strlen(key),
						     p + o + 2),
				 0);
	}
	assert_int_equal(radius_response_auth(p, len, req_auth, key,
					      strlen(key), auth),
			 0);
	memcpy(p + 4, auth, RADIUS_AUTH_LEN);
	return len;
}

static const uint8_t reply_msg[] = { 18, 7, 'a', 'l', 'i', 'v', 'e' };

static void test_reply_with_message_authenticator(void **state)
{
	const uint8_t *ra = rfc_auth_req + 4;
	uint8_t p[256], code;
	size_t len, i;

	(void)state;
	len = make_reply(p, RADIUS_ACCESS_ACCEPT, 7, ra, reply_msg,
			 sizeof(reply_msg), true, secret);
	assert_int_equal(radius_find_message_auth(p, len),
			 RADIUS_HDR_LEN + 7 + 2);
	assert_int_equal(radius_verify_reply(p, len, 7, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     &code),
			 RADIUS_OK);
	/* Padding past Length is ignored. */
	memset(p + len, 0xee, 8);
	assert_int_equal(radius_verify_reply(p, len + 8, 7, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     NULL),
			 RADIUS_OK);
	/* Any one byte changed fails. */
	for (i = 0; i < len; i++) {
		p[i] ^= 0x40;
		if (radius_verify_reply(p, len, 7, ra, RADIUS_ACCESS_ACCEPT,
					SECRET, NULL) == RADIUS_OK)
			fail_msg("byte %zu changed still verifies", i);
		p[i] ^= 0x40;
	}
	/* A Message-Authenticator made with another key, under a valid
	 * Response Authenticator: only the HMAC check catches it. */
	{
		uint8_t q[256], auth[RADIUS_AUTH_LEN];
		size_t o = RADIUS_HDR_LEN + sizeof(reply_msg) + 2;

		len = make_reply(q, RADIUS_ACCESS_ACCEPT, 7, ra, reply_msg,
				 sizeof(reply_msg), true, "other");
		assert_int_equal(radius_response_auth(q, len, ra, SECRET, auth),
				 0);
		memcpy(q + 4, auth, RADIUS_AUTH_LEN);
		assert_int_equal(radius_verify_reply(q, len, 7, ra,
						     RADIUS_ACCESS_ACCEPT,
						     SECRET, NULL),
				 RADIUS_ERR_MESSAGE_AUTH);
		/* The HMAC is over the request authenticator, not the
		 * response's: one computed over zeros fails too. */
		memcpy(q, p, len);
		memset(auth, 0, sizeof(auth));
		assert_int_equal(
			radius_message_auth(q, len, o, auth, SECRET, q + o), 0);
		assert_int_equal(radius_response_auth(q, len, ra, SECRET, auth),
				 0);
		memcpy(q + 4, auth, RADIUS_AUTH_LEN);
		assert_int_equal(radius_verify_reply(q, len, 7, ra,
						     RADIUS_ACCESS_ACCEPT,
						     SECRET, NULL),
				 RADIUS_ERR_MESSAGE_AUTH);
	}
	/* An authentic Access-Reject: "code 3". */
	len = make_reply(p, RADIUS_ACCESS_REJECT, 7, ra, NULL, 0, true, secret);
	assert_int_equal(radius_verify_reply(p, len, 7, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     &code),
			 RADIUS_ERR_CODE);
	assert_int_equal(code, RADIUS_ACCESS_REJECT);
}

static void test_malformed_replies(void **state)
{
	const uint8_t *ra = rfc_auth_req + 4;
	uint8_t p[256];
	size_t len;

	(void)state;
	assert_int_equal(radius_verify_reply(rfc_auth_resp, 19, 0xda, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     NULL),
			 RADIUS_ERR_SHORT);
	len = make_reply(p, RADIUS_ACCESS_ACCEPT, 1, ra, reply_msg,
			 sizeof(reply_msg), false, secret);
	/* Length says more than arrived. */
	assert_int_equal(radius_verify_reply(p, len - 1, 1, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     NULL),
			 RADIUS_ERR_SHORT);
	p[2] = 0;
	p[3] = 19;
	assert_int_equal(radius_verify_reply(p, len, 1, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     NULL),
			 RADIUS_ERR_LENGTH);
	p[2] = 0x10;
	p[3] = 0x01; /* 4097 */
	assert_int_equal(radius_verify_reply(p, len, 1, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     NULL),
			 RADIUS_ERR_LENGTH);
	/* An attribute running past the end, one of length 1. */
	len = make_reply(p, RADIUS_ACCESS_ACCEPT, 1, ra, reply_msg,
			 sizeof(reply_msg), false, secret);
	p[RADIUS_HDR_LEN + 1] = 8;
	assert_int_equal(radius_verify_reply(p, len, 1, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     NULL),
			 RADIUS_ERR_ATTR);
	p[RADIUS_HDR_LEN + 1] = 1;
	assert_int_equal(radius_verify_reply(p, len, 1, ra,
					     RADIUS_ACCESS_ACCEPT, SECRET,
					     NULL),
			 RADIUS_ERR_ATTR);
	/* A Message-Authenticator of the wrong size; two of them. */
	{
		static const uint8_t bad_ma[] = { 80, 6, 1, 2, 3, 4 };
		uint8_t two[36] = { 80, 18 };

		two[18] = 80;
		two[19] = 18;
		len = make_reply(p, RADIUS_ACCESS_ACCEPT, 1, ra, bad_ma,
				 sizeof(bad_ma), false, secret);
		assert_int_equal(radius_verify_reply(p, len, 1, ra,
						     RADIUS_ACCESS_ACCEPT,
						     SECRET, NULL),
				 RADIUS_ERR_ATTR);
		len = make_reply(p, RADIUS_ACCESS_ACCEPT, 1, ra, two,
				 sizeof(two), false, secret);
		assert_int_equal(radius_verify_reply(p, len, 1, ra,
						     RADIUS_ACCESS_ACCEPT,
						     SECRET, NULL),
				 RADIUS_ERR_ATTR);
	}
}

static void test_builder_limits_and_nas_identifier(void **state)
{
	char big[RADIUS_SECRET_MAX + 2];
	uint8_t buf[128], mac[RADIUS_AUTH_LEN];
	int n;

	(void)state;
	memset(big, 's', sizeof(big));
	big[sizeof(big) - 1] = 0;
	assert_int_equal(radius_status_server(buf, sizeof(buf), 1,
					      rfc_auth_req + 4, NULL, big,
					      RADIUS_SECRET_MAX + 1),
			 -EINVAL);
	assert_int_equal(radius_status_server(buf, sizeof(buf), 1,
					      rfc_auth_req + 4, NULL, big,
					      RADIUS_SECRET_MAX),
			 38);
	assert_int_equal(radius_status_server(buf, sizeof(buf), 1,
					      rfc_auth_req + 4, NULL, big, 0),
			 -EINVAL);
	assert_int_equal(radius_status_server(buf, 37, 1, rfc_auth_req + 4,
					      NULL, SECRET),
			 -EINVAL);
	/* With NAS-Identifier: after the Message-Authenticator, covered by it. */
	n = radius_status_server(buf, sizeof(buf), 9, rfc_auth_req + 4,
				 "ferryd", SECRET);
	assert_int_equal(n, 20 + 18 + 8);
	assert_int_equal(buf[0], RADIUS_STATUS_SERVER);
	assert_int_equal(buf[1], 9);
	assert_int_equal(buf[3], n);
	assert_int_equal(buf[38], RADIUS_ATTR_NAS_IDENTIFIER);
	assert_int_equal(buf[39], 8);
	assert_memory_equal(buf + 40, "ferryd", 6);
	assert_int_equal(radius_find_message_auth(buf, (size_t)n), 22);
	assert_int_equal(
		radius_message_auth(buf, (size_t)n, 22, NULL, SECRET, mac), 0);
	assert_memory_equal(mac, buf + 22, RADIUS_AUTH_LEN);
	assert_memory_not_equal(buf + 22, rfc_auth_req + 22, RADIUS_AUTH_LEN);
}

/* ---- the probe, over loopback UDP -------------------------------------- */

enum responder_mode {
	R_GOOD, /* authentic Access-Accept / Accounting-Response with MA */
	R_GOOD_NO_MA, /* authentic, no Message-Authenticator */
	R_WRONG_SECRET, /* signed with another secret */
	R_REJECT, /* authentic Access-Reject */
	R_WRONG_ID, /* authentic but for another identifier */
	R_SILENT, /* reads and never answers */
};

struct responder {
	int fd;
	enum responder_mode mode;
	unsigned int requests, bad_requests;
	uint8_t last_code;
	uint8_t answer; /* the code to answer; 0: Access-Accept */
	char nas_id[32];
};

static void responder_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct responder *r = arg;
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	uint8_t req[RADIUS_PACKET_MAX], rep[256], mac[RADIUS_AUTH_LEN];
	ssize_t n;
	int ma;
	size_t len;
	uint8_t code;

	(void)l;
	(void)events;
	n = recvfrom(fd, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
	if (n < RADIUS_HDR_LEN)
		return;
	r->requests++;
	r->last_code = req[0];
	/* The request must carry a valid Message-Authenticator. */
	ma = radius_find_message_auth(req, (size_t)n);
	if (ma <= 0 ||
	    radius_message_auth(req, (size_t)n, (size_t)ma, NULL, SECRET,
				mac) ||
	    memcmp(mac, req + ma, RADIUS_AUTH_LEN)) {
		r->bad_requests++;
		return;
	}
	if (n >= 46 && req[38] == RADIUS_ATTR_NAS_IDENTIFIER && req[39] >= 2)
		snprintf(r->nas_id, sizeof(r->nas_id), "%.*s", req[39] - 2,
			 (const char *)req + 40);
	code = r->mode == R_REJECT ? RADIUS_ACCESS_REJECT :
	       r->answer	   ? r->answer :
				     RADIUS_ACCESS_ACCEPT;
	switch (r->mode) {
	case R_SILENT:
		return;
	case R_GOOD_NO_MA:
		len = make_reply(rep, code, req[1], req + 4, reply_msg,
				 sizeof(reply_msg), false, secret);
		break;
	case R_WRONG_SECRET:
		len = make_reply(rep, code, req[1], req + 4, NULL, 0, true,
				 "not-the-secret");
		break;
	case R_WRONG_ID:
		len = make_reply(rep, code, (uint8_t)(req[1] + 1), req + 4,
				 NULL, 0, true, secret);
		break;
	default:
		len = make_reply(rep, code, req[1], req + 4, NULL, 0, true,
				 secret);
		break;
	}
	sendto(fd, rep, len, 0, (struct sockaddr *)&from, fl);
}

struct probe_run {
	struct loop *l;
	struct health *h;
	unsigned int changes;
	bool last_up;
};

static void on_change(void *arg, unsigned int probe, bool up)
{
	struct probe_run *pr = arg;

	(void)probe;
	pr->changes++;
	pr->last_up = up;
}

static void on_tick(struct loop *l, uint64_t now, void *arg)
{
	(void)l;
	health_tick(arg, now);
}

/* Runs one radius probe (to port, starting in state up0) until it has
 * finished `results` probes or 3 s passed; its info in *info. */
static void run_probe(uint16_t port, bool acct, bool up0, unsigned int results,
		      struct responder *resp, struct health_probe_info *info,
		      struct probe_run *pr)
{
	struct health_probe_def def;
	uint64_t end;

	memset(pr, 0, sizeof(*pr));
	pr->l = loop_new();
	assert_non_null(pr->l);
	pr->h = health_new(pr->l, on_change, pr);
	assert_non_null(pr->h);
	loop_set_tick(pr->l, 5, on_tick, pr->h);
	if (resp)
		assert_int_equal(loop_add(pr->l, resp->fd, EPOLLIN,
					  responder_cb, resp),
				 0);
	memset(&def, 0, sizeof(def));
	def.family = LB_AF_INET;
	def.addr.v4 = htonl(INADDR_LOOPBACK);
	def.up = up0;
	def.spec.type = HEALTH_RADIUS;
	def.spec.port = port;
	def.spec.interval_ms = 100;
	def.spec.timeout_ms = 60;
	def.spec.rise = 1;
	def.spec.fall = 1;
	def.spec.radius_acct = acct;
	strcpy(def.spec.secret, secret);
	assert_int_equal(health_set(pr->h, &def, 1), 0);
	end = loop_now_ms() + 3000;
	do {
		assert_int_equal(loop_run_once(pr->l), 0);
		assert_int_equal(health_info(pr->h, 0, info), 0);
	} while (info->ok + info->failed < results && loop_now_ms() < end);
	if (resp)
		loop_del(pr->l, resp->fd);
	health_free(pr->h);
	loop_free(pr->l);
}

static int udp_bound(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_probe_up_against_good_server(void **state)
{
	struct responder r = { .mode = R_GOOD };
	struct health_probe_info info;
	struct probe_run pr;
	uint16_t port;

	(void)state;
	r.fd = udp_bound(&port);
	run_probe(port, false, false, 2, &r, &info, &pr);
	assert_int_equal(info.failed, 0);
	assert_true(info.ok >= 2);
	assert_true(info.up);
	assert_int_equal(pr.changes, 1);
	assert_true(pr.last_up);
	assert_int_equal(r.bad_requests, 0);
	assert_int_equal(r.last_code, RADIUS_STATUS_SERVER);
	assert_string_equal(r.nas_id, "ferryd");
	/* Without a Message-Authenticator in the reply: fine too. */
	r.mode = R_GOOD_NO_MA;
	run_probe(port, false, false, 1, &r, &info, &pr);
	assert_int_equal(info.failed, 0);
	assert_true(info.up);
	close(r.fd);
}

static void test_probe_acct_wants_accounting_response(void **state)
{
	struct responder r = { .mode = R_GOOD };
	struct health_probe_info info;
	struct probe_run pr;
	uint16_t port;

	(void)state;
	r.fd = udp_bound(&port);
	/* The responder answers Access-Accept: authentic, wrong code. */
	run_probe(port, true, true, 1, &r, &info, &pr);
	assert_int_equal(info.ok, 0);
	assert_false(info.up);
	assert_string_equal(info.last_error, "code 2");
	/* Answering Accounting-Response: up. */
	r.answer = RADIUS_ACCOUNTING_RESPONSE;
	run_probe(port, true, false, 2, &r, &info, &pr);
	assert_int_equal(info.failed, 0);
	assert_true(info.up);
	assert_string_equal(info.last_error, "");
	/* ... which the auth flavour refuses. */
	run_probe(port, false, true, 1, &r, &info, &pr);
	assert_false(info.up);
	assert_string_equal(info.last_error, "code 5");
	close(r.fd);
}

static void check_fails(enum responder_mode mode, const char *want_error)
{
	struct responder r = { .mode = mode };
	struct health_probe_info info;
	struct probe_run pr;
	uint16_t port;

	r.fd = udp_bound(&port);
	run_probe(port, false, true, 1, &r, &info, &pr);
	close(r.fd);
	if (info.ok || info.up || strcmp(info.last_error, want_error))
		fail_msg(
			"mode %d: ok %llu, up %d, last_error '%s', wanted '%s'",
			mode, (unsigned long long)info.ok, info.up,
			info.last_error, want_error);
	assert_int_equal(pr.changes, 1);
	assert_false(pr.last_up);
}

static void test_probe_failures_say_why(void **state)
{
	(void)state;
	check_fails(R_WRONG_SECRET, "bad response authenticator");
	check_fails(R_REJECT, "code 3");
	check_fails(R_WRONG_ID, "wrong identifier");
	check_fails(R_SILENT, "timeout");
}

static void test_probe_port_unreachable(void **state)
{
	struct health_probe_info info;
	struct probe_run pr;
	uint16_t port;
	int fd = udp_bound(&port);

	(void)state;
	close(fd); /* nobody there: ICMP port unreachable */
	run_probe(port, false, true, 1, NULL, &info, &pr);
	assert_int_equal(info.ok, 0);
	assert_false(info.up);
	assert_string_equal(info.last_error, strerror(ECONNREFUSED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5997_auth_request_reproduced),
		cmocka_unit_test(test_rfc5997_replies_verify),
		cmocka_unit_test(test_rfc5997_reply_one_byte_changed),
		cmocka_unit_test(test_rfc5997_wrong_secret),
		cmocka_unit_test(test_rfc5997_erratum_and_expected_code),
		cmocka_unit_test(test_reply_with_message_authenticator),
		cmocka_unit_test(test_malformed_replies),
		cmocka_unit_test(test_builder_limits_and_nas_identifier),
		cmocka_unit_test(test_probe_up_against_good_server),
		cmocka_unit_test(test_probe_acct_wants_accounting_response),
		cmocka_unit_test(test_probe_failures_say_why),
		cmocka_unit_test(test_probe_port_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
