/* SPDX-License-Identifier: MIT */
/**
 * @file
 * msgpack helpers for the Serf RPC (go-msgpack with RawToString+WriteExt):
 * a bounded growable output buffer with encoders that emit what the real
 * agent emits (str family incl. str8 for strings, bin for byte slices,
 * smallest unsigned ints), a streaming scanner that tells "complete value"
 * from "need more bytes" from "never valid", and lenient cursor decoders
 * (any int form, str or bin, nil as empty) for values the scanner accepted.
 *
 * Shared by the server (cp_rpc.c) and the client (gossipctl.c). No sockets.
 */
#ifndef CP_RPC_MSG_H_INCLUDED
#define CP_RPC_MSG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Output buffer; all encoders are no-ops once overflow is set. */
struct cp_rpc_buf {
	char *data;		/* heap, cap bytes */
	size_t len;		/* bytes written */
	size_t cap;		/* bytes allocated */
	size_t max;		/* hard cap on len */
	bool overflow;		/* a write would have passed max (or ENOMEM) */
};

/** Empty buffer that may grow to max bytes. */
void cp_rpc_buf_create(struct cp_rpc_buf *b, size_t max);
/** Free the memory. */
void cp_rpc_buf_destroy(struct cp_rpc_buf *b);
/** Drop the first n bytes (they were sent). */
void cp_rpc_buf_consume(struct cp_rpc_buf *b, size_t n);

void cp_rpc_enc_map(struct cp_rpc_buf *b, uint32_t n);
void cp_rpc_enc_array(struct cp_rpc_buf *b, uint32_t n);
void cp_rpc_enc_nil(struct cp_rpc_buf *b);
void cp_rpc_enc_bool(struct cp_rpc_buf *b, bool v);
void cp_rpc_enc_uint(struct cp_rpc_buf *b, uint64_t v);
/** A string (str family); NULL encodes as "". */
void cp_rpc_enc_str(struct cp_rpc_buf *b, const char *s);
void cp_rpc_enc_strn(struct cp_rpc_buf *b, const char *s, uint32_t len);
/** A byte slice (bin family); NULL encodes as nil, as Go does. */
void cp_rpc_enc_bin(struct cp_rpc_buf *b, const void *p, uint32_t len);
/** float64 (cb), as Go encodes float64. */
void cp_rpc_enc_double(struct cp_rpc_buf *b, double v);
/** Raw bytes appended as they are (an already-encoded value). */
void cp_rpc_enc_raw(struct cp_rpc_buf *b, const void *p, size_t len);
/** Response header {Error, Seq} with keys sorted like the real agent. */
void cp_rpc_enc_header(struct cp_rpc_buf *b, uint64_t seq, const char *err);
/** Request header {Command, Seq}. */
void cp_rpc_enc_request(struct cp_rpc_buf *b, const char *cmd, uint64_t seq);

/** cp_rpc_mp_scan results. */
enum cp_rpc_scan {
	CP_RPC_SCAN_OK = 0,	/* one complete value */
	CP_RPC_SCAN_SHORT = 1,	/* a prefix of a value: read more */
	CP_RPC_SCAN_BAD = -1,	/* can never be valid msgpack (0xc1) */
};

/**
 * Find the end of the first msgpack value in buf[0, len) without trusting
 * any length in it. On CP_RPC_SCAN_OK *value_len is its size in bytes.
 */
enum cp_rpc_scan cp_rpc_mp_scan(const char *buf, size_t len,
				size_t *value_len);

/*
 * Lenient decoders. *p must point inside a value cp_rpc_mp_scan accepted
 * and end at its end. Each returns 0, or -EINVAL on a wrong type (the
 * cursor is then unchanged), -ERANGE if an integer does not fit.
 */

/** Map header; nil reads as an empty map. */
int cp_rpc_dec_map(const char **p, const char *end, uint32_t *n);
/** Array header; nil reads as an empty array. */
int cp_rpc_dec_array(const char **p, const char *end, uint32_t *n);
/** str or bin (or nil: NULL, 0); points into the buffer, not terminated. */
int cp_rpc_dec_strn(const char **p, const char *end, const char **s,
		    uint32_t *len);
/** Any non-negative int form (or nil: 0) no larger than max. */
int cp_rpc_dec_uint(const char **p, const char *end, uint64_t max,
		    uint64_t *v);
/** bool, or int 0/1 (go-msgpack accepts both), or nil (false). */
int cp_rpc_dec_bool(const char **p, const char *end, bool *v);
/** A map key: str or bin, compared with a C string. */
bool cp_rpc_key_is(const char *key, uint32_t len, const char *want);
/** Skip one value. */
void cp_rpc_dec_skip(const char **p, const char *end);

#endif /* CP_RPC_MSG_H_INCLUDED */
