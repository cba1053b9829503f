/*
 * fault.h: fault injection for any link: seeded random loss and a fixed one-way delay, one
 * direction per object. memnet has its own faults; this is for links that do not, such as
 * a TUN device, so interop can be tested under loss where the kernel has no netem.
 *
 * A packet that enters a direction is either lost (reported as a SYNACK_EV_LINK event with
 * link_action SYNACK_LINK_LOST, like memnet's), or handed to the direction's deliver
 * function: at once when there is no delay, else at entry time + delay, in entry order, by
 * fault_dir_release(). Held packets are copied; the amount held is bounded, and a packet
 * that does not fit is dropped and counted as an overflow (a queue that is full, as in a
 * router).
 *
 * Portable C, no clock: times are passed in. Not thread-safe (one thread at a time).
 */
#ifndef SYNACK_FAULT_H
#define SYNACK_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack.h"

#define FAULT_QUEUE_MAX_DEFAULT (64u << 20) /* bytes held back for delay, default cap */

/* What one direction does to packets. */
struct fault_cfg {
    double loss;             /* probability that a packet is dropped, in [0, 1] */
    uint64_t delay_us;       /* one-way delay added to every packet, microseconds */
    uint64_t seed;           /* seed of the loss draws: a run with the same packets and seed
                                loses the same ones */
    size_t queue_max;        /* most bytes held back for delay; 0 = FAULT_QUEUE_MAX_DEFAULT */
};

struct fault_stats {
    uint64_t passed;         /* packets delivered */
    uint64_t lost;           /* packets dropped by the loss draw */
    uint64_t overflow;       /* packets dropped because the delay queue was full */
    uint64_t held;           /* packets held back now */
};

/* Where a direction delivers packets. The buffer is valid during the call only. */
typedef void (*fault_deliver_fn)(void *arg, const uint8_t *packet, size_t len);

struct fault_dir;

/* Creates a direction. Returns NULL if cfg is NULL, loss is not in [0, 1] (NaN included),
 * deliver is NULL, or memory runs out. */
struct fault_dir *fault_dir_new(const struct fault_cfg *cfg, fault_deliver_fn deliver,
                                void *deliver_arg);

/* Frees the direction and the packets it holds (they are not delivered). NULL is allowed. */
void fault_dir_free(struct fault_dir *d);

/* Receives the SYNACK_EV_LINK events of lost packets (local = the packet's sender). */
void fault_dir_set_observer(struct fault_dir *d, synack_observer_fn fn, void *arg);

/* A packet enters at now_us. Returns true if it was delivered or is held for delivery, false
 * if it was dropped (loss or overflow). */
bool fault_dir_push(struct fault_dir *d, const uint8_t *packet, size_t len, uint64_t now_us);

/* Delivers every held packet due at or before now_us, in entry order. */
void fault_dir_release(struct fault_dir *d, uint64_t now_us);

/* When the next held packet is due, or UINT64_MAX when none is held. */
uint64_t fault_dir_deadline(const struct fault_dir *d);

/* true when the direction does nothing to packets (no loss, no delay). */
bool fault_dir_is_clean(const struct fault_dir *d);

void fault_dir_stats(const struct fault_dir *d, struct fault_stats *out);

/* Parses "P" or "P%" as a loss probability: a decimal in [0, 1], or a percentage in
 * [0, 100] with a '%' suffix ("0.05" and "5%" are the same). Returns false on anything else. */
bool fault_parse_loss(const char *text, double *out);

#endif /* SYNACK_FAULT_H */
