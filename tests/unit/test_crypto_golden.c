/* SPDX-License-Identifier: MIT */
/*
 * swim_crypto against the real encrypted captures: every packet and
 * stream of serf <-> serf (captures/enc.pcap) and serf <-> the
 * libsodium-based Python node (t3), extracted to tests/data/{enc,t3}.*.hex,
 * opens with the capture's key and then decodes with the wire codec.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto_util.h"
#include "swim_crypto.h"
#include "swim_wire.h"
#include "wire_util.h"

#ifndef WIRE_DATA_DIR
#error "WIRE_DATA_DIR must point at tests/data"
#endif

TestSuite(crypto_golden, .init = crypto_setup, .timeout = 60);

enum { LINE_MAX_BYTES = 1 << 16 };

static char line[2 * LINE_MAX_BYTES + 2];
static uint8_t pkt[LINE_MAX_BYTES];
static uint8_t plain[LINE_MAX_BYTES];
static uint8_t inner[LINE_MAX_BYTES];
static struct swim_wire_scratch scratch;

/* Next packet of the capture f into pkt. @retval length, 0 at EOF. */
static int
next_packet(FILE *f)
{
	return wire_next_hex(f, line, sizeof(line), pkt, sizeof(pkt));
}

static struct swim_keyring *
capture_ring(void)
{
	struct swim_keyring *r = swim_keyring_new(NULL);

	cr_assert_eq(swim_keyring_add_base64(r, CRYPTO_ENC_KEY_B64,
					     strlen(CRYPTO_ENC_KEY_B64)), 0);
	return r;
}

static int
count_msgs(void *ctx, const struct swim_msg *msg)
{
	(void)msg;
	++*(int *)ctx;
	return 0;
}

/*
 * The encrypted captures: enc (serf <-> serf) and t3 (serf <-> the
 * libsodium-based Python node), both under the key of enc.key.txt.
 */
static const char *const enc_captures[] = { "enc", "t3" };

/* Open and decode every UDP packet of one capture. @retval packets. */
static int
check_udp_capture(const struct swim_keyring *r, const char *name,
		  int *nb_msg)
{
	FILE *f = wire_open_data(name, "udp");
	int len, nb_pkt = 0;

	while ((len = next_packet(f)) > 0) {
		int n = swim_crypto_open_udp(r, pkt, (size_t)len, plain,
					     sizeof(plain));

		cr_assert_eq(n, len - SWIM_CRYPTO_OVERHEAD, "%s packet %d: %s",
			     name, nb_pkt, swim_crypto_strerror(n));
		cr_assert_eq(pkt[0], 1, "version 1 is what serf sends");
		n = swim_wire_decode_packet(plain, (size_t)n, &scratch,
					    count_msgs, nb_msg);
		cr_assert_gt(n, 0, "%s packet %d: %s", name, nb_pkt,
			     swim_wire_strerror(n));
		nb_pkt++;
	}
	fclose(f);
	return nb_pkt;
}

Test(crypto_golden, every_encrypted_udp_packet_opens_and_decodes)
{
	struct swim_keyring *r = capture_ring();
	int nb_pkt = 0, nb_msg = 0;

	for (size_t i = 0; i < 2; i++)
		nb_pkt += check_udp_capture(r, enc_captures[i], &nb_msg);
	cr_log_info("%d packets, %d messages", nb_pkt, nb_msg);
	/* The counts of captures/enc-decoded.txt and t3-decoded.txt. */
	cr_assert_eq(nb_pkt, 156 + 108);
	cr_assert_gt(nb_msg, nb_pkt);
	swim_keyring_delete(r);
}

/* Decode a stream plaintext: optional compress, then one message. */
static void
decode_stream_plain(const uint8_t *buf, size_t len, int *nb_pp)
{
	struct swim_push_pull_header h;
	struct swim_str us;
	struct swim_msg m;

	if (buf[0] == SWIM_MSG_COMPRESS) {
		int n = swim_wire_decode_compress(buf + 1, len - 1, inner,
						  sizeof(inner));

		cr_assert_gt(n, 0, "decompress: %s", swim_wire_strerror(n));
		buf = inner;
		len = (size_t)n;
	}
	if (buf[0] == SWIM_MSG_PUSH_PULL) {
		cr_assert_eq(swim_wire_decode_push_pull(buf, len, &h, NULL,
							NULL, &us),
			     (int)len);
		cr_assert_gt(h.nb_nodes, 0);
		++*nb_pp;
		return;
	}
	cr_assert_eq(swim_wire_decode_msg(buf, len, &m), 0);
}

/* Open, decode and re-seal one stream direction held in pkt. */
static void
check_stream(const struct swim_keyring *r, int len, int *nb_pp)
{
	size_t used = 0;
	uint8_t *re = malloc((size_t)len);
	int n = swim_crypto_open_stream(r, pkt, (size_t)len, plain,
					sizeof(plain), &used);

	cr_assert_gt(n, 0, "stream: %s", swim_crypto_strerror(n));
	cr_assert_eq(used, (size_t)len, "one frame per direction");
	cr_assert_eq(n, len - SWIM_CRYPTO_STREAM_OVERHEAD);
	decode_stream_plain(plain, (size_t)n, nb_pp);
	/* Re-sealing round-trips through our own open. */
	cr_assert_eq(swim_crypto_seal_stream(r, plain, (size_t)n, re,
					     (size_t)len),
		     len);
	cr_assert_eq(swim_crypto_open_stream(r, re, (size_t)len, inner,
					     sizeof(inner), NULL),
		     n);
	cr_assert_arr_eq(inner, plain, (size_t)n);
	free(re);
}

Test(crypto_golden, every_encrypted_stream_opens_and_decodes)
{
	struct swim_keyring *r = capture_ring();
	int len, nb_stream = 0, nb_pp = 0;

	for (size_t i = 0; i < 2; i++) {
		FILE *f = wire_open_data(enc_captures[i], "tcp");

		while ((len = next_packet(f)) > 0) {
			check_stream(r, len, &nb_pp);
			nb_stream++;
		}
		fclose(f);
	}
	cr_log_info("%d streams, %d push/pulls", nb_stream, nb_pp);
	cr_assert_eq(nb_stream, 6 + 4);
	cr_assert_eq(nb_pp, 10, "joins and periodic push/pulls");
	swim_keyring_delete(r);
}

Test(crypto_golden, capture_packets_do_not_open_under_another_key)
{
	struct swim_keyring *r = ring_with(0);
	FILE *f = wire_open_data("enc", "udp");
	int len = next_packet(f);

	fclose(f);
	cr_assert_gt(len, 0);
	cr_assert_eq(swim_crypto_open_udp(r, pkt, (size_t)len, plain,
					  sizeof(plain)),
		     SWIM_CRYPTO_E_AUTH);
	swim_keyring_delete(r);
}
