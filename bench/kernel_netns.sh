#!/usr/bin/env bash
# bench/kernel_netns.sh: runs bench/kernel_bench (the Linux kernel as benchmark peer, issue 6)
# inside network namespaces of its own, so that no traffic leaves them.
#
#   kernel_netns.sh [--path loopback|veth|tun] [--offload on|off] BENCH [ARGS...]
#
#   --path loopback (default): one namespace; both sides on its lo, MTU 1500 (GSO/TSO on, as
#                     lo always has them); server 127.0.0.1, clients 127.0.0.2 and up.
#                     RESULT impl: kernel.
#   --path veth:      two namespaces joined by a veth pair, MTU 1500; the server in one
#                     (10.78.0.1), the client in the other (10.78.0.2 .. 10.78.0.33).
#                     --offload on (default): TSO, GSO and GRO on; impl kernel-veth.
#                     --offload off: TSO, GSO and GRO off on both ends (ethtool -K): the
#                     kernel's per-packet cost; impl kernel-nooffload.
#   --path tun:       one namespace with a TUN device lwtun0, MTU 1500, the kernel at
#                     10.79.0.1; BENCH is lwip_bench, which attaches to the device as
#                     10.79.0.2 and runs W1b with the kernel's sockets as peer.
#   ARGS go to the benchmark (workload ids, --quick, --rounds...); --impl, --server-netns and
#   the addresses are set here.
#
# Inside the namespaces: ports 1024-65535, listen backlog 65535, TIME-WAIT reuse as the
# kernel's default. The fd limits (ulimit -n, and fs.nr_open, which is machine-wide) are
# raised for the benchmark only; fs.nr_open is put back on exit. Everything made here is
# removed on exit, also on failure or interruption (trap).
#
# Needs root, ip (iproute2) and, for --path veth, ethtool. Exit status: the benchmark's; 77
# when it cannot run here (not root, no tool), saying why; 2 on bad usage.
set -euo pipefail

PATH_KIND=loopback
OFFLOAD=on
while [ $# -gt 0 ]; do
    case "$1" in
        --path | --offload)
            [ $# -ge 2 ] || { echo "kernel_netns.sh: $1 needs a value" >&2; exit 2; }
            if [ "$1" = --path ]; then PATH_KIND=$2; else OFFLOAD=$2; fi
            shift 2 ;;
        --) shift; break ;;
        -*) echo "kernel_netns.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [ $# -lt 1 ] || { [ "$PATH_KIND" != loopback ] && [ "$PATH_KIND" != veth ] &&
    [ "$PATH_KIND" != tun ]; } ||
    { [ "$OFFLOAD" != on ] && [ "$OFFLOAD" != off ]; }; then
    sed -n '2,25p' "$0" >&2
    exit 2
fi
BENCH=$1
shift

skip() {
    echo "kernel_netns.sh: SKIPPED: $*" >&2
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root to make network namespaces (run as root; CI does)"
command -v ip >/dev/null || skip "needs ip (iproute2): bench/install-peers.sh installs it"
if [ "$PATH_KIND" = veth ]; then
    command -v ethtool >/dev/null || skip "needs ethtool: bench/install-peers.sh installs it"
fi
if [ "$PATH_KIND" = tun ]; then
    [ -c /dev/net/tun ] || skip "needs /dev/net/tun (the tun driver)"
fi
[ -x "$BENCH" ] || { echo "kernel_netns.sh: $BENCH is not an executable" >&2; exit 2; }

# Names unique to this run, so that runs at once do not meet.
NS_SRV=synack-kb-srv-$$
NS_CLI=synack-kb-cli-$$
NR_OPEN_WAS=$(cat /proc/sys/fs/nr_open)
FDS=2200000 # both ends of 1M connections live in the one benchmark process

cleanup() {
    ip netns del "$NS_SRV" 2>/dev/null || true
    ip netns del "$NS_CLI" 2>/dev/null || true
    echo "$NR_OPEN_WAS" >/proc/sys/fs/nr_open 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ns_setup NS: loopback up at MTU 1500, and the sysctls of a connection-heavy benchmark.
ns_setup() {
    ip netns add "$1"
    ip -n "$1" link set lo mtu 1500 up
    ip netns exec "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
        net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
}

if [ "$NR_OPEN_WAS" -lt "$FDS" ]; then
    echo "$FDS" >/proc/sys/fs/nr_open
fi
ulimit -n "$FDS" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "INFO fd limit $(ulimit -n) per fd table (fs.nr_open $(cat /proc/sys/fs/nr_open))"

if [ "$PATH_KIND" = loopback ]; then
    ns_setup "$NS_CLI"
    ip netns exec "$NS_CLI" "$BENCH" --impl kernel --server-addr 127.0.0.1 \
        --client-addr 127.0.0.2 --client-count 32 "$@"
elif [ "$PATH_KIND" = tun ]; then
    ns_setup "$NS_CLI"
    ip -n "$NS_CLI" tuntap add dev lwtun0 mode tun
    ip -n "$NS_CLI" link set lwtun0 mtu 1500 up
    ip -n "$NS_CLI" addr add 10.79.0.1/24 dev lwtun0
    ip netns exec "$NS_CLI" "$BENCH" --tun lwtun0 --tun-addr 10.79.0.2 \
        --kernel-addr 10.79.0.1 "$@"
else
    ns_setup "$NS_SRV"
    ns_setup "$NS_CLI"
    ip link add kb0 netns "$NS_SRV" type veth peer name kb1 netns "$NS_CLI"
    ip -n "$NS_SRV" link set kb0 mtu 1500 up
    ip -n "$NS_CLI" link set kb1 mtu 1500 up
    ip -n "$NS_SRV" addr add 10.78.0.1/24 dev kb0
    for i in $(seq 2 33); do
        ip -n "$NS_CLI" addr add "10.78.0.$i/24" dev kb1
    done
    ip netns exec "$NS_SRV" ethtool -K kb0 tso "$OFFLOAD" gso "$OFFLOAD" gro "$OFFLOAD"
    ip netns exec "$NS_CLI" ethtool -K kb1 tso "$OFFLOAD" gso "$OFFLOAD" gro "$OFFLOAD"
    impl=kernel-veth
    [ "$OFFLOAD" = off ] && impl=kernel-nooffload
    echo "INFO $impl veth offloads: $(ip netns exec "$NS_CLI" ethtool -k kb1 |
        grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' |
        tr -s ' \n' ' ')"
    ip netns exec "$NS_CLI" "$BENCH" --impl "$impl" --server-netns "$NS_SRV" \
        --server-addr 10.78.0.1 --client-addr 10.78.0.2 --client-count 32 "$@"
fi
