/*
 * memberlist's state rules (doc §6.2, §6.3, §6.5, §9.2) driven through
 * packets and push/pulls into one core.
 */
#include "tu_suite.h"

TestSuite(core_state, .init = tu_suite_setup, .fini = tu_suite_teardown);

Test(core_state, new_core_knows_itself)
{
	struct tu *u = tu_new();
	cr_assert_eq(swim_member_count(u->s), 1);
	cr_assert_eq(swim_member_count_alive(u->s), 1);
	cr_assert_eq(swim_self_incarnation(u->s), 1);
	cr_assert_str_eq(swim_self_name(u->s), "me");
	tu_collect(u);
	/* memberlist notifies a join for the local node too */
	cr_assert_eq(u->ev[SWIM_EV_JOIN], 1);
	cr_assert_str_eq(u->ev_name[SWIM_EV_JOIN], "me");
	struct swim_member_info info;
	cr_assert_eq(swim_member_find(u->s, "me", 2, &info), 0);
	cr_assert(info.is_self);
	cr_assert_eq(swim_member_find(u->s, "nope", 4, &info), -1);
	cr_assert_eq(swim_member_find(u->s, NULL, 0, &info), -1);
	tu_delete(u);
}

Test(core_state, bad_config_rejected)
{
	struct swim_cfg cfg;
	const char *err = NULL;
	tu_cfg(&cfg);
	cfg.name[0] = '\0';
	cr_assert_null(swim_new(&cfg, &err));
	cr_assert_str_eq(err, "node name must be 1..128 bytes");
	tu_cfg(&cfg);
	cfg.addr.ip_len = 5;
	cr_assert_null(swim_new(&cfg, &err));
	cr_assert_str_eq(err, "advertise address must be IPv4 or IPv6");
	tu_cfg(&cfg);
	cfg.meta_len = SWIM_META_MAX + 1;
	cr_assert_null(swim_new(&cfg, &err));
	cr_assert_str_eq(err, "meta longer than 512 bytes");
	tu_cfg(&cfg);
	cfg.vsn[0] = 3;
	cfg.vsn[1] = 2;
	cr_assert_null(swim_new(&cfg, &err));
	cr_assert_str_eq(err, "bad protocol version range");
	tu_cfg(&cfg);
	cfg.probe_interval_us = 0;
	cr_assert_null(swim_new(&cfg, &err));
	cr_assert_str_eq(err, "probe and gossip intervals must be > 0");
	tu_cfg(&cfg);
	cfg.udp_buffer_size = 10;
	cr_assert_null(swim_new(&cfg, &err));
	cr_assert_str_eq(err, "udp buffer size out of range");
}

Test(core_state, alive_new_member_joins)
{
	tu_alive(t, 2, "a", 1, "m1");
	tu_collect(t);
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_ALIVE);
	cr_assert_eq(t->ev[SWIM_EV_JOIN], 1);
	cr_assert_str_eq(t->ev_name[SWIM_EV_JOIN], "a");
	struct swim_member_info info;
	swim_member_find(t->s, "a", 1, &info);
	cr_assert_eq(info.meta.len, 2);
	cr_assert_eq(memcmp(info.meta.ptr, "m1", 2), 0);
	cr_assert_eq(info.addr.ip[3], 2);
	cr_assert_eq(memcmp(info.vsn, tu_vsn, SWIM_VSN_LEN), 0);
	/* re-gossiped: the alive is queued */
	cr_assert(swim_broadcast_queue_len(t->s) >= 1);
}

Test(core_state, alive_incarnation_zero_unknown_ignored)
{
	tu_alive(t, 2, "a", 0, NULL);
	tu_collect(t);
	cr_assert_eq(tu_status(t, "a"), -1);
	cr_assert_eq(swim_member_count(t->s), 1);
	cr_assert_eq(t->ev[SWIM_EV_JOIN], 0);
}

Test(core_state, alive_old_incarnation_ignored)
{
	tu_alive(t, 2, "a", 5, "x");
	tu_alive(t, 2, "a", 5, "y");
	tu_alive(t, 2, "a", 4, "z");
	tu_collect(t);
	struct swim_member_info info;
	swim_member_find(t->s, "a", 1, &info);
	cr_assert_eq(info.incarnation, 5);
	cr_assert_eq(info.meta.ptr[0], 'x');
	cr_assert_eq(t->ev[SWIM_EV_UPDATE], 0);
}

Test(core_state, alive_meta_change_updates)
{
	tu_alive(t, 2, "a", 1, "x");
	tu_alive(t, 2, "a", 2, "y");
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_JOIN], 1);
	cr_assert_eq(t->ev[SWIM_EV_UPDATE], 1);
	/* same meta, higher incarnation: no event */
	tu_alive(t, 2, "a", 3, "y");
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_UPDATE], 0);
	cr_assert_eq(tu_inc(t, "a"), 3);
}

Test(core_state, alive_bad_versions_ignored)
{
	static const uint8_t zero_min[6] = { 0, 5, 2, 2, 5, 5 };
	static const uint8_t zero_max[6] = { 1, 0, 2, 2, 5, 5 };
	static const uint8_t inverted[6] = { 4, 3, 3, 2, 5, 5 };
	tu_alive_vsn(t, 2, "a", 1, NULL, zero_min);
	tu_alive_vsn(t, 3, "b", 1, NULL, zero_max);
	tu_alive_vsn(t, 4, "c", 1, NULL, inverted);
	cr_assert_eq(swim_member_count(t->s), 1);
	/* No Vsn at all is allowed (versions read as 0). */
	tu_alive_vsn(t, 5, "d", 1, NULL, NULL);
	cr_assert_eq(tu_status(t, "d"), SWIM_STATUS_ALIVE);
}

Test(core_state, suspect_rules)
{
	tu_accuse(t, SWIM_MSG_SUSPECT, "ghost", 1, "x");
	cr_assert_eq(swim_member_count(t->s), 1);
	tu_alive(t, 2, "a", 3, NULL);
	tu_accuse(t, SWIM_MSG_SUSPECT, "a", 2, "x");
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_ALIVE);
	tu_accuse(t, SWIM_MSG_SUSPECT, "a", 4, "x");
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_SUSPECT);
	/* suspect may raise the incarnation */
	cr_assert_eq(tu_inc(t, "a"), 4);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_SUSPECT], 1);
	cr_assert_str_eq(t->ev_name[SWIM_EV_SUSPECT], "a");
}

Test(core_state, suspect_of_dead_ignored)
{
	tu_alive(t, 2, "a", 1, NULL);
	tu_accuse(t, SWIM_MSG_DEAD, "a", 1, "x");
	tu_accuse(t, SWIM_MSG_SUSPECT, "a", 1, "x");
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_DEAD);
}

Test(core_state, dead_and_left)
{
	tu_alive(t, 2, "a", 1, NULL);
	tu_alive(t, 3, "b", 1, NULL);
	tu_accuse(t, SWIM_MSG_DEAD, "a", 0, "x");
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_ALIVE);
	tu_accuse(t, SWIM_MSG_DEAD, "a", 1, "x");
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_DEAD);
	/* dead with From == Node is a leave */
	tu_accuse(t, SWIM_MSG_DEAD, "b", 1, "b");
	cr_assert_eq(tu_status(t, "b"), SWIM_STATUS_LEFT);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_LEAVE], 2);
	/* already dead or left: nothing more */
	tu_accuse(t, SWIM_MSG_DEAD, "a", 2, "a");
	tu_accuse(t, SWIM_MSG_DEAD, "b", 2, "x");
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_DEAD);
	cr_assert_eq(tu_status(t, "b"), SWIM_STATUS_LEFT);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_LEAVE], 0);
	cr_assert_eq(swim_member_count_alive(t->s), 1);
}

Test(core_state, dead_member_rejoins_with_higher_incarnation)
{
	tu_alive(t, 2, "a", 1, NULL);
	tu_accuse(t, SWIM_MSG_DEAD, "a", 1, "x");
	tu_alive(t, 2, "a", 1, NULL);
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_DEAD);
	tu_collect(t);
	tu_alive(t, 2, "a", 2, NULL);
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_ALIVE);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_JOIN], 1);
}

Test(core_state, address_conflict)
{
	tu_alive(t, 2, "a", 1, NULL);
	/* same name from another address while alive: dropped */
	tu_alive(t, 3, "a", 2, NULL);
	struct swim_member_info info;
	swim_member_find(t->s, "a", 1, &info);
	cr_assert_eq(info.addr.ip[3], 2);
	cr_assert_eq(info.incarnation, 1);
	/* dead, reclaim time 0 = never */
	tu_accuse(t, SWIM_MSG_DEAD, "a", 1, "x");
	tu_alive(t, 3, "a", 2, NULL);
	cr_assert_eq(tu_status(t, "a"), SWIM_STATUS_DEAD);
	/* left: a new address is fine, even at the same incarnation */
	tu_alive(t, 4, "b", 3, NULL);
	tu_accuse(t, SWIM_MSG_DEAD, "b", 3, "b");
	tu_alive(t, 5, "b", 3, NULL);
	swim_member_find(t->s, "b", 1, &info);
	cr_assert_eq(info.status, SWIM_STATUS_ALIVE);
	cr_assert_eq(info.addr.ip[3], 5);
}

Test(core_state, dead_node_reclaim_time)
{
	struct swim_cfg cfg;
	tu_cfg(&cfg);
	cfg.dead_node_reclaim_time_us = 5 * S;
	struct tu *u = tu_new_cfg(&cfg);
	tu_alive(u, 2, "a", 1, NULL);
	tu_accuse(u, SWIM_MSG_DEAD, "a", 1, "x");
	tu_run(u, 4 * S);
	tu_alive(u, 3, "a", 2, NULL);
	cr_assert_eq(tu_status(u, "a"), SWIM_STATUS_DEAD);
	tu_run(u, 2 * S);
	tu_alive(u, 3, "a", 2, NULL);
	cr_assert_eq(tu_status(u, "a"), SWIM_STATUS_ALIVE);
	tu_delete(u);
}

Test(core_state, refute_suspect)
{
	tu_accuse(t, SWIM_MSG_SUSPECT, "me", 1, "x");
	cr_assert_eq(swim_self_incarnation(t->s), 2);
	cr_assert_eq(tu_status(t, "me"), SWIM_STATUS_ALIVE);
	cr_assert_eq(swim_awareness_score(t->s), 1);
	struct swim_stats st;
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.refutes, 1);
	/* the accusation is older than us now */
	tu_accuse(t, SWIM_MSG_SUSPECT, "me", 1, "y");
	cr_assert_eq(swim_self_incarnation(t->s), 2);
	/* max(own + 1, accused + 1) */
	tu_accuse(t, SWIM_MSG_SUSPECT, "me", 7, "x");
	cr_assert_eq(swim_self_incarnation(t->s), 8);
	cr_assert_eq(swim_awareness_score(t->s), 2);
}

Test(core_state, refute_dead_and_alive)
{
	tu_accuse(t, SWIM_MSG_DEAD, "me", 1, "x");
	cr_assert_eq(swim_self_incarnation(t->s), 2);
	/* a leave in our name is refuted too */
	tu_accuse(t, SWIM_MSG_DEAD, "me", 2, "me");
	cr_assert_eq(swim_self_incarnation(t->s), 3);
	/* alive about us with a higher incarnation (a restart) */
	tu_alive(t, 1, "me", 9, NULL);
	cr_assert_eq(swim_self_incarnation(t->s), 10);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_LEAVE], 0);
	cr_assert_eq(t->ev[SWIM_EV_UPDATE], 0);
}

Test(core_state, alive_about_self_same_ignored)
{
	/* our own alive echoed back: same incarnation, meta and Vsn */
	tu_alive(t, 1, "me", 1, NULL);
	cr_assert_eq(swim_self_incarnation(t->s), 1);
	/* same incarnation, other meta: refute */
	tu_alive(t, 1, "me", 1, "other");
	cr_assert_eq(swim_self_incarnation(t->s), 2);
	/* lower: ignored */
	tu_alive(t, 1, "me", 1, "other");
	cr_assert_eq(swim_self_incarnation(t->s), 2);
}

static unsigned
piggyback_count(struct swim *s, enum swim_msg_type type, const char *node,
		uint32_t *inc)
{
	uint8_t buf[4096];
	unsigned nb = 0;
	unsigned found = 0;
	size_t len = swim_take_piggyback(s, buf, sizeof(buf), &nb);
	size_t off = 0;
	for (unsigned i = 0; i < nb; i++) {
		cr_assert(off + 2 <= len);
		size_t l = (size_t)buf[off] << 8 | buf[off + 1];
		struct swim_msg m;
		cr_assert_eq(swim_wire_decode_msg(buf + off + 2, l, &m), 0);
		off += 2 + l;
		if (m.type != type)
			continue;
		struct swim_str n = type == SWIM_MSG_ALIVE ? m.alive.node :
							     m.dead.node;
		if (n.len == strlen(node) && memcmp(n.ptr, node, n.len) == 0) {
			found++;
			if (inc != NULL)
				*inc = type == SWIM_MSG_ALIVE ?
				       m.alive.incarnation : m.dead.incarnation;
		}
	}
	cr_assert_eq(off, len);
	return found;
}

Test(core_state, refute_broadcasts_alive)
{
	uint32_t inc = 0;
	tu_accuse(t, SWIM_MSG_SUSPECT, "me", 4, "x");
	/* only the newest news about us is queued */
	cr_assert_eq(piggyback_count(t->s, SWIM_MSG_ALIVE, "me", &inc), 1);
	cr_assert_eq(inc, 5);
}

Test(core_state, newer_news_replaces_queued)
{
	tu_alive(t, 2, "a", 1, NULL);
	tu_accuse(t, SWIM_MSG_SUSPECT, "a", 1, "x");
	tu_accuse(t, SWIM_MSG_DEAD, "a", 1, "x");
	cr_assert_eq(piggyback_count(t->s, SWIM_MSG_ALIVE, "a", NULL), 0);
	/* me's own alive and the dead about a */
	cr_assert_eq(swim_broadcast_queue_len(t->s), 2);
}

Test(core_state, leave_rules)
{
	uint32_t inc = 0;
	tu_peers(t, 2);
	swim_leave(t->s, t->now);
	cr_assert_eq(tu_status(t, "me"), SWIM_STATUS_LEFT);
	cr_assert_not(swim_leave_done(t->s));
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_LEAVE], 1);
	/* a dead about us no longer refutes, an alive is ignored */
	tu_accuse(t, SWIM_MSG_DEAD, "me", 1, "x");
	tu_alive(t, 1, "me", 5, NULL);
	cr_assert_eq(tu_status(t, "me"), SWIM_STATUS_LEFT);
	cr_assert_eq(swim_self_incarnation(t->s), 1);
	cr_assert_eq(swim_set_meta(t->s, t->now, (const uint8_t *)"x", 1), -1);
	/* leave is dead{From: me} */
	cr_assert_eq(piggyback_count(t->s, SWIM_MSG_DEAD, "me", &inc), 1);
	for (int i = 0; i < 3; i++)
		piggyback_count(t->s, SWIM_MSG_DEAD, "me", NULL);
	cr_assert(swim_leave_done(t->s));
	/* twice is harmless */
	swim_leave(t->s, t->now);
	cr_assert(swim_leave_done(t->s));
}

Test(core_state, leave_alone_is_done_at_once)
{
	swim_leave(t->s, t->now);
	cr_assert(swim_leave_done(t->s));
}

Test(core_state, leave_stops_probing)
{
	tu_peers(t, 3);
	swim_leave(t->s, t->now);
	tu_run(t, 5 * S);
	cr_assert_eq(tu_count(t, SWIM_MSG_PING, NULL), 0);
}

Test(core_state, set_meta)
{
	cr_assert_eq(swim_set_meta(t->s, t->now, (const uint8_t *)"tags", 4),
		     0);
	cr_assert_eq(swim_self_incarnation(t->s), 2);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_UPDATE], 1);
	cr_assert_str_eq(t->ev_name[SWIM_EV_UPDATE], "me");
	uint8_t big[SWIM_META_MAX + 1] = { 0 };
	cr_assert_eq(swim_set_meta(t->s, t->now, big, sizeof(big)), -1);
	cr_assert_eq(swim_set_meta(t->s, t->now, NULL, 3), -1);
	cr_assert_eq(swim_set_meta(t->s, t->now, NULL, 0), 0);
	cr_assert_eq(swim_self_incarnation(t->s), 3);
}

Test(core_state, suspicion_min_timeout_small_cluster)
{
	/* n = 3 (me, a, b): k = 0, timeout = min = 4 s */
	tu_peers(t, 2);
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p3");
	uint64_t t0 = t->now;
	tu_run(t, 4 * S - 1000);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_SUSPECT);
	tu_run(t, t0 + 4 * S - t->now);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_DEAD);
	/* we broadcast the death ourselves */
	cr_assert_eq(piggyback_count(t->s, SWIM_MSG_DEAD, "p2", NULL), 1);
}

Test(core_state, suspicion_confirmations_shorten)
{
	/* n = 10: k = 2, 24 s / 11.381 s / 4 s */
	tu_peers(t, 9);
	uint64_t t0 = t->now;
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p3");
	tu_run(t, 10 * S);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_SUSPECT);
	/* the same accuser again does not count */
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p3");
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p4");
	tu_run(t, t0 + 11381 * MS - 1000 - t->now);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_SUSPECT);
	tu_run(t, 1000);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_DEAD);
}

Test(core_state, late_confirmation_kills_at_once)
{
	tu_peers(t, 9);
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p3");
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p4");
	tu_run(t, 5 * S);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_SUSPECT);
	/* second confirmation: total 4 s, already past */
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p5");
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_DEAD);
}

Test(core_state, refuted_suspicion_cancels_timer)
{
	tu_peers(t, 2);
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p3");
	tu_alive(t, 2, "p2", 2, NULL);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_ALIVE);
	tu_run(t, 10 * S);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_ALIVE);
}

/* memberlist with its #253 fix: dead and left both go after 30 s. */
Test(core_state, dead_and_left_reaped)
{
	tu_peers(t, 3);
	tu_accuse(t, SWIM_MSG_DEAD, "p2", 1, "x");
	tu_accuse(t, SWIM_MSG_DEAD, "p3", 1, "p3");
	tu_run(t, 29 * S);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_DEAD);
	cr_assert_eq(tu_status(t, "p3"), SWIM_STATUS_LEFT);
	tu_run(t, 2 * S);
	cr_assert_eq(tu_status(t, "p2"), -1);
	cr_assert_eq(tu_status(t, "p3"), -1);
	cr_assert_eq(swim_member_count(t->s), 2);
}

Test(core_state, ipv6_members)
{
	struct swim_cfg cfg;
	tu_cfg(&cfg);
	memset(&cfg.addr, 0, sizeof(cfg.addr));
	cfg.addr.ip[15] = 1;
	cfg.addr.ip_len = 16;
	cfg.addr.port = 7946;
	struct tu *u = tu_new_cfg(&cfg);
	uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	m.alive.incarnation = 1;
	m.alive.node = tu_s("six");
	m.alive.addr.ptr = v6;
	m.alive.addr.len = 16;
	m.alive.port = 8000;
	tu_send(u, 2, &m);
	struct swim_member_info info;
	cr_assert_eq(swim_member_find(u->s, "six", 3, &info), 0);
	cr_assert_eq(info.addr.ip_len, 16);
	cr_assert_eq(info.addr.ip[15], 9);
	cr_assert_eq(info.addr.port, 8000);
	/* a ping to us from a v6 source is acked there */
	struct swim_msg p = { .type = SWIM_MSG_PING };
	p.ping.seq_no = 3;
	p.ping.source_addr.ptr = v6;
	p.ping.source_addr.len = 16;
	p.ping.source_port = 8000;
	tu_send(u, 2, &p);
	tu_collect(u);
	const struct tu_msg *ack = tu_find(u, SWIM_MSG_ACK, NULL);
	cr_assert_not_null(ack);
	cr_assert_eq(ack->to.ip_len, 16);
	cr_assert_eq(ack->to.ip[0], 0xfd);
	tu_delete(u);
}
