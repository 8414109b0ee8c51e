/* SPDX-License-Identifier: MIT */
/*
 * The RPC commands behind `serf keys` (serf-rpc.md 5): install-key,
 * use-key, remove-key ({Key: base64}) and list-keys (no body), done as
 * serf's KeyManager does them (keymanager.go handleKeyRequest,
 * streamKeyResp): one internal query `_serf_<command>` carrying
 * `07 {Key: raw}` to every member through ops->query (this node answers
 * its own as any other), each node's `08 {Keys, Message, PrimaryKey,
 * Result}` tallied, and one reply {Keys, Messages, NumErr, NumNodes,
 * NumResp} once every member answered or the query's deadline passed
 * (the client waits meanwhile; the server goes on with the others).
 * NumNodes is the members that are alive or leaving, as memberlist's
 * NumMembers. Error: "<n>/<N> nodes reported failure" if any node
 * failed, else "<n>/<N> nodes reported success" if some did not answer.
 *
 * Control thread only. Owns one struct cp_rpc_keyop per waiting client,
 * freed with the client or when the reply goes out.
 */
#include "cp_rpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* serf's key queries, by the RPC command that starts them. */
#define CP_RPC_KEYS_PREFIX "_serf_"
/* Longest base64 key a node may list (a 32-byte key is 44). */
#define CP_RPC_KEYS_B64_MAX 64
/* Raw key bytes a request may carry: more than any valid key, so a
 * 48-byte one reaches the nodes and gets memberlist's size error. */
#define CP_RPC_KEYS_RAW_MAX 256
/* Distinct keys a list-keys reply counts (each node lists <= 16). */
#define CP_RPC_KEYS_DISTINCT 64
/* Failure messages kept (one per failing node; more are counted only). */
#define CP_RPC_KEYS_MSGS 256

/* One distinct key and how many nodes listed it. */
struct cp_rpc_keycount {
	char key[CP_RPC_KEYS_B64_MAX + 1];	/* base64, NUL-terminated */
	uint32_t n;				/* nodes that hold it */
};

/* One key command waiting for its query's answers. */
struct cp_rpc_keyop {
	uint64_t handle;		/* ops->query's handle */
	uint32_t nb_nodes;		/* members alive when it started */
	uint32_t nb_resp;		/* answers so far */
	uint32_t nb_err;		/* answers that failed */
	struct cp_rpc_buf msgs;		/* node -> text entries, encoded */
	uint32_t nb_msgs;		/* entries in msgs */
	struct cp_rpc_keycount keys[CP_RPC_KEYS_DISTINCT]; /* list-keys */
	uint32_t nb_keys;		/* used entries of keys */
};

static const signed char cp_rpc_b64_val[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27,
	['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
	['+'] = 63, ['/'] = 64,
};

/* Go's decoder skips newlines anywhere. */
static uint32_t
cp_rpc_keys_skip_nl(const char *s, uint32_t len, uint32_t si)
{
	while (si < len && (s[si] == '\n' || s[si] == '\r'))
		si++;
	return si;
}

/* Padding after j sextets at s[*si - 1]; Go's rules. @retval as below. */
static int
cp_rpc_keys_pad(const char *s, uint32_t len, uint32_t *si, int j)
{
	if (j < 2)
		return -1 - (int)(*si - 1);
	*si = cp_rpc_keys_skip_nl(s, len, *si);
	if (j == 2) {	/* "==" expected, the first one is consumed */
		if (*si == len)
			return -1 - (int)len;
		if (s[*si] != '=')
			return -1 - (int)(*si - 1);
		*si = cp_rpc_keys_skip_nl(s, len, *si + 1);
	}
	if (*si < len)
		return -1 - (int)*si;	/* trailing garbage */
	return j;
}

/*
 * One quantum of Go's decodeQuantum (base64.StdEncoding) from s[*si]:
 * up to 4 sextets into d. *done at padding or the end.
 * @retval sextets read (0..4), or -1 - N for Go's CorruptInputError(N).
 */
static int
cp_rpc_keys_quantum(const char *s, uint32_t len, uint32_t *si, uint8_t *d,
		    bool *done)
{
	for (int j = 0; j < 4; j++) {
		if (*si == len) {
			*done = true;
			return j == 0 ? 0 : -1 - (int)(*si - (uint32_t)j);
		}
		uint8_t in = (uint8_t)s[(*si)++];
		int v = cp_rpc_b64_val[in] - 1;
		if (v >= 0) {
			d[j] = (uint8_t)v;
		} else if (in == '\n' || in == '\r') {
			j--;
		} else if (in != '=') {
			return -1 - (int)(*si - 1);
		} else {
			*done = true;
			return cp_rpc_keys_pad(s, len, si, j);
		}
	}
	return 4;
}

/*
 * Go's base64.StdEncoding.DecodeString. @retval bytes, or -1 - N where
 * Go says "illegal base64 data at input byte N".
 */
static int
cp_rpc_keys_b64(const char *s, uint32_t len, uint8_t *out, size_t cap)
{
	uint32_t si = 0;
	size_t o = 0;
	bool done = false;

	while (!done) {
		uint8_t d[4] = { 0 };
		int j = cp_rpc_keys_quantum(s, len, &si, d, &done);
		uint32_t v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 |
			     (uint32_t)d[2] << 6 | d[3];

		if (j < 0)
			return j;
		if (j > 1 && o + (size_t)j - 1 > cap)
			return -1 - (int)si;	/* callers check len first */
		for (int b = 0; b < j - 1; b++)
			out[o++] = (uint8_t)(v >> (16 - 8 * b));
	}
	return (int)o;
}

/* {Keys, Messages, NumErr, NumNodes, NumResp}; op NULL: all empty. */
static void
cp_rpc_keys_encode(struct cp_rpc_buf *b, const struct cp_rpc_keyop *op)
{
	uint32_t nb_keys = op != NULL ? op->nb_keys : 0;

	cp_rpc_enc_map(b, 5);
	cp_rpc_enc_str(b, "Keys");
	cp_rpc_enc_map(b, nb_keys);
	for (uint32_t i = 0; i < nb_keys; i++) {
		cp_rpc_enc_str(b, op->keys[i].key);
		cp_rpc_enc_uint(b, op->keys[i].n);
	}
	cp_rpc_enc_str(b, "Messages");
	cp_rpc_enc_map(b, op != NULL ? op->nb_msgs : 0);
	if (op != NULL)
		cp_rpc_enc_raw(b, op->msgs.data, op->msgs.len);
	cp_rpc_enc_str(b, "NumErr");
	cp_rpc_enc_uint(b, op != NULL ? op->nb_err : 0);
	cp_rpc_enc_str(b, "NumNodes");
	cp_rpc_enc_uint(b, op != NULL ? op->nb_nodes : 0);
	cp_rpc_enc_str(b, "NumResp");
	cp_rpc_enc_uint(b, op != NULL ? op->nb_resp : 0);
}

void
cp_rpc_keyop_free(struct cp_rpc_client *c)
{
	if (c->keyop == NULL)
		return;
	cp_rpc_buf_destroy(&c->keyop->msgs);
	free(c->keyop);
	c->keyop = NULL;
}

/* memberlist's NumMembers: nodes neither dead nor left. */
static int
cp_rpc_keys_count(void *arg, const struct cp_rpc_member *m)
{
	uint32_t *n = arg;

	*n += m->status == CP_RPC_STATUS_ALIVE ||
	      m->status == CP_RPC_STATUS_LEAVING;
	return 0;
}

/* keyRequest `07 {Key}` with the key as a raw string, as serf sends it. */
static void
cp_rpc_keys_request(struct cp_rpc_buf *b, const uint8_t *key, uint32_t len)
{
	/* go-msgpack's raw string: fixstr, else str16 (never str8) */
	uint8_t hdr[3] = { 0xda, (uint8_t)(len >> 8), (uint8_t)len };

	cp_rpc_enc_raw(b, "\x07\x81\xa3Key", 6);
	if (len < 32)
		hdr[0] = (uint8_t)(0xa0 | len);
	cp_rpc_enc_raw(b, hdr, len < 32 ? 1 : 3);
	cp_rpc_enc_raw(b, key, len);
}

/* The Key of a body, decoded; err set on failure. @retval len or -1. */
static int
cp_rpc_keys_body(const char *body, const char *end, uint8_t *raw,
		 char *err, size_t errlen)
{
	struct cp_rpc_sv key = { NULL, 0 };
	const struct cp_rpc_field f[] = {
		{ "Key", CP_RPC_FT_STR, &key, 0 },
	};
	int n;

	if (cp_rpc_body_decode(body, end, f, 1) != 0) {
		snprintf(err, errlen, "decode failed: invalid Key");
		return -1;
	}
	if (key.len / 4 * 3 > CP_RPC_KEYS_RAW_MAX) {
		snprintf(err, errlen, "key size must be 16, 24 or 32 bytes");
		return -1;
	}
	n = cp_rpc_keys_b64(key.p, key.len, raw, CP_RPC_KEYS_RAW_MAX);
	if (n < 0)
		snprintf(err, errlen, "illegal base64 data at input byte %d",
			 -1 - n);
	return n;
}

/* Start the query; on failure err is set. @retval 0 or -1. */
static int
cp_rpc_keys_start(struct cp_rpc *rpc, struct cp_rpc_client *c,
		  const uint8_t *raw, uint32_t len, char *err, size_t errlen)
{
	const struct cp_rpc_ops *ops = &rpc->cfg.ops;
	char name[CP_RPC_CMD_MAX + 8];
	struct cp_rpc_buf req;
	struct cp_rpc_query q;
	uint64_t handle = 0;
	uint32_t nb_nodes = 0;
	int rc = -ENOTSUP;

	snprintf(name, sizeof(name), "%s%s", CP_RPC_KEYS_PREFIX, c->cmd);
	cp_rpc_buf_create(&req, CP_RPC_KEYS_RAW_MAX + 16);
	cp_rpc_keys_request(&req, raw, len);
	memset(&q, 0, sizeof(q));
	q.name = name;
	q.payload = (const uint8_t *)req.data;
	q.payload_len = req.len;
	if (ops->members != NULL)
		ops->members(ops->ctx, cp_rpc_keys_count, &nb_nodes);
	if (ops->query == NULL)
		snprintf(err, errlen, "keyring operations are not supported");
	else if (!req.overflow)
		rc = ops->query(ops->ctx, &q, &handle, err, errlen);
	cp_rpc_buf_destroy(&req);
	if (rc == 0)
		c->keyop = calloc(1, sizeof(*c->keyop));
	if (rc == 0 && c->keyop == NULL)
		snprintf(err, errlen, "out of memory");	/* answers drop */
	if (rc != 0 || c->keyop == NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s", strerror(-rc));
		return -1;
	}
	c->keyop->handle = handle;
	c->keyop->nb_nodes = nb_nodes;
	cp_rpc_buf_create(&c->keyop->msgs, 64 * 1024);
	return 0;
}

int
cp_rpc_cmd_keys(struct cp_rpc *rpc, struct cp_rpc_client *c,
		const char *body, const char *end)
{
	uint8_t raw[CP_RPC_KEYS_RAW_MAX];
	char err[512] = "";
	int len = 0;

	if (strcmp(c->cmd, "list-keys") != 0)
		len = cp_rpc_keys_body(body, end, raw, err, sizeof(err));
	if (len >= 0 && c->keyop == NULL &&
	    cp_rpc_keys_start(rpc, c, raw, (uint32_t)len, err,
			      sizeof(err)) == 0) {
		c->pend = CP_RPC_PEND_KEYS;
		c->pend_id = c->keyop->handle;
		c->pend_seq = c->seq;
		return 0;	/* cp_rpc_keys_record replies */
	}
	if (err[0] == '\0')
		snprintf(err, sizeof(err), "a key operation is running");
	cp_rpc_reply(c, c->seq, err);
	cp_rpc_keys_encode(&c->out, NULL);	/* a body even on error */
	return 0;
}

/* Count one key a node listed. */
static void
cp_rpc_keys_add(struct cp_rpc_keyop *op, const char *key, uint32_t len)
{
	uint32_t i;

	if (len == 0 || len > CP_RPC_KEYS_B64_MAX || memchr(key, 0, len))
		return;
	for (i = 0; i < op->nb_keys; i++) {
		if (strlen(op->keys[i].key) == len &&
		    memcmp(op->keys[i].key, key, len) == 0)
			break;
	}
	if (i == op->nb_keys) {
		if (op->nb_keys == CP_RPC_KEYS_DISTINCT)
			return;
		memcpy(op->keys[i].key, key, len);
		op->keys[i].key[len] = '\0';
		op->nb_keys++;
	}
	op->keys[i].n++;
}

/* A node's nodeKeyResponse map: Result, Message, Keys. @retval 0 / -1. */
static int
cp_rpc_keys_decode(struct cp_rpc_keyop *op, const char *p, const char *end,
		   bool *result, const char **msg, uint32_t *msg_len)
{
	uint32_t n, nb;
	const char *k, *s;
	uint32_t kl, sl;

	if (cp_rpc_dec_map(&p, end, &n) != 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (cp_rpc_dec_strn(&p, end, &k, &kl) != 0)
			return -1;
		if (cp_rpc_key_is(k, kl, "Result")) {
			if (cp_rpc_dec_bool(&p, end, result) != 0)
				return -1;
		} else if (cp_rpc_key_is(k, kl, "Message")) {
			if (cp_rpc_dec_strn(&p, end, msg, msg_len) != 0)
				return -1;
		} else if (cp_rpc_key_is(k, kl, "Keys")) {
			if (cp_rpc_dec_array(&p, end, &nb) != 0)
				return -1;
			for (uint32_t j = 0; j < nb; j++) {
				if (cp_rpc_dec_strn(&p, end, &s, &sl) != 0)
					return -1;
				cp_rpc_keys_add(op, s, sl);
			}
		} else {
			cp_rpc_dec_skip(&p, end);
		}
	}
	return 0;
}

/* Record a failing node's text (Go's map: the last one per node). */
static void
cp_rpc_keys_msg(struct cp_rpc_keyop *op, const char *from, const char *msg,
		uint32_t len)
{
	if (op->nb_msgs == CP_RPC_KEYS_MSGS)
		return;
	cp_rpc_enc_str(&op->msgs, from);
	cp_rpc_enc_strn(&op->msgs, msg != NULL ? msg : "", msg != NULL ? len
									: 0);
	op->nb_msgs++;
}

/* streamKeyResp for one answer. */
static void
cp_rpc_keys_tally(struct cp_rpc_keyop *op, const char *from,
		  const uint8_t *payload, size_t len)
{
	const char *p;
	const char *msg = NULL;
	uint32_t msg_len = 0;
	bool result = false;
	size_t vlen;
	char text[64];

	op->nb_resp++;
	if (payload == NULL || len < 1 || payload[0] != 0x08) {
		snprintf(text, sizeof(text), "Invalid key query response type");
		cp_rpc_keys_msg(op, from, text, (uint32_t)strlen(text));
		op->nb_err++;
		return;
	}
	p = (const char *)payload + 1;
	if (cp_rpc_mp_scan(p, len - 1, &vlen) != CP_RPC_SCAN_OK ||
	    cp_rpc_keys_decode(op, p, p + vlen, &result, &msg,
			       &msg_len) != 0) {
		snprintf(text, sizeof(text), "Failed to decode key query response");
		cp_rpc_keys_msg(op, from, text, (uint32_t)strlen(text));
		op->nb_err++;
		return;
	}
	if (!result)
		op->nb_err++;
	if (!result || msg_len > 0)
		cp_rpc_keys_msg(op, from, msg, msg_len);
}

/* The reply: serf's error text, then the body. */
static void
cp_rpc_keys_finish(struct cp_rpc *rpc, struct cp_rpc_client *c)
{
	struct cp_rpc_keyop *op = c->keyop;
	char err[128] = "";

	if (op->nb_err != 0)
		snprintf(err, sizeof(err), "%u/%u nodes reported failure",
			 op->nb_err, op->nb_nodes);
	else if (op->nb_resp != op->nb_nodes)
		snprintf(err, sizeof(err), "%u/%u nodes reported success",
			 op->nb_resp, op->nb_nodes);
	cp_rpc_reply(c, c->pend_seq, err);
	cp_rpc_keys_encode(&c->out, op);
	cp_rpc_keyop_free(c);
	cp_rpc_resume(rpc, c);
}

bool
cp_rpc_keys_record(struct cp_rpc *rpc, uint64_t handle, const char *type,
		   const char *from, const uint8_t *payload, size_t len)
{
	struct cp_rpc_client *c = cp_rpc_find_pending(rpc, handle,
						      CP_RPC_PEND_KEYS);

	if (c == NULL || c->keyop == NULL)
		return false;
	if (strcmp(type, "response") == 0) {
		cp_rpc_keys_tally(c->keyop, from, payload, len);
		/* all answered: no need to wait for the deadline */
		if (c->keyop->nb_resp >= c->keyop->nb_nodes)
			cp_rpc_keys_finish(rpc, c);
	} else if (strcmp(type, "done") == 0) {
		cp_rpc_keys_finish(rpc, c);
	}
	return true;
}
