/* SPDX-License-Identifier: MIT */
/*
 * The msgpack writers of swim_mp.h: bounded writers that mirror
 * go-msgpack 0.5.5's encodings byte for byte (smallest ints, the str
 * family only, nil for a nil []byte), and the table-driven encoder that
 * writes a struct as a map in its field table's (sorted) key order.
 *
 * Pure: no allocation, no I/O. Never writes at/after the buffer's end.
 */
#include "swim_mp.h"

#include <string.h>

/* ---- writers ---- */

void
swim_mp_w_create(struct swim_mp_w *w, uint8_t *out, size_t cap)
{
	w->p = out;
	w->start = out;
	w->end = out + cap;
	w->is_full = false;
}

int
swim_mp_w_result(const struct swim_mp_w *w)
{
	if (w->is_full)
		return SWIM_WIRE_E_NOSPACE;
	return (int)(w->p - w->start);
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

/* A tag byte (none if tag_len is 0) and a big-endian value of n bytes. */
static void
swim_mp_put_tagged(struct swim_mp_w *w, unsigned tag_len, uint8_t tag,
		   uint64_t v, unsigned n)
{
	uint8_t b[9];

	b[0] = tag;
	for (unsigned i = 0; i < n; i++)
		b[tag_len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	swim_mp_put_raw(w, b, tag_len + n);
}

void
swim_mp_put_be16(struct swim_mp_w *w, uint16_t v)
{
	swim_mp_put_tagged(w, 0, 0, v, 2);
}

void
swim_mp_put_be32(struct swim_mp_w *w, uint32_t v)
{
	swim_mp_put_tagged(w, 0, 0, v, 4);
}

void
swim_mp_put_uint(struct swim_mp_w *w, uint64_t v)
{
	if (v <= 0x7f)
		swim_mp_put_u8(w, (uint8_t)v);
	else if (v <= UINT8_MAX)
		swim_mp_put_tagged(w, 1, 0xcc, v, 1);
	else if (v <= UINT16_MAX)
		swim_mp_put_tagged(w, 1, 0xcd, v, 2);
	else if (v <= UINT32_MAX)
		swim_mp_put_tagged(w, 1, 0xce, v, 4);
	else
		swim_mp_put_tagged(w, 1, 0xcf, v, 8);
}

/* A Go int: by value; negative ones as negative fixint or int8..64. */
static void
swim_mp_put_int(struct swim_mp_w *w, int64_t v)
{
	if (v >= 0)
		swim_mp_put_uint(w, (uint64_t)v);
	else if (v >= -32)
		swim_mp_put_u8(w, (uint8_t)(int8_t)v);
	else if (v >= INT8_MIN)
		swim_mp_put_tagged(w, 1, 0xd0, (uint64_t)v, 1);
	else if (v >= INT16_MIN)
		swim_mp_put_tagged(w, 1, 0xd1, (uint64_t)v, 2);
	else if (v >= INT32_MIN)
		swim_mp_put_tagged(w, 1, 0xd2, (uint64_t)v, 4);
	else
		swim_mp_put_tagged(w, 1, 0xd3, (uint64_t)v, 8);
}

void
swim_mp_put_f64(struct swim_mp_w *w, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	swim_mp_put_tagged(w, 1, 0xcb, u, 8);
}

/* fixmap/map16/map32 or fixarray/array16/array32 headers. */
static void
swim_mp_put_container(struct swim_mp_w *w, uint32_t nb, bool is_map)
{
	if (nb <= 15)
		swim_mp_put_u8(w, (uint8_t)((is_map ? 0x80 : 0x90) | nb));
	else if (nb <= UINT16_MAX)
		swim_mp_put_tagged(w, 1, is_map ? 0xde : 0xdc, nb, 2);
	else
		swim_mp_put_tagged(w, 1, is_map ? 0xdf : 0xdd, nb, 4);
}

void
swim_mp_put_map(struct swim_mp_w *w, uint32_t nb)
{
	swim_mp_put_container(w, nb, true);
}

void
swim_mp_put_array(struct swim_mp_w *w, uint32_t nb)
{
	swim_mp_put_container(w, nb, false);
}

static void
swim_mp_put_bool(struct swim_mp_w *w, bool v)
{
	swim_mp_put_u8(w, v ? 0xc3 : 0xc2);
}

/* A str header (fixstr/str16/str32). */
static void
swim_mp_put_strl(struct swim_mp_w *w, uint32_t len)
{
	uint8_t hdr[5];

	swim_mp_put_raw(w, hdr, (size_t)(swim_mp_encode_strl(hdr, len) - hdr));
}

void
swim_mp_put_strn(struct swim_mp_w *w, const void *ptr, uint32_t len)
{
	swim_mp_put_strl(w, len);
	swim_mp_put_raw(w, ptr, len);
}

void
swim_mp_put_str(struct swim_mp_w *w, const struct swim_str *s)
{
	swim_mp_put_strn(w, s->ptr, s->ptr == NULL ? 0 : s->len);
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

/* ---- field tables: the encoder ---- */

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
	default:	/* Serf has no omitempty fields */
		return false;
	}
}

/* Encode one field's value. */
static void
swim_mp_encode_field(struct swim_mp_w *w, const struct swim_mp_field *f,
		     const void *obj)
{
	const void *fp = (const uint8_t *)obj + f->offset;

	switch ((enum swim_mp_kind)f->kind) {
	case SWIM_MP_U32:
	case SWIM_MP_LEN:
		swim_mp_put_uint(w, *(const uint32_t *)fp);
		return;
	case SWIM_MP_U16:
		swim_mp_put_uint(w, *(const uint16_t *)fp);
		return;
	case SWIM_MP_U8:
		swim_mp_put_uint(w, *(const uint8_t *)fp);
		return;
	case SWIM_MP_U64:
		swim_mp_put_uint(w, *(const uint64_t *)fp);
		return;
	case SWIM_MP_STATUS:
		swim_mp_put_uint(w, *(const enum swim_status *)fp);
		return;
	case SWIM_MP_I64:
		swim_mp_put_int(w, *(const int64_t *)fp);
		return;
	case SWIM_MP_F64:
		swim_mp_put_f64(w, *(const double *)fp);
		return;
	case SWIM_MP_BOOL:
		swim_mp_put_bool(w, *(const bool *)fp);
		return;
	case SWIM_MP_STR:
		swim_mp_put_str(w, fp);
		return;
	case SWIM_MP_BYTES:
	case SWIM_MP_VSN:
		swim_mp_put_bytes(w, fp);
		return;
	case SWIM_MP_FN:
		f->write(w, obj);
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
		swim_mp_encode_field(w, &f[i], obj);
	}
}

int
swim_mp_encode_msg(uint8_t type, const struct swim_mp_field *f, unsigned nb_f,
		   const void *obj, uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, type);
	swim_mp_encode_struct(&w, f, nb_f, obj);
	return swim_mp_w_result(&w);
}

