/*
 * memnet.h: the in-process virtual network. It joins two or more nodes (usually stacks) with
 * a virtual clock, per-direction delay and seeded fault injection (loss, duplication,
 * reordering, corruption). A run is a pure function of its configuration and seed.
 *
 * Packets are copied once into memnet's pool when sent and handed to the receiver by
 * reference when delivered. Delivery order is by (delivery time, send order).
 */
#ifndef SYNACK_MEMNET_H
#define SYNACK_MEMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack.h"

#define MEMNET_MTU 65535 /* largest packet memnet carries, bytes */

struct memnet;

/* What a node does with time and packets. input() may send (re-entrantly) through the node's
 * link; poll() runs due timers and returns the next deadline (UINT64_MAX for none). */
struct memnet_node_ops {
    void *arg;
    void (*input)(void *arg, const uint8_t *packet, size_t len, uint64_t now_us);
    uint64_t (*poll)(void *arg, uint64_t now_us);
};

/* Faults and delay of one direction. Probabilities are in [0, 1]. */
struct memnet_path {
    uint64_t delay_us;      /* one-way delay */
    double loss;            /* probability a packet is dropped */
    double dup;             /* probability a packet is delivered twice */
    double reorder;         /* probability a packet is held back by reorder_us */
    uint64_t reorder_us;    /* extra delay of a held-back packet; default 2 x delay + 1 ms */
    double corrupt;         /* probability one random byte of the packet is flipped */
    uint64_t rate_bps;      /* link rate, bits per second; 0 = unlimited (the default). A
                               packet takes len x 8 / rate_bps to transmit and waits (without
                               limit) behind the packets sent before it on this path; its
                               one-way delay starts when its transmission ends. Lost packets
                               occupy the link too (they are lost on the wire) */
};

struct memnet_stats {
    uint64_t sent, delivered, lost, duplicated, reordered, corrupted, unroutable;
};

/* Creates a network with its clock at 0. Returns NULL when memory runs out. */
struct memnet *memnet_new(uint64_t seed);
void memnet_free(struct memnet *net);

/* Adds a node with an address; returns its index (>= 0) or -1 (address in use, no memory). */
int memnet_add_node(struct memnet *net, uint32_t ip);

/* Sets what the node does; call before running. */
void memnet_attach(struct memnet *net, int node, const struct memnet_node_ops *ops);

/* The link a node's stack transmits on: packets are routed by destination address. */
struct synack_link memnet_link(struct memnet *net, int node);

/* Sets the path from one address to another (both directions: call twice). Defaults to a
 * perfect path with zero delay. Returns false for an unknown address. */
bool memnet_set_path(struct memnet *net, uint32_t from_ip, uint32_t to_ip,
                     const struct memnet_path *path);

/* Receives SYNACK_EV_LINK events (loss, duplication, reordering, corruption). */
void memnet_set_observer(struct memnet *net, synack_observer_fn fn, void *arg);

/* Virtual time now, microseconds. */
uint64_t memnet_now(const struct memnet *net);

/* Advances the clock to the next event (a delivery or a node deadline) no later than
 * limit_us and processes everything due then. Returns false, leaving the clock at limit_us,
 * when nothing is due by then. */
bool memnet_step(struct memnet *net, uint64_t limit_us);

/* Runs until the clock reaches until_us (everything due by then is processed). */
void memnet_run_until(struct memnet *net, uint64_t until_us);

/* Runs until done(arg) is true after a step, or the clock passes limit_us. Returns done's
 * last answer. */
bool memnet_run(struct memnet *net, bool (*done)(void *arg), void *arg, uint64_t limit_us);

void memnet_stats(const struct memnet *net, struct memnet_stats *out);

#endif /* SYNACK_MEMNET_H */
