#!/bin/bash
# The command line of `synack serve` and `synack connect`: bad usage exits with status 2 and
# the usage on stderr, --help exits 0 with the usage on stdout. Needs no privilege: every
# case fails before a device is opened.
set -u
SYNACK=${1:?usage: $0 SYNACK_BINARY}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/synack-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failed=0
passed=0

# expect STATUS STREAM PATTERN ARGS...: `synack ARGS` exits STATUS and STREAM (out or err)
# matches PATTERN.
expect() {
    local want=$1 stream=$2 pattern=$3 rc
    shift 3
    "$SYNACK" "$@" </dev/null >"$WORK/out" 2>"$WORK/err"
    rc=$?
    if [ "$rc" != "$want" ] || ! grep -Eq -- "$pattern" "$WORK/$stream"; then
        printf 'FAIL synack %s: status %s (want %s), %s: %s\n' "$*" "$rc" "$want" "$stream" \
            "$(head -n 3 "$WORK/$stream")"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
}

A=(--tun tun9 --addr 10.0.0.2/24)
expect 0 out 'usage: synack serve' serve --help
expect 0 out 'usage: synack connect' connect --help
expect 0 out '--loss P' serve --help
expect 2 err 'usage: synack serve' serve
expect 2 err '--tun NAME is required' serve --addr 10.0.0.2/24 --port 7
expect 2 err '--addr A.B.C.D/N is required' serve --tun tun9 --port 7
expect 2 err '--port P is required' serve "${A[@]}"
expect 2 err 'not a port number' serve "${A[@]}" --port 0
expect 2 err 'not a port number' serve "${A[@]}" --port 65536
expect 2 err 'not a host address' serve --tun tun9 --addr 300.0.0.2/24 --port 7
expect 2 err 'not a host address' serve --tun tun9 --addr 10.0.0.2/33 --port 7
expect 2 err 'not a host address' serve --tun tun9 --addr 0.0.0.0/0 --port 7
expect 2 err 'choose one of' serve "${A[@]}" --port 7 --echo --http
expect 2 err 'not a probability' serve "${A[@]}" --port 7 --loss 1.5
expect 2 err 'not a probability' serve "${A[@]}" --port 7 --loss -1
expect 2 err 'not a number of milliseconds' serve "${A[@]}" --port 7 --delay abc
expect 2 err 'not a number of seconds' serve "${A[@]}" --port 7 --msl 0
expect 2 err 'needs a value' serve "${A[@]}" --port
expect 2 err "unknown option '--nope'" serve "${A[@]}" --port 7 --nope
expect 2 err 'unexpected argument' serve "${A[@]}" --port 7 extra
expect 2 err 'not an interface name' serve --tun a/b --addr 10.0.0.2/24 --port 7
expect 2 err 'HOST and PORT are required' connect "${A[@]}" 10.0.0.1
expect 2 err 'not an IPv4 address' connect "${A[@]}" example.org 80
expect 2 err 'not a port number' connect "${A[@]}" 10.0.0.1 http
expect 2 err "synack's own address" connect "${A[@]}" 10.0.0.2 80
expect 2 err "unknown option '--http'" connect "${A[@]}" 10.0.0.1 80 --http
expect 2 err 'not a number of seconds' connect "${A[@]}" 10.0.0.1 80 --connect-timeout 0
expect 2 err 'choose one of --send and --bytes' connect "${A[@]}" 10.0.0.1 80 --bytes 5 --send f
expect 2 err 'is not on or off' serve "${A[@]}" --port 7 --offload yes
expect 2 err 'cannot be combined' serve "${A[@]}" --port 7 --offload on --loss 1%

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
