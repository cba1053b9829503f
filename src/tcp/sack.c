/*
 * sack.c: the SACK scoreboard and RFC 6675 loss recovery (see sack.h for the conventions and
 * how the engine calls it).
 *
 * Read first: RFC 6675 2, 4, 5 and 5.1; RFC 2018 5 and 8; RFC 2883 4.
 *
 * Invariant kept by every function: range[0 .. count) are non-empty, disjoint, not
 * adjacent, and ascending (range[i].right < range[i + 1].left, modulo 2^32).
 *
 * IsLost() is monotone: moving seq up can only remove SACKed ranges and bytes from above it.
 * So the octets IsLost() calls lost are exactly the unSACKed octets below one point, the
 * "lost edge", and both SetPipe() and NextSeg() work on whole holes (the unSACKed intervals
 * between the ranges) instead of on single octets.
 */
#include "tcp/sack.h"

#include <string.h>

#include "tcp/seq.h"

void sack_init(struct sack_board *b, uint32_t iss)
{
    memset(b, 0, sizeof *b);
    b->high_rxt = iss;
    b->rescue_rxt = iss;
    b->recovery_point = iss;
}

/* ---- The ranges ------------------------------------------------------------------------ */

static uint32_t range_len(const struct wire_sack_block *r) { return r->right - r->left; }

/* Forgets what lies below snd_una: cumulatively acknowledged (RFC 6675 4 Update()). */
static void drop_below(struct sack_board *b, uint32_t snd_una)
{
    int keep = 0;
    for (int i = 0; i < b->count; i++) {
        struct wire_sack_block r = b->range[i];
        if (seq_leq(r.right, snd_una))
            continue;
        if (seq_lt(r.left, snd_una))
            r.left = snd_una;
        b->range[keep++] = r;
    }
    b->count = (uint8_t)keep;
}

/* Bytes of [left, right) that no held range covers. */
static uint32_t uncovered(const struct sack_board *b, uint32_t left, uint32_t right)
{
    uint32_t n = right - left;
    for (int i = 0; i < b->count; i++) {
        uint32_t lo = seq_max(left, b->range[i].left);
        uint32_t hi = seq_min(right, b->range[i].right);
        if (seq_lt(lo, hi))
            n -= hi - lo;
    }
    return n;
}

/* Adds [left, right) (non-empty) keeping the invariant: merges what it overlaps or touches;
 * when it needs a slot and none is free, the highest range goes (maybe the new one). */
static void insert(struct sack_board *b, uint32_t left, uint32_t right)
{
    int i = 0;
    while (i < b->count && seq_lt(b->range[i].right, left))
        i++; /* range[i] is the first that ends at or after left */
    int j = i;
    while (j < b->count && seq_leq(b->range[j].left, right)) {
        left = seq_min(left, b->range[j].left);
        right = seq_max(right, b->range[j].right);
        j++; /* range[i .. j) overlap or touch the new range */
    }
    if (j > i) {
        b->range[i].left = left;
        b->range[i].right = right;
        memmove(&b->range[i + 1], &b->range[j], (size_t)(b->count - j) * sizeof b->range[0]);
        b->count = (uint8_t)(b->count - (j - i - 1));
        return;
    }
    if (b->count == SACK_MAX_RANGES) {
        if (i == b->count)
            return; /* the new range is the highest: it is the one forgotten */
        b->count--; /* forget the highest to make room */
    }
    memmove(&b->range[i + 1], &b->range[i], (size_t)(b->count - i) * sizeof b->range[0]);
    b->range[i].left = left;
    b->range[i].right = right;
    b->count++;
}

void sack_update(struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                 const struct wire_sack_block *blocks, int n, struct sack_news *news)
{
    struct sack_news nw = {0, 0, 0};
    drop_below(b, snd_una);
    /* Outside recovery RecoveryPoint trails SND.UNA, so that it never falls 2^31 behind. */
    if (!b->in_recovery && seq_geq(snd_una, b->recovery_point))
        b->recovery_point = snd_una;
    for (int k = 0; k < n; k++) {
        uint32_t left = blocks[k].left, right = blocks[k].right;
        if (!seq_lt(left, right) || seq_gt(right, snd_max)) {
            nw.invalid++; /* reversed, empty, or SACKs what was never sent */
            continue;
        }
        if (seq_leq(right, snd_una)) {
            nw.dsack++; /* RFC 2883 4: below the cumulative ACK, a duplicate reported */
            continue;
        }
        /* RFC 2883 4: a first block inside the second reports a duplicate above the ACK.
         * Those bytes did arrive, so it is recorded like any other block. */
        if (k == 0 && n >= 2 && seq_geq(left, blocks[1].left) && seq_leq(right, blocks[1].right))
            nw.dsack++;
        if (seq_lt(left, snd_una))
            left = snd_una;
        nw.newly_sacked += uncovered(b, left, right);
        insert(b, left, right);
    }
    if (news)
        *news = nw;
}

bool sack_is_sacked(const struct sack_board *b, uint32_t seq)
{
    for (int i = 0; i < b->count; i++)
        if (seq_in(seq, b->range[i].left, b->range[i].right))
            return true;
    return false;
}

uint32_t sack_sacked_bytes(const struct sack_board *b)
{
    uint32_t n = 0;
    for (int i = 0; i < b->count; i++)
        n += range_len(&b->range[i]);
    return n;
}

/* ---- RFC 6675 4: IsLost, SetPipe, NextSeg -------------------------------------------------- */

/* The more-than-(DupThresh - 1) * SMSS bytes of IsLost(). */
static uint32_t lost_bytes(uint32_t smss)
{
    return (SACK_DUP_THRESH - 1) * smss;
}

bool sack_is_lost(const struct sack_board *b, uint32_t seq, uint32_t smss)
{
    /* RFC 6675 4 IsLost: DupThresh discontiguous SACKed sequences above seq, or more than
     * (DupThresh - 1) * SMSS bytes above seq SACKed. */
    uint32_t ranges = 0, bytes = 0;
    for (int i = 0; i < b->count; i++) {
        const struct wire_sack_block *r = &b->range[i];
        if (seq_gt(r->left, seq)) {
            ranges++;
            bytes += range_len(r);
        } else if (seq_gt(r->right, seq + 1)) {
            bytes += r->right - (seq + 1); /* seq is inside r: count what lies above it */
        }
    }
    return ranges >= SACK_DUP_THRESH || bytes > lost_bytes(smss);
}

/* The lost edge: an unSACKed octet is lost (IsLost) iff it lies below the returned point.
 * Walking the ranges down from the top, it is the left edge of the first range at which
 * DupThresh ranges, or more than (DupThresh - 1) * SMSS bytes, lie at or above it: every
 * unSACKed octet below that edge has all of them above it, and every unSACKed octet above
 * it (it is not inside the range) has fewer. snd_una when nothing is lost. */
static uint32_t lost_edge(const struct sack_board *b, uint32_t snd_una, uint32_t smss)
{
    uint32_t ranges = 0, bytes = 0;
    for (int i = b->count - 1; i >= 0; i--) {
        ranges++;
        bytes += range_len(&b->range[i]);
        if (ranges >= SACK_DUP_THRESH || bytes > lost_bytes(smss))
            return b->range[i].left;
    }
    return snd_una;
}

/* Length of [lo, hi) if non-empty, else 0. */
static uint32_t span(uint32_t lo, uint32_t hi)
{
    return seq_lt(lo, hi) ? hi - lo : 0;
}

/* HighRxt + 1 as SetPipe and NextSeg use it: retransmissions count only in recovery. */
static uint32_t high_rxt_now(const struct sack_board *b, uint32_t snd_una)
{
    return b->in_recovery ? seq_max(b->high_rxt, snd_una) : snd_una;
}

uint32_t sack_pipe(const struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                   uint32_t smss)
{
    uint32_t edge = lost_edge(b, snd_una, smss);
    uint32_t rxt = high_rxt_now(b, snd_una);
    uint32_t pipe = 0;
    uint32_t cur = snd_una; /* start of the current hole */
    for (int i = 0; i <= b->count; i++) {
        uint32_t hole_end = i < b->count ? b->range[i].left : snd_max;
        hole_end = seq_min(hole_end, snd_max);
        if (seq_lt(cur, hole_end)) {
            /* RFC 6675 4 SetPipe (a): octets IsLost() does not call lost. */
            pipe += span(seq_max(cur, edge), hole_end);
            /* (b): octets at or below HighRxt, retransmitted in this recovery. */
            pipe += span(cur, seq_min(hole_end, rxt));
        }
        if (i < b->count)
            cur = seq_max(cur, b->range[i].right);
    }
    return pipe;
}

/* The first unSACKed octet at or after seq (may be snd_max or beyond the ranges). */
static uint32_t first_unsacked(const struct sack_board *b, uint32_t seq)
{
    for (int i = 0; i < b->count; i++) {
        const struct wire_sack_block *r = &b->range[i];
        if (seq_leq(r->right, seq))
            continue;
        if (seq_leq(r->left, seq))
            seq = r->right; /* inside this range: skip it; the next one starts later */
        else
            break;
    }
    return seq;
}

/* The segment of up to smss bytes starting at the unSACKed octet seq, ending at the next
 * SACKed range or at snd_max. */
static struct sack_seg hole_seg(const struct sack_board *b, uint32_t seq, uint32_t snd_max,
                                uint32_t smss)
{
    uint32_t end = snd_max;
    for (int i = 0; i < b->count; i++) {
        if (seq_gt(b->range[i].left, seq)) {
            end = seq_min(end, b->range[i].left);
            break;
        }
    }
    struct sack_seg s = {seq, span(seq, end)};
    if (s.len > smss)
        s.len = smss;
    return s;
}

enum sack_next sack_next_seg(const struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                             uint32_t smss, bool can_send_new, struct sack_seg *out)
{
    if (!b->in_recovery)
        return SACK_NEXT_NONE;
    /* The smallest unSACKed octet S2 after HighRxt (1.a): IsLost() is monotone, so when
     * this one is not lost, no later one is. */
    uint32_t s2 = first_unsacked(b, high_rxt_now(b, snd_una));
    uint32_t sack_top = b->count > 0 ? b->range[b->count - 1].right : snd_una;
    bool below_top = seq_lt(s2, sack_top); /* (1.b): below the highest SACKed octet */
    /* Rule 1: S2 with (1.a), (1.b) and (1.c) IsLost(S2). */
    if (below_top && seq_lt(s2, lost_edge(b, snd_una, smss))) {
        *out = hole_seg(b, s2, snd_max, smss);
        return SACK_NEXT_LOST;
    }
    /* Rule 2: unsent data the peer's window allows. */
    if (can_send_new)
        return SACK_NEXT_NEW;
    /* Rule 3: S3 with (1.a) and (1.b) only. */
    if (below_top) {
        *out = hole_seg(b, s2, snd_max, smss);
        return SACK_NEXT_HOLE;
    }
    /* Rule 4: one rescue retransmission per recovery, when HighACK > RescueRxt: up to SMSS
     * ending at the highest outstanding unSACKed octet. By the invariant, the octet below
     * the highest range is unSACKed. */
    if (seq_gt(snd_una, b->rescue_rxt)) {
        uint32_t top = snd_max; /* one past the highest unSACKed octet */
        uint32_t hole_start = snd_una;
        for (int i = b->count - 1; i >= 0; i--) {
            if (seq_geq(b->range[i].right, top)) {
                top = seq_min(top, b->range[i].left);
            } else {
                hole_start = b->range[i].right;
                break;
            }
        }
        if (seq_gt(top, snd_una)) {
            uint32_t len = span(seq_max(hole_start, snd_una), top);
            if (len > smss)
                len = smss;
            out->seq = top - len;
            out->len = len;
            return SACK_NEXT_RESCUE;
        }
    }
    return SACK_NEXT_NONE;
}

void sack_sent(struct sack_board *b, enum sack_next kind, const struct sack_seg *seg)
{
    uint32_t end = seg->seq + seg->len;
    switch (kind) {
    case SACK_NEXT_LOST:
    case SACK_NEXT_HOLE:
        /* RFC 6675 5 (C.2): HighRxt = the highest octet retransmitted. */
        if (seq_gt(end, b->high_rxt))
            b->high_rxt = end;
        break;
    case SACK_NEXT_RESCUE:
        /* NextSeg rule 4: RescueRxt = RecoveryPoint; HighRxt MUST NOT be updated. */
        b->rescue_rxt = b->recovery_point;
        break;
    default:
        break; /* new data: the caller moves SND.MAX (HighData, C.3) */
    }
}

/* ---- RFC 6675 5: entering and leaving recovery ---------------------------------------------- */

bool sack_may_recover(const struct sack_board *b, uint32_t snd_una)
{
    return !b->in_recovery && seq_geq(snd_una, b->recovery_point);
}

void sack_enter_recovery(struct sack_board *b, uint32_t snd_una, uint32_t snd_max,
                         uint32_t smss, struct sack_seg *first)
{
    b->in_recovery = true;
    b->recovery_point = snd_max; /* (4.1) RecoveryPoint = HighData */
    /* (4.3) Retransmit the segment starting at HighACK + 1; set HighRxt and RescueRxt to
     * its last octet. (A receiver that SACKs SND.UNA itself is broken: send SMSS anyway.) */
    uint32_t end = snd_una + (smss < span(snd_una, snd_max) ? smss : span(snd_una, snd_max));
    if (b->count > 0 && seq_gt(b->range[0].left, snd_una))
        end = seq_min(end, b->range[0].left);
    first->seq = snd_una;
    first->len = end - snd_una;
    b->high_rxt = end;
    b->rescue_rxt = end;
}

bool sack_recovery_done(const struct sack_board *b, uint32_t snd_una)
{
    return b->in_recovery && seq_geq(snd_una, b->recovery_point); /* RFC 6675 5 (A) */
}

void sack_exit_recovery(struct sack_board *b)
{
    b->in_recovery = false;
}

void sack_on_rto(struct sack_board *b, uint32_t snd_max)
{
    /* RFC 6675 5.1 (and RFC 6582 3.2 "recover"): RecoveryPoint = HighData; this recovery
     * ends, and no new one starts before SND.UNA reaches it. */
    b->in_recovery = false;
    b->recovery_point = snd_max;
    /* RFC 2018 8: after a timeout the SACKed bits SHOULD be turned off (reneging). */
    b->count = 0;
}
