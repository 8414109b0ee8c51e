/* SPDX-License-Identifier: MIT */
/*
 * The simulator's clock, event heap and node lifecycle. Everything that
 * happens in a run is a heap event popped in (time, insertion) order, and
 * every random choice comes from one splitmix64 stream seeded by the test:
 * that is what makes a failing seed replayable. Never sleeps, never reads
 * a real clock.
 */
#include "sim_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when GOSSIPD_TEST_SEED is unset: any fixed value will do. */
#define SIM_DEFAULT_SEED 0x5eed6055195ull

uint64_t
sim_seed_from_env(void)
{
	const char *s = getenv("GOSSIPD_TEST_SEED");
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return SIM_DEFAULT_SEED;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return SIM_DEFAULT_SEED;
	return v;
}

/* splitmix64: tiny, full period, good enough to decorrelate nodes. */
static uint64_t
sim_mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t
sim_rand(struct sim *sim)
{
	return sim_mix(&sim->rng);
}

uint64_t
sim_rand_below(struct sim *sim, uint64_t n)
{
	return n == 0 ? 0 : sim_rand(sim) % n;
}

/* --- heap --- */

static bool
sim_hev_before(const struct sim_hev *a, const struct sim_hev *b)
{
	if (a->at_us != b->at_us)
		return a->at_us < b->at_us;
	return a->seq < b->seq;
}

void
sim_heap_push(struct sim *sim, const struct sim_hev *ev)
{
	size_t i;

	if (sim->heap_len == sim->heap_cap) {
		size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 1024;
		struct sim_hev *h = realloc(sim->heap, cap * sizeof(*h));

		if (h == NULL) {
			free(ev->pkt);	/* out of memory: the event is lost */
			return;
		}
		sim->heap = h;
		sim->heap_cap = cap;
	}
	i = sim->heap_len++;
	sim->heap[i] = *ev;
	sim->heap[i].seq = sim->next_seq++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct sim_hev tmp;

		if (!sim_hev_before(&sim->heap[i], &sim->heap[p]))
			break;
		tmp = sim->heap[p];
		sim->heap[p] = sim->heap[i];
		sim->heap[i] = tmp;
		i = p;
	}
}

static void
sim_heap_pop(struct sim *sim, struct sim_hev *out)
{
	size_t i = 0;

	*out = sim->heap[0];
	sim->heap[0] = sim->heap[--sim->heap_len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct sim_hev tmp;

		if (l < sim->heap_len && sim_hev_before(&sim->heap[l], &sim->heap[m]))
			m = l;
		if (r < sim->heap_len && sim_hev_before(&sim->heap[r], &sim->heap[m]))
			m = r;
		if (m == i)
			break;
		tmp = sim->heap[m];
		sim->heap[m] = sim->heap[i];
		sim->heap[i] = tmp;
		i = m;
	}
}

/* --- nodes --- */

void
sim_addr(unsigned i, struct swim_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->ip[0] = 127;
	addr->ip[3] = 1;
	addr->ip_len = 4;
	addr->port = (uint16_t)(SIM_PORT_BASE + i);
}

/* Drop what a paused node held (it is being killed or deleted). */
static void
sim_node_unhold(struct sim_node *n)
{
	uint32_t k;

	for (k = 0; k < n->nb_held; k++)
		free(n->held[k].pkt);
	free(n->held);
	n->held = NULL;
	n->nb_held = n->cap_held = 0;
	n->is_paused = false;
}

/* A per-node, per-restart core seed drawn from the run seed. */
static uint64_t
sim_node_seed(const struct sim *sim, unsigned i)
{
	uint64_t st = sim->seed ^ ((uint64_t)(i + 1) << 20) ^
		      ((uint64_t)sim->nodes[i].nb_restarts << 48);

	return sim_mix(&st);
}

static int
sim_node_start(struct sim *sim, unsigned i)
{
	struct sim_node *n = &sim->nodes[i];
	const char *err = NULL;

	n->cfg.seed = sim_node_seed(sim, i);
	n->swim = swim_new(&n->cfg, &err);
	if (n->swim == NULL) {
		fprintf(stderr, "sim: swim_new(n%u): %s\n", i,
			err ? err : "?");
		return -1;
	}
	n->gen++;
	n->sched_us = UINT64_MAX;
	sim->nb_up++;
	sim_view_reset_row(sim, i);
	sim_view_node_up(sim, i, true);
	if (sim->layer != NULL && sim->layer->start != NULL &&
	    sim->layer->start(sim, i) != 0) {
		fprintf(stderr, "sim: n%u: the layer did not start\n", i);
		return -1;
	}
	sim_node_drain(sim, i);
	return 0;
}

static int
sim_nodes_create(struct sim *sim, const struct swim_cfg *tmpl)
{
	unsigned i;

	sim->nodes = calloc(sim->nb_nodes, sizeof(*sim->nodes));
	if (sim->nodes == NULL)
		return -1;
	for (i = 0; i < sim->nb_nodes; i++) {
		struct sim_node *n = &sim->nodes[i];

		if (tmpl != NULL)
			n->cfg = *tmpl;
		else
			swim_cfg_default_lan(&n->cfg);
		snprintf(n->cfg.name, sizeof(n->cfg.name), "n%u", i);
		sim_addr(i, &n->cfg.addr);
		if (sim_node_start(sim, i) != 0)
			return -1;
	}
	return 0;
}

struct sim *
sim_new_layer(unsigned nb_nodes, const struct swim_cfg *tmpl, uint64_t seed,
	      const struct sim_layer *layer)
{
	struct sim *sim;

	if (nb_nodes == 0 || nb_nodes > SIM_NODES_MAX)
		return NULL;
	sim = calloc(1, sizeof(*sim));
	if (sim == NULL)
		return NULL;
	sim->layer = layer;
	sim->seed = seed;
	sim->rng = seed;
	sim->nb_nodes = nb_nodes;
	/* A LAN-like default: 0.5..1 ms one way. */
	sim->lat_fixed_us = 500;
	sim->lat_jitter_us = 500;
	if (sim_net_init(sim) != 0 || sim_view_init(sim) != 0 ||
	    sim_nodes_create(sim, tmpl) != 0) {
		sim_delete(sim);
		return NULL;
	}
	return sim;
}

struct sim *
sim_new(unsigned nb_nodes, const struct swim_cfg *tmpl, uint64_t seed)
{
	return sim_new_layer(nb_nodes, tmpl, seed, NULL);
}

/* Stop node i's layer and core (kill, delete). */
static void
sim_node_stop(struct sim *sim, unsigned i)
{
	struct sim_node *n = &sim->nodes[i];

	if (n->swim != NULL && sim->layer != NULL && sim->layer->stop != NULL)
		sim->layer->stop(sim, i);
	swim_delete(n->swim);
	n->swim = NULL;
}

void
sim_delete(struct sim *sim)
{
	unsigned i;

	if (sim == NULL)
		return;
	for (i = 0; sim->nodes != NULL && i < sim->nb_nodes; i++) {
		sim_node_unhold(&sim->nodes[i]);
		sim_node_stop(sim, i);
	}
	for (i = 0; i < sim->heap_len; i++)
		free(sim->heap[i].pkt);
	free(sim->heap);
	free(sim->nodes);
	sim_net_fini(sim);
	sim_view_fini(sim);
	if (sim->sync_free != NULL)
		sim->sync_free(sim->sync_ctx);
	free(sim);
}

uint64_t
sim_seed(const struct sim *sim)
{
	return sim->seed;
}

uint64_t
sim_now(const struct sim *sim)
{
	return sim->now_us;
}

unsigned
sim_nb_nodes(const struct sim *sim)
{
	return sim->nb_nodes;
}

struct swim *
sim_swim(struct sim *sim, unsigned i)
{
	return i < sim->nb_nodes ? sim->nodes[i].swim : NULL;
}

bool
sim_is_up(const struct sim *sim, unsigned i)
{
	return i < sim->nb_nodes && sim->nodes[i].swim != NULL;
}

unsigned
sim_nb_up(const struct sim *sim)
{
	return sim->nb_up;
}

const struct sim_counters *
sim_counters(const struct sim *sim)
{
	return &sim->cnt;
}

void
sim_set_event_hook(struct sim *sim, sim_event_f f, void *ctx)
{
	sim->hook = f;
	sim->hook_ctx = ctx;
}

int
sim_idx_by_name(const struct sim *sim, const char *name, size_t len)
{
	unsigned v = 0;
	size_t k;

	if (len < 2 || len > 6 || name[0] != 'n')
		return -1;
	for (k = 1; k < len; k++) {
		if (name[k] < '0' || name[k] > '9')
			return -1;
		v = v * 10 + (unsigned)(name[k] - '0');
	}
	if (len > 2 && name[1] == '0')
		return -1;	/* "n01" is not a node of ours */
	return v < sim->nb_nodes ? (int)v : -1;
}

int
sim_idx_by_addr(const struct sim *sim, const struct swim_addr *addr)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };

	if (addr->ip_len != 4 || memcmp(addr->ip, lo, 4) != 0)
		return -1;
	if (addr->port < SIM_PORT_BASE ||
	    addr->port >= SIM_PORT_BASE + sim->nb_nodes)
		return -1;
	return addr->port - SIM_PORT_BASE;
}

/* --- draining a core after every input --- */

/* Queue a TICK when the core's deadline moved earlier than the queued one. */
static void
sim_node_schedule(struct sim *sim, unsigned i, bool just_ticked)
{
	struct sim_node *n = &sim->nodes[i];
	uint64_t d = swim_next_deadline(n->swim);
	struct sim_hev ev = { .kind = SIM_HEV_TICK, .node = i };

	if (sim->layer != NULL && sim->layer->deadline != NULL) {
		uint64_t ld = sim->layer->deadline(sim, i);

		if (ld < d)
			d = ld;
	}
	if (d <= sim->now_us && just_ticked) {
		/* The core ran every timer due now and still says "now":
		 * count it (a core bug) and step 1 µs so we cannot spin. */
		sim->cnt.stuck_deadlines++;
		d = sim->now_us + 1;
	}
	if (d < sim->now_us)
		d = sim->now_us;
	if (d >= n->sched_us)
		return;
	n->sched_us = d;
	ev.at_us = d;
	ev.gen = n->gen;
	sim_heap_push(sim, &ev);
}

static void
sim_node_events(struct sim *sim, unsigned i)
{
	struct swim_event ev;

	while (sim->nodes[i].swim != NULL &&
	       swim_pop_event(sim->nodes[i].swim, &ev)) {
		int m = -1;

		if (ev.kind < SWIM_EV_COUNT)
			sim->cnt.events_by_kind[ev.kind]++;
		if (ev.kind != SWIM_EV_USER)
			m = sim_idx_by_name(sim, (const char *)ev.member.name.ptr,
					    ev.member.name.len);
		if (sim->hook != NULL)
			sim->hook(sim->hook_ctx, sim, (int)i, m, &ev);
		sim_view_event(sim, i, &ev);
		/* The layer last: it may call the core, which reuses the
		 * event's slices. */
		if (sim->layer != NULL && sim->layer->event != NULL)
			sim->layer->event(sim, i, &ev);
		/* Waiters re-check after any event: hooks count USER too. */
		sim->view_dirty = true;
	}
}

/*
 * Pull everything a core produced: outputs go to the network (copied,
 * since the core reuses its buffer), events to the view and the hook.
 * Then queue its next deadline.
 */
static void
sim_node_drain_ex(struct sim *sim, unsigned i, bool just_ticked)
{
	struct swim_output o;

	if (sim->nodes[i].swim == NULL)
		return;
	while (swim_pop_output(sim->nodes[i].swim, &o))
		sim_net_output(sim, i, &o);
	sim_node_events(sim, i);
	sim_view_refresh_suspects(sim, i);
	sim_node_schedule(sim, i, just_ticked);
}

void
sim_node_drain(struct sim *sim, unsigned i)
{
	sim_node_drain_ex(sim, i, false);
}

/* --- the event loop --- */

static bool
sim_hev_live(const struct sim *sim, const struct sim_hev *ev)
{
	const struct sim_node *n = &sim->nodes[ev->node];

	return n->swim != NULL && n->gen == ev->gen;
}

static void
sim_hev_tick(struct sim *sim, const struct sim_hev *ev)
{
	struct sim_node *n = &sim->nodes[ev->node];

	if (!sim_hev_live(sim, ev))
		return;
	if (ev->at_us == n->sched_us)
		n->sched_us = UINT64_MAX;
	else if (ev->at_us > n->sched_us)
		return;	/* an earlier tick was queued after this one */
	sim->cnt.ticks++;
	swim_tick(n->swim, sim->now_us);
	if (sim->layer != NULL && sim->layer->tick != NULL)
		sim->layer->tick(sim, ev->node);
	sim_node_drain_ex(sim, ev->node, true);
}

static void
sim_hev_report(struct sim *sim, const struct sim_hev *ev)
{
	struct sim_node *n = &sim->nodes[ev->node];
	struct swim_addr to;

	if (!sim_hev_live(sim, ev))
		return;
	if (ev->kind == SIM_HEV_TCP_PING) {
		swim_on_tcp_ping_result(n->swim, sim->now_us, ev->seq_no,
					ev->flag);
	} else {
		sim_addr(ev->peer, &to);
		swim_push_pull_failed(n->swim, sim->now_us, &to, ev->flag);
	}
	sim_node_drain(sim, ev->node);
}

/* Keep an input of a paused node for sim_resume. @retval true if kept. */
static bool
sim_hev_hold(struct sim *sim, struct sim_hev *ev)
{
	struct sim_node *n = &sim->nodes[ev->node];

	if (n->nb_held == n->cap_held) {
		uint32_t cap = n->cap_held ? n->cap_held * 2 : 64;
		struct sim_hev *h;

		if (cap > SIM_HELD_MAX)
			return false;
		h = realloc(n->held, cap * sizeof(*h));
		if (h == NULL)
			return false;
		n->held = h;
		n->cap_held = cap;
	}
	n->held[n->nb_held++] = *ev;
	return true;
}

/* Is this event an input of a node that is paused right now? */
static bool
sim_hev_for_paused(const struct sim *sim, const struct sim_hev *ev)
{
	if (ev->kind == SIM_HEV_RECONNECT || ev->node >= sim->nb_nodes)
		return false;
	return sim->nodes[ev->node].is_paused;
}

/* @retval true when the event kept its packet (held for a paused node). */
static bool
sim_hev_run(struct sim *sim, struct sim_hev *ev)
{
	sim->cnt.events++;
	if (sim_hev_for_paused(sim, ev)) {
		if (ev->kind == SIM_HEV_TICK)
			return false;	/* sim_resume reschedules */
		if (sim_hev_hold(sim, ev))
			return true;
		if (ev->kind == SIM_HEV_DELIVER)
			sim->cnt.packets_dropped++;
		return false;
	}
	switch ((enum sim_hev_kind)ev->kind) {
	case SIM_HEV_DELIVER:
		sim_net_deliver(sim, ev);
		break;
	case SIM_HEV_TICK:
		sim_hev_tick(sim, ev);
		break;
	case SIM_HEV_PUSH_PULL:
		sim_net_push_pull(sim, ev);
		break;
	case SIM_HEV_PP_FAILED:
	case SIM_HEV_TCP_PING:
		sim_hev_report(sim, ev);
		break;
	case SIM_HEV_JOIN:
		if (sim_hev_live(sim, ev))
			sim_join(sim, ev->node, ev->peer);
		break;
	case SIM_HEV_RECONNECT:
		sim_net_reconnect(sim, ev);
		break;
	}
	return false;
}

/* Pop and run one event due by t_us. @retval false when none is due. */
static bool
sim_step(struct sim *sim, uint64_t t_us)
{
	struct sim_hev ev;

	if (sim->heap_len == 0 || sim->heap[0].at_us > t_us)
		return false;
	sim_heap_pop(sim, &ev);
	if (ev.at_us > sim->now_us)
		sim->now_us = ev.at_us;
	if (!sim_hev_run(sim, &ev))
		free(ev.pkt);
	return true;
}

void
sim_run_until(struct sim *sim, uint64_t t_us)
{
	while (sim_step(sim, t_us))
		;
	if (t_us > sim->now_us)
		sim->now_us = t_us;
}

void
sim_run_for(struct sim *sim, uint64_t dt_us)
{
	sim_run_until(sim, sim->now_us + dt_us);
}

int
sim_wait(struct sim *sim, sim_pred_f pred, void *ctx, uint64_t timeout_us)
{
	uint64_t end = sim->now_us + timeout_us;

	if (pred(ctx, sim))
		return 0;
	sim->view_dirty = false;
	while (sim_step(sim, end)) {
		if (!sim->view_dirty)
			continue;
		sim->view_dirty = false;
		if (pred(ctx, sim))
			return 0;
	}
	sim->now_us = end;
	return pred(ctx, sim) ? 0 : -1;
}

/* --- actions --- */

void
sim_drain(struct sim *sim, unsigned i)
{
	if (sim_is_up(sim, i))
		sim_node_drain(sim, i);
}

void
sim_join(struct sim *sim, unsigned i, unsigned seed)
{
	struct swim_addr a;

	if (!sim_is_up(sim, i) || seed >= sim->nb_nodes)
		return;
	sim_addr(seed, &a);
	swim_join(sim->nodes[i].swim, sim->now_us, &a, 1);
	sim_node_drain(sim, i);
}

void
sim_join_all(struct sim *sim, unsigned seed, uint64_t stagger_us)
{
	unsigned i, k = 0;

	for (i = 0; i < sim->nb_nodes; i++) {
		struct sim_hev ev = { .kind = SIM_HEV_JOIN, .node = i,
				      .peer = seed };

		if (i == seed || !sim_is_up(sim, i))
			continue;
		ev.at_us = sim->now_us + (uint64_t)k++ * stagger_us;
		ev.gen = sim->nodes[i].gen;
		sim_heap_push(sim, &ev);
	}
}

void
sim_leave(struct sim *sim, unsigned i)
{
	if (!sim_is_up(sim, i))
		return;
	swim_leave(sim->nodes[i].swim, sim->now_us);
	sim_node_drain(sim, i);
}

void
sim_kill(struct sim *sim, unsigned i)
{
	struct sim_node *n;

	if (!sim_is_up(sim, i))
		return;
	n = &sim->nodes[i];
	sim_node_unhold(n);
	sim_node_stop(sim, i);
	n->gen++;
	n->sched_us = UINT64_MAX;
	sim->nb_up--;
	sim_view_node_up(sim, i, false);
}

void
sim_pause(struct sim *sim, unsigned i)
{
	if (sim_is_up(sim, i))
		sim->nodes[i].is_paused = true;
}

bool
sim_is_paused(const struct sim *sim, unsigned i)
{
	return i < sim->nb_nodes && sim->nodes[i].is_paused;
}

void
sim_resume(struct sim *sim, unsigned i)
{
	struct sim_node *n;
	uint32_t k;

	if (!sim_is_paused(sim, i))
		return;
	n = &sim->nodes[i];
	n->is_paused = false;
	for (k = 0; k < n->nb_held; k++) {
		n->held[k].at_us = sim->now_us;	/* seq keeps their order */
		sim_heap_push(sim, &n->held[k]);
	}
	n->nb_held = 0;
	n->sched_us = UINT64_MAX;
	sim_drain(sim, i);
}

int
sim_restart(struct sim *sim, unsigned i)
{
	if (i >= sim->nb_nodes)
		return -1;
	sim_kill(sim, i);
	sim->nodes[i].nb_restarts++;
	return sim_node_start(sim, i);
}

void
sim_set_sync(struct sim *sim, sim_sync_f f, void *ctx)
{
	if (sim->sync_free != NULL)
		sim->sync_free(sim->sync_ctx);	/* sim_use_dsync's */
	sim->sync_free = NULL;
	sim->sync_f = f;
	sim->sync_ctx = ctx;
}

void
sim_set_reconnect(struct sim *sim, uint64_t interval_us)
{
	struct sim_hev ev = { .kind = SIM_HEV_RECONNECT };

	sim->reconnect_us = interval_us;
	ev.gen = ++sim->reconnect_gen;
	if (interval_us == 0)
		return;
	ev.at_us = sim->now_us + interval_us;
	sim_heap_push(sim, &ev);
}
