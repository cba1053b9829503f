/*
 * synack_blocking.h: a blocking, thread-safe socket API on top of the event-driven stack, so
 * that a program written against BSD sockets ports to synack with little change.
 *
 * Model:
 *   - A runner owns one thread (the "stack thread"), one lock and one driver. The driver is
 *     where packets and time come from: memnet (synack_mnet below) or a TUN device
 *     (src/link/tun.h), or anything that fills in struct synack_driver.
 *   - The stack thread loops: run the driver (deliver arrived packets, run due timers), wake
 *     the application threads whose sockets changed, then sleep in the driver until the next
 *     deadline, a packet, or a wake-up.
 *   - An application thread's call takes the lock, brings the stacks up to the driver's
 *     current time, makes the non-blocking call of synack.h, and, if it would block, waits on
 *     the socket's condition variable (released by the stack thread when the socket's
 *     readiness changes) until it can go on or its timeout expires. Nothing spins.
 *   - Everything that runs stack code (the stack thread and the calls) holds the lock, so
 *     trace observers, links and taps are called one at a time, from whichever thread holds it.
 * Threads: POSIX threads (pthreads). Timeouts are measured on CLOCK_MONOTONIC where the
 * platform allows condition variables on it (Linux, the BSDs), else on the real-time clock.
 *
 * Return convention, as synack.h: >= 0 on success, a negative SYNACK_E* code on failure. The
 * codes are the negated errno values of Linux, so a port can do `errno = -rc`.
 *
 * Differences from BSD sockets: descriptors belong to a stack (struct synack_bstack), not to
 * the process; timeouts are per socket, set with synack_bsetopt(SYNACK_BOPT_RCVTIMEO /
 * SNDTIMEO) in microseconds, SYNACK_BLOCK_FOREVER (the default) to wait for ever and 0 to
 * never wait (non-blocking); close() never blocks (the connection closes gracefully in the
 * background, as without SO_LINGER); there are no signals (a send on a closed connection
 * returns SYNACK_EPIPE) and no EINTR.
 */
#ifndef SYNACK_BLOCKING_H
#define SYNACK_BLOCKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SYNACK_BLOCK_FOREVER UINT64_MAX /* timeout: wait as long as it takes */

/* ---- Drivers ------------------------------------------------------------------------------ */

/* What a runner needs from the network it runs on. Times are microseconds of the driver's
 * clock, which must never go backwards. */
struct synack_driver {
    void *arg;
    /* The driver's clock now. Any thread. */
    uint64_t (*now)(void *arg);
    /* With the runner's lock held: hands every packet that has arrived to its stack, releases
     * what is due, and runs every timer due at now_us. Returns the time it must run again
     * (UINT64_MAX: not before a packet arrives or wake() is called). May be called from any
     * thread that holds the lock. */
    uint64_t (*run)(void *arg, uint64_t now_us);
    /* Without the lock, from the stack thread only: sleeps until deadline_us, until a packet
     * may have arrived, or until wake() is called (a wake() made before the wait starts is not
     * lost). Returns 0, or a negative SYNACK_E* code when the driver failed for good (the
     * runner then stops and reports it). */
    int (*wait)(void *arg, uint64_t deadline_us);
    /* Any thread, lock held or not: makes the current or next wait() return soon. */
    void (*wake)(void *arg);
};

/* ---- Runner ------------------------------------------------------------------------------- */

struct synack_runner; /* a stack thread, its lock and its driver */
struct synack_bstack; /* a stack run by a runner: the handle of the blocking calls */

/* Creates a runner (not started). Returns NULL when drv lacks a function or memory runs
 * out. The driver must outlive the runner. */
struct synack_runner *synack_runner_new(const struct synack_driver *drv);

/* Adds a stack the driver feeds; blocking calls on it go through the returned handle, which
 * lives as long as the runner. Call before synack_runner_start(). The stack stays the
 * caller's (or the driver's) to free, after the runner. Returns NULL on no memory. */
struct synack_bstack *synack_runner_add(struct synack_runner *r, struct synack_stack *s);

/* Starts the stack thread. Returns 0, SYNACK_EINVAL if already started, or SYNACK_ENOMEM if
 * the thread cannot be created. */
int synack_runner_start(struct synack_runner *r);

/* Stops the stack thread and waits for it to end. Threads blocked in calls are woken and
 * get SYNACK_ECONNABORTED, as does any call that would have to wait while the runner is not
 * running (before start, after stop). Safe to call more than once. */
void synack_runner_stop(struct synack_runner *r);

/* Stops the runner if needed and frees it and its bstack handles. NULL is allowed. */
void synack_runner_free(struct synack_runner *r);

/* 0 while running normally; the driver's error after its wait() failed (the runner has then
 * stopped). */
int synack_runner_error(struct synack_runner *r);

/* Takes / releases the runner's lock, to call synack.h functions directly on its stacks
 * (observers, stats, status). Do not call the blocking functions while holding it. The
 * runner consumes the stacks' readiness events (synack_events) to wake waiting threads: an
 * application on a runner learns readiness from synack_bwait() instead. */
void synack_runner_lock(struct synack_runner *r);
void synack_runner_unlock(struct synack_runner *r);

struct synack_stack *synack_bstack_stack(const struct synack_bstack *bs);
struct synack_runner *synack_bstack_runner(const struct synack_bstack *bs);

/* ---- Blocking socket calls ------------------------------------------------------------------ */

/* Blocking-layer options for synack_bsetopt(), beside enum synack_option. */
enum synack_boption {
    SYNACK_BOPT_RCVTIMEO = 100, /* accept and recv wait at most this long (microseconds);
                                   on expiry they return SYNACK_EAGAIN, like SO_RCVTIMEO */
    SYNACK_BOPT_SNDTIMEO,       /* connect and send wait at most this long; on expiry send
                                   returns the bytes queued so far or SYNACK_EAGAIN, and
                                   connect gives up the attempt and returns SYNACK_ETIMEDOUT */
};

/* socket(): a new socket with the default timeouts (for ever). */
int synack_bsocket(struct synack_bstack *bs);

/* bind(), listen(): as synack_bind(), synack_listen(); they never block. */
int synack_bbind(struct synack_bstack *bs, int fd, const struct synack_addr *addr);
int synack_blisten(struct synack_bstack *bs, int fd, int backlog);

/* accept(): waits for an established connection. Returns its descriptor (which inherits the
 * listener's timeouts), SYNACK_EAGAIN on timeout, SYNACK_EBADF if the listener is closed
 * meanwhile, or another error. peer may be NULL. */
int synack_baccept(struct synack_bstack *bs, int fd, struct synack_addr *peer);

/* connect(): sends the SYN and waits until the connection is established (returns 0) or
 * fails: SYNACK_ECONNREFUSED (RST), SYNACK_ETIMEDOUT (the user timeout or SNDTIMEO),
 * SYNACK_ECONNRESET, ... */
int synack_bconnect(struct synack_bstack *bs, int fd, const struct synack_addr *peer);

/* send(): queues all len bytes, waiting for room as needed, and returns len (at most
 * INT_MAX per call). Returns fewer bytes if the timeout expires or the connection fails after
 * some were queued; else SYNACK_EAGAIN (timeout), SYNACK_EPIPE (after shutdown or close by
 * this side), or the connection's error (SYNACK_ECONNRESET, ...). */
int synack_bsend(struct synack_bstack *bs, int fd, const void *buf, size_t len);

/* recv(): waits until data, end-of-file or an error is there. Returns the bytes copied
 * (1..len), 0 at end-of-file, SYNACK_EAGAIN on timeout, or the connection's error. */
int synack_brecv(struct synack_bstack *bs, int fd, void *buf, size_t len);

/* shutdown(), close(), abort (close with RST: SO_LINGER 0): never block. Threads blocked on
 * the descriptor are woken; after close they get SYNACK_EBADF. */
int synack_bshutdown(struct synack_bstack *bs, int fd, int how);
int synack_bclose(struct synack_bstack *bs, int fd);
int synack_babort(struct synack_bstack *bs, int fd);

/* setsockopt(): enum synack_option (synack_setopt) or enum synack_boption. */
int synack_bsetopt(struct synack_bstack *bs, int fd, int option, uint64_t value);

/* poll() on one descriptor: waits until its readiness mask has a bit of mask
 * (SYNACK_READABLE | ...), at most timeout_us (SYNACK_BLOCK_FOREVER: no limit). Returns the
 * mask (> 0) when it does, SYNACK_EAGAIN on timeout, SYNACK_EBADF if fd is or becomes closed. */
int synack_bwait(struct synack_bstack *bs, int fd, int mask, uint64_t timeout_us);

/* getsockname(), getpeername(), and STATUS (RFC 9293 3.10.6); never block. */
int synack_bgetsockname(struct synack_bstack *bs, int fd, struct synack_addr *out);
int synack_bgetpeername(struct synack_bstack *bs, int fd, struct synack_addr *out);
int synack_bstatus(struct synack_bstack *bs, int fd, struct synack_status *out);

/* ---- memnet driver ------------------------------------------------------------------------- */

/* A virtual network (src/link/memnet.h) whose clock runs in step with real time: virtual
 * microsecond t is t real microseconds after synack_mnet_new(). Chosen over "as fast as
 * possible" because application threads run outside the runner's control: virtual time could
 * only jump ahead when every one of them is known to be waiting, and timeouts would stop
 * meaning what they say. A run is therefore not reproducible to the byte (thread scheduling
 * decides when calls happen), but delays, losses and timers behave as on a real network. */
struct synack_mnet;
struct memnet;
struct memnet_path;

/* Creates the network (memnet_new(seed)). NULL on no memory. */
struct synack_mnet *synack_mnet_new(uint64_t seed);

/* Adds a host: a memnet node with cfg->ip and a stack on it, owned by the network. Call
 * before the runner starts. Returns NULL if the address is taken, cfg is invalid or memory
 * runs out. */
struct synack_stack *synack_mnet_add_stack(struct synack_mnet *m, const struct synack_config *cfg);

/* memnet_set_path() through the driver, which must know every path's delay to sleep until
 * the next delivery. Use this, not memnet_set_path() on the network. */
bool synack_mnet_set_path(struct synack_mnet *m, uint32_t from_ip, uint32_t to_ip,
                          const struct memnet_path *path);

/* The underlying network (observers, stats): use it with the runner's lock held. */
struct memnet *synack_mnet_memnet(struct synack_mnet *m);

/* The driver operations for synack_runner_new(). */
struct synack_driver synack_mnet_driver(struct synack_mnet *m);

/* Frees the stacks and the network. Stop the runner first. NULL is allowed. */
void synack_mnet_free(struct synack_mnet *m);

#ifdef __cplusplus
}
#endif

#endif /* SYNACK_BLOCKING_H */
