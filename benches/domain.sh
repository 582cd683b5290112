#!/usr/bin/env bash
# Domain search timing: `leakdex domain` on an index of LINES lines over many domains.
#
#   benches/domain.sh [LINES]        # default 10000000
#
# The corpus has LINES / 10 distinct domains (subdomains of a few hundred parents, all under
# reserved names), so the DOMAINS section is large, as in a real leak with junk domains.
# Prints the build time and the median wall time of one `leakdex domain` process asking 5
# domains (process start included), over 21 runs, with and without --subdomains.
# Environment: LEAKDEX_DOMAIN_DIR (work directory, default target/domain-bench).
# Generated data stays in the work directory; never commit it.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${LEAKDEX_DOMAIN_DIR:-$(pwd)/target/domain-bench}
mkdir -p "$work"
cargo build --release -q
bin=$(pwd)/target/release/leakdex
corpus=$work/corpus-$n.txt
if [ ! -s "$corpus" ]; then
    python3 - "$n" > "$corpus.tmp" <<'PY'
import random, sys
n = int(sys.argv[1]); rng = random.Random(3); d = max(1, n // 10); out = []
for i in range(n):
    k = rng.randrange(d)
    out.append(f"u{rng.randrange(n)}@h{k}.p{k % 500}.example.com:pw\n")
    if len(out) >= 100_000:
        sys.stdout.write("".join(out)); out = []
sys.stdout.write("".join(out))
PY
    mv "$corpus.tmp" "$corpus"
fi
index=$work/domains-$n.ldx
rm -f "$index"
start=$(date +%s.%N)
"$bin" build -q --memory 1G -o "$index" "$corpus"
echo "build of $n lines: $(echo "$(date +%s.%N) - $start" | bc) s, $(stat -c %s "$index") bytes"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for flag in "" "--subdomains"; do
    times=()
    for r in $(seq 21); do
        s=$(date +%s%N)
        "$bin" domain -i "$index" --format json $flag "h$r.p$r.example.com" "p$((r * 7 % 500)).example.com" \
            example.com "h$((r * 13)).p$((r * 13 % 500)).example.com" "absent$r.example.org" > /dev/null || true
        times+=($(( ($(date +%s%N) - s) / 1000 )))
    done
    echo "domain ${flag:-(own)}: median $(printf '%s\n' "${times[@]}" | median) µs per process (5 domains)"
done
