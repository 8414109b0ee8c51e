/* SPDX-License-Identifier: MIT */
/*
 * The TCP side of the socket backend. One listener on 0.0.0.0:port: the
 * accepted socket's local address (getsockname) says which virtual member
 * was called. Streams are few and short (push/pull, TCP pings), so each
 * runs in its own bounded worker thread with blocking I/O and timeouts,
 * taking sw->lock only to read or merge state. The joiner thread hands
 * members to the seeds in batches, one push/pull per batch and seed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "swarm_int.h"
#include "swim_dsync.h"
#include "swim_sealed_stream.h"

struct swarm_worker {
	struct swarm *sw;
	int fd;
};

static void
swarm_fd_timeouts(int fd, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A TCP ping: ack on the same stream if it is for this member. */
static void
swarm_tcp_ping(struct swarm *sw, int fd, int64_t idx, const uint8_t *buf,
	       size_t len)
{
	struct swim_msg msg, ack = { .type = SWIM_MSG_ACK };
	uint8_t out[64];
	int n;

	if (swim_wire_decode_msg(buf, len, &msg) != 0)
		return;
	if (msg.ping.node.len != 0 &&
	    swarm_map_name_index(&sw->map, msg.ping.node.ptr,
				 msg.ping.node.len) != idx)
		return;
	ack.ack.seq_no = msg.ping.seq_no;
	n = swim_wire_encode_msg(&ack, out, sizeof(out));
	if (n > 0)
		swarm_stream_write(sw, fd, out, (size_t)n);
}

/*
 * A push/pull from a real node: merge it, then our whole state back with
 * its Join flag (memberlist replies first; the order is not observable).
 */
static void
swarm_tcp_pp(struct swarm *sw, int fd, const uint8_t *buf, size_t len,
	     bool is_chunked)
{
	uint8_t *reply = NULL;
	size_t rlen = 0;
	bool join = false;
	int rc;

	/* chunks for chunks, and for a request that asks for them */
	is_chunked = sw->ring != NULL &&
		     (is_chunked || swim_sstream_hdr_wants(buf, len) > 0);

	pthread_mutex_lock(&sw->lock);
	if (swarm_pp_merge(sw, buf, len, &join) != 0)
		sw->st.stream_err++;
	sw->st.pp_in++;
	rc = swarm_pp_encode(sw, join, 0, 0, true, &reply, &rlen);
	pthread_mutex_unlock(&sw->lock);
	if (rc == 0 && is_chunked)
		swarm_sealed_write(sw, fd, reply, rlen, true);
	else if (rc == 0)
		swarm_stream_write(sw, fd, reply, rlen);
	free(reply);
}

static void *
swarm_worker_main(void *arg)
{
	struct swarm_worker *w = arg;
	struct swarm *sw = w->sw;
	struct sockaddr_in local;
	socklen_t sl = sizeof(local);
	uint8_t *buf = NULL;
	size_t len = 0;
	int64_t idx = -1;
	bool up = false;
	bool is_chunked = false;

	swarm_fd_timeouts(w->fd, sw->cfg.timing.tcp_timeout_ms);
	if (getsockname(w->fd, (struct sockaddr *)&local, &sl) == 0)
		idx = swarm_map_addr_index(&sw->map,
					   ntohl(local.sin_addr.s_addr));
	pthread_mutex_lock(&sw->lock);
	up = idx >= 0 && swarm_member_answers(&sw->m[idx]);
	pthread_mutex_unlock(&sw->lock);
	if (up && swarm_stream_read_ex(sw, w->fd, &buf, &len,
				       &is_chunked) == 0) {
		if (buf[0] == SWIM_MSG_PING) {
			swarm_tcp_ping(sw, w->fd, idx, buf, len);
			pthread_mutex_lock(&sw->lock);
			sw->st.tcp_ping_in++;
			pthread_mutex_unlock(&sw->lock);
		} else if (buf[0] == SWIM_MSG_PUSH_PULL) {
			swarm_tcp_pp(sw, w->fd, buf, len, is_chunked);
		} else if (swim_dsync_is_msg_type(buf[0])) {
			swarm_delta_serve(sw, w->fd, buf, len);
		}
	} else if (up) {
		pthread_mutex_lock(&sw->lock);
		sw->st.stream_err++;
		pthread_mutex_unlock(&sw->lock);
	}
	free(buf);
	close(w->fd);
	free(w);
	atomic_fetch_sub(&sw->workers, 1);
	return NULL;
}

static void *
swarm_acceptor_main(void *arg)
{
	struct swarm *sw = arg;
	struct pollfd pfd = { .fd = sw->tcp_fd, .events = POLLIN };
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Runs through the leave phase: members answer until they leave. */
	while (!atomic_load(&sw->down)) {
		struct swarm_worker *w;
		pthread_t t;
		int fd;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		fd = accept4(sw->tcp_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		w = malloc(sizeof(*w));
		/* memberlist also refuses pushes beyond its concurrency cap. */
		if (w == NULL ||
		    atomic_load(&sw->workers) >= SWARM_TCP_WORKERS) {
			free(w);
			close(fd);
			continue;
		}
		*w = (struct swarm_worker){ sw, fd };
		atomic_fetch_add(&sw->workers, 1);
		if (pthread_create(&t, &attr, swarm_worker_main, w) != 0) {
			atomic_fetch_sub(&sw->workers, 1);
			close(fd);
			free(w);
		}
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

/* One push/pull with a seed, from member `from`'s address. */
static int
swarm_join_seed(struct swarm *sw, unsigned s, uint32_t from,
		const uint8_t *msg, size_t len)
{
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(swarm_map_addr(
					   &sw->map, from)) };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(sw->cfg.join_port[s]),
				   .sin_addr.s_addr =
					   htonl(sw->cfg.join_ip[s]) };
	uint8_t *reply = NULL, *marked = NULL;
	size_t rlen = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = -1, n;

	if (fd < 0)
		return -1;
	/* encrypted: ask a gossipd seed for a chunked reply (its state may
	 * pass the 20 MiB of one sealed frame); memberlist ignores the key */
	if (sw->ring != NULL &&
	    (marked = malloc(len + SWIM_SSTREAM_HDR_KEY_LEN)) != NULL &&
	    (n = swim_sstream_hdr_mark(msg, len, marked,
				       len + SWIM_SSTREAM_HDR_KEY_LEN)) > 0) {
		msg = marked;
		len = (size_t)n;
	}
	swarm_fd_timeouts(fd, sw->cfg.timing.tcp_timeout_ms);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0 &&
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0 &&
	    swarm_stream_write(sw, fd, msg, len) == 0 &&
	    swarm_stream_read(sw, fd, &reply, &rlen) == 0) {
		pthread_mutex_lock(&sw->lock);
		rc = swarm_pp_merge(sw, reply, rlen, NULL);
		sw->st.pp_out++;
		pthread_mutex_unlock(&sw->lock);
	}
	free(reply);
	free(marked);
	close(fd);
	return rc;
}

static void
swarm_sleep_until(struct swarm *sw, uint64_t t_us)
{
	while (!atomic_load(&sw->stop)) {
		uint64_t now = swarm_clock_us() - sw->t0;
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (now >= t_us)
			return;
		if (t_us - now < 50000)
			ts.tv_nsec = (long)(t_us - now) * 1000;
		nanosleep(&ts, NULL);
	}
}

/* One seed's push/pull of a batch, on its own thread. */
struct swarm_join_job {
	struct swarm *sw;
	const uint8_t *msg;
	size_t len;
	uint32_t first, count;
	unsigned seed;
};

static void *
swarm_join_job_main(void *arg)
{
	struct swarm_join_job *j = arg;
	struct swarm *sw = j->sw;

	if (swarm_join_seed(sw, j->seed, j->first, j->msg, j->len) != 0) {
		struct in_addr a = { htonl(sw->cfg.join_ip[j->seed]) };
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		fprintf(stderr, "gossip-swarm: join push/pull with %s:%u "
			"failed (members %u..%u)\n", ip,
			sw->cfg.join_port[j->seed], j->first,
			j->first + j->count - 1);
	}
	return NULL;
}

/*
 * Members [first, first + count) join: alive now, then told to every
 * seed at once (one push/pull per seed, in parallel).
 */
static void
swarm_join_batch(struct swarm *sw, uint32_t first, uint32_t count)
{
	struct swarm_join_job jobs[SWARM_JOIN_MAX];
	pthread_t t[SWARM_JOIN_MAX];
	bool up[SWARM_JOIN_MAX] = { false };
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc;

	pthread_mutex_lock(&sw->lock);
	for (uint32_t i = first; i < first + count; i++) {
		struct swarm_member old = sw->m[i];

		if (swarm_member_join(&sw->m[i]) == 0) {
			swarm_delta_touch(sw, i, &old);
			sw->n_alive++;
		}
	}
	sw->n_joined = first + count;
	sw->st.joins += count;
	rc = swarm_pp_encode(sw, true, first, count, false, &msg, &len);
	pthread_mutex_unlock(&sw->lock);
	for (unsigned s = 0; rc == 0 && s < sw->cfg.nb_join; s++) {
		jobs[s] = (struct swarm_join_job){ sw, msg, len, first, count,
						   s };
		up[s] = pthread_create(&t[s], NULL, swarm_join_job_main,
				       &jobs[s]) == 0;
		if (!up[s])
			swarm_join_job_main(&jobs[s]);
	}
	for (unsigned s = 0; rc == 0 && s < sw->cfg.nb_join; s++)
		if (up[s])
			pthread_join(t[s], NULL);
	free(msg);
}

static void *
swarm_joiner_main(void *arg)
{
	struct swarm *sw = arg;
	uint32_t n = sw->cfg.members;
	uint32_t batch = sw->cfg.join_batch;
	uint64_t t_start = swarm_clock_us() - sw->t0;

	if (batch == 0)
		batch = n / 10 > 1000 ? (n + 9) / 10 : 1000;
	for (uint32_t first = 0; first < n && !atomic_load(&sw->stop);) {
		uint32_t count = n - first < batch ? n - first : batch;

		swarm_join_batch(sw, first, count);
		first += count;
		if (sw->cfg.join_rate > 0)
			swarm_sleep_until(sw, t_start +
					  (uint64_t)(first * 1e6 /
						     sw->cfg.join_rate));
	}
	pthread_mutex_lock(&sw->lock);
	sw->t_join_done = swarm_clock_us() - sw->t0;
	pthread_mutex_unlock(&sw->lock);
	atomic_store(&sw->joiner_done, true);
	return NULL;
}

int
swarm_tcp_start(struct swarm *sw)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(sw->cfg.port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1;

	sw->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sw->tcp_fd < 0 ||
	    setsockopt(sw->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) != 0 ||
	    bind(sw->tcp_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(sw->tcp_fd, 1024) != 0) {
		fprintf(stderr, "gossip-swarm: TCP 0.0.0.0:%u: %s\n",
			sw->cfg.port, strerror(errno));
		return -1;
	}
	if (pthread_create(&sw->acceptor, NULL, swarm_acceptor_main, sw) != 0)
		return -1;
	if (pthread_create(&sw->joiner, NULL, swarm_joiner_main, sw) != 0) {
		atomic_store(&sw->down, true);
		pthread_join(sw->acceptor, NULL);
		return -1;
	}
	sw->threads_up = true;
	return 0;
}

void
swarm_tcp_stop(struct swarm *sw)
{
	if (!sw->threads_up)
		return;
	atomic_store(&sw->stop, true);
	atomic_store(&sw->down, true);
	pthread_join(sw->joiner, NULL);
	pthread_join(sw->acceptor, NULL);
	/* Workers end within their TCP timeout; wait for them, bounded. */
	for (int k = 0; k < 200 && atomic_load(&sw->workers) > 0; k++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	close(sw->tcp_fd);
	sw->threads_up = false;
}
