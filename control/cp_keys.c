/* SPDX-License-Identifier: MIT */
/*
 * Key rotation on a live node: the keyring behind serf's internal key
 * queries (cp_keys.h). Owns the keyrings replaced by a rotation until
 * their grace period ends; the current one is cp->cfg.keyring (freed by
 * cp_fini). Control thread only: the dataplane only ever sees a keyring
 * through the snapshot, never one that is being changed.
 */
#include "cp_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp.h"
#include "cp_log.h"
#include "serf.h"
#include "serf_keys.h"
#include "swim_crypto.h"

/* serf's default QueryResponseSizeLimit. */
#define CP_KEYS_RESPONSE_LIMIT 1024
/* What messageQueryResponse adds around the payload, name aside. */
#define CP_KEYS_RESPONSE_OVERHEAD 64

/* memberlist keyring.go's texts. */
#define CP_KEYS_E_SIZE "key size must be 16, 24 or 32 bytes"
#define CP_KEYS_E_NOT_IN "Requested key is not in the keyring"
#define CP_KEYS_E_PRIMARY "Removing the primary key is not allowed"

/* One replaced keyring and when it was replaced. */
struct cp_keys_retired {
	struct swim_keyring *ring;	/* freed after CP_KEYS_GRACE_US */
	uint64_t since_us;		/* cp_now_us() at replacement */
};

/* The rotation state; control thread only. */
struct cp_keys {
	struct cp *cp;			/* owner */
	struct swim_keyring *initial;	/* the dataplane's cfg.keyring */
	struct cp_keys_retired retired[CP_KEYS_RETIRED_MAX];
	unsigned nb_retired;		/* used entries, oldest first */
	struct serf_keyring_ops ops;	/* what serf_keys_answer calls */
};

/* Length of key i (16, 24 or 32); 32 when the keyring cannot say. */
static size_t
cp_keys_len(const struct swim_keyring *ring, unsigned i)
{
	int n = swim_keyring_key_len(ring, i);

	return n > 0 ? (size_t)n : SWIM_CRYPTO_KEY_LEN;
}

/* A copy of ring's keys, same order, in a new keyring (or NULL). */
static struct swim_keyring *
cp_keys_copy(const struct swim_keyring *ring, int *err)
{
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	struct swim_keyring *copy = swim_keyring_new(err);

	for (unsigned i = 0; copy != NULL && i < swim_keyring_count(ring);
	     i++) {
		*err = swim_keyring_get(ring, i, key);
		if (*err == 0)
			*err = swim_keyring_add(copy, key,
						cp_keys_len(ring, i));
		if (*err != 0) {
			swim_keyring_delete(copy);
			copy = NULL;
		}
	}
	sodium_memzero(key, sizeof(key));
	return copy;
}

/* Same keys in the same order? */
static bool
cp_keys_same(const struct swim_keyring *a, const struct swim_keyring *b)
{
	uint8_t ka[SWIM_CRYPTO_KEY_LEN], kb[SWIM_CRYPTO_KEY_LEN];
	unsigned n = swim_keyring_count(a);
	bool same = n == swim_keyring_count(b);

	for (unsigned i = 0; same && i < n; i++) {
		same = swim_keyring_get(a, i, ka) == 0 &&
		       swim_keyring_get(b, i, kb) == 0 &&
		       cp_keys_len(a, i) == cp_keys_len(b, i) &&
		       sodium_memcmp(ka, kb, sizeof(ka)) == 0;
	}
	sodium_memzero(ka, sizeof(ka));
	sodium_memzero(kb, sizeof(kb));
	return same;
}

/* Apply op to ring as memberlist's keyring does; text on refusal. */
static int
cp_keys_apply(struct swim_keyring *ring, enum serf_key_op op,
	      const uint8_t *key, size_t len, char *msg, size_t msglen)
{
	int rc;

	switch (op) {
	case SERF_KEY_INSTALL:
		rc = swim_keyring_add(ring, key, len);
		if (rc == SWIM_CRYPTO_E_KEYLEN || rc == SWIM_CRYPTO_E_AES128)
			snprintf(msg, msglen, CP_KEYS_E_SIZE);
		else if (rc != 0)
			snprintf(msg, msglen, "%s", swim_crypto_strerror(rc));
		return rc;
	case SERF_KEY_USE:
		rc = swim_keyring_use(ring, key, len);
		if (rc != 0)	/* a key of a bad size is not installed */
			snprintf(msg, msglen, CP_KEYS_E_NOT_IN);
		return rc;
	case SERF_KEY_REMOVE:
		rc = swim_keyring_remove(ring, key, len);
		if (rc == SWIM_CRYPTO_E_PRIMARY) {
			snprintf(msg, msglen, CP_KEYS_E_PRIMARY);
			return rc;
		}
		return 0;	/* removing an absent key is no error */
	case SERF_KEY_LIST:
	case SERF_KEY_OP_COUNT:
		break;
	}
	return -EINVAL;
}

/* Free the replaced keyrings whose grace period is over. */
static void
cp_keys_reap(struct cp_keys *k, uint64_t now_us)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < k->nb_retired; i++) {
		if (now_us - k->retired[i].since_us >= CP_KEYS_GRACE_US)
			swim_keyring_delete(k->retired[i].ring);
		else
			k->retired[keep++] = k->retired[i];
	}
	k->nb_retired = keep;
}

/*
 * Make ring the node's keyring: control's sealers now, the dataplane
 * with the snapshot forced out on the next loop turn.
 * @retval 0, or -EBUSY when too many replaced rings still wait.
 */
static int
cp_keys_publish(struct cp_keys *k, struct swim_keyring *ring)
{
	struct cp *cp = k->cp;
	struct swim_keyring *old = cp->cfg.keyring;
	uint64_t now_us = cp_now_us();

	cp_keys_reap(k, now_us);
	if (old != k->initial && k->nb_retired == CP_KEYS_RETIRED_MAX)
		return -EBUSY;
	cp->cfg.keyring = ring;
	if (cp->sync != NULL)
		cp_sync_set_keyring(cp->sync, ring);
	cp->publish_next_us = 0;	/* cp_loop_publish: snapshot now */
	if (old != k->initial)	/* the initial one lives until fini */
		k->retired[k->nb_retired++] = (struct cp_keys_retired){
			old, now_us };
	return 0;
}

/* serf's log text for a refused change. */
static const char *const cp_keys_fail_log[SERF_KEY_OP_COUNT] = {
	[SERF_KEY_INSTALL] = "install key",
	[SERF_KEY_USE] = "change primary key",
	[SERF_KEY_REMOVE] = "remove key",
	[SERF_KEY_LIST] = "list keys",
};

/* The new keyring for op, published when it differs. @retval 0 / < 0. */
static int
cp_keys_update(struct cp_keys *k, enum serf_key_op op, const uint8_t *key,
	       size_t len, char *msg, size_t msglen)
{
	struct cp *cp = k->cp;
	int err = 0;
	struct swim_keyring *next = cp_keys_copy(cp->cfg.keyring, &err);
	int rc = next == NULL ? -ENOMEM : 0;

	if (next == NULL)
		snprintf(msg, msglen, "%s", swim_crypto_strerror(err));
	if (rc == 0)
		rc = cp_keys_apply(next, op, key, len, msg, msglen);
	if (rc == 0 && !cp_keys_same(next, cp->cfg.keyring)) {
		rc = cp_keys_publish(k, next);
		if (rc == 0)
			next = NULL;	/* now cp->cfg.keyring */
		else
			snprintf(msg, msglen, "too many key changes in %u s, try again later",
				 CP_KEYS_GRACE_US / 1000000);
	}
	swim_keyring_delete(next);
	return rc;
}

int
cp_keys_change(struct cp *cp, enum serf_key_op op, const uint8_t *key,
	       size_t len, char *msg, size_t msglen)
{
	int rc;

	if (cp->keys == NULL || op < 0 || op >= SERF_KEY_LIST) {
		snprintf(msg, msglen, "No keyring to modify (encryption not enabled)");
		return -EINVAL;
	}
	rc = cp_keys_update(cp->keys, op, key, len, msg, msglen);
	if (rc != 0) {
		CP_LOG(ERR, "serf: Failed to %s: %s", cp_keys_fail_log[op],
		       msg);
		return rc;
	}
	if (cp->cfg.keyring_file[0] == '\0')
		return 0;
	rc = cp_keys_write_file(cp->cfg.keyring_file, cp->cfg.keyring, msg,
				msglen);
	if (rc != 0)
		CP_LOG(ERR, "serf: Failed to write keyring file: %s", msg);
	return rc;
}

/* serf_keyring_ops.modify. */
static int
cp_keys_modify(void *ctx, enum serf_key_op op, const uint8_t *key,
	       size_t len, char *msg, size_t msglen)
{
	struct cp_keys *k = ctx;

	return cp_keys_change(k->cp, op, key, len, msg, msglen);
}

/* Key i of ring in standard padded base64. */
static int
cp_keys_b64(const struct swim_keyring *ring, unsigned i, char *out,
	    size_t cap)
{
	uint8_t key[SWIM_CRYPTO_KEY_LEN];
	size_t len = cp_keys_len(ring, i);
	int rc = swim_keyring_get(ring, i, key);

	if (rc == 0 && cap < sodium_base64_ENCODED_LEN(len,
				sodium_base64_VARIANT_ORIGINAL))
		rc = -ENOSPC;
	if (rc == 0)
		sodium_bin2base64(out, cap, key, len,
				  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* serf_keyring_ops.list. */
static int
cp_keys_list(void *ctx, struct serf_keys_list *out, char *msg, size_t msglen)
{
	struct cp_keys *k = ctx;
	const struct swim_keyring *ring = k->cp->cfg.keyring;
	unsigned n = swim_keyring_count(ring);

	out->nb = 0;
	for (unsigned i = 0; i < n && i < SERF_KEYS_MAX; i++) {
		if (cp_keys_b64(ring, i, out->keys[i], sizeof(out->keys[i]))
		    != 0) {
			snprintf(msg, msglen, "failed to encode key %u", i);
			return -EINVAL;
		}
		out->nb++;
	}
	return 0;
}

int
cp_keys_init(struct cp *cp)
{
	struct cp_keys *k;

	cp->keys = NULL;
	if (cp->cfg.keyring == NULL)
		return 0;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return -ENOMEM;
	k->cp = cp;
	k->initial = cp->cfg.keyring;
	k->ops = (struct serf_keyring_ops){ k, cp_keys_modify, cp_keys_list };
	cp->keys = k;
	return 0;
}

void
cp_keys_fini(struct cp *cp)
{
	struct cp_keys *k = cp->keys;

	if (k == NULL)
		return;
	for (unsigned i = 0; i < k->nb_retired; i++)
		swim_keyring_delete(k->retired[i].ring);
	if (k->initial != cp->cfg.keyring)
		swim_keyring_delete(k->initial);
	free(k);
	cp->keys = NULL;
}

bool
cp_keys_on_query(struct cp *cp, uint64_t now_us, const struct serf_event *ev)
{
	static uint8_t buf[CP_KEYS_RESPONSE_LIMIT];
	int op = serf_keys_op_from_name(ev->name, ev->name_len);
	size_t cap;
	int n, rc;

	if (op < 0)
		return false;
	/* key query names are short: no underflow */
	cap = sizeof(buf) - CP_KEYS_RESPONSE_OVERHEAD - ev->name_len;
	CP_LOG(INFO, "serf: Received %s query", serf_key_op_str[op]);
	n = serf_keys_answer(cp->keys != NULL ? &cp->keys->ops : NULL,
			     (enum serf_key_op)op,
			     ev->has_payload ? ev->payload : NULL,
			     ev->payload_len, buf, cap);
	if (n < 0) {
		CP_LOG(ERR, "serf: Failed to encode key response: %d", n);
		return true;
	}
	rc = serf_query_respond(cp->serf, now_us, ev->query_handle, buf,
				(size_t)n);
	if (rc != 0)
		CP_LOG(ERR, "serf: Failed to respond to key query: %s",
		       strerror(-rc));
	return true;
}

/* --- the keyring file --- */

/* Go's os error text: "<op> <path>: <lower-case strerror>". */
static int
cp_keys_file_err(int err, const char *op, const char *path, char *msg,
		 size_t msglen)
{
	char what[128];

	snprintf(what, sizeof(what), "%s", strerror(err));
	what[0] = (char)(what[0] >= 'A' && what[0] <= 'Z' ?
			 what[0] - 'A' + 'a' : what[0]);
	snprintf(msg, msglen, "%s %s: %s", op, path, what);
	return -err;
}

/* Append to out at *off. @retval 0, or -ENOSPC (out is then cut). */
static int
cp_keys_put(char *out, size_t cap, size_t *off, const char *a,
	    const char *b)
{
	int w = snprintf(out + *off, cap - *off, "%s%s", a, b);

	if (w < 0 || (size_t)w >= cap - *off)
		return -ENOSPC;
	*off += (size_t)w;
	return 0;
}

/* MarshalIndent(keys, "", "  "): no newline after the bracket. */
static int
cp_keys_json(const struct swim_keyring *ring, char *out, size_t cap)
{
	char b64[SERF_KEYS_B64_MAX];
	unsigned n = swim_keyring_count(ring);
	size_t off = 0;
	int rc = cp_keys_put(out, cap, &off, n == 0 ? "[]" : "[\n", "");

	for (unsigned i = 0; rc == 0 && i < n; i++) {
		rc = cp_keys_b64(ring, i, b64, sizeof(b64));
		if (rc == 0)
			rc = cp_keys_put(out, cap, &off, "  \"", b64);
		if (rc == 0)
			rc = cp_keys_put(out, cap, &off, "\"",
					 i + 1 < n ? ",\n" : "\n]");
	}
	sodium_memzero(b64, sizeof(b64));
	return rc == 0 ? (int)off : rc;
}

/* Write all of buf to fd. @retval 0 or -errno. */
static int
cp_keys_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cp_keys_write_file(const char *path, const struct swim_keyring *ring,
		   char *msg, size_t msglen)
{
	char text[SWIM_CRYPTO_MAX_KEYS * (SERF_KEYS_B64_MAX + 8) + 8];
	char tmp[PATH_MAX + 8];
	int len = cp_keys_json(ring, text, sizeof(text));
	int fd, rc;

	if (len < 0) {
		snprintf(msg, msglen, "failed to encode keyring");
		return len;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return cp_keys_file_err(ENAMETOOLONG, "open", path, msg,
					msglen);
	fd = mkstemp(tmp);	/* 0600: key data is sensitive */
	if (fd < 0)
		return cp_keys_file_err(errno, "open", path, msg, msglen);
	rc = cp_keys_write_all(fd, text, (size_t)len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = cp_keys_file_err(errno, "rename", path, msg, msglen);
	else if (rc != 0)
		cp_keys_file_err(-rc, "write", path, msg, msglen);
	sodium_memzero(text, sizeof(text));
	if (rc != 0)
		unlink(tmp);
	return rc;
}
