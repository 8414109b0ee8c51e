/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Chunked sealed streams: an encrypted push/pull of any size between
 * gossipd peers (docs/sealed-stream.md). memberlist seals a whole stream
 * message as one AES-GCM frame (0x0a, swim_crypto.h) capped at 20 MiB
 * and assembled whole in memory; here the same plaintext (a memberlist
 * push/pull, type byte 6 onwards) is cut into chunks of at most
 * SWIM_SSTREAM_CHUNK_MAX bytes, each sealed on its own, so both ends
 * work through one fixed buffer and the stream has no size cap.
 *
 * One chunk on the wire:
 *
 *   0      1       2           6           10
 *   +------+-------+-----------+-----------+-----+-------+------+-----+
 *   | 0xe0 | flags | index u32 | L u32 BE  | vsn | nonce | ct   | tag |
 *   +------+-------+-----------+-----------+-----+-------+------+-----+
 *   |<--------- header (10 bytes) -------->|<-- payload, L bytes ---->|
 *
 *   flags: bit 0 FINAL (the last chunk), bit 1 REPLY (the responder's
 *          stream); the other bits are 0.
 *   index: 0, 1, 2 ... in order; a gap, a repeat or a reordering fails.
 *   payload: swim_crypto's version-1 format (vsn 1, 12-byte nonce,
 *          ciphertext, 16-byte tag), 29 + (0 .. CHUNK_MAX) bytes.
 *   AAD:   the 10 header bytes || the stream id, which is the nonce of
 *          chunk 0 (random per stream): a chunk moved from another
 *          stream, or with its index, flags or length changed, does not
 *          open. REPLY keeps a stream from being reflected back to its
 *          sender as the answer.
 *
 * A stream is chunks until one with FINAL; the plaintext is their
 * payloads in order. A receiver opens (authenticates) each chunk before
 * any of its bytes reach a decoder; a stream that ends before FINAL is
 * E_TRUNCATED (swim_sstream_finish).
 *
 * The capability is Vsn[6] bit SWIM_CAP_SEALED_STREAM (swim_member.h):
 * an initiator that knows the peer has it sends chunks; one that does
 * not (a join to an address) sends memberlist's single frame with the
 * extra push/pull header key "SealedChunks" (memberlist skips unknown
 * keys), asking for a chunked reply. A responder answers chunks with
 * chunks.
 *
 * Pure: no sockets, clocks or logs. Nonces come from the caller (one
 * never used before with the key: swim_crypto_nonce_gen). Sealing uses
 * the keyring's primary key; opening tries every key, as memberlist.
 */
#ifndef SWIM_SEALED_STREAM_H_INCLUDED
#define SWIM_SEALED_STREAM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swim_crypto.h"

/** First byte of every chunk: gossipd's private range, beside delta
 * sync's 0xd0..0xdf; memberlist's stream types are 0..13 and 244. */
#define SWIM_SSTREAM_TYPE 0xe0u
/** Vsn[6] bit: reads and writes chunked sealed streams (swim_dsync.h
 * has bit 0x01, delta sync; 0x04 is UDP delta hellos'). */
#define SWIM_CAP_SEALED_STREAM 0x02u
/** Chunk flags. */
#define SWIM_SSTREAM_FINAL 0x01u
#define SWIM_SSTREAM_REPLY 0x02u
/** Version of the format, the value of the "SealedChunks" header key. */
#define SWIM_SSTREAM_VERSION 1u

enum {
	/** Header: type, flags, index, payload length. */
	SWIM_SSTREAM_HDR = 10,
	/** Most plaintext bytes one chunk carries. */
	SWIM_SSTREAM_CHUNK_MAX = 64 * 1024,
	/** Sealing overhead of a chunk: header + vsn + nonce + tag. */
	SWIM_SSTREAM_OVERHEAD = SWIM_SSTREAM_HDR + SWIM_CRYPTO_OVERHEAD,
	/** Longest chunk on the wire: a buffer this big holds any. */
	SWIM_SSTREAM_FRAME_MAX = SWIM_SSTREAM_CHUNK_MAX +
				 SWIM_SSTREAM_OVERHEAD,
	/** What "SealedChunks": 1 adds to a push/pull header. */
	SWIM_SSTREAM_HDR_KEY_LEN = 1 + 12 + 1,
};

/** Errors; negative, distinct, named by swim_sstream_strerror. */
enum swim_sstream_err {
	SWIM_SSTREAM_OK = 0,
	SWIM_SSTREAM_E_AGAIN = -1,	/* chunk not all in yet: read more */
	SWIM_SSTREAM_E_TYPE = -2,	/* first byte is not 0xe0 */
	SWIM_SSTREAM_E_FLAGS = -3,	/* unknown flag bits set */
	SWIM_SSTREAM_E_LENGTH = -4,	/* L below 29 or above the chunk max */
	SWIM_SSTREAM_E_INDEX = -5,	/* index is not the next one */
	SWIM_SSTREAM_E_ROLE = -6,	/* REPLY bit not the one expected */
	SWIM_SSTREAM_E_VERSION = -7,	/* payload version is not 1 */
	SWIM_SSTREAM_E_AUTH = -8,	/* no installed key opens the chunk */
	SWIM_SSTREAM_E_AFTER_FINAL = -9,/* a chunk after the final one */
	SWIM_SSTREAM_E_TRUNCATED = -10,	/* stream ended before FINAL */
	SWIM_SSTREAM_E_NOSPACE = -11,	/* output buffer too small */
	SWIM_SSTREAM_E_NOKEY = -12,	/* keyring empty */
	SWIM_SSTREAM_E_HEADER = -13,	/* not a push/pull header map */
	SWIM_SSTREAM_E_COUNT = -14,
};

/** Name of an enum swim_sstream_err (one line, no newline). */
const char *swim_sstream_strerror(int err);

/** One direction of one stream: sealer or opener state, by value. */
struct swim_sstream {
	/** Index of the next chunk to seal or open; 0 .. UINT32_MAX. */
	uint32_t index;
	/** Stream id: chunk 0's nonce, learnt or chosen at chunk 0. */
	uint8_t sid[SWIM_CRYPTO_NONCE_LEN];
	/** The final chunk was sealed / opened: nothing may follow. */
	bool is_final;
	/** REPLY: this is (sealer) or must be (opener) the responder's. */
	bool is_reply;
};

/** Start a stream (sealer or opener); is_reply as above. */
void swim_sstream_init(struct swim_sstream *st, bool is_reply);

/**
 * Seal the next chunk of plaintext (len <= SWIM_SSTREAM_CHUNK_MAX,
 * may be 0) with the primary key into out (len + SWIM_SSTREAM_OVERHEAD
 * bytes; no overlap with in).
 * @retval bytes written, or SWIM_SSTREAM_E_LENGTH (len too big, or the
 *         index would wrap), _E_AFTER_FINAL, _E_NOSPACE, _E_NOKEY.
 */
int swim_sstream_seal(struct swim_sstream *st,
		      const struct swim_keyring *ring,
		      const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
		      const uint8_t *in, size_t len, bool is_final,
		      uint8_t *out, size_t cap);

/**
 * Length of the chunk at the start of buf, header included, from its
 * header alone: what a reader must collect before opening it.
 * @retval the length (<= SWIM_SSTREAM_FRAME_MAX), SWIM_SSTREAM_E_AGAIN
 *         (fewer than 10 bytes), _E_TYPE, _E_FLAGS or _E_LENGTH.
 */
long swim_sstream_chunk_len(const uint8_t *buf, size_t len);

/**
 * Open the next chunk at the start of buf (which may hold more after
 * it) into out (cap >= its plaintext; SWIM_SSTREAM_CHUNK_MAX always
 * does). Checks the header and the index before decrypting; st moves on
 * only on success. The plaintext is authenticated when this returns.
 * @param[out] consumed the chunk's length on success.
 * @param[out] is_final whether it was the last chunk.
 * @retval plaintext length (>= 0), _E_AGAIN, or another error above.
 */
int swim_sstream_open(struct swim_sstream *st,
		      const struct swim_keyring *ring, const uint8_t *buf,
		      size_t len, uint8_t *out, size_t cap, size_t *consumed,
		      bool *is_final);

/** The stream ended: @retval 0 if its final chunk was opened, else
 * SWIM_SSTREAM_E_TRUNCATED. */
int swim_sstream_finish(const struct swim_sstream *st);

/*
 * --- The request for a chunked reply (swim_sealed_hdr.c, codec) ---
 * A push/pull header (type byte 6, then the {Join, Nodes, UserStateLen}
 * map) may carry "SealedChunks": <version>, which memberlist ignores
 * (go-msgpack skips unknown keys) and which asks a gossipd responder to
 * answer with chunks.
 */

/**
 * Does the push/pull message at buf ask for a chunked reply?
 * @retval the version asked (>= 1), 0 (no key), or
 *         SWIM_SSTREAM_E_HEADER (not a whole push/pull header map).
 */
int swim_sstream_hdr_wants(const uint8_t *buf, size_t len);

/**
 * Copy the push/pull message at msg into out with "SealedChunks": 1
 * added to its header map (out needs len + SWIM_SSTREAM_HDR_KEY_LEN).
 * @retval bytes written, SWIM_SSTREAM_E_HEADER (not a push/pull with a
 *         fixmap header of fewer than 15 keys), or _E_NOSPACE.
 */
int swim_sstream_hdr_mark(const uint8_t *msg, size_t len, uint8_t *out,
			  size_t cap);

#endif /* SWIM_SEALED_STREAM_H_INCLUDED */
