/* SPDX-License-Identifier: MIT */
/*
 * memberlist's TCP streams, non-blocking (memberlist-wire.md §7): the
 * engine. It owns the listener on our gossip IP:port and the table of
 * streams; it accepts inbound streams, starts the outbound push/pulls and
 * TCP pings the core asks for, and expires streams past their deadline.
 * One exchange per connection, then close. A stream's I/O lives in
 * cp_sync_stream.c, what its message means in cp_sync_exchange.c.
 *
 * Never decides membership: the bytes go to the owner's callbacks
 * (struct cp_sync_handler), which call the core. Runs on the control
 * thread only; never blocks (every fd is O_NONBLOCK and driven by the
 * reactor). Caps, as memberlist: at most max_streams streams, max_bytes
 * per stream, TCPTimeout per phase.
 */
#include "cp_sync_int.h"
#include "cp_sync_delta.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swim_sealed_stream.h"
#include "swim_wire.h"

void
cp_sync_cfg_default(struct cp_sync_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->epfd = -1;
	cfg->tcp_timeout_us = 10ull * 1000 * 1000;	/* LAN TCPTimeout */
	cfg->max_streams = CP_SYNC_MAX_STREAMS;
	cfg->max_bytes = CP_SYNC_MAX_BYTES;
}

/* struct swim_addr -> sockaddr for bind/connect. */
static socklen_t
cp_sockaddr(const struct swim_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->ip_len == 16) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

/* sockaddr -> struct swim_addr, for accepted peers. */
static void
cp_swim_addr(const struct sockaddr_storage *ss, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		a->ip_len = 16;
		memcpy(a->ip, &s6->sin6_addr, 16);
		a->port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		a->ip_len = 4;
		memcpy(a->ip, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
	}
}

/* --- listener and outbound starts --- */

/* Accept every pending connection; over the cap, close at once. */
static void
cp_sync_on_accept(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp_sync *sync = io->ctx;

	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct cp_sess *s;
		int fd;

		fd = accept4(io->fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		sync->st.accepted++;
		s = cp_sess_new(sync, fd, CP_SESS_IN, now_us);
		if (s == NULL) {
			/* memberlist closes without a reply too. */
			sync->st.refused_full++;
			close(fd);
			continue;
		}
		cp_swim_addr(&ss, &s->peer);
		s->state = CP_SESS_READING;
		if (cp_io_add(sync->cfg.epfd, &s->io, EPOLLIN) != 0)
			cp_sess_close(s);
	}
}

/* Non-blocking listener socket on addr. @retval fd or -errno. */
static int
cp_sync_listen(const struct swim_addr *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = cp_sockaddr(addr, &ss);
	int one = 1;
	int fd, rc;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, SOMAXCONN) != 0)
		goto out_close;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto out_close;
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
out_close:
	rc = -errno;
	close(fd);
	return rc;
}

struct cp_sync *
cp_sync_new(const struct cp_sync_cfg *cfg, char *err, size_t errlen)
{
	char as[CP_ADDR_STRLEN];
	struct cp_sync *sync;
	int fd;

	sync = calloc(1, sizeof(*sync));
	if (sync == NULL)
		goto out_nomem;
	sync->cfg = *cfg;
	snprintf(sync->name, sizeof(sync->name), "%s",
		 cfg->name != NULL ? cfg->name : "");
	sync->cfg.name = sync->name;
	sync->sess = calloc(cfg->max_streams, sizeof(*sync->sess));
	if (sync->sess == NULL)
		goto out_free;
	fd = cp_sync_listen(&cfg->bind, &sync->port);
	if (fd < 0) {
		snprintf(err, errlen, "listen tcp %s: %s",
			 cp_addr_str(&cfg->bind, as, sizeof(as)),
			 strerror(-fd));
		free(sync->sess);
		free(sync);
		return NULL;
	}
	sync->listen_io.fd = fd;
	sync->listen_io.on_event = cp_sync_on_accept;
	sync->listen_io.ctx = sync;
	if (cp_io_add(cfg->epfd, &sync->listen_io, EPOLLIN) == 0)
		return sync;
	close(fd);
out_free:
	free(sync->sess);
	free(sync);
out_nomem:
	snprintf(err, errlen, "tcp sync: out of memory or bad epoll fd");
	return NULL;
}

void
cp_sync_delete(struct cp_sync *sync)
{
	if (sync == NULL)
		return;
	for (unsigned i = 0; i < sync->cfg.max_streams; i++)
		if (sync->sess[i] != NULL)
			cp_sess_close(sync->sess[i]);
	cp_io_del(sync->cfg.epfd, &sync->listen_io);
	close(sync->listen_io.fd);
	cp_sync_delta_fini(sync);
	free(sync->sess);
	free(sync);
}

uint16_t
cp_sync_port(const struct cp_sync *sync)
{
	return sync->port;
}

/* Open a connection to `to` carrying tx; failures are reported by caller. */
struct cp_sess *
cp_sync_connect(struct cp_sync *sync, uint64_t now_us,
		const struct swim_addr *to, enum cp_sess_kind kind)
{
	struct sockaddr_storage ss;
	socklen_t sl = cp_sockaddr(to, &ss);
	struct cp_sess *s;
	int fd;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return NULL;
	}
	s = cp_sess_new(sync, fd, kind, now_us);
	if (s == NULL) {
		close(fd);
		return NULL;
	}
	s->peer = *to;
	s->state = CP_SESS_CONNECTING;
	if (cp_io_add(sync->cfg.epfd, &s->io, EPOLLOUT) != 0) {
		cp_sess_close(s);
		return NULL;
	}
	return s;
}

/* cp_sync_push_pull with our state streamed from the encoder (sealed
 * into chunks when is_sealed: cp_sync_sealed.c). */
static void
cp_sync_push_pull_streamed(struct cp_sync *sync, uint64_t now_us,
			   const struct swim_addr *to, bool join,
			   bool is_sealed)
{
	const struct cp_sync_handler *h = &sync->cfg.h;
	struct cp_sess *s = cp_sync_connect(sync, now_us, to, CP_SESS_OUT_PP);

	if (s != NULL) {
		s->join = join;
		if (cp_sess_pp_out_start(s, join) == 0 &&
		    (!is_sealed || cp_sst_out_start(s) == 0))
			return;
		cp_sess_close(s);
	}
	sync->st.out_failed++;
	h->push_pull_done(h->ctx, now_us, to, join, -EAGAIN);
}

void
cp_sync_push_pull(struct cp_sync *sync, uint64_t now_us,
		  const struct swim_addr *to, bool join)
{
	cp_sync_push_pull_node(sync, now_us, to, NULL, join);
}

void
cp_sync_push_pull_node(struct cp_sync *sync, uint64_t now_us,
		       const struct swim_addr *to, const char *node,
		       bool join)
{
	const struct cp_sync_handler *h = &sync->cfg.h;
	bool is_sealed = sync->cfg.keyring != NULL;
	int caps = is_sealed ? cp_sst_peer_caps(sync, node, to) : 0;
	struct cp_sess *s;
	uint8_t *tx;
	size_t len;

	/* plain, or sealed to a peer known to read chunks: streamed */
	if (h->pp != NULL && (!is_sealed || (caps > 0 &&
			      (caps & SWIM_CAP_SEALED_STREAM) != 0))) {
		cp_sync_push_pull_streamed(sync, now_us, to, join, is_sealed);
		return;
	}
	tx = cp_sync_local_state(sync, join, &len);
	/* a state past one sealed frame: no memberlist peer could read it,
	 * a stranger may be a gossipd that reads chunks */
	if (tx != NULL && is_sealed && h->pp != NULL && caps < 0 &&
	    len + SWIM_CRYPTO_STREAM_OVERHEAD > SWIM_CRYPTO_STREAM_MAX) {
		free(tx);
		cp_sync_push_pull_streamed(sync, now_us, to, join, true);
		return;
	}
	/* memberlist's single frame; a peer we do not know (a join to an
	 * address) is asked for a chunked reply, which memberlist ignores */
	if (tx != NULL && is_sealed && h->pp != NULL && caps < 0)
		(void)cp_sst_mark_request(&tx, &len);	/* else: unmarked */
	s = tx != NULL ? cp_sync_connect(sync, now_us, to, CP_SESS_OUT_PP)
		       : NULL;
	if (s == NULL) {
		free(tx);
		sync->st.out_failed++;
		h->push_pull_done(h->ctx, now_us, to, join, -EAGAIN);
		return;
	}
	s->join = join;
	if (cp_sync_seal(sync, &tx, &len) != 0) {
		free(tx);
		cp_sess_close(s);
		sync->st.out_failed++;
		h->push_pull_done(h->ctx, now_us, to, join, -ENOMEM);
		return;
	}
	s->tx = tx;
	s->tx_len = len;
}

void
cp_sync_ping(struct cp_sync *sync, uint64_t now_us,
	     const struct swim_addr *to, const char *node, uint32_t seq_no,
	     uint64_t deadline_us)
{
	const struct cp_sync_handler *h = &sync->cfg.h;
	struct swim_msg m;
	struct cp_sess *s = NULL;
	uint8_t buf[512];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = SWIM_MSG_PING;
	m.ping.seq_no = seq_no;
	m.ping.node = (struct swim_str){(const uint8_t *)node,
					(uint32_t)strlen(node)};
	m.ping.source_addr = (struct swim_str){sync->cfg.advertise.ip,
					       sync->cfg.advertise.ip_len};
	m.ping.source_node = (struct swim_str){(const uint8_t *)sync->name,
					       (uint32_t)strlen(sync->name)};
	m.ping.source_port = sync->cfg.advertise.port;
	n = swim_wire_encode_msg(&m, buf, sizeof(buf));
	if (n > 0)
		s = cp_sync_connect(sync, now_us, to, CP_SESS_OUT_PING);
	if (s == NULL || cp_sess_send_copy(s, buf, (size_t)n) != 0) {
		if (s != NULL)
			cp_sess_close(s);
		sync->st.out_failed++;
		h->ping_done(h->ctx, now_us, seq_no, false);
		return;
	}
	/* cp_sess_send set WRITING; stay CONNECTING until connect ends. */
	s->state = CP_SESS_CONNECTING;
	s->seq_no = seq_no;
	s->deadline_us = deadline_us;
}

void
cp_sync_expire(struct cp_sync *sync, uint64_t now_us)
{
	/* idle: no stream open, nothing to scan */
	for (unsigned i = 0; i < sync->cfg.max_streams && sync->nb_sess > 0;
	     i++) {
		struct cp_sess *s = sync->sess[i];

		if (s == NULL || now_us < s->deadline_us)
			continue;
		sync->st.timeouts++;
		cp_sess_fail(s, now_us, -ETIMEDOUT);
	}
	cp_sync_delta_tick(sync, now_us);	/* its interval's exchange */
}

unsigned
cp_sync_nb_streams(const struct cp_sync *sync)
{
	return sync->nb_sess;
}

void
cp_sync_get_stats(const struct cp_sync *sync, struct cp_sync_stats *st)
{
	*st = sync->st;
	cp_sync_delta_stats(sync, st);
}

void
cp_sync_set_keyring(struct cp_sync *sync, const struct swim_keyring *ring)
{
	/* control thread only, between stream calls: nothing reads it now */
	sync->cfg.keyring = ring;
}
