/* SPDX-License-Identifier: MIT */
/*
 * One delta exchange's stream (cp_sync_delta.h): the messages HELLO ..
 * DIFF one at a time (each a sealed frame of its own with a keyring),
 * stepped through swim_dsync_step, then the push/pulls of the differing
 * leaves both ways, the initiator's first. On a plain stream ours is
 * encoded a window at a time (swim_pp_enc_start_dsync) and theirs
 * decoded a window at a time through the engine's push/pull callbacks
 * (cp_sync_pp.h: they merge into the core and the Serf layer); on a
 * sealed stream each is one frame, as a sealed push/pull is. The message
 * phase has the budget's deadline; the transfer moves it with progress.
 * Turns are strict until the transfer, but the initiator writes its
 * push/pull right after its last WANT: the responder may read the
 * push/pull's first bytes with the WANT, and keeps them in rx.
 * Control thread only; never blocks.
 */
#include "cp_sync_delta_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swim_crypto.h"
#include "swim_dsync.h"
#include "swim_sealed_stream.h"
#include "swim_wire.h"

/* Most bytes one read in the message phase takes before a message's
 * header is in: what follows a message (the push/pull after the last
 * WANT) is read with it only this far, so a chunk buffer holds it. */
#define CP_DX_RX_AHEAD 4096u
_Static_assert(CP_DX_RX_AHEAD <= SWIM_SSTREAM_FRAME_MAX,
	       "bytes read ahead must fit the chunk buffer");

static struct swim *
cp_dx_swim(const struct cp_sess *s)
{
	return cp_dx_ctl(s)->cfg.swim;
}

static bool
cp_dx_sealed(const struct cp_sess *s)
{
	return s->sync->cfg.keyring != NULL;
}

/* Bytes moved in the transfer: every CP_SYNC_PP_PROGRESS of them buy
 * another TCPTimeout, as a streamed push/pull's do. */
static void
cp_dx_progress(struct cp_sess *s, uint64_t now_us, size_t n)
{
	s->dx->moved += n;
	if (s->dx->moved < CP_SYNC_PP_PROGRESS)
		return;
	s->dx->moved = 0;
	s->deadline_us = now_us + s->sync->cfg.tcp_timeout_us;
}

int
cp_dx_send(struct cp_sess *s, uint8_t *buf, size_t len, enum cp_dx_next next)
{
	if (cp_sync_seal(s->sync, &buf, &len) != 0) {
		free(buf);
		return -ENOMEM;
	}
	free(s->tx);
	s->tx = buf;
	s->tx_len = len;
	s->tx_off = 0;
	s->dx->next = (uint8_t)next;
	s->state = CP_SESS_WRITING;
	return cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLOUT);
}

/* --- our push/pull of the leaf set --- */

/* The whole restricted push/pull in one buffer (to seal). NULL: failed. */
static uint8_t *
cp_dx_pp_whole(struct cp_sess *s, size_t *len)
{
	size_t cap = CP_SYNC_PP_WINDOW, n = 0;
	uint8_t *buf = malloc(cap);
	int k;

	while (buf != NULL) {
		if (cap - n < SWIM_PP_PIECE_MAX + 64) {
			uint8_t *p = cap * 2 <= s->sync->cfg.max_bytes ?
					     realloc(buf, cap * 2) : NULL;
			if (p == NULL)
				break;
			buf = p;
			cap *= 2;
		}
		k = swim_pp_enc_next(cp_dx_swim(s), &s->dx->enc, buf + n,
				     cap - n, CP_SYNC_DELTA_NODES);
		if (k == 0) {
			*len = n;
			return buf;
		}
		if (k < 0)
			break;
		n += (size_t)k;
	}
	free(buf);
	return NULL;
}

/* Our push/pull of the set as sealed chunks (cp_sync_sealed.c), sealed
 * a chunk at a time by cp_dx_refill. @retval 0 or < 0. */
static int
cp_dx_pp_out_chunks(struct cp_sess *s, enum cp_dx_next next)
{
	if (cp_sst_out_start(s) != 0)
		return -ENOMEM;
	s->dx->is_enc_on = true;
	s->dx->next = (uint8_t)next;
	s->state = CP_SESS_WRITING;
	return cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLOUT);
}

/* Start sending our push/pull of the set, then `next`. @retval 0 or < 0 */
static int
cp_dx_pp_out(struct cp_sess *s, enum cp_dx_next next)
{
	struct cp_dx *dx = s->dx;
	size_t len = 0;
	uint8_t *buf;

	/* No Serf user state: the members carry what the delta is for. */
	swim_pp_enc_start_dsync(cp_dx_swim(s), &dx->enc, false, 0, &dx->x);
	/* sealed chunks to a capable peer, or as the peer spoke to us */
	if (cp_dx_sealed(s) && (dx->is_chunked || cp_sst_in(s)))
		return cp_dx_pp_out_chunks(s, next);
	if (cp_dx_sealed(s)) {
		buf = cp_dx_pp_whole(s, &len);
		return buf != NULL ? cp_dx_send(s, buf, len, next) : -ENOMEM;
	}
	buf = malloc(CP_SYNC_PP_WINDOW);
	if (buf == NULL)
		return -ENOMEM;
	dx->is_enc_on = true;
	return cp_dx_send(s, buf, 0, next);
}

/* Refill tx from the encoder. @retval 1 refilled, 0 the end, < 0. */
static int
cp_dx_refill(struct cp_sess *s)
{
	bool is_chunk = cp_sst_out(s);
	int n = swim_pp_enc_next(cp_dx_swim(s), &s->dx->enc,
				 is_chunk ? cp_sst_plain(s) : s->tx,
				 is_chunk ? SWIM_SSTREAM_CHUNK_MAX :
					    CP_SYNC_PP_WINDOW,
				 CP_SYNC_DELTA_NODES);

	if (is_chunk && n >= 0) {
		/* one sealed chunk; the end is an empty FINAL one */
		s->dx->is_enc_on = n > 0;
		return cp_sst_seal_chunk(s, (size_t)n, n == 0);
	}

	if (n < 0)
		return n;
	if (n == 0) {
		s->dx->is_enc_on = false;
		return 0;
	}
	s->tx_len = (size_t)n;
	s->tx_off = 0;
	return 1;
}

/* --- after a write --- */

/* Start reading the peer's push/pull. @retval 0 or < 0. */
static int
cp_dx_pp_in(struct cp_sess *s, uint64_t now_us)
{
	const struct cp_sync_pp_ops *ops = s->sync->cfg.h.pp;

	s->pp_in = ops->in_start(s->sync->cfg.h.ctx, now_us);
	if (s->pp_in == NULL)
		return -ENOMEM;
	s->dx->is_reading_pp = true;
	s->deadline_us = now_us + s->sync->cfg.tcp_timeout_us;
	s->state = CP_SESS_READING;
	return cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLIN);
}

static void cp_dx_read(struct cp_sess *s, uint64_t now_us);

/* tx is written: do what comes next. */
static void
cp_dx_written(struct cp_sess *s, uint64_t now_us)
{
	bool is_init = s->kind != CP_SESS_IN;
	int rc = 0;

	switch (s->dx->next) {
	case CP_DX_READ_MSG:
		s->state = CP_SESS_READING;
		rc = cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLIN);
		break;
	case CP_DX_PP_OUT:
		rc = cp_dx_pp_out(s, is_init ? CP_DX_READ_PP : CP_DX_DONE);
		break;
	case CP_DX_READ_PP:
		rc = cp_dx_pp_in(s, now_us);
		/* its first bytes came with the last message: they may be
		 * all there is, and then no EPOLLIN comes for them */
		if (rc == 0 && s->rx_len > 0) {
			cp_dx_read(s, now_us);
			return;
		}
		break;
	case CP_DX_DONE:
		cp_dx_finish(s, now_us, 0);
		return;
	}
	if (rc != 0)
		cp_dx_finish(s, now_us, rc < 0 ? rc : -EIO);
}

/* Flush tx (refilled from the encoder while it streams). */
static void
cp_dx_write(struct cp_sess *s, uint64_t now_us)
{
	unsigned windows = 0;

	for (;;) {
		if (s->tx_off == s->tx_len) {
			int rc;

			if (!s->dx->is_enc_on)
				break;
			if (windows++ == CP_SYNC_PP_TX_SLICE)
				return;	/* yield: EPOLLOUT comes back */
			rc = cp_dx_refill(s);
			if (rc < 0) {
				cp_dx_finish(s, now_us, rc);
				return;
			}
			if (rc == 0)
				break;
		}
		ssize_t n = send(s->io.fd, s->tx + s->tx_off,
				 s->tx_len - s->tx_off, MSG_NOSIGNAL);
		if (n > 0) {
			s->tx_off += (size_t)n;
			cp_dx_progress(s, now_us, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		cp_dx_finish(s, now_us, -ECONNRESET);
		return;
	}
	cp_dx_written(s, now_us);
}

/* --- reading --- */

/* Read once into rx (grown up to cap bytes, read at most that far).
 * @retval bytes, 0 nothing now (or rx full), -1 EOF or error. */
static ssize_t
cp_dx_fill(struct cp_sess *s, size_t cap)
{
	size_t room;

	if (s->rx_len >= s->rx_cap && s->rx_cap < cap) {
		size_t want = s->rx_cap == 0 ? 4096 : s->rx_cap * 2;
		uint8_t *p;

		if (want > cap)
			want = cap;
		p = realloc(s->rx, want);
		if (p == NULL)
			return -1;
		s->rx = p;
		s->rx_cap = want;
	}
	room = (s->rx_cap < cap ? s->rx_cap : cap);
	return cp_sess_read_some(s, room);
}

/*
 * With a keyring: once rx holds a whole 0x0a frame, replace rx by its
 * plaintext (s->is_opened). @retval 0 opened (or no keyring), 1 more
 * bytes needed, < 0 not a frame, or no key opens it.
 */
static int
cp_dx_open(struct cp_sess *s)
{
	long flen;
	uint8_t *out;
	int n;

	if (!cp_dx_sealed(s) || s->is_opened)
		return 0;
	flen = swim_crypto_stream_frame_len(s->rx, s->rx_len);
	if (flen == SWIM_CRYPTO_E_AGAIN ||
	    (flen > 0 && s->rx_len < (size_t)flen))
		return 1;
	if (flen <= 0)
		return -EPROTO;
	out = malloc((size_t)flen);
	if (out == NULL)
		return -ENOMEM;
	n = swim_crypto_open_stream(s->sync->cfg.keyring, s->rx, (size_t)flen,
				    out, (size_t)flen, NULL);
	if (n <= 0) {
		free(out);
		return -EPROTO;
	}
	cp_sess_take_plain(s, out, (size_t)n, (size_t)flen);
	return 0;
}

/* Step the exchange with one whole message; send what it says. */
static void
cp_dx_on_msg(struct cp_sess *s, uint64_t now_us, const uint8_t *m,
	     size_t len)
{
	bool is_init = s->kind != CP_SESS_IN;
	uint8_t *out = malloc(SWIM_DSYNC_MSG_MAX);
	size_t n = 0;
	enum cp_dx_next next;
	int rc;

	if (out == NULL) {
		cp_dx_finish(s, now_us, -ENOMEM);
		return;
	}
	rc = swim_dsync_step(cp_dx_swim(s), &s->dx->x, m, len, out,
			     SWIM_DSYNC_MSG_MAX, &n);
	if (rc < 0 && rc != SWIM_DSYNC_E_ABORTED && !is_init) {
		/* tell the initiator, so it falls back at once */
		int k = swim_dsync_encode_abort(SWIM_DSYNC_ABORT_ERROR, out,
						SWIM_DSYNC_MSG_MAX);

		s->dx->is_failed = true;
		if (k > 0) {
			if (cp_dx_send(s, out, (size_t)k, CP_DX_DONE) == 0)
				return;
			out = NULL;	/* cp_dx_send took it */
		}
	}
	if (rc < 0) {
		free(out);
		cp_dx_finish(s, now_us, -EPROTO);
		return;
	}
	s->dx->is_transfer = rc == SWIM_DSYNC_TRANSFER;
	next = rc == SWIM_DSYNC_WAIT ? CP_DX_READ_MSG :
	       rc == SWIM_DSYNC_IN_SYNC ? CP_DX_DONE :
	       is_init ? CP_DX_PP_OUT : CP_DX_READ_PP;
	if (n == 0) {
		free(out);
		s->dx->next = (uint8_t)next;
		cp_dx_written(s, now_us);
		return;
	}
	if (cp_dx_send(s, out, n, next) != 0)
		cp_dx_finish(s, now_us, -ENOMEM);
}

/* The whole message at the head of rx is n bytes: copy it out to *m
 * (the step may close s) and keep what follows in rx. @retval 0 or < 0 */
static int
cp_dx_take(struct cp_sess *s, size_t n, uint8_t **m)
{
	*m = malloc(n);
	if (*m == NULL)
		return -ENOMEM;
	memcpy(*m, s->rx, n);
	memmove(s->rx, s->rx + n, s->rx_len - n);
	s->rx_len -= n;
	return 0;
}

/* With a keyring: the sealed frame at the head of rx, opened into *m
 * and taken out of rx. @retval plaintext bytes, 0 not all in yet, < 0
 * not a frame, too long, or no key opens it. */
static long
cp_dx_unseal(struct cp_sess *s, uint8_t **m)
{
	long flen = swim_crypto_stream_frame_len(s->rx, s->rx_len);
	int n;

	if (flen == SWIM_CRYPTO_E_AGAIN)
		return 0;
	if (flen <= 0 ||
	    (size_t)flen > SWIM_DSYNC_MSG_MAX + SWIM_CRYPTO_STREAM_OVERHEAD)
		return -EPROTO;
	if (s->rx_len < (size_t)flen)
		return 0;
	*m = malloc((size_t)flen);
	if (*m == NULL)
		return -ENOMEM;
	n = swim_crypto_open_stream(s->sync->cfg.keyring, s->rx, (size_t)flen,
				    *m, (size_t)flen, NULL);
	memmove(s->rx, s->rx + flen, s->rx_len - (size_t)flen);
	s->rx_len -= (size_t)flen;
	if (n > 0)
		return n;
	free(*m);
	return -EPROTO;
}

/* An errResp or a stranger: not a delta peer. @retval -EPROTO */
static long
cp_dx_stranger(struct cp_sess *s)
{
	s->sync->st.bad_input++;
	return -EPROTO;
}

/*
 * The peer's next whole message, out of rx into *m (malloc'ed; opened
 * when sealed); whatever follows it stays in rx. A sealed frame, or rx
 * opened by the engine's reader (a claimed stream), holds exactly one.
 * @retval its length, 0 not all in yet, < 0 not a delta peer's.
 */
static long
cp_dx_next_msg(struct cp_sess *s, uint8_t **m)
{
	long k, n;

	if (cp_dx_sealed(s) && !s->is_opened) {
		k = cp_dx_unseal(s, m);
		if (k <= 0)
			return k;
		if (swim_dsync_msg_len(*m, (size_t)k) == k)
			return k;
		free(*m);
		return cp_dx_stranger(s);
	}
	n = swim_dsync_msg_len(s->rx, s->rx_len);
	if (n < 0 || (s->is_opened && (n == 0 || n != (long)s->rx_len)))
		return cp_dx_stranger(s);
	if (n == 0 || (size_t)n > s->rx_len)
		return 0;	/* more bytes to come */
	s->is_opened = false;	/* what follows is sealed again */
	return cp_dx_take(s, (size_t)n, m) == 0 ? n : -ENOMEM;
}

void
cp_dx_read_msgs(struct cp_sess *s, uint64_t now_us)
{
	uint8_t *m = NULL;
	long n = cp_dx_next_msg(s, &m);

	if (n < 0) {
		cp_dx_finish(s, now_us, (int)n);
		return;
	}
	if (n == 0)
		return;	/* more bytes to come */
	cp_dx_on_msg(s, now_us, m, (size_t)n);	/* may close s */
	free(m);
}

/* Feed the whole pieces in rx to the push/pull decoder. @retval 0, or
 * < 0 (a decode error; or a sealed frame that held less than one). */
static int
cp_dx_feed(struct cp_sess *s, uint64_t now_us, bool *done)
{
	const struct cp_sync_pp_ops *ops = s->sync->cfg.h.pp;
	size_t off = 0;
	long c = 0;

	while (off < s->rx_len && !*done) {
		c = ops->in_feed(s->sync->cfg.h.ctx, s->pp_in, now_us,
				 s->rx + off, s->rx_len - off, done);
		if (c <= 0)
			break;
		off += (size_t)c;
	}
	memmove(s->rx, s->rx + off, s->rx_len - off);
	s->rx_len -= off;
	if (c < 0)
		return (int)c;
	if (s->is_opened && !*done)
		return SWIM_WIRE_E_TRUNCATED;
	if (s->rx_len >= CP_SYNC_PP_WINDOW && off == 0)
		return SWIM_WIRE_E_LENGTH;
	return 0;
}

/* The peer's push/pull is merged: ours next (responder) or the end. */
static void
cp_dx_pp_in_end(struct cp_sess *s, uint64_t now_us)
{
	s->sync->cfg.h.pp->in_end(s->sync->cfg.h.ctx, s->pp_in);
	s->pp_in = NULL;
	s->dx->is_reading_pp = false;
	if (s->kind != CP_SESS_IN) {
		cp_dx_finish(s, now_us, 0);
		return;
	}
	s->dx->next = CP_DX_PP_OUT;
	cp_dx_written(s, now_us);
}

/* Does the peer's push/pull come as sealed chunks? (starts reading them) */
static bool
cp_dx_chunks_in(struct cp_sess *s)
{
	uint8_t b;

	if (cp_sst_in(s))
		return true;
	if (!cp_dx_sealed(s))
		return false;
	/* its first byte: read already with the last message, or peeked */
	if (s->rx_len > 0)
		b = s->rx[0];
	else if (recv(s->io.fd, &b, 1, MSG_PEEK) != 1)
		return false;
	/* cp_sst_in_start takes rx's bytes as the first chunk's */
	return b == SWIM_SSTREAM_TYPE && cp_sst_in_start(s) == 0;
}

/* The peer's push/pull as sealed chunks: each opened, then decoded. */
static void
cp_dx_read_chunks(struct cp_sess *s, uint64_t now_us)
{
	ssize_t n = cp_sst_read(s);
	int rc;

	if (n > 0)
		cp_dx_progress(s, now_us, (size_t)n);
	rc = cp_sess_pp_feed_chunks(s, now_us);
	if (rc < 0) {
		if (rc != CP_SST_E_DROPPED)
			s->sync->st.bad_input++;
		cp_dx_finish(s, now_us, -EPROTO);
		return;
	}
	if (s->pp_in_done && cp_sst_in_final(s)) {
		cp_dx_pp_in_end(s, now_us);
		return;
	}
	if (n < 0) {
		cp_sst_count(s->sync, SWIM_SSTREAM_E_TRUNCATED);
		cp_dx_finish(s, now_us, -ECONNRESET);
	}
}

/* The peer's push/pull of the set: read, merge; then ours or the end. */
static void
cp_dx_read_pp(struct cp_sess *s, uint64_t now_us)
{
	size_t cap = cp_dx_sealed(s) ? s->sync->cfg.max_bytes :
				       CP_SYNC_PP_WINDOW;
	ssize_t n = cp_dx_fill(s, cap);
	bool done = false;
	int rc;

	if (n > 0)
		cp_dx_progress(s, now_us, (size_t)n);
	rc = cp_dx_open(s);
	if (rc == 1 && n >= 0)
		return;
	if (rc == 0)
		rc = cp_dx_feed(s, now_us, &done);
	if (rc != 0 || (!done && n < 0)) {
		s->sync->st.bad_input++;
		cp_dx_finish(s, now_us, rc < 0 ? rc : -ECONNRESET);
		return;
	}
	if (done)
		cp_dx_pp_in_end(s, now_us);
}

/* How far rx may fill in the message phase: to the end of the message
 * (or sealed frame) whose header is in, else CP_DX_RX_AHEAD bytes. */
static size_t
cp_dx_msg_cap(const struct cp_sess *s)
{
	size_t max = SWIM_DSYNC_MSG_MAX +
		     (cp_dx_sealed(s) ? SWIM_CRYPTO_STREAM_OVERHEAD : 0);
	long n = cp_dx_sealed(s) ?
			 swim_crypto_stream_frame_len(s->rx, s->rx_len) :
			 swim_dsync_msg_len(s->rx, s->rx_len);

	return n > 0 && (size_t)n <= max ? (size_t)n : CP_DX_RX_AHEAD;
}

static void
cp_dx_read(struct cp_sess *s, uint64_t now_us)
{
	ssize_t n;

	if (s->dx->is_reading_pp && cp_dx_chunks_in(s)) {
		cp_dx_read_chunks(s, now_us);
		return;
	}
	if (s->dx->is_reading_pp) {
		cp_dx_read_pp(s, now_us);
		return;
	}
	n = cp_dx_fill(s, cp_dx_msg_cap(s));
	if (n < 0) {
		/* closed before a whole message: a peer that cannot read
		 * ours closes at once (memberlist: unknown message type) */
		cp_dx_finish(s, now_us, -ECONNRESET);
		return;
	}
	/* also with nothing read: rx may hold a whole message already */
	if (s->rx_len > 0)
		cp_dx_read_msgs(s, now_us);
}

void
cp_dx_on_event(struct cp_io *io, uint32_t events, uint64_t now_us)
{
	static const struct cp_sess_ops ops = {
		.fail = cp_dx_finish, .write = cp_dx_write, .read = cp_dx_read,
	};

	cp_sess_dispatch(io->ctx, events, now_us, &ops);
}
