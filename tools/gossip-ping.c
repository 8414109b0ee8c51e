/* SPDX-License-Identifier: MIT */
/*
 * gossip-ping: a closed-loop memberlist ping generator, for measuring how
 * many pings per second a node (serf, gossipd, dp-echo) acks.
 *
 *   gossip-ping --target 127.0.0.1:7946 --name NODE [--window 256]
 *               [--duration 5] [--bind 127.0.0.1:0] [--timeout-ms 500]
 *               [--encrypt BASE64KEY]
 *
 * --encrypt: every ping is sealed (memberlist §8, version 1, a nonce
 * counter) and every datagram opened before it is decoded, as a member
 * of an encrypted pool (serf -encrypt) does; one that does not open
 * counts as undecodable.
 *
 * One UDP socket, recvmmsg/sendmmsg bursts, at most `window` pings in
 * flight. Acks are matched by SeqNo after a full packet decode (serf may
 * compress an ack or piggyback gossip on it). A ping unanswered after the
 * timeout is counted lost and its slot reused, so the window never
 * stalls. Loopback only (127.0.0.0/8) and bounded in time.
 *
 * Output: one human line and one "RESULT key=value ..." line for scripts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "swim_crypto.h"
#include "swim_wire.h"

#define GP_BURST 32		/* datagrams per sendmmsg/recvmmsg */
#define GP_PKT_MAX 2048		/* our pings are < 200 bytes */
#define GP_RX_MAX 65536		/* memberlist's largest UDP packet */
#define GP_WINDOW_MAX 65536	/* most pings in flight */
#define GP_DURATION_MAX 3600.0	/* seconds: the run is always bounded */
#define GP_SOURCE_NODE "gossip-ping"

struct gp_cfg {
	struct sockaddr_in target;	/* where pings go (127/8 only) */
	struct sockaddr_in bind;	/* our socket; port 0 = any */
	const char *name;		/* ping Node: the target's name */
	unsigned window;		/* pings in flight, 1..GP_WINDOW_MAX */
	double duration_s;		/* sending time, seconds */
	uint64_t timeout_ns;		/* a ping is lost after this */
	const char *key_b64;		/* --encrypt: the pool's key */
};

/* One ping in flight. */
struct gp_slot {
	uint32_t seq_no;		/* valid when is_busy */
	bool is_busy;			/* waiting for its ack */
	uint64_t sent_ns;		/* CLOCK_MONOTONIC at send */
};

struct gp {
	struct gp_cfg cfg;
	int fd;				/* the UDP socket */
	struct sockaddr_in local;	/* its bound address (SourceAddr/Port) */
	struct gp_slot *slot;		/* table of table_size, by seq & mask */
	uint32_t table_mask;		/* table_size - 1 (power of 2 >= 4 W) */
	uint32_t next_seq;		/* SeqNo of the next ping */
	unsigned nb_busy;		/* pings in flight */
	uint64_t sent;			/* pings sent */
	uint64_t acks;			/* acks matched while sending */
	uint64_t lost;			/* pings expired unanswered */
	uint64_t late;			/* acks for expired/unknown SeqNo */
	uint64_t bad;			/* datagrams that did not decode */
	uint64_t send_err;		/* sendmmsg failures */
	uint64_t rtt_sum_ns;		/* over matched acks */
	uint64_t now_ns;		/* clock at the top of this turn */
	struct swim_wire_scratch scratch; /* LZW output while decoding */
	struct swim_keyring *ring;	/* --encrypt, else NULL */
	struct swim_crypto_ctx *crypt;	/* its cipher contexts */
	struct swim_crypto_nonce_gen nonce; /* our nonces */
	uint8_t plain[GP_RX_MAX];	/* a datagram opened, or a ping
					 * before sealing */
	uint8_t tx[GP_BURST][GP_PKT_MAX];
	uint8_t rx[GP_BURST][GP_RX_MAX];
};

static uint64_t
gp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
gp_usage(FILE *f)
{
	fprintf(f,
		"usage: gossip-ping --target IP:PORT --name NODE [--window N]\n"
		"                   [--duration SECONDS] [--bind IP:PORT]\n"
		"                   [--timeout-ms MS] [--encrypt BASE64KEY]\n"
		"Closed-loop memberlist pings to a loopback target; prints acks/s.\n");
}

/* "IP:PORT" -> sockaddr_in, IPv4 in 127.0.0.0/8 only. */
static int
gp_parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		return -EPERM;	/* loopback only: this is a load generator */
	return 0;
}

static int
gp_parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end != '\0' || end == s || !(v >= lo && v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
}

/* One option into cfg. @retval 0 or -EINVAL/-EPERM. */
static int
gp_parse_opt(struct gp_cfg *cfg, int opt, const char *arg)
{
	double v = 0;
	int rc;

	switch (opt) {
	case 't':
		return gp_parse_addr(arg, &cfg->target);
	case 'b':
		return gp_parse_addr(arg, &cfg->bind);
	case 'n':
		cfg->name = arg;
		return strlen(arg) <= SWIM_NAME_MAX ? 0 : -EINVAL;
	case 'w':
		rc = gp_parse_num(arg, 1, GP_WINDOW_MAX, &v);
		cfg->window = (unsigned)v;
		return rc;
	case 'd':
		return gp_parse_num(arg, 0.001, GP_DURATION_MAX,
				    &cfg->duration_s);
	case 'T':
		rc = gp_parse_num(arg, 1, 60000, &v);
		cfg->timeout_ns = (uint64_t)(v * 1e6);
		return rc;
	case 'e':
		cfg->key_b64 = arg;
		return 0;
	default:
		return -EINVAL;
	}
}

static int
gp_parse_args(int argc, char **argv, struct gp_cfg *cfg)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "bind", required_argument, NULL, 'b' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "encrypt", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	cfg->window = 256;
	cfg->duration_s = 5;
	cfg->timeout_ns = 500000000u;	/* memberlist's LAN ProbeTimeout */
	gp_parse_addr("127.0.0.1:0", &cfg->bind);
	while ((opt = getopt_long(argc, argv, "t:n:w:d:b:T:e:h", opts, NULL)) !=
	       -1) {
		if (opt == 'h') {
			gp_usage(stdout);
			exit(0);
		}
		if (gp_parse_opt(cfg, opt, optarg) != 0) {
			fprintf(stderr, "gossip-ping: bad value for option "
				"'%c': '%s' (addresses must be 127.x.x.x)\n",
				opt, optarg ? optarg : "");
			return -EINVAL;
		}
	}
	if (cfg->name == NULL || cfg->target.sin_port == 0) {
		gp_usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int
gp_open(struct gp *gp)
{
	socklen_t len = sizeof(gp->local);
	int size = 4 * 1024 * 1024;

	gp->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (gp->fd < 0) {
		perror("gossip-ping: socket");
		return -errno;
	}
	/* a full window of serf acks must fit while we are busy sending */
	setsockopt(gp->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(gp->fd, (struct sockaddr *)&gp->cfg.bind,
		 sizeof(gp->cfg.bind)) != 0 ||
	    getsockname(gp->fd, (struct sockaddr *)&gp->local, &len) != 0) {
		perror("gossip-ping: bind");
		close(gp->fd);
		return -errno;
	}
	return 0;
}

/* Encode ping seq_no into out (sealed with --encrypt). @retval length
 * or < 0. */
static int
gp_encode_ping(struct gp *gp, uint32_t seq_no, uint8_t *out)
{
	struct swim_msg m = { .type = SWIM_MSG_PING };
	uint8_t nonce[SWIM_CRYPTO_NONCE_LEN];
	int n;

	m.ping.seq_no = seq_no;
	m.ping.node.ptr = (const uint8_t *)gp->cfg.name;
	m.ping.node.len = (uint32_t)strlen(gp->cfg.name);
	m.ping.source_addr.ptr = (const uint8_t *)&gp->local.sin_addr;
	m.ping.source_addr.len = 4;
	m.ping.source_node.ptr = (const uint8_t *)GP_SOURCE_NODE;
	m.ping.source_node.len = sizeof(GP_SOURCE_NODE) - 1;
	m.ping.source_port = ntohs(gp->local.sin_port);
	if (gp->crypt == NULL)
		return swim_wire_encode_msg(&m, out, GP_PKT_MAX);
	n = swim_wire_encode_msg(&m, gp->plain, sizeof(gp->plain));
	if (n < 0)
		return n;
	swim_crypto_nonce_gen_next(&gp->nonce, nonce);
	return swim_crypto_ctx_seal_udp(gp->crypt, nonce, gp->plain,
					(size_t)n, out, GP_PKT_MAX);
}

/* Take the slot of the next SeqNo; one still busy there (a ping older than
 * 4 windows) is declared lost. */
static struct gp_slot *
gp_slot_take(struct gp *gp, uint32_t seq_no)
{
	struct gp_slot *s = &gp->slot[seq_no & gp->table_mask];

	if (s->is_busy) {
		gp->lost++;
		gp->nb_busy--;
	}
	s->seq_no = seq_no;
	s->is_busy = true;
	s->sent_ns = gp->now_ns;
	gp->nb_busy++;
	return s;
}

/* Fill the window: send up to GP_BURST new pings in one sendmmsg. */
static void
gp_send_burst(struct gp *gp)
{
	struct mmsghdr msg[GP_BURST];
	struct iovec iov[GP_BURST];
	unsigned n = 0;
	int rc;

	memset(msg, 0, sizeof(msg));
	while (n < GP_BURST && gp->nb_busy < gp->cfg.window) {
		uint32_t seq = gp->next_seq++;
		int len = gp_encode_ping(gp, seq, gp->tx[n]);

		if (len < 0)
			break;
		gp_slot_take(gp, seq);
		iov[n].iov_base = gp->tx[n];
		iov[n].iov_len = (size_t)len;
		msg[n].msg_hdr.msg_iov = &iov[n];
		msg[n].msg_hdr.msg_iovlen = 1;
		msg[n].msg_hdr.msg_name = &gp->cfg.target;
		msg[n].msg_hdr.msg_namelen = sizeof(gp->cfg.target);
		n++;
	}
	if (n == 0)
		return;
	rc = sendmmsg(gp->fd, msg, n, 0);
	if (rc < 0)
		rc = 0;
	gp->sent += (unsigned)rc;
	/* unsent pings simply time out: counted as send errors and lost */
	gp->send_err += n - (unsigned)rc;
}

/* Visitor: match one decoded message if it is an ack. */
static int
gp_on_msg(void *ctx, const struct swim_msg *msg)
{
	struct gp *gp = ctx;
	struct gp_slot *s;

	if (msg->type != SWIM_MSG_ACK)
		return 0;	/* piggybacked gossip: ignored */
	s = &gp->slot[msg->ack.seq_no & gp->table_mask];
	if (!s->is_busy || s->seq_no != msg->ack.seq_no) {
		gp->late++;
		return 0;
	}
	s->is_busy = false;
	gp->nb_busy--;
	gp->acks++;
	gp->rtt_sum_ns += gp->now_ns - s->sent_ns;
	return 0;
}

/* One recvmmsg burst, decoded. @retval datagrams received. */
static unsigned
gp_recv_burst(struct gp *gp)
{
	struct mmsghdr msg[GP_BURST];
	struct iovec iov[GP_BURST];
	int n;

	memset(msg, 0, sizeof(msg));
	for (unsigned i = 0; i < GP_BURST; i++) {
		iov[i].iov_base = gp->rx[i];
		iov[i].iov_len = GP_RX_MAX;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(gp->fd, msg, GP_BURST, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const uint8_t *p = gp->rx[i];
		int len = (int)msg[i].msg_len;

		if (gp->crypt != NULL) {
			len = swim_crypto_ctx_open_udp(gp->crypt, p,
						       (size_t)len, gp->plain,
						       sizeof(gp->plain));
			p = gp->plain;
		}
		gp->scratch.used = 0;
		if (len < 0 || swim_wire_decode_packet(p, (size_t)len,
						       &gp->scratch, gp_on_msg,
						       gp) < 0)
			gp->bad++;
	}
	return (unsigned)n;
}

/* Forget pings older than the timeout so the window keeps moving. */
static void
gp_expire(struct gp *gp)
{
	for (uint32_t i = 0; i <= gp->table_mask; i++) {
		struct gp_slot *s = &gp->slot[i];

		if (s->is_busy && gp->now_ns - s->sent_ns >= gp->cfg.timeout_ns) {
			s->is_busy = false;
			gp->nb_busy--;
			gp->lost++;
		}
	}
}

/* The closed loop until deadline; sends only when do_send. */
static void
gp_loop(struct gp *gp, uint64_t deadline_ns, bool do_send)
{
	uint64_t next_expire = gp->now_ns + 1000000;
	struct pollfd pfd = { .fd = gp->fd, .events = POLLIN };

	while ((gp->now_ns = gp_now_ns()) < deadline_ns) {
		if (do_send)
			gp_send_burst(gp);
		if (gp_recv_burst(gp) == 0) {
			if (!do_send && gp->nb_busy == 0)
				return;
			/* Busy-poll while sending, like a DPDK generator: a
			 * nap would make every peer's reply pay a wake-up. */
			if (!do_send)
				(void)poll(&pfd, 1, 1);
		}
		if (gp->now_ns >= next_expire) {
			gp_expire(gp);
			next_expire = gp->now_ns + 1000000;
		}
	}
}

static void
gp_report(const struct gp *gp, double elapsed_s, uint64_t acks_in_time)
{
	double rate = acks_in_time / elapsed_s;
	uint64_t done = gp->acks + gp->lost;
	double loss = done ? 100.0 * (double)gp->lost / (double)done : 0.0;
	double rtt_us = gp->acks ? gp->rtt_sum_ns / 1e3 / (double)gp->acks
				 : 0.0;

	printf("gossip-ping %s: %.0f acks/s over %.2f s, sent %" PRIu64
	       ", acked %" PRIu64 ", lost %" PRIu64 " (%.3f%%), late %" PRIu64
	       ", undecodable %" PRIu64 ", mean rtt %.1f us, window %u\n",
	       gp->cfg.name, rate, elapsed_s, gp->sent, gp->acks, gp->lost,
	       loss, gp->late, gp->bad, rtt_us, gp->cfg.window);
	printf("RESULT acks_per_s=%.0f sent=%" PRIu64 " acks=%" PRIu64
	       " lost=%" PRIu64 " loss_pct=%.3f late=%" PRIu64
	       " bad=%" PRIu64 " rtt_us=%.1f\n",
	       rate, gp->sent, gp->acks, gp->lost, loss, gp->late, gp->bad,
	       rtt_us);
}

/* --encrypt: the keyring and this thread's cipher contexts. */
static int
gp_crypt_new(struct gp *gp)
{
	const char *k = gp->cfg.key_b64;
	int rc;

	if (k == NULL)
		return 0;
	if (sodium_init() < 0)
		return -1;
	gp->ring = swim_keyring_new(&rc);
	if (gp->ring != NULL)
		rc = swim_keyring_add_base64(gp->ring, k, strlen(k));
	if (rc == 0) {
		gp->crypt = swim_crypto_ctx_new(&rc);
		if (gp->crypt != NULL)
			rc = swim_crypto_ctx_bind(gp->crypt, gp->ring);
	}
	if (rc != 0) {
		fprintf(stderr, "gossip-ping: --encrypt: %s\n",
			swim_crypto_strerror(rc));
		return -1;
	}
	swim_crypto_nonce_gen_init(&gp->nonce);
	return 0;
}

static struct gp *
gp_new(const struct gp_cfg *cfg)
{
	struct gp *gp = calloc(1, sizeof(*gp));
	uint32_t size = 4;

	if (gp == NULL)
		return NULL;
	gp->cfg = *cfg;
	while (size < 4 * cfg->window)
		size *= 2;
	gp->table_mask = size - 1;
	gp->slot = calloc(size, sizeof(*gp->slot));
	if (gp->slot == NULL || gp_crypt_new(gp) != 0 || gp_open(gp) != 0) {
		swim_crypto_ctx_delete(gp->crypt);
		swim_keyring_delete(gp->ring);
		free(gp->slot);
		free(gp);
		return NULL;
	}
	return gp;
}

static void
gp_delete(struct gp *gp)
{
	close(gp->fd);
	swim_crypto_ctx_delete(gp->crypt);
	swim_keyring_delete(gp->ring);
	free(gp->slot);
	free(gp);
}

int
main(int argc, char **argv)
{
	struct gp_cfg cfg;
	struct gp *gp;
	uint64_t start, end, acks_in_time;

	if (gp_parse_args(argc, argv, &cfg) != 0)
		return 2;
	gp = gp_new(&cfg);
	if (gp == NULL)
		return 1;
	start = gp_now_ns();
	gp->now_ns = start;
	end = start + (uint64_t)(cfg.duration_s * 1e9);
	gp_loop(gp, end, true);
	acks_in_time = gp->acks;
	/* let the last window land (not counted in the rate) */
	gp_loop(gp, gp_now_ns() + cfg.timeout_ns, false);
	gp_report(gp, (double)(end - start) / 1e9, acks_in_time);
	gp_delete(gp);
	return acks_in_time > 0 ? 0 : 1;
}
