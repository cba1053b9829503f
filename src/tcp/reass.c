/*
 * reass.c: out-of-order ranges beyond RCV.NXT and the SACK blocks that report them
 * (see reass.h for the model and how the engine calls it).
 *
 * Read first: RFC 9293 3.10.7.4 seventh, RFC 2018 4 and 7.
 *
 * The ranges are few (REASS_MAX_RANGES), so every operation is a plain scan of the array.
 * Invariant kept by every function: range[0 .. count) are non-empty, pairwise disjoint and
 * not adjacent (for two ranges a, b: a.right < b.left or b.right < a.left, modulo 2^32), in
 * recency order, most recent first.
 */
#include "tcp/reass.h"

#include <string.h>

#include "tcp/seq.h"

void reass_init(struct reass *r)
{
    memset(r, 0, sizeof *r);
}

/* [l1, r1) and [l2, r2) overlap or touch (share at least an edge). */
static bool touches(uint32_t l1, uint32_t r1, uint32_t l2, uint32_t r2)
{
    return seq_leq(l1, r2) && seq_leq(l2, r1);
}

/* Removes range[i], keeping the order of the others. */
static void remove_at(struct reass *r, int i)
{
    memmove(&r->range[i], &r->range[i + 1], (size_t)(r->count - i - 1) * sizeof r->range[0]);
    r->count--;
}

/* Puts [left, right) at the front, shifting the others back by one. count < MAX. */
static void push_front(struct reass *r, uint32_t left, uint32_t right)
{
    memmove(&r->range[1], &r->range[0], (size_t)r->count * sizeof r->range[0]);
    r->range[0].left = left;
    r->range[0].right = right;
    r->count++;
}

int reass_add(struct reass *r, uint32_t left, uint32_t right)
{
    if (seq_lt(right, left))
        return SYNACK_EINVAL;
    if (left == right)
        return 0;
    /* Absorb every held range that overlaps or touches the new one. By the invariant, a
     * range that touches the growing union touches the new range itself, so one pass over
     * the array finds them all, whatever their order. */
    for (int i = 0; i < r->count;) {
        const struct wire_sack_block *b = &r->range[i];
        if (touches(left, right, b->left, b->right)) {
            left = seq_min(left, b->left);
            right = seq_max(right, b->right);
            remove_at(r, i);
        } else {
            i++;
        }
    }
    /* Bounded in memory: still full means nothing merged (a merge frees a slot), so the
     * range would need a slot of its own: refused, and the caller drops the segment. */
    if (r->count == REASS_MAX_RANGES)
        return SYNACK_ENOBUFS;
    /* RFC 2018 4: the block holding the segment that triggers the ACK goes first. */
    push_front(r, left, right);
    return 0;
}

uint32_t reass_contiguous(const struct reass *r, uint32_t rcv_nxt)
{
    /* Held ranges never touch each other, so at most one can continue from rcv_nxt, and no
     * other range starts at its right edge: one step is enough. */
    for (int i = 0; i < r->count; i++) {
        const struct wire_sack_block *b = &r->range[i];
        if (seq_leq(b->left, rcv_nxt) && seq_lt(rcv_nxt, b->right))
            return b->right;
    }
    return rcv_nxt;
}

void reass_drop_below(struct reass *r, uint32_t rcv_nxt)
{
    for (int i = 0; i < r->count;) {
        struct wire_sack_block *b = &r->range[i];
        if (seq_leq(b->right, rcv_nxt)) {
            remove_at(r, i); /* wholly received in order now */
            continue;
        }
        if (seq_lt(b->left, rcv_nxt))
            b->left = rcv_nxt; /* the part below RCV.NXT is no longer out of order */
        i++;
    }
    if (r->fin_known && seq_lt(r->fin_seq, rcv_nxt))
        r->fin_known = false; /* the FIN has been processed */
}

uint32_t reass_advance(struct reass *r, uint32_t rcv_nxt)
{
    uint32_t nxt = reass_contiguous(r, rcv_nxt);
    reass_drop_below(r, nxt);
    return nxt;
}

int reass_sack_blocks(const struct reass *r, struct wire_sack_block *out, int max)
{
    /* RFC 2018 4: first the block holding the most recent segment, then the most recently
     * reported others. The array is in that order already; ranges are disjoint, so none is
     * a subset of another that would have to be skipped. */
    int k = max < r->count ? max : r->count;
    if (k <= 0)
        return 0;
    memcpy(out, r->range, (size_t)k * sizeof out[0]);
    return k;
}

void reass_set_fin(struct reass *r, uint32_t fin_seq)
{
    if (r->fin_known)
        return;
    r->fin_known = true;
    r->fin_seq = fin_seq;
}

bool reass_fin_reached(const struct reass *r, uint32_t rcv_nxt)
{
    return r->fin_known && r->fin_seq == rcv_nxt;
}
