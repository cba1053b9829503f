/*
 * test_timewait.c: TIME-WAIT lasts exactly 2 x MSL of virtual time, and a retransmitted FIN
 * is acknowledged again and restarts the 2 x MSL count (RFC 9293 3.6 and 3.10.7.4, TIME-WAIT
 * STATE: "Acknowledge it, and restart the 2 MSL timeout").
 *
 * A (10.0.0.1) connects to B (10.0.0.2:7) over memnet (1 ms each way), MSL = 1 s. A closes
 * first, so A is the side that goes through TIME-WAIT.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/memnet.h"
#include "synack.h"

#define A 0
#define B 1
#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u /* 10.0.0.2 */
#define MS 1000ull       /* one millisecond in microseconds */
#define SEC 1000000ull   /* one second in microseconds */
#define MSL (1 * SEC)    /* the MSL of these tests */
#define LOG_MAX 64       /* events recorded */

struct rec {
    int kind, side;
    uint32_t seq, ack;
    uint8_t flags;
    int old_state, state;
    uint64_t time_us;
};

struct world;

struct tap {
    struct world *w;
    int side;
};

struct world {
    struct memnet *net;
    struct synack_stack *s[2];
    struct tap tap[2];
    struct rec log[LOG_MAX];
    int nlog;
    int fd_a, fd_b;
};

static void observe(void *arg, const struct synack_event *ev)
{
    struct tap *t = arg;
    struct world *w = t->w;

    if (w->nlog == LOG_MAX ||
        (ev->kind != SYNACK_EV_SEG_OUT && ev->kind != SYNACK_EV_SEG_IN &&
         ev->kind != SYNACK_EV_STATE))
        return;
    struct rec *r = &w->log[w->nlog++];
    r->kind = ev->kind;
    r->side = t->side;
    r->seq = ev->seq;
    r->ack = ev->ack;
    r->flags = ev->flags;
    r->old_state = ev->old_state;
    r->state = ev->state;
    r->time_us = ev->time_us;
}

static void node_input(void *arg, const uint8_t *packet, size_t len, uint64_t now_us)
{
    synack_stack_input(arg, packet, len, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

/* Index of the first event from index from on with this kind, side and state (ANY: -1 for
 * any state), or -1. */
static int find(const struct world *w, int from, int kind, int side, int state)
{
    for (int i = from; i < w->nlog; i++)
        if (w->log[i].kind == kind && w->log[i].side == side &&
            (state < 0 || w->log[i].state == state))
            return i;
    return -1;
}

static bool run_until_state(struct world *w, int side, int fd, int state, uint64_t limit)
{
    while (synack_state(w->s[side], fd) != state)
        if (!memnet_step(w->net, limit))
            return synack_state(w->s[side], fd) == state;
    return true;
}

static uint64_t conns(const struct world *w, int side)
{
    struct synack_stats st;
    synack_stack_stats(w->s[side], &st);
    return st.conn_current;
}

static uint64_t time_waits(const struct world *w, int side)
{
    struct synack_stats st;
    synack_stack_stats(w->s[side], &st);
    return st.time_wait_current;
}

/* Two stacks, A connected to B and both ESTABLISHED. */
static bool world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->net = memnet_new(7);
    if (w->net == NULL)
        return false;
    int na = memnet_add_node(w->net, IP_A), nb = memnet_add_node(w->net, IP_B);
    struct memnet_path p = {.delay_us = 1 * MS};
    if (na < 0 || nb < 0 || !memnet_set_path(w->net, IP_A, IP_B, &p) ||
        !memnet_set_path(w->net, IP_B, IP_A, &p))
        return false;
    int node[2] = {na, nb};
    for (int side = A; side <= B; side++) {
        struct synack_config cfg;
        synack_config_default(&cfg);
        cfg.ip = side == A ? IP_A : IP_B;
        cfg.msl_us = MSL;
        memset(cfg.isn_key, 0x11 * (side + 1), sizeof cfg.isn_key);
        struct synack_link link = memnet_link(w->net, node[side]);
        w->s[side] = synack_stack_new(&cfg, &link);
        if (w->s[side] == NULL)
            return false;
        w->tap[side].w = w;
        w->tap[side].side = side;
        synack_stack_set_observer(w->s[side], observe, &w->tap[side]);
        struct memnet_node_ops ops = {w->s[side], node_input, node_poll};
        memnet_attach(w->net, node[side], &ops);
    }
    struct synack_addr addr_b = {IP_B, 7};
    int lfd = synack_socket(w->s[B]);
    if (lfd < 0 || synack_bind(w->s[B], lfd, &addr_b) < 0 || synack_listen(w->s[B], lfd, 4) < 0)
        return false;
    w->fd_a = synack_socket(w->s[A]);
    if (w->fd_a < 0 || synack_connect(w->s[A], w->fd_a, &addr_b) != SYNACK_EINPROGRESS)
        return false;
    if (!run_until_state(w, A, w->fd_a, SYNACK_ESTABLISHED, 1 * SEC))
        return false;
    memnet_run_until(w->net, memnet_now(w->net) + 5 * MS);
    w->fd_b = synack_accept(w->s[B], lfd, NULL);
    return w->fd_b >= 0 && synack_close(w->s[B], lfd) == 0;
}

static void world_free(struct world *w)
{
    synack_stack_free(w->s[A]);
    synack_stack_free(w->s[B]);
    memnet_free(w->net);
}

/* A closes, B acknowledges, B closes: A in TIME-WAIT. Returns the index of A's STATE event
 * entering TIME-WAIT, or -1. */
static int close_both(struct world *w)
{
    if (synack_shutdown(w->s[A], w->fd_a, SYNACK_SHUT_WR) != 0)
        return -1;
    if (!run_until_state(w, A, w->fd_a, SYNACK_FIN_WAIT_2, memnet_now(w->net) + SEC))
        return -1;
    if (synack_close(w->s[B], w->fd_b) != 0)
        return -1;
    if (!run_until_state(w, A, w->fd_a, SYNACK_TIME_WAIT, memnet_now(w->net) + SEC))
        return -1;
    return find(w, 0, SYNACK_EV_STATE, A, SYNACK_TIME_WAIT);
}

/* The connection exists at TIME-WAIT entry + 2 x MSL - 1 us and is gone at + 2 x MSL. */
static void test_time_wait_lasts_2msl(void)
{
    struct world w;

    REQUIRE(world_init(&w));
    int i = close_both(&w);
    REQUIRE(i >= 0);
    uint64_t tw = w.log[i].time_us;
    CHECK_EQ(conns(&w, A), 1);
    CHECK_EQ(time_waits(&w, A), 1);
    memnet_run_until(w.net, tw + 2 * MSL - 1);
    CHECK_EQ(synack_state(w.s[A], w.fd_a), SYNACK_TIME_WAIT);
    CHECK_EQ(conns(&w, A), 1);
    CHECK_EQ(time_waits(&w, A), 1);
    CHECK_EQ(find(&w, i, SYNACK_EV_STATE, A, SYNACK_CLOSED), -1);
    CHECK_EQ(conns(&w, B), 0); /* B left LAST-ACK on A's ACK, long ago */

    memnet_run_until(w.net, tw + 2 * MSL);
    CHECK_EQ(synack_state(w.s[A], w.fd_a), SYNACK_CLOSED);
    CHECK_EQ(conns(&w, A), 0);
    CHECK_EQ(time_waits(&w, A), 0);
    int j = find(&w, i, SYNACK_EV_STATE, A, SYNACK_CLOSED);
    REQUIRE(j >= 0);
    CHECK_EQ(w.log[j].old_state, SYNACK_TIME_WAIT);
    CHECK_EQ(w.log[j].time_us, tw + 2 * MSL);
    CHECK_EQ(synack_error(w.s[A], w.fd_a), 0); /* a graceful end */
    CHECK_EQ(synack_close(w.s[A], w.fd_a), 0);
    world_free(&w);
}

/* A's ACK of B's FIN is lost; B retransmits its FIN after its RTO; A, in TIME-WAIT,
 * acknowledges it again and counts 2 x MSL from then. */
static void test_retransmitted_fin_restarts_2msl(void)
{
    struct world w;
    struct memnet_path lossy = {.delay_us = 1 * MS, .loss = 1.0};
    struct memnet_path clean = {.delay_us = 1 * MS};
    struct memnet_stats ns;

    REQUIRE(world_init(&w));
    REQUIRE(synack_shutdown(w.s[A], w.fd_a, SYNACK_SHUT_WR) == 0);
    REQUIRE(run_until_state(&w, A, w.fd_a, SYNACK_FIN_WAIT_2, memnet_now(w.net) + SEC));
    REQUIRE(memnet_set_path(w.net, IP_A, IP_B, &lossy)); /* A's next segment is lost */
    REQUIRE(synack_close(w.s[B], w.fd_b) == 0);
    REQUIRE(run_until_state(&w, A, w.fd_a, SYNACK_TIME_WAIT, memnet_now(w.net) + SEC));
    REQUIRE(memnet_set_path(w.net, IP_A, IP_B, &clean));
    memnet_stats(w.net, &ns);
    CHECK_EQ(ns.lost, 1);

    int i = find(&w, 0, SYNACK_EV_STATE, A, SYNACK_TIME_WAIT);
    REQUIRE(i >= 0);
    uint64_t tw = w.log[i].time_us;
    int ack1 = find(&w, i, SYNACK_EV_SEG_OUT, A, SYNACK_TIME_WAIT); /* the lost ACK */
    REQUIRE(ack1 >= 0);
    CHECK_EQ(w.log[ack1].flags & (SYNACK_ACK | SYNACK_FIN | SYNACK_SYN | SYNACK_RST),
             SYNACK_ACK);

    /* The first FIN's arrival is reported after the ACK it caused. */
    int fin1 = find(&w, ack1 + 1, SYNACK_EV_SEG_IN, A, SYNACK_TIME_WAIT);
    REQUIRE(fin1 >= 0);
    CHECK(w.log[fin1].flags & SYNACK_FIN);

    /* B retransmits its FIN (RTO 1 s, within A's 2 s of TIME-WAIT). */
    memnet_run_until(w.net, tw + 2 * MSL - 1);
    int fin2 = find(&w, fin1 + 1, SYNACK_EV_SEG_IN, A, SYNACK_TIME_WAIT);
    REQUIRE(fin2 >= 0);
    CHECK(w.log[fin2].flags & SYNACK_FIN);
    CHECK_EQ(w.log[fin2].seq, w.log[fin1].seq);
    uint64_t t2 = w.log[fin2].time_us;
    CHECK(t2 > tw);
    /* Acknowledged again, the same ACK as the first. */
    int ack2 = find(&w, fin1 + 1, SYNACK_EV_SEG_OUT, A, SYNACK_TIME_WAIT);
    REQUIRE(ack2 >= 0);
    CHECK_EQ(w.log[ack2].time_us, t2);
    CHECK_EQ(w.log[ack2].seq, w.log[ack1].seq);
    CHECK_EQ(w.log[ack2].ack, w.log[ack1].ack);
    CHECK_EQ(w.log[ack2].flags, w.log[ack1].flags);
    /* The first count would have ended at tw + 2 x MSL: it was restarted. */
    memnet_run_until(w.net, tw + 2 * MSL);
    CHECK_EQ(synack_state(w.s[A], w.fd_a), SYNACK_TIME_WAIT);
    CHECK_EQ(conns(&w, A), 1);
    CHECK_EQ(conns(&w, B), 0); /* B got the second ACK and left LAST-ACK */
    CHECK(find(&w, 0, SYNACK_EV_STATE, B, SYNACK_CLOSED) >= 0);

    memnet_run_until(w.net, t2 + 2 * MSL - 1);
    CHECK_EQ(synack_state(w.s[A], w.fd_a), SYNACK_TIME_WAIT);
    CHECK_EQ(conns(&w, A), 1);
    memnet_run_until(w.net, t2 + 2 * MSL);
    CHECK_EQ(synack_state(w.s[A], w.fd_a), SYNACK_CLOSED);
    CHECK_EQ(conns(&w, A), 0);
    int j = find(&w, i, SYNACK_EV_STATE, A, SYNACK_CLOSED);
    REQUIRE(j >= 0);
    CHECK_EQ(w.log[j].time_us, t2 + 2 * MSL);
    world_free(&w);
}

int main(void)
{
    RUN(test_time_wait_lasts_2msl);
    RUN(test_retransmitted_fin_restarts_2msl);
    return check_summary();
}
