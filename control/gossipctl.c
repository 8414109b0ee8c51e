/* SPDX-License-Identifier: MIT */
/*
 * gossipctl: a small client for the Serf agent RPC that gossipd (and a
 * real serf agent) serves. Blocking sockets, one request at a time, like
 * the serf CLI. Output follows `serf` where it has an equivalent (members
 * table, info sections); `members --json` prints our own format: a JSON
 * array of {name, addr, port, status, tags, incarnation}, where addr is the
 * bare IP and incarnation comes from gossipd's members-filtered extension
 * (key Incarnation in the request, see cp_rpc.h); it is null when the agent
 * does not send it (a real serf agent).
 *
 * Exit codes: 0 ok, 1 RPC or connection error, 2 usage error. Errors are
 * one line on stderr.
 */
#include "gossipctl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Print "gossipctl: ..." on stderr, one line: newlines and tabs folded. */
void
ctl_err(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	char out[2048];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < sizeof(out); i++) {
		bool ws = msg[i] == '\n' || msg[i] == '\t';
		if (ws && o > 0 && out[o - 1] == ' ')
			continue;
		out[o++] = ws ? ' ' : msg[i];
	}
	out[o] = '\0';
	fprintf(stderr, "%s\n", out);
}

/* Usage errors are one line on stderr; --help prints the full text. */
static int
ctl_usage(const char *why)
{
	if (why != NULL) {
		ctl_err("gossipctl: %s (see gossipctl --help)", why);
		return CTL_EXIT_USAGE;
	}
	printf("usage: gossipctl [--rpc-addr IP:PORT] [--rpc-auth KEY] [--timeout SEC] COMMAND\n"
	       "  members [--status RE] [--name RE] [--tag K=RE]... [--detailed] [--json]\n"
	       "          [--count] [--summary]\n"
	       "  join [--replay] ADDR...\n"
	       "  leave\n"
	       "  force-leave [--prune] NAME\n"
	       "  info [--json]\n"
	       "  tags [--set K=V]... [--delete K]...\n"
	       "  event [--no-coalesce] NAME [PAYLOAD]\n"
	       "rpc-addr defaults to $SERF_RPC_ADDR, then 127.0.0.1:7373;\n"
	       "rpc-auth to $SERF_RPC_AUTH. Exit: 0 ok, 1 RPC error, 2 usage.\n");
	return 0;
}

/* host:port (host may be [v6]) -> connected socket, or -1 with err set. */
static int
ctl_dial(const char *addr, int timeout_s, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(err, errlen, "bad rpc address '%s'", addr);
		return -1;
	}
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = timeout_s };
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		/* Go's wording: "connect: connection refused" */
		char why[128];
		snprintf(why, sizeof(why), "%s", strerror(errno));
		why[0] = (char)tolower((unsigned char)why[0]);
		snprintf(err, errlen, "dial tcp %s: connect: %s", addr, why);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
ctl_send(struct ctl_conn *c, const struct cp_rpc_buf *b)
{
	if (b->overflow)
		return -EMSGSIZE;
	for (size_t off = 0; off < b->len;) {
		ssize_t n = send(c->fd, b->data + off, b->len - off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* Read until one whole msgpack value is buffered; *len is its size. */
static int
ctl_read_value(struct ctl_conn *c, size_t *len)
{
	for (;;) {
		enum cp_rpc_scan sc = cp_rpc_mp_scan(c->in, c->in_len, len);
		if (sc == CP_RPC_SCAN_OK)
			return 0;
		if (sc == CP_RPC_SCAN_BAD)
			return -EBADMSG;
		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap != 0 ? 2 * c->in_cap : 65536;
			char *p = cap <= CTL_IN_MAX ? realloc(c->in, cap) : NULL;
			if (p == NULL)
				return -EMSGSIZE;
			c->in = p;
			c->in_cap = cap;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len,
				 c->in_cap - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		c->in_len += (size_t)n;
	}
}

void
ctl_consume(struct ctl_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Errors a call can end with besides the agent's own text. */
const char *
ctl_io_text(int rc)
{
	if (rc == -ECONNRESET)
		return "client closed";
	if (rc == -EBADMSG)
		return "malformed reply";
	return strerror(-rc);
}

/*
 * One request. body NULL: none. The reply header's Error goes to err ("" =
 * ok). When want_body, the reply body is left at c->in[0, *body_len) for the
 * caller, who consumes it. @retval 0, or -errno on I/O failure.
 */
int
ctl_call(struct ctl_conn *c, const char *cmd, const struct cp_rpc_buf *body,
	 bool want_body, size_t *body_len, char *err, size_t errlen)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, CTL_OUT_MAX);
	cp_rpc_enc_request(&b, cmd, ++c->seq);
	if (body != NULL)
		cp_rpc_enc_raw(&b, body->data, body->len);
	int rc = ctl_send(c, &b);
	cp_rpc_buf_destroy(&b);
	size_t hlen;
	if (rc == 0)
		rc = ctl_read_value(c, &hlen);
	if (rc != 0)
		return rc;
	const char *p = c->in, *end = c->in + hlen;
	uint32_t n;
	uint64_t seq = 0;
	err[0] = '\0';
	if (cp_rpc_dec_map(&p, end, &n) != 0)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t kl, sl;
		if (cp_rpc_dec_strn(&p, end, &k, &kl) != 0)
			return -EBADMSG;
		if (cp_rpc_key_is(k, kl, "Seq")) {
			if (cp_rpc_dec_uint(&p, end, UINT64_MAX, &seq) != 0)
				return -EBADMSG;
		} else if (cp_rpc_key_is(k, kl, "Error") &&
			   cp_rpc_dec_strn(&p, end, &s, &sl) == 0) {
			snprintf(err, errlen, "%.*s", (int)sl, s ? s : "");
		} else {
			cp_rpc_dec_skip(&p, end);
		}
	}
	ctl_consume(c, hlen);
	if (seq != c->seq)
		return -EBADMSG;
	if (!want_body || strcmp(err, "Authentication required") == 0) {
		*body_len = 0;
		return 0;
	}
	return ctl_read_value(c, body_len);
}

/* Dial, handshake, auth. @retval 0 or an exit code (error printed). */
static int
ctl_connect(struct ctl_conn *c, const char *addr, const char *auth,
	    int timeout_s)
{
	char err[512];
	size_t bl;
	memset(c, 0, sizeof(*c));
	c->fd = ctl_dial(addr, timeout_s, err, sizeof(err));
	if (c->fd < 0)
		goto out_err;
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, 256);
	cp_rpc_enc_map(&b, 1);
	cp_rpc_enc_str(&b, "Version");
	cp_rpc_enc_uint(&b, 1);
	int rc = ctl_call(c, "handshake", &b, false, &bl, err, sizeof(err));
	if (rc == 0 && err[0] == '\0' && auth != NULL && auth[0] != '\0') {
		b.len = 0;
		cp_rpc_enc_map(&b, 1);
		cp_rpc_enc_str(&b, "AuthKey");
		cp_rpc_enc_str(&b, auth);
		rc = ctl_call(c, "auth", &b, false, &bl, err, sizeof(err));
	}
	cp_rpc_buf_destroy(&b);
	if (rc != 0)
		snprintf(err, sizeof(err), "%s", ctl_io_text(rc));
	if (rc == 0 && err[0] == '\0')
		return 0;
out_err:
	ctl_err("Error connecting to Serf agent: %s", err);
	return CTL_EXIT_RPC;
}

/* A call whose outcome is only its Error. prefix: serf's wording. */
static int
ctl_simple(struct ctl_conn *c, const char *cmd, const struct cp_rpc_buf *body,
	   const char *prefix)
{
	char err[4096];
	size_t bl;
	int rc = ctl_call(c, cmd, body, false, &bl, err, sizeof(err));
	if (rc != 0)
		snprintf(err, sizeof(err), "%s", ctl_io_text(rc));
	if (err[0] == '\0')
		return 0;
	ctl_err("%s: %s", prefix, err);
	return CTL_EXIT_RPC;
}

/* Split "k=v" into the buffer as a str pair; false if there is no '='. */
static bool
ctl_enc_pair(struct cp_rpc_buf *b, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (eq == NULL || eq == kv)
		return false;
	cp_rpc_enc_strn(b, kv, (uint32_t)(eq - kv));
	cp_rpc_enc_str(b, eq + 1);
	return true;
}

static int
ctl_join(struct ctl_conn *c, const struct ctl_opts *o)
{
	struct cp_rpc_buf b;
	char err[4096];
	size_t bl;
	cp_rpc_buf_create(&b, CTL_OUT_MAX);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "Existing");
	cp_rpc_enc_array(&b, (uint32_t)o->nb_args);
	for (int i = 0; i < o->nb_args; i++)
		cp_rpc_enc_str(&b, o->args[i]);
	cp_rpc_enc_str(&b, "Replay");
	cp_rpc_enc_bool(&b, o->replay);
	int rc = ctl_call(c, "join", &b, true, &bl, err, sizeof(err));
	cp_rpc_buf_destroy(&b);
	uint64_t num = 0;
	if (rc == 0 && bl > 0) {
		const char *p = c->in;
		uint32_t n, kl;
		const char *k;
		if (cp_rpc_dec_map(&p, c->in + bl, &n) != 0)
			n = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (cp_rpc_dec_strn(&p, c->in + bl, &k, &kl) != 0)
				break;
			if (!cp_rpc_key_is(k, kl, "Num") ||
			    cp_rpc_dec_uint(&p, c->in + bl, UINT32_MAX,
					    &num) != 0)
				cp_rpc_dec_skip(&p, c->in + bl);
		}
	}
	if (rc != 0)
		snprintf(err, sizeof(err), "%s", ctl_io_text(rc));
	if (err[0] != '\0') {
		ctl_err("Error joining the cluster: %s", err);
		return CTL_EXIT_RPC;
	}
	printf("Successfully joined cluster by contacting %llu nodes.\n",
	       (unsigned long long)num);
	return 0;
}

static int
ctl_force_leave(struct ctl_conn *c, const struct ctl_opts *o)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, CTL_OUT_MAX);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "Node");
	cp_rpc_enc_str(&b, o->args[0]);
	cp_rpc_enc_str(&b, "Prune");
	cp_rpc_enc_bool(&b, o->prune);
	int rc = ctl_simple(c, "force-leave", &b, "Error force leaving");
	cp_rpc_buf_destroy(&b);
	return rc;
}

static int
ctl_tags(struct ctl_conn *c, const struct ctl_opts *o)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, CTL_OUT_MAX);
	cp_rpc_enc_map(&b, 2);
	cp_rpc_enc_str(&b, "DeleteTags");
	if (o->nb_del == 0)
		cp_rpc_enc_nil(&b);	/* as the serf CLI sends it */
	else
		cp_rpc_enc_array(&b, (uint32_t)o->nb_del);
	for (int i = 0; i < o->nb_del; i++)
		cp_rpc_enc_str(&b, o->del[i]);
	cp_rpc_enc_str(&b, "Tags");
	cp_rpc_enc_map(&b, (uint32_t)o->nb_kv);
	for (int i = 0; i < o->nb_kv; i++)
		ctl_enc_pair(&b, o->kv[i]);	/* checked in ctl_parse */
	int rc = ctl_simple(c, "tags", &b, "Error setting tags");
	cp_rpc_buf_destroy(&b);
	if (rc == 0)
		printf("Successfully updated agent tags\n");
	return rc;
}

static int
ctl_event(struct ctl_conn *c, const struct ctl_opts *o)
{
	struct cp_rpc_buf b;
	cp_rpc_buf_create(&b, CTL_OUT_MAX);
	cp_rpc_enc_map(&b, 3);
	cp_rpc_enc_str(&b, "Coalesce");
	cp_rpc_enc_bool(&b, !o->no_coalesce);
	cp_rpc_enc_str(&b, "Name");
	cp_rpc_enc_str(&b, o->args[0]);
	cp_rpc_enc_str(&b, "Payload");
	if (o->nb_args > 1)
		cp_rpc_enc_bin(&b, o->args[1], (uint32_t)strlen(o->args[1]));
	else
		cp_rpc_enc_nil(&b);
	int rc = ctl_simple(c, "event", &b, "Error sending event");
	cp_rpc_buf_destroy(&b);
	if (rc == 0)
		printf("Event '%s' dispatched! Coalescing enabled: %s\n",
		       o->args[0], o->no_coalesce ? "false" : "true");
	return rc;
}

static int
ctl_leave(struct ctl_conn *c, const struct ctl_opts *o)
{
	(void)o;
	int rc = ctl_simple(c, "leave", NULL, "Error leaving");
	if (rc == 0)
		printf("Graceful leave complete\n");
	return rc;
}

/* One subcommand: name, positional argument bounds, runner. */
struct ctl_cmd {
	const char *name;
	int min_args;
	int max_args;
	int (*run)(struct ctl_conn *c, const struct ctl_opts *o);
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "members", 0, 0, ctl_members },
	{ "join", 1, 1024, ctl_join },
	{ "leave", 0, 0, ctl_leave },
	{ "force-leave", 1, 1, ctl_force_leave },
	{ "info", 0, 0, ctl_info },
	{ "tags", 0, 0, ctl_tags },
	{ "event", 1, 2, ctl_event },
};

/* Append a string to a growing argv-pointer list. */
static bool
ctl_push(char ***v, int *n, char *s)
{
	char **p = realloc(*v, (size_t)(*n + 1) * sizeof(*p));
	if (p == NULL)
		return false;
	p[(*n)++] = s;
	*v = p;
	return true;
}

/* Options after the subcommand. @retval 0 or CTL_EXIT_USAGE. */
static int
ctl_parse(int argc, char **argv, struct ctl_opts *o)
{
	static const struct option lo[] = {
		{ "status", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "tag", required_argument, NULL, 't' },
		{ "set", required_argument, NULL, 't' },
		{ "delete", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "detailed", no_argument, NULL, 'D' },
		{ "count", no_argument, NULL, 'C' },
		{ "summary", no_argument, NULL, 'S' },
		{ "replay", no_argument, NULL, 'r' },
		{ "prune", no_argument, NULL, 'p' },
		{ "no-coalesce", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		bool ok = true;
		switch (ch) {
		case 's': o->status = optarg; break;
		case 'n': o->name = optarg; break;
		case 't':
			ok = strchr(optarg, '=') != NULL && optarg[0] != '=' &&
			     ctl_push(&o->kv, &o->nb_kv, optarg);
			if (!ok)
				ctl_err("gossipctl: invalid tag '%s' (want K=V)",
					optarg);
			break;
		case 'd': ok = ctl_push(&o->del, &o->nb_del, optarg); break;
		case 'j': o->json = true; break;
		case 'D': o->detailed = true; break;
		case 'C': o->count = true; break;
		case 'S': o->summary = true; break;
		case 'r': o->replay = true; break;
		case 'p': o->prune = true; break;
		case 'c': o->no_coalesce = true; break;
		default: ok = false; break;
		}
		if (!ok)
			return CTL_EXIT_USAGE;
	}
	o->args = argv + optind;
	o->nb_args = argc - optind;
	return 0;
}

/* The connection options that come before the command. */
struct ctl_global {
	const char *addr;	/* --rpc-addr, $SERF_RPC_ADDR or the default */
	const char *auth;	/* --rpc-auth or $SERF_RPC_AUTH; NULL: none */
	int timeout_s;		/* --timeout, seconds; checked > 0 later */
};

/* ctl_global_parse found a command at argv[*i]: go on. */
#define CTL_GO_ON (-1)

/* Options before the command; the exit code when usage ends the run. */
static int
ctl_global_parse(int argc, char **argv, struct ctl_global *g, int *i)
{
	g->addr = getenv("SERF_RPC_ADDR");
	g->auth = getenv("SERF_RPC_AUTH");
	g->timeout_s = 30;
	for (*i = 1; *i < argc && strncmp(argv[*i], "--", 2) == 0; *i += 2) {
		const char *opt = argv[*i];

		if (strcmp(opt, "--help") == 0)
			return ctl_usage(NULL);
		if (strncmp(opt, "--rpc-addr=", 11) == 0) {
			g->addr = opt + 11;
			--*i;	/* one word, not two */
			continue;
		}
		if (*i + 1 >= argc)
			return ctl_usage("missing option value");
		if (strcmp(opt, "--rpc-addr") == 0)
			g->addr = argv[*i + 1];
		else if (strcmp(opt, "--rpc-auth") == 0)
			g->auth = argv[*i + 1];
		else if (strcmp(opt, "--timeout") == 0)
			g->timeout_s = atoi(argv[*i + 1]);
		else
			return ctl_usage("unknown option");
	}
	if (*i >= argc)
		return ctl_usage("missing command");
	if (strcmp(argv[*i], "help") == 0 || strcmp(argv[*i], "-h") == 0)
		return ctl_usage(NULL);
	if (g->addr == NULL || g->addr[0] == '\0')
		g->addr = "127.0.0.1:7373";
	return CTL_GO_ON;
}

/* The subcommand called name, or NULL. */
static const struct ctl_cmd *
ctl_cmd_find(const char *name)
{
	const struct ctl_cmd *cmd = NULL;

	for (size_t k = 0; k < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); k++) {
		if (strcmp(ctl_cmds[k].name, name) == 0)
			cmd = &ctl_cmds[k];
	}
	return cmd;
}

/* Parse cmd's own options, connect, run it, clean up: the exit code. */
static int
ctl_run(const struct ctl_cmd *cmd, const struct ctl_global *g, int argc,
	char **argv)
{
	struct ctl_opts o = { 0 };
	struct ctl_conn c = { .fd = -1 };
	int rc = ctl_parse(argc, argv, &o);

	if (rc == 0 && (o.nb_args < cmd->min_args || o.nb_args > cmd->max_args))
		rc = ctl_usage("wrong number of arguments");
	if (rc == 0 && g->timeout_s <= 0)
		rc = ctl_usage("bad --timeout");
	if (rc == 0)
		rc = ctl_connect(&c, g->addr, g->auth, g->timeout_s);
	if (rc == 0)
		rc = cmd->run(&c, &o);
	if (c.fd >= 0)
		close(c.fd);
	free(c.in);
	free(o.kv);
	free(o.del);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd *cmd;
	struct ctl_global g;
	int i;
	int rc = ctl_global_parse(argc, argv, &g, &i);

	if (rc != CTL_GO_ON)
		return rc;
	cmd = ctl_cmd_find(argv[i]);
	if (cmd == NULL)
		return ctl_usage("unknown command");
	return ctl_run(cmd, &g, argc - i, argv + i);
}
