/* SPDX-License-Identifier: MIT */
/*
 * The UDP side of the socket backend: a few sockets bound to 0.0.0.0:port
 * (SO_REUSEPORT) with IP_PKTINFO, so one socket serves every virtual
 * address: the destination of each datagram says which member was
 * called, and replies leave from that member's address (ipi_spec_dst).
 * recvmmsg/sendmmsg in bursts. Main thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swarm_int.h"
#include "swim_crypto.h"

#define SWARM_CMSG_SPACE CMSG_SPACE(sizeof(struct in_pktinfo))
#define SWARM_RX_BUDGET 16	/* recvmmsg bursts per poll */

static int
swarm_udp_socket(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, buf = 8 << 20;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	/* Bursts of gossip from a pool: ask for a large buffer, best effort. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

int
swarm_udp_open(struct swarm *sw)
{
	struct epoll_event ev = { .events = EPOLLIN };

	sw->epfd = epoll_create1(0);
	if (sw->epfd < 0)
		return -1;
	for (unsigned i = 0; i < sw->cfg.udp_sockets; i++) {
		int fd = swarm_udp_socket(sw->cfg.port);

		if (fd < 0) {
			fprintf(stderr, "gossip-swarm: UDP 0.0.0.0:%u: %s\n",
				sw->cfg.port, strerror(errno));
			return -1;
		}
		sw->udp[sw->nb_udp++] = fd;
		ev.data.fd = fd;
		if (epoll_ctl(sw->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			return -1;
	}
	return 0;
}

void
swarm_flush(struct swarm *sw)
{
	struct mmsghdr mh[SWARM_BURST];
	struct iovec iov[SWARM_BURST];
	struct sockaddr_in to[SWARM_BURST];
	uint8_t cbuf[SWARM_BURST][SWARM_CMSG_SPACE];
	unsigned done = 0;

	if (sw->nb_tx == 0)
		return;
	memset(mh, 0, sizeof(mh[0]) * sw->nb_tx);
	memset(cbuf, 0, sizeof(cbuf[0]) * sw->nb_tx);
	for (unsigned k = 0; k < sw->nb_tx; k++) {
		struct swarm_tx *t = &sw->tx[k];
		struct cmsghdr *c;
		struct in_pktinfo *pi;

		to[k] = (struct sockaddr_in){ .sin_family = AF_INET,
					      .sin_port = htons(t->dst_port),
					      .sin_addr.s_addr =
						      htonl(t->dst_ip) };
		iov[k] = (struct iovec){ t->buf, t->len };
		mh[k].msg_hdr = (struct msghdr){
			.msg_name = &to[k], .msg_namelen = sizeof(to[k]),
			.msg_iov = &iov[k], .msg_iovlen = 1,
			.msg_control = cbuf[k],
			.msg_controllen = sizeof(cbuf[k]) };
		/* Leave from the member's own address. */
		c = CMSG_FIRSTHDR(&mh[k].msg_hdr);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(*pi));
		pi = (struct in_pktinfo *)CMSG_DATA(c);
		pi->ipi_spec_dst.s_addr = htonl(t->src_ip);
	}
	while (done < sw->nb_tx) {
		int n = sendmmsg(sw->udp[0], mh + done, sw->nb_tx - done, 0);

		if (n <= 0) {
			/* A full socket buffer or a bad peer: drop this one. */
			sw->st.send_err++;
			done++;
			continue;
		}
		for (int k = 0; k < n; k++)
			sw->st.bytes_out += sw->tx[done + k].len;
		sw->st.pkts_out += (uint64_t)n;
		done += (unsigned)n;
	}
	sw->nb_tx = 0;
}

void
swarm_send(struct swarm *sw, uint32_t src_ip, uint32_t dst_ip,
	   uint16_t dst_port, const uint8_t *buf, size_t len)
{
	struct swarm_tx *t;
	int n;

	if (sw->nb_tx >= SWARM_BURST)
		swarm_flush(sw);
	t = &sw->tx[sw->nb_tx];
	if (sw->ring != NULL) {
		n = swim_crypto_seal_udp(sw->ring, buf, len, t->buf,
					 sizeof(t->buf));
		if (n < 0) {
			sw->st.send_err++;
			return;
		}
	} else {
		if (len > sizeof(t->buf)) {
			sw->st.send_err++;
			return;
		}
		memcpy(t->buf, buf, len);
		n = (int)len;
	}
	t->len = (uint16_t)n;
	t->src_ip = src_ip;
	t->dst_ip = dst_ip;
	t->dst_port = dst_port;
	sw->nb_tx++;
}

void
swarm_send_msg(struct swarm *sw, uint32_t src_ip, uint32_t dst_ip,
	       uint16_t dst_port, const struct swim_msg *msg)
{
	uint8_t buf[SWIM_UDP_BUDGET];
	int n = swim_wire_encode_msg(msg, buf, sizeof(buf));

	if (n > 0)
		swarm_send(sw, src_ip, dst_ip, dst_port, buf, (size_t)n);
}

/* The destination address of a received datagram, host order, or 0. */
static uint32_t
swarm_rx_dst(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL;
	     c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_IP &&
		    c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			return ntohl(pi.ipi_addr.s_addr);
		}
	}
	return 0;
}

/* One received datagram: loss, decryption, then the protocol. */
static void
swarm_rx_one(struct swarm *sw, const struct sockaddr_in *from,
	     uint32_t dst, const uint8_t *buf, size_t len)
{
	int n;

	sw->st.pkts_in++;
	sw->st.bytes_in += len;
	if (sw->cfg.loss > 0 && swarm_rand01(sw) <= sw->cfg.loss) {
		sw->st.dropped++;
		return;
	}
	if (sw->ring != NULL) {
		n = swim_crypto_open_udp(sw->ring, buf, len, sw->plain,
					 SWIM_UDP_MAX);
		if (n <= 0) {
			sw->st.bad_in++;
			return;
		}
		buf = sw->plain;
		len = (size_t)n;
	}
	/* gossipd's delta-sync HELLO over UDP (swarm_delta.c) */
	if (swarm_delta_udp(sw, ntohl(from->sin_addr.s_addr),
			    ntohs(from->sin_port), dst, buf, len))
		return;
	swarm_on_packet(sw, ntohl(from->sin_addr.s_addr),
			ntohs(from->sin_port), dst, buf, len);
}

/* One recvmmsg burst from fd. @retval datagrams read. */
static int
swarm_rx_burst(struct swarm *sw, int fd)
{
	struct mmsghdr mh[SWARM_BURST];
	struct iovec iov[SWARM_BURST];
	struct sockaddr_in from[SWARM_BURST];
	uint8_t cbuf[SWARM_BURST][SWARM_CMSG_SPACE + 64];
	int n;

	memset(mh, 0, sizeof(mh));
	for (unsigned k = 0; k < SWARM_BURST; k++) {
		iov[k] = (struct iovec){ sw->rx + (size_t)k * SWIM_UDP_MAX,
					 SWIM_UDP_MAX };
		mh[k].msg_hdr = (struct msghdr){
			.msg_name = &from[k], .msg_namelen = sizeof(from[k]),
			.msg_iov = &iov[k], .msg_iovlen = 1,
			.msg_control = cbuf[k],
			.msg_controllen = sizeof(cbuf[k]) };
	}
	n = recvmmsg(fd, mh, SWARM_BURST, MSG_DONTWAIT, NULL);
	for (int k = 0; k < n; k++)
		swarm_rx_one(sw, &from[k], swarm_rx_dst(&mh[k].msg_hdr),
			     sw->rx + (size_t)k * SWIM_UDP_MAX, mh[k].msg_len);
	return n < 0 ? 0 : n;
}

void
swarm_udp_poll(struct swarm *sw, int timeout_ms)
{
	struct epoll_event ev[16];
	int n;

	n = epoll_wait(sw->epfd, ev, 16, timeout_ms);
	pthread_mutex_lock(&sw->lock);
	sw->now = swarm_clock_us() - sw->t0;
	for (int k = 0; k < n; k++) {
		for (int b = 0; b < SWARM_RX_BUDGET; b++)
			if (swarm_rx_burst(sw, ev[k].data.fd) < SWARM_BURST)
				break;
	}
	swarm_flush(sw);
	pthread_mutex_unlock(&sw->lock);
}
