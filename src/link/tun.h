/*
 * tun.h: a Linux TUN device as synack's link to real TCP peers (the kernel, curl, nc, ...).
 * Linux only: src/link/tun*.c is compiled only on Linux.
 *
 * A TUN device (IFF_TUN | IFF_NO_PI) carries bare IP packets between a file descriptor and
 * the kernel's network stack: what synack writes, the kernel receives from the interface;
 * what the kernel routes to the interface, synack reads. synack's stack has its own address
 * on that link; the kernel side's address and route are the user's to set (`ip addr add`,
 * `ip link set up`), usually in a network namespace. tun_open() changes nothing on the host
 * beyond attaching to the device, or creating it when it does not exist (a device created
 * this way is not persistent: the kernel removes it when synack closes it or exits).
 *
 * Two parts:
 *   - the device: open, read, write, close;
 *   - the driver: the real-time event loop around one stack, as a struct synack_driver
 *     (include/synack_blocking.h) - a monotonic clock, a wait on the device with a timeout
 *     equal to the next deadline, batched reads - plus the taps a link can have: fault
 *     injection (src/link/fault.h) in each direction, a pcap capture (src/link/pcap.h), and
 *     a hook that sees every packet as it crosses the device (tracing).
 * The driver runs in the blocking API's stack thread (synack_runner), or in a
 * single-threaded loop of the caller: for (;;) { next = run(now()); ...; wait(next); }.
 */
#ifndef SYNACK_TUN_H
#define SYNACK_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/fault.h"
#include "link/pcap.h"
#include "link/vnet.h"
#include "synack.h"
#include "synack_blocking.h"

#define TUN_NAME_MAX 16        /* interface name buffer, bytes with the NUL (IFNAMSIZ) */
#define TUN_PACKET_MAX 65535   /* largest packet read or written, bytes */
#define TUN_BATCH 64           /* packets read per run of the driver before polling timers */
#define TUN_ERR_MAX 256        /* room for an error message, bytes */
#define TUN_TSO_MAX 65535      /* tso_max for a stack on a device with offloads: the kernel
                                  takes TCP segments up to the largest IPv4 packet */

/* tun_open() flags. */
#define TUN_OPEN_OFFLOAD 0x1   /* IFF_VNET_HDR with TUN_F_CSUM | TUN_F_TSO4: every packet has
                                  a virtio-net header (src/link/vnet.h); the kernel hands over
                                  large TCP segments (GSO) with partial checksums and takes
                                  large ones to cut (TSO) */

/* ---- The device -------------------------------------------------------------------------- */

struct tun_dev;

/* Opens the TUN device called name: attaches to it when it exists (it must be a TUN device
 * not in use by another process), else creates it; with TUN_OPEN_OFFLOAD in flags, with
 * offloads on. Sets nothing else on the host. Returns 0 and *out, or a negated errno value
 * with a message for a person in err (errlen bytes): -ENOENT no /dev/net/tun, -EPERM or
 * -EACCES no permission (CAP_NET_ADMIN), -EBUSY name in use (by another process, or by an
 * interface that is not a TUN device), -EINVAL a name that is empty, too long or has '/' or
 * '%', -EOPNOTSUPP the kernel refused the offloads. */
int tun_open(const char *name, unsigned flags, struct tun_dev **out, char *err, size_t errlen);

/* Closes the device. One that tun_open() created disappears from the host. NULL allowed. */
void tun_close(struct tun_dev *d);

const char *tun_name(const struct tun_dev *d); /* the interface name */
bool tun_created(const struct tun_dev *d);     /* tun_open() created it */
int tun_fd(const struct tun_dev *d);           /* the non-blocking file descriptor */
bool tun_offload(const struct tun_dev *d);     /* opened with TUN_OPEN_OFFLOAD */

/* The interface's MTU in bytes (the kernel's view), or 0 if it cannot be read. */
unsigned tun_mtu(const struct tun_dev *d);

/* Reads one packet into buf (cap bytes) and, with offloads, its virtio-net header into *h
 * (all zero without). Returns the packet's length (> 0), 0 when none is waiting, or a
 * negative SYNACK_E* code when the device failed. */
long tun_read(struct tun_dev *d, struct vnet_hdr *h, uint8_t *buf, size_t cap);

/* Writes one packet, with offloads preceded by the virtio-net header h (NULL: all zero, the
 * packet as it is). Returns 0, or a negative SYNACK_E* code (the packet is then lost). */
int tun_write(struct tun_dev *d, const struct vnet_hdr *h, const uint8_t *packet, size_t len);

/* ---- Clocks ------------------------------------------------------------------------------ */

uint64_t tun_monotonic_us(void); /* CLOCK_MONOTONIC, microseconds: the stack's clock */
uint64_t tun_realtime_ns(void);  /* CLOCK_REALTIME, nanoseconds: pcap timestamps */

/* ---- The driver -------------------------------------------------------------------------- */

/* What tun_driver_cfg.on_wire is told about a packet. */
#define TUN_WIRE_OUT 0         /* written to the device: sent by the stack, past the fault
                                  injection */
#define TUN_WIRE_IN 1          /* read from the device, before the fault injection */
#define TUN_WIRE_INPUT_BEGIN 2 /* about to be handed to the stack (past fault injection) */
#define TUN_WIRE_INPUT_END 3   /* the stack has processed it (what it sent meanwhile was
                                  reported as TUN_WIRE_OUT in between) */

struct tun_driver_cfg {
    struct tun_dev *dev;          /* the device; not owned */
    struct fault_cfg fault_out;   /* faults on packets the stack sends ({0}: none) */
    struct fault_cfg fault_in;    /* faults on packets that arrive ({0}: none) */
    struct pcap_writer *pcap;     /* records what the stack sends (before fault_out) and what
                                     it receives (after fault_in), or NULL; not owned */
    synack_observer_fn observer;  /* receives the faults' SYNACK_EV_LINK events, or NULL */
    void *observer_arg;
    /* Sees each packet crossing the device and entering the stack (what: TUN_WIRE_*), or
     * NULL. */
    void (*on_wire)(void *arg, int what, const uint8_t *packet, size_t len, uint64_t now_us);
    void *wire_arg;
};

/* Counters of a driver. */
struct tun_driver_stats {
    uint64_t packets_in, packets_out;  /* packets read from / written to the device */
    uint64_t bytes_in, bytes_out;
    uint64_t write_errors;             /* writes the device refused (packet lost) */
    uint64_t tso_out;                  /* packets written for the kernel to cut (TSO) */
    uint64_t gso_in;                   /* packets read that the kernel left uncut (GSO) */
    uint64_t vnet_malformed;           /* packets read with a bad virtio-net header
                                          (dropped) */
    struct fault_stats fault_in, fault_out;
};

struct tun_driver;

/* Creates a driver for cfg->dev. Returns NULL with a message in err when cfg is invalid
 * (no device, loss outside [0, 1], fault injection on a device with offloads: faults apply
 * to packets as on the wire, and the device's packets are not) or resources run out. */
struct tun_driver *tun_driver_new(const struct tun_driver_cfg *cfg, char *err, size_t errlen);

/* The link the stack must be created with (synack_stack_new); with offloads it has
 * send_tso, and the stack may be configured with tso_max = tun_driver_tso_max(). */
struct synack_link tun_driver_link(struct tun_driver *td);

/* TUN_TSO_MAX on a device with offloads, else 0. */
uint32_t tun_driver_tso_max(const struct tun_driver *td);

/* Sets the stack that gets the device's packets. Call once, before running. */
void tun_driver_attach(struct tun_driver *td, struct synack_stack *s);

/* The driver operations (clock, run, wait, wake) for synack_runner_new() or a loop. */
struct synack_driver tun_driver_ops(struct tun_driver *td);

void tun_driver_stats(const struct tun_driver *td, struct tun_driver_stats *out);

/* Frees the driver (not the device, stack or pcap writer). Packets held back for delay are
 * dropped. NULL is allowed. */
void tun_driver_free(struct tun_driver *td);

#endif /* SYNACK_TUN_H */
