/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Helpers shared by the scenario tests: seeded assertions, a cluster that
 * has converged, and a tracker that timestamps what every node's events
 * say about every member (first suspicion, first death, false positives).
 * Scenarios use the sim_ API only; nothing here sleeps.
 */
#ifndef SC_H_INCLUDED
#define SC_H_INCLUDED

#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "sim.h"

/** printf into a static buffer, for assertion messages. */
const char *sc_fmt(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/** cr_assert whose message always carries the seed that replays the run. */
#define sc_assert(sim, cond, ...)                                            \
	cr_assert((cond), "[GOSSIPD_TEST_SEED=%" PRIu64 "] %s",              \
		  sim_seed(sim), sc_fmt(__VA_ARGS__))

/** Per-member record of what the nodes' events said. */
struct sc_member_track {
	uint64_t first_suspect_us;	/* UINT64_MAX: never */
	uint64_t first_dead_us;		/* LEAVE with status dead */
	uint64_t first_left_us;		/* LEAVE with status left */
	uint32_t nb_suspect;		/* SUSPECT events, all observers */
	uint32_t nb_dead;
	uint32_t nb_left;
	uint32_t nb_false_suspect;	/* ... while the member was up */
	uint32_t nb_false_dead;		/* ... while the member was up */
	uint64_t first_update_us;	/* first UPDATE event after arming */
	uint64_t last_update_us;	/* when the last observer saw it */
	uint32_t nb_update;		/* observers that saw an UPDATE */
	uint64_t first_user_us;		/* first USER event received by it */
	uint32_t nb_user;		/* USER events this node received */
};

struct sc_track {
	unsigned nb_nodes;
	struct sc_member_track *m;	/* [nb_nodes] */
	uint64_t false_suspects;	/* sums over members */
	uint64_t false_deads;
	uint64_t leaves_as_dead;	/* dead about a node that had left */
	/* Most up observers that had one up member dead at the same time:
	 * 1 means every false death stayed local to its accuser. */
	uint32_t max_false_dead_observers;
	uint8_t *update_seen;		/* [observer * n + member] */
	uint8_t *has_left;		/* [member]: sc_track_left() called */
	/* Serf re-broadcasts a user event the first time it sees it
	 * (handleUserEvent); memberlist alone does not. */
	bool rebroadcast_user;
	/* GOSSIPD_SIM_TRACE=<i>: print every event about member i. */
	int trace_member;
};

/** Attach a fresh tracker to sim's event hook. */
void sc_track_init(struct sc_track *t, struct sim *sim);
void sc_track_fini(struct sc_track *t);
/** Forget what was recorded so far (e.g. after the cluster formed). */
void sc_track_reset(struct sc_track *t);
/** Mark member as having left on purpose (its dead events are then bad). */
void sc_track_left(struct sc_track *t, unsigned member);
/** Nodes (other than src) that received at least one USER message. */
unsigned sc_track_nb_user(const struct sc_track *t, unsigned src);

/**
 * A converged cluster: nb nodes from tmpl (NULL: LAN), every node joins
 * node 0 stagger_us apart, then the run waits for a full mesh (asserted).
 */
struct sim *sc_cluster(unsigned nb, const struct swim_cfg *tmpl,
		       uint64_t stagger_us, uint64_t timeout_us);

/** Run in steps of step_us until pred holds. @retval 0 or -1. */
int sc_wait_poll(struct sim *sim, sim_pred_f pred, void *ctx,
		 uint64_t step_us, uint64_t timeout_us);

/** Every up node's broadcast queue is empty. */
bool sc_queues_empty(void *ctx, struct sim *sim);

/** Print up to max_lines (observer, member) pairs that are not alive. */
void sc_dump_mesh(struct sim *sim, unsigned max_lines);

/** Lifeguard's suspicion timeouts for a cluster of n (§11.3), in µs. */
uint64_t sc_suspicion_min_us(const struct swim_cfg *cfg, unsigned n);
uint64_t sc_suspicion_max_us(const struct swim_cfg *cfg, unsigned n);

#endif /* SC_H_INCLUDED */
