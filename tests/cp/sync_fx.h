/* SPDX-License-Identifier: MIT */
/*
 * The TCP sync engine's test rig (test_cp_sync.c, test_cp_crypt.c): an
 * engine on 127.0.0.1:<any> whose handler is a fake recording what the
 * engine hands it, its reactor pumped from the test thread, and plain
 * loopback clients and listeners. Header only; include once per test
 * file (it defines the rig's state).
 */
#ifndef SYNC_FX_H_INCLUDED
#define SYNC_FX_H_INCLUDED

#include <criterion/criterion.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cp.h"
#include "swim_wire.h"

/* What the fake handler saw; zeroed by sync_fx_cfg. */
static struct {
	int nb_local, nb_merge, nb_pp_done, nb_ping_done, nb_user;
	bool last_join;			/* local_state's join flag */
	uint8_t merged[4096];
	size_t merged_len;
	int pp_err;
	bool pp_join;
	uint32_t ping_seq;
	bool ping_acked;
	uint8_t user[256];
	size_t user_len;
} seen;

/* The engine under test and its epoll set. */
static struct {
	int epfd;
	struct cp_sync *sync;
} fx = { .epfd = -1 };

/* Our canned push/pull: header (Nodes 0, no user state). */
static inline size_t
fake_local_state(void *ctx, bool join, uint8_t *out, size_t cap)
{
	struct swim_push_pull_header h = {.join = join};

	(void)ctx;
	seen.nb_local++;
	seen.last_join = join;
	return (size_t)swim_wire_encode_push_pull_header(&h, out, cap);
}

static inline int
fake_merge(void *ctx, uint64_t now_us, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)now_us;
	seen.nb_merge++;
	seen.merged_len = len < sizeof(seen.merged) ? len : sizeof(seen.merged);
	memcpy(seen.merged, buf, seen.merged_len);
	return 0;
}

static inline void
fake_pp_done(void *ctx, uint64_t now_us, const struct swim_addr *to,
	     bool join, int err)
{
	(void)ctx;
	(void)now_us;
	(void)to;
	seen.nb_pp_done++;
	seen.pp_err = err;
	seen.pp_join = join;
}

static inline void
fake_ping_done(void *ctx, uint64_t now_us, uint32_t seq_no, bool acked)
{
	(void)ctx;
	(void)now_us;
	seen.nb_ping_done++;
	seen.ping_seq = seq_no;
	seen.ping_acked = acked;
}

static inline void
fake_user(void *ctx, uint64_t now_us, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)now_us;
	seen.nb_user++;
	seen.user_len = len < sizeof(seen.user) ? len : sizeof(seen.user);
	memcpy(seen.user, data, seen.user_len);
}

/*
 * A fresh epoll set and the engine's config: "me" on 127.0.0.1:<any>
 * advertising port 4242, the fake handler. The caller adjusts cfg, then
 * calls sync_fx_start.
 */
static inline void
sync_fx_cfg(struct cp_sync_cfg *cfg)
{
	memset(&seen, 0, sizeof(seen));
	fx.epfd = epoll_create1(0);
	cr_assert_geq(fx.epfd, 0);
	cp_sync_cfg_default(cfg);
	cfg->epfd = fx.epfd;
	cp_addr_parse("127.0.0.1:1", 0, &cfg->bind);
	cfg->bind.port = 0;
	cfg->advertise = cfg->bind;
	cfg->advertise.port = 4242;
	cfg->name = "me";
	cfg->h = (struct cp_sync_handler){
		.local_state = fake_local_state, .merge = fake_merge,
		.push_pull_done = fake_pp_done, .ping_done = fake_ping_done,
		.user_msg = fake_user,
	};
}

static inline void
sync_fx_start(const struct cp_sync_cfg *cfg)
{
	char err[256];

	fx.sync = cp_sync_new(cfg, err, sizeof(err));
	cr_assert_not_null(fx.sync, "%s", err);
}

static inline void
sync_fx_stop(void)
{
	cp_sync_delete(fx.sync);
	fx.sync = NULL;
	close(fx.epfd);
	fx.epfd = -1;
}

/* Run the reactor for up to ms, or until *flag becomes non-zero. */
static inline void
pump(int ms, const int *flag)
{
	uint64_t end = cp_now_us() + (uint64_t)ms * 1000;

	while (cp_now_us() < end && (flag == NULL || *flag == 0)) {
		cp_io_poll(fx.epfd, 1);
		cp_sync_expire(fx.sync, cp_now_us());
	}
}

/* A blocking client connected to the engine; reads time out after 10 ms. */
static inline int
client(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 10000};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons(cp_sync_port(fx.sync));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Read what the other side sends until it closes (pumping meanwhile). */
static inline size_t
read_all(int fd, uint8_t *buf, size_t cap)
{
	size_t len = 0;

	for (int i = 0; i < 300; i++) {
		ssize_t n;

		pump(1, NULL);
		n = recv(fd, buf + len, cap - len, 0);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	return len;
}

/* A scripted peer: a listener the engine connects to. */
static inline int
peer_listen(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	return fd;
}

#endif /* SYNC_FX_H_INCLUDED */
