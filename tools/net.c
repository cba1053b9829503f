/*
 * net.c: `synack serve` and `synack connect`: synack on a Linux TUN device, against real TCP
 * peers (see net.h and docs/interop.md).
 *
 * Both commands build one host: the TUN device (src/link/tun.h), its driver with the
 * optional fault injection and pcap capture, a stack with the --addr address, and a runner
 * (include/synack_blocking.h) whose thread moves packets and time. The application side is
 * written with the blocking API, as a program on BSD sockets would be: the server runs one
 * thread per connection; the client runs an upload thread (file or standard input to the
 * connection) beside the download loop (connection to file or standard output).
 *
 * Signals: SIGINT and SIGTERM are taken by a thread of their own (sigwait). The first closes
 * gracefully - the listener is closed, every connection gets SHUT_WR (FIN after the queued
 * data) and is followed to its end; the second aborts every connection (RST).
 *
 * Every connection is followed to CLOSED before its descriptor is released, so the tool
 * exits only after the close handshake (and TIME-WAIT, 2 x --msl) is over, or after a bound
 * on that wait.
 */
#define _GNU_SOURCE /* getrandom(), pthreads, sigwait() */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "args.h"

#ifndef __linux__

int synack_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "synack: serve needs a Linux TUN device; this build is not for Linux\n");
    return 1;
}

int synack_cmd_connect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "synack: connect needs a Linux TUN device; this build is not for Linux\n");
    return 1;
}

#else /* __linux__ */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "link/fault.h"
#include "link/pcap.h"
#include "link/tun.h"
#include "net_trace.h"
#include "synack.h"
#include "synack_blocking.h"

#define EXIT_USAGE 2                      /* bad command line */
#define NET_HELP_SHOWN 100                /* parse_opts(): --help was printed */
#define NET_MSL_S 1.0                     /* default --msl, seconds: TIME-WAIT lasts 2 s */
#define NET_MSL_MAX_S 3600.0              /* largest --msl, seconds */
#define NET_DELAY_MAX_MS 10000.0          /* largest --delay, milliseconds */
#define NET_CONNECT_TIMEOUT_S 30.0        /* default --connect-timeout, seconds */
#define NET_BUF_MAX (1u << 30)            /* largest --buf, bytes */
#define NET_IO_CHUNK (1u << 20)           /* bytes moved per read/recv call */
#define NET_BACKLOG 128                   /* listen() backlog of serve */
#define NET_HTTP_REQ_MAX 8192             /* longest HTTP request head read, bytes */
#define NET_HTTP_TIMEOUT_US (10u * 1000000u) /* an HTTP client must send its request and
                                                close within this, microseconds */
#define NET_LINGER_SLACK_US (5u * 1000000u) /* wait for a connection's end beyond 2 x MSL */

enum serve_mode { MODE_ECHO, MODE_DISCARD, MODE_HTTP };

struct net_opts {
    bool serve;                   /* the command: serve (else connect) */
    const char *tun;              /* --tun NAME */
    uint32_t ip;                  /* --addr: the stack's address, host order */
    int prefix;                   /* --addr /N, 0..32 */
    bool has_addr;
    bool trace;                   /* --trace */
    const char *pcap;             /* --pcap FILE, or NULL */
    const char *svg;              /* --svg FILE, or NULL */
    bool pcap_ns;                 /* --pcap-ns: nanosecond timestamps */
    double loss;                  /* --loss: probability per packet, each direction */
    uint64_t delay_us;            /* --delay: added one-way delay, each direction */
    uint64_t seed;                /* --seed: seed of the loss draws */
    uint64_t msl_us;              /* --msl */
    uint32_t buf;                 /* --buf: send and receive buffer bytes (0: default) */
    bool verbose;                 /* --verbose: connection details and a summary */
    bool offload;                 /* --offload on: virtio-net header, checksum offload, TSO
                                     and GSO on the device */
    /* serve */
    uint16_t port;                /* --port */
    bool has_port;
    enum serve_mode mode;         /* --echo (default) | --discard | --http */
    /* connect */
    uint32_t host;                /* HOST */
    uint16_t hport;               /* PORT */
    const char *send_path;        /* --send FILE (default: standard input) */
    uint64_t send_bytes;          /* --bytes N: send N zero bytes instead */
    bool has_send_bytes;
    const char *recv_path;        /* --recv FILE (default: standard output) */
    uint64_t connect_timeout_us;  /* --connect-timeout */
};

static const char serve_usage[] =
    "usage: synack serve --tun NAME --addr A.B.C.D/N --port P [--echo | --discard | --http]\n"
    "                    [options]\n"
    "\n"
    "A TCP server on synack, on the TUN device NAME (created if absent, and then removed on\n"
    "exit). A.B.C.D is synack's own address on that link; the kernel side's address and\n"
    "route are yours to set (see docs/interop.md). Ctrl-C closes every connection with a\n"
    "FIN and waits for the close to finish; a second Ctrl-C aborts them with a RST.\n"
    "\n"
    "  --echo            send back what each client sends (the default)\n"
    "  --discard         read and drop what each client sends\n"
    "  --http            answer GET / with a small HTML page (curl http://A.B.C.D:P/)\n";

static const char connect_usage[] =
    "usage: synack connect --tun NAME --addr A.B.C.D/N HOST PORT [--send FILE] [--recv FILE]\n"
    "                      [options]\n"
    "\n"
    "A TCP client on synack, like nc: it connects from A.B.C.D (on the TUN device NAME) to\n"
    "HOST:PORT, copies standard input (or --send FILE) to the connection, then closes its\n"
    "side (FIN); it copies the connection to standard output (or --recv FILE) until the\n"
    "peer closes. Ctrl-C closes gracefully; a second Ctrl-C aborts (RST).\n"
    "\n"
    "  --send FILE       send the contents of FILE instead of standard input\n"
    "  --bytes N         send N zero bytes instead of standard input (a benchmark source\n"
    "                    that costs no reading)\n"
    "  --recv FILE       write what arrives to FILE instead of standard output\n"
    "  --connect-timeout SECONDS\n"
    "                    give up a connection attempt after this long (default 30)\n";

static const char common_usage[] =
    "\n"
    "options of both:\n"
    "  --trace           print the RFC 793-style ladder of each connection as it happens\n"
    "                    (serve: standard output; connect: standard error). The peer's\n"
    "                    states are inferred from the segments it sends and receives\n"
    "  --svg FILE        draw each connection as an SVG sequence diagram into FILE (later\n"
    "                    connections: FILE-2, FILE-3, ... before the extension)\n"
    "  --pcap FILE       capture what synack sends and receives to FILE (pcap, raw IPv4)\n"
    "  --pcap-ns         nanosecond timestamps in the capture (default microseconds)\n"
    "  --loss P          drop each packet with probability P in each direction: 0.05 or 5%\n"
    "  --delay MS        add MS milliseconds of delay in each direction (decimals allowed)\n"
    "  --seed N          seed of the loss draws (default 1)\n"
    "  --msl SECONDS     maximum segment lifetime; TIME-WAIT lasts 2 x MSL (default 1)\n"
    "  --buf BYTES       send and receive buffer size of each connection (default 65536)\n"
    "  --offload on|off  device offloads (default off): the kernel hands over and takes TCP\n"
    "                    segments of up to 64 KiB and cuts them itself (GSO/TSO), checksums\n"
    "                    left to the device; for bulk throughput. Traces and captures then\n"
    "                    show the large segments. Not with --loss or --delay\n"
    "  --verbose         print connection details and a transfer summary to standard error\n"
    "  --help            print this help\n"
    "\n"
    "exit status: 0 success, 1 failure (the reason is printed), 2 bad usage\n";

static void print_usage(FILE *f, bool serve)
{
    fputs(serve ? serve_usage : connect_usage, f);
    fputs(common_usage, f);
}

/* Prints "synack: <error>" and the usage to stderr; returns the usage exit status. */
static int usage_error(bool serve, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(bool serve, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "synack: %s: ", serve ? "serve" : "connect");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    print_usage(stderr, serve);
    return EXIT_USAGE;
}

/* Prints "synack: <message>" to stderr. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "synack: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* ---- Parsing ------------------------------------------------------------------------------ */

/* "a.b.c.d": four decimal numbers 0..255 without leading zeros beyond "0". */
static bool parse_ipv4(const char *s, uint32_t *out)
{
    uint32_t ip = 0;
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s - '0');
            digits++;
            s++;
        }
        if (v > 255 || digits > 3 || (digits > 1 && s[-digits] == '0'))
            return false;
        ip = ip << 8 | v;
        if (i < 3 && *s++ != '.')
            return false;
    }
    if (*s != '\0')
        return false;
    *out = ip;
    return true;
}

/* "a.b.c.d/n" or "a.b.c.d" (taken as /32). */
static bool parse_cidr(const char *s, uint32_t *ip, int *prefix)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!parse_ipv4(buf, ip))
        return false;
    uint64_t p = 32;
    if (slash && !args_u64(slash + 1, 32, &p))
        return false;
    *prefix = (int)p;
    return true;
}

static void format_ip(char *buf, size_t cap, uint32_t ip)
{
    snprintf(buf, cap, "%u.%u.%u.%u", (unsigned)(ip >> 24) & 0xff, (unsigned)(ip >> 16) & 0xff,
             (unsigned)(ip >> 8) & 0xff, (unsigned)ip & 0xff);
}

static bool usable_host_ip(uint32_t ip)
{
    return ip != 0 && ip != 0xffffffffu && (ip >> 24) != 127 && (ip >> 28) != 0xe;
}

/* The value of option argv[*i] ("--opt VALUE" or "--opt=VALUE"), or NULL if missing. */
static const char *option_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq != NULL)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Options that take a value. */
static bool takes_value(const char *name, bool serve)
{
    static const char *common[] = {"--tun", "--addr", "--pcap", "--svg", "--loss", "--delay",
                                   "--seed", "--msl", "--buf", "--offload"};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (strcmp(name, common[i]) == 0)
            return true;
    if (serve)
        return strcmp(name, "--port") == 0;
    return strcmp(name, "--send") == 0 || strcmp(name, "--recv") == 0 ||
           strcmp(name, "--bytes") == 0 ||
           strcmp(name, "--connect-timeout") == 0;
}

/* Parses a command's options. Returns 0 to run, NET_HELP_SHOWN after --help, or EXIT_USAGE
 * after printing the error and the usage. */
static int parse_opts(int argc, char **argv, bool serve, struct net_opts *o)
{
    memset(o, 0, sizeof *o);
    o->serve = serve;
    o->seed = 1;
    o->msl_us = (uint64_t)(NET_MSL_S * 1e6);
    o->connect_timeout_us = (uint64_t)(NET_CONNECT_TIMEOUT_S * 1e6);
    o->mode = MODE_ECHO;
    const char *positional[2];
    int npos = 0, modes = 0;

    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(stdout, serve);
            return NET_HELP_SHOWN;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (serve || npos == 2)
                return usage_error(serve, "unexpected argument '%s'", arg);
            positional[npos++] = arg;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        char name[32];
        if (name_len >= sizeof name)
            return usage_error(serve, "unknown option '%s'", arg);
        memcpy(name, arg, name_len);
        name[name_len] = '\0';

        if (!takes_value(name, serve)) {
            if (eq)
                return usage_error(serve, "option '%s' takes no value", name);
            if (strcmp(name, "--trace") == 0)
                o->trace = true;
            else if (strcmp(name, "--pcap-ns") == 0)
                o->pcap_ns = true;
            else if (strcmp(name, "--verbose") == 0 || strcmp(name, "-v") == 0)
                o->verbose = true;
            else if (serve && strcmp(name, "--echo") == 0)
                o->mode = MODE_ECHO;
            else if (serve && strcmp(name, "--discard") == 0)
                o->mode = MODE_DISCARD;
            else if (serve && strcmp(name, "--http") == 0)
                o->mode = MODE_HTTP;
            else
                return usage_error(serve, "unknown option '%s'", arg);
            if (serve && (strcmp(name, "--echo") == 0 || strcmp(name, "--discard") == 0 ||
                          strcmp(name, "--http") == 0))
                modes++;
            continue;
        }
        const char *val = option_value(argc, argv, &i, eq);
        if (val == NULL)
            return usage_error(serve, "option '%s' needs a value", name);
        uint64_t u;
        double d;
        if (strcmp(name, "--tun") == 0) {
            if (val[0] == '\0' || strlen(val) >= TUN_NAME_MAX || strchr(val, '/'))
                return usage_error(serve, "--tun: '%s' is not an interface name (1..%d "
                                   "characters, no '/')", val, TUN_NAME_MAX - 1);
            o->tun = val;
        } else if (strcmp(name, "--addr") == 0) {
            if (!parse_cidr(val, &o->ip, &o->prefix) || !usable_host_ip(o->ip))
                return usage_error(serve, "--addr: '%s' is not a host address A.B.C.D/N", val);
            o->has_addr = true;
        } else if (strcmp(name, "--pcap") == 0) {
            if (val[0] == '\0')
                return usage_error(serve, "--pcap needs a file name");
            o->pcap = val;
        } else if (strcmp(name, "--svg") == 0) {
            if (val[0] == '\0')
                return usage_error(serve, "--svg needs a file name");
            o->svg = val;
        } else if (strcmp(name, "--loss") == 0) {
            if (!fault_parse_loss(val, &o->loss))
                return usage_error(serve, "--loss: '%s' is not a probability (0..1, or 0%%.."
                                   "100%%)", val);
        } else if (strcmp(name, "--delay") == 0) {
            if (!args_decimal(val, 0.0, NET_DELAY_MAX_MS, &d))
                return usage_error(serve, "--delay: '%s' is not a number of milliseconds in "
                                   "0..10000", val);
            o->delay_us = (uint64_t)(d * 1e3 + 0.5);
        } else if (strcmp(name, "--seed") == 0) {
            if (!args_u64(val, UINT64_MAX, &u))
                return usage_error(serve, "--seed: '%s' is not an integer", val);
            o->seed = u;
        } else if (strcmp(name, "--msl") == 0) {
            if (!args_decimal(val, 0.0, NET_MSL_MAX_S, &d) || d * 1e6 < 1)
                return usage_error(serve, "--msl: '%s' is not a number of seconds in "
                                   "(0, 3600]", val);
            o->msl_us = (uint64_t)(d * 1e6 + 0.5);
        } else if (strcmp(name, "--buf") == 0) {
            if (!args_u64(val, NET_BUF_MAX, &u) || u < 1024)
                return usage_error(serve, "--buf: '%s' is not a byte count in 1024..%u", val,
                                   NET_BUF_MAX);
            o->buf = (uint32_t)u;
        } else if (strcmp(name, "--offload") == 0) {
            if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0)
                return usage_error(serve, "--offload: '%s' is not on or off", val);
            o->offload = strcmp(val, "on") == 0;
        } else if (strcmp(name, "--port") == 0) {
            if (!args_u64(val, 65535, &u) || u == 0)
                return usage_error(serve, "--port: '%s' is not a port number 1..65535", val);
            o->port = (uint16_t)u;
            o->has_port = true;
        } else if (strcmp(name, "--send") == 0) {
            o->send_path = val;
        } else if (strcmp(name, "--bytes") == 0) {
            if (!args_u64(val, UINT64_MAX, &u))
                return usage_error(serve, "--bytes: '%s' is not a byte count", val);
            o->send_bytes = u;
            o->has_send_bytes = true;
        } else if (strcmp(name, "--recv") == 0) {
            o->recv_path = val;
        } else { /* --connect-timeout */
            if (!args_decimal(val, 0.0, 86400.0, &d) || d * 1e6 < 1)
                return usage_error(serve, "--connect-timeout: '%s' is not a number of "
                                   "seconds in (0, 86400]", val);
            o->connect_timeout_us = (uint64_t)(d * 1e6 + 0.5);
        }
    }
    if (o->tun == NULL)
        return usage_error(serve, "--tun NAME is required");
    if (o->offload && (o->loss > 0 || o->delay_us > 0))
        return usage_error(serve, "--offload on cannot be combined with --loss or --delay "
                           "(faults act on packets as on the wire)");
    if (!o->has_addr)
        return usage_error(serve, "--addr A.B.C.D/N is required");
    if (serve) {
        if (!o->has_port)
            return usage_error(serve, "--port P is required");
        if (modes > 1)
            return usage_error(serve, "choose one of --echo, --discard, --http");
    } else {
        if (npos != 2)
            return usage_error(serve, "HOST and PORT are required");
        if (!parse_ipv4(positional[0], &o->host) || !usable_host_ip(o->host))
            return usage_error(serve, "HOST: '%s' is not an IPv4 address A.B.C.D",
                               positional[0]);
        uint64_t p;
        if (!args_u64(positional[1], 65535, &p) || p == 0)
            return usage_error(serve, "PORT: '%s' is not a port number 1..65535",
                               positional[1]);
        o->hport = (uint16_t)p;
        if (o->host == o->ip)
            return usage_error(serve, "HOST is synack's own address: connect to the peer");
        if (o->has_send_bytes && o->send_path)
            return usage_error(serve, "choose one of --send and --bytes");
    }
    return 0;
}

/* ---- The host: device, driver, stack, runner ------------------------------------------------ */

struct net_host {
    struct tun_dev *dev;
    struct pcap_writer *pcap;
    struct net_trace *trace;
    struct tun_driver *td;
    struct synack_stack *stack;
    struct synack_runner *runner;
    struct synack_bstack *bs;
};

/* The RFC 6528 key: random, from the kernel. */
static void random_key(uint8_t key[16])
{
    if (getrandom(key, 16, 0) == 16)
        return;
    uint64_t x = tun_realtime_ns() ^ (uint64_t)getpid() << 32; /* weak, but never fixed */
    for (int i = 0; i < 16; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        key[i] = (uint8_t)(x >> 56);
    }
}

/* Tears down what host_up() built, in reverse order; with verbose, prints the link's
 * counters. Returns false when the capture could not be written completely (the reason is
 * printed). */
static bool host_down(struct net_host *h, bool verbose)
{
    bool ok = true;
    synack_runner_free(h->runner); /* stops the stack thread first */
    net_trace_free(h->trace);      /* prints what is left of the ladders */
    if (verbose && h->td) {
        struct tun_driver_stats st;
        tun_driver_stats(h->td, &st);
        say("link: %" PRIu64 " packets written, %" PRIu64 " read; injected loss: %" PRIu64
            " out, %" PRIu64 " in", st.packets_out, st.packets_in, st.fault_out.lost,
            st.fault_in.lost);
        if (tun_offload(h->dev))
            say("offloads: %" PRIu64 " packets written for the kernel to cut (TSO), %" PRIu64
                " read uncut (GSO), %" PRIu64 " with a bad virtio-net header", st.tso_out,
                st.gso_in, st.vnet_malformed);
    }
    synack_stack_free(h->stack);
    tun_driver_free(h->td);
    if (h->pcap) {
        int err = pcap_close(h->pcap);
        if (err) {
            say("the capture is incomplete: %s", strerror(err));
            ok = false;
        }
    }
    tun_close(h->dev);
    memset(h, 0, sizeof *h);
    return ok;
}

/* Builds the host. Returns true, or false after printing why (and tearing down). */
static bool host_up(struct net_host *h, const struct net_opts *o, FILE *trace_out)
{
    char err[TUN_ERR_MAX], ip[16];
    memset(h, 0, sizeof *h);
    format_ip(ip, sizeof ip, o->ip);

    if (tun_open(o->tun, o->offload ? TUN_OPEN_OFFLOAD : 0, &h->dev, err, sizeof err) < 0) {
        say("%s", err);
        return false;
    }
    if (tun_created(h->dev)) {
        say("created TUN device %s (it is removed on exit); set the kernel's side, e.g.: "
            "ip addr add ADDR/%d dev %s && ip link set %s up", tun_name(h->dev), o->prefix,
            tun_name(h->dev), tun_name(h->dev));
    }
    if (o->pcap) {
        h->pcap = pcap_open(o->pcap, o->pcap_ns);
        if (h->pcap == NULL) {
            say("cannot write the capture %s: %s", o->pcap, strerror(errno));
            host_down(h, false);
            return false;
        }
    }
    if (o->trace || o->svg) {
        h->trace = net_trace_new(o->trace ? trace_out : NULL, o->ip);
        if (h->trace == NULL) {
            say("out of memory");
            host_down(h, false);
            return false;
        }
        if (o->serve)
            net_trace_set_listen_port(h->trace, o->port);
        net_trace_set_svg(h->trace, o->svg);
    }

    struct tun_driver_cfg dc;
    memset(&dc, 0, sizeof dc);
    dc.dev = h->dev;
    dc.fault_out = (struct fault_cfg){.loss = o->loss, .delay_us = o->delay_us, .seed = o->seed};
    dc.fault_in = (struct fault_cfg){.loss = o->loss, .delay_us = o->delay_us,
                                     .seed = o->seed ^ 0x5eed5eed5eed5eedull};
    dc.pcap = h->pcap;
    if (h->trace) {
        dc.observer = net_trace_observe;
        dc.observer_arg = h->trace;
        dc.on_wire = net_trace_wire;
        dc.wire_arg = h->trace;
    }
    h->td = tun_driver_new(&dc, err, sizeof err);
    if (h->td == NULL) {
        say("%s", err);
        host_down(h, false);
        return false;
    }

    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = o->ip;
    cfg.msl_us = o->msl_us;
    if (o->buf) {
        cfg.sndbuf = o->buf;
        cfg.rcvbuf = o->buf;
    }
    unsigned mtu = tun_mtu(h->dev);
    if (mtu >= 576 && mtu <= 65535)
        cfg.mss = (uint16_t)(mtu - 40); /* RFC 9293 3.7.1: MTU less the IPv4 and TCP headers */
    cfg.tso_max = tun_driver_tso_max(h->td); /* 0 without offloads */
    random_key(cfg.isn_key);
    struct synack_link link = tun_driver_link(h->td);
    h->stack = synack_stack_new(&cfg, &link);
    if (h->stack == NULL) {
        say("cannot create the stack (out of memory?)");
        host_down(h, false);
        return false;
    }
    tun_driver_attach(h->td, h->stack);
    if (h->trace)
        synack_stack_set_observer(h->stack, net_trace_observe, h->trace);

    struct synack_driver d = tun_driver_ops(h->td);
    h->runner = synack_runner_new(&d);
    h->bs = h->runner ? synack_runner_add(h->runner, h->stack) : NULL;
    if (h->bs == NULL || synack_runner_start(h->runner) < 0) {
        say("cannot start the stack thread");
        host_down(h, false);
        return false;
    }
    if (o->verbose)
        say("%s/%d on %s, MTU %u, MSS %u, offloads %s", ip, o->prefix, tun_name(h->dev), mtu,
            (unsigned)cfg.mss, o->offload ? "on" : "off");
    return true;
}

static uint64_t linger_us(const struct net_opts *o)
{
    return 2 * o->msl_us + NET_LINGER_SLACK_US;
}

/* Follows a connection to CLOSED (the close handshake, TIME-WAIT), at most linger_us(). */
static void await_end(struct synack_bstack *bs, int fd, const struct net_opts *o)
{
    synack_bwait(bs, fd, SYNACK_TERMINATED, linger_us(o));
}

static void print_summary(const struct net_host *h, const char *what, uint64_t sent,
                          uint64_t received, uint64_t elapsed_us)
{
    double s = elapsed_us > 0 ? (double)elapsed_us / 1e6 : 1e-6;
    struct synack_stats st;
    synack_runner_lock(h->runner);
    synack_stack_stats(h->stack, &st);
    synack_runner_unlock(h->runner);
    say("%s: sent %" PRIu64 " bytes (%.1f MB/s), received %" PRIu64 " bytes (%.1f MB/s) in "
        "%.3f s; %" PRIu64 " segments out, %" PRIu64 " in, %" PRIu64 " retransmitted",
        what, sent, (double)sent / s / 1e6, received, (double)received / s / 1e6, s,
        st.seg_out, st.seg_in, st.retransmits);
}

/* ---- Signals ------------------------------------------------------------------------------- */

/* What a Ctrl-C does to the running command. */
struct interrupt {
    pthread_mutex_t mu;
    pthread_cond_t cond;          /* signalled on each interrupt and when the command ends */
    int count;                    /* SIGINT/SIGTERM received */
    void (*graceful)(void *arg);  /* first signal */
    void (*abort)(void *arg);     /* second signal */
    void *arg;
    bool active;                  /* the callbacks may run (false while tearing down) */
    sigset_t set;
};

static void *signal_main(void *arg)
{
    struct interrupt *in = arg;
    for (;;) {
        int sig;
        if (sigwait(&in->set, &sig) != 0)
            continue;
        pthread_mutex_lock(&in->mu);
        in->count++;
        if (in->active) {
            if (in->count == 1) {
                say("closing gracefully (Ctrl-C again to abort)");
                in->graceful(in->arg);
            } else {
                say("aborting");
                in->abort(in->arg);
            }
        }
        pthread_cond_broadcast(&in->cond);
        pthread_mutex_unlock(&in->mu);
    }
    return NULL;
}

/* Blocks SIGINT and SIGTERM in this thread (and so in every thread it creates later) and
 * starts the thread that takes them. Ignores SIGPIPE (a closed output is an error from
 * write()). Returns false on failure. */
static bool interrupt_start(struct interrupt *in)
{
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->cond, NULL);
    sigemptyset(&in->set);
    sigaddset(&in->set, SIGINT);
    sigaddset(&in->set, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    /* A shell starts background commands with SIGINT ignored, and an ignored signal is
     * discarded even when blocked: take the default back so that sigwait() gets it. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (pthread_sigmask(SIG_BLOCK, &in->set, NULL) != 0)
        return false;
    pthread_t t;
    if (pthread_create(&t, NULL, signal_main, in) != 0)
        return false;
    pthread_detach(t);
    return true;
}

static void interrupt_set_active(struct interrupt *in, bool active)
{
    pthread_mutex_lock(&in->mu);
    in->active = active;
    pthread_mutex_unlock(&in->mu);
}

/* ---- I/O helpers ----------------------------------------------------------------------------- */

/* Writes all len bytes to fd. Returns false on an error. */
static bool write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static uint64_t now_us(void)
{
    return tun_monotonic_us();
}

static void format_addr(char *buf, size_t cap, struct synack_addr a)
{
    char ip[16];
    format_ip(ip, sizeof ip, a.ip);
    snprintf(buf, cap, "%s:%u", ip, (unsigned)a.port);
}

/* ---- serve ------------------------------------------------------------------------------------ */

struct serve_conn {
    struct serve_conn *next;
    struct serve_app *app;
    pthread_t thread;
    int fd;
    bool closed;                  /* the descriptor was released (guarded by app->mu) */
    bool finished;                /* the thread has ended (guarded by app->mu) */
    struct synack_addr peer;
    uint64_t in, out;             /* bytes received and sent */
};

struct serve_app {
    const struct net_opts *o;
    struct net_host *h;
    pthread_mutex_t mu;           /* guards the fields below and each conn's flags */
    int lfd;                      /* the listener, -1 once closed */
    bool stopping;                /* the first Ctrl-C came */
    bool aborting;                /* the second came */
    struct serve_conn *conns;
};

/* Releases a connection's descriptor once (an abort may have done it). */
static void conn_close(struct serve_conn *c)
{
    struct serve_app *app = c->app;
    pthread_mutex_lock(&app->mu);
    if (!c->closed) {
        synack_bclose(app->h->bs, c->fd);
        c->closed = true;
    }
    pthread_mutex_unlock(&app->mu);
}

/* Sends all of buf; false when the connection will take no more (closing or failed). */
static bool conn_send(struct serve_conn *c, const void *buf, size_t len)
{
    int n = synack_bsend(c->app->h->bs, c->fd, buf, len);
    if (n > 0)
        c->out += (uint64_t)n;
    return n == (int)len;
}

/* Reads and drops until end-of-file or an error (or the receive timeout). */
static void conn_drain(struct serve_conn *c, uint8_t *buf)
{
    int n;
    while ((n = synack_brecv(c->app->h->bs, c->fd, buf, NET_IO_CHUNK)) > 0)
        c->in += (uint64_t)n;
}

static void serve_echo(struct serve_conn *c, uint8_t *buf)
{
    bool sending = true;
    int n;
    while ((n = synack_brecv(c->app->h->bs, c->fd, buf, NET_IO_CHUNK)) > 0) {
        c->in += (uint64_t)n;
        if (sending)
            sending = conn_send(c, buf, (size_t)n); /* after SHUT_WR, go on reading */
    }
}

static void serve_discard(struct serve_conn *c, uint8_t *buf)
{
    conn_drain(c, buf);
}

/* The page of --http: who served it and what the connection looks like. */
static int http_page(struct serve_conn *c, char *out, size_t cap)
{
    struct synack_status st;
    char peer[32], local[32];
    memset(&st, 0, sizeof st);
    synack_bstatus(c->app->h->bs, c->fd, &st);
    format_addr(peer, sizeof peer, c->peer);
    format_addr(local, sizeof local, st.local);
    return snprintf(out, cap,
                    "<!DOCTYPE html>\n"
                    "<html>\n"
                    "<head><meta charset=\"utf-8\"><title>synack</title></head>\n"
                    "<body>\n"
                    "<h1>Hello from synack</h1>\n"
                    "<p>This page was served by synack, a TCP/IP stack in user space, "
                    "on the TUN device %s.</p>\n"
                    "<p>Your connection: %s &rarr; %s, state %s, MSS %u, "
                    "smoothed RTT %" PRIu64 " &micro;s.</p>\n"
                    "</body>\n"
                    "</html>\n",
                    tun_name(c->app->h->dev), peer, local, synack_state_name(st.state),
                    (unsigned)st.snd_mss, st.srtt_us);
}

/* Answers one HTTP/1.x request (RFC 9112): GET or HEAD of / gets the page, another path
 * 404, another method 405; a request that is not HTTP gets 400. Then closes. */
static void serve_http(struct serve_conn *c, uint8_t *buf)
{
    struct synack_bstack *bs = c->app->h->bs;
    synack_bsetopt(bs, c->fd, SYNACK_BOPT_RCVTIMEO, NET_HTTP_TIMEOUT_US);
    synack_bsetopt(bs, c->fd, SYNACK_BOPT_SNDTIMEO, NET_HTTP_TIMEOUT_US);
    char req[NET_HTTP_REQ_MAX + 1];
    size_t have = 0;
    bool complete = false;
    while (have < NET_HTTP_REQ_MAX) {
        int n = synack_brecv(bs, c->fd, req + have, NET_HTTP_REQ_MAX - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        c->in += (uint64_t)n;
        req[have] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) {
            complete = true;
            break;
        }
    }
    req[have] = '\0';
    if (have == 0)
        return; /* the client went away without a request */

    char method[16] = "", target[256] = "", version[16] = "";
    int fields = sscanf(req, "%15s %255s %15s", method, target, version);
    bool http = fields == 3 && strncmp(version, "HTTP/1.", 7) == 0 && complete;
    bool head = strcmp(method, "HEAD") == 0;
    const char *status;
    char body[2048];
    int body_len;
    if (!http) {
        status = "400 Bad Request";
        body_len = snprintf(body, sizeof body, "bad request\n");
    } else if (strcmp(method, "GET") != 0 && !head) {
        status = "405 Method Not Allowed";
        body_len = snprintf(body, sizeof body, "only GET and HEAD\n");
    } else if (strcmp(target, "/") != 0 && strcmp(target, "/index.html") != 0) {
        status = "404 Not Found";
        body_len = snprintf(body, sizeof body, "not found\n");
    } else {
        status = "200 OK";
        body_len = http_page(c, body, sizeof body);
    }
    if (body_len < 0 || (size_t)body_len >= sizeof body)
        body_len = 0;
    /* Head and body in one send: one segment for a small page. */
    char resp[512 + sizeof body];
    int hdr_len = snprintf(resp, 512,
                           "HTTP/1.1 %s\r\n"
                           "Server: synack\r\n"
                           "Content-Type: %s\r\n"
                           "Content-Length: %d\r\n"
                           "Connection: close\r\n"
                           "%s"
                           "\r\n",
                           status,
                           strcmp(status, "200 OK") == 0 ? "text/html; charset=utf-8"
                                                         : "text/plain; charset=utf-8",
                           body_len,
                           strncmp(status, "405", 3) == 0 ? "Allow: GET, HEAD\r\n" : "");
    if (hdr_len < 0 || hdr_len >= 512)
        return;
    size_t total = (size_t)hdr_len;
    if (!head) {
        memcpy(resp + total, body, (size_t)body_len);
        total += (size_t)body_len;
    }
    conn_send(c, resp, total);
    if (c->app->o->verbose) {
        char peer[32];
        format_addr(peer, sizeof peer, c->peer);
        say("%s: %s %s -> %s", peer, method, target, status);
    }
    synack_bshutdown(bs, c->fd, SYNACK_SHUT_WR); /* Connection: close: our FIN */
    conn_drain(c, buf);                           /* until the client's FIN */
}

static void *conn_main(void *arg)
{
    struct serve_conn *c = arg;
    struct serve_app *app = c->app;
    uint8_t *buf = malloc(NET_IO_CHUNK);
    char peer[32];
    format_addr(peer, sizeof peer, c->peer);
    if (buf == NULL) {
        say("%s: out of memory", peer);
    } else {
        switch (app->o->mode) {
        case MODE_ECHO:
            serve_echo(c, buf);
            break;
        case MODE_DISCARD:
            serve_discard(c, buf);
            break;
        case MODE_HTTP:
            serve_http(c, buf);
            break;
        }
    }
    free(buf);
    /* Our FIN after what is queued (if not sent already), then the close handshake. */
    synack_bshutdown(app->h->bs, c->fd, SYNACK_SHUT_WR);
    await_end(app->h->bs, c->fd, app->o);
    struct synack_status st;
    int err = synack_bstatus(app->h->bs, c->fd, &st) == 0 ? st.error : 0;
    say("%s: closed%s%s (received %" PRIu64 ", sent %" PRIu64 " bytes)", peer,
        err ? ": " : "", err ? synack_strerror(err) : "", c->in, c->out);
    conn_close(c);
    pthread_mutex_lock(&app->mu);
    c->finished = true;
    pthread_mutex_unlock(&app->mu);
    return NULL;
}

static void serve_graceful(void *arg)
{
    struct serve_app *app = arg;
    pthread_mutex_lock(&app->mu);
    app->stopping = true;
    if (app->lfd >= 0) {
        synack_bclose(app->h->bs, app->lfd); /* accept() returns; new SYNs get a RST */
        app->lfd = -1;
    }
    for (struct serve_conn *c = app->conns; c; c = c->next)
        if (!c->closed)
            synack_bshutdown(app->h->bs, c->fd, SYNACK_SHUT_WR); /* RFC 9293 3.10.4 */
    pthread_mutex_unlock(&app->mu);
}

static void serve_abort(void *arg)
{
    struct serve_app *app = arg;
    pthread_mutex_lock(&app->mu);
    app->aborting = true;
    for (struct serve_conn *c = app->conns; c; c = c->next) {
        if (!c->closed) {
            synack_babort(app->h->bs, c->fd); /* RFC 9293 3.10.5: RST */
            c->closed = true;
        }
    }
    pthread_mutex_unlock(&app->mu);
}

/* Joins the threads of finished connections and forgets them (all of them with all). */
static void reap(struct serve_app *app, bool all)
{
    for (;;) {
        struct serve_conn *done = NULL;
        pthread_mutex_lock(&app->mu);
        for (struct serve_conn **p = &app->conns; *p; p = &(*p)->next) {
            if ((*p)->finished || all) {
                done = *p;
                *p = done->next;
                break;
            }
        }
        pthread_mutex_unlock(&app->mu);
        if (done == NULL)
            return;
        pthread_join(done->thread, NULL);
        free(done);
    }
}

int synack_cmd_serve(int argc, char **argv)
{
    struct net_opts o;
    int rc = parse_opts(argc, argv, true, &o);
    if (rc == NET_HELP_SHOWN)
        return 0;
    if (rc != 0)
        return rc;

    static struct interrupt intr;
    if (!interrupt_start(&intr)) {
        say("cannot set up signal handling");
        return 1;
    }
    struct net_host h;
    if (!host_up(&h, &o, stdout))
        return 1;

    struct serve_app app;
    memset(&app, 0, sizeof app);
    app.o = &o;
    app.h = &h;
    pthread_mutex_init(&app.mu, NULL);
    char ip[16];
    format_ip(ip, sizeof ip, o.ip);
    struct synack_addr local = {o.ip, o.port};
    app.lfd = synack_bsocket(h.bs);
    int err = app.lfd < 0 ? app.lfd : synack_bbind(h.bs, app.lfd, &local);
    if (err == 0)
        err = synack_blisten(h.bs, app.lfd, NET_BACKLOG);
    if (err < 0) {
        say("cannot listen on %s:%u: %s", ip, (unsigned)o.port, synack_strerror(err));
        host_down(&h, o.verbose);
        return 1;
    }
    static const char *mode_name[] = {"echo", "discard", "http"};
    say("serving %s on %s:%u (TUN device %s); Ctrl-C to stop", mode_name[o.mode], ip,
        (unsigned)o.port, tun_name(h.dev));

    pthread_mutex_lock(&intr.mu);
    intr.graceful = serve_graceful;
    intr.abort = serve_abort;
    intr.arg = &app;
    intr.active = true;
    bool stop_now = intr.count > 0; /* a Ctrl-C during start-up */
    pthread_mutex_unlock(&intr.mu);
    if (stop_now)
        serve_graceful(&app);

    int status = 0;
    for (;;) {
        pthread_mutex_lock(&app.mu);
        int lfd = app.lfd;
        pthread_mutex_unlock(&app.mu);
        if (lfd < 0)
            break;
        struct synack_addr peer;
        int fd = synack_baccept(h.bs, lfd, &peer);
        reap(&app, false);
        if (fd < 0) {
            pthread_mutex_lock(&app.mu);
            bool stopping = app.stopping;
            pthread_mutex_unlock(&app.mu);
            if (stopping)
                break;
            if (synack_runner_error(h.runner) == 0)
                say("accept failed: %s", synack_strerror(fd));
            status = 1;
            break;
        }
        struct serve_conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            synack_babort(h.bs, fd);
            continue;
        }
        c->app = &app;
        c->fd = fd;
        c->peer = peer;
        char pa[32];
        format_addr(pa, sizeof pa, peer);
        if (o.verbose) {
            struct synack_status st;
            if (synack_bstatus(h.bs, fd, &st) == 0)
                say("%s: connected (MSS %u)", pa, (unsigned)st.snd_mss);
        } else {
            say("%s: connected", pa);
        }
        pthread_mutex_lock(&app.mu);
        c->next = app.conns;
        app.conns = c;
        if (app.stopping) /* a Ctrl-C just now: this one closes at once too */
            synack_bshutdown(h.bs, fd, SYNACK_SHUT_WR);
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            app.conns = c->next;
            synack_babort(h.bs, fd);
            free(c);
        }
        pthread_mutex_unlock(&app.mu);
    }
    reap(&app, true); /* every connection thread follows its connection to its end */
    interrupt_set_active(&intr, false);
    if (synack_runner_error(h.runner) < 0) {
        say("the TUN device %s failed (was it deleted?): %s", tun_name(h.dev),
            synack_strerror(synack_runner_error(h.runner)));
        status = 1;
    }
    if (!host_down(&h, o.verbose))
        status = 1;
    return status;
}

/* ---- connect -------------------------------------------------------------------------------- */

struct client_app {
    const struct net_opts *o;
    struct net_host *h;
    int fd;
    int in_fd;                    /* what to send: --send FILE or standard input */
    pthread_mutex_t mu;           /* guards the fields below */
    pthread_cond_t cond;          /* signalled when the uploader ends */
    bool upload_done;
    bool upload_failed;
    bool interrupted;             /* a Ctrl-C came */
    bool aborted;                 /* the second Ctrl-C */
    uint64_t sent;
};

static void client_graceful(void *arg)
{
    struct client_app *app = arg;
    pthread_mutex_lock(&app->mu);
    app->interrupted = true;
    pthread_cond_broadcast(&app->cond);
    pthread_mutex_unlock(&app->mu);
    synack_bshutdown(app->h->bs, app->fd, SYNACK_SHUT_WR); /* stop sending: FIN */
}

static void client_abort(void *arg)
{
    struct client_app *app = arg;
    pthread_mutex_lock(&app->mu);
    app->interrupted = true;
    app->aborted = true;
    pthread_cond_broadcast(&app->cond);
    pthread_mutex_unlock(&app->mu);
    synack_babort(app->h->bs, app->fd); /* RST; the download loop sees EBADF */
}

/* Copies in_fd to the connection, then shuts down writing (FIN). */
/* The next piece to send into buf: read from in_fd, or with --bytes the next zeros of the
 * buffer (zeroed once). Returns its length, 0 at the end, or -1 with errno. */
static ssize_t next_input(struct client_app *app, uint8_t *buf, uint64_t sent)
{
    if (!app->o->has_send_bytes)
        return read(app->in_fd, buf, NET_IO_CHUNK);
    uint64_t left = app->o->send_bytes - sent;
    return (ssize_t)(left < NET_IO_CHUNK ? left : NET_IO_CHUNK);
}

static void *upload_main(void *arg)
{
    struct client_app *app = arg;
    uint8_t *buf = calloc(1, NET_IO_CHUNK);
    bool failed = buf == NULL;
    uint64_t sent = 0;
    while (!failed) {
        ssize_t n = next_input(app, buf, sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            say("reading %s: %s", app->o->send_path ? app->o->send_path : "standard input",
                strerror(errno));
            failed = true;
            break;
        }
        if (n == 0)
            break;
        int w = synack_bsend(app->h->bs, app->fd, buf, (size_t)n);
        if (w > 0)
            sent += (uint64_t)w;
        if (w != (int)n) {
            if (w != SYNACK_EPIPE) /* EPIPE: a Ctrl-C closed the sending side */
                say("send: %s", synack_strerror(w < 0 ? w : SYNACK_EPIPE));
            failed = w != SYNACK_EPIPE;
            break;
        }
    }
    free(buf);
    synack_bshutdown(app->h->bs, app->fd, SYNACK_SHUT_WR);
    pthread_mutex_lock(&app->mu);
    app->sent = sent;
    app->upload_done = true;
    app->upload_failed = failed;
    pthread_cond_broadcast(&app->cond);
    pthread_mutex_unlock(&app->mu);
    return NULL;
}

int synack_cmd_connect(int argc, char **argv)
{
    struct net_opts o;
    int rc = parse_opts(argc, argv, false, &o);
    if (rc == NET_HELP_SHOWN)
        return 0;
    if (rc != 0)
        return rc;

    int in_fd = 0, out_fd = 1;
    if (o.send_path && (in_fd = open(o.send_path, O_RDONLY | O_CLOEXEC)) < 0) {
        say("cannot open %s: %s", o.send_path, strerror(errno));
        return 1;
    }
    if (o.recv_path &&
        (out_fd = open(o.recv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        say("cannot create %s: %s", o.recv_path, strerror(errno));
        return 1;
    }
    if (o.prefix > 0 && o.prefix < 32 &&
        ((o.host ^ o.ip) >> (32 - o.prefix)) != 0)
        say("note: HOST is outside %d-bit prefix of --addr; the kernel must route it back",
            o.prefix);

    static struct interrupt intr;
    if (!interrupt_start(&intr)) {
        say("cannot set up signal handling");
        return 1;
    }
    struct net_host h;
    if (!host_up(&h, &o, stderr))
        return 1;

    struct client_app app;
    memset(&app, 0, sizeof app);
    app.o = &o;
    app.h = &h;
    app.in_fd = in_fd;
    pthread_mutex_init(&app.mu, NULL);
    pthread_cond_init(&app.cond, NULL);
    char hs[32];
    format_addr(hs, sizeof hs, (struct synack_addr){o.host, o.hport});

    int status = 1;
    app.fd = synack_bsocket(h.bs);
    if (app.fd < 0) {
        say("socket: %s", synack_strerror(app.fd));
        host_down(&h, o.verbose);
        return 1;
    }
    synack_bsetopt(h.bs, app.fd, SYNACK_BOPT_SNDTIMEO, o.connect_timeout_us);
    struct synack_addr peer = {o.host, o.hport};
    uint64_t t0 = now_us();
    int err = synack_bconnect(h.bs, app.fd, &peer);
    if (err < 0) {
        say("connect to %s: %s", hs, synack_strerror(err));
        synack_bclose(h.bs, app.fd);
        host_down(&h, o.verbose);
        return 1;
    }
    synack_bsetopt(h.bs, app.fd, SYNACK_BOPT_SNDTIMEO, SYNACK_BLOCK_FOREVER);
    if (o.verbose) {
        struct synack_status st;
        synack_bstatus(h.bs, app.fd, &st);
        char ls[32];
        format_addr(ls, sizeof ls, st.local);
        say("connected %s -> %s (MSS %u)", ls, hs, (unsigned)st.snd_mss);
    }

    pthread_mutex_lock(&intr.mu);
    intr.graceful = client_graceful;
    intr.abort = client_abort;
    intr.arg = &app;
    intr.active = true;
    bool stop_now = intr.count > 0;
    pthread_mutex_unlock(&intr.mu);
    if (stop_now)
        client_graceful(&app);

    pthread_t up;
    bool uploading = pthread_create(&up, NULL, upload_main, &app) == 0;
    if (!uploading) {
        say("cannot start the upload thread");
        synack_bshutdown(h.bs, app.fd, SYNACK_SHUT_WR);
    }

    /* Download: the connection to out_fd until the peer's FIN. */
    uint8_t *buf = malloc(NET_IO_CHUNK);
    uint64_t received = 0;
    bool download_ok = buf != NULL;
    while (download_ok) {
        int n = synack_brecv(h.bs, app.fd, buf, NET_IO_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            pthread_mutex_lock(&app.mu);
            bool aborted = app.aborted;
            pthread_mutex_unlock(&app.mu);
            if (!aborted)
                say("receive from %s: %s", hs, synack_strerror(n));
            download_ok = false;
            break;
        }
        received += (uint64_t)n;
        if (!write_all(out_fd, buf, (size_t)n)) {
            say("writing %s: %s", o.recv_path ? o.recv_path : "standard output",
                strerror(errno));
            download_ok = false;
            synack_babort(h.bs, app.fd);
            pthread_mutex_lock(&app.mu);
            app.aborted = true;
            pthread_mutex_unlock(&app.mu);
            break;
        }
    }
    free(buf);
    uint64_t t_data = now_us();

    /* The upload ends by itself (end of input, or the connection failing) - or, reading a
     * terminal, only at Ctrl-D: after a Ctrl-C, do not wait for it. */
    bool upload_ok = false;
    if (uploading) {
        pthread_mutex_lock(&app.mu);
        while (!app.upload_done && !app.interrupted && download_ok)
            pthread_cond_wait(&app.cond, &app.mu);
        bool done = app.upload_done;
        upload_ok = done && !app.upload_failed;
        pthread_mutex_unlock(&app.mu);
        if (done)
            pthread_join(up, NULL);
        else
            pthread_detach(up);
    }

    pthread_mutex_lock(&app.mu);
    bool aborted = app.aborted;
    uint64_t sent = app.sent;
    pthread_mutex_unlock(&app.mu);
    if (!aborted) {
        synack_bshutdown(h.bs, app.fd, SYNACK_SHUT_WR);
        await_end(h.bs, app.fd, &o); /* our FIN acknowledged, TIME-WAIT over */
        struct synack_status st;
        if (synack_bstatus(h.bs, app.fd, &st) == 0 && st.error != 0 && download_ok)
            say("%s: %s", hs, synack_strerror(st.error));
        if (synack_bstatus(h.bs, app.fd, &st) == 0 && st.error == 0 && download_ok &&
            upload_ok)
            status = 0;
    }
    interrupt_set_active(&intr, false);
    if (o.verbose)
        print_summary(&h, hs, sent, received, t_data - t0);
    synack_bclose(h.bs, app.fd);
    if (synack_runner_error(h.runner) < 0) {
        say("the TUN device %s failed (was it deleted?): %s", tun_name(h.dev),
            synack_strerror(synack_runner_error(h.runner)));
        status = 1;
    }
    if (!host_down(&h, o.verbose))
        status = 1;
    if (o.recv_path && close(out_fd) != 0) {
        say("writing %s: %s", o.recv_path, strerror(errno));
        status = 1;
    }
    return status;
}

#endif /* __linux__ */
