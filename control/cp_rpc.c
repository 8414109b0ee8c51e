/* SPDX-License-Identifier: MIT */
/*
 * Serf agent RPC server: listener, connections, msgpack framing, the
 * handshake/auth gate, async completions and stream publishing. The
 * command handlers live in cp_rpc_cmd.c.
 *
 * Runs on the control thread only and must never block: every socket is
 * non-blocking, epoll is level-triggered, input and output are capped per
 * client. Clients are never freed while epoll events for them may still be
 * in hand: a dead client is only closed by cp_rpc_reap, at the end of
 * cp_rpc_poll (or of a publish/complete call made outside the poll).
 */
#include "cp_rpc_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <msgpuck.h>

const char *const cp_rpc_status_str[CP_RPC_STATUS_COUNT] = {
	"none", "alive", "leaving", "left", "failed",
};

const char *const cp_rpc_event_str[CP_RPC_EVENT_COUNT] = {
	"member-join", "member-leave", "member-failed", "member-update",
	"member-reap",
};

/* Most events handled per cp_rpc_poll call: bounds one loop iteration. */
#define CP_RPC_EVENTS_MAX 64

void
cp_rpc_cfg_default(struct cp_rpc_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->bind = "127.0.0.1:7373";	/* serf agent's default -rpc-addr */
	cfg->max_clients = 64;		/* CLI sessions are short-lived */
	cfg->max_in_bytes = 64 * 1024;	/* requests are small; 64 KiB */
	cfg->max_out_bytes = 16 << 20;	/* ~100k members' worth of reply */
	cfg->max_streams = 4;		/* serf monitor opens one */
}

/* A host name ("localhost"): resolved once, at init, where blocking is ok. */
static int
cp_rpc_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
	       socklen_t *sslen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	if (host[0] == '\0' || getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		return -EINVAL;
	return 0;
}

/* "1.2.3.4:7373", "[::1]:7373" or "localhost:7373" into a sockaddr. */
static int
cp_rpc_parse_bind(const char *bind, struct sockaddr_storage *ss,
		  socklen_t *sslen)
{
	char host[64];
	const char *colon = strrchr(bind, ':');
	if (colon == NULL || colon == bind || colon - bind >= (long)sizeof(host))
		return -EINVAL;
	memcpy(host, bind, colon - bind);
	host[colon - bind] = '\0';
	char *endp;
	long port = strtol(colon + 1, &endp, 10);
	if (*endp != '\0' || colon[1] == '\0' || port < 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	size_t hl = strlen(host);
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*in4);
		return 0;
	}
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			*sslen = sizeof(*in6);
			return 0;
		}
		return -EINVAL;
	}
	return cp_rpc_resolve(host, (uint16_t)port, ss, sslen);
}

/* socket, bind, listen; fills rpc->lfd and rpc->port. */
static int
cp_rpc_listen(struct cp_rpc *rpc, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (cp_rpc_parse_bind(rpc->cfg.bind, &ss, &sslen) != 0) {
		snprintf(err, errlen, "rpc: bad bind address '%s'",
			 rpc->cfg.bind);
		return -EINVAL;
	}
	rpc->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			  SOCK_CLOEXEC, 0);
	if (rpc->lfd < 0)
		goto out_errno;
	int one = 1;
	setsockopt(rpc->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(rpc->lfd, (struct sockaddr *)&ss, sslen) != 0 ||
	    listen(rpc->lfd, 64) != 0 ||
	    getsockname(rpc->lfd, (struct sockaddr *)&ss, &sslen) != 0)
		goto out_errno;
	rpc->port = ntohs(ss.ss_family == AF_INET ?
			  ((struct sockaddr_in *)&ss)->sin_port :
			  ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
out_errno:;
	int rc = -errno;
	snprintf(err, errlen, "rpc: listen on %s: %s", rpc->cfg.bind,
		 strerror(errno));
	return rc;
}

struct cp_rpc *
cp_rpc_new(const struct cp_rpc_cfg *cfg, char *err, size_t errlen)
{
	struct cp_rpc *rpc = calloc(1, sizeof(*rpc));
	if (rpc == NULL) {
		snprintf(err, errlen, "rpc: out of memory");
		return NULL;
	}
	rpc->cfg = *cfg;
	rpc->lfd = -1;
	rpc->epfd = -1;
	rpc->next_req_id = 1;
	rpc->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (rpc->cfg.max_clients == 0 || rpc->cfg.max_in_bytes < 64 ||
	    rpc->cfg.max_out_bytes < 4096 || rpc->cfg.bind == NULL) {
		snprintf(err, errlen, "rpc: bad limits in config");
		goto out_free;
	}
	rpc->auth = strdup(cfg->auth_key != NULL ? cfg->auth_key : "");
	rpc->clients = calloc(rpc->cfg.max_clients, sizeof(*rpc->clients));
	rpc->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rpc->auth == NULL || rpc->clients == NULL || rpc->epfd < 0) {
		snprintf(err, errlen, "rpc: init: %s", strerror(errno));
		goto out_free;
	}
	rpc->cfg.auth_key = rpc->auth;
	rpc->log_ring = calloc(CP_RPC_LOG_RING, sizeof(*rpc->log_ring));
	if (rpc->log_ring == NULL) {
		snprintf(err, errlen, "rpc: out of memory");
		goto out_free;
	}
	cp_rpc_buf_create(&rpc->scratch, rpc->cfg.max_out_bytes);
	if (cp_rpc_listen(rpc, err, errlen) != 0)
		goto out_free;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(rpc->epfd, EPOLL_CTL_ADD, rpc->lfd, &ev) != 0) {
		snprintf(err, errlen, "rpc: epoll_ctl: %s", strerror(errno));
		goto out_free;
	}
	return rpc;
out_free:
	cp_rpc_delete(rpc);
	return NULL;
}

static void
cp_rpc_client_free(struct cp_rpc *rpc, uint32_t slot)
{
	struct cp_rpc_client *c = rpc->clients[slot];
	close(c->fd);	/* also removes it from the epoll set */
	cp_rpc_members_free(c);
	cp_rpc_keyop_free(c);
	cp_rpc_buf_destroy(&c->out);
	free(c->in);
	free(c->streams);
	free(c);
	rpc->clients[slot] = NULL;
	rpc->cnt.nb_clients--;
}

void
cp_rpc_delete(struct cp_rpc *rpc)
{
	if (rpc == NULL)
		return;
	for (uint32_t i = 0; rpc->clients != NULL &&
	     i < rpc->cfg.max_clients; i++) {
		if (rpc->clients[i] != NULL)
			cp_rpc_client_free(rpc, i);
	}
	if (rpc->lfd >= 0)
		close(rpc->lfd);
	if (rpc->epfd >= 0)
		close(rpc->epfd);
	if (rpc->spare_fd >= 0)
		close(rpc->spare_fd);
	cp_rpc_buf_destroy(&rpc->scratch);
	for (uint32_t i = 0; rpc->log_ring != NULL && i < CP_RPC_LOG_RING; i++)
		free(rpc->log_ring[i]);
	free(rpc->log_ring);
	free(rpc->clients);
	free(rpc->auth);
	free(rpc);
}

int
cp_rpc_fd(const struct cp_rpc *rpc)
{
	return rpc->epfd;
}

uint16_t
cp_rpc_port(const struct cp_rpc *rpc)
{
	return rpc->port;
}

void
cp_rpc_get_counters(const struct cp_rpc *rpc, struct cp_rpc_counters *out)
{
	*out = rpc->cnt;
}

void
cp_rpc_client_kill(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	(void)rpc;
	c->is_dead = true;
}

/* Close and free every dead client. Never runs while events are in hand. */
static void
cp_rpc_reap(struct cp_rpc *rpc)
{
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		if (rpc->clients[i] != NULL && rpc->clients[i]->is_dead)
			cp_rpc_client_free(rpc, i);
	}
}

void
cp_rpc_reap_if_idle(struct cp_rpc *rpc)
{
	if (!rpc->in_poll)
		cp_rpc_reap(rpc);
}

/* Register the events this client needs now: in while there is room to
 * read into, out while replies are queued. */
static void
cp_rpc_client_arm(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	uint32_t want = 0;
	if (!c->is_closing && !c->is_eof && c->in_len < rpc->cfg.max_in_bytes)
		want |= EPOLLIN;
	if (c->out.len > 0 || c->mstream != NULL)
		want |= EPOLLOUT;	/* a members reply goes on as it drains */
	if (want == c->events)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = c };
	if (epoll_ctl(rpc->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		cp_rpc_client_kill(rpc, c);
		return;
	}
	c->events = want;
}

void
cp_rpc_client_flush(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	if (c->is_dead)
		return;
	if (c->out.overflow) {
		rpc->cnt.overflow++;
		cp_rpc_client_kill(rpc, c);
		return;
	}
	cp_rpc_members_more(rpc, c);
	while (c->out.len > 0) {
		ssize_t n = send(c->fd, c->out.data, c->out.len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			cp_rpc_client_kill(rpc, c);
			return;
		}
		cp_rpc_buf_consume(&c->out, (size_t)n);
	}
	/* A pending request keeps a half-closed peer for its late reply. */
	if (c->out.len == 0 && (c->is_closing || c->is_eof) &&
	    c->pend == CP_RPC_PEND_NONE) {
		cp_rpc_client_kill(rpc, c);
		return;
	}
	cp_rpc_client_arm(rpc, c);
}

void
cp_rpc_reply(struct cp_rpc_client *c, uint64_t seq, const char *err)
{
	cp_rpc_enc_header(&c->out, seq, err);
}

/* A new connection: a free slot or an immediate close. */
static void
cp_rpc_accept_one(struct cp_rpc *rpc, int fd)
{
	uint32_t slot = 0;
	while (slot < rpc->cfg.max_clients && rpc->clients[slot] != NULL)
		slot++;
	if (slot == rpc->cfg.max_clients) {
		rpc->cnt.refused_full++;
		close(fd);
		return;
	}
	struct cp_rpc_client *c = calloc(1, sizeof(*c));
	if (c != NULL) {
		c->in = malloc(rpc->cfg.max_in_bytes);
		c->streams = calloc(rpc->cfg.max_streams + 1,
				    sizeof(*c->streams));
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (c == NULL || c->in == NULL || c->streams == NULL ||
	    epoll_ctl(rpc->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		if (c != NULL) {
			free(c->in);
			free(c->streams);
		}
		free(c);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->events = EPOLLIN;
	c->has_auth = rpc->auth[0] == '\0';
	cp_rpc_buf_create(&c->out, rpc->cfg.max_out_bytes);
	rpc->clients[slot] = c;
	rpc->cnt.nb_clients++;
	rpc->cnt.accepted++;
}

/*
 * Out of fds: the pending connection would keep the listener readable and
 * the loop spinning. Give back the spare fd, accept and close at once
 * (the client sees a close, as when the cap is hit), take the spare again.
 */
static void
cp_rpc_accept_shed(struct cp_rpc *rpc)
{
	if (rpc->spare_fd < 0)
		return;
	close(rpc->spare_fd);
	int fd = accept4(rpc->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		rpc->cnt.refused_full++;
	}
	rpc->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
cp_rpc_accept(struct cp_rpc *rpc)
{
	for (int i = 0; i < CP_RPC_EVENTS_MAX; i++) {
		int fd = accept4(rpc->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			cp_rpc_accept_one(rpc, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE)
			cp_rpc_accept_shed(rpc);
		return;	/* EAGAIN, or a transient error: retry later */
	}
}

/* Decode {Command, Seq}; other keys skipped. -EINVAL closes the client. */
static int
cp_rpc_decode_header(struct cp_rpc_client *c, const char *p, const char *end)
{
	uint32_t n;
	c->cmd[0] = '\0';
	c->seq = 0;
	if (cp_rpc_dec_map(&p, end, &n) != 0)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t kl, sl;
		if (cp_rpc_dec_strn(&p, end, &k, &kl) != 0)
			return -EINVAL;
		if (cp_rpc_key_is(k, kl, "Seq")) {
			if (cp_rpc_dec_uint(&p, end, UINT64_MAX, &c->seq) != 0)
				return -EINVAL;
		} else if (cp_rpc_key_is(k, kl, "Command")) {
			if (cp_rpc_dec_strn(&p, end, &s, &sl) != 0)
				return -EINVAL;
			if (sl >= sizeof(c->cmd))
				sl = sizeof(c->cmd) - 1; /* unknown anyway */
			memcpy(c->cmd, s != NULL ? s : "", sl);
			c->cmd[sl] = '\0';
		} else {
			cp_rpc_dec_skip(&p, end);
		}
	}
	return 0;
}

/*
 * A header arrived: apply serf-rpc.md 3.2's gate in the agent's order
 * (handshake, then auth, then dispatch). Returns the command to run now or
 * after its body, or NULL when the gate answered.
 */
static const struct cp_rpc_cmd *
cp_rpc_gate(struct cp_rpc_client *c)
{
	const struct cp_rpc_cmd *cmd = cp_rpc_cmd_find(c->cmd);
	if (!c->has_handshake && strcmp(c->cmd, "handshake") != 0) {
		cp_rpc_reply(c, c->seq, "Handshake required");
		c->is_closing = true;
		return NULL;
	}
	if (!c->has_auth && strcmp(c->cmd, "handshake") != 0 &&
	    strcmp(c->cmd, "auth") != 0) {
		cp_rpc_reply(c, c->seq, "Authentication required");
		if (cmd == NULL)
			c->is_closing = true;
		else
			c->skip_body = cmd->has_body;
		return NULL;
	}
	if (cmd == NULL) {
		cp_rpc_reply(c, c->seq, "Unsupported command");
		c->is_closing = true;
	}
	return cmd;
}

/* One complete value at c->in: a header or the body it announced. */
static int
cp_rpc_on_value(struct cp_rpc *rpc, struct cp_rpc_client *c, const char *p,
		const char *end)
{
	const char *q = p;
	if (mp_check(&q, end) != 0 || q != end)
		return -EINVAL;	/* cannot happen after a scan: belt and braces */
	if (c->skip_body) {
		c->skip_body = false;
		return 0;
	}
	if (c->has_hdr) {
		c->has_hdr = false;
		c->is_busy = true;
		int rc = cp_rpc_cmd_find(c->cmd)->fn(rpc, c, p, end);
		c->is_busy = false;
		return rc;
	}
	if (cp_rpc_decode_header(c, p, end) != 0)
		return -EINVAL;
	rpc->cnt.requests++;
	const struct cp_rpc_cmd *cmd = cp_rpc_gate(c);
	if (cmd == NULL)
		return 0;
	if (cmd->has_body) {
		c->has_hdr = true;
		return 0;
	}
	c->is_busy = true;
	int rc = cmd->fn(rpc, c, NULL, NULL);
	c->is_busy = false;
	return rc;
}

/* Run every complete request in c->in, one at a time, as the agent does. */
static void
cp_rpc_process(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	while (!c->is_dead && !c->is_closing && c->pend == CP_RPC_PEND_NONE) {
		size_t vlen;
		enum cp_rpc_scan sc = cp_rpc_mp_scan(c->in, c->in_len, &vlen);
		if (sc == CP_RPC_SCAN_SHORT && c->in_len < rpc->cfg.max_in_bytes)
			break;
		if (sc != CP_RPC_SCAN_OK) {
			if (sc == CP_RPC_SCAN_BAD)
				rpc->cnt.bad_input++;
			else
				rpc->cnt.overflow++;
			cp_rpc_client_kill(rpc, c);
			return;
		}
		int rc = cp_rpc_on_value(rpc, c, c->in, c->in + vlen);
		memmove(c->in, c->in + vlen, c->in_len - vlen);
		c->in_len -= (uint32_t)vlen;
		if (rc != 0) {
			rpc->cnt.bad_input++;
			cp_rpc_client_kill(rpc, c);
			return;
		}
	}
}

static void
cp_rpc_on_readable(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	while (c->in_len < rpc->cfg.max_in_bytes) {
		ssize_t n = recv(c->fd, c->in + c->in_len,
				 rpc->cfg.max_in_bytes - c->in_len,
				 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->is_eof = true;
			break;
		}
		c->in_len += (uint32_t)n;
	}
	cp_rpc_process(rpc, c);
	if (c->is_eof && c->pend == CP_RPC_PEND_NONE && c->out.len == 0)
		cp_rpc_client_kill(rpc, c);
	cp_rpc_client_flush(rpc, c);
}

int
cp_rpc_poll(struct cp_rpc *rpc, int timeout_ms)
{
	struct epoll_event evs[CP_RPC_EVENTS_MAX];
	int n = epoll_wait(rpc->epfd, evs, CP_RPC_EVENTS_MAX, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	rpc->in_poll = true;
	for (int i = 0; i < n; i++) {
		struct cp_rpc_client *c = evs[i].data.ptr;
		if (c == NULL) {
			cp_rpc_accept(rpc);
			continue;
		}
		if (c->is_dead)
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			cp_rpc_on_readable(rpc, c);
		else if (evs[i].events & EPOLLOUT)
			cp_rpc_client_flush(rpc, c);
		/* HUP/ERR stay level-triggered even with EPOLLIN off. */
		if (evs[i].events & (EPOLLHUP | EPOLLERR))
			cp_rpc_client_kill(rpc, c);
	}
	rpc->in_poll = false;
	cp_rpc_reap(rpc);
	return n;
}

/* The client whose async request has this id, or NULL. */
struct cp_rpc_client *
cp_rpc_find_pending(struct cp_rpc *rpc, uint64_t req_id,
		    enum cp_rpc_pend kind)
{
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		struct cp_rpc_client *c = rpc->clients[i];
		if (c != NULL && !c->is_dead && c->pend == kind &&
		    c->pend_id == req_id)
			return c;
	}
	return NULL;
}

/* After a late reply: send it, then go on with buffered requests. */
void
cp_rpc_resume(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	c->pend = CP_RPC_PEND_NONE;
	if (c->is_busy)
		return;	/* completed inside its own op: the caller goes on */
	cp_rpc_process(rpc, c);
	if (c->is_eof && c->out.len == 0)
		cp_rpc_client_kill(rpc, c);
	cp_rpc_client_flush(rpc, c);
	cp_rpc_reap_if_idle(rpc);
}

int
cp_rpc_complete_join(struct cp_rpc *rpc, uint64_t req_id, uint32_t nb_joined,
		     const char *err)
{
	struct cp_rpc_client *c = cp_rpc_find_pending(rpc, req_id,
						      CP_RPC_PEND_JOIN);
	if (c == NULL)
		return -ENOENT;
	cp_rpc_reply(c, c->pend_seq, err);
	cp_rpc_enc_map(&c->out, 1);	/* {Num} even on error: serf-rpc 4 */
	cp_rpc_enc_str(&c->out, "Num");
	cp_rpc_enc_uint(&c->out, nb_joined);
	cp_rpc_resume(rpc, c);
	return 0;
}

int
cp_rpc_complete_leave(struct cp_rpc *rpc, uint64_t req_id, const char *err)
{
	struct cp_rpc_client *c = cp_rpc_find_pending(rpc, req_id,
						      CP_RPC_PEND_LEAVE);
	if (c == NULL)
		return -ENOENT;
	cp_rpc_reply(c, c->pend_seq, err);
	cp_rpc_resume(rpc, c);
	return 0;
}
