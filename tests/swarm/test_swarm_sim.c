/* SPDX-License-Identifier: MIT */
/*
 * The scenario clock of gossip-swarm: --fail parsing, Lifeguard's
 * suspicion timeout (memberlist-wire.md §11.3 figures), and the simulated
 * pool's detection of one injected failure step by step.
 */
#include <criterion/criterion.h>

#include "swarm.h"

static struct swarm_timing
lan(void)
{
	struct swarm_timing t;

	cr_assert_eq(swarm_timing_profile("lan", &t), 0);
	return t;
}

Test(swarm_sim, parse_fail)
{
	struct swarm_fail_ev ev;

	cr_assert_eq(swarm_parse_fail("10@5", &ev), 0);
	cr_assert_eq(ev.n, 10);
	cr_assert_eq(ev.at_ms, 5000);
	cr_assert_eq(swarm_parse_fail("100@30.25", &ev), 0);
	cr_assert_eq(ev.at_ms, 30250);
	cr_assert_not(ev.after_join);
	cr_assert_eq(swarm_parse_fail("1@0", &ev), 0);
	cr_assert_eq(swarm_parse_fail("100@+70", &ev), 0);
	cr_assert(ev.after_join);
	cr_assert_eq(ev.at_ms, 70000);
	cr_assert_eq(swarm_parse_fail("1@+", &ev), SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_fail("1@+-2", &ev), SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_fail("1@++2", &ev), SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_fail("0@5", &ev), SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_fail("10@-1", &ev), SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_fail("2000000@1", &ev), SWARM_E_RANGE);
	cr_assert_eq(swarm_parse_fail("10", &ev), SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_fail("10@", &ev), SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_fail("@5", &ev), SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_fail("10@5s", &ev), SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_fail("-1@5", &ev), SWARM_E_SYNTAX);
	cr_assert_eq(swarm_parse_fail("1@nan", &ev), SWARM_E_SYNTAX);
}

Test(swarm_sim, profiles)
{
	struct swarm_timing t;

	cr_assert_eq(swarm_timing_profile("wan", &t), 0);
	cr_assert_eq(t.probe_interval_ms, 5000);
	cr_assert_eq(swarm_timing_profile("local", &t), 0);
	cr_assert_eq(t.probe_timeout_ms, 200);
	cr_assert_eq(swarm_timing_profile("lan ", &t), SWARM_E_SYNTAX);
}

Test(swarm_sim, lifeguard_timeouts)
{
	struct swarm_timing t = lan();

	/* §11.3: LAN 4 s up to n = 10, 8 s at 100, 12 s at 1000. */
	cr_assert_eq(swarm_sim_timeout_us(&t, 2, 0), 4000000);
	cr_assert_eq(swarm_sim_k(&t, 2), 0);
	cr_assert_eq(swarm_sim_k(&t, 4), 2);
	cr_assert_eq(swarm_sim_timeout_us(&t, 10, 0), 24000000);
	cr_assert_eq(swarm_sim_timeout_us(&t, 10, 2), 4000000);
	/* 1 confirmation at n = 10: about 11.4 s. */
	cr_assert_eq(swarm_sim_timeout_us(&t, 10, 1) / 100000, 113);
	cr_assert_eq(swarm_sim_timeout_us(&t, 100, 9), 8000000);
	cr_assert_eq(swarm_sim_timeout_us(&t, 1000, 2), 12000000);
	cr_assert_eq(swarm_sim_timeout_us(&t, 10000, 2), 16000000);
	cr_assert_eq(swarm_sim_timeout_us(&t, 0, 0), 4000000);
	cr_assert_float_eq(swarm_sim_predict_s(&t, 1000), 14.0, 1e-9);
}

Test(swarm_sim, one_failure)
{
	struct swarm_timing t = lan();
	struct swarm_fail f;
	uint32_t from = 99;
	uint64_t now = 10000000;
	int suspects = 0;

	/* r = 1: no exponential wait, so the suspect comes 1 PI later. */
	swarm_sim_start(&f, &t, 42, now, 1.0);
	cr_assert_eq(f.t_suspect, now + 1000000);
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, now + 999999, 1.0,
				    0.5, &from), SWARM_SIM_NONE);
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, now + 1000000, 1.0,
				    0.5, &from), SWARM_SIM_SUSPECT);
	cr_assert_neq(from, 42);
	cr_assert_lt(from, 1000);
	/* With r = 1 the confirmations come at once, up to k = 2. */
	for (int k = 0; k < 5; k++)
		suspects += swarm_sim_step(&f, &t, 1000, 1000, now + 1000001,
					   1.0, 0.0, &from) ==
			    SWARM_SIM_SUSPECT;
	cr_assert_eq(suspects, 2);
	cr_assert_eq(from, 0, "a confirmation from another member");
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, now + 12999999, 1.0,
				    0.5, &from), SWARM_SIM_NONE);
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, now + 13000000, 1.0,
				    0.5, &from), SWARM_SIM_DEAD);
	cr_assert_eq(f.t_dead, now + 13000000);
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, now + 99000000, 1.0,
				    0.5, &from), SWARM_SIM_NONE);
}

Test(swarm_sim, no_confirmation_waits_max)
{
	struct swarm_timing t = lan();
	struct swarm_fail f;
	uint32_t from;

	swarm_sim_start(&f, &t, 0, 0, 1.0);
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, 1000000, 1e-300, 0.5,
				    &from), SWARM_SIM_SUSPECT);
	cr_assert_neq(from, 0);
	/* r tiny: the next confirmation is far away; max timeout applies. */
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, 1000000 + 71999999,
				    0.5, 0.5, &from), SWARM_SIM_NONE);
	cr_assert_eq(swarm_sim_step(&f, &t, 1000, 1000, 1000000 + 72000000,
				    0.5, 0.5, &from), SWARM_SIM_DEAD);
}

Test(swarm_sim, percentile)
{
	double v[] = { 5, 1, 4, 2, 3 };

	cr_assert_float_eq(swarm_percentile(v, 5, 50), 3, 1e-12);
	cr_assert_float_eq(swarm_percentile(v, 5, 99), 5, 1e-12);
	cr_assert_float_eq(swarm_percentile(v, 5, 100), 5, 1e-12);
	cr_assert_float_eq(swarm_percentile(v, 5, 0), 1, 1e-12);
	cr_assert_float_eq(swarm_percentile(v, 0, 50), 0, 1e-12);
}
