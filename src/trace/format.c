/*
 * format.c: text helpers shared by the trace renderers (see format.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trace/format.h"

/* Appends with snprintf at *n, never past cap; *n stays <= cap - 1. */
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n += (size_t)w < cap - *n ? (size_t)w : cap - *n - 1;
}

char *trace_format_segment(char *buf, size_t cap, uint32_t seq, uint32_t ack, uint8_t flags,
                           uint32_t len)
{
    /* RFC 9293 3.5: the order that reproduces "SYN,ACK", "FIN,ACK", "RST". */
    static const struct {
        uint8_t flag;
        const char *name;
    } ctl[] = {
        {SYNACK_SYN, "SYN"}, {SYNACK_FIN, "FIN"}, {SYNACK_RST, "RST"}, {SYNACK_ACK, "ACK"},
        {SYNACK_URG, "URG"}, {SYNACK_ECE, "ECE"}, {SYNACK_CWR, "CWR"},
    };
    size_t n = 0;

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    put(buf, cap, &n, "<SEQ=%" PRIu32 ">", seq);
    if (flags & SYNACK_ACK)
        put(buf, cap, &n, "<ACK=%" PRIu32 ">", ack);
    const char *sep = "<CTL=";
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        if (flags & ctl[i].flag) {
            put(buf, cap, &n, "%s%s", sep, ctl[i].name);
            sep = ",";
        }
    }
    if (sep[0] == ',')
        put(buf, cap, &n, ">");
    if (len > 0)
        put(buf, cap, &n, "<DATA=%" PRIu32 ">", len);
    return buf;
}

char *trace_format_flags(char *buf, size_t cap, uint8_t flags, const char *sep)
{
    static const struct {
        uint8_t flag;
        const char *name;
    } names[] = {
        {SYNACK_SYN, "SYN"}, {SYNACK_FIN, "FIN"}, {SYNACK_RST, "RST"}, {SYNACK_PSH, "PSH"},
        {SYNACK_ACK, "ACK"}, {SYNACK_URG, "URG"}, {SYNACK_ECE, "ECE"}, {SYNACK_CWR, "CWR"},
    };
    size_t n = 0;
    const char *s = "";

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (flags & names[i].flag) {
            put(buf, cap, &n, "%s%s", s, names[i].name);
            s = sep;
        }
    }
    return buf;
}

char *trace_format_addr(char *buf, size_t cap, struct synack_addr a)
{
    if (a.port != 0)
        snprintf(buf, cap, "%u.%u.%u.%u:%u", (unsigned)(a.ip >> 24) & 0xff,
                 (unsigned)(a.ip >> 16) & 0xff, (unsigned)(a.ip >> 8) & 0xff,
                 (unsigned)a.ip & 0xff, (unsigned)a.port);
    else
        snprintf(buf, cap, "%u.%u.%u.%u", (unsigned)(a.ip >> 24) & 0xff,
                 (unsigned)(a.ip >> 16) & 0xff, (unsigned)(a.ip >> 8) & 0xff,
                 (unsigned)a.ip & 0xff);
    return buf;
}

char *trace_format_time(char *buf, size_t cap, uint64_t us)
{
    snprintf(buf, cap, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
    return buf;
}

/* "whole.frac" with the fraction's trailing zeros removed ("1.5", "2"). */
static void decimal(char *buf, size_t cap, uint64_t whole, uint64_t frac, int digits,
                    const char *unit)
{
    char f[8];
    snprintf(f, sizeof f, "%0*" PRIu64, digits, frac);
    size_t n = strlen(f);
    while (n > 0 && f[n - 1] == '0')
        f[--n] = '\0';
    if (n == 0)
        snprintf(buf, cap, "%" PRIu64 " %s", whole, unit);
    else
        snprintf(buf, cap, "%" PRIu64 ".%s %s", whole, f, unit);
}

char *trace_format_duration(char *buf, size_t cap, uint64_t us)
{
    if (us == 0)
        snprintf(buf, cap, "0 s");
    else if (us >= 1000000)
        decimal(buf, cap, us / 1000000, us % 1000000, 6, "s");
    else if (us >= 1000)
        decimal(buf, cap, us / 1000, us % 1000, 3, "ms");
    else
        snprintf(buf, cap, "%" PRIu64 " us", us);
    return buf;
}

char *trace_format_options(char *buf, size_t cap, const struct synack_event *ev)
{
    size_t n = 0;
    const char *sep = "";

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (ev->mss) {
        put(buf, cap, &n, "%smss=%u", sep, (unsigned)ev->mss);
        sep = ",";
    }
    if (ev->wscale >= 0) {
        put(buf, cap, &n, "%sws=%d", sep, (int)ev->wscale);
        sep = ",";
    }
    if (ev->sack_permitted) {
        put(buf, cap, &n, "%ssack", sep);
        sep = ",";
    }
    if (ev->has_ts)
        put(buf, cap, &n, "%sts=%" PRIu32 "/%" PRIu32, sep, ev->ts_val, ev->ts_ecr);
    return buf;
}
