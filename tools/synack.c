/*
 * synack.c: the `synack` command line program.
 *
 *   synack demo [options]   two stacks on the virtual network: handshake, echo, close,
 *                           TIME-WAIT, drawn as an RFC 793-style ladder
 *   synack help | --help    usage
 *
 * Exit status: 0 success, 1 the demo failed (the reason is printed), 2 bad usage.
 *
 * The demo is a small event loop: memnet_step() advances the virtual clock to the next
 * delivery or timer and lets the stacks process it; between steps the two applications (an
 * echo client on A, an echo server on B) look at synack_events() and act with non-blocking
 * socket calls. Everything is deterministic: the seed fixes memnet and the ISN keys.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/memnet.h"
#include "synack.h"
#include "trace/ladder.h"

#define EXIT_USAGE 2                 /* bad command line */

#define DEMO_IP_A 0x0a000001u        /* 10.0.0.1, the client */
#define DEMO_IP_B 0x0a000002u        /* 10.0.0.2, the server */
#define DEMO_PORT_B 7                /* the echo port (RFC 862) */
#define DEMO_SEED 1                  /* default seed */
#define DEMO_MSL_S 120.0             /* default MSL, seconds (RFC 9293 3.4.2) */
#define DEMO_MSL_MAX_S 86400.0       /* largest --msl, seconds */
#define DEMO_DELAY_MS 1.0            /* default one-way delay, milliseconds */
#define DEMO_DELAY_MAX_MS 60000.0    /* largest --delay, milliseconds */
#define DEMO_MESSAGE "Hello, TCP!"   /* default message */
#define DEMO_MESSAGE_MAX 60000       /* longest --message, bytes (fits the 64 KiB buffers) */
#define DEMO_SLACK_US (600ull * 1000000) /* run limit beyond 2 x MSL, microseconds */
#define DEMO_MAX_EVENTS 16           /* readiness events taken per call */
#define DEMO_PATH_MAX 16             /* states remembered per side for the summary */

static const char usage_text[] =
    "usage: synack <command> [options]\n"
    "\n"
    "commands:\n"
    "  demo            run two stacks on the virtual network: A (10.0.0.1) connects to B\n"
    "                  (10.0.0.2:7), sends a message, B echoes it, A closes first; the\n"
    "                  segments are drawn as an RFC 793-style ladder\n"
    "  help            print this help\n"
    "\n"
    "demo options:\n"
    "  --seed N        seed of the virtual network and of the ISN keys (default 1)\n"
    "  --isn-a N       A's initial sequence number, 0..4294967295 (default: RFC 6528)\n"
    "  --isn-b N       B's initial sequence number, 0..4294967295 (default: RFC 6528)\n"
    "  --msl SECONDS   maximum segment lifetime; TIME-WAIT lasts 2 x MSL (default 120,\n"
    "                  decimals allowed, > 0 and <= 86400)\n"
    "  --message TEXT  the message A sends (default \"Hello, TCP!\", 1..60000 bytes)\n"
    "  --delay MS      one-way delay of the virtual network in milliseconds (default 1,\n"
    "                  decimals allowed, 0..60000)\n"
    "  --help          print this help\n"
    "\n"
    "exit status: 0 success, 1 the demo failed, 2 bad usage\n";

static void usage(FILE *f)
{
    fputs(usage_text, f);
}

/* Prints "synack: <error>", then the usage, to stderr; returns the usage exit status. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "synack: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return EXIT_USAGE;
}

/* ---- Numbers ----------------------------------------------------------------------------- */

/* Parses a decimal integer in [0, max]: digits only (no sign, blanks, base prefix), the
 * whole string. Returns false on anything else. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

/* Parses a finite decimal number in [min, max]: digits with an optional fraction, the whole
 * string (no sign, blanks, exponent, hex, inf or nan). Returns false on anything else. */
static bool parse_decimal(const char *s, double min, double max, double *out)
{
    size_t digits = 0, dots = 0;

    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.')
            dots++;
        else
            return false;
    }
    if (digits == 0 || dots > 1)
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !(v >= min && v <= max) || v > max)
        return false;
    *out = v;
    return true;
}

/* A non-negative number of microseconds, rounded to the nearest integer (no libm). */
static uint64_t round_us(double us)
{
    return (uint64_t)(us + 0.5);
}

/* ---- Demo configuration ------------------------------------------------------------------ */

struct demo_opts {
    uint64_t seed;
    bool has_isn_a, has_isn_b;
    uint32_t isn_a, isn_b;
    uint64_t msl_us;      /* microseconds, >= 1 */
    uint64_t delay_us;    /* one-way delay, microseconds */
    const char *message;
    size_t message_len;   /* bytes, >= 1 */
};

/* The value of option argv[*i] (as "--opt VALUE" or "--opt=VALUE"), or NULL if missing. */
static const char *option_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq != NULL)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

#define DEMO_HELP_SHOWN 100 /* parse_demo(): --help was printed */

/* Parses the demo's options. Returns 0 to run, DEMO_HELP_SHOWN after printing the usage for
 * --help, or EXIT_USAGE after printing the error and the usage. */
static int parse_demo(int argc, char **argv, struct demo_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = DEMO_SEED;
    o->msl_us = (uint64_t)(DEMO_MSL_S * 1e6);
    o->delay_us = (uint64_t)(DEMO_DELAY_MS * 1e3);
    o->message = DEMO_MESSAGE;
    o->message_len = strlen(DEMO_MESSAGE);

    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return DEMO_HELP_SHOWN;
        }
        if (strncmp(arg, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", arg);

        /* Option name up to '=' if any. */
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        char name[32];
        if (name_len >= sizeof name)
            return usage_error("unknown option '%s'", arg);
        memcpy(name, arg, name_len);
        name[name_len] = '\0';

        bool known = strcmp(name, "--seed") == 0 || strcmp(name, "--isn-a") == 0 ||
                     strcmp(name, "--isn-b") == 0 || strcmp(name, "--msl") == 0 ||
                     strcmp(name, "--message") == 0 || strcmp(name, "--delay") == 0;
        if (!known)
            return usage_error("unknown option '%s'", arg);
        const char *val = option_value(argc, argv, &i, eq);
        if (val == NULL)
            return usage_error("option '%s' needs a value", name);

        uint64_t u;
        double d;
        if (strcmp(name, "--seed") == 0) {
            if (!parse_u64(val, UINT64_MAX, &u))
                return usage_error("--seed: '%s' is not an integer in 0..%" PRIu64, val,
                                   UINT64_MAX);
            o->seed = u;
        } else if (strcmp(name, "--isn-a") == 0 || strcmp(name, "--isn-b") == 0) {
            if (!parse_u64(val, UINT32_MAX, &u))
                return usage_error("%s: '%s' is not an integer in 0..4294967295", name, val);
            if (name[6] == 'a') {
                o->has_isn_a = true;
                o->isn_a = (uint32_t)u;
            } else {
                o->has_isn_b = true;
                o->isn_b = (uint32_t)u;
            }
        } else if (strcmp(name, "--msl") == 0) {
            if (!parse_decimal(val, 0.0, DEMO_MSL_MAX_S, &d) || round_us(d * 1e6) < 1)
                return usage_error("--msl: '%s' is not a number of seconds in (0, 86400] "
                                   "(at least 1 microsecond)", val);
            o->msl_us = round_us(d * 1e6);
        } else if (strcmp(name, "--delay") == 0) {
            if (!parse_decimal(val, 0.0, DEMO_DELAY_MAX_MS, &d))
                return usage_error("--delay: '%s' is not a number of milliseconds in 0..60000",
                                   val);
            o->delay_us = round_us(d * 1e3);
        } else { /* --message */
            size_t n = strlen(val);
            if (n == 0 || n > DEMO_MESSAGE_MAX)
                return usage_error("--message: the text must be 1..%d bytes long",
                                   DEMO_MESSAGE_MAX);
            o->message = val;
            o->message_len = n;
        }
    }
    return 0;
}

/* ---- Demo run ---------------------------------------------------------------------------- */

/* One step of splitmix64: a well-mixed 64-bit value from a counter. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The RFC 6528 key of host number host (0 = A, 1 = B), derived from the seed. */
static void derive_isn_key(uint64_t seed, unsigned host, uint8_t key[16])
{
    uint64_t x = seed ^ (0x5eed15a0ull + host) * 0x100000001b3ull;
    for (int i = 0; i < 2; i++) {
        uint64_t v = splitmix64(&x);
        for (int j = 0; j < 8; j++)
            key[i * 8 + j] = (uint8_t)(v >> (8 * j));
    }
}

struct demo {
    const struct demo_opts *o;
    struct memnet *net;
    struct synack_stack *a, *b;
    struct ladder *ladder;

    /* A: the client. */
    int fd_a;
    size_t sent_a, got_a;     /* message bytes queued / echo bytes received */
    char *echo;               /* echo received, message_len bytes */
    bool verified;            /* the echo matched */
    bool shut_a;              /* A closed (SHUT_WR) */
    bool eof_a;               /* A read B's end-of-file */
    bool closed_a;            /* A's connection reached CLOSED */

    /* B: the echo server. */
    int lfd_b, fd_b;
    char buf_b[4096];         /* bytes received, not yet echoed */
    size_t pend_b, off_b;     /* bytes in buf_b / of which already sent */
    size_t echoed_b;          /* bytes B echoed */
    bool eof_b;               /* B read A's end-of-file */
    bool closed_b;            /* B closed its descriptor */

    /* From trace events. */
    int path_a[DEMO_PATH_MAX], path_b[DEMO_PATH_MAX]; /* states each side went through */
    int npath_a, npath_b;
    bool tw_seen;             /* A entered TIME-WAIT */
    uint64_t tw_at_us;        /* ...at this time */
    bool a_closed_seen, b_closed_seen; /* a STATE event to CLOSED was seen */
    uint64_t a_closed_at_us, b_closed_at_us;

    const char *failure;      /* why the demo failed, or NULL */
};

static void fail(struct demo *d, const char *why)
{
    if (d->failure == NULL)
        d->failure = why;
}

static void record_path(int *path, int *n, int state)
{
    if (*n < DEMO_PATH_MAX && (*n == 0 || path[*n - 1] != state))
        path[(*n)++] = state;
}

/* Observer of both stacks and memnet: draws the ladder and notes the states. */
static void demo_observe(void *arg, const struct synack_event *ev)
{
    struct demo *d = arg;

    ladder_observe(d->ladder, ev);
    if (ev->kind != SYNACK_EV_STATE)
        return;
    if (ev->local.ip == DEMO_IP_A) {
        record_path(d->path_a, &d->npath_a, ev->state);
        if (ev->state == SYNACK_TIME_WAIT) {
            d->tw_seen = true;
            d->tw_at_us = ev->time_us;
        } else if (ev->state == SYNACK_CLOSED) {
            d->a_closed_seen = true;
            d->a_closed_at_us = ev->time_us;
        }
    } else if (ev->local.ip == DEMO_IP_B && ev->local.port == DEMO_PORT_B) {
        if (ev->state == SYNACK_LISTEN)
            return; /* the child's passive open: B's LISTEN is already on the path */
        record_path(d->path_b, &d->npath_b, ev->state);
        if (ev->state == SYNACK_CLOSED) {
            d->b_closed_seen = true;
            d->b_closed_at_us = ev->time_us;
        }
    }
}

/* memnet node operations over a stack. */
static void node_input(void *arg, const uint8_t *packet, size_t len, uint64_t now_us)
{
    synack_stack_input(arg, packet, len, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

/* The client: send the message once connected, read the echo, verify it, close, read EOF,
 * and wait for the connection to end (TIME-WAIT's 2 x MSL). */
static void client_step(struct demo *d)
{
    struct synack_stack *s = d->a;
    const struct demo_opts *o = d->o;
    int mask = synack_readiness(s, d->fd_a);

    if (mask < 0) {
        fail(d, "A's descriptor is not valid");
        return;
    }
    if (mask & SYNACK_ERROR) {
        fprintf(stderr, "synack: A: %s\n", synack_strerror(synack_error(s, d->fd_a)));
        fail(d, "A's connection failed");
        return;
    }
    if (!(mask & SYNACK_CONNECTED))
        return;
    while (d->sent_a < o->message_len && !d->shut_a) {
        int n = synack_send(s, d->fd_a, o->message + d->sent_a, o->message_len - d->sent_a);
        if (n == SYNACK_EAGAIN)
            break;
        if (n <= 0) {
            fail(d, "A could not send the message");
            return;
        }
        d->sent_a += (size_t)n;
    }
    while (!d->eof_a) {
        /* The echo goes to d->echo; anything beyond the message length is an error, read
         * into tmp only to notice it. */
        char tmp[64];
        bool more = d->got_a < o->message_len;
        int n = more ? synack_recv(s, d->fd_a, d->echo + d->got_a, o->message_len - d->got_a)
                     : synack_recv(s, d->fd_a, tmp, sizeof tmp);
        if (n == SYNACK_EAGAIN)
            break;
        if (n < 0) {
            fail(d, "A's receive failed");
            return;
        }
        if (n == 0) {
            d->eof_a = true;
            if (more)
                fail(d, "B closed before echoing the whole message");
            break;
        }
        if (!more) {
            fail(d, "B sent more than the message");
            return;
        }
        d->got_a += (size_t)n;
    }
    if (d->got_a == o->message_len && !d->shut_a) {
        d->verified = memcmp(d->echo, o->message, o->message_len) == 0;
        if (!d->verified) {
            fail(d, "the echo differs from the message");
            return;
        }
        /* RFC 9293 3.10.4: CLOSE; A closes first and goes on reading until end-of-file. */
        if (synack_shutdown(s, d->fd_a, SYNACK_SHUT_WR) < 0) {
            fail(d, "A could not close");
            return;
        }
        d->shut_a = true;
    }
    if (d->eof_a && synack_state(s, d->fd_a) == SYNACK_CLOSED && !d->closed_a) {
        d->closed_a = true;
        synack_close(s, d->fd_a);
    }
}

/* The echo server: accept one connection, send back what it reads, close at end-of-file. */
static void server_step(struct demo *d)
{
    struct synack_stack *s = d->b;

    if (d->fd_b < 0) {
        int fd = synack_accept(s, d->lfd_b, NULL);
        if (fd == SYNACK_EAGAIN)
            return;
        if (fd < 0) {
            fail(d, "B's accept failed");
            return;
        }
        d->fd_b = fd;
    }
    if (d->closed_b)
        return;
    for (;;) {
        /* Send what is pending first, then read more. */
        while (d->off_b < d->pend_b) {
            int n = synack_send(s, d->fd_b, d->buf_b + d->off_b, d->pend_b - d->off_b);
            if (n == SYNACK_EAGAIN)
                return;
            if (n <= 0) {
                fail(d, "B could not echo");
                return;
            }
            d->off_b += (size_t)n;
            d->echoed_b += (size_t)n;
        }
        d->off_b = d->pend_b = 0;
        if (d->eof_b)
            break;
        int n = synack_recv(s, d->fd_b, d->buf_b, sizeof d->buf_b);
        if (n == SYNACK_EAGAIN)
            return;
        if (n < 0) {
            fail(d, "B's receive failed");
            return;
        }
        if (n == 0) {
            d->eof_b = true;
            break;
        }
        d->pend_b = (size_t)n;
    }
    /* End-of-file and everything echoed: B closes too (CLOSE-WAIT -> LAST-ACK). */
    synack_close(s, d->fd_b);
    d->closed_b = true;
}

/* Takes the readiness events of a stack; returns true when any descriptor reported one. */
static bool take_events(struct synack_stack *s)
{
    struct synack_sock_event ev[DEMO_MAX_EVENTS];
    bool any = false;
    int n;

    while ((n = synack_events(s, ev, DEMO_MAX_EVENTS)) > 0) {
        any = true;
        if (n < DEMO_MAX_EVENTS)
            break;
    }
    return any;
}

static bool demo_done(const struct demo *d)
{
    return d->failure != NULL || (d->closed_a && d->closed_b && d->b_closed_seen);
}

static void print_time(FILE *f, uint64_t us)
{
    fprintf(f, "%" PRIu64 ".%06" PRIu64 " s", us / 1000000, us % 1000000);
}

static void print_path(const char *who, const int *path, int n)
{
    printf("  %s: ", who);
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? " -> " : "", synack_state_name(path[i]));
    printf("\n");
}

/* Builds the two hosts, runs the exchange and prints the summary. Returns the exit status. */
static int run_demo(const struct demo_opts *o)
{
    struct demo d;
    struct synack_config ca, cb;
    int status = EXIT_FAILURE;

    memset(&d, 0, sizeof d);
    d.o = o;
    d.fd_a = d.fd_b = d.lfd_b = -1;
    d.path_a[d.npath_a++] = SYNACK_CLOSED;
    d.path_b[d.npath_b++] = SYNACK_LISTEN;
    d.echo = malloc(o->message_len);
    d.net = memnet_new(o->seed);
    if (d.echo == NULL || d.net == NULL) {
        fprintf(stderr, "synack: out of memory\n");
        goto out;
    }
    int na = memnet_add_node(d.net, DEMO_IP_A);
    int nb = memnet_add_node(d.net, DEMO_IP_B);
    struct memnet_path path = {.delay_us = o->delay_us};
    if (na < 0 || nb < 0 || !memnet_set_path(d.net, DEMO_IP_A, DEMO_IP_B, &path) ||
        !memnet_set_path(d.net, DEMO_IP_B, DEMO_IP_A, &path)) {
        fprintf(stderr, "synack: cannot set up the virtual network\n");
        goto out;
    }

    synack_config_default(&ca);
    ca.ip = DEMO_IP_A;
    ca.msl_us = o->msl_us;
    derive_isn_key(o->seed, 0, ca.isn_key);
    cb = ca;
    cb.ip = DEMO_IP_B;
    derive_isn_key(o->seed, 1, cb.isn_key);
    struct synack_link la = memnet_link(d.net, na), lb = memnet_link(d.net, nb);
    d.a = synack_stack_new(&ca, &la);
    d.b = synack_stack_new(&cb, &lb);
    if (d.a == NULL || d.b == NULL) {
        fprintf(stderr, "synack: cannot create the stacks\n");
        goto out;
    }
    struct memnet_node_ops ops_a = {d.a, node_input, node_poll};
    struct memnet_node_ops ops_b = {d.b, node_input, node_poll};
    memnet_attach(d.net, na, &ops_a);
    memnet_attach(d.net, nb, &ops_b);

    /* B: passive OPEN on port 7. */
    struct synack_addr addr_b = {DEMO_IP_B, DEMO_PORT_B};
    d.lfd_b = synack_socket(d.b);
    if (d.lfd_b < 0 || synack_bind(d.b, d.lfd_b, &addr_b) < 0 ||
        (o->has_isn_b && synack_setopt(d.b, d.lfd_b, SYNACK_OPT_ISS, o->isn_b) < 0) ||
        synack_listen(d.b, d.lfd_b, 1) < 0) {
        fprintf(stderr, "synack: B cannot listen on port %d\n", DEMO_PORT_B);
        goto out;
    }

    /* The ladder starts here: A CLOSED, B LISTEN. A's port is learned from its first
     * segment. */
    struct synack_addr ladder_a = {DEMO_IP_A, 0};
    d.ladder = ladder_new(stdout, "TCP A", ladder_a, SYNACK_CLOSED, "TCP B", addr_b,
                          SYNACK_LISTEN);
    if (d.ladder == NULL) {
        fprintf(stderr, "synack: out of memory\n");
        goto out;
    }
    synack_stack_set_observer(d.a, demo_observe, &d);
    synack_stack_set_observer(d.b, demo_observe, &d);
    memnet_set_observer(d.net, demo_observe, &d);

    /* A: active OPEN. */
    d.fd_a = synack_socket(d.a);
    if (d.fd_a < 0 ||
        (o->has_isn_a && synack_setopt(d.a, d.fd_a, SYNACK_OPT_ISS, o->isn_a) < 0)) {
        fprintf(stderr, "synack: A cannot create its socket\n");
        goto out;
    }
    int rc = synack_connect(d.a, d.fd_a, &addr_b);
    if (rc != SYNACK_EINPROGRESS && rc != 0) {
        fprintf(stderr, "synack: A cannot connect: %s\n", synack_strerror(rc));
        goto out;
    }

    /* The event loop. */
    uint64_t limit = 2 * o->msl_us + DEMO_SLACK_US;
    while (!demo_done(&d) && memnet_step(d.net, limit)) {
        bool ev_a = take_events(d.a);
        bool ev_b = take_events(d.b);
        if (ev_a)
            client_step(&d);
        if (ev_b)
            server_step(&d);
    }
    ladder_flush(d.ladder);

    /* The summary. */
    struct synack_stats sa, sb;
    synack_stack_stats(d.a, &sa);
    synack_stack_stats(d.b, &sb);
    printf("\nsummary:\n");
    if (d.verified)
        printf("  echo: %zu bytes sent by A, echoed by B, verified by A\n", o->message_len);
    print_path("A", d.path_a, d.npath_a);
    print_path("B", d.path_b, d.npath_b);
    if (d.tw_seen && d.a_closed_seen) {
        printf("  A entered TIME-WAIT at ");
        print_time(stdout, d.tw_at_us);
        printf(" and reached CLOSED at ");
        print_time(stdout, d.a_closed_at_us);
        printf("\n    = ");
        print_time(stdout, d.tw_at_us);
        printf(" + 2 x MSL (MSL = ");
        print_time(stdout, o->msl_us);
        printf(")%s\n", d.a_closed_at_us == d.tw_at_us + 2 * o->msl_us ? "" : ": NOT EQUAL");
    }
    if (d.b_closed_seen) {
        printf("  B reached CLOSED at ");
        print_time(stdout, d.b_closed_at_us);
        printf("\n");
    }

    if (d.failure == NULL && !d.verified)
        fail(&d, "the echo never completed");
    if (d.failure == NULL && d.echoed_b != o->message_len)
        fail(&d, "B echoed a different number of bytes than A sent");
    if (d.failure == NULL && !(d.closed_a && d.a_closed_seen))
        fail(&d, "A never reached CLOSED");
    if (d.failure == NULL && !d.b_closed_seen)
        fail(&d, "B never reached CLOSED");
    if (d.failure == NULL && !d.tw_seen)
        fail(&d, "A never went through TIME-WAIT");
    if (d.failure == NULL && d.a_closed_at_us != d.tw_at_us + 2 * o->msl_us)
        fail(&d, "A's TIME-WAIT did not last exactly 2 x MSL");
    if (d.failure == NULL && (sa.conn_current != 0 || sb.conn_current != 0))
        fail(&d, "a connection is still in a stack's table");
    if (d.failure != NULL) {
        printf("demo FAILED: %s\n", d.failure);
        fprintf(stderr, "synack: demo failed: %s\n", d.failure);
    } else {
        printf("demo OK\n");
        status = EXIT_SUCCESS;
    }

out:
    synack_stack_free(d.a);
    synack_stack_free(d.b);
    ladder_free(d.ladder);
    memnet_free(d.net);
    free(d.echo);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        if (argc > 2)
            return usage_error("'%s' takes no arguments", cmd);
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "demo") == 0) {
        struct demo_opts o;
        int rc = parse_demo(argc, argv, &o);
        if (rc == DEMO_HELP_SHOWN)
            return EXIT_SUCCESS;
        if (rc != 0)
            return rc;
        return run_demo(&o);
    }
    if (cmd[0] == '-')
        return usage_error("unknown option '%s'", cmd);
    return usage_error("unknown command '%s'", cmd);
}
