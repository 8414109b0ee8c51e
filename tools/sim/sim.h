/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A deterministic simulator for the pure SWIM core: tarantool's fakeev +
 * fakenet rebuilt around swim.h. Owns N struct swim, a virtual clock in µs
 * and one binary heap of events (packet deliveries, node deadlines, TCP
 * exchanges). Never sleeps, never opens a socket, never reads a clock:
 * the same seed gives the same run, bit for bit.
 *
 * Node i is named "n<i>" and listens on 127.0.0.1:(10000 + i). UDP
 * packets cross per-link filters (drop, latency, one-way block,
 * partition groups); TCP push/pull and TCP pings are run in-process
 * between the two cores, subject to the same blocks and partitions but
 * never to random drops (TCP retransmits).
 *
 * Waiters run the clock until a condition holds or a timeout passes and
 * return 0 or -1; sim_now() then says when that was, so a test can assert
 * "not before T and by T + eps".
 */
#ifndef SIM_H_INCLUDED
#define SIM_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "swim.h"

struct sim;
struct serf;

#define SIM_MS(x) ((uint64_t)(x) * 1000ull)
#define SIM_S(x) ((uint64_t)(x) * 1000000ull)

/** Wildcard for a node index: every node (as observer, sender, receiver). */
#define SIM_ANY (-1)
/** Largest cluster the simulator builds. */
#define SIM_NODES_MAX 20000
/** First UDP/TCP port: node i listens on SIM_PORT_BASE + i. */
#define SIM_PORT_BASE 10000

/** What a link block stops: UDP packets, TCP exchanges, or both. */
enum {
	SIM_BLOCK_UDP = 1u << 0,
	SIM_BLOCK_TCP = 1u << 1,
	SIM_BLOCK_ALL = SIM_BLOCK_UDP | SIM_BLOCK_TCP,
};

/** Counters of the simulated network and scheduler, for reports. */
struct sim_counters {
	uint64_t events;		/* heap events processed */
	uint64_t ticks;			/* swim_tick calls */
	uint64_t packets_sent;		/* SWIM_OUT_PACKET popped from up nodes */
	uint64_t packets_dropped;	/* lost to drop %, blocks, partitions */
	uint64_t packets_delivered;	/* handed to swim_on_packet */
	uint64_t packets_to_down;	/* arrived at a killed node */
	uint64_t bytes_sent;		/* payload bytes of packets_sent */
	uint64_t push_pulls;		/* push/pull exchanges completed */
	uint64_t pp_bytes;		/* push/pull stream bytes, both ways */
	uint64_t pp_join_bytes;		/* ... of which joins' (and Serf's
					   reconnects, which are joins) */
	uint64_t push_pulls_failed;	/* refused, blocked or merge error */
	uint64_t push_pull_merge_errs;	/* swim_push_pull_merge < 0: a bug */
	uint64_t tcp_pings;		/* TCP pings requested */
	uint64_t tcp_pings_failed;	/* of which reported failed */
	uint64_t stuck_deadlines;	/* next_deadline <= now right after tick */
	uint64_t view_mismatches;	/* event view disagreed with the table */
	uint64_t events_by_kind[SWIM_EV_COUNT];	/* swim_pop_event by kind */
	uint64_t layer_events;		/* events the layers (Serf) popped */
	uint64_t dsync_runs;		/* delta syncs started (sim_use_dsync) */
	uint64_t dsync_insync;		/* ... that found the tables equal */
	uint64_t dsync_transfers;	/* ... that sent differing leaves */
	uint64_t dsync_errors;		/* ... that failed (then full) */
	uint64_t dsync_fallbacks;	/* full push/pulls in their place */
	uint64_t dsync_bytes;		/* delta messages + restricted pp */
};

/**
 * Called for every membership event a node pops, before the simulator
 * updates its view. member_idx is the member's node index parsed from its
 * name, or -1 (USER events, foreign names).
 */
typedef void (*sim_event_f)(void *ctx, struct sim *sim, int node,
			    int member_idx, const struct swim_event *ev);

/** The seed of this test run: GOSSIPD_TEST_SEED (any strtoull base) or a default. */
uint64_t sim_seed_from_env(void);

/**
 * Create a simulator with nb_nodes cores (1..SIM_NODES_MAX), all up,
 * each knowing only itself. tmpl is the swim_cfg every node starts from
 * (name, addr and seed are filled in per node); NULL means LAN defaults.
 * @retval the simulator, or NULL on a bad argument or allocation failure.
 */
struct sim *sim_new(unsigned nb_nodes, const struct swim_cfg *tmpl,
		    uint64_t seed);
void sim_delete(struct sim *sim);

/**
 * sim_new with the Serf layer (swim/serf/serf.h) over every core, as gossipd
 * runs it: core events feed it, it ticks, and its user state rides on
 * every push/pull; a successful join gossips its join intent.
 */
struct sim *sim_new_serf(unsigned nb_nodes, const struct swim_cfg *tmpl,
			 uint64_t seed);
/** Node i's Serf layer (NULL without one, or while the node is killed). */
struct serf *sim_serf(struct sim *sim, unsigned i);

/**
 * Start from a converged pool, as right after a join storm: node 0 merges
 * every node's push/pull, then every node merges node 0's (user state
 * included). The cores queue their merged alives for gossip, as
 * memberlist does. O(n^2) member merges, no simulated time passes.
 */
void sim_bootstrap(struct sim *sim);
/**
 * Empty every core's broadcast queues without sending anything (each item
 * counted as transmitted until it retires): a pool long past its joins.
 */
void sim_settle(struct sim *sim);

/**
 * Anti-entropy other than memberlist's push/pull: called in place of each
 * periodic (not join) push/pull between i (initiator) and j once the
 * connection is up. @retval true when the exchange succeeded.
 */
typedef bool (*sim_sync_f)(void *ctx, struct sim *sim, unsigned i,
			   unsigned j);
void sim_set_sync(struct sim *sim, sim_sync_f f, void *ctx);

/**
 * Delta sync (swim/core/swim_dsync.h) in place of every periodic push/pull:
 * digests first, then push/pulls of the differing leaves only; a peer
 * without the capability (swim_cfg.vsn_caps) gets a full push/pull.
 * Counted in sim_counters.dsync_*. @retval 0, or -1 out of memory.
 */
int sim_use_dsync(struct sim *sim);

/** The seed this simulator was created with (print it in every assertion). */
uint64_t sim_seed(const struct sim *sim);
/** The virtual clock, µs since the simulator was created. */
uint64_t sim_now(const struct sim *sim);
unsigned sim_nb_nodes(const struct sim *sim);
/** The core of node i (NULL while the node is killed). */
struct swim *sim_swim(struct sim *sim, unsigned i);
/** The node's address: 127.0.0.1:(SIM_PORT_BASE + i). */
void sim_addr(unsigned i, struct swim_addr *addr);
/** Node index for a name "n<i>" or an address; -1 when it is not ours. */
int sim_idx_by_name(const struct sim *sim, const char *name, size_t len);
int sim_idx_by_addr(const struct sim *sim, const struct swim_addr *addr);
bool sim_is_up(const struct sim *sim, unsigned i);
unsigned sim_nb_up(const struct sim *sim);
const struct sim_counters *sim_counters(const struct sim *sim);
/** A draw from the simulator's PRNG (for tests that pick nodes at random). */
uint64_t sim_rand(struct sim *sim);

/** Set the membership event hook (NULL to clear). */
void sim_set_event_hook(struct sim *sim, sim_event_f f, void *ctx);

/* --- running the clock --- */

/** Process every event due up to and including t_us; the clock ends at t_us. */
void sim_run_until(struct sim *sim, uint64_t t_us);
/** sim_run_until(sim, sim_now(sim) + dt_us). */
void sim_run_for(struct sim *sim, uint64_t dt_us);

/** A condition the simulator checks after each event a core pops. */
typedef bool (*sim_pred_f)(void *ctx, struct sim *sim);
/**
 * Run until pred holds (checked once now, then after each heap event
 * in which a core popped a membership event or the view changed) or
 * timeout_us has passed. Conditions on anything else (queue lengths,
 * incarnations) are better polled in steps with sim_run_for.
 * @retval 0 with the clock at the moment it first held, or -1 with the
 * clock at now + timeout_us.
 */
int sim_wait(struct sim *sim, sim_pred_f pred, void *ctx, uint64_t timeout_us);

/**
 * Wait until every up node knows every other up node as alive.
 * @retval 0 or -1 (see sim_wait).
 */
int sim_wait_fullmesh(struct sim *sim, uint64_t timeout_us);

/**
 * Wait until observer (or SIM_ANY: every up node except member) sees
 * member with this status. Checked against the event view, and confirmed
 * with swim_member_find before returning 0. @retval 0 or -1.
 */
int sim_wait_status(struct sim *sim, int observer, unsigned member,
		    enum swim_status status, uint64_t timeout_us);

/**
 * Member's status as observer's core has it (swim_member_find), or -1
 * when the observer is down or does not know the member.
 */
int sim_status(struct sim *sim, unsigned observer, unsigned member);
/** Member's incarnation as observer knows it, 0 when unknown. */
uint32_t sim_incarnation(struct sim *sim, unsigned observer, unsigned member);
/** Up observers (other than member) whose view has member in status. */
unsigned sim_nb_seeing(const struct sim *sim, unsigned member,
		       enum swim_status status);

/* --- actions on nodes --- */

/**
 * Flush node i after a test called its core directly (swim_set_meta,
 * swim_broadcast_user...): send its outputs, pop its events, and queue
 * its next deadline.
 */
void sim_drain(struct sim *sim, unsigned i);

/** Node i joins through node seed (a join push/pull), now. */
void sim_join(struct sim *sim, unsigned i, unsigned seed);
/** Every other node joins through seed, node k at now + k * stagger_us. */
void sim_join_all(struct sim *sim, unsigned seed, uint64_t stagger_us);
/** Graceful leave of node i (swim_leave); the node keeps running. */
void sim_leave(struct sim *sim, unsigned i);
/** Crash node i: it stops processing and sending; TCP to it is refused. */
void sim_kill(struct sim *sim, unsigned i);
/**
 * Freeze node i (a stopped process, a long GC pause): its timers do not
 * run, packets and TCP results addressed to it wait (up to SIM_HELD_MAX,
 * like socket buffers), TCP exchanges it should answer time out. It still
 * counts as up. sim_resume replays what waited, in order, at the current
 * time, and lets its overdue timers fire.
 */
void sim_pause(struct sim *sim, unsigned i);
void sim_resume(struct sim *sim, unsigned i);
bool sim_is_paused(const struct sim *sim, unsigned i);
/** Start a fresh core with node i's name and address (incarnation 1). */
int sim_restart(struct sim *sim, unsigned i);

/**
 * Emulate Serf's reconnect (ReconnectInterval): every interval_us each up
 * node runs a join push/pull with one random member it sees as dead.
 * 0 turns it off (the default: plain memberlist never does this).
 */
void sim_set_reconnect(struct sim *sim, uint64_t interval_us);

/* --- network filters --- */

/**
 * Drop pct percent (0..100) of UDP packets from -> to; SIM_ANY is a
 * wildcard. The effective rate of a packet is the largest one that
 * matches (global, per link).
 */
void sim_set_drop(struct sim *sim, int from, int to, unsigned pct);
/** Every UDP packet takes fixed_us + uniform [0, jitter_us] to arrive. */
void sim_set_latency(struct sim *sim, uint64_t fixed_us, uint64_t jitter_us);
/** Add extra_us one-way delay on from -> to (SIM_ANY ok), UDP and TCP. */
void sim_set_link_delay(struct sim *sim, int from, int to, uint32_t extra_us);
/** Block (what = SIM_BLOCK_*) or unblock (what = 0) from -> to; SIM_ANY ok. */
void sim_block(struct sim *sim, int from, int to, unsigned what);
/** Cut node i off in both directions (what = SIM_BLOCK_*, 0 unblocks). */
void sim_isolate(struct sim *sim, unsigned i, unsigned what);
/**
 * Partition: group[i] is node i's side; nodes of different groups cannot
 * exchange UDP or TCP. sim_heal puts every node back in group 0.
 */
void sim_partition(struct sim *sim, const uint8_t *group);
void sim_heal(struct sim *sim);

/* --- results --- */

/**
 * Print one measured figure, greppable by scripts and the closing note:
 *   "SIM-RESULT <scenario> <key>=<value> <unit> seed=<seed>"
 * to stdout, and appended to $GOSSIPD_SIM_RESULTS when that is set.
 */
void sim_result(const struct sim *sim, const char *scenario, const char *key,
		double value, const char *unit);
/** Print the network counters of a run, prefixed by scenario. */
void sim_print_counters(const struct sim *sim, const char *scenario);

#endif /* SIM_H_INCLUDED */
