/* SPDX-License-Identifier: MIT */
/*
 * Delta sync (swim/core/swim_dsync.h) between two simulated cores, in place of
 * a periodic push/pull: the digest exchange runs message by message
 * between the two sessions (as control would run it over one TCP
 * stream), then, if the tables differ, each side encodes a push/pull
 * restricted to the differing leaves and the other merges it. A peer
 * without the capability, or an exchange that fails, falls back to
 * memberlist's full push/pull, as control does. No Serf user state rides
 * on a restricted push/pull (it is O(n)); Serf's intents still travel
 * by gossip and by the full push/pulls of joins.
 */
#include "sim_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim_dsync.h"
#include "swim_wire.h"

struct sim_dsync {
	struct swim_dsync x[2];		/* initiator, responder */
	uint8_t *msg[2];		/* SWIM_DSYNC_MSG_MAX each */
	int st[2];			/* last status of each side */
	uint64_t bytes;			/* of this exchange */
};

/* Run the messages until neither side has more to say. @retval 0 or < 0. */
static int
sim_dsync_talk(struct sim_dsync *d, struct swim *s[2])
{
	const uint8_t *in = NULL;
	size_t in_len = 0;
	int cur = 0, k;

	swim_dsync_start(&d->x[0], SWIM_DSYNC_INITIATOR);
	swim_dsync_start(&d->x[1], SWIM_DSYNC_RESPONDER);
	d->st[0] = d->st[1] = 0;
	d->bytes = 0;
	for (k = 0; k < 8; k++) {
		size_t out_len = 0;
		int rc = swim_dsync_step(s[cur], &d->x[cur], in, in_len,
					 d->msg[cur], SWIM_DSYNC_MSG_MAX,
					 &out_len);

		if (rc < 0)
			return rc;
		d->st[cur] = rc;
		d->bytes += out_len;
		if (out_len == 0)
			return 0;
		in = d->msg[cur];
		in_len = out_len;
		cur ^= 1;
	}
	return SWIM_DSYNC_E_STATE;	/* more rounds than the protocol has */
}

/* Node i's push/pull of x's leaves into scratch k. @retval length or 0. */
static size_t
sim_dsync_encode(struct sim *sim, unsigned i, const struct swim_dsync *x,
		 int k)
{
	const struct swim *s = sim->nodes[i].swim;
	struct swim_pp_enc e;
	size_t len = 0;

	swim_pp_enc_start_dsync(s, &e, false, 0, x);
	for (;;) {
		int n = swim_pp_enc_next(s, &e, sim->pp_buf[k] + len,
					 sim->pp_cap[k] - len, UINT32_MAX);

		if (n == 0)
			return len;
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n != SWIM_WIRE_E_NOSPACE)
			return 0;
		{
			uint8_t *b = realloc(sim->pp_buf[k], sim->pp_cap[k] * 2);

			if (b == NULL)
				return 0;
			sim->pp_buf[k] = b;
			sim->pp_cap[k] *= 2;
		}
	}
}

/* The transfer: both restricted push/pulls, encoded before either
 * merges (memberlist's order for a push/pull). @retval true if merged. */
static bool
sim_dsync_transfer(struct sim *sim, struct sim_dsync *d, unsigned i,
		   unsigned j)
{
	size_t len_i = sim_dsync_encode(sim, i, &d->x[0], 0);
	size_t len_j = sim_dsync_encode(sim, j, &d->x[1], 1);
	bool ok;

	sim->cnt.dsync_transfers++;
	sim->cnt.dsync_bytes += d->bytes + len_i + len_j;
	if (len_i == 0 || len_j == 0)
		return false;
	ok = sim_pp_merge(sim, j, 0, len_i, false);
	return sim_pp_merge(sim, i, 1, len_j, false) && ok;
}

/* memberlist's full push/pull, the fallback. */
static bool
sim_dsync_full(struct sim *sim, unsigned i, unsigned j)
{
	size_t len_i = sim_pp_encode(sim, i, false, 0);
	size_t len_j = sim_pp_encode(sim, j, false, 1);

	sim->cnt.dsync_fallbacks++;
	if (len_i > 0)
		sim_pp_merge(sim, j, 0, len_i, false);
	return len_j > 0 && sim_pp_merge(sim, i, 1, len_j, false);
}

static bool
sim_dsync_run(void *ctx, struct sim *sim, unsigned i, unsigned j)
{
	struct sim_dsync *d = ctx;
	struct swim *s[2] = { sim->nodes[i].swim, sim->nodes[j].swim };
	const char *name = sim->nodes[j].cfg.name;
	int rc;

	if (!swim_member_dsync_capable(s[0], name, strlen(name)))
		return sim_dsync_full(sim, i, j);
	sim->cnt.dsync_runs++;
	rc = sim_dsync_talk(d, s);
	if (rc < 0) {
		sim->cnt.dsync_errors++;
		return sim_dsync_full(sim, i, j);
	}
	if (d->st[0] == SWIM_DSYNC_TRANSFER && d->st[1] == SWIM_DSYNC_TRANSFER)
		return sim_dsync_transfer(sim, d, i, j);
	sim->cnt.dsync_bytes += d->bytes;
	if (d->st[0] == SWIM_DSYNC_IN_SYNC || d->st[1] == SWIM_DSYNC_IN_SYNC) {
		sim->cnt.dsync_insync++;
		return true;
	}
	sim->cnt.dsync_errors++;	/* ended neither in sync nor agreed */
	return sim_dsync_full(sim, i, j);
}

static void
sim_dsync_free(void *ctx)
{
	struct sim_dsync *d = ctx;

	if (d == NULL)
		return;
	free(d->msg[0]);
	free(d->msg[1]);
	free(d);
}

int
sim_use_dsync(struct sim *sim)
{
	struct sim_dsync *d;

	if (sim->sync_f == sim_dsync_run)
		return 0;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -1;
	d->msg[0] = malloc(SWIM_DSYNC_MSG_MAX);
	d->msg[1] = malloc(SWIM_DSYNC_MSG_MAX);
	if (d->msg[0] == NULL || d->msg[1] == NULL) {
		sim_dsync_free(d);
		return -1;
	}
	sim_set_sync(sim, sim_dsync_run, d);
	sim->sync_free = sim_dsync_free;
	return 0;
}
