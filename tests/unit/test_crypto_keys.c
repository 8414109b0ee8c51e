/* SPDX-License-Identifier: MIT */
/*
 * swim_crypto with AES-128 and AES-192 keys, and the per-thread cipher
 * contexts.
 *
 * The 16- and 24-byte vectors are Appendix A's construction (key 00..,
 * nonce 00..0b, the 59-byte ping, the 18-byte ack as a stream frame),
 * computed with python3's cryptography (AESGCM) in memberlist's layout
 * vsn | nonce | ciphertext | tag; the same script reproduces the
 * Appendix A AES-256 vectors of test_crypto.c byte for byte.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crypto_util.h"
#include "swim_crypto.h"
#include "swim_crypto_backend.h"

TestSuite(crypto_keys, .init = crypto_setup, .timeout = 60);

static const char ping_hex[] =
	"0085a44e6f6465a162a55365714e6f01aa536f7572636541646472a47f000001"
	"aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0a";
static const char ack_hex[] = "0282a75061796c6f6164c0a55365714e6f01";

/* Per key size: the v1 UDP packet, the v0 one, the stream frame. */
static const struct {
	size_t key_len;
	const char *v1, *v0, *stream;
} vec[] = {
	{ 16,
	  "01000102030405060708090a0b93e90380097f92f5297732ef47ed1f09197575"
	  "93218e98b7824583896b44a26d2ff7b48286e3d2ad2f906c46a12384fdb9ed77"
	  "9554e8440fe35178dd344a191c88277d155f8d79b8055746",
	  "00000102030405060708090a0b93e90380097f92f5297732ef47ed1f09197575"
	  "93218e98b7824583896b44a26d2ff7b48286e3d2ad2f906c46a12384fdb9ed77"
	  "9554e8440fe35178d7af4913e191169e3ac0561ee9d86108b046961476",
	  "0a0000002f01000102030405060708090a0b91ee009e07629b3b2ab6a12f65c6"
	  "0146dc27318b2441b64bc1a4ccb81f589e3b5794" },
	{ 24,
	  "01000102030405060708090a0be67c86d5f6ddacafb2968fe78ee7b371a4cc5c"
	  "7e4ac233ff1b3b199cb296215d7d279804683f68459cc374c515382f070ba8b9"
	  "01d62ebc9e8f3bddbb0cc40b9d770b9b8276307036cd2666",
	  "00000102030405060708090a0be67c86d5f6ddacafb2968fe78ee7b371a4cc5c"
	  "7e4ac233ff1b3b199cb296215d7d279804683f68459cc374c515382f070ba8b9"
	  "01d62ebc9e8f3bddaaddab730246d22ff735462b1b7dafebd314b74732",
	  "0a0000002f01000102030405060708090a0be47b85cbf8c0a561b1571c27accc"
	  "ad3e619e7506971a4fe5fd2d46b794e9833193d5" },
};

static void
nonce_fixed(void *ctx, uint8_t nonce[SWIM_CRYPTO_NONCE_LEN])
{
	(void)ctx;
	for (int i = 0; i < SWIM_CRYPTO_NONCE_LEN; i++)
		nonce[i] = (uint8_t)i;
}

/* A ring holding the key 00.. of len bytes, fixed nonces. */
static struct swim_keyring *
ring_len(size_t len, uint8_t first)
{
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	struct swim_keyring *r = swim_keyring_new(NULL);

	cr_assert_not_null(r);
	key_seq(key, len, first);
	cr_assert_eq(swim_keyring_add(r, key, len), 0);
	swim_keyring_set_nonce_source(r, nonce_fixed, NULL);
	return r;
}

Test(crypto_keys, aes128_and_aes192_udp_vectors_are_byte_exact)
{
	for (size_t v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
		struct swim_keyring *r = ring_len(vec[v].key_len, 0);
		uint8_t ping[64], want[128], got[128], back[128];
		uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
		int pl = unhex(ping_hex, ping, sizeof(ping));
		int wl = unhex(vec[v].v1, want, sizeof(want));

		cr_assert_eq(swim_crypto_seal_udp(r, ping, (size_t)pl, got,
						  sizeof(got)),
			     wl, "key %zu", vec[v].key_len);
		cr_assert_arr_eq(got, want, (size_t)wl);
		cr_assert_eq(swim_crypto_open_udp(r, want, (size_t)wl, back,
						  sizeof(back)),
			     pl);
		cr_assert_arr_eq(back, ping, (size_t)pl);
		/* version 0: padded, accepted on open, unpadded */
		wl = unhex(vec[v].v0, want, sizeof(want));
		nonce_fixed(NULL, nonce);
		cr_assert_eq(swim_crypto_seal_payload(r, 0, nonce, NULL, 0,
						      ping, (size_t)pl, got,
						      sizeof(got)),
			     wl);
		cr_assert_arr_eq(got, want, (size_t)wl);
		cr_assert_eq(swim_crypto_open_udp(r, want, (size_t)wl, back,
						  sizeof(back)),
			     pl);
		cr_assert_arr_eq(back, ping, (size_t)pl);
		swim_keyring_delete(r);
	}
}

Test(crypto_keys, aes128_and_aes192_stream_vectors_are_byte_exact)
{
	for (size_t v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
		struct swim_keyring *r = ring_len(vec[v].key_len, 0);
		uint8_t ack[32], want[96], got[96], back[96];
		int al = unhex(ack_hex, ack, sizeof(ack));
		int wl = unhex(vec[v].stream, want, sizeof(want));
		size_t used = 0;

		cr_assert_eq(swim_crypto_seal_stream(r, ack, (size_t)al, got,
						     sizeof(got)),
			     wl);
		cr_assert_arr_eq(got, want, (size_t)wl);
		cr_assert_eq(swim_crypto_open_stream(r, want, (size_t)wl, back,
						     sizeof(back), &used),
			     al);
		cr_assert_eq(used, (size_t)wl);
		cr_assert_arr_eq(back, ack, (size_t)al);
		swim_keyring_delete(r);
	}
}

Test(crypto_keys, keys_of_every_size_share_one_ring)
{
	struct swim_keyring *r = ring_len(16, 0);
	struct swim_keyring *k24 = ring_len(24, 0x40);
	struct swim_keyring *k32 = ring_len(32, 0x80);
	uint8_t key[SWIM_CRYPTO_KEY_LEN], ping[64], pkt[128], back[128];
	int pl = unhex(ping_hex, ping, sizeof(ping));

	key_seq(key, 24, 0x40);
	cr_assert_eq(swim_keyring_add(r, key, 24), 0);
	key_seq(key, 32, 0x80);
	cr_assert_eq(swim_keyring_add(r, key, 32), 0);
	cr_assert_eq(swim_keyring_count(r), 3);
	cr_assert_eq(swim_keyring_key_len(r, 0), 16);
	cr_assert_eq(swim_keyring_key_len(r, 1), 24);
	cr_assert_eq(swim_keyring_key_len(r, 2), 32);
	cr_assert_eq(swim_keyring_key_len(r, 3), SWIM_CRYPTO_E_NOKEY);
	/* a short key reads back zero-padded to the slot */
	memset(key, 0xee, sizeof(key));
	cr_assert_eq(swim_keyring_get(r, 0, key), 0);
	cr_assert_eq(key[15], 15);
	cr_assert_eq(key[16], 0);
	cr_assert_eq(key[31], 0);
	/* the same bytes at another length are another key */
	key_seq(key, 24, 0);
	cr_assert_eq(swim_keyring_use(r, key, 24), SWIM_CRYPTO_E_NOKEY);
	/* a packet under any of the three opens */
	cr_assert_eq(swim_crypto_seal_udp(k24, ping, (size_t)pl, pkt,
					  sizeof(pkt)), pl + 29);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)pl + 29, back,
					  sizeof(back)), pl);
	cr_assert_eq(swim_crypto_seal_udp(k32, ping, (size_t)pl, pkt,
					  sizeof(pkt)), pl + 29);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)pl + 29, back,
					  sizeof(back)), pl);
	/* rotate to the 32-byte key: what r seals now opens under k32 */
	key_seq(key, 32, 0x80);
	cr_assert_eq(swim_keyring_use(r, key, 32), 0);
	cr_assert_eq(swim_keyring_key_len(r, 0), 32);
	cr_assert_eq(swim_crypto_seal_udp(r, ping, (size_t)pl, pkt,
					  sizeof(pkt)), pl + 29);
	cr_assert_eq(swim_crypto_open_udp(k32, pkt, (size_t)pl + 29, back,
					  sizeof(back)), pl);
	key_seq(key, 16, 0);
	cr_assert_eq(swim_keyring_remove(r, key, 16), 0);
	cr_assert_eq(swim_keyring_count(r), 2);
	swim_keyring_delete(k32);
	swim_keyring_delete(k24);
	swim_keyring_delete(r);
}

Test(crypto_keys, keyring_files_and_base64_take_16_and_24_byte_keys)
{
	static const char json[] =
		"[\"AAECAwQFBgcICQoLDA0ODw==\", "
		"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX\"]";
	struct swim_keyring *r = swim_keyring_new(NULL);

	cr_assert_eq(swim_keyring_add_json(r, json, strlen(json)), 2);
	cr_assert_eq(swim_keyring_key_len(r, 0), 16);
	cr_assert_eq(swim_keyring_key_len(r, 1), 24);
	cr_assert_eq(swim_keyring_add_base64(r, "AAECAwQFBgcICQoLDA0ODw==",
					     24), 0, "already there");
	cr_assert_eq(swim_keyring_count(r), 2);
	swim_keyring_delete(r);
}

Test(crypto_keys, a_context_seals_and_opens_what_the_ring_does)
{
	struct swim_keyring *r = ring_len(24, 0);
	struct swim_crypto_ctx *c = swim_crypto_ctx_new(NULL);
	uint8_t ping[64], want[128], got[128], back[128];
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	int pl = unhex(ping_hex, ping, sizeof(ping));
	int wl = unhex(vec[1].v1, want, sizeof(want));

	cr_assert_not_null(c);
	nonce_fixed(NULL, nonce);
	cr_assert_eq(swim_crypto_ctx_count(c), 0);
	cr_assert_eq(swim_crypto_ctx_seal_udp(c, nonce, ping, (size_t)pl,
					      got, sizeof(got)),
		     SWIM_CRYPTO_E_NOKEY, "unbound");
	cr_assert_eq(swim_crypto_ctx_open_udp(c, want, (size_t)wl, back,
					      sizeof(back)),
		     SWIM_CRYPTO_E_NOKEY, "unbound");
	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	cr_assert_eq(swim_crypto_ctx_count(c), 1);
	cr_assert_eq(swim_crypto_ctx_seal_udp(c, nonce, ping, (size_t)pl,
					      got, sizeof(got)), wl);
	cr_assert_arr_eq(got, want, (size_t)wl);
	cr_assert_eq(swim_crypto_ctx_open_udp(c, want, (size_t)wl, back,
					      sizeof(back)), pl);
	cr_assert_arr_eq(back, ping, (size_t)pl);
	want[wl - 1] ^= 1;
	cr_assert_eq(swim_crypto_ctx_open_udp(c, want, (size_t)wl, back,
					      sizeof(back)),
		     SWIM_CRYPTO_E_AUTH);
	cr_assert_eq(swim_crypto_ctx_open_udp(c, want, 10, back,
					      sizeof(back)),
		     SWIM_CRYPTO_E_SHORT);
	cr_assert_eq(swim_crypto_ctx_seal_udp(c, nonce, ping, (size_t)pl,
					      got, (size_t)pl + 28),
		     SWIM_CRYPTO_E_NOSPACE);
	cr_assert_eq(swim_crypto_ctx_bind(c, NULL), 0);
	cr_assert_eq(swim_crypto_ctx_count(c), 0);
	swim_crypto_ctx_delete(c);
	swim_crypto_ctx_delete(NULL);
	swim_keyring_delete(r);
}

Test(crypto_keys, a_bound_context_follows_the_ring_after_rebind)
{
	struct swim_keyring *r = ring_len(16, 0);
	struct swim_keyring *k32 = ring_len(32, 0x80);
	struct swim_crypto_ctx *c = swim_crypto_ctx_new(NULL);
	uint8_t key[SWIM_CRYPTO_KEY_LEN], ping[64], pkt[128], back[128];
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = {0};
	int pl = unhex(ping_hex, ping, sizeof(ping));

	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	key_seq(key, 32, 0x80);
	cr_assert_eq(swim_keyring_add(r, key, 32), 0);
	cr_assert_eq(swim_keyring_use(r, key, 32), 0);
	/* until re-bound, c holds the keys it was given */
	cr_assert_eq(swim_crypto_ctx_count(c), 1);
	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	cr_assert_eq(swim_crypto_ctx_count(c), 2);
	cr_assert_eq(swim_crypto_ctx_seal_udp(c, nonce, ping, (size_t)pl,
					      pkt, sizeof(pkt)), pl + 29);
	cr_assert_eq(swim_crypto_open_udp(k32, pkt, (size_t)pl + 29, back,
					  sizeof(back)), pl,
		     "the new primary seals");
	/* bound to another ring: its keys only */
	cr_assert_eq(swim_crypto_ctx_bind(c, k32), 0);
	cr_assert_eq(swim_crypto_ctx_count(c), 1);
	swim_crypto_ctx_delete(c);
	swim_keyring_delete(k32);
	swim_keyring_delete(r);
}

/*
 * Every allocation of the process (libcrypto's included) while
 * is_counting: this executable's malloc family interposes glibc's. Not
 * under ASan, whose own malloc must stay the only one.
 */
#ifndef __SANITIZE_ADDRESS__
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t nb, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static atomic_bool is_counting;
static atomic_ulong nb_allocs;

static void
count(void)
{
	if (atomic_load_explicit(&is_counting, memory_order_relaxed))
		atomic_fetch_add(&nb_allocs, 1);
}

void *
malloc(size_t n)
{
	count();
	return __libc_malloc(n);
}

void *
calloc(size_t nb, size_t n)
{
	count();
	return __libc_calloc(nb, n);
}

void *
realloc(void *p, size_t n)
{
	count();
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	__libc_free(p);
}

Test(crypto_keys, seal_and_open_allocate_nothing_per_packet)
{
	struct swim_keyring *r = ring_len(16, 0);
	struct swim_crypto_ctx *c = swim_crypto_ctx_new(NULL);
	uint8_t ping[64], pkt[128], back[128];
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = {0};
	int pl = unhex(ping_hex, ping, sizeof(ping));
	int bad = 0;

	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	/* warm: the ring's pool context is created on first use */
	cr_assert_eq(swim_crypto_seal_udp(r, ping, (size_t)pl, pkt,
					  sizeof(pkt)), pl + 29);
	atomic_store(&is_counting, true);
	for (int i = 0; i < 200; i++) {
		nonce[0] = (uint8_t)i;
		bad += swim_crypto_ctx_seal_udp(c, nonce, ping, (size_t)pl,
						pkt, sizeof(pkt)) != pl + 29;
		bad += swim_crypto_ctx_open_udp(c, pkt, (size_t)pl + 29, back,
						sizeof(back)) != pl;
		bad += swim_crypto_seal_udp(r, ping, (size_t)pl, pkt,
					    sizeof(pkt)) != pl + 29;
		bad += swim_crypto_open_udp(r, pkt, (size_t)pl + 29, back,
					    sizeof(back)) != pl;
	}
	atomic_store(&is_counting, false);
	cr_assert_eq(bad, 0);
	cr_assert_eq(atomic_load(&nb_allocs), 0,
		     "%lu allocations in 800 seal/open calls",
		     atomic_load(&nb_allocs));
	/* the counter does see libcrypto's allocations */
	atomic_store(&is_counting, true);
	swim_crypto_ctx_delete(c);
	c = swim_crypto_ctx_new(NULL);
	cr_assert_eq(swim_crypto_ctx_set_backend(c, SWIM_CRYPTO_BACKEND_EVP),
		     0);
	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	atomic_store(&is_counting, false);
	cr_assert_gt(atomic_load(&nb_allocs), 0);
	swim_crypto_ctx_delete(c);
	swim_keyring_delete(r);
}

/* A context wanting b keys (bind) and runs with no allocation at all. */
static void
keys_without_allocating(enum swim_crypto_backend b)
{
	struct swim_keyring *r = ring_len(32, 0);
	struct swim_crypto_ctx *c = swim_crypto_ctx_new(NULL);
	uint8_t ping[64], pkt[128], back[128];
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN] = {0};
	int pl = unhex(ping_hex, ping, sizeof(ping));
	int bad = 0;

	cr_assert_eq(swim_crypto_ctx_set_backend(c, b), 0);
	/* the state is inline in the context: keying allocates nothing */
	atomic_store(&is_counting, true);
	cr_assert_eq(swim_crypto_ctx_bind(c, r), 0);
	for (int i = 0; i < 200; i++) {
		nonce[0] = (uint8_t)i;
		bad += swim_crypto_ctx_seal_udp(c, nonce, ping, (size_t)pl,
						pkt, sizeof(pkt)) != pl + 29;
		bad += swim_crypto_ctx_open_udp(c, pkt, (size_t)pl + 29, back,
						sizeof(back)) != pl;
	}
	atomic_store(&is_counting, false);
	cr_assert_eq(bad, 0);
	cr_assert_eq(swim_crypto_ctx_key_backend(c, 0), (int)b);
	cr_assert_eq(atomic_load(&nb_allocs), 0,
		     "%lu allocations binding and in 400 seal/open calls",
		     atomic_load(&nb_allocs));
	swim_crypto_ctx_delete(c);
	swim_keyring_delete(r);
}

Test(crypto_keys, libsodium_states_key_and_run_without_allocating)
{
	if (!swim_crypto_sodium_available())
		cr_skip_test("libsodium's AES-256-GCM needs AES-NI + PCLMUL");
	keys_without_allocating(SWIM_CRYPTO_BACKEND_SODIUM);
}

Test(crypto_keys, ipsec_mb_states_key_and_run_without_allocating)
{
	if (!swim_crypto_ipsec_mb_available())
		cr_skip_test("intel-ipsec-mb not built in or no AES-NI");
	keys_without_allocating(SWIM_CRYPTO_BACKEND_IPSEC_MB);
}
#endif

/* One thread of the concurrency test: seal and open through the ring. */
static void *
hammer(void *arg)
{
	const struct swim_keyring *r = arg;
	uint8_t ping[64], pkt[128], back[128];
	int pl = wire_unhex(ping_hex, ping, sizeof(ping));
	long bad = 0;

	for (int i = 0; i < 2000; i++) {
		ping[pl - 1] = (uint8_t)i;
		if (swim_crypto_seal_udp(r, ping, (size_t)pl, pkt,
					 sizeof(pkt)) != pl + 29 ||
		    swim_crypto_open_udp(r, pkt, (size_t)pl + 29, back,
					 sizeof(back)) != pl ||
		    memcmp(back, ping, (size_t)pl) != 0)
			bad++;
	}
	return (void *)bad;
}

Test(crypto_keys, more_threads_than_pooled_contexts_seal_and_open_at_once)
{
	enum { NB = SWIM_CRYPTO_POOL + 4 };
	struct swim_keyring *r = ring_len(24, 3);
	pthread_t t[NB];

	/* random nonces: the fixed source would repeat across threads */
	swim_keyring_set_nonce_source(r, NULL, NULL);
	for (int i = 0; i < NB; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, r), 0);
	for (int i = 0; i < NB; i++) {
		void *bad = NULL;

		cr_assert_eq(pthread_join(t[i], &bad), 0);
		cr_assert_null(bad, "thread %d: %ld failures", i, (long)bad);
	}
	swim_keyring_delete(r);
}
