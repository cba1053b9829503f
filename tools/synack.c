/*
 * synack.c: the `synack` command line program.
 *
 *   synack demo [options]   two stacks on the virtual network, drawn as an RFC 793-style
 *                           ladder: the echo demo, or a named scenario (--scenario NAME)
 *   synack serve ...        a server on a Linux TUN device (net.c; synack serve --help)
 *   synack connect ...      a client on a Linux TUN device (net.c; synack connect --help)
 *   synack bench ...        the benchmark suite: runs bench/run (bench_cmd.c)
 *   synack help | --help    usage
 *
 * Exit status: 0 success, 1 the demo or scenario failed (the reason is printed), 2 bad
 * usage.
 *
 * main() looks the subcommand up in a table and hands it the arguments. The demo and the
 * scenarios live in scenarios.c (this file parses the demo's options), serve and connect in
 * net.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_bulk.h"
#include "args.h"
#include "bench_cmd.h"
#include "net.h"
#include "scenarios.h"

#define EXIT_USAGE 2                 /* bad command line */

#define DEMO_MSL_MAX_S 86400.0       /* largest --msl, seconds */
#define DEMO_DELAY_MAX_MS 60000.0    /* largest --delay, milliseconds */
#define DEMO_MESSAGE_MAX 60000       /* longest --message, bytes (fits the 64 KiB buffers) */

static const char usage_text[] =
    "usage: synack <command> [options]\n"
    "\n"
    "commands:\n"
    "  demo            run two stacks on the virtual network and draw what they do as an\n"
    "                  RFC 793-style ladder. Without --scenario: A (10.0.0.1) connects to\n"
    "                  B (10.0.0.2:7), sends a message, B echoes it, A closes first\n"
    "  serve           a server on a Linux TUN device, talking to real TCP peers\n"
    "                  (synack serve --help)\n"
    "  connect         a client on a Linux TUN device (synack connect --help)\n"
    "  bench           the benchmark suite against lwIP and the kernel: runs bench/run from\n"
    "                  the source tree (synack bench --help)\n"
    "  help            print this help\n"
    "\n"
    "demo options:\n"
    "  --scenario NAME run a named scenario (see --list) instead of the echo demo\n"
    "  --list          list the scenarios, one a line, and exit\n"
    "  --verbose       add time, window, length and options columns to the ladder\n"
    "  --svg FILE      also draw an SVG sequence diagram into FILE\n"
    "  --json FILE     also write every trace event as a line of JSON into FILE\n"
    "                  (format: docs/events.md)\n"
    "  --pcap FILE     also write the packets into FILE (pcap, for Wireshark or tcpdump)\n"
    "  --seed N        seed of the virtual network and of the ISN keys (default 1)\n"
    "  --msl SECONDS   maximum segment lifetime; TIME-WAIT lasts 2 x MSL (default 120,\n"
    "                  decimals allowed, > 0 and <= 86400)\n"
    "echo demo only:\n"
    "  --isn-a N       A's initial sequence number, 0..4294967295 (default: RFC 6528)\n"
    "  --isn-b N       B's initial sequence number, 0..4294967295 (default: RFC 6528)\n"
    "  --message TEXT  the message A sends (default \"Hello, TCP!\", 1..60000 bytes)\n"
    "  --delay MS      one-way delay of the virtual network in milliseconds (default 1,\n"
    "                  decimals allowed, 0..60000)\n"
    "  --help          print this help\n"
    "\n"
    "exit status: 0 success, 1 the demo or scenario failed, 2 bad usage\n";

static void usage(FILE *f)
{
    fputs(usage_text, f);
    fputs("\nbulk transfer (synack demo --bytes N; the data is checked to the byte):\n", f);
    fputs(bulk_usage_text, f);
    fputs("  --full          draw every segment, not a summary of the data phase\n", f);
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

/* A non-negative number of microseconds, rounded to the nearest integer (no libm). */
static uint64_t round_us(double us)
{
    return (uint64_t)(us + 0.5);
}

/* ---- demo --------------------------------------------------------------------------- */

/* The value of option argv[*i] (as "--opt VALUE" or "--opt=VALUE"), or NULL if missing. */
static const char *option_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq != NULL)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

#define DEMO_DONE 100 /* parse_demo(): --help or --list was printed */

/* The demo's options that take a value, and whether only the echo demo has them. */
static const struct {
    const char *name;
    bool echo_only;
} demo_valued[] = {
    {"--scenario", false}, {"--svg", false},     {"--json", false},  {"--pcap", false},
    {"--seed", false},     {"--msl", false},     {"--isn-a", true},  {"--isn-b", true},
    {"--message", true},   {"--delay", true},
};

/* Parses the demo's options into *o and *scenario. Returns 0 to run, DEMO_DONE after
 * printing the usage (--help) or the list (--list), or EXIT_USAGE after printing the error
 * and the usage. */
static int parse_demo(int argc, char **argv, struct scenario_opts *o,
                      const struct scenario **scenario, struct bulk_opts *bulk,
                      bool *bulk_mode, bool *full)
{
    const char *echo_only = NULL; /* an echo demo option that was given */
    const char *bulk_only = NULL; /* a bulk transfer option that was given */
    const char *no_bulk = NULL;   /* an option the bulk transfer does not take */
    bool list = false;

    bulk_opts_default(bulk);
    *bulk_mode = *full = false;

    scenario_opts_default(o);
    *scenario = scenario_find(SCENARIO_DEFAULT);
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return DEMO_DONE;
        }
        if (strcmp(arg, "--list") == 0) {
            list = true;
            continue;
        }
        if (strcmp(arg, "--verbose") == 0) {
            o->verbose = true;
            continue;
        }
        if (strcmp(arg, "--full") == 0) {
            *full = true;
            bulk_only = arg;
            continue;
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

        /* The bulk transfer's own options (tools/bulk.h); --delay is the demo's. */
        int bulk_kind = strcmp(name, "--delay") == 0 ? 0 : bulk_option_kind(name);
        if (bulk_kind != 0) {
            const char *bval = bulk_kind == 2 ? option_value(argc, argv, &i, eq) : NULL;
            if (bulk_kind == 2 && bval == NULL)
                return usage_error("option '%s' needs a value", name);
            char err[200];
            if (bulk_parse_option(bulk, name, bval, err, sizeof err) < 0)
                return usage_error("%s", err);
            if (strcmp(name, "--bytes") == 0)
                *bulk_mode = true;
            else
                bulk_only = argv[i - (bulk_kind == 2 && eq == NULL ? 1 : 0)];
            continue;
        }

        size_t k = 0;
        while (k < sizeof demo_valued / sizeof demo_valued[0] &&
               strcmp(demo_valued[k].name, name) != 0)
            k++;
        if (k == sizeof demo_valued / sizeof demo_valued[0])
            return usage_error("unknown option '%s'", arg);
        if (demo_valued[k].echo_only)
            echo_only = demo_valued[k].name;
        if (strcmp(name, "--delay") != 0 && strcmp(name, "--seed") != 0 &&
            strcmp(name, "--msl") != 0)
            no_bulk = demo_valued[k].name;
        const char *val = option_value(argc, argv, &i, eq);
        if (val == NULL)
            return usage_error("option '%s' needs a value", name);

        uint64_t u;
        double d;
        if (strcmp(name, "--scenario") == 0) {
            *scenario = scenario_find(val);
            if (*scenario == NULL)
                return usage_error("--scenario: no scenario '%s' (synack demo --list)", val);
        } else if (strcmp(name, "--svg") == 0 || strcmp(name, "--json") == 0 ||
                   strcmp(name, "--pcap") == 0) {
            if (val[0] == '\0')
                return usage_error("%s: the file name is empty", name);
            if (name[2] == 's')
                o->svg_path = val;
            else if (name[2] == 'j')
                o->json_path = val;
            else
                o->pcap_path = val;
        } else if (strcmp(name, "--seed") == 0) {
            if (!args_u64(val, UINT64_MAX, &u))
                return usage_error("--seed: '%s' is not an integer in 0..%" PRIu64, val,
                                   UINT64_MAX);
            o->seed = u;
        } else if (strcmp(name, "--isn-a") == 0 || strcmp(name, "--isn-b") == 0) {
            if (!args_u64(val, UINT32_MAX, &u))
                return usage_error("%s: '%s' is not an integer in 0..4294967295", name, val);
            if (name[6] == 'a') {
                o->has_isn_a = true;
                o->isn_a = (uint32_t)u;
            } else {
                o->has_isn_b = true;
                o->isn_b = (uint32_t)u;
            }
        } else if (strcmp(name, "--msl") == 0) {
            if (!args_decimal(val, 0.0, DEMO_MSL_MAX_S, &d) || round_us(d * 1e6) < 1)
                return usage_error("--msl: '%s' is not a number of seconds in (0, 86400] "
                                   "(at least 1 microsecond)", val);
            o->msl_us = round_us(d * 1e6);
        } else if (strcmp(name, "--delay") == 0) {
            if (!args_decimal(val, 0.0, DEMO_DELAY_MAX_MS, &d))
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
    if (list) {
        printf("scenarios (synack demo --scenario NAME):\n");
        scenario_list(stdout);
        return DEMO_DONE;
    }
    if (bulk_only && !*bulk_mode)
        return usage_error("%s applies to the bulk transfer only: give --bytes N", bulk_only);
    if (*bulk_mode && no_bulk)
        return usage_error("%s does not apply to the bulk transfer (--bytes)", no_bulk);
    if (echo_only && strcmp((*scenario)->name, SCENARIO_DEFAULT) != 0)
        return usage_error("%s applies to the echo demo only, not to --scenario %s", echo_only,
                           (*scenario)->name);
    return 0;
}

static int cmd_demo(int argc, char **argv)
{
    struct scenario_opts o;
    const struct scenario *sc;
    struct bulk_opts bulk;
    bool bulk_mode, full;
    int rc = parse_demo(argc, argv, &o, &sc, &bulk, &bulk_mode, &full);

    if (rc == DEMO_DONE)
        return EXIT_SUCCESS;
    if (rc != 0)
        return rc;
    if (bulk_mode) {
        bulk.seed = o.seed;
        bulk.msl_us = o.msl_us;
        bulk.delay_us = o.delay_us;
        return demo_bulk_run(&bulk, full, o.verbose, stdout);
    }
    return scenario_run(sc, &o, stdout);
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 2)
        return usage_error("'%s' takes no arguments", argv[1]);
    usage(stdout);
    return EXIT_SUCCESS;
}

/* ---- Subcommands ------------------------------------------------------------------------- */

/* The subcommands: argv[1] selects one, which gets the whole argv. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"demo", cmd_demo},
    {"serve", synack_cmd_serve},
    {"connect", synack_cmd_connect},
    {"bench", synack_cmd_bench},
    {"help", cmd_help},
    {"--help", cmd_help},
    {"-h", cmd_help},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, cmd) == 0)
            return commands[i].run(argc, argv);
    if (cmd[0] == '-')
        return usage_error("unknown option '%s'", cmd);
    return usage_error("unknown command '%s'", cmd);
}
