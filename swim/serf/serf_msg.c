/* SPDX-License-Identifier: MIT */
/*
 * Serf message codec (see serf_msg.h): intents, user events, queries,
 * responses, relays, tags, filters, conflict and key responses. Each
 * message is one field table (swim_mp.h), sorted by key as go-msgpack
 * writes them, that both its encoder and its decoder use. Push/pull is in
 * serf_msg_pp.c. Never allocates, never reads past `end`.
 */
#include "serf_msg.h"
#include "swim_mp.h"

#include <string.h>

#define F SWIM_MP_F

/* --- the messages --- */

#define T struct serf_msg_join
static const struct swim_mp_field join_f[] = {
	F("LTime", U64, T, ltime),
	F("Node", STR, T, node),
};
#undef T

#define T struct serf_msg_leave
static const struct swim_mp_field leave_f[] = {
	F("LTime", U64, T, ltime),
	F("Node", STR, T, node),
	F("Prune", BOOL, T, prune),
};
#undef T

#define T struct serf_msg_user_event
static const struct swim_mp_field user_event_f[] = {
	F("CC", BOOL, T, cc),
	F("LTime", U64, T, ltime),
	F("Name", STR, T, name),
	F("Payload", BYTES, T, payload),
};
#undef T

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

/** Filters as serf_msg_encode_filters made them (raw), or nil. */
static void
wr_filters(struct swim_mp_w *w, const void *obj)
{
	const struct serf_msg_query *m = obj;

	if (m->filters.ptr == NULL)
		swim_mp_put_u8(w, 0xc0);
	else
		swim_mp_put_raw(w, m->filters.ptr, m->filters.len);
}

#define T struct serf_msg_query
static const struct swim_mp_field query_f[] = {
	F("Addr", BYTES, T, addr),
	SWIM_MP_FN_FIELD("Filters", rd_filters, wr_filters),
	F("Flags", U32, T, flags),
	F("ID", U32, T, id),
	F("LTime", U64, T, ltime),
	F("Name", STR, T, name),
	F("Payload", BYTES, T, payload),
	F("Port", U16, T, port),
	F("RelayFactor", U8, T, relay_factor),
	F("SourceNode", STR, T, source_node),
	F("Timeout", I64, T, timeout_ns),
};
#undef T

#define T struct serf_msg_query_response
static const struct swim_mp_field query_response_f[] = {
	F("Flags", U32, T, flags),
	F("From", STR, T, from),
	F("ID", U32, T, id),
	F("LTime", U64, T, ltime),
	F("Payload", BYTES, T, payload),
};
#undef T

/** DestAddr, a net.UDPAddr: {IP, Port, Zone}. */
#define T struct serf_msg_relay
static const struct swim_mp_field dest_addr_f[] = {
	F("IP", BYTES, T, dest_ip),
	F("Port", U16, T, dest_port),
	F("Zone", STR, T, dest_zone),
};

static int
rd_dest_addr(const uint8_t **pos, const uint8_t *end, void *obj)
{
	return swim_mp_decode_struct(pos, end, SWIM_MP_SERF, dest_addr_f,
				     SWIM_MP_NB(dest_addr_f), obj);
}

static void
wr_dest_addr(struct swim_mp_w *w, const void *obj)
{
	swim_mp_encode_struct(w, dest_addr_f, SWIM_MP_NB(dest_addr_f), obj);
}

static const struct swim_mp_field relay_f[] = {
	SWIM_MP_FN_FIELD("DestAddr", rd_dest_addr, wr_dest_addr),
	F("DestName", STR, T, dest_name),
};
#undef T

static void
w_tags(struct swim_mp_w *w, const struct serf_tag *tags, uint32_t nb)
{
	swim_mp_put_map(w, nb);
	for (uint32_t i = 0; i < nb; i++) {
		swim_mp_put_strn(w, tags[i].key, tags[i].key_len);
		swim_mp_put_strn(w, tags[i].value, tags[i].value_len);
	}
}

static void
wr_member_tags(struct swim_mp_w *w, const void *obj)
{
	const struct serf_msg_member *m = obj;

	w_tags(w, m->tags, m->nb_tags);
}

/** Serf's Member (encode only); vsn is PMin PMax PCur DMin DMax DCur. */
#define T struct serf_msg_member
static const struct swim_mp_field member_f[] = {
	F("Addr", BYTES, T, addr),
	F("DelegateCur", U8, T, vsn[5]),
	F("DelegateMax", U8, T, vsn[4]),
	F("DelegateMin", U8, T, vsn[3]),
	F("Name", STR, T, name),
	F("Port", U16, T, port),
	F("ProtocolCur", U8, T, vsn[2]),
	F("ProtocolMax", U8, T, vsn[1]),
	F("ProtocolMin", U8, T, vsn[0]),
	F("Status", U32, T, status),
	SWIM_MP_FN_FIELD("Tags", NULL, wr_member_tags),
};
#undef T

/**
 * Decoding a key response fills m, and the caller's keys array up to
 * max_keys: m comes first, so the table's offsets fit both structs.
 */
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

static void
wr_keys(struct swim_mp_w *w, const void *obj)
{
	const struct serf_msg_key_response *m = obj;

	if (m->keys == NULL) {
		swim_mp_put_u8(w, 0xc0);
		return;
	}
	swim_mp_put_array(w, m->nb_keys);
	for (uint32_t i = 0; i < m->nb_keys; i++)
		swim_mp_put_str(w, &m->keys[i]);
}

#define T struct serf_msg_key_response
static const struct swim_mp_field key_response_f[] = {
	SWIM_MP_FN_FIELD("Keys", rd_keys, wr_keys),
	F("Message", STR, T, message),
	F("PrimaryKey", STR, T, primary_key),
	F("Result", BOOL, T, result),
};
#undef T

/** The filterTag struct: {Expr, Tag}. */
struct tag_filter {
	struct swim_str expr;
	struct swim_str tag;
};

#define T struct tag_filter
static const struct swim_mp_field tag_filter_f[] = {
	F("Expr", STR, T, expr),
	F("Tag", STR, T, tag),
};
#undef T

/* --- encoders --- */

#define ENCODE(type, f, m, out, cap)                                       \
	swim_mp_encode_msg(type, f, SWIM_MP_NB(f), m, out, cap)

int
serf_msg_encode_join(const struct serf_msg_join *m, uint8_t *out, size_t cap)
{
	return ENCODE(SERF_MSG_JOIN, join_f, m, out, cap);
}

int
serf_msg_encode_leave(const struct serf_msg_leave *m, uint8_t *out,
		      size_t cap)
{
	return ENCODE(SERF_MSG_LEAVE, leave_f, m, out, cap);
}

int
serf_msg_encode_user_event(const struct serf_msg_user_event *m,
			   uint8_t *out, size_t cap)
{
	return ENCODE(SERF_MSG_USER_EVENT, user_event_f, m, out, cap);
}

int
serf_msg_encode_query(const struct serf_msg_query *m, uint8_t *out,
		      size_t cap)
{
	return ENCODE(SERF_MSG_QUERY, query_f, m, out, cap);
}

int
serf_msg_encode_query_response(const struct serf_msg_query_response *m,
			       uint8_t *out, size_t cap)
{
	return ENCODE(SERF_MSG_QUERY_RESPONSE, query_response_f, m, out, cap);
}

int
serf_msg_encode_relay(const struct serf_msg_relay *m, uint8_t *out,
		      size_t cap)
{
	struct swim_mp_w w;

	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, SERF_MSG_RELAY);
	swim_mp_encode_struct(&w, relay_f, SWIM_MP_NB(relay_f), m);
	swim_mp_put_raw(&w, m->inner.ptr, m->inner.len);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_conflict(const struct serf_msg_member *m, uint8_t *out,
			 size_t cap)
{
	const uint8_t type = SERF_MSG_CONFLICT_RESPONSE;
	struct swim_mp_w w;

	if (m != NULL)
		return ENCODE(type, member_f, m, out, cap);
	swim_mp_w_create(&w, out, cap);
	swim_mp_put_u8(&w, type);
	swim_mp_put_u8(&w, 0xc0);
	return swim_mp_w_result(&w);
}

int
serf_msg_encode_key_response(const struct serf_msg_key_response *m,
			     uint8_t *out, size_t cap)
{
	return ENCODE(SERF_MSG_KEY_RESPONSE, key_response_f, m, out, cap);
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
w_filter(struct swim_mp_w *w, const uint8_t *tmp, int len)
{
	if (len < 0)
		w->is_full = true;
	else
		swim_mp_put_strn(w, tmp, (uint32_t)len);
}

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
	w_filter(w, tmp, swim_mp_w_result(&body));
}

static void
w_filter_tag(struct swim_mp_w *w, const struct serf_tag *t)
{
	struct tag_filter tf = {
		{ (const uint8_t *)t->value, t->value_len },
		{ (const uint8_t *)t->key, t->key_len },
	};
	uint8_t tmp[SWIM_UDP_BUDGET];

	w_filter(w, tmp, ENCODE(SERF_FILTER_TAG, tag_filter_f, &tf, tmp,
				sizeof(tmp)));
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

/* --- decoders --- */

#define DECODE(type, f, m, buf, len)                                       \
	(memset(m, 0, sizeof(*(m))),                                       \
	 swim_mp_decode_msg(buf, len, type, f, SWIM_MP_NB(f), m))

int
serf_msg_type(const uint8_t *buf, size_t len)
{
	return len == 0 ? SWIM_WIRE_E_EMPTY : buf[0];
}

int
serf_msg_decode_join(const uint8_t *buf, size_t len, struct serf_msg_join *m)
{
	return DECODE(SERF_MSG_JOIN, join_f, m, buf, len);
}

int
serf_msg_decode_leave(const uint8_t *buf, size_t len,
		      struct serf_msg_leave *m)
{
	return DECODE(SERF_MSG_LEAVE, leave_f, m, buf, len);
}

int
serf_msg_decode_user_event(const uint8_t *buf, size_t len,
			   struct serf_msg_user_event *m)
{
	return DECODE(SERF_MSG_USER_EVENT, user_event_f, m, buf, len);
}

int
serf_msg_decode_query(const uint8_t *buf, size_t len,
		      struct serf_msg_query *m)
{
	return DECODE(SERF_MSG_QUERY, query_f, m, buf, len);
}

int
serf_msg_decode_query_response(const uint8_t *buf, size_t len,
			       struct serf_msg_query_response *m)
{
	return DECODE(SERF_MSG_QUERY_RESPONSE, query_response_f, m, buf, len);
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
	rc = swim_mp_decode_struct(&pos, end, SWIM_MP_SERF, relay_f,
				   SWIM_MP_NB(relay_f), m);
	if (rc != 0)
		return rc;
	if (pos >= end)
		return SWIM_WIRE_E_EMPTY;	/* no inner message */
	m->inner.ptr = pos;
	m->inner.len = (uint32_t)(end - pos);
	return 0;
}

int
serf_msg_decode_key_response(const uint8_t *buf, size_t len,
			     struct serf_msg_key_response *m,
			     struct swim_str *keys, uint32_t max_keys)
{
	struct key_resp_ctx c = { .keys = keys, .max_keys = max_keys };
	int rc;

	c.m.keys = keys;
	rc = swim_mp_decode_msg(buf, len, SERF_MSG_KEY_RESPONSE, key_response_f,
				SWIM_MP_NB(key_response_f), &c);
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

int
serf_msg_decode_tag_filter(const uint8_t *buf, size_t len,
			   struct swim_str *tag, struct swim_str *expr)
{
	struct tag_filter t;
	const uint8_t *pos = buf;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = swim_mp_decode_struct(&pos, buf + len, SWIM_MP_SERF, tag_filter_f,
				   SWIM_MP_NB(tag_filter_f), &t);
	*tag = t.tag;
	*expr = t.expr;
	return rc;
}
