/* SPDX-License-Identifier: MIT */
/*
 * Key changes on a live node (control/cp_keys.c) over a bare struct cp:
 * memberlist's keyring semantics and texts, a new keyring published only
 * when something changed (the snapshot forced out), the replaced ones
 * bounded, and the keyring file as serf writes it (layout, 0600, atomic,
 * the real path in errors).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp.h"
#include "cp_keys.h"
#include "swim_crypto.h"

static struct cp cp;
static char dir[64];
static char msg[256];
static uint8_t k1[32], k2[32], k3[32], k16[16];

static void
fill(uint8_t *k, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		k[i] = (uint8_t)(seed + i);
}

static void
setup(void)
{
	int err;

	cr_assert_geq(sodium_init(), 0);
	fill(k1, 32, 1);
	fill(k2, 32, 2);
	fill(k3, 32, 3);
	fill(k16, 16, 16);
	memset(&cp, 0, sizeof(cp));
	cp.cfg.keyring = swim_keyring_new(&err);
	cr_assert_not_null(cp.cfg.keyring);
	cr_assert_eq(swim_keyring_add(cp.cfg.keyring, k1, 32), 0);
	cr_assert_eq(cp_keys_init(&cp), 0);
	cr_assert_not_null(cp.keys);
	snprintf(dir, sizeof(dir), "/tmp/gd-cp-keys.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	msg[0] = '\0';
}

static void
teardown(void)
{
	char cmd[128];

	cp_keys_fini(&cp);
	swim_keyring_delete(cp.cfg.keyring);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

TestSuite(cp_keys, .init = setup, .fini = teardown, .timeout = 20);

/* The node's keys, in order, are exactly these. */
static void
expect_ring(unsigned nb, const uint8_t *const *keys)
{
	uint8_t got[SWIM_CRYPTO_KEY_LEN];

	cr_assert_eq(swim_keyring_count(cp.cfg.keyring), nb);
	for (unsigned i = 0; i < nb; i++) {
		cr_assert_eq(swim_keyring_get(cp.cfg.keyring, i, got), 0);
		cr_assert_arr_eq(got, keys[i], 32, "key %u", i);
	}
}

static char *
b64(const uint8_t *k, size_t len)
{
	static char out[4][64];
	static int n;
	char *o = out[n++ % 4];

	sodium_bin2base64(o, 64, k, len, sodium_base64_VARIANT_ORIGINAL);
	return o;
}

static void
read_file(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

Test(cp_keys, install_publishes_a_new_keyring_and_forces_a_snapshot)
{
	struct swim_keyring *initial = cp.cfg.keyring;

	cp.publish_next_us = 12345;
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_INSTALL, k2, 32, msg,
				    sizeof(msg)), 0, "%s", msg);
	cr_assert_neq(cp.cfg.keyring, initial, "changed in place");
	cr_assert_eq(cp.publish_next_us, 0);
	expect_ring(2, (const uint8_t *const[]){ k1, k2 });
	/* the initial ring (the dataplane's cfg.keyring) is intact */
	cr_assert_eq(swim_keyring_count(initial), 1);
}

Test(cp_keys, no_change_keeps_the_keyring)
{
	struct swim_keyring *initial = cp.cfg.keyring;

	cp.publish_next_us = 12345;
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_INSTALL, k1, 32, msg,
				    sizeof(msg)), 0);
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_USE, k1, 32, msg,
				    sizeof(msg)), 0);
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_REMOVE, k3, 32, msg,
				    sizeof(msg)), 0, "absent: no error");
	cr_assert_eq(cp.cfg.keyring, initial);
	cr_assert_eq(cp.publish_next_us, 12345);
}

Test(cp_keys, use_then_remove_rotates)
{
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_INSTALL, k2, 32, msg,
				    sizeof(msg)), 0);
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_USE, k2, 32, msg,
				    sizeof(msg)), 0);
	expect_ring(2, (const uint8_t *const[]){ k2, k1 });
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_REMOVE, k1, 32, msg,
				    sizeof(msg)), 0);
	expect_ring(1, (const uint8_t *const[]){ k2 });
}

Test(cp_keys, refusals_have_memberlists_texts)
{
	struct swim_keyring *initial = cp.cfg.keyring;
	uint8_t odd[20] = { 0 };

	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_USE, k3, 32, msg,
				    sizeof(msg)), SWIM_CRYPTO_E_NOKEY);
	cr_assert_str_eq(msg, "Requested key is not in the keyring");
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_USE, odd, 20, msg,
				    sizeof(msg)), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_str_eq(msg, "Requested key is not in the keyring");
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_REMOVE, k1, 32, msg,
				    sizeof(msg)), SWIM_CRYPTO_E_PRIMARY);
	cr_assert_str_eq(msg, "Removing the primary key is not allowed");
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_INSTALL, odd, 20, msg,
				    sizeof(msg)), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_str_eq(msg, "key size must be 16, 24 or 32 bytes");
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_INSTALL, NULL, 0, msg,
				    sizeof(msg)), SWIM_CRYPTO_E_KEYLEN);
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_LIST, k1, 32, msg,
				    sizeof(msg)), -EINVAL);
	cr_assert_eq(cp.cfg.keyring, initial);
}

Test(cp_keys, a_plaintext_node_has_no_keyring_to_modify)
{
	struct cp plain;

	memset(&plain, 0, sizeof(plain));
	cr_assert_eq(cp_keys_init(&plain), 0);
	cr_assert_null(plain.keys);
	cr_assert_eq(cp_keys_change(&plain, SERF_KEY_INSTALL, k1, 32, msg,
				    sizeof(msg)), -EINVAL);
	cr_assert_str_eq(msg, "No keyring to modify (encryption not enabled)");
	cp_keys_fini(&plain);
}

Test(cp_keys, too_many_changes_within_the_grace_period_are_refused)
{
	struct swim_keyring *before;
	int rc = 0;
	int i;

	/* each change retires the previous ring, the initial one aside */
	for (i = 0; i <= CP_KEYS_RETIRED_MAX && rc == 0; i++)
		rc = cp_keys_change(&cp, i % 2 == 0 ? SERF_KEY_INSTALL :
					 SERF_KEY_REMOVE, k2, 32, msg,
				    sizeof(msg));
	cr_assert_eq(rc, 0, "change %d: %s", i, msg);
	before = cp.cfg.keyring;
	rc = cp_keys_change(&cp, i % 2 == 0 ? SERF_KEY_INSTALL :
				 SERF_KEY_REMOVE, k2, 32, msg, sizeof(msg));
	cr_assert_eq(rc, -EBUSY);
	cr_assert_str_eq(msg, "too many key changes in 10 s, try again later");
	cr_assert_eq(cp.cfg.keyring, before);
}

Test(cp_keys, the_keyring_file_is_rewritten_as_serf_writes_it)
{
	char path[128], text[512], want[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/keyring.json", dir);
	snprintf(cp.cfg.keyring_file, sizeof(cp.cfg.keyring_file), "%s",
		 path);
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_INSTALL, k16, 16, msg,
				    sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_USE, k16, 16, msg,
				    sizeof(msg)), 0, "%s", msg);
	read_file(path, text, sizeof(text));
	/* json.MarshalIndent(keys, "", "  "), no trailing newline; the
	 * AES-128 key is 16 bytes, not 32 */
	snprintf(want, sizeof(want), "[\n  \"%s\",\n  \"%s\"\n]",
		 b64(k16, 16), b64(k1, 32));
	cr_assert_str_eq(text, want);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	/* no temporary file is left behind */
	DIR *d = opendir(dir);
	struct dirent *e;
	int nb = 0;
	while ((e = readdir(d)) != NULL)
		nb += e->d_name[0] != '.';
	closedir(d);
	cr_assert_eq(nb, 1);
}

Test(cp_keys, a_file_that_cannot_be_written_fails_but_the_change_stays)
{
	snprintf(cp.cfg.keyring_file, sizeof(cp.cfg.keyring_file),
		 "%s/no-such-dir/keyring.json", dir);
	cr_assert_eq(cp_keys_change(&cp, SERF_KEY_INSTALL, k2, 32, msg,
				    sizeof(msg)), -ENOENT);
	char want[256];
	snprintf(want, sizeof(want),
		 "open %s/no-such-dir/keyring.json: no such file or directory",
		 dir);
	cr_assert_str_eq(msg, want);
	expect_ring(2, (const uint8_t *const[]){ k1, k2 });
}

Test(cp_keys, write_file_of_an_empty_ring_is_an_empty_array)
{
	char path[128], text[64];
	int err;
	struct swim_keyring *empty = swim_keyring_new(&err);

	snprintf(path, sizeof(path), "%s/empty.json", dir);
	cr_assert_eq(cp_keys_write_file(path, empty, msg, sizeof(msg)), 0);
	read_file(path, text, sizeof(text));
	cr_assert_str_eq(text, "[]");
	swim_keyring_delete(empty);
}
