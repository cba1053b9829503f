#!/bin/sh
# demo.sh: the `synack` command line: the demo's ladder and summary, fixed ISNs, the
# scenario options (--list, --scenario, --verbose, --svg, --json, --pcap), --help, and exit
# status 2 with the usage on stderr for every bad flag or value. (tests/scenarios.sh checks
# every scenario's output.)
#
# usage: tests/demo.sh path/to/synack
# Prints "N passed, N failed" like the C tests; exits non-zero if any check failed.

set -u

SYNACK=${1:?usage: demo.sh path/to/synack}
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1" >&2; }

# run ARGS...: runs synack, keeping stdout, stderr and the exit status.
run() {
    "$SYNACK" "$@" >"$TMP/out" 2>"$TMP/err"
    status=$?
}

# expect_status NAME STATUS
expect_status() {
    if [ "$status" -eq "$2" ]; then ok "$1: exit $2"; else bad "$1: exit $status, want $2"; fi
}

# expect_line NAME FILE EXTENDED-REGEX
expect_line() {
    if grep -Eq -- "$3" "$2"; then ok "$1: has /$3/"; else bad "$1: no line matches /$3/"; fi
}

# expect_text NAME FILE FIXED-STRING
expect_text() {
    if grep -Fq -- "$3" "$2"; then ok "$1: has '$3'"; else bad "$1: no '$3'"; fi
}

# ---- The demo: a full lifecycle ------------------------------------------------------------
run demo
expect_status demo 0
out=$TMP/out
# The header names both ends; line 1 holds the initial states.
expect_line demo "$out" '^ +TCP A 10\.0\.0\.1:[0-9]+ +TCP B 10\.0\.0\.2:7$'
expect_line demo "$out" '^ +1\. CLOSED +LISTEN$'
# The handshake (Figure 6), the echo, the close (Figure 12), TIME-WAIT's end.
expect_line demo "$out" '^ +[0-9]+\. SYN-SENT +--> <SEQ=[0-9]+><CTL=SYN> +--> SYN-RECEIVED$'
expect_line demo "$out" '^ +[0-9]+\. ESTABLISHED +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=SYN,ACK> +<-- SYN-RECEIVED$'
expect_line demo "$out" '^ +[0-9]+\. ESTABLISHED +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK> +--> ESTABLISHED$'
expect_line demo "$out" '^ +[0-9]+\. ESTABLISHED +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK><DATA=11> +--> ESTABLISHED$'
expect_line demo "$out" '^ +[0-9]+\. ESTABLISHED +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK><DATA=11> +<-- ESTABLISHED$'
expect_line demo "$out" '^ +[0-9]+\. FIN-WAIT-1 +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK> +--> CLOSE-WAIT$'
expect_line demo "$out" '^ +[0-9]+\. FIN-WAIT-2 +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK> +<-- CLOSE-WAIT$'
expect_line demo "$out" '^ +[0-9]+\. TIME-WAIT +<-- <SEQ=[0-9]+><ACK=[0-9]+><CTL=FIN,ACK> +<-- LAST-ACK$'
expect_line demo "$out" '^ +[0-9]+\. TIME-WAIT +--> <SEQ=[0-9]+><ACK=[0-9]+><CTL=ACK> +--> CLOSED$'
expect_line demo "$out" '^ +[0-9]+\. \(2 MSL\)$'
expect_line demo "$out" '^ +CLOSED$'
# The summary.
expect_text demo "$out" "echo: 11 bytes sent by A, echoed by B, verified by A"
expect_text demo "$out" "A: CLOSED -> SYN-SENT -> ESTABLISHED -> FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT -> CLOSED"
expect_text demo "$out" "B: LISTEN -> SYN-RECEIVED -> ESTABLISHED -> CLOSE-WAIT -> LAST-ACK -> CLOSED"
expect_line demo "$out" '^ += [0-9]+\.[0-9]{6} s \+ 2 x MSL \(MSL = 120\.000000 s\)$'
expect_line demo "$out" '^demo OK$'
if grep -q "in flight\|(lost)\|(duplicate)" "$out"; then bad "demo: an incomplete line"; else ok "demo: every line complete"; fi

# The same seed gives the same run, byte for byte; another seed other ISNs.
cp "$out" "$TMP/first"
run demo
if cmp -s "$TMP/first" "$TMP/out"; then ok "demo: reproducible"; else bad "demo: two runs differ"; fi
run demo --seed 2
expect_status demo_seed2 0
if cmp -s "$TMP/first" "$TMP/out"; then bad "demo --seed 2: same as seed 1"; else ok "demo --seed 2: other ISNs"; fi

# ---- Fixed ISNs: the numbers of RFC 9293 Figure 6 ------------------------------------------
run demo --isn-a 100 --isn-b 300
expect_status isn 0
expect_text isn "$TMP/out" "<SEQ=100><CTL=SYN>"
expect_text isn "$TMP/out" "<SEQ=300><ACK=101><CTL=SYN,ACK>"
expect_text isn "$TMP/out" "SYN-SENT     --> <SEQ=100><CTL=SYN>"
expect_text isn "$TMP/out" "<SEQ=101><ACK=301><CTL=ACK><DATA=11>"

# ---- Other options ---------------------------------------------------------------------------
run demo --msl 0.5 --delay 0.25 --message ping --seed 7
expect_status msl 0
expect_line msl "$TMP/out" '^ += [0-9]+\.[0-9]{6} s \+ 2 x MSL \(MSL = 0\.500000 s\)$'
expect_text msl "$TMP/out" "echo: 4 bytes sent by A, echoed by B, verified by A"
expect_text msl "$TMP/out" "<DATA=4>"
run demo --msl=2 --isn-a=4294967295 --isn-b=0
expect_status equals 0
expect_text equals "$TMP/out" "<SEQ=4294967295><CTL=SYN>"
expect_text equals "$TMP/out" "<SEQ=0><ACK=0><CTL=SYN,ACK>"
expect_text equals "$TMP/out" "(MSL = 2.000000 s)"

# ---- Scenarios and renderers -----------------------------------------------------------------
run demo --list
expect_status list 0
expect_line list "$TMP/out" '^scenarios \(synack demo --scenario NAME\):$'
expect_line list "$TMP/out" '^  handshake +the three-way handshake \(RFC 9293 Figure 6\)$'
expect_line list "$TMP/out" '^  syn-flood +'
run demo --scenario close
expect_status scenario 0
expect_line scenario "$TMP/out" '^scenario close: the normal four-way close \(RFC 9293 Figure 12\)$'
expect_line scenario "$TMP/out" '^What to look for:$'
expect_line scenario "$TMP/out" '^   6\. \(2 MSL\)$'
expect_line scenario "$TMP/out" '^states \(time spent in each\):$'
expect_line scenario "$TMP/out" '^    TIME-WAIT +240 s$'
expect_line scenario "$TMP/out" '^scenario OK$'
run demo --scenario=close --msl 1 --verbose
expect_status verbose 0
expect_line verbose "$TMP/out" '^ +time +TCP Peer A 10\.0\.0\.1:1000 +TCP Peer B 10\.0\.0\.2:2000$'
expect_line verbose "$TMP/out" '^   3\. 0\.[0-9]{6} +FIN-WAIT-2 +<-- .* wnd=[0-9]+ len=0( ts=[0-9]+/[0-9]+)? transit=1 ms$'
expect_line verbose "$TMP/out" '^    TIME-WAIT +2 s$'
run demo --svg "$TMP/d.svg" --json "$TMP/d.jsonl" --pcap "$TMP/d.pcap"
expect_status files 0
for f in d.svg d.jsonl d.pcap; do
    if [ -s "$TMP/$f" ]; then ok "files: $f written"; else bad "files: no $f"; fi
done
expect_text files "$TMP/d.svg" "<svg xmlns="
run demo --scenario handshake --svg "$TMP/no/such/dir/x.svg"
expect_status "unwritable svg" 1
expect_line "unwritable svg" "$TMP/err" 'cannot write .*x\.svg'

# ---- Help ------------------------------------------------------------------------------------
for args in "--help" "help" "demo --help" "-h"; do
    # shellcheck disable=SC2086
    run $args
    expect_status "synack $args" 0
    expect_line "synack $args" "$TMP/out" '^usage: synack <command> \[options\]$'
    if [ -s "$TMP/err" ]; then bad "synack $args: wrote to stderr"; else ok "synack $args: stderr empty"; fi
done

# ---- Bad usage: exit 2, an error and the usage on stderr, nothing on stdout ------------------
# bad_usage DESCRIPTION ARGS...
bad_usage() {
    what=$1
    shift
    run "$@"
    expect_status "$what" 2
    if grep -q '^usage: synack' "$TMP/err" && grep -q '^synack: ' "$TMP/err"; then
        ok "$what: error and usage on stderr"
    elif [ $# -eq 0 ] && grep -q '^usage: synack' "$TMP/err"; then
        ok "$what: usage on stderr"
    else
        bad "$what: no error and usage on stderr"
    fi
    if [ -s "$TMP/out" ]; then bad "$what: wrote to stdout"; else ok "$what: stdout empty"; fi
}

bad_usage "no command"
bad_usage "unknown command" frobnicate
bad_usage "unknown top-level flag" --no-such-flag
bad_usage "unknown flag" demo --no-such-flag
bad_usage "stray argument" demo extra
bad_usage "help with an argument" help demo
bad_usage "missing value" demo --seed
bad_usage "seed not a number" demo --seed abc
bad_usage "seed negative" demo --seed -1
bad_usage "seed with sign" demo --seed +1
bad_usage "seed empty" demo --seed ""
bad_usage "seed with blank" demo --seed " 1"
bad_usage "seed trailing junk" demo --seed 12x
bad_usage "seed hex" demo --seed 0x10
bad_usage "seed too big" demo --seed 18446744073709551616
bad_usage "isn-a too big" demo --isn-a 4294967296
bad_usage "isn-b fraction" demo --isn-b 1.5
bad_usage "isn-b negative" demo --isn-b -300
bad_usage "msl zero" demo --msl 0
bad_usage "msl below a microsecond" demo --msl 0.0000001
bad_usage "msl negative" demo --msl -1
bad_usage "msl too big" demo --msl 86400.5
bad_usage "msl nan" demo --msl nan
bad_usage "msl inf" demo --msl inf
bad_usage "msl exponent" demo --msl 1e3
bad_usage "msl two dots" demo --msl 1.2.3
bad_usage "msl only a dot" demo --msl .
bad_usage "delay negative" demo --delay -1
bad_usage "delay too big" demo --delay 60000.5
bad_usage "delay junk" demo --delay 1ms
bad_usage "message empty" demo --message ""
bad_usage "message missing" demo --message
bad_usage "unknown scenario" demo --scenario no-such-scenario
bad_usage "scenario missing" demo --scenario
bad_usage "message with a scenario" demo --scenario close --message hi
bad_usage "isn with a scenario" demo --isn-a 5 --scenario handshake
bad_usage "svg empty" demo --svg ""
bad_usage "json missing" demo --json
bad_usage "verbose with a value" demo --verbose=1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
