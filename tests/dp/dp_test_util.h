/* SPDX-License-Identifier: MIT */
/*
 * What the dataplane tests share: a monotonic clock in ms for their
 * bounded waits, a UDP socket on 127.0.0.1 at a free port, and the
 * datagram control hands dp_send. Header only, as dpdk_eal_test.h.
 */
#ifndef DP_TEST_UTIL_H_INCLUDED
#define DP_TEST_UTIL_H_INCLUDED

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp.h"

static inline uint64_t
dp_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A UDP socket on 127.0.0.1:any; its port in *out. */
static inline int
dp_test_udp_open(uint16_t *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*out = ntohs(sa.sin_port);
	return fd;
}

/* 127.0.0.1, for dp_test_pkt_fill. */
static const uint8_t dp_test_lo[4] = { 127, 0, 0, 1 };

/* A datagram for dp_send: len bytes of data (zeros if data is NULL) to
 * the IPv4 address ip:port. */
static inline void
dp_test_pkt_fill(struct dp_pkt *p, const uint8_t ip[4], uint16_t port,
		 const void *data, size_t len)
{
	cr_assert_leq(len, sizeof(p->data));
	memset(p, 0, sizeof(*p));
	p->addr.ip_len = 4;
	memcpy(p->addr.ip, ip, 4);
	p->addr.port = port;
	p->len = (uint16_t)len;
	if (data != NULL)
		memcpy(p->data, data, len);
}

/* Wait until control sees n datagrams from dp (ms at most); how many. */
static inline unsigned
dp_test_recv_wait(struct dp *dp, struct dp_pkt *pkts, unsigned n,
		  unsigned ms)
{
	uint64_t deadline = dp_test_now_ms() + ms;
	unsigned got = 0;

	while (got < n && dp_test_now_ms() < deadline) {
		got += dp_recv(dp, pkts + got, n - got);
		if (got < n)
			usleep(100);
	}
	return got;
}

#endif /* DP_TEST_UTIL_H_INCLUDED */
