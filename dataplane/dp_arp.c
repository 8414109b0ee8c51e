/* SPDX-License-Identifier: MIT */
/*
 * The ARP cache: a bucketed hash table of IPv4 -> MAC with per-entry
 * hold queues. Owns entry lifetime (create, refresh, evict, age out) and
 * the request retry schedule. Never: builds or sends frames, reads a
 * clock, or frees held packets (the caller owns them and gets them back).
 * Used by exactly one lcore per instance, so it has no synchronisation.
 */
#include "dp_arp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum arp_state {
	ARP_FREE = 0,		/* slot unused */
	ARP_INCOMPLETE,		/* request sent, no reply yet */
	ARP_REACHABLE,		/* mac valid until updated_us + reachable */
};

struct arp_entry {
	uint32_t ip;			/* host order; key when not FREE */
	uint8_t state;			/* enum arp_state */
	uint8_t nb_requests;		/* requests sent while INCOMPLETE */
	uint8_t nb_held;		/* packets in held[] */
	uint8_t mac[6];			/* valid when REACHABLE */
	uint64_t updated_us;		/* last learn, or creation */
	uint64_t requested_us;		/* last request sent */
	void *held[DP_ARP_HOLD];	/* packets waiting for the MAC */
};

struct dp_arp {
	struct dp_arp_cfg cfg;		/* as given, nb_entries rounded */
	unsigned bucket_mask;		/* nb_buckets - 1 */
	unsigned nb_used;		/* entries not FREE */
	struct dp_arp_stats stats;	/* written by the owning lcore only */
	struct arp_entry entries[];	/* nb_buckets * DP_ARP_WAYS */
};

void
dp_arp_cfg_default(struct dp_arp_cfg *cfg)
{
	cfg->nb_entries = 256;		/* a LAN cluster of a few hundred */
	cfg->reachable_us = 60000000;	/* Linux gc_stale_time is 60 s */
	cfg->retry_us = 1000000;	/* Linux retrans_time is 1 s */
	cfg->max_requests = 3;		/* Linux mcast_solicit is 3 */
}

struct dp_arp *
dp_arp_new(const struct dp_arp_cfg *cfg, int *err)
{
	unsigned nb_buckets = 1;
	struct dp_arp *arp;

	if (cfg == NULL || cfg->nb_entries < DP_ARP_WAYS ||
	    cfg->nb_entries > (1u << 20) || cfg->max_requests == 0 ||
	    cfg->max_requests > 255) {
		*err = -EINVAL;
		return NULL;
	}
	while (nb_buckets * DP_ARP_WAYS < cfg->nb_entries)
		nb_buckets <<= 1;
	arp = calloc(1, sizeof(*arp) + (size_t)nb_buckets * DP_ARP_WAYS *
				       sizeof(struct arp_entry));
	if (arp == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	arp->cfg = *cfg;
	arp->cfg.nb_entries = nb_buckets * DP_ARP_WAYS;
	arp->bucket_mask = nb_buckets - 1;
	*err = 0;
	return arp;
}

void
dp_arp_delete(struct dp_arp *arp, void (*release)(void *pkt, void *ctx),
	      void *ctx)
{
	if (arp == NULL)
		return;
	for (unsigned i = 0; i < arp->cfg.nb_entries; i++) {
		struct arp_entry *e = &arp->entries[i];

		for (unsigned j = 0; j < e->nb_held && release != NULL; j++)
			release(e->held[j], ctx);
	}
	free(arp);
}

/* First entry of ip's bucket (Fibonacci hash: IPs in a /24 spread). */
static struct arp_entry *
arp_bucket(const struct dp_arp *arp, uint32_t ip)
{
	unsigned b = (unsigned)((ip * 2654435769u) >> 16) & arp->bucket_mask;

	return (struct arp_entry *)&arp->entries[b * DP_ARP_WAYS];
}

static struct arp_entry *
arp_find(const struct dp_arp *arp, uint32_t ip)
{
	struct arp_entry *e = arp_bucket(arp, ip);

	for (unsigned w = 0; w < DP_ARP_WAYS; w++)
		if (e[w].state != ARP_FREE && e[w].ip == ip)
			return &e[w];
	return NULL;
}

/* now - then, 0 if the clock went backwards (never a huge age). */
static uint64_t
arp_elapsed(uint64_t now_us, uint64_t then_us)
{
	return now_us > then_us ? now_us - then_us : 0;
}

static bool
arp_is_live(const struct dp_arp *arp, const struct arp_entry *e,
	    uint64_t now_us)
{
	return e->state == ARP_REACHABLE &&
	       arp_elapsed(now_us, e->updated_us) < arp->cfg.reachable_us;
}

/*
 * A slot for ip in its bucket: a free one, else the stalest entry that
 * holds no packets (held packets are never silently lost). NULL if every
 * way is an unresolved entry with packets waiting.
 */
static struct arp_entry *
arp_slot(struct dp_arp *arp, uint32_t ip)
{
	struct arp_entry *e = arp_bucket(arp, ip);
	struct arp_entry *victim = NULL;

	for (unsigned w = 0; w < DP_ARP_WAYS; w++) {
		if (e[w].state == ARP_FREE)
			return &e[w];
		if (e[w].nb_held != 0)
			continue;
		if (victim == NULL || e[w].updated_us < victim->updated_us)
			victim = &e[w];
	}
	if (victim != NULL) {
		arp->stats.evicted++;
		arp->nb_used--;
		victim->state = ARP_FREE;
	}
	return victim;
}

static struct arp_entry *
arp_create(struct dp_arp *arp, uint32_t ip, uint64_t now_us)
{
	struct arp_entry *e = arp_slot(arp, ip);

	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->state = ARP_INCOMPLETE;
	e->updated_us = now_us;
	arp->nb_used++;
	return e;
}

bool
dp_arp_lookup(const struct dp_arp *arp, uint32_t ip, uint64_t now_us,
	      uint8_t mac[6])
{
	const struct arp_entry *e = arp_find(arp, ip);

	if (e == NULL || !arp_is_live(arp, e, now_us))
		return false;
	memcpy(mac, e->mac, 6);
	return true;
}

/* An expired REACHABLE entry starts over as INCOMPLETE. */
static void
arp_restart(struct arp_entry *e, uint64_t now_us)
{
	e->state = ARP_INCOMPLETE;
	e->nb_requests = 0;
	e->updated_us = now_us;
}

enum dp_arp_res
dp_arp_resolve(struct dp_arp *arp, uint32_t ip, uint64_t now_us, void *pkt,
	       uint8_t mac[6], bool *send_request)
{
	struct arp_entry *e = arp_find(arp, ip);

	*send_request = false;
	if (e != NULL && arp_is_live(arp, e, now_us)) {
		arp->stats.hits++;
		memcpy(mac, e->mac, 6);
		return DP_ARP_HIT;
	}
	arp->stats.misses++;
	if (e == NULL)
		e = arp_create(arp, ip, now_us);
	else if (e->state == ARP_REACHABLE)
		arp_restart(e, now_us);
	if (e == NULL)
		return DP_ARP_FULL;
	if (e->nb_requests == 0) {
		/* First miss: ask now; dp_arp_age schedules the retries. */
		e->nb_requests = 1;
		e->requested_us = now_us;
		arp->stats.requests++;
		*send_request = true;
	}
	if (pkt == NULL)
		return DP_ARP_HELD;
	if (e->nb_held == DP_ARP_HOLD)
		return DP_ARP_FULL;
	e->held[e->nb_held++] = pkt;
	return DP_ARP_HELD;
}

/* Give back up to cap held packets; the rest stay held. */
static unsigned
arp_release(struct arp_entry *e, void **out, unsigned cap)
{
	unsigned n = e->nb_held < cap ? e->nb_held : cap;

	memcpy(out, e->held, n * sizeof(void *));
	memmove(e->held, e->held + n, (e->nb_held - n) * sizeof(void *));
	e->nb_held = (uint8_t)(e->nb_held - n);
	return n;
}

unsigned
dp_arp_learn(struct dp_arp *arp, uint32_t ip, const uint8_t mac[6],
	     uint64_t now_us, bool create, void **released, unsigned cap)
{
	struct arp_entry *e = arp_find(arp, ip);

	if (e == NULL && create)
		e = arp_create(arp, ip, now_us);
	if (e == NULL)
		return 0;
	memcpy(e->mac, mac, 6);
	e->state = ARP_REACHABLE;
	e->nb_requests = 0;
	e->updated_us = now_us;
	arp->stats.learned++;
	return arp_release(e, released, cap);
}

/*
 * Age one entry: expire a stale resolved one, retry or give up an
 * unresolved one. Packets still held (a learn with a short out array
 * leaves some behind) go to dropped.
 * @retval false when the out arrays are too full to go on.
 */
static bool
arp_age_entry(struct dp_arp *arp, struct arp_entry *e, uint64_t now_us,
	      void **dropped, unsigned cap, unsigned *nb_dropped,
	      uint32_t *retry_ips, unsigned retry_cap, unsigned *nb_retry)
{
	if (e->state == ARP_REACHABLE && arp_is_live(arp, e, now_us))
		return true;
	if (e->state == ARP_INCOMPLETE &&
	    arp_elapsed(now_us, e->requested_us) < arp->cfg.retry_us)
		return true;
	if (e->state == ARP_INCOMPLETE &&
	    e->nb_requests < arp->cfg.max_requests) {
		if (*nb_retry == retry_cap)
			return false;
		retry_ips[(*nb_retry)++] = e->ip;
		e->nb_requests++;
		e->requested_us = now_us;
		arp->stats.requests++;
		return true;
	}
	if (cap - *nb_dropped < e->nb_held)
		return false;
	arp->stats.held_dropped += e->nb_held;
	*nb_dropped += arp_release(e, dropped + *nb_dropped, cap - *nb_dropped);
	e->state = ARP_FREE;
	arp->nb_used--;
	arp->stats.expired++;
	return true;
}

unsigned
dp_arp_age(struct dp_arp *arp, uint64_t now_us, void **dropped, unsigned cap,
	   uint32_t *retry_ips, unsigned retry_cap, unsigned *nb_retry)
{
	unsigned nb_dropped = 0;

	*nb_retry = 0;
	for (unsigned i = 0; i < arp->cfg.nb_entries; i++) {
		struct arp_entry *e = &arp->entries[i];

		if (e->state == ARP_FREE)
			continue;
		if (!arp_age_entry(arp, e, now_us, dropped, cap, &nb_dropped,
				   retry_ips, retry_cap, nb_retry))
			break;	/* out arrays full: the next call goes on */
	}
	return nb_dropped;
}

void
dp_arp_get_stats(const struct dp_arp *arp, struct dp_arp_stats *out)
{
	*out = arp->stats;
}

unsigned
dp_arp_count(const struct dp_arp *arp)
{
	return arp->nb_used;
}
