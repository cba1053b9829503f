/* bench/kernel_bench.c: the Linux kernel's TCP as a benchmark peer (issue 6).
 *
 * One process, two sides: the client in the calling thread, the server in a second thread.
 * The listening socket is made inside the server's network namespace (--server-netns), so
 * over a veth pair the two sides are in different namespaces and every segment crosses the
 * veth; without it both sides share the caller's namespace (loopback). bench/kernel_netns.sh
 * makes the namespaces, sets the MTU and offloads, raises the fd limits and runs this program.
 *
 * Workloads (ids, output lines and --quick as in the benchmark output contract of issue 6):
 *   W1a         one connection, --bytes bytes (1 GiB) written 128 KiB at a time, MSS 1460;
 *               goodput from connect() to the receiver's 1-byte reply after the last byte
 *               (so the last byte was received, verified and acknowledged).
 *   W2-1k/20k/1M  N sequential connections: connect, 1-byte request, 1-byte reply, the client
 *               closes first; rate, p50, p99 of connect-to-close, failures. The client binds
 *               to --client-count addresses in turn so its ports do not run out.
 *   W3-est-10k/1M  N idle established connections: kernel memory growth per socket, measured
 *               as the rise of /proc/meminfo Slab plus /proc/net/sockstat TCP "mem" pages,
 *               divided by the 2N sockets (both ends are kernel sockets).
 *   W3-tw       the same N connections closed by the client: memory per TIME-WAIT socket
 *               (rise over the baseline before W3-est divided by sockstat's "tw" count).
 *   W4          one connection, 1-byte ping-pong, --rounds round trips; tps, p50, p99.
 *   W5-10/10k/1M  W4 (--w5-rounds round trips) with that many other idle connections open.
 * Idle connections are held by threads with fd tables of their own (see struct holder), so
 * the 1M forms fit under a fd limit of 20,000; they need about 10 GiB of kernel memory.
 * The kernel's memory counters are machine-wide: other processes' activity adds noise, so
 * the figure is only as clean as the machine is quiet (the rise is printed per cache too).
 *
 * Exit status: 0 when every check passed, 1 when one failed (bytes not verified, connection
 * failed, sockets left open), 2 on bad usage. RESULT/INFO lines on stdout, progress on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer_common.h"

#define PORT 5201                  /* the server's port */
#define MSS 1460                   /* TCP_MAXSEG on every socket, bytes */
#define WRITE_SIZE (128 * 1024)    /* W1a application write size, bytes */
#define READ_SIZE (256 * 1024)     /* W1a receiver read size, bytes */
#define PATTERN_PERIOD 131071u     /* W1a data repeats every this many bytes (prime, so a lost
                                      or repeated 128 KiB write shows) */
#define MAX_CLIENT_ADDRS 256       /* --client-count limit */

struct options {
    const char *impl;              /* <impl> of the RESULT lines */
    const char *server_netns;      /* netns name of the server side, or NULL (same as client) */
    struct in_addr server_addr;    /* the server's address */
    struct in_addr client_base;    /* first client address; the others follow it */
    int client_count;              /* client addresses used in turn */
    bool quick;                    /* small sizes: a correctness run */
    uint64_t bytes;                /* W1a bytes */
    long rounds;                   /* W4 round trips */
    long w5_rounds;                /* W5 round trips */
    bool client_only;              /* W2 as a client of another server (--client-only) */
    int port;                      /* the server's port (--port, default PORT) */
};

static struct options opt;

/* ---- small helpers -------------------------------------------------------------------- */

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kernel_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void result(const char *workload, const char *metric, double value, const char *unit)
{
    peer_result(workload, opt.impl, metric, value, unit);
}

static void result_percentiles(const char *workload, uint64_t *lat, size_t n)
{
    peer_percentiles(workload, opt.impl, lat, n);
}

static void info_cpu(const char *workload, double cpu, uint64_t wall_ns)
{
    peer_info_cpu(workload, opt.impl, cpu, wall_ns);
}

/* Reads or writes exactly len bytes; false on error or end of stream. */
static bool read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
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

/* Waits for the peer's close: true when read() returns 0 (end of stream) before any byte. */
static bool wait_eof(int fd)
{
    char c;
    ssize_t n;
    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 0;
}

static void set_int_opt(int fd, int level, int name, int value)
{
    if (setsockopt(fd, level, name, &value, sizeof value) != 0)
        progress("setsockopt(%d, %d): %s", level, name, strerror(errno));
}

/* ---- sockets -------------------------------------------------------------------------- */

static int listen_fd = -1; /* the server's listener, made once in the server's namespace */

/* Makes the listener inside the server's namespace: this thread enters it, makes the socket
 * and returns to its own (a socket stays in the namespace it was made in). */
static bool make_listener(void)
{
    int own = -1, target = -1;
    if (opt.server_netns) {
        char path[256];
        snprintf(path, sizeof path, "/run/netns/%s", opt.server_netns);
        own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        target = open(path, O_RDONLY | O_CLOEXEC);
        if (own < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) {
            progress("cannot enter network namespace %s: %s", opt.server_netns, strerror(errno));
            return false;
        }
    }
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = listen_fd >= 0;
    if (ok) {
        set_int_opt(listen_fd, SOL_SOCKET, SO_REUSEADDR, 1);
        set_int_opt(listen_fd, IPPROTO_TCP, TCP_MAXSEG, MSS); /* inherited by accepted sockets */
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port),
                                 .sin_addr = opt.server_addr};
        ok = bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
             listen(listen_fd, 65535) == 0;
        if (!ok)
            progress("listen on %s:%d: %s", inet_ntoa(opt.server_addr), opt.port, strerror(errno));
    }
    if (opt.server_netns && setns(own, CLONE_NEWNET) != 0) {
        progress("cannot return to the client's namespace: %s", strerror(errno));
        ok = false;
    }
    if (own >= 0)
        close(own);
    if (target >= 0)
        close(target);
    return ok;
}

/* Connects the i-th client socket (client address i mod --client-count, a kernel-chosen
 * port); -1 on failure. nodelay: TCP_NODELAY for the ping-pong workloads. */
static int client_connect(long i, bool nodelay)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        progress("socket: %s", strerror(errno));
        return -1;
    }
    set_int_opt(fd, IPPROTO_TCP, TCP_MAXSEG, MSS);
    if (nodelay)
        set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    /* The port is chosen at connect(), per (source, destination) pair: without this option
     * bind() would pick one unique among all source addresses and run out at 64k. */
    set_int_opt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    struct sockaddr_in local = {.sin_family = AF_INET};
    local.sin_addr.s_addr = htonl(ntohl(opt.client_base.s_addr) + (uint32_t)(i % opt.client_count));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port),
                             .sin_addr = opt.server_addr};
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        progress("connect #%ld from %s: %s", i, inet_ntoa(local.sin_addr), strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Accepts one connection, waiting at most timeout_ms; -1 on timeout or error. */
static int server_accept(int timeout_ms)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    return accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
}

/* ---- the server thread ---------------------------------------------------------------- */

enum server_kind { SERVE_BULK, SERVE_RR_SEQUENTIAL, SERVE_PINGPONG };

struct server {
    pthread_t thread;
    enum server_kind kind;
    long count;                /* SERVE_RR_SEQUENTIAL: connections to take */
    uint64_t bytes;            /* SERVE_BULK: bytes expected */
    atomic_bool stop;          /* set by the client: stop accepting */
    atomic_bool started;       /* set by the server once its fd table is its own */
    atomic_long accepted;      /* connections accepted so far */
    long failures;             /* connections that did not behave as the workload says */
    const unsigned char *pattern;
};

static const unsigned char *bulk_pattern; /* PATTERN_PERIOD + READ_SIZE bytes */

static void make_pattern(void)
{
    unsigned char *p = malloc(PATTERN_PERIOD + READ_SIZE);
    if (!p) {
        progress("out of memory");
        exit(1);
    }
    for (size_t i = 0; i < PATTERN_PERIOD + READ_SIZE; i++)
        p[i] = (unsigned char)(((i % PATTERN_PERIOD) * 2654435761u) >> 13);
    bulk_pattern = p;
}

/* W1a receiver: reads and verifies every byte, then replies with one byte. */
static void serve_bulk(struct server *s)
{
    int fd = server_accept(10000);
    if (fd < 0) {
        s->failures++;
        return;
    }
    atomic_fetch_add(&s->accepted, 1);
    unsigned char *buf = malloc(READ_SIZE);
    uint64_t got = 0;
    while (buf && got < s->bytes) {
        ssize_t n = read(fd, buf, READ_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (memcmp(buf, bulk_pattern + got % PATTERN_PERIOD, (size_t)n) != 0) {
            progress("W1a: received bytes differ from those sent near offset %llu",
                     (unsigned long long)got);
            break;
        }
        got += (uint64_t)n;
    }
    char ack = 'k';
    if (got != s->bytes || !write_full(fd, &ack, 1) || !wait_eof(fd))
        s->failures++;
    free(buf);
    close(fd);
}

/* W2 server: per connection, 1-byte request, 1-byte reply, then the client's close. */
static void serve_rr_sequential(struct server *s)
{
    while (atomic_load(&s->accepted) < s->count && !atomic_load(&s->stop)) {
        int fd = server_accept(100);
        if (fd < 0)
            continue;
        atomic_fetch_add(&s->accepted, 1);
        char c;
        if (!read_full(fd, &c, 1) || !write_full(fd, &c, 1) || !wait_eof(fd))
            s->failures++;
        close(fd);
    }
}

/* W4/W5: the ping-pong on one more connection, echoing each byte until the client closes. */
static void serve_pingpong(struct server *s)
{
    int fd = -1;
    while (fd < 0 && !atomic_load(&s->stop))
        fd = server_accept(100);
    if (fd >= 0) {
        set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
        char c;
        for (;;) {
            ssize_t n = read(fd, &c, 1);
            if (n == 0)
                break;
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 || !write_full(fd, &c, 1)) {
                s->failures++;
                break;
            }
        }
        close(fd);
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    /* A table of its own: the client's fds are not in it, so that the client's close()
     * closes its socket (a copy of the table would hold it open). */
    if (unshare(CLONE_FILES) != 0)
        progress("unshare(CLONE_FILES): %s", strerror(errno));
    atomic_store(&s->started, true); /* the client may open sockets now: not in our copy */
    switch (s->kind) {
    case SERVE_BULK: serve_bulk(s); break;
    case SERVE_RR_SEQUENTIAL: serve_rr_sequential(s); break;
    case SERVE_PINGPONG: serve_pingpong(s); break;
    }
    return NULL;
}

static void server_start(struct server *s)
{
    if (pthread_create(&s->thread, NULL, server_main, s) != 0) {
        progress("pthread_create failed");
        exit(1);
    }
    while (!atomic_load(&s->started))
        usleep(100);
}

static void server_join(struct server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
}

/* ---- kernel memory -------------------------------------------------------------------- */

/* Reads "name: value" (kB) from /proc/meminfo; -1 if absent. */
static long long meminfo_kb(const char *name)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long long v = -1;
    size_t len = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ':')
            v = atoll(line + len + 1);
    if (f)
        fclose(f);
    return v;
}

/* Reads the TCP line of this namespace's /proc/net/sockstat: "inuse", "tw", "mem" (pages). */
static long long sockstat_tcp(const char *field)
{
    FILE *f = fopen("/proc/net/sockstat", "r");
    char line[512];
    long long v = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "TCP:", 4) != 0)
            continue;
        char *tok = strtok(line + 4, " \n");
        while (tok) {
            char *val = strtok(NULL, " \n");
            if (val && strcmp(tok, field) == 0)
                v = atoll(val);
            tok = val ? strtok(NULL, " \n") : NULL;
        }
    }
    if (f)
        fclose(f);
    return v;
}

/* Kernel memory that sockets use: slab pages plus TCP buffer pages, in bytes. */
static long long kernel_socket_memory(void)
{
    return meminfo_kb("Slab") * 1024 + sockstat_tcp("mem") * 4096;
}

#define MAX_CACHES 512
struct slab_cache {
    char name[64];
    long long bytes; /* active objects x object size */
};

/* Snapshot of /proc/slabinfo (root only); returns the number of caches read. */
static int slab_snapshot(struct slab_cache *c)
{
    FILE *f = fopen("/proc/slabinfo", "r");
    char line[512];
    int n = 0;
    while (f && n < MAX_CACHES && fgets(line, sizeof line, f)) {
        long long active, total, size;
        if (sscanf(line, "%63s %lld %lld %lld", c[n].name, &active, &total, &size) == 4) {
            c[n].bytes = active * size;
            n++;
        }
    }
    if (f)
        fclose(f);
    return n;
}

/* Prints, as INFO, the caches whose objects grew the most between two snapshots. */
static void slab_report(const char *workload, const struct slab_cache *before, int nb,
                        const struct slab_cache *after, int na, long long divisor)
{
    struct slab_cache grow[MAX_CACHES];
    int ng = 0;
    for (int i = 0; i < na; i++) {
        long long b = 0;
        for (int j = 0; j < nb; j++)
            if (strcmp(before[j].name, after[i].name) == 0)
                b = before[j].bytes;
        if (after[i].bytes - b > 0) {
            grow[ng] = after[i];
            grow[ng++].bytes = after[i].bytes - b;
        }
    }
    /* SLUB merges caches of one object size: a name stands for all of them (here
     * eventpoll_epi also holds tcp_bind_bucket and tcp_bind2_bucket; /sys/kernel/slab). */
    printf("INFO %s %s slab objects per socket, merged caches under one name "
           "(cache:bytes):", workload, opt.impl);
    for (int shown = 0; shown < 8 && ng > 0; shown++) {
        int best = 0;
        for (int i = 1; i < ng; i++)
            if (grow[i].bytes > grow[best].bytes)
                best = i;
        printf(" %s:%lld", grow[best].name, grow[best].bytes / divisor);
        grow[best] = grow[--ng];
    }
    printf("\n");
}

/* ---- workloads ------------------------------------------------------------------------ */

static bool run_w1a(void)
{
    const char *w = "W1a";
    struct server s = {.kind = SERVE_BULK, .bytes = opt.bytes};
    server_start(&s);
    double cpu0 = cpu_seconds();
    uint64_t t0 = now_ns();
    int fd = client_connect(0, false);
    uint64_t sent = 0;
    bool ok = fd >= 0;
    while (ok && sent < opt.bytes) {
        size_t n = opt.bytes - sent < WRITE_SIZE ? (size_t)(opt.bytes - sent) : WRITE_SIZE;
        ok = write_full(fd, bulk_pattern + sent % PATTERN_PERIOD, n);
        sent += n;
    }
    char ack;
    ok = ok && read_full(fd, &ack, 1);
    uint64_t t1 = now_ns();
    if (fd >= 0)
        close(fd);
    server_join(&s);
    if (!ok || s.failures) {
        progress("W1a failed: %llu of %llu bytes sent, receiver failures %ld",
                 (unsigned long long)sent, (unsigned long long)opt.bytes, s.failures);
        return false;
    }
    info_cpu(w, cpu_seconds() - cpu0, t1 - t0);
    result(w, "goodput", (double)opt.bytes * 8 / (double)(t1 - t0), "Gb/s");
    return true;
}

static bool run_w2(const char *w, long n)
{
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    struct server s = {.kind = SERVE_RR_SEQUENTIAL, .count = n};
    if (!lat)
        return false;
    if (!opt.client_only)
        server_start(&s);
    long failures = 0, done = 0;
    uint64_t start = now_ns(), last_report = start;
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        int fd = client_connect(i, false);
        char c = 'q';
        bool ok = fd >= 0 && write_full(fd, &c, 1) && read_full(fd, &c, 1);
        if (fd >= 0)
            close(fd);
        uint64_t t1 = now_ns();
        if (!ok) {
            failures++;
            continue;
        }
        lat[done++] = t1 - t0;
        if (t1 - last_report > 5000000000u) {
            progress("%s: %ld of %ld connections", w, i + 1, n);
            last_report = t1;
        }
    }
    uint64_t end = now_ns();
    if (!opt.client_only) {
        /* The server takes as many as were made; wait for it before reading its failures. */
        while (atomic_load(&s.accepted) < done && now_ns() - end < 5000000000u)
            usleep(1000);
        server_join(&s);
        failures += s.failures;
    }
    result(w, "rate", (double)done / ((double)(end - start) / 1e9), "conn/s");
    result_percentiles(w, lat, (size_t)done);
    result(w, "failures", (double)failures, "conn");
    free(lat);
    if (failures)
        progress("%s: %ld of %ld connections failed", w, failures, n);
    return failures == 0;
}

/* ---- idle connections (W3, W5) -------------------------------------------------------
 * Held by holder threads, each with an fd table of its own holding both ends of up to
 * per_holder connections: RLIMIT_NOFILE bounds each table, not the process, so a million
 * connections fit under a limit that cannot be raised (no CAP_SYS_RESOURCE in a
 * container). Each holder connects and accepts its share, then waits for the client side
 * to close (phase 1), then the server side (phase 2), so the clients end in TIME-WAIT. */

struct holder {
    pthread_t thread;
    long first, count;         /* connection indexes first .. first + count - 1 */
    int *fds;                  /* client end, server end, client end, ... */
    long opened;               /* connections made and accepted */
    atomic_bool ready;         /* opened all it could */
    atomic_int phase;          /* 0 hold, 1 close the client ends, 2 the server ends and end */
    atomic_int closed_phase;   /* the last phase done */
};

struct holders {
    struct holder *h;
    long n;                    /* holders */
};

static void *holder_main(void *arg)
{
    struct holder *h = arg;
    if (unshare(CLONE_FILES) != 0)
        progress("unshare(CLONE_FILES): %s", strerror(errno));
    for (h->opened = 0; h->opened < h->count; h->opened++) {
        int c = client_connect(h->first + h->opened, false);
        int sv = c >= 0 ? server_accept(10000) : -1;
        if (sv < 0) {
            if (c >= 0)
                close(c);
            break;
        }
        h->fds[2 * h->opened] = c;
        h->fds[2 * h->opened + 1] = sv;
    }
    atomic_store(&h->ready, true);
    for (int phase = 1; phase <= 2; phase++) {
        while (atomic_load(&h->phase) < phase)
            usleep(1000);
        for (long i = 0; i < h->opened; i++)
            close(h->fds[2 * i + (phase - 1)]);
        atomic_store(&h->closed_phase, phase);
    }
    return NULL;
}

/* Per holder: both ends of each connection, under the fd limit with room to spare. */
static long holder_capacity(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t lim = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 200000 ? 200000 : rl.rlim_cur;
    return lim > 200 ? (long)(lim - 100) / 2 : 0;
}

/* Opens n idle connections, one holder after another; true when all n were made. */
static bool open_idle(const char *w, struct holders *hs, long n)
{
    long per = holder_capacity();
    if (per <= 0)
        return false;
    hs->n = 0;
    hs->h = calloc((size_t)(n + per - 1) / (size_t)per + 1, sizeof *hs->h);
    if (!hs->h)
        return false;
    long opened = 0;
    uint64_t last = now_ns();
    for (long first = 0; first < n; first += per) {
        struct holder *h = &hs->h[hs->n];
        h->first = first;
        h->count = n - first < per ? n - first : per;
        h->fds = calloc((size_t)h->count * 2, sizeof(int));
        if (!h->fds || pthread_create(&h->thread, NULL, holder_main, h) != 0) {
            free(h->fds);
            break;
        }
        hs->n++;
        while (!atomic_load(&h->ready))
            usleep(1000);
        opened += h->opened;
        if (h->opened < h->count)
            break;
        if (now_ns() - last > 5000000000u) {
            progress("%s: %ld of %ld connections open", w, opened, n);
            last = now_ns();
        }
    }
    if (opened < n)
        progress("%s: %ld of %ld connections established", w, opened, n);
    return opened == n;
}

/* Closes the client ends of every held connection (phase 1) or the server ends and ends
 * the holders (phase 2). */
static void close_idle(struct holders *hs, int phase)
{
    for (long i = 0; i < hs->n; i++)
        atomic_store(&hs->h[i].phase, phase);
    for (long i = 0; i < hs->n; i++)
        while (atomic_load(&hs->h[i].closed_phase) < phase)
            usleep(1000);
    if (phase == 2) {
        for (long i = 0; i < hs->n; i++) {
            pthread_join(hs->h[i].thread, NULL);
            free(hs->h[i].fds);
        }
        free(hs->h);
        hs->h = NULL;
        hs->n = 0;
    }
}

/* Whether memory allows n idle connections (2n kernel sockets of about 4 KiB, and 2 GiB
 * left over); if not, says so as INFO: the workload is not run, which is not a failure. */
static bool memory_enough(const char *w, long n)
{
    long long need_kb = 2LL * n * 5 + 2 * 1024 * 1024;
    long long avail_kb = meminfo_kb("MemAvailable");
    if (avail_kb < need_kb) {
        printf("INFO %s %s not run: %ld connections need about %lld MiB, %lld MiB available\n",
               w, opt.impl, n, need_kb / 1024, avail_kb / 1024);
        return false;
    }
    return true;
}

/* Waits until sockstat's TCP counter reaches target or stops moving (2 s); returns it. */
static long long settle_sockstat(const char *field, long long target)
{
    long long v = sockstat_tcp(field), prev = -1;
    uint64_t still_since = now_ns();
    while (v != target && now_ns() - still_since < 2000000000u) {
        usleep(20000);
        prev = v;
        v = sockstat_tcp(field);
        if (v != prev)
            still_since = now_ns();
    }
    return v;
}

/* W3: memory per idle established connection and, with_tw, per TIME-WAIT one. */
static bool run_w3(const char *w, long n, bool with_tw)
{
    if (!memory_enough(w, n))
        return true;
    static struct slab_cache before[MAX_CACHES], after[MAX_CACHES];
    struct holders hs = {0};
    long long inuse0 = sockstat_tcp("inuse");
    usleep(200000);
    long long base = kernel_socket_memory();
    int nb = slab_snapshot(before);
    bool ok = open_idle(w, &hs, n);
    if (!ok) {
        close_idle(&hs, 1);
        close_idle(&hs, 2);
        return false;
    }
    usleep(200000);
    long long est = kernel_socket_memory();
    int na = slab_snapshot(after);
    long long sockets = sockstat_tcp("inuse") - inuse0;
    printf("INFO %s %s sockets in the client's namespace %lld, Slab+sockstat mem rise %lld B "
           "(per_conn: divided by the 2 sockets of each connection)\n", w, opt.impl, sockets,
           est - base);
    result(w, "per_conn", (double)(est - base) / (double)(2 * n), "B");
    slab_report(w, before, nb, after, na, 2 * n);

    long long tw0 = sockstat_tcp("tw");
    close_idle(&hs, 1);                   /* the client closes first: TIME-WAIT on its side */
    if (with_tw)
        settle_sockstat("tw", -1);        /* its FINs are acknowledged (FIN-WAIT-2) */
    close_idle(&hs, 2);                   /* the server's FINs take the clients to TIME-WAIT */
    if (with_tw) {
        long long tw = settle_sockstat("tw", tw0 + n) - tw0;
        settle_sockstat("inuse", inuse0);
        usleep(1500000);                  /* files and sockets are freed after an RCU period */
        long long now = kernel_socket_memory();
        na = slab_snapshot(after);
        printf("INFO W3-tw %s TIME-WAIT sockets %lld of %ld (net.ipv4.tcp_max_tw_buckets caps "
               "them), rise over the baseline before W3 %lld B\n", opt.impl, tw, n, now - base);
        if (tw <= 0) {
            progress("W3-tw: no TIME-WAIT sockets appeared");
            ok = false;
        } else {
            result("W3-tw", "per_conn", (double)(now - base) / (double)tw, "B");
            slab_report("W3-tw", before, nb, after, na, tw);
        }
    }
    return ok;
}

/* W4 (others == 0) and W5: the ping-pong on one connection, others idle ones open. */
static bool run_pingpong(const char *w, long others, long rounds)
{
    if (!memory_enough(w, others))
        return true;
    struct server s = {.kind = SERVE_PINGPONG};
    struct holders hs = {0};
    uint64_t *lat = calloc((size_t)rounds, sizeof *lat);
    if (!lat)
        return false;
    bool ok = open_idle(w, &hs, others);
    server_start(&s);
    int fd = ok ? client_connect(others, true) : -1;
    ok = fd >= 0;
    uint64_t start = now_ns();
    long done = 0;
    for (; ok && done < rounds; done++) {
        uint64_t t0 = now_ns();
        char c = (char)done;
        ok = write_full(fd, &c, 1) && read_full(fd, &c, 1) && c == (char)done;
        lat[done] = now_ns() - t0;
    }
    uint64_t end = now_ns();
    if (fd >= 0)
        close(fd);
    server_join(&s);
    close_idle(&hs, 1);
    close_idle(&hs, 2);
    if (!ok || s.failures) {
        progress("%s failed after %ld of %ld round trips", w, done, rounds);
    } else {
        if (others > 0)
            printf("INFO %s %s %ld other connections open\n", w, opt.impl, others);
        result(w, "tps", (double)rounds / ((double)(end - start) / 1e9), "trans/s");
        result_percentiles(w, lat, (size_t)rounds);
    }
    free(lat);
    return ok && s.failures == 0;
}

/* Describes the configuration as INFO lines. */
static void print_config(void)
{
    char srv[INET_ADDRSTRLEN], cli[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &opt.server_addr, srv, sizeof srv);
    inet_ntop(AF_INET, &opt.client_base, cli, sizeof cli);
    printf("INFO %s path %s, server %s:%d, clients %s and the next %d addresses\n", opt.impl,
           opt.server_netns ? "veth between two network namespaces" : "loopback", srv, opt.port,
           cli, opt.client_count - 1);
    printf("INFO %s TCP_MAXSEG %d, W1a %llu bytes in writes of %d, W4 %ld round trips, "
           "W5 %ld round trips%s\n", opt.impl, MSS, (unsigned long long)opt.bytes, WRITE_SIZE,
           opt.rounds, opt.w5_rounds, opt.quick ? ", quick (small counts: 200 connections)" : "");
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_congestion_control", "r");
    char line[128];
    if (f && fgets(line, sizeof line, f))
        printf("INFO %s net.ipv4.tcp_congestion_control %s", opt.impl, line);
    if (f)
        fclose(f);
    f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
    if (f && fgets(line, sizeof line, f))
        printf("INFO %s net.ipv4.tcp_wmem %s", opt.impl, line);
    if (f)
        fclose(f);
    f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r");
    if (f && fgets(line, sizeof line, f))
        printf("INFO %s net.ipv4.tcp_rmem %s", opt.impl, line);
    if (f)
        fclose(f);
    fflush(stdout);
}

/* ---- command line --------------------------------------------------------------------- */

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    fprintf(stderr,
        "usage: kernel_bench [--quick] [--impl NAME] [--server-netns NS] [--server-addr A]\n"
        "                    [--client-addr A] [--client-count K] [--bytes N] [--rounds N]\n"
        "                    [--w5-rounds N] [WORKLOAD...]\n"
        "       kernel_bench --client-only [--port P] [--impl NAME] --server-addr A\n"
        "                    [--client-addr A] [--client-count K] [--quick] W2-ID\n"
        "  WORKLOAD: W1a W2-1k W2-20k W2-1M W3-est-10k W3-est-1M W3-tw W4 W5-10 W5-10k W5-1M\n"
        "  default: W1a W2-1k W2-20k W3-tw (with W3-est-10k) W4 W5-10 W5-10k; --quick: 200 conns\n"
        "  Normally run through bench/kernel_netns.sh, which makes the namespaces.\n"
        "  --client-only: only the client side of a W2 workload, against a server that\n"
        "  answers each 1-byte request with 1 byte (bench/tun_bench.sh: synack serve --echo)\n");
    exit(2);
}

static long parse_count(const char *s)
{
    long v = peer_parse_count(s);
    if (v < 0)
        usage();
    return v;
}

static struct in_addr parse_addr(const char *s)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        usage();
    return a;
}

/* Runs one workload by id; -1 if the id is unknown. */
/* Runs one workload by id; -1 if the id is unknown. */
static int run_workload(const char *id)
{
    const struct peer_workload *w = peer_workload(id);
    if (!w)
        return -1;
    long n = peer_count(w, opt.quick);
    switch (w->kind) {
    case PEER_BULK: return run_w1a();
    case PEER_RATE: return run_w2(w->id, n);
    case PEER_IDLE: return run_w3(w->reported_as, n, false);
    case PEER_IDLE_TW: return run_w3(w->reported_as, n, true);
    case PEER_PINGPONG:
        return run_pingpong(w->id, n, n ? opt.w5_rounds : opt.rounds);
    }
    return -1;
}

int main(int argc, char **argv)
{
    opt = (struct options){.impl = "kernel", .client_count = 32, .port = PORT};
    inet_pton(AF_INET, "127.0.0.1", &opt.server_addr);
    inet_pton(AF_INET, "127.0.0.2", &opt.client_base);
    const char *ids[32];
    int nids = 0;
    long long bytes = -1, rounds = -1, w5_rounds = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) opt.quick = true;
        else if (strcmp(a, "--client-only") == 0) opt.client_only = true;
        else if (strcmp(a, "--port") == 0) { opt.port = (int)parse_count(v); i++; }
        else if (strcmp(a, "--impl") == 0 && v) opt.impl = argv[++i];
        else if (strcmp(a, "--server-netns") == 0 && v) opt.server_netns = argv[++i];
        else if (strcmp(a, "--server-addr") == 0) { opt.server_addr = parse_addr(v); i++; }
        else if (strcmp(a, "--client-addr") == 0) { opt.client_base = parse_addr(v); i++; }
        else if (strcmp(a, "--client-count") == 0) { opt.client_count = (int)parse_count(v); i++; }
        else if (strcmp(a, "--bytes") == 0) { bytes = parse_count(v); i++; }
        else if (strcmp(a, "--rounds") == 0) { rounds = parse_count(v); i++; }
        else if (strcmp(a, "--w5-rounds") == 0) { w5_rounds = parse_count(v); i++; }
        else if (a[0] != '-' && nids < 32) ids[nids++] = a;
        else usage();
    }
    if (opt.client_count < 1 || opt.client_count > MAX_CLIENT_ADDRS || opt.port < 1 ||
        opt.port > 65535)
        usage();
    opt.bytes = bytes > 0 ? (uint64_t)bytes : opt.quick ? 64u << 20 : 1u << 30;
    opt.rounds = rounds > 0 ? rounds : opt.quick ? 5000 : 1000000;
    opt.w5_rounds = w5_rounds > 0 ? w5_rounds : opt.quick ? 5000 : 200000;
    if (nids == 0) {
        static const char *quick_ids[] = {"W1a", "W2-1k", "W3-tw", "W4", "W5-10", "W5-10k"};
        static const char *full_ids[] = {"W1a", "W2-1k", "W2-20k", "W3-tw", "W4", "W5-10",
                                         "W5-10k"};
        const char **list = opt.quick ? quick_ids : full_ids;
        nids = opt.quick ? 6 : 7;
        for (int i = 0; i < nids; i++)
            ids[i] = list[i];
    }
    for (int i = 0; i < nids; i++) {
        if (!peer_workload(ids[i])) {
            fprintf(stderr, "kernel_bench: unknown workload '%s'\n", ids[i]);
            usage();
        }
    }
    for (int i = 0; opt.client_only && i < nids; i++) {
        if (peer_workload(ids[i])->kind != PEER_RATE) {
            fprintf(stderr, "kernel_bench: --client-only runs W2 workloads only, not '%s'\n",
                    ids[i]);
            usage();
        }
    }
    make_pattern();
    if (!opt.client_only && !make_listener())
        return 1;
    if (opt.client_only)
        printf("INFO %s kernel_bench --client-only: the kernel's sockets as W2 clients of "
               "%s:%d\n", opt.impl, inet_ntoa(opt.server_addr), opt.port);
    else
        print_config();
    long long inuse_start = sockstat_tcp("inuse"); /* this namespace's open TCP sockets */
    int failed = 0;
    for (int i = 0; i < nids; i++) {
        progress("%s%s", ids[i], opt.quick ? " (quick)" : "");
        if (run_workload(ids[i]) != 1) {
            progress("%s FAILED", ids[i]);
            failed++;
        }
    }
    long long inuse_end = settle_sockstat("inuse", inuse_start);
    if (inuse_end != inuse_start) {
        progress("%lld TCP sockets left open (sockstat inuse %lld, %lld at the start)",
                 inuse_end - inuse_start, inuse_end, inuse_start);
        failed++;
    }
    if (listen_fd >= 0)
        close(listen_fd);
    free((void *)bulk_pattern);
    return failed ? 1 : 0;
}
