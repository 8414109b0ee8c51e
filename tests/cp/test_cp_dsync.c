/* SPDX-License-Identifier: MIT */
/*
 * Delta sync on the TCP sync engine (control/cp_sync_delta*.c): two
 * cores behind two engines on 127.0.0.1 (pp_peer.c). Equal tables end in
 * sync for a few dozen bytes; tables that differ in k members transfer
 * them (plain and sealed streams); the capability gates it; a peer with
 * delta sync off or without it makes a periodic exchange fall back to a
 * full push/pull; a bad HELLO gets ABORT; the interval starts exchanges
 * with capable peers only; enable's and the options' errors.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_sync_delta.h"
#include "cp_sync_int.h"
#include "pp_peer.h"
#include "swim_crypto.h"
#include "swim_dsync.h"
#include "swim_dsync_peer.h"
#include "swim_wire.h"

static int epfd = -1;
static struct pp_peer A, B;

static void
setup(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(epfd, 0);
	pp_peer_init(&A, epfd, "dsa", true, 0);
	pp_peer_init(&B, epfd, "dsb", true, 0);
}

static void
teardown(void)
{
	pp_peer_fini(&A);
	pp_peer_fini(&B);
	close(epfd);
}

/* Merge `who` into p's table (alive, incarnation inc), with or without
 * the capability byte. */
static void
add_peer_inc(struct pp_peer *p, const struct pp_peer *who, bool caps,
	     uint32_t inc)
{
	static const uint8_t vsn[7] = {1, 5, 2, 2, 5, 4, SWIM_DSYNC_CAP_V1};
	uint8_t ip[4] = {127, 0, 0, 1}, buf[512];
	struct swim_push_pull_header h = {false, 1, 0};
	struct swim_push_node n = {
		.name = {(const uint8_t *)who->name,
			 (uint32_t)strlen(who->name)},
		.addr = {ip, 4}, .port = cp_sync_port(who->sync),
		.incarnation = inc, .state = SWIM_STATUS_ALIVE,
		.vsn = {vsn, caps ? 7u : 6u},
	};
	struct swim_pp_dec d;
	int hl = swim_wire_encode_push_pull_header(&h, buf, sizeof(buf));
	int nl = swim_wire_encode_push_node(&n, buf + hl, sizeof(buf) - hl);

	cr_assert_gt(hl, 0);
	cr_assert_gt(nl, 0);
	swim_pp_dec_start(p->swim, &d);
	cr_assert_eq(swim_pp_dec_next(p->swim, cp_now_us(), &d, buf,
				      (size_t)(hl + nl), 16), hl + nl);
}

static void
add_peer(struct pp_peer *p, const struct pp_peer *who, bool caps)
{
	add_peer_inc(p, who, caps, 1);
}

static void
enable(struct pp_peer *p, bool on, uint64_t interval_us)
{
	struct cp_sync_delta_cfg c;

	cp_sync_delta_cfg_default(&c);
	c.swim = p->swim;
	c.is_enabled = on;
	c.interval_us = interval_us;
	c.seed = 7;
	cr_assert_eq(cp_sync_delta_enable(p->sync, &c), 0);
}

/* Both know each other as capable; both hold `n` common members. */
static void
pair(uint32_t n, bool b_on)
{
	add_peer(&A, &B, true);
	add_peer(&B, &A, true);
	if (n > 0) {
		pp_peer_fill(&A, "m", n);
		pp_peer_fill(&B, "m", n);
	}
	enable(&A, true, 0);
	enable(&B, b_on, 0);
}

static void
run_periodic(void)
{
	struct swim_addr to;
	struct pp_peer *ps[] = {&A, &B};

	pp_peer_addr(&B, &to);
	cr_assert(cp_sync_delta_push_pull(A.sync, cp_now_us(), &to, B.name));
	pp_peer_pump(epfd, ps, 2, 5000, &A.nb_done);
	cr_assert_eq(A.nb_done, 1, "the exchange reported once");
	cr_assert_eq(A.last_err, 0);
	pp_peer_pump(epfd, ps, 2, 100, NULL);	/* B closes its side */
}

static struct cp_sync_stats
stats(const struct pp_peer *p)
{
	struct cp_sync_stats st;

	cp_sync_get_stats(p->sync, &st);
	return st;
}

TestSuite(cp_dsync, .init = setup, .fini = teardown, .timeout = 30);

Test(cp_dsync, equal_tables_end_in_sync_for_a_few_dozen_bytes)
{
	pair(1000, true);
	cr_assert_eq(swim_dsync_root(A.swim), swim_dsync_root(B.swim));
	run_periodic();
	cr_assert_eq(stats(&A).x_insync, 1);
	cr_assert_eq(stats(&B).x_insync, 1);
	cr_assert_eq(stats(&A).x_delta + stats(&A).x_full, 0);
	cr_assert_gt(stats(&A).bytes_delta, 0);
	cr_assert_lt(stats(&A).bytes_delta, 100, "HELLO + INSYNC: %lu bytes",
		     (unsigned long)stats(&A).bytes_delta);
}

/* B holds k members A lacks, A holds j that B lacks: both learn. */
static void
differ_and_transfer(uint32_t k, uint32_t j)
{
	uint32_t a0 = swim_member_count(A.swim), b0;

	pp_peer_fill(&B, "onlyb", k);
	pp_peer_fill(&A, "onlya", j);
	b0 = swim_member_count(B.swim);
	cr_assert_neq(swim_dsync_root(A.swim), swim_dsync_root(B.swim));
	run_periodic();
	cr_assert_eq(swim_member_count(A.swim), a0 + j + k);
	cr_assert_eq(swim_member_count(B.swim), b0 + j);
	cr_assert_eq(swim_dsync_root(A.swim), swim_dsync_root(B.swim));
	cr_assert_eq(stats(&A).x_delta, 1);
	cr_assert_eq(stats(&B).x_delta, 1);
	cr_assert_eq(stats(&A).x_fallback, 0);
}

Test(cp_dsync, tables_that_differ_transfer_the_members_both_ways)
{
	pair(5000, true);
	differ_and_transfer(37, 5);
	/* the next exchange finds them equal */
	A.nb_done = 0;
	run_periodic();
	cr_assert_eq(stats(&A).x_insync, 1);
}

Test(cp_dsync, sealed_streams_transfer_too)
{
	struct swim_keyring *ring;
	uint8_t key[32];
	int err = 0;

	memset(key, 7, sizeof(key));
	cr_assert_geq(sodium_init(), 0);
	ring = swim_keyring_new(&err);
	cr_assert_not_null(ring);
	cr_assert_eq(swim_keyring_add(ring, key, sizeof(key)), 0);
	cp_sync_set_keyring(A.sync, ring);
	cp_sync_set_keyring(B.sync, ring);
	pair(2000, true);
	differ_and_transfer(11, 3);
	cp_sync_set_keyring(A.sync, NULL);
	cp_sync_set_keyring(B.sync, NULL);
	swim_keyring_delete(ring);
}

Test(cp_dsync, only_a_capable_known_peer_gets_a_delta_exchange)
{
	struct swim_addr to;

	pp_peer_addr(&B, &to);
	add_peer(&A, &B, false);
	enable(&A, true, 0);
	cr_assert_not(cp_sync_delta_push_pull(A.sync, cp_now_us(), &to,
					      B.name), "no capability");
	cr_assert_not(cp_sync_delta_push_pull(A.sync, cp_now_us(), &to,
					      "nobody"), "unknown");
	cr_assert_not(cp_sync_delta_push_pull(A.sync, cp_now_us(), &to, NULL));
	cr_assert_eq(cp_sync_nb_streams(A.sync), 0);
	add_peer_inc(&A, &B, true, 2);	/* heard: sticky from now on */
	enable(&A, false, 0);
	cr_assert_not(cp_sync_delta_push_pull(A.sync, cp_now_us(), &to,
					      B.name), "delta sync off");
	enable(&A, true, 0);
	cr_assert(cp_sync_delta_push_pull(A.sync, cp_now_us(), &to, B.name));
}

Test(cp_dsync, a_peer_with_delta_off_gets_a_full_push_pull_instead)
{
	pair(300, false);
	pp_peer_fill(&A, "onlya", 9);
	run_periodic();
	cr_assert_eq(stats(&A).x_fallback, 1);
	cr_assert_eq(stats(&B).x_delta_failed, 1, "B refused it");
	cr_assert_geq(stats(&A).x_full, 1);
	cr_assert_eq(swim_member_count(B.swim), swim_member_count(A.swim),
		     "the full push/pull ran");
}

Test(cp_dsync, a_peer_without_delta_sync_gets_a_full_push_pull_instead)
{
	add_peer(&A, &B, true);	/* it says so, but B's engine has none */
	enable(&A, true, 0);
	pp_peer_fill(&A, "onlya", 9);
	run_periodic();
	cr_assert_eq(stats(&A).x_fallback, 1);
	cr_assert_eq(stats(&B).bad_input, 1, "HELLO was a stranger to B");
	cr_assert_eq(swim_member_count(B.swim), swim_member_count(A.swim));
}

/* A raw client sends msg to B's engine; returns the first reply byte. */
static int
raw_exchange(const uint8_t *msg, size_t len, uint8_t *reply, size_t cap)
{
	struct pp_peer *ps[] = {&A, &B};
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(cp_sync_port(B.sync))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ssize_t n = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(fd, 0);
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	pp_peer_pump(epfd, ps, 2, 50, NULL);
	cr_assert_eq(send(fd, msg, len, 0), (ssize_t)len);
	for (int i = 0; i < 100 && n <= 0; i++) {
		pp_peer_pump(epfd, ps, 2, 10, NULL);
		n = recv(fd, reply, cap, 0);
	}
	close(fd);
	return (int)n;
}

Test(cp_dsync, a_bad_hello_gets_abort)
{
	struct swim_dsync_hello h = {.version = 9, .bits = 8, .count = 1};
	uint8_t msg[SWIM_DSYNC_HELLO_LEN], reply[64], why = 0;

	enable(&B, true, 0);
	cr_assert_eq(swim_dsync_encode_hello(&h, msg, sizeof(msg)),
		     (int)sizeof(msg));
	cr_assert_eq(raw_exchange(msg, sizeof(msg), reply, sizeof(reply)),
		     (int)SWIM_DSYNC_ABORT_LEN);
	cr_assert_eq(swim_dsync_decode_abort(reply, SWIM_DSYNC_ABORT_LEN,
					     &why), (int)SWIM_DSYNC_ABORT_LEN);
	cr_assert_eq(why, SWIM_DSYNC_ABORT_ERROR);
	cr_assert_eq(stats(&B).x_delta_failed, 1);
}

Test(cp_dsync, the_interval_starts_exchanges_with_capable_peers_only)
{
	struct pp_peer *ps[] = {&A, &B};
	char name[SWIM_NAME_MAX + 1];
	struct swim_addr to;

	cr_assert_eq(swim_dsync_random_peer(A.swim, 1, name, sizeof(name),
					    &to), -1, "nobody capable");
	cr_assert_eq(swim_dsync_random_peer(A.swim, 1, name, 8, &to), -1);
	add_peer(&A, &B, true);
	add_peer(&B, &A, true);
	pp_peer_fill(&A, "m", 200);	/* not capable: never picked */
	pp_peer_fill(&B, "m", 200);
	cr_assert_eq(swim_dsync_random_peer(A.swim, 1, name, sizeof(name),
					    &to), 0);
	cr_assert_str_eq(name, B.name);
	enable(&A, true, 50 * 1000);
	enable(&B, true, 0);
	pp_peer_pump(epfd, ps, 2, 600, NULL);
	cr_assert_geq(stats(&A).x_insync, 2, "%lu",
		      (unsigned long)stats(&A).x_insync);
	cr_assert_eq(stats(&A).x_delta_failed + stats(&A).x_fallback, 0);
	cr_assert_eq(stats(&B).x_insync, stats(&A).x_insync);
}

Test(cp_dsync, enable_needs_a_core_and_streamed_push_pulls)
{
	struct cp_sync_delta_cfg c;
	struct pp_peer W;

	cp_sync_delta_cfg_default(&c);
	cr_assert(c.is_enabled);
	cr_assert_eq(c.interval_us, CP_SYNC_DELTA_INTERVAL_US);
	cr_assert_eq(cp_sync_delta_enable(A.sync, &c), -EINVAL, "no core");
	pp_peer_init(&W, epfd, "whole", false, 0);
	c.swim = W.swim;
	cr_assert_eq(cp_sync_delta_enable(W.sync, &c), -EINVAL,
		     "no streamed push/pull ops");
	pp_peer_fini(&W);
}

Test(cp_dsync, the_options_and_their_errors)
{
	char err[256];
	struct cp_cfg cfg;
	char *good[] = {"gossipd", "--delta-sync=false",
			"--delta-sync-interval", "2500ms"};
	char *bad_bool[] = {"gossipd", "--delta-sync=maybe"};
	char *bad_dur[] = {"gossipd", "--delta-sync-interval", "soon"};

	cp_cfg_default(&cfg);
	cr_assert(cfg.delta_sync);
	cr_assert_eq(cfg.delta_sync_interval_us, 10000000u);
	cr_assert_eq(cp_cfg_parse(&cfg, 4, good, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_not(cfg.delta_sync);
	cr_assert_eq(cfg.delta_sync_interval_us, 2500000u);
	cp_cfg_default(&cfg);
	cr_assert_eq(cp_cfg_parse(&cfg, 2, bad_bool, err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "invalid --delta-sync \"maybe\": want true or "
			 "false");
	cp_cfg_default(&cfg);
	cr_assert_eq(cp_cfg_parse(&cfg, 3, bad_dur, err, sizeof(err)),
		     -EINVAL);
}
