/* SPDX-License-Identifier: MIT */
/*
 * --flood on the socket backend: the kernel-UDP twin of the DPDK
 * backend's generator (swarm_dpdk.h), so the line-rate bench measures
 * both backends the same way. The swarm is then only a generator (no
 * join): it keeps --flood-window pings in flight to --flood-members
 * members of a target (a socket-backend swarm, names flood_name + index)
 * from its own members in turn (IP_PKTINFO source addresses), sending a
 * new ping for every ack. sendmmsg/recvmmsg in bursts; one thread.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swarm_int.h"

#define FLOOD_BURST 64
#define FLOOD_PING_MAX 192
#define FLOOD_STALL_US 100000
#define FLOOD_CMSG CMSG_SPACE(sizeof(struct in_pktinfo))

struct swarm_flood {
	const struct swarm_cfg *cfg;
	struct swarm_map map;
	int fd;
	uint16_t port;		/* ours: --port, or the one bound for 0 */
	uint32_t next_target, next_source, seq;
	uint64_t in_flight, pings_out, acks_in, lost, send_err;
	struct swim_wire_scratch scratch;
};

static volatile sig_atomic_t swarm_flood_quit;

static void
swarm_flood_on_signal(int sig)
{
	(void)sig;
	swarm_flood_quit = 1;
}

/* UDP 0.0.0.0:port (0: any free one); *bound gets the port. */
static int
swarm_flood_socket(uint16_t port, uint16_t *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	socklen_t al = sizeof(a);
	int one = 1, buf = 8 << 20;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

/* The next ping into out; *src and *dst its addresses. @retval length */
static int
swarm_flood_ping(struct swarm_flood *f, uint8_t *out, uint32_t *src,
		 uint32_t *dst)
{
	char to[SWIM_NAME_MAX + 1], from[SWARM_NAME_LEN_MAX + 1];
	struct swim_msg m = { .type = SWIM_MSG_PING };
	uint8_t ip[4];
	int nt, nf;

	*src = swarm_map_addr(&f->map, f->next_source);
	*dst = f->cfg->flood_ip + f->next_target;
	nt = f->cfg->flood_n == 1 ?
		     snprintf(to, sizeof(to), "%s", f->cfg->flood_name) :
		     snprintf(to, sizeof(to), "%s%u", f->cfg->flood_name,
			      f->next_target);
	nf = swarm_map_name(&f->map, f->next_source, from, sizeof(from));
	if (nt <= 0 || (size_t)nt >= sizeof(to) || nf < 0)
		return -1;
	for (int k = 0; k < 4; k++)
		ip[k] = (uint8_t)(*src >> (24 - 8 * k));
	m.ping = (struct swim_ping){ .seq_no = f->seq++,
		.node = { (const uint8_t *)to, (uint32_t)nt },
		.source_addr = { ip, 4 },
		.source_node = { (const uint8_t *)from, (uint32_t)nf },
		.source_port = f->port };
	f->next_target = (f->next_target + 1) % f->cfg->flood_n;
	f->next_source = (f->next_source + 1) % f->cfg->members;
	return swim_wire_encode_msg(&m, out, FLOOD_PING_MAX);
}

/* Send n (<= FLOOD_BURST) new pings in one sendmmsg. */
static void
swarm_flood_send(struct swarm_flood *f, unsigned n)
{
	static uint8_t buf[FLOOD_BURST][FLOOD_PING_MAX];
	static uint8_t cbuf[FLOOD_BURST][FLOOD_CMSG];
	struct mmsghdr mh[FLOOD_BURST];
	struct iovec iov[FLOOD_BURST];
	struct sockaddr_in to[FLOOD_BURST];
	unsigned k = 0;
	int sent;

	memset(mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	for (; k < n; k++) {
		uint32_t src, dst;
		int len = swarm_flood_ping(f, buf[k], &src, &dst);
		struct cmsghdr *c;
		struct in_pktinfo pi = { .ipi_spec_dst.s_addr = htonl(src) };

		if (len < 0)
			break;
		to[k] = (struct sockaddr_in){ .sin_family = AF_INET,
			.sin_port = htons(f->cfg->flood_port),
			.sin_addr.s_addr = htonl(dst) };
		iov[k] = (struct iovec){ buf[k], (size_t)len };
		mh[k].msg_hdr = (struct msghdr){ .msg_name = &to[k],
			.msg_namelen = sizeof(to[k]), .msg_iov = &iov[k],
			.msg_iovlen = 1, .msg_control = cbuf[k],
			.msg_controllen = sizeof(cbuf[k]) };
		c = CMSG_FIRSTHDR(&mh[k].msg_hdr);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	sent = k ? sendmmsg(f->fd, mh, k, 0) : 0;
	if (sent < 0)
		sent = 0;
	f->send_err += k - (unsigned)sent;
	f->pings_out += (unsigned)sent;
	f->in_flight += (unsigned)sent;
}

static int
swarm_flood_visit(void *ctx, const struct swim_msg *msg)
{
	if (msg->type == SWIM_MSG_ACK)
		(*(unsigned *)ctx)++;
	return 0;
}

/* One recvmmsg burst. @retval acks in it */
static unsigned
swarm_flood_recv(struct swarm_flood *f)
{
	static uint8_t buf[FLOOD_BURST][SWIM_UDP_MAX];
	struct mmsghdr mh[FLOOD_BURST];
	struct iovec iov[FLOOD_BURST];
	unsigned acks = 0;
	int n;

	memset(mh, 0, sizeof(mh));
	for (unsigned k = 0; k < FLOOD_BURST; k++) {
		iov[k] = (struct iovec){ buf[k], SWIM_UDP_MAX };
		mh[k].msg_hdr.msg_iov = &iov[k];
		mh[k].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(f->fd, mh, FLOOD_BURST, MSG_DONTWAIT, NULL);
	for (int k = 0; k < n; k++) {
		f->scratch.used = 0;
		swim_wire_decode_packet(buf[k], mh[k].msg_len, &f->scratch,
					swarm_flood_visit, &acks);
	}
	f->acks_in += acks;
	f->in_flight -= f->in_flight < acks ? f->in_flight : acks;
	return acks;
}

/* Keep the window full; after a stall count the window lost. */
static void
swarm_flood_fill(struct swarm_flood *f, uint64_t now, uint64_t *last_ack)
{
	if (f->in_flight > 0 && now - *last_ack > FLOOD_STALL_US) {
		f->lost += f->in_flight;
		f->in_flight = 0;
		*last_ack = now;
	}
	while (f->in_flight < f->cfg->flood_window) {
		uint64_t want = f->cfg->flood_window - f->in_flight;
		uint64_t before = f->pings_out;

		swarm_flood_send(f, want > FLOOD_BURST ? FLOOD_BURST :
							 (unsigned)want);
		if (f->pings_out == before)
			break;	/* the socket buffer is full: later */
	}
}

static double
swarm_flood_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
swarm_flood_report(const struct swarm_flood *f, double secs, double cpu)
{
	FILE *j;

	fprintf(stderr, "gossip-swarm flood (socket): %.2f s (CPU %.2f s): "
		"pings out %" PRIu64 " acks in %" PRIu64 " (%.0f/s) over %u "
		"members, lost %" PRIu64 ", send errors %" PRIu64 "\n", secs,
		cpu, f->pings_out, f->acks_in, f->acks_in / secs,
		f->cfg->flood_n, f->lost, f->send_err);
	if (f->cfg->json == NULL || (j = fopen(f->cfg->json, "w")) == NULL)
		return;
	fprintf(j, "{\n  \"dataplane\": \"socket\",\n  \"secs\": %.3f,\n"
		"  \"cpu_s\": %.3f,\n  \"pings_out\": %" PRIu64 ",\n"
		"  \"acks_in\": %" PRIu64 ",\n  \"acks_in_per_s\": %.0f,\n"
		"  \"acks_per_cpu_s\": %.0f,\n  \"lost\": %" PRIu64 ",\n"
		"  \"flood_members\": %u,\n  \"send_errors\": %" PRIu64 "\n}\n",
		secs, cpu, f->pings_out, f->acks_in, f->acks_in / secs,
		cpu > 0 ? f->acks_in / cpu : 0.0, f->lost, f->cfg->flood_n,
		f->send_err);
	fclose(j);
}

int
swarm_flood_main(const struct swarm_cfg *cfg)
{
	static struct swarm_flood f;
	struct pollfd pfd;
	uint64_t t0, now, last_ack;
	double cpu0;

	f.cfg = cfg;
	f.seq = 0x10000u;
	signal(SIGINT, swarm_flood_on_signal);
	signal(SIGTERM, swarm_flood_on_signal);
	if (swarm_map_init(&f.map, cfg->name_prefix, cfg->net, cfg->plen,
			   cfg->members) != 0 ||
	    (f.fd = swarm_flood_socket(cfg->port, &f.port)) < 0) {
		fprintf(stderr, "gossip-swarm: --flood: cannot open UDP "
			"0.0.0.0:%u\n", cfg->port);
		return SWARM_EXIT_FAIL;
	}
	pfd = (struct pollfd){ .fd = f.fd, .events = POLLIN };
	t0 = now = last_ack = swarm_clock_us();
	cpu0 = swarm_flood_cpu();
	while (!swarm_flood_quit &&
	       (cfg->duration_s == 0 || now - t0 < cfg->duration_s * 1e6)) {
		swarm_flood_fill(&f, now, &last_ack);
		poll(&pfd, 1, 1);
		while (swarm_flood_recv(&f) > 0)
			last_ack = swarm_clock_us();
		now = swarm_clock_us();
	}
	swarm_flood_report(&f, (now - t0) / 1e6, swarm_flood_cpu() - cpu0);
	close(f.fd);
	return SWARM_EXIT_OK;
}
