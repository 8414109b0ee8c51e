/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The simulator's insides, shared by sim.c (clock, heap, nodes),
 * sim_net.c (filters, UDP, TCP exchanges), sim_view.c (event view,
 * waiters) and sim_report.c. Tests use sim.h only.
 */
#ifndef SIM_PRIV_H_INCLUDED
#define SIM_PRIV_H_INCLUDED

#include "sim.h"

/** What a heap event does when its time comes. */
enum sim_hev_kind {
	SIM_HEV_DELIVER,	/* a UDP packet reaches node */
	SIM_HEV_TICK,		/* node's swim_next_deadline is due */
	SIM_HEV_PUSH_PULL,	/* node (initiator) connects to peer */
	SIM_HEV_PP_FAILED,	/* report a failed push/pull to node */
	SIM_HEV_TCP_PING,	/* report a TCP ping result to node */
	SIM_HEV_JOIN,		/* node joins through peer (staggered joins) */
	SIM_HEV_RECONNECT,	/* Serf's reconnect round over all nodes */
};

/** One heap entry. Ordered by (at_us, seq): seq keeps equal times FIFO. */
struct sim_hev {
	uint64_t at_us;		/* virtual time it fires */
	uint64_t seq;		/* insertion order, tie breaker */
	uint8_t kind;		/* enum sim_hev_kind */
	bool flag;		/* PUSH_PULL/PP_FAILED: join; TCP_PING: acked */
	uint32_t node;		/* receiver / initiator */
	uint32_t peer;		/* sender / responder */
	uint32_t gen;		/* node's generation when scheduled */
	uint32_t seq_no;	/* TCP_PING: the probe's SeqNo */
	uint8_t *pkt;		/* DELIVER: malloc'd datagram, freed on pop */
	uint32_t len;		/* DELIVER: datagram length */
};

/** One simulated node. */
struct sim_node {
	struct swim *swim;	/* NULL while killed */
	struct swim_cfg cfg;	/* what swim_new got; reused by restart */
	uint32_t gen;		/* bumped by kill and restart: stale events die */
	uint32_t nb_restarts;	/* feeds the per-node PRNG seed */
	uint64_t sched_us;	/* earliest TICK in the heap, UINT64_MAX: none */
	uint8_t group;		/* partition side */
	bool is_paused;		/* frozen: inputs are held, not processed */
	struct sim_hev *held;	/* inputs that arrived while paused */
	uint32_t nb_held;
	uint32_t cap_held;
};

/** Inputs a paused node holds (its socket buffers); the rest are lost. */
#define SIM_HELD_MAX 4096

struct sim {
	uint64_t seed;		/* run seed, printed by every assertion */
	uint64_t rng;		/* splitmix64 state */
	uint64_t now_us;	/* virtual clock */
	uint64_t next_seq;	/* heap tie breaker */
	unsigned nb_nodes;
	unsigned nb_up;
	struct sim_node *nodes;	/* [nb_nodes] */

	struct sim_hev *heap;	/* binary min-heap */
	size_t heap_len;
	size_t heap_cap;

	/* Filters. */
	unsigned drop_pct;	/* global UDP drop percent */
	uint8_t *link_drop;	/* [from * n + to] percent */
	uint8_t *link_block;	/* [from * n + to] SIM_BLOCK_* */
	uint32_t *link_delay;	/* [from * n + to] extra µs one way */
	uint64_t lat_fixed_us;
	uint64_t lat_jitter_us;
	uint64_t reconnect_us;	/* 0: off */
	uint32_t reconnect_gen;	/* only the latest reconnect chain runs */

	/* What each node's events say it knows: [observer * n + member],
	 * 0 = unknown, else 1 + enum swim_status. */
	uint8_t *view;
	/* [member * SWIM_STATUS_COUNT + status]: up observers != member
	 * whose view has member in that status. */
	uint32_t *seeing;
	/* [observer]: cells of that row in SUSPECT. memberlist emits no
	 * event when a suspect is cleared (suspect -> alive), so these
	 * cells are re-read from the core after each of its steps. */
	uint32_t *nb_suspect_cells;
	bool view_dirty;	/* a view entry changed since the last check */

	sim_event_f hook;
	void *hook_ctx;

	/* Scratch for push/pull streams, grown on demand. */
	uint8_t *pp_buf[2];
	size_t pp_cap[2];
	struct sim_counters cnt;
};

/* sim.c */
void sim_heap_push(struct sim *sim, const struct sim_hev *ev);
void sim_node_drain(struct sim *sim, unsigned i);
uint64_t sim_rand_below(struct sim *sim, uint64_t n);

/* sim_net.c */
void sim_net_output(struct sim *sim, unsigned i, const struct swim_output *o);
void sim_net_deliver(struct sim *sim, struct sim_hev *ev);
void sim_net_push_pull(struct sim *sim, const struct sim_hev *ev);
void sim_net_reconnect(struct sim *sim, const struct sim_hev *ev);
int sim_net_init(struct sim *sim);
void sim_net_fini(struct sim *sim);

/* sim_view.c */
void sim_view_event(struct sim *sim, unsigned node, const struct swim_event *ev);
void sim_view_reset_row(struct sim *sim, unsigned node);
void sim_view_refresh_suspects(struct sim *sim, unsigned node);
void sim_view_recount(struct sim *sim);
int sim_view_init(struct sim *sim);
void sim_view_fini(struct sim *sim);

#endif /* SIM_PRIV_H_INCLUDED */
