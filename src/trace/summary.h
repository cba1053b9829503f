/*
 * summary.h: the states each side of a connection passed through, with the virtual (or
 * real) time spent in each, from trace events:
 *
 *   states (time spent in each):
 *     TCP Peer A 10.0.0.1:1000
 *       ESTABLISHED       1 ms
 *       FIN-WAIT-1        1 ms
 *       ...
 *       TIME-WAIT         240 s
 *       CLOSED            (at the end)
 *
 * Sides are matched by address like the ladder's (port 0 learned from the first event).
 * Only state changes of the pair's connections count; a listener's child that starts in
 * LISTEN while the side is already LISTEN changes nothing.
 */
#ifndef SYNACK_SUMMARY_H
#define SYNACK_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "synack.h"

#define SUMMARY_A 0    /* the left side */
#define SUMMARY_B 1    /* the right side */
#define SUMMARY_MAX 64 /* state changes remembered per side; later ones are counted only */

struct summary;

/* A summary of sides a and b in their initial states at time start_us. Returns NULL when
 * memory runs out. */
struct summary *summary_new(const char *name_a, struct synack_addr a, int state_a,
                            const char *name_b, struct synack_addr b, int state_b,
                            uint64_t start_us);

/* The observer function: pass the summary as arg. */
void summary_observe(void *summary, const struct synack_event *ev);

/* Prints the per-side lists; the last state of each side lasts until end_us. */
void summary_print(const struct summary *s, FILE *out, uint64_t end_us);

/* The states side went through, in order: up to max states into states[] and the times they
 * were entered into entered_us[] (either may be NULL). Returns how many there are in all. */
int summary_path(const struct summary *s, int side, int *states, uint64_t *entered_us,
                 int max);

void summary_free(struct summary *s);

#endif /* SYNACK_SUMMARY_H */
