/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The control loop's timer slack and its wakeup counters (cp_loop.c).
 *
 * Every wakeup of an idle node costs far more in the kernel (a context
 * switch, about 50-100 us on a paravirtualised VM) than the work it does,
 * so the loop tells its timers apart:
 *
 *  - strict: the protocol's and whatever a peer or a user waits on (the
 *    core's probe, ack timeout, suspicion and gossip; TCP streams; the
 *    snapshot while gossip is queued; event handlers; retry-join; the
 *    leave; a Serf query we started). The loop wakes exactly for them.
 *  - lax: housekeeping (the Serf layer's reaps and reconnects while no
 *    query of ours is out, the agent's snapshot and tags file, metrics,
 *    the drop-counter check). Each may run up to its slack late, as
 *    Linux's timer slack and Go's timer coalescing allow: on the first
 *    wakeup after it is due, which a node with peers has anyway (its
 *    probe, once per probe interval), and it wakes the loop itself only
 *    when nothing else did by due + slack. A lax timer never runs early
 *    (each tick still compares with its own due time) and never later
 *    than due + slack.
 *
 * Control thread only.
 */
#ifndef CP_LOOP_H_INCLUDED
#define CP_LOOP_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

struct cp;

/**
 * The latest time a lax timer due at due_us may run: due_us + slack_us,
 * UINT64_MAX for a timer that is not armed (or would overflow).
 */
uint64_t cp_loop_lax_us(uint64_t due_us, uint64_t slack_us);

/**
 * Slack of the Serf, agent and metrics timers: one probe interval of the
 * profile, so that they ride on the probe's wakeup (1 s on LAN).
 */
uint64_t cp_loop_slack_us(const struct cp *cp);

/** The earliest strict deadline; UINT64_MAX: none. */
uint64_t cp_loop_strict_deadline(const struct cp *cp);
/** The earliest due + slack of the lax timers; UINT64_MAX: none. */
uint64_t cp_loop_lax_deadline(const struct cp *cp);

/** Does a Serf query we started still wait for its deadline (strict)? */
bool cp_serf_has_query(const struct cp *cp);

/** What the loop did, since the process started; monotonic. */
struct cp_loop_stats {
	uint64_t nb_turns;	/* cp_loop_once calls that waited */
	uint64_t nb_timeouts;	/* waits that ended on their deadline (or
				 * a signal): a timer woke the loop */
	uint64_t nb_events;	/* waits that ended on an fd */
};

/** Copy the counters (all daemons of the process: one in gossipd). */
void cp_loop_get_stats(struct cp_loop_stats *st);

#endif /* CP_LOOP_H_INCLUDED */
