/*
 * format.h: text helpers shared by the trace renderers (ladder, SVG, JSON, summary): the
 * RFC 9293 segment notation, addresses, times and durations, flag names.
 *
 * Every function writes into a caller buffer of the stated size, always NUL-terminated, and
 * returns the buffer (so a call can sit in a printf argument list).
 */
#ifndef SYNACK_TRACE_FORMAT_H
#define SYNACK_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "synack.h"

#define TRACE_SEG_MAX 96  /* longest segment text, bytes with the NUL */
#define TRACE_ADDR_MAX 24 /* "255.255.255.255:65535" and the NUL */
#define TRACE_TIME_MAX 32 /* a time or a duration, bytes with the NUL */
#define TRACE_OPTS_MAX 80 /* an options list, bytes with the NUL */

/* <SEQ=n><ACK=n><CTL=...><DATA=n>, as RFC 9293 3.5 writes segments. ACK only when the ACK
 * flag is set; CTL lists SYN,FIN,RST,ACK,URG,ECE,CWR in that order (which gives "SYN,ACK",
 * "FIN,ACK" and "RST" as the figures do); PSH is left out (synack sets it on every data
 * segment); DATA is the payload length, omitted when 0. */
char *trace_format_segment(char *buf, size_t cap, uint32_t seq, uint32_t ack, uint8_t flags,
                           uint32_t len);

/* The flag names of flags joined by sep ("SYN,ACK"), PSH included; "" for none. */
char *trace_format_flags(char *buf, size_t cap, uint8_t flags, const char *sep);

/* "10.0.0.1:1000" (port omitted when 0: "10.0.0.1"). */
char *trace_format_addr(char *buf, size_t cap, struct synack_addr a);

/* A time as seconds with six decimals: "240.006000". */
char *trace_format_time(char *buf, size_t cap, uint64_t us);

/* A duration, short and exact: "0 s", "250 us", "1 ms", "1.5 ms", "2 s", "1.002 s". */
char *trace_format_duration(char *buf, size_t cap, uint64_t us);

/* The options of a segment event: "mss=1460,ws=7,sack,ts=5/0"; "" when none. */
char *trace_format_options(char *buf, size_t cap, const struct synack_event *ev);

#endif /* SYNACK_TRACE_FORMAT_H */
