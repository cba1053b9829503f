#!/bin/sh
# make-pictures.sh: draws the pictures of docs/scenarios.md with synack itself, so that
# every picture in the documentation is real output of the current code.
#
# usage: docs/make-pictures.sh [path/to/synack]      (default: build/synack)
#
# For every scenario of `synack demo --list` it writes into docs/img/:
#   NAME.svg   the sequence diagram (synack demo --scenario NAME --svg ...)
#   NAME.txt   the text output: explanation, ladder, results, state summary
#   NAME.png   the SVG rendered to PNG, when rsvg-convert is installed
# The files are build outputs (docs/img/.gitignore keeps them out of git).

set -eu

cd "$(dirname "$0")/.."
SYNACK=${1:-build/synack}
OUT=docs/img

if [ ! -x "$SYNACK" ]; then
    echo "make-pictures.sh: $SYNACK is not an executable; build first or pass its path" >&2
    exit 2
fi
mkdir -p "$OUT"
png=0
if command -v rsvg-convert >/dev/null 2>&1; then
    png=1
else
    echo "make-pictures.sh: rsvg-convert not found (apt-get install librsvg2-bin): no PNGs" >&2
fi
n=0
for name in $("$SYNACK" demo --list | awk 'NR > 1 { print $1 }'); do
    # A scenario that shows a behaviour the engine lacks exits 1: its picture is still drawn.
    "$SYNACK" demo --scenario "$name" --svg "$OUT/$name.svg" >"$OUT/$name.txt" 2>/dev/null || true
    if [ "$png" -eq 1 ]; then
        rsvg-convert "$OUT/$name.svg" -o "$OUT/$name.png"
    fi
    n=$((n + 1))
done
echo "make-pictures.sh: $n scenarios drawn into $OUT/"
