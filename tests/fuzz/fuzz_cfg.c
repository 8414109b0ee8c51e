/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for gossipd's config-file parser (control/cp_cfg_json.c
 * through cp_cfg_load_json, and cp_cfg_finish after it): arbitrary bytes
 * as a JSON config over the defaults. Invariants: a result is 0 or
 * -EINVAL; an error fills a NUL-terminated line; on success every count
 * is within its array and every string field is NUL-terminated in its
 * buffer. Crashes, sanitizer reports and __builtin_trap() are findings.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_cfg
 *   ./build-fuzz/tests/fuzz/fuzz_cfg -max_total_time=60 tests/fuzz/corpus/cfg
 */
#include "cp_cfg.h"

#include <errno.h>
#include <string.h>

#include "fuzz_check.h"

#define FUZZ_TERMINATED(field) \
	FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

static struct cp_cfg cfg;
static char err[1024];

static void
fuzz_check_cfg(const struct cp_cfg *c)
{
	FUZZ_CHECK(c->nb_join <= CP_SEEDS_MAX && c->nb_join <= c->nb_join_seeds);
	FUZZ_CHECK(c->nb_retry_join <= c->nb_retry_seeds &&
		   c->nb_retry_seeds <= CP_SEEDS_MAX);
	FUZZ_CHECK(c->nb_tags <= CP_TAGS_MAX);
	FUZZ_CHECK(c->nb_event_handlers <= CP_HANDLERS_MAX);
	FUZZ_TERMINATED(c->name);
	FUZZ_TERMINATED(c->tags_file);
	FUZZ_TERMINATED(c->rpc_auth);
	FUZZ_TERMINATED(c->encrypt);
	FUZZ_TERMINATED(c->snapshot_path);
	FUZZ_TERMINATED(c->statsd_addr);
	FUZZ_TERMINATED(c->metrics_addr);
	for (unsigned i = 0; i < c->nb_tags; i++) {
		FUZZ_TERMINATED(c->tags[i].key);
		FUZZ_CHECK(c->tags[i].key[0] != '\0');
	}
	for (unsigned i = 0; i < c->nb_event_handlers; i++)
		FUZZ_TERMINATED(c->event_handlers[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc;

	cp_cfg_default(&cfg);
	err[0] = '\0';
	rc = cp_cfg_load_json(&cfg, "fuzz", (const char *)data, size, err,
			      sizeof(err));
	if (rc == 0)
		rc = cp_cfg_finish(&cfg, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0)
		FUZZ_CHECK(err[0] != '\0');
	else
		fuzz_check_cfg(&cfg);
	return 0;
}
