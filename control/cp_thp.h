/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The member tables on transparent huge pages once they are large
 * (issue 11: idle CPU at 10^6 members within 2x of 10^3).
 *
 * Why: a wakeup of a process costs more the more 4 KiB pages it has
 * mapped. On this paravirtualised VM the cost is about 1 us per MiB per
 * wakeup (a process asleep in epoll_wait five times a second: 65 us a
 * wakeup with 1 MiB resident, 270 us with 200 MiB, 940 us with 1 GiB;
 * 65 us with the same 200 MiB on 2 MiB pages), spent outside the guest
 * (perf puts it on the instruction after the syscall). At 10^6 members
 * (190 MiB) gossipd's five idle wakeups a second cost 1.5 ms/s against
 * 0.7 at 10^3. On bare metal the same tables, read at random (a probe
 * target, a name lookup), cost a TLB miss per member touched, which
 * 2 MiB pages mostly remove.
 *
 * What: when the kernel's THP mode is "madvise" (the usual default; in
 * "always" the kernel does this unasked, in "never" nothing can) and
 * malloc's heap has grown past CP_THP_HEAP_MIN, control raises malloc's
 * mmap threshold to its maximum, so the tables' big arrays come from
 * the heap too, and marks the heap MADV_HUGEPAGE; again each time the
 * heap has grown by CP_THP_STEP since (a brk that grows the heap makes
 * a new mapping without the mark). Pages faulted after the mark come as
 * huge pages; khugepaged collapses the ones faulted before, in the
 * background (MADV_COLLAPSE would do it on the control thread: about
 * 4 ms per 2 MiB here). Below CP_THP_HEAP_MIN nothing changes: a small
 * node would round its heap up to 2 MiB pages for no gain.
 *
 * Process-wide state (there is one heap); control thread only. Under a
 * sanitizer's allocator (no brk heap) it never triggers.
 */
#ifndef CP_THP_H_INCLUDED
#define CP_THP_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

/** Heap size from which it is asked for: about 3 x 10^5 members; the
 * rounding to 2 MiB pages is then under 3 %. */
#define CP_THP_HEAP_MIN (64u << 20)
/** Growth after which the heap is marked again (one madvise call). */
#define CP_THP_STEP (4u << 20)
/** A huge page (x86-64's PMD size); marks end on its boundaries. */
#define CP_THP_PAGE ((uintptr_t)2 << 20)
/** malloc's largest mmap threshold (glibc: half its arena heap size). */
#define CP_THP_MMAP_THRESHOLD (32u << 20)
/** Set to "0" in gossipd's environment, it keeps 4 KiB pages (for an
 * A/B measurement, or a host where huge pages are scarce). */
#define CP_THP_ENV "GOSSIPD_THP"
/** The kernel's THP mode, as sysfs shows it. */
#define CP_THP_SYSFS "/sys/kernel/mm/transparent_hugepage/enabled"

/** The kernel's THP modes. */
enum cp_thp_mode {
	CP_THP_MODE_ALWAYS,	/* every large mapping already gets them */
	CP_THP_MODE_MADVISE,	/* only mappings marked MADV_HUGEPAGE */
	CP_THP_MODE_NEVER,	/* none: nothing to ask */
	CP_THP_MODE_COUNT
};

/** The mode names, as sysfs spells them. */
extern const char *const cp_thp_mode_str[CP_THP_MODE_COUNT];

/**
 * The selected mode of a sysfs "enabled" text ("always [madvise] never").
 * @retval the mode, or -EINVAL when no known mode is selected.
 */
int cp_thp_mode_parse(const char *text);

/**
 * The range to mark: [*from, *to) inside [lo, top), from lo's page to
 * top's CP_THP_PAGE boundary, when the heap [lo, top) is at least
 * min_bytes and that boundary is step bytes past marked_to (0: never
 * marked). Pure.
 * @retval true when there is a range to mark now.
 */
bool cp_thp_range(uintptr_t lo, uintptr_t top, uintptr_t marked_to,
		  uintptr_t min_bytes, uintptr_t step, uintptr_t *from,
		  uintptr_t *to);

/**
 * Read the mode from sysfs_path (CP_THP_SYSFS) and note where the heap
 * starts. Call once, early in main.
 * @retval 0 when it will act (mode madvise), -ENOTSUP when it will not
 *         (another mode, no brk heap, CP_THP_ENV=0), -ENOENT when sysfs_path
 *         cannot be read, -EINVAL when its text has no mode.
 */
int cp_thp_init(const char *sysfs_path);

/**
 * Mark the heap if it is large enough and grew a step since last time.
 * O(1) and no system call otherwise; call once per loop iteration.
 * @retval true when it marked something in this call.
 */
bool cp_thp_tick(void);

/** How many times the heap was marked (0: never large enough). */
uint64_t cp_thp_nb_marked(void);

#endif /* CP_THP_H_INCLUDED */
