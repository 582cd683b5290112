#!/usr/bin/env bash
# Server under load and abuse, on loopback: `leakdex serve` over a generated password index,
# wrk at several concurrencies (random 5-hex prefixes, 10 s each), then the same load while
# slow and idle clients hold connections. Prints a table for RELIABILITY.md; exits non-zero if
# any request failed (socket errors other than the abusers', non-2xx answers).
#
#   benches/load.sh [LINES]            # default 1000000 corpus lines
#
# Needs python3, wrk (apt-get install wrk). Environment: LEAKDEX_LOAD_DIR (work directory,
# default target/load), LEAKDEX_LOAD_SECONDS (per run, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
lines=${1:-1000000}
work=${LEAKDEX_LOAD_DIR:-$root/target/load}
secs=${LEAKDEX_LOAD_SECONDS:-10}
command -v wrk >/dev/null || { echo "load.sh: wrk is missing (apt-get install wrk)"; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true
cargo build --release -q
bin=$root/target/release/leakdex
mkdir -p "$work"
[ -s "$work/pw-$lines.ldx" ] || {
    python3 benches/gen_corpus.py "$lines" > "$work/corpus.txt"
    "$bin" build -q --kind password -o "$work/pw-$lines.ldx" "$work/corpus.txt"
    rm -f "$work/corpus.txt"
}
python3 -c 'import random; r=random.Random(3); print("\n".join("%05X" % r.randrange(16**5) for _ in range(5000)))' > "$work/prefixes.txt"
export LEAKDEX_PREFIXES=$work/prefixes.txt
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Every client here (wrk and the abusers) is 127.0.0.1: the per-address cap is lifted to the
# connection cap, or wrk's connections would be closed beside the abusers'.
"$bin" serve -i "$work/pw-$lines.ldx" --listen "127.0.0.1:$port" --max-connections 4096 --header-timeout 5 \
    --max-connections-per-ip 4096 2>"$work/serve.log" &
spid=$!
abuser=
trap 'kill $spid $abuser 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening on" "$work/serve.log" && break; sleep 0.2; done
url=http://127.0.0.1:$port
failed=0
rows=()

# run LABEL CONNECTIONS: one wrk run; appends a table row.
run() {
    local label=$1 c=$2 threads=2 out rps p50 p99 errors non2xx
    [ "$c" -ge 2 ] || threads=1
    out=$(wrk -t"$threads" -c"$c" -d"${secs}s" --latency -s benches/ranges.lua "$url")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '/^ +50%/ {print $2}' <<<"$out")
    p99=$(awk '/^ +99%/ {print $2}' <<<"$out")
    errors=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    errors=${errors:-0} non2xx=${non2xx:-0}
    [ "$errors" = 0 ] && [ "$non2xx" = 0 ] || failed=1
    rows+=("$(printf '| %-52s | %5s | %10s | %8s | %8s | %6s | %6s |' "$label" "$c" "$rps" "$p50" "$p99" "$errors" "$non2xx")")
    echo "  $label, $c connections: $rps req/s, p50 $p50, p99 $p99, $errors socket errors, $non2xx non-2xx" >&2
}

echo "== leakdex serve, $lines-line password index, wrk ${secs}s per run" >&2
for c in 1 16 64 256 1024; do
    run "range requests" "$c"
done

# Abusers: 500 idle connections and 500 slowloris heads (a byte every 2 s), reopened as the
# server drops them, for the length of one run.
python3 - "$port" $((secs + 2)) <<'EOF' &
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + secs
conns = []
def fill():
    while len(conns) < 1000:
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        conns.append([s, len(conns) % 2 == 0, 0])
dropped = 0
fill()
while time.time() < end:
    for c in conns:
        s, slow, sent = c
        try:
            if s.recv(1) == b"":
                raise ConnectionError
        except BlockingIOError:
            pass
        except OSError:
            c[0] = None
            dropped += 1
            continue
        if slow:
            try:
                s.send(b"GET /range/21BD1 HTTP/1.1\r\nX-a: "[sent:sent + 1] or b"a")
                c[2] = sent + 1
            except OSError:
                c[0] = None
                dropped += 1
    conns[:] = [c for c in conns if c[0] is not None]
    fill()
    time.sleep(2)
print(f"abusers: the server dropped {dropped} slow or idle connections", file=sys.stderr)
EOF
abuser=$!
sleep 1
run "range requests beside 500 idle + 500 slowloris" 64
wait "$abuser" 2>/dev/null || true
abuser=

printf '| %-52s | %5s | %10s | %8s | %8s | %6s | %6s |\n' load conns "req/s" p50 p99 errors non-2xx
printf '|%s|------:|-----------:|---------:|---------:|-------:|-------:|\n' "$(printf -- '-%.0s' {1..54})"
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
    echo "load.sh: some requests failed" >&2
    exit 1
fi
