"""Generator for tests/ntlm_audit.rs: a leaked-password corpus as NTLM hash lists, and one
directory's accounts exported in every layout leakdex reads, with the answers expected.

NT hashes come from this file's own MD4 (RFC 1320): hashlib's md4 is gone under OpenSSL 3,
and leakdex's own hashing must not compute the expected answers. Synthetic data only.

Writes into the current directory:
  leak-a.txt, leak-b.txt   HASH:COUNT lines (Pwned Passwords NTLM style), disjoint
  exports/<name>           the directory in one layout each
  clean.txt                an export where no password leaked (a disabled Guest without one)
  expected.json            per export: rows by line number, sharing groups, summary figures
"""
import json
import os
import random
import struct


def md4(data: bytes) -> bytes:
    """MD4, RFC 1320."""
    def f(x, y, z): return (x & y) | (~x & z)
    def g(x, y, z): return (x & y) | (x & z) | (y & z)
    def h(x, y, z): return x ^ y ^ z
    def rol(v, s):
        v &= 0xFFFFFFFF
        return ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        aa, bb, cc, dd = a, b, c, d
        for k in (0, 4, 8, 12):  # round 1
            a = rol(a + f(b, c, d) + x[k], 3)
            d = rol(d + f(a, b, c) + x[k + 1], 7)
            c = rol(c + f(d, a, b) + x[k + 2], 11)
            b = rol(b + f(c, d, a) + x[k + 3], 19)
        for k in (0, 1, 2, 3):  # round 2
            a = rol(a + g(b, c, d) + x[k] + 0x5A827999, 3)
            d = rol(d + g(a, b, c) + x[k + 4] + 0x5A827999, 5)
            c = rol(c + g(d, a, b) + x[k + 8] + 0x5A827999, 9)
            b = rol(b + g(c, d, a) + x[k + 12] + 0x5A827999, 13)
        for k in (0, 2, 1, 3):  # round 3
            a = rol(a + h(b, c, d) + x[k] + 0x6ED9EBA1, 3)
            d = rol(d + h(a, b, c) + x[k + 8] + 0x6ED9EBA1, 9)
            c = rol(c + h(d, a, b) + x[k + 4] + 0x6ED9EBA1, 11)
            b = rol(b + h(c, d, a) + x[k + 12] + 0x6ED9EBA1, 15)
        a, b, c, d = (a + aa) & 0xFFFFFFFF, (b + bb) & 0xFFFFFFFF, (c + cc) & 0xFFFFFFFF, (d + dd) & 0xFFFFFFFF
    return struct.pack("<4I", a, b, c, d)


def nt(password: str) -> str:
    return md4(password.encode("utf-16-le")).hex()


# RFC 1320's test vectors, and the well-known NT hash of "password".
assert md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
assert md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
assert md4(b"12345678901234567890123456789012345678901234567890123456789012345678901234567890").hex() == "e33b4ddc9c38f2199c3e7b164fcc0536"
assert nt("password") == "8846f7eaee8fb117ad06bdd830b7586c"

EMPTY = nt("")
LM_NONE = "aad3b435b51404eeaad3b435b51404ee"
rng = random.Random(12)

# Leaked passwords: several scripts, punctuation, one beyond the BMP (a surrogate pair in
# UTF-16), each in one source only.
LEAK_A = ["Summer2024!", "password", "Passw0rd", "letmein", "пароль123", "contraseña", "Winter#2023", "qwerty123"]
LEAK_B = ["パスワード", "Zaq1@wsx", "🔑key2022", "Ünïcödé!", "dragon", "Welcome1", "P@ssw0rd", ""]
counts = {}
with open("leak-a.txt", "w") as fa, open("leak-b.txt", "w") as fb:
    for src, f in (("leak-a", fa), ("leak-b", fb)):
        for pw in (LEAK_A if src == "leak-a" else LEAK_B):
            c = rng.randint(1, 100000)
            counts[nt(pw)] = (c, src)
            f.write(f"{nt(pw).upper()}:{c}\n")


def fresh():
    """A password that is in no leak."""
    return "".join(rng.choice("abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679#%&") for _ in range(18))


DOMAIN = "CORP.EXAMPLE"
shared_leaked = "Welcome1"
shared_fresh = fresh()
# (user, rid, current password, [old passwords], disabled)
people = [
    ("alice", 1104, "Summer2024!", ["password", fresh()], False),
    ("bob", 1105, shared_leaked, [], False),
    ("carol", 1106, shared_leaked, ["Winter#2023"], False),
    ("dave", 1107, shared_leaked, [], True),
    ("erin", 1108, shared_fresh, ["dragon"], False),
    ("frank", 1109, shared_fresh, [], False),
    ("Jürgen.Müller", 1110, "contraseña", [], False),
    ("山田太郎", 1111, "パスワード", [fresh()], False),
    ("Ольга", 1112, fresh(), ["пароль123"], False),
    ("grace", 1113, "🔑key2022", [], False),
    ("heidi", 1114, fresh(), [], False),
    ("ivan", 1115, fresh(), [fresh(), fresh()], False),
    ("judy", 1116, "", [], False),  # an enabled account with no password
    ("Guest", 501, "", [], True),  # the Windows default: disabled, no password
    ("krbtgt", 502, fresh(), [], True),
    ("svc-backup", 1117, "Zaq1@wsx", [], False),
    ("WS-0042$", 2201, fresh() * 6, [], False),  # machine accounts: long random passwords
    ("DC01$", 1000, fresh() * 6, [], False),
]
for i in range(12):
    people.append((f"user{i:02}", 1200 + i, rng.choice(LEAK_A + [fresh(), fresh()]), [], False))


def expected_row(name, history, pw, line):
    h = nt(pw)
    c, src = counts.get(h, (0, None))
    return {
        "line": line,
        "account": name,
        "history": history,
        "exposed": c > 0,
        "empty_password": h == EMPTY,
        "count": c,
        "sources": [src] if src else [],
    }


# A line that is no export line and holds a password: reported by number, never echoed.
GARBAGE = "note to self: the vpn password is Summer2024! (do not share)"


def export(layout, *, domain=True, history=True, status=False, kerberos=False, banner=False, garbage=True):
    """Lines of one export and the rows expected from it."""
    lines, rows = [], []

    def add(text, row=None):
        lines.append(text)
        if row is not None:
            row["line"] = len(lines)
            rows.append(row)

    if banner:
        add("Impacket v0.12.0 - Copyright Fortra, LLC and its affiliated companies")
        add("")
        add("[*] Target system bootKey: 0x0123456789abcdef0123456789abcdef")
        add("[*] Dumping Domain Credentials (domain\\uid:rid:lmhash:nthash)")
        add("[*] Searching for pekList, be patient")
    for n, (user, rid, pw, old, disabled) in enumerate(people):
        name = f"{DOMAIN}\\{user}" if domain else user
        gens = [(None, pw)] + ([(i, p) for i, p in enumerate(old)] if history else [])
        for gen, p in gens:
            shown = name if gen is None else f"{name}_history{gen}"
            h = nt(p)
            row = expected_row(name, gen, p, 0)
            if layout == "secretsdump":
                text = f"{shown}:{rid}:{LM_NONE}:{h}:::"
                if status and gen is None:
                    text += f" (status={'Disabled' if disabled else 'Enabled'})"
            elif layout == "pwdump":
                lm = "NO LM-HASH**********************"
                text = f"{shown}:{rid}:{lm}:{h.upper()}:::"
            elif layout == "hashcat":
                text = f"{shown}:{h.upper()}"
            elif layout == "john":
                text = f"{shown}:$NT${h}"
            elif layout == "ophcrack":
                text = f"{shown}::{LM_NONE}:{h}:S-1-5-21-1004336348-1177238915-682003330-{rid}::"
            elif layout == "mimikatz":
                if gen is not None:
                    continue
                text = f"{rid}\t{user}\t{h}\t{514 if disabled else 512}"
                row["account"] = user
            elif layout == "nthash":
                text = h.upper()
                row["account"] = None
            row["_hash"] = h
            add(text, row)
        if garbage and n == 5:
            add(GARBAGE)
        if kerberos and n < 3:
            add(f"{name}:aes256-cts-hmac-sha1-96:{rng.randbytes(32).hex()}")
            add(f"{name}:des-cbc-md5:{rng.randbytes(8).hex()}")
    if banner:
        add("[*] Cleaning up...")
    return lines, rows


def groups_of(rows, hashes):
    """Line numbers of the accounts sharing one current, non-empty hash, sorted."""
    by = {}
    for r in rows:
        if r["history"] is None and hashes[r["line"]] != EMPTY:
            by.setdefault(hashes[r["line"]], []).append(r["line"])
    return sorted(sorted(v) for v in by.values() if len(v) > 1)


os.makedirs("exports", exist_ok=True)
EXPORTS = {
    # name: (layout, options, encoding, line end, BOM)
    "secretsdump.ntds": ("secretsdump", dict(status=True, kerberos=True, banner=True), "utf-8", "\n", False),
    "secretsdump-crlf-bom.txt": ("secretsdump", dict(status=False), "utf-8", "\r\n", True),
    "pwdump-history.txt": ("pwdump", dict(domain=False), "utf-8", "\r\n", False),
    "hashcat-nt-history.txt": ("hashcat", dict(domain=False), "utf-16-le", "\r\n", True),
    "john-nt.txt": ("john", dict(domain=False, history=False), "utf-8", "\n", False),
    "ophcrack.txt": ("ophcrack", dict(domain=False, history=False), "utf-8", "\n", False),
    "dcsync.csv": ("mimikatz", dict(domain=False), "utf-8", "\n", False),
    "nthash.txt": ("nthash", dict(history=False, garbage=False), "utf-8", "\n", False),
}
expected = {}
for fname, (layout, opts, enc, eol, bom) in EXPORTS.items():
    lines, rows = export(layout, **opts)
    text = eol.join(lines) + eol
    data = text.encode(enc)
    if bom:
        data = ("\ufeff".encode(enc)) + data
    with open(os.path.join("exports", fname), "wb") as f:
        f.write(data)
    garbage_lines = [i + 1 for i, l in enumerate(lines) if l == GARBAGE]
    current = [r for r in rows if r["history"] is None]
    expected[fname] = {
        "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        "groups": groups_of(rows, {r["line"]: r["_hash"] for r in rows}),
        "garbage_lines": garbage_lines,
        "accounts": len(current),
        "exposed": sum(1 for r in current if r["exposed"]),
    }

# An export where nothing leaked: only fresh passwords, and a disabled Guest without one.
clean_lines = [f"{DOMAIN}\\Guest:501:{LM_NONE}:{EMPTY}::: (status=Disabled)"]
for i in range(5):
    clean_lines.append(f"{DOMAIN}\\clean{i}:{1300 + i}:{LM_NONE}:{nt(fresh())}::: (status=Enabled)")
with open("clean.txt", "w") as f:
    f.write("\n".join(clean_lines) + "\n")

# Every hash written anywhere, for the test that none is printed without --show-hashes.
all_hashes = sorted({nt(pw) for _, _, pw, old, _ in people for pw in [pw] + old})
expected["_all_hashes"] = all_hashes
expected["_garbage"] = GARBAGE
with open("expected.json", "w") as f:
    json.dump(expected, f, ensure_ascii=False, indent=1)
