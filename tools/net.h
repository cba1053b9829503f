/*
 * net.h: the `synack serve` and `synack connect` commands: synack on a Linux TUN device,
 * talking to real TCP peers (the kernel, curl, nc, Python sockets). See docs/interop.md.
 */
#ifndef SYNACK_TOOLS_NET_H
#define SYNACK_TOOLS_NET_H

/* `synack serve --tun NAME --addr A.B.C.D/N --port P [--echo | --discard | --http] ...`:
 * a server on synack. argv[0] is "synack", argv[1] "serve". Returns the exit status: 0 after a
 * clean shutdown (Ctrl-C), 1 on a runtime failure (the reason is printed), 2 on bad usage. */
int synack_cmd_serve(int argc, char **argv);

/* `synack connect --tun NAME --addr A.B.C.D/N HOST PORT [--send FILE] [--recv FILE] ...`: a
 * client on synack, like nc. argv[1] is "connect". Returns 0 when the connection carried
 * everything and closed cleanly, 1 on a failure (refused, reset, timeout, I/O), 2 on bad
 * usage. */
int synack_cmd_connect(int argc, char **argv);

#endif /* SYNACK_TOOLS_NET_H */
