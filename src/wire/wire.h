/*
 * wire.h: pure parse and emit of IPv4 and TCP (RFC 791, RFC 9293 3.1-3.2, RFC 7323, RFC 2018),
 * and the Internet checksum (RFC 1071). No I/O, no allocation, no global state.
 *
 * Parsing takes a bounded buffer and returns a validated struct or a drop reason (an
 * enum synack_drop_reason from synack.h); nothing after the parser touches raw header bytes.
 * Multi-byte fields in the structs are in host byte order.
 */
#ifndef SYNACK_WIRE_H
#define SYNACK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack.h"

#define WIRE_IPV4_HDR_LEN 20 /* IPv4 header without options, bytes */
#define WIRE_TCP_HDR_LEN 20  /* TCP header without options, bytes */
#define WIRE_TCP_OPT_MAX 40  /* most option bytes a TCP header can carry */
#define WIRE_SACK_MAX 4      /* most SACK blocks one segment carries (RFC 2018 3) */
#define WIRE_PROTO_TCP 6     /* IPv4 protocol number of TCP */

/* ---- Checksum ---------------------------------------------------------------------------- */

/* Adds len bytes at data to a running one's-complement sum (64-bit accumulation, any
 * alignment, odd lengths allowed only as the last piece). Fold with wire_csum_fold(). */
uint64_t wire_csum_add(uint64_t sum, const void *data, size_t len);

/* Copies len bytes from src to dst and adds them to sum, in one pass. Same rules. */
uint64_t wire_csum_copy(uint64_t sum, void *dst, const void *src, size_t len);

/* Folds a running sum to 16 bits and complements it: the value to put in a header. */
uint16_t wire_csum_fold(uint64_t sum);

/* Folds a running sum to 16 bits without complementing it: the partial checksum that
 * checksum offload leaves in the header for the link or the kernel to finish (the
 * pseudo-header's sum). */
uint16_t wire_csum_partial(uint64_t sum);

/* The RFC 9293 3.1 IPv4 pseudo-header sum (source, destination, zero, PTCL=6, TCP length). */
uint64_t wire_csum_pseudo(uint32_t src, uint32_t dst, uint16_t tcp_len);

/* ---- IPv4 -------------------------------------------------------------------------------- */

struct wire_ipv4 {
    uint32_t src, dst;       /* addresses, host order */
    uint8_t protocol;        /* 6 for TCP */
    uint8_t ttl;
    uint8_t tos;
    uint16_t id;
    uint16_t total_len;      /* bytes, header included */
    uint8_t hdr_len;         /* IHL * 4, options included (options are skipped) */
    const uint8_t *payload;  /* points into the parsed buffer */
    size_t payload_len;      /* total_len - hdr_len; bytes past total_len are ignored */
};

/* Parses and validates an IPv4 header: version 4, IHL >= 5 and within the buffer, total
 * length within the buffer and >= IHL, header checksum, not a fragment (MF set or offset
 * != 0). Returns 0 or the enum synack_drop_reason that rejects it. */
int wire_ipv4_parse(const uint8_t *buf, size_t len, struct wire_ipv4 *out);

/* ---- TCP --------------------------------------------------------------------------------- */

#define WIRE_OPT_MSS 0x01       /* opts.mss valid */
#define WIRE_OPT_WSCALE 0x02    /* opts.wscale valid */
#define WIRE_OPT_SACK_PERM 0x04 /* SACK-permitted present */
#define WIRE_OPT_TS 0x08        /* opts.ts_val / ts_ecr valid */
#define WIRE_OPT_SACK 0x10      /* opts.sack[0 .. sack_count) valid */

struct wire_sack_block {
    uint32_t left, right;    /* [left, right): first sequence number, one past the last */
};

struct wire_tcp_opts {
    uint8_t present;         /* WIRE_OPT_* bits */
    uint8_t wscale;          /* shift count as received (the engine clamps to 14) */
    uint16_t mss;            /* bytes */
    uint32_t ts_val, ts_ecr; /* RFC 7323 3 */
    uint8_t sack_count;      /* number of SACK blocks */
    struct wire_sack_block sack[WIRE_SACK_MAX];
};

struct wire_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;           /* SYNACK_FIN | SYNACK_SYN | ... */
    uint8_t hdr_len;         /* data offset * 4, bytes */
    uint16_t wnd;            /* window field as on the wire (unscaled) */
    uint16_t urg_ptr;
    struct wire_tcp_opts opts;
    const uint8_t *payload;  /* points into the parsed buffer */
    uint32_t payload_len;
};

/* Parses and validates a TCP segment of exactly len bytes (the IPv4 payload). If
 * check_csum, verifies the checksum with the pseudo-header of src/dst. Options: EOL ends the
 * list, NOP is skipped, MSS/WS/SACK-permitted/timestamps/SACK are read when their length is
 * right, unknown kinds are skipped by their length; a length < 2 or past the header is
 * malformed. Returns 0 or the enum synack_drop_reason that rejects it. */
int wire_tcp_parse(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst,
                   bool check_csum, struct wire_tcp *out);

/* A segment to emit. The payload is up to two slices (a ring buffer may wrap). */
struct wire_tcp_out {
    uint32_t src, dst;       /* IPv4 addresses, host order */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;            /* window field (already scaled down) */
    uint8_t ttl;
    uint16_t ip_id;
    struct wire_tcp_opts opts; /* options to write; ordering and padding are the emitter's */
    const uint8_t *data[2];
    uint32_t data_len[2];
    uint32_t tso_seg;        /* > 0: the payload is larger than one segment and the link
                                cuts it into segments of tso_seg bytes (segmentation
                                offload); 0: the packet goes on the wire as it is */
    bool csum_partial;       /* checksum offload: the TCP checksum field gets only the
                                pseudo-header sum, not complemented, and the payload is
                                copied without summing; the link completes it */
};

/* Sets every field of *o to zero (NULL), as a memset would but cheaper per packet. */
void wire_tcp_out_clear(struct wire_tcp_out *o);

/* Number of option bytes wire_emit() writes for opts (a multiple of 4, <= 40). */
size_t wire_tcp_opts_len(const struct wire_tcp_opts *opts);

/* The length of the packet wire_emit() writes for seg, bytes (may exceed 65535: then
 * wire_emit() refuses it). */
size_t wire_emit_len(const struct wire_tcp_out *seg);

/* Writes a whole IPv4 packet (20-byte IPv4 header, TCP header with options, payload) into
 * buf with both checksums, copying the payload and summing it in one pass (with
 * seg->csum_partial, the TCP checksum partial and the payload only copied). Returns the
 * packet length, or 0 if it does not fit in cap or the options do not fit in 40 bytes. */
size_t wire_emit(uint8_t *buf, size_t cap, const struct wire_tcp_out *seg);

#endif /* SYNACK_WIRE_H */
