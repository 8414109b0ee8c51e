/* SPDX-License-Identifier: MIT */
/**
 * @file
 * memberlist-compatible encryption (serf's `-encrypt`): a keyring and
 * AES-128/192/256-GCM seal/open of UDP packets and TCP stream frames
 * (shared/protocol/memberlist-wire.md §8). The AES-GCM itself comes from
 * intel-ipsec-mb (every key size, where built in) or OpenSSL's EVP (the
 * fallback), or on request libsodium's precomputed AES-256-GCM (32-byte
 * keys, AES-NI + PCLMUL), chosen per key when a context is keyed
 * (swim_crypto_backend.h); all give the same bytes. libsodium also keeps
 * the keys (sodium_malloc), decodes base64 and draws random nonces.
 *
 * This file owns the key material and the byte layout of encrypted
 * payloads. It must never touch sockets, clocks, threads or logs; it is
 * linked only by the users that need crypto (swim_crypto_lib), so the wire
 * codec and the core stay free of libsodium and libcrypto. sodium_init()
 * is the caller's job (once, in main), before swim_keyring_new().
 *
 * Encrypted payload (UDP packet, or the body of a stream frame):
 *
 *   +-----+----------------------+---------------------------+--------+
 *   | vsn | nonce (12 random B)  | AES-GCM ciphertext        | tag 16 |
 *   +-----+----------------------+---------------------------+--------+
 *   vsn 1: ciphertext covers the plaintext as-is (overhead 29 bytes);
 *   vsn 0: the plaintext is PKCS#7-padded to a multiple of 16 first
 *          (accepted on open, never produced by memberlist >= proto 2).
 *   UDP AAD: empty.
 *
 * Stream frame:   0x0a | L (u32 BE) | payload of exactly L bytes,
 *                 AAD = those 5 header bytes.
 *
 * Threads: a keyring is built on the control thread before the workers
 * start and is read-only afterwards. Cipher state (one expanded key per
 * key: ipsec-mb's or libsodium's inline in the context, or a keyed
 * EVP_CIPHER_CTX) is per thread:
 *  - a thread that owns a struct swim_crypto_ctx binds it to a keyring
 *    (swim_crypto_ctx_bind, which re-keys only when the ring changed) and
 *    seals/opens through it: no allocation, no lock, no shared write;
 *  - the ring-based calls (swim_crypto_seal_udp, ..._open_stream) borrow
 *    one of the ring's SWIM_CRYPTO_POOL contexts with an atomic
 *    exchange (no lock, no wait), so any number of threads may still call
 *    them at once; a context is allocated on its first use, and a caller
 *    that finds all of them borrowed uses a temporary one (allocates).
 * Mutating a keyring that others are reading is not safe: rotation
 * publishes a new keyring instead (or mutates while no one reads).
 */
#ifndef SWIM_CRYPTO_H_INCLUDED
#define SWIM_CRYPTO_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/** Longest key (AES-256); 16 (AES-128) and 24 (AES-192) are valid too. */
#define SWIM_CRYPTO_KEY_LEN 32
/** Cipher contexts a keyring lends to the ring-based seal/open calls. */
#define SWIM_CRYPTO_POOL 8
/** Keys a keyring holds (primary + secondaries during a rotation). */
#define SWIM_CRYPTO_MAX_KEYS 16
/** GCM nonce, 96 bits as memberlist uses. */
#define SWIM_CRYPTO_NONCE_LEN 12
/** GCM tag appended to the ciphertext. */
#define SWIM_CRYPTO_TAG_LEN 16
/** Stream frame header: 0x0a + u32 BE length; it is also the AAD. */
#define SWIM_CRYPTO_STREAM_HDR 5
/** memberlist's stream type byte for an encrypted frame (encryptMsg). */
#define SWIM_CRYPTO_STREAM_TYPE 0x0a
/** Largest stream payload accepted (memberlist's maxPushStateBytes). */
#define SWIM_CRYPTO_STREAM_MAX (20u * 1024 * 1024)

/** Byte counts of the encrypted format (memberlist-wire.md §8.2). */
enum {
	/** Version byte + nonce + tag: what version 1 adds to a payload. */
	SWIM_CRYPTO_OVERHEAD = 1 + SWIM_CRYPTO_NONCE_LEN + SWIM_CRYPTO_TAG_LEN,
	/** Shortest version-0 payload: one full block of padding. */
	SWIM_CRYPTO_MIN_V0 = SWIM_CRYPTO_OVERHEAD + 16,
	/** Stream frame overhead for version 1 (header + payload overhead). */
	SWIM_CRYPTO_STREAM_OVERHEAD = SWIM_CRYPTO_STREAM_HDR +
				      SWIM_CRYPTO_OVERHEAD,
};

/** Errors; all negative, distinct, and named by swim_crypto_strerror. */
enum swim_crypto_err {
	SWIM_CRYPTO_OK = 0,
	SWIM_CRYPTO_E_SHORT = -1,	/* payload too small to decrypt */
	SWIM_CRYPTO_E_VERSION = -2,	/* encryption version > 1 */
	SWIM_CRYPTO_E_AUTH = -3,	/* no installed key verifies the tag */
	SWIM_CRYPTO_E_PADDING = -4,	/* version 0: bad PKCS#7 padding */
	SWIM_CRYPTO_E_NOSPACE = -5,	/* output buffer too small */
	SWIM_CRYPTO_E_KEYLEN = -6,	/* key is not 16, 24 or 32 bytes */
	SWIM_CRYPTO_E_AES128 = -7,	/* no longer returned: 16/24 work */
	SWIM_CRYPTO_E_BASE64 = -8,	/* key is not standard base64 */
	SWIM_CRYPTO_E_FULL = -9,	/* keyring already holds MAX_KEYS */
	SWIM_CRYPTO_E_NOKEY = -10,	/* key not installed / ring empty */
	SWIM_CRYPTO_E_PRIMARY = -11,	/* cannot remove the primary key */
	SWIM_CRYPTO_E_UNAVAILABLE = -12,/* libcrypto has no AES-GCM */
	SWIM_CRYPTO_E_NOMEM = -13,	/* sodium_malloc or libcrypto failed */
	SWIM_CRYPTO_E_FRAME = -14,	/* stream does not start with 0x0a */
	SWIM_CRYPTO_E_LENGTH = -15,	/* stream length over the 20 MiB cap */
	SWIM_CRYPTO_E_AGAIN = -16,	/* stream: frame incomplete, read more */
	SWIM_CRYPTO_E_JSON = -17,	/* keyring file is not a JSON array */
	SWIM_CRYPTO_E_COUNT = -18,
};

/** Human-readable name of an enum swim_crypto_err (one line, no newline). */
const char *swim_crypto_strerror(int err);

/**
 * Where nonces come from: fill nonce with 12 bytes never used before
 * with the same key. The default is libsodium's randombytes_buf, as
 * memberlist draws crypto/rand; tests inject a fixed one.
 */
typedef void (*swim_crypto_nonce_f)(void *ctx,
				    uint8_t nonce[SWIM_CRYPTO_NONCE_LEN]);

/**
 * A per-thread nonce generator that needs no syscall per packet: a
 * random 96-bit start (randombytes_buf, once) incremented per nonce, the
 * deterministic construction of NIST SP 800-38D 8.2.1. Two generators
 * with random starts overlap with negligible probability. One per thread:
 * it is not shared.
 */
struct swim_crypto_nonce_gen {
	/** Next nonce to hand out, big-endian counter; owner thread only. */
	uint8_t next[SWIM_CRYPTO_NONCE_LEN];
};

/** Seed a generator from randombytes_buf. */
void swim_crypto_nonce_gen_init(struct swim_crypto_nonce_gen *g);

/** swim_crypto_nonce_f over a struct swim_crypto_nonce_gen (ctx). */
void swim_crypto_nonce_gen_next(void *ctx,
				uint8_t nonce[SWIM_CRYPTO_NONCE_LEN]);

/** Opaque keyring; its keys live in sodium_malloc memory, zeroed on delete. */
struct swim_keyring;

/**
 * Create an empty keyring. Checks that libcrypto offers AES-GCM, and
 * sets ipsec-mb up (once per process) if it is built in.
 * @param[out] err SWIM_CRYPTO_E_UNAVAILABLE or _E_NOMEM on failure
 *             (may be NULL).
 * @retval the keyring, or NULL.
 */
struct swim_keyring *swim_keyring_new(int *err);

/** Wipe every key (sodium_memzero) and free, with the contexts it
 * lent (none may be borrowed). NULL is a no-op. */
void swim_keyring_delete(struct swim_keyring *ring);

/**
 * Install a raw key. The first key installed becomes the primary;
 * later ones are secondaries (decrypt only). Installing a key already
 * present does nothing, as memberlist's AddKey.
 * @retval 0, SWIM_CRYPTO_E_KEYLEN (a size other than 16, 24 or 32), or
 *         SWIM_CRYPTO_E_FULL.
 */
int swim_keyring_add(struct swim_keyring *ring, const uint8_t *key,
		     size_t len);

/**
 * Install a key given in standard padded base64, as `serf agent
 * -encrypt=` and `serf keygen` print it. Leading/trailing spaces are
 * ignored.
 * @retval 0, SWIM_CRYPTO_E_BASE64, or an error of swim_keyring_add.
 */
int swim_keyring_add_base64(struct swim_keyring *ring, const char *b64,
			    size_t len);

/**
 * Install every key of a serf keyring file: a JSON array of base64
 * strings, the first one primary (serf's -keyring-file format).
 * @retval number of keys in the array (>= 1), SWIM_CRYPTO_E_JSON for
 *         anything but a non-empty array of strings, or an error of
 *         swim_keyring_add_base64 (the ring may then hold the keys that
 *         came before the bad one).
 */
int swim_keyring_add_json(struct swim_keyring *ring, const char *text,
			  size_t len);

/**
 * Make an installed key the primary (serf's `keys -use`).
 * @retval 0, SWIM_CRYPTO_E_KEYLEN, or SWIM_CRYPTO_E_NOKEY.
 */
int swim_keyring_use(struct swim_keyring *ring, const uint8_t *key,
		     size_t len);

/**
 * Remove a secondary key (serf's `keys -remove`).
 * @retval 0, SWIM_CRYPTO_E_PRIMARY, SWIM_CRYPTO_E_NOKEY, or a length error.
 */
int swim_keyring_remove(struct swim_keyring *ring, const uint8_t *key,
			size_t len);

/** Number of installed keys, primary included (0 for a new ring). */
unsigned swim_keyring_count(const struct swim_keyring *ring);

/**
 * Copy key i (0 = primary) into out: its swim_keyring_key_len bytes,
 * zeros after them (a 16- or 24-byte key is not 32 bytes long).
 * @retval 0, or SWIM_CRYPTO_E_NOKEY if i >= count.
 */
int swim_keyring_get(const struct swim_keyring *ring, unsigned i,
		     uint8_t out[SWIM_CRYPTO_KEY_LEN]);

/**
 * Length of key i (0 = primary): 16, 24 or 32.
 * @retval the length, or SWIM_CRYPTO_E_NOKEY if i >= count.
 */
int swim_keyring_key_len(const struct swim_keyring *ring, unsigned i);

/**
 * Replace the nonce source used by swim_crypto_seal_udp/_stream
 * (NULL restores randombytes_buf). Set before the ring is shared.
 */
void swim_keyring_set_nonce_source(struct swim_keyring *ring,
				   swim_crypto_nonce_f fn, void *ctx);

/**
 * Decode a standard base64 key into out (at most cap bytes).
 * @retval the key length, or SWIM_CRYPTO_E_BASE64.
 */
int swim_crypto_key_from_base64(const char *b64, size_t len, uint8_t *out,
				size_t cap);

/**
 * Encrypt in into out as the payload format above, with the primary key,
 * the given version (0 or 1) and nonce, and aad (may be NULL if 0 long).
 * The building block of the two seal calls; tests use it to reproduce
 * fixed vectors and version 0. out may not overlap in (version 0 aside,
 * which copies in first).
 * @retval bytes written, SWIM_CRYPTO_E_NOKEY, _E_VERSION or _E_NOSPACE.
 */
int swim_crypto_seal_payload(const struct swim_keyring *ring, unsigned vsn,
			     const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			     const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t len, uint8_t *out,
			     size_t cap);

/**
 * Decrypt a payload: try every key, primary first, until a tag verifies.
 * Version 0 is unpadded. out may not overlap in.
 * @retval plaintext length (>= 0), or SWIM_CRYPTO_E_SHORT (empty or
 *         below the version's minimum), _E_VERSION (> 1), _E_NOSPACE
 *         (cap < len - 29), _E_AUTH (no key fits), _E_PADDING.
 */
int swim_crypto_open_payload(const struct swim_keyring *ring,
			     const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t len, uint8_t *out,
			     size_t cap);

/**
 * Seal a UDP packet: version 1, nonce from the ring's source, empty AAD.
 * out needs len + SWIM_CRYPTO_OVERHEAD bytes and may not overlap in.
 * @retval bytes written, or a negative swim_crypto_err.
 */
int swim_crypto_seal_udp(const struct swim_keyring *ring, const uint8_t *in,
			 size_t len, uint8_t *out, size_t cap);

/** swim_crypto_seal_udp with the caller's nonce (per-thread generators). */
int swim_crypto_seal_udp_nonce(const struct swim_keyring *ring,
			       const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			       const uint8_t *in, size_t len, uint8_t *out,
			       size_t cap);

/**
 * Open a UDP packet (versions 0 and 1, empty AAD).
 * @retval plaintext length, or a negative swim_crypto_err as
 *         swim_crypto_open_payload.
 */
int swim_crypto_open_udp(const struct swim_keyring *ring, const uint8_t *in,
			 size_t len, uint8_t *out, size_t cap);

/**
 * Seal one stream message as `0a | L | payload` (version 1, AAD = the
 * 5 header bytes). out needs len + SWIM_CRYPTO_STREAM_OVERHEAD bytes.
 * @retval bytes written, or a negative swim_crypto_err (_E_LENGTH when
 *         the payload would pass the 20 MiB cap).
 */
int swim_crypto_seal_stream(const struct swim_keyring *ring,
			    const uint8_t *in, size_t len, uint8_t *out,
			    size_t cap);

/**
 * How long the stream frame at the start of buf is, header included,
 * from its first 5 bytes: what a reader must collect before opening.
 * @retval frame length, SWIM_CRYPTO_E_AGAIN (fewer than 5 bytes),
 *         SWIM_CRYPTO_E_FRAME (not 0x0a), SWIM_CRYPTO_E_LENGTH (> cap).
 */
long swim_crypto_stream_frame_len(const uint8_t *buf, size_t len);

/**
 * Open the stream frame at the start of buf (which may hold more bytes
 * after it).
 * @param[out] consumed frame length on success (may be NULL).
 * @retval plaintext length, SWIM_CRYPTO_E_AGAIN if the frame is not all
 *         in buf yet, or another negative swim_crypto_err.
 */
int swim_crypto_open_stream(const struct swim_keyring *ring,
			    const uint8_t *buf, size_t len, uint8_t *out,
			    size_t cap, size_t *consumed);

/*
 * --- Per-thread cipher contexts ---
 *
 * A struct swim_crypto_ctx holds one expanded key per key of the keyring
 * it was last bound to: ipsec-mb's or libsodium's state inline (no
 * allocation), or keyed EVP_CIPHER_CTXs (plus one to seal with the
 * primary).
 * Only its owner thread uses it. After swim_crypto_ctx_bind it never
 * reads the keyring again until the next bind, so a ring may be freed
 * once every context bound to it has been re-bound or deleted.
 */
struct swim_crypto_ctx;

/**
 * Create an unbound context (allocates).
 * @param[out] err SWIM_CRYPTO_E_NOMEM on failure (may be NULL).
 */
struct swim_crypto_ctx *swim_crypto_ctx_new(int *err);

/** Free a context and wipe its key schedules. NULL is a no-op. */
void swim_crypto_ctx_delete(struct swim_crypto_ctx *ctx);

/**
 * Key ctx with ring's keys, unless it already holds them (the same ring,
 * unchanged since: two loads and compares). Re-keying allocates only for
 * EVP (the first time a slot is used, or when a key's size changes).
 * ring NULL unbinds.
 * @retval 0, or SWIM_CRYPTO_E_NOMEM (ctx is then unbound).
 */
int swim_crypto_ctx_bind(struct swim_crypto_ctx *ctx,
			 const struct swim_keyring *ring);

/** Keys ctx holds (0: unbound or an empty ring). */
unsigned swim_crypto_ctx_count(const struct swim_crypto_ctx *ctx);

/** swim_crypto_seal_payload through a bound context; no allocation. */
int swim_crypto_ctx_seal_payload(struct swim_crypto_ctx *ctx, unsigned vsn,
				 const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
				 const uint8_t *aad, size_t aad_len,
				 const uint8_t *in, size_t len, uint8_t *out,
				 size_t cap);

/** swim_crypto_open_payload through a bound context; no allocation. */
int swim_crypto_ctx_open_payload(struct swim_crypto_ctx *ctx,
				 const uint8_t *aad, size_t aad_len,
				 const uint8_t *in, size_t len, uint8_t *out,
				 size_t cap);

/** swim_crypto_seal_udp_nonce through a bound context. */
int swim_crypto_ctx_seal_udp(struct swim_crypto_ctx *ctx,
			     const uint8_t nonce[SWIM_CRYPTO_NONCE_LEN],
			     const uint8_t *in, size_t len, uint8_t *out,
			     size_t cap);

/** swim_crypto_open_udp through a bound context. */
int swim_crypto_ctx_open_udp(struct swim_crypto_ctx *ctx, const uint8_t *in,
			     size_t len, uint8_t *out, size_t cap);

#endif /* SWIM_CRYPTO_H_INCLUDED */
