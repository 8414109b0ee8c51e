/**
 * @file
 * memberlist's wire codec: bytes <-> struct swim_msg, byte-exact with
 * memberlist 0.2.2 / go-msgpack 0.5.5 (shared/protocol/memberlist-wire.md).
 *
 * Encoders mirror Go: maps with keys in ascending byte order, the str
 * family for strings and byte slices, smallest integer encodings, nil for
 * absent byte slices. Decoders are liberal (any int width, str or bin,
 * nil anywhere, unknown keys skipped) and strict about bounds: every
 * malformed input returns a negative enum swim_wire_err, never an overread.
 *
 * Packet layering on UDP, outermost first:
 *   [12 crc32-BE] [9 {Algo,Buf}=LZW] [7 compound] <type><msgpack body>
 * Compound and compress may nest; the CRC is only looked for on top.
 */
#ifndef SWIM_WIRE_H_INCLUDED
#define SWIM_WIRE_H_INCLUDED

#include "swim_msg.h"

/** Decode and encode errors; all negative so they can share an int return. */
enum swim_wire_err {
	SWIM_WIRE_OK = 0,
	SWIM_WIRE_E_TRUNCATED = -1,	/* input ends inside a value */
	SWIM_WIRE_E_TYPE = -2,		/* a msgpack value of the wrong type */
	SWIM_WIRE_E_UNKNOWN_MSG = -3,	/* unknown memberlist message type */
	SWIM_WIRE_E_RANGE = -4,		/* integer out of its field's range */
	SWIM_WIRE_E_LENGTH = -5,	/* hostile or inconsistent length */
	SWIM_WIRE_E_CRC = -6,		/* CRC mismatch */
	SWIM_WIRE_E_LZW = -7,		/* corrupt or unterminated LZW stream */
	SWIM_WIRE_E_ALGO = -8,		/* unknown compression algorithm */
	SWIM_WIRE_E_NESTING = -9,	/* compound/compress nested too deep */
	SWIM_WIRE_E_EMPTY = -10,	/* empty message or compound part */
	SWIM_WIRE_E_NOSPACE = -11,	/* encoder: output buffer too small */
	SWIM_WIRE_E_VSN = -12,		/* Vsn present but not 6..16 bytes */
	SWIM_WIRE_E_AGAIN = -13,	/* stream: need more bytes */
	SWIM_WIRE_E_COUNT = -14,
};

/** Human-readable name of an enum swim_wire_err. */
const char *swim_wire_strerror(int err);

/** Deepest compound/compress nesting we unpack (memberlist has no limit). */
#define SWIM_WIRE_MAX_DEPTH 4

/**
 * Scratch space for decompression while decoding one packet. LZW output
 * of nested compress parts is written here; decoded slices may point into
 * it, so it must outlive the decoded messages.
 */
struct swim_wire_scratch {
	uint8_t buf[SWIM_UDP_MAX * 2];
	size_t used;
};

/**
 * Called once per message found in a packet, in order.
 * Return 0 to go on, non-zero to stop decoding (that value is returned).
 */
typedef int (*swim_wire_visit_f)(void *ctx, const struct swim_msg *msg);

/**
 * Decode one UDP packet (already decrypted): strip the CRC wrapper, unpack
 * compound and compressed parts, and call visit for every message.
 * Messages decoded before an error in a later part have been visited.
 * @retval number of messages visited, or a negative swim_wire_err.
 */
int swim_wire_decode_packet(const uint8_t *buf, size_t len,
			    struct swim_wire_scratch *scratch,
			    swim_wire_visit_f visit, void *ctx);

/**
 * Decode a single message (type byte + body). Compound, compress and CRC
 * are not unpacked here: they return SWIM_WIRE_E_UNKNOWN_MSG.
 * @retval SWIM_WIRE_OK or a negative swim_wire_err.
 */
int swim_wire_decode_msg(const uint8_t *buf, size_t len, struct swim_msg *msg);

/**
 * Encode one message (type byte + msgpack body) into out.
 * @retval bytes written, or SWIM_WIRE_E_NOSPACE / another negative error.
 */
int swim_wire_encode_msg(const struct swim_msg *msg, uint8_t *out, size_t cap);

/**
 * Build a compound message (type 7) from nb parts, 1..255, none empty.
 * @retval bytes written, or a negative swim_wire_err.
 */
int swim_wire_encode_compound(const struct swim_str *parts, unsigned nb,
			      uint8_t *out, size_t cap);

/** Bytes a compound of nb parts totalling body_len bytes takes. */
size_t swim_wire_compound_len(unsigned nb, size_t body_len);

/** Wrap buf in the CRC message (type 12). @retval bytes written or < 0. */
int swim_wire_encode_crc(const uint8_t *buf, size_t len, uint8_t *out,
			 size_t cap);

/** Wrap buf in a compress message (type 9, LZW). @retval bytes or < 0. */
int swim_wire_encode_compress(const uint8_t *buf, size_t len, uint8_t *out,
			      size_t cap);

/**
 * Decode a compress message body (after the type byte) into out.
 * @retval decompressed length, or a negative swim_wire_err.
 */
int swim_wire_decode_compress(const uint8_t *buf, size_t len, uint8_t *out,
			      size_t cap);

/** CRC-32/IEEE (zlib's), as memberlist's hasCrcMsg uses. */
uint32_t swim_crc32(const uint8_t *buf, size_t len);

/** LZW as Go's compress/lzw (LSB, litWidth 8). @retval length or < 0. */
int swim_lzw_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
int swim_lzw_decompress(const uint8_t *in, size_t len, uint8_t *out,
			size_t cap);

/**
 * Find a ping addressed to `name` in a packet without a full decode: the
 * dataplane's fast path. Looks through the CRC wrapper and uncompressed
 * compound parts (not through compression). On success fills *ping with
 * slices into buf.
 * @retval 1 found, 0 none, < 0 malformed.
 */
int swim_wire_find_ping(const uint8_t *buf, size_t len, const char *name,
			size_t name_len, struct swim_ping *ping);

/* --- push/pull streams (TCP) --- */

/**
 * Encode a push/pull header (type byte 6 + header map).
 * @retval bytes written or < 0.
 */
int swim_wire_encode_push_pull_header(const struct swim_push_pull_header *h,
				      uint8_t *out, size_t cap);

/** Encode one pushNodeState map. @retval bytes written or < 0. */
int swim_wire_encode_push_node(const struct swim_push_node *n, uint8_t *out,
			       size_t cap);

/**
 * Incremental push/pull decoder over a buffer that grows as bytes arrive
 * (plain streams carry no length). Call swim_wire_decode_push_pull on the
 * whole buffer received so far; SWIM_WIRE_E_AGAIN means read more.
 * On success visit_node was called for each node and *user_state points
 * at the raw delegate bytes inside buf.
 * @retval bytes consumed (> 0), or a negative swim_wire_err.
 */
typedef int (*swim_wire_node_visit_f)(void *ctx,
				      const struct swim_push_node *node);
int swim_wire_decode_push_pull(const uint8_t *buf, size_t len,
			       struct swim_push_pull_header *hdr,
			       swim_wire_node_visit_f visit_node, void *ctx,
			       struct swim_str *user_state);

/* --- small msgpack helpers shared with the Serf layer --- */

/** Write a msgpack str header the way go-msgpack does (fixstr/str16/str32). */
uint8_t *swim_mp_encode_strl(uint8_t *p, uint32_t len);
/** Write a str header and the bytes; nil (0xc0) when s->ptr is NULL. */
uint8_t *swim_mp_encode_bytes(uint8_t *p, const struct swim_str *s);
/** Bytes swim_mp_encode_bytes writes. */
size_t swim_mp_sizeof_bytes(const struct swim_str *s);

#endif /* SWIM_WIRE_H_INCLUDED */
