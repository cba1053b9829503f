#!/usr/bin/env bash
# bench/install-peers.sh: installs what the benchmark peers of issue 6 need, from Debian's
# packages: liblwip-dev (lwIP 2.1.3: headers, liblwip.so, its lwipopts.h), iproute2 (ip, for
# the kernel runs' network namespaces and veth pair), ethtool (offloads on/off) and the
# build tools. Idempotent: what is installed already is left as it is. Needs root (or sudo)
# and apt-get; fails loudly, naming what is missing afterwards.
set -euo pipefail

PACKAGES=(liblwip-dev iproute2 ethtool build-essential cmake pkg-config)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-peers.sh: all installed: ${PACKAGES[*]}"
    exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-peers.sh: FAILED: must run as root (or have sudo) to install ${missing[*]}" >&2
        exit 1
    }
    SUDO=sudo
fi
command -v apt-get >/dev/null || {
    echo "install-peers.sh: FAILED: no apt-get (a Debian system is needed for ${missing[*]})" >&2
    exit 1
}
echo "install-peers.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"

for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || {
        echo "install-peers.sh: FAILED: $pkg is still not installed" >&2
        exit 1
    }
done
if ! dpkg -L liblwip-dev | grep -q '/liblwip\.so$' || [ ! -f /usr/include/lwip/lwipopts.h ]; then
    echo "install-peers.sh: FAILED: liblwip-dev ships no liblwip.so or lwipopts.h" >&2
    exit 1
fi
echo "install-peers.sh: done"
