/*
 * ladder.h: renders trace events as an RFC 793-style ladder, one line per segment, with both
 * sides' states after each line:
 *
 *       TCP A 10.0.0.1:49152                                  TCP B 10.0.0.2:7
 *    1. CLOSED                                                LISTEN
 *    2. SYN-SENT    --> <SEQ=100><CTL=SYN>                --> SYN-RECEIVED
 *
 * It observes the events of both stacks and of memnet (synack_observer_fn): a SEG_OUT opens
 * a line with the sender's state, the matching SEG_IN completes it with the receiver's state,
 * a LINK loss marks it lost. Lines are printed in send order as they complete.
 */
#ifndef SYNACK_LADDER_H
#define SYNACK_LADDER_H

#include <stdio.h>

#include "synack.h"

struct ladder;

/* A ladder between endpoint a (drawn on the left) and b (right), written to out. The
 * initial states are the states of line 1. Returns NULL when memory runs out. */
struct ladder *ladder_new(FILE *out, const char *name_a, struct synack_addr a, int state_a,
                          const char *name_b, struct synack_addr b, int state_b);

/* The observer function: pass the ladder as arg. */
void ladder_observe(void *ladder, const struct synack_event *ev);

/* Prints any lines still open (a segment never delivered is printed as such). */
void ladder_flush(struct ladder *l);

void ladder_free(struct ladder *l);

#endif /* SYNACK_LADDER_H */
