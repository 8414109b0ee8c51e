/* SPDX-License-Identifier: MIT */
/*
 * Timing of the steps between a crash and its dead message reaching the
 * pool: the core does not wake for gossip ticks while nothing is queued,
 * and news that comes after such a quiet spell goes out on the turn that
 * brought it (memberlist's ticker would hold it up to a GossipInterval),
 * with no more transmits than memberlist's retransmit limit and the
 * ticker's grid unchanged.
 */
#include "test_core_util.h"

#define IV (200 * MS)	/* the LAN profile's GossipInterval */

/* A core that only gossips: its probe and push/pull an hour away. */
static struct tu *
quiet_core(void)
{
	struct swim_cfg cfg;

	tu_cfg(&cfg);
	cfg.probe_interval_us = 3600 * S;
	cfg.push_pull_interval_us = 3600 * S;
	return tu_new_cfg(&cfg);
}

/*
 * Tick from deadline to deadline (the gossip ticks while something is
 * queued) until the queue is empty. @retval the last tick that sent: a
 * point of the gossip grid.
 */
static uint64_t
drain(struct tu *t)
{
	uint64_t last = 0;

	for (int guard = 0; guard < 1000; guard++) {
		if (swim_broadcast_queue_len(t->s) == 0)
			break;
		uint64_t next = swim_next_deadline(t->s);
		cr_assert_lt(next, t->now + IV + 1, "not the gossip tick");
		if (next > t->now)
			t->now = next;
		swim_tick(t->s, t->now);
		tu_collect(t);
		cr_assert_eq(tu_count(t, SWIM_MSG_PING, NULL), 0);
		if (t->nb > 0)
			last = t->now;
	}
	cr_assert_eq(swim_broadcast_queue_len(t->s), 0);
	cr_assert_gt(last, 0);
	return last;
}

/* Quiet from grid point g until g + 5.5 ticks, then news comes in. */
static uint64_t
news_after_quiet(struct tu *t)
{
	tu_peers(t, 3);
	uint64_t g = drain(t);

	/* nothing queued: the core asks for no wakeup at its gossip ticks */
	cr_assert_gt(swim_next_deadline(t->s), g + 10 * IV);
	t->now = g + 5 * IV + IV / 2;
	tu_alive(t, 9, "late", 1, NULL);	/* a new member: re-gossiped */
	return g;
}

/* How many messages of `type` about `node` go out from now until the
 * queue is empty, ticking at the core's own deadlines. */
static unsigned
sent_until_drained(struct tu *t, enum swim_msg_type type, const char *node)
{
	unsigned nb = 0;

	for (int guard = 0; guard < 1000; guard++) {
		swim_tick(t->s, t->now);
		tu_collect(t);
		nb += tu_count(t, type, node);
		if (swim_broadcast_queue_len(t->s) == 0)
			return nb;
		t->now = swim_next_deadline(t->s);
	}
	cr_assert_fail("the queue never drained");
	return nb;
}

Test(core_detect, broadcast_after_quiet_goes_out_on_the_same_turn)
{
	struct tu *t = quiet_core();
	uint64_t g = news_after_quiet(t);

	cr_assert_eq(swim_broadcast_queue_len(t->s), 1);
	/* the loop's turn for that packet: gossip to GossipNodes (3) now */
	swim_tick(t->s, t->now);
	tu_collect(t);
	cr_assert_eq(tu_count(t, SWIM_MSG_ALIVE, "late"), 3);
	/* the ticker's grid stays: the next round on its next point */
	if (swim_broadcast_queue_len(t->s) > 0)
		cr_assert_eq(swim_next_deadline(t->s), g + 6 * IV);
	tu_delete(t);
}

Test(core_detect, news_after_quiet_costs_the_retransmit_limit_only)
{
	struct tu *t = quiet_core();

	news_after_quiet(t);
	/* 5 members: RetransmitMult 4 x ceil(log10(5 + 1)) = 4 sends */
	cr_assert_eq(sent_until_drained(t, SWIM_MSG_ALIVE, "late"), 4);
	tu_delete(t);
}

Test(core_detect, suspicion_after_quiet_goes_out_on_the_same_turn)
{
	struct tu *t = quiet_core();

	tu_peers(t, 3);
	drain(t);
	t->now += 5 * IV + IV / 3;
	tu_accuse(t, SWIM_MSG_SUSPECT, "p2", 1, "p3");
	cr_assert_eq(tu_status(t, "p2"), SWIM_STATUS_SUSPECT);
	swim_tick(t->s, t->now);
	tu_collect(t);
	/* to 3 of the others (p2 too: gossip goes to suspects) */
	cr_assert_eq(tu_count(t, SWIM_MSG_SUSPECT, "p2"), 3);
	tu_delete(t);
}

Test(core_detect, late_turn_with_news_queued_gossips_at_once)
{
	struct tu *t = quiet_core();

	tu_peers(t, 3);
	uint64_t next = swim_next_deadline(t->s);	/* the first tick */

	cr_assert_gt(swim_broadcast_queue_len(t->s), 0);
	/* the loop comes 1.5 ticks late with news queued all along: the
	 * tick was due with something to send, as Go's ticker would have
	 * it (one tick held), so it goes now and the grid stays */
	t->now = next + IV + IV / 2;
	swim_tick(t->s, t->now);
	tu_collect(t);
	cr_assert_gt(t->nb, 0);
	if (swim_broadcast_queue_len(t->s) > 0)
		cr_assert_eq(swim_next_deadline(t->s), next + 2 * IV);
	tu_delete(t);
}
