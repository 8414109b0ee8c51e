/* SPDX-License-Identifier: MIT */
/*
 * One memberlist TCP stream of the sync engine (memberlist-wire.md §7):
 * its slot and buffers, sealing what it writes and opening what it reads
 * when a keyring is set, and the non-blocking read/write driven by the
 * reactor. When a whole message (or a framing error) is in, it goes to
 * cp_sess_got (cp_sync_exchange.c), which decides what it means.
 *
 * Control thread only; never blocks (every fd is O_NONBLOCK). Caps, as
 * memberlist: max_bytes per stream, TCPTimeout per phase.
 */
#include "cp_sync_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swim_crypto.h"
#include "swim_wire.h"

/* --- a stream's slot and buffers --- */

static void cp_sess_on_event(struct cp_io *io, uint32_t events,
			     uint64_t now_us);

/* Take a free slot and wrap fd in a new session. NULL when full. */
struct cp_sess *
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
	/* Delta exchanges and TCP pings are small turns: Nagle would hold
	 * each back for the peer's delayed ACK (about 40 ms a turn). Go's
	 * net package, hence memberlist, sets TCP_NODELAY on every conn. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
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
void
cp_sess_close(struct cp_sess *s)
{
	struct cp_sync *sync = s->sync;

	cp_sess_delta_closing(s);	/* bytes by kind; needs the fd */
	cp_io_del(sync->cfg.epfd, &s->io);
	close(s->io.fd);
	sync->sess[s->slot] = NULL;
	sync->nb_sess--;
	cp_sess_pp_free(s);
	free(s->rx);
	free(s->tx);
	free(s->plain);
	free(s);
}

/* Report an outbound failure (once) and close. */
void
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
int
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
int
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
int
cp_sess_send_copy(struct cp_sess *s, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len);

	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, buf, len);
	return cp_sess_send(s, copy, len);
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
	cp_sess_take_plain(s, out, (size_t)n, (size_t)flen);
	return 0;
}

ssize_t
cp_sess_read_some(struct cp_sess *s, size_t end)
{
	ssize_t n;

	if (s->rx_len >= end)
		return 0;
	do
		n = read(s->io.fd, s->rx + s->rx_len, end - s->rx_len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		s->rx_len += (size_t)n;
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return -1;
}

void
cp_sess_take_plain(struct cp_sess *s, uint8_t *plain, size_t len,
		   size_t cap)
{
	free(s->rx);
	s->rx = plain;
	s->rx_len = len;
	s->rx_cap = cap;
	s->is_opened = true;
}

/* Read what is there; then see whether a whole message arrived. */
static void
cp_sess_read(struct cp_sess *s, uint64_t now_us)
{
	struct cp_frame f;
	bool eof = false;
	ssize_t n;
	int rc;

	if (cp_sess_pp_decide(s, now_us)) {
		cp_sess_pp_read(s, now_us);
		return;
	}
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
	if (s->pp_out != NULL && cp_sess_pp_write(s, now_us) <= 0)
		return;
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

void
cp_sess_dispatch(struct cp_sess *s, uint32_t events, uint64_t now_us,
		 const struct cp_sess_ops *ops)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	switch (s->state) {
	case CP_SESS_CONNECTING:
		if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &soerr,
			       &sl) != 0 || soerr != 0) {
			ops->fail(s, now_us, -(soerr != 0 ? soerr :
					       errno != 0 ? errno : EIO));
			return;
		}
		s->state = CP_SESS_WRITING;
		ops->write(s, now_us);
		return;
	case CP_SESS_WRITING:
		if (events & (EPOLLERR | EPOLLHUP)) {
			ops->fail(s, now_us, -ECONNRESET);
			return;
		}
		ops->write(s, now_us);
		return;
	case CP_SESS_READING:
		ops->read(s, now_us);
		return;
	}
}

/* Reactor callback for every memberlist stream. */
static void
cp_sess_on_event(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	static const struct cp_sess_ops ops = {
		.fail = cp_sess_fail, .write = cp_sess_write,
		.read = cp_sess_read,
	};

	cp_sess_dispatch(io->ctx, events, now_us, &ops);
}
