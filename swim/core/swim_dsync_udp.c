/*
 * Delta sync's HELLO over UDP (swim_dsync_udp.h): the two datagrams'
 * bytes, the HELLOs this core waits on (at most SWIM_DSYNC_UDP_PENDING,
 * one timer for the earliest), answering a peer's HELLO from our
 * digests, and turning DIFFER or a late answer into a SWIM_OUT_PUSH_PULL
 * that control runs as the TCP exchange. Pure: no socket, no clock.
 */
#include "swim_dsync_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The CRC wrapper's header: type 12 + CRC-32 BE (swim_wire.c). */
#define SWIM_DSYNC_CRC_HDR 5u

/* --- bytes --- */

#define SWIM_DSYNC_UFLD(kind, type, member) \
	{ SWIM_DSYNC_F_##kind, (uint8_t)offsetof(type, member) }

static const struct swim_dsync_fix swim_dsync_uhello_fix = {
	SWIM_DSYNC_UDP_HELLO, SWIM_DSYNC_UHELLO_LEN - SWIM_DSYNC_HDR_LEN, {
		SWIM_DSYNC_UFLD(U8, struct swim_dsync_uhello, version),
		SWIM_DSYNC_UFLD(U8, struct swim_dsync_uhello, flags),
		{ SWIM_DSYNC_F_ZERO, 0 },
		{ SWIM_DSYNC_F_ZERO, 0 },
		SWIM_DSYNC_UFLD(U32, struct swim_dsync_uhello, nonce),
		SWIM_DSYNC_UFLD(U32, struct swim_dsync_uhello, count),
		SWIM_DSYNC_UFLD(U64, struct swim_dsync_uhello, root),
	} };

static const struct swim_dsync_fix swim_dsync_uanswer_fix = {
	SWIM_DSYNC_UDP_ANSWER, SWIM_DSYNC_UANSWER_LEN - SWIM_DSYNC_HDR_LEN, {
		SWIM_DSYNC_UFLD(U32, struct swim_dsync_uanswer, nonce),
		SWIM_DSYNC_UFLD(U8, struct swim_dsync_uanswer, verdict),
		SWIM_DSYNC_UFLD(U32, struct swim_dsync_uanswer, count),
		SWIM_DSYNC_UFLD(U64, struct swim_dsync_uanswer, root),
	} };

int
swim_dsync_encode_uhello(const struct swim_dsync_uhello *h, uint8_t *out,
			 size_t cap)
{
	return swim_dsync_fix_encode(&swim_dsync_uhello_fix, h, out, cap);
}

int
swim_dsync_decode_uhello(const uint8_t *buf, size_t len,
			 struct swim_dsync_uhello *h)
{
	int rc = swim_dsync_fix_decode(&swim_dsync_uhello_fix, buf, len, true,
				       h);

	if (rc > 0 && h->version != SWIM_DSYNC_VERSION)
		return SWIM_DSYNC_E_VERSION;
	return rc;
}

int
swim_dsync_encode_uanswer(const struct swim_dsync_uanswer *a, uint8_t *out,
			  size_t cap)
{
	return swim_dsync_fix_encode(&swim_dsync_uanswer_fix, a, out, cap);
}

int
swim_dsync_decode_uanswer(const uint8_t *buf, size_t len,
			  struct swim_dsync_uanswer *a)
{
	int rc = swim_dsync_fix_decode(&swim_dsync_uanswer_fix, buf, len,
				       true, a);

	if (rc > 0 && a->verdict != SWIM_DSYNC_VERDICT_INSYNC &&
	    a->verdict != SWIM_DSYNC_VERDICT_DIFFER)
		return SWIM_DSYNC_E_RANGE;
	return rc;
}

/* --- state --- */

bool
swim_member_dsync_udp_capable(const struct swim *s, const char *name,
			      size_t len)
{
	const struct swim_member *m = swim_members_find(&s->mt, name, len);

	return m != NULL && (m->vsn[SWIM_VSN_LEN] & SWIM_DSYNC_CAP_UDP) != 0;
}

/* The state, allocated at first use (most cores never need it). */
static struct swim_dsync_udp *
swim_dudp(struct swim *s)
{
	if (s->dudp == NULL) {
		s->dudp = calloc(1, sizeof(*s->dudp));
		if (s->dudp != NULL)
			swim_timer_init(&s->dudp->t, SWIM_T_DSYNC_UDP);
	}
	return s->dudp;
}

void
swim_dsync_udp_get_stats(const struct swim *s,
			 struct swim_dsync_udp_stats *st)
{
	if (s->dudp != NULL)
		*st = s->dudp->st;
	else
		memset(st, 0, sizeof(*st));
}

/* A datagram we took and could not use: counted by its reason. */
static void
swim_dsync_udp_drop(struct swim *s, int err)
{
	struct swim_dsync_udp *d = swim_dudp(s);

	if (d == NULL) {
		s->stats.packets_bad++;
		return;
	}
	if (err <= SWIM_DSYNC_E_TRUNCATED && err >= SWIM_DSYNC_E_ABORTED)
		d->st.drops[SWIM_DSYNC_E_TRUNCATED - err]++;
	d->st.last_err = err;
}

/* The timer at the earliest deadline of the HELLOs we wait on. */
static void
swim_dsync_udp_rearm(struct swim *s)
{
	struct swim_dsync_udp *d = s->dudp;
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < SWIM_DSYNC_UDP_PENDING; i++)
		if (d->pend[i].is_used && d->pend[i].deadline_us < next)
			next = d->pend[i].deadline_us;
	if (next == UINT64_MAX)
		swim_timer_cancel(&s->timers, &d->t);
	else
		swim_timer_arm(&s->timers, &d->t, next);
}

/* Ask control for the TCP exchange with p's peer (a periodic push/pull
 * with a capable peer is one), and stop waiting on p. */
static void
swim_dsync_udp_to_tcp(struct swim *s, struct swim_dsync_upend *p)
{
	struct swim_out_slot *o = swim_out_push(s, SWIM_OUT_PUSH_PULL, &p->to);

	if (o != NULL)
		memcpy(o->node, p->name, sizeof(o->node));
	p->is_used = false;
}

/* --- initiator --- */

static bool
swim_dsync_udp_peer_ok(const struct swim *s, const struct swim_member *m)
{
	return (s->cfg.vsn_caps & SWIM_DSYNC_CAP_UDP) != 0 && m != NULL &&
	       !m->is_self && m->status == SWIM_STATUS_ALIVE &&
	       (m->vsn[SWIM_VSN_LEN] & SWIM_DSYNC_CAP_UDP) != 0;
}

/* A free slot, or NULL. */
static struct swim_dsync_upend *
swim_dsync_udp_slot(struct swim_dsync_udp *d)
{
	for (unsigned i = 0; i < SWIM_DSYNC_UDP_PENDING; i++)
		if (!d->pend[i].is_used)
			return &d->pend[i];
	return NULL;
}

static int
swim_dsync_udp_send_hello(struct swim *s, const struct swim_member *m)
{
	struct swim_dsync_udp *d = swim_dudp(s);
	struct swim_dsync_upend *p = d != NULL ? swim_dsync_udp_slot(d) : NULL;
	uint8_t buf[SWIM_DSYNC_UHELLO_LEN];
	uint64_t sent = s->stats.packets_out;

	if (d == NULL)
		return -ENOMEM;
	if (p == NULL)
		return -EBUSY;
	struct swim_dsync_uhello h = {
		.version = SWIM_DSYNC_VERSION,
		.nonce = (uint32_t)swim_rand_next(&s->rnd),
		.count = swim_dsync_count(s),
		.root = swim_dsync_root(s),
	};
	int n = swim_dsync_encode_uhello(&h, buf, sizeof(buf));
	if (n > 0)	/* bare: 25 bytes never shrink under LZW */
		swim_send_raw(s, &m->addr, m, buf, (size_t)n);
	if (s->stats.packets_out == sent)
		return -ENOMEM;	/* the output queue refused it */
	d->st.bytes += (uint64_t)n + (m->vsn[1] >= 5 ? SWIM_DSYNC_CRC_HDR : 0);
	p->is_used = true;
	p->nonce = h.nonce;
	p->deadline_us = s->now + s->cfg.probe_timeout_us;
	p->to = m->addr;
	memcpy(p->name, m->name, m->name_len);
	p->name[m->name_len] = '\0';
	d->st.hellos_out++;
	swim_dsync_udp_rearm(s);
	return 0;
}

int
swim_dsync_udp_hello(struct swim *s, uint64_t now_us, const char *name,
		     size_t len)
{
	const struct swim_member *m;

	swim_enter(s, now_us);
	m = name != NULL ? swim_members_find(&s->mt, name, len) : NULL;
	if (!swim_dsync_udp_peer_ok(s, m))
		return -EPERM;
	return swim_dsync_udp_send_hello(s, m);
}

bool
swim_dsync_udp_periodic(struct swim *s, const struct swim_member *m)
{
	return swim_dsync_udp_peer_ok(s, m) &&
	       swim_dsync_udp_send_hello(s, m) == 0;
}

int
swim_dsync_udp_want(struct swim *s, uint64_t now_us)
{
	struct swim_dsync_udp *d;

	swim_enter(s, now_us);
	if ((s->cfg.vsn_caps & SWIM_DSYNC_CAP_UDP) == 0)
		return -EPERM;
	d = swim_dudp(s);
	if (d == NULL)
		return -ENOMEM;
	if (d->is_wanted)
		return -EALREADY;
	d->is_wanted = true;
	d->want_us = s->now;
	return 0;
}

int
swim_dsync_udp_want_poll(struct swim *s, uint64_t now_us)
{
	struct swim_dsync_udp *d = s->dudp;

	swim_enter(s, now_us);
	if (d == NULL || !d->is_wanted)
		return 0;
	if (s->now - d->want_us <
	    SWIM_DSYNC_WANT_PROBES * s->cfg.probe_interval_us)
		return -EINPROGRESS;
	d->is_wanted = false;
	return -ETIMEDOUT;
}

void
swim_dsync_udp_on_probe(struct swim *s, const struct swim_member *m)
{
	struct swim_dsync_udp *d = s->dudp;

	if (d == NULL || !d->is_wanted || !swim_dsync_udp_peer_ok(s, m) ||
	    swim_dsync_udp_send_hello(s, m) != 0)
		return;
	d->is_wanted = false;
	d->st.hellos_on_probe++;
}

void
swim_dsync_udp_expire(struct swim *s)
{
	struct swim_dsync_udp *d = s->dudp;

	if (d == NULL)
		return;
	for (unsigned i = 0; i < SWIM_DSYNC_UDP_PENDING; i++) {
		struct swim_dsync_upend *p = &d->pend[i];

		if (!p->is_used || p->deadline_us > s->now)
			continue;
		d->st.timeouts++;
		p->is_used = false;
		/* one loss: TCP keeps the bound; two in a row: wait */
		if (d->is_fallback_spent)
			continue;
		d->is_fallback_spent = true;
		d->st.fallbacks++;
		swim_dsync_udp_to_tcp(s, p);
	}
	swim_dsync_udp_rearm(s);
}

/* --- both sides' inbound --- */

/* A peer's HELLO: the verdict from our digests, back to the sender. */
static void
swim_dsync_udp_on_hello(struct swim *s, const struct swim_addr *from,
			const uint8_t *buf, size_t len, bool had_crc)
{
	struct swim_dsync_udp *d = swim_dudp(s);
	struct swim_dsync_uhello h;
	struct swim_dsync_uanswer a;
	uint8_t out[SWIM_DSYNC_UANSWER_LEN];
	int rc = swim_dsync_decode_uhello(buf, len, &h);

	if (rc < 0 || d == NULL) {
		swim_dsync_udp_drop(s, rc);
		return;
	}
	if ((s->cfg.vsn_caps & SWIM_DSYNC_CAP_UDP) == 0) {
		d->st.disabled++;	/* its TCP fallback gets ABORT */
		return;
	}
	d->st.hellos_in++;
	a.nonce = h.nonce;
	a.count = swim_dsync_count(s);
	a.root = swim_dsync_root(s);
	a.verdict = a.count == h.count && a.root == h.root ?
		    SWIM_DSYNC_VERDICT_INSYNC : SWIM_DSYNC_VERDICT_DIFFER;
	if (a.verdict == SWIM_DSYNC_VERDICT_INSYNC)
		d->st.insync_out++;
	else
		d->st.differ_out++;
	rc = swim_dsync_encode_uanswer(&a, out, sizeof(out));
	/* CRC-wrapped as the HELLO came: our own PMax (self) says 5 */
	if (rc <= 0)
		return;
	swim_send_raw(s, from, had_crc ? s->self : NULL, out, (size_t)rc);
	d->st.bytes += (uint64_t)rc + (had_crc ? SWIM_DSYNC_CRC_HDR : 0);
}

/* An answer to one of our HELLOs (any source: the nonce decides). */
static void
swim_dsync_udp_on_answer(struct swim *s, const uint8_t *buf, size_t len)
{
	struct swim_dsync_udp *d = swim_dudp(s);
	struct swim_dsync_uanswer a;
	int rc = swim_dsync_decode_uanswer(buf, len, &a);

	if (rc < 0 || d == NULL) {
		swim_dsync_udp_drop(s, rc);
		return;
	}
	for (unsigned i = 0; i < SWIM_DSYNC_UDP_PENDING; i++) {
		struct swim_dsync_upend *p = &d->pend[i];

		if (!p->is_used || p->nonce != a.nonce)
			continue;
		d->is_fallback_spent = false;	/* the path answers */
		if (a.verdict == SWIM_DSYNC_VERDICT_INSYNC) {
			d->st.insync_in++;
			p->is_used = false;
		} else {
			d->st.differ_in++;
			swim_dsync_udp_to_tcp(s, p);
		}
		swim_dsync_udp_rearm(s);
		return;
	}
	d->st.stale++;	/* late (timed out), duplicated or forged */
}

static bool
swim_dsync_udp_is_type(uint8_t b)
{
	return b == SWIM_DSYNC_UDP_HELLO || b == SWIM_DSYNC_UDP_ANSWER;
}

bool
swim_dsync_udp_on_packet(struct swim *s, const struct swim_addr *from,
			 const uint8_t *buf, size_t len)
{
	bool had_crc = false;

	if (len > SWIM_DSYNC_CRC_HDR && buf[0] == SWIM_MSG_HAS_CRC &&
	    swim_dsync_udp_is_type(buf[SWIM_DSYNC_CRC_HDR])) {
		uint32_t crc = swim_dsync_get32(buf + 1);

		/* a bad CRC is the codec's drop (packets_bad), as any */
		if (crc != swim_crc32(buf + SWIM_DSYNC_CRC_HDR,
				      len - SWIM_DSYNC_CRC_HDR))
			return false;
		buf += SWIM_DSYNC_CRC_HDR;
		len -= SWIM_DSYNC_CRC_HDR;
		had_crc = true;
	}
	if (len == 0 || !swim_dsync_udp_is_type(buf[0]))
		return false;
	if (swim_dudp(s) != NULL)
		s->dudp->st.bytes += len + (had_crc ? SWIM_DSYNC_CRC_HDR : 0);
	if (buf[0] == SWIM_DSYNC_UDP_HELLO)
		swim_dsync_udp_on_hello(s, from, buf, len, had_crc);
	else
		swim_dsync_udp_on_answer(s, buf, len);
	return true;
}
