/* SPDX-License-Identifier: MIT */
/*
 * Serf message codec (see serf_msg.h): intents, user events, queries,
 * responses, relays, tags, filters, conflict and key responses. The
 * msgpack primitives are in serf_mp.c, push/pull in serf_msg_pp.c.
 * Never allocates, never reads past `end`.
 */
#include "serf_msg.h"
#include "serf_mp.h"

#include <string.h>

/* --- encoders --- */

int
serf_msg_encode_join(const struct serf_msg_join *m, uint8_t *out, size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_JOIN);
	serf_w_map(&w, 2);
	serf_w_key(&w, "LTime");
	serf_w_uint(&w, m->ltime);
	serf_w_key(&w, "Node");
	serf_w_gostr(&w, &m->node);
	return serf_w_result(&w);
}

int
serf_msg_encode_leave(const struct serf_msg_leave *m, uint8_t *out,
		      size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_LEAVE);
	serf_w_map(&w, 3);
	serf_w_key(&w, "LTime");
	serf_w_uint(&w, m->ltime);
	serf_w_key(&w, "Node");
	serf_w_gostr(&w, &m->node);
	serf_w_key(&w, "Prune");
	serf_w_bool(&w, m->prune);
	return serf_w_result(&w);
}

int
serf_msg_encode_user_event(const struct serf_msg_user_event *m,
			   uint8_t *out, size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_USER_EVENT);
	serf_w_map(&w, 4);
	serf_w_key(&w, "CC");
	serf_w_bool(&w, m->cc);
	serf_w_key(&w, "LTime");
	serf_w_uint(&w, m->ltime);
	serf_w_key(&w, "Name");
	serf_w_gostr(&w, &m->name);
	serf_w_key(&w, "Payload");
	serf_w_bytes(&w, &m->payload);
	return serf_w_result(&w);
}

int
serf_msg_encode_query(const struct serf_msg_query *m, uint8_t *out,
		      size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_QUERY);
	serf_w_map(&w, 11);
	serf_w_key(&w, "Addr");
	serf_w_bytes(&w, &m->addr);
	serf_w_key(&w, "Filters");
	if (m->filters.ptr == NULL)
		serf_w_u8(&w, 0xc0);
	else
		serf_w_raw(&w, m->filters.ptr, m->filters.len);
	serf_w_key(&w, "Flags");
	serf_w_uint(&w, m->flags);
	serf_w_key(&w, "ID");
	serf_w_uint(&w, m->id);
	serf_w_key(&w, "LTime");
	serf_w_uint(&w, m->ltime);
	serf_w_key(&w, "Name");
	serf_w_gostr(&w, &m->name);
	serf_w_key(&w, "Payload");
	serf_w_bytes(&w, &m->payload);
	serf_w_key(&w, "Port");
	serf_w_uint(&w, m->port);
	serf_w_key(&w, "RelayFactor");
	serf_w_uint(&w, m->relay_factor);
	serf_w_key(&w, "SourceNode");
	serf_w_gostr(&w, &m->source_node);
	serf_w_key(&w, "Timeout");
	serf_w_int(&w, m->timeout_ns);
	return serf_w_result(&w);
}

int
serf_msg_encode_query_response(const struct serf_msg_query_response *m,
			       uint8_t *out, size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_QUERY_RESPONSE);
	serf_w_map(&w, 5);
	serf_w_key(&w, "Flags");
	serf_w_uint(&w, m->flags);
	serf_w_key(&w, "From");
	serf_w_gostr(&w, &m->from);
	serf_w_key(&w, "ID");
	serf_w_uint(&w, m->id);
	serf_w_key(&w, "LTime");
	serf_w_uint(&w, m->ltime);
	serf_w_key(&w, "Payload");
	serf_w_bytes(&w, &m->payload);
	return serf_w_result(&w);
}

int
serf_msg_encode_relay(const struct serf_msg_relay *m, uint8_t *out,
		      size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_RELAY);
	serf_w_map(&w, 2);
	serf_w_key(&w, "DestAddr");
	serf_w_map(&w, 3);
	serf_w_key(&w, "IP");
	serf_w_bytes(&w, &m->dest_ip);
	serf_w_key(&w, "Port");
	serf_w_uint(&w, m->dest_port);
	serf_w_key(&w, "Zone");
	serf_w_gostr(&w, &m->dest_zone);
	serf_w_key(&w, "DestName");
	serf_w_gostr(&w, &m->dest_name);
	serf_w_raw(&w, m->inner.ptr, m->inner.len);
	return serf_w_result(&w);
}

static void
w_tags(struct serf_w *w, const struct serf_tag *tags, uint32_t nb)
{
	serf_w_map(w, nb);
	for (uint32_t i = 0; i < nb; i++) {
		serf_w_str(w, tags[i].key, tags[i].key_len);
		serf_w_str(w, tags[i].value, tags[i].value_len);
	}
}

int
serf_msg_encode_conflict(const struct serf_msg_member *m, uint8_t *out,
			 size_t cap)
{
	static const char *const vsn_keys[SWIM_VSN_LEN] = {
		"ProtocolMin", "ProtocolMax", "ProtocolCur",
		"DelegateMin", "DelegateMax", "DelegateCur",
	};
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_CONFLICT_RESPONSE);
	if (m == NULL) {
		serf_w_u8(&w, 0xc0);
		return serf_w_result(&w);
	}
	serf_w_map(&w, 11);
	serf_w_key(&w, "Addr");
	serf_w_bytes(&w, &m->addr);
	for (int i = 5; i >= 3; i--) {	/* DelegateCur, Max, Min */
		serf_w_key(&w, vsn_keys[i]);
		serf_w_uint(&w, m->vsn[i]);
	}
	serf_w_key(&w, "Name");
	serf_w_gostr(&w, &m->name);
	serf_w_key(&w, "Port");
	serf_w_uint(&w, m->port);
	for (int i = 2; i >= 0; i--) {	/* ProtocolCur, Max, Min */
		serf_w_key(&w, vsn_keys[i]);
		serf_w_uint(&w, m->vsn[i]);
	}
	serf_w_key(&w, "Status");
	serf_w_uint(&w, m->status);
	serf_w_key(&w, "Tags");
	w_tags(&w, m->tags, m->nb_tags);
	return serf_w_result(&w);
}

int
serf_msg_encode_key_response(const struct serf_msg_key_response *m,
			     uint8_t *out, size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_MSG_KEY_RESPONSE);
	serf_w_map(&w, 4);
	serf_w_key(&w, "Keys");
	if (m->keys == NULL) {
		serf_w_u8(&w, 0xc0);
	} else {
		serf_w_array(&w, m->nb_keys);
		for (uint32_t i = 0; i < m->nb_keys; i++)
			serf_w_gostr(&w, &m->keys[i]);
	}
	serf_w_key(&w, "Message");
	serf_w_gostr(&w, &m->message);
	serf_w_key(&w, "PrimaryKey");
	serf_w_gostr(&w, &m->primary_key);
	serf_w_key(&w, "Result");
	serf_w_bool(&w, m->result);
	return serf_w_result(&w);
}

int
serf_msg_encode_tags(const struct serf_tag *tags, uint32_t nb, uint8_t *out,
		     size_t cap)
{
	struct serf_w w;

	serf_w_init(&w, out, cap);
	serf_w_u8(&w, SERF_TAG_MAGIC);
	w_tags(&w, tags, nb);
	return serf_w_result(&w);
}

/** One filter as a byte string: its length is known only after encoding. */
static void
w_filter_node(struct serf_w *w, const struct swim_str *nodes, uint32_t nb)
{
	struct serf_w body;
	uint8_t tmp[SWIM_UDP_BUDGET];

	serf_w_init(&body, tmp, sizeof(tmp));
	serf_w_u8(&body, SERF_FILTER_NODE);
	serf_w_array(&body, nb);
	for (uint32_t i = 0; i < nb; i++)
		serf_w_gostr(&body, &nodes[i]);
	if (body.is_full) {
		w->is_full = true;
		return;
	}
	serf_w_str(w, tmp, (uint32_t)(body.p - tmp));
}

static void
w_filter_tag(struct serf_w *w, const struct serf_tag *t)
{
	struct serf_w body;
	uint8_t tmp[SWIM_UDP_BUDGET];

	serf_w_init(&body, tmp, sizeof(tmp));
	serf_w_u8(&body, SERF_FILTER_TAG);
	serf_w_map(&body, 2);
	serf_w_key(&body, "Expr");
	serf_w_str(&body, t->value, t->value_len);
	serf_w_key(&body, "Tag");
	serf_w_str(&body, t->key, t->key_len);
	if (body.is_full) {
		w->is_full = true;
		return;
	}
	serf_w_str(w, tmp, (uint32_t)(body.p - tmp));
}

int
serf_msg_encode_filters(const struct swim_str *nodes, uint32_t nb_nodes,
			const struct serf_tag *tag_filters,
			uint32_t nb_tag_filters, uint8_t *out, size_t cap)
{
	struct serf_w w;
	uint32_t nb = nb_tag_filters + (nb_nodes > 0 ? 1 : 0);

	serf_w_init(&w, out, cap);
	if (nb == 0) {
		serf_w_u8(&w, 0xc0);
		return serf_w_result(&w);
	}
	serf_w_array(&w, nb);
	if (nb_nodes > 0)
		w_filter_node(&w, nodes, nb_nodes);
	for (uint32_t i = 0; i < nb_tag_filters; i++)
		w_filter_tag(&w, &tag_filters[i]);
	return serf_w_result(&w);
}

/* --- decoders --- */

int
serf_msg_type(const uint8_t *buf, size_t len)
{
	return len == 0 ? SWIM_WIRE_E_EMPTY : buf[0];
}

static int
join_field(void *arg, const struct swim_str *k, const uint8_t **pos,
	   const uint8_t *end)
{
	struct serf_msg_join *m = arg;

	if (serf_key_is(k, "LTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->ltime);
	if (serf_key_is(k, "Node"))
		return serf_rd_str(pos, end, &m->node);
	return 1;
}

int
serf_msg_decode_join(const uint8_t *buf, size_t len, struct serf_msg_join *m)
{
	memset(m, 0, sizeof(*m));
	return serf_rd_msg(buf, len, SERF_MSG_JOIN, m, join_field);
}

static int
leave_field(void *arg, const struct swim_str *k, const uint8_t **pos,
	    const uint8_t *end)
{
	struct serf_msg_leave *m = arg;

	if (serf_key_is(k, "LTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->ltime);
	if (serf_key_is(k, "Node"))
		return serf_rd_str(pos, end, &m->node);
	if (serf_key_is(k, "Prune"))
		return serf_rd_bool(pos, end, &m->prune);
	return 1;
}

int
serf_msg_decode_leave(const uint8_t *buf, size_t len,
		      struct serf_msg_leave *m)
{
	memset(m, 0, sizeof(*m));
	return serf_rd_msg(buf, len, SERF_MSG_LEAVE, m, leave_field);
}

static int
user_event_field(void *arg, const struct swim_str *k, const uint8_t **pos,
		 const uint8_t *end)
{
	struct serf_msg_user_event *m = arg;

	if (serf_key_is(k, "CC"))
		return serf_rd_bool(pos, end, &m->cc);
	if (serf_key_is(k, "LTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->ltime);
	if (serf_key_is(k, "Name"))
		return serf_rd_str(pos, end, &m->name);
	if (serf_key_is(k, "Payload"))
		return serf_rd_str(pos, end, &m->payload);
	return 1;
}

int
serf_msg_decode_user_event(const uint8_t *buf, size_t len,
			   struct serf_msg_user_event *m)
{
	memset(m, 0, sizeof(*m));
	return serf_rd_msg(buf, len, SERF_MSG_USER_EVENT, m, user_event_field);
}

/** Filters: nil or an array of byte strings; kept raw and as a body. */
static int
rd_filters(const uint8_t **pos, const uint8_t *end, struct serf_msg_query *m)
{
	const uint8_t *start = *pos;
	const uint8_t *p;
	struct swim_str f;
	int rc = serf_rd_body(pos, end, false, &m->filters_body,
			      &m->nb_filters);

	p = m->filters_body.ptr;
	for (uint32_t i = 0; rc == 0 && i < m->nb_filters; i++)
		rc = serf_rd_str(&p, end, &f);
	if (rc != 0)
		return rc;
	m->filters.ptr = *start == 0xc0 ? NULL : start;
	m->filters.len = m->filters.ptr == NULL ? 0 : (uint32_t)(*pos - start);
	return 0;
}

static int
query_field2(struct serf_msg_query *m, const struct swim_str *k,
	     const uint8_t **pos, const uint8_t *end)
{
	uint64_t u;
	int rc;

	if (serf_key_is(k, "Port")) {
		rc = serf_rd_uint(pos, end, UINT16_MAX, &u);
		m->port = (uint16_t)u;
		return rc;
	}
	if (serf_key_is(k, "RelayFactor")) {
		rc = serf_rd_uint(pos, end, UINT8_MAX, &u);
		m->relay_factor = (uint8_t)u;
		return rc;
	}
	if (serf_key_is(k, "SourceNode"))
		return serf_rd_str(pos, end, &m->source_node);
	if (serf_key_is(k, "Timeout"))
		return serf_rd_int64(pos, end, &m->timeout_ns);
	return 1;
}

static int
query_field(void *arg, const struct swim_str *k, const uint8_t **pos,
	    const uint8_t *end)
{
	struct serf_msg_query *m = arg;

	if (serf_key_is(k, "Addr"))
		return serf_rd_str(pos, end, &m->addr);
	if (serf_key_is(k, "Filters"))
		return rd_filters(pos, end, m);
	if (serf_key_is(k, "Flags"))
		return serf_rd_u32(pos, end, &m->flags);
	if (serf_key_is(k, "ID"))
		return serf_rd_u32(pos, end, &m->id);
	if (serf_key_is(k, "LTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->ltime);
	if (serf_key_is(k, "Name"))
		return serf_rd_str(pos, end, &m->name);
	if (serf_key_is(k, "Payload"))
		return serf_rd_str(pos, end, &m->payload);
	return query_field2(m, k, pos, end);
}

int
serf_msg_decode_query(const uint8_t *buf, size_t len,
		      struct serf_msg_query *m)
{
	memset(m, 0, sizeof(*m));
	return serf_rd_msg(buf, len, SERF_MSG_QUERY, m, query_field);
}

static int
query_response_field(void *arg, const struct swim_str *k,
		     const uint8_t **pos, const uint8_t *end)
{
	struct serf_msg_query_response *m = arg;

	if (serf_key_is(k, "Flags"))
		return serf_rd_u32(pos, end, &m->flags);
	if (serf_key_is(k, "From"))
		return serf_rd_str(pos, end, &m->from);
	if (serf_key_is(k, "ID"))
		return serf_rd_u32(pos, end, &m->id);
	if (serf_key_is(k, "LTime"))
		return serf_rd_uint(pos, end, UINT64_MAX, &m->ltime);
	if (serf_key_is(k, "Payload"))
		return serf_rd_str(pos, end, &m->payload);
	return 1;
}

int
serf_msg_decode_query_response(const uint8_t *buf, size_t len,
			       struct serf_msg_query_response *m)
{
	memset(m, 0, sizeof(*m));
	return serf_rd_msg(buf, len, SERF_MSG_QUERY_RESPONSE, m,
		      query_response_field);
}


static int
dest_addr_field(void *arg, const struct swim_str *k, const uint8_t **pos,
		const uint8_t *end)
{
	struct serf_msg_relay *m = arg;
	uint64_t u;
	int rc;

	if (serf_key_is(k, "IP"))
		return serf_rd_str(pos, end, &m->dest_ip);
	if (serf_key_is(k, "Zone"))
		return serf_rd_str(pos, end, &m->dest_zone);
	if (serf_key_is(k, "Port")) {
		rc = serf_rd_uint(pos, end, UINT16_MAX, &u);
		m->dest_port = (uint16_t)u;
		return rc;
	}
	return 1;
}

static int
relay_field(void *arg, const struct swim_str *k, const uint8_t **pos,
	    const uint8_t *end)
{
	struct serf_msg_relay *m = arg;

	if (serf_key_is(k, "DestAddr"))
		return serf_rd_struct(pos, end, m, dest_addr_field);
	if (serf_key_is(k, "DestName"))
		return serf_rd_str(pos, end, &m->dest_name);
	return 1;
}

int
serf_msg_decode_relay(const uint8_t *buf, size_t len,
		      struct serf_msg_relay *m)
{
	const uint8_t *pos = buf + 1;
	const uint8_t *end = buf + len;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len == 0)
		return SWIM_WIRE_E_EMPTY;
	if (buf[0] != SERF_MSG_RELAY)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	rc = serf_rd_struct(&pos, end, m, relay_field);
	if (rc != 0)
		return rc;
	if (pos >= end)
		return SWIM_WIRE_E_EMPTY;	/* no inner message */
	m->inner.ptr = pos;
	m->inner.len = (uint32_t)(end - pos);
	return 0;
}

/** Key response decoding context: where the keys go. */
struct key_resp_ctx {
	struct serf_msg_key_response *m;
	struct swim_str *keys;
	uint32_t max_keys;
};

static int
key_resp_keys(struct key_resp_ctx *c, const uint8_t **pos,
	      const uint8_t *end)
{
	uint32_t nb;
	struct swim_str key;
	int rc = serf_rd_container(pos, end, false, &nb);

	c->m->nb_keys = nb;
	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		rc = serf_rd_str(pos, end, &key);
		if (rc == 0 && i < c->max_keys)
			c->keys[i] = key;
	}
	return rc;
}

static int
key_resp_field(void *arg, const struct swim_str *k, const uint8_t **pos,
	       const uint8_t *end)
{
	struct key_resp_ctx *c = arg;

	if (serf_key_is(k, "Keys"))
		return key_resp_keys(c, pos, end);
	if (serf_key_is(k, "Message"))
		return serf_rd_str(pos, end, &c->m->message);
	if (serf_key_is(k, "PrimaryKey"))
		return serf_rd_str(pos, end, &c->m->primary_key);
	if (serf_key_is(k, "Result"))
		return serf_rd_bool(pos, end, &c->m->result);
	return 1;
}

int
serf_msg_decode_key_response(const uint8_t *buf, size_t len,
			     struct serf_msg_key_response *m,
			     struct swim_str *keys, uint32_t max_keys)
{
	struct key_resp_ctx c = { .m = m, .keys = keys, .max_keys = max_keys };

	memset(m, 0, sizeof(*m));
	m->keys = keys;
	return serf_rd_msg(buf, len, SERF_MSG_KEY_RESPONSE, &c, key_resp_field);
}

int
serf_msg_decode_tags(const uint8_t *meta, size_t len, struct serf_tag *tags,
		     uint32_t max)
{
	const uint8_t *pos;
	const uint8_t *end = meta + len;
	struct swim_str k, v;
	uint32_t nb;
	int rc;

	if (len == 0 || meta[0] != SERF_TAG_MAGIC) {
		/* Pre-tags Serf: the whole Meta is the role. */
		if (max > 0) {
			tags[0] = (struct serf_tag){ "role", (const char *)meta,
						     4, (uint32_t)len };
		}
		return 1;
	}
	pos = meta + 1;
	rc = serf_rd_container(&pos, end, true, &nb);
	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		rc = serf_rd_str(&pos, end, &k);
		if (rc == 0)
			rc = serf_rd_str(&pos, end, &v);
		if (rc == 0 && i < max) {
			tags[i] = (struct serf_tag){ (const char *)k.ptr,
				(const char *)v.ptr, k.len, v.len };
		}
	}
	if (rc != 0)
		return rc;
	return nb > INT32_MAX ? SWIM_WIRE_E_LENGTH : (int)nb;
}

int
serf_msg_node_filter_has(const uint8_t *buf, size_t len, const char *name,
			 size_t name_len)
{
	const uint8_t *pos = buf;
	const uint8_t *end = buf + len;
	struct swim_str n;
	uint32_t nb;
	int rc = serf_rd_container(&pos, end, false, &nb);
	int found = 0;

	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		rc = serf_rd_str(&pos, end, &n);
		if (rc == 0 && n.len == name_len &&
		    (name_len == 0 || memcmp(n.ptr, name, name_len) == 0))
			found = 1;
	}
	return rc != 0 ? rc : found;
}

/** The filterTag struct: {Expr, Tag}. */
struct tag_filter_ctx {
	struct swim_str *tag;
	struct swim_str *expr;
};

static int
tag_filter_field(void *arg, const struct swim_str *k, const uint8_t **pos,
		 const uint8_t *end)
{
	struct tag_filter_ctx *c = arg;

	if (serf_key_is(k, "Tag"))
		return serf_rd_str(pos, end, c->tag);
	if (serf_key_is(k, "Expr"))
		return serf_rd_str(pos, end, c->expr);
	return 1;
}

int
serf_msg_decode_tag_filter(const uint8_t *buf, size_t len,
			   struct swim_str *tag, struct swim_str *expr)
{
	struct tag_filter_ctx c = { tag, expr };
	const uint8_t *pos = buf;

	memset(tag, 0, sizeof(*tag));
	memset(expr, 0, sizeof(*expr));
	return serf_rd_struct(&pos, buf + len, &c, tag_filter_field);
}
