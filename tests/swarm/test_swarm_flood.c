/* SPDX-License-Identifier: MIT */
/*
 * --flood on the socket backend (tools/swarm/swarm_flood.c), loopback
 * only: a responder thread (one UDP socket with IP_PKTINFO on 127/8)
 * acks every ping to SourceAddr:SourcePort; the flood spreads its pings
 * over the 4 target addresses with the target's names, from its own
 * members' addresses, and counts the acks in its --json summary.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swarm_int.h"

#define TGT_NET 0x7f300000u	/* 127.48.0.0: targets .1 .. .4 */
#define GEN_NET 0x7f310000u	/* 127.49.0.0/16: the flood's members */

struct resp {
	int fd;
	volatile int stop;
	unsigned pings, bad_name, bad_src;
	unsigned dst_seen;	/* bit k: TGT_NET + 1 + k pinged */
	struct swim_wire_scratch scratch;
};

struct one_ping { bool ok; struct swim_ping p; };

static int
grab(void *ctx, const struct swim_msg *m)
{
	struct one_ping *o = ctx;

	if (m->type == SWIM_MSG_PING) {
		o->ok = true;
		o->p = m->ping;
	}
	return 0;
}

/* Check one ping sent to dst (host order) and ack it. */
static void
answer(struct resp *r, const uint8_t *buf, size_t len, uint32_t dst)
{
	struct one_ping o = { 0 };
	struct swim_msg ack = { .type = SWIM_MSG_ACK };
	uint8_t out[64];
	char want[16];
	uint32_t src;
	struct sockaddr_in to = { .sin_family = AF_INET };
	int n;

	r->scratch.used = 0;
	swim_wire_decode_packet(buf, len, &r->scratch, grab, &o);
	if (!o.ok || o.p.source_addr.len != 4 || dst - TGT_NET - 1 >= 4)
		return;
	r->pings++;
	r->dst_seen |= 1u << (dst - TGT_NET - 1);
	n = snprintf(want, sizeof(want), "t-%u", dst - TGT_NET - 1);
	r->bad_name += o.p.node.len != (uint32_t)n ||
		       memcmp(o.p.node.ptr, want, (size_t)n) != 0;
	memcpy(&src, o.p.source_addr.ptr, 4);
	r->bad_src += (ntohl(src) & 0xffff0000u) != GEN_NET;
	ack.ack.seq_no = o.p.seq_no;
	n = swim_wire_encode_msg(&ack, out, sizeof(out));
	to.sin_addr.s_addr = src;
	to.sin_port = htons(o.p.source_port);
	sendto(r->fd, out, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to));
}

static void *
responder(void *arg)
{
	struct resp *r = arg;
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	uint8_t buf[2048], cbuf[128];

	while (!r->stop) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		ssize_t n;

		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = recvmsg(r->fd, &h, MSG_DONTWAIT);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); n > 0 && c;
		     c = CMSG_NXTHDR(&h, c)) {
			struct in_pktinfo pi;

			if (c->cmsg_type != IP_PKTINFO)
				continue;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			answer(r, buf, (size_t)n, ntohl(pi.ipi_addr.s_addr));
		}
	}
	return NULL;
}

static uint16_t
bind_any(int fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int one = 1;

	cr_assert_eq(setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)),
		     0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	return ntohs(a.sin_port);
}

Test(swarm_flood, pings_spread_and_acks_counted)
{
	static struct resp r;
	struct swarm_cfg c;
	char json[] = "/tmp/swarm-flood-XXXXXX", text[1024] = "";
	pthread_t th;
	unsigned long acks = 0;
	int tmp = mkstemp(json);
	FILE *f;

	cr_assert_geq(tmp, 0);
	close(tmp);
	r.fd = socket(AF_INET, SOCK_DGRAM, 0);
	swarm_cfg_default(&c);
	c.flood_port = bind_any(r.fd);
	c.port = 0;	/* the flood binds any free port */
	c.members = 3;
	c.net = GEN_NET;
	c.plen = 16;
	c.flood_ip = TGT_NET + 1;
	c.flood_n = 4;
	c.flood_name = "t-";
	c.flood_window = 8;
	c.duration_s = 0.5;
	c.json = json;
	cr_assert_eq(pthread_create(&th, NULL, responder, &r), 0);
	cr_assert_eq(swarm_flood_main(&c), SWARM_EXIT_OK);
	r.stop = 1;
	pthread_join(th, NULL);
	close(r.fd);
	f = fopen(json, "r");
	cr_assert_not_null(f);
	fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	unlink(json);
	cr_assert_not_null(strstr(text, "\"flood_members\": 4"), "%s", text);
	cr_assert_eq(sscanf(strstr(text, "\"acks_in\":"), "\"acks_in\": %lu",
			    &acks), 1);
	cr_assert_gt(acks, 8, "%s", text);
	cr_assert_geq(r.pings, acks);
	cr_assert_eq(r.dst_seen, 0xf, "every target member pinged");
	cr_assert_eq(r.bad_name, 0);
	cr_assert_eq(r.bad_src, 0);
}
