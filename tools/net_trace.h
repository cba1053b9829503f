/*
 * net_trace.h: the --trace of `synack serve` and `synack connect`: an RFC 793-style ladder per
 * connection, drawn by the same renderer as `synack demo` (src/trace/ladder.h).
 *
 * On a real network only one side is synack: its trace events say what it sent, received and
 * became, but nothing reports the peer's side. So this adapter makes the peer's half of each
 * line from the packets crossing the device: a packet read from the device is the peer's
 * SEG_OUT, a packet written to it the peer's SEG_IN. The peer's state is inferred from the
 * segments it sent and received, by the transitions of RFC 9293 3.5-3.6 (a "shadow" TCB):
 * it is shown as the peer's state, but it is an inference, not the peer's report. Losses
 * injected by the fault layer are drawn as "(lost)" like memnet's.
 *
 * Feed it three streams, all from the same thread at a time (the runner's lock):
 *   net_trace_observe() as the stack's observer and the fault layer's (SYNACK_EV_LINK),
 *   net_trace_wire() as the TUN driver's on_wire hook.
 */
#ifndef SYNACK_TOOLS_NET_TRACE_H
#define SYNACK_TOOLS_NET_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "synack.h"

struct net_trace;

/* A trace of the stack with address our_ip, its ladders printed to out (NULL: no text, for
 * a trace that only draws SVG diagrams). NULL on no memory. */
struct net_trace *net_trace_new(FILE *out, uint32_t our_ip);

/* Also draw each connection as an SVG sequence diagram (src/trace/svg.h): the first into
 * path, later ones into path with -2, -3, ... before its extension, each written when its
 * connection is over. path must outlive the trace. */
void net_trace_set_svg(struct net_trace *t, const char *path);

/* Connections that arrive on this port start from LISTEN on synack's side (a listener). */
void net_trace_set_listen_port(struct net_trace *t, uint16_t port);

/* synack_observer_fn: the stack's events and the fault layer's LINK events. */
void net_trace_observe(void *arg, const struct synack_event *ev);

/* The TUN driver's on_wire hook (what: TUN_WIRE_*). */
void net_trace_wire(void *arg, int what, const uint8_t *packet, size_t len, uint64_t now_us);

/* Prints what is still open in every ladder and frees the trace. NULL is allowed. */
void net_trace_free(struct net_trace *t);

#endif /* SYNACK_TOOLS_NET_TRACE_H */
