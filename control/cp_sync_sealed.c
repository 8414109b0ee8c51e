/* SPDX-License-Identifier: MIT */
/*
 * Chunked sealed streams on the sync engine (docs/sealed-stream.md,
 * swim_sealed_stream.h): an encrypted push/pull of any size between
 * gossipd peers, in bounded memory both ways. Reading, the socket's
 * bytes gather in one chunk buffer (SWIM_SSTREAM_FRAME_MAX); each whole
 * chunk is opened (authenticated) into rx, and only then does the
 * streamed decoder (cp_sync_pp.c) see its bytes. Writing, the encoder
 * fills one plaintext window, sealed as one chunk into tx; an empty
 * FINAL chunk ends the stream. Three fixed buffers per stream, whatever
 * the size of the pool.
 *
 * Whether to speak it: an initiator that knows the peer's Vsn[6] has
 * SWIM_CAP_SEALED_STREAM sends chunks; otherwise memberlist's single
 * frame, with the "SealedChunks" header key when it could read a
 * chunked reply. A responder answers chunks with chunks, and a marked
 * single frame with chunks. memberlist peers never see a chunk.
 *
 * Control thread only; never blocks.
 */
#include "cp_sync_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swim_sealed_stream.h"

/* One stream's sealed-stream state (cp_sess.sst). */
struct cp_sst {
	struct swim_sstream in;		/* opener of the peer's chunks */
	struct swim_sstream out;	/* sealer of ours */
	struct swim_crypto_nonce_gen gen;	/* our chunks' nonces */
	uint8_t *cbuf;			/* sealed bytes read: FRAME_MAX */
	size_t clen;			/* bytes in cbuf */
	uint8_t *plain;			/* one chunk of ours: CHUNK_MAX */
	bool is_in;			/* the peer's stream is chunks */
	bool is_out;			/* ours is chunks */
};

/* rx while reading chunks: the decoder's window plus one chunk, so a
 * chunk always fits beside the partial piece the decoder left. */
#define CP_SST_RX_CAP (CP_SYNC_PP_WINDOW + SWIM_SSTREAM_CHUNK_MAX)

static struct cp_sst *
cp_sst_get(struct cp_sess *s)
{
	if (s->sst == NULL)
		s->sst = calloc(1, sizeof(*s->sst));
	return s->sst;
}

void
cp_sst_free(struct cp_sess *s)
{
	if (s->sst == NULL)
		return;
	free(s->sst->cbuf);
	free(s->sst->plain);
	free(s->sst);
	s->sst = NULL;
}

void
cp_sst_count(struct cp_sync *sync, int err)
{
	switch (err) {
	case SWIM_SSTREAM_E_AUTH:
	case SWIM_SSTREAM_E_NOKEY:
		sync->st.sealed_auth++;
		break;
	case SWIM_SSTREAM_E_TRUNCATED:
		sync->st.sealed_truncated++;
		break;
	default:
		sync->st.sealed_framing++;
		break;
	}
	sync->st.bad_input++;
}

int
cp_sst_in_start(struct cp_sess *s)
{
	struct cp_sst *t = cp_sst_get(s);
	uint8_t *p;

	if (t == NULL)
		return -ENOMEM;
	if (t->cbuf == NULL)
		t->cbuf = malloc(SWIM_SSTREAM_FRAME_MAX);
	p = s->rx_cap < CP_SST_RX_CAP ? realloc(s->rx, CP_SST_RX_CAP) : s->rx;
	if (t->cbuf == NULL || p == NULL)
		return -ENOMEM;
	s->rx = p;
	if (s->rx_cap < CP_SST_RX_CAP)
		s->rx_cap = CP_SST_RX_CAP;
	/* bytes in rx already are the stream's first: a delta exchange
	 * reads them with its last message (cp_sync_delta_io.c) */
	if (s->rx_len > SWIM_SSTREAM_FRAME_MAX)
		return -EPROTO;
	memcpy(t->cbuf, s->rx, s->rx_len);
	t->clen = s->rx_len;
	s->rx_len = 0;
	/* an initiator reads the responder's stream: REPLY set */
	swim_sstream_init(&t->in, s->kind != CP_SESS_IN);
	t->is_in = true;
	s->sync->st.sealed_in++;
	return 0;
}

bool
cp_sst_has_chunk(const struct cp_sess *s)
{
	const struct cp_sst *t = s->sst;
	long l;

	if (t == NULL || !t->is_in || t->clen == 0)
		return false;
	l = swim_sstream_chunk_len(t->cbuf, t->clen);
	if (l == SWIM_SSTREAM_E_AGAIN)
		return false;
	return l < 0 || (size_t)l <= t->clen;	/* an error is news too */
}

bool
cp_sst_in_final(const struct cp_sess *s)
{
	return s->sst != NULL && swim_sstream_finish(&s->sst->in) == 0;
}

/* Open the chunks in cbuf into rx while it has room. @retval 0 or a
 * swim_sstream_err. */
static int
cp_sst_open_some(struct cp_sess *s)
{
	struct cp_sst *t = s->sst;
	size_t off = 0;
	int rc = 0;

	while (off < t->clen && !t->in.is_final) {
		size_t used = 0;
		bool fin;
		long l = swim_sstream_chunk_len(t->cbuf + off, t->clen - off);

		if (l == SWIM_SSTREAM_E_AGAIN || (l > 0 &&
						  (size_t)l > t->clen - off))
			break;
		if (l > 0 && s->rx_cap - s->rx_len <
				     (size_t)l - SWIM_SSTREAM_OVERHEAD)
			break;	/* rx full: feed the decoder first */
		rc = swim_sstream_open(&t->in, s->sync->cfg.keyring,
				       t->cbuf + off, t->clen - off,
				       s->rx + s->rx_len,
				       s->rx_cap - s->rx_len, &used, &fin);
		if (rc < 0)
			break;
		s->rx_len += (size_t)rc;
		off += used;
		rc = 0;
	}
	memmove(t->cbuf, t->cbuf + off, t->clen - off);
	t->clen -= off;
	/* bytes after the final chunk: the peer lies about the stream */
	if (rc == 0 && t->in.is_final && t->clen > 0)
		rc = SWIM_SSTREAM_E_AFTER_FINAL;
	return rc;
}

ssize_t
cp_sst_read(struct cp_sess *s)
{
	struct cp_sst *t = s->sst;
	ssize_t n;

	if (t->clen >= SWIM_SSTREAM_FRAME_MAX || t->in.is_final)
		return 0;	/* a whole chunk waits, or nothing may follow */
	do
		n = read(s->io.fd, t->cbuf + t->clen,
			 SWIM_SSTREAM_FRAME_MAX - t->clen);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		t->clen += (size_t)n;
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return -1;
}

int
cp_sst_open(struct cp_sess *s)
{
	int rc = cp_sst_open_some(s);

	if (rc == 0)
		return 0;
	cp_sst_count(s->sync, rc);
	return CP_SST_E_DROPPED;
}

bool
cp_sst_in(const struct cp_sess *s)
{
	return s->sst != NULL && s->sst->is_in;
}

bool
cp_sst_out(const struct cp_sess *s)
{
	return s->sst != NULL && s->sst->is_out;
}

int
cp_sst_out_start(struct cp_sess *s)
{
	struct cp_sst *t = cp_sst_get(s);
	uint8_t *tx;

	if (t == NULL)
		return -ENOMEM;
	if (t->plain == NULL)
		t->plain = malloc(SWIM_SSTREAM_CHUNK_MAX);
	tx = realloc(s->tx, SWIM_SSTREAM_FRAME_MAX);
	if (t->plain == NULL || tx == NULL)
		return -ENOMEM;
	s->tx = tx;
	s->tx_len = 0;
	s->tx_off = 0;
	swim_sstream_init(&t->out, s->kind == CP_SESS_IN);
	swim_crypto_nonce_gen_init(&t->gen);
	t->is_out = true;
	s->sync->st.sealed_out++;
	return 0;
}

uint8_t *
cp_sst_plain(struct cp_sess *s)
{
	return s->sst->plain;
}

int
cp_sst_seal_chunk(struct cp_sess *s, size_t len, bool is_final)
{
	struct cp_sst *t = s->sst;
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	int n;

	swim_crypto_nonce_gen_next(&t->gen, nonce);
	n = swim_sstream_seal(&t->out, s->sync->cfg.keyring, nonce, t->plain,
			      len, is_final, s->tx, SWIM_SSTREAM_FRAME_MAX);
	if (n < 0)
		return -EPROTO;
	s->tx_len = (size_t)n;
	s->tx_off = 0;
	return 1;
}

int
cp_sst_refill(struct cp_sess *s)
{
	const struct cp_sync_pp_ops *ops = s->sync->cfg.h.pp;
	struct cp_sst *t = s->sst;
	long n;

	if (s->pp_out == NULL)
		return 0;
	n = ops->out_fill(s->sync->cfg.h.ctx, s->pp_out, t->plain,
			  SWIM_SSTREAM_CHUNK_MAX);
	if (n == -EAGAIN)
		return 2;
	if (n < 0 || (size_t)n > SWIM_SSTREAM_CHUNK_MAX)
		return n < 0 ? (int)n : -EOVERFLOW;
	if (n > 0)
		return cp_sst_seal_chunk(s, (size_t)n, false);
	/* the encoder is done: an empty FINAL chunk ends the stream */
	ops->out_end(s->sync->cfg.h.ctx, s->pp_out);
	s->pp_out = NULL;
	return cp_sst_seal_chunk(s, 0, true);
}

int
cp_sst_peer_caps(const struct cp_sync *sync, const char *node,
		 const struct swim_addr *to)
{
	const struct cp_sync_pp_ops *ops = sync->cfg.h.pp;

	if (ops == NULL || ops->peer_caps == NULL)
		return -1;
	return ops->peer_caps(sync->cfg.h.ctx, node, to);
}

int
cp_sst_mark_request(uint8_t **buf, size_t *len)
{
	uint8_t *out = malloc(*len + SWIM_SSTREAM_HDR_KEY_LEN);
	int n;

	if (out == NULL)
		return -ENOMEM;
	n = swim_sstream_hdr_mark(*buf, *len, out,
				  *len + SWIM_SSTREAM_HDR_KEY_LEN);
	if (n < 0) {
		free(out);
		return -EINVAL;
	}
	free(*buf);
	*buf = out;
	*len = (size_t)n;
	return 0;
}
