/*
 * tcp_output.c: building and sending segments, and the send-side decision of what to
 * transmit. Also tcp_set_state(), the one function that changes a connection's state.
 *
 * Read first: RFC 9293 3.1 (header), 3.7.1 (MSS option), 3.8.6 (window management),
 * 3.10.4 (CLOSE: FIN after the queued data), RFC 6298 5.1 (start the timer on sending).
 *
 * Decisions:
 *  - Nothing but the SYN (or SYN-ACK) is sent until our SYN is acknowledged; data and FIN
 *    queued earlier go out then (RFC 9293 3.10.2: "queue for transmission after entering
 *    ESTABLISHED").
 *  - Data goes out in segments of at most snd_mss bytes, never beyond SND.UNA +
 *    min(SND.WND, cwnd) (RFC 5681 3.1; plus 2 segments of limited transmit, RFC 3042),
 *    subject to sender SWS avoidance and Nagle (RFC 9293 3.7.4, 3.8.6.2.1): a partial
 *    segment goes only when it empties the queue or is at least half the largest window
 *    the peer offered, and (Nagle, unless nodelay) nothing is unacknowledged. PSH is set on
 *    the segment that carries the last byte queued.
 *  - Segmentation offload (cfg->tso_max, 0 = off): new data may go out in one segment of
 *    up to tso_max bytes, a whole multiple of the MSS unless it ends the queue, which the
 *    link cuts into MSS-sized segments (wire_tcp_out.tso_seg). One difference from the loop
 *    sending segment by segment: when the large segment takes all that is queued, its
 *    short tail goes with it while the MSS-sized pieces before it are unacknowledged,
 *    where Nagle (RFC 9293 3.7.4) would hold it back; Linux's TSO does the same.
 *    Retransmissions, go-backs and loss recovery send MSS-sized segments.
 *  - Data held back by a zero or too small window with nothing in flight starts the persist
 *    timer (tcp_timer.c), never the retransmission timer.
 *  - During SACK loss recovery (RFC 6675 5 step C) what goes out is chosen by NextSeg()
 *    while cwnd - pipe >= SMSS.
 *  - Options: our SYN offers MSS, and, as configured, window scale, SACK-permitted and
 *    timestamps; a SYN-ACK offers only those the peer's SYN carried (RFC 7323 2.2, 3.2,
 *    RFC 2018 2). Timestamps then go on every segment but RSTs (RFC 7323 3.2), SACK blocks
 *    on every ACK while out-of-order data is held (RFC 2018 4).
 *  - The FIN rides on the segment carrying the last byte, or goes alone once all data has
 *    been sent. It needs no room in the peer's window (it uses no buffer space there); a
 *    receiver that trims it gets it again from the retransmission timer.
 *  - The RST of ABORT and of the user timeout carries SEQ = snd_max, the highest SND.NXT
 *    ever reached (equal to SND.NXT except after a go-back retransmission), so that it lands
 *    at the peer's RCV.NXT when the peer has everything.
 */

#include "tcp/tcp_internal.h"

void tcp_set_state(struct tcp_conn *c, int new_state, uint64_t now_us)
{
    int old = c->state;
    if (old == new_state)
        return;
    c->state = (uint8_t)new_state;
    if (new_state == SYNACK_TIME_WAIT) {
        /* RFC 9293 3.10.7.4 eighth: start the time-wait timer, turn off the other timers. */
        c->tw_deadline = now_us + 2 * c->cfg->msl_us;
        c->rtx_deadline = TCP_NO_DEADLINE;
        c->ack_deadline = TCP_NO_DEADLINE;
        c->first_rtx_us = TCP_NO_DEADLINE;
        c->persist_deadline = c->ka_deadline = TCP_NO_DEADLINE;
        c->persist = false;
    } else if (new_state == SYNACK_CLOSED || new_state == SYNACK_LISTEN) {
        c->tw_deadline = TCP_NO_DEADLINE;
        c->rtx_deadline = TCP_NO_DEADLINE;
        c->ack_deadline = TCP_NO_DEADLINE;
        c->first_rtx_us = TCP_NO_DEADLINE;
        c->persist_deadline = c->ka_deadline = TCP_NO_DEADLINE;
        c->persist = false;
        c->ack_pending = false;
    } else if (new_state == SYNACK_ESTABLISHED) {
        tcp_keepalive_restart(c, now_us);
    }
    if (c->hooks && c->hooks->state_change)
        c->hooks->state_change(c->hooks->arg, c, old, new_state, now_us);
}

uint8_t tcp_wscale_for(uint32_t cap)
{
    /* RFC 7323 2.3: the shift is chosen from the receive buffer; at most 14. */
    uint8_t shift = 0;
    while (shift < TCP_MAX_WSCALE && (cap >> shift) > TCP_MAX_WIN)
        shift++;
    return shift;
}

/* Receiver SWS avoidance threshold (RFC 9293 3.8.6.2.2): min(Fr * RCV.BUFF, Eff.snd.MSS),
 * Fr = 1/2, at least 1 byte. */
static uint32_t rcv_sws_threshold(const struct tcp_conn *c)
{
    uint32_t t = tcp_min32(c->rcv.cap / 2, c->cfg->mss);
    return t > 0 ? t : 1;
}

uint32_t tcp_rcv_edge_gain(const struct tcp_conn *c)
{
    int32_t gain = seq_diff(c->rcv_nxt + tcp_rcv_wnd(c), c->rcv_adv);
    if (gain <= 0)
        return 0;
    /* RFC 9293 3.8.6.2.2: the right edge moves only by at least the threshold. */
    if ((uint32_t)gain < rcv_sws_threshold(c))
        return 0;
    return (uint32_t)gain;
}

uint16_t tcp_announce_wnd(struct tcp_conn *c, bool syn)
{
    uint32_t wnd = tcp_rcv_wnd(c);
    if (syn || !tcp_have_rcv_nxt(c->state)) {
        /* RFC 7323 2.2: the window field of a SYN or SYN-ACK is never scaled. */
        uint32_t w = tcp_min32(wnd, TCP_MAX_WIN);
        if (tcp_have_rcv_nxt(c->state) && seq_gt(c->rcv_nxt + w, c->rcv_adv))
            c->rcv_adv = c->rcv_nxt + w;
        return (uint16_t)w;
    }
    /* RFC 9293 3.10.7.4 seventh: "The total of RCV.NXT and RCV.WND should not be reduced";
     * RFC 9293 3.8.6.2.2: it grows only by enough (receiver SWS avoidance). */
    uint32_t gain = tcp_rcv_edge_gain(c);
    if (gain > 0)
        c->rcv_adv += gain;
    if (seq_lt(c->rcv_adv, c->rcv_nxt))
        c->rcv_adv = c->rcv_nxt;
    uint32_t adv = c->rcv_adv - c->rcv_nxt;
    /* RFC 7323 2.4: scaled down, rounded up so that the announced edge does not fall below
     * rcv_adv (it may lie up to one scale unit beyond it, and move within that unit: the
     * shrinking RFC 7323 2.4 allows; data beyond the free space is trimmed). */
    uint32_t unit = 1u << c->rcv_wscale;
    uint32_t field = (uint32_t)(((uint64_t)adv + unit - 1) >> c->rcv_wscale);
    return (uint16_t)tcp_min32(field, TCP_MAX_WIN);
}

/* Fills the options of a segment with flags (RFC 9293 3.7.1, RFC 7323, RFC 2018). */
static void put_options(struct tcp_conn *c, struct wire_tcp_opts *o, uint8_t flags,
                        uint64_t now_us)
{
    bool syn_sent_state = c->state == SYNACK_SYN_SENT;
    if (flags & SYNACK_SYN) {
        o->present = WIRE_OPT_MSS; /* RFC 9293 3.7.1: our MSS on SYNs */
        o->mss = c->cfg->mss;
        /* Our SYN offers what is configured; a SYN-ACK answers what the SYN offered. */
        if (syn_sent_state ? c->cfg->window_scaling : c->ws_ok) {
            o->present |= WIRE_OPT_WSCALE; /* RFC 7323 2.2 */
            o->wscale = syn_sent_state ? tcp_wscale_for(c->rcv.cap) : c->rcv_wscale;
        }
        if (syn_sent_state ? c->cfg->sack : c->sack_ok)
            o->present |= WIRE_OPT_SACK_PERM; /* RFC 2018 2 */
        if (syn_sent_state ? c->cfg->timestamps : c->ts_ok) {
            o->present |= WIRE_OPT_TS; /* RFC 7323 3.2 */
            o->ts_val = tcp_ts_now(c, now_us);
            o->ts_ecr = syn_sent_state ? 0 : c->ts_recent;
        }
        return;
    }
    if (c->ts_ok) {
        /* RFC 7323 3.2: TSopt in every non-RST segment once negotiated; TSecr = TS.Recent. */
        o->present |= WIRE_OPT_TS;
        o->ts_val = tcp_ts_now(c, now_us);
        o->ts_ecr = c->ts_recent;
    }
    if (c->sack_ok && (flags & SYNACK_ACK) && !reass_empty(&c->reass)) {
        /* RFC 2018 4: SACK blocks while out-of-order data is held, at most 3 with TS. */
        int n = reass_sack_blocks(&c->reass, o->sack, c->ts_ok ? 3 : 4);
        if (n > 0) {
            o->present |= WIRE_OPT_SACK;
            o->sack_count = (uint8_t)n;
        }
    }
}

/* Hands one segment to the stack. data_len bytes of the send ring starting data_off bytes
 * after its head form the payload. */
static void emit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t data_off,
                 uint32_t data_len, bool retransmit, uint64_t now_us)
{
    struct wire_tcp_out out;
    wire_tcp_out_clear(&out);
    out.seq = seq;
    out.flags = flags;
    if (!(flags & SYNACK_RST))
        put_options(c, &out.opts, flags, now_us);
    if (flags & SYNACK_ACK) {
        out.ack = c->rcv_nxt;
        c->ack_pending = false; /* every ACK-bearing segment carries RCV.NXT */
        c->ack_deadline = TCP_NO_DEADLINE; /* ...and ends a delayed ACK */
        c->last_ack_sent = c->rcv_nxt;     /* RFC 7323 4.3 Last.ACK.sent */
    }
    out.wnd = (flags & SYNACK_RST) ? 0 : tcp_announce_wnd(c, (flags & SYNACK_SYN) != 0);
    if (data_len > 0)
        ring_slices(&c->snd, data_off, data_len, out.data, out.data_len);
    uint32_t mss = tcp_data_mss(c);
    if (data_len > mss)
        out.tso_seg = mss; /* only send_window_seg() (tso_max) makes these: the link cuts it */
    if (retransmit)
        c->retransmits++;
    if (data_len > 0 || (flags & (SYNACK_SYN | SYNACK_FIN)))
        c->last_send_us = now_us;
    if (c->hooks && c->hooks->output)
        c->hooks->output(c->hooks->arg, c, &out, retransmit);
}

void tcp_send_syn(struct tcp_conn *c, bool retransmit, uint64_t now_us)
{
    uint8_t flags = SYNACK_SYN;
    if (c->state != SYNACK_SYN_SENT)
        flags |= SYNACK_ACK; /* SYN-RECEIVED (or closing before the handshake ended) */
    if (!retransmit && !c->rtt_timing) {
        c->rtt_timing = true; /* RFC 6298 3: the SYN may be timed, unless sent again */
        c->rtt_seq = c->iss;
        c->rtt_start_us = now_us;
    }
    emit(c, c->iss, flags, 0, 0, retransmit, now_us);
    tcp_rtx_arm(c, now_us);
}

/* SEQ of a segment without data, SYN or FIN: RFC 9293's SND.NXT, which is our snd_max: a
 * go-back retransmission moves only snd_nxt back, and the peer may hold everything up to
 * snd_max already, so an ACK at snd_nxt could fall below its RCV.NXT and be dropped unread
 * by its first check (3.10.7.4). Never beyond the peer's window edge, where it would be
 * dropped as well (a probe byte into a zero window). */
static uint32_t tcp_ack_seq(const struct tcp_conn *c)
{
    uint32_t edge = c->snd_una + c->snd_wnd;
    if (c->fin_sent)
        edge += 1; /* a FIN needs no window: the peer takes it even at a zero window */
    return seq_leq(c->snd_max, edge) ? c->snd_max : seq_max(edge, c->snd_una);
}

void tcp_send_ack(struct tcp_conn *c, uint64_t now_us)
{
    emit(c, tcp_ack_seq(c), SYNACK_ACK, 0, 0, false, now_us);
}

void tcp_send_keepalive(struct tcp_conn *c, uint64_t now_us)
{
    /* RFC 9293 3.8.4: SEG.SEQ = SND.NXT - 1, no data: the peer must answer with an ACK. */
    emit(c, tcp_ack_seq(c) - 1, SYNACK_ACK, 0, 0, false, now_us);
}

void tcp_send_rst(struct tcp_conn *c, uint32_t seq, uint64_t now_us)
{
    struct wire_tcp_out out;
    wire_tcp_out_clear(&out);
    out.seq = seq;
    out.flags = SYNACK_RST;
    if (c->ts_ok && tcp_have_rcv_nxt(c->state)) {
        /* RFC 7323 3.2: TSopt SHOULD be sent in a RST once negotiated. */
        out.opts.present = WIRE_OPT_TS;
        out.opts.ts_val = tcp_ts_now(c, now_us);
        out.opts.ts_ecr = c->ts_recent;
    }
    if (c->hooks && c->hooks->output)
        c->hooks->output(c->hooks->arg, c, &out, false);
}

/* Sends data_len bytes at SND.NXT (plus the FIN if fin) and advances SND.NXT over them. */
static void send_data(struct tcp_conn *c, uint32_t data_len, bool fin, uint64_t now_us)
{
    uint32_t seq = c->snd_nxt;
    uint32_t off = seq - tcp_snd_data_seq(c);
    bool retransmit = seq_lt(seq, c->snd_max);
    uint8_t flags = SYNACK_ACK;
    if (data_len > 0 && off + data_len == c->snd.len)
        flags |= SYNACK_PSH; /* the last byte queued: end of this burst */
    if (fin)
        flags |= SYNACK_FIN;
    if (!retransmit && !c->rtt_timing) {
        c->rtt_timing = true; /* RFC 6298 3: time only segments never sent before */
        c->rtt_seq = seq;
        c->rtt_start_us = now_us;
    }
    emit(c, seq, flags, off, data_len, retransmit, now_us);
    uint32_t end = seq + data_len + (fin ? 1u : 0u);
    if (fin) {
        c->fin_sent = true;
        c->fin_seq = seq + data_len;
    }
    c->snd_nxt = end;
    if (seq_gt(end, c->snd_max))
        c->snd_max = end;
    tcp_rtx_arm(c, now_us); /* RFC 6298 5.1 */
}

void tcp_send_range(struct tcp_conn *c, uint32_t seq, uint32_t len, uint64_t now_us)
{
    uint32_t data_seq = tcp_snd_data_seq(c);
    uint32_t data_end = tcp_snd_data_end(c);
    if (seq_lt(seq, data_seq))
        return; /* nothing of the send ring */
    uint32_t n = seq_lt(seq, data_end) ? tcp_min32(len, data_end - seq) : 0;
    bool fin = c->fin_sent && seq_in(c->fin_seq, seq, seq + len); /* fin_seq = data end */
    if (n == 0 && !fin)
        return;
    uint8_t flags = SYNACK_ACK;
    if (n > 0 && seq - data_seq + n == c->snd.len)
        flags |= SYNACK_PSH; /* as when first sent: it carries the last byte queued */
    if (fin)
        flags |= SYNACK_FIN;
    if (c->rtt_timing && seq_in(c->rtt_seq, seq, seq + n + (fin ? 1u : 0u)))
        c->rtt_timing = false; /* RFC 6298 3 (Karn): the timed segment goes again */
    emit(c, seq, flags, seq - data_seq, n, true, now_us);
    tcp_rtx_arm(c, now_us);
}

/* Data may be sent in this state: the handshake is done and our FIN is not acknowledged. */
static bool may_send_data(const struct tcp_conn *c)
{
    switch (c->state) {
    case SYNACK_ESTABLISHED:
    case SYNACK_CLOSE_WAIT:
    case SYNACK_FIN_WAIT_1:
    case SYNACK_CLOSING:
    case SYNACK_LAST_ACK:
        return tcp_syn_acked(c);
    default:
        return false;
    }
}

/* Sender SWS avoidance and Nagle (RFC 9293 3.8.6.2.1, 3.7.4): may a segment of n bytes go
 * now, avail bytes being queued from SND.NXT on? */
static bool sws_nagle_ok(const struct tcp_conn *c, uint32_t n, uint32_t avail)
{
    if (n >= tcp_data_mss(c))
        return true; /* (1) a maximum-sized segment */
    if (seq_lt(c->snd_nxt, c->snd_max))
        return true; /* a retransmission after a go-back: no new small segment */
    /* RFC 9293 3.7.4 Nagle: no small segment while data is unacknowledged, unless off. */
    bool nagle_ok = c->nodelay || c->snd_una == c->snd_max;
    if (!nagle_ok)
        return false;
    if (n == avail)
        return true; /* (2) all queued data goes: the socket API pushes every send */
    return n >= c->max_snd_wnd / 2; /* (3) at least Fs = 1/2 of the largest window */
}

/* The congestion window to respect, bytes: cwnd, plus up to 2 SMSS of limited transmit
 * after the first and second duplicate ACKs (RFC 3042 2). */
static uint32_t usable_cwnd(const struct tcp_conn *c)
{
    uint64_t w = c->cc.cwnd;
    if (!tcp_in_recovery(c) && c->dup_acks > 0 && c->dup_acks < SACK_DUP_THRESH &&
        c->snd_nxt == c->snd_max)
        w += (uint64_t)c->dup_acks * c->snd_mss;
    return w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

/* How much data the next segment of the send loop may carry, avail bytes being queued and
 * usable allowed by the windows: at most one MSS, or with segmentation offload and new data
 * (not a go-back) up to cfg->tso_max, cut to whole MSS-sized pieces unless it takes all
 * that is queued (otherwise the rest waits for SWS avoidance and Nagle as it would
 * without; when it takes all, its short tail is not held by Nagle: see the top). */
static uint32_t send_window_seg(const struct tcp_conn *c, uint32_t avail, uint32_t usable)
{
    uint32_t mss = tcp_data_mss(c);
    uint32_t n = tcp_min32(avail, usable);
    if (n <= mss || c->cfg->tso_max <= mss || seq_lt(c->snd_nxt, c->snd_max))
        return tcp_min32(n, mss);
    n = tcp_min32(n, c->cfg->tso_max);
    return n == avail ? n : n - n % mss;
}

/* The ordinary send loop: data and FIN within min(SND.WND, cwnd) (RFC 5681 3.1). */
static void send_window(struct tcp_conn *c, uint64_t now_us)
{
    uint32_t wnd_end = c->snd_una + tcp_min32(c->snd_wnd, usable_cwnd(c));
    for (;;) {
        uint32_t end = tcp_snd_data_end(c);
        if (seq_lt(c->snd_nxt, end)) {
            int32_t usable = seq_diff(wnd_end, c->snd_nxt);
            if (usable <= 0)
                break; /* window full or zero: ACKs or the persist timer go on */
            uint32_t avail = end - c->snd_nxt;
            uint32_t n = send_window_seg(c, avail, (uint32_t)usable);
            if (!sws_nagle_ok(c, n, avail))
                break;
            send_data(c, n, c->fin_queued && n == avail, now_us);
        } else if (tcp_fin_due(c)) {
            send_data(c, 0, true, now_us); /* RFC 9293 3.10.4: FIN after the data */
        } else {
            break;
        }
    }
}

/* RFC 6675 5 step C: while cwnd - pipe >= SMSS, send what NextSeg() chooses. */
static void send_recovery(struct tcp_conn *c, uint64_t now_us)
{
    uint32_t smss = c->snd_mss;
    for (int guard = 0; guard < 65536; guard++) {
        uint32_t pipe = sack_pipe(&c->sack, c->snd_una, c->snd_max, smss);
        if ((uint64_t)pipe + smss > c->cc.cwnd)
            break;
        uint32_t end = tcp_snd_data_end(c);
        int32_t usable = seq_diff(c->snd_una + c->snd_wnd, c->snd_nxt);
        bool can_new = c->snd_nxt == c->snd_max && seq_lt(c->snd_nxt, end) && usable > 0;
        struct sack_seg seg = {0, 0};
        enum sack_next k = sack_next_seg(&c->sack, c->snd_una, c->snd_max, smss, can_new,
                                         &seg);
        if (k == SACK_NEXT_NONE)
            break;
        if (k == SACK_NEXT_NEW) {
            uint32_t avail = end - c->snd_nxt;
            uint32_t n = tcp_min32(tcp_min32(avail, (uint32_t)usable), tcp_data_mss(c));
            send_data(c, n, c->fin_queued && n == avail, now_us);
            continue;
        }
        if (seg.len == 0)
            break;
        seg.len = tcp_min32(seg.len, tcp_data_mss(c)); /* room for our own SACK blocks */
        tcp_send_range(c, seg.seq, seg.len, now_us);
        sack_sent(&c->sack, k, &seg);
    }
    if (tcp_fin_due(c) && c->snd_nxt == c->snd_max)
        send_data(c, 0, true, now_us);
}

/* Unsent data bytes are queued (the FIN does not count: it needs no window). */
static bool data_unsent(const struct tcp_conn *c)
{
    return seq_lt(c->snd_nxt, tcp_snd_data_end(c));
}

void tcp_output(struct tcp_conn *c, uint64_t now_us)
{
    if (may_send_data(c)) {
        /* RFC 5681 4.1: after an idle period longer than the RTO, restart from at most the
         * initial window. */
        if (c->snd_una == c->snd_max && data_unsent(c) && c->last_send_us != 0)
            cc_after_idle(&c->cc, now_us - c->last_send_us, c->rto_us);
        if (tcp_in_recovery(c) && c->sack_ok)
            send_recovery(c, now_us);
        else
            send_window(c, now_us);
        /* Data waits for window with nothing in flight: the persist timer probes the
         * window (RFC 9293 3.8.6.1) or overrides SWS avoidance (3.8.6.2.1 (4)). */
        if (!c->persist && data_unsent(c) && c->snd_una == c->snd_max) {
            c->persist = true;
            c->persist_deadline = now_us + tcp_persist_interval(c);
        }
    }
    if (c->ack_pending && tcp_have_rcv_nxt(c->state))
        tcp_send_ack(c, now_us);
    c->ack_pending = false;
}

void tcp_output_rtx(struct tcp_conn *c, uint64_t now_us)
{
    c->snd_nxt = c->snd_una; /* go back: RFC 6298 5.4, the earliest unacknowledged first */
    uint32_t end = tcp_snd_data_end(c);
    if (seq_lt(c->snd_nxt, end)) {
        uint32_t avail = end - c->snd_nxt;
        uint32_t wnd = c->snd_wnd > 0 ? c->snd_wnd : 1; /* a zero window gets a 1-byte probe */
        uint32_t n = tcp_min32(tcp_min32(avail, wnd), tcp_data_mss(c));
        send_data(c, n, c->fin_queued && n == avail, now_us);
    } else if (tcp_fin_due(c)) {
        send_data(c, 0, true, now_us);
    }
}

void tcp_send_probe(struct tcp_conn *c, uint64_t now_us)
{
    uint32_t end = tcp_snd_data_end(c);
    if (c->snd_wnd == 0) {
        /* RFC 9293 3.8.6.1: one octet of new data into the zero window, the same octet
         * again on later probes; the retransmission timer stays off (persist owns it). */
        c->snd_nxt = c->snd_una;
        if (seq_lt(c->snd_nxt, end))
            send_data(c, 1, c->fin_queued && end - c->snd_nxt == 1, now_us);
        c->rtx_deadline = TCP_NO_DEADLINE;
        return;
    }
    /* RFC 9293 3.8.6.2.1 (4): the override timeout: send what the small window allows. */
    int32_t usable = seq_diff(c->snd_una + c->snd_wnd, c->snd_nxt);
    if (usable <= 0 || !seq_lt(c->snd_nxt, end))
        return;
    uint32_t avail = end - c->snd_nxt;
    uint32_t n = tcp_min32(tcp_min32(avail, (uint32_t)usable), tcp_data_mss(c));
    send_data(c, n, c->fin_queued && n == avail, now_us);
}
