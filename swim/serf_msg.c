/* SPDX-License-Identifier: MIT */
/*
 * Serf message codec (see serf_msg.h): intents, user events, queries,
 * responses, relays, tags, filters, conflict and key responses. The
 * msgpack layer is swim_mp.c, push/pull is in serf_msg_pp.c.
 * Never allocates, never reads past `end`.
 */
#include "serf_msg.h"
#include "swim_mp.h"

#include <string.h>

/* --- encoders --- */

int
serf_msg_encode_join(const struct serf_msg_join *m, uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_JOIN);
	swim_mp_put_map(&w, 2);
	swim_mp_put_key(&w, "LTime");
	swim_mp_put_uint(&w, m->ltime);
	swim_mp_put_key(&w, "Node");
	swim_mp_put_str(&w, &m->node);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_leave(const struct serf_msg_leave *m, uint8_t *out,
		      size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_LEAVE);
	swim_mp_put_map(&w, 3);
	swim_mp_put_key(&w, "LTime");
	swim_mp_put_uint(&w, m->ltime);
	swim_mp_put_key(&w, "Node");
	swim_mp_put_str(&w, &m->node);
	swim_mp_put_key(&w, "Prune");
	swim_mp_put_bool(&w, m->prune);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_user_event(const struct serf_msg_user_event *m,
			   uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_USER_EVENT);
	swim_mp_put_map(&w, 4);
	swim_mp_put_key(&w, "CC");
	swim_mp_put_bool(&w, m->cc);
	swim_mp_put_key(&w, "LTime");
	swim_mp_put_uint(&w, m->ltime);
	swim_mp_put_key(&w, "Name");
	swim_mp_put_str(&w, &m->name);
	swim_mp_put_key(&w, "Payload");
	swim_mp_put_bytes(&w, &m->payload);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_query(const struct serf_msg_query *m, uint8_t *out,
		      size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_QUERY);
	swim_mp_put_map(&w, 11);
	swim_mp_put_key(&w, "Addr");
	swim_mp_put_bytes(&w, &m->addr);
	swim_mp_put_key(&w, "Filters");
	if (m->filters.ptr == NULL)
		swim_mp_put_u8(&w, 0xc0);
	else
		swim_mp_put_raw(&w, m->filters.ptr, m->filters.len);
	swim_mp_put_key(&w, "Flags");
	swim_mp_put_uint(&w, m->flags);
	swim_mp_put_key(&w, "ID");
	swim_mp_put_uint(&w, m->id);
	swim_mp_put_key(&w, "LTime");
	swim_mp_put_uint(&w, m->ltime);
	swim_mp_put_key(&w, "Name");
	swim_mp_put_str(&w, &m->name);
	swim_mp_put_key(&w, "Payload");
	swim_mp_put_bytes(&w, &m->payload);
	swim_mp_put_key(&w, "Port");
	swim_mp_put_uint(&w, m->port);
	swim_mp_put_key(&w, "RelayFactor");
	swim_mp_put_uint(&w, m->relay_factor);
	swim_mp_put_key(&w, "SourceNode");
	swim_mp_put_str(&w, &m->source_node);
	swim_mp_put_key(&w, "Timeout");
	swim_mp_put_int(&w, m->timeout_ns);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_query_response(const struct serf_msg_query_response *m,
			       uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_QUERY_RESPONSE);
	swim_mp_put_map(&w, 5);
	swim_mp_put_key(&w, "Flags");
	swim_mp_put_uint(&w, m->flags);
	swim_mp_put_key(&w, "From");
	swim_mp_put_str(&w, &m->from);
	swim_mp_put_key(&w, "ID");
	swim_mp_put_uint(&w, m->id);
	swim_mp_put_key(&w, "LTime");
	swim_mp_put_uint(&w, m->ltime);
	swim_mp_put_key(&w, "Payload");
	swim_mp_put_bytes(&w, &m->payload);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_relay(const struct serf_msg_relay *m, uint8_t *out,
		      size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_RELAY);
	swim_mp_put_map(&w, 2);
	swim_mp_put_key(&w, "DestAddr");
	swim_mp_put_map(&w, 3);
	swim_mp_put_key(&w, "IP");
	swim_mp_put_bytes(&w, &m->dest_ip);
	swim_mp_put_key(&w, "Port");
	swim_mp_put_uint(&w, m->dest_port);
	swim_mp_put_key(&w, "Zone");
	swim_mp_put_str(&w, &m->dest_zone);
	swim_mp_put_key(&w, "DestName");
	swim_mp_put_str(&w, &m->dest_name);
	swim_mp_put_raw(&w, m->inner.ptr, m->inner.len);
	return swim_mp_w_result(&w);
}

static void
w_tags(struct swim_mp_w *w, const struct serf_tag *tags, uint32_t nb)
{
	swim_mp_put_map(w, nb);
	for (uint32_t i = 0; i < nb; i++) {
		swim_mp_put_strn(w, tags[i].key, tags[i].key_len);
		swim_mp_put_strn(w, tags[i].value, tags[i].value_len);
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
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_CONFLICT_RESPONSE);
	if (m == NULL) {
		swim_mp_put_u8(&w, 0xc0);
		return swim_mp_w_result(&w);
	}
	swim_mp_put_map(&w, 11);
	swim_mp_put_key(&w, "Addr");
	swim_mp_put_bytes(&w, &m->addr);
	for (int i = 5; i >= 3; i--) {	/* DelegateCur, Max, Min */
		swim_mp_put_key(&w, vsn_keys[i]);
		swim_mp_put_uint(&w, m->vsn[i]);
	}
	swim_mp_put_key(&w, "Name");
	swim_mp_put_str(&w, &m->name);
	swim_mp_put_key(&w, "Port");
	swim_mp_put_uint(&w, m->port);
	for (int i = 2; i >= 0; i--) {	/* ProtocolCur, Max, Min */
		swim_mp_put_key(&w, vsn_keys[i]);
		swim_mp_put_uint(&w, m->vsn[i]);
	}
	swim_mp_put_key(&w, "Status");
	swim_mp_put_uint(&w, m->status);
	swim_mp_put_key(&w, "Tags");
	w_tags(&w, m->tags, m->nb_tags);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_key_response(const struct serf_msg_key_response *m,
			     uint8_t *out, size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_KEY_RESPONSE);
	swim_mp_put_map(&w, 4);
	swim_mp_put_key(&w, "Keys");
	if (m->keys == NULL) {
		swim_mp_put_u8(&w, 0xc0);
	} else {
		swim_mp_put_array(&w, m->nb_keys);
		for (uint32_t i = 0; i < m->nb_keys; i++)
			swim_mp_put_str(&w, &m->keys[i]);
	}
	swim_mp_put_key(&w, "Message");
	swim_mp_put_str(&w, &m->message);
	swim_mp_put_key(&w, "PrimaryKey");
	swim_mp_put_str(&w, &m->primary_key);
	swim_mp_put_key(&w, "Result");
	swim_mp_put_bool(&w, m->result);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_tags(const struct serf_tag *tags, uint32_t nb, uint8_t *out,
		     size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_TAG_MAGIC);
	w_tags(&w, tags, nb);
	return swim_mp_w_result(&w);
}

/** One filter as a byte string: its length is known only after encoding. */
static void
w_filter_node(struct swim_mp_w *w, const struct swim_str *nodes, uint32_t nb)
{
	struct swim_mp_w body;
	uint8_t tmp[SWIM_UDP_BUDGET];

	swim_mp_w_create(&body, tmp, sizeof(tmp));
	swim_mp_put_u8(&body, SERF_FILTER_NODE);
	swim_mp_put_array(&body, nb);
	for (uint32_t i = 0; i < nb; i++)
		swim_mp_put_str(&body, &nodes[i]);
	if (body.is_full) {
		w->is_full = true;
		return;
	}
	swim_mp_put_strn(w, tmp, (uint32_t)(body.p - tmp));
}

static void
w_filter_tag(struct swim_mp_w *w, const struct serf_tag *t)
{
	struct swim_mp_w body;
	uint8_t tmp[SWIM_UDP_BUDGET];

	swim_mp_w_create(&body, tmp, sizeof(tmp));
	swim_mp_put_u8(&body, SERF_FILTER_TAG);
	swim_mp_put_map(&body, 2);
	swim_mp_put_key(&body, "Expr");
	swim_mp_put_strn(&body, t->value, t->value_len);
	swim_mp_put_key(&body, "Tag");
	swim_mp_put_strn(&body, t->key, t->key_len);
	if (body.is_full) {
		w->is_full = true;
		return;
	}
	swim_mp_put_strn(w, tmp, (uint32_t)(body.p - tmp));
}

int
serf_msg_encode_filters(const struct swim_str *nodes, uint32_t nb_nodes,
			const struct serf_tag *tag_filters,
			uint32_t nb_tag_filters, uint8_t *out, size_t cap)
{
	struct swim_mp_w w;
	uint32_t nb = nb_tag_filters + (nb_nodes > 0 ? 1 : 0);

	swim_mp_w_create(&w, out, cap);
	if (nb == 0) {
		swim_mp_put_u8(&w, 0xc0);
		return swim_mp_w_result(&w);
	}
	swim_mp_put_array(&w, nb);
	if (nb_nodes > 0)
		w_filter_node(&w, nodes, nb_nodes);
	for (uint32_t i = 0; i < nb_tag_filters; i++)
		w_filter_tag(&w, &tag_filters[i]);
	return swim_mp_w_result(&w);
}

/* --- decoders: each message is a table of its fields --- */

int
serf_msg_type(const uint8_t *buf, size_t len)
{
	return len == 0 ? SWIM_WIRE_E_EMPTY : buf[0];
}

int
serf_msg_decode_join(const uint8_t *buf, size_t len, struct serf_msg_join *m)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("LTime", U64, struct serf_msg_join, ltime),
		SWIM_MP_IN("Node", BYTES, struct serf_msg_join, node),
	};

	memset(m, 0, sizeof(*m));
	return swim_mp_decode_msg(buf, len, SERF_MSG_JOIN, f, SWIM_MP_NB(f), m);
}

int
serf_msg_decode_leave(const uint8_t *buf, size_t len,
		      struct serf_msg_leave *m)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("LTime", U64, struct serf_msg_leave, ltime),
		SWIM_MP_IN("Node", BYTES, struct serf_msg_leave, node),
		SWIM_MP_IN("Prune", BOOL, struct serf_msg_leave, prune),
	};

	memset(m, 0, sizeof(*m));
	return swim_mp_decode_msg(buf, len, SERF_MSG_LEAVE, f,
				  SWIM_MP_NB(f), m);
}

int
serf_msg_decode_user_event(const uint8_t *buf, size_t len,
			   struct serf_msg_user_event *m)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("CC", BOOL, struct serf_msg_user_event, cc),
		SWIM_MP_IN("LTime", U64, struct serf_msg_user_event, ltime),
		SWIM_MP_IN("Name", BYTES, struct serf_msg_user_event, name),
		SWIM_MP_IN("Payload", BYTES, struct serf_msg_user_event,
			   payload),
	};

	memset(m, 0, sizeof(*m));
	return swim_mp_decode_msg(buf, len, SERF_MSG_USER_EVENT, f,
				  SWIM_MP_NB(f), m);
}

/** Filters: nil or an array of byte strings; kept raw and as a body. */
static int
rd_filters(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct serf_msg_query *m = obj;
	const uint8_t *start = *pos;
	const uint8_t *p;
	struct swim_str f;
	int rc = swim_mp_read_body(pos, end, false, &m->filters_body,
				   &m->nb_filters);

	p = m->filters_body.ptr;
	for (uint32_t i = 0; rc == 0 && i < m->nb_filters; i++)
		rc = swim_mp_read_str(&p, end, &f);
	if (rc != 0)
		return rc;
	m->filters.ptr = *start == 0xc0 ? NULL : start;
	m->filters.len = m->filters.ptr == NULL ? 0 : (uint32_t)(*pos - start);
	return 0;
}

int
serf_msg_decode_query(const uint8_t *buf, size_t len,
		      struct serf_msg_query *m)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("Addr", BYTES, struct serf_msg_query, addr),
		SWIM_MP_IN_FN("Filters", rd_filters),
		SWIM_MP_IN("Flags", U32, struct serf_msg_query, flags),
		SWIM_MP_IN("ID", U32, struct serf_msg_query, id),
		SWIM_MP_IN("LTime", U64, struct serf_msg_query, ltime),
		SWIM_MP_IN("Name", BYTES, struct serf_msg_query, name),
		SWIM_MP_IN("Payload", BYTES, struct serf_msg_query, payload),
		SWIM_MP_IN("Port", U16, struct serf_msg_query, port),
		SWIM_MP_IN("RelayFactor", U8, struct serf_msg_query,
			   relay_factor),
		SWIM_MP_IN("SourceNode", BYTES, struct serf_msg_query,
			   source_node),
		SWIM_MP_IN("Timeout", I64, struct serf_msg_query, timeout_ns),
	};

	memset(m, 0, sizeof(*m));
	return swim_mp_decode_msg(buf, len, SERF_MSG_QUERY, f,
				  SWIM_MP_NB(f), m);
}

int
serf_msg_decode_query_response(const uint8_t *buf, size_t len,
			       struct serf_msg_query_response *m)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("Flags", U32, struct serf_msg_query_response, flags),
		SWIM_MP_IN("From", BYTES, struct serf_msg_query_response, from),
		SWIM_MP_IN("ID", U32, struct serf_msg_query_response, id),
		SWIM_MP_IN("LTime", U64, struct serf_msg_query_response, ltime),
		SWIM_MP_IN("Payload", BYTES, struct serf_msg_query_response,
			   payload),
	};

	memset(m, 0, sizeof(*m));
	return swim_mp_decode_msg(buf, len, SERF_MSG_QUERY_RESPONSE, f,
				  SWIM_MP_NB(f), m);
}

/** DestAddr, a net.UDPAddr: {IP, Port, Zone}. */
static int
rd_dest_addr(const uint8_t **pos, const uint8_t *end, void *obj)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("IP", BYTES, struct serf_msg_relay, dest_ip),
		SWIM_MP_IN("Port", U16, struct serf_msg_relay, dest_port),
		SWIM_MP_IN("Zone", BYTES, struct serf_msg_relay, dest_zone),
	};

	return swim_mp_decode_struct(pos, end, SWIM_MP_SERF, f, SWIM_MP_NB(f),
				     obj);
}

int
serf_msg_decode_relay(const uint8_t *buf, size_t len,
		      struct serf_msg_relay *m)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN_FN("DestAddr", rd_dest_addr),
		SWIM_MP_IN("DestName", BYTES, struct serf_msg_relay, dest_name),
	};
	const uint8_t *pos = buf + 1;
	const uint8_t *end = buf + len;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len == 0)
		return SWIM_WIRE_E_EMPTY;
	if (buf[0] != SERF_MSG_RELAY)
		return SWIM_WIRE_E_UNKNOWN_MSG;
	rc = swim_mp_decode_struct(&pos, end, SWIM_MP_SERF, f, SWIM_MP_NB(f),
				   m);
	if (rc != 0)
		return rc;
	if (pos >= end)
		return SWIM_WIRE_E_EMPTY;	/* no inner message */
	m->inner.ptr = pos;
	m->inner.len = (uint32_t)(end - pos);
	return 0;
}

/** Key response decoding: the message and where its keys go. */
struct key_resp_ctx {
	struct serf_msg_key_response m;
	struct swim_str *keys;
	uint32_t max_keys;
};

static int
rd_keys(const uint8_t **pos, const uint8_t *end, void *obj)
{
	struct key_resp_ctx *c = obj;
	uint32_t nb = 0;
	struct swim_str key;
	int rc = swim_mp_read_container(pos, end, false, &nb);

	c->m.nb_keys = nb;
	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		rc = swim_mp_read_str(pos, end, &key);
		if (rc == 0 && i < c->max_keys)
			c->keys[i] = key;
	}
	return rc;
}

int
serf_msg_decode_key_response(const uint8_t *buf, size_t len,
			     struct serf_msg_key_response *m,
			     struct swim_str *keys, uint32_t max_keys)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN_FN("Keys", rd_keys),
		SWIM_MP_IN("Message", BYTES, struct key_resp_ctx, m.message),
		SWIM_MP_IN("PrimaryKey", BYTES, struct key_resp_ctx,
			   m.primary_key),
		SWIM_MP_IN("Result", BOOL, struct key_resp_ctx, m.result),
	};
	struct key_resp_ctx c = { .keys = keys, .max_keys = max_keys };
	int rc;

	c.m.keys = keys;
	rc = swim_mp_decode_msg(buf, len, SERF_MSG_KEY_RESPONSE, f,
				SWIM_MP_NB(f), &c);
	*m = c.m;
	return rc;
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
	rc = swim_mp_read_container(&pos, end, true, &nb);
	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		rc = swim_mp_read_str(&pos, end, &k);
		if (rc == 0)
			rc = swim_mp_read_str(&pos, end, &v);
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
	int rc = swim_mp_read_container(&pos, end, false, &nb);
	int found = 0;

	for (uint32_t i = 0; rc == 0 && i < nb; i++) {
		rc = swim_mp_read_str(&pos, end, &n);
		if (rc == 0 && n.len == name_len &&
		    (name_len == 0 || memcmp(n.ptr, name, name_len) == 0))
			found = 1;
	}
	return rc != 0 ? rc : found;
}

/** The filterTag struct: {Expr, Tag}. */
struct tag_filter {
	struct swim_str expr;
	struct swim_str tag;
};

int
serf_msg_decode_tag_filter(const uint8_t *buf, size_t len,
			   struct swim_str *tag, struct swim_str *expr)
{
	static const struct swim_mp_field f[] = {
		SWIM_MP_IN("Expr", BYTES, struct tag_filter, expr),
		SWIM_MP_IN("Tag", BYTES, struct tag_filter, tag),
	};
	struct tag_filter t = { { NULL, 0 }, { NULL, 0 } };
	const uint8_t *pos = buf;
	int rc = swim_mp_decode_struct(&pos, buf + len, SWIM_MP_SERF, f,
				       SWIM_MP_NB(f), &t);

	*tag = t.tag;
	*expr = t.expr;
	return rc;
}
