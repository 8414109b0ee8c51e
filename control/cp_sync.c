/* SPDX-License-Identifier: MIT */
/*
 * memberlist's TCP streams, non-blocking (memberlist-wire.md §7): the
 * listener on our gossip IP:port, inbound push/pull, TCP ping and user
 * message streams, and the outbound push/pulls and TCP pings the core asks
 * for. One exchange per connection, then close.
 *
 * Owns: the sockets and per-stream buffers. Never decides membership: the
 * bytes go to the owner's callbacks (struct cp_sync_handler), which call the
 * core. Runs on the control thread only; never blocks (every fd is
 * O_NONBLOCK and driven by the reactor). Caps, as memberlist: at most
 * max_streams streams, max_bytes per stream, TCPTimeout per phase.
 */
#include "cp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <msgpuck.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swim_crypto.h"
#include "swim_wire.h"

/* --- streams --- */

/* Stream errors of an encrypting engine (beside cp.h's CP_FRAME_*). */
enum {
	CP_SYNC_E_PLAIN = -1100,	/* keyring set, stream not sealed */
	CP_SYNC_E_OPEN = -1101,		/* no installed key opens it */
};

/* memberlist's texts for those two, in the errResp it sends back. */
#define CP_SYNC_ERR_PLAIN \
	"Encryption is configured but remote state is not encrypted"
#define CP_SYNC_ERR_OPEN "No installed keys could decrypt the message"

/* Which exchange a stream carries, by who opened it. */
enum cp_sess_kind {
	CP_SESS_IN,		/* accepted: we answer whatever arrives */
	CP_SESS_OUT_PP,		/* we push, then read their push/pull */
	CP_SESS_OUT_PING,	/* we ping, then read the ack */
};

enum cp_sess_state {
	CP_SESS_CONNECTING,	/* outbound: connect() in progress */
	CP_SESS_READING,	/* waiting for the peer's message */
	CP_SESS_WRITING,	/* flushing tx; inbound closes after */
};

/* One TCP exchange. Allocated per connection, freed on close. */
struct cp_sess {
	struct cp_io io;		/* fd + dispatch; io.ctx = this */
	struct cp_sync *sync;		/* owner */
	unsigned slot;			/* index in sync->sess */
	enum cp_sess_kind kind;
	enum cp_sess_state state;
	struct swim_addr peer;		/* remote address */
	bool join;			/* OUT_PP: the Join flag */
	uint32_t seq_no;		/* OUT_PING: seq to match */
	uint64_t deadline_us;		/* close (and fail) after this */
	uint8_t *rx;			/* bytes read so far */
	size_t rx_len;
	size_t rx_cap;
	uint8_t *tx;			/* bytes to write */
	size_t tx_len;
	size_t tx_off;
	uint8_t *plain;			/* inflated message (0x09) */
	size_t plain_cap;
	/* keyring: rx now holds the opened plaintext of the 0x0a frame */
	bool is_opened;
};

struct cp_sync {
	struct cp_sync_cfg cfg;		/* copy; cfg.name = name */
	char name[SWIM_NAME_MAX + 1];	/* our node name */
	struct cp_io listen_io;		/* the listener */
	uint16_t port;			/* bound port */
	struct cp_sess **sess;		/* max_streams slots; NULL free */
	unsigned nb_sess;
	struct cp_sync_stats st;
};

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

static void cp_sess_on_event(struct cp_io *io, uint32_t events,
			     uint64_t now_us);

/* Take a free slot and wrap fd in a new session. NULL when full. */
static struct cp_sess *
cp_sess_new(struct cp_sync *sync, int fd, enum cp_sess_kind kind,
	    uint64_t now_us)
{
	struct cp_sess *s;
	unsigned i;

	if (sync->nb_sess >= sync->cfg.max_streams)
		return NULL;
	for (i = 0; i < sync->cfg.max_streams; i++)
		if (sync->sess[i] == NULL)
			break;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->io.fd = fd;
	s->io.on_event = cp_sess_on_event;
	s->io.ctx = s;
	s->sync = sync;
	s->slot = i;
	s->kind = kind;
	s->deadline_us = now_us + sync->cfg.tcp_timeout_us;
	sync->sess[i] = s;
	sync->nb_sess++;
	return s;
}

/* Close and free; the owner has already been told the outcome. */
static void
cp_sess_close(struct cp_sess *s)
{
	struct cp_sync *sync = s->sync;

	cp_io_del(sync->cfg.epfd, &s->io);
	close(s->io.fd);
	sync->sess[s->slot] = NULL;
	sync->nb_sess--;
	free(s->rx);
	free(s->tx);
	free(s->plain);
	free(s);
}

/* Report an outbound failure (once) and close. */
static void
cp_sess_fail(struct cp_sess *s, uint64_t now_us, int err)
{
	const struct cp_sync_handler *h = &s->sync->cfg.h;

	switch (s->kind) {
	case CP_SESS_IN:
		break;
	case CP_SESS_OUT_PP:
		s->sync->st.out_failed++;
		if (h->push_pull_done != NULL)
			h->push_pull_done(h->ctx, now_us, &s->peer, s->join,
					  err < 0 ? err : -1);
		break;
	case CP_SESS_OUT_PING:
		s->sync->st.out_failed++;
		if (h->ping_done != NULL)
			h->ping_done(h->ctx, now_us, s->seq_no, false);
		break;
	}
	cp_sess_close(s);
}

/*
 * With a keyring, replace *buf (malloc'ed, len bytes) by its sealed 0x0a
 * frame, as memberlist's rawSendMsgStream does for everything it writes.
 * @retval 0, or -ENOMEM / -EMSGSIZE (then *buf is unchanged).
 */
static int
cp_sync_seal(const struct cp_sync *sync, uint8_t **buf, size_t *len)
{
	size_t cap = *len + SWIM_CRYPTO_STREAM_OVERHEAD;
	uint8_t *out;
	int n;

	if (sync->cfg.keyring == NULL)
		return 0;
	out = malloc(cap);
	if (out == NULL)
		return -ENOMEM;
	n = swim_crypto_seal_stream(sync->cfg.keyring, *buf, *len, out, cap);
	if (n < 0) {
		free(out);
		return -EMSGSIZE;
	}
	free(*buf);
	*buf = out;
	*len = (size_t)n;
	return 0;
}

/* Queue bytes to write (takes ownership of buf) and switch to writing. */
static int
cp_sess_send(struct cp_sess *s, uint8_t *buf, size_t len)
{
	if (cp_sync_seal(s->sync, &buf, &len) != 0) {
		free(buf);
		return -ENOMEM;
	}
	free(s->tx);
	s->tx = buf;
	s->tx_len = len;
	s->tx_off = 0;
	s->state = CP_SESS_WRITING;
	return cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLOUT);
}

/* Copy bytes into a fresh tx buffer and send them. */
static int
cp_sess_send_copy(struct cp_sess *s, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len);

	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, buf, len);
	return cp_sess_send(s, copy, len);
}

/* errResp{Error: text}, as memberlist writes it on a failed stream. */
static size_t
cp_sync_encode_err(const char *text, uint8_t *out, size_t cap)
{
	size_t tl = strlen(text);
	uint8_t *p = out;

	if (cap < tl + 16)
		return 0;
	*p++ = SWIM_MSG_ERR;
	*p++ = 0x81;
	p = swim_mp_encode_strl(p, 5);
	memcpy(p, "Error", 5);
	p += 5;
	p = swim_mp_encode_strl(p, (uint32_t)tl);
	memcpy(p, text, tl);
	return (size_t)(p + tl - out);
}

/* Answer an unreadable inbound stream with errResp, then close. */
static void
cp_sess_reply_err(struct cp_sess *s, const char *text)
{
	uint8_t buf[256];
	size_t n = cp_sync_encode_err(text, buf, sizeof(buf));

	if (n == 0 || cp_sess_send_copy(s, buf, n) != 0)
		cp_sess_close(s);
}

/* --- handling a complete message --- */

/* Reply to an inbound push/pull with ours, then merge theirs. */
static void
cp_sess_in_push_pull(struct cp_sess *s, uint64_t now_us,
		     const struct cp_frame *f)
{
	const struct cp_sync_handler *h = &s->sync->cfg.h;
	size_t cap = 64 * 1024;
	uint8_t *out = NULL;
	size_t n = 0;

	for (int tries = 0; tries < 2; tries++) {
		free(out);
		out = malloc(cap);
		if (out == NULL)
			break;
		n = h->local_state(h->ctx, f->hdr.join, out, cap);
		if (n <= cap)
			break;
		cap = n;
	}
	if (out == NULL || n == 0 || n > cap) {
		free(out);
		cp_sess_reply_err(s, "failed to encode local state");
		return;
	}
	s->sync->st.in_push_pull++;
	/* memberlist sends its state first, then merges the remote one. */
	if (cp_sess_send(s, out, n) != 0) {
		cp_sess_close(s);
		return;
	}
	h->merge(h->ctx, now_us, f->buf, f->len);
}

/* Ack an inbound TCP ping meant for us. */
static void
cp_sess_in_ping(struct cp_sess *s, const struct cp_frame *f)
{
	const struct swim_ping *p = &f->msg.ping;
	struct swim_msg ack;
	uint8_t buf[64];
	int n;

	if (p->node.len != 0 && (p->node.len != strlen(s->sync->name) ||
				 memcmp(p->node.ptr, s->sync->name,
					p->node.len) != 0)) {
		/* memberlist: "Got ping for unexpected node", no reply. */
		s->sync->st.bad_input++;
		cp_sess_close(s);
		return;
	}
	memset(&ack, 0, sizeof(ack));
	ack.type = SWIM_MSG_ACK;
	ack.ack.seq_no = p->seq_no;
	n = swim_wire_encode_msg(&ack, buf, sizeof(buf));
	if (n <= 0 || cp_sess_send_copy(s, buf, (size_t)n) != 0) {
		cp_sess_close(s);
		return;
	}
	s->sync->st.in_ping++;
}

/* An inbound stream carried one whole message: answer it. */
static void
cp_sess_in_msg(struct cp_sess *s, uint64_t now_us, const struct cp_frame *f)
{
	const struct cp_sync_handler *h = &s->sync->cfg.h;

	switch (f->buf[0]) {
	case SWIM_MSG_PUSH_PULL:
		cp_sess_in_push_pull(s, now_us, f);
		return;
	case SWIM_MSG_PING:
		cp_sess_in_ping(s, f);
		return;
	case SWIM_MSG_USER:
		s->sync->st.in_user++;
		if (h->user_msg != NULL && f->user.len > 0)
			h->user_msg(h->ctx, now_us, f->user.ptr, f->user.len);
		cp_sess_close(s);
		return;
	default:
		s->sync->st.bad_input++;
		cp_sess_close(s);
		return;
	}
}

/* An outbound stream got its reply: merge or match it, report, close. */
static void
cp_sess_out_msg(struct cp_sess *s, uint64_t now_us, const struct cp_frame *f)
{
	const struct cp_sync_handler *h = &s->sync->cfg.h;
	int rc;

	if (f->buf[0] == SWIM_MSG_ERR) {
		s->sync->st.err_replies++;
		cp_sess_fail(s, now_us, -EPROTO);
		return;
	}
	if (s->kind == CP_SESS_OUT_PING) {
		if (f->buf[0] != SWIM_MSG_ACK ||
		    f->msg.ack.seq_no != s->seq_no) {
			s->sync->st.bad_input++;
			cp_sess_fail(s, now_us, -EPROTO);
			return;
		}
		s->sync->st.out_ok++;
		h->ping_done(h->ctx, now_us, s->seq_no, true);
		cp_sess_close(s);
		return;
	}
	if (f->buf[0] != SWIM_MSG_PUSH_PULL) {
		s->sync->st.bad_input++;
		cp_sess_fail(s, now_us, -EPROTO);
		return;
	}
	rc = h->merge(h->ctx, now_us, f->buf, f->len);
	if (rc < 0) {
		cp_sess_fail(s, now_us, rc);
		return;
	}
	s->sync->st.out_ok++;
	h->push_pull_done(h->ctx, now_us, &s->peer, s->join, 0);
	cp_sess_close(s);
}

/* A whole message or a framing error arrived on s. */
static void
cp_sess_got(struct cp_sess *s, uint64_t now_us, int rc,
	    const struct cp_frame *f)
{
	if (rc == 0) {
		if (s->kind == CP_SESS_IN)
			cp_sess_in_msg(s, now_us, f);
		else
			cp_sess_out_msg(s, now_us, f);
		return;
	}
	if (rc == CP_SYNC_E_PLAIN || rc == CP_SYNC_E_OPEN) {
		/* memberlist's readStream errors, sent back sealed */
		s->sync->st.bad_input++;
		if (s->kind == CP_SESS_IN)
			cp_sess_reply_err(s, rc == CP_SYNC_E_PLAIN ?
					  CP_SYNC_ERR_PLAIN : CP_SYNC_ERR_OPEN);
		else
			cp_sess_fail(s, now_us, -EPROTO);
		return;
	}
	if (rc == CP_FRAME_ENCRYPTED) {
		s->sync->st.encrypted++;
		if (s->kind == CP_SESS_IN)
			cp_sess_reply_err(s, CP_SYNC_ERR_ENCRYPTED);
		else
			cp_sess_fail(s, now_us, -EPROTO);
		return;
	}
	s->sync->st.bad_input++;
	if (s->kind == CP_SESS_IN && rc != CP_FRAME_UNKNOWN)
		cp_sess_reply_err(s, swim_wire_strerror(rc));
	else
		cp_sess_fail(s, now_us, -EPROTO);
}

/* --- socket I/O --- */

/* Make room for more bytes; false when the byte cap is reached. */
static bool
cp_sess_rx_grow(struct cp_sess *s)
{
	size_t max = s->sync->cfg.max_bytes;
	size_t cap;
	uint8_t *p;

	if (s->rx_len < s->rx_cap)
		return true;
	if (s->rx_cap >= max)
		return false;
	cap = s->rx_cap == 0 ? 4096 : s->rx_cap * 2;
	if (cap > max)
		cap = max;
	p = realloc(s->rx, cap);
	if (p == NULL)
		return false;
	s->rx = p;
	s->rx_cap = cap;
	return true;
}

/*
 * With a keyring: once the whole 0x0a frame is in rx, replace rx by its
 * plaintext, which the frame parser then reads like a plain stream.
 * @retval 0 (opened, or no keyring), 1 need more bytes, or
 *         CP_SYNC_E_PLAIN / CP_SYNC_E_OPEN / SWIM_WIRE_E_NOSPACE.
 */
static int
cp_sess_open(struct cp_sess *s)
{
	const struct swim_keyring *ring = s->sync->cfg.keyring;
	long flen;
	uint8_t *out;
	int n;

	if (ring == NULL || s->is_opened)
		return 0;
	if (s->rx_len == 0)
		return 1;
	flen = swim_crypto_stream_frame_len(s->rx, s->rx_len);
	if (flen == SWIM_CRYPTO_E_FRAME)
		return CP_SYNC_E_PLAIN;
	if (flen == SWIM_CRYPTO_E_AGAIN ||
	    (flen > 0 && s->rx_len < (size_t)flen))
		return 1;
	if (flen < 0)
		return SWIM_WIRE_E_LENGTH;
	out = malloc((size_t)flen);
	if (out == NULL)
		return SWIM_WIRE_E_NOSPACE;
	n = swim_crypto_open_stream(ring, s->rx, s->rx_len, out, (size_t)flen,
				    NULL);
	if (n <= 0) {
		free(out);
		return n == 0 ? SWIM_WIRE_E_EMPTY : CP_SYNC_E_OPEN;
	}
	free(s->rx);
	s->rx = out;
	s->rx_len = (size_t)n;
	s->rx_cap = (size_t)flen;
	s->is_opened = true;
	return 0;
}

/* Read what is there; then see whether a whole message arrived. */
static void
cp_sess_read(struct cp_sess *s, uint64_t now_us)
{
	struct cp_frame f;
	bool eof = false;
	ssize_t n;
	int rc;

	for (;;) {
		if (!cp_sess_rx_grow(s)) {
			s->sync->st.too_big++;
			cp_sess_fail(s, now_us, -EMSGSIZE);
			return;
		}
		n = read(s->io.fd, s->rx + s->rx_len, s->rx_cap - s->rx_len);
		if (n > 0) {
			s->rx_len += (size_t)n;
			continue;
		}
		if (n == 0)
			eof = true;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			eof = true;
		break;
	}
	rc = cp_sess_open(s);
	if (rc == 0)
		rc = cp_sync_frame(s->rx, s->rx_len, &s->plain, &s->plain_cap,
				   s->sync->cfg.max_bytes, &f);
	/* A sealed message is whole: more bytes will not complete it. */
	if (rc == 1 && s->is_opened)
		rc = SWIM_WIRE_E_TRUNCATED;
	if (rc == 1 && !eof)
		return;
	if (rc == 1) {
		/* The peer closed before a whole message: nothing to answer. */
		if (s->rx_len > 0)
			s->sync->st.bad_input++;
		cp_sess_fail(s, now_us, -ECONNRESET);
		return;
	}
	cp_sess_got(s, now_us, rc, &f);
}

/* Flush tx; when done, inbound streams close and outbound ones read. */
static void
cp_sess_write(struct cp_sess *s, uint64_t now_us)
{
	while (s->tx_off < s->tx_len) {
		ssize_t n = send(s->io.fd, s->tx + s->tx_off,
				 s->tx_len - s->tx_off, MSG_NOSIGNAL);

		if (n > 0) {
			s->tx_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		cp_sess_fail(s, now_us, -ECONNRESET);
		return;
	}
	if (s->kind == CP_SESS_IN) {
		cp_sess_close(s);
		return;
	}
	s->state = CP_SESS_READING;
	if (s->kind == CP_SESS_OUT_PP)
		s->deadline_us = now_us + s->sync->cfg.tcp_timeout_us;
	if (cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLIN) != 0)
		cp_sess_fail(s, now_us, -EIO);
}

/* Reactor callback for every stream. */
static void
cp_sess_on_event(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	struct cp_sess *s = io->ctx;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	switch (s->state) {
	case CP_SESS_CONNECTING:
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr,
			       &sl) != 0 || soerr != 0) {
			cp_sess_fail(s, now_us, -(soerr != 0 ? soerr : errno));
			return;
		}
		s->state = CP_SESS_WRITING;
		cp_sess_write(s, now_us);
		return;
	case CP_SESS_WRITING:
		if (events & (EPOLLERR | EPOLLHUP)) {
			cp_sess_fail(s, now_us, -ECONNRESET);
			return;
		}
		cp_sess_write(s, now_us);
		return;
	case CP_SESS_READING:
		cp_sess_read(s, now_us);
		return;
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
	free(sync->sess);
	free(sync);
}

uint16_t
cp_sync_port(const struct cp_sync *sync)
{
	return sync->port;
}

/* Open a connection to `to` carrying tx; failures are reported by caller. */
static struct cp_sess *
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

/* Our push/pull bytes for an outbound exchange, malloc'ed. */
static uint8_t *
cp_sync_local_state(struct cp_sync *sync, bool join, size_t *len)
{
	const struct cp_sync_handler *h = &sync->cfg.h;
	size_t cap = 64 * 1024;
	uint8_t *out = NULL;

	for (int tries = 0; tries < 2; tries++) {
		free(out);
		out = malloc(cap);
		if (out == NULL)
			return NULL;
		*len = h->local_state(h->ctx, join, out, cap);
		if (*len > 0 && *len <= cap)
			return out;
		if (*len == 0)
			break;
		cap = *len;
	}
	free(out);
	return NULL;
}

void
cp_sync_push_pull(struct cp_sync *sync, uint64_t now_us,
		  const struct swim_addr *to, bool join)
{
	const struct cp_sync_handler *h = &sync->cfg.h;
	struct cp_sess *s;
	uint8_t *tx;
	size_t len;

	tx = cp_sync_local_state(sync, join, &len);
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
	for (unsigned i = 0; i < sync->cfg.max_streams; i++) {
		struct cp_sess *s = sync->sess[i];

		if (s == NULL || now_us < s->deadline_us)
			continue;
		sync->st.timeouts++;
		cp_sess_fail(s, now_us, -ETIMEDOUT);
	}
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
}
