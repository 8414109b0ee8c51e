/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Seeded generation and mutation of UDP packets holding pings, for the
 * fast path's differential test (tests/dp/test_fp_diff.c).
 *
 * Packets start valid: pings written by swim_wire_encode_msg (what Go
 * sends) or by a writer of legal-but-unusual msgpack (any key order,
 * map16/32, str8/16/32, bin, wide and signed ints, nil, unknown and
 * repeated keys), bare or in compounds next to other messages, maybe
 * nested, CRC-wrapped, compressed or behind a label header. The mutator
 * then flips, sets, inserts, deletes and cuts bytes.
 */
#ifndef FP_GEN_H_INCLUDED
#define FP_GEN_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/** xorshift64*: the same sequence on every machine for a seed. */
struct fpg_rng {
	uint64_t s;
};

void fpg_seed(struct fpg_rng *r, uint64_t seed);
uint64_t fpg_next(struct fpg_rng *r);
/** Uniform in [0, n), n > 0. */
uint32_t fpg_below(struct fpg_rng *r, uint32_t n);

/** A SeqNo of a random msgpack width (fixint, uint8/16/32), edges often. */
uint32_t fpg_seq(struct fpg_rng *r);

/**
 * A random valid packet with one or more pings, most for name.
 * cap must be at least FPG_PKT_MAX. @retval bytes written
 */
#define FPG_PKT_MAX 8192
size_t fpg_packet(struct fpg_rng *r, const char *name, uint8_t *out,
		  size_t cap);

/** 1 to 4 random edits of buf (len bytes, room for cap). @retval new len */
size_t fpg_mutate(struct fpg_rng *r, uint8_t *buf, size_t len, size_t cap);

/** If buf is CRC-wrapped (type 12), make its CRC right again. */
void fpg_fix_crc(uint8_t *buf, size_t len);

#endif /* FP_GEN_H_INCLUDED */
