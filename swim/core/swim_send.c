/*
 * Everything that leaves the core: the output and event queues, and
 * memberlist's send path (sendMsg / rawSendMsgPacket): piggyback queued
 * broadcasts up to the UDP budget in a compound, compress when that makes
 * the packet strictly shorter, and add a CRC for peers with PMax >= 5.
 * Periodic gossip (memberlist's gossip()) lives here too.
 */
#include "swim_int.h"

#include <stdlib.h>
#include <string.h>

#define SWIM_ARENA_MAX (64u << 20)
#define SWIM_OUTQ_MAX 65536
/*
 * Events are not bounded by count: a merge of n members queues n member
 * events of 24 bytes (they point at their members), and every one must
 * reach control. Only a failed allocation drops one (events_dropped).
 */
#define SWIM_EVQ_MAX (1u << 30)
/** Popped event's data (decompressed user data fits). */
#define SWIM_EV_CUR_SIZE (2 * SWIM_UDP_MAX)

/* --- rings and arenas --- */

static int
swim_ring_init(struct swim_ring *r, size_t size, uint32_t cap, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->v = calloc(cap, size);
	r->cap = cap;
	r->max = max;
	r->size = size;
	return r->v == NULL ? -1 : 0;
}

static void *
swim_ring_at(const struct swim_ring *r, uint32_t i)
{
	return (char *)r->v + (size_t)((r->head + i) % r->cap) * r->size;
}

/* Double the ring, unwrapping it so head is 0. */
static int
swim_ring_grow(struct swim_ring *r)
{
	if (r->cap >= r->max)
		return -1;
	uint32_t cap = r->cap * 2;
	char *v = calloc(cap, r->size);
	if (v == NULL)
		return -1;
	for (uint32_t i = 0; i < r->nb; i++)
		memcpy(v + (size_t)i * r->size, swim_ring_at(r, i), r->size);
	free(r->v);
	r->v = v;
	r->cap = cap;
	r->head = 0;
	return 0;
}

static void *
swim_ring_push(struct swim_ring *r)
{
	if (r->nb == r->cap && swim_ring_grow(r) != 0)
		return NULL;
	void *slot = swim_ring_at(r, r->nb++);
	memset(slot, 0, r->size);
	return slot;
}

/* Give back a ring that a burst grew, once it is empty again. */
static void
swim_ring_shrink(struct swim_ring *r, uint32_t keep)
{
	if (r->nb != 0 || r->cap <= keep)
		return;
	void *v = calloc(keep, r->size);
	if (v == NULL)
		return;
	free(r->v);
	r->v = v;
	r->cap = keep;
	r->head = 0;
}

static void *
swim_ring_pop(struct swim_ring *r)
{
	if (r->nb == 0)
		return NULL;
	void *slot = swim_ring_at(r, 0);
	r->head = (r->head + 1) % r->cap;
	/* emptied: start over at slot 0 (the popped slot stays valid), so
	 * a quiet ring keeps writing the same lines instead of walking
	 * round pages it last touched long ago */
	if (--r->nb == 0)
		r->head = 0;
	return slot;
}

/* Room for len bytes; the returned offset stays valid, the pointer not. */
static int64_t
swim_arena_reserve(struct swim_arena *a, size_t len)
{
	if (a->used + len > a->cap) {
		size_t cap = a->cap ? a->cap : 4096;
		while (cap < a->used + len)
			cap *= 2;
		if (cap > SWIM_ARENA_MAX)
			return -1;
		uint8_t *buf = realloc(a->buf, cap);
		if (buf == NULL)
			return -1;
		a->buf = buf;
		a->cap = cap;
	}
	int64_t off = (int64_t)a->used;
	a->used += len;
	return off;
}

int
swim_queues_init(struct swim *s)
{
	s->out_cur = malloc(SWIM_UDP_MAX);
	s->ev_cur = malloc(SWIM_EV_CUR_SIZE);
	if (s->out_cur == NULL || s->ev_cur == NULL)
		return -1;
	if (swim_ring_init(&s->outq, sizeof(struct swim_out_slot), 64,
			   SWIM_OUTQ_MAX) != 0)
		return -1;
	return swim_ring_init(&s->evq, sizeof(struct swim_ev_slot), 64,
			      SWIM_EVQ_MAX);
}

void
swim_queues_destroy(struct swim *s)
{
	free(s->outq.v);
	free(s->evq.v);
	free(s->out_arena.buf);
	free(s->ev_arena.buf);
	free(s->out_cur);
	free(s->ev_cur);
}

/* --- outputs --- */

struct swim_out_slot *
swim_out_push(struct swim *s, enum swim_output_kind kind,
	      const struct swim_addr *to)
{
	if (s->outq.nb == 0)
		s->out_arena.used = 0;
	struct swim_out_slot *o = swim_ring_push(&s->outq);
	if (o == NULL)
		return NULL;
	o->kind = kind;
	o->to = *to;
	return o;
}

bool
swim_pop_output(struct swim *s, struct swim_output *out)
{
	struct swim_out_slot *o = swim_ring_pop(&s->outq);

	if (o == NULL)
		return false;
	memset(out, 0, sizeof(*out));
	out->kind = o->kind;
	out->to = o->to;
	/* Copy out: the arena is reused once the queue drains. */
	if (o->kind == SWIM_OUT_PACKET && o->len > 0) {
		memcpy(s->out_cur, s->out_arena.buf + o->off, o->len);
		out->data = s->out_cur;
		out->len = o->len;
	}
	memcpy(out->node, o->node, sizeof(out->node));
	out->seq_no = o->seq_no;
	out->deadline_us = o->deadline_us;
	out->join = o->join;
	if (s->outq.nb == 0)
		s->out_arena.used = 0;
	return true;
}

/* Compress (if shorter) and CRC-wrap (PMax >= 5), then queue. */
void
swim_send_raw(struct swim *s, const struct swim_addr *to,
	      const struct swim_member *node, const uint8_t *buf, size_t len)
{
	if (len == 0 || len > SWIM_UDP_MAX - 5)
		return;
	if (s->cfg.enable_compression) {
		/* only a shorter result is used (memberlist's rule): give
		 * LZW no more room, so it stops as soon as it cannot win */
		int clen = swim_wire_encode_compress(buf, len, s->buf_b,
						     len - 1);
		if (clen > 0 && (size_t)clen < len) {
			buf = s->buf_b;
			len = (size_t)clen;
		}
	}
	bool crc = node != NULL && node->vsn[1] >= 5;
	struct swim_out_slot *o = swim_out_push(s, SWIM_OUT_PACKET, to);
	if (o == NULL)
		return;
	int64_t off = swim_arena_reserve(&s->out_arena, len + 5);
	if (off < 0) {
		s->outq.nb--;
		return;
	}
	uint8_t *dst = s->out_arena.buf + off;
	int n = (int)len;
	if (crc)
		n = swim_wire_encode_crc(buf, len, dst, len + 5);
	else
		memcpy(dst, buf, len);
	if (n <= 0) {
		s->outq.nb--;
		return;
	}
	o->off = (uint32_t)off;
	o->len = (uint32_t)n;
	s->stats.packets_out++;
}

/*
 * The bytes one packet's messages may take before sealing: memberlist's
 * UDPBufferSize less labelOverhead (we send no label: 0) and, when the
 * packet will be sealed, encryptOverhead (sendMsg and gossip alike).
 */
static size_t
swim_udp_room(const struct swim *s)
{
	size_t room = s->cfg.udp_buffer_size;

	if (s->cfg.is_encrypted)
		room -= SWIM_ENCRYPT_OVERHEAD;
	return room;
}

/* memberlist's getBroadcasts: own queue first, then the user queue. */
static unsigned
swim_take_all(struct swim *s, size_t limit, struct swim_str *parts,
	      unsigned max_parts, size_t *used)
{
	uint32_t tl = swim_retransmit_limit(s->cfg.retransmit_mult,
					    swim_members_count(&s->mt));
	/* Every gossip and piggyback also moves a bit of an index growth
	 * the inserts left unfinished (swim_index.h): done in seconds. */
	swim_index_step(&s->mt.index, 2048);
	unsigned nb = swim_diss_take(&s->bq, 2, limit, tl, parts, max_parts,
				     used);

	if (nb < max_parts && limit > *used && limit - *used > 3)
		nb += swim_diss_take(&s->uq, 2, limit, tl, parts + nb,
				     max_parts - nb, used);
	return nb;
}

static void
swim_release_all(struct swim *s)
{
	swim_diss_release(&s->bq);
	swim_diss_release(&s->uq);
}

/* Send parts[0..nb) bare when alone, else as one compound. */
static void
swim_send_parts(struct swim *s, const struct swim_addr *to,
		const struct swim_member *node, const struct swim_str *parts,
		unsigned nb)
{
	if (nb == 1) {
		swim_send_raw(s, to, node, parts[0].ptr, parts[0].len);
		return;
	}
	int len = swim_wire_encode_compound(parts, nb, s->buf_a, SWIM_UDP_MAX);
	if (len > 0)
		swim_send_raw(s, to, node, s->buf_a, (size_t)len);
}

void
swim_send_msg(struct swim *s, const struct swim_addr *to,
	      const struct swim_msg *msg)
{
	struct swim_str parts[SWIM_MAX_PARTS];
	int len = swim_wire_encode_msg(msg, s->buf_c, SWIM_UDP_MAX);

	if (len <= 0)
		return;
	parts[0].ptr = s->buf_c;
	parts[0].len = (uint32_t)len;
	unsigned nb = 1;
	size_t budget = swim_udp_room(s);
	if ((size_t)len + 2 < budget) {
		size_t used = 0;
		nb += swim_take_all(s, budget - (size_t)len - 2, parts + 1,
				    SWIM_MAX_PARTS - 1, &used);
	}
	swim_send_parts(s, to, NULL, parts, nb);
	swim_release_all(s);
}

/* --- gossip --- */

static bool
swim_gossip_filter(void *ctx, const struct swim_member *m)
{
	struct swim *s = ctx;

	if (m->status == SWIM_STATUS_DEAD)
		return s->now - m->state_change_us <=
		       s->cfg.gossip_to_the_dead_time_us;
	return m->status == SWIM_STATUS_ALIVE ||
	       m->status == SWIM_STATUS_SUSPECT;
}

void
swim_gossip(struct swim *s)
{
	struct swim_member *targets[64];
	struct swim_str parts[SWIM_MAX_PARTS];
	uint32_t k = s->cfg.gossip_nodes > 64 ? 64 : s->cfg.gossip_nodes;

	if (s->bq.nb == 0 && s->uq.nb == 0)
		return;
	uint32_t nb = swim_members_random(&s->mt, &s->rnd, true, k,
					  swim_gossip_filter, s, targets);
	for (uint32_t i = 0; i < nb; i++) {
		size_t used = 0;
		unsigned n = swim_take_all(s, swim_udp_room(s) - 2, parts,
					   SWIM_MAX_PARTS, &used);
		if (n == 0)
			break;
		swim_send_parts(s, &targets[i]->addr, targets[i], parts, n);
		swim_release_all(s);
	}
}

size_t
swim_take_piggyback(struct swim *s, uint8_t *buf, size_t cap,
		    unsigned *nb_parts)
{
	struct swim_str parts[SWIM_MAX_PARTS];
	size_t used = 0;
	unsigned nb = 0;

	if (buf != NULL && cap > 2)
		nb = swim_take_all(s, cap, parts, SWIM_MAX_PARTS, &used);
	uint8_t *p = buf;
	for (unsigned i = 0; i < nb; i++) {
		*p++ = (uint8_t)(parts[i].len >> 8);
		*p++ = (uint8_t)parts[i].len;
		memcpy(p, parts[i].ptr, parts[i].len);
		p += parts[i].len;
	}
	swim_release_all(s);
	if (nb_parts != NULL)
		*nb_parts = nb;
	return (size_t)(p - buf);
}

int
swim_broadcast_user(struct swim *s, const uint8_t *data, size_t len)
{
	/* It must fit in a gossip packet as one part, or it never goes. */
	if (data == NULL || len == 0 ||
	    len + 1 + 2 > swim_udp_room(s) - 2)
		return -1;
	s->buf_c[0] = SWIM_MSG_USER;
	memcpy(s->buf_c + 1, data, len);
	return swim_diss_push(&s->uq, s->buf_c, len + 1, NULL, 0);
}

void
swim_send_user(struct swim *s, const struct swim_addr *to,
	       const uint8_t *data, size_t len)
{
	if (to == NULL || data == NULL || len == 0 || len + 1 > SWIM_UDP_MAX - 5)
		return;
	s->buf_c[0] = SWIM_MSG_USER;
	memcpy(s->buf_c + 1, data, len);
	swim_send_raw(s, to, NULL, s->buf_c, len + 1);
}

/* --- events --- */

/* Queue one event; m (member kinds) gets a reference until it is popped. */
static void
swim_evq_put(struct swim *s, enum swim_event_kind kind, struct swim_member *m,
	     const struct swim_event *ev)
{
	size_t extra = kind == SWIM_EV_USER ? sizeof(ev->from) :
		       kind == SWIM_EV_PING ? sizeof(ev->rtt_us) : 0;
	size_t dlen = ev != NULL ? ev->data.len : 0;

	if (s->evq.nb == 0 && s->ev_arena.used > 0)
		s->ev_arena.used = 0;
	int64_t off = 0;
	if (extra + dlen > 0)
		off = swim_arena_reserve(&s->ev_arena, extra + dlen);
	struct swim_ev_slot *e = off < 0 ? NULL : swim_ring_push(&s->evq);
	if (e == NULL || (m != NULL && !swim_member_ref(m))) {
		if (e != NULL)
			s->evq.nb--;
		s->events_dropped++;
		return;
	}
	e->m = m;
	e->kind = (uint8_t)kind;
	e->status = m != NULL ? m->status : 0;
	e->incarnation = m != NULL ? m->incarnation : 0;
	e->data_off = (uint32_t)off;
	e->data_len = (uint32_t)dlen;
	e->data_nil = ev == NULL || ev->data.ptr == NULL;
	if (extra + dlen == 0)
		return;
	uint8_t *p = s->ev_arena.buf + off;
	if (kind == SWIM_EV_USER)
		memcpy(p, &ev->from, sizeof(ev->from));
	else if (kind == SWIM_EV_PING)
		memcpy(p, &ev->rtt_us, sizeof(ev->rtt_us));
	if (dlen > 0)
		memcpy(p + extra, ev->data.ptr, dlen);
}

void
swim_event_push(struct swim *s, const struct swim_event *ev)
{
	struct swim_member *m = NULL;

	if (ev->kind >= SWIM_EV_COUNT)
		return;
	if (ev->kind != SWIM_EV_USER) {
		m = swim_members_find(&s->mt,
				      (const char *)ev->member.name.ptr,
				      ev->member.name.len);
		if (m == NULL) {
			s->events_dropped++;
			return;
		}
	}
	swim_evq_put(s, ev->kind, m, ev);
}

void
swim_event_member(struct swim *s, enum swim_event_kind kind,
		  const struct swim_member *m)
{
	/* The queue holds members, it never changes them. */
	swim_evq_put(s, kind, (struct swim_member *)(uintptr_t)m, NULL);
}

static void
swim_event_unhold(struct swim *s)
{
	if (s->ev_held != NULL)
		swim_member_unref(s->ev_held);
	s->ev_held = NULL;
}

void
swim_events_release(struct swim *s)
{
	struct swim_ev_slot *e;

	swim_event_unhold(s);
	while ((e = swim_ring_pop(&s->evq)) != NULL) {
		if (e->m != NULL)
			swim_member_unref(e->m);
	}
}

bool
swim_pop_event(struct swim *s, struct swim_event *ev)
{
	struct swim_ev_slot *e;

	/* The previous event's member may go now: its slices were valid
	 * until this call. */
	swim_event_unhold(s);
	e = swim_ring_pop(&s->evq);
	if (e == NULL)
		return false;
	memset(ev, 0, sizeof(*ev));
	ev->kind = (enum swim_event_kind)e->kind;
	if (e->m != NULL) {
		swim_member_info_fill(e->m, &ev->member);
		ev->member.status = (enum swim_status)e->status;
		ev->member.incarnation = e->incarnation;
		s->ev_held = e->m;
	}
	size_t extra = ev->kind == SWIM_EV_USER ? sizeof(ev->from) :
		       ev->kind == SWIM_EV_PING ? sizeof(ev->rtt_us) : 0;
	uint32_t dlen = e->data_len;
	if (dlen > SWIM_EV_CUR_SIZE)
		dlen = SWIM_EV_CUR_SIZE;
	/* Member events put no bytes in the arena (it may not exist). */
	if (extra + e->data_len > 0) {
		const uint8_t *p = s->ev_arena.buf + e->data_off;
		if (ev->kind == SWIM_EV_USER)
			memcpy(&ev->from, p, sizeof(ev->from));
		else if (ev->kind == SWIM_EV_PING)
			memcpy(&ev->rtt_us, p, sizeof(ev->rtt_us));
		if (dlen > 0)
			memcpy(s->ev_cur, p + extra, dlen);
	}
	ev->data.ptr = e->data_nil ? NULL : s->ev_cur;
	ev->data.len = dlen;
	if (s->evq.nb == 0) {
		s->ev_arena.used = 0;
		swim_ring_shrink(&s->evq, 4096);
	}
	return true;
}
