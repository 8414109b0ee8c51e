/* SPDX-License-Identifier: MIT */
/*
 * Serf's internal key queries, answered as serf 0.9's internal_query.go
 * does (handleInstallKey, handleUseKey, handleRemoveKey, handleListKeys,
 * sendKeyResponse). The keyring itself is the caller's, reached through
 * struct serf_keyring_ops.
 *
 * Must never: touch sockets, files, clocks or logs, or hold a key past
 * the call (the raw key points into the caller's payload).
 */
#include "serf_keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "serf_msg.h"
#include "swim_mp.h"
#include "swim_wire.h"

#define INTERNAL_PREFIX "_serf_"

const char *const serf_key_op_str[SERF_KEY_OP_COUNT] = {
	[SERF_KEY_INSTALL] = "install-key",
	[SERF_KEY_USE] = "use-key",
	[SERF_KEY_REMOVE] = "remove-key",
	[SERF_KEY_LIST] = "list-keys",
};

/* serf's texts for a node without a keyring. */
static const char no_keyring_msg[] =
	"No keyring to modify (encryption not enabled)";
static const char empty_keyring_msg[] =
	"Keyring is empty (encryption not enabled)";

int
serf_keys_op_from_name(const char *name, size_t len)
{
	size_t plen = sizeof(INTERNAL_PREFIX) - 1;

	if (name == NULL || len <= plen ||
	    memcmp(name, INTERNAL_PREFIX, plen) != 0)
		return -1;
	for (int op = 0; op < SERF_KEY_OP_COUNT; op++) {
		const char *s = serf_key_op_str[op];
		if (strlen(s) == len - plen && memcmp(s, name + plen,
						      len - plen) == 0)
			return op;
	}
	return -1;
}

/* keyRequest: {Key []byte}. */
struct key_request {
	struct swim_str key;
};

static const struct swim_mp_field key_request_f[] = {
	SWIM_MP_F("Key", BYTES, struct key_request, key),
};

int
serf_keys_encode_request(const uint8_t *key, size_t len, uint8_t *out,
			 size_t cap)
{
	static const uint8_t none[1];
	struct key_request r = {
		/* never nil: serf sends DecodeString("") = []byte{} */
		.key = { key != NULL ? key : none, (uint32_t)len },
	};

	if (len > SERF_KEYS_RAW_MAX)
		return SWIM_WIRE_E_LENGTH;
	return swim_mp_encode_msg(SERF_MSG_KEY_REQUEST, key_request_f,
				  SWIM_MP_NB(key_request_f), &r, out, cap);
}

int
serf_keys_decode_request(const uint8_t *payload, size_t len,
			 const uint8_t **key, size_t *key_len)
{
	struct key_request r;
	const uint8_t *pos;
	int rc;

	*key = NULL;
	*key_len = 0;
	if (payload == NULL || len < 2)
		return SWIM_WIRE_E_EMPTY;
	memset(&r, 0, sizeof(r));
	pos = payload + 1;
	rc = swim_mp_decode_struct(&pos, payload + len, SWIM_MP_SERF,
				   key_request_f, SWIM_MP_NB(key_request_f),
				   &r);
	if (rc != 0)
		return rc;
	*key = r.key.ptr;
	*key_len = r.key.ptr == NULL ? 0 : r.key.len;
	return 0;
}

/* Text of a NUL-terminated buffer as a slice. */
static struct swim_str
msg_str(const char *s)
{
	return (struct swim_str){ (const uint8_t *)s, (uint32_t)strlen(s) };
}

/* install / use / remove: decode, apply, answer. */
static int
answer_modify(const struct serf_keyring_ops *ops, enum serf_key_op op,
	      const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
	char msg[SERF_KEYS_MSG_MAX] = "";
	struct serf_msg_key_response r;
	const uint8_t *key;
	size_t key_len;

	memset(&r, 0, sizeof(r));
	/* a request that does not decode: Result false, no Message */
	if (serf_keys_decode_request(payload, len, &key, &key_len) == 0) {
		if (ops == NULL)
			snprintf(msg, sizeof(msg), "%s", no_keyring_msg);
		else if (ops->modify(ops->ctx, op, key, key_len, msg,
				     sizeof(msg)) == 0)
			r.result = true;
	}
	msg[sizeof(msg) - 1] = '\0';
	r.message = msg_str(msg);
	r.primary_key = msg_str("");
	return serf_msg_encode_key_response(&r, out, cap);
}

/* keyListResponseWithCorrectSize: drop keys until the answer fits. */
static int
answer_list_fit(struct serf_msg_key_response *r, uint32_t nb_all, char *msg,
		size_t msglen, uint8_t *out, size_t cap)
{
	for (uint32_t i = nb_all + 1; i-- > 0;) {
		int n;

		r->nb_keys = i;
		if (i < nb_all) {
			snprintf(msg, msglen, "truncated key list response, showing first %u of %u keys",
				 i, nb_all);
			r->message = msg_str(msg);
		}
		n = serf_msg_encode_key_response(r, out, cap);
		if (n >= 0)
			return n;
	}
	return SWIM_WIRE_E_NOSPACE;
}

static int
answer_list(const struct serf_keyring_ops *ops, uint8_t *out, size_t cap)
{
	static struct serf_keys_list list;	/* 800 B: not on the stack */
	struct swim_str keys[SERF_KEYS_MAX];
	char msg[SERF_KEYS_MSG_MAX] = "";
	struct serf_msg_key_response r;

	memset(&r, 0, sizeof(r));
	memset(&list, 0, sizeof(list));
	r.primary_key = msg_str("");
	if (ops == NULL) {
		r.message = msg_str(empty_keyring_msg);
		return serf_msg_encode_key_response(&r, out, cap);
	}
	if (ops->list(ops->ctx, &list, msg, sizeof(msg)) != 0 ||
	    list.nb > SERF_KEYS_MAX) {
		msg[sizeof(msg) - 1] = '\0';
		r.message = msg_str(msg);
		return serf_msg_encode_key_response(&r, out, cap);
	}
	for (uint32_t i = 0; i < list.nb; i++) {
		list.keys[i][SERF_KEYS_B64_MAX - 1] = '\0';
		keys[i] = msg_str(list.keys[i]);
	}
	r.keys = keys;
	r.result = true;
	r.message = msg_str("");
	if (list.nb > 0)
		r.primary_key = keys[0];
	return answer_list_fit(&r, list.nb, msg, sizeof(msg), out, cap);
}

int
serf_keys_answer(const struct serf_keyring_ops *ops, enum serf_key_op op,
		 const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
	switch (op) {
	case SERF_KEY_INSTALL:
	case SERF_KEY_USE:
	case SERF_KEY_REMOVE:
		return answer_modify(ops, op, payload, len, out, cap);
	case SERF_KEY_LIST:
		return answer_list(ops, out, cap);
	case SERF_KEY_OP_COUNT:
		break;
	}
	return -EINVAL;
}
