/*
 * tun.c: the Linux TUN device and its real-time driver (see tun.h). Linux only.
 *
 * Read first: the kernel's Documentation/networking/tuntap.rst (TUNSETIFF, IFF_TUN,
 * IFF_NO_PI, IFF_VNET_HDR, TUNSETOFFLOAD), src/link/vnet.h (the offloads), and
 * include/synack_blocking.h (what a driver must do).
 *
 * The driver's packet paths:
 *   stack --link--> pcap (out) --> fault_out --> write(device), on_wire(OUT)
 *   read(device), on_wire(IN) --> fault_in --> pcap (in) --> on_wire(INPUT_BEGIN),
 *       synack_stack_input(), on_wire(INPUT_END)
 * With offloads (TUN_OPEN_OFFLOAD) there is no fault injection (tun_driver_new refuses it),
 * and each packet carries a virtio-net header: large segments the stack makes go out
 * through the link's send_tso with a GSO header, large ones the kernel sends come in whole
 * with the checksum vouched for (SYNACK_INPUT_CSUM_OK; completed first when a capture is
 * taken, so that it reads clean).
 * run() releases delayed packets, reads up to TUN_BATCH packets, then polls the stack's
 * timers; wait() sleeps in ppoll() on the device and an eventfd (wake()) with a timeout equal
 * to the next deadline, to the microsecond.
 */
#define _GNU_SOURCE /* ppoll(), eventfd() */

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "link/tun.h"

#define TUN_CLONE_PATH "/dev/net/tun" /* the TUN/TAP clone device */

struct tun_dev {
    int fd;                       /* non-blocking, close-on-exec */
    bool created;                 /* created by tun_open(): vanishes on close */
    bool offload;                 /* IFF_VNET_HDR and offloads on */
    char name[TUN_NAME_MAX];
};

/* ---- Clocks ------------------------------------------------------------------------------ */

uint64_t tun_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t tun_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- The device -------------------------------------------------------------------------- */

/* Does an interface of this name exist in this network namespace? */
static bool iface_exists(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    bool found = ioctl(s, SIOCGIFINDEX, &ifr) == 0;
    close(s);
    return found;
}

/* Turns on the offloads of an IFF_VNET_HDR device: little-endian 10-byte headers, checksum
 * offload and TCP/IPv4 segmentation both ways. Returns 0 or a negated errno value. */
static int set_offloads(int fd, const char *name, char *err, size_t errlen)
{
    int le = 1, hdr_len = VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETLE, &le) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 ||
        ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0) {
        int e = errno;
        if (err)
            snprintf(err, errlen, "TUN device '%s': the kernel refused the offloads "
                     "(virtio-net header, checksum, TSO): %s; try --offload off", name,
                     strerror(e));
        return -EOPNOTSUPP;
    }
    return 0;
}

int tun_open(const char *name, unsigned flags, struct tun_dev **out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (out == NULL || name == NULL || name[0] == '\0' || strlen(name) >= TUN_NAME_MAX ||
        strchr(name, '/') != NULL || strchr(name, '%') != NULL) {
        if (err)
            snprintf(err, errlen, "'%s' is not a valid interface name (1 to %d characters, "
                     "no '/' or '%%')", name ? name : "", TUN_NAME_MAX - 1);
        return -EINVAL;
    }
    *out = NULL;
    bool existed = iface_exists(name);

    int fd = open(TUN_CLONE_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (err) {
            if (e == ENOENT || e == ENODEV || e == ENXIO)
                snprintf(err, errlen, "cannot open %s: %s (the TUN driver is missing: load "
                         "it with 'modprobe tun', or create the device node)",
                         TUN_CLONE_PATH, strerror(e));
            else if (e == EACCES || e == EPERM)
                snprintf(err, errlen, "cannot open %s: %s (run as root or with "
                         "CAP_NET_ADMIN, or let this user read and write %s)",
                         TUN_CLONE_PATH, strerror(e), TUN_CLONE_PATH);
            else
                snprintf(err, errlen, "cannot open %s: %s", TUN_CLONE_PATH, strerror(e));
        }
        return -e;
    }

    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI; /* layer 3, no packet information header */
    if (flags & TUN_OPEN_OFFLOAD)
        ifr.ifr_flags |= IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        if (err) {
            if (e == EBUSY)
                snprintf(err, errlen, "TUN device '%s' is in use by another process (name in "
                         "use)", name);
            else if (e == EPERM || e == EACCES)
                snprintf(err, errlen, "no permission to %s TUN device '%s': %s (needs "
                         "CAP_NET_ADMIN, or a persistent device owned by this user: "
                         "'ip tuntap add dev %s mode tun user USER')",
                         existed ? "attach to" : "create", name, strerror(e), name);
            else if (e == EINVAL && existed)
                snprintf(err, errlen, "interface '%s' exists and is not a TUN device (name "
                         "in use)", name);
            else
                snprintf(err, errlen, "cannot %s TUN device '%s': %s",
                         existed ? "attach to" : "create", name, strerror(e));
        }
        return e == EINVAL && existed ? -EBUSY : -e;
    }
    if (flags & TUN_OPEN_OFFLOAD) {
        int rc = set_offloads(fd, name, err, errlen);
        if (rc < 0) {
            close(fd);
            return rc;
        }
    }

    struct tun_dev *d = calloc(1, sizeof *d);
    if (d == NULL) {
        close(fd);
        if (err)
            snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    d->fd = fd;
    d->created = !existed;
    d->offload = (flags & TUN_OPEN_OFFLOAD) != 0;
    snprintf(d->name, sizeof d->name, "%s", ifr.ifr_name);
    *out = d;
    return 0;
}

void tun_close(struct tun_dev *d)
{
    if (d == NULL)
        return;
    close(d->fd);
    free(d);
}

const char *tun_name(const struct tun_dev *d)
{
    return d->name;
}

bool tun_created(const struct tun_dev *d)
{
    return d->created;
}

int tun_fd(const struct tun_dev *d)
{
    return d->fd;
}

bool tun_offload(const struct tun_dev *d)
{
    return d->offload;
}

unsigned tun_mtu(const struct tun_dev *d)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", d->name);
    unsigned mtu = ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0 ? (unsigned)ifr.ifr_mtu : 0;
    close(s);
    return mtu;
}

long tun_read(struct tun_dev *d, struct vnet_hdr *h, uint8_t *buf, size_t cap)
{
    uint8_t hdr[VNET_HDR_LEN];
    struct iovec iov[2] = {{hdr, sizeof hdr}, {buf, cap}};
    int first = d->offload ? 0 : 1; /* the header goes apart: the packet lands in buf */
    memset(h, 0, sizeof *h);
    for (;;) {
        ssize_t n = readv(d->fd, iov + first, 2 - first);
        if (n > 0 && d->offload) {
            if (n <= VNET_HDR_LEN)
                continue; /* not a packet: the kernel always writes a header and a packet */
            vnet_hdr_get(hdr, h);
            return (long)(n - VNET_HDR_LEN);
        }
        if (n > 0)
            return (long)n;
        if (n == 0)
            return 0; /* not expected from a TUN device: treat as nothing waiting */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return errno == ENOMEM || errno == ENOBUFS ? SYNACK_ENOBUFS : SYNACK_EBADF;
    }
}

int tun_write(struct tun_dev *d, const struct vnet_hdr *h, const uint8_t *packet, size_t len)
{
    uint8_t hdr[VNET_HDR_LEN];
    struct vnet_hdr none;
    memset(&none, 0, sizeof none);
    vnet_hdr_put(hdr, h ? h : &none);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)packet, len}};
    int first = d->offload ? 0 : 1;
    size_t want = len + (d->offload ? VNET_HDR_LEN : 0);
    for (;;) {
        ssize_t n = writev(d->fd, iov + first, 2 - first);
        if (n == (ssize_t)want)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
                      errno == ENOMEM))
            return SYNACK_ENOBUFS;
        return n < 0 && errno == EINVAL ? SYNACK_EINVAL : SYNACK_EBADF;
    }
}

/* ---- The driver -------------------------------------------------------------------------- */

struct tun_driver {
    struct tun_driver_cfg cfg;
    struct synack_stack *stack;
    struct fault_dir *out;        /* faults of sent packets; delivers to the device */
    struct fault_dir *in;         /* faults of arrived packets; delivers to the stack */
    int wake_fd;                  /* eventfd: wake() makes it readable */
    uint64_t now_us;              /* the time of the current run() */
    int error;                    /* device failure seen by run(), reported by wait() */
    uint8_t *buf;                 /* read buffer, TUN_PACKET_MAX bytes */
    struct tun_driver_stats stats;
};

/* Writes a packet to the device with its virtio-net header (h; NULL: none), counts it and
 * reports it to on_wire. */
static void write_out(struct tun_driver *td, const struct vnet_hdr *h, const uint8_t *packet,
                      size_t len)
{
    if (tun_write(td->cfg.dev, h, packet, len) < 0) {
        td->stats.write_errors++;
        return;
    }
    td->stats.packets_out++;
    td->stats.bytes_out += len;
    if (td->cfg.on_wire)
        td->cfg.on_wire(td->cfg.wire_arg, TUN_WIRE_OUT, packet, len, td->now_us);
}

/* fault_out delivers here: the packet goes onto the device. */
static void deliver_out(void *arg, const uint8_t *packet, size_t len)
{
    write_out(arg, NULL, packet, len);
}

/* A packet goes to the stack, with SYNACK_INPUT_* flags. */
static void input(struct tun_driver *td, const uint8_t *packet, size_t len, unsigned flags)
{
    if (td->cfg.pcap)
        pcap_write(td->cfg.pcap, tun_realtime_ns(), packet, len);
    if (td->cfg.on_wire)
        td->cfg.on_wire(td->cfg.wire_arg, TUN_WIRE_INPUT_BEGIN, packet, len, td->now_us);
    if (td->stack)
        synack_stack_input_flags(td->stack, packet, len, td->now_us, flags);
    if (td->cfg.on_wire)
        td->cfg.on_wire(td->cfg.wire_arg, TUN_WIRE_INPUT_END, packet, len, td->now_us);
}

/* fault_in delivers here: the packet goes to the stack. */
static void deliver_in(void *arg, const uint8_t *packet, size_t len)
{
    input(arg, packet, len, 0);
}

/* The time of a packet the stack sends: its clock may have moved since run() began. */
static void advance_now(struct tun_driver *td)
{
    uint64_t now = tun_monotonic_us();
    if (now > td->now_us)
        td->now_us = now;
}

/* The stack's link: record, then through the outgoing faults to the device. */
static void link_send(void *arg, const uint8_t *packet, size_t len)
{
    struct tun_driver *td = arg;
    advance_now(td);
    if (td->cfg.pcap)
        pcap_write(td->cfg.pcap, tun_realtime_ns(), packet, len);
    fault_dir_push(td->out, packet, len, td->now_us);
}

/* The stack's link for segments larger than seg_size (offloads only, so no faults): the
 * kernel cuts them (TSO) and completes their partial checksums. A capture records the
 * packet with its checksum completed, as it would be on a wire. */
static void link_send_tso(void *arg, uint8_t *packet, size_t len, uint32_t seg_size)
{
    struct tun_driver *td = arg;
    advance_now(td);
    struct vnet_hdr h;
    if (!vnet_hdr_for_tx(packet, len, seg_size, &h)) {
        td->stats.write_errors++; /* not a TCP/IPv4 packet: the stack never makes one */
        return;
    }
    if (td->cfg.pcap) {
        vnet_csum_complete(packet, len, &h);
        pcap_write(td->cfg.pcap, tun_realtime_ns(), packet, len);
        vnet_hdr_for_tx(packet, len, seg_size, &h); /* partial again, for the kernel */
    }
    if (h.gso_type != VNET_GSO_NONE)
        td->stats.tso_out++;
    write_out(td, &h, packet, len);
}

/* One packet read from a device with offloads: its checksum is vouched for when the header
 * says so (completed first for the capture); a header pointing outside it drops it. */
static void input_offload(struct tun_driver *td, uint8_t *packet, size_t len,
                          const struct vnet_hdr *h)
{
    unsigned flags = 0;
    switch (vnet_rx_csum(h, len)) {
    case VNET_RX_MALFORMED:
        td->stats.vnet_malformed++;
        return;
    case VNET_RX_TRUSTED:
        if (td->cfg.pcap && (h->flags & VNET_F_NEEDS_CSUM))
            vnet_csum_complete(packet, len, h);
        flags = SYNACK_INPUT_CSUM_OK;
        break;
    case VNET_RX_CHECK:
        break;
    }
    if (h->gso_type != VNET_GSO_NONE)
        td->stats.gso_in++;
    input(td, packet, len, flags);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t drv_now(void *arg)
{
    (void)arg;
    return tun_monotonic_us();
}

static uint64_t drv_run(void *arg, uint64_t now_us)
{
    struct tun_driver *td = arg;
    if (now_us > td->now_us)
        td->now_us = now_us;
    fault_dir_release(td->out, td->now_us);
    fault_dir_release(td->in, td->now_us);

    int n = 0;
    while (n < TUN_BATCH && td->error == 0) {
        struct vnet_hdr h;
        long len = tun_read(td->cfg.dev, &h, td->buf, TUN_PACKET_MAX);
        if (len == 0)
            break;
        if (len < 0) {
            if (len != SYNACK_ENOBUFS)
                td->error = (int)len; /* the device is gone: wait() reports it */
            break;
        }
        n++;
        td->stats.packets_in++;
        td->stats.bytes_in += (uint64_t)len;
        if (td->cfg.on_wire)
            td->cfg.on_wire(td->cfg.wire_arg, TUN_WIRE_IN, td->buf, (size_t)len, td->now_us);
        if (tun_offload(td->cfg.dev))
            input_offload(td, td->buf, (size_t)len, &h);
        else
            fault_dir_push(td->in, td->buf, (size_t)len, td->now_us);
    }

    uint64_t next = td->stack ? synack_stack_poll(td->stack, td->now_us) : UINT64_MAX;
    next = min64(next, fault_dir_deadline(td->out));
    next = min64(next, fault_dir_deadline(td->in));
    if (n == TUN_BATCH)
        next = td->now_us; /* more may be waiting: run again before sleeping */
    return next;
}

static int drv_wait(void *arg, uint64_t deadline_us)
{
    struct tun_driver *td = arg;
    if (td->error)
        return td->error;
    struct pollfd pfd[2] = {
        {.fd = tun_fd(td->cfg.dev), .events = POLLIN},
        {.fd = td->wake_fd, .events = POLLIN},
    };
    struct timespec ts, *timeout = NULL;
    if (deadline_us != UINT64_MAX) {
        uint64_t now = tun_monotonic_us();
        uint64_t us = deadline_us > now ? deadline_us - now : 0;
        ts.tv_sec = (time_t)(us / 1000000u);
        ts.tv_nsec = (long)(us % 1000000u) * 1000;
        timeout = &ts;
    }
    int rc = ppoll(pfd, 2, timeout, NULL);
    if (rc < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : SYNACK_EBADF;
    if (pfd[1].revents & POLLIN) {
        uint64_t count;
        ssize_t r = read(td->wake_fd, &count, sizeof count); /* resets the eventfd to 0 */
        (void)r;
    }
    if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
        return SYNACK_EBADF;
    return 0;
}

static void drv_wake(void *arg)
{
    struct tun_driver *td = arg;
    uint64_t one = 1;
    ssize_t r = write(td->wake_fd, &one, sizeof one); /* can only fail when the count is
                                                         huge: then it is readable anyway */
    (void)r;
}

struct tun_driver *tun_driver_new(const struct tun_driver_cfg *cfg, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (cfg == NULL || cfg->dev == NULL) {
        if (err)
            snprintf(err, errlen, "no TUN device");
        return NULL;
    }
    struct tun_driver *td = calloc(1, sizeof *td);
    if (td == NULL) {
        if (err)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    td->cfg = *cfg;
    td->wake_fd = -1;
    td->buf = malloc(TUN_PACKET_MAX);
    td->out = fault_dir_new(&cfg->fault_out, deliver_out, td);
    td->in = fault_dir_new(&cfg->fault_in, deliver_in, td);
    if (td->buf == NULL || td->out == NULL || td->in == NULL) {
        if (err)
            snprintf(err, errlen, "%s", td->buf == NULL ? "out of memory"
                                        : "loss must be a probability in [0, 1]");
        tun_driver_free(td);
        return NULL;
    }
    td->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (td->wake_fd < 0) {
        if (err)
            snprintf(err, errlen, "eventfd: %s", strerror(errno));
        tun_driver_free(td);
        return NULL;
    }
    if (tun_offload(cfg->dev) && (!fault_dir_is_clean(td->out) || !fault_dir_is_clean(td->in))) {
        if (err)
            snprintf(err, errlen, "fault injection (loss, delay) and offloads cannot be "
                     "combined: faults act on packets as on the wire");
        tun_driver_free(td);
        return NULL;
    }
    fault_dir_set_observer(td->out, cfg->observer, cfg->observer_arg);
    fault_dir_set_observer(td->in, cfg->observer, cfg->observer_arg);
    td->now_us = tun_monotonic_us();
    return td;
}

struct synack_link tun_driver_link(struct tun_driver *td)
{
    struct synack_link link = {.arg = td, .send = link_send,
                               .send_tso = tun_offload(td->cfg.dev) ? link_send_tso : NULL};
    return link;
}

uint32_t tun_driver_tso_max(const struct tun_driver *td)
{
    return tun_offload(td->cfg.dev) ? TUN_TSO_MAX : 0;
}

void tun_driver_attach(struct tun_driver *td, struct synack_stack *s)
{
    td->stack = s;
}

struct synack_driver tun_driver_ops(struct tun_driver *td)
{
    struct synack_driver d = {td, drv_now, drv_run, drv_wait, drv_wake};
    return d;
}

void tun_driver_stats(const struct tun_driver *td, struct tun_driver_stats *out)
{
    if (out == NULL)
        return;
    *out = td->stats;
    fault_dir_stats(td->in, &out->fault_in);
    fault_dir_stats(td->out, &out->fault_out);
}

void tun_driver_free(struct tun_driver *td)
{
    if (td == NULL)
        return;
    fault_dir_free(td->out);
    fault_dir_free(td->in);
    if (td->wake_fd >= 0)
        close(td->wake_fd);
    free(td->buf);
    free(td);
}
