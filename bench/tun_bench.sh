#!/usr/bin/env bash
# bench/tun_bench.sh: the TUN workloads of issue 6, synack on a TUN device with the Linux
# kernel as its peer (BENCHMARKS.md, "Benchmark suite"). Needs root.
#
#   bench/tun_bench.sh SYNACK_BINARY W1b-k2s|W1b-s2k|W2tun-1k [--quick]
#
#   W1b-k2s   the kernel sends 1 GiB to synack (synack connect, its output checked byte by
#             byte); goodput from the kernel's accept until its send queue is empty (every
#             byte acknowledged)
#   W1b-s2k   synack sends 1 GiB to the kernel (synack connect, its input the pattern); the
#             kernel checks every byte; goodput from the kernel's accept to EOF
#   W2tun-1k  1,000 sequential connections from a kernel client to synack serve --echo:
#             connect, 1-byte request, 1-byte reply, close (client first); rate, p50, p99
#   --quick   16 MiB, and 200 connections (100 with the python3 client): correctness,
#             not figures
#
# The setup is the interop suite's (tests/interop/lib.sh): a network namespace of its own
# with tun0, the kernel at 10.77.0.1 and synack at 10.77.0.2; both programs run inside the
# namespace; everything is removed on exit, also on failure (trap). The kernel's side is
# bench/tun_peer.py (python3, kernel sockets) for W1b, kernel_bench --client-only (C) for
# W2tun-1k (tun_peer.py if kernel_bench is not built).
#
# Environment:
#   SYNACK_TUN_FLAGS  extra options of synack serve/connect, e.g. the TUN offload flag
#                     (default "--offload on": IFF_VNET_HDR, TSO/GSO; set it empty for none)
#   SYNACK_TUN_BUF    synack's send and receive buffers (--buf), default 4194304
# Output: RESULT and INFO lines (the suite's contract) on stdout; exit 1 when a check
# failed, 2 on bad usage, 77 when it cannot run here (not root, no python3, ...).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER="$BENCH_DIR/tun_peer.py"

if [ $# -lt 2 ] || [ $# -gt 3 ] || { [ $# = 3 ] && [ "$3" != --quick ]; }; then
    sed -n '5,13p' "$0" >&2
    exit 2
fi
SYNACK_ARG=$1
ID=$2
QUICK=${3:-}
case "$ID" in
W1b-k2s | W1b-s2k | W2tun-1k) ;;
*)
    echo "tun_bench.sh: unknown workload '$ID' (W1b-k2s, W1b-s2k, W2tun-1k)" >&2
    exit 2
    ;;
esac

BYTES=$((1 << 30))
CONNS=1000
if [ -n "$QUICK" ]; then
    BYTES=$((16 << 20))
    CONNS=100
fi
FLAGS=${SYNACK_TUN_FLAGS---offload on} # set it empty for one packet per system call, no offloads
BUF=${SYNACK_TUN_BUF:-4194304}

# shellcheck source=../tests/interop/lib.sh
. "$BENCH_DIR/../tests/interop/lib.sh"
interop_init "bench-$ID" "$SYNACK_ARG"
need python3
ns_up

echo "INFO $ID synack on TUN $TUN (MTU $(ip netns exec "$NS" cat "/sys/class/net/$TUN/mtu"), MSS from it), buffers $BUF bytes, flags '${FLAGS}'; the kernel's side in the namespace${QUICK:+; --quick}"

gbps() { # gbps BYTES SECONDS
    awk -v b="$1" -v s="$2" 'BEGIN { printf "%.3f", b * 8 / s / 1e9 }'
}

seconds_of() { # seconds_of FILE: the SECONDS line of a tun_peer.py run
    sed -n 's/^SECONDS //p' "$1"
}

case "$ID" in
W1b-k2s)
    bg peer ip netns exec "$NS" python3 "$PEER" send "$KERNEL_IP" "$KPORT" "$BYTES"
    PEER_PID=$LAST_PID
    wait_for 10 grep -q listening "$WORK/peer.err" || fail "the kernel's sender did not start"
    # shellcheck disable=SC2086 # FLAGS is a word list
    ip netns exec "$NS" "$SYNACK" connect --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" --buf "$BUF" \
        $FLAGS "$KERNEL_IP" "$KPORT" </dev/null 2>"$WORK/synack.err" |
        python3 "$PEER" check "$BYTES" 2>"$WORK/check.err"
    rcs=("${PIPESTATUS[@]}")
    [ "${rcs[0]}" = 0 ] || fail "synack connect exited with status ${rcs[0]}"
    [ "${rcs[1]}" = 0 ] || fail "the bytes synack received are wrong: $(cat "$WORK/check.err")"
    wait_pid "$PEER_PID" "the kernel's sender" 600
    [ "$RC" = 0 ] || fail "the kernel's sender failed (status $RC)"
    secs=$(seconds_of "$WORK/peer.out")
    [ -n "$secs" ] || fail "the kernel's sender gave no time"
    echo "INFO $ID all $BYTES bytes checked on synack's side"
    echo "RESULT $ID synack goodput $(gbps "$BYTES" "$secs") Gb/s"
    ;;
W1b-s2k)
    bg peer ip netns exec "$NS" python3 "$PEER" recv "$KERNEL_IP" "$KPORT" "$BYTES"
    PEER_PID=$LAST_PID
    wait_for 10 grep -q listening "$WORK/peer.err" || fail "the kernel's receiver did not start"
    # shellcheck disable=SC2086
    python3 "$PEER" gen "$BYTES" |
        ip netns exec "$NS" "$SYNACK" connect --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" \
            --buf "$BUF" $FLAGS "$KERNEL_IP" "$KPORT" >/dev/null 2>"$WORK/synack.err"
    rcs=("${PIPESTATUS[@]}")
    [ "${rcs[0]}" = 0 ] || fail "the pattern generator exited with status ${rcs[0]}"
    [ "${rcs[1]}" = 0 ] || fail "synack connect exited with status ${rcs[1]}"
    wait_pid "$PEER_PID" "the kernel's receiver" 600
    [ "$RC" = 0 ] || fail "the kernel's receiver failed (status $RC)"
    secs=$(seconds_of "$WORK/peer.out")
    [ -n "$secs" ] || fail "the kernel's receiver gave no time"
    echo "INFO $ID all $BYTES bytes checked on the kernel's side"
    echo "RESULT $ID synack goodput $(gbps "$BYTES" "$secs") Gb/s"
    ;;
W2tun-1k)
    # shellcheck disable=SC2086
    serve_start --echo --buf "$BUF" $FLAGS
    KB="$(dirname "$SYNACK")/kernel_bench"
    if [ -x "$KB" ]; then
        # The kernel's client in C (kernel_bench --client-only), as in the peers' W2 runs;
        # its W2-1k lines are this workload's.
        ip netns exec "$NS" "$KB" --client-only --impl synack --server-addr "$SYNACK_IP" \
            --port "$PORT" --client-addr "$KERNEL_IP" --client-count 1 ${QUICK:+--quick} \
            W2-1k >"$WORK/rr.out" 2>"$WORK/rr.err" ||
            fail "the kernel's client failed: $(tail -n 3 "$WORK/rr.err")"
        serve_stop
        echo "INFO $ID sequential connections from the kernel (kernel_bench --client-only, C) to synack serve --echo; latency from connect to close after the reply"
        sed -n 's/^RESULT W2-1k /RESULT W2tun-1k /p' "$WORK/rr.out"
    else
        ip netns exec "$NS" python3 "$PEER" rr "$SYNACK_IP" "$PORT" "$CONNS" >"$WORK/rr.out" \
            2>"$WORK/rr.err" || fail "the kernel's client failed: $(cat "$WORK/rr.err")"
        serve_stop
        secs=$(seconds_of "$WORK/rr.out")
        read -r _ p50 p99 < <(grep '^LAT ' "$WORK/rr.out")
        echo "INFO $ID $CONNS sequential connections from the kernel (python3 client: kernel_bench is not built) to synack serve --echo; latency from connect to the reply"
        echo "RESULT $ID synack rate $(awk -v n="$CONNS" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') conn/s"
        echo "RESULT $ID synack p50 $p50 us"
        echo "RESULT $ID synack p99 $p99 us"
        echo "RESULT $ID synack failures 0 conn"
    fi
    ;;
esac
exit 0
