/* SPDX-License-Identifier: MIT */
/*
 * The Serf messages a virtual member reacts to (memberlist-wire.md §10):
 * join and leave intents carry the member clock (witnessed), and a query
 * gets an ack from every alive member its filters select, sent from that
 * member's address to the querier, as N agents without handlers would.
 * Callers hold sw->lock.
 */
#include <msgpuck.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "serf_msg.h"
#include "swarm_int.h"

#define SWARM_QSEEN 128		/* recent queries remembered (dedupe) */
#define SWARM_QACK_RATE 4000	/* query acks per second, all members */
#define SWARM_QACK_BURST 32	/* query acks per turn at most */

/* Has this (LTime, ID) been answered already? Remembers it if not. */
static bool
swarm_query_seen(struct swarm *sw, uint64_t ltime, uint32_t id)
{
	for (unsigned k = 0; k < SWARM_QSEEN; k++)
		if (sw->qseen[k].ltime == ltime && sw->qseen[k].id == id)
			return true;
	sw->qseen[sw->qseen_next % SWARM_QSEEN].ltime = ltime;
	sw->qseen[sw->qseen_next % SWARM_QSEEN].id = id;
	sw->qseen_next++;
	return false;
}

/* Does our tag set match a tag filter {Tag, Expr}? Go's regexp ~ ERE. */
static bool
swarm_tag_match(const struct swarm *sw, const uint8_t *buf, size_t len)
{
	struct swim_str tag, expr;
	char re_src[256], val[SWIM_META_MAX + 1];
	regex_t re;
	bool hit = false;

	if (serf_msg_decode_tag_filter(buf, len, &tag, &expr) != 0 ||
	    expr.len >= sizeof(re_src))
		return false;
	for (unsigned k = 0; k < sw->cfg.nb_tags; k++) {
		const char *t = sw->cfg.tags[k], *eq = strchr(t, '=');

		if ((size_t)(eq - t) != tag.len || memcmp(t, tag.ptr, tag.len))
			continue;
		memcpy(re_src, expr.ptr, expr.len);
		re_src[expr.len] = '\0';
		snprintf(val, sizeof(val), "%s", eq + 1);
		if (regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB) != 0)
			return false;
		hit = regexec(&re, val, 0, NULL, 0) == 0;
		regfree(&re);
	}
	return hit;
}

/* Mark (in sel, by index) the members a node filter lists. */
static int
swarm_node_filter(struct swarm *sw, const uint8_t *buf, size_t len,
		  uint8_t *sel)
{
	const char *p = (const char *)buf, *end = p + len, *chk = p;
	uint32_t n, sl;
	int64_t i;

	if (mp_check(&chk, end) != 0 || mp_typeof(*p) != MP_ARRAY)
		return -1;
	n = mp_decode_array(&p);
	for (uint32_t k = 0; k < n; k++) {
		const char *s;

		if (mp_typeof(*p) != MP_STR) {
			mp_next(&p);
			continue;
		}
		s = mp_decode_str(&p, &sl);
		i = swarm_map_name_index(&sw->map, (const uint8_t *)s, sl);
		if (i >= 0)
			sel[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	return 0;
}

/*
 * Which members the filters select: *all (no node filter), or the bitmap
 * sel (node filters). @retval false when a filter excludes everybody.
 */
static bool
swarm_query_select(struct swarm *sw, const struct serf_msg_query *q,
		   uint8_t **sel)
{
	const uint8_t *pos = q->filters_body.ptr;
	const uint8_t *end = pos + q->filters_body.len;
	struct swim_str f;

	*sel = NULL;
	while (pos != NULL && serf_msg_filter_next(&pos, end, &f) == 1) {
		if (f.len < 1)
			return false;
		if (f.ptr[0] == SERF_FILTER_TAG) {
			if (!swarm_tag_match(sw, f.ptr + 1, f.len - 1))
				return false;
			continue;
		}
		if (f.ptr[0] != SERF_FILTER_NODE)
			return false;	/* unknown filter: do not process */
		if (*sel == NULL)
			*sel = calloc(sw->cfg.members / 8 + 1, 1);
		if (*sel == NULL ||
		    swarm_node_filter(sw, f.ptr + 1, f.len - 1, *sel) != 0)
			return false;
	}
	return true;
}

static void
swarm_query_ack(struct swarm *sw, const struct swarm_query_job *q,
		uint32_t i)
{
	char name[SWARM_NAME_LEN_MAX];
	uint8_t buf[256];
	struct serf_msg_query_response r = {
		.ltime = q->ltime, .id = q->id,
		.flags = SERF_QUERY_FLAG_ACK };
	int n = swarm_map_name(&sw->map, i, name, sizeof(name));

	r.from = (struct swim_str){ (const uint8_t *)name, (uint32_t)n };
	buf[0] = SWIM_MSG_USER;
	n = serf_msg_encode_query_response(&r, buf + 1, sizeof(buf) - 1);
	if (n > 0)
		swarm_send(sw, swarm_map_addr(&sw->map, i), q->ip, q->port,
			   buf, (size_t)n + 1);
}

static void
swarm_on_query(struct swarm *sw, const uint8_t *buf, size_t len)
{
	struct swarm_query_job *job;
	struct serf_msg_query q;
	uint8_t *sel = NULL;

	if (serf_msg_decode_query(buf, len, &q) != 0 || q.addr.len != 4 ||
	    swarm_query_seen(sw, q.ltime, q.id))
		return;
	sw->st.queries++;
	if (!(q.flags & SERF_QUERY_FLAG_ACK) ||
	    !swarm_query_select(sw, &q, &sel)) {
		free(sel);
		return;
	}
	/* A full table drops the oldest job: it has had its time. */
	job = &sw->qjobs[sw->qjob_next++ % SWARM_QJOBS];
	free(job->sel);
	*job = (struct swarm_query_job){
		.ltime = q.ltime, .id = q.id, .port = q.port, .sel = sel,
		.ip = (uint32_t)q.addr.ptr[0] << 24 |
		      (uint32_t)q.addr.ptr[1] << 16 |
		      (uint32_t)q.addr.ptr[2] << 8 | q.addr.ptr[3],
		.active = true };
}

void
swarm_query_tick(struct swarm *sw)
{
	/*
	 * Acks are paced: the querier's memberlist handler queue holds
	 * 1024 messages, and in a real pool the query reaches members
	 * over several gossip rounds anyway.
	 */
	uint64_t budget = (sw->now - sw->qjob_last) * SWARM_QACK_RATE /
			  1000000;

	if (budget == 0)
		return;
	/* A late turn must not burst into the querier's socket buffer. */
	if (budget > SWARM_QACK_BURST)
		budget = SWARM_QACK_BURST;
	sw->qjob_last = sw->now;
	for (unsigned k = 0; k < SWARM_QJOBS && budget > 0; k++) {
		struct swarm_query_job *q = &sw->qjobs[k];

		for (; q->active && q->next < sw->n_joined && budget > 0;
		     q->next++) {
			uint32_t i = q->next;

			if (!swarm_member_answers(&sw->m[i]) ||
			    (q->sel != NULL &&
			     !(q->sel[i / 8] & (1u << (i % 8)))))
				continue;
			swarm_query_ack(sw, q, i);
			budget--;
		}
		if (q->active && q->next >= sw->n_joined) {
			q->active = false;
			free(q->sel);
			q->sel = NULL;
		}
	}
}

void
swarm_on_serf(struct swarm *sw, const uint8_t *buf, size_t len)
{
	struct serf_msg_join j;
	struct serf_msg_leave l;
	struct serf_clock c = { sw->ltime };

	if (len == 0)
		return;
	switch (buf[0]) {
	case SERF_MSG_JOIN:
		if (serf_msg_decode_join(buf, len, &j) == 0)
			serf_clock_witness(&c, j.ltime);
		break;
	case SERF_MSG_LEAVE:
		if (serf_msg_decode_leave(buf, len, &l) == 0)
			serf_clock_witness(&c, l.ltime);
		break;
	case SERF_MSG_QUERY:
		swarm_on_query(sw, buf, len);
		break;
	default:
		break;
	}
	sw->ltime = c.time;
}
