#!/bin/bash
# Under loss: synack's link drops 5% of the packets in each direction (--loss 5%, fault
# injection in synack, so no netem is needed), and a Python client pushes 20 MiB through
# synack's --echo while reading the echo: 20 MiB each way, intact (SHA-256), within a hard
# time limit of LIMIT seconds. This needs retransmission that recovers quickly (fast
# retransmit, SACK): the acceptance test of those.
. "$(dirname "$0")/lib.sh"
interop_init loss "$@"
need python3
LIMIT=${SYNACK_LOSS_LIMIT:-300} # seconds
ns_up
serve_start --echo --loss 5% --seed 7 --verbose

in_ns timeout $((LIMIT + 30)) python3 "$PEER_PY" echo-client "$SYNACK_IP" "$PORT" 20 \
    --timeout "$LIMIT" --deadline "$LIMIT" >"$WORK/client.out" 2>"$WORK/client.err"
rc=$?
[ "$rc" = 3 ] || [ "$rc" = 124 ] &&
    fail "20 MiB each way under 5% loss did not finish within ${LIMIT}s: $(cat "$WORK/client.out")"
[ "$rc" = 0 ] || fail "the transfer under loss failed: $(cat "$WORK/client.out")"
grep -q ' ok=1$' "$WORK/client.out" || fail "the echo differs: $(cat "$WORK/client.out")"
say "$(cat "$WORK/client.out")"
serve_stop 60
line=$(grep 'injected loss' "$WORK/serve.err")
say "$line"
out=$(printf '%s\n' "$line" | sed -n 's/.*injected loss: \([0-9]*\) out, \([0-9]*\) in.*/\1/p')
in=$(printf '%s\n' "$line" | sed -n 's/.*injected loss: \([0-9]*\) out, \([0-9]*\) in.*/\2/p')
[ "${out:-0}" -gt 100 ] && [ "${in:-0}" -gt 100 ] || fail "the loss was not injected in both directions: $line"
pass
