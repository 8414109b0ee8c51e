/* SPDX-License-Identifier: MIT */
/* Test client for cp_rpc (see rpc_tc.h). Fails the test on setup errors. */
#include "rpc_tc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define RPC_TC_IN_MAX (4u << 20)
#define RPC_TC_WAIT_ROUNDS 400

void
rpc_tc_env_start(struct rpc_tc_env *e, const struct cp_rpc_cfg *cfg,
		 bool capture)
{
	struct cp_rpc_cfg c;
	char err[256];
	if (cfg != NULL)
		c = *cfg;
	else
		cp_rpc_cfg_default(&c);
	c.bind = "127.0.0.1:0";
	memset(e, 0, sizeof(*e));
	rpc_fake_init(&e->f, 7946, capture);
	rpc_fake_ops(&e->f, &c.ops);
	e->f.rpc = cp_rpc_new(&c, err, sizeof(err));
	cr_assert_not_null(e->f.rpc, "cp_rpc_new: %s", err);
}

void
rpc_tc_env_stop(struct rpc_tc_env *e)
{
	cp_rpc_delete(e->f.rpc);
	e->f.rpc = NULL;
}

void
rpc_tc_connect(struct rpc_tc_env *e, struct rpc_tc *c)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(cp_rpc_port(e->f.rpc)),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(c->fd, 0);
	cr_assert_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
		     "connect: %s", strerror(errno));
	c->in = malloc(RPC_TC_IN_MAX);
	cr_assert_not_null(c->in);
}

void
rpc_tc_close(struct rpc_tc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
}

void
rpc_tc_send_raw(struct rpc_tc *c, const void *p, size_t len)
{
	ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
	cr_assert_eq(n, (ssize_t)len, "send: %s", strerror(errno));
}

void
rpc_tc_send(struct rpc_tc *c, const char *cmd, const struct cp_rpc_buf *body)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 1 << 20);
	cp_rpc_enc_request(&b, cmd, ++c->seq);
	if (body != NULL)
		cp_rpc_enc_raw(&b, body->data, body->len);
	cr_assert(!b.overflow);
	rpc_tc_send_raw(c, b.data, b.len);
	cp_rpc_buf_destroy(&b);
}

void
rpc_tc_send_str(struct rpc_tc *c, const char *cmd, const char *key,
		const char *val)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 2048);
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, key);
	cp_rpc_enc_str(&b, val);
	rpc_tc_send(c, cmd, &b);
	cp_rpc_buf_destroy(&b);
}

void
rpc_tc_send_uint(struct rpc_tc *c, const char *cmd, const char *key,
		 uint64_t v)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 64);
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, key);
	cp_rpc_enc_uint(&b, v);
	rpc_tc_send(c, cmd, &b);
	cp_rpc_buf_destroy(&b);
}

/* Read whatever the socket has, without blocking. */
static void
rpc_tc_read(struct rpc_tc *c)
{
	while (c != NULL && !c->is_eof && c->len < RPC_TC_IN_MAX) {
		ssize_t n = recv(c->fd, c->in + c->len, RPC_TC_IN_MAX - c->len,
				 MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			c->is_eof = true;
		if (n <= 0)
			return;
		c->len += (size_t)n;
	}
}

void
rpc_tc_pump(struct rpc_tc_env *e, struct rpc_tc *c, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		cp_rpc_poll(e->f.rpc, 1);
		e->now_ms += 5;
		rpc_fake_tick(&e->f, e->now_ms);
		rpc_tc_read(c);
	}
}

int
rpc_tc_value(struct rpc_tc_env *e, struct rpc_tc *c, size_t *len)
{
	for (int i = 0; i < RPC_TC_WAIT_ROUNDS; i++) {
		enum cp_rpc_scan sc = cp_rpc_mp_scan(c->in, c->len, len);
		cr_assert_neq(sc, CP_RPC_SCAN_BAD, "server sent bad msgpack");
		if (sc == CP_RPC_SCAN_OK)
			return 0;
		if (c->is_eof)
			return -ECONNRESET;
		rpc_tc_pump(e, c, 1);
	}
	return -ETIMEDOUT;
}

void
rpc_tc_consume(struct rpc_tc *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
}

int
rpc_tc_header(struct rpc_tc_env *e, struct rpc_tc *c, uint64_t *seq,
	      char *err, size_t errlen)
{
	size_t len;
	int rc = rpc_tc_value(e, c, &len);
	if (rc != 0)
		return rc;
	const char *p = c->in, *end = c->in + len;
	uint32_t n;
	*seq = UINT64_MAX;
	snprintf(err, errlen, "<none>");
	cr_assert_eq(cp_rpc_dec_map(&p, end, &n), 0);
	cr_assert_eq(n, 2, "header has %u keys", n);
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t kl, sl;
		cr_assert_eq(cp_rpc_dec_strn(&p, end, &k, &kl), 0);
		if (cp_rpc_key_is(k, kl, "Seq")) {
			cr_assert_eq(cp_rpc_dec_uint(&p, end, UINT64_MAX, seq), 0);
		} else {
			cr_assert(cp_rpc_key_is(k, kl, "Error"));
			cr_assert_eq(cp_rpc_dec_strn(&p, end, &s, &sl), 0);
			snprintf(err, errlen, "%.*s", (int)sl, s);
		}
	}
	rpc_tc_consume(c, len);
	return 0;
}

void
rpc_tc_expect(struct rpc_tc_env *e, struct rpc_tc *c, uint64_t seq,
	      const char *want)
{
	uint64_t got;
	char err[1024];
	cr_assert_eq(rpc_tc_header(e, c, &got, err, sizeof(err)), 0);
	cr_assert_eq(got, seq, "seq %llu != %llu", (unsigned long long)got,
		     (unsigned long long)seq);
	cr_assert_str_eq(err, want);
}

bool
rpc_tc_closed(struct rpc_tc_env *e, struct rpc_tc *c)
{
	for (int i = 0; i < RPC_TC_WAIT_ROUNDS && !c->is_eof; i++)
		rpc_tc_pump(e, c, 1);
	return c->is_eof && c->len == 0;
}

void
rpc_tc_handshake(struct rpc_tc_env *e, struct rpc_tc *c)
{
	rpc_tc_send_uint(c, "handshake", "Version", 1);
	rpc_tc_expect(e, c, c->seq, "");
}

/* One Member map into out. */
static int
rpc_tc_member(const char **p, const char *end, struct rpc_tc_member *m)
{
	uint32_t n, kl, sl;
	const char *k, *s;
	memset(m, 0, sizeof(*m));
	if (cp_rpc_dec_map(p, end, &n) != 0)
		return -1;
	m->nb_keys = n;
	for (uint32_t i = 0; i < n; i++) {
		int rc = cp_rpc_dec_strn(p, end, &k, &kl);
		if (rc == 0 && cp_rpc_key_is(k, kl, "Name")) {
			rc = cp_rpc_dec_strn(p, end, &s, &sl);
			snprintf(m->name, sizeof(m->name), "%.*s", (int)sl, s);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Status")) {
			rc = cp_rpc_dec_strn(p, end, &s, &sl);
			snprintf(m->status, sizeof(m->status), "%.*s",
				 (int)sl, s);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Addr")) {
			cr_assert((uint8_t)**p >= 0xc4 && (uint8_t)**p <= 0xc6,
				  "Addr must be bin");
			rc = cp_rpc_dec_strn(p, end, &s, &sl);
			m->addr_len = sl;
			memcpy(m->addr, s, sl <= 16 ? sl : 16);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Port")) {
			rc = cp_rpc_dec_uint(p, end, UINT16_MAX, &m->port);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Incarnation")) {
			m->has_inc = true;
			rc = cp_rpc_dec_uint(p, end, UINT64_MAX, &m->inc);
		} else if (rc == 0 && cp_rpc_key_is(k, kl, "Tags")) {
			rc = cp_rpc_dec_map(p, end, &m->nb_tags);
			for (uint32_t t = 0; rc == 0 && t < 2 * m->nb_tags; t++)
				cp_rpc_dec_skip(p, end);
		} else if (rc == 0) {
			cp_rpc_dec_skip(p, end);
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
rpc_tc_members(const struct rpc_tc *c, size_t len, struct rpc_tc_member *out,
	       int max)
{
	const char *p = c->in, *end = c->in + len, *k;
	uint32_t n, kl, cnt;
	if (cp_rpc_dec_map(&p, end, &n) != 0 || n != 1 ||
	    cp_rpc_dec_strn(&p, end, &k, &kl) != 0 ||
	    !cp_rpc_key_is(k, kl, "Members") ||
	    cp_rpc_dec_array(&p, end, &cnt) != 0 || (int)cnt > max)
		return -1;
	for (uint32_t i = 0; i < cnt; i++) {
		if (rpc_tc_member(&p, end, &out[i]) != 0)
			return -1;
	}
	return p == end ? (int)cnt : -1;
}

void
rpc_tc_open(struct rpc_tc_env *e, struct rpc_tc *c)
{
	rpc_tc_env_start(e, NULL, false);
	rpc_tc_connect(e, c);
	rpc_tc_handshake(e, c);
}

void
rpc_tc_shut(struct rpc_tc_env *e, struct rpc_tc *c)
{
	rpc_tc_close(c);
	rpc_tc_env_stop(e);
}
