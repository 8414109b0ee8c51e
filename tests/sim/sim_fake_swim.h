/* SPDX-License-Identifier: MIT */
/**
 * @file
 * What the fake core (sim_fake_swim.c, test_sim only) records, so the
 * simulator's self-tests can check times and counts exactly.
 */
#ifndef SIM_FAKE_SWIM_H_INCLUDED
#define SIM_FAKE_SWIM_H_INCLUDED

#include <stdint.h>

struct swim;

struct sim_fake_stats {
	uint64_t ticks;			/* swim_tick calls */
	uint64_t rx;			/* datagrams received */
	uint64_t last_rx_us;		/* when the latest one arrived */
	uint64_t merges;		/* push/pull streams merged */
	uint64_t pp_failed;		/* swim_push_pull_failed calls */
	uint64_t last_pp_failed_us;
	uint64_t tcp_results;		/* swim_on_tcp_ping_result calls */
	uint64_t tcp_acked;		/* ... with acked */
	uint64_t last_tcp_us;
	uint32_t last_tcp_seq;
	uint32_t tcp_seq;		/* last SeqNo handed out */
	uint64_t now_hint_us;		/* set by the test: TCP ping deadlines */
};

/** The fake core's record. */
struct sim_fake_stats *sim_fake_stats(struct swim *s);

#endif /* SIM_FAKE_SWIM_H_INCLUDED */
