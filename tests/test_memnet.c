/*
 * test_memnet.c: the virtual network. Determinism per seed, the configured fault rates
 * (loss, duplication, reordering, corruption), exact delays in virtual time, routing, and
 * corruption being caught by a receiving stack's checksums, and rate-limited paths that
 * serialize packets behind each other.
 *
 * Most tests use raw nodes: a sender that emits numbered TCP segments (the number in SEQ) at
 * scheduled times, and a receiver that records what arrives and when.
 */
#include <stdlib.h>

#include "check.h"
#include "link/memnet.h"
#include "synack.h"
#include "wire/wire.h"

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u /* 10.0.0.2 */
#define IP_C 0x0a000003u /* 10.0.0.3 */
#define MAX_RX 40000     /* most packets a receiver records */

/* A node that sends `count` segments, one every `interval_us`, starting at `start_us`. */
struct sender {
    struct memnet *net;
    struct synack_link link;
    uint32_t src, dst;
    uint32_t count, sent;
    uint64_t start_us, interval_us;
    uint32_t payload;    /* payload bytes per segment */
    uint8_t flags;       /* TCP flags of the segments */
};

struct arrival {
    uint64_t time_us;
    uint32_t id;         /* the segment's SEQ */
    uint64_t digest;     /* FNV-1a of the whole packet */
};

struct receiver {
    uint32_t n;
    struct arrival *rx;
};

static double fabs_(double x)
{
    return x < 0 ? -x : x;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void sender_emit(struct sender *s, uint32_t id)
{
    static uint8_t payload[1400], pkt[1600];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + id);
    struct wire_tcp_out seg = {0};
    seg.src = s->src;
    seg.dst = s->dst;
    seg.sport = 1234;
    seg.dport = 80;
    seg.seq = id;
    seg.flags = s->flags;
    seg.wnd = 1000;
    seg.ttl = 64;
    seg.ip_id = (uint16_t)id;
    seg.data[0] = payload;
    seg.data_len[0] = s->payload;
    size_t n = wire_emit(pkt, sizeof pkt, &seg);
    s->link.send(s->link.arg, pkt, n);
}

static uint64_t sender_poll(void *arg, uint64_t now_us)
{
    struct sender *s = arg;
    while (s->sent < s->count && s->start_us + s->sent * s->interval_us <= now_us) {
        sender_emit(s, s->sent);
        s->sent++;
    }
    return s->sent < s->count ? s->start_us + s->sent * s->interval_us : UINT64_MAX;
}

static void sender_input(void *arg, const uint8_t *p, size_t n, uint64_t now_us)
{
    (void)arg, (void)p, (void)n, (void)now_us;
}

static void receiver_input(void *arg, const uint8_t *p, size_t n, uint64_t now_us)
{
    struct receiver *r = arg;
    if (r->n >= MAX_RX)
        return;
    struct arrival *a = &r->rx[r->n++];
    a->time_us = now_us;
    a->digest = fnv1a(p, n);
    a->id = n >= 28 ? (uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27]
                    : UINT32_MAX;
}

static uint64_t receiver_poll(void *arg, uint64_t now_us)
{
    (void)arg, (void)now_us;
    return UINT64_MAX;
}

/* A network of a sender at IP_A and a receiver at IP_B over path. */
struct rig {
    struct memnet *net;
    struct sender tx;
    struct receiver rx;
};

static void rig_init(struct rig *g, uint64_t seed, const struct memnet_path *path, uint32_t count,
                     uint64_t interval_us)
{
    memset(g, 0, sizeof *g);
    g->net = memnet_new(seed);
    int a = memnet_add_node(g->net, IP_A), b = memnet_add_node(g->net, IP_B);
    g->tx = (struct sender){.net = g->net, .link = memnet_link(g->net, a), .src = IP_A,
                            .dst = IP_B, .count = count, .start_us = 0,
                            .interval_us = interval_us, .payload = 100, .flags = SYNACK_ACK};
    g->rx.rx = calloc(MAX_RX, sizeof *g->rx.rx);
    struct memnet_node_ops ta = {&g->tx, sender_input, sender_poll};
    struct memnet_node_ops rb = {&g->rx, receiver_input, receiver_poll};
    memnet_attach(g->net, a, &ta);
    memnet_attach(g->net, b, &rb);
    if (path)
        memnet_set_path(g->net, IP_A, IP_B, path);
}

static void rig_free(struct rig *g)
{
    memnet_free(g->net);
    free(g->rx.rx);
}

/* ---- Link event capture ------------------------------------------------------------------ */

struct link_log {
    uint32_t n[5];                 /* per enum synack_link_action */
    struct synack_event last;      /* the last event */
    uint32_t delayed_ids[MAX_RX];  /* SEQ of every DELAYED packet */
    uint32_t ndelayed;
    bool bad_fields;               /* an event with wrong addresses or kind */
};

static void link_observe(void *arg, const struct synack_event *ev)
{
    struct link_log *l = arg;
    if (ev->kind != SYNACK_EV_LINK || ev->link_action < 1 || ev->link_action > 4 ||
        ev->local.ip != IP_A || ev->remote.ip != IP_B || ev->local.port != 1234 ||
        ev->remote.port != 80) {
        l->bad_fields = true;
        return;
    }
    l->n[ev->link_action]++;
    l->last = *ev;
    if (ev->link_action == SYNACK_LINK_DELAYED && l->ndelayed < MAX_RX)
        l->delayed_ids[l->ndelayed++] = ev->seq;
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void test_perfect_path_delivers_in_order_at_once(void)
{
    struct rig g;
    rig_init(&g, 1, NULL, 100, 10);
    memnet_run_until(g.net, 10000);
    CHECK_EQ(g.rx.n, 100);
    for (uint32_t i = 0; i < g.rx.n; i++) {
        CHECK_EQ(g.rx.rx[i].id, i);
        CHECK_EQ(g.rx.rx[i].time_us, i * 10); /* zero delay: arrives when sent */
    }
    struct memnet_stats st;
    memnet_stats(g.net, &st);
    CHECK_EQ(st.sent, 100);
    CHECK_EQ(st.delivered, 100);
    CHECK_EQ(st.lost + st.duplicated + st.reordered + st.corrupted + st.unroutable, 0);
    CHECK_EQ(memnet_now(g.net), 10000);
    rig_free(&g);
}

static void test_delay_is_exact(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 12345};
    rig_init(&g, 1, &p, 5, 1000);
    /* Nothing can arrive before the first delay has passed. */
    memnet_run_until(g.net, 12344);
    CHECK_EQ(g.rx.n, 0);
    CHECK_EQ(memnet_now(g.net), 12344);
    memnet_run_until(g.net, 100000);
    REQUIRE(g.rx.n == 5);
    for (uint32_t i = 0; i < 5; i++)
        CHECK_EQ(g.rx.rx[i].time_us, 12345 + i * 1000);
    rig_free(&g);
}

static void test_step_stops_at_limit(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 500};
    rig_init(&g, 1, &p, 1, 1);
    /* Step 1 (t = 0): the sender's first poll sends the packet. */
    CHECK(memnet_step(g.net, 100));
    CHECK_EQ(memnet_now(g.net), 0);
    CHECK_EQ(g.rx.n, 0);
    /* Nothing due by 100: false, clock left at the limit. */
    CHECK(!memnet_step(g.net, 100));
    CHECK_EQ(memnet_now(g.net), 100);
    /* The delivery is the next event. */
    CHECK(memnet_step(g.net, 1000));
    CHECK_EQ(memnet_now(g.net), 500);
    CHECK_EQ(g.rx.n, 1);
    CHECK(!memnet_step(g.net, UINT64_MAX));
    CHECK_EQ(memnet_now(g.net), 500); /* no limit: the clock does not run to infinity */
    rig_free(&g);
}

/* One run under faults; returns the receiver's trace digest and fills count. */
static uint64_t faulty_run(uint64_t seed, uint32_t *count)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 700, .loss = 0.1, .dup = 0.1, .reorder = 0.2,
                            .corrupt = 0.05};
    rig_init(&g, seed, &p, 2000, 50);
    memnet_run_until(g.net, 10000000);
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < g.rx.n; i++) {
        uint64_t v[3] = {g.rx.rx[i].time_us, g.rx.rx[i].id, g.rx.rx[i].digest};
        h = (h ^ fnv1a((const uint8_t *)v, sizeof v)) * 1099511628211ull;
    }
    *count = g.rx.n;
    rig_free(&g);
    return h;
}

static void test_same_seed_same_trace(void)
{
    uint32_t n1, n2, n3;
    uint64_t a = faulty_run(42, &n1), b = faulty_run(42, &n2), c = faulty_run(43, &n3);
    CHECK(n1 > 1000);
    CHECK_EQ(n1, n2);
    CHECK(a == b);
    CHECK(a != c); /* another seed: other faults, another trace */
}

static void test_loss_rate(void)
{
    struct rig g;
    struct memnet_path p = {.loss = 0.1};
    struct link_log log = {0};
    rig_init(&g, 7, &p, 20000, 1);
    memnet_set_observer(g.net, link_observe, &log);
    memnet_run_until(g.net, 1000000);
    struct memnet_stats st;
    memnet_stats(g.net, &st);
    CHECK_EQ(st.sent, 20000);
    CHECK_EQ(st.delivered + st.lost, 20000);
    CHECK_EQ(g.rx.n, st.delivered);
    /* 20000 draws at p = 0.1: standard deviation 42 packets; allow about 5 of them. */
    double rate = (double)st.lost / 20000.0;
    CHECK(fabs_(rate - 0.1) < 0.01);
    CHECK_EQ(log.n[SYNACK_LINK_LOST], st.lost);
    CHECK(!log.bad_fields);
    rig_free(&g);
}

static void test_duplication(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 100, .dup = 0.25};
    struct link_log log = {0};
    rig_init(&g, 9, &p, 4000, 10);
    memnet_set_observer(g.net, link_observe, &log);
    memnet_run_until(g.net, 1000000);
    struct memnet_stats st;
    memnet_stats(g.net, &st);
    CHECK_EQ(st.delivered, 4000 + st.duplicated);
    CHECK(fabs_((double)st.duplicated / 4000.0 - 0.25) < 0.03);
    CHECK_EQ(log.n[SYNACK_LINK_DUPLICATED], st.duplicated);
    /* Every duplicate arrives right after its original, identical to the byte. */
    uint32_t pairs = 0;
    for (uint32_t i = 1; i < g.rx.n; i++) {
        if (g.rx.rx[i].id == g.rx.rx[i - 1].id) {
            pairs++;
            CHECK(g.rx.rx[i].digest == g.rx.rx[i - 1].digest);
            CHECK_EQ(g.rx.rx[i].time_us, g.rx.rx[i - 1].time_us);
        }
    }
    CHECK_EQ(pairs, st.duplicated);
    CHECK(!log.bad_fields);
    rig_free(&g);
}

static void test_reordering(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 100, .reorder = 0.2, .reorder_us = 5000};
    struct link_log log = {0};
    rig_init(&g, 11, &p, 2000, 1000);
    memnet_set_observer(g.net, link_observe, &log);
    memnet_run_until(g.net, 10000000);
    struct memnet_stats st;
    memnet_stats(g.net, &st);
    REQUIRE(g.rx.n == 2000);
    CHECK(fabs_((double)st.reordered / 2000.0 - 0.2) < 0.04);
    CHECK_EQ(log.ndelayed, st.reordered);
    /* A held-back packet arrives exactly reorder_us late, the others on time. */
    static bool delayed[2000];
    memset(delayed, 0, sizeof delayed);
    for (uint32_t i = 0; i < log.ndelayed; i++)
        delayed[log.delayed_ids[i]] = true;
    uint32_t inversions = 0;
    for (uint32_t i = 0; i < g.rx.n; i++) {
        uint32_t id = g.rx.rx[i].id;
        uint64_t expect = (uint64_t)id * 1000 + 100 + (delayed[id] ? 5000 : 0);
        CHECK_EQ(g.rx.rx[i].time_us, expect);
        if (i > 0 && id < g.rx.rx[i - 1].id)
            inversions++;
    }
    CHECK(inversions > 0); /* 5 ms late at 1 ms spacing: overtaken by later packets */
    rig_free(&g);
}

static void test_default_reorder_delay(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 300, .reorder = 1.0};
    rig_init(&g, 3, &p, 1, 1);
    memnet_run_until(g.net, 100000);
    REQUIRE(g.rx.n == 1);
    CHECK_EQ(g.rx.rx[0].time_us, 300 + 2 * 300 + 1000); /* default: 2 x delay + 1 ms */
    rig_free(&g);
}

/* The rig's packets: 20 bytes IPv4 + 20 TCP + 100 payload = 1120 bits. */
#define RIG_PACKET_BITS 1120

static void test_rate_queues_packets_behind_each_other(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 500, .rate_bps = 1000000};
    rig_init(&g, 1, &p, 10, 0); /* all ten sent at t = 0 */
    memnet_run_until(g.net, 1000000);
    REQUIRE(g.rx.n == 10);
    /* 1 Mbit/s: 1120 us per packet, each waiting for the ones before it, then the delay. */
    for (uint32_t i = 0; i < 10; i++) {
        CHECK_EQ(g.rx.rx[i].id, i);
        CHECK_EQ(g.rx.rx[i].time_us, 500 + (i + 1) * 1120);
    }
    rig_free(&g);
}

static void test_rate_spaced_packets_do_not_queue(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 500, .rate_bps = 1000000};
    rig_init(&g, 1, &p, 10, 5000); /* one every 5 ms, longer than a transmission */
    memnet_run_until(g.net, 1000000);
    REQUIRE(g.rx.n == 10);
    for (uint32_t i = 0; i < 10; i++)
        CHECK_EQ(g.rx.rx[i].time_us, i * 5000 + 1120 + 500);
    rig_free(&g);
}

static void test_rate_has_no_rounding_drift(void)
{
    struct rig g;
    struct memnet_path p = {.rate_bps = 3000000}; /* 373.33 us a packet */
    rig_init(&g, 1, &p, 300, 0);
    memnet_run_until(g.net, 10000000);
    REQUIRE(g.rx.n == 300);
    /* Kept in nanoseconds: packet i ends within a microsecond of (i + 1) x 1120 / 3 us
     * (rounding each packet to whole microseconds would drift by 0.67 us a packet). */
    for (uint32_t i = 0; i < 300; i++) {
        double exact = (double)(i + 1) * RIG_PACKET_BITS / 3.0;
        CHECK(fabs_((double)g.rx.rx[i].time_us - exact) <= 1.0);
    }
    rig_free(&g);
}

static void test_rate_lost_packets_occupy_the_link(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 500, .rate_bps = 1000000, .loss = 0.5};
    rig_init(&g, 5, &p, 40, 0);
    memnet_run_until(g.net, 1000000);
    struct memnet_stats st;
    memnet_stats(g.net, &st);
    CHECK(st.lost > 0);
    REQUIRE(g.rx.n == 40 - st.lost);
    /* A packet arrives when it would have without the losses: lost ones were transmitted. */
    for (uint32_t i = 0; i < g.rx.n; i++)
        CHECK_EQ(g.rx.rx[i].time_us, 500 + (g.rx.rx[i].id + 1) * 1120);
    rig_free(&g);
}

static void test_rate_zero_is_unlimited(void)
{
    struct rig g;
    struct memnet_path p = {.delay_us = 500};
    rig_init(&g, 1, &p, 10, 0);
    memnet_run_until(g.net, 1000000);
    REQUIRE(g.rx.n == 10);
    for (uint32_t i = 0; i < 10; i++)
        CHECK_EQ(g.rx.rx[i].time_us, 500);
    rig_free(&g);
}

static void test_corruption_changes_one_byte(void)
{
    struct rig g;
    struct memnet_path p = {.corrupt = 0.3};
    struct link_log log = {0};
    rig_init(&g, 5, &p, 3000, 10);
    memnet_set_observer(g.net, link_observe, &log);
    memnet_run_until(g.net, 1000000);
    struct memnet_stats st;
    memnet_stats(g.net, &st);
    REQUIRE(g.rx.n == 3000);
    CHECK(fabs_((double)st.corrupted / 3000.0 - 0.3) < 0.04);
    CHECK_EQ(log.n[SYNACK_LINK_CORRUPTED], st.corrupted);
    /* The same packets through a clean network give the reference digests. */
    struct rig clean;
    rig_init(&clean, 5, NULL, 3000, 10);
    memnet_run_until(clean.net, 1000000);
    REQUIRE(clean.rx.n == 3000);
    uint32_t differ = 0;
    for (uint32_t i = 0; i < 3000; i++)
        differ += g.rx.rx[i].digest != clean.rx.rx[i].digest;
    CHECK_EQ(differ, st.corrupted);
    rig_free(&clean);
    rig_free(&g);
}

static void test_unroutable_and_bad_setup(void)
{
    struct memnet *net = memnet_new(1);
    int a = memnet_add_node(net, IP_A);
    CHECK_EQ(a, 0);
    CHECK_EQ(memnet_add_node(net, IP_A), -1); /* address in use */
    CHECK(!memnet_set_path(net, IP_A, IP_C, NULL));
    struct sender tx = {.net = net, .link = memnet_link(net, a), .src = IP_A, .dst = IP_C,
                        .count = 3, .interval_us = 1, .payload = 10, .flags = SYNACK_ACK};
    struct memnet_node_ops ops = {&tx, sender_input, sender_poll};
    memnet_attach(net, a, &ops);
    memnet_run_until(net, 100);
    struct memnet_stats st;
    memnet_stats(net, &st);
    CHECK_EQ(st.sent, 3);
    CHECK_EQ(st.unroutable, 3);
    CHECK_EQ(st.delivered, 0);
    /* A short packet cannot be routed either. */
    uint8_t junk[5] = {0};
    tx.link.send(tx.link.arg, junk, sizeof junk);
    memnet_stats(net, &st);
    CHECK_EQ(st.unroutable, 4);
    struct synack_link none = memnet_link(net, 7);
    CHECK(none.send == NULL);
    memnet_free(net);
    memnet_free(NULL);
}

static void test_three_nodes_route_by_address(void)
{
    struct memnet *net = memnet_new(1);
    int a = memnet_add_node(net, IP_A), b = memnet_add_node(net, IP_B);
    int c = memnet_add_node(net, IP_C);
    struct receiver rb = {0, calloc(MAX_RX, sizeof(struct arrival))};
    struct receiver rc = {0, calloc(MAX_RX, sizeof(struct arrival))};
    struct sender tb = {.net = net, .link = memnet_link(net, a), .src = IP_A, .dst = IP_B,
                        .count = 4, .interval_us = 1, .payload = 1, .flags = SYNACK_ACK};
    struct memnet_node_ops ob = {&rb, receiver_input, receiver_poll};
    struct memnet_node_ops oc = {&rc, receiver_input, receiver_poll};
    struct memnet_node_ops oa = {&tb, sender_input, sender_poll};
    memnet_attach(net, a, &oa);
    memnet_attach(net, b, &ob);
    memnet_attach(net, c, &oc);
    struct memnet_path slow = {.delay_us = 77};
    CHECK(memnet_set_path(net, IP_A, IP_C, &slow));
    memnet_run_until(net, 1000);
    CHECK_EQ(rb.n, 4);
    CHECK_EQ(rc.n, 0);
    /* Now to C, over its own path. */
    tb.dst = IP_C;
    tb.count = 6;
    memnet_run_until(net, 2000);
    CHECK_EQ(rc.n, 2);
    CHECK_EQ(rb.n, 4);
    CHECK_EQ(rc.rx[0].time_us, 1000 + 77);
    free(rb.rx);
    free(rc.rx);
    memnet_free(net);
}

/* ---- Corruption against a real stack ----------------------------------------------------- */

static void stack_node_input(void *arg, const uint8_t *p, size_t n, uint64_t now_us)
{
    synack_stack_input(arg, p, n, now_us);
}

static uint64_t stack_node_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

static void test_corruption_caught_by_stack_checksum(void)
{
    struct memnet *net = memnet_new(99);
    int a = memnet_add_node(net, IP_A), b = memnet_add_node(net, IP_B);
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = IP_B;
    struct synack_link link = memnet_link(net, b);
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    REQUIRE(s);
    /* SYNs with 1000 bytes of data to a closed port: every intact one is answered by RST,
     * every corrupted one must be dropped by a check (mostly the TCP checksum). */
    struct sender tx = {.net = net, .link = memnet_link(net, a), .src = IP_A, .dst = IP_B,
                        .count = 3000, .interval_us = 10, .payload = 1000,
                        .flags = SYNACK_SYN};
    struct memnet_node_ops oa = {&tx, sender_input, sender_poll};
    struct memnet_node_ops ob = {s, stack_node_input, stack_node_poll};
    memnet_attach(net, a, &oa);
    memnet_attach(net, b, &ob);
    struct memnet_path p = {.corrupt = 0.2};
    memnet_set_path(net, IP_A, IP_B, &p);
    memnet_run_until(net, 1000000);

    struct memnet_stats mst;
    memnet_stats(net, &mst);
    struct synack_stats st;
    synack_stack_stats(s, &st);
    CHECK(mst.corrupted > 400);
    CHECK_EQ(st.ip_in, 3000);
    CHECK_EQ(st.drops[SYNACK_DROP_NO_SOCKET], 3000 - mst.corrupted);
    CHECK_EQ(st.rst_out, 3000 - mst.corrupted);
    uint64_t other = 0;
    for (int r = 1; r < SYNACK_DROP_REASON_COUNT; r++)
        if (r != SYNACK_DROP_NO_SOCKET)
            other += st.drops[r];
    CHECK_EQ(other, mst.corrupted);
    /* The TCP part is 1020 of 1040 bytes: most damage is found by the TCP checksum. */
    CHECK(st.drops[SYNACK_DROP_TCP_CHECKSUM] > mst.corrupted * 8 / 10);
    CHECK(st.drops[SYNACK_DROP_TCP_CHECKSUM] < mst.corrupted);
    synack_stack_free(s);
    memnet_free(net);
}

/* ---- Whole runs of two stacks are reproducible -------------------------------------------- */

#define BULK 30000 /* bytes the client sends */

struct trace {
    uint64_t digest;   /* FNV-1a over the events, in order */
    uint64_t count;
};

static void trace_observe(void *arg, const struct synack_event *ev)
{
    struct trace *t = arg;
    uint64_t v[8] = {ev->time_us, (uint64_t)ev->kind, ev->local.ip, ev->local.port, ev->seq,
                     ev->ack, (uint64_t)ev->flags << 32 | ev->len,
                     (uint64_t)ev->link_action << 32 | (uint32_t)ev->state};
    t->digest = (t->digest ^ fnv1a((const uint8_t *)v, sizeof v)) * 1099511628211ull;
    t->count++;
}

/* A client sends BULK bytes over a faulty network to a server that reads them all; both
 * close. Returns whether every byte arrived intact, in order. */
/* lend: the stacks write their packets into buffers memnet lends (the link's buffer());
 * otherwise into their own, which memnet copies. */
static bool bulk_run(uint64_t seed, struct trace *t, bool lend, struct memnet_stats *stats)
{
    struct memnet *net = memnet_new(seed);
    int a = memnet_add_node(net, IP_A), b = memnet_add_node(net, IP_B);
    struct synack_config ca, cb;
    synack_config_default(&ca);
    synack_config_default(&cb);
    ca.ip = IP_A;
    cb.ip = IP_B;
    struct synack_link la = memnet_link(net, a), lb = memnet_link(net, b);
    if (!lend)
        la.buffer = lb.buffer = NULL;
    struct synack_stack *sa = synack_stack_new(&ca, &la), *sb = synack_stack_new(&cb, &lb);
    struct memnet_node_ops oa = {sa, stack_node_input, stack_node_poll};
    struct memnet_node_ops ob = {sb, stack_node_input, stack_node_poll};
    memnet_attach(net, a, &oa);
    memnet_attach(net, b, &ob);
    struct memnet_path p = {.delay_us = 5000, .loss = 0.05, .dup = 0.02, .reorder = 0.05,
                            .corrupt = 0.01};
    memnet_set_path(net, IP_A, IP_B, &p);
    memnet_set_path(net, IP_B, IP_A, &p);
    memset(t, 0, sizeof *t);
    t->digest = 1469598103934665603ull;
    synack_stack_set_observer(sa, trace_observe, t);
    synack_stack_set_observer(sb, trace_observe, t);
    memnet_set_observer(net, trace_observe, t);

    int l = synack_socket(sb);
    struct synack_addr any = {0, 80}, srv = {IP_B, 80};
    synack_bind(sb, l, &any);
    synack_listen(sb, l, 4);
    int c = synack_socket(sa);
    synack_connect(sa, c, &srv);
    static uint8_t out[BULK], in[BULK];
    for (int i = 0; i < BULK; i++)
        out[i] = (uint8_t)(i * 13 + (i >> 9));
    uint32_t sent = 0, got = 0;
    int s = -1;
    bool client_closed = false, server_closed = false;
    while (memnet_now(net) < 600 * 1000000ull && !server_closed) {
        memnet_run_until(net, memnet_now(net) + 1000);
        if (s < 0)
            s = synack_accept(sb, l, NULL);
        if (sent < BULK) {
            int n = synack_send(sa, c, out + sent, BULK - sent);
            if (n > 0)
                sent += (uint32_t)n;
        } else if (!client_closed && (synack_readiness(sa, c) & SYNACK_CONNECTED)) {
            /* CLOSE in SYN-SENT would delete the queued data (RFC 9293 3.10.4). */
            synack_close(sa, c);
            client_closed = true;
        }
        if (s >= 0) {
            int n;
            while ((n = synack_recv(sb, s, in + got, BULK - got)) > 0)
                got += (uint32_t)n;
            if (n == 0) {
                synack_close(sb, s);
                server_closed = true;
            }
        }
    }
    bool ok = server_closed && got == BULK && memcmp(in, out, BULK) == 0;
    if (stats)
        memnet_stats(net, stats);
    synack_stack_free(sa);
    synack_stack_free(sb);
    memnet_free(net);
    return ok;
}

static void test_stack_runs_are_reproducible(void)
{
    struct trace t1, t2, t3;
    CHECK(bulk_run(2024, &t1, true, NULL));
    CHECK(bulk_run(2024, &t2, true, NULL));
    CHECK(bulk_run(2025, &t3, true, NULL));
    CHECK(t1.count > 100);
    CHECK_EQ(t1.count, t2.count);
    CHECK(t1.digest == t2.digest);
    CHECK(t1.digest != t3.digest);
}

/* Packets written into lent buffers take exactly the path of packets memnet copies: with
 * loss, duplication, reordering and corruption, the same events, counters and bytes. */
static void test_lent_buffers_change_nothing(void)
{
    uint64_t lost = 0, duplicated = 0, corrupted = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        struct trace lent, copied;
        struct memnet_stats sl, sc;
        CHECK(bulk_run(seed, &lent, true, &sl));
        CHECK(bulk_run(seed, &copied, false, &sc));
        CHECK(lent.count > 100);
        CHECK_EQ(lent.count, copied.count);
        CHECK(lent.digest == copied.digest);
        CHECK(sl.sent == sc.sent && sl.delivered == sc.delivered && sl.lost == sc.lost);
        CHECK(sl.duplicated == sc.duplicated && sl.corrupted == sc.corrupted);
        lost += sl.lost;
        duplicated += sl.duplicated;
        corrupted += sl.corrupted;
    }
    CHECK(lost > 0 && duplicated > 0 && corrupted > 0); /* every fault was exercised */
}

/* A lent buffer holds exactly what was written into it when delivered; one lent and never
 * sent is taken back by the next request (ASan would report it leaked otherwise), and a send
 * from another buffer is still copied. */
static void test_lent_buffer_delivery(void)
{
    struct rig g;
    rig_init(&g, 1, NULL, 0, 1);
    struct synack_link l = g.tx.link;
    CHECK(l.buffer != NULL);
    uint8_t *abandoned = l.buffer(l.arg, 100);
    CHECK(abandoned != NULL);
    struct wire_tcp_out seg = {0};
    seg.src = IP_A;
    seg.dst = IP_B;
    seg.sport = 1;
    seg.dport = 2;
    seg.seq = 42;
    seg.flags = SYNACK_ACK;
    size_t len = wire_emit_len(&seg);
    uint8_t *buf = l.buffer(l.arg, len);
    CHECK(buf != NULL);
    CHECK_EQ(wire_emit(buf, len, &seg), len);
    uint64_t want = fnv1a(buf, len);
    l.send(l.arg, buf, len);
    uint8_t own[64];
    CHECK_EQ(wire_emit(own, sizeof own, &seg), len);
    l.send(l.arg, own, len);
    memnet_run_until(g.net, 10);
    CHECK_EQ(g.rx.n, 2);
    CHECK(g.rx.rx[0].digest == want && g.rx.rx[1].digest == want);
    CHECK_EQ(g.rx.rx[0].id, 42);
    CHECK(l.buffer(l.arg, 10) == NULL); /* shorter than an IPv4 header */
    CHECK(l.buffer(l.arg, MEMNET_MTU + 1) == NULL);
    rig_free(&g);
}

int main(void)
{
    RUN(test_perfect_path_delivers_in_order_at_once);
    RUN(test_delay_is_exact);
    RUN(test_step_stops_at_limit);
    RUN(test_same_seed_same_trace);
    RUN(test_loss_rate);
    RUN(test_duplication);
    RUN(test_reordering);
    RUN(test_default_reorder_delay);
    RUN(test_rate_queues_packets_behind_each_other);
    RUN(test_rate_spaced_packets_do_not_queue);
    RUN(test_rate_has_no_rounding_drift);
    RUN(test_rate_lost_packets_occupy_the_link);
    RUN(test_rate_zero_is_unlimited);
    RUN(test_corruption_changes_one_byte);
    RUN(test_unroutable_and_bad_setup);
    RUN(test_three_nodes_route_by_address);
    RUN(test_corruption_caught_by_stack_checksum);
    RUN(test_stack_runs_are_reproducible);
    RUN(test_lent_buffers_change_nothing);
    RUN(test_lent_buffer_delivery);
    return check_summary();
}
