/* SPDX-License-Identifier: MIT */
/*
 * The Serf user state of a streamed push/pull (cp_sync_pp.h), both ways:
 * ours sized in steps (serf_pp_enc_size: the length goes in the
 * push/pull header, so the sizing runs before the first byte, a bounded
 * step per reactor pass) and encoded from the Serf table into the
 * stream's window (serf_pp_enc), the peer's decoded from the window and
 * merged entry by entry (serf_pp_dec), so neither costs a buffer that
 * grows with the pool and the control loop runs between windows. The
 * reactor moves one window per event; a sizing step, or a walk that
 * found nothing to write in its slice, says -EAGAIN and the sync engine
 * yields (cp_sync_pp.c).
 *
 * Only when SERF_PP_ENC_MAX encoders already run (that many push/pulls
 * at once) is our state encoded whole into a buffer, as before.
 * Control thread only.
 */
#include "cp.h"
#include "cp_sync_pp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serf.h"
#include "swim_wire.h"

struct cp_serf_out {
	struct serf_pp_enc enc;
	bool is_streamed;
	bool is_whole;		/* no encoder free: one buffer */
	bool is_sized;		/* its length is known */
	uint8_t *buf;		/* the whole state, when not streamed */
	size_t len;
	size_t off;
};

struct cp_serf_in {
	struct serf_pp_dec dec;
};

/* The old way: the whole state in one buffer. @retval its length. */
static size_t
cp_serf_out_whole(struct cp *cp, struct cp_serf_out *o)
{
	size_t cap = (size_t)serf_member_count(cp->serf) * 64 + 64 * 1024;
	size_t n;

	o->buf = malloc(cap);
	n = o->buf != NULL ? cp_serf_local_state(cp, o->buf, cap) : 0;
	if (n > cap && n <= UINT32_MAX) {
		uint8_t *p = realloc(o->buf, n);
		if (p != NULL) {
			o->buf = p;
			cap = n;
			n = cp_serf_local_state(cp, o->buf, cap);
		}
	}
	if (n == 0 || n > cap) {
		CP_LOG(WARN, "serf: user state not sent (%zu bytes)", n);
		n = 0;
	}
	o->len = n;
	return n;
}

struct cp_serf_out *
cp_sync_serf_out_begin(struct cp *cp, serf_pp_keep_f keep, void *ctx)
{
	struct cp_serf_out *o = calloc(1, sizeof(*o));
	int rc;

	if (o == NULL)
		return NULL;
	rc = serf_pp_enc_begin(cp->serf, &o->enc, keep, ctx);
	if (rc == 0) {
		o->is_streamed = true;
		return o;
	}
	if (rc != -EBUSY || keep != NULL) {
		CP_LOG(WARN, "serf: user state not sent: %s", strerror(-rc));
		o->is_sized = true;
		return o;	/* an empty user state */
	}
	o->is_whole = true;	/* encoded whole once it is asked for */
	return o;
}

int
cp_sync_serf_out_size(struct cp *cp, struct cp_serf_out *o, uint32_t *len)
{
	int rc = 0;

	if (o->is_whole && !o->is_sized)
		cp_serf_out_whole(cp, o);
	if (o->is_streamed && !o->is_sized)
		rc = serf_pp_enc_size(cp->serf, &o->enc);
	if (rc == -EAGAIN)
		return rc;	/* a step of the sizing ran: call again */
	if (rc != 0) {
		CP_LOG(WARN, "serf: user state not sent: %s", strerror(-rc));
		serf_pp_enc_end(cp->serf, &o->enc);
		o->is_streamed = false;	/* an empty user state */
	}
	o->is_sized = true;
	*len = o->is_streamed ? (uint32_t)o->enc.len : (uint32_t)o->len;
	return 0;
}

struct cp_serf_out *
cp_sync_serf_out_start(struct cp *cp, serf_pp_keep_f keep, void *ctx,
		       uint32_t *len)
{
	struct cp_serf_out *o = cp_sync_serf_out_begin(cp, keep, ctx);

	*len = 0;
	while (o != NULL && cp_sync_serf_out_size(cp, o, len) == -EAGAIN)
		;
	return o;
}

long
cp_sync_serf_out_fill(struct cp *cp, struct cp_serf_out *o, uint8_t *out,
		      size_t cap)
{
	if (o->is_streamed) {
		long n = serf_pp_enc_next(cp->serf, &o->enc, out, cap);
		if (n < 0 && n != -EAGAIN)
			CP_LOG(WARN, "serf: user state stream: %s",
			       strerror((int)-n));
		return n;
	}
	size_t k = o->len - o->off < cap ? o->len - o->off : cap;
	if (k > 0)
		memcpy(out, o->buf + o->off, k);
	o->off += k;
	return (long)k;
}

void
cp_sync_serf_out_end(struct cp *cp, struct cp_serf_out *o)
{
	if (o == NULL)
		return;
	serf_pp_enc_end(cp->serf, &o->enc);
	free(o->buf);
	free(o);
}

struct cp_serf_in *
cp_sync_serf_in_start(struct cp *cp, uint64_t now_us, uint32_t len,
		      bool join)
{
	struct cp_serf_in *in = malloc(sizeof(*in));

	if (in == NULL)
		return NULL;
	/* Members first, then intents about them: the core's events from
	 * this push/pull reach the Serf layer before its first entry. */
	if (len > 0)
		cp_loop_events(cp, now_us);
	serf_pp_dec_start(cp->serf, &in->dec, len, join);
	return in;
}

long
cp_sync_serf_in_feed(struct cp *cp, struct cp_serf_in *in, uint64_t now_us,
		     const uint8_t *buf, size_t len, bool *done)
{
	long n = serf_pp_dec_next(cp->serf, &in->dec, now_us, buf, len);

	if (n < 0) {
		CP_LOG(WARN, "serf: Failed to merge remote user state: %s",
		       swim_wire_strerror((int)n));
		return n;
	}
	*done = serf_pp_dec_done(&in->dec);
	return n;
}

void
cp_sync_serf_in_end(struct cp_serf_in *in)
{
	free(in);
}
