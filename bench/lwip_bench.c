/* bench/lwip_bench.c: lwIP 2.1.3 (Debian's liblwip-dev) as a benchmark peer (issue 6).
 *
 * lwIP's raw API, one thread, both ends in one lwIP instance. Each address lives on a netif
 * of its own (the server's 10.1.0.1, the clients' 10.2.0.1, 10.3.0.1, ...); all leave by a
 * default netif (the wire, 10.254.0.1) whose output copies the packet into a new pbuf (as lwIP's own loopback netif does: TCP keeps the
 * original for retransmission) and queues it; the main loop feeds the queue to ip4_input on
 * the netif owning the destination, and runs lwIP's timers. So each segment takes lwIP's
 * whole output and input path once, and one copy, like its loopback path.
 *
 * Debian builds liblwip with NO_SYS 0 (for the Hurd's socket server) and memory from malloc
 * (MEMP_MEM_MALLOC, MEM_LIBC_MALLOC), TCP_MSS 1460, TCP_WND 65535 with window scaling (shift
 * 1), TCP_SND_BUF 65535, stats off. Those are compiled into the library and cannot be
 * changed here: we use its own lwipopts.h so that our structures match it. The tcpip thread
 * is not started; nothing but this thread enters lwIP, so no lock is needed (lwIP checks
 * its core lock only once the tcpip thread exists). INFO lines give the numbers.
 *
 * Workloads and output: as kernel_bench.c (ids, RESULT lines, --quick). Memory (W3) is the
 * rise of malloc's in-use bytes (mallinfo2) divided by the PCBs: lwIP takes every PCB and
 * pbuf from malloc in this build. lwIP's ephemeral ports are one range for all local
 * addresses (0xc000-0xffff, 16,384), so the clients bind address i mod 32 and a port of
 * their own, as the kernel's clients do (--ephemeral-ports: lwIP's choice, which runs out). TIME-WAIT PCBs stay 2 MSL (lwIP: 2 x 60 s): each
 * workload aborts those it left, so the next one starts from an empty stack.
 *
 * Exit status: 0 when every check passed, 1 when one failed, 2 on bad usage.
 */
#define _GNU_SOURCE
/* lwIP first, and never <netinet/tcp.h>: through lwIP's posix headers it redefines TCP_MSS
 * to 512 (checked below). */
#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "peer_common.h"

_Static_assert(TCP_MSS == 1460, "TCP_MSS must be lwIP's 1460: <netinet/tcp.h> came first");

#define PORT 5201                  /* the server's port */
#define WRITE_SIZE (128 * 1024)    /* W1a application write size, bytes */
#define PATTERN_PERIOD 131071u     /* W1a data repeats every this many bytes (prime) */
#define CLIENT_NETIFS 32           /* client addresses: 10.2.0.1 .. 10.33.0.1 */
#define QUEUE_SIZE 65536           /* packets in flight between the netifs (power of two) */
#define FIRST_PORT 1024            /* client ports: FIRST_PORT .. 65535 on each address */

static struct {
    bool quick;
    bool ephemeral;                /* --ephemeral-ports: clients let lwIP choose their ports */
    uint64_t bytes;                /* W1a bytes */
    long rounds, w5_rounds;        /* W4, W5 round trips */
} opt;

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lwip_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void result(const char *workload, const char *metric, double value, const char *unit)
{
    peer_result(workload, "lwip", metric, value, unit);
}

static void result_percentiles(const char *workload, uint64_t *lat, size_t n)
{
    peer_percentiles(workload, "lwip", lat, n);
}

static void info_cpu(const char *workload, double cpu, uint64_t wall_ns)
{
    peer_info_cpu(workload, "lwip", cpu, wall_ns);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* ---- the link: netifs joined in memory ------------------------------------------------ */

/* The addresses' netifs are up with their link down, so that lwIP's routing never picks one
 * of them (it would loop a packet for its own address back through the tcpip thread,
 * which this build insists on): every packet leaves through the default netif, the wire,
 * whose output hands it to the netif owning the destination. */
static struct netif server_netif, client_netifs[CLIENT_NETIFS], wire_netif;

struct packet {
    struct pbuf *p;
    struct netif *to;
};
static struct packet queue[QUEUE_SIZE];
static size_t queue_head, queue_tail; /* head: next to deliver; tail: next free */
static long queue_drops;

static struct netif *netif_owning(const ip4_addr_t *addr)
{
    if (ip4_addr_cmp(addr, netif_ip4_addr(&server_netif)))
        return &server_netif;
    for (int i = 0; i < CLIENT_NETIFS; i++)
        if (ip4_addr_cmp(addr, netif_ip4_addr(&client_netifs[i])))
            return &client_netifs[i];
    return NULL;
}

/* netif->output: copies the packet (the caller keeps p) and queues it for its owner. */
static err_t link_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
    (void)netif;
    struct netif *to = netif_owning(dst);
    if (!to || queue_tail - queue_head == QUEUE_SIZE) {
        queue_drops++;
        return ERR_OK; /* a lost packet, as on a wire */
    }
    struct pbuf *q = pbuf_alloc(PBUF_RAW, p->tot_len, PBUF_RAM);
    if (!q)
        return ERR_MEM;
    pbuf_copy(q, p);
    queue[queue_tail++ % QUEUE_SIZE] = (struct packet){q, to};
    return ERR_OK;
}

static err_t link_netif_init(struct netif *netif)
{
    netif->output = link_output;
    netif->mtu = 1500;
    netif->flags = netif == &wire_netif ? NETIF_FLAG_LINK_UP : 0;
    return ERR_OK;
}

static void link_add(struct netif *n, int subnet)
{
    ip4_addr_t addr, mask, gw;
    IP4_ADDR(&addr, 10, subnet, 0, 1);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 0, 0, 0, 0);
    netif_add(n, &addr, &mask, &gw, NULL, link_netif_init, ip4_input);
    netif_set_up(n);
}

/* ---- the TUN link (W1b): lwIP on a TUN device, the kernel on the other side ----------- */

static int tun_fd = -1;               /* the device, when --tun is given */
static struct netif tun_netif;        /* lwIP's address on it */
static long tun_write_errors;

/* netif->output on the TUN device: one write of the packet's pieces. */
static err_t tun_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
    (void)netif;
    (void)dst;
    struct iovec iov[16];
    int n = 0;
    for (struct pbuf *q = p; q && n < 16; q = q->next)
        iov[n++] = (struct iovec){q->payload, q->len};
    if (writev(tun_fd, iov, n) < 0)
        tun_write_errors++; /* a lost packet: TCP retransmits it */
    return ERR_OK;
}

static err_t tun_netif_init(struct netif *netif)
{
    netif->output = tun_output;
    netif->mtu = 1500;
    netif->flags = NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

/* Attaches to the TUN device name (made and configured by kernel_netns.sh --path tun). */
static bool tun_open(const char *name, const char *addr)
{
    struct ifreq ifr = {0};
    ip4_addr_t a, mask, gw;
    tun_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (tun_fd < 0 || ioctl(tun_fd, TUNSETIFF, &ifr) != 0 || !ip4addr_aton(addr, &a)) {
        progress("cannot attach to TUN device %s: %s", name, strerror(errno));
        return false;
    }
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 0, 0, 0, 0);
    netif_add(&tun_netif, &a, &mask, &gw, NULL, tun_netif_init, ip4_input);
    netif_set_default(&tun_netif);
    netif_set_up(&tun_netif);
    return true;
}

/* Feeds what the device has to lwIP (read straight into a pbuf: one copy); waits up to
 * 1 ms when it has nothing. */
static void pump_tun(void)
{
    static struct pbuf *spare;
    bool got = false;
    for (int i = 0; i < 64; i++) {
        if (!spare && !(spare = pbuf_alloc(PBUF_RAW, 1500, PBUF_RAM)))
            break;
        ssize_t n = read(tun_fd, spare->payload, 1500);
        if (n <= 0)
            break;
        pbuf_realloc(spare, (u16_t)n);
        tun_netif.input(spare, &tun_netif);
        spare = NULL;
        got = true;
    }
    if (!got) {
        struct pollfd pfd = {.fd = tun_fd, .events = POLLIN};
        poll(&pfd, 1, 1);
    }
    sys_check_timeouts();
}

/* Delivers every queued packet (and those they cause); runs lwIP's timers. */
static void pump(void)
{
    if (tun_fd >= 0) {
        pump_tun();
        return;
    }
    while (queue_head != queue_tail) {
        struct packet pk = queue[queue_head++ % QUEUE_SIZE];
        pk.to->input(pk.p, pk.to);
    }
    sys_check_timeouts();
}

/* ---- connections ---------------------------------------------------------------------- */

/* The state of one benchmark connection end, lwIP's callback argument. */
struct conn {
    struct tcp_pcb *pcb;
    bool established, closed, failed;
    uint64_t received;             /* bytes received (W1a: verified) */
    uint64_t sent;                 /* bytes given to tcp_write */
    uint64_t t0;                   /* W4: when the ping was sent */
    char last;                     /* W4: the byte of the last ping */
};

static const unsigned char *pattern; /* PATTERN_PERIOD + WRITE_SIZE bytes */
static long failures;                /* connections that failed, all workloads */

enum server_mode { ECHO_EACH_BYTE, BULK_SINK, HOLD };
static enum server_mode server_mode;
static uint64_t bulk_bytes;           /* BULK_SINK: bytes to receive before replying */
static struct conn *accepted[1 << 20]; /* server ends, in the order accepted */
static long naccepted;

static void conn_err(void *arg, err_t err)
{
    struct conn *c = arg;
    if (c) {
        c->pcb = NULL; /* lwIP has freed it */
        c->failed = true;
    }
    progress("connection error %d", (int)err);
    failures++;
}

/* Closes c's end; the pcb lives on in lwIP (FIN-WAIT, TIME-WAIT...) without us. */
static void conn_close(struct conn *c)
{
    if (!c->pcb)
        return;
    tcp_arg(c->pcb, NULL);
    tcp_recv(c->pcb, NULL);
    tcp_sent(c->pcb, NULL);
    tcp_err(c->pcb, NULL);
    if (tcp_close(c->pcb) != ERR_OK) {
        tcp_abort(c->pcb);
        failures++;
    }
    c->pcb = NULL;
    c->closed = true;
}

/* Verifies a received chain against the W1a pattern; false on a difference. */
static bool bulk_verify(struct conn *c, struct pbuf *p)
{
    for (struct pbuf *q = p; q; q = q->next) {
        if (memcmp(q->payload, pattern + c->received % PATTERN_PERIOD, q->len) != 0) {
            progress("W1a: received bytes differ near offset %llu",
                     (unsigned long long)c->received);
            return false;
        }
        c->received += q->len;
    }
    return true;
}

static err_t server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct conn *c = arg;
    if (!p || err != ERR_OK) { /* the client closed: close our end too */
        if (p)
            pbuf_free(p);
        conn_close(c);
        return ERR_OK;
    }
    tcp_recved(pcb, p->tot_len);
    if (server_mode == BULK_SINK) {
        bool ok = bulk_verify(c, p);
        if (!ok || c->received > bulk_bytes)
            c->failed = true;
        if (ok && c->received == bulk_bytes)
            tcp_write(pcb, "k", 1, TCP_WRITE_FLAG_COPY);
    } else if (server_mode == ECHO_EACH_BYTE) {
        char buf[64];
        u16_t n = pbuf_copy_partial(p, buf, sizeof buf, 0);
        c->received += n;
        if (tcp_write(pcb, buf, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
            c->failed = true;
    }
    pbuf_free(p);
    return ERR_OK; /* tcp_input sends what we wrote when we return */
}

static err_t server_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    struct conn *c = calloc(1, sizeof *c);
    if (err != ERR_OK || !c || naccepted == (long)(sizeof accepted / sizeof accepted[0])) {
        free(c);
        return ERR_MEM;
    }
    c->pcb = pcb;
    c->established = true;
    accepted[naccepted++] = c;
    tcp_arg(pcb, c);
    tcp_recv(pcb, server_recv);
    tcp_err(pcb, conn_err);
    tcp_nagle_disable(pcb);
    return ERR_OK;
}

/* Frees the server ends' bookkeeping (their pcbs are closed by then). */
static void server_forget(void)
{
    for (long i = 0; i < naccepted; i++) {
        if (accepted[i]->pcb)
            conn_close(accepted[i]);
        free(accepted[i]);
    }
    naccepted = 0;
}

static err_t client_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct conn *c = arg;
    if (!p || err != ERR_OK) {
        if (p)
            pbuf_free(p);
        conn_close(c);
        return ERR_OK;
    }
    tcp_recved(pcb, p->tot_len);
    c->received += p->tot_len;
    c->last = ((char *)p->payload)[0];
    pbuf_free(p);
    return ERR_OK;
}

/* W1a: gives lwIP as much of the current 128 KiB write as its send buffer takes. */
static void bulk_send(struct conn *c)
{
    while (c->pcb && c->sent < opt.bytes) {
        uint64_t write_end = (c->sent / WRITE_SIZE + 1) * WRITE_SIZE;
        if (write_end > opt.bytes)
            write_end = opt.bytes;
        u16_t room = tcp_sndbuf(c->pcb);
        uint64_t n = write_end - c->sent < room ? write_end - c->sent : room;
        if (n == 0 || tcp_write(c->pcb, pattern + c->sent % PATTERN_PERIOD, (u16_t)n,
                                TCP_WRITE_FLAG_COPY) != ERR_OK)
            break;
        c->sent += n;
    }
    if (c->pcb)
        tcp_output(c->pcb);
}

static err_t client_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    (void)len;
    bulk_send(arg);
    return ERR_OK;
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    struct conn *c = arg;
    c->established = err == ERR_OK;
    return ERR_OK;
}

/* Starts the i-th client connection (address i mod 32, port of its own); false on error. */
static ip4_addr_t server_addr;        /* where the clients connect: 10.1.0.1, or the kernel */
static u16_t server_port = PORT;

static bool client_start(struct conn *c, long i, bool nodelay)
{
    memset(c, 0, sizeof *c);
    struct netif *n = tun_fd >= 0 ? &tun_netif : &client_netifs[i % CLIENT_NETIFS];
    u16_t port = opt.ephemeral ? 0 :
                 (u16_t)(FIRST_PORT + (i / CLIENT_NETIFS) % (65536 - FIRST_PORT));
    c->pcb = tcp_new();
    if (!c->pcb)
        return false;
    tcp_arg(c->pcb, c);
    tcp_recv(c->pcb, client_recv);
    tcp_err(c->pcb, conn_err);
    if (nodelay)
        tcp_nagle_disable(c->pcb);
    ip_addr_t server;
    ip_addr_copy_from_ip4(server, server_addr);
    err_t e = tcp_bind(c->pcb, &n->ip_addr, port);
    if (e == ERR_OK)
        e = tcp_connect(c->pcb, &server, server_port, client_connected);
    if (e != ERR_OK) {
        progress("connection #%ld: bind/connect error %d", i, (int)e);
        tcp_err(c->pcb, NULL); /* the caller counts this failure */
        tcp_abort(c->pcb);
        c->pcb = NULL;
        return false;
    }
    return true;
}

static long count_pcbs(struct tcp_pcb *list)
{
    long n = 0;
    for (; list; list = list->next)
        n++;
    return n;
}

/* Ends a workload: aborts the TIME-WAIT pcbs left (lwIP keeps them 2 MSL), then checks that
 * no connection is left and no packet is in flight. */
static bool stack_empty(const char *w)
{
    pump();
    while (tcp_tw_pcbs)
        tcp_abort(tcp_tw_pcbs);
    server_forget();
    long active = count_pcbs(tcp_active_pcbs);
    if (active || queue_head != queue_tail) {
        progress("%s: %ld connections left open, %zu packets in flight", w, active,
                 queue_tail - queue_head);
        return false;
    }
    return true;
}

/* ---- workloads ------------------------------------------------------------------------ */

static bool run_w1a(void)
{
    server_mode = BULK_SINK;
    bulk_bytes = opt.bytes;
    struct conn c;
    double cpu0 = cpu_seconds();
    uint64_t t0 = now_ns();
    bool ok = client_start(&c, 0, false);
    if (ok)
        tcp_sent(c.pcb, client_sent);
    while (ok && !c.established && !c.failed)
        pump();
    bulk_send(&c);
    while (ok && c.received == 0 && !c.failed && !c.closed)
        pump();
    uint64_t t1 = now_ns();
    ok = ok && c.received == 1 && naccepted == 1 && !accepted[0]->failed &&
         accepted[0]->received == opt.bytes;
    if (ok) {
        info_cpu("W1a", cpu_seconds() - cpu0, t1 - t0);
        result("W1a", "goodput", (double)opt.bytes * 8 / (double)(t1 - t0), "Gb/s");
    }
    else
        progress("W1a failed: %llu of %llu bytes sent", (unsigned long long)c.sent,
                 (unsigned long long)opt.bytes);
    conn_close(&c);
    return stack_empty("W1a") && ok;
}

static bool run_w2(const char *w, long n)
{
    server_mode = ECHO_EACH_BYTE;
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    if (!lat)
        return false;
    long failed0 = failures, done = 0;
    uint64_t start = now_ns(), last_report = start;
    for (long i = 0; i < n; i++) {
        struct conn c;
        uint64_t t0 = now_ns();
        bool ok = client_start(&c, i, false);
        while (ok && !c.established && !c.failed)
            pump();
        ok = ok && !c.failed && tcp_write(c.pcb, "q", 1, TCP_WRITE_FLAG_COPY) == ERR_OK &&
             tcp_output(c.pcb) == ERR_OK;
        while (ok && c.received == 0 && !c.failed && !c.closed)
            pump();
        ok = ok && c.received == 1 && c.last == 'q';
        conn_close(&c); /* the client closes first */
        uint64_t t1 = now_ns();
        if (!ok && opt.ephemeral) {
            /* Each further bind would scan every port against every pcb: stop here. */
            printf("INFO %s lwip out of ephemeral ports at connection %ld; the %ld left are "
                   "counted as failed\n", w, i + 1, n - i);
            failures += n - i;
            break;
        }
        if (!ok) {
            failures++;
            continue;
        }
        lat[done++] = t1 - t0;
        if (t1 - last_report > 5000000000u) {
            progress("%s: %ld of %ld connections, %ld TIME-WAIT pcbs", w, i + 1, n,
                     count_pcbs(tcp_tw_pcbs));
            last_report = t1;
        }
    }
    pump();
    uint64_t end = now_ns();
    long tw = count_pcbs(tcp_tw_pcbs);
    bool empty = stack_empty(w);
    long failed = failures - failed0;
    printf("INFO %s lwip %ld TIME-WAIT pcbs at the end\n", w, tw);
    result(w, "rate", (double)done / ((double)(end - start) / 1e9), "conn/s");
    result_percentiles(w, lat, (size_t)done);
    result(w, "failures", (double)failed, "conn");
    free(lat);
    return empty && failed == 0;
}

/* Opens n idle connections (client ends in cs); true when all are established both ways. */
static bool open_idle(const char *w, struct conn *cs, long n)
{
    server_mode = HOLD;
    uint64_t last = now_ns();
    for (long i = 0; i < n; i++) {
        if (!client_start(&cs[i], i, false))
            return false;
        pump();
        if (now_ns() - last > 5000000000u) {
            progress("%s: %ld of %ld connections open", w, i + 1, n);
            last = now_ns();
        }
    }
    pump();
    for (long i = 0; i < n; i++)
        if (!cs[i].established || cs[i].failed)
            return false;
    return naccepted == n;
}

static bool run_w3(const char *w, long n, bool with_tw)
{
    struct conn *cs = calloc((size_t)n, sizeof *cs);
    if (!cs)
        return false;
    size_t base = heap_in_use();
    bool ok = open_idle(w, cs, n);
    size_t est = heap_in_use();
    /* Our own bookkeeping is on the heap too: a struct conn per end; take it off. */
    long long rise = (long long)est - (long long)base - (long long)(n * (long)sizeof(struct conn));
    if (ok) {
        printf("INFO %s lwip pcbs %ld (2 per connection), heap rise %lld B without our "
               "bookkeeping, sizeof(struct tcp_pcb) %zu B\n", w, count_pcbs(tcp_active_pcbs),
               rise, sizeof(struct tcp_pcb));
        result(w, "per_conn", (double)rise / (double)(2 * n), "B");
    } else {
        progress("%s: not all %ld connections were established", w, n);
    }
    for (long i = 0; i < n; i++)
        conn_close(&cs[i]);   /* the client closes first: TIME-WAIT on its side */
    pump();                   /* the server closes on the FIN (server_recv) */
    long tw = count_pcbs(tcp_tw_pcbs);
    if (ok && with_tw) {
        server_forget();      /* the server's ends are gone: only the TIME-WAIT pcbs stay */
        long long tw_rise = (long long)heap_in_use() - (long long)base;
        printf("INFO W3-tw lwip TIME-WAIT pcbs %ld of %ld, heap rise %lld B\n", tw, n, tw_rise);
        if (tw == 0) {
            progress("W3-tw: no TIME-WAIT pcbs");
            ok = false;
        } else {
            result("W3-tw", "per_conn", (double)tw_rise / (double)tw, "B");
        }
    }
    free(cs);
    return stack_empty(w) && ok;
}

/* W4 (others == 0) and W5: 1-byte ping-pong on one connection, others idle ones open. */
static bool run_pingpong(const char *w, long others, long rounds)
{
    struct conn *cs = calloc((size_t)others + 1, sizeof *cs);
    uint64_t *lat = calloc((size_t)rounds, sizeof *lat);
    if (!cs || !lat)
        return false;
    bool ok = open_idle(w, cs, others);
    server_mode = ECHO_EACH_BYTE;
    struct conn *c = &cs[others];
    ok = ok && client_start(c, others, true);
    while (ok && !c->established && !c->failed)
        pump();
    uint64_t start = now_ns();
    long done = 0;
    for (; ok && done < rounds; done++) {
        char ping = (char)('a' + done % 26);
        uint64_t t0 = now_ns();
        uint64_t want = c->received + 1;
        ok = tcp_write(c->pcb, &ping, 1, TCP_WRITE_FLAG_COPY) == ERR_OK &&
             tcp_output(c->pcb) == ERR_OK;
        while (ok && c->received < want && !c->failed && !c->closed)
            pump();
        ok = ok && c->received == want && c->last == ping;
        lat[done] = now_ns() - t0;
    }
    uint64_t end = now_ns();
    if (ok) {
        if (others > 0)
            printf("INFO %s lwip %ld other connections open\n", w, others);
        result(w, "tps", (double)rounds / ((double)(end - start) / 1e9), "trans/s");
        result_percentiles(w, lat, (size_t)rounds);
    } else {
        progress("%s failed after %ld of %ld round trips", w, done, rounds);
    }
    for (long i = 0; i <= others; i++)
        conn_close(&cs[i]);
    free(cs);
    free(lat);
    return stack_empty(w) && ok;
}

/* ---- W1b: lwIP on a TUN device, the kernel's sockets on the other side --------------- */

static struct in_addr kernel_addr;    /* the kernel's address on the TUN device */
static ip4_addr_t lwip_tun_addr;      /* lwIP's */

struct kernel_peer {
    pthread_t thread;
    bool sender;                      /* k2s: the kernel sends; s2k: it receives */
    int listen_fd;                    /* s2k: the kernel's listener */
    atomic_bool done;
    bool ok;
    uint64_t t0, t1;                  /* k2s: connect() to the 1-byte reply */
};

static void kernel_set_mss(int fd)
{
    int mss = TCP_MSS; /* 1460, as <netinet/tcp.h>'s TCP_MAXSEG = 2, spelled here */
    setsockopt(fd, IPPROTO_TCP, 2, &mss, sizeof mss);
}

static bool kernel_send(struct kernel_peer *k)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    sa.sin_addr.s_addr = ip4_addr_get_u32(&lwip_tun_addr);
    if (fd < 0)
        return false;
    kernel_set_mss(fd);
    k->t0 = now_ns();
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    for (uint64_t sent = 0; ok && sent < opt.bytes;) {
        size_t n = opt.bytes - sent < WRITE_SIZE ? (size_t)(opt.bytes - sent) : WRITE_SIZE;
        ssize_t w = write(fd, pattern + sent % PATTERN_PERIOD, n);
        ok = w > 0;
        sent += ok ? (uint64_t)w : 0;
    }
    char c;
    ok = ok && read(fd, &c, 1) == 1;
    k->t1 = now_ns();
    close(fd);
    return ok;
}

static bool kernel_receive(struct kernel_peer *k)
{
    int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    unsigned char *buf = malloc(WRITE_SIZE);
    uint64_t got = 0;
    while (fd >= 0 && buf && got < opt.bytes) {
        ssize_t n = read(fd, buf, WRITE_SIZE);
        if (n <= 0 || memcmp(buf, pattern + got % PATTERN_PERIOD, (size_t)n) != 0)
            break;
        got += (uint64_t)n;
    }
    char c = 'k', eof;
    bool ok = got == opt.bytes && write(fd, &c, 1) == 1 && read(fd, &eof, 1) == 0;
    if (!ok)
        progress("W1b-s2k: the kernel received %llu of %llu bytes as sent",
                 (unsigned long long)got, (unsigned long long)opt.bytes);
    free(buf);
    if (fd >= 0)
        close(fd);
    return ok;
}

static void *kernel_peer_main(void *arg)
{
    struct kernel_peer *k = arg;
    k->ok = k->sender ? kernel_send(k) : kernel_receive(k);
    atomic_store(&k->done, true);
    return NULL;
}

static bool run_w1b(const char *w, bool kernel_sends)
{
    struct kernel_peer k = {.sender = kernel_sends, .listen_fd = -1};
    struct conn c = {0};
    bool ok = true;
    if (!kernel_sends) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT + 1),
                                 .sin_addr = kernel_addr};
        k.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(k.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        kernel_set_mss(k.listen_fd);
        ok = k.listen_fd >= 0 && bind(k.listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
             listen(k.listen_fd, 16) == 0;
    }
    server_mode = BULK_SINK;
    bulk_bytes = opt.bytes;
    if (!ok || pthread_create(&k.thread, NULL, kernel_peer_main, &k) != 0) {
        progress("%s: cannot start the kernel's side: %s", w, strerror(errno));
        return false;
    }
    double cpu0 = cpu_seconds();
    uint64_t t0 = now_ns(), t1 = 0;
    if (!kernel_sends) {
        ok = client_start(&c, 0, false);
        if (ok)
            tcp_sent(c.pcb, client_sent);
        while (ok && !c.established && !c.failed)
            pump();
        bulk_send(&c);
        while (ok && c.received == 0 && !c.failed && !c.closed)
            pump();
        t1 = now_ns();
        ok = ok && c.received == 1;
        conn_close(&c);
    }
    while (!atomic_load(&k.done))
        pump();
    pthread_join(k.thread, NULL);
    for (uint64_t t = now_ns(); now_ns() - t < 300000000u;) /* the closing handshakes */
        pump();
    if (kernel_sends) {
        t0 = k.t0;
        t1 = k.t1;
        ok = naccepted == 1 && !accepted[0]->failed && accepted[0]->received == opt.bytes;
    }
    ok = ok && k.ok;
    if (k.listen_fd >= 0)
        close(k.listen_fd);
    if (ok) {
        info_cpu(w, cpu_seconds() - cpu0, t1 - t0);
        result(w, "goodput", (double)opt.bytes * 8 / (double)(t1 - t0), "Gb/s");
    } else {
        progress("%s failed", w);
    }
    return stack_empty(w) && ok;
}

/* ---- command line --------------------------------------------------------------------- */

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    fprintf(stderr,
        "usage: lwip_bench [--quick] [--bytes N] [--rounds N] [--w5-rounds N]\n"
        "                  [--ephemeral-ports] [WORKLOAD...]\n"
        "       lwip_bench --tun DEV --tun-addr A --kernel-addr A [--quick] [--bytes N]\n"
        "                  [W1b-k2s] [W1b-s2k]\n"
        "  WORKLOAD: W1a W2-1k W2-20k W2-1M W3-est-10k W3-est-1M W3-tw W4 W5-10 W5-10k W5-1M\n"
        "  default: W1a W2-1k W2-20k W3-tw (with W3-est-10k) W4 W5-10 W5-10k; --quick: 200 conns\n"
        "  --ephemeral-ports: clients bind port 0 (lwIP's one range of 16,384 ports for all\n"
        "  addresses, held 2 MSL in TIME-WAIT) instead of address i mod 32 and a port of\n"
        "  their own\n"
        "  --tun: lwIP on TUN device DEV (address A), the kernel's sockets on the other side\n"
        "  (kernel_netns.sh --path tun makes the device in a namespace and passes these)\n");
    exit(2);
}

static long parse_count(const char *s)
{
    long v = peer_parse_count(s);
    if (v < 0)
        usage();
    return v;
}

static void print_config(void)
{
    if (tun_fd >= 0)
        printf("INFO lwip version %s (Debian liblwip-dev), raw API, one thread, on a TUN "
               "device (no offloads), the kernel's sockets as peer in a second thread\n",
               LWIP_VERSION_STRING);
    else
        printf("INFO lwip version %s (Debian liblwip-dev), raw API, one thread, netifs joined "
               "in memory, one copy per packet\n", LWIP_VERSION_STRING);
    printf("INFO lwip NO_SYS %d TCP_MSS %d TCP_WND %d LWIP_WND_SCALE %d TCP_RCV_SCALE %d "
           "TCP_SND_BUF %d TCP_SND_QUEUELEN %d MEMP_MEM_MALLOC %d MEM_LIBC_MALLOC %d "
           "LWIP_CHECKSUM_ON_COPY %d LWIP_NETIF_TX_SINGLE_PBUF %d LWIP_TCP_TIMESTAMPS %d "
           "LWIP_TCP_SACK_OUT %d TCP_MSL %d ms\n",
           NO_SYS, TCP_MSS, TCP_WND, LWIP_WND_SCALE, TCP_RCV_SCALE, TCP_SND_BUF,
           TCP_SND_QUEUELEN, MEMP_MEM_MALLOC, MEM_LIBC_MALLOC, LWIP_CHECKSUM_ON_COPY,
           LWIP_NETIF_TX_SINGLE_PBUF, LWIP_TCP_TIMESTAMPS, LWIP_TCP_SACK_OUT, (int)TCP_MSL);
    if (tun_fd >= 0)
        printf("INFO lwip W1b %llu bytes in writes of %d (lwIP: as much as tcp_sndbuf takes)\n",
               (unsigned long long)opt.bytes, WRITE_SIZE);
    else
        printf("INFO lwip W1a %llu bytes in writes of %d (lwIP: as much as tcp_sndbuf takes), "
               "W4 %ld round trips, W5 %ld round trips%s\n", (unsigned long long)opt.bytes,
               WRITE_SIZE, opt.rounds, opt.w5_rounds,
               opt.quick ? ", quick (small counts: 200 connections)" : "");
    printf("INFO lwip client ports: %s\n", opt.ephemeral ?
           "lwIP's ephemeral range (16,384 for all addresses)" :
           "bound by the client, 32 addresses x 64,512 ports");
    fflush(stdout);
}

/* Runs one workload by id; -1 if the id is unknown. */
static int run_workload(const char *id)
{
    if (strcmp(id, "W1b-k2s") == 0 || strcmp(id, "W1b-s2k") == 0) {
        if (tun_fd < 0) {
            fprintf(stderr, "lwip_bench: %s needs --tun (run it through kernel_netns.sh "
                    "--path tun)\n", id);
            usage();
        }
        return run_w1b(id, strcmp(id, "W1b-k2s") == 0);
    }
    const struct peer_workload *w = peer_workload(id);
    if (!w)
        return -1;
    if (tun_fd >= 0) {
        fprintf(stderr, "lwip_bench: with --tun only W1b-k2s and W1b-s2k run\n");
        usage();
    }
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
    const char *ids[32];
    int nids = 0;
    long long bytes = -1, rounds = -1, w5_rounds = -1;
    const char *tun = NULL, *tun_addr = NULL, *kaddr = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) opt.quick = true;
        else if (strcmp(a, "--ephemeral-ports") == 0) opt.ephemeral = true;
        else if (strcmp(a, "--tun") == 0 && v) tun = argv[++i];
        else if (strcmp(a, "--tun-addr") == 0 && v) tun_addr = argv[++i];
        else if (strcmp(a, "--kernel-addr") == 0 && v) kaddr = argv[++i];
        else if (strcmp(a, "--bytes") == 0) { bytes = parse_count(v); i++; }
        else if (strcmp(a, "--rounds") == 0) { rounds = parse_count(v); i++; }
        else if (strcmp(a, "--w5-rounds") == 0) { w5_rounds = parse_count(v); i++; }
        else if (a[0] != '-' && nids < 32) ids[nids++] = a;
        else usage();
    }
    opt.bytes = bytes > 0 ? (uint64_t)bytes : opt.quick ? 64u << 20 : 1u << 30;
    opt.rounds = rounds > 0 ? rounds : opt.quick ? 5000 : 1000000;
    opt.w5_rounds = w5_rounds > 0 ? w5_rounds : opt.quick ? 5000 : 200000;
    if (tun && (!tun_addr || !kaddr || inet_pton(AF_INET, kaddr, &kernel_addr) != 1 ||
                !ip4addr_aton(tun_addr, &lwip_tun_addr)))
        usage();
    if (tun && nids == 0) {
        ids[nids++] = "W1b-k2s";
        ids[nids++] = "W1b-s2k";
    }
    if (nids == 0) {
        static const char *quick_ids[] = {"W1a", "W2-1k", "W3-tw", "W4", "W5-10", "W5-10k"};
        static const char *full_ids[] = {"W1a", "W2-1k", "W2-20k", "W3-tw", "W4", "W5-10",
                                         "W5-10k"};
        nids = opt.quick ? 6 : 7;
        for (int i = 0; i < nids; i++)
            ids[i] = opt.quick ? quick_ids[i] : full_ids[i];
    }

    for (int i = 0; i < nids; i++) {
        if (!peer_workload(ids[i]) && strcmp(ids[i], "W1b-k2s") != 0 &&
            strcmp(ids[i], "W1b-s2k") != 0) {
            fprintf(stderr, "lwip_bench: unknown workload '%s'\n", ids[i]);
            usage();
        }
    }
    unsigned char *pat = malloc(PATTERN_PERIOD + WRITE_SIZE);
    if (!pat)
        return 1;
    for (size_t i = 0; i < PATTERN_PERIOD + WRITE_SIZE; i++)
        pat[i] = (unsigned char)(((i % PATTERN_PERIOD) * 2654435761u) >> 13);
    pattern = pat;

    lwip_init();
    ip_addr_t any;
    if (tun) {
        if (!tun_open(tun, tun_addr))
            return 1;
        ip4_addr_set_u32(&server_addr, kernel_addr.s_addr);
        server_port = PORT + 1;
        ip_addr_copy_from_ip4(any, lwip_tun_addr);
    } else {
        link_add(&wire_netif, 254);
        netif_set_default(&wire_netif);
        link_add(&server_netif, 1);
        for (int i = 0; i < CLIENT_NETIFS; i++)
            link_add(&client_netifs[i], 2 + i);
        server_addr = *netif_ip4_addr(&server_netif);
        ip_addr_copy_from_ip4(any, server_addr);
    }
    struct tcp_pcb *listener = tcp_new();
    if (!listener || tcp_bind(listener, &any, PORT) != ERR_OK ||
        !(listener = tcp_listen(listener))) {
        progress("cannot listen");
        return 1;
    }
    tcp_accept(listener, server_accept);
    print_config();

    int failed = 0;
    for (int i = 0; i < nids; i++) {
        progress("%s%s", ids[i], opt.quick ? " (quick)" : "");
        int r = run_workload(ids[i]);
        if (r == -1) {
            fprintf(stderr, "lwip_bench: unknown workload '%s'\n", ids[i]);
            usage();
        }
        if (r != 1) {
            progress("%s FAILED", ids[i]);
            failed++;
        }
    }
    tcp_close(listener);
    if (queue_drops)
        progress("%ld packets dropped (queue full or no owner)", queue_drops);
    if (tun_write_errors)
        printf("INFO lwip %ld writes to the TUN device failed (lost packets)\n",
               tun_write_errors);
    free(pat);
    if (tun_fd >= 0)
        close(tun_fd);
    return failed || queue_drops ? 1 : 0;
}
