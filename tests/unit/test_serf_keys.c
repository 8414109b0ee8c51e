/* SPDX-License-Identifier: MIT */
/*
 * Serf's internal key queries (swim/serf/serf_keys.c): the keyRequest both
 * ways with serf's bytes, and each answer serf 0.9's internal_query.go
 * gives (no keyring, success, a keyring refusal, an undecodable request,
 * list, a truncated list), against a fake keyring.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "serf_keys.h"
#include "serf_msg.h"
#include "swim_wire.h"

/* A keyring kept as base64-ish names, enough to see what was asked. */
struct fake_ring {
	int nb_modify;			/* modify calls */
	enum serf_key_op last_op;	/* op of the last modify */
	uint8_t last_key[64];		/* its key */
	size_t last_len;
	int modify_rc;			/* what modify returns */
	const char *modify_msg;		/* and its text */
	uint32_t nb_keys;		/* keys list reports */
	int list_rc;
};

static int
fake_modify(void *ctx, enum serf_key_op op, const uint8_t *key, size_t len,
	    char *msg, size_t msglen)
{
	struct fake_ring *f = ctx;

	f->nb_modify++;
	f->last_op = op;
	f->last_len = len < sizeof(f->last_key) ? len : sizeof(f->last_key);
	if (key != NULL)
		memcpy(f->last_key, key, f->last_len);
	if (f->modify_msg != NULL)
		snprintf(msg, msglen, "%s", f->modify_msg);
	return f->modify_rc;
}

static int
fake_list(void *ctx, struct serf_keys_list *out, char *msg, size_t msglen)
{
	struct fake_ring *f = ctx;

	if (f->list_rc != 0) {
		snprintf(msg, msglen, "list failed");
		return f->list_rc;
	}
	out->nb = f->nb_keys;
	for (uint32_t i = 0; i < f->nb_keys; i++)
		snprintf(out->keys[i], sizeof(out->keys[i]),
			 "%043u=", i);	/* 44 characters, like a real key */
	return 0;
}

static struct fake_ring ring;
static struct serf_keyring_ops ops = { &ring, fake_modify, fake_list };
static uint8_t out[2048];
static uint8_t req[128];

static const uint8_t key32[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* Decoded answer: the message as a C string. */
struct answer {
	struct serf_msg_key_response r;
	struct swim_str keys[SERF_KEYS_MAX];
	char msg[SERF_KEYS_MSG_MAX];
	char primary[SERF_KEYS_B64_MAX];
};

static void
decode_answer(int n, struct answer *a)
{
	cr_assert_gt(n, 0, "answer failed: %d", n);
	cr_assert_eq(out[0], SERF_MSG_KEY_RESPONSE);
	memset(a, 0, sizeof(*a));
	cr_assert_eq(serf_msg_decode_key_response(out, (size_t)n, &a->r,
						  a->keys, SERF_KEYS_MAX), 0);
	cr_assert_lt(a->r.message.len, sizeof(a->msg));
	if (a->r.message.len > 0)
		memcpy(a->msg, a->r.message.ptr, a->r.message.len);
	if (a->r.primary_key.len > 0 &&
	    a->r.primary_key.len < sizeof(a->primary))
		memcpy(a->primary, a->r.primary_key.ptr, a->r.primary_key.len);
}

static int
request(const uint8_t *key, size_t len)
{
	int n = serf_keys_encode_request(key, len, req, sizeof(req));

	cr_assert_gt(n, 0);
	return n;
}

TestSuite(serf_keys, .timeout = 5);

Test(serf_keys, query_names_map_to_ops)
{
	static const struct {
		const char *name;
		int op;
	} t[] = {
		{ "_serf_install-key", SERF_KEY_INSTALL },
		{ "_serf_use-key", SERF_KEY_USE },
		{ "_serf_remove-key", SERF_KEY_REMOVE },
		{ "_serf_list-keys", SERF_KEY_LIST },
		{ "_serf_ping", -1 },
		{ "_serf_list-keysx", -1 },
		{ "_serf_", -1 },
		{ "install-key", -1 },
		{ "", -1 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_assert_eq(serf_keys_op_from_name(t[i].name,
						    strlen(t[i].name)),
			     t[i].op, "%s", t[i].name);
	cr_assert_eq(serf_keys_op_from_name(NULL, 3), -1);
	cr_assert_str_eq(serf_key_op_str[SERF_KEY_REMOVE], "remove-key");
}

Test(serf_keys, request_bytes_are_serfs)
{
	/* serf: encodeMessage(messageKeyRequestType, keyRequest{Key}) with
	 * []byte as a raw string (str16 from 32 bytes, never str8). */
	static const uint8_t list[] = { 0x07, 0x81, 0xa3, 'K', 'e', 'y', 0xa0 };
	int n = serf_keys_encode_request(NULL, 0, req, sizeof(req));

	cr_assert_eq(n, (int)sizeof(list));
	cr_assert_arr_eq(req, list, sizeof(list));
	n = serf_keys_encode_request(key32, 32, req, sizeof(req));
	cr_assert_eq(n, 6 + 3 + 32);
	cr_assert_eq(req[6], 0xda);
	cr_assert_eq(req[7], 0x00);
	cr_assert_eq(req[8], 0x20);
	cr_assert_arr_eq(req + 9, key32, 32);
}

Test(serf_keys, request_round_trip_and_errors)
{
	const uint8_t *key;
	size_t len;
	int n = request(key32, 16);
	/* Key as bin8, as a newer client might send it */
	static const uint8_t bin[] = { 0x07, 0x81, 0xa3, 'K', 'e', 'y',
				       0xc4, 0x02, 0xaa, 0xbb };
	static const uint8_t nil[] = { 0x07, 0x81, 0xa3, 'K', 'e', 'y', 0xc0 };
	static const uint8_t cut[] = { 0x07, 0x81, 0xa3, 'K', 'e', 'y',
				       0xa4, 'x' };
	static const uint8_t notmap[] = { 0x07, 0x91, 0x01 };

	cr_assert_eq(serf_keys_decode_request(req, (size_t)n, &key, &len), 0);
	cr_assert_eq(len, 16);
	cr_assert_arr_eq(key, key32, 16);
	cr_assert_eq(serf_keys_decode_request(bin, sizeof(bin), &key, &len),
		     0);
	cr_assert_eq(len, 2);
	cr_assert_eq(key[0], 0xaa);
	cr_assert_eq(serf_keys_decode_request(nil, sizeof(nil), &key, &len),
		     0);
	cr_assert_null(key);
	cr_assert_eq(len, 0);
	cr_assert_eq(serf_keys_decode_request(req, 1, &key, &len),
		     SWIM_WIRE_E_EMPTY);
	cr_assert_eq(serf_keys_decode_request(NULL, 0, &key, &len),
		     SWIM_WIRE_E_EMPTY);
	cr_assert_eq(serf_keys_decode_request(cut, sizeof(cut), &key, &len),
		     SWIM_WIRE_E_TRUNCATED);
	cr_assert_eq(serf_keys_decode_request(notmap, sizeof(notmap), &key,
					      &len), SWIM_WIRE_E_TYPE);
}

Test(serf_keys, request_refuses_long_key_and_small_buffer)
{
	uint8_t big[33] = { 0 };

	cr_assert_eq(serf_keys_encode_request(big, 33, req, sizeof(req)),
		     SWIM_WIRE_E_LENGTH);
	cr_assert_eq(serf_keys_encode_request(key32, 32, req, 20),
		     SWIM_WIRE_E_NOSPACE);
}

Test(serf_keys, without_keyring_modify_says_encryption_not_enabled)
{
	struct answer a;
	int len = request(key32, 32);

	for (int op = SERF_KEY_INSTALL; op <= SERF_KEY_REMOVE; op++) {
		decode_answer(serf_keys_answer(NULL, (enum serf_key_op)op, req,
					       (size_t)len, out, sizeof(out)),
			      &a);
		cr_assert_not(a.r.result);
		cr_assert_str_eq(a.msg,
			"No keyring to modify (encryption not enabled)");
		cr_assert_eq(a.r.nb_keys, 0);
	}
}

Test(serf_keys, without_keyring_list_says_keyring_is_empty)
{
	struct answer a;

	decode_answer(serf_keys_answer(NULL, SERF_KEY_LIST, NULL, 0, out,
				       sizeof(out)), &a);
	cr_assert_not(a.r.result);
	cr_assert_str_eq(a.msg, "Keyring is empty (encryption not enabled)");
	cr_assert_eq(out[2], 0xa4);	/* Keys comes first ... */
	cr_assert_eq(out[7], 0xc0);	/* ... and is nil, as Go's nil slice */
}

Test(serf_keys, install_passes_the_raw_key_and_succeeds)
{
	struct answer a;
	int len = request(key32, 32);

	memset(&ring, 0, sizeof(ring));
	decode_answer(serf_keys_answer(&ops, SERF_KEY_INSTALL, req,
				       (size_t)len, out, sizeof(out)), &a);
	cr_assert(a.r.result);
	cr_assert_str_eq(a.msg, "");
	cr_assert_str_eq(a.primary, "");
	cr_assert_eq(ring.nb_modify, 1);
	cr_assert_eq(ring.last_op, SERF_KEY_INSTALL);
	cr_assert_eq(ring.last_len, 32);
	cr_assert_arr_eq(ring.last_key, key32, 32);
}

Test(serf_keys, a_keyring_refusal_is_relayed)
{
	struct answer a;
	int len = request(key32, 32);

	memset(&ring, 0, sizeof(ring));
	ring.modify_rc = -ENOENT;
	ring.modify_msg = "Requested key is not in the keyring";
	decode_answer(serf_keys_answer(&ops, SERF_KEY_USE, req, (size_t)len,
				       out, sizeof(out)), &a);
	cr_assert_not(a.r.result);
	cr_assert_str_eq(a.msg, "Requested key is not in the keyring");
	cr_assert_eq(ring.last_op, SERF_KEY_USE);
}

Test(serf_keys, an_undecodable_request_fails_without_message)
{
	static const uint8_t bad[] = { 0x07, 0x91, 0x01 };
	struct answer a;

	memset(&ring, 0, sizeof(ring));
	decode_answer(serf_keys_answer(&ops, SERF_KEY_REMOVE, bad, sizeof(bad),
				       out, sizeof(out)), &a);
	cr_assert_not(a.r.result);
	cr_assert_str_eq(a.msg, "");
	cr_assert_eq(ring.nb_modify, 0);
	decode_answer(serf_keys_answer(&ops, SERF_KEY_INSTALL, NULL, 0, out,
				       sizeof(out)), &a);
	cr_assert_not(a.r.result);
	cr_assert_eq(ring.nb_modify, 0);
}

Test(serf_keys, list_gives_every_key_primary_first)
{
	struct answer a;

	memset(&ring, 0, sizeof(ring));
	ring.nb_keys = 3;
	decode_answer(serf_keys_answer(&ops, SERF_KEY_LIST, NULL, 0, out,
				       sizeof(out)), &a);
	cr_assert(a.r.result);
	cr_assert_str_eq(a.msg, "");
	cr_assert_eq(a.r.nb_keys, 3);
	cr_assert_eq(a.keys[2].len, 44);
	cr_assert_eq(memcmp(a.keys[2].ptr,
			    "0000000000000000000000000000000000000000002=",
			    44), 0);
	cr_assert_str_eq(a.primary,
			 "0000000000000000000000000000000000000000000=");
	cr_assert_eq(ring.nb_modify, 0);
}

Test(serf_keys, list_failure_is_relayed)
{
	struct answer a;

	memset(&ring, 0, sizeof(ring));
	ring.list_rc = -ENOMEM;
	decode_answer(serf_keys_answer(&ops, SERF_KEY_LIST, NULL, 0, out,
				       sizeof(out)), &a);
	cr_assert_not(a.r.result);
	cr_assert_str_eq(a.msg, "list failed");
}

Test(serf_keys, a_long_list_is_truncated_to_fit)
{
	struct answer a;
	int full;

	memset(&ring, 0, sizeof(ring));
	ring.nb_keys = SERF_KEYS_MAX;
	full = serf_keys_answer(&ops, SERF_KEY_LIST, NULL, 0, out,
				sizeof(out));
	cr_assert_gt(full, 16 * 44);
	decode_answer(serf_keys_answer(&ops, SERF_KEY_LIST, NULL, 0, out,
				       400), &a);
	cr_assert(a.r.result);
	cr_assert_lt(a.r.nb_keys, SERF_KEYS_MAX);
	cr_assert_gt(a.r.nb_keys, 0);
	char want[128];
	snprintf(want, sizeof(want),
		 "truncated key list response, showing first %u of 16 keys",
		 a.r.nb_keys);
	cr_assert_str_eq(a.msg, want);
}

Test(serf_keys, errors_have_exact_codes)
{
	int len = request(key32, 32);

	memset(&ring, 0, sizeof(ring));
	ring.nb_keys = 2;
	cr_assert_eq(serf_keys_answer(&ops, SERF_KEY_LIST, NULL, 0, out, 10),
		     SWIM_WIRE_E_NOSPACE);
	cr_assert_eq(serf_keys_answer(&ops, SERF_KEY_INSTALL, req, (size_t)len,
				      out, 10), SWIM_WIRE_E_NOSPACE);
	cr_assert_eq(serf_keys_answer(&ops, SERF_KEY_OP_COUNT, req,
				      (size_t)len, out, sizeof(out)), -EINVAL);
	cr_assert_eq(serf_keys_answer(&ops, (enum serf_key_op)-1, req,
				      (size_t)len, out, sizeof(out)), -EINVAL);
}
