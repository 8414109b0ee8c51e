/*
 * Hostile input never crashes the core: mutated packets, random message
 * storms about random names, and table invariants checked throughout.
 */
#include "test_core_util.h"

static uint64_t rs = 12345;

static uint32_t
rnd(uint32_t n)
{
	rs = rs * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rs >> 33) % n);
}

struct inv {
	uint32_t nb;
	uint32_t alive;
	uint32_t self;
};

static int
inv_visit(void *ctx, const struct swim_member_info *m)
{
	struct inv *v = ctx;
	v->nb++;
	v->alive += m->status == SWIM_STATUS_ALIVE ||
		    m->status == SWIM_STATUS_SUSPECT;
	v->self += m->is_self;
	cr_assert(m->name.len > 0 && m->name.len <= SWIM_NAME_MAX);
	cr_assert(m->meta.len <= SWIM_META_MAX);
	cr_assert(m->status < SWIM_STATUS_COUNT);
	return 0;
}

static void
check_invariants(struct tu *t)
{
	struct inv v = { 0, 0, 0 };
	swim_member_foreach(t->s, inv_visit, &v);
	cr_assert_eq(v.nb, swim_member_count(t->s));
	cr_assert_eq(v.alive, swim_member_count_alive(t->s));
	cr_assert_eq(v.self, 1);
	cr_assert(swim_awareness_score(t->s) < 8);
	cr_assert(swim_next_deadline(t->s) > t->now);
}

static void
random_msg(struct swim_msg *m, char *name, uint8_t *ip)
{
	static const char *names[] = { "me", "a", "b", "c", "d", "" };
	static const uint8_t vsns[3][6] = {
		{ 1, 5, 2, 2, 5, 5 }, { 0, 5, 2, 2, 5, 5 }, { 1, 3, 2, 2, 5, 5 },
	};
	memset(m, 0, sizeof(*m));
	strcpy(name, names[rnd(6)]);
	ip[0] = 10;
	ip[3] = (uint8_t)(2 + rnd(4));
	switch (rnd(7)) {
	case 0:
		m->type = SWIM_MSG_ALIVE;
		m->alive.incarnation = rnd(6);
		m->alive.node = tu_s(name);
		m->alive.addr.ptr = ip;
		m->alive.addr.len = rnd(8) ? 4 : 3;
		m->alive.port = 7946;
		m->alive.vsn.ptr = vsns[rnd(3)];
		m->alive.vsn.len = rnd(5) ? 6 : 0;
		break;
	case 1:
	case 2:
		m->type = rnd(2) ? SWIM_MSG_SUSPECT : SWIM_MSG_DEAD;
		m->suspect.incarnation = rnd(6);
		m->suspect.node = tu_s(name);
		m->suspect.from = tu_s(names[rnd(6)]);
		break;
	case 3:
		m->type = SWIM_MSG_PING;
		m->ping.seq_no = rnd(50);
		m->ping.node = tu_s(name);
		break;
	case 4:
		m->type = SWIM_MSG_INDIRECT_PING;
		m->indirect_ping.seq_no = rnd(50);
		m->indirect_ping.target.ptr = ip;
		m->indirect_ping.target.len = 4;
		m->indirect_ping.node = tu_s(name);
		m->indirect_ping.nack = rnd(2);
		break;
	case 5:
		m->type = rnd(2) ? SWIM_MSG_ACK : SWIM_MSG_NACK;
		m->ack.seq_no = rnd(50);
		break;
	default:
		m->type = SWIM_MSG_USER;
		m->user.data = tu_s("x");
		break;
	}
}

Test(core_robust, message_storm)
{
	struct tu *t = tu_new();
	for (int i = 0; i < 20000; i++) {
		struct swim_msg m;
		char name[8];
		uint8_t ip[4] = { 0 };
		random_msg(&m, name, ip);
		uint8_t buf[512];
		int len = swim_wire_encode_msg(&m, buf, sizeof(buf));
		if (len > 0)
			tu_packet(t, 2 + rnd(5), buf, (size_t)len, 0);
		if (rnd(10) == 0) {
			t->now += rnd(300) * MS + 1;
			swim_tick(t->s, t->now);
		}
		if (rnd(200) == 0)
			swim_on_tcp_ping_result(t->s, t->now, rnd(50), rnd(2));
		tu_collect(t);
		check_invariants(t);
	}
	tu_delete(t);
}

Test(core_robust, mutated_packets)
{
	struct tu *t = tu_new();
	tu_peers(t, 3);
	for (int i = 0; i < 20000; i++) {
		struct swim_msg m[3];
		char names[3][8];
		uint8_t ips[3][4];
		uint8_t parts_buf[3][512];
		struct swim_str parts[3];
		unsigned nb = 1 + rnd(3);
		for (unsigned k = 0; k < nb; k++) {
			random_msg(&m[k], names[k], ips[k]);
			int l = swim_wire_encode_msg(&m[k], parts_buf[k], 512);
			if (l <= 0)
				l = 1;
			parts[k].ptr = parts_buf[k];
			parts[k].len = (uint32_t)l;
		}
		uint8_t pkt[2048];
		int len = swim_wire_encode_compound(parts, nb, pkt, sizeof(pkt));
		if (len <= 0)
			continue;
		/* flip, cut or keep */
		unsigned flips = rnd(4);
		for (unsigned f = 0; f < flips; f++)
			pkt[rnd((uint32_t)len)] ^= (uint8_t)(1 + rnd(255));
		size_t cut = rnd(3) == 0 ? rnd((uint32_t)len) : (size_t)len;
		tu_packet(t, 2 + rnd(4), pkt, cut, 0);
		if (rnd(20) == 0) {
			t->now += rnd(500) * MS + 1;
			swim_tick(t->s, t->now);
		}
		tu_collect(t);
		check_invariants(t);
	}
	tu_delete(t);
}

Test(core_robust, long_names_and_meta)
{
	struct tu *t = tu_new();
	char name[SWIM_NAME_MAX + 2];
	char meta[SWIM_META_MAX + 2];
	tu_collect(t);
	memset(name, 'n', sizeof(name));
	name[SWIM_NAME_MAX + 1] = '\0';
	memset(meta, 'm', sizeof(meta));
	meta[SWIM_META_MAX + 1] = '\0';
	tu_alive(t, 2, name, 1, NULL);		/* 129 bytes: dropped */
	cr_assert_eq(swim_member_count(t->s), 1);
	name[SWIM_NAME_MAX] = '\0';
	tu_alive(t, 2, name, 1, meta);		/* 513-byte meta: dropped */
	cr_assert_eq(swim_member_count(t->s), 1);
	meta[SWIM_META_MAX] = '\0';
	tu_alive(t, 2, name, 1, meta);
	cr_assert_eq(swim_member_count(t->s), 2);
	tu_collect(t);
	cr_assert_eq(t->ev[SWIM_EV_JOIN], 1);
	/* a push/pull with it fits and round-trips */
	uint8_t buf[8192];
	size_t len = swim_push_pull_encode(t->s, false, NULL, 0, buf,
					   sizeof(buf));
	cr_assert(len < sizeof(buf));
	tu_delete(t);
}

Test(core_robust, event_and_output_backlog)
{
	struct tu *t = tu_new();
	char name[16];
	/* thousands of joins without draining: queues grow, nothing lost */
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "x%u", i);
		tu_alive(t, 2, name, 1, "meta");
	}
	for (unsigned i = 0; i < 3000; i++) {
		struct swim_msg ping = { .type = SWIM_MSG_PING };
		ping.ping.seq_no = i;
		tu_send(t, 3, &ping);
	}
	unsigned joins = 0;
	struct swim_event ev;
	while (swim_pop_event(t->s, &ev))
		joins += ev.kind == SWIM_EV_JOIN;
	cr_assert_eq(joins, 3001);
	unsigned outs = 0;
	struct swim_output o;
	while (swim_pop_output(t->s, &o))
		outs++;
	cr_assert_eq(outs, 3000);
	tu_delete(t);
}
