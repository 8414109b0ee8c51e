/*
 * Two cores and a delta-sync exchange between them, for test_dsync and
 * bench_dsync: cores with the capability, members put in through the
 * core's own inputs (push/pull merges and gossip), the exchange driven
 * message by message with its bytes counted, and the transfer of the
 * leaf set as two restricted push/pulls. Header only, as
 * test_core_util.h; the caller defines DS_CHECK(cond) (Criterion's
 * cr_assert in the tests, abort() in the bench).
 */
#ifndef DSYNC_UTIL_H_INCLUDED
#define DSYNC_UTIL_H_INCLUDED

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim.h"
#include "swim_dsync.h"
#include "swim_wire.h"

static const uint8_t ds_vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

static inline struct swim *
ds_core(const char *name, uint8_t ip, uint64_t seed)
{
	struct swim_cfg cfg;
	const char *err = NULL;

	swim_cfg_default_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.addr = (struct swim_addr){ .ip = { 10, 0, 0, ip }, .ip_len = 4,
				       .port = 7946 };
	memcpy(cfg.vsn, ds_vsn, SWIM_VSN_LEN);
	cfg.vsn_caps = SWIM_DSYNC_CAP_V1;
	cfg.enable_compression = false;
	cfg.seed = seed;
	/* Tables change only as the tests say: no probes, no push/pulls. */
	cfg.probe_interval_us = 3600ull * 1000000;
	cfg.push_pull_interval_us = 0;
	struct swim *s = swim_new(&cfg, &err);
	DS_CHECK(s != NULL);
	return s;
}

static inline void
ds_name(char *buf, size_t cap, const char *prefix, uint32_t i)
{
	snprintf(buf, cap, "%s-%07u.pool", prefix, i);
}

/* One message into s as a UDP packet from 10.0.0.200. */
static inline void
ds_send(struct swim *s, uint64_t now, const struct swim_msg *m)
{
	uint8_t buf[1024];
	struct swim_addr from = { .ip = { 10, 0, 0, 200 }, .ip_len = 4,
				  .port = 7946 };
	int n = swim_wire_encode_msg(m, buf, sizeof(buf));

	DS_CHECK(n > 0);
	swim_on_packet(s, now, &from, buf, (size_t)n, 0);
}

static inline void
ds_alive(struct swim *s, uint64_t now, const char *name, uint32_t inc,
	 uint32_t ip)
{
	static uint8_t addr[4];
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };

	addr[0] = 10;
	addr[1] = (uint8_t)(ip >> 16);
	addr[2] = (uint8_t)(ip >> 8);
	addr[3] = (uint8_t)ip;
	m.alive.incarnation = inc;
	m.alive.node = (struct swim_str){ (const uint8_t *)name,
					  (uint32_t)strlen(name) };
	m.alive.addr = (struct swim_str){ addr, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ ds_vsn, SWIM_VSN_LEN };
	ds_send(s, now, &m);
}

/* suspect or dead about name, from `from`. */
static inline void
ds_accuse(struct swim *s, uint64_t now, enum swim_msg_type type,
	  const char *name, uint32_t inc, const char *from)
{
	struct swim_msg m = { .type = type };

	m.suspect.incarnation = inc;
	m.suspect.node = (struct swim_str){ (const uint8_t *)name,
					    (uint32_t)strlen(name) };
	m.suspect.from = (struct swim_str){ (const uint8_t *)from,
					    (uint32_t)strlen(from) };
	ds_send(s, now, &m);
}

/* Drop what the cores queued: these tests look at tables only. */
static inline void
ds_drain(struct swim *s)
{
	struct swim_output o;
	struct swim_event ev;

	while (swim_pop_output(s, &o))
		;
	while (swim_pop_event(s, &ev))
		;
}

/*
 * nb alive members "<prefix>-<i>" (i from first) at incarnation 1, as a
 * streamed push/pull in slices of 4096 (bounded memory at any nb).
 */
static inline void
ds_fill(struct swim *s, uint64_t now, const char *prefix, uint32_t first,
	uint32_t nb)
{
	static uint8_t buf[4096 * 96 + 64];
	struct swim_pp_dec d;

	for (uint32_t done = 0; done < nb; ) {
		uint32_t k = nb - done < 4096 ? nb - done : 4096;
		struct swim_push_pull_header h = { .nb_nodes = k };
		int n = swim_wire_encode_push_pull_header(&h, buf, sizeof(buf));
		size_t off = (size_t)n;
		for (uint32_t i = 0; i < k; i++) {
			char name[40];
			uint32_t id = first + done + i;
			uint8_t ip[4] = { 10, (uint8_t)(id >> 16),
					  (uint8_t)(id >> 8), (uint8_t)id };
			ds_name(name, sizeof(name), prefix, id);
			struct swim_push_node pn = {
				.name = { (const uint8_t *)name,
					  (uint32_t)strlen(name) },
				.addr = { ip, 4 }, .port = 7946,
				.incarnation = 1, .state = SWIM_STATUS_ALIVE,
				.vsn = { ds_vsn, SWIM_VSN_LEN },
			};
			n = swim_wire_encode_push_node(&pn, buf + off,
						       sizeof(buf) - off);
			DS_CHECK(n > 0);
			off += (size_t)n;
		}
		swim_pp_dec_start(s, &d);
		int rc = swim_pp_dec_next(s, now, &d, buf, off, UINT32_MAX);
		DS_CHECK(rc == (int)off);
		done += k;
		ds_drain(s);
	}
}

/* Bytes each way of one exchange and of its transfer. */
struct ds_bytes {
	size_t ab, ba;			/* digest messages */
	size_t pp_ab, pp_ba;		/* restricted push/pulls */
	uint32_t nodes_ab, nodes_ba;	/* node maps in them */
	unsigned msgs;
};

/*
 * Run the digest messages between a (initiator) and b (responder), one
 * at a time as control does, until a side has nothing to send; the
 * initiator offers the member round unless leaf_only.
 * @retval the initiator's final status (both must agree).
 */
static inline int
ds_exchange_cap(struct swim *a, struct swim *b, struct swim_dsync *xa,
		struct swim_dsync *xb, struct ds_bytes *by, bool leaf_only,
		size_t cap_b)
{
	static uint8_t buf[2][SWIM_DSYNC_MSG_MAX];
	struct swim *s[2] = { a, b };
	struct swim_dsync *x[2] = { xa, xb };
	int st[2] = { 0, 0 };
	size_t len = 0;
	int cur = 0;

	swim_dsync_start(xa, SWIM_DSYNC_INITIATOR);
	swim_dsync_start(xb, SWIM_DSYNC_RESPONDER);
	xa->leaf_only = leaf_only;
	for (unsigned i = 0; i < 4096; i++) {
		size_t out = 0;
		st[cur] = swim_dsync_step(s[cur], x[cur], i ? buf[!cur] : NULL,
					  len, buf[cur], cur ? cap_b :
					  SWIM_DSYNC_MSG_MAX, &out);
		DS_CHECK(st[cur] > 0);
		if (out == 0) {
			/* the last word: both sides agree on the end */
			DS_CHECK(st[cur] != SWIM_DSYNC_WAIT);
			DS_CHECK(st[0] == st[1]);
			return st[0];
		}
		DS_CHECK(swim_dsync_msg_len(buf[cur], out) == (long)out);
		*(cur ? &by->ba : &by->ab) += out;
		by->msgs++;
		len = out;
		cur = !cur;
	}
	DS_CHECK(0);
	return -1;
}

/* cap_b: the responder's output buffer (MEMBERS parts are cut to it). */
static inline int
ds_exchange_opt(struct swim *a, struct swim *b, struct swim_dsync *xa,
		struct swim_dsync *xb, struct ds_bytes *by, bool leaf_only)
{
	return ds_exchange_cap(a, b, xa, xb, by, leaf_only,
			       SWIM_DSYNC_MSG_MAX);
}

static inline int
ds_exchange(struct swim *a, struct swim *b, struct swim_dsync *xa,
	    struct swim_dsync *xb, struct ds_bytes *by)
{
	return ds_exchange_opt(a, b, xa, xb, by, false);
}

/* from's restricted push/pull, merged into to. @retval bytes. */
static inline size_t
ds_push(struct swim *from, const struct swim_dsync *x, struct swim *to,
	uint64_t now, uint32_t *nodes)
{
	static uint8_t win[65536];
	struct swim_pp_enc e;
	struct swim_pp_dec d;
	size_t total = 0;
	int n;

	swim_pp_enc_start_dsync(from, &e, false, 0, x);
	*nodes = e.nb_nodes;
	swim_pp_dec_start(to, &d);
	while ((n = swim_pp_enc_next(from, &e, win, sizeof(win), 512)) > 0) {
		int rc = swim_pp_dec_next(to, now, &d, win, (size_t)n,
					  UINT32_MAX);
		DS_CHECK(rc == n);
		total += (size_t)n;
	}
	DS_CHECK(n == 0 && d.phase == SWIM_PP_DEC_USER);
	return total;
}

/* The transfer: the initiator's leaves first, then the responder's. */
static inline void
ds_transfer(struct swim *a, struct swim *b, const struct swim_dsync *xa,
	    const struct swim_dsync *xb, uint64_t now, struct ds_bytes *by)
{
	by->pp_ab += ds_push(a, xa, b, now, &by->nodes_ab);
	by->pp_ba += ds_push(b, xb, a, now, &by->nodes_ba);
	ds_drain(a);
	ds_drain(b);
}

/* The names a restricted push/pull of from's carries, decoded anew. */
struct ds_names {
	char (*v)[64];
	uint32_t nb, cap;
};

static inline int
ds_names_visit(void *ctx, const struct swim_push_node *n)
{
	struct ds_names *nm = ctx;

	DS_CHECK(nm->nb < nm->cap && n->name.len < 64);
	memcpy(nm->v[nm->nb], n->name.ptr, n->name.len);
	nm->v[nm->nb++][n->name.len] = 0;
	return 0;
}

static inline int
ds_names_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* nm->v: malloc'd by the caller (cap names); sorted on return. */
static inline void
ds_emitted(const struct swim *from, const struct swim_dsync *x,
	   struct ds_names *nm)
{
	static uint8_t buf[8u << 20];
	struct swim_pp_enc e;
	struct swim_push_pull_header h;
	struct swim_str us;
	size_t len = 0;
	int n;

	swim_pp_enc_start_dsync(from, &e, false, 0, x);
	while ((n = swim_pp_enc_next(from, &e, buf + len, sizeof(buf) - len,
				     512)) > 0)
		len += (size_t)n;
	DS_CHECK(n == 0);
	nm->nb = 0;
	DS_CHECK(swim_wire_decode_push_pull(buf, len, &h, ds_names_visit, nm,
					    &us) == (int)len);
	DS_CHECK(h.nb_nodes == nm->nb);
	qsort(nm->v, nm->nb, sizeof(nm->v[0]), ds_names_cmp);
}

struct ds_cmp {
	const struct swim *other;
	uint32_t counted;
	uint32_t mismatched;
};

static inline int
ds_cmp_visit(void *ctx, const struct swim_member_info *m)
{
	struct ds_cmp *c = ctx;
	struct swim_member_info o;

	if (m->status > SWIM_STATUS_SUSPECT)
		return 0;
	c->counted++;
	if (swim_member_find(c->other, (const char *)m->name.ptr, m->name.len,
			     &o) != 0 || o.incarnation != m->incarnation ||
	    o.status != m->status)
		c->mismatched++;
	return 0;
}

/* Do a and b hold the same alive and suspect members, at the same state? */
static inline bool
ds_tables_equal(const struct swim *a, const struct swim *b)
{
	struct ds_cmp ca = { b, 0, 0 }, cb = { a, 0, 0 };

	swim_member_foreach(a, ds_cmp_visit, &ca);
	swim_member_foreach(b, ds_cmp_visit, &cb);
	return ca.mismatched == 0 && cb.mismatched == 0 &&
	       ca.counted == cb.counted;
}

#endif /* DSYNC_UTIL_H_INCLUDED */
