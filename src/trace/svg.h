/*
 * svg.h: renders trace events as an SVG sequence diagram: two lifelines (A left, B right),
 * time flowing down, one arrow per segment from its departure to its arrival, slanted by its
 * transit time; each side's state written beside its lifeline where it changes, and the
 * lifeline coloured by state; lost segments end in a cross halfway; retransmissions are
 * drawn dashed and labelled; TIME-WAIT is a shaded span labelled with its length (2 x MSL).
 *
 * The time axis is compressed so that both a 1 ms round trip and a 240 s TIME-WAIT fit:
 * every event gets its own step, instants further apart get a little more room, and a long
 * quiet time is drawn as a break labelled with its length. Long runs of plain data and ACK
 * segments in ESTABLISHED are summarised as one band ("... 180 segments ...").
 *
 * Usage: svg_new(), pass svg_observe (with the svg as arg) as the observer of both stacks
 * and the link, then svg_write() once at the end (the layout needs every event).
 */
#ifndef SYNACK_SVG_H
#define SYNACK_SVG_H

#include <stdint.h>
#include <stdio.h>

#include "synack.h"

#define SVG_A 0 /* the left side */
#define SVG_B 1 /* the right side */

struct svg;

/* A diagram between a (left) and b (right) in their initial states. Ports 0 are learned
 * from the first event, as in the ladder. Returns NULL when memory runs out. */
struct svg *svg_new(const char *name_a, struct synack_addr a, int state_a, const char *name_b,
                    struct synack_addr b, int state_b);

/* A title drawn above the diagram (copied). */
void svg_set_title(struct svg *g, const char *title);

/* The MSL, to label a TIME-WAIT span of exactly 2 x MSL as such. */
void svg_set_msl(struct svg *g, uint64_t msl_us);

/* The observer function: pass the svg as arg. */
void svg_observe(void *svg, const struct synack_event *ev);

/* A note such as "(Close)" beside side's lifeline (SVG_A or SVG_B) at the latest event's
 * time. */
void svg_note(struct svg *g, int side, const char *text);

/* Writes the whole document to out; call it once, after the last event (it lays the events
 * out for good). Returns 0, or -1 if a write failed. */
int svg_write(struct svg *g, FILE *out);

void svg_free(struct svg *g);

#endif /* SYNACK_SVG_H */
