#!/usr/bin/env python3
"""Deterministic synthetic combolist for the build and bulk figures in BENCHMARKS.md.

    python3 benches/gen_corpus.py LINES > corpus.txt

Addresses are drawn from 3/4 * LINES distinct ones (so about a quarter of the lines repeat an
address), under reserved domains only, with `:`, `;` and `|` separators and mixed case.
Write the output outside the repository: large corpora are never committed.
"""
import random
import sys

FIRST = "aki ben chiara dmitri eva femi greta hiro ines jon kai lena mateo noor oskar priya quinn rosa sven tariq".split()
LAST = "ito berg rossi petrov novak adeyemi larsen mori silva holm kato weber garcia haddad nilsson rao lee costa lund aziz".split()
DOMAINS = ["example.com", "example.org", "example.net", "mail.test", "shop.example", "webmail.example", "Example.COM"]
SEPS = [":", ";", "|"]


def main() -> None:
    n = int(sys.argv[1])
    rng = random.Random(1)
    out = sys.stdout
    buf = []
    for _ in range(n):
        k = rng.randrange(max(1, n * 3 // 4))
        buf.append(f"{FIRST[k % 20]}.{LAST[(k // 20) % 20]}{k}@{DOMAINS[k % 7]}{SEPS[k % 3]}pw{k * 7919 % 100000}\n")
        if len(buf) >= 100_000:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))


if __name__ == "__main__":
    main()
