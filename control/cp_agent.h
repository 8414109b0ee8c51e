/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The agent duties around the protocol, as `serf agent` has them: signals
 * (SIGINT leaves unless skip_leave_on_interrupt, SIGTERM leaves only with
 * leave_on_terminate, a second one stops at once, SIGHUP reloads), the
 * reload (config files re-read; log level, tags or tags file, event
 * handlers through hooks), the snapshot (cp_cfg_snap.h) and rejoin, the
 * tags file written back, and --retry-join's DNS names resolved on a
 * short-lived thread so the control thread never blocks on DNS.
 *
 * Control thread only, except the signal handler (counts) and the
 * resolver thread (fills its own buffer, then rings an eventfd).
 */
#ifndef CP_AGENT_H_INCLUDED
#define CP_AGENT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

struct cp;
struct cp_cfg;

/** Most reload hooks. */
#define CP_AGENT_HOOKS_MAX 8

/**
 * Called on SIGHUP after the config was re-read without error, with the
 * new config (cp->cfg still holds the old one; the agent copies the
 * fields it reloads after every hook ran). The event-handler subsystem
 * takes next->event_handlers here.
 */
typedef void (*cp_agent_reload_f)(struct cp *cp, const struct cp_cfg *next,
				  void *ctx);

/** Install the signal handlers (SIGINT, SIGTERM, SIGHUP). @retval 0/-1. */
int cp_agent_signals_init(void);

/**
 * Start the agent duties: keep argv for reloads, open and replay the
 * snapshot (restoring the Serf clocks), remember the tags for the tags
 * file. After cp_serf_layer_init and cp_reactor_init.
 * @retval 0, or -1 after printing one line (exit 2).
 */
int cp_agent_init(struct cp *cp, int argc, char **argv);

/** Rejoin the snapshot's members (not us) when there are any. */
void cp_agent_rejoin(struct cp *cp, uint64_t now_us);

/** Register a reload hook. @retval 0 or -ENOSPC. */
int cp_agent_on_reload(struct cp *cp, cp_agent_reload_f f, void *ctx);

/** Re-read the configuration now, as SIGHUP does. */
void cp_agent_reload(struct cp *cp);

/** Loop work: signals, snapshot, tags file, retry-join names. */
void cp_agent_tick(struct cp *cp, uint64_t now_us);
/** When cp_agent_tick next has timed work (the control loop sleeps until
 * then at the latest); UINT64_MAX without an agent. */
uint64_t cp_agent_next_deadline(const struct cp *cp);

/** Final snapshot clocks, close, join the resolver. NULL-safe on cp. */
void cp_agent_fini(struct cp *cp);

#endif /* CP_AGENT_H_INCLUDED */
