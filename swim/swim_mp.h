/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal
 * The msgpack subset memberlist speaks, private to the wire codec.
 *
 * Readers use the cursor style (`const uint8_t **pos, const uint8_t *end`):
 * they check bounds before every read, advance *pos only on success and
 * return 0 or a negative enum swim_wire_err. Writers go through a bounded
 * struct swim_mp_w that remembers running out of room, so an encoder can
 * write blindly and check once at the end.
 *
 * Structs are described by field tables (key, kind, offset) sorted by key,
 * which gives go-msgpack's sorted-key maps on encode and a liberal
 * any-order, skip-unknown decoder from the same description.
 */
#ifndef SWIM_MP_H_INCLUDED
#define SWIM_MP_H_INCLUDED

#include "swim_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Largest length a msgpack str/bin/array/map header may claim, and the
 * push/pull stream cap: memberlist's maxPushStateBytes (20 MiB). Larger
 * claims are hostile (SWIM_WIRE_E_LENGTH), smaller ones that run past
 * the input are merely truncated.
 */
#define SWIM_MP_LEN_MAX (20u * 1024 * 1024)

/** A bounded output cursor. */
struct swim_mp_w {
	uint8_t *p;		/* next byte to write */
	uint8_t *end;		/* one past the last writable byte */
	bool is_full;		/* a write did not fit; p stopped moving */
};

void swim_mp_w_create(struct swim_mp_w *w, uint8_t *out, size_t cap);
/** @retval bytes written, or SWIM_WIRE_E_NOSPACE if anything was cut. */
int swim_mp_w_result(const struct swim_mp_w *w, const uint8_t *out);
void swim_mp_put_raw(struct swim_mp_w *w, const void *data, size_t len);
void swim_mp_put_u8(struct swim_mp_w *w, uint8_t b);
void swim_mp_put_be16(struct swim_mp_w *w, uint16_t v);
void swim_mp_put_be32(struct swim_mp_w *w, uint32_t v);
/** Smallest unsigned encoding, as go-msgpack writes any non-negative int. */
void swim_mp_put_uint(struct swim_mp_w *w, uint64_t v);
void swim_mp_put_map(struct swim_mp_w *w, uint32_t nb);
void swim_mp_put_bool(struct swim_mp_w *w, bool v);
/** A Go string: fixstr/str16/str32, "" when s->ptr is NULL. */
void swim_mp_put_str(struct swim_mp_w *w, const struct swim_str *s);
/** A Go []byte: like a string, but nil (0xc0) when s->ptr is NULL. */
void swim_mp_put_bytes(struct swim_mp_w *w, const struct swim_str *s);

/* Readers. nil reads as the zero value everywhere. */
int swim_mp_read_map(const uint8_t **pos, const uint8_t *end, uint32_t *nb);
/** Any int encoding whose value is in [0, max]; else RANGE or TYPE. */
int swim_mp_read_uint(const uint8_t **pos, const uint8_t *end, uint64_t max,
		      uint64_t *v);
int swim_mp_read_bool(const uint8_t **pos, const uint8_t *end, bool *v);
/** str8/16/32/fixstr, and bin8/16/32 if allow_bin; nil gives ptr NULL. */
int swim_mp_read_str(const uint8_t **pos, const uint8_t *end, bool allow_bin,
		     struct swim_str *s);
/** Skip one value of any type, iteratively (no recursion to exhaust). */
int swim_mp_skip(const uint8_t **pos, const uint8_t *end);

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
};

/** One struct field; tables are sorted by key, as go-msgpack emits them. */
struct swim_mp_field {
	const char *key;	/* Go field name, exact case */
	uint8_t key_len;	/* strlen(key) */
	uint8_t kind;		/* enum swim_mp_kind */
	bool is_omitempty;	/* left out when zero/empty on encode */
	uint16_t offset;	/* offsetof the C field in the struct */
};

#define SWIM_MP_FIELD(key, kind, omit, type, member)                       \
	{ key, sizeof(key) - 1, kind, omit, offsetof(type, member) }

/**
 * Decode a map into obj (already zeroed) by the field table: keys in any
 * order, unknown keys skipped, nil for any field leaves it zero.
 */
int swim_mp_decode_struct(const uint8_t **pos, const uint8_t *end,
			  const struct swim_mp_field *f, unsigned nb_f,
			  void *obj);
/** Encode obj as a map in table order, leaving out empty omitempty fields. */
void swim_mp_encode_struct(struct swim_mp_w *w, const struct swim_mp_field *f,
			   unsigned nb_f, const void *obj);

#endif /* SWIM_MP_H_INCLUDED */
