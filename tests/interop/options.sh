#!/bin/bash
# MSS and options (RFC 9293 3.7.1, RFC 7323, RFC 2018): the kernel's SYN options - MSS,
# SACK-permitted, timestamps, window scale - are parsed by synack and answered correctly,
# and synack's own SYN offers them to the kernel; the capture shows the negotiated values:
#   - the SYN-ACK answers every option of the SYN: MSS (synack's, from the MTU: 1460),
#     window scale, SACK-permitted, and a timestamp whose TSecr is the SYN's TSval;
#   - after the handshake every segment carries timestamps, both sides' windows are scaled
#     (tshark computes the scale factor from the SYNs), and no segment's data and options
#     exceed the peer's MSS (RFC 6691), while the largest ones reach it.
# Both directions: the kernel connecting to `synack serve`, and `synack connect` to the
# kernel. 1 MiB goes each way so that full-sized segments appear.
. "$(dirname "$0")/lib.sh"
interop_init options "$@"
need python3 tshark
ns_up

# tf PCAP FILTER FIELD...: the fields of the matching packets, tab-separated, one a line.
tf() {
    local pcap=$1 filter=$2
    shift 2
    local args=() f
    for f in "$@"; do args+=(-e "$f"); done
    tshark -r "$pcap" -Y "$filter" -T fields -E occurrence=f "${args[@]}" 2>/dev/null
}

# check_handshake PCAP CLIENT_IP SERVER_IP NAME_OF_SERVER: the checks above.
check_handshake() {
    local pcap=$1 cip=$2 sip=$3 server=$4 syn synack
    tshark_clean "$pcap"
    syn=$(tf "$pcap" "ip.src==$cip && tcp.flags.syn==1 && tcp.flags.ack==0" \
        tcp.options.mss_val tcp.options.wscale.shift tcp.options.sack_perm \
        tcp.options.timestamp.tsval | head -n 1)
    synack=$(tf "$pcap" "ip.src==$sip && tcp.flags.syn==1 && tcp.flags.ack==1" \
        tcp.options.mss_val tcp.options.wscale.shift tcp.options.sack_perm \
        tcp.options.timestamp.tsval tcp.options.timestamp.tsecr | head -n 1)
    say "$pcap: SYN from $cip: mss, wscale, sack_perm, tsval = $(echo $syn)"
    say "$pcap: SYN-ACK from $sip ($server): mss, wscale, sack_perm, tsval, tsecr = $(echo $synack)"
    local s_mss s_ws s_sack s_tsval a_mss a_ws a_sack a_tsval a_tsecr
    IFS=$'\t' read -r s_mss s_ws s_sack s_tsval <<<"$syn"
    IFS=$'\t' read -r a_mss a_ws a_sack a_tsval a_tsecr <<<"$synack"
    [ -n "$syn" ] || fail "$pcap: no SYN from $cip"
    [ -n "$synack" ] || fail "$pcap: no SYN-ACK from $sip"
    [ "$s_mss" = 1460 ] || fail "$pcap: the SYN's MSS is '$s_mss', not 1460"
    [ -n "$s_ws" ] || fail "$pcap: the SYN has no window scale option"
    [ -n "$s_sack" ] || fail "$pcap: the SYN has no SACK-permitted option"
    [ -n "$s_tsval" ] || fail "$pcap: the SYN has no timestamps option"
    [ "$a_mss" = 1460 ] || fail "$pcap: the SYN-ACK's MSS is '$a_mss', not 1460"
    [ -n "$a_ws" ] || fail "$pcap: $server's SYN-ACK does not answer the window scale option"
    [ -n "$a_sack" ] || fail "$pcap: $server's SYN-ACK does not answer SACK-permitted"
    [ -n "$a_tsval" ] || fail "$pcap: $server's SYN-ACK does not answer the timestamps option"
    [ "$a_tsecr" = "$s_tsval" ] ||
        fail "$pcap: the SYN-ACK's TSecr $a_tsecr does not echo the SYN's TSval $s_tsval"

    # After the handshake: timestamps on every segment, windows scaled, segments <= MSS.
    local ip no_ts scale want max
    for ip in "$cip" "$sip"; do
        no_ts=$(tshark -r "$pcap" -Y "ip.src==$ip && tcp.flags.syn==0 && tcp.flags.reset==0 && !tcp.options.timestamp.tsval" 2>/dev/null | wc -l)
        [ "$no_ts" = 0 ] || fail "$pcap: $no_ts segments from $ip without timestamps"
        # RFC 6691: the MSS counts data and TCP options (beyond the 20-byte header).
        max=$(tf "$pcap" "ip.src==$ip" tcp.len tcp.hdr_len | awk '{ print $1 + $2 - 20 }' |
            sort -n | tail -n 1)
        [ "${max:-0}" -le 1460 ] ||
            fail "$pcap: a segment from $ip carries $max bytes of data and options, more than the MSS 1460"
        [ "${max:-0}" = 1460 ] || fail "$pcap: no full-sized segment from $ip (largest $max)"
    done
    scale=$(tf "$pcap" "ip.src==$sip && tcp.flags.syn==0" tcp.window_size_scalefactor | sort -u | head -n 1)
    want=$((1 << a_ws))
    [ "$scale" = "$want" ] || fail "$pcap: $server's window scale factor is '$scale', not $want"
    scale=$(tf "$pcap" "ip.src==$cip && tcp.flags.syn==0" tcp.window_size_scalefactor | sort -u | head -n 1)
    want=$((1 << s_ws))
    [ "$scale" = "$want" ] || fail "$pcap: the client's window scale factor is '$scale', not $want"
}

# 1. The kernel connects to synack.
serve_start --echo --pcap "$WORK/server.pcap" --verbose
in_ns timeout 120 python3 "$PEER_PY" echo-client "$SYNACK_IP" "$PORT" 1 --timeout 60 \
    >"$WORK/client.out" 2>"$WORK/client.err" || fail "the 1 MiB echo failed: $(cat "$WORK/client.out")"
# The kernel's MSS 1460 less the 12 bytes of the timestamps option every segment carries
# (RFC 6691): 1448 bytes of data per segment, as Linux itself uses.
grep -q "connected (MSS 1448)" "$WORK/serve.err" || fail "synack did not take the kernel's MSS 1460 (less 12 for timestamps)"
serve_stop
check_handshake "$WORK/server.pcap" "$KERNEL_IP" "$SYNACK_IP" synack

# 2. synack connects to the kernel.
random_file "$WORK/up.bin" 1
bg server ip netns exec "$NS" python3 "$PEER_PY" server "$KERNEL_IP" "$KPORT" 1 "$WORK/up.got" \
    --ready "$WORK/ready" --timeout 60
SERVER_PID=$LAST_PID
wait_for 10 test -e "$WORK/ready" || fail "the Python server did not start"
ip netns exec "$NS" timeout 120 "$SYNACK" connect --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" \
    "$KERNEL_IP" "$KPORT" --send "$WORK/up.bin" --recv "$WORK/down.got" \
    --pcap "$WORK/client.pcap" --verbose 2>"$WORK/connect.err" ||
    fail "synack connect failed: $(tail -n 3 "$WORK/connect.err")"
wait_pid "$SERVER_PID" "the Python server" 30
grep -q "(MSS 1448)" "$WORK/connect.err" || fail "synack did not take the kernel's MSS 1460 (less 12 for timestamps)"
check_handshake "$WORK/client.pcap" "$SYNACK_IP" "$KERNEL_IP" kernel
pass
