/* SPDX-License-Identifier: MIT */
/*
 * A push/pull peer for tests and the scale bench: a SWIM core behind a
 * cp_sync engine on 127.0.0.1, with streamed push/pull callbacks that
 * use swim_pp_enc/dec and a canned user state (or the whole-message
 * callbacks: the path before streaming). Many peers share one epoll.
 */
#ifndef PP_PEER_H_INCLUDED
#define PP_PEER_H_INCLUDED

#include "cp.h"
#include "cp_sync_pp.h"
#include "swim.h"

struct pp_peer {
	struct swim *swim;
	struct cp_sync *sync;
	char name[32];
	int nb_done;		/* outbound push/pulls finished */
	int last_err;		/* their err */
	size_t user_len;	/* user state we send: user_len bytes of 'u' */
	size_t user_in;		/* user state bytes merged */
	uint64_t nb_events;	/* core events drained */
	size_t peak_buf;	/* largest stream buffer seen (pp_peer_pump) */
	uint64_t max_slice_us;	/* longest reactor pass seen (CPU) */
	uint64_t bytes_out;	/* push/pull bytes our encoder produced */
	uint32_t max_grow;	/* most members added in one reactor pass */
};

/**
 * A core named name on 127.0.0.1 with an engine on any port; streamed
 * (pp ops) or the whole-message path with max_bytes (0: default).
 */
void pp_peer_init(struct pp_peer *p, int epfd, const char *name,
		  bool streamed, size_t max_bytes);
/** pp_peer_init advertising vsn_caps as Vsn[6] (0: none). */
void pp_peer_init_caps(struct pp_peer *p, int epfd, const char *name,
		       bool streamed, size_t max_bytes, uint8_t vsn_caps);
void pp_peer_fini(struct pp_peer *p);
/** The engine's address. */
void pp_peer_addr(const struct pp_peer *p, struct swim_addr *a);
/** Merge n synthetic alive members "<prefix>-<i>" into p's table. */
void pp_peer_fill(struct pp_peer *p, const char *prefix, uint32_t n);
/** Encode node i of the synthetic set into out. @retval bytes or < 0. */
int pp_peer_node(const char *prefix, uint32_t i, uint8_t *out, size_t cap);
/** Pump the shared epoll for up to ms, or until *flag; drains events,
 * tracks peak_buf and max_slice_us of every peer in ps. */
void pp_peer_pump(int epfd, struct pp_peer **ps, unsigned nb, int ms,
		  const int *flag);

#endif /* PP_PEER_H_INCLUDED */
