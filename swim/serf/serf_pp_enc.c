/* SPDX-License-Identifier: MIT */
/*
 * Our push/pull user state (messagePushPull) streamed from the member
 * table into a caller's window (serf.h, "Streamed push/pull user
 * state"). The exact length must be known before the first byte (it is
 * in the push/pull header, before the memberlist nodes), and the table
 * changes while the stream runs, so:
 *
 * - serf_pp_enc_begin takes one of SERF_PP_ENC_MAX encoder slots (two
 *   bits each in serf_member.pp_enc: "in StatusLTimes, not sent yet" and
 *   "in LeftMembers, not sent yet"); serf_pp_enc_size then sizes the
 *   state in steps of SERF_PP_SIZE_SCAN index slots, resumed across
 *   control-loop turns (85-184 ms at 10^6 in one call before), marking
 *   every member it counts. A member already marked is not counted
 *   again, so the sizing may walk the index in passes: the index grows
 *   by moving its entries a few at a time into a larger table
 *   (swim_index), and a move between two steps may carry an entry from
 *   behind the cursor to ahead of it (met twice: the mark says it is
 *   counted) or from ahead to behind it (missed: a later pass meets
 *   it). So the sizing ends with a pass during which the index did not
 *   move (its layout is the same at every step); after
 *   SERF_PP_SIZE_PASSES passes that moved, the last one runs whole in
 *   one call. Members added meanwhile are counted if a pass meets them,
 *   then sent like the others.
 * - The walk that writes the entries makes passes too, until it wrote
 *   as many as it sized: marks say what is still due, whatever moved.
 * - No member is erased while an encoder runs (serf_table.c defers the
 *   erase), so every marked member is still in the index.
 * - A slot released before its marks were all sent (a dropped stream)
 *   is dirty: the next encoder on it first clears that slot's bits in
 *   passes as the sizing's (serf->pp_enc_dirty); a clean slot is taken
 *   first when there is one.
 * - Every status LTime is written at one fixed width (uint16, 32 or 64:
 *   msgpack decoders, Go's too, take any width), so its growth does not
 *   change the length. The width holds twice the member clock at
 *   serf_pp_enc_begin plus 1024 (a status LTime never passes the clock:
 *   intents witness it first); one that outgrows it meanwhile goes as
 *   0, which every node ignores. The clocks and the Events value are
 *   taken at serf_pp_enc_begin (Events is bounded by the event buffer,
 *   not by members).
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 */
#include "serf_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swim_mp.h"

enum {
	ENC_CLEAN, ENC_SIZE, ENC_HEAD, ENC_STATUS, ENC_LEFT_HEAD, ENC_LEFT,
	ENC_TAIL, ENC_EVENTS, ENC_END, ENC_DONE,
};

/* Sizing passes the index may move under before the last one runs whole
 * (only a table that keeps moving: a move lasts 1/8 of the table's size
 * in inserts, the next growth is 3/8 away). */
#define SERF_PP_SIZE_PASSES 8u
/* Writing passes in a row that find nothing due while entries are: a
 * bug (a marked member vanished), the stream is dropped. */
#define SERF_PP_DRY_MAX 4u


/* Bytes of a str header (fixstr, str16, str32 as go-msgpack writes). */
static size_t
enc_strh(size_t len)
{
	return len <= 31 ? 1 : len <= UINT16_MAX ? 3 : 5;
}

static size_t
enc_str(size_t len)
{
	return enc_strh(len) + len;
}

static size_t
enc_uint(uint64_t v)
{
	return v <= 0x7f ? 1 : v <= UINT8_MAX ? 2 : v <= UINT16_MAX ? 3 :
	       v <= UINT32_MAX ? 5 : 9;
}

static size_t
enc_cont(uint32_t nb)
{
	return nb <= 15 ? 1 : nb <= UINT16_MAX ? 3 : 5;
}

static uint16_t
enc_bit_st(const struct serf_pp_enc *e)
{
	return (uint16_t)(1u << (2 * e->slot));
}

static uint16_t
enc_bit_left(const struct serf_pp_enc *e)
{
	return (uint16_t)(2u << (2 * e->slot));
}

/* An upper bound of the Events value, from the event buffer. */
static size_t
enc_events_bound(const struct serf *serf)
{
	size_t n = 8;

	for (uint32_t i = 0; i < serf->cfg.event_buffer; i++) {
		const struct serf_ev_slot *sl = &serf->ev_slots[i];
		if (!sl->is_used)
			continue;
		n += 48;	/* {Events: [..], LTime: u64} headers */
		for (uint32_t j = 0; j < sl->nb; j++)
			n += 32 + (size_t)sl->recs[j].name_len +
			     sl->recs[j].payload_len;
	}
	return n;
}

/* One userEvents slot: {"Events": [{Name, Payload}...], "LTime": t}. */
static void
enc_group(struct swim_mp_w *w, const struct serf_ev_slot *sl)
{
	swim_mp_put_map(w, 2);
	swim_mp_put_strn(w, "Events", 6);
	swim_mp_put_array(w, sl->nb);
	for (uint32_t j = 0; j < sl->nb; j++) {
		const struct serf_ev_rec *r = &sl->recs[j];
		struct swim_str pl = { r->payload_nil ? NULL :
				       r->data + r->name_len, r->payload_len };
		swim_mp_put_map(w, 2);
		swim_mp_put_strn(w, "Name", 4);
		swim_mp_put_strn(w, r->data, r->name_len);
		swim_mp_put_strn(w, "Payload", 7);
		swim_mp_put_bytes(w, &pl);
	}
	swim_mp_put_strn(w, "LTime", 5);
	swim_mp_put_uint(w, sl->ltime);
}

/* The Events value (used slots in slot order, as serf_local_state). */
static int
enc_events(const struct serf *serf, struct serf_pp_enc *e)
{
	size_t cap = enc_events_bound(serf);
	uint32_t nb = 0;
	struct swim_mp_w w;

	e->events = malloc(cap);
	if (e->events == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < serf->cfg.event_buffer; i++)
		nb += serf->ev_slots[i].is_used;
	swim_mp_w_create(&w, e->events, cap);
	swim_mp_put_array(&w, nb);
	for (uint32_t i = 0; i < serf->cfg.event_buffer; i++)
		if (serf->ev_slots[i].is_used)
			enc_group(&w, &serf->ev_slots[i]);
	int n = swim_mp_w_result(&w);
	if (n < 0)
		return -EMSGSIZE;
	e->events_len = (size_t)n;
	return 0;
}

/* The LTime width: bytes after the tag (2, 4 or 8). */
static void
enc_lt_width(const struct serf *serf, struct serf_pp_enc *e)
{
	uint64_t c = serf->clock.time;
	uint64_t top = c > (UINT64_MAX - 1024) / 2 ? UINT64_MAX : 2 * c + 1024;

	e->lt_bytes = top <= UINT16_MAX ? 2 : top <= UINT32_MAX ? 4 : 8;
}

/* The index layout (tables and move progress) at the last step. */
static bool
enc_layout_same(const struct serf_pp_enc *e, const struct swim_index *x)
{
	return e->lay_slots == (const void *)x->slots &&
	       e->lay_old == (const void *)x->old && e->lay_moved == x->moved;
}

static void
enc_layout_take(struct serf_pp_enc *e, const struct swim_index *x)
{
	e->lay_slots = x->slots;
	e->lay_old = x->old;
	e->lay_moved = x->moved;
}

/* Count m (and mark it) unless an earlier pass did or keep refuses it. */
static void
enc_count(struct serf_pp_enc *e, struct serf_member *m)
{
	uint16_t both = enc_bit_st(e) | enc_bit_left(e);
	size_t len;

	if (m->pp_enc & both)
		return;
	const char *name = swim_member_name(m->node, &len);
	if (e->keep != NULL && !e->keep(e->keep_ctx, name, len))
		return;
	m->pp_enc |= enc_bit_st(e);
	e->nb_status++;
	e->st_bytes += enc_str(len) + 1u + e->lt_bytes;
	if (m->status == SERF_STATUS_LEFT) {
		m->pp_enc |= enc_bit_left(e);
		e->nb_left++;
		e->left_bytes += enc_str(len);
	}
}

/*
 * The sizing's pass (or the cleaning's) from e->pos, over about budget
 * index slots. @retval true when the pass reached the end of the index.
 */
static bool
enc_pass(struct serf *serf, struct serf_pp_enc *e, uint32_t budget)
{
	uint16_t both = enc_bit_st(e) | enc_bit_left(e);
	uint32_t from = e->pos;
	struct serf_member *m;

	while (e->pos - from < budget) {
		m = swim_index_next(&serf->index, &e->pos);
		if (m == NULL)
			return true;
		if (e->phase == ENC_CLEAN)
			m->pp_enc &= (uint16_t)~both;
		else
			enc_count(e, m);
	}
	return false;
}

/* The head: 02, the map, LTime, the StatusLTimes map header. */
static size_t
enc_head_len(const struct serf_pp_enc *e)
{
	return 1 + 1 + enc_str(5) + enc_uint(e->ltime) + enc_str(12) +
	       enc_cont(e->nb_status);
}

/* EventLTime, the "Events" key (its value apart), QueryLTime. */
static size_t
enc_tail_len(const struct serf_pp_enc *e)
{
	return enc_str(10) + enc_uint(e->event_ltime) + enc_str(6) +
	       enc_str(10) + enc_uint(e->query_ltime);
}

/* The passes are over: the exact length, and the writing may start. */
static int
enc_sized(struct serf_pp_enc *e)
{
	e->len = enc_head_len(e) + e->st_bytes + enc_str(11) +
		 enc_cont(e->nb_left) + e->left_bytes + enc_tail_len(e) +
		 e->events_len;
	if (e->len > UINT32_MAX)
		return -EMSGSIZE;	/* UserStateLen is 32 bits */
	e->phase = ENC_HEAD;
	e->pos = 0;
	e->done = 0;
	return 0;
}

/* A free slot, a clean one first. @retval its number, or -EBUSY. */
static int
enc_slot_pick(const struct serf *serf)
{
	uint8_t free_slots = (uint8_t)~serf->pp_enc_busy;
	uint8_t clean = (uint8_t)(free_slots & ~serf->pp_enc_dirty);
	uint8_t pick = clean != 0 ? clean : free_slots;

	for (int k = 0; k < SERF_PP_ENC_MAX; k++)
		if (pick & (1u << k))
			return k;
	return -EBUSY;
}

int
serf_pp_enc_begin(struct serf *serf, struct serf_pp_enc *e,
		  serf_pp_keep_f keep, void *ctx)
{
	int k = enc_slot_pick(serf);

	memset(e, 0, sizeof(*e));
	e->phase = ENC_DONE;
	if (k < 0)
		return k;
	e->slot = (uint8_t)k;
	e->ltime = serf->clock.time;
	e->event_ltime = serf->event_clock.time;
	e->query_ltime = serf->query_clock.time;
	enc_lt_width(serf, e);
	int rc = enc_events(serf, e);
	if (rc != 0) {
		free(e->events);
		e->events = NULL;
		return rc;
	}
	e->keep = keep;
	e->keep_ctx = ctx;
	serf->pp_enc_busy |= (uint8_t)(1u << k);
	e->is_busy = true;
	e->phase = serf->pp_enc_dirty & (1u << k) ? ENC_CLEAN : ENC_SIZE;
	enc_layout_take(e, &serf->index);
	return 0;
}

int
serf_pp_enc_size(struct serf *serf, struct serf_pp_enc *e)
{
	const struct swim_index *x = &serf->index;

	if (e->phase != ENC_CLEAN && e->phase != ENC_SIZE)
		return e->phase == ENC_DONE ? -EINVAL : 0;
	if (!enc_layout_same(e, x))
		e->pass_moved = true;
	bool end = enc_pass(serf, e, SERF_PP_SIZE_SCAN);
	if (end && e->pass_moved && ++e->passes >= SERF_PP_SIZE_PASSES) {
		e->pos = 0;	/* the index kept moving: one pass, whole */
		end = enc_pass(serf, e, UINT32_MAX);
		e->pass_moved = false;
	}
	enc_layout_take(e, x);
	if (!end)
		return -EAGAIN;
	e->pos = 0;
	if (e->pass_moved) {
		e->pass_moved = false;	/* it may have missed some */
		return -EAGAIN;
	}
	e->passes = 0;
	if (e->phase == ENC_CLEAN) {
		serf->pp_enc_dirty &= (uint8_t)~(1u << e->slot);
		e->phase = ENC_SIZE;
		return -EAGAIN;
	}
	return enc_sized(e);
}

int
serf_pp_enc_start(struct serf *serf, struct serf_pp_enc *e,
		  serf_pp_keep_f keep, void *ctx)
{
	int rc = serf_pp_enc_begin(serf, e, keep, ctx);

	if (rc != 0)
		return rc;
	do
		rc = serf_pp_enc_size(serf, e);
	while (rc == -EAGAIN);
	if (rc != 0)
		serf_pp_enc_end(serf, e);
	return rc;
}

void
serf_pp_enc_end(struct serf *serf, struct serf_pp_enc *e)
{
	if (e->is_busy) {
		uint8_t bit = (uint8_t)(1u << e->slot);
		serf->pp_enc_busy &= (uint8_t)~bit;
		/* Marks may be left: the next encoder on it clears them. */
		if (e->phase >= ENC_SIZE && e->phase <= ENC_LEFT &&
		    (e->nb_status | e->nb_left) != 0)
			serf->pp_enc_dirty |= bit;
	}
	e->is_busy = false;
	e->phase = ENC_DONE;
	free(e->events);
	e->events = NULL;
}

/*
 * The LTime to send with a member's entry: its own, unless its left /
 * not-left status is no longer the one sized (then LeftMembers says the
 * other one) or it outgrew the width: 0, which every node ignores, as a
 * stale intent.
 */
static uint64_t
enc_ltime(const struct serf_pp_enc *e, const struct serf_member *m)
{
	bool sized_left = (m->pp_enc & enc_bit_left(e)) != 0;
	bool is_left = m->status == SERF_STATUS_LEFT;
	uint64_t max = e->lt_bytes == 8 ? UINT64_MAX :
		       (1ull << (8 * e->lt_bytes)) - 1;

	if (sized_left != is_left || m->status_ltime > max)
		return 0;
	return m->status_ltime;
}

/* uint16/32/64 (0xcd/0xce/0xcf) of e->lt_bytes. @retval bytes. */
static size_t
enc_put_lt(const struct serf_pp_enc *e, uint8_t *p, uint64_t v)
{
	unsigned n = e->lt_bytes;

	p[0] = n == 2 ? 0xcd : n == 4 ? 0xce : 0xcf;
	for (unsigned i = 0; i < n; i++)
		p[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return 1 + n;
}

/* m's StatusLTimes entry (st) or LeftMembers name. @retval false: no
 * room left in the window. */
static bool
enc_put_member(const struct serf_pp_enc *e, const struct serf_member *m,
	       bool st, uint8_t *out, size_t cap, size_t *len)
{
	size_t nlen;
	const char *name = swim_member_name(m->node, &nlen);
	size_t need = enc_str(nlen) + (st ? 1u + e->lt_bytes : 0);
	struct swim_mp_w w;

	if (need > cap - *len)
		return false;
	swim_mp_w_create(&w, out + *len, cap - *len);
	swim_mp_put_strn(&w, name, (uint32_t)nlen);
	*len += enc_str(nlen);
	if (st)
		*len += enc_put_lt(e, out + *len, enc_ltime(e, m));
	return true;
}

/*
 * Write the members that still carry bit (StatusLTimes entries or
 * LeftMembers names), in passes over the index from e->pos until want
 * are written: one the index moved behind the cursor is met by a later
 * pass. @retval false when the window or the slice is full.
 */
static bool
enc_walk(struct serf *serf, struct serf_pp_enc *e, uint16_t bit,
	 uint32_t want, uint8_t *out, size_t cap, size_t *len,
	 uint32_t *budget)
{
	bool st = bit == enc_bit_st(e);

	while (e->done < want && e->dry < SERF_PP_DRY_MAX) {
		if (*budget == 0)
			return false;
		uint32_t from = e->pos;
		struct serf_member *m = swim_index_next(&serf->index, &e->pos);
		uint32_t used = e->pos - from;
		*budget = used >= *budget ? 0 : *budget - used;
		if (m == NULL) {
			e->dry = e->pass_any ? 0 : (uint8_t)(e->dry + 1);
			e->pass_any = false;
			e->pos = 0;
			continue;
		}
		if (!(m->pp_enc & bit))
			continue;
		if (!enc_put_member(e, m, st, out, cap, len)) {
			e->pos = from;	/* this member first, next time */
			return false;
		}
		m->pp_enc &= (uint16_t)~bit;
		e->done++;
		e->pass_any = true;
	}
	return true;
}

/* On to the next phase, its walk from the start. */
static void
enc_phase_next(struct serf_pp_enc *e)
{
	e->phase++;
	e->done = 0;
	e->pos = 0;
	e->dry = 0;
	e->pass_any = false;
}

/* Write the small fixed pieces of the phase. @retval bytes. */
static size_t
enc_fixed(struct serf_pp_enc *e, uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	switch (e->phase) {
	case ENC_HEAD:
		swim_mp_put_u8(&w, SERF_MSG_PUSH_PULL);
		swim_mp_put_map(&w, 6);
		swim_mp_put_strn(&w, "LTime", 5);
		swim_mp_put_uint(&w, e->ltime);
		swim_mp_put_strn(&w, "StatusLTimes", 12);
		swim_mp_put_map(&w, e->nb_status);
		break;
	case ENC_LEFT_HEAD:
		swim_mp_put_strn(&w, "LeftMembers", 11);
		swim_mp_put_array(&w, e->nb_left);
		break;
	case ENC_TAIL:
		swim_mp_put_strn(&w, "EventLTime", 10);
		swim_mp_put_uint(&w, e->event_ltime);
		swim_mp_put_strn(&w, "Events", 6);
		break;
	case ENC_END:
		swim_mp_put_strn(&w, "QueryLTime", 10);
		swim_mp_put_uint(&w, e->query_ltime);
		break;
	}
	int n = swim_mp_w_result(&w);
	if (n < 0)
		return 0;	/* no room now: the next call has a window */
	enc_phase_next(e);
	return (size_t)n;
}

/* One walk phase; a walk that ends short of its count is an error. */
static int
enc_list(struct serf *serf, struct serf_pp_enc *e, uint8_t *out,
	 size_t cap, size_t *len, uint32_t *budget)
{
	bool st = e->phase == ENC_STATUS;
	uint16_t bit = st ? enc_bit_st(e) : enc_bit_left(e);
	uint32_t want = st ? e->nb_status : e->nb_left;

	if (!enc_walk(serf, e, bit, want, out, cap, len, budget))
		return 0;
	if (e->done != want)
		return -EPROTO;
	enc_phase_next(e);
	return 0;
}

long
serf_pp_enc_next(struct serf *serf, struct serf_pp_enc *e, uint8_t *out,
		 size_t cap)
{
	uint32_t budget = SERF_PP_ENC_SCAN;
	size_t len = 0;

	if (e->phase < ENC_HEAD || !e->is_busy)
		return -EINVAL;	/* not sized yet, or ended */
	while (e->phase < ENC_DONE && len < cap && budget > 0) {
		uint8_t phase = e->phase;
		uint32_t done = e->done;
		if (phase == ENC_STATUS || phase == ENC_LEFT) {
			int rc = enc_list(serf, e, out, cap, &len, &budget);
			if (rc < 0)
				return rc;
		} else if (phase == ENC_EVENTS) {
			size_t k = e->events_len - e->events_off;
			k = k < cap - len ? k : cap - len;
			memcpy(out + len, e->events + e->events_off, k);
			e->events_off += k;
			len += k;
			if (e->events_off == e->events_len)
				enc_phase_next(e);
		} else {
			len += enc_fixed(e, out + len, cap - len);
		}
		if (e->phase == phase && e->done == done)
			break;	/* window full */
	}
	e->sent += len;
	if (e->phase == ENC_DONE && e->sent != e->len)
		return -EPROTO;
	if (len > 0 || e->phase == ENC_DONE)
		return (long)len;
	return -EAGAIN;		/* the slice ran out before a byte */
}
