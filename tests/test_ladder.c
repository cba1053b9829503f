/*
 * test_ladder.c: the ladder renderer (src/trace/ladder.c) fed with synthetic trace events,
 * its output compared with the exact expected text.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "link/memnet.h"
#include "trace/ladder.h"

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u /* 10.0.0.2 */

static const struct synack_addr addr_a = {IP_A, 49152};
static const struct synack_addr addr_b = {IP_B, 7};

/* A ladder writing into memory. */
struct capture {
    char *text;
    size_t size;
    FILE *f;
    struct ladder *l;
};

static void capture_open(struct capture *c, struct synack_addr a, int state_a, int state_b)
{
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->text, &c->size);
    c->l = c->f ? ladder_new(c->f, "TCP A", a, state_a, "TCP B", addr_b, state_b) : NULL;
}

/* Everything written so far (valid until the next call). */
static const char *capture_text(struct capture *c)
{
    fflush(c->f);
    return c->text ? c->text : "";
}

static void capture_close(struct capture *c)
{
    ladder_free(c->l);
    if (c->f)
        fclose(c->f);
    free(c->text);
}

/* Event builders. from_a: the segment travels A -> B. */
static void seg(struct capture *c, int kind, bool from_a, uint32_t seq, uint32_t ack,
                uint8_t flags, uint32_t len, int state, uint64_t t)
{
    struct synack_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_us = t;
    /* SEG_OUT: local is the sender; SEG_IN: local is the receiver. */
    bool local_is_a = (kind == SYNACK_EV_SEG_OUT) == from_a;
    ev.local = local_is_a ? addr_a : addr_b;
    ev.remote = local_is_a ? addr_b : addr_a;
    ev.seq = seq;
    ev.ack = ack;
    ev.flags = flags;
    ev.len = len;
    ev.wnd = 65535;
    ev.state = state;
    ev.wscale = -1;
    ladder_observe(c->l, &ev);
}

static void out_a(struct capture *c, uint32_t seq, uint32_t ack, uint8_t fl, uint32_t len,
                  int st, uint64_t t)
{
    seg(c, SYNACK_EV_SEG_OUT, true, seq, ack, fl, len, st, t);
}

static void in_b(struct capture *c, uint32_t seq, uint32_t ack, uint8_t fl, uint32_t len,
                 int st, uint64_t t)
{
    seg(c, SYNACK_EV_SEG_IN, true, seq, ack, fl, len, st, t);
}

static void out_b(struct capture *c, uint32_t seq, uint32_t ack, uint8_t fl, uint32_t len,
                  int st, uint64_t t)
{
    seg(c, SYNACK_EV_SEG_OUT, false, seq, ack, fl, len, st, t);
}

static void in_a(struct capture *c, uint32_t seq, uint32_t ack, uint8_t fl, uint32_t len,
                 int st, uint64_t t)
{
    seg(c, SYNACK_EV_SEG_IN, false, seq, ack, fl, len, st, t);
}

static void state_change(struct capture *c, bool side_a, int old_state, int new_state,
                         uint64_t t)
{
    struct synack_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_STATE;
    ev.time_us = t;
    ev.local = side_a ? addr_a : addr_b;
    ev.remote = side_a ? addr_b : addr_a;
    ev.old_state = old_state;
    ev.state = new_state;
    ladder_observe(c->l, &ev);
}

static void link_event(struct capture *c, int action, bool from_a, uint32_t seq, uint32_t ack,
                       uint8_t flags, uint32_t len, uint64_t t)
{
    struct synack_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_LINK;
    ev.time_us = t;
    ev.local = from_a ? addr_a : addr_b; /* LINK: local is the sender */
    ev.remote = from_a ? addr_b : addr_a;
    ev.seq = seq;
    ev.ack = ack;
    ev.flags = flags;
    ev.len = len;
    ev.link_action = action;
    ladder_observe(c->l, &ev);
}

#define SYN SYNACK_SYN
#define ACK SYNACK_ACK
#define FIN SYNACK_FIN
#define RST SYNACK_RST
#define PSH SYNACK_PSH

/* The column layout every expected text below follows: number (6), A's state (13), arrow
 * (4), segment (53), arrow (4), B's state. */
#define HEADER                                                                              \
    "      TCP A 10.0.0.1:49152                                                      TCP B "  \
    "10.0.0.2:7\n"

/* Figure 6 with a real event order: B's SYN-ACK is reported (SEG_OUT) while B is still
 * processing the SYN, i.e. before the SYN's SEG_IN; the connect's STATE event precedes the
 * SYN's SEG_OUT and is shown by line 2, not by a line of its own. */
static void test_handshake(void)
{
    struct capture c;

    capture_open(&c, addr_a, SYNACK_CLOSED, SYNACK_LISTEN);
    REQUIRE(c.l != NULL);
    state_change(&c, true, SYNACK_CLOSED, SYNACK_SYN_SENT, 0);
    out_a(&c, 100, 0, SYN, 0, SYNACK_SYN_SENT, 0);
    CHECK_STR(capture_text(&c), ""); /* line 2 is still open: nothing printed yet */
    state_change(&c, false, SYNACK_CLOSED, SYNACK_LISTEN, 1000); /* the child: LISTEN... */
    state_change(&c, false, SYNACK_LISTEN, SYNACK_SYN_RECEIVED, 1000); /* ...SYN-RECEIVED */
    out_b(&c, 300, 101, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 1000);
    in_b(&c, 100, 0, SYN, 0, SYNACK_SYN_RECEIVED, 1000);
    state_change(&c, true, SYNACK_SYN_SENT, SYNACK_ESTABLISHED, 2000);
    out_a(&c, 101, 301, ACK, 0, SYNACK_ESTABLISHED, 2000);
    in_a(&c, 300, 101, SYN | ACK, 0, SYNACK_ESTABLISHED, 2000);
    out_a(&c, 101, 301, ACK | PSH, 10, SYNACK_ESTABLISHED, 2000);
    state_change(&c, false, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED, 3000);
    in_b(&c, 101, 301, ACK, 0, SYNACK_ESTABLISHED, 3000);
    in_b(&c, 101, 301, ACK | PSH, 10, SYNACK_ESTABLISHED, 3000);
    static const char expect[] =
        HEADER
        "   1. CLOSED                                                                    LISTEN\n"
        "   2. SYN-SENT     --> <SEQ=100><CTL=SYN>                                   --> SYN-RECEIVED\n"
        "   3. ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK>                      <-- SYN-RECEIVED\n"
        "   4. ESTABLISHED  --> <SEQ=101><ACK=301><CTL=ACK>                          --> ESTABLISHED\n"
        "   5. ESTABLISHED  --> <SEQ=101><ACK=301><CTL=ACK><DATA=10>                 --> ESTABLISHED\n";
    CHECK_STR(capture_text(&c), expect);
    ladder_flush(c.l); /* nothing open or held: prints nothing more */
    CHECK_STR(capture_text(&c), expect);
    capture_close(&c);
}

/* A lost segment is drawn with "(lost)" on the receiver's side, whether the link reports the
 * loss after or before the stack reports sending it; its retransmission is a line of its own
 * marked as such, with the time since the segment was last sent, and the lines after the
 * loss wait for it no longer. */
static void test_lost_segment(void)
{
    struct capture c;
    struct synack_event ev;

    capture_open(&c, addr_a, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    REQUIRE(c.l != NULL);
    out_a(&c, 101, 301, ACK | PSH, 5, SYNACK_ESTABLISHED, 0);
    link_event(&c, SYNACK_LINK_LOST, true, 101, 301, ACK | PSH, 5, 0);
    /* The link reports B's loss first, then B's stack reports sending it. */
    link_event(&c, SYNACK_LINK_LOST, false, 301, 101, ACK | PSH, 3, 10);
    out_b(&c, 301, 101, ACK | PSH, 3, SYNACK_ESTABLISHED, 10);
    /* A's retransmission (by the RTO) arrives. */
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_SEG_OUT;
    ev.time_us = 1000000;
    ev.local = addr_a;
    ev.remote = addr_b;
    ev.seq = 101;
    ev.ack = 301;
    ev.flags = ACK | PSH;
    ev.len = 5;
    ev.wnd = 65535;
    ev.state = SYNACK_ESTABLISHED;
    ev.retransmit = true;
    ladder_observe(c.l, &ev);
    in_b(&c, 101, 301, ACK | PSH, 5, SYNACK_ESTABLISHED, 1001000);
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. ESTABLISHED                                                               ESTABLISHED\n"
              "   2. ESTABLISHED  --> <SEQ=101><ACK=301><CTL=ACK><DATA=5>                  ... (lost)\n"
              "   3. (lost)       ... <SEQ=301><ACK=101><CTL=ACK><DATA=3>                  <-- ESTABLISHED\n"
              "   4. ESTABLISHED  --> <SEQ=101><ACK=301><CTL=ACK><DATA=5>                  --> ESTABLISHED   (retransmission after 1 s)\n");
    capture_close(&c);
}

/* A SEG_IN that no open line waits for is a copy made by the link: a line of its own, drawn
 * like Figure 8 line 3, with the receiver's state and the drop reason the receiver gave. */
static void test_duplicate(void)
{
    struct capture c;
    struct synack_event ev;

    capture_open(&c, addr_a, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    REQUIRE(c.l != NULL);
    out_a(&c, 101, 301, ACK | PSH, 4, SYNACK_ESTABLISHED, 0);
    link_event(&c, SYNACK_LINK_DUPLICATED, true, 101, 301, ACK | PSH, 4, 0); /* no line */
    in_b(&c, 101, 301, ACK | PSH, 4, SYNACK_ESTABLISHED, 1000);
    out_b(&c, 301, 105, ACK, 0, SYNACK_ESTABLISHED, 1000);
    /* The copy arrives; B drops it as old. */
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_SEG_IN;
    ev.time_us = 1000;
    ev.local = addr_b;
    ev.remote = addr_a;
    ev.seq = 101;
    ev.ack = 301;
    ev.flags = ACK | PSH;
    ev.len = 4;
    ev.wnd = 65535;
    ev.state = SYNACK_ESTABLISHED;
    ev.reason = SYNACK_DROP_SEQ_UNACCEPTABLE;
    ladder_observe(c.l, &ev);
    in_a(&c, 301, 105, ACK, 0, SYNACK_ESTABLISHED, 2000);
    char expect[1024];
    snprintf(expect, sizeof expect,
             HEADER
             "   1. ESTABLISHED                                                               ESTABLISHED\n"
             "   2. ESTABLISHED  --> <SEQ=101><ACK=301><CTL=ACK><DATA=4>                  --> ESTABLISHED\n"
             "   3. (duplicate)  ... <SEQ=101><ACK=301><CTL=ACK><DATA=4>                  --> ESTABLISHED   (dropped: %s)\n"
             "   4. ESTABLISHED  <-- <SEQ=301><ACK=105><CTL=ACK>                          <-- ESTABLISHED\n",
             synack_drop_name(SYNACK_DROP_SEQ_UNACCEPTABLE));
    /* B's ACK (line 4) was reported before the copy arrived, at the same instant: arrivals of
     * an instant are drawn before its departures. */
    CHECK_STR(capture_text(&c), expect);
    capture_close(&c);
}

/* Lines are printed in order, each once it and all before it are complete. A's SYN (line 2)
 * arrives after B did something else (sent line 3), so its arrival gets a line of its own
 * after B's last one, joined to its departure by "...", as RFC 9293 Figure 7 draws it; the
 * SYN-ACK (line 3) arrives before A does anything more and stays one line. A line still
 * open at ladder_flush is printed "(in flight)". */
static void test_out_of_order_completion(void)
{
    struct capture c;

    capture_open(&c, addr_a, SYNACK_CLOSED, SYNACK_LISTEN);
    REQUIRE(c.l != NULL);
    out_a(&c, 100, 0, SYN, 0, SYNACK_SYN_SENT, 0);
    out_b(&c, 300, 101, SYN | ACK, 0, SYNACK_SYN_RECEIVED, 1000);
    out_a(&c, 101, 301, ACK, 0, SYNACK_ESTABLISHED, 2000);
    in_a(&c, 300, 101, SYN | ACK, 0, SYNACK_ESTABLISHED, 2000); /* completes line 3 */
    CHECK_STR(capture_text(&c), "");
    in_b(&c, 100, 0, SYN, 0, SYNACK_SYN_RECEIVED, 2500);        /* line 4, and line 2 */
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. CLOSED                                                                    LISTEN\n"
              "   2. SYN-SENT     --> <SEQ=100><CTL=SYN>                                   ...\n"
              "   3. ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK>                      <-- SYN-RECEIVED\n"
              "   4.              ... <SEQ=100><CTL=SYN>                                   --> SYN-RECEIVED\n");
    ladder_flush(c.l);
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. CLOSED                                                                    LISTEN\n"
              "   2. SYN-SENT     --> <SEQ=100><CTL=SYN>                                   ...\n"
              "   3. ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK>                      <-- SYN-RECEIVED\n"
              "   4.              ... <SEQ=100><CTL=SYN>                                   --> SYN-RECEIVED\n"
              "   5. ESTABLISHED  --> <SEQ=101><ACK=301><CTL=ACK>                          ... (in flight)\n");
    capture_close(&c);
}

/* Figure 12 from A's FIN on, with TIME-WAIT's end as a line of its own with "(2 MSL)" above
 * the new state, exactly as Figure 12 line 6 draws it; A's port is learned from the first
 * event (ladder_new got port 0). */
static void test_close_and_time_wait(void)
{
    struct capture c;
    struct synack_addr any_port = {IP_A, 0};

    capture_open(&c, any_port, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    REQUIRE(c.l != NULL);
    state_change(&c, true, SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1, 0);
    out_a(&c, 100, 300, FIN | ACK, 0, SYNACK_FIN_WAIT_1, 0);
    state_change(&c, false, SYNACK_ESTABLISHED, SYNACK_CLOSE_WAIT, 10);
    out_b(&c, 300, 101, ACK, 0, SYNACK_CLOSE_WAIT, 10);
    in_b(&c, 100, 300, FIN | ACK, 0, SYNACK_CLOSE_WAIT, 10);
    state_change(&c, true, SYNACK_FIN_WAIT_1, SYNACK_FIN_WAIT_2, 20);
    in_a(&c, 300, 101, ACK, 0, SYNACK_FIN_WAIT_2, 20);
    state_change(&c, false, SYNACK_CLOSE_WAIT, SYNACK_LAST_ACK, 30);
    out_b(&c, 300, 101, FIN | ACK, 0, SYNACK_LAST_ACK, 30);
    state_change(&c, true, SYNACK_FIN_WAIT_2, SYNACK_TIME_WAIT, 40);
    out_a(&c, 101, 301, ACK, 0, SYNACK_TIME_WAIT, 40);
    in_a(&c, 300, 101, FIN | ACK, 0, SYNACK_TIME_WAIT, 40);
    state_change(&c, false, SYNACK_LAST_ACK, SYNACK_CLOSED, 50);
    in_b(&c, 101, 301, ACK, 0, SYNACK_CLOSED, 50);
    state_change(&c, true, SYNACK_TIME_WAIT, SYNACK_CLOSED, 40 + 240000000);
    /* The TIME-WAIT end is held until the next event or the flush (it might have been the
     * start of a segment's line). */
    ladder_flush(c.l);
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. ESTABLISHED                                                               ESTABLISHED\n"
              "   2. FIN-WAIT-1   --> <SEQ=100><ACK=300><CTL=FIN,ACK>                      --> CLOSE-WAIT\n"
              "   3. FIN-WAIT-2   <-- <SEQ=300><ACK=101><CTL=ACK>                          <-- CLOSE-WAIT\n"
              "   4. TIME-WAIT    <-- <SEQ=300><ACK=101><CTL=FIN,ACK>                      <-- LAST-ACK\n"
              "   5. TIME-WAIT    --> <SEQ=101><ACK=301><CTL=ACK>                          --> CLOSED\n"
              "   6. (2 MSL)\n"
              "      CLOSED\n");
    capture_close(&c);
}

/* Events of other connections (another peer) are not drawn; a corrupted segment is marked
 * on the receiver's side; a RST's CTL is "RST" alone, without ACK field. */
static void test_other_peers_and_corruption(void)
{
    struct capture c;
    struct synack_event ev;

    capture_open(&c, addr_a, SYNACK_SYN_SENT, SYNACK_ESTABLISHED);
    REQUIRE(c.l != NULL);
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_SEG_OUT;
    ev.local = addr_b;
    ev.remote.ip = 0x0a000003u; /* a third host */
    ev.remote.port = 1234;
    ev.flags = ACK;
    ladder_observe(c.l, &ev);
    out_a(&c, 100, 0, RST, 0, SYNACK_SYN_SENT, 0);
    link_event(&c, SYNACK_LINK_CORRUPTED, true, 100, 0, RST, 0, 0);
    CHECK_STR(capture_text(&c), ""); /* a departure waits for the clock to move on */
    ladder_flush(c.l);
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. SYN-SENT                                                                  ESTABLISHED\n"
              "   2. SYN-SENT     --> <SEQ=100><CTL=RST>                                   ... (corrupted)\n");
    capture_close(&c);
}

/* Notes: a note line given before any event comes before line 1's states (Figure 9 line
 * 1); ladder_note() goes above the next line of its side (Figure 12's "(Close)"), and
 * ladder_status() is a line with both current states (Figure 9 line 6). */
static void test_notes_and_status(void)
{
    struct capture c;

    capture_open(&c, addr_a, SYNACK_CLOSED, SYNACK_ESTABLISHED);
    REQUIRE(c.l != NULL);
    ladder_note_line(c.l, "(REBOOT)", "(send 300,receive 100)");
    ladder_note(c.l, LADDER_B, "(Close)"); /* B takes no part in line 3: it waits */
    out_a(&c, 400, 0, SYN, 0, SYNACK_SYN_SENT, 0);
    in_b(&c, 400, 0, SYN, 0, SYNACK_ESTABLISHED, 1000);
    ladder_note(c.l, LADDER_A, "(Close)");
    out_a(&c, 100, 0, RST, 0, SYNACK_SYN_SENT, 2000);
    in_b(&c, 100, 0, RST, 0, SYNACK_CLOSED, 3000);
    ladder_status(c.l);
    ladder_flush(c.l);
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. (REBOOT)                                                                  (send 300,receive 100)\n"
              "   2. CLOSED                                                                    ESTABLISHED\n"
              "   3. SYN-SENT     --> <SEQ=400><CTL=SYN>                                   --> ESTABLISHED\n"
              "   4. (Close)\n"
              "      SYN-SENT     --> <SEQ=100><CTL=RST>                                   --> CLOSED\n"
              "   5.                                                                           (Close)\n"
              "      SYN-SENT                                                                  CLOSED\n");
    capture_close(&c);
}

/* A closed window is shown as <WND=0> (what zero-window probes are about); a RST's window,
 * which means nothing, is not. */
static void test_zero_window_shown(void)
{
    struct capture c;
    struct synack_event ev;

    capture_open(&c, addr_a, SYNACK_ESTABLISHED, SYNACK_ESTABLISHED);
    REQUIRE(c.l != NULL);
    memset(&ev, 0, sizeof ev);
    ev.kind = SYNACK_EV_SEG_OUT;
    ev.time_us = 0;
    ev.local = addr_b;
    ev.remote = addr_a;
    ev.seq = 300;
    ev.ack = 1100;
    ev.flags = ACK;
    ev.wnd = 0;
    ev.wscale = -1;
    ev.state = SYNACK_ESTABLISHED;
    ladder_observe(c.l, &ev);
    ev.kind = SYNACK_EV_SEG_IN;
    ev.time_us = 1000;
    ev.local = addr_a;
    ev.remote = addr_b;
    ladder_observe(c.l, &ev);
    out_a(&c, 1100, 0, RST, 0, SYNACK_CLOSED, 2000); /* out_a: window 65535 */
    ev.kind = SYNACK_EV_SEG_OUT; /* a RST with window 0 */
    ev.time_us = 3000;
    ev.seq = 1100;
    ev.flags = SYNACK_RST;
    ev.local = addr_a;
    ev.remote = addr_b;
    ladder_observe(c.l, &ev);
    ladder_flush(c.l);
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. ESTABLISHED                                                               ESTABLISHED\n"
              "   2. ESTABLISHED  <-- <SEQ=300><ACK=1100><CTL=ACK><WND=0>                  <-- ESTABLISHED\n"
              "   3. CLOSED       --> <SEQ=1100><CTL=RST>                                  ... (in flight)\n"
              "   4. ESTABLISHED  --> <SEQ=1100><CTL=RST>                                  ... (in flight)\n");
    capture_close(&c);
}

/* Both sides leave TIME-WAIT at the same instant: one line, "(2 MSL)" above each (Figure 13
 * line 4). */
static void test_simultaneous_time_wait_end(void)
{
    struct capture c;

    capture_open(&c, addr_a, SYNACK_TIME_WAIT, SYNACK_TIME_WAIT);
    REQUIRE(c.l != NULL);
    state_change(&c, true, SYNACK_TIME_WAIT, SYNACK_CLOSED, 240000000);
    state_change(&c, false, SYNACK_TIME_WAIT, SYNACK_CLOSED, 240000000);
    ladder_flush(c.l);
    CHECK_STR(capture_text(&c),
              HEADER
              "   1. TIME-WAIT                                                                 TIME-WAIT\n"
              "   2. (2 MSL)                                                                   (2 MSL)\n"
              "      CLOSED                                                                    CLOSED\n");
    capture_close(&c);
}

/* --verbose: the time of each line, then after the states the window, the length, the
 * options and a one-line segment's transit time. */
static void test_verbose(void)
{
    struct capture c;
    struct synack_event ev;

    capture_open(&c, addr_a, SYNACK_CLOSED, SYNACK_LISTEN);
    REQUIRE(c.l != NULL);
    ladder_set_verbose(c.l, true);
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
    ev.state = SYNACK_SYN_SENT;
    ladder_observe(c.l, &ev);
    in_b(&c, 100, 0, SYN, 0, SYNACK_SYN_RECEIVED, 2500);
    ladder_flush(c.l);
    CHECK_STR(capture_text(&c),
              "      time        TCP A 10.0.0.1:49152                                                      TCP B 10.0.0.2:7\n"
              "   1. 0.001500    CLOSED                                                                    LISTEN\n"
              "   2. 0.001500    SYN-SENT     --> <SEQ=100><CTL=SYN>                                   --> SYN-RECEIVED  wnd=65535 len=0 mss=1460,ws=7 transit=1 ms\n");
    capture_close(&c);
}

/* ---- A real run ----------------------------------------------------------------------------- */

struct faulty_run {
    struct synack_stack *s[2];
    struct capture *c;
};

static void run_observe(void *arg, const struct synack_event *ev)
{
    struct faulty_run *r = arg;
    ladder_observe(r->c->l, ev);
}

static void run_input(void *arg, const uint8_t *packet, size_t len, uint64_t now_us)
{
    synack_stack_input(arg, packet, len, now_us);
}

static uint64_t run_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

/* Counts the lines of text that contain needle. */
static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        for (size_t i = 0; i + strlen(needle) <= len; i++) {
            if (memcmp(line + i, needle, strlen(needle)) == 0) {
                n++;
                break;
            }
        }
        line += len + (end ? 1 : 0);
    }
    return n;
}

/* Counts the segment lines with "..." beside an empty state column: the departure and the
 * arrival line of a segment drawn on two lines. Columns: number 0-5, A's state 6-18, arrow
 * 19-22, segment 23-75, arrow 76-79, B's state from 80. */
static int split_lines(const char *text)
{
    int n = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 80 && memcmp(line + 23, "<SEQ=", 5) == 0) {
            bool left_blank = memcmp(line + 6, "             ", 13) == 0;
            bool left_dots = memcmp(line + 19, "...", 3) == 0;
            bool right_dots = memcmp(line + 76, "...", 3) == 0;
            bool right_blank = len <= 80 || line[80] == ' ';
            if ((left_dots && left_blank) || (right_dots && right_blank))
                n++;
        } else if (len >= 79 && len <= 80 && memcmp(line + 76, "...", 3) == 0) {
            n++; /* "..." ends the line: nothing in B's column */
        }
        line += len + (end ? 1 : 0);
    }
    return n;
}

/* Two real stacks over memnet with loss, duplication and reordering: A sends 20000 bytes to
 * B, both close. Every segment sent becomes exactly one line, every loss and duplication is
 * marked, no line stays open, and the lines are numbered 1, 2, 3, ... */
static void test_real_run_with_faults(void)
{
    static uint8_t data[20000], got[20000];
    struct capture c;
    struct faulty_run r;
    struct synack_config cfg;
    struct synack_stats st[2];
    struct memnet_stats ns;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    capture_open(&c, (struct synack_addr){IP_A, 0}, SYNACK_CLOSED, SYNACK_LISTEN);
    REQUIRE(c.l != NULL);
    r.c = &c;
    struct memnet *net = memnet_new(6);
    REQUIRE(net != NULL);
    int node[2] = {memnet_add_node(net, IP_A), memnet_add_node(net, IP_B)};
    struct memnet_path path = {.delay_us = 1000, .loss = 0.1, .dup = 0.1, .reorder = 0.1};
    CHECK(memnet_set_path(net, IP_A, IP_B, &path));
    CHECK(memnet_set_path(net, IP_B, IP_A, &path));
    for (int i = 0; i < 2; i++) {
        synack_config_default(&cfg);
        cfg.ip = i == 0 ? IP_A : IP_B;
        cfg.msl_us = 100000;
        struct synack_link link = memnet_link(net, node[i]);
        r.s[i] = synack_stack_new(&cfg, &link);
        REQUIRE(r.s[i] != NULL);
        struct memnet_node_ops ops = {r.s[i], run_input, run_poll};
        memnet_attach(net, node[i], &ops);
    }
    int lfd = synack_socket(r.s[1]);
    CHECK_EQ(synack_bind(r.s[1], lfd, &addr_b), 0);
    CHECK_EQ(synack_listen(r.s[1], lfd, 1), 0);
    for (int i = 0; i < 2; i++)
        synack_stack_set_observer(r.s[i], run_observe, &r);
    memnet_set_observer(net, run_observe, &r);
    int fa = synack_socket(r.s[0]), fb = -1;
    CHECK_EQ(synack_connect(r.s[0], fa, &addr_b), SYNACK_EINPROGRESS);

    size_t sent = 0, recvd = 0;
    bool shut_a = false, closed_b = false;
    while (memnet_step(net, 600000000ull)) {
        if (sent < sizeof data) {
            int n = synack_send(r.s[0], fa, data + sent, sizeof data - sent);
            if (n > 0)
                sent += (size_t)n;
        } else if (!shut_a && synack_state(r.s[0], fa) == SYNACK_ESTABLISHED) {
            CHECK_EQ(synack_shutdown(r.s[0], fa, SYNACK_SHUT_WR), 0);
            shut_a = true;
        }
        if (fb < 0)
            fb = synack_accept(r.s[1], lfd, NULL);
        if (fb >= 0 && !closed_b) {
            int n = synack_recv(r.s[1], fb, got + recvd, sizeof got - recvd);
            if (n > 0) {
                recvd += (size_t)n;
            } else if (n == 0) {
                CHECK_EQ(synack_close(r.s[1], fb), 0);
                closed_b = true;
            }
        }
        synack_stack_stats(r.s[0], &st[0]);
        synack_stack_stats(r.s[1], &st[1]);
        if (closed_b && st[0].conn_current == 0 && st[1].conn_current == 0)
            break;
    }
    CHECK_EQ(recvd, sizeof data);
    CHECK(memcmp(got, data, sizeof data) == 0);
    CHECK(closed_b);
    ladder_flush(c.l);
    memnet_stats(net, &ns);
    synack_stack_stats(r.s[0], &st[0]);
    synack_stack_stats(r.s[1], &st[1]);
    const char *text = capture_text(&c);
    if (getenv("LADDER_DEBUG")) /* to look at the ladder: LADDER_DEBUG=1 ./test_ladder */
        fprintf(stderr, "%s\nlost %lu, duplicated %lu, reordered %lu\n", text,
                (unsigned long)ns.lost, (unsigned long)ns.duplicated,
                (unsigned long)ns.reordered);
    CHECK(ns.lost > 0);       /* the seed gives some of each */
    CHECK(ns.duplicated > 0);
    CHECK(ns.reordered > 0);
    CHECK_EQ(count_lines(text, "(in flight)"), 0);
    CHECK_EQ(count_lines(text, "... (lost)") + count_lines(text, "(lost)       ..."), ns.lost);
    CHECK_EQ(count_lines(text, "(duplicate)"), ns.duplicated);
    /* A segment is one line, or two (departure and arrival) each with "..." and no state on
     * the side where the other is; lost and duplicated ones show "..." next to a mark. */
    int split = split_lines(text);
    CHECK(split % 2 == 0);
    int segment_lines = count_lines(text, "<SEQ=");
    CHECK_EQ(segment_lines, st[0].seg_out + st[1].seg_out + ns.duplicated + split / 2);
    /* Header, then lines numbered 1, 2, 3, ... */
    int lines = 0;
    for (const char *q = text; *q; q++)
        lines += *q == '\n';
    int expect_number = 1;
    const char *p = strchr(text, '\n');
    bool numbered = p != NULL;
    int continued = 0; /* unnumbered lines: the state row under a "(2 MSL)" line */
    bool after_2msl = false;
    while (p && p[1]) {
        unsigned num = 0;
        if (after_2msl && strncmp(p + 1, "      ", 6) == 0) {
            continued++; /* Figure 12 line 6: "(2 MSL)", then CLOSED below it */
            after_2msl = false;
            p = strchr(p + 1, '\n');
            continue;
        }
        if (sscanf(p + 1, "%u.", &num) != 1 || num != (unsigned)expect_number)
            numbered = false;
        const char *eol = strchr(p + 1, '\n');
        const char *mark = strstr(p + 1, "(2 MSL)");
        after_2msl = eol && mark && mark < eol;
        expect_number++;
        p = eol;
    }
    CHECK(numbered);
    CHECK_EQ(expect_number - 1 + continued, lines - 1);
    synack_stack_free(r.s[0]);
    synack_stack_free(r.s[1]);
    memnet_free(net);
    capture_close(&c);
}

int main(void)
{
    RUN(test_handshake);
    RUN(test_lost_segment);
    RUN(test_duplicate);
    RUN(test_out_of_order_completion);
    RUN(test_close_and_time_wait);
    RUN(test_other_peers_and_corruption);
    RUN(test_notes_and_status);
    RUN(test_zero_window_shown);
    RUN(test_simultaneous_time_wait_end);
    RUN(test_verbose);
    RUN(test_real_run_with_faults);
    return check_summary();
}
