/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for delta sync (swim_dsync.h): the input is what a
 * peer says in one exchange. Its first byte picks our role (bit 0:
 * initiator) and how big our table is (bits 1-2: 20, 300, 3000 or
 * 10,000 members, so every leaf-bit size answers); the rest is cut into
 * messages by swim_dsync_msg_len and fed to swim_dsync_step one by one
 * (MEMBERS and WANT too: byte 0 bit 3 set makes the initiator offer no
 * member round).
 * Byte 0 bit 4 instead feeds the rest as UDP datagrams (the HELLO over
 * UDP, swim_dsync_udp.h) to a core that has just sent its own HELLO to
 * a capable peer: each datagram is a length byte (bit 7: put the
 * pending HELLO's nonce into a bare answer) and that many bytes, through
 * swim_on_packet, with time moving past the answer's deadline. Each
 * delta-sync datagram must land in exactly one counter, and every answer
 * we send must decode.
 * Every decoder also sees the raw bytes. Findings: crashes, sanitizer
 * reports, and __builtin_trap() when a step returns something else than
 * a status or an error code, writes past its buffer or a message its own
 * decoders refuse, goes on after an error, or when the restricted
 * push/pull of a leaf set does not hold the number of nodes it announced.
 *
 *   scripts/fuzz.sh dsync
 */
#include "swim.h"
#include "swim_dsync.h"
#include "swim_dsync_udp.h"
#include "swim_wire.h"

#include <string.h>

#include "fuzz_check.h"

#define DS_CHECK(c) FUZZ_CHECK(c)
#include "../unit/dsync_util.h"

static uint8_t out[SWIM_DSYNC_MSG_MAX];

static struct swim *
fuzz_table(unsigned which)
{
	static const uint32_t sizes[4] = { 20, 300, 3000, 10000 };
	static struct swim *cores[4];

	if (cores[which] == NULL) {
		cores[which] = ds_core("fuzz", 1, 3);
		ds_fill(cores[which], 1, "m", 0, sizes[which]);
	}
	return cores[which];
}

/* What we sent must be a whole message our own decoders take. */
static void
fuzz_check_sent(const uint8_t *m, size_t len)
{
	static struct swim_dsync_groups gr;
	struct swim_dsync_hello h;
	struct swim_dsync_insync is;
	struct swim_dsync_leaves lv;
	struct swim_dsync_diff df;
	struct swim_dsync_members mb;
	struct swim_dsync_want w;
	int rc = -1;

	FUZZ_CHECK(len <= sizeof(out) && swim_dsync_msg_len(m, len) ==
		   (long)len);
	switch (m[0]) {
	case SWIM_DSYNC_MSG_HELLO:
		rc = swim_dsync_decode_hello(m, len, &h);
		break;
	case SWIM_DSYNC_MSG_INSYNC:
		rc = swim_dsync_decode_insync(m, len, &is);
		break;
	case SWIM_DSYNC_MSG_GROUPS:
		rc = swim_dsync_decode_groups(m, len, &gr);
		break;
	case SWIM_DSYNC_MSG_LEAVES:
		rc = swim_dsync_decode_leaves(m, len, &lv);
		break;
	case SWIM_DSYNC_MSG_DIFF:
		rc = swim_dsync_decode_diff(m, len, &df);
		break;
	case SWIM_DSYNC_MSG_MEMBERS:
		rc = swim_dsync_decode_members(m, len, &mb);
		break;
	case SWIM_DSYNC_MSG_WANT:
		rc = swim_dsync_decode_want(m, len, &w);
		break;
	}
	FUZZ_CHECK(rc == (int)len);
}

/* The restricted push/pull holds the nodes it announces. */
static void
fuzz_check_transfer(struct swim *s, const struct swim_dsync *x)
{
	static uint8_t win[4096];
	struct swim_pp_enc e;
	int n;

	swim_pp_enc_start_dsync(s, &e, false, 0, x);
	FUZZ_CHECK(e.nb_nodes == swim_dsync_members_in(s, x));
	while ((n = swim_pp_enc_next(s, &e, win, sizeof(win), 64)) > 0)
		FUZZ_CHECK((size_t)n <= sizeof(win));
	FUZZ_CHECK(n == 0 && e.next == e.nb_nodes);
}

static void
fuzz_decoders(const uint8_t *data, size_t size)
{
	static struct swim_dsync_groups gr;
	struct swim_dsync_hello h;
	struct swim_dsync_leaves lv;
	struct swim_dsync_diff df;
	struct swim_dsync_members mb;
	struct swim_dsync_want w;
	uint64_t d;
	uint8_t why;

	(void)swim_dsync_decode_hello(data, size, &h);
	(void)swim_dsync_decode_groups(data, size, &gr);
	if (swim_dsync_decode_leaves(data, size, &lv) > 0) {
		for (uint16_t i = 0; i < lv.nb_groups; i++)
			(void)swim_dsync_leaves_digest(&lv, i, 0);
	}
	if (swim_dsync_decode_diff(data, size, &df) > 0)
		(void)swim_dsync_diff_leaf(&df, df.nb_leaves - 1);
	(void)swim_dsync_decode_abort(data, size, &why);
	if (swim_dsync_decode_members(data, size, &mb) > 0) {
		(void)swim_dsync_members_leaf(&mb, mb.nb_leaves - 1);
		(void)swim_dsync_members_pair(&mb, mb.nb_pairs - 1, &d);
	}
	if (swim_dsync_decode_want(data, size, &w) > 0)
		(void)swim_dsync_want_hash(&w, w.nb - 1);
}

/* --- the HELLO over UDP --- */

/* A UDP-capable core of 300 members that knows one capable peer. */
static struct swim *
fuzz_udp_core(void)
{
	static struct swim *s;
	static const uint8_t v7[7] = { 1, 5, 2, 2, 5, 5, 0x05 };
	static const uint8_t ip[4] = { 10, 0, 0, 2 };
	struct swim_cfg cfg;
	const char *err = NULL;
	struct swim_msg m = { .type = SWIM_MSG_ALIVE };

	if (s != NULL)
		return s;
	swim_cfg_default_lan(&cfg);
	strcpy(cfg.name, "fuzz");
	cfg.addr = (struct swim_addr){ .ip = { 10, 0, 0, 1 }, .ip_len = 4,
				       .port = 7946 };
	memcpy(cfg.vsn, ds_vsn, SWIM_VSN_LEN);
	cfg.vsn_caps = SWIM_DSYNC_CAP_V1 | SWIM_DSYNC_CAP_UDP;
	cfg.probe_interval_us = 3600ull * 1000000;
	cfg.push_pull_interval_us = 0;
	cfg.seed = 5;
	s = swim_new(&cfg, &err);
	FUZZ_CHECK(s != NULL);
	m.alive.incarnation = 1;
	m.alive.node = (struct swim_str){ (const uint8_t *)"peer", 4 };
	m.alive.addr = (struct swim_str){ ip, 4 };
	m.alive.port = 7946;
	m.alive.vsn = (struct swim_str){ v7, 7 };
	ds_send(s, 1, &m);
	ds_fill(s, 1, "m", 0, 300);
	return s;
}

static uint64_t
fuzz_udp_total(const struct swim *s)
{
	struct swim_dsync_udp_stats st;
	uint64_t n;

	swim_dsync_udp_get_stats(s, &st);
	n = st.hellos_in + st.disabled + st.stale + st.insync_in +
	    st.differ_in;
	for (unsigned i = 0; i < 10; i++)
		n += st.drops[i];
	return n;
}

/* Our outputs: every delta-sync datagram decodes; the HELLO's nonce. */
static uint32_t
fuzz_udp_outputs(struct swim *s)
{
	struct swim_output o;
	struct swim_dsync_uhello h;
	struct swim_dsync_uanswer a;
	uint32_t nonce = 0;

	while (swim_pop_output(s, &o)) {
		if (o.kind != SWIM_OUT_PACKET || o.len < 6)
			continue;
		size_t k = o.data[0] == 12 ? 5 : 0;	/* CRC wrapper */
		if (o.data[k] == SWIM_DSYNC_UDP_HELLO) {
			FUZZ_CHECK(swim_dsync_decode_uhello(o.data + k,
							    o.len - k, &h) > 0);
			nonce = h.nonce;
		} else if (o.data[k] == SWIM_DSYNC_UDP_ANSWER) {
			FUZZ_CHECK(swim_dsync_decode_uanswer(o.data + k,
							     o.len - k, &a) > 0);
		}
	}
	return nonce;
}

static void
fuzz_udp(const uint8_t *data, size_t size)
{
	static uint64_t now = 2000000;
	static uint8_t dg[256];
	struct swim *s = fuzz_udp_core();
	struct swim_addr from = { .ip = { 10, 0, 0, 2 }, .ip_len = 4,
				  .port = 7946 };
	struct swim_dsync_uhello h;
	struct swim_dsync_uanswer a;
	uint32_t nonce;
	size_t off = 0;

	(void)swim_dsync_decode_uhello(data, size, &h);
	(void)swim_dsync_decode_uanswer(data, size, &a);
	(void)swim_dsync_udp_hello(s, now, "peer", 4);	/* may be -EBUSY */
	nonce = fuzz_udp_outputs(s);
	while (off < size) {
		size_t n = data[off] & 0x7f;
		bool patch = (data[off] & 0x80) != 0;
		uint64_t before = fuzz_udp_total(s);

		off++;
		n = n < size - off ? n : size - off;
		memcpy(dg, data + off, n);
		off += n;
		if (patch && n >= 9 && dg[0] == SWIM_DSYNC_UDP_ANSWER)
			for (int i = 0; i < 4; i++)
				dg[5 + i] = (uint8_t)(nonce >> (24 - 8 * i));
		now += 100000;
		swim_on_packet(s, now, &from, dg, n, 0);
		uint64_t d = fuzz_udp_total(s) - before;
		FUZZ_CHECK(d <= 1);
		if (n > 0 && (dg[0] == SWIM_DSYNC_UDP_HELLO ||
			      dg[0] == SWIM_DSYNC_UDP_ANSWER))
			FUZZ_CHECK(d == 1);
		else if (n == 0 || dg[0] != 12)
			FUZZ_CHECK(d == 0);
		swim_tick(s, now);
		fuzz_udp_outputs(s);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct swim_dsync x;
	size_t len = 0, off = 1;
	int rc = SWIM_DSYNC_WAIT;

	if (size == 0)
		return 0;
	if (data[0] & 0x10) {
		fuzz_udp(data + 1, size - 1);
		return 0;
	}
	fuzz_decoders(data + 1, size - 1);
	struct swim *s = fuzz_table((data[0] >> 1) & 3);
	swim_dsync_start(&x, data[0] & 1 ? SWIM_DSYNC_INITIATOR :
			 SWIM_DSYNC_RESPONDER);
	x.leaf_only = (data[0] & 8) != 0;
	if (data[0] & 1) {
		rc = swim_dsync_step(s, &x, NULL, 0, out, sizeof(out), &len);
		FUZZ_CHECK(rc == SWIM_DSYNC_WAIT);
		fuzz_check_sent(out, len);
	}
	while (rc == SWIM_DSYNC_WAIT && off < size) {
		long n = swim_dsync_msg_len(data + off, size - off);
		size_t take = n > 0 && (size_t)n <= size - off ? (size_t)n :
			      size - off;
		rc = swim_dsync_step(s, &x, data + off, take, out, sizeof(out),
				     &len);
		off += take;
		FUZZ_CHECK((rc >= SWIM_DSYNC_WAIT && rc <= SWIM_DSYNC_TRANSFER)
			   || (rc <= SWIM_DSYNC_E_TRUNCATED &&
			       rc >= SWIM_DSYNC_E_ABORTED));
		FUZZ_CHECK(rc > 0 || len == 0);
		if (len > 0)
			fuzz_check_sent(out, len);
	}
	if (rc == SWIM_DSYNC_TRANSFER)
		fuzz_check_transfer(s, &x);
	if (rc != SWIM_DSYNC_WAIT)	/* over: nothing more is taken */
		FUZZ_CHECK(swim_dsync_step(s, &x, data, size, out, sizeof(out),
					   &len) == SWIM_DSYNC_E_STATE);
	return 0;
}
