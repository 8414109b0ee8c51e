/* SPDX-License-Identifier: MIT */
/*
 * The daemon's streamed push/pull callbacks (cp_sync_pp.h): our state
 * encoded from the core's table a window at a time (swim_pp_enc), the
 * peer's decoded and merged node by node (swim_pp_dec), the Serf user
 * state after the nodes. Control thread only.
 *
 * The Serf user state is still one buffer each way, about 30 bytes a
 * member (its exact size must be in the header before the first node,
 * and the Serf table may change between two slices of the stream, so it
 * is encoded once at the start: serf_local_state), but with no size cap
 * of ours below CP_SYNC_CORE_USER_MAX, without the 256 KiB "send none"
 * fallback of the whole-message path, and encoded once, not re-encoded
 * into doubling buffers to learn its size.
 */
#include "cp.h"
#include "cp_sync_pp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serf.h"
#include "swim.h"
#include "swim_wire.h"

/** Largest Serf user state we read from a peer (a lie costs no more:
 * the buffer grows with the bytes that really arrive). */
#define CP_SYNC_CORE_USER_MAX (256u << 20)
/** Node maps per swim_pp_* call: a window holds fewer. */
#define CP_SYNC_CORE_NODES 2048u

struct cp_pp_out {
	struct swim_pp_enc enc;
	uint8_t *us;		/* Serf user state */
	size_t us_len;
	size_t us_off;		/* bytes of it sent */
};

struct cp_pp_in {
	struct swim_pp_dec dec;
	uint8_t *us;		/* Serf user state so far */
	size_t us_len;
	size_t us_cap;
};

static void *
cp_pp_out_start(void *ctx, bool join)
{
	struct cp *cp = ctx;
	struct cp_pp_out *o = calloc(1, sizeof(*o));
	size_t n, cap;

	if (o == NULL)
		return NULL;
	/* One encode: a buffer for 64 bytes a member is only touched as far
	 * as the state goes; a bigger state says its size and is encoded
	 * once more, exactly. */
	cap = (size_t)serf_member_count(cp->serf) * 64 + 64 * 1024;
	o->us = malloc(cap);
	n = o->us != NULL ? cp_serf_local_state(cp, o->us, cap) : 0;
	if (n > cap && n <= UINT32_MAX) {
		uint8_t *p = realloc(o->us, n);
		if (p != NULL) {
			o->us = p;
			cap = n;
			n = cp_serf_local_state(cp, o->us, cap);
		}
	}
	if (n > 0 && n <= cap)
		o->us_len = n;
	else
		CP_LOG(WARN, "serf: user state not sent (%zu bytes)", n);
	swim_pp_enc_start(cp->swim, &o->enc, join, (uint32_t)o->us_len);
	return o;
}

static long
cp_pp_out_fill(void *ctx, void *st, uint8_t *out, size_t cap)
{
	struct cp *cp = ctx;
	struct cp_pp_out *o = st;
	int n = swim_pp_enc_next(cp->swim, &o->enc, out, cap,
				 CP_SYNC_CORE_NODES);
	size_t k;

	if (n != 0)
		return n;
	k = o->us_len - o->us_off < cap ? o->us_len - o->us_off : cap;
	memcpy(out, o->us + o->us_off, k);
	o->us_off += k;
	return (long)k;
}

static void
cp_pp_out_end(void *ctx, void *st)
{
	struct cp_pp_out *o = st;

	(void)ctx;
	free(o->us);
	free(o);
}

static void *
cp_pp_in_start(void *ctx, uint64_t now_us)
{
	struct cp *cp = ctx;
	struct cp_pp_in *in = calloc(1, sizeof(*in));

	(void)now_us;
	if (in != NULL)
		swim_pp_dec_start(cp->swim, &in->dec);
	return in;
}

/* Append user state bytes, growing with what arrives. @retval 0 or < 0. */
static int
cp_pp_in_user(struct cp_pp_in *in, const uint8_t *buf, size_t k)
{
	if (in->us_len + k > in->us_cap) {
		size_t cap = in->us_cap == 0 ? 64 * 1024 : in->us_cap * 2;
		size_t want = in->dec.hdr.user_state_len;
		uint8_t *p;

		if (cap > want)
			cap = want;
		if (cap < in->us_len + k)
			cap = in->us_len + k;
		p = realloc(in->us, cap);
		if (p == NULL)
			return -ENOMEM;
		in->us = p;
		in->us_cap = cap;
	}
	memcpy(in->us + in->us_len, buf, k);
	in->us_len += k;
	return 0;
}

static long
cp_pp_in_feed(void *ctx, void *st, uint64_t now_us, const uint8_t *buf,
	      size_t len, bool *done)
{
	struct cp *cp = ctx;
	struct cp_pp_in *in = st;
	size_t want;
	long used = 0;

	if (in->dec.phase != SWIM_PP_DEC_USER) {
		int rc = swim_pp_dec_next(cp->swim, now_us, &in->dec, buf, len,
					  CP_SYNC_CORE_NODES);
		if (rc < 0) {
			CP_LOG(WARN, "memberlist: Failed to merge remote "
			       "state: %s", rc == SWIM_E_PROTO_VERSION ?
			       "incompatible protocol versions" :
			       swim_wire_strerror(rc));
			return rc;
		}
		if (in->dec.phase != SWIM_PP_DEC_USER)
			return rc;
		used = rc;
		if (in->dec.hdr.user_state_len > CP_SYNC_CORE_USER_MAX)
			return SWIM_WIRE_E_LENGTH;
	}
	want = in->dec.hdr.user_state_len - in->us_len;
	if (want > len - (size_t)used)
		want = len - (size_t)used;
	if (want > 0 && cp_pp_in_user(in, buf + used, want) != 0)
		return -ENOMEM;
	used += (long)want;
	if (in->us_len == in->dec.hdr.user_state_len) {
		*done = true;
		if (in->us_len > 0) {
			/* members first, then intents about them */
			cp_loop_events(cp, now_us);
			/* sliced over loop passes when big; takes in->us */
			cp_sync_serf_merge(cp, now_us, in->us, in->us_len,
					   in->dec.hdr.join);
			in->us = NULL;
			in->us_len = 0;
		}
	}
	return used;
}

static bool
cp_pp_in_join(void *ctx, void *st)
{
	struct cp_pp_in *in = st;

	(void)ctx;
	return in->dec.hdr.join;
}

static void
cp_pp_in_end(void *ctx, void *st)
{
	struct cp_pp_in *in = st;

	(void)ctx;
	free(in->us);
	free(in);
}

const struct cp_sync_pp_ops *
cp_sync_core_pp_ops(void)
{
	static const struct cp_sync_pp_ops ops = {
		.out_start = cp_pp_out_start,
		.out_fill = cp_pp_out_fill,
		.out_end = cp_pp_out_end,
		.in_start = cp_pp_in_start,
		.in_feed = cp_pp_in_feed,
		.in_join = cp_pp_in_join,
		.in_end = cp_pp_in_end,
	};
	return &ops;
}
