/*
 * fuzz_segment.c: libFuzzer target for segment arrival (RFC 9293 3.10.7) in every state.
 *
 * The first input byte picks the buffer sizes and how the connection starts (LISTEN,
 * SYN-SENT, or ESTABLISHED by a passive or active handshake, fed through the engine's own
 * interface, no stack). The rest is a list of 8-byte records, each one event: a segment from
 * the peer whose numbers are chosen relative to the connection's current ones (so that the
 * fuzzer reaches deep states instead of sending random numbers that are always out of
 * window), time passing (with tcp_timer at every deadline reached), SEND, RECEIVE, CLOSE,
 * ABORT or SHUT_RD.
 *
 * Invariants (abort on violation): a valid state; SND.UNA =< SND.NXT =< snd_max; ring lengths
 * within capacity; the announced right edge within RCV.NXT + free space and no window above
 * 65535; no segment with a payload longer than snd_mss; every payload byte we send is the byte
 * the application queued for that sequence number; every byte RECEIVE returns is the byte the
 * peer sent at that sequence number (the peer sends a fixed pattern by sequence number);
 * CLOSED has no deadline; deadlines are not in the past after tcp_timer.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc src/tcp/ring.c
 *        src/tcp/tcp_input.c src/tcp/tcp_output.c src/tcp/tcp_timer.c src/tcp/tcp_user.c
 *        fuzz/fuzz_segment.c   (or cmake -DSYNACK_FUZZ=ON with CC=clang)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/seq.h"
#include "tcp/tcp.h"
#include "tcp/tcp_internal.h"

#define FUZZ_ASSERT(cond)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#define BUF_MAX 70000 /* largest buffer the fuzzer picks, bytes */

static uint8_t pat(uint32_t s) { return (uint8_t)(s ^ (s >> 8) ^ 0xa5); }

struct harness {
    struct synack_config cfg;
    struct tcp_hooks hooks;
    struct tcp_conn c;
    uint64_t now;
    bool check_rx;      /* received bytes are checked (off after SHUT_RD) */
    uint8_t sndbuf[BUF_MAX], rcvbuf[BUF_MAX];
    uint8_t payload[BUF_MAX], scratch[BUF_MAX];
};

static void on_output(void *arg, struct tcp_conn *c, struct wire_tcp_out *seg, bool rtx)
{
    (void)arg;
    (void)rtx;
    uint32_t len = seg->data_len[0] + seg->data_len[1];
    FUZZ_ASSERT(len <= c->snd_mss);
    FUZZ_ASSERT(!(seg->flags & SYNACK_SYN) || len == 0);
    FUZZ_ASSERT(!(seg->flags & SYNACK_RST) || len == 0);
    if (len > 0) {
        /* Data lies within what was sent or may be sent now, and is the application's. */
        FUZZ_ASSERT(seq_geq(seg->seq, c->snd_una));
        FUZZ_ASSERT(seq_leq(seg->seq + len, tcp_snd_data_end(c)));
        uint32_t k = 0;
        for (int i = 0; i < 2; i++)
            for (uint32_t j = 0; j < seg->data_len[i]; j++, k++)
                FUZZ_ASSERT(seg->data[i][j] == pat(seg->seq + k));
    }
    if (seg->flags & SYNACK_SYN)
        FUZZ_ASSERT((seg->opts.present & WIRE_OPT_MSS) && seg->opts.mss == c->cfg->mss);
    else
        FUZZ_ASSERT((seg->opts.present & ~(WIRE_OPT_TS | WIRE_OPT_SACK)) == 0);
    if (!c->cfg->window_scaling && !c->cfg->timestamps && !c->cfg->sack)
        FUZZ_ASSERT(seg->opts.present == ((seg->flags & SYNACK_SYN) ? WIRE_OPT_MSS : 0));
    FUZZ_ASSERT(seg->opts.sack_count <= (c->ts_ok ? 3 : 4));
}

static void on_state(void *arg, struct tcp_conn *c, int old_state, int new_state, uint64_t now)
{
    (void)arg;
    (void)now;
    FUZZ_ASSERT(old_state != new_state);
    FUZZ_ASSERT(c->state == new_state);
    FUZZ_ASSERT(new_state >= 0 && new_state < SYNACK_STATE_COUNT);
}

static void check_invariants(const struct harness *h)
{
    const struct tcp_conn *c = &h->c;
    FUZZ_ASSERT(c->state < SYNACK_STATE_COUNT);
    FUZZ_ASSERT(seq_leq(c->snd_una, c->snd_nxt));
    FUZZ_ASSERT(seq_leq(c->snd_nxt, c->snd_max));
    FUZZ_ASSERT(c->snd.len <= c->snd.cap && c->rcv.len <= c->rcv.cap);
    FUZZ_ASSERT(c->snd.cap == 0 || c->snd.head < c->snd.cap);
    FUZZ_ASSERT(c->rcv.cap == 0 || c->rcv.head < c->rcv.cap);
    FUZZ_ASSERT(c->syn_data_len <= ring_free(&c->rcv));
    FUZZ_ASSERT(c->snd_mss >= 1 && c->snd_mss <= c->cfg->mss);
    FUZZ_ASSERT(c->error <= 0);
    if (c->state >= SYNACK_SYN_RECEIVED) {
        FUZZ_ASSERT(seq_leq(c->rcv_adv, c->rcv_nxt + ring_free(&c->rcv)));
        FUZZ_ASSERT((uint32_t)(c->rcv_adv - c->rcv_nxt) <= TCP_MAX_WIN << c->rcv_wscale);
        FUZZ_ASSERT(c->reass.count <= REASS_MAX_RANGES);
    }
    if (c->fin_sent)
        FUZZ_ASSERT(seq_lt(c->fin_seq, c->snd_max));
    if (c->state == SYNACK_CLOSED || c->state == SYNACK_LISTEN)
        FUZZ_ASSERT(tcp_deadline(c) == TCP_NO_DEADLINE);
    if (c->state == SYNACK_TIME_WAIT)
        FUZZ_ASSERT(c->tw_deadline != TCP_NO_DEADLINE);
    if (tcp_syn_acked(c) && c->state >= SYNACK_ESTABLISHED && c->state != SYNACK_TIME_WAIT &&
        (c->snd_una != c->snd_max || c->snd.len > 0))
        FUZZ_ASSERT(c->rtx_deadline != TCP_NO_DEADLINE || /* outstanding data is timed, */
                    c->persist_deadline != TCP_NO_DEADLINE); /* or the window probed */
    FUZZ_ASSERT(c->cc.cwnd >= 1 && c->cc.cwnd <= CC_CWND_MAX);
}

/* Runs the timers up to h->now. */
static void run_timers(struct harness *h)
{
    for (int guard = 0; guard < 64; guard++) {
        uint64_t d = tcp_deadline(&h->c);
        if (d == TCP_NO_DEADLINE || d > h->now)
            break;
        tcp_timer(&h->c, d > h->now ? h->now : d);
        check_invariants(h);
    }
}

static int feed(struct harness *h, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
                uint32_t len, uint16_t mss)
{
    struct wire_tcp seg;
    memset(&seg, 0, sizeof seg);
    seg.seq = seq;
    seg.ack = ack;
    seg.flags = flags;
    seg.wnd = wnd;
    seg.hdr_len = 20;
    if (mss) {
        seg.opts.present = WIRE_OPT_MSS;
        seg.opts.mss = mss;
    }
    if (h->cfg.timestamps) {
        /* The peer's options (issue 3): WS, SACK-permitted on SYNs; timestamps that mostly
         * grow (PAWS drops the others); a SACK block somewhere above the ACK. */
        if (flags & SYNACK_SYN) {
            seg.opts.present |= WIRE_OPT_WSCALE | WIRE_OPT_SACK_PERM;
            seg.opts.wscale = (uint8_t)(mss % 16);
        }
        seg.opts.present |= WIRE_OPT_TS;
        seg.opts.ts_val = (uint32_t)(h->now / 1000) - (wnd & 3);
        seg.opts.ts_ecr = tcp_ts_now(&h->c, h->now) - (uint32_t)(len & 0x3ff);
        if (flags & SYNACK_ACK) {
            seg.opts.present |= WIRE_OPT_SACK;
            seg.opts.sack_count = 1;
            seg.opts.sack[0].left = ack + (len * 7u) % 5000u;
            seg.opts.sack[0].right = seg.opts.sack[0].left + 1u + (wnd & 0xfffu);
        }
    }
    uint32_t first = seq + ((flags & SYNACK_SYN) ? 1u : 0u);
    for (uint32_t i = 0; i < len; i++)
        h->payload[i] = pat(first + i);
    seg.payload = h->payload;
    seg.payload_len = len;
    /* 3.10.7.1 on the same segment: RST only when it carries none, numbers per its ACK bit. */
    struct wire_tcp_out rst;
    memset(&rst, 0, sizeof rst);
    if (tcp_reset_for(&seg, &rst)) {
        FUZZ_ASSERT(!(flags & SYNACK_RST) && (rst.flags & SYNACK_RST));
        if (flags & SYNACK_ACK)
            FUZZ_ASSERT(rst.seq == ack && rst.flags == SYNACK_RST);
        else
            FUZZ_ASSERT(rst.seq == 0 && rst.flags == (SYNACK_RST | SYNACK_ACK) &&
                        rst.ack == seq + len + !!(flags & SYNACK_SYN) + !!(flags & SYNACK_FIN));
    } else {
        FUZZ_ASSERT(flags & SYNACK_RST);
    }
    int r = tcp_input(&h->c, &seg, h->now);
    FUZZ_ASSERT(r == TCP_INPUT_REOPEN || (r >= 0 && r < SYNACK_DROP_REASON_COUNT));
    if (r == TCP_INPUT_REOPEN)
        FUZZ_ASSERT(h->c.state == SYNACK_TIME_WAIT);
    return r;
}

/* A sequence number near one of the connection's own. */
static uint32_t pick_seq(const struct tcp_conn *c, uint8_t sel, uint8_t delta)
{
    int32_t d = (int8_t)delta;
    switch (sel & 3) {
    case 0: return c->rcv_nxt + (uint32_t)d;
    case 1: return c->rcv_nxt + (uint32_t)d * 257u;
    case 2: return c->irs + (uint32_t)d;
    default: return c->rcv_nxt + ((uint32_t)delta << 24);
    }
}

static uint32_t pick_ack(const struct tcp_conn *c, uint8_t sel, uint8_t delta)
{
    int32_t d = (int8_t)delta;
    switch (sel & 3) {
    case 0: return c->snd_una + (uint32_t)d;
    case 1: return c->snd_nxt + (uint32_t)d;
    case 2: return c->snd_max + (uint32_t)(d & 3) - 1u;
    default: return c->iss + (uint32_t)d * 131u;
    }
}

static void app_send(struct harness *h, uint32_t n)
{
    uint32_t start = tcp_snd_data_end(&h->c);
    for (uint32_t i = 0; i < n; i++)
        h->scratch[i] = pat(start + i);
    int r = tcp_send(&h->c, h->scratch, n, h->now);
    FUZZ_ASSERT(r <= (int)n);
    FUZZ_ASSERT(r >= 0 || r == SYNACK_EAGAIN || r == SYNACK_EPIPE || r == SYNACK_ENOTCONN ||
                r == h->c.error);
}

static void app_recv(struct harness *h, uint32_t n)
{
    const struct tcp_conn *c = &h->c;
    uint32_t first = c->rcv_nxt - c->rcv.len - (c->fin_received ? 1u : 0u);
    int r = tcp_recv(&h->c, h->scratch, n, h->now);
    FUZZ_ASSERT(r <= (int)n);
    if (r > 0 && h->check_rx)
        for (int i = 0; i < r; i++)
            FUZZ_ASSERT(h->scratch[i] == pat(first + (uint32_t)i));
    if (r == 0 && n > 0)
        FUZZ_ASSERT(h->c.fin_received);
}

static struct harness H;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t sizes[8] = {1, 2, 7, 100, 1000, 4096, 65535, BUF_MAX};
    if (size < 1)
        return 0;
    struct harness *h = &H;
    memset(&h->cfg, 0, sizeof h->cfg);
    h->cfg.msl_us = 2000000;
    h->cfg.mss = (data[0] & 0x80) ? 1460 : 100;
    h->cfg.rto_initial_us = 1000000;
    h->cfg.rto_min_us = 200000;
    h->cfg.rto_max_us = 60000000;
    h->cfg.user_timeout_us = 30000000;
    if (size & 1) {
        /* Odd-sized inputs: the options, delayed ACKs and Nagle on (issue 3). */
        h->cfg.window_scaling = h->cfg.timestamps = h->cfg.sack = true;
        h->cfg.delack_us = 40000;
        h->cfg.keepalive = (size & 2) != 0;
        h->cfg.keepalive_idle_us = 5000000;
        h->cfg.keepalive_intvl_us = 1000000;
        h->cfg.keepalive_probes = 2;
    } else {
        h->cfg.nodelay = true;
    }
    h->hooks.output = on_output;
    h->hooks.state_change = on_state;
    h->hooks.arg = h;
    h->now = 0;
    h->check_rx = true;
    uint32_t sndcap = sizes[data[0] & 7], rcvcap = sizes[(data[0] >> 3) & 7];
    tcp_init(&h->c, &h->hooks, &h->cfg, h->sndbuf, sndcap, h->rcvbuf, rcvcap);
    const uint32_t iss = 0xFFFFFF00u, irs = 0xFFFFFFF0u; /* wrap early */
    switch ((data[0] >> 6) & 3) {
    case 0: /* LISTEN */
        tcp_open_passive(&h->c, iss, 0);
        break;
    case 1: /* SYN-SENT */
        tcp_open_active(&h->c, iss, 0);
        break;
    case 2: /* ESTABLISHED, passive */
        tcp_open_passive(&h->c, iss, 0);
        feed(h, irs, 0, SYNACK_SYN, 65535, 0, 536);
        feed(h, irs + 1, iss + 1, SYNACK_ACK, 65535, 0, 0);
        FUZZ_ASSERT(h->c.state == SYNACK_ESTABLISHED);
        break;
    default: /* ESTABLISHED, active */
        tcp_open_active(&h->c, iss, 0);
        feed(h, irs, iss + 1, SYNACK_SYN | SYNACK_ACK, 65535, 0, 1000);
        FUZZ_ASSERT(h->c.state == SYNACK_ESTABLISHED);
        break;
    }
    check_invariants(h);
    for (size_t i = 1; i + 8 <= size; i += 8) {
        const uint8_t *b = data + i;
        h->now += (uint64_t)b[7] * 10000u; /* up to 2.55 s per event */
        run_timers(h);
        switch (b[0] & 7) {
        case 0: case 1: case 2: case 3: {
            uint8_t flags = b[1];
            uint32_t seq = pick_seq(&h->c, b[0] >> 3, b[2]);
            uint32_t ack = pick_ack(&h->c, b[0] >> 5, b[3]);
            uint32_t len = (b[0] & 1) ? b[4] : (uint32_t)b[4] * 64u;
            if (len > BUF_MAX)
                len = BUF_MAX;
            uint16_t wnd = (b[5] & 0x80) ? (uint16_t)(b[5] & 0x7f) : (uint16_t)(b[5] << 9);
            uint16_t mss = (b[6] & 1) ? 0 : b[6];
            feed(h, seq, ack, flags, wnd, len, mss);
            break;
        }
        case 4:
            app_send(h, (uint32_t)b[1] * b[2]);
            break;
        case 5:
            app_recv(h, (uint32_t)b[1] * 16u + 1u);
            break;
        case 6:
            switch (b[1] & 7) {
            case 0: tcp_close(&h->c, h->now); break;
            case 1: tcp_abort(&h->c, h->now); break;
            case 2: tcp_shutdown_read(&h->c); h->check_rx = false; break;
            default: h->now += (uint64_t)b[2] * 1000000u; break; /* a long silence */
            }
            break;
        default: {
            struct synack_status st;
            tcp_status(&h->c, &st);
            FUZZ_ASSERT(st.send_queued == h->c.snd.len);
            (void)tcp_readable(&h->c);
            (void)tcp_writable(&h->c);
            break;
        }
        }
        check_invariants(h);
        run_timers(h);
        uint64_t d = tcp_deadline(&h->c);
        FUZZ_ASSERT(d == TCP_NO_DEADLINE || d > h->now || h->c.state == SYNACK_TIME_WAIT);
    }
    return 0;
}
