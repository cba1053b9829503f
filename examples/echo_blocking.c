/*
 * echo_blocking.c: an echo server and clients on the blocking API
 * (include/synack_blocking.h), written as one writes them with BSD sockets.
 *
 * Two hosts on the virtual network (memnet), run by a stack thread in step with real time:
 * a server at 10.0.0.2 that accepts connections on port 7 and echoes each in a thread of its
 * own, and three client threads at 10.0.0.1 that each send a message, read the echo, check
 * it and close. Calls block (on condition variables, never spinning) until they can go on.
 *
 * Build: with the project (cmake --build build); run: ./build/example_echo_blocking
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "link/memnet.h"
#include "synack.h"
#include "synack_blocking.h"

#define SERVER_IP 0x0a000002u /* 10.0.0.2 */
#define CLIENT_IP 0x0a000001u /* 10.0.0.1 */
#define ECHO_PORT 7
#define CLIENTS 3

static struct synack_bstack *server_host, *client_host;

/* ---- The server ------------------------------------------------------------------------------ */

/* Echoes one connection until the client closes, then closes. */
static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[1024];
    int n;
    while ((n = synack_brecv(server_host, fd, buf, sizeof buf)) > 0) /* 0: the client's FIN */
        if (synack_bsend(server_host, fd, buf, (size_t)n) != n)
            break;
    synack_bclose(server_host, fd);
    return NULL;
}

/* Accepts CLIENTS connections, a thread each. */
static void *server_main(void *arg)
{
    int listener = (int)(intptr_t)arg;
    pthread_t threads[CLIENTS];
    int n = 0;
    while (n < CLIENTS) {
        struct synack_addr peer;
        int fd = synack_baccept(server_host, listener, &peer);
        if (fd < 0) {
            printf("server: accept: %s\n", synack_strerror(fd));
            break;
        }
        printf("server: connection from port %u\n", (unsigned)peer.port);
        pthread_create(&threads[n++], NULL, serve_one, (void *)(intptr_t)fd);
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    synack_bclose(server_host, listener);
    return NULL;
}

/* ---- A client -------------------------------------------------------------------------------- */

static void *client_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    char msg[64], echo[64];
    int len = snprintf(msg, sizeof msg, "hello from client %d", id);

    int fd = synack_bsocket(client_host);
    struct synack_addr server = {SERVER_IP, ECHO_PORT};
    int rc = synack_bconnect(client_host, fd, &server); /* blocks for the handshake */
    if (rc < 0) {
        printf("client %d: connect: %s\n", id, synack_strerror(rc));
        return (void *)1;
    }
    synack_bsend(client_host, fd, msg, (size_t)len);
    synack_bshutdown(client_host, fd, SYNACK_SHUT_WR); /* "no more from me": FIN */
    int got = 0, n;
    while ((n = synack_brecv(client_host, fd, echo + got, sizeof echo - 1 - (size_t)got)) > 0)
        got += n;
    echo[got] = '\0';
    synack_bclose(client_host, fd);
    bool ok = got == len && memcmp(echo, msg, (size_t)len) == 0;
    printf("client %d: echo %s: \"%s\"\n", id, ok ? "matches" : "DIFFERS", echo);
    return ok ? NULL : (void *)1;
}

/* ---- Wiring ---------------------------------------------------------------------------------- */

int main(void)
{
    /* The network and its two hosts; the runner's thread moves packets and time. */
    struct synack_mnet *net = synack_mnet_new(1);
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.ip = SERVER_IP;
    struct synack_stack *server_stack = net ? synack_mnet_add_stack(net, &cfg) : NULL;
    cfg.ip = CLIENT_IP;
    cfg.isn_key[0] = 1;
    struct synack_stack *client_stack = net ? synack_mnet_add_stack(net, &cfg) : NULL;
    struct memnet_path path = {.delay_us = 2000}; /* 2 ms each way */
    synack_mnet_set_path(net, CLIENT_IP, SERVER_IP, &path);
    synack_mnet_set_path(net, SERVER_IP, CLIENT_IP, &path);
    struct synack_driver driver = synack_mnet_driver(net);
    struct synack_runner *runner = synack_runner_new(&driver);
    if (!server_stack || !client_stack || !runner) {
        fprintf(stderr, "cannot set up the network\n");
        return 1;
    }
    server_host = synack_runner_add(runner, server_stack);
    client_host = synack_runner_add(runner, client_stack);
    synack_runner_start(runner);

    /* The server: socket, bind, listen, then accept in a thread. */
    int listener = synack_bsocket(server_host);
    struct synack_addr any = {0, ECHO_PORT};
    if (synack_bbind(server_host, listener, &any) < 0 ||
        synack_blisten(server_host, listener, 8) < 0) {
        fprintf(stderr, "server: cannot listen\n");
        return 1;
    }
    pthread_t server, clients[CLIENTS];
    pthread_create(&server, NULL, server_main, (void *)(intptr_t)listener);
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&clients[i], NULL, client_main, (void *)(intptr_t)(i + 1));

    int failures = 0;
    for (int i = 0; i < CLIENTS; i++) {
        void *result;
        pthread_join(clients[i], &result);
        failures += result != NULL;
    }
    pthread_join(server, NULL);
    synack_runner_free(runner); /* stops the stack thread */
    synack_mnet_free(net);
    printf("%d of %d clients got their echo\n", CLIENTS - failures, CLIENTS);
    return failures == 0 ? 0 : 1;
}
