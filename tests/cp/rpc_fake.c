/* SPDX-License-Identifier: MIT */
/*
 * Fake control plane for the RPC tests (see rpc_fake.h). Join rules, chosen
 * to mirror what a real agent answers: an address ending in ":1" fails
 * with memberlist's "connection refused" multi-error, one ending in ":2"
 * succeeds asynchronously 50 ms later, anything else succeeds at once.
 */
#include "rpc_fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void
rpc_fake_set_tag(struct rpc_fake_node *n, const char *k, const char *v)
{
	uint32_t i = 0;
	while (i < n->m.nb_tags && strcmp(n->k[i], k) != 0)
		i++;
	if (i == RPC_FAKE_TAGS)
		return;
	snprintf(n->k[i], sizeof(n->k[i]), "%s", k);
	snprintf(n->v[i], sizeof(n->v[i]), "%s", v);
	n->kv[i] = (struct cp_rpc_kv){ n->k[i], n->v[i] };
	if (i == n->m.nb_tags)
		n->m.nb_tags++;
}

static void
rpc_fake_del_tag(struct rpc_fake_node *n, const char *k)
{
	for (uint32_t i = 0; i < n->m.nb_tags; i++) {
		if (strcmp(n->k[i], k) != 0)
			continue;
		n->m.nb_tags--;
		memmove(n->k[i], n->k[n->m.nb_tags], sizeof(n->k[i]));
		memmove(n->v[i], n->v[n->m.nb_tags], sizeof(n->v[i]));
		n->kv[i] = (struct cp_rpc_kv){ n->k[i], n->v[i] };
		return;
	}
}

static struct rpc_fake_node *
rpc_fake_add(struct rpc_fake *f, const char *name, const char *ip,
	     uint16_t port, enum cp_rpc_status st, uint32_t inc)
{
	struct rpc_fake_node *n = &f->node[f->nb_nodes++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->m.name = n->name;
	n->m.tags = n->kv;
	n->m.port = port;
	n->m.status = st;
	n->m.incarnation = inc;
	n->m.protocol_min = 1;
	n->m.protocol_max = 5;
	n->m.protocol_cur = 2;
	n->m.delegate_min = 2;
	n->m.delegate_max = 5;
	n->m.delegate_cur = 5;
	if (strchr(ip, ':') != NULL) {
		inet_pton(AF_INET6, ip, n->m.addr);
		n->m.addr_len = 16;
	} else {
		inet_pton(AF_INET, ip, n->m.addr);
		n->m.addr_len = 4;
	}
	return n;
}

void
rpc_fake_init(struct rpc_fake *f, uint16_t alpha_port, bool capture)
{
	memset(f, 0, sizeof(*f));
	if (capture) {
		rpc_fake_add(f, "a", "127.0.0.1", 7946, CP_RPC_STATUS_ALIVE, 1);
		return;
	}
	struct rpc_fake_node *n;
	n = rpc_fake_add(f, "alpha", "127.0.0.1", alpha_port,
			 CP_RPC_STATUS_ALIVE, 1);
	rpc_fake_set_tag(n, "role", "web");
	n = rpc_fake_add(f, "b-longer-name", "127.0.0.2", 7947,
			 CP_RPC_STATUS_FAILED, 7);
	rpc_fake_set_tag(n, "dc", "east");
	rpc_fake_add(f, "c6", "::1", 7948, CP_RPC_STATUS_LEFT, 3);
	n = rpc_fake_add(f, "d", "::ffff:127.0.0.4", 7949,
			 CP_RPC_STATUS_LEAVING, 0);
}

static int
rpc_fake_members(void *ctx, cp_rpc_member_visit_f visit, void *arg)
{
	struct rpc_fake *f = ctx;
	for (uint32_t i = 0; i < f->nb_nodes; i++) {
		int rc = visit(arg, &f->node[i].m);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static bool
rpc_fake_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* go-multierror's text for the failed addresses. */
static void
rpc_fake_join_err(const char *const *addrs, uint32_t n, char *err,
		  size_t errlen)
{
	uint32_t nb_err = 0;
	for (uint32_t i = 0; i < n; i++)
		nb_err += rpc_fake_ends_with(addrs[i], ":1");
	if (nb_err == 0)
		return;
	size_t off = (size_t)snprintf(err, errlen, "%u error%s occurred:\n",
				      nb_err, nb_err == 1 ? "" : "s");
	for (uint32_t i = 0; i < n && off < errlen; i++) {
		if (!rpc_fake_ends_with(addrs[i], ":1"))
			continue;
		int hl = (int)(strrchr(addrs[i], ':') - addrs[i]);
		off += (size_t)snprintf(err + off, errlen - off,
			"\t* Failed to join %.*s: dial tcp %s: connect: connection refused\n",
			hl, addrs[i], addrs[i]);
	}
	if (off < errlen)
		snprintf(err + off, errlen - off, "\n");
}

static int
rpc_fake_join(void *ctx, uint64_t req_id, const char *const *addrs,
	      uint32_t nb_addrs, bool replay, uint32_t *nb_joined, char *err,
	      size_t errlen)
{
	struct rpc_fake *f = ctx;
	uint32_t ok = 0;
	bool async = false;
	f->nb_join_calls++;
	f->last_replay = replay;
	for (uint32_t i = 0; i < nb_addrs; i++) {
		async |= rpc_fake_ends_with(addrs[i], ":2");
		ok += !rpc_fake_ends_with(addrs[i], ":1");
	}
	rpc_fake_join_err(addrs, nb_addrs, err, errlen);
	*nb_joined = ok;
	if (err[0] != '\0')
		return -ECONNREFUSED;
	if (async) {
		f->join_id = req_id;
		f->join_num = ok;
		f->join_due_ms = f->now_ms + 50;
		return CP_RPC_PENDING;
	}
	return 0;
}

static int
rpc_fake_leave(void *ctx, uint64_t req_id, char *err, size_t errlen)
{
	struct rpc_fake *f = ctx;
	if (f->has_left || f->leave_id != 0) {
		snprintf(err, errlen, "Leave already in progress");
		return -EALREADY;
	}
	f->leave_id = req_id;
	f->leave_due_ms = f->now_ms + 100;
	return CP_RPC_PENDING;
}

/* Drop node i, keeping the order; the moved nodes' self pointers follow. */
static void
rpc_fake_remove(struct rpc_fake *f, uint32_t i)
{
	for (uint32_t j = i; j + 1 < f->nb_nodes; j++) {
		struct rpc_fake_node *n = &f->node[j];
		*n = f->node[j + 1];
		n->m.name = n->name;
		n->m.tags = n->kv;
		for (uint32_t t = 0; t < n->m.nb_tags; t++)
			n->kv[t] = (struct cp_rpc_kv){ n->k[t], n->v[t] };
	}
	f->nb_nodes--;
}

static int
rpc_fake_force_leave(void *ctx, const char *node, bool prune, char *err,
		     size_t errlen)
{
	(void)err;
	(void)errlen;
	struct rpc_fake *f = ctx;
	snprintf(f->last_force, sizeof(f->last_force), "%s", node);
	f->last_prune = prune;
	for (uint32_t i = 1; i < f->nb_nodes; i++) {
		if (strcmp(f->node[i].name, node) != 0)
			continue;
		if (prune) {
			rpc_fake_remove(f, i);
		} else if (f->node[i].m.status == CP_RPC_STATUS_FAILED) {
			f->node[i].m.status = CP_RPC_STATUS_LEFT;
		}
		break;
	}
	return 0;	/* unknown nodes are fine, as with the real agent */
}

static int
rpc_fake_tags(void *ctx, const struct cp_rpc_kv *set, uint32_t nb_set,
	      const char *const *del, uint32_t nb_del, char *err,
	      size_t errlen)
{
	struct rpc_fake *f = ctx;
	struct rpc_fake_node *n = &f->node[0];
	if (n->m.nb_tags - (nb_del < n->m.nb_tags ? nb_del : 0) + nb_set >
	    RPC_FAKE_TAGS) {
		snprintf(err, errlen, "Encoded length of tags exceeds limit of 512 bytes");
		return -E2BIG;
	}
	for (uint32_t i = 0; i < nb_del; i++)
		rpc_fake_del_tag(n, del[i]);
	for (uint32_t i = 0; i < nb_set; i++)
		rpc_fake_set_tag(n, set[i].key, set[i].value);
	if (f->rpc != NULL)
		cp_rpc_publish_members(f->rpc, CP_RPC_EVENT_MEMBER_UPDATE,
				       &n->m, 1);
	return 0;
}

static int
rpc_fake_stats(void *ctx, cp_rpc_stat_emit_f emit, void *arg)
{
	struct rpc_fake *f = ctx;
	unsigned cnt[CP_RPC_STATUS_COUNT] = { 0 };
	char buf[32];
	for (uint32_t i = 0; i < f->nb_nodes; i++)
		cnt[f->node[i].m.status]++;
	emit(arg, "agent", "name", f->node[0].name);
	emit(arg, "runtime", "os", "linux");
	emit(arg, "runtime", "arch", "amd64");
	emit(arg, "runtime", "version", "gossipd-fake");
	snprintf(buf, sizeof(buf), "%u", f->nb_nodes);
	emit(arg, "serf", "members", buf);
	snprintf(buf, sizeof(buf), "%u", cnt[CP_RPC_STATUS_FAILED]);
	emit(arg, "serf", "failed", buf);
	snprintf(buf, sizeof(buf), "%u", cnt[CP_RPC_STATUS_LEFT]);
	emit(arg, "serf", "left", buf);
	emit(arg, "serf", "encrypted", "false");
	emit(arg, "tags", NULL, NULL);
	for (uint32_t i = 0; i < f->node[0].m.nb_tags; i++)
		emit(arg, "tags", f->node[0].k[i], f->node[0].v[i]);
	emit(arg, "event_handlers", NULL, NULL);
	return 0;
}

static int
rpc_fake_user_event(void *ctx, const char *name, const uint8_t *payload,
		    size_t len, bool coalesce, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct rpc_fake *f = ctx;
	snprintf(f->last_event, sizeof(f->last_event), "%s", name);
	f->last_event_len = (uint32_t)len;
	f->last_coalesce = coalesce;
	if (f->rpc != NULL)
		cp_rpc_publish_user_event(f->rpc, ++f->ltime, name, payload,
					  len, coalesce);
	return 0;
}

static int
rpc_fake_query(void *ctx, const struct cp_rpc_query *q, uint64_t *handle,
	       char *err, size_t errlen)
{
	struct rpc_fake *f = ctx;
	if (f->query_handle != 0) {
		snprintf(err, errlen, "fake: one query at a time");
		return -EBUSY;
	}
	snprintf(f->last_query, sizeof(f->last_query), "%s", q->name);
	f->last_query_nodes = q->nb_filter_nodes;
	f->last_query_tags = q->nb_filter_tags;
	f->last_query_timeout_us = q->timeout_us;
	f->last_relay = q->relay_factor;
	f->query_handle = 1000 + f->now_ms;
	f->query_acked = false;
	f->query_ack = q->request_ack;
	f->query_echo = strcmp(q->name, "echo") == 0;
	f->query_ack_ms = f->now_ms + 10;
	f->query_done_ms = f->now_ms + (q->timeout_us != 0 ?
					q->timeout_us / 1000 : 200);
	*handle = f->query_handle;
	return 0;
}

static int
rpc_fake_respond(void *ctx, uint64_t handle, const uint8_t *payload,
		 size_t len, char *err, size_t errlen)
{
	(void)payload;
	(void)err;
	(void)errlen;
	struct rpc_fake *f = ctx;
	if (handle != f->known_query || handle == 0)
		return -ENOENT;
	if (f->nb_responds > 0)
		return -EALREADY;
	f->nb_responds++;
	f->respond_len = (uint32_t)len;
	return 0;
}

/* Acks, the echo response and done for the query in flight, when due. */
static void
rpc_fake_query_tick(struct rpc_fake *f)
{
	if (f->query_handle == 0 || f->rpc == NULL)
		return;
	if (!f->query_acked && f->now_ms >= f->query_ack_ms) {
		f->query_acked = true;
		for (uint32_t i = 0; f->query_ack && i < f->nb_nodes; i++) {
			if (f->node[i].m.status == CP_RPC_STATUS_ALIVE)
				cp_rpc_query_ack(f->rpc, f->query_handle,
						 f->node[i].name);
		}
		if (f->query_echo)
			cp_rpc_query_response(f->rpc, f->query_handle,
					      f->node[0].name,
					      (const uint8_t *)"pong", 4);
	}
	if (f->now_ms >= f->query_done_ms) {
		cp_rpc_query_done(f->rpc, f->query_handle);
		f->query_handle = 0;
	}
}

/* alpha at the origin, d 2 ms away; heights 10 us, as Serf's minimum. */
static int
rpc_fake_coordinate(void *ctx, const char *node, struct cp_rpc_coord *out)
{
	(void)ctx;
	if (strcmp(node, "alpha") != 0 && strcmp(node, "d") != 0)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->dim = 8;
	out->error = 1.5;
	out->height = 1e-5;
	if (strcmp(node, "d") == 0)
		out->vec[0] = 0.002;
	return 0;
}

void
rpc_fake_ops(struct rpc_fake *f, struct cp_rpc_ops *ops)
{
	*ops = (struct cp_rpc_ops){
		.ctx = f,
		.members = rpc_fake_members,
		.join = rpc_fake_join,
		.leave = rpc_fake_leave,
		.force_leave = rpc_fake_force_leave,
		.tags = rpc_fake_tags,
		.stats = rpc_fake_stats,
		.user_event = rpc_fake_user_event,
		.query = rpc_fake_query,
		.respond = rpc_fake_respond,
		.coordinate = rpc_fake_coordinate,
	};
}

void
rpc_fake_tick(struct rpc_fake *f, uint64_t now_ms)
{
	f->now_ms = now_ms;
	if (f->join_id != 0 && now_ms >= f->join_due_ms) {
		uint64_t id = f->join_id;
		f->join_id = 0;
		cp_rpc_complete_join(f->rpc, id, f->join_num, NULL);
	}
	rpc_fake_query_tick(f);
	if (f->leave_id != 0 && now_ms >= f->leave_due_ms) {
		uint64_t id = f->leave_id;
		f->leave_id = 0;
		f->has_left = true;
		cp_rpc_complete_leave(f->rpc, id, NULL);
	}
}
