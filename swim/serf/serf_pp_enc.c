/* SPDX-License-Identifier: MIT */
/*
 * Our push/pull user state (messagePushPull) streamed from the member
 * table into a caller's window (serf.h, "Streamed push/pull user
 * state"). The exact length must be known before the first byte (it is
 * in the push/pull header, before the memberlist nodes), and the table
 * changes while the stream runs, so:
 *
 * - serf_pp_enc_start walks the index once and marks every member it
 *   counts with two bits of this encoder's slot in serf_member.pp_enc:
 *   "in StatusLTimes, not sent yet" and "in LeftMembers, not sent yet".
 *   Members added later have no mark (records come zeroed) and are
 *   skipped; a mark is cleared when its entry is written, so a walk can
 *   restart from slot 0 when the index grows (a rehash moves every
 *   member) without sending anything twice.
 * - No member is erased while an encoder runs (serf_table.c defers the
 *   erase), and only erasing shifts members backwards in the index, so
 *   a walk in slot order never skips one.
 * - Every status LTime is written at one fixed width (uint16, 32 or 64:
 *   msgpack decoders, Go's too, take any width), so its growth does not
 *   change the length. The width holds twice the member clock at the
 *   sizing plus 1024 (a status LTime never passes the clock: intents
 *   witness it first); one that outgrows it meanwhile goes as 0, which
 *   every node ignores. The clocks and the Events value are taken at the
 *   sizing (Events is bounded by the event buffer, not by members).
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 */
#include "serf_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swim_mp.h"

enum {
	ENC_HEAD, ENC_STATUS, ENC_LEFT_HEAD, ENC_LEFT, ENC_TAIL, ENC_EVENTS,
	ENC_END, ENC_DONE,
};


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

/* Mark and count every member keep accepts. */
static void
enc_size_members(struct serf *serf, struct serf_pp_enc *e, size_t *st_b,
		 size_t *left_b, serf_pp_keep_f keep, void *ctx)
{
	uint16_t both = enc_bit_st(e) | enc_bit_left(e);
	struct serf_member *m;
	uint32_t pos = 0;
	size_t len;

	while ((m = swim_index_next(&serf->index, &pos)) != NULL) {
		const char *name = swim_member_name(m->node, &len);
		m->pp_enc &= (uint16_t)~both;
		if (keep != NULL && !keep(ctx, name, len))
			continue;
		m->pp_enc |= enc_bit_st(e);
		e->nb_status++;
		*st_b += enc_str(len) + 1u + e->lt_bytes;
		if (m->status == SERF_STATUS_LEFT) {
			m->pp_enc |= enc_bit_left(e);
			e->nb_left++;
			*left_b += enc_str(len);
		}
	}
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

int
serf_pp_enc_start(struct serf *serf, struct serf_pp_enc *e,
		  serf_pp_keep_f keep, void *ctx)
{
	size_t st_b = 0, left_b = 0;
	unsigned k = 0;

	memset(e, 0, sizeof(*e));
	e->phase = ENC_DONE;
	while (k < SERF_PP_ENC_MAX && (serf->pp_enc_busy & (1u << k)))
		k++;
	if (k == SERF_PP_ENC_MAX)
		return -EBUSY;
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
	enc_size_members(serf, e, &st_b, &left_b, keep, ctx);
	e->len = enc_head_len(e) + st_b + enc_str(11) + enc_cont(e->nb_left) +
		 left_b + enc_tail_len(e) + e->events_len;
	if (e->len > UINT32_MAX) {
		free(e->events);
		e->events = NULL;
		return -EMSGSIZE;	/* UserStateLen is 32 bits */
	}
	serf->pp_enc_busy |= (uint8_t)(1u << k);
	e->is_busy = true;
	e->mask = serf->index.mask;
	e->phase = ENC_HEAD;
	return 0;
}

void
serf_pp_enc_end(struct serf *serf, struct serf_pp_enc *e)
{
	if (e->is_busy)
		serf->pp_enc_busy &= (uint8_t)~(1u << e->slot);
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

/*
 * Walk the index from e->pos writing the members that still carry bit
 * (StatusLTimes entries or LeftMembers names). @retval true when the
 * walk reached the end; *len grows by the bytes written.
 */
static bool
enc_walk(struct serf *serf, struct serf_pp_enc *e, uint16_t bit,
	 uint8_t *out, size_t cap, size_t *len, uint32_t *budget)
{
	const struct swim_index *x = &serf->index;

	if (x->mask != e->mask) {
		e->mask = x->mask;	/* grown: marks say what is left */
		e->pos = 0;
	}
	for (; e->pos <= x->mask && *budget > 0; e->pos++, (*budget)--) {
		struct serf_member *m = x->slots[e->pos];
		if (m == NULL || !(m->pp_enc & bit))
			continue;
		size_t nlen;
		const char *name = swim_member_name(m->node, &nlen);
		bool st = bit == enc_bit_st(e);
		size_t need = enc_str(nlen) + (st ? 1u + e->lt_bytes : 0);
		if (need > cap - *len)
			return false;
		struct swim_mp_w w;
		swim_mp_w_create(&w, out + *len, cap - *len);
		swim_mp_put_strn(&w, name, (uint32_t)nlen);
		*len += enc_str(nlen);
		if (st)
			*len += enc_put_lt(e, out + *len, enc_ltime(e, m));
		m->pp_enc &= (uint16_t)~bit;
		e->done++;
	}
	return e->pos > x->mask;
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
	e->phase++;
	e->done = 0;
	e->pos = 0;
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

	if (e->done < want &&
	    !enc_walk(serf, e, bit, out, cap, len, budget))
		return 0;
	if (e->done != want)
		return e->done < want ? -EPROTO : 0;
	e->phase++;
	e->done = 0;
	e->pos = 0;
	return 0;
}

long
serf_pp_enc_next(struct serf *serf, struct serf_pp_enc *e, uint8_t *out,
		 size_t cap)
{
	uint32_t budget = SERF_PP_ENC_SCAN;
	size_t len = 0;

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
				e->phase++;
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
