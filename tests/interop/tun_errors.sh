#!/bin/bash
# Clear errors when the TUN device cannot be opened, and exit status 1:
#   - the name belongs to an interface that is not a TUN device (lo);
#   - the TUN device is in use by another process (another synack);
#   - no permission (an unprivileged user, without CAP_NET_ADMIN);
#   - no /dev/net/tun (hidden under an empty tmpfs in a mount namespace of synack's own).
. "$(dirname "$0")/lib.sh"
interop_init tun_errors "$@"
need setpriv unshare mount
ns_up

# expect_error NAME PATTERN CMD...: CMD exits 1 and says PATTERN on stderr.
expect_error() {
    local name=$1 pattern=$2 rc
    shift 2
    "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    rc=$?
    [ "$rc" = 1 ] || fail "$name: exit status $rc, not 1: $(cat "$WORK/$name.err")"
    grep -Eqi "$pattern" "$WORK/$name.err" || fail "$name: the error does not say '$pattern': $(cat "$WORK/$name.err")"
    say "$name: $(head -n 1 "$WORK/$name.err")"
}

expect_error not_tun 'lo.*not a TUN device' \
    in_ns timeout 10 "$SYNACK" serve --tun lo --addr "$SYNACK_IP/$PREFIX" --port "$PORT"

serve_start --echo
expect_error in_use "$TUN.*in use" \
    in_ns timeout 10 "$SYNACK" serve --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" --port "$PORT"
serve_stop

expect_error no_permission 'permission|CAP_NET_ADMIN' \
    in_ns timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$SYNACK" serve --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" --port "$PORT"
expect_error no_permission_create 'permission|CAP_NET_ADMIN' \
    in_ns timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$SYNACK" connect --tun synack9 --addr "$SYNACK_IP/$PREFIX" "$KERNEL_IP" "$KPORT"
expect_error no_dev_net_tun '/dev/net/tun.*(No such file|missing)' \
    in_ns unshare --mount sh -c 'mount -t tmpfs tmpfs /dev/net && exec "$@"' sh \
    timeout 10 "$SYNACK" serve --tun "$TUN" --addr "$SYNACK_IP/$PREFIX" --port "$PORT"
pass
