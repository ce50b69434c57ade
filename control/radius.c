// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/radius.c: RADIUS Status-Server building and reply verification; MD5 and HMAC-MD5 from OpenSSL's libcrypto (EVP digest, HMAC()). */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "radius.h"

/* The Message-Authenticator attribute: type, length, 16 octets. */
#define RADIUS_MA_LEN (2 + RADIUS_AUTH_LEN)

const char *radius_result_str(enum radius_result r)
{
	switch (r) {
	case RADIUS_OK:
		return "ok";
	case RADIUS_ERR_SHORT:
		return "short reply";
	case RADIUS_ERR_LENGTH:
		return "bad reply length";
	case RADIUS_ERR_ATTR:
		return "malformed attributes";
	case RADIUS_ERR_ID:
		return "wrong identifier";
	case RADIUS_ERR_RESPONSE_AUTH:
		return "bad response authenticator";
	case RADIUS_ERR_MESSAGE_AUTH:
		return "bad message-authenticator";
	case RADIUS_ERR_CODE:
		return "unexpected code";
	case RADIUS_ERR_CRYPTO:
		return "crypto failure";
	case RADIUS_ERR_ARG:
		return "bad arguments";
	}
	return "?";
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int radius_find_message_auth(const uint8_t *pkt, size_t plen)
{
	size_t off = RADIUS_HDR_LEN;
	int found = 0;

	while (off < plen) {
		uint8_t type, alen;

		if (plen - off < 2)
			return -1;
		type = pkt[off];
		alen = pkt[off + 1];
		if (alen < 2 || alen > plen - off)
			return -1;
		if (type == RADIUS_ATTR_MESSAGE_AUTHENTICATOR) {
			if (alen != RADIUS_MA_LEN || found)
				return -1;
			found = (int)off + 2;
		}
		off += alen;
	}
	return found;
}

int radius_message_auth(const uint8_t *pkt, size_t plen, size_t ma_off,
			const uint8_t auth[RADIUS_AUTH_LEN], const void *secret,
			size_t secret_len, uint8_t out[RADIUS_AUTH_LEN])
{
	uint8_t copy[RADIUS_PACKET_MAX];
	unsigned int mdlen = 0;

	if (plen < RADIUS_HDR_LEN || plen > sizeof(copy) ||
	    ma_off < RADIUS_HDR_LEN || ma_off + RADIUS_AUTH_LEN > plen ||
	    !secret_len || secret_len > RADIUS_SECRET_MAX)
		return -1;
	memcpy(copy, pkt, plen);
	if (auth)
		memcpy(copy + 4, auth, RADIUS_AUTH_LEN);
	memset(copy + ma_off, 0, RADIUS_AUTH_LEN);
	if (!HMAC(EVP_md5(), secret, (int)secret_len, copy, plen, out,
		  &mdlen) ||
	    mdlen != RADIUS_AUTH_LEN)
		return -1;
	return 0;
}

int radius_response_auth(const uint8_t *pkt, size_t plen,
			 const uint8_t req_auth[RADIUS_AUTH_LEN],
			 const void *secret, size_t secret_len,
			 uint8_t out[RADIUS_AUTH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int mdlen = 0;
	int ok;

	if (plen < RADIUS_HDR_LEN || plen > RADIUS_PACKET_MAX)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) &&
	     EVP_DigestUpdate(ctx, pkt, 4) &&
	     EVP_DigestUpdate(ctx, req_auth, RADIUS_AUTH_LEN) &&
	     EVP_DigestUpdate(ctx, pkt + RADIUS_HDR_LEN,
			      plen - RADIUS_HDR_LEN) &&
	     EVP_DigestUpdate(ctx, secret, secret_len) &&
	     EVP_DigestFinal_ex(ctx, out, &mdlen) && mdlen == RADIUS_AUTH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int radius_status_server(uint8_t *buf, size_t cap, uint8_t id,
			 const uint8_t req_auth[RADIUS_AUTH_LEN],
			 const char *nas_id, const void *secret,
			 size_t secret_len)
{
	size_t nlen = nas_id ? strlen(nas_id) : 0;
	size_t len = RADIUS_HDR_LEN + RADIUS_MA_LEN + (nlen ? 2 + nlen : 0);
	size_t ma_off = RADIUS_HDR_LEN + 2;

	if (!buf || !req_auth || !secret || !secret_len ||
	    secret_len > RADIUS_SECRET_MAX || nlen > 253 || len > cap)
		return -EINVAL;
	buf[0] = RADIUS_STATUS_SERVER;
	buf[1] = id;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memcpy(buf + 4, req_auth, RADIUS_AUTH_LEN);
	/* Message-Authenticator first, as in RFC 5997's examples. */
	buf[RADIUS_HDR_LEN] = RADIUS_ATTR_MESSAGE_AUTHENTICATOR;
	buf[RADIUS_HDR_LEN + 1] = RADIUS_MA_LEN;
	memset(buf + ma_off, 0, RADIUS_AUTH_LEN);
	if (nlen) {
		size_t o = RADIUS_HDR_LEN + RADIUS_MA_LEN;

		buf[o] = RADIUS_ATTR_NAS_IDENTIFIER;
		buf[o + 1] = (uint8_t)(2 + nlen);
		memcpy(buf + o + 2, nas_id, nlen);
	}
	if (radius_message_auth(buf, len, ma_off, NULL, secret, secret_len,
				buf + ma_off))
		return -EIO;
	return (int)len;
}

enum radius_result radius_verify_reply(const uint8_t *pkt, size_t len,
				       uint8_t id,
				       const uint8_t req_auth[RADIUS_AUTH_LEN],
				       uint8_t expect_code, const void *secret,
				       size_t secret_len, uint8_t *code)
{
	uint8_t want[RADIUS_AUTH_LEN];
	size_t plen;
	int ma;

	if (!secret_len || secret_len > RADIUS_SECRET_MAX)
		return RADIUS_ERR_ARG;
	if (len < RADIUS_HDR_LEN)
		return RADIUS_ERR_SHORT;
	if (code)
		*code = pkt[0];
	plen = get16(pkt + 2);
	if (plen < RADIUS_HDR_LEN || plen > RADIUS_PACKET_MAX)
		return RADIUS_ERR_LENGTH;
	if (len < plen)
		return RADIUS_ERR_SHORT;
	ma = radius_find_message_auth(pkt, plen);
	if (ma < 0)
		return RADIUS_ERR_ATTR;
	if (pkt[1] != id)
		return RADIUS_ERR_ID;
	if (radius_response_auth(pkt, plen, req_auth, secret, secret_len, want))
		return RADIUS_ERR_CRYPTO;
	if (CRYPTO_memcmp(want, pkt + 4, RADIUS_AUTH_LEN))
		return RADIUS_ERR_RESPONSE_AUTH;
	if (ma > 0) {
		if (radius_message_auth(pkt, plen, (size_t)ma, req_auth, secret,
					secret_len, want))
			return RADIUS_ERR_CRYPTO;
		if (CRYPTO_memcmp(want, pkt + ma, RADIUS_AUTH_LEN))
			return RADIUS_ERR_MESSAGE_AUTH;
	}
	if (pkt[0] != expect_code)
		return RADIUS_ERR_CODE;
	return RADIUS_OK;
}
