/*
 * The Serf layer's member table at scale and its timers, with injected
 * time: failed members reaped after ReconnectTimeout and left ones after
 * TombstoneTimeout (serf's reap), each with a member-reap event; a rejoin
 * cancels the reap; force-leave -prune erases when due; a mass reap of
 * 100,000 members loses no event. And the name index itself against a
 * reference, through inserts, backward-shift removals and growth.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf_int.h"
#include "swim.h"
#include "swim_index.h"
#include "swim_wire.h"
#include "scale_util.h"

static struct swim *core;
static struct serf *serf;
static struct serf_event sev;

static void
setup(void)
{
	struct swim_cfg cfg;
	struct serf_cfg sc;
	const char *err = NULL;

	scale_swim_cfg(&cfg);
	core = swim_new(&cfg, &err);
	cr_assert_not_null(core, "%s", err);
	serf_cfg_default(&sc);
	snprintf(sc.name, sizeof(sc.name), "self");
	sc.reconnect_timeout_us = 10 * S;
	sc.tombstone_timeout_us = 20 * S;
	sc.reconnect_interval_us = 0;
	serf = serf_new(&sc, core, &err);
	cr_assert_not_null(serf, "%s", err);
	while (serf_pop_event(serf, &sev))
		;
	serf_tick(serf, 0);	/* timers start: the first reap pass at 15 s */
}

static void
teardown(void)
{
	serf_delete(serf);
	swim_delete(core);
}

TestSuite(serf_scale, .init = setup, .fini = teardown);

/* Hand every core event to the Serf layer, as control does. */
static void
pump(uint64_t now)
{
	struct swim_event ev;

	while (swim_pop_event(core, &ev))
		serf_on_swim_event(serf, now, &ev);
}

/* JOIN: an alive (newer incarnation) into the core; LEAVE: a dead. */
static void
member_ev(const char *name, enum swim_event_kind kind, uint64_t now)
{
	static uint32_t inc = 1;
	uint8_t meta[] = "\xff\x81\xa4role\xa3web";
	uint8_t ip[4] = { 10, 0, 0, 2 };
	uint8_t pkt[512];
	struct swim_msg m = { .type = kind == SWIM_EV_JOIN ? SWIM_MSG_ALIVE
							   : SWIM_MSG_DEAD };
	struct swim_str node = { (const uint8_t *)name,
				 (uint32_t)strlen(name) };
	struct swim_addr from = { .ip = { 10, 0, 0, 2 }, .ip_len = 4,
				  .port = 7946 };

	if (kind == SWIM_EV_JOIN) {
		m.alive.incarnation = ++inc;
		m.alive.node = node;
		m.alive.addr = (struct swim_str){ ip, 4 };
		m.alive.port = 7946;
		m.alive.meta = (struct swim_str){ meta, sizeof(meta) - 1 };
		m.alive.vsn = (struct swim_str){ scale_vsn, SWIM_VSN_LEN };
	} else {
		m.dead = (struct swim_accuse){ inc, node,
					       { (const uint8_t *)"x", 1 } };
	}
	int len = swim_wire_encode_msg(&m, pkt, sizeof(pkt));
	cr_assert(len > 0);
	swim_on_packet(core, now, &from, pkt, (size_t)len, 0);
	pump(now);
}

/* Count the events of a kind popped (all are popped). */
static uint32_t
pop_count(enum serf_event_kind kind)
{
	uint32_t n = 0;

	while (serf_pop_event(serf, &sev))
		n += sev.kind == kind;
	return n;
}

static int
status_of(const char *name)
{
	struct serf_member_info info;

	if (serf_member_find(serf, name, strlen(name), &info) != 0)
		return -1;
	return (int)info.status;
}

Test(serf_scale, failed_reaped_after_reconnect_timeout)
{
	member_ev("a", SWIM_EV_JOIN, 1 * S);
	member_ev("a", SWIM_EV_LEAVE, 2 * S);
	cr_assert_eq(status_of("a"), SERF_STATUS_FAILED);
	cr_assert_eq(serf_next_deadline(serf), 12 * S + 1);
	pop_count(SERF_EV_MEMBER_FAILED);
	serf_tick(serf, 12 * S);
	cr_assert_eq(status_of("a"), SERF_STATUS_FAILED);
	serf_tick(serf, 12 * S + 1);
	cr_assert_eq(status_of("a"), -1);
	cr_assert(serf_pop_event(serf, &sev));
	cr_assert_eq(sev.kind, SERF_EV_MEMBER_REAP);
	cr_assert_str_eq(sev.name, "a");
	cr_assert_eq(sev.status, SERF_STATUS_FAILED);
	cr_assert_eq(serf_member_count(serf), 1);
}

Test(serf_scale, left_reaped_after_tombstone_timeout)
{
	struct serf_stats st;

	member_ev("b", SWIM_EV_JOIN, 1 * S);
	cr_assert_eq(serf_force_leave(serf, 1 * S, "b", 1, false), 0);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEAVING);
	member_ev("b", SWIM_EV_LEAVE, 2 * S);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEFT);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.left, 1);
	cr_assert_eq(st.failed, 0);
	serf_tick(serf, 13 * S);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEFT);
	serf_tick(serf, 22 * S + 1);
	cr_assert_eq(status_of("b"), -1);
	cr_assert_eq(pop_count(SERF_EV_MEMBER_REAP), 1);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.left, 0);
}

Test(serf_scale, failed_then_forced_left_waits_for_tombstone)
{
	member_ev("c", SWIM_EV_JOIN, 1 * S);
	member_ev("c", SWIM_EV_LEAVE, 2 * S);
	cr_assert_eq(serf_force_leave(serf, 3 * S, "c", 1, false), 0);
	cr_assert_eq(status_of("c"), SERF_STATUS_LEFT);
	serf_tick(serf, 13 * S);	/* past ReconnectTimeout: kept */
	cr_assert_eq(status_of("c"), SERF_STATUS_LEFT);
	cr_assert_eq(serf_next_deadline(serf) <= 22 * S + 1, true);
	serf_tick(serf, 22 * S + 1);
	cr_assert_eq(status_of("c"), -1);
}

Test(serf_scale, rejoin_cancels_the_reap)
{
	member_ev("d", SWIM_EV_JOIN, 1 * S);
	member_ev("d", SWIM_EV_LEAVE, 2 * S);
	member_ev("d", SWIM_EV_JOIN, 5 * S);
	serf_tick(serf, 30 * S);
	cr_assert_eq(status_of("d"), SERF_STATUS_ALIVE);
	member_ev("d", SWIM_EV_LEAVE, 31 * S);
	serf_tick(serf, 40 * S);
	cr_assert_eq(status_of("d"), SERF_STATUS_FAILED);
	serf_tick(serf, 41 * S + 1);
	cr_assert_eq(status_of("d"), -1);
}

Test(serf_scale, prune_erases_when_due)
{
	member_ev("e", SWIM_EV_JOIN, 1 * S);
	cr_assert_eq(serf_force_leave(serf, 2 * S, "e", 1, true), 0);
	cr_assert_eq(status_of("e"), SERF_STATUS_LEAVING);
	/* BroadcastTimeout 5 s + LeavePropagateDelay 1 s. */
	cr_assert_eq(serf_next_deadline(serf), 8 * S);
	serf_tick(serf, 8 * S - 1);
	cr_assert_eq(status_of("e"), SERF_STATUS_LEAVING);
	pop_count(SERF_EV_MEMBER_REAP);
	serf_tick(serf, 8 * S);
	cr_assert_eq(status_of("e"), -1);
	cr_assert_eq(pop_count(SERF_EV_MEMBER_REAP), 1);
}

Test(serf_scale, mass_reap_loses_no_event, .timeout = 120)
{
	const uint32_t nb = 100000;
	char name[32];
	struct serf_stats st;

	for (uint32_t i = 0; i < nb; i++) {
		snprintf(name, sizeof(name), "node-%07u.pool.lan", i);
		member_ev(name, SWIM_EV_JOIN, 1 * S);
		member_ev(name, SWIM_EV_LEAVE, 2 * S);
	}
	cr_assert_eq(pop_count(SERF_EV_MEMBER_FAILED), nb);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.failed, nb);
	serf_tick(serf, 13 * S);	/* all due at once, no drain between */
	cr_assert_eq(serf_event_queue_len(serf), nb);
	cr_assert_eq(pop_count(SERF_EV_MEMBER_REAP), nb);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.events_dropped, 0);
	cr_assert_eq(st.failed, 0);
	cr_assert_eq(serf_member_count(serf), 1);
	cr_assert_eq(serf->nb_due, 0);
}

Test(serf_scale, member_is_sized_to_content)
{
	struct serf_member_info info;

	member_ev("f", SWIM_EV_JOIN, 1 * S);
	const struct serf_member *m = serf_member_get(serf,
		(const uint8_t *)"f", 1);
	cr_assert_not_null(m);
	cr_assert_null(m->coord);	/* never pinged */
	/* Name, address and Meta are the core's record, held, not copied. */
	cr_assert_leq(sizeof(struct serf_member), 40);
	struct swim_member_info node;
	serf_member_view(serf, m, &node);
	cr_assert_eq(node.meta.len, 11);
	cr_assert_eq(serf_member_find(serf, "f", 1, &info), 0);
	cr_assert_eq(info.nb_tags, 1);
	cr_assert_str_eq(info.tags[0].key, "role");
	cr_assert_str_eq(info.tags[0].value, "web");
}

/* --- the name index --- */

struct ent {
	char name[16];
	size_t len;
	bool in;
};

static const char *
ent_key(const void *e, size_t *len)
{
	const struct ent *x = e;

	*len = x->len;
	return x->name;
}

Test(serf_scale, index_matches_a_reference)
{
	enum { N = 3000 };
	static struct ent ents[N];
	struct swim_index x;
	uint64_t r = 12345;
	uint32_t in = 0;

	cr_assert_eq(swim_index_init(&x, ent_key), 0);
	for (uint32_t i = 0; i < N; i++)
		ents[i].len = (size_t)snprintf(ents[i].name,
					       sizeof(ents[i].name), "k%u", i);
	for (uint32_t step = 0; step < 40000; step++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		struct ent *e = &ents[r % N];
		if (e->in) {
			swim_index_remove(&x, e);
			in--;
		} else {
			cr_assert_eq(swim_index_insert(&x, e), 0);
			in++;
		}
		e->in = !e->in;
		if (step % 997 != 0)
			continue;
		for (uint32_t i = 0; i < N; i++)
			cr_assert_eq(swim_index_find(&x, ents[i].name,
						     ents[i].len),
				     ents[i].in ? &ents[i] : NULL);
	}
	uint32_t pos = 0, seen = 0;
	while (swim_index_next(&x, &pos) != NULL)
		seen++;
	cr_assert_eq(seen, in);
	cr_assert_eq(x.nb, in);
	cr_assert_leq((uint64_t)x.nb * 4, (uint64_t)(x.mask + 1) * 3);
	cr_assert_null(swim_index_find(&x, "nope", 4));
	swim_index_remove(&x, &(struct ent){ "nope", 4, false });
	cr_assert_eq(x.nb, in);
	swim_index_destroy(&x);
	cr_assert_null(swim_index_find(&x, "k1", 2));
	cr_assert_eq(swim_index_insert(&x, &ents[0]), -1);
}

/* --- push/pull user state at scale --- */

static void
join_many(uint32_t nb)
{
	char name[32];

	for (uint32_t i = 0; i < nb; i++) {
		snprintf(name, sizeof(name), "node-%07u.pool.lan", i);
		member_ev(name, SWIM_EV_JOIN, 1 * S);
	}
	while (serf_pop_event(serf, &sev))
		;
}

Test(serf_scale, local_state_says_its_exact_size, .timeout = 60)
{
	join_many(20000);
	size_t n = serf_local_state(serf, NULL, 0);
	cr_assert_gt(n, 20000 * 20);
	uint8_t *buf = malloc(n);
	cr_assert_not_null(buf);
	cr_assert_eq(serf_local_state(serf, buf, n), n);
	cr_assert_eq(serf_local_state(serf, buf, n - 1), n);
	free(buf);
}

Test(serf_scale, remote_state_of_20k_applies_every_intent, .timeout = 60)
{
	enum { NB = 20000 };
	static struct serf_msg_pp_status st[NB];
	static struct swim_str left[NB / 2];
	static char names[NB][32];

	join_many(NB);
	for (uint32_t i = 0; i < NB; i++) {
		int len = snprintf(names[i], sizeof(names[i]),
				   "node-%07u.pool.lan", i);
		st[i].name = (struct swim_str){ (const uint8_t *)names[i],
						(uint32_t)len };
		st[i].ltime = 1000 + i;
		if (i % 2 == 0)
			left[i / 2] = st[i].name;
	}
	struct serf_msg_push_pull pp = {
		.ltime = 50000, .event_ltime = 1, .query_ltime = 1,
		.status = st, .nb_status = NB, .left = left,
		.nb_left = NB / 2,
	};
	size_t cap = (size_t)NB * 64 + 4096;
	uint8_t *buf = malloc(cap);
	int n = serf_msg_encode_push_pull(&pp, buf, cap);
	cr_assert_gt(n, 0);
	cr_assert_eq(serf_merge_remote_state(serf, 2 * S, buf, (size_t)n,
					     false), 0);
	free(buf);
	for (uint32_t i = 0; i < NB; i++) {
		struct serf_member_info info;
		cr_assert_eq(serf_member_find(serf, names[i], strlen(names[i]),
					      &info), 0);
		/* Left ones: a leave intent (alive -> leaving); the rest: a
		 * join intent that records the LTime. */
		cr_assert_eq(info.status, i % 2 == 0 ? SERF_STATUS_LEAVING
						     : SERF_STATUS_ALIVE);
		cr_assert_eq(info.status_ltime, 1000 + i);
	}
}
