#!/bin/bash
# Kernel client to synack server: a Python socket client sends 50 MiB to --echo while it
# reads the echo, and gets it back intact (SHA-256 of what it sent = of what it received).
. "$(dirname "$0")/lib.sh"
interop_init echo_python_50m "$@"
need python3
ns_up
serve_start --echo

in_ns timeout 600 python3 "$PEER_PY" echo-client "$SYNACK_IP" "$PORT" 50 --timeout 300 \
    >"$WORK/client.out" 2>"$WORK/client.err" || fail "the echo of 50 MiB failed: $(cat "$WORK/client.out")"
grep -q ' ok=1$' "$WORK/client.out" || fail "the client did not check out: $(cat "$WORK/client.out")"
say "$(cat "$WORK/client.out")"
serve_stop
pass
