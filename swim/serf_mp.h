/* SPDX-License-Identifier: MIT */
/**
 * @file
 * @internal
 * The msgpack subset the Serf layer speaks, private to serf_msg*.c.
 *
 * Writers go through a bounded struct serf_w that remembers running out
 * of room, so an encoder writes blindly and checks once (serf_w_result).
 * They follow go-msgpack 0.5.5: str family only (fixstr/str16/str32),
 * smallest integer encodings, nil for nil byte slices.
 *
 * Readers use the cursor style (`const uint8_t **pos, const uint8_t *end`),
 * check bounds before every read, advance *pos only on success and return
 * 0 or a negative enum swim_wire_err: TRUNCATED when a value runs past
 * end, TYPE for a wrong msgpack type, RANGE for an integer too big for its
 * field, LENGTH for a container claiming more entries than bytes remain.
 * nil reads as the zero value everywhere, as Go's decoder does.
 */
#ifndef SERF_MP_H_INCLUDED
#define SERF_MP_H_INCLUDED

#include "swim_msg.h"
#include "swim_wire.h"

/** A bounded output cursor; once full it stops moving. */
struct serf_w {
	uint8_t *p;		/* next byte to write */
	uint8_t *end;		/* one past the last writable byte */
	uint8_t *start;		/* the output buffer */
	bool is_full;		/* something did not fit */
};

void serf_w_init(struct serf_w *w, uint8_t *out, size_t cap);
/** @retval bytes written, or SWIM_WIRE_E_NOSPACE if anything was cut. */
int serf_w_result(const struct serf_w *w);
void serf_w_raw(struct serf_w *w, const void *data, size_t len);
void serf_w_u8(struct serf_w *w, uint8_t b);
void serf_w_uint(struct serf_w *w, uint64_t v);
void serf_w_int(struct serf_w *w, int64_t v);
void serf_w_map(struct serf_w *w, uint32_t nb);
void serf_w_array(struct serf_w *w, uint32_t nb);
void serf_w_strl(struct serf_w *w, uint32_t len);
void serf_w_str(struct serf_w *w, const void *ptr, uint32_t len);
/** A Go string from a slice: "" when the slice is nil. */
void serf_w_gostr(struct serf_w *w, const struct swim_str *s);
/** A Go []byte: nil (0xc0) when the slice is nil. */
void serf_w_bytes(struct serf_w *w, const struct swim_str *s);
void serf_w_key(struct serf_w *w, const char *key);
void serf_w_bool(struct serf_w *w, bool v);

/** What a msgpack value header says. */
enum serf_mp_kind {
	SERF_MPK_NIL, SERF_MPK_BOOL, SERF_MPK_UINT, SERF_MPK_INT,
	SERF_MPK_FLOAT, SERF_MPK_STR, SERF_MPK_BIN, SERF_MPK_ARRAY,
	SERF_MPK_MAP, SERF_MPK_EXT,
};

/** One decoded value header. */
struct serf_mp_head {
	enum serf_mp_kind kind;
	uint64_t u;		/* UINT, BOOL; INT as two's complement */
	double f;		/* FLOAT (float32 widened) */
	uint32_t len;		/* STR/BIN/EXT bytes; ARRAY/MAP entries */
	const uint8_t *body;	/* STR/BIN/EXT: first byte of the body */
};

/**
 * Read one value header. STR/BIN/EXT bodies must fit and are skipped;
 * containers are entered (their entries follow).
 */
int serf_rd_head(const uint8_t **pos, const uint8_t *end,
		 struct serf_mp_head *h);
/** Skip one value of any type, iteratively (bounded by the input). */
int serf_rd_skip(const uint8_t **pos, const uint8_t *end);
/** Any int encoding with a value in [0, max]. */
int serf_rd_uint(const uint8_t **pos, const uint8_t *end, uint64_t max,
		 uint64_t *v);
int serf_rd_u32(const uint8_t **pos, const uint8_t *end, uint32_t *v);
int serf_rd_int64(const uint8_t **pos, const uint8_t *end, int64_t *v);
int serf_rd_bool(const uint8_t **pos, const uint8_t *end, bool *v);
/** str or bin; nil gives a NULL slice. */
int serf_rd_str(const uint8_t **pos, const uint8_t *end, struct swim_str *s);
/** A map or array header; nil counts as empty. */
int serf_rd_container(const uint8_t **pos, const uint8_t *end, bool is_map,
		      uint32_t *nb);
/** A container as the slice of its (validated) entries and their count. */
int serf_rd_body(const uint8_t **pos, const uint8_t *end, bool is_map,
		 struct swim_str *body, uint32_t *nb);

bool serf_key_is(const struct swim_str *k, const char *lit);

/** Field handler of a map decoder: 1 = key not mine, 0 = read, < 0 error. */
typedef int (*serf_field_f)(void *m, const struct swim_str *key,
			    const uint8_t **pos, const uint8_t *end);

/** Decode a map with a field handler; unknown keys are skipped. */
int serf_rd_struct(const uint8_t **pos, const uint8_t *end, void *m,
		   serf_field_f f);
/** Check the type byte of buf, then decode the map after it. */
int serf_rd_msg(const uint8_t *buf, size_t len, uint8_t type, void *m,
		serf_field_f f);

#endif /* SERF_MP_H_INCLUDED */
