/*
 * Push/pull state sync over TCP (memberlist net.go sendLocalState,
 * mergeRemoteState, verifyProtocol; state.go pushPull, mergeState).
 * The I/O layer runs the exchange; the core encodes and merges.
 */
#include "swim_int.h"
#include "swim_dsync_int.h"
#include "swim_index.h"
#include "swim_mp.h"

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
	/* a peer that answers HELLO over UDP: that first (swim_dsync_udp.h) */
	if (swim_dsync_udp_periodic(s, peer))
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
		.vsn = { m->vsn, swim_member_vsn_len(m) },
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
	bool has = n->vsn.len >= SWIM_VSN_LEN;
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

/* --- streamed encode: a snapshot walk over the table --- */

/* Index slots a swim_pp_enc_next call may scan without finding a member
 * to send (about a millisecond at 10^6): later passes stay sliced. */
#define SWIM_PP_SCAN_SLOTS 65536u
/* Passes in a row that find nothing while members are due: only a table
 * changing under every pass; pad rather than walk on. */
#define SWIM_PP_DRY_MAX 4u

/*
 * The encoder writes mark bits of members and the table's slot state,
 * bookkeeping the const API does not show (logically const: no member
 * or status changes). A struct swim is always created by swim_new on
 * the heap, never const-defined, so the writes are defined.
 */
static struct swim_members *
swim_pp_mt(const struct swim *s)
{
	return (struct swim_members *)&s->mt;
}

static uint8_t
swim_pp_bit(const struct swim_pp_enc *e)
{
	return (uint8_t)(1u << (SWIM_MF_PP_SHIFT + e->slot - 1u));
}

void
swim_pp_enc_init(const struct swim *s, struct swim_pp_enc *e, bool join,
		 uint32_t user_state_len)
{
	memset(e, 0, sizeof(*e));
	e->nb_nodes = swim_members_count(&s->mt);
	e->user_state_len = user_state_len;
	e->join = join;
}

void
swim_pp_enc_start(const struct swim *s, struct swim_pp_enc *e, bool join,
		  uint32_t user_state_len)
{
	struct swim_members *t = swim_pp_mt(s);
	uint8_t free_slots = (uint8_t)(~t->pp_busy & SWIM_MF_PP_MASK);

	swim_pp_enc_init(s, e, join, user_state_len);
	if (free_slots == 0) {
		t->pp_fallbacks++;	/* the unmarked walk, as before */
		return;
	}
	uint8_t bit = (uint8_t)(free_slots & -free_slots);
	uint32_t b = 0;

	while ((1u << (b + SWIM_MF_PP_SHIFT)) != bit)
		b++;
	/* Every member now reads "not emitted" for this slot. */
	t->pp_busy |= bit;
	t->pp_pol ^= bit;
	t->pp_left[b] = e->nb_nodes;
	e->slot = (uint8_t)(b + 1);
	e->adds = t->pp_adds;
}

void
swim_pp_enc_end(const struct swim *s, struct swim_pp_enc *e)
{
	struct swim_members *t = swim_pp_mt(s);

	if (e->slot == 0)
		return;
	uint8_t bit = swim_pp_bit(e);
	uint32_t b = e->slot - 1u;

	/* Members still unmarked: set them back to the idle polarity. */
	if (t->pp_left[b] > 0 && e->next == 0 && t->pp_adds == e->adds) {
		t->pp_pol ^= bit;	/* nothing marked or created: undo */
	} else if (t->pp_left[b] > 0) {
		for (uint32_t i = 0; i < t->all.nb; i++) {
			struct swim_member *m = t->all.v[i];
			m->flags = (uint8_t)((m->flags & ~bit) |
					     (t->pp_pol & bit));
		}
	}
	t->pp_left[b] = 0;
	t->pp_busy &= (uint8_t)~bit;
	e->slot = 0;
	e->pad = true;
}

/*
 * The next snapshot member this encoder has not sent, in passes over
 * the name index from slot 0: members the index moved behind the cursor
 * (growth, backward shift) are found by a later pass. NULL: none due
 * (pad with self), or the scan budget ran out (*again).
 */
static struct swim_member *
swim_pp_snap_next(struct swim_members *t, struct swim_pp_enc *e,
		  uint32_t *budget, bool *again)
{
	uint8_t bit = swim_pp_bit(e);

	while (t->pp_left[e->slot - 1] > 0 && e->dry < SWIM_PP_DRY_MAX) {
		if (*budget == 0) {
			*again = true;
			return NULL;
		}
		uint32_t from = e->pos;
		struct swim_member *m = swim_index_next(&t->index, &e->pos);
		uint32_t used = e->pos - from;

		*budget = used >= *budget ? 0 : *budget - used;
		if (m == NULL) {
			e->dry = e->pass_any ? 0 : (uint8_t)(e->dry + 1);
			e->pass_any = false;
			e->pos = 0;
		} else if ((m->flags ^ t->pp_pol) & bit) {
			return m;
		}
	}
	return NULL;
}

/*
 * The node map of the next member (self once none is due: the table
 * shrank). The encoder moves only on success (or, with *again, by the
 * slots scanned).
 */
static int
swim_pp_enc_node(const struct swim *s, struct swim_pp_enc *e, uint8_t *out,
		 size_t cap, uint32_t *budget)
{
	struct swim_members *t = swim_pp_mt(s);
	struct swim_pp_enc at = *e;
	struct swim_member *m = NULL;
	bool again = false;
	struct swim_member_info mi;
	int n;

	if (at.pad)
		m = NULL;
	else if (at.dsync != NULL)
		m = (struct swim_member *)swim_dsync_walk_next(&s->mt.index,
							       &at);
	else if (at.slot == 0)
		m = swim_index_next(&s->mt.index, &at.pos);
	else
		m = swim_pp_snap_next(t, &at, budget, &again);
	if (again) {
		*e = at;
		return SWIM_E_AGAIN;
	}
	const struct swim_member *w = m != NULL ? m : s->self;

	swim_member_info_fill(w, &mi);
	struct swim_push_node nd = {
		.name = mi.name,
		.addr = { mi.addr.ip, mi.addr.ip_len },
		.port = mi.addr.port,
		.incarnation = mi.incarnation,
		.state = mi.status,
		.meta = mi.meta,
		/* Always a full Vsn, even for dead ones (doc §9.2). */
		.vsn = { w->vsn, swim_member_vsn_len(w) },
	};
	n = swim_wire_encode_push_node(&nd, out, cap);
	if (n <= 0)
		return n;
	if (at.slot != 0 && m != NULL) {
		m->flags ^= swim_pp_bit(&at);	/* now equal to pp_pol */
		t->pp_left[at.slot - 1]--;
		at.pass_any = true;
		at.dry = 0;
	}
	*e = at;
	return n;
}

int
swim_pp_enc_next(const struct swim *s, struct swim_pp_enc *e, uint8_t *out,
		 size_t cap, uint32_t max_nodes)
{
	uint32_t budget = SWIM_PP_SCAN_SLOTS;
	size_t len = 0;
	int n;

	if (!e->header_done) {
		struct swim_push_pull_header h = {
			.join = e->join, .nb_nodes = e->nb_nodes,
			.user_state_len = e->user_state_len,
		};
		n = swim_wire_encode_push_pull_header(&h, out, cap);
		if (n < 0)
			return n;
		len = (size_t)n;
		e->header_done = true;
	}
	for (uint32_t k = 0; k < max_nodes && e->next < e->nb_nodes; k++) {
		n = swim_pp_enc_node(s, e, out + len, cap - len, &budget);
		if ((n == SWIM_WIRE_E_NOSPACE || n == SWIM_E_AGAIN) && len > 0)
			break;
		if (n < 0)
			return n;
		len += (size_t)n;
		e->next++;
	}
	/* All due members sent (the rest, if any, is self): free the slot. */
	if (e->slot != 0 && (e->next == e->nb_nodes ||
			     swim_pp_mt(s)->pp_left[e->slot - 1] == 0))
		swim_pp_enc_end(s, e);
	return (int)len;
}

/* --- streamed decode: each node merged as it completes --- */

/* A copy of swim_wire.c's tables: the codec exports no one-piece decode. */
static const struct swim_mp_field swim_pp_header_f[] = {
	SWIM_MP_FIELD("Join", SWIM_MP_BOOL, false,
		      struct swim_push_pull_header, join),
	SWIM_MP_FIELD("Nodes", SWIM_MP_LEN, false,
		      struct swim_push_pull_header, nb_nodes),
	SWIM_MP_FIELD("UserStateLen", SWIM_MP_LEN, false,
		      struct swim_push_pull_header, user_state_len),
};

static const struct swim_mp_field swim_pp_node_f[] = {
	SWIM_MP_FIELD("Addr", SWIM_MP_BYTES, false, struct swim_push_node,
		      addr),
	SWIM_MP_FIELD("Incarnation", SWIM_MP_U32, false,
		      struct swim_push_node, incarnation),
	SWIM_MP_FIELD("Meta", SWIM_MP_BYTES, false, struct swim_push_node,
		      meta),
	SWIM_MP_FIELD("Name", SWIM_MP_STR, false, struct swim_push_node,
		      name),
	SWIM_MP_FIELD("Port", SWIM_MP_U16, false, struct swim_push_node,
		      port),
	SWIM_MP_FIELD("State", SWIM_MP_STATUS, false, struct swim_push_node,
		      state),
	SWIM_MP_FIELD("Vsn", SWIM_MP_VSN, false, struct swim_push_node, vsn),
};

void
swim_pp_dec_start(const struct swim *s, struct swim_pp_dec *d)
{
	struct swim_pp_verify v = { 0, 255, 0, 255, 255, 0, 255, 0 };
	const struct swim_member_vec *all = &s->mt.all;

	memset(d, 0, sizeof(*d));
	for (uint32_t i = 0; i < all->nb; i++) {
		const uint8_t *vsn = all->v[i]->vsn;

		if (all->v[i]->status == SWIM_STATUS_ALIVE)
			swim_vsn_window(&v, vsn);
		v.lo_pcur = vsn[2] < v.lo_pcur ? vsn[2] : v.lo_pcur;
		v.hi_pcur = vsn[2] > v.hi_pcur ? vsn[2] : v.hi_pcur;
		v.lo_dcur = vsn[5] < v.lo_dcur ? vsn[5] : v.lo_dcur;
		v.hi_dcur = vsn[5] > v.hi_dcur ? vsn[5] : v.hi_dcur;
	}
	memcpy(d->win, (uint8_t[4]){ v.maxpmin, v.minpmax, v.maxdmin,
				     v.mindmax }, 4);
	memcpy(d->cur, (uint8_t[4]){ v.lo_pcur, v.hi_pcur, v.lo_dcur,
				     v.hi_dcur }, 4);
}

/*
 * verifyProtocol for one remote node against our table: its current
 * versions inside our window, and (alive) its window around every
 * version our table speaks.
 */
static bool
swim_pp_node_compatible(const struct swim_pp_dec *d,
			const struct swim_push_node *n)
{
	bool has = n->vsn.len >= SWIM_VSN_LEN;
	uint8_t pcur = has ? n->vsn.ptr[2] : 0;
	uint8_t dcur = has ? n->vsn.ptr[5] : 0;
	const uint8_t *w = d->win;

	if (pcur < w[0] || pcur > w[1] || dcur < w[2] || dcur > w[3])
		return false;
	if (n->state != SWIM_STATUS_ALIVE || !has)
		return true;
	const uint8_t *r = n->vsn.ptr;
	return d->cur[0] >= r[0] && d->cur[1] <= r[1] &&
	       d->cur[2] >= r[3] && d->cur[3] <= r[4];
}

/* The type byte and header. @retval bytes, 0 incomplete, or < 0. */
static int
swim_pp_dec_header(struct swim_pp_dec *d, const uint8_t *buf, size_t len)
{
	const uint8_t *pos = buf + 1;
	int rc;

	if (len == 0)
		return 0;
	if (buf[0] != SWIM_MSG_PUSH_PULL)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	rc = swim_mp_decode_struct(&pos, buf + len, SWIM_MP_MEMBERLIST,
				   swim_pp_header_f,
				   SWIM_MP_NB(swim_pp_header_f), &d->hdr);
	if (rc == SWIM_WIRE_E_TRUNCATED)
		return len >= SWIM_PP_PIECE_MAX ? SWIM_WIRE_E_LENGTH : 0;
	if (rc < 0)
		return rc;
	/* Whole or not, a piece is judged by its size alone: the outcome
	 * does not depend on how the bytes were cut. */
	if (d->hdr.nb_nodes > SWIM_PP_STREAM_NODES_MAX ||
	    pos - buf > SWIM_PP_PIECE_MAX)
		return SWIM_WIRE_E_LENGTH;
	d->phase = SWIM_PP_DEC_NODES;
	return (int)(pos - buf);
}

/* One node map: decode, check, merge. @retval bytes, 0, or < 0. */
static int
swim_pp_dec_node(struct swim *s, struct swim_pp_dec *d, const uint8_t *buf,
		 size_t len)
{
	const uint8_t *pos = buf;
	struct swim_push_node n;
	int rc;

	memset(&n, 0, sizeof(n));
	rc = swim_mp_decode_struct(&pos, buf + len, SWIM_MP_MEMBERLIST,
				   swim_pp_node_f,
				   SWIM_MP_NB(swim_pp_node_f), &n);
	if (rc == SWIM_WIRE_E_TRUNCATED)
		return len >= SWIM_PP_PIECE_MAX ? SWIM_WIRE_E_LENGTH : 0;
	if (rc < 0)
		return rc;
	if (pos - buf > SWIM_PP_PIECE_MAX)
		return SWIM_WIRE_E_LENGTH;
	if (!swim_pp_node_compatible(d, &n))
		return SWIM_E_PROTO_VERSION;
	swim_pp_merge_visit(s, &n);
	d->nodes_done++;
	return (int)(pos - buf);
}

int
swim_pp_dec_next(struct swim *s, uint64_t now_us, struct swim_pp_dec *d,
		 const uint8_t *buf, size_t len, uint32_t max_nodes)
{
	size_t used = 0;
	int rc;

	swim_enter(s, now_us);
	if (d->phase == SWIM_PP_DEC_HEADER) {
		rc = swim_pp_dec_header(d, buf, len);
		if (rc <= 0)
			return rc;
		used = (size_t)rc;
	}
	for (uint32_t k = 0; k < max_nodes && d->phase == SWIM_PP_DEC_NODES &&
	     d->nodes_done < d->hdr.nb_nodes; k++) {
		rc = swim_pp_dec_node(s, d, buf + used, len - used);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		used += (size_t)rc;
	}
	if (d->phase == SWIM_PP_DEC_NODES && d->nodes_done == d->hdr.nb_nodes) {
		d->phase = SWIM_PP_DEC_USER;
		s->stats.push_pulls++;
	}
	return (int)used;
}
