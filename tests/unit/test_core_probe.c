/*
 * The failure detector on the wire: answering pings, probing, indirect
 * probes with nacks, the TCP fallback, awareness, acting as an
 * intermediary, piggybacking and gossip.
 */
#include "tu_suite.h"

TestSuite(core_probe, .init = tu_suite_setup, .fini = tu_suite_teardown);

static void
send_ping(unsigned from, uint32_t seq, const char *node, bool source)
{
	static uint8_t ip[4] = { 10, 0, 0, 77 };
	struct swim_msg m = { .type = SWIM_MSG_PING };
	m.ping.seq_no = seq;
	m.ping.node = tu_s(node);
	if (source) {
		m.ping.source_addr.ptr = ip;
		m.ping.source_addr.len = 4;
		m.ping.source_port = 9000;
		m.ping.source_node = tu_s("src");
	}
	tu_send(t, from, &m);
}

Test(core_probe, ping_is_acked)
{
	send_ping(5, 42, "me", false);
	tu_collect(t);
	const struct tu_msg *ack = tu_find(t, SWIM_MSG_ACK, NULL);
	cr_assert_not_null(ack);
	cr_assert_eq(ack->seq, 42);
	cr_assert_eq(ack->to.ip[3], 5);
	cr_assert_eq(ack->payload_len, UINT32_MAX);	/* nil */
	cr_assert_not(ack->crc);
}

Test(core_probe, ping_ack_goes_to_source_with_payload)
{
	swim_set_ack_payload(t->s, (const uint8_t *)"\x01xyz", 4);
	send_ping(5, 43, "", true);	/* empty Node: anyone */
	tu_collect(t);
	const struct tu_msg *ack = tu_find(t, SWIM_MSG_ACK, NULL);
	cr_assert_not_null(ack);
	cr_assert_eq(ack->to.ip[3], 77);
	cr_assert_eq(ack->to.port, 9000);
	cr_assert_eq(ack->payload_len, 4);
	cr_assert_eq(memcmp(ack->payload, "\x01xyz", 4), 0);
	swim_set_ack_payload(t->s, NULL, 0);
	send_ping(5, 44, "me", false);
	tu_collect(t);
	cr_assert_eq(tu_find(t, SWIM_MSG_ACK, NULL)->payload_len, UINT32_MAX);
}

Test(core_probe, ping_for_someone_else_ignored)
{
	send_ping(5, 1, "mee", false);
	send_ping(5, 2, "m", false);
	tu_collect(t);
	cr_assert_eq(tu_count(t, SWIM_MSG_ACK, NULL), 0);
}

Test(core_probe, pings_answered_by_dataplane)
{
	uint8_t buf[256];
	struct swim_msg m = { .type = SWIM_MSG_PING };
	m.ping.seq_no = 9;
	m.ping.node = tu_s("me");
	int len = swim_wire_encode_msg(&m, buf, sizeof(buf));
	tu_packet(t, 5, buf, (size_t)len, SWIM_PKT_PINGS_ANSWERED);
	tu_collect(t);
	cr_assert_eq(tu_count(t, SWIM_MSG_ACK, NULL), 0);
	struct swim_stats st;
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.msgs_in, 1);
}

Test(core_probe, bad_packets_counted)
{
	static const uint8_t garbage[] = { 0x00, 0x85, 0xa4 };
	static const uint8_t unknown[] = { 0x30, 0x80 };
	static const uint8_t bad_crc[] = { 0x0c, 1, 2, 3, 4, 0x00, 0x80 };
	struct swim_stats st;
	tu_packet(t, 5, garbage, sizeof(garbage), 0);
	tu_packet(t, 5, unknown, sizeof(unknown), 0);
	tu_packet(t, 5, bad_crc, sizeof(bad_crc), 0);
	tu_packet(t, 5, garbage, 0, 0);
	swim_on_packet(t->s, t->now, NULL, garbage, 3, 0);
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.packets_in, 5);
	cr_assert_eq(st.packets_bad, 4);
	cr_assert_eq(st.msgs_unknown, 1);
}

Test(core_probe, insane_alive_is_counted_and_ignored)
{
	/* Well-formed msgpack, but no Node and no Addr: memberlist ignores it. */
	static const uint8_t no_name[] = { 0x04, 0x81, 0xab, 'I', 'n', 'c', 'a',
					   'r', 'n', 'a', 't', 'i', 'o', 'n',
					   0x07 };
	struct swim_stats st;
	uint32_t before = swim_member_count(t->s);

	tu_packet(t, 5, no_name, sizeof(no_name), 0);
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.msgs_invalid, 1);
	cr_assert_eq(st.packets_bad, 0);
	cr_assert_eq(swim_member_count(t->s), before);
}

Test(core_probe, push_pull_on_udp_is_unknown)
{
	uint8_t buf[128];
	struct swim_push_pull_header h = { .nb_nodes = 0 };
	int len = swim_wire_encode_push_pull_header(&h, buf, sizeof(buf));
	tu_packet(t, 5, buf, (size_t)len, 0);
	struct swim_stats st;
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.packets_bad + st.msgs_unknown, 1);
}

/* Advance until the core probes someone; returns that ping. */
static struct tu_msg
next_probe(void)
{
	for (int i = 0; i < 100; i++) {
		tu_advance(t, 50 * MS);
		tu_collect(t);
		const struct tu_msg *p = tu_find(t, SWIM_MSG_PING, NULL);
		if (p != NULL)
			return *p;
	}
	cr_assert_fail("no probe");
	return t->m[0];
}

Test(core_probe, direct_ack_reports_rtt)
{
	tu_peers(t, 1);
	struct tu_msg p = next_probe();
	cr_assert_str_eq(p.node, "p2");
	cr_assert_str_eq(p.from, "me");
	cr_assert_eq(p.to.ip[3], 2);
	tu_advance(t, 7 * MS);
	struct swim_msg ack = { .type = SWIM_MSG_ACK };
	ack.ack.seq_no = p.seq;
	ack.ack.payload = tu_s("coord");
	tu_send(t, 2, &ack);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_PING], 1);
	cr_assert_eq(t->ev_rtt, 7 * MS);
	cr_assert_eq(t->ev_len, 5);
	cr_assert_str_eq(t->ev_name[SWIM_EV_PING], "p2");
	/* a second ack for the same seq is ignored */
	tu_send(t, 2, &ack);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_PING], 0);
	tu_advance(t, 2 * S);
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_ALIVE);
}

static const uint8_t vsn4[6] = { 1, 4, 2, 2, 5, 5 };
static const uint8_t vsn3[6] = { 1, 3, 2, 2, 5, 5 };
static const uint8_t vsn2[6] = { 1, 2, 2, 2, 5, 5 };

/* Probe with no direct ack; returns the ping. Indirect phase starts. */
static struct tu_msg
fail_direct(void)
{
	struct tu_msg p = next_probe();
	tu_advance(t, 500 * MS);
	tu_collect(t);
	return p;
}

Test(core_probe, indirect_and_tcp_after_probe_timeout)
{
	tu_peers(t, 4);
	struct tu_msg p = fail_direct();
	cr_assert_eq(tu_count(t, SWIM_MSG_INDIRECT_PING, p.node), 3);
	for (unsigned i = 0; i < t->nb; i++) {
		if (t->m[i].type != SWIM_MSG_INDIRECT_PING)
			continue;
		cr_assert_eq(t->m[i].seq, p.seq);
		cr_assert(t->m[i].nack);
		cr_assert_str_eq(t->m[i].from, "me");
		char to[16];
		snprintf(to, sizeof(to), "p%u", t->m[i].to.ip[3]);
		cr_assert_str_neq(to, p.node);
	}
	cr_assert_eq(t->last_tcp.kind, SWIM_OUT_TCP_PING);
	cr_assert_eq(t->last_tcp.seq, p.seq);
	cr_assert_str_eq(t->last_tcp.node, p.node);
	cr_assert_eq(t->last_tcp.deadline_us, t->now - 500 * MS + 1 * S);
	struct swim_stats st;
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.indirect_probes, 3);
}

Test(core_probe, indirect_ack_saves_target)
{
	tu_peers(t, 4);
	struct tu_msg p = fail_direct();
	struct swim_msg ack = { .type = SWIM_MSG_ACK };
	ack.ack.seq_no = p.seq;
	tu_send(t, 3, &ack);
	swim_on_tcp_ping_result(t->s, t->now, p.seq, false);
	tu_advance(t, 1 * S);
	tu_collect(t);
	cr_assert_eq(tu_status(t, p.node), SWIM_STATUS_ALIVE);
	cr_assert_eq(t->ev[SWIM_EV_PING], 0);	/* only direct acks */
	cr_assert_eq(swim_awareness_score(t->s), 0);
}

Test(core_probe, tcp_ack_saves_target)
{
	tu_peers(t, 1);
	struct tu_msg p = fail_direct();
	cr_assert_eq(t->last_tcp.kind, SWIM_OUT_TCP_PING);
	swim_on_tcp_ping_result(t->s, t->now, p.seq, true);
	tu_advance(t, 600 * MS);
	cr_assert_eq(tu_status(t, p.node), SWIM_STATUS_ALIVE);
	struct swim_stats st;
	swim_get_stats(t->s, &st);
	cr_assert_eq(st.probes_failed, 0);
}

Test(core_probe, tcp_result_in_grace_period)
{
	tu_peers(t, 1);
	struct tu_msg p = fail_direct();
	tu_advance(t, 500 * MS);	/* deadline; TCP still pending */
	cr_assert_eq(tu_status(t, p.node), SWIM_STATUS_ALIVE);
	swim_on_tcp_ping_result(t->s, t->now + 10, p.seq, true);
	tu_advance(t, 1 * S);
	cr_assert_eq(tu_status(t, p.node), SWIM_STATUS_ALIVE);
}

Test(core_probe, tcp_never_answers_then_suspect)
{
	tu_peers(t, 1);
	struct tu_msg p = fail_direct();
	tu_advance(t, 500 * MS);
	tu_advance(t, 100 * MS);	/* grace over */
	cr_assert_eq(tu_status(t, p.node), SWIM_STATUS_SUSPECT);
}

Test(core_probe, no_tcp_ping_when_disabled_or_old_peer)
{
	struct swim_cfg cfg;
	tu_cfg(&cfg);
	cfg.disable_tcp_pings = true;
	struct tu *u = tu_new_cfg(&cfg);
	struct tu *keep = t;
	t = u;
	tu_peers(t, 1);
	fail_direct();
	cr_assert_eq(t->total_kind[SWIM_OUT_TCP_PING], 0);
	t = keep;
	tu_delete(u);
	/* PMax 2: no TCP ping either, and suspect right at the deadline */
	tu_alive_vsn(t, 2, "old", 1, NULL, vsn2);
	struct tu_msg p = fail_direct();
	cr_assert_eq(t->total_kind[SWIM_OUT_TCP_PING], 0);
	tu_advance(t, 500 * MS);
	cr_assert_eq(tu_status(t, p.node), SWIM_STATUS_SUSPECT);
}

static void
nack_case(const uint8_t *vsn, unsigned nacks, int want_score)
{
	char name[8];
	tu_alive(t, 2, "target", 1, NULL);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "w%u", i);
		tu_alive_vsn(t, 3 + i, name, 1, NULL, vsn);
	}
	tu_collect(t);
	/* answer everyone but the target until it is probed */
	struct tu_msg p;
	for (;;) {
		p = next_probe();
		if (strcmp(p.node, "target") == 0)
			break;
		struct swim_msg ack = { .type = SWIM_MSG_ACK };
		ack.ack.seq_no = p.seq;
		tu_send(t, p.to.ip[3], &ack);
	}
	tu_advance(t, 500 * MS);
	tu_collect(t);
	for (unsigned i = 0; i < nacks; i++) {
		struct swim_msg nack = { .type = SWIM_MSG_NACK };
		nack.nack.seq_no = p.seq;
		tu_send(t, 3 + i, &nack);
	}
	swim_on_tcp_ping_result(t->s, t->now, p.seq, false);
	tu_advance(t, 500 * MS);
	cr_assert_eq(tu_status(t, "target"), SWIM_STATUS_SUSPECT);
	cr_assert_eq(swim_awareness_score(t->s), want_score);
}

Test(core_probe, awareness_no_nacks_expected)
{
	nack_case(vsn3, 0, 1);
}

Test(core_probe, awareness_missing_nacks)
{
	nack_case(tu_vsn, 0, 3);
}

Test(core_probe, awareness_some_nacks)
{
	nack_case(vsn4, 1, 2);
}

Test(core_probe, awareness_all_nacks)
{
	nack_case(tu_vsn, 3, 0);
}

Test(core_probe, awareness_scales_probe_deadline)
{
	tu_peers(t, 1);
	tu_accuse(t, SWIM_MSG_SUSPECT, "me", 1, "x");	/* +1 */
	tu_accuse(t, SWIM_MSG_SUSPECT, "me", 2, "x");	/* +1 */
	cr_assert_eq(swim_awareness_score(t->s), 2);
	fail_direct();
	uint64_t sent = t->now - 500 * MS;
	cr_assert_eq(t->last_tcp.deadline_us, sent + 3 * S);
}

Test(core_probe, probe_of_suspect_carries_accusation)
{
	tu_peers(t, 1);
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "x");
	tu_collect(t);
	struct tu_msg p = next_probe();
	cr_assert_str_eq(p.node, "p2");
	cr_assert(p.crc);
	cr_assert_eq(p.nb_in_pkt, 2);
	const struct tu_msg *s = tu_find(t, SWIM_MSG_SUSPECT, "p2");
	cr_assert_not_null(s);
	cr_assert_str_eq(s->from, "me");
	cr_assert_eq(s->incarnation, 1);
}

Test(core_probe, intermediary_relays_ack)
{
	uint8_t ip[4] = { 10, 0, 0, 8 };
	struct swim_msg m = { .type = SWIM_MSG_INDIRECT_PING };
	m.indirect_ping.seq_no = 555;
	m.indirect_ping.target.ptr = ip;
	m.indirect_ping.target.len = 4;
	m.indirect_ping.port = 7000;
	m.indirect_ping.node = tu_s("tgt");
	m.indirect_ping.nack = true;
	tu_send(t, 6, &m);
	tu_collect(t);
	const struct tu_msg *p = tu_find(t, SWIM_MSG_PING, "tgt");
	cr_assert_not_null(p);
	cr_assert_eq(p->to.ip[3], 8);
	cr_assert_eq(p->to.port, 7000);
	cr_assert_str_eq(p->from, "me");
	cr_assert_neq(p->seq, 555);
	struct swim_msg ack = { .type = SWIM_MSG_ACK };
	ack.ack.seq_no = p->seq;
	ack.ack.payload = tu_s("pl");
	tu_send(t, 8, &ack);
	tu_collect(t);
	const struct tu_msg *r = tu_find(t, SWIM_MSG_ACK, NULL);
	cr_assert_not_null(r);
	cr_assert_eq(r->seq, 555);
	cr_assert_eq(r->to.ip[3], 6);
	cr_assert_eq(r->payload_len, UINT32_MAX);
	/* acked in time: no nack later */
	tu_advance(t, 1 * S);
	tu_collect(t);
	cr_assert_eq(tu_count(t, SWIM_MSG_NACK, NULL), 0);
}

Test(core_probe, intermediary_nacks_after_probe_timeout)
{
	uint8_t ip[4] = { 10, 0, 0, 8 };
	uint8_t src[4] = { 10, 0, 0, 66 };
	struct swim_msg m = { .type = SWIM_MSG_INDIRECT_PING };
	m.indirect_ping.seq_no = 556;
	m.indirect_ping.target.ptr = ip;
	m.indirect_ping.target.len = 4;
	m.indirect_ping.port = 0;		/* our own port */
	m.indirect_ping.node = tu_s("tgt");
	m.indirect_ping.nack = true;
	m.indirect_ping.source_addr.ptr = src;
	m.indirect_ping.source_addr.len = 4;
	m.indirect_ping.source_port = 7001;
	tu_send(t, 6, &m);
	tu_collect(t);
	cr_assert_eq(tu_find(t, SWIM_MSG_PING, "tgt")->to.port, 7946);
	tu_advance(t, 499 * MS);
	tu_collect(t);
	cr_assert_eq(tu_count(t, SWIM_MSG_NACK, NULL), 0);
	tu_advance(t, 1 * MS);
	tu_collect(t);
	const struct tu_msg *n = tu_find(t, SWIM_MSG_NACK, NULL);
	cr_assert_not_null(n);
	cr_assert_eq(n->seq, 556);
	cr_assert_eq(n->to.ip[3], 66);
	cr_assert_eq(n->to.port, 7001);
}

Test(core_probe, intermediary_without_nack_is_silent)
{
	uint8_t ip[4] = { 10, 0, 0, 8 };
	struct swim_msg m = { .type = SWIM_MSG_INDIRECT_PING };
	m.indirect_ping.seq_no = 557;
	m.indirect_ping.target.ptr = ip;
	m.indirect_ping.target.len = 4;
	m.indirect_ping.node = tu_s("tgt");
	tu_send(t, 6, &m);
	tu_advance(t, 2 * S);
	tu_collect(t);
	cr_assert_eq(tu_count(t, SWIM_MSG_NACK, NULL), 0);
	/* bad target address: dropped */
	m.indirect_ping.target.len = 3;
	tu_send(t, 6, &m);
	tu_collect(t);
	cr_assert_eq(tu_count(t, SWIM_MSG_PING, NULL), 0);
}

Test(core_probe, broadcasts_piggyback_on_acks)
{
	tu_alive(t, 2, "a", 1, NULL);
	send_ping(5, 1, "me", false);
	tu_collect(t);
	const struct tu_msg *ack = tu_find(t, SWIM_MSG_ACK, NULL);
	cr_assert_eq(ack->nb_in_pkt, 3);	/* ack + alive(me) + alive(a) */
	cr_assert_eq(tu_count(t, SWIM_MSG_ALIVE, NULL), 2);
}

Test(core_probe, gossip_with_crc_and_retransmit_limit)
{
	tu_alive(t, 2, "a", 1, NULL);			/* PMax 5 */
	tu_alive_vsn(t, 3, "b", 1, NULL, vsn4);	/* PMax 4 */
	tu_collect(t);
	/* n = 3: each broadcast goes out 4 times, then the queue is empty */
	tu_run(t, 3 * S);
	cr_assert_eq(swim_broadcast_queue_len(t->s), 0);
	/* alive(me), alive(a), alive(b), each 4 times (pings answered
	 * carry some of them too) */
	cr_assert_eq(t->total_type[SWIM_MSG_ALIVE], 12);
	tu_run(t, 1 * S);
	cr_assert_eq(tu_count(t, SWIM_MSG_ALIVE, NULL), 0);
}

Test(core_probe, gossip_crc_only_for_pmax5)
{
	tu_alive_vsn(t, 3, "b", 1, NULL, vsn4);
	tu_collect(t);
	for (int i = 0; i < 10; i++) {
		tu_advance(t, 200 * MS);
		tu_collect(t);
		for (unsigned k = 0; k < t->nb; k++)
			cr_assert_not(t->m[k].crc);
	}
	tu_alive(t, 2, "a", 1, NULL);
	bool crc = false;
	for (int i = 0; i < 10; i++) {
		tu_advance(t, 200 * MS);
		tu_collect(t);
		for (unsigned k = 0; k < t->nb; k++)
			crc |= t->m[k].crc && t->m[k].to.ip[3] == 2;
	}
	cr_assert(crc);
}

Test(core_probe, gossip_reaches_recently_dead_not_left)
{
	tu_alive(t, 2, "a", 1, NULL);
	tu_alive(t, 3, "b", 1, NULL);
	tu_accuse(t, SWIM_MSG_DEAD, "a", 1, "x");
	tu_accuse(t, SWIM_MSG_DEAD, "b", 1, "b");
	tu_collect(t);
	bool to_a = false;
	for (int i = 0; i < 20; i++) {
		tu_advance(t, 200 * MS);
		tu_collect(t);
		for (unsigned k = 0; k < t->nb; k++) {
			cr_assert_neq(t->m[k].to.ip[3], 3);
			to_a |= t->m[k].to.ip[3] == 2;
		}
	}
	cr_assert(to_a);
}

Test(core_probe, compression_when_shorter)
{
	struct swim_cfg cfg;
	tu_cfg(&cfg);
	cfg.enable_compression = true;
	char meta[400];
	memset(meta, 'z', sizeof(meta) - 1);
	meta[sizeof(meta) - 1] = '\0';
	struct tu *u = tu_new_cfg(&cfg);
	struct tu *keep = t;
	t = u;
	tu_collect(t);
	send_ping(5, 1, "me", false);	/* 18 bytes + alive(me): not shorter */
	tu_collect(t);
	cr_assert_not(tu_find(t, SWIM_MSG_ACK, NULL)->compressed);
	tu_alive(t, 2, "a", 1, meta);	/* compressible */
	tu_collect(t);
	send_ping(5, 2, "me", false);
	tu_collect(t);
	cr_assert(tu_find(t, SWIM_MSG_ACK, NULL)->compressed);
	t = keep;
	tu_delete(u);
}

Test(core_probe, user_messages)
{
	struct swim_addr to;
	tu_addr(4, &to);
	cr_assert_eq(swim_broadcast_user(t->s, (const uint8_t *)"hi", 2), 0);
	cr_assert_eq(swim_broadcast_user(t->s, NULL, 2), -1);
	cr_assert_eq(swim_broadcast_user(t->s, (const uint8_t *)"x", 0), -1);
	uint8_t big[SWIM_UDP_BUDGET];
	memset(big, 1, sizeof(big));
	cr_assert_eq(swim_broadcast_user(t->s, big, sizeof(big)), -1);
	cr_assert_eq(swim_broadcast_queue_len(t->s), 2);
	swim_send_user(t->s, &to, (const uint8_t *)"direct", 6);
	tu_collect(t);
	const struct tu_msg *u = tu_find(t, SWIM_MSG_USER, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(u->payload_len, 6);
	cr_assert_eq(u->to.ip[3], 4);
	/* an inbound user message is an event with its source */
	static const uint8_t msg[] = { 0x08, 'a', 'b', 'c' };
	tu_packet(t, 9, msg, sizeof(msg), 0);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_USER], 1);
	cr_assert_eq(t->ev_len, 3);
}

Test(core_probe, take_piggyback_format)
{
	tu_alive(t, 2, "a", 1, NULL);
	swim_broadcast_user(t->s, (const uint8_t *)"u", 1);
	uint8_t buf[2048];
	unsigned nb = 0;
	size_t len = swim_take_piggyback(t->s, buf, sizeof(buf), &nb);
	cr_assert_eq(nb, 3);
	size_t off = 0;
	unsigned users = 0;
	for (unsigned i = 0; i < nb; i++) {
		size_t l = (size_t)buf[off] << 8 | buf[off + 1];
		users += buf[off + 2] == SWIM_MSG_USER;
		off += 2 + l;
	}
	cr_assert_eq(off, len);
	cr_assert_eq(users, 1);
	/* too small a buffer: nothing */
	cr_assert_eq(swim_take_piggyback(t->s, buf, 2, &nb), 0);
	cr_assert_eq(nb, 0);
	cr_assert_eq(swim_take_piggyback(t->s, NULL, 100, &nb), 0);
}

Test(core_probe, deadlines_are_bounded)
{
	tu_peers(t, 3);
	uint64_t d = swim_next_deadline(t->s);
	cr_assert(d > t->now - 1);
	cr_assert(d <= t->now + 1 * S);
	struct tu *u = calloc(1, sizeof(*u));
	struct swim_cfg cfg;
	const char *err;
	tu_cfg(&cfg);
	u->s = swim_new(&cfg, &err);
	/* never ticked: due at once */
	cr_assert_eq(swim_next_deadline(u->s), 0);
	tu_delete(u);
}
