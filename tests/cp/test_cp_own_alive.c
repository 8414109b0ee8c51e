/* SPDX-License-Identifier: MIT */
/*
 * A starting daemon's own alive keeps all its transmits for its join
 * (control/cp_loop.c, the fast-path snapshot's piggyback). memberlist
 * sends a new node's alive RetransmitMult * ceil(log10(n + 1)) = 4 times,
 * each to a member; the alive is queued before the join, when the daemon
 * knows nobody, so no ack can carry it yet and a snapshot taken then
 * spends one of the 4 on nothing. Loopback captures of it_mixed showed
 * each gossipd's own alive in 3 gossip packets (a serf agent's in 4), the
 * fourth only on fast-path acks to pingers, who know it already: one
 * random member fewer hears of the new node before the first push/pull.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cp.h"
#include "cp_fixture.h"
#include "dp_internal.h"
#include "swim_msg.h"

/* Takes of the core's piggyback holding an alive, in @p rounds takes. */
static unsigned
alive_takes(struct cp *cp, unsigned rounds)
{
	uint8_t buf[1400];
	unsigned hits = 0;

	for (unsigned r = 0; r < rounds; r++) {
		unsigned nb = 0;
		size_t len = swim_take_piggyback(cp->swim, buf, sizeof(buf),
						 &nb);
		bool found = false;

		/* parts: u16 length, then the message (type byte first) */
		for (size_t off = 0; off + 3 <= len && nb > 0; nb--) {
			size_t plen = ((size_t)buf[off] << 8) | buf[off + 1];

			if (off + 2 + plen > len)
				break;
			if (plen > 0 && buf[off + 2] == SWIM_MSG_ALIVE)
				found = true;
			off += 2 + plen;
		}
		hits += found;
	}
	return hits;
}

Test(cp_own_alive, the_first_publish_spends_none_of_its_transmits)
{
	struct cp *cp = cp_fx_daemon_new("d1");

	/* the first turns publish the first snapshot (name, ack payload) */
	for (int i = 0; i < 3; i++)
		cp_loop_once(cp);
	cr_assert_eq(swim_member_count(cp->swim), 1, "no join: alone");
	cr_assert_geq(atomic_load(&cp->dp->pub.gen), 1, "published");
	unsigned got = alive_takes(cp, 8);

	cr_assert_eq(got, 4, "own alive taken %u times, not 4 * "
		     "ceil(log10(1 + 1)): the first snapshot spent one", got);
	cp_fx_daemon_delete(cp);
}
