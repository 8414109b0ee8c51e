/* SPDX-License-Identifier: MIT */
/*
 * A peer's push/pull user state (messagePushPull) decoded as its bytes
 * arrive and merged piece by piece (serf.h, "Streamed push/pull user
 * state"): a piece is a value header, a StatusLTimes entry, a
 * LeftMembers name or an Events group, at most SERF_PP_PIECE_MAX bytes.
 * A piece that does not parse is judged by its size alone (an error once
 * SERF_PP_PIECE_MAX bytes or the rest of the state are there, else more
 * bytes are awaited), so the outcome never depends on how the bytes
 * were cut. Unknown fields are skipped value by value, strings byte by
 * byte, with 64-bit counts: no depth, no buffer.
 *
 * serf applies LeftMembers as leave intents with their StatusLTimes LTime,
 * every other entry as a join intent; serf itself sends StatusLTimes first.
 * Holding the entries until LeftMembers arrives would cost a buffer of the
 * whole state, so an entry newer than an alive or failed member's LTime
 * sets the LTime at once (a join and a leave both would) and marks the
 * member (serf_member.pp_dec = this decode's generation); a left name then
 * makes the status change of a leave. A join and a leave differ in more for
 * a leaving or left member (a join revives a leaving one, a leave keeps its
 * LTime): those entries, few, wait until the end (SERF_PP_DEFER_MAX of
 * them; past that one is ignored: the member stays leaving or left until
 * memberlist says otherwise, as a rejoin's alive does). Names we do not
 * know become intents as before. With LeftMembers first (older gossipd),
 * the names are marked and their entries become leave intents: serf's own
 * rules.
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 */
#include "serf_int.h"

#include <errno.h>
#include <string.h>

#include "serf_msg.h"
#include "swim_mp.h"

enum {
	DEC_TYPE, DEC_MAP, DEC_KEY, DEC_VAL, DEC_ITEMS, DEC_SKIP, DEC_TRAIL,
	DEC_DONE,
};

enum {
	F_LTIME, F_STATUS, F_LEFT, F_EVENT_LTIME, F_EVENTS, F_QUERY_LTIME,
	F_UNKNOWN,
};

enum { ORDER_NONE, ORDER_SL, ORDER_LS };

static const struct {
	const char *key;
	uint8_t len;
} dec_keys[F_UNKNOWN] = {
	[F_LTIME] = { "LTime", 5 },
	[F_STATUS] = { "StatusLTimes", 12 },
	[F_LEFT] = { "LeftMembers", 11 },
	[F_EVENT_LTIME] = { "EventLTime", 10 },
	[F_EVENTS] = { "Events", 6 },
	[F_QUERY_LTIME] = { "QueryLTime", 10 },
};

void
serf_pp_dec_start(struct serf *serf, struct serf_pp_dec *d, uint64_t len,
		  bool join)
{
	memset(d, 0, offsetof(struct serf_pp_dec, defer));
	d->left = len;
	d->join = join;
	d->phase = len == 0 ? DEC_DONE : DEC_TYPE;
	if (++serf->pp_dec_gen == 0) {
		/* Wrapped: no mark of 65,535 decodes ago may pass for ours
		 * (one walk every 65,535 push/pulls). */
		struct serf_member *m;
		uint32_t pos = 0;
		while ((m = swim_index_next(&serf->index, &pos)) != NULL)
			m->pp_dec = 0;
		serf->pp_dec_gen = 1;
	}
	d->gen = serf->pp_dec_gen;
}

bool
serf_pp_dec_done(const struct serf_pp_dec *d)
{
	return d->phase == DEC_DONE;
}

/* Big-endian n bytes at p. */
static uint64_t
dec_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * One value's header: its bytes, the str/bin/ext body bytes after it and
 * the values inside (containers). @retval 0 or TRUNCATED/TYPE.
 */
static int
dec_head(const uint8_t *p, const uint8_t *end, size_t *hlen,
	 uint64_t *body, uint64_t *inner)
{
	static const uint8_t lenb[] = { 1, 2, 4 };
	uint8_t b;

	if (p >= end)
		return SWIM_WIRE_E_TRUNCATED;
	b = *p;
	*hlen = 1, *body = 0, *inner = 0;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0;
	if (b <= 0x8f || (b >= 0x90 && b <= 0x9f)) {
		*inner = (uint64_t)(b & 0x0f) * (b <= 0x8f ? 2 : 1);
		return 0;
	}
	if (b <= 0xbf) {
		*body = b & 0x1f;
		return 0;
	}
	unsigned n = 0, extra = 0;
	if (b >= 0xc4 && b <= 0xc6)
		n = lenb[b - 0xc4];
	else if (b >= 0xc7 && b <= 0xc9)
		n = lenb[b - 0xc7], extra = 1;
	else if (b >= 0xd9 && b <= 0xdb)
		n = lenb[b - 0xd9];
	else if (b >= 0xdc && b <= 0xdf)
		n = b & 1 ? 4 : 2;
	else if (b == 0xca || b == 0xcb || (b >= 0xcc && b <= 0xd3)) {
		static const uint8_t w[] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8 };
		*hlen = 1 + (size_t)w[b - 0xca];
		return end - p < (ptrdiff_t)*hlen ? SWIM_WIRE_E_TRUNCATED : 0;
	} else if (b >= 0xd4 && b <= 0xd8) {
		*hlen = 2 + ((size_t)1 << (b - 0xd4));
		return end - p < (ptrdiff_t)*hlen ? SWIM_WIRE_E_TRUNCATED : 0;
	} else
		return SWIM_WIRE_E_TYPE;	/* 0xc1 */
	if (end - p < (ptrdiff_t)(1 + n + extra))
		return SWIM_WIRE_E_TRUNCATED;
	uint64_t v = dec_be(p + 1, n);
	*hlen = 1 + n + extra;
	if (b >= 0xdc)
		*inner = b >= 0xde ? 2 * v : v;
	else
		*body = v;
	return 0;
}

/* A map or array header (nil: empty). @retval bytes or < 0. */
static int
dec_cont(const uint8_t *p, const uint8_t *end, bool is_map, uint32_t *nb)
{
	size_t hlen;
	uint64_t body, inner;
	int rc = dec_head(p, end, &hlen, &body, &inner);

	if (rc < 0)
		return rc;
	bool ok = *p == 0xc0 ||
		  (is_map ? (*p <= 0x8f && *p >= 0x80) || *p == 0xde ||
			    *p == 0xdf
			  : (*p >= 0x90 && *p <= 0x9f) || *p == 0xdc ||
			    *p == 0xdd);
	if (!ok)
		return SWIM_WIRE_E_TYPE;
	*nb = (uint32_t)(is_map ? inner / 2 : inner);
	return (int)hlen;
}

static void
dec_witness(struct serf_clock *c, uint64_t v)
{
	/* v - 1: no message at the peer's current time exists yet. */
	if (v > 0)
		serf_clock_witness(c, v - 1);
}

/* A scalar field's value. @retval bytes or < 0. */
static int
dec_clock(struct serf *serf, struct serf_pp_dec *d, const uint8_t *p,
	  const uint8_t *end)
{
	const uint8_t *q = p;
	uint64_t v;
	int rc = swim_mp_read_uint(&q, end, UINT64_MAX, &v);

	if (rc < 0)
		return rc;
	if (d->field == F_LTIME)
		dec_witness(&serf->clock, v);
	else if (d->field == F_QUERY_LTIME)
		dec_witness(&serf->query_clock, v);
	else {
		dec_witness(&serf->event_clock, v);
		/* Our own join without replay: older events are not ours. */
		if (d->join && v > serf->event_min_time)
			serf->event_min_time = v;
	}
	return (int)(q - p);
}

static struct serf_intent *
dec_intent(struct serf *serf, const struct swim_str *n)
{
	return swim_index_find(&serf->intent_index, (const char *)n->ptr,
			       n->len);
}

/* Hold an entry about a leaving or left member until the end. */
static void
dec_defer(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us,
	  const struct swim_str *n, uint64_t lt)
{
	(void)now_us;
	if (d->nb_defer == SERF_PP_DEFER_MAX) {
		serf->stats.intents_stale++;
		return;		/* too many to remember: left as it is */
	}
	struct serf_pp_defer *f = &d->defer[d->nb_defer++];
	f->ltime = lt;
	f->len = (uint8_t)n->len;
	f->is_left = false;
	memcpy(f->name, n->ptr, n->len);
}

static struct serf_pp_defer *
dec_deferred(struct serf_pp_dec *d, const struct swim_str *n)
{
	for (uint32_t i = 0; i < d->nb_defer; i++)
		if (d->defer[i].len == n->len &&
		    memcmp(d->defer[i].name, n->ptr, n->len) == 0)
			return &d->defer[i];
	return NULL;
}

/* A StatusLTimes entry (name, LTime). */
static void
dec_status(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us,
	   const struct swim_str *n, uint64_t lt)
{
	struct serf_member *m = serf_member_get(serf, n->ptr, n->len);

	if (n->ptr == NULL || n->len == 0)
		return;
	if (d->order == ORDER_LS) {
		struct serf_intent *in = m == NULL ? dec_intent(serf, n) : NULL;
		bool is_left = m != NULL ? m->pp_dec == d->gen :
			       in != NULL && in->type == SERF_MSG_LEAVE;
		if (is_left)
			serf_intent_leave(serf, now_us, n, lt, false);
		else
			serf_intent_join(serf, now_us, n, lt);
		return;
	}
	if (m == NULL) {
		serf_intent_join(serf, now_us, n, lt);
		return;
	}
	serf_clock_witness(&serf->clock, lt);
	if (lt <= m->status_ltime) {
		serf->stats.intents_stale++;
		return;
	}
	if (m->status == SERF_STATUS_LEAVING || m->status == SERF_STATUS_LEFT) {
		dec_defer(serf, d, now_us, n, lt);
		return;
	}
	m->status_ltime = lt;
	m->pp_dec = d->gen;
}

/* The status change of a leave intent whose LTime is already set. */
static void
dec_leave_status(struct serf *serf, uint64_t now_us, struct serf_member *m)
{
	if (m == serf->self_member && serf->state == SERF_STATE_ALIVE) {
		/* Someone says we leave (force-leave): refute it. */
		serf->stats.refutes++;
		serf_broadcast_join(serf, now_us, serf->clock.time);
		return;
	}
	if (m->status == SERF_STATUS_ALIVE) {
		serf_member_set_status(serf, m, SERF_STATUS_LEAVING);
	} else if (m->status == SERF_STATUS_FAILED) {
		serf_member_set_status(serf, m, SERF_STATUS_LEFT);
		serf_member_event(serf, SERF_EV_MEMBER_LEAVE, m);
	}
}

/* A LeftMembers name. */
static void
dec_left(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us,
	 const struct swim_str *n)
{
	struct serf_member *m = serf_member_get(serf, n->ptr, n->len);

	if (n->ptr == NULL || n->len == 0)
		return;
	if (m != NULL && d->order == ORDER_LS) {
		m->pp_dec = d->gen;	/* its entry is a leave */
		return;
	}
	if (m != NULL) {
		struct serf_pp_defer *f = dec_deferred(d, n);
		if (m->pp_dec == d->gen) {
			m->pp_dec = 0;
			dec_leave_status(serf, now_us, m);
		} else if (f != NULL) {
			f->is_left = true;	/* leaving/left already */
		} else {
			serf->stats.intents_stale++;	/* not newer */
		}
		return;
	}
	struct serf_intent *in = dec_intent(serf, n);
	if (in != NULL && in->type == SERF_MSG_JOIN && d->order == ORDER_SL)
		in->type = SERF_MSG_LEAVE;	/* its entry was a leave */
	else if (in == NULL)
		serf_intent_leave(serf, now_us, n, 0, false);
}

/* An Events group: every event replayed (delivered, never re-gossiped). */
static int
dec_group(struct serf *serf, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;
	struct serf_msg_pp_group g;
	struct serf_msg_pp_event ev;
	int rc = serf_msg_pp_group_next(&q, end, &g);

	if (rc < 0)
		return rc;
	if (q - p > SERF_PP_PIECE_MAX)
		return SWIM_WIRE_E_LENGTH;	/* whole or not: by size */
	if (g.is_nil || g.raw_events.ptr == NULL)
		return (int)(q - p);	/* no Events: nothing to replay */
	const uint8_t *e = g.raw_events.ptr;
	const uint8_t *ee = e + g.raw_events.len;
	while (e != NULL && (rc = serf_msg_pp_event_next(&e, ee, &ev)) == 1) {
		struct serf_msg_user_event m = {
			.ltime = g.ltime, .name = ev.name,
			.payload = ev.payload,
		};
		serf_user_event_handle(serf, &m);
	}
	return rc < 0 ? rc : (int)(q - p);
}

/* One container entry. @retval bytes or < 0. */
static int
dec_item(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us,
	 const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;
	struct swim_str n;
	uint64_t lt = 0;
	int rc;

	if (d->field == F_EVENTS)
		return dec_group(serf, p, end);
	rc = swim_mp_read_str(&q, end, &n);
	if (rc == 0 && d->field == F_STATUS)
		rc = swim_mp_read_uint(&q, end, UINT64_MAX, &lt);
	if (rc < 0)
		return rc;
	if (q - p > SERF_PP_PIECE_MAX)
		return SWIM_WIRE_E_LENGTH;
	if (d->field == F_STATUS)
		dec_status(serf, d, now_us, &n, lt);
	else
		dec_left(serf, d, now_us, &n);
	return (int)(q - p);
}

/* A field's key. @retval bytes or < 0. */
static int
dec_key(struct serf_pp_dec *d, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;
	struct swim_str k;
	int rc = swim_mp_read_str(&q, end, &k);

	if (rc < 0)
		return rc;
	if (q - p > SERF_PP_PIECE_MAX)
		return SWIM_WIRE_E_LENGTH;
	d->field = F_UNKNOWN;
	for (uint8_t f = 0; f < F_UNKNOWN; f++)
		if (k.len == dec_keys[f].len && k.ptr != NULL &&
		    memcmp(k.ptr, dec_keys[f].key, k.len) == 0)
			d->field = f;
	d->fields--;
	d->phase = DEC_VAL;
	return (int)(q - p);
}

/* A list starts: which of the two came first decides the rules. */
static int
dec_list(struct serf_pp_dec *d, const uint8_t *p, const uint8_t *end)
{
	uint32_t nb = 0;
	int rc = dec_cont(p, end, d->field == F_STATUS, &nb);

	if (rc < 0)
		return rc;
	if (d->order == ORDER_NONE && d->field != F_EVENTS)
		d->order = d->field == F_STATUS ? ORDER_SL : ORDER_LS;
	d->items = nb;
	d->phase = nb > 0 ? DEC_ITEMS : DEC_KEY;
	return rc;
}

/* One value header of a skipped value. @retval bytes or < 0. */
static int
dec_skip(struct serf_pp_dec *d, const uint8_t *p, const uint8_t *end)
{
	size_t hlen;
	uint64_t body, inner;
	int rc = dec_head(p, end, &hlen, &body, &inner);

	if (rc < 0)
		return rc;
	d->skip_vals += inner - 1;
	d->skip_bytes = body;
	return (int)hlen;
}

static int
dec_val(struct serf *serf, struct serf_pp_dec *d, const uint8_t *p,
	const uint8_t *end)
{
	switch (d->field) {
	case F_STATUS:
	case F_LEFT:
	case F_EVENTS:
		return dec_list(d, p, end);
	case F_UNKNOWN:
		d->skip_vals = 1;
		d->phase = DEC_SKIP;
		return 0;
	default: {
		int rc = dec_clock(serf, d, p, end);
		if (rc > 0)
			d->phase = DEC_KEY;
		return rc;
	}
	}
}

/* One piece at p. @retval bytes consumed (0: a phase change), or < 0. */
static int
dec_piece(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us,
	  const uint8_t *p, const uint8_t *end)
{
	int rc;

	switch (d->phase) {
	case DEC_TYPE:
		if (p >= end)
			return SWIM_WIRE_E_TRUNCATED;
		if (*p != SERF_MSG_PUSH_PULL)
			return SWIM_WIRE_E_UNKNOWN_MSG;
		d->phase = DEC_MAP;
		return 1;
	case DEC_MAP:
		rc = dec_cont(p, end, true, &d->fields);
		if (rc > 0 && *p == 0xc0)
			rc = SWIM_WIRE_E_TYPE;	/* no nil message */
		if (rc > 0)
			d->phase = DEC_KEY;
		return rc;
	case DEC_KEY:
		return dec_key(d, p, end);
	case DEC_VAL:
		return dec_val(serf, d, p, end);
	case DEC_ITEMS:
		rc = dec_item(serf, d, now_us, p, end);
		if (rc > 0) {
			d->merged++;
			if (--d->items == 0)
				d->phase = DEC_KEY;
		}
		return rc;
	default:
		return dec_skip(d, p, end);
	}
}

/* The end: the held entries no left name claimed are joins. */
static void
dec_finish(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us)
{
	for (uint32_t i = 0; i < d->nb_defer; i++) {
		struct swim_str n = { (const uint8_t *)d->defer[i].name,
				      d->defer[i].len };
		if (!d->defer[i].is_left)
			serf_intent_join(serf, now_us, &n, d->defer[i].ltime);
	}
	d->nb_defer = 0;
	d->phase = DEC_DONE;
}

static long
dec_fail(struct serf *serf, struct serf_pp_dec *d, int rc)
{
	serf->stats.msgs_bad++;
	d->phase = DEC_DONE;
	d->left = 0;
	return rc;
}

/*
 * The phases that move without a piece: a skipped value's body, the end
 * of a skip or of the map, the trailing bytes. @retval bytes consumed,
 * or -1 when a piece is next.
 */
static long
dec_move(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us,
	 size_t avail)
{
	uint64_t k;

	if (d->phase == DEC_SKIP && d->skip_bytes == 0 && d->skip_vals == 0)
		d->phase = DEC_KEY;
	if (d->phase == DEC_KEY && d->fields == 0)
		d->phase = DEC_TRAIL;
	if (d->phase == DEC_TRAIL) {
		k = d->left < avail ? d->left : avail;
		if (k == d->left)
			dec_finish(serf, d, now_us);
		return (long)k;
	}
	if (d->phase != DEC_SKIP || d->skip_bytes == 0)
		return -1;
	k = d->skip_bytes < avail ? d->skip_bytes : avail;
	d->skip_bytes -= k;
	return (long)k;
}

long
serf_pp_dec_next(struct serf *serf, struct serf_pp_dec *d, uint64_t now_us,
		 const uint8_t *buf, size_t len)
{
	size_t used = 0;

	if (len > d->left)
		len = (size_t)d->left;
	while (d->phase != DEC_DONE) {
		uint8_t phase = d->phase;
		size_t avail = len - used;
		long n = dec_move(serf, d, now_us, avail);
		if (n < 0) {
			int rc = avail == 0 ? SWIM_WIRE_E_TRUNCATED :
				 dec_piece(serf, d, now_us, buf + used,
					   buf + len);
			if (rc < 0 && avail < SERF_PP_PIECE_MAX &&
			    avail < d->left)
				break;	/* a piece still coming */
			if (rc == SWIM_WIRE_E_TRUNCATED &&
			    avail >= SERF_PP_PIECE_MAX)
				rc = SWIM_WIRE_E_LENGTH;	/* by size */
			if (rc < 0)
				return dec_fail(serf, d, rc);
			n = rc;
		}
		used += (size_t)n;
		d->left -= (size_t)n;
		if (n == 0 && d->phase == phase)
			break;	/* a body or trailing bytes to come */
	}
	return (long)used;
}
