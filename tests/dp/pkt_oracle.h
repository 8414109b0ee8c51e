/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Differential oracles for dp_pkt's frame parse and UDP reply builders,
 * shared by tests/dp/test_pkt_diff.c and tests/fuzz/fuzz_pkt.c. Each
 * check returns NULL when the code agrees with its reference, else a line
 * saying what differs (a static buffer, overwritten by the next check).
 *
 * The references are written from dp_pkt.h and the RFCs, plain and slow:
 * a parser that takes the checks in the order the drop reasons are listed
 * (RFC 1812 5.2.2 for IPv4), an RFC 1071 sum a byte at a time, and a
 * reply frame laid out field by field. Frames handed to the checks should
 * sit in buffers of exactly their length, so ASan sees any overread.
 */
#ifndef PKT_ORACLE_H_INCLUDED
#define PKT_ORACLE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_pkt.h"
#include "oracle_util.h"


/**
 * Write a valid IPv4/UDP frame to self from the peer described by h
 * (h->dst_* are ignored: self is the destination) with nb_opt 32-bit
 * words of IPv4 options, the payload, pad bytes of Ethernet padding and
 * the UDP checksum (or 0 when no_csum). @retval frame length
 */
size_t pko_frame(uint8_t *out, const struct dp_pkt_self *self,
		 const struct dp_udp4_hdrs *peer, unsigned nb_opt,
		 const uint8_t *payload, size_t len, size_t pad, bool no_csum);

/**
 * Recompute the IPv4 header and UDP checksums of a frame in place, when
 * its headers are long enough to hold them: lets mutated frames reach the
 * checks behind the checksums. The UDP one is left 0 if it was 0.
 */
void pko_fix_sums(uint8_t *frame, size_t len);

/** dp_pkt_parse against the reference parser; *v gets dp_pkt_parse's view. */
const char *pko_check_parse(const uint8_t *frame, size_t len,
			    const struct dp_pkt_self *self,
			    struct dp_pkt_view *v);

/**
 * Answer a UDP_US frame (its view v) with payload, each way on its own
 * copy of the frame in a buffer of exactly max(frame, reply) bytes:
 * dp_pkt_build_udp4 from self to the sender, and as the DPDK lcore
 * writes its ack, the payload at DP_UDP4_PAYLOAD_OFF over the frame and
 * dp_pkt_udp4_hdrs_tmpl around it (given *psum as the payload's sum, or
 * oracle_sum's when psum is NULL); then the template alone in a clean buffer
 * of exactly the reply's length. Each must give the reference reply frame,
 * which the peer then parses as UDP_US with that payload. With payload
 * NULL the frame's own payload is sent back from inside the frame (plen is
 * then ignored).
 */
const char *pko_check_reply(const uint8_t *frame, size_t len,
			    const struct dp_pkt_self *self,
			    const struct dp_pkt_view *v,
			    const uint8_t *payload, size_t plen,
			    const uint32_t *psum);

/**
 * The error returns of dp_pkt_build_udp4 and dp_pkt_udp4_hdrs_tmpl over
 * the frame: -ENOSPC a byte short of room (and the frame length with just
 * the room), -EMSGSIZE for a 65508-byte payload and not for 65507.
 */
const char *pko_check_reply_errors(const uint8_t *frame, size_t len,
				   const struct dp_pkt_self *self,
				   const struct dp_pkt_view *v);

#endif /* PKT_ORACLE_H_INCLUDED */
