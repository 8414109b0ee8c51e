/*
 * Push/pull state sync over TCP (memberlist net.go sendLocalState,
 * mergeRemoteState, verifyProtocol; state.go pushPull, mergeState).
 * The I/O layer runs the exchange; the core encodes and merges.
 */
#include "swim_int.h"

#include <string.h>

void
swim_push_pull_schedule(struct swim *s, bool first)
{
	uint64_t iv = s->cfg.push_pull_interval_us;

	if (iv == 0 || s->leaving)
		return;
	uint64_t when = s->now + swim_push_pull_scale(iv,
					swim_members_count(&s->mt));
	/* Random stagger before the first one, as memberlist does. */
	if (first)
		when += swim_rand_below(&s->rnd, iv);
	swim_timer_arm(&s->timers, &s->t_push_pull, when);
}

static bool
swim_alive_filter(void *ctx, const struct swim_member *m)
{
	(void)ctx;
	return m->status == SWIM_STATUS_ALIVE;
}

void
swim_push_pull_tick(struct swim *s)
{
	struct swim_member *peer;

	swim_push_pull_schedule(s, false);
	if (s->leaving || swim_members_random(&s->mt, &s->rnd, false, 1,
					      swim_alive_filter, NULL,
					      &peer) == 0)
		return;
	struct swim_out_slot *o = swim_out_push(s, SWIM_OUT_PUSH_PULL,
						&peer->addr);
	if (o != NULL)
		memcpy(o->node, peer->name, peer->name_len + 1);
}

void
swim_join(struct swim *s, uint64_t now_us, const struct swim_addr *seeds,
	  unsigned nb)
{
	swim_enter(s, now_us);
	for (unsigned i = 0; seeds != NULL && i < nb; i++) {
		struct swim_out_slot *o = swim_out_push(s, SWIM_OUT_PUSH_PULL,
							&seeds[i]);
		if (o != NULL)
			o->join = true;
	}
}

void
swim_push_pull_failed(struct swim *s, uint64_t now_us,
		      const struct swim_addr *to, bool join)
{
	/* Nothing to undo: memberlist only logs it. */
	(void)to;
	(void)join;
	swim_enter(s, now_us);
}

void
swim_on_tcp_ping_result(struct swim *s, uint64_t now_us, uint32_t seq_no,
			bool acked)
{
	swim_enter(s, now_us);
	swim_probe_tcp_result(s, seq_no, acked);
}

/* --- encode --- */

struct swim_pp_out {
	uint8_t *out;
	size_t cap;
	size_t total;
	bool overflow;
	uint8_t *tmp;		/* measures what no longer fits */
};

static void
swim_pp_account(struct swim_pp_out *o, int n)
{
	if (n > 0)
		o->total += (size_t)n;
}

static void
swim_pp_node(struct swim_pp_out *o, const struct swim_member *m)
{
	struct swim_push_node n = {
		.name = { (const uint8_t *)m->name, m->name_len },
		.addr = { m->addr.ip, m->addr.ip_len },
		.port = m->addr.port,
		.incarnation = m->incarnation,
		.state = m->status,
		.meta = { m->meta_len ? m->meta : NULL, m->meta_len },
		/* Always a full Vsn, even for dead ones (doc §9.2). */
		.vsn = { m->vsn, SWIM_VSN_LEN },
	};
	int len = SWIM_WIRE_E_NOSPACE;

	if (!o->overflow) {
		len = swim_wire_encode_push_node(&n, o->out + o->total,
						 o->cap - o->total);
		if (len == SWIM_WIRE_E_NOSPACE)
			o->overflow = true;
	}
	if (o->overflow)
		len = swim_wire_encode_push_node(&n, o->tmp, SWIM_UDP_MAX);
	swim_pp_account(o, len);
}

size_t
swim_push_pull_encode(struct swim *s, bool join, const uint8_t *user_state,
		      size_t user_state_len, uint8_t *out, size_t cap)
{
	struct swim_push_pull_header h = {
		.join = join,
		.nb_nodes = swim_members_count(&s->mt),
		.user_state_len = (uint32_t)user_state_len,
	};
	struct swim_pp_out o = { out, out != NULL ? cap : 0, 0, false,
				 s->buf_b };
	int len = SWIM_WIRE_E_NOSPACE;

	if (user_state == NULL)
		h.user_state_len = 0;
	if (o.cap > 0)
		len = swim_wire_encode_push_pull_header(&h, out, o.cap);
	if (len == SWIM_WIRE_E_NOSPACE) {
		o.overflow = true;
		len = swim_wire_encode_push_pull_header(&h, o.tmp,
							SWIM_UDP_MAX);
	}
	swim_pp_account(&o, len);
	for (uint32_t i = 0; i < s->mt.all.nb; i++)
		swim_pp_node(&o, s->mt.all.v[i]);
	if (!o.overflow && o.total + h.user_state_len <= o.cap &&
	    h.user_state_len > 0)
		memcpy(out + o.total, user_state, h.user_state_len);
	return o.total + h.user_state_len;
}

/* --- merge --- */

/* verifyProtocol: the version window every node must speak inside. */
struct swim_pp_verify {
	uint8_t maxpmin, minpmax, maxdmin, mindmax;
	uint8_t lo_pcur, hi_pcur, lo_dcur, hi_dcur;	/* remote PCur/DCur */
};

static void
swim_vsn_window(struct swim_pp_verify *v, const uint8_t *vsn)
{
	if (vsn[0] > v->maxpmin)
		v->maxpmin = vsn[0];
	if (vsn[1] < v->minpmax)
		v->minpmax = vsn[1];
	if (vsn[3] > v->maxdmin)
		v->maxdmin = vsn[3];
	if (vsn[4] < v->mindmax)
		v->mindmax = vsn[4];
}

static int
swim_pp_verify_visit(void *ctx, const struct swim_push_node *n)
{
	struct swim_pp_verify *v = ctx;
	bool has = n->vsn.len == SWIM_VSN_LEN;
	uint8_t pcur = has ? n->vsn.ptr[2] : 0;
	uint8_t dcur = has ? n->vsn.ptr[5] : 0;

	if (n->state == SWIM_STATUS_ALIVE && has)
		swim_vsn_window(v, n->vsn.ptr);
	if (pcur < v->lo_pcur)
		v->lo_pcur = pcur;
	if (pcur > v->hi_pcur)
		v->hi_pcur = pcur;
	if (dcur < v->lo_dcur)
		v->lo_dcur = dcur;
	if (dcur > v->hi_dcur)
		v->hi_dcur = dcur;
	return 0;
}

static bool
swim_pp_compatible(const struct swim *s, struct swim_pp_verify *v)
{
	const struct swim_member_vec *all = &s->mt.all;

	for (uint32_t i = 0; i < all->nb; i++) {
		if (all->v[i]->status == SWIM_STATUS_ALIVE)
			swim_vsn_window(v, all->v[i]->vsn);
	}
	if (v->lo_pcur < v->maxpmin || v->hi_pcur > v->minpmax ||
	    v->lo_dcur < v->maxdmin || v->hi_dcur > v->mindmax)
		return false;
	/* memberlist checks every local node here, whatever its state. */
	for (uint32_t i = 0; i < all->nb; i++) {
		const uint8_t *vsn = all->v[i]->vsn;
		if (vsn[2] < v->maxpmin || vsn[2] > v->minpmax ||
		    vsn[5] < v->maxdmin || vsn[5] > v->mindmax)
			return false;
	}
	return true;
}

/* mergeState: remote dead only makes a node suspect here. */
static int
swim_pp_merge_visit(void *ctx, const struct swim_push_node *n)
{
	struct swim *s = ctx;

	if (n->state == SWIM_STATUS_ALIVE) {
		struct swim_alive a = {
			.incarnation = n->incarnation, .node = n->name,
			.addr = n->addr, .port = n->port, .meta = n->meta,
			.vsn = n->vsn,
		};
		swim_alive_node(s, &a, false);
	} else if (n->state == SWIM_STATUS_LEFT) {
		struct swim_accuse d = { n->incarnation, n->name, n->name };
		swim_dead_node(s, &d);
	} else if (n->state == SWIM_STATUS_DEAD ||
		   n->state == SWIM_STATUS_SUSPECT) {
		struct swim_accuse sus = {
			n->incarnation, n->name,
			{ (const uint8_t *)s->self->name, s->self->name_len },
		};
		swim_suspect_node(s, &sus);
	}
	return 0;
}

int
swim_push_pull_merge(struct swim *s, uint64_t now_us, const uint8_t *buf,
		     size_t len, struct swim_str *user_state)
{
	struct swim_pp_verify v = { 0, 255, 0, 255, 255, 0, 255, 0 };
	struct swim_push_pull_header h;
	struct swim_str us = { NULL, 0 };

	swim_enter(s, now_us);
	if (buf == NULL)
		return SWIM_WIRE_E_TRUNCATED;
	int rc = swim_wire_decode_push_pull(buf, len, &h, swim_pp_verify_visit,
					    &v, &us);
	if (rc < 0)
		return rc;
	if (!swim_pp_compatible(s, &v))
		return SWIM_E_PROTO_VERSION;
	rc = swim_wire_decode_push_pull(buf, len, &h, swim_pp_merge_visit, s,
					&us);
	if (rc < 0)
		return rc;
	s->stats.push_pulls++;
	if (user_state != NULL)
		*user_state = us;
	return rc;
}
