/*
 * demo_bulk.h: `synack demo --bytes N`: a bulk transfer over memnet (tools/bulk.h) drawn as a
 * ladder whose data phase is summarised.
 */
#ifndef SYNACK_DEMO_BULK_H
#define SYNACK_DEMO_BULK_H

#include <stdbool.h>
#include <stdio.h>

#include "bulk.h"

/* Runs the transfer of *o, prints the ladder (every segment if full, else the handshake, a
 * summary line per data phase and the close) and the summary to out. Returns the exit
 * status: 0 when the data arrived intact and both sides closed, 1 otherwise. */
int demo_bulk_run(struct bulk_opts *o, bool full, bool verbose, FILE *out);

#endif /* SYNACK_DEMO_BULK_H */
