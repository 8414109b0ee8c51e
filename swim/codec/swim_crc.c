/* SPDX-License-Identifier: MIT */
/*
 * CRC-32/IEEE (reflected, poly 0xEDB88320), zlib's crc32 and Go's
 * crc32.ChecksumIEEE, which memberlist's hasCrcMsg (type 12) carries.
 * Pure: a constant table, no state.
 */
#include "swim_wire.h"

/* One table entry: the CRC of byte i shifted through 8 rounds. */
#define SWIM_CRC_R(c) (((c) >> 1) ^ (((c) & 1u) ? 0xEDB88320u : 0u))
#define SWIM_CRC_E(i)                                                      \
	SWIM_CRC_R(SWIM_CRC_R(SWIM_CRC_R(SWIM_CRC_R(                           \
		SWIM_CRC_R(SWIM_CRC_R(SWIM_CRC_R(SWIM_CRC_R((uint32_t)(i)))))))))
#define SWIM_CRC_E4(i)                                                     \
	SWIM_CRC_E(i), SWIM_CRC_E(i + 1), SWIM_CRC_E(i + 2), SWIM_CRC_E(i + 3)
#define SWIM_CRC_E16(i)                                                    \
	SWIM_CRC_E4(i), SWIM_CRC_E4(i + 4), SWIM_CRC_E4(i + 8),            \
		SWIM_CRC_E4(i + 12)
#define SWIM_CRC_E64(i)                                                    \
	SWIM_CRC_E16(i), SWIM_CRC_E16(i + 16), SWIM_CRC_E16(i + 32),       \
		SWIM_CRC_E16(i + 48)

/* Computed at compile time so there is no init step and no shared state. */
static const uint32_t swim_crc_table[256] = {
	SWIM_CRC_E64(0), SWIM_CRC_E64(64), SWIM_CRC_E64(128),
	SWIM_CRC_E64(192),
};

uint32_t
swim_crc32(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++)
		crc = swim_crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}
