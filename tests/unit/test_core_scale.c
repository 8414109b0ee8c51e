/*
 * The core and the Serf layer at scale: a push/pull merge of 200,000
 * members reaches both layers (no event lost, none dropped), events hold
 * their members (a member reaped while its event waits is still readable),
 * dead and left members are reaped after GossipToTheDeadTime (memberlist
 * with its #253 fix), suspicions live only while a member is suspect.
 * Time is injected. No assertion is about speed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf.h"
#include "swim.h"
#include "swim_int.h"
#include "swim_wire.h"
#include "scale_util.h"

static struct swim *
scale_core(void)
{
	struct swim_cfg cfg;
	const char *err = NULL;

	scale_swim_cfg(&cfg);
	cfg.seed = 7;
	struct swim *s = swim_new(&cfg, &err);
	cr_assert_not_null(s, "%s", err);
	return s;
}

static int
scale_name(char *buf, size_t cap, uint32_t i)
{
	return snprintf(buf, cap, "node-%07u.pool.lan", i);
}

/* A push/pull of nb alive members with three tags each, heap-allocated. */
static uint8_t *
scale_pp(uint32_t nb, size_t *len)
{
	size_t cap = (size_t)nb * 128 + 64;
	uint8_t *buf = malloc(cap);
	struct swim_push_pull_header h = { .nb_nodes = nb };

	cr_assert_not_null(buf);
	int n = swim_wire_encode_push_pull_header(&h, buf, cap);
	cr_assert(n > 0);
	size_t off = (size_t)n;
	for (uint32_t i = 0; i < nb; i++) {
		char name[32], meta[48];
		uint8_t ip[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
				  (uint8_t)i };
		int nl = scale_name(name, sizeof(name), i);
		int ml = snprintf(meta, sizeof(meta),
				  "\xff\x83\xa4role\xa3web\xa2" "dc\xa3" "dc1"
				  "\xa2id\xa7%07u", i);
		struct swim_push_node pn = {
			.name = { (const uint8_t *)name, (uint32_t)nl },
			.addr = { ip, 4 }, .port = 7946, .incarnation = 1,
			.meta = { (const uint8_t *)meta, (uint32_t)ml },
			.state = SWIM_STATUS_ALIVE,
			.vsn = { scale_vsn, SWIM_VSN_LEN },
		};
		n = swim_wire_encode_push_node(&pn, buf + off, cap - off);
		cr_assert(n > 0);
		off += (size_t)n;
	}
	*len = off;
	return buf;
}

Test(core_scale, merge_of_200k_reaches_both_layers, .timeout = 120)
{
	static struct serf_event sev;
	const uint32_t nb = 200000;
	struct swim *s = scale_core();
	struct serf_cfg sc;
	const char *err = NULL;
	struct swim_event ev;
	struct swim_str us;
	size_t len;

	serf_cfg_default(&sc);
	snprintf(sc.name, sizeof(sc.name), "self");
	struct serf *serf = serf_new(&sc, s, &err);
	cr_assert_not_null(serf, "%s", err);
	uint8_t *buf = scale_pp(nb, &len);
	int rc = swim_push_pull_merge(s, 1 * S, buf, len, &us);
	free(buf);
	cr_assert_eq((size_t)rc, len);
	/* All 200k events are queued at once: control drains them after. */
	uint32_t core_joins = 0, serf_joins = 0;
	while (swim_pop_event(s, &ev)) {
		core_joins += ev.kind == SWIM_EV_JOIN && !ev.member.is_self;
		serf_on_swim_event(serf, 1 * S, &ev);
	}
	while (serf_pop_event(serf, &sev))
		serf_joins += sev.kind == SERF_EV_MEMBER_JOIN;
	struct swim_stats st;
	struct serf_stats sst;
	swim_get_stats(s, &st);
	serf_get_stats(serf, &sst);
	cr_assert_eq(st.events_dropped, 0);
	cr_assert_eq(sst.events_dropped, 0);
	cr_assert_eq(core_joins, nb);
	cr_assert_eq(serf_joins, nb + 1);	/* and our own */
	cr_assert_eq(swim_member_count(s), nb + 1);
	cr_assert_eq(serf_member_count(serf), nb + 1);
	for (uint32_t i = 0; i < nb; i += 997) {
		char name[32];
		struct serf_member_info info;
		int nl = scale_name(name, sizeof(name), i);
		cr_assert_eq(serf_member_find(serf, name, (size_t)nl, &info), 0);
		cr_assert_eq(info.status, SERF_STATUS_ALIVE);
		cr_assert_eq(info.nb_tags, 3);
	}
	serf_delete(serf);
	swim_delete(s);
}

/* --- events hold their members --- */

static void
scale_alive(struct swim *s, uint64_t now, const char *name, uint32_t inc,
	    const char *meta)
{
	uint8_t ip[4] = { 10, 0, 0, 9 };
	uint8_t pkt[512];
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	struct swim_addr from = { .ip = { 10, 0, 0, 9 }, .ip_len = 4,
				  .port = 7946 };

	m.alive.incarnation = inc;
	m.alive.node = (struct swim_str){ (const uint8_t *)name,
					  (uint32_t)strlen(name) };
	m.alive.addr = (struct swim_str){ ip, 4 };
	m.alive.port = 7946;
	m.alive.meta = (struct swim_str){ (const uint8_t *)meta,
					  meta ? (uint32_t)strlen(meta) : 0 };
	m.alive.vsn = (struct swim_str){ scale_vsn, SWIM_VSN_LEN };
	int len = swim_wire_encode_msg(&m, pkt, sizeof(pkt));
	cr_assert(len > 0);
	swim_on_packet(s, now, &from, pkt, (size_t)len, 0);
}

static void
scale_accuse(struct swim *s, uint64_t now, enum swim_msg_type type,
	     const char *node, uint32_t inc, const char *from)
{
	uint8_t pkt[512];
	struct swim_msg m = { .type = type };
	struct swim_accuse a = {
		.incarnation = inc,
		.node = { (const uint8_t *)node, (uint32_t)strlen(node) },
		.from = { (const uint8_t *)from, (uint32_t)strlen(from) },
	};
	struct swim_addr src = { .ip = { 10, 0, 0, 9 }, .ip_len = 4,
				 .port = 7946 };

	if (type == SWIM_MSG_DEAD)
		m.dead = a;
	else
		m.suspect = a;
	int len = swim_wire_encode_msg(&m, pkt, sizeof(pkt));
	cr_assert(len > 0);
	swim_on_packet(s, now, &src, pkt, (size_t)len, 0);
}

static void
scale_drain(struct swim *s)
{
	struct swim_event ev;

	while (swim_pop_event(s, &ev))
		;
}

Test(core_scale, event_outlives_reaped_member)
{
	struct swim *s = scale_core();
	struct swim_event ev;

	scale_drain(s);
	scale_alive(s, 1 * S, "gone-soon", 1, "meta!");
	scale_accuse(s, 2 * S, SWIM_MSG_DEAD, "gone-soon", 1, "gone-soon");
	/* Reaped (left, 30 s) while its join and leave events still wait. */
	swim_tick(s, 40 * S);
	cr_assert_eq(swim_member_find(s, "gone-soon", 9, NULL), -1);
	cr_assert(swim_pop_event(s, &ev));
	cr_assert_eq(ev.kind, SWIM_EV_JOIN);
	cr_assert_eq(ev.member.name.len, 9);
	cr_assert_eq(memcmp(ev.member.name.ptr, "gone-soon", 9), 0);
	cr_assert_eq(ev.member.status, SWIM_STATUS_ALIVE);
	cr_assert_eq(ev.member.meta.len, 5);
	cr_assert_eq(memcmp(ev.member.meta.ptr, "meta!", 5), 0);
	cr_assert(swim_pop_event(s, &ev));
	cr_assert_eq(ev.kind, SWIM_EV_LEAVE);
	cr_assert_eq(ev.member.status, SWIM_STATUS_LEFT);
	cr_assert_eq(memcmp(ev.member.name.ptr, "gone-soon", 9), 0);
	cr_assert_not(swim_pop_event(s, &ev));
	swim_delete(s);
}

Test(core_scale, delete_with_events_queued_frees_all)
{
	struct swim *s = scale_core();

	scale_alive(s, 1 * S, "a", 1, NULL);
	scale_accuse(s, 2 * S, SWIM_MSG_DEAD, "a", 1, "x");
	swim_tick(s, 40 * S);	/* reaped, still held by two events */
	scale_alive(s, 41 * S, "b", 1, NULL);
	swim_delete(s);		/* ASan: no leak, no use after free */
}

/* --- reaping --- */

Test(core_scale, dead_and_left_reaped_after_gossip_to_the_dead)
{
	struct swim *s = scale_core();

	scale_alive(s, 1 * S, "dead", 1, NULL);
	scale_alive(s, 1 * S, "left", 1, NULL);
	scale_alive(s, 1 * S, "back", 1, NULL);
	scale_accuse(s, 2 * S, SWIM_MSG_DEAD, "dead", 1, "x");
	scale_accuse(s, 2 * S, SWIM_MSG_DEAD, "left", 1, "left");
	scale_accuse(s, 2 * S, SWIM_MSG_DEAD, "back", 1, "x");
	scale_alive(s, 10 * S, "back", 2, NULL);
	scale_drain(s);
	cr_assert_eq(swim_next_deadline(s) <= 32 * S, true);
	swim_tick(s, 31 * S);
	cr_assert_eq(swim_member_find(s, "dead", 4, NULL), 0);
	swim_tick(s, 32 * S + 1);
	cr_assert_eq(swim_member_find(s, "dead", 4, NULL), -1);
	cr_assert_eq(swim_member_find(s, "left", 4, NULL), -1);
	cr_assert_eq(swim_member_find(s, "back", 4, NULL), 0);
	cr_assert_eq(swim_member_count(s), 2);
	/* A reaped name may come back as a new member. */
	scale_alive(s, 40 * S, "left", 1, NULL);
	cr_assert_eq(swim_member_find(s, "left", 4, NULL), 0);
	swim_delete(s);
}

Test(core_scale, dead_then_left_reaped_from_the_last_change)
{
	struct swim *s = scale_core();
	struct swim_member_info info;

	scale_alive(s, 1 * S, "n", 1, NULL);
	scale_accuse(s, 2 * S, SWIM_MSG_SUSPECT, "n", 1, "x");
	scale_accuse(s, 3 * S, SWIM_MSG_DEAD, "n", 1, "x");
	scale_alive(s, 4 * S, "n", 2, NULL);
	scale_accuse(s, 20 * S, SWIM_MSG_DEAD, "n", 2, "n");
	scale_drain(s);
	swim_tick(s, 34 * S);	/* 30 s after the first death: not yet */
	cr_assert_eq(swim_member_find(s, "n", 1, &info), 0);
	cr_assert_eq(info.status, SWIM_STATUS_LEFT);
	swim_tick(s, 50 * S + 1);
	cr_assert_eq(swim_member_find(s, "n", 1, NULL), -1);
	swim_delete(s);
}

/* --- suspicions live only while suspect --- */

Test(core_scale, suspicion_records_only_for_suspects)
{
	struct swim *s = scale_core();

	for (int i = 0; i < 10; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		scale_alive(s, 1 * S, name, 1, NULL);
	}
	cr_assert_eq(s->suspects.nb, 0);
	scale_accuse(s, 2 * S, SWIM_MSG_SUSPECT, "p1", 1, "x");
	scale_accuse(s, 2 * S, SWIM_MSG_SUSPECT, "p2", 1, "x");
	cr_assert_eq(s->suspects.nb, 2);
	scale_accuse(s, 2 * S, SWIM_MSG_SUSPECT, "p2", 1, "y");	/* confirm */
	cr_assert_eq(s->suspects.nb, 2);
	scale_alive(s, 3 * S, "p1", 2, NULL);		/* refuted */
	cr_assert_eq(s->suspects.nb, 1);
	swim_tick(s, 600 * S);			/* p2 timed out: dead */
	struct swim_member_info info;
	cr_assert_eq(s->suspects.nb, 0);
	cr_assert_eq(swim_member_find(s, "p2", 2, &info), 0);
	cr_assert_eq(info.status, SWIM_STATUS_DEAD);
	swim_tick(s, 700 * S);
	cr_assert_eq(swim_member_find(s, "p1", 2, &info), 0);
	cr_assert_eq(info.status, SWIM_STATUS_ALIVE);
	cr_assert_eq(swim_member_find(s, "p2", 2, NULL), -1);	/* reaped */
	swim_delete(s);
}

Test(core_scale, member_struct_is_sized_to_content)
{
	struct swim *s = scale_core();
	struct swim_member *m;

	scale_alive(s, 1 * S, "short", 1, "0123456789");
	m = swim_members_find(&s->mt, "short", 5);
	cr_assert_not_null(m);
	cr_assert_eq(m->meta_len, 10);
	cr_assert_eq(memcmp(m->meta, "0123456789", 10), 0);
	cr_assert_str_eq(m->name, "short");
	/* No fixed name/meta arrays and no suspicion in the member. */
	cr_assert_leq(sizeof(struct swim_member), 80);
	scale_alive(s, 2 * S, "short", 2, NULL);
	cr_assert_eq(m->meta_len, 0);
	cr_assert_null(m->meta);
	swim_delete(s);
}

/* --- the slab under the member tables --- */

Test(core_scale, slab_sizes_reuse_and_errors)
{
	struct swim_slab sl;

	swim_slab_init(&sl);
	cr_assert_null(swim_slab_alloc(&sl, 0));
	cr_assert_null(swim_slab_alloc(&sl, SWIM_SLAB_MAX + 1));
	uint8_t *a = swim_slab_alloc(&sl, 93);
	uint8_t *b = swim_slab_alloc(&sl, 96);
	cr_assert_not_null(a);
	cr_assert_eq((uintptr_t)a % 8, 0);
	cr_assert_eq(b - a, 96);	/* 93 rounds to 96, no header */
	memset(a, 0xab, 93);
	swim_slab_free(&sl, a, 93);
	uint8_t *c = swim_slab_alloc(&sl, 90);	/* same class: reused */
	cr_assert_eq(c, a);
	for (int i = 0; i < 90; i++)
		cr_assert_eq(c[i], 0);
	cr_assert_neq(swim_slab_alloc(&sl, 8), a);
	/* More than one chunk's worth. */
	for (int i = 0; i < 5000; i++)
		cr_assert_not_null(swim_slab_alloc(&sl, SWIM_SLAB_MAX));
	cr_assert_geq(sl.bytes, 5000ull * SWIM_SLAB_MAX);
	swim_slab_free(&sl, NULL, 8);
	swim_slab_free(&sl, b, 0);
	swim_slab_destroy(&sl);
	cr_assert_eq(sl.bytes, 0);
}
