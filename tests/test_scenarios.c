/*
 * test_scenarios.c: RFC 9293 Figures 6 to 13 (3.5 opening, 3.5.1 half-open connections, 3.6
 * closing) reproduced segment by segment, with the figures' own sequence numbers.
 *
 * Two real stacks, A (10.0.0.1) and B (10.0.0.2), talk over memnet; the ISNs are fixed with
 * SYNACK_OPT_ISS. Where a figure needs a segment nobody alive sent (an old duplicate SYN) it
 * is crafted with wire_emit() and handed to the stack with synack_stack_input(); a rebooted
 * host is a stack freed and replaced by a fresh one on the same memnet node.
 *
 * Each figure is a table of its lines: who sent the segment, its fields, the sender's state
 * after sending, the figure line where it arrives and the receiver's state after processing
 * (ANY where the figure shows none or only a comment). The check compares, exactly and with
 * nothing more:
 *   - every SEG_OUT of both stacks, in order, with the table's sent segments in order;
 *   - every SEG_IN of each stack, in order, with the table's segments that arrive there,
 *     ordered by their arrival line;
 * from the start of the figure (the set-up before it, e.g. a handshake, is not compared) to
 * its last line. When the last line is an arrival, what the receiver answers to it belongs to
 * the next exchange, which the figure does not draw (Figure 6: B's ACK of the data).
 * PSH is ignored in the comparison: the figures never show it (RFC 793 predates its use on
 * every data segment).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/memnet.h"
#include "synack.h"
#include "wire/wire.h"

#define A 0 /* side index: TCP Peer A */
#define B 1 /* side index: TCP Peer B */
#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u /* 10.0.0.2 */
#define PORT_A 1000      /* A's port where the figure needs a known one */
#define PORT_B 2000      /* B's port */

#define MS 1000ull       /* one millisecond in microseconds */
#define SEC 1000000ull   /* one second in microseconds */

#define SYN SYNACK_SYN
#define ACK SYNACK_ACK
#define FIN SYNACK_FIN
#define RST SYNACK_RST

#define FROM_A 0  /* sent by A's stack */
#define FROM_B 1  /* sent by B's stack */
#define CRAFTED_A 2 /* crafted with A's address and port (an old duplicate) */
#define ANY (-1)  /* state: the figure shows none */
#define NOWHERE 0 /* arrive: the segment does not arrive within the figure */

#define REC_MAX 64 /* segment events recorded per test */

/* One line of a figure. */
struct fig_line {
    int line;          /* figure line number */
    int from;          /* FROM_A, FROM_B or CRAFTED_A */
    uint32_t seq, ack; /* ack compared only when flags has ACK */
    uint8_t flags;     /* without PSH */
    uint32_t len;      /* payload bytes */
    int sender_state;  /* after sending, or ANY */
    int arrive;        /* figure line where it arrives, or NOWHERE */
    int receiver_state; /* after processing, or ANY */
};

/* A recorded SEG_OUT or SEG_IN. */
struct seg_rec {
    int kind;          /* SYNACK_EV_SEG_OUT or SYNACK_EV_SEG_IN */
    int side;          /* the stack that reported it */
    uint32_t seq, ack, len;
    uint8_t flags;
    int state, reason;
    bool retransmit;
    uint64_t time_us;
};

/* A recorded STATE event. */
struct state_rec {
    int side, old_state, new_state;
    uint64_t time_us;
};

struct world;

struct tap {
    struct world *w;
    int side;
};

struct world {
    struct memnet *net;
    int node[2];
    struct synack_stack *s[2];  /* the node's current stack (replaced on reboot) */
    struct synack_config cfg[2];
    struct tap tap[2];
    bool recording;
    struct seg_rec segs[REC_MAX];
    int nsegs;
    struct state_rec states[REC_MAX];
    int nstates;
};

static void observe(void *arg, const struct synack_event *ev)
{
    struct tap *t = arg;
    struct world *w = t->w;

    if (!w->recording)
        return;
    if ((ev->kind == SYNACK_EV_SEG_OUT || ev->kind == SYNACK_EV_SEG_IN) &&
        w->nsegs < REC_MAX) {
        struct seg_rec *r = &w->segs[w->nsegs++];
        r->kind = ev->kind;
        r->side = t->side;
        r->seq = ev->seq;
        r->ack = ev->ack;
        r->len = ev->len;
        r->flags = ev->flags;
        r->state = ev->state;
        r->reason = ev->reason;
        r->retransmit = ev->retransmit;
        r->time_us = ev->time_us;
    } else if (ev->kind == SYNACK_EV_STATE && w->nstates < REC_MAX) {
        struct state_rec *r = &w->states[w->nstates++];
        r->side = t->side;
        r->old_state = ev->old_state;
        r->new_state = ev->state;
        r->time_us = ev->time_us;
    }
}

/* memnet node operations: arg points at the world's stack slot, so a reboot swaps it. */
static void node_input(void *arg, const uint8_t *packet, size_t len, uint64_t now_us)
{
    struct synack_stack **s = arg;
    synack_stack_input(*s, packet, len, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    struct synack_stack **s = arg;
    return synack_stack_poll(*s, now_us);
}

static bool stack_create(struct world *w, int side)
{
    struct synack_link link = memnet_link(w->net, w->node[side]);
    w->s[side] = synack_stack_new(&w->cfg[side], &link);
    if (w->s[side] == NULL)
        return false;
    synack_stack_set_observer(w->s[side], observe, &w->tap[side]);
    return true;
}

/* Two stacks on memnet with one-way delays ab (A to B) and ba, both in microseconds. */
static bool world_init(struct world *w, uint64_t ab, uint64_t ba)
{
    memset(w, 0, sizeof *w);
    w->net = memnet_new(1);
    if (w->net == NULL)
        return false;
    w->node[A] = memnet_add_node(w->net, IP_A);
    w->node[B] = memnet_add_node(w->net, IP_B);
    struct memnet_path pab = {.delay_us = ab}, pba = {.delay_us = ba};
    if (w->node[A] < 0 || w->node[B] < 0 || !memnet_set_path(w->net, IP_A, IP_B, &pab) ||
        !memnet_set_path(w->net, IP_B, IP_A, &pba))
        return false;
    for (int side = A; side <= B; side++) {
        synack_config_default(&w->cfg[side]);
        w->cfg[side].ip = side == A ? IP_A : IP_B;
        memset(w->cfg[side].isn_key, 0x40 + side, sizeof w->cfg[side].isn_key);
        w->tap[side].w = w;
        w->tap[side].side = side;
        if (!stack_create(w, side))
            return false;
        struct memnet_node_ops ops = {&w->s[side], node_input, node_poll};
        memnet_attach(w->net, w->node[side], &ops);
    }
    w->recording = true;
    return true;
}

static void world_free(struct world *w)
{
    synack_stack_free(w->s[A]);
    synack_stack_free(w->s[B]);
    memnet_free(w->net);
}

/* A's host crashes and comes back with no memory of its connections: a fresh stack. */
static bool world_reboot(struct world *w, int side)
{
    synack_stack_free(w->s[side]);
    if (!stack_create(w, side))
        return false;
    synack_stack_poll(w->s[side], memnet_now(w->net)); /* the new stack learns the time */
    return true;
}

/* Starts the figure: forget the segments seen so far (the set-up). */
static void world_clear(struct world *w)
{
    w->nsegs = 0;
    w->nstates = 0;
}

static void run_until(struct world *w, uint64_t t)
{
    memnet_run_until(w->net, t);
}

/* Runs until fd of side reaches state (or limit); returns whether it did. */
static bool run_until_state(struct world *w, int side, int fd, int state, uint64_t limit)
{
    while (synack_state(w->s[side], fd) != state)
        if (!memnet_step(w->net, limit))
            return synack_state(w->s[side], fd) == state;
    return true;
}

/* Hands side a crafted segment from (src, sport) to (dst, dport), now. */
static void inject(struct world *w, int side, uint32_t src, uint16_t sport, uint32_t dst,
                   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
    struct wire_tcp_out o;
    uint8_t pkt[128];

    memset(&o, 0, sizeof o);
    o.src = src;
    o.dst = dst;
    o.sport = sport;
    o.dport = dport;
    o.seq = seq;
    o.ack = ack;
    o.flags = flags;
    o.wnd = 65535;
    o.ttl = 64;
    size_t n = wire_emit(pkt, sizeof pkt, &o);
    CHECK(n > 0);
    synack_stack_input(w->s[side], pkt, n, memnet_now(w->net));
}

/* A socket of side bound to port (0: none), with ISS iss. */
static int open_socket(struct world *w, int side, uint16_t port, uint32_t iss)
{
    struct synack_stack *s = w->s[side];
    int fd = synack_socket(s);
    CHECK(fd >= 0);
    if (port != 0) {
        struct synack_addr a = {side == A ? IP_A : IP_B, port};
        CHECK_EQ(synack_bind(s, fd, &a), 0);
    }
    CHECK_EQ(synack_setopt(s, fd, SYNACK_OPT_ISS, iss), 0);
    return fd;
}

static int listen_on(struct world *w, int side, uint16_t port, uint32_t iss)
{
    int fd = open_socket(w, side, port, iss);
    CHECK_EQ(synack_listen(w->s[side], fd, 8), 0);
    return fd;
}

static int connect_to(struct world *w, int side, uint16_t port, uint32_t iss, uint16_t rport)
{
    int fd = open_socket(w, side, port, iss);
    struct synack_addr peer = {side == A ? IP_B : IP_A, rport};
    CHECK_EQ(synack_connect(w->s[side], fd, &peer), SYNACK_EINPROGRESS);
    return fd;
}

/* ---- The check --------------------------------------------------------------------------- */

static void print_rec(const struct seg_rec *r)
{
    fprintf(stderr,
            "      t=%lu us %s %c: seq=%lu ack=%lu flags=0x%02x len=%lu state=%s reason=%d%s\n",
            (unsigned long)r->time_us, r->kind == SYNACK_EV_SEG_OUT ? "OUT" : "IN ",
            r->side == A ? 'A' : 'B', (unsigned long)r->seq, (unsigned long)r->ack, r->flags,
            (unsigned long)r->len, synack_state_name(r->state), r->reason,
            r->retransmit ? " (retransmission)" : "");
}

static bool line_matches(const struct fig_line *l, const struct seg_rec *r, int state)
{
    if (r->seq != l->seq || (r->flags & ~SYNACK_PSH) != l->flags || r->len != l->len)
        return false;
    if ((l->flags & ACK) && r->ack != l->ack)
        return false;
    return state == ANY || r->state == state;
}

#define LINES_MAX 16 /* lines per figure */

/* Compares the recorded segments with the figure's lines (see the file comment). The
 * comparison ends with the figure's last line: if that is an arrival, what the receiver sent
 * while processing it (reported just before its SEG_IN, at the same time) is the start of the
 * next exchange, which the figure does not draw, and is not compared. */
static void check_figure(const struct world *w, const struct fig_line *lines, int n)
{
    bool ok = n <= LINES_MAX;
    int out_at[LINES_MAX], in_at[LINES_MAX]; /* log index of each line's send / arrival */
    bool matched[REC_MAX] = {false};

    for (int i = 0; i < n && i < LINES_MAX; i++)
        out_at[i] = in_at[i] = -1;

    /* Sent segments, both stacks, in order. */
    int k = 0;
    for (int i = 0; ok && i < n; i++) {
        if (lines[i].from == CRAFTED_A)
            continue;
        while (k < w->nsegs && w->segs[k].kind != SYNACK_EV_SEG_OUT)
            k++;
        if (k == w->nsegs || w->segs[k].side != lines[i].from ||
            !line_matches(&lines[i], &w->segs[k], lines[i].sender_state)) {
            fprintf(stderr, "    figure line %d: sent segment differs\n", lines[i].line);
            ok = false;
            break;
        }
        out_at[i] = k;
        matched[k++] = true;
    }

    /* Received segments, per receiver, in arrival-line order. */
    for (int side = A; ok && side <= B; side++) {
        int rk = 0;
        int last_line = 0;
        for (;;) {
            /* The line with the smallest arrival line after last_line, for this receiver. */
            int next = -1;
            for (int i = 0; i < n; i++) {
                int receiver = lines[i].from == FROM_B ? A : B;
                if (receiver == side && lines[i].arrive > last_line &&
                    (next < 0 || lines[i].arrive < lines[next].arrive))
                    next = i;
            }
            if (next < 0)
                break;
            last_line = lines[next].arrive;
            while (rk < w->nsegs && !(w->segs[rk].kind == SYNACK_EV_SEG_IN &&
                                      w->segs[rk].side == side))
                rk++;
            if (rk == w->nsegs ||
                !line_matches(&lines[next], &w->segs[rk], lines[next].receiver_state)) {
                fprintf(stderr, "    figure line %d: arrival at %c differs\n",
                        lines[next].arrive, side == A ? 'A' : 'B');
                ok = false;
                break;
            }
            in_at[next] = rk;
            matched[rk++] = true;
        }
    }

    /* Where the figure ends in the log: after its last line's event. */
    int last_line = 0, end = 0, answer_from = 0;
    for (int i = 0; ok && i < n; i++) {
        if (out_at[i] >= 0 && (lines[i].line > last_line ||
                               (lines[i].line == last_line && out_at[i] + 1 > end))) {
            last_line = lines[i].line;
            end = answer_from = out_at[i] + 1;
        }
        if (in_at[i] >= 0 && (lines[i].arrive > last_line ||
                              (lines[i].arrive == last_line && in_at[i] + 1 > end))) {
            last_line = lines[i].arrive;
            end = in_at[i] + 1;
            answer_from = in_at[i];
            const struct seg_rec *in = &w->segs[in_at[i]];
            while (answer_from > 0 && w->segs[answer_from - 1].kind == SYNACK_EV_SEG_OUT &&
                   w->segs[answer_from - 1].side == in->side &&
                   w->segs[answer_from - 1].time_us == in->time_us &&
                   !matched[answer_from - 1])
                answer_from--;
        }
    }
    /* Nothing more: every segment before the end is one of the figure's. */
    for (int i = 0; ok && i < end; i++) {
        if (!matched[i] && (i < answer_from || w->segs[i].kind != SYNACK_EV_SEG_OUT)) {
            fprintf(stderr, "    a segment the figure does not show (event %d)\n", i);
            ok = false;
        }
    }
    if (!ok) {
        fprintf(stderr, "    recorded:\n");
        for (int i = 0; i < w->nsegs; i++)
            print_rec(&w->segs[i]);
    }
    CHECK(ok);
}

/* The time side's connection entered state (from STATE events), or UINT64_MAX. */
static uint64_t state_time(const struct world *w, int side, int state)
{
    for (int i = 0; i < w->nstates; i++)
        if (w->states[i].side == side && w->states[i].new_state == state)
            return w->states[i].time_us;
    return UINT64_MAX;
}

/* ---- Figures ----------------------------------------------------------------------------- */

/* Figure 6: Basic Three-Way Handshake for Connection Synchronization. */
static void test_figure6_three_way_handshake(void)
{
    static const struct fig_line fig[] = {
        {2, FROM_A, 100, 0, SYN, 0, SYNACK_SYN_SENT, 2, SYNACK_SYN_RECEIVED},
        {3, FROM_B, 300, 101, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 3, SYNACK_ESTABLISHED},
        {4, FROM_A, 101, 301, ACK, 0, SYNACK_ESTABLISHED, 4, SYNACK_ESTABLISHED},
        {5, FROM_A, 101, 301, ACK, 5, SYNACK_ESTABLISHED, 5, SYNACK_ESTABLISHED},
    };
    struct world w;

    REQUIRE(world_init(&w, 1 * MS, 1 * MS));
    int lfd = listen_on(&w, B, 7, 300);                     /* line 1: B LISTEN */
    int fd = connect_to(&w, A, 0, 100, 7);                  /* line 2 */
    REQUIRE(run_until_state(&w, A, fd, SYNACK_ESTABLISHED, 10 * MS)); /* lines 3, 4 */
    CHECK_EQ(synack_send(w.s[A], fd, "hello", 5), 5);       /* line 5 */
    run_until(&w, 3 * MS); /* the ACK and the data arrive at 3 ms */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    int cfd = synack_accept(w.s[B], lfd, NULL);
    CHECK(cfd >= 0);
    CHECK_EQ(synack_state(w.s[A], fd), SYNACK_ESTABLISHED);
    CHECK_EQ(synack_state(w.s[B], cfd), SYNACK_ESTABLISHED);
    world_free(&w);
}

/* Figure 7: Simultaneous Connection Synchronization. Both connect at time 0 with bound
 * ports; B's SYN travels faster (1 ms against 2 ms), so it reaches A (line 3) before A's
 * reaches B (line 4), and A's SYN-ACK (line 5) leaves before B's (line 6). */
static void test_figure7_simultaneous_open(void)
{
    static const struct fig_line fig[] = {
        {2, FROM_A, 100, 0, SYN, 0, SYNACK_SYN_SENT, 4, SYNACK_SYN_RECEIVED},
        {3, FROM_B, 300, 0, SYN, 0, SYNACK_SYN_SENT, 3, SYNACK_SYN_RECEIVED},
        {5, FROM_A, 100, 301, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 7, SYNACK_ESTABLISHED},
        {6, FROM_B, 300, 101, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 6, SYNACK_ESTABLISHED},
    };
    struct world w;

    REQUIRE(world_init(&w, 2 * MS, 1 * MS));
    int fa = connect_to(&w, A, PORT_A, 100, PORT_B);
    int fb = connect_to(&w, B, PORT_B, 300, PORT_A);
    run_until(&w, 3 * MS); /* both SYN-ACKs arrive at 3 ms */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    CHECK_EQ(synack_state(w.s[A], fa), SYNACK_ESTABLISHED);
    CHECK_EQ(synack_state(w.s[B], fb), SYNACK_ESTABLISHED);
    world_free(&w);
}

/* Figure 8: Recovery from Old Duplicate SYN. A's SYN (line 2) is slow (10 ms); an old
 * duplicate SYN from A's address and port (crafted, line 3) reaches B first. */
static void test_figure8_old_duplicate_syn(void)
{
    static const struct fig_line fig[] = {
        {2, FROM_A, 100, 0, SYN, 0, SYNACK_SYN_SENT, 6, SYNACK_SYN_RECEIVED},
        {3, CRAFTED_A, 90, 0, SYN, 0, ANY, 3, SYNACK_SYN_RECEIVED},
        {4, FROM_B, 300, 91, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 4, SYNACK_SYN_SENT},
        {5, FROM_A, 91, 0, RST, 0, SYNACK_SYN_SENT, 5, SYNACK_LISTEN},
        {7, FROM_B, 400, 101, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 7, SYNACK_ESTABLISHED},
        {8, FROM_A, 101, 401, ACK, 0, SYNACK_ESTABLISHED, 8, SYNACK_ESTABLISHED},
    };
    struct world w;

    REQUIRE(world_init(&w, 10 * MS, 1 * MS));
    int lfd = listen_on(&w, B, PORT_B, 300);
    int fd = connect_to(&w, A, PORT_A, 100, PORT_B);  /* line 2: arrives at 10 ms */
    struct memnet_path fast = {.delay_us = 1 * MS};
    CHECK(memnet_set_path(w.net, IP_A, IP_B, &fast)); /* the RST will overtake it */
    run_until(&w, 1 * MS);
    inject(&w, B, IP_A, PORT_A, IP_B, PORT_B, 90, 0, SYN); /* line 3 */
    run_until(&w, 3 * MS);                                 /* lines 4, 5 */
    CHECK_EQ(synack_state(w.s[A], fd), SYNACK_SYN_SENT);
    CHECK_EQ(synack_setopt(w.s[B], lfd, SYNACK_OPT_ISS, 400), 0); /* B's next ISS */
    run_until(&w, 12 * MS);                                /* lines 6, 7, 8 */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    CHECK_EQ(synack_state(w.s[A], fd), SYNACK_ESTABLISHED);
    int cfd = synack_accept(w.s[B], lfd, NULL);
    CHECK(cfd >= 0);
    CHECK_EQ(synack_state(w.s[B], cfd), SYNACK_ESTABLISHED);
    CHECK_EQ(synack_accept(w.s[B], lfd, NULL), SYNACK_EAGAIN); /* the duplicate left none */
    world_free(&w);
}

/* A connected pair with A (port PORT_A, ISS 99) and B (port PORT_B, ISS 299), so that
 * B's next send is 300 and it expects 100, as Figures 9, 10, 12 and 13 start. B's listener
 * is closed. Returns B's descriptor (A's in *fd_a). */
static int connected_pair(struct world *w, int *fd_a)
{
    int lfd = listen_on(w, B, PORT_B, 299);
    *fd_a = connect_to(w, A, PORT_A, 99, PORT_B);
    if (!run_until_state(w, A, *fd_a, SYNACK_ESTABLISHED, 1 * SEC))
        return -1;
    run_until(w, memnet_now(w->net) + 5 * MS); /* the handshake's last ACK arrives */
    int fd_b = synack_accept(w->s[B], lfd, NULL);
    CHECK_EQ(synack_close(w->s[B], lfd), 0);
    world_clear(w);
    return fd_b;
}

/* Figure 9: Half-Open Connection Discovery. A reboots and opens again from the same port
 * with ISS 400; B, still ESTABLISHED (send 300, receive 100), answers the SYN with an ACK
 * of what it expects (line 4), A's RST (line 5) aborts B, and A tries again (line 7, its
 * retransmission after the initial RTO of 1 s). */
static void test_figure9_half_open_discovery(void)
{
    static const struct fig_line fig[] = {
        {3, FROM_A, 400, 0, SYN, 0, SYNACK_SYN_SENT, 3, ANY},               /* B: (??) */
        {4, FROM_B, 300, 100, ACK, 0, SYNACK_ESTABLISHED, 4, ANY},          /* A: (!!) */
        {5, FROM_A, 100, 0, RST, 0, SYNACK_SYN_SENT, 5, SYNACK_CLOSED},      /* (Abort!!) */
        {7, FROM_A, 400, 0, SYN, 0, SYNACK_SYN_SENT, NOWHERE, ANY},
    };
    struct world w;
    int fd_a;

    REQUIRE(world_init(&w, 1 * MS, 1 * MS));
    int fd_b = connected_pair(&w, &fd_a);
    REQUIRE(fd_b >= 0);
    REQUIRE(world_reboot(&w, A));                       /* line 1: (REBOOT) */
    uint64_t t0 = memnet_now(w.net);
    int fd = connect_to(&w, A, PORT_A, 400, PORT_B);    /* line 3 */
    run_until(&w, t0 + 3 * MS);                         /* lines 4, 5 */
    CHECK_EQ(synack_state(w.s[A], fd), SYNACK_SYN_SENT); /* line 6 */
    CHECK_EQ(synack_state(w.s[B], fd_b), SYNACK_CLOSED);
    CHECK_EQ(synack_error(w.s[B], fd_b), SYNACK_ECONNRESET);
    run_until(&w, t0 + 1 * SEC);                        /* line 7: sent, not yet arrived */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    CHECK(w.nsegs > 0 && w.segs[w.nsegs - 1].retransmit);
    world_free(&w);
}

/* Figure 10: Active Side Causes Half-Open Connection Discovery. A reboots (no connection
 * at all); B sends 10 bytes and A's RST aborts B. */
static void test_figure10_active_side_discovery(void)
{
    static const struct fig_line fig[] = {
        {2, FROM_B, 300, 100, ACK, 10, SYNACK_ESTABLISHED, 2, ANY},   /* A: (??) */
        {3, FROM_A, 100, 0, RST, 0, ANY, 3, SYNACK_CLOSED},           /* B: (ABORT!!) */
    };
    struct world w;
    int fd_a;

    REQUIRE(world_init(&w, 1 * MS, 1 * MS));
    int fd_b = connected_pair(&w, &fd_a);
    REQUIRE(fd_b >= 0);
    REQUIRE(world_reboot(&w, A));                          /* line 1: (REBOOT) */
    uint64_t t0 = memnet_now(w.net);
    CHECK_EQ(synack_send(w.s[B], fd_b, "0123456789", 10), 10); /* line 2 */
    run_until(&w, t0 + 2 * MS);                            /* line 3 */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    CHECK_EQ(synack_state(w.s[B], fd_b), SYNACK_CLOSED);
    CHECK_EQ(synack_error(w.s[B], fd_b), SYNACK_ECONNRESET);
    world_free(&w);
}

/* Figure 11: Old Duplicate SYN Initiates a Reset on Two Passive Sockets. Z = 1000 (the old
 * SYN, crafted with A's address and listening port), X = 5000 (B's ISS). */
static void test_figure11_old_syn_two_listeners(void)
{
    static const struct fig_line fig[] = {
        {2, CRAFTED_A, 1000, 0, SYN, 0, ANY, 2, SYNACK_SYN_RECEIVED},
        {3, FROM_B, 5000, 1001, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 3, ANY}, /* A: (??) */
        {4, FROM_A, 1001, 0, RST, 0, ANY, 4, SYNACK_LISTEN},   /* (return to LISTEN!) */
    };
    struct world w;
    struct synack_stats st;

    REQUIRE(world_init(&w, 1 * MS, 1 * MS));
    int la = listen_on(&w, A, PORT_A, 7000); /* line 1: both LISTEN */
    int lb = listen_on(&w, B, PORT_B, 5000);
    inject(&w, B, IP_A, PORT_A, IP_B, PORT_B, 1000, 0, SYN); /* line 2 */
    run_until(&w, 2 * MS);                                   /* lines 3, 4 */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    CHECK_EQ(synack_state(w.s[A], la), SYNACK_LISTEN);       /* line 5 */
    CHECK_EQ(synack_state(w.s[B], lb), SYNACK_LISTEN);
    CHECK_EQ(synack_accept(w.s[B], lb, NULL), SYNACK_EAGAIN);
    synack_stack_stats(w.s[B], &st);
    CHECK_EQ(st.conn_current, 0);
    world_free(&w);
}

/* Figure 12: Normal Close Sequence. A closes; B closes once A is in FIN-WAIT-2; A leaves
 * TIME-WAIT after 2 x MSL (line 6). */
static void test_figure12_normal_close(void)
{
    static const struct fig_line fig[] = {
        {2, FROM_A, 100, 300, FIN | ACK, 0, SYNACK_FIN_WAIT_1, 2, SYNACK_CLOSE_WAIT},
        {3, FROM_B, 300, 101, ACK, 0, SYNACK_CLOSE_WAIT, 3, SYNACK_FIN_WAIT_2},
        {4, FROM_B, 300, 101, FIN | ACK, 0, SYNACK_LAST_ACK, 4, SYNACK_TIME_WAIT},
        {5, FROM_A, 101, 301, ACK, 0, SYNACK_TIME_WAIT, 5, SYNACK_CLOSED},
    };
    struct world w;
    int fd_a;

    REQUIRE(world_init(&w, 1 * MS, 1 * MS));
    int fd_b = connected_pair(&w, &fd_a);
    REQUIRE(fd_b >= 0);
    CHECK_EQ(synack_shutdown(w.s[A], fd_a, SYNACK_SHUT_WR), 0);   /* line 2: (Close) */
    REQUIRE(run_until_state(&w, A, fd_a, SYNACK_FIN_WAIT_2, memnet_now(w.net) + SEC));
    CHECK_EQ(synack_close(w.s[B], fd_b), 0);                       /* line 4: (Close) */
    uint64_t t = memnet_now(w.net);
    run_until(&w, t + 2 * MS);                                     /* lines 4, 5 */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    uint64_t tw = state_time(&w, A, SYNACK_TIME_WAIT);
    REQUIRE(tw != UINT64_MAX);
    uint64_t msl = w.cfg[A].msl_us;
    run_until(&w, tw + 2 * msl - 1);
    CHECK_EQ(synack_state(w.s[A], fd_a), SYNACK_TIME_WAIT);
    run_until(&w, tw + 2 * msl);                                   /* line 6: (2 MSL) */
    CHECK_EQ(synack_state(w.s[A], fd_a), SYNACK_CLOSED);
    CHECK_EQ(state_time(&w, A, SYNACK_CLOSED), tw + 2 * msl);
    world_free(&w);
}

/* Figure 13: Simultaneous Close Sequence. Both close at the same time; B's segments travel
 * faster (1 ms against 2 ms) so that A's ACK (line 3) leaves before B's, as drawn. */
static void test_figure13_simultaneous_close(void)
{
    static const struct fig_line fig[] = {
        {2, FROM_A, 100, 300, FIN | ACK, 0, SYNACK_FIN_WAIT_1, 2, SYNACK_CLOSING},
        {2, FROM_B, 300, 100, FIN | ACK, 0, SYNACK_FIN_WAIT_1, 2, SYNACK_CLOSING},
        {3, FROM_A, 101, 301, ACK, 0, SYNACK_CLOSING, 3, SYNACK_TIME_WAIT},
        {3, FROM_B, 301, 101, ACK, 0, SYNACK_CLOSING, 3, SYNACK_TIME_WAIT},
    };
    struct world w;
    int fd_a;

    REQUIRE(world_init(&w, 2 * MS, 1 * MS));
    int fd_b = connected_pair(&w, &fd_a);
    REQUIRE(fd_b >= 0);
    CHECK_EQ(synack_shutdown(w.s[A], fd_a, SYNACK_SHUT_WR), 0); /* line 2: (Close) */
    CHECK_EQ(synack_shutdown(w.s[B], fd_b, SYNACK_SHUT_WR), 0); /* line 2: (Close) */
    uint64_t t = memnet_now(w.net);
    run_until(&w, t + 4 * MS); /* FINs arrive at +1/+2 ms, ACKs at +2/+4 ms */
    check_figure(&w, fig, (int)(sizeof fig / sizeof fig[0]));
    CHECK_EQ(synack_state(w.s[A], fd_a), SYNACK_TIME_WAIT); /* line 4 */
    CHECK_EQ(synack_state(w.s[B], fd_b), SYNACK_TIME_WAIT);
    uint64_t msl = w.cfg[A].msl_us;
    uint64_t tw_a = state_time(&w, A, SYNACK_TIME_WAIT);
    uint64_t tw_b = state_time(&w, B, SYNACK_TIME_WAIT);
    REQUIRE(tw_a != UINT64_MAX && tw_b != UINT64_MAX);
    run_until(&w, (tw_a > tw_b ? tw_a : tw_b) + 2 * msl);   /* (2 MSL) */
    CHECK_EQ(synack_state(w.s[A], fd_a), SYNACK_CLOSED);
    CHECK_EQ(synack_state(w.s[B], fd_b), SYNACK_CLOSED);
    CHECK_EQ(state_time(&w, A, SYNACK_CLOSED), tw_a + 2 * msl);
    CHECK_EQ(state_time(&w, B, SYNACK_CLOSED), tw_b + 2 * msl);
    world_free(&w);
}

int main(void)
{
    RUN(test_figure6_three_way_handshake);
    RUN(test_figure7_simultaneous_open);
    RUN(test_figure8_old_duplicate_syn);
    RUN(test_figure9_half_open_discovery);
    RUN(test_figure10_active_side_discovery);
    RUN(test_figure11_old_syn_two_listeners);
    RUN(test_figure12_normal_close);
    RUN(test_figure13_simultaneous_close);
    return check_summary();
}
