/* SPDX-License-Identifier: MIT */
/*
 * Streamed `members` / `members-filtered` (cp_rpc_members.c) over a
 * synthetic pool of 10^5 members: the whole list arrives (past the old
 * 16 MiB reply cap) while the client's output buffer stays small, a
 * filter's count is exact, a member gone since the snapshot still gets
 * its record (left), the next request on the connection is answered
 * after the list, and a client that hangs up mid-list is cleaned up.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <msgpuck.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_rpc_int.h"

#define NB 100000u

static struct {
	uint32_t nb;			/* members in the pool */
	uint32_t gone_from;		/* members >= this vanish from find */
} pool;

#define NOTE "rack r7, row 12, hall B, second floor, north wing"
static const struct cp_rpc_kv tags_even[] = {
	{"role", "web"}, {"dc", "eu1"}, {"note", NOTE},
};
static const struct cp_rpc_kv tags_odd[] = {
	{"role", "db"}, {"dc", "eu1"}, {"note", NOTE},
};

static int
pool_visit(uint32_t i, cp_rpc_member_visit_f visit, void *arg)
{
	char name[32];
	struct cp_rpc_member m;

	memset(&m, 0, sizeof(m));
	snprintf(name, sizeof(name), "node-%07u", i);
	m.name = name;
	m.addr_len = 4;
	m.addr[0] = 127;
	m.addr[3] = (uint8_t)i;
	m.port = 7946;
	m.tags = i % 2 ? tags_odd : tags_even;
	m.nb_tags = 3;
	m.status = CP_RPC_STATUS_ALIVE;
	m.protocol_max = 5;
	return visit(arg, &m);
}

static int
pool_members(void *ctx, cp_rpc_member_visit_f visit, void *arg)
{
	(void)ctx;
	for (uint32_t i = 0; i < pool.nb; i++) {
		int rc = pool_visit(i, visit, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
pool_find(void *ctx, const char *name, cp_rpc_member_visit_f visit,
	  void *arg)
{
	unsigned i;

	(void)ctx;
	if (sscanf(name, "node-%u", &i) != 1 || i >= pool.nb ||
	    i >= pool.gone_from)
		return -ENOENT;
	return pool_visit(i, visit, arg);
}

static struct cp_rpc *rpc;
static size_t peak_out;

static void
start(void)
{
	struct cp_rpc_cfg cfg;
	char err[128];

	pool.nb = NB;
	pool.gone_from = UINT32_MAX;
	cp_rpc_cfg_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	cfg.ops.members = pool_members;
	cfg.ops.member_find = pool_find;
	rpc = cp_rpc_new(&cfg, err, sizeof(err));
	cr_assert_not_null(rpc, "%s", err);
	peak_out = 0;
}

static void
stop(void)
{
	cp_rpc_delete(rpc);
}

static void
pump(void)
{
	cp_rpc_poll(rpc, 0);
	for (uint32_t i = 0; i < rpc->cfg.max_clients; i++) {
		const struct cp_rpc_client *c = rpc->clients[i];
		if (c != NULL && c->out.cap > peak_out)
			peak_out = c->out.cap;
	}
}

static int
connect_rpc(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons(cp_rpc_port(rpc));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* {Command, Seq} then an optional raw body. */
static void
send_req(int fd, const char *cmd, uint64_t seq, const char *body,
	 size_t blen)
{
	char buf[512], *p = buf;

	p = mp_encode_map(p, 2);
	p = mp_encode_str(p, "Command", 7);
	p = mp_encode_str(p, cmd, (uint32_t)strlen(cmd));
	p = mp_encode_str(p, "Seq", 3);
	p = mp_encode_uint(p, seq);
	memcpy(p, body, blen);
	p += blen;
	cr_assert_eq(write(fd, buf, (size_t)(p - buf)), p - buf);
}

/* Pump and read until n whole values are in buf (or the server closes). */
static size_t
read_values(int fd, char *buf, size_t cap, unsigned n, size_t *len)
{
	unsigned got = 0;
	const char *p = buf;

	for (int i = 0; i < 200000 && got < n; i++) {
		struct pollfd pf = {fd, POLLIN, 0};
		pump();
		if (poll(&pf, 1, 0) == 1) {
			ssize_t k = read(fd, buf + *len, cap - *len);
			if (k <= 0)
				break;
			*len += (size_t)k;
		}
		const char *q = p;
		while (got < n && mp_check(&q, buf + *len) == 0) {
			p = q;
			got++;
		}
		q = p;
	}
	return (size_t)(p - buf);
}

static void
handshake(int fd, char *buf, size_t cap)
{
	char body[32], *p = mp_encode_map(body, 1);
	size_t len = 0;

	p = mp_encode_str(p, "Version", 7);
	p = mp_encode_uint(p, 1);
	send_req(fd, "handshake", 1, body, (size_t)(p - body));
	cr_assert_eq(read_values(fd, buf, cap, 1, &len), len);
}

/* The Members array of a reply body at *pp: count, and names checked. */
static uint32_t
members_of(const char **pp, uint32_t step, uint32_t *nb_left)
{
	const char *p = *pp;
	uint32_t k, n;

	cr_assert_eq(mp_decode_map(&p), 1);
	mp_next(&p);	/* "Members" */
	n = mp_decode_array(&p);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t nk = mp_decode_map(&p);
		for (k = 0; k < nk; k++) {
			uint32_t kl, vl;
			const char *key = mp_decode_str(&p, &kl);
			if (kl == 4 && memcmp(key, "Name", 4) == 0) {
				char want[32];
				const char *v = mp_decode_str(&p, &vl);
				snprintf(want, sizeof(want), "node-%07u",
					 i * step);
				cr_assert(vl == strlen(want) &&
					  memcmp(v, want, vl) == 0);
			} else if (kl == 6 && memcmp(key, "Status", 6) == 0) {
				const char *v = mp_decode_str(&p, &vl);
				*nb_left += vl == 4 && memcmp(v, "left", 4) == 0;
			} else {
				mp_next(&p);
			}
		}
	}
	*pp = p;
	return n;
}

/* Replies of up to 64 MiB: the whole pool's list, twice. */
static char reply[64u << 20];

/* A client connected and through the handshake. */
static int
client_up(void)
{
	int fd = connect_rpc();

	handshake(fd, reply, sizeof(reply));
	return fd;
}

TestSuite(rpc_members, .init = start, .fini = stop, .timeout = 100);

Test(rpc_members, whole_pool_streams_past_the_old_cap)
{
	size_t len = 0;
	int fd = client_up();
	uint32_t nb_left = 0;

	send_req(fd, "members", 2, "", 0);
	/* a second request right behind: answered after the whole list */
	send_req(fd, "members", 3, "", 0);
	size_t used = read_values(fd, reply, sizeof(reply), 4, &len);
	const char *p = reply;
	mp_next(&p);	/* header Seq 2 */
	cr_assert_eq(members_of(&p, 1, &nb_left), NB);
	cr_assert_gt((size_t)(p - reply), 16u << 20);	/* the old cap */
	mp_next(&p);	/* header Seq 3 */
	cr_assert_eq(members_of(&p, 1, &nb_left), NB);
	cr_assert_eq((size_t)(p - reply), used);
	cr_assert_eq(nb_left, 0);
	cr_assert_lt(peak_out, 1u << 20, "peak out %zu", peak_out);
	close(fd);
}

Test(rpc_members, filtered_count_is_exact)
{
	size_t len = 0;
	char body[128], *q = body;
	int fd = client_up();
	uint32_t nb_left = 0;

	q = mp_encode_map(q, 2);
	q = mp_encode_str(q, "Status", 6);
	q = mp_encode_str(q, "alive", 5);
	q = mp_encode_str(q, "Tags", 4);
	q = mp_encode_map(q, 1);
	q = mp_encode_str(q, "role", 4);
	q = mp_encode_str(q, "w.b", 3);
	send_req(fd, "members-filtered", 2, body, (size_t)(q - body));
	read_values(fd, reply, sizeof(reply), 2, &len);
	const char *p = reply;
	mp_next(&p);
	cr_assert_eq(members_of(&p, 2, &nb_left), NB / 2);
	close(fd);
}

Test(rpc_members, member_gone_since_snapshot_is_listed_left)
{
	size_t len = 0;
	int fd = client_up();
	uint32_t nb_left = 0;

	send_req(fd, "members", 2, "", 0);
	pump();		/* the snapshot is taken here */
	pool.gone_from = NB - 10;
	read_values(fd, reply, sizeof(reply), 2, &len);
	const char *p = reply;
	mp_next(&p);
	cr_assert_eq(members_of(&p, 1, &nb_left), NB);
	cr_assert_eq(nb_left, 10);
	close(fd);
}

Test(rpc_members, client_gone_mid_list_is_cleaned_up)
{
	char buf[4096];
	size_t len = 0;
	int fd = connect_rpc();
	struct cp_rpc_counters cn;

	handshake(fd, buf, sizeof(buf));
	send_req(fd, "members", 2, "", 0);
	for (int i = 0; i < 20; i++)
		pump();
	close(fd);
	for (int i = 0; i < 2000; i++)
		pump();
	cp_rpc_get_counters(rpc, &cn);
	cr_assert_eq(cn.nb_clients, 0);
	(void)len;
}
