#!/usr/bin/env bash
# Scale harness: leakdex beside the baselines people use today, on one generated corpus.
#
#   benches/scale.sh [LINES ...]          # default: 1000000 10000000
#
# Needs python3, GNU time (/usr/bin/time), sort, grep, rg, sqlite3, wrk and nginx:
#   apt-get install time ripgrep sqlite3 wrk nginx-light
# Environment: LEAKDEX_SCALE_DIR (work directory, default target/scale), LEAKDEX_SCALE_MEMORY
# (budget for leakdex build and sort -S, default 1G), LEAKDEX_SCALE_STAFF (staff list size,
# default 10000, half of it exposed), LEAKDEX_SCALE_BULK (the large bulk list, default 1000000),
# LEAKDEX_SCALE_RUNS (runs per figure, default 3; medians).
# Generated data stays in the work directory; never commit it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${LEAKDEX_SCALE_DIR:-$root/target/scale}
mem=${LEAKDEX_SCALE_MEMORY:-1G}
staff_n=${LEAKDEX_SCALE_STAFF:-10000}
big_n=${LEAKDEX_SCALE_BULK:-1000000}
runs=${LEAKDEX_SCALE_RUNS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
for tool in python3 /usr/bin/time sort grep rg sqlite3 wrk; do
    command -v "$tool" >/dev/null || { echo "scale.sh: $tool is missing (apt-get install time ripgrep sqlite3 wrk nginx-light)"; exit 2; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "scale.sh: nginx is missing (apt-get install nginx-light)"; exit 2; }
mkdir -p "$work"
cargo build --release -q
bin=$root/target/release/leakdex

# measure NAME CMD...: median wall seconds and peak RSS (MiB) over $runs runs -> $sec $rss
measure() {
    local name=$1; shift
    local times=() peak=0 out r
    for _ in $(seq "$runs"); do
        # Output to a file, not /dev/null: GNU grep stops at the first match when it sees
        # /dev/null, even with -c. Exit 1 is an answer here (bulk: someone exposed; grep: none).
        out=$({ /usr/bin/time -f "%e %M" "$@" 2>&1 >"$work/measure.out" || true; } | tail -1)
        times+=("${out% *}")
        r=${out#* }
        if [ "$r" -gt "$peak" ]; then peak=$r; fi
    done
    sec=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    rss=$((peak / 1024))
    printf '  %-44s %8.2f s %7d MiB\n' "$name" "$sec" "$rss" >&2
}

# ratio A B: A / B, written 1/N when it is below 0.1 (so that 1/800 does not print as 0.00).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else if (a > 0 && a / b < 0.1) printf "1/%.0f", b / a; else printf "%.2f", a / b }'; }

# A free loopback port.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

table=()
for n in "${sizes[@]}"; do
    d=$work/$n
    mkdir -p "$d"
    echo "== $n lines" >&2
    # Generated once, each into a temporary name first: an interrupted run leaves no partial file.
    [ -s "$d/corpus.txt" ] || { python3 benches/gen_corpus.py "$n" > "$d/corpus.tmp" && mv "$d/corpus.tmp" "$d/corpus.txt"; }
    # The address column, extracted once (not timed), for sort and SQLite.
    [ -s "$d/addresses.txt" ] || { awk -F'[:;|]' '{print $1}' "$d/corpus.txt" > "$d/addresses.tmp" && mv "$d/addresses.tmp" "$d/addresses.txt"; }
    # Staff: half taken from the corpus (exposed), half absent; known exposed fraction 50 %.
    python3 - "$d" "$staff_n" <<'EOF'
import random, sys
d, m = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
lines = open(f"{d}/addresses.txt").read().split("\n")[:-1]
present = rng.sample(lines, m // 2)
absent = [f"absent{i}.staff@agency.example" for i in range(m - m // 2)]
staff = present + absent
rng.shuffle(staff)
open(f"{d}/staff.txt", "w").write("\n".join(staff) + "\n")
EOF
    bytes=$(stat -c %s "$d/corpus.txt")

    measure "leakdex build --memory $mem" "$bin" build -q --memory "$mem" -o "$d/index.ldx" "$d/corpus.txt"
    build_s=$sec build_rss=$rss
    measure "sort -u -S $mem --parallel=2 (column)" env LC_ALL=C sort -u -S "$mem" --parallel=2 -o "$d/sorted.txt" "$d/addresses.txt"
    sort_s=$sec sort_rss=$rss
    entries=$("$bin" info -i "$d/index.ldx" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["entries"])')
    index_bytes=$(stat -c %s "$d/index.ldx")

    measure "leakdex bulk ($staff_n staff)" "$bin" bulk -i "$d/index.ldx" --format csv "$d/staff.txt"
    bulk_s=$sec
    # Bulk at scale: a list of $big_n addresses (half exposed), and cold-start page counts.
    python3 - "$d" "$big_n" <<'EOF'
import random, sys
d, m = sys.argv[1], int(sys.argv[2])
rng = random.Random(11)
lines = open(f"{d}/addresses.txt").read().split("\n")[:-1]
present = [rng.choice(lines) for _ in range(m // 2)]
staff = present + [f"absent{i}.big@agency.example" for i in range(m - m // 2)]
rng.shuffle(staff)
open(f"{d}/staff-big.txt", "w").write("\n".join(staff) + "\n")
EOF
    measure "leakdex bulk ($big_n staff, csv)" "$bin" bulk -i "$d/index.ldx" --format csv "$d/staff-big.txt"
    big_s=$sec big_rss=$rss
    cold=$(bash benches/coldstart.sh "$d/index.ldx" "$d/staff.txt" 20 2>/dev/null)
    cold_hit=$(echo "$cold" | awk '/exposed: / && !/not/ {print $(NF-2), "max", $NF}' | tr -d ,)
    cold_miss=$(echo "$cold" | awk '/not exposed/ {print $(NF-2), "max", $NF}' | tr -d ,)
    echo "$cold" | sed 's/^/  /' >&2
    measure "grep -F -c -f staff corpus" grep -F -c -f "$d/staff.txt" "$d/corpus.txt"
    grep_s=$sec
    measure "rg -F -c -f staff corpus" rg -F -c -f "$d/staff.txt" "$d/corpus.txt"
    rg_s=$sec

    # SQLite: a WITHOUT ROWID table keyed by the SHA-1 of the lowercased address.
    python3 - "$d" <<'EOF'
import hashlib, sys
d = sys.argv[1]
with open(f"{d}/hashes.csv", "w") as out:
    for a in open(f"{d}/addresses.txt"):
        out.write(hashlib.sha1(a.strip().lower().encode()).hexdigest() + "\n")
with open(f"{d}/staff-hashes.csv", "w") as out:
    for a in open(f"{d}/staff.txt"):
        out.write(hashlib.sha1(a.strip().lower().encode()).hexdigest() + "\n")
EOF
    cat > "$d/import.sql" <<EOF
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE raw(h TEXT);
.import $d/hashes.csv raw
CREATE TABLE t(h TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
INSERT INTO t SELECT h, count(*) FROM raw GROUP BY h;
DROP TABLE raw;
EOF
    sqlite_import() { rm -f "$d/db.sqlite"; sqlite3 "$d/db.sqlite" < "$d/import.sql"; }
    export -f sqlite_import; export d
    measure "sqlite import + index" bash -c 'sqlite_import'
    sqlite_import_s=$sec
    cat > "$d/lookup.sql" <<EOF
CREATE TEMP TABLE s(h TEXT);
.import $d/staff-hashes.csv s
SELECT count(*) FROM s JOIN t USING (h);
EOF
    measure "sqlite lookups ($staff_n staff)" sqlite3 "$d/db.sqlite" ".read $d/lookup.sql"
    sqlite_lookup_s=$sec
    sqlite_bytes=$(stat -c %s "$d/db.sqlite")

    # Server throughput: leakdex serve against nginx serving export-ranges, same load.
    "$bin" build -q --kind password -o "$d/pw.ldx" "$d/corpus.txt"
    rm -rf "$d/pw-ranges"; "$bin" export-ranges -i "$d/pw.ldx" -o "$d/pw-ranges" 2>/dev/null
    python3 -c 'import random; r=random.Random(3); print("\n".join("%05X" % r.randrange(16**5) for _ in range(5000)))' > "$d/prefixes.txt"
    export LEAKDEX_PREFIXES=$d/prefixes.txt
    lport=$(port)
    "$bin" serve -i "$d/pw.ldx" --listen "127.0.0.1:$lport" 2>/dev/null & spid=$!
    nport=$(port)
    mkdir -p "$d/nginx/logs" "$d/nginx/tmp"
    sed -e "s|listen 8080;|listen 127.0.0.1:$nport;|" -e "s|/srv/leakdex/ranges|$d/pw-ranges|" docs/nginx-ranges.conf > "$d/nginx/server.conf"
    cat > "$d/nginx/nginx.conf" <<EOF
daemon off; worker_processes 2; pid $d/nginx/nginx.pid; error_log $d/nginx/logs/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $d/nginx/tmp; proxy_temp_path $d/nginx/tmp;
  fastcgi_temp_path $d/nginx/tmp; uwsgi_temp_path $d/nginx/tmp; scgi_temp_path $d/nginx/tmp;
  include $d/nginx/server.conf; }
EOF
    "$nginx_bin" -p "$d/nginx" -c "$d/nginx/nginx.conf" 2>/dev/null & npid=$!
    sleep 1
    wrk_rps() { wrk -t2 -c64 -d10s --latency -s benches/ranges.lua "$1" | awk '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} END {print r, p}'; }
    read -r serve_rps serve_p99 < <(wrk_rps "http://127.0.0.1:$lport")
    read -r nginx_rps nginx_p99 < <(wrk_rps "http://127.0.0.1:$nport")
    kill "$spid" "$npid" 2>/dev/null || true
    wait "$spid" "$npid" 2>/dev/null || true
    printf '  %-44s %10s req/s p99 %s\n' "leakdex serve" "$serve_rps" "$serve_p99" >&2
    printf '  %-44s %10s req/s p99 %s\n' "nginx + export-ranges" "$nginx_rps" "$nginx_p99" >&2

    table+=("| $n | build | $build_s s, $build_rss MiB | sort -u: $sort_s s, $sort_rss MiB | $(ratio "$build_s" "$sort_s") |")
    table+=("| $n | build lines/s | $(awk -v n="$n" -v s="$build_s" 'BEGIN {printf "%.2f M", n / s / 1e6}') | | |")
    table+=("| $n | bulk $staff_n staff | $bulk_s s | grep -F -f: $grep_s s; rg -F -f: $rg_s s; SQLite: $sqlite_lookup_s s after a $sqlite_import_s s import | $(ratio "$bulk_s" "$grep_s") (grep), $(ratio "$bulk_s" "$rg_s") (rg), $(ratio "$bulk_s" "$sqlite_lookup_s") (SQLite) |")
    table+=("| $n | bulk $big_n staff (csv) | $big_s s, $big_rss MiB; $(awk -v n="$big_n" -v s="$big_s" 'BEGIN {printf "%.0f", s / n * 1e9}') ns per address end to end | | |")
    table+=("| $n | cold check: index pages read (median max of 20) | exposed: $cold_hit; not exposed: $cold_miss | | |")
    table+=("| $n | bytes per entry | $(ratio "$index_bytes" "$entries") ($entries entries) | corpus text: $(ratio "$bytes" "$entries"); SQLite: $(ratio "$sqlite_bytes" "$entries") | $(ratio "$index_bytes" "$sqlite_bytes") (SQLite) |")
    table+=("| $n | range requests/s (64 conns) | $serve_rps, p99 $serve_p99 | nginx + export: $nginx_rps, p99 $nginx_p99 | $(ratio "$serve_rps" "$nginx_rps") |")
done

echo
echo "| lines | figure | leakdex | baseline | leakdex ÷ baseline |"
echo "|---:|---|---|---|---|"
printf '%s\n' "${table[@]}"
