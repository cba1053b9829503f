#!/bin/bash
# Refusal: the kernel connecting to a synack port where nothing listens gets "connection
# refused" (synack answers the SYN with <SEQ=0><ACK=ISS+1><CTL=RST,ACK>, RFC 9293 3.10.7.1);
# synack connecting to a closed kernel port gets ECONNREFUSED and exits with status 1.
. "$(dirname "$0")/lib.sh"
interop_init refused "$@"
need python3 curl nc
ns_up
serve_start --echo

closed=$((PORT + 1))
out=$(in_ns timeout 20 python3 "$PEER_PY" connect "$SYNACK_IP" "$closed" --timeout 10)
[ "$out" = result=refused ] || fail "Python's connect to a closed synack port: $out"
in_ns curl -sS --max-time 10 "http://$SYNACK_IP:$closed/" >/dev/null 2>"$WORK/curl.err"
rc=$?
[ "$rc" = 7 ] || fail "curl to a closed synack port exited $rc, not 7: $(cat "$WORK/curl.err")"
in_ns timeout 20 nc -vz "$SYNACK_IP" "$closed" >"$WORK/nc.out" 2>&1
grep -q 'Connection refused' "$WORK/nc.out" || fail "nc did not get 'Connection refused': $(cat "$WORK/nc.out")"
# The listening port still works.
out=$(in_ns timeout 20 python3 "$PEER_PY" connect "$SYNACK_IP" "$PORT" --timeout 10)
[ "$out" = result=connected ] || fail "connect to the listening port: $out"
serve_stop

# synack to a kernel port nobody listens on.
start=$(date +%s)
in_ns timeout 30 "$SYNACK" connect --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" "$KERNEL_IP" "$KPORT" \
    </dev/null >"$WORK/connect.out" 2>"$WORK/connect.err"
rc=$?
[ "$rc" = 1 ] || fail "synack connect to a closed port exited $rc, not 1"
grep -q 'ECONNREFUSED' "$WORK/connect.err" || fail "synack did not report ECONNREFUSED: $(cat "$WORK/connect.err")"
[ $(($(date +%s) - start)) -lt 10 ] || fail "the refusal took too long"
pass
