/* SPDX-License-Identifier: MIT */
/*
 * Small runtime helpers: clock, PRNG, the messages a virtual member says
 * about itself (alive, suspect/dead, Serf intents), and the table of real
 * nodes. Callers hold sw->lock.
 */
#include <string.h>
#include <time.h>

#include "serf_msg.h"
#include "swarm_int.h"

const uint8_t swarm_vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

uint64_t
swarm_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
swarm_rand(struct swarm *sw)
{
	/* xorshift64*: fast, and the seed makes a run repeatable. */
	uint64_t x = sw->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sw->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

double
swarm_rand01(struct swarm *sw)
{
	return ((swarm_rand(sw) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

uint32_t
swarm_pick_alive(struct swarm *sw)
{
	uint32_t limit = sw->n_joined;

	if (limit == 0)
		return UINT32_MAX;
	for (int tries = 0; tries < 64; tries++) {
		uint32_t i = (uint32_t)(swarm_rand(sw) % limit);

		if (sw->m[i].state == SWARM_M_ALIVE)
			return i;
	}
	return UINT32_MAX;
}

/* Member i's name and raw address into the caller's buffers. */
static void
swarm_ident(struct swarm *sw, uint32_t i, char name[SWARM_NAME_LEN_MAX],
	    struct swim_str *ns, uint8_t ip[4], struct swim_str *as)
{
	uint32_t a = swarm_map_addr(&sw->map, i);
	int n = swarm_map_name(&sw->map, i, name, SWARM_NAME_LEN_MAX);

	ip[0] = (uint8_t)(a >> 24);
	ip[1] = (uint8_t)(a >> 16);
	ip[2] = (uint8_t)(a >> 8);
	ip[3] = (uint8_t)a;
	*ns = (struct swim_str){ (const uint8_t *)name, (uint32_t)n };
	*as = (struct swim_str){ ip, 4 };
}

int
swarm_enc_alive(struct swarm *sw, uint32_t i, uint8_t *out, size_t cap)
{
	char name[SWARM_NAME_LEN_MAX];
	uint8_t ip[4];
	struct swim_msg msg = { .type = SWIM_MSG_ALIVE };

	swarm_ident(sw, i, name, &msg.alive.node, ip, &msg.alive.addr);
	msg.alive.incarnation = sw->m[i].incarnation;
	msg.alive.port = sw->cfg.port;
	msg.alive.meta = (struct swim_str){ sw->meta, sw->meta_len };
	msg.alive.vsn = (struct swim_str){ swarm_vsn, SWIM_VSN_LEN };
	return swim_wire_encode_msg(&msg, out, cap);
}

int
swarm_enc_accuse(struct swarm *sw, enum swim_msg_type type, uint32_t i,
		 uint32_t from, uint8_t *out, size_t cap)
{
	char name[SWARM_NAME_LEN_MAX], fname[SWARM_NAME_LEN_MAX];
	struct swim_msg msg = { .type = type };
	int n = swarm_map_name(&sw->map, i, name, sizeof(name));
	int fn = swarm_map_name(&sw->map, from, fname, sizeof(fname));

	msg.suspect.incarnation = sw->m[i].incarnation;
	msg.suspect.node = (struct swim_str){ (const uint8_t *)name,
					      (uint32_t)n };
	msg.suspect.from = (struct swim_str){ (const uint8_t *)fname,
					      (uint32_t)fn };
	return swim_wire_encode_msg(&msg, out, cap);
}

int
swarm_enc_intent(struct swarm *sw, bool join, uint32_t i, uint8_t *out,
		 size_t cap)
{
	char name[SWARM_NAME_LEN_MAX];
	int n = swarm_map_name(&sw->map, i, name, sizeof(name));
	struct swim_str ns = { (const uint8_t *)name, (uint32_t)n };
	int rc;

	if (cap < 1)
		return SWIM_WIRE_E_NOSPACE;
	out[0] = SWIM_MSG_USER;
	if (join) {
		struct serf_msg_join j = { .ltime = sw->ltime, .node = ns };

		rc = serf_msg_encode_join(&j, out + 1, cap - 1);
	} else {
		struct serf_msg_leave l = { .ltime = sw->ltime, .node = ns };

		rc = serf_msg_encode_leave(&l, out + 1, cap - 1);
	}
	return rc < 0 ? rc : rc + 1;
}

int
swarm_real_find(const struct swarm *sw, uint32_t ip, uint16_t port)
{
	for (unsigned r = 0; r < sw->nb_real; r++)
		if (sw->real[r].ip == ip && sw->real[r].port == port)
			return (int)r;
	return -1;
}

int
swarm_real_by_name(const struct swarm *sw, const uint8_t *name, size_t len)
{
	for (unsigned r = 0; r < sw->nb_real; r++)
		if (sw->real[r].name_len == len &&
		    memcmp(sw->real[r].name, name, len) == 0)
			return (int)r;
	return -1;
}

int
swarm_real_upsert(struct swarm *sw, const struct swim_str *name,
		  const struct swim_str *addr, uint16_t port, uint32_t inc,
		  enum swim_status st, const struct swim_str *meta,
		  const struct swim_str *vsn)
{
	int r = swarm_real_by_name(sw, name->ptr, name->len);
	struct swarm_real *x;

	if (name->len == 0 || name->len >= SWIM_NAME_MAX || addr->len != 4)
		return -1;
	if (r < 0) {
		if (sw->nb_real >= SWARM_REAL_MAX)
			return -1;
		r = (int)sw->nb_real++;
		x = &sw->real[r];
		memset(x, 0, sizeof(*x));
		memcpy(x->name, name->ptr, name->len);
		x->name_len = (uint8_t)name->len;
		/* Spread the first probes over one interval. */
		x->next_probe = sw->now + swarm_rand(sw) % 1000000u;
	} else if (inc < sw->real[r].inc) {
		return r;
	}
	x = &sw->real[r];
	x->ip = (uint32_t)addr->ptr[0] << 24 | (uint32_t)addr->ptr[1] << 16 |
		(uint32_t)addr->ptr[2] << 8 | addr->ptr[3];
	x->port = port;
	x->inc = inc;
	x->state = (uint8_t)st;
	if (meta->len <= SWIM_META_MAX) {
		if (meta->len > 0)
			memcpy(x->meta, meta->ptr, meta->len);
		x->meta_len = (uint16_t)meta->len;
	}
	/* Every entry we send needs a full Vsn (§9.2). */
	memcpy(x->vsn, vsn->len == SWIM_VSN_LEN ? vsn->ptr : swarm_vsn,
	       SWIM_VSN_LEN);
	return r;
}
