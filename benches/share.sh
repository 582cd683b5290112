#!/usr/bin/env bash
# Throughput of reading a dumped file share (xlsx, docx, pptx, PDF, eml, a third of them in
# zip archives; benches/gen_share.py) with `leakdex build`, beside the usual extraction
# pipeline doing the same job in the same run: pdftotext for PDFs, unzip + sed for the office
# XML, the raw bytes for mail, all through `grep -oE` for addresses. Prints MB/s, files/s and
# how many of the written addresses each found. Not in CI (by hand; BENCHMARKS.md has figures).
#
#   benches/share.sh [SCALE]      # SCALE 1 (default): 60 files; SCALE 5: 300 files
#
# Needs python3 with openpyxl, python-docx, python-pptx, fpdf2; poppler-utils (pdftotext),
# unzip, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}
work=${LEAKDEX_SHARE_DIR:-$(pwd)/target/share-bench}
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
cargo build --release -q
bin=$(pwd)/target/release/leakdex
written=$(python3 benches/gen_share.py "$work" "$scale")
files=$(find "$work/share" -type f | wc -l)
bytes=$(du -sb "$work/share" | cut -f1)
echo "share: $files files, $((bytes / 1048576)) MiB, $written distinct addresses written"

/usr/bin/time -f "%e %M" -o "$work/t1" "$bin" build -q -o "$work/x.ldx" "$work/share"
read -r s1 kib1 < "$work/t1"
found1=$("$bin" bulk -i "$work/x.ldx" --format json "$work/expected.txt" 2>/dev/null | grep -c '"exposed":true' || true)

# The baseline: each file's text by the usual tool, then one regular expression.
extract() {
    case "$1" in
        *.pdf) pdftotext -q "$1" - ;;
        *.docx | *.xlsx | *.pptx) unzip -p "$1" '*.xml' | sed 's/<[^>]*>/ /g' ;;
        *.zip)
            d=$(mktemp -d)
            unzip -q "$1" -d "$d"
            find "$d" -type f | while read -r f; do extract "$f"; done
            rm -rf "$d"
            ;;
        *) cat "$1" ;;
    esac
}
export -f extract
baseline() {
    find "$work/share" -type f -print0 | xargs -0 -n 8 -P 2 bash -c 'for f; do extract "$f"; done' _ \
        | grep -aoE '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}' | tr 'A-Z' 'a-z' | sort -u > "$work/base.txt"
}
export work
/usr/bin/time -f "%e %M" -o "$work/t2" bash -c "$(declare -f baseline); baseline"
read -r s2 kib2 < "$work/t2"
found2=$(grep -cxFf "$work/expected.txt" "$work/base.txt" || true)

mib=$(python3 -c "print(f'{$bytes / 1048576:.1f}')")
row() { python3 -c "import sys; n, s, k, f = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]; print(f'| {n} | {s:.2f} s | {$mib / s:.1f} MB/s | {$files / s:.0f} files/s | {k // 1024} MiB | {f} of $written |')" "$@"; }
echo "| tool | wall | throughput | files | peak RSS | addresses found |"
echo "|---|---|---|---|---|---|"
row "leakdex build" "$s1" "$kib1" "$found1"
row "pdftotext, unzip+sed, grep (2 processes)" "$s2" "$kib2" "$found2"
