/* SPDX-License-Identifier: MIT */
/*
 * The daemon's Serf layer, minimal: what a foreign node needs to show as
 * alive with its tags and leave as left (memberlist-wire.md §10.6): the
 * member Lamport clock, join and leave intents, Serf's member status and
 * serf-style membership log lines. Adapts to the full Serf layer (serf.h)
 * when that lands; until then this is the whole of it.
 *
 * Owns: the Lamport clock and a small name -> intent table. Control thread
 * only. Never sends by itself: everything goes out through the core.
 */
#include "cp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf_msg.h"

/* Most members whose intents we remember. */
#define CP_SERF_MAX_MEMBERS 1024

/* The last intent seen for one member (serf's statusLTime). */
struct cp_serf_member {
	char name[SWIM_NAME_MAX + 1];
	uint64_t status_ltime;		/* LTime of the last applied intent */
	bool is_leaving;		/* a newer leave intent than any join */
};

struct cp_serf {
	struct serf_clock clock;	/* member clock */
	struct serf_clock event_clock;	/* user events */
	struct cp_serf_member *members;	/* CP_SERF_MAX_MEMBERS entries */
	unsigned nb_members;
};

static struct cp_serf *
cp_serf_of(struct cp *cp)
{
	return cp->serf;
}

int
cp_serf_init(struct cp *cp)
{
	struct cp_serf *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	s->members = calloc(CP_SERF_MAX_MEMBERS, sizeof(*s->members));
	if (s->members == NULL) {
		free(s);
		return -1;
	}
	s->clock.time = 1;
	s->event_clock.time = 1;
	cp->serf = s;
	return 0;
}

void
cp_serf_fini(struct cp *cp)
{
	struct cp_serf *s = cp_serf_of(cp);

	if (s == NULL)
		return;
	free(s->members);
	free(s);
	cp->serf = NULL;
}

/* Find (or add, when add) a member's intent record. */
static struct cp_serf_member *
cp_serf_member(struct cp_serf *s, const uint8_t *name, size_t len, bool add)
{
	struct cp_serf_member *m;

	if (len > SWIM_NAME_MAX)
		return NULL;
	for (unsigned i = 0; i < s->nb_members; i++) {
		m = &s->members[i];
		if (strlen(m->name) == len && memcmp(m->name, name, len) == 0)
			return m;
	}
	if (!add || s->nb_members == CP_SERF_MAX_MEMBERS)
		return NULL;
	m = &s->members[s->nb_members++];
	memcpy(m->name, name, len);
	m->name[len] = '\0';
	return m;
}

/* Apply a join (is_leave false) or leave intent with serf's LTime rule. */
static bool
cp_serf_intent(struct cp_serf *s, const struct swim_str *node, uint64_t lt,
	       bool is_leave)
{
	struct cp_serf_member *m;

	serf_clock_witness(&s->clock, lt);
	m = cp_serf_member(s, node->ptr, node->len, true);
	if (m == NULL || lt <= m->status_ltime)
		return false;
	m->status_ltime = lt;
	m->is_leaving = is_leave;
	return true;
}

/* Gossip a Serf message through the core's user broadcast queue. */
static void
cp_serf_broadcast(struct cp *cp, const uint8_t *msg, int len)
{
	if (len > 0 && swim_broadcast_user(cp->swim, msg, (size_t)len) != 0)
		CP_LOG(WARN, "serf: broadcast queue refused a message");
}

/* A gossiped Serf message: apply intents, re-gossip the new ones. */
static void
cp_serf_on_user(struct cp *cp, const struct swim_str *data)
{
	struct cp_serf *s = cp_serf_of(cp);
	struct serf_msg_join j;
	struct serf_msg_leave l;
	struct serf_msg_user_event ue;

	switch (serf_msg_type(data->ptr, data->len)) {
	case SERF_MSG_JOIN:
		if (serf_msg_decode_join(data->ptr, data->len, &j) == 0 &&
		    cp_serf_intent(s, &j.node, j.ltime, false))
			cp_serf_broadcast(cp, data->ptr, (int)data->len);
		return;
	case SERF_MSG_LEAVE:
		if (serf_msg_decode_leave(data->ptr, data->len, &l) != 0)
			return;
		if (l.node.len == strlen(cp->cfg.name) &&
		    memcmp(l.node.ptr, cp->cfg.name, l.node.len) == 0 &&
		    cp->leave == CP_LEAVE_NONE) {
			/* A leave about us while we stay: refute with a join. */
			serf_clock_witness(&s->clock, l.ltime);
			cp_serf_joined(cp, 0);
			return;
		}
		if (cp_serf_intent(s, &l.node, l.ltime, true))
			cp_serf_broadcast(cp, data->ptr, (int)data->len);
		return;
	case SERF_MSG_USER_EVENT:
		if (serf_msg_decode_user_event(data->ptr, data->len, &ue) == 0)
			serf_clock_witness(&s->event_clock, ue.ltime);
		return;
	default:
		return;
	}
}

/* serf's member event log lines. */
static void
cp_serf_log_member(struct cp *cp, const struct swim_event *ev)
{
	char ip[CP_ADDR_STRLEN];
	const char *what = NULL;

	switch (ev->kind) {
	case SWIM_EV_JOIN:
		what = "EventMemberJoin";
		break;
	case SWIM_EV_UPDATE:
		what = "EventMemberUpdate";
		break;
	case SWIM_EV_LEAVE:
		what = cp_serf_status(cp, &ev->member) == CP_SERF_LEFT
			       ? "EventMemberLeave"
			       : "EventMemberFailed";
		break;
	case SWIM_EV_SUSPECT:
	case SWIM_EV_USER:
	case SWIM_EV_PING:
	case SWIM_EV_COUNT:
		return;
	}
	cp_ip_str(&ev->member.addr, ip, sizeof(ip));
	CP_LOG(INFO, "serf: %s: %.*s %s", what, (int)ev->member.name.len,
	       (const char *)ev->member.name.ptr, ip);
}

void
cp_serf_on_event(struct cp *cp, uint64_t now_us, const struct swim_event *ev)
{
	(void)now_us;
	if (ev->kind == SWIM_EV_USER) {
		cp_serf_on_user(cp, &ev->data);
		return;
	}
	cp_serf_log_member(cp, ev);
}

void
cp_serf_tick(struct cp *cp, uint64_t now_us)
{
	(void)cp;
	(void)now_us;
}

size_t
cp_serf_local_state(struct cp *cp, uint8_t *out, size_t cap)
{
	struct cp_serf *s = cp_serf_of(cp);
	struct serf_msg_push_pull pp;
	struct serf_msg_pp_status st[1];
	int n;

	/* Our own StatusLTime, as serf records it; others learn theirs. */
	memset(&pp, 0, sizeof(pp));
	st[0].name = (struct swim_str){(const uint8_t *)cp->cfg.name,
				       (uint32_t)strlen(cp->cfg.name)};
	st[0].ltime = s->clock.time > 1 ? s->clock.time - 1 : 1;
	pp.ltime = s->clock.time;
	pp.event_ltime = s->event_clock.time;
	pp.query_ltime = 1;
	pp.status = st;
	pp.nb_status = 1;
	n = serf_msg_encode_push_pull(&pp, out, cap);
	return n > 0 ? (size_t)n : 0;
}

void
cp_serf_merge_remote(struct cp *cp, uint64_t now_us, const uint8_t *buf,
		     size_t len, bool join)
{
	struct cp_serf *s = cp_serf_of(cp);
	struct serf_msg_push_pull pp;
	struct serf_msg_pp_status st;
	const uint8_t *pos, *end;

	(void)now_us;
	(void)join;
	if (serf_msg_decode_push_pull(buf, len, &pp) != 0)
		return;
	if (pp.ltime > 0)
		serf_clock_witness(&s->clock, pp.ltime - 1);
	if (pp.event_ltime > 0)
		serf_clock_witness(&s->event_clock, pp.event_ltime - 1);
	pos = pp.raw_status.ptr;
	end = pos + pp.raw_status.len;
	while (pos != NULL && serf_msg_pp_status_next(&pos, end, &st) == 1)
		cp_serf_intent(s, &st.name, st.ltime, false);
	pos = pp.raw_left.ptr;
	end = pos + pp.raw_left.len;
	while (pos != NULL && serf_msg_pp_left_next(&pos, end, &st.name) == 1) {
		struct cp_serf_member *m = cp_serf_member(s, st.name.ptr,
							  st.name.len, true);

		if (m != NULL)
			m->is_leaving = true;
	}
}

void
cp_serf_joined(struct cp *cp, uint64_t now_us)
{
	struct cp_serf *s = cp_serf_of(cp);
	struct serf_msg_join j;
	uint8_t buf[SWIM_NAME_MAX + 64];

	(void)now_us;
	j.ltime = s->clock.time;
	j.node = (struct swim_str){(const uint8_t *)cp->cfg.name,
				   (uint32_t)strlen(cp->cfg.name)};
	cp_serf_intent(s, &j.node, j.ltime, false);
	cp_serf_broadcast(cp, buf, serf_msg_encode_join(&j, buf, sizeof(buf)));
}

void
cp_serf_leave(struct cp *cp, uint64_t now_us)
{
	struct cp_serf *s = cp_serf_of(cp);
	struct serf_msg_leave l;
	uint8_t buf[SWIM_NAME_MAX + 64];

	(void)now_us;
	memset(&l, 0, sizeof(l));
	l.ltime = s->clock.time;
	l.node = (struct swim_str){(const uint8_t *)cp->cfg.name,
				   (uint32_t)strlen(cp->cfg.name)};
	cp_serf_intent(s, &l.node, l.ltime, true);
	serf_clock_increment(&s->clock);
	cp_serf_broadcast(cp, buf,
			  serf_msg_encode_leave(&l, buf, sizeof(buf)));
}

size_t
cp_serf_ack_payload(struct cp *cp, uint8_t *out, size_t cap)
{
	(void)cp;
	(void)out;
	(void)cap;
	return 0;	/* no Vivaldi coordinate yet: nil payload is allowed */
}

enum cp_serf_status
cp_serf_status(struct cp *cp, const struct swim_member_info *m)
{
	struct cp_serf_member *sm;
	bool leaving;

	sm = cp_serf_member(cp_serf_of(cp), m->name.ptr, m->name.len, false);
	leaving = sm != NULL && sm->is_leaving;
	switch (m->status) {
	case SWIM_STATUS_ALIVE:
	case SWIM_STATUS_SUSPECT:
		return leaving ? CP_SERF_LEAVING : CP_SERF_ALIVE;
	case SWIM_STATUS_DEAD:
	case SWIM_STATUS_LEFT:
		return leaving ? CP_SERF_LEFT : CP_SERF_FAILED;
	case SWIM_STATUS_COUNT:
		break;
	}
	return CP_SERF_NONE;
}

int
cp_serf_force_leave(struct cp *cp, uint64_t now_us, const char *node,
		    bool prune)
{
	struct cp_serf *s = cp_serf_of(cp);
	struct serf_msg_leave l;
	uint8_t buf[SWIM_NAME_MAX + 64];

	(void)now_us;
	l.ltime = serf_clock_increment(&s->clock);
	l.node = (struct swim_str){(const uint8_t *)node,
				   (uint32_t)strlen(node)};
	l.prune = prune;
	cp_serf_intent(s, &l.node, l.ltime, true);
	cp_serf_broadcast(cp, buf,
			  serf_msg_encode_leave(&l, buf, sizeof(buf)));
	return 0;
}

int
cp_serf_user_event(struct cp *cp, const char *name, const uint8_t *data,
		   size_t len, bool coalesce)
{
	struct cp_serf *s = cp_serf_of(cp);
	struct serf_msg_user_event ue;
	uint8_t buf[1024];
	int n;

	if (strlen(name) + len > 512)
		return -E2BIG;
	ue.ltime = s->event_clock.time;
	serf_clock_increment(&s->event_clock);
	ue.name = (struct swim_str){(const uint8_t *)name,
				    (uint32_t)strlen(name)};
	ue.payload = (struct swim_str){data, (uint32_t)len};
	ue.cc = coalesce;
	n = serf_msg_encode_user_event(&ue, buf, sizeof(buf));
	if (n <= 0)
		return -EINVAL;
	cp_serf_broadcast(cp, buf, n);
	return 0;
}
