/* SPDX-License-Identifier: MIT */
/*
 * The msgpack subset of go-msgpack 0.5.5 that memberlist uses: bounded
 * writers that mirror Go's encodings byte for byte, liberal bounded readers,
 * and the table-driven struct <-> map codec the wire codec is built on.
 *
 * Pure: no allocation, no I/O. Never reads before *pos or at/after end.
 */
#include "swim_mp.h"

#include <string.h>

/* ---- writers ---- */

void
swim_mp_w_create(struct swim_mp_w *w, uint8_t *out, size_t cap)
{
	w->p = out;
	w->end = out + cap;
	w->is_full = false;
}

int
swim_mp_w_result(const struct swim_mp_w *w, const uint8_t *out)
{
	if (w->is_full)
		return SWIM_WIRE_E_NOSPACE;
	return (int)(w->p - out);
}

void
swim_mp_put_raw(struct swim_mp_w *w, const void *data, size_t len)
{
	if (w->is_full || (size_t)(w->end - w->p) < len) {
		w->is_full = true;
		return;
	}
	if (len > 0)
		memcpy(w->p, data, len);
	w->p += len;
}

void
swim_mp_put_u8(struct swim_mp_w *w, uint8_t b)
{
	swim_mp_put_raw(w, &b, 1);
}

void
swim_mp_put_be16(struct swim_mp_w *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	swim_mp_put_raw(w, b, sizeof(b));
}

void
swim_mp_put_be32(struct swim_mp_w *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };

	swim_mp_put_raw(w, b, sizeof(b));
}

void
swim_mp_put_uint(struct swim_mp_w *w, uint64_t v)
{
	if (v <= 0x7f) {
		swim_mp_put_u8(w, (uint8_t)v);
	} else if (v <= 0xff) {
		swim_mp_put_u8(w, 0xcc);
		swim_mp_put_u8(w, (uint8_t)v);
	} else if (v <= 0xffff) {
		swim_mp_put_u8(w, 0xcd);
		swim_mp_put_be16(w, (uint16_t)v);
	} else if (v <= 0xffffffffu) {
		swim_mp_put_u8(w, 0xce);
		swim_mp_put_be32(w, (uint32_t)v);
	} else {
		swim_mp_put_u8(w, 0xcf);
		swim_mp_put_be32(w, (uint32_t)(v >> 32));
		swim_mp_put_be32(w, (uint32_t)v);
	}
}

void
swim_mp_put_map(struct swim_mp_w *w, uint32_t nb)
{
	if (nb < 16) {
		swim_mp_put_u8(w, (uint8_t)(0x80 | nb));
	} else if (nb <= 0xffff) {
		swim_mp_put_u8(w, 0xde);
		swim_mp_put_be16(w, (uint16_t)nb);
	} else {
		swim_mp_put_u8(w, 0xdf);
		swim_mp_put_be32(w, nb);
	}
}

void
swim_mp_put_bool(struct swim_mp_w *w, bool v)
{
	swim_mp_put_u8(w, v ? 0xc3 : 0xc2);
}

void
swim_mp_put_str(struct swim_mp_w *w, const struct swim_str *s)
{
	uint8_t hdr[5];
	uint8_t *e = swim_mp_encode_strl(hdr, s->ptr == NULL ? 0 : s->len);

	swim_mp_put_raw(w, hdr, (size_t)(e - hdr));
	if (s->ptr != NULL)
		swim_mp_put_raw(w, s->ptr, s->len);
}

void
swim_mp_put_bytes(struct swim_mp_w *w, const struct swim_str *s)
{
	if (s->ptr == NULL)
		swim_mp_put_u8(w, 0xc0);
	else
		swim_mp_put_str(w, s);
}

/* go-msgpack 0.5.5 never writes str8 (0xd9): fixstr, then str16, str32. */
uint8_t *
swim_mp_encode_strl(uint8_t *p, uint32_t len)
{
	if (len < 32) {
		*p++ = (uint8_t)(0xa0 | len);
	} else if (len <= 0xffff) {
		*p++ = 0xda;
		*p++ = (uint8_t)(len >> 8);
		*p++ = (uint8_t)len;
	} else {
		*p++ = 0xdb;
		*p++ = (uint8_t)(len >> 24);
		*p++ = (uint8_t)(len >> 16);
		*p++ = (uint8_t)(len >> 8);
		*p++ = (uint8_t)len;
	}
	return p;
}

uint8_t *
swim_mp_encode_bytes(uint8_t *p, const struct swim_str *s)
{
	if (s->ptr == NULL) {
		*p++ = 0xc0;
		return p;
	}
	p = swim_mp_encode_strl(p, s->len);
	if (s->len > 0)
		memcpy(p, s->ptr, s->len);
	return p + s->len;
}

size_t
swim_mp_sizeof_bytes(const struct swim_str *s)
{
	if (s->ptr == NULL)
		return 1;
	if (s->len < 32)
		return 1 + (size_t)s->len;
	if (s->len <= 0xffff)
		return 3 + (size_t)s->len;
	return 5 + (size_t)s->len;
}

/* ---- readers ---- */

/* Big-endian unsigned of n (1, 2, 4, 8) bytes; caller checked bounds. */
static uint64_t
swim_mp_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Read an n-byte big-endian length after the type byte at *pos. */
static int
swim_mp_read_len(const uint8_t **pos, const uint8_t *end, unsigned n,
		 uint64_t *len)
{
	if ((size_t)(end - *pos) < 1 + (size_t)n)
		return SWIM_WIRE_E_TRUNCATED;
	*len = swim_mp_be(*pos + 1, n);
	*pos += 1 + n;
	return 0;
}

int
swim_mp_read_map(const uint8_t **pos, const uint8_t *end, uint32_t *nb)
{
	const uint8_t *p = *pos;
	uint64_t n;
	int rc;

	if (p >= end)
		return SWIM_WIRE_E_TRUNCATED;
	if ((*p & 0xf0) == 0x80) {
		*nb = *p & 0x0f;
		*pos = p + 1;
		return 0;
	}
	if (*p == 0xc0) {
		*nb = 0;
		*pos = p + 1;
		return 0;
	}
	if (*p != 0xde && *p != 0xdf)
		return SWIM_WIRE_E_TYPE;
	rc = swim_mp_read_len(&p, end, *p == 0xde ? 2 : 4, &n);
	if (rc < 0)
		return rc;
	if (n > SWIM_MP_LEN_MAX)
		return SWIM_WIRE_E_LENGTH;
	*nb = (uint32_t)n;
	*pos = p;
	return 0;
}

/* Decode any int into a signed/unsigned pair; floats and others are TYPE. */
static int
swim_mp_read_int(const uint8_t **pos, const uint8_t *end, uint64_t *v,
		 bool *is_neg)
{
	const uint8_t *p = *pos;
	uint8_t c;
	unsigned n;

	if (p >= end)
		return SWIM_WIRE_E_TRUNCATED;
	c = *p;
	*is_neg = false;
	if (c <= 0x7f || c == 0xc0) {
		*v = c == 0xc0 ? 0 : c;
		*pos = p + 1;
		return 0;
	}
	if (c >= 0xe0) {
		*is_neg = true;
		*pos = p + 1;
		return 0;
	}
	if (c >= 0xcc && c <= 0xcf) {
		n = 1u << (c - 0xcc);
	} else if (c >= 0xd0 && c <= 0xd3) {
		n = 1u << (c - 0xd0);
	} else {
		return SWIM_WIRE_E_TYPE;
	}
	if ((size_t)(end - p) < 1 + (size_t)n)
		return SWIM_WIRE_E_TRUNCATED;
	*v = swim_mp_be(p + 1, n);
	/* Signed encodings: the top bit of the payload is the sign. */
	if (c >= 0xd0 && (p[1] & 0x80) != 0)
		*is_neg = true;
	*pos = p + 1 + n;
	return 0;
}

int
swim_mp_read_uint(const uint8_t **pos, const uint8_t *end, uint64_t max,
		  uint64_t *v)
{
	const uint8_t *p = *pos;
	bool is_neg;
	int rc = swim_mp_read_int(&p, end, v, &is_neg);

	if (rc < 0)
		return rc;
	if (is_neg || *v > max)
		return SWIM_WIRE_E_RANGE;
	*pos = p;
	return 0;
}

int
swim_mp_read_bool(const uint8_t **pos, const uint8_t *end, bool *v)
{
	if (*pos >= end)
		return SWIM_WIRE_E_TRUNCATED;
	switch (**pos) {
	case 0xc0:
	case 0xc2:
		*v = false;
		break;
	case 0xc3:
		*v = true;
		break;
	default:
		return SWIM_WIRE_E_TYPE;
	}
	*pos += 1;
	return 0;
}

/* Length-header width of a str/bin type byte, or 0 if c is not one. */
static unsigned
swim_mp_str_hdr(uint8_t c, bool allow_bin)
{
	switch (c) {
	case 0xd9:
		return 1;
	case 0xda:
		return 2;
	case 0xdb:
		return 4;
	case 0xc4:
		return allow_bin ? 1 : 0;
	case 0xc5:
		return allow_bin ? 2 : 0;
	case 0xc6:
		return allow_bin ? 4 : 0;
	default:
		return 0;
	}
}

int
swim_mp_read_str(const uint8_t **pos, const uint8_t *end, bool allow_bin,
		 struct swim_str *s)
{
	const uint8_t *p = *pos;
	uint64_t len;
	unsigned n;
	int rc;

	if (p >= end)
		return SWIM_WIRE_E_TRUNCATED;
	if (*p == 0xc0) {
		s->ptr = NULL;
		s->len = 0;
		*pos = p + 1;
		return 0;
	}
	if ((*p & 0xe0) == 0xa0) {
		len = *p & 0x1f;
		p++;
	} else {
		n = swim_mp_str_hdr(*p, allow_bin);
		if (n == 0)
			return SWIM_WIRE_E_TYPE;
		rc = swim_mp_read_len(&p, end, n, &len);
		if (rc < 0)
			return rc;
	}
	if (len > SWIM_MP_LEN_MAX)
		return SWIM_WIRE_E_LENGTH;
	if ((uint64_t)(end - p) < len)
		return SWIM_WIRE_E_TRUNCATED;
	s->ptr = p;
	s->len = (uint32_t)len;
	*pos = p + len;
	return 0;
}

/*
 * What follows type byte c: a length header of *hdr bytes (the value's data
 * length, or its count of children for arrays/maps), or *fixed data bytes.
 */
static int
swim_mp_shape(uint8_t c, unsigned *hdr, unsigned *fixed, unsigned *kids)
{
	*hdr = 0, *fixed = 0, *kids = 0;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return 0;
	if (c >= 0x80 && c <= 0x8f) {
		*fixed = 0, *kids = 2 * (c & 0x0f);
		return 0;
	}
	if (c >= 0x90 && c <= 0x9f) {
		*kids = c & 0x0f;
		return 0;
	}
	if (c >= 0xa0 && c <= 0xbf) {
		*fixed = c & 0x1f;
		return 0;
	}
	switch (c) {
	case 0xc4: case 0xd9: *hdr = 1; return 0;
	case 0xc5: case 0xda: *hdr = 2; return 0;
	case 0xc6: case 0xdb: *hdr = 4; return 0;
	case 0xc7: *hdr = 1, *fixed = 1; return 0;	/* ext8: + type */
	case 0xc8: *hdr = 2, *fixed = 1; return 0;
	case 0xc9: *hdr = 4, *fixed = 1; return 0;
	case 0xca: case 0xce: case 0xd2: *fixed = 4; return 0;
	case 0xcb: case 0xcf: case 0xd3: *fixed = 8; return 0;
	case 0xcc: case 0xd0: *fixed = 1; return 0;
	case 0xcd: case 0xd1: *fixed = 2; return 0;
	case 0xd4: *fixed = 2; return 0;
	case 0xd5: *fixed = 3; return 0;
	case 0xd6: *fixed = 5; return 0;
	case 0xd7: *fixed = 9; return 0;
	case 0xd8: *fixed = 17; return 0;
	case 0xdc: *hdr = 2, *kids = 1; return 0;
	case 0xdd: *hdr = 4, *kids = 1; return 0;
	case 0xde: *hdr = 2, *kids = 2; return 0;
	case 0xdf: *hdr = 4, *kids = 2; return 0;
	default: return SWIM_WIRE_E_TYPE;	/* 0xc1, never used */
	}
}

int
swim_mp_skip(const uint8_t **pos, const uint8_t *end)
{
	const uint8_t *p = *pos;
	uint64_t pending = 1;	/* values still to skip */
	unsigned hdr, fixed, kids;
	uint64_t data;

	while (pending > 0) {
		if (p >= end)
			return SWIM_WIRE_E_TRUNCATED;
		if (swim_mp_shape(*p, &hdr, &fixed, &kids) < 0)
			return SWIM_WIRE_E_TYPE;
		pending--;
		data = fixed;
		if (hdr > 0) {
			uint64_t n;
			int rc = swim_mp_read_len(&p, end, hdr, &n);

			if (rc < 0)
				return rc;
			if (n > SWIM_MP_LEN_MAX)
				return SWIM_WIRE_E_LENGTH;
			if (kids > 0)
				pending += kids * n, kids = 0;
			else
				data += n;
		} else {
			p++;
			pending += kids;
		}
		/* Every pending value needs a byte: a bound on hostile counts. */
		if (pending > SWIM_MP_LEN_MAX)
			return SWIM_WIRE_E_LENGTH;
		if ((uint64_t)(end - p) < data)
			return SWIM_WIRE_E_TRUNCATED;
		p += data;
	}
	*pos = p;
	return 0;
}

/* ---- field tables ---- */

/* Decode one value of kind into the field at field_ptr. */
static int
swim_mp_decode_field(const uint8_t **pos, const uint8_t *end, uint8_t kind,
		     void *field_ptr)
{
	uint64_t v = 0;
	int rc;

	switch ((enum swim_mp_kind)kind) {
	case SWIM_MP_U32:
		rc = swim_mp_read_uint(pos, end, UINT32_MAX, &v);
		if (rc == 0)
			*(uint32_t *)field_ptr = (uint32_t)v;
		return rc;
	case SWIM_MP_U16:
		rc = swim_mp_read_uint(pos, end, UINT16_MAX, &v);
		if (rc == 0)
			*(uint16_t *)field_ptr = (uint16_t)v;
		return rc;
	case SWIM_MP_LEN:
		rc = swim_mp_read_uint(pos, end, UINT64_MAX, &v);
		if (rc == 0)
			*(uint32_t *)field_ptr =
				v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		return rc;
	case SWIM_MP_STATUS:
		rc = swim_mp_read_uint(pos, end, SWIM_STATUS_COUNT - 1, &v);
		if (rc == 0)
			*(enum swim_status *)field_ptr = (enum swim_status)v;
		return rc;
	case SWIM_MP_BOOL:
		return swim_mp_read_bool(pos, end, (bool *)field_ptr);
	case SWIM_MP_STR:
		/* go-msgpack refuses bin for a Go string. */
		return swim_mp_read_str(pos, end, false,
					(struct swim_str *)field_ptr);
	case SWIM_MP_BYTES:
		return swim_mp_read_str(pos, end, true,
					(struct swim_str *)field_ptr);
	case SWIM_MP_VSN: {
		struct swim_str *s = field_ptr;

		rc = swim_mp_read_str(pos, end, true, s);
		/* memberlist 0.2.2 indexes Vsn[0..5] when non-empty. */
		if (rc == 0 && s->len != 0 && s->len != SWIM_VSN_LEN)
			return SWIM_WIRE_E_VSN;
		return rc;
	}
	}
	return SWIM_WIRE_E_TYPE;
}

/* The table entry whose key equals k, or NULL. */
static const struct swim_mp_field *
swim_mp_field_find(const struct swim_mp_field *f, unsigned nb_f,
		   const struct swim_str *k)
{
	for (unsigned i = 0; i < nb_f; i++) {
		if (f[i].key_len == k->len &&
		    memcmp(f[i].key, k->ptr, k->len) == 0)
			return &f[i];
	}
	return NULL;
}

int
swim_mp_decode_struct(const uint8_t **pos, const uint8_t *end,
		      const struct swim_mp_field *f, unsigned nb_f, void *obj)
{
	const uint8_t *p = *pos;
	const struct swim_mp_field *fi;
	struct swim_str key;
	uint32_t nb;
	int rc;

	rc = swim_mp_read_map(&p, end, &nb);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < nb; i++) {
		rc = swim_mp_read_str(&p, end, true, &key);
		if (rc == SWIM_WIRE_E_TYPE) {
			/* A non-string key can't name a field: skip the pair. */
			rc = swim_mp_skip(&p, end);
			key.ptr = NULL;
			key.len = 0;
		}
		if (rc < 0)
			return rc;
		fi = key.ptr == NULL ? NULL : swim_mp_field_find(f, nb_f, &key);
		if (fi == NULL)
			rc = swim_mp_skip(&p, end);
		else
			rc = swim_mp_decode_field(&p, end, fi->kind,
						  (uint8_t *)obj + fi->offset);
		if (rc < 0)
			return rc;
	}
	*pos = p;
	return 0;
}

/* Whether a field is zero/empty, for omitempty. */
static bool
swim_mp_field_is_empty(const struct swim_mp_field *f, const void *field_ptr)
{
	switch ((enum swim_mp_kind)f->kind) {
	case SWIM_MP_U32:
	case SWIM_MP_LEN:
		return *(const uint32_t *)field_ptr == 0;
	case SWIM_MP_U16:
		return *(const uint16_t *)field_ptr == 0;
	case SWIM_MP_BOOL:
		return !*(const bool *)field_ptr;
	case SWIM_MP_STATUS:
		return *(const enum swim_status *)field_ptr == 0;
	case SWIM_MP_STR:
	case SWIM_MP_BYTES:
	case SWIM_MP_VSN:
		return ((const struct swim_str *)field_ptr)->len == 0;
	}
	return false;
}

/* Encode one field's value. */
static void
swim_mp_encode_field(struct swim_mp_w *w, uint8_t kind, const void *field_ptr)
{
	switch ((enum swim_mp_kind)kind) {
	case SWIM_MP_U32:
	case SWIM_MP_LEN:
		swim_mp_put_uint(w, *(const uint32_t *)field_ptr);
		return;
	case SWIM_MP_U16:
		swim_mp_put_uint(w, *(const uint16_t *)field_ptr);
		return;
	case SWIM_MP_STATUS:
		swim_mp_put_uint(w, *(const enum swim_status *)field_ptr);
		return;
	case SWIM_MP_BOOL:
		swim_mp_put_bool(w, *(const bool *)field_ptr);
		return;
	case SWIM_MP_STR:
		swim_mp_put_str(w, field_ptr);
		return;
	case SWIM_MP_BYTES:
	case SWIM_MP_VSN:
		swim_mp_put_bytes(w, field_ptr);
		return;
	}
}

void
swim_mp_encode_struct(struct swim_mp_w *w, const struct swim_mp_field *f,
		      unsigned nb_f, const void *obj)
{
	uint32_t nb = 0;
	const void *fp;

	for (unsigned i = 0; i < nb_f; i++) {
		fp = (const uint8_t *)obj + f[i].offset;
		if (!f[i].is_omitempty || !swim_mp_field_is_empty(&f[i], fp))
			nb++;
	}
	swim_mp_put_map(w, nb);
	for (unsigned i = 0; i < nb_f; i++) {
		fp = (const uint8_t *)obj + f[i].offset;
		if (f[i].is_omitempty && swim_mp_field_is_empty(&f[i], fp))
			continue;
		swim_mp_put_u8(w, (uint8_t)(0xa0 | f[i].key_len));
		swim_mp_put_raw(w, f[i].key, f[i].key_len);
		swim_mp_encode_field(w, f[i].kind, fp);
	}
}
