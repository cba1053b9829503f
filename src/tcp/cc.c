/*
 * cc.c: the congestion control every algorithm shares (see cc.h): the initial window, slow
 * start with byte counting, the fast recovery window arithmetic, the timeout and the idle
 * responses. The algorithms are in cc_newreno.c and cc_cubic.c.
 *
 * Read first: RFC 5681 3.1, 3.2, 4.1; RFC 3465 2; RFC 6582 3.2; RFC 6928 2; RFC 6675 5.
 *
 * All window arithmetic saturates: cwnd and ssthresh stay within [SMSS, CC_CWND_MAX] (and
 * ssthresh at CC_SSTHRESH_INIT until the first congestion event), so sums never wrap.
 */
#include "tcp/cc.h"

#include <string.h>

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* a + b, at most CC_CWND_MAX. */
static uint32_t add_capped(uint32_t a, uint32_t b)
{
    uint64_t s = (uint64_t)a + b;
    return s > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)s;
}

const struct cc_ops *cc_ops_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    if (strcmp(name, cc_newreno_ops.name) == 0)
        return &cc_newreno_ops;
    if (strcmp(name, cc_cubic_ops.name) == 0)
        return &cc_cubic_ops;
    return NULL;
}

uint32_t cc_initial_window(uint32_t smss)
{
    /* RFC 6928 2: IW = min (10*MSS, max (2*MSS, 14600)) */
    uint64_t floor = 2ull * smss > 14600 ? 2ull * smss : 14600;
    uint64_t iw = 10ull * smss < floor ? 10ull * smss : floor;
    return iw > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)iw;
}

void cc_init(struct cc *cc, const struct cc_ops *ops, uint32_t smss, bool syn_lost)
{
    memset(cc, 0, sizeof *cc);
    cc->ops = ops ? ops : &cc_newreno_ops;
    cc->smss = smss > 0 ? smss : 1;
    /* RFC 5681 3.1: after a lost SYN or SYN-ACK the initial window is one segment. */
    cc->cwnd = syn_lost ? cc->smss : cc_initial_window(cc->smss);
    cc->ssthresh = CC_SSTHRESH_INIT; /* RFC 5681 3.1: "arbitrarily high" */
    cc->ops->init(cc);
}

void cc_on_ack(struct cc *cc, uint32_t acked, uint64_t now_us, uint64_t srtt_us)
{
    if (acked == 0)
        return;
    if (cc->cwnd < cc->ssthresh) {
        /* RFC 5681 3.1 slow start with RFC 3465 2.2 byte counting: cwnd += min(N, L),
         * L = 2 SMSS, but 1 SMSS in the slow start that follows a timeout (RFC 3465 2.3). */
        uint32_t l = (cc->rto_slow_start ? 1u : CC_ABC_L_SEGS) * cc->smss;
        cc->cwnd = add_capped(cc->cwnd, min32(acked, l));
        return;
    }
    cc->rto_slow_start = false;
    cc->ops->cong_avoid(cc, acked, now_us, srtt_us);
    if (cc->cwnd > CC_CWND_MAX)
        cc->cwnd = CC_CWND_MAX;
}

/* The algorithm's reduction, kept within [2 SMSS, CC_CWND_MAX]. */
static uint32_t reduced_ssthresh(struct cc *cc, uint32_t flight, bool rto)
{
    uint32_t ss = cc->ops->loss(cc, flight, rto);
    return min32(max32(ss, 2 * cc->smss), CC_CWND_MAX);
}

void cc_enter_recovery(struct cc *cc, uint32_t flight, bool sack)
{
    /* RFC 5681 3.2 step 2 (RFC 6582 3.2 step 2): ssthresh = max (FlightSize / 2, 2*SMSS),
     * or the algorithm's own reduction. */
    cc->ssthresh = reduced_ssthresh(cc, flight, false);
    cc->rto_slow_start = false;
    /* RFC 5681 3.2 step 3: cwnd = ssthresh + 3*SMSS, "inflating" by the three segments
     * that left the network. RFC 6675 5 step 4.2: with SACK, cwnd = ssthresh; pipe counts
     * what left the network instead. */
    cc->cwnd = sack ? cc->ssthresh : add_capped(cc->ssthresh, 3 * cc->smss);
}

void cc_dup_ack(struct cc *cc)
{
    /* RFC 5681 3.2 step 4: each additional duplicate ACK, cwnd += SMSS. */
    cc->cwnd = add_capped(cc->cwnd, cc->smss);
}

void cc_partial_ack(struct cc *cc, uint32_t acked)
{
    /* RFC 6582 3.2 step 5: deflate by the amount of new data acknowledged; add back SMSS
     * if at least SMSS was acknowledged. */
    uint32_t cwnd = cc->cwnd > acked ? cc->cwnd - acked : 0;
    if (acked >= cc->smss)
        cwnd = add_capped(cwnd, cc->smss);
    cc->cwnd = max32(cwnd, cc->smss);
}

void cc_exit_recovery(struct cc *cc, uint32_t flight)
{
    /* RFC 6582 3.2 step 6, option (1): cwnd = min (ssthresh, max(FlightSize, SMSS) + SMSS):
     * no burst when little is in flight. */
    cc->cwnd = min32(cc->ssthresh, add_capped(max32(flight, cc->smss), cc->smss));
    cc->cwnd = max32(cc->cwnd, cc->smss);
}

void cc_on_rto(struct cc *cc, uint32_t flight, bool repeated)
{
    /* RFC 5681 3.1: ssthresh = max (FlightSize / 2, 2*SMSS) (eq. 4) when the segment had
     * not been retransmitted by the timer yet; cwnd = LW = 1 SMSS in any case. */
    if (!repeated)
        cc->ssthresh = reduced_ssthresh(cc, flight, true);
    cc->cwnd = cc->smss;
    cc->rto_slow_start = true;
}

bool cc_after_idle(struct cc *cc, uint64_t idle_us, uint64_t rto_us)
{
    /* RFC 5681 4.1: idle longer than an RTO: cwnd = RW = min (IW, cwnd). */
    if (idle_us <= rto_us)
        return false;
    cc->cwnd = min32(cc->cwnd, cc_initial_window(cc->smss));
    cc->ops->restart(cc);
    return true;
}
