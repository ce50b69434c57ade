/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/radius.h: RADIUS Status-Server (RFC 5997) requests and reply verification (Response Authenticator, RFC 2865/2866; Message-Authenticator, RFC 3579): pure functions, no I/O. */
#ifndef FERRY_CONTROL_RADIUS_H
#define FERRY_CONTROL_RADIUS_H

#include <stddef.h>
#include <stdint.h>

#define RADIUS_HDR_LEN 20
#define RADIUS_AUTH_LEN 16
#define RADIUS_PACKET_MAX 4096 /* RFC 2865 section 3 */
#define RADIUS_SECRET_MAX 128

enum radius_code {
	RADIUS_ACCESS_REQUEST = 1,
	RADIUS_ACCESS_ACCEPT = 2,
	RADIUS_ACCESS_REJECT = 3,
	RADIUS_ACCOUNTING_REQUEST = 4,
	RADIUS_ACCOUNTING_RESPONSE = 5,
	RADIUS_STATUS_SERVER = 12,
};

enum radius_attr {
	RADIUS_ATTR_NAS_IDENTIFIER = 32,
	RADIUS_ATTR_MESSAGE_AUTHENTICATOR = 80,
};

/* What radius_verify_reply found; radius_result_str names it. */
enum radius_result {
	RADIUS_OK = 0,
	RADIUS_ERR_SHORT, /* shorter than a header, or than its Length */
	RADIUS_ERR_LENGTH, /* Length field below 20 or above 4096 */
	RADIUS_ERR_ATTR, /* an attribute overruns the packet or is malformed */
	RADIUS_ERR_ID, /* not the request's identifier */
	RADIUS_ERR_RESPONSE_AUTH, /* Response Authenticator does not match */
	RADIUS_ERR_MESSAGE_AUTH, /* Message-Authenticator does not verify */
	RADIUS_ERR_CODE, /* authentic, but not the expected code */
	RADIUS_ERR_CRYPTO, /* libcrypto failed */
	RADIUS_ERR_ARG, /* bad arguments (secret too long, buffer too small) */
};

const char *radius_result_str(enum radius_result r);

/* Builds a Status-Server packet into buf: identifier id, Request
 * Authenticator req_auth (16 random octets, chosen by the caller), a
 * Message-Authenticator (HMAC-MD5 keyed by secret over the packet with the
 * attribute's value zeroed, RFC 3579 section 3.2), then NAS-Identifier
 * nas_id unless it is NULL or empty. Returns the packet's length, or
 * -EINVAL (bad arguments, buffer too small), -EIO (libcrypto failed). */
int radius_status_server(uint8_t *buf, size_t cap, uint8_t id,
			 const uint8_t req_auth[RADIUS_AUTH_LEN],
			 const char *nas_id, const void *secret,
			 size_t secret_len);

/* Verifies pkt (len octets as received; octets past its Length field are
 * padding) as the reply to a request with identifier id and Request
 * Authenticator req_auth: the identifier, then the Response Authenticator
 * MD5(Code | ID | Length | req_auth | Attributes | secret), then the
 * Message-Authenticator if the reply carries one (HMAC-MD5 over the reply
 * with req_auth in the authenticator field and the attribute's value
 * zeroed), then the code, which must be expect_code. *code (if not NULL)
 * receives the reply's code once the header could be read. */
enum radius_result radius_verify_reply(const uint8_t *pkt, size_t len,
				       uint8_t id,
				       const uint8_t req_auth[RADIUS_AUTH_LEN],
				       uint8_t expect_code, const void *secret,
				       size_t secret_len, uint8_t *code);

/* Offset of the one Message-Authenticator attribute's value in pkt (whose
 * attributes must be well-formed, plen its Length), 0 if there is none,
 * -1 if malformed (bad attribute length, or more than one). */
int radius_find_message_auth(const uint8_t *pkt, size_t plen);

/* HMAC-MD5 Message-Authenticator of pkt (plen octets) as RFC 3579 computes
 * it: the value at offset ma_off zeroed and, if auth is not NULL, auth in
 * place of the authenticator field. 0 or -1 (libcrypto failed, too long). */
int radius_message_auth(const uint8_t *pkt, size_t plen, size_t ma_off,
			const uint8_t auth[RADIUS_AUTH_LEN], const void *secret,
			size_t secret_len, uint8_t out[RADIUS_AUTH_LEN]);

/* Response Authenticator of reply pkt (plen octets): MD5 over it with
 * req_auth in place of its authenticator field, then secret. 0 or -1. */
int radius_response_auth(const uint8_t *pkt, size_t plen,
			 const uint8_t req_auth[RADIUS_AUTH_LEN],
			 const void *secret, size_t secret_len,
			 uint8_t out[RADIUS_AUTH_LEN]);

#endif /* FERRY_CONTROL_RADIUS_H */
