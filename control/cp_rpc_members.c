/* SPDX-License-Identifier: MIT */
/*
 * `members` and `members-filtered` (serf-rpc.md 5): the agent's Member
 * records, streamed. The request takes a snapshot of the member names
 * (about 24 bytes a member, not a reply's 250); with a filter, the names
 * are then matched CP_RPC_MEMBERS_SLICE at a time; the reply header and
 * the {Members: [n]} count go out once the count is known, and the
 * records follow as the socket drains (cp_rpc_members_more, from the
 * client's flush), each looked up by name as it is now. No reply buffer
 * grows with the pool; the control loop runs between slices. The
 * connection handles nothing else until the reply is out (pend), and a
 * `stream`/`monitor` record due meanwhile on it is dropped and counted.
 * Without ops->member_find the reply is built in one go, as before.
 */
#include "cp_rpc_int.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records (or filter matches) per slice. */
#define CP_RPC_MEMBERS_SLICE 1024
/* Add a slice only while the client's output is below this. */
#define CP_RPC_MEMBERS_LOW (64 * 1024)

/* members-filtered filters, compiled as "^" + expr + "$" like the agent. */
struct cp_rpc_filter {
	bool has_name;			/* Name regex given */
	bool has_status;		/* Status regex given */
	regex_t name;			/* anchored Name */
	regex_t status;			/* anchored Status */
	struct cp_rpc_strv tags;	/* tag key, regex source pairs */
	regex_t *tag_re;		/* tags.n / 2 compiled regexes */
	uint32_t nb_tag_re;		/* how many compiled */
};

static int
cp_rpc_regcomp(regex_t *re, const char *expr, size_t len)
{
	char *s = malloc(len + 3);
	if (s == NULL)
		return -ENOMEM;
	s[0] = '^';
	memcpy(s + 1, expr, len);
	s[len + 1] = '$';
	s[len + 2] = '\0';
	int rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB);
	free(s);
	return rc == 0 ? 0 : -EINVAL;
}

static void
cp_rpc_filter_destroy(struct cp_rpc_filter *f)
{
	if (f->has_name)
		regfree(&f->name);
	if (f->has_status)
		regfree(&f->status);
	for (uint32_t i = 0; i < f->nb_tag_re; i++)
		regfree(&f->tag_re[i]);
	free(f->tag_re);
	cp_rpc_strv_free(&f->tags);
}

/* -EINVAL: a bad body; -EBADMSG: a regex that does not compile. */
static int
cp_rpc_filter_create(struct cp_rpc_filter *f, const char *body,
		     const char *end)
{
	struct cp_rpc_sv name = { NULL, 0 }, status = { NULL, 0 };
	const char *tags = NULL;
	const struct cp_rpc_field fl[] = {
		{ "Name", CP_RPC_FT_STR, &name, 0 },
		{ "Status", CP_RPC_FT_STR, &status, 0 },
		{ "Tags", CP_RPC_FT_RAW, &tags, 0 },
	};
	memset(f, 0, sizeof(*f));
	if (cp_rpc_body_decode(body, end, fl, 3) != 0 ||
	    cp_rpc_strv_decode(tags, end, true, &f->tags) != 0)
		return -EINVAL;
	f->tag_re = calloc(f->tags.n / 2 + 1, sizeof(*f->tag_re));
	if (f->tag_re == NULL)
		return -EINVAL;
	for (uint32_t i = 0; i < f->tags.n / 2; i++) {
		const char *re = f->tags.v[2 * i + 1];
		if (cp_rpc_regcomp(&f->tag_re[i], re, strlen(re)) != 0)
			return -EBADMSG;
		f->nb_tag_re++;
	}
	if (name.len != 0) {
		if (cp_rpc_regcomp(&f->name, name.p, name.len) != 0)
			return -EBADMSG;
		f->has_name = true;
	}
	if (status.len != 0) {
		if (cp_rpc_regcomp(&f->status, status.p, status.len) != 0)
			return -EBADMSG;
		f->has_status = true;
	}
	return 0;
}

static bool
cp_rpc_filter_match(const struct cp_rpc_filter *f,
		    const struct cp_rpc_member *m)
{
	unsigned st = m->status < CP_RPC_STATUS_COUNT ? m->status : 0;
	if (f->has_name && regexec(&f->name, m->name ? m->name : "", 0,
				   NULL, 0) != 0)
		return false;
	if (f->has_status && regexec(&f->status, cp_rpc_status_str[st], 0,
				     NULL, 0) != 0)
		return false;
	for (uint32_t i = 0; i < f->nb_tag_re; i++) {
		const char *val = "";	/* a missing tag is matched as "" */
		for (uint32_t j = 0; j < m->nb_tags; j++) {
			if (strcmp(m->tags[j].key, f->tags.v[2 * i]) == 0)
				val = m->tags[j].value;
		}
		if (regexec(&f->tag_re[i], val, 0, NULL, 0) != 0)
			return false;
	}
	return true;
}

/* One Member map, keys sorted as go-msgpack sorts struct fields. */
static void
cp_rpc_enc_member(struct cp_rpc_buf *b, const struct cp_rpc_member *m,
		  bool with_incarnation)
{
	unsigned st = m->status < CP_RPC_STATUS_COUNT ? m->status : 0;
	uint8_t alen = m->addr_len <= 16 ? m->addr_len : 16;
	cp_rpc_enc_map(b, with_incarnation ? 12 : 11);
	cp_rpc_enc_str(b, "Addr");
	cp_rpc_enc_bin(b, m->addr, alen);
	cp_rpc_enc_str(b, "DelegateCur");
	cp_rpc_enc_uint(b, m->delegate_cur);
	cp_rpc_enc_str(b, "DelegateMax");
	cp_rpc_enc_uint(b, m->delegate_max);
	cp_rpc_enc_str(b, "DelegateMin");
	cp_rpc_enc_uint(b, m->delegate_min);
	if (with_incarnation) {
		cp_rpc_enc_str(b, "Incarnation");
		cp_rpc_enc_uint(b, m->incarnation);
	}
	cp_rpc_enc_str(b, "Name");
	cp_rpc_enc_str(b, m->name);
	cp_rpc_enc_str(b, "Port");
	cp_rpc_enc_uint(b, m->port);
	cp_rpc_enc_str(b, "ProtocolCur");
	cp_rpc_enc_uint(b, m->protocol_cur);
	cp_rpc_enc_str(b, "ProtocolMax");
	cp_rpc_enc_uint(b, m->protocol_max);
	cp_rpc_enc_str(b, "ProtocolMin");
	cp_rpc_enc_uint(b, m->protocol_min);
	cp_rpc_enc_str(b, "Status");
	cp_rpc_enc_str(b, cp_rpc_status_str[st]);
	cp_rpc_enc_str(b, "Tags");
	cp_rpc_enc_map(b, m->nb_tags);
	for (uint32_t i = 0; i < m->nb_tags; i++) {
		cp_rpc_enc_str(b, m->tags[i].key);
		cp_rpc_enc_str(b, m->tags[i].value);
	}
}

void
cp_rpc_encode_member(struct cp_rpc_buf *b, const struct cp_rpc_member *m)
{
	cp_rpc_enc_member(b, m, false);
}

/* State of one members walk. */
struct cp_rpc_walk {
	struct cp_rpc_buf *b;			/* where records go */
	const struct cp_rpc_filter *filter;	/* NULL: take all */
	bool with_incarnation;			/* extension asked for */
	uint32_t n;				/* records written */
};

static int
cp_rpc_walk_visit(void *arg, const struct cp_rpc_member *m)
{
	struct cp_rpc_walk *w = arg;
	if (w->filter != NULL && !cp_rpc_filter_match(w->filter, m))
		return 0;
	cp_rpc_enc_member(w->b, m, w->with_incarnation);
	w->n++;
	return w->b->overflow ? -ENOBUFS : 0;
}

/* --- streamed reply --- */

static bool
cp_rpc_has_queries(const struct cp_rpc_client *c)
{
	for (unsigned i = 0; i < CP_RPC_QUERIES_MAX; i++)
		if (c->qout[i].is_used)
			return true;
	return false;
}

struct cp_rpc_mstream {
	uint64_t seq;			/* the request's Seq */
	struct cp_rpc_filter filter;
	bool has_filter;
	bool with_incarnation;
	bool is_emitting;		/* filtering done, count known */
	bool has_head;			/* reply header and count sent */
	char *names;			/* snapshot: NUL-terminated, packed */
	size_t len;			/* bytes of names */
	size_t cap;
	size_t rd;			/* next name to match or emit */
	size_t wr;			/* matches are compacted to here */
	uint32_t nb;			/* names in the snapshot */
	uint32_t nb_match;		/* filter matches so far */
	uint32_t nb_out;		/* records sent */
};

static void
cp_rpc_mstream_free(struct cp_rpc_mstream *ms)
{
	if (ms->has_filter)
		cp_rpc_filter_destroy(&ms->filter);
	free(ms->names);
	free(ms);
}

void
cp_rpc_members_free(struct cp_rpc_client *c)
{
	if (c->mstream != NULL)
		cp_rpc_mstream_free(c->mstream);
	c->mstream = NULL;
}

/* Snapshot visitor: append the name. */
static int
cp_rpc_snap_visit(void *arg, const struct cp_rpc_member *m)
{
	struct cp_rpc_mstream *ms = arg;
	const char *name = m->name != NULL ? m->name : "";
	size_t nl = strlen(name) + 1;

	if (ms->len + nl > ms->cap) {
		size_t cap = ms->cap == 0 ? 64 * 1024 : ms->cap * 2;
		char *p;

		while (cap < ms->len + nl)
			cap *= 2;
		p = realloc(ms->names, cap);
		if (p == NULL)
			return -ENOMEM;
		ms->names = p;
		ms->cap = cap;
	}
	memcpy(ms->names + ms->len, name, nl);
	ms->len += nl;
	ms->nb++;
	return 0;
}

/* One name's current record, filtered (match) or encoded (emit). */
struct cp_rpc_one {
	struct cp_rpc_mstream *ms;
	struct cp_rpc_buf *out;		/* NULL: only match */
	bool is_match;
};

static int
cp_rpc_one_visit(void *arg, const struct cp_rpc_member *m)
{
	struct cp_rpc_one *o = arg;

	if (o->out == NULL)
		o->is_match = !o->ms->has_filter ||
			      cp_rpc_filter_match(&o->ms->filter, m);
	else
		cp_rpc_enc_member(o->out, m, o->ms->with_incarnation);
	return 0;
}

/* A member gone since the snapshot: still one record, as left. */
static void
cp_rpc_enc_gone(struct cp_rpc_buf *b, const char *name, bool with_inc)
{
	struct cp_rpc_member m;

	memset(&m, 0, sizeof(m));
	m.name = name;
	m.addr_len = 4;
	m.status = CP_RPC_STATUS_LEFT;
	cp_rpc_enc_member(b, &m, with_inc);
}

/* Match one slice of names; the matches move down to ms->wr. */
static void
cp_rpc_members_filter(struct cp_rpc *rpc, struct cp_rpc_mstream *ms)
{
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;

	for (int k = 0; k < CP_RPC_MEMBERS_SLICE && ms->rd < ms->len; k++) {
		const char *name = ms->names + ms->rd;
		size_t nl = strlen(name) + 1;
		struct cp_rpc_one o = { ms, NULL, false };

		ops->member_find(ops->ctx, name, cp_rpc_one_visit, &o);
		ms->rd += nl;
		if (!o.is_match)
			continue;
		memmove(ms->names + ms->wr, name, nl);
		ms->wr += nl;
		ms->nb_match++;
	}
	if (ms->rd < ms->len)
		return;
	ms->len = ms->wr;
	ms->nb = ms->nb_match;
	ms->rd = 0;
	ms->is_emitting = true;
}

/* Header + {Members: [nb]} once the count is known. */
static void
cp_rpc_members_head(struct cp_rpc_client *c, struct cp_rpc_mstream *ms)
{
	cp_rpc_reply(c, ms->seq, "");
	cp_rpc_enc_map(&c->out, 1);
	cp_rpc_enc_str(&c->out, "Members");
	cp_rpc_enc_array(&c->out, ms->nb);
}

/* Encode one slice of records. @retval true when all are out. */
static bool
cp_rpc_members_emit(struct cp_rpc *rpc, struct cp_rpc_client *c,
		    struct cp_rpc_mstream *ms)
{
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;

	for (int k = 0; k < CP_RPC_MEMBERS_SLICE && ms->nb_out < ms->nb;
	     k++) {
		const char *name = ms->names + ms->rd;
		struct cp_rpc_one o = { ms, &c->out, false };

		if (ops->member_find(ops->ctx, name, cp_rpc_one_visit,
				     &o) != 0)
			cp_rpc_enc_gone(&c->out, name, ms->with_incarnation);
		ms->rd += strlen(name) + 1;
		ms->nb_out++;
	}
	return ms->nb_out == ms->nb;
}

void
cp_rpc_members_more(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	struct cp_rpc_mstream *ms = c->mstream;

	if (ms == NULL || c->is_dead || c->out.len >= CP_RPC_MEMBERS_LOW)
		return;
	if (!ms->is_emitting) {
		cp_rpc_members_filter(rpc, ms);
		return;	/* the next flush (EPOLLOUT stays armed) goes on */
	}
	if (!ms->has_head) {
		cp_rpc_members_head(c, ms);
		ms->has_head = true;
	}
	if (!cp_rpc_members_emit(rpc, c, ms))
		return;
	cp_rpc_members_free(c);
	c->pend = CP_RPC_PEND_NONE;
	cp_rpc_resume(rpc, c);
}

/* The whole reply in one go (ops without member_find), as before. */
static void
cp_rpc_members_whole(struct cp_rpc *rpc, struct cp_rpc_client *c,
		     const struct cp_rpc_filter *filter, bool with_inc)
{
	struct cp_rpc_walk w = {
		.b = &rpc->scratch, .filter = filter,
		.with_incarnation = with_inc,
	};
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	const char *err = "";

	rpc->scratch.len = 0;
	rpc->scratch.overflow = false;
	if (ops->members != NULL &&
	    ops->members(ops->ctx, cp_rpc_walk_visit, &w) != 0) {
		err = "failed to list members";
		w.n = 0;
		rpc->scratch.len = 0;
	}
	cp_rpc_reply(c, c->seq, err);
	cp_rpc_enc_map(&c->out, 1);
	cp_rpc_enc_str(&c->out, "Members");
	cp_rpc_enc_array(&c->out, w.n);
	cp_rpc_enc_raw(&c->out, rpc->scratch.data, rpc->scratch.len);
}

/*
 * Start a reply: snapshot the names (filter taken over), then pend until
 * cp_rpc_members_more has sent it all. *filter is consumed either way.
 */
static void
cp_rpc_members_start(struct cp_rpc *rpc, struct cp_rpc_client *c,
		     struct cp_rpc_filter *filter, bool with_inc)
{
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	struct cp_rpc_mstream *ms = NULL;

	/* A connection with streams, monitor or queries open gets records
	 * between any two values: its reply is built whole, as before. */
	bool is_quiet = c->nb_streams == 0 && !c->has_monitor &&
			!cp_rpc_has_queries(c);

	if (ops->member_find != NULL && ops->members != NULL && is_quiet)
		ms = calloc(1, sizeof(*ms));
	if (ms == NULL || ops->members(ops->ctx, cp_rpc_snap_visit, ms) != 0) {
		if (ms != NULL)
			cp_rpc_mstream_free(ms);
		cp_rpc_members_whole(rpc, c, filter, with_inc);
		if (filter != NULL)
			cp_rpc_filter_destroy(filter);
		return;
	}
	ms->seq = c->seq;
	ms->with_incarnation = with_inc;
	ms->is_emitting = filter == NULL;
	if (filter != NULL) {
		ms->filter = *filter;
		ms->has_filter = true;
	}
	c->mstream = ms;
	c->pend = CP_RPC_PEND_MEMBERS;
}

int
cp_rpc_cmd_members(struct cp_rpc *rpc, struct cp_rpc_client *c,
		   const char *body, const char *end)
{
	(void)body;
	(void)end;
	cp_rpc_members_start(rpc, c, NULL, false);
	return 0;
}

int
cp_rpc_cmd_members_filtered(struct cp_rpc *rpc, struct cp_rpc_client *c,
			    const char *body, const char *end)
{
	bool with_inc = false;
	const struct cp_rpc_field f[] = {
		{ "Incarnation", CP_RPC_FT_BOOL, &with_inc, 0 },
	};
	struct cp_rpc_filter filter;
	int rc = cp_rpc_filter_create(&filter, body, end);
	if (rc == 0)
		rc = cp_rpc_body_decode(body, end, f, 1);
	if (rc == 0) {
		cp_rpc_members_start(rpc, c, &filter, with_inc);
		return 0;
	}
	cp_rpc_filter_destroy(&filter);
	if (rc == -EBADMSG) {
		/* The agent logs and hangs up with no reply: so do we. */
		cp_rpc_client_kill(rpc, c);
		rc = 0;
	}
	return rc;
}
