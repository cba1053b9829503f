# tests/interop/lib.sh: shared setup of the interop tests (sourced, bash).
#
# Each test runs synack on a TUN device inside a network namespace of its own, with the Linux
# kernel's TCP on the other side of the device:
#
#     kernel (curl, nc, python) 10.77.0.1/24  --tun0--  synack 10.77.0.2
#
# Nothing outside the namespace is touched and no address outside it is used. Everything the
# test made (namespace, device, processes, files) is removed on exit, also on failure or
# interruption (trap). A test that cannot run here (not root, no network namespaces, no
# /dev/net/tun, a missing tool) exits with status 77 after saying why; ctest reports that as
# "Skipped" (SKIP_RETURN_CODE 77), and CI treats a skip as a failure.
#
# Usage in a test:
#     . "$(dirname "$0")/lib.sh"
#     interop_init NAME "$@"        # $1 of the test is the synack binary
#     need curl tshark              # tools the test uses
#     ns_up                         # namespace + persistent tun0 + kernel address
#     serve_start --echo --trace    # synack serve on tun0, port $PORT
#     ...
#     serve_stop                    # Ctrl-C, then wait for a clean exit
#     pass

set -u

KERNEL_IP=10.77.0.1       # the kernel's side of tun0
SYNACK_IP=10.77.0.2       # synack's address
PREFIX=24
PORT=7000                 # synack serve's port
KPORT=9000                # a kernel listener's port
TUN=tun0
INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER_PY="$INTEROP_DIR/peer.py"

# Processes started by the test, killed on exit.
BG_PIDS=()

say() {
    printf '%s: %s\n' "$TEST_NAME" "$*"
}

# skip REASON: the test cannot run on this machine.
skip() {
    say "SKIPPED: $*"
    exit 77
}

# fail REASON: prints the reason, the logs, and fails.
fail() {
    say "FAILED: $*"
    for f in "$WORK"/*.err "$WORK"/*.out; do
        [ -s "$f" ] || continue
        printf -- '--- %s (last 60 lines) ---\n' "$(basename "$f")"
        tail -n 60 "$f"
    done
    exit 1
}

pass() {
    say "passed"
    exit 0
}

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    if [ -n "${NS:-}" ]; then
        ip netns del "$NS" 2>/dev/null   # also removes tun0 and every socket in it
    fi
    if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
        rm -rf "$WORK"
    fi
}

# interop_init NAME SYNACK_BINARY: checks what the test needs, sets NS, WORK, SYNACK.
interop_init() {
    TEST_NAME=$1
    SYNACK=${2:-}
    NS=
    WORK=
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    [ -n "$SYNACK" ] && [ -x "$SYNACK" ] || { say "usage: $0 SYNACK_BINARY"; exit 2; }
    SYNACK=$(cd "$(dirname "$SYNACK")" && pwd)/$(basename "$SYNACK")
    [ "$(uname -s)" = Linux ] || skip "needs Linux (network namespaces and TUN devices)"
    [ "$(id -u)" = 0 ] || skip "needs root (or CAP_NET_ADMIN) to create a network namespace and a TUN device; run as root, as CI does"
    [ -c /dev/net/tun ] || skip "no /dev/net/tun (the TUN driver: modprobe tun)"
    need ip timeout sha256sum
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/synack-$TEST_NAME.XXXXXX") || fail "cannot make a work directory"
    NS=synack-$TEST_NAME-$$
    if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
        local why
        why=$(cat "$WORK/netns.err")
        NS=
        skip "cannot create a network namespace: $why"
    fi
}

# need TOOL...: skips unless every tool is on PATH.
need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "needs '$t' (see docs/interop.md for the packages)"
    done
}

# in_ns CMD...: runs a command on the kernel's side, in the namespace.
in_ns() {
    ip netns exec "$NS" "$@"
}

# ns_up [create]: loopback up; with no argument also a persistent tun0 with the kernel's
# address, up (synack then attaches to it). IPv6 is off in the namespace so that the kernel
# sends only IPv4 on tun0.
ns_up() {
    ip -n "$NS" link set lo up || fail "cannot set up lo in $NS"
    in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        >/dev/null 2>&1
    if [ "${1:-}" != create ]; then
        ip -n "$NS" tuntap add dev "$TUN" mode tun || fail "cannot create $TUN in $NS"
        kernel_side_up
    fi
}

# kernel_side_up: the kernel's address on tun0 and the link up.
kernel_side_up() {
    ip -n "$NS" addr add "$KERNEL_IP/$PREFIX" dev "$TUN" || fail "cannot address $TUN"
    ip -n "$NS" link set "$TUN" up || fail "cannot set $TUN up"
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds; false after SECONDS.
wait_for() {
    local limit=$1 i=0
    shift
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -le $((limit * 20)) ] || return 1
        sleep 0.05
    done
}

# bg NAME CMD...: runs CMD in the background with stdout/stderr in $WORK/NAME.out/.err;
# its pid is in $LAST_PID. CMD must be a program, not a shell function, so that the pid is
# the program's (ip netns exec execs the command: the pid stays).
bg() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    LAST_PID=$!
    BG_PIDS+=("$LAST_PID")
}

# serve_start ARGS...: synack serve on tun0 at $SYNACK_IP:$PORT with ARGS, in the
# background (SERVE_PID); returns once it listens.
serve_start() {
    bg serve ip netns exec "$NS" "$SYNACK" serve --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" --port "$PORT" "$@"
    SERVE_PID=$LAST_PID
    wait_for 10 grep -q "serving" "$WORK/serve.err" || fail "synack serve did not start"
}

# stop_pid PID NAME [SECONDS]: Ctrl-C (SIGINT) and wait for a clean exit (status 0).
stop_pid() {
    local pid=$1 name=$2 limit=${3:-20} i=0 rc
    kill -INT "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le $((limit * 20)) ] || fail "$name did not exit within ${limit}s of Ctrl-C"
        sleep 0.05
    done
    wait "$pid"
    rc=$?
    [ "$rc" = 0 ] || fail "$name exited with status $rc after Ctrl-C"
}

serve_stop() {
    stop_pid "$SERVE_PID" "synack serve" "${1:-20}"
}

# wait_pid PID NAME SECONDS: waits for PID to exit by itself; returns its status in $RC.
wait_pid() {
    local pid=$1 name=$2 limit=$3 i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le $((limit * 20)) ] || fail "$name did not finish within ${limit}s"
        sleep 0.05
    done
    wait "$pid"
    RC=$?
}

# random_file PATH MIB: MIB mebibytes of random bytes.
random_file() {
    head -c "$(($2 * 1048576))" /dev/urandom >"$1" || fail "cannot write $1"
}

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# tshark_clean PCAP [full]: tshark reads the capture with IP and TCP checksum validation on,
# and finds no malformed packet and no bad checksum: every packet's IP and TCP checksums are
# verified good; and it has TCP packets. By default the payload of the tests' ports is
# dissected as plain data: the tests carry random bytes, and the dissector a port number
# selects (7000 is Gryphon's) would call them malformed. With "full", the port's own dissector
# runs (for captures of a real protocol: HTTP).
tshark_clean() {
    local pcap=$1 out="$WORK/tshark-$(basename "$1").log" protos=()
    [ "${2:-}" = full ] || protos=(-d "tcp.port==$PORT,data" -d "tcp.port==$KPORT,data")
    local opts=("${protos[@]}" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
    [ -s "$pcap" ] || fail "no capture $pcap"
    tshark -r "$pcap" "${opts[@]}" -T fields -e frame.number -e _ws.malformed \
        -e _ws.expert.message >"$out" 2>"$out.stderr" ||
        fail "tshark cannot read $pcap: $(grep -v 'Running as' "$out.stderr" | head -n 5)"
    [ -s "$out" ] || fail "tshark found no packets in $pcap"
    if grep -Eiq 'malformed|bad checksum|checksum.*incorrect|\[incorrect' "$out"; then
        grep -Ei 'malformed|checksum' "$out" | head -n 10
        fail "tshark reports malformed packets or bad checksums in $pcap"
    fi
    local total bad
    total=$(tshark -r "$pcap" "${opts[@]}" 2>/dev/null | wc -l)
    bad=$(tshark -r "$pcap" "${opts[@]}" \
        -Y '_ws.malformed || !(ip.checksum.status == 1) || !(tcp.checksum.status == 1)' 2>/dev/null | wc -l)
    [ "$bad" = 0 ] || fail "tshark: $bad of $total packets malformed or without a good checksum in $pcap"
    [ "$total" -gt 0 ] || fail "no packets in $pcap"
    say "tshark: $total packets in $(basename "$pcap"), none malformed, every checksum good"
}

# kernel_sockets: the namespace's TCP sockets, one "STATE local peer" a line, listeners
# excluded.
kernel_sockets() {
    in_ns ss -tanH | awk '$1 != "LISTEN" { print $1, $4, $5 }'
}
