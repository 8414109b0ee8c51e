/**
 * @file
 * The delta-sync peer choice (swim_dsync.h leaves it to the I/O layer):
 * a random alive member that advertises the capability, in O(1)
 * expected time, for control's delta-sync interval. Pure: the caller
 * passes the randomness.
 */
#ifndef SWIM_DSYNC_PEER_H_INCLUDED
#define SWIM_DSYNC_PEER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "swim.h"

/** Random draws from the live members, then a walk of at most
 * SWIM_DSYNC_PEER_SCAN of them from a random point: O(1) per call; in a
 * large pool of mostly memberlist peers a capable one may be missed (the
 * periodic push/pull still syncs with it when it picks it). */
#define SWIM_DSYNC_PEER_TRIES 32u
#define SWIM_DSYNC_PEER_SCAN 4096u

/**
 * A random alive member other than us whose Vsn[6] has
 * SWIM_DSYNC_CAP_V1: its name (NUL-terminated, cap >= SWIM_NAME_MAX + 1)
 * and address. r seeds the draws.
 * @retval 0 found, -1 none found (in the draws and the walk), or cap
 *         too small.
 */
int swim_dsync_random_peer(const struct swim *s, uint64_t r, char *name,
			   size_t cap, struct swim_addr *addr);

#endif /* SWIM_DSYNC_PEER_H_INCLUDED */
