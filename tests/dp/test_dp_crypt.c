/* SPDX-License-Identifier: MIT */
/*
 * The socket backend with a keyring (dp_cfg.keyring), on real loopback
 * sockets: a sealed ping is opened and acked on the dataplane thread with
 * a sealed ack; sealed gossip reaches control as plaintext; control's
 * packets leave sealed under the primary key; a packet under a secondary
 * key opens; plaintext and wrong-key packets are dropped and counted.
 * Waits are bounded (2 s) and assert arrival, never speed.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp.h"
#include "swim_crypto.h"
#include "dp_test_msgs.h"
#include "dp_test_util.h"

#define WAIT_MS 2000

/* The test's state: keyrings and the dataplane under test. */
static struct {
	struct swim_keyring *ring;	/* the node's: key 1 primary, key 2 */
	struct swim_keyring *peer;	/* a peer's: key 1 */
	struct swim_keyring *peer2;	/* a peer's: key 2 only */
	struct swim_keyring *other;	/* a stranger's: key 9 */
	struct dp *dp;
	uint16_t port;			/* the dataplane's port */
	int fd;				/* the test's UDP socket */
	uint16_t fd_port;
} t;

static struct swim_keyring *
ring_of(uint8_t first, uint8_t second)
{
	struct swim_keyring *r = swim_keyring_new(NULL);
	uint8_t key[SWIM_CRYPTO_KEY_LEN];

	cr_assert_not_null(r);
	memset(key, first, sizeof(key));
	cr_assert_eq(swim_keyring_add(r, key, sizeof(key)), 0);
	if (second != 0) {
		memset(key, second, sizeof(key));
		cr_assert_eq(swim_keyring_add(r, key, sizeof(key)), 0);
	}
	return r;
}

static void
setup(void)
{
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 256 };
	struct dp_snapshot snap;
	char err[128] = "";
	int fd;

	cr_assert_geq(sodium_init(), 0);
	if (!crypto_aead_aes256gcm_is_available())
		cr_skip_test("no AES-GCM on this CPU");
	t.ring = ring_of(1, 2);
	t.peer = ring_of(1, 0);
	t.peer2 = ring_of(2, 0);
	t.other = ring_of(9, 0);
	fd = dp_test_udp_open(&t.port);
	close(fd);
	cfg.bind.ip_len = 4;
	memcpy(cfg.bind.ip, "\x7f\x00\x00\x01", 4);
	cfg.bind.port = t.port;
	cfg.keyring = t.ring;
	t.dp = dp_new("socket", &cfg, err, sizeof(err));
	cr_assert_not_null(t.dp, "dp_new: %s", err);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.name, "me");
	dp_publish(t.dp, &snap);
	t.fd = dp_test_udp_open(&t.fd_port);
}

static void
teardown(void)
{
	if (t.dp != NULL)
		dp_delete(t.dp);
	if (t.fd > 0)
		close(t.fd);
	swim_keyring_delete(t.ring);
	swim_keyring_delete(t.peer);
	swim_keyring_delete(t.peer2);
	swim_keyring_delete(t.other);
}

TestSuite(dp_crypt, .init = setup, .fini = teardown, .timeout = 30);

/* Seal plain under ring and send it to the dataplane. */
static void
send_sealed(const struct swim_keyring *ring, const uint8_t *plain,
	    size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(t.port) };
	uint8_t buf[256];
	int n = ring != NULL ?
		swim_crypto_seal_udp(ring, plain, len, buf, sizeof(buf)) :
		(int)len;

	cr_assert_gt(n, 0);
	if (ring == NULL)
		memcpy(buf, plain, len);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(sendto(t.fd, buf, (size_t)n, 0, (struct sockaddr *)&sa,
			    sizeof(sa)), n);
}

/* Receive one datagram within WAIT_MS. @retval its length, -1 on timeout. */
static ssize_t
recv_wait(uint8_t *buf, size_t cap)
{
	struct pollfd pfd = { .fd = t.fd, .events = POLLIN };

	if (poll(&pfd, 1, WAIT_MS) != 1)
		return -1;
	return recv(t.fd, buf, cap, 0);
}

/* dp_recv until one packet arrives or WAIT_MS passes. */
static unsigned
recv_dp_wait(struct dp_pkt *pkt)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;

	while (dp_test_now_ms() < end) {
		if (dp_recv(t.dp, pkt, 1) == 1)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* Wait until drop_malformed reaches want (bounded). */
static uint64_t
malformed_wait(uint64_t want)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;
	struct dp_stats st;

	do {
		dp_get_stats(t.dp, &st);
		if (st.drop_malformed >= want)
			break;
		usleep(1000);
	} while (dp_test_now_ms() < end);
	return st.drop_malformed;
}

Test(dp_crypt, sealed_ping_gets_a_sealed_fast_ack)
{
	uint8_t buf[256], plain[256];
	ssize_t n;
	struct dp_stats st;

	send_sealed(t.peer, ping_me, sizeof(ping_me));
	n = recv_wait(buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)(sizeof(ack_42) + SWIM_CRYPTO_OVERHEAD));
	cr_assert_eq(buf[0], 1, "version 1");
	cr_assert_eq(swim_crypto_open_udp(t.peer, buf, (size_t)n, plain,
					  sizeof(plain)),
		     (int)sizeof(ack_42));
	cr_assert_arr_eq(plain, ack_42, sizeof(ack_42));
	dp_get_stats(t.dp, &st);
	cr_assert_eq(st.acks_fast, 1);
}

Test(dp_crypt, secondary_key_opens_but_replies_use_the_primary)
{
	uint8_t buf[256], plain[256];
	ssize_t n;

	send_sealed(t.peer2, ping_me, sizeof(ping_me));
	n = recv_wait(buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(swim_crypto_open_udp(t.peer2, buf, (size_t)n, plain,
					  sizeof(plain)),
		     SWIM_CRYPTO_E_AUTH, "sealed under key 1, not 2");
	cr_assert_eq(swim_crypto_open_udp(t.peer, buf, (size_t)n, plain,
					  sizeof(plain)),
		     (int)sizeof(ack_42));
}

Test(dp_crypt, sealed_gossip_reaches_control_as_plaintext)
{
	struct dp_pkt pkt;

	send_sealed(t.peer, suspect_c, sizeof(suspect_c));
	cr_assert_eq(recv_dp_wait(&pkt), 1);
	cr_assert_eq(pkt.len, sizeof(suspect_c));
	cr_assert_arr_eq(pkt.data, suspect_c, sizeof(suspect_c));
	cr_assert_eq(pkt.addr.port, t.fd_port);
}

Test(dp_crypt, control_packets_leave_sealed_with_fresh_nonces)
{
	struct dp_pkt pkt;
	uint8_t a[256], b[256], plain[256];
	ssize_t na, nb;

	dp_test_pkt_fill(&pkt, dp_test_lo, t.fd_port, suspect_c,
			 sizeof(suspect_c));
	cr_assert(dp_send(t.dp, &pkt));
	cr_assert(dp_send(t.dp, &pkt));
	na = recv_wait(a, sizeof(a));
	nb = recv_wait(b, sizeof(b));
	cr_assert_eq(na, (ssize_t)(sizeof(suspect_c) + SWIM_CRYPTO_OVERHEAD));
	cr_assert_eq(nb, na);
	cr_assert(memcmp(a + 1, b + 1, SWIM_CRYPTO_NONCE_LEN) != 0,
		  "a nonce was reused");
	cr_assert_eq(swim_crypto_open_udp(t.peer, a, (size_t)na, plain,
					  sizeof(plain)),
		     (int)sizeof(suspect_c));
	cr_assert_arr_eq(plain, suspect_c, sizeof(suspect_c));
}

Test(dp_crypt, plaintext_and_wrong_key_packets_are_dropped)
{
	struct dp_pkt pkt;
	uint8_t buf[256];

	send_sealed(NULL, ping_me, sizeof(ping_me));
	cr_assert_eq(malformed_wait(1), 1, "plaintext ping");
	send_sealed(t.other, ping_me, sizeof(ping_me));
	cr_assert_eq(malformed_wait(2), 2, "wrong key");
	send_sealed(NULL, (const uint8_t *)"\x01", 1);
	cr_assert_eq(malformed_wait(3), 3, "too short");
	cr_assert_eq(recv_wait(buf, sizeof(buf)), -1, "no ack");
	cr_assert_eq(dp_recv(t.dp, &pkt, 1), 0, "nothing for control");
	/* Control's packet that cannot grow by the overhead is not sent. */
	dp_test_pkt_fill(&pkt, dp_test_lo, t.fd_port, NULL, DP_PKT_MAX);
	cr_assert(dp_send(t.dp, &pkt));
	cr_assert_eq(recv_wait(buf, sizeof(buf)), -1, "too big to seal");
}
