#!/usr/bin/env bash
# Cold start: how many pages of the index one `leakdex check` reads when the index is not in
# the page cache (the number that matters when the index is bigger than RAM).
#
#   benches/coldstart.sh INDEX ADDRESSES_FILE [COUNT]
#
# For each of the first COUNT addresses (default 20): drops the index from the page cache
# (posix_fadvise DONTNEED: no root needed, clean pages only), runs `leakdex check`, and counts
# the index's pages that are resident afterwards (fincore, util-linux). `check` maps the index
# with MADV_RANDOM, so each fault reads one page and resident pages = pages touched. Prints
# one line per address and the median and maximum for hits and for misses.
set -euo pipefail
cd "$(dirname "$0")/.."
index=$1
addresses=$2
count=${3:-20}
command -v fincore >/dev/null || { echo "coldstart.sh: fincore is missing (apt-get install util-linux)"; exit 2; }
bin=${LEAKDEX_BIN:-target/release/leakdex}
[ -x "$bin" ] || cargo build --release -q
evict() { python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$1"; }
hits=() misses=()
while IFS= read -r address; do
    evict "$index"
    before=$(fincore -n -b -o PAGES "$index" | tr -d ' ')
    [ "$before" = 0 ] || { echo "coldstart.sh: could not evict $index ($before pages stay resident)"; exit 2; }
    status=0
    "$bin" check -i "$index" "$address" >/dev/null || status=$?
    pages=$(fincore -n -b -o PAGES "$index" | tr -d ' ')
    case $status in
        0) misses+=("$pages"); kind=miss ;;
        1) hits+=("$pages"); kind=hit ;;
        *) echo "coldstart.sh: check failed on $address"; exit 2 ;;
    esac
    echo "  $kind: $pages pages" >&2
done < <(head -n "$count" "$addresses")
summary() {
    local name=$1; shift
    [ $# -gt 0 ] || { echo "$name: none"; return; }
    printf '%s\n' "$@" | sort -n | awk -v n="$name" '{a[NR] = $1} END {printf "%s: %d checks, pages touched median %d, max %d\n", n, NR, a[int((NR + 1) / 2)], a[NR]}'
}
summary "cold check, exposed" "${hits[@]}"
summary "cold check, not exposed" "${misses[@]}"
