/*
 * figures.c: each RFC 9293 figure scenario's ladder, as `synack demo --scenario NAME`
 * prints it, compared line by line with the figure's own text (RFC 9293 3.5, 3.5.1, 3.6,
 * Figures 6 to 13, quoted below as the RFC prints them).
 *
 * Both texts are read into physical lines of columns (line number, A's column, A's arrow,
 * the segment, B's arrow, B's column, comment), whitespace normalised, and compared line by
 * line. The differences allowed, every one of them on purpose (docs/scenarios.md):
 *
 *  1. Header: synack writes each side's address after its name ("TCP Peer A 10.0.0.1:1000").
 *  2. Segments: the fields of a segment are compared as a set (Figure 10 writes <DATA=10>
 *     before <CTL=ACK>), and a figure's <DATA> (length not shown) matches <DATA=n>.
 *  3. Comments: synack's end-of-line comment, "(retransmission after T)" or "(dropped:
 *     reason)", has no counterpart in the figures and is not compared, except as rule 4
 *     needs it.
 *  4. A figure's remark in a state column stands for a state: "(?\?)" and "(!!)" (the host
 *     finds the segment unacceptable) accept any state on a line where synack reports the
 *     segment dropped; "(Abort!!)" and "(ABORT!!)" are CLOSED; "(return to LISTEN!)" is
 *     LISTEN.
 *  5. A figure's empty state column on a side whose arrow is drawn (--> or <--, not ...)
 *     accepts any state: the figures leave out the state of a host that has no connection
 *     (Figure 10 line 3, Figure 11 line 4) or that they stop following (Figure 9 line 7).
 * Per figure:
 *  - Figure 6, 9: the ladder goes on after the figure's last line with the lines listed as
 *    "after" (B's ACK of the data; the handshake A's retransmitted SYN starts).
 *  - Figure 10: the figure has no line with the initial states; synack's line 2 "CLOSED
 *    ESTABLISHED" is listed as "inserted", and synack's later line numbers are one higher.
 *  - Figure 11: the symbols Z, X and Z+1 are 1000, 5000 and 1001; on line 2 synack writes
 *    "(duplicate)" in A's column, as Figure 8 line 3 does, where Figure 11 leaves it empty.
 *  - Figure 13 groups each crossing pair of segments under one number and writes each side's
 *    state once per number; synack draws every departure and arrival on its own line. The
 *    comparison is therefore: the segment columns (arrow, segment, arrow) in order, and each
 *    side's sequence of states and notes (a state repeated on consecutive lines counted
 *    once).
 * Everything else (every state, arrow, segment, note and line number) must be equal.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../tools/scenarios.h"

static const char figure6[] =
    "       TCP Peer A                                           TCP Peer B\n"
    "   1.  CLOSED                                               LISTEN\n"
    "   2.  SYN-SENT    --> <SEQ=100><CTL=SYN>               --> SYN-RECEIVED\n"
    "   3.  ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED\n"
    "   4.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>       --> ESTABLISHED\n"
    "   5.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><DATA> --> ESTABLISHED\n"
    ;

static const char figure7[] =
    "       TCP Peer A                                       TCP Peer B\n"
    "   1.  CLOSED                                           CLOSED\n"
    "   2.  SYN-SENT     --> <SEQ=100><CTL=SYN>              ...\n"
    "   3.  SYN-RECEIVED <-- <SEQ=300><CTL=SYN>              <-- SYN-SENT\n"
    "   4.               ... <SEQ=100><CTL=SYN>              --> SYN-RECEIVED\n"
    "   5.  SYN-RECEIVED --> <SEQ=100><ACK=301><CTL=SYN,ACK> ...\n"
    "   6.  ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED\n"
    "   7.               ... <SEQ=100><ACK=301><CTL=SYN,ACK> --> ESTABLISHED\n"
    ;

static const char figure8[] =
    "       TCP Peer A                                           TCP Peer B\n"
    "   1.  CLOSED                                               LISTEN\n"
    "   2.  SYN-SENT    --> <SEQ=100><CTL=SYN>               ...\n"
    "   3.  (duplicate) ... <SEQ=90><CTL=SYN>               --> SYN-RECEIVED\n"
    "   4.  SYN-SENT    <-- <SEQ=300><ACK=91><CTL=SYN,ACK>  <-- SYN-RECEIVED\n"
    "   5.  SYN-SENT    --> <SEQ=91><CTL=RST>               --> LISTEN\n"
    "   6.              ... <SEQ=100><CTL=SYN>               --> SYN-RECEIVED\n"
    "   7.  ESTABLISHED <-- <SEQ=400><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED\n"
    "   8.  ESTABLISHED --> <SEQ=101><ACK=401><CTL=ACK>      --> ESTABLISHED\n"
    ;

static const char figure9[] =
    "         TCP Peer A                                      TCP Peer B\n"
    "     1.  (REBOOT)                              (send 300,receive 100)\n"
    "     2.  CLOSED                                           ESTABLISHED\n"
    "     3.  SYN-SENT --> <SEQ=400><CTL=SYN>              --> (?\?)\n"
    "     4.  (!!)     <-- <SEQ=300><ACK=100><CTL=ACK>     <-- ESTABLISHED\n"
    "     5.  SYN-SENT --> <SEQ=100><CTL=RST>              --> (Abort!!)\n"
    "     6.  SYN-SENT                                         CLOSED\n"
    "     7.  SYN-SENT --> <SEQ=400><CTL=SYN>              -->\n"
    ;

static const char figure10[] =
    "         TCP Peer A                                         TCP Peer B\n"
    "   1.  (REBOOT)                                  (send 300,receive 100)\n"
    "   2.  (?\?)    <-- <SEQ=300><ACK=100><DATA=10><CTL=ACK> <-- ESTABLISHED\n"
    "   3.          --> <SEQ=100><CTL=RST>                   --> (ABORT!!)\n"
    ;

static const char figure11[] =
    "       TCP Peer A                                    TCP Peer B\n"
    "   1.  LISTEN                                        LISTEN\n"
    "   2.       ... <SEQ=Z><CTL=SYN>                -->  SYN-RECEIVED\n"
    "   3.  (?\?) <-- <SEQ=X><ACK=Z+1><CTL=SYN,ACK>   <--  SYN-RECEIVED\n"
    "   4.       --> <SEQ=Z+1><CTL=RST>              -->  (return to LISTEN!)\n"
    "   5.  LISTEN                                        LISTEN\n"
    ;

static const char figure12[] =
    "       TCP Peer A                                           TCP Peer B\n"
    "   1.  ESTABLISHED                                          ESTABLISHED\n"
    "   2.  (Close)\n"
    "       FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSE-WAIT\n"
    "   3.  FIN-WAIT-2  <-- <SEQ=300><ACK=101><CTL=ACK>      <-- CLOSE-WAIT\n"
    "   4.                                                       (Close)\n"
    "       TIME-WAIT   <-- <SEQ=300><ACK=101><CTL=FIN,ACK>  <-- LAST-ACK\n"
    "   5.  TIME-WAIT   --> <SEQ=101><ACK=301><CTL=ACK>      --> CLOSED\n"
    "   6.  (2 MSL)\n"
    "       CLOSED\n"
    ;

static const char figure13[] =
    "       TCP Peer A                                           TCP Peer B\n"
    "   1.  ESTABLISHED                                          ESTABLISHED\n"
    "   2.  (Close)                                              (Close)\n"
    "       FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  ... FIN-WAIT-1\n"
    "                   <-- <SEQ=300><ACK=100><CTL=FIN,ACK>  <--\n"
    "                   ... <SEQ=100><ACK=300><CTL=FIN,ACK>  -->\n"
    "   3.  CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ... CLOSING\n"
    "                   <-- <SEQ=301><ACK=101><CTL=ACK>      <--\n"
    "                   ... <SEQ=101><ACK=301><CTL=ACK>      -->\n"
    "   4.  TIME-WAIT                                            TIME-WAIT\n"
    "       (2 MSL)                                              (2 MSL)\n"
    "       CLOSED                                               CLOSED\n"
    ;

/* ---- Parsing ------------------------------------------------------------------------------- */

#define TOK_MAX 16  /* tokens per line */
#define LINE_MAX 48 /* physical lines per text */
#define COL_MAX 96  /* a column's text, bytes with the NUL */

/* One physical line, in columns. */
struct pline {
    int num;                 /* line number, 0 when the line has none */
    bool seg_line;           /* it has a segment */
    char left[COL_MAX], larrow[8], seg[COL_MAX], rarrow[8], right[COL_MAX];
    char comment[COL_MAX];   /* synack's "(retransmission ...)" / "(dropped: ...)" */
    char flat[256];          /* all tokens joined by one space (for "after" lines) */
};

struct text {
    char name[2][3 * COL_MAX + 4]; /* the header's names */
    struct pline lines[LINE_MAX];
    int n;
};

struct token {
    char s[COL_MAX];
    int col;                 /* column where it starts */
};

static bool is_arrow(const char *s)
{
    return strcmp(s, "-->") == 0 || strcmp(s, "<--") == 0 || strcmp(s, "...") == 0;
}

/* synack's end-of-line comments. */
static bool is_comment(const char *s)
{
    return strncmp(s, "(retransmission", 15) == 0 || strncmp(s, "(dropped:", 9) == 0;
}

/* Splits a line into tokens; a parenthesised remark with blanks ("(send 300,receive 100)",
 * "(2 MSL)") is one token. Returns the number of tokens. */
static int tokenize(const char *line, size_t len, struct token *t, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len && n < max) {
        while (i < len && line[i] == ' ')
            i++;
        if (i == len)
            break;
        size_t start = i;
        if (line[i] == '(') {
            while (i < len && line[i] != ')')
                i++;
            if (i < len)
                i++;
        } else {
            while (i < len && line[i] != ' ')
                i++;
        }
        size_t w = i - start < COL_MAX - 1 ? i - start : COL_MAX - 1;
        memcpy(t[n].s, line + start, w);
        t[n].s[w] = '\0';
        t[n].col = (int)start;
        n++;
    }
    return n;
}

static void join(char *out, const struct token *t, int from, int to)
{
    out[0] = '\0';
    for (int i = from; i < to; i++) {
        if (out[0])
            strncat(out, " ", COL_MAX - strlen(out) - 1);
        strncat(out, t[i].s, COL_MAX - strlen(out) - 1);
    }
}

/* Reads a ladder or a figure from its header line on ("TCP Peer A ... TCP Peer B"). Lines of
 * other text before the header are skipped; a blank line after the ladder ends it. */
static bool parse_text(const char *src, struct text *out)
{
    memset(out, 0, sizeof *out);
    const char *p = strstr(src, "TCP Peer A");
    if (p == NULL)
        return false;
    while (p > src && p[-1] != '\n')
        p--;
    int mid = 0;
    bool header = true;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct token t[TOK_MAX];
        int n = tokenize(p, len, t, TOK_MAX);
        p += len + (end ? 1 : 0);
        if (n == 0) {
            if (!header && out->n > 0)
                break; /* the ladder ends at the first blank line */
            continue;
        }
        if (header) {
            /* "TCP Peer A [address] TCP Peer B [address]": names, and the middle column. */
            int b = -1;
            for (int i = 0; i < n; i++)
                if (strcmp(t[i].s, "B") == 0)
                    b = i;
            if (b < 3)
                return false;
            snprintf(out->name[0], sizeof out->name[0], "%s %s %s", t[0].s, t[1].s, t[2].s);
            snprintf(out->name[1], sizeof out->name[1], "%s %s %s", t[b - 2].s, t[b - 1].s, t[b].s);
            mid = (t[0].col + t[b - 2].col) / 2;
            header = false;
            continue;
        }
        if (out->n == LINE_MAX)
            return false;
        struct pline *l = &out->lines[out->n++];
        int i = 0;
        size_t w = 0;
        for (int k = 0; k < n; k++)
            w += (size_t)snprintf(l->flat + w, sizeof l->flat - w, "%s%s", k ? " " : "", t[k].s);
        if (isdigit((unsigned char)t[0].s[0]) && t[0].s[strlen(t[0].s) - 1] == '.') {
            l->num = atoi(t[0].s);
            i = 1;
        }
        int seg = -1;
        for (int k = i; k < n; k++)
            if (strncmp(t[k].s, "<SEQ", 4) == 0)
                seg = k;
        if (seg < 0) { /* states and notes, by column */
            for (int k = i; k < n; k++) {
                char *col = t[k].col < mid ? l->left : l->right;
                if (col[0])
                    strncat(col, " ", COL_MAX - strlen(col) - 1);
                strncat(col, t[k].s, COL_MAX - strlen(col) - 1);
            }
            continue;
        }
        l->seg_line = true;
        snprintf(l->seg, sizeof l->seg, "%s", t[seg].s);
        int la = seg - 1 >= i && is_arrow(t[seg - 1].s) ? seg - 1 : seg;
        if (la < seg)
            snprintf(l->larrow, sizeof l->larrow, "%s", t[la].s);
        join(l->left, t, i, la);
        int k = seg + 1;
        if (k < n && is_arrow(t[k].s))
            snprintf(l->rarrow, sizeof l->rarrow, "%s", t[k++].s);
        if (k < n && !is_comment(t[k].s))
            snprintf(l->right, sizeof l->right, "%s", t[k++].s);
        join(l->comment, t, k, n);
    }
    return !header;
}

/* ---- Comparing ----------------------------------------------------------------------------- */

/* Sorts the <...> fields of a segment text in place (rule 2). */
static void sort_fields(char *seg)
{
    char f[8][COL_MAX];
    int n = 0;
    const char *p = seg;
    while (*p == '<' && n < 8) {
        const char *e = strchr(p, '>');
        if (e == NULL)
            break;
        snprintf(f[n], COL_MAX, "%.*s", (int)(e - p + 1), p);
        n++;
        p = e + 1;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(f[j - 1], f[j]) > 0; j--) {
            char tmp[COL_MAX];
            memcpy(tmp, f[j], COL_MAX);
            memcpy(f[j], f[j - 1], COL_MAX);
            memcpy(f[j - 1], tmp, COL_MAX);
        }
    seg[0] = '\0';
    for (int i = 0; i < n; i++)
        strncat(seg, f[i], COL_MAX - strlen(seg) - 1);
}

/* Rule 2: the same fields; <DATA> matches <DATA=n>. */
static bool seg_equal(const char *fig, const char *ours)
{
    char a[COL_MAX], b[COL_MAX];
    snprintf(a, sizeof a, "%s", fig);
    snprintf(b, sizeof b, "%s", ours);
    char *d = strstr(a, "<DATA>");
    char *e = strstr(b, "<DATA=");
    if (d && e) { /* drop both DATA fields */
        memmove(d, d + 6, strlen(d + 6) + 1);
        char *close = strchr(e, '>');
        memmove(e, close + 1, strlen(close + 1) + 1);
    }
    sort_fields(a);
    sort_fields(b);
    return strcmp(a, b) == 0;
}

/* Rules 4 and 5 for one state column. drawn: the figure's arrow on that side is --> or <--;
 * dropped: synack's line reports the segment dropped. */
static bool state_equal(const char *fig, const char *ours, bool drawn, bool dropped)
{
    if (strcmp(fig, "(?\?)") == 0 || strcmp(fig, "(!!)") == 0)
        return dropped && ours[0] != '\0';
    if (strcmp(fig, "(Abort!!)") == 0 || strcmp(fig, "(ABORT!!)") == 0)
        return strcmp(ours, "CLOSED") == 0;
    if (strcmp(fig, "(return to LISTEN!)") == 0)
        return strcmp(ours, "LISTEN") == 0;
    if (fig[0] == '\0' && drawn)
        return true;
    return strcmp(fig, ours) == 0;
}

static bool drawn(const char *arrow)
{
    return strcmp(arrow, "-->") == 0 || strcmp(arrow, "<--") == 0;
}

/* One allowed difference of one figure line: synack shows ours where the figure leaves the
 * column of side empty. */
struct exception {
    int line;                /* figure line number (of its first physical line) */
    int side;                /* 0: A, 1: B */
    const char *ours;
};

static bool line_equal(const struct pline *f, const struct pline *o, int offset,
                       const struct exception *ex)
{
    if ((f->num == 0) != (o->num == 0) || (f->num && f->num + offset != o->num))
        return false;
    if (f->seg_line != o->seg_line)
        return false;
    bool dropped = strncmp(o->comment, "(dropped:", 9) == 0;
    const char *cols[2][2] = {{f->left, o->left}, {f->right, o->right}};
    for (int s = 0; s < 2; s++) {
        if (ex && ex->side == s && f->num == ex->line && cols[s][0][0] == '\0' &&
            strcmp(cols[s][1], ex->ours) == 0)
            continue;
        bool d = f->seg_line && drawn(s == 0 ? f->larrow : f->rarrow);
        if (!state_equal(cols[s][0], cols[s][1], d, dropped))
            return false;
    }
    if (!f->seg_line)
        return true;
    return strcmp(f->larrow, o->larrow) == 0 && strcmp(f->rarrow, o->rarrow) == 0 &&
           seg_equal(f->seg, o->seg);
}

static void show(const char *who, const struct pline *l)
{
    fprintf(stderr, "      %s: [%d] [%s] [%s] [%s] [%s] [%s] [%s]\n", who, l->num, l->left,
            l->larrow, l->seg, l->rarrow, l->right, l->comment);
}

/* Replaces the figure's symbols (Figure 11): whole text, longest first. */
static void substitute(char *s, size_t cap, const char *const (*subst)[2])
{
    for (; subst && (*subst)[0]; subst++) {
        const char *from = (*subst)[0], *to = (*subst)[1];
        char *p;
        size_t off = 0;
        while ((p = strstr(s + off, from)) != NULL) {
            size_t fl = strlen(from), tl = strlen(to);
            if (strlen(s) - fl + tl + 1 > cap)
                return;
            memmove(p + tl, p + fl, strlen(p + fl) + 1);
            memcpy(p, to, tl);
            off = (size_t)(p - s) + tl;
        }
    }
}

struct figure {
    int number;                   /* RFC 9293 figure number */
    const char *scenario;
    const char *text;             /* the figure, quoted above */
    const char *const *after;     /* synack's lines after the figure's end, flattened */
    const char *inserted;         /* a synack line the figure does not have (flattened) */
    int inserted_after;           /* ...after this figure line */
    const char *const (*subst)[2];/* symbols */
    struct exception ex;          /* one allowed column difference (line 0: none) */
};

/* The scenario's text, as `synack demo --scenario NAME` prints it. */
static char *run_scenario(const char *name)
{
    struct scenario_opts o;
    char *buf = NULL;
    size_t size = 0;
    const struct scenario *sc = scenario_find(name);
    if (sc == NULL)
        return NULL;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL)
        return NULL;
    scenario_opts_default(&o);
    int status = scenario_run(sc, &o, f);
    fclose(f);
    CHECK_EQ(status, 0);
    return buf;
}

static void compare_figure(const struct figure *fig)
{
    static struct text ft, ot;
    char figtext[4096];

    snprintf(figtext, sizeof figtext, "%s", fig->text);
    substitute(figtext, sizeof figtext, fig->subst);
    char *ours = run_scenario(fig->scenario);
    REQUIRE(ours != NULL);
    bool parsed = parse_text(figtext, &ft) && parse_text(ours, &ot);
    if (!parsed) {
        CHECK(parsed);
        free(ours);
        return;
    }
    /* Rule 1: the names, without synack's addresses. */
    for (int s = 0; s < 2; s++)
        CHECK_STR(ft.name[s], ot.name[s]);

    int o = 0, offset = 0;
    bool ok = true;
    for (int i = 0; ok && i < ft.n; i++, o++) {
        if (o >= ot.n) {
            fprintf(stderr, "    figure %d: synack's ladder ends before figure line %d\n",
                    fig->number, ft.lines[i].num);
            ok = false;
            break;
        }
        const struct exception *ex = fig->ex.line ? &fig->ex : NULL;
        if (!line_equal(&ft.lines[i], &ot.lines[o], offset, ex)) {
            fprintf(stderr, "    figure %d, line %d differs:\n", fig->number,
                    ft.lines[i].num);
            show("figure", &ft.lines[i]);
            show("synack", &ot.lines[o]);
            ok = false;
            break;
        }
        if (fig->inserted && ft.lines[i].num == fig->inserted_after &&
            (i + 1 == ft.n || ft.lines[i + 1].num != 0)) {
            o++;
            if (o >= ot.n || strcmp(ot.lines[o].flat, fig->inserted) != 0) {
                fprintf(stderr, "    figure %d: expected synack's inserted line '%s'\n",
                        fig->number, fig->inserted);
                ok = false;
            }
            offset = 1;
        }
    }
    /* After the figure's end: exactly the listed lines. */
    int k = 0;
    for (; ok && fig->after && fig->after[k]; k++, o++) {
        if (o >= ot.n || strcmp(ot.lines[o].flat, fig->after[k]) != 0) {
            fprintf(stderr, "    figure %d: after the figure, expected '%s', got '%s'\n",
                    fig->number, fig->after[k], o < ot.n ? ot.lines[o].flat : "(nothing)");
            ok = false;
        }
    }
    if (ok && o != ot.n) {
        fprintf(stderr, "    figure %d: synack has more lines: '%s'\n", fig->number,
                ot.lines[o].flat);
        ok = false;
    }
    CHECK(ok);
    free(ours);
}

/* ---- The figures --------------------------------------------------------------------------- */

static void test_figure6(void)
{
    static const char *const after[] = {
        "6. ESTABLISHED <-- <SEQ=301><ACK=106><CTL=ACK> <-- ESTABLISHED", NULL};
    struct figure f = {6, "handshake", figure6, after, NULL, 0, NULL, {0, 0, NULL}};
    compare_figure(&f);
}

static void test_figure7(void)
{
    struct figure f = {7, "simultaneous-open", figure7, NULL, NULL, 0, NULL, {0, 0, NULL}};
    compare_figure(&f);
}

static void test_figure8(void)
{
    struct figure f = {8, "old-duplicate-syn", figure8, NULL, NULL, 0, NULL, {0, 0, NULL}};
    compare_figure(&f);
}

static void test_figure9(void)
{
    static const char *const after[] = {
        "8. ESTABLISHED <-- <SEQ=600><ACK=401><CTL=SYN,ACK> <-- SYN-RECEIVED",
        "9. ESTABLISHED --> <SEQ=401><ACK=601><CTL=ACK> --> ESTABLISHED", NULL};
    struct figure f = {9, "half-open", figure9, after, NULL, 0, NULL, {0, 0, NULL}};
    compare_figure(&f);
}

static void test_figure10(void)
{
    struct figure f = {10, "half-open-data", figure10, NULL, "2. CLOSED ESTABLISHED", 1, NULL,
                       {0, 0, NULL}};
    compare_figure(&f);
}

static void test_figure11(void)
{
    static const char *const subst[][2] = {{"Z+1", "1001"}, {"=Z>", "=1000>"},
                                           {"=X>", "=5000>"}, {NULL, NULL}};
    struct figure f = {11, "two-passive", figure11, NULL, NULL, 0, subst, {2, 0, "(duplicate)"}};
    compare_figure(&f);
}

static void test_figure12(void)
{
    struct figure f = {12, "close", figure12, NULL, NULL, 0, NULL, {0, 0, NULL}};
    compare_figure(&f);
}

/* Figure 13: the segment columns in order, and each side's states and notes. */
static void test_figure13(void)
{
    static struct text ft, ot;
    char *ours = run_scenario("simultaneous-close");
    REQUIRE(ours != NULL);
    REQUIRE(parse_text(figure13, &ft) && parse_text(ours, &ot));
    for (int s = 0; s < 2; s++)
        CHECK_STR(ft.name[s], ot.name[s]);
    /* Segment columns. */
    char fs[16][COL_MAX], os[16][COL_MAX];
    int nf = 0, no = 0;
    for (int i = 0; i < ft.n && nf < 16; i++)
        if (ft.lines[i].seg_line)
            snprintf(fs[nf++], COL_MAX, "%s %s %s", ft.lines[i].larrow, ft.lines[i].seg,
                     ft.lines[i].rarrow);
    for (int i = 0; i < ot.n && no < 16; i++)
        if (ot.lines[i].seg_line)
            snprintf(os[no++], COL_MAX, "%s %s %s", ot.lines[i].larrow, ot.lines[i].seg,
                     ot.lines[i].rarrow);
    CHECK_EQ(nf, no);
    for (int i = 0; i < nf && i < no; i++)
        CHECK_STR(fs[i], os[i]);
    /* Each side's states and notes, repeats on consecutive lines once. */
    for (int s = 0; s < 2; s++) {
        char fseq[512] = "", oseq[512] = "", flast[COL_MAX] = "", olast[COL_MAX] = "";
        for (int i = 0; i < ft.n; i++) {
            const char *c = s == 0 ? ft.lines[i].left : ft.lines[i].right;
            if (c[0] && strcmp(c, flast) != 0) {
                strncat(fseq, c, sizeof fseq - strlen(fseq) - 2);
                strcat(fseq, "|");
                snprintf(flast, sizeof flast, "%s", c);
            }
        }
        for (int i = 0; i < ot.n; i++) {
            const char *c = s == 0 ? ot.lines[i].left : ot.lines[i].right;
            if (c[0] && strcmp(c, olast) != 0) {
                strncat(oseq, c, sizeof oseq - strlen(oseq) - 2);
                strcat(oseq, "|");
                snprintf(olast, sizeof olast, "%s", c);
            }
        }
        CHECK_STR(fseq, oseq);
    }
    free(ours);
}

/* The comparison itself can fail: a changed sequence number, state or arrow is caught. */
static void test_comparison_catches_differences(void)
{
    static struct text a, b;
    static const char ours[] =
        "      TCP Peer A 10.0.0.1:1000                         TCP Peer B 10.0.0.2:2000\n"
        "   1. CLOSED                                           LISTEN\n"
        "   2. SYN-SENT     --> <SEQ=101><CTL=SYN>          --> SYN-RECEIVED\n";
    static const char state[] =
        "      TCP Peer A 10.0.0.1:1000                         TCP Peer B 10.0.0.2:2000\n"
        "   1. CLOSED                                           LISTEN\n"
        "   2. SYN-SENT     --> <SEQ=100><CTL=SYN>          --> ESTABLISHED\n";
    static const char fig[] =
        "       TCP Peer A                                      TCP Peer B\n"
        "   1.  CLOSED                                          LISTEN\n"
        "   2.  SYN-SENT    --> <SEQ=100><CTL=SYN>          --> SYN-RECEIVED\n";
    REQUIRE(parse_text(fig, &a) && parse_text(ours, &b));
    CHECK(line_equal(&a.lines[0], &b.lines[0], 0, NULL));
    CHECK(!line_equal(&a.lines[1], &b.lines[1], 0, NULL)); /* SEQ 101, not 100 */
    REQUIRE(parse_text(state, &b));
    CHECK(!line_equal(&a.lines[1], &b.lines[1], 0, NULL)); /* ESTABLISHED, not SYN-RECEIVED */
    CHECK(!line_equal(&a.lines[1], &b.lines[1], 1, NULL)); /* numbers off by one */
    CHECK(seg_equal("<SEQ=300><ACK=100><DATA=10><CTL=ACK>", "<SEQ=300><ACK=100><CTL=ACK><DATA=10>"));
    CHECK(!seg_equal("<SEQ=300><ACK=100><DATA=10><CTL=ACK>", "<SEQ=300><ACK=100><CTL=ACK><DATA=9>"));
    CHECK(seg_equal("<SEQ=101><ACK=301><CTL=ACK><DATA>", "<SEQ=101><ACK=301><CTL=ACK><DATA=5>"));
    CHECK(!state_equal("(?\?)", "ESTABLISHED", true, false)); /* (?\?) needs a drop */
    CHECK(state_equal("(?\?)", "ESTABLISHED", true, true));
    CHECK(!state_equal("(Abort!!)", "LISTEN", true, false));
    CHECK(!state_equal("", "LISTEN", false, false)); /* empty beside "...": must be empty */
}

int main(void)
{
    RUN(test_comparison_catches_differences);
    RUN(test_figure6);
    RUN(test_figure7);
    RUN(test_figure8);
    RUN(test_figure9);
    RUN(test_figure10);
    RUN(test_figure11);
    RUN(test_figure12);
    RUN(test_figure13);
    return check_summary();
}
