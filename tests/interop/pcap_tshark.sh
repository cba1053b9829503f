#!/bin/bash
# pcap: the captures of an interop run - `synack serve --pcap` (microsecond timestamps) and
# `synack connect --pcap --pcap-ns` (nanoseconds) - are pcap files with link type 228
# (LINKTYPE_IPV4) that tshark reads with IP and TCP checksum validation on, without a
# malformed packet or a bad checksum; their timestamps are real time, in order; and they hold
# every byte of the transfer.
. "$(dirname "$0")/lib.sh"
interop_init pcap_tshark "$@"
need nc python3 tshark od
ns_up

# header PCAP: "magic linktype" as two hex words, read little-endian.
header() {
    od -A n -t x4 --endian=little -N 24 "$1" | tr -s ' \n' ' ' | awk '{ print $1, $6 }'
}

# check PCAP MAGIC: header, tshark-clean, timestamps in order and near now.
check() {
    local pcap=$1 magic=$2 h now first last
    h=$(header "$pcap")
    [ "$h" = "$magic 000000e4" ] || fail "$pcap: header is '$h', want magic $magic and link type 228"
    tshark_clean "$pcap"
    now=$(date +%s)
    tshark -r "$pcap" -T fields -e frame.time_epoch 2>/dev/null >"$WORK/times.txt"
    sort -g -c "$WORK/times.txt" || fail "$pcap: timestamps are not in order"
    first=$(head -n 1 "$WORK/times.txt" | cut -d. -f1)
    last=$(tail -n 1 "$WORK/times.txt" | cut -d. -f1)
    [ $((now - first)) -lt 300 ] && [ "$last" -le "$now" ] ||
        fail "$pcap: timestamps $first..$last are not real time (now $now)"
}

random_file "$WORK/data.bin" 1
serve_start --echo --pcap "$WORK/serve.pcap"
in_ns timeout 60 nc -N "$SYNACK_IP" "$PORT" <"$WORK/data.bin" >"$WORK/data.echo" 2>"$WORK/nc.err" ||
    fail "nc failed"
cmp -s "$WORK/data.bin" "$WORK/data.echo" || fail "the echo differs"
serve_stop
check "$WORK/serve.pcap" a1b2c3d4
# Every byte both ways, as tshark sees them.
bytes=$(tshark -r "$WORK/serve.pcap" -Y "ip.src==$KERNEL_IP" -T fields -e tcp.len 2>/dev/null | awk '{ s += $1 } END { print s }')
[ "$bytes" -ge 1048576 ] || fail "the capture holds $bytes bytes from the kernel, not 1 MiB"
bytes=$(tshark -r "$WORK/serve.pcap" -Y "ip.src==$SYNACK_IP" -T fields -e tcp.len 2>/dev/null | awk '{ s += $1 } END { print s }')
[ "$bytes" -ge 1048576 ] || fail "the capture holds $bytes bytes from synack, not 1 MiB"

bg server ip netns exec "$NS" python3 "$PEER_PY" server "$KERNEL_IP" "$KPORT" 1 "$WORK/up.got" \
    --ready "$WORK/ready" --timeout 60
SERVER_PID=$LAST_PID
wait_for 10 test -e "$WORK/ready" || fail "the Python server did not start"
ip netns exec "$NS" timeout 60 "$SYNACK" connect --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" \
    "$KERNEL_IP" "$KPORT" --send "$WORK/data.bin" --recv "$WORK/down.got" \
    --pcap "$WORK/connect.pcap" --pcap-ns 2>"$WORK/connect.err" || fail "synack connect failed"
wait_pid "$SERVER_PID" "the Python server" 30
check "$WORK/connect.pcap" a1b23c4d
pass
