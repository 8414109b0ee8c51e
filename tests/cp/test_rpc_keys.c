/* SPDX-License-Identifier: MIT */
/*
 * cp_rpc's key commands (cp_rpc_keys.c) over the fake control plane:
 * install-key / use-key / remove-key / list-keys start the internal query
 * `_serf_<command>`, hold the reply until every member (alive or leaving:
 * alpha and d in the fake, so NumNodes 2) answered or the query is done,
 * then send serf's {Keys, Messages, NumErr, NumNodes, NumResp} with
 * keymanager.go's error texts. The answers are fed in as the Serf layer
 * would, through cp_rpc_query_response / cp_rpc_query_done.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "rpc_tc_suite.h"

TestSuite(rpc_keys, .init = setup_open, .fini = teardown, .timeout = 20);

/* base64 of bytes 0..31, as `serf keygen` prints keys. */
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/* The decoded reply body. */
struct key_reply {
	uint64_t nb_nodes, nb_resp, nb_err;
	uint32_t nb_keys, nb_msgs;
	char keys[4][64];
	uint64_t key_n[4];
	char msg_from[4][64];
	char msg[4][128];
	uint32_t nb_fields;
};

static void
copy_sv(char *out, size_t cap, const char *s, uint32_t len)
{
	cr_assert_lt(len, cap);
	memcpy(out, s, len);
	out[len] = '\0';
}

/* {k: v} with string keys; ints (keys) or strings (msgs) as values. */
static void
decode_kmap(const char **p, const char *end, char (*k)[64], uint64_t *n,
	    char (*v)[128], uint32_t *nb)
{
	uint32_t cnt;
	const char *s;
	uint32_t len;

	cr_assert_eq(cp_rpc_dec_map(p, end, &cnt), 0);
	cr_assert_leq(cnt, 4);
	*nb = cnt;
	for (uint32_t i = 0; i < cnt; i++) {
		cr_assert_eq(cp_rpc_dec_strn(p, end, &s, &len), 0);
		copy_sv(k[i], 64, s, len);
		if (n != NULL) {
			cr_assert_eq(cp_rpc_dec_uint(p, end, UINT64_MAX,
						     &n[i]), 0);
		} else {
			cr_assert_eq(cp_rpc_dec_strn(p, end, &s, &len), 0);
			copy_sv(v[i], 128, s, len);
		}
	}
}

/* Header (Error = want) then the 5-key body. */
static void
expect_key_reply(const char *want, struct key_reply *r)
{
	size_t len;
	uint32_t n;
	const char *k;
	uint32_t kl;

	expect_reply(want);
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0, "no body");
	const char *p = cli.in, *end = cli.in + len;
	memset(r, 0, sizeof(*r));
	cr_assert_eq(cp_rpc_dec_map(&p, end, &n), 0);
	r->nb_fields = n;
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(cp_rpc_dec_strn(&p, end, &k, &kl), 0);
		if (cp_rpc_key_is(k, kl, "Keys"))
			decode_kmap(&p, end, r->keys, r->key_n, NULL,
				    &r->nb_keys);
		else if (cp_rpc_key_is(k, kl, "Messages"))
			decode_kmap(&p, end, r->msg_from, NULL, r->msg,
				    &r->nb_msgs);
		else if (cp_rpc_key_is(k, kl, "NumNodes"))
			cp_rpc_dec_uint(&p, end, UINT64_MAX, &r->nb_nodes);
		else if (cp_rpc_key_is(k, kl, "NumResp"))
			cp_rpc_dec_uint(&p, end, UINT64_MAX, &r->nb_resp);
		else if (cp_rpc_key_is(k, kl, "NumErr"))
			cp_rpc_dec_uint(&p, end, UINT64_MAX, &r->nb_err);
		else
			cr_assert_fail("unexpected key");
	}
	cr_assert_eq(p, end);
	rpc_tc_consume(&cli, len);
}

static void
send_key(const char *cmd, const char *key)
{
	rpc_tc_send_str(&cli, cmd, "Key", key);
}

/* A node's nodeKeyResponse: 08 {Keys, Message, PrimaryKey, Result}. */
static void
answer(const char *from, bool result, const char *msg, const char *k1,
       const char *k2)
{
	struct cp_rpc_buf b;
	uint32_t nb = (k1 != NULL) + (k2 != NULL);

	cp_rpc_buf_create(&b, 1024);
	cp_rpc_enc_raw(&b, "\x08", 1);
	cp_rpc_enc_map(&b, 4);
	cp_rpc_enc_str(&b, "Keys");
	if (nb == 0)
		cp_rpc_enc_nil(&b);
	else
		cp_rpc_enc_array(&b, nb);
	if (k1 != NULL)
		cp_rpc_enc_str(&b, k1);
	if (k2 != NULL)
		cp_rpc_enc_str(&b, k2);
	cp_rpc_enc_str(&b, "Message");
	cp_rpc_enc_str(&b, msg);
	cp_rpc_enc_str(&b, "PrimaryKey");
	cp_rpc_enc_str(&b, k1 != NULL ? k1 : "");
	cp_rpc_enc_str(&b, "Result");
	cp_rpc_enc_bool(&b, result);
	cp_rpc_query_response(env.f.rpc, env.f.query_handle, from,
			      (const uint8_t *)b.data, b.len);
	cp_rpc_buf_destroy(&b);
}

/* The command reached ops->query and nothing came back yet. */
static void
expect_waiting(const char *query)
{
	rpc_tc_pump(&env, &cli, 3);
	cr_assert_str_eq(env.f.last_query, query);
	cr_assert_neq(env.f.query_handle, 0);
	cr_assert_eq(cli.len, 0, "replied before the answers");
}

Test(rpc_keys, install_waits_for_every_member_then_succeeds)
{
	struct key_reply r;

	send_key("install-key", KEY_B64);
	expect_waiting("_serf_install-key");
	answer("alpha", true, "", NULL, NULL);
	rpc_tc_pump(&env, &cli, 2);
	cr_assert_eq(cli.len, 0, "replied with 1 of 2 answers");
	answer("d", true, "", NULL, NULL);
	expect_key_reply("", &r);
	cr_assert_eq(r.nb_fields, 5);
	cr_assert_eq(r.nb_nodes, 2);
	cr_assert_eq(r.nb_resp, 2);
	cr_assert_eq(r.nb_err, 0);
	cr_assert_eq(r.nb_keys, 0);
	cr_assert_eq(r.nb_msgs, 0);
}

Test(rpc_keys, a_failing_node_makes_n_of_m_reported_failure)
{
	struct key_reply r;

	send_key("use-key", KEY_B64);
	expect_waiting("_serf_use-key");
	answer("alpha", false, "Requested key is not in the keyring", NULL,
	       NULL);
	answer("d", true, "", NULL, NULL);
	expect_key_reply("1/2 nodes reported failure", &r);
	cr_assert_eq(r.nb_err, 1);
	cr_assert_eq(r.nb_resp, 2);
	cr_assert_eq(r.nb_msgs, 1);
	cr_assert_str_eq(r.msg_from[0], "alpha");
	cr_assert_str_eq(r.msg[0], "Requested key is not in the keyring");
}

Test(rpc_keys, a_silent_node_makes_n_of_m_reported_success_at_done)
{
	struct key_reply r;

	send_key("remove-key", KEY_B64);
	expect_waiting("_serf_remove-key");
	answer("alpha", true, "", NULL, NULL);
	/* the fake's query ends 200 ms later: the reply comes with done */
	expect_key_reply("1/2 nodes reported success", &r);
	cr_assert_eq(r.nb_resp, 1);
	cr_assert_eq(r.nb_err, 0);
	cr_assert_eq(env.f.query_handle, 0);
}

Test(rpc_keys, list_counts_each_key_over_the_nodes)
{
	struct key_reply r;

	rpc_tc_send(&cli, "list-keys", NULL);
	expect_waiting("_serf_list-keys");
	answer("alpha", true, "", "k1==", "k2==");
	answer("d", true, "truncated key list response, showing first 1 of 2 keys",
	       "k1==", NULL);
	expect_key_reply("", &r);
	cr_assert_eq(r.nb_keys, 2);
	for (uint32_t i = 0; i < 2; i++) {
		if (strcmp(r.keys[i], "k1==") == 0)
			cr_assert_eq(r.key_n[i], 2);
		else
			cr_assert(strcmp(r.keys[i], "k2==") == 0 &&
				  r.key_n[i] == 1);
	}
	/* a note on success is passed on, not counted as a failure */
	cr_assert_eq(r.nb_err, 0);
	cr_assert_eq(r.nb_msgs, 1);
	cr_assert_str_eq(r.msg_from[0], "d");
}

Test(rpc_keys, bad_answers_are_failures_with_serfs_texts)
{
	static const uint8_t wrong_type[] = { 0x06, 0x80 };
	static const uint8_t cut[] = { 0x08, 0x84, 0xa4, 'K' };
	struct key_reply r;

	send_key("install-key", KEY_B64);
	expect_waiting("_serf_install-key");
	cp_rpc_query_response(env.f.rpc, env.f.query_handle, "alpha",
			      wrong_type, sizeof(wrong_type));
	cp_rpc_query_response(env.f.rpc, env.f.query_handle, "d", cut,
			      sizeof(cut));
	expect_key_reply("2/2 nodes reported failure", &r);
	cr_assert_eq(r.nb_err, 2);
	cr_assert_eq(r.nb_msgs, 2);
	for (uint32_t i = 0; i < 2; i++) {
		if (strcmp(r.msg_from[i], "alpha") == 0)
			cr_assert_str_eq(r.msg[i],
					 "Invalid key query response type");
		else
			cr_assert_str_eq(r.msg[i],
					 "Failed to decode key query response");
	}
}

Test(rpc_keys, acks_and_empty_answers_are_handled)
{
	struct key_reply r;

	send_key("install-key", KEY_B64);
	expect_waiting("_serf_install-key");
	cp_rpc_query_ack(env.f.rpc, env.f.query_handle, "alpha");
	rpc_tc_pump(&env, &cli, 2);
	cr_assert_eq(cli.len, 0, "an ack is no answer");
	cp_rpc_query_response(env.f.rpc, env.f.query_handle, "alpha", NULL, 0);
	answer("d", true, "", NULL, NULL);
	expect_key_reply("1/2 nodes reported failure", &r);
	cr_assert_str_eq(r.msg[0], "Invalid key query response type");
}

Test(rpc_keys, malformed_key_gets_gos_base64_error_and_no_query)
{
	static const struct {
		const char *key;
		const char *err;
	} t[] = {
		{ "not*base64", "illegal base64 data at input byte 3" },
		{ "QUJD=", "illegal base64 data at input byte 4" },
		{ "QQ", "illegal base64 data at input byte 0" },
		{ "QQ=", "illegal base64 data at input byte 3" },
		{ "QQ=x", "illegal base64 data at input byte 2" },
		{ "QUJ=x", "illegal base64 data at input byte 4" },
		{ "Q===", "illegal base64 data at input byte 1" },
	};
	struct key_reply r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		send_key("install-key", t[i].key);
		expect_key_reply(t[i].err, &r);
		cr_assert_eq(r.nb_fields, 5);
		cr_assert_eq(r.nb_nodes, 0);
	}
	cr_assert_str_eq(env.f.last_query, "");
}

Test(rpc_keys, a_huge_key_is_refused_locally)
{
	char big[800];
	struct key_reply r;

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	send_key("install-key", big);
	expect_key_reply("key size must be 16, 24 or 32 bytes", &r);
	cr_assert_str_eq(env.f.last_query, "");
}

Test(rpc_keys, a_query_that_cannot_start_fails_with_a_body)
{
	struct key_reply r;

	env.f.query_handle = 99;	/* the fake runs one query at a time */
	rpc_tc_send(&cli, "list-keys", NULL);
	expect_key_reply("fake: one query at a time", &r);
	cr_assert_eq(r.nb_fields, 5);
	env.f.query_handle = 0;
}

Test(rpc_keys, a_body_that_is_not_a_map_is_refused)
{
	struct cp_rpc_buf b;
	struct key_reply r;

	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_array(&b, 1);
	cp_rpc_enc_str(&b, KEY_B64);
	rpc_tc_send(&cli, "use-key", &b);
	cp_rpc_buf_destroy(&b);
	expect_key_reply("decode failed: invalid Key", &r);
}

Test(rpc_keys, requests_after_a_key_command_wait_their_turn)
{
	struct key_reply r;
	uint64_t seq;
	char err[64];

	send_key("install-key", KEY_B64);
	uint64_t key_seq = cli.seq;
	rpc_tc_send(&cli, "stats", NULL);	/* pipelined behind it */
	expect_waiting("_serf_install-key");
	answer("alpha", true, "", NULL, NULL);
	answer("d", true, "", NULL, NULL);
	cli.seq = key_seq;
	expect_key_reply("", &r);
	cr_assert_eq(rpc_tc_header(&env, &cli, &seq, err, sizeof(err)), 0);
	cr_assert_eq(seq, key_seq + 1);
}

Test(rpc_keys, a_client_gone_while_waiting_is_forgotten)
{
	send_key("install-key", KEY_B64);
	expect_waiting("_serf_install-key");
	rpc_tc_close(&cli);
	for (int i = 0; i < 3; i++)	/* the server sees EOF, reaps it */
		cp_rpc_poll(env.f.rpc, 1);
	answer("alpha", true, "", NULL, NULL);
	answer("d", true, "", NULL, NULL);
	cp_rpc_query_done(env.f.rpc, env.f.query_handle);
	struct cp_rpc_counters cnt;
	cp_rpc_get_counters(env.f.rpc, &cnt);
	cr_assert_eq(cnt.nb_clients, 0);
	rpc_tc_connect(&env, &cli);	/* teardown closes it */
	rpc_tc_handshake(&env, &cli);
}

Test(rpc_keys, a_key_of_a_wrong_size_is_for_the_nodes_to_refuse)
{
	/* 48 bytes: valid base64, not an AES key size; serf asks the
	 * cluster anyway and relays memberlist's refusal */
	static const char k48[] =
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v";
	struct key_reply r;

	send_key("install-key", k48);
	expect_waiting("_serf_install-key");
	answer("alpha", false, "key size must be 16, 24 or 32 bytes", NULL,
	       NULL);
	answer("d", false, "key size must be 16, 24 or 32 bytes", NULL, NULL);
	expect_key_reply("2/2 nodes reported failure", &r);
	cr_assert_eq(r.nb_msgs, 2);
	cr_assert_str_eq(r.msg[1], "key size must be 16, 24 or 32 bytes");
}
