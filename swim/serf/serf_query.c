/* SPDX-License-Identifier: MIT */
/*
 * Serf queries (serf 0.9.4 serf.go handleQuery, query.go, event.go,
 * internal_query.go) and relays.
 *
 * Answering: a query is new if its (LTime, ID) is not in the query
 * buffer and it is not older than the buffer window. New queries are
 * re-gossiped unless flag 2 says not to, then filtered (node list, tag
 * regex). A query that passes is acked at once when flag 1 asks for it,
 * straight to the querier's Addr:Port, plus RelayFactor copies through
 * random alive members that speak memberlist 5, wrapped in a relay
 * message. Internal `_serf_` queries are answered here (ping: the ack
 * only; conflict: the Member we know by that name; key queries: serf's
 * "encryption not enabled" failure unless control owns a keyring);
 * others become SERF_EV_QUERY events that control may answer once
 * before the deadline with serf_query_respond.
 *
 * Asking: serf_query gossips a query and collects one ack and one
 * response per responder until the deadline.
 *
 * Relaying: a relay message (type 9) is unwrapped and its inner message
 * sent as a memberlist user message to DestAddr.
 *
 * Must never: touch sockets, read a clock, log, or call rand(). Tag
 * filters use POSIX extended regexes, close to Go's RE2 for the simple
 * expressions serf users write.
 */
#include "serf_int.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define INTERNAL_PREFIX "_serf_"
/* Longest tag-filter regex we compile. */
#define REGEX_MAX 1024

/* --- filters --- */

/** Does our tag match a tag filter {Tag, Expr}? Bad regexes never do. */
static bool
tag_filter_match(const struct serf *serf, const struct swim_str *tag,
		 const struct swim_str *expr)
{
	char re_src[REGEX_MAX + 1];
	const char *value = "";
	regex_t re;
	bool match;

	if (expr->len > REGEX_MAX || memchr(expr->ptr, '\0', expr->len))
		return false;
	for (uint32_t i = 0; i < serf->self_tags.nb; i++) {
		const struct serf_tag *t = &serf->self_tags.tags[i];
		if (t->key_len == tag->len &&
		    memcmp(t->key, tag->ptr, tag->len) == 0)
			value = t->value;
	}
	if (expr->len > 0)
		memcpy(re_src, expr->ptr, expr->len);
	re_src[expr->len] = '\0';
	if (regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	match = regexec(&re, value, 0, NULL, 0) == 0;
	regfree(&re);
	return match;
}

/** shouldProcessQuery: every filter must pass; unknown types never do. */
static bool
should_process(const struct serf *serf, const struct serf_msg_query *q)
{
	const uint8_t *p = q->filters_body.ptr;
	const uint8_t *end = p + q->filters_body.len;
	struct swim_str f, tag, expr;

	if (p == NULL)
		return true;
	while (serf_msg_filter_next(&p, end, &f) == 1) {
		const uint8_t *body = f.ptr + 1;
		size_t len = f.len - 1;
		switch (f.ptr[0]) {
		case SERF_FILTER_NODE:
			if (serf_msg_node_filter_has(body, len, serf->self.str,
						     serf->self.len) != 1)
				return false;
			break;
		case SERF_FILTER_TAG:
			if (serf_msg_decode_tag_filter(body, len, &tag,
						       &expr) != 0 ||
			    !tag_filter_match(serf, &tag, &expr))
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* --- dedupe --- */

/** The query buffer check. @retval true if (LTime, ID) is new. */
static bool
query_is_new(struct serf *serf, const struct serf_msg_query *q)
{
	uint64_t n = serf->cfg.query_buffer;
	uint64_t cur = serf->query_clock.time;
	struct serf_q_slot *slot;

	if (q->ltime < serf->query_min_time || (cur > n && q->ltime < cur - n))
		return false;
	slot = &serf->q_slots[q->ltime % n];
	if (slot->is_used && slot->ltime == q->ltime) {
		for (uint32_t i = 0; i < slot->nb; i++) {
			if (slot->ids[i] == q->id)
				return false;
		}
	} else {
		slot->nb = 0;
		slot->is_used = true;
		slot->ltime = q->ltime;
	}
	if (serf_grow((void **)&slot->ids, &slot->cap, slot->nb,
		      sizeof(*slot->ids)) != 0)
		return false;
	slot->ids[slot->nb++] = q->id;
	return true;
}

/* --- answering --- */

static bool
relay_ok(const struct serf *serf, const struct serf_member *m)
{
	struct swim_member_info info;

	if (m->status != SERF_STATUS_ALIVE || m == serf->self_member)
		return false;
	serf_member_view(serf, m, &info);
	return info.vsn[1] >= 5;
}

/** kRandomMembers: up to k alive relays (PMax >= 5), never ourselves. */
static uint32_t
pick_relays(struct serf *serf, uint32_t k, struct serf_member **out)
{
	uint32_t n = serf_member_count(serf);
	uint32_t nb = 0;

	/* Bounded draws (3n for small tables, as serf), never a walk. */
	for (uint32_t i = 0; i < 3 * n && i < 64 * k && nb < k; i++) {
		struct serf_member *m = serf_member_random(serf, 1, relay_ok);
		bool dup = false;
		if (m == NULL)
			continue;
		for (uint32_t j = 0; j < nb; j++)
			dup = dup || out[j] == m;
		if (!dup)
			out[nb++] = m;
	}
	return nb;
}

/** relayResponse: RelayFactor copies through other members. */
static void
relay_response(struct serf *serf, const struct serf_inq *in,
	       const uint8_t *resp, size_t resp_len)
{
	struct serf_member *relays[UINT8_MAX];
	struct swim_member_info info;
	uint8_t buf[SERF_PAYLOAD_MAX + 256];
	struct serf_msg_relay r = {
		.dest_ip = { in->to.ip, in->to.ip_len },
		.dest_port = in->to.port,
		.dest_zone = { (const uint8_t *)"", 0 },
		.dest_name = { (const uint8_t *)in->source.str,
			       in->source.len },
		.inner = { resp, (uint32_t)resp_len },
	};

	if (in->relay_factor == 0 ||
	    serf_member_count(serf) < in->relay_factor + 1u)
		return;
	int len = serf_msg_encode_relay(&r, buf, sizeof(buf));
	if (len < 0 || (uint32_t)len > serf->cfg.query_response_size_limit)
		return;
	uint32_t nb = pick_relays(serf, in->relay_factor, relays);
	for (uint32_t i = 0; i < nb; i++) {
		serf_member_view(serf, relays[i], &info);
		swim_send_user(serf->swim, &info.addr, buf, (size_t)len);
	}
}

/** Send an ack or a response to the querier, and its relayed copies. */
static int
send_response(struct serf *serf, const struct serf_inq *in, uint32_t flags,
	      const uint8_t *payload, size_t payload_len)
{
	uint8_t buf[SERF_PAYLOAD_MAX + SWIM_NAME_MAX + 64];
	struct serf_msg_query_response r = {
		.ltime = in->ltime,
		.id = in->id,
		.from = { (const uint8_t *)serf->self.str, serf->self.len },
		.flags = flags,
		.payload = { payload, (uint32_t)payload_len },
	};
	int len = serf_msg_encode_query_response(&r, buf, sizeof(buf));

	if (len < 0 || (uint32_t)len > serf->cfg.query_response_size_limit)
		return -EMSGSIZE;
	swim_send_user(serf->swim, &in->to, buf, (size_t)len);
	relay_response(serf, in, buf, (size_t)len);
	serf->stats.queries_answered++;
	return 0;
}

static struct serf_inq *
inq_find(struct serf *serf, uint64_t handle)
{
	for (uint32_t i = 0; i < serf->nb_inq; i++) {
		if (serf->inq[i].handle == handle)
			return &serf->inq[i];
	}
	return NULL;
}

/** Respond (Query.Respond): once, before the deadline, within limits. */
static int
inq_respond(struct serf *serf, uint64_t now_us, struct serf_inq *in,
	    const uint8_t *payload, size_t payload_len)
{
	int rc;

	if (payload_len > serf->cfg.query_response_size_limit)
		return -EMSGSIZE;
	if (in->is_answered)
		return -EALREADY;
	if (now_us > in->deadline_us)
		return -ETIMEDOUT;
	rc = send_response(serf, in, 0, payload, payload_len);
	if (rc == 0)
		in->is_answered = true;
	return rc;
}

int
serf_query_respond(struct serf *serf, uint64_t now_us, uint64_t handle,
		   const uint8_t *payload, size_t payload_len)
{
	struct serf_inq *in = inq_find(serf, handle);

	if (in == NULL)
		return -ENOENT;
	return inq_respond(serf, now_us, in, payload, payload_len);
}

/** Room for one more pending query; past the cap the soonest due goes. */
static struct serf_inq *
inq_slot(struct serf *serf)
{
	struct serf_inq *first;

	if (serf->nb_inq < SERF_INQ_MAX) {
		if (serf_grow((void **)&serf->inq, &serf->cap_inq,
			      serf->nb_inq, sizeof(*serf->inq)) != 0)
			return NULL;
		return &serf->inq[serf->nb_inq++];
	}
	first = &serf->inq[0];
	for (uint32_t i = 1; i < serf->nb_inq; i++) {
		if (serf->inq[i].deadline_us < first->deadline_us)
			first = &serf->inq[i];
	}
	return first;
}

/** Remember a query we may answer; NULL if it cannot be (bad Addr...). */
static struct serf_inq *
inq_add(struct serf *serf, uint64_t now_us, const struct serf_msg_query *q)
{
	struct serf_inq *in;
	struct swim_addr to;

	if (!serf_addr_from(&to, &q->addr, q->port) ||
	    q->source_node.len > SWIM_NAME_MAX)
		return NULL;
	in = inq_slot(serf);
	if (in == NULL)
		return NULL;
	memset(in, 0, sizeof(*in));
	in->handle = serf->next_handle++;
	in->ltime = q->ltime;
	in->id = q->id;
	in->to = to;
	serf_name_set(&in->source, q->source_node.ptr, q->source_node.len);
	in->relay_factor = q->relay_factor;
	in->deadline_us = now_us + (q->timeout_ns > 0 ?
				    (uint64_t)q->timeout_ns / 1000 : 0);
	return in;
}

/** _serf_conflict: the Member we know by the contested name. */
static void
answer_conflict(struct serf *serf, uint64_t now_us, struct serf_inq *in,
		const struct swim_str *name)
{
	uint8_t buf[SERF_PAYLOAD_MAX];
	const struct serf_member *m;
	struct serf_msg_member out;
	struct swim_member_info node;
	int len;

	if (serf_name_eq(&serf->self, name->ptr, name->len))
		return;		/* about us: not ours to vote on */
	m = name->ptr == NULL ? NULL : serf_member_get(serf, name->ptr,
						       name->len);
	if (m != NULL) {
		const struct serf_tagset *ts = serf_member_tags(serf, m);
		serf_member_view(serf, m, &node);
		out = (struct serf_msg_member){
			.name = node.name,
			.addr = { node.addr.ip, node.addr.ip_len },
			.port = node.addr.port,
			.tags = ts->tags, .nb_tags = ts->nb,
			.status = m->status,
		};
		memcpy(out.vsn, node.vsn, SWIM_VSN_LEN);
	}
	len = serf_msg_encode_conflict(m != NULL ? &out : NULL, buf,
				       sizeof(buf));
	if (len > 0)
		inq_respond(serf, now_us, in, buf, (size_t)len);
}

/** Key queries without a keyring: serf's own failure answers. */
static void
answer_no_keyring(struct serf *serf, uint64_t now_us, struct serf_inq *in,
		  const char *op)
{
	static const char list_msg[] =
		"Keyring is empty (encryption not enabled)";
	static const char modify_msg[] =
		"No keyring to modify (encryption not enabled)";
	bool is_list = strcmp(op, "list-keys") == 0;
	struct serf_msg_key_response r = {
		.message = {
			(const uint8_t *)(is_list ? list_msg : modify_msg),
			(uint32_t)(is_list ? sizeof(list_msg) :
				   sizeof(modify_msg)) - 1 },
		.primary_key = { (const uint8_t *)"", 0 },
	};
	uint8_t buf[256];
	int len = serf_msg_encode_key_response(&r, buf, sizeof(buf));

	if (len > 0)
		inq_respond(serf, now_us, in, buf, (size_t)len);
}

/** Internal queries. @retval true if handled here (no event). */
static bool
answer_internal(struct serf *serf, uint64_t now_us, struct serf_inq *in,
		const struct serf_msg_query *q)
{
	static const char *const key_ops[] = {
		"install-key", "use-key", "remove-key", "list-keys",
	};
	size_t plen = sizeof(INTERNAL_PREFIX) - 1;
	char op[32];

	if (q->name.len <= plen || q->name.len - plen >= sizeof(op))
		return true;	/* unknown internal query: ignored */
	memcpy(op, q->name.ptr + plen, q->name.len - plen);
	op[q->name.len - plen] = '\0';
	if (strcmp(op, "ping") == 0)
		return true;	/* the ack was all it wanted */
	if (strcmp(op, "conflict") == 0) {
		answer_conflict(serf, now_us, in, &q->payload);
		return true;
	}
	for (size_t i = 0; i < sizeof(key_ops) / sizeof(key_ops[0]); i++) {
		if (strcmp(op, key_ops[i]) != 0)
			continue;
		if (serf->cfg.keyring_enabled)
			return false;	/* control owns the keyring */
		answer_no_keyring(serf, now_us, in, op);
		return true;
	}
	return true;
}

static bool
is_internal(const struct swim_str *name)
{
	size_t plen = sizeof(INTERNAL_PREFIX) - 1;

	return name->len >= plen && memcmp(name->ptr, INTERNAL_PREFIX,
					   plen) == 0;
}

/** Hand a query to control as an event it may answer. */
static void
query_event(struct serf *serf, const struct serf_inq *in,
	    const struct serf_msg_query *q)
{
	struct serf_event *ev = serf_event_next(serf, SERF_EV_QUERY);

	if (ev == NULL)
		return;
	ev->ltime = q->ltime;
	ev->query_handle = in->handle;
	ev->deadline_us = in->deadline_us;
	if (!serf_event_set_name(ev, &q->name) ||
	    !serf_event_set_payload(ev, &q->payload))
		serf_event_drop_last(serf);
}

bool
serf_query_handle(struct serf *serf, uint64_t now_us,
		  const struct serf_msg_query *q)
{
	struct serf_inq *in;
	bool regossip = (q->flags & SERF_QUERY_FLAG_NO_BROADCAST) == 0;

	serf_clock_witness(&serf->query_clock, q->ltime);
	if (!query_is_new(serf, q))
		return false;
	if (!should_process(serf, q))
		return regossip;
	in = inq_add(serf, now_us, q);
	if (in == NULL)
		return regossip;	/* nowhere to answer to */
	if (q->flags & SERF_QUERY_FLAG_ACK)
		send_response(serf, in, SERF_QUERY_FLAG_ACK, NULL, 0);
	if (!is_internal(&q->name) || !answer_internal(serf, now_us, in, q))
		query_event(serf, in, q);
	return regossip;
}

/* --- asking --- */

uint64_t
serf_query_default_timeout(const struct serf *serf)
{
	uint32_t n = swim_member_count_alive(serf->swim);
	uint64_t mult = 1;

	/* ceil(log10(n + 1)): the number of decimal digits of n. */
	for (uint64_t v = n; v >= 10; v /= 10)
		mult++;
	return serf->cfg.gossip_interval_us * serf->cfg.query_timeout_mult *
	       mult;
}

static struct serf_outq *
outq_find(struct serf *serf, uint64_t ltime)
{
	for (uint32_t i = 0; i < serf->nb_outq; i++) {
		if (serf->outq[i].ltime == ltime)
			return &serf->outq[i];
	}
	return NULL;
}

/** Remember a responder once. @retval true if it is new. */
static bool
names_add(struct serf_name **names, uint32_t *nb, const struct swim_str *n)
{
	for (uint32_t i = 0; i < *nb; i++) {
		if (serf_name_eq(&(*names)[i], n->ptr, n->len))
			return false;
	}
	struct serf_name *p = realloc(*names, (*nb + 1) * sizeof(**names));
	if (p == NULL)
		return false;
	*names = p;
	return serf_name_set(&p[(*nb)++], n->ptr, n->len);
}

void
serf_query_handle_response(struct serf *serf, uint64_t now_us,
			   const struct serf_msg_query_response *r)
{
	struct serf_outq *q = outq_find(serf, r->ltime);
	bool is_ack = (r->flags & SERF_QUERY_FLAG_ACK) != 0;
	struct serf_event *ev;

	if (q == NULL || q->id != r->id || now_us > q->deadline_us ||
	    r->from.ptr == NULL || r->from.len > SWIM_NAME_MAX)
		return;
	if (is_ack && (!q->request_ack ||
		       !names_add(&q->acks, &q->nb_acks, &r->from)))
		return;
	if (!is_ack && !names_add(&q->resps, &q->nb_resps, &r->from))
		return;
	ev = serf_event_next(serf, is_ack ? SERF_EV_QUERY_ACK :
				       SERF_EV_QUERY_RESPONSE);
	if (ev == NULL)
		return;
	ev->ltime = r->ltime;
	ev->query_handle = q->handle;
	serf_event_set_name(ev, &r->from);	/* checked above */
	if (!is_ack && !serf_event_set_payload(ev, &r->payload))
		serf_event_drop_last(serf);
}

/** Encode the query we are about to send; filters go in buf first. */
static int
query_encode(struct serf *serf, struct serf_msg_query *q,
	     const struct serf_query_param *param, uint8_t *buf, size_t cap)
{
	uint8_t filters[SERF_PAYLOAD_MAX];
	int flen = serf_msg_encode_filters(param->filter_nodes,
					   param->nb_filter_nodes,
					   param->filter_tags,
					   param->nb_filter_tags, filters,
					   sizeof(filters));

	if (flen < 0)
		return -EMSGSIZE;
	q->filters = (struct swim_str){ flen == 1 ? NULL : filters,
					(uint32_t)flen };
	int len = serf_msg_encode_query(q, buf, cap);
	if (len < 0 || (uint32_t)len > serf->cfg.query_size_limit)
		return -EMSGSIZE;
	return len;
}

static int
outq_add(struct serf *serf, uint64_t now_us, const struct serf_msg_query *q,
	 uint64_t timeout_us, uint64_t *handle)
{
	struct serf_outq *o;

	if (serf_grow((void **)&serf->outq, &serf->cap_outq, serf->nb_outq,
		      sizeof(*serf->outq)) != 0)
		return -ENOMEM;
	o = &serf->outq[serf->nb_outq++];
	memset(o, 0, sizeof(*o));
	o->handle = *handle = serf->next_handle++;
	o->ltime = q->ltime;
	o->id = q->id;
	o->deadline_us = now_us + timeout_us;
	o->request_ack = (q->flags & SERF_QUERY_FLAG_ACK) != 0;
	return 0;
}

int
serf_query(struct serf *serf, uint64_t now_us, const char *name,
	   size_t name_len, const uint8_t *payload, size_t payload_len,
	   const struct serf_query_param *param, uint64_t *handle)
{
	static const struct serf_query_param none;
	uint8_t buf[SERF_PAYLOAD_MAX + 512];
	const struct serf_member *self = serf->self_member;
	struct swim_member_info me;

	if (param == NULL)
		param = &none;
	if (name_len == 0 || self == NULL)
		return -EINVAL;
	serf_member_view(serf, self, &me);
	if (payload_len > serf->cfg.query_size_limit)
		return -EMSGSIZE;
	uint64_t timeout_us = param->timeout_us != 0 ? param->timeout_us :
			      serf_query_default_timeout(serf);
	struct serf_msg_query q = {
		.ltime = serf->query_clock.time,
		.id = (uint32_t)(serf_rand(serf) >> 33),	/* Int31 */
		.addr = { me.addr.ip, me.addr.ip_len },
		.port = me.addr.port,
		.source_node = { (const uint8_t *)serf->self.str,
				 serf->self.len },
		.flags = param->request_ack ? SERF_QUERY_FLAG_ACK : 0,
		.relay_factor = param->relay_factor,
		.timeout_ns = (int64_t)(timeout_us * 1000),
		.name = { (const uint8_t *)name, (uint32_t)name_len },
		.payload = { payload, (uint32_t)payload_len },
	};
	int len = query_encode(serf, &q, param, buf, sizeof(buf));
	if (len < 0)
		return len;
	if (outq_add(serf, now_us, &q, timeout_us, handle) != 0)
		return -ENOMEM;
	serf_clock_increment(&serf->query_clock);
	/* Decode our own bytes so local handling sees the filters too. */
	struct serf_msg_query local;
	if (serf_msg_decode_query(buf, (size_t)len, &local) == 0)
		serf_query_handle(serf, now_us, &local);
	serf_broadcast(serf, buf, len);
	return 0;
}

/* --- relays --- */

int
serf_relay_handle(struct serf *serf, const uint8_t *buf, size_t len)
{
	struct serf_msg_relay r;
	struct swim_addr to;
	int rc = serf_msg_decode_relay(buf, len, &r);

	if (rc != 0)
		return rc;
	if (!serf_addr_from(&to, &r.dest_ip, r.dest_port))
		return SWIM_WIRE_E_LENGTH;
	swim_send_user(serf->swim, &to, r.inner.ptr, r.inner.len);
	serf->stats.relays++;
	return 0;
}

/* --- timers --- */

void
serf_query_tick(struct serf *serf, uint64_t now_us)
{
	for (uint32_t i = 0; i < serf->nb_inq;) {
		if (now_us > serf->inq[i].deadline_us)
			serf->inq[i] = serf->inq[--serf->nb_inq];
		else
			i++;
	}
	for (uint32_t i = 0; i < serf->nb_outq;) {
		struct serf_outq *o = &serf->outq[i];
		if (now_us <= o->deadline_us) {
			i++;
			continue;
		}
		struct serf_event *ev = serf_event_next(serf,
							SERF_EV_QUERY_DONE);
		if (ev != NULL) {
			ev->ltime = o->ltime;
			ev->query_handle = o->handle;
		}
		free(o->acks);
		free(o->resps);
		serf->outq[i] = serf->outq[--serf->nb_outq];
	}
}

uint64_t
serf_query_next_deadline(const struct serf *serf)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < serf->nb_outq; i++) {
		if (serf->outq[i].deadline_us + 1 < next)
			next = serf->outq[i].deadline_us + 1;
	}
	return next;
}

void
serf_query_free(struct serf *serf)
{
	for (uint32_t i = 0; i < serf->nb_outq; i++) {
		free(serf->outq[i].acks);
		free(serf->outq[i].resps);
	}
	free(serf->outq);
	free(serf->inq);
	serf->outq = NULL;
	serf->inq = NULL;
	serf->nb_outq = serf->nb_inq = 0;
}
