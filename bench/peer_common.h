/* bench/peer_common.h: what the benchmark peers (kernel_bench.c, lwip_bench.c) share: the
 * workload table of issue 6, clocks, and the RESULT lines of the benchmark output contract
 * (RESULT <workload> <impl> <metric> <value> <unit>). Header-only: each peer is one file. */
#ifndef SYNACK_BENCH_PEER_COMMON_H
#define SYNACK_BENCH_PEER_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define QUICK_COUNT 200 /* every connection count under --quick */

enum peer_kind { PEER_BULK, PEER_RATE, PEER_IDLE, PEER_IDLE_TW, PEER_PINGPONG };

struct peer_workload {
    const char *id;          /* as given on the command line */
    const char *reported_as; /* the id of its first RESULT lines */
    enum peer_kind kind;
    long count;              /* connections (W2, W3) or other connections open (W5) */
};

/* The workloads of issue 6 both peers run; NULL if id is not one. O(table). */
static inline const struct peer_workload *peer_workload(const char *id)
{
    static const struct peer_workload table[] = {
        {"W1a", "W1a", PEER_BULK, 0},
        {"W2-1k", "W2-1k", PEER_RATE, 1000},
        {"W2-20k", "W2-20k", PEER_RATE, 20000},
        {"W2-1M", "W2-1M", PEER_RATE, 1000000},
        {"W3-est-10k", "W3-est-10k", PEER_IDLE, 10000},
        {"W3-est-1M", "W3-est-1M", PEER_IDLE, 1000000},
        /* W3-tw starts from W3-est-10k and prints its lines too */
        {"W3-tw", "W3-est-10k", PEER_IDLE_TW, 10000},
        {"W4", "W4", PEER_PINGPONG, 0},
        {"W5-10", "W5-10", PEER_PINGPONG, 10},
        {"W5-10k", "W5-10k", PEER_PINGPONG, 10000},
        {"W5-1M", "W5-1M", PEER_PINGPONG, 1000000},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(id, table[i].id) == 0)
            return &table[i];
    return NULL;
}

/* The count a workload runs with: its own, or QUICK_COUNT under --quick (if smaller). */
static inline long peer_count(const struct peer_workload *w, int quick)
{
    return quick && w->count > QUICK_COUNT ? QUICK_COUNT : w->count;
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time (user + system) this process used so far, seconds: with the wall time it tells
 * how much of the machine a figure had (the machine is shared; figures are not asserted). */
static inline double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline void peer_info_cpu(const char *workload, const char *impl, double cpu,
                                 uint64_t wall_ns)
{
    printf("INFO %s %s cpu %.3f s (user+sys, all threads) over %.3f s wall\n", workload, impl,
           cpu, (double)wall_ns / 1e9);
}

static inline void peer_result(const char *workload, const char *impl, const char *metric,
                               double value, const char *unit)
{
    printf("RESULT %s %s %s %.6g %s\n", workload, impl, metric, value, unit);
    fflush(stdout);
}

static inline int peer_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Prints p50 and p99 of the n latencies (ns) in microseconds; sorts lat. */
static inline void peer_percentiles(const char *workload, const char *impl, uint64_t *lat,
                                    size_t n)
{
    if (n == 0)
        return;
    qsort(lat, n, sizeof *lat, peer_cmp_u64);
    peer_result(workload, impl, "p50", (double)lat[n / 2] / 1e3, "us");
    peer_result(workload, impl, "p99", (double)lat[(n * 99) / 100] / 1e3, "us");
}

/* A positive decimal count; -1 if s is not one. */
static inline long peer_parse_count(const char *s)
{
    char *end;
    if (!s)
        return -1;
    long long v = strtoll(s, &end, 10);
    return end == s || *end || v <= 0 || v > 1000000000000LL ? -1 : (long)v;
}

#endif
