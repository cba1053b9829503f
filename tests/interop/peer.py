#!/usr/bin/env python3
"""peer.py: the kernel's side of the interop tests, on plain Python sockets.

Every command prints one line of results ("key=value ...") on stdout and exits 0 when what it
checked holds, 1 otherwise (with the reason on stderr).

  echo-client HOST PORT MIB [--timeout S] [--deadline S]
      sends MIB mebibytes of random data to an echo server while reading the echo in a
      second thread; checks that the echo is the data (SHA-256) and that it ends with EOF.
      With --deadline, gives up after S seconds in all, printing how far it got (exit 3).
  server HOST PORT SEND_MIB RECV_FILE [--ready FILE] [--timeout S]
      accepts one connection; writes what it receives (until EOF) to RECV_FILE while sending
      SEND_MIB mebibytes of random data; then closes. Prints the SHA-256 of what it sent.
  close-client HOST PORT [--timeout S]
      connects, sends one line, reads the echo, then closes first (FIN), and waits for the
      peer's FIN (EOF).
  close-server HOST PORT [--ready FILE] [--go FILE] [--timeout S]
      accepts one connection, reads until EOF (the peer closes first) - or, with --go, waits
      until FILE exists and then closes at once - then closes; reads until EOF.
  connect HOST PORT [--timeout S]
      connects and prints result=connected, result=refused or result=error:...
"""
import hashlib
import os
import socket
import sys
import threading
import time

CHUNK = 65536


def arg_opt(args, name, default=None):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return default


def ready(path):
    if path:
        with open(path + ".tmp", "w") as f:
            f.write("ready\n")
        os.rename(path + ".tmp", path)


def echo_client(host, port, mib, timeout, deadline):
    size = mib * 1048576
    data = os.urandom(size)
    want = hashlib.sha256(data).hexdigest()
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    got = hashlib.sha256()
    received = [0]
    sent = [0]
    errors = []
    start = time.monotonic()

    if deadline:
        def watchdog():
            time.sleep(deadline)
            print("deadline=%.0f sent=%d received=%d of %d ok=0" %
                  (deadline, sent[0], received[0], size), flush=True)
            os._exit(3)
        threading.Thread(target=watchdog, daemon=True).start()

    def reader():
        try:
            while True:
                b = s.recv(CHUNK)
                if not b:
                    return
                got.update(b)
                received[0] += len(b)
        except Exception as e:  # reported below
            errors.append("recv: %r" % (e,))

    t = threading.Thread(target=reader)
    t.start()
    try:
        view = memoryview(data)
        for off in range(0, size, CHUNK):
            s.sendall(view[off:off + CHUNK])
            sent[0] = off + len(view[off:off + CHUNK])
        s.shutdown(socket.SHUT_WR)
    except Exception as e:
        errors.append("send: %r" % (e,))
    t.join(timeout)
    elapsed = time.monotonic() - start
    s.close()
    ok = not errors and not t.is_alive() and received[0] == size and got.hexdigest() == want
    print("sent=%d received=%d seconds=%.3f sha_sent=%s sha_received=%s ok=%d" %
          (size, received[0], elapsed, want, got.hexdigest(), ok))
    if errors:
        print("; ".join(errors), file=sys.stderr)
    return 0 if ok else 1


def listen(host, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    return ls


def server(host, port, send_mib, recv_file, ready_file, timeout):
    ls = listen(host, port)
    ready(ready_file)
    ls.settimeout(timeout)
    s, peer = ls.accept()
    ls.close()
    s.settimeout(timeout)
    size = send_mib * 1048576
    data = os.urandom(size)
    errors = []
    received = [0]

    def reader():
        try:
            with open(recv_file, "wb") as f:
                while True:
                    b = s.recv(CHUNK)
                    if not b:
                        return
                    f.write(b)
                    received[0] += len(b)
        except Exception as e:
            errors.append("recv: %r" % (e,))

    t = threading.Thread(target=reader)
    t.start()
    start = time.monotonic()
    try:
        view = memoryview(data)
        for off in range(0, size, CHUNK):
            s.sendall(view[off:off + CHUNK])
        s.shutdown(socket.SHUT_WR)
    except Exception as e:
        errors.append("send: %r" % (e,))
    t.join(timeout)
    elapsed = time.monotonic() - start
    s.close()
    print("peer=%s:%d sent=%d received=%d seconds=%.3f sha_sent=%s ok=%d" %
          (peer[0], peer[1], size, received[0], elapsed, hashlib.sha256(data).hexdigest(),
           int(not errors and not t.is_alive())))
    if errors:
        print("; ".join(errors), file=sys.stderr)
    return 0 if not errors and not t.is_alive() else 1


def close_client(host, port, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    line = b"closing test\n"
    s.sendall(line)
    echo = b""
    while len(echo) < len(line):
        b = s.recv(CHUNK)
        if not b:
            break
        echo += b
    s.shutdown(socket.SHUT_WR)  # our FIN first
    rest = s.recv(CHUNK)        # the peer's FIN: EOF
    s.close()
    ok = echo == line and rest == b""
    print("echo_ok=%d eof=%d ok=%d" % (echo == line, rest == b"", ok))
    return 0 if ok else 1


def close_server(host, port, ready_file, go_file, timeout):
    ls = listen(host, port)
    ready(ready_file)
    ls.settimeout(timeout)
    s, _ = ls.accept()
    ls.close()
    s.settimeout(timeout)
    received = 0
    if go_file:
        deadline = time.monotonic() + timeout
        while not os.path.exists(go_file) and time.monotonic() < deadline:
            time.sleep(0.001)
        s.shutdown(socket.SHUT_WR)  # our FIN, at the same moment as the peer's
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        received += len(b)
    s.close()
    print("received=%d ok=1" % received)
    return 0


def connect(host, port, timeout):
    try:
        s = socket.create_connection((host, port), timeout=timeout)
        s.close()
        print("result=connected")
    except ConnectionRefusedError:
        print("result=refused")
    except Exception as e:
        print("result=error:%r" % (e,))
    return 0


def main(argv):
    args = list(argv[1:])
    timeout = float(arg_opt(args, "--timeout", "120"))
    deadline = float(arg_opt(args, "--deadline", "0"))
    ready_file = arg_opt(args, "--ready")
    go_file = arg_opt(args, "--go")
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = args.pop(0)
    if cmd == "echo-client" and len(args) == 3:
        return echo_client(args[0], int(args[1]), int(args[2]), timeout, deadline)
    if cmd == "server" and len(args) == 4:
        return server(args[0], int(args[1]), int(args[2]), args[3], ready_file, timeout)
    if cmd == "close-client" and len(args) == 2:
        return close_client(args[0], int(args[1]), timeout)
    if cmd == "close-server" and len(args) == 2:
        return close_server(args[0], int(args[1]), ready_file, go_file, timeout)
    if cmd == "connect" and len(args) == 2:
        return connect(args[0], int(args[1]), timeout)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
