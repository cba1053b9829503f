#!/bin/bash
# Offloads (--offload on: virtio-net header, checksum offload, TSO and GSO): 50 MiB each way,
# intact (SHA-256), in both roles:
#   - a Python client sends 50 MiB through `synack serve --echo` while reading the echo;
#   - `synack connect` sends 50 MiB to a Python listener and receives 50 MiB from it.
# Both runs must have used the offloads (the --verbose counters show large segments cut by
# the kernel and large ones read uncut), and the capture of the first must read clean in
# tshark: the partial checksums the kernel hands over are completed before they are recorded.
. "$(dirname "$0")/lib.sh"
interop_init offload_50m "$@"
need python3 tshark
ns_up

# offloads_used FILE: the --verbose summary in FILE shows segments cut by the kernel (TSO)
# and segments read uncut (GSO), and no bad virtio-net header.
offloads_used() {
    local line
    line=$(grep 'offloads:' "$1") || fail "no offload counters in $(basename "$1")"
    say "$line"
    printf '%s\n' "$line" | grep -Eq ': [1-9][0-9]* packets written for the kernel to cut' ||
        fail "no segment was cut by the kernel (TSO not used)"
    printf '%s\n' "$line" | grep -Eq ', [1-9][0-9]* read uncut' ||
        fail "no large segment came from the kernel (GSO not used)"
    printf '%s\n' "$line" | grep -Eq ', 0 with a bad virtio-net header' ||
        fail "packets with a bad virtio-net header"
}

serve_start --echo --offload on --buf 4194304 --verbose --pcap "$WORK/serve.pcap"
in_ns timeout 300 python3 "$PEER_PY" echo-client "$SYNACK_IP" "$PORT" 50 --timeout 120 \
    >"$WORK/client.out" 2>"$WORK/client.err" || fail "the echo of 50 MiB failed: $(cat "$WORK/client.out")"
grep -q ' ok=1$' "$WORK/client.out" || fail "the echo client did not check out: $(cat "$WORK/client.out")"
say "echo: $(cat "$WORK/client.out")"
serve_stop
offloads_used "$WORK/serve.err"
tshark_clean "$WORK/serve.pcap"

random_file "$WORK/up.bin" 50
bg server ip netns exec "$NS" python3 "$PEER_PY" server "$KERNEL_IP" "$KPORT" 50 "$WORK/up.got" \
    --ready "$WORK/ready" --timeout 120
SERVER_PID=$LAST_PID
wait_for 10 test -e "$WORK/ready" || fail "the Python server did not start"
bg client ip netns exec "$NS" timeout 300 "$SYNACK" connect --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" \
    "$KERNEL_IP" "$KPORT" --send "$WORK/up.bin" --recv "$WORK/down.got" --offload on \
    --buf 4194304 --verbose
CLIENT_PID=$LAST_PID
wait_pid "$CLIENT_PID" "synack connect" 320
[ "$RC" = 0 ] || fail "synack connect exited with status $RC"
wait_pid "$SERVER_PID" "the Python server" 60
[ "$RC" = 0 ] || fail "the Python server failed (status $RC)"
[ "$(sha "$WORK/up.bin")" = "$(sha "$WORK/up.got")" ] ||
    fail "the 50 MiB upload differs ($(wc -c <"$WORK/up.got") bytes arrived)"
want=$(sed -n 's/.*sha_sent=\([0-9a-f]*\).*/\1/p' "$WORK/server.out")
[ -n "$want" ] && [ "$want" = "$(sha "$WORK/down.got")" ] ||
    fail "the 50 MiB download differs ($(wc -c <"$WORK/down.got") bytes arrived)"
say "client: $(grep 'sent' "$WORK/client.err" | tail -n 1)"
offloads_used "$WORK/client.err"
pass
