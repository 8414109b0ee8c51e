/* SPDX-License-Identifier: MIT */
/*
 * serf's snapshot file (cp_cfg_snap.h): replay at open, append while
 * running, compact when it grows. The alive members are kept sorted by
 * name so a sweep looks each one up by binary search.
 */
#include "cp_cfg_snap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* serf's snapshotSizeLimit and snapshotBytesPerNode x threshold. */
#define CP_SNAP_MIN_COMPACT (128u * 1024)
#define CP_SNAP_BYTES_PER_NODE 256u
/* Longest line we replay; longer ones are skipped. */
#define CP_SNAP_LINE_MAX 512

struct cp_snap {
	FILE *f;			/* append mode */
	char path[CP_PATH_LEN];
	bool rejoin_after_leave;
	bool is_leaving;		/* stop recording */
	uint64_t clock, event_clock, query_clock;
	uint64_t offset;		/* bytes in the file */
	struct cp_snap_node *nodes;	/* sorted by name */
	unsigned nb_nodes, cap_nodes;
};

static int cp_snap_sync(struct cp_snap *s);

/* Binary search: index of name, or where it would go (*found false). */
static unsigned
cp_snap_find(const struct cp_snap *s, const char *name, bool *found)
{
	unsigned lo = 0, hi = s->nb_nodes;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = strcmp(s->nodes[mid].name, name);

		if (c == 0)
			return *found = true, mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Set name -> addr. @retval the entry, or NULL (no memory, too long). */
static struct cp_snap_node *
cp_snap_put(struct cp_snap *s, const char *name, const char *addr)
{
	bool found;
	unsigned i = cp_snap_find(s, name, &found);

	if (strlen(name) > SWIM_NAME_MAX || strlen(addr) >= CP_ADDR_STRLEN)
		return NULL;
	if (!found) {
		if (s->nb_nodes == s->cap_nodes) {
			unsigned cap = s->cap_nodes ? s->cap_nodes * 2 : 64;
			void *p = realloc(s->nodes, cap * sizeof(*s->nodes));

			if (p == NULL)
				return NULL;
			s->nodes = p;
			s->cap_nodes = cap;
		}
		memmove(&s->nodes[i + 1], &s->nodes[i],
			(s->nb_nodes - i) * sizeof(*s->nodes));
		s->nb_nodes++;
		memset(&s->nodes[i], 0, sizeof(s->nodes[i]));
		strcpy(s->nodes[i].name, name);
	}
	snprintf(s->nodes[i].addr, sizeof(s->nodes[i].addr), "%s", addr);
	return &s->nodes[i];
}

static void
cp_snap_del(struct cp_snap *s, unsigned i)
{
	memmove(&s->nodes[i], &s->nodes[i + 1],
		(s->nb_nodes - i - 1) * sizeof(*s->nodes));
	s->nb_nodes--;
}

/* "N" as a clock value; a bad one is skipped, as serf warns and goes on. */
static void
cp_snap_read_u64(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == 0 && *end == '\0')
		*out = n;
}

/* One replayed line (newline removed). */
static void
cp_snap_replay_line(struct cp_snap *s, char *line)
{
	bool found;

	if (strncmp(line, "alive: ", 7) == 0) {
		char *sp = strrchr(line + 7, ' ');

		if (sp == NULL)
			return;
		*sp = '\0';
		cp_snap_put(s, line + 7, sp + 1);
	} else if (strncmp(line, "not-alive: ", 11) == 0) {
		unsigned i = cp_snap_find(s, line + 11, &found);

		if (found)
			cp_snap_del(s, i);
	} else if (strncmp(line, "clock: ", 7) == 0) {
		cp_snap_read_u64(line + 7, &s->clock);
	} else if (strncmp(line, "event-clock: ", 13) == 0) {
		cp_snap_read_u64(line + 13, &s->event_clock);
	} else if (strncmp(line, "query-clock: ", 13) == 0) {
		cp_snap_read_u64(line + 13, &s->query_clock);
	} else if (strcmp(line, "leave") == 0 && !s->rejoin_after_leave) {
		s->nb_nodes = 0;
		s->clock = s->event_clock = s->query_clock = 0;
	}
	/* "#...", "coordinate: ...", unknown lines: ignored, as serf. */
}

static void
cp_snap_replay(struct cp_snap *s, FILE *f)
{
	char line[CP_SNAP_LINE_MAX];

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);

		s->offset += n;
		if (n == 0 || line[n - 1] != '\n') {
			int c;

			/* Too long: skip to its end. A last line without a
			 * newline is dropped, as serf's ReadString does. */
			while ((c = fgetc(f)) != EOF && c != '\n')
				s->offset++;
			s->offset += c == '\n';
			continue;
		}
		line[n - 1] = '\0';
		cp_snap_replay_line(s, line);
	}
}

struct cp_snap *
cp_snap_open(const char *path, bool rejoin_after_leave, char *err,
	     size_t errlen)
{
	struct cp_snap *s = calloc(1, sizeof(*s));
	FILE *r;

	if (s == NULL || strlen(path) >= sizeof(s->path)) {
		free(s);
		snprintf(err, errlen, "snapshot %s: %s", path,
			 strerror(s == NULL ? ENOMEM : ENAMETOOLONG));
		return NULL;
	}
	strcpy(s->path, path);
	s->rejoin_after_leave = rejoin_after_leave;
	s->f = fopen(path, "a");
	r = s->f != NULL ? fopen(path, "r") : NULL;
	if (r == NULL) {
		snprintf(err, errlen, "failed to open snapshot %s: %s", path,
			 strerror(errno));
		cp_snap_close(s);
		return NULL;
	}
	cp_snap_replay(s, r);
	fclose(r);
	return s;
}

/* Rewrite the file with the live state only, through path.compact. */
static int
cp_snap_compact(struct cp_snap *s)
{
	char tmp[CP_PATH_LEN + 16];
	FILE *f;
	uint64_t off = 0;
	int n, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.compact", s->path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	for (unsigned i = 0; i < s->nb_nodes && rc >= 0; i++) {
		rc = fprintf(f, "alive: %s %s\n", s->nodes[i].name,
			     s->nodes[i].addr);
		off += rc > 0 ? (uint64_t)rc : 0;
	}
	n = fprintf(f, "clock: %" PRIu64 "\nevent-clock: %" PRIu64
		    "\nquery-clock: %" PRIu64 "\n", s->clock, s->event_clock,
		    s->query_clock);
	off += n > 0 ? (uint64_t)n : 0;
	if (rc < 0 || n < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	fclose(f);
	fclose(s->f);
	rc = rename(tmp, s->path) != 0 ? -errno : 0;
	s->f = fopen(s->path, "a");
	if (s->f == NULL)
		return -errno;
	if (rc == 0)
		s->offset = off;
	return rc;
}

/* Append one line; compact when the file outgrew the live state. */
static int
cp_snap_append(struct cp_snap *s, const char *line)
{
	uint64_t limit = (uint64_t)s->nb_nodes * CP_SNAP_BYTES_PER_NODE;

	if (s->f == NULL || fputs(line, s->f) < 0)
		return -EIO;
	s->offset += strlen(line);
	if (limit < CP_SNAP_MIN_COMPACT)
		limit = CP_SNAP_MIN_COMPACT;
	return s->offset > limit ? cp_snap_compact(s) : 0;
}

void
cp_snap_sweep_begin(struct cp_snap *s)
{
	for (unsigned i = 0; i < s->nb_nodes; i++)
		s->nodes[i].is_marked = false;
}

int
cp_snap_alive(struct cp_snap *s, const char *name, const char *addr)
{
	char line[CP_SNAP_LINE_MAX];
	bool found;
	unsigned i = cp_snap_find(s, name, &found);
	struct cp_snap_node *n;

	if (s->is_leaving)
		return 0;
	if (found && strcmp(s->nodes[i].addr, addr) == 0) {
		s->nodes[i].is_marked = true;
		return 0;
	}
	n = cp_snap_put(s, name, addr);
	if (n == NULL)
		return -ENOMEM;
	n->is_marked = true;
	snprintf(line, sizeof(line), "alive: %s %s\n", name, addr);
	return cp_snap_append(s, line);
}

int
cp_snap_sweep_end(struct cp_snap *s)
{
	char line[CP_SNAP_LINE_MAX];
	int rc = 0;

	if (s->is_leaving)
		return 0;
	for (unsigned i = s->nb_nodes; i-- > 0;) {
		if (s->nodes[i].is_marked)
			continue;
		snprintf(line, sizeof(line), "not-alive: %s\n",
			 s->nodes[i].name);
		cp_snap_del(s, i);
		if (rc == 0)
			rc = cp_snap_append(s, line);
	}
	return rc;
}

int
cp_snap_clocks(struct cp_snap *s, uint64_t clock, uint64_t event_clock,
	       uint64_t query_clock)
{
	char line[64];
	int rc = 0;

	if (s->is_leaving)
		return 0;
	if (clock > s->clock) {
		s->clock = clock;
		snprintf(line, sizeof(line), "clock: %" PRIu64 "\n", clock);
		rc = cp_snap_append(s, line);
	}
	if (rc == 0 && event_clock > s->event_clock) {
		s->event_clock = event_clock;
		snprintf(line, sizeof(line), "event-clock: %" PRIu64 "\n",
			 event_clock);
		rc = cp_snap_append(s, line);
	}
	if (rc == 0 && query_clock > s->query_clock) {
		s->query_clock = query_clock;
		snprintf(line, sizeof(line), "query-clock: %" PRIu64 "\n",
			 query_clock);
		rc = cp_snap_append(s, line);
	}
	return rc;
}

int
cp_snap_leave(struct cp_snap *s)
{
	int rc;

	if (s->is_leaving)
		return 0;
	if (!s->rejoin_after_leave)
		s->nb_nodes = 0;
	rc = cp_snap_append(s, "leave\n");
	s->is_leaving = true;
	if (rc == 0)
		rc = cp_snap_sync(s);
	return rc;
}

int
cp_snap_flush(struct cp_snap *s)
{
	return s->f == NULL || fflush(s->f) != 0 ? -EIO : 0;
}

/* Flush and fsync: a leave and the close must reach the disk. */
static int
cp_snap_sync(struct cp_snap *s)
{
	if (cp_snap_flush(s) != 0)
		return -EIO;
	return fsync(fileno(s->f)) != 0 ? -errno : 0;
}

void
cp_snap_close(struct cp_snap *s)
{
	if (s == NULL)
		return;
	if (s->f != NULL) {
		cp_snap_sync(s);
		fclose(s->f);
	}
	free(s->nodes);
	free(s);
}

uint64_t
cp_snap_clock(const struct cp_snap *s)
{
	return s->clock;
}

uint64_t
cp_snap_event_clock(const struct cp_snap *s)
{
	return s->event_clock;
}

uint64_t
cp_snap_query_clock(const struct cp_snap *s)
{
	return s->query_clock;
}

const struct cp_snap_node *
cp_snap_nodes(const struct cp_snap *s, unsigned *nb)
{
	*nb = s->nb_nodes;
	return s->nodes;
}

uint64_t
cp_snap_size(const struct cp_snap *s)
{
	return s->offset;
}
