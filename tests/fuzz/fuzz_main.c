/* SPDX-License-Identifier: MIT */
/*
 * A plain main() for the fuzz target, so inputs replay as a regular test
 * with any compiler: runs LLVMFuzzerTestOneInput on each file given, or on
 * each line of a .hex file (tests/data format: hex per line, '#' comments),
 * or on each file of a directory (a libFuzzer corpus in the tree).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[1 << 20];
static char line[(1 << 21) + 2];

/* Each hex line of f as one input. @retval inputs run, or -1. */
static int
fuzz_replay_hex(FILE *f)
{
	int nb = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n"), len = 0;
		unsigned v;

		if (n == 0 || line[0] == '#')
			continue;
		for (size_t i = 0; i + 1 < n && len < sizeof(buf); i += 2) {
			if (sscanf(line + i, "%2x", &v) != 1)
				return -1;
			buf[len++] = (uint8_t)v;
		}
		LLVMFuzzerTestOneInput(buf, len);
		nb++;
	}
	return nb;
}

/* Each regular file of a corpus directory as one input. @retval inputs. */
static int
fuzz_replay_dir(DIR *d, const char *path)
{
	static char name[4096];
	struct dirent *e;
	int nb = 0;

	while ((e = readdir(d)) != NULL) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s/%s", path, e->d_name);
		f = fopen(name, "rb");
		if (f == NULL)
			continue;
		LLVMFuzzerTestOneInput(buf, fread(buf, 1, sizeof(buf), f));
		fclose(f);
		nb++;
	}
	return nb;
}

int
main(int argc, char **argv)
{
	int nb = 0;

	for (int i = 1; i < argc; i++) {
		size_t nlen = strlen(argv[i]);
		DIR *d = opendir(argv[i]);
		FILE *f;

		if (d != NULL) {
			nb += fuzz_replay_dir(d, argv[i]);
			closedir(d);
			continue;
		}
		f = fopen(argv[i], "rb");

		if (f == NULL) {
			perror(argv[i]);
			return EXIT_FAILURE;
		}
		if (nlen > 4 && strcmp(argv[i] + nlen - 4, ".hex") == 0) {
			int n = fuzz_replay_hex(f);

			if (n < 0) {
				fprintf(stderr, "%s: bad hex\n", argv[i]);
				fclose(f);
				return EXIT_FAILURE;
			}
			nb += n;
		} else {
			size_t n = fread(buf, 1, sizeof(buf), f);

			LLVMFuzzerTestOneInput(buf, n);
			nb++;
		}
		fclose(f);
	}
	printf("replayed %d inputs\n", nb);
	return EXIT_SUCCESS;
}
