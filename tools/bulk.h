/*
 * bulk.h: a bulk transfer between two synack stacks over memnet, checked to the byte.
 *
 * A (10.0.0.1) connects to B (10.0.0.2:5001) and sends `bytes` bytes; with both_directions
 * B sends as many to A at the same time. The bytes come from a PRNG keyed by the seed and
 * the direction, generated as they are sent and generated again by the receiver to compare
 * what it reads, so a transfer of any size needs only a few 64 KiB buffers. Both ends also
 * keep a running hash of the stream (FNV-1a 64 taken 8 bytes a step, over what was handed to
 * send() and what recv() returned). A side that has sent everything shuts its write side down; a side with nothing
 * to send shuts down once it has read the end of file. Both then close, and the run goes on
 * until nothing is left to happen (TIME-WAIT included) and checks that both stacks are back
 * to zero connections and sockets.
 *
 * A run is a pure function of its options (the seed included): virtual time, seeded faults,
 * ISN keys derived from the seed. Only wall_s depends on the machine.
 *
 * Used by tests/test_sim.c (the simulation grid, the recorded table tests/netsim.tsv) and by
 * `synack demo --bytes N` (see docs/simulation.md).
 */
#ifndef SYNACK_TOOLS_BULK_H
#define SYNACK_TOOLS_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "link/memnet.h"
#include "synack.h"

#define BULK_IP_A 0x0a000001u      /* 10.0.0.1: connects, sends */
#define BULK_IP_B 0x0a000002u      /* 10.0.0.2: listens, receives */
#define BULK_PORT 5001             /* B's listening port */
#define BULK_NO_LIMIT UINT64_MAX   /* time_limit_us: no virtual time limit */

/* Options of a run. Fill with bulk_opts_default(), then change what you need. */
struct bulk_opts {
    uint64_t bytes;            /* bytes to send in each direction; default 1 MiB */
    double loss;               /* probability a packet is lost, each direction, [0, 1] */
    double reorder;            /* probability a packet is held back (memnet default delay) */
    double dup;                /* probability a packet is delivered twice */
    double corrupt;            /* probability a packet has one byte flipped */
    uint64_t delay_us;         /* one-way delay, microseconds; default 1 ms */
    double rate_mbit;          /* link rate each way, Mbit/s (10^6 bit/s); 0 = unlimited */
    uint64_t seed;             /* memnet seed; also keys the ISNs and the data; default 1 */
    bool both_directions;      /* B sends `bytes` to A at the same time as A sends to B */
    uint32_t sndbuf, rcvbuf;   /* socket buffers of both stacks, bytes; 0 = stack default */
    uint16_t mss;              /* MSS both stacks announce; 0 = stack default (1460) */
    uint64_t user_timeout_us;  /* RFC 9293 3.8.3 user timeout; default 1 hour: a dead link is
                                  not what a run tests, and a timeout fails the run */
    uint64_t msl_us;           /* maximum segment lifetime (TIME-WAIT is 2 x MSL); 0 = stack
                                  default (120 s; costs no wall-clock time) */
    uint64_t read_pause_us;    /* slow reader: receivers read nothing for this long after
                                  their connection is established; default 0 */
    uint64_t time_limit_us;    /* the run fails when virtual time passes this; default
                                  BULK_NO_LIMIT (the user timeout ends a stuck run) */
    uint64_t max_packets;      /* the run fails when the stacks have been handed more packets
                                  than this (a storm, e.g. an ACK war, which at zero delay
                                  would never let virtual time move on); 0 = default:
                                  100 x the bytes to transfer / 1000 + 100000 */
    uint64_t flip_byte;        /* self-test of the checker: when not 0, the receiver of
                                  A -> B flips byte flip_byte - 1 of the stream as it reads
                                  it, so the run must fail; default 0 */
    synack_observer_fn observer; /* receives every event of both stacks and of memnet (the
                                    data segments included); NULL for none */
    void *observer_arg;
};

/* One direction of the transfer. */
struct bulk_dir {
    uint64_t sent;             /* bytes the sender's application handed to synack_send() */
    uint64_t received;         /* bytes the receiver's application got from synack_recv() */
    uint64_t hash_sent;        /* running hash of the bytes sent (FNV-1a 64 over 8-byte
                                  words, see bulk.c) */
    uint64_t hash_received;    /* the same of the bytes received */
    uint64_t first_bad;        /* stream offset of the first byte received wrong, or
                                  UINT64_MAX when none was */
    bool eof;                  /* the receiver read the end of file */
    uint64_t done_us;          /* virtual time of that end of file */
    uint64_t retransmits;      /* segments the sender's connection sent again (by done_us) */
    uint64_t srtt_us, rto_us;  /* the sender's RTT estimate and RTO at done_us */
};

/* What a run did. */
struct bulk_result {
    struct bulk_opts opts;     /* the options of the run */
    bool ok;                   /* intact and closed, no error, within the time limit */
    bool intact;               /* every byte arrived in order exactly once, each direction */
    bool closed;               /* both connections closed without error, reset or timeout,
                                  and both stacks ended with no connection, socket or timer */
    char failure[200];         /* why the run failed; "" when ok */
    int ndirs;                 /* 1, or 2 with both_directions */
    struct bulk_dir dir[2];    /* [0] A -> B, [1] B -> A */
    uint64_t established_us;   /* virtual time A's connection reached ESTABLISHED */
    uint64_t data_done_us;     /* virtual time the last receiver read its end of file */
    uint64_t end_us;           /* virtual time nothing was left to happen */
    double goodput_mbit;       /* bytes received in every direction x 8 / (data_done_us -
                                  established_us), Mbit/s; 0 when no virtual time passed */
    uint64_t retransmits;      /* segments both stacks sent again (stack counters) */
    uint64_t segments;         /* segments both stacks sent */
    struct synack_stats stats[2]; /* A's and B's counters at the end */
    struct memnet_stats net;   /* what the network did */
    double wall_s;             /* wall-clock seconds the run took */
};

/* Fills *o with the defaults documented above. Can't fail. */
void bulk_opts_default(struct bulk_opts *o);

/* Runs one transfer and fills *r. Returns 0 when the run is ok (r->ok), -1 when it failed
 * (r->failure says why: a wrong byte, an error, a time limit, counters not back to zero,
 * bad options, or no memory). */
int bulk_run(const struct bulk_opts *o, struct bulk_result *r);

/* Writes a human-readable summary of a run (a few lines, with the options). */
void bulk_print_summary(FILE *out, const struct bulk_result *r);

/* ---- Command-line options ------------------------------------------------------------------
 *   --bytes N       bytes each way; suffix K, M, G or T (also KiB, MiB, GiB, TiB) for binary
 *                   units: 100M = 100 MiB = 104857600 bytes. 1..2^40
 *   --loss P        packet loss each way: a fraction 0..1 (0.05) or a percentage (5%)
 *   --reorder P     packets held back and overtaken (same syntax)
 *   --dup P         packets delivered twice
 *   --corrupt P     packets with one byte flipped
 *   --delay MS      one-way delay in milliseconds (decimals allowed), 0..60000
 *   --rate MBIT     link rate each way in Mbit/s (decimals allowed), 0 = unlimited
 *   --both          send in both directions at once
 *   --sndbuf N      send buffer bytes (suffixes as --bytes), 1..1G
 *   --rcvbuf N      receive buffer bytes, 1..1G
 */

/* The usage lines of the options above, for a program's help text. */
extern const char bulk_usage_text[];

/* Whether name (with its dashes, "--loss") is a bulk option: 0 no, 1 a flag without a value
 * (--both), 2 an option that takes a value. */
int bulk_option_kind(const char *name);

/* Applies one option to *o. value is its argument (ignored for a flag). Returns 1 when it
 * was applied, 0 when name is not a bulk option (*o unchanged), -1 when the value is invalid:
 * a one-line reason ("--loss: '2' is not a probability ...") is written to err (errlen
 * bytes, may be 0). */
int bulk_parse_option(struct bulk_opts *o, const char *name, const char *value, char *err,
                      size_t errlen);

/* Parses a byte count: decimal digits with an optional binary suffix (K, M, G, T, with or
 * without "iB", either case). Returns false for anything else or a value above max. */
bool bulk_parse_size(const char *s, uint64_t max, uint64_t *out);

#endif /* SYNACK_TOOLS_BULK_H */
