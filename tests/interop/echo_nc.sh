#!/bin/bash
# Kernel client to synack server: nc (netcat-openbsd) round-trips data through --echo: a
# line of text, then 1 MiB of random bytes. nc -N closes its sending side at end of input,
# synack echoes everything and closes; nc exits at synack's FIN.
. "$(dirname "$0")/lib.sh"
interop_init echo_nc "$@"
need nc
ns_up
serve_start --echo

printf 'hello, synack\n' >"$WORK/line.txt"
in_ns timeout 20 nc -N "$SYNACK_IP" "$PORT" <"$WORK/line.txt" >"$WORK/line.echo" \
    2>"$WORK/nc1.err" || fail "nc failed (status $?)"
cmp -s "$WORK/line.txt" "$WORK/line.echo" || fail "the echo of the line differs: $(cat "$WORK/line.echo")"

random_file "$WORK/data.bin" 1
in_ns timeout 60 nc -N "$SYNACK_IP" "$PORT" <"$WORK/data.bin" >"$WORK/data.echo" \
    2>"$WORK/nc2.err" || fail "nc (1 MiB) failed (status $?)"
[ "$(sha "$WORK/data.bin")" = "$(sha "$WORK/data.echo")" ] ||
    fail "the 1 MiB echo differs ($(wc -c <"$WORK/data.echo") bytes back)"

grep -q "closed (received 1048576, sent 1048576 bytes)" "$WORK/serve.err" ||
    fail "synack's log does not show the 1 MiB connection closing cleanly"
serve_stop
pass
