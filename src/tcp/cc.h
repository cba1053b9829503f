/*
 * cc.h: congestion control, sans-I/O: the congestion window (cwnd) and slow start threshold
 * (ssthresh) of one connection, behind a small ops struct with two algorithms, NewReno (the
 * default) and CUBIC. Pure: no I/O, no clock (time comes in as now_us), no allocation, no
 * mutable global state (the ops tables are const).
 *
 * Read first: RFC 5681 3.1 (slow start, congestion avoidance, the timeout response), 3.2
 * (fast retransmit / fast recovery), 4.1 (restart after idle); RFC 3465 2 (byte counting);
 * RFC 6582 3.2 (NewReno partial and full ACKs); RFC 6928 2 (initial window); RFC 6675 5
 * (recovery with SACK: cwnd is not inflated, pipe is counted instead); RFC 9438 4 (CUBIC).
 *
 * Split of work. cc.c holds what every algorithm shares: the initial window, slow start, the
 * fast recovery arithmetic (inflate, deflate, exit), the timeout and idle responses. An
 * algorithm (struct cc_ops) supplies only congestion avoidance growth and the reduction at a
 * congestion event. Loss DETECTION (duplicate ACK counting, RFC 6582 "recover", the SACK
 * scoreboard) is the engine's and sack.h's: this module is told what happened.
 *
 * Units: windows in bytes; time in microseconds; FlightSize (RFC 5681 2) = SND.MAX - SND.UNA,
 * bytes, as the caller computes it.
 *
 * How the engine calls it:
 *   - connection established:    cc_init(cc, &cc_newreno_ops, smss, syn_was_retransmitted)
 *   - before sending:            sendable = min(SND.WND, cwnd) - FlightSize (RFC 5681 3.1);
 *                                 in SACK recovery: cwnd - pipe (RFC 6675 5 step C)
 *   - before sending after idle: cc_after_idle(cc, now_us - last_send_us, rto_us)
 *   - ACK of new data, not in recovery:   cc_on_ack(cc, acked, now_us, srtt_us)
 *   - fast retransmit (3 duplicate ACKs): cc_enter_recovery(cc, flight, sack_ok)
 *   - in recovery without SACK: each further duplicate ACK cc_dup_ack(cc); a partial ACK
 *     (acknowledges new data but not all up to "recover") cc_partial_ack(cc, acked)
 *   - the full ACK that ends recovery:     cc_exit_recovery(cc, flight_after_the_ack)
 *   - retransmission timeout:             cc_on_rto(cc, flight, repeated)
 *
 * Size: sizeof(struct cc) is 56 bytes on LP64 (8 for the ops pointer, 16 common, 32 for the
 * algorithm union, whose largest member is CUBIC's).
 */
#ifndef SYNACK_CC_H
#define SYNACK_CC_H

#include <stdbool.h>
#include <stdint.h>

#define CC_CWND_MAX (1u << 30)       /* cwnd and ssthresh never exceed this, bytes: the
                                        largest window RFC 7323 2.3 can announce */
#define CC_SSTHRESH_INIT UINT32_MAX  /* "arbitrarily high" initial ssthresh (RFC 5681 3.1) */
#define CC_ABC_L_SEGS 2u             /* RFC 3465 2.2 limit L on slow start growth per ACK,
                                        in SMSS; 1 SMSS in the slow start after an RTO */
#define CC_NO_EPOCH UINT64_MAX       /* CUBIC: no congestion avoidance stage has begun */

struct cc;

/* One congestion control algorithm. Its functions are called only from cc.c. */
struct cc_ops {
    const char *name;        /* "newreno", "cubic" */
    /* Sets up the algorithm's part of the state (cwnd, ssthresh, smss are set). */
    void (*init)(struct cc *cc);
    /* Congestion avoidance (cwnd >= ssthresh): acked bytes newly acknowledged at now_us;
     * srtt_us is the smoothed RTT (0 when unknown). Grows cwnd. */
    void (*cong_avoid)(struct cc *cc, uint32_t acked, uint64_t now_us, uint64_t srtt_us);
    /* A congestion event (fast retransmit, or the first timeout of a segment when rto):
     * updates the algorithm's state and returns the new ssthresh, >= 2 * SMSS, from cwnd
     * and flight (FlightSize, bytes). */
    uint32_t (*loss)(struct cc *cc, uint32_t flight, bool rto);
    /* The next congestion avoidance stage starts afresh (after an idle period). */
    void (*restart)(struct cc *cc);
};

/* NewReno's own state: the RFC 5681 3.1 / RFC 3465 2.1 byte counter. */
struct cc_newreno {
    uint32_t bytes_acked;    /* bytes acknowledged toward the next SMSS of cwnd growth */
};

/* CUBIC's own state (RFC 9438 4.1.2), in bytes where the RFC counts segments. */
struct cc_cubic {
    uint64_t epoch_us;       /* t_epoch: start of the current congestion avoidance stage,
                                us; CC_NO_EPOCH until the first ACK in that stage */
    uint32_t w_max;          /* W_max: cwnd just before the last reduction (after fast
                                convergence), bytes; 0 = none, use cwnd_epoch (RFC 9438 4.8) */
    uint32_t cwnd_prior;     /* cwnd_prior: cwnd when ssthresh was last set, bytes */
    uint32_t w_est;          /* W_est: the Reno-friendly estimate (RFC 9438 4.3), bytes */
    uint32_t est_acked;      /* bytes acked x alpha_cubic toward the next SMSS of W_est */
    uint32_t cwnd_rem;       /* remainder of the per-ACK growth (target - cwnd) * acked /
                                cwnd, in bytes x bytes: carried to the next ACK */
    int32_t k_ms;            /* K: time W_cubic takes to reach W_max, ms (RFC 9438 4.2);
                                negative when cwnd_epoch > W_max */
};

/* Congestion state of one connection. */
struct cc {
    const struct cc_ops *ops;
    uint32_t cwnd;           /* congestion window, bytes (RFC 5681 2) */
    uint32_t ssthresh;       /* slow start threshold, bytes */
    uint32_t smss;           /* sender maximum segment size, bytes (RFC 5681 2) */
    bool rto_slow_start;     /* slow start after a timeout: L = 1 SMSS (RFC 3465 2.3) */
    union {
        struct cc_newreno newreno;
        struct cc_cubic cubic;
    } u;
};

extern const struct cc_ops cc_newreno_ops; /* RFC 5681 + RFC 6582: the default */
extern const struct cc_ops cc_cubic_ops;   /* RFC 9438 */

/* The ops named name ("newreno", "cubic"), or NULL. */
const struct cc_ops *cc_ops_by_name(const char *name);

/* RFC 6928 2: IW = min(10 * SMSS, max(2 * SMSS, 14600)), bytes. */
uint32_t cc_initial_window(uint32_t smss);

/* Starts congestion control for a connection: ops (NULL: NewReno), smss > 0 (bytes),
 * cwnd = IW, ssthresh = CC_SSTHRESH_INIT. syn_lost: our SYN or SYN-ACK was sent again, and
 * then IW is one segment (RFC 5681 3.1). Can't fail. */
void cc_init(struct cc *cc, const struct cc_ops *ops, uint32_t smss, bool syn_lost);

/* An ACK acknowledged acked new bytes, outside fast recovery. Slow start (cwnd < ssthresh):
 * cwnd += min(acked, L) with L = 2 SMSS (1 SMSS after a timeout; RFC 3465 2.2, RFC 5681
 * 3.1); otherwise the algorithm's congestion avoidance. now_us and srtt_us are used by
 * CUBIC. */
void cc_on_ack(struct cc *cc, uint32_t acked, uint64_t now_us, uint64_t srtt_us);

/* Fast retransmit (RFC 5681 3.2 step 2-3, RFC 6582 3.2 step 2, RFC 6675 5 step 4.2):
 * ssthresh from the algorithm (NewReno: max(FlightSize / 2, 2 * SMSS)); cwnd = ssthresh,
 * plus 3 SMSS for the segments that left the network when the recovery is not SACK-based
 * (sack false). */
void cc_enter_recovery(struct cc *cc, uint32_t flight, bool sack);

/* Non-SACK fast recovery: one more duplicate ACK, cwnd += SMSS (RFC 5681 3.2 step 4). */
void cc_dup_ack(struct cc *cc);

/* Non-SACK fast recovery: a partial ACK acknowledged acked new bytes. Deflates cwnd by
 * acked, then adds back SMSS if acked >= SMSS (RFC 6582 3.2 step 5); never below SMSS. */
void cc_partial_ack(struct cc *cc, uint32_t acked);

/* The full ACK that ends fast recovery (RFC 6582 3.2 step 6, option 1): cwnd =
 * min(ssthresh, max(flight, SMSS) + SMSS), flight being FlightSize after that ACK. */
void cc_exit_recovery(struct cc *cc, uint32_t flight);

/* Retransmission timeout (RFC 5681 3.1, eq. 4): ssthresh = max(FlightSize / 2, 2 * SMSS)
 * (CUBIC: RFC 9438 4.8), cwnd = the loss window, 1 SMSS. repeated: the segment had already
 * been retransmitted by the timer (backoff > 0 before this expiry), and then ssthresh is
 * left as it is (RFC 5681 3.1: only the first timeout of a segment lowers it). */
void cc_on_rto(struct cc *cc, uint32_t flight, bool repeated);

/* Before sending after an idle period of idle_us (since the last segment was sent):
 * if idle_us > rto_us, cwnd = min(IW, cwnd) (RFC 5681 4.1, restart window). Returns true
 * when cwnd was reset. */
bool cc_after_idle(struct cc *cc, uint64_t idle_us, uint64_t rto_us);

/* ---- CUBIC arithmetic (RFC 9438 4.2), exposed for tests -------------------------------- */

#define CC_CUBIC_T_MAX_MS (1 << 20) /* |t - K| is clamped to this, ms (~17.5 minutes) */

/* floor(cbrt(x)): an integer cube root, exact for every uint64_t. */
uint32_t cc_cbrt64(uint64_t x);

/* K = cbrt((W_max - cwnd_epoch) / C) of RFC 9438 Figure 2, in ms, with windows in bytes
 * (w_max, cwnd_epoch <= CC_CWND_MAX) and smss > 0: floor(cbrt(diff * 2.5e9 / smss)),
 * negated when cwnd_epoch > w_max. */
int32_t cc_cubic_k_ms(uint32_t w_max, uint32_t cwnd_epoch, uint32_t smss);

/* W_cubic(t) = C * (t - K)^3 + W_max of RFC 9438 Figure 1, in bytes, for t_ms ms since the
 * start of the stage, clamped to [0, CC_CWND_MAX]. C = 0.4 segments / s^3. */
uint32_t cc_cubic_window(uint32_t w_max, int32_t k_ms, int64_t t_ms, uint32_t smss);

#endif /* SYNACK_CC_H */
