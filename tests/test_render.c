/*
 * test_render.c: the JSON, summary and SVG renderers (src/trace/json.c, summary.c, svg.c)
 * fed with synthetic trace events; their output checked exactly (JSON, summary) or for the
 * properties the picture must have (SVG: one arrow per segment, lost segments crossed,
 * retransmissions marked, TIME-WAIT shaded and labelled, labels that never overlap, long
 * transfers summarised to a bounded size).
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "trace/json.h"
#include "trace/summary.h"
#include "trace/svg.h"

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u /* 10.0.0.2 */
#define SYN SYNACK_SYN
#define ACK SYNACK_ACK
#define FIN SYNACK_FIN
#define PSH SYNACK_PSH

static const struct synack_addr addr_a = {IP_A, 1000};
static const struct synack_addr addr_b = {IP_B, 2000};

/* A memory stream. */
struct mem {
    char *text;
    size_t size;
    FILE *f;
};

static bool mem_open(struct mem *m)
{
    memset(m, 0, sizeof *m);
    m->f = open_memstream(&m->text, &m->size);
    return m->f != NULL;
}

static const char *mem_text(struct mem *m)
{
    fflush(m->f);
    return m->text ? m->text : "";
}

static void mem_close(struct mem *m)
{
    if (m->f)
        fclose(m->f);
    free(m->text);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

typedef void (*observe_fn)(void *, const struct synack_event *);

/* A segment event: from_a tells the direction; kind SEG_OUT (local = sender) or SEG_IN. */
static void seg(observe_fn fn, void *arg, int kind, bool from_a, uint32_t seq, uint32_t ack,
                uint8_t flags, uint32_t len, int state, uint64_t t, bool rtx)
{
    struct synack_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_us = t;
    bool local_is_a = (kind == SYNACK_EV_SEG_OUT) == from_a;
    ev.local = local_is_a ? addr_a : addr_b;
    ev.remote = local_is_a ? addr_b : addr_a;
    ev.seq = seq;
    ev.ack = ack;
    ev.flags = flags;
    ev.len = len;
    ev.wnd = 65535;
    ev.wscale = -1;
    ev.state = ev.old_state = state;
    ev.retransmit = rtx;
    fn(arg, &ev);
}

static void state(observe_fn fn, void *arg, bool side_a, int from, int to, uint64_t t)
{
    struct synack_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_STATE;
    ev.time_us = t;
    ev.local = side_a ? addr_a : addr_b;
    ev.remote = side_a ? addr_b : addr_a;
    ev.old_state = from;
    ev.state = to;
    ev.wscale = -1;
    fn(arg, &ev);
}

static void lost(observe_fn fn, void *arg, bool from_a, uint32_t seq, uint32_t ack,
                 uint8_t flags, uint32_t len, uint64_t t)
{
    struct synack_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_LINK;
    ev.link_action = SYNACK_LINK_LOST;
    ev.time_us = t;
    ev.local = from_a ? addr_a : addr_b;
    ev.remote = from_a ? addr_b : addr_a;
    ev.seq = seq;
    ev.ack = ack;
    ev.flags = flags;
    ev.len = len;
    ev.wscale = -1;
    fn(arg, &ev);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void test_json_lines(void)
{
    struct mem m;
    REQUIRE(mem_open(&m));
    struct json_trace *j = json_new(m.f, addr_a, (struct synack_addr){IP_B, 0});
    REQUIRE(j != NULL);
    struct synack_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_SEG_OUT;
    ev.time_us = 1500;
    ev.local = addr_a;
    ev.remote = addr_b;
    ev.seq = 100;
    ev.flags = SYN;
    ev.wnd = 65535;
    ev.mss = 1460;
    ev.wscale = 7;
    ev.sack_permitted = true;
    ev.state = ev.old_state = SYNACK_SYN_SENT;
    json_observe(j, &ev);
    state(json_observe, j, false, SYNACK_LISTEN, SYNACK_SYN_RECEIVED, 2500);
    seg(json_observe, j, SYNACK_EV_SEG_IN, true, 100, 0, SYN, 0, SYNACK_SYN_RECEIVED, 2500,
        false);
    lost(json_observe, j, false, 300, 101, SYN | ACK, 0, 2500);
    /* Another peer: side null, its address in the direction. */
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_SEG_IN;
    ev.time_us = 3000;
    ev.local = addr_b;
    ev.remote = (struct synack_addr){0x0a000042u, 40001};
    ev.seq = 7;
    ev.flags = SYN;
    ev.wscale = -1;
    ev.state = ev.old_state = SYNACK_LISTEN;
    ev.reason = SYNACK_DROP_BACKLOG_FULL;
    json_observe(j, &ev);
    CHECK_EQ(json_flush(j), 0);
    static const char expect[] =
        "{\"time_us\":1500,\"time\":\"0.001500\",\"event\":\"seg_out\",\"side\":\"A\","
        "\"direction\":\"A->B\",\"local\":\"10.0.0.1:1000\",\"remote\":\"10.0.0.2:2000\","
        "\"seq\":100,\"ack\":0,\"flags\":[\"SYN\"],\"window\":65535,\"length\":0,"
        "\"options\":{\"mss\":1460,\"wscale\":7,\"sack_permitted\":true},\"retransmit\":false,"
        "\"old_state\":\"SYN-SENT\",\"new_state\":\"SYN-SENT\",\"reason\":null,\"link\":null}\n"
        "{\"time_us\":2500,\"time\":\"0.002500\",\"event\":\"state\",\"side\":\"B\","
        "\"direction\":\"B->A\",\"local\":\"10.0.0.2:2000\",\"remote\":\"10.0.0.1:1000\","
        "\"seq\":null,\"ack\":null,\"flags\":null,\"window\":null,\"length\":null,"
        "\"options\":null,\"retransmit\":null,\"old_state\":\"LISTEN\","
        "\"new_state\":\"SYN-RECEIVED\",\"reason\":null,\"link\":null}\n"
        "{\"time_us\":2500,\"time\":\"0.002500\",\"event\":\"seg_in\",\"side\":\"B\","
        "\"direction\":\"A->B\",\"local\":\"10.0.0.2:2000\",\"remote\":\"10.0.0.1:1000\","
        "\"seq\":100,\"ack\":0,\"flags\":[\"SYN\"],\"window\":65535,\"length\":0,"
        "\"options\":{},\"retransmit\":false,\"old_state\":\"SYN-RECEIVED\","
        "\"new_state\":\"SYN-RECEIVED\",\"reason\":null,\"link\":null}\n"
        "{\"time_us\":2500,\"time\":\"0.002500\",\"event\":\"link\",\"side\":null,"
        "\"direction\":\"B->A\",\"local\":\"10.0.0.2:2000\",\"remote\":\"10.0.0.1:1000\","
        "\"seq\":300,\"ack\":101,\"flags\":[\"SYN\",\"ACK\"],\"window\":0,\"length\":0,"
        "\"options\":{},\"retransmit\":false,\"old_state\":null,\"new_state\":null,"
        "\"reason\":null,\"link\":\"lost\"}\n"
        "{\"time_us\":3000,\"time\":\"0.003000\",\"event\":\"seg_in\",\"side\":\"B\","
        "\"direction\":\"10.0.0.66:40001->B\",\"local\":\"10.0.0.2:2000\","
        "\"remote\":\"10.0.0.66:40001\",\"seq\":7,\"ack\":0,\"flags\":[\"SYN\"],\"window\":0,"
        "\"length\":0,\"options\":{},\"retransmit\":false,\"old_state\":\"LISTEN\","
        "\"new_state\":\"LISTEN\",\"reason\":\"backlog-full\",\"link\":null}\n";
    CHECK_STR(mem_text(&m), expect);
    json_free(j);
    mem_close(&m);
}

/* ---- Summary -------------------------------------------------------------------------------- */

static void test_summary(void)
{
    struct mem m;
    REQUIRE(mem_open(&m));
    struct summary *s = summary_new("TCP Peer A", (struct synack_addr){IP_A, 0},
                                    SYNACK_CLOSED, "TCP Peer B", addr_b, SYNACK_LISTEN, 0);
    REQUIRE(s != NULL);
    state(summary_observe, s, true, SYNACK_CLOSED, SYNACK_SYN_SENT, 0);
    state(summary_observe, s, false, SYNACK_CLOSED, SYNACK_LISTEN, 1000); /* a child: no change */
    state(summary_observe, s, false, SYNACK_LISTEN, SYNACK_SYN_RECEIVED, 1000);
    state(summary_observe, s, true, SYNACK_SYN_SENT, SYNACK_ESTABLISHED, 2000);
    state(summary_observe, s, false, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED, 3000);
    state(summary_observe, s, true, SYNACK_ESTABLISHED, SYNACK_TIME_WAIT, 1003000);
    state(summary_observe, s, true, SYNACK_TIME_WAIT, SYNACK_CLOSED, 241003000);
    summary_print(s, m.f, 241003000);
    CHECK_STR(mem_text(&m),
              "states (time spent in each):\n"
              "  TCP Peer A 10.0.0.1:1000\n"
              "    CLOSED            0 s\n"
              "    SYN-SENT          2 ms\n"
              "    ESTABLISHED       1.001 s\n"
              "    TIME-WAIT         240 s\n"
              "    CLOSED            0 s (at the end)\n"
              "  TCP Peer B 10.0.0.2:2000\n"
              "    LISTEN            1 ms\n"
              "    SYN-RECEIVED      2 ms\n"
              "    ESTABLISHED       241 s (at the end)\n");
    int states[8];
    uint64_t at[8];
    CHECK_EQ(summary_path(s, SUMMARY_A, states, at, 8), 5);
    CHECK_EQ(states[3], SYNACK_TIME_WAIT);
    CHECK_EQ(at[3], 1003000);
    summary_free(s);
    mem_close(&m);
}

/* ---- SVG ------------------------------------------------------------------------------------ */

/* The y of every side label (class state or note) on side x, in document order. */
static int label_ys(const char *svg, const char *anchor, double *ys, int max)
{
    int n = 0;
    for (const char *p = svg; (p = strstr(p, "<text x=\"")) != NULL && n < max; p++) {
        const char *end = strchr(p, '>');
        if (end == NULL)
            break;
        char tag[256];
        snprintf(tag, sizeof tag, "%.*s", (int)(end - p), p);
        if ((strstr(tag, "class=\"state\"") || strstr(tag, "class=\"note\"")) &&
            strstr(tag, anchor)) {
            double x, y;
            if (sscanf(tag, "<text x=\"%lf\" y=\"%lf\"", &x, &y) == 2)
                ys[n++] = y;
        }
    }
    return n;
}

/* A handshake with a lost SYN and its retransmission, data, a close and TIME-WAIT. */
static void test_svg_picture(void)
{
    struct mem m;
    REQUIRE(mem_open(&m));
    struct svg *g = svg_new("TCP Peer A", addr_a, SYNACK_CLOSED, "TCP Peer B", addr_b,
                            SYNACK_LISTEN);
    REQUIRE(g != NULL);
    svg_set_title(g, "a <test> & more");
    svg_set_msl(g, 120000000);
    state(svg_observe, g, true, SYNACK_CLOSED, SYNACK_SYN_SENT, 0);
    seg(svg_observe, g, SYNACK_EV_SEG_OUT, true, 100, 0, SYN, 0, SYNACK_SYN_SENT, 0, false);
    lost(svg_observe, g, true, 100, 0, SYN, 0, 0);
    seg(svg_observe, g, SYNACK_EV_SEG_OUT, true, 100, 0, SYN, 0, SYNACK_SYN_SENT, 1000000, true);
    state(svg_observe, g, false, SYNACK_LISTEN, SYNACK_SYN_RECEIVED, 1001000);
    seg(svg_observe, g, SYNACK_EV_SEG_OUT, false, 300, 101, SYN | ACK, 0, SYNACK_SYN_RECEIVED,
        1001000, false);
    seg(svg_observe, g, SYNACK_EV_SEG_IN, true, 100, 0, SYN, 0, SYNACK_SYN_RECEIVED, 1001000,
        false);
    state(svg_observe, g, true, SYNACK_SYN_SENT, SYNACK_ESTABLISHED, 1002000);
    seg(svg_observe, g, SYNACK_EV_SEG_OUT, true, 101, 301, ACK, 0, SYNACK_ESTABLISHED, 1002000,
        false);
    seg(svg_observe, g, SYNACK_EV_SEG_IN, false, 300, 101, SYN | ACK, 0, SYNACK_ESTABLISHED,
        1002000, false);
    svg_note(g, SVG_A, "(Close)");
    state(svg_observe, g, true, SYNACK_ESTABLISHED, SYNACK_TIME_WAIT, 1002000);
    state(svg_observe, g, true, SYNACK_TIME_WAIT, SYNACK_CLOSED, 241002000);
    CHECK_EQ(svg_write(g, m.f), 0);
    const char *t = mem_text(&m);
    CHECK(strncmp(t, "<?xml version=\"1.0\"", 19) == 0);
    CHECK(strstr(t, "</svg>\n") != NULL);
    CHECK(strstr(t, "a &lt;test&gt; &amp; more") != NULL); /* text is escaped */
    /* One arrow per segment (and the legend's three); the lost SYN's cross (and the
     * legend's). */
    CHECK_EQ(count(t, "class=\"msg "), 4 + 3);
    CHECK_EQ(count(t, "class=\"cross\""), 1 + 1);
    CHECK_EQ(count(t, "class=\"msg rtx\""), 1 + 1);          /* its retransmission, legend */
    CHECK(strstr(t, "retransmission &lt;SEQ=100&gt;&lt;CTL=SYN&gt;") != NULL);
    CHECK(strstr(t, "&lt;SEQ=100&gt;&lt;CTL=SYN&gt; (lost)") != NULL);
    CHECK_EQ(count(t, "class=\"tw\""), 1);                   /* TIME-WAIT's span */
    CHECK(strstr(t, ">2 x MSL = 240 s<") != NULL);
    CHECK(strstr(t, ">+240 s<") != NULL);                    /* the break */
    CHECK(strstr(t, ">(Close)<") != NULL);
    /* Side labels never overlap: each at least 14 px below the one before. */
    const char *anchors[2] = {"text-anchor=\"end\"", "text-anchor=\"start\""};
    for (int s = 0; s < 2; s++) {
        double ys[64];
        int n = label_ys(t, anchors[s], ys, 64);
        CHECK(n >= 2);
        for (int i = 1; i < n; i++)
            CHECK(ys[i] >= ys[i - 1] + 13.9);
    }
    svg_free(g);
    mem_close(&m);
}

/* 200 data segments and their ACKs: the middle is one summary band, and the picture stays
 * about as tall as one with 40 segments. */
static void test_svg_long_transfer(void)
{
    struct mem m;
    REQUIRE(mem_open(&m));
    struct svg *g = svg_new("A", addr_a, SYNACK_ESTABLISHED, "B", addr_b, SYNACK_ESTABLISHED);
    REQUIRE(g != NULL);
    uint64_t t = 0;
    for (uint32_t i = 0; i < 200; i++, t += 1000) {
        uint32_t seq = 1000 + i * 1460;
        seg(svg_observe, g, SYNACK_EV_SEG_OUT, true, seq, 1, ACK | PSH, 1460,
            SYNACK_ESTABLISHED, t, false);
        seg(svg_observe, g, SYNACK_EV_SEG_OUT, false, 1, seq + 1460, ACK, 0, SYNACK_ESTABLISHED,
            t + 500, false);
        seg(svg_observe, g, SYNACK_EV_SEG_IN, true, seq, 1, ACK | PSH, 1460, SYNACK_ESTABLISHED,
            t + 500, false);
        seg(svg_observe, g, SYNACK_EV_SEG_IN, false, 1, seq + 1460, ACK, 0, SYNACK_ESTABLISHED,
            t + 1000, false);
    }
    CHECK_EQ(svg_write(g, m.f), 0);
    const char *text = mem_text(&m);
    CHECK_EQ(count(text, "class=\"band\""), 1);
    CHECK(strstr(text, "388 more segments: 194 with data (283240 bytes), 194 ACKs") != NULL);
    CHECK_EQ(count(text, "class=\"msg "), 2 * 6 + 3); /* 6 at each end, and the legend */
    if (getenv("RENDER_DEBUG")) { /* to look at it: RENDER_DEBUG=1 ./test_render */
        FILE *f = fopen("long-transfer.svg", "w");
        if (f) {
            fputs(text, f);
            fclose(f);
        }
    }
    double height = 0;
    const char *h = strstr(text, "height=\"");
    CHECK(h != NULL && sscanf(h, "height=\"%lf\"", &height) == 1);
    CHECK(height > 300 && height < 1200);
    svg_free(g);
    mem_close(&m);
}

int main(void)
{
    RUN(test_json_lines);
    RUN(test_summary);
    RUN(test_svg_picture);
    RUN(test_svg_long_transfer);
    return check_summary();
}
