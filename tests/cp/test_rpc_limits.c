/* SPDX-License-Identifier: MIT */
/*
 * cp_rpc limits, auth and streaming: client cap, input and output caps,
 * malformed msgpack, the auth gate (body skipped), stream filters and
 * record framing, monitor levels, stop.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rpc_tc_suite.h"

/* Start with the defaults changed by one callback-free tweak. */
static void
start(uint32_t max_clients, uint32_t max_in, uint32_t max_out,
      const char *auth)
{
	struct cp_rpc_cfg cfg;
	cp_rpc_cfg_default(&cfg);
	cfg.max_clients = max_clients;
	cfg.max_in_bytes = max_in;
	cfg.max_out_bytes = max_out;
	cfg.auth_key = auth;
	rpc_tc_env_start(&env, &cfg, false);
	rpc_tc_connect(&env, &cli);
}

static void
setup(void)
{
	start(64, 64 * 1024, 16 << 20, NULL);
}

TestSuite(rpc_limits, .init = setup, .fini = teardown, .timeout = 20);

static struct cp_rpc_counters
counters(void)
{
	struct cp_rpc_counters c;
	cp_rpc_get_counters(env.f.rpc, &c);
	return c;
}

Test(rpc_limits, client_cap_closes_extra_connection)
{
	teardown();
	start(1, 64 * 1024, 16 << 20, NULL);
	struct rpc_tc second;
	rpc_tc_pump(&env, &cli, 2);
	rpc_tc_connect(&env, &second);
	cr_assert(rpc_tc_closed(&env, &second));
	rpc_tc_close(&second);
	cr_assert_eq(counters().refused_full, 1);
	cr_assert_eq(counters().nb_clients, 1);
	rpc_tc_handshake(&env, &cli);	/* the first one still works */
}

Test(rpc_limits, oversized_request_closes)
{
	teardown();
	start(64, 1024, 16 << 20, NULL);
	rpc_tc_handshake(&env, &cli);
	char big[4096];
	memset(big, 'n', sizeof(big));
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 8192);
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, "Node");
	cp_rpc_enc_strn(&b, big, sizeof(big));
	rpc_tc_send(&cli, "force-leave", &b);
	cp_rpc_buf_destroy(&b);
	cr_assert(rpc_tc_closed(&env, &cli));
	cr_assert_eq(counters().overflow, 1);
}

Test(rpc_limits, never_valid_byte_closes)
{
	rpc_tc_send_raw(&cli, "\xc1", 1);
	cr_assert(rpc_tc_closed(&env, &cli));
	cr_assert_eq(counters().bad_input, 1);
}

Test(rpc_limits, header_not_a_map_closes)
{
	rpc_tc_send_raw(&cli, "\x93\x01\x02\x03", 4);
	cr_assert(rpc_tc_closed(&env, &cli));
	cr_assert_eq(counters().bad_input, 1);
}

Test(rpc_limits, negative_seq_closes)
{
	rpc_tc_send_raw(&cli, "\x82\xa7" "Command" "\xa9" "handshake"
			"\xa3" "Seq" "\xff", 24);
	cr_assert(rpc_tc_closed(&env, &cli));
	cr_assert_eq(counters().bad_input, 1);
}

Test(rpc_limits, huge_declared_array_waits_then_overflows)
{
	teardown();
	start(64, 256, 16 << 20, NULL);
	/* array32 of 2^32-1 elements: a prefix, never decodable in 256 B */
	rpc_tc_send_raw(&cli, "\xdd\xff\xff\xff\xff", 5);
	rpc_tc_pump(&env, &cli, 5);
	cr_assert(!cli.is_eof, "a prefix alone is not an error");
	char zeros[300] = { 0 };
	rpc_tc_send_raw(&cli, zeros, sizeof(zeros));
	cr_assert(rpc_tc_closed(&env, &cli));
	cr_assert_eq(counters().overflow, 1);
}

Test(rpc_limits, unread_output_backlog_drops_client)
{
	teardown();
	start(64, 64 * 1024, 4096, NULL);
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send_str(&cli, "stream", "Type", "user");
	expect_reply("");
	/* the client never reads: fill the socket, then our backlog */
	char payload[400] = { 0 };
	for (int i = 0; i < 20000 && counters().nb_clients == 1; i++) {
		cp_rpc_publish_user_event(env.f.rpc, (uint64_t)i, "ev",
					  (const uint8_t *)payload,
					  sizeof(payload), false);
	}
	cr_assert_eq(counters().nb_clients, 0);
	cr_assert_eq(counters().overflow, 1);
}

Test(rpc_limits, auth_required_skips_body)
{
	teardown();
	start(64, 64 * 1024, 16 << 20, "s3cret");
	rpc_tc_handshake(&env, &cli);
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 128);
	cp_rpc_enc_map(&b, 3);
	cp_rpc_enc_str(&b, "Name");
	cp_rpc_enc_str(&b, "");
	cp_rpc_enc_str(&b, "Status");
	cp_rpc_enc_str(&b, "");
	cp_rpc_enc_str(&b, "Tags");
	cp_rpc_enc_map(&b, 0);
	rpc_tc_send(&cli, "members-filtered", &b);
	expect_reply("Authentication required");
	cp_rpc_buf_destroy(&b);
	rpc_tc_send_str(&cli, "auth", "AuthKey", "wrong");
	expect_reply("Invalid authentication token");
	rpc_tc_send_str(&cli, "auth", "AuthKey", "s3cret");
	expect_reply("");
	rpc_tc_send(&cli, "stats", NULL);
	expect_reply("");
}

Test(rpc_limits, unknown_command_before_auth_closes)
{
	teardown();
	start(64, 64 * 1024, 16 << 20, "k");
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send(&cli, "bogus", NULL);
	expect_reply("Authentication required");
	cr_assert(rpc_tc_closed(&env, &cli));
}

Test(rpc_limits, auth_without_key_configured)
{
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send_str(&cli, "auth", "AuthKey", "x");
	expect_reply("Invalid authentication token");
}

static void
open_stream(const char *type, const char *want)
{
	rpc_tc_send_str(&cli, "stream", "Type", type);
	expect_reply(want);
}

static void
stop(uint64_t seq)
{
	rpc_tc_send_uint(&cli, "stop", "Stop", seq);
	expect_reply("");
}

/* The next record: header for seq, then a map whose first key is want. */
static void
expect_record(uint64_t seq, uint32_t nb_keys, const char *event)
{
	size_t len;
	expect_reply_seq(seq, "");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	const char *p = cli.in, *end = cli.in + len, *k, *s;
	uint32_t n, kl, sl;
	cr_assert_eq(cp_rpc_dec_map(&p, end, &n), 0);
	cr_assert_eq(n, nb_keys);
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(cp_rpc_dec_strn(&p, end, &k, &kl), 0);
		if (cp_rpc_key_is(k, kl, "Event")) {
			cr_assert_eq(cp_rpc_dec_strn(&p, end, &s, &sl), 0);
			cr_assert_eq(sl, strlen(event));
			cr_assert_arr_eq(s, event, sl);
		} else {
			cp_rpc_dec_skip(&p, end);
		}
	}
	rpc_tc_consume(&cli, len);
}

Test(rpc_limits, stream_filter_validation)
{
	rpc_tc_handshake(&env, &cli);
	open_stream("member-join,nope", "Invalid event filter");
	open_stream("member-join,user:deploy,query:q,*", "");
	cli.seq--;	/* reuse the same Seq */
	open_stream("user", "Stream with given sequence exists");
}

Test(rpc_limits, stream_records_follow_ack_and_stop)
{
	rpc_tc_handshake(&env, &cli);
	open_stream("user:deploy,member-update", "");
	uint64_t sseq = cli.seq;
	cp_rpc_publish_user_event(env.f.rpc, 1, "other", NULL, 0, true);
	cp_rpc_publish_user_event(env.f.rpc, 2, "deploy",
				  (const uint8_t *)"p1", 2, true);
	cp_rpc_publish_members(env.f.rpc, CP_RPC_EVENT_MEMBER_JOIN,
			       &env.f.node[1].m, 1);
	cp_rpc_publish_members(env.f.rpc, CP_RPC_EVENT_MEMBER_UPDATE,
			       &env.f.node[1].m, 1);
	expect_record(sseq, 5, "user");
	expect_record(sseq, 2, "member-update");
	stop(sseq);
	cp_rpc_publish_user_event(env.f.rpc, 3, "deploy", NULL, 0, true);
	rpc_tc_pump(&env, &cli, 5);
	cr_assert_eq(cli.len, 0, "nothing after stop");
}

Test(rpc_limits, stream_user_event_bytes_exact)
{
	/* serf-rpc.md 7.1: 85 a8'Coalesce' c3 a5'Event' a4'user' ... */
	static const char want[] =
		"\x85\xa8" "Coalesce" "\xc3\xa5" "Event" "\xa4" "user"
		"\xa5" "LTime" "\x03\xa4" "Name" "\xa5" "evmon"
		"\xa7" "Payload" "\xc4\x02" "p1";
	size_t len;
	rpc_tc_handshake(&env, &cli);
	open_stream("*", "");
	cp_rpc_publish_user_event(env.f.rpc, 3, "evmon",
				  (const uint8_t *)"p1", 2, true);
	expect_reply("");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq(len, sizeof(want) - 1);
	cr_assert_arr_eq(cli.in, want, len);
}

Test(rpc_limits, event_command_reaches_stream)
{
	rpc_tc_handshake(&env, &cli);
	open_stream("", "");	/* "" means "*" */
	uint64_t sseq = cli.seq;
	rpc_tc_send_str(&cli, "event", "Name", "e");
	expect_record(sseq, 5, "user");	/* published inside the op */
	expect_reply("");
}

Test(rpc_limits, stream_cap_per_connection)
{
	rpc_tc_handshake(&env, &cli);
	for (int i = 0; i < 4; i++)
		open_stream("*", "");
	open_stream("*", "too many streams on this connection");
}

static void
monitor(const char *level, const char *want)
{
	rpc_tc_send_str(&cli, "monitor", "LogLevel", level);
	expect_reply(want);
}

Test(rpc_limits, monitor_levels_and_filtering)
{
	size_t len;
	rpc_tc_handshake(&env, &cli);
	monitor("bogus", "Unknown log level: BOGUS");
	monitor("warn", "");
	uint64_t mseq = cli.seq;
	monitor("info", "Monitor already exists");
	cp_rpc_publish_log(env.f.rpc, "t [DEBUG] hidden");
	cp_rpc_publish_log(env.f.rpc, "t [ERR] shown");
	cp_rpc_publish_log(env.f.rpc, "no level at all");
	expect_reply_seq(mseq, "");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	cr_assert_eq(len, 5 + 1 + 13);	/* 81 a3'Log' ad"t [ERR] shown" */
	cr_assert_arr_eq(cli.in + 6, "t [ERR] shown", 13);
	rpc_tc_consume(&cli, len);
	expect_reply_seq(mseq, "");
	cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
	rpc_tc_consume(&cli, len);
	stop(mseq);
	cp_rpc_publish_log(env.f.rpc, "t [ERR] after stop");
	rpc_tc_pump(&env, &cli, 5);
	cr_assert_eq(cli.len, 0);
}

Test(rpc_limits, stop_unknown_is_ok)
{
	rpc_tc_handshake(&env, &cli);
	stop(12345);
}

Test(rpc_limits, publish_with_no_clients_is_cheap_noop)
{
	cp_rpc_publish_log(env.f.rpc, "[INFO] x");
	cp_rpc_publish_user_event(env.f.rpc, 1, "n", NULL, 0, false);
	cp_rpc_publish_members(env.f.rpc, CP_RPC_EVENT_COUNT, NULL, 0);
	cr_assert_eq(counters().overflow, 0);
}

/* Count {Log} records queued for seq, checking the first one's text. */
static int
count_logs(uint64_t seq, const char *first)
{
	int n = 0;
	size_t len;
	rpc_tc_pump(&env, &cli, 20);
	while (cli.len > 0) {
		expect_reply_seq(seq, "");
		cr_assert_eq(rpc_tc_value(&env, &cli, &len), 0);
		const char *p = cli.in, *end = cli.in + len, *k, *s;
		uint32_t m, kl, sl;
		cr_assert_eq(cp_rpc_dec_map(&p, end, &m), 0);
		cr_assert_eq(cp_rpc_dec_strn(&p, end, &k, &kl), 0);
		cr_assert(cp_rpc_key_is(k, kl, "Log"));
		cr_assert_eq(cp_rpc_dec_strn(&p, end, &s, &sl), 0);
		if (n++ == 0 && first != NULL)
			cr_assert(sl == strlen(first) && !memcmp(s, first, sl),
				  "first replayed line is %.*s", (int)sl, s);
		rpc_tc_consume(&cli, len);
	}
	return n;
}

Test(rpc_limits, monitor_replays_recent_lines_after_ack)
{
	rpc_tc_handshake(&env, &cli);
	cp_rpc_publish_log(env.f.rpc, "x [DEBUG] old debug");
	cp_rpc_publish_log(env.f.rpc, "x [INFO] old info");
	cp_rpc_publish_log(env.f.rpc, "x [WARN] old warn");
	monitor("INFO", "");	/* the ack comes first */
	cr_assert_eq(count_logs(cli.seq, "x [INFO] old info"), 2);
}

Test(rpc_limits, monitor_replay_ring_keeps_last_512)
{
	char line[64];
	rpc_tc_handshake(&env, &cli);
	for (int i = 0; i < 600; i++) {
		snprintf(line, sizeof(line), "[INFO] line %d", i);
		cp_rpc_publish_log(env.f.rpc, line);
	}
	monitor("trace", "");
	cr_assert_eq(count_logs(cli.seq, "[INFO] line 88"), 512);
}

/* xorshift64: deterministic garbage for the robustness test. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(rpc_limits, random_garbage_never_kills_the_server)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	static const char *const cmds[] = {
		"handshake", "members-filtered", "join", "tags", "stream",
		"monitor", "stop", "event", "force-leave", "auth",
	};
	for (int round = 0; round < 300; round++) {
		struct rpc_tc c;
		char junk[256];
		rpc_tc_connect(&env, &c);
		size_t n = rnd(&seed) % sizeof(junk);
		for (size_t i = 0; i < n; i++)
			junk[i] = (char)rnd(&seed);
		/* even rounds: a real handshake and command, junk as body */
		if (round % 2 == 0) {
			rpc_tc_send_uint(&c, "handshake", "Version", 1);
			rpc_tc_send(&c, cmds[rnd(&seed) % 10], NULL);
		}
		rpc_tc_send_raw(&c, junk, n);
		rpc_tc_pump(&env, &c, 2);
		rpc_tc_close(&c);
	}
	rpc_tc_pump(&env, NULL, 10);
	rpc_tc_handshake(&env, &cli);	/* still serving */
	rpc_tc_send(&cli, "stats", NULL);
	expect_reply("");
	cr_assert_leq(counters().nb_clients, 2);
}

/* Highest fd open in this process (from /proc/self/fd). */
static int
max_open_fd(void)
{
	int max = 2;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		int fd = atoi(e->d_name);
		max = fd > max ? fd : max;
	}
	closedir(d);
	return max;
}

Test(rpc_limits, out_of_fds_sheds_the_connection_without_spinning)
{
	struct rlimit old, lim;
	int holes[1024], nb_holes = 0;
	rpc_tc_pump(&env, &cli, 2);	/* cli accepted */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s, 0);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)max_open_fd() + 1;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	while (nb_holes < 1024 && (holes[nb_holes] = dup(0)) >= 0)
		nb_holes++;	/* no free fd number is left below the limit */
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(cp_rpc_port(env.f.rpc)),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	cr_assert_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (int i = 0; i < 5; i++)
		cp_rpc_poll(env.f.rpc, 5);
	cr_assert_eq(counters().refused_full, 1);
	cr_assert_eq(cp_rpc_poll(env.f.rpc, 0), 0, "listener not spinning");
	char b;
	cr_assert_eq(recv(s, &b, 1, 0), 0, "shed client sees a close");
	for (int i = 0; i < nb_holes; i++)
		close(holes[i]);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	close(s);
	rpc_tc_handshake(&env, &cli);	/* existing client unaffected */
}

/* A valid session: handshake and one request of each kind with its body. */
static void
valid_session(struct cp_rpc_buf *b)
{
	cp_rpc_enc_request(b, "handshake", 1);
	cp_rpc_enc_map(b, 1);
	cp_rpc_enc_str(b, "Version");
	cp_rpc_enc_uint(b, 1);
	cp_rpc_enc_request(b, "members-filtered", 2);
	cp_rpc_enc_map(b, 3);
	cp_rpc_enc_str(b, "Name");
	cp_rpc_enc_str(b, "a.*");
	cp_rpc_enc_str(b, "Status");
	cp_rpc_enc_str(b, "alive|failed");
	cp_rpc_enc_str(b, "Tags");
	cp_rpc_enc_map(b, 1);
	cp_rpc_enc_str(b, "role");
	cp_rpc_enc_str(b, "w[a-z]+");
	cp_rpc_enc_request(b, "join", 3);
	cp_rpc_enc_map(b, 2);
	cp_rpc_enc_str(b, "Existing");
	cp_rpc_enc_array(b, 2);
	cp_rpc_enc_str(b, "127.0.0.1:7000");
	cp_rpc_enc_str(b, "127.0.0.1:1");
	cp_rpc_enc_str(b, "Replay");
	cp_rpc_enc_bool(b, false);
	cp_rpc_enc_request(b, "tags", 4);
	cp_rpc_enc_map(b, 2);
	cp_rpc_enc_str(b, "Tags");
	cp_rpc_enc_map(b, 1);
	cp_rpc_enc_str(b, "k");
	cp_rpc_enc_str(b, "v");
	cp_rpc_enc_str(b, "DeleteTags");
	cp_rpc_enc_array(b, 1);
	cp_rpc_enc_str(b, "role");
	cp_rpc_enc_request(b, "stream", 5);
	cp_rpc_enc_map(b, 1);
	cp_rpc_enc_str(b, "Type");
	cp_rpc_enc_str(b, "member-join,user:x,query");
	cp_rpc_enc_request(b, "query", 6);
	cp_rpc_enc_map(b, 3);
	cp_rpc_enc_str(b, "Name");
	cp_rpc_enc_str(b, "q");
	cp_rpc_enc_str(b, "FilterNodes");
	cp_rpc_enc_array(b, 1);
	cp_rpc_enc_str(b, "alpha");
	cp_rpc_enc_str(b, "Timeout");
	cp_rpc_enc_uint(b, 20000000);
	cp_rpc_enc_request(b, "stats", 7);
	cp_rpc_enc_request(b, "force-leave", 8);
	cp_rpc_enc_map(b, 1);
	cp_rpc_enc_str(b, "Node");
	cp_rpc_enc_str(b, "d");
}

Test(rpc_limits, mutated_valid_sessions_never_kill_the_server)
{
	uint64_t seed = 0x243f6a8885a308d3ull;
	struct cp_rpc_buf good;
	cp_rpc_buf_create(&good, 4096);
	valid_session(&good);
	cr_assert(!good.overflow);
	char *m = malloc(good.len);
	cr_assert_not_null(m);
	for (int round = 0; round < 400; round++) {
		struct rpc_tc c;
		size_t len = good.len;
		memcpy(m, good.data, len);
		int flips = 1 + (int)(rnd(&seed) % 4);
		for (int i = 0; i < flips; i++)
			m[rnd(&seed) % len] = (char)rnd(&seed);
		if (round % 3 == 0)
			len = rnd(&seed) % len;	/* cut anywhere */
		rpc_tc_connect(&env, &c);
		rpc_tc_send_raw(&c, m, len);
		rpc_tc_pump(&env, &c, 3);
		rpc_tc_close(&c);
	}
	free(m);
	cp_rpc_buf_destroy(&good);
	rpc_tc_pump(&env, NULL, 40);	/* let async joins/queries finish */
	rpc_tc_handshake(&env, &cli);
	rpc_tc_send(&cli, "stats", NULL);
	expect_reply("");
	cr_assert_leq(counters().nb_clients, 2);
}
