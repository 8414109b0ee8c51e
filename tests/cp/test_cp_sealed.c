/* SPDX-License-Identifier: MIT */
/*
 * Chunked sealed streams on the sync engine (cp_sync_sealed.c,
 * docs/sealed-stream.md): two encrypting engines sync 10^5 members and
 * a user state past memberlist's 20 MiB cap, first as a join to an
 * address (memberlist's single frame with "SealedChunks", answered with
 * chunks), then as a periodic push/pull to a capable member (chunks both
 * ways), in buffers that do not grow with n. A raw client then sends
 * hostile chunk streams: interrupted, lying about lengths, wrong key,
 * corrupt tag, index gap, bytes after the final chunk; each is a counted
 * drop, the stream closed, nothing lost from the table.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_sync_delta.h"
#include "cp_sync_int.h"
#include "pp_peer.h"
#include "swim_dsync.h"
#include "swim_sealed_stream.h"
#include "swim_wire.h"

static int epfd = -1;
static struct swim_keyring *ring;	/* key 01..20 */
static struct swim_keyring *other;	/* key 64..83 */

static struct swim_keyring *
ring_new(uint8_t first)
{
	uint8_t key[32];
	struct swim_keyring *r = swim_keyring_new(NULL);

	cr_assert_not_null(r);
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(first + i);
	cr_assert_eq(swim_keyring_add(r, key, sizeof(key)), 0);
	return r;
}

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	epfd = epoll_create1(0);
	cr_assert(epfd >= 0);
	ring = ring_new(1);
	other = ring_new(100);
}

static void
teardown(void)
{
	swim_keyring_delete(ring);
	swim_keyring_delete(other);
	close(epfd);
}

TestSuite(cp_sealed, .init = setup, .fini = teardown, .timeout = 110);

/* A streamed, encrypting peer that advertises the capability. */
static void
peer_sealed(struct pp_peer *p, const char *name)
{
	pp_peer_init_caps(p, epfd, name, true, 0, SWIM_CAP_SEALED_STREAM);
	cp_sync_set_keyring(p->sync, ring);
}

/* The hostile tests' target: 50 members "ma-i" besides itself, which
 * no hostile stream may take away. */
#define HOSTILE_BASE 51u

static void
peer_target(struct pp_peer *p)
{
	peer_sealed(p, "a");
	pp_peer_fill(p, "ma", HOSTILE_BASE - 1);
}

/* Largest buffer of one sealed stream: the decoder's window and one
 * chunk (rx), one sealed chunk (tx); the chunk buffer is FRAME_MAX. */
#define SEALED_BOUND (CP_SYNC_PP_WINDOW + SWIM_SSTREAM_CHUNK_MAX)

/* One push/pull from b to `to` (node NULL: by address), pumped to its
 * end; it must succeed. */
static void
exchange(struct pp_peer *a, struct pp_peer *b, const struct swim_addr *to,
	 const char *node, bool join)
{
	struct pp_peer *ps[2] = {a, b};

	b->nb_done = 0;
	b->user_in = 0;
	cp_sync_push_pull_node(b->sync, cp_now_us(), to, node, join);
	pp_peer_pump(epfd, ps, 2, 100000, &b->nb_done);
	pp_peer_pump(epfd, ps, 2, 100, NULL);
	cr_assert_eq(b->nb_done, 1);
	cr_assert_eq(b->last_err, 0);
}

/* b (1,000 members) joins a (n members, user state ulen) by address,
 * then runs a periodic push/pull to "a", then joins a's address again:
 * the first answered with chunks, the others chunks both ways. */
static void
sync_pair(uint32_t n, size_t ulen, size_t *peak)
{
	struct pp_peer a, b;
	struct cp_sync_stats sa, sb;
	struct swim_addr to;

	peer_sealed(&a, "a");
	peer_sealed(&b, "b");
	pp_peer_fill(&a, "ma", n);
	pp_peer_fill(&b, "mb", 1000);
	a.user_len = ulen;
	b.user_len = 5;
	pp_peer_addr(&a, &to);
	/* a join: b does not know a, so memberlist's frame + the key */
	exchange(&a, &b, &to, NULL, true);
	cr_assert_eq(swim_member_count(b.swim), n + 1002);
	cr_assert_eq(swim_member_count(a.swim), n + 1002);
	cr_assert_eq(b.user_in, ulen);
	cp_sync_get_stats(a.sync, &sa);
	cp_sync_get_stats(b.sync, &sb);
	cr_assert_eq(sa.sealed_out, 1, "a answered with chunks");
	cr_assert_eq(sa.sealed_in, 0, "b's request was one frame");
	cr_assert_eq(sb.sealed_in, 1);
	/* periodic: b knows a is capable now (Vsn[6] from a's entry) */
	exchange(&a, &b, &to, "a", false);
	cr_assert_eq(b.user_in, ulen);
	cp_sync_get_stats(a.sync, &sa);
	cp_sync_get_stats(b.sync, &sb);
	cr_assert_eq(sa.sealed_in, 1, "b's periodic request was chunks");
	cr_assert_eq(sa.sealed_out, 2);
	cr_assert_eq(sb.sealed_out, 1);
	cr_assert_eq(sb.sealed_in, 2);
	/* a join by address to a member b knows (found by address): chunks
	 * both ways too, so a node in a big pool joins in bounded memory */
	exchange(&a, &b, &to, NULL, true);
	cp_sync_get_stats(a.sync, &sa);
	cp_sync_get_stats(b.sync, &sb);
	cr_assert_eq(sa.sealed_in, 2);
	cr_assert_eq(sb.sealed_out, 2);
	cr_assert_eq(sa.bad_input + sb.bad_input, 0);
	cr_assert_eq(cp_sync_nb_streams(a.sync) + cp_sync_nb_streams(b.sync),
		     0);
	*peak = a.peak_buf > b.peak_buf ? a.peak_buf : b.peak_buf;
	pp_peer_fini(&a);
	pp_peer_fini(&b);
}

/* 10^4 and 10^5 members, the larger with 24 MiB of user state (past
 * the 20 MiB a single sealed frame may carry): the same buffers. */
Test(cp_sealed, sync_1e5_past_20_mib_in_bounded_memory)
{
	size_t peak4 = 0, peak5 = 0;

	sync_pair(10000, 300000, &peak4);
	sync_pair(100000, 24u << 20, &peak5);
	cr_assert_leq(peak4, SEALED_BOUND, "%zu", peak4);
	cr_assert_leq(peak5, SEALED_BOUND, "%zu", peak5);
	cr_assert_eq(peak4, peak5, "peak buffer independent of n: %zu %zu",
		     peak4, peak5);
}

/* A memberlist-style peer (no capability, known by name) gets
 * memberlist's single frame, and a plain reply to an unmarked one. */
Test(cp_sealed, known_peer_without_capability_gets_one_frame)
{
	struct pp_peer a, b;
	struct pp_peer *ps[2] = {&a, &b};
	struct cp_sync_stats sa, sb;
	struct swim_addr to;

	pp_peer_init_caps(&a, epfd, "a", true, 0, 0);
	cp_sync_set_keyring(a.sync, ring);
	peer_sealed(&b, "b");
	pp_peer_fill(&a, "ma", 100);
	pp_peer_addr(&a, &to);
	cp_sync_push_pull_node(b.sync, cp_now_us(), &to, NULL, true);
	pp_peer_pump(epfd, ps, 2, 10000, &b.nb_done);
	cr_assert_eq(b.last_err, 0);
	/* a's entry carries no capability: b now sends one frame, unmarked,
	 * and a answers in kind */
	b.nb_done = 0;
	cp_sync_push_pull_node(b.sync, cp_now_us(), &to, "a", false);
	pp_peer_pump(epfd, ps, 2, 10000, &b.nb_done);
	pp_peer_pump(epfd, ps, 2, 50, NULL);
	cr_assert_eq(b.nb_done, 1);
	cr_assert_eq(b.last_err, 0);
	cp_sync_get_stats(a.sync, &sa);
	cp_sync_get_stats(b.sync, &sb);
	cr_assert_eq(sa.sealed_in, 0);
	cr_assert_eq(sb.sealed_out, 0);
	cr_assert_eq(sa.sealed_out, 1, "only the marked join got chunks");
	cr_assert_eq(swim_member_count(b.swim), 102);
	pp_peer_fini(&a);
	pp_peer_fini(&b);
}

/* --- hostile streams from a raw client --- */

/* A blocking client to p's engine. */
static int
client(const struct pp_peer *p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons(cp_sync_port(p->sync));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A plain push/pull claiming `claim` nodes with nb of them "x-i". */
static size_t
make_pp(uint8_t *out, size_t cap, uint32_t claim, uint32_t nb)
{
	struct swim_push_pull_header h = {false, claim, 0};
	int n = swim_wire_encode_push_pull_header(&h, out, cap);
	size_t len;

	cr_assert(n > 0);
	len = (size_t)n;
	for (uint32_t i = 0; i < nb; i++) {
		n = pp_peer_node("x", i, out + len, cap - len);
		cr_assert(n > 0);
		len += (size_t)n;
	}
	return len;
}

/* Seal plain into chunks of `chunk` bytes with r (a final chunk at the
 * end when is_final). @retval bytes in out. */
static size_t
seal_chunks(const struct swim_keyring *r, const uint8_t *plain,
	    size_t len, size_t chunk, bool is_final, uint8_t *out, size_t cap)
{
	struct swim_sstream st;
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	size_t off = 0, w = 0;

	swim_sstream_init(&st, false);
	while (off < len || (is_final && !st.is_final)) {
		size_t n = len - off < chunk ? len - off : chunk;
		bool fin = is_final && off + n == len;
		int k;

		randombytes_buf(nonce, sizeof(nonce));
		k = swim_sstream_seal(&st, r, nonce, plain + off, n, fin,
				      out + w, cap - w);
		cr_assert_gt(k, 0);
		off += n;
		w += (size_t)k;
	}
	return w;
}

static uint8_t plain_buf[1 << 20];
static uint8_t wire_buf[2 << 20];

/* Send wire[0..len) to a fresh sealed peer, close, pump; the stats. */
static void
send_raw(struct pp_peer *a, const uint8_t *wire, size_t len,
	 struct cp_sync_stats *st)
{
	struct pp_peer *ps[1] = {a};
	int fd = client(a);

	cr_assert_eq(write(fd, wire, len), (ssize_t)len);
	pp_peer_pump(epfd, ps, 1, 100, NULL);
	shutdown(fd, SHUT_WR);
	pp_peer_pump(epfd, ps, 1, 100, NULL);
	close(fd);
	pp_peer_pump(epfd, ps, 1, 50, NULL);
	cp_sync_get_stats(a->sync, st);
	cr_assert_eq(cp_sync_nb_streams(a->sync), 0, "stream closed");
}

/* 100 nodes in 4 chunks, no final chunk, the last one cut short: the
 * whole nodes of the chunks that opened are merged, counted as
 * truncated, no reply, closed. */
Test(cp_sealed, interrupted_stream_is_truncated)
{
	struct pp_peer a;
	struct cp_sync_stats st;
	size_t len = make_pp(plain_buf, sizeof(plain_buf), 100, 100);
	size_t w = seal_chunks(ring, plain_buf, len, len / 4 + 1, false,
			       wire_buf, sizeof(wire_buf));
	uint32_t n;

	peer_target(&a);
	send_raw(&a, wire_buf, w - 10, &st);
	cr_assert_eq(st.sealed_in, 1);
	cr_assert_eq(st.sealed_truncated, 1);
	cr_assert_eq(st.bad_input, 1);
	cr_assert_eq(st.in_push_pull, 0, "no reply to half a stream");
	/* push/pull merges are idempotent per member: the whole ones stay */
	n = swim_member_count(a.swim);
	cr_assert(n > HOSTILE_BASE + 50 && n < HOSTILE_BASE + 100, "%u", n);
	pp_peer_fini(&a);
}

/* The header claims 100 nodes, the final chunk comes after 10. */
Test(cp_sealed, final_chunk_before_the_message_ends)
{
	struct pp_peer a;
	struct cp_sync_stats st;
	size_t len = make_pp(plain_buf, sizeof(plain_buf), 100, 10);
	size_t w = seal_chunks(ring, plain_buf, len, 4096, true, wire_buf,
			       sizeof(wire_buf));

	peer_target(&a);
	send_raw(&a, wire_buf, w, &st);
	cr_assert_eq(st.bad_input, 1);
	cr_assert_eq(st.sealed_truncated + st.sealed_auth +
			     st.sealed_framing, 0, "the chunks were fine");
	cr_assert_eq(st.in_push_pull, 0);
	cr_assert_eq(swim_member_count(a.swim), HOSTILE_BASE + 10);
	pp_peer_fini(&a);
}

/* A chunk header that claims more than a chunk may hold. */
Test(cp_sealed, oversize_chunk_length_is_framing)
{
	struct pp_peer a;
	struct cp_sync_stats st;
	size_t len = make_pp(plain_buf, sizeof(plain_buf), 10, 10);
	size_t w = seal_chunks(ring, plain_buf, len, 4096, true, wire_buf,
			       sizeof(wire_buf));

	wire_buf[6] = 0x7f;	/* L of chunk 0: ~2 GiB */
	peer_target(&a);
	send_raw(&a, wire_buf, w, &st);
	cr_assert_eq(st.sealed_framing, 1);
	cr_assert_eq(st.bad_input, 1);
	cr_assert_eq(swim_member_count(a.swim), HOSTILE_BASE,
		     "nothing opened");
	pp_peer_fini(&a);
}

/* Wrong key, then a flipped tag byte: authentication drops. */
Test(cp_sealed, wrong_key_and_corrupt_tag_are_auth)
{
	struct pp_peer a;
	struct cp_sync_stats st;
	size_t len = make_pp(plain_buf, sizeof(plain_buf), 10, 10);
	size_t w = seal_chunks(other, plain_buf, len, 4096, true, wire_buf,
			       sizeof(wire_buf));

	peer_target(&a);
	send_raw(&a, wire_buf, w, &st);
	cr_assert_eq(st.sealed_auth, 1);
	cr_assert_eq(swim_member_count(a.swim), HOSTILE_BASE);
	/* the final chunk's (its last byte's) tag flipped: the 9 whole
	 * nodes before it had opened and merged; nothing lost, no reply */
	w = seal_chunks(ring, plain_buf, len, len - 1, true, wire_buf,
			sizeof(wire_buf));
	wire_buf[w - 1] ^= 0x01;
	send_raw(&a, wire_buf, w, &st);
	cr_assert_eq(st.sealed_auth, 2);
	cr_assert_eq(st.bad_input, 2);
	cr_assert_eq(swim_member_count(a.swim), HOSTILE_BASE + 9, "%u",
		     swim_member_count(a.swim));
	cr_assert_eq(st.in_push_pull, 0);
	pp_peer_fini(&a);
}

/* Chunk 1 left out (an index gap), then bytes after the final chunk. */
Test(cp_sealed, index_gap_and_bytes_after_final_are_framing)
{
	struct pp_peer a;
	struct cp_sync_stats st;
	size_t len = make_pp(plain_buf, sizeof(plain_buf), 30, 30);
	size_t w = seal_chunks(ring, plain_buf, len, 1024, true, wire_buf,
			       sizeof(wire_buf));
	long c0 = swim_sstream_chunk_len(wire_buf, w);
	long c1 = swim_sstream_chunk_len(wire_buf + c0, w - (size_t)c0);

	cr_assert(c0 > 0 && c1 > 0);
	memmove(wire_buf + c0, wire_buf + c0 + c1, w - (size_t)(c0 + c1));
	peer_target(&a);
	send_raw(&a, wire_buf, w - (size_t)c1, &st);
	cr_assert_eq(st.sealed_framing, 1);
	w = seal_chunks(ring, plain_buf, len, 1024, true, wire_buf,
			sizeof(wire_buf));
	memset(wire_buf + w, SWIM_SSTREAM_TYPE, 16);
	send_raw(&a, wire_buf, w + 16, &st);
	cr_assert_eq(st.sealed_framing, 2);
	cr_assert_eq(st.bad_input, 2);
	cr_assert_eq(swim_member_count(a.swim), HOSTILE_BASE + 30,
		     "every whole node in: %u", swim_member_count(a.swim));
	pp_peer_fini(&a);
}

/* Delta sync between two encrypting capable peers: the transfer's
 * push/pulls go as chunks both ways (cp_sync_delta_io.c). */
Test(cp_sealed, delta_transfer_is_chunked_both_ways)
{
	struct pp_peer a, b;
	struct pp_peer *ps[2] = {&a, &b};
	struct cp_sync_stats sa0, sb0, sa, sb;
	struct cp_sync_delta_cfg c;
	struct swim_addr to;

	pp_peer_init_caps(&a, epfd, "a", true, 0,
			  SWIM_CAP_SEALED_STREAM | SWIM_DSYNC_CAP_V1);
	pp_peer_init_caps(&b, epfd, "b", true, 0,
			  SWIM_CAP_SEALED_STREAM | SWIM_DSYNC_CAP_V1);
	cp_sync_set_keyring(a.sync, ring);
	cp_sync_set_keyring(b.sync, ring);
	pp_peer_fill(&a, "m", 3000);
	pp_peer_fill(&b, "m", 3000);
	pp_peer_addr(&a, &to);
	cp_sync_push_pull_node(b.sync, cp_now_us(), &to, NULL, true);
	pp_peer_pump(epfd, ps, 2, 10000, &b.nb_done);
	cr_assert_eq(b.last_err, 0);
	pp_peer_pump(epfd, ps, 2, 50, NULL);
	/* now they differ by 40 and 25 members */
	pp_peer_fill(&a, "da", 40);
	pp_peer_fill(&b, "db", 25);
	cp_sync_delta_cfg_default(&c);
	c.interval_us = 0;
	c.swim = a.swim;
	cr_assert_eq(cp_sync_delta_enable(a.sync, &c), 0);
	c.swim = b.swim;
	cr_assert_eq(cp_sync_delta_enable(b.sync, &c), 0);
	cp_sync_get_stats(a.sync, &sa0);
	cp_sync_get_stats(b.sync, &sb0);
	b.nb_done = 0;
	cr_assert(cp_sync_delta_push_pull(b.sync, cp_now_us(), &to, "a"));
	pp_peer_pump(epfd, ps, 2, 10000, &b.nb_done);
	pp_peer_pump(epfd, ps, 2, 100, NULL);
	cr_assert_eq(b.nb_done, 1);
	cr_assert_eq(b.last_err, 0);
	cp_sync_get_stats(a.sync, &sa);
	cp_sync_get_stats(b.sync, &sb);
	cr_assert_eq(sb.x_delta, sb0.x_delta + 1, "a delta, not a full one");
	cr_assert_eq(sa.sealed_in, sa0.sealed_in + 1);
	cr_assert_eq(sa.sealed_out, sa0.sealed_out + 1);
	cr_assert_eq(sb.sealed_in, sb0.sealed_in + 1);
	cr_assert_eq(sb.sealed_out, sb0.sealed_out + 1);
	cr_assert_eq(sa.bad_input + sb.bad_input, 0);
	cr_assert_eq(swim_member_count(a.swim), 3000 + 40 + 25 + 2);
	cr_assert_eq(swim_member_count(b.swim), 3000 + 40 + 25 + 2);
	pp_peer_fini(&a);
	pp_peer_fini(&b);
}
