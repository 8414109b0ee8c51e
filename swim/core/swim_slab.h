/**
 * @file
 * A size-class allocator for the member tables' small records (members,
 * Meta): sizes rounded up to 8 bytes, no per-record header, carved from
 * 256 KiB chunks, freed records kept on a free list per size for reuse.
 * Against malloc this saves its 8-byte header and 16-byte rounding per
 * record (a 21-byte name and 30 bytes of Meta cost 96 + 32 bytes, not
 * 112 + 48), and keeps the table's records together, away from the
 * short-lived broadcast buffers of a join, so those pages can go back.
 * Chunks are returned only by swim_slab_destroy. One owner, one thread.
 */
#ifndef SWIM_SLAB_H_INCLUDED
#define SWIM_SLAB_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/** Largest record; larger requests fail (Meta is at most 512 bytes). */
#define SWIM_SLAB_MAX 1024
#define SWIM_SLAB_CHUNK (256u * 1024)

struct swim_slab_chunk;

struct swim_slab {
	void *free[SWIM_SLAB_MAX / 8];		/* by size class */
	struct swim_slab_chunk *chunks;
	uint8_t *bump;				/* in the newest chunk */
	size_t left;				/* bytes after bump */
	size_t bytes;				/* chunk bytes held */
};

void swim_slab_init(struct swim_slab *sl);
void swim_slab_destroy(struct swim_slab *sl);

/** size bytes, zeroed. @retval NULL (0, > SWIM_SLAB_MAX, out of memory). */
void *swim_slab_alloc(struct swim_slab *sl, size_t size);
/** Give back p, which swim_slab_alloc returned for the same size. */
void swim_slab_free(struct swim_slab *sl, void *p, size_t size);

#endif /* SWIM_SLAB_H_INCLUDED */
