/* SPDX-License-Identifier: MIT */
/*
 * The msgpack subset the Serf layer reads and writes (see serf_mp.h).
 * Its own small reader instead of msgpuck's mp_check, whose int counters
 * can wrap on hostile map32/array32 counts. Never reads past `end`.
 */
#include "serf_mp.h"

#include <string.h>

/* --- writer --- */

void
serf_w_init(struct serf_w *w, uint8_t *out, size_t cap)
{
	w->p = out;
	w->start = out;
	w->end = out + cap;
	w->is_full = false;
}

int
serf_w_result(const struct serf_w *w)
{
	return w->is_full ? SWIM_WIRE_E_NOSPACE : (int)(w->p - w->start);
}

void
serf_w_raw(struct serf_w *w, const void *data, size_t len)
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
serf_w_u8(struct serf_w *w, uint8_t b)
{
	serf_w_raw(w, &b, 1);
}

/** A 1-byte tag followed by a big-endian value of n bytes. */
static void
w_tagged(struct serf_w *w, uint8_t tag, uint64_t v, unsigned n)
{
	uint8_t b[9];

	b[0] = tag;
	for (unsigned i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	serf_w_raw(w, b, 1 + n);
}

/** Smallest unsigned encoding, as go-msgpack writes any value >= 0. */
void
serf_w_uint(struct serf_w *w, uint64_t v)
{
	if (v <= 0x7f)
		serf_w_u8(w, (uint8_t)v);
	else if (v <= UINT8_MAX)
		w_tagged(w, 0xcc, v, 1);
	else if (v <= UINT16_MAX)
		w_tagged(w, 0xcd, v, 2);
	else if (v <= UINT32_MAX)
		w_tagged(w, 0xce, v, 4);
	else
		w_tagged(w, 0xcf, v, 8);
}

/** Go ints: by value; negative ones as negative fixint or int8..64. */
void
serf_w_int(struct serf_w *w, int64_t v)
{
	if (v >= 0)
		serf_w_uint(w, (uint64_t)v);
	else if (v >= -32)
		serf_w_u8(w, (uint8_t)(int8_t)v);
	else if (v >= INT8_MIN)
		w_tagged(w, 0xd0, (uint64_t)v, 1);
	else if (v >= INT16_MIN)
		w_tagged(w, 0xd1, (uint64_t)v, 2);
	else if (v >= INT32_MIN)
		w_tagged(w, 0xd2, (uint64_t)v, 4);
	else
		w_tagged(w, 0xd3, (uint64_t)v, 8);
}

/** fixmap/map16/map32 or fixarray/array16/array32 headers. */
static void
w_container(struct serf_w *w, uint32_t nb, bool is_map)
{
	if (nb <= 15)
		serf_w_u8(w, (uint8_t)((is_map ? 0x80 : 0x90) | nb));
	else if (nb <= UINT16_MAX)
		w_tagged(w, is_map ? 0xde : 0xdc, nb, 2);
	else
		w_tagged(w, is_map ? 0xdf : 0xdd, nb, 4);
}

void
serf_w_map(struct serf_w *w, uint32_t nb)
{
	w_container(w, nb, true);
}

void
serf_w_array(struct serf_w *w, uint32_t nb)
{
	w_container(w, nb, false);
}

/** go-msgpack's str header: fixstr, then str16, then str32; never str8. */
void
serf_w_strl(struct serf_w *w, uint32_t len)
{
	if (len < 32)
		serf_w_u8(w, (uint8_t)(0xa0 | len));
	else if (len <= UINT16_MAX)
		w_tagged(w, 0xda, len, 2);
	else
		w_tagged(w, 0xdb, len, 4);
}

void
serf_w_str(struct serf_w *w, const void *ptr, uint32_t len)
{
	serf_w_strl(w, len);
	serf_w_raw(w, ptr, len);
}

/** A Go string from a slice: "" when the slice is nil. */
void
serf_w_gostr(struct serf_w *w, const struct swim_str *s)
{
	serf_w_str(w, s->ptr, s->ptr == NULL ? 0 : s->len);
}

/** A Go []byte: nil (0xc0) when the slice is nil. */
void
serf_w_bytes(struct serf_w *w, const struct swim_str *s)
{
	if (s->ptr == NULL)
		serf_w_u8(w, 0xc0);
	else
		serf_w_str(w, s->ptr, s->len);
}

void
serf_w_key(struct serf_w *w, const char *key)
{
	serf_w_str(w, key, (uint32_t)strlen(key));
}

void
serf_w_bool(struct serf_w *w, bool v)
{
	serf_w_u8(w, v ? 0xc3 : 0xc2);
}

/* --- reader --- */

static uint64_t
be_load(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/** Fixed-size header forms: (kind, size of the value after the tag). */
static int
rd_fixed(uint8_t c, enum serf_mp_kind *kind, unsigned *n)
{
	static const struct { uint8_t c; uint8_t kind; uint8_t n; } tab[] = {
		{0xca, SERF_MPK_FLOAT, 4}, {0xcb, SERF_MPK_FLOAT, 8},
		{0xcc, SERF_MPK_UINT, 1}, {0xcd, SERF_MPK_UINT, 2},
		{0xce, SERF_MPK_UINT, 4}, {0xcf, SERF_MPK_UINT, 8},
		{0xd0, SERF_MPK_INT, 1}, {0xd1, SERF_MPK_INT, 2},
		{0xd2, SERF_MPK_INT, 4}, {0xd3, SERF_MPK_INT, 8},
		{0xc4, SERF_MPK_BIN, 1}, {0xc5, SERF_MPK_BIN, 2},
		{0xc6, SERF_MPK_BIN, 4},
		{0xd9, SERF_MPK_STR, 1}, {0xda, SERF_MPK_STR, 2},
		{0xdb, SERF_MPK_STR, 4},
		{0xdc, SERF_MPK_ARRAY, 2}, {0xdd, SERF_MPK_ARRAY, 4},
		{0xde, SERF_MPK_MAP, 2}, {0xdf, SERF_MPK_MAP, 4},
		{0xc7, SERF_MPK_EXT, 1}, {0xc8, SERF_MPK_EXT, 2},
		{0xc9, SERF_MPK_EXT, 4},
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (tab[i].c == c) {
			*kind = (enum serf_mp_kind)tab[i].kind;
			*n = tab[i].n;
			return 0;
		}
	}
	return SWIM_WIRE_E_TYPE;	/* 0xc1 and nothing else */
}

/** The one-byte forms: fixint, fixmap, fixarray, fixstr, nil, bool. */
static bool
rd_short(uint8_t c, struct serf_mp_head *h)
{
	if (c <= 0x7f || c >= 0xe0) {
		h->kind = c <= 0x7f ? SERF_MPK_UINT : SERF_MPK_INT;
		h->u = c <= 0x7f ? c : (uint64_t)(int64_t)(int8_t)c;
	} else if (c >= 0x80 && c <= 0x9f) {
		h->kind = c <= 0x8f ? SERF_MPK_MAP : SERF_MPK_ARRAY;
		h->len = c & 0x0f;
	} else if (c >= 0xa0 && c <= 0xbf) {
		h->kind = SERF_MPK_STR;
		h->len = c & 0x1f;
	} else if (c == 0xc0 || c == 0xc2 || c == 0xc3) {
		h->kind = c == 0xc0 ? SERF_MPK_NIL : SERF_MPK_BOOL;
		h->u = c == 0xc3;
	} else {
		return false;
	}
	return true;
}

/** Decode the value at n header bytes p of a fixed form into h. */
static void
rd_fixed_value(struct serf_mp_head *h, const uint8_t *p, unsigned n)
{
	uint64_t v = be_load(p, n);

	switch (h->kind) {
	case SERF_MPK_FLOAT:
		if (n == 4) {
			uint32_t u32 = (uint32_t)v;
			float f;
			memcpy(&f, &u32, sizeof(f));
			h->f = f;
		} else {
			memcpy(&h->f, &v, sizeof(h->f));
		}
		break;
	case SERF_MPK_INT:
		/* Sign-extend from n bytes. */
		if (n < 8 && (v >> (8 * n - 1)) != 0)
			v |= ~0ull << (8 * n);
		h->u = v;
		break;
	case SERF_MPK_UINT:
		h->u = v;
		break;
	default:
		h->len = (uint32_t)v;
		break;
	}
}

/**
 * Read one value header at *pos. For STR/BIN/EXT the body must fit
 * (else TRUNCATED) and *pos moves past it; containers whose count cannot
 * fit in what is left (each entry takes a byte) are hostile (LENGTH).
 */
int
serf_rd_head(const uint8_t **pos, const uint8_t *end, struct serf_mp_head *h)
{
	const uint8_t *p = *pos;
	unsigned n;

	if (p >= end)
		return SWIM_WIRE_E_TRUNCATED;
	memset(h, 0, sizeof(*h));
	uint8_t c = *p++;
	if (!rd_short(c, h)) {
		if (rd_fixed(c, &h->kind, &n) != 0)
			return SWIM_WIRE_E_TYPE;
		if ((size_t)(end - p) < n)
			return SWIM_WIRE_E_TRUNCATED;
		rd_fixed_value(h, p, n);
		p += n;
	}
	size_t left = (size_t)(end - p);
	if (h->kind == SERF_MPK_EXT) {
		if (left < 1)
			return SWIM_WIRE_E_TRUNCATED;
		p++;		/* the ext type */
		left--;
	}
	if (h->kind == SERF_MPK_STR || h->kind == SERF_MPK_BIN ||
	    h->kind == SERF_MPK_EXT) {
		if (left < h->len)
			return SWIM_WIRE_E_TRUNCATED;
		h->body = p;
		p += h->len;
	} else if (h->kind == SERF_MPK_ARRAY || h->kind == SERF_MPK_MAP) {
		uint64_t need = (uint64_t)h->len *
				(h->kind == SERF_MPK_MAP ? 2 : 1);
		if (need > left)
			return SWIM_WIRE_E_LENGTH;
	}
	*pos = p;
	return 0;
}

/** Skip one value of any type, iteratively (bounded by the input). */
int
serf_rd_skip(const uint8_t **pos, const uint8_t *end)
{
	uint64_t todo = 1;
	const uint8_t *p = *pos;
	struct serf_mp_head h;

	while (todo > 0) {
		int rc = serf_rd_head(&p, end, &h);
		if (rc != 0)
			return rc;
		todo--;
		if (h.kind == SERF_MPK_ARRAY)
			todo += h.len;
		else if (h.kind == SERF_MPK_MAP)
			todo += 2ull * h.len;
	}
	*pos = p;
	return 0;
}

/** An unsigned value in [0, max]; nil reads as 0. */
int
serf_rd_uint(const uint8_t **pos, const uint8_t *end, uint64_t max, uint64_t *v)
{
	struct serf_mp_head h;
	const uint8_t *p = *pos;
	int rc = serf_rd_head(&p, end, &h);

	if (rc != 0)
		return rc;
	if (h.kind == SERF_MPK_NIL) {
		h.u = 0;
	} else if (h.kind == SERF_MPK_INT) {
		if ((int64_t)h.u < 0)
			return SWIM_WIRE_E_RANGE;
	} else if (h.kind != SERF_MPK_UINT) {
		return SWIM_WIRE_E_TYPE;
	}
	if (h.u > max)
		return SWIM_WIRE_E_RANGE;
	*v = h.u;
	*pos = p;
	return 0;
}

/** A signed 64-bit value; nil reads as 0. */
int
serf_rd_int64(const uint8_t **pos, const uint8_t *end, int64_t *v)
{
	struct serf_mp_head h;
	const uint8_t *p = *pos;
	int rc = serf_rd_head(&p, end, &h);

	if (rc != 0)
		return rc;
	if (h.kind == SERF_MPK_NIL)
		h.u = 0;
	else if (h.kind == SERF_MPK_UINT && h.u > INT64_MAX)
		return SWIM_WIRE_E_RANGE;
	else if (h.kind != SERF_MPK_UINT && h.kind != SERF_MPK_INT)
		return SWIM_WIRE_E_TYPE;
	*v = (int64_t)h.u;
	*pos = p;
	return 0;
}

int
serf_rd_bool(const uint8_t **pos, const uint8_t *end, bool *v)
{
	struct serf_mp_head h;
	const uint8_t *p = *pos;
	int rc = serf_rd_head(&p, end, &h);

	if (rc != 0)
		return rc;
	if (h.kind != SERF_MPK_BOOL && h.kind != SERF_MPK_NIL)
		return SWIM_WIRE_E_TYPE;
	*v = h.u != 0;
	*pos = p;
	return 0;
}

/** str or bin; nil gives a NULL slice. */
int
serf_rd_str(const uint8_t **pos, const uint8_t *end, struct swim_str *s)
{
	struct serf_mp_head h;
	const uint8_t *p = *pos;
	int rc = serf_rd_head(&p, end, &h);

	if (rc != 0)
		return rc;
	if (h.kind == SERF_MPK_NIL) {
		s->ptr = NULL;
		s->len = 0;
	} else if (h.kind == SERF_MPK_STR || h.kind == SERF_MPK_BIN) {
		s->ptr = h.body;
		s->len = h.len;
	} else {
		return SWIM_WIRE_E_TYPE;
	}
	*pos = p;
	return 0;
}

/** A map or array header (nil: 0 entries); *pos moves past the header. */
int
serf_rd_container(const uint8_t **pos, const uint8_t *end, bool is_map,
	     uint32_t *nb)
{
	struct serf_mp_head h;
	const uint8_t *p = *pos;
	int rc = serf_rd_head(&p, end, &h);

	if (rc != 0)
		return rc;
	if (h.kind == SERF_MPK_NIL)
		h.len = 0;
	else if (h.kind != (is_map ? SERF_MPK_MAP : SERF_MPK_ARRAY))
		return SWIM_WIRE_E_TYPE;
	*nb = h.len;
	*pos = p;
	return 0;
}

/**
 * A container as the slice of its entries (header excluded) and its
 * count; nil gives an empty slice. Every entry is validated as a value.
 */
int
serf_rd_body(const uint8_t **pos, const uint8_t *end, bool is_map,
	struct swim_str *body, uint32_t *nb)
{
	const uint8_t *p = *pos;
	int rc = serf_rd_container(&p, end, is_map, nb);
	uint64_t todo = (uint64_t)*nb * (is_map ? 2 : 1);
	const uint8_t *start = p;

	for (uint64_t i = 0; rc == 0 && i < todo; i++)
		rc = serf_rd_skip(&p, end);
	if (rc != 0)
		return rc;
	body->ptr = start;
	body->len = (uint32_t)(p - start);
	*pos = p;
	return 0;
}

bool
serf_key_is(const struct swim_str *k, const char *lit)
{
	size_t n = strlen(lit);

	return k->len == n && memcmp(k->ptr, lit, n) == 0;
}

/** Decode a map body with a field handler; unknown keys are skipped. */
int
serf_rd_struct(const uint8_t **pos, const uint8_t *end, void *m, serf_field_f f)
{
	uint32_t nb;
	struct swim_str key;
	int rc = serf_rd_container(pos, end, true, &nb);

	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		rc = serf_rd_str(pos, end, &key);
		if (rc != 0)
			break;
		if (key.ptr == NULL)
			return SWIM_WIRE_E_TYPE;
		rc = f(m, &key, pos, end);
		if (rc == 1)
			rc = serf_rd_skip(pos, end);
	}
	return rc;
}

/** Check the type byte and decode the map after it. */
int
serf_rd_msg(const uint8_t *buf, size_t len, uint8_t type, void *m,
       serf_field_f f)
{
	const uint8_t *pos = buf + 1;

	if (len == 0)
		return SWIM_WIRE_E_EMPTY;
	if (buf[0] != type)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	return serf_rd_struct(&pos, buf + len, m, f);
}

int
serf_rd_u32(const uint8_t **pos, const uint8_t *end, uint32_t *v)
{
	uint64_t u;
	int rc = serf_rd_uint(pos, end, UINT32_MAX, &u);

	if (rc == 0)
		*v = (uint32_t)u;
	return rc;
}

