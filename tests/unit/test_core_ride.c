/*
 * An idle node's probe and delta sync ride wakeups it has anyway:
 *  - a probe due within cfg.probe_early_us starts on an earlier
 *    swim_tick, while the ticker's grid stays (one probe per interval,
 *    none later than memberlist's);
 *  - a wanted delta-sync HELLO (swim_dsync_udp_want) leaves right after
 *    the ping of the next probe whose target can take it, and is handed
 *    back when no such probe comes in SWIM_DSYNC_WANT_PROBES intervals.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "test_core_util.h"
#include "swim_dsync_udp.h"

#define CAPS (SWIM_DSYNC_CAP_V1 | SWIM_DSYNC_CAP_UDP)

static struct tu *
ride_core(uint64_t early_us, uint8_t caps)
{
	struct swim_cfg cfg;

	tu_cfg(&cfg);
	cfg.probe_early_us = early_us;
	cfg.vsn_caps = caps;
	cfg.push_pull_interval_us = 0;
	return tu_new_cfg(&cfg);
}

/* t hears of `name` at 10.0.0.ip with capability byte caps (-1: serf's
 * 6-byte Vsn). */
static void
ride_hear(struct tu *t, unsigned ip, const char *name, int caps)
{
	static uint8_t v7[7] = { 1, 5, 2, 2, 5, 5, 0 };
	static uint8_t a4[4] = { 10, 0, 0, 0 };
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };

	v7[6] = (uint8_t)(caps < 0 ? 0 : caps);
	a4[3] = (uint8_t)ip;
	m.alive.incarnation = 1;
	m.alive.node = tu_s(name);
	m.alive.addr = (struct swim_str){ a4, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ v7, caps < 0 ? 6 : 7 };
	tu_send(t, ip, &m);
}

/* What one swim_tick at `now` sent: pings, HELLOs, and to whom. */
struct ride_out {
	unsigned pings;
	unsigned hellos;
	uint8_t ping_to;	/* last octet */
	uint8_t hello_to;
	bool hello_after_ping;	/* the HELLO came out after the ping */
};

/* A packet's first message type: past the CRC wrapper (every peer here
 * has PMax 5) and into a compound (a ping with gossip piggybacked). */
static uint8_t
ride_first_type(const uint8_t *d, size_t len)
{
	size_t o = len > 5 && d[0] == SWIM_MSG_HAS_CRC ? 5 : 0;

	if (o + 1 < len && d[o] == SWIM_MSG_COMPOUND)
		o += 2 + 2 * (size_t)d[o + 1];
	return o < len ? d[o] : 0xff;
}

static int
ride_ping_seq(void *ctx, const struct swim_msg *m)
{
	if (m->type == SWIM_MSG_PING)
		*(uint32_t *)ctx = m->ping.seq_no;
	return 0;
}

/* One wakeup at `now`: tick, take the outputs, and have the probed
 * member ack at once (healthy peers: probes stay on their grid). */
static struct ride_out
ride_tick(struct tu *t, uint64_t now)
{
	struct ride_out r = { 0 };
	struct swim_output o;
	uint32_t seq = 0;

	t->now = now;
	swim_tick(t->s, now);
	while (swim_pop_output(t->s, &o)) {
		if (o.kind != SWIM_OUT_PACKET)
			continue;
		uint8_t type = ride_first_type(o.data, o.len);
		if (type == SWIM_MSG_PING) {
			r.pings++;
			r.ping_to = o.to.ip[3];
			t->scratch.used = 0;
			cr_assert_gt(swim_wire_decode_packet(o.data, o.len,
					&t->scratch, ride_ping_seq, &seq), 0);
		} else if (type == SWIM_DSYNC_UDP_HELLO) {
			r.hellos++;
			r.hello_to = o.to.ip[3];
			r.hello_after_ping = r.pings > 0;
		}
	}
	if (r.pings > 0) {
		struct swim_msg ack = { .type = SWIM_MSG_ACK };

		ack.ack.seq_no = seq;
		tu_send(t, r.ping_to, &ack);
	}
	return r;
}

static uint64_t
ride_probes_early(const struct tu *t)
{
	struct swim_stats st;

	swim_get_stats(t->s, &st);
	return st.probes_early;
}

/* Tick every ms from `from` until a ping goes out; that tick's outputs
 * in *out (NULL: not wanted). @retval its time. */
static uint64_t
ride_ping_out(struct tu *t, uint64_t from, struct ride_out *out)
{
	for (uint64_t now = from; now < from + 3 * S; now += 1 * MS) {
		struct ride_out r = ride_tick(t, now);

		if (r.pings == 0)
			continue;
		if (out != NULL)
			*out = r;
		return now;
	}
	cr_assert_fail("no probe within 3 s of %llu", (unsigned long long)from);
	return 0;
}

static uint64_t
ride_next_ping(struct tu *t, uint64_t from)
{
	return ride_ping_out(t, from, NULL);
}

Test(core_ride, a_node_that_wakes_often_probes_half_an_interval_early)
{
	struct tu *t = ride_core(500 * MS, 0);
	uint64_t p[6];

	ride_hear(t, 2, "p2", -1);
	p[0] = ride_next_ping(t, t->now + 1 * MS);
	for (unsigned k = 1; k < 6; k++)
		p[k] = ride_next_ping(t, p[k - 1] + 1 * MS);
	/* the first tick inside each window starts the probe: the grid
	 * (every 1 s) stays, every probe 500 ms before its tick */
	for (unsigned k = 1; k < 6; k++)
		cr_assert_eq(p[k] - p[k - 1], 1 * S, "gap %u: %llu", k,
			     (unsigned long long)(p[k] - p[k - 1]));
	cr_assert_geq(ride_probes_early(t), 5);
	tu_delete(t);
}

Test(core_ride, without_a_window_the_ticker_is_fixed)
{
	struct tu *t = ride_core(0, 0);
	struct tu *e = ride_core(500 * MS, 0);	/* same seed: same grid */
	uint64_t fixed, early;

	ride_hear(t, 2, "p2", -1);
	ride_hear(e, 2, "p2", -1);
	fixed = ride_next_ping(t, t->now + 1 * MS);
	early = ride_next_ping(e, e->now + 1 * MS);
	cr_assert_eq(fixed - early, 500 * MS);
	cr_assert_eq(ride_next_ping(t, fixed + 1 * MS), fixed + 1 * S);
	cr_assert_eq(ride_probes_early(t), 0);
	tu_delete(t);
	tu_delete(e);
}

Test(core_ride, a_probe_starts_early_only_inside_its_window)
{
	struct tu *t = ride_core(500 * MS, 0);
	uint64_t p0, tick1, tick2;

	ride_hear(t, 2, "p2", -1);
	p0 = ride_next_ping(t, t->now + 1 * MS);
	tick1 = p0 + 500 * MS + 1 * S;	/* p0 was 500 ms early */
	tick2 = tick1 + 1 * S;
	cr_assert_eq(ride_tick(t, tick1 - 700 * MS).pings, 0, "too early");
	cr_assert_eq(ride_tick(t, tick1 - 200 * MS).pings, 1, "a wakeup "
		     "200 ms before the tick carries the probe");
	cr_assert_eq(ride_tick(t, tick1).pings, 0, "the tick is spent");
	cr_assert_eq(ride_tick(t, tick1 + 400 * MS).pings, 0);
	/* no wakeup inside the next window: the ticker itself, on time */
	cr_assert_eq(ride_tick(t, tick2 - 501 * MS).pings, 0);
	cr_assert_eq(ride_tick(t, tick2).pings, 1);
	cr_assert_eq(ride_probes_early(t), 2);	/* p0 and tick1's */
	tu_delete(t);
}

Test(core_ride, a_wanted_hello_follows_the_ping_to_a_capable_member)
{
	struct tu *t = ride_core(0, CAPS);
	struct swim_dsync_udp_stats st;
	struct ride_out r = { 0 };

	ride_hear(t, 2, "b", CAPS);
	cr_assert_eq(swim_dsync_udp_want(t->s, t->now), 0);
	cr_assert_eq(swim_dsync_udp_want(t->s, t->now), -EALREADY);
	for (uint64_t now = t->now; r.pings == 0 && now < t->now + 2 * S;
	     now += 10 * MS)
		r = ride_tick(t, now);
	cr_assert_eq(r.pings, 1);
	cr_assert_eq(r.hellos, 1);
	cr_assert(r.hello_after_ping);
	cr_assert_eq(r.ping_to, 2);
	cr_assert_eq(r.hello_to, 2);
	swim_dsync_udp_get_stats(t->s, &st);
	cr_assert_eq(st.hellos_out, 1);
	cr_assert_eq(st.hellos_on_probe, 1);
	cr_assert_eq(swim_dsync_udp_want_poll(t->s, t->now), 0);
	/* the next probe carries nothing: one HELLO per want */
	ride_ping_out(t, t->now + 1 * MS, &r);
	cr_assert_eq(r.hellos, 0);
	tu_delete(t);
}

Test(core_ride, a_wanted_hello_never_goes_to_an_incapable_target)
{
	struct tu *t = ride_core(0, CAPS);
	struct swim_dsync_udp_stats st;
	uint64_t start, now;
	unsigned pings = 0;
	int rc = -EINPROGRESS;

	ride_hear(t, 3, "serf", -1);
	ride_hear(t, 4, "v1", SWIM_DSYNC_CAP_V1);
	start = t->now;
	cr_assert_eq(swim_dsync_udp_want(t->s, start), 0);
	for (now = start; rc == -EINPROGRESS && now < start + 10 * S;
	     now += 10 * MS) {
		struct ride_out r = ride_tick(t, now);

		pings += r.pings;
		cr_assert_eq(r.hellos, 0);
		rc = swim_dsync_udp_want_poll(t->s, now);
	}
	cr_assert_eq(rc, -ETIMEDOUT, "handed back: %d", rc);
	cr_assert_geq(now - start, SWIM_DSYNC_WANT_PROBES * S);
	cr_assert_leq(now - start, SWIM_DSYNC_WANT_PROBES * S + 10 * MS);
	cr_assert_geq(pings, 2);
	cr_assert_eq(swim_dsync_udp_want_poll(t->s, now), 0, "once only");
	swim_dsync_udp_get_stats(t->s, &st);
	cr_assert_eq(st.hellos_out, 0);
	tu_delete(t);
}

Test(core_ride, in_a_mixed_pool_the_hello_waits_for_the_capable_one)
{
	struct tu *t = ride_core(0, CAPS);
	unsigned served[5] = { 0 };

	ride_hear(t, 2, "b", CAPS);
	ride_hear(t, 3, "serf", -1);
	ride_hear(t, 4, "c", CAPS);
	for (unsigned round = 0; round < 6; round++) {
		struct ride_out r = { 0 };
		unsigned probes;

		cr_assert_eq(swim_dsync_udp_want(t->s, t->now), 0);
		/* round robin over three: a capable one within two probes */
		for (probes = 0; r.hellos == 0 && probes < 2; probes++)
			ride_ping_out(t, t->now + 1 * MS, &r);
		cr_assert_eq(r.hellos, 1, "round %u", round);
		cr_assert_eq(r.hello_to, r.ping_to);
		cr_assert_neq(r.hello_to, 3, "never the serf member");
		served[r.hello_to]++;
		cr_assert_eq(swim_dsync_udp_want_poll(t->s, t->now), 0);
	}
	cr_assert_gt(served[2], 0);
	cr_assert_gt(served[4], 0);
	tu_delete(t);
}

Test(core_ride, a_core_without_the_capability_wants_nothing)
{
	struct tu *t = ride_core(0, SWIM_DSYNC_CAP_V1);

	cr_assert_eq(swim_dsync_udp_want(t->s, t->now), -EPERM);
	cr_assert_eq(swim_dsync_udp_want_poll(t->s, t->now), 0);
	tu_delete(t);
}
