/*
 * reass.h: the receive side's out-of-order bookkeeping (RFC 9293 3.10.7.4 seventh, SHLD-31)
 * and the SACK blocks it reports (RFC 2018 4). Pure: no I/O, no clock, no allocation, no
 * global state; the caller owns the struct.
 *
 * Read first: RFC 9293 3.10.7.4 ("Seventh, process the segment text"), RFC 2018 4 (which
 * blocks a receiver reports, and in which order) and RFC 2018 7 (the worked examples).
 *
 * Model. Out-of-order bytes are stored by the caller straight into the receive ring at their
 * offset (ring_write_at), so this module keeps only WHICH sequence ranges beyond RCV.NXT
 * have arrived: at most REASS_MAX_RANGES disjoint, non-adjacent ranges [left, right). The
 * array is kept in recency order: range[0] holds the most recently received segment, and
 * every add moves the range it lands in to the front. That order is exactly the order
 * RFC 2018 4 asks for in the SACK option, provided every segment added is answered by an
 * ACK carrying SACK blocks (which RFC 9293 and RFC 5681 4.2 require for out-of-order data).
 *
 * Bounded in memory: when all REASS_MAX_RANGES slots are in use, a range that neither
 * overlaps nor touches a held one is refused (SYNACK_ENOBUFS) and the caller drops that
 * segment; the peer sends it again. A range that extends a held one is always accepted.
 *
 * The FIN: a FIN that arrives beyond RCV.NXT is remembered here (reass_set_fin) and
 * reported by reass_fin_reached() once RCV.NXT has caught up with it.
 *
 * How the engine uses it, for a data segment trimmed to the window to [seq, seq + n):
 *   - seq == RCV.NXT (in order): ring_write() the bytes, RCV.NXT += n, then
 *         nxt = reass_advance(r, RCV.NXT); ring_commit(rcv, nxt - RCV.NXT); RCV.NXT = nxt;
 *     (bytes that had arrived out of order beyond the segment are already in the ring).
 *   - seq > RCV.NXT (out of order): if reass_add(r, seq, seq + n) == 0, ring_write_at() the
 *     bytes at offset rcv.len + (seq - RCV.NXT); otherwise drop them. Either way ACK at once
 *     with SACK blocks from reass_sack_blocks() (RFC 5681 4.2, RFC 2018 4).
 *   - a FIN in a segment that ends beyond RCV.NXT: reass_set_fin(r, seq + n); after every
 *     advance, if reass_fin_reached(r, RCV.NXT), process the FIN (RFC 9293 3.10.7.4 eighth),
 *     RCV.NXT += 1, and call reass_drop_below(r, RCV.NXT), which forgets it.
 *
 * All sequence comparisons use seq.h, so everything works across the 2^32 wrap, as long as
 * the ranges held lie within 2^31 of RCV.NXT (true for any window RFC 7323 allows).
 *
 * Size: sizeof(struct reass) is 72 bytes with REASS_MAX_RANGES 8 (8 bytes per range + 8).
 * An idle connection holds no ranges, so the engine may also keep this struct in memory it
 * allocates with the receive buffer.
 */
#ifndef SYNACK_REASS_H
#define SYNACK_REASS_H

#include <stdbool.h>
#include <stdint.h>

#include "wire/wire.h"

#define REASS_MAX_RANGES 8 /* out-of-order ranges held at once ("holes" + 1 at most) */

struct reass {
    /* Ranges [left, right) received beyond RCV.NXT, range[0 .. count): disjoint, never
     * adjacent (touching ranges are merged), most recently added first. */
    struct wire_sack_block range[REASS_MAX_RANGES];
    uint32_t fin_seq;          /* the sequence number the peer's FIN occupies, if fin_known */
    uint8_t count;             /* ranges held, 0 .. REASS_MAX_RANGES */
    bool fin_known;            /* a FIN beyond RCV.NXT has been seen */
};

/* Empties r: no ranges, no FIN. Can't fail. */
void reass_init(struct reass *r);

/* True when no out-of-order data is held. */
static inline bool reass_empty(const struct reass *r) { return r->count == 0; }

/* Records that the bytes [left, right) have arrived (out of order). The range is merged with
 * every held range it overlaps or touches, and the result becomes the most recent range.
 * The caller has trimmed it to the receive window; it MUST lie beyond RCV.NXT and span less
 * than 2^31 bytes. An empty range (left == right) changes nothing.
 * Returns 0 when recorded (also when it was held already), SYNACK_ENOBUFS when it would need
 * a new slot and all REASS_MAX_RANGES are in use (nothing changes; drop the segment), or
 * SYNACK_EINVAL when right is before left. O(REASS_MAX_RANGES). */
int reass_add(struct reass *r, uint32_t left, uint32_t right);

/* How far RCV.NXT can move: the right edge of the held range that contains rcv_nxt (the one
 * with left <= rcv_nxt < right), or rcv_nxt itself when there is none. Changes nothing.
 * O(REASS_MAX_RANGES). */
uint32_t reass_contiguous(const struct reass *r, uint32_t rcv_nxt);

/* RCV.NXT moved to rcv_nxt: forgets every range (part) below it, and a remembered FIN below
 * it. Ranges above keep their recency order. Can't fail. O(REASS_MAX_RANGES). */
void reass_drop_below(struct reass *r, uint32_t rcv_nxt);

/* reass_contiguous() then reass_drop_below() at the result: returns the new RCV.NXT
 * (>= rcv_nxt), with the data it covers no longer held here. */
uint32_t reass_advance(struct reass *r, uint32_t rcv_nxt);

/* Fills out[0 .. k) with SACK blocks in the order RFC 2018 4 prescribes: first the range
 * holding the most recently added segment, then the others from the most to the least
 * recently added. k = min(max, count); max <= 0 gives 0. Returns k. The caller sends them
 * only when SACK was negotiated, and asks for at most what fits in the header (4, or 3
 * with timestamps; RFC 2018 3). */
int reass_sack_blocks(const struct reass *r, struct wire_sack_block *out, int max);

/* Remembers that the peer's FIN occupies sequence number fin_seq (beyond RCV.NXT). A FIN
 * already remembered is kept: a second, different one from the same peer is ignored. */
void reass_set_fin(struct reass *r, uint32_t fin_seq);

/* True when a remembered FIN sits at rcv_nxt: every byte before it has arrived, so the
 * FIN is to be processed now (RFC 9293 3.10.7.4 eighth). */
bool reass_fin_reached(const struct reass *r, uint32_t rcv_nxt);

#endif /* SYNACK_REASS_H */
