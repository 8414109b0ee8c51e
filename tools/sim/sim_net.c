/* SPDX-License-Identifier: MIT */
/*
 * The simulated network: per-link filters, UDP deliveries through the
 * event heap, and the TCP exchanges (push/pull, TCP ping) run in-process
 * between two cores. TCP obeys blocks and partitions but not random drops,
 * since a real TCP stream retransmits. A killed node refuses connections
 * at once; a blocked or partitioned one lets them time out, as a black
 * hole would.
 */
#include "sim_priv.h"

#include <stdlib.h>
#include <string.h>

int
sim_net_init(struct sim *sim)
{
	int k;

	/* The per-link matrices are n^2: 150 MB at 5,000 nodes. They are
	 * allocated by the first filter that needs one (sim_link_matrix);
	 * whole-pool filters (drop %, groups, pauses) never do. */
	for (k = 0; k < SIM_PP_BUFS; k++) {
		sim->pp_cap[k] = 64 * 1024;
		sim->pp_buf[k] = malloc(sim->pp_cap[k]);
		if (sim->pp_buf[k] == NULL)
			return -1;
	}
	return 0;
}

void
sim_net_fini(struct sim *sim)
{
	free(sim->link_drop);
	free(sim->link_block);
	free(sim->link_delay);
	for (int k = 0; k < SIM_PP_BUFS; k++)
		free(sim->pp_buf[k]);
}

/* The n x n matrix *m of elem-byte cells, allocated zeroed on first use.
 * @retval the matrix, or NULL when out of memory (the filter is lost). */
static void *
sim_link_matrix(struct sim *sim, void **m, size_t elem)
{
	if (*m == NULL)
		*m = calloc((size_t)sim->nb_nodes * sim->nb_nodes, elem);
	return *m;
}

/* --- filters --- */

/* Does the (from, to) selector with SIM_ANY wildcards match a -> b? */
static bool
sim_link_match(int from, int to, unsigned a, unsigned b)
{
	return (from == SIM_ANY || (unsigned)from == a) &&
	       (to == SIM_ANY || (unsigned)to == b);
}

/* Set v on every (from, to) link the wildcards select. */
static void
sim_links_set(struct sim *sim, uint8_t **mp, int from, int to, uint8_t v)
{
	unsigned n = sim->nb_nodes, a, b;
	uint8_t *matrix;

	if (*mp == NULL && v == 0)
		return;	/* clearing a matrix that was never set */
	matrix = sim_link_matrix(sim, (void **)mp, 1);
	if (matrix == NULL)
		return;
	for (a = 0; a < n; a++) {
		for (b = 0; b < n; b++) {
			if (sim_link_match(from, to, a, b))
				matrix[(size_t)a * n + b] = v;
		}
	}
}

void
sim_set_link_delay(struct sim *sim, int from, int to, uint32_t extra_us)
{
	unsigned n = sim->nb_nodes, a, b;
	uint32_t *delay;

	if (sim->link_delay == NULL && extra_us == 0)
		return;
	delay = sim_link_matrix(sim, (void **)&sim->link_delay, sizeof(*delay));
	if (delay == NULL)
		return;
	for (a = 0; a < n; a++) {
		for (b = 0; b < n; b++) {
			if (sim_link_match(from, to, a, b))
				delay[(size_t)a * n + b] = extra_us;
		}
	}
}

void
sim_set_drop(struct sim *sim, int from, int to, unsigned pct)
{
	if (pct > 100)
		pct = 100;
	if (from == SIM_ANY && to == SIM_ANY) {
		sim->drop_pct = pct;
		return;
	}
	sim_links_set(sim, &sim->link_drop, from, to, (uint8_t)pct);
}

void
sim_set_latency(struct sim *sim, uint64_t fixed_us, uint64_t jitter_us)
{
	sim->lat_fixed_us = fixed_us;
	sim->lat_jitter_us = jitter_us;
}

void
sim_block(struct sim *sim, int from, int to, unsigned what)
{
	sim_links_set(sim, &sim->link_block, from, to,
		      (uint8_t)(what & SIM_BLOCK_ALL));
}

void
sim_isolate(struct sim *sim, unsigned i, unsigned what)
{
	sim_block(sim, (int)i, SIM_ANY, what);
	sim_block(sim, SIM_ANY, (int)i, what);
}

void
sim_partition(struct sim *sim, const uint8_t *group)
{
	unsigned i;

	for (i = 0; i < sim->nb_nodes; i++)
		sim->nodes[i].group = group[i];
}

void
sim_heal(struct sim *sim)
{
	unsigned i;

	for (i = 0; i < sim->nb_nodes; i++)
		sim->nodes[i].group = 0;
}

/* Does the link a -> b stop traffic of kind bit (SIM_BLOCK_UDP/TCP)? */
static bool
sim_link_blocked(const struct sim *sim, unsigned a, unsigned b, unsigned bit)
{
	if (sim->nodes[a].group != sim->nodes[b].group)
		return true;
	return sim->link_block != NULL &&
	       (sim->link_block[(size_t)a * sim->nb_nodes + b] & bit) != 0;
}

/* A TCP stream needs both directions. */
static bool
sim_tcp_blocked(const struct sim *sim, unsigned a, unsigned b)
{
	return sim_link_blocked(sim, a, b, SIM_BLOCK_TCP) ||
	       sim_link_blocked(sim, b, a, SIM_BLOCK_TCP);
}

/* One-way delay of a packet a -> b: global fixed + jitter + link extra. */
static uint64_t
sim_latency(struct sim *sim, unsigned a, unsigned b)
{
	uint64_t extra = sim->link_delay == NULL ? 0 :
			 sim->link_delay[(size_t)a * sim->nb_nodes + b];

	return sim->lat_fixed_us + sim_rand_below(sim, sim->lat_jitter_us + 1) +
	       extra;
}

/* A TCP exchange a <-> b: out and back. */
static uint64_t
sim_rtt(struct sim *sim, unsigned a, unsigned b)
{
	return sim_latency(sim, a, b) + sim_latency(sim, b, a);
}

/* --- UDP --- */

static bool
sim_udp_dropped(struct sim *sim, unsigned from, unsigned to)
{
	unsigned pct = sim->drop_pct;
	unsigned link = sim->link_drop == NULL ? 0 :
			sim->link_drop[(size_t)from * sim->nb_nodes + to];

	if (sim_link_blocked(sim, from, to, SIM_BLOCK_UDP))
		return true;
	if (link > pct)
		pct = link;
	return pct > 0 && sim_rand_below(sim, 100) < pct;
}

static void
sim_udp_send(struct sim *sim, unsigned i, const struct swim_output *o)
{
	int j = sim_idx_by_addr(sim, &o->to);
	struct sim_hev ev = { .kind = SIM_HEV_DELIVER, .peer = i };

	sim->cnt.packets_sent++;
	sim->cnt.bytes_sent += o->len;
	if (j < 0 || o->len == 0 || o->len > SWIM_UDP_MAX ||
	    sim_udp_dropped(sim, i, (unsigned)j)) {
		sim->cnt.packets_dropped++;
		return;
	}
	ev.pkt = malloc(o->len);
	if (ev.pkt == NULL) {
		sim->cnt.packets_dropped++;
		return;
	}
	memcpy(ev.pkt, o->data, o->len);
	ev.len = (uint32_t)o->len;
	ev.node = (uint32_t)j;
	ev.at_us = sim->now_us + sim_latency(sim, i, (unsigned)j);
	sim_heap_push(sim, &ev);
}

void
sim_net_deliver(struct sim *sim, struct sim_hev *ev)
{
	struct swim_addr from;
	struct swim *s = sim->nodes[ev->node].swim;

	if (s == NULL) {
		sim->cnt.packets_to_down++;
		return;
	}
	sim->cnt.packets_delivered++;
	sim_addr(ev->peer, &from);
	swim_on_packet(s, sim->now_us, &from, ev->pkt, ev->len, 0);
	sim_node_drain(sim, ev->node);
}

/* --- TCP ping --- */

/* Decide the fate of a TCP ping now and queue its result for i. */
static void
sim_tcp_ping(struct sim *sim, unsigned i, const struct swim_output *o)
{
	int j = sim_idx_by_addr(sim, &o->to);
	uint64_t rtt = j < 0 ? 0 : sim_rtt(sim, i, (unsigned)j);
	struct sim_hev ev = { .kind = SIM_HEV_TCP_PING, .node = i,
			      .gen = sim->nodes[i].gen, .seq_no = o->seq_no,
			      .at_us = sim->now_us };

	sim->cnt.tcp_pings++;
	if (j < 0 || !sim_is_up(sim, (unsigned)j)) {
		ev.flag = false;	/* connection refused */
	} else if (sim_tcp_blocked(sim, i, (unsigned)j) ||
		   sim_is_paused(sim, (unsigned)j) ||
		   sim->now_us + rtt > o->deadline_us) {
		ev.flag = false;	/* black hole: times out */
		if (o->deadline_us > ev.at_us)
			ev.at_us = o->deadline_us;
	} else {
		/* The responder acks only a ping for its own name. */
		ev.flag = strcmp(o->node, sim->nodes[j].cfg.name) == 0;
		ev.at_us += rtt;
	}
	if (!ev.flag)
		sim->cnt.tcp_pings_failed++;
	sim_heap_push(sim, &ev);
}

/* --- push/pull --- */

static void
sim_pp_fail(struct sim *sim, const struct sim_hev *ev, uint64_t at_us)
{
	struct sim_hev f = *ev;

	f.kind = SIM_HEV_PP_FAILED;
	f.at_us = at_us;
	f.pkt = NULL;
	sim->cnt.push_pulls_failed++;
	sim_heap_push(sim, &f);
}

/* Grow scratch k to len bytes. @retval false when out of memory. */
static bool
sim_pp_reserve(struct sim *sim, int k, size_t len)
{
	uint8_t *b;

	if (len <= sim->pp_cap[k])
		return true;
	b = realloc(sim->pp_buf[k], len);
	if (b == NULL)
		return false;
	sim->pp_buf[k] = b;
	sim->pp_cap[k] = len;
	return true;
}

/* The layer's user state of node i (Serf's) into scratch SIM_PP_US. */
static size_t
sim_pp_user_state(struct sim *sim, unsigned i)
{
	size_t len;

	if (sim->layer == NULL || sim->layer->state == NULL)
		return 0;
	len = sim->layer->state(sim, i, sim->pp_buf[SIM_PP_US],
				sim->pp_cap[SIM_PP_US]);
	if (len > sim->pp_cap[SIM_PP_US]) {
		if (!sim_pp_reserve(sim, SIM_PP_US, len))
			return 0;
		len = sim->layer->state(sim, i, sim->pp_buf[SIM_PP_US], len);
	}
	return len;
}

/* Encode node i's side of a push/pull into scratch k. @retval length. */
size_t
sim_pp_encode(struct sim *sim, unsigned i, bool join, int k)
{
	struct swim *s = sim->nodes[i].swim;
	size_t us_len = sim_pp_user_state(sim, i);
	const uint8_t *us = sim->pp_buf[SIM_PP_US];
	size_t len = swim_push_pull_encode(s, join, us, us_len, sim->pp_buf[k],
					   sim->pp_cap[k]);

	if (len > sim->pp_cap[k]) {
		if (!sim_pp_reserve(sim, k, len))
			return 0;
		len = swim_push_pull_encode(s, join, us, us_len,
					    sim->pp_buf[k], len);
	}
	sim->cnt.pp_bytes += len;
	return len;
}

/* Merge scratch k into node i (its user state into the layer, join:
 * the reply to i's own join). @retval true when the whole stream merged. */
bool
sim_pp_merge(struct sim *sim, unsigned i, int k, size_t len, bool join)
{
	struct swim_str us = { NULL, 0 };
	int rc = swim_push_pull_merge(sim->nodes[i].swim, sim->now_us,
				      sim->pp_buf[k], len, &us);

	if (rc < 0 || (size_t)rc != len) {
		sim->cnt.push_pull_merge_errs++;
		return false;
	}
	if (sim->layer != NULL && sim->layer->merge != NULL)
		sim->layer->merge(sim, i, us.ptr, us.len, join);
	return true;
}

/*
 * Run one push/pull, memberlist's order: the initiator sends its state,
 * the responder replies with its own (encoded before it merges), then
 * each side merges the other's.
 */
void
sim_net_push_pull(struct sim *sim, const struct sim_hev *ev)
{
	unsigned i = ev->node, j = ev->peer;
	size_t len_i, len_j;
	bool ok;

	if (sim->nodes[i].swim == NULL || sim->nodes[i].gen != ev->gen)
		return;
	if (j >= sim->nb_nodes || !sim_is_up(sim, j)) {
		sim_pp_fail(sim, ev, sim->now_us);	/* refused */
		return;
	}
	if (sim_tcp_blocked(sim, i, j) || sim_is_paused(sim, j)) {
		sim_pp_fail(sim, ev, sim->now_us +
			    sim->nodes[i].cfg.tcp_timeout_us);
		return;
	}
	if (!ev->flag && sim->sync_f != NULL) {
		/* Another anti-entropy design replaces the periodic sync. */
		ok = sim->sync_f(sim->sync_ctx, sim, i, j);
	} else {
		len_i = sim_pp_encode(sim, i, ev->flag, 0);
		len_j = sim_pp_encode(sim, j, ev->flag, 1);
		if (ev->flag)
			sim->cnt.pp_join_bytes += len_i + len_j;
		if (len_i > 0)
			sim_pp_merge(sim, j, 0, len_i, false);
		ok = len_j > 0 && sim_pp_merge(sim, i, 1, len_j, ev->flag);
	}
	sim_node_drain(sim, j);
	if (!ok) {
		sim_pp_fail(sim, ev, sim->now_us);
		return;
	}
	sim->cnt.push_pulls++;
	if (ev->flag && sim->layer != NULL && sim->layer->joined != NULL)
		sim->layer->joined(sim, i);
	sim_node_drain(sim, i);
}

static void
sim_push_pull_start(struct sim *sim, unsigned i, const struct swim_output *o)
{
	int j = sim_idx_by_addr(sim, &o->to);
	struct sim_hev ev = { .kind = SIM_HEV_PUSH_PULL, .node = i,
			      .gen = sim->nodes[i].gen, .flag = o->join };

	if (j < 0) {
		ev.peer = UINT32_MAX;
		sim_pp_fail(sim, &ev, sim->now_us);
		return;
	}
	ev.peer = (uint32_t)j;
	ev.at_us = sim->now_us + sim_rtt(sim, i, (unsigned)j);	/* connect */
	sim_heap_push(sim, &ev);
}

void
sim_net_output(struct sim *sim, unsigned i, const struct swim_output *o)
{
	switch (o->kind) {
	case SWIM_OUT_PACKET:
		sim_udp_send(sim, i, o);
		break;
	case SWIM_OUT_TCP_PING:
		sim_tcp_ping(sim, i, o);
		break;
	case SWIM_OUT_PUSH_PULL:
		sim_push_pull_start(sim, i, o);
		break;
	}
}

/* --- Serf's reconnect --- */

/* A random member that node i's view has as dead, or -1. */
static int
sim_pick_dead(struct sim *sim, unsigned i)
{
	const uint8_t *row = &sim->view[(size_t)i * sim->nb_nodes];
	unsigned m, nb = 0, k;

	for (m = 0; m < sim->nb_nodes; m++)
		nb += row[m] == 1 + SWIM_STATUS_DEAD;
	if (nb == 0)
		return -1;
	k = (unsigned)sim_rand_below(sim, nb);
	for (m = 0; m < sim->nb_nodes; m++) {
		if (row[m] == 1 + SWIM_STATUS_DEAD && k-- == 0)
			return (int)m;
	}
	return -1;
}

void
sim_net_reconnect(struct sim *sim, const struct sim_hev *ev)
{
	struct sim_hev next = *ev;
	unsigned i;

	if (ev->gen != sim->reconnect_gen || sim->reconnect_us == 0)
		return;
	for (i = 0; i < sim->nb_nodes; i++) {
		int m;

		if (!sim_is_up(sim, i))
			continue;
		m = sim_pick_dead(sim, i);
		if (m >= 0)
			sim_join(sim, i, (unsigned)m);
	}
	next.pkt = NULL;
	next.at_us = sim->now_us + sim->reconnect_us;
	sim_heap_push(sim, &next);
}

/* --- a converged start --- */

void
sim_bootstrap(struct sim *sim)
{
	size_t len;
	unsigned i;

	if (!sim_is_up(sim, 0))
		return;
	for (i = 1; i < sim->nb_nodes; i++) {
		if (!sim_is_up(sim, i))
			continue;
		len = sim_pp_encode(sim, i, true, 1);
		if (len > 0)
			sim_pp_merge(sim, 0, 1, len, false);
		sim_node_drain(sim, 0);
	}
	len = sim_pp_encode(sim, 0, true, 0);
	for (i = 1; i < sim->nb_nodes && len > 0; i++) {
		if (!sim_is_up(sim, i))
			continue;
		sim_pp_merge(sim, i, 0, len, true);
		sim_node_drain(sim, i);
	}
	sim->cnt.pp_bytes = 0;	/* setup, not traffic of the run */
	sim->cnt.pp_join_bytes = 0;
}

void
sim_settle(struct sim *sim)
{
	uint8_t *buf = sim->pp_buf[SIM_PP_US];
	size_t cap = sim->pp_cap[SIM_PP_US];
	unsigned i, nb;

	for (i = 0; i < sim->nb_nodes; i++) {
		struct swim *s = sim->nodes[i].swim;
		uint32_t k;

		/* Each take counts one transmit per item, as a packet
		 * would: the queue empties after about len x limit takes.
		 * Bounded in case an item never retires. */
		for (k = 0; s != NULL && k < (1u << 20) &&
		     swim_broadcast_queue_len(s) > 0; k++) {
			swim_take_piggyback(s, buf, cap, &nb);
			if (nb == 0)
				break;
		}
	}
}
