/* SPDX-License-Identifier: MIT */
/*
 * The core both scale tests (test_core_scale, test_serf_scale) build:
 * "self" on 127.0.0.1:7946 with LAN defaults and their protocol versions.
 * Header only, as test_core_util.h.
 */
#ifndef SCALE_UTIL_H_INCLUDED
#define SCALE_UTIL_H_INCLUDED

#include <stdio.h>
#include <string.h>

#include "swim.h"
#include "swim_wire.h"

#define S 1000000ull

static const uint8_t scale_vsn[SWIM_VSN_LEN] = { 1, 5, 2, 2, 5, 4 };

static inline void
scale_swim_cfg(struct swim_cfg *cfg)
{
	swim_cfg_default_lan(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "self");
	cfg->addr = (struct swim_addr){ .ip = { 127, 0, 0, 1 }, .ip_len = 4,
					.port = 7946 };
	memcpy(cfg->vsn, scale_vsn, sizeof(scale_vsn));
}

#endif /* SCALE_UTIL_H_INCLUDED */
