/* SPDX-License-Identifier: MIT */
/*
 * The daemon's streamed push/pull callbacks (cp_sync_pp.h): our state
 * encoded from the core's table a window at a time (swim_pp_enc), the
 * peer's decoded and merged node by node (swim_pp_dec), the Serf user
 * state after the nodes. Control thread only.
 *
 * The Serf user state streams the same way (cp_sync_serf.c): sized
 * first, in steps (its exact length is in the header, before the first
 * node: the first out_fill calls say -EAGAIN until it is known), then
 * written from the Serf table after the nodes; the peer's is merged
 * entry by entry as it arrives.
 */
#include "cp.h"
#include "cp_sync_pp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serf.h"
#include "swim.h"
#include "swim_wire.h"

/** Node maps per swim_pp_* call: a window holds fewer. */
#define CP_SYNC_CORE_NODES 2048u

struct cp_pp_out {
	struct swim_pp_enc enc;
	struct cp_serf_out *us;	/* Serf user state */
	bool join;		/* for enc, started once us is sized */
	bool is_sized;		/* us sized, enc started */
};

struct cp_pp_in {
	struct swim_pp_dec dec;
	struct cp_serf_in *us;	/* Serf user state, once the nodes are in */
};

static void *
cp_pp_out_start(void *ctx, bool join)
{
	struct cp *cp = ctx;
	struct cp_pp_out *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	/* Sized in steps by out_fill: its length is in the header. */
	o->us = cp_sync_serf_out_begin(cp, NULL, NULL);
	if (o->us == NULL) {
		free(o);
		return NULL;
	}
	o->join = join;
	return o;
}

/* One step of the Serf state's sizing; the core's encoder once it is
 * sized. @retval 0, or -EAGAIN (a step ran: yield). */
static int
cp_pp_out_size(struct cp *cp, struct cp_pp_out *o)
{
	uint32_t len = 0;

	if (o->is_sized)
		return 0;
	if (cp_sync_serf_out_size(cp, o->us, &len) == -EAGAIN)
		return -EAGAIN;
	swim_pp_enc_start(cp->swim, &o->enc, o->join, len);
	o->is_sized = true;
	return 0;
}

static long
cp_pp_out_fill(void *ctx, void *st, uint8_t *out, size_t cap)
{
	struct cp *cp = ctx;
	struct cp_pp_out *o = st;

	if (cp_pp_out_size(cp, o) != 0)
		return -EAGAIN;
	int n = swim_pp_enc_next(cp->swim, &o->enc, out, cap,
				 CP_SYNC_CORE_NODES);

	if (n == SWIM_E_AGAIN)
		return -EAGAIN;	/* a later pass scanning: yield */
	if (n != 0)
		return n;
	return cp_sync_serf_out_fill(cp, o->us, out, cap);
}

static void
cp_pp_out_end(void *ctx, void *st)
{
	struct cp_pp_out *o = st;
	struct cp *cp = ctx;

	/* A dropped stream gives its snapshot slot back (swim.h). */
	if (o->is_sized)
		swim_pp_enc_end(cp->swim, &o->enc);
	cp_sync_serf_out_end(ctx, o->us);
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

static long
cp_pp_in_feed(void *ctx, void *st, uint64_t now_us, const uint8_t *buf,
	      size_t len, bool *done)
{
	struct cp *cp = ctx;
	struct cp_pp_in *in = st;
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
	}
	if (in->us == NULL) {
		in->us = cp_sync_serf_in_start(cp, now_us,
					       in->dec.hdr.user_state_len,
					       in->dec.hdr.join);
		if (in->us == NULL)
			return -ENOMEM;
	}
	long n = cp_sync_serf_in_feed(cp, in->us, now_us, buf + used,
				      len - (size_t)used, done);
	return n < 0 ? n : used + n;
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
	cp_sync_serf_in_end(in->us);
	free(in);
}

/* Vsn[6] of a member, for the chunked sealed stream (cp_sync_sealed.c). */
static int
cp_pp_peer_caps(void *ctx, const char *node, const struct swim_addr *to)
{
	return swim_member_caps(((struct cp *)ctx)->swim, node, to);
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
		.peer_caps = cp_pp_peer_caps,
	};
	return &ops;
}
