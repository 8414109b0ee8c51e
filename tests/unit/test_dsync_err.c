/*
 * Delta sync against hostile peers: truncated messages, lying counts,
 * out-of-range or out-of-order ids, wrong leaf bits, messages out of
 * turn, ABORT. Every one gets its exact error code and ends the session;
 * random bytes never crash a decoder or a step.
 */
#include <criterion/criterion.h>

#define DS_CHECK(c) cr_assert(c, "%s", #c)
#include "dsync_util.h"

static uint8_t msg[SWIM_DSYNC_MSG_MAX];
static uint8_t out[SWIM_DSYNC_MSG_MAX];

/* A frame header: type and body length. */
static size_t
ds_head(uint8_t type, uint32_t body)
{
	msg[0] = type;
	msg[1] = (uint8_t)(body >> 24);
	msg[2] = (uint8_t)(body >> 16);
	msg[3] = (uint8_t)(body >> 8);
	msg[4] = (uint8_t)body;
	return SWIM_DSYNC_HDR_LEN + body;
}

/* LEAVES at `bits` with nb entries for groups g0, g0 + step, ... */
static size_t
ds_leaves(unsigned bits, unsigned nb_said, unsigned nb, unsigned g0,
	  int step)
{
	uint32_t el = 1 + 8 * (1u << (bits - 8));
	size_t len = ds_head(SWIM_DSYNC_MSG_LEAVES, 3 + nb * el);

	memset(msg + SWIM_DSYNC_HDR_LEN, 0, len - SWIM_DSYNC_HDR_LEN);
	msg[5] = (uint8_t)bits;
	msg[6] = (uint8_t)(nb_said >> 8);
	msg[7] = (uint8_t)nb_said;
	for (unsigned i = 0; i < nb; i++)
		msg[8 + i * el] = (uint8_t)(g0 + (int)i * step);
	return len;
}

/* DIFF at `bits` saying nb_said leaves, carrying ids[0..nb). */
static size_t
ds_diff(unsigned bits, uint32_t nb_said, const uint32_t *ids, unsigned nb)
{
	size_t len = ds_head(SWIM_DSYNC_MSG_DIFF, 5 + 2 * nb);

	msg[5] = (uint8_t)bits;
	msg[6] = (uint8_t)(nb_said >> 24);
	msg[7] = (uint8_t)(nb_said >> 16);
	msg[8] = (uint8_t)(nb_said >> 8);
	msg[9] = (uint8_t)nb_said;
	for (unsigned i = 0; i < nb; i++) {
		msg[10 + 2 * i] = (uint8_t)(ids[i] >> 8);
		msg[11 + 2 * i] = (uint8_t)ids[i];
	}
	return len;
}

Test(dsync_err, framing)
{
	cr_assert_eq(swim_dsync_msg_len(msg, 0), 0);
	ds_head(SWIM_DSYNC_MSG_HELLO, 16);
	for (size_t n = 1; n < SWIM_DSYNC_HDR_LEN; n++)
		cr_assert_eq(swim_dsync_msg_len(msg, n), 0);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_HELLO_LEN);
	ds_head(SWIM_DSYNC_MSG_HELLO, 15);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
	ds_head(SWIM_MSG_PUSH_PULL, 16);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_TYPE);
	cr_assert_not(swim_dsync_is_msg_type(SWIM_MSG_PUSH_PULL));
	cr_assert_not(swim_dsync_is_msg_type(SWIM_MSG_HAS_LABEL));
	ds_head(SWIM_DSYNC_MSG_LEAVES, 2);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
	ds_head(SWIM_DSYNC_MSG_LEAVES, UINT32_MAX);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
	ds_head(SWIM_DSYNC_MSG_LEAVES, SWIM_DSYNC_MSG_MAX - 5);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_MSG_MAX);
	ds_head(SWIM_DSYNC_MSG_DIFF, 6 + 2 * SWIM_DSYNC_LEAVES_MAX);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
	ds_head(SWIM_DSYNC_MSG_GROUPS, 2048);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
	ds_head(SWIM_DSYNC_MSG_ABORT, 0);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
}

Test(dsync_err, hello)
{
	struct swim_dsync_hello h = { SWIM_DSYNC_VERSION, 12, 0, 77, 0xabcd };
	struct swim_dsync_hello g;
	int n = swim_dsync_encode_hello(&h, msg, sizeof(msg));

	cr_assert_eq(n, SWIM_DSYNC_HELLO_LEN);
	cr_assert_eq(swim_dsync_encode_hello(&h, msg, 20), SWIM_DSYNC_E_NOSPACE);
	cr_assert_eq(swim_dsync_decode_hello(msg, (size_t)n, &g), n);
	cr_assert_eq(g.bits, 12);
	cr_assert_eq(g.count, 77);
	cr_assert_eq(g.root, 0xabcd);
	for (int k = 0; k < n; k++)
		cr_assert_eq(swim_dsync_decode_hello(msg, (size_t)k, &g),
			     SWIM_DSYNC_E_TRUNCATED);
	msg[5] = 2;
	cr_assert_eq(swim_dsync_decode_hello(msg, (size_t)n, &g),
		     SWIM_DSYNC_E_VERSION);
	msg[5] = 1;
	msg[6] = 7;
	cr_assert_eq(swim_dsync_decode_hello(msg, (size_t)n, &g),
		     SWIM_DSYNC_E_BITS);
	msg[6] = 17;
	cr_assert_eq(swim_dsync_decode_hello(msg, (size_t)n, &g),
		     SWIM_DSYNC_E_BITS);
	msg[0] = SWIM_DSYNC_MSG_INSYNC;
	cr_assert_eq(swim_dsync_decode_hello(msg, (size_t)n, &g),
		     SWIM_DSYNC_E_LENGTH);
	struct swim_dsync_insync is = { 5, 6 };
	n = swim_dsync_encode_insync(&is, msg, sizeof(msg));
	cr_assert_eq(swim_dsync_decode_hello(msg, (size_t)n, &g),
		     SWIM_DSYNC_E_TYPE);
}

Test(dsync_err, groups_and_abort)
{
	static struct swim_dsync_groups gr, g2;
	uint8_t why = 0;

	gr.bits = 9;
	for (unsigned g = 0; g < 256; g++)
		gr.d[g] = (uint64_t)g * 0x0101010101010101ull;
	int n = swim_dsync_encode_groups(&gr, msg, sizeof(msg));
	cr_assert_eq(n, SWIM_DSYNC_GROUPS_LEN);
	cr_assert_eq(swim_dsync_encode_groups(&gr, msg, 100),
		     SWIM_DSYNC_E_NOSPACE);
	cr_assert_eq(swim_dsync_decode_groups(msg, (size_t)n, &g2), n);
	cr_assert_eq(memcmp(gr.d, g2.d, sizeof(gr.d)), 0);
	cr_assert_eq(swim_dsync_decode_groups(msg, (size_t)n - 1, &g2),
		     SWIM_DSYNC_E_TRUNCATED);
	msg[5] = 0;
	cr_assert_eq(swim_dsync_decode_groups(msg, (size_t)n, &g2),
		     SWIM_DSYNC_E_BITS);
	n = swim_dsync_encode_abort(SWIM_DSYNC_ABORT_BUSY, msg, sizeof(msg));
	cr_assert_eq(n, SWIM_DSYNC_ABORT_LEN);
	cr_assert_eq(swim_dsync_decode_abort(msg, (size_t)n, &why), n);
	cr_assert_eq(why, SWIM_DSYNC_ABORT_BUSY);
	cr_assert_eq(swim_dsync_encode_abort(1, msg, 5), SWIM_DSYNC_E_NOSPACE);
}

Test(dsync_err, leaves_with_lying_counts_and_bad_ids)
{
	struct swim_dsync_leaves lv;
	size_t n = ds_leaves(9, 3, 3, 10, 5);

	cr_assert_eq(swim_dsync_decode_leaves(msg, n, &lv), (int)n);
	cr_assert_eq(lv.nb_groups, 3);
	cr_assert_eq(swim_dsync_leaves_group(&lv, 2), 20);
	cr_assert_eq(swim_dsync_leaves_digest(&lv, 3, 0), 0);	/* past */
	cr_assert_eq(swim_dsync_leaves_digest(&lv, 0, 2), 0);	/* past */
	n = ds_leaves(9, 4, 3, 10, 5);		/* says 4, carries 3 */
	cr_assert_eq(swim_dsync_decode_leaves(msg, n, &lv), SWIM_DSYNC_E_COUNT);
	n = ds_leaves(9, 2, 3, 10, 5);		/* says 2, carries 3 */
	cr_assert_eq(swim_dsync_decode_leaves(msg, n, &lv), SWIM_DSYNC_E_COUNT);
	n = ds_leaves(8, 300, 0, 0, 1);		/* more groups than exist */
	cr_assert_eq(swim_dsync_decode_leaves(msg, n, &lv), SWIM_DSYNC_E_COUNT);
	n = ds_leaves(9, 3, 3, 30, -5);		/* falling ids */
	cr_assert_eq(swim_dsync_decode_leaves(msg, n, &lv), SWIM_DSYNC_E_RANGE);
	n = ds_leaves(9, 3, 3, 30, 0);		/* repeated id */
	cr_assert_eq(swim_dsync_decode_leaves(msg, n, &lv), SWIM_DSYNC_E_RANGE);
	n = ds_leaves(9, 1, 1, 0, 0);
	msg[5] = 17;
	cr_assert_eq(swim_dsync_decode_leaves(msg, n, &lv), SWIM_DSYNC_E_BITS);
	n = ds_leaves(9, 1, 1, 0, 0);
	cr_assert_eq(swim_dsync_decode_leaves(msg, n - 1, &lv),
		     SWIM_DSYNC_E_TRUNCATED);
}

Test(dsync_err, diff_with_lying_counts_and_bad_ids)
{
	struct swim_dsync_diff df;
	uint32_t ok[3] = { 1, 300, 511 };
	uint32_t big[2] = { 1, 512 };
	uint32_t down[2] = { 5, 4 };
	size_t n = ds_diff(9, 3, ok, 3);

	cr_assert_eq(swim_dsync_decode_diff(msg, n, &df), (int)n);
	cr_assert_eq(swim_dsync_diff_leaf(&df, 1), 300);
	cr_assert_eq(swim_dsync_diff_leaf(&df, 3), UINT32_MAX);
	n = ds_diff(9, 1000, ok, 3);
	cr_assert_eq(swim_dsync_decode_diff(msg, n, &df), SWIM_DSYNC_E_COUNT);
	n = ds_diff(9, 2, ok, 3);
	cr_assert_eq(swim_dsync_decode_diff(msg, n, &df), SWIM_DSYNC_E_COUNT);
	n = ds_diff(9, 2, big, 2);		/* 512 is past 9 bits */
	cr_assert_eq(swim_dsync_decode_diff(msg, n, &df), SWIM_DSYNC_E_RANGE);
	n = ds_diff(9, 2, down, 2);
	cr_assert_eq(swim_dsync_decode_diff(msg, n, &df), SWIM_DSYNC_E_RANGE);
	n = ds_diff(8, 257, NULL, 0);		/* more leaves than exist */
	cr_assert_eq(swim_dsync_decode_diff(msg, n, &df), SWIM_DSYNC_E_COUNT);
	n = ds_diff(7, 0, NULL, 0);
	cr_assert_eq(swim_dsync_decode_diff(msg, n, &df), SWIM_DSYNC_E_BITS);
}

/* A responder that got HELLO from an initiator with different tables. */
static void
ds_started(struct swim *a, struct swim *b, struct swim_dsync *xa,
	   struct swim_dsync *xb, size_t *glen)
{
	size_t la;

	swim_dsync_start(xa, SWIM_DSYNC_INITIATOR);
	swim_dsync_start(xb, SWIM_DSYNC_RESPONDER);
	cr_assert_eq(swim_dsync_step(a, xa, NULL, 0, out, sizeof(out), &la),
		     SWIM_DSYNC_WAIT);
	cr_assert_eq(swim_dsync_step(b, xb, out, la, msg, sizeof(msg), glen),
		     SWIM_DSYNC_WAIT);
	cr_assert_eq(msg[0], SWIM_DSYNC_MSG_GROUPS);
}

Test(dsync_err, steps_out_of_turn)
{
	struct swim *a = ds_core("a", 1, 1), *b = ds_core("b", 2, 2);
	static struct swim_dsync xa, xb;
	size_t len, glen;

	/* A responder must start with HELLO; an initiator with nothing. */
	swim_dsync_start(&xb, SWIM_DSYNC_RESPONDER);
	cr_assert_eq(swim_dsync_step(b, &xb, NULL, 0, out, sizeof(out), &len),
		     SWIM_DSYNC_E_STATE);
	cr_assert_eq(swim_dsync_step(b, &xb, NULL, 0, out, sizeof(out), &len),
		     SWIM_DSYNC_E_STATE);	/* and it is over */
	swim_dsync_start(&xa, SWIM_DSYNC_INITIATOR);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, 5, out, sizeof(out), &len),
		     SWIM_DSYNC_E_STATE);
	ds_started(a, b, &xa, &xb, &glen);
	/* The responder now wants LEAVES, not another HELLO or a DIFF. */
	struct swim_dsync_hello h = { 1, 8, 0, 1, 1 };
	int n = swim_dsync_encode_hello(&h, out, sizeof(out));
	cr_assert_eq(swim_dsync_step(b, &xb, out, (size_t)n, out, sizeof(out),
				     &len), SWIM_DSYNC_E_TYPE);
	cr_assert_eq(len, 0);
	/* An initiator waiting for GROUPS gets LEAVES. */
	ds_started(a, b, &xa, &xb, &glen);
	size_t ln = ds_leaves(8, 0, 0, 0, 0);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, ln, out, sizeof(out), &len),
		     SWIM_DSYNC_E_TYPE);
	/* An unknown type. */
	ds_started(a, b, &xa, &xb, &glen);
	msg[0] = SWIM_MSG_PUSH_PULL;
	cr_assert_eq(swim_dsync_step(a, &xa, msg, glen, out, sizeof(out),
				     &len), SWIM_DSYNC_E_TYPE);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_err, bad_bits_groups_and_leaves_mid_exchange)
{
	struct swim *a = ds_core("a", 1, 1), *b = ds_core("b", 2, 2);
	static struct swim_dsync xa, xb;
	size_t len, glen;

	/* GROUPS agreeing on more bits than the initiator offered (8). */
	ds_started(a, b, &xa, &xb, &glen);
	msg[5] = 9;
	cr_assert_eq(swim_dsync_step(a, &xa, msg, glen, out, sizeof(out),
				     &len), SWIM_DSYNC_E_BITS);
	/* LEAVES at other bits than GROUPS agreed. */
	ds_started(a, b, &xa, &xb, &glen);
	size_t ln = ds_leaves(9, 0, 0, 0, 0);
	cr_assert_eq(swim_dsync_step(b, &xb, msg, ln, out, sizeof(out), &len),
		     SWIM_DSYNC_E_BITS);
	/* No room for the answer. */
	ds_started(a, b, &xa, &xb, &glen);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, glen, out, 10, &len),
		     SWIM_DSYNC_E_NOSPACE);
	/* DIFF naming a leaf of a group the initiator never sent. */
	ds_started(a, b, &xa, &xb, &glen);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, glen, out, sizeof(out),
				     &len), SWIM_DSYNC_WAIT);
	uint32_t g = 0;
	while (g < 256 && ((xa.groups[g / 64] >> (g % 64)) & 1))
		g++;
	cr_assert_lt(g, 256);
	size_t dn = ds_diff(8, 1, &g, 1);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, dn, out, sizeof(out), &len),
		     SWIM_DSYNC_E_RANGE);
	cr_assert_eq(xa.nb_leaves, 0);
	/* DIFF at other bits. */
	ds_started(a, b, &xa, &xb, &glen);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, glen, out, sizeof(out),
				     &len), SWIM_DSYNC_WAIT);
	dn = ds_diff(9, 0, NULL, 0);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, dn, out, sizeof(out), &len),
		     SWIM_DSYNC_E_BITS);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_err, abort_ends_the_session)
{
	struct swim *a = ds_core("a", 1, 1), *b = ds_core("b", 2, 2);
	static struct swim_dsync xa, xb;
	size_t len, glen;

	ds_started(a, b, &xa, &xb, &glen);
	int n = swim_dsync_encode_abort(SWIM_DSYNC_ABORT_BUSY, msg, 64);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, (size_t)n, out, sizeof(out),
				     &len), SWIM_DSYNC_E_ABORTED);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, (size_t)n, out, sizeof(out),
				     &len), SWIM_DSYNC_E_STATE);
	cr_assert_eq(swim_dsync_step(b, &xb, msg, (size_t)n, out, sizeof(out),
				     &len), SWIM_DSYNC_E_ABORTED);
	/* A truncated ABORT is a truncated message. */
	ds_started(a, b, &xa, &xb, &glen);
	n = swim_dsync_encode_abort(SWIM_DSYNC_ABORT_BUSY, msg, 64);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, (size_t)n - 1, out,
				     sizeof(out), &len),
		     SWIM_DSYNC_E_TRUNCATED);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_err, strerror_names_every_code)
{
	for (int e = SWIM_DSYNC_E_ABORTED; e <= SWIM_DSYNC_E_TRUNCATED; e++)
		cr_assert_neq(strcmp(swim_dsync_strerror(e), "unknown"), 0);
	cr_assert_str_eq(swim_dsync_strerror(0), "ok");
	cr_assert_str_eq(swim_dsync_strerror(-1), "unknown");
	cr_assert_str_eq(swim_dsync_strerror(SWIM_DSYNC_E_ABORTED - 1),
			 "unknown");
}

Test(dsync_err, random_bytes_never_crash, .timeout = 60)
{
	struct swim *a = ds_core("a", 1, 1), *b = ds_core("b", 2, 2);
	static struct swim_dsync x;
	static struct swim_dsync_groups gr;
	struct swim_dsync_leaves lv;
	struct swim_dsync_diff df;
	uint64_t st = 5;
	size_t len;

	ds_fill(b, 1000000, "m", 0, 300);
	for (unsigned i = 0; i < 20000; i++) {
		st = st * 6364136223846793005ull + 1442695040888963407ull;
		size_t n = (size_t)(st >> 33) % 600;
		for (size_t k = 0; k < n; k++) {
			st = st * 6364136223846793005ull + 1;
			msg[k] = (uint8_t)(st >> 56);
		}
		if (n > 0 && i % 2)	/* a valid type byte half the time */
			msg[0] = (uint8_t)(0xd0 + (st >> 40) % 6);
		(void)swim_dsync_msg_len(msg, n);
		(void)swim_dsync_decode_groups(msg, n, &gr);
		(void)swim_dsync_decode_leaves(msg, n, &lv);
		(void)swim_dsync_decode_diff(msg, n, &df);
		swim_dsync_start(&x, i % 3 ? SWIM_DSYNC_RESPONDER :
				 SWIM_DSYNC_INITIATOR);
		if (i % 3 == 0)
			swim_dsync_step(a, &x, NULL, 0, out, sizeof(out), &len);
		int rc = swim_dsync_step(b, &x, msg, n, out, sizeof(out), &len);
		cr_assert(rc < 0 || len <= sizeof(out));
	}
	swim_delete(a);
	swim_delete(b);
}

/* --- the member round: MEMBERS and WANT --- */

static uint8_t *
ds_put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		*p++ = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return p;
}

/* MEMBERS at `bits` saying nl/np, carrying leaves ids[0..nl_real) and
 * pairs hs[0..np_real) (digest 1 each). */
static size_t
ds_members(unsigned bits, uint32_t nl, uint32_t np, const uint32_t *ids,
	   unsigned nl_real, const uint64_t *hs, unsigned np_real)
{
	size_t len = ds_head(SWIM_DSYNC_MSG_MEMBERS,
			     10 + 2 * nl_real + 16 * np_real);
	uint8_t *p = msg + SWIM_DSYNC_HDR_LEN;

	*p++ = (uint8_t)bits;
	*p++ = 0;
	p = ds_put(p, nl, 4);
	p = ds_put(p, np, 4);
	for (unsigned i = 0; i < nl_real; i++)
		p = ds_put(p, ids[i], 2);
	for (unsigned i = 0; i < np_real; i++) {
		p = ds_put(p, hs[i], 8);
		p = ds_put(p, 1, 8);
	}
	return len;
}

static size_t
ds_want(uint32_t n_said, const uint64_t *hs, unsigned n)
{
	size_t len = ds_head(SWIM_DSYNC_MSG_WANT, 4 + 8 * n);
	uint8_t *p = ds_put(msg + SWIM_DSYNC_HDR_LEN, n_said, 4);

	for (unsigned i = 0; i < n; i++)
		p = ds_put(p, hs[i], 8);
	return len;
}

Test(dsync_err, members_with_lying_counts_and_bad_ids)
{
	struct swim_dsync_members mb;
	uint32_t ids[2] = { 3, 200 };
	uint64_t hs[3] = { 0x1003, 0x2003, 0x50c8 };	/* leaves 3, 3, 200 */
	uint64_t d;
	size_t n = ds_members(8, 2, 3, ids, 2, hs, 3);

	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), (int)n);
	cr_assert_eq(swim_dsync_members_leaf(&mb, 1), 200);
	cr_assert_eq(swim_dsync_members_leaf(&mb, 2), UINT32_MAX);
	cr_assert_eq(swim_dsync_members_pair(&mb, 1, &d), 0x2003);
	cr_assert_eq(d, 1);
	cr_assert_eq(swim_dsync_members_pair(&mb, 3, &d), 0);
	cr_assert_eq(swim_dsync_decode_members(msg, n - 1, &mb),
		     SWIM_DSYNC_E_TRUNCATED);
	n = ds_members(8, 3, 3, ids, 2, hs, 3);		/* lying counts */
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_COUNT);
	n = ds_members(8, 2, 2, ids, 2, hs, 3);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_COUNT);
	n = ds_members(8, 2, 0xffffffffu, ids, 2, hs, 3);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_COUNT);
	n = ds_members(8, 257, 0, NULL, 0, NULL, 0);	/* > 2^bits leaves */
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_COUNT);
	n = ds_members(17, 2, 3, ids, 2, hs, 3);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_BITS);
	uint32_t down[2] = { 200, 3 }, big[2] = { 3, 256 };
	n = ds_members(8, 2, 0, down, 2, NULL, 0);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_RANGE);
	n = ds_members(8, 2, 0, big, 2, NULL, 0);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_RANGE);
	uint64_t stray[1] = { 0x1004 };			/* leaf 4: not listed */
	n = ds_members(8, 2, 1, ids, 2, stray, 1);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_RANGE);
	uint64_t unsorted[2] = { 0x2003, 0x1003 }, dup[2] = { 0x1003, 0x1003 };
	n = ds_members(8, 2, 2, ids, 2, unsorted, 2);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_RANGE);
	n = ds_members(8, 2, 2, ids, 2, dup, 2);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_RANGE);
	uint64_t leaf_back[2] = { 0x50c8, 0x1003 };	/* leaf 200, then 3 */
	n = ds_members(8, 2, 2, ids, 2, leaf_back, 2);
	cr_assert_eq(swim_dsync_decode_members(msg, n, &mb), SWIM_DSYNC_E_RANGE);
	/* Framing: a body under the fixed part, or over the largest. */
	ds_head(SWIM_DSYNC_MSG_MEMBERS, 9);
	cr_assert_eq(swim_dsync_msg_len(msg, 14), SWIM_DSYNC_E_LENGTH);
	ds_head(SWIM_DSYNC_MSG_MEMBERS, SWIM_DSYNC_MSG_MAX);
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
	cr_assert_eq(swim_dsync_decode_members(msg, 5, &mb), SWIM_DSYNC_E_LENGTH);
}

Test(dsync_err, want_with_lying_counts_and_order)
{
	struct swim_dsync_want w;
	uint64_t hs[3] = { 5, 9, 0xffffffffffffffffull };
	size_t n = ds_want(3, hs, 3);

	cr_assert_eq(swim_dsync_decode_want(msg, n, &w), (int)n);
	cr_assert_eq(swim_dsync_want_hash(&w, 2), 0xffffffffffffffffull);
	cr_assert_eq(swim_dsync_want_hash(&w, 3), 0);
	cr_assert_eq(swim_dsync_decode_want(msg, n - 1, &w),
		     SWIM_DSYNC_E_TRUNCATED);
	n = ds_want(4, hs, 3);
	cr_assert_eq(swim_dsync_decode_want(msg, n, &w), SWIM_DSYNC_E_COUNT);
	n = ds_want(SWIM_DSYNC_WANT_MAX + 1, hs, 3);
	cr_assert_eq(swim_dsync_decode_want(msg, n, &w), SWIM_DSYNC_E_COUNT);
	uint64_t down[2] = { 9, 5 }, dup[2] = { 9, 9 };
	n = ds_want(2, down, 2);
	cr_assert_eq(swim_dsync_decode_want(msg, n, &w), SWIM_DSYNC_E_RANGE);
	n = ds_want(2, dup, 2);
	cr_assert_eq(swim_dsync_decode_want(msg, n, &w), SWIM_DSYNC_E_RANGE);
	ds_head(SWIM_DSYNC_MSG_WANT, 3);
	cr_assert_eq(swim_dsync_decode_want(msg, 8, &w), SWIM_DSYNC_E_LENGTH);
	ds_head(SWIM_DSYNC_MSG_WANT, 4 + 8 * (SWIM_DSYNC_WANT_MAX + 1));
	cr_assert_eq(swim_dsync_msg_len(msg, 5), SWIM_DSYNC_E_LENGTH);
}

/* Up to the responder's first MEMBERS (in msg, *mlen bytes). */
static int
ds_to_members(struct swim *a, struct swim *b, struct swim_dsync *xa,
	      struct swim_dsync *xb, size_t cap_b, size_t *mlen)
{
	size_t glen, ln;

	ds_started(a, b, xa, xb, &glen);
	cr_assert_eq(swim_dsync_step(a, xa, msg, glen, out, sizeof(out), &ln),
		     SWIM_DSYNC_WAIT);
	return swim_dsync_step(b, xb, out, ln, msg, cap_b, mlen);
}

Test(dsync_err, member_round_out_of_turn_and_hostile)
{
	struct swim *a = ds_core("a", 1, 1), *b = ds_core("b", 2, 2);
	static struct swim_dsync xa, xb;
	struct swim_dsync_members mb;
	size_t len, mlen;

	/* The tables {a} and {b} differ: b lists b in MEMBERS. */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	cr_assert_eq(msg[0], SWIM_DSYNC_MSG_MEMBERS);
	cr_assert_eq(swim_dsync_decode_members(msg, mlen, &mb), (int)mlen);
	cr_assert_eq(mb.nb_pairs, 1);
	/* A WANT of a name outside the leaves it listed. */
	uint32_t lb = swim_dsync_leaf_of("b", 1, xb.bits), l = 0;
	while (swim_dsync_has_leaf(&xb, l))
		l++;
	uint64_t h = l;
	len = ds_want(1, &h, 1);
	cr_assert_eq(swim_dsync_step(b, &xb, msg, len, out, sizeof(out), &mlen),
		     SWIM_DSYNC_E_RANGE);
	/* A WANT past the most an exchange takes. */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	xb.nb_want = SWIM_DSYNC_WANT_MAX;
	h = lb;
	len = ds_want(1, &h, 1);
	cr_assert_eq(swim_dsync_step(b, &xb, msg, len, out, sizeof(out), &mlen),
		     SWIM_DSYNC_E_COUNT);
	/* LEAVES again where a WANT is due. */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	len = ds_leaves(8, 0, 0, 0, 0);
	cr_assert_eq(swim_dsync_step(b, &xb, msg, len, out, sizeof(out), &mlen),
		     SWIM_DSYNC_E_TYPE);
	/* No room for even one leaf's pairs. */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, SWIM_DSYNC_MEMBERS_MIN + 1,
				   &mlen), SWIM_DSYNC_E_NOSPACE);
	cr_assert_eq(mlen, 0);
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, SWIM_DSYNC_MEMBERS_MIN - 1,
				   &mlen), SWIM_DSYNC_E_NOSPACE);
	/* No room for the initiator's WANT. */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, mlen, out, 8, &len),
		     SWIM_DSYNC_E_NOSPACE);
	cr_assert_eq(len, 0);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_err, members_the_initiator_refuses)
{
	struct swim *a = ds_core("a", 1, 1), *b = ds_core("b", 2, 2);
	static struct swim_dsync xa, xb;
	size_t len, mlen;
	uint32_t ok_leaf;

	/* An initiator that offered no member round gets MEMBERS (its
	 * HELLO said so: mode 0). */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	xa.mode = 0;
	cr_assert_eq(swim_dsync_step(a, &xa, msg, mlen, out, sizeof(out),
				     &len), SWIM_DSYNC_E_TYPE);
	/* Other bits than agreed; no leaves; a group it never sent. */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	ok_leaf = swim_dsync_leaf_of("b", 1, 8);
	len = ds_members(9, 1, 0, &ok_leaf, 1, NULL, 0);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, len, out, sizeof(out), &len),
		     SWIM_DSYNC_E_BITS);
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	len = ds_members(8, 0, 0, NULL, 0, NULL, 0);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, len, out, sizeof(out), &len),
		     SWIM_DSYNC_E_COUNT);
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	uint32_t g = 0;
	while (g < 256 && ((xa.groups[g / 64] >> (g % 64)) & 1))
		g++;
	len = ds_members(8, 1, 0, &g, 1, NULL, 0);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, len, out, sizeof(out), &len),
		     SWIM_DSYNC_E_RANGE);
	cr_assert_eq(xa.nb_leaves, 0);
	/* A later part must not go back to leaves already listed. */
	cr_assert_eq(ds_to_members(a, b, &xa, &xb, sizeof(msg), &mlen),
		     SWIM_DSYNC_WAIT);
	msg[SWIM_DSYNC_HDR_LEN + 1] = 1;	/* more */
	cr_assert_eq(swim_dsync_step(a, &xa, msg, mlen, out, sizeof(out),
				     &len), SWIM_DSYNC_WAIT);
	cr_assert_eq(out[0], SWIM_DSYNC_MSG_WANT);
	len = ds_members(8, 1, 0, &ok_leaf, 1, NULL, 0);
	cr_assert_eq(swim_dsync_step(a, &xa, msg, len, out, sizeof(out), &len),
		     SWIM_DSYNC_E_RANGE);
	swim_delete(a);
	swim_delete(b);
}
