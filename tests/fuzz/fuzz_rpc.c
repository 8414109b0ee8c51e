/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the Serf agent RPC server: the real cp_rpc server over
 * the fake control plane (tests/cp/rpc_fake.c), fed one client stream per
 * input through a loopback TCP connection. Whatever the bytes, the server
 * must not crash, hang or stop serving: after every input a well-formed
 * handshake on a fresh connection still gets its reply.
 *
 * Input layout: the first byte picks how the stream is cut into writes
 * (1..32 bytes per write, or all at once), the rest is the stream itself.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_rpc.h"
#include "rpc_fake.h"

/* Server turns after the last write, for replies to drain. */
#define FUZZ_RPC_TURNS 64
/* At most this many writes per input (a cut of 1 byte on a long input). */
#define FUZZ_RPC_WRITES 4096

static struct rpc_fake fuzz_fake;
static struct cp_rpc *fuzz_rpc;
static uint64_t fuzz_now_ms;

static void
fuzz_rpc_start(void)
{
	struct cp_rpc_cfg cfg;
	char err[256];

	cp_rpc_cfg_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	rpc_fake_init(&fuzz_fake, 7946, false);
	rpc_fake_ops(&fuzz_fake, &cfg.ops);
	fuzz_rpc = cp_rpc_new(&cfg, err, sizeof(err));
	if (fuzz_rpc == NULL) {
		fprintf(stderr, "fuzz_rpc: %s\n", err);
		abort();
	}
	fuzz_fake.rpc = fuzz_rpc;
}

/* A client connected to the server, closed with RST (no TIME_WAIT). */
static int
fuzz_rpc_connect(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(cp_rpc_port(fuzz_rpc)),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		abort();
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS)
		abort();
	return fd;
}

/* One server turn, then read (and drop) whatever the client got. */
static size_t
fuzz_rpc_turn(int fd)
{
	static char sink[1 << 16];
	size_t got = 0;
	ssize_t n;

	fuzz_now_ms += 5;
	rpc_fake_tick(&fuzz_fake, fuzz_now_ms);
	if (cp_rpc_poll(fuzz_rpc, 0) < 0)
		abort();
	while ((n = read(fd, sink, sizeof(sink))) > 0)
		got += (size_t)n;
	return got;
}

/* Write the stream in cuts of `cut` bytes (0: as much as fits). */
static void
fuzz_rpc_feed(int fd, const uint8_t *p, size_t len, size_t cut)
{
	size_t off = 0;

	for (int w = 0; off < len && w < FUZZ_RPC_WRITES; w++) {
		size_t n = len - off;
		ssize_t put;

		if (cut != 0 && n > cut)
			n = cut;
		put = send(fd, p + off, n, MSG_NOSIGNAL);
		if (put > 0)
			off += (size_t)put;
		fuzz_rpc_turn(fd);
	}
	for (int turn = 0; turn < FUZZ_RPC_TURNS; turn++)
		fuzz_rpc_turn(fd);
}

/* The server still answers a handshake on a new connection. */
static void
fuzz_rpc_check_alive(void)
{
	/* {"Command": "handshake", "Seq": 0} {"Version": 1} */
	static const uint8_t hs[] = {
		0x82, 0xa7, 'C', 'o', 'm', 'm', 'a', 'n', 'd',
		0xa9, 'h', 'a', 'n', 'd', 's', 'h', 'a', 'k', 'e',
		0xa3, 'S', 'e', 'q', 0x00,
		0x81, 0xa7, 'V', 'e', 'r', 's', 'i', 'o', 'n', 0x01,
	};
	int fd = fuzz_rpc_connect();
	size_t got = 0;

	for (int turn = 0; turn < FUZZ_RPC_TURNS && got == 0; turn++) {
		if (turn == 1 && send(fd, hs, sizeof(hs), MSG_NOSIGNAL) !=
				     (ssize_t)sizeof(hs))
			abort();
		got = fuzz_rpc_turn(fd);
	}
	if (got == 0) {
		fprintf(stderr, "fuzz_rpc: server stopped answering\n");
		abort();
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut;
	int fd;

	if (fuzz_rpc == NULL)
		fuzz_rpc_start();
	if (size == 0)
		return 0;
	cut = data[0] % 33;
	fd = fuzz_rpc_connect();
	fuzz_rpc_feed(fd, data + 1, size - 1, cut);
	close(fd);
	fuzz_rpc_turn(-1);	/* let the server see the reset */
	fuzz_rpc_check_alive();
	return 0;
}
