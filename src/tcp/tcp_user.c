/*
 * tcp_user.c: the user calls of RFC 9293 3.10.1 - 3.10.6 (OPEN, SEND, RECEIVE, CLOSE, ABORT,
 * STATUS), SHUT_RD, and readiness.
 *
 * Read first: RFC 9293 3.9.1 (the user interface), 3.10.1 - 3.10.6, 3.6 (closing).
 *
 * Decisions (where the RFC leaves a choice):
 *  - Errors are sticky: c->error keeps the first one. After the connection died, SEND
 *    returns the error; RECEIVE first returns the data already received (it was delivered
 *    to us before the failure), then the error. ABORT discards the received data as well.
 *  - After the peer's FIN, RECEIVE returns the remaining data, then 0 (end-of-file) on every
 *    call; SEND still works in CLOSE-WAIT (half-close, RFC 9293 3.6.1).
 *  - CLOSE in SYN-SENT (and LISTEN) deletes the connection (CLOSED) without an error. CLOSE in
 *    SYN-RECEIVED or ESTABLISHED enters FIN-WAIT-1 and in CLOSE-WAIT LAST-ACK; the FIN follows
 *    the queued data (and, from SYN-RECEIVED, waits until our SYN is acknowledged). CLOSE
 *    when already closing returns SYNACK_ENOTCONN and sends nothing (3.10.4 permits "ok" or an
 *    error, never a second FIN).
 *  - ABORT sends <SEQ=SND.NXT><CTL=RST> in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2
 *    and CLOSE-WAIT, nothing elsewhere (3.10.5), and ends in CLOSED with SYNACK_ECONNABORTED
 *    unless an error was already set. ABORT of a CLOSED connection does nothing.
 *  - A window update is sent when RECEIVE lets the right edge of the window move by at least
 *    min(half the buffer, MSS) (receiver SWS avoidance, RFC 9293 3.8.6.2.2), also when the
 *    window announced was zero.
 *  - Socket options (tcp_set_sockopts) may change at any time: lifting Nagle sends what it
 *    held back, keep-alive (re)starts its idle time from now.
 */
#include <limits.h>
#include <string.h>

#include "tcp/tcp_internal.h"

void tcp_reset_vars(struct tcp_conn *c)
{
    c->fin_queued = c->fin_sent = c->fin_received = c->rd_shutdown = false;
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_wnd = c->snd_wl1 = c->snd_wl2 = c->fin_seq = 0;
    c->irs = c->rcv_nxt = c->rcv_adv = 0;
    c->snd_wscale = c->rcv_wscale = 0;
    c->ws_ok = c->ts_ok = c->sack_ok = false;
    c->ts_recent = 0;
    c->snd_mss = (uint16_t)tcp_min32(TCP_DEFAULT_MSS, c->cfg->mss);
    if (c->snd_mss == 0)
        c->snd_mss = 1;
    c->srtt_us = c->rttvar_us = 0;
    c->rtt_valid = c->rtt_timing = false;
    c->rtt_seq = 0;
    c->rtt_start_us = 0;
    c->backoff = 0;
    c->syn_rtx = c->ack_pending = c->persist = c->syn_fin = false;
    c->syn_data_len = 0;
    c->max_snd_wnd = 0;
    c->dup_acks = 0;
    c->first_rtx_us = TCP_NO_DEADLINE;
    c->rtx_deadline = c->tw_deadline = c->ack_deadline = TCP_NO_DEADLINE;
    c->rto_us = tcp_rto_base(c);
    c->ts_recent_us = 0;
    c->last_ack_sent = 0;
    c->rcv_mss = (uint16_t)tcp_min32(TCP_DEFAULT_MSS, c->cfg->mss);
    c->persist_backoff = 0;
    c->ka_sent = 0;
    c->persist_deadline = c->ka_deadline = TCP_NO_DEADLINE;
    c->persist_since_us = TCP_NO_DEADLINE;
    c->last_send_us = 0;
    reass_init(&c->reass);
    sack_init(&c->sack, c->iss);
    cc_init(&c->cc, c->cc_algo == SYNACK_CC_CUBIC ? &cc_cubic_ops : NULL, c->snd_mss, false);
}

void tcp_init(struct tcp_conn *c, const struct tcp_hooks *hooks,
              const struct synack_config *cfg, uint8_t *sndbuf, uint32_t sndcap,
              uint8_t *rcvbuf, uint32_t rcvcap)
{
    memset(c, 0, sizeof *c);
    c->hooks = hooks;
    c->cfg = cfg;
    c->state = SYNACK_CLOSED;
    c->user_timeout_us = cfg->user_timeout_us;
    c->oow_ack_us = TCP_NO_DEADLINE;
    struct tcp_sockopts o;
    tcp_sockopts_default(cfg, &o);
    c->nodelay = o.nodelay;
    c->cc_algo = o.congestion;
    c->keepalive = o.keepalive;
    c->ka_idle_us = o.ka_idle_us;
    c->ka_intvl_us = o.ka_intvl_us;
    c->ka_probes = o.ka_probes;
    ring_init(&c->snd, sndbuf, sndcap);
    ring_init(&c->rcv, rcvbuf, rcvcap);
    tcp_reset_vars(c);
}

static struct ring *buf_ring(struct tcp_conn *c, enum tcp_buf which)
{
    return which == TCP_BUF_SND ? &c->snd : &c->rcv;
}

uint32_t tcp_buf_missing(const struct tcp_conn *c, enum tcp_buf which)
{
    const struct ring *r = which == TCP_BUF_SND ? &c->snd : &c->rcv;
    return ring_has_storage(r) ? 0 : r->cap;
}

void tcp_buf_attach(struct tcp_conn *c, enum tcp_buf which, uint8_t *storage)
{
    struct ring *r = buf_ring(c, which);
    if (!ring_has_storage(r))
        ring_attach(r, storage);
}

bool tcp_buf_idle(const struct tcp_conn *c, enum tcp_buf which)
{
    if (which == TCP_BUF_SND)
        return c->snd.buf && c->snd.len == 0;
    /* Out-of-order bytes and SYN data sit in storage beyond rcv.len (tcp_input.c). */
    return c->rcv.buf && c->rcv.len == 0 && c->syn_data_len == 0 && reass_empty(&c->reass);
}

bool tcp_rcv_needs_storage(const struct tcp_conn *c, const struct wire_tcp *seg)
{
    if (seg->payload_len == 0 || ring_has_storage(&c->rcv))
        return false;
    switch (c->state) {
    case SYNACK_LISTEN:       /* a SYN's data is held until ESTABLISHED */
    case SYNACK_SYN_SENT:
    case SYNACK_SYN_RECEIVED: /* the ACK in it may make it ESTABLISHED */
    case SYNACK_ESTABLISHED:
    case SYNACK_FIN_WAIT_1:
    case SYNACK_FIN_WAIT_2:
        return true;
    default: /* RFC 9293 3.10.7.4 seventh: after a FIN, segment text is ignored */
        return false;
    }
}

uint8_t *tcp_buf_detach(struct tcp_conn *c, enum tcp_buf which, uint32_t *size)
{
    struct ring *r = buf_ring(c, which);
    *size = r->cap;
    if (which == TCP_BUF_RCV && r->buf) {
        c->syn_data_len = 0; /* what the storage held is gone with it */
        reass_init(&c->reass);
    }
    return ring_detach(r);
}

void tcp_fail(struct tcp_conn *c, int err, uint64_t now_us)
{
    if (err != 0 && c->error == 0)
        c->error = err;
    ring_consume(&c->snd, c->snd.len); /* queued SENDs can never be delivered now */
    c->syn_data_len = 0;
    c->syn_fin = false;
    reass_init(&c->reass);
    tcp_set_state(c, SYNACK_CLOSED, now_us);
}

/* A new incarnation in a CLOSED TCB: nothing of an earlier connection stays. */
static void fresh_tcb(struct tcp_conn *c, uint32_t iss, bool passive)
{
    c->passive = passive;
    c->error = 0;
    c->iss = iss;
    ring_consume(&c->snd, c->snd.len);
    ring_consume(&c->rcv, c->rcv.len);
    tcp_reset_vars(c);
}

/* RFC 9293 3.10.1 OPEN, active, in CLOSED. */
int tcp_open_active(struct tcp_conn *c, uint32_t iss, uint64_t now_us)
{
    if (c->state == SYNACK_LISTEN)
        return SYNACK_EINVAL;
    if (c->state != SYNACK_CLOSED)
        return SYNACK_EISCONN;
    fresh_tcb(c, iss, false);
    c->snd_nxt = c->snd_max = iss + 1; /* SND.UNA = ISS, SND.NXT = ISS + 1 */
    tcp_set_state(c, SYNACK_SYN_SENT, now_us);
    tcp_send_syn(c, false, now_us); /* <SEQ=ISS><CTL=SYN> */
    return 0;
}

/* RFC 9293 3.10.1 OPEN, passive, in CLOSED: ISS is chosen now, used when a SYN arrives. */
int tcp_open_passive(struct tcp_conn *c, uint32_t iss, uint64_t now_us)
{
    if (c->state != SYNACK_CLOSED)
        return SYNACK_EINVAL;
    fresh_tcb(c, iss, true);
    tcp_set_state(c, SYNACK_LISTEN, now_us);
    return 0;
}

/* RFC 9293 3.10.2 SEND. */
int tcp_send(struct tcp_conn *c, const void *buf, uint32_t len, uint64_t now_us)
{
    if (c->error)
        return c->error;
    switch (c->state) {
    case SYNACK_CLOSED:
    case SYNACK_LISTEN:
        return SYNACK_ENOTCONN; /* "error: connection does not exist" */
    case SYNACK_SYN_SENT:
    case SYNACK_SYN_RECEIVED: /* queued until ESTABLISHED */
    case SYNACK_ESTABLISHED:
    case SYNACK_CLOSE_WAIT:
        if (c->fin_queued)
            return SYNACK_EPIPE;
        break;
    default:
        return SYNACK_EPIPE; /* "error: connection closing" */
    }
    if (len == 0)
        return 0;
    if (len > INT_MAX)
        len = INT_MAX;
    if (!ring_has_storage(&c->snd))
        return SYNACK_ENOMEM; /* the owner could not attach storage (tcp.h) */
    uint32_t n = ring_write(&c->snd, buf, len);
    if (n == 0)
        return SYNACK_EAGAIN;
    tcp_output(c, now_us);
    return (int)n;
}

/* After RECEIVE freed buffer space: tell the peer when the window opened enough, i.e. when
 * receiver SWS avoidance lets the right edge move (RFC 9293 3.8.6.2.2). */
static void window_update(struct tcp_conn *c, uint64_t now_us)
{
    if (c->state != SYNACK_ESTABLISHED && c->state != SYNACK_FIN_WAIT_1 &&
        c->state != SYNACK_FIN_WAIT_2)
        return;
    if (tcp_rcv_edge_gain(c) > 0)
        tcp_send_ack(c, now_us);
}

/* RFC 9293 3.10.3 RECEIVE. */
int tcp_recv(struct tcp_conn *c, void *buf, uint32_t len, uint64_t now_us)
{
    if (len == 0)
        return 0;
    if (c->rcv.len > 0) {
        if (len > INT_MAX)
            len = INT_MAX;
        uint32_t n = ring_peek(&c->rcv, 0, buf, len);
        ring_consume(&c->rcv, n);
        window_update(c, now_us);
        return (int)n;
    }
    if (c->error)
        return c->error;
    if (c->fin_received)
        return 0; /* end-of-file, for ever */
    if (c->state == SYNACK_CLOSED || c->state == SYNACK_LISTEN)
        return SYNACK_ENOTCONN;
    return SYNACK_EAGAIN;
}

/* RFC 9293 3.10.4 CLOSE. */
int tcp_close(struct tcp_conn *c, uint64_t now_us)
{
    switch (c->state) {
    case SYNACK_SYN_SENT:
        if (c->snd.len > 0) {
            /* Data is queued: deleting the TCB would lose it silently. As RFC 9293 3.10.4
             * says for SYN-RECEIVED, queue the CLOSE for processing once the connection is
             * synchronized (see tcp_close_deferred); the FIN follows the data. */
            if (c->fin_queued)
                return SYNACK_ENOTCONN;
            c->fin_queued = true;
            return 0;
        }
        tcp_fail(c, 0, now_us); /* RFC 9293 3.10.4 SYN-SENT: delete the TCB */
        return 0;
    case SYNACK_LISTEN:
        tcp_fail(c, 0, now_us); /* delete the TCB */
        return 0;
    case SYNACK_SYN_RECEIVED:
    case SYNACK_ESTABLISHED:
        c->fin_queued = true;
        tcp_set_state(c, SYNACK_FIN_WAIT_1, now_us);
        tcp_output(c, now_us);
        return 0;
    case SYNACK_CLOSE_WAIT:
        c->fin_queued = true;
        tcp_set_state(c, SYNACK_LAST_ACK, now_us);
        tcp_output(c, now_us);
        return 0;
    default:
        return SYNACK_ENOTCONN; /* CLOSED, or already closing */
    }
}

void tcp_close_deferred(struct tcp_conn *c, uint64_t now_us)
{
    if (c->fin_queued &&
        (c->state == SYNACK_SYN_RECEIVED || c->state == SYNACK_ESTABLISHED))
        tcp_set_state(c, SYNACK_FIN_WAIT_1, now_us);
}

void tcp_shutdown_read(struct tcp_conn *c)
{
    c->rd_shutdown = true;
    reass_init(&c->reass); /* out-of-order bytes will never be read: forget them */
}

/* RFC 9293 3.10.5 ABORT. */
void tcp_abort(struct tcp_conn *c, uint64_t now_us)
{
    switch (c->state) {
    case SYNACK_CLOSED:
        return;
    case SYNACK_SYN_RECEIVED:
    case SYNACK_ESTABLISHED:
    case SYNACK_FIN_WAIT_1:
    case SYNACK_FIN_WAIT_2:
    case SYNACK_CLOSE_WAIT:
        tcp_send_rst(c, c->snd_max, now_us); /* <SEQ=SND.NXT><CTL=RST> */
        break;
    default:
        break; /* LISTEN, SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT: no reset */
    }
    ring_consume(&c->rcv, c->rcv.len);
    tcp_fail(c, SYNACK_ECONNABORTED, now_us);
}

void tcp_sockopts_default(const struct synack_config *cfg, struct tcp_sockopts *out)
{
    out->nodelay = cfg->nodelay;
    out->keepalive = cfg->keepalive;
    out->congestion = cfg->congestion;
    out->ka_idle_us = cfg->keepalive_idle_us;
    out->ka_intvl_us = cfg->keepalive_intvl_us;
    out->ka_probes = cfg->keepalive_probes;
}

void tcp_set_sockopts(struct tcp_conn *c, const struct tcp_sockopts *o, uint64_t now_us)
{
    bool nagle_lifted = o->nodelay && !c->nodelay;
    bool ka_changed = o->keepalive != c->keepalive || o->ka_idle_us != c->ka_idle_us;
    c->nodelay = o->nodelay;
    c->cc_algo = o->congestion;
    c->keepalive = o->keepalive;
    c->ka_idle_us = o->ka_idle_us;
    c->ka_intvl_us = o->ka_intvl_us;
    c->ka_probes = o->ka_probes;
    if (ka_changed)
        tcp_keepalive_restart(c, now_us); /* RFC 9293 3.8.4: idle time counts from now */
    if (nagle_lifted)
        tcp_output(c, now_us); /* what Nagle held back goes now */
}

/* RFC 9293 3.10.6 STATUS (addresses are the stack's to fill). */
void tcp_status(const struct tcp_conn *c, struct synack_status *out)
{
    out->state = c->state;
    out->snd_una = c->snd_una;
    out->snd_nxt = c->snd_nxt;
    out->snd_wnd = c->snd_wnd;
    out->iss = c->iss;
    out->rcv_nxt = c->rcv_nxt;
    out->rcv_wnd = tcp_rcv_wnd(c);
    out->irs = c->irs;
    out->send_queued = c->snd.len;
    out->recv_queued = c->rcv.len;
    out->snd_mss = c->snd_mss;
    out->srtt_us = c->srtt_us;
    out->rto_us = c->rto_us;
    out->retransmits = c->retransmits;
    out->error = c->error;
    out->cwnd = c->cc.cwnd;
    out->ssthresh = c->cc.ssthresh;
    out->fast_retransmits = c->fast_retransmits;
    out->sack_recoveries = c->sack_recoveries;
    out->snd_wscale = c->snd_wscale;
    out->rcv_wscale = c->rcv_wscale;
    out->timestamps = c->ts_ok;
    out->sack = c->sack_ok;
}

bool tcp_readable(const struct tcp_conn *c)
{
    return c->rcv.len > 0 || c->fin_received || c->error != 0;
}

bool tcp_writable(const struct tcp_conn *c)
{
    if (c->error || c->fin_queued)
        return false;
    switch (c->state) {
    case SYNACK_SYN_SENT:
    case SYNACK_SYN_RECEIVED:
    case SYNACK_ESTABLISHED:
    case SYNACK_CLOSE_WAIT:
        return ring_free(&c->snd) > 0;
    default:
        return false;
    }
}
