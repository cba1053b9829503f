#!/bin/bash
# Closing, both at once (RFC 9293 3.6, Figure 13): synack and the kernel send their FINs at
# the same moment; with 200 ms of injected delay each way on synack's link, the FINs cross.
# Both sides go FIN-WAIT-1 -> CLOSING -> TIME-WAIT. Afterwards the kernel holds only its
# TIME-WAIT socket; synack's trace shows CLOSING and the end of TIME-WAIT.
. "$(dirname "$0")/lib.sh"
interop_init close_simultaneous "$@"
need python3 ss
ns_up

bg server ip netns exec "$NS" python3 "$PEER_PY" close-server "$KERNEL_IP" "$KPORT" \
    --ready "$WORK/ready" --go "$WORK/go" --timeout 30
SERVER_PID=$LAST_PID
wait_for 10 test -e "$WORK/ready" || fail "the Python server did not start"
# synack's input ends when the go file appears: that is when it sends its FIN.
bg client bash -c 'while [ ! -e "$1" ]; do sleep 0.001; done | ip netns exec "$2" timeout 40 "$3" connect --tun "$4" --addr "$5" "$6" "$7" --delay 200 --trace' \
    sh "$WORK/go" "$NS" "$SYNACK" "$TUN" "$SYNACK_IP/$PREFIX" "$KERNEL_IP" "$KPORT"
CLIENT_PID=$LAST_PID
wait_for 10 sh -c "ip netns exec '$NS' ss -tanH state established | grep -q ':$KPORT'" ||
    fail "the connection was not established"
sleep 0.5 # the handshake's last ACK is still on its way to synack (200 ms)
touch "$WORK/go"
wait_pid "$CLIENT_PID" "synack connect" 50
[ "$RC" = 0 ] || fail "synack connect exited with status $RC"
wait_pid "$SERVER_PID" "the Python server" 10

socks=$(kernel_sockets)
say "kernel sockets after the close: ${socks:-none}"
[ "$(printf '%s\n' "$socks" | grep -c .)" = 1 ] || fail "expected exactly one kernel socket, got: $socks"
printf '%s\n' "$socks" | grep -Eq "^TIME-WAIT $KERNEL_IP:$KPORT $SYNACK_IP:[0-9]+\$" ||
    fail "the kernel's socket is not in TIME-WAIT: $socks"

t="$WORK/client.err"
grep -Eq 'FIN-WAIT-1 +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK> +(-->|\.\.\.)' "$t" ||
    fail "the trace does not show synack's FIN"
grep -Eq 'CLOSING +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK>' "$t" ||
    fail "the trace does not show synack in CLOSING (the FINs did not cross)"
grep -Eq 'TIME-WAIT +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK>' "$t" ||
    fail "the trace does not show the ACK of synack's FIN taking it to TIME-WAIT"
grep -q '(2 MSL)' "$t" || fail "the trace does not show the end of TIME-WAIT"
say "trace of the close:"
grep -E 'FIN|CLOSING|TIME-WAIT|2 MSL|CLOSED' "$t" | tail -n 8
pass
