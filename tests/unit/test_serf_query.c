/* SPDX-License-Identifier: MIT */
/*
 * Serf queries and relays through a fake memberlist core: acks to the
 * querier (byte-exact), re-gossip and flag 2, dedupe, filters, relayed
 * copies, internal _serf_ queries, responses and their error codes,
 * queries we start, and relay forwarding (memberlist-wire.md §10.3,
 * §10.7, §10.8).
 */
#include <criterion/criterion.h>

#include <errno.h>

#include "serf_suite.h"

#define US 1000000ull
#define S(lit) ((struct swim_str){ (const uint8_t *)(lit), sizeof(lit) - 1 })
#define NIL ((struct swim_str){ NULL, 0 })

static bool keyring;

static void
setup(void)
{
	serf_suite_new(keyring);
	fake_clear_out(&sw);
}

static void
teardown(void)
{
	serf_delete(serf);
	keyring = false;
}

TestSuite(serf_query, .init = setup, .fini = teardown, .timeout = 10);

/** A query from "q" at 127.0.0.9:9000 with the given parts. */
static size_t
query(uint8_t *buf, size_t cap, const char *name, uint64_t ltime,
      uint32_t flags, struct swim_str filters, struct swim_str payload)
{
	static const uint8_t ip[4] = { 127, 0, 0, 9 };
	struct serf_msg_query q = {
		.ltime = ltime, .id = 77, .addr = { ip, 4 }, .port = 9000,
		.source_node = S("q"), .filters = filters, .flags = flags,
		.timeout_ns = 2000000000,
		.name = { (const uint8_t *)name, (uint32_t)strlen(name) },
		.payload = payload,
	};
	int n = serf_msg_encode_query(&q, buf, cap);

	cr_assert_gt(n, 0);
	return (size_t)n;
}

/** The direct response sent for a query, decoded. */
static void
sent_response(uint32_t idx, struct serf_msg_query_response *r)
{
	const struct fake_out *o = fake_find_out(&sw, SERF_MSG_QUERY_RESPONSE,
						 false, idx);

	cr_assert_not_null(o, "no response #%u", idx);
	cr_assert_eq(serf_msg_decode_query_response(o->data, o->len, r), 0);
}

static bool
is_to(const struct fake_out *o, uint8_t octet, uint16_t port)
{
	return o->to.ip_len == 4 && o->to.ip[0] == 127 &&
	       o->to.ip[3] == octet && o->to.port == port;
}

Test(serf_query, captured_query_is_acked_byte_for_byte_and_regossiped)
{
	uint8_t q[256], want[64];
	size_t n = hex2bin(
		"048ba441646472a47f000001a746696c74657273c0a5466c61677301a2"
		"4944ce4ab35933a54c54696d6501a44e616d65a677686f616d69a75061"
		"796c6f6164a470696e67a4506f7274cd461bab52656c6179466163746f"
		"7200aa536f757263654e6f6465a162a754696d656f7574ce77359400",
		q, sizeof(q));
	struct serf_msg_query_response ack = { 1, 0x4ab35933, S("me"), 1, NIL };
	int wn = serf_msg_encode_query_response(&ack, want, sizeof(want));
	const struct fake_out *o;

	drain(SERF_EV_COUNT);
	deliver(q, n, 5 * US);
	o = fake_find_out(&sw, SERF_MSG_QUERY_RESPONSE, false, 0);
	cr_assert_not_null(o);
	cr_assert(is_to(o, 1, 17947));
	cr_assert_eq(o->len, (size_t)wn);
	cr_assert_arr_eq(o->data, want, o->len);
	o = fake_find_out(&sw, SERF_MSG_QUERY, true, 0);
	cr_assert_not_null(o);
	cr_assert_arr_eq(o->data, q, n);
	cr_assert_eq(drain(SERF_EV_QUERY), 1);
	cr_assert_str_eq(ev.name, "whoami");
	cr_assert_eq(ev.payload_len, 4);
	cr_assert_eq(ev.deadline_us, 7 * US);
	cr_assert_eq(ev.ltime, 1);
}

Test(serf_query, no_broadcast_flag_stops_regossip_but_not_the_ack)
{
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "x", 1, 3, NIL, NIL);

	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 1);
}

Test(serf_query, no_ack_unless_asked)
{
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "x", 1, 0, NIL, NIL);

	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 1);
	cr_assert_eq(drain(SERF_EV_QUERY), 1);
}

Test(serf_query, duplicates_and_old_queries_are_dropped)
{
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "x", 1000, 1, NIL, NIL);
	struct serf_stats st;

	deliver(q, n, 0);
	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 1);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 1);
	n = query(q, sizeof(q), "x", 1000 - 513, 1, NIL, NIL);
	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 1);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.query_time, 1001);
}

static size_t
filtered_query(uint8_t *q, size_t cap, const struct swim_str *nodes,
	       uint32_t nb_nodes, const struct serf_tag *tags, uint32_t nb_tags)
{
	static uint8_t f[512];
	static uint64_t ltime = 1;
	int fl = serf_msg_encode_filters(nodes, nb_nodes, tags, nb_tags, f,
					 sizeof(f));

	cr_assert_gt(fl, 0);
	return query(q, cap, "f", ltime++, 1,
		     (struct swim_str){ f, (uint32_t)fl }, NIL);
}

static uint32_t
acks_for(const struct swim_str *nodes, uint32_t nb_nodes,
	 const struct serf_tag *tags, uint32_t nb_tags)
{
	uint8_t q[512];
	size_t n = filtered_query(q, sizeof(q), nodes, nb_nodes, tags, nb_tags);

	fake_clear_out(&sw);
	deliver(q, n, 0);
	/* Whatever the filters say, the query travels on. */
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 1);
	return fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false);
}

Test(serf_query, node_filter)
{
	struct swim_str other[2] = { S("a"), S("b") };
	struct swim_str us[2] = { S("a"), S("me") };

	cr_assert_eq(acks_for(other, 2, NULL, 0), 0);
	cr_assert_eq(acks_for(us, 2, NULL, 0), 1);
	cr_assert_eq(drain(SERF_EV_QUERY), 1);
}

Test(serf_query, tag_filter_regex)
{
	struct serf_tag match = { "role", "^w.b$", 4, 5 };
	struct serf_tag nomatch = { "role", "^db$", 4, 4 };
	struct serf_tag missing_any = { "zone", ".*", 4, 2 };
	struct serf_tag missing_some = { "zone", "z", 4, 1 };
	struct serf_tag bad_regex = { "role", "(", 4, 1 };
	struct serf_tag both[2] = { { "role", "web", 4, 3 },
				    { "role", "db", 4, 2 } };

	cr_assert_eq(acks_for(NULL, 0, &match, 1), 1);
	cr_assert_eq(acks_for(NULL, 0, &nomatch, 1), 0);
	cr_assert_eq(acks_for(NULL, 0, &missing_any, 1), 1);
	cr_assert_eq(acks_for(NULL, 0, &missing_some, 1), 0);
	cr_assert_eq(acks_for(NULL, 0, &bad_regex, 1), 0);
	cr_assert_eq(acks_for(NULL, 0, both, 2), 0);	/* all must pass */
}

Test(serf_query, unknown_filter_type_is_not_processed)
{
	/* Filters: [ "\x05" ] */
	uint8_t f[] = { 0x91, 0xa1, 0x05 };
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "x", 1, 1,
			 (struct swim_str){ f, sizeof(f) }, NIL);

	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 1);
}

Test(serf_query, respond_once_before_the_deadline)
{
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "x", 1, 0, NIL, NIL);
	struct serf_msg_query_response r;
	static uint8_t big[2000];
	uint64_t h;

	deliver(q, n, 10 * US);
	cr_assert_eq(drain(SERF_EV_QUERY), 1);
	h = ev.query_handle;
	cr_assert_eq(serf_query_respond(serf, 10 * US, h, big, 1025),
		     -EMSGSIZE);
	cr_assert_eq(serf_query_respond(serf, 10 * US, h + 100,
					(const uint8_t *)"hi", 2), -ENOENT);
	cr_assert_eq(serf_query_respond(serf, 11 * US, h,
					(const uint8_t *)"hi from me", 10), 0);
	sent_response(0, &r);
	cr_assert_eq(r.flags, 0);
	cr_assert_eq(r.id, 77);
	cr_assert_eq(r.ltime, 1);
	cr_assert(r.from.len == 2 && memcmp(r.from.ptr, "me", 2) == 0);
	cr_assert(r.payload.len == 10 &&
		  memcmp(r.payload.ptr, "hi from me", 10) == 0);
	cr_assert_eq(serf_query_respond(serf, 11 * US, h,
					(const uint8_t *)"x", 1), -EALREADY);
}

Test(serf_query, respond_past_the_deadline)
{
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "x", 1, 0, NIL, NIL);

	deliver(q, n, 10 * US);
	cr_assert_eq(drain(SERF_EV_QUERY), 1);
	cr_assert_eq(serf_query_respond(serf, 12 * US + 1, ev.query_handle,
					(const uint8_t *)"x", 1), -ETIMEDOUT);
	/* Once the deadline passed the tick forgets it. */
	serf_tick(serf, 13 * US);
	cr_assert_eq(serf_query_respond(serf, 13 * US, ev.query_handle,
					(const uint8_t *)"x", 1), -ENOENT);
}

Test(serf_query, pending_queries_are_capped)
{
	uint8_t q[256];

	for (uint64_t i = 1; i <= SERF_INQ_MAX + 5; i++) {
		size_t n = query(q, sizeof(q), "x", i, 0, NIL, NIL);
		deliver(q, n, i);
	}
	cr_assert_eq(serf->nb_inq, SERF_INQ_MAX);
}

Test(serf_query, relay_factor_sends_wrapped_copies_through_pmax5_peers)
{
	uint8_t q[256];
	size_t n = hex2bin(
		"048ba441646472a47f000001a746696c74657273c0a5466c61677301a2"
		"4944ce641974b9a54c54696d6501a44e616d65a27271a75061796c6f61"
		"64a178a4506f7274cd461aab52656c6179466163746f7202aa536f7572"
		"63654e6f6465a161a754696d656f7574ce77359400", q, sizeof(q));
	struct fake_member *old = fake_add(&sw, "d", 4, 7946);
	struct serf_msg_relay r;
	struct serf_msg_query_response ack;
	struct swim_event e;

	join("b", 2);
	join("c", 3);
	old->vsn[1] = 4;	/* PMax 4: no relays through it */
	fake_event(&sw, old, SWIM_EV_JOIN, &e);
	serf_on_swim_event(serf, 0, &e);
	fake_clear_out(&sw);
	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 1);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_RELAY, false), 2);
	for (uint32_t i = 0; i < 2; i++) {
		const struct fake_out *o = fake_find_out(&sw, SERF_MSG_RELAY,
							 false, i);
		cr_assert(is_to(o, 2, 7946) || is_to(o, 3, 7946));
		cr_assert_eq(serf_msg_decode_relay(o->data, o->len, &r), 0);
		cr_assert_eq(r.dest_port, 17946);
		cr_assert(r.dest_name.len == 1 && r.dest_name.ptr[0] == 'a');
		cr_assert_eq(serf_msg_decode_query_response(r.inner.ptr,
							    r.inner.len,
							    &ack), 0);
		cr_assert_eq(ack.flags, SERF_QUERY_FLAG_ACK);
		cr_assert_eq(ack.id, 1679389881);
	}
	cr_assert_neq(fake_find_out(&sw, SERF_MSG_RELAY, false, 0)->to.ip[3],
		      fake_find_out(&sw, SERF_MSG_RELAY, false, 1)->to.ip[3]);
}

Test(serf_query, relay_factor_needs_enough_members)
{
	uint8_t q[256];
	struct serf_msg_query m;
	size_t n = query(q, sizeof(q), "x", 1, 1, NIL, NIL);

	cr_assert_eq(serf_msg_decode_query(q, n, &m), 0);
	m.relay_factor = 2;
	join("b", 2);		/* 2 members < 2 + 1 */
	n = (size_t)serf_msg_encode_query(&m, q, sizeof(q));
	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 1);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_RELAY, false), 0);
}

Test(serf_query, relay_message_is_forwarded_to_its_destination)
{
	uint8_t r[128];
	size_t n = hex2bin(
		"0982a8446573744164647283a24950a47f000001a4506f7274cd461aa4"
		"5a6f6e65a0a8446573744e616d65a1610585a5466c61677301a446726f"
		"6da161a24944ce641974b9a54c54696d6501a75061796c6f6164c0",
		r, sizeof(r));
	const struct fake_out *o;
	struct serf_stats st;

	deliver(r, n, 0);
	o = fake_find_out(&sw, SERF_MSG_QUERY_RESPONSE, false, 0);
	cr_assert_not_null(o);
	cr_assert(is_to(o, 1, 17946));
	cr_assert_eq(o->len, 40);
	cr_assert_arr_eq(o->data, r + 45, 40);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.relays, 1);
	/* A 3-byte IP cannot be sent to. */
	r[20] = 0xa3;
	deliver(r, n - 1, 0);
	serf_get_stats(serf, &st);
	cr_assert_eq(st.relays, 1);
	cr_assert_eq(st.msgs_bad, 1);
}

Test(serf_query, serf_ping_is_acked_only)
{
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "_serf_ping", 1, 1, NIL, NIL);

	drain(SERF_EV_COUNT);
	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 1);
	cr_assert_eq(drain(SERF_EV_QUERY), 0);
}

Test(serf_query, serf_conflict_answers_with_the_member)
{
	uint8_t q[256];
	size_t n;
	struct serf_msg_query_response r;

	join("b", 2);
	fake_clear_out(&sw);
	n = query(q, sizeof(q), "_serf_conflict", 1, 0, NIL, NIL);
	/* Payload is the name: rebuild with "b". */
	struct serf_msg_query m;
	cr_assert_eq(serf_msg_decode_query(q, n, &m), 0);
	m.payload = S("b");
	n = (size_t)serf_msg_encode_query(&m, q, sizeof(q));
	deliver(q, n, 0);
	sent_response(0, &r);
	cr_assert_eq(r.payload.ptr[0], SERF_MSG_CONFLICT_RESPONSE);
	cr_assert_eq(r.payload.ptr[1], 0x8b);	/* the 11-key Member */
	cr_assert_eq(drain(SERF_EV_QUERY), 0);
	/* About us: no answer; about nobody: 06 c0. */
	m.ltime = 2;
	m.payload = S("me");
	n = (size_t)serf_msg_encode_query(&m, q, sizeof(q));
	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 1);
	m.ltime = 3;
	m.payload = S("ghost");
	n = (size_t)serf_msg_encode_query(&m, q, sizeof(q));
	deliver(q, n, 0);
	sent_response(1, &r);
	cr_assert_eq(r.payload.len, 2);
	cr_assert_eq(r.payload.ptr[1], 0xc0);
}

Test(serf_query, key_queries_without_keyring_fail_like_serf)
{
	uint8_t q[256];
	size_t n = query(q, sizeof(q), "_serf_list-keys", 1, 0, NIL, NIL);
	struct serf_msg_query_response r;
	struct serf_msg_key_response k;
	struct swim_str keys[4];

	deliver(q, n, 0);
	sent_response(0, &r);
	cr_assert_eq(serf_msg_decode_key_response(r.payload.ptr, r.payload.len,
						  &k, keys, 4), 0);
	cr_assert_not(k.result);
	cr_assert(k.message.len == 41 &&
		  memcmp(k.message.ptr,
			 "Keyring is empty (encryption not enabled)", 41) == 0);
	n = query(q, sizeof(q), "_serf_install-key", 2, 0, NIL, NIL);
	deliver(q, n, 0);
	sent_response(1, &r);
	cr_assert_eq(serf_msg_decode_key_response(r.payload.ptr, r.payload.len,
						  &k, keys, 4), 0);
	cr_assert(k.message.len == 45);
}

Test(serf_query, key_queries_go_to_control_with_a_keyring)
{
	uint8_t q[256];
	size_t n;

	serf_delete(serf);
	keyring = true;
	setup();
	drain(SERF_EV_COUNT);
	n = query(q, sizeof(q), "_serf_use-key", 1, 1, NIL, S("\x07\x80"));
	deliver(q, n, 0);
	cr_assert_eq(drain(SERF_EV_QUERY), 1);
	cr_assert_str_eq(ev.name, "_serf_use-key");
	/* Only the ack went out. */
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 1);
}

Test(serf_query, query_without_a_usable_address_is_not_answered)
{
	uint8_t q[256];
	struct serf_msg_query m;
	size_t n = query(q, sizeof(q), "x", 1, 1, NIL, NIL);

	cr_assert_eq(serf_msg_decode_query(q, n, &m), 0);
	m.addr = S("\x01\x02\x03");
	n = (size_t)serf_msg_encode_query(&m, q, sizeof(q));
	deliver(q, n, 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 1);
}

/* --- queries we start --- */

Test(serf_query, default_timeout)
{
	char name[8];

	join("b", 2);
	/* 2 alive: 200 ms * 16 * ceil(log10(3)) = 3.2 s. */
	cr_assert_eq(serf_query_default_timeout(serf), 3200000);
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		fake_add(&sw, name, (uint8_t)(10 + i), 7946);
	}
	/* 11 alive: ceil(log10(12)) = 2. */
	cr_assert_eq(serf_query_default_timeout(serf), 6400000);
}

Test(serf_query, our_query_collects_acks_responses_and_ends)
{
	struct serf_query_param p = { .request_ack = true,
				      .timeout_us = 1 * US };
	struct serf_msg_query m;
	struct serf_msg_query_response r;
	const struct fake_out *o;
	uint8_t buf[256];
	uint64_t h;
	int len;

	join("b", 2);
	fake_clear_out(&sw);
	drain(SERF_EV_COUNT);
	cr_assert_eq(serf_query(serf, 10 * US, "q", 1,
				(const uint8_t *)"pl", 2, &p, &h), 0);
	o = fake_find_out(&sw, SERF_MSG_QUERY, true, 0);
	cr_assert_not_null(o);
	cr_assert_eq(serf_msg_decode_query(o->data, o->len, &m), 0);
	cr_assert_eq(m.ltime, 1);
	cr_assert_eq(m.flags, SERF_QUERY_FLAG_ACK);
	cr_assert_eq(m.port, 7946);
	cr_assert_eq(m.addr.len, 4);
	cr_assert_eq(m.timeout_ns, 1000000000);
	cr_assert_null(m.filters.ptr);
	cr_assert(m.source_node.len == 2);
	cr_assert_lt(m.id, 1u << 31);
	/* We handle our own query: an ack to ourselves, over the network. */
	o = fake_find_out(&sw, SERF_MSG_QUERY_RESPONSE, false, 0);
	cr_assert_not_null(o);
	cr_assert(is_to(o, 1, 7946));
	cr_assert_eq(drain(SERF_EV_QUERY), 1);
	memcpy(buf, o->data, o->len);
	deliver(buf, o->len, 10 * US + 1);
	deliver(buf, o->len, 10 * US + 2);	/* a duplicate */
	cr_assert_eq(drain(SERF_EV_QUERY_ACK), 1);
	cr_assert_str_eq(ev.name, "me");
	cr_assert_eq(ev.query_handle, h);
	/* b responds; then a response with a wrong ID. */
	r = (struct serf_msg_query_response){ m.ltime, m.id, S("b"), 0,
					      S("hello") };
	len = serf_msg_encode_query_response(&r, buf, sizeof(buf));
	deliver(buf, (size_t)len, 10 * US + 3);
	deliver(buf, (size_t)len, 10 * US + 4);
	r.id++;
	r.from = S("c");
	len = serf_msg_encode_query_response(&r, buf, sizeof(buf));
	deliver(buf, (size_t)len, 10 * US + 5);
	cr_assert_eq(drain(SERF_EV_QUERY_RESPONSE), 1);
	cr_assert_str_eq(ev.name, "b");
	cr_assert_eq(ev.payload_len, 5);
	serf_tick(serf, 10 * US);	/* arms reap and reconnect */
	cr_assert_eq(serf_next_deadline(serf), 11 * US + 1);
	serf_tick(serf, 11 * US + 1);
	cr_assert_eq(drain(SERF_EV_QUERY_DONE), 1);
	cr_assert_eq(ev.query_handle, h);
	/* Late answers go nowhere. */
	r.id--;
	r.from = S("d");
	len = serf_msg_encode_query_response(&r, buf, sizeof(buf));
	deliver(buf, (size_t)len, 12 * US);
	cr_assert_eq(drain(SERF_EV_QUERY_RESPONSE), 0);
}

Test(serf_query, our_query_limits_and_filters)
{
	static uint8_t big[1100];
	struct swim_str only_b = S("b");
	struct serf_query_param p = { .filter_nodes = &only_b,
				      .nb_filter_nodes = 1,
				      .request_ack = true };
	uint64_t h;

	cr_assert_eq(serf_query(serf, 0, "q", 1, big, sizeof(big), NULL, &h),
		     -EMSGSIZE);
	cr_assert_eq(serf_query(serf, 0, "q", 1, big, 1000, NULL, &h),
		     -EMSGSIZE);	/* the whole message is over 1024 */
	cr_assert_eq(serf_query(serf, 0, "", 0, NULL, 0, NULL, &h), -EINVAL);
	cr_assert_eq(serf_query(serf, 0, "q", 1, NULL, 0, &p, &h), 0);
	/* Not for us: no local ack, but gossiped with its filter. */
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY_RESPONSE, false), 0);
	cr_assert_eq(fake_count_out(&sw, SERF_MSG_QUERY, true), 1);
}
