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

#include <stdbool.h>

#include "swim_wire.h"

/**
 * Find a ping addressed to name (or to anyone: an empty Node) in a UDP
 * packet: same contract and results as swim_wire_find_ping.
 * @retval 1 found (*ping filled, slices into buf), 0 none, < 0 malformed
 */
int swim_wire_match_ping(const uint8_t *buf, size_t len, const char *name,
			 size_t name_len, struct swim_ping *ping);

/** Longest prefix a swim_ping_pat holds: map and Node key, str16 header,
 * a name, the SeqNo key. */
#define SWIM_PING_PAT_MAX (2 + 5 + 3 + SWIM_NAME_MAX + 6)

/**
 * The bytes every go-msgpack ping to one name starts with, up to its
 * SeqNo's value: 00 85 a4"Node" <name as str> a5"SeqNo". Built once per
 * name, so the usual probe's first 24 or so bytes are a few word compares.
 */
struct swim_ping_pat {
	uint16_t len;		/* bytes in prefix; 0: matches nothing */
	uint16_t name_off;	/* where the name's bytes start */
	uint32_t name_len;
	uint8_t prefix[SWIM_PING_PAT_MAX];
};

/** Build pat for name (name_len 0 or too long: a pattern that matches
 * nothing). */
void swim_ping_pat_init(struct swim_ping_pat *pat, const char *name,
			size_t name_len);

/**
 * The usual ping to pat's name, a bare one with all five keys in
 * go-msgpack's order, read in one straight pass.
 * @retval true  swim_wire_match_ping would return 1 with this *ping
 * @retval false not sure: ask swim_wire_match_ping (*ping is scratch)
 */
bool swim_wire_match_ping_pat(const uint8_t *buf, size_t len,
			      const struct swim_ping_pat *pat,
			      struct swim_ping *ping);

#endif /* SWIM_WIRE_PING_H_INCLUDED */
