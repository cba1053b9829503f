#!/bin/bash
# Kernel client to synack server: curl fetches the --http page. synack creates the TUN
# device itself (--tun names a device that does not exist yet), the test then gives the
# kernel's side its address, as docs/interop.md shows; on exit synack removes the device.
# The capture of the run must read clean in tshark, and --svg must draw each of the three
# connections as a well-formed SVG diagram (issue: the renderers work for live connections).
. "$(dirname "$0")/lib.sh"
interop_init http_curl "$@"
need curl tshark xmllint
PORT=8080 # HTTP's alternate port: tshark dissects the capture as HTTP
ns_up create
serve_start --http --pcap "$WORK/http.pcap" --svg "$WORK/conn.svg"
ip -n "$NS" link show "$TUN" >/dev/null 2>&1 || fail "synack did not create $TUN"
grep -q "created TUN device $TUN" "$WORK/serve.err" || fail "synack did not say it created $TUN"
kernel_side_up

in_ns curl -sS --max-time 10 -D "$WORK/headers.txt" -o "$WORK/page.html" \
    "http://$SYNACK_IP:$PORT/" 2>"$WORK/curl.err" || fail "curl failed: $(cat "$WORK/curl.err")"
grep -q '^HTTP/1.1 200 OK' "$WORK/headers.txt" || fail "not 200 OK: $(head -n 1 "$WORK/headers.txt")"
grep -q '<h1>Hello from synack</h1>' "$WORK/page.html" || fail "not the synack page"
grep -q "$KERNEL_IP" "$WORK/page.html" || fail "the page does not show the client's address"
len=$(tr -d '\r' <"$WORK/headers.txt" | awk -F': ' 'tolower($1) == "content-length" { print $2 }')
[ "$len" = "$(wc -c <"$WORK/page.html")" ] || fail "Content-Length $len is not the body's length"

# A path that does not exist: 404, and the server goes on serving.
code=$(in_ns curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$SYNACK_IP:$PORT/nope")
[ "$code" = 404 ] || fail "GET /nope gave $code, not 404"
code=$(in_ns curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$SYNACK_IP:$PORT/")
[ "$code" = 200 ] || fail "the third request gave $code"

serve_stop
if ip -n "$NS" link show "$TUN" >/dev/null 2>&1; then
    fail "$TUN is still there after synack exited (it created it, so it must remove it)"
fi
for svg in conn.svg conn-2.svg conn-3.svg; do
    [ -s "$WORK/$svg" ] || fail "--svg did not write $svg"
    xmllint --noout "$WORK/$svg" 2>"$WORK/xmllint.err" ||
        fail "$svg is not well-formed XML: $(head -n 3 "$WORK/xmllint.err")"
    grep -q 'SYN-RECEIVED' "$WORK/$svg" || fail "$svg does not show the handshake"
    grep -q 'CLOSED' "$WORK/$svg" || fail "$svg does not show the close"
done
tshark_clean "$WORK/http.pcap" full
n=$(tshark -r "$WORK/http.pcap" -Y http 2>/dev/null | wc -l)
[ "$n" -ge 6 ] || fail "tshark dissects only $n HTTP messages in the capture, not 3 requests and 3 responses"
pass
