/* SPDX-License-Identifier: MIT */
/*
 * What a whole message on a sync stream means (memberlist-wire.md §7):
 * an inbound push/pull is answered with our state and then merged, an
 * inbound TCP ping is acked, a user message is handed over; an outbound
 * stream's reply is merged (push/pull) or matched (ping) and reported
 * to the owner's callbacks. Unreadable inbound streams get memberlist's
 * errResp.
 *
 * Never decides membership itself: the bytes go to struct
 * cp_sync_handler, which calls the core. Control thread only.
 */
#include "cp_sync_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "swim_sealed_stream.h"
#include "swim_wire.h"

/* memberlist's texts for the two stream errors of an encrypting engine,
 * in the errResp it sends back. */
#define CP_SYNC_ERR_PLAIN \
	"Encryption is configured but remote state is not encrypted"
#define CP_SYNC_ERR_OPEN "No installed keys could decrypt the message"

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
	size_t n = 0;
	uint8_t *out = NULL;

	bool is_sealed = s->sync->cfg.keyring != NULL;

	/* sealed: a request with "SealedChunks" gets chunks (any size) */
	if (h->pp != NULL &&
	    (!is_sealed || swim_sstream_hdr_wants(f->buf, f->len) > 0)) {
		/* Our reply streamed, then theirs merged whole. */
		s->sync->st.in_push_pull++;
		s->state = CP_SESS_WRITING;
		if (cp_sess_pp_out_start(s, f->hdr.join) != 0 ||
		    (is_sealed && cp_sst_out_start(s) != 0) ||
		    cp_io_mod(s->sync->cfg.epfd, &s->io, EPOLLOUT) != 0) {
			cp_sess_close(s);
			return;
		}
		h->merge(h->ctx, now_us, f->buf, f->len);
		return;
	}
	out = cp_sync_local_state(s->sync, f->hdr.join, &n);
	if (out == NULL) {
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
		s->is_small = true;	/* not a push/pull's bytes */
		cp_sess_in_ping(s, f);
		return;
	case SWIM_MSG_USER:
		s->is_small = true;
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
void
cp_sess_got(struct cp_sess *s, uint64_t now_us, int rc,
	    const struct cp_frame *f)
{
	if (rc == CP_FRAME_UNKNOWN && cp_sess_delta_claim(s, now_us))
		return;	/* a delta-sync stream (cp_sync_delta.c) */
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

/* Our push/pull bytes for an outbound exchange, malloc'ed. */
uint8_t *
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
