/* SPDX-License-Identifier: MIT */
/*
 * Event coalescing as serf's coalesceLoop runs its two coalescers, with
 * the time passed in:
 *
 * - member events: each member's latest event in the window is kept; at
 *   the flush it is delivered unless it repeats the last event delivered
 *   for that member (same type; for member-update, the same member too).
 *   The delivered ones go out as one event per type, members in the
 *   order they first appeared in the window.
 * - user events with Coalesce: per name only those with the highest
 *   LTime seen in the window (all of them on a tie).
 *
 * A window opens with the first event taken (CoalescePeriod quantum) and
 * every event taken restarts the quiet timer (QuiescentPeriod); whichever
 * fires first flushes. Members are found through an open-addressing
 * table; a member's memory is given back when its member-reap is
 * delivered (serf keeps the name; the next event for it is delivered
 * either way, so nothing changes).
 */
#include "cp_handler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Coalesced user event names per window; more pass through uncoalesced. */
#define CP_HCO_USER_NAMES 256
/* Coalesced user events per window; more pass through uncoalesced. */
#define CP_HCO_USER_EVENTS 1024
#define CP_HCO_NONE (-1)
#define CP_HCO_SLOT_EMPTY 0u
#define CP_HCO_SLOT_TOMB 1u	/* else entry index + 2 */

struct cp_hco_ent {
	char *name;		/* NULL: a free entry */
	uint64_t hash;
	int pending;		/* kind taken in this window, or NONE */
	char *line;		/* its stdin line */
	uint64_t sum;
	int last;		/* kind last delivered, or NONE */
	uint64_t last_sum;
};

struct cp_hco_timer {
	struct cp_hco_cfg cfg;
	uint64_t quantum_us;	/* 0: no window open */
	uint64_t quiet_us;
};

struct cp_hco_user {
	char name[SWIM_NAME_MAX + 1];
	uint64_t ltime;
	struct cp_hevent *head, *tail;	/* events at that LTime */
};

struct cp_hco {
	struct cp_hco_timer mt, ut;
	struct cp_hco_ent *ents;	/* stable indexes */
	uint32_t nb_ents, cap_ents;
	uint32_t *free_ents;		/* indexes of free entries */
	uint32_t nb_free;
	uint32_t *slots;		/* hash table over ents */
	uint32_t cap_slots, used_slots;	/* used includes tombstones */
	uint32_t *order;		/* pending entries, first seen first */
	uint32_t nb_order, cap_order;
	struct cp_hco_user users[CP_HCO_USER_NAMES];
	unsigned nb_users, nb_user_events;
};

void
cp_hco_cfg_agent(struct cp_hco_cfg *member, struct cp_hco_cfg *user)
{
	/* serf's agent (command.go setupSerf), for both coalescers. */
	member->period_us = user->period_us = 3000000;
	member->quiescent_us = user->quiescent_us = 1000000;
}

struct cp_hco *
cp_hco_new(const struct cp_hco_cfg *member, const struct cp_hco_cfg *user)
{
	struct cp_hco *co = calloc(1, sizeof(*co));

	if (co == NULL)
		return NULL;
	co->mt.cfg = *member;
	co->ut.cfg = *user;
	return co;
}

static void
cp_hco_user_clear(struct cp_hco *co)
{
	for (unsigned i = 0; i < co->nb_users; i++)
		while (co->users[i].head != NULL) {
			struct cp_hevent *ev = co->users[i].head;

			co->users[i].head = ev->next;
			free(ev);
		}
	co->nb_users = 0;
	co->nb_user_events = 0;
}

void
cp_hco_delete(struct cp_hco *co)
{
	if (co == NULL)
		return;
	for (uint32_t i = 0; i < co->nb_ents; i++) {
		free(co->ents[i].name);
		free(co->ents[i].line);
	}
	cp_hco_user_clear(co);
	free(co->ents);
	free(co->free_ents);
	free(co->slots);
	free(co->order);
	free(co);
}

static bool
cp_hco_is_on(const struct cp_hco_timer *t)
{
	return t->cfg.period_us > 0 && t->cfg.quiescent_us > 0;
}

/* An event was taken: open the window if needed, restart the quiet. */
static void
cp_hco_timer_take(struct cp_hco_timer *t, uint64_t now_us)
{
	if (t->quantum_us == 0)
		t->quantum_us = now_us + t->cfg.period_us;
	t->quiet_us = now_us + t->cfg.quiescent_us;
}

static uint64_t
cp_hco_timer_due(const struct cp_hco_timer *t)
{
	if (t->quantum_us == 0)
		return UINT64_MAX;
	return t->quantum_us < t->quiet_us ? t->quantum_us : t->quiet_us;
}

/* --- the member table --- */

static uint64_t
cp_hco_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Slot of name, or of the first free slot for it (*found says which). */
static uint32_t
cp_hco_probe(const struct cp_hco *co, const char *name, uint64_t h,
	     bool *found)
{
	uint32_t mask = co->cap_slots - 1, i = (uint32_t)h & mask;
	uint32_t tomb = UINT32_MAX;

	for (;; i = (i + 1) & mask) {
		uint32_t s = co->slots[i];

		if (s == CP_HCO_SLOT_EMPTY) {
			*found = false;
			return tomb != UINT32_MAX ? tomb : i;
		}
		if (s == CP_HCO_SLOT_TOMB) {
			if (tomb == UINT32_MAX)
				tomb = i;
			continue;
		}
		if (co->ents[s - 2].hash == h &&
		    strcmp(co->ents[s - 2].name, name) == 0) {
			*found = true;
			return i;
		}
	}
}

/* Rebuild the table at twice the live entries (at least 64 slots). */
static int
cp_hco_rehash(struct cp_hco *co)
{
	uint32_t live = co->nb_ents - co->nb_free, cap = 64;
	uint32_t *old = co->slots, old_cap = co->cap_slots;
	bool found;

	while (cap < live * 4)
		cap *= 2;
	co->slots = calloc(cap, sizeof(*co->slots));
	if (co->slots == NULL) {
		co->slots = old;
		return -ENOMEM;
	}
	co->cap_slots = cap;
	co->used_slots = 0;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i] >= 2) {
			const struct cp_hco_ent *e = &co->ents[old[i] - 2];

			co->slots[cp_hco_probe(co, e->name, e->hash,
					       &found)] = old[i];
			co->used_slots++;
		}
	free(old);
	return 0;
}

static int
cp_hco_grow(void **v, uint32_t *cap, size_t size)
{
	uint32_t n = *cap * 2 + 16;
	void *p = realloc(*v, n * size);

	if (p == NULL)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* A new entry for name; its index or -ENOMEM. */
static int64_t
cp_hco_ent_new(struct cp_hco *co, const char *name, uint64_t h)
{
	struct cp_hco_ent *e;
	uint32_t idx;

	if (co->nb_free == 0 && co->nb_ents == co->cap_ents) {
		uint32_t cap = co->cap_ents;

		/* free_ents first: it must never be smaller than ents */
		if (cp_hco_grow((void **)&co->free_ents, &cap,
				sizeof(*co->free_ents)) != 0 ||
		    cp_hco_grow((void **)&co->ents, &co->cap_ents,
				sizeof(*co->ents)) != 0)
			return -ENOMEM;
	}
	idx = co->nb_free > 0 ? co->free_ents[--co->nb_free] : co->nb_ents++;
	e = &co->ents[idx];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->hash = h;
	e->pending = e->last = CP_HCO_NONE;
	if (e->name == NULL) {
		co->free_ents[co->nb_free++] = idx;
		return -ENOMEM;
	}
	return idx;
}

/* The entry for name, created when missing. @retval index or -ENOMEM. */
static int64_t
cp_hco_find(struct cp_hco *co, const char *name)
{
	uint64_t h = cp_hco_hash(name);
	bool found;
	uint32_t slot;
	int64_t idx;

	if ((co->used_slots + 1) * 2 > co->cap_slots &&
	    cp_hco_rehash(co) != 0)
		return -ENOMEM;
	slot = cp_hco_probe(co, name, h, &found);
	if (found)
		return co->slots[slot] - 2;
	idx = cp_hco_ent_new(co, name, h);
	if (idx < 0)
		return idx;
	if (co->slots[slot] == CP_HCO_SLOT_EMPTY)
		co->used_slots++;
	co->slots[slot] = (uint32_t)idx + 2;
	return idx;
}

/* Forget a member whose reap was delivered. */
static void
cp_hco_forget(struct cp_hco *co, uint32_t idx)
{
	struct cp_hco_ent *e = &co->ents[idx];
	bool found;
	uint32_t slot = cp_hco_probe(co, e->name, e->hash, &found);

	if (found)
		co->slots[slot] = CP_HCO_SLOT_TOMB;
	free(e->name);
	free(e->line);
	memset(e, 0, sizeof(*e));
	co->free_ents[co->nb_free++] = idx;
}

int
cp_hco_member(struct cp_hco *co, uint64_t now_us, enum serf_event_kind kind,
	      const char *name, const char *line, uint64_t sum)
{
	struct cp_hco_ent *e;
	char *copy;
	int64_t idx;

	if (!cp_hco_is_on(&co->mt) || kind > SERF_EV_MEMBER_REAP)
		return 0;
	copy = strdup(line);
	idx = copy != NULL ? cp_hco_find(co, name) : -ENOMEM;
	if (idx < 0) {
		free(copy);
		return -ENOMEM;
	}
	e = &co->ents[idx];
	if (e->pending == CP_HCO_NONE) {
		if (co->nb_order == co->cap_order &&
		    cp_hco_grow((void **)&co->order, &co->cap_order,
				sizeof(*co->order)) != 0) {
			free(copy);
			return -ENOMEM;
		}
		co->order[co->nb_order++] = (uint32_t)idx;
	}
	free(e->line);
	e->line = copy;
	e->pending = (int)kind;
	e->sum = sum;
	cp_hco_timer_take(&co->mt, now_us);
	return 1;
}

/* serf's nodeEvent.Equal against the last delivered event. */
static bool
cp_hco_repeats(const struct cp_hco_ent *e)
{
	if (e->last != e->pending)
		return false;
	return e->pending != SERF_EV_MEMBER_UPDATE || e->last_sum == e->sum;
}

/* The pending lines of one kind as one event (NULL: none or ENOMEM). */
static struct cp_hevent *
cp_hco_batch(struct cp_hco *co, int kind)
{
	struct cp_hevent *ev;
	size_t len = 0;
	uint32_t nb = 0;

	for (uint32_t i = 0; i < co->nb_order; i++) {
		const struct cp_hco_ent *e = &co->ents[co->order[i]];

		if (e->pending == kind && !cp_hco_repeats(e)) {
			len += strlen(e->line);
			nb++;
		}
	}
	if (nb == 0 || (ev = cp_hevent_new(kind, "", NULL, len)) == NULL)
		return NULL;
	ev->nb_members = nb;
	len = 0;
	for (uint32_t i = 0; i < co->nb_order; i++) {
		const struct cp_hco_ent *e = &co->ents[co->order[i]];
		size_t n = strlen(e->line);

		if (e->pending != kind || cp_hco_repeats(e))
			continue;
		memcpy(ev->in + len, e->line, n);
		len += n;
	}
	return ev;
}

static void
cp_hco_flush_members(struct cp_hco *co, cp_hco_emit_f emit, void *ctx)
{
	for (int k = SERF_EV_MEMBER_JOIN; k <= SERF_EV_MEMBER_REAP; k++) {
		struct cp_hevent *ev = cp_hco_batch(co, k);

		if (ev != NULL)
			emit(ctx, ev);
	}
	for (uint32_t i = 0; i < co->nb_order; i++) {
		uint32_t idx = co->order[i];
		struct cp_hco_ent *e = &co->ents[idx];

		if (!cp_hco_repeats(e)) {
			e->last = e->pending;
			e->last_sum = e->sum;
		}
		e->pending = CP_HCO_NONE;
		free(e->line);
		e->line = NULL;
		if (e->last == SERF_EV_MEMBER_REAP)
			cp_hco_forget(co, idx);
	}
	co->nb_order = 0;
	co->mt.quantum_us = co->mt.quiet_us = 0;
	/* Reaps give entries back: shrink the table now and then. */
	if (co->used_slots > 64 && co->used_slots >
	    4 * (co->nb_ents - co->nb_free) + 64)
		(void)cp_hco_rehash(co);
}

/* --- user events --- */

int
cp_hco_user(struct cp_hco *co, uint64_t now_us, struct cp_hevent *ev)
{
	struct cp_hco_user *u = NULL;

	if (!cp_hco_is_on(&co->ut) || ev->kind != SERF_EV_USER ||
	    !ev->coalesce || co->nb_user_events == CP_HCO_USER_EVENTS)
		return 0;
	for (unsigned i = 0; i < co->nb_users && u == NULL; i++)
		if (strcmp(co->users[i].name, ev->name) == 0)
			u = &co->users[i];
	if (u == NULL) {
		if (co->nb_users == CP_HCO_USER_NAMES)
			return 0;
		u = &co->users[co->nb_users++];
		memcpy(u->name, ev->name, sizeof(u->name));
		u->ltime = ev->ltime;
		u->head = u->tail = NULL;
	}
	cp_hco_timer_take(&co->ut, now_us);
	if (ev->ltime < u->ltime) {
		free(ev);	/* older than the latest: coalesced away */
		return 1;
	}
	if (ev->ltime > u->ltime) {
		while (u->head != NULL) {
			struct cp_hevent *old = u->head;

			u->head = old->next;
			free(old);
			co->nb_user_events--;
		}
		u->ltime = ev->ltime;
	}
	ev->next = NULL;
	if (u->head == NULL)
		u->head = ev;
	else
		u->tail->next = ev;
	u->tail = ev;
	co->nb_user_events++;
	return 1;
}

static void
cp_hco_flush_users(struct cp_hco *co, cp_hco_emit_f emit, void *ctx)
{
	for (unsigned i = 0; i < co->nb_users; i++)
		while (co->users[i].head != NULL) {
			struct cp_hevent *ev = co->users[i].head;

			co->users[i].head = ev->next;
			ev->next = NULL;
			emit(ctx, ev);
		}
	co->nb_users = 0;
	co->nb_user_events = 0;
	co->ut.quantum_us = co->ut.quiet_us = 0;
}

void
cp_hco_flush(struct cp_hco *co, uint64_t now_us, bool force,
	     cp_hco_emit_f emit, void *ctx)
{
	if (co->mt.quantum_us != 0 &&
	    (force || cp_hco_timer_due(&co->mt) <= now_us))
		cp_hco_flush_members(co, emit, ctx);
	if (co->ut.quantum_us != 0 &&
	    (force || cp_hco_timer_due(&co->ut) <= now_us))
		cp_hco_flush_users(co, emit, ctx);
}

uint64_t
cp_hco_next_deadline(const struct cp_hco *co)
{
	uint64_t m = cp_hco_timer_due(&co->mt), u = cp_hco_timer_due(&co->ut);

	return m < u ? m : u;
}

unsigned
cp_hco_nb_members(const struct cp_hco *co)
{
	return co->nb_ents - co->nb_free;
}
