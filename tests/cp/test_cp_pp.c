/* SPDX-License-Identifier: MIT */
/*
 * Streamed push/pull (swim_pp_enc/dec, cp_sync_pp.c): the encoder's
 * bytes are memberlist's, the decoder takes any chunking and merges node
 * by node, hostile sizes are errors without big allocations, and two
 * engines sync 10^5 members both ways in a fixed window per stream; a
 * peer that closes mid-stream leaves whole nodes merged, nothing else,
 * and a counted error.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_sync_int.h"
#include "pp_peer.h"
#include "swim_wire.h"

static int epfd = -1;

static void
setup(void)
{
	epfd = epoll_create1(0);
	cr_assert(epfd >= 0);
}

static void
teardown(void)
{
	close(epfd);
}

/* A header then nodes "<prefix>-i", i < nb; claims `claim` nodes. */
static size_t
make_stream(uint8_t *out, size_t cap, uint32_t claim, uint32_t nb,
	    uint32_t user_len)
{
	struct swim_push_pull_header h = {true, claim, user_len};
	int n = swim_wire_encode_push_pull_header(&h, out, cap);
	size_t len;

	cr_assert(n > 0);
	len = (size_t)n;
	for (uint32_t i = 0; i < nb; i++) {
		n = pp_peer_node("x", i, out + len, cap - len);
		cr_assert(n > 0);
		len += (size_t)n;
	}
	return len;
}

TestSuite(cp_pp, .init = setup, .fini = teardown, .timeout = 110);

/* Node names of a whole push/pull, for comparing two encodings. */
static char names_a[4000][32], names_b[4000][32];
static int nb_names;

static int
collect_name(void *ctx, const struct swim_push_node *n)
{
	char (*names)[32] = ctx;

	cr_assert_lt(nb_names, 4000);
	snprintf(names[nb_names++], 32, "%.*s", (int)n->name.len,
		 (const char *)n->name.ptr);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Decode buf (len bytes) and sort its node names into names. */
static int
sorted_names(const uint8_t *buf, size_t len, char (*names)[32])
{
	struct swim_push_pull_header h;
	struct swim_str us;

	nb_names = 0;
	cr_assert_eq(swim_wire_decode_push_pull(buf, len, &h, collect_name,
						names, &us), (int)len);
	qsort(names, (size_t)nb_names, 32, name_cmp);
	return nb_names;
}

/* The encoder, window by window, writes what swim_push_pull_encode
 * writes whole (same header, same node maps; in the name index's order):
 * memberlist reads it as before. */
Test(cp_pp, encoder_bytes_match_whole_message)
{
	struct pp_peer p;
	struct swim_pp_enc e;
	static uint8_t whole[1 << 20], streamed[1 << 20];
	size_t len = 0;
	int n;

	pp_peer_init(&p, epfd, "me", true, 0);
	pp_peer_fill(&p, "m", 3000);
	size_t wl = swim_push_pull_encode(p.swim, true, NULL, 0, whole,
					  sizeof(whole));
	swim_pp_enc_start(p.swim, &e, true, 0);
	while ((n = swim_pp_enc_next(p.swim, &e, streamed + len, 700,
				     100)) > 0)
		len += (size_t)n;
	cr_assert_eq(n, 0);
	cr_assert_eq(len, wl);
	cr_assert_eq(e.next, 3001);
	cr_assert_eq(sorted_names(whole, wl, names_a), 3001);
	cr_assert_eq(sorted_names(streamed, len, names_b), 3001);
	cr_assert_eq(memcmp(names_a, names_b, sizeof(names_a)), 0);
	for (int i = 1; i < 3001; i++)
		cr_assert_neq(strcmp(names_b[i - 1], names_b[i]), 0);
	/* a buffer too small for one piece */
	swim_pp_enc_start(p.swim, &e, false, 0);
	cr_assert_eq(swim_pp_enc_next(p.swim, &e, streamed, 8, 1),
		     SWIM_WIRE_E_NOSPACE);
	pp_peer_fini(&p);
}

/* Any chunking gives the same merge; max_nodes bounds each call. */
Test(cp_pp, decoder_takes_any_chunking)
{
	static uint8_t buf[64 * 1024];
	size_t len = make_stream(buf, sizeof(buf), 200, 200, 0);
	struct pp_peer p;
	struct swim_pp_dec d;
	size_t off = 0, avail = 0;
	unsigned calls = 0;

	pp_peer_init(&p, epfd, "me", true, 0);
	swim_pp_dec_start(p.swim, &d);
	/* bytes arrive 1, 2, 3... at a time; at most 3 nodes per call */
	for (size_t step = 1; d.phase != SWIM_PP_DEC_USER; step++) {
		avail = off + step + avail < len ? avail + step : len - off;
		uint32_t before = d.nodes_done;
		int c = swim_pp_dec_next(p.swim, 1, &d, buf + off, avail, 3);
		cr_assert_geq(c, 0);
		cr_assert_leq(d.nodes_done - before, 3);
		off += (size_t)c;
		avail -= (size_t)c;
		cr_assert_lt(++calls, 100000);
	}
	cr_assert_eq(off, len);
	cr_assert_eq(d.nodes_done, 200);
	cr_assert_eq(swim_member_count(p.swim), 201);
	pp_peer_fini(&p);
}

/* Lies and garbage: exact errors, nothing allocated by a claimed size. */
Test(cp_pp, decoder_rejects_lies)
{
	static uint8_t buf[64 * 1024];
	struct pp_peer p;
	struct swim_pp_dec d;
	size_t len;

	pp_peer_init(&p, epfd, "me", true, 0);
	/* not a push/pull */
	swim_pp_dec_start(p.swim, &d);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d,
				      (const uint8_t *)"\x00\x80", 2, 9),
		     SWIM_WIRE_E_UNKNOWN_MSG);
	/* Nodes above SWIM_PP_STREAM_NODES_MAX */
	len = make_stream(buf, sizeof(buf), SWIM_PP_STREAM_NODES_MAX + 1, 0,
			  0);
	swim_pp_dec_start(p.swim, &d);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d, buf, len, 9),
		     SWIM_WIRE_E_LENGTH);
	/* a node map whose Meta claims 2 GiB */
	len = make_stream(buf, sizeof(buf), 1, 0, 0);
	memcpy(buf + len, "\x81\xa4Meta\xc6\x7f\xff\xff\xff", 11);
	swim_pp_dec_start(p.swim, &d);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d, buf, len, 9), (int)len);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d, buf + len, 11, 9),
		     SWIM_WIRE_E_LENGTH);
	/* a piece larger than SWIM_PP_PIECE_MAX: 20000 bytes of Meta */
	memcpy(buf, "\x81\xa4Meta\xc5\x4e\x20", 9);
	memset(buf + 9, 'm', SWIM_PP_PIECE_MAX);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d, buf, 9 + 100, 9), 0);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d, buf,
				      SWIM_PP_PIECE_MAX, 9),
		     SWIM_WIRE_E_LENGTH);
	/* a header that never ends: an unknown key with 20000 bytes */
	swim_pp_dec_start(p.swim, &d);
	buf[0] = SWIM_MSG_PUSH_PULL;
	memcpy(buf + 1, "\x81\xa5" "Extra\xc5\x4e\x20", 10);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d, buf, SWIM_PP_PIECE_MAX,
				      9), SWIM_WIRE_E_LENGTH);
	cr_assert_eq(swim_member_count(p.swim), 1);
	pp_peer_fini(&p);
}

/* verifyProtocol per node: a node speaking protocol 9 stops the stream. */
Test(cp_pp, decoder_checks_versions)
{
	static const uint8_t vsn[6] = {9, 9, 9, 2, 5, 4};
	static const uint8_t ip[4] = {10, 0, 0, 9};
	static uint8_t buf[4096];
	struct swim_push_node n = {
		.name = {(const uint8_t *)"future", 6}, .addr = {ip, 4},
		.port = 1, .incarnation = 1, .state = SWIM_STATUS_ALIVE,
		.vsn = {vsn, 6},
	};
	struct pp_peer p;
	struct swim_pp_dec d;
	size_t len = make_stream(buf, sizeof(buf), 3, 1, 0);

	len += (size_t)swim_wire_encode_push_node(&n, buf + len,
						  sizeof(buf) - len);
	pp_peer_init(&p, epfd, "me", true, 0);
	swim_pp_dec_start(p.swim, &d);
	cr_assert_eq(swim_pp_dec_next(p.swim, 1, &d, buf, len, 9),
		     SWIM_E_PROTO_VERSION);
	cr_assert_eq(d.nodes_done, 1);	/* x-0000000 came before it */
	cr_assert_eq(swim_member_count(p.swim), 2);
	pp_peer_fini(&p);
}

/* 10^5 members one way, 10^3 the other, user state both ways, and no
 * stream buffer ever above the window. */
Test(cp_pp, sync_1e5_both_ways_in_bounded_memory)
{
	struct pp_peer a, b;
	struct pp_peer *ps[2] = {&a, &b};
	struct swim_addr to;
	struct cp_sync_stats st;

	pp_peer_init(&a, epfd, "a", true, 0);
	pp_peer_init(&b, epfd, "b", true, 0);
	pp_peer_fill(&a, "ma", 100000);
	pp_peer_fill(&b, "mb", 1000);
	a.user_len = 300000;	/* several windows */
	b.user_len = 5;
	pp_peer_addr(&a, &to);
	cp_sync_push_pull(b.sync, cp_now_us(), &to, true);
	pp_peer_pump(epfd, ps, 2, 100000, &b.nb_done);
	pp_peer_pump(epfd, ps, 2, 100, NULL);
	cr_assert_eq(b.nb_done, 1);
	cr_assert_eq(b.last_err, 0);
	cr_assert_eq(swim_member_count(b.swim), 101002);
	cr_assert_eq(swim_member_count(a.swim), 101002);
	cr_assert_eq(b.user_in, 300000);
	cr_assert_eq(a.user_in, 5);
	cr_assert_leq(a.peak_buf, CP_SYNC_PP_WINDOW);
	cr_assert_leq(b.peak_buf, CP_SYNC_PP_WINDOW);
	/* sliced: one reactor pass merges at most one window of node maps
	 * (each at least 50 bytes), whatever the pool's size */
	cr_assert_leq(b.max_grow, CP_SYNC_PP_WINDOW / 50, "%u", b.max_grow);
	cr_assert_gt(b.max_grow, 0);
	cp_sync_get_stats(a.sync, &st);
	cr_assert_eq(st.in_push_pull, 1);
	cr_assert_eq(st.bad_input, 0);
	cr_assert_eq(cp_sync_nb_streams(a.sync), 0);
	pp_peer_fini(&a);
	pp_peer_fini(&b);
}

/* A blocking client to p's engine. */
static int
client(const struct pp_peer *p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons(cp_sync_port(p->sync));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The peer closes inside node 11 of 100: ten merged, counted, closed. */
Test(cp_pp, interrupted_stream_merges_whole_nodes_only)
{
	static uint8_t buf[64 * 1024];
	struct pp_peer a;
	struct pp_peer *ps[1] = {&a};
	struct cp_sync_stats st;
	size_t len = make_stream(buf, sizeof(buf), 100, 11, 0);
	int fd;

	pp_peer_init(&a, epfd, "a", true, 0);
	fd = client(&a);
	cr_assert_eq(write(fd, buf, len - 20), (ssize_t)(len - 20));
	pp_peer_pump(epfd, ps, 1, 50, NULL);
	close(fd);
	pp_peer_pump(epfd, ps, 1, 50, NULL);
	cr_assert_eq(swim_member_count(a.swim), 11);
	cp_sync_get_stats(a.sync, &st);
	cr_assert_eq(st.bad_input, 1);
	cr_assert_eq(st.in_push_pull, 0);
	cr_assert_eq(cp_sync_nb_streams(a.sync), 0);
	pp_peer_fini(&a);
}

/* A lying header on the socket: error counted, stream closed, and the
 * engine never held more than its window. */
Test(cp_pp, lying_stream_is_closed_without_big_buffers)
{
	static uint8_t buf[64 * 1024];
	struct pp_peer a;
	struct pp_peer *ps[1] = {&a};
	struct cp_sync_stats st;
	size_t len = make_stream(buf, sizeof(buf), 4, 2, 0);
	int fd;

	pp_peer_init(&a, epfd, "a", true, 0);
	/* two nodes, then a third whose Meta claims 2 GiB */
	memcpy(buf + len, "\x81\xa4Meta\xc6\x7f\xff\xff\xff", 11);
	fd = client(&a);
	cr_assert_eq(write(fd, buf, len + 11), (ssize_t)(len + 11));
	pp_peer_pump(epfd, ps, 1, 100, NULL);
	cr_assert_eq(swim_member_count(a.swim), 3);
	cp_sync_get_stats(a.sync, &st);
	cr_assert_eq(st.bad_input, 1);
	cr_assert_eq(cp_sync_nb_streams(a.sync), 0);
	cr_assert_leq(a.peak_buf, CP_SYNC_PP_WINDOW);
	close(fd);
	pp_peer_fini(&a);
}

/* Outbound: the peer's reply stops half-way: the push/pull fails with
 * -ECONNRESET and the whole nodes before the cut are merged. */
Test(cp_pp, interrupted_reply_fails_the_push_pull)
{
	static uint8_t buf[64 * 1024];
	struct pp_peer b;
	struct pp_peer *ps[1] = {&b};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct swim_addr to;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;
	size_t len = make_stream(buf, sizeof(buf), 50, 6, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sl), 0);
	cr_assert_eq(listen(lfd, 1), 0);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	pp_peer_init(&b, epfd, "b", true, 0);
	cp_addr_parse("127.0.0.1:1", 0, &to);
	to.port = ntohs(sa.sin_port);
	cp_sync_push_pull(b.sync, cp_now_us(), &to, false);
	pp_peer_pump(epfd, ps, 1, 20, NULL);
	fd = accept(lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, len - 5), (ssize_t)(len - 5));
	close(fd);
	pp_peer_pump(epfd, ps, 1, 200, &b.nb_done);
	cr_assert_eq(b.nb_done, 1);
	cr_assert_eq(b.last_err, -ECONNRESET);
	cr_assert_eq(swim_member_count(b.swim), 6);
	close(lfd);
	pp_peer_fini(&b);
}

/* A peer that trickles a byte now and then does not hold its slot past
 * TCPTimeout: progress counts only in CP_SYNC_PP_PROGRESS steps. */
Test(cp_pp, trickling_stream_times_out)
{
	static uint8_t buf[4096];
	struct pp_peer a;
	struct pp_peer *ps[1] = {&a};
	struct cp_sync_stats st;
	size_t len = make_stream(buf, sizeof(buf), 5, 5, 0);
	int fd;

	pp_peer_init(&a, epfd, "a", true, 0);
	a.sync->cfg.tcp_timeout_us = 200 * 1000;
	fd = client(&a);
	/* 30 bytes 25 ms apart: 750 ms, each well within the timeout */
	for (size_t i = 0; i < 30 && i < len; i++) {
		if (send(fd, buf + i, 1, MSG_NOSIGNAL) != 1)
			break;	/* closed by the engine: done */
		pp_peer_pump(epfd, ps, 1, 25, NULL);
	}
	/* checked while it still trickles: closed already */
	cp_sync_get_stats(a.sync, &st);
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(cp_sync_nb_streams(a.sync), 0);
	close(fd);
	pp_peer_fini(&a);
}
