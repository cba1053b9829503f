#!/bin/bash
# Closing, synack first: `synack connect` sends a line to a Python server and, at the end of
# its input, closes first (FIN); the server reads to EOF and closes too. synack goes through
# FIN-WAIT-1, FIN-WAIT-2 (or straight on), TIME-WAIT and, 2 x MSL later, CLOSED; the kernel
# has no socket left (its side ended in LAST-ACK -> CLOSED).
. "$(dirname "$0")/lib.sh"
interop_init close_synack_first "$@"
need python3 ss
ns_up
printf 'synack closes first\n' >"$WORK/line.txt"

bg server ip netns exec "$NS" python3 "$PEER_PY" close-server "$KERNEL_IP" "$KPORT" \
    --ready "$WORK/ready" --timeout 20
SERVER_PID=$LAST_PID
wait_for 10 test -e "$WORK/ready" || fail "the Python server did not start"
bg client ip netns exec "$NS" timeout 30 "$SYNACK" connect --tun "$TUN" \
    --addr "$SYNACK_IP/$PREFIX" "$KERNEL_IP" "$KPORT" --send "$WORK/line.txt" --trace
wait_pid "$LAST_PID" "synack connect" 40
[ "$RC" = 0 ] || fail "synack connect exited with status $RC"
wait_pid "$SERVER_PID" "the Python server" 10
grep -q 'received=20 ok=1' "$WORK/server.out" || fail "the server did not get the line"

socks=$(kernel_sockets)
[ -z "$socks" ] || fail "the kernel still has sockets: $socks"

t="$WORK/client.err"
grep -Eq 'FIN-WAIT-1 +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK> +--> CLOSE-WAIT' "$t" ||
    fail "the trace does not show synack's FIN first"
grep -Eq 'TIME-WAIT +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK> +<-- LAST-ACK' "$t" ||
    fail "the trace does not show the kernel's FIN taking synack to TIME-WAIT"
grep -Eq 'TIME-WAIT +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK> +--> CLOSED' "$t" ||
    fail "the trace does not show synack's last ACK"
grep -q '(2 MSL)' "$t" || fail "the trace does not show the end of TIME-WAIT"
say "trace of the close:"
grep -E 'FIN|TIME-WAIT|2 MSL|CLOSED' "$t" | tail -n 6
pass
