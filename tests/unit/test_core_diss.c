/*
 * The transmit-limited broadcast queue (memberlist queue.go semantics).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "swim_diss.h"

static struct swim_diss q;

static void
setup(void)
{
	swim_diss_init(&q, 42, 0);
}

static void
teardown(void)
{
	swim_diss_destroy(&q);
}

/* A message of len bytes, all equal to tag. */
static void
push(uint8_t tag, size_t len, struct swim_bcast **owner, uint32_t flags)
{
	uint8_t buf[2048];
	memset(buf, tag, len);
	cr_assert_eq(swim_diss_push(&q, buf, len, owner, flags), 0);
}

static unsigned
take(size_t limit, uint32_t tl, uint8_t *tags, unsigned max)
{
	struct swim_str parts[64];
	size_t used = 0;
	unsigned nb = swim_diss_take(&q, 2, limit, tl, parts, max, &used);
	size_t sum = 0;
	for (unsigned i = 0; i < nb; i++) {
		tags[i] = parts[i].ptr[0];
		sum += parts[i].len + 2;
	}
	cr_assert_eq(used, sum);
	cr_assert(used <= limit);
	swim_diss_release(&q);
	return nb;
}

TestSuite(core_diss, .init = setup, .fini = teardown);

Test(core_diss, push_errors)
{
	uint8_t b[1] = { 1 };
	cr_assert_eq(swim_diss_push(&q, b, 0, NULL, 0), -1);
	cr_assert_eq(swim_diss_push(&q, b, SWIM_UDP_MAX + 1, NULL, 0), -1);
	cr_assert_eq(q.nb, 0);
}

Test(core_diss, largest_first_then_newest)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	push('b', 30, NULL, 0);
	push('c', 20, NULL, 0);
	push('d', 30, NULL, 0);	/* same length as b, newer */
	cr_assert_eq(take(1000, 10, t, 8), 4);
	cr_assert_eq(memcmp(t, "dbca", 4), 0);
}

Test(core_diss, fewest_transmits_first)
{
	uint8_t t[8];
	push('a', 50, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 8), 1);	/* a now sent once */
	push('b', 10, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 8), 2);
	cr_assert_eq(memcmp(t, "ba", 2), 0);
}

Test(core_diss, only_what_fits)
{
	uint8_t t[8];
	push('a', 100, NULL, 0);
	push('b', 40, NULL, 0);
	push('c', 30, NULL, 0);
	/* 80 bytes: b (42) then c would need 32 -> 74, a never fits */
	cr_assert_eq(take(80, 10, t, 8), 2);
	cr_assert_eq(memcmp(t, "bc", 2), 0);
	/* 44 bytes: a and b do not fit; tier 0 has nothing that fits,
	 * tier 1 holds b and c: the largest fitting is b (42). */
	cr_assert_eq(take(44, 10, t, 8), 1);
	cr_assert_eq(t[0], 'b');
	/* Still queued: a was never sent. */
	cr_assert_eq(q.nb, 3);
}

Test(core_diss, retransmit_limit_retires)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(q.nb, 1);
		cr_assert_eq(take(1000, 4, t, 8), 1);
	}
	cr_assert_eq(q.nb, 0);
	cr_assert_eq(take(1000, 4, t, 8), 0);
}

Test(core_diss, limit_one_sends_once)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	cr_assert_eq(take(1000, 1, t, 8), 1);
	cr_assert_eq(q.nb, 0);
}

Test(core_diss, one_pick_per_take)
{
	uint8_t t[8];
	push('a', 10, NULL, 0);
	/* Plenty of room: still sent once per packet. */
	cr_assert_eq(take(1000, 10, t, 8), 1);
}

Test(core_diss, newer_about_same_node_replaces)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, 0);
	cr_assert_not_null(owner);
	take(1000, 10, t, 8);
	push('b', 12, &owner, 0);
	cr_assert_eq(q.nb, 1);
	cr_assert_eq(take(1000, 10, t, 8), 1);
	cr_assert_eq(t[0], 'b');
}

Test(core_diss, owner_cleared_when_retired)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, 0);
	take(1000, 1, t, 8);
	cr_assert_null(owner);
	/* And a new one for the same slot does not touch the old item. */
	push('b', 10, &owner, 0);
	cr_assert_eq(q.nb, 1);
}

Test(core_diss, detach_keeps_message)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, 0);
	swim_diss_detach(owner);
	owner = NULL;
	push('b', 10, &owner, 0);
	cr_assert_eq(q.nb, 2);
	cr_assert_eq(take(1000, 10, t, 8), 2);
}

Test(core_diss, leave_flag_counts_until_done)
{
	struct swim_bcast *owner = NULL;
	uint8_t t[8];
	push('a', 10, &owner, SWIM_BCAST_LEAVE);
	cr_assert_eq(q.nb_leave, 1);
	take(1000, 2, t, 8);
	cr_assert_eq(q.nb_leave, 1);
	take(1000, 2, t, 8);
	cr_assert_eq(q.nb_leave, 0);
	/* Replaced counts as done too. */
	push('a', 10, &owner, SWIM_BCAST_LEAVE);
	push('b', 10, &owner, 0);
	cr_assert_eq(q.nb_leave, 0);
}

Test(core_diss, max_parts_respected)
{
	uint8_t t[8];
	for (int i = 0; i < 6; i++)
		push((uint8_t)('a' + i), 10, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 3), 3);
	cr_assert_eq(q.nb, 6);
}

Test(core_diss, depth_limit)
{
	uint8_t t[8];
	swim_diss_destroy(&q);
	swim_diss_init(&q, 1, 2);
	push('a', 10, NULL, 0);
	cr_assert_eq(take(1000, 10, t, 8), 1);	/* a: one transmit done */
	push('b', 10, NULL, 0);
	/* Full: a, with the most transmits, goes and is counted. */
	push('c', 10, NULL, 0);
	cr_assert_eq(q.nb, 2);
	cr_assert_eq(q.dropped, 1);
	cr_assert_eq(take(1000, 10, t, 8), 2);
	cr_assert_eq(memcmp(t, "cb", 2), 0);
}

Test(core_diss, clear_and_recycle)
{
	struct swim_bcast *owner = NULL;
	push('a', 10, &owner, SWIM_BCAST_LEAVE);
	push('b', 10, NULL, 0);
	swim_diss_clear(&q);
	cr_assert_eq(q.nb, 0);
	cr_assert_eq(q.nb_leave, 0);
	cr_assert_null(owner);
	push('c', 10, NULL, 0);
	cr_assert_eq(q.nb, 1);
}

/* Many messages: every take is ordered by (transmits, len desc, id desc). */
Test(core_diss, stress_order)
{
	struct swim_str parts[64];
	uint32_t seed = 7;
	for (int round = 0; round < 200; round++) {
		seed = seed * 1103515245 + 12345;
		push((uint8_t)round, 1 + (seed >> 16) % 300, NULL, 0);
		size_t used = 0;
		unsigned nb = swim_diss_take(&q, 2, 600, 6, parts, 64, &used);
		cr_assert(used <= 600);
		(void)nb;
		swim_diss_release(&q);
	}
	cr_assert(q.nb > 0);
}

/* ------------------------------------------------------------------ */
/*
 * Against a reference model: memberlist's queue.go written the slow way
 * (a flat array, every pick a scan for the least item of the order
 * (transmits asc, len desc, id desc) among those that fit). Messages
 * carry a serial in their first 4 bytes; a reference item's bytes come
 * from a fake encoder over per-slot "records".
 */
#define M_SLOTS 16
#define M_ITEMS 20000

struct m_item {
	uint32_t serial;
	uint32_t len;
	uint32_t transmits;
	uint64_t id;
	int owner;		/* slot, or -1 */
	bool leave;
	bool ref;
	bool orphan;		/* a detached reference: dropped when picked */
	bool out;		/* picked in the current take */
};

static struct m_item m_v[M_ITEMS];
static unsigned m_nb;
static uint64_t m_id, m_dropped, m_total_dropped;
static struct swim_bcast *m_slots[M_SLOTS];
static uint32_t m_rec_len[M_SLOTS];	/* the fake records */
static uint32_t m_rec_serial[M_SLOTS];
static unsigned m_encodes;

static int
m_encode(void *ctx, struct swim_bcast **owner, uint8_t kind, uint32_t arg,
	 uint8_t *buf, size_t cap)
{
	(void)ctx;
	long k = owner - m_slots;
	cr_assert(k >= 0 && k < M_SLOTS);
	cr_assert_eq(kind, 7);
	cr_assert_eq(arg, m_rec_serial[k]);
	if (m_rec_len[k] == 0 || m_rec_len[k] > cap)
		return -1;
	memset(buf, 0xab, m_rec_len[k]);
	memcpy(buf, &arg, 4);
	m_encodes++;
	return (int)m_rec_len[k];
}

static void
m_remove(unsigned i)
{
	m_v[i] = m_v[--m_nb];
}

/* Prune's order: most transmits, then shortest, then oldest; no leave. */
static bool
m_evict(void)
{
	int best = -1;
	for (unsigned i = 0; i < m_nb; i++) {
		const struct m_item *a = &m_v[i];
		if (a->leave)
			continue;
		if (best < 0) {
			best = (int)i;
			continue;
		}
		const struct m_item *b = &m_v[best];
		if (a->transmits != b->transmits ? a->transmits > b->transmits :
		    a->len != b->len ? a->len < b->len : a->id < b->id)
			best = (int)i;
	}
	if (best < 0)
		return false;
	m_remove((unsigned)best);
	m_dropped++;
	return true;
}

static void
m_push(uint32_t serial, uint32_t len, int owner, bool leave, bool ref)
{
	uint8_t buf[512];
	struct swim_bcast **slot = owner >= 0 ? &m_slots[owner] : NULL;

	for (unsigned i = 0; owner >= 0 && i < m_nb; i++)
		if (m_v[i].owner == owner) {
			m_remove(i);
			break;
		}
	uint32_t fl = leave ? SWIM_BCAST_LEAVE : 0;
	if (q.max != 0 && m_nb >= q.max && !m_evict()) {
		/* only leaves queued: the push fails (after replacing) */
		memset(buf, 0xcd, len);
		cr_assert_eq(swim_diss_push(&q, buf, len, slot, fl), -1);
		cr_assert(slot == NULL || *slot == NULL);
		return;
	}
	m_v[m_nb++] = (struct m_item){ .serial = serial, .len = len,
				       .id = ++m_id, .owner = owner,
				       .leave = leave, .ref = ref };
	if (ref) {
		m_rec_len[owner] = len;
		m_rec_serial[owner] = serial;
		cr_assert_eq(swim_diss_push_ref(&q, slot, 7, serial, len, fl), 0);
		return;
	}
	memset(buf, 0xcd, len);
	memcpy(buf, &serial, 4);
	cr_assert_eq(swim_diss_push(&q, buf, len, slot, fl), 0);
}

/* The model's least fitting item at tier t, or -1. */
static int
m_pick(uint32_t t, size_t room)
{
	int best = -1;
	for (unsigned i = 0; i < m_nb; i++) {
		const struct m_item *a = &m_v[i];
		if (a->out || a->transmits != t || a->len > room)
			continue;
		if (best < 0 || a->len > m_v[best].len ||
		    (a->len == m_v[best].len && a->id > m_v[best].id))
			best = (int)i;
	}
	return best;
}

static unsigned
m_take(size_t limit, uint32_t tl, unsigned max, uint32_t *serials,
       size_t *used)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	unsigned nb = 0;

	for (unsigned i = 0; i < m_nb; i++) {
		lo = m_v[i].transmits < lo ? m_v[i].transmits : lo;
		hi = m_v[i].transmits > hi ? m_v[i].transmits : hi;
	}
	for (uint32_t t = lo; m_nb > 0 && t <= hi && nb < max;) {
		if (*used + 2 >= limit)
			break;
		int b = m_pick(t, limit - *used - 2);
		if (b < 0) {
			t++;
			continue;
		}
		struct m_item *it = &m_v[b];
		bool orphan = it->orphan;
		if (!orphan) {
			serials[nb++] = it->serial;
			*used += 2 + it->len;
		}
		if (orphan || it->transmits + 1 >= tl) {
			m_dropped += orphan;
			m_remove((unsigned)b);
		} else {
			it->transmits++;
			it->out = true;
		}
	}
	for (unsigned i = 0; i < m_nb; i++)
		m_v[i].out = false;
	return nb;
}

static void
m_check_take(size_t limit, uint32_t tl, unsigned max)
{
	struct swim_str parts[64];
	uint32_t want[64];
	size_t used = 0, mused = 0;
	unsigned nb = swim_diss_take(&q, 2, limit, tl, parts, max, &used);
	unsigned mnb = m_take(limit, tl, max, want, &mused);

	cr_assert_eq(nb, mnb, "take: %u parts, model %u", nb, mnb);
	cr_assert_eq(used, mused);
	for (unsigned i = 0; i < nb; i++) {
		uint32_t got;
		memcpy(&got, parts[i].ptr, 4);
		cr_assert_eq(got, want[i], "part %u: %u, model %u", i, got,
			     want[i]);
	}
	swim_diss_release(&q);
	cr_assert_eq(q.nb, m_nb);
	cr_assert_eq(q.dropped, m_dropped);
}

static uint32_t m_seed;

static uint32_t
m_rand(uint32_t n)
{
	m_seed = m_seed * 1103515245u + 12345u;
	return (m_seed >> 8) % n;
}

/* Lengths: mostly a few alike (names and tags are), some anything. */
static uint32_t
m_len(void)
{
	static const uint32_t alike[] = { 96, 97, 101, 40, 300 };
	return m_rand(4) != 0 ? alike[m_rand(5)] : 4 + m_rand(400);
}

static void
m_reset(uint32_t seed, uint32_t max)
{
	swim_diss_destroy(&q);
	swim_diss_init(&q, 1, max);
	swim_diss_set_encoder(&q, m_encode, NULL);
	memset(m_slots, 0, sizeof(m_slots));
	memset(m_rec_len, 0, sizeof(m_rec_len));
	m_nb = 0;
	m_id = 0;
	m_dropped = 0;
	m_seed = seed;
}

/* One random operation of the mix. */
static void
m_step(uint32_t serial)
{
	uint32_t r = m_rand(100);
	int owner = (int)m_rand(M_SLOTS);

	if (r < 30) {
		m_push(serial, m_len(), -1, m_rand(200) == 0, false);
	} else if (r < 45) {
		m_push(serial, m_len(), owner, m_rand(200) == 0, false);
	} else if (r < 60) {
		m_push(serial, m_len(), owner, false, true);
	} else if (r < 62 && m_slots[owner] != NULL) {
		/* the record goes: materialize (or, rarely, orphan) */
		bool keep = m_rand(4) != 0;
		for (unsigned i = 0; i < m_nb; i++)
			if (m_v[i].owner == owner) {
				m_v[i].owner = -1;
				m_v[i].orphan = !keep && m_v[i].ref;
			}
		if (keep)
			swim_diss_materialize(&q, m_slots[owner]);
		else
			swim_diss_detach(m_slots[owner]);
		m_slots[owner] = NULL;
		m_rec_len[owner] = 0;
	} else {
		m_check_take(60 + m_rand(1400), 1 + m_rand(8),
			     1 + m_rand(64));
	}
}

static void
m_run(uint32_t seed, uint32_t max, unsigned ops)
{
	m_reset(seed, max);
	for (unsigned k = 0; k < ops; k++) {
		if (m_nb + 1 >= M_ITEMS)
			m_check_take(1400, 1, 64);
		else
			m_step(k);
	}
	/* Drain: everything goes out, in the model's order. */
	for (unsigned k = 0; k < 100000 && m_nb > 0; k++)
		m_check_take(1400, 8, 64);
	cr_assert_eq(q.nb, 0);
	cr_assert_eq(q.nb_leave, 0);
	m_total_dropped += m_dropped;
	for (unsigned k = 0; k < M_SLOTS; k++)
		cr_assert_null(m_slots[k]);
	cr_assert_leq(q.nb_chunks, 1, "a drained queue keeps one chunk");
}

Test(core_diss, model_random_unbounded, .timeout = 60)
{
	for (uint32_t seed = 1; seed <= 20; seed++)
		m_run(seed, 0, 4000);
}

Test(core_diss, model_random_bounded_counts_drops, .timeout = 60)
{
	for (uint32_t seed = 100; seed <= 120; seed++)
		m_run(seed, 1 + seed % 50, 4000);
	/* Every drop matched the model's count, and there were many. */
	cr_assert_gt(m_total_dropped, 1000);
}

Test(core_diss, model_big_queue, .timeout = 60)
{
	m_reset(99, 0);
	for (unsigned k = 0; k < 15000; k++)
		m_push(k, m_len(), -1, false, false);
	for (unsigned k = 0; k < 3000; k++) {
		if (k % 7 == 0)
			m_push(100000 + k, m_len(), -1, false, false);
		m_check_take(200 + m_rand(1300), 6, 64);
	}
	swim_diss_clear(&q);
	m_nb = 0;
}

Test(core_diss, bound_drops_most_transmitted_never_leave)
{
	uint8_t t[8];
	swim_diss_destroy(&q);
	swim_diss_init(&q, 1, 3);
	push('L', 10, NULL, SWIM_BCAST_LEAVE);
	take(1000, 10, t, 8);			/* L: one transmit */
	push('a', 10, NULL, 0);
	push('b', 20, NULL, 0);
	push('c', 30, NULL, 0);			/* full: not L, but a */
	cr_assert_eq(q.nb, 3);
	cr_assert_eq(q.nb_leave, 1);
	cr_assert_eq(q.dropped, 1);
	cr_assert_eq(take(1000, 10, t, 8), 3);
	cr_assert_eq(memcmp(t, "cbL", 3), 0);
	/* Only leaves queued and full: the push fails, nothing dropped. */
	swim_diss_destroy(&q);
	swim_diss_init(&q, 1, 1);
	push('L', 10, NULL, SWIM_BCAST_LEAVE);
	uint8_t b[4] = { 0 };
	cr_assert_eq(swim_diss_push(&q, b, 4, NULL, 0), -1);
	cr_assert_eq(q.dropped, 0);
	cr_assert_eq(q.nb, 1);
}

Test(core_diss, push_ref_errors)
{
	struct swim_bcast *slot = NULL;
	cr_assert_eq(swim_diss_push_ref(&q, &slot, 7, 1, 10, 0), -1,
		     "no encoder");
	swim_diss_set_encoder(&q, m_encode, NULL);
	cr_assert_eq(swim_diss_push_ref(&q, NULL, 7, 1, 10, 0), -1);
	cr_assert_eq(swim_diss_push_ref(&q, &m_slots[0], 7, 1, 0, 0), -1);
	cr_assert_eq(swim_diss_push_ref(&q, &m_slots[0], 7, 1, 70000, 0), -1);
	cr_assert_eq(swim_diss_push(&q, NULL, 4, NULL, 0), -1);
	cr_assert_eq(q.nb, 0);
}

Test(core_diss, ref_is_encoded_at_send_time_and_items_are_small)
{
	struct swim_str parts[4];
	size_t used = 0;

	cr_assert_leq(sizeof(struct swim_bcast), 32);
	m_reset(1, 0);
	m_push(77, 50, 3, false, true);
	cr_assert_eq(m_encodes, 0, "nothing encoded at queue time");
	cr_assert_eq(m_slots[3]->flags & 0x10, 0x10);
	cr_assert_eq(swim_diss_take(&q, 2, 1000, 4, parts, 4, &used), 1);
	cr_assert_eq(m_encodes, 1);
	cr_assert_eq(parts[0].len, 50);
	cr_assert_eq(parts[0].ptr[4], 0xab);
	swim_diss_release(&q);
	/* An unencodable reference is dropped and counted. */
	m_rec_len[3] = 0;
	used = 0;
	cr_assert_eq(swim_diss_take(&q, 2, 1000, 4, parts, 4, &used), 0);
	cr_assert_eq(q.dropped, 1);
	cr_assert_null(m_slots[3]);
	swim_diss_release(&q);
}

/* A bulk drain moves items newest first: no walk in the runs. */
Test(core_diss, bulk_drain_does_not_walk, .timeout = 60)
{
	struct swim_str parts[64];
	uint8_t buf[100] = { 0 };

	for (int i = 0; i < 100000; i++)
		cr_assert_eq(swim_diss_push(&q, buf, 100, NULL, 0), 0);
	for (int k = 0; k < 200000 && q.nb > 0; k++) {
		size_t used = 0;
		swim_diss_take(&q, 2, 1400, 5, parts, 64, &used);
		swim_diss_release(&q);
		if (k % 50 == 0)	/* a fresh one now and then */
			cr_assert_eq(swim_diss_push(&q, buf, 100, NULL, 0), 0);
	}
	cr_assert_eq(q.nb, 0);
	cr_assert_lt(q.walk_steps, 1000, "walked %llu",
		     (unsigned long long)q.walk_steps);
	cr_assert_leq(q.nb_chunks, 1);
}
