/*
 * sack.h: the sender's SACK scoreboard and the loss recovery of RFC 6675, sans-I/O. Pure:
 * no I/O, no clock, no allocation, no global state; the caller owns the struct.
 *
 * Read first: RFC 6675 2 (definitions: HighACK, HighData, HighRxt, RescueRxt, RecoveryPoint,
 * DupThresh), 3 (keeping the scoreboard), 4 (Update, IsLost, SetPipe, NextSeg), 5 (the
 * algorithm: entering recovery, steps A-C), 5.1 (RTO); RFC 2018 5 and 8 (what a SACK block
 * means, reneging); RFC 2883 4 (D-SACK).
 *
 * Conventions. Every sequence point here is an EXCLUSIVE end, like SND.UNA and SND.MAX,
 * where RFC 6675 names the last octet (inclusive):
 *   HighACK + 1         = snd_una        (the caller passes it)
 *   HighData + 1        = snd_max        (the caller passes it: the highest SND.NXT ever)
 *   HighRxt + 1         = b->high_rxt    (one past the highest octet retransmitted in this
 *                                          recovery; from sack_enter_recovery() on)
 *   RescueRxt + 1       = b->rescue_rxt
 *   RecoveryPoint + 1   = b->recovery_point (SND.MAX when recovery or the RTO began)
 * so "S2 > HighRxt" reads seq_geq(S2, high_rxt), and "HighACK > RescueRxt" reads
 * seq_gt(snd_una, rescue_rxt).
 *
 * The scoreboard holds the SACKed ranges above SND.UNA: at most SACK_MAX_RANGES disjoint,
 * non-adjacent ranges, sorted by sequence number. When a new range would need a slot and
 * none is free, the range farthest from SND.UNA is forgotten (or the new one, if it is the
 * farthest): the ranges nearest SND.UNA are the ones NextSeg() walks. Forgetting SACK
 * information is always safe (RFC 2018 5: SACK is advisory): the bytes count as not SACKed,
 * which can only make pipe larger and retransmissions more, never fewer.
 *
 * How the engine uses it (RFC 6675 5; DupAcks stays the engine's counter):
 *   - on every acceptable ACK (SND.UNA =< SEG.ACK =< SND.MAX), after moving SND.UNA:
 *       sack_update(b, snd_una, snd_max, seg->opts.sack, seg->opts.sack_count, &news);
 *     news.newly_sacked > 0 is RFC 6675 2's SACK test of a duplicate ACK: it SACKs octets
 *     between HighACK and HighData that were neither acknowledged nor SACKed before.
 *   - not in recovery, on a duplicate ACK: if DupAcks >= SACK_DUP_THRESH or
 *     sack_is_lost(b, snd_una, smss), and sack_may_recover(b, snd_una): enter recovery:
 *     cc_enter_recovery(), sack_enter_recovery(b, snd_una, snd_max, smss, &seg), send seg.
 *   - in recovery, on each ACK: if sack_recovery_done(b, snd_una): sack_exit_recovery(b) and
 *     cc_exit_recovery(); otherwise (RFC 6675 5 step C) while
 *     cwnd - sack_pipe(b, snd_una, snd_max, smss) >= smss: k = sack_next_seg(...); send it
 *     (for SACK_NEXT_NEW: new data at SND.MAX as usual); sack_sent(b, k, &seg).
 *   - on a retransmission timeout: sack_on_rto(b, snd_max).
 *
 * Size: sizeof(struct sack_board) is 80 bytes with SACK_MAX_RANGES 8 (8 bytes per range +
 * 16). It is empty whenever nothing is outstanding, so an idle connection can keep it in
 * memory allocated together with the send buffer.
 */
#ifndef SYNACK_SACK_H
#define SYNACK_SACK_H

#include <stdbool.h>
#include <stdint.h>

#include "wire/wire.h"

#define SACK_MAX_RANGES 8  /* SACKed ranges remembered above SND.UNA */
#define SACK_DUP_THRESH 3  /* DupThresh of RFC 6675 2 (and RFC 5681 3.2), segments */

struct sack_board {
    /* SACKed ranges [left, right), range[0 .. count): above SND.UNA, at or below SND.MAX,
     * disjoint, not adjacent, ascending. */
    struct wire_sack_block range[SACK_MAX_RANGES];
    uint32_t high_rxt;         /* HighRxt + 1 (see above) */
    uint32_t rescue_rxt;       /* RescueRxt + 1 */
    uint32_t recovery_point;   /* RecoveryPoint + 1: no new recovery before SND.UNA gets here */
    uint8_t count;             /* ranges held */
    bool in_recovery;          /* between sack_enter_recovery() and the end of recovery */
};

/* What one ACK's SACK option told the scoreboard. */
struct sack_news {
    uint32_t newly_sacked;     /* bytes SACKed by this ACK that were not SACKed before */
    uint8_t dsack;             /* blocks read as D-SACK (RFC 2883 4): duplicates reported */
    uint8_t invalid;           /* blocks ignored as impossible (beyond SND.MAX, reversed) */
};

/* A segment to (re)transmit: the bytes [seq, seq + len). */
struct sack_seg {
    uint32_t seq;
    uint32_t len;
};

/* What NextSeg() chose (RFC 6675 4, NextSeg rules 1-4). */
enum sack_next {
    SACK_NEXT_NONE = 0,   /* nothing may be sent now */
    SACK_NEXT_LOST,       /* rule 1: retransmit a segment deemed lost */
    SACK_NEXT_NEW,        /* rule 2: send up to SMSS of new data at SND.MAX (the caller's) */
    SACK_NEXT_HOLE,       /* rule 3: retransmit an unSACKed segment not yet deemed lost */
    SACK_NEXT_RESCUE,     /* rule 4: the one rescue retransmission of this recovery */
};

/* Empties the scoreboard for a connection whose first sequence number is iss (SND.UNA =
 * ISS): no ranges, not in recovery, RecoveryPoint = ISS. Can't fail. */
void sack_init(struct sack_board *b, uint32_t iss);

/* RFC 6675 4 Update(), for an acceptable ACK: forgets everything below snd_una (the new
 * SND.UNA: cumulatively acknowledged), then records the n SACK blocks of the ACK:
 *   - a block that ends at or below snd_una is a D-SACK (RFC 2883 4) and counted as such;
 *   - a first block that lies inside the second is a D-SACK too (RFC 2883 4), recorded;
 *   - a block that ends beyond snd_max, or whose right edge is not after its left edge, is
 *     impossible and ignored (counted in invalid);
 *   - a block that starts below snd_una is trimmed to start there.
 * news (may be NULL) receives what the ACK told. n <= 0 with blocks NULL is allowed.
 * O(n * SACK_MAX_RANGES). */
void sack_update(struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                 const struct wire_sack_block *blocks, int n, struct sack_news *news);

/* True when the octet seq is SACKed. */
bool sack_is_sacked(const struct sack_board *b, uint32_t seq);

/* Bytes SACKed above SND.UNA (the sum of the ranges). */
uint32_t sack_sacked_bytes(const struct sack_board *b);

/* RFC 6675 4 IsLost(seq): true when SACK_DUP_THRESH discontiguous SACKed ranges lie above
 * seq, or more than (SACK_DUP_THRESH - 1) * smss SACKed bytes have sequence numbers greater
 * than seq. smss > 0. O(SACK_MAX_RANGES). */
bool sack_is_lost(const struct sack_board *b, uint32_t seq, uint32_t smss);

/* RFC 6675 4 SetPipe(): the bytes estimated in flight: over the octets S1 in [snd_una,
 * snd_max) that are not SACKed, one for each S1 that IsLost() does not call lost, plus one
 * for each S1 below b->high_rxt (retransmitted in this recovery). Computed over ranges, not
 * octets: O(SACK_MAX_RANGES). */
uint32_t sack_pipe(const struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                   uint32_t smss);

/* RFC 6675 4 NextSeg(): what to send next during recovery. can_send_new says that unsent
 * data is queued and the peer's window allows at least part of a segment of it (rule 2).
 * For LOST, HOLE and RESCUE, *out is the segment to retransmit: at most smss bytes, never
 * beyond SND.MAX, and for LOST and HOLE never into a SACKed range. For NEW and NONE, *out
 * is left unchanged. Changes nothing: report what was sent with sack_sent(). */
enum sack_next sack_next_seg(const struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                             uint32_t smss, bool can_send_new, struct sack_seg *out);

/* RFC 6675 5 (C.2): the segment *seg chosen by sack_next_seg() as kind has been sent.
 * LOST and HOLE move HighRxt up to its end; RESCUE sets RescueRxt to RecoveryPoint and
 * leaves HighRxt alone (NextSeg rule 4); NEW and NONE change nothing (the caller moves
 * SND.MAX, i.e. HighData, as for any new data, C.3). */
void sack_sent(struct sack_board *b, enum sack_next kind, const struct sack_seg *seg);

/* False while in recovery, and until SND.UNA has reached the RecoveryPoint of the last
 * recovery or RTO (RFC 6675 5.1; RFC 6582 3.2 step 2 reads "recover" the same way). */
bool sack_may_recover(const struct sack_board *b, uint32_t snd_una);

/* RFC 6675 5 step 4: enters loss recovery. RecoveryPoint = snd_max; *first receives the
 * first segment presumed lost, [snd_una, snd_una + up to smss), stopping at the first
 * SACKed byte and at snd_max, for the caller to send at once (4.3); HighRxt and RescueRxt
 * are set to its end. snd_una MUST be before snd_max. The caller sets cwnd and ssthresh
 * (cc_enter_recovery) and runs SetPipe (4.4). */
void sack_enter_recovery(struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                         uint32_t smss, struct sack_seg *first);

/* RFC 6675 5 (A): a cumulative ACK at or past RecoveryPoint + 1 (snd_una >= recovery_point)
 * ends recovery. True when in recovery and snd_una got there. */
bool sack_recovery_done(const struct sack_board *b, uint32_t snd_una);

/* Leaves recovery (the scoreboard is kept; it is empty when recovery ended normally). */
void sack_exit_recovery(struct sack_board *b);

/* A retransmission timeout: leaves recovery, RecoveryPoint = snd_max (RFC 6675 5.1: no new
 * recovery until SND.UNA gets there), and forgets every SACKed range (RFC 2018 8: the
 * timeout may mean the receiver reneged; SACKs that arrive later are recorded again). */
void sack_on_rto(struct sack_board *b, uint32_t snd_max);

#endif /* SYNACK_SACK_H */
