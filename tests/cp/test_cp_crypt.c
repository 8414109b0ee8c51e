/* SPDX-License-Identifier: MIT */
/*
 * Encryption in the control plane: the --encrypt / --keyring-file flags
 * (control/cp_cfg.c) with every error line, and the TCP sync engine with
 * a keyring (control/cp_sync.c) over loopback: sealed inbound push/pull
 * and TCP ping answered sealed, plaintext and wrong-key streams refused
 * with memberlist's sealed errResp, outbound push/pull and ping sealed,
 * a plaintext or unreadable reply failing the exchange.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp.h"
#include "swim_crypto.h"
#include "swim_wire.h"
#include "sync_fx.h"

/* serf keygen output (captures/enc.key.txt) and another 32-byte key. */
#define KEY_A "NfCkMllT5KcahAfYZFkFkM7bZUzlpnSOoPhQcHck/xE="
#define KEY_B "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void
sodium_setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	if (!crypto_aead_aes256gcm_is_available())
		cr_skip_test("no AES-GCM on this CPU");
}

TestSuite(cp_crypt_cfg, .init = sodium_setup, .timeout = 30);
TestSuite(cp_crypt_sync, .init = sodium_setup, .timeout = 60);

/* --- flags --- */

static struct cp_cfg cfg;
static char err[512];

/* Parse a NULL-terminated argv over the defaults. */
static int
parse(const char **args)
{
	char *argv[32] = {"gossipd"};
	int argc = 1;

	while (args[argc - 1] != NULL)
		argv[argc] = (char *)args[argc - 1], argc++;
	cp_cfg_default(&cfg);
	err[0] = '\0';
	return cp_cfg_parse(&cfg, argc, argv, err, sizeof(err));
}

#define PARSE(...) parse((const char *[]){__VA_ARGS__, NULL})

/* A temporary keyring file holding text. @retval its path (static). */
static const char *
keyring_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/cp-crypt-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(cp_crypt_cfg, no_flag_means_no_keyring)
{
	struct swim_keyring *ring = (void *)1;

	cr_assert_eq(PARSE("--name", "n"), 0);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)), 0);
	cr_assert_null(ring);
}

Test(cp_crypt_cfg, encrypt_flag_builds_a_one_key_ring)
{
	struct swim_keyring *ring;
	uint8_t key[32];

	cr_assert_eq(PARSE("--encrypt", KEY_A), 0, "%s", err);
	cr_assert_str_eq(cfg.encrypt, KEY_A);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)), 0);
	cr_assert_not_null(ring);
	cr_assert_eq(swim_keyring_count(ring), 1);
	cr_assert_eq(swim_keyring_get(ring, 0, key), 0);
	cr_assert_eq(key[0], 0x35);
	swim_keyring_delete(ring);
	cr_assert_eq(PARSE("--encrypt=" KEY_B), 0, "%s", err);
}

Test(cp_crypt_cfg, keyring_file_first_key_is_primary)
{
	const char *path = keyring_file("[\"" KEY_B "\", \"" KEY_A "\"]\n");
	struct swim_keyring *ring;
	uint8_t key[32];

	cr_assert_eq(PARSE("--keyring-file", path), 0, "%s", err);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(swim_keyring_count(ring), 2);
	cr_assert_eq(swim_keyring_get(ring, 0, key), 0);
	cr_assert_eq(key[0], 0x00, "KEY_B first");
	swim_keyring_delete(ring);
	/* --encrypt with a file: the file's primary stays, the key is added. */
	cr_assert_eq(PARSE("--keyring-file", path, "--encrypt", KEY_A), 0);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)), 0);
	cr_assert_eq(swim_keyring_count(ring), 2, "KEY_A is already there");
	cr_assert_eq(swim_keyring_get(ring, 0, key), 0);
	cr_assert_eq(key[0], 0x00);
	swim_keyring_delete(ring);
	unlink(path);
}

Test(cp_crypt_cfg, bad_encrypt_keys_fail_at_parse_without_echo)
{
	static const struct {
		const char *key;
		const char *msg;
	} cases[] = {
		{"not-base64!", "invalid --encrypt: key is not valid standard "
				"base64"},
		{"AAECAwQFBgcICQoLDA0ODxAREhM=",
		 "invalid --encrypt: key must be 16, 24 or 32 bytes (AES-128, "
		 "AES-192 or AES-256)"},
		{"", "invalid --encrypt: want a base64 key (serf keygen)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(PARSE("--encrypt", cases[i].key), -EINVAL);
		cr_assert_str_eq(err, cases[i].msg, "case %zu", i);
		cr_assert_null(strchr(err, '\n'));
	}
	cr_assert_eq(PARSE("--encrypt"), -EINVAL);
	cr_assert_str_eq(err, "flag --encrypt needs a value (a base64 key "
			      "(serf keygen))");
}

Test(cp_crypt_cfg, bad_keyring_files_name_the_problem)
{
	struct swim_keyring *ring = (void *)1;
	const char *path;

	cr_assert_eq(PARSE("--keyring-file", "/nonexistent/keyring"), 0);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)),
		     -EINVAL);
	cr_assert_null(ring);
	cr_assert_str_eq(err, "invalid --keyring-file /nonexistent/keyring: "
			      "No such file or directory");
	path = keyring_file("{\"keys\": []}");
	cr_assert_eq(PARSE("--keyring-file", path), 0);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "not a non-empty JSON array"), "%s",
			   err);
	unlink(path);
	path = keyring_file("[\"AAECAwQFBgcICQoLDA0ODxAREhM=\"]");
	cr_assert_eq(PARSE("--keyring-file", path), 0);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "16, 24 or 32"), "%s", err);
	unlink(path);
}

Test(cp_crypt_cfg, aes128_and_aes192_keys_and_the_dpdk_dataplane_encrypt)
{
	struct swim_keyring *ring = NULL;
	const char *path;

	cr_assert_eq(PARSE("--encrypt", "AAECAwQFBgcICQoLDA0ODw==",
			   "--dataplane", "dpdk"), 0);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(swim_keyring_key_len(ring, 0), 16);
	swim_keyring_delete(ring);
	path = keyring_file("[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX\"]");
	cr_assert_eq(PARSE("--keyring-file", path), 0);
	cr_assert_eq(cp_cfg_keyring_new(&cfg, &ring, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(swim_keyring_key_len(ring, 0), 24);
	swim_keyring_delete(ring);
	unlink(path);
}

/* --- the sync engine with a keyring --- */

static struct {
	struct swim_keyring *ring;	/* the engine's: KEY_A */
	struct swim_keyring *wrong;	/* KEY_B */
} e;

static struct swim_keyring *
ring_of(const char *b64)
{
	struct swim_keyring *r = swim_keyring_new(NULL);

	cr_assert_not_null(r);
	cr_assert_eq(swim_keyring_add_base64(r, b64, strlen(b64)), 0);
	return r;
}

/* The engine with a keyring (KEY_A), streams timing out after 2 s. */
static void
start(void)
{
	struct cp_sync_cfg sc;

	e.ring = ring_of(KEY_A);
	e.wrong = ring_of(KEY_B);
	sync_fx_cfg(&sc);
	sc.tcp_timeout_us = 2000000;
	sc.keyring = e.ring;
	sync_fx_start(&sc);
}

static void
stop(void)
{
	sync_fx_stop();
	swim_keyring_delete(e.ring);
	swim_keyring_delete(e.wrong);
}

/* Seal plain as a stream frame under ring, send it on fd. */
static void
send_sealed(int fd, const struct swim_keyring *ring, const uint8_t *plain,
	    size_t len)
{
	uint8_t frame[1024];
	int n = swim_crypto_seal_stream(ring, plain, len, frame,
					sizeof(frame));

	cr_assert_gt(n, 0);
	cr_assert_eq(send(fd, frame, (size_t)n, 0), n);
}

/* Open a reply frame with KEY_A. @retval plaintext length. */
static int
open_reply(const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
	size_t used = 0;
	int n = swim_crypto_open_stream(e.ring, buf, len, out, cap, &used);

	cr_assert_gt(n, 0, "reply does not open: %s",
		     swim_crypto_strerror(n));
	cr_assert_eq(used, len, "one frame, nothing after it");
	return n;
}

/* The errResp text of plain (type 13), as a C string in out. */
static void
err_text(const uint8_t *plain, size_t len, char *out, size_t cap)
{
	struct swim_msg m;

	cr_assert_eq(swim_wire_decode_msg(plain, len, &m), 0);
	cr_assert_eq(m.type, SWIM_MSG_ERR);
	cr_assert_lt(m.err.error.len, cap);
	memcpy(out, m.err.error.ptr, m.err.error.len);
	out[m.err.error.len] = '\0';
}

/* A push/pull header with no nodes. */
static size_t
make_push_pull(uint8_t *out, size_t cap)
{
	struct swim_push_pull_header h = {.join = true};
	int n = swim_wire_encode_push_pull_header(&h, out, cap);

	cr_assert_gt(n, 0);
	return (size_t)n;
}

Test(cp_crypt_sync, sealed_push_pull_is_answered_sealed)
{
	uint8_t req[64], rep[512], plain[512];
	size_t len = make_push_pull(req, sizeof(req));
	size_t n;
	int fd, pl;

	start();
	fd = client();
	send_sealed(fd, e.ring, req, len);
	n = read_all(fd, rep, sizeof(rep));
	cr_assert_gt(n, 0);
	cr_assert_eq(rep[0], SWIM_CRYPTO_STREAM_TYPE, "reply is sealed");
	pl = open_reply(rep, n, plain, sizeof(plain));
	cr_assert_gt(pl, 0);
	cr_assert_eq(plain[0], SWIM_MSG_PUSH_PULL);
	cr_assert_eq(seen.nb_merge, 1);
	cr_assert_eq(seen.merged_len, len, "merge sees the plaintext");
	cr_assert_arr_eq(seen.merged, req, len);
	close(fd);
	stop();
}

Test(cp_crypt_sync, sealed_compressed_push_pull_byte_by_byte)
{
	uint8_t req[64], z[256], frame[512], rep[512];
	size_t len = make_push_pull(req, sizeof(req));
	int zl = swim_wire_encode_compress(req, len, z, sizeof(z));
	int fl, fd;

	start();
	cr_assert_gt(zl, 0);
	fl = swim_crypto_seal_stream(e.ring, z, (size_t)zl, frame,
				     sizeof(frame));
	cr_assert_gt(fl, 0);
	fd = client();
	for (int i = 0; i < fl; i++) {
		cr_assert_eq(send(fd, frame + i, 1, 0), 1);
		pump(1, NULL);
		if (i + 1 < fl)
			cr_assert_eq(seen.nb_merge, 0, "early at %d", i);
	}
	cr_assert_gt(read_all(fd, rep, sizeof(rep)), 0);
	cr_assert_eq(seen.nb_merge, 1);
	cr_assert_arr_eq(seen.merged, req, len);
	close(fd);
	stop();
}

Test(cp_crypt_sync, sealed_tcp_ping_gets_a_sealed_ack)
{
	struct swim_msg ping = {.type = SWIM_MSG_PING}, ack;
	uint8_t req[128], rep[256], plain[256];
	int n, fd;

	start();
	ping.ping.seq_no = 77;
	ping.ping.node = (struct swim_str){(const uint8_t *)"me", 2};
	n = swim_wire_encode_msg(&ping, req, sizeof(req));
	fd = client();
	send_sealed(fd, e.ring, req, (size_t)n);
	n = (int)read_all(fd, rep, sizeof(rep));
	n = open_reply(rep, (size_t)n, plain, sizeof(plain));
	cr_assert_eq(swim_wire_decode_msg(plain, (size_t)n, &ack), 0);
	cr_assert_eq(ack.type, SWIM_MSG_ACK);
	cr_assert_eq(ack.ack.seq_no, 77);
	close(fd);
	stop();
}

/* The engine's answer on fd is a sealed errResp with this text, and
 * nothing was merged. */
static void
expect_refusal(int fd, const char *want)
{
	uint8_t rep[512], plain[512];
	char text[128];
	int n;

	n = (int)read_all(fd, rep, sizeof(rep));
	n = open_reply(rep, (size_t)n, plain, sizeof(plain));
	err_text(plain, (size_t)n, text, sizeof(text));
	cr_assert_str_eq(text, want);
	cr_assert_eq(seen.nb_merge, 0);
}

Test(cp_crypt_sync, plaintext_stream_is_refused_like_memberlist)
{
	uint8_t req[64];
	size_t len = make_push_pull(req, sizeof(req));
	struct cp_sync_stats st;
	int fd;

	start();
	fd = client();
	cr_assert_eq(send(fd, req, len, 0), (ssize_t)len);
	expect_refusal(fd, "Encryption is configured but remote state is not "
			   "encrypted");
	cp_sync_get_stats(fx.sync, &st);
	cr_assert_eq(st.bad_input, 1);
	close(fd);
	stop();
}

Test(cp_crypt_sync, wrong_key_stream_is_refused_like_memberlist)
{
	uint8_t req[64];
	size_t len = make_push_pull(req, sizeof(req));
	int fd;

	start();
	fd = client();
	send_sealed(fd, e.wrong, req, len);
	expect_refusal(fd, "No installed keys could decrypt the message");
	close(fd);
	stop();
}

/* Accept the engine's connection and read its whole sealed frame. */
static int
peer_accept(int lfd, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = -1;

	for (int i = 0; i < 500 && fd < 0; i++) {
		pump(1, NULL);
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	}
	cr_assert(fd >= 0);
	*len = 0;
	for (int i = 0; i < 500; i++) {
		long want = swim_crypto_stream_frame_len(buf, *len);
		ssize_t n;

		if (want > 0 && *len >= (size_t)want)
			break;
		pump(1, NULL);
		n = recv(fd, buf + *len, cap - *len, 0);
		if (n > 0)
			*len += (size_t)n;
	}
	return fd;
}

/* Start an outbound push/pull; the peer gets and checks our frame. */
static int
outbound_push_pull(int lfd, uint16_t port)
{
	uint8_t req[512], plain[512];
	struct swim_addr to;
	size_t len;
	int fd, n;

	cp_addr_parse("127.0.0.1:1", 0, &to);
	to.port = port;
	cp_sync_push_pull(fx.sync, cp_now_us(), &to, true);
	fd = peer_accept(lfd, req, sizeof(req), &len);
	cr_assert_eq(req[0], SWIM_CRYPTO_STREAM_TYPE, "we push sealed");
	n = open_reply(req, len, plain, sizeof(plain));
	cr_assert_gt(n, 0);
	cr_assert_eq(plain[0], SWIM_MSG_PUSH_PULL);
	return fd;
}

Test(cp_crypt_sync, outbound_push_pull_is_sealed_both_ways)
{
	uint8_t rep[64];
	size_t rl = make_push_pull(rep, sizeof(rep));
	uint16_t port;
	int lfd, fd;

	start();
	lfd = peer_listen(&port);
	fd = outbound_push_pull(lfd, port);
	send_sealed(fd, e.ring, rep, rl);
	pump(500, &seen.nb_pp_done);
	cr_assert_eq(seen.nb_pp_done, 1);
	cr_assert_eq(seen.pp_err, 0);
	cr_assert_eq(seen.nb_merge, 1);
	cr_assert_arr_eq(seen.merged, rep, rl);
	close(fd);
	close(lfd);
	stop();
}

Test(cp_crypt_sync, outbound_plaintext_or_unreadable_reply_fails)
{
	uint8_t rep[64];
	size_t rl = make_push_pull(rep, sizeof(rep));
	uint16_t port;
	int lfd, fd;

	start();
	lfd = peer_listen(&port);
	fd = outbound_push_pull(lfd, port);
	cr_assert_eq(send(fd, rep, rl, 0), (ssize_t)rl);
	pump(500, &seen.nb_pp_done);
	cr_assert_eq(seen.nb_pp_done, 1);
	cr_assert_eq(seen.pp_err, -EPROTO, "plaintext reply");
	close(fd);
	seen.nb_pp_done = 0;
	fd = outbound_push_pull(lfd, port);
	send_sealed(fd, e.wrong, rep, rl);
	pump(500, &seen.nb_pp_done);
	cr_assert_eq(seen.nb_pp_done, 1);
	cr_assert_eq(seen.pp_err, -EPROTO, "reply under another key");
	cr_assert_eq(seen.nb_merge, 0);
	close(fd);
	close(lfd);
	stop();
}

Test(cp_crypt_sync, outbound_tcp_ping_is_sealed_both_ways)
{
	struct swim_msg ack = {.type = SWIM_MSG_ACK}, ping;
	uint8_t req[512], plain[512], a[64];
	struct swim_addr to;
	uint16_t port;
	size_t len;
	int lfd, fd, n;

	start();
	lfd = peer_listen(&port);
	cp_addr_parse("127.0.0.1:1", 0, &to);
	to.port = port;
	cp_sync_ping(fx.sync, cp_now_us(), &to, "peer", 9,
		     cp_now_us() + 2000000);
	fd = peer_accept(lfd, req, sizeof(req), &len);
	n = open_reply(req, len, plain, sizeof(plain));
	cr_assert_eq(swim_wire_decode_msg(plain, (size_t)n, &ping), 0);
	cr_assert_eq(ping.type, SWIM_MSG_PING);
	cr_assert_eq(ping.ping.seq_no, 9);
	ack.ack.seq_no = 9;
	n = swim_wire_encode_msg(&ack, a, sizeof(a));
	send_sealed(fd, e.ring, a, (size_t)n);
	pump(500, &seen.nb_ping_done);
	cr_assert_eq(seen.nb_ping_done, 1);
	cr_assert(seen.ping_acked);
	close(fd);
	close(lfd);
	stop();
}
