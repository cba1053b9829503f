#!/bin/sh
# update-golden.sh: regenerates tests/golden/NAME.txt, the expected text output of every
# scenario (`synack demo --scenario NAME`), after an intended change of behaviour (in the
# engine, the stack or the renderers). Review the differences before committing them: each
# one is a change a reader of docs/scenarios.md will see.
#
# usage: tests/update-golden.sh [path/to/synack]     (default: build/synack)

set -u

cd "$(dirname "$0")/.." || exit 1
SYNACK=${1:-build/synack}
GOLDEN=tests/golden

if [ ! -x "$SYNACK" ]; then
    echo "update-golden.sh: $SYNACK is not an executable; build first or pass its path" >&2
    exit 2
fi
mkdir -p "$GOLDEN"
changed=0
for name in $("$SYNACK" demo --list | awk 'NR > 1 { print $1 }'); do
    tmp="$GOLDEN/.$name.txt.new"
    "$SYNACK" demo --scenario "$name" >"$tmp" 2>/dev/null
    if [ -f "$GOLDEN/$name.txt" ] && cmp -s "$tmp" "$GOLDEN/$name.txt"; then
        rm -f "$tmp"
    else
        mv "$tmp" "$GOLDEN/$name.txt"
        echo "updated $GOLDEN/$name.txt"
        changed=$((changed + 1))
    fi
done
echo "$changed golden file(s) changed"
