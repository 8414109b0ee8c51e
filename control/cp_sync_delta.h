/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Delta anti-entropy between gossipd peers (issue 14, swim_dsync.h) on
 * the TCP sync engine's streams. memberlist's periodic full push/pull
 * stays for every peer that does not advertise the capability (serf,
 * consul, an old gossipd): they never see a delta-sync message.
 *
 * Initiator: the core's periodic push/pull with a capable peer becomes
 * a delta exchange (cp_sync_delta_push_pull), and every interval_us
 * (jittered) one more exchange goes to a random capable peer
 * (cp_sync_delta_tick), which is what bounds convergence after a missed
 * gossip: an exchange at equality costs a few dozen bytes each way.
 * HELLO, then GROUPS/LEAVES/DIFF as the digests differ, then a push/pull
 * of the differing leaves' members both ways (the initiator's first),
 * streamed through fixed windows on plain streams, one sealed frame on
 * encrypted ones (the same label and keyring rules as push/pull). A
 * periodic exchange whose peer refuses or cannot read the first message
 * falls back to a full push/pull at once.
 *
 * Responder: an inbound stream whose first message is a delta-sync type
 * is claimed from cp_sess_got and answered from the core's digests; with
 * delta sync off it gets ABORT (DISABLED) and the initiator falls back.
 *
 * Control thread only, like the engine.
 */
#ifndef CP_SYNC_DELTA_H_INCLUDED
#define CP_SYNC_DELTA_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "cp.h"

/** Default --delta-sync-interval (see README: Scale, delta sync). */
#define CP_SYNC_DELTA_INTERVAL_US (10ull * 1000 * 1000)
/** Node maps per swim_pp_enc_next call in a transfer. */
#define CP_SYNC_DELTA_NODES 2048u

struct cp_sync_delta_cfg {
	struct swim *swim;	/* digests, capability, the transfer */
	bool is_enabled;	/* start and answer exchanges */
	/* Extra exchanges with a random capable peer, one per interval
	 * (+-25 % jitter); 0: only the core's periodic push/pulls. */
	uint64_t interval_us;
	/* Time budget of an exchange's message phase (HELLO .. DIFF); the
	 * transfer then moves its deadline with progress, as push/pull. */
	uint64_t budget_us;
	uint64_t seed;		/* jitter and peer draws */
};

/** Defaults: enabled, CP_SYNC_DELTA_INTERVAL_US, budget 5 s. */
void cp_sync_delta_cfg_default(struct cp_sync_delta_cfg *cfg);

/**
 * Turn delta sync on for an engine (the engine must have streamed
 * push/pull ops, cfg.h.pp). Called again, replaces the settings.
 * @retval 0, -EINVAL (no swim or no pp ops), -ENOMEM.
 */
int cp_sync_delta_enable(struct cp_sync *sync,
			 const struct cp_sync_delta_cfg *cfg);

/**
 * The core asked for a periodic (non-join) push/pull with `node` at
 * `to`: start a delta exchange instead when delta sync is on and the
 * member advertises the capability. Its outcome comes back through
 * h.push_pull_done, as a push/pull's would.
 * @retval true: started (do not push/pull), false: push/pull as usual.
 */
bool cp_sync_delta_push_pull(struct cp_sync *sync, uint64_t now_us,
			     const struct swim_addr *to, const char *node);

/**
 * Start the interval's exchange when due (from cp_sync_expire, after
 * every wait of the loop). No wakeup of its own: a node with peers wakes
 * every ProbeInterval anyway, a lone one has nobody to sync with. When
 * both sides can, its HELLO goes with the core's next probe to a capable
 * member (swim_dsync_udp_want); with none in SWIM_DSYNC_WANT_PROBES
 * probe intervals, to a random capable peer as before.
 */
void cp_sync_delta_tick(struct cp_sync *sync, uint64_t now_us);

#endif /* CP_SYNC_DELTA_H_INCLUDED */
