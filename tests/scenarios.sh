#!/bin/sh
# scenarios.sh: every scenario of `synack demo --list` runs, its text output equals its golden
# file (tests/golden/NAME.txt), and its SVG, JSON and pcap outputs pass their checks:
#   - SVG: well-formed XML (xmllint) and renders to PNG (rsvg-convert);
#   - JSON: every line is one JSON object with the documented fields (jq);
#   - pcap: tshark reads it, finds no malformed packet, and at least one packet per segment
#     the stacks sent.
# The scenarios the issue names must all be in the list, and the same run twice gives the
# same text (determinism).
#
# usage: tests/scenarios.sh path/to/synack path/to/tests/golden
# A tool that is missing fails the test when CI=true and is skipped with a message
# otherwise. After an intended change of behaviour, regenerate the golden files with
# tests/update-golden.sh and review the diff.
# Prints "N passed, N failed" like the C tests; exits non-zero if any check failed.

set -u

SYNACK=${1:?usage: scenarios.sh path/to/synack path/to/golden}
GOLDEN=${2:?usage: scenarios.sh path/to/synack path/to/golden}
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1" >&2; }

# Scenarios the engine cannot show yet, each with the reason (issue 3 of the engine). Such a
# scenario must fail with its own message; when it starts passing, remove it from this list.
EXPECTED_FAIL=""
expected_fail() {
    case " $EXPECTED_FAIL " in *" $1 "*) return 0 ;; esac
    return 1
}

# have TOOL PACKAGE: is TOOL installed? Missing: a failure under CI, a skip otherwise.
have() {
    if command -v "$1" >/dev/null 2>&1; then
        return 0
    fi
    if [ "${CI:-}" = "true" ]; then
        bad "$1 is not installed (Debian package $2), and CI needs it"
    else
        echo "SKIP $1 checks: $1 is not installed (apt-get install $2)"
    fi
    return 1
}
HAVE_XMLLINT=0; have xmllint libxml2-utils && HAVE_XMLLINT=1
HAVE_RSVG=0; have rsvg-convert librsvg2-bin && HAVE_RSVG=1
HAVE_JQ=0; have jq jq && HAVE_JQ=1
HAVE_TSHARK=0; have tshark tshark && HAVE_TSHARK=1

# ---- The list ---------------------------------------------------------------------------------
"$SYNACK" demo --list >"$TMP/list" 2>&1 || bad "synack demo --list failed"
names=$(awk 'NR > 1 { print $1 }' "$TMP/list")
for want in handshake simultaneous-open old-duplicate-syn half-open half-open-data \
    two-passive close simultaneous-close half-close lost-syn lost-syn-ack lost-fin \
    lost-final-ack time-wait refused abort fast-retransmit zero-window wraparound syn-flood; do
    if echo "$names" | grep -qx -- "$want"; then ok "list: $want"; else bad "list: no $want"; fi
done
if awk 'NR > 1 && NF < 2 { exit 1 }' "$TMP/list"; then
    ok "list: every scenario has a description"
else
    bad "list: a scenario without a description"
fi

# ---- Every scenario -----------------------------------------------------------------------------
for name in $names; do
    out="$TMP/$name"
    "$SYNACK" demo --scenario "$name" --svg "$out.svg" --json "$out.jsonl" --pcap "$out.pcap" \
        >"$out.txt" 2>"$out.err"
    status=$?
    if expected_fail "$name"; then
        if [ "$status" -eq 1 ] && grep -q "^scenario FAILED: " "$out.txt"; then
            ok "$name: fails as expected: $(sed -n 's/^scenario FAILED: //p' "$out.txt")"
        else
            bad "$name: expected to fail (exit $status): remove it from EXPECTED_FAIL"
        fi
    elif [ "$status" -eq 0 ] && grep -q "^\(scenario\|demo\) OK$" "$out.txt"; then
        ok "$name: exit 0"
    else
        bad "$name: exit $status: $(cat "$out.err")"
    fi

    # The text: the golden file, and the same again on a second run.
    if [ ! -f "$GOLDEN/$name.txt" ]; then
        bad "$name: no golden file $GOLDEN/$name.txt (tests/update-golden.sh makes it)"
    elif cmp -s "$GOLDEN/$name.txt" "$out.txt"; then
        ok "$name: text equals the golden file"
    else
        bad "$name: text differs from $GOLDEN/$name.txt:"
        diff -u "$GOLDEN/$name.txt" "$out.txt" | head -40 >&2
    fi
    "$SYNACK" demo --scenario "$name" >"$out.again" 2>/dev/null
    if cmp -s "$out.txt" "$out.again"; then ok "$name: reproducible"; else bad "$name: two runs differ"; fi
    if "$SYNACK" demo --scenario "$name" --verbose >"$out.verbose" 2>/dev/null || expected_fail "$name"; then
        if grep -q "^ *[0-9]*\. *[0-9]*\.[0-9]\{6\}  " "$out.verbose"; then
            ok "$name: --verbose has the time column"
        else
            bad "$name: --verbose has no time column"
        fi
    else
        bad "$name: --verbose failed"
    fi

    # SVG.
    if [ ! -s "$out.svg" ]; then
        bad "$name: no SVG written"
    else
        if [ "$HAVE_XMLLINT" -eq 1 ]; then
            if xmllint --noout "$out.svg" 2>"$out.xmlerr"; then
                ok "$name: SVG is well-formed XML"
            else
                bad "$name: SVG is not well-formed: $(head -3 "$out.xmlerr")"
            fi
        fi
        if [ "$HAVE_RSVG" -eq 1 ]; then
            if rsvg-convert "$out.svg" -o "$out.png" 2>"$out.rsvgerr" && [ -s "$out.png" ] &&
                [ ! -s "$out.rsvgerr" ]; then
                ok "$name: SVG renders to PNG"
            else
                bad "$name: rsvg-convert failed: $(head -3 "$out.rsvgerr")"
            fi
        fi
    fi

    # JSON lines.
    if [ ! -s "$out.jsonl" ]; then
        bad "$name: no JSON written"
    elif [ "$HAVE_JQ" -eq 1 ]; then
        lines=$(wc -l <"$out.jsonl")
        objects=$(jq -s 'length' "$out.jsonl" 2>"$out.jqerr")
        fields=$(jq -c 'select((has("time_us") and has("time") and has("event") and has("side")
                 and has("direction") and has("seq") and has("ack") and has("flags")
                 and has("window") and has("length") and has("old_state")
                 and has("new_state") and has("reason")) | not)' "$out.jsonl" 2>>"$out.jqerr")
        if [ -n "$objects" ] && [ "$objects" -eq "$lines" ] && [ -z "$fields" ] &&
            [ ! -s "$out.jqerr" ]; then
            ok "$name: $lines JSON lines, one object each, every field present"
        else
            bad "$name: JSON: $lines lines, ${objects:-?} objects: $(head -3 "$out.jqerr") $fields"
        fi
    fi

    # pcap.
    if [ ! -s "$out.pcap" ]; then
        bad "$name: no pcap written"
    elif [ "$HAVE_TSHARK" -eq 1 ]; then
        packets=$(tshark -r "$out.pcap" -T fields -e frame.number 2>"$out.tsharkerr" | wc -l)
        malformed=$(tshark -r "$out.pcap" -Y '_ws.malformed' 2>/dev/null | wc -l)
        sent=0
        [ "$HAVE_JQ" -eq 1 ] && sent=$(jq -s '[.[] | select(.event == "seg_out")] | length' "$out.jsonl")
        if grep -qv "Running as user" "$out.tsharkerr"; then
            bad "$name: tshark: $(head -3 "$out.tsharkerr")"
        elif [ "$packets" -gt 0 ] && [ "$packets" -ge "$sent" ] && [ "$malformed" -eq 0 ]; then
            ok "$name: pcap reads cleanly in tshark ($packets packets)"
        else
            bad "$name: pcap: $packets packets, $sent sent, $malformed malformed"
        fi
    fi
done

# ---- The ladders quoted in docs/scenarios.md are real output ------------------------------------
DOC="$GOLDEN/../../docs/scenarios.md"
if [ -f "$DOC" ]; then
    for name in $(sed -n 's/^<!-- ladder: \(.*\) -->$/\1/p' "$DOC"); do
        # The text block after the marker must be consecutive lines of the golden file.
        awk -v name="$name" '
            $0 == "<!-- ladder: " name " -->" { want = 1; next }
            want == 1 && /^```text$/ { want = 2; next }
            want == 2 && /^```$/ { exit }
            want == 2 { print }' "$DOC" >"$TMP/doc-$name"
        if [ -s "$TMP/doc-$name" ] && awk '
            NR == FNR { block[++n] = $0; next }
            { golden[++m] = $0 }
            END {
                for (i = 1; i + n - 1 <= m; i++) {
                    ok = 1
                    for (j = 1; j <= n; j++)
                        if (golden[i + j - 1] != block[j]) { ok = 0; break }
                    if (ok) exit 0
                }
                exit 1
            }' "$TMP/doc-$name" "$GOLDEN/$name.txt"; then
            ok "docs/scenarios.md: the $name ladder is synack's output"
        else
            bad "docs/scenarios.md: the $name ladder differs from $GOLDEN/$name.txt"
        fi
    done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
