#!/usr/bin/env python3
"""Decompression bombs for benches/hostile.sh, written without leakdex: zip archives by hand
(struct + zlib: Python's zipfile cannot write overlapping members, and compressing GiBs through
it would take minutes), the xlsx with zipfile streaming, the PDF with pikepdf.

    python3 benches/bombs.py KIND PATH
    KIND: zip-zeros | zip-overlap | zip-deep[:MAX_DEPTH] | xlsx-strings | pdf-stream
          (known gaps, run by hostile.sh only with LEAKDEX_HOSTILE_KNOWN_GAPS=1:
          xlsx-strings-5m | zip-gz-spool)

Each prints what a correct build of it yields (the addresses it holds within the default
limits), one line, for the script to compare.
"""

import io
import struct
import sys
import zipfile
import zlib

MiB = 1 << 20


def deflated_repeat(chunk, count, crc=True):
    """Raw deflate of `chunk` repeated `count` times, computed once: a full flush after each
    chunk resets the compressor, so every chunk compresses to the same bytes. Returns the
    stream, the expanded size and the CRC-32."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    value = 0
    for _ in range(count if crc else 0):
        value = zlib.crc32(chunk, value)
    return one * count + end, len(chunk) * count, value


def deflated(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def local_header(name, comp, size, crc):
    return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, comp, size, len(name), 0) + name


def central_entry(name, comp, size, crc, offset):
    return (
        struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, comp, size, len(name), 0, 0, 0, 0, 0, offset)
        + name
    )


def end_record(count, cd_len, cd_start):
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_len, cd_start, 0)


def zip_of(members):
    """A zip (deflate) of (name, data) pairs, written by hand like the bombs."""
    body = io.BytesIO()
    cd = b""
    for name, data in members:
        name = name.encode()
        comp = deflated(data)
        off = body.tell()
        crc = zlib.crc32(data)
        body.write(local_header(name, len(comp), len(data), crc) + comp)
        cd += central_entry(name, len(comp), len(data), crc, off)
    start = body.tell()
    return body.getvalue() + cd + end_record(len(members), len(cd), start)


def zip_zeros(path):
    """A 2 GiB member of zeros deflated about 1011:1 (2 MB), then a member with one address:
    the bomb is cut by --max-ratio and the next member still read."""
    comp, size, crc = deflated_repeat(bytes(MiB), 2048)
    after = b"after.bomb@example.com:pw\n"
    acomp = deflated(after)
    with open(path, "wb") as f:
        f.write(local_header(b"zeros.bin", len(comp), size, crc))
        f.write(comp)
        off2 = f.tell()
        f.write(local_header(b"after.txt", len(acomp), len(after), zlib.crc32(after)))
        f.write(acomp)
        cd = central_entry(b"zeros.bin", len(comp), size, crc, 0)
        cd += central_entry(b"after.txt", len(acomp), len(after), zlib.crc32(after), off2)
        start = f.tell()
        f.write(cd + end_record(2, len(cd), start))
    print("after.bomb@example.com")


def zip_overlap(path):
    """The overlapping-file construction (as in 42.zip's successors): one member of a good
    address, then 250 central-directory entries that all point at the same local file, 64 MiB
    of NUL bytes with one random high byte every 512 (about 150:1, under --max-ratio): 16 GiB from
    450 KB, stopped by the expanded-size budget, not by the ratio."""
    import random

    rnd = random.Random(11)
    block = bytearray(MiB)
    for i in range(0, MiB, 512):
        block[i] = rnd.randrange(0x80, 0x100)  # no line breaks: one long rejected line
    comp, size, crc = deflated_repeat(bytes(block), 64)
    good = b"first.overlap@example.com:pw\n"
    gcomp = deflated(good)
    with open(path, "wb") as f:
        f.write(local_header(b"first.txt", len(gcomp), len(good), zlib.crc32(good)) + gcomp)
        kernel = f.tell()
        f.write(local_header(b"kernel.bin", len(comp), size, crc) + comp)
        cd = central_entry(b"first.txt", len(gcomp), len(good), zlib.crc32(good), 0)
        for i in range(250):
            cd += central_entry(b"overlap%03d.bin" % i, len(comp), size, crc, kernel)
        start = f.tell()
        f.write(cd + end_record(251, len(cd), start))
    print("first.overlap@example.com")


def zip_deep(path, max_depth="4"):
    """50 zips nested, each holding an address and the next zip: those at depth 1 to
    `max_depth` are read (the default --max-depth 4), the deeper ones reported, not read."""
    z = zip_of([("level50.txt", b"level50@example.com\n")])
    for i in range(49, 0, -1):
        z = zip_of([(f"level{i}.txt", f"level{i}@example.com\n".encode()), (f"level{i + 1}.zip", z)])
    with open(path, "wb") as f:
        f.write(z)
    print(" ".join(f"level{i}@example.com" for i in range(1, min(int(max_depth), 50) + 1)))


def xlsx_strings(path, n=20_000_000):
    """An xlsx whose shared-strings table is `n` one-letter strings (20 million: 340 MB of XML,
    deflated to about 800 KB), written streaming: held by a naive reader as `n` `String`s
    (several hundred MiB more). Its one sheet refers to string 0."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            '<row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>',
        )
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as w:
            w.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
                % (n, n)
            )
            block = b"<si><t>a</t></si>" * 100_000
            for _ in range(n // 100_000):
                w.write(block)
            w.write(b"</sst>")
    print("")


def xlsx_strings_5m(path):
    """As xlsx-strings with 5 million strings: 85 MB of XML, which the office reader's
    estimate (256 MiB per part) lets calamine hold (known gap: peak RSS about 160 MiB under
    --memory 64M)."""
    xlsx_strings(path, 5_000_000)


def zip_gz_spool(path):
    """A zip holding an address and `inner.zip.gz`: 1 MB of gzip that expands to a zip
    signature and 1 GiB of zeros. The input layer decompresses the member and spools it for
    the zip reader (known gap: the spool of a nested member is not charged to --max-expanded,
    and its in-memory part grows to 64 MiB whatever --memory says)."""
    comp, size, _ = deflated_repeat(bytes(MiB), 1024, crc=False)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(b"PK\x03\x04") + c.flush(zlib.Z_FULL_FLUSH)
    gz = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head + comp + struct.pack("<II", 0, (size + 4) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(zip_of_stored([("a.txt", b"a.spool@example.com\n"), ("inner.zip.gz", gz)]))
    print("a.spool@example.com")


def zip_of_stored(members):
    """A stored zip of (name, data) pairs, via zipfile."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()


def pdf_stream(path):
    """A one-page PDF (pikepdf) whose content stream is 2 GiB of spaces, FlateDecode, 2 MB."""
    import pikepdf

    comp, _, _ = deflated_repeat(b" " * MiB, 2048, crc=False)
    # zlib framing around the raw deflate stream (FlateDecode is zlib, RFC 1950): the Adler-32
    # is left zero; the bomb is refused long before a reader could check it.
    data = b"\x78\xda" + comp + b"\x00\x00\x00\x00"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    stream = pikepdf.Stream(pdf, b"")
    stream.write(data, filter=pikepdf.Name.FlateDecode)
    page.obj.Contents = stream
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    print("")


if __name__ == "__main__":
    kinds = {
        "zip-zeros": zip_zeros,
        "zip-overlap": zip_overlap,
        "zip-deep": zip_deep,
        "xlsx-strings": xlsx_strings,
        "pdf-stream": pdf_stream,
        "xlsx-strings-5m": xlsx_strings_5m,
        "zip-gz-spool": zip_gz_spool,
    }
    # KIND:ARG passes ARG on (zip-deep:64: what a build with --max-depth 64 reads).
    kind, *arg = sys.argv[1].split(":")
    kinds[kind](sys.argv[2], *arg)
