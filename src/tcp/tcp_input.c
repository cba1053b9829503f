/*
 * tcp_input.c: SEGMENT ARRIVES (RFC 9293 3.10.7), one function per state group and per step.
 *
 * Read first: RFC 9293 3.10.7.1 - 3.10.7.4 (this file follows them in order), 3.5.2 and 3.5.3
 * (resets), 3.4 (acceptable ACK, segment acceptability), RFC 5961 3, 4 and 5 (blind reset,
 * SYN and data injection), RFC 1122 4.2.2.13 (SYN in TIME-WAIT).
 *
 *   tcp_input              dispatch by state, then send what the segment let out
 *   input_listen           3.10.7.2  LISTEN
 *   input_syn_sent         3.10.7.3  SYN-SENT
 *   input_other            3.10.7.4  every other state, by steps:
 *     check_sequence         first   segment acceptability (Table 6), trimming is in
 *                                    process_text and check_fin
 *     check_rst              second  with RFC 5961 3 (exact RCV.NXT resets, in-window
 *                                    challenge ACK, out-of-window ignored)
 *     (security)             third   not applicable: no IP security/compartment options
 *     check_syn              fourth  RFC 5961 4 challenge ACK; passive SYN-RECEIVED -> LISTEN
 *     check_ack              fifth   SND.UNA/SND.WND/WL1/WL2, RFC 5961 5 range check, FIN acked
 *     (URG)                  sixth   ignored: the urgent pointer is not supported; URG data is
 *                                    delivered in line as ordinary data
 *     process_text           seventh in-order data into the receive ring, trimmed to window
 *     check_fin              eighth  FIN at RCV.NXT, state changes, TIME-WAIT restart
 *   tcp_reset_for          3.10.7.1  CLOSED: the RST that answers a segment without TCB
 *
 * Decisions:
 *  - Data beyond RCV.NXT (out of order) is stored in the receive ring at its offset and its
 *    range recorded in c->reass (at most REASS_MAX_RANGES holes; a segment that would need
 *    more is dropped), answered at once with an ACK carrying SACK blocks. A FIN beyond
 *    RCV.NXT is remembered and processed when RCV.NXT reaches it. Data partly before
 *    RCV.NXT is trimmed (RFC 9293 3.10.7.4 first); data beyond the window is trimmed (with a
 *    FIN behind it).
 *  - ACKs for in-order data are delayed (cfg.delack_us, at most 500 ms) unless two
 *    full-sized segments are unacknowledged (RFC 9293 3.8.6.3, RFC 5681 4.2); out-of-order
 *    data, data that fills a hole, a FIN, and anything unacceptable are ACKed at once.
 *  - Options (RFC 7323, RFC 2018) are taken from the peer's SYN: window scale, timestamps
 *    and SACK are on when both SYNs carried them. With timestamps, PAWS (RFC 7323 5) runs
 *    before the sequence check and a non-RST segment without TSopt is dropped (3.2).
 *  - Every acceptable ACK feeds the SACK scoreboard, congestion control and loss recovery:
 *    fast retransmit / fast recovery (RFC 5681 3.2, RFC 6582 NewReno without SACK, RFC 6675
 *    with SACK), see ack_recovery().
 *  - Text or FIN that arrives with a SYN (LISTEN, or SYN-SENT simultaneous open) is held: the
 *    data in the receive ring at RCV.NXT (not yet readable), the FIN as a flag, both processed
 *    when our SYN is acknowledged (3.10.7.2 "queued for processing later"). The SYN-ACK
 *    acknowledges only the SYN.
 *  - A zero receive window accepts a segment at exactly RCV.NXT for its ACK, RST and FIN
 *    ("special allowance", 3.10.7.4 first); its data is trimmed away and an ACK sent. A FIN at
 *    RCV.NXT needs no buffer space and is accepted with a zero window.
 *  - In SYN-RECEIVED, a SYN equal to the one that opened the connection (the peer did not get
 *    our SYN-ACK) gets the SYN-ACK again; a SYN-ACK whose SYN is that one (simultaneous open)
 *    has the old SYN trimmed off and is processed as the ACK it is.
 *  - A RST accepted in CLOSING, LAST-ACK or TIME-WAIT closes without an error: the user has
 *    already closed its side, nothing was lost (3.10.7.4 second: "enter CLOSED, delete TCB").
 *  - A retransmitted FIN in TIME-WAIT (out of window by the first check) is acknowledged and
 *    restarts the 2 x MSL timer (eighth step); tcp_input returns 0 for it.
 *  - Every ACK owed is sent once, at the end of tcp_input, piggybacked on data if data goes
 *    out (MUST-58); challenge ACKs and ACKs to unacceptable segments go out at once.
 */
#include "tcp/tcp_internal.h"

/* The segment being processed, and what the steps need to know about it. */
struct seg_in {
    const struct wire_tcp *h; /* the parsed segment */
    uint8_t flags;            /* its control bits, less a SYN trimmed off as old */
    uint32_t seq;             /* SEG.SEQ (after such trimming) */
    uint32_t len;             /* SEG.LEN: payload bytes + 1 for SYN + 1 for FIN */
    uint64_t now;             /* time of arrival, us */
};

static bool has(const struct seg_in *s, uint8_t flag) { return (s->flags & flag) != 0; }

/* RFC 9293 3.7.1: the send MSS is the peer's MSS option, or 536 without one, never above
 * ours. RFC 7323 2.2, 3.2 and RFC 2018 2: window scaling, timestamps and SACK are used when
 * both SYNs carry the option; ours does when configured (in LISTEN our SYN-ACK will carry
 * exactly those the peer's SYN offered). */
static void take_syn_options(struct tcp_conn *c, const struct seg_in *s)
{
    const struct wire_tcp_opts *o = &s->h->opts;
    uint32_t mss = (o->present & WIRE_OPT_MSS) ? o->mss : TCP_DEFAULT_MSS;
    mss = tcp_min32(mss, c->cfg->mss);
    c->snd_mss = (uint16_t)(mss > 0 ? mss : 1);
    c->ws_ok = c->cfg->window_scaling && (o->present & WIRE_OPT_WSCALE);
    if (c->ws_ok) {
        /* RFC 7323 2.3: a shift above 14 is used as 14. */
        c->snd_wscale = o->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o->wscale;
        c->rcv_wscale = tcp_wscale_for(c->rcv.cap);
    } else {
        c->snd_wscale = c->rcv_wscale = 0;
    }
    c->ts_ok = c->cfg->timestamps && (o->present & WIRE_OPT_TS);
    if (c->ts_ok) {
        c->ts_recent = o->ts_val; /* RFC 7323 4.3 (1): TS.Recent from the SYN */
        c->ts_recent_us = s->now;
    }
    c->sack_ok = c->cfg->sack && (o->present & WIRE_OPT_SACK_PERM);
    /* RFC 9293 3.7.1, RFC 6691: the MSS counts data only; options every segment carries
     * (the 12 bytes of the timestamps option) come off it, or packets would exceed the
     * peer's MTU. SACK blocks, carried only at times, come off in tcp_data_mss(). */
    if (c->ts_ok && c->snd_mss > TCP_TS_OPT_LEN)
        c->snd_mss = (uint16_t)(c->snd_mss - TCP_TS_OPT_LEN);
    c->cc.smss = c->snd_mss;
}

/* Records the peer's SYN: IRS, RCV.NXT (RFC 9293 3.10.7.2 third, 3.10.7.3 fourth). */
static void take_syn(struct tcp_conn *c, const struct seg_in *s)
{
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->last_ack_sent = c->rcv_nxt;
    take_syn_options(c, s);
}

/* Sets SND.WND from the segment (SND.WL1/WL2 bookkeeping is the caller's). */
static void take_window(struct tcp_conn *c, const struct seg_in *s)
{
    /* RFC 7323 2.2: the window of a SYN is never scaled; later ones are, by the peer's
     * shift (2.3). */
    c->snd_wnd = has(s, SYNACK_SYN) ? s->h->wnd : (uint32_t)s->h->wnd << c->snd_wscale;
    if (c->snd_wnd > c->max_snd_wnd)
        c->max_snd_wnd = c->snd_wnd;
}

/* RFC 9293 3.10.7.2/3.10.7.3: "any other control or text should be queued for processing
 * later": data is held in the receive ring at RCV.NXT, the FIN as syn_fin. */
static void hold_syn_text(struct tcp_conn *c, const struct seg_in *s)
{
    uint32_t n = tcp_min32(s->h->payload_len, tcp_rcv_wnd(c));
    if (n > 0)
        ring_write_at(&c->rcv, c->rcv.len, s->h->payload, n);
    c->syn_data_len = n;
    c->syn_fin = has(s, SYNACK_FIN) && n == s->h->payload_len;
}

/* Our SYN has just been acknowledged: what was held from the peer's SYN is processed now,
 * as if it had arrived in ESTABLISHED (seventh and eighth steps). */
static void release_syn_text(struct tcp_conn *c, uint64_t now_us)
{
    if (c->syn_data_len > 0) {
        if (!c->rd_shutdown)
            ring_commit(&c->rcv, c->syn_data_len);
        c->rcv_nxt += c->syn_data_len;
        c->syn_data_len = 0;
        c->ack_pending = true;
    }
    if (c->syn_fin) {
        c->syn_fin = false;
        c->rcv_nxt += 1;
        c->fin_received = true;
        c->ack_pending = true;
        if (c->state == SYNACK_ESTABLISHED)
            tcp_set_state(c, SYNACK_CLOSE_WAIT, now_us);
        else if (c->state == SYNACK_FIN_WAIT_1)
            tcp_set_state(c, tcp_fin_acked(c) ? SYNACK_TIME_WAIT : SYNACK_CLOSING, now_us);
    }
}

/* A passively opened connection goes back to LISTEN (RFC 9293 3.10.7.4 second and fourth):
 * everything learned from the SYN is forgotten, the retransmission queue flushed. */
static void return_to_listen(struct tcp_conn *c, uint64_t now_us)
{
    ring_consume(&c->snd, c->snd.len);
    ring_consume(&c->rcv, c->rcv.len);
    tcp_reset_vars(c);
    tcp_set_state(c, SYNACK_LISTEN, now_us);
}

/* SND.UNA < ack: new data (or our SYN, or our FIN) acknowledged (3.10.7.4 fifth). Returns
 * the sequence numbers newly acknowledged, our SYN not counted. */
static uint32_t ack_new(struct tcp_conn *c, const struct seg_in *s, uint32_t ack,
                        uint64_t now_us)
{
    bool syn_was_unacked = !seq_gt(c->snd_una, c->iss);
    uint32_t data_seq = tcp_snd_data_seq(c);
    int32_t acked = seq_diff(ack, data_seq);
    if (acked > 0) /* bytes that leave the send ring (a FIN beyond them is not a byte) */
        ring_consume(&c->snd, tcp_min32((uint32_t)acked, c->snd.len));
    uint32_t newly = (uint32_t)seq_diff(ack, seq_max(c->snd_una, data_seq));
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una; /* after a go-back, the peer had more than we resent */
    /* RFC 7323 4 (RTTM): with timestamps every ACK that advances SND.UNA gives an RTT
     * sample from its TSecr; the timed segment of RFC 6298 is then not needed. */
    if (c->ts_ok && (s->h->opts.present & WIRE_OPT_TS) && s->h->opts.ts_ecr != 0) {
        uint32_t ticks = tcp_ts_now(c, now_us) - s->h->opts.ts_ecr;
        if (ticks < (1u << 31)) {
            c->rtt_timing = false;
            tcp_rtt_sample(c, (uint64_t)ticks * TCP_TS_TICK_US);
        }
    }
    tcp_rtx_on_ack(c, ack, now_us);
    if (c->persist) {
        /* The probe (or more) was taken: the next probe waits the base interval again. */
        c->persist_backoff = 0;
        c->persist_since_us = TCP_NO_DEADLINE;
        c->persist_deadline = now_us + tcp_persist_interval(c);
    }
    if (syn_was_unacked) {
        /* Our SYN is acknowledged: congestion control starts (RFC 5681 3.1, RFC 6928). */
        cc_init(&c->cc, c->cc_algo == SYNACK_CC_CUBIC ? &cc_cubic_ops : NULL, c->snd_mss,
                c->syn_rtx);
        sack_init(&c->sack, c->snd_una);
        release_syn_text(c, now_us);
        return 0;
    }
    return newly;
}

/* ---- 3.10.7.2 LISTEN ------------------------------------------------------------------- */

static int input_listen(struct tcp_conn *c, const struct seg_in *s)
{
    /* First, check for a RST: it cannot be for this incarnation. */
    if (has(s, SYNACK_RST))
        return SYNACK_DROP_RST_IGNORED;
    /* Second, check for an ACK: any is bad here. <SEQ=SEG.ACK><CTL=RST> */
    if (has(s, SYNACK_ACK)) {
        tcp_send_rst(c, s->h->ack, s->now);
        return SYNACK_DROP_ACK_UNACCEPTABLE;
    }
    /* Fourth, other text or control without SYN: drop. */
    if (!has(s, SYNACK_SYN))
        return SYNACK_DROP_BAD_SEGMENT;
    /* Third, SYN: IRS, RCV.NXT; <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; SYN-RECEIVED. */
    take_syn(c, s);
    c->snd_una = c->iss;
    c->snd_nxt = c->snd_max = c->iss + 1;
    take_window(c, s);
    c->snd_wl1 = s->seq;
    c->snd_wl2 = c->iss;
    hold_syn_text(c, s);
    tcp_set_state(c, SYNACK_SYN_RECEIVED, s->now);
    tcp_send_syn(c, false, s->now);
    return 0;
}

/* ---- 3.10.7.4 (declared early: SYN-SENT continues at the seventh step) -------------------- */

static bool process_text(struct tcp_conn *c, const struct seg_in *s);
static void check_fin(struct tcp_conn *c, const struct seg_in *s, bool text_kept);

/* ---- 3.10.7.3 SYN-SENT ------------------------------------------------------------------ */

static int input_syn_sent(struct tcp_conn *c, const struct seg_in *s)
{
    bool ack_ok = false;
    /* First, check the ACK bit: acceptable iff ISS < SEG.ACK =< SND.NXT. */
    if (has(s, SYNACK_ACK)) {
        uint32_t ack = s->h->ack;
        if (seq_leq(ack, c->iss) || seq_gt(ack, c->snd_max)) {
            if (!has(s, SYNACK_RST))
                tcp_send_rst(c, ack, s->now); /* <SEQ=SEG.ACK><CTL=RST> */
            return SYNACK_DROP_ACK_UNACCEPTABLE;
        }
        ack_ok = true;
    }
    /* Second, check the RST bit: only with an acceptable ACK ("connection refused"). */
    if (has(s, SYNACK_RST)) {
        if (!ack_ok)
            return SYNACK_DROP_RST_IGNORED;
        tcp_fail(c, SYNACK_ECONNREFUSED, s->now);
        return 0;
    }
    /* Third, security: not applicable. Fifth: neither SYN nor RST: drop. */
    if (!has(s, SYNACK_SYN))
        return SYNACK_DROP_BAD_SEGMENT;
    /* Fourth, the SYN bit. */
    take_syn(c, s);
    take_window(c, s);
    c->snd_wl1 = s->seq;
    if (ack_ok) {
        /* Our SYN is acknowledged: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (sent at
         * the end of tcp_input, with queued data if the window allows). */
        c->snd_wl2 = s->h->ack;
        tcp_set_state(c, SYNACK_ESTABLISHED, s->now);
        ack_new(c, s, s->h->ack, s->now);
        c->ack_pending = true;
        tcp_close_deferred(c, s->now);
        /* Other text or controls: continue at the sixth step (URG ignored). */
        bool kept = process_text(c, s);
        check_fin(c, s, kept);
        return 0;
    }
    /* Simultaneous open: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; text and FIN are
     * held until ESTABLISHED. */
    c->snd_wl2 = c->iss;
    hold_syn_text(c, s);
    tcp_set_state(c, SYNACK_SYN_RECEIVED, s->now);
    tcp_send_syn(c, false, s->now);
    tcp_close_deferred(c, s->now);
    return 0;
}

/* ---- 3.10.7.4 Other states ------------------------------------------------------------- */

/* RFC 7323 5.3 (R1) PAWS and 3.2, before the sequence number check. Returns
 * TCP_STEP_CONTINUE or the final result. */
static int check_paws(struct tcp_conn *c, const struct seg_in *s)
{
    if (!c->ts_ok || has(s, SYNACK_RST))
        return TCP_STEP_CONTINUE; /* a RST is never dropped for its timestamp */
    const struct wire_tcp_opts *o = &s->h->opts;
    if (!(o->present & WIRE_OPT_TS))
        return SYNACK_DROP_BAD_SEGMENT; /* RFC 7323 3.2: silently dropped */
    if (!seq_lt(o->ts_val, c->ts_recent))
        return TCP_STEP_CONTINUE;
    /* RFC 7323 5.5: after more than 24 days idle TS.Recent is no longer valid. */
    if (s->now - c->ts_recent_us > TCP_PAWS_IDLE_US) {
        c->ts_recent = o->ts_val;
        c->ts_recent_us = s->now;
        return TCP_STEP_CONTINUE;
    }
    tcp_send_ack(c, s->now); /* R1: not acceptable, ACK and drop */
    return SYNACK_DROP_SEQ_UNACCEPTABLE;
}

/* RFC 7323 4.3 (2), 5.3 (R3): TS.Recent from an acceptable segment that covers
 * Last.ACK.sent (SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent). */
static void update_ts_recent(struct tcp_conn *c, const struct seg_in *s)
{
    const struct wire_tcp_opts *o = &s->h->opts;
    if (c->ts_ok && (o->present & WIRE_OPT_TS) && seq_geq(o->ts_val, c->ts_recent) &&
        seq_leq(s->seq, c->last_ack_sent)) {
        c->ts_recent = o->ts_val;
        c->ts_recent_us = s->now;
    }
}

/* First, check sequence number: the acceptability test of Table 6. */
static int check_sequence(struct tcp_conn *c, const struct seg_in *s)
{
    uint32_t wnd = tcp_rcv_wnd(c);
    uint32_t nxt = c->rcv_nxt;
    /* The window we announced may reach up to one scale unit beyond the free space
     * (tcp_announce_wnd rounds up). A peer that sent into that unit had the data trimmed, but
     * its SND.NXT stays there and its ACKs carry it: they are accepted for their ACK (the
     * "special allowance" for ACKs of 3.10.7.4 first), else a full receive buffer would
     * also stop our sending until the peer's retransmission at RCV.NXT. */
    uint32_t unit = c->rcv_wscale ? 1u << c->rcv_wscale : 0;
    bool ok;
    if (s->len == 0 && !has(s, SYNACK_RST) && unit > 0 && seq_in(s->seq, nxt, nxt + wnd + unit))
        ok = true;
    else if (wnd == 0)
        ok = s->seq == nxt; /* length 0; or length > 0: allowance for ACK, RST, FIN */
    else if (s->len == 0)
        /* Table 6 says RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND; the right edge itself is taken
         * too, as Linux does (tcp_sequence): an empty segment there occupies nothing beyond
         * the window, and it is what a sender that filled our window exactly puts in its
         * pure ACKs (SEQ = SND.NXT) while that data is lost. Refusing them left both ends
         * of a two-way transfer dropping each other's ACKs until a retransmission. */
        ok = seq_in_closed(s->seq, nxt, nxt + wnd);
    else
        ok = seq_in(s->seq, nxt, nxt + wnd) || seq_in(s->seq + s->len - 1, nxt, nxt + wnd);
    if (ok)
        return TCP_STEP_CONTINUE;
    if (has(s, SYNACK_RST))
        return SYNACK_DROP_RST_IGNORED; /* unacceptable RST: drop silently */
    /* TIME-WAIT: the only thing that can arrive is the peer's FIN again. Acknowledge it and
     * restart the 2 MSL timeout (eighth step). */
    if (c->state == SYNACK_TIME_WAIT && has(s, SYNACK_FIN) && c->fin_received &&
        s->seq + s->len - 1 == nxt - 1) {
        c->tw_deadline = s->now + 2 * c->cfg->msl_us;
        tcp_send_ack(c, s->now);
        return 0;
    }
    /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. A segment with nothing in it but an ACK is most
     * likely the peer's answer to one of ours that it found unacceptable too: answering each
     * of them can make an ACK war of a disagreement (seen with duplicated and reordered
     * packets both ways). So such answers are limited to one per TCP_OOW_ACK_GAP_US (as
     * RFC 5961 10 asks of challenge ACKs; Linux: tcp_invalid_ratelimit). Data (a zero-window
     * probe), SYN and FIN are answered every time. */
    if (s->len == 0 && c->oow_ack_us != TCP_NO_DEADLINE &&
        s->now - c->oow_ack_us < TCP_OOW_ACK_GAP_US)
        return SYNACK_DROP_SEQ_UNACCEPTABLE;
    if (s->len == 0)
        c->oow_ack_us = s->now;
    tcp_send_ack(c, s->now);
    return SYNACK_DROP_SEQ_UNACCEPTABLE;
}

/* Second, check the RST bit (RFC 5961 3 as RFC 9293 recommends). */
static int check_rst(struct tcp_conn *c, const struct seg_in *s)
{
    if (!has(s, SYNACK_RST))
        return TCP_STEP_CONTINUE;
    if (s->seq != c->rcv_nxt) {
        uint32_t wnd = tcp_rcv_wnd(c);
        if (seq_in(s->seq, c->rcv_nxt, c->rcv_nxt + wnd)) {
            tcp_send_ack(c, s->now); /* challenge ACK */
            return SYNACK_DROP_RST_CHALLENGED;
        }
        return SYNACK_DROP_RST_IGNORED;
    }
    switch (c->state) {
    case SYNACK_SYN_RECEIVED:
        if (c->passive)
            return_to_listen(c, s->now); /* the user need not be informed */
        else
            tcp_fail(c, SYNACK_ECONNREFUSED, s->now);
        return 0;
    case SYNACK_ESTABLISHED:
    case SYNACK_FIN_WAIT_1:
    case SYNACK_FIN_WAIT_2:
    case SYNACK_CLOSE_WAIT:
        tcp_fail(c, SYNACK_ECONNRESET, s->now);
        return 0;
    default: /* CLOSING, LAST-ACK, TIME-WAIT: enter CLOSED, no error to report */
        tcp_fail(c, 0, s->now);
        return 0;
    }
}

/* Fourth, check the SYN bit (RFC 5961 4). */
static int check_syn(struct tcp_conn *c, const struct seg_in *s)
{
    if (!has(s, SYNACK_SYN))
        return TCP_STEP_CONTINUE;
    if (c->state == SYNACK_SYN_RECEIVED && c->passive) {
        return_to_listen(c, s->now);
        return 0;
    }
    tcp_send_ack(c, s->now); /* challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
    return SYNACK_DROP_SYN_CHALLENGED;
}

/* Congestion control and loss recovery for an acceptable ACK that acknowledged acked new
 * bytes (0 for none); dup: it is a duplicate ACK (RFC 5681 2, RFC 6675 2). */
static void ack_recovery(struct tcp_conn *c, uint32_t acked, bool dup, uint64_t now_us)
{
    uint32_t smss = c->snd_mss;
    if (tcp_in_recovery(c)) {
        if (sack_recovery_done(&c->sack, c->snd_una)) {
            /* Full ACK: RFC 6582 3.2 step 6, RFC 6675 5 (A). */
            sack_exit_recovery(&c->sack);
            cc_exit_recovery(&c->cc, c->snd_max - c->snd_una);
            c->dup_acks = 0;
            return;
        }
        if (c->sack_ok)
            return; /* RFC 6675 5 step C: tcp_output sends while cwnd - pipe >= SMSS */
        if (acked > 0) {
            /* RFC 6582 3.2 step 5: a partial ACK: retransmit the first unacknowledged
             * segment, deflate cwnd by the amount acknowledged, add back one SMSS. */
            tcp_send_range(c, c->snd_una, tcp_min32(smss, c->snd_max - c->snd_una), now_us);
            cc_partial_ack(&c->cc, acked);
        } else if (dup) {
            cc_dup_ack(&c->cc); /* RFC 5681 3.2 step 4: inflate by one SMSS */
        }
        return;
    }
    if (acked > 0) {
        c->dup_acks = 0;
        /* RFC 5681 3.1 slow start / congestion avoidance (cc.h does the arithmetic). */
        cc_on_ack(&c->cc, acked, now_us, c->rtt_valid ? c->srtt_us : 0);
        return;
    }
    if (!dup)
        return;
    c->dup_acks++;
    /* RFC 5681 3.2 step 2, RFC 6582 3.2 step 2 ("recover"), RFC 6675 5 step 4: three
     * duplicate ACKs, or SACK shows the first segment lost (IsLost(HighACK + 1)). */
    bool lost = c->dup_acks >= SACK_DUP_THRESH ||
                (c->sack_ok && sack_is_lost(&c->sack, c->snd_una, smss));
    if (!lost || !sack_may_recover(&c->sack, c->snd_una))
        return; /* RFC 3042 limited transmit lets new data out (tcp_output) */
    uint32_t flight = c->snd_max - c->snd_una;
    cc_enter_recovery(&c->cc, flight, c->sack_ok);
    struct sack_seg first;
    sack_enter_recovery(&c->sack, c->snd_una, c->snd_max, smss, &first);
    tcp_send_range(c, first.seq, first.len, now_us); /* the fast retransmit */
    c->fast_retransmits++;
    if (c->sack_ok)
        c->sack_recoveries++;
}

/* Fifth, check the ACK field. */
static int check_ack(struct tcp_conn *c, const struct seg_in *s)
{
    if (!has(s, SYNACK_ACK))
        return SYNACK_DROP_NO_ACK;
    uint32_t ack = s->h->ack;
    if (!seq_gt(c->snd_una, c->iss)) {
        /* SYN-RECEIVED (or FIN-WAIT-1 after a CLOSE there: our SYN is still unacknowledged).
         * SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED with SND.WND, WL1, WL2 from this segment;
         * else <SEQ=SEG.ACK><CTL=RST>. */
        if (!seq_gt(ack, c->snd_una) || seq_gt(ack, c->snd_max)) {
            tcp_send_rst(c, ack, s->now);
            return SYNACK_DROP_ACK_UNACCEPTABLE;
        }
        if (c->state == SYNACK_SYN_RECEIVED)
            tcp_set_state(c, SYNACK_ESTABLISHED, s->now);
        take_window(c, s);
        c->snd_wl1 = s->seq;
        c->snd_wl2 = ack;
    }
    /* ACK of something not yet sent: send an ACK, drop. RFC 5961 5: an ACK older than
     * SND.UNA - MAX.SND.WND is not believable either. */
    if (seq_gt(ack, c->snd_max) || seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
        tcp_send_ack(c, s->now);
        return SYNACK_DROP_ACK_UNACCEPTABLE;
    }
    /* RFC 5681 2: a duplicate ACK acknowledges nothing new while data is outstanding,
     * carries no data, SYN or FIN, and does not change the window. */
    bool dup = ack == c->snd_una && c->snd_una != c->snd_max && s->h->payload_len == 0 &&
               !has(s, SYNACK_SYN | SYNACK_FIN) &&
               ((uint32_t)s->h->wnd << c->snd_wscale) == c->snd_wnd && c->snd_wnd > 0;
    uint32_t acked = 0;
    bool advances = seq_gt(ack, c->snd_una);
    if (advances)
        acked = ack_new(c, s, ack, s->now);
    if (tcp_syn_acked(c)) {
        /* RFC 6675 4 Update(): record the SACK blocks; one that SACKs new data makes the
         * ACK a duplicate in RFC 6675's sense even if the window changed. Without SACK the
         * board only keeps RFC 6582's "recover" point. */
        struct sack_news news;
        const struct wire_tcp_opts *o = &s->h->opts;
        int n = (c->sack_ok && (o->present & WIRE_OPT_SACK)) ? o->sack_count : 0;
        sack_update(&c->sack, c->snd_una, c->snd_max, o->sack, n, &news);
        if (news.newly_sacked > 0 && ack == c->snd_una && c->snd_una != c->snd_max)
            dup = true;
    }
    /* SND.UNA =< SEG.ACK =< SND.NXT: update the send window unless the segment is older
     * than the last update (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)).
     * A segment that acknowledges new data is newer than every one before it, whatever its
     * SEQ, and its window is taken too: the peer offers SEG.WND from SEG.ACK on, while
     * SND.WND is "an offset from SND.UNA" (3.10.7.4). Keeping the old SND.WND while SND.UNA
     * moves on would push our window edge past what the peer offered, and the grid's soak
     * found that overrun desynchronising two-way transfers. SEQ alone is no guide to age:
     * a peer's retransmissions after a go-back carry a lower SEQ than its earlier pure ACKs.
     * Linux's tcp_may_update_window takes an advancing ACK's window the same way. */
    if (advances || (seq_geq(ack, c->snd_una) &&
                     (seq_lt(c->snd_wl1, s->seq) ||
                      (c->snd_wl1 == s->seq && seq_leq(c->snd_wl2, ack))))) {
        take_window(c, s);
        c->snd_wl1 = s->seq;
        c->snd_wl2 = ack;
    }
    if (c->snd_wnd == 0) {
        c->first_rtx_us = TCP_NO_DEADLINE; /* the peer answers: zero window, not dead */
        c->persist_since_us = TCP_NO_DEADLINE;
    } else if (c->persist) {
        /* The window opened: leave persist, send from SND.UNA again (the probe byte may not
         * have been taken), without the probes' backoff. */
        c->persist = false;
        c->persist_deadline = TCP_NO_DEADLINE;
        c->persist_since_us = TCP_NO_DEADLINE;
        c->persist_backoff = 0;
        if (seq_gt(c->snd_nxt, c->snd_una)) {
            c->snd_nxt = c->snd_una;
            c->rtt_timing = false; /* Karn: the probe byte goes again */
            c->rtx_deadline = TCP_NO_DEADLINE;
        }
    }
    if (tcp_syn_acked(c))
        ack_recovery(c, acked, dup, s->now);
    switch (c->state) {
    case SYNACK_FIN_WAIT_1:
        if (tcp_fin_acked(c))
            tcp_set_state(c, SYNACK_FIN_WAIT_2, s->now);
        break;
    case SYNACK_CLOSING:
        if (!tcp_fin_acked(c))
            return 0; /* otherwise, ignore the segment */
        tcp_set_state(c, SYNACK_TIME_WAIT, s->now);
        break;
    case SYNACK_LAST_ACK:
        if (tcp_fin_acked(c)) {
            tcp_fail(c, 0, s->now); /* delete the TCB, enter CLOSED */
            return 0;
        }
        break;
    default:
        break;
    }
    return TCP_STEP_CONTINUE;
}

/* In-order data was accepted: acknowledge it at once, or delay the ACK (RFC 9293 3.8.6.3:
 * less than 0.5 s, and RFC 5681 4.2: at least every second full-sized segment). */
static void ack_in_order(struct tcp_conn *c, uint32_t plen, uint64_t now_us)
{
    if (plen > c->rcv_mss)
        c->rcv_mss = (uint16_t)tcp_min32(plen, c->cfg->mss); /* "full-sized" as seen */
    uint64_t delay = tcp_min64(c->cfg->delack_us, TCP_DELACK_MAX_US);
    if (delay == 0 || c->rcv_nxt - c->last_ack_sent >= 2u * c->rcv_mss) {
        c->ack_pending = true;
        return;
    }
    if (c->ack_deadline == TCP_NO_DEADLINE)
        c->ack_deadline = now_us + delay;
}

/* Seventh, process the segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 only). Returns
 * true when all of the text was kept (in order or stored out of order), so that a FIN
 * behind it may be remembered. */
static bool process_text(struct tcp_conn *c, const struct seg_in *s)
{
    uint32_t plen = s->h->payload_len;
    if (plen == 0)
        return true;
    if (c->state != SYNACK_ESTABLISHED && c->state != SYNACK_FIN_WAIT_1 &&
        c->state != SYNACK_FIN_WAIT_2)
        return false; /* a FIN has been received: ignore the segment text */
    uint32_t data_seq = s->seq + (has(s, SYNACK_SYN) ? 1u : 0u);
    uint32_t wnd = tcp_rcv_wnd(c);
    if (seq_gt(data_seq, c->rcv_nxt)) {
        /* Out of order (SHLD-31): keep what fits in the window, at its offset in the ring;
         * ACK at once so the sender learns of the hole (RFC 5681 4.2, RFC 2018 4). */
        c->ack_pending = true;
        uint32_t off = data_seq - c->rcv_nxt;
        if (c->rd_shutdown || off >= wnd)
            return false;
        uint32_t n = tcp_min32(plen, wnd - off);
        if (reass_add(&c->reass, data_seq, data_seq + n) != 0)
            return false; /* too many holes: dropped, the peer sends it again */
        ring_write_at(&c->rcv, c->rcv.len + off, s->h->payload, n);
        return n == plen;
    }
    /* RFC 9293 3.10.7.4 first: the part before RCV.NXT is a duplicate: trimmed. */
    uint32_t skip = c->rcv_nxt - data_seq;
    if (skip >= plen) {
        c->ack_pending = true; /* a pure duplicate: the ACK may have been lost */
        return true;
    }
    uint32_t n = tcp_min32(plen - skip, wnd); /* beyond the window: trim */
    if (n == 0) {
        c->ack_pending = true;
        return false;
    }
    if (!c->rd_shutdown)
        ring_write(&c->rcv, s->h->payload + skip, n);
    c->rcv_nxt += n;
    if (!reass_empty(&c->reass)) {
        /* Bytes that had arrived beyond this segment are already in the ring: commit the
         * contiguous part. Filling (part of) a hole is ACKed at once (RFC 5681 4.2). */
        uint32_t nxt = reass_advance(&c->reass, c->rcv_nxt);
        if (!c->rd_shutdown)
            ring_commit(&c->rcv, nxt - c->rcv_nxt);
        c->rcv_nxt = nxt;
        c->ack_pending = true;
    } else {
        ack_in_order(c, plen, s->now);
    }
    /* Data beyond the edge we announced (receiver SWS avoidance keeps the edge behind the
     * free space) was taken since it fits: the edge is at least RCV.NXT. */
    if (seq_gt(c->rcv_nxt, c->rcv_adv))
        c->rcv_adv = c->rcv_nxt;
    return n == plen - skip;
}

static void fin_reached(struct tcp_conn *c, const struct seg_in *s);

/* Eighth, check the FIN bit. text_kept: all of the segment's text was kept. */
static void check_fin(struct tcp_conn *c, const struct seg_in *s, bool text_kept)
{
    /* The peer's FIN again lies before RCV.NXT: the first check answered it (and restarted
     * TIME-WAIT). A FIN after the one received breaks the protocol: ignored. */
    if (c->fin_received)
        return;
    if (has(s, SYNACK_FIN)) {
        uint32_t fin_seq = s->seq + s->len - 1; /* the FIN is the segment's last number */
        c->ack_pending = true;
        if (fin_seq == c->rcv_nxt) {
            fin_reached(c, s);
            return;
        }
        /* Data before it is missing: remember it if the text before it was kept. */
        if (seq_gt(fin_seq, c->rcv_nxt) && text_kept && !c->rd_shutdown &&
            (c->state == SYNACK_ESTABLISHED || c->state == SYNACK_FIN_WAIT_1 ||
             c->state == SYNACK_FIN_WAIT_2))
            reass_set_fin(&c->reass, fin_seq);
    }
    if (reass_fin_reached(&c->reass, c->rcv_nxt)) {
        /* RCV.NXT caught up with a FIN that had arrived out of order. */
        c->ack_pending = true;
        fin_reached(c, s);
        reass_drop_below(&c->reass, c->rcv_nxt);
    }
}

/* The FIN at RCV.NXT is processed (RFC 9293 3.10.7.4 eighth). */
static void fin_reached(struct tcp_conn *c, const struct seg_in *s)
{
    c->rcv_nxt += 1; /* advance RCV.NXT over the FIN, acknowledge it */
    c->fin_received = true;
    switch (c->state) {
    case SYNACK_ESTABLISHED: /* (SYN-RECEIVED became ESTABLISHED in the fifth step) */
        tcp_set_state(c, SYNACK_CLOSE_WAIT, s->now);
        break;
    case SYNACK_FIN_WAIT_1:
        /* Our FIN acknowledged (perhaps in this segment): TIME-WAIT; else CLOSING. */
        tcp_set_state(c, tcp_fin_acked(c) ? SYNACK_TIME_WAIT : SYNACK_CLOSING, s->now);
        break;
    case SYNACK_FIN_WAIT_2:
        tcp_set_state(c, SYNACK_TIME_WAIT, s->now);
        break;
    default:
        break; /* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: fin_received, not reached */
    }
}

static int input_other(struct tcp_conn *c, struct seg_in *s)
{
    /* RFC 1122 4.2.2.13 (RFC 9293 3.6.1 MAY-2, 3.10.7.4): a new SYN beyond RCV.NXT may reopen
     * a connection in TIME-WAIT; the stack ends this one and hands the SYN to the listener. */
    if (c->state == SYNACK_TIME_WAIT && has(s, SYNACK_SYN) && !has(s, SYNACK_ACK | SYNACK_RST) &&
        seq_gt(s->seq, c->rcv_nxt))
        return TCP_INPUT_REOPEN;
    if (c->state == SYNACK_SYN_RECEIVED && s->seq == c->irs && has(s, SYNACK_SYN) &&
        !has(s, SYNACK_RST)) {
        /* The SYN that opened us, again: the peer lacks our SYN-ACK. */
        if (!has(s, SYNACK_ACK)) {
            c->rtt_timing = false; /* Karn: the ACK to come is ambiguous */
            tcp_send_syn(c, true, s->now);
            return 0;
        }
        /* Simultaneous open (Figure 7, line 6): the peer's SYN-ACK repeats the SYN we have.
         * Trim the old SYN off (3.10.7.4 first: "trimming off any portions that lie outside
         * the window (including SYN and FIN)"); what remains starts at RCV.NXT. */
        s->flags &= (uint8_t)~SYNACK_SYN;
        s->seq += 1;
        s->len -= 1;
    }
    int r = check_paws(c, s);
    if (r == TCP_STEP_CONTINUE)
        r = check_sequence(c, s);
    if (r == TCP_STEP_CONTINUE) {
        update_ts_recent(c, s);
        tcp_keepalive_restart(c, s->now); /* the peer is alive (RFC 9293 3.8.4) */
        r = check_rst(c, s);
    }
    if (r == TCP_STEP_CONTINUE)
        r = check_syn(c, s);
    if (r == TCP_STEP_CONTINUE)
        r = check_ack(c, s);
    if (r != TCP_STEP_CONTINUE)
        return r;
    bool kept = process_text(c, s);
    check_fin(c, s, kept);
    return 0;
}

int tcp_input(struct tcp_conn *c, const struct wire_tcp *seg, uint64_t now_us)
{
    struct seg_in s;
    s.h = seg;
    s.flags = seg->flags;
    s.seq = seg->seq;
    s.len = seg->payload_len + ((seg->flags & SYNACK_SYN) ? 1u : 0u) +
            ((seg->flags & SYNACK_FIN) ? 1u : 0u);
    s.now = now_us;
    int r;
    if (c->state == SYNACK_CLOSED)
        return SYNACK_DROP_NO_SOCKET; /* 3.10.7.1: the stack answers with tcp_reset_for() */
    if (tcp_rcv_needs_storage(c, seg))
        return SYNACK_DROP_NO_MEMORY; /* nowhere to put the data: dropped whole (tcp.h) */
    switch (c->state) {
    case SYNACK_LISTEN:
        return input_listen(c, &s);
    case SYNACK_SYN_SENT:
        r = input_syn_sent(c, &s);
        break;
    default:
        r = input_other(c, &s);
        break;
    }
    if (r != TCP_INPUT_REOPEN)
        tcp_output(c, now_us); /* data the ACK let out, and the ACK this segment is owed */
    return r;
}

/* ---- 3.10.7.1 CLOSED -------------------------------------------------------------------- */

bool tcp_reset_for(const struct wire_tcp *seg, struct wire_tcp_out *out)
{
    if (seg->flags & SYNACK_RST)
        return false; /* an incoming RST is discarded */
    if (seg->flags & SYNACK_ACK) {
        out->seq = seg->ack; /* <SEQ=SEG.ACK><CTL=RST> */
        out->ack = 0;
        out->flags = SYNACK_RST;
    } else {
        uint32_t len = seg->payload_len + ((seg->flags & SYNACK_SYN) ? 1u : 0u) +
                       ((seg->flags & SYNACK_FIN) ? 1u : 0u);
        out->seq = 0; /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
        out->ack = seg->seq + len;
        out->flags = SYNACK_RST | SYNACK_ACK;
    }
    return true;
}
