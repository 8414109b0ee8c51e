/* SPDX-License-Identifier: MIT */
/*
 * gossip-swarm: N virtual members joined to a real memberlist/Serf pool,
 * in one process (issue 10). The main thread runs the UDP loop and the
 * timers; swarm_tcp.c runs the streams and the joiner. See --help.
 */
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serf_msg.h"
#include "swarm_int.h"
#ifdef SWARM_HAVE_DPDK
#include "swarm_dpdk.h"
#endif
#include "swim_crypto.h"

#define SWARM_KEYRING_FILE_MAX 65536

static volatile sig_atomic_t swarm_signalled;

static void
swarm_on_signal(int sig)
{
	(void)sig;
	swarm_signalled = 1;
}

static int
swarm_signals_init(void)
{
	struct sigaction sa = { .sa_handler = swarm_on_signal };

	sigemptyset(&sa.sa_mask);
	signal(SIGPIPE, SIG_IGN);
	return sigaction(SIGINT, &sa, NULL) | sigaction(SIGTERM, &sa, NULL);
}

/* Every member carries the same tags: one Meta blob. */
static int
swarm_meta_init(struct swarm *sw)
{
	struct serf_tag tags[SWARM_TAG_MAX];
	int n;

	for (unsigned k = 0; k < sw->cfg.nb_tags; k++) {
		const char *t = sw->cfg.tags[k], *eq = strchr(t, '=');

		tags[k] = (struct serf_tag){ t, eq + 1, (uint32_t)(eq - t),
					     (uint32_t)strlen(eq + 1) };
	}
	n = serf_msg_encode_tags(tags, sw->cfg.nb_tags, sw->meta,
				 sizeof(sw->meta));
	if (n < 0) {
		fprintf(stderr, "gossip-swarm: --tag: tags exceed %d bytes\n",
			SWIM_META_MAX);
		return -1;
	}
	sw->meta_len = (uint32_t)n;
	return 0;
}

static int
swarm_keyring_file(struct swarm *sw, const char *path)
{
	static char text[SWARM_KEYRING_FILE_MAX];
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL) {
		fprintf(stderr, "gossip-swarm: --keyring-file %s: cannot "
			"open\n", path);
		return -1;
	}
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	return swim_keyring_add_json(sw->ring, text, len) > 0 ? 0 : -1;
}

static int
swarm_crypto_init(struct swarm *sw)
{
	int rc = 0;

	if (sw->cfg.encrypt == NULL && sw->cfg.keyring_file == NULL)
		return 0;
	if (sodium_init() < 0)
		return -1;
	sw->ring = swim_keyring_new(&rc);
	if (sw->ring == NULL) {
		fprintf(stderr, "gossip-swarm: keyring: %s\n",
			swim_crypto_strerror(rc));
		return -1;
	}
	if (sw->cfg.keyring_file != NULL)
		return swarm_keyring_file(sw, sw->cfg.keyring_file);
	rc = swim_keyring_add_base64(sw->ring, sw->cfg.encrypt,
				     strlen(sw->cfg.encrypt));
	if (rc != 0)
		fprintf(stderr, "gossip-swarm: --encrypt: %s\n",
			swim_crypto_strerror(rc));
	return rc;
}

static int
swarm_mem_init(struct swarm *sw)
{
	sw->m = calloc(sw->cfg.members, sizeof(*sw->m));
	sw->pend = calloc(SWARM_PEND_SIZE, sizeof(*sw->pend));
	sw->bq = calloc(SWARM_BQ_SIZE, sizeof(*sw->bq));
	sw->tx = calloc(SWARM_BURST, sizeof(*sw->tx));
	sw->rx = malloc((size_t)SWARM_BURST * SWIM_UDP_MAX);
	sw->plain = malloc(SWIM_UDP_MAX);
	if (sw->m == NULL || sw->pend == NULL || sw->bq == NULL ||
	    sw->tx == NULL || sw->rx == NULL || sw->plain == NULL) {
		fprintf(stderr, "gossip-swarm: out of memory\n");
		return -1;
	}
	return 0;
}

static int
swarm_init(struct swarm *sw)
{
	swarm_map_init(&sw->map, sw->cfg.name_prefix, sw->cfg.net,
		       sw->cfg.plen, sw->cfg.members);
	pthread_mutex_init(&sw->lock, NULL);
	sw->rng = sw->cfg.seed * 0x9e3779b97f4a7c15ull + 1;
	sw->ltime = 1;
	sw->t0 = swarm_clock_us();
	sw->next_progress = 1000000;
	sw->tcp_fd = -1;
	if (swarm_mem_init(sw) != 0 || swarm_delta_init(sw) != 0 ||
	    swarm_meta_init(sw) != 0 ||
	    swarm_crypto_init(sw) != 0 || swarm_signals_init() != 0 ||
	    swarm_udp_open(sw) != 0)
		return -1;
	return swarm_tcp_start(sw);
}

/* One turn of timers; @retval true when the run is over. */
static bool
swarm_turn(struct swarm *sw)
{
	bool over = false;

	pthread_mutex_lock(&sw->lock);
	sw->now = swarm_clock_us() - sw->t0;
	if (swarm_signalled ||
	    (sw->cfg.duration_s > 0 && sw->now >= sw->cfg.duration_s * 1e6))
		atomic_store(&sw->stop, true);
	swarm_probe_tick(sw);
	swarm_scenario_tick(sw);
	swarm_gossip_tick(sw);
	swarm_query_tick(sw);
	if (atomic_load(&sw->stop))
		over = sw->cfg.no_leave || sw->nb_real == 0 ||
		       swarm_leave_tick(sw);
	swarm_progress(sw);
	swarm_flush(sw);
	pthread_mutex_unlock(&sw->lock);
	return over;
}

static void
swarm_summary(struct swarm *sw)
{
	fprintf(stderr, "gossip-swarm: %u members, %u joined in %.2f s, %u "
		"real nodes, %u failures injected, false positives %" PRIu64
		", %zu bytes per member\n", sw->cfg.members, sw->n_joined,
		sw->t_join_done / 1e6, sw->nb_real, sw->nb_fails,
		sw->st.fp_suspect + sw->st.fp_dead,
		sizeof(struct swarm_member));
	if (sw->cfg.json != NULL && swarm_json(sw, sw->cfg.json) != 0)
		fprintf(stderr, "gossip-swarm: cannot write %s\n",
			sw->cfg.json);
}

/* --dataplane dpdk: the line-rate mode (swarm_dpdk.h), UDP only. */
static int
swarm_main_dpdk(const struct swarm_cfg *cfg)
{
#ifdef SWARM_HAVE_DPDK
	if (cfg->nb_join > 0 || cfg->encrypt != NULL ||
	    cfg->keyring_file != NULL) {
		fprintf(stderr, "gossip-swarm: --dataplane dpdk is the "
			"line-rate mode (ping/ack over the port, no TCP): "
			"--join, --encrypt and --keyring-file need --dataplane "
			"socket\n");
		return SWARM_EXIT_USAGE;
	}
	return swarm_dpdk_main(cfg);
#else
	(void)cfg;
	fprintf(stderr, "gossip-swarm: --dataplane dpdk is not available in "
		"this build (no libdpdk); use --dataplane socket\n");
	return SWARM_EXIT_USAGE;
#endif
}

int
main(int argc, char **argv)
{
	static struct swarm sw;
	char err[256];
	bool done;
	int rc;

	swarm_cfg_default(&sw.cfg);
	rc = swarm_cfg_parse(&sw.cfg, argc, argv, err, sizeof(err), &done);
	if (rc != 0) {
		fprintf(stderr, "gossip-swarm: %s (try --help)\n", err);
		return SWARM_EXIT_USAGE;
	}
	if (done)
		return SWARM_EXIT_OK;
	if (sw.cfg.dataplane == SWARM_DP_DPDK)
		return swarm_main_dpdk(&sw.cfg);
	if (sw.cfg.flood_ip != 0)
		return swarm_flood_main(&sw.cfg);
	if (swarm_init(&sw) != 0) {
		swarm_tcp_stop(&sw);
		return SWARM_EXIT_FAIL;
	}
	while (!swarm_turn(&sw))
		swarm_udp_poll(&sw, 5);
	swarm_tcp_stop(&sw);
	pthread_mutex_lock(&sw.lock);
	swarm_summary(&sw);
	pthread_mutex_unlock(&sw.lock);
	swim_keyring_delete(sw.ring);
	return SWARM_EXIT_OK;
}
