/*
 * test_engine.c: the protocol engine (src/tcp/) in the state-table style. A fixture brings a
 * fresh connection to a state by feeding segments (conn_listen, conn_syn_sent,
 * conn_syn_received, conn_established[_active], conn_fin_wait_1, conn_fin_wait_2,
 * conn_close_wait, conn_closing, conn_last_ack, conn_time_wait); SEND(t, seg) feeds one
 * segment from the peer at virtual time t (us) and returns tcp_input's result;
 * EXPECT(state, {segments}) asserts exactly the segments the engine produced since the last
 * EXPECT (SEQ, ACK, flags, payload length, the MSS option on SYNs and no option elsewhere,
 * the window and retransmit flag when asked, payload bytes when asked) and nothing more, and
 * the state after.
 *
 * Sections: per state (LISTEN ... TIME-WAIT), rules across every state (table-driven), RTO
 * (RFC 6298), windows, wrap-around, ABORT and errors, tcp_reset_for, STATUS, and whole
 * transfers between two engines over a lossy FIFO.
 *
 * ISS 1000 (ours) and IRS 5000 (the peer's) unless a test sets others (the wrap-around tests
 * use 0xFFFFFFxx). Our MSS is 1460, the peer announces 1200.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tcp/seq.h"
#include "tcp/tcp.h"
#include "tcp/tcp_internal.h"

/* ---- Fixture ------------------------------------------------------------------------------ */

#define MAX_OUT 64         /* segments captured between two EXPECTs */
#define MAX_CAPTURE 2048   /* payload bytes kept per captured segment */
#define MAX_STATES 32      /* state changes remembered */
#define BUF_MAX (1u << 20) /* largest buffer a test may ask for, bytes */
#define PEER_MSS 1200      /* MSS the fixtures' peer announces */
#define OUR_MSS 1460       /* cfg.mss */
#define SEC 1000000ull     /* one second in us */
#define MS 1000ull         /* one millisecond in us */
#define ZERO_WND 0x10000u  /* seg_spec.wnd value meaning "window field 0" */

struct captured {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    uint8_t opts_present;
    uint16_t mss;
    struct wire_tcp_opts opts; /* all options as emitted */
    uint32_t len;
    uint8_t data[MAX_CAPTURE];
    bool retransmit;
};

static struct fixture {
    struct synack_config cfg;
    struct tcp_hooks hooks;
    struct tcp_conn c;
    uint32_t iss, irs;          /* ISNs the fixture helpers use */
    uint32_t sndcap, rcvcap;    /* buffer sizes for the next conn_init */
    struct captured out[MAX_OUT];
    int nout;
    struct captured prev[MAX_OUT]; /* what the last EXPECT matched, for option checks */
    int nprev;
    int states[MAX_STATES];     /* new states, in order */
    int nstates;
    uint32_t app_seq;           /* sequence number of the next byte tcp_send gets */
    uint32_t peer_seq;          /* sequence number of the next byte the peer will read */
} F;

static uint8_t sndbuf[BUF_MAX], rcvbuf[BUF_MAX];
static uint8_t scratch[BUF_MAX];

/* The byte at sequence number s of either direction's data stream. */
static uint8_t pat(uint32_t s) { return (uint8_t)(s ^ (s >> 8) ^ 0x5a); }

static void hook_output(void *arg, struct tcp_conn *c, struct wire_tcp_out *seg, bool rtx)
{
    (void)arg;
    (void)c;
    if (F.nout >= MAX_OUT) {
        fprintf(stderr, "too many segments captured\n");
        check_current_failed = 1;
        return;
    }
    struct captured *o = &F.out[F.nout++];
    o->seq = seg->seq;
    o->ack = seg->ack;
    o->flags = seg->flags;
    o->wnd = seg->wnd;
    o->opts_present = seg->opts.present;
    o->mss = seg->opts.mss;
    o->opts = seg->opts;
    o->len = seg->data_len[0] + seg->data_len[1];
    o->retransmit = rtx;
    uint32_t k = 0;
    for (int i = 0; i < 2; i++)
        for (uint32_t j = 0; j < seg->data_len[i] && k < MAX_CAPTURE; j++)
            o->data[k++] = seg->data[i][j];
}

static void hook_state(void *arg, struct tcp_conn *c, int old_state, int new_state,
                       uint64_t now_us)
{
    (void)arg;
    (void)now_us;
    if (old_state == new_state || c->state != new_state || new_state < 0 ||
        new_state >= SYNACK_STATE_COUNT) {
        fprintf(stderr, "bad state_change %d -> %d (state %d)\n", old_state, new_state,
                c->state);
        check_current_failed = 1;
    }
    if (F.nstates < MAX_STATES)
        F.states[F.nstates++] = new_state;
}

static void test_cfg(struct synack_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ip = 0x0a000001;
    cfg->msl_us = 120 * SEC;
    cfg->sndbuf = 65536;
    cfg->rcvbuf = 65536;
    cfg->mss = OUR_MSS;
    cfg->rto_initial_us = 1 * SEC;
    cfg->rto_min_us = 1 * SEC;
    cfg->rto_max_us = 60 * SEC;
    cfg->user_timeout_us = 300 * SEC;
    cfg->ttl = 64;
    /* The options, delayed ACKs and Nagle are off unless a test turns them on: the state
     * tables below are written for the plain RFC 9293 behaviour (segments as in the
     * figures, every data segment acknowledged at once). */
    cfg->window_scaling = cfg->timestamps = cfg->sack = false;
    cfg->delack_us = 0;
    cfg->nodelay = true;
}

/* A fresh fixture: defaults for everything a test may change before conn_init(). */
static void fixture_reset(void)
{
    memset(&F, 0, sizeof F);
    test_cfg(&F.cfg);
    F.hooks.output = hook_output;
    F.hooks.state_change = hook_state;
    F.iss = 1000;
    F.irs = 5000;
    F.sndcap = 16384;
    F.rcvcap = 8192;
}

/* tcp_init with the fixture's buffers; forgets captured output. */
static void conn_init(void)
{
    tcp_init(&F.c, &F.hooks, &F.cfg, sndbuf, F.sndcap, rcvbuf, F.rcvcap);
    F.nout = 0;
    F.nstates = 0;
    F.app_seq = F.iss + 1;
    F.peer_seq = F.irs + 1;
}

/* A segment from the peer. wnd 0 means 65535 (ZERO_WND for a zero window); data NULL with
 * len > 0 means pattern bytes by sequence number; mss 0 means no MSS option. */
struct seg_spec {
    uint32_t seq, ack;
    uint8_t flags;
    uint32_t wnd;
    uint16_t mss;
    uint32_t len;
    const char *data;
    int ws;                /* window scale option: shift + 1 (0: absent) */
    bool sackp;            /* SACK-permitted option */
    bool ts;               /* timestamps option with tsval, tsecr */
    uint32_t tsval, tsecr;
    int nsack;             /* SACK blocks in sack[] */
    struct wire_sack_block sack[WIRE_SACK_MAX];
};

static uint8_t payload[BUF_MAX];

static int send_seg(uint64_t t, struct seg_spec sp)
{
    struct wire_tcp seg;
    memset(&seg, 0, sizeof seg);
    seg.sport = 80;
    seg.dport = 40000;
    seg.seq = sp.seq;
    seg.ack = sp.ack;
    seg.flags = sp.flags;
    seg.hdr_len = 20;
    seg.wnd = sp.wnd == 0 ? 65535 : sp.wnd == ZERO_WND ? 0 : (uint16_t)sp.wnd;
    if (sp.mss) {
        seg.opts.present = WIRE_OPT_MSS;
        seg.opts.mss = sp.mss;
    }
    if (sp.ws) {
        seg.opts.present |= WIRE_OPT_WSCALE;
        seg.opts.wscale = (uint8_t)(sp.ws - 1);
    }
    if (sp.sackp)
        seg.opts.present |= WIRE_OPT_SACK_PERM;
    if (sp.ts) {
        seg.opts.present |= WIRE_OPT_TS;
        seg.opts.ts_val = sp.tsval;
        seg.opts.ts_ecr = sp.tsecr;
    }
    if (sp.nsack) {
        seg.opts.present |= WIRE_OPT_SACK;
        seg.opts.sack_count = (uint8_t)sp.nsack;
        memcpy(seg.opts.sack, sp.sack, sizeof sp.sack);
    }
    uint32_t len = sp.data ? (uint32_t)strlen(sp.data) : sp.len;
    uint32_t first = sp.seq + ((sp.flags & SYNACK_SYN) ? 1u : 0u);
    for (uint32_t i = 0; i < len; i++)
        payload[i] = sp.data ? (uint8_t)sp.data[i] : pat(first + i);
    seg.payload = payload;
    seg.payload_len = len;
    return tcp_input(&F.c, &seg, t);
}

#define SEND(t, ...) send_seg((t), (struct seg_spec){__VA_ARGS__})

/* An expected output segment. len is the payload length; check_wnd asks to compare wnd;
 * check_data compares the payload with the pattern of our stream at seq. */
struct exp_seg {
    uint32_t seq, ack;
    uint8_t flags;
    uint32_t len;
    bool check_wnd;
    uint16_t wnd;
    bool check_data;
    bool rtx;         /* expected retransmit flag, compared when check_rtx */
    bool check_rtx;
};

static const char *state_name(int st)
{
    static const char *const names[SYNACK_STATE_COUNT] = {
        "CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT"};
    return st >= 0 && st < SYNACK_STATE_COUNT ? names[st] : "?";
}

static void fail_at(int line, const char *what, long long got, long long want, int i)
{
    fprintf(stderr, "%s:%d: %s: segment %d: %s is %lld, expected %lld\n", __FILE__, line,
            check_current_name, i, what, got, want);
    check_current_failed = 1;
}

static void dump_out(void)
{
    for (int i = 0; i < F.nout; i++)
        fprintf(stderr, "    out[%d]: seq=%u ack=%u flags=0x%02x len=%u wnd=%u%s\n", i,
                F.out[i].seq, F.out[i].ack, F.out[i].flags, F.out[i].len, F.out[i].wnd,
                F.out[i].retransmit ? " rtx" : "");
}

/* Asserts the captured segments are exactly exp[0..n) and the state is state; then forgets
 * them. */
static void expect(int line, int state, const struct exp_seg *exp, int n)
{
    int failed_before = check_current_failed;
    check_current_failed = 0;
    if (F.c.state != state) {
        fprintf(stderr, "%s:%d: %s: state is %s, expected %s\n", __FILE__, line,
                check_current_name, state_name(F.c.state), state_name(state));
        check_current_failed = 1;
    }
    if (F.nout != n) {
        fprintf(stderr, "%s:%d: %s: %d segments out, expected %d\n", __FILE__, line,
                check_current_name, F.nout, n);
        check_current_failed = 1;
    }
    for (int i = 0; i < n && i < F.nout; i++) {
        const struct captured *o = &F.out[i];
        const struct exp_seg *e = &exp[i];
        if (o->seq != e->seq)
            fail_at(line, "seq", o->seq, e->seq, i);
        if (o->ack != e->ack)
            fail_at(line, "ack", o->ack, e->ack, i);
        if (o->flags != e->flags)
            fail_at(line, "flags", o->flags, e->flags, i);
        if (o->len != e->len)
            fail_at(line, "len", o->len, e->len, i);
        if (e->check_wnd && o->wnd != e->wnd)
            fail_at(line, "wnd", o->wnd, e->wnd, i);
        if (e->check_rtx && o->retransmit != e->rtx)
            fail_at(line, "retransmit", o->retransmit, e->rtx, i);
        /* Our SYNs carry exactly the MSS option (cfg.mss); nothing else carries options.
         * (Tests that turn options on check them themselves, in F.prev.) */
        if (F.cfg.window_scaling || F.cfg.timestamps || F.cfg.sack) {
            /* options checked by the test */
        } else if (o->flags & SYNACK_SYN) {
            if (o->opts_present != WIRE_OPT_MSS || o->mss != F.cfg.mss)
                fail_at(line, "SYN options*100000+MSS", o->opts_present * 100000 + o->mss,
                        WIRE_OPT_MSS * 100000 + F.cfg.mss, i);
        } else if (o->opts_present != 0) {
            fail_at(line, "options", o->opts_present, 0, i);
        }
        if (e->check_data)
            for (uint32_t k = 0; k < o->len && k < MAX_CAPTURE; k++)
                if (o->data[k] != pat(o->seq + k)) {
                    fail_at(line, "payload byte", o->data[k], pat(o->seq + k), i);
                    break;
                }
    }
    if (check_current_failed)
        dump_out();
    check_current_failed |= failed_before;
    memcpy(F.prev, F.out, sizeof F.out[0] * (size_t)F.nout);
    F.nprev = F.nout;
    F.nout = 0;
}

#define EXPECT(state, ...)                                                                  \
    expect(__LINE__, (state), (const struct exp_seg[]){__VA_ARGS__},                        \
           (int)(sizeof((const struct exp_seg[]){__VA_ARGS__}) / sizeof(struct exp_seg)))
#define EXPECT_NONE(state) expect(__LINE__, (state), NULL, 0)

/* Flag shorthands. */
#define A SYNACK_ACK
#define S SYNACK_SYN
#define R SYNACK_RST
#define FN SYNACK_FIN
#define P SYNACK_PSH

/* ---- Application side ---------------------------------------------------------------------- */

/* tcp_send of n pattern bytes of our stream; returns what tcp_send returned. */
static int app_send(uint64_t t, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        scratch[i] = pat(F.app_seq + i);
    int r = tcp_send(&F.c, scratch, n, t);
    if (r > 0)
        F.app_seq += (uint32_t)r;
    return r;
}

/* tcp_recv of up to n bytes, checked against the peer's pattern; returns tcp_recv's result. */
static int app_recv(uint64_t t, uint32_t n)
{
    int r = tcp_recv(&F.c, scratch, n, t);
    for (int i = 0; i < r; i++)
        if (scratch[i] != pat(F.peer_seq + (uint32_t)i)) {
            fprintf(stderr, "%s: received byte %d wrong\n", check_current_name, i);
            check_current_failed = 1;
            break;
        }
    if (r > 0)
        F.peer_seq += (uint32_t)r;
    return r;
}

/* ---- Fixtures: a fresh connection in each state -------------------------------------------- */

/* LISTEN, ISS F.iss. */
static void conn_listen(void)
{
    conn_init();
    CHECK_EQ(tcp_open_passive(&F.c, F.iss, 0), 0);
    EXPECT_NONE(SYNACK_LISTEN);
}

/* SYN-RECEIVED, passive: the peer's SYN (IRS, MSS 1200) arrived at t = 0. */
static void conn_syn_received(void)
{
    conn_listen();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS), 0);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
}

/* ESTABLISHED, passive, at t = 0. */
static void conn_established(void)
{
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A), 0);
    EXPECT_NONE(SYNACK_ESTABLISHED);
}

/* SYN-SENT, active, SYN sent at t = 0. */
static void conn_syn_sent(void)
{
    conn_init();
    CHECK_EQ(tcp_open_active(&F.c, F.iss, 0), 0);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss, .ack = 0, .flags = S});
}

/* ESTABLISHED, active, at t = 0. */
static void conn_established_active(void)
{
    conn_syn_sent();
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
}

/* FIN-WAIT-1: ESTABLISHED, then CLOSE; our FIN (at ISS+1) is out. */
static void conn_fin_wait_1(void)
{
    conn_established();
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = FN | A});
}

/* FIN-WAIT-2: our FIN acknowledged. */
static void conn_fin_wait_2(void)
{
    conn_fin_wait_1();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 2, .flags = A), 0);
    EXPECT_NONE(SYNACK_FIN_WAIT_2);
}

/* CLOSE-WAIT: the peer's FIN (at IRS+1) arrived in ESTABLISHED. */
static void conn_close_wait(void)
{
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = FN | A), 0);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A});
}

/* LAST-ACK: CLOSE in CLOSE-WAIT; our FIN (at ISS+1) is out. */
static void conn_last_ack(void)
{
    conn_close_wait();
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT(SYNACK_LAST_ACK, {.seq = F.iss + 1, .ack = F.irs + 2, .flags = FN | A});
}

/* CLOSING: in FIN-WAIT-1 the peer's FIN arrives without acknowledging ours (Figure 13). */
static void conn_closing(void)
{
    conn_fin_wait_1();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = FN | A), 0);
    EXPECT(SYNACK_CLOSING, {.seq = F.iss + 2, .ack = F.irs + 2, .flags = A});
}

/* TIME-WAIT, entered at t = 0 from FIN-WAIT-2. */
static void conn_time_wait(void)
{
    conn_fin_wait_2();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 2, .flags = FN | A), 0);
    EXPECT(SYNACK_TIME_WAIT, {.seq = F.iss + 2, .ack = F.irs + 2, .flags = A});
}

/* ==== LISTEN (RFC 9293 3.10.7.2) ============================================================ */

static void test_listen_syn_answered_with_syn_ack(void)
{
    fixture_reset();
    conn_listen();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS), 0);
    EXPECT(SYNACK_SYN_RECEIVED,
           {.seq = F.iss, .ack = F.irs + 1, .flags = S | A, .check_wnd = true, .wnd = 8192});
    CHECK_EQ(F.c.irs, F.irs);
    CHECK_EQ(F.c.rcv_nxt, F.irs + 1);
    CHECK_EQ(F.c.snd_una, F.iss);
    CHECK_EQ(F.c.snd_nxt, F.iss + 1);
    CHECK_EQ(F.c.snd_mss, PEER_MSS);
    CHECK(F.c.passive);
}

static void test_listen_syn_mss_rules(void)
{
    /* RFC 9293 3.7.1: no MSS option means 536; a larger MSS is capped by ours. */
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK_EQ(F.c.snd_mss, 536);
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .mss = 9000);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK_EQ(F.c.snd_mss, OUR_MSS);
}

static void test_listen_rst_ignored(void)
{
    fixture_reset();
    conn_listen();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = R), SYNACK_DROP_RST_IGNORED);
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = 77, .flags = R | A), SYNACK_DROP_RST_IGNORED);
    EXPECT_NONE(SYNACK_LISTEN);
}

static void test_listen_ack_gets_rst(void)
{
    fixture_reset();
    conn_listen();
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = 777, .flags = A), SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_LISTEN, {.seq = 777, .ack = 0, .flags = R});
    /* Also a SYN-ACK: the ACK check comes before the SYN check. */
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = 888, .flags = S | A), SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_LISTEN, {.seq = 888, .ack = 0, .flags = R});
}

static void test_listen_other_segment_dropped(void)
{
    fixture_reset();
    conn_listen();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = 0, .data = "x"), SYNACK_DROP_BAD_SEGMENT);
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = FN), SYNACK_DROP_BAD_SEGMENT);
    EXPECT_NONE(SYNACK_LISTEN);
}

/* ==== SYN-SENT (RFC 9293 3.10.7.3) ========================================================== */

static void test_open_active_sends_syn(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(F.nstates, 1);
    CHECK_EQ(F.states[0], SYNACK_SYN_SENT);
    CHECK_EQ(F.c.snd_una, F.iss);
    CHECK_EQ(F.c.snd_nxt, F.iss + 1);
    CHECK_EQ(tcp_deadline(&F.c), 1 * SEC); /* RFC 6298 2.1: initial RTO 1 s */
    CHECK_EQ(tcp_open_active(&F.c, 1, 0), SYNACK_EISCONN);
}

static void test_syn_sent_syn_ack_establishes(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(SEND(100 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS,
                  .wnd = 3000),
             0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(F.c.snd_una, F.iss + 1);
    CHECK_EQ(F.c.snd_wnd, 3000);
    CHECK_EQ(F.c.snd_mss, PEER_MSS);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE); /* RFC 6298 5.2: all acknowledged */
    CHECK(tcp_writable(&F.c));
    CHECK(!tcp_readable(&F.c));
}

static void test_syn_sent_unacceptable_ack_gets_rst(void)
{
    fixture_reset();
    conn_syn_sent();
    /* SEG.ACK =< ISS */
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = F.iss, .flags = S | A), SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss, .ack = 0, .flags = R});
    /* SEG.ACK > SND.NXT, without SYN (Figure 9, line 4 -> 5) */
    CHECK_EQ(SEND(0, .seq = 300, .ack = F.iss + 2, .flags = A), SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss + 2, .ack = 0, .flags = R});
    /* ... unless it carries RST: then dropped silently */
    CHECK_EQ(SEND(0, .seq = 300, .ack = F.iss + 2, .flags = R | A), SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT_NONE(SYNACK_SYN_SENT);
}

static void test_syn_sent_rst_with_acceptable_ack_refused(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(SEND(10 * MS, .seq = 0, .ack = F.iss + 1, .flags = R | A), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, SYNACK_ECONNREFUSED);
    CHECK_EQ(tcp_send(&F.c, "x", 1, 10 * MS), SYNACK_ECONNREFUSED);
    CHECK_EQ(tcp_recv(&F.c, scratch, 1, 10 * MS), SYNACK_ECONNREFUSED);
    CHECK(tcp_readable(&F.c));
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

static void test_syn_sent_rst_without_ack_ignored(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = R), SYNACK_DROP_RST_IGNORED);
    EXPECT_NONE(SYNACK_SYN_SENT);
    CHECK_EQ(F.c.error, 0);
}

static void test_syn_sent_segment_without_syn_or_rst_dropped(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = A), SYNACK_DROP_BAD_SEGMENT);
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = A | FN, .data = "ab"),
             SYNACK_DROP_BAD_SEGMENT);
    EXPECT_NONE(SYNACK_SYN_SENT);
}

static void test_syn_sent_syn_ack_with_data(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .len = 5), 0);
    /* One ACK for SYN and data together. */
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 6, .flags = A});
    CHECK_EQ(app_recv(0, 100), 5);
    CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), SYNACK_EAGAIN);
}

static void test_syn_sent_syn_ack_with_data_and_fin(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = S | A | FN, .len = 3), 0);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 5, .flags = A});
    CHECK_EQ(app_recv(0, 100), 3);
    CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), 0);
}

static void test_syn_sent_queued_data_rides_on_handshake_ack(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(app_send(0, 100), 100);
    EXPECT_NONE(SYNACK_SYN_SENT); /* nothing but the SYN before it is acknowledged */
    SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 100, .check_data = true});
}

static void test_simultaneous_open(void)
{
    /* Figure 7: SYN-SENT -> SYN-RECEIVED on the peer's SYN; the peer's SYN-ACK repeats its
     * SYN and acknowledges ours -> ESTABLISHED without a further ACK. */
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS), 0);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK(!F.c.passive);
    CHECK_EQ(SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS), 0);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd_una, F.iss + 1);
    CHECK_EQ(F.c.rcv_nxt, F.irs + 1);
}

static void test_simultaneous_open_rst_refused(void)
{
    /* RFC 9293 3.10.7.4 second: SYN-RECEIVED from an active OPEN: "connection refused". */
    fixture_reset();
    conn_syn_sent();
    SEND(0, .seq = F.irs, .flags = S);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .flags = R), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, SYNACK_ECONNREFUSED);
}

static void test_simultaneous_open_syn_with_data_held(void)
{
    fixture_reset();
    conn_syn_sent();
    SEND(0, .seq = F.irs, .flags = S, .len = 4);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), SYNACK_EAGAIN);
    SEND(0, .seq = F.irs + 5, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 5, .flags = A});
    CHECK_EQ(app_recv(0, 10), 4);
}

static void test_syn_retransmitted_with_backoff(void)
{
    fixture_reset();
    conn_syn_sent();
    tcp_timer(&F.c, 1 * SEC - 1);
    EXPECT_NONE(SYNACK_SYN_SENT);
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss, .flags = S, .check_rtx = true, .rtx = true});
    CHECK_EQ(tcp_deadline(&F.c), 3 * SEC);
    tcp_timer(&F.c, 3 * SEC);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss, .flags = S, .check_rtx = true, .rtx = true});
    CHECK_EQ(tcp_deadline(&F.c), 7 * SEC);
    CHECK_EQ(F.c.retransmits, 2);
    /* The SYN-ACK gives no RTT sample (Karn); RFC 6298 5.7: RTO 3 s once data flows. */
    SEND(3500 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK(!F.c.rtt_valid);
    CHECK_EQ(F.c.rto_us, 3 * SEC);
    CHECK_EQ(app_send(4 * SEC, 10), 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 10});
    CHECK_EQ(tcp_deadline(&F.c), 7 * SEC);
}

/* ==== SYN-RECEIVED ========================================================================= */

static void test_syn_received_ack_establishes(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 2000), 0);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd_wnd, 2000);
    CHECK_EQ(F.c.snd_wl1, F.irs + 1);
    CHECK_EQ(F.c.snd_wl2, F.iss + 1);
    CHECK_EQ(F.nstates, 3);
    CHECK_EQ(F.states[2], SYNACK_ESTABLISHED);
}

static void test_syn_received_unacceptable_ack_gets_rst(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 7, .flags = A),
             SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss + 7, .flags = R});
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss, .flags = A), SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .flags = R});
}

static void test_syn_received_rst_passive_returns_to_listen(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .flags = R), 0);
    EXPECT_NONE(SYNACK_LISTEN);
    CHECK_EQ(F.c.error, 0);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE); /* retransmission queue flushed */
    /* And it works as a listener again. */
    SEND(0, .seq = 9000, .flags = S);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = 9001, .flags = S | A});
}

static void test_syn_received_rst_in_window_challenged(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 100, .flags = R), SYNACK_DROP_RST_CHALLENGED);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
}

static void test_syn_received_data_on_third_segment(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | P, .len = 300), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 301, .flags = A});
    CHECK(tcp_readable(&F.c));
    CHECK_EQ(app_recv(0, 1000), 300);
}

static void test_syn_with_data_held_until_established(void)
{
    fixture_reset();
    conn_listen();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = S, .len = 3), 0);
    /* The SYN-ACK acknowledges the SYN only. */
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK(!tcp_readable(&F.c));
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), SYNACK_EAGAIN);
    /* The peer retransmits the data with its ACK: processed once, acknowledged. */
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 3), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 4, .flags = A});
    CHECK_EQ(app_recv(0, 10), 3);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), SYNACK_EAGAIN);
}

static void test_syn_with_data_then_bare_ack(void)
{
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .len = 3);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    /* The third segment sits after the SYN's data (the peer counts it as sent). */
    CHECK_EQ(SEND(0, .seq = F.irs + 4, .ack = F.iss + 1, .flags = A), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 4, .flags = A});
    CHECK_EQ(app_recv(0, 10), 3);
}

static void test_syn_with_fin(void)
{
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S | FN, .len = 2);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    SEND(0, .seq = F.irs + 4, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 4, .flags = A});
    CHECK_EQ(app_recv(0, 10), 2);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), 0);
    CHECK_EQ(F.nstates, 4); /* LISTEN, SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT */
}

static void test_syn_received_duplicate_syn_gets_syn_ack(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(500 * MS, .seq = F.irs, .flags = S, .mss = PEER_MSS), 0);
    EXPECT(SYNACK_SYN_RECEIVED,
           {.seq = F.iss, .ack = F.irs + 1, .flags = S | A, .check_rtx = true, .rtx = true});
}

static void test_syn_received_other_syn_passive_returns_to_listen(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 10, .flags = S), 0);
    EXPECT_NONE(SYNACK_LISTEN);
}

static void test_syn_received_segment_without_ack_dropped(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .flags = 0, .len = 10), SYNACK_DROP_NO_ACK);
    EXPECT_NONE(SYNACK_SYN_RECEIVED);
    CHECK(!tcp_readable(&F.c));
}

static void test_syn_ack_retransmitted(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(tcp_deadline(&F.c), 1 * SEC);
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_SYN_RECEIVED,
           {.seq = F.iss, .ack = F.irs + 1, .flags = S | A, .check_rtx = true, .rtx = true});
    CHECK_EQ(tcp_deadline(&F.c), 3 * SEC);
}

static void test_syn_received_close_sends_fin_after_handshake(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT_NONE(SYNACK_FIN_WAIT_1);
    /* Until our SYN is acknowledged the SYN-RECEIVED ACK rule holds: an ACK that does not
     * acknowledge it gets a RST, and the segment's text is not taken. */
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss, .flags = A, .len = 10),
             SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss, .flags = R});
    CHECK_EQ(F.c.rcv_nxt, F.irs + 1);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = FN | A});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 2, .flags = A);
    EXPECT_NONE(SYNACK_FIN_WAIT_2);
}

/* ==== ESTABLISHED: data ===================================================================== */

static void test_established_data_in_order_acked(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | P, .len = 100), 0);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 101, .flags = A, .check_wnd = true,
            .wnd = 8192 - 100});
    CHECK(tcp_readable(&F.c));
    CHECK_EQ(app_recv(0, 60), 60);
    CHECK_EQ(app_recv(0, 60), 40);
    CHECK_EQ(tcp_recv(&F.c, scratch, 60, 0), SYNACK_EAGAIN);
    CHECK(!tcp_readable(&F.c));
}

static void test_established_out_of_order_held_and_acked(void)
{
    /* RFC 9293 3.10.7.4 seventh (SHLD-31): out-of-order data is kept, not readable until
     * the hole is filled; each arrival is ACKed at once with RCV.NXT. */
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 11, .ack = F.iss + 1, .flags = A, .len = 10), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK(!tcp_readable(&F.c));
    CHECK_EQ(F.c.rcv_nxt, F.irs + 1);
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 21, .flags = A});
    CHECK_EQ(app_recv(0, 100), 20);
}

static void test_established_duplicate_data_acked(void)
{
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    CHECK_EQ(app_recv(0, 100), 10);
}

static void test_established_partial_duplicate_trimmed(void)
{
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    /* [IRS+6, IRS+21): the first 5 bytes are old, 10 are new. */
    CHECK_EQ(SEND(0, .seq = F.irs + 6, .ack = F.iss + 1, .flags = A, .len = 15), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 21, .flags = A});
    CHECK_EQ(app_recv(0, 100), 20); /* pattern-checked: no byte doubled or shifted */
}

static void test_established_segment_beyond_window_trimmed(void)
{
    fixture_reset();
    F.rcvcap = 8;
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | FN, .len = 12), 0);
    /* 8 bytes fit; the rest and the FIN behind it are trimmed. */
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 9, .flags = A, .check_wnd = true, .wnd = 0});
    CHECK_EQ(app_recv(0, 100), 8);
}

static void test_established_unacceptable_segment_acked(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 100000, .ack = F.iss + 1, .flags = A, .len = 10),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(SEND(0, .seq = F.irs - 5, .ack = F.iss + 1, .flags = A),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
}

static void test_established_segment_without_ack_dropped(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .flags = P, .len = 10), SYNACK_DROP_NO_ACK);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK(!tcp_readable(&F.c));
}

static void test_established_ack_of_unsent_data(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 50, .flags = A, .len = 10),
             SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK(!tcp_readable(&F.c)); /* the segment was dropped, its data too */
}

static void test_established_send_segments_by_mss(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(app_send(0, 3000), 3000);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200, .check_data = true},
           {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A, .len = 1200, .check_data = true},
           {.seq = F.iss + 2401, .ack = F.irs + 1, .flags = A | P, .len = 600,
            .check_data = true});
    CHECK_EQ(tcp_deadline(&F.c), 1 * SEC);
    SEND(200 * MS, .seq = F.irs + 1, .ack = F.iss + 1201, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd.len, 1800);
    SEND(300 * MS, .seq = F.irs + 1, .ack = F.iss + 3001, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd.len, 0);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

static void test_established_send_respects_window(void)
{
    /* The peer's window is never more than 1000 bytes, so 1000 and 500 bytes are at least
     * half of its largest window: sender SWS avoidance lets them go. */
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS, .wnd = 1000);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 1000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(app_send(0, 2500), 2500);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1000});
    /* The window slides with the ACK: 500 acknowledged, window 1000 -> 500 more. */
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 501, .flags = A, .wnd = 1000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1001, .ack = F.irs + 1, .flags = A, .len = 500});
    /* The window opens: the rest goes. */
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 501, .flags = A, .wnd = 5000);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1501, .ack = F.irs + 1, .flags = A | P, .len = 1000});
}

static void test_established_window_update_rules(void)
{
    /* RFC 9293 3.10.7.4 fifth: only a segment not older than the last update (SND.WL1 <
     * SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK) changes SND.WND. */
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10, .wnd = 4000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    CHECK_EQ(F.c.snd_wnd, 4000);
    CHECK_EQ(F.c.snd_wl1, F.irs + 1);
    SEND(0, .seq = F.irs + 11, .ack = F.iss + 1, .flags = A, .wnd = 3000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd_wnd, 3000);
    CHECK_EQ(F.c.snd_wl1, F.irs + 11);
    /* Acceptable (half of it is new data) but older than SND.WL1: its window is stale. */
    CHECK_EQ(SEND(0, .seq = F.irs + 6, .ack = F.iss + 1, .flags = A, .len = 10, .wnd = 9000), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 16, .flags = A});
    CHECK_EQ(F.c.snd_wnd, 3000);
    CHECK_EQ(F.c.snd_wl1, F.irs + 11);
    /* Same SEG.SEQ as SND.WL1 and SEG.ACK >= SND.WL2: a legitimate update, even smaller. */
    SEND(0, .seq = F.irs + 16, .ack = F.iss + 1, .flags = A, .wnd = 500);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd_wnd, 500);
    CHECK_EQ(F.c.snd_wl1, F.irs + 16);
}

static void test_window_taken_from_ack_of_new_data_with_older_seq(void)
{
    /* A segment that acknowledges new data carries the window offered from its SEG.ACK on,
     * even when its SEQ is below SND.WL1 (a peer's retransmission after a go-back carries
     * a lower SEQ than its earlier pure ACKs). Keeping the old SND.WND while SND.UNA moved
     * would put our window edge beyond what the peer offered (found by the soak). */
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS, .wnd = 1000);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 1000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(app_send(0, 3000), 3000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1000});
    /* The peer's pure ACK at SEQ IRS+101 (it had sent 100 bytes we have not seen): window
     * edge still ISS+1001. */
    SEND(0, .seq = F.irs + 101, .ack = F.iss + 1, .flags = A, .wnd = 1000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd_wl1, F.irs + 101);
    /* Its retransmission of those 100 bytes (older SEQ) acknowledges 600 bytes with a
     * window of 400: the edge stays at ISS+1001, so nothing more may go. */
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 601, .flags = A, .len = 100,
                  .wnd = 400), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1001, .ack = F.irs + 101, .flags = A});
    CHECK_EQ(F.c.snd_wnd, 400);
    CHECK_EQ(F.c.snd_una + F.c.snd_wnd, F.iss + 1001);
}

static void test_pure_ack_at_right_window_edge_accepted(void)
{
    /* A sender that filled our window exactly sends its pure ACKs at SEQ = SND.NXT, our
     * RCV.NXT + RCV.WND, while that data is lost. The ACK is taken (as Linux takes it),
     * not answered as unacceptable: refusing it made two-way transfers drop each other's
     * ACKs until a retransmission (found by the soak). One byte beyond is unacceptable. */
    fixture_reset();
    conn_established();
    CHECK_EQ(app_send(0, 100), 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 100});
    CHECK_EQ(SEND(0, .seq = F.irs + 1 + 8192, .ack = F.iss + 101, .flags = A), 0);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd_una, F.iss + 101);
    CHECK_EQ(SEND(0, .seq = F.irs + 2 + 8192, .ack = F.iss + 101, .flags = A),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 101, .ack = F.irs + 1, .flags = A});
}

static void test_established_old_ack_unacceptable(void)
{
    /* RFC 5961 5: SEG.ACK below SND.UNA - MAX.SND.WND is dropped with an ACK. */
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS, .wnd = 1000);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 1000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(app_send(0, 3000), 3000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1000});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1001, .flags = A, .wnd = 1000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1001, .ack = F.irs + 1, .flags = A, .len = 1000});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 2001, .flags = A, .wnd = 1000);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 2001, .ack = F.irs + 1, .flags = A | P, .len = 1000});
    /* SND.UNA = ISS+2001, MAX.SND.WND = 1000: ACK ISS+1001 is old but believable (ignored),
     * ISS+1000 is not. */
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1001, .flags = A, .len = 5), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 3001, .ack = F.irs + 6, .flags = A});
    CHECK_EQ(SEND(0, .seq = F.irs + 6, .ack = F.iss + 1000, .flags = A, .len = 5),
             SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 3001, .ack = F.irs + 6, .flags = A});
    CHECK_EQ(F.c.snd_una, F.iss + 2001);
}

static void test_established_duplicate_acks_fast_retransmit(void)
{
    /* RFC 5681 3.2: the third duplicate ACK retransmits the first segment at once (no RTO);
     * RFC 6582 3.2 step 5: the partial ACK that follows retransmits the next one. */
    fixture_reset();
    conn_established();
    app_send(0, 2400);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A | P, .len = 1200});
    for (int i = 0; i < 2; i++)
        SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.dup_acks, 2);
    SEND(10 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200,
                                .check_data = true, .check_rtx = true, .rtx = true});
    CHECK_EQ(F.c.dup_acks, 3);
    CHECK_EQ(F.c.fast_retransmits, 1);
    SEND(20 * MS, .seq = F.irs + 1, .ack = F.iss + 1201, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A | P,
                                .len = 1200, .check_data = true, .check_rtx = true,
                                .rtx = true});
    CHECK_EQ(F.c.dup_acks, 0);
    SEND(30 * MS, .seq = F.irs + 1, .ack = F.iss + 2401, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK(!F.c.sack.in_recovery);
}

/* ==== Resets and SYNs in synchronized states (3.10.7.4 second and fourth, RFC 5961) ======== */

static void test_established_rst_exact_resets(void)
{
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 4);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 5, .flags = A});
    app_send(0, 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 5, .flags = A | P, .len = 10});
    CHECK_EQ(SEND(0, .seq = F.irs + 5, .flags = R), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, SYNACK_ECONNRESET);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
    /* Data received before the reset stays readable, then the error. */
    CHECK_EQ(app_recv(0, 100), 4);
    CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), SYNACK_ECONNRESET);
    CHECK_EQ(tcp_send(&F.c, "x", 1, 0), SYNACK_ECONNRESET);
    CHECK(!tcp_writable(&F.c));
    CHECK_EQ(SEND(0, .seq = F.irs + 5, .ack = F.iss + 1, .flags = A), SYNACK_DROP_NO_SOCKET);
    EXPECT_NONE(SYNACK_CLOSED);
}

static void test_established_rst_in_window_challenged(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .flags = R), SYNACK_DROP_RST_CHALLENGED);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(SEND(0, .seq = F.irs + 8191, .ack = F.iss + 1, .flags = R | A),
             SYNACK_DROP_RST_CHALLENGED);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(F.c.error, 0);
}

static void test_established_rst_out_of_window_ignored(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 8193, .flags = R), SYNACK_DROP_RST_IGNORED);
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = R), SYNACK_DROP_RST_IGNORED);
    CHECK_EQ(SEND(0, .seq = F.irs - 100000, .flags = R | A, .ack = F.iss + 1),
             SYNACK_DROP_RST_IGNORED);
    EXPECT_NONE(SYNACK_ESTABLISHED);
}

static void test_established_syn_challenged(void)
{
    fixture_reset();
    conn_established();
    /* In window: challenge ACK (RFC 5961 4). */
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .flags = S), SYNACK_DROP_SYN_CHALLENGED);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(SEND(0, .seq = F.irs + 50, .ack = F.iss + 1, .flags = S | A, .len = 10),
             SYNACK_DROP_SYN_CHALLENGED);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    /* Out of window: the same ACK, from the first check (Figure 9, line 3 -> 4). */
    CHECK_EQ(SEND(0, .seq = 400, .flags = S), SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK(!tcp_readable(&F.c));
    CHECK_EQ(F.c.error, 0);
}

/* ==== Closing ============================================================================== */

static void test_established_close_sends_fin(void)
{
    fixture_reset();
    conn_fin_wait_1();
    CHECK_EQ(F.c.fin_seq, F.iss + 1);
    CHECK_EQ(tcp_deadline(&F.c), 1 * SEC);
    CHECK_EQ(tcp_send(&F.c, "x", 1, 0), SYNACK_EPIPE);
    CHECK_EQ(tcp_close(&F.c, 0), SYNACK_ENOTCONN);
    EXPECT_NONE(SYNACK_FIN_WAIT_1); /* no second FIN */
}

static void test_close_fin_rides_on_last_data(void)
{
    fixture_reset();
    conn_established();
    F.c.snd_wnd = 0; /* hold the data back: as if the peer had closed its window */
    app_send(0, 1500);
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT_NONE(SYNACK_FIN_WAIT_1);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 10000);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A | P | FN, .len = 300});
    CHECK_EQ(F.c.fin_seq, F.iss + 1501);
    /* Acknowledging the data but not the FIN keeps FIN-WAIT-1. */
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1501, .flags = A);
    EXPECT_NONE(SYNACK_FIN_WAIT_1);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1502, .flags = A);
    EXPECT_NONE(SYNACK_FIN_WAIT_2);
}

static void test_fin_wait_1_fin_without_ack_of_ours_closing(void)
{
    fixture_reset();
    conn_closing();
    CHECK_EQ(F.c.fin_received, true);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), 0);
}

static void test_fin_wait_1_fin_with_ack_of_ours_time_wait(void)
{
    fixture_reset();
    conn_fin_wait_1();
    CHECK_EQ(SEND(5 * SEC, .seq = F.irs + 1, .ack = F.iss + 2, .flags = FN | A), 0);
    EXPECT(SYNACK_TIME_WAIT, {.seq = F.iss + 2, .ack = F.irs + 2, .flags = A});
    CHECK_EQ(tcp_deadline(&F.c), 5 * SEC + 2 * F.cfg.msl_us);
}

static void test_fin_wait_1_data_accepted(void)
{
    fixture_reset();
    conn_fin_wait_1();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 20);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 2, .ack = F.irs + 21, .flags = A});
    CHECK_EQ(app_recv(0, 100), 20);
}

static void test_fin_wait_1_fin_retransmitted(void)
{
    fixture_reset();
    conn_fin_wait_1();
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = FN | A,
                               .check_rtx = true, .rtx = true});
    CHECK_EQ(tcp_deadline(&F.c), 3 * SEC);
    tcp_timer(&F.c, 3 * SEC);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = FN | A,
                               .check_rtx = true, .rtx = true});
    SEND(3 * SEC, .seq = F.irs + 1, .ack = F.iss + 2, .flags = A);
    EXPECT_NONE(SYNACK_FIN_WAIT_2);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

static void test_fin_wait_2_fin_time_wait(void)
{
    fixture_reset();
    conn_time_wait();
    CHECK_EQ(F.nstates, 6); /* LISTEN SYN-RCVD ESTAB FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT */
    CHECK_EQ(F.states[5], SYNACK_TIME_WAIT);
}

static void test_fin_wait_2_data_accepted(void)
{
    fixture_reset();
    conn_fin_wait_2();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 2, .flags = A | FN, .len = 7);
    EXPECT(SYNACK_TIME_WAIT, {.seq = F.iss + 2, .ack = F.irs + 9, .flags = A});
    CHECK_EQ(app_recv(0, 100), 7);
    CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), 0);
}

static void test_fin_wait_2_rst_resets(void)
{
    fixture_reset();
    conn_fin_wait_2();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .flags = R), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, SYNACK_ECONNRESET);
}

static void test_close_wait_half_close(void)
{
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | FN, .len = 5);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 7, .flags = A});
    CHECK(tcp_readable(&F.c));
    CHECK_EQ(app_recv(0, 100), 5);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), 0); /* EOF, for ever */
    CHECK(tcp_readable(&F.c));
    /* Sending still works. */
    CHECK(tcp_writable(&F.c));
    CHECK_EQ(app_send(0, 50), 50);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 7, .flags = A | P, .len = 50});
    SEND(0, .seq = F.irs + 7, .ack = F.iss + 51, .flags = A);
    EXPECT_NONE(SYNACK_CLOSE_WAIT);
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT(SYNACK_LAST_ACK, {.seq = F.iss + 51, .ack = F.irs + 7, .flags = A | FN});
    CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), 0);
}

static void test_close_wait_segment_text_ignored(void)
{
    fixture_reset();
    conn_close_wait();
    /* In window after the FIN: acceptable, but the text is ignored (3.10.7.4 seventh). */
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .ack = F.iss + 1, .flags = A, .len = 5), 0);
    EXPECT_NONE(SYNACK_CLOSE_WAIT);
    CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), 0);
    /* The FIN again (out of window now): acknowledged. */
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | FN),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A});
}

static void test_closing_ack_of_fin_time_wait(void)
{
    fixture_reset();
    conn_closing();
    /* An ACK not of our FIN: ignored. */
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .ack = F.iss + 1, .flags = A), 0);
    EXPECT_NONE(SYNACK_CLOSING);
    CHECK_EQ(SEND(2 * SEC, .seq = F.irs + 2, .ack = F.iss + 2, .flags = A), 0);
    EXPECT_NONE(SYNACK_TIME_WAIT);
    CHECK_EQ(tcp_deadline(&F.c), 2 * SEC + 2 * F.cfg.msl_us);
}

static void test_closing_rst_closes_without_error(void)
{
    fixture_reset();
    conn_closing();
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .flags = R), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, 0);
}

static void test_last_ack_ack_of_fin_closes(void)
{
    fixture_reset();
    conn_last_ack();
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .ack = F.iss + 1, .flags = A), 0);
    EXPECT_NONE(SYNACK_LAST_ACK);
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .ack = F.iss + 2, .flags = A), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, 0);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), 0); /* closed normally: EOF */
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

static void test_last_ack_fin_retransmitted(void)
{
    fixture_reset();
    conn_last_ack();
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_LAST_ACK, {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A | FN,
                             .check_rtx = true, .rtx = true});
}

static void test_last_ack_rst_closes_without_error(void)
{
    fixture_reset();
    conn_last_ack();
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .flags = R), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, 0);
}

/* ==== TIME-WAIT ============================================================================ */

static void test_time_wait_lasts_two_msl(void)
{
    fixture_reset();
    conn_time_wait();
    uint64_t end = 2 * F.cfg.msl_us;
    CHECK_EQ(tcp_deadline(&F.c), end);
    tcp_timer(&F.c, end - 1);
    EXPECT_NONE(SYNACK_TIME_WAIT);
    tcp_timer(&F.c, end);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, 0);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

static void test_time_wait_fin_again_restarts_timer(void)
{
    fixture_reset();
    conn_time_wait();
    uint64_t t1 = 100 * SEC;
    CHECK_EQ(SEND(t1, .seq = F.irs + 1, .ack = F.iss + 2, .flags = FN | A), 0);
    EXPECT(SYNACK_TIME_WAIT, {.seq = F.iss + 2, .ack = F.irs + 2, .flags = A});
    CHECK_EQ(tcp_deadline(&F.c), t1 + 2 * F.cfg.msl_us);
    tcp_timer(&F.c, 2 * F.cfg.msl_us); /* the old deadline */
    EXPECT_NONE(SYNACK_TIME_WAIT);
    tcp_timer(&F.c, t1 + 2 * F.cfg.msl_us - 1);
    EXPECT_NONE(SYNACK_TIME_WAIT);
    tcp_timer(&F.c, t1 + 2 * F.cfg.msl_us);
    EXPECT_NONE(SYNACK_CLOSED);
}

static void test_time_wait_syn_reopen_or_challenge(void)
{
    fixture_reset();
    conn_time_wait();
    /* A new SYN above RCV.NXT: the stack may reopen (RFC 1122 4.2.2.13). */
    CHECK_EQ(SEND(1 * SEC, .seq = F.irs + 100000, .flags = S), TCP_INPUT_REOPEN);
    EXPECT_NONE(SYNACK_TIME_WAIT);
    CHECK_EQ(tcp_deadline(&F.c), 2 * F.cfg.msl_us); /* unchanged */
    /* An old one: challenge ACK, still TIME-WAIT. */
    CHECK_EQ(SEND(1 * SEC, .seq = F.irs + 2, .flags = S), SYNACK_DROP_SYN_CHALLENGED);
    EXPECT(SYNACK_TIME_WAIT, {.seq = F.iss + 2, .ack = F.irs + 2, .flags = A});
    CHECK(SEND(1 * SEC, .seq = F.irs - 10, .flags = S) != TCP_INPUT_REOPEN);
    EXPECT(SYNACK_TIME_WAIT, {.seq = F.iss + 2, .ack = F.irs + 2, .flags = A});
    /* A SYN-ACK is not a new connection attempt. */
    CHECK(SEND(1 * SEC, .seq = F.irs + 100000, .ack = F.iss + 2, .flags = S | A) !=
          TCP_INPUT_REOPEN);
    EXPECT(SYNACK_TIME_WAIT, {.seq = F.iss + 2, .ack = F.irs + 2, .flags = A});
}

static void test_time_wait_rst_closes_without_error(void)
{
    fixture_reset();
    conn_time_wait();
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .flags = R), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, 0);
}

/* ==== Rules across every state, table-driven ============================================== */

struct state_row {
    const char *name;
    void (*fixture)(void);
    int state;           /* the state the fixture reaches */
    int after_rst;       /* state after a RST at exactly RCV.NXT */
    int rst_error;       /* error after it */
    int after_syn;       /* state after an in-window SYN (-1: unchanged, challenge ACK) */
};

static const struct state_row state_table[] = {
    {"SYN-RECEIVED (passive)", conn_syn_received, SYNACK_SYN_RECEIVED, SYNACK_LISTEN, 0,
     SYNACK_LISTEN},
    {"ESTABLISHED", conn_established, SYNACK_ESTABLISHED, SYNACK_CLOSED, SYNACK_ECONNRESET, -1},
    {"ESTABLISHED (active)", conn_established_active, SYNACK_ESTABLISHED, SYNACK_CLOSED,
     SYNACK_ECONNRESET, -1},
    {"FIN-WAIT-1", conn_fin_wait_1, SYNACK_FIN_WAIT_1, SYNACK_CLOSED, SYNACK_ECONNRESET, -1},
    {"FIN-WAIT-2", conn_fin_wait_2, SYNACK_FIN_WAIT_2, SYNACK_CLOSED, SYNACK_ECONNRESET, -1},
    {"CLOSE-WAIT", conn_close_wait, SYNACK_CLOSE_WAIT, SYNACK_CLOSED, SYNACK_ECONNRESET, -1},
    {"CLOSING", conn_closing, SYNACK_CLOSING, SYNACK_CLOSED, 0, -1},
    {"LAST-ACK", conn_last_ack, SYNACK_LAST_ACK, SYNACK_CLOSED, 0, -1},
    {"TIME-WAIT", conn_time_wait, SYNACK_TIME_WAIT, SYNACK_CLOSED, 0, -1},
};
#define STATE_ROWS (sizeof state_table / sizeof state_table[0])

#define FOR_EACH_STATE(row)                                                                 \
    for (const struct state_row *row = state_table; row < state_table + STATE_ROWS; row++)

/* Runs row's fixture; false (and a failure) if it did not reach its state. */
static bool enter(const struct state_row *row)
{
    fixture_reset();
    row->fixture();
    if (F.c.state != row->state) {
        fprintf(stderr, "%s: fixture for %s failed\n", check_current_name, row->name);
        check_current_failed = 1;
        return false;
    }
    return true;
}

static void report_row(const struct state_row *row, int failed_before)
{
    if (check_current_failed && !failed_before)
        fprintf(stderr, "  ... in %s\n", row->name);
}

static void test_table_rst_exact(void)
{
    FOR_EACH_STATE(row) {
        int before = check_current_failed;
        if (!enter(row))
            continue;
        CHECK_EQ(SEND(0, .seq = F.c.rcv_nxt, .flags = R), 0);
        EXPECT_NONE(row->after_rst);
        CHECK_EQ(F.c.error, row->rst_error);
        CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
        report_row(row, before);
    }
}

static void test_table_rst_in_window_challenged(void)
{
    FOR_EACH_STATE(row) {
        int before = check_current_failed;
        if (!enter(row))
            continue;
        uint32_t nxt = F.c.rcv_nxt, snd = F.c.snd_nxt;
        CHECK_EQ(SEND(0, .seq = nxt + 1, .flags = R), SYNACK_DROP_RST_CHALLENGED);
        EXPECT(row->state, {.seq = snd, .ack = nxt, .flags = A});
        CHECK_EQ(SEND(0, .seq = nxt + 9000, .flags = R), SYNACK_DROP_RST_IGNORED);
        CHECK_EQ(SEND(0, .seq = nxt - 1, .flags = R), SYNACK_DROP_RST_IGNORED);
        EXPECT_NONE(row->state);
        CHECK_EQ(F.c.error, 0);
        report_row(row, before);
    }
}

static void test_table_syn_in_window(void)
{
    FOR_EACH_STATE(row) {
        int before = check_current_failed;
        if (!enter(row))
            continue;
        uint32_t nxt = F.c.rcv_nxt, snd = F.c.snd_nxt;
        int r = SEND(0, .seq = nxt, .flags = S);
        if (row->after_syn >= 0) {
            CHECK_EQ(r, 0);
            EXPECT_NONE(row->after_syn);
        } else {
            CHECK_EQ(r, SYNACK_DROP_SYN_CHALLENGED);
            EXPECT(row->state, {.seq = snd, .ack = nxt, .flags = A});
        }
        CHECK_EQ(F.c.error, 0);
        report_row(row, before);
    }
}

static void test_table_unacceptable_segment_acked(void)
{
    FOR_EACH_STATE(row) {
        int before = check_current_failed;
        if (!enter(row))
            continue;
        uint32_t nxt = F.c.rcv_nxt, snd = F.c.snd_nxt, una = F.c.snd_una;
        CHECK_EQ(SEND(0, .seq = nxt + 100000, .ack = una, .flags = A, .len = 3),
                 SYNACK_DROP_SEQ_UNACCEPTABLE);
        EXPECT(row->state, {.seq = snd, .ack = nxt, .flags = A});
        CHECK_EQ(SEND(0, .seq = nxt - 10, .ack = una, .flags = A, .len = 3),
                 SYNACK_DROP_SEQ_UNACCEPTABLE);
        EXPECT(row->state, {.seq = snd, .ack = nxt, .flags = A});
        report_row(row, before);
    }
}

static void test_table_ack_of_unsent_data(void)
{
    FOR_EACH_STATE(row) {
        int before = check_current_failed;
        if (!enter(row))
            continue;
        uint32_t nxt = F.c.rcv_nxt, snd = F.c.snd_nxt;
        int r = SEND(0, .seq = nxt, .ack = snd + 1, .flags = A);
        CHECK_EQ(r, SYNACK_DROP_ACK_UNACCEPTABLE);
        if (row->state == SYNACK_SYN_RECEIVED)
            EXPECT(row->state, {.seq = snd + 1, .flags = R}); /* <SEQ=SEG.ACK><CTL=RST> */
        else
            EXPECT(row->state, {.seq = snd, .ack = nxt, .flags = A});
        report_row(row, before);
    }
}

static void test_table_segment_without_ack_dropped(void)
{
    FOR_EACH_STATE(row) {
        int before = check_current_failed;
        if (!enter(row))
            continue;
        uint32_t rcv_nxt = F.c.rcv_nxt;
        CHECK_EQ(SEND(0, .seq = rcv_nxt, .flags = P, .len = 4), SYNACK_DROP_NO_ACK);
        EXPECT_NONE(row->state);
        CHECK_EQ(F.c.rcv_nxt, rcv_nxt);
        report_row(row, before);
    }
}

static void test_fin_again_acked_in_closing_states(void)
{
    /* The peer's FIN repeated (its ACK of the FIN was lost): acknowledged again. */
    void (*fixtures[])(void) = {conn_close_wait, conn_closing, conn_last_ack};
    int states[] = {SYNACK_CLOSE_WAIT, SYNACK_CLOSING, SYNACK_LAST_ACK};
    for (int i = 0; i < 3; i++) {
        fixture_reset();
        fixtures[i]();
        uint32_t snd = F.c.snd_nxt;
        CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | FN),
                 SYNACK_DROP_SEQ_UNACCEPTABLE);
        EXPECT(states[i], {.seq = snd, .ack = F.irs + 2, .flags = A});
    }
}

static void test_syn_received_third_segment_with_fin(void)
{
    fixture_reset();
    conn_syn_received();
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | FN, .len = 2), 0);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 4, .flags = A});
    CHECK_EQ(F.nstates, 4); /* LISTEN, SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT */
    CHECK_EQ(app_recv(0, 10), 2);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), 0);
}

static void test_fin_wait_1_data_and_fin_without_ack_of_ours(void)
{
    fixture_reset();
    conn_fin_wait_1();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | FN, .len = 6);
    EXPECT(SYNACK_CLOSING, {.seq = F.iss + 2, .ack = F.irs + 8, .flags = A});
    CHECK_EQ(app_recv(0, 10), 6);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), 0);
    SEND(0, .seq = F.irs + 8, .ack = F.iss + 2, .flags = A);
    EXPECT_NONE(SYNACK_TIME_WAIT);
}

static void test_active_close_full_sequence(void)
{
    /* Figure 12 from A's side with ISNs 100 (ours) and 300 (theirs). */
    fixture_reset();
    F.iss = 100;
    F.irs = 300;
    conn_established_active();
    CHECK_EQ(tcp_close(&F.c, 1 * SEC), 0);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = 101, .ack = 301, .flags = FN | A});
    SEND(1 * SEC + 10 * MS, .seq = 301, .ack = 102, .flags = A);
    EXPECT_NONE(SYNACK_FIN_WAIT_2);
    SEND(2 * SEC, .seq = 301, .ack = 102, .flags = FN | A);
    EXPECT(SYNACK_TIME_WAIT, {.seq = 102, .ack = 302, .flags = A});
    tcp_timer(&F.c, 2 * SEC + 2 * F.cfg.msl_us);
    EXPECT_NONE(SYNACK_CLOSED);
    static const int want[] = {SYNACK_SYN_SENT, SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1,
                               SYNACK_FIN_WAIT_2, SYNACK_TIME_WAIT, SYNACK_CLOSED};
    CHECK_EQ(F.nstates, 6);
    for (int i = 0; i < 6 && i < F.nstates; i++)
        CHECK_EQ(F.states[i], want[i]);
}

static void test_simultaneous_close_sequence(void)
{
    /* Figure 13 from A's side: both FINs cross, each is acknowledged, both TIME-WAIT. */
    fixture_reset();
    F.iss = 99;
    F.irs = 299;
    conn_established();
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = 100, .ack = 300, .flags = FN | A});
    SEND(0, .seq = 300, .ack = 100, .flags = FN | A);
    EXPECT(SYNACK_CLOSING, {.seq = 101, .ack = 301, .flags = A});
    SEND(0, .seq = 301, .ack = 101, .flags = A);
    EXPECT_NONE(SYNACK_TIME_WAIT);
}

static void test_rst_overlapping_rcv_nxt_ignored(void)
{
    /* A RST carrying data that starts before RCV.NXT passes the first check (its end is in
     * the window) but its SEQ is neither RCV.NXT nor in the window: ignored. */
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs - 1, .flags = R, .len = 5), SYNACK_DROP_RST_IGNORED);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.error, 0);
}

static void test_syn_fin_held_then_close_in_syn_received(void)
{
    /* SYN+FIN held; CLOSE in SYN-RECEIVED (FIN-WAIT-1); the handshake ACK releases the peer's
     * FIN: our FIN is not even sent yet, so CLOSING; then our FIN goes out. */
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S | FN);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT_NONE(SYNACK_FIN_WAIT_1);
    SEND(0, .seq = F.irs + 2, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_CLOSING, {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A | FN});
    SEND(0, .seq = F.irs + 2, .ack = F.iss + 2, .flags = A);
    EXPECT_NONE(SYNACK_TIME_WAIT);
}

static void test_readiness(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK(!tcp_readable(&F.c));
    CHECK(tcp_writable(&F.c));
    fixture_reset();
    conn_established();
    CHECK(!tcp_readable(&F.c));
    CHECK(tcp_writable(&F.c));
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 1);
    CHECK(tcp_readable(&F.c));
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    CHECK(!tcp_writable(&F.c)); /* closed for sending */
    CHECK(tcp_readable(&F.c));
    fixture_reset();
    conn_listen();
    CHECK(!tcp_readable(&F.c));
    CHECK(!tcp_writable(&F.c));
}

/* ==== RTO (RFC 6298) ======================================================================= */

static void test_rto_from_samples(void)
{
    fixture_reset();
    F.cfg.rto_min_us = 10 * MS;
    conn_syn_sent();
    /* First sample R = 100 ms (SYN at 0, SYN-ACK at 100 ms): RFC 6298 2.2. */
    SEND(100 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(F.c.srtt_us, 100000);
    CHECK_EQ(F.c.rttvar_us, 50000);
    CHECK_EQ(F.c.rto_us, 300000); /* SRTT + 4 * RTTVAR */
    /* Second sample R' = 200 ms: RFC 6298 2.3. */
    app_send(1 * SEC, 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 10});
    CHECK_EQ(tcp_deadline(&F.c), 1 * SEC + 300 * MS);
    SEND(1200 * MS, .seq = F.irs + 1, .ack = F.iss + 11, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.rttvar_us, 62500);  /* 3/4 * 50 ms + 1/4 * |100 ms - 200 ms| */
    CHECK_EQ(F.c.srtt_us, 112500);   /* 7/8 * 100 ms + 1/8 * 200 ms */
    CHECK_EQ(F.c.rto_us, 362500);
    struct synack_status st;
    tcp_status(&F.c, &st);
    CHECK_EQ(st.srtt_us, 112500);
    CHECK_EQ(st.rto_us, 362500);
}

static void test_rto_floor_and_granularity(void)
{
    /* RFC 6298 2.4: RTO below rto_min is rounded up. A zero RTT gives SRTT + G. */
    fixture_reset();
    conn_syn_sent();
    SEND(100 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(F.c.rto_us, 1 * SEC); /* 300 ms < 1 s */
    fixture_reset();
    F.cfg.rto_min_us = 0;
    conn_syn_sent();
    SEND(0, .seq = F.irs, .ack = F.iss + 1, .flags = S | A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(F.c.srtt_us, 0);
    CHECK_EQ(F.c.rto_us, 1); /* SRTT 0 + max(G = 1 us, 4 * 0) */
}

static void test_rto_backoff_capped_then_user_timeout(void)
{
    fixture_reset();
    conn_established();
    app_send(0, 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 10});
    /* RTO 1 s doubling: retransmissions at 1, 3, 7, 15, 31, 63 s, then every 60 s (cap). */
    static const uint64_t at[] = {1, 3, 7, 15, 31, 63, 123, 183, 243};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        CHECK_EQ(tcp_deadline(&F.c), at[i] * SEC);
        tcp_timer(&F.c, at[i] * SEC - 1);
        EXPECT_NONE(SYNACK_ESTABLISHED);
        tcp_timer(&F.c, at[i] * SEC);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P,
                                    .len = 10, .check_data = true, .check_rtx = true,
                                    .rtx = true});
        uint64_t want_rto = i < 5 ? (2ull << i) * SEC : 60 * SEC;
        CHECK_EQ(F.c.rto_us, want_rto);
    }
    CHECK_EQ(F.c.backoff, 9);
    /* User timeout: 300 s after the first retransmission (1 s), not at the next RTO (303 s). */
    CHECK_EQ(tcp_deadline(&F.c), 301 * SEC);
    tcp_timer(&F.c, 301 * SEC - 1);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    tcp_timer(&F.c, 301 * SEC);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 11, .ack = 0, .flags = R});
    CHECK_EQ(F.c.error, SYNACK_ETIMEDOUT);
    CHECK_EQ(tcp_send(&F.c, "x", 1, 301 * SEC), SYNACK_ETIMEDOUT);
    CHECK_EQ(tcp_recv(&F.c, scratch, 1, 301 * SEC), SYNACK_ETIMEDOUT);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

static void test_rto_backoff_ends_on_new_ack(void)
{
    fixture_reset();
    conn_established();
    app_send(0, 2400);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A | P, .len = 1200});
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200,
                                .check_rtx = true, .rtx = true});
    tcp_timer(&F.c, 3 * SEC);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200,
                                .check_rtx = true, .rtx = true});
    CHECK_EQ(F.c.rto_us, 4 * SEC);
    /* New data acknowledged: backoff over, timer restarted with the base RTO (5.3); the
     * go-back sends the second segment again. */
    SEND(4 * SEC, .seq = F.irs + 1, .ack = F.iss + 1201, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A | P,
                                .len = 1200, .check_rtx = true, .rtx = true});
    CHECK_EQ(F.c.backoff, 0);
    CHECK_EQ(F.c.rto_us, 1 * SEC);
    CHECK_EQ(tcp_deadline(&F.c), 5 * SEC);
}

static void test_karn_no_sample_from_retransmission(void)
{
    fixture_reset();
    F.cfg.rto_min_us = 10 * MS;
    conn_syn_sent();
    SEND(100 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(F.c.rto_us, 300 * MS);
    app_send(1 * SEC, 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 10});
    tcp_timer(&F.c, 1300 * MS);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 10,
                                .check_rtx = true, .rtx = true});
    CHECK_EQ(F.c.rto_us, 600 * MS);
    /* The ACK is ambiguous: no sample. */
    SEND(1350 * MS, .seq = F.irs + 1, .ack = F.iss + 11, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.srtt_us, 100 * MS);
    CHECK_EQ(F.c.rttvar_us, 50 * MS);
    CHECK_EQ(F.c.rto_us, 300 * MS); /* backoff ended, RTO from the old estimate */
    /* New data, acknowledged after 100 ms: a sample again. */
    app_send(2 * SEC, 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 11, .ack = F.irs + 1, .flags = A | P, .len = 10});
    SEND(2100 * MS, .seq = F.irs + 1, .ack = F.iss + 21, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.srtt_us, 100 * MS);
    CHECK_EQ(F.c.rttvar_us, 37500);
    CHECK_EQ(F.c.rto_us, 250 * MS);
}

static void test_user_timeout_in_syn_sent(void)
{
    fixture_reset();
    F.cfg.user_timeout_us = 10 * SEC;
    conn_syn_sent();
    tcp_timer(&F.c, 1 * SEC);
    tcp_timer(&F.c, 3 * SEC);
    tcp_timer(&F.c, 7 * SEC);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss, .flags = S}, {.seq = F.iss, .flags = S},
           {.seq = F.iss, .flags = S});
    CHECK_EQ(tcp_deadline(&F.c), 11 * SEC);
    tcp_timer(&F.c, 11 * SEC);
    EXPECT_NONE(SYNACK_CLOSED); /* no RST: nothing to reset in SYN-SENT */
    CHECK_EQ(F.c.error, SYNACK_ETIMEDOUT);
}

static void test_user_timeout_per_connection(void)
{
    fixture_reset();
    conn_established();
    F.c.user_timeout_us = 2 * SEC; /* SYNACK_OPT_USER_TIMEOUT sets this field */
    app_send(0, 5);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 5});
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 5});
    CHECK_EQ(tcp_deadline(&F.c), 3 * SEC);
    /* An ACK of new data restarts the clock. */
    app_send(2 * SEC, 5);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 6, .ack = F.irs + 1, .flags = A | P, .len = 5});
    SEND(2500 * MS, .seq = F.irs + 1, .ack = F.iss + 6, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.first_rtx_us, TCP_NO_DEADLINE);
    CHECK_EQ(tcp_deadline(&F.c), 3500 * MS);
    tcp_timer(&F.c, 3500 * MS);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 6, .ack = F.irs + 1, .flags = A | P, .len = 5});
    CHECK_EQ(tcp_deadline(&F.c), 5500 * MS);
    tcp_timer(&F.c, 5500 * MS);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 11, .flags = R});
    CHECK_EQ(F.c.error, SYNACK_ETIMEDOUT);
}

static void test_go_back_retransmission(void)
{
    fixture_reset();
    conn_established();
    app_send(0, 3600);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 2401, .ack = F.irs + 1, .flags = A | P, .len = 1200});
    /* RFC 6298 5.4: only the earliest segment goes again on the timeout. */
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200,
                                .check_data = true, .check_rtx = true, .rtx = true});
    CHECK_EQ(F.c.snd_nxt, F.iss + 1201);
    CHECK_EQ(F.c.snd_max, F.iss + 3601);
    /* The peer had the second segment: an ACK beyond SND.NXT (but not beyond what was ever
     * sent) is acceptable; the third goes again. */
    SEND(1100 * MS, .seq = F.irs + 1, .ack = F.iss + 2401, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 2401, .ack = F.irs + 1, .flags = A | P,
                                .len = 1200, .check_data = true, .check_rtx = true,
                                .rtx = true});
    SEND(1200 * MS, .seq = F.irs + 1, .ack = F.iss + 3601, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd.len, 0);
    CHECK_EQ(F.c.retransmits, 2);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

/* ==== Windows: zero window, 1-byte buffers ================================================= */

static void test_zero_window_probe(void)
{
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = ZERO_WND);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(app_send(0, 10), 10);
    EXPECT_NONE(SYNACK_ESTABLISHED); /* nothing into a zero window */
    CHECK_EQ(tcp_deadline(&F.c), 1 * SEC);
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1, .check_data = true});
    /* The peer keeps answering with a zero window, far beyond the user timeout (300 s): the
     * probes go on, backed off up to rto_max, and the connection stays. */
    uint64_t t = 1 * SEC;
    int probes = 1;
    while (t < 1000 * SEC) {
        SEND(t + 10 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = ZERO_WND);
        EXPECT_NONE(SYNACK_ESTABLISHED);
        t = tcp_deadline(&F.c);
        REQUIRE(t != TCP_NO_DEADLINE);
        tcp_timer(&F.c, t);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1,
                                    .check_rtx = true, .rtx = true});
        probes++;
    }
    CHECK(probes > 10);
    /* The persist timer backs off to rto_max; the RTO itself was never touched. */
    SEND(t + 10 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = ZERO_WND);
    CHECK_EQ(tcp_deadline(&F.c), t + 60 * SEC);
    CHECK_EQ(F.c.rto_us, 1 * SEC);
    CHECK_EQ(F.c.error, 0);
    /* The window opens: everything from SND.UNA goes, the probe byte included. */
    SEND(t + 10 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 1000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 10,
                                .check_data = true});
    CHECK_EQ(F.c.rto_us, 1 * SEC);
    SEND(t + 20 * MS, .seq = F.irs + 1, .ack = F.iss + 11, .flags = A, .wnd = 1000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
}

static void test_zero_window_probe_accepted(void)
{
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = ZERO_WND);
    app_send(0, 3);
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1});
    /* The peer took the byte, its window is zero again. */
    SEND(1100 * MS, .seq = F.irs + 1, .ack = F.iss + 2, .flags = A, .wnd = ZERO_WND);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd.len, 2);
    CHECK_EQ(tcp_deadline(&F.c), 2100 * MS); /* base RTO again after the new ACK */
    tcp_timer(&F.c, 2100 * MS);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 2, .ack = F.irs + 1, .flags = A, .len = 1, .check_data = true});
}

static void test_zero_window_dead_peer_times_out(void)
{
    fixture_reset();
    F.cfg.user_timeout_us = 20 * SEC;
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = ZERO_WND);
    app_send(0, 10);
    /* Probes at 1, 3, 7, 15 s go unanswered: ETIMEDOUT at 1 + 20 s. */
    for (uint64_t t = tcp_deadline(&F.c); t < 21 * SEC; t = tcp_deadline(&F.c)) {
        tcp_timer(&F.c, t);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1});
    }
    CHECK_EQ(tcp_deadline(&F.c), 21 * SEC);
    tcp_timer(&F.c, 21 * SEC);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 2, .flags = R});
    CHECK_EQ(F.c.error, SYNACK_ETIMEDOUT);
}

static void test_receive_buffer_of_one_byte(void)
{
    fixture_reset();
    F.rcvcap = 1;
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A,
                                 .check_wnd = true, .wnd = 1});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 1);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A, .check_wnd = true, .wnd = 0});
    /* A probe into the zero window: its byte is not taken, the ACK repeats window 0. */
    CHECK_EQ(SEND(0, .seq = F.irs + 2, .ack = F.iss + 1, .flags = A, .len = 1), 0);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A, .check_wnd = true, .wnd = 0});
    /* Beyond the zero window: unacceptable. */
    CHECK_EQ(SEND(0, .seq = F.irs + 3, .ack = F.iss + 1, .flags = A, .len = 1),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A});
    /* Reading the byte opens the window: a window update. */
    CHECK_EQ(app_recv(0, 10), 1);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 2, .flags = A, .check_wnd = true, .wnd = 1});
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), SYNACK_EAGAIN);
    for (int i = 0; i < 5; i++) {
        SEND(0, .seq = F.peer_seq, .ack = F.iss + 1, .flags = A | P, .len = 1);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.peer_seq + 1, .flags = A,
                                    .check_wnd = true, .wnd = 0});
        CHECK_EQ(app_recv(0, 10), 1);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.peer_seq, .flags = A,
                                    .check_wnd = true, .wnd = 1});
    }
    /* A FIN needs no buffer space: accepted with a full buffer. */
    SEND(0, .seq = F.peer_seq, .ack = F.iss + 1, .flags = A, .len = 1);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.peer_seq + 1, .flags = A});
    SEND(0, .seq = F.peer_seq + 1, .ack = F.iss + 1, .flags = A | FN);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.peer_seq + 2, .flags = A,
                               .check_wnd = true, .wnd = 0});
    CHECK_EQ(app_recv(0, 10), 1);
    EXPECT_NONE(SYNACK_CLOSE_WAIT); /* no window updates after the FIN */
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), 0);
}

static void test_send_buffer_of_one_byte(void)
{
    fixture_reset();
    F.sndcap = 1;
    conn_established();
    CHECK(tcp_writable(&F.c));
    CHECK_EQ(app_send(0, 10), 1);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 1, .check_data = true});
    CHECK(!tcp_writable(&F.c));
    CHECK_EQ(app_send(0, 10), SYNACK_EAGAIN);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 2, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK(tcp_writable(&F.c));
    CHECK_EQ(app_send(0, 10), 1);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 2, .ack = F.irs + 1, .flags = A | P, .len = 1, .check_data = true});
}

static void test_receive_window_updates(void)
{
    /* Window updates after RECEIVE: only when the right edge can move by min(buffer / 2,
     * MSS) = 1460 bytes (receiver SWS avoidance, RFC 9293 3.8.6.2.2), also when the window
     * announced was zero: small reads announce nothing. */
    fixture_reset();
    conn_established();
    for (uint32_t got = 0; got < 8192; got += 1024) {
        SEND(0, .seq = F.irs + 1 + got, .ack = F.iss + 1, .flags = A, .len = 1024);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1 + got + 1024,
                                    .flags = A, .check_wnd = true, .wnd = 8192 - got - 1024});
    }
    CHECK_EQ(app_recv(0, 100), 100);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(app_recv(0, 1000), 1000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(app_recv(0, 500), 500);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 8193, .flags = A,
                                .check_wnd = true, .wnd = 1600});
}

static void test_window_edge_never_moves_left(void)
{
    /* The right edge announced (RCV.NXT + window) stays put when data fills the buffer. */
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 1000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1001, .flags = A,
                                .check_wnd = true, .wnd = 7192});
    CHECK_EQ(F.c.rcv_adv, F.irs + 1 + 8192);
    struct synack_status st;
    tcp_status(&F.c, &st);
    CHECK_EQ(st.rcv_wnd, 7192);
    CHECK_EQ(st.recv_queued, 1000);
}

/* ==== Sequence number wrap-around ========================================================== */

/* Data both ways across 2^32, then a close, with ISS/IRS just below the wrap. */
static void wrap_transfer(uint32_t iss, uint32_t irs)
{
    fixture_reset();
    F.iss = iss;
    F.irs = irs;
    conn_established();
    /* Ours: 3000 bytes in MSS segments, across the wrap. */
    CHECK_EQ(app_send(0, 3000), 3000);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = iss + 1, .ack = irs + 1, .flags = A, .len = 1200, .check_data = true},
           {.seq = iss + 1201, .ack = irs + 1, .flags = A, .len = 1200, .check_data = true},
           {.seq = iss + 2401, .ack = irs + 1, .flags = A | P, .len = 600, .check_data = true});
    SEND(0, .seq = irs + 1, .ack = iss + 1201, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd.len, 1800);
    SEND(0, .seq = irs + 1, .ack = iss + 3001, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd.len, 0);
    CHECK_EQ(F.c.snd_una, iss + 3001);
    /* Theirs: 100-byte segments across the wrap, one duplicate and one overlap on the way. */
    for (uint32_t off = 0; off < 1000; off += 100) {
        SEND(0, .seq = irs + 1 + off, .ack = iss + 3001, .flags = A, .len = 100);
        EXPECT(SYNACK_ESTABLISHED, {.seq = iss + 3001, .ack = irs + 1 + off + 100, .flags = A});
        if (off == 300) {
            CHECK_EQ(SEND(0, .seq = irs + 1 + off, .ack = iss + 3001, .flags = A, .len = 100),
                     SYNACK_DROP_SEQ_UNACCEPTABLE);
            EXPECT(SYNACK_ESTABLISHED, {.seq = iss + 3001, .ack = irs + 401, .flags = A});
        }
    }
    SEND(0, .seq = irs + 951, .ack = iss + 3001, .flags = A, .len = 100); /* 50 old, 50 new */
    EXPECT(SYNACK_ESTABLISHED, {.seq = iss + 3001, .ack = irs + 1051, .flags = A});
    CHECK_EQ(app_recv(0, 5000), 1050);
    /* RST and SYN checks across the wrap. */
    CHECK_EQ(SEND(0, .seq = irs + 1052, .flags = R), SYNACK_DROP_RST_CHALLENGED);
    EXPECT(SYNACK_ESTABLISHED, {.seq = iss + 3001, .ack = irs + 1051, .flags = A});
    CHECK_EQ(SEND(0, .seq = irs + 1050, .flags = R), SYNACK_DROP_RST_IGNORED);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    /* Close: FIN both ways. */
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = iss + 3001, .ack = irs + 1051, .flags = A | FN});
    SEND(0, .seq = irs + 1051, .ack = iss + 3002, .flags = A | FN);
    EXPECT(SYNACK_TIME_WAIT, {.seq = iss + 3002, .ack = irs + 1052, .flags = A});
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), 0);
}

static void test_wrap_around_near_top(void)
{
    wrap_transfer(0xFFFFFF00u, 0xFFFFFFF0u);
}

static void test_wrap_around_at_edges(void)
{
    wrap_transfer(0xFFFFFFFFu, 0xFFFFFFFFu); /* SYNs at 2^32 - 1, data from 0 */
    wrap_transfer(0x7FFFFFF0u, 0xFFFFFFFEu); /* the signed-difference midpoint */
    wrap_transfer(0xFFFFFFF0u, 0x00000000u);
}

static void test_wrap_around_active_open(void)
{
    fixture_reset();
    F.iss = 0xFFFFFFFFu;
    F.irs = 0xFFFFFFF0u;
    conn_established_active();
    CHECK_EQ(F.c.snd_una, 0u);
    app_send(0, 20);
    EXPECT(SYNACK_ESTABLISHED, {.seq = 0, .ack = 0xFFFFFFF1u, .flags = A | P, .len = 20,
                                .check_data = true});
    /* ACK of unsent data across the wrap. */
    CHECK_EQ(SEND(0, .seq = 0xFFFFFFF1u, .ack = 21, .flags = A), SYNACK_DROP_ACK_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = 20, .ack = 0xFFFFFFF1u, .flags = A});
    SEND(0, .seq = 0xFFFFFFF1u, .ack = 20, .flags = A, .len = 40);
    EXPECT(SYNACK_ESTABLISHED, {.seq = 20, .ack = 0x19u, .flags = A});
    CHECK_EQ(app_recv(0, 100), 40);
}

/* ==== ABORT, CLOSE before the handshake, errors ============================================ */

static void test_abort_in_synchronized_states_sends_rst(void)
{
    fixture_reset();
    conn_established();
    app_send(0, 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 10});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 5);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 11, .ack = F.irs + 6, .flags = A});
    tcp_abort(&F.c, 0);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 11, .ack = 0, .flags = R});
    CHECK_EQ(F.c.error, SYNACK_ECONNABORTED);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 0), SYNACK_ECONNABORTED); /* data discarded */
    CHECK_EQ(tcp_send(&F.c, "x", 1, 0), SYNACK_ECONNABORTED);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
    tcp_abort(&F.c, 0); /* CLOSED: nothing */
    EXPECT_NONE(SYNACK_CLOSED);

    fixture_reset();
    conn_syn_received();
    tcp_abort(&F.c, 0);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 1, .flags = R});
    fixture_reset();
    conn_fin_wait_1();
    tcp_abort(&F.c, 0);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 2, .flags = R});
    fixture_reset();
    conn_fin_wait_2();
    tcp_abort(&F.c, 0);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 2, .flags = R});
    fixture_reset();
    conn_close_wait();
    tcp_abort(&F.c, 0);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 1, .flags = R});
    CHECK_EQ(F.c.error, SYNACK_ECONNABORTED);
}

static void test_abort_in_other_states_silent(void)
{
    void (*fixtures[])(void) = {conn_listen, conn_syn_sent, conn_closing, conn_last_ack,
                                conn_time_wait};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        fixture_reset();
        fixtures[i]();
        tcp_abort(&F.c, 0);
        EXPECT_NONE(SYNACK_CLOSED);
        CHECK_EQ(F.c.error, SYNACK_ECONNABORTED);
        CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
    }
}

static void test_abort_keeps_first_error(void)
{
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .flags = R);
    EXPECT_NONE(SYNACK_CLOSED);
    tcp_abort(&F.c, 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, SYNACK_ECONNRESET);
}

static void test_close_before_handshake(void)
{
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(tcp_close(&F.c, 0), 0); /* nothing queued: RFC 9293 3.10.4 deletes the TCB */
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, 0);
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
    fixture_reset();
    conn_listen();
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(tcp_close(&F.c, 0), SYNACK_ENOTCONN);
}

static void test_close_in_syn_sent_with_data_is_deferred(void)
{
    /* CLOSE in SYN-SENT with data queued: the data must not be lost. The CLOSE waits for the
     * handshake; then the data and the FIN go out together, in FIN-WAIT-1. */
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(app_send(0, 10), 10);
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    EXPECT_NONE(SYNACK_SYN_SENT);
    CHECK_EQ(tcp_send(&F.c, "x", 1, 0), SYNACK_EPIPE);
    CHECK_EQ(tcp_close(&F.c, 0), SYNACK_ENOTCONN);
    SEND(10 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P | FN,
                               .len = 10, .check_data = true});
    CHECK_EQ(F.nstates, 3); /* SYN-SENT, ESTABLISHED, then FIN-WAIT-1 */
    CHECK_EQ(F.states[1], SYNACK_ESTABLISHED);
    CHECK_EQ(F.states[2], SYNACK_FIN_WAIT_1);
    CHECK_EQ(SEND(20 * MS, .seq = F.irs + 1, .ack = F.iss + 12, .flags = A), 0);
    EXPECT_NONE(SYNACK_FIN_WAIT_2);
}

static void test_close_in_syn_sent_with_data_simultaneous_open(void)
{
    /* The same CLOSE when the handshake turns out simultaneous (Figure 7): SYN-RECEIVED takes
     * it as its own CLOSE (FIN-WAIT-1; the FIN waits until our SYN is acknowledged). */
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(app_send(0, 10), 10);
    CHECK_EQ(tcp_close(&F.c, 0), 0);
    SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_FIN_WAIT_1, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P | FN,
                               .len = 10, .check_data = true});
}

static void test_user_calls_in_wrong_states(void)
{
    fixture_reset();
    conn_init();
    CHECK_EQ(tcp_send(&F.c, "x", 1, 0), SYNACK_ENOTCONN);
    CHECK_EQ(tcp_recv(&F.c, scratch, 1, 0), SYNACK_ENOTCONN);
    CHECK_EQ(tcp_close(&F.c, 0), SYNACK_ENOTCONN);
    CHECK(!tcp_readable(&F.c));
    CHECK(!tcp_writable(&F.c));
    CHECK_EQ(SEND(0, .seq = 1, .flags = S), SYNACK_DROP_NO_SOCKET);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(tcp_open_passive(&F.c, F.iss, 0), 0);
    CHECK_EQ(tcp_open_passive(&F.c, F.iss, 0), SYNACK_EINVAL);
    CHECK_EQ(tcp_open_active(&F.c, F.iss, 0), SYNACK_EINVAL);
    CHECK_EQ(tcp_send(&F.c, "x", 1, 0), SYNACK_ENOTCONN);
    CHECK_EQ(tcp_recv(&F.c, scratch, 1, 0), SYNACK_ENOTCONN);
    fixture_reset();
    conn_syn_sent();
    CHECK_EQ(tcp_recv(&F.c, scratch, 1, 0), SYNACK_EAGAIN);
    CHECK_EQ(tcp_send(&F.c, "", 0, 0), 0);
    CHECK(tcp_writable(&F.c));
}

static void test_shutdown_read_discards(void)
{
    fixture_reset();
    conn_established();
    tcp_shutdown_read(&F.c);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 100);
    /* The buffer stays empty; the right edge stays where it was (receiver SWS avoidance:
     * 100 bytes is less than min(buffer / 2, MSS)). */
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 101, .flags = A, .check_wnd = true, .wnd = 8092});
    CHECK_EQ(F.c.rcv.len, 0);
    CHECK_EQ(tcp_recv(&F.c, scratch, 100, 0), SYNACK_EAGAIN);
}

static void test_fin_out_of_order_not_processed(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(SEND(0, .seq = F.irs + 11, .ack = F.iss + 1, .flags = A | FN), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK(!F.c.fin_received);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A | FN, .len = 10);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 12, .flags = A});
}

static void test_reopen_after_error(void)
{
    /* A CLOSED TCB can start a new incarnation: nothing of the old one stays. */
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 5);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 6, .flags = A});
    SEND(0, .seq = F.irs + 6, .flags = R);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, SYNACK_ECONNRESET);
    CHECK_EQ(tcp_open_active(&F.c, 77, 1 * SEC), 0);
    EXPECT(SYNACK_SYN_SENT, {.seq = 77, .flags = S});
    CHECK_EQ(F.c.error, 0);
    CHECK_EQ(F.c.rcv.len, 0);
    CHECK_EQ(tcp_recv(&F.c, scratch, 10, 1 * SEC), SYNACK_EAGAIN);
    CHECK_EQ(tcp_deadline(&F.c), 2 * SEC);
}

/* ==== tcp_reset_for (3.10.7.1), STATUS ===================================================== */

static void test_reset_for(void)
{
    struct wire_tcp seg;
    struct wire_tcp_out out;
    memset(&seg, 0, sizeof seg);
    /* ACK on: <SEQ=SEG.ACK><CTL=RST> */
    seg.seq = 100;
    seg.ack = 0xFFFFFFFFu;
    seg.flags = SYNACK_ACK | SYNACK_PSH;
    seg.payload_len = 10;
    memset(&out, 0xee, sizeof out);
    CHECK(tcp_reset_for(&seg, &out));
    CHECK_EQ(out.seq, 0xFFFFFFFFu);
    CHECK_EQ(out.ack, 0);
    CHECK_EQ(out.flags, SYNACK_RST);
    /* ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and FIN counted. */
    seg.flags = SYNACK_SYN;
    seg.seq = 0xFFFFFFFFu;
    seg.payload_len = 0;
    CHECK(tcp_reset_for(&seg, &out));
    CHECK_EQ(out.seq, 0);
    CHECK_EQ(out.ack, 0);
    CHECK_EQ(out.flags, SYNACK_RST | SYNACK_ACK);
    seg.flags = SYNACK_SYN | SYNACK_FIN;
    seg.seq = 100;
    seg.payload_len = 10;
    CHECK(tcp_reset_for(&seg, &out));
    CHECK_EQ(out.ack, 112);
    seg.flags = 0;
    CHECK(tcp_reset_for(&seg, &out));
    CHECK_EQ(out.ack, 110);
    /* RST: nothing. */
    seg.flags = SYNACK_RST;
    CHECK(!tcp_reset_for(&seg, &out));
    seg.flags = SYNACK_RST | SYNACK_ACK;
    CHECK(!tcp_reset_for(&seg, &out));
}

static void test_status(void)
{
    fixture_reset();
    conn_established();
    app_send(0, 100);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 30, .wnd = 5000);
    struct synack_status st;
    memset(&st, 0, sizeof st);
    tcp_status(&F.c, &st);
    CHECK_EQ(st.state, SYNACK_ESTABLISHED);
    CHECK_EQ(st.iss, F.iss);
    CHECK_EQ(st.irs, F.irs);
    CHECK_EQ(st.snd_una, F.iss + 1);
    CHECK_EQ(st.snd_nxt, F.iss + 101);
    CHECK_EQ(st.snd_wnd, 5000);
    CHECK_EQ(st.rcv_nxt, F.irs + 31);
    CHECK_EQ(st.rcv_wnd, 8192 - 30);
    CHECK_EQ(st.send_queued, 100);
    CHECK_EQ(st.recv_queued, 30);
    CHECK_EQ(st.snd_mss, PEER_MSS);
    CHECK_EQ(st.rto_us, 1 * SEC);
    CHECK_EQ(st.retransmits, 0);
    CHECK_EQ(st.error, 0);
}

/* ==== Two engines talking: whole transfers over a lossy FIFO ============================= */

#define PAIR_QMAX 8192 /* segments in flight between the two engines */

struct pair_seg {
    int to;                   /* index of the receiving engine */
    struct wire_tcp seg;
    uint8_t data[OUR_MSS];
};

static struct pair {
    struct synack_config cfg;
    struct tcp_hooks hooks[2];
    struct tcp_conn c[2];
    struct pair_seg q[PAIR_QMAX];
    int qhead, qlen;
    uint32_t rng;             /* loss decisions */
    int loss_pct;             /* percentage of segments lost */
    uint64_t now;
    uint32_t total;           /* bytes each side sends */
    uint32_t sent[2], rcvd[2];
    bool eof[2], closed_call[2];
    int max_payload;          /* largest payload seen, bytes */
} PR;

#define PAIR_BUF_MAX (4u << 20) /* largest buffer pair_run() gives each ring, bytes */

/* How pair_run() configures both ends: 0 plain (the fixture's test_cfg), 1 everything a
 * Linux-like default would have (window scaling, timestamps, SACK, 40 ms delayed ACK,
 * Nagle), 2 the same with CUBIC. */
static int pair_mode;
static uint8_t pair_bufs[2][2][PAIR_BUF_MAX];

static int pair_index(void *arg) { return (int)(intptr_t)arg; }

/* Side i's byte at stream offset k. */
static uint8_t pair_pat(int i, uint32_t k) { return (uint8_t)(k * (i ? 17u : 31u) + 7u); }

static void pair_output(void *arg, struct tcp_conn *c, struct wire_tcp_out *seg, bool rtx)
{
    (void)c;
    (void)rtx;
    int from = pair_index(arg);
    PR.rng = PR.rng * 1103515245u + 12345u;
    if ((int)((PR.rng >> 16) % 100) < PR.loss_pct)
        return; /* lost */
    if (PR.qlen == PAIR_QMAX) {
        fprintf(stderr, "pair queue overflow\n");
        check_current_failed = 1;
        return;
    }
    struct pair_seg *p = &PR.q[(PR.qhead + PR.qlen++) % PAIR_QMAX];
    memset(&p->seg, 0, sizeof p->seg);
    p->to = 1 - from;
    p->seg.seq = seg->seq;
    p->seg.ack = seg->ack;
    p->seg.flags = seg->flags;
    p->seg.wnd = seg->wnd;
    p->seg.opts = seg->opts;
    uint32_t len = seg->data_len[0] + seg->data_len[1];
    if ((int)len > PR.max_payload)
        PR.max_payload = (int)len;
    if (len > sizeof p->data) {
        fprintf(stderr, "payload %u above MSS\n", len);
        check_current_failed = 1;
        len = 0;
    }
    if (seg->data_len[0] && len)
        memcpy(p->data, seg->data[0], seg->data_len[0]);
    if (seg->data_len[1] && len)
        memcpy(p->data + seg->data_len[0], seg->data[1], seg->data_len[1]);
    p->seg.payload = p->data;
    p->seg.payload_len = len;
}

static void pair_state(void *arg, struct tcp_conn *c, int o, int n, uint64_t t)
{
    (void)arg;
    (void)c;
    (void)o;
    (void)n;
    (void)t;
}

/* The applications: send what fits, read (slowly on side 1), close when all is sent. */
static void pair_apps(void)
{
    static uint8_t buf[4096];
    for (int i = 0; i < 2; i++) {
        struct tcp_conn *c = &PR.c[i];
        if (c->state == SYNACK_LISTEN)
            continue; /* the passive side's application waits for its connection */
        if (PR.sent[i] < PR.total) {
            uint32_t n = PR.total - PR.sent[i];
            if (n > sizeof buf)
                n = sizeof buf;
            for (uint32_t k = 0; k < n; k++)
                buf[k] = pair_pat(i, PR.sent[i] + k);
            int r = tcp_send(c, buf, n, PR.now);
            if (r > 0)
                PR.sent[i] += (uint32_t)r;
            else if (r != SYNACK_EAGAIN) {
                fprintf(stderr, "side %d: send: %d\n", i, r);
                check_current_failed = 1;
                PR.sent[i] = PR.total;
            }
        } else if (!PR.closed_call[i] && c->state != SYNACK_SYN_SENT) {
            PR.closed_call[i] = true;
            tcp_close(c, PR.now);
        }
        uint32_t want = i == 1 ? 700 : sizeof buf; /* side 1 reads slowly: windows fill */
        int r = tcp_recv(c, buf, want, PR.now);
        if (r > 0) {
            for (int k = 0; k < r; k++)
                if (buf[k] != pair_pat(1 - i, PR.rcvd[i] + (uint32_t)k)) {
                    fprintf(stderr, "side %d: byte %u wrong\n", i, PR.rcvd[i] + (uint32_t)k);
                    check_current_failed = 1;
                    break;
                }
            PR.rcvd[i] += (uint32_t)r;
        } else if (r == 0) {
            PR.eof[i] = true;
        }
    }
}

/* Runs a whole connection: open, 'total' bytes each way, close, TIME-WAIT, CLOSED. */
static void pair_run(uint32_t iss_a, uint32_t iss_b, int loss_pct, uint32_t seed,
                     uint32_t total, uint32_t bufsize)
{
    memset(&PR, 0, sizeof PR);
    test_cfg(&PR.cfg);
    PR.cfg.msl_us = 120 * SEC; /* TIME-WAIT outlasts the peer's backed-off retransmissions */
    if (pair_mode > 0) {
        PR.cfg.window_scaling = PR.cfg.timestamps = PR.cfg.sack = true;
        PR.cfg.delack_us = 40 * MS;
        PR.cfg.nodelay = false;
        PR.cfg.congestion = pair_mode == 2 ? SYNACK_CC_CUBIC : SYNACK_CC_NEWRENO;
    }
    PR.rng = seed;
    PR.loss_pct = loss_pct;
    PR.total = total;
    for (int i = 0; i < 2; i++) {
        PR.hooks[i].arg = (void *)(intptr_t)i;
        PR.hooks[i].output = pair_output;
        PR.hooks[i].state_change = pair_state;
        tcp_init(&PR.c[i], &PR.hooks[i], &PR.cfg, pair_bufs[i][0], bufsize, pair_bufs[i][1],
                 bufsize);
    }
    tcp_open_passive(&PR.c[1], iss_b, 0);
    tcp_open_active(&PR.c[0], iss_a, 0);
    long steps = 0;
    for (; steps < 2000000; steps++) {
        pair_apps();
        if (PR.qlen > 0) {
            struct pair_seg *p = &PR.q[PR.qhead];
            PR.qhead = (PR.qhead + 1) % PAIR_QMAX;
            PR.qlen--;
            PR.now += 100; /* 100 us per segment on the wire */
            if (getenv("PAIR_DEBUG"))
                fprintf(stderr, "%llu %d->%d seq=%u ack=%u fl=%02x len=%u wnd=%u\n",
                        (unsigned long long)PR.now, 1 - p->to, p->to, p->seg.seq, p->seg.ack,
                        p->seg.flags, p->seg.payload_len, p->seg.wnd);
            int r = tcp_input(&PR.c[p->to], &p->seg, PR.now);
            if (getenv("PAIR_DEBUG")) {
                struct tcp_conn *q = &PR.c[p->to];
                uint32_t got = q->rcv_nxt - q->irs - 1 - (q->fin_received ? 1u : 0u);
                if (q->state != SYNACK_CLOSED && q->state != SYNACK_LISTEN &&
                    q->state != SYNACK_SYN_SENT && PR.rcvd[p->to] + q->rcv.len != got)
                    fprintf(stderr, "MISMATCH side %d: rcvd %u + len %u != %u\n", p->to,
                            PR.rcvd[p->to], q->rcv.len, got);
            }
            if (r == TCP_INPUT_REOPEN) {
                fprintf(stderr, "unexpected reopen\n");
                check_current_failed = 1;
            }
        } else {
            uint64_t d = tcp_deadline(&PR.c[0]);
            uint64_t d1 = tcp_deadline(&PR.c[1]);
            if (d1 < d)
                d = d1;
            if (d == TCP_NO_DEADLINE)
                break;
            if (d > PR.now)
                PR.now = d;
        }
        for (int i = 0; i < 2; i++)
            if (tcp_deadline(&PR.c[i]) <= PR.now)
                tcp_timer(&PR.c[i], PR.now);
    }
    CHECK(steps < 2000000);
    /* The slow reader may still have data in its buffer when both connections are gone:
     * what was received stays readable after CLOSED. */
    for (int k = 0; k < 1000 && !(PR.eof[0] && PR.eof[1]); k++)
        pair_apps();
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(PR.c[i].state, SYNACK_CLOSED);
        CHECK_EQ(PR.c[i].error, 0);
        CHECK_EQ(PR.rcvd[i], total);
        CHECK(PR.eof[i] || PR.rcvd[i] == total);
    }
    CHECK(PR.max_payload <= PEER_MSS || PR.max_payload <= OUR_MSS);
    CHECK_EQ(PR.qlen, 0);
}

static void test_pair_transfer_clean(void)
{
    pair_run(1000, 5000, 0, 1, 100000, 16384);
    CHECK_EQ(PR.c[0].retransmits + PR.c[1].retransmits, 0);
    pair_run(0xFFFFF000u, 0xFFFFFFFFu, 0, 1, 100000, 16384); /* both streams wrap */
    pair_run(7, 9, 0, 1, 3000, 1);                           /* 1-byte buffers */
}

static void test_pair_transfer_large_buffers(void)
{
    /* 4 MiB rings: the window stays at 65535 (no scaling yet), 3 MiB each way. */
    pair_run(0xFFFF0000u, 0x80000000u, 0, 3, 3u << 20, PAIR_BUF_MAX);
    CHECK_EQ(PR.c[0].retransmits + PR.c[1].retransmits, 0);
    pair_run(0xFFFF0000u, 0x80000000u, 5, 3, 1u << 20, PAIR_BUF_MAX);
}

static void test_pair_transfer_with_options(void)
{
    /* Both ends with the options on, across the wrap, clean and lossy: with SACK most
     * losses are repaired by SACK recovery, not by timeouts. */
    uint64_t recoveries = 0, fast = 0;
    for (pair_mode = 1; pair_mode <= 2; pair_mode++) {
        pair_run(0xFFFFF000u, 0xFFFFFFFFu, 0, 1, 200000, 16384);
        CHECK_EQ(PR.c[0].retransmits + PR.c[1].retransmits, 0);
        CHECK(PR.c[0].ts_ok && PR.c[0].sack_ok && PR.c[1].ws_ok);
        pair_run(1000, 5000, 0, 2, 3u << 20, PAIR_BUF_MAX); /* window scale 7 */
        CHECK_EQ(PR.c[0].rcv_wscale, 7);
        CHECK_EQ(PR.c[0].retransmits + PR.c[1].retransmits, 0);
        for (uint32_t seed = 1; seed <= 6; seed++) {
            pair_run(0xFFFFFF00u + seed, 0x7FFFFFF0u + seed * 1000, 5, seed, 100000,
                     seed % 2 ? 65536 : 3000);
            recoveries += PR.c[0].sack_recoveries + PR.c[1].sack_recoveries;
            fast += PR.c[0].fast_retransmits + PR.c[1].fast_retransmits;
            if (check_current_failed) {
                fprintf(stderr, "  failed with mode %d, seed %u\n", pair_mode, seed);
                pair_mode = 0;
                return;
            }
        }
    }
    pair_mode = 0;
    CHECK(recoveries > 0);
    CHECK_EQ(recoveries, fast); /* SACK on both ends: every recovery is SACK-based */
}

static void test_pair_transfer_lossy(void)
{
    static const int loss[] = {2, 10, 25};
    for (size_t i = 0; i < sizeof loss / sizeof loss[0]; i++)
        for (uint32_t seed = 1; seed <= 6; seed++) {
            pair_run(0xFFFFFF00u + seed, 0x7FFFFFF0u + seed * 1000, loss[i], seed, 30000,
                     seed % 2 ? 16384 : 3000);
            if (check_current_failed) {
                fprintf(stderr, "  failed with loss %d%%, seed %u\n", loss[i], seed);
                return;
            }
        }
    CHECK(PR.c[0].retransmits + PR.c[1].retransmits > 0);
}

/* ==== Issue 3: options (RFC 7323, RFC 2018), reassembly, congestion control, Nagle, delayed
 * ACK, persist, keep-alive =================================================================== */

#define ALL_OPTS (WIRE_OPT_MSS | WIRE_OPT_WSCALE | WIRE_OPT_SACK_PERM | WIRE_OPT_TS)

/* Window scaling, SACK and timestamps configured on. */
static void opts_on(void)
{
    F.cfg.window_scaling = F.cfg.timestamps = F.cfg.sack = true;
}

/* ESTABLISHED, passive, at t = 0, the peer's SYN carrying the options asked for (ws is the
 * shift + 1, 0 for none). With ts, the peer's TSval is 100 on the SYN, 101 on its ACK. */
static void conn_established_opts(int ws, bool sackp, bool ts)
{
    opts_on();
    conn_listen();
    CHECK_EQ(SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS, .ws = ws, .sackp = sackp,
                  .ts = ts, .tsval = 100),
             0);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK_EQ(SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .ts = ts, .tsval = 101,
                  .tsecr = F.iss),
             0);
    EXPECT_NONE(SYNACK_ESTABLISHED);
}

/* The RFC 2018 blocks of captured segment i of the last EXPECT, as "l-r l-r" relative to
 * IRS + 1, into buf. */
static const char *sack_str(int i, char *buf, size_t cap)
{
    const struct wire_tcp_opts *o = &F.prev[i].opts;
    size_t k = 0;
    buf[0] = 0;
    if (!(o->present & WIRE_OPT_SACK))
        return buf;
    for (int b = 0; b < o->sack_count && k < cap; b++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%u-%u", b ? " " : "",
                              o->sack[b].left - (F.irs + 1), o->sack[b].right - (F.irs + 1));
    return buf;
}

#define CHECK_SACK(i, want)                                                                 \
    do {                                                                                    \
        char sb_[128];                                                                      \
        CHECK_STR(sack_str((i), sb_, sizeof sb_), (want));                                  \
    } while (0)

static void test_options_offered_and_negotiated_active(void)
{
    fixture_reset();
    opts_on();
    F.rcvcap = 1u << 20;
    conn_init();
    CHECK_EQ(tcp_open_active(&F.c, F.iss, 5 * MS), 0);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss, .flags = S});
    const struct wire_tcp_opts *o = &F.prev[0].opts;
    CHECK_EQ(o->present, ALL_OPTS);
    CHECK_EQ(o->mss, OUR_MSS);
    CHECK_EQ(o->wscale, 5);            /* RFC 7323 2.3: 1 MiB >> 5 fits 16 bits, >> 4 not */
    CHECK_EQ(o->ts_val, F.iss + 5);    /* ms clock (RFC 7323 5.4) + per-connection offset */
    CHECK_EQ(o->ts_ecr, 0);            /* RFC 7323 3.2: TSecr 0 on an initial SYN */
    CHECK_EQ(F.prev[0].wnd, 65535);    /* RFC 7323 2.2: a SYN's window is never scaled */
    /* The peer offers a shift of 15: used as 14 (RFC 7323 2.3). */
    SEND(105 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS,
         .ws = 15 + 1, .sackp = true, .ts = true, .tsval = 777, .tsecr = F.iss + 5,
         .wnd = 1000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK(F.c.ws_ok && F.c.ts_ok && F.c.sack_ok);
    CHECK_EQ(F.c.snd_wscale, 14);
    CHECK_EQ(F.c.rcv_wscale, 5);
    CHECK_EQ(F.c.snd_wnd, 1000);       /* the SYN-ACK's window is not scaled */
    o = &F.prev[0].opts;
    CHECK_EQ(o->present, WIRE_OPT_TS); /* RFC 7323 3.2: TSopt on every segment after */
    CHECK_EQ(o->ts_val, F.iss + 105);
    CHECK_EQ(o->ts_ecr, 777);          /* TS.Recent from the SYN-ACK */
    CHECK_EQ(F.prev[0].wnd, 32768);    /* 1 MiB free, scaled down by 5 */
    CHECK_EQ(F.c.srtt_us, 100 * MS);   /* RTTM: 105 ms - 5 ms */
    /* Scale 14 arithmetic: window fields 3 and 65535 from now on. */
    SEND(200 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 3, .ts = true,
         .tsval = 800, .tsecr = F.iss + 105);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.snd_wnd, 3u << 14);
    SEND(210 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 65535, .ts = true,
         .tsval = 801, .tsecr = F.iss + 105);
    CHECK_EQ(F.c.snd_wnd, 65535u << 14);
    struct synack_status st;
    tcp_status(&F.c, &st);
    CHECK_EQ(st.snd_wscale, 14);
    CHECK_EQ(st.rcv_wscale, 5);
    CHECK(st.timestamps && st.sack);
}

static void test_options_answered_only_when_offered(void)
{
    /* A SYN-ACK carries an option only if the SYN did (RFC 7323 2.2, 3.2; RFC 2018 2). */
    fixture_reset();
    conn_established_opts(7 + 1, true, true);
    const struct wire_tcp_opts *o = &F.prev[0].opts; /* (the SYN-ACK, from the fixture) */
    (void)o;
    CHECK(F.c.ws_ok && F.c.sack_ok && F.c.ts_ok);
    CHECK_EQ(F.c.snd_wscale, 7);
    CHECK_EQ(F.c.ts_recent, 101);
    fixture_reset();
    opts_on();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS, .ts = true, .tsval = 9);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    o = &F.prev[0].opts;
    CHECK_EQ(o->present, WIRE_OPT_MSS | WIRE_OPT_TS);
    CHECK_EQ(o->ts_ecr, 9);
    CHECK(!F.c.ws_ok && !F.c.sack_ok && F.c.ts_ok);
    CHECK_EQ(F.c.rcv_wscale, 0);
    /* Configured off: nothing but MSS even when the peer offers everything. */
    fixture_reset();
    conn_listen();
    SEND(0, .seq = F.irs, .flags = S, .mss = PEER_MSS, .ws = 3, .sackp = true, .ts = true);
    EXPECT(SYNACK_SYN_RECEIVED, {.seq = F.iss, .ack = F.irs + 1, .flags = S | A});
    CHECK_EQ(F.prev[0].opts.present, WIRE_OPT_MSS);
    CHECK(!F.c.ws_ok && !F.c.sack_ok && !F.c.ts_ok);
}

static void test_wscale_choice_and_receive_window(void)
{
    CHECK_EQ(tcp_wscale_for(65535), 0);
    CHECK_EQ(tcp_wscale_for(65536), 1);
    CHECK_EQ(tcp_wscale_for(1u << 20), 5);
    CHECK_EQ(tcp_wscale_for(1u << 30), 14);
    CHECK_EQ(tcp_wscale_for(UINT32_MAX), 14); /* never above 14 (RFC 7323 2.3) */
    /* Receive side with shift 5: windows are announced in units of 32 bytes, rounded up so
     * that the right edge never moves left (RFC 7323 2.4). */
    fixture_reset();
    F.rcvcap = 1u << 20;
    conn_established_opts(1, false, false);
    CHECK_EQ(F.c.rcv_wscale, 5);
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 1000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1001, .flags = A});
    /* 1 MiB - 1000 free; the edge stays at IRS + 1 + 1 MiB: (1 MiB - 1000) / 32 rounded up */
    CHECK_EQ(F.prev[0].wnd, ((1u << 20) - 1000 + 31) / 32);
    CHECK_EQ(F.c.rcv_adv, F.irs + 1 + (1u << 20)); /* the edge itself is exact */
}

static void test_timestamps_echo_and_ts_recent(void)
{
    fixture_reset();
    conn_established_opts(0, false, true);
    /* RFC 7323 4.3: TS.Recent follows in-order segments (SEG.SEQ <= Last.ACK.sent). */
    SEND(10 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10, .ts = true,
         .tsval = 200, .tsecr = F.iss);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    CHECK_EQ(F.prev[0].opts.ts_ecr, 200);
    CHECK_EQ(F.prev[0].opts.ts_val, F.iss + 10);
    /* Out of order (SEG.SEQ > Last.ACK.sent): TS.Recent is not taken from it. */
    SEND(20 * MS, .seq = F.irs + 21, .ack = F.iss + 1, .flags = A, .len = 10, .ts = true,
         .tsval = 300, .tsecr = F.iss);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    CHECK_EQ(F.c.ts_recent, 200);
    CHECK_EQ(F.prev[0].opts.ts_ecr, 200);
    /* RFC 7323 3.2: once negotiated, a non-RST segment without TSopt is dropped silently. */
    CHECK_EQ(SEND(30 * MS, .seq = F.irs + 11, .ack = F.iss + 1, .flags = A, .len = 10),
             SYNACK_DROP_BAD_SEGMENT);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.rcv_nxt, F.irs + 11);
}

static void test_paws(void)
{
    fixture_reset();
    conn_established_opts(0, false, true);
    SEND(10 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10, .ts = true,
         .tsval = 200);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    /* RFC 7323 5.3 R1: an older TSval: not acceptable, ACK and drop (an old duplicate). */
    CHECK_EQ(SEND(20 * MS, .seq = F.irs + 11, .ack = F.iss + 1, .flags = A, .len = 10,
                  .ts = true, .tsval = 150),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 11, .flags = A});
    CHECK_EQ(F.c.rcv_nxt, F.irs + 11);
    /* Timestamps compare modulo 2^32: 200 + 2^31 - 1 is newer than 200. */
    CHECK_EQ(SEND(30 * MS, .seq = F.irs + 11, .ack = F.iss + 1, .flags = A, .len = 10,
                  .ts = true, .tsval = 200u + 0x7FFFFFFFu),
             0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 21, .flags = A});
    CHECK_EQ(F.c.ts_recent, 200u + 0x7FFFFFFFu);
    /* RFC 7323 5.5: after 24 days idle TS.Recent is invalid: an "old" TSval is accepted. */
    uint64_t later = 30 * MS + 24ull * 24 * 3600 * SEC + 1;
    CHECK_EQ(SEND(later, .seq = F.irs + 21, .ack = F.iss + 1, .flags = A, .len = 10,
                  .ts = true, .tsval = 5),
             0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 31, .flags = A});
    CHECK_EQ(F.c.ts_recent, 5);
    /* Our RST carries TSopt (RFC 7323 3.2). */
    fixture_reset();
    conn_established_opts(0, false, true);
    tcp_abort(&F.c, 50 * MS);
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 1, .flags = R});
    CHECK_EQ(F.prev[0].opts.present, WIRE_OPT_TS);
    CHECK_EQ(F.prev[0].opts.ts_val, F.iss + 50);
    CHECK_EQ(F.prev[0].opts.ts_ecr, 101);
    fixture_reset();
    conn_established_opts(0, false, true);
    /* A RST is never dropped by PAWS nor for lacking TSopt (RFC 7323 3.2, 5.3 R1). */
    CHECK_EQ(SEND(later, .seq = F.irs + 1, .flags = R), 0);
    EXPECT_NONE(SYNACK_CLOSED);
    CHECK_EQ(F.c.error, SYNACK_ECONNRESET);
}

static void test_reassembly_sack_blocks_and_fin(void)
{
    fixture_reset();
    conn_established_opts(0, true, false);
    /* Out of order: held, ACKed at once with SACK blocks, most recent first (RFC 2018 4). */
    SEND(0, .seq = F.irs + 101, .ack = F.iss + 1, .flags = A, .len = 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_SACK(0, "100-200");
    SEND(0, .seq = F.irs + 301, .ack = F.iss + 1, .flags = A, .len = 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_SACK(0, "300-400 100-200");
    /* An overlapping retransmission is merged into the block it extends. */
    SEND(0, .seq = F.irs + 151, .ack = F.iss + 1, .flags = A, .len = 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_SACK(0, "100-250 300-400");
    /* The hole at RCV.NXT fills: RCV.NXT jumps over the held bytes. */
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 251, .flags = A});
    CHECK_SACK(0, "300-400");
    /* A segment partly before RCV.NXT is trimmed (RFC 9293 3.10.7.4) and fills the rest. */
    SEND(0, .seq = F.irs + 201, .ack = F.iss + 1, .flags = A, .len = 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 401, .flags = A});
    CHECK_SACK(0, "");
    /* A FIN beyond RCV.NXT is remembered and processed when the data before it arrives. */
    SEND(0, .seq = F.irs + 501, .ack = F.iss + 1, .flags = A | FN, .len = 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 401, .flags = A});
    CHECK_SACK(0, "500-510");
    CHECK(!F.c.fin_received);
    SEND(0, .seq = F.irs + 401, .ack = F.iss + 1, .flags = A, .len = 100);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 1, .ack = F.irs + 512, .flags = A});
    CHECK_EQ(app_recv(0, 1000), 510); /* every byte once, in order (pattern checked) */
    CHECK_EQ(app_recv(0, 1000), 0);
}

static void test_reassembly_bounded(void)
{
    /* At most REASS_MAX_RANGES holes are held; a segment needing one more is dropped (and
     * ACKed), one that extends a held range is still taken. */
    fixture_reset();
    F.rcvcap = 65535;
    conn_established_opts(0, true, false);
    for (uint32_t k = 0; k < REASS_MAX_RANGES; k++) {
        SEND(0, .seq = F.irs + 101 + 200 * k, .ack = F.iss + 1, .flags = A, .len = 100);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    }
    SEND(0, .seq = F.irs + 101 + 200 * REASS_MAX_RANGES, .ack = F.iss + 1, .flags = A,
         .len = 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_SACK(0, "1500-1600 1300-1400 1100-1200 900-1000"); /* unchanged: dropped */
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 201, .flags = A});
    CHECK_EQ(app_recv(0, 1000), 200);
}

/* Delivers ACK ack (with SACK blocks relative to ISS + 1, pairs in sk, nsk of them) at t and
 * appends the sequence numbers (relative to ISS + 1) of retransmissions sent to rtx. */
static void sack_ack(uint64_t t, uint32_t ack, const uint32_t *sk, int nsk, uint32_t *rtx,
                     int *nrtx)
{
    struct seg_spec sp = {.seq = F.irs + 1, .ack = F.iss + 1 + ack, .flags = A};
    sp.nsack = nsk;
    for (int i = 0; i < nsk; i++) {
        sp.sack[i].left = F.iss + 1 + sk[2 * i];
        sp.sack[i].right = F.iss + 1 + sk[2 * i + 1];
    }
    send_seg(t, sp);
    for (int i = 0; i < F.nout; i++) {
        if (getenv("SACK_DEBUG"))
            fprintf(stderr, "  out seq=%u len=%u rtx=%d\n", F.out[i].seq - (F.iss + 1),
                    F.out[i].len, F.out[i].retransmit);
        if (F.out[i].retransmit && F.out[i].len > 0)
            rtx[(*nrtx)++] = F.out[i].seq - (F.iss + 1);
    }
    F.nout = 0;
}

static void test_sack_recovery_two_losses_one_rtt(void)
{
    /* Ten segments of 1200 bytes (the initial window, RFC 6928); the 2nd and the 5th are
     * lost. SACK-based recovery (RFC 6675) resends both as the duplicate ACKs come in, in
     * one round trip, with no timeout. */
    fixture_reset();
    conn_established_opts(0, true, false);
    CHECK_EQ(F.c.cc.cwnd, 12000);
    CHECK_EQ(app_send(0, 12000), 12000);
    CHECK_EQ(F.nout, 10);
    F.nout = 0;
    uint32_t rtx[32];
    int nrtx = 0;
    uint64_t t = 100 * MS;
    sack_ack(t, 1200, NULL, 0, rtx, &nrtx);                         /* 1st arrives */
    const uint32_t s3[] = {2400, 3600}, s4[] = {2400, 4800};
    const uint32_t s6[] = {6000, 7200, 2400, 4800}, s7[] = {6000, 8400, 2400, 4800};
    const uint32_t s8[] = {6000, 9600, 2400, 4800}, s9[] = {6000, 10800, 2400, 4800};
    const uint32_t s10[] = {6000, 12000, 2400, 4800};
    sack_ack(t, 1200, s3, 1, rtx, &nrtx);
    sack_ack(t, 1200, s4, 1, rtx, &nrtx);
    CHECK_EQ(nrtx, 0);
    sack_ack(t, 1200, s6, 2, rtx, &nrtx); /* 3rd duplicate: fast retransmit of the 2nd */
    CHECK_EQ(nrtx, 1);
    CHECK(F.c.sack.in_recovery);
    sack_ack(t, 1200, s7, 2, rtx, &nrtx);
    sack_ack(t, 1200, s8, 2, rtx, &nrtx);
    sack_ack(t, 1200, s9, 2, rtx, &nrtx);
    sack_ack(t, 1200, s10, 2, rtx, &nrtx);
    REQUIRE(nrtx == 2);
    CHECK_EQ(rtx[0], 1200);
    CHECK_EQ(rtx[1], 4800); /* the second loss, before any further round trip */
    /* The first retransmission arrives: a partial ACK. Nothing is left for rules 1-3 of
     * NextSeg, so rule 4 sends the one rescue retransmission of this recovery: the highest
     * unSACKed segment (RFC 6675 4). */
    const uint32_t s11[] = {6000, 12000};
    sack_ack(t + 100 * MS, 4800, s11, 1, rtx, &nrtx);
    CHECK(F.c.sack.in_recovery);
    REQUIRE(nrtx == 3);
    CHECK_EQ(rtx[2], 4800);
    sack_ack(t + 100 * MS, 4800, s11, 1, rtx, &nrtx); /* no second rescue */
    CHECK_EQ(nrtx, 3);
    /* The cumulative ACK ends recovery (RFC 6675 5 (A)). */
    sack_ack(t + 100 * MS, 12000, NULL, 0, rtx, &nrtx);
    CHECK(!F.c.sack.in_recovery);
    CHECK_EQ(nrtx, 3);
    CHECK_EQ(F.c.retransmits, 3);
    CHECK_EQ(F.c.fast_retransmits, 1);
    CHECK_EQ(F.c.sack_recoveries, 1);
    CHECK_EQ(F.c.backoff, 0); /* no timeout */
    CHECK_EQ(F.c.cc.ssthresh, 5400); /* RFC 6675 5 (4.2): FlightSize 10800 / 2 */
}

static void test_limited_transmit_and_newreno_windows(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(F.c.cc.cwnd, 12000); /* RFC 6928: min(10 * 1200, max(2 * 1200, 14600)) */
    CHECK_EQ(app_send(0, 14400), 14400);
    CHECK_EQ(F.nout, 10); /* the rest waits for cwnd */
    F.nout = 0;
    /* RFC 3042: the first and second duplicate ACKs each let one new segment out. */
    SEND(10 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 12001, .ack = F.irs + 1, .flags = A,
                                .len = 1200, .check_rtx = true, .rtx = false});
    SEND(11 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 13201, .ack = F.irs + 1, .flags = A | P,
                                .len = 1200, .check_rtx = true, .rtx = false});
    /* Third: fast retransmit; ssthresh = FlightSize / 2, cwnd = ssthresh + 3 SMSS
     * (RFC 5681 3.2 steps 2, 3). */
    SEND(12 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200,
                                .check_rtx = true, .rtx = true});
    CHECK_EQ(F.c.cc.ssthresh, 7200);
    CHECK_EQ(F.c.cc.cwnd, 10800);
    SEND(13 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(F.c.cc.cwnd, 12000); /* step 4: inflated by one SMSS per duplicate */
    /* The full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 3.2 6). */
    SEND(20 * MS, .seq = F.irs + 1, .ack = F.iss + 14401, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK(!F.c.sack.in_recovery);
    CHECK_EQ(F.c.cc.cwnd, 2400);
    /* Congestion avoidance from here (cwnd < ssthresh: slow start first). */
    CHECK_EQ(app_send(30 * MS, 2400), 2400);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 14401, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 15601, .ack = F.irs + 1, .flags = A | P, .len = 1200});
    SEND(40 * MS, .seq = F.irs + 1, .ack = F.iss + 16801, .flags = A);
    CHECK_EQ(F.c.cc.cwnd, 4800); /* slow start: + min(2400, 2 SMSS) (RFC 3465) */
}

static void test_slow_start_rto_and_lost_syn_windows(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(app_send(0, 2400), 2400);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A | P, .len = 1200});
    SEND(100 * MS, .seq = F.irs + 1, .ack = F.iss + 1201, .flags = A);
    CHECK_EQ(F.c.cc.cwnd, 13200); /* RFC 5681 3.1 slow start: + SMSS */
    /* RFC 5681 3.1 eq. 4: a timeout: ssthresh = max(FlightSize / 2, 2 SMSS), cwnd = 1 SMSS. */
    tcp_timer(&F.c, tcp_deadline(&F.c));
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A | P,
                                .len = 1200, .check_rtx = true, .rtx = true});
    CHECK_EQ(F.c.cc.ssthresh, 2400);
    CHECK_EQ(F.c.cc.cwnd, 1200);
    /* A lost SYN: the initial window is one segment (RFC 5681 3.1). */
    fixture_reset();
    conn_syn_sent();
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_SYN_SENT, {.seq = F.iss, .flags = S});
    SEND(1100 * MS, .seq = F.irs, .ack = F.iss + 1, .flags = S | A, .mss = PEER_MSS);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(F.c.cc.cwnd, 1200);
    CHECK_EQ(app_send(1100 * MS, 3000), 3000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200});
}

static void test_restart_after_idle(void)
{
    /* RFC 5681 4.1: after more than an RTO without sending, cwnd = min(IW, cwnd). */
    fixture_reset();
    conn_established();
    F.c.cc.cwnd = 50000;
    CHECK_EQ(app_send(0, 1200), 1200);
    SEND(10 * MS, .seq = F.irs + 1, .ack = F.iss + 1201, .flags = A);
    F.nout = 0;
    CHECK_EQ(app_send(500 * MS, 1200), 1200); /* idle 0.5 s < RTO 1 s: kept */
    CHECK(F.c.cc.cwnd >= 50000);
    SEND(510 * MS, .seq = F.irs + 1, .ack = F.iss + 2401, .flags = A);
    F.nout = 0;
    CHECK_EQ(app_send(3 * SEC, 14400), 14400); /* idle 2.5 s > RTO: restart window */
    CHECK_EQ(F.c.cc.cwnd, 12000);
    CHECK_EQ(F.nout, 10);
    F.nout = 0;
}

static void test_nagle(void)
{
    /* RFC 9293 3.7.4: with unacknowledged data, small segments wait for the ACK (or a full
     * segment); SYNACK_OPT_NODELAY (c->nodelay) turns that off. */
    fixture_reset();
    F.cfg.nodelay = false;
    conn_established();
    CHECK(!F.c.nodelay);
    CHECK_EQ(app_send(0, 100), 100);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A | P, .len = 100});
    CHECK_EQ(app_send(1 * MS, 100), 100);
    CHECK_EQ(app_send(2 * MS, 100), 100);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    SEND(10 * MS, .seq = F.irs + 1, .ack = F.iss + 101, .flags = A);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 101, .ack = F.irs + 1, .flags = A | P, .len = 200});
    /* A full segment goes even with data outstanding. */
    CHECK_EQ(app_send(11 * MS, 1300), 1300);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 301, .ack = F.irs + 1, .flags = A, .len = 1200});
    /* Nagle off: the rest goes at once. */
    F.c.nodelay = true;
    CHECK_EQ(app_send(12 * MS, 10), 10);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1501, .ack = F.irs + 1, .flags = A | P, .len = 110});
}

static void test_sender_sws_and_override(void)
{
    /* RFC 9293 3.8.6.2.1: a window of 500 bytes, below SMSS and below half of the largest
     * window offered (65535): the data waits; the persist timer's override sends it. */
    fixture_reset();
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .wnd = 500);
    CHECK_EQ(app_send(0, 3000), 3000);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(tcp_deadline(&F.c), 1 * SEC);
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 500});
    CHECK(!F.c.persist); /* data in flight: the retransmission timer runs */
    CHECK_EQ(F.c.rtx_deadline, 2 * SEC);
    /* A large enough window lets full segments go. */
    SEND(1100 * MS, .seq = F.irs + 1, .ack = F.iss + 501, .flags = A, .wnd = 30000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 501, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 1701, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 2901, .ack = F.irs + 1, .flags = A | P, .len = 100});
}

static void test_receiver_sws_avoidance(void)
{
    /* RFC 9293 3.8.6.2.2: the right edge moves only in steps of min(buffer / 2, MSS). */
    fixture_reset();
    F.rcvcap = 2000;
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 1200);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1201, .flags = A,
                                .check_wnd = true, .wnd = 800});
    SEND(0, .seq = F.irs + 1201, .ack = F.iss + 1, .flags = A, .len = 800);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 2001, .flags = A,
                                .check_wnd = true, .wnd = 0});
    CHECK_EQ(app_recv(0, 999), 999);
    EXPECT_NONE(SYNACK_ESTABLISHED); /* 999 < min(1000, 1460) */
    CHECK_EQ(app_recv(0, 1), 1);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 2001, .flags = A,
                                .check_wnd = true, .wnd = 1000});
}

static void test_delayed_ack(void)
{
    fixture_reset();
    F.cfg.delack_us = 40 * MS;
    conn_established();
    /* One segment: the ACK waits 40 ms (RFC 9293 3.8.6.3). */
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 1200);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(tcp_deadline(&F.c), 40 * MS);
    tcp_timer(&F.c, 40 * MS);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1201, .flags = A});
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
    /* Two full-sized segments: ACKed at the second (RFC 5681 4.2). */
    SEND(50 * MS, .seq = F.irs + 1201, .ack = F.iss + 1, .flags = A, .len = 1200);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    SEND(51 * MS, .seq = F.irs + 2401, .ack = F.iss + 1, .flags = A, .len = 1200);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 3601, .flags = A});
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE);
    /* A pending delayed ACK rides on data we send. */
    SEND(60 * MS, .seq = F.irs + 3601, .ack = F.iss + 1, .flags = A, .len = 10);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(app_send(61 * MS, 5), 5);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 3611, .flags = A | P, .len = 5});
    CHECK_EQ(F.c.ack_deadline, TCP_NO_DEADLINE);
    /* Out of order, and a FIN: at once. */
    SEND(70 * MS, .seq = F.irs + 3621, .ack = F.iss + 6, .flags = A, .len = 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 6, .ack = F.irs + 3611, .flags = A});
    SEND(71 * MS, .seq = F.irs + 3611, .ack = F.iss + 6, .flags = A | FN, .len = 10);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 6, .ack = F.irs + 3631, .flags = A});
    SEND(72 * MS, .seq = F.irs + 3631, .ack = F.iss + 6, .flags = A | FN);
    EXPECT(SYNACK_CLOSE_WAIT, {.seq = F.iss + 6, .ack = F.irs + 3632, .flags = A});
    /* Never more than 500 ms, whatever is configured. */
    fixture_reset();
    F.cfg.delack_us = 2 * SEC;
    conn_established();
    SEND(0, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10);
    CHECK_EQ(tcp_deadline(&F.c), 500 * MS);
}

static void test_keepalive(void)
{
    fixture_reset();
    conn_established();
    CHECK_EQ(tcp_deadline(&F.c), TCP_NO_DEADLINE); /* off by default (RFC 9293 3.8.4) */
    fixture_reset();
    F.cfg.keepalive = true;
    F.cfg.keepalive_idle_us = 10 * SEC;
    F.cfg.keepalive_intvl_us = 1 * SEC;
    F.cfg.keepalive_probes = 3;
    conn_established();
    CHECK_EQ(tcp_deadline(&F.c), 10 * SEC);
    tcp_timer(&F.c, 10 * SEC);
    /* <SEQ=SND.NXT-1><ACK=RCV.NXT>: the peer must answer it. */
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss, .ack = F.irs + 1, .flags = A, .len = 0});
    CHECK_EQ(tcp_deadline(&F.c), 11 * SEC);
    SEND(10100 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    CHECK_EQ(tcp_deadline(&F.c), 20100 * MS); /* answered: idle time again */
    for (int i = 0; i < 3; i++) {
        uint64_t t = tcp_deadline(&F.c);
        CHECK_EQ(t, 20100 * MS + (uint64_t)i * SEC);
        tcp_timer(&F.c, t);
        EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss, .ack = F.irs + 1, .flags = A});
    }
    /* Three probes unanswered: the peer is dead. */
    tcp_timer(&F.c, tcp_deadline(&F.c));
    EXPECT(SYNACK_CLOSED, {.seq = F.iss + 1, .flags = R});
    CHECK_EQ(F.c.error, SYNACK_ETIMEDOUT);
}

static void test_congestion_control_selectable(void)
{
    fixture_reset();
    conn_established();
    CHECK(F.c.cc.ops == &cc_newreno_ops);
    fixture_reset();
    F.cfg.congestion = SYNACK_CC_CUBIC;
    conn_established();
    CHECK(F.c.cc.ops == &cc_cubic_ops);
    CHECK_EQ(F.c.cc.cwnd, 12000);
}

static void test_rtt_sample_every_rtt(void)
{
    /* RFC 6298 3 / RFC 7323 4: without timestamps one segment per RTT is timed; with them
     * every ACK of new data gives a sample. */
    fixture_reset();
    conn_established_opts(0, false, true);
    CHECK_EQ(F.c.srtt_us, 0); /* the handshake's ACK echoed the SYN-ACK's TSval at once */
    CHECK_EQ(app_send(0, 2400), 2400);
    F.nout = 0;
    SEND(100 * MS, .seq = F.irs + 1, .ack = F.iss + 1201, .flags = A, .ts = true,
         .tsval = 102, .tsecr = F.iss);
    CHECK_EQ(F.c.srtt_us, 100 * MS / 8); /* RFC 6298 2.3 with R' = 100 ms */
    SEND(300 * MS, .seq = F.irs + 1, .ack = F.iss + 2401, .flags = A, .ts = true,
         .tsval = 103, .tsecr = F.iss);
    CHECK_EQ(F.c.srtt_us, (7 * (100 * MS / 8) + 300 * MS) / 8); /* a second sample in the
                                                                     same flight */
}

/* ==== Main ================================================================================= */

/* Every captured segment of the last EXPECT: payload + TCP options <= the peer's MSS. */
static void check_segments_fit_mss(void)
{
    for (int i = 0; i < F.nprev; i++)
        CHECK(F.prev[i].len + wire_tcp_opts_len(&F.prev[i].opts) <= PEER_MSS);
}

static void test_data_and_options_fit_the_mss(void)
{
    /* RFC 9293 3.7.1, RFC 6691: the MSS counts data only, so the options a segment carries
     * come off it; otherwise the packets exceed the peer's MTU. With timestamps, every
     * segment carries 12 option bytes. */
    fixture_reset();
    conn_established_opts(0, true, true);
    CHECK_EQ(app_send(0, 3000), 3000);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = PEER_MSS - 12},
           {.seq = F.iss + 1 + (PEER_MSS - 12), .ack = F.irs + 1, .flags = A,
            .len = PEER_MSS - 12},
           {.seq = F.iss + 1 + 2 * (PEER_MSS - 12), .ack = F.irs + 1, .flags = A | P,
            .len = 3000 - 2 * (PEER_MSS - 12)});
    check_segments_fit_mss();
    SEND(10 * MS, .seq = F.irs + 1, .ack = F.iss + 3001, .flags = A, .ts = true, .tsval = 102,
         .tsecr = F.iss);
    EXPECT_NONE(SYNACK_ESTABLISHED);
    /* Out-of-order data held: our segments carry a SACK block too (4 + 8 bytes more). */
    SEND(20 * MS, .seq = F.irs + 101, .ack = F.iss + 3001, .flags = A, .len = 10, .ts = true,
         .tsval = 103, .tsecr = F.iss);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 3001, .ack = F.irs + 1, .flags = A});
    CHECK_SACK(0, "100-110");
    CHECK_EQ(app_send(20 * MS, 2000), 2000);
    EXPECT(SYNACK_ESTABLISHED,
           {.seq = F.iss + 3001, .ack = F.irs + 1, .flags = A, .len = PEER_MSS - 24},
           {.seq = F.iss + 3001 + (PEER_MSS - 24), .ack = F.irs + 1, .flags = A | P,
            .len = 2000 - (PEER_MSS - 24)});
    CHECK_SACK(0, "100-110");
    check_segments_fit_mss();
}

static void test_pure_ack_after_go_back_carries_snd_max(void)
{
    /* After an RTO, go-back retransmission rewinds snd_nxt to SND.UNA; the peer may hold
     * everything up to snd_max. A pure ACK must carry RFC 9293's SND.NXT (snd_max), or the
     * peer's first check (3.10.7.4) drops it unread: with data flowing both ways, neither
     * side would then learn the other's ACKs (found by the simulation grid). */
    fixture_reset();
    conn_established();
    CHECK_EQ(app_send(0, 3000), 3000);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 1201, .ack = F.irs + 1, .flags = A, .len = 1200},
           {.seq = F.iss + 2401, .ack = F.irs + 1, .flags = A | P, .len = 600});
    tcp_timer(&F.c, 1 * SEC);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A, .len = 1200});
    CHECK_EQ(SEND(1100 * MS, .seq = F.irs + 1, .ack = F.iss + 1, .flags = A, .len = 10), 0);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 3001, .ack = F.irs + 11, .flags = A});
}

static void test_unacceptable_pure_acks_answered_at_most_every_500ms(void)
{
    /* RFC 9293 3.10.7.4 first check: an unacceptable segment gets an ACK. For segments with
     * no data, SYN or FIN the answers are limited to one per 500 ms (RFC 5961 10, as Linux),
     * so two sides that each find the other's ACKs unacceptable cannot start an ACK war;
     * data (a zero-window probe) is answered every time. */
    fixture_reset();
    conn_established();
    uint32_t old = F.irs + 1 - 100; /* before RCV.NXT: unacceptable */
    CHECK_EQ(SEND(10 * MS, .seq = old, .ack = F.iss + 1, .flags = A),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
    CHECK_EQ(SEND(20 * MS, .seq = old, .ack = F.iss + 1, .flags = A),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT_NONE(SYNACK_ESTABLISHED); /* 10 ms later: not answered */
    CHECK_EQ(SEND(30 * MS, .seq = old, .ack = F.iss + 1, .flags = A, .len = 5),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A}); /* data */
    CHECK_EQ(SEND(509 * MS, .seq = old, .ack = F.iss + 1, .flags = A),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT_NONE(SYNACK_ESTABLISHED); /* 499 ms after the last answer */
    CHECK_EQ(SEND(510 * MS, .seq = old, .ack = F.iss + 1, .flags = A),
             SYNACK_DROP_SEQ_UNACCEPTABLE);
    EXPECT(SYNACK_ESTABLISHED, {.seq = F.iss + 1, .ack = F.irs + 1, .flags = A});
}

int main(void)
{
    RUN(test_listen_syn_answered_with_syn_ack);
    RUN(test_listen_syn_mss_rules);
    RUN(test_listen_rst_ignored);
    RUN(test_listen_ack_gets_rst);
    RUN(test_listen_other_segment_dropped);
    RUN(test_open_active_sends_syn);
    RUN(test_syn_sent_syn_ack_establishes);
    RUN(test_syn_sent_unacceptable_ack_gets_rst);
    RUN(test_syn_sent_rst_with_acceptable_ack_refused);
    RUN(test_syn_sent_rst_without_ack_ignored);
    RUN(test_syn_sent_segment_without_syn_or_rst_dropped);
    RUN(test_syn_sent_syn_ack_with_data);
    RUN(test_syn_sent_syn_ack_with_data_and_fin);
    RUN(test_syn_sent_queued_data_rides_on_handshake_ack);
    RUN(test_simultaneous_open);
    RUN(test_simultaneous_open_rst_refused);
    RUN(test_simultaneous_open_syn_with_data_held);
    RUN(test_syn_retransmitted_with_backoff);
    RUN(test_syn_received_ack_establishes);
    RUN(test_syn_received_unacceptable_ack_gets_rst);
    RUN(test_syn_received_rst_passive_returns_to_listen);
    RUN(test_syn_received_rst_in_window_challenged);
    RUN(test_syn_received_data_on_third_segment);
    RUN(test_syn_with_data_held_until_established);
    RUN(test_syn_with_data_then_bare_ack);
    RUN(test_syn_with_fin);
    RUN(test_syn_received_duplicate_syn_gets_syn_ack);
    RUN(test_syn_received_other_syn_passive_returns_to_listen);
    RUN(test_syn_received_segment_without_ack_dropped);
    RUN(test_syn_ack_retransmitted);
    RUN(test_syn_received_close_sends_fin_after_handshake);
    RUN(test_established_data_in_order_acked);
    RUN(test_established_out_of_order_held_and_acked);
    RUN(test_established_duplicate_data_acked);
    RUN(test_established_partial_duplicate_trimmed);
    RUN(test_established_segment_beyond_window_trimmed);
    RUN(test_established_unacceptable_segment_acked);
    RUN(test_established_segment_without_ack_dropped);
    RUN(test_established_ack_of_unsent_data);
    RUN(test_established_send_segments_by_mss);
    RUN(test_established_send_respects_window);
    RUN(test_established_window_update_rules);
    RUN(test_window_taken_from_ack_of_new_data_with_older_seq);
    RUN(test_pure_ack_at_right_window_edge_accepted);
    RUN(test_established_old_ack_unacceptable);
    RUN(test_established_duplicate_acks_fast_retransmit);
    RUN(test_established_rst_exact_resets);
    RUN(test_established_rst_in_window_challenged);
    RUN(test_established_rst_out_of_window_ignored);
    RUN(test_established_syn_challenged);
    RUN(test_established_close_sends_fin);
    RUN(test_close_fin_rides_on_last_data);
    RUN(test_fin_wait_1_fin_without_ack_of_ours_closing);
    RUN(test_fin_wait_1_fin_with_ack_of_ours_time_wait);
    RUN(test_fin_wait_1_data_accepted);
    RUN(test_fin_wait_1_fin_retransmitted);
    RUN(test_fin_wait_2_fin_time_wait);
    RUN(test_fin_wait_2_data_accepted);
    RUN(test_fin_wait_2_rst_resets);
    RUN(test_close_wait_half_close);
    RUN(test_close_wait_segment_text_ignored);
    RUN(test_closing_ack_of_fin_time_wait);
    RUN(test_closing_rst_closes_without_error);
    RUN(test_last_ack_ack_of_fin_closes);
    RUN(test_last_ack_fin_retransmitted);
    RUN(test_last_ack_rst_closes_without_error);
    RUN(test_time_wait_lasts_two_msl);
    RUN(test_time_wait_fin_again_restarts_timer);
    RUN(test_time_wait_syn_reopen_or_challenge);
    RUN(test_time_wait_rst_closes_without_error);
    RUN(test_table_rst_exact);
    RUN(test_table_rst_in_window_challenged);
    RUN(test_table_syn_in_window);
    RUN(test_table_unacceptable_segment_acked);
    RUN(test_table_ack_of_unsent_data);
    RUN(test_table_segment_without_ack_dropped);
    RUN(test_fin_again_acked_in_closing_states);
    RUN(test_syn_received_third_segment_with_fin);
    RUN(test_fin_wait_1_data_and_fin_without_ack_of_ours);
    RUN(test_active_close_full_sequence);
    RUN(test_simultaneous_close_sequence);
    RUN(test_rst_overlapping_rcv_nxt_ignored);
    RUN(test_syn_fin_held_then_close_in_syn_received);
    RUN(test_readiness);
    RUN(test_rto_from_samples);
    RUN(test_rto_floor_and_granularity);
    RUN(test_rto_backoff_capped_then_user_timeout);
    RUN(test_rto_backoff_ends_on_new_ack);
    RUN(test_karn_no_sample_from_retransmission);
    RUN(test_user_timeout_in_syn_sent);
    RUN(test_user_timeout_per_connection);
    RUN(test_go_back_retransmission);
    RUN(test_zero_window_probe);
    RUN(test_zero_window_probe_accepted);
    RUN(test_zero_window_dead_peer_times_out);
    RUN(test_receive_buffer_of_one_byte);
    RUN(test_send_buffer_of_one_byte);
    RUN(test_receive_window_updates);
    RUN(test_window_edge_never_moves_left);
    RUN(test_wrap_around_near_top);
    RUN(test_wrap_around_at_edges);
    RUN(test_wrap_around_active_open);
    RUN(test_abort_in_synchronized_states_sends_rst);
    RUN(test_abort_in_other_states_silent);
    RUN(test_abort_keeps_first_error);
    RUN(test_close_before_handshake);
    RUN(test_close_in_syn_sent_with_data_is_deferred);
    RUN(test_close_in_syn_sent_with_data_simultaneous_open);
    RUN(test_data_and_options_fit_the_mss);
    RUN(test_pure_ack_after_go_back_carries_snd_max);
    RUN(test_unacceptable_pure_acks_answered_at_most_every_500ms);
    RUN(test_user_calls_in_wrong_states);
    RUN(test_shutdown_read_discards);
    RUN(test_fin_out_of_order_not_processed);
    RUN(test_reset_for);
    RUN(test_status);
    RUN(test_pair_transfer_clean);
    RUN(test_pair_transfer_large_buffers);
    RUN(test_pair_transfer_lossy);
    RUN(test_pair_transfer_with_options);
    RUN(test_options_offered_and_negotiated_active);
    RUN(test_options_answered_only_when_offered);
    RUN(test_wscale_choice_and_receive_window);
    RUN(test_timestamps_echo_and_ts_recent);
    RUN(test_paws);
    RUN(test_reassembly_sack_blocks_and_fin);
    RUN(test_reassembly_bounded);
    RUN(test_sack_recovery_two_losses_one_rtt);
    RUN(test_limited_transmit_and_newreno_windows);
    RUN(test_slow_start_rto_and_lost_syn_windows);
    RUN(test_restart_after_idle);
    RUN(test_nagle);
    RUN(test_sender_sws_and_override);
    RUN(test_receiver_sws_avoidance);
    RUN(test_delayed_ack);
    RUN(test_keepalive);
    RUN(test_congestion_control_selectable);
    RUN(test_rtt_sample_every_rtt);
    RUN(test_reopen_after_error);
    return check_summary();
}
