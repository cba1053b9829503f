/*
 * ladder.c: the RFC 793-style ladder renderer (see ladder.h).
 *
 * Read first: RFC 9293 3.5, the paragraph before Figure 6 (how a ladder line is read), and
 * Figures 6 to 13.
 *
 * One line per segment. A SEG_OUT opens a line with the sender's state after sending; the
 * first open line that the matching SEG_IN finds (same direction, SEQ, ACK, flags and
 * length; first in, first out) is completed with the receiver's state after processing. A
 * LINK loss completes it as "(lost)"; a LINK corruption as "(corrupted)" (the receiver's
 * checksum drops the packet, so no SEG_IN will come). A SEG_IN that finds no open line is a
 * copy made by the link and becomes a line of its own, drawn like Figure 8 line 3:
 *
 *      (duplicate)   ... <SEQ=90><CTL=SYN>       --> SYN-RECEIVED
 *
 * Lines are numbered and printed in the order their segments were sent, each as soon as it
 * and every line before it are complete. The header and line 1 are printed with the first
 * other line (or at ladder_flush).
 *
 * Events are matched to a side by their local address. An address given to ladder_new() with
 * port 0 matches any port of its IP, and the port is learned from the first event: a client's
 * ephemeral port is known only after connect. Events of other peers are ignored.
 *
 * A state change that no segment line shows (a timer: TIME-WAIT's 2 x MSL, a user timeout;
 * or a CLOSE whose FIN must wait) gets a line of its own, like Figure 12 line 6, with the
 * changed side's new state and a comment in the middle: "(2 MSL)" for TIME-WAIT -> CLOSED,
 * "(OLD -> NEW)" otherwise. To tell it from a change that a segment line will show, a STATE
 * event is held until the stack's next event: a SEG_OUT or SEG_IN of the same side at the
 * same time and with the same state absorbs it; anything else prints it.
 *
 * Notation: <SEQ=n><ACK=n><CTL=...><DATA=n>, as RFC 9293 writes it. ACK only when the ACK
 * flag is set; CTL lists the flags in the order SYN,FIN,RST,ACK,URG,ECE,CWR, which gives
 * every figure's "SYN,ACK", "FIN,ACK" and "RST". PSH is not shown: the stack sets it on
 * every data segment, and it says nothing about the connection's state. DATA gives the
 * payload byte count, as Figure 10 does.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/ladder.h"

#define NUM_W 6     /* "%4u. " line number column, characters */
#define STATE_W 13  /* a state column: "SYN-RECEIVED" (12) and one space */
#define ARROW_W 4   /* "--> ", "<-- ", "... " or blanks */
#define SEG_W 53    /* segment column: <SEQ=ten digits><ACK=ten digits><CTL=ACK><DATA=1460>
                       is 52 characters, plus one space */
#define TEXT_MAX 96 /* longest segment or comment text, bytes with the NUL */
#define ROW_MAX 256 /* longest printed row, bytes with the NUL */
#define LOSS_MAX 16 /* losses remembered before their SEG_OUT (a link may report first) */

#define SIDE_A 0
#define SIDE_B 1

/* What a line shows in a state column instead of a state. */
#define MARK_NONE 0
#define MARK_LOST 1       /* "(lost)": the link dropped the segment */
#define MARK_CORRUPTED 2  /* "(corrupted)": the link damaged it; the receiver drops it */
#define MARK_DUPLICATE 3  /* "(duplicate)": a copy nobody sent */
#define MARK_IN_FLIGHT 4  /* "(in flight)": not delivered when the ladder was flushed */

enum line_kind {
    LINE_SEGMENT, /* a sent segment (maybe still open) */
    LINE_COPY,    /* a received copy that matched no open line */
    LINE_STATE,   /* a state change without a segment */
};

/* The fields a segment is matched by. */
struct seg_key {
    int from;      /* SIDE_A or SIDE_B: the sender */
    uint32_t seq, ack, len;
    uint8_t flags;
};

struct line {
    enum line_kind kind;
    bool open;            /* LINE_SEGMENT waiting for its SEG_IN or loss */
    struct seg_key key;
    int state[2];         /* state shown per side (enum synack_state) */
    int mark[2];          /* MARK_* shown instead of the state, per side */
    bool retransmit;      /* the sender marked it as a retransmission */
    int reason;           /* receiver's drop reason (0 = accepted) */
    int old_state;        /* LINE_STATE: the state left */
    int changed;          /* LINE_STATE: the side that changed */
};

/* A STATE event not yet shown (see the file comment). */
struct pending_state {
    bool set;
    int side;
    int old_state, new_state;
    uint64_t time_us;
};

struct ladder {
    FILE *out;
    char name[2][32];             /* "TCP A" */
    struct synack_addr addr[2];   /* port 0: any port, learned from the first event */
    int initial[2];               /* each side's state on line 1 */
    int state[2];                 /* each side's latest known state */
    bool header_done;             /* header and line 1 printed */
    unsigned number;              /* number of the last line printed */

    struct line *lines;           /* lines not yet printed, in send order: [head, count) */
    size_t head, count, cap;

    struct seg_key early_loss[LOSS_MAX]; /* losses reported before their SEG_OUT */
    int early_loss_mark[LOSS_MAX];
    int early_losses;

    struct pending_state pending;
};

/* ---- Text ------------------------------------------------------------------------------ */

/* Writes <SEQ=..><ACK=..><CTL=..><DATA=..> for k into buf (TEXT_MAX bytes). */
static void format_segment(char *buf, const struct seg_key *k)
{
    /* RFC 9293 3.5: the order that reproduces "SYN,ACK", "FIN,ACK", "RST". */
    static const struct {
        uint8_t flag;
        const char *name;
    } ctl[] = {
        {SYNACK_SYN, "SYN"}, {SYNACK_FIN, "FIN"}, {SYNACK_RST, "RST"}, {SYNACK_ACK, "ACK"},
        {SYNACK_URG, "URG"}, {SYNACK_ECE, "ECE"}, {SYNACK_CWR, "CWR"},
    };
    size_t n = 0;

    n += (size_t)snprintf(buf + n, TEXT_MAX - n, "<SEQ=%lu>", (unsigned long)k->seq);
    if (k->flags & SYNACK_ACK)
        n += (size_t)snprintf(buf + n, TEXT_MAX - n, "<ACK=%lu>", (unsigned long)k->ack);
    const char *sep = "<CTL=";
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        if (k->flags & ctl[i].flag) {
            n += (size_t)snprintf(buf + n, TEXT_MAX - n, "%s%s", sep, ctl[i].name);
            sep = ",";
        }
    }
    if (sep[0] == ',')
        n += (size_t)snprintf(buf + n, TEXT_MAX - n, ">");
    if (k->len > 0)
        snprintf(buf + n, TEXT_MAX - n, "<DATA=%lu>", (unsigned long)k->len);
}

static const char *mark_text(int mark)
{
    switch (mark) {
    case MARK_LOST:
        return "(lost)";
    case MARK_CORRUPTED:
        return "(corrupted)";
    case MARK_DUPLICATE:
        return "(duplicate)";
    case MARK_IN_FLIGHT:
        return "(in flight)";
    default:
        return "";
    }
}

/* Appends s to row (ROW_MAX bytes, *n used), then spaces up to the column width, or one
 * space when s fills or overflows the column (none for width 0: the last column). */
static void put_col(char *row, size_t *n, const char *s, size_t width)
{
    size_t len = strlen(s);

    if (*n + len + width + 2 >= ROW_MAX)
        return; /* cannot happen with the texts above; keeps the row bounded */
    memcpy(row + *n, s, len);
    *n += len;
    size_t pad = len < width ? width - len : (width > 0 ? 1 : 0);
    memset(row + *n, ' ', pad);
    *n += pad;
}

/* Prints one row: number, left state column, left arrow, middle text, right arrow, right
 * state column, trailing comment. Trailing blanks are removed. */
static void print_row(struct ladder *l, unsigned number, const char *left, const char *larrow,
                      const char *middle, const char *rarrow, const char *right,
                      const char *comment)
{
    char row[ROW_MAX];
    size_t n = 0;
    char num[16];

    snprintf(num, sizeof num, "%4u.", number);
    put_col(row, &n, num, NUM_W);
    put_col(row, &n, left, STATE_W);
    put_col(row, &n, larrow, ARROW_W);
    put_col(row, &n, middle, SEG_W);
    put_col(row, &n, rarrow, ARROW_W);
    put_col(row, &n, right, comment[0] ? STATE_W : 0);
    put_col(row, &n, comment, 0);
    while (n > 0 && row[n - 1] == ' ')
        n--;
    row[n] = '\0';
    fprintf(l->out, "%s\n", row);
}

static void format_addr(char *buf, size_t cap, const char *name, struct synack_addr a)
{
    snprintf(buf, cap, "%s %u.%u.%u.%u:%u", name, (unsigned)(a.ip >> 24) & 0xff,
             (unsigned)(a.ip >> 16) & 0xff, (unsigned)(a.ip >> 8) & 0xff, (unsigned)a.ip & 0xff,
             (unsigned)a.port);
}

/* Prints the header and line 1 once, before the first other line. */
static void print_header(struct ladder *l)
{
    char a[TEXT_MAX], b[TEXT_MAX];

    if (l->header_done)
        return;
    l->header_done = true;
    format_addr(a, sizeof a, l->name[SIDE_A], l->addr[SIDE_A]);
    format_addr(b, sizeof b, l->name[SIDE_B], l->addr[SIDE_B]);
    /* The names sit above the state columns. */
    char row[ROW_MAX];
    size_t n = 0;
    put_col(row, &n, "", NUM_W);
    put_col(row, &n, a, STATE_W + ARROW_W + SEG_W + ARROW_W);
    put_col(row, &n, b, 0);
    row[n] = '\0';
    fprintf(l->out, "%s\n", row);
    l->number = 1;
    print_row(l, 1, synack_state_name(l->initial[SIDE_A]), "", "", "",
              synack_state_name(l->initial[SIDE_B]), "");
}

static void print_line(struct ladder *l, const struct line *ln)
{
    char middle[TEXT_MAX], comment[TEXT_MAX];
    const char *col[2];

    for (int s = 0; s < 2; s++)
        col[s] = ln->mark[s] ? mark_text(ln->mark[s]) : synack_state_name(ln->state[s]);
    comment[0] = '\0';
    l->number++;

    if (ln->kind == LINE_STATE) {
        if (ln->old_state == SYNACK_TIME_WAIT && ln->state[ln->changed] == SYNACK_CLOSED)
            snprintf(middle, sizeof middle, "(2 MSL)"); /* RFC 9293 3.6, Figure 12 line 6 */
        else
            snprintf(middle, sizeof middle, "(%s -> %s)", synack_state_name(ln->old_state),
                     synack_state_name(ln->state[ln->changed]));
        print_row(l, l->number, col[SIDE_A], "", middle, "", col[SIDE_B], "");
        return;
    }

    format_segment(middle, &ln->key);
    /* Arrow of each side: the direction of travel, or "..." where the segment was not seen
     * (the sender of a copy, the receiver of a lost or undelivered segment), as Figure 7. */
    const char *dir = ln->key.from == SIDE_A ? "-->" : "<--";
    const char *arrow[2] = {dir, dir};
    for (int s = 0; s < 2; s++)
        if (ln->mark[s])
            arrow[s] = "...";
    if (ln->retransmit && ln->reason)
        snprintf(comment, sizeof comment, "(retransmission; dropped: %s)",
                 synack_drop_name(ln->reason));
    else if (ln->retransmit)
        snprintf(comment, sizeof comment, "(retransmission)");
    else if (ln->reason)
        snprintf(comment, sizeof comment, "(dropped: %s)", synack_drop_name(ln->reason));
    print_row(l, l->number, col[SIDE_A], arrow[SIDE_A], middle, arrow[SIDE_B], col[SIDE_B],
              comment);
}

/* Prints every complete line at the front of the queue. */
static void print_ready(struct ladder *l)
{
    while (l->head < l->count && !l->lines[l->head].open) {
        print_header(l);
        print_line(l, &l->lines[l->head]);
        l->head++;
    }
    if (l->head == l->count)
        l->head = l->count = 0;
    fflush(l->out);
}

/* ---- Bookkeeping ------------------------------------------------------------------------- */

/* Appends a line; returns it, or NULL when memory runs out (the event is then not drawn). */
static struct line *add_line(struct ladder *l)
{
    if (l->count == l->cap) {
        if (l->head > 0) { /* reuse the printed prefix first */
            memmove(l->lines, l->lines + l->head, (l->count - l->head) * sizeof *l->lines);
            l->count -= l->head;
            l->head = 0;
        } else {
            size_t cap = l->cap ? l->cap * 2 : 32;
            struct line *p = realloc(l->lines, cap * sizeof *p);
            if (p == NULL)
                return NULL;
            l->lines = p;
            l->cap = cap;
        }
    }
    struct line *ln = &l->lines[l->count++];
    memset(ln, 0, sizeof *ln);
    return ln;
}

static bool addr_eq(struct synack_addr want, struct synack_addr got)
{
    return want.ip == got.ip && (want.port == 0 || want.port == got.port);
}

/* The side whose address is a (exact ports first, then a side whose port is still to be
 * learned), or -1. */
static int side_of(const struct ladder *l, struct synack_addr a)
{
    for (int s = 0; s < 2; s++)
        if (l->addr[s].ip == a.ip && l->addr[s].port == a.port)
            return s;
    for (int s = 0; s < 2; s++)
        if (addr_eq(l->addr[s], a))
            return s;
    return -1;
}

/* The side that event ev's local end is, when its remote end is the other side; else -1.
 * Learns a side's port from its first event. */
static int event_side(struct ladder *l, const struct synack_event *ev)
{
    int s = side_of(l, ev->local);

    if (s < 0 || side_of(l, ev->remote) != 1 - s)
        return -1;
    if (l->addr[s].port == 0)
        l->addr[s].port = ev->local.port;
    if (l->addr[1 - s].port == 0)
        l->addr[1 - s].port = ev->remote.port;
    return s;
}

static bool key_eq(const struct seg_key *a, const struct seg_key *b)
{
    return a->from == b->from && a->seq == b->seq && a->ack == b->ack && a->len == b->len &&
           a->flags == b->flags;
}

static struct seg_key key_of(const struct synack_event *ev, int from)
{
    struct seg_key k = {from, ev->seq, ev->ack, ev->len, ev->flags};
    return k;
}

/* The first open line carrying segment k, or NULL. */
static struct line *find_open(struct ladder *l, const struct seg_key *k)
{
    for (size_t i = l->head; i < l->count; i++)
        if (l->lines[i].open && key_eq(&l->lines[i].key, k))
            return &l->lines[i];
    return NULL;
}

/* Shows the held STATE event as a line of its own. */
static void emit_pending(struct ladder *l)
{
    struct pending_state *p = &l->pending;

    if (!p->set)
        return;
    p->set = false;
    struct line *ln = add_line(l);
    if (ln == NULL)
        return;
    ln->kind = LINE_STATE;
    ln->changed = p->side;
    ln->old_state = p->old_state;
    ln->state[p->side] = p->new_state;
    ln->state[1 - p->side] = l->state[1 - p->side];
}

/* Before a segment event of side s at time t with state st: the held STATE event is shown by
 * this segment's line when it is the same side, time and state; otherwise it gets its own. */
static void settle_pending(struct ladder *l, int s, uint64_t t, int st)
{
    struct pending_state *p = &l->pending;

    if (!p->set)
        return;
    if (p->side == s && p->time_us == t && p->new_state == st)
        p->set = false;
    else
        emit_pending(l);
}

/* ---- Events ------------------------------------------------------------------------------ */

static void on_seg_out(struct ladder *l, const struct synack_event *ev, int s)
{
    settle_pending(l, s, ev->time_us, ev->state);
    l->state[s] = ev->state;

    struct line *ln = add_line(l);
    if (ln == NULL)
        return;
    ln->kind = LINE_SEGMENT;
    ln->open = true;
    ln->key = key_of(ev, s);
    ln->state[s] = ev->state;
    ln->retransmit = ev->retransmit;

    for (int i = 0; i < l->early_losses; i++) {
        if (key_eq(&l->early_loss[i], &ln->key)) {
            ln->open = false;
            ln->mark[1 - s] = l->early_loss_mark[i];
            l->early_losses--;
            l->early_loss[i] = l->early_loss[l->early_losses];
            l->early_loss_mark[i] = l->early_loss_mark[l->early_losses];
            break;
        }
    }
}

static void on_seg_in(struct ladder *l, const struct synack_event *ev, int s)
{
    settle_pending(l, s, ev->time_us, ev->state);
    l->state[s] = ev->state;

    struct seg_key k = key_of(ev, 1 - s);
    struct line *ln = find_open(l, &k);
    if (ln == NULL) {
        /* Nobody is waiting for it: a copy the link made (Figure 8 line 3). */
        ln = add_line(l);
        if (ln == NULL)
            return;
        ln->kind = LINE_COPY;
        ln->key = k;
        ln->mark[1 - s] = MARK_DUPLICATE;
    }
    ln->open = false;
    ln->state[s] = ev->state;
    ln->reason = ev->reason;
}

static void on_state(struct ladder *l, const struct synack_event *ev, int s)
{
    struct pending_state *p = &l->pending;

    if (p->set && p->side == s && p->time_us == ev->time_us) {
        p->new_state = ev->state; /* several steps in one call: show the last */
    } else {
        emit_pending(l);
        p->set = true;
        p->side = s;
        p->old_state = ev->old_state;
        p->new_state = ev->state;
        p->time_us = ev->time_us;
    }
    l->state[s] = ev->state;
}

static void on_link(struct ladder *l, const struct synack_event *ev)
{
    int mark;

    if (ev->link_action == SYNACK_LINK_LOST)
        mark = MARK_LOST;
    else if (ev->link_action == SYNACK_LINK_CORRUPTED)
        mark = MARK_CORRUPTED;
    else
        return; /* duplicates show up as unmatched SEG_INs; delays need nothing */

    int s = side_of(l, ev->local); /* the sender */
    if (s < 0 || side_of(l, ev->remote) != 1 - s)
        return;
    struct seg_key k = key_of(ev, s);
    struct line *ln = find_open(l, &k);
    if (ln != NULL) {
        ln->open = false;
        ln->mark[1 - s] = mark;
    } else if (l->early_losses < LOSS_MAX) {
        /* The link reported it before the stack reported sending it. */
        l->early_loss[l->early_losses] = k;
        l->early_loss_mark[l->early_losses] = mark;
        l->early_losses++;
    }
}

void ladder_observe(void *arg, const struct synack_event *ev)
{
    struct ladder *l = arg;

    if (l == NULL || ev == NULL)
        return;
    if (ev->kind == SYNACK_EV_LINK) {
        on_link(l, ev);
    } else if (ev->kind == SYNACK_EV_SEG_OUT || ev->kind == SYNACK_EV_SEG_IN ||
               ev->kind == SYNACK_EV_STATE) {
        int s = event_side(l, ev);
        if (s < 0)
            return;
        if (ev->kind == SYNACK_EV_SEG_OUT)
            on_seg_out(l, ev, s);
        else if (ev->kind == SYNACK_EV_SEG_IN)
            on_seg_in(l, ev, s);
        else
            on_state(l, ev, s);
    }
    print_ready(l);
}

/* ---- Life cycle -------------------------------------------------------------------------- */

struct ladder *ladder_new(FILE *out, const char *name_a, struct synack_addr a, int state_a,
                          const char *name_b, struct synack_addr b, int state_b)
{
    if (out == NULL)
        return NULL;
    struct ladder *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->out = out;
    snprintf(l->name[SIDE_A], sizeof l->name[SIDE_A], "%s", name_a ? name_a : "A");
    snprintf(l->name[SIDE_B], sizeof l->name[SIDE_B], "%s", name_b ? name_b : "B");
    l->addr[SIDE_A] = a;
    l->addr[SIDE_B] = b;
    l->initial[SIDE_A] = l->state[SIDE_A] = state_a;
    l->initial[SIDE_B] = l->state[SIDE_B] = state_b;
    return l;
}

void ladder_flush(struct ladder *l)
{
    if (l == NULL)
        return;
    emit_pending(l);
    for (size_t i = l->head; i < l->count; i++) {
        struct line *ln = &l->lines[i];
        if (ln->open) {
            ln->open = false;
            ln->mark[1 - ln->key.from] = MARK_IN_FLIGHT;
        }
    }
    print_header(l);
    print_ready(l);
}

void ladder_free(struct ladder *l)
{
    if (l == NULL)
        return;
    free(l->lines);
    free(l);
}
