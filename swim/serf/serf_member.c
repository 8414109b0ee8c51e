/* SPDX-License-Identifier: MIT */
/*
 * Serf members: how their status follows from memberlist signals and from
 * join/leave intents (serf 0.9.4 serf.go), their tags, and intents about
 * names not known yet.
 *
 *   memberlist join    new/dead/left -> alive (a buffered leave intent
 *                      newer than any join makes it leaving)
 *   memberlist update  tags, address, versions refreshed
 *   memberlist leave   leaving -> left, alive -> failed
 *   leave intent       alive -> leaving, failed -> left (forced);
 *                      only if its LTime > the member's status LTime
 *   join intent        leaving -> alive; records the status LTime
 *   reap (serf.c)      failed after ReconnectTimeout, left after
 *                      TombstoneTimeout: erased (member-reap)
 *
 * Intents about names we do not know yet are kept (newest per name) for
 * RecentIntentTimeout and applied when memberlist reports the join.
 * A leave intent about ourselves while we are alive is refuted with a
 * join intent at our current member clock.
 *
 * Must never: touch sockets, read a clock, log, or call rand().
 */
#include "serf_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- tags --- */

/** Copy tags into a tagset with NUL-terminated strings. */
int
serf_tagset_set(struct serf_tagset *ts, const struct serf_tag *tags,
		uint32_t nb)
{
	size_t used = 0;

	if (nb > SERF_TAGS_MAX)
		return -EMSGSIZE;
	for (uint32_t i = 0; i < nb; i++) {
		size_t need = tags[i].key_len + tags[i].value_len + 2;
		if (used + need > sizeof(ts->strs))
			return -EMSGSIZE;
		char *k = ts->strs + used;
		memcpy(k, tags[i].key, tags[i].key_len);
		k[tags[i].key_len] = '\0';
		char *v = k + tags[i].key_len + 1;
		if (tags[i].value_len > 0)	/* an empty value may be NULL */
			memcpy(v, tags[i].value, tags[i].value_len);
		v[tags[i].value_len] = '\0';
		ts->tags[i] = (struct serf_tag){ k, v, tags[i].key_len,
						 tags[i].value_len };
		used += need;
	}
	ts->nb = nb;
	return 0;
}

void
serf_tagset_copy(struct serf_tagset *dst, const struct serf_tagset *src)
{
	if (dst == src)
		return;
	memcpy(dst->strs, src->strs, sizeof(dst->strs));
	dst->nb = src->nb;
	for (uint32_t i = 0; i < src->nb; i++) {
		dst->tags[i] = src->tags[i];
		/* Rebase: the strings live in the tagset itself. */
		dst->tags[i].key = dst->strs + (src->tags[i].key - src->strs);
		dst->tags[i].value = dst->strs +
				     (src->tags[i].value - src->strs);
	}
}

int
serf_tags_encode(const struct serf_tag *tags, uint32_t nb, uint8_t *out,
		 size_t cap)
{
	int rc = serf_msg_encode_tags(tags, nb, out, cap);

	return rc < 0 ? -EMSGSIZE : rc;
}

/* --- members --- */

const struct swim_member *
serf_node_of(const struct serf *serf, const struct swim_member_info *info)
{
	struct swim_member_info cur;

	if (info->handle != NULL)
		return info->handle;
	/* An event built by hand: the core's record by that name. */
	if (info->name.ptr == NULL ||
	    swim_member_find(serf->swim, (const char *)info->name.ptr,
			     info->name.len, &cur) != 0)
		return NULL;
	return cur.handle;
}

/** Fill a member event from the member as it is now. */
void
serf_member_event(struct serf *serf, enum serf_event_kind kind,
		  const struct serf_member *m)
{
	struct serf_event *ev = serf_event_next(serf, kind);
	struct swim_member_info info;

	if (ev == NULL)
		return;
	serf_member_view(serf, m, &info);
	if (!serf_event_set_name(ev, &info.name) ||
	    info.meta.len > SWIM_META_MAX) {
		serf_event_drop_last(serf);
		return;
	}
	ev->addr = info.addr;
	ev->status = (enum serf_member_status)m->status;
	if (info.meta.len > 0)
		memcpy(ev->meta, info.meta.ptr, info.meta.len);
	ev->meta_len = info.meta.len;
	memcpy(ev->vsn, info.vsn, SWIM_VSN_LEN);
	ev->incarnation = info.incarnation;
}

/* --- recent intents --- */

static const char *
intent_key(const void *e, size_t *len)
{
	const struct serf_intent *in = e;

	*len = in->name_len;
	return in->name;
}

int
serf_intents_init(struct serf *serf)
{
	return swim_index_init(&serf->intent_index, intent_key) != 0 ?
	       -ENOMEM : 0;
}

static struct serf_intent *
intent_find(struct serf *serf, const uint8_t *name, size_t len)
{
	if (name == NULL || len == 0 || len > SWIM_NAME_MAX)
		return NULL;
	return swim_index_find(&serf->intent_index, (const char *)name, len);
}

static void
intent_unlink(struct serf *serf, struct serf_intent *in)
{
	if (in->prev != NULL)
		in->prev->next = in->next;
	else
		serf->intent_head = in->next;
	if (in->next != NULL)
		in->next->prev = in->prev;
	else
		serf->intent_tail = in->prev;
	in->prev = in->next = NULL;
}

static void
intent_append(struct serf *serf, struct serf_intent *in)
{
	in->next = NULL;
	in->prev = serf->intent_tail;
	if (serf->intent_tail != NULL)
		serf->intent_tail->next = in;
	else
		serf->intent_head = in;
	serf->intent_tail = in;
}

static void
intent_drop(struct serf *serf, struct serf_intent *in)
{
	intent_unlink(serf, in);
	swim_index_remove(&serf->intent_index, in);
	serf->nb_intents--;
	free(in);
}

void
serf_intents_free(struct serf *serf)
{
	while (serf->intent_head != NULL)
		intent_drop(serf, serf->intent_head);
	swim_index_destroy(&serf->intent_index);
}

/** A new intent record; past the cap the oldest one goes. */
static struct serf_intent *
intent_new(struct serf *serf, const struct swim_str *n)
{
	struct serf_intent *in;

	if (serf->nb_intents >= SERF_INTENTS_MAX && serf->intent_head != NULL)
		intent_drop(serf, serf->intent_head);
	in = calloc(1, offsetof(struct serf_intent, name) + n->len + 1);
	if (in == NULL)
		return NULL;
	memcpy(in->name, n->ptr, n->len);
	in->name_len = (uint8_t)n->len;
	if (swim_index_insert(&serf->intent_index, in) != 0) {
		free(in);
		return NULL;
	}
	serf->nb_intents++;
	intent_append(serf, in);
	return in;
}

/** upsertIntent: keep the newest intent per name. @retval true if stored. */
static bool
intent_upsert(struct serf *serf, uint64_t now_us, const struct swim_str *n,
	      uint8_t type, uint64_t ltime)
{
	struct serf_intent *in = intent_find(serf, n->ptr, n->len);

	if (in != NULL && ltime <= in->ltime)
		return false;
	if (in == NULL) {
		if (n->ptr == NULL || n->len == 0 || n->len > SWIM_NAME_MAX)
			return false;
		in = intent_new(serf, n);
		if (in == NULL)
			return false;
	} else {
		/* Stored again: it expires and is evicted last. */
		intent_unlink(serf, in);
		intent_append(serf, in);
	}
	in->type = type;
	in->ltime = ltime;
	in->wall_us = now_us;
	return true;
}

void
serf_intents_reap(struct serf *serf, uint64_t now_us)
{
	/* The list is in storing order: the expired ones are its head. */
	while (serf->intent_head != NULL &&
	       now_us - serf->intent_head->wall_us >
	       serf->cfg.recent_intent_timeout_us)
		intent_drop(serf, serf->intent_head);
}

/* --- memberlist signals --- */

/** handleNodeJoin: a member is alive in memberlist. */
void
serf_node_join(struct serf *serf, const struct swim_member_info *info)
{
	struct serf_member *m = serf_member_get(serf, info->name.ptr,
						info->name.len);
	const struct swim_member *node = serf_node_of(serf, info);

	/* Member events end a growth the inserts left unfinished. */
	serf_table_step(serf, SERF_INDEX_EVENT_STEP);
	if (node == NULL)
		return;		/* the core does not know it: nothing to show */
	if (m != NULL && info->is_self && m->status == SERF_STATUS_ALIVE) {
		serf_member_set_node(serf, m, node);	/* announced already */
		return;
	}
	if (m == NULL) {
		m = serf_member_add(serf, node);
		if (m == NULL)
			return;
		serf_member_set_status(serf, m, SERF_STATUS_ALIVE);
		struct serf_intent *in = intent_find(serf, info->name.ptr,
						     info->name.len);
		if (in != NULL) {
			m->status_ltime = in->ltime;
			if (in->type == SERF_MSG_LEAVE)
				serf_member_set_status(serf, m,
						       SERF_STATUS_LEAVING);
		}
	} else {
		serf_member_set_status(serf, m, SERF_STATUS_ALIVE);
		m->leave_time_us = 0;
	}
	serf_member_set_node(serf, m, node);
	serf_member_event(serf, SERF_EV_MEMBER_JOIN, m);
}

/** handleNodeLeave: memberlist declared a member dead or left. */
void
serf_node_leave(struct serf *serf, uint64_t now_us,
	   const struct swim_member_info *info)
{
	struct serf_member *m = serf_member_get(serf, info->name.ptr,
						info->name.len);

	serf_table_step(serf, SERF_INDEX_EVENT_STEP);
	if (m == NULL)
		return;
	switch (m->status) {
	case SERF_STATUS_LEAVING:
		serf_member_set_status(serf, m, SERF_STATUS_LEFT);
		break;
	case SERF_STATUS_ALIVE:
		serf_member_set_status(serf, m, SERF_STATUS_FAILED);
		break;
	case SERF_STATUS_NONE:
	case SERF_STATUS_LEFT:
	case SERF_STATUS_FAILED:
	case SERF_STATUS_COUNT:
		return;		/* Serf logs "Bad state when leave" */
	}
	m->leave_time_us = now_us;
	serf_member_arm_reap(serf, m);
	serf_member_event(serf, m->status == SERF_STATUS_LEFT ?
			  SERF_EV_MEMBER_LEAVE : SERF_EV_MEMBER_FAILED, m);
}

void
serf_node_update(struct serf *serf, const struct swim_member_info *info)
{
	struct serf_member *m = serf_member_get(serf, info->name.ptr,
						info->name.len);

	serf_table_step(serf, SERF_INDEX_EVENT_STEP);
	if (m == NULL)
		return;
	serf_member_set_node(serf, m, serf_node_of(serf, info));
	serf_member_event(serf, SERF_EV_MEMBER_UPDATE, m);
}

/* --- intents --- */

void
serf_broadcast(struct serf *serf, const uint8_t *buf, int len)
{
	if (len > 0)
		swim_broadcast_user(serf->swim, buf, (size_t)len);
}


/** broadcastJoin: our join intent at ltime, applied locally and gossiped. */
void
serf_broadcast_join(struct serf *serf, uint64_t now_us, uint64_t ltime)
{
	struct swim_str self = { (const uint8_t *)serf->self.str,
				 serf->self.len };
	struct serf_msg_join msg = { ltime, self };
	uint8_t buf[SWIM_NAME_MAX + 32];

	serf_clock_witness(&serf->clock, ltime);
	serf_intent_join(serf, now_us, &self, ltime);
	serf_broadcast(serf, buf, serf_msg_encode_join(&msg, buf, sizeof(buf)));
}

/** handleNodeJoinIntent. @retval true to re-gossip. */
bool
serf_intent_join(struct serf *serf, uint64_t now_us,
		   const struct swim_str *node, uint64_t ltime)
{
	struct serf_member *m;

	serf_clock_witness(&serf->clock, ltime);
	m = serf_member_get(serf, node->ptr, node->len);
	if (m == NULL)
		return intent_upsert(serf, now_us, node, SERF_MSG_JOIN, ltime);
	if (ltime <= m->status_ltime) {
		serf->stats.intents_stale++;
		return false;
	}
	m->status_ltime = ltime;
	if (m->status == SERF_STATUS_LEAVING)
		serf_member_set_status(serf, m, SERF_STATUS_ALIVE);
	return true;
}

/**
 * handlePrune: erase the member (member-reap). A leaving member first
 * gets the time serf gives its leave to spread (BroadcastTimeout +
 * LeavePropagateDelay; serf sleeps, we set a deadline for serf_tick).
 */
static void
prune(struct serf *serf, uint64_t now_us, struct serf_member *m)
{
	if (m->status != SERF_STATUS_LEAVING) {
		serf_member_erase(serf, m);
		return;
	}
	/* serf sleeps in a goroutine per prune: the first one erases. */
	m->flags |= SERF_MF_PRUNE;
	serf_due_push(serf, m, SERF_DUE_PRUNE, now_us +
		      serf->cfg.broadcast_timeout_us +
		      serf->cfg.leave_propagate_delay_us);
}

/** handleNodeLeaveIntent. @retval true to re-gossip. */
bool
serf_intent_leave(struct serf *serf, uint64_t now_us,
		    const struct swim_str *node, uint64_t ltime, bool do_prune)
{
	struct serf_member *m;

	serf_clock_witness(&serf->clock, ltime);
	m = serf_member_get(serf, node->ptr, node->len);
	if (m == NULL)
		return intent_upsert(serf, now_us, node, SERF_MSG_LEAVE, ltime);
	if (ltime <= m->status_ltime) {
		serf->stats.intents_stale++;
		return false;
	}
	if (m == serf->self_member && serf->state == SERF_STATE_ALIVE) {
		/* Someone says we leave (force-leave): refute it. */
		serf->stats.refutes++;
		serf_broadcast_join(serf, now_us, serf->clock.time);
		return false;
	}
	switch (m->status) {
	case SERF_STATUS_ALIVE:
		serf_member_set_status(serf, m, SERF_STATUS_LEAVING);
		m->status_ltime = ltime;
		break;
	case SERF_STATUS_FAILED:
		/* A forced leave: failed -> left, kept as a tombstone. */
		serf_member_set_status(serf, m, SERF_STATUS_LEFT);
		m->status_ltime = ltime;
		serf_member_event(serf, SERF_EV_MEMBER_LEAVE, m);
		break;
	case SERF_STATUS_LEAVING:
	case SERF_STATUS_LEFT:
		break;
	case SERF_STATUS_NONE:
	case SERF_STATUS_COUNT:
		return false;
	}
	if (do_prune)
		prune(serf, now_us, m);
	return true;
}

