/* SPDX-License-Identifier: MIT */
/*
 * The socket backend on real loopback sockets (127.0.0.1, free ports):
 * pings acked by the dataplane thread with no control involvement,
 * gossip delivered to dp_recv, control's packets sent, bad datagrams
 * counted. Waits are bounded (2 s) and assert arrival, never speed.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp.h"
#include "dp_internal.h"
#include "dp_test_msgs.h"
#include "dp_test_util.h"

#define WAIT_MS 2000

static uint16_t
free_port(void)
{
	uint16_t port;
	int fd = dp_test_udp_open(&port);

	close(fd);
	return port;
}

static struct dp *
sock_dp(unsigned nb_lcores, uint16_t *port, const char *name)
{
	struct dp_cfg cfg = { .nb_lcores = nb_lcores, .ring_size = 256 };
	struct dp_snapshot snap;
	char err[128] = "";
	struct dp *dp;

	*port = free_port();
	cfg.bind.ip_len = 4;
	memcpy(cfg.bind.ip, "\x7f\x00\x00\x01", 4);
	cfg.bind.port = *port;
	dp = dp_new("socket", &cfg, err, sizeof(err));
	cr_assert_not_null(dp, "dp_new: %s", err);
	if (name != NULL) {
		memset(&snap, 0, sizeof(snap));
		strcpy(snap.name, name);
		dp_publish(dp, &snap);
	}
	return dp;
}

static void
send_to(int fd, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&sa,
			    sizeof(sa)), (ssize_t)len);
}

/* Receive one datagram within WAIT_MS. @retval its length, -1 on timeout. */
static ssize_t
recv_wait(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, WAIT_MS) != 1)
		return -1;
	return recv(fd, buf, cap, 0);
}

/* dp_recv until one packet arrives or WAIT_MS passes. */
static unsigned
recv_dp_wait(struct dp *dp, struct dp_pkt *pkt)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;

	while (dp_test_now_ms() < end) {
		if (dp_recv(dp, pkt, 1) == 1)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* Wait until the field at off of dp_stats reaches want (bounded). */
static uint64_t
stat_wait(struct dp *dp, size_t off, uint64_t want)
{
	uint64_t end = dp_test_now_ms() + WAIT_MS;
	struct dp_stats st;
	uint64_t v = 0;

	while (dp_test_now_ms() < end) {
		dp_get_stats(dp, &st);
		memcpy(&v, (char *)&st + off, sizeof(v));
		if (v >= want)
			break;
		usleep(1000);
	}
	return v;
}

Test(dp_socket, ping_is_acked_byte_exact_without_control)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(1, &port, "me");
	int fd = dp_test_udp_open(&cport);
	uint8_t buf[2048];
	struct dp_pkt pkt;
	struct dp_stats st;

	send_to(fd, port, ping_me, sizeof(ping_me));
	cr_assert_eq(recv_wait(fd, buf, sizeof(buf)), (ssize_t)sizeof(ack_42),
		     "no ack within %d ms", WAIT_MS);
	cr_assert_eq(memcmp(buf, ack_42, sizeof(ack_42)), 0);
	cr_assert_eq(dp_recv(dp, &pkt, 1), 0, "a bare ping stays off control");
	dp_get_stats(dp, &st);
	cr_assert_eq(st.acks_fast, 1);
	cr_assert_eq(st.rx_pkts, 1);
	cr_assert_eq(st.to_control, 0);
	cr_assert_eq(stat_wait(dp, offsetof(struct dp_stats, tx_pkts), 1), 1);
	close(fd);
	dp_delete(dp);
}

Test(dp_socket, ack_follows_source_addr_and_port)
{
	uint16_t port, cport, rport;
	struct dp *dp = sock_dp(1, &port, "me");
	int fd = dp_test_udp_open(&cport);
	int rfd = dp_test_udp_open(&rport);
	uint8_t ping[64], buf[2048];
	size_t len = 0;

	/* ping me seq 42 {SourceAddr 127.0.0.1, SourcePort rport} */
	memcpy(ping, ping_me, sizeof(ping_me));
	ping[1] = 0x84;
	len = sizeof(ping_me);
	memcpy(ping + len, "\xaaSourceAddr\xa4\x7f\x00\x00\x01", 16);
	len += 16;
	memcpy(ping + len, "\xaaSourcePort\xcd", 12);
	len += 12;
	ping[len++] = (uint8_t)(rport >> 8);
	ping[len++] = (uint8_t)rport;
	send_to(fd, port, ping, len);
	cr_assert_eq(recv_wait(rfd, buf, sizeof(buf)), (ssize_t)sizeof(ack_42));
	cr_assert_eq(memcmp(buf, ack_42, sizeof(ack_42)), 0);
	close(fd);
	close(rfd);
	dp_delete(dp);
}

Test(dp_socket, gossip_reaches_dp_recv_with_its_source)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(1, &port, "me");
	int fd = dp_test_udp_open(&cport);
	struct dp_pkt pkt;

	send_to(fd, port, suspect_c, sizeof(suspect_c));
	cr_assert_eq(recv_dp_wait(dp, &pkt), 1);
	cr_assert_eq(pkt.len, sizeof(suspect_c));
	cr_assert_eq(memcmp(pkt.data, suspect_c, sizeof(suspect_c)), 0);
	cr_assert_eq(pkt.flags, 0);
	cr_assert_eq(pkt.addr.ip_len, 4);
	cr_assert_eq(memcmp(pkt.addr.ip, "\x7f\x00\x00\x01", 4), 0);
	cr_assert_eq(pkt.addr.port, cport);
	close(fd);
	dp_delete(dp);
}

Test(dp_socket, ping_plus_gossip_is_acked_and_flagged)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(1, &port, "me");
	int fd = dp_test_udp_open(&cport);
	uint8_t buf[2048];
	size_t len = 0;
	struct dp_pkt pkt;

	buf[len++] = SWIM_MSG_COMPOUND;
	buf[len++] = 2;
	buf[len++] = 0;
	buf[len++] = sizeof(ping_me);
	buf[len++] = 0;
	buf[len++] = sizeof(suspect_c);
	memcpy(buf + len, ping_me, sizeof(ping_me));
	len += sizeof(ping_me);
	memcpy(buf + len, suspect_c, sizeof(suspect_c));
	len += sizeof(suspect_c);
	send_to(fd, port, buf, len);
	cr_assert_eq(recv_dp_wait(dp, &pkt), 1);
	cr_assert_eq(pkt.flags, DP_PKT_F_PINGS_ANSWERED);
	cr_assert_eq(pkt.len, len);
	cr_assert_eq(recv_wait(fd, buf, sizeof(buf)), (ssize_t)sizeof(ack_42));
	cr_assert_eq(memcmp(buf, ack_42, sizeof(ack_42)), 0);
	close(fd);
	dp_delete(dp);
}

Test(dp_socket, control_packets_are_sent)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(2, &port, NULL);
	int fd = dp_test_udp_open(&cport);
	struct dp_pkt pkt;
	uint8_t buf[2048];

	dp_test_pkt_fill(&pkt, dp_test_lo, cport, suspect_c, sizeof(suspect_c));
	cr_assert(dp_send(dp, &pkt));
	cr_assert_eq(recv_wait(fd, buf, sizeof(buf)), (ssize_t)sizeof(suspect_c));
	cr_assert_eq(memcmp(buf, suspect_c, sizeof(suspect_c)), 0);
	close(fd);
	dp_delete(dp);
}

Test(dp_socket, unsendable_destinations_are_counted)
{
	uint16_t port;
	struct dp *dp = sock_dp(1, &port, NULL);
	struct dp_pkt pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.len = 4;		/* no address at all */
	cr_assert(dp_send(dp, &pkt));
	pkt.addr.ip_len = 7;	/* neither IPv4 nor IPv6 */
	cr_assert(dp_send(dp, &pkt));
	cr_assert_eq(stat_wait(dp, offsetof(struct dp_stats, drop_tx), 2), 2);
	dp_delete(dp);
}

Test(dp_socket, malformed_and_oversized_datagrams_are_counted)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(1, &port, "me");
	int fd = dp_test_udp_open(&cport);
	static uint8_t big[DP_PKT_MAX + 100];
	struct dp_pkt pkt;

	send_to(fd, port, ping_me, 5);		/* a ping cut short */
	send_to(fd, port, big, sizeof(big));	/* larger than DP_PKT_MAX */
	send_to(fd, port, "", 0);		/* empty */
	cr_assert_eq(stat_wait(dp, offsetof(struct dp_stats, drop_malformed),
			       2), 2);
	cr_assert_eq(stat_wait(dp, offsetof(struct dp_stats, drop_too_big), 1),
		     1);
	cr_assert_eq(dp_recv(dp, &pkt, 1), 0);
	close(fd);
	dp_delete(dp);
}

Test(dp_socket, every_reuseport_thread_answers)
{
	uint16_t port, cport[8];
	struct dp *dp = sock_dp(4, &port, "me");
	int fd[8];
	uint8_t buf[2048];
	struct dp_stats st;

	/* 8 source ports spread over the 4 sockets by the kernel's hash */
	for (int i = 0; i < 8; i++) {
		fd[i] = dp_test_udp_open(&cport[i]);
		send_to(fd[i], port, ping_me, sizeof(ping_me));
	}
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(recv_wait(fd[i], buf, sizeof(buf)),
			     (ssize_t)sizeof(ack_42), "client %d", i);
		cr_assert_eq(memcmp(buf, ack_42, sizeof(ack_42)), 0);
		close(fd[i]);
	}
	dp_get_stats(dp, &st);
	cr_assert_eq(st.acks_fast, 8);
	dp_delete(dp);
}

Test(dp_socket, bind_conflict_fails_with_a_reason)
{
	uint16_t port;
	int fd = dp_test_udp_open(&port);
	struct dp_cfg cfg = { .nb_lcores = 1 };
	char err[128] = "";

	cfg.bind.ip_len = 4;
	memcpy(cfg.bind.ip, "\x7f\x00\x00\x01", 4);
	cfg.bind.port = port;
	cr_assert_null(dp_new("socket", &cfg, err, sizeof(err)));
	cr_assert(strstr(err, "bind") != NULL, "err: %s", err);
	cfg.bind.port = 0;
	cfg.bind.ip_len = 5;
	cr_assert_null(dp_new("socket", &cfg, err, sizeof(err)));
	cr_assert(strstr(err, "bind address length 5") != NULL, "err: %s",
		  err);
	close(fd);
}

Test(dp_socket, full_rx_ring_drops_and_counts)
{
	uint16_t port, cport;
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 2 };	/* holds 1 */
	char err[128] = "";
	struct dp *dp;
	int fd = dp_test_udp_open(&cport);
	struct dp_pkt pkt;

	port = free_port();
	cfg.bind.ip_len = 4;
	memcpy(cfg.bind.ip, "\x7f\x00\x00\x01", 4);
	cfg.bind.port = port;
	dp = dp_new("socket", &cfg, err, sizeof(err));
	cr_assert_not_null(dp, "dp_new: %s", err);
	for (int i = 0; i < 5; i++)
		send_to(fd, port, suspect_c, sizeof(suspect_c));
	cr_assert_eq(stat_wait(dp, offsetof(struct dp_stats, drop_ring_full),
			       4), 4);
	cr_assert_eq(stat_wait(dp, offsetof(struct dp_stats, to_control), 1),
		     1);
	cr_assert_eq(dp_recv(dp, &pkt, 1), 1);
	cr_assert_eq(memcmp(pkt.data, suspect_c, sizeof(suspect_c)), 0);
	close(fd);
	dp_delete(dp);
}

Test(dp_socket, ipv6_loopback_ping_is_acked)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in6 dst;
	socklen_t len = sizeof(dst);
	struct dp_cfg cfg = { .nb_lcores = 1, .ring_size = 16 };
	struct dp_snapshot snap = { .name = "me" };
	char err[128] = "";
	uint8_t buf[256];
	struct dp *dp;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	/* a free port on ::1, then the client's own socket */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		cr_skip_test("no IPv6 loopback here");
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&dst, &len), 0);
	close(fd);
	cfg.bind.ip_len = 16;
	cfg.bind.ip[15] = 1;
	cfg.bind.port = ntohs(dst.sin6_port);
	dp = dp_new("socket", &cfg, err, sizeof(err));
	cr_assert_not_null(dp, "dp_new: %s", err);
	dp_publish(dp, &snap);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(sendto(fd, ping_me, sizeof(ping_me), 0,
			    (struct sockaddr *)&dst, sizeof(dst)),
		     (ssize_t)sizeof(ping_me));
	cr_assert_eq(recv_wait(fd, buf, sizeof(buf)), (ssize_t)sizeof(ack_42));
	cr_assert_eq(memcmp(buf, ack_42, sizeof(ack_42)), 0);
	close(fd);
	dp_delete(dp);
}

Test(dp_socket, control_rings_the_doorbell_of_a_napping_thread)
{
	uint16_t port, cport;
	struct dp *dp = sock_dp(1, &port, NULL);
	int fd = dp_test_udp_open(&cport);
	struct dp_pkt pkt;
	uint8_t buf[64];

	dp_test_pkt_fill(&pkt, dp_test_lo, cport, suspect_c, sizeof(suspect_c));
	/* a few tries: the thread may just be between two naps */
	for (int t = 0; t < 5 && dp->nb_kicks == 0; t++) {
		uint64_t end = dp_test_now_ms() + WAIT_MS;

		while (atomic_load(&dp->lcore[0].is_parked) == 0 &&
		       dp_test_now_ms() < end)
			usleep(1000);
		cr_assert_eq(atomic_load(&dp->lcore[0].is_parked), 1,
			     "an idle thread naps");
		cr_assert(dp_send(dp, &pkt));
		cr_assert_eq(recv_wait(fd, buf, sizeof(buf)),
			     (ssize_t)sizeof(suspect_c));
	}
	cr_assert_geq(dp->nb_kicks, 1, "the napping thread must be woken");
	close(fd);
	dp_delete(dp);
}
