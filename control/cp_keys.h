/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Key rotation on a live node (`serf keys`): the keyring side of serf's
 * internal key queries (swim/serf/serf_keys.h).
 *
 * A change never mutates a keyring someone may be reading. It builds a
 * new keyring, applies the change to it, and publishes it: to control's
 * own sealers (cp->cfg.keyring, the TCP sync engine) at once, and to the
 * dataplane through the next fast-path snapshot, which is forced out on
 * the next loop turn (struct dp_snapshot.keyring; lcores pick it up at the
 * top of their next turn). The replaced keyring is kept for a grace period
 * (CP_KEYS_GRACE_US) before it is freed, as an lcore may be inside a
 * burst sealed with it. With --keyring-file the file is then rewritten as
 * serf writes it (a JSON array of base64 keys, primary first, mode 0600),
 * through a temporary file and rename(2), so a crash leaves the old or
 * the new file, never half of one.
 *
 * Control thread only.
 */
#ifndef CP_KEYS_H_INCLUDED
#define CP_KEYS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serf_keys.h"

struct cp;
struct serf_event;
struct swim_keyring;

/** How long a replaced keyring outlives its replacement. */
#define CP_KEYS_GRACE_US (10u * 1000 * 1000)
/** Replaced keyrings waiting for their grace period to end. */
#define CP_KEYS_RETIRED_MAX 32

/**
 * Set up key rotation when the node encrypts (cp->cfg.keyring non-NULL);
 * a no-op otherwise (key queries then get serf's "encryption not
 * enabled" answers from the Serf layer).
 * @retval 0, or -ENOMEM.
 */
int cp_keys_init(struct cp *cp);

/**
 * Free every replaced keyring, including the one the node started with
 * when it is no longer current (cp_fini frees the current one). Call it
 * after the dataplane and the sync engine are gone.
 */
void cp_keys_fini(struct cp *cp);

/**
 * A SERF_EV_QUERY: when it is one of serf's key queries, answer it
 * (serf_query_respond) and log as serf does.
 * @retval true when it was a key query (consumed: not for RPC streams).
 */
bool cp_keys_on_query(struct cp *cp, uint64_t now_us,
		      const struct serf_event *ev);

/**
 * Apply one key change to the live keyring, as a `_serf_<op>` query does
 * (install, use or remove; list is not a change): build the new keyring,
 * publish it if it differs, rewrite --keyring-file. Installing a present
 * key or removing an absent one succeeds without a new keyring.
 * @retval 0, or < 0 with memberlist's text in msg ("Requested key is not
 *         in the keyring", "Removing the primary key is not allowed",
 *         "key size must be 16, 24 or 32 bytes"), -EBUSY when
 *         CP_KEYS_RETIRED_MAX replaced keyrings still wait for their
 *         grace period, or the keyring file's error (the change itself
 *         then stays, as in serf).
 */
int cp_keys_change(struct cp *cp, enum serf_key_op op, const uint8_t *key,
		   size_t len, char *msg, size_t msglen);

/**
 * Write ring to path as serf's writeKeyringFile does:
 * `[\n  "k1",\n  "k2"\n]`, through path.XXXXXX and rename(2), mode 0600.
 * @retval 0, or -errno with Go-style text ("open PATH: permission
 *         denied") in msg.
 */
int cp_keys_write_file(const char *path, const struct swim_keyring *ring,
		       char *msg, size_t msglen);

#endif /* CP_KEYS_H_INCLUDED */
