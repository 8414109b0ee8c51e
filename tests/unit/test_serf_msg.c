/* SPDX-License-Identifier: MIT */
/*
 * The Serf message codec against byte-exact vectors (memberlist-wire.md
 * Appendix A and §10.3, plus bytes captured from real serf agents in
 * shared/protocol/captures/t7), both directions, and one test per
 * rejection reason with its exact error code.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "serf_coord.h"
#include "serf_msg.h"
#include "test_serf_util.h"

#define S(lit) ((struct swim_str){ (const uint8_t *)(lit), sizeof(lit) - 1 })
#define NIL ((struct swim_str){ NULL, 0 })

/* Appendix A. */
static const char *const hex_join = "0182a54c54696d6502a44e6f6465a163";
static const char *const hex_leave =
	"0083a54c54696d6503a44e6f6465a163a55072756e65c2";
static const char *const hex_user_event =
	"0384a24343c3a54c54696d6501a44e616d65a66465706c6f79a75061796c6f6164"
	"a568656c6c6f";
static const char *const hex_ack =
	"0585a5466c61677301a446726f6da163a24944ce0012d687a54c54696d6501a750"
	"61796c6f6164c0";
static const char *const hex_push_pull =
	"0286aa4576656e744c54696d6501a64576656e747392c082a64576656e74739182"
	"a44e616d65a178a75061796c6f6164c0a54c54696d6501a54c54696d6502ab4c65"
	"66744d656d6265727390aa51756572794c54696d6501ac5374617475734c54696d"
	"657381a16302";
static const char *const hex_meta_role_web = "ff81a4726f6c65a3776562";
/* §10.3: the captured `serf query whoami ping` (after the 08). */
static const char *const hex_query_whoami =
	"048ba441646472a47f000001a746696c74657273c0a5466c61677301a24944ce4a"
	"b35933a54c54696d6501a44e616d65a677686f616d69a75061796c6f6164a47069"
	"6e67a4506f7274cd461bab52656c6179466163746f7200aa536f757263654e6f64"
	"65a162a754696d656f7574ce77359400";
/* t7: query with -relay-factor=2, and a relayed ack. */
static const char *const hex_query_rq =
	"048ba441646472a47f000001a746696c74657273c0a5466c61677301a24944ce64"
	"1974b9a54c54696d6501a44e616d65a27271a75061796c6f6164a178a4506f7274"
	"cd461aab52656c6179466163746f7202aa536f757263654e6f6465a161a754696d"
	"656f7574ce77359400";
static const char *const hex_relay =
	"0982a8446573744164647283a24950a47f000001a4506f7274cd461aa45a6f6e65"
	"a0a8446573744e616d65a1610585a5466c61677301a446726f6da161a24944ce64"
	"1974b9a54c54696d6501a75061796c6f6164c0";
/* §10.3: a small push/pull state a foreign node may send. */
static const char *const hex_pp_small =
	"0286aa4576656e744c54696d6501a64576656e747390a54c54696d6501ab4c6566"
	"744d656d6265727390aa51756572794c54696d6501ac5374617475734c54696d65"
	"7381a16301";
/* t7: a serf agent's ping ack payload: 01 + Coordinate. */
static const char *const hex_coord =
	"0184aa41646a7573746d656e74cb3f03becd414ee526a54572726f72cb3ff6bf6f"
	"6a4d6906a6486569676874cb3f02e21ee431b375a356656398cb3ed00688e0b210"
	"82cb3f2129eb8f51c74dcbbf04ededc5aa5944cb3f0bf555ba8f6dc2cbbf12e7a2"
	"fd008b07cb3f203f13c213f836cbbf0992c4357dece7cbbf105c4c4c17a59c";

static uint8_t vec[4096];
static uint8_t out[4096];

static size_t
load(const char *hex)
{
	return hex2bin(hex, vec, sizeof(vec));
}

static bool
str_is(struct swim_str s, const char *lit)
{
	return s.ptr != NULL && s.len == strlen(lit) &&
	       memcmp(s.ptr, lit, s.len) == 0;
}

TestSuite(serf_msg, .timeout = 10);

Test(serf_msg, join_vector_both_ways)
{
	size_t n = load(hex_join);
	struct serf_msg_join m = { 2, S("c") };

	cr_assert_eq(serf_msg_encode_join(&m, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
	cr_assert_eq(serf_msg_decode_join(vec, n, &m), 0);
	cr_assert_eq(m.ltime, 2);
	cr_assert(str_is(m.node, "c"));
}

Test(serf_msg, leave_vector_both_ways)
{
	size_t n = load(hex_leave);
	struct serf_msg_leave m = { 3, S("c"), false };

	cr_assert_eq(serf_msg_encode_leave(&m, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
	m.prune = true;
	cr_assert_eq(serf_msg_decode_leave(vec, n, &m), 0);
	cr_assert_eq(m.ltime, 3);
	cr_assert(str_is(m.node, "c"));
	cr_assert_not(m.prune);
}

Test(serf_msg, leave_captured_with_prune)
{
	/* Captured: 08 00 83 {LTime 2, Node b, Prune false}; prune = c3. */
	size_t n = load("0083a54c54696d6502a44e6f6465a162a55072756e65c3");
	struct serf_msg_leave m;

	cr_assert_eq(serf_msg_decode_leave(vec, n, &m), 0);
	cr_assert_eq(m.ltime, 2);
	cr_assert(m.prune);
}

Test(serf_msg, user_event_vector_both_ways)
{
	size_t n = load(hex_user_event);
	struct serf_msg_user_event m = { 1, S("deploy"), S("hello"), true };

	cr_assert_eq(serf_msg_encode_user_event(&m, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
	memset(&m, 0, sizeof(m));
	cr_assert_eq(serf_msg_decode_user_event(vec, n, &m), 0);
	cr_assert_eq(m.ltime, 1);
	cr_assert(m.cc);
	cr_assert(str_is(m.name, "deploy"));
	cr_assert(str_is(m.payload, "hello"));
}

Test(serf_msg, user_event_nil_payload)
{
	struct serf_msg_user_event m = { 7, S("x"), NIL, false };
	int n = serf_msg_encode_user_event(&m, out, sizeof(out));

	cr_assert_gt(n, 0);
	cr_assert_eq(out[n - 1], 0xc0);
	cr_assert_eq(serf_msg_decode_user_event(out, (size_t)n, &m), 0);
	cr_assert_null(m.payload.ptr);
}

Test(serf_msg, query_response_ack_vector_both_ways)
{
	size_t n = load(hex_ack);
	struct serf_msg_query_response m = { 1, 1234567, S("c"), 1, NIL };

	cr_assert_eq(serf_msg_encode_query_response(&m, out, sizeof(out)),
		     (int)n);
	cr_assert_arr_eq(out, vec, n);
	memset(&m, 0, sizeof(m));
	cr_assert_eq(serf_msg_decode_query_response(vec, n, &m), 0);
	cr_assert_eq(m.ltime, 1);
	cr_assert_eq(m.id, 1234567);
	cr_assert_eq(m.flags, SERF_QUERY_FLAG_ACK);
	cr_assert(str_is(m.from, "c"));
	cr_assert_null(m.payload.ptr);
}

Test(serf_msg, push_pull_vector_both_ways)
{
	size_t n = load(hex_push_pull);
	struct serf_msg_pp_event ev = { S("x"), NIL };
	struct serf_msg_pp_group groups[2] = {
		{ .is_nil = true },
		{ .ltime = 1, .events = &ev, .nb_events = 1 },
	};
	struct serf_msg_pp_status st = { S("c"), 2 };
	struct serf_msg_push_pull pp = {
		.ltime = 2, .event_ltime = 1, .query_ltime = 1,
		.status = &st, .nb_status = 1,
		.groups = groups, .nb_groups = 2,
	};

	cr_assert_eq(serf_msg_encode_push_pull(&pp, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
}

Test(serf_msg, push_pull_vector_decode_and_walk)
{
	size_t n = load(hex_push_pull);
	struct serf_msg_push_pull pp;
	struct serf_msg_pp_status st;
	struct serf_msg_pp_group g;
	struct serf_msg_pp_event ev;
	struct swim_str name;

	cr_assert_eq(serf_msg_decode_push_pull(vec, n, &pp), 0);
	cr_assert_eq(pp.ltime, 2);
	cr_assert_eq(pp.event_ltime, 1);
	cr_assert_eq(pp.query_ltime, 1);
	cr_assert_eq(pp.nb_status, 1);
	cr_assert_eq(pp.nb_left, 0);
	cr_assert_eq(pp.nb_groups, 2);

	const uint8_t *p = pp.raw_status.ptr;
	const uint8_t *end = p + pp.raw_status.len;
	cr_assert_eq(serf_msg_pp_status_next(&p, end, &st), 1);
	cr_assert(str_is(st.name, "c"));
	cr_assert_eq(st.ltime, 2);
	cr_assert_eq(serf_msg_pp_status_next(&p, end, &st), 0);

	p = pp.raw_left.ptr;
	end = p + pp.raw_left.len;
	cr_assert_eq(serf_msg_pp_left_next(&p, end, &name), 0);

	p = pp.raw_events.ptr;
	end = p + pp.raw_events.len;
	cr_assert_eq(serf_msg_pp_group_next(&p, end, &g), 1);
	cr_assert(g.is_nil);
	cr_assert_eq(serf_msg_pp_group_next(&p, end, &g), 1);
	cr_assert_not(g.is_nil);
	cr_assert_eq(g.ltime, 1);
	cr_assert_eq(g.nb_events, 1);
	const uint8_t *q = g.raw_events.ptr;
	const uint8_t *qe = q + g.raw_events.len;
	cr_assert_eq(serf_msg_pp_event_next(&q, qe, &ev), 1);
	cr_assert(str_is(ev.name, "x"));
	cr_assert_null(ev.payload.ptr);
	cr_assert_eq(serf_msg_pp_event_next(&q, qe, &ev), 0);
	cr_assert_eq(serf_msg_pp_group_next(&p, end, &g), 0);
}

Test(serf_msg, push_pull_small_foreign_state)
{
	size_t n = load(hex_pp_small);
	struct serf_msg_push_pull pp;
	struct swim_str empty = { (const uint8_t *)"", 0 };
	struct serf_msg_pp_status st = { S("c"), 1 };
	struct serf_msg_push_pull enc = {
		.ltime = 1, .event_ltime = 1, .query_ltime = 1,
		.status = &st, .nb_status = 1, .left = &empty,
	};

	cr_assert_eq(serf_msg_decode_push_pull(vec, n, &pp), 0);
	cr_assert_eq(pp.nb_groups, 0);
	cr_assert_eq(pp.nb_status, 1);
	cr_assert_eq(serf_msg_encode_push_pull(&enc, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
}

Test(serf_msg, query_captured_whoami_both_ways)
{
	size_t n = load(hex_query_whoami);
	struct serf_msg_query q;
	uint8_t ip[4] = { 127, 0, 0, 1 };

	cr_assert_eq(serf_msg_decode_query(vec, n, &q), 0);
	cr_assert_eq(q.ltime, 1);
	cr_assert_eq(q.id, 0x4ab35933);
	cr_assert_eq(q.addr.len, 4);
	cr_assert_arr_eq(q.addr.ptr, ip, 4);
	cr_assert_eq(q.port, 17947);
	cr_assert_null(q.filters.ptr);
	cr_assert_eq(q.nb_filters, 0);
	cr_assert_eq(q.flags, SERF_QUERY_FLAG_ACK);
	cr_assert_eq(q.relay_factor, 0);
	cr_assert(str_is(q.source_node, "b"));
	cr_assert_eq(q.timeout_ns, 2000000000);
	cr_assert(str_is(q.name, "whoami"));
	cr_assert(str_is(q.payload, "ping"));
	cr_assert_eq(serf_msg_encode_query(&q, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
}

Test(serf_msg, query_captured_relay_factor_both_ways)
{
	size_t n = load(hex_query_rq);
	struct serf_msg_query q;

	cr_assert_eq(serf_msg_decode_query(vec, n, &q), 0);
	cr_assert_eq(q.relay_factor, 2);
	cr_assert_eq(q.id, 1679389881);
	cr_assert_eq(serf_msg_encode_query(&q, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
}

Test(serf_msg, relay_captured_both_ways)
{
	size_t n = load(hex_relay);
	struct serf_msg_relay r;
	uint8_t ip[4] = { 127, 0, 0, 1 };
	struct serf_msg_query_response inner;

	cr_assert_eq(serf_msg_decode_relay(vec, n, &r), 0);
	cr_assert_arr_eq(r.dest_ip.ptr, ip, 4);
	cr_assert_eq(r.dest_port, 17946);
	cr_assert_eq(r.dest_zone.len, 0);
	cr_assert(str_is(r.dest_name, "a"));
	cr_assert_eq(r.inner.ptr[0], SERF_MSG_QUERY_RESPONSE);
	cr_assert_eq(serf_msg_decode_query_response(r.inner.ptr, r.inner.len,
						    &inner), 0);
	cr_assert_eq(inner.id, 1679389881);
	cr_assert_eq(serf_msg_encode_relay(&r, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
}

Test(serf_msg, tags_vector_both_ways)
{
	size_t n = load(hex_meta_role_web);
	struct serf_tag t = { "role", "web", 4, 3 };
	struct serf_tag got[4];

	cr_assert_eq(serf_msg_encode_tags(&t, 1, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
	cr_assert_eq(serf_msg_decode_tags(vec, n, got, 4), 1);
	cr_assert_eq(got[0].key_len, 4);
	cr_assert_eq(memcmp(got[0].key, "role", 4), 0);
	cr_assert_eq(memcmp(got[0].value, "web", 3), 0);
}

Test(serf_msg, tags_empty_map_and_legacy_role)
{
	struct serf_tag got[4];
	const uint8_t empty[2] = { 0xff, 0x80 };

	cr_assert_eq(serf_msg_encode_tags(NULL, 0, out, sizeof(out)), 2);
	cr_assert_arr_eq(out, empty, 2);
	cr_assert_eq(serf_msg_decode_tags(empty, 2, got, 4), 0);
	/* Pre-tags Serf: Meta is the role itself; empty Meta too. */
	cr_assert_eq(serf_msg_decode_tags((const uint8_t *)"db", 2, got, 4), 1);
	cr_assert_eq(memcmp(got[0].key, "role", 4), 0);
	cr_assert_eq(got[0].value_len, 2);
	cr_assert_eq(serf_msg_decode_tags(NULL, 0, got, 4), 1);
	cr_assert_eq(got[0].value_len, 0);
}

Test(serf_msg, tags_str16_for_long_values)
{
	char value[300];
	struct serf_tag t = { "k", value, 1, sizeof(value) };

	memset(value, 'v', sizeof(value));
	int n = serf_msg_encode_tags(&t, 1, out, sizeof(out));
	/* ff 81 a1 'k' da 01 2c ...: str16, never str8 (go-msgpack). */
	cr_assert_eq(n, 4 + 3 + 300);
	cr_assert_eq(out[3], 'k');
	cr_assert_eq(out[4], 0xda);
	cr_assert_eq(out[5], 0x01);
	cr_assert_eq(out[6], 0x2c);
}

Test(serf_msg, filters_encode_and_match)
{
	struct swim_str nodes[2] = { S("a"), S("b") };
	struct serf_tag tf = { "role", "^web$", 4, 5 };
	struct serf_msg_query q = { .name = S("q"), .addr = NIL };
	struct swim_str f, tag, expr;
	int n = serf_msg_encode_filters(nodes, 2, &tf, 1, vec, sizeof(vec));

	cr_assert_gt(n, 0);
	q.filters = (struct swim_str){ vec, (uint32_t)n };
	int m = serf_msg_encode_query(&q, out, sizeof(out));
	cr_assert_gt(m, 0);
	cr_assert_eq(serf_msg_decode_query(out, (size_t)m, &q), 0);
	cr_assert_eq(q.nb_filters, 2);
	const uint8_t *p = q.filters_body.ptr;
	const uint8_t *end = p + q.filters_body.len;
	cr_assert_eq(serf_msg_filter_next(&p, end, &f), 1);
	cr_assert_eq(f.ptr[0], SERF_FILTER_NODE);
	cr_assert_eq(serf_msg_node_filter_has(f.ptr + 1, f.len - 1, "b", 1), 1);
	cr_assert_eq(serf_msg_node_filter_has(f.ptr + 1, f.len - 1, "c", 1), 0);
	cr_assert_eq(serf_msg_filter_next(&p, end, &f), 1);
	cr_assert_eq(f.ptr[0], SERF_FILTER_TAG);
	cr_assert_eq(serf_msg_decode_tag_filter(f.ptr + 1, f.len - 1, &tag,
						&expr), 0);
	cr_assert(str_is(tag, "role"));
	cr_assert(str_is(expr, "^web$"));
	cr_assert_eq(serf_msg_filter_next(&p, end, &f), 0);
	/* No filters at all: nil. */
	cr_assert_eq(serf_msg_encode_filters(NULL, 0, NULL, 0, vec, 8), 1);
	cr_assert_eq(vec[0], 0xc0);
}

Test(serf_msg, conflict_response)
{
	struct serf_tag t = { "role", "web", 4, 3 };
	uint8_t ip[4] = { 127, 0, 0, 1 };
	struct serf_msg_member m = {
		.name = S("a"), .addr = { ip, 4 }, .port = 7946,
		.tags = &t, .nb_tags = 1, .status = 1,
		.vsn = { 1, 5, 2, 2, 5, 5 },
	};
	size_t n = load("068ba441646472a47f000001ab44656c656761746543757205"
			"ab44656c65676174654d617805ab44656c65676174654d696e02"
			"a44e616d65a161a4506f7274cd1f0aab50726f746f636f6c4375"
			"7202ab50726f746f636f6c4d617805ab50726f746f636f6c4d69"
			"6e01a653746174757301a45461677381a4726f6c65a3776562");

	cr_assert_eq(serf_msg_encode_conflict(&m, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
	cr_assert_eq(serf_msg_encode_conflict(NULL, out, sizeof(out)), 2);
	cr_assert_eq(out[0], 0x06);
	cr_assert_eq(out[1], 0xc0);
}

Test(serf_msg, key_response_both_ways)
{
	struct serf_msg_key_response r = {
		.message = S("No keyring to modify (encryption not enabled)"),
		.primary_key = S(""),
	};
	struct swim_str keys[2];
	int n = serf_msg_encode_key_response(&r, out, sizeof(out));

	cr_assert_gt(n, 0);
	cr_assert_eq(out[0], SERF_MSG_KEY_RESPONSE);
	cr_assert_eq(out[1], 0x84);
	cr_assert_eq(serf_msg_decode_key_response(out, (size_t)n, &r, keys, 2),
		     0);
	cr_assert_not(r.result);
	cr_assert_eq(r.nb_keys, 0);
	cr_assert(str_is(r.message,
			 "No keyring to modify (encryption not enabled)"));
}

Test(serf_msg, coordinate_payload_captured_both_ways)
{
	size_t n = load(hex_coord);
	struct serf_coord c;

	cr_assert_eq(serf_coord_decode_payload(vec, n, &c), 0);
	cr_assert_eq(c.dim, 8);
	cr_assert_float_eq(c.error, 1.42173711323136, 1e-12);
	cr_assert_float_eq(c.vec[1], 0.00013094902502391385, 1e-15);
	cr_assert_eq(serf_coord_encode_payload(&c, out, sizeof(out)), (int)n);
	cr_assert_arr_eq(out, vec, n);
}

/* --- encoders: too small a buffer --- */

Test(serf_msg, encoders_report_nospace_at_every_short_cap)
{
	struct serf_msg_join j = { 2, S("c") };
	struct serf_msg_query_response r = { 1, 1234567, S("c"), 1, NIL };
	int nj = serf_msg_encode_join(&j, out, sizeof(out));
	int nr = serf_msg_encode_query_response(&r, out, sizeof(out));

	for (int cap = 0; cap < nj; cap++)
		cr_assert_eq(serf_msg_encode_join(&j, out, (size_t)cap),
			     SWIM_WIRE_E_NOSPACE);
	for (int cap = 0; cap < nr; cap++)
		cr_assert_eq(serf_msg_encode_query_response(&r, out,
							    (size_t)cap),
			     SWIM_WIRE_E_NOSPACE);
}

/* --- decoders: one test per rejection reason --- */

Test(serf_msg, reject_empty)
{
	struct serf_msg_join j;
	struct serf_msg_relay r;
	struct serf_coord c;

	cr_assert_eq(serf_msg_decode_join(vec, 0, &j), SWIM_WIRE_E_EMPTY);
	cr_assert_eq(serf_msg_type(vec, 0), SWIM_WIRE_E_EMPTY);
	cr_assert_eq(serf_coord_decode_payload(vec, 0, &c), SWIM_WIRE_E_EMPTY);
	/* A relay header with no inner message. */
	size_t n = load(hex_relay);
	cr_assert_eq(serf_msg_decode_relay(vec, n - 40, &r), SWIM_WIRE_E_EMPTY);
}

Test(serf_msg, reject_wrong_type_byte)
{
	size_t n = load(hex_join);
	struct serf_msg_leave l;
	struct serf_coord c;

	cr_assert_eq(serf_msg_decode_leave(vec, n, &l),
		     SWIM_WIRE_E_UNKNOWN_MSG);
	n = load(hex_coord);
	vec[0] = 2;	/* ping version 2 */
	cr_assert_eq(serf_coord_decode_payload(vec, n, &c),
		     SWIM_WIRE_E_UNKNOWN_MSG);
}

Test(serf_msg, reject_truncated_at_every_length)
{
	const char *const all[] = {
		hex_join, hex_leave, hex_user_event, hex_ack, hex_push_pull,
		hex_query_whoami, hex_relay,
	};
	struct serf_msg_join j;
	struct serf_msg_leave l;
	struct serf_msg_user_event u;
	struct serf_msg_query_response r;
	struct serf_msg_push_pull pp;
	struct serf_msg_query q;
	struct serf_msg_relay rl;

	for (size_t v = 0; v < sizeof(all) / sizeof(all[0]); v++) {
		size_t n = load(all[v]);
		for (size_t cut = 1; cut < n; cut++) {
			int rc;
			switch (vec[0]) {
			case 0: rc = serf_msg_decode_leave(vec, cut, &l); break;
			case 1: rc = serf_msg_decode_join(vec, cut, &j); break;
			case 2: rc = serf_msg_decode_push_pull(vec, cut, &pp);
				break;
			case 3: rc = serf_msg_decode_user_event(vec, cut, &u);
				break;
			case 4: rc = serf_msg_decode_query(vec, cut, &q); break;
			case 5: rc = serf_msg_decode_query_response(vec, cut,
								    &r);
				break;
			default: rc = serf_msg_decode_relay(vec, cut, &rl);
				/* A cut inside the inner part is the
				 * forwarder's business: the header decoded. */
				if (cut > 45)
					rc = -1;
				break;
			}
			cr_assert_lt(rc, 0, "vector %zu cut at %zu", v, cut);
		}
	}
	/* And the exact reason for a cut inside a string. */
	size_t n = load(hex_join);
	cr_assert_eq(serf_msg_decode_join(vec, n - 1, &j),
		     SWIM_WIRE_E_TRUNCATED);
}

/* The decoder a rejection case goes through. */
enum dec_as {
	DEC_JOIN,
	DEC_LEAVE,
	DEC_PUSH_PULL,
	DEC_QUERY,
	DEC_QUERY_RESPONSE,
	DEC_TAGS,
	DEC_COORD,
};

/* A hex input, its decoder and the exact error it must give. */
struct reject_case {
	/* inline, not pointers: params are copied into a new process */
	char what[48];		/* the reason, printed when the case fails */
	char hex[64];		/* the input (spaces allowed) */
	enum dec_as as;		/* through which decoder */
	int want;		/* the exact error */
};

static struct reject_case reject_cases[] = {
	/* msgpack types */
	{ "LTime as a string", "0182a54c54696d65a132a44e6f6465a163",
	  DEC_JOIN, SWIM_WIRE_E_TYPE },
	{ "Node as an int", "0182a54c54696d6502a44e6f6465 07", DEC_JOIN,
	  SWIM_WIRE_E_TYPE },
	{ "Prune as an int", "0083a54c54696d6503a44e6f6465a163a55072756e6501",
	  DEC_LEAVE, SWIM_WIRE_E_TYPE },
	{ "body an array, not a map", "019202a163", DEC_JOIN,
	  SWIM_WIRE_E_TYPE },
	{ "a key that is not a string", "01810102", DEC_JOIN,
	  SWIM_WIRE_E_TYPE },
	{ "0xc1, never valid msgpack", "0181a54c54696d65c1", DEC_JOIN,
	  SWIM_WIRE_E_TYPE },
	/* integers out of range */
	{ "negative LTime", "0182a54c54696d65ffa44e6f6465a163", DEC_JOIN,
	  SWIM_WIRE_E_RANGE },
	{ "Port 70000", "0481a4506f7274ce00011170", DEC_QUERY,
	  SWIM_WIRE_E_RANGE },
	{ "RelayFactor 256", "0481ab52656c6179466163746f72cd0100", DEC_QUERY,
	  SWIM_WIRE_E_RANGE },
	{ "ID above uint32", "0581a24944cf0000000100000000",
	  DEC_QUERY_RESPONSE, SWIM_WIRE_E_RANGE },
	/* hostile lengths */
	{ "map32 claiming 4 billion entries", "01dfffffffffa54c54696d6502",
	  DEC_JOIN, SWIM_WIRE_E_LENGTH },
	{ "LeftMembers claiming 2^31 names",
	  "0281ab4c6566744d656d62657273dd80000000a161", DEC_PUSH_PULL,
	  SWIM_WIRE_E_LENGTH },
	/* A str32 running far past the end is merely truncated. */
	{ "str32 far past the end", "0181a44e6f6465dbffffffff6162", DEC_JOIN,
	  SWIM_WIRE_E_TRUNCATED },
	{ "Tags map16, more pairs than bytes", "ffde0100a161a162", DEC_TAGS,
	  SWIM_WIRE_E_LENGTH },
	{ "a coordinate with 9 dimensions", "0181a356656399000000000000000000",
	  DEC_COORD, SWIM_WIRE_E_LENGTH },
	/* push/pull parts */
	{ "StatusLTimes value a string",
	  "0281ac5374617475734c54696d657381a163a131", DEC_PUSH_PULL,
	  SWIM_WIRE_E_TYPE },
	{ "an Events slot that is an int", "0281a64576656e74739107",
	  DEC_PUSH_PULL, SWIM_WIRE_E_TYPE },
	{ "an event whose Name is a map",
	  "0281a64576656e74739181a64576656e74739181a44e616d6580",
	  DEC_PUSH_PULL, SWIM_WIRE_E_TYPE },
	{ "a LeftMembers entry that is an int",
	  "0281ab4c6566744d656d626572739101", DEC_PUSH_PULL,
	  SWIM_WIRE_E_TYPE },
	/* filters and tags */
	{ "Filters a map", "0481a746696c7465727380", DEC_QUERY,
	  SWIM_WIRE_E_TYPE },
	{ "a filter entry that is an int", "0481a746696c746572739101",
	  DEC_QUERY, SWIM_WIRE_E_TYPE },
	{ "a tag value that is an int", "ff81a16b07", DEC_TAGS,
	  SWIM_WIRE_E_TYPE },
	{ "tags cut short", "ff82a16ba176a16b", DEC_TAGS,
	  SWIM_WIRE_E_TRUNCATED },
};

/* Decode the n bytes at vec as the case says. */
static int
decode_as(enum dec_as as, size_t n)
{
	union {
		struct serf_msg_join j;
		struct serf_msg_leave l;
		struct serf_msg_push_pull pp;
		struct serf_msg_query q;
		struct serf_msg_query_response r;
		struct serf_tag tags[4];
		struct serf_coord c;
	} u;

	switch (as) {
	case DEC_JOIN:
		return serf_msg_decode_join(vec, n, &u.j);
	case DEC_LEAVE:
		return serf_msg_decode_leave(vec, n, &u.l);
	case DEC_PUSH_PULL:
		return serf_msg_decode_push_pull(vec, n, &u.pp);
	case DEC_QUERY:
		return serf_msg_decode_query(vec, n, &u.q);
	case DEC_QUERY_RESPONSE:
		return serf_msg_decode_query_response(vec, n, &u.r);
	case DEC_TAGS:
		return serf_msg_decode_tags(vec, n, u.tags, 4);
	case DEC_COORD:
		return serf_coord_decode_payload(vec, n, &u.c);
	}
	cr_assert_fail("bad case");
	return 0;
}

ParameterizedTestParameters(serf_msg, reject_cases)
{
	return cr_make_param_array(struct reject_case, reject_cases,
				   sizeof(reject_cases) /
					   sizeof(reject_cases[0]));
}

ParameterizedTest(struct reject_case *rc, serf_msg, reject_cases)
{
	size_t n = load(rc->hex);

	cr_assert_eq(decode_as(rc->as, n), rc->want, "%s", rc->what);
}

Test(serf_msg, reject_bad_filters)
{
	struct serf_msg_query q;
	struct swim_str f;

	/* An empty filter string. */
	size_t n = load("0481a746696c7465727391a0");
	cr_assert_eq(serf_msg_decode_query(vec, n, &q), 0);
	const uint8_t *p = q.filters_body.ptr;
	cr_assert_eq(serf_msg_filter_next(&p, p + q.filters_body.len, &f),
		     SWIM_WIRE_E_EMPTY);
	/* Node filter that is not an array. */
	cr_assert_eq(serf_msg_node_filter_has((const uint8_t *)"\x07", 1,
					      "a", 1), SWIM_WIRE_E_TYPE);
}

Test(serf_msg, liberal_decoding)
{
	struct serf_msg_join j;
	struct serf_msg_query q;

	/* Keys in any order, unknown keys skipped, str8 and bin accepted,
	 * LTime as uint64. */
	size_t n = load("0183a445787472 92c0c3a44e6f6465d90163a54c54696d65"
			"cf0000000000000009");
	cr_assert_eq(serf_msg_decode_join(vec, n, &j), 0);
	cr_assert_eq(j.ltime, 9);
	cr_assert(str_is(j.node, "c"));
	n = load("0182a54c54696d6502a44e6f6465c40163");
	cr_assert_eq(serf_msg_decode_join(vec, n, &j), 0);
	cr_assert(str_is(j.node, "c"));
	/* nil anywhere reads as zero. */
	n = load("0182a54c54696d65c0a44e6f6465c0");
	cr_assert_eq(serf_msg_decode_join(vec, n, &j), 0);
	cr_assert_eq(j.ltime, 0);
	cr_assert_null(j.node.ptr);
	/* A negative Timeout is kept as such. */
	n = load("0481a754696d656f7574ff");
	cr_assert_eq(serf_msg_decode_query(vec, n, &q), 0);
	cr_assert_eq(q.timeout_ns, -1);
}

/* Every single-byte mutation of every vector decodes or fails cleanly. */
Test(serf_msg, mutation_sweep_never_crashes)
{
	const char *const all[] = {
		hex_join, hex_leave, hex_user_event, hex_ack, hex_push_pull,
		hex_query_whoami, hex_relay, hex_coord,
	};
	static const uint8_t vals[] = { 0x00, 0x7f, 0x80, 0x90, 0xa0, 0xc0,
					0xc1, 0xcf, 0xd9, 0xdb, 0xdc, 0xdd,
					0xde, 0xdf, 0xff };
	struct serf_msg_push_pull pp;
	struct serf_msg_query q;
	struct serf_msg_relay r;
	struct serf_msg_user_event u;
	struct serf_coord c;
	struct serf_tag tags[8];

	for (size_t v = 0; v < sizeof(all) / sizeof(all[0]); v++) {
		uint8_t orig[512];
		size_t n = load(all[v]);
		memcpy(orig, vec, n);
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < sizeof(vals); k++) {
				memcpy(vec, orig, n);
				vec[i] = vals[k];
				(void)serf_msg_decode_push_pull(vec, n, &pp);
				(void)serf_msg_decode_query(vec, n, &q);
				(void)serf_msg_decode_relay(vec, n, &r);
				(void)serf_msg_decode_user_event(vec, n, &u);
				(void)serf_coord_decode_payload(vec, n, &c);
				(void)serf_msg_decode_tags(vec, n, tags, 8);
			}
		}
	}
}
