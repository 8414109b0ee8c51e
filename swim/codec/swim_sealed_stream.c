/* SPDX-License-Identifier: MIT */
/*
 * Chunked sealed streams (swim_sealed_stream.h): sealing and opening one
 * chunk at a time through swim_crypto's payload calls, with the chunk
 * header and the stream id as AAD. Owns the chunk's byte layout and the
 * order checks; must never touch sockets, clocks or logs, and never
 * hands out a byte that did not authenticate.
 */
#include "swim_sealed_stream.h"

#include <string.h>

/* AAD: the chunk header, then the stream id. */
enum { SWIM_SSTREAM_AAD = SWIM_SSTREAM_HDR + SWIM_CRYPTO_NONCE_LEN };

static const char *const swim_sstream_err_str[] = {
	"ok",
	"chunk incomplete",
	"not a sealed chunk (type)",
	"unknown chunk flags",
	"chunk length out of range",
	"chunk index out of order",
	"chunk direction (reply bit) wrong",
	"chunk payload version not 1",
	"no installed key opens the chunk",
	"chunk after the final one",
	"stream ended before its final chunk",
	"output buffer too small",
	"keyring empty",
	"not a push/pull header",
};

_Static_assert(sizeof(swim_sstream_err_str) /
		       sizeof(swim_sstream_err_str[0]) ==
	       -SWIM_SSTREAM_E_COUNT, "one name per error");

const char *
swim_sstream_strerror(int err)
{
	if (err > 0 || err <= SWIM_SSTREAM_E_COUNT)
		return "unknown sealed-stream error";
	return swim_sstream_err_str[-err];
}

static void
swim_sstream_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
swim_sstream_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void
swim_sstream_init(struct swim_sstream *st, bool is_reply)
{
	memset(st, 0, sizeof(*st));
	st->is_reply = is_reply;
}

/* The AAD of a chunk whose header is hdr, in stream sid. */
static void
swim_sstream_aad(uint8_t aad[SWIM_SSTREAM_AAD], const uint8_t *hdr,
		 const uint8_t sid[SWIM_CRYPTO_NONCE_LEN])
{
	memcpy(aad, hdr, SWIM_SSTREAM_HDR);
	memcpy(aad + SWIM_SSTREAM_HDR, sid, SWIM_CRYPTO_NONCE_LEN);
}

int
swim_sstream_seal(struct swim_sstream *st, const struct swim_keyring *ring,
		  const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
		  const uint8_t *in, size_t len, bool is_final, uint8_t *out,
		  size_t cap)
{
	uint8_t aad[SWIM_SSTREAM_AAD];
	int n;

	if (st->is_final)
		return SWIM_SSTREAM_E_AFTER_FINAL;
	if (len > SWIM_SSTREAM_CHUNK_MAX ||
	    (st->index == UINT32_MAX && !is_final))
		return SWIM_SSTREAM_E_LENGTH;
	if (cap < len + SWIM_SSTREAM_OVERHEAD)
		return SWIM_SSTREAM_E_NOSPACE;
	if (st->index == 0)
		memcpy(st->sid, nonce, SWIM_CRYPTO_NONCE_LEN);
	out[0] = SWIM_SSTREAM_TYPE;
	out[1] = (uint8_t)((is_final ? SWIM_SSTREAM_FINAL : 0) |
			   (st->is_reply ? SWIM_SSTREAM_REPLY : 0));
	swim_sstream_put32(out + 2, st->index);
	swim_sstream_put32(out + 6, (uint32_t)(len + SWIM_CRYPTO_OVERHEAD));
	swim_sstream_aad(aad, out, st->sid);
	n = swim_crypto_seal_payload(ring, 1, nonce, aad, sizeof(aad), in, len,
				     out + SWIM_SSTREAM_HDR,
				     cap - SWIM_SSTREAM_HDR);
	if (n < 0)
		return n == SWIM_CRYPTO_E_NOKEY ? SWIM_SSTREAM_E_NOKEY :
						  SWIM_SSTREAM_E_NOSPACE;
	st->index++;
	st->is_final = is_final;
	return n + SWIM_SSTREAM_HDR;
}

long
swim_sstream_chunk_len(const uint8_t *buf, size_t len)
{
	uint32_t l;

	if (len >= 1 && buf[0] != SWIM_SSTREAM_TYPE)
		return SWIM_SSTREAM_E_TYPE;
	if (len >= 2 &&
	    (buf[1] & ~(SWIM_SSTREAM_FINAL | SWIM_SSTREAM_REPLY)) != 0)
		return SWIM_SSTREAM_E_FLAGS;
	if (len < SWIM_SSTREAM_HDR)
		return SWIM_SSTREAM_E_AGAIN;
	l = swim_sstream_get32(buf + 6);
	if (l < SWIM_CRYPTO_OVERHEAD ||
	    l > SWIM_SSTREAM_CHUNK_MAX + SWIM_CRYPTO_OVERHEAD)
		return SWIM_SSTREAM_E_LENGTH;
	return (long)l + SWIM_SSTREAM_HDR;
}

/* The header's order checks, before any decryption. */
static int
swim_sstream_check(const struct swim_sstream *st, const uint8_t *hdr)
{
	bool is_reply = (hdr[1] & SWIM_SSTREAM_REPLY) != 0;

	if (st->is_final)
		return SWIM_SSTREAM_E_AFTER_FINAL;
	if (swim_sstream_get32(hdr + 2) != st->index)
		return SWIM_SSTREAM_E_INDEX;
	/* the index never wraps: only a final chunk may take the last */
	if (st->index == UINT32_MAX && !(hdr[1] & SWIM_SSTREAM_FINAL))
		return SWIM_SSTREAM_E_LENGTH;
	if (is_reply != st->is_reply)
		return SWIM_SSTREAM_E_ROLE;
	if (hdr[SWIM_SSTREAM_HDR] != 1)
		return SWIM_SSTREAM_E_VERSION;
	return 0;
}

int
swim_sstream_open(struct swim_sstream *st, const struct swim_keyring *ring,
		  const uint8_t *buf, size_t len, uint8_t *out, size_t cap,
		  size_t *consumed, bool *is_final)
{
	const uint8_t *sid;
	uint8_t aad[SWIM_SSTREAM_AAD];
	long clen = swim_sstream_chunk_len(buf, len);
	int rc, n;

	if (clen < 0)
		return (int)clen;
	if (len < (size_t)clen)
		return SWIM_SSTREAM_E_AGAIN;
	rc = swim_sstream_check(st, buf);
	if (rc != 0)
		return rc;
	if (cap < (size_t)clen - SWIM_SSTREAM_OVERHEAD)
		return SWIM_SSTREAM_E_NOSPACE;
	/* chunk 0 names the stream: its own nonce, authenticated by it */
	sid = st->index == 0 ? buf + SWIM_SSTREAM_HDR + 1 : st->sid;
	swim_sstream_aad(aad, buf, sid);
	n = swim_crypto_open_payload(ring, aad, sizeof(aad),
				     buf + SWIM_SSTREAM_HDR,
				     (size_t)clen - SWIM_SSTREAM_HDR, out, cap);
	if (n < 0)
		return n == SWIM_CRYPTO_E_NOSPACE ? SWIM_SSTREAM_E_NOSPACE :
		       n == SWIM_CRYPTO_E_NOKEY ? SWIM_SSTREAM_E_NOKEY :
						  SWIM_SSTREAM_E_AUTH;
	if (st->index == 0)
		memcpy(st->sid, sid, SWIM_CRYPTO_NONCE_LEN);
	st->index++;
	st->is_final = (buf[1] & SWIM_SSTREAM_FINAL) != 0;
	*consumed = (size_t)clen;
	*is_final = st->is_final;
	return n;
}

int
swim_sstream_finish(const struct swim_sstream *st)
{
	return st->is_final ? 0 : SWIM_SSTREAM_E_TRUNCATED;
}
