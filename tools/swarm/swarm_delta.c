/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm's side of gossipd's delta sync (swim/core/swim_dsync.h): the
 * virtual members advertise the capability (Vsn[6]) and every one of
 * them answers a delta exchange from the swarm's table, as responder:
 * HELLO -> INSYNC or GROUPS, LEAVES -> DIFF, then the initiator's
 * push/pull of the differing leaves is merged and ours sent back. The
 * HELLO over UDP (swim_dsync_udp.h) is answered on the main thread
 * (swarm_delta_udp, from swarm_udp.c's receive path, sw->lock held).
 *
 * Digests are the core's (swim_dsync_member_digest, swim_dsync_leaf_of),
 * so they agree with gossipd's: one XOR per leaf at the finest bits (16:
 * 65,536 leaves, 512 KiB), kept current as members change
 * (swarm_delta_touch from every place that changes a member's
 * incarnation or state), nothing per member. The real nodes (at most
 * SWARM_REAL_MAX) are re-hashed at each exchange instead. Coarser leaves
 * and groups are folded on demand. What changes while an exchange runs
 * waits for the next one, as in gossipd.
 *
 * Streams are blocking, on the worker thread that read the first
 * message (swarm_tcp.c); digests and members are read under sw->lock.
 */
#include <stdlib.h>
#include <string.h>

#include "swarm_int.h"
#include "swim_dsync_udp.h"
#include "swim_wire.h"

#define SWARM_DELTA_BITS SWIM_DSYNC_BITS_MAX
#define SWARM_DELTA_LEAVES (1u << SWARM_DELTA_BITS)

struct swarm_delta {
	uint64_t leaf[SWARM_DELTA_LEAVES];	/* at SWARM_DELTA_BITS */
	uint64_t root;
	uint32_t count;				/* members that count */
	uint64_t real_d[SWARM_REAL_MAX];	/* what each real adds */
};

int
swarm_delta_init(struct swarm *sw)
{
	if (!sw->cfg.delta_sync)
		return 0;
	sw->delta = calloc(1, sizeof(*sw->delta));
	return sw->delta != NULL ? 0 : -1;
}

void
swarm_delta_free(struct swarm *sw)
{
	free(sw->delta);
	sw->delta = NULL;
}

/* Add (or, the same again, remove) one digest at a name's leaf. */
static void
swarm_delta_xor(struct swarm_delta *d, const char *name, size_t len,
		uint64_t dig, int dcount)
{
	if (dig == 0)
		return;
	d->leaf[swim_dsync_leaf_of(name, len, SWARM_DELTA_BITS)] ^= dig;
	d->root ^= dig;
	d->count += (uint32_t)dcount;
}

/* What virtual member m (named name) adds to the digests. */
static uint64_t
swarm_delta_of(const char *name, size_t len, const struct swarm_member *m)
{
	if (m->state == SWARM_M_IDLE)
		return 0;	/* not in the pool */
	return swim_dsync_member_digest(name, len, m->incarnation,
					swarm_pp_status(m));
}

void
swarm_delta_touch(struct swarm *sw, uint32_t i, const struct swarm_member *old)
{
	char name[SWARM_NAME_LEN_MAX];
	uint64_t a, b;
	int nl;

	if (sw->delta == NULL || i >= sw->map.n)
		return;
	nl = swarm_map_name(&sw->map, i, name, sizeof(name));
	if (nl <= 0)
		return;
	a = swarm_delta_of(name, (size_t)nl, old);
	b = swarm_delta_of(name, (size_t)nl, &sw->m[i]);
	if (a == b)
		return;
	swarm_delta_xor(sw->delta, name, (size_t)nl, a, -1);
	swarm_delta_xor(sw->delta, name, (size_t)nl, b, 1);
}

/* Bring the real nodes' share up to date (they change without hooks). */
static void
swarm_delta_reals(struct swarm *sw)
{
	struct swarm_delta *d = sw->delta;

	for (unsigned r = 0; r < sw->nb_real; r++) {
		const struct swarm_real *x = &sw->real[r];
		uint64_t now = swim_dsync_member_digest(
			x->name, x->name_len, x->inc,
			(enum swim_status)x->state);

		if (now == d->real_d[r])
			continue;
		swarm_delta_xor(d, x->name, x->name_len, d->real_d[r], -1);
		swarm_delta_xor(d, x->name, x->name_len, now, 1);
		d->real_d[r] = now;
	}
}

uint64_t
swarm_delta_root(struct swarm *sw, uint32_t *count)
{
	if (sw->delta == NULL)
		return 0;
	swarm_delta_reals(sw);
	if (count != NULL)
		*count = sw->delta->count;
	return sw->delta->root;
}

uint64_t
swarm_delta_leaf(const struct swarm *sw, unsigned bits, uint32_t leaf)
{
	uint64_t x = 0;

	if (sw->delta == NULL || bits > SWARM_DELTA_BITS ||
	    leaf >= (1u << bits))
		return 0;
	for (uint32_t l = leaf; l < SWARM_DELTA_LEAVES; l += 1u << bits)
		x ^= sw->delta->leaf[l];
	return x;
}

/* --- our push/pull of a leaf set --- */

/* Room for one more node map at p (grow buf). @retval 0 or -1. */
static int
swarm_delta_room(uint8_t **buf, size_t *cap, uint8_t **p, size_t need)
{
	size_t off = (size_t)(*p - *buf);
	uint8_t *nb;

	if (*cap - off >= need)
		return 0;
	nb = realloc(*buf, *cap * 2 + need);
	if (nb == NULL)
		return -1;
	*buf = nb;
	*cap = *cap * 2 + need;
	*p = nb + off;
	return 0;
}

static bool
swarm_delta_in_set(const uint64_t *set, unsigned bits, const char *name,
		   size_t len)
{
	uint32_t l = swim_dsync_leaf_of(name, len, bits);

	return (set[l / 64] >> (l % 64)) & 1;
}

/* The node maps of the set's members (and real nodes) from body on. */
static uint8_t *
swarm_delta_nodes(struct swarm *sw, unsigned bits, const uint64_t *set,
		  uint8_t **buf, size_t *cap, uint32_t *nb)
{
	size_t need = 256 + sw->meta_len + SWIM_META_MAX;
	uint8_t *p = *buf + 64;	/* the header goes before */
	char name[SWARM_NAME_LEN_MAX];

	for (unsigned r = 0; r < sw->nb_real && p != NULL; r++) {
		const struct swarm_real *x = &sw->real[r];

		if (!swarm_delta_in_set(set, bits, x->name, x->name_len))
			continue;
		if (swarm_delta_room(buf, cap, &p, need) != 0)
			return NULL;
		p = swarm_pp_real(x, p, *buf + *cap);
		++*nb;
	}
	for (uint32_t i = 0; i < sw->n_joined && p != NULL; i++) {
		int nl;

		if (sw->m[i].state == SWARM_M_IDLE)
			continue;
		nl = swarm_map_name(&sw->map, i, name, sizeof(name));
		if (nl <= 0 || !swarm_delta_in_set(set, bits, name, (size_t)nl))
			continue;
		if (swarm_delta_room(buf, cap, &p, need) != 0)
			return NULL;
		p = swarm_pp_member(sw, i, p, *buf + *cap);
		++*nb;
	}
	return p;
}

int
swarm_pp_encode_leaves(struct swarm *sw, unsigned bits, const uint64_t *set,
		       uint8_t **out, size_t *len)
{
	size_t cap = 64 * 1024;
	uint8_t *buf = malloc(cap), *end;
	struct swim_push_pull_header h = { .join = false };
	uint8_t hdr[64];
	int hl;

	if (buf == NULL)
		return -1;
	end = swarm_delta_nodes(sw, bits, set, &buf, &cap, &h.nb_nodes);
	hl = swim_wire_encode_push_pull_header(&h, hdr, sizeof(hdr));
	if (end == NULL || hl < 0) {
		free(buf);
		return -1;
	}
	/* no Serf user state: gossipd sends none in a delta either */
	memcpy(buf + 64 - hl, hdr, (size_t)hl);
	memmove(buf, buf + 64 - hl, (size_t)(end - buf) - 64 + (size_t)hl);
	*out = buf;
	*len = (size_t)(end - buf) - 64 + (size_t)hl;
	return 0;
}

/* --- the exchange, as responder --- */

static int
swarm_delta_reply(struct swarm *sw, int fd, const uint8_t *buf, int n)
{
	return n > 0 ? swarm_stream_write(sw, fd, buf, (size_t)n) : -1;
}

/* HELLO: INSYNC, or GROUPS (*bits set). @retval 1 in sync, 0 GROUPS
 * sent, -1 failed. */
static int
swarm_delta_on_hello(struct swarm *sw, int fd, const uint8_t *msg,
		     size_t len, unsigned *bits)
{
	struct swim_dsync_hello h;
	struct swim_dsync_groups gr;
	uint8_t out[SWIM_DSYNC_GROUPS_LEN];
	struct swim_dsync_insync is;
	uint64_t root;

	if (swim_dsync_decode_hello(msg, len, &h) < 0)
		return -1;
	pthread_mutex_lock(&sw->lock);
	root = swarm_delta_root(sw, &is.count);
	if (root == h.root) {
		pthread_mutex_unlock(&sw->lock);
		is.root = root;
		return swarm_delta_reply(sw, fd, out,
			swim_dsync_encode_insync(&is, out, sizeof(out))) == 0 ?
			1 : -1;
	}
	*bits = h.bits < SWARM_DELTA_BITS ? h.bits : SWARM_DELTA_BITS;
	gr.bits = (uint8_t)*bits;
	/* group g: every finest leaf whose low 8 bits are g */
	memset(gr.d, 0, sizeof(gr.d));
	for (uint32_t l = 0; l < SWARM_DELTA_LEAVES; l++)
		gr.d[l % SWIM_DSYNC_GROUPS] ^= sw->delta->leaf[l];
	pthread_mutex_unlock(&sw->lock);
	return swarm_delta_reply(sw, fd, out,
		swim_dsync_encode_groups(&gr, out, sizeof(out))) == 0 ? 0 : -1;
}

/* LEAVES -> the set of leaves that differ (bitmap at bits). */
static int
swarm_delta_on_leaves(struct swarm *sw, const uint8_t *msg, size_t len,
		      unsigned bits, uint64_t *set, uint32_t *nb)
{
	struct swim_dsync_leaves lv;
	uint32_t per;

	if (swim_dsync_decode_leaves(msg, len, &lv) < 0 || lv.bits != bits)
		return -1;
	per = 1u << (bits - SWIM_DSYNC_BITS_MIN);
	pthread_mutex_lock(&sw->lock);
	swarm_delta_reals(sw);
	for (uint16_t i = 0; i < lv.nb_groups; i++) {
		unsigned g = swim_dsync_leaves_group(&lv, i);

		for (uint32_t j = 0; j < per; j++) {
			uint32_t leaf = g + SWIM_DSYNC_GROUPS * j;

			if (swarm_delta_leaf(sw, bits, leaf) ==
			    swim_dsync_leaves_digest(&lv, i, j))
				continue;
			set[leaf / 64] |= (uint64_t)1 << (leaf % 64);
			++*nb;
		}
	}
	pthread_mutex_unlock(&sw->lock);
	return 0;
}

/* DIFF {bits, count, leaf ids rising} (swim_dsync.h's layout). */
static int
swarm_delta_send_diff(struct swarm *sw, int fd, unsigned bits,
		      const uint64_t *set, uint32_t nb)
{
	uint32_t body = 5 + 2 * nb;
	uint8_t *out = malloc(SWIM_DSYNC_HDR_LEN + body), *p = out;
	int rc;

	if (out == NULL)
		return -1;
	*p++ = SWIM_DSYNC_MSG_DIFF;
	for (int sh = 24; sh >= 0; sh -= 8)
		*p++ = (uint8_t)(body >> sh);
	*p++ = (uint8_t)bits;
	for (int sh = 24; sh >= 0; sh -= 8)
		*p++ = (uint8_t)(nb >> sh);
	for (uint32_t l = 0; l < (1u << bits); l++) {
		if (!((set[l / 64] >> (l % 64)) & 1))
			continue;
		*p++ = (uint8_t)(l >> 8);
		*p++ = (uint8_t)l;
	}
	rc = swarm_stream_write(sw, fd, out, (size_t)(p - out));
	free(out);
	return rc;
}

/* Read one whole delta-sync message of the expected type. */
static int
swarm_delta_read(struct swarm *sw, int fd, uint8_t type, uint8_t **msg,
		 size_t *len)
{
	if (swarm_stream_read(sw, fd, msg, len) != 0)
		return -1;
	if ((*msg)[0] == type)
		return 0;
	free(*msg);
	*msg = NULL;
	return -1;
}

/* The transfer: their push/pull of the set merged, ours sent back. */
static int
swarm_delta_transfer(struct swarm *sw, int fd, unsigned bits,
		     const uint64_t *set)
{
	uint8_t *in = NULL, *out = NULL;
	size_t len = 0;
	bool is_chunked = false;	/* sealed chunks: answered in kind */
	int rc = -1;

	if (swarm_stream_read_ex(sw, fd, &in, &len, &is_chunked) != 0 ||
	    in[0] != SWIM_MSG_PUSH_PULL)
		goto out;
	pthread_mutex_lock(&sw->lock);
	rc = swarm_pp_merge(sw, in, len, NULL);
	if (rc == 0)
		rc = swarm_pp_encode_leaves(sw, bits, set, &out, &len);
	pthread_mutex_unlock(&sw->lock);
	if (rc == 0)
		rc = is_chunked ? swarm_sealed_write(sw, fd, out, len, true) :
				  swarm_stream_write(sw, fd, out, len);
out:
	free(in);
	free(out);
	return rc;
}

/* The exchange after HELLO is answered with GROUPS. */
static int
swarm_delta_rest(struct swarm *sw, int fd, unsigned bits)
{
	uint64_t *set = calloc(SWARM_DELTA_LEAVES / 64, sizeof(*set));
	uint8_t *msg = NULL;
	size_t len = 0;
	uint32_t nb = 0;
	int rc = -1;

	if (set == NULL)
		return -1;
	if (swarm_delta_read(sw, fd, SWIM_DSYNC_MSG_LEAVES, &msg, &len) == 0 &&
	    swarm_delta_on_leaves(sw, msg, len, bits, set, &nb) == 0 &&
	    swarm_delta_send_diff(sw, fd, bits, set, nb) == 0)
		rc = nb == 0 ? 0 : swarm_delta_transfer(sw, fd, bits, set);
	free(msg);
	free(set);
	return rc;
}

/* --- the HELLO over UDP (swim_dsync_udp.h), as its peer --- */

/* Our answer to h, CRC-wrapped as the HELLO came, from the member that
 * was called (dst) back to the sender. */
static void
swarm_delta_answer(struct swarm *sw, const struct swim_dsync_uhello *h,
		   bool crc, uint32_t src_ip, uint16_t src_port,
		   uint32_t dst_ip)
{
	uint8_t out[5 + SWIM_DSYNC_UANSWER_LEN];
	struct swim_dsync_uanswer a = { .nonce = h->nonce };
	uint32_t c;
	int n;

	a.root = swarm_delta_root(sw, &a.count);
	a.verdict = a.root == h->root && a.count == h->count ?
		    SWIM_DSYNC_VERDICT_INSYNC : SWIM_DSYNC_VERDICT_DIFFER;
	n = swim_dsync_encode_uanswer(&a, out + 5, sizeof(out) - 5);
	if (n <= 0)
		return;
	if (!crc) {
		swarm_send(sw, dst_ip, src_ip, src_port, out + 5, (size_t)n);
		return;
	}
	c = swim_crc32(out + 5, (size_t)n);
	out[0] = SWIM_MSG_HAS_CRC;
	for (int i = 0; i < 4; i++)
		out[1 + i] = (uint8_t)(c >> (24 - 8 * i));
	swarm_send(sw, dst_ip, src_ip, src_port, out, (size_t)n + 5);
}

bool
swarm_delta_udp(struct swarm *sw, uint32_t src_ip, uint16_t src_port,
		uint32_t dst_ip, const uint8_t *buf, size_t len)
{
	bool crc = len > 5 && buf[0] == SWIM_MSG_HAS_CRC;
	const uint8_t *p = crc ? buf + 5 : buf;
	size_t n = crc ? len - 5 : len;
	struct swim_dsync_uhello h;

	if (n == 0 || p[0] != SWIM_DSYNC_UDP_HELLO)
		return false;
	if (sw->delta == NULL ||
	    (crc && swim_crc32(p, n) != ((uint32_t)buf[1] << 24 |
					 (uint32_t)buf[2] << 16 |
					 (uint32_t)buf[3] << 8 | buf[4])) ||
	    swim_dsync_decode_uhello(p, n, &h) < 0) {
		sw->st.bad_in++;	/* off, or garbled: gossipd falls back */
		return true;
	}
	swarm_delta_answer(sw, &h, crc, src_ip, src_port, dst_ip);
	sw->st.delta_in++;
	return true;
}

void
swarm_delta_serve(struct swarm *sw, int fd, const uint8_t *msg, size_t len)
{
	uint8_t out[SWIM_DSYNC_ABORT_LEN];
	unsigned bits = 0;
	int rc;

	if (sw->delta == NULL || msg[0] != SWIM_DSYNC_MSG_HELLO) {
		/* delta sync off (--no-delta-sync): the peer falls back */
		swarm_delta_reply(sw, fd, out, swim_dsync_encode_abort(
			sw->delta == NULL ? SWIM_DSYNC_ABORT_DISABLED :
					    SWIM_DSYNC_ABORT_ERROR,
			out, sizeof(out)));
		return;
	}
	rc = swarm_delta_on_hello(sw, fd, msg, len, &bits);
	if (rc == 0)
		rc = swarm_delta_rest(sw, fd, bits);
	pthread_mutex_lock(&sw->lock);
	if (rc < 0)
		sw->st.stream_err++;
	else
		sw->st.delta_in++;
	pthread_mutex_unlock(&sw->lock);
}
