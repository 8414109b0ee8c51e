/* SPDX-License-Identifier: MIT */
/*
 * swim_sealed_stream: chunked sealed streams (docs/sealed-stream.md).
 * Round trips of every size class, the stream id and chunk layout, and
 * every way a stream can be tampered with, each with its exact error:
 * wrong key, flipped tag / ciphertext / header byte, truncated chunk,
 * oversize and undersize lengths, index gaps, repeats and reordering,
 * a chunk spliced from another stream, a reflected stream, chunks after
 * the final one, a stream that ends early. Then the push/pull header
 * key that asks for a chunked reply.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto_util.h"
#include "swim_sealed_stream.h"
#include "swim_wire.h"

TestSuite(sstream, .init = crypto_setup, .timeout = 30);

/* Nonce n (chunk n of a test stream, salted by stream). */
static void
nonce_of(uint8_t nonce[SWIM_CRYPTO_NONCE_LEN], uint32_t stream, uint32_t n)
{
	memset(nonce, 0, SWIM_CRYPTO_NONCE_LEN);
	memcpy(nonce, &stream, sizeof(stream));
	memcpy(nonce + 8, &n, sizeof(n));
}

/* Seal len bytes of pattern into chunks of `chunk` bytes; out holds
 * them back to back. @retval total bytes. */
static size_t
seal_all(const struct swim_keyring *r, uint32_t stream, bool is_reply,
	 const uint8_t *in, size_t len, size_t chunk, uint8_t *out,
	 size_t cap)
{
	struct swim_sstream st;
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	size_t off = 0, w = 0;
	uint32_t i = 0;

	swim_sstream_init(&st, is_reply);
	do {
		size_t n = len - off < chunk ? len - off : chunk;
		int k;

		nonce_of(nonce, stream, i++);
		k = swim_sstream_seal(&st, r, nonce, in + off, n,
				      off + n == len, out + w, cap - w);
		cr_assert_gt(k, 0, "seal: %s", swim_sstream_strerror(k));
		off += n;
		w += (size_t)k;
	} while (off < len);
	return w;
}

/* Open every chunk of buf into out. @retval plaintext bytes, or the
 * first error. */
static long
open_all(const struct swim_keyring *r, bool is_reply, const uint8_t *buf,
	 size_t len, uint8_t *out, size_t cap)
{
	struct swim_sstream st;
	size_t off = 0, w = 0;

	swim_sstream_init(&st, is_reply);
	while (off < len) {
		size_t used = 0;
		bool fin = false;
		int n = swim_sstream_open(&st, r, buf + off, len - off,
					  out + w, cap - w, &used, &fin);

		if (n < 0)
			return n;
		off += used;
		w += (size_t)n;
	}
	int rc = swim_sstream_finish(&st);

	return rc < 0 ? rc : (long)w;
}

static uint8_t *
pattern(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	cr_assert_not_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8));
	return p;
}

Test(sstream, round_trip_of_every_size_class)
{
	static const size_t sizes[] = { 0, 1, 100, SWIM_SSTREAM_CHUNK_MAX - 1,
					SWIM_SSTREAM_CHUNK_MAX,
					SWIM_SSTREAM_CHUNK_MAX + 1,
					5 * SWIM_SSTREAM_CHUNK_MAX + 17 };
	struct swim_keyring *r = ring_with(1);

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k];
		size_t cap = len + 8 * SWIM_SSTREAM_OVERHEAD;
		uint8_t *in = pattern(len), *wire = malloc(cap);
		uint8_t *back = malloc(len + 1);
		size_t w = seal_all(r, 7, false, in, len,
				    SWIM_SSTREAM_CHUNK_MAX, wire, cap);
		size_t chunks = len / SWIM_SSTREAM_CHUNK_MAX +
				(len % SWIM_SSTREAM_CHUNK_MAX != 0 || len == 0);

		cr_assert_eq(w, len + chunks * SWIM_SSTREAM_OVERHEAD,
			     "len %zu", len);
		cr_assert_eq(open_all(r, false, wire, w, back, len + 1),
			     (long)len);
		cr_assert(len == 0 || memcmp(in, back, len) == 0);
		free(in);
		free(wire);
		free(back);
	}
	swim_keyring_delete(r);
}

Test(sstream, chunk_layout_and_stream_id)
{
	struct swim_keyring *r = ring_with(1);
	uint8_t in[3] = { 6, 0x80, 0 }, out[64], back[8];
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	struct swim_sstream st;
	size_t used;
	bool fin;

	swim_sstream_init(&st, true);
	nonce_of(nonce, 3, 0);
	cr_assert_eq(swim_sstream_seal(&st, r, nonce, in, 3, true, out,
				       sizeof(out)),
		     3 + SWIM_SSTREAM_OVERHEAD);
	cr_assert_eq(out[0], SWIM_SSTREAM_TYPE);
	cr_assert_eq(out[1], SWIM_SSTREAM_FINAL | SWIM_SSTREAM_REPLY);
	cr_assert_eq(out[2] | out[3] | out[4] | out[5], 0);	/* index 0 */
	cr_assert_eq(out[9], 3 + SWIM_CRYPTO_OVERHEAD);
	cr_assert_eq(out[10], 1);				/* vsn */
	cr_assert_eq(memcmp(out + 11, nonce, sizeof(nonce)), 0);
	cr_assert_eq(memcmp(st.sid, nonce, sizeof(nonce)), 0);
	cr_assert_eq(swim_sstream_chunk_len(out, 10),
		     3 + SWIM_SSTREAM_OVERHEAD);
	swim_sstream_init(&st, true);
	cr_assert_eq(swim_sstream_open(&st, r, out, sizeof(out), back,
				       sizeof(back), &used, &fin), 3);
	cr_assert(fin);
	cr_assert_eq(used, 3 + SWIM_SSTREAM_OVERHEAD);
	cr_assert_eq(memcmp(back, in, 3), 0);
	swim_keyring_delete(r);
}

/* Two chunks of a 100-byte stream (50 each), for the tamper cases. */
struct two {
	struct swim_keyring *r;
	uint8_t wire[2 * (50 + SWIM_SSTREAM_OVERHEAD)];
	size_t c0;	/* length of chunk 0 */
	uint8_t in[100];
	uint8_t out[SWIM_SSTREAM_CHUNK_MAX];
};

static void
two_make(struct two *t, uint32_t stream)
{
	for (int i = 0; i < 100; i++)
		t->in[i] = (uint8_t)i;
	t->r = ring_with(1);
	cr_assert_eq(seal_all(t->r, stream, false, t->in, 100, 50, t->wire,
			      sizeof(t->wire)), sizeof(t->wire));
	t->c0 = 50 + SWIM_SSTREAM_OVERHEAD;
}

/* Open chunk 0 into st, then return what opening `buf` gives. */
static int
two_open_second(struct two *t, const uint8_t *buf, size_t len)
{
	struct swim_sstream st;
	size_t used;
	bool fin;

	swim_sstream_init(&st, false);
	cr_assert_eq(swim_sstream_open(&st, t->r, t->wire, t->c0, t->out,
				       sizeof(t->out), &used, &fin), 50);
	cr_assert_not(fin);
	return swim_sstream_open(&st, t->r, buf, len, t->out, sizeof(t->out),
				 &used, &fin);
}

Test(sstream, wrong_key_is_auth)
{
	struct two t;
	struct swim_keyring *other = ring_with(100);
	struct swim_sstream st;
	size_t used;
	bool fin;

	two_make(&t, 1);
	swim_sstream_init(&st, false);
	cr_assert_eq(swim_sstream_open(&st, other, t.wire, t.c0, t.out,
				       sizeof(t.out), &used, &fin),
		     SWIM_SSTREAM_E_AUTH);
	cr_assert_eq(st.index, 0, "a failed open does not move on");
	swim_keyring_delete(other);
	swim_keyring_delete(t.r);
}

Test(sstream, secondary_key_opens)
{
	struct two t;
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	struct swim_keyring *r2 = ring_with(100);

	two_make(&t, 1);
	key_seq(key, sizeof(key), 1);
	cr_assert_eq(swim_keyring_add(r2, key, sizeof(key)), 0);
	cr_assert_eq(open_all(r2, false, t.wire, sizeof(t.wire), t.out,
			      sizeof(t.out)), 100);
	swim_keyring_delete(r2);
	swim_keyring_delete(t.r);
}

Test(sstream, every_flipped_byte_fails)
{
	struct two t;

	two_make(&t, 1);
	/* each byte of chunk 1 after the type and flags bytes */
	for (size_t i = 2; i < sizeof(t.wire) - t.c0; i++) {
		uint8_t bad[sizeof(t.wire)];
		size_t len = sizeof(t.wire) - t.c0;
		int rc;

		memcpy(bad, t.wire + t.c0, len);
		bad[i] ^= 0x01;
		rc = two_open_second(&t, bad, len);
		if (i < 6)
			cr_assert_eq(rc, SWIM_SSTREAM_E_INDEX, "byte %zu", i);
		else if (i < 10)	/* the length: shorter or longer */
			cr_assert(rc == SWIM_SSTREAM_E_AUTH ||
				  rc == SWIM_SSTREAM_E_AGAIN ||
				  rc == SWIM_SSTREAM_E_LENGTH, "byte %zu", i);
		else if (i == 10)
			cr_assert_eq(rc, SWIM_SSTREAM_E_VERSION);
		else
			cr_assert_eq(rc, SWIM_SSTREAM_E_AUTH, "byte %zu", i);
	}
	swim_keyring_delete(t.r);
}

Test(sstream, flags_are_authenticated)
{
	struct two t;
	uint8_t bad[sizeof(t.wire)];
	size_t len;

	two_make(&t, 1);
	len = sizeof(t.wire) - t.c0;
	memcpy(bad, t.wire + t.c0, len);
	bad[1] &= (uint8_t)~SWIM_SSTREAM_FINAL;	/* final -> not final */
	cr_assert_eq(two_open_second(&t, bad, len), SWIM_SSTREAM_E_AUTH);
	bad[1] |= 0x80;
	cr_assert_eq(two_open_second(&t, bad, len), SWIM_SSTREAM_E_FLAGS);
	/* chunk 0 marked final: the stream would end early */
	memcpy(bad, t.wire, t.c0);
	bad[1] |= SWIM_SSTREAM_FINAL;
	cr_assert_eq(open_all(t.r, false, bad, t.c0, t.out, sizeof(t.out)),
		     SWIM_SSTREAM_E_AUTH);
	swim_keyring_delete(t.r);
}

Test(sstream, truncated_chunk_is_again_then_truncated)
{
	struct two t;
	struct swim_sstream st;
	size_t used;
	bool fin;

	two_make(&t, 1);
	swim_sstream_init(&st, false);
	for (size_t l = 0; l < t.c0; l++)
		cr_assert_eq(swim_sstream_open(&st, t.r, t.wire, l, t.out,
					       sizeof(t.out), &used, &fin),
			     SWIM_SSTREAM_E_AGAIN, "len %zu", l);
	cr_assert_eq(swim_sstream_chunk_len(t.wire, 9), SWIM_SSTREAM_E_AGAIN);
	/* chunk 0 alone: a stream that stops there lacks its final */
	cr_assert_eq(open_all(t.r, false, t.wire, t.c0, t.out, sizeof(t.out)),
		     SWIM_SSTREAM_E_TRUNCATED);
	swim_sstream_init(&st, false);
	cr_assert_eq(swim_sstream_finish(&st), SWIM_SSTREAM_E_TRUNCATED);
	swim_keyring_delete(t.r);
}

Test(sstream, lengths_out_of_range)
{
	uint8_t h[SWIM_SSTREAM_HDR] = { SWIM_SSTREAM_TYPE, 0, 0, 0, 0, 0 };
	uint32_t over = SWIM_SSTREAM_CHUNK_MAX + SWIM_CRYPTO_OVERHEAD + 1;

	h[9] = SWIM_CRYPTO_OVERHEAD - 1;
	cr_assert_eq(swim_sstream_chunk_len(h, sizeof(h)),
		     SWIM_SSTREAM_E_LENGTH);
	h[9] = SWIM_CRYPTO_OVERHEAD;
	cr_assert_eq(swim_sstream_chunk_len(h, sizeof(h)),
		     SWIM_SSTREAM_HDR + SWIM_CRYPTO_OVERHEAD);
	h[6] = (uint8_t)(over >> 24);
	h[7] = (uint8_t)(over >> 16);
	h[8] = (uint8_t)(over >> 8);
	h[9] = (uint8_t)over;
	cr_assert_eq(swim_sstream_chunk_len(h, sizeof(h)),
		     SWIM_SSTREAM_E_LENGTH);
	h[9]--;
	cr_assert_eq(swim_sstream_chunk_len(h, sizeof(h)),
		     SWIM_SSTREAM_FRAME_MAX);
	memset(h + 6, 0xff, 4);
	cr_assert_eq(swim_sstream_chunk_len(h, sizeof(h)),
		     SWIM_SSTREAM_E_LENGTH);
	h[0] = 0x0a;
	cr_assert_eq(swim_sstream_chunk_len(h, 1), SWIM_SSTREAM_E_TYPE);
}

Test(sstream, seal_limits)
{
	struct swim_keyring *r = ring_with(1);
	struct swim_keyring *empty = swim_keyring_new(NULL);
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = { 0 };
	static uint8_t in[SWIM_SSTREAM_CHUNK_MAX + 1];
	static uint8_t out[SWIM_SSTREAM_FRAME_MAX + 1];
	struct swim_sstream st;

	swim_sstream_init(&st, false);
	cr_assert_eq(swim_sstream_seal(&st, r, nonce, in, sizeof(in), false,
				       out, sizeof(out)),
		     SWIM_SSTREAM_E_LENGTH);
	cr_assert_eq(swim_sstream_seal(&st, r, nonce, in, 10, false, out,
				       10 + SWIM_SSTREAM_OVERHEAD - 1),
		     SWIM_SSTREAM_E_NOSPACE);
	cr_assert_eq(swim_sstream_seal(&st, empty, nonce, in, 10, false, out,
				       sizeof(out)),
		     SWIM_SSTREAM_E_NOKEY);
	cr_assert_eq(swim_sstream_seal(&st, r, nonce, in, 10, true, out,
				       sizeof(out)),
		     10 + SWIM_SSTREAM_OVERHEAD);
	cr_assert_eq(swim_sstream_seal(&st, r, nonce, in, 10, true, out,
				       sizeof(out)),
		     SWIM_SSTREAM_E_AFTER_FINAL);
	/* the index never wraps: only a final chunk may take the last */
	swim_sstream_init(&st, false);
	st.index = UINT32_MAX;
	cr_assert_eq(swim_sstream_seal(&st, r, nonce, in, 1, false, out,
				       sizeof(out)),
		     SWIM_SSTREAM_E_LENGTH);
	swim_keyring_delete(empty);
	swim_keyring_delete(r);
}

Test(sstream, open_into_a_small_buffer_is_nospace)
{
	struct two t;
	struct swim_sstream st;
	size_t used;
	bool fin;

	two_make(&t, 1);
	swim_sstream_init(&st, false);
	cr_assert_eq(swim_sstream_open(&st, t.r, t.wire, t.c0, t.out, 49,
				       &used, &fin),
		     SWIM_SSTREAM_E_NOSPACE);
	swim_keyring_delete(t.r);
}

Test(sstream, gap_repeat_and_reorder_are_index_errors)
{
	struct two t;
	struct swim_sstream st;
	size_t used;
	bool fin;

	two_make(&t, 1);
	/* chunk 1 first: a gap */
	swim_sstream_init(&st, false);
	cr_assert_eq(swim_sstream_open(&st, t.r, t.wire + t.c0, t.c0, t.out,
				       sizeof(t.out), &used, &fin),
		     SWIM_SSTREAM_E_INDEX);
	/* chunk 0 twice: a replay */
	cr_assert_eq(two_open_second(&t, t.wire, t.c0), SWIM_SSTREAM_E_INDEX);
	swim_keyring_delete(t.r);
}

Test(sstream, chunk_spliced_from_another_stream_fails)
{
	struct two a, b;

	two_make(&a, 1);
	two_make(&b, 2);	/* same key, same indices, another id */
	cr_assert_eq(two_open_second(&a, b.wire + b.c0, b.c0),
		     SWIM_SSTREAM_E_AUTH);
	swim_keyring_delete(a.r);
	swim_keyring_delete(b.r);
}

Test(sstream, reflected_stream_is_a_role_error)
{
	struct two t;

	two_make(&t, 1);	/* a request (REPLY clear) */
	cr_assert_eq(open_all(t.r, true, t.wire, sizeof(t.wire), t.out,
			      sizeof(t.out)),
		     SWIM_SSTREAM_E_ROLE);
	swim_keyring_delete(t.r);
}

Test(sstream, chunk_after_the_final_one)
{
	struct two t;
	uint8_t wire[2 * sizeof(t.wire)];

	two_make(&t, 1);
	memcpy(wire, t.wire, sizeof(t.wire));
	memcpy(wire + sizeof(t.wire), t.wire, sizeof(t.wire));
	cr_assert_eq(open_all(t.r, false, wire, sizeof(wire), t.out,
			      sizeof(t.out)),
		     SWIM_SSTREAM_E_AFTER_FINAL);
	swim_keyring_delete(t.r);
}

Test(sstream, strerror_names_every_error)
{
	for (int e = 0; e > SWIM_SSTREAM_E_COUNT; e--)
		cr_assert_str_neq(swim_sstream_strerror(e),
				  "unknown sealed-stream error");
	cr_assert_str_eq(swim_sstream_strerror(SWIM_SSTREAM_E_COUNT),
			 "unknown sealed-stream error");
	cr_assert_str_eq(swim_sstream_strerror(1),
			 "unknown sealed-stream error");
}

/* --- the header key --- */

/* A push/pull header {Join, Nodes 0, UserStateLen 0} + 2 trailing bytes. */
static int
pp_msg(uint8_t *out, size_t cap)
{
	struct swim_push_pull_header h = { .join = true };
	int n = swim_wire_encode_push_pull_header(&h, out, cap);

	cr_assert_gt(n, 0);
	out[n] = 0xaa;
	out[n + 1] = 0xbb;
	return n + 2;
}

Test(sstream, header_key_round_trip)
{
	uint8_t msg[64], marked[80], again[96];
	struct swim_push_pull_header h;
	struct swim_str us;
	int n = pp_msg(msg, sizeof(msg));
	int m;

	cr_assert_eq(swim_sstream_hdr_wants(msg, (size_t)n), 0);
	m = swim_sstream_hdr_mark(msg, (size_t)n, marked, sizeof(marked));
	cr_assert_eq(m, n + SWIM_SSTREAM_HDR_KEY_LEN);
	cr_assert_eq(swim_sstream_hdr_wants(marked, (size_t)m),
		     SWIM_SSTREAM_VERSION);
	cr_assert_eq(marked[m - 2], 0xaa, "the body follows unchanged");
	cr_assert_eq(marked[m - 1], 0xbb);
	/* memberlist's decoder (ours) skips the key: the same header */
	cr_assert_eq(swim_wire_decode_push_pull(marked, (size_t)m - 2, &h,
						NULL, NULL, &us), m - 2);
	cr_assert(h.join);
	cr_assert_eq(h.nb_nodes, 0);
	/* marking twice is refused; so is anything but a push/pull */
	cr_assert_eq(swim_sstream_hdr_mark(marked, (size_t)m, again,
					   sizeof(again)),
		     SWIM_SSTREAM_E_HEADER);
	cr_assert_eq(swim_sstream_hdr_mark(msg, (size_t)n, again,
					   (size_t)n + 1),
		     SWIM_SSTREAM_E_NOSPACE);
	msg[0] = SWIM_MSG_PING;
	cr_assert_eq(swim_sstream_hdr_wants(msg, (size_t)n),
		     SWIM_SSTREAM_E_HEADER);
	cr_assert_eq(swim_sstream_hdr_wants(marked, 5),
		     SWIM_SSTREAM_E_HEADER);
}
