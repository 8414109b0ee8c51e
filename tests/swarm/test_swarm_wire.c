/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm's messages, decoded by the project's memberlist and Serf
 * decoders (which mirror Go's): the push/pull it sends (node states by
 * member state, Vsn on every entry, Serf user state with LeftMembers and
 * StatusLTimes), the merge of a real node's push/pull (refute, learn the
 * real node), and a virtual member's answers to a ping and an indirect
 * ping (ack from the called member's address to SourceAddr/SourcePort).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "serf_msg.h"
#include "swarm_int.h"

static struct swarm *sw;

static void
setup(void)
{
	struct serf_tag tag = { "role", "web", 4, 3 };
	int n;

	sw = calloc(1, sizeof(*sw));
	swarm_cfg_default(&sw->cfg);
	cr_assert_eq(swarm_map_init(&sw->map, "swarm-", 0x7f400000u, 10, 16),
		     0);
	sw->cfg.members = 16;
	sw->m = calloc(16, sizeof(*sw->m));
	sw->pend = calloc(SWARM_PEND_SIZE, sizeof(*sw->pend));
	sw->bq = calloc(SWARM_BQ_SIZE, sizeof(*sw->bq));
	sw->tx = calloc(SWARM_BURST, sizeof(*sw->tx));
	n = serf_msg_encode_tags(&tag, 1, sw->meta, sizeof(sw->meta));
	cr_assert_gt(n, 0);
	sw->meta_len = (uint32_t)n;
	sw->ltime = 5;
	sw->rng = 1;
	for (uint32_t i = 0; i < 10; i++)
		swarm_member_join(&sw->m[i]);
	sw->n_joined = 10;
	sw->n_alive = 10;
	swarm_member_leave(&sw->m[3]);
	swarm_member_fail(&sw->m[4]);
	sw->m[4].flags |= SWARM_MF_DEAD;
}

static void
teardown(void)
{
	free(sw->m);
	free(sw->pend);
	free(sw->bq);
	free(sw->tx);
	free(sw);
}

struct seen {
	unsigned nb;
	enum swim_status state[32];
	char name[32][SWIM_NAME_MAX];
	bool vsn_ok;
};

static int
visit(void *ctx, const struct swim_push_node *n)
{
	struct seen *s = ctx;

	cr_assert_lt(s->nb, 32);
	s->state[s->nb] = n->state;
	memcpy(s->name[s->nb], n->name.ptr, n->name.len);
	s->vsn_ok &= n->vsn.len == SWIM_VSN_LEN &&
		     memcmp(n->vsn.ptr, swarm_vsn, SWIM_VSN_LEN) == 0;
	s->nb++;
	return 0;
}

TestSuite(swarm_wire, .init = setup, .fini = teardown);

Test(swarm_wire, push_pull_full_state)
{
	struct swim_str ad = { (const uint8_t *)"\x7f\x00\x00\x01", 4 };
	struct swim_str nm = { (const uint8_t *)"real-a", 6 };
	struct swim_str none = { NULL, 0 };
	struct swim_push_pull_header h;
	struct serf_msg_push_pull pp;
	struct seen s = { .vsn_ok = true };
	struct swim_str us, left;
	const uint8_t *pos;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(swarm_real_upsert(sw, &nm, &ad, 7946, 3,
				       SWIM_STATUS_ALIVE, &none, &none), 0);
	cr_assert_eq(swarm_pp_encode(sw, false, 0, 0, true, &buf, &len), 0);
	cr_assert_eq(swim_wire_decode_push_pull(buf, len, &h, visit, &s, &us),
		     (int)len);
	cr_assert_not(h.join);
	cr_assert_eq(h.nb_nodes, 11);
	cr_assert_eq(s.nb, 11);
	cr_assert(s.vsn_ok, "every entry carries a full Vsn");
	cr_assert_str_eq(s.name[0], "real-a");
	cr_assert_str_eq(s.name[1], "swarm-0");
	cr_assert_eq(s.state[1 + 3], SWIM_STATUS_LEFT);
	cr_assert_eq(s.state[1 + 4], SWIM_STATUS_DEAD);
	cr_assert_eq(s.state[1 + 9], SWIM_STATUS_ALIVE);
	cr_assert_eq(serf_msg_type(us.ptr, us.len), SERF_MSG_PUSH_PULL);
	cr_assert_eq(serf_msg_decode_push_pull(us.ptr, us.len, &pp), 0);
	cr_assert_eq(pp.ltime, 5);
	pos = pp.raw_left.ptr;
	cr_assert_eq(serf_msg_pp_left_next(&pos, pos + pp.raw_left.len,
					   &left), 1);
	cr_assert_eq(left.len, 7);
	cr_assert_eq(memcmp(left.ptr, "swarm-3", 7), 0);
	free(buf);
}

Test(swarm_wire, push_pull_join_batch)
{
	struct swim_push_pull_header h;
	struct seen s = { .vsn_ok = true };
	struct swim_str us;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(swarm_pp_encode(sw, true, 5, 3, false, &buf, &len), 0);
	cr_assert_eq(swim_wire_decode_push_pull(buf, len, &h, visit, &s, &us),
		     (int)len);
	cr_assert(h.join);
	cr_assert_eq(h.nb_nodes, 3);
	cr_assert_str_eq(s.name[0], "swarm-5");
	cr_assert_str_eq(s.name[2], "swarm-7");
	free(buf);
}

/* A real node's push/pull: it suspects swarm-2 and knows real-b. */
Test(swarm_wire, merge_refutes_and_learns)
{
	uint8_t buf[512], *p = buf;
	struct swim_push_pull_header h = { .join = false, .nb_nodes = 2 };
	struct swim_push_node n2 = {
		.name = { (const uint8_t *)"swarm-2", 7 },
		.addr = { (const uint8_t *)"\x7f\x40\x00\x03", 4 },
		.port = 7950, .incarnation = 1, .state = SWIM_STATUS_SUSPECT,
		.vsn = { swarm_vsn, SWIM_VSN_LEN } };
	struct swim_push_node rb = {
		.name = { (const uint8_t *)"real-b", 6 },
		.addr = { (const uint8_t *)"\x7f\x00\x00\x01", 4 },
		.port = 7947, .incarnation = 4, .state = SWIM_STATUS_ALIVE,
		.vsn = { swarm_vsn, SWIM_VSN_LEN } };
	bool join = true;
	int n;

	n = swim_wire_encode_push_pull_header(&h, p, sizeof(buf));
	cr_assert_gt(n, 0);
	p += n;
	n = swim_wire_encode_push_node(&n2, p, sizeof(buf) - (size_t)(p - buf));
	p += n;
	n = swim_wire_encode_push_node(&rb, p, sizeof(buf) - (size_t)(p - buf));
	p += n;
	cr_assert_eq(swarm_pp_merge(sw, buf, (size_t)(p - buf), &join), 0);
	cr_assert_not(join);
	cr_assert_eq(sw->m[2].incarnation, 2, "refuted above the claim");
	cr_assert_eq(sw->bq_head - sw->bq_tail, 1, "an alive is queued");
	cr_assert_eq(sw->bq[0].buf[0], SWIM_MSG_ALIVE);
	cr_assert_eq(sw->nb_real, 1);
	cr_assert_eq(sw->real[0].port, 7947);
	cr_assert_eq(sw->real[0].inc, 4);
	/* Truncated input is an error, never a crash. */
	cr_assert_lt(swarm_pp_merge(sw, buf, (size_t)(p - buf) - 3, NULL), 0);
}

Test(swarm_wire, ping_gets_ack_from_member)
{
	struct swim_msg ping = { .type = SWIM_MSG_PING }, ack;
	uint8_t buf[256];
	int n;

	ping.ping = (struct swim_ping){
		.seq_no = 77, .node = { (const uint8_t *)"swarm-6", 7 },
		.source_addr = { (const uint8_t *)"\x7f\x00\x00\x01", 4 },
		.source_node = { (const uint8_t *)"real-a", 6 },
		.source_port = 7946 };
	n = swim_wire_encode_msg(&ping, buf, sizeof(buf));
	swarm_on_packet(sw, 0x7f000001u, 40000, swarm_map_addr(&sw->map, 6),
			buf, (size_t)n);
	cr_assert_eq(sw->nb_tx, 1);
	cr_assert_eq(sw->tx[0].src_ip, 0x7f400007u);
	cr_assert_eq(sw->tx[0].dst_ip, 0x7f000001u);
	cr_assert_eq(sw->tx[0].dst_port, 7946, "SourcePort, not the UDP one");
	cr_assert_eq(swim_wire_decode_msg(sw->tx[0].buf, sw->tx[0].len, &ack),
		     0);
	cr_assert_eq(ack.type, SWIM_MSG_ACK);
	cr_assert_eq(ack.ack.seq_no, 77);
	/* Wrong name at this address, a failed and a left member: silence. */
	swarm_on_packet(sw, 0x7f000001u, 40000, swarm_map_addr(&sw->map, 5),
			buf, (size_t)n);
	ping.ping.node = (struct swim_str){ (const uint8_t *)"swarm-4", 7 };
	n = swim_wire_encode_msg(&ping, buf, sizeof(buf));
	swarm_on_packet(sw, 0x7f000001u, 40000, swarm_map_addr(&sw->map, 4),
			buf, (size_t)n);
	cr_assert_eq(sw->nb_tx, 1);
	cr_assert_eq(sw->st.pings_in, 3);
}

Test(swarm_wire, indirect_ping_virtual_targets)
{
	struct swim_msg req = { .type = SWIM_MSG_INDIRECT_PING }, out;
	uint8_t buf[256];
	int n;

	req.indirect_ping = (struct swim_indirect_ping){
		.seq_no = 9, .target = { (const uint8_t *)"\x7f\x40\x00\x02", 4 },
		.port = 7950, .node = { (const uint8_t *)"swarm-1", 7 },
		.nack = true };
	n = swim_wire_encode_msg(&req, buf, sizeof(buf));
	/* Healthy target: the intermediary acks for it at once. */
	swarm_on_packet(sw, 0x7f000001u, 7946, swarm_map_addr(&sw->map, 0),
			buf, (size_t)n);
	cr_assert_eq(sw->nb_tx, 1);
	cr_assert_eq(swim_wire_decode_msg(sw->tx[0].buf, sw->tx[0].len, &out),
		     0);
	cr_assert_eq(out.type, SWIM_MSG_ACK);
	cr_assert_eq(out.ack.seq_no, 9);
	/* Failed target (swarm-4): a nack after ProbeTimeout, not before. */
	req.indirect_ping.target = (struct swim_str){
		(const uint8_t *)"\x7f\x40\x00\x05", 4 };
	n = swim_wire_encode_msg(&req, buf, sizeof(buf));
	swarm_on_packet(sw, 0x7f000001u, 7946, swarm_map_addr(&sw->map, 0),
			buf, (size_t)n);
	cr_assert_eq(sw->nb_tx, 1);
	sw->now += sw->cfg.timing.probe_timeout_ms * 1000ull;
	swarm_probe_tick(sw);
	cr_assert_eq(sw->nb_tx, 2);
	cr_assert_eq(swim_wire_decode_msg(sw->tx[1].buf, sw->tx[1].len, &out),
		     0);
	cr_assert_eq(out.type, SWIM_MSG_NACK);
	cr_assert_eq(out.nack.seq_no, 9);
}
