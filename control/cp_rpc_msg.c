/* SPDX-License-Identifier: MIT */
/*
 * msgpack encode/scan/decode helpers for the Serf RPC. Owns no sockets and
 * no state beyond the buffers handed in. The scanner is the only code that
 * looks at untrusted lengths; every decoder below runs on bytes it has
 * already bounded, and still checks the cursor against end first.
 */
#include "cp_rpc_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <msgpuck.h>

void
cp_rpc_buf_create(struct cp_rpc_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
cp_rpc_buf_destroy(struct cp_rpc_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void
cp_rpc_buf_consume(struct cp_rpc_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

/* Room for n more bytes, or NULL (and overflow set) past max or on ENOMEM. */
static char *
cp_rpc_buf_reserve(struct cp_rpc_buf *b, size_t n)
{
	if (b->overflow)
		return NULL;
	if (n > b->max || b->len > b->max - n) {
		b->overflow = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		char *d = realloc(b->data, cap);
		if (d == NULL) {
			b->overflow = true;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	return b->data + b->len;
}

void
cp_rpc_enc_map(struct cp_rpc_buf *b, uint32_t n)
{
	char *p = cp_rpc_buf_reserve(b, mp_sizeof_map(n));
	if (p != NULL)
		b->len = mp_encode_map(p, n) - b->data;
}

void
cp_rpc_enc_array(struct cp_rpc_buf *b, uint32_t n)
{
	char *p = cp_rpc_buf_reserve(b, mp_sizeof_array(n));
	if (p != NULL)
		b->len = mp_encode_array(p, n) - b->data;
}

void
cp_rpc_enc_nil(struct cp_rpc_buf *b)
{
	char *p = cp_rpc_buf_reserve(b, 1);
	if (p != NULL)
		b->len = mp_encode_nil(p) - b->data;
}

void
cp_rpc_enc_bool(struct cp_rpc_buf *b, bool v)
{
	char *p = cp_rpc_buf_reserve(b, 1);
	if (p != NULL)
		b->len = mp_encode_bool(p, v) - b->data;
}

void
cp_rpc_enc_uint(struct cp_rpc_buf *b, uint64_t v)
{
	char *p = cp_rpc_buf_reserve(b, mp_sizeof_uint(v));
	if (p != NULL)
		b->len = mp_encode_uint(p, v) - b->data;
}

/*
 * go-msgpack with WriteExt emits str8 (0xd9) for 32..255-byte strings, and
 * so does msgpuck's mp_encode_str: the RPC dialect, unlike memberlist's.
 */
void
cp_rpc_enc_strn(struct cp_rpc_buf *b, const char *s, uint32_t len)
{
	char *p = cp_rpc_buf_reserve(b, mp_sizeof_str(len));
	if (p != NULL)
		b->len = mp_encode_str(p, s != NULL ? s : "", len) - b->data;
}

void
cp_rpc_enc_str(struct cp_rpc_buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	cp_rpc_enc_strn(b, s, (uint32_t)strnlen(s, UINT32_MAX));
}

void
cp_rpc_enc_bin(struct cp_rpc_buf *b, const void *data, uint32_t len)
{
	if (data == NULL) {
		cp_rpc_enc_nil(b);
		return;
	}
	char *p = cp_rpc_buf_reserve(b, mp_sizeof_bin(len));
	if (p != NULL)
		b->len = mp_encode_bin(p, data, len) - b->data;
}

void
cp_rpc_enc_raw(struct cp_rpc_buf *b, const void *data, size_t len)
{
	char *p = cp_rpc_buf_reserve(b, len);
	if (p != NULL && len != 0) {
		memcpy(p, data, len);
		b->len += len;
	}
}

void
cp_rpc_enc_double(struct cp_rpc_buf *b, double v)
{
	char *p = cp_rpc_buf_reserve(b, mp_sizeof_double(v));
	if (p != NULL)
		b->len = mp_encode_double(p, v) - b->data;
}

void
cp_rpc_enc_header(struct cp_rpc_buf *b, uint64_t seq, const char *err)
{
	cp_rpc_enc_map(b, 2);
	cp_rpc_enc_str(b, "Error");
	cp_rpc_enc_str(b, err);
	cp_rpc_enc_str(b, "Seq");
	cp_rpc_enc_uint(b, seq);
}

void
cp_rpc_enc_request(struct cp_rpc_buf *b, const char *cmd, uint64_t seq)
{
	cp_rpc_enc_map(b, 2);
	cp_rpc_enc_str(b, "Command");
	cp_rpc_enc_str(b, cmd);
	cp_rpc_enc_str(b, "Seq");
	cp_rpc_enc_uint(b, seq);
}

/* Big-endian load of n (1, 2 or 4) bytes. */
static uint32_t
cp_rpc_load_be(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Size of the element whose first byte is at p (header plus inline
 * payload) and how many child elements follow it. Returns SHORT when the
 * length field itself is cut off.
 */
static enum cp_rpc_scan
cp_rpc_scan_head(const uint8_t *p, size_t avail, uint64_t *size,
		 uint64_t *children)
{
	uint8_t c = p[0];
	*children = 0;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
		*size = 1;
		return CP_RPC_SCAN_OK;
	}
	if (c <= 0x9f) {	/* fixmap, fixarray */
		*size = 1;
		*children = c <= 0x8f ? 2u * (c & 0x0f) : (c & 0x0f);
		return CP_RPC_SCAN_OK;
	}
	if (c <= 0xbf) {
		*size = 1 + (uint64_t)(c & 0x1f);
		return CP_RPC_SCAN_OK;
	}
	/* 0xc1 is never used; ext (c7-c9, d4-d8) is valid but unused here. */
	static const uint8_t fixed[32] = {
		[0x0a] = 5, [0x0b] = 9, [0x0c] = 2, [0x0d] = 3, [0x0e] = 5,
		[0x0f] = 9, [0x10] = 2, [0x11] = 3, [0x12] = 5, [0x13] = 9,
		[0x14] = 3, [0x15] = 4, [0x16] = 6, [0x17] = 10, [0x18] = 18,
	};
	/* Width of the length field, for the variable-length forms. */
	static const uint8_t lenw[32] = {
		[0x04] = 1, [0x05] = 2, [0x06] = 4, [0x07] = 1, [0x08] = 2,
		[0x09] = 4, [0x19] = 1, [0x1a] = 2, [0x1b] = 4, [0x1c] = 2,
		[0x1d] = 4, [0x1e] = 2, [0x1f] = 4,
	};
	unsigned i = c - 0xc0;
	if (fixed[i] != 0) {
		*size = fixed[i];
		return CP_RPC_SCAN_OK;
	}
	if (lenw[i] == 0)
		return CP_RPC_SCAN_BAD;
	if (avail < 1u + lenw[i])
		return CP_RPC_SCAN_SHORT;
	uint64_t n = cp_rpc_load_be(p + 1, lenw[i]);
	*size = 1 + lenw[i];
	if (c >= 0xdc)
		*children = c >= 0xde ? 2 * n : n;
	else
		*size += n + (c >= 0xc7 && c <= 0xc9 ? 1 : 0);
	return CP_RPC_SCAN_OK;
}

enum cp_rpc_scan
cp_rpc_mp_scan(const char *buf, size_t len, size_t *value_len)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint64_t pending = 1;	/* elements still to walk over */
	size_t pos = 0;
	while (pending > 0) {
		if (pos >= len)
			return CP_RPC_SCAN_SHORT;
		uint64_t size, children;
		enum cp_rpc_scan rc = cp_rpc_scan_head(p + pos, len - pos,
						       &size, &children);
		if (rc != CP_RPC_SCAN_OK)
			return rc;
		if (size > len - pos)
			return CP_RPC_SCAN_SHORT;
		pos += size;
		pending = pending - 1 + children;
	}
	*value_len = pos;
	return CP_RPC_SCAN_OK;
}

int
cp_rpc_dec_map(const char **p, const char *end, uint32_t *n)
{
	if (*p >= end)
		return -EINVAL;
	if (mp_typeof(**p) == MP_NIL) {
		mp_decode_nil(p);
		*n = 0;
		return 0;
	}
	if (mp_typeof(**p) != MP_MAP)
		return -EINVAL;
	*n = mp_decode_map(p);
	return 0;
}

int
cp_rpc_dec_array(const char **p, const char *end, uint32_t *n)
{
	if (*p >= end)
		return -EINVAL;
	if (mp_typeof(**p) == MP_NIL) {
		mp_decode_nil(p);
		*n = 0;
		return 0;
	}
	if (mp_typeof(**p) != MP_ARRAY)
		return -EINVAL;
	*n = mp_decode_array(p);
	return 0;
}

int
cp_rpc_dec_strn(const char **p, const char *end, const char **s,
		uint32_t *len)
{
	if (*p >= end)
		return -EINVAL;
	switch (mp_typeof(**p)) {
	case MP_NIL:
		mp_decode_nil(p);
		*s = NULL;
		*len = 0;
		return 0;
	case MP_STR:
		*s = mp_decode_str(p, len);
		return 0;
	case MP_BIN:
		*s = mp_decode_bin(p, len);
		return 0;
	default:
		return -EINVAL;
	}
}

int
cp_rpc_dec_uint(const char **p, const char *end, uint64_t max, uint64_t *v)
{
	if (*p >= end)
		return -EINVAL;
	const char *q = *p;
	uint64_t u;
	switch (mp_typeof(*q)) {
	case MP_NIL:
		mp_decode_nil(&q);
		u = 0;
		break;
	case MP_UINT:
		u = mp_decode_uint(&q);
		break;
	case MP_INT: {
		int64_t i = mp_decode_int(&q);
		if (i < 0)
			return -ERANGE;
		u = (uint64_t)i;
		break;
	}
	default:
		return -EINVAL;
	}
	if (u > max)
		return -ERANGE;
	*p = q;
	*v = u;
	return 0;
}

int
cp_rpc_dec_bool(const char **p, const char *end, bool *v)
{
	if (*p >= end)
		return -EINVAL;
	if (mp_typeof(**p) == MP_BOOL) {
		*v = mp_decode_bool(p);
		return 0;
	}
	uint64_t u;
	int rc = cp_rpc_dec_uint(p, end, 1, &u);
	if (rc == 0)
		*v = u != 0;
	return rc;
}

bool
cp_rpc_key_is(const char *key, uint32_t len, const char *want)
{
	return key != NULL && strlen(want) == len &&
	       memcmp(key, want, len) == 0;
}

void
cp_rpc_dec_skip(const char **p, const char *end)
{
	if (*p < end)
		mp_next(p);
}
