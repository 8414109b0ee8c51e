/* SPDX-License-Identifier: MIT */
/*
 * Push/pull for the swarm: our message (memberlist-wire.md §5.7, §7.2:
 * 06 | header | pushNodeState x Nodes | Serf user state §10.3), the merge
 * of a real node's message into our view, and reading and writing one
 * stream message (plain, LZW-compressed or encrypted, §7.1).
 */
#include <errno.h>
#include <msgpuck.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serf_msg.h"
#include "swarm_int.h"
#include "swim_crypto.h"
#include "swim_dsync.h"
#include "swim_sealed_stream.h"

#define SWARM_STREAM_MAX (256u << 20)	/* largest stream we read */
#define SWARM_PP_NODE_MAX 128		/* a pushNodeState without Meta */
#define SWARM_PP_STATUS_MAX 96		/* StatusLTimes + LeftMembers */

/* serf's Vsn, then the delta-sync capability byte (swim_dsync.h). */
static const uint8_t swarm_vsn_caps[SWIM_VSN_LEN + 1] = {
	1, 5, 2, 2, 5, 5, SWIM_DSYNC_CAP_V1 | SWIM_DSYNC_CAP_UDP };

/* Push/pull State of member i as the simulated pool sees it. */
enum swim_status
swarm_pp_status(const struct swarm_member *m)
{
	switch (m->state) {
	case SWARM_M_LEFT:
		return SWIM_STATUS_LEFT;
	case SWARM_M_FAILED:
		return (m->flags & SWARM_MF_DEAD) ? SWIM_STATUS_DEAD :
		       (m->flags & SWARM_MF_SUSPECTED) ? SWIM_STATUS_SUSPECT :
							 SWIM_STATUS_ALIVE;
	default:
		return SWIM_STATUS_ALIVE;
	}
}

uint8_t *
swarm_pp_member(struct swarm *sw, uint32_t i, uint8_t *p, uint8_t *end)
{
	char name[SWARM_NAME_LEN_MAX];
	uint32_t a = swarm_map_addr(&sw->map, i);
	uint8_t ip[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16),
			  (uint8_t)(a >> 8), (uint8_t)a };
	int nl = swarm_map_name(&sw->map, i, name, sizeof(name));
	/* Vsn[6]: delta sync's bits, and with a keyring chunked sealed
	 * streams (swim_sealed_stream.h) */
	uint8_t vsn[SWIM_VSN_LEN + 1];
	uint8_t caps = (sw->delta != NULL ? swarm_vsn_caps[SWIM_VSN_LEN] : 0) |
		       (sw->ring != NULL ? SWIM_CAP_SEALED_STREAM : 0);
	struct swim_push_node n = {
		.name = { (const uint8_t *)name, (uint32_t)nl },
		.addr = { ip, 4 }, .port = sw->cfg.port,
		.incarnation = sw->m[i].incarnation,
		.state = swarm_pp_status(&sw->m[i]),
		.meta = { sw->meta, sw->meta_len },
		.vsn = { vsn, SWIM_VSN_LEN + (caps != 0) } };
	int rc;

	memcpy(vsn, swarm_vsn_caps, SWIM_VSN_LEN);
	vsn[SWIM_VSN_LEN] = caps;
	rc = swim_wire_encode_push_node(&n, p, (size_t)(end - p));

	return rc < 0 ? NULL : p + rc;
}

uint8_t *
swarm_pp_real(const struct swarm_real *x, uint8_t *p, uint8_t *end)
{
	uint8_t ip[4] = { (uint8_t)(x->ip >> 24), (uint8_t)(x->ip >> 16),
			  (uint8_t)(x->ip >> 8), (uint8_t)x->ip };
	struct swim_push_node n = {
		.name = { (const uint8_t *)x->name, x->name_len },
		.addr = { ip, 4 }, .port = x->port, .incarnation = x->inc,
		.state = (enum swim_status)x->state,
		.meta = { x->meta_len ? x->meta : NULL, x->meta_len },
		.vsn = { x->vsn, SWIM_VSN_LEN } };
	int rc = swim_wire_encode_push_node(&n, p, (size_t)(end - p));

	return rc < 0 ? NULL : p + rc;
}

/* Is member i in the message? */
static bool
swarm_pp_listed(const struct swarm *sw, uint32_t i, bool all)
{
	return all ? sw->m[i].state != SWARM_M_IDLE :
		     sw->m[i].state == SWARM_M_ALIVE;
}

/* Serf's messagePushPull for the listed members (keys in wire order). */
static uint8_t *
swarm_pp_serf(struct swarm *sw, uint32_t first, uint32_t end_i, bool all,
	      uint32_t nb_left, uint32_t nb_status, uint8_t *p)
{
	char name[SWARM_NAME_LEN_MAX];
	uint64_t lt = sw->ltime > 1 ? sw->ltime - 1 : 1;
	int nl;

	*p++ = SERF_MSG_PUSH_PULL;
	p = (uint8_t *)mp_encode_map((char *)p, 6);
	p = swim_mp_encode_strl(p, 10);
	p = (uint8_t *)memcpy(p, "EventLTime", 10) + 10;
	p = (uint8_t *)mp_encode_uint((char *)p, 1);
	p = swim_mp_encode_strl(p, 6);
	p = (uint8_t *)memcpy(p, "Events", 6) + 6;
	p = (uint8_t *)mp_encode_array((char *)p, 0);
	p = swim_mp_encode_strl(p, 5);
	p = (uint8_t *)memcpy(p, "LTime", 5) + 5;
	p = (uint8_t *)mp_encode_uint((char *)p, sw->ltime);
	p = swim_mp_encode_strl(p, 11);
	p = (uint8_t *)memcpy(p, "LeftMembers", 11) + 11;
	p = (uint8_t *)mp_encode_array((char *)p, nb_left);
	for (uint32_t i = first; i < end_i && nb_left > 0; i++) {
		if (!swarm_pp_listed(sw, i, all) ||
		    sw->m[i].state != SWARM_M_LEFT)
			continue;
		nl = swarm_map_name(&sw->map, i, name, sizeof(name));
		p = swim_mp_encode_strl(p, (uint32_t)nl);
		p = (uint8_t *)memcpy(p, name, (size_t)nl) + nl;
	}
	p = swim_mp_encode_strl(p, 10);
	p = (uint8_t *)memcpy(p, "QueryLTime", 10) + 10;
	p = (uint8_t *)mp_encode_uint((char *)p, 1);
	p = swim_mp_encode_strl(p, 12);
	p = (uint8_t *)memcpy(p, "StatusLTimes", 12) + 12;
	p = (uint8_t *)mp_encode_map((char *)p, nb_status);
	for (uint32_t i = first; i < end_i; i++) {
		if (!swarm_pp_listed(sw, i, all))
			continue;
		nl = swarm_map_name(&sw->map, i, name, sizeof(name));
		p = swim_mp_encode_strl(p, (uint32_t)nl);
		p = (uint8_t *)memcpy(p, name, (size_t)nl) + nl;
		p = (uint8_t *)mp_encode_uint((char *)p, lt);
	}
	return p;
}

/* The node maps; counts what the Serf state needs. @retval end or NULL */
static uint8_t *
swarm_pp_nodes(struct swarm *sw, uint32_t first, uint32_t end_i, bool all,
	       uint8_t *p, uint8_t *end, uint32_t *nb, uint32_t *nb_left)
{
	for (unsigned r = 0; all && r < sw->nb_real && p != NULL; r++) {
		p = swarm_pp_real(&sw->real[r], p, end);
		++*nb;
	}
	for (uint32_t i = first; i < end_i && p != NULL; i++) {
		if (!swarm_pp_listed(sw, i, all))
			continue;
		p = swarm_pp_member(sw, i, p, end);
		++*nb;
		if (sw->m[i].state == SWARM_M_LEFT)
			++*nb_left;
	}
	return p;
}

int
swarm_pp_encode(struct swarm *sw, bool join, uint32_t first, uint32_t count,
		bool all, uint8_t **out, size_t *len)
{
	uint32_t end_i = all ? sw->n_joined : first + count;
	size_t listed = (size_t)(end_i - first) + sw->nb_real;
	size_t cap = listed * (SWARM_PP_NODE_MAX + SWARM_PP_STATUS_MAX +
			       sw->meta_len) +
		     (size_t)sw->nb_real * SWIM_META_MAX + 4096;
	uint8_t *buf = malloc(cap), *body, *p, *us;
	uint32_t nb = 0, nb_left = 0;
	struct swim_push_pull_header h = { .join = join };
	uint8_t hdr[64];
	int hl;

	if (buf == NULL)
		return -1;
	body = buf + sizeof(hdr);
	p = swarm_pp_nodes(sw, first, end_i, all, body, buf + cap, &nb,
			   &nb_left);
	if (p == NULL) {
		free(buf);
		return -1;
	}
	us = p;
	p = swarm_pp_serf(sw, first, end_i, all, nb_left, nb - (all ?
					sw->nb_real : 0), p);
	h.nb_nodes = nb;
	h.user_state_len = (uint32_t)(p - us);
	hl = swim_wire_encode_push_pull_header(&h, hdr, sizeof(hdr));
	if (hl < 0) {
		free(buf);
		return -1;
	}
	memcpy(body - hl, hdr, (size_t)hl);
	memmove(buf, body - hl, (size_t)(p - body) + (size_t)hl);
	*out = buf;
	*len = (size_t)(p - body) + (size_t)hl;
	return 0;
}

/* --- merging a real node's push/pull --- */

static int
swarm_pp_visit(void *ctx, const struct swim_push_node *n)
{
	struct swarm *sw = ctx;
	int64_t i = swarm_map_name_index(&sw->map, n->name.ptr, n->name.len);
	struct swarm_member *m;

	if (i < 0) {
		if (n->addr.len == 4 &&
		    swarm_map_addr_index(&sw->map,
					 (uint32_t)n->addr.ptr[0] << 24 |
						 (uint32_t)n->addr.ptr[1] << 16 |
						 (uint32_t)n->addr.ptr[2] << 8 |
						 n->addr.ptr[3]) < 0)
			swarm_real_upsert(sw, &n->name, &n->addr, n->port,
					  n->incarnation, n->state, &n->meta,
					  &n->vsn);
		return 0;
	}
	m = &sw->m[i];
	if (m->state != SWARM_M_ALIVE)
		return 0;
	/*
	 * The pool remembers this member above what we said (an earlier
	 * run, or an accusation): jump past it, as a restarted node does
	 * with its own entry (§6.5).
	 */
	if ((n->state != SWIM_STATUS_ALIVE && n->incarnation >= m->incarnation) ||
	    n->incarnation > m->incarnation) {
		struct swarm_member old = *m;

		m->incarnation = n->incarnation + 1;
		swarm_delta_touch(sw, (uint32_t)i, &old);
		sw->st.refutes++;
		swarm_bq_alive(sw, (uint32_t)i);
	}
	return 0;
}

int
swarm_pp_merge(struct swarm *sw, const uint8_t *buf, size_t len, bool *join)
{
	struct swim_push_pull_header h;
	struct swim_str us = { NULL, 0 };
	struct serf_msg_push_pull pp;
	struct serf_clock c = { sw->ltime };
	int rc;

	rc = swim_wire_decode_push_pull(buf, len, &h, swarm_pp_visit, sw, &us);
	if (rc < 0)
		return rc;
	if (join != NULL)
		*join = h.join;
	if (us.len > 0 && serf_msg_decode_push_pull(us.ptr, us.len, &pp) == 0)
		serf_clock_witness(&c, pp.ltime);
	sw->ltime = c.time;
	return 0;
}

/* --- one stream message --- */

struct swarm_sbuf {
	uint8_t *p;
	size_t len, cap;
};

/* Read what is there (at least a byte) within timeout_ms. @retval 0/-1 */
static int
swarm_sbuf_read(int fd, struct swarm_sbuf *b, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (b->cap - b->len < 65536) {
		size_t cap = b->cap ? b->cap * 2 : 131072;
		uint8_t *p;

		if (cap > SWARM_STREAM_MAX)
			return -1;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	n = recv(fd, b->p + b->len, b->cap - b->len, 0);
	if (n <= 0)
		return -1;
	b->len += (size_t)n;
	return 0;
}

/* Is a whole plain message in b? @retval 1 yes, 0 read more, -1 bad */
static int
swarm_sbuf_complete(const struct swarm_sbuf *b)
{
	struct swim_push_pull_header h;
	struct swim_str us;
	struct swim_msg msg;
	uint8_t probe[1];
	int rc;

	switch (b->p[0]) {
	case SWIM_MSG_COMPRESS:
		/* Only whether the map is whole: LZW stops at byte one. */
		rc = swim_wire_decode_compress(b->p + 1, b->len - 1, probe,
					       sizeof(probe));
		break;
	case SWIM_MSG_PUSH_PULL:
		rc = swim_wire_decode_push_pull(b->p, b->len, &h, NULL, NULL,
						&us);
		break;
	case SWIM_MSG_USER:
		return 1;
	case SWIM_DSYNC_MSG_HELLO:
	case SWIM_DSYNC_MSG_INSYNC:
	case SWIM_DSYNC_MSG_GROUPS:
	case SWIM_DSYNC_MSG_LEAVES:
	case SWIM_DSYNC_MSG_DIFF:
	case SWIM_DSYNC_MSG_ABORT: {
		/* gossipd's delta sync: a length in its header */
		long n = swim_dsync_msg_len(b->p, b->len);

		return n < 0 ? -1 : n > 0 && (size_t)n <= b->len ? 1 : 0;
	}
	default:
		rc = swim_wire_decode_msg(b->p, b->len, &msg);
		break;
	}
	if (rc == SWIM_WIRE_E_TRUNCATED || rc == SWIM_WIRE_E_AGAIN)
		return 0;
	/* A complete compress map fails only later, in LZW. */
	return rc >= 0 || b->p[0] == SWIM_MSG_COMPRESS ? 1 : -1;
}

/* Collect a plain message: parse again only after real growth or idle. */
static int
swarm_sbuf_plain(int fd, struct swarm_sbuf *b, int timeout_ms)
{
	size_t tried = 0;
	int rc;

	for (int turns = 0; turns < 1 << 20; turns++) {
		if (b->len > tried + tried / 4 || b->len < 4096) {
			tried = b->len;
			rc = swarm_sbuf_complete(b);
			if (rc != 0)
				return rc > 0 ? 0 : -1;
		}
		if (swarm_sbuf_read(fd, b, 20) != 0) {
			if (b->len != tried) {
				tried = b->len;
				rc = swarm_sbuf_complete(b);
				if (rc != 0)
					return rc > 0 ? 0 : -1;
			}
			if (swarm_sbuf_read(fd, b, timeout_ms) != 0)
				return -1;
		}
	}
	return -1;
}

/* Encrypted frame: 0a | L | payload. Replaces b with the plaintext. */
static int
swarm_sbuf_open(struct swarm *sw, int fd, struct swarm_sbuf *b,
		int timeout_ms)
{
	long flen;
	uint8_t *plain;
	int n;

	while ((flen = swim_crypto_stream_frame_len(b->p, b->len)) ==
	       SWIM_CRYPTO_E_AGAIN)
		if (swarm_sbuf_read(fd, b, timeout_ms) != 0)
			return -1;
	if (flen < 0)
		return -1;
	while (b->len < (size_t)flen)
		if (swarm_sbuf_read(fd, b, timeout_ms) != 0)
			return -1;
	plain = malloc((size_t)flen);
	if (plain == NULL)
		return -1;
	n = swim_crypto_open_stream(sw->ring, b->p, b->len, plain,
				    (size_t)flen, NULL);
	if (n <= 0) {
		free(plain);
		return -1;
	}
	free(b->p);
	*b = (struct swarm_sbuf){ plain, (size_t)n, (size_t)flen };
	return 0;
}

/* 09 {Algo, Buf}: replace b with the decompressed message. */
static int
swarm_sbuf_inflate(struct swarm_sbuf *b)
{
	size_t cap = b->len * 8 + 4096;

	while (cap <= SWARM_STREAM_MAX) {
		uint8_t *out = malloc(cap);
		int n;

		if (out == NULL)
			return -1;
		n = swim_wire_decode_compress(b->p + 1, b->len - 1, out, cap);
		if (n > 0) {
			free(b->p);
			*b = (struct swarm_sbuf){ out, (size_t)n, cap };
			return 0;
		}
		free(out);
		if (n != SWIM_WIRE_E_NOSPACE)
			return -1;
		cap *= 4;
	}
	return -1;
}

int
swarm_stream_read(struct swarm *sw, int fd, uint8_t **out, size_t *len)
{
	return swarm_stream_read_ex(sw, fd, out, len, NULL);
}

int
swarm_stream_read_ex(struct swarm *sw, int fd, uint8_t **out, size_t *len,
		     bool *is_chunked)
{
	int timeout = (int)sw->cfg.timing.tcp_timeout_ms;
	struct swarm_sbuf b = { NULL, 0, 0 };
	int rc;

	if (swarm_sbuf_read(fd, &b, timeout) != 0)
		goto fail;
	/* a gossipd node's chunked sealed push/pull (swarm_sealed.c): a
	 * request to a member (is_chunked asked), or its reply to us */
	if (b.p[0] == SWIM_SSTREAM_TYPE && sw->ring != NULL) {
		rc = swarm_sealed_read(sw, fd, b.p, b.len, is_chunked == NULL,
				       out, len);
		free(b.p);
		if (is_chunked != NULL)
			*is_chunked = rc == 0;
		return rc == 0 && *len > 0 ? 0 : -1;
	}
	if (b.p[0] == SWIM_CRYPTO_STREAM_TYPE && sw->ring != NULL)
		rc = swarm_sbuf_open(sw, fd, &b, timeout);
	else if (sw->ring != NULL)
		rc = -1;	/* memberlist rejects plain streams too */
	else
		rc = swarm_sbuf_plain(fd, &b, timeout);
	if (rc != 0 || b.len == 0)
		goto fail;
	if (b.p[0] == SWIM_MSG_COMPRESS && swarm_sbuf_inflate(&b) != 0)
		goto fail;
	if (b.len == 0)
		goto fail;
	*out = b.p;
	*len = b.len;
	return 0;
fail:
	free(b.p);
	return -1;
}

int
swarm_write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
swarm_stream_write(struct swarm *sw, int fd, const uint8_t *buf, size_t len)
{
	uint8_t *sealed;
	int n, rc;

	if (sw->ring == NULL)
		return swarm_write_all(fd, buf, len);
	sealed = malloc(len + SWIM_CRYPTO_STREAM_OVERHEAD);
	if (sealed == NULL)
		return -1;
	n = swim_crypto_seal_stream(sw->ring, buf, len, sealed,
				    len + SWIM_CRYPTO_STREAM_OVERHEAD);
	rc = n < 0 ? -1 : swarm_write_all(fd, sealed, (size_t)n);
	free(sealed);
	return rc;
}
