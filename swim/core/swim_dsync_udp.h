/**
 * @file
 * Delta sync's HELLO over UDP (docs/delta-sync.md §4a): between two peers
 * that both advertise SWIM_DSYNC_CAP_UDP the exchange starts with one
 * datagram each way instead of a TCP connection.
 *
 *   initiator                              peer
 *   UHELLO {nonce, count, root}    ---->   (its core, in swim_on_packet)
 *                                  <----   UANSWER {nonce, INSYNC|DIFFER,
 *                                                   count, root}
 *   INSYNC: done.  DIFFER, or no answer within cfg.probe_timeout_us
 *   (the first in a row only): SWIM_OUT_PUSH_PULL with the peer (join
 *   false), which control runs as the TCP delta exchange (swim_dsync.h).
 *
 * The initiator opens the TCP exchange, not the peer: it already waits
 * for the outcome (periodic push/pull reporting, the interval's busy
 * flag, fallbacks), and a forged HELLO cannot make a node connect
 * anywhere. Both datagrams go through the core's normal UDP output (CRC
 * per the peer's PMax, then control's labels and sealing). They are sent
 * bare: 25 bytes never shrink under LZW, and a compound would hide the
 * HELLO from the codec's walker (it skips unknown parts). The answer is
 * shorter than the HELLO: no amplification. The types are outside
 * memberlist's range and the stream's (0xd0..0xd7): a stream never
 * starts with one, and memberlist peers never get one (only capable
 * peers are chosen).
 *
 * A lost datagram costs the next interval, except that the first
 * unanswered HELLO after an answered one falls back to the TCP exchange
 * (so one loss does not stretch the convergence bound by an interval);
 * a second one in a row does not (a peer or path that drops UDP does
 * not turn every interval into a TCP connection).
 *
 * Stability: additive to swim_dsync.h's contract.
 */
#ifndef SWIM_DSYNC_UDP_H_INCLUDED
#define SWIM_DSYNC_UDP_H_INCLUDED

#include "swim_dsync.h"

/** Datagram types; append only — values are on the wire. */
enum swim_dsync_udp_type {
	SWIM_DSYNC_UDP_HELLO = 0xd8,	/* initiator -> peer */
	SWIM_DSYNC_UDP_ANSWER = 0xd9,	/* peer -> initiator */
};
/* type, body length u32 (20), then version u8, flags u8, 0 u16,
 * nonce u32, count u32, root u64 */
#define SWIM_DSYNC_UHELLO_LEN (SWIM_DSYNC_HDR_LEN + 20u)
/* type, body length u32 (17), then nonce u32, verdict u8, count u32,
 * root u64 */
#define SWIM_DSYNC_UANSWER_LEN (SWIM_DSYNC_HDR_LEN + 17u)
/** HELLOs one core waits on at once (the interval's, periodic ones). */
#define SWIM_DSYNC_UDP_PENDING 4u

/** UANSWER verdicts; append only — values are on the wire. */
enum swim_dsync_verdict {
	SWIM_DSYNC_VERDICT_INSYNC = 1,	/* counts and roots equal */
	SWIM_DSYNC_VERDICT_DIFFER = 2,	/* open the TCP exchange */
};

struct swim_dsync_uhello {
	uint8_t version;	/* SWIM_DSYNC_VERSION */
	uint8_t flags;		/* 0; unknown bits are ignored */
	uint32_t nonce;		/* echoed in the answer */
	uint32_t count;		/* the initiator's counted members */
	uint64_t root;		/* the initiator's digest root */
};

struct swim_dsync_uanswer {
	uint32_t nonce;		/* the HELLO's */
	uint8_t verdict;	/* enum swim_dsync_verdict */
	uint32_t count;		/* the answering side's */
	uint64_t root;		/* the answering side's */
};

/**
 * Encoders return the bytes written or SWIM_DSYNC_E_NOSPACE. Decoders
 * take the whole datagram (after CRC, labels, sealing) and return its
 * length or: SWIM_DSYNC_E_TRUNCATED (shorter than the message),
 * _E_TYPE (another type), _E_LENGTH (a body length not the type's, or
 * bytes after the message), _E_VERSION (HELLO), _E_RANGE (an unknown
 * verdict).
 */
int swim_dsync_encode_uhello(const struct swim_dsync_uhello *h,
			     uint8_t *out, size_t cap);
int swim_dsync_decode_uhello(const uint8_t *buf, size_t len,
			     struct swim_dsync_uhello *h);
int swim_dsync_encode_uanswer(const struct swim_dsync_uanswer *a,
			      uint8_t *out, size_t cap);
int swim_dsync_decode_uanswer(const uint8_t *buf, size_t len,
			      struct swim_dsync_uanswer *a);

/** Does the member advertise SWIM_DSYNC_CAP_UDP? O(1). False if unknown. */
bool swim_member_dsync_udp_capable(const struct swim *s, const char *name,
				   size_t len);

/**
 * Start an exchange with member `name` by a UDP HELLO (queued as a
 * SWIM_OUT_PACKET). Its outcome: nothing more (INSYNC), or a
 * SWIM_OUT_PUSH_PULL with the member (DIFFER, or the fallback).
 * @retval 0; -EPERM: we or it lack SWIM_DSYNC_CAP_UDP, or it is not an
 *         alive member; -EBUSY: SWIM_DSYNC_UDP_PENDING HELLOs wait
 *         already; -ENOMEM. On an error nothing was sent (the caller
 *         opens the TCP exchange itself).
 */
int swim_dsync_udp_hello(struct swim *s, uint64_t now_us, const char *name,
			 size_t len);

/** Probe intervals a wanted HELLO waits for a capable probe target. */
#define SWIM_DSYNC_WANT_PROBES 3u

/**
 * Send the next HELLO with a probe: right after the ping of the next
 * probe whose target is a capable alive member. The peer then wakes once
 * for both datagrams and the answer comes back with the ack, so an idle
 * node spends no wakeup of its own on delta sync (docs/delta-sync.md).
 * @retval 0 waiting; -EPERM: we lack SWIM_DSYNC_CAP_UDP; -EALREADY: a
 *         wanted HELLO waits already.
 */
int swim_dsync_udp_want(struct swim *s, uint64_t now_us);

/**
 * The wanted HELLO's fate. @retval 0: sent with a probe (or none was
 * wanted); -EINPROGRESS: still waiting; -ETIMEDOUT: no probe went to a
 * capable member for SWIM_DSYNC_WANT_PROBES probe intervals: no longer
 * wanted, the caller starts the exchange another way.
 */
int swim_dsync_udp_want_poll(struct swim *s, uint64_t now_us);

/** What the UDP HELLO path did. Every datagram it takes is counted. */
struct swim_dsync_udp_stats {
	uint64_t hellos_out;	/* HELLOs sent */
	uint64_t hellos_on_probe; /* of them, right after a probe's ping */
	uint64_t hellos_in;	/* valid HELLOs answered */
	uint64_t insync_out;	/* we answered INSYNC */
	uint64_t differ_out;	/* we answered DIFFER */
	uint64_t insync_in;	/* INSYNC answers to our HELLOs */
	uint64_t differ_in;	/* DIFFER answers: TCP exchange asked */
	uint64_t timeouts;	/* HELLOs with no answer in time */
	uint64_t fallbacks;	/* of those, TCP exchanges asked */
	uint64_t stale;		/* answers to no HELLO we wait on */
	uint64_t disabled;	/* HELLOs dropped: we lack CAP_UDP */
	uint64_t bytes;		/* HELLO and answer datagrams' bytes, both
				   ways (CRC included; no label, seal) */
	/* malformed datagrams by reason: drops[-err - 201] for
	 * SWIM_DSYNC_E_TRUNCATED (-201) .. SWIM_DSYNC_E_ABORTED (-210) */
	uint64_t drops[10];
	int last_err;		/* the last drop's reason, 0: none yet */
};

void swim_dsync_udp_get_stats(const struct swim *s,
			      struct swim_dsync_udp_stats *st);

#endif /* SWIM_DSYNC_UDP_H_INCLUDED */
