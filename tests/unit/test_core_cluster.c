/*
 * End-to-end behaviour of the core on the tiny test network: join,
 * convergence, failure detection with Lifeguard timing, refutation,
 * graceful leave.
 */
#include "test_core_net.h"

#define S 1000000ull

Test(core_cluster, join_converges)
{
	struct tn *n = tn_new(5);
	tn_join_all(n, 0);
	tn_run_until(n, 5 * S);
	for (unsigned i = 0; i < n->nb; i++) {
		cr_assert_eq(swim_member_count(n->s[i]), 5, "n%u", i);
		cr_assert_eq(swim_member_count_alive(n->s[i]), 5, "n%u", i);
		/* self + 4 others */
		cr_assert_eq(n->ev[i].nb[SWIM_EV_JOIN], 5, "n%u", i);
	}
	tn_run_until(n, 30 * S);
	for (unsigned i = 0; i < n->nb; i++) {
		cr_assert_eq(swim_member_count_alive(n->s[i]), 5);
		cr_assert_eq(n->ev[i].nb[SWIM_EV_SUSPECT], 0);
		cr_assert(n->ev[i].nb[SWIM_EV_PING] > 10);
		cr_assert_eq(swim_broadcast_queue_len(n->s[i]), 0);
	}
	tn_delete(n);
}

Test(core_cluster, failure_detected)
{
	struct tn *n = tn_new(5);
	tn_join_all(n, 0);
	tn_run_until(n, 10 * S);
	n->down[4] = true;
	n->tcp_down[4] = true;
	uint64_t t0 = n->now;
	tn_run_until(n, t0 + 25 * S);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(tn_status(n, i, 4), SWIM_STATUS_DEAD, "n%u", i);
		cr_assert_eq(n->ev[i].nb[SWIM_EV_SUSPECT], 1);
		cr_assert_eq(n->ev[i].nb[SWIM_EV_LEAVE], 1);
		cr_assert_eq(swim_member_count_alive(n->s[i]), 4);
	}
	/* GossipToTheDeadTime (30 s) after death it leaves the table. */
	tn_run_until(n, t0 + 60 * S);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(tn_status(n, i, 4), -1, "n%u", i);
		cr_assert_eq(swim_member_count(n->s[i]), 4);
	}
	tn_delete(n);
}

Test(core_cluster, tcp_ping_keeps_udp_deaf_node_alive)
{
	struct tn *n = tn_new(3);
	tn_join_all(n, 0);
	tn_run_until(n, 5 * S);
	n->down[2] = true;	/* UDP only: TCP pings still work */
	tn_run_until(n, 60 * S);
	for (unsigned i = 0; i < 2; i++)
		cr_assert_eq(tn_status(n, i, 2), SWIM_STATUS_ALIVE);
	tn_delete(n);
}

Test(core_cluster, graceful_leave_is_left)
{
	struct tn *n = tn_new(4);
	tn_join_all(n, 0);
	tn_run_until(n, 5 * S);
	swim_leave(n->s[3], n->now);
	cr_assert_not(swim_leave_done(n->s[3]));
	tn_drain(n, 3);
	tn_run_until(n, n->now + 3 * S);
	cr_assert(swim_leave_done(n->s[3]));
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(tn_status(n, i, 3), SWIM_STATUS_LEFT, "n%u", i);
	tn_delete(n);
}

Test(core_cluster, revived_node_refutes)
{
	struct tn *n = tn_new(4);
	tn_join_all(n, 0);
	tn_run_until(n, 5 * S);
	n->down[3] = true;
	n->tcp_down[3] = true;
	/* Wait until someone suspects it (not dead yet: k = 2, 24 s). */
	bool suspected = false;
	for (int step = 0; step < 40 && !suspected; step++) {
		tn_run_until(n, n->now + S / 2);
		for (unsigned i = 0; i < 3; i++)
			suspected |= tn_status(n, i, 3) == SWIM_STATUS_SUSPECT;
	}
	cr_assert(suspected);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_neq(tn_status(n, i, 3), SWIM_STATUS_DEAD);
	n->down[3] = false;
	n->tcp_down[3] = false;
	tn_run_until(n, n->now + 10 * S);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(tn_status(n, i, 3), SWIM_STATUS_ALIVE);
	cr_assert(swim_self_incarnation(n->s[3]) >= 2);
	tn_delete(n);
}

static void
profile_run(void (*profile)(struct swim_cfg *), uint64_t detect_within)
{
	struct tn *n = calloc(1, sizeof(*n));
	n->pkts = calloc(TN_PKTS, sizeof(*n->pkts));
	n->nb = 4;
	for (unsigned i = 0; i < n->nb; i++) {
		struct swim_cfg cfg;
		const char *err = NULL;
		tn_cfg(i, &cfg);
		char name[SWIM_NAME_MAX + 1];
		struct swim_addr addr = cfg.addr;
		memcpy(name, cfg.name, sizeof(name));
		profile(&cfg);
		memcpy(cfg.name, name, sizeof(name));
		cfg.addr = addr;
		cfg.seed = 77 + i;
		n->s[i] = swim_new(&cfg, &err);
		cr_assert_not_null(n->s[i], "%s", err);
	}
	tn_join_all(n, 0);
	tn_run_until(n, 20 * S);
	for (unsigned i = 0; i < n->nb; i++)
		cr_assert_eq(swim_member_count_alive(n->s[i]), 4);
	n->down[3] = true;
	n->tcp_down[3] = true;
	tn_run_until(n, n->now + detect_within);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(tn_status(n, i, 3), SWIM_STATUS_DEAD, "n%u", i);
	tn_delete(n);
}

Test(core_cluster, wan_profile_detects)
{
	/* n = 4: k = 4 > n - 2, so min = 6 * 5 s = 30 s after suspicion */
	profile_run(swim_cfg_default_wan, 60 * S);
}

Test(core_cluster, local_profile_detects)
{
	profile_run(swim_cfg_default_local, 15 * S);
}
