/*
 * A random delta-sync capable peer (swim_dsync_peer.h): draws from the
 * live part of the member array (alive or suspect, never self), then
 * walks a bounded run of it, and keeps the first alive one whose
 * capability byte says delta sync v1.
 */
#include "swim_dsync_peer.h"

#include <string.h>

#include "swim_dsync.h"
#include "swim_int.h"

/* splitmix64: a fresh draw from the caller's seed, no core state. */
static uint64_t
swim_dsync_peer_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool
swim_dsync_peer_ok(const struct swim_member *m)
{
	return !m->is_self && m->status == SWIM_STATUS_ALIVE &&
	       (m->vsn[SWIM_VSN_LEN] & SWIM_DSYNC_CAP_V1) != 0;
}

int
swim_dsync_random_peer(const struct swim *s, uint64_t r, char *name,
		       size_t cap, struct swim_addr *addr)
{
	uint32_t n = s->mt.live.nb, start;
	const struct swim_member *m = NULL;

	if (cap < SWIM_NAME_MAX + 1 || n == 0)
		return -1;
	/* random draws find one when capable peers are common ... */
	for (unsigned k = 0; k < SWIM_DSYNC_PEER_TRIES && m == NULL; k++) {
		m = s->mt.all.v[swim_dsync_peer_next(&r) % n];
		if (!swim_dsync_peer_ok(m))
			m = NULL;
	}
	/* ... a bounded walk from a random point when they are rare */
	start = (uint32_t)(swim_dsync_peer_next(&r) % n);
	for (uint32_t k = 0; k < SWIM_DSYNC_PEER_SCAN && k < n && m == NULL;
	     k++) {
		m = s->mt.all.v[(start + k) % n];
		if (!swim_dsync_peer_ok(m))
			m = NULL;
	}
	if (m == NULL)
		return -1;
	memcpy(name, m->name, m->name_len);
	name[m->name_len] = '\0';
	*addr = m->addr;
	return 0;
}
