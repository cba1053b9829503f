/*
 * json.h: writes trace events as JSON lines: one JSON object per event, one per line, for
 * other tools (jq, pandas, a plotting script). The format is documented in docs/events.md:
 *
 *   {"time_us":1000,"time":"0.001000","event":"seg_out","side":"A","direction":"A->B",
 *    "local":"10.0.0.1:1000","remote":"10.0.0.2:2000","seq":100,"ack":0,"flags":["SYN"],
 *    "window":65535,"length":0,"options":{"mss":1460},"retransmit":false,
 *    "old_state":"SYN-SENT","new_state":"SYN-SENT","reason":null,"link":null}
 *
 * Every event is written, also those of other peers (their side is null). Sides are matched
 * by address like the ladder's (port 0 learned from the first event).
 */
#ifndef SYNACK_JSON_H
#define SYNACK_JSON_H

#include <stdio.h>

#include "synack.h"

struct json_trace;

/* A writer to out for a connection between a ("A") and b ("B"). Returns NULL when out is
 * NULL or memory runs out. */
struct json_trace *json_new(FILE *out, struct synack_addr a, struct synack_addr b);

/* The observer function: pass the writer as arg. */
void json_observe(void *json, const struct synack_event *ev);

/* Flushes the stream; returns 0, or -1 if a write failed. */
int json_flush(struct json_trace *j);

void json_free(struct json_trace *j);

#endif /* SYNACK_JSON_H */
