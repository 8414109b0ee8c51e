/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer's rules, driven through a fake memberlist core
 * (test_serf_fake.c): Lamport clocks, the status table of
 * memberlist-wire.md §10.5, intents and their refutation, user events,
 * push/pull state, reaping and coordinates. Queries and relays are in
 * test_serf_query.c.
 */
#include <criterion/criterion.h>

#include <errno.h>

#include "serf_suite.h"

#define US 1000000ull
#define S(lit) ((struct swim_str){ (const uint8_t *)(lit), sizeof(lit) - 1 })

static void
setup(void)
{
	serf_suite_new(false);
}

static void
teardown(void)
{
	serf_delete(serf);
}

TestSuite(serf, .init = setup, .fini = teardown, .timeout = 10);

static void
intent(uint8_t type, const char *node, uint64_t ltime, bool prune)
{
	uint8_t buf[256];
	struct swim_str n = { (const uint8_t *)node, (uint32_t)strlen(node) };
	int len;

	if (type == SERF_MSG_JOIN) {
		struct serf_msg_join j = { ltime, n };
		len = serf_msg_encode_join(&j, buf, sizeof(buf));
	} else {
		struct serf_msg_leave l = { ltime, n, prune };
		len = serf_msg_encode_leave(&l, buf, sizeof(buf));
	}
	deliver(buf, len, 0);
}

static enum serf_member_status
status_of(const char *name)
{
	struct serf_member_info info;

	if (serf_member_find(serf, name, strlen(name), &info) != 0)
		return SERF_STATUS_NONE;
	return info.status;
}

static uint64_t
ltime_of(const char *name)
{
	struct serf_member_info info;

	cr_assert_eq(serf_member_find(serf, name, strlen(name), &info), 0);
	return info.status_ltime;
}

/* --- Lamport clocks --- */

Test(serf, lamport_clock_rules)
{
	struct serf_clock c = { 1 };

	serf_clock_witness(&c, 0);
	cr_assert_eq(c.time, 1);	/* older: unchanged */
	serf_clock_witness(&c, 1);
	cr_assert_eq(c.time, 2);	/* equal: moves past it */
	serf_clock_witness(&c, 10);
	cr_assert_eq(c.time, 11);
	serf_clock_witness(&c, 5);
	cr_assert_eq(c.time, 11);
	cr_assert_eq(serf_clock_increment(&c), 12);
}

Test(serf, clocks_start_at_one)
{
	struct serf_stats st;

	serf_get_stats(serf, &st);
	cr_assert_eq(st.member_time, 1);
	cr_assert_eq(st.event_time, 1);
	cr_assert_eq(st.query_time, 1);
}

/* --- self --- */

Test(serf, self_is_alive_with_tags_and_announced)
{
	struct serf_member_info info;

	cr_assert_eq(drain(SERF_EV_MEMBER_JOIN), 1);
	cr_assert_str_eq(ev.name, "me");
	cr_assert_eq(serf_member_find(serf, "me", 2, &info), 0);
	cr_assert(info.is_self);
	cr_assert_eq(info.status, SERF_STATUS_ALIVE);
	cr_assert_eq(info.nb_tags, 1);
	cr_assert_str_eq(info.tags[0].key, "role");
	cr_assert_str_eq(info.tags[0].value, "web");
	cr_assert_eq(info.addr.port, 7946);
	/* The core's JOIN about ourselves is not a second member-join. */
	swim_ev(&sw.members[0], SWIM_EV_JOIN, 0);
	cr_assert_eq(drain(SERF_EV_MEMBER_JOIN), 0);
}

Test(serf, ack_payload_is_a_fresh_coordinate)
{
	struct serf_coord c;

	cr_assert_gt(sw.ack_len, 0);
	cr_assert_eq(serf_coord_decode_payload(sw.ack, sw.ack_len, &c), 0);
	cr_assert_eq(c.dim, 8);
	cr_assert_float_eq(c.error, 1.5, 1e-12);
	cr_assert_float_eq(c.height, 1e-5, 1e-12);
	for (int i = 0; i < 8; i++)
		cr_assert_float_eq(c.vec[i], 0.0, 1e-12);
}

Test(serf, bad_cfg_is_refused_with_a_reason)
{
	struct serf_cfg cfg;
	const char *err = NULL;

	serf_cfg_default(&cfg);
	cr_assert_null(serf_new(&cfg, &sw, &err));
	cr_assert_not_null(err);
	snprintf(cfg.name, sizeof(cfg.name), "x");
	cfg.event_buffer = 0;
	cr_assert_null(serf_new(&cfg, &sw, &err));
}

/* --- status table (§10.5) --- */

Test(serf, memberlist_join_makes_alive_with_tags)
{
	struct fake_member *m = fake_add(&sw, "b", 2, 7946);
	struct serf_member_info info;

	memcpy(m->meta, "\xff\x81\xa4zone\xa2z1", 10);
	m->meta_len = 10;
	drain(SERF_EV_COUNT);
	swim_ev(m, SWIM_EV_JOIN, 0);
	cr_assert_eq(drain(SERF_EV_MEMBER_JOIN), 1);
	cr_assert_str_eq(ev.name, "b");
	cr_assert_eq(ev.status, SERF_STATUS_ALIVE);
	cr_assert_eq(ev.meta_len, 10);
	cr_assert_eq(serf_member_find(serf, "b", 1, &info), 0);
	cr_assert_eq(info.nb_tags, 1);
	cr_assert_str_eq(info.tags[0].key, "zone");
	cr_assert_str_eq(info.tags[0].value, "z1");
	cr_assert_eq(info.vsn[1], 5);
}

Test(serf, memberlist_update_refreshes_tags)
{
	struct fake_member *m = join("b", 2);
	struct serf_member_info info;

	memcpy(m->meta, "\xff\x81\xa4zone\xa2z2", 10);
	m->meta_len = 10;
	m->incarnation = 2;
	drain(SERF_EV_COUNT);
	swim_ev(m, SWIM_EV_UPDATE, 0);
	cr_assert_eq(drain(SERF_EV_MEMBER_UPDATE), 1);
	cr_assert_eq(serf_member_find(serf, "b", 1, &info), 0);
	cr_assert_str_eq(info.tags[0].value, "z2");
	cr_assert_eq(info.incarnation, 2);
}

Test(serf, memberlist_leave_without_intent_is_failed)
{
	struct fake_member *m = join("b", 2);

	drain(SERF_EV_COUNT);
	m->status = SWIM_STATUS_DEAD;
	swim_ev(m, SWIM_EV_LEAVE, 5 * US);
	cr_assert_eq(drain(SERF_EV_MEMBER_FAILED), 1);
	cr_assert_eq(status_of("b"), SERF_STATUS_FAILED);
	/* A second leave signal changes nothing. */
	swim_ev(m, SWIM_EV_LEAVE, 6 * US);
	cr_assert_eq(drain(SERF_EV_COUNT), 0);
}

Test(serf, leave_intent_then_memberlist_leave_is_left)
{
	struct fake_member *m = join("b", 2);

	intent(SERF_MSG_LEAVE, "b", 3, false);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEAVING);
	drain(SERF_EV_COUNT);
	swim_ev(m, SWIM_EV_LEAVE, 0);
	cr_assert_eq(drain(SERF_EV_MEMBER_LEAVE), 1);
	cr_assert_eq(ev.status, SERF_STATUS_LEFT);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEFT);
}

Test(serf, leave_intent_before_join_makes_it_leaving)
{
	intent(SERF_MSG_LEAVE, "b", 4, false);
	cr_assert_eq(status_of("b"), SERF_STATUS_NONE);
	join("b", 2);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEAVING);
	cr_assert_eq(ltime_of("b"), 4);
}

Test(serf, join_intent_before_join_sets_status_ltime)
{
	intent(SERF_MSG_JOIN, "b", 6, false);
	join("b", 2);
	cr_assert_eq(status_of("b"), SERF_STATUS_ALIVE);
	cr_assert_eq(ltime_of("b"), 6);
}

Test(serf, newer_join_intent_brings_leaving_back)
{
	join("b", 2);
	intent(SERF_MSG_LEAVE, "b", 3, false);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEAVING);
	intent(SERF_MSG_JOIN, "b", 4, false);
	cr_assert_eq(status_of("b"), SERF_STATUS_ALIVE);
	cr_assert_eq(ltime_of("b"), 4);
}

Test(serf, stale_intents_are_ignored_and_not_regossiped)
{
	struct serf_stats st;

	join("b", 2);
	intent(SERF_MSG_JOIN, "b", 5, false);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_JOIN, true), 1);
	fake_clear_out(&sw);
	intent(SERF_MSG_LEAVE, "b", 5, false);	/* not newer */
	intent(SERF_MSG_JOIN, "b", 4, false);
	cr_assert_eq(status_of("b"), SERF_STATUS_ALIVE);
	cr_assert_eq(sw.nb_out, 0);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.intents_stale, 2);
	/* Every LTime seen was witnessed. */
	cr_assert_eq(st.member_time, 6);
}

Test(serf, new_intents_are_regossiped_byte_for_byte)
{
	uint8_t buf[64];
	struct serf_msg_leave l = { 9, S("b"), false };
	int len = serf_msg_encode_leave(&l, buf, sizeof(buf));
	const struct fake_out *o;

	join("b", 2);
	deliver(buf, len, 0);
	o = fake_find_out(&sw, SERF_MSG_LEAVE, true, 0);
	cr_assert_not_null(o);
	cr_assert_eq(o->len, (size_t)len);
	cr_assert_arr_eq(o->data, buf, o->len);
	/* The same again is old news. */
	deliver(buf, len, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_LEAVE, true), 1);
}

Test(serf, intents_about_unknown_nodes_dedupe)
{
	intent(SERF_MSG_JOIN, "zz", 3, false);
	intent(SERF_MSG_JOIN, "zz", 3, false);
	intent(SERF_MSG_JOIN, "zz", 2, false);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_JOIN, true), 1);
	intent(SERF_MSG_LEAVE, "zz", 4, false);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_LEAVE, true), 1);
}

Test(serf, intents_about_unknown_nodes_are_capped)
{
	char name[16];

	for (int i = 0; i < SERF_INTENTS_MAX + 10; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		intent(SERF_MSG_JOIN, name, 2, false);
	}
	cr_assert_eq(serf->nb_intents, SERF_INTENTS_MAX);
}

Test(serf, leave_intent_about_failed_member_is_forced_left)
{
	struct fake_member *m = join("b", 2);

	swim_ev(m, SWIM_EV_LEAVE, 0);
	cr_assert_eq(status_of("b"), SERF_STATUS_FAILED);
	drain(SERF_EV_COUNT);
	intent(SERF_MSG_LEAVE, "b", 7, false);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEFT);
	cr_assert_eq(drain(SERF_EV_MEMBER_LEAVE), 1);
	cr_assert_eq(ltime_of("b"), 7);
}

Test(serf, leave_intent_on_left_member_changes_nothing_but_regossips)
{
	struct fake_member *m = join("b", 2);

	intent(SERF_MSG_LEAVE, "b", 3, false);
	swim_ev(m, SWIM_EV_LEAVE, 0);
	fake_clear_out(&sw);
	intent(SERF_MSG_LEAVE, "b", 8, false);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEFT);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_LEAVE, true), 1);
}

Test(serf, memberlist_join_after_failure_is_alive_again)
{
	struct fake_member *m = join("b", 2);
	struct serf_member_info info;

	swim_ev(m, SWIM_EV_LEAVE, 3 * US);
	drain(SERF_EV_COUNT);
	swim_ev(m, SWIM_EV_JOIN, 4 * US);
	cr_assert_eq(drain(SERF_EV_MEMBER_JOIN), 1);
	cr_assert_eq(serf_member_find(serf, "b", 1, &info), 0);
	cr_assert_eq(info.status, SERF_STATUS_ALIVE);
	cr_assert_eq(info.leave_time_us, 0);
}

Test(serf, force_leave_prune_erases_the_member)
{
	struct fake_member *m = join("b", 2);

	swim_ev(m, SWIM_EV_LEAVE, 0);
	drain(SERF_EV_COUNT);
	cr_assert_eq(serf_force_leave(serf, 0, "b", 1, true), 0);
	cr_assert_eq(drain(SERF_EV_MEMBER_REAP), 1);
	cr_assert_eq(status_of("b"), SERF_STATUS_NONE);
	/* The intent went out with Prune set (no alive peer: no gossip). */
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_LEAVE, true), 0);
	cr_assert_eq(serf_force_leave(serf, 0, "", 0, false), -EINVAL);
}

Test(serf, prune_of_a_leaving_member_waits_for_its_leave)
{
	join("b", 2);
	serf_tick(serf, 0);	/* arms reap (15 s) and reconnect (30 s) */
	intent(SERF_MSG_LEAVE, "b", 3, false);
	drain(SERF_EV_COUNT);
	intent(SERF_MSG_LEAVE, "b", 4, true);	/* leaving, prune */
	cr_assert_eq(status_of("b"), SERF_STATUS_LEAVING);
	/* BroadcastTimeout 5 s + LeavePropagateDelay 1 s. */
	cr_assert_eq(serf_next_deadline(serf), 6 * US);
	serf_tick(serf, 6 * US - 1);
	cr_assert_eq(drain(SERF_EV_MEMBER_REAP), 0);
	serf_tick(serf, 6 * US);
	cr_assert_eq(drain(SERF_EV_MEMBER_REAP), 1);
	cr_assert_eq(status_of("b"), SERF_STATUS_NONE);
}

Test(serf, force_leave_is_gossiped_when_peers_are_alive)
{
	struct fake_member *m = join("b", 2);
	struct serf_msg_leave l;
	const struct fake_out *o;

	join("c", 3);
	swim_ev(m, SWIM_EV_LEAVE, 0);
	cr_assert_eq(serf_force_leave(serf, 0, "b", 1, false), 0);
	o = fake_find_out(&sw, SERF_MSG_LEAVE, true, 0);
	cr_assert_not_null(o);
	cr_assert_eq(serf_msg_decode_leave(o->data, o->len, &l), 0);
	cr_assert_eq(l.ltime, 1);
	cr_assert_not(l.prune);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEFT);
}

/* --- our own intents --- */

Test(serf, join_then_leave_ltimes_follow_the_seed_clock)
{
	/* The seed's push/pull said LTime 2 (§10.4: join 2, leave 3). */
	uint8_t pp[] = "\x02\x81\xa5LTime\x02";
	struct serf_msg_join j;
	struct serf_msg_leave l;
	const struct fake_out *o;

	join("seed", 2);
	cr_assert_eq(serf_merge_remote_state(serf, 0, pp, sizeof(pp) - 1,
					     true), 0);
	serf_join_intent(serf, 0);
	o = fake_find_out(&sw, SERF_MSG_JOIN, true, 0);
	cr_assert_not_null(o);
	cr_assert_eq(serf_msg_decode_join(o->data, o->len, &j), 0);
	cr_assert_eq(j.ltime, 2);
	cr_assert_eq(ltime_of("me"), 2);
	cr_assert_eq(serf_leave(serf, 0), 0);
	o = fake_find_out(&sw, SERF_MSG_LEAVE, true, 0);
	cr_assert_not_null(o);
	cr_assert_eq(serf_msg_decode_leave(o->data, o->len, &l), 0);
	cr_assert_eq(l.ltime, 3);
	cr_assert(l.node.len == 2 && memcmp(l.node.ptr, "me", 2) == 0);
	cr_assert_eq(status_of("me"), SERF_STATUS_LEAVING);
	cr_assert_eq(serf_state(serf), SERF_STATE_LEAVING);
	cr_assert_eq(serf_leave(serf, 0), -EALREADY);
	serf_leave_done(serf);
	cr_assert_eq(serf_state(serf), SERF_STATE_LEFT);
}

Test(serf, leave_alone_is_not_gossiped)
{
	cr_assert_eq(serf_leave(serf, 0), 0);
	cr_assert_eq(sw.nb_out, 0);
	cr_assert_eq(status_of("me"), SERF_STATUS_LEAVING);
}

Test(serf, leave_intent_about_us_is_refuted_with_a_newer_join)
{
	struct serf_msg_join j;
	const struct fake_out *o;
	struct serf_stats st;

	join("b", 2);
	intent(SERF_MSG_LEAVE, "me", 10, false);
	cr_assert_eq(status_of("me"), SERF_STATUS_ALIVE);
	/* Not re-gossiped; a join intent at our clock (11) instead. */
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_LEAVE, true), 0);
	o = fake_find_out(&sw, SERF_MSG_JOIN, true, 0);
	cr_assert_not_null(o);
	cr_assert_eq(serf_msg_decode_join(o->data, o->len, &j), 0);
	cr_assert_eq(j.ltime, 11);
	cr_assert_eq(ltime_of("me"), 11);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.refutes, 1);
	/* The refuted leave, replayed, is now old. */
	fake_clear_out(&sw);
	intent(SERF_MSG_LEAVE, "me", 10, false);
	cr_assert_eq(sw.nb_out, 0);
}

Test(serf, leave_intent_about_us_while_leaving_is_accepted)
{
	join("b", 2);
	cr_assert_eq(serf_leave(serf, 0), 0);
	fake_clear_out(&sw);
	intent(SERF_MSG_LEAVE, "me", 20, false);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_JOIN, true), 0);
	cr_assert_eq(status_of("me"), SERF_STATUS_LEAVING);
}

/* --- tags --- */

Test(serf, set_tags_sends_meta)
{
	struct serf_tag t[2] = { { "role", "db", 4, 2 },
				 { "zone", "z1", 4, 2 } };
	struct serf_member_info info;
	uint32_t nb;

	cr_assert_eq(serf_set_tags(serf, 0, t, 2), 0);
	cr_assert_eq(sw.nb_set_meta, 1);
	cr_assert_eq(sw.meta[0], 0xff);
	cr_assert_eq(sw.meta[1], 0x82);
	cr_assert_eq(serf_member_find(serf, "me", 2, &info), 0);
	cr_assert_eq(info.nb_tags, 2);
	cr_assert_str_eq(info.tags[1].value, "z1");
	cr_assert_eq(serf_tags(serf, &nb)[0].value_len, 2);
	cr_assert_eq(nb, 2);
}

Test(serf, set_tags_too_big_is_refused)
{
	static char big[600];
	struct serf_tag t = { "k", big, 1, sizeof(big) };

	memset(big, 'x', sizeof(big));
	cr_assert_eq(serf_set_tags(serf, 0, &t, 1), -EMSGSIZE);
	cr_assert_eq(sw.nb_set_meta, 0);
	cr_assert_eq(serf_tags_encode(&t, 1, sw.meta, sizeof(sw.meta)),
		     -EMSGSIZE);
}

/* --- user events --- */

static int
event_msg(uint64_t ltime, const char *name, const char *payload,
	  uint8_t *buf, size_t cap)
{
	struct serf_msg_user_event m = {
		.ltime = ltime,
		.name = { (const uint8_t *)name, (uint32_t)strlen(name) },
		.payload = { (const uint8_t *)payload,
			     payload == NULL ? 0 : (uint32_t)strlen(payload) },
		.cc = true,
	};
	return serf_msg_encode_user_event(&m, buf, cap);
}

Test(serf, user_event_is_delivered_once_and_regossiped_once)
{
	uint8_t buf[128];
	int len = event_msg(3, "deploy", "v1", buf, sizeof(buf));

	drain(SERF_EV_COUNT);
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 1);
	cr_assert_str_eq(ev.name, "deploy");
	cr_assert_eq(ev.ltime, 3);
	cr_assert(ev.coalesce);
	cr_assert(ev.has_payload);
	cr_assert_eq(ev.payload_len, 2);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_USER_EVENT, true), 1);
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_USER_EVENT, true), 1);
	/* Same LTime, other payload: a different event. */
	len = event_msg(3, "deploy", "v2", buf, sizeof(buf));
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 1);
}

Test(serf, user_event_with_an_oversized_name_is_regossiped_not_delivered)
{
	static char name[SWIM_NAME_MAX + 10];
	uint8_t buf[512];
	struct serf_stats st;

	memset(name, 'n', sizeof(name) - 1);
	int len = event_msg(2, name, "p", buf, sizeof(buf));
	drain(SERF_EV_COUNT);
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_USER_EVENT, true), 1);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.events_dropped, 1);
}

Test(serf, old_user_events_are_dropped)
{
	uint8_t buf[128];
	int len = event_msg(1000, "e", NULL, buf, sizeof(buf));

	deliver(buf, len, 0);
	drain(SERF_EV_COUNT);
	len = event_msg(1000 - 512 - 1, "old", NULL, buf, sizeof(buf));
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 0);
	len = event_msg(1000 - 512 + 1, "recent", NULL, buf, sizeof(buf));
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 1);
	cr_assert_not(ev.has_payload);
}

Test(serf, local_user_event_uses_and_bumps_the_event_clock)
{
	struct serf_msg_user_event m;
	const struct fake_out *o;
	struct serf_stats st;

	drain(SERF_EV_COUNT);
	cr_assert_eq(serf_user_event(serf, 0, "deploy", 6,
				     (const uint8_t *)"hello", 5, true), 0);
	o = fake_find_out(&sw, SERF_MSG_USER_EVENT, true, 0);
	cr_assert_not_null(o);
	cr_assert_eq(serf_msg_decode_user_event(o->data, o->len, &m), 0);
	cr_assert_eq(m.ltime, 1);
	cr_assert_eq(drain(SERF_EV_USER), 1);	/* delivered here too */
	serf_get_stats(serf, &st);
	cr_assert_eq(st.event_time, 2);
}

Test(serf, user_event_size_limit)
{
	static uint8_t big[600];

	cr_assert_eq(serf_user_event(serf, 0, "e", 1, big, 511, false), 0);
	cr_assert_eq(serf_user_event(serf, 0, "e", 1, big, 512, false),
		     -EMSGSIZE);
	cr_assert_eq(serf_user_event(serf, 0, "", 0, big, 1, false), -EINVAL);
}

/* --- push/pull --- */

Test(serf, merge_appendix_a_state)
{
	uint8_t pp[256];
	size_t n = hex2bin(
		"0286aa4576656e744c54696d6501a64576656e747392c082a64576656e"
		"74739182a44e616d65a178a75061796c6f6164c0a54c54696d6501a54c"
		"54696d6502ab4c6566744d656d6265727390aa51756572794c54696d65"
		"01ac5374617475734c54696d657381a16302", pp, sizeof(pp));
	struct serf_stats st;

	drain(SERF_EV_COUNT);
	cr_assert_eq(serf_merge_remote_state(serf, 0, pp, n, false), 0);
	serf_get_stats(serf, &st);
	/* LTime 2 witnessed as 1, then c's status LTime 2 as an intent. */
	cr_assert_eq(st.member_time, 3);
	cr_assert_eq(st.event_time, 2);		/* the replayed event */
	cr_assert_eq(drain(SERF_EV_USER), 1);
	cr_assert_str_eq(ev.name, "x");
	cr_assert_eq(ev.ltime, 1);
	/* Replayed events are never re-gossiped. */
	cr_assert_eq(sw.nb_out, 0);
	/* c's status LTime waits for memberlist to report c. */
	join("c", 3);
	cr_assert_eq(ltime_of("c"), 2);
}

Test(serf, merge_left_members_become_left)
{
	uint8_t pp[128];
	/* {LTime 9, LeftMembers [b], StatusLTimes {b: 7}} */
	size_t n = hex2bin("0283a54c54696d6509ab4c6566744d656d6265727391a162"
			   "ac5374617475734c54696d657381a16207", pp,
			   sizeof(pp));
	struct fake_member *m = join("b", 2);

	swim_ev(m, SWIM_EV_LEAVE, 0);
	cr_assert_eq(status_of("b"), SERF_STATUS_FAILED);
	cr_assert_eq(serf_merge_remote_state(serf, 0, pp, n, false), 0);
	cr_assert_eq(status_of("b"), SERF_STATUS_LEFT);
	cr_assert_eq(ltime_of("b"), 7);
}

Test(serf, merge_big_state_is_indexed_and_applied)
{
	enum { NB = 3000, NB_LEFT = 1000 };
	static char names[NB][8];
	static struct serf_msg_pp_status st[NB];
	static struct swim_str left[NB_LEFT];
	static uint8_t buf[1 << 17];
	struct serf_msg_push_pull pp = { .ltime = 5000, .event_ltime = 1,
					 .query_ltime = 1 };

	for (int i = 0; i < NB; i++) {
		int l = snprintf(names[i], sizeof(names[i]), "m%d", i);
		st[i] = (struct serf_msg_pp_status){
			{ (const uint8_t *)names[i], (uint32_t)l }, 10 + i };
		if (i < NB_LEFT)
			left[i] = st[i].name;
	}
	pp.status = st;
	pp.nb_status = NB;
	pp.left = left;
	pp.nb_left = NB_LEFT;
	int n = serf_msg_encode_push_pull(&pp, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(serf_merge_remote_state(serf, 0, buf, (size_t)n, false),
		     0);
	join("m5", 2);
	cr_assert_eq(status_of("m5"), SERF_STATUS_LEAVING);
	cr_assert_eq(ltime_of("m5"), 15);
	join("m2000", 3);
	cr_assert_eq(status_of("m2000"), SERF_STATUS_ALIVE);
	cr_assert_eq(ltime_of("m2000"), 2010);
}

Test(serf, merge_on_join_ignores_older_events)
{
	uint8_t pp[128];
	uint8_t buf[64];
	/* {EventLTime 5} */
	size_t n = hex2bin("0281aa4576656e744c54696d6505", pp, sizeof(pp));
	int len;

	cr_assert_eq(serf_merge_remote_state(serf, 0, pp, n, true), 0);
	drain(SERF_EV_COUNT);
	len = event_msg(4, "old", NULL, buf, sizeof(buf));
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 0);
	len = event_msg(5, "new", NULL, buf, sizeof(buf));
	deliver(buf, len, 0);
	cr_assert_eq(drain(SERF_EV_USER), 1);
}

Test(serf, merge_rejects_garbage_and_accepts_nothing)
{
	uint8_t bad[] = { 0x02, 0x81, 0xa5, 'L', 'T', 'i', 'm', 'e', 0xa1 };
	uint8_t wrong[] = { 0x01, 0x80 };
	struct serf_stats st;

	cr_assert_eq(serf_merge_remote_state(serf, 0, NULL, 0, true), 0);
	cr_assert_eq(serf_merge_remote_state(serf, 0, bad, sizeof(bad), true),
		     SWIM_WIRE_E_TRUNCATED);
	cr_assert_eq(serf_merge_remote_state(serf, 0, wrong, sizeof(wrong),
					     true), SWIM_WIRE_E_UNKNOWN_MSG);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.member_time, 1);
	cr_assert_eq(st.msgs_bad, 2);
}

Test(serf, local_state_round_trips_into_another_node)
{
	static uint8_t buf[8192];
	struct fake_member *m;
	struct serf_msg_push_pull pp;
	size_t n;

	join("b", 2);
	m = join("c", 3);
	intent(SERF_MSG_LEAVE, "c", 5, false);
	swim_ev(m, SWIM_EV_LEAVE, 0);		/* c: left */
	cr_assert_eq(serf_user_event(serf, 0, "ev", 2, NULL, 0, false), 0);
	n = serf_local_state(serf, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_lt(n, sizeof(buf));
	cr_assert_eq(buf[0], SERF_MSG_PUSH_PULL);
	cr_assert_eq(serf_msg_decode_push_pull(buf, n, &pp), 0);
	cr_assert_eq(pp.ltime, 6);
	cr_assert_eq(pp.nb_status, 3);
	cr_assert_eq(pp.nb_left, 1);
	cr_assert_eq(pp.nb_groups, 1);
	cr_assert_eq(pp.event_ltime, 2);
	/* Too small a buffer: the size needed comes back. */
	cr_assert_eq(serf_local_state(serf, buf, 10), n);

	/* A second node learns c left and sees the event. */
	serf_delete(serf);
	setup();
	drain(SERF_EV_COUNT);
	m = fake_add(&sw, "c", 3, 7946);
	swim_ev(m, SWIM_EV_JOIN, 0);
	cr_assert_eq(serf_merge_remote_state(serf, 0, buf, n, false), 0);
	cr_assert_eq(status_of("c"), SERF_STATUS_LEAVING);
	cr_assert_eq(drain(SERF_EV_USER), 1);
	cr_assert_str_eq(ev.name, "ev");
}

/* --- inbound garbage --- */

Test(serf, malformed_and_unknown_messages_are_counted)
{
	uint8_t trunc[] = { SERF_MSG_JOIN, 0x82, 0xa5, 'L' };
	uint8_t unknown[] = { 42, 0x80 };
	uint8_t bad_relay[] = { SERF_MSG_RELAY, 0x80 };
	struct serf_stats st;

	deliver(trunc, sizeof(trunc), 0);
	deliver(unknown, sizeof(unknown), 0);
	deliver(bad_relay, sizeof(bad_relay), 0);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.msgs_in, 3);
	cr_assert_eq(st.msgs_bad, 2);
	cr_assert_eq(st.msgs_unknown, 1);
	cr_assert_eq(sw.nb_out, 0);
}

/* --- reaping --- */

Test(serf, failed_and_left_members_are_reaped_after_their_timeouts)
{
	struct fake_member *b = join("b", 2);
	struct fake_member *c = join("c", 3);
	uint64_t day = 24 * 3600 * US;

	swim_ev(b, SWIM_EV_LEAVE, 10 * US);		/* failed */
	intent(SERF_MSG_LEAVE, "c", 3, false);
	swim_ev(c, SWIM_EV_LEAVE, 20 * US);		/* left */
	drain(SERF_EV_COUNT);
	serf_tick(serf, 0);
	serf_tick(serf, day);
	cr_assert_eq(drain(SERF_EV_MEMBER_REAP), 0);
	serf_tick(serf, day + 15 * US);
	cr_assert_eq(drain(SERF_EV_MEMBER_REAP), 1);
	cr_assert_eq(status_of("b"), SERF_STATUS_NONE);
	cr_assert_eq(status_of("c"), SERF_STATUS_LEFT);
	serf_tick(serf, day + 30 * US);
	cr_assert_eq(drain(SERF_EV_MEMBER_REAP), 1);
	cr_assert_eq(serf_member_count(serf), 1);
	cr_assert_leq(serf_next_deadline(serf), day + 60 * US);
}

Test(serf, recent_intents_expire)
{
	intent(SERF_MSG_LEAVE, "late", 4, false);
	serf_tick(serf, 0);
	serf_tick(serf, 6 * 60 * US);
	join("late", 9);
	cr_assert_eq(status_of("late"), SERF_STATUS_ALIVE);
}

Test(serf, reconnect_tries_a_failed_member)
{
	struct fake_member *b = join("b", 2);

	swim_ev(b, SWIM_EV_LEAVE, 0);
	serf_tick(serf, 0);
	/* With one failed and one alive (us) the throttle never skips. */
	serf_tick(serf, 30 * US);
	cr_assert_eq(sw.nb_joined, 1);
	cr_assert_eq(sw.joined[0].ip[3], 2);
}

/* --- coordinates --- */

Test(serf, ping_updates_our_coordinate_and_the_peer_cache)
{
	uint8_t payload[256];
	size_t n = hex2bin(
		"0184aa41646a7573746d656e74cb3f03becd414ee526a54572726f72cb"
		"3ff6bf6f6a4d6906a6486569676874cb3f02e21ee431b375a356656398"
		"cb3ed00688e0b21082cb3f2129eb8f51c74dcbbf04ededc5aa5944cb3f"
		"0bf555ba8f6dc2cbbf12e7a2fd008b07cb3f203f13c213f836cbbf0992"
		"c4357dece7cbbf105c4c4c17a59c", payload, sizeof(payload));
	struct fake_member *b = join("b", 2);
	struct swim_event e;
	struct serf_member_info info;
	uint8_t before[256];
	size_t before_len = sw.ack_len;

	memcpy(before, sw.ack, sw.ack_len);
	fake_event(&sw, b, SWIM_EV_PING, &e);
	e.data.ptr = payload;
	e.data.len = (uint32_t)n;
	e.rtt_us = 2000;
	serf_on_swim_event(serf, 0, &e);
	cr_assert_eq(serf_member_find(serf, "b", 1, &info), 0);
	cr_assert_not_null(info.coord);
	cr_assert_float_eq(info.coord->error, 1.42173711323136, 1e-12);
	cr_assert(before_len != sw.ack_len ||
		  memcmp(before, sw.ack, before_len) != 0);
	cr_assert_lt(serf_coordinate(serf)->error, 1.5);
	/* An empty payload (a foreign node) is ignored. */
	e.data.len = 0;
	serf_on_swim_event(serf, 0, &e);
}

/* A tag with an empty value may come with no value pointer at all (a
 * decoded empty string, an RPC tag "k="): it is stored as "". */
Test(serf, tagset_takes_an_empty_value_without_a_pointer)
{
	struct serf_tagset ts;
	struct serf_tag in[2] = {
		{ .key = "role", .value = NULL, .key_len = 4, .value_len = 0 },
		{ .key = "dc", .value = "x1", .key_len = 2, .value_len = 2 },
	};

	cr_assert_eq(serf_tagset_set(&ts, in, 2), 0);
	cr_assert_eq(ts.nb, 2);
	cr_assert_str_eq(ts.tags[0].key, "role");
	cr_assert_str_eq(ts.tags[0].value, "");
	cr_assert_eq(ts.tags[0].value_len, 0);
	cr_assert_str_eq(ts.tags[1].value, "x1");
}
