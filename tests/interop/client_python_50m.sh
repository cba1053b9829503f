#!/bin/bash
# synack client to kernel server: a Python listener in the namespace receives 50 MiB from
# `synack connect --send` and sends 50 MiB back, which synack writes to --recv; both are
# intact (SHA-256), and synack exits 0 after the close.
. "$(dirname "$0")/lib.sh"
interop_init client_python_50m "$@"
need python3
ns_up
random_file "$WORK/up.bin" 50

bg server ip netns exec "$NS" python3 "$PEER_PY" server "$KERNEL_IP" "$KPORT" 50 "$WORK/up.got" \
    --ready "$WORK/ready" --timeout 300
SERVER_PID=$LAST_PID
wait_for 10 test -e "$WORK/ready" || fail "the Python server did not start"

bg client ip netns exec "$NS" timeout 600 "$SYNACK" connect --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" \
    "$KERNEL_IP" "$KPORT" --send "$WORK/up.bin" --recv "$WORK/down.got" --verbose
CLIENT_PID=$LAST_PID
wait_pid "$CLIENT_PID" "synack connect" 620
[ "$RC" = 0 ] || fail "synack connect exited with status $RC"
wait_pid "$SERVER_PID" "the Python server" 60
[ "$RC" = 0 ] || fail "the Python server failed (status $RC)"

[ "$(sha "$WORK/up.bin")" = "$(sha "$WORK/up.got")" ] ||
    fail "the 50 MiB upload differs ($(wc -c <"$WORK/up.got") bytes arrived)"
want=$(sed -n 's/.*sha_sent=\([0-9a-f]*\).*/\1/p' "$WORK/server.out")
[ -n "$want" ] && [ "$want" = "$(sha "$WORK/down.got")" ] ||
    fail "the 50 MiB download differs ($(wc -c <"$WORK/down.got") bytes arrived)"
say "$(cat "$WORK/server.out")"
say "$(grep 'sent' "$WORK/client.err" | tail -n 1)"
pass
