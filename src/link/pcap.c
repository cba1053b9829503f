/*
 * pcap.c: the pcap file writer and link tap (see pcap.h).
 *
 * Read first: the pcap-savefile(5) manual page of libpcap (file and record headers) and the
 * tcpdump.org list of link-layer header types (LINKTYPE_IPV4 = 228).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "link/pcap.h"

#define STREAM_BUF (1u << 20) /* stdio buffer of the capture file, bytes */
#define NS_PER_S 1000000000u  /* nanoseconds in a second */

struct pcap_writer {
    FILE *f;
    char *buf;              /* stdio buffer (setvbuf), STREAM_BUF bytes, or NULL */
    bool nanosecond;        /* record timestamps in nanoseconds (else microseconds) */
    struct pcap_stats stats;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes n bytes; on failure records the error (once) and returns false. */
static bool put_bytes(struct pcap_writer *w, const void *data, size_t n)
{
    if (w->stats.error)
        return false;
    if (fwrite(data, 1, n, w->f) != n) {
        w->stats.error = errno ? errno : EIO;
        return false;
    }
    return true;
}

struct pcap_writer *pcap_open_stream(FILE *f, bool nanosecond)
{
    if (f == NULL) {
        errno = EINVAL;
        return NULL;
    }
    struct pcap_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    w->f = f;
    w->nanosecond = nanosecond;
    /* A large buffer: a bulk transfer writes a record per segment. */
    w->buf = malloc(STREAM_BUF);
    if (w->buf != NULL)
        setvbuf(f, w->buf, _IOFBF, STREAM_BUF);

    uint8_t hdr[PCAP_FILE_HDR_LEN];
    put32(hdr, nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    put16(hdr + 4, PCAP_VERSION_MAJOR);
    put16(hdr + 6, PCAP_VERSION_MINOR);
    put32(hdr + 8, 0);  /* thiszone: timestamps are UTC */
    put32(hdr + 12, 0); /* sigfigs: always 0 */
    put32(hdr + 16, PCAP_SNAPLEN);
    put32(hdr + 20, PCAP_LINKTYPE_IPV4);
    if (!put_bytes(w, hdr, sizeof hdr) || fflush(f) != 0) {
        int err = w->stats.error ? w->stats.error : errno;
        fclose(f); /* before freeing the buffer the stream uses */
        free(w->buf);
        free(w);
        errno = err;
        return NULL;
    }
    return w;
}

struct pcap_writer *pcap_open(const char *path, bool nanosecond)
{
    if (path == NULL) {
        errno = EINVAL;
        return NULL;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return NULL;
    return pcap_open_stream(f, nanosecond);
}

bool pcap_write(struct pcap_writer *w, uint64_t ts_ns, const uint8_t *packet, size_t len)
{
    if (w == NULL || w->stats.error)
        return false;
    /* LINKTYPE_IPV4 records hold IPv4 only: the version nibble must say 4. */
    if (packet == NULL || len == 0 || (packet[0] >> 4) != 4) {
        w->stats.skipped++;
        return false;
    }
    uint32_t caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (uint32_t)len;
    uint32_t origlen = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint64_t sec = ts_ns / NS_PER_S;
    uint32_t frac = (uint32_t)(ts_ns % NS_PER_S);
    if (!w->nanosecond)
        frac /= 1000; /* microseconds */

    uint8_t rec[PCAP_REC_HDR_LEN];
    put32(rec, (uint32_t)sec); /* the format's seconds field is 32 bits (until 2106) */
    put32(rec + 4, frac);
    put32(rec + 8, caplen);
    put32(rec + 12, origlen);
    if (!put_bytes(w, rec, sizeof rec) || !put_bytes(w, packet, caplen))
        return false;
    w->stats.packets++;
    w->stats.bytes += caplen;
    return true;
}

int pcap_flush(struct pcap_writer *w)
{
    if (w == NULL)
        return EINVAL;
    if (!w->stats.error && fflush(w->f) != 0)
        w->stats.error = errno ? errno : EIO;
    return w->stats.error;
}

void pcap_stats(const struct pcap_writer *w, struct pcap_stats *out)
{
    if (out == NULL)
        return;
    if (w == NULL)
        memset(out, 0, sizeof *out);
    else
        *out = w->stats;
}

int pcap_close(struct pcap_writer *w)
{
    if (w == NULL)
        return 0;
    pcap_flush(w);
    if (fclose(w->f) != 0 && !w->stats.error)
        w->stats.error = errno ? errno : EIO;
    int err = w->stats.error;
    free(w->buf);
    free(w);
    return err;
}

/* ---- Tap --------------------------------------------------------------------------------- */

static uint64_t tap_time(const struct pcap_tap *t)
{
    return t->clock_ns ? t->clock_ns(t->clock_arg) : 0;
}

static void tap_send(void *arg, const uint8_t *packet, size_t len)
{
    struct pcap_tap *t = arg;
    if (t->w)
        pcap_write(t->w, tap_time(t), packet, len);
    if (t->inner.send)
        t->inner.send(t->inner.arg, packet, len);
}

struct synack_link pcap_tap_link(struct pcap_tap *t)
{
    struct synack_link link = {.arg = t, .send = tap_send};
    return link;
}

void pcap_tap_input(struct pcap_tap *t, const uint8_t *packet, size_t len)
{
    if (t && t->w)
        pcap_write(t->w, tap_time(t), packet, len);
}
