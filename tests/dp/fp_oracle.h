/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Differential oracles for the dataplane's ping fast path, shared by the
 * Criterion test (tests/dp/test_fp_diff.c) and the fuzz target
 * (tests/fuzz/fuzz_ping.c). Each check runs the code under test and its
 * references on one input and returns NULL when they agree, else a line
 * saying what differs (in a static buffer, overwritten by the next check).
 *
 * The references:
 *  - swim_wire_match_ping: its header promises "same contract and results
 *    as swim_wire_find_ping", so the return code and every field (slices
 *    by pointer and length) must be find_ping's, errors included; and
 *    both must agree with a full swim_wire_decode_packet walk (scratch
 *    NULL, so nothing inside compression is visited, as find_ping does
 *    not look there): a ping for us is found iff the walk visits one, and
 *    it is the first such ping the walk visits.
 *  - dp_fp_process: its verdict from find_ping's answer and the outer
 *    message type; its ack from the general encoders on a piggyback split
 *    done here, its destination from wire.md 5.1.
 *  - dp_fp_build_ack: byte for byte the general encoders' ack, and
 *    ack_sum the byte-at-a-time RFC 1071 sum of it.
 */
#ifndef FP_ORACLE_H_INCLUDED
#define FP_ORACLE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "dp_fastpath.h"
#include "oracle_util.h"


/** The ack to seq_no for fp's snapshot, from the general encoders. */
int fpo_ref_ack(const struct dp_fp *fp, uint32_t seq_no, uint8_t *out,
		size_t cap);

/** swim_wire_match_ping against find_ping and the packet walk. */
const char *fpo_check_match(const uint8_t *buf, size_t len, const char *name,
			    size_t name_len);

/** dp_fp_process and dp_fp_match on buf against their references (the
 * datagram's source is fixed inside). */
const char *fpo_check_process(struct dp_fp *fp, const uint8_t *buf,
			      size_t len);

/** dp_fp_build_ack(seq_no) against the general encoders and oracle_sum. */
const char *fpo_check_ack(struct dp_fp *fp, uint32_t seq_no);

#endif /* FP_ORACLE_H_INCLUDED */
