/* SPDX-License-Identifier: MIT */
/**
 * @file
 * gossip-sim's delta sync (swim/swim_dsync.h): with --sync delta every
 * periodic push/pull between two members runs the digest exchange in
 * process instead, then push/pulls restricted to the differing leaves.
 */
#ifndef GSIM_DSYNC_H_INCLUDED
#define GSIM_DSYNC_H_INCLUDED

#include "gsim.h"

/** Install the exchange on sim when o asks for it. @retval 0 or -1. */
int gsim_dsync_attach(struct sim *sim, const struct gsim_opt *o,
		      struct gsim_result *r);
/** Free what attach allocated (safe without attach). */
void gsim_dsync_detach(void);

#endif /* GSIM_DSYNC_H_INCLUDED */
