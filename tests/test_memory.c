/*
 * test_memory.c: what connections cost in memory. A buffer gets memory only while it holds
 * bytes: the engine announces the window of the configured receive buffer without storage,
 * refuses data it has nowhere to put (a drop, never a crash) and takes it once storage is
 * attached; two thousand idle connections over memnet hold no buffer memory, buffers appear
 * when data flows and go away when it has been acknowledged and read, and every counter is
 * back to zero at the end.
 */
#include <stdlib.h>

#include "check.h"
#include "link/memnet.h"
#include "synack.h"
#include "tcp/tcp.h"

#define IP_A 0x0a000001u /* client */
#define IP_B 0x0a000002u /* server */
#define SEC 1000000ull   /* microseconds */

/* ---- The engine without buffer storage ---------------------------------------------------- */

struct eng {
    struct tcp_conn c;
    struct tcp_hooks hooks;
    struct synack_config cfg;
    int nout;
    struct wire_tcp_out last; /* the last segment sent (its data pointers are stale) */
};

static void eng_output(void *arg, struct tcp_conn *c, struct wire_tcp_out *seg, bool rtx)
{
    (void)c;
    (void)rtx;
    struct eng *e = arg;
    e->nout++;
    e->last = *seg;
}

static void eng_state(void *arg, struct tcp_conn *c, int old_state, int new_state,
                      uint64_t now_us)
{
    (void)arg;
    (void)c;
    (void)old_state;
    (void)new_state;
    (void)now_us;
}

static struct wire_tcp peer_seg(uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *data,
                                uint32_t len)
{
    struct wire_tcp s;
    memset(&s, 0, sizeof s);
    s.sport = 1000;
    s.dport = 80;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.hdr_len = 20;
    s.wnd = 65535;
    s.payload = data;
    s.payload_len = len;
    if (flags & SYNACK_SYN) {
        s.opts.present = WIRE_OPT_MSS;
        s.opts.mss = 1460;
    }
    return s;
}

static void test_engine_needs_storage_only_for_bytes(void)
{
    static struct eng e;
    memset(&e, 0, sizeof e);
    synack_config_default(&e.cfg);
    e.cfg.ip = IP_B;
    e.cfg.window_scaling = e.cfg.timestamps = e.cfg.sack = false;
    e.cfg.delack_us = 0;
    e.hooks = (struct tcp_hooks){.arg = &e, .output = eng_output, .state_change = eng_state};
    const uint32_t rcvcap = 8192, sndcap = 4096, iss = 100, irs = 5000;
    tcp_init(&e.c, &e.hooks, &e.cfg, NULL, sndcap, NULL, rcvcap);
    CHECK_EQ(tcp_buf_missing(&e.c, TCP_BUF_SND), sndcap);
    CHECK_EQ(tcp_buf_missing(&e.c, TCP_BUF_RCV), rcvcap);
    CHECK(!tcp_buf_idle(&e.c, TCP_BUF_RCV));

    /* Opening needs no storage; the SYN-ACK offers the configured receive buffer
     * (RFC 9293 3.8.6). */
    REQUIRE(tcp_open_passive(&e.c, iss, 0) == 0);
    struct wire_tcp syn = peer_seg(irs, 0, SYNACK_SYN, NULL, 0);
    CHECK_EQ(tcp_input(&e.c, &syn, 0), 0);
    REQUIRE(e.nout == 1);
    CHECK_EQ(e.last.flags, SYNACK_SYN | SYNACK_ACK);
    CHECK_EQ(e.last.wnd, rcvcap);
    struct wire_tcp ack = peer_seg(irs + 1, iss + 1, SYNACK_ACK, NULL, 0);
    CHECK_EQ(tcp_input(&e.c, &ack, 10), 0);
    struct synack_status st;
    tcp_status(&e.c, &st);
    REQUIRE(st.state == SYNACK_ESTABLISHED);

    /* Data with nowhere to go is dropped whole: not acknowledged, RCV.NXT unchanged. */
    uint8_t data[100];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    struct wire_tcp d = peer_seg(irs + 1, iss + 1, SYNACK_ACK, data, sizeof data);
    int nout = e.nout;
    CHECK_EQ(tcp_input(&e.c, &d, 20), SYNACK_DROP_NO_MEMORY);
    CHECK_EQ(e.nout, nout);
    tcp_status(&e.c, &st);
    CHECK_EQ(st.rcv_nxt, irs + 1);
    CHECK_EQ(st.recv_queued, 0);
    CHECK_EQ(tcp_send(&e.c, data, sizeof data, 20), SYNACK_ENOMEM);

    /* With storage the same segment is taken and the window shrinks by what it holds. */
    static uint8_t rcvmem[8192], sndmem[4096];
    tcp_buf_attach(&e.c, TCP_BUF_RCV, rcvmem);
    CHECK_EQ(tcp_buf_missing(&e.c, TCP_BUF_RCV), 0);
    CHECK_EQ(tcp_input(&e.c, &d, 30), 0);
    REQUIRE(e.nout == nout + 1);
    CHECK_EQ(e.last.ack, irs + 1 + sizeof data);
    CHECK_EQ(e.last.wnd, rcvcap - sizeof data);
    CHECK(!tcp_buf_idle(&e.c, TCP_BUF_RCV));
    uint8_t got[200];
    CHECK_EQ(tcp_recv(&e.c, got, sizeof got, 40), (int)sizeof data);
    CHECK(memcmp(got, data, sizeof data) == 0);
    CHECK(tcp_buf_idle(&e.c, TCP_BUF_RCV));
    uint32_t size = 0;
    CHECK(tcp_buf_detach(&e.c, TCP_BUF_RCV, &size) == rcvmem);
    CHECK_EQ(size, rcvcap);
    CHECK_EQ(tcp_buf_missing(&e.c, TCP_BUF_RCV), rcvcap);

    /* The send buffer holds bytes until they are acknowledged. */
    tcp_buf_attach(&e.c, TCP_BUF_SND, sndmem);
    CHECK_EQ(tcp_send(&e.c, data, sizeof data, 50), (int)sizeof data);
    CHECK(!tcp_buf_idle(&e.c, TCP_BUF_SND));
    struct wire_tcp acked =
        peer_seg(irs + 1 + sizeof data, iss + 1 + sizeof data, SYNACK_ACK, NULL, 0);
    CHECK_EQ(tcp_input(&e.c, &acked, 60), 0);
    CHECK(tcp_buf_idle(&e.c, TCP_BUF_SND));
    CHECK(tcp_buf_detach(&e.c, TCP_BUF_SND, &size) == sndmem);
    CHECK_EQ(size, sndcap);
}

/* ---- Compact TIME-WAIT: a record behaves as the TCB it was saved from --------------------- */

#define TW_MAX_OUT 8

struct tw_side {
    struct tcp_conn c;
    struct tcp_hooks hooks;
    int nout, nstates;
    struct wire_tcp_out out[TW_MAX_OUT]; /* data pointers are stale: compare fields only */
    int states[TW_MAX_OUT];
};

static void tw_output(void *arg, struct tcp_conn *c, struct wire_tcp_out *seg, bool rtx)
{
    (void)c;
    (void)rtx;
    struct tw_side *t = arg;
    if (t->nout < TW_MAX_OUT)
        t->out[t->nout] = *seg;
    t->nout++;
}

static void tw_state(void *arg, struct tcp_conn *c, int old_state, int new_state,
                     uint64_t now_us)
{
    (void)c;
    (void)old_state;
    (void)now_us;
    struct tw_side *t = arg;
    if (t->nstates < TW_MAX_OUT)
        t->states[t->nstates] = new_state;
    t->nstates++;
}

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void side_init(struct tw_side *t)
{
    memset(t, 0, sizeof *t);
    t->hooks = (struct tcp_hooks){.arg = t, .output = tw_output, .state_change = tw_state};
}

/* Active open and close of a.c with random options, up to TIME-WAIT. */
static bool drive_to_time_wait(struct tw_side *a, const struct synack_config *cfg, uint32_t *x,
                               uint64_t *now)
{
    uint32_t iss = rnd(x), irs = rnd(x);
    tcp_init(&a->c, &a->hooks, cfg, NULL, 4096, NULL, 1024u << (rnd(x) % 12));
    if (tcp_open_active(&a->c, iss, *now) != 0 || a->nout != 1)
        return false;
    uint32_t our_ts = a->out[0].opts.ts_val, peer_ts = rnd(x);
    struct wire_tcp sa = peer_seg(irs, iss + 1, SYNACK_SYN | SYNACK_ACK, NULL, 0);
    sa.wnd = (uint16_t)rnd(x);
    if (rnd(x) % 2) {
        sa.opts.present |= WIRE_OPT_WSCALE;
        sa.opts.wscale = (uint8_t)(rnd(x) % 15);
    }
    if (rnd(x) % 2)
        sa.opts.present |= WIRE_OPT_SACK_PERM;
    if (rnd(x) % 4) {
        sa.opts.present |= WIRE_OPT_TS;
        sa.opts.ts_val = peer_ts;
        sa.opts.ts_ecr = our_ts;
    }
    *now += 1000 + rnd(x) % 100000;
    if (tcp_input(&a->c, &sa, *now) != 0)
        return false;
    if (rnd(x) % 2) {
        /* An out-of-window bare ACK: answered, and the answer time recorded (the RFC 5961
         * rate limit); then an idle time from a moment to far longer than 2 x MSL. */
        struct wire_tcp old = peer_seg(irs + 1 - 100000, iss + 1, SYNACK_ACK, NULL, 0);
        old.opts = sa.opts;
        old.opts.present &= WIRE_OPT_TS;
        old.opts.ts_val = peer_ts + 5;
        tcp_input(&a->c, &old, *now);
        static const uint64_t idle[] = {1000, 400000, 3 * SEC, 3600 * SEC};
        *now += idle[rnd(x) % 4];
    }
    *now += rnd(x) % 100000;
    if (tcp_close(&a->c, *now) != 0)
        return false;
    struct wire_tcp fin = peer_seg(irs + 1, iss + 2, SYNACK_FIN | SYNACK_ACK, NULL, 0);
    fin.wnd = (uint16_t)rnd(x);
    fin.opts = sa.opts;
    fin.opts.present &= WIRE_OPT_TS;
    fin.opts.ts_val = peer_ts + 10;
    *now += 1000 + rnd(x) % 100000;
    if (tcp_input(&a->c, &fin, *now) != 0)
        return false;
    struct synack_status st;
    tcp_status(&a->c, &st);
    return st.state == SYNACK_TIME_WAIT;
}

/* A segment that TIME-WAIT might see: a retransmitted FIN, stray ACKs, RSTs and SYNs in
 * and around the window, with or without timestamps, data, window updates. */
static struct wire_tcp stray_segment(const struct tcp_conn *c, uint32_t *x)
{
    static const uint8_t bytes[4] = {1, 2, 3, 4};
    struct synack_status st;
    tcp_status(c, &st);
    static const uint8_t flag_sets[] = {
        SYNACK_FIN | SYNACK_ACK, SYNACK_ACK, SYNACK_ACK, SYNACK_RST, SYNACK_RST | SYNACK_ACK,
        SYNACK_SYN, SYNACK_SYN | SYNACK_ACK, SYNACK_FIN, 0,
    };
    uint8_t flags = flag_sets[rnd(x) % sizeof flag_sets];
    uint32_t seq = st.rcv_nxt + (rnd(x) % 9) - 5;
    if (rnd(x) % 8 == 0)
        seq = rnd(x);
    if (rnd(x) % 8 == 0)
        seq = st.rcv_nxt + st.rcv_wnd + (rnd(x) % 3) - 1;
    uint32_t ack = st.snd_nxt + (rnd(x) % 5) - 2;
    if (rnd(x) % 8 == 0)
        ack = rnd(x);
    uint32_t len = rnd(x) % 4 == 0 ? 1 + rnd(x) % 4 : 0;
    struct wire_tcp s = peer_seg(seq, ack, flags, len ? bytes : NULL, len);
    s.opts.present = 0;
    s.wnd = (uint16_t)(rnd(x) % 3 == 0 ? rnd(x) : 65535);
    if (st.timestamps && rnd(x) % 5) {
        s.opts.present |= WIRE_OPT_TS;
        s.opts.ts_val = c->ts_recent + (rnd(x) % 7) - 3;
        s.opts.ts_ecr = rnd(x);
    }
    return s;
}

static bool same_outputs(const struct tw_side *a, const struct tw_side *b)
{
    if (a->nout != b->nout || a->nstates != b->nstates)
        return false;
    for (int i = 0; i < a->nout && i < TW_MAX_OUT; i++) {
        const struct wire_tcp_out *p = &a->out[i], *q = &b->out[i];
        if (p->seq != q->seq || p->ack != q->ack || p->flags != q->flags || p->wnd != q->wnd ||
            p->data_len[0] + p->data_len[1] != q->data_len[0] + q->data_len[1] ||
            p->opts.present != q->opts.present ||
            ((p->opts.present & WIRE_OPT_TS) &&
             (p->opts.ts_val != q->opts.ts_val || p->opts.ts_ecr != q->opts.ts_ecr)))
            return false;
    }
    for (int i = 0; i < a->nstates && i < TW_MAX_OUT; i++)
        if (a->states[i] != b->states[i])
            return false;
    return true;
}

/* Runs one connection to TIME-WAIT, then feeds the same random segments (and timer calls)
 * to the full TCB and to a scratch TCB loaded from a record before every call and saved
 * after it, as the stack does. Returns false at the first difference. */
static bool tw_record_equivalent(uint32_t seed)
{
    static struct tw_side a, b;
    side_init(&a);
    side_init(&b);
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = IP_A;
    cfg.msl_us = 2 * SEC;
    uint32_t x = seed * 2654435761u + 1;
    uint64_t now = 1000;
    if (!drive_to_time_wait(&a, &cfg, &x, &now))
        return false;
    struct tcp_tw rec;
    if (!tcp_tw_save(&a.c, &rec))
        return false;
    for (int step = 0; step < 60; step++) {
        now += rnd(&x) % 3 == 0 ? rnd(&x) % (3 * SEC) : rnd(&x) % 600000;
        a.nout = b.nout = a.nstates = b.nstates = 0;
        tcp_tw_load(&b.c, &b.hooks, &cfg, &rec);
        if (tcp_deadline(&a.c) != tcp_deadline(&b.c))
            return false;
        int ra, rb;
        if (now >= tcp_deadline(&a.c) && rnd(&x) % 2) {
            tcp_timer(&a.c, now);
            tcp_timer(&b.c, now);
            ra = rb = 0;
        } else {
            struct wire_tcp seg = stray_segment(&a.c, &x);
            ra = tcp_input(&a.c, &seg, now);
            rb = tcp_input(&b.c, &seg, now);
        }
        if (ra != rb || !same_outputs(&a, &b))
            return false;
        struct synack_status sa, sb;
        tcp_status(&a.c, &sa);
        tcp_status(&b.c, &sb);
        if (sa.state != sb.state || sa.snd_nxt != sb.snd_nxt || sa.rcv_nxt != sb.rcv_nxt)
            return false;
        if (ra == TCP_INPUT_REOPEN || sa.state != SYNACK_TIME_WAIT)
            return true; /* the connection ended the same way in both */
        struct tcp_tw ta;
        if (!tcp_tw_save(&a.c, &ta) || !tcp_tw_save(&b.c, &rec) || memcmp(&ta, &rec, sizeof ta))
            return false;
    }
    return true;
}

static void test_time_wait_record_behaves_as_the_tcb(void)
{
    int differ = 0;
    for (uint32_t seed = 1; seed <= 2000; seed++) {
        if (!tw_record_equivalent(seed)) {
            if (differ++ < 5)
                fprintf(stderr, "compact TIME-WAIT differs from the TCB, seed %u\n", seed);
        }
    }
    CHECK_EQ(differ, 0);
}

/* ---- Many connections over memnet --------------------------------------------------------- */

#define NCONN 2000
#define NBUSY 200   /* connections that carry data */
#define MSG 3000    /* bytes each of them sends */

static void node_input(void *arg, const uint8_t *p, size_t n, uint64_t now_us)
{
    synack_stack_input(arg, p, n, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

struct world {
    struct memnet *net;
    struct synack_stack *a, *b;
    int lfd;
    int cfd[NCONN], sfd[NCONN];
    int accepted;
};

static bool without_timestamps; /* config_for: no timestamps option */

static struct synack_config config_for(uint32_t ip)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = ip;
    cfg.timestamps = !without_timestamps;
    cfg.sndbuf = 16384;
    cfg.rcvbuf = 32768;
    cfg.max_backlog = NCONN;
    for (int i = 0; i < 16; i++)
        cfg.isn_key[i] = (uint8_t)(i * 13 + (int)ip);
    return cfg;
}

static bool world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->net = memnet_new(7);
    int na = memnet_add_node(w->net, IP_A), nb = memnet_add_node(w->net, IP_B);
    struct synack_config ca = config_for(IP_A), cb = config_for(IP_B);
    struct synack_link la = memnet_link(w->net, na), lb = memnet_link(w->net, nb);
    w->a = synack_stack_new(&ca, &la);
    w->b = synack_stack_new(&cb, &lb);
    if (!w->net || !w->a || !w->b)
        return false;
    struct memnet_node_ops oa = {w->a, node_input, node_poll};
    struct memnet_node_ops ob = {w->b, node_input, node_poll};
    memnet_attach(w->net, na, &oa);
    memnet_attach(w->net, nb, &ob);
    struct memnet_path path = {.delay_us = 500};
    memnet_set_path(w->net, IP_A, IP_B, &path);
    memnet_set_path(w->net, IP_B, IP_A, &path);
    return true;
}

static void run_for(struct world *w, uint64_t us)
{
    memnet_run_until(w->net, memnet_now(w->net) + us);
}

static void accept_all(struct world *w)
{
    int fd;
    while (w->accepted < NCONN && (fd = synack_accept(w->b, w->lfd, NULL)) >= 0)
        w->sfd[w->accepted++] = fd;
}

static uint8_t msg_byte(int i, uint32_t k) { return (uint8_t)(i * 11 + k * 3 + (k >> 7)); }

/* Connection i's client sends MSG bytes; the server has them all, unread. */
static void send_busy(struct world *w)
{
    static uint8_t buf[MSG];
    for (int i = 0; i < NBUSY; i++) {
        for (uint32_t k = 0; k < MSG; k++)
            buf[k] = msg_byte(i, k);
        CHECK_EQ(synack_send(w->a, w->cfd[i], buf, MSG), MSG);
    }
}

/* The server reads connection i's bytes and checks them. */
static void read_busy(struct world *w)
{
    static uint8_t buf[MSG + 1];
    for (int i = 0; i < NBUSY; i++) {
        /* The server accepted in the order the handshakes completed, which is the order
         * of the connects on this perfect network: find the peer by its port anyway. */
        struct synack_addr cl, peer;
        synack_getsockname(w->a, w->cfd[i], &cl);
        int fd = -1;
        for (int j = 0; j < NCONN && fd < 0; j++)
            if (synack_getpeername(w->b, w->sfd[j], &peer) == 0 && peer.port == cl.port)
                fd = w->sfd[j];
        REQUIRE(fd >= 0);
        uint32_t got = 0;
        int r;
        while (got < MSG && (r = synack_recv(w->b, fd, buf + got, MSG + 1 - got)) > 0)
            got += (uint32_t)r;
        CHECK_EQ(got, MSG);
        for (uint32_t k = 0; k < got; k++)
            if (buf[k] != msg_byte(i, k)) {
                CHECK_EQ(buf[k], msg_byte(i, k));
                break;
            }
    }
}

static void test_idle_connections_hold_no_buffer_memory(void)
{
    static struct world w;
    REQUIRE(world_init(&w));
    w.lfd = synack_socket(w.b);
    struct synack_addr any = {0, 80};
    REQUIRE(synack_bind(w.b, w.lfd, &any) == 0);
    REQUIRE(synack_listen(w.b, w.lfd, NCONN) == 0);
    for (int i = 0; i < NCONN; i++) {
        w.cfd[i] = synack_socket(w.a);
        struct synack_addr peer = {IP_B, 80};
        REQUIRE(synack_connect(w.a, w.cfd[i], &peer) == SYNACK_EINPROGRESS);
    }
    run_for(&w, SEC);
    accept_all(&w);
    CHECK_EQ(w.accepted, NCONN);

    /* All established, none holding buffer memory, each offering its whole buffer. */
    struct synack_stats sa, sb;
    synack_stack_stats(w.a, &sa);
    synack_stack_stats(w.b, &sb);
    CHECK_EQ(sa.conn_established, NCONN);
    CHECK_EQ(sb.conn_established, NCONN);
    CHECK_EQ(sa.buffers_current, 0);
    CHECK_EQ(sb.buffers_current, 0);
    CHECK_EQ(sa.buffer_bytes, 0);
    CHECK_EQ(sb.buffer_bytes, 0);
    struct synack_status st;
    REQUIRE(synack_status(w.b, w.sfd[0], &st) == 0);
    CHECK_EQ(st.state, SYNACK_ESTABLISHED);
    CHECK_EQ(st.rcv_wnd, 32768);

    /* Sending gives the sender's buffers memory at once. */
    send_busy(&w);
    synack_stack_stats(w.a, &sa);
    CHECK_EQ(sa.buffers_current, NBUSY);
    CHECK_EQ(sa.buffer_bytes, (uint64_t)NBUSY * 16384);

    /* Delivered and acknowledged: the sender's memory is back, the receiver holds the
     * bytes until they are read. */
    run_for(&w, SEC);
    synack_stack_stats(w.a, &sa);
    synack_stack_stats(w.b, &sb);
    CHECK_EQ(sa.buffers_current, 0);
    CHECK_EQ(sb.buffers_current, NBUSY);
    CHECK_EQ(sb.buffer_bytes, (uint64_t)NBUSY * 32768);
    read_busy(&w);
    synack_stack_stats(w.b, &sb);
    CHECK_EQ(sb.buffers_current, 0);
    CHECK_EQ(sb.buffer_bytes, 0);
    CHECK_EQ(sa.retransmits + sb.retransmits, 0);

    /* Close everything; after 2 x MSL no connection, descriptor or buffer is left. */
    for (int i = 0; i < NCONN; i++)
        CHECK_EQ(synack_close(w.a, w.cfd[i]), 0);
    run_for(&w, SEC);
    for (int i = 0; i < w.accepted; i++)
        CHECK_EQ(synack_close(w.b, w.sfd[i]), 0);
    CHECK_EQ(synack_close(w.b, w.lfd), 0);
    run_for(&w, SEC);
    synack_stack_stats(w.a, &sa);
    CHECK_EQ(sa.time_wait_current, NCONN);
    struct synack_config ca = config_for(IP_A);
    run_for(&w, 2 * ca.msl_us + SEC);
    synack_stack_stats(w.a, &sa);
    synack_stack_stats(w.b, &sb);
    CHECK_EQ(sa.conn_current + sb.conn_current, 0);
    CHECK_EQ(sa.time_wait_current + sb.time_wait_current, 0);
    CHECK_EQ(sa.sockets_current + sb.sockets_current, 0);
    CHECK_EQ(sa.buffers_current + sb.buffers_current, 0);
    CHECK_EQ(sa.buffer_bytes + sb.buffer_bytes, 0);
    CHECK_EQ(synack_stack_next_deadline(w.a), UINT64_MAX);
    CHECK_EQ(synack_stack_next_deadline(w.b), UINT64_MAX);
    synack_stack_free(w.a);
    synack_stack_free(w.b);
    memnet_free(w.net);
}

/* ---- A record whose times drift out of range becomes a TCB again ------------------------- */

static bool client_frozen; /* the client's timers are not run (its poll is late) */

static uint64_t frozen_poll(void *arg, uint64_t now_us)
{
    return client_frozen ? UINT64_MAX : synack_stack_poll(arg, now_us);
}

static void test_time_wait_record_outliving_its_offsets(void)
{
    static struct world w;
    without_timestamps = true; /* so that the stray segment below needs no TSopt */
    bool ok = world_init(&w);
    without_timestamps = false;
    REQUIRE(ok);
    struct memnet_node_ops oa = {w.a, node_input, frozen_poll};
    memnet_attach(w.net, 0, &oa);
    client_frozen = false;
    w.lfd = synack_socket(w.b);
    struct synack_addr any = {0, 80}, peer = {IP_B, 80}, me;
    REQUIRE(synack_bind(w.b, w.lfd, &any) == 0 && synack_listen(w.b, w.lfd, 4) == 0);
    int cfd = synack_socket(w.a);
    REQUIRE(synack_connect(w.a, cfd, &peer) == SYNACK_EINPROGRESS);
    run_for(&w, SEC);
    int sfd = synack_accept(w.b, w.lfd, NULL);
    REQUIRE(sfd >= 0);
    synack_getsockname(w.a, cfd, &me);
    struct synack_status st;
    REQUIRE(synack_status(w.a, cfd, &st) == 0);
    uint32_t client_nxt = st.snd_nxt + 1; /* past its FIN */
    uint32_t server_nxt = st.rcv_nxt + 1; /* past the server's FIN */

    /* The client closes first and, its descriptor gone, waits in TIME-WAIT as a record. */
    CHECK_EQ(synack_close(w.a, cfd), 0);
    run_for(&w, SEC);
    CHECK_EQ(synack_close(w.b, sfd), 0);
    run_for(&w, SEC);
    struct synack_stats sa;
    synack_stack_stats(w.a, &sa);
    CHECK_EQ(sa.time_wait_current, 1);
    CHECK_EQ(sa.conn_current, 1);

    /* Its timers are not run: 40 minutes after the deadline an out-of-window ACK arrives.
     * It is answered (RFC 9293 3.10.7.4 first) and TIME-WAIT goes on, as a full TCB. */
    client_frozen = true;
    struct synack_config ca = config_for(IP_A);
    run_for(&w, 2 * ca.msl_us + 2400 * SEC);
    uint64_t out_before = sa.seg_out;
    struct wire_tcp_out seg = {0};
    seg.src = IP_B;
    seg.dst = IP_A;
    seg.sport = 80;
    seg.dport = me.port;
    seg.seq = server_nxt + 1000000;
    seg.ack = client_nxt;
    seg.flags = SYNACK_ACK;
    seg.wnd = 1000;
    seg.ttl = 64;
    uint8_t pkt[128];
    size_t n = wire_emit(pkt, sizeof pkt, &seg);
    REQUIRE(n > 0);
    synack_stack_input(w.a, pkt, n, memnet_now(w.net));
    synack_stack_stats(w.a, &sa);
    CHECK_EQ(sa.seg_out, out_before + 1);
    CHECK_EQ(sa.drops[SYNACK_DROP_SEQ_UNACCEPTABLE], 1);
    CHECK_EQ(sa.time_wait_current, 1);
    CHECK_EQ(sa.conn_current, 1);

    /* When its timers run again it ends, and nothing is left. */
    client_frozen = false;
    synack_stack_poll(w.a, memnet_now(w.net));
    synack_stack_stats(w.a, &sa);
    CHECK_EQ(sa.time_wait_current, 0);
    CHECK_EQ(sa.conn_current, 0);
    CHECK_EQ(synack_stack_next_deadline(w.a), UINT64_MAX);
    synack_stack_free(w.a);
    synack_stack_free(w.b);
    memnet_free(w.net);
}

int main(void)
{
    RUN(test_engine_needs_storage_only_for_bytes);
    RUN(test_time_wait_record_behaves_as_the_tcb);
    RUN(test_idle_connections_hold_no_buffer_memory);
    RUN(test_time_wait_record_outliving_its_offsets);
    return check_summary();
}
