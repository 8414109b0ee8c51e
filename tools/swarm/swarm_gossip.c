/* SPDX-License-Identifier: MIT */
/*
 * What the swarm tells the real nodes: a queue of broadcasts (refutes,
 * the simulated pool's suspect/dead about injected failures, churn) sent
 * in gossip rounds, the scenario clock (--fail, --flap, --churn), and the
 * graceful leave of every member at the end. Callers hold sw->lock.
 */
#include <stdlib.h>
#include <string.h>

#include "swarm_int.h"
#include "swim_crypto.h"

#define SWARM_BQ_MASK (SWARM_BQ_SIZE - 1)
#define SWARM_LEAVE_TICK_US 20000u
#define SWARM_LINGER_US 1500000u
#define SWARM_LEAVE_BATCH 4096

void
swarm_bq_push(struct swarm *sw, const uint8_t *buf, int len)
{
	struct swarm_bmsg *b;

	if (len <= 0 || len > SWARM_BMSG_MAX)
		return;
	if (sw->bq_head - sw->bq_tail >= SWARM_BQ_SIZE) {
		sw->bq_tail++;
		sw->st.bq_drop++;
	}
	b = &sw->bq[sw->bq_head++ & SWARM_BQ_MASK];
	memcpy(b->buf, buf, (size_t)len);
	b->len = (uint16_t)len;
	b->sends = 0;
}

void
swarm_bq_alive(struct swarm *sw, uint32_t i)
{
	uint8_t buf[SWARM_BMSG_MAX];

	swarm_bq_push(sw, buf, swarm_enc_alive(sw, i, buf, sizeof(buf)));
}

/* Budget of one gossip packet: memberlist's 1400 minus its overheads. */
static size_t
swarm_budget(const struct swarm *sw)
{
	return SWIM_UDP_BUDGET - 2 -
	       (sw->ring != NULL ? SWIM_CRYPTO_OVERHEAD : 0);
}

/* Send one packet of parts to every real node still in the pool. */
static void
swarm_send_parts(struct swarm *sw, const struct swim_str *parts,
		 unsigned nb, uint32_t src)
{
	uint8_t pkt[SWIM_UDP_BUDGET + 600];
	int n;

	if (nb == 0)
		return;
	if (nb == 1) {
		memcpy(pkt, parts[0].ptr, parts[0].len);
		n = (int)parts[0].len;
	} else {
		n = swim_wire_encode_compound(parts, nb, pkt, sizeof(pkt));
	}
	if (n <= 0)
		return;
	for (unsigned r = 0; r < sw->nb_real; r++) {
		const struct swarm_real *x = &sw->real[r];

		if (x->state == SWIM_STATUS_ALIVE ||
		    x->state == SWIM_STATUS_SUSPECT)
			swarm_send(sw, swarm_map_addr(&sw->map, src), x->ip,
				   x->port, pkt, (size_t)n);
	}
}

/* Pack parts greedily into packets of the budget and send them. */
struct swarm_packer {
	struct swim_str parts[255];
	unsigned nb;
	size_t used;
	uint32_t src;
};

static void
swarm_pack_flush(struct swarm *sw, struct swarm_packer *pk)
{
	swarm_send_parts(sw, pk->parts, pk->nb, pk->src);
	pk->nb = 0;
	pk->used = 0;
}

static void
swarm_pack_add(struct swarm *sw, struct swarm_packer *pk, const uint8_t *buf,
	       size_t len)
{
	if (pk->nb == 255 || pk->used + len + 2 > swarm_budget(sw))
		swarm_pack_flush(sw, pk);
	pk->parts[pk->nb++] = (struct swim_str){ buf, (uint32_t)len };
	pk->used += len + 2;
}

void
swarm_send_piggy(struct swarm *sw, uint32_t src_ip, uint32_t ip,
		 uint16_t port, const struct swim_msg *msg)
{
	uint8_t first[SWIM_UDP_BUDGET], pkt[SWIM_UDP_BUDGET + 600];
	struct swim_str parts[64];
	unsigned nb = 1;
	size_t used;
	int n = swim_wire_encode_msg(msg, first, sizeof(first));

	if (n <= 0)
		return;
	parts[0] = (struct swim_str){ first, (uint32_t)n };
	used = (size_t)n + 2;
	/*
	 * Pending broadcasts ride along, as memberlist piggybacks on every
	 * message; the gossip rounds still count their own sends.
	 */
	for (uint32_t k = sw->bq_tail; k != sw->bq_head && nb < 64; k++) {
		struct swarm_bmsg *b = &sw->bq[k & SWARM_BQ_MASK];

		if (b->sends >= SWARM_BQ_SENDS)
			continue;
		if (used + b->len + 2 > swarm_budget(sw))
			break;
		parts[nb++] = (struct swim_str){ b->buf, b->len };
		used += b->len + 2;
	}
	if (nb > 1) {
		int c = swim_wire_encode_compound(parts, nb, pkt, sizeof(pkt));

		if (c > 0) {
			swarm_send(sw, src_ip, ip, port, pkt, (size_t)c);
			return;
		}
	}
	swarm_send(sw, src_ip, ip, port, first, (size_t)n);
}

void
swarm_gossip_tick(struct swarm *sw)
{
	uint64_t gi = sw->cfg.timing.gossip_interval_ms * 1000ull;
	struct swarm_packer pk = { .nb = 0 };
	unsigned pkts = 0;
	uint32_t k;

	if (sw->now < sw->next_gossip)
		return;
	sw->next_gossip = sw->now + gi;
	pk.src = swarm_pick_alive(sw);
	if (pk.src == UINT32_MAX)
		return;
	for (k = sw->bq_tail; k != sw->bq_head; k++) {
		struct swarm_bmsg *b = &sw->bq[k & SWARM_BQ_MASK];

		if (pk.used + b->len + 2 > swarm_budget(sw) &&
		    ++pkts >= SWARM_GOSSIP_PKTS)
			break;
		swarm_pack_add(sw, &pk, b->buf, b->len);
		b->sends++;
	}
	swarm_pack_flush(sw, &pk);
	while (sw->bq_tail != sw->bq_head &&
	       sw->bq[sw->bq_tail & SWARM_BQ_MASK].sends >= SWARM_BQ_SENDS)
		sw->bq_tail++;
}

/* --- injected failures --- */

static int
swarm_fail_grow(struct swarm *sw)
{
	uint32_t cap = sw->cap_fails ? sw->cap_fails * 2 : 256;
	struct swarm_fail *f = realloc(sw->fails, cap * sizeof(*f));
	uint64_t *s, *d;

	if (f == NULL)
		return -1;
	sw->fails = f;
	s = realloc(sw->seen_suspect, (size_t)cap * SWARM_REAL_MAX * 8);
	if (s == NULL)
		return -1;
	sw->seen_suspect = s;
	d = realloc(sw->seen_dead, (size_t)cap * SWARM_REAL_MAX * 8);
	if (d == NULL)
		return -1;
	sw->seen_dead = d;
	sw->cap_fails = cap;
	return 0;
}

static void
swarm_fail_one(struct swarm *sw, uint32_t i)
{
	struct swarm_fail *f;
	size_t at;

	struct swarm_member old = sw->m[i];

	if (sw->nb_fails == sw->cap_fails && swarm_fail_grow(sw) != 0)
		return;
	if (swarm_member_fail(&sw->m[i]) != 0)
		return;
	swarm_delta_touch(sw, i, &old);
	f = &sw->fails[sw->nb_fails];
	swarm_sim_start(f, &sw->cfg.timing, i, sw->now, swarm_rand01(sw));
	f->t_recover = sw->cfg.flap_s > 0 ?
			       sw->now + (uint64_t)(sw->cfg.flap_s * 1e6) : 0;
	at = (size_t)sw->nb_fails * SWARM_REAL_MAX;
	memset(sw->seen_suspect + at, 0, SWARM_REAL_MAX * 8);
	memset(sw->seen_dead + at, 0, SWARM_REAL_MAX * 8);
	sw->nb_fails++;
}

/* n members stop answering: spread over the joined ones. */
static void
swarm_fail_inject(struct swarm *sw, uint32_t n)
{
	uint32_t pool = sw->n_joined, done = 0;
	uint32_t stride = pool / (n ? n : 1);
	uint32_t start = pool ? (uint32_t)(swarm_rand(sw) % pool) : 0;

	if (stride == 0)
		stride = 1;
	for (uint32_t k = 0; k < pool && done < n; k++) {
		/* Walk a stride, then fill gaps one by one. */
		uint32_t i = (uint32_t)((start + (uint64_t)k * stride +
					 k / (pool / stride ? pool / stride : 1)) %
					pool);

		if (sw->m[i].state != SWARM_M_ALIVE ||
		    (sw->m[i].flags & SWARM_MF_INJECTED))
			continue;
		swarm_fail_one(sw, i);
		done++;
	}
}

void
swarm_fail_seen(struct swarm *sw, uint32_t i, int r, bool is_dead)
{
	uint64_t *slot;

	if (r < 0 || r >= SWARM_REAL_MAX)
		return;
	for (uint32_t f = sw->nb_fails; f-- > 0;) {
		if (sw->fails[f].idx != i)
			continue;
		slot = (is_dead ? sw->seen_dead : sw->seen_suspect) +
		       (size_t)f * SWARM_REAL_MAX + (unsigned)r;
		if (*slot == 0)
			*slot = sw->now ? sw->now : 1;
		return;
	}
}

/* Run the simulated pool's detector for one failure; gossip its claims. */
static void
swarm_fail_sim(struct swarm *sw, struct swarm_fail *f)
{
	uint8_t buf[SWARM_BMSG_MAX];
	uint32_t from, n = sw->n_alive + sw->nb_real;
	enum swarm_sim_out out;

	for (int guard = 0; guard < 16; guard++) {
		out = swarm_sim_step(f, &sw->cfg.timing, n, sw->n_joined,
				     sw->now, swarm_rand01(sw),
				     swarm_rand01(sw), &from);
		if (out == SWARM_SIM_NONE)
			return;
		if (sw->m[from].state != SWARM_M_ALIVE)
			from = swarm_pick_alive(sw);
		if (from == UINT32_MAX)
			return;
		swarm_bq_push(sw, buf,
			      swarm_enc_accuse(sw,
					       out == SWARM_SIM_DEAD ?
						       SWIM_MSG_DEAD :
						       SWIM_MSG_SUSPECT,
					       f->idx, from, buf, sizeof(buf)));
	}
}

/* --flap: a failed member comes back with a higher incarnation. */
static void
swarm_fail_flap(struct swarm *sw, struct swarm_fail *f)
{
	if (f->t_recover == 0 || sw->now < f->t_recover ||
	    f->phase == SWARM_FP_OVER)
		return;
	struct swarm_member old = sw->m[f->idx];

	f->phase = SWARM_FP_OVER;
	if (swarm_member_recover(&sw->m[f->idx]) == 0) {
		swarm_delta_touch(sw, f->idx, &old);
		swarm_bq_alive(sw, f->idx);
	}
}

/* --churn: one rejoin of a churned member, one graceful leave. */
static void
swarm_churn_one(struct swarm *sw)
{
	uint8_t buf[SWARM_BMSG_MAX];
	struct swarm_member old;
	uint32_t i;

	for (int tries = 0; tries < 64 && sw->n_joined > 0; tries++) {
		i = (uint32_t)(swarm_rand(sw) % sw->n_joined);
		old = sw->m[i];
		if (sw->m[i].state != SWARM_M_LEFT ||
		    swarm_member_join(&sw->m[i]) != 0)
			continue;
		swarm_delta_touch(sw, i, &old);
		sw->n_alive++;
		sw->st.joins++;
		swarm_bq_alive(sw, i);
		swarm_bq_push(sw, buf, swarm_enc_intent(sw, true, i, buf,
							sizeof(buf)));
		sw->ltime++;
		break;
	}
	i = swarm_pick_alive(sw);
	if (i == UINT32_MAX || (sw->m[i].flags & SWARM_MF_INJECTED))
		return;
	old = sw->m[i];
	if (swarm_member_leave(&sw->m[i]) != 0)
		return;
	swarm_delta_touch(sw, i, &old);
	sw->n_alive--;
	sw->st.leaves++;
	swarm_bq_push(sw, buf, swarm_enc_intent(sw, false, i, buf,
						sizeof(buf)));
	swarm_bq_push(sw, buf, swarm_enc_accuse(sw, SWIM_MSG_DEAD, i, i, buf,
						sizeof(buf)));
	sw->ltime++;
}

/* Events apply in the order given; N@+T waits for the joiner. */
static bool
swarm_fail_due(const struct swarm *sw, const struct swarm_fail_ev *ev)
{
	uint64_t base = 0;

	if (ev->after_join) {
		if (sw->t_join_done == 0)
			return false;
		base = sw->t_join_done;
	}
	return sw->now >= base + ev->at_ms * 1000;
}

void
swarm_scenario_tick(struct swarm *sw)
{
	uint64_t last = sw->last_scn;

	if (sw->n_alive + sw->nb_real > sw->pool_max)
		sw->pool_max = sw->n_alive + sw->nb_real;
	while (sw->fail_ev_done < sw->cfg.nb_fail &&
	       swarm_fail_due(sw, &sw->cfg.fail[sw->fail_ev_done])) {
		swarm_fail_inject(sw, sw->cfg.fail[sw->fail_ev_done].n);
		sw->fail_ev_done++;
	}
	/* Once leaving, nobody comes back: no flaps, no churn. */
	bool leaving = atomic_load(&sw->stop);

	for (uint32_t f = 0; f < sw->nb_fails; f++) {
		swarm_fail_sim(sw, &sw->fails[f]);
		if (!leaving)
			swarm_fail_flap(sw, &sw->fails[f]);
	}
	if (sw->cfg.churn > 0 && sw->t_join_done != 0 && last != 0 &&
	    !leaving) {
		sw->churn_acc += sw->cfg.churn * (double)(sw->now - last) / 1e6;
		for (int k = 0; k < 10000 && sw->churn_acc >= 1.0; k++) {
			sw->churn_acc -= 1.0;
			swarm_churn_one(sw);
		}
	}
	sw->last_scn = sw->now;
}

/* --- graceful leave of every member --- */

/* One batch: Serf leave intents first, then memberlist dead{From: self}. */
static void
swarm_leave_batch(struct swarm *sw, uint32_t a, uint32_t b)
{
	static uint8_t buf[2][SWARM_LEAVE_BATCH][96];
	static uint16_t len[2][SWARM_LEAVE_BATCH];
	struct swarm_packer pk = { .nb = 0, .src = a };
	uint32_t nb = 0;
	int n, d;

	for (uint32_t i = a; i < b && nb < SWARM_LEAVE_BATCH; i++) {
		if (sw->m[i].state == SWARM_M_ALIVE) {
			struct swarm_member old = sw->m[i];

			swarm_member_leave(&sw->m[i]);
			swarm_delta_touch(sw, i, &old);
			sw->n_alive--;
			sw->st.leaves++;
		} else if (sw->m[i].state != SWARM_M_LEFT) {
			continue;
		}
		n = swarm_enc_intent(sw, false, i, buf[0][nb], 96);
		d = swarm_enc_accuse(sw, SWIM_MSG_DEAD, i, i, buf[1][nb], 96);
		if (n <= 0 || d <= 0)
			continue;
		len[0][nb] = (uint16_t)n;
		len[1][nb] = (uint16_t)d;
		nb++;
	}
	for (int kind = 0; kind < 2; kind++) {
		for (uint32_t k = 0; k < nb; k++)
			swarm_pack_add(sw, &pk, buf[kind][k], len[kind][k]);
		swarm_pack_flush(sw, &pk);
	}
}

bool
swarm_leave_tick(struct swarm *sw)
{
	uint64_t batch;
	uint32_t b;

	if (sw->leave_phase == 0) {
		/* Newer than every join LTime we announced. */
		sw->ltime++;
		sw->leave_phase = 1;
		sw->leave_pos = 0;
		sw->leave_next = sw->now;
	}
	if (sw->leave_phase == 3)
		return sw->now >= sw->leave_end;
	if (sw->now < sw->leave_next)
		return false;
	sw->leave_next = sw->now + SWARM_LEAVE_TICK_US;
	batch = (uint64_t)(sw->cfg.leave_rate * SWARM_LEAVE_TICK_US / 1e6);
	batch = batch < 1 ? 1 : batch > SWARM_LEAVE_BATCH ? SWARM_LEAVE_BATCH :
							    batch;
	b = sw->leave_pos + (uint32_t)batch;
	if (b > sw->n_joined)
		b = sw->n_joined;
	swarm_leave_batch(sw, sw->leave_pos, b);
	sw->leave_pos = b;
	if (sw->leave_pos >= sw->n_joined) {
		/* Two passes: a lost datagram must not make a member fail. */
		sw->leave_pos = 0;
		if (++sw->leave_phase == 3)
			sw->leave_end = sw->now + SWARM_LINGER_US;
	}
	return false;
}
