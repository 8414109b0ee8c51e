/* SPDX-License-Identifier: MIT */
/*
 * Streaming side of the Serf RPC: `stream` (member and user events),
 * `monitor` (log lines), `stop`, and the publish calls control makes when
 * something happens. Every record is a header {Error:"", Seq} plus a body,
 * appended to the client's output in one go (single thread: nothing can
 * come between them), and only after the bodiless ack (serf-rpc.md 7).
 * Queries (`query`, `respond`) are in cp_rpc_query.c.
 */
#include "cp_rpc_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cp_rpc_log_levels[5] = {
	"TRACE", "DEBUG", "INFO", "WARN", "ERR",
};

/* One comma-separated token of a Type filter: [tok, tok + len). */
static bool
cp_rpc_token_valid(const char *tok, size_t len)
{
	static const char *const ok[] = {
		"*", "member-join", "member-leave", "member-failed",
		"member-update", "member-reap", "user", "query",
	};
	if ((len >= 5 && memcmp(tok, "user:", 5) == 0) ||
	    (len >= 6 && memcmp(tok, "query:", 6) == 0))
		return true;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (strlen(ok[i]) == len && memcmp(ok[i], tok, len) == 0)
			return true;
	}
	return false;
}

/* Does token [tok, tok+len) take an event of this kind (and name)? */
static bool
cp_rpc_token_takes(const char *tok, size_t len, const char *kind,
		   const char *name)
{
	size_t kl = strlen(kind);
	if (len == 1 && tok[0] == '*')
		return true;
	if (len == kl && memcmp(tok, kind, kl) == 0)
		return true;	/* "user" / "query" take every name */
	if (name == NULL || len <= kl || memcmp(tok, kind, kl) != 0 ||
	    tok[kl] != ':')
		return false;
	return strlen(name) == len - kl - 1 &&
	       memcmp(tok + kl + 1, name, len - kl - 1) == 0;
}

/* Walk the tokens of a filter; "" means "*", as in Serf. */
static bool
cp_rpc_filter_walk(const char *filter, const char *kind, const char *name,
		   bool validate)
{
	if (filter[0] == '\0')
		filter = "*";
	for (const char *p = filter;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (validate && !cp_rpc_token_valid(p, len))
			return false;
		if (!validate && cp_rpc_token_takes(p, len, kind, name))
			return true;
		if (comma == NULL)
			return validate;
		p = comma + 1;
	}
}

bool
cp_rpc_filter_takes(const char *filter, const char *kind, const char *name)
{
	return cp_rpc_filter_walk(filter, kind, name, false);
}

int
cp_rpc_cmd_stream(struct cp_rpc *rpc, struct cp_rpc_client *c,
		  const char *body, const char *end)
{
	struct cp_rpc_sv type = { NULL, 0 };
	const struct cp_rpc_field f[] = {
		{ "Type", CP_RPC_FT_STR, &type, 0 },
	};
	if (cp_rpc_body_decode(body, end, f, 1) != 0)
		return -EINVAL;
	char filter[CP_RPC_FILTER_MAX];
	bool ok = type.len < sizeof(filter) &&
		  (type.p == NULL || memchr(type.p, '\0', type.len) == NULL);
	if (ok) {
		memcpy(filter, type.p != NULL ? type.p : "", type.len);
		filter[type.len] = '\0';
		ok = cp_rpc_filter_walk(filter, NULL, NULL, true);
	}
	for (uint32_t i = 0; ok && i < c->nb_streams; i++) {
		if (c->streams[i].seq == c->seq) {
			cp_rpc_reply(c, c->seq,
				     "Stream with given sequence exists");
			return 0;
		}
	}
	if (!ok) {
		cp_rpc_reply(c, c->seq, "Invalid event filter");
	} else if (c->nb_streams >= rpc->cfg.max_streams) {
		cp_rpc_reply(c, c->seq, "too many streams on this connection");
	} else {
		struct cp_rpc_stream *s = &c->streams[c->nb_streams++];
		s->seq = c->seq;
		memcpy(s->filter, filter, sizeof(filter));
		cp_rpc_reply(c, c->seq, "");	/* the ack: before records */
	}
	return 0;
}

int
cp_rpc_cmd_monitor(struct cp_rpc *rpc, struct cp_rpc_client *c,
		   const char *body, const char *end)
{
	struct cp_rpc_sv lvl = { NULL, 0 };
	const struct cp_rpc_field f[] = {
		{ "LogLevel", CP_RPC_FT_STR, &lvl, 0 },
	};
	if (cp_rpc_body_decode(body, end, f, 1) != 0)
		return -EINVAL;
	char up[64];
	uint32_t n = lvl.len < sizeof(up) ? lvl.len : sizeof(up) - 1;
	for (uint32_t i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)lvl.p[i]);
	up[n] = '\0';
	unsigned level = 0;
	while (level < 5 && strcmp(cp_rpc_log_levels[level], up) != 0)
		level++;
	if (level == 5 || n != lvl.len) {
		char err[96];
		snprintf(err, sizeof(err), "Unknown log level: %s", up);
		cp_rpc_reply(c, c->seq, err);
	} else if (c->has_monitor) {
		cp_rpc_reply(c, c->seq, "Monitor already exists");
	} else {
		c->has_monitor = true;
		c->monitor_seq = c->seq;
		c->monitor_level = level;
		cp_rpc_reply(c, c->seq, "");	/* the ack, then the replay */
		cp_rpc_log_replay(rpc, c);
	}
	return 0;
}

int
cp_rpc_cmd_stop(struct cp_rpc *rpc, struct cp_rpc_client *c,
		const char *body, const char *end)
{
	(void)rpc;
	uint64_t seq = 0;
	const struct cp_rpc_field f[] = {
		{ "Stop", CP_RPC_FT_UINT, &seq, UINT64_MAX },
	};
	if (cp_rpc_body_decode(body, end, f, 1) != 0)
		return -EINVAL;
	if (c->has_monitor && c->monitor_seq == seq)
		c->has_monitor = false;
	for (uint32_t i = 0; i < c->nb_streams; i++) {
		if (c->streams[i].seq == seq) {
			c->streams[i] = c->streams[--c->nb_streams];
			break;
		}
	}
	cp_rpc_reply(c, c->seq, "");	/* always "", as the agent */
	return 0;
}

void
cp_rpc_publish_members(struct cp_rpc *rpc, enum cp_rpc_event ev,
		       const struct cp_rpc_member *members, uint32_t nb_members)
{
	if ((unsigned)ev >= CP_RPC_EVENT_COUNT)
		return;
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		struct cp_rpc_client *c = rpc->clients[i];
		if (c == NULL || c->is_dead || c->nb_streams == 0)
			continue;
		for (uint32_t s = 0; s < c->nb_streams; s++) {
			if (!cp_rpc_filter_takes(c->streams[s].filter,
						 cp_rpc_event_str[ev], NULL))
				continue;
			cp_rpc_reply(c, c->streams[s].seq, "");
			cp_rpc_enc_map(&c->out, 2);
			cp_rpc_enc_str(&c->out, "Event");
			cp_rpc_enc_str(&c->out, cp_rpc_event_str[ev]);
			cp_rpc_enc_str(&c->out, "Members");
			cp_rpc_enc_array(&c->out, nb_members);
			for (uint32_t m = 0; m < nb_members; m++)
				cp_rpc_encode_member(&c->out, &members[m]);
		}
		cp_rpc_client_flush(rpc, c);
	}
	cp_rpc_reap_if_idle(rpc);
}

void
cp_rpc_publish_user_event(struct cp_rpc *rpc, uint64_t ltime,
			  const char *name, const uint8_t *payload,
			  size_t payload_len, bool coalesce)
{
	uint32_t plen = payload_len > UINT32_MAX ? UINT32_MAX :
			(uint32_t)payload_len;
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		struct cp_rpc_client *c = rpc->clients[i];
		if (c == NULL || c->is_dead || c->nb_streams == 0)
			continue;
		for (uint32_t s = 0; s < c->nb_streams; s++) {
			if (!cp_rpc_filter_takes(c->streams[s].filter, "user",
						 name))
				continue;
			cp_rpc_reply(c, c->streams[s].seq, "");
			cp_rpc_enc_map(&c->out, 5);
			cp_rpc_enc_str(&c->out, "Coalesce");
			cp_rpc_enc_bool(&c->out, coalesce);
			cp_rpc_enc_str(&c->out, "Event");
			cp_rpc_enc_str(&c->out, "user");
			cp_rpc_enc_str(&c->out, "LTime");
			cp_rpc_enc_uint(&c->out, ltime);
			cp_rpc_enc_str(&c->out, "Name");
			cp_rpc_enc_str(&c->out, name);
			cp_rpc_enc_str(&c->out, "Payload");
			cp_rpc_enc_bin(&c->out, payload, plen);
		}
		cp_rpc_client_flush(rpc, c);
	}
	cp_rpc_reap_if_idle(rpc);
}

/* Level of a line: the first "[...]" token, as hashicorp/logutils does. */
static int
cp_rpc_line_level(const char *line)
{
	const char *lb = strchr(line, '[');
	const char *rb = lb != NULL ? strchr(lb, ']') : NULL;
	if (rb == NULL)
		return -1;
	size_t len = (size_t)(rb - lb - 1);
	for (int i = 0; i < 5; i++) {
		if (strlen(cp_rpc_log_levels[i]) == len &&
		    memcmp(cp_rpc_log_levels[i], lb + 1, len) == 0)
			return i;
	}
	return -1;	/* unknown levels are never filtered */
}

/* One {Log} record to a monitor, if the line passes its level. */
static void
cp_rpc_log_send(struct cp_rpc_client *c, const char *line)
{
	int level = cp_rpc_line_level(line);
	if (level >= 0 && (unsigned)level < c->monitor_level)
		return;
	cp_rpc_reply(c, c->monitor_seq, "");
	cp_rpc_enc_map(&c->out, 1);
	cp_rpc_enc_str(&c->out, "Log");
	cp_rpc_enc_str(&c->out, line);
}

void
cp_rpc_log_replay(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	for (uint32_t i = 0; i < CP_RPC_LOG_RING; i++) {
		const char *line = rpc->log_ring[(rpc->log_next + i) %
						 CP_RPC_LOG_RING];
		if (line != NULL)
			cp_rpc_log_send(c, line);
	}
}

/* Keep a copy (cut to CP_RPC_LOG_LINE_MAX) for monitors yet to come. */
static void
cp_rpc_log_keep(struct cp_rpc *rpc, const char *line)
{
	char **slot = &rpc->log_ring[rpc->log_next];
	free(*slot);
	*slot = strndup(line, CP_RPC_LOG_LINE_MAX);
	rpc->log_next = (rpc->log_next + 1) % CP_RPC_LOG_RING;
}

void
cp_rpc_publish_log(struct cp_rpc *rpc, const char *line)
{
	cp_rpc_log_keep(rpc, line);
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		struct cp_rpc_client *c = rpc->clients[i];
		if (c == NULL || c->is_dead || !c->has_monitor)
			continue;
		cp_rpc_log_send(c, line);
		cp_rpc_client_flush(rpc, c);
	}
	cp_rpc_reap_if_idle(rpc);
}
