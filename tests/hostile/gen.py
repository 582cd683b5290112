#!/usr/bin/env python3
"""Writes a deliberately hostile corpus directory, a staff list, and the answers leakdex must
give, computed here and never by leakdex.

    python3 tests/hostile/gen.py OUT

OUT/corpus/  one source per top-level entry (files, and one directory of mixed files)
OUT/staff.csv  UTF-8 with a BOM, Japanese column names, the address column found by content
OUT/expected.json  {"rows": {normalized address: {"exposed", "sources", "count"}},
                    "warned": [paths that must get a WARNING line], "sha1": {address: hex}}

Every appearance of a person is written by `put`, which records the source and counts one
occurrence; traps are written with `trap`, which records nothing (what the trap would wrongly
index must stay clean). Normalization is computed with Python's own unicodedata and str.lower
(ASCII domains only, so UTS-46 is plain lowercasing).
"""

import bz2
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import unicodedata
import zipfile
from collections import defaultdict

OUT = sys.argv[1]
CORPUS = os.path.join(OUT, "corpus")
os.makedirs(CORPUS, exist_ok=True)

occurrences = defaultdict(lambda: defaultdict(int))  # address -> source -> count
staff = []  # (name, department, address as written in the staff list)
warned = []


def norm(addr):
    return unicodedata.normalize("NFC", addr.strip()).lower()


def put(source, addr):
    """Records one appearance of `addr` in `source` and returns it as written."""
    occurrences[norm(addr)][source] += 1
    return addr


def person(name, dept, addr):
    staff.append((name, dept, addr))


def write(rel, data):
    path = os.path.join(CORPUS, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# --- 1. combolists: email:password, ; | tab, passwords holding separators (source combo-2019)
src = "combo-2019"
lines = [
    put(src, "Aiko.Tanaka@agency.example") + ":hunter2",
    put(src, "carol@example.org") + ";pa;ss;wd",
    put(src, "dave@example.net") + "|p|q",
    put(src, "erin@example.com") + "\tpass word",
    "https://login.example.org/auth:" + put(src, "tina@example.com") + ":Pa:ss",
    put(src, "aiko.tanaka@agency.example") + ":second-time",
]
write("combo-2019.txt", "\r\n".join(lines) + "\r\n")

# --- 2. pretty-printed JSON array with escapes (source crm-export)
src = "crm-export"
doc = [
    {"id": 1, "email": put(src, "ren\u00e9@example.fr"), "note": "VIP"},
    {"id": 2, "contact": {"mail": put(src, "o'hara@example.com")}},
    {"id": 3, "email": put(src, "ruth@agency.example"), "tags": ["a", "b"]},
]
# ensure_ascii=True writes \u00e9: a free-text fallback would index `u00e9@…` fragments.
write("crm-export.json", json.dumps(doc, indent=2, ensure_ascii=True))
trap_clean = ["u00e9@example.fr", "hara@example.com"]

# --- 3. PostgreSQL dump: a string ending in a backslash, then INSERTs and a COPY block
src = "pg-dump"
pg = f"""--
-- PostgreSQL database dump
--
SET standard_conforming_strings = on;
CREATE TABLE public.files (id integer, path text);
INSERT INTO public.files VALUES (1, 'C:\\');
INSERT INTO public.users VALUES (1, '{put(src, "kenji@agency.example")}', 'x');
COPY public.accounts (id, email, name) FROM stdin;
1\t{put(src, "mori@example.co.jp")}\tMori
2\t{put(src, "yuki@agency.example")}\t\\N
\\.
INSERT INTO public.users VALUES (2, '{put(src, "zed@example.org")}', 'it''s');
"""
write("pg-dump.sql", pg)

# --- 4. MySQL dump, gzip-compressed, one long line of tuples with \\' escapes (source mysql-2018)
src = "mysql-2018"
tuples = ",".join(f"({i},'{put(src, a).replace(chr(39), chr(92) + chr(39))}','pw\\'{i}')" for i, a in enumerate(
    ["o'neil@example.com", "ivan+shop@example.com", "ruth@agency.example"]))
write("mysql-2018.sql.gz", gzip.compress(f"INSERT INTO `u` VALUES {tuples};".encode()))

# --- 5. Outlook CSV export in windows-1252 with Excel's sep=; line (source outlook)
src = "outlook"
rows = [
    "sep=;",
    "First Name;Last Name;Business Address;E-mail Address;E-mail 2 Address;E-mail 3 Address",
    f"Élodie;Durand;1 rue de la Paix, Paris;{put(src, 'élodie@example.fr')};;",
    f"Hans;Müller;Hauptstraße 1;{put(src, 'hans@example.de')};{put(src, 'h.mueller@example.de')};",
    f"Ann;Lee;2 Main St;{put(src, 'ann@example.com')};;{put(src, 'ann.lee@example.net')}",
]
write("outlook.csv", ("\r\n".join(rows) + "\r\n").encode("cp1252"))

# --- 6. free text: mail log with traps (source maillog); mbox with From_ lines (source mbox)
src = "maillog"
text = "\n".join([
    f"From: \"O'Brien\" <{put(src, 'o' + chr(39) + 'brien@example.com')}>",
    "Reply-To: sales=eu@example.com",  # read whole or skipped, never as eu@example.com
    f"routing: {put(src, 'first/last@example.com')} forwarded",
    f"profile https://intranet.example.com/u/{put(src, 'tina.k@example.com')} seen",
    "login https://admin:s3cret@host.example.com/ failed",
    "asset icon@2x.png loaded",
    f"NFD name: {put(src, unicodedata.normalize('NFD', 'josé@example.es'))}.",
    f"連絡先：{put(src, 'sato@agency.example')}。よろしく",
])
write("maillog.txt", text + "\n")
trap_clean += ["eu@example.com", "brien@example.com", "last@example.com", "s3cret@host.example.com", "admin@host.example.com"]

src = "mbox"
mbox = "".join(
    f"From {a} Mon Jan  1 00:00:00 2024\nFrom: {put(src, a)}\nSubject: hi\n\nbody\n\n"
    for a in ["ken@example.org", "lia@example.org"])
write("mbox.txt", mbox)

# --- 7. UTF-16 plain list (source utf16-list)
src = "utf16-list"
write("utf16-list.txt", ("\r\n".join([put(src, "zoë@example.com"), put(src, "田中@agency.example")]) + "\r\n")
      .encode("utf-16"))

# --- 8. a directory source of mixed files (source share), including binaries that must warn
src = "share"
write("share/contacts.tsv", f"name\tmail\nPat\t{put(src, 'pat@example.org')}\n")
write("share/notes.txt.bz2", bz2.compress(f"call {put(src, 'quinn@example.org')} today\n".encode()))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = f"{put(src, 'rosa@example.org')}\n".encode()
    info = tarfile.TarInfo("inner/list.txt")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
    link = tarfile.TarInfo("inner/link.txt")
    link.type = tarfile.SYMTYPE
    link.linkname = "list.txt"
    t.addfile(link)
write("share/archive.tar", buf.getvalue())
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("contacts.csv", f"email\n{put(src, 'hidden@example.org')}\n")
write("share/contacts.zip", zbuf.getvalue())
warned.append(write("share/report.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"))
warned.append(write("share/readme.txt", "This folder holds nothing useful.\n"))

# --- staff list: UTF-8 with BOM, Japanese headers; address column found by content
person("田中 愛子", "総務", "Aiko.Tanaka@Agency.example")
person("René", "Ventes", "René@example.fr")
person("O'Hara", "Sales", "o'hara@example.com")
person("Hara", "Sales", "hara@example.com")
person("Ruth", "IT", "ruth@agency.example")
person("Kenji", "IT", "kenji@agency.example")
person("Yuki", "IT", "yuki@agency.example")
person("Zed", "IT", "zed@example.org")
person("O'Neil", "Ops", "o'neil@example.com")
person("Élodie", "Ventes", "elodie@example.fr")  # no accent: must be clean
person("Élodie D.", "Ventes", "Élodie@example.fr")
person("Ann", "Ops", "ann.lee@example.net")
person("Brien", "Ops", "brien@example.com")
person("O'Brien", "Ops", "o'brien@example.com")
person("EU sales", "Sales", "eu@example.com")
person("Last", "Ops", "last@example.com")
person("First/Last", "Ops", "first/last@example.com")
person("Tina K", "Ops", "tina.k@example.com")
person("José (NFC)", "Ventas", "josé@example.es")
person("Sato", "総務", "sato@agency.example")
person("Ken", "Ops", "ken@example.org")
person("Zoë", "Ops", "zoë@example.com")
person("田中", "総務", "田中@agency.example")
person("Rosa", "Ops", "rosa@example.org")
person("Hidden", "Ops", "hidden@example.org")  # only inside the zip
person("Nobody", "Ops", "nobody@example.net")

with open(os.path.join(OUT, "staff.csv"), "w", encoding="utf-8-sig", newline="") as f:
    f.write("氏名,部署,連絡先\r\n")
    for name, dept, addr in staff:
        f.write(f"{name},{dept},{addr}\r\n")

# --- passwords (built with --kind password): login:password combos without addresses, a plain
# list whose first line is `password`, stealer-log blocks. PW_ROOT/ holds them, one source each.
PW_ROOT = os.path.join(OUT, "pw-corpus")
os.makedirs(PW_ROOT, exist_ok=True)
pw_seen = defaultdict(int)


def pw(p):
    pw_seen[p] += 1
    return p


def pw_write(rel, text):
    with open(os.path.join(PW_ROOT, rel), "w", encoding="utf-8", newline="") as f:
        f.write(text)


pw_write("logins.txt", "\n".join([
    "gamer01:" + pw("hunter2"),
    "bob_smith;" + pw("Tr0ub4dor&3"),
    "+81-90-1234-5678|" + pw("p@ss:w0rd"),
    "CORP\\jdoe:" + pw("Winter2024!"),
    "k.yamada:" + pw("さくら2024"),
]) + "\n")
pw_write("plain-pw.txt", "\n".join(pw(p) for p in ["password", "123456", "qwerty", "pass:word"]) + "\n")
pw_write("stealer.txt", "\n".join([
    "URL: https://login.example.com/",
    "Username: tina@example.com",
    "Password: " + pw("Sunny:Day99"),
    "",
    "===============",
    "Host: https://mail.example.org",
    "Login: tom",
    "Pass: " + pw("0ct0ber!"),
    "",
]))
pw_traps = ["gamer01:hunter2", "Password: Sunny:Day99", "Username: tina@example.com", "hunter3", "pass"]
pw_expected = {hashlib.sha1(p.encode()).hexdigest().upper(): pw_seen.get(p, 0) for p in list(pw_seen) + pw_traps}

expected = {}
for _, _, addr in staff:
    n = norm(addr)
    per = occurrences.get(n, {})
    expected[n] = {"exposed": bool(per), "sources": sorted(per), "count": sum(per.values())}
for t in trap_clean:
    assert not occurrences.get(t), t
assert not expected["hara@example.com"]["exposed"] and not expected["brien@example.com"]["exposed"]
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({
        "rows": expected,
        "warned": [os.path.relpath(w, CORPUS) for w in warned],
        "sha1": {n: hashlib.sha1(n.encode()).hexdigest().upper() for n in expected},
        "sources": sorted({s for per in occurrences.values() for s in per}),
        "passwords": {"check": list(pw_seen) + pw_traps, "counts": pw_expected},
    }, f, ensure_ascii=False, indent=1, sort_keys=True)
