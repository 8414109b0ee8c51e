/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the chunked sealed-stream opener in front of the
 * streamed push/pull decoder (swim_sealed_stream.h, cp_sync_sealed.c):
 * what a gossipd node does with an encrypted push/pull from a peer.
 *
 * Random bytes almost never authenticate, so the input picks a mode
 * from its first byte:
 *  - raw (bit 0 clear): the rest is the wire stream as received;
 *  - sealed (bit 0 set): the rest is a plaintext push/pull that this
 *    harness seals into chunks (sizes from the input, key and nonces
 *    fixed), then damages as bits 1..3 say (flip a byte, drop a chunk,
 *    cut the stream short, append bytes), so the decoder behind the
 *    opener sees whatever plaintext the fuzzer makes up.
 * The receiver reads the wire in steps (from the input) through one
 * chunk buffer, opens each whole chunk into a window and feeds the
 * window to swim_pp_dec_next of a fresh core, as the sync engine does.
 *
 * Findings: crashes, sanitizer reports, and __builtin_trap() when a
 * byte that reaches the decoder is not the sealed plaintext at the same
 * offset (the opener let something forged through), an opened chunk is
 * longer than CHUNK_MAX, a failed open moved the stream on, or an
 * undamaged stream does not open in full.
 *
 *   scripts/fuzz.sh sstream
 */
#include "swim.h"
#include "swim_sealed_stream.h"
#include "swim_wire.h"

#include <sodium.h>
#include <string.h>

#include "fuzz_check.h"

#define FUZZ_PLAIN_MAX (256 * 1024)
#define FUZZ_WIRE_MAX (FUZZ_PLAIN_MAX * 2 + 64 * 1024)
#define FUZZ_WINDOW (64 * 1024 + SWIM_SSTREAM_CHUNK_MAX)

static struct swim_keyring *fuzz_ring;
static uint8_t fuzz_wire[FUZZ_WIRE_MAX];
static const uint8_t *fuzz_plain;	/* sealed mode: the truth */
static size_t fuzz_plain_len;

static void
fuzz_init(void)
{
	uint8_t key[32];

	if (fuzz_ring != NULL)
		return;
	FUZZ_CHECK(sodium_init() >= 0);
	fuzz_ring = swim_keyring_new(NULL);
	FUZZ_CHECK(fuzz_ring != NULL);
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i + 1);
	FUZZ_CHECK(swim_keyring_add(fuzz_ring, key, sizeof(key)) == 0);
}

static struct swim *
fuzz_core(void)
{
	struct swim_cfg cfg;
	const char *err;

	swim_cfg_default_local(&cfg);
	memcpy(cfg.name, "fuzz", 5);
	cfg.addr.ip_len = 4;
	cfg.addr.ip[0] = 127;
	cfg.addr.ip[3] = 1;
	cfg.addr.port = 7946;
	return swim_new(&cfg, &err);
}

/* Seal plain into chunks of `chunk` bytes (1..CHUNK_MAX), final last.
 * @retval wire bytes. */
static size_t
fuzz_seal(const uint8_t *plain, size_t len, size_t chunk)
{
	struct swim_sstream st;
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = { 0 };
	size_t off = 0, w = 0;
	uint32_t i = 0;

	swim_sstream_init(&st, false);
	do {
		size_t n = len - off < chunk ? len - off : chunk;
		int k;

		memcpy(nonce, &i, sizeof(i));
		i++;
		k = swim_sstream_seal(&st, fuzz_ring, nonce, plain + off, n,
				      off + n == len, fuzz_wire + w,
				      sizeof(fuzz_wire) - w);
		FUZZ_CHECK(k == (int)(n + SWIM_SSTREAM_OVERHEAD));
		off += n;
		w += (size_t)k;
	} while (off < len);
	return w;
}

/* Damage the sealed wire as ctl says, from the parameter bytes p. */
static size_t
fuzz_damage(size_t w, uint8_t ctl, const uint8_t *p)
{
	size_t at = ((size_t)p[0] << 8 | p[1]) % (w ? w : 1);
	long c0;

	if ((ctl & 0x02) && w > 0)
		fuzz_wire[at] ^= (uint8_t)(p[2] | 1);
	if ((ctl & 0x04) && (c0 = swim_sstream_chunk_len(fuzz_wire, w)) > 0 &&
	    (size_t)c0 < w) {	/* drop chunk 0 */
		memmove(fuzz_wire, fuzz_wire + c0, w - (size_t)c0);
		w -= (size_t)c0;
	}
	if (ctl & 0x08)
		w = at;		/* cut short */
	if ((ctl & 0x10) && w + 3 <= sizeof(fuzz_wire)) {
		memcpy(fuzz_wire + w, p, 3);	/* bytes after the end */
		w += 3;
	}
	return w;
}

struct fuzz_rx {
	struct swim_sstream st;
	uint8_t cbuf[SWIM_SSTREAM_FRAME_MAX];
	size_t clen;
	uint8_t win[FUZZ_WINDOW];
	size_t wlen;
	size_t opened;		/* plaintext bytes opened so far */
	int err;		/* the first error */
};

/* Open the whole chunks in cbuf while the window has room. */
static void
fuzz_open(struct fuzz_rx *r)
{
	size_t off = 0;

	while (r->err == 0 && off < r->clen && !r->st.is_final) {
		struct swim_sstream before = r->st;
		size_t used = 0;
		bool fin;
		int n;

		if (FUZZ_WINDOW - r->wlen < SWIM_SSTREAM_CHUNK_MAX)
			break;
		n = swim_sstream_open(&r->st, fuzz_ring, r->cbuf + off,
				      r->clen - off, r->win + r->wlen,
				      FUZZ_WINDOW - r->wlen, &used, &fin);
		if (n == SWIM_SSTREAM_E_AGAIN)
			break;
		if (n < 0) {
			FUZZ_CHECK(memcmp(&before, &r->st, sizeof(before)) ==
				   0);
			r->err = n;
			break;
		}
		FUZZ_CHECK(n <= SWIM_SSTREAM_CHUNK_MAX);
		FUZZ_CHECK(used == (size_t)n + SWIM_SSTREAM_OVERHEAD);
		/* authentic: exactly the sealed plaintext, in order */
		if (fuzz_plain != NULL)
			FUZZ_CHECK(r->opened + (size_t)n <= fuzz_plain_len &&
				   memcmp(r->win + r->wlen,
					  fuzz_plain + r->opened,
					  (size_t)n) == 0);
		r->opened += (size_t)n;
		r->wlen += (size_t)n;
		off += used;
	}
	memmove(r->cbuf, r->cbuf + off, r->clen - off);
	r->clen -= off;
}

/* Feed the window to the decoder; false once it failed or is done. */
static bool
fuzz_decode(struct swim *s, struct swim_pp_dec *d, struct fuzz_rx *r)
{
	while (d->phase != SWIM_PP_DEC_USER && r->wlen > 0) {
		int c = swim_pp_dec_next(s, 1, d, r->win, r->wlen, 1u << 20);

		if (c < 0)
			return false;
		FUZZ_CHECK((size_t)c <= r->wlen);
		if (c == 0)
			break;
		memmove(r->win, r->win + c, r->wlen - (size_t)c);
		r->wlen -= (size_t)c;
	}
	return d->phase != SWIM_PP_DEC_USER;
}

/* Receive wire[0..w) in steps of `step` bytes into r. */
static void
fuzz_receive(size_t w, size_t step, struct fuzz_rx *r)
{
	struct swim *s = fuzz_core();
	struct swim_pp_dec d;
	size_t in = 0;

	FUZZ_CHECK(s != NULL);
	swim_pp_dec_start(s, &d);
	swim_sstream_init(&r->st, false);
	r->clen = r->wlen = r->opened = 0;
	r->err = 0;
	for (int turns = 0; turns < 1 << 20; turns++) {
		size_t k = w - in < step ? w - in : step;

		if (k > sizeof(r->cbuf) - r->clen)
			k = sizeof(r->cbuf) - r->clen;
		memcpy(r->cbuf + r->clen, fuzz_wire + in, k);
		r->clen += k;
		in += k;
		fuzz_open(r);
		if (!fuzz_decode(s, &d, r) || r->err != 0)
			break;
		if (in == w && k == 0)
			break;
	}
	swim_delete(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_rx r;
	uint8_t ctl;
	size_t w, step, chunk;

	if (size < 5)
		return 0;
	fuzz_init();
	ctl = data[0];
	step = (size_t)data[1] * 97 + 1;
	chunk = (size_t)data[2] * 257 % SWIM_SSTREAM_CHUNK_MAX + 1;
	data += 3;
	size -= 3;
	fuzz_plain = NULL;
	if (!(ctl & 0x01)) {
		w = size < sizeof(fuzz_wire) ? size : sizeof(fuzz_wire);
		memcpy(fuzz_wire, data, w);
		fuzz_receive(w, step, &r);
		return 0;
	}
	if (size < 3 || size - 3 > FUZZ_PLAIN_MAX)
		return 0;
	fuzz_plain = data + 3;
	fuzz_plain_len = size - 3;
	w = fuzz_damage(fuzz_seal(fuzz_plain, fuzz_plain_len, chunk), ctl,
			data);
	fuzz_receive(w, step, &r);
	/* undamaged: no chunk fails to open */
	if ((ctl & 0x1e) == 0)
		FUZZ_CHECK(r.err == 0);
	return 0;
}
