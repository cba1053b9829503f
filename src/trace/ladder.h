/*
 * ladder.h: renders trace events as an RFC 793-style ladder, the notation of RFC 9293 3.5
 * and 3.6, with both sides' states after each line:
 *
 *       TCP A 10.0.0.1:49152                                  TCP B 10.0.0.2:7
 *    1. CLOSED                                                LISTEN
 *    2. SYN-SENT    --> <SEQ=100><CTL=SYN>                --> SYN-RECEIVED
 *
 * It observes the events of both stacks and of the link (synack_observer_fn). A segment is
 * one line, from its departure to its arrival, when nothing happens at the receiver in
 * between; otherwise its departure and its arrival get a line each, joined by "..." as
 * RFC 9293 Figure 7 draws a segment still in the network. Lost segments are marked
 * "(lost)", retransmissions "(retransmission after T)". A state change without a segment
 * (the end of TIME-WAIT) gets a line of its own with a note above it: "(2 MSL)".
 *
 * Usage: ladder_new(), then pass ladder_observe (with the ladder as arg) as the observer of
 * both stacks and of the link, and call ladder_flush() at the end. Lines are printed as soon
 * as they and every line before them are complete, so a live connection draws as it goes.
 */
#ifndef SYNACK_LADDER_H
#define SYNACK_LADDER_H

#include <stdbool.h>
#include <stdio.h>

#include "synack.h"

#define LADDER_A 0 /* the left side */
#define LADDER_B 1 /* the right side */

struct ladder;

/* A ladder between endpoint a (drawn on the left) and b (right), written to out. The
 * initial states are the states of line 1. An address with port 0 matches any port of its
 * IP, learned from the first event (a client's ephemeral port is known only after
 * connect). Returns NULL when out is NULL or memory runs out. */
struct ladder *ladder_new(FILE *out, const char *name_a, struct synack_addr a, int state_a,
                          const char *name_b, struct synack_addr b, int state_b);

/* Verbose lines: the time of each line (seconds), and after the states the window, the
 * payload length, the options and, for a segment drawn on one line, its transit time. Call
 * before the first event. */
void ladder_set_verbose(struct ladder *l, bool verbose);

/* A note such as "(Close)" shown above the next line that side (LADDER_A or LADDER_B) takes
 * part in, in that side's column, as RFC 9293 Figure 12 shows user calls. */
void ladder_note(struct ladder *l, int side, const char *text);

/* A numbered line of notes of its own, left and right (either may be NULL or ""), like
 * "(REBOOT)   (send 300,receive 100)" in Figure 9. Before any event it comes before line 1's
 * states. */
void ladder_note_line(struct ladder *l, const char *left, const char *right);

/* A line with both sides' current states, like Figure 9 line 6 or Figure 11 line 5. */
void ladder_status(struct ladder *l);

/* The observer function: pass the ladder as arg. */
void ladder_observe(void *ladder, const struct synack_event *ev);

/* Prints every line still held; a segment never delivered is printed "(in flight)". */
void ladder_flush(struct ladder *l);

void ladder_free(struct ladder *l);

#endif /* SYNACK_LADDER_H */
