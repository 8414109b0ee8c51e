/* SPDX-License-Identifier: MIT */
/*
 * What every node believes, rebuilt from the events it pops, so waiters
 * can test "everyone sees X as dead" in O(1) after each event instead of
 * querying N tables. A waiter that succeeds on the view double-checks
 * against swim_member_find: a disagreement means the core lost or
 * invented an event, and is counted as a view mismatch.
 */
#include "sim_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sim_view_init(struct sim *sim)
{
	size_t n = sim->nb_nodes;

	sim->view = calloc(n * n, 1);
	sim->seeing = calloc(n * SWIM_STATUS_COUNT, sizeof(*sim->seeing));
	sim->susp = calloc(n, sizeof(*sim->susp));
	return sim->view != NULL && sim->seeing != NULL &&
	       sim->susp != NULL ? 0 : -1;
}

void
sim_view_fini(struct sim *sim)
{
	free(sim->view);
	free(sim->seeing);
	for (size_t i = 0; sim->susp != NULL && i < sim->nb_nodes; i++)
		free(sim->susp[i].m);
	free(sim->susp);
}

/* Add m to observer o's suspect list (out of memory: the cell is then
 * not re-read when cleared, only until its next event). */
static void
sim_susp_add(struct sim *sim, unsigned o, unsigned m)
{
	struct sim_susp *l = &sim->susp[o];

	if (l->nb == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		uint32_t *a = realloc(l->m, cap * sizeof(*a));

		if (a == NULL)
			return;
		l->m = a;
		l->cap = cap;
	}
	l->m[l->nb++] = m;
}

static void
sim_susp_del(struct sim *sim, unsigned o, unsigned m)
{
	struct sim_susp *l = &sim->susp[o];
	uint32_t k;

	for (k = 0; k < l->nb; k++) {
		if (l->m[k] == m) {
			l->m[k] = l->m[--l->nb];
			return;
		}
	}
}

/* Set view[o][m] to v (0 or 1 + status), keeping seeing[] in step. */
static void
sim_view_set(struct sim *sim, unsigned o, unsigned m, uint8_t v)
{
	uint8_t *cell = &sim->view[(size_t)o * sim->nb_nodes + m];
	uint32_t *cnt = &sim->seeing[(size_t)m * SWIM_STATUS_COUNT];

	if (*cell == v)
		return;
	if (sim_is_up(sim, o) && o != m) {
		if (*cell != 0)
			cnt[*cell - 1]--;
		if (v != 0)
			cnt[v - 1]++;
	}
	if (*cell == 1 + SWIM_STATUS_SUSPECT)
		sim_susp_del(sim, o, m);
	if (v == 1 + SWIM_STATUS_SUSPECT)
		sim_susp_add(sim, o, m);
	*cell = v;
	sim->view_dirty = true;
}

void
sim_view_event(struct sim *sim, unsigned node, const struct swim_event *ev)
{
	int m;
	enum swim_status st;

	switch (ev->kind) {
	case SWIM_EV_JOIN:
	case SWIM_EV_UPDATE:
		st = SWIM_STATUS_ALIVE;
		break;
	case SWIM_EV_SUSPECT:
		st = SWIM_STATUS_SUSPECT;
		break;
	case SWIM_EV_LEAVE:
		st = ev->member.status == SWIM_STATUS_LEFT ? SWIM_STATUS_LEFT
							   : SWIM_STATUS_DEAD;
		break;
	case SWIM_EV_USER:
	case SWIM_EV_PING:
	case SWIM_EV_COUNT:
	default:
		return;
	}
	m = sim_idx_by_name(sim, (const char *)ev->member.name.ptr,
			    ev->member.name.len);
	if (m < 0 || (unsigned)m == node)
		return;
	sim_view_set(sim, node, (unsigned)m, (uint8_t)(1 + st));
}

void
sim_view_reset_row(struct sim *sim, unsigned node)
{
	memset(&sim->view[(size_t)node * sim->nb_nodes], 0, sim->nb_nodes);
	sim->susp[node].nb = 0;
	sim->view_dirty = true;
}

/*
 * Node went up (its row counts in seeing[] from now on) or down (no
 * longer): add or take its row's cells, O(n). Call it right after the
 * node's up state changed.
 */
void
sim_view_node_up(struct sim *sim, unsigned node, bool up)
{
	unsigned n = sim->nb_nodes, m;
	const uint8_t *row = &sim->view[(size_t)node * n];

	for (m = 0; m < n; m++) {
		uint32_t *c;

		if (m == node || row[m] == 0)
			continue;
		c = &sim->seeing[(size_t)m * SWIM_STATUS_COUNT + row[m] - 1];
		if (up)
			(*c)++;
		else
			(*c)--;
	}
	sim->view_dirty = true;
}

unsigned
sim_nb_seeing(const struct sim *sim, unsigned member, enum swim_status status)
{
	if (member >= sim->nb_nodes || status >= SWIM_STATUS_COUNT)
		return 0;
	return sim->seeing[(size_t)member * SWIM_STATUS_COUNT + status];
}

/* --- the truth, from the cores' tables --- */

static int
sim_find(struct sim *sim, unsigned observer, unsigned member,
	 struct swim_member_info *info)
{
	char name[16];
	int len;

	if (!sim_is_up(sim, observer) || member >= sim->nb_nodes)
		return -1;
	len = snprintf(name, sizeof(name), "n%u", member);
	return swim_member_find(sim->nodes[observer].swim, name, (size_t)len,
				info);
}

int
sim_status(struct sim *sim, unsigned observer, unsigned member)
{
	struct swim_member_info info;

	if (sim_find(sim, observer, member, &info) != 0)
		return -1;
	return (int)info.status;
}

uint32_t
sim_incarnation(struct sim *sim, unsigned observer, unsigned member)
{
	struct swim_member_info info;

	if (sim_find(sim, observer, member, &info) != 0)
		return 0;
	return info.incarnation;
}

void
sim_view_refresh_suspects(struct sim *sim, unsigned node)
{
	struct sim_susp *l = &sim->susp[node];
	uint32_t k;

	/* Backwards: sim_view_set may swap-remove the current entry. */
	for (k = l->nb; k-- > 0;) {
		unsigned m = l->m[k];
		int st = sim_status(sim, node, m);

		if (st != SWIM_STATUS_SUSPECT)
			sim_view_set(sim, node, m, st < 0 ? 0 : (uint8_t)(1 + st));
	}
}

/* --- waiters --- */

static bool
sim_fullmesh_view(struct sim *sim)
{
	unsigned m;

	for (m = 0; m < sim->nb_nodes; m++) {
		if (sim_is_up(sim, m) &&
		    sim_nb_seeing(sim, m, SWIM_STATUS_ALIVE) != sim->nb_up - 1)
			return false;
	}
	return true;
}

static bool
sim_fullmesh_truth(struct sim *sim)
{
	unsigned o, m;

	for (o = 0; o < sim->nb_nodes; o++) {
		for (m = 0; m < sim->nb_nodes && sim_is_up(sim, o); m++) {
			if (m != o && sim_is_up(sim, m) &&
			    sim_status(sim, o, m) != SWIM_STATUS_ALIVE)
				return false;
		}
	}
	return true;
}

static bool
sim_fullmesh_pred(void *ctx, struct sim *sim)
{
	(void)ctx;
	if (!sim_fullmesh_view(sim))
		return false;
	if (sim_fullmesh_truth(sim))
		return true;
	sim->cnt.view_mismatches++;
	return false;
}

int
sim_wait_fullmesh(struct sim *sim, uint64_t timeout_us)
{
	return sim_wait(sim, sim_fullmesh_pred, NULL, timeout_us);
}

struct sim_status_wait {
	int observer;
	unsigned member;
	enum swim_status status;
};

static bool
sim_status_view(struct sim *sim, const struct sim_status_wait *w)
{
	unsigned want;

	if (w->observer != SIM_ANY)
		return sim->view[(size_t)w->observer * sim->nb_nodes +
				 w->member] == 1 + w->status;
	want = sim->nb_up - (sim_is_up(sim, w->member) ? 1 : 0);
	return sim_nb_seeing(sim, w->member, w->status) == want;
}

static bool
sim_status_truth(struct sim *sim, const struct sim_status_wait *w)
{
	unsigned o;

	if (w->observer != SIM_ANY)
		return sim_status(sim, (unsigned)w->observer, w->member) ==
		       (int)w->status;
	for (o = 0; o < sim->nb_nodes; o++) {
		if (o != w->member && sim_is_up(sim, o) &&
		    sim_status(sim, o, w->member) != (int)w->status)
			return false;
	}
	return true;
}

static bool
sim_status_pred(void *ctx, struct sim *sim)
{
	const struct sim_status_wait *w = ctx;

	if (!sim_status_view(sim, w))
		return false;
	if (sim_status_truth(sim, w))
		return true;
	sim->cnt.view_mismatches++;
	return false;
}

int
sim_wait_status(struct sim *sim, int observer, unsigned member,
		enum swim_status status, uint64_t timeout_us)
{
	struct sim_status_wait w = { observer, member, status };

	if (member >= sim->nb_nodes || status >= SWIM_STATUS_COUNT ||
	    (observer != SIM_ANY &&
	     (observer < 0 || (unsigned)observer >= sim->nb_nodes)))
		return -1;
	return sim_wait(sim, sim_status_pred, &w, timeout_us);
}
