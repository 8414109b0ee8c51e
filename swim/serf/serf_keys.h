/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Serf's internal key queries (serf 0.9 internal_query.go, keymanager.go;
 * memberlist-wire.md §10.8): `_serf_install-key`, `_serf_use-key`,
 * `_serf_remove-key` and `_serf_list-keys`, the queries behind
 * `serf keys`.
 *
 * A query's payload is a keyRequest, `07 {Key: []byte}` (list-keys sends
 * an empty Key); every node answers with a nodeKeyResponse,
 * `08 {Keys: [base64], Message, PrimaryKey: base64, Result}`. The asker
 * counts a missing answer or `Result: false` as a failure.
 *
 * This file turns one received key query into that answer. It owns no
 * keys: the keyring lives with its owner (control), reached through
 * struct serf_keyring_ops, which applies a change or lists the keys.
 * Pure: no sockets, clocks, logging, files or libsodium; the owner does
 * base64 of the keys it lists and writes its keyring file.
 */
#ifndef SERF_KEYS_H_INCLUDED
#define SERF_KEYS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Keys one answer lists (memberlist's keyring has no cap; ours 16). */
#define SERF_KEYS_MAX 16
/** A base64 key with its NUL: 32 raw bytes are 44 characters. */
#define SERF_KEYS_B64_MAX 48
/** Longest Message text an answer carries (NUL included). */
#define SERF_KEYS_MSG_MAX 256
/** Longest raw key accepted from a request (AES-256). */
#define SERF_KEYS_RAW_MAX 32

/** The four key operations; index of serf_key_op_str. */
enum serf_key_op {
	SERF_KEY_INSTALL,
	SERF_KEY_USE,
	SERF_KEY_REMOVE,
	SERF_KEY_LIST,
	SERF_KEY_OP_COUNT,
};

/** "install-key", "use-key", "remove-key", "list-keys": the query
 * names without the "_serf_" prefix, and the RPC command names. */
extern const char *const serf_key_op_str[SERF_KEY_OP_COUNT];

/**
 * Which key query a query name is.
 * @retval an enum serf_key_op, or -1 if name is not "_serf_" + one of
 *         serf_key_op_str.
 */
int serf_keys_op_from_name(const char *name, size_t len);

/** The keys of a keyring, base64 (standard, padded), primary first. */
struct serf_keys_list {
	char keys[SERF_KEYS_MAX][SERF_KEYS_B64_MAX];	/* NUL-terminated */
	uint32_t nb;					/* 0..SERF_KEYS_MAX */
};

/**
 * The keyring's owner. Both calls run synchronously inside
 * serf_keys_answer.
 */
struct serf_keyring_ops {
	/** Passed back as the first argument. */
	void *ctx;
	/**
	 * Apply install / use / remove with a raw key, as memberlist's
	 * AddKey / UseKey / RemoveKey (installing a present key and removing
	 * an absent one succeed), then persist it as serf does.
	 * @retval 0, or < 0 with the text the asker should see in msg
	 *         (memberlist's, e.g. "Requested key is not in the keyring").
	 */
	int (*modify)(void *ctx, enum serf_key_op op, const uint8_t *key,
		      size_t len, char *msg, size_t msglen);
	/** Fill out with the installed keys. @retval 0 or < 0 (+ msg). */
	int (*list)(void *ctx, struct serf_keys_list *out, char *msg,
		    size_t msglen);
};

/**
 * Answer one key query as serf's handlers do: decode the keyRequest,
 * refuse with serf's "encryption not enabled" texts when ops is NULL,
 * else apply or list through ops; a list that does not fit cap is
 * truncated key by key, with serf's "truncated key list response" note.
 * @param payload the query's payload (07 {Key}); list-keys ignores it.
 * @param cap     the most bytes the answer may take (the query response
 *                size limit minus the response's own fields).
 * @retval bytes of `08 {Keys, Message, PrimaryKey, Result}` written to
 *         out, or SWIM_WIRE_E_NOSPACE if not even an empty answer fits,
 *         or -EINVAL for an op out of range.
 */
int serf_keys_answer(const struct serf_keyring_ops *ops, enum serf_key_op op,
		     const uint8_t *payload, size_t len, uint8_t *out,
		     size_t cap);

/**
 * Encode a keyRequest `07 {Key}` as serf does (key as a raw string;
 * list-keys: len 0).
 * @retval bytes written, or SWIM_WIRE_E_NOSPACE.
 */
int serf_keys_encode_request(const uint8_t *key, size_t len, uint8_t *out,
			     size_t cap);

/**
 * Decode a keyRequest (the type byte is skipped unchecked, as serf's
 * decodeMessage(payload[1:]) does).
 * @param[out] key its Key, pointing into payload (NULL when nil).
 * @retval 0, or a negative swim_wire_err (SWIM_WIRE_E_EMPTY for an empty
 *         payload, ...).
 */
int serf_keys_decode_request(const uint8_t *payload, size_t len,
			     const uint8_t **key, size_t *key_len);

#endif /* SERF_KEYS_H_INCLUDED */
