/* SPDX-License-Identifier: MIT */
/**
 * @file
 * --dp-power: what a DPDK lcore does when a loop turn found no work, after
 * DPDK's l3fwd-power example. off: poll on (the default). backoff: spin
 * DP_IDLE_SPINS turns with rte_pause(), then sleep, doubling the nap from
 * DP_IDLE_NAP_MIN_US up to DP_IDLE_NAP_MAX_US (the most latency it adds
 * to a frame). interrupt: arm the ports' Rx interrupts and sleep in
 * rte_epoll_wait until a frame comes (at most DP_IDLE_INTR_MAX_MS); a
 * port without Rx interrupts (net_memif, net_ring, af_packet) falls back
 * to backoff, with one log line. Either way a sleeping lcore is woken at
 * once by control's tx doorbell (dp_lcore_kick), and it is offline for
 * the link guard (dp_dpdk_link.h) while it sleeps.
 *
 * Owned by one lcore; nothing here is shared.
 */
#ifndef DP_DPDK_IDLE_H_INCLUDED
#define DP_DPDK_IDLE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include <rte_epoll.h>

/** Empty turns spent in rte_pause() before the first sleep. */
#define DP_IDLE_SPINS 512
/** First back-off nap, doubled per empty turn up to the cap. */
#define DP_IDLE_NAP_MIN_US 8
#define DP_IDLE_NAP_MAX_US 1000
/** Longest interrupt sleep (the quit flag is seen this late at most). */
#define DP_IDLE_INTR_MAX_MS 100

struct dp_dpdk_lcore;

/** One lcore's idle state. */
struct dp_dpdk_idle {
	struct dp_dpdk_lcore *dl;	/* the lcore */
	unsigned mode;			/* enum dp_power in effect */
	unsigned nb_empty;		/* empty turns in a row */
	unsigned nap_us;		/* the next back-off nap */
	bool is_armed;			/* interrupt: Rx interrupts on */
	bool has_kick_ev;		/* kick_ev is in the thread's epoll */
	struct rte_epoll_event kick_ev;	/* control's doorbell, interrupt */
	uint64_t nb_naps;		/* sleeps so far (stop log) */
};

/** Set up for the lcore (Rx interrupts when asked); on the lcore. */
void dp_dpdk_idle_init(struct dp_dpdk_idle *id, struct dp_dpdk_lcore *dl);
/** After a loop turn: busy when it moved any frame or datagram. */
void dp_dpdk_idle_turn(struct dp_dpdk_idle *id, bool busy);
/** Undo init's epoll registrations; on the lcore, before it returns. */
void dp_dpdk_idle_fini(struct dp_dpdk_idle *id);

#endif /* DP_DPDK_IDLE_H_INCLUDED */
