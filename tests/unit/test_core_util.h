/*
 * One core under test ("me", 10.0.0.1:7946) fed hand-made packets from
 * fake peers; its outputs are decoded back into messages to inspect.
 */
#ifndef TEST_CORE_UTIL_H_INCLUDED
#define TEST_CORE_UTIL_H_INCLUDED

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim.h"
#include "swim_wire.h"

#define MS 1000ull
#define S (1000ull * MS)
#define TU_MAX_MSGS 512

static const uint8_t tu_vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

/** A decoded output message, with copies of the fields tests look at. */
struct tu_msg {
	enum swim_output_kind kind;
	struct swim_addr to;
	enum swim_msg_type type;
	bool crc;		/* the packet was CRC-wrapped */
	bool compressed;
	unsigned nb_in_pkt;	/* messages in its packet */
	uint32_t seq;
	uint32_t incarnation;
	char node[SWIM_NAME_MAX + 1];
	char from[SWIM_NAME_MAX + 1];
	bool nack;
	uint32_t payload_len;
	uint8_t payload[64];
	uint8_t port_hi;
	/* TCP outputs */
	uint64_t deadline_us;
	bool join;
};

struct tu {
	struct swim *s;
	uint64_t now;
	unsigned ev[SWIM_EV_COUNT];
	char ev_name[SWIM_EV_COUNT][SWIM_NAME_MAX + 1];
	uint64_t ev_rtt;
	uint32_t ev_len;
	struct tu_msg m[TU_MAX_MSGS];
	unsigned nb;
	/* cumulative, never reset: outputs of each kind, last TCP one */
	unsigned total_kind[3];
	unsigned total_type[16];
	struct tu_msg last_tcp;
	struct swim_wire_scratch scratch;
};

static inline void
tu_addr(unsigned i, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->ip[0] = 10;
	a->ip[3] = (uint8_t)i;
	a->ip_len = 4;
	a->port = 7946;
}

static inline void
tu_cfg(struct swim_cfg *cfg)
{
	swim_cfg_default_lan(cfg);
	strcpy(cfg->name, "me");
	tu_addr(1, &cfg->addr);
	cfg->seed = 7;
	cfg->enable_compression = false;
}

static inline struct tu *
tu_new_cfg(const struct swim_cfg *cfg)
{
	struct tu *t = calloc(1, sizeof(*t));
	const char *err = NULL;
	t->s = swim_new(cfg, &err);
	cr_assert_not_null(t->s, "%s", err);
	t->now = 1 * S;
	swim_tick(t->s, t->now);
	return t;
}

static inline struct tu *
tu_new(void)
{
	struct swim_cfg cfg;
	tu_cfg(&cfg);
	return tu_new_cfg(&cfg);
}

static inline void
tu_delete(struct tu *t)
{
	swim_delete(t->s);
	free(t);
}

static inline void
tu_str(char *dst, const struct swim_str *s)
{
	size_t l = s->len > SWIM_NAME_MAX ? SWIM_NAME_MAX : s->len;
	if (l)
		memcpy(dst, s->ptr, l);
	dst[l] = '\0';
}

struct tu_visit {
	struct tu *t;
	const struct swim_output *o;
	unsigned first;
};

static inline int
tu_visit(void *ctx, const struct swim_msg *msg)
{
	struct tu_visit *v = ctx;
	struct tu *t = v->t;
	if (t->nb >= TU_MAX_MSGS)
		return 0;
	struct tu_msg *m = &t->m[t->nb++];
	memset(m, 0, sizeof(*m));
	m->kind = SWIM_OUT_PACKET;
	m->to = v->o->to;
	m->type = msg->type;
	m->crc = v->o->len > 0 && v->o->data[0] == SWIM_MSG_HAS_CRC;
	m->compressed = v->o->data[m->crc ? 5 : 0] == SWIM_MSG_COMPRESS;
	switch (msg->type) {
	case SWIM_MSG_PING:
		m->seq = msg->ping.seq_no;
		tu_str(m->node, &msg->ping.node);
		tu_str(m->from, &msg->ping.source_node);
		break;
	case SWIM_MSG_INDIRECT_PING:
		m->seq = msg->indirect_ping.seq_no;
		tu_str(m->node, &msg->indirect_ping.node);
		tu_str(m->from, &msg->indirect_ping.source_node);
		m->nack = msg->indirect_ping.nack;
		break;
	case SWIM_MSG_ACK:
		m->seq = msg->ack.seq_no;
		m->payload_len = msg->ack.payload.ptr ? msg->ack.payload.len :
							UINT32_MAX;
		if (msg->ack.payload.ptr && msg->ack.payload.len <= 64)
			memcpy(m->payload, msg->ack.payload.ptr,
			       msg->ack.payload.len);
		break;
	case SWIM_MSG_NACK:
		m->seq = msg->nack.seq_no;
		break;
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		m->incarnation = msg->suspect.incarnation;
		tu_str(m->node, &msg->suspect.node);
		tu_str(m->from, &msg->suspect.from);
		break;
	case SWIM_MSG_ALIVE:
		m->incarnation = msg->alive.incarnation;
		tu_str(m->node, &msg->alive.node);
		break;
	case SWIM_MSG_USER:
		m->payload_len = msg->user.data.len;
		if (msg->user.data.len <= 64)
			memcpy(m->payload, msg->user.data.ptr,
			       msg->user.data.len);
		break;
	default:
		break;
	}
	return 0;
}

/* Pop every output; decode packets into t->m[]. Events are counted. */
static inline void
tu_collect(struct tu *t)
{
	struct swim_output o;
	struct swim_event ev;
	t->nb = 0;
	memset(t->ev, 0, sizeof(t->ev));
	while (swim_pop_output(t->s, &o)) {
		if (o.kind != SWIM_OUT_PACKET) {
			struct tu_msg *m = &t->m[t->nb++];
			memset(m, 0, sizeof(*m));
			m->kind = o.kind;
			m->to = o.to;
			m->seq = o.seq_no;
			snprintf(m->node, sizeof(m->node), "%s", o.node);
			m->deadline_us = o.deadline_us;
			m->join = o.join;
			t->total_kind[o.kind]++;
			t->last_tcp = *m;
			continue;
		}
		struct tu_visit v = { t, &o, t->nb };
		t->scratch.used = 0;
		int rc = swim_wire_decode_packet(o.data, o.len, &t->scratch,
						 tu_visit, &v);
		cr_assert(rc > 0, "undecodable output: %d", rc);
		for (unsigned i = v.first; i < t->nb; i++) {
			t->m[i].nb_in_pkt = (unsigned)rc;
			if (t->m[i].type < 16)
				t->total_type[t->m[i].type]++;
		}
		t->total_kind[SWIM_OUT_PACKET]++;
	}
	while (swim_pop_event(t->s, &ev)) {
		t->ev[ev.kind]++;
		tu_str(t->ev_name[ev.kind], &ev.member.name);
		if (ev.kind == SWIM_EV_PING)
			t->ev_rtt = ev.rtt_us;
		t->ev_len = ev.data.len;
	}
}

/* Count collected messages of a type (and node name when non-NULL). */
static inline unsigned
tu_count(const struct tu *t, enum swim_msg_type type, const char *node)
{
	unsigned nb = 0;
	for (unsigned i = 0; i < t->nb; i++) {
		const struct tu_msg *m = &t->m[i];
		if (m->kind == SWIM_OUT_PACKET && m->type == type &&
		    (node == NULL || strcmp(m->node, node) == 0))
			nb++;
	}
	return nb;
}

static inline const struct tu_msg *
tu_find(const struct tu *t, enum swim_msg_type type, const char *node)
{
	for (unsigned i = 0; i < t->nb; i++) {
		const struct tu_msg *m = &t->m[i];
		if (m->kind == SWIM_OUT_PACKET && m->type == type &&
		    (node == NULL || strcmp(m->node, node) == 0))
			return m;
	}
	return NULL;
}

static inline unsigned
tu_count_kind(const struct tu *t, enum swim_output_kind kind)
{
	unsigned nb = 0;
	for (unsigned i = 0; i < t->nb; i++)
		nb += t->m[i].kind == kind;
	return nb;
}

static inline void
tu_packet(struct tu *t, unsigned from, const uint8_t *buf, size_t len,
	  unsigned flags)
{
	struct swim_addr a;
	tu_addr(from, &a);
	swim_on_packet(t->s, t->now, &a, buf, len, flags);
}

static inline void
tu_send(struct tu *t, unsigned from, const struct swim_msg *msg)
{
	uint8_t buf[4096];
	int len = swim_wire_encode_msg(msg, buf, sizeof(buf));
	cr_assert(len > 0, "encode: %d", len);
	tu_packet(t, from, buf, (size_t)len, 0);
}

static inline struct swim_str
tu_s(const char *s)
{
	struct swim_str r = { (const uint8_t *)s, (uint32_t)strlen(s) };
	return r;
}

/* alive for node `name` at 10.0.0.<ip>:7946, with a full serf Vsn. */
static inline void
tu_alive_vsn(struct tu *t, unsigned ip, const char *name, uint32_t inc,
	     const char *meta, const uint8_t *vsn)
{
	static uint8_t addr[4];
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };
	addr[0] = 10;
	addr[1] = 0;
	addr[2] = 0;
	addr[3] = (uint8_t)ip;
	m.alive.incarnation = inc;
	m.alive.node = tu_s(name);
	m.alive.addr.ptr = addr;
	m.alive.addr.len = 4;
	m.alive.port = 7946;
	if (meta != NULL)
		m.alive.meta = tu_s(meta);
	if (vsn != NULL) {
		m.alive.vsn.ptr = vsn;
		m.alive.vsn.len = SWIM_VSN_LEN;
	}
	tu_send(t, ip, &m);
}

static inline void
tu_alive(struct tu *t, unsigned ip, const char *name, uint32_t inc,
	 const char *meta)
{
	tu_alive_vsn(t, ip, name, inc, meta, tu_vsn);
}

static inline void
tu_accuse(struct tu *t, enum swim_msg_type type, const char *node,
	  uint32_t inc, const char *from)
{
	struct swim_msg m = { .type = type };
	m.suspect.incarnation = inc;
	m.suspect.node = tu_s(node);
	m.suspect.from = tu_s(from);
	tu_send(t, 9, &m);
}

static inline int
tu_status(struct tu *t, const char *name)
{
	struct swim_member_info info;
	if (swim_member_find(t->s, name, strlen(name), &info) != 0)
		return -1;
	return (int)info.status;
}

static inline uint32_t
tu_inc(struct tu *t, const char *name)
{
	struct swim_member_info info;
	cr_assert_eq(swim_member_find(t->s, name, strlen(name), &info), 0);
	return info.incarnation;
}

static inline void
tu_advance(struct tu *t, uint64_t us)
{
	t->now += us;
	swim_tick(t->s, t->now);
}

/* Members "p2".."p<n+1>" at 10.0.0.2.. alive at incarnation 1. */
static inline void
tu_peers(struct tu *t, unsigned n)
{
	char name[16];
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "p%u", i + 2);
		tu_alive(t, i + 2, name, 1, NULL);
	}
	tu_collect(t);
}

/* Ack every ping the core sent (healthy fake peers); returns acks sent. */
static inline unsigned
tu_answer_pings(struct tu *t)
{
	unsigned nb = 0;
	unsigned count = t->nb;
	struct tu_msg pings[TU_MAX_MSGS];
	memcpy(pings, t->m, count * sizeof(pings[0]));
	for (unsigned i = 0; i < count; i++) {
		if (pings[i].kind != SWIM_OUT_PACKET ||
		    pings[i].type != SWIM_MSG_PING)
			continue;
		struct swim_msg ack = { .type = SWIM_MSG_ACK };
		ack.ack.seq_no = pings[i].seq;
		tu_send(t, pings[i].to.ip[3], &ack);
		nb++;
	}
	return nb;
}

/* Run for dur µs, deadline by deadline, with every peer answering. */
static inline void
tu_run(struct tu *t, uint64_t dur)
{
	uint64_t end = t->now + dur;
	for (int guard = 0; guard < 100000; guard++) {
		uint64_t next = swim_next_deadline(t->s);
		if (next > end)
			next = end;
		if (next > t->now)
			t->now = next;
		swim_tick(t->s, t->now);
		tu_collect(t);
		tu_answer_pings(t);
		if (t->now >= end)
			break;
	}
	tu_collect(t);
}

#endif /* TEST_CORE_UTIL_H_INCLUDED */
