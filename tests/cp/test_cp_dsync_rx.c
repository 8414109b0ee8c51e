/* SPDX-License-Identifier: MIT */
/*
 * Delta sync's turn into the transfer (control/cp_sync_delta_io.c): the
 * initiator sends its last WANT and goes straight on to its push/pull,
 * so the responder may read the WANT's last bytes and the push/pull's
 * first ones in one read(2). Those bytes must be kept, on a plain
 * stream, with a sealed frame per message and with sealed chunks.
 *
 * A raw initiator (a bare core stepped by hand over a client socket)
 * writes the WANT and its push/pull in one write, byte by byte, and
 * split at every byte; the responder engine must merge exactly the
 * members that differ and answer with its own. Then two real engines on
 * separate epoll sets, the initiator pumped ahead of the responder (as
 * a busy responder process would be), do the same exchange. Last, what
 * the responder refuses: a sealed frame with more than one message, a
 * frame or message longer than any (at once, not at the deadline).
 */
#include <criterion/criterion.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_sync_delta.h"
#include "cp_sync_int.h"
#include "pp_peer.h"
#include "swim_crypto.h"
#include "swim_dsync.h"
#include "swim_sealed_stream.h"
#include "swim_wire.h"

/* How the initiator wraps what it sends (and reads what comes back). */
enum wrap {
	WRAP_PLAIN,	/* no keyring */
	WRAP_FRAME,	/* each message and the push/pull one 0x0a frame */
	WRAP_CHUNKS,	/* messages in frames, the push/pull in chunks */
};

/* The raw initiator's plaintext chunks: small, so cuts fall in many
 * chunk headers. */
#define RX_CHUNK 96u

static int epfd = -1, epfd2 = -1;
static int r_epfd = -1;			/* R's epoll set */
static struct pp_peer I, R;		/* initiator's core, responder */
static struct swim_keyring *ring;
static struct swim_dsync *x;		/* the raw initiator's exchange */
static uint8_t *wire, *pp, *in;		/* BUF_CAP each */
static size_t in_len;			/* bytes of `in` read, not used */
static int round_no;			/* differing members' prefixes */
static size_t last_len;			/* WANT + push/pull on the wire */

#define BUF_CAP (4u << 20)

static void
setup(void)
{
	uint8_t key[32];

	cr_assert_geq(sodium_init(), 0);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	epfd2 = epoll_create1(EPOLL_CLOEXEC);
	cr_assert(epfd >= 0 && epfd2 >= 0);
	ring = swim_keyring_new(NULL);
	cr_assert_not_null(ring);
	memset(key, 9, sizeof(key));
	cr_assert_eq(swim_keyring_add(ring, key, sizeof(key)), 0);
	x = calloc(1, sizeof(*x));
	wire = malloc(BUF_CAP);
	pp = malloc(BUF_CAP);
	in = malloc(BUF_CAP);
	cr_assert(x != NULL && wire != NULL && pp != NULL && in != NULL);
	round_no = 0;
	last_len = 0;
}

static void
teardown(void)
{
	free(x);
	free(wire);
	free(pp);
	free(in);
	swim_keyring_delete(ring);
	close(epfd);
	close(epfd2);
}

TestSuite(cp_dsync_rx, .init = setup, .fini = teardown, .timeout = 60);

/* Merge `who` into p's table as alive with Vsn[6] = caps. */
static void
know(struct pp_peer *p, const struct pp_peer *who, uint8_t caps)
{
	const uint8_t vsn[7] = {1, 5, 2, 2, 5, 4, caps};
	uint8_t ip[4] = {127, 0, 0, 1}, buf[512];
	struct swim_push_pull_header h = {false, 1, 0};
	struct swim_push_node n = {
		.name = {(const uint8_t *)who->name,
			 (uint32_t)strlen(who->name)},
		.addr = {ip, 4}, .port = cp_sync_port(who->sync),
		.incarnation = 1, .state = SWIM_STATUS_ALIVE,
		.vsn = {vsn, 7},
	};
	struct swim_pp_dec d;
	int hl = swim_wire_encode_push_pull_header(&h, buf, sizeof(buf));
	int nl = swim_wire_encode_push_node(&n, buf + hl, sizeof(buf) - hl);

	cr_assert(hl > 0 && nl > 0);
	swim_pp_dec_start(p->swim, &d);
	cr_assert_eq(swim_pp_dec_next(p->swim, cp_now_us(), &d, buf,
				      (size_t)(hl + nl), 16), hl + nl);
}

/* I and R know each other and hold 300 common members; both answer
 * delta exchanges. */
static void
peers(enum wrap w, int ep_i, int ep_r)
{
	struct cp_sync_delta_cfg c;

	r_epfd = ep_r;
	pp_peer_init_caps(&I, ep_i, "ini", true, 0,
			  SWIM_DSYNC_CAP_V1 | SWIM_CAP_SEALED_STREAM);
	pp_peer_init_caps(&R, ep_r, "rsp", true, 0,
			  SWIM_DSYNC_CAP_V1 | SWIM_CAP_SEALED_STREAM);
	if (w != WRAP_PLAIN) {
		cp_sync_set_keyring(I.sync, ring);
		cp_sync_set_keyring(R.sync, ring);
	}
	/* they know each other: I sends R chunks if it speaks them */
	know(&I, &R, SWIM_DSYNC_CAP_V1 |
			     (w == WRAP_CHUNKS ? SWIM_CAP_SEALED_STREAM : 0));
	know(&R, &I, SWIM_DSYNC_CAP_V1);
	pp_peer_fill(&I, "m", 300);
	pp_peer_fill(&R, "m", 300);
	cp_sync_delta_cfg_default(&c);
	c.interval_us = 0;
	c.swim = R.swim;
	cr_assert_eq(cp_sync_delta_enable(R.sync, &c), 0);
	c.swim = I.swim;
	cr_assert_eq(cp_sync_delta_enable(I.sync, &c), 0);
}

static void
peers_fini(void)
{
	pp_peer_fini(&I);
	pp_peer_fini(&R);
}

static void
pump_r(int ms)
{
	struct pp_peer *ps[] = {&R};

	pp_peer_pump(r_epfd, ps, 1, ms, NULL);
}

/* A non-blocking client to R's engine. */
static int
client(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(cp_sync_port(R.sync))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(fd, 0);
	/* every write a segment at once: Nagle would hold a split's
	 * second part for R's delayed ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	return fd;
}

/* Send all of buf, pumping R while the socket is full. */
static void
send_all(int fd, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	for (int i = 0; off < len && i < 100000; i++) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		else
			pump_r(1);
	}
	cr_assert_eq(off, len);
}

/* A delta message, sealed as one frame unless plain. @retval bytes. */
static size_t
wrap_msg(enum wrap w, const uint8_t *m, size_t len, uint8_t *out)
{
	int n;

	if (w == WRAP_PLAIN) {
		memcpy(out, m, len);
		return len;
	}
	n = swim_crypto_seal_stream(ring, m, len, out, BUF_CAP);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

/* Our push/pull as chunks of RX_CHUNK bytes, the last one FINAL. */
static size_t
wrap_chunks(const uint8_t *plain, size_t len, uint8_t *out)
{
	struct swim_sstream st;
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	size_t off = 0, w = 0;

	swim_sstream_init(&st, false);
	while (!st.is_final) {
		size_t n = len - off < RX_CHUNK ? len - off : RX_CHUNK;
		int k;

		randombytes_buf(nonce, sizeof(nonce));
		k = swim_sstream_seal(&st, ring, nonce, plain + off, n,
				      off + n == len, out + w, BUF_CAP - w);
		cr_assert_gt(k, 0);
		off += n;
		w += (size_t)k;
	}
	return w;
}

/* Read more of R's bytes into `in` (pumping R). @retval false: closed */
static bool
read_more(int fd)
{
	for (int i = 0; i < 2000; i++) {
		ssize_t n = recv(fd, in + in_len, BUF_CAP - in_len, 0);

		if (n > 0) {
			in_len += (size_t)n;
			return true;
		}
		if (n == 0)
			return false;
		pump_r(1);
	}
	cr_assert_fail("R sent nothing for 2 s");
	return false;
}

/* R's next delta message into m (opened when sealed). @retval length */
static size_t
recv_msg(int fd, enum wrap w, uint8_t *m)
{
	for (;;) {
		long n = w == WRAP_PLAIN ?
				 swim_dsync_msg_len(in, in_len) :
				 swim_crypto_stream_frame_len(in, in_len);
		int k;

		if (w != WRAP_PLAIN && n == SWIM_CRYPTO_E_AGAIN)
			n = 0;
		cr_assert_geq(n, 0, "a bad frame from R: %ld", n);
		if (n == 0 || (size_t)n > in_len) {
			cr_assert(read_more(fd), "R closed mid-exchange");
			continue;
		}
		k = w == WRAP_PLAIN ? (int)n :
				      swim_crypto_open_stream(ring, in, (size_t)n,
							      m, BUF_CAP, NULL);
		cr_assert_gt(k, 0);
		if (w == WRAP_PLAIN)
			memcpy(m, in, (size_t)n);
		in_len -= (size_t)n;
		memmove(in, in + n, in_len);
		return (size_t)k;
	}
}

static uint8_t msg_buf[SWIM_DSYNC_MSG_MAX];	/* R's message, opened */
static uint8_t out_buf[SWIM_DSYNC_MSG_MAX];	/* the initiator's next */

/* Step the raw initiator from HELLO to TRANSFER. @retval the length of
 * its last WANT (in out_buf). */
static size_t
run_to_want(int fd, enum wrap w)
{
	size_t n = 0, len;
	int rc;

	swim_dsync_start(x, SWIM_DSYNC_INITIATOR);
	rc = swim_dsync_step(I.swim, x, NULL, 0, out_buf, sizeof(out_buf),
			     &n);
	for (int turns = 0; rc == SWIM_DSYNC_WAIT && turns < 64; turns++) {
		send_all(fd, wire, wrap_msg(w, out_buf, n, wire));
		len = recv_msg(fd, w, msg_buf);
		rc = swim_dsync_step(I.swim, x, msg_buf, len, out_buf,
				     sizeof(out_buf), &n);
	}
	cr_assert_eq(rc, SWIM_DSYNC_TRANSFER, "%d", rc);
	cr_assert_gt(n, 0, "the last WANT goes with TRANSFER");
	cr_assert_eq(out_buf[0], 0xd7, "a WANT");
	return n;
}

/* The initiator's push/pull of the differing members, wrapped, into
 * out. @retval bytes. */
static size_t
wrap_pp(enum wrap w, uint8_t *out)
{
	struct swim_pp_enc e;
	size_t len = 0;
	int k, n;

	swim_pp_enc_start_dsync(I.swim, &e, false, 0, x);
	while ((k = swim_pp_enc_next(I.swim, &e, pp + len, BUF_CAP - len,
				     4096)) > 0)
		len += (size_t)k;
	cr_assert_eq(k, 0);
	if (w == WRAP_CHUNKS)
		return wrap_chunks(pp, len, out);
	if (w == WRAP_PLAIN) {
		memcpy(out, pp, len);
		return len;
	}
	n = swim_crypto_seal_stream(ring, pp, len, out, BUF_CAP);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

/* How wire goes out: CUT_ONE in one write, CUT_BYTES a byte a write,
 * else two writes split at that offset; R reads between writes. */
#define CUT_ONE 0u
#define CUT_BYTES ((size_t)-1)

static void
send_plan(int fd, size_t len, size_t cut)
{
	if (cut == CUT_ONE || cut >= len) {
		send_all(fd, wire, len);
		return;
	}
	if (cut == CUT_BYTES) {
		for (size_t i = 0; i < len; i++) {
			send_all(fd, wire + i, 1);
			pump_r(1);
		}
		return;
	}
	send_all(fd, wire, cut);
	pump_r(2);
	send_all(fd, wire + cut, len - cut);
}

/* R's push/pull (all of `in`, R closed after it) into pp, opened.
 * @retval plaintext bytes. */
static size_t
unwrap_reply(enum wrap w)
{
	struct swim_sstream st;
	size_t off = 0, len = 0;
	int k;

	if (w == WRAP_PLAIN) {
		memcpy(pp, in, in_len);
		return in_len;
	}
	if (w == WRAP_FRAME) {
		k = swim_crypto_open_stream(ring, in, in_len, pp, BUF_CAP,
					    NULL);
		cr_assert_gt(k, 0, "one frame: %d", k);
		return (size_t)k;
	}
	swim_sstream_init(&st, true);
	while (!st.is_final) {
		size_t used = 0;
		bool fin = false;

		k = swim_sstream_open(&st, ring, in + off, in_len - off,
				      pp + len, BUF_CAP - len, &used, &fin);
		cr_assert_geq(k, 0, "R's chunk: %d", k);
		off += used;
		len += (size_t)k;
	}
	cr_assert_eq(off, in_len, "nothing after the final chunk");
	return len;
}

/* Merge R's push/pull into I: every node, nothing left over. */
static void
merge_reply(enum wrap w)
{
	size_t len = unwrap_reply(w), off = 0;
	struct swim_pp_dec d;
	int k;

	swim_pp_dec_start(I.swim, &d);
	while (off < len && d.phase != SWIM_PP_DEC_USER) {
		k = swim_pp_dec_next(I.swim, cp_now_us(), &d, pp + off,
				     len - off, 4096);
		cr_assert_gt(k, 0, "R's push/pull decodes: %d", k);
		off += (size_t)k;
	}
	cr_assert_eq(d.phase, SWIM_PP_DEC_USER);
	cr_assert_eq(d.nodes_done, d.hdr.nb_nodes);
	cr_assert_eq(off, len);
}

/* One exchange: I holds 3 members R lacks, R 2 that I lacks; the WANT
 * and I's push/pull go out as `cut` says; both end equal. */
static void
one_round(enum wrap w, size_t cut)
{
	uint32_t r0, i0;
	struct cp_sync_stats st0, st;
	char pa[16], pb[16];
	size_t len;
	int fd;

	/* fixed width: every round's wire is as long as the first's */
	snprintf(pa, sizeof(pa), "a%04d", round_no);
	snprintf(pb, sizeof(pb), "b%04d", round_no++);
	pp_peer_fill(&I, pa, 3);
	pp_peer_fill(&R, pb, 2);
	r0 = swim_member_count(R.swim);
	i0 = swim_member_count(I.swim);
	cp_sync_get_stats(R.sync, &st0);
	fd = client();
	in_len = 0;
	len = wrap_msg(w, out_buf, run_to_want(fd, w), wire);
	len += wrap_pp(w, wire + len);
	cr_assert(last_len == 0 || len == last_len, "%zu %zu", len, last_len);
	last_len = len;
	send_plan(fd, len, cut);
	while (read_more(fd))
		;
	close(fd);
	merge_reply(w);
	pump_r(1);
	cp_sync_get_stats(R.sync, &st);
	cr_assert_eq(st.x_delta, st0.x_delta + 1, "cut %zu of %zu", cut, len);
	cr_assert_eq(st.x_delta_failed + st.bad_input,
		     st0.x_delta_failed + st0.bad_input);
	cr_assert_eq(swim_member_count(R.swim), r0 + 3, "cut %zu", cut);
	cr_assert_eq(swim_member_count(I.swim), i0 + 2);
	cr_assert_eq(swim_dsync_root(I.swim), swim_dsync_root(R.swim));
	cr_assert_eq(cp_sync_nb_streams(R.sync), 0);
}

/* Every plan: one write, a byte a write, then every split point (the
 * wire is the same length each round: same name lengths, same counts).
 */
static void
all_cuts(enum wrap w)
{
	size_t len;

	peers(w, epfd, epfd);
	one_round(w, CUT_ONE);
	one_round(w, CUT_BYTES);
	len = last_len;
	for (size_t cut = 1; cut < len; cut++)
		one_round(w, cut);
	peers_fini();
}

Test(cp_dsync_rx, plain_want_and_push_pull_at_every_split)
{
	all_cuts(WRAP_PLAIN);
}

Test(cp_dsync_rx, sealed_frames_at_every_split)
{
	all_cuts(WRAP_FRAME);
}

Test(cp_dsync_rx, sealed_chunks_at_every_split)
{
	all_cuts(WRAP_CHUNKS);
}

/* Run p's reactor until nothing is ready, then drain its core. */
static void
run_idle(int ep, struct pp_peer *p)
{
	struct pp_peer *ps[] = {p};

	for (int i = 0; i < 10000 && cp_io_poll(ep, 0) > 0; i++)
		;
	pp_peer_pump(ep, ps, 1, 1, NULL);
}

/*
 * Two engines on their own epoll sets, each run until it has nothing
 * left to do, in turns: the initiator writes its last WANT and its
 * push/pull (as much as the socket takes) before the responder reads
 * either, as when the responder's process is slow to wake. I holds na
 * members R lacks, R nb.
 */
static void
real_pair(enum wrap w, uint32_t na, uint32_t nb)
{
	struct pp_peer *pr[] = {&R};
	struct cp_sync_stats si, sr;
	uint32_t n0;
	struct swim_addr to;

	peers(w, epfd, epfd2);
	pp_peer_fill(&I, "da", na);
	pp_peer_fill(&R, "db", nb);
	n0 = swim_member_count(I.swim);
	pp_peer_addr(&R, &to);
	cr_assert(cp_sync_delta_push_pull(I.sync, cp_now_us(), &to, R.name));
	for (int i = 0; i < 3000 && I.nb_done == 0; i++) {
		run_idle(epfd, &I);
		run_idle(epfd2, &R);
	}
	pp_peer_pump(epfd2, pr, 1, 20, NULL);
	cr_assert_eq(I.nb_done, 1);
	cr_assert_eq(I.last_err, 0);
	cp_sync_get_stats(I.sync, &si);
	cp_sync_get_stats(R.sync, &sr);
	cr_assert_eq(si.x_delta, 1);
	cr_assert_eq(sr.x_delta, 1);
	cr_assert_eq(si.bad_input + sr.bad_input + sr.x_delta_failed, 0);
	cr_assert_eq(sr.sealed_in, w == WRAP_CHUNKS ? 1u : 0u);
	cr_assert_eq(swim_member_count(I.swim), n0 + nb);
	cr_assert_eq(swim_member_count(R.swim), n0 + nb);
	cr_assert_eq(swim_dsync_root(I.swim), swim_dsync_root(R.swim));
	peers_fini();
}

Test(cp_dsync_rx, a_responder_behind_its_initiator_plain)
{
	real_pair(WRAP_PLAIN, 40, 25);
	real_pair(WRAP_PLAIN, 2000, 300);
}

Test(cp_dsync_rx, a_responder_behind_its_initiator_sealed_frame)
{
	real_pair(WRAP_FRAME, 40, 25);
	real_pair(WRAP_FRAME, 2000, 300);
}

Test(cp_dsync_rx, a_responder_behind_its_initiator_sealed_chunks)
{
	real_pair(WRAP_CHUNKS, 40, 25);
	real_pair(WRAP_CHUNKS, 2000, 300);
}

/* --- what the responder refuses now that it reads past a message --- */

static size_t groups_len;	/* R's GROUPS, in msg_buf */

/* A raw initiator whose table differs from R's: HELLO sent, R's GROUPS
 * read. @retval the client fd. */
static int
hello_groups(enum wrap w)
{
	size_t n = 0;
	int fd;

	peers(w, epfd, epfd);
	pp_peer_fill(&I, "x", 3);
	fd = client();
	in_len = 0;
	swim_dsync_start(x, SWIM_DSYNC_INITIATOR);
	cr_assert_eq(swim_dsync_step(I.swim, x, NULL, 0, out_buf,
				     sizeof(out_buf), &n), SWIM_DSYNC_WAIT);
	send_all(fd, wire, wrap_msg(w, out_buf, n, wire));
	groups_len = recv_msg(fd, w, msg_buf);
	cr_assert_eq(msg_buf[0], 0xd2, "GROUPS");
	return fd;
}

/* R closes the stream (well before its 5 s budget) and counts it a
 * failed exchange; bad_input as given. */
static void
expect_refused(int fd, uint64_t bad_input)
{
	struct cp_sync_stats st;

	while (read_more(fd))
		;
	close(fd);
	pump_r(2);
	cp_sync_get_stats(R.sync, &st);
	cr_assert_eq(st.x_delta_failed, 1);
	cr_assert_eq(st.x_delta + st.x_insync, 0);
	cr_assert_eq(st.bad_input, bad_input);
	cr_assert_eq(cp_sync_nb_streams(R.sync), 0);
	peers_fini();
}

/* A sealed frame holds one message and nothing else: a byte after the
 * HELLO (opened by the engine's reader) or after the LEAVES (opened
 * here) makes the peer a stranger. */
Test(cp_dsync_rx, a_sealed_frame_holds_exactly_one_message)
{
	size_t n = 0;
	int fd;

	peers(WRAP_FRAME, epfd, epfd);
	fd = client();
	swim_dsync_start(x, SWIM_DSYNC_INITIATOR);
	swim_dsync_step(I.swim, x, NULL, 0, out_buf, sizeof(out_buf), &n);
	out_buf[n] = 0;
	send_all(fd, wire, wrap_msg(WRAP_FRAME, out_buf, n + 1, wire));
	expect_refused(fd, 1);

	fd = hello_groups(WRAP_FRAME);
	cr_assert_eq(swim_dsync_step(I.swim, x, msg_buf, groups_len, out_buf,
				     sizeof(out_buf), &n), SWIM_DSYNC_WAIT);
	cr_assert_eq(out_buf[0], 0xd3, "LEAVES");
	out_buf[n] = 0;
	send_all(fd, wire, wrap_msg(WRAP_FRAME, out_buf, n + 1, wire));
	expect_refused(fd, 1);
}

/* A frame or a message longer than any delta message fails as soon as
 * its header is in, not at the budget's deadline. */
Test(cp_dsync_rx, a_frame_or_message_longer_than_any_fails_at_once)
{
	uint32_t body = SWIM_DSYNC_MSG_MAX + SWIM_CRYPTO_STREAM_OVERHEAD;
	uint8_t hdr[5] = {SWIM_CRYPTO_STREAM_TYPE, (uint8_t)(body >> 24),
			  (uint8_t)(body >> 16), (uint8_t)(body >> 8),
			  (uint8_t)body};
	int fd = hello_groups(WRAP_FRAME);

	send_all(fd, hdr, sizeof(hdr));
	expect_refused(fd, 0);	/* not a frame it reads: no bad input */

	fd = hello_groups(WRAP_PLAIN);
	body = SWIM_DSYNC_MSG_MAX;	/* over any LEAVES' body */
	hdr[0] = 0xd3;
	hdr[1] = (uint8_t)(body >> 24);
	hdr[2] = (uint8_t)(body >> 16);
	hdr[3] = (uint8_t)(body >> 8);
	hdr[4] = (uint8_t)body;
	send_all(fd, hdr, sizeof(hdr));
	expect_refused(fd, 1);	/* a stranger's message */
}
