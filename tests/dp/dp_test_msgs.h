/* SPDX-License-Identifier: MIT */
/*
 * The memberlist messages the socket dataplane's tests send and expect
 * (test_dp_socket.c, test_dp_crypt.c, test_dp_idle.c). Header only, data
 * only.
 */
#ifndef DP_TEST_MSGS_H_INCLUDED
#define DP_TEST_MSGS_H_INCLUDED

#include <stdint.h>

/* ping {Node "me", SeqNo 42}: the fast path answers it. */
static const uint8_t ping_me[] = {
	0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e', 0xa2, 'm', 'e',
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x2a,
};

/* ack {Payload nil, SeqNo 42}: the fast path's answer to ping_me. */
static const uint8_t ack_42[] = {
	0x02, 0x82, 0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd', 0xc0,
	0xa5, 'S', 'e', 'q', 'N', 'o', 0x2a,
};

/* suspect {From "b", Incarnation 1, Node "c"}: always for control. */
static const uint8_t suspect_c[] = {
	0x03, 0x83, 0xa4, 'F', 'r', 'o', 'm', 0xa1, 'b',
	0xab, 'I', 'n', 'c', 'a', 'r', 'n', 'a', 't', 'i', 'o', 'n', 0x01,
	0xa4, 'N', 'o', 'd', 'e', 0xa1, 'c',
};

#endif /* DP_TEST_MSGS_H_INCLUDED */
