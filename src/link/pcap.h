/*
 * pcap.h: a pcap capture file writer, and a tap that records what a link carries.
 *
 * Format: the classic libpcap file (not pcapng), as documented by tcpdump.org
 * ("LINK-LAYER HEADER TYPES" and the pcap-savefile manual page):
 *   - a 24-byte file header: magic, version 2.4, thiszone 0, sigfigs 0, snaplen, link type;
 *   - per packet a 16-byte record header: seconds, microseconds (or nanoseconds), captured
 *     length, original length; then the captured bytes.
 * The link type is LINKTYPE_IPV4 (228): each record is one IPv4 packet with no link-layer
 * header, which is exactly what synack's links carry. All header fields are written
 * little-endian, whatever the host, so a capture is the same file on every machine (readers
 * learn the byte order from the magic number).
 *
 * Portable C: stdio only. Timestamps are passed in by the caller, in nanoseconds since an
 * epoch of the caller's choosing: virtual time on memnet (a run starts at 0, in 1970), real
 * time (CLOCK_REALTIME) on a TUN device.
 *
 * Not thread-safe: a writer is used by one thread at a time (the blocking API calls it with
 * its lock held).
 */
#ifndef SYNACK_PCAP_H
#define SYNACK_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "synack.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u    /* file magic: record timestamps in microseconds */
#define PCAP_MAGIC_NS 0xa1b23c4du    /* file magic: record timestamps in nanoseconds */
#define PCAP_VERSION_MAJOR 2         /* file format version 2.4 */
#define PCAP_VERSION_MINOR 4
#define PCAP_LINKTYPE_IPV4 228       /* LINKTYPE_IPV4: raw IPv4, no link-layer header */
#define PCAP_SNAPLEN 65535           /* longest packet recorded whole, bytes */
#define PCAP_FILE_HDR_LEN 24         /* file header, bytes */
#define PCAP_REC_HDR_LEN 16          /* record header, bytes */

struct pcap_writer;

/* Counters of one writer. */
struct pcap_stats {
    uint64_t packets;   /* records written */
    uint64_t bytes;     /* packet bytes written (captured lengths) */
    uint64_t skipped;   /* packets not written because they are not IPv4 (e.g. IPv6 from a
                           TUN device), which LINKTYPE_IPV4 cannot describe */
    int error;          /* first I/O error (an errno value), 0 if none; nothing is written
                           after one */
};

/* Creates (or truncates) the file at path and writes the file header. nanosecond selects
 * nanosecond record timestamps (magic PCAP_MAGIC_NS) instead of microseconds. Returns NULL
 * with errno set when the file cannot be created or written. */
struct pcap_writer *pcap_open(const char *path, bool nanosecond);

/* Same on an open stream, which the writer takes over: pcap_close() closes it, or this call
 * does when it fails. Returns NULL with errno set if f is NULL, the header cannot be written,
 * or memory runs out. */
struct pcap_writer *pcap_open_stream(FILE *f, bool nanosecond);

/* Writes one packet with timestamp ts_ns. Packets longer than PCAP_SNAPLEN are cut there (the
 * record keeps the original length). Returns true when a record was written; false when
 * the packet is not IPv4 (counted in skipped), w is NULL, or an I/O error happened now or
 * before (see pcap_stats). Records are buffered: pcap_flush() or pcap_close() writes them. */
bool pcap_write(struct pcap_writer *w, uint64_t ts_ns, const uint8_t *packet, size_t len);

/* Writes buffered records to the file. Returns 0 or the writer's first errno value. */
int pcap_flush(struct pcap_writer *w);

void pcap_stats(const struct pcap_writer *w, struct pcap_stats *out);

/* Flushes, closes the file and frees the writer. Returns 0, or the first errno value of the
 * writer's life (the capture is then incomplete). NULL is allowed. */
int pcap_close(struct pcap_writer *w);

/* ---- Tap --------------------------------------------------------------------------------- */

/* A tap records a link's traffic: wrap the link a stack sends on with pcap_tap_link(), and
 * call pcap_tap_input() for each packet handed to the stack. Fill the fields, then use it;
 * it must outlive the link made from it. */
struct pcap_tap {
    struct pcap_writer *w;                /* where records go (NULL: record nothing) */
    struct synack_link inner;             /* where sent packets go after being recorded */
    uint64_t (*clock_ns)(void *arg);      /* timestamp of a packet, nanoseconds */
    void *clock_arg;
};

/* A link that records each packet, then passes it to t->inner.send. */
struct synack_link pcap_tap_link(struct pcap_tap *t);

/* Records a packet that arrived from the link (before the stack processes it). */
void pcap_tap_input(struct pcap_tap *t, const uint8_t *packet, size_t len);

#endif /* SYNACK_PCAP_H */
