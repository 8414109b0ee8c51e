/*
 * memberlist's configuration profiles (DefaultLANConfig and friends,
 * memberlist 0.2.2 config.go), with the values serf's agent runs with.
 */
#include "swim.h"

#include <string.h>

#define MS 1000ull
#define S (1000ull * MS)

const char *const swim_status_str[SWIM_STATUS_COUNT] = {
	[SWIM_STATUS_ALIVE] = "alive",
	[SWIM_STATUS_SUSPECT] = "suspect",
	[SWIM_STATUS_DEAD] = "dead",
	[SWIM_STATUS_LEFT] = "left",
};

/* What a serf 0.9.4 agent advertises: memberlist 1..5 speaking 2, serf 2..5 speaking 5. */
static const uint8_t serf_vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

void
swim_cfg_default_lan(struct swim_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->vsn, serf_vsn, sizeof(serf_vsn));
	cfg->probe_interval_us = 1 * S;
	cfg->probe_timeout_us = 500 * MS;
	cfg->gossip_interval_us = 200 * MS;
	cfg->gossip_nodes = 3;
	/* Dead nodes still hear gossip for a while so they can refute. */
	cfg->gossip_to_the_dead_time_us = 30 * S;
	/* Retransmit a message RetransmitMult * log(N+1) times. */
	cfg->retransmit_mult = 4;
	/* Suspicion lasts SuspicionMult * log(N) * ProbeInterval at least. */
	cfg->suspicion_mult = 4;
	cfg->suspicion_max_timeout_mult = 6;
	cfg->indirect_checks = 3;
	cfg->awareness_max_multiplier = 8;
	cfg->push_pull_interval_us = 30 * S;
	cfg->tcp_timeout_us = 10 * S;
	cfg->dead_node_reclaim_time_us = 0;
	cfg->udp_buffer_size = SWIM_UDP_BUDGET;
	/*
	 * Not memberlist's (it has no bound): 1,024 items drain in a few
	 * minutes even at 10^6 members (1,024 x 28 transmits at about 100
	 * a second), and a pool up to 10^3 never reaches it. What a drop
	 * would have re-gossiped, push/pull brings, and a node refutes
	 * what others say about itself.
	 */
	cfg->max_queue_depth = SWIM_DEFAULT_QUEUE_DEPTH;
	/* No keyring: packets leave as the core builds them. */
	cfg->is_encrypted = false;
	cfg->enable_compression = true;
	cfg->disable_tcp_pings = false;
	cfg->seed = 1;
}

void
swim_cfg_default_wan(struct swim_cfg *cfg)
{
	swim_cfg_default_lan(cfg);
	cfg->tcp_timeout_us = 30 * S;
	cfg->suspicion_mult = 6;
	cfg->push_pull_interval_us = 60 * S;
	cfg->probe_timeout_us = 3 * S;
	cfg->probe_interval_us = 5 * S;
	cfg->gossip_nodes = 4;
	cfg->gossip_interval_us = 500 * MS;
	cfg->gossip_to_the_dead_time_us = 60 * S;
}

void
swim_cfg_default_local(struct swim_cfg *cfg)
{
	swim_cfg_default_lan(cfg);
	cfg->tcp_timeout_us = 1 * S;
	cfg->indirect_checks = 1;
	cfg->retransmit_mult = 2;
	cfg->suspicion_mult = 3;
	cfg->push_pull_interval_us = 15 * S;
	cfg->probe_timeout_us = 200 * MS;
	cfg->probe_interval_us = 1 * S;
	cfg->gossip_interval_us = 100 * MS;
	cfg->gossip_to_the_dead_time_us = 15 * S;
}

int
swim_cfg_default_profile(struct swim_cfg *cfg, const char *profile)
{
	if (strcmp(profile, "lan") == 0)
		swim_cfg_default_lan(cfg);
	else if (strcmp(profile, "wan") == 0)
		swim_cfg_default_wan(cfg);
	else if (strcmp(profile, "local") == 0)
		swim_cfg_default_local(cfg);
	else
		return -1;
	return 0;
}
