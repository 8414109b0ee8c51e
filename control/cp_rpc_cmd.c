/* SPDX-License-Identifier: MIT */
/*
 * One handler per Serf RPC command (serf-rpc.md sections 4-5): decode the
 * body leniently, call the control plane through rpc->cfg.ops, encode the
 * reply exactly as the real agent does. Every command whose reply has a
 * body sends it even on error (the CLI always reads one). A handler returns
 * -EINVAL only for a body that does not decode; the client is then closed,
 * as the agent does on decode errors. Streams and monitor: cp_rpc_stream.c.
 */
#include "cp_rpc_int.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most strings we accept in one list (join addresses, tags, deletes). */
#define CP_RPC_LIST_MAX 1024
/* Most stats values one reply carries. */
#define CP_RPC_STATS_MAX 512

char *
cp_rpc_sv_dup(struct cp_rpc_sv sv)
{
	if (sv.p != NULL && memchr(sv.p, '\0', sv.len) != NULL)
		return NULL;
	char *s = malloc(sv.len + 1);
	if (s != NULL) {
		if (sv.len != 0)
			memcpy(s, sv.p, sv.len);
		s[sv.len] = '\0';
	}
	return s;
}

/* The text a failed op left in err, or strerror when it left none. */
static const char *
cp_rpc_err_text(int rc, char *err, size_t errlen)
{
	if (rc >= 0)
		return "";
	if (err[0] == '\0')
		snprintf(err, errlen, "%s", strerror(-rc));
	return err;
}

/* Decode a body map into fields; unknown keys skipped, missing left as is. */
int
cp_rpc_body_decode(const char *p, const char *end,
		   const struct cp_rpc_field *f, unsigned nb_f)
{
	uint32_t n;
	if (cp_rpc_dec_map(&p, end, &n) != 0)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		struct cp_rpc_sv k;
		if (cp_rpc_dec_strn(&p, end, &k.p, &k.len) != 0)
			return -EINVAL;
		unsigned j = 0;
		while (j < nb_f && !cp_rpc_key_is(k.p, k.len, f[j].key))
			j++;
		int rc = 0;
		if (j == nb_f) {
			cp_rpc_dec_skip(&p, end);
			continue;
		}
		struct cp_rpc_sv *sv = f[j].out;
		switch (f[j].type) {
		case CP_RPC_FT_STR:
			rc = cp_rpc_dec_strn(&p, end, &sv->p, &sv->len);
			break;
		case CP_RPC_FT_BOOL:
			rc = cp_rpc_dec_bool(&p, end, f[j].out);
			break;
		case CP_RPC_FT_UINT:
			rc = cp_rpc_dec_uint(&p, end, f[j].max, f[j].out);
			break;
		case CP_RPC_FT_RAW:
			*(const char **)f[j].out = p;
			cp_rpc_dec_skip(&p, end);
			break;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
cp_rpc_strv_free(struct cp_rpc_strv *sv)
{
	for (uint32_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

int
cp_rpc_strv_decode(const char *p, const char *end, bool pairs,
		   struct cp_rpc_strv *out)
{
	uint32_t n = 0;
	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return 0;
	int rc = pairs ? cp_rpc_dec_map(&p, end, &n) :
			 cp_rpc_dec_array(&p, end, &n);
	if (rc != 0 || n > CP_RPC_LIST_MAX)
		return -EINVAL;
	uint32_t total = pairs ? 2 * n : n;
	out->v = calloc(total + 1, sizeof(*out->v));
	if (out->v == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < total; i++) {
		struct cp_rpc_sv sv;
		if (cp_rpc_dec_strn(&p, end, &sv.p, &sv.len) != 0 ||
		    (out->v[i] = cp_rpc_sv_dup(sv)) == NULL) {
			cp_rpc_strv_free(out);
			return -EINVAL;
		}
		out->n = i + 1;
	}
	return 0;
}

static int
cp_rpc_cmd_handshake(struct cp_rpc *rpc, struct cp_rpc_client *c,
		     const char *body, const char *end)
{
	(void)rpc;
	uint64_t version = 0;
	const struct cp_rpc_field f[] = {
		{ "Version", CP_RPC_FT_UINT, &version, UINT32_MAX },
	};
	int rc = cp_rpc_body_decode(body, end, f, 1);
	if (rc == -ERANGE)
		version = 0;	/* negative or huge: just unsupported */
	else if (rc != 0)
		return rc;
	if (version != 1) {
		cp_rpc_reply(c, c->seq, "Unsupported IPC version");
	} else if (c->has_handshake) {
		cp_rpc_reply(c, c->seq, "Handshake already performed");
	} else {
		c->has_handshake = true;
		cp_rpc_reply(c, c->seq, "");
	}
	return 0;
}

/* Compare in time independent of where the strings differ. */
static bool
cp_rpc_secret_eq(const char *a, uint32_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned char diff = alen != blen;
	for (size_t i = 0; i < blen; i++)
		diff |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
	return diff == 0;
}

static int
cp_rpc_cmd_auth(struct cp_rpc *rpc, struct cp_rpc_client *c,
		const char *body, const char *end)
{
	struct cp_rpc_sv key = { NULL, 0 };
	const struct cp_rpc_field f[] = {
		{ "AuthKey", CP_RPC_FT_STR, &key, 0 },
	};
	if (cp_rpc_body_decode(body, end, f, 1) != 0)
		return -EINVAL;
	if (!cp_rpc_secret_eq(key.p, key.len, rpc->auth)) {
		cp_rpc_reply(c, c->seq, "Invalid authentication token");
		return 0;
	}
	c->has_auth = true;
	cp_rpc_reply(c, c->seq, "");
	return 0;
}

/* members, members-filtered: cp_rpc_members.c. */

static int
cp_rpc_cmd_join(struct cp_rpc *rpc, struct cp_rpc_client *c,
		const char *body, const char *end)
{
	const char *existing = NULL;
	bool replay = false;
	const struct cp_rpc_field f[] = {
		{ "Existing", CP_RPC_FT_RAW, &existing, 0 },
		{ "Replay", CP_RPC_FT_BOOL, &replay, 0 },
	};
	struct cp_rpc_strv addrs;
	if (cp_rpc_body_decode(body, end, f, 2) != 0 ||
	    cp_rpc_strv_decode(existing, end, false, &addrs) != 0)
		return -EINVAL;
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	char err[512] = "";
	uint32_t nb_joined = 0;
	int rc = -ENOTSUP;
	c->pend = CP_RPC_PEND_JOIN;
	c->pend_id = rpc->next_req_id++;
	c->pend_seq = c->seq;
	if (ops->join != NULL)
		rc = ops->join(ops->ctx, c->pend_id, (const char *const *)addrs.v,
			       addrs.n, replay, &nb_joined, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "join is not available");
	cp_rpc_strv_free(&addrs);
	if (rc == CP_RPC_PENDING)
		return 0;
	c->pend = CP_RPC_PEND_NONE;
	cp_rpc_reply(c, c->seq, cp_rpc_err_text(rc, err, sizeof(err)));
	cp_rpc_enc_map(&c->out, 1);	/* {Num} even on error */
	cp_rpc_enc_str(&c->out, "Num");
	cp_rpc_enc_uint(&c->out, nb_joined);
	return 0;
}

static int
cp_rpc_cmd_leave(struct cp_rpc *rpc, struct cp_rpc_client *c,
		 const char *body, const char *end)
{
	(void)body;
	(void)end;
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	char err[512] = "";
	int rc = -ENOTSUP;
	c->pend = CP_RPC_PEND_LEAVE;
	c->pend_id = rpc->next_req_id++;
	c->pend_seq = c->seq;
	if (ops->leave != NULL)
		rc = ops->leave(ops->ctx, c->pend_id, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "leave is not available");
	if (rc == CP_RPC_PENDING)
		return 0;
	c->pend = CP_RPC_PEND_NONE;
	cp_rpc_reply(c, c->seq, cp_rpc_err_text(rc, err, sizeof(err)));
	return 0;
}

static int
cp_rpc_cmd_force_leave(struct cp_rpc *rpc, struct cp_rpc_client *c,
		       const char *body, const char *end)
{
	struct cp_rpc_sv node = { NULL, 0 };
	bool prune = false;
	const struct cp_rpc_field f[] = {
		{ "Node", CP_RPC_FT_STR, &node, 0 },
		{ "Prune", CP_RPC_FT_BOOL, &prune, 0 },
	};
	char *name;
	if (cp_rpc_body_decode(body, end, f, 2) != 0 ||
	    (name = cp_rpc_sv_dup(node)) == NULL)
		return -EINVAL;
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	char err[512] = "";
	int rc = -ENOTSUP;
	if (ops->force_leave != NULL)
		rc = ops->force_leave(ops->ctx, name, prune, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "force-leave is not available");
	free(name);
	cp_rpc_reply(c, c->seq, cp_rpc_err_text(rc, err, sizeof(err)));
	return 0;
}

static int
cp_rpc_cmd_event(struct cp_rpc *rpc, struct cp_rpc_client *c,
		 const char *body, const char *end)
{
	struct cp_rpc_sv name = { NULL, 0 }, payload = { NULL, 0 };
	bool coalesce = false;
	const struct cp_rpc_field f[] = {
		{ "Name", CP_RPC_FT_STR, &name, 0 },
		{ "Payload", CP_RPC_FT_STR, &payload, 0 },
		{ "Coalesce", CP_RPC_FT_BOOL, &coalesce, 0 },
	};
	char *s;
	if (cp_rpc_body_decode(body, end, f, 3) != 0 ||
	    (s = cp_rpc_sv_dup(name)) == NULL)
		return -EINVAL;
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	char err[512] = "";
	int rc = -ENOTSUP;
	if ((size_t)name.len + payload.len > CP_RPC_USER_EVENT_MAX)
		snprintf(err, sizeof(err), "user event exceeds configured limit of %d bytes before encoding",
			 CP_RPC_USER_EVENT_MAX);
	else if (ops->user_event != NULL)
		rc = ops->user_event(ops->ctx, s, (const uint8_t *)payload.p,
				     payload.len, coalesce, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "user events are not available");
	free(s);
	cp_rpc_reply(c, c->seq, cp_rpc_err_text(rc, err, sizeof(err)));
	return 0;
}

static int
cp_rpc_cmd_tags(struct cp_rpc *rpc, struct cp_rpc_client *c,
		const char *body, const char *end)
{
	const char *tags = NULL, *del = NULL;
	const struct cp_rpc_field f[] = {
		{ "Tags", CP_RPC_FT_RAW, &tags, 0 },
		{ "DeleteTags", CP_RPC_FT_RAW, &del, 0 },
	};
	struct cp_rpc_strv set, dels;
	if (cp_rpc_body_decode(body, end, f, 2) != 0 ||
	    cp_rpc_strv_decode(tags, end, true, &set) != 0)
		return -EINVAL;
	if (cp_rpc_strv_decode(del, end, false, &dels) != 0) {
		cp_rpc_strv_free(&set);
		return -EINVAL;
	}
	struct cp_rpc_kv *kv = calloc(set.n / 2 + 1, sizeof(*kv));
	for (uint32_t i = 0; kv != NULL && i < set.n / 2; i++)
		kv[i] = (struct cp_rpc_kv){ set.v[2 * i], set.v[2 * i + 1] };
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	char err[512] = "";
	int rc = -ENOMEM;
	if (ops->tags == NULL)
		snprintf(err, sizeof(err), "tags are not available");
	else if (kv != NULL)
		rc = ops->tags(ops->ctx, kv, set.n / 2,
			       (const char *const *)dels.v, dels.n,
			       err, sizeof(err));
	free(kv);
	cp_rpc_strv_free(&set);
	cp_rpc_strv_free(&dels);
	if (ops->tags == NULL)
		rc = -ENOTSUP;
	cp_rpc_reply(c, c->seq, cp_rpc_err_text(rc, err, sizeof(err)));
	return 0;
}

/* Stats gathered before encoding: sections must be grouped and counted. */
struct cp_rpc_stats_acc {
	char *sec[CP_RPC_STATS_MAX];	/* section of each value */
	char *key[CP_RPC_STATS_MAX];	/* key */
	char *val[CP_RPC_STATS_MAX];	/* value */
	uint32_t n;			/* values kept (extra dropped) */
};

static void
cp_rpc_stats_emit(void *arg, const char *section, const char *key,
		  const char *value)
{
	struct cp_rpc_stats_acc *a = arg;
	if (a->n == CP_RPC_STATS_MAX || section == NULL)
		return;
	char *sec = strdup(section);
	char *k = key != NULL ? strdup(key) : NULL;
	char *v = strdup(value != NULL ? value : "");
	if (sec == NULL || (k == NULL && key != NULL) || v == NULL) {
		free(sec);
		free(k);
		free(v);
		return;
	}
	a->sec[a->n] = sec;
	a->key[a->n] = k;
	a->val[a->n] = v;
	a->n++;
}

/* map[section]map[key]value, sections in order of first appearance. */
static void
cp_rpc_stats_encode(struct cp_rpc_buf *b, const struct cp_rpc_stats_acc *a)
{
	uint32_t nb_sec = 0;
	for (uint32_t i = 0; i < a->n; i++) {
		uint32_t j = 0;
		while (j < i && strcmp(a->sec[j], a->sec[i]) != 0)
			j++;
		nb_sec += j == i;
	}
	cp_rpc_enc_map(b, nb_sec);
	for (uint32_t i = 0; i < a->n; i++) {
		uint32_t j = 0, nb_keys = 0;
		while (j < i && strcmp(a->sec[j], a->sec[i]) != 0)
			j++;
		if (j != i)
			continue;	/* section already written */
		for (j = i; j < a->n; j++)
			nb_keys += strcmp(a->sec[j], a->sec[i]) == 0 &&
				   a->key[j] != NULL;
		cp_rpc_enc_str(b, a->sec[i]);
		cp_rpc_enc_map(b, nb_keys);
		for (j = i; j < a->n; j++) {
			if (strcmp(a->sec[j], a->sec[i]) != 0 ||
			    a->key[j] == NULL)
				continue;
			cp_rpc_enc_str(b, a->key[j]);
			cp_rpc_enc_str(b, a->val[j]);
		}
	}
}

static int
cp_rpc_cmd_stats(struct cp_rpc *rpc, struct cp_rpc_client *c,
		 const char *body, const char *end)
{
	(void)body;
	(void)end;
	struct cp_rpc_stats_acc *a = calloc(1, sizeof(*a));
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	const char *err = "";
	if (a == NULL)
		err = "out of memory";
	else if (ops->stats == NULL)
		err = "stats are not available";
	else if (ops->stats(ops->ctx, cp_rpc_stats_emit, a) != 0)
		err = "failed to gather stats";
	cp_rpc_reply(c, c->seq, err);
	if (a == NULL) {
		cp_rpc_enc_map(&c->out, 0);
		return 0;
	}
	cp_rpc_stats_encode(&c->out, a);
	for (uint32_t i = 0; i < a->n; i++) {
		free(a->sec[i]);
		free(a->key[i]);
		free(a->val[i]);
	}
	free(a);
	return 0;
}

/* Key commands (install-key ... list-keys): cp_rpc_keys.c. */

/* {Coord:{Adjustment, Error, Height, Vec}, Ok}; zero and Ok false when
 * the node (or the op) is unknown, as the agent answers. */
static int
cp_rpc_cmd_get_coordinate(struct cp_rpc *rpc, struct cp_rpc_client *c,
			  const char *body, const char *end)
{
	struct cp_rpc_sv node = { NULL, 0 };
	const struct cp_rpc_field f[] = {
		{ "Node", CP_RPC_FT_STR, &node, 0 },
	};
	char *name;
	if (cp_rpc_body_decode(body, end, f, 1) != 0 ||
	    (name = cp_rpc_sv_dup(node)) == NULL)
		return -EINVAL;
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	struct cp_rpc_coord co;
	memset(&co, 0, sizeof(co));
	bool ok = ops->coordinate != NULL &&
		  ops->coordinate(ops->ctx, name, &co) == 0;
	free(name);
	if (!ok || co.dim > CP_RPC_COORD_DIM_MAX)
		memset(&co, 0, sizeof(co));
	cp_rpc_reply(c, c->seq, "");
	cp_rpc_enc_map(&c->out, 2);
	cp_rpc_enc_str(&c->out, "Coord");
	cp_rpc_enc_map(&c->out, 4);
	cp_rpc_enc_str(&c->out, "Adjustment");
	cp_rpc_enc_double(&c->out, co.adjustment);
	cp_rpc_enc_str(&c->out, "Error");
	cp_rpc_enc_double(&c->out, co.error);
	cp_rpc_enc_str(&c->out, "Height");
	cp_rpc_enc_double(&c->out, co.height);
	cp_rpc_enc_str(&c->out, "Vec");
	if (co.dim == 0)
		cp_rpc_enc_nil(&c->out);	/* Go's nil slice */
	else
		cp_rpc_enc_array(&c->out, co.dim);
	for (uint32_t i = 0; i < co.dim; i++)
		cp_rpc_enc_double(&c->out, co.vec[i]);
	cp_rpc_enc_str(&c->out, "Ok");
	cp_rpc_enc_bool(&c->out, ok);
	return 0;
}

/* Serf's commands and whether a body follows (serf-rpc.md section 4). */
static const struct cp_rpc_cmd cp_rpc_cmds[] = {
	{ "handshake", true, cp_rpc_cmd_handshake },
	{ "auth", true, cp_rpc_cmd_auth },
	{ "members", false, cp_rpc_cmd_members },
	{ "members-filtered", true, cp_rpc_cmd_members_filtered },
	{ "join", true, cp_rpc_cmd_join },
	{ "leave", false, cp_rpc_cmd_leave },
	{ "force-leave", true, cp_rpc_cmd_force_leave },
	{ "event", true, cp_rpc_cmd_event },
	{ "tags", true, cp_rpc_cmd_tags },
	{ "stream", true, cp_rpc_cmd_stream },
	{ "monitor", true, cp_rpc_cmd_monitor },
	{ "stop", true, cp_rpc_cmd_stop },
	{ "install-key", true, cp_rpc_cmd_keys },
	{ "use-key", true, cp_rpc_cmd_keys },
	{ "remove-key", true, cp_rpc_cmd_keys },
	{ "list-keys", false, cp_rpc_cmd_keys },
	{ "query", true, cp_rpc_cmd_query },
	{ "respond", true, cp_rpc_cmd_respond },
	{ "stats", false, cp_rpc_cmd_stats },
	{ "get-coordinate", true, cp_rpc_cmd_get_coordinate },
};

const struct cp_rpc_cmd *
cp_rpc_cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof(cp_rpc_cmds) / sizeof(cp_rpc_cmds[0]);
	     i++) {
		if (strcmp(cp_rpc_cmds[i].name, name) == 0)
			return &cp_rpc_cmds[i];
	}
	return NULL;
}
