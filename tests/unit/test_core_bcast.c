/*
 * The core's broadcasts as queued references (swim_diss.h): an alive,
 * suspect or dead about a member goes out byte for byte as the message
 * the old copy-based queue held (the message encoded when it was
 * queued); a member that leaves the table while its broadcast waits
 * leaves a copy behind (no use after free: run under ASan too); the
 * depth bound counts its drops in swim_stats. Time is injected.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "swim.h"
#include "swim_int.h"
#include "swim_wire.h"
#include "scale_util.h"

#define REF_FLAG 0x10u	/* swim_diss.c's SWIM_BCAST_REF */

static struct swim *s;
static uint8_t want[SWIM_UDP_MAX];

static void
core(uint32_t max)
{
	struct swim_cfg cfg;
	const char *err = NULL;

	scale_swim_cfg(&cfg);
	cfg.seed = 11;
	cfg.max_queue_depth = max;
	s = swim_new(&cfg, &err);
	cr_assert_not_null(s, "%s", err);
	swim_enter(s, 1 * S);
	swim_diss_clear(&s->bq);	/* self's own alive */
}

static void
fini(void)
{
	swim_delete(s);
	s = NULL;
}

static struct swim_str
str(const char *p)
{
	return (struct swim_str){ (const uint8_t *)p, (uint32_t)strlen(p) };
}

static struct swim_alive
alive(const char *name, uint32_t inc, const char *meta, uint32_t vsn_len)
{
	static const uint8_t ip[4] = { 10, 1, 2, 3 };
	return (struct swim_alive){
		.incarnation = inc, .node = str(name), .addr = { ip, 4 },
		.port = 7946, .meta = str(meta),
		.vsn = { scale_vsn, vsn_len },
	};
}

/* The one queued broadcast, as it goes out, equals msg's encoding. */
static void
expect_sent(const struct swim_msg *msg)
{
	struct swim_str parts[4];
	size_t used = 0;
	int n = swim_wire_encode_msg(msg, want, sizeof(want));

	cr_assert_gt(n, 0);
	cr_assert_eq(s->bq.nb, 1);
	cr_assert_eq(swim_diss_take(&s->bq, 2, 1400, 100, parts, 4, &used), 1);
	if (parts[0].len != (uint32_t)n ||
	    memcmp(parts[0].ptr, want, (size_t)n) != 0) {
		for (int i = 0; i < n; i++)
			fprintf(stderr, "%02x", want[i]);
		fprintf(stderr, "\n");
		for (uint32_t i = 0; i < parts[0].len; i++)
			fprintf(stderr, "%02x", parts[0].ptr[i]);
		fprintf(stderr, "\n");
	}
	cr_assert_eq(parts[0].len, (uint32_t)n);
	cr_assert_eq(memcmp(parts[0].ptr, want, (size_t)n), 0,
		     "the bytes on the wire are the queued message's");
	swim_diss_release(&s->bq);
}

static struct swim_member *
member(const char *name)
{
	struct swim_member *m = swim_members_find(&s->mt, name, strlen(name));
	cr_assert_not_null(m);
	return m;
}

TestSuite(core_bcast, .fini = fini);

Test(core_bcast, alive_golden_and_referenced)
{
	core(0);
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE };
	msg.alive = alive("node-0000001.pool.lan", 3,
			  "\x83\xa4role\xa3web", SWIM_VSN_LEN);
	swim_alive_node(s, &msg.alive, false);
	struct swim_member *m = member("node-0000001.pool.lan");
	cr_assert_not_null(m->bcast);
	cr_assert_eq(m->bcast->flags & REF_FLAG, REF_FLAG);
	cr_assert_leq(sizeof(*m->bcast), 32);
	expect_sent(&msg);
	/* An update (new incarnation, new Meta, no Meta): the same. */
	swim_diss_clear(&s->bq);
	msg.alive = alive("node-0000001.pool.lan", 4, "", SWIM_VSN_LEN);
	swim_alive_node(s, &msg.alive, false);
	cr_assert_eq(m->bcast->flags & REF_FLAG, REF_FLAG);
	expect_sent(&msg);
	/* Meta nil (0xc0) stays nil, empty (0xa0) stays empty. */
	swim_diss_clear(&s->bq);
	msg.alive.incarnation = 5;
	msg.alive.meta = (struct swim_str){ NULL, 0 };
	swim_alive_node(s, &msg.alive, false);
	cr_assert_eq(m->bcast->flags & REF_FLAG, REF_FLAG);
	expect_sent(&msg);
}

Test(core_bcast, alive_ipv6_golden)
{
	static const uint8_t ip6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0,
					 0, 0, 0, 0, 0, 0, 0, 9 };
	core(0);
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE };
	msg.alive = alive("v6", 1, "m", SWIM_VSN_LEN);
	msg.alive.addr = (struct swim_str){ ip6, 16 };
	swim_alive_node(s, &msg.alive, false);
	cr_assert_eq(member("v6")->bcast->flags & REF_FLAG, REF_FLAG);
	expect_sent(&msg);
}

/* What the record does not hold exactly is queued as a copy. */
Test(core_bcast, alive_without_vsn_is_a_copy)
{
	core(0);
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE };
	msg.alive = alive("old", 1, "", 0);
	swim_alive_node(s, &msg.alive, false);
	cr_assert_eq(member("old")->bcast->flags & REF_FLAG, 0);
	expect_sent(&msg);
}

Test(core_bcast, accusations_golden)
{
	core(0);
	struct swim_alive a = alive("x", 5, "", SWIM_VSN_LEN);
	swim_alive_node(s, &a, false);
	struct swim_member *m = member("x");
	/* Enough members that a suspicion wants confirmations (k > 0). */
	for (int i = 0; i < 8; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		struct swim_alive p = alive(name, 1, "", SWIM_VSN_LEN);
		swim_alive_node(s, &p, false);
	}
	swim_diss_clear(&s->bq);

	/* Our own suspicion: a reference, from us. */
	struct swim_msg sus = { .type = SWIM_MSG_SUSPECT };
	sus.suspect = (struct swim_accuse){ 5, str("x"), str("self") };
	swim_suspect_node(s, &sus.suspect);
	cr_assert_eq(m->bcast->flags & REF_FLAG, REF_FLAG);
	expect_sent(&sus);
	/* A third node's confirmation: a copy. */
	sus.suspect.from = str("third");
	swim_suspect_node(s, &sus.suspect);
	cr_assert_eq(m->bcast->flags & REF_FLAG, 0);
	expect_sent(&sus);
	/* Dead, declared by us: a reference. */
	struct swim_msg dead = { .type = SWIM_MSG_DEAD };
	dead.dead = (struct swim_accuse){ 6, str("x"), str("self") };
	swim_dead_node(s, &dead.dead);
	cr_assert_eq(m->bcast->flags & REF_FLAG, REF_FLAG);
	expect_sent(&dead);
}

Test(core_bcast, leave_and_refute_golden)
{
	core(0);
	struct swim_alive a = alive("y", 2, "t", SWIM_VSN_LEN);
	swim_alive_node(s, &a, false);
	/* y leaves: dead about itself, from itself. */
	struct swim_msg dead = { .type = SWIM_MSG_DEAD };
	dead.dead = (struct swim_accuse){ 2, str("y"), str("y") };
	swim_dead_node(s, &dead.dead);
	cr_assert_eq(member("y")->status, SWIM_STATUS_LEFT);
	cr_assert_eq(member("y")->bcast->flags & REF_FLAG, REF_FLAG);
	expect_sent(&dead);
	/* Someone suspects us: the refutation is our alive, referenced. */
	swim_diss_clear(&s->bq);
	struct swim_accuse acc = { 9, str("self"), str("y") };
	swim_suspect_node(s, &acc);
	struct swim_member *me = member("self");
	cr_assert_eq(me->incarnation, 10);
	cr_assert_eq(me->bcast->flags & REF_FLAG, REF_FLAG);
	struct swim_msg ref = { .type = SWIM_MSG_ALIVE };
	ref.alive = (struct swim_alive){
		.incarnation = 10, .node = str("self"),
		.addr = { me->addr.ip, 4 }, .port = 7946,
		.meta = { NULL, 0 }, .vsn = { me->vsn, SWIM_VSN_LEN } };
	expect_sent(&ref);
}

/* Reaped while its dead waits: the broadcast becomes a copy and goes. */
Test(core_bcast, reaped_member_leaves_a_copy)
{
	core(0);
	struct swim_alive a = alive("z", 1, "meta", SWIM_VSN_LEN);
	swim_alive_node(s, &a, false);
	struct swim_msg dead = { .type = SWIM_MSG_DEAD };
	dead.dead = (struct swim_accuse){ 1, str("z"), str("self") };
	swim_dead_node(s, &dead.dead);
	swim_enter(s, 1 * S + s->cfg.gossip_to_the_dead_time_us + 1);
	swim_reap_run(s);
	cr_assert_null(swim_members_find(&s->mt, "z", 1), "reaped");
	/* The record may be gone: the bytes are the copy's. */
	expect_sent(&dead);
	cr_assert_eq(s->bq.dropped, 0);
}

/* Removed without the core's help: the reference is dropped, counted. */
Test(core_bcast, removed_reference_is_dropped_not_read)
{
	struct swim_str parts[4];
	size_t used = 0;

	core(0);
	for (int i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "r%d", i);
		struct swim_alive a = alive(name, 1, "", SWIM_VSN_LEN);
		swim_alive_node(s, &a, false);
		struct swim_member *m = member(name);
		if (i % 2 == 0)
			swim_members_remove(&s->mt, m);	/* frees it */
	}
	cr_assert_eq(s->bq.nb, 50);
	unsigned sent = 0;
	for (int k = 0; k < 100 && s->bq.nb > 0; k++) {
		used = 0;
		sent += swim_diss_take(&s->bq, 2, 1400, 1, parts, 4, &used);
		swim_diss_release(&s->bq);
	}
	cr_assert_eq(sent, 25);
	cr_assert_eq(s->bq.dropped, 25);
	struct swim_stats st;
	swim_get_stats(s, &st);
	cr_assert_eq(st.bcasts_dropped, 25);
}

Test(core_bcast, depth_bound_counts_in_stats)
{
	core(10);
	for (int i = 0; i < 100; i++) {
		char name[16];
		snprintf(name, sizeof(name), "b%d", i);
		struct swim_alive a = alive(name, 1, "", SWIM_VSN_LEN);
		swim_alive_node(s, &a, false);
	}
	struct swim_stats st;
	swim_get_stats(s, &st);
	cr_assert_eq(s->bq.nb, 10);
	cr_assert_eq(st.bcasts_dropped, 90);
	/* The newest ten stayed: b90..b99 still own their items. */
	cr_assert_not_null(member("b99")->bcast);
	cr_assert_not_null(member("b90")->bcast);
	cr_assert_null(member("b89")->bcast);
}

Test(core_bcast, default_depth)
{
	struct swim_cfg cfg;
	swim_cfg_default_lan(&cfg);
	cr_assert_eq(cfg.max_queue_depth, SWIM_DEFAULT_QUEUE_DEPTH);
	swim_cfg_default_wan(&cfg);
	cr_assert_eq(cfg.max_queue_depth, SWIM_DEFAULT_QUEUE_DEPTH);
	swim_cfg_default_local(&cfg);
	cr_assert_eq(cfg.max_queue_depth, SWIM_DEFAULT_QUEUE_DEPTH);
}
