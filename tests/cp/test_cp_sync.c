/* SPDX-License-Identifier: MIT */
/*
 * The TCP sync state machine (control/cp_sync.c) over loopback sockets:
 * inbound push/pull (plain, byte by byte, compressed), TCP ping, user
 * message, encrypted and garbage streams; outbound push/pull and ping
 * against a scripted peer; timeouts, the stream cap and the byte cap.
 * The handler is a fake that records what the engine hands it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "swim_wire.h"
#include "sync_fx.h"

/* A fresh engine on 127.0.0.1:<any> with the given caps (0: default). */
static void
start(uint64_t timeout_us, unsigned max_streams, size_t max_bytes)
{
	struct cp_sync_cfg cfg;

	sync_fx_cfg(&cfg);
	if (timeout_us != 0)
		cfg.tcp_timeout_us = timeout_us;
	if (max_streams != 0)
		cfg.max_streams = max_streams;
	if (max_bytes != 0)
		cfg.max_bytes = max_bytes;
	sync_fx_start(&cfg);
}

static void
stop(void)
{
	sync_fx_stop();
}

/* A push/pull from node "peer" with a 3-byte user state. */
static size_t
make_push_pull(uint8_t *out, size_t cap, bool join)
{
	static const uint8_t ip[4] = {127, 0, 0, 1};
	static const uint8_t vsn[6] = {1, 5, 2, 2, 5, 5};
	struct swim_push_pull_header h = {join, 1, 3};
	struct swim_push_node n = {
		.name = {(const uint8_t *)"peer", 4},
		.addr = {ip, 4},
		.port = 7946,
		.incarnation = 1,
		.state = SWIM_STATUS_ALIVE,
		.vsn = {vsn, 6},
	};
	int a = swim_wire_encode_push_pull_header(&h, out, cap);
	int b = swim_wire_encode_push_node(&n, out + a, cap - (size_t)a);

	cr_assert(a > 0 && b > 0);
	memcpy(out + a + b, "\x02\x80\x80", 3);
	return (size_t)(a + b + 3);
}

Test(cp_sync, inbound_push_pull_replies_then_merges)
{
	uint8_t req[512], rep[512];
	size_t len, n;
	int fd;

	start(0, 0, 0);
	len = make_push_pull(req, sizeof(req), true);
	fd = client();
	cr_assert_eq(send(fd, req, len, 0), (ssize_t)len);
	n = read_all(fd, rep, sizeof(rep));
	cr_assert_gt(n, 0);
	cr_assert_eq(rep[0], SWIM_MSG_PUSH_PULL);
	cr_assert(seen.last_join, "the Join flag is copied into the reply");
	cr_assert_eq(seen.nb_merge, 1);
	cr_assert_eq(seen.merged_len, len);
	cr_assert_arr_eq(seen.merged, req, len);
	close(fd);
	stop();
}

Test(cp_sync, inbound_push_pull_byte_by_byte)
{
	uint8_t req[512], rep[512];
	size_t len;
	int fd;

	start(0, 0, 0);
	len = make_push_pull(req, sizeof(req), false);
	fd = client();
	for (size_t i = 0; i < len; i++) {
		cr_assert_eq(send(fd, req + i, 1, 0), 1);
		pump(1, NULL);
		if (i + 1 < len)
			cr_assert_eq(seen.nb_merge, 0, "merged early at %zu", i);
	}
	cr_assert_gt(read_all(fd, rep, sizeof(rep)), 0);
	cr_assert_eq(seen.nb_merge, 1);
	cr_assert_not(seen.last_join);
	close(fd);
	stop();
}

Test(cp_sync, inbound_compressed_push_pull)
{
	uint8_t req[512], z[1024], rep[512];
	size_t len;
	int zl, fd;

	start(0, 0, 0);
	len = make_push_pull(req, sizeof(req), true);
	zl = swim_wire_encode_compress(req, len, z, sizeof(z));
	cr_assert_gt(zl, 0);
	cr_assert_eq(z[0], SWIM_MSG_COMPRESS);
	fd = client();
	cr_assert_eq(send(fd, z, (size_t)zl, 0), zl);
	cr_assert_gt(read_all(fd, rep, sizeof(rep)), 0);
	cr_assert_eq(seen.nb_merge, 1);
	cr_assert_eq(seen.merged_len, len, "merge sees the plain bytes");
	cr_assert_arr_eq(seen.merged, req, len);
	close(fd);
	stop();
}

/* Send one encoded message on a fresh client, return the reply length. */
static size_t
exchange(const struct swim_msg *m, uint8_t *rep, size_t cap)
{
	uint8_t req[512];
	int n = swim_wire_encode_msg(m, req, sizeof(req));
	int fd = client();
	size_t r;

	cr_assert_gt(n, 0);
	cr_assert_eq(send(fd, req, (size_t)n, 0), n);
	r = read_all(fd, rep, cap);
	close(fd);
	return r;
}

Test(cp_sync, inbound_tcp_ping_is_acked)
{
	struct swim_msg m = {.type = SWIM_MSG_PING};
	struct swim_msg ack;
	uint8_t rep[128];
	size_t n;

	start(0, 0, 0);
	m.ping.seq_no = 77;
	m.ping.node = (struct swim_str){(const uint8_t *)"me", 2};
	n = exchange(&m, rep, sizeof(rep));
	cr_assert_eq(swim_wire_decode_msg(rep, n, &ack), 0);
	cr_assert_eq(ack.type, SWIM_MSG_ACK);
	cr_assert_eq(ack.ack.seq_no, 77);
	cr_assert_null(ack.ack.payload.ptr, "nil payload");
	m.ping.node = (struct swim_str){(const uint8_t *)"other", 5};
	cr_assert_eq(exchange(&m, rep, sizeof(rep)), 0,
		     "a ping for another node gets no reply");
	struct cp_sync_stats st;

	cp_sync_get_stats(fx.sync, &st);
	cr_assert_eq(st.in_ping, 1);
	cr_assert_eq(st.bad_input, 1);
	stop();
}

Test(cp_sync, inbound_user_message)
{
	static const uint8_t req[] = {0x08, 0x81, 0xaa, 'U', 's', 'e', 'r',
				      'M', 's', 'g', 'L', 'e', 'n', 0x03,
				      'a', 'b', 'c'};
	uint8_t rep[16];
	int fd;

	start(0, 0, 0);
	fd = client();
	cr_assert_eq(send(fd, req, sizeof(req) - 2, 0), sizeof(req) - 2);
	pump(5, NULL);
	cr_assert_eq(seen.nb_user, 0, "waits for the whole payload");
	cr_assert_eq(send(fd, req + sizeof(req) - 2, 2, 0), 2);
	cr_assert_eq(read_all(fd, rep, sizeof(rep)), 0, "no reply");
	cr_assert_eq(seen.nb_user, 1);
	cr_assert_eq(seen.user_len, 3);
	cr_assert_arr_eq(seen.user, "abc", 3);
	close(fd);
	stop();
}

Test(cp_sync, encrypted_stream_gets_memberlists_error)
{
	static const uint8_t req[] = {0x0a, 0, 0, 0, 0x2f, 1, 2, 3};
	uint8_t rep[256];
	struct swim_msg m;
	size_t n;
	int fd;

	start(0, 0, 0);
	fd = client();
	cr_assert_eq(send(fd, req, sizeof(req), 0), sizeof(req));
	n = read_all(fd, rep, sizeof(rep));
	cr_assert_eq(swim_wire_decode_msg(rep, n, &m), 0);
	cr_assert_eq(m.type, SWIM_MSG_ERR);
	cr_assert_eq(m.err.error.len, strlen(CP_SYNC_ERR_ENCRYPTED));
	cr_assert_arr_eq(m.err.error.ptr, CP_SYNC_ERR_ENCRYPTED,
			 m.err.error.len);
	cr_assert_eq(seen.nb_merge, 0);
	close(fd);
	stop();
}

Test(cp_sync, garbage_is_closed_and_counted)
{
	static const uint8_t unknown[] = {0x42, 1, 2, 3};
	static const uint8_t bad_pp[] = {0x06, 0xc3};	/* header not a map */
	uint8_t rep[256];
	struct cp_sync_stats st;
	struct swim_msg m;
	size_t n;
	int fd;

	start(0, 0, 0);
	fd = client();
	send(fd, unknown, sizeof(unknown), 0);
	cr_assert_eq(read_all(fd, rep, sizeof(rep)), 0,
		     "unknown type: closed without reply");
	close(fd);
	fd = client();
	send(fd, bad_pp, sizeof(bad_pp), 0);
	n = read_all(fd, rep, sizeof(rep));
	cr_assert_eq(swim_wire_decode_msg(rep, n, &m), 0);
	cr_assert_eq(m.type, SWIM_MSG_ERR, "decode failure: errResp");
	close(fd);
	cp_sync_get_stats(fx.sync, &st);
	cr_assert_eq(st.bad_input, 2);
	cr_assert_eq(seen.nb_merge, 0);
	cr_assert_eq(cp_sync_nb_streams(fx.sync), 0);
	stop();
}

Test(cp_sync, idle_inbound_stream_times_out)
{
	struct cp_sync_stats st;
	uint8_t rep[16];
	int fd;

	start(30000, 0, 0);
	fd = client();
	send(fd, "\x06", 1, 0);
	cr_assert_eq(read_all(fd, rep, sizeof(rep)), 0);
	cp_sync_get_stats(fx.sync, &st);
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(cp_sync_nb_streams(fx.sync), 0);
	close(fd);
	stop();
}

Test(cp_sync, stream_cap_refuses_extra_connections)
{
	struct cp_sync_stats st;
	int fds[3];

	start(0, 2, 0);
	for (int i = 0; i < 3; i++) {
		fds[i] = client();
		pump(5, NULL);
	}
	cp_sync_get_stats(fx.sync, &st);
	cr_assert_eq(st.accepted, 3);
	cr_assert_eq(st.refused_full, 1);
	cr_assert_eq(cp_sync_nb_streams(fx.sync), 2);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	stop();
}

Test(cp_sync, byte_cap_closes_stream)
{
	static const uint8_t hdr[] = {0x06, 0x83, 0xa4, 'J', 'o', 'i', 'n',
				      0xc3, 0xa5, 'N', 'o', 'd', 'e', 's',
				      0xcd, 0x01, 0x00, 0xac, 'U', 's', 'e',
				      'r', 'S', 't', 'a', 't', 'e', 'L', 'e',
				      'n', 0x00};
	static uint8_t junk[8192];
	struct cp_sync_stats st;
	int fd;

	start(0, 0, 4096);
	fd = client();
	send(fd, hdr, sizeof(hdr), 0);
	/* 256 node maps promised; send one huge fixstr-ish blob instead. */
	memset(junk, 0x87, sizeof(junk));
	send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
	pump(50, NULL);
	cp_sync_get_stats(fx.sync, &st);
	cr_assert_eq(st.too_big + st.bad_input, 1);
	cr_assert_eq(seen.nb_merge, 0);
	close(fd);
	stop();
}

/* Accept the engine's connection and read its request. */
static int
peer_accept(int lfd, uint8_t *buf, size_t cap, size_t *len)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 20000};
	int fd = -1;

	for (int i = 0; i < 200 && fd < 0; i++) {
		pump(1, NULL);
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	}
	cr_assert(fd >= 0);
	*len = 0;
	for (int i = 0; i < 50; i++) {
		ssize_t n;

		pump(1, NULL);
		n = recv(fd, buf + *len, cap - *len, 0);
		if (n > 0)
			*len += (size_t)n;
	}
	(void)tv;
	return fd;
}

Test(cp_sync, outbound_push_pull_merges_reply)
{
	uint8_t req[512], rep[512];
	struct swim_addr to;
	size_t len, rl;
	uint16_t port;
	int lfd, fd;

	start(0, 0, 0);
	lfd = peer_listen(&port);
	cp_addr_parse("127.0.0.1:1", 0, &to);
	to.port = port;
	cp_sync_push_pull(fx.sync, cp_now_us(), &to, true);
	fd = peer_accept(lfd, req, sizeof(req), &len);
	cr_assert_gt(len, 0);
	cr_assert_eq(req[0], SWIM_MSG_PUSH_PULL, "we push first");
	rl = make_push_pull(rep, sizeof(rep), true);
	send(fd, rep, rl, 0);
	pump(200, &seen.nb_pp_done);
	cr_assert_eq(seen.nb_pp_done, 1);
	cr_assert_eq(seen.pp_err, 0);
	cr_assert(seen.pp_join);
	cr_assert_eq(seen.nb_merge, 1);
	cr_assert_arr_eq(seen.merged, rep, rl);
	close(fd);
	close(lfd);
	stop();
}

Test(cp_sync, outbound_push_pull_failures)
{
	static const uint8_t err_rep[] = {0x0d, 0x81, 0xa5, 'E', 'r', 'r',
					  'o', 'r', 0xa1, 'x'};
	struct cp_sync_stats st;
	struct swim_addr to;
	uint8_t req[512];
	uint16_t port;
	size_t len;
	int lfd, fd;

	/* 1 s: the errResp step must answer within it even on a loaded
	 * 2-core runner (150 ms timed out there once in four runs). */
	start(1000000, 0, 0);
	lfd = peer_listen(&port);
	cp_addr_parse("127.0.0.1:1", 0, &to);
	/* connection refused */
	to.port = port;
	close(lfd);
	cp_sync_push_pull(fx.sync, cp_now_us(), &to, false);
	pump(200, &seen.nb_pp_done);
	cr_assert_eq(seen.nb_pp_done, 1);
	cr_assert_lt(seen.pp_err, 0);
	/* an errResp */
	seen.nb_pp_done = 0;
	lfd = peer_listen(&port);
	to.port = port;
	cp_sync_push_pull(fx.sync, cp_now_us(), &to, false);
	fd = peer_accept(lfd, req, sizeof(req), &len);
	send(fd, err_rep, sizeof(err_rep), 0);
	pump(200, &seen.nb_pp_done);
	cr_assert_eq(seen.pp_err, -EPROTO, "err %d", seen.pp_err);
	close(fd);
	/* silence: TCPTimeout */
	seen.nb_pp_done = 0;
	cp_sync_push_pull(fx.sync, cp_now_us(), &to, false);
	fd = peer_accept(lfd, req, sizeof(req), &len);
	pump(3000, &seen.nb_pp_done);
	cr_assert_eq(seen.pp_err, -ETIMEDOUT);
	cp_sync_get_stats(fx.sync, &st);
	cr_assert_eq(st.out_failed, 3);
	cr_assert_eq(st.err_replies, 1);
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(seen.nb_merge, 0);
	close(fd);
	close(lfd);
	stop();
}

Test(cp_sync, outbound_tcp_ping)
{
	struct swim_msg ack = {.type = SWIM_MSG_ACK};
	struct swim_msg ping;
	struct swim_addr to;
	uint8_t req[512], rep[64];
	uint16_t port;
	size_t len;
	int lfd, fd, n;

	start(0, 0, 0);
	lfd = peer_listen(&port);
	cp_addr_parse("127.0.0.1:1", 0, &to);
	to.port = port;
	cp_sync_ping(fx.sync, cp_now_us(), &to, "peer", 9,
		     cp_now_us() + 500000);
	fd = peer_accept(lfd, req, sizeof(req), &len);
	cr_assert_eq(swim_wire_decode_msg(req, len, &ping), 0);
	cr_assert_eq(ping.type, SWIM_MSG_PING);
	cr_assert_eq(ping.ping.seq_no, 9);
	cr_assert_arr_eq(ping.ping.node.ptr, "peer", 4);
	cr_assert_arr_eq(ping.ping.source_node.ptr, "me", 2);
	cr_assert_eq(ping.ping.source_port, 4242);
	ack.ack.seq_no = 9;
	n = swim_wire_encode_msg(&ack, rep, sizeof(rep));
	send(fd, rep, (size_t)n, 0);
	pump(200, &seen.nb_ping_done);
	cr_assert_eq(seen.nb_ping_done, 1);
	cr_assert(seen.ping_acked);
	cr_assert_eq(seen.ping_seq, 9);
	close(fd);
	/* a wrong SeqNo is a failure */
	seen.nb_ping_done = 0;
	cp_sync_ping(fx.sync, cp_now_us(), &to, "peer", 10,
		     cp_now_us() + 500000);
	fd = peer_accept(lfd, req, sizeof(req), &len);
	send(fd, rep, (size_t)n, 0);
	pump(200, &seen.nb_ping_done);
	cr_assert_eq(seen.nb_ping_done, 1);
	cr_assert_not(seen.ping_acked);
	close(fd);
	close(lfd);
	stop();
}

Test(cp_sync, listen_on_busy_port_names_address)
{
	struct cp_sync_cfg cfg;
	char err[256];
	uint16_t port;
	int lfd;

	start(0, 0, 0);
	lfd = peer_listen(&port);
	cp_sync_cfg_default(&cfg);
	cfg.epfd = fx.epfd;
	cp_addr_parse("127.0.0.1:1", 0, &cfg.bind);
	cfg.bind.port = port;
	cr_assert_null(cp_sync_new(&cfg, err, sizeof(err)));
	char want[128];

	snprintf(want, sizeof(want),
		 "listen tcp 127.0.0.1:%u: Address already in use", port);
	cr_assert_str_eq(err, want);
	close(lfd);
	stop();
}

Test(cp_sync_frame, pure_recognition)
{
	struct swim_msg m = {.type = SWIM_MSG_PING};
	uint8_t plain_msg[128], z[256];
	uint8_t *plain = NULL;
	size_t cap = 0;
	struct cp_frame f;
	int n, zl;

	m.ping.seq_no = 5;
	n = swim_wire_encode_msg(&m, plain_msg, sizeof(plain_msg));
	zl = swim_wire_encode_compress(plain_msg, (size_t)n, z, sizeof(z));
	cr_assert_gt(zl, 0);
	cr_assert_eq(cp_sync_frame(z, 0, &plain, &cap, 1 << 20, &f), 1);
	for (int i = 1; i < zl; i++)
		cr_assert_eq(cp_sync_frame(z, (size_t)i, &plain, &cap, 1 << 20,
					   &f), 1, "prefix %d", i);
	cr_assert_eq(cp_sync_frame(z, (size_t)zl, &plain, &cap, 1 << 20, &f),
		     0);
	cr_assert_eq(f.len, (size_t)n);
	cr_assert_eq(f.msg.ping.seq_no, 5);
	for (int i = 1; i < n; i++)
		cr_assert_eq(cp_sync_frame(plain_msg, (size_t)i, &plain, &cap,
					   1 << 20, &f), 1, "plain prefix %d", i);
	cr_assert_eq(cp_sync_frame((const uint8_t *)"\x0a\0", 2, &plain, &cap,
				   1 << 20, &f), CP_FRAME_ENCRYPTED);
	cr_assert_eq(cp_sync_frame((const uint8_t *)"\x07\x01", 2, &plain,
				   &cap, 1 << 20, &f), CP_FRAME_UNKNOWN);
	cr_assert_eq(cp_sync_frame((const uint8_t *)"\x08\xc3", 2, &plain,
				   &cap, 1 << 20, &f), SWIM_WIRE_E_TYPE,
		     "user header must be a map");
	free(plain);
}

/* The TCP socket in this process whose peer is on port `peer` (and,
 * when local != 0, whose own port is `local`): the engine's end. */
static int
tcp_fd_between(uint16_t local, uint16_t peer)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_in l, p;
		socklen_t ll = sizeof(l), pl = sizeof(p);

		if (getsockname(fd, (struct sockaddr *)&l, &ll) != 0 ||
		    getpeername(fd, (struct sockaddr *)&p, &pl) != 0 ||
		    l.sin_family != AF_INET || ntohs(p.sin_port) != peer)
			continue;
		if (local == 0 || ntohs(l.sin_port) == local)
			return fd;
	}
	return -1;
}

static int
nodelay_of(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0);
	return v;
}

/* Small turns (delta sync, TCP pings) must not wait for delayed ACKs. */
Test(cp_sync, streams_both_ways_send_without_nagle)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct swim_addr to;
	uint16_t port;
	int lfd, fd, efd;

	start(0, 0, 0);
	fd = client();
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	pump(50, NULL);		/* the engine accepts */
	efd = tcp_fd_between(cp_sync_port(fx.sync), ntohs(sa.sin_port));
	cr_assert_geq(efd, 0, "the engine holds the accepted stream");
	cr_assert_eq(nodelay_of(efd), 1, "accepted stream: TCP_NODELAY");
	cr_assert_eq(nodelay_of(fd), 0, "a plain socket keeps Nagle");
	close(fd);

	lfd = peer_listen(&port);
	cp_addr_parse("127.0.0.1:1", 0, &to);
	to.port = port;
	cp_sync_push_pull(fx.sync, cp_now_us(), &to, true);
	efd = tcp_fd_between(0, port);
	cr_assert_geq(efd, 0, "the engine connected to the peer");
	cr_assert_eq(nodelay_of(efd), 1, "outbound stream: TCP_NODELAY");
	close(lfd);
	stop();
}
