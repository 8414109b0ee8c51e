/* SPDX-License-Identifier: MIT */
/*
 * When the TCP sync engine next needs cp_sync_expire: the earliest stream
 * deadline. The control loop sleeps until then at the latest, rather than
 * waking every millisecond to look. Control thread only.
 */
#include "cp_sync_int.h"

uint64_t
cp_sync_next_deadline(const struct cp_sync *sync)
{
	uint64_t next = UINT64_MAX;

	/* no stream open (the idle case): nothing to scan */
	for (unsigned i = 0; i < sync->cfg.max_streams && sync->nb_sess > 0;
	     i++)
		if (sync->sess[i] != NULL && sync->sess[i]->deadline_us < next)
			next = sync->sess[i]->deadline_us;
	return next;
}
