/* SPDX-License-Identifier: MIT */
/*
 * cp_rpc over loopback with the fake control plane: the handshake gate,
 * byte-exact replies against serf-rpc.md's capture, members filters, join /
 * leave (sync and async), force-leave, tags, stats, event and the stubs.
 * Limits, auth and streams are in test_rpc_limits.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <msgpuck.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rpc_tc_suite.h"

static void
setup(void)
{
	rpc_tc_env_start(&env, NULL, false);
	rpc_tc_connect(&env, &cli);
}

static void
setup_capture(void)
{
	rpc_tc_env_start(&env, NULL, true);
	rpc_tc_connect(&env, &cli);
}

TestSuite(rpc, .init = setup, .fini = teardown, .timeout = 20);

static void
hex_to_bytes(const char *hex, char *out, size_t *len)
{
	size_t n = 0;
	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (char)v;
	}
	*len = n;
}

/* Byte-exact against serf-rpc.md 10.1 (the real agent's capture). */
Test(rpc, capture_members_bytes_exact)
{
	teardown();	/* the suite's init already ran: swap the member set */
	setup_capture();
	char req[256], want[512];
	size_t rl, wl, len;
	hex_to_bytes("82a7436f6d6d616e64a968616e647368616b65a35365710181a75665"
		     "7273696f6e01", req, &rl);
	rpc_tc_send_raw(&cli, req, rl);
	hex_to_bytes("82a54572726f72a0a353657101", want, &wl);
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq(len, wl);
	cr_assert_arr_eq(cli.in, want, wl);
	rpc_tc_consume(&cli, len);
	hex_to_bytes("82a7436f6d6d616e64b06d656d626572732d66696c7465726564a353"
		     "65710283a44e616d65a0a6537461747573a0a45461677380", req, &rl);
	rpc_tc_send_raw(&cli, req, rl);
	hex_to_bytes("82a54572726f72a0a35365710281a74d656d62657273918ba4416464"
		     "72c4047f000001ab44656c656761746543757205ab44656c6567617465"
		     "4d617805ab44656c65676174654d696e02a44e616d65a161a4506f7274"
		     "cd1f0aab50726f746f636f6c43757202ab50726f746f636f6c4d617805"
		     "ab50726f746f636f6c4d696e01a6537461747573a5616c697665a45461"
		     "677380", want, &wl);
	rpc_tc_pump(&env, &cli, 20);
	cr_assert_eq(cli.len, wl, "reply is %zu bytes, want %zu", cli.len, wl);
	cr_assert_arr_eq(cli.in, want, wl);
}

Test(rpc, handshake_required_then_closed)
{
	rpc_tc_send(&cli, "members", NULL);
	expect_reply("Handshake required");
	cr_assert(rpc_tc_closed(&env, &cli));
}

Test(rpc, auth_before_handshake_is_refused)
{
	rpc_tc_send_str(&cli, "auth", "AuthKey", "x");
	expect_reply("Handshake required");
	cr_assert(rpc_tc_closed(&env, &cli));
}

Test(rpc, lowercase_keys_mean_no_command)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "command");
	cp_rpc_enc_str(&b, "handshake");
	cp_rpc_enc_str(&b, "seq");
	cp_rpc_enc_uint(&b, 1);
	rpc_tc_send_raw(&cli, b.data, b.len);
	cp_rpc_buf_destroy(&b);
	uint64_t seq;
	char err[64];
	cr_assert_eq(rpc_tc_header(&env, &cli, &seq, err, sizeof(err)), 0);
	cr_assert_eq(seq, 0);
	cr_assert_str_eq(err, "Handshake required");
	cr_assert(rpc_tc_closed(&env, &cli));
}

Test(rpc, handshake_version_and_duplicate)
{
	rpc_tc_send_uint(&cli, "handshake", "Version", 2);
	expect_reply("Unsupported IPC version");
	rpc_tc_send_uint(&cli, "handshake", "Version", 1);
	expect_reply("");
	rpc_tc_send_uint(&cli, "handshake", "Version", 1);
	expect_reply("Handshake already performed");
	rpc_tc_send(&cli, "stats", NULL);
	expect_reply("");	/* still open and usable */
}

Test(rpc, handshake_fragmented_byte_by_byte)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_request(&b, "handshake", 7);
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, "Version");
	cp_rpc_enc_raw(&b, "\xd2\x00\x00\x00\x01", 5);	/* int32 form */
	for (size_t i = 0; i < b.len; i++) {
		rpc_tc_send_raw(&cli, b.data + i, 1);
		rpc_tc_pump(&env, &cli, 1);
	}
	cp_rpc_buf_destroy(&b);
	cli.seq = 7;
	expect_reply("");
}

Test(rpc, unknown_command_closes)
{
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send(&cli, "bogus", NULL);
	expect_reply("Unsupported command");
	cr_assert(rpc_tc_closed(&env, &cli));
}

Test(rpc, plain_members_lists_all)
{
	struct rpc_tc_member m[8];
	size_t len;
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send(&cli, "members", NULL);
	expect_reply("");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq(rpc_tc_members(&cli, len, m, 8), 4);
	cr_assert_str_eq(m[0].name, "alpha");
	cr_assert_str_eq(m[1].status, "failed");
	cr_assert_eq(m[2].addr_len, 16);	/* ::1 */
	cr_assert_eq(m[0].addr_len, 4);
	cr_assert_eq(m[0].nb_keys, 11);
	cr_assert(!m[0].has_inc);
	cr_assert_eq(m[3].port, 7949);
}

/* members-filtered with optional filters and the Incarnation extension. */
static int
filtered(const char *name, const char *status, const char *tk,
	 const char *tv, int inc, struct rpc_tc_member *m)
{
	struct cp_rpc_buf b;
	size_t len;
	cp_rpc_buf_create(&b, 1024);
	cp_rpc_enc_map(&b, inc >= 0 ? 4 : 3);
	cp_rpc_enc_str(&b, "Name");
	cp_rpc_enc_str(&b, name);
	cp_rpc_enc_str(&b, "Status");
	cp_rpc_enc_str(&b, status);
	cp_rpc_enc_str(&b, "Tags");
	cp_rpc_enc_map(&b, tk != NULL);
	if (tk != NULL) {
		cp_rpc_enc_str(&b, tk);
		cp_rpc_enc_str(&b, tv);
	}
	if (inc >= 0) {
		cp_rpc_enc_str(&b, "Incarnation");
		cp_rpc_enc_bool(&b, inc);
	}
	rpc_tc_send(&cli, "members-filtered", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply("");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	int n = rpc_tc_members(&cli, len, m, 8);
	rpc_tc_consume(&cli, len);
	return n;
}

Test(rpc, members_filtered_filters)
{
	struct rpc_tc_member m[8];
	rpc_tc_handshake(&env, &cli);
	cr_assert_eq(filtered("", "", NULL, NULL, -1, m), 4);
	cr_assert_eq(filtered("", "alive", NULL, NULL, -1, m), 1);
	cr_assert_str_eq(m[0].name, "alpha");
	cr_assert_eq(filtered("", "left|failed", NULL, NULL, -1, m), 2);
	cr_assert_eq(filtered("b-.*", "", NULL, NULL, -1, m), 1);
	cr_assert_eq(filtered("b", "", NULL, NULL, -1, m), 0); /* anchored */
	cr_assert_eq(filtered("", "", "role", "web", -1, m), 1);
	cr_assert_eq(filtered("", "", "role", ".*", -1, m), 4); /* "" too */
	cr_assert_eq(filtered("", "", "role", "", -1, m), 3);
	cr_assert_eq(filtered("", "alive", "role", "db", -1, m), 0);
}

Test(rpc, members_incarnation_extension)
{
	struct rpc_tc_member m[8];
	rpc_tc_handshake(&env, &cli);
	cr_assert_eq(filtered("", "", NULL, NULL, 1, m), 4);
	cr_assert_eq(m[0].nb_keys, 12);
	cr_assert(m[1].has_inc);
	cr_assert_eq(m[1].inc, 7);
	cr_assert_eq(filtered("", "", NULL, NULL, 0, m), 4);
	cr_assert_eq(m[0].nb_keys, 11);
	cr_assert(!m[0].has_inc);
}

Test(rpc, members_filtered_bad_regex_closes_silently)
{
	struct rpc_tc_member m[8];
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send_str(&cli, "members-filtered", "Status", "(");
	cr_assert(rpc_tc_closed(&env, &cli));	/* no reply at all */
	(void)m;
}

Test(rpc, members_filtered_empty_body_map)
{
	struct rpc_tc_member m[8];
	size_t len;
	rpc_tc_handshake(&env, &cli);
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_map(&b, 0);
	rpc_tc_send(&cli, "members-filtered", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply("");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq(rpc_tc_members(&cli, len, m, 8), 4);
}

/* join body; returns Num after checking the Error. */
static uint64_t
join(const char *const *addrs, int n, const char *want_err)
{
	struct cp_rpc_buf b;
	size_t len;
	cp_rpc_buf_create(&b, 1024);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "Existing");
	cp_rpc_enc_array(&b, (uint32_t)n);
	for (int i = 0; i < n; i++)
		cp_rpc_enc_str(&b, addrs[i]);
	cp_rpc_enc_str(&b, "Replay");
	cp_rpc_enc_bool(&b, true);
	rpc_tc_send(&cli, "join", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply(want_err);
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	const char *p = cli.in, *k;
	uint32_t m, kl;
	uint64_t num;
	cr_assert_eq(cp_rpc_dec_map(&p, cli.in + len, &m), 0);
	cr_assert_eq(m, 1);
	cr_assert_eq(cp_rpc_dec_strn(&p, cli.in + len, &k, &kl), 0);
	cr_assert(cp_rpc_key_is(k, kl, "Num"));
	cr_assert_eq(cp_rpc_dec_uint(&p, cli.in + len, UINT32_MAX, &num), 0);
	rpc_tc_consume(&cli, len);
	return num;
}

Test(rpc, join_sync_ok_and_error_with_body)
{
	const char *ok[] = { "127.0.0.1:7000", "127.0.0.2:7000" };
	const char *bad[] = { "127.0.0.1:1", "127.0.0.1:7000" };
	rpc_tc_handshake(&env, &cli);
	cr_assert_eq(join(ok, 2, ""), 2);
	cr_assert(env.f.last_replay);
	cr_assert_eq(join(bad, 2, "1 error occurred:\n\t* Failed to join "
			  "127.0.0.1: dial tcp 127.0.0.1:1: connect: "
			  "connection refused\n\n"), 1);
}

/* join {Existing: [an address ending in ":2"]}: the fake completes it
 * 50 fake ms later. */
static void
send_slow_join(void)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 1024);
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, "Existing");
	cp_rpc_enc_array(&b, 1);
	cp_rpc_enc_str(&b, "127.0.0.1:2");
	rpc_tc_send(&cli, "join", &b);
	cp_rpc_buf_destroy(&b);
}

Test(rpc, join_async_completes_later_and_serialises)
{
	rpc_tc_handshake(&env, &cli);
	/* a stats request queued behind the pending join waits for it */
	send_slow_join();
	rpc_tc_send(&cli, "stats", NULL);
	rpc_tc_pump(&env, &cli, 3);	/* 15 fake ms: not due yet */
	cr_assert_eq(cli.len, 0, "no reply before the join completes");
	cr_assert_neq(env.f.join_id, 0);
	uint64_t seq;
	char err[64];
	size_t len;
	cr_assert_eq(rpc_tc_header(&env, &cli, &seq, err, sizeof(err)), 0);
	cr_assert_eq(seq, 2);
	cr_assert_str_eq(err, "");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);	/* {Num} */
	rpc_tc_consume(&cli, len);
	expect_reply("");	/* then stats, Seq 3 */
}

Test(rpc, complete_unknown_request_is_enoent)
{
	cr_assert_eq(cp_rpc_complete_join(env.f.rpc, 999, 0, NULL), -ENOENT);
	cr_assert_eq(cp_rpc_complete_leave(env.f.rpc, 999, NULL), -ENOENT);
}

Test(rpc, pending_join_of_closed_client_is_dropped)
{
	rpc_tc_handshake(&env, &cli);
	send_slow_join();
	rpc_tc_pump(&env, &cli, 2);
	uint64_t id = env.f.join_id;
	cr_assert_neq(id, 0);
	env.f.join_id = 0;	/* complete it by hand below */
	close(cli.fd);
	cli.fd = -1;
	rpc_tc_pump(&env, NULL, 5);
	/* kept for a half-closed peer; the late reply then fails quietly */
	cr_assert_eq(cp_rpc_complete_join(env.f.rpc, id, 1, NULL), 0);
	rpc_tc_pump(&env, NULL, 5);
	cr_assert_eq(cp_rpc_complete_join(env.f.rpc, id, 1, NULL), -ENOENT);
	struct cp_rpc_counters cnt;
	cp_rpc_get_counters(env.f.rpc, &cnt);
	cr_assert_eq(cnt.nb_clients, 0);
}

Test(rpc, leave_async_then_already_in_progress)
{
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send(&cli, "leave", NULL);
	expect_reply("");
	cr_assert(env.f.has_left);
	rpc_tc_send(&cli, "leave", NULL);
	expect_reply("Leave already in progress");
}

Test(rpc, force_leave_passes_node_and_prune)
{
	rpc_tc_handshake(&env, &cli);
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "Node");
	cp_rpc_enc_str(&b, "b-longer-name");
	cp_rpc_enc_str(&b, "Prune");
	cp_rpc_enc_raw(&b, "\x01", 1);	/* int 1 as bool, as Go accepts */
	rpc_tc_send(&cli, "force-leave", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply("");
	cr_assert_str_eq(env.f.last_force, "b-longer-name");
	cr_assert(env.f.last_prune);
	cr_assert_eq(env.f.nb_nodes, 3);
}

Test(rpc, force_leave_name_with_nul_closes)
{
	rpc_tc_handshake(&env, &cli);
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, "Node");
	cp_rpc_enc_strn(&b, "a\0b", 3);
	rpc_tc_send(&cli, "force-leave", &b);
	cp_rpc_buf_destroy(&b);
	cr_assert(rpc_tc_closed(&env, &cli));
	struct cp_rpc_counters cnt;
	cp_rpc_get_counters(env.f.rpc, &cnt);
	cr_assert_eq(cnt.bad_input, 1);
}

Test(rpc, tags_delete_then_set)
{
	rpc_tc_handshake(&env, &cli);
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 128);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "DeleteTags");
	cp_rpc_enc_array(&b, 2);
	cp_rpc_enc_str(&b, "role");
	cp_rpc_enc_str(&b, "x");
	cp_rpc_enc_str(&b, "Tags");
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, "x");
	cp_rpc_enc_str(&b, "1");
	rpc_tc_send(&cli, "tags", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply("");
	cr_assert_eq(env.f.node[0].m.nb_tags, 1);	/* set wins */
	cr_assert_str_eq(env.f.node[0].k[0], "x");
}

Test(rpc, tags_wrong_type_closes)
{
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send_uint(&cli, "tags", "Tags", 5);
	cr_assert(rpc_tc_closed(&env, &cli));
}

Test(rpc, stats_two_level_string_map)
{
	size_t len;
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send(&cli, "stats", NULL);
	expect_reply("");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	const char *p = cli.in, *end = cli.in + len, *k;
	uint32_t n, kl, m;
	bool saw_agent = false, saw_empty = false;
	cr_assert_eq(cp_rpc_dec_map(&p, end, &n), 0);
	cr_assert_eq(n, 5);	/* agent runtime serf tags event_handlers */
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(cp_rpc_dec_strn(&p, end, &k, &kl), 0);
		cr_assert_eq(cp_rpc_dec_map(&p, end, &m), 0);
		saw_agent |= cp_rpc_key_is(k, kl, "agent") && m == 1;
		saw_empty |= cp_rpc_key_is(k, kl, "event_handlers") && m == 0;
		for (uint32_t j = 0; j < 2 * m; j++) {
			cr_assert_eq(mp_typeof(*p), MP_STR);
			cp_rpc_dec_skip(&p, end);
		}
	}
	cr_assert(saw_agent && saw_empty);
	cr_assert_eq(p, end);
}

Test(rpc, event_limit_and_ok)
{
	rpc_tc_handshake(&env, &cli);
	char big[600];
	memset(big, 'x', sizeof(big));
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 2048);
	cp_rpc_enc_map(&b, 3);
	cp_rpc_enc_str(&b, "Coalesce");
	cp_rpc_enc_bool(&b, true);
	cp_rpc_enc_str(&b, "Name");
	cp_rpc_enc_str(&b, "deploy");
	cp_rpc_enc_str(&b, "Payload");
	cp_rpc_enc_bin(&b, big, sizeof(big));
	rpc_tc_send(&cli, "event", &b);
	expect_reply("user event exceeds configured limit of 512 bytes "
		     "before encoding");
	b.len = 0;
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "Name");
	cp_rpc_enc_str(&b, "deploy");
	cp_rpc_enc_str(&b, "Payload");
	cp_rpc_enc_str(&b, "hi");	/* str for bytes: accepted */
	rpc_tc_send(&cli, "event", &b);
	cp_rpc_buf_destroy(&b);
	expect_reply("");
	cr_assert_str_eq(env.f.last_event, "deploy");
	cr_assert_eq(env.f.last_event_len, 2);
	cr_assert(!env.f.last_coalesce);
}

Test(rpc, stubs_send_their_bodies)
{
	size_t len;
	rpc_tc_handshake(&env, &cli);
	/* the key commands: test_rpc_keys.c */
	rpc_tc_send_str(&cli, "get-coordinate", "Node", "alpha");
	expect_reply("");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq((uint8_t)cli.in[0], 0x82);
	rpc_tc_consume(&cli, len);
	rpc_tc_pump(&env, &cli, 5);
	cr_assert_eq(cli.len, 0, "no stray bytes");
}

Test(rpc, null_ops_answer_errors_not_crashes)
{
	rpc_tc_close(&cli);
	rpc_tc_env_stop(&env);
	struct cp_rpc_cfg cfg;
	cp_rpc_cfg_default(&cfg);
	rpc_tc_env_start(&env, &cfg, false);
	struct cp_rpc *rpc = env.f.rpc;
	/* rebuild the server with an empty ops table */
	cp_rpc_delete(rpc);
	cfg.bind = "127.0.0.1:0";
	char err[128];
	env.f.rpc = cp_rpc_new(&cfg, err, sizeof(err));
	cr_assert_not_null(env.f.rpc);
	rpc_tc_connect(&env, &cli);
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send(&cli, "leave", NULL);
	expect_reply("leave is not available");
	struct rpc_tc_member m[8];
	size_t len;
	rpc_tc_send(&cli, "members", NULL);
	expect_reply("");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq(rpc_tc_members(&cli, len, m, 8), 0);
}

Test(rpc, bad_bind_address_is_refused)
{
	struct cp_rpc_cfg cfg;
	char err[128];
	cp_rpc_cfg_default(&cfg);
	cfg.bind = "nonsense";
	cr_assert_null(cp_rpc_new(&cfg, err, sizeof(err)));
	cr_assert_str_eq(err, "rpc: bad bind address 'nonsense'");
	cfg.bind = "127.0.0.1:99999";
	cr_assert_null(cp_rpc_new(&cfg, err, sizeof(err)));
	cfg.bind = "[nonsense]:7373";
	cr_assert_null(cp_rpc_new(&cfg, err, sizeof(err)));
	cr_assert_str_eq(err, "rpc: bad bind address '[nonsense]:7373'");
	cfg.bind = "localhost:0";
	struct cp_rpc *l = cp_rpc_new(&cfg, err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	cp_rpc_delete(l);
	cfg.bind = "[::1]:0";
	struct cp_rpc *r = cp_rpc_new(&cfg, err, sizeof(err));
	if (r != NULL)	/* IPv6 may be off in this sandbox */
		cr_assert_neq(cp_rpc_port(r), 0);
	cp_rpc_delete(r);
}

static void
get_coordinate(const char *node)
{
	rpc_tc_send_str(&cli, "get-coordinate", "Node", node);
	expect_reply("");
}

Test(rpc, get_coordinate_bytes_exact_and_unknown)
{
	/* serf-rpc.md 10.3: the agent's reply for its own node */
	struct cp_rpc_buf w;
	size_t len;
	cp_rpc_buf_create(&w, 512);
	cp_rpc_enc_raw(&w, "\x82\xa5" "Coord" "\x84\xaa" "Adjustment", 19);
	cp_rpc_enc_double(&w, 0.0);
	cp_rpc_enc_str(&w, "Error");
	cp_rpc_enc_double(&w, 1.5);
	cp_rpc_enc_str(&w, "Height");
	cp_rpc_enc_double(&w, 1e-05);
	cp_rpc_enc_str(&w, "Vec");
	cp_rpc_enc_raw(&w, "\x98", 1);
	for (int i = 0; i < 8; i++)
		cp_rpc_enc_double(&w, 0.0);
	cp_rpc_enc_raw(&w, "\xa2" "Ok" "\xc3", 4);
	rpc_tc_handshake(&env, &cli);
	get_coordinate("alpha");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq(len, w.len);
	cr_assert_arr_eq(cli.in, w.data, len);
	rpc_tc_consume(&cli, len);
	cp_rpc_buf_destroy(&w);
	get_coordinate("nosuch");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq((uint8_t)cli.in[len - 1], 0xc2, "Ok false");
	cr_assert_arr_eq(cli.in + len - 9, "\xa3" "Vec" "\xc0\xa2" "Ok", 8);
}
