/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal
 * The one msgpack layer of swim/: the subset of go-msgpack 0.5.5 that
 * memberlist (swim_wire.c) and Serf (serf_*.c) speak. Private to them.
 *
 * Writers go through a bounded struct swim_mp_w that remembers running
 * out of room, so an encoder writes blindly and checks once at the end.
 * They write what go-msgpack writes: the str family only (fixstr, str16,
 * str32; never str8 or bin), the smallest integer encoding, nil for a nil
 * []byte. Maps come out in the order the caller writes the keys, which
 * is sorted, as go-msgpack emits struct fields.
 *
 * Readers use the cursor style (`const uint8_t **pos, const uint8_t *end`):
 * they check bounds before every read, advance *pos only on success and
 * return 0 or a negative enum swim_wire_err. They are liberal in what a
 * value may look like (any int encoding that fits, str8, bin for a Go
 * string where allowed, nil as the zero value) and strict on bounds. The
 * skipper is iterative with 64-bit counts: msgpuck's mp_check is not
 * used, its int counters can wrap on hostile map32/array32 counts.
 *
 * The two codecs report some bad inputs differently, and their tests pin
 * both, so the reader has two rule sets (enum swim_mp_rules).
 *
 * Structs are described by field tables (key, kind, offset) sorted by
 * key: go-msgpack's sorted-key maps on encode, and an any-order,
 * skip-unknown decoder from the same description.
 */
#ifndef SWIM_MP_H_INCLUDED
#define SWIM_MP_H_INCLUDED

#include "swim_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Largest length a msgpack str/bin/array/map header may claim under
 * memberlist's rules, and the push/pull stream cap: memberlist's
 * maxPushStateBytes (20 MiB). Larger claims are hostile
 * (SWIM_WIRE_E_LENGTH), smaller ones that run past the input are merely
 * truncated.
 */
#define SWIM_MP_LEN_MAX (20u * 1024 * 1024)

/* ---- writers ---- */

/** A bounded output cursor; once full it stops moving. */
struct swim_mp_w {
	uint8_t *p;		/* next byte to write */
	uint8_t *end;		/* one past the last writable byte */
	uint8_t *start;		/* the output buffer */
	bool is_full;		/* a write did not fit; p stopped moving */
};

void swim_mp_w_create(struct swim_mp_w *w, uint8_t *out, size_t cap);
/** @retval bytes written, or SWIM_WIRE_E_NOSPACE if anything was cut. */
int swim_mp_w_result(const struct swim_mp_w *w);
void swim_mp_put_raw(struct swim_mp_w *w, const void *data, size_t len);
void swim_mp_put_u8(struct swim_mp_w *w, uint8_t b);
void swim_mp_put_be16(struct swim_mp_w *w, uint16_t v);
void swim_mp_put_be32(struct swim_mp_w *w, uint32_t v);
/** Smallest unsigned encoding, as go-msgpack writes any non-negative int. */
void swim_mp_put_uint(struct swim_mp_w *w, uint64_t v);
/** A Go float64: always 0xcb + IEEE-754 big-endian. */
void swim_mp_put_f64(struct swim_mp_w *w, double v);
void swim_mp_put_map(struct swim_mp_w *w, uint32_t nb);
void swim_mp_put_array(struct swim_mp_w *w, uint32_t nb);
/** A str header and len bytes. */
void swim_mp_put_strn(struct swim_mp_w *w, const void *ptr, uint32_t len);
/** A Go string: "" when s->ptr is NULL. */
void swim_mp_put_str(struct swim_mp_w *w, const struct swim_str *s);
/** A Go []byte: like a string, but nil (0xc0) when s->ptr is NULL. */
void swim_mp_put_bytes(struct swim_mp_w *w, const struct swim_str *s);

/* ---- readers ---- */

/**
 * Where the codecs' error reports differ.
 * - SWIM_MP_SERF, used by every swim_mp_read_* below: a value is read
 *   whole (header and body) before its type is judged; a str/bin that
 *   runs past the end is TRUNCATED however long it claims to be; a
 *   map/array claiming more entries than bytes remain is LENGTH (each
 *   entry takes a byte); fixext is not accepted; a map key must be a
 *   str or bin; a Go string may be a bin.
 * - SWIM_MP_MEMBERLIST: the type is judged by the tag byte alone; any
 *   length or count above SWIM_MP_LEN_MAX is LENGTH, as is a skip with
 *   more values than that pending; a pair whose key is not a string is
 *   skipped.
 */
enum swim_mp_rules {
	SWIM_MP_SERF,
	SWIM_MP_MEMBERLIST,
};

/* The readers of single values, under Serf's rules. */

/** Any int encoding with a value in [0, max]; else RANGE or TYPE. */
int swim_mp_read_uint(const uint8_t **pos, const uint8_t *end, uint64_t max,
		      uint64_t *v);
/** A Go float64: float32/64, or any int (go-msgpack converts). */
int swim_mp_read_f64(const uint8_t **pos, const uint8_t *end, double *v);
/** str or bin; nil gives a NULL slice. */
int swim_mp_read_str(const uint8_t **pos, const uint8_t *end,
		     struct swim_str *s);
/** A map or array header; nil counts as empty. */
int swim_mp_read_container(const uint8_t **pos, const uint8_t *end,
			   bool is_map, uint32_t *nb);
/** A container as the slice of its (validated) entries and their count. */
int swim_mp_read_body(const uint8_t **pos, const uint8_t *end, bool is_map,
		      struct swim_str *body, uint32_t *nb);

/* ---- field tables ---- */

/** How a struct field is stored in C and spelled on the wire. */
enum swim_mp_kind {
	SWIM_MP_U32,		/* uint32_t; any int encoding that fits */
	SWIM_MP_U16,		/* uint16_t */
	SWIM_MP_BOOL,		/* bool */
	SWIM_MP_STR,		/* struct swim_str holding a Go string */
	SWIM_MP_BYTES,		/* struct swim_str holding a Go []byte */
	SWIM_MP_VSN,		/* []byte that is nil, empty or 6 bytes */
	SWIM_MP_STATUS,		/* enum swim_status, 0..3 */
	SWIM_MP_LEN,		/* uint32_t count; larger values saturate */
	SWIM_MP_U64,		/* uint64_t */
	SWIM_MP_U8,		/* uint8_t */
	SWIM_MP_I64,		/* int64_t (Serf's rules) */
	SWIM_MP_F64,		/* double (Serf's rules) */
	SWIM_MP_FN,		/* read/write do it, given the whole obj */
};

/** A SWIM_MP_FN field's reader and writer; obj is the whole struct. */
typedef int (*swim_mp_read_f)(const uint8_t **pos, const uint8_t *end,
			      void *obj);
typedef void (*swim_mp_write_f)(struct swim_mp_w *w, const void *obj);

/** One struct field; tables are sorted by key, as go-msgpack emits them. */
struct swim_mp_field {
	const char *key;	/* Go field name, exact case */
	uint8_t key_len;	/* strlen(key) */
	uint8_t kind;		/* enum swim_mp_kind */
	bool is_omitempty;	/* left out when zero/empty on encode */
	uint16_t offset;	/* offsetof the C field in the struct */
	swim_mp_read_f read;	/* SWIM_MP_FN only */
	swim_mp_write_f write;	/* SWIM_MP_FN only */
};

#define SWIM_MP_FIELD(key, kind, omit, type, member)                       \
	{ key, sizeof(key) - 1, kind, omit, offsetof(type, member),        \
	  NULL, NULL }

/* The C size of each kind SWIM_MP_F takes, checked at compile time. */
#define SWIM_MP_SIZE_U64 8
#define SWIM_MP_SIZE_U32 4
#define SWIM_MP_SIZE_U16 2
#define SWIM_MP_SIZE_U8 1
#define SWIM_MP_SIZE_I64 8
#define SWIM_MP_SIZE_F64 8
#define SWIM_MP_SIZE_BOOL sizeof(bool)
#define SWIM_MP_SIZE_STR sizeof(struct swim_str)
#define SWIM_MP_SIZE_BYTES sizeof(struct swim_str)
/* 0, or a compile error (negative array size) when member is not kind. */
#define SWIM_MP_CHECK(kind, type, member)                                  \
	(0 * sizeof(char[sizeof(((type *)0)->member) ==                    \
			 SWIM_MP_SIZE_##kind ? 1 : -1]))
/** A plain field (kind without SWIM_MP_), its C size checked. */
#define SWIM_MP_F(key, kind, type, member)                                 \
	{ key, sizeof(key) - 1, SWIM_MP_##kind, false,                     \
	  offsetof(type, member) + SWIM_MP_CHECK(kind, type, member),      \
	  NULL, NULL }
/** A field read and written by functions. */
#define SWIM_MP_FN_FIELD(key, read, write)                                 \
	{ key, sizeof(key) - 1, SWIM_MP_FN, false, 0, read, write }
#define SWIM_MP_NB(tab) ((unsigned)(sizeof(tab) / sizeof((tab)[0])))

/**
 * Decode a map into obj (already zeroed) by the field table: keys in any
 * order, unknown keys skipped, nil for any field leaves it zero.
 */
int swim_mp_decode_struct(const uint8_t **pos, const uint8_t *end,
			  enum swim_mp_rules r, const struct swim_mp_field *f,
			  unsigned nb_f, void *obj);
/**
 * A Serf message: check the type byte of buf (EMPTY, UNKNOWN_MSG), then
 * decode the map after it with the Serf rules.
 */
int swim_mp_decode_msg(const uint8_t *buf, size_t len, uint8_t type,
		       const struct swim_mp_field *f, unsigned nb_f,
		       void *obj);
/** Encode obj as a map in table order, leaving out empty omitempty fields. */
void swim_mp_encode_struct(struct swim_mp_w *w, const struct swim_mp_field *f,
			   unsigned nb_f, const void *obj);
/**
 * The type byte, then obj as a map.
 * @retval bytes written, or SWIM_WIRE_E_NOSPACE.
 */
int swim_mp_encode_msg(uint8_t type, const struct swim_mp_field *f,
		       unsigned nb_f, const void *obj, uint8_t *out,
		       size_t cap);

#endif /* SWIM_MP_H_INCLUDED */
