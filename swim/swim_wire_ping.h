/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The dataplane's ping recognizer: swim_wire_find_ping's answer for the
 * packets real peers send, at a small fraction of its cost.
 *
 * go-msgpack writes a ping as a fixmap of up to five fixstr keys with
 * canonical values (wire.md 2 and 5.1). swim_wire_match_ping reads that
 * layout in one bounds-checked pass, in a bare ping or in the ping parts
 * of a compound, and hands every other packet, and every layout it is not
 * sure of, to the general swim_wire_find_ping. So its results and error
 * codes are the general function's by construction (tests/dp/
 * test_dp_fp_match.c checks it on every golden capture and on mutations).
 */
#ifndef SWIM_WIRE_PING_H_INCLUDED
#define SWIM_WIRE_PING_H_INCLUDED

#include "swim_wire.h"

/**
 * Find a ping addressed to name (or to anyone: an empty Node) in a UDP
 * packet: same contract and results as swim_wire_find_ping.
 * @retval 1 found (*ping filled, slices into buf), 0 none, < 0 malformed
 */
int swim_wire_match_ping(const uint8_t *buf, size_t len, const char *name,
			 size_t name_len, struct swim_ping *ping);

#endif /* SWIM_WIRE_PING_H_INCLUDED */
