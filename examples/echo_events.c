/*
 * echo_events.c: an echo server and a client on the event API (include/synack.h).
 *
 * Two hosts on the virtual network (memnet): a server at 10.0.0.2 that echoes what it
 * receives on port 7, and a client at 10.0.0.1 that sends a message, reads the echo back,
 * checks it and closes. One thread runs everything: memnet_step() moves time to the next
 * event, and between steps each application looks at the readiness events of its stack and
 * makes non-blocking calls (they return SYNACK_EAGAIN instead of waiting).
 *
 * Build: with the project (cmake --build build); run: ./build/example_echo_events
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "link/memnet.h"
#include "synack.h"

#define SERVER_IP 0x0a000002u /* 10.0.0.2 */
#define CLIENT_IP 0x0a000001u /* 10.0.0.1 */
#define ECHO_PORT 7           /* RFC 862 */

static const char message[] = "Hello over the event API!";

/* ---- The server ----------------------------------------------------------------------------- */

struct server {
    struct synack_stack *stack;
    int listener;
    int conn;                 /* the accepted connection, or -1 */
    char buf[512];            /* received, not yet echoed */
    size_t len, off;
    bool closed;
};

/* Called when the server's stack reports readiness changes. */
static void server_step(struct server *s)
{
    if (s->conn < 0) {
        s->conn = synack_accept(s->stack, s->listener, NULL);
        if (s->conn < 0)
            return; /* SYNACK_EAGAIN: nobody yet */
        printf("server: accepted a connection\n");
    }
    while (!s->closed) {
        /* Echo what is pending, then read more. */
        while (s->off < s->len) {
            int n = synack_send(s->stack, s->conn, s->buf + s->off, s->len - s->off);
            if (n < 0)
                return; /* SYNACK_EAGAIN: the send buffer is full, wait for WRITABLE */
            s->off += (size_t)n;
        }
        int n = synack_recv(s->stack, s->conn, s->buf, sizeof s->buf);
        if (n == SYNACK_EAGAIN)
            return; /* wait for READABLE */
        if (n <= 0) {
            /* 0: the client closed (its FIN); < 0: an error. Close our side too. */
            printf("server: the client closed; closing\n");
            synack_close(s->stack, s->conn);
            s->closed = true;
            return;
        }
        s->len = (size_t)n;
        s->off = 0;
    }
}

/* ---- The client ----------------------------------------------------------------------------- */

struct client {
    struct synack_stack *stack;
    int fd;
    size_t sent, got;
    char echo[sizeof message];
    bool done;                /* echo checked and connection closed */
    bool ok;
};

static void client_step(struct client *c)
{
    int mask = synack_readiness(c->stack, c->fd);
    if (mask & SYNACK_ERROR) {
        printf("client: %s\n", synack_strerror(synack_error(c->stack, c->fd)));
        c->done = true;
        return;
    }
    if (!(mask & SYNACK_CONNECTED))
        return; /* the handshake is not over yet */
    while (c->sent < sizeof message - 1) {
        int n = synack_send(c->stack, c->fd, message + c->sent, sizeof message - 1 - c->sent);
        if (n < 0)
            break;
        c->sent += (size_t)n;
    }
    while (c->got < sizeof message - 1) {
        int n = synack_recv(c->stack, c->fd, c->echo + c->got, sizeof message - 1 - c->got);
        if (n <= 0)
            break;
        c->got += (size_t)n;
    }
    if (c->got == sizeof message - 1 && !c->done) {
        c->ok = memcmp(c->echo, message, sizeof message - 1) == 0;
        printf("client: echo %s: \"%.*s\"\n", c->ok ? "matches" : "DIFFERS", (int)c->got,
               c->echo);
        synack_close(c->stack, c->fd); /* FIN; the stack finishes the close by itself */
        c->done = true;
    }
}

/* ---- Wiring: two stacks on memnet ------------------------------------------------------------ */

static void node_input(void *arg, const uint8_t *packet, size_t len, uint64_t now_us)
{
    synack_stack_input(arg, packet, len, now_us);
}

static uint64_t node_poll(void *arg, uint64_t now_us)
{
    return synack_stack_poll(arg, now_us);
}

/* Adds a host with address ip to the network. */
static struct synack_stack *add_host(struct memnet *net, uint32_t ip)
{
    int node = memnet_add_node(net, ip);
    if (node < 0)
        return NULL;
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = ip;
    cfg.msl_us = 1000000; /* TIME-WAIT lasts 2 s of virtual time */
    cfg.isn_key[0] = (uint8_t)ip;
    struct synack_link link = memnet_link(net, node);
    struct synack_stack *s = synack_stack_new(&cfg, &link);
    if (s) {
        struct memnet_node_ops ops = {s, node_input, node_poll};
        memnet_attach(net, node, &ops);
    }
    return s;
}

/* Takes a stack's readiness events; true when there were any. */
static bool had_events(struct synack_stack *s)
{
    struct synack_sock_event ev[16];
    bool any = false;
    int n;
    while ((n = synack_events(s, ev, 16)) > 0)
        any = true;
    return any;
}

int main(void)
{
    struct memnet *net = memnet_new(1);
    struct memnet_path path = {.delay_us = 5000}; /* 5 ms each way */
    struct server srv = {.listener = -1, .conn = -1};
    struct client cli = {.fd = -1};
    srv.stack = add_host(net, SERVER_IP);
    cli.stack = add_host(net, CLIENT_IP);
    if (!net || !srv.stack || !cli.stack) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    memnet_set_path(net, CLIENT_IP, SERVER_IP, &path);
    memnet_set_path(net, SERVER_IP, CLIENT_IP, &path);

    /* Server: socket, bind, listen. */
    struct synack_addr any = {0, ECHO_PORT};
    srv.listener = synack_socket(srv.stack);
    if (synack_bind(srv.stack, srv.listener, &any) < 0 ||
        synack_listen(srv.stack, srv.listener, 8) < 0) {
        fprintf(stderr, "server: cannot listen\n");
        return 1;
    }
    /* Client: socket, connect (returns SYNACK_EINPROGRESS: the SYN is on its way). */
    struct synack_addr server_addr = {SERVER_IP, ECHO_PORT};
    cli.fd = synack_socket(cli.stack);
    if (synack_connect(cli.stack, cli.fd, &server_addr) != SYNACK_EINPROGRESS) {
        fprintf(stderr, "client: cannot connect\n");
        return 1;
    }

    /* The event loop: until both sides are done, and at most 10 s of virtual time. */
    while (!(cli.done && srv.closed) && memnet_step(net, 10000000)) {
        if (had_events(srv.stack))
            server_step(&srv);
        if (had_events(cli.stack))
            client_step(&cli);
    }
    memnet_run_until(net, memnet_now(net) + 3000000); /* let the closes finish */
    struct synack_stats st;
    synack_stack_stats(cli.stack, &st);
    printf("done at %.3f s of virtual time; client connections left: %llu\n",
           (double)memnet_now(net) / 1e6, (unsigned long long)st.conn_current);

    bool ok = cli.ok && srv.closed && st.conn_current == 0;
    synack_stack_free(srv.stack);
    synack_stack_free(cli.stack);
    memnet_free(net);
    return ok ? 0 : 1;
}
