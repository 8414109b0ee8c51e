/*
 * Delta sync's HELLO over UDP (swim_dsync_udp.h) between two real cores:
 * INSYNC ends it with no TCP, DIFFER and the first late answer ask for
 * the TCP exchange (SWIM_OUT_PUSH_PULL), a second late answer in a row
 * does not, a peer without the capability never gets a datagram, and
 * every malformed datagram is a drop counted with its exact error.
 */
#include <criterion/criterion.h>
#include <errno.h>

#define DS_CHECK(c) cr_assert(c)
#include "dsync_util.h"
#include "swim_dsync_udp.h"

#define S 1000000ull
#define CAPS (SWIM_DSYNC_CAP_V1 | SWIM_DSYNC_CAP_UDP)

static const struct swim_addr addr_a = { .ip = { 10, 0, 0, 1 }, .ip_len = 4,
					 .port = 7946 };
static const struct swim_addr addr_b = { .ip = { 10, 0, 0, 2 }, .ip_len = 4,
					 .port = 7946 };

/* A core as ds_core, with our capability byte `caps`. */
static struct swim *
du_core(const char *name, uint8_t ip, uint8_t caps, uint64_t pp_us)
{
	struct swim_cfg cfg;
	const char *err = NULL;

	swim_cfg_default_lan(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.addr = (struct swim_addr){ .ip = { 10, 0, 0, ip }, .ip_len = 4,
				       .port = 7946 };
	memcpy(cfg.vsn, ds_vsn, SWIM_VSN_LEN);
	cfg.vsn_caps = caps;
	cfg.enable_compression = false;
	cfg.seed = ip;
	cfg.probe_interval_us = 3600ull * S;
	cfg.push_pull_interval_us = pp_us;
	struct swim *s = swim_new(&cfg, &err);
	cr_assert_not_null(s, "%s", err ? err : "");
	return s;
}

/* s hears of `name` at 10.0.0.ip advertising capability byte caps
 * (-1: serf's 6-byte Vsn). */
static void
du_hear(struct swim *s, const char *name, uint8_t ip, int caps)
{
	static uint8_t v7[7] = { 1, 5, 2, 2, 5, 5, 0 };
	static uint8_t a4[4] = { 10, 0, 0, 0 };
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };

	v7[6] = (uint8_t)(caps < 0 ? 0 : caps);
	a4[3] = ip;
	m.alive.incarnation = 1;
	m.alive.node = (struct swim_str){ (const uint8_t *)name,
					  (uint32_t)strlen(name) };
	m.alive.addr = (struct swim_str){ a4, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ v7, caps < 0 ? 6 : 7 };
	ds_send(s, 1 * S, &m);
	ds_drain(s);
}

/* Two capable cores that know each other, the same 200 other members. */
static void
du_pair(struct swim **a, struct swim **b)
{
	*a = du_core("a", 1, CAPS, 0);
	*b = du_core("b", 2, CAPS, 0);
	du_hear(*a, "b", 2, CAPS);
	du_hear(*b, "a", 1, CAPS);
	ds_fill(*a, 1 * S, "m", 0, 200);
	ds_fill(*b, 1 * S, "m", 0, 200);
	cr_assert_eq(swim_dsync_root(*a), swim_dsync_root(*b));
}

/* A delta-sync datagram (bare or CRC-wrapped)? */
static bool
du_is_dsync(const struct swim_output *o)
{
	uint8_t t = o->len > 5 && o->data[0] == SWIM_MSG_HAS_CRC ?
		    o->data[5] : o->data[0];

	return t == SWIM_DSYNC_UDP_HELLO || t == SWIM_DSYNC_UDP_ANSWER;
}

/* Pop s's outputs: the one datagram (copied to buf), and whether a
 * push/pull to `node` was asked. @retval the datagram's length or 0. */
static size_t
du_take(struct swim *s, uint8_t *buf, const struct swim_addr *to,
	bool *pp_asked)
{
	struct swim_output o;
	size_t len = 0;

	*pp_asked = false;
	while (swim_pop_output(s, &o)) {
		if (o.kind == SWIM_OUT_PACKET && !du_is_dsync(&o))
			continue;	/* gossip the timers sent */
		if (o.kind == SWIM_OUT_PACKET) {
			cr_assert_eq(len, 0, "one datagram only");
			cr_assert_eq(memcmp(&o.to, to, sizeof(*to)), 0);
			memcpy(buf, o.data, o.len);
			len = o.len;
		} else if (o.kind == SWIM_OUT_PUSH_PULL) {
			cr_assert_not(o.join);
			*pp_asked = true;
		}
	}
	return len;
}

static struct swim_dsync_udp_stats
du_stats(const struct swim *s)
{
	struct swim_dsync_udp_stats st;

	swim_dsync_udp_get_stats(s, &st);
	return st;
}

/* a's HELLO to b, b's answer back to a. @retval a asked for TCP. */
static bool
du_round(struct swim *a, struct swim *b, uint64_t now)
{
	uint8_t buf[256];
	bool pp;
	size_t n;

	cr_assert_eq(swim_dsync_udp_hello(a, now, "b", 1), 0);
	n = du_take(a, buf, &addr_b, &pp);
	/* CRC-wrapped (b's PMax is 5), then the 25-byte HELLO */
	cr_assert_eq(n, 5 + SWIM_DSYNC_UHELLO_LEN);
	cr_assert_eq(buf[0], SWIM_MSG_HAS_CRC);
	cr_assert_eq(buf[5], SWIM_DSYNC_UDP_HELLO);
	cr_assert_not(pp);
	swim_on_packet(b, now, &addr_a, buf, n, 0);
	n = du_take(b, buf, &addr_a, &pp);
	cr_assert_eq(n, 5 + SWIM_DSYNC_UANSWER_LEN);
	cr_assert_eq(buf[5], SWIM_DSYNC_UDP_ANSWER);
	cr_assert_not(pp, "the answering side never opens TCP");
	swim_on_packet(a, now, &addr_b, buf, n, 0);
	n = du_take(a, buf, &addr_b, &pp);
	cr_assert_eq(n, 0);
	return pp;
}

Test(dsync_udp, insync_costs_two_datagrams_and_no_tcp)
{
	struct swim *a, *b;
	struct swim_stats ss;
	bool pp;
	uint8_t buf[64];

	du_pair(&a, &b);
	cr_assert_not(du_round(a, b, 2 * S));
	cr_assert_eq(du_stats(a).hellos_out, 1);
	cr_assert_eq(du_stats(a).insync_in, 1);
	cr_assert_eq(du_stats(b).hellos_in, 1);
	cr_assert_eq(du_stats(b).insync_out, 1);
	cr_assert_eq(du_stats(a).bytes, 30 + 27);
	cr_assert_eq(du_stats(b).bytes, 30 + 27);
	/* answered: the deadline passes with nothing to do */
	swim_tick(a, 10 * S);
	cr_assert_eq(du_take(a, buf, &addr_b, &pp), 0);
	cr_assert_not(pp);
	cr_assert_eq(du_stats(a).timeouts, 0);
	/* not a memberlist message: no unknown or bad packet counted */
	swim_get_stats(b, &ss);
	cr_assert_eq(ss.msgs_unknown, 0);
	cr_assert_eq(ss.packets_bad, 0);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_udp, differ_asks_the_initiator_for_tcp)
{
	struct swim *a, *b;

	du_pair(&a, &b);
	ds_alive(b, 1 * S, "only-b", 1, 999);
	ds_drain(b);
	cr_assert(du_round(a, b, 2 * S));
	cr_assert_eq(du_stats(a).differ_in, 1);
	cr_assert_eq(du_stats(b).differ_out, 1);
	/* a count that differs with an equal root differs too */
	cr_assert_eq(du_stats(a).insync_in, 0);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_udp, a_lost_answer_falls_back_once_in_a_row)
{
	struct swim *a, *b;
	uint8_t buf[256];
	bool pp;

	du_pair(&a, &b);
	/* lost: the first falls back to TCP at the probe timeout */
	cr_assert_eq(swim_dsync_udp_hello(a, 2 * S, "b", 1), 0);
	cr_assert_gt(du_take(a, buf, &addr_b, &pp), 0);
	swim_tick(a, 2 * S + 400000);
	cr_assert_eq(du_take(a, buf, &addr_b, &pp), 0);
	cr_assert_not(pp, "not before the timeout");
	swim_tick(a, 2 * S + 500000);
	du_take(a, buf, &addr_b, &pp);
	cr_assert(pp);
	cr_assert_eq(du_stats(a).timeouts, 1);
	cr_assert_eq(du_stats(a).fallbacks, 1);
	/* lost again, in a row: waits for the next interval */
	cr_assert_eq(swim_dsync_udp_hello(a, 3 * S, "b", 1), 0);
	size_t n = du_take(a, buf, &addr_b, &pp);
	swim_tick(a, 4 * S);
	du_take(a, buf + 128, &addr_b, &pp);
	cr_assert_not(pp);
	cr_assert_eq(du_stats(a).timeouts, 2);
	cr_assert_eq(du_stats(a).fallbacks, 1);
	/* its answer, late: stale */
	swim_on_packet(b, 4 * S, &addr_a, buf, n, 0);
	n = du_take(b, buf, &addr_a, &pp);
	swim_on_packet(a, 4 * S, &addr_b, buf, n, 0);
	cr_assert_eq(du_stats(a).stale, 1);
	du_take(a, buf, &addr_b, &pp);
	cr_assert_not(pp);
	/* an answered HELLO re-arms the fallback */
	cr_assert_not(du_round(a, b, 5 * S));
	cr_assert_eq(swim_dsync_udp_hello(a, 6 * S, "b", 1), 0);
	du_take(a, buf, &addr_b, &pp);
	swim_tick(a, 7 * S);
	du_take(a, buf, &addr_b, &pp);
	cr_assert(pp);
	cr_assert_eq(du_stats(a).fallbacks, 2);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_udp, at_most_four_wait_at_once)
{
	struct swim *a, *b;

	du_pair(&a, &b);
	for (unsigned i = 0; i < SWIM_DSYNC_UDP_PENDING; i++)
		cr_assert_eq(swim_dsync_udp_hello(a, 2 * S, "b", 1), 0);
	cr_assert_eq(swim_dsync_udp_hello(a, 2 * S, "b", 1), -EBUSY);
	cr_assert_eq(du_stats(a).hellos_out, SWIM_DSYNC_UDP_PENDING);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_udp, no_datagram_to_a_peer_without_the_capability)
{
	struct swim *a = du_core("a", 1, CAPS, 0);
	struct swim *lone = du_core("l", 9, SWIM_DSYNC_CAP_V1, 0);
	struct swim_output o;

	du_hear(a, "v1", 3, SWIM_DSYNC_CAP_V1);	/* an older gossipd */
	du_hear(a, "serf", 4, -1);			/* memberlist */
	du_hear(lone, "b", 2, CAPS);
	cr_assert_eq(swim_dsync_udp_hello(a, 2 * S, "v1", 2), -EPERM);
	cr_assert_eq(swim_dsync_udp_hello(a, 2 * S, "serf", 4), -EPERM);
	cr_assert_eq(swim_dsync_udp_hello(a, 2 * S, "nobody", 6), -EPERM);
	cr_assert_eq(swim_dsync_udp_hello(a, 2 * S, "a", 1), -EPERM);
	cr_assert_not(swim_member_dsync_udp_capable(a, "v1", 2));
	cr_assert_not(swim_member_dsync_udp_capable(a, "serf", 4));
	/* we lack the capability ourselves: none either */
	cr_assert_eq(swim_dsync_udp_hello(lone, 2 * S, "b", 1), -EPERM);
	cr_assert_not(swim_pop_output(a, &o));
	cr_assert_not(swim_pop_output(lone, &o));
	cr_assert_eq(du_stats(a).hellos_out, 0);
	swim_delete(a);
	swim_delete(lone);
}

/* The core's periodic push/pull with p: the first output's kind. */
static enum swim_output_kind
du_periodic_with(const char *p, uint8_t ip, int caps, uint8_t *first_byte)
{
	struct swim *a = du_core("a", 1, CAPS, 1 * S);
	struct swim_output o;
	enum swim_output_kind k = SWIM_OUT_TCP_PING;

	du_hear(a, p, ip, caps);
	*first_byte = 0;
	for (uint64_t t = 2; t < 200 && k == SWIM_OUT_TCP_PING; t++) {
		swim_tick(a, t * S);
		while (swim_pop_output(a, &o)) {
			if (o.kind == SWIM_OUT_PACKET && o.len > 5 &&
			    o.data[5] != SWIM_DSYNC_UDP_HELLO)
				continue;	/* gossip */
			if (k == SWIM_OUT_TCP_PING) {
				k = o.kind;
				if (o.kind == SWIM_OUT_PACKET)
					*first_byte = o.data[5];
			}
		}
	}
	swim_delete(a);
	return k;
}

Test(dsync_udp, periodic_push_pull_starts_with_udp_only_for_capable_peers)
{
	uint8_t b;

	cr_assert_eq(du_periodic_with("b", 2, CAPS, &b), SWIM_OUT_PACKET);
	cr_assert_eq(b, SWIM_DSYNC_UDP_HELLO);
	cr_assert_eq(du_periodic_with("v1", 3, SWIM_DSYNC_CAP_V1, &b),
		     SWIM_OUT_PUSH_PULL);
	cr_assert_eq(du_periodic_with("serf", 4, -1, &b), SWIM_OUT_PUSH_PULL);
}

/* Feed b one datagram from a. */
static void
du_feed(struct swim *b, const uint8_t *buf, size_t len)
{
	swim_on_packet(b, 2 * S, &addr_a, buf, len, 0);
}

static void
du_expect_drop(struct swim *b, int err, uint64_t nb)
{
	struct swim_dsync_udp_stats st = du_stats(b);
	struct swim_output o;

	cr_assert_eq(st.last_err, err, "%d: %s", st.last_err,
		     swim_dsync_strerror(st.last_err));
	cr_assert_eq(st.drops[SWIM_DSYNC_E_TRUNCATED - err], nb);
	cr_assert_not(swim_pop_output(b, &o), "a drop is never answered");
}

Test(dsync_udp, hostile_datagrams_are_counted_drops_with_the_exact_error)
{
	struct swim *a, *b;
	struct swim_dsync_uhello h = { .version = 1, .nonce = 7 };
	struct swim_dsync_uanswer an = { .nonce = 7, .verdict = 1 };
	uint8_t buf[64], bad[64];
	struct swim_stats ss;
	int n;

	du_pair(&a, &b);
	n = swim_dsync_encode_uhello(&h, buf, sizeof(buf));
	cr_assert_eq(n, SWIM_DSYNC_UHELLO_LEN);
	/* short: the header alone, and a body cut by one byte */
	du_feed(b, buf, 3);
	du_expect_drop(b, SWIM_DSYNC_E_TRUNCATED, 1);
	du_feed(b, buf, (size_t)n - 1);
	du_expect_drop(b, SWIM_DSYNC_E_TRUNCATED, 2);
	/* a body length that is not HELLO's; a byte past the message */
	memcpy(bad, buf, (size_t)n);
	bad[4] = 19;
	du_feed(b, bad, (size_t)n);
	du_expect_drop(b, SWIM_DSYNC_E_LENGTH, 1);
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	du_feed(b, bad, (size_t)n + 1);
	du_expect_drop(b, SWIM_DSYNC_E_LENGTH, 2);
	/* garbled: an unknown version */
	memcpy(bad, buf, (size_t)n);
	bad[SWIM_DSYNC_HDR_LEN] = 9;
	du_feed(b, bad, (size_t)n);
	du_expect_drop(b, SWIM_DSYNC_E_VERSION, 1);
	/* an answer with an unknown verdict, another cut short */
	n = swim_dsync_encode_uanswer(&an, bad, sizeof(bad));
	cr_assert_eq(n, SWIM_DSYNC_UANSWER_LEN);
	bad[SWIM_DSYNC_HDR_LEN + 4] = 3;
	du_feed(b, bad, (size_t)n);
	du_expect_drop(b, SWIM_DSYNC_E_RANGE, 1);
	du_feed(b, bad, 10);
	du_expect_drop(b, SWIM_DSYNC_E_TRUNCATED, 3);
	/* a well-formed answer to nothing we asked: stale */
	bad[SWIM_DSYNC_HDR_LEN + 4] = 1;
	du_feed(b, bad, (size_t)n);
	cr_assert_eq(du_stats(b).stale, 1);
	/* a CRC wrapper that does not check: the codec's drop */
	bad[0] = SWIM_MSG_HAS_CRC;
	memset(bad + 1, 0xee, 4);
	memcpy(bad + 5, buf, SWIM_DSYNC_UHELLO_LEN);
	du_feed(b, bad, 5 + SWIM_DSYNC_UHELLO_LEN);
	swim_get_stats(b, &ss);
	cr_assert_eq(ss.packets_bad, 1);
	cr_assert_eq(du_stats(b).hellos_in, 0);
	/* and one good one after all that: answered */
	du_feed(b, buf, SWIM_DSYNC_UHELLO_LEN);
	cr_assert_eq(du_stats(b).hellos_in, 1);
	swim_delete(a);
	swim_delete(b);
}

Test(dsync_udp, a_core_without_the_capability_answers_nothing)
{
	struct swim *b = du_core("b", 2, SWIM_DSYNC_CAP_V1, 0);
	struct swim_dsync_uhello h = { .version = 1, .nonce = 7 };
	uint8_t buf[64];
	struct swim_output o;
	int n = swim_dsync_encode_uhello(&h, buf, sizeof(buf));

	du_feed(b, buf, (size_t)n);
	cr_assert_eq(du_stats(b).disabled, 1);
	cr_assert_eq(du_stats(b).hellos_in, 0);
	cr_assert_not(swim_pop_output(b, &o));
	swim_delete(b);
}

Test(dsync_udp, codec_round_trip_and_no_space)
{
	struct swim_dsync_uhello h = { .version = 1, .flags = 0x80,
				       .nonce = 0xdeadbeef, .count = 12345,
				       .root = 0x0123456789abcdefull }, h2;
	struct swim_dsync_uanswer a = { .nonce = 0xdeadbeef, .verdict = 2,
					.count = 7, .root = 42 }, a2;
	uint8_t buf[64];

	cr_assert_eq(swim_dsync_encode_uhello(&h, buf, 24),
		     SWIM_DSYNC_E_NOSPACE);
	cr_assert_eq(swim_dsync_encode_uhello(&h, buf, sizeof(buf)), 25);
	cr_assert_eq(swim_dsync_decode_uhello(buf, 25, &h2), 25);
	cr_assert_eq(h2.nonce, h.nonce);
	cr_assert_eq(h2.count, h.count);
	cr_assert_eq(h2.root, h.root);
	cr_assert_eq(h2.flags, 0x80, "unknown flags are carried, ignored");
	cr_assert_eq(swim_dsync_decode_uanswer(buf, 25, &a2),
		     SWIM_DSYNC_E_TYPE);
	cr_assert_eq(swim_dsync_encode_uanswer(&a, buf, 21),
		     SWIM_DSYNC_E_NOSPACE);
	cr_assert_eq(swim_dsync_encode_uanswer(&a, buf, sizeof(buf)), 22);
	cr_assert_eq(swim_dsync_decode_uanswer(buf, 22, &a2), 22);
	cr_assert_eq(a2.verdict, 2);
	cr_assert_eq(a2.root, 42);
	cr_assert_eq(swim_dsync_decode_uanswer(NULL, 0, &a2),
		     SWIM_DSYNC_E_TRUNCATED);
	/* the stream's framing refuses both types */
	cr_assert_not(swim_dsync_is_msg_type(SWIM_DSYNC_UDP_HELLO));
	cr_assert_not(swim_dsync_is_msg_type(SWIM_DSYNC_UDP_ANSWER));
}
