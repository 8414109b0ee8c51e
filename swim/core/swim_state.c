/*
 * memberlist's state transitions (state.go aliveNode, suspectNode,
 * deadNode, refute), applied to the member table. Every accepted change
 * is re-broadcast, keyed by member so only the newest news about a node
 * is gossiped.
 */
#include "swim_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static struct swim_str
swim_str_of(const void *p, uint32_t len)
{
	struct swim_str s = { .ptr = p, .len = len };
	return s;
}

/*
 * A queued broadcast about a member references it (swim_diss.h): the
 * kind says what to encode from the record at send time. An alive is
 * referenced only when the record holds exactly its fields (the record
 * changes again only with a new message, which replaces the item); a
 * suspect or dead only when its accuser is us or the node itself. The
 * rest (a Vsn or Meta the record did not take, a third node's
 * accusation) is queued as a copy.
 */
#define SWIM_BK_TYPE 0x0fu		/* SWIM_MSG_ALIVE, _SUSPECT, _DEAD */
#define SWIM_BK_FROM_NODE 0x10u		/* from: the node, else us */
#define SWIM_BK_VSN7 0x20u		/* alive: Vsn with a capability byte */
#define SWIM_BK_META_NIL 0x40u		/* alive: Meta nil, not empty */

static bool
swim_str_is(const struct swim_str *a, const void *p, size_t len)
{
	return a->len == len && (len == 0 || memcmp(a->ptr, p, len) == 0);
}

static int
swim_bcast_kind_alive(const struct swim_alive *a, const struct swim_member *m)
{
	bool vsn_ok = (a->vsn.len == SWIM_VSN_LEN ||
		       a->vsn.len == SWIM_VSN_LEN + 1) &&
		      a->vsn.len <= sizeof(m->vsn) &&
		      memcmp(a->vsn.ptr, m->vsn, a->vsn.len) == 0;

	if (!vsn_ok || !swim_str_is(&a->node, m->name, m->name_len) ||
	    !swim_str_is(&a->meta, m->meta, m->meta_len) ||
	    !swim_str_is(&a->addr, m->addr.ip, m->addr.ip_len) ||
	    a->port != m->addr.port)
		return -1;
	return (int)(SWIM_MSG_ALIVE |
		     (a->vsn.len > SWIM_VSN_LEN ? SWIM_BK_VSN7 : 0) |
		     (a->meta.ptr == NULL ? SWIM_BK_META_NIL : 0));
}

/* @retval the kind of a referenced item about m, or -1: copy it. */
static int
swim_bcast_kind(const struct swim *s, const struct swim_msg *msg,
		const struct swim_member *m, uint32_t *inc)
{
	const struct swim_accuse *acc = &msg->suspect;

	if (msg->type == SWIM_MSG_ALIVE) {
		*inc = msg->alive.incarnation;
		return swim_bcast_kind_alive(&msg->alive, m);
	}
	if (msg->type == SWIM_MSG_DEAD)
		acc = &msg->dead;
	else if (msg->type != SWIM_MSG_SUSPECT)
		return -1;
	*inc = acc->incarnation;
	if (!swim_str_is(&acc->node, m->name, m->name_len))
		return -1;
	if (swim_str_is(&acc->from, m->name, m->name_len))
		return (int)(msg->type | SWIM_BK_FROM_NODE);
	if (swim_str_is(&acc->from, s->self->name, s->self->name_len))
		return (int)msg->type;
	return -1;
}

int
swim_bcast_encode(void *ctx, struct swim_bcast **owner, uint8_t kind,
		  uint32_t inc, uint8_t *buf, size_t cap)
{
	const struct swim *s = ctx;
	const struct swim_member *m = (const void *)
		((const char *)owner - offsetof(struct swim_member, bcast));
	struct swim_msg msg = { .type = kind & SWIM_BK_TYPE };
	struct swim_str node = swim_str_of(m->name, m->name_len);
	struct swim_accuse *acc = msg.type == SWIM_MSG_DEAD ? &msg.dead :
							      &msg.suspect;

	if (msg.type == SWIM_MSG_ALIVE) {
		msg.alive.incarnation = inc;
		msg.alive.node = node;
		msg.alive.addr = swim_str_of(m->addr.ip, m->addr.ip_len);
		msg.alive.port = m->addr.port;
		msg.alive.meta = swim_str_of(kind & SWIM_BK_META_NIL ? NULL :
					     m->meta_len ? m->meta :
					     (const uint8_t *)"", m->meta_len);
		msg.alive.vsn = swim_str_of(m->vsn, kind & SWIM_BK_VSN7 ?
					    SWIM_VSN_LEN + 1 : SWIM_VSN_LEN);
		return swim_wire_encode_msg(&msg, buf, cap);
	}
	acc->incarnation = inc;
	acc->node = node;
	acc->from = kind & SWIM_BK_FROM_NODE ? node :
		swim_str_of(s->self->name, s->self->name_len);
	return swim_wire_encode_msg(&msg, buf, cap);
}

int
swim_queue_msg(struct swim *s, const struct swim_msg *msg,
	       struct swim_member *about, uint32_t flags)
{
	int len = swim_wire_encode_msg(msg, s->buf_c, SWIM_UDP_MAX);
	uint32_t inc = 0;
	int kind = about != NULL ? swim_bcast_kind(s, msg, about, &inc) : -1;

	if (len <= 0)
		return -1;
	if (kind >= 0)
		return swim_diss_push_ref(&s->bq, &about->bcast, (uint8_t)kind,
					  inc, (size_t)len, flags);
	return swim_diss_push(&s->bq, s->buf_c, (size_t)len,
			      about != NULL ? &about->bcast : NULL, flags);
}

/* --- suspicions: only suspect members have one --- */

static const char *
swim_suspect_key(const void *e, size_t *len)
{
	const struct swim_suspect_rec *r = e;

	*len = r->m->name_len;
	return r->m->name;
}

int
swim_suspects_init(struct swim *s)
{
	return swim_index_init(&s->suspects, swim_suspect_key);
}

void
swim_suspects_destroy(struct swim *s)
{
	uint32_t pos = 0;
	struct swim_suspect_rec *r;

	while ((r = swim_index_next(&s->suspects, &pos)) != NULL)
		free(r);
	swim_index_destroy(&s->suspects);
}

static struct swim_suspect_rec *
swim_suspect_of(const struct swim *s, const struct swim_member *m)
{
	if (!(m->flags & SWIM_MF_SUSPECT))
		return NULL;
	return swim_index_find(&s->suspects, m->name, m->name_len);
}

/* End m's suspicion, if any: its timer and its record go. */
static void
swim_suspect_end(struct swim *s, struct swim_member *m)
{
	struct swim_suspect_rec *r = swim_suspect_of(s, m);

	if (r == NULL)
		return;
	swim_timer_cancel(&s->timers, &r->t);
	swim_index_remove(&s->suspects, r);
	m->flags &= (uint8_t)~SWIM_MF_SUSPECT;
	free(r);
}

/* --- reaping: dead and left members leave after GossipToTheDeadTime --- */

static void
swim_reap_push(struct swim *s, struct swim_member *m, uint64_t at)
{
	struct swim_reapq *q = &s->reapq;

	if (q->nb == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : 64;
		struct swim_reap *v = malloc((size_t)cap * sizeof(*v));
		if (v == NULL)
			return;	/* not reaped: listed longer, never lost */
		for (uint32_t i = 0; i < q->nb; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	if (!swim_member_ref(m))
		return;
	q->v[(q->head + q->nb) % q->cap] = (struct swim_reap){ m, at };
	q->nb++;
}

uint64_t
swim_reap_next(const struct swim *s)
{
	const struct swim_reapq *q = &s->reapq;

	return q->nb > 0 ? q->v[q->head].at : UINT64_MAX;
}

/*
 * memberlist's resetNodes (with the fix for its issue #253: left nodes
 * too): a node dead or left for GossipToTheDeadTime leaves the table, so
 * a pool with churn does not grow without bound. The delay is fixed, so
 * the entries are in time order; one that no longer applies (the member
 * came back, or died again later) is just dropped.
 */
void
swim_reap_run(struct swim *s)
{
	struct swim_reapq *q = &s->reapq;

	while (q->nb > 0 && q->v[q->head].at <= s->now) {
		struct swim_member *m = q->v[q->head].m;
		uint64_t at = q->v[q->head].at;
		q->head = (q->head + 1) % q->cap;
		q->nb--;
		bool gone = m->is_self || (m->flags & SWIM_MF_GONE) ||
			    (m->status != SWIM_STATUS_DEAD &&
			     m->status != SWIM_STATUS_LEFT) ||
			    m->state_change_us +
			    s->cfg.gossip_to_the_dead_time_us != at;
		if (!gone)
			swim_member_forget(s, m);
		swim_member_unref(m);
	}
	if (q->nb == 0 && q->cap > 4096) {
		free(q->v);
		q->v = NULL;
		q->cap = q->head = 0;
	}
}

void
swim_reapq_destroy(struct swim *s)
{
	struct swim_reapq *q = &s->reapq;

	for (uint32_t i = 0; i < q->nb; i++)
		swim_member_unref(q->v[(q->head + i) % q->cap].m);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

static void
swim_member_set_status(struct swim *s, struct swim_member *m,
		       enum swim_status st)
{
	swim_members_set_status(&s->mt, &s->rnd, m, st);
	m->state_change_us = s->now;
	if ((st == SWIM_STATUS_DEAD || st == SWIM_STATUS_LEFT) && !m->is_self)
		swim_reap_push(s, m, s->now +
			       s->cfg.gossip_to_the_dead_time_us);
}

/* Refute an accusation about ourselves: a higher incarnation, re-gossiped. */
static void
swim_refute(struct swim *s, uint32_t accused)
{
	struct swim_member *me = s->self;
	uint32_t inc = me->incarnation + 1;
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE };

	if (accused >= inc)
		inc = accused + 1;
	swim_members_set_inc(&s->mt, me, inc);
	swim_awareness_apply(&s->aware, 1);
	s->stats.refutes++;
	msg.alive.incarnation = inc;
	msg.alive.node = swim_str_of(me->name, me->name_len);
	msg.alive.addr = swim_str_of(me->addr.ip, me->addr.ip_len);
	msg.alive.port = me->addr.port;
	msg.alive.meta = swim_str_of(me->meta_len ? me->meta : NULL,
				     me->meta_len);
	msg.alive.vsn = swim_str_of(me->vsn, swim_member_vsn_len(me));
	swim_queue_msg(s, &msg, me, 0);
}

void
swim_member_forget(struct swim *s, struct swim_member *m)
{
	swim_suspect_end(s, m);
	/* Its broadcast outlives it: as a copy, since the record goes. */
	swim_diss_materialize(&s->bq, m->bcast);
	m->bcast = NULL;
	swim_members_remove(&s->mt, m);
}

static bool
swim_alive_sane(const struct swim_alive *a)
{
	if (!swim_vsn_len_ok(a->vsn.len))
		return false;
	if (a->vsn.len >= 3) {
		uint8_t pmin = a->vsn.ptr[0];
		uint8_t pmax = a->vsn.ptr[1];
		if (pmin == 0 || pmax == 0 || pmin > pmax)
			return false;
	}
	return (a->addr.len == 4 || a->addr.len == 16) &&
	       a->node.len > 0 && a->node.len <= SWIM_NAME_MAX &&
	       a->meta.len <= SWIM_META_MAX;
}

static bool
swim_addr_equal(const struct swim_addr *m, const struct swim_alive *a)
{
	return m->ip_len == a->addr.len && m->port == a->port &&
	       memcmp(m->ip, a->addr.ptr, a->addr.len) == 0;
}

/*
 * Find or create the member an alive is about. *updates is set when a
 * left (or reclaimable dead) member changes address. NULL: drop it.
 */
static struct swim_member *
swim_alive_target(struct swim *s, const struct swim_alive *a, bool *updates,
		  bool *created)
{
	struct swim_member *m = swim_find_str(s, &a->node);

	*updates = false;
	*created = false;
	if (m == NULL) {
		bool is_self = a->node.len == strlen(s->cfg.name) &&
			memcmp(a->node.ptr, s->cfg.name, a->node.len) == 0;
		m = swim_members_add(&s->mt, &s->rnd, (const char *)a->node.ptr,
				     a->node.len, is_self);
		if (m == NULL)
			return NULL;
		*created = true;
		swim_addr_from_str(&m->addr, &a->addr, a->port);
		swim_member_set_vsn(m, a->vsn.ptr, a->vsn.len);
		swim_member_added(s, m);
		return m;
	}
	if (swim_addr_equal(&m->addr, a))
		return m;
	uint64_t reclaim = s->cfg.dead_node_reclaim_time_us;
	bool can_reclaim = reclaim > 0 &&
			   s->now - m->state_change_us > reclaim;
	if (m->status == SWIM_STATUS_LEFT ||
	    (m->status == SWIM_STATUS_DEAD && can_reclaim)) {
		*updates = true;
		return m;
	}
	/* A name conflict: another node claims this name. */
	return NULL;
}

static void
swim_alive_apply(struct swim *s, struct swim_member *m,
		 const struct swim_alive *a)
{
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE, .alive = *a };

	/* Out of memory for new Meta: the old stays (stale, never torn). */
	swim_member_set_meta(&s->mt, m, a->meta.ptr, a->meta.len);
	swim_queue_msg(s, &msg, m, 0);
	swim_member_set_vsn(m, a->vsn.ptr, a->vsn.len);
	swim_members_set_inc(&s->mt, m, a->incarnation);
	swim_addr_from_str(&m->addr, &a->addr, a->port);
	if (m->status != SWIM_STATUS_ALIVE)
		swim_member_set_status(s, m, SWIM_STATUS_ALIVE);
}

static bool
swim_self_same(const struct swim_member *m, const struct swim_alive *a,
	       bool meta_changed)
{
	return a->incarnation == m->incarnation && !meta_changed &&
	       a->vsn.len >= SWIM_VSN_LEN &&	/* our caps byte: ours alone */
	       memcmp(a->vsn.ptr, m->vsn, SWIM_VSN_LEN) == 0;
}

void
swim_alive_node(struct swim *s, const struct swim_alive *a, bool bootstrap)
{
	bool updates;
	bool created;

	if (!swim_alive_sane(a)) {
		s->stats.msgs_invalid++;
		return;
	}
	if (s->leaving && s->self != NULL &&
	    a->node.len == s->self->name_len &&
	    memcmp(a->node.ptr, s->self->name, a->node.len) == 0)
		return;
	struct swim_member *m = swim_alive_target(s, a, &updates, &created);
	if (m == NULL)
		return;
	bool is_local = m->is_self;
	if ((!is_local && !updates && a->incarnation <= m->incarnation) ||
	    (is_local && a->incarnation < m->incarnation)) {
		if (created)
			swim_member_forget(s, m);
		return;
	}
	swim_suspect_end(s, m);
	enum swim_status old = m->status;
	bool meta_changed = a->meta.len != m->meta_len ||
		(a->meta.len > 0 &&
		 memcmp(a->meta.ptr, m->meta, a->meta.len) != 0);
	if (!bootstrap && is_local) {
		if (swim_self_same(m, a, meta_changed))
			return;
		swim_refute(s, a->incarnation);
		return;
	}
	swim_alive_apply(s, m, a);
	if (old == SWIM_STATUS_DEAD || old == SWIM_STATUS_LEFT)
		swim_event_member(s, SWIM_EV_JOIN, m);
	else if (meta_changed)
		swim_event_member(s, SWIM_EV_UPDATE, m);
}

static void
swim_suspect_start(struct swim *s, struct swim_member *m,
		   const struct swim_accuse *sus)
{
	uint32_t n = swim_members_count(&s->mt);
	uint32_t mult = s->cfg.suspicion_mult;
	uint64_t min = swim_suspicion_min_us(mult, n, s->cfg.probe_interval_us);
	uint64_t max = (uint64_t)s->cfg.suspicion_max_timeout_mult * min;

	if (max < min)
		max = min;
	struct swim_suspect_rec *r = malloc(sizeof(*r));
	if (r == NULL)
		return;	/* no timer: the probe round suspects it again */
	r->m = m;
	swim_timer_init(&r->t, SWIM_T_SUSPECT);
	if (swim_timer_heap_reserve(&s->timers, s->suspects.nb +
				    SWIM_RELAY_MAX + 64) != 0 ||
	    swim_index_insert(&s->suspects, r) != 0) {
		free(r);
		return;
	}
	m->flags |= SWIM_MF_SUSPECT;
	swim_suspicion_start(&r->susp,
			     swim_name_hash((const char *)sus->from.ptr,
					    sus->from.len),
			     swim_suspicion_k(mult, n), min, max, s->now);
	swim_timer_arm(&s->timers, &r->t, r->susp.deadline_us);
}

void
swim_suspect_node(struct swim *s, const struct swim_accuse *sus)
{
	struct swim_member *m = swim_find_str(s, &sus->node);
	struct swim_msg msg = { .type = SWIM_MSG_SUSPECT, .suspect = *sus };

	if (m == NULL || sus->incarnation < m->incarnation)
		return;
	struct swim_suspect_rec *r = swim_suspect_of(s, m);
	if (r != NULL) {
		uint64_t from = swim_name_hash((const char *)sus->from.ptr,
					       sus->from.len);
		if (!swim_suspicion_confirm(&r->susp, from))
			return;
		swim_queue_msg(s, &msg, m, 0);
		if (r->susp.deadline_us <= s->now)
			swim_suspect_timeout(s, m);
		else
			swim_timer_arm(&s->timers, &r->t,
				       r->susp.deadline_us);
		return;
	}
	if (m->status != SWIM_STATUS_ALIVE)
		return;
	if (m->is_self) {
		swim_refute(s, sus->incarnation);
		return;
	}
	swim_queue_msg(s, &msg, m, 0);
	swim_members_set_inc(&s->mt, m, sus->incarnation);
	swim_member_set_status(s, m, SWIM_STATUS_SUSPECT);
	swim_suspect_start(s, m, sus);
	swim_event_member(s, SWIM_EV_SUSPECT, m);
}

void
swim_dead_node(struct swim *s, const struct swim_accuse *d)
{
	struct swim_member *m = swim_find_str(s, &d->node);
	struct swim_msg msg = { .type = SWIM_MSG_DEAD, .dead = *d };

	if (m == NULL || d->incarnation < m->incarnation)
		return;
	swim_suspect_end(s, m);
	if (m->status == SWIM_STATUS_DEAD || m->status == SWIM_STATUS_LEFT)
		return;
	if (m->is_self && !s->leaving) {
		swim_refute(s, d->incarnation);
		return;
	}
	swim_queue_msg(s, &msg, m, m->is_self ? SWIM_BCAST_LEAVE : 0);
	swim_members_set_inc(&s->mt, m, d->incarnation);
	/* A node declaring itself dead has left. */
	bool left = d->node.len == d->from.len &&
		    memcmp(d->node.ptr, d->from.ptr, d->node.len) == 0;
	swim_member_set_status(s, m, left ? SWIM_STATUS_LEFT :
					    SWIM_STATUS_DEAD);
	swim_event_member(s, SWIM_EV_LEAVE, m);
}

void
swim_suspect_timeout(struct swim *s, struct swim_member *m)
{
	struct swim_accuse d;

	swim_suspect_end(s, m);
	if (m->status != SWIM_STATUS_SUSPECT)
		return;
	d.incarnation = m->incarnation;
	d.node = swim_str_of(m->name, m->name_len);
	d.from = swim_str_of(s->self->name, s->self->name_len);
	swim_dead_node(s, &d);
}
