/* SPDX-License-Identifier: MIT */
/*
 * The simulator's own tests, against the fake core of sim_fake_swim.c:
 * exact delivery times, drop rates, one-way blocks, partitions on UDP and
 * TCP, killed and restarted nodes, waiters and determinism by seed.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_fake_swim.h"

#define SEED 42

static struct sim *
fake_sim(unsigned n, uint64_t lat_us)
{
	struct swim_cfg cfg;
	struct sim *sim;

	swim_cfg_default_lan(&cfg);	/* probe_interval 1 s, TCP 10 s */
	sim = sim_new(n, &cfg, SEED);
	cr_assert(sim != NULL);
	sim_set_latency(sim, lat_us, 0);
	return sim;
}

static struct sim_fake_stats *
st(struct sim *sim, unsigned i)
{
	return sim_fake_stats(sim_swim(sim, i));
}

Test(sim, packet_arrives_exactly_after_the_latency)
{
	struct sim *sim = fake_sim(2, 700);

	sim_join(sim, 1, 0);
	sim_run_until(sim, SIM_S(1) + 699);
	cr_assert_eq(st(sim, 0)->rx, 0);
	sim_run_until(sim, SIM_S(1) + 700);
	cr_assert_eq(st(sim, 0)->rx, 1);
	cr_assert_eq(st(sim, 0)->last_rx_us, SIM_S(1) + 700);
	cr_assert_eq(sim_now(sim), SIM_S(1) + 700);
	sim_delete(sim);
}

Test(sim, drop_rate_is_applied_per_packet)
{
	struct sim *sim = fake_sim(2, 100);

	sim_join(sim, 1, 0);
	sim_set_drop(sim, SIM_ANY, SIM_ANY, 30);
	sim_run_until(sim, SIM_S(1000) + SIM_MS(1));
	cr_assert(st(sim, 0)->rx >= 630 && st(sim, 0)->rx <= 770,
		  "rx %" PRIu64 " of 1000 at 30%% loss", st(sim, 0)->rx);
	cr_assert_eq(sim_counters(sim)->packets_dropped + st(sim, 0)->rx, 1000);
	sim_set_drop(sim, 1, 0, 100);
	sim_set_drop(sim, SIM_ANY, SIM_ANY, 0);
	sim_run_for(sim, SIM_S(10));
	cr_assert(st(sim, 0)->rx <= 770, "per-link 100%% drop let packets by");
	sim_delete(sim);
}

Test(sim, one_way_block_stops_one_direction_only)
{
	struct sim *sim = fake_sim(2, 100);

	sim_join(sim, 1, 0);
	sim_join(sim, 0, 1);
	sim_block(sim, 1, 0, SIM_BLOCK_UDP);
	sim_run_until(sim, SIM_S(10) + SIM_MS(1));
	cr_assert_eq(st(sim, 0)->rx, 0);
	cr_assert_eq(st(sim, 1)->rx, 10);
	sim_block(sim, 1, 0, 0);
	sim_run_for(sim, SIM_S(5));
	cr_assert_eq(st(sim, 0)->rx, 5);
	sim_delete(sim);
}

Test(sim, partition_stops_push_pull_until_heal)
{
	static const uint8_t groups[2] = { 0, 1 };
	struct sim *sim = fake_sim(2, 100);

	sim_partition(sim, groups);
	sim_join(sim, 1, 0);
	sim_run_for(sim, SIM_S(11));
	cr_assert_eq(st(sim, 1)->pp_failed, 1);
	/* connect (2 x latency), then the 10 s TCP timeout */
	cr_assert_eq(st(sim, 1)->last_pp_failed_us, 200 + SIM_S(10));
	cr_assert_eq(st(sim, 0)->merges, 0);
	sim_heal(sim);
	sim_join(sim, 1, 0);
	sim_run_for(sim, SIM_MS(1));
	cr_assert_eq(st(sim, 0)->merges, 1);
	cr_assert_eq(st(sim, 1)->merges, 1);
	cr_assert_eq(sim_counters(sim)->push_pulls, 1);
	sim_delete(sim);
}

Test(sim, killed_node_refuses_tcp_at_once)
{
	struct sim *sim = fake_sim(2, 100);
	struct swim_addr a0;

	sim_kill(sim, 0);
	cr_assert(!sim_is_up(sim, 0));
	cr_assert_eq(sim_nb_up(sim), 1);
	sim_join(sim, 1, 0);
	sim_run_for(sim, SIM_MS(1));
	cr_assert_eq(st(sim, 1)->pp_failed, 1);
	cr_assert_eq(st(sim, 1)->last_pp_failed_us, 200);
	sim_addr(0, &a0);
	swim_send_user(sim_swim(sim, 1), &a0, (const uint8_t *)"n0", 2);
	sim_drain(sim, 1);
	sim_run_for(sim, SIM_MS(1));
	cr_assert_eq(st(sim, 1)->tcp_results, 1);
	cr_assert_eq(st(sim, 1)->tcp_acked, 0);
	cr_assert_eq(st(sim, 1)->last_tcp_us, SIM_MS(1));
	sim_delete(sim);
}

Test(sim, tcp_ping_is_acked_only_for_the_right_name)
{
	struct sim *sim = fake_sim(2, 100);
	struct swim_addr a0;

	sim_addr(0, &a0);
	swim_send_user(sim_swim(sim, 1), &a0, (const uint8_t *)"n0", 2);
	sim_drain(sim, 1);
	sim_run_for(sim, SIM_MS(1));
	cr_assert_eq(st(sim, 1)->tcp_acked, 1);
	cr_assert_eq(st(sim, 1)->last_tcp_us, 200);
	cr_assert_eq(st(sim, 1)->last_tcp_seq, 1);
	swim_send_user(sim_swim(sim, 1), &a0, (const uint8_t *)"n7", 2);
	sim_drain(sim, 1);
	sim_run_for(sim, SIM_MS(1));
	cr_assert_eq(st(sim, 1)->tcp_results, 2);
	cr_assert_eq(st(sim, 1)->tcp_acked, 1);
	sim_delete(sim);
}

Test(sim, blocked_tcp_ping_fails_at_its_deadline)
{
	struct sim *sim = fake_sim(2, 100);
	struct swim_addr a0;

	sim_addr(0, &a0);
	sim_block(sim, 0, 1, SIM_BLOCK_TCP);	/* the reply path only */
	swim_send_user(sim_swim(sim, 1), &a0, (const uint8_t *)"n0", 2);
	sim_drain(sim, 1);
	sim_run_for(sim, SIM_S(2));
	cr_assert_eq(st(sim, 1)->tcp_results, 1);
	cr_assert_eq(st(sim, 1)->tcp_acked, 0);
	cr_assert_eq(st(sim, 1)->last_tcp_us, SIM_S(1));
	sim_delete(sim);
}

Test(sim, wait_status_stops_at_the_moment_it_holds)
{
	struct sim *sim = fake_sim(2, 1000);

	sim_join(sim, 1, 0);
	cr_assert_eq(sim_wait_status(sim, 0, 1, SWIM_STATUS_ALIVE, SIM_S(1)), 0);
	cr_assert_eq(sim_now(sim), 2000);
	cr_assert_eq(sim_status(sim, 0, 1), SWIM_STATUS_ALIVE);
	cr_assert_eq(sim_nb_seeing(sim, 1, SWIM_STATUS_ALIVE), 1);
	cr_assert_eq(sim_wait_fullmesh(sim, 0), 0);
	cr_assert_eq(sim_wait_status(sim, 0, 1, SWIM_STATUS_DEAD, SIM_S(3)), -1);
	cr_assert_eq(sim_now(sim), 2000 + SIM_S(3));
	cr_assert_eq(sim_wait_status(sim, 5, 1, SWIM_STATUS_DEAD, 1), -1);
	sim_delete(sim);
}

Test(sim, restart_drops_the_old_cores_timers)
{
	struct sim *sim = fake_sim(2, 100);

	sim_join(sim, 1, 0);
	sim_run_until(sim, SIM_S(3) + SIM_MS(1));
	cr_assert_eq(st(sim, 0)->rx, 3);
	cr_assert_eq(sim_restart(sim, 1), 0);
	cr_assert(sim_is_up(sim, 1));
	sim_run_for(sim, SIM_S(5));
	cr_assert_eq(st(sim, 0)->rx, 3, "the new core has no seeds to beacon");
	cr_assert_eq(sim_restart(sim, 9), -1);
	sim_delete(sim);
}

static void
run_lossy(uint64_t seed, struct sim_counters *out)
{
	struct swim_cfg cfg;
	struct sim *sim;

	swim_cfg_default_lan(&cfg);
	sim = sim_new(3, &cfg, seed);
	cr_assert(sim != NULL);
	sim_set_latency(sim, 100, 900);
	sim_set_drop(sim, SIM_ANY, SIM_ANY, 50);
	sim_join(sim, 1, 0);
	sim_join(sim, 2, 0);
	sim_join(sim, 0, 2);
	sim_run_for(sim, SIM_S(200));
	*out = *sim_counters(sim);
	sim_delete(sim);
}

Test(sim, same_seed_same_run_other_seed_other_run)
{
	struct sim_counters a, b, c;

	run_lossy(7, &a);
	run_lossy(7, &b);
	run_lossy(8, &c);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_neq(memcmp(&a, &c, sizeof(a)), 0);
}

Test(sim, seed_comes_from_the_environment)
{
	uint64_t dflt;

	unsetenv("GOSSIPD_TEST_SEED");
	dflt = sim_seed_from_env();
	setenv("GOSSIPD_TEST_SEED", "0x10", 1);
	cr_assert_eq(sim_seed_from_env(), 16);
	setenv("GOSSIPD_TEST_SEED", "12junk", 1);
	cr_assert_eq(sim_seed_from_env(), dflt);
	unsetenv("GOSSIPD_TEST_SEED");
}

Test(sim, names_and_addresses_map_to_indices)
{
	struct sim *sim = fake_sim(20, 100);
	struct swim_addr a;

	cr_assert_eq(sim_idx_by_name(sim, "n0", 2), 0);
	cr_assert_eq(sim_idx_by_name(sim, "n19", 3), 19);
	cr_assert_eq(sim_idx_by_name(sim, "n20", 3), -1);
	cr_assert_eq(sim_idx_by_name(sim, "n01", 3), -1);
	cr_assert_eq(sim_idx_by_name(sim, "x1", 2), -1);
	cr_assert_eq(sim_idx_by_name(sim, "n", 1), -1);
	cr_assert_eq(sim_idx_by_name(sim, "n1234567", 8), -1);
	sim_addr(7, &a);
	cr_assert_eq(sim_idx_by_addr(sim, &a), 7);
	a.port = SIM_PORT_BASE + 20;
	cr_assert_eq(sim_idx_by_addr(sim, &a), -1);
	a.port = SIM_PORT_BASE;
	a.ip[3] = 2;
	cr_assert_eq(sim_idx_by_addr(sim, &a), -1);
	sim_delete(sim);
}

Test(sim, sizes_out_of_range_are_refused)
{
	cr_assert_null(sim_new(0, NULL, SEED));
	cr_assert_null(sim_new(SIM_NODES_MAX + 1, NULL, SEED));
}

Test(sim, paused_node_holds_its_inputs_and_replays_them_on_resume)
{
	struct sim *sim = fake_sim(2, 100);

	sim_join(sim, 1, 0);
	sim_run_until(sim, SIM_MS(500));
	sim_pause(sim, 0);
	cr_assert(sim_is_paused(sim, 0));
	cr_assert(sim_is_up(sim, 0));
	sim_run_until(sim, SIM_MS(5500));
	cr_assert_eq(st(sim, 0)->rx, 0);
	sim_resume(sim, 0);
	cr_assert(!sim_is_paused(sim, 0));
	sim_run_for(sim, 0);
	cr_assert_eq(st(sim, 0)->rx, 5);
	cr_assert_eq(st(sim, 0)->last_rx_us, SIM_MS(5500));
	sim_delete(sim);
}

Test(sim, paused_node_lets_tcp_time_out)
{
	struct sim *sim = fake_sim(2, 100);
	struct swim_addr a0;

	sim_pause(sim, 0);
	sim_join(sim, 1, 0);
	sim_addr(0, &a0);
	swim_send_user(sim_swim(sim, 1), &a0, (const uint8_t *)"n0", 2);
	sim_drain(sim, 1);
	sim_run_for(sim, SIM_S(11));
	cr_assert_eq(st(sim, 1)->tcp_results, 1);
	cr_assert_eq(st(sim, 1)->tcp_acked, 0);
	cr_assert_eq(st(sim, 1)->last_tcp_us, SIM_S(1));
	cr_assert_eq(st(sim, 1)->pp_failed, 1);
	cr_assert_eq(st(sim, 1)->last_pp_failed_us, 200 + SIM_S(10));
	cr_assert_eq(st(sim, 0)->merges, 0);
	sim_kill(sim, 0);	/* frees what it held */
	sim_delete(sim);
}

Test(sim, link_delay_adds_to_one_direction)
{
	struct sim *sim = fake_sim(2, 100);

	sim_set_link_delay(sim, 1, 0, 5000);
	sim_join(sim, 1, 0);	/* connect: 100 + 5100 µs */
	sim_join(sim, 0, 1);
	sim_run_until(sim, SIM_S(2));
	cr_assert_eq(st(sim, 0)->last_rx_us, SIM_S(1) + 5100);
	cr_assert_eq(st(sim, 1)->last_rx_us, SIM_S(1) + 100);
	sim_delete(sim);
}
