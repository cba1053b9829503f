#!/bin/bash
# Closing, the kernel first: a Python client sends a line to synack's --echo, reads the echo,
# and closes first (FIN); synack answers with its own FIN. Afterwards the kernel holds only
# the expected TIME-WAIT socket, and synack's trace shows the four-way close:
#   synack CLOSE-WAIT <-- FIN  (peer FIN-WAIT-1), synack LAST-ACK --> FIN, CLOSED <-- ACK.
. "$(dirname "$0")/lib.sh"
interop_init close_kernel_first "$@"
need python3 ss
ns_up
serve_start --echo --trace

in_ns timeout 30 python3 "$PEER_PY" close-client "$SYNACK_IP" "$PORT" --timeout 20 \
    >"$WORK/client.out" 2>"$WORK/client.err" || fail "the client failed: $(cat "$WORK/client.out")"
wait_for 10 grep -q ": closed (received 13, sent 13 bytes)" "$WORK/serve.err" ||
    fail "synack did not close the connection cleanly"

socks=$(kernel_sockets)
say "kernel sockets after the close: ${socks:-none}"
[ "$(printf '%s\n' "$socks" | grep -c .)" = 1 ] || fail "expected exactly one kernel socket, got: $socks"
printf '%s\n' "$socks" | grep -Eq "^TIME-WAIT $KERNEL_IP:[0-9]+ $SYNACK_IP:$PORT\$" ||
    fail "the kernel's socket is not in TIME-WAIT: $socks"

serve_stop
t="$WORK/serve.out"
grep -Eq 'CLOSE-WAIT +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK> +<-- FIN-WAIT-1' "$t" ||
    fail "the trace does not show the kernel's FIN taking synack to CLOSE-WAIT"
grep -Eq 'LAST-ACK +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK> +--> TIME-WAIT' "$t" ||
    fail "the trace does not show synack's FIN from LAST-ACK"
grep -Eq 'CLOSED +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK> +<-- TIME-WAIT' "$t" ||
    fail "the trace does not show the last ACK closing synack's side"
say "trace of the close:"
grep -E 'FIN|LAST-ACK|CLOSED' "$t" | tail -n 4
pass
