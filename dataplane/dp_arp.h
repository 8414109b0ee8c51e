/* SPDX-License-Identifier: MIT */
/**
 * @file
 * A per-lcore ARP cache for the DPDK backend: IPv4 -> MAC with age-out,
 * a request on a miss, and a few packets held per unresolved address
 * until the reply comes (RFC 826 / RFC 1122 §2.3.2.2).
 *
 * Fixed size, allocated once by dp_arp_new(); nothing allocates after
 * that. One instance belongs to one lcore and is never shared, so there
 * are no atomics. Pure: time is passed in (now_us), held packets are
 * opaque pointers the caller owns again when they come back out, and
 * frames are built by the caller (dp_pkt.h). No DPDK here.
 *
 * Layout: nb_buckets (power of 2) buckets of DP_ARP_WAYS entries, indexed
 * by a hash of the IP. A full bucket evicts its stalest entry.
 */
#ifndef DP_ARP_H_INCLUDED
#define DP_ARP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Entries per bucket. */
#define DP_ARP_WAYS 4
/** Packets held per unresolved address (Linux unres_qlen is 3 per skb). */
#define DP_ARP_HOLD 4

struct dp_arp_cfg {
	unsigned nb_entries;		/* rounded up to buckets * WAYS, >= 4 */
	uint64_t reachable_us;		/* a resolved entry lives this long */
	uint64_t retry_us;		/* re-request an unresolved one after */
	unsigned max_requests;		/* give up after this many requests */
};

/** Sensible defaults: 256 entries, 60 s, 1 s retries, 3 requests. */
void dp_arp_cfg_default(struct dp_arp_cfg *cfg);

enum dp_arp_res {
	DP_ARP_HIT = 0,		/* mac filled, packet not taken */
	DP_ARP_HELD,		/* packet held until the reply comes */
	DP_ARP_FULL,		/* hold queue or table full: caller drops */
};

struct dp_arp;

/** Counters of one cache, owned by the lcore that owns the cache. */
struct dp_arp_stats {
	uint64_t hits;			/* lookups answered from the table */
	uint64_t misses;		/* lookups that created or hit an
					 * unresolved entry */
	uint64_t requests;	/* requests the caller was told to send */
	uint64_t learned;		/* entries created or refreshed */
	uint64_t evicted;	/* live entries pushed out of a bucket */
	uint64_t expired;		/* entries aged out */
	uint64_t held_dropped;		/* held packets given back to drop */
};

/**
 * Allocate a cache. @retval NULL with -EINVAL (bad cfg) or -ENOMEM in
 * *err.
 */
struct dp_arp *dp_arp_new(const struct dp_arp_cfg *cfg, int *err);

/**
 * Free the cache. Packets still held are given to release (may be NULL)
 * one by one so the caller can free them.
 */
void dp_arp_delete(struct dp_arp *arp, void (*release)(void *pkt, void *ctx),
		   void *ctx);

/**
 * Find the MAC for ip. On a miss the entry is created unresolved and pkt
 * (if not NULL) is held.
 * @param send_request  set true when the caller must send an ARP request
 *                      for ip now (first miss, or retry time passed)
 * @retval DP_ARP_HIT, DP_ARP_HELD or DP_ARP_FULL (pkt not taken)
 */
enum dp_arp_res dp_arp_resolve(struct dp_arp *arp, uint32_t ip,
			       uint64_t now_us, void *pkt, uint8_t mac[6],
			       bool *send_request);

/** Lookup only: never creates, never holds. @retval true on a hit. */
bool dp_arp_lookup(const struct dp_arp *arp, uint32_t ip, uint64_t now_us,
		   uint8_t mac[6]);

/**
 * Record ip -> mac. An existing entry is refreshed (RFC 826 merge);
 * a new one is made only when create is set.
 * @param released  receives the packets held for ip, now sendable to mac
 * @param cap       room in released (DP_ARP_HOLD is always enough);
 *                  packets that do not fit stay held until dp_arp_age
 * @retval number of packets written to released
 */
unsigned dp_arp_learn(struct dp_arp *arp, uint32_t ip, const uint8_t mac[6],
		      uint64_t now_us, bool create, void **released,
		      unsigned cap);

/**
 * Age the table: drop resolved entries older than reachable_us, and for
 * unresolved ones either ask for a new request (retry_us passed) or give
 * up after max_requests.
 * @param dropped   receives held packets of entries given up (to free)
 * @param retry_ips receives IPs to send a request for again
 * When an out array fills up, aging stops; the next call goes on.
 * @retval number of packets in dropped; *nb_retry IPs in retry_ips
 */
unsigned dp_arp_age(struct dp_arp *arp, uint64_t now_us, void **dropped,
		    unsigned cap, uint32_t *retry_ips, unsigned retry_cap,
		    unsigned *nb_retry);

/** Copy the cache's counters. */
void dp_arp_get_stats(const struct dp_arp *arp, struct dp_arp_stats *out);

/** Entries in use (resolved or not). */
unsigned dp_arp_count(const struct dp_arp *arp);

#endif /* DP_ARP_H_INCLUDED */
