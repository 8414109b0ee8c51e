/* SPDX-License-Identifier: MIT */
/*
 * The Serf layer's member table: members sized to their content and
 * found by name in O(1) (swim_index, grown incrementally: no insert
 * rehashes the whole table, 0.5 s at 786,432 members before; an
 * unfinished move is stepped by ticks and member events, see
 * serf_table_step), counts by status kept as statuses
 * change (no scans for stats, alive peers or reconnect odds), and one
 * min-heap of deadlines about members (reap after ReconnectTimeout or
 * TombstoneTimeout, erase of a pruned member), so the timers cost
 * O(log n) per member that is due and nothing per tick otherwise.
 *
 * An erased member leaves the index at once; its memory waits until no
 * heap entry points at it (refs), so nothing ever dangles.
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 */
#include "serf_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *
serf_member_key(const void *e, size_t *len)
{
	const struct serf_member *m = e;

	return swim_member_name(m->node, len);
}

int
serf_table_init(struct serf *serf)
{
	serf->tag_scratch = malloc(sizeof(*serf->tag_scratch));
	if (serf->tag_scratch == NULL)
		return -ENOMEM;
	serf->tag_scratch->nb = 0;
	swim_slab_init(&serf->slab);
	if (swim_index_init(&serf->index, serf_member_key) != 0)
		return -ENOMEM;
	/* Readers of the index go through find/next/slot, never `slots`. */
	swim_index_set_incremental(&serf->index);
	return 0;
}

void
serf_table_step(struct serf *serf, uint32_t budget)
{
	swim_index_step(&serf->index, budget);
}

static void
serf_member_free(struct serf *serf, struct serf_member *m)
{
	swim_member_release(m->node);
	free(m->coord);
	swim_slab_free(&serf->slab, m, sizeof(*m));
}

void
serf_table_free(struct serf *serf)
{
	uint32_t pos = 0;
	struct serf_member *m;

	/* Members already erased are only reachable from the heap. */
	for (uint32_t i = 0; i < serf->nb_due; i++) {
		m = serf->due[i].m;
		if (--m->refs == 0 && (m->flags & SERF_MF_GONE))
			serf_member_free(serf, m);
	}
	while ((m = swim_index_next(&serf->index, &pos)) != NULL)
		serf_member_free(serf, m);
	swim_index_destroy(&serf->index);
	swim_slab_destroy(&serf->slab);
	free(serf->due);
	free(serf->tag_scratch);
	serf->due = NULL;
	serf->nb_due = serf->cap_due = 0;
}

struct serf_member *
serf_member_get(const struct serf *serf, const uint8_t *name, size_t len)
{
	if (name == NULL || len == 0 || len > SWIM_NAME_MAX)
		return NULL;
	return swim_index_find(&serf->index, (const char *)name, len);
}

struct serf_member *
serf_member_add(struct serf *serf, const struct swim_member *node)
{
	size_t len;

	if (node == NULL)
		return NULL;
	const char *name = swim_member_name(node, &len);
	if (len == 0 || len > SWIM_NAME_MAX ||
	    swim_index_find(&serf->index, name, len) != NULL)
		return NULL;
	struct serf_member *m = swim_slab_alloc(&serf->slab, sizeof(*m));
	if (m == NULL)
		return NULL;
	if (!swim_member_hold(node)) {
		swim_slab_free(&serf->slab, m, sizeof(*m));
		return NULL;
	}
	m->node = node;
	m->status = SERF_STATUS_NONE;
	if (swim_index_insert(&serf->index, m) != 0) {
		serf_member_free(serf, m);
		return NULL;
	}
	serf->nb_status[SERF_STATUS_NONE]++;
	if (serf_name_eq(&serf->self, name, len))
		serf->self_member = m;
	return m;
}

void
serf_member_set_node(struct serf *serf, struct serf_member *m,
		     const struct swim_member *node)
{
	(void)serf;
	/* Same name, so the index slot stays right; hold before release. */
	if (node == NULL || node == m->node || !swim_member_hold(node))
		return;
	swim_member_release(m->node);
	m->node = node;
}

void
serf_member_view(const struct serf *serf, const struct serf_member *m,
		 struct swim_member_info *info)
{
	swim_member_view(m->node, info);
	if (m == serf->self_member) {
		/* Our tags are ours, whatever the core's Meta says yet. */
		info->meta = (struct swim_str){ serf->self_meta,
						serf->self_meta_len };
	}
}

void
serf_member_set_status(struct serf *serf, struct serf_member *m,
		       enum serf_member_status st)
{
	if (st >= SERF_STATUS_COUNT || m->status == st)
		return;
	serf->nb_status[m->status]--;
	serf->nb_status[st]++;
	m->status = (uint8_t)st;
}

const struct serf_tagset *
serf_member_tags(const struct serf *serf, const struct serf_member *m)
{
	struct serf_tagset *ts = serf->tag_scratch;
	struct serf_tag tmp[SERF_TAGS_MAX];
	struct swim_member_info info;

	if (m == serf->self_member)
		return &serf->self_tags;
	ts->nb = 0;
	swim_member_view(m->node, &info);
	int nb = serf_msg_decode_tags(info.meta.ptr, info.meta.len, tmp,
				      SERF_TAGS_MAX);
	if (nb < 0)
		return ts;	/* undecodable Meta gives no tags (as Go) */
	if (nb > SERF_TAGS_MAX)
		nb = SERF_TAGS_MAX;
	if (serf_tagset_set(ts, tmp, (uint32_t)nb) != 0)
		ts->nb = 0;
	return ts;
}

/** eraseNode: forget a member and say so (member-reap). */
void
serf_member_erase(struct serf *serf, struct serf_member *m)
{
	if (m->flags & SERF_MF_GONE)
		return;
	if (serf->pp_enc_busy != 0) {
		/* A streamed push/pull walks the table: erase once it ends. */
		m->flags |= SERF_MF_PRUNE;
		serf_due_push(serf, m, SERF_DUE_PRUNE, 0);
		return;
	}
	serf_member_event(serf, SERF_EV_MEMBER_REAP, m);
	swim_index_remove(&serf->index, m);
	serf->nb_status[m->status]--;
	if (m == serf->self_member)
		serf->self_member = NULL;
	m->flags |= SERF_MF_GONE;
	if (m->refs == 0)
		serf_member_free(serf, m);
}

/* --- the deadline heap --- */

static bool
due_less(const struct serf_due *a, const struct serf_due *b)
{
	return a->at < b->at;
}

static void
due_swap(struct serf_due *v, uint32_t i, uint32_t j)
{
	struct serf_due t = v[i];

	v[i] = v[j];
	v[j] = t;
}

static void
due_down(struct serf_due *v, uint32_t nb, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1;
		uint32_t min = i;
		if (l < nb && due_less(&v[l], &v[min]))
			min = l;
		if (l + 1 < nb && due_less(&v[l + 1], &v[min]))
			min = l + 1;
		if (min == i)
			return;
		due_swap(v, i, min);
		i = min;
	}
}

int
serf_due_push(struct serf *serf, struct serf_member *m, uint32_t kind,
	      uint64_t at)
{
	if (m->refs == UINT16_MAX)
		return -ENOSPC;	/* a member re-armed 65535 times: keep old */
	if (serf_grow((void **)&serf->due, &serf->cap_due, serf->nb_due,
		      sizeof(*serf->due)) != 0)
		return -ENOMEM;
	uint32_t i = serf->nb_due++;
	serf->due[i] = (struct serf_due){ at, m, m->leave_time_us, kind };
	m->refs++;
	while (i > 0 && due_less(&serf->due[i], &serf->due[(i - 1) / 2])) {
		due_swap(serf->due, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

uint64_t
serf_due_next(const struct serf *serf)
{
	if (serf->pp_enc_busy != 0)
		return UINT64_MAX;	/* frozen: see serf_due_run */
	return serf->nb_due > 0 ? serf->due[0].at : UINT64_MAX;
}

/** Reap timeout of a member by status; UINT64_MAX when it is not due. */
static uint64_t
due_timeout(const struct serf *serf, const struct serf_member *m)
{
	if (m->status == SERF_STATUS_FAILED)
		return serf->cfg.reconnect_timeout_us;
	if (m->status == SERF_STATUS_LEFT)
		return serf->cfg.tombstone_timeout_us;
	return UINT64_MAX;
}

/* A reap entry: still about the same failure, and its time has come? */
static void
due_reap(struct serf *serf, uint64_t now_us, const struct serf_due *d)
{
	struct serf_member *m = d->m;
	uint64_t timeout = due_timeout(serf, m);

	if (m->leave_time_us != d->stamp || timeout == UINT64_MAX)
		return;		/* back alive, or failed again later */
	if (now_us - m->leave_time_us > timeout) {
		serf_member_erase(serf, m);
		return;
	}
	/* Its status changed (failed -> left): wait for the new timeout. */
	serf_due_push(serf, m, SERF_DUE_REAP, m->leave_time_us + timeout + 1);
}

static void
due_fire(struct serf *serf, uint64_t now_us, const struct serf_due *d)
{
	if (d->m->flags & SERF_MF_GONE)
		return;
	if (d->kind == SERF_DUE_PRUNE) {
		if (d->m->flags & SERF_MF_PRUNE)
			serf_member_erase(serf, d->m);
		return;
	}
	due_reap(serf, now_us, d);
}

void
serf_due_run(struct serf *serf, uint64_t now_us)
{
	/* A growth the inserts left unfinished ends over a few ticks. */
	serf_table_step(serf, SERF_INDEX_TICK_STEP);
	/* A streamed push/pull sends the members it sized: reaps and
	 * prunes wait for its end (seconds against a day's timeouts). */
	if (serf->pp_enc_busy != 0)
		return;
	while (serf->nb_due > 0 && serf->due[0].at <= now_us) {
		struct serf_due d = serf->due[0];
		serf->due[0] = serf->due[--serf->nb_due];
		due_down(serf->due, serf->nb_due, 0);
		due_fire(serf, now_us, &d);
		if (--d.m->refs == 0 && (d.m->flags & SERF_MF_GONE))
			serf_member_free(serf, d.m);
	}
}

/** Arm the reap of a member that just failed or left. */
void
serf_member_arm_reap(struct serf *serf, struct serf_member *m)
{
	uint64_t timeout = due_timeout(serf, m);

	if (timeout == UINT64_MAX)
		return;
	uint64_t at = m->leave_time_us + timeout + 1;
	serf_due_push(serf, m, SERF_DUE_REAP,
		      at < m->leave_time_us ? UINT64_MAX : at);
}

/* --- sampling --- */

/**
 * A random member accepted by filter, from up to tries random slots of
 * the index (memberlist's kRandomNodes bound: never a walk of the table).
 * While the index grows it has two tables; a slot drawn uniformly over
 * both gives every member the same chance per draw (each one is in one
 * slot of one table), only more draws land on empty slots meanwhile.
 */
struct serf_member *
serf_member_random(struct serf *serf, uint32_t tries,
		   bool (*filter)(const struct serf *, const struct serf_member *))
{
	const struct swim_index *x = &serf->index;
	uint32_t nb_slots = swim_index_nb_slots(x);

	if (x->nb == 0 || nb_slots == 0)
		return NULL;
	for (uint32_t i = 0; i < tries; i++) {
		uint32_t at = (uint32_t)(serf_rand(serf) % nb_slots);
		struct serf_member *m = swim_index_slot(x, at);
		if (m != NULL && (filter == NULL || filter(serf, m)))
			return m;
	}
	return NULL;
}
