/* SPDX-License-Identifier: MIT */
/*
 * Serf queries through the RPC (serf-rpc.md 7.1, 7.3): `query` starts one
 * through ops->query and streams its acks, responses and final `done` back
 * under the request's Seq; `stream` subscribers get the queries this node
 * should answer, each under a per-connection ID that `respond` quotes and
 * that we map back to control's handle. Control thread only. A handle
 * whose client has gone is silently ignored.
 */
#include "cp_rpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Serf's InternalQueryPrefix; only "_serf_ping" with no payload passes. */
#define CP_RPC_INTERNAL_PREFIX "_serf_"
/* Serf's default QueryResponseSizeLimit, for the error text. */
#define CP_RPC_RESPONSE_MAX 1024

/* The decoded `query` body, with the strings it owns. */
struct cp_rpc_query_req {
	struct cp_rpc_query q;		/* what ops->query sees */
	char *name;			/* q.name */
	struct cp_rpc_strv nodes;	/* q.filter_nodes */
	struct cp_rpc_strv tags;	/* k, regex pairs */
	struct cp_rpc_kv *kv;		/* q.filter_tags, into tags */
};

static void
cp_rpc_query_req_free(struct cp_rpc_query_req *r)
{
	free(r->name);
	free(r->kv);
	cp_rpc_strv_free(&r->nodes);
	cp_rpc_strv_free(&r->tags);
}

static int
cp_rpc_query_req_decode(struct cp_rpc_query_req *r, const char *body,
			const char *end)
{
	struct cp_rpc_sv name = { NULL, 0 }, payload = { NULL, 0 };
	const char *nodes = NULL, *tags = NULL;
	uint64_t relay = 0, timeout_ns = 0;
	const struct cp_rpc_field f[] = {
		{ "Name", CP_RPC_FT_STR, &name, 0 },
		{ "Payload", CP_RPC_FT_STR, &payload, 0 },
		{ "FilterNodes", CP_RPC_FT_RAW, &nodes, 0 },
		{ "FilterTags", CP_RPC_FT_RAW, &tags, 0 },
		{ "RequestAck", CP_RPC_FT_BOOL, &r->q.request_ack, 0 },
		{ "RelayFactor", CP_RPC_FT_UINT, &relay, UINT8_MAX },
		{ "Timeout", CP_RPC_FT_UINT, &timeout_ns, INT64_MAX },
	};
	memset(r, 0, sizeof(*r));
	if (cp_rpc_body_decode(body, end, f, 7) != 0 ||
	    (r->name = cp_rpc_sv_dup(name)) == NULL ||
	    cp_rpc_strv_decode(nodes, end, false, &r->nodes) != 0 ||
	    cp_rpc_strv_decode(tags, end, true, &r->tags) != 0 ||
	    (r->kv = calloc(r->tags.n / 2 + 1, sizeof(*r->kv))) == NULL)
		return -EINVAL;
	for (uint32_t i = 0; i < r->tags.n / 2; i++)
		r->kv[i] = (struct cp_rpc_kv){ r->tags.v[2 * i],
					       r->tags.v[2 * i + 1] };
	r->q.name = r->name;
	r->q.payload = (const uint8_t *)payload.p;
	r->q.payload_len = payload.len;
	r->q.filter_nodes = (const char *const *)r->nodes.v;
	r->q.nb_filter_nodes = r->nodes.n;
	r->q.filter_tags = r->kv;
	r->q.nb_filter_tags = r->tags.n / 2;
	r->q.relay_factor = (uint8_t)relay;
	r->q.timeout_us = timeout_ns / 1000;
	return 0;
}

/* Free slot for a query this connection starts, or NULL. */
static struct cp_rpc_qout *
cp_rpc_qout_free_slot(struct cp_rpc_client *c)
{
	for (unsigned i = 0; i < CP_RPC_QUERIES_MAX; i++) {
		if (!c->qout[i].is_used)
			return &c->qout[i];
	}
	return NULL;
}

int
cp_rpc_cmd_query(struct cp_rpc *rpc, struct cp_rpc_client *c,
		 const char *body, const char *end)
{
	struct cp_rpc_query_req r;
	if (cp_rpc_query_req_decode(&r, body, end) != 0) {
		cp_rpc_query_req_free(&r);
		return -EINVAL;
	}
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	struct cp_rpc_qout *slot = cp_rpc_qout_free_slot(c);
	char err[512] = "";
	uint64_t handle = 0;
	int rc = -ENOTSUP;
	size_t pl = strlen(CP_RPC_INTERNAL_PREFIX);
	if (strncmp(r.name, CP_RPC_INTERNAL_PREFIX, pl) == 0 &&
	    (strcmp(r.name + pl, "ping") != 0 || r.q.payload != NULL))
		snprintf(err, sizeof(err), "Queries cannot contain the '%s' prefix",
			 CP_RPC_INTERNAL_PREFIX);
	else if (slot == NULL)
		snprintf(err, sizeof(err), "too many queries on this connection");
	else if (ops->query == NULL)
		snprintf(err, sizeof(err), "queries are not supported by gossipd");
	else
		rc = ops->query(ops->ctx, &r.q, &handle, err, sizeof(err));
	cp_rpc_query_req_free(&r);
	if (rc != 0 && err[0] == '\0')
		snprintf(err, sizeof(err), "%s", strerror(rc < 0 ? -rc : EIO));
	cp_rpc_reply(c, c->seq, rc == 0 ? "" : err);	/* the ack first */
	if (rc == 0)
		*slot = (struct cp_rpc_qout){ true, handle, c->seq };
	return 0;
}

/* The agent's text for a respond failure the op left without one. */
static void
cp_rpc_respond_text(int rc, char *err, size_t errlen)
{
	if (err[0] != '\0')
		return;
	switch (rc) {
	case -ENOENT:
		snprintf(err, errlen, "No pending queries matching ID");
		break;
	case -EALREADY:
		snprintf(err, errlen, "failed to respond to key query: response already sent");
		break;
	case -ETIMEDOUT:
		snprintf(err, errlen, "failed to respond to key query: response is past the deadline");
		break;
	case -EMSGSIZE:
		snprintf(err, errlen, "failed to respond to key query: response exceeds limit of %d bytes",
			 CP_RPC_RESPONSE_MAX);
		break;
	default:
		snprintf(err, errlen, "%s", strerror(rc < 0 ? -rc : EIO));
		break;
	}
}

int
cp_rpc_cmd_respond(struct cp_rpc *rpc, struct cp_rpc_client *c,
		   const char *body, const char *end)
{
	struct cp_rpc_sv payload = { NULL, 0 };
	uint64_t id = 0;
	const struct cp_rpc_field f[] = {
		{ "ID", CP_RPC_FT_UINT, &id, UINT64_MAX },
		{ "Payload", CP_RPC_FT_STR, &payload, 0 },
	};
	if (cp_rpc_body_decode(body, end, f, 2) != 0)
		return -EINVAL;
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	char err[512] = "";
	int rc = -ENOENT;
	for (unsigned i = 0; id != 0 && i < CP_RPC_QUERY_IDS; i++) {
		if (c->qin[i].id != id)
			continue;
		if (ops->respond != NULL)
			rc = ops->respond(ops->ctx, c->qin[i].handle,
					  (const uint8_t *)payload.p,
					  payload.len, err, sizeof(err));
		break;
	}
	if (rc != 0)
		cp_rpc_respond_text(rc, err, sizeof(err));
	cp_rpc_reply(c, c->seq, rc == 0 ? "" : err);
	return 0;
}

/* Client and slot of a running query, or NULL. */
static struct cp_rpc_client *
cp_rpc_qout_find(struct cp_rpc *rpc, uint64_t handle,
		 struct cp_rpc_qout **slot)
{
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		struct cp_rpc_client *c = rpc->clients[i];
		for (unsigned j = 0; c != NULL && !c->is_dead &&
		     j < CP_RPC_QUERIES_MAX; j++) {
			if (c->qout[j].is_used && c->qout[j].handle == handle) {
				*slot = &c->qout[j];
				return c;
			}
		}
	}
	return NULL;
}

/* One {From, Payload, Type} record for a running query. */
static void
cp_rpc_query_record(struct cp_rpc *rpc, uint64_t handle, const char *type,
		    const char *from, const uint8_t *payload, size_t len)
{
	struct cp_rpc_qout *slot;
	if (cp_rpc_keys_record(rpc, handle, type, from, payload, len))
		return;		/* a key command's own query */
	struct cp_rpc_client *c = cp_rpc_qout_find(rpc, handle, &slot);
	if (c == NULL)
		return;
	cp_rpc_reply(c, slot->seq, "");
	cp_rpc_enc_map(&c->out, 3);
	cp_rpc_enc_str(&c->out, "From");
	cp_rpc_enc_str(&c->out, from);
	cp_rpc_enc_str(&c->out, "Payload");
	cp_rpc_enc_bin(&c->out, payload, len > UINT32_MAX ? UINT32_MAX :
		       (uint32_t)len);
	cp_rpc_enc_str(&c->out, "Type");
	cp_rpc_enc_str(&c->out, type);
	if (strcmp(type, "done") == 0)
		slot->is_used = false;	/* nothing more for this Seq */
	cp_rpc_client_flush(rpc, c);
	cp_rpc_reap_if_idle(rpc);
}

void
cp_rpc_query_ack(struct cp_rpc *rpc, uint64_t handle, const char *from)
{
	cp_rpc_query_record(rpc, handle, "ack", from, NULL, 0);
}

void
cp_rpc_query_response(struct cp_rpc *rpc, uint64_t handle, const char *from,
		      const uint8_t *payload, size_t payload_len)
{
	static const uint8_t empty[1];
	cp_rpc_query_record(rpc, handle, "response", from,
			    payload != NULL ? payload : empty, payload_len);
}

void
cp_rpc_query_done(struct cp_rpc *rpc, uint64_t handle)
{
	cp_rpc_query_record(rpc, handle, "done", "", NULL, 0);
}

/* One query record to one stream, under a fresh ID for this connection. */
static void
cp_rpc_query_deliver(struct cp_rpc_client *c, uint64_t seq, uint64_t handle,
		     uint64_t ltime, const char *name, const uint8_t *payload,
		     uint32_t len)
{
	uint64_t id = ++c->next_query_id;
	c->qin[c->qin_next] = (struct cp_rpc_qin){ id, handle };
	c->qin_next = (c->qin_next + 1) % CP_RPC_QUERY_IDS;
	cp_rpc_reply(c, seq, "");
	cp_rpc_enc_map(&c->out, 5);
	cp_rpc_enc_str(&c->out, "Event");
	cp_rpc_enc_str(&c->out, "query");
	cp_rpc_enc_str(&c->out, "ID");
	cp_rpc_enc_uint(&c->out, id);
	cp_rpc_enc_str(&c->out, "LTime");
	cp_rpc_enc_uint(&c->out, ltime);
	cp_rpc_enc_str(&c->out, "Name");
	cp_rpc_enc_str(&c->out, name);
	cp_rpc_enc_str(&c->out, "Payload");
	cp_rpc_enc_bin(&c->out, payload, len);
}

void
cp_rpc_publish_query(struct cp_rpc *rpc, uint64_t handle, uint64_t ltime,
		     const char *name, const uint8_t *payload,
		     size_t payload_len)
{
	uint32_t len = payload_len > UINT32_MAX ? UINT32_MAX :
		       (uint32_t)payload_len;
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		struct cp_rpc_client *c = rpc->clients[i];
		if (c == NULL || c->is_dead || c->nb_streams == 0)
			continue;
		for (uint32_t s = 0; s < c->nb_streams; s++) {
			if (cp_rpc_filter_takes(c->streams[s].filter, "query",
						name))
				cp_rpc_query_deliver(c, c->streams[s].seq,
						     handle, ltime, name,
						     payload, len);
		}
		cp_rpc_client_flush(rpc, c);
	}
	cp_rpc_reap_if_idle(rpc);
}
