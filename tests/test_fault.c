/*
 * test_fault.c: fault injection for any link (src/link/fault.h): pass-through when clean,
 * the loss rate and its determinism per seed, the LINK events of lost packets, delay (due
 * times, order, deadline), the bound on held bytes, and parsing of --loss values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/fault.h"
#include "synack.h"
#include "wire/wire.h"

struct sink {
    int count;
    size_t bytes;
    uint8_t last[64];
    size_t last_len;
    uint8_t order[256];       /* first byte of each delivered packet */
};

static void deliver(void *arg, const uint8_t *p, size_t len)
{
    struct sink *s = arg;
    if (s->count < 256)
        s->order[s->count] = p[0];
    s->count++;
    s->bytes += len;
    s->last_len = len < sizeof s->last ? len : sizeof s->last;
    memcpy(s->last, p, s->last_len);
}

static void test_clean_passes_through(void)
{
    struct sink s = {0};
    struct fault_cfg cfg = {0};
    struct fault_dir *d = fault_dir_new(&cfg, deliver, &s);
    REQUIRE(d != NULL);
    CHECK(fault_dir_is_clean(d));
    uint8_t p[10] = {1, 2, 3};
    for (int i = 0; i < 100; i++)
        CHECK(fault_dir_push(d, p, sizeof p, 0));
    CHECK_EQ(s.count, 100);
    CHECK_EQ(fault_dir_deadline(d), UINT64_MAX);
    struct fault_stats st;
    fault_dir_stats(d, &st);
    CHECK_EQ(st.passed, 100);
    CHECK_EQ(st.lost, 0);
    fault_dir_free(d);
}

/* 5% loss over 100000 packets loses 5% within a few standard deviations (sd = 69), and the
 * same seed loses exactly the same packets. */
static int lost_pattern(uint64_t seed, uint8_t *lost, int n)
{
    struct sink s = {0};
    struct fault_cfg cfg = {.loss = 0.05, .seed = seed};
    struct fault_dir *d = fault_dir_new(&cfg, deliver, &s);
    if (d == NULL)
        return -1;
    uint8_t p[1] = {0};
    int count = 0;
    for (int i = 0; i < n; i++) {
        lost[i] = !fault_dir_push(d, p, 1, (uint64_t)i);
        count += lost[i];
    }
    fault_dir_free(d);
    return count;
}

static void test_loss_rate_and_determinism(void)
{
    enum { N = 100000 };
    static uint8_t a[N], b[N], c[N];
    int la = lost_pattern(7, a, N), lb = lost_pattern(7, b, N), lc = lost_pattern(8, c, N);
    CHECK(la > 5000 - 350 && la < 5000 + 350);
    CHECK(lc > 5000 - 350 && lc < 5000 + 350);
    CHECK_EQ(la, lb);
    CHECK(memcmp(a, b, N) == 0);
    CHECK(memcmp(a, c, N) != 0);
}

struct events {
    int lost;
    struct synack_event last;
};

static void observe(void *arg, const struct synack_event *ev)
{
    struct events *e = arg;
    if (ev->kind == SYNACK_EV_LINK && ev->link_action == SYNACK_LINK_LOST)
        e->lost++;
    e->last = *ev;
}

/* A lost TCP segment is reported with its addresses, ports, SEQ, ACK and flags. */
static void test_loss_event(void)
{
    struct sink s = {0};
    struct events e = {0};
    struct fault_cfg cfg = {.loss = 1.0};
    struct fault_dir *d = fault_dir_new(&cfg, deliver, &s);
    REQUIRE(d != NULL);
    fault_dir_set_observer(d, observe, &e);
    struct wire_tcp_out seg = {.src = 0x0a000001, .dst = 0x0a000002, .sport = 1234, .dport = 80,
                               .seq = 1000, .ack = 2000, .flags = SYNACK_ACK | SYNACK_PSH,
                               .wnd = 500, .ttl = 64};
    uint8_t payload[5] = "hello";
    seg.data[0] = payload;
    seg.data_len[0] = 5;
    uint8_t pkt[100];
    size_t n = wire_emit(pkt, sizeof pkt, &seg);
    REQUIRE(n > 0);
    CHECK(!fault_dir_push(d, pkt, n, 777));
    CHECK_EQ(s.count, 0);
    CHECK_EQ(e.lost, 1);
    CHECK_EQ(e.last.time_us, 777);
    CHECK_EQ(e.last.local.ip, 0x0a000001);
    CHECK_EQ(e.last.local.port, 1234);
    CHECK_EQ(e.last.remote.ip, 0x0a000002);
    CHECK_EQ(e.last.remote.port, 80);
    CHECK_EQ(e.last.seq, 1000);
    CHECK_EQ(e.last.ack, 2000);
    CHECK_EQ(e.last.len, 5);
    CHECK_EQ(e.last.flags, SYNACK_ACK | SYNACK_PSH);
    fault_dir_free(d);
}

/* Delay: nothing leaves before entry + delay; packets leave in entry order; the deadline is
 * the oldest packet's due time. */
static void test_delay(void)
{
    struct sink s = {0};
    struct fault_cfg cfg = {.delay_us = 1000};
    struct fault_dir *d = fault_dir_new(&cfg, deliver, &s);
    REQUIRE(d != NULL);
    CHECK(!fault_dir_is_clean(d));
    for (uint8_t i = 0; i < 5; i++) {
        uint8_t p[3] = {i, 0, 0};
        CHECK(fault_dir_push(d, p, sizeof p, 100 + (uint64_t)i * 100));
    }
    CHECK_EQ(s.count, 0);
    CHECK_EQ(fault_dir_deadline(d), 1100);
    fault_dir_release(d, 1099);
    CHECK_EQ(s.count, 0);
    fault_dir_release(d, 1300);
    CHECK_EQ(s.count, 3);
    CHECK_EQ(fault_dir_deadline(d), 1400);
    fault_dir_release(d, 5000);
    CHECK_EQ(s.count, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(s.order[i], i);
    CHECK_EQ(fault_dir_deadline(d), UINT64_MAX);
    struct fault_stats st;
    fault_dir_stats(d, &st);
    CHECK_EQ(st.passed, 5);
    CHECK_EQ(st.held, 0);
    /* Held packets are freed with the direction (ASan would report a leak otherwise). */
    uint8_t p[3] = {9, 9, 9};
    CHECK(fault_dir_push(d, p, sizeof p, 6000));
    fault_dir_free(d);
}

/* The held bytes are bounded: beyond queue_max packets are dropped as overflow. */
static void test_queue_bound(void)
{
    struct sink s = {0};
    struct fault_cfg cfg = {.delay_us = 10, .queue_max = 1000};
    struct fault_dir *d = fault_dir_new(&cfg, deliver, &s);
    REQUIRE(d != NULL);
    uint8_t p[300] = {0};
    CHECK(fault_dir_push(d, p, sizeof p, 0));
    CHECK(fault_dir_push(d, p, sizeof p, 0));
    CHECK(fault_dir_push(d, p, sizeof p, 0));
    CHECK(!fault_dir_push(d, p, sizeof p, 0));
    struct fault_stats st;
    fault_dir_stats(d, &st);
    CHECK_EQ(st.overflow, 1);
    CHECK_EQ(st.held, 3);
    fault_dir_release(d, 10);
    CHECK_EQ(s.count, 3);
    fault_dir_free(d);
}

static void test_bad_config(void)
{
    struct sink s = {0};
    struct fault_cfg cfg = {.loss = 1.5};
    CHECK(fault_dir_new(&cfg, deliver, &s) == NULL);
    cfg.loss = -0.1;
    CHECK(fault_dir_new(&cfg, deliver, &s) == NULL);
    cfg.loss = NAN;
    CHECK(fault_dir_new(&cfg, deliver, &s) == NULL);
    cfg.loss = 0;
    CHECK(fault_dir_new(&cfg, NULL, &s) == NULL);
    CHECK(fault_dir_new(NULL, deliver, &s) == NULL);
}

static void test_parse_loss(void)
{
    double v = -1;
    CHECK(fault_parse_loss("0.05", &v));
    CHECK(v == 0.05);
    CHECK(fault_parse_loss("5%", &v));
    CHECK(v > 0.0499999 && v < 0.0500001);
    CHECK(fault_parse_loss("0", &v) && v == 0);
    CHECK(fault_parse_loss("1", &v) && v == 1);
    CHECK(fault_parse_loss("100%", &v) && v == 1);
    CHECK(fault_parse_loss(".5", &v) && v == 0.5);
    CHECK(!fault_parse_loss("1.5", &v));
    CHECK(!fault_parse_loss("101%", &v));
    CHECK(!fault_parse_loss("-0.1", &v));
    CHECK(!fault_parse_loss("", &v));
    CHECK(!fault_parse_loss("%", &v));
    CHECK(!fault_parse_loss("5 %", &v));
    CHECK(!fault_parse_loss("nan", &v));
    CHECK(!fault_parse_loss("1e-2", &v));
    CHECK(!fault_parse_loss("0x1", &v));
    CHECK(!fault_parse_loss("0.1.2", &v));
    CHECK(!fault_parse_loss(NULL, &v));
}

int main(void)
{
    RUN(test_clean_passes_through);
    RUN(test_loss_rate_and_determinism);
    RUN(test_loss_event);
    RUN(test_delay);
    RUN(test_queue_bound);
    RUN(test_bad_config);
    RUN(test_parse_loss);
    return check_summary();
}
