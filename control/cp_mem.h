/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The heap's shape for a long-lived daemon that idles most of the time
 * (glibc's malloc; other allocators keep their defaults).
 *
 * With glibc's defaults a buffer of a few hundred KiB that an exchange
 * allocates and frees every few seconds walks the heap top up and down:
 * free trims the top once it is more than twice the (dynamic) mmap
 * threshold, the next malloc moves it back with brk, and every page of
 * it faults in again (about 13 us a fault on a paravirtualised VM, more
 * than the exchange's own work). Fixed thresholds, set once at start,
 * keep that memory in the heap and resident between uses: a few MiB at
 * most, against the daemon's usual 10.
 */
#ifndef CP_MEM_H_INCLUDED
#define CP_MEM_H_INCLUDED

/** Blocks below this come from the heap and are reused after free;
 * larger ones (whole-state buffers of huge clusters) are mmapped and
 * given back at free, as before. */
#define CP_MEM_MMAP_THRESHOLD (2u << 20)
/** Free memory at the heap top kept, not trimmed. */
#define CP_MEM_TRIM_THRESHOLD (4u << 20)
/** Extra taken by each brk that grows the heap, so growth is rare. */
#define CP_MEM_TOP_PAD (512u << 10)

/**
 * Set the three (mallopt), once, before anything allocates much; this
 * also turns off glibc's dynamic mmap threshold, whose raises are what
 * made the trim threshold move.
 * @retval 0, or -ENOTSUP when the allocator refused one (a sanitizer's,
 *         or not glibc): harmless, the defaults stay.
 */
int cp_mem_init(void);

#endif /* CP_MEM_H_INCLUDED */
