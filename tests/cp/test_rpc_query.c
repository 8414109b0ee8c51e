/* SPDX-License-Identifier: MIT */
/*
 * cp_rpc queries: `query` (ack header, then ack/response/done records
 * under its Seq, byte-exact with the agent's capture), the "_serf_" prefix
 * rule, parameters handed to ops->query, and the other direction:
 * cp_rpc_publish_query to `stream` subscribers and `respond` by ID.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "rpc_tc_suite.h"

TestSuite(rpc_query, .init = setup_open, .fini = teardown, .timeout = 20);

/* query NAME [payload] with the CLI's full body. */
static void
query(const char *name, const char *payload, uint64_t timeout_ns,
      const char *want)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 512);
	cp_rpc_enc_map(&b, 7);
	cp_rpc_enc_str(&b, "FilterNodes");
	cp_rpc_enc_array(&b, 2);
	cp_rpc_enc_str(&b, "alpha");
	cp_rpc_enc_str(&b, "d");
	cp_rpc_enc_str(&b, "FilterTags");
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, "role");
	cp_rpc_enc_str(&b, "w.*");
	cp_rpc_enc_str(&b, "Name");
	cp_rpc_enc_str(&b, name);
	cp_rpc_enc_str(&b, "Payload");
	cp_rpc_enc_bin(&b, payload, payload ? (uint32_t)strlen(payload) : 0);
	cp_rpc_enc_str(&b, "RelayFactor");
	cp_rpc_enc_uint(&b, 2);
	cp_rpc_enc_str(&b, "RequestAck");
	cp_rpc_enc_bool(&b, true);
	cp_rpc_enc_str(&b, "Timeout");
	cp_rpc_enc_uint(&b, timeout_ns);
	rpc_tc_send(&cli, "query", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply_seq(cli.seq, want);
}

/* The next record for seq must be exactly these bytes. */
static void
expect_bytes(uint64_t seq, const char *want, size_t len)
{
	size_t vlen;
	expect_reply_seq(seq, "");
	cr_assert_eq(rpc_tc_value(&env, &cli, &vlen), 0);
	cr_assert_eq(vlen, len, "record is %zu bytes, want %zu", vlen, len);
	cr_assert_arr_eq(cli.in, want, len);
	rpc_tc_consume(&cli, vlen);
}

#define BYTES(s) s, sizeof(s) - 1

Test(rpc_query, ack_response_done_records_exact)
{
	query("echo", "hi", 1000000000ull, "");	/* the ack header */
	uint64_t qseq = cli.seq, h = env.f.query_handle;
	cr_assert_str_eq(env.f.last_query, "echo");
	cr_assert_eq(env.f.last_query_timeout_us, 1000000);
	cr_assert_eq(env.f.last_query_nodes, 2);
	cr_assert_eq(env.f.last_query_tags, 1);
	cr_assert_eq(env.f.last_relay, 2);
	/* serf-rpc.md 10.3: 83 a4'From' a1'a' a7'Payload' c0 a4'Type' a3'ack' */
	expect_bytes(qseq, BYTES("\x83\xa4" "From" "\xa5" "alpha" "\xa7"
				 "Payload" "\xc0\xa4" "Type" "\xa3" "ack"));
	expect_bytes(qseq, BYTES("\x83\xa4" "From" "\xa5" "alpha" "\xa7"
				 "Payload" "\xc4\x04" "pong" "\xa4" "Type"
				 "\xa8" "response"));
	expect_bytes(qseq, BYTES("\x83\xa4" "From" "\xa0\xa7" "Payload"
				 "\xc0\xa4" "Type" "\xa4" "done"));
	cp_rpc_query_ack(env.f.rpc, h, "late");	/* after done: dropped */
	rpc_tc_pump(&env, &cli, 5);
	cr_assert_eq(cli.len, 0);
}

Test(rpc_query, internal_prefix_rules)
{
	query("_serf_x", NULL, 0, "Queries cannot contain the '_serf_' prefix");
	query("_serf_ping", "p", 0,
	      "Queries cannot contain the '_serf_' prefix");
	query("_serf_ping", NULL, 0, "");	/* serf reachability's */
	cr_assert_str_eq(env.f.last_query, "_serf_ping");
}

Test(rpc_query, op_error_text_is_passed_on)
{
	query("q", NULL, 0, "");
	query("q", NULL, 0, "fake: one query at a time");
}

Test(rpc_query, done_for_a_gone_client_is_ignored)
{
	query("q", NULL, 0, "");
	uint64_t h = env.f.query_handle;
	close(cli.fd);
	cli.fd = -1;
	rpc_tc_pump(&env, NULL, 3);
	cp_rpc_query_ack(env.f.rpc, h, "x");
	cp_rpc_query_done(env.f.rpc, h);
	struct cp_rpc_counters c;
	cp_rpc_get_counters(env.f.rpc, &c);
	cr_assert_eq(c.nb_clients, 0);
}

static void
open_stream(const char *type)
{
	rpc_tc_send_str(&cli, "stream", "Type", type);
	expect_reply("");
}

static void
respond(uint64_t id, const char *want)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "ID");
	cp_rpc_enc_uint(&b, id);
	cp_rpc_enc_str(&b, "Payload");
	cp_rpc_enc_bin(&b, "answer", 6);
	rpc_tc_send(&cli, "respond", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply_seq(cli.seq, want);
}

Test(rpc_query, delivered_query_and_respond_by_id)
{
	open_stream("user,query:qq");
	uint64_t sseq = cli.seq;
	env.f.known_query = 77;
	cp_rpc_publish_query(env.f.rpc, 5, 1, "other", NULL, 0);  /* filtered */
	cp_rpc_publish_query(env.f.rpc, 77, 8, "qq",
			     (const uint8_t *)"hi", 2);
	/* serf-rpc.md 11: {Event:"query",ID:1,LTime:8,Name:"qq",Payload:"hi"} */
	expect_bytes(sseq, BYTES("\x85\xa5" "Event" "\xa5" "query" "\xa2" "ID"
				 "\x01\xa5" "LTime" "\x08\xa4" "Name" "\xa2"
				 "qq" "\xa7" "Payload" "\xc4\x02" "hi"));
	respond(1, "");
	cr_assert_eq(env.f.nb_responds, 1);
	cr_assert_eq(env.f.respond_len, 6);
	respond(1, "failed to respond to key query: response already sent");
	respond(99, "No pending queries matching ID");
	respond(0, "No pending queries matching ID");
}

Test(rpc_query, ids_are_per_connection_and_ring_bounded)
{
	open_stream("query");
	uint64_t sseq = cli.seq;
	for (int i = 0; i < 70; i++)	/* more than CP_RPC_QUERY_IDS */
		cp_rpc_publish_query(env.f.rpc, 100 + (uint64_t)i, 1, "q",
				     NULL, 0);
	size_t len;
	for (int i = 0; i < 70; i++) {
		expect_reply_seq(sseq, "");
		cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
		rpc_tc_consume(&cli, len);
	}
	env.f.known_query = 100;	/* ID 1: pushed out of the ring */
	respond(1, "No pending queries matching ID");
	env.f.known_query = 169;	/* ID 70: still known */
	respond(70, "");
}

Test(rpc_query, no_query_op_means_a_clear_error)
{
	teardown();
	struct cp_rpc_cfg cfg;
	char err[128];
	cp_rpc_cfg_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	rpc_fake_init(&env.f, 7946, false);
	env.f.rpc = cp_rpc_new(&cfg, err, sizeof(err));	/* no ops */
	cr_assert_not_null(env.f.rpc);
	rpc_tc_connect(&env, &cli);
	rpc_tc_handshake(&env, &cli);
	query("q", NULL, 0, "queries are not supported by gossipd");
	respond(1, "No pending queries matching ID");
}
