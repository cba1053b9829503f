#!/usr/bin/env python3
"""bench/tun_peer.py: the Linux kernel's side of the TUN workloads (bench/tun_bench.sh).

Kernel sockets, run inside the benchmark's network namespace. Stand-in until
kernel_bench grows client modes; every mode prints the suite's RESULT contract lines
only through tun_bench.sh (here: "SECONDS <s>", "LAT <p50 us> <p99 us>" on stdout).

  send HOST PORT BYTES   listen, accept one connection, send BYTES of the pattern, shut
                         down writing and wait until the kernel's send queue is empty (every
                         byte acknowledged, SIOCOUTQ == 0): SECONDS from accept to then
  recv HOST PORT BYTES   listen, accept one connection, read to EOF and check every byte
                         against the pattern and the count: SECONDS from accept to EOF
  check BYTES            read standard input to EOF and check it like recv (no timing)
  gen BYTES              write BYTES of the pattern to standard output
  rr HOST PORT N         N sequential connections: connect, 1-byte request, 1-byte reply
                         (checked), close (the client first); SECONDS for all, LAT p50 p99
Exit status 1 when a check fails (saying why on stderr), 2 on bad usage.
"""
import fcntl
import socket
import struct
import sys
import termios
import time

PERIOD = 131071          # the pattern repeats every PERIOD bytes (a prime: a lost or
CHUNK = 128 * 1024       # repeated 128 KiB write shows); application writes of 128 KiB


def pattern():
    """Two periods plus a chunk of the pattern, so any window of CHUNK bytes is a slice."""
    one = bytes((i * 131 + (i >> 8) * 7 + 1) & 0xFF for i in range(PERIOD))
    return one * (2 + CHUNK // PERIOD + 1)


def listen_one(host, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    print("listening", file=sys.stderr, flush=True)
    conn, _ = ls.accept()
    ls.close()
    return conn


def send_stream(out_write, nbytes, pat):
    sent = 0
    while sent < nbytes:
        off = sent % PERIOD
        n = min(CHUNK, nbytes - sent)
        out_write(memoryview(pat)[off:off + n])
        sent += n


def check_stream(read, nbytes, pat):
    got = 0
    while True:
        data = read(1 << 20)
        if not data:
            break
        if got + len(data) > nbytes:
            sys.exit(f"tun_peer: more than the {nbytes} bytes expected")
        i = 0
        while i < len(data):  # compare in pieces no longer than a pattern window
            n = min(len(data) - i, CHUNK)
            off = (got + i) % PERIOD
            if data[i:i + n] != pat[off:off + n]:
                sys.exit(f"tun_peer: wrong byte near offset {got + i}")
            i += n
        got += len(data)
    if got != nbytes:
        sys.exit(f"tun_peer: received {got} of {nbytes} bytes")


def mode_send(host, port, nbytes):
    pat = pattern()
    conn = listen_one(host, port)
    t0 = time.monotonic()
    send_stream(conn.sendall, nbytes, pat)
    conn.shutdown(socket.SHUT_WR)
    buf = bytearray(4)
    while True:  # SIOCOUTQ (= TIOCOUTQ): bytes not yet acknowledged
        fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, buf)
        if struct.unpack("i", buf)[0] == 0:
            break
        time.sleep(0.0002)
    secs = time.monotonic() - t0
    conn.settimeout(30)
    while conn.recv(65536):
        pass
    conn.close()
    print(f"SECONDS {secs:.6f}")


def mode_recv(host, port, nbytes):
    pat = pattern()
    conn = listen_one(host, port)
    t0 = time.monotonic()
    check_stream(conn.recv, nbytes, pat)
    secs = time.monotonic() - t0
    conn.close()
    print(f"SECONDS {secs:.6f}")


def mode_rr(host, port, n):
    lat = []
    t0 = time.monotonic()
    for i in range(n):
        t = time.monotonic()
        s = socket.create_connection((host, port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = bytes([(i * 7 + 1) & 0xFF])
        s.sendall(req)
        rep = s.recv(1)
        if rep != req:
            sys.exit(f"tun_peer: connection {i}: reply {rep!r}, expected {req!r}")
        s.close()
        lat.append(time.monotonic() - t)
    secs = time.monotonic() - t0
    lat.sort()
    p50 = lat[max(0, (n + 1) // 2 - 1)]
    p99 = lat[max(0, -(-n * 99 // 100) - 1)]
    print(f"SECONDS {secs:.6f}")
    print(f"LAT {p50 * 1e6:.1f} {p99 * 1e6:.1f}")


def main(argv):
    try:
        if argv[:1] == ["send"] and len(argv) == 4:
            mode_send(argv[1], int(argv[2]), int(argv[3]))
        elif argv[:1] == ["recv"] and len(argv) == 4:
            mode_recv(argv[1], int(argv[2]), int(argv[3]))
        elif argv[:1] == ["rr"] and len(argv) == 4:
            mode_rr(argv[1], int(argv[2]), int(argv[3]))
        elif argv[:1] == ["check"] and len(argv) == 2:
            check_stream(sys.stdin.buffer.read, int(argv[1]), pattern())
        elif argv[:1] == ["gen"] and len(argv) == 2:
            out = sys.stdout.buffer
            send_stream(out.write, int(argv[1]), pattern())
            out.flush()
        else:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
    except ValueError:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
