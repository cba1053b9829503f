/*
 * scenarios.h: the scenario library of `synack demo`: named, reproducible situations run by
 * two real stacks over memnet, each shown as an explanation of what to look for, the ladder,
 * and a summary of the states each side went through (see docs/scenarios.md).
 *
 * A scenario is a row of the table: {name, description, explanation, run function}. The run
 * function sets the situation up, starts the trace when the part worth showing begins, drives
 * the applications, and checks that what it set out to show happened (a scenario that does
 * not see it fails, so a change in the stack's behaviour cannot pass unnoticed).
 */
#ifndef SYNACK_TOOLS_SCENARIOS_H
#define SYNACK_TOOLS_SCENARIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct scen; /* a running scenario (scenarios.c) */

/* Options of a run. Fill with scenario_opts_default(), then change what you need. */
struct scenario_opts {
    uint64_t seed;             /* memnet seed and the ISN keys (default 1) */
    uint64_t msl_us;           /* maximum segment lifetime (default 120 s) */
    bool verbose;              /* ladder with time, window, length, options columns */
    const char *svg_path;      /* write an SVG sequence diagram here (NULL: none) */
    const char *json_path;     /* write the events as JSON lines here (NULL: none) */
    const char *pcap_path;     /* write a pcap capture here (NULL: none) */
    /* The echo demo only: */
    bool has_isn_a, has_isn_b; /* fixed initial sequence numbers */
    uint32_t isn_a, isn_b;
    uint64_t delay_us;         /* one-way delay (default 1 ms) */
    const char *message;       /* what A sends (default "Hello, TCP!") */
    size_t message_len;        /* bytes, >= 1 */
};

struct scenario {
    const char *name;          /* "handshake" */
    const char *description;   /* one line, for --list */
    const char *explanation;   /* what to look for, printed before the ladder */
    int (*run)(struct scen *sc); /* 0 when the scenario showed what it is for, -1 if not */
};

extern const struct scenario scenario_table[];
extern const size_t scenario_count;

#define SCENARIO_DEFAULT "echo" /* what `synack demo` runs without --scenario */

void scenario_opts_default(struct scenario_opts *o);

/* The scenario called name, or NULL. */
const struct scenario *scenario_find(const char *name);

/* Prints every scenario's name and description, one a line. */
void scenario_list(FILE *out);

/* Runs a scenario, writing its text to out and its files as o asks. Returns the exit
 * status: 0 when it showed what it is for and every file was written, 1 otherwise (the
 * reason is printed on out and on stderr). */
int scenario_run(const struct scenario *s, const struct scenario_opts *o, FILE *out);

#endif /* SYNACK_TOOLS_SCENARIOS_H */
