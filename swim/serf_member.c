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

/** Decode Meta into a tagset; undecodable Meta gives no tags (as Go). */
static void
tagset_decode(struct serf_tagset *ts, const uint8_t *meta, size_t len)
{
	struct serf_tag tmp[SERF_TAGS_MAX];
	int nb = serf_msg_decode_tags(meta, len, tmp, SERF_TAGS_MAX);

	ts->nb = 0;
	if (nb < 0)
		return;
	if (nb > SERF_TAGS_MAX)
		nb = SERF_TAGS_MAX;
	if (serf_tagset_set(ts, tmp, (uint32_t)nb) != 0)
		ts->nb = 0;
}

int
serf_tags_encode(const struct serf_tag *tags, uint32_t nb, uint8_t *out,
		 size_t cap)
{
	int rc = serf_msg_encode_tags(tags, nb, out, cap);

	return rc < 0 ? -EMSGSIZE : rc;
}

/* --- members --- */

struct serf_member *
serf_member_get(const struct serf *serf, const uint8_t *name, size_t len)
{
	for (uint32_t i = 0; i < serf->nb_members; i++) {
		if (serf_name_eq(&serf->members[i]->name, name, len))
			return serf->members[i];
	}
	return NULL;
}

/** Refresh what memberlist knows about a member. */
void
serf_member_refresh(struct serf_member *m, const struct swim_member_info *info)
{
	m->addr = info->addr;
	m->incarnation = info->incarnation;
	memcpy(m->vsn, info->vsn, SWIM_VSN_LEN);
	m->meta_len = info->meta.len <= SWIM_META_MAX ? info->meta.len : 0;
	if (m->meta_len > 0)
		memcpy(m->meta, info->meta.ptr, m->meta_len);
	tagset_decode(&m->tags, m->meta, m->meta_len);
}

struct serf_member *
serf_member_add(struct serf *serf, const struct swim_str *name)
{
	struct serf_member *m;

	if (serf_grow((void **)&serf->members, &serf->cap_members,
		      serf->nb_members, sizeof(*serf->members)) != 0)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	if (!serf_name_set(&m->name, name->ptr, name->len)) {
		free(m);
		return NULL;
	}
	serf->members[serf->nb_members++] = m;
	return m;
}

/** Fill a member event from the member as it is now. */
void
serf_member_event(struct serf *serf, enum serf_event_kind kind,
	     const struct serf_member *m)
{
	struct serf_event *ev = serf_event_next(serf, kind);

	if (ev == NULL)
		return;
	memcpy(ev->name, m->name.str, m->name.len + 1);
	ev->name_len = m->name.len;
	ev->addr = m->addr;
	ev->status = m->status;
	memcpy(ev->meta, m->meta, m->meta_len);
	ev->meta_len = m->meta_len;
	memcpy(ev->vsn, m->vsn, SWIM_VSN_LEN);
	ev->incarnation = m->incarnation;
}

/** eraseNode: forget a member and say so (member-reap). */
void
serf_member_erase(struct serf *serf, struct serf_member *m)
{
	for (uint32_t i = 0; i < serf->nb_members; i++) {
		if (serf->members[i] != m)
			continue;
		serf->members[i] = serf->members[--serf->nb_members];
		break;
	}
	if (m->prune_at_us != 0)
		serf->nb_prune--;
	serf_member_event(serf, SERF_EV_MEMBER_REAP, m);
	free(m);
}

/* --- recent intents --- */

static struct serf_intent *
intent_find(struct serf *serf, const uint8_t *name, size_t len)
{
	for (uint32_t i = 0; i < serf->nb_intents; i++) {
		if (serf_name_eq(&serf->intents[i].node, name, len))
			return &serf->intents[i];
	}
	return NULL;
}

/** Room for one more intent; past the cap the oldest one goes. */
static struct serf_intent *
intent_slot(struct serf *serf)
{
	struct serf_intent *oldest;

	if (serf->nb_intents < SERF_INTENTS_MAX) {
		if (serf_grow((void **)&serf->intents, &serf->cap_intents,
			      serf->nb_intents, sizeof(*serf->intents)) != 0)
			return NULL;
		return &serf->intents[serf->nb_intents++];
	}
	oldest = &serf->intents[0];
	for (uint32_t i = 1; i < serf->nb_intents; i++) {
		if (serf->intents[i].wall_us < oldest->wall_us)
			oldest = &serf->intents[i];
	}
	return oldest;
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
		if (n->len > SWIM_NAME_MAX)
			return false;
		in = intent_slot(serf);
		if (in == NULL)
			return false;
		serf_name_set(&in->node, n->ptr, n->len);
	}
	in->type = type;
	in->ltime = ltime;
	in->wall_us = now_us;
	return true;
}

void
serf_intents_reap(struct serf *serf, uint64_t now_us)
{
	for (uint32_t i = 0; i < serf->nb_intents;) {
		struct serf_intent *in = &serf->intents[i];
		if (now_us - in->wall_us > serf->cfg.recent_intent_timeout_us)
			*in = serf->intents[--serf->nb_intents];
		else
			i++;
	}
}

/* --- memberlist signals --- */

/** handleNodeJoin: a member is alive in memberlist. */
void
serf_node_join(struct serf *serf, const struct swim_member_info *info)
{
	struct serf_member *m = serf_member_get(serf, info->name.ptr,
						info->name.len);

	if (m != NULL && info->is_self && m->status == SERF_STATUS_ALIVE) {
		serf_member_refresh(m, info);	/* announced in serf_new */
		return;
	}
	if (m == NULL) {
		m = serf_member_add(serf, &info->name);
		if (m == NULL)
			return;
		m->status = SERF_STATUS_ALIVE;
		struct serf_intent *in = intent_find(serf, info->name.ptr,
						     info->name.len);
		if (in != NULL) {
			m->status_ltime = in->ltime;
			if (in->type == SERF_MSG_LEAVE)
				m->status = SERF_STATUS_LEAVING;
		}
	} else {
		m->status = SERF_STATUS_ALIVE;
		m->leave_time_us = 0;
	}
	serf_member_refresh(m, info);
	serf_member_event(serf, SERF_EV_MEMBER_JOIN, m);
}

/** handleNodeLeave: memberlist declared a member dead or left. */
void
serf_node_leave(struct serf *serf, uint64_t now_us,
	   const struct swim_member_info *info)
{
	struct serf_member *m = serf_member_get(serf, info->name.ptr,
						info->name.len);

	if (m == NULL)
		return;
	switch (m->status) {
	case SERF_STATUS_LEAVING:
		m->status = SERF_STATUS_LEFT;
		break;
	case SERF_STATUS_ALIVE:
		m->status = SERF_STATUS_FAILED;
		break;
	case SERF_STATUS_NONE:
	case SERF_STATUS_LEFT:
	case SERF_STATUS_FAILED:
	case SERF_STATUS_COUNT:
		return;		/* Serf logs "Bad state when leave" */
	}
	m->leave_time_us = now_us;
	serf_member_event(serf, m->status == SERF_STATUS_LEFT ?
		     SERF_EV_MEMBER_LEAVE : SERF_EV_MEMBER_FAILED, m);
}

void
serf_node_update(struct serf *serf, const struct swim_member_info *info)
{
	struct serf_member *m = serf_member_get(serf, info->name.ptr,
						info->name.len);

	if (m == NULL)
		return;
	serf_member_refresh(m, info);
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
		m->status = SERF_STATUS_ALIVE;
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
	if (m->prune_at_us == 0)
		serf->nb_prune++;
	m->prune_at_us = now_us + serf->cfg.broadcast_timeout_us +
			 serf->cfg.leave_propagate_delay_us;
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
	if (serf_name_eq(&serf->self, node->ptr, node->len) &&
	    serf->state == SERF_STATE_ALIVE) {
		/* Someone says we leave (force-leave): refute it. */
		serf->stats.refutes++;
		serf_broadcast_join(serf, now_us, serf->clock.time);
		return false;
	}
	switch (m->status) {
	case SERF_STATUS_ALIVE:
		m->status = SERF_STATUS_LEAVING;
		m->status_ltime = ltime;
		break;
	case SERF_STATUS_FAILED:
		/* A forced leave: failed -> left, kept as a tombstone. */
		m->status = SERF_STATUS_LEFT;
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

