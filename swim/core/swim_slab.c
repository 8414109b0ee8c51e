/*
 * Size-class slab: a bump pointer over 256 KiB chunks shared by every
 * class, and an intrusive free list per class (a freed record holds the
 * next free one in its first 8 bytes).
 */
#include "swim_slab.h"

#include <stdlib.h>
#include <string.h>

struct swim_slab_chunk {
	struct swim_slab_chunk *next;
	/* records follow, 8-aligned */
};

static size_t
swim_slab_round(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

void
swim_slab_init(struct swim_slab *sl)
{
	memset(sl, 0, sizeof(*sl));
}

void
swim_slab_destroy(struct swim_slab *sl)
{
	struct swim_slab_chunk *c = sl->chunks;

	while (c != NULL) {
		struct swim_slab_chunk *next = c->next;
		free(c);
		c = next;
	}
	memset(sl, 0, sizeof(*sl));
}

static int
swim_slab_grow(struct swim_slab *sl)
{
	struct swim_slab_chunk *c = malloc(SWIM_SLAB_CHUNK);

	if (c == NULL)
		return -1;
	c->next = sl->chunks;
	sl->chunks = c;
	sl->bump = (uint8_t *)c + sizeof(*c);
	sl->left = SWIM_SLAB_CHUNK - sizeof(*c);
	sl->bytes += SWIM_SLAB_CHUNK;
	return 0;
}

void *
swim_slab_alloc(struct swim_slab *sl, size_t size)
{
	if (size == 0 || size > SWIM_SLAB_MAX)
		return NULL;
	size = swim_slab_round(size);
	void **head = &sl->free[size / 8 - 1];
	void *p = *head;
	if (p != NULL) {
		memcpy(head, p, sizeof(void *));
	} else {
		/* The tail of a chunk too short for this size is left unused. */
		if (sl->left < size && swim_slab_grow(sl) != 0)
			return NULL;
		p = sl->bump;
		sl->bump += size;
		sl->left -= size;
	}
	memset(p, 0, size);
	return p;
}

void
swim_slab_free(struct swim_slab *sl, void *p, size_t size)
{
	if (p == NULL || size == 0 || size > SWIM_SLAB_MAX)
		return;
	size = swim_slab_round(size);
	void **head = &sl->free[size / 8 - 1];
	memcpy(p, head, sizeof(void *));
	*head = p;
}
