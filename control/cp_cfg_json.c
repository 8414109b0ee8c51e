/* SPDX-License-Identifier: MIT */
/*
 * JSON files of the configuration, through jansson: serf's config files
 * and directories (the option table's keys, the same setters as the
 * flags), serf's keyring file, and serf's tags file (read and written).
 * Every error is one line naming the file and, when there is one, the key.
 */
#include "cp_cfg.h"
#include "cp_cfg_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swim_crypto.h"

/* Largest config, keyring or tags file we read. */
#define CP_JSON_FILE_MAX (1u << 20)

/* Read a whole small file into a malloc'ed, NUL-terminated buffer. */
static char *
cp_json_read_file(const char *path, size_t *len, int *err_no)
{
	FILE *f = fopen(path, "r");
	char *buf;

	*err_no = 0;
	if (f == NULL) {
		*err_no = errno;
		return NULL;
	}
	buf = malloc(CP_JSON_FILE_MAX + 1);
	if (buf == NULL) {
		*err_no = ENOMEM;
	} else {
		*len = fread(buf, 1, CP_JSON_FILE_MAX + 1, f);
		if (ferror(f) || *len > CP_JSON_FILE_MAX) {
			/* A directory reads as EISDIR; keep that errno. */
			*err_no = ferror(f) ? (errno != 0 ? errno : EIO)
					    : EFBIG;
			free(buf);
			buf = NULL;
		} else {
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* --- config files --- */

/* A JSON scalar as the setter's text: strings as they are, true/false,
 * integers in decimal. @retval 0, or -EINVAL for another type. */
static int
cp_json_text(const json_t *v, enum cp_opt_json want, char *buf, size_t cap)
{
	if (want == CP_J_BOOL && json_is_boolean(v)) {
		snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
		return 0;
	}
	if (want == CP_J_INT && json_is_integer(v)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if ((want == CP_J_STR || want == CP_J_LIST) && json_is_string(v)) {
		size_t n = json_string_length(v);

		if (n >= cap || strlen(json_string_value(v)) != n)
			return -EINVAL;	/* too long, or a NUL inside */
		memcpy(buf, json_string_value(v), n + 1);
		return 0;
	}
	return -EINVAL;
}

/* What a key's JSON value must be, for the error line. */
static const char *const cp_json_type_name[] = {
	[CP_J_STR] = "a string", [CP_J_BOOL] = "true or false",
	[CP_J_INT] = "an integer", [CP_J_LIST] = "an array of strings",
	[CP_J_MAP] = "an object of strings", [CP_J_NONE] = "nothing",
};

/* Run the setter; a refused value is named unless it is a secret. */
static int
cp_json_set(struct cp_cfg *cfg, const char *name, const struct cp_opt *o,
	    const char *text, char *err, size_t errlen)
{
	if (o->set(cfg, text) == 0)
		return 0;
	if (o->is_secret)
		return cp_cfg_errf(err, errlen, "%s: invalid \"%s\": want %s",
				   name, o->key, o->want);
	return cp_cfg_errf(err, errlen, "%s: invalid \"%s\" \"%s\": want %s",
			   name, o->key, text, o->want);
}

/* An object of strings -> KEY=VALUE for the map setter (tags). */
static int
cp_json_map(struct cp_cfg *cfg, const char *name, const struct cp_opt *o,
	    const json_t *v, char *buf, size_t cap, char *err, size_t errlen)
{
	const char *k;
	json_t *e;

	json_object_foreach((json_t *)v, k, e) {
		if (!json_is_string(e))
			return cp_cfg_errf(err, errlen, "%s: \"%s\" must be %s "
					   "(\"%s\" is not a string)", name,
					   o->key, cp_json_type_name[o->json],
					   k);
		if ((size_t)snprintf(buf, cap, "%s=%s", k,
				     json_string_value(e)) >= cap ||
		    o->set(cfg, buf) != 0)
			return cp_cfg_errf(err, errlen, "%s: invalid \"%s\" "
					   "entry \"%s\": want %s", name,
					   o->key, k, o->want);
	}
	return 0;
}

/* One key of a config file. */
static int
cp_json_key(struct cp_cfg *cfg, const char *name, const char *key,
	    const json_t *v, char *err, size_t errlen)
{
	const struct cp_opt *o = cp_opt_by_key(key);
	static char buf[CP_HANDLER_LEN + CP_TAG_LEN_MAX + 2];
	size_t i;
	json_t *e;

	if (o == NULL && cp_opt_is_serf_only(key))
		return cp_cfg_errf(err, errlen, "%s: key \"%s\" is serf's but "
				   "gossipd does not support it", name, key);
	if (o == NULL)
		return cp_cfg_errf(err, errlen, "%s: unknown key \"%s\"", name,
				   key);
	if (o->json == CP_J_MAP && json_is_object(v))
		return cp_json_map(cfg, name, o, v, buf, sizeof(buf), err,
				   errlen);
	if (o->json == CP_J_LIST && json_is_array(v)) {
		json_array_foreach((json_t *)v, i, e) {
			if (cp_json_text(e, CP_J_LIST, buf, sizeof(buf)) != 0)
				return cp_cfg_errf(err, errlen, "%s: \"%s\" "
						   "must be %s", name, key,
						   cp_json_type_name[o->json]);
			if (cp_json_set(cfg, name, o, buf, err, errlen) != 0)
				return -EINVAL;
		}
		return 0;
	}
	if (o->json == CP_J_LIST || o->json == CP_J_MAP ||
	    cp_json_text(v, o->json, buf, sizeof(buf)) != 0)
		return cp_cfg_errf(err, errlen, "%s: \"%s\" must be %s", name,
				   key, cp_json_type_name[o->json]);
	return cp_json_set(cfg, name, o, buf, err, errlen);
}

int
cp_cfg_load_json(struct cp_cfg *cfg, const char *name, const char *text,
		 size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *v;
	const char *key;
	int rc = 0;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return cp_cfg_errf(err, errlen, "%s: line %d column %d: %s",
				   name, je.line, je.column, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return cp_cfg_errf(err, errlen, "%s: want a JSON object of "
				   "config keys", name);
	}
	json_object_foreach(root, key, v) {
		rc = cp_json_key(cfg, name, key, v, err, errlen);
		if (rc != 0)
			break;
	}
	json_decref(root);
	return rc;
}

int
cp_cfg_load_file(struct cp_cfg *cfg, const char *path, char *err,
		 size_t errlen)
{
	char name[CP_PATH_LEN + 16];
	size_t len = 0;
	int err_no, rc;
	char *text = cp_json_read_file(path, &len, &err_no);

	snprintf(name, sizeof(name), "config file %s", path);
	if (text == NULL)
		return cp_cfg_errf(err, errlen, "%s: %s", name,
				   strerror(err_no));
	rc = cp_cfg_load_json(cfg, name, text, len, err, errlen);
	/* It may hold encrypt_key or rpc_auth. */
	memset(text, 0, len);
	free(text);
	return rc;
}

/* *.json, and not a hidden or empty-stem name. */
static int
cp_json_dir_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && d->d_name[0] != '.' &&
	       strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Byte order, not the locale's: serf sorts with Go's string order. */
static int
cp_json_dir_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
cp_cfg_load_dir(struct cp_cfg *cfg, const char *dir, char *err,
		size_t errlen)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, cp_json_dir_filter, cp_json_dir_cmp);
	int rc = 0;

	if (n < 0)
		return cp_cfg_errf(err, errlen, "config dir %s: %s", dir,
				   strerror(errno));
	for (int i = 0; i < n; i++) {
		char path[CP_PATH_LEN];
		struct stat st;

		if (rc == 0 && (size_t)snprintf(path, sizeof(path), "%s/%s",
						dir, list[i]->d_name) >=
				       sizeof(path))
			rc = cp_cfg_errf(err, errlen, "config dir %s: path too "
					 "long", dir);
		/* serf skips directories that happen to end in .json */
		if (rc == 0 && stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
			rc = cp_cfg_load_file(cfg, path, err, errlen);
		free(list[i]);
	}
	free(list);
	return rc;
}

/* --- serf's keyring file: a JSON array of base64 keys --- */

/* Install the array's keys, the first primary. */
static int
cp_json_keyring_keys(struct swim_keyring *ring, const json_t *root)
{
	size_t i;
	json_t *e;

	if (!json_is_array(root))
		return SWIM_CRYPTO_E_JSON;
	if (json_array_size(root) == 0)
		return SWIM_CRYPTO_E_JSON;	/* serf: no keys present */
	json_array_foreach((json_t *)root, i, e) {
		int rc;

		if (!json_is_string(e))
			return SWIM_CRYPTO_E_JSON;
		rc = swim_keyring_add_base64(ring, json_string_value(e),
					     json_string_length(e));
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
cp_cfg_keyring_read(struct swim_keyring *ring, const char *path, char *err,
		    size_t errlen)
{
	size_t len = 0;
	int err_no, rc;
	char *text = cp_json_read_file(path, &len, &err_no);
	json_t *root;

	if (text == NULL)
		return cp_cfg_errf(err, errlen, "invalid --keyring-file %s: %s",
				   path, strerror(err_no));
	root = json_loadb(text, len, 0, NULL);
	memset(text, 0, len);
	free(text);
	rc = root != NULL ? cp_json_keyring_keys(ring, root)
			  : SWIM_CRYPTO_E_JSON;
	json_decref(root);	/* jansson frees; the key text is gone */
	if (rc < 0)
		return cp_cfg_errf(err, errlen, "invalid --keyring-file %s: %s",
				   path, swim_crypto_strerror(rc));
	return 0;
}

/* --- serf's tags file: {"key": "value", ...} --- */

int
cp_cfg_tags_read(const char *path, struct cp_tag *tags, unsigned cap,
		 char *err, size_t errlen)
{
	size_t len = 0;
	int err_no;
	char *text = cp_json_read_file(path, &len, &err_no);
	json_error_t je;
	json_t *root, *v;
	const char *k;
	unsigned n = 0;

	if (text == NULL && err_no == ENOENT)
		return 0;	/* serf: no file yet is no tags */
	if (text == NULL)
		return cp_cfg_errf(err, errlen, "tags file %s: %s", path,
				   strerror(err_no));
	root = json_loadb(text, len, 0, &je);
	free(text);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return cp_cfg_errf(err, errlen, "tags file %s: want a JSON "
				   "object of strings", path);
	}
	json_object_foreach(root, k, v) {
		if (!json_is_string(v) || n == cap || strlen(k) == 0 ||
		    strlen(k) > CP_TAG_LEN_MAX ||
		    json_string_length(v) > CP_TAG_LEN_MAX) {
			/* k belongs to root: format before freeing it */
			cp_cfg_errf(err, errlen, "tags file %s: bad tag \"%s\" "
				    "(strings of at most %d bytes, %u tags)",
				    path, k, CP_TAG_LEN_MAX, cap);
			json_decref(root);
			return -EINVAL;
		}
		snprintf(tags[n].key, sizeof(tags[n].key), "%s", k);
		snprintf(tags[n].value, sizeof(tags[n].value), "%s",
			 json_string_value(v));
		n++;
	}
	json_decref(root);
	return (int)n;
}

/* Write text to path through path.tmp and a rename. */
static int
cp_json_write_atomic(const char *path, const char *text, mode_t mode)
{
	char tmp[CP_PATH_LEN + 8];
	size_t len = strlen(text);
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
		rc = errno != 0 ? -errno : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int
cp_cfg_tags_write(const char *path, const struct cp_tag *tags, unsigned nb)
{
	json_t *root = json_object();
	char *text;
	int rc = 0;

	for (unsigned i = 0; root != NULL && i < nb && rc == 0; i++)
		rc = json_object_set_new(root, tags[i].key,
					 json_string(tags[i].value));
	/* serf: json.MarshalIndent(tags, "", "  "), sorted keys */
	text = root != NULL && rc == 0
		       ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)
		       : NULL;
	json_decref(root);
	if (text == NULL)
		return -ENOMEM;
	rc = cp_json_write_atomic(path, text, 0600);
	free(text);
	return rc;
}
