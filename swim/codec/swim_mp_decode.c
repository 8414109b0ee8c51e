/* SPDX-License-Identifier: MIT */
/*
 * The msgpack readers of swim_mp.h: value headers under either codec's
 * rules (enum swim_mp_rules), the iterative skipper with 64-bit counts,
 * the single-value readers, and the table-driven decoder that fills a
 * struct from a map in any key order, skipping unknown keys.
 *
 * Pure: no allocation, no I/O. Never reads before *pos or at/after end.
 */
#include "swim_mp.h"

#include <string.h>

/* ---- readers ---- */

/* The type of a msgpack value. */
enum swim_mp_type {
	SWIM_MPT_NIL, SWIM_MPT_BOOL, SWIM_MPT_UINT, SWIM_MPT_INT,
	SWIM_MPT_FLOAT, SWIM_MPT_STR, SWIM_MPT_BIN, SWIM_MPT_ARRAY,
	SWIM_MPT_MAP, SWIM_MPT_EXT,
	SWIM_MPT_BAD,		/* 0xc1, never valid */
};

/* One decoded value header. */
struct swim_mp_head {
	uint8_t type;		/* enum swim_mp_type */
	uint64_t u;		/* UINT, BOOL; INT as two's complement */
	double f;		/* FLOAT (float32 widened) */
	uint32_t len;		/* STR/BIN/EXT bytes; ARRAY/MAP entries */
	const uint8_t *body;	/* STR/BIN/EXT: first byte of the body */
};

#define SWIM_MPT(t) (1u << (t))
/* What an integer field accepts: nil reads as 0. */
#define SWIM_MP_INTS (SWIM_MPT(SWIM_MPT_NIL) | SWIM_MPT(SWIM_MPT_UINT) | \
		      SWIM_MPT(SWIM_MPT_INT))

/* Tag bytes 0xc0..0xdf: the type, the bytes of value or length after the
 * tag, and for fixext the body length (its ext type byte comes first). */
static const struct {
	uint8_t type;
	uint8_t n;
	uint8_t fix_len;
} swim_mp_tags[32] = {
	{ SWIM_MPT_NIL, 0, 0 }, { SWIM_MPT_BAD, 0, 0 },
	{ SWIM_MPT_BOOL, 0, 0 }, { SWIM_MPT_BOOL, 0, 0 },
	{ SWIM_MPT_BIN, 1, 0 }, { SWIM_MPT_BIN, 2, 0 }, { SWIM_MPT_BIN, 4, 0 },
	{ SWIM_MPT_EXT, 1, 0 }, { SWIM_MPT_EXT, 2, 0 }, { SWIM_MPT_EXT, 4, 0 },
	{ SWIM_MPT_FLOAT, 4, 0 }, { SWIM_MPT_FLOAT, 8, 0 },
	{ SWIM_MPT_UINT, 1, 0 }, { SWIM_MPT_UINT, 2, 0 },
	{ SWIM_MPT_UINT, 4, 0 }, { SWIM_MPT_UINT, 8, 0 },
	{ SWIM_MPT_INT, 1, 0 }, { SWIM_MPT_INT, 2, 0 },
	{ SWIM_MPT_INT, 4, 0 }, { SWIM_MPT_INT, 8, 0 },
	{ SWIM_MPT_EXT, 0, 1 }, { SWIM_MPT_EXT, 0, 2 }, { SWIM_MPT_EXT, 0, 4 },
	{ SWIM_MPT_EXT, 0, 8 }, { SWIM_MPT_EXT, 0, 16 },
	{ SWIM_MPT_STR, 1, 0 }, { SWIM_MPT_STR, 2, 0 }, { SWIM_MPT_STR, 4, 0 },
	{ SWIM_MPT_ARRAY, 2, 0 }, { SWIM_MPT_ARRAY, 4, 0 },
	{ SWIM_MPT_MAP, 2, 0 }, { SWIM_MPT_MAP, 4, 0 },
};

/* Classify tag c into h (zeroed): its type and whatever the tag byte
 * itself holds; *n bytes of value or length follow the tag. */
static void
swim_mp_tag(uint8_t c, struct swim_mp_head *h, unsigned *n)
{
	*n = 0;
	if (c <= 0x7f || c >= 0xe0) {
		h->type = c <= 0x7f ? SWIM_MPT_UINT : SWIM_MPT_INT;
		h->u = (uint64_t)(int64_t)(int8_t)c;
	} else if (c <= 0x9f) {
		h->type = c <= 0x8f ? SWIM_MPT_MAP : SWIM_MPT_ARRAY;
		h->len = c & 0x0f;
	} else if (c <= 0xbf) {
		h->type = SWIM_MPT_STR;
		h->len = c & 0x1f;
	} else {
		h->type = swim_mp_tags[c - 0xc0].type;
		h->len = swim_mp_tags[c - 0xc0].fix_len;
		h->u = c == 0xc3;
		*n = swim_mp_tags[c - 0xc0].n;
	}
}

/* The n (1..8) big-endian bytes at p after a tag, into h. */
static void
swim_mp_tag_value(struct swim_mp_head *h, const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	switch (h->type) {
	case SWIM_MPT_FLOAT:
		if (n == 4) {
			uint32_t u32 = (uint32_t)v;
			float f;

			memcpy(&f, &u32, sizeof(f));
			h->f = f;
		} else {
			memcpy(&h->f, &v, sizeof(h->f));
		}
		break;
	case SWIM_MPT_INT:
		/* Sign-extend from n bytes. */
		if (n < 8 && (v >> (8 * n - 1)) != 0)
			v |= ~0ull << (8 * n);
		h->u = v;
		break;
	case SWIM_MPT_UINT:
		h->u = v;
		break;
	default:
		h->len = (uint32_t)v;
		break;
	}
}

/* After the tag and its value: check lengths and counts against the
 * rules and the input, step over a str/bin/ext body. */
static int
swim_mp_head_body(const uint8_t **pos, const uint8_t *end,
		  enum swim_mp_rules r, struct swim_mp_head *h)
{
	const uint8_t *p = *pos;
	bool has_body = h->type == SWIM_MPT_STR || h->type == SWIM_MPT_BIN ||
			h->type == SWIM_MPT_EXT;
	bool is_map = h->type == SWIM_MPT_MAP;
	bool is_coll = is_map || h->type == SWIM_MPT_ARRAY;

	if (r == SWIM_MP_MEMBERLIST && (has_body || is_coll) &&
	    h->len > SWIM_MP_LEN_MAX)
		return SWIM_WIRE_E_LENGTH;
	if (h->type == SWIM_MPT_EXT) {
		if (p >= end)
			return SWIM_WIRE_E_TRUNCATED;
		p++;		/* the ext type */
	}
	if (has_body) {
		if ((size_t)(end - p) < h->len)
			return SWIM_WIRE_E_TRUNCATED;
		h->body = p;
		p += h->len;
	} else if (is_coll && r == SWIM_MP_SERF &&
		   (uint64_t)h->len * (is_map ? 2 : 1) > (size_t)(end - p)) {
		/* Every entry takes a byte: a bound on hostile counts. */
		return SWIM_WIRE_E_LENGTH;
	}
	*pos = p;
	return 0;
}

static int
swim_mp_head_r(const uint8_t **pos, const uint8_t *end, enum swim_mp_rules r,
	       struct swim_mp_head *h)
{
	const uint8_t *p = *pos;
	unsigned n;
	int rc;

	if (p >= end)
		return SWIM_WIRE_E_TRUNCATED;
	memset(h, 0, sizeof(*h));
	swim_mp_tag(*p, h, &n);
	/* Serf's reader never knew fixext (0xd4..0xd8). */
	if (h->type == SWIM_MPT_BAD ||
	    (r == SWIM_MP_SERF && *p >= 0xd4 && *p <= 0xd8))
		return SWIM_WIRE_E_TYPE;
	p++;
	if ((size_t)(end - p) < n)
		return SWIM_WIRE_E_TRUNCATED;
	if (n > 0)
		swim_mp_tag_value(h, p, n);
	p += n;
	rc = swim_mp_head_body(&p, end, r, h);
	if (rc < 0)
		return rc;
	*pos = p;
	return 0;
}

/* A value whose type is one of mask, judged when the rules say. */
static int
swim_mp_read_as(const uint8_t **pos, const uint8_t *end, enum swim_mp_rules r,
		uint32_t mask, struct swim_mp_head *h)
{
	const uint8_t *p = *pos;
	unsigned n;
	int rc;

	if (r == SWIM_MP_MEMBERLIST && p < end) {
		memset(h, 0, sizeof(*h));
		swim_mp_tag(*p, h, &n);
		if ((mask & SWIM_MPT(h->type)) == 0)
			return SWIM_WIRE_E_TYPE;
	}
	rc = swim_mp_head_r(&p, end, r, h);
	if (rc < 0)
		return rc;
	if ((mask & SWIM_MPT(h->type)) == 0)
		return SWIM_WIRE_E_TYPE;
	*pos = p;
	return 0;
}

static int
swim_mp_skip_r(const uint8_t **pos, const uint8_t *end, enum swim_mp_rules r)
{
	const uint8_t *p = *pos;
	uint64_t todo = 1;	/* values still to skip */
	struct swim_mp_head h;
	int rc;

	while (todo > 0) {
		rc = swim_mp_head_r(&p, end, r, &h);
		if (rc < 0)
			return rc;
		todo--;
		if (h.type == SWIM_MPT_ARRAY)
			todo += h.len;
		else if (h.type == SWIM_MPT_MAP)
			todo += 2ull * h.len;
		/* Every pending value needs a byte: bounds hostile counts. */
		if (r == SWIM_MP_MEMBERLIST && todo > SWIM_MP_LEN_MAX)
			return SWIM_WIRE_E_LENGTH;
	}
	*pos = p;
	return 0;
}

static int
swim_mp_uint_r(const uint8_t **pos, const uint8_t *end, enum swim_mp_rules r,
	       uint64_t max, uint64_t *v)
{
	const uint8_t *p = *pos;
	struct swim_mp_head h;
	int rc = swim_mp_read_as(&p, end, r, SWIM_MP_INTS, &h);

	if (rc < 0)
		return rc;
	if ((h.type == SWIM_MPT_INT && (int64_t)h.u < 0) || h.u > max)
		return SWIM_WIRE_E_RANGE;
	*v = h.u;
	*pos = p;
	return 0;
}

static int
swim_mp_bool_r(const uint8_t **pos, const uint8_t *end, enum swim_mp_rules r,
	       bool *v)
{
	struct swim_mp_head h;
	int rc = swim_mp_read_as(pos, end, r, SWIM_MPT(SWIM_MPT_NIL) |
				 SWIM_MPT(SWIM_MPT_BOOL), &h);

	if (rc == 0)
		*v = h.u != 0;
	return rc;
}

/* str (and bin if allow_bin); nil gives a NULL slice. */
static int
swim_mp_str_r(const uint8_t **pos, const uint8_t *end, enum swim_mp_rules r,
	      bool allow_bin, struct swim_str *s)
{
	struct swim_mp_head h;
	uint32_t mask = SWIM_MPT(SWIM_MPT_NIL) | SWIM_MPT(SWIM_MPT_STR) |
			(allow_bin ? SWIM_MPT(SWIM_MPT_BIN) : 0);
	int rc = swim_mp_read_as(pos, end, r, mask, &h);

	if (rc == 0) {
		s->ptr = h.body;
		s->len = h.len;
	}
	return rc;
}

static int
swim_mp_container_r(const uint8_t **pos, const uint8_t *end,
		    enum swim_mp_rules r, bool is_map, uint32_t *nb)
{
	struct swim_mp_head h;
	uint32_t mask = SWIM_MPT(SWIM_MPT_NIL) |
			SWIM_MPT(is_map ? SWIM_MPT_MAP : SWIM_MPT_ARRAY);
	int rc = swim_mp_read_as(pos, end, r, mask, &h);

	if (rc == 0)
		*nb = h.len;
	return rc;
}

/* The public readers, all under Serf's rules. */

int
swim_mp_read_uint(const uint8_t **pos, const uint8_t *end, uint64_t max,
		  uint64_t *v)
{
	return swim_mp_uint_r(pos, end, SWIM_MP_SERF, max, v);
}

/* A Go int64; Serf's rules only. */
static int
swim_mp_read_int64(const uint8_t **pos, const uint8_t *end, int64_t *v)
{
	const uint8_t *p = *pos;
	struct swim_mp_head h;
	int rc = swim_mp_read_as(&p, end, SWIM_MP_SERF, SWIM_MP_INTS, &h);

	if (rc < 0)
		return rc;
	if (h.type == SWIM_MPT_UINT && h.u > INT64_MAX)
		return SWIM_WIRE_E_RANGE;
	*v = (int64_t)h.u;
	*pos = p;
	return 0;
}

int
swim_mp_read_f64(const uint8_t **pos, const uint8_t *end, double *v)
{
	struct swim_mp_head h;
	uint32_t mask = SWIM_MPT(SWIM_MPT_NIL) | SWIM_MPT(SWIM_MPT_UINT) |
			SWIM_MPT(SWIM_MPT_INT) | SWIM_MPT(SWIM_MPT_FLOAT);
	int rc = swim_mp_read_as(pos, end, SWIM_MP_SERF, mask, &h);

	if (rc < 0)
		return rc;
	if (h.type == SWIM_MPT_FLOAT)
		*v = h.f;
	else if (h.type == SWIM_MPT_INT)
		*v = (double)(int64_t)h.u;
	else
		*v = (double)h.u;
	return 0;
}

int
swim_mp_read_str(const uint8_t **pos, const uint8_t *end, struct swim_str *s)
{
	return swim_mp_str_r(pos, end, SWIM_MP_SERF, true, s);
}

int
swim_mp_read_container(const uint8_t **pos, const uint8_t *end, bool is_map,
		       uint32_t *nb)
{
	return swim_mp_container_r(pos, end, SWIM_MP_SERF, is_map, nb);
}

int
swim_mp_read_body(const uint8_t **pos, const uint8_t *end, bool is_map,
		  struct swim_str *body, uint32_t *nb)
{
	const uint8_t *p = *pos;
	int rc = swim_mp_read_container(&p, end, is_map, nb);
	uint64_t todo = rc < 0 ? 0 : (uint64_t)*nb * (is_map ? 2 : 1);
	const uint8_t *start = p;

	for (uint64_t i = 0; rc == 0 && i < todo; i++)
		rc = swim_mp_skip_r(&p, end, SWIM_MP_SERF);
	if (rc < 0)
		return rc;
	body->ptr = start;
	body->len = (uint32_t)(p - start);
	*pos = p;
	return 0;
}

/* ---- field tables: the decoder ---- */

/* The largest value an unsigned kind holds (LEN saturates instead). */
static uint64_t
swim_mp_uint_max(uint8_t kind)
{
	switch (kind) {
	case SWIM_MP_U8: return UINT8_MAX;
	case SWIM_MP_U16: return UINT16_MAX;
	case SWIM_MP_U32: return UINT32_MAX;
	case SWIM_MP_STATUS: return SWIM_STATUS_COUNT - 1;
	default: return UINT64_MAX;
	}
}

/* Decode one unsigned value of kind into the field at fp. */
static int
swim_mp_decode_uint(const uint8_t **pos, const uint8_t *end,
		    enum swim_mp_rules r, uint8_t kind, void *fp)
{
	uint64_t v;
	int rc = swim_mp_uint_r(pos, end, r, swim_mp_uint_max(kind), &v);

	if (rc < 0)
		return rc;
	switch (kind) {
	case SWIM_MP_U8: *(uint8_t *)fp = (uint8_t)v; break;
	case SWIM_MP_U16: *(uint16_t *)fp = (uint16_t)v; break;
	case SWIM_MP_U32: *(uint32_t *)fp = (uint32_t)v; break;
	case SWIM_MP_STATUS: *(enum swim_status *)fp = (enum swim_status)v;
		break;
	case SWIM_MP_LEN:
		*(uint32_t *)fp = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		break;
	default: *(uint64_t *)fp = v; break;
	}
	return 0;
}

/* Decode one value of field f into obj. */
static int
swim_mp_decode_field(const uint8_t **pos, const uint8_t *end,
		     enum swim_mp_rules r, const struct swim_mp_field *f,
		     void *obj)
{
	void *field_ptr = (uint8_t *)obj + f->offset;
	int rc;

	switch ((enum swim_mp_kind)f->kind) {
	case SWIM_MP_BOOL:
		return swim_mp_bool_r(pos, end, r, (bool *)field_ptr);
	case SWIM_MP_STR:
		/* go-msgpack refuses bin for a Go string; Serf's reader
		 * took it. */
		return swim_mp_str_r(pos, end, r, r == SWIM_MP_SERF, field_ptr);
	case SWIM_MP_BYTES:
		return swim_mp_str_r(pos, end, r, true, field_ptr);
	case SWIM_MP_VSN: {
		struct swim_str *s = field_ptr;

		rc = swim_mp_str_r(pos, end, r, true, s);
		/* memberlist 0.2.2 indexes Vsn[0..5] when non-empty;
		 * gossipd adds capability bytes after them. */
		if (rc == 0 && !swim_vsn_len_ok(s->len))
			return SWIM_WIRE_E_VSN;
		return rc;
	}
	case SWIM_MP_I64:
		return swim_mp_read_int64(pos, end, (int64_t *)field_ptr);
	case SWIM_MP_F64:
		return swim_mp_read_f64(pos, end, (double *)field_ptr);
	case SWIM_MP_FN:
		return f->read(pos, end, obj);
	default:
		return swim_mp_decode_uint(pos, end, r, f->kind, field_ptr);
	}
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

/* A map key: str or bin. memberlist skips a pair with a key of another
 * type (or nil), Serf refuses it. key->ptr NULL means "skip the value". */
static int
swim_mp_decode_key(const uint8_t **pos, const uint8_t *end,
		   enum swim_mp_rules r, struct swim_str *key)
{
	int rc = swim_mp_str_r(pos, end, r, true, key);

	if (r == SWIM_MP_SERF)
		return rc == 0 && key->ptr == NULL ? SWIM_WIRE_E_TYPE : rc;
	if (rc == SWIM_WIRE_E_TYPE) {
		/* A non-string key can't name a field: skip the pair. */
		rc = swim_mp_skip_r(pos, end, r);
		key->ptr = NULL;
		key->len = 0;
	}
	return rc;
}

int
swim_mp_decode_struct(const uint8_t **pos, const uint8_t *end,
		      enum swim_mp_rules r, const struct swim_mp_field *f,
		      unsigned nb_f, void *obj)
{
	const uint8_t *p = *pos;
	const struct swim_mp_field *fi;
	struct swim_str key = { NULL, 0 };
	uint32_t nb = 0;
	int rc;

	rc = swim_mp_container_r(&p, end, r, true, &nb);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < nb; i++) {
		rc = swim_mp_decode_key(&p, end, r, &key);
		if (rc < 0)
			return rc;
		fi = key.ptr == NULL ? NULL : swim_mp_field_find(f, nb_f, &key);
		if (fi == NULL)
			rc = swim_mp_skip_r(&p, end, r);
		else
			rc = swim_mp_decode_field(&p, end, r, fi, obj);
		if (rc < 0)
			return rc;
	}
	*pos = p;
	return 0;
}

int
swim_mp_decode_msg(const uint8_t *buf, size_t len, uint8_t type,
		   const struct swim_mp_field *f, unsigned nb_f, void *obj)
{
	const uint8_t *pos = buf + 1;

	if (len == 0)
		return SWIM_WIRE_E_EMPTY;
	if (buf[0] != type)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	return swim_mp_decode_struct(&pos, buf + len, SWIM_MP_SERF, f, nb_f,
				     obj);
}
