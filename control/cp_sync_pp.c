/* SPDX-License-Identifier: MIT */
/*
 * Streamed push/pulls on the sync engine's streams (cp_sync_pp.h): the
 * peer's message goes from the socket through a fixed window straight
 * into the decoder, ours from the encoder through a fixed window into
 * the socket, one window (read) or CP_SYNC_PP_TX_SLICE windows (write)
 * per reactor event, so the control loop runs between slices. The
 * deadline moves with progress (CP_SYNC_PP_PROGRESS bytes per
 * TCPTimeout): a sync of any size finishes as long as bytes flow, a
 * trickle still times out. Control thread only.
 */
#include "cp_sync_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swim_sealed_stream.h"
#include "swim_wire.h"

static const struct cp_sync_pp_ops *
cp_sess_pp_ops(const struct cp_sess *s)
{
	return s->sync->cfg.h.pp;
}

/*
 * n more bytes moved: every CP_SYNC_PP_PROGRESS of them buys another
 * TCPTimeout, so a sync of any size finishes while one that trickles
 * (a slot held by a byte now and then) still times out.
 */
static void
cp_sess_pp_progress(struct cp_sess *s, uint64_t now_us, size_t n)
{
	s->pp_moved += n;
	if (s->pp_moved < CP_SYNC_PP_PROGRESS)
		return;
	s->pp_moved = 0;
	s->deadline_us = now_us + s->sync->cfg.tcp_timeout_us;
}

bool
cp_sess_pp_decide(struct cp_sess *s, uint64_t now_us)
{
	const struct cp_sync_pp_ops *ops = cp_sess_pp_ops(s);
	uint8_t b;
	ssize_t n;

	if (s->pp_in != NULL)
		return true;
	if (s->is_legacy)
		return false;
	if (ops == NULL || s->kind == CP_SESS_OUT_PING || s->rx_len > 0) {
		s->is_legacy = true;
		return false;
	}
	n = recv(s->io.fd, &b, 1, MSG_PEEK);
	if (n <= 0)
		return false;	/* nothing yet, or EOF: the plain path sees it */
	/* with a keyring: chunks are streamed (cp_sync_sealed.c), a 0x0a
	 * frame is memberlist's whole message */
	if (b == (s->sync->cfg.keyring != NULL ? SWIM_SSTREAM_TYPE :
						 SWIM_MSG_PUSH_PULL))
		s->pp_in = ops->in_start(s->sync->cfg.h.ctx, now_us);
	if (s->pp_in != NULL && s->sync->cfg.keyring != NULL &&
	    cp_sst_in_start(s) != 0) {
		ops->in_end(s->sync->cfg.h.ctx, s->pp_in);
		s->pp_in = NULL;
	}
	if (s->pp_in == NULL)
		s->is_legacy = true;
	return s->pp_in != NULL;
}

void
cp_sess_pp_free(struct cp_sess *s)
{
	const struct cp_sync_pp_ops *ops = cp_sess_pp_ops(s);
	void *ctx = s->sync->cfg.h.ctx;

	if (s->pp_in != NULL)
		ops->in_end(ctx, s->pp_in);
	if (s->pp_out != NULL)
		ops->out_end(ctx, s->pp_out);
	s->pp_in = NULL;
	s->pp_out = NULL;
	cp_sst_free(s);
}

int
cp_sess_pp_out_start(struct cp_sess *s, bool join)
{
	const struct cp_sync_pp_ops *ops = cp_sess_pp_ops(s);

	free(s->tx);
	s->tx = malloc(CP_SYNC_PP_WINDOW);
	s->tx_len = 0;
	s->tx_off = 0;
	if (s->tx == NULL)
		return -ENOMEM;
	s->pp_out = ops->out_start(s->sync->cfg.h.ctx, join);
	return s->pp_out != NULL ? 0 : -ENOMEM;
}

/* Refill tx from the encoder. @retval 1 refilled, 0 the end, 2 nothing
 * yet (-EAGAIN: yield), < 0. */
static int
cp_sess_pp_refill(struct cp_sess *s)
{
	const struct cp_sync_pp_ops *ops = cp_sess_pp_ops(s);
	long n;

	if (cp_sst_out(s))
		return cp_sst_refill(s);	/* one sealed chunk */
	n = ops->out_fill(s->sync->cfg.h.ctx, s->pp_out, s->tx,
			  CP_SYNC_PP_WINDOW);
	if (n == -EAGAIN)
		return 2;
	if (n < 0 || (size_t)n > CP_SYNC_PP_WINDOW)
		return n < 0 ? (int)n : -EOVERFLOW;
	if (n == 0) {
		ops->out_end(s->sync->cfg.h.ctx, s->pp_out);
		s->pp_out = NULL;
		return 0;
	}
	s->tx_len = (size_t)n;
	s->tx_off = 0;
	return 1;
}

int
cp_sess_pp_write(struct cp_sess *s, uint64_t now_us)
{
	unsigned windows = 0;

	while (s->pp_out != NULL || s->tx_off < s->tx_len) {
		if (s->tx_off == s->tx_len) {
			if (windows++ == CP_SYNC_PP_TX_SLICE)
				return 0;	/* yield: EPOLLOUT comes back */
			int rc = cp_sess_pp_refill(s);
			if (rc < 0) {
				cp_sess_fail(s, now_us, rc);
				return -1;
			}
			if (rc == 0)
				break;
			if (rc == 2)
				return 0;	/* EPOLLOUT comes back */
		}
		ssize_t n = send(s->io.fd, s->tx + s->tx_off,
				 s->tx_len - s->tx_off, MSG_NOSIGNAL);
		if (n > 0) {
			s->tx_off += (size_t)n;
			cp_sess_pp_progress(s, now_us, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		cp_sess_fail(s, now_us, -ECONNRESET);
		return -1;
	}
	return 1;
}

/* Read once into the window. @retval bytes, 0 nothing now, -1 EOF. */
static ssize_t
cp_sess_pp_fill(struct cp_sess *s)
{
	if (s->rx_cap < CP_SYNC_PP_WINDOW) {
		uint8_t *p = realloc(s->rx, CP_SYNC_PP_WINDOW);
		if (p == NULL)
			return -1;
		s->rx = p;
		s->rx_cap = CP_SYNC_PP_WINDOW;
	}
	return cp_sess_read_some(s, CP_SYNC_PP_WINDOW);
}

/* Feed the whole pieces in the window. @retval 0, or < 0 an error. */
static int
cp_sess_pp_feed(struct cp_sess *s, uint64_t now_us)
{
	const struct cp_sync_pp_ops *ops = cp_sess_pp_ops(s);
	size_t off = 0;
	long c = 0;

	while (off < s->rx_len && !s->pp_in_done) {
		c = ops->in_feed(s->sync->cfg.h.ctx, s->pp_in, now_us,
				 s->rx + off, s->rx_len - off, &s->pp_in_done);
		if (c <= 0)
			break;
		off += (size_t)c;
	}
	memmove(s->rx, s->rx + off, s->rx_len - off);
	s->rx_len -= off;
	if (c < 0)
		return (int)c;
	/* A full window that feeds nothing: the decoder caps pieces below
	 * the window, so this is a defence, not a path. */
	if (s->rx_len >= CP_SYNC_PP_WINDOW && off == 0)
		return SWIM_WIRE_E_LENGTH;
	return 0;
}

/* The peer's message is merged: reply (inbound) or report (outbound). */
static void
cp_sess_pp_in_done(struct cp_sess *s, uint64_t now_us)
{
	const struct cp_sync_pp_ops *ops = cp_sess_pp_ops(s);
	const struct cp_sync_handler *h = &s->sync->cfg.h;
	bool join = ops->in_join(h->ctx, s->pp_in);

	ops->in_end(h->ctx, s->pp_in);
	s->pp_in = NULL;
	if (s->kind != CP_SESS_IN) {
		s->sync->st.out_ok++;
		h->push_pull_done(h->ctx, now_us, &s->peer, s->join, 0);
		cp_sess_close(s);
		return;
	}
	s->sync->st.in_push_pull++;
	/* answered in the format we were spoken to: chunks with chunks */
	if (cp_sess_pp_out_start(s, join) != 0 ||
	    (cp_sst_in(s) && cp_sst_out_start(s) != 0) ||
	    cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLOUT) != 0) {
		cp_sess_close(s);
		return;
	}
	s->state = CP_SESS_WRITING;
	s->deadline_us = now_us + s->sync->cfg.tcp_timeout_us;
}

/*
 * A sealed stream: open the chunks read so far and feed them, until no
 * whole chunk waits (one may wait for room in rx). Every chunk is opened
 * before its bytes reach the decoder. @retval 0, CP_SST_E_DROPPED, or a
 * decoder error.
 */
int
cp_sess_pp_feed_chunks(struct cp_sess *s, uint64_t now_us)
{
	int rc = 0;

	/* bounded: each turn opens a chunk (rx_len < WINDOW after a feed,
	 * so one always fits) or ends in an error */
	for (int turns = 0; turns < 64 && rc == 0; turns++) {
		int orc = cp_sst_open(s);

		/* what opened before a bad chunk is authentic: merged, as
		 * the whole nodes of an interrupted stream are */
		if (!s->pp_in_done)
			rc = cp_sess_pp_feed(s, now_us);
		if (orc != 0)
			return orc;
		/* bytes past the end of the message: it lied */
		if (rc == 0 && s->pp_in_done && s->rx_len > 0)
			rc = SWIM_WIRE_E_LENGTH;
		if (!cp_sst_has_chunk(s))
			break;
	}
	/* the final chunk came and the message is not whole: it lied */
	if (rc == 0 && cp_sst_in_final(s) && !s->pp_in_done)
		rc = SWIM_WIRE_E_TRUNCATED;
	return rc;
}

void
cp_sess_pp_read(struct cp_sess *s, uint64_t now_us)
{
	bool is_sealed = cp_sst_in(s);
	ssize_t n = is_sealed ? cp_sst_read(s) : cp_sess_pp_fill(s);
	int rc;

	if (n > 0)
		cp_sess_pp_progress(s, now_us, (size_t)n);
	rc = is_sealed ? cp_sess_pp_feed_chunks(s, now_us) :
			 cp_sess_pp_feed(s, now_us);
	if (rc < 0) {
		if (rc != CP_SST_E_DROPPED)
			s->sync->st.bad_input++;
		cp_sess_fail(s, now_us, -EPROTO);
		return;
	}
	/* a sealed stream is over at its final chunk, not before: the
	 * reply must not start while the peer still writes */
	if (s->pp_in_done && (!is_sealed || cp_sst_in_final(s))) {
		cp_sess_pp_in_done(s, now_us);
		return;
	}
	if (n < 0) {
		/* The peer closed mid-message: what was whole is merged. */
		if (is_sealed)
			cp_sst_count(s->sync, SWIM_SSTREAM_E_TRUNCATED);
		else
			s->sync->st.bad_input++;
		cp_sess_fail(s, now_us, -ECONNRESET);
	}
}
