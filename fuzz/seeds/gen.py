#!/usr/bin/env python3
"""Writes the seeds of the container and document fuzz targets (zip, xlsx, pdf, mime), each
under 10 KB, with independent libraries (Python's zipfile, tarfile, email and mailbox; openpyxl, XlsxWriter,
python-docx, python-pptx, odfpy, fpdf2). Synthetic data only, reserved domains.

    pip install openpyxl XlsxWriter python-docx python-pptx odfpy fpdf2
    python3 fuzz/seeds/gen.py        # rewrites fuzz/seeds/{zip,xlsx,pdf,mime}

The office documents are slimmed: styles, themes, layouts and thumbnails (which the readers
do not read and which would make a seed tens of KB) are dropped from the package.
"""

import email.message
import email.policy
import io
import mailbox
import os
import shutil
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SEED = 10 * 1024


def out(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    assert len(data) < MAX_SEED, f"{target}/{name} is {len(data)} bytes"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def zip_bytes(members, compression=zipfile.ZIP_DEFLATED):
    """members: (name, bytes) or (ZipInfo, bytes)."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()


def build_zip_raw(members):
    """A deflated zip with raw name bytes and no UTF-8 flag (zipfile would flag them UTF-8)."""
    import struct
    import zlib

    body = io.BytesIO()
    central = io.BytesIO()
    for name, data in members:
        offset = body.tell()
        crc = zlib.crc32(data)
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        cdata = comp.compress(data) + comp.flush()
        body.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(cdata), len(data), len(name), 0))
        body.write(name)
        body.write(cdata)
        central.write(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(cdata), len(data), len(name), 0, 0, 0, 0, 0, offset
            )
        )
        central.write(name)
    cd = central.getvalue()
    start = body.tell()
    body.write(cd)
    body.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), start, 0))
    return body.getvalue()


def slim(data, keep):
    """The package without the members `keep` rejects."""
    src = zipfile.ZipFile(io.BytesIO(data))
    return zip_bytes([(i.filename, src.read(i)) for i in src.infolist() if keep(i.filename)])


def office():
    import docx
    import openpyxl
    import pptx
    import xlsxwriter
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    drop = ("theme", "styles", "stylesWithEffects", "thumbnail", "customXml", "fontTable", "printerSettings",
            "slideLayout", "slideMaster", "notesMaster", "webSettings", "numbering", "docProps/app")

    def keep(n):
        return not any(d in n for d in drop)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名簿"
    ws.append(["氏名", "メールアドレス", "内線"])
    ws.append(["山田 太郎", "taro@example.jp", 1234])
    ws.append(["佐藤", "=\"sato\"&\"@example.org\"", 3.5])
    ws2 = wb.create_sheet("Sheet2")
    ws2["B3"] = "hanako@example.com"
    ws2["A1"].comment = openpyxl.comments.Comment("reviewer@example.net", "author")
    b = io.BytesIO()
    wb.save(b)
    out("xlsx", "book.xlsx", slim(b.getvalue(), keep))

    # XlsxWriter writes a shared-strings table, as Excel does (openpyxl writes inline strings).
    b = io.BytesIO()
    book = xlsxwriter.Workbook(b, {"in_memory": True})
    sheet = book.add_worksheet("連絡先")
    for r, row in enumerate([["部署", "E-Mail-Adresse"], ["総務", "soumu@example.jp"], ["総務", "soumu@example.jp"]]):
        sheet.write_row(r, 0, row)
    sheet.write_number(3, 0, 42)
    book.close()
    out("xlsx", "shared-strings.xlsx", slim(b.getvalue(), keep))

    d = docx.Document()
    d.add_paragraph("連絡先: hanako@example.org")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text = "担当"
    t.cell(1, 1).text = "ichiro@example.jp"
    d.sections[0].header.paragraphs[0].text = "header@example.com"
    d.sections[0].footer.paragraphs[0].text = "footer@example.net"
    b = io.BytesIO()
    d.save(b)
    out("xlsx", "doc.docx", slim(b.getvalue(), keep))

    p = pptx.Presentation()
    s = p.slides.add_slide(p.slide_layouts[5])
    s.shapes.title.text = "slide@example.com"
    s.notes_slide.notes_text_frame.text = "notes@example.net"
    b = io.BytesIO()
    p.save(b)
    out("xlsx", "deck.pptx", slim(b.getvalue(), keep))

    ods = OpenDocumentSpreadsheet()
    table = Table(name="Sheet1")
    for row in [["名前", "mail"], ["鈴木", "suzuki@example.jp"]]:
        tr = TableRow()
        for v in row:
            c = TableCell()
            c.addElement(P(text=v))
            tr.addElement(c)
        table.addElement(tr)
    ods.spreadsheet.addElement(table)
    b = io.BytesIO()
    ods.write(b)
    out("xlsx", "sheet.ods", slim(b.getvalue(), lambda n: "Thumbnails" not in n and "styles" not in n))


def zips():
    deeper = zip_bytes([("c.txt", b"deep@example.org\n")])
    inner = zip_bytes([("b.csv", b"email,name\nb@example.com,B\n"), ("deeper.zip", deeper)])
    out("zip", "nested.zip", zip_bytes([("a.txt", b"a@example.com:pw\n"), ("inner.zip", inner)]))
    out("zip", "cp932-names.zip", build_zip_raw([("案件/連絡先.txt".encode("cp932"), "連絡先：taro@example.jp\n".encode("cp932"))]))
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("stored.txt", b"s@example.net\n", zipfile.ZIP_STORED)
        z.writestr("bzip2.txt", b"t@example.net\n" * 20, zipfile.ZIP_BZIP2)
        z.writestr("lzma.txt", b"l@example.net\n" * 20, zipfile.ZIP_LZMA)
    out("zip", "stored-bzip2-lzma.zip", b.getvalue())
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as t:
        data = b"tar@example.com:pw\n"
        info = tarfile.TarInfo("dump/list.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    out("zip", "tar-gz-in-zip.zip", zip_bytes([("share/dump.tar.gz", tgz.getvalue())], zipfile.ZIP_STORED))
    whole = zip_bytes([("one.txt", b"one@example.com\n" * 30), ("two.txt", b"two@example.com\n" * 30)])
    out("zip", "truncated.zip", whole[: len(whole) * 2 // 3])
    # An xlsx inside a zip: the zip reader hands it on to the office reader.
    with open(os.path.join(HERE, "xlsx", "book.xlsx"), "rb") as f:
        out("zip", "xlsx-in-zip.zip", zip_bytes([("名簿.xlsx", f.read())], zipfile.ZIP_STORED))


def pdfs():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="contact: pdf@example.com")
    pdf.add_page()
    pdf.cell(text="page two: second@example.org")
    out("pdf", "text.pdf", bytes(pdf.output()))

    pdf = FPDF()
    pdf.set_compression(False)
    pdf.add_page()
    pdf.set_font("courier", size=10)
    pdf.multi_cell(w=0, text="plain@example.net\nline two")
    out("pdf", "uncompressed.pdf", bytes(pdf.output()))

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50, style="F")  # a page without text: a scan has no text layer
    out("pdf", "no-text.pdf", bytes(pdf.output()))


def mime():
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = "山田 太郎 <taro@example.jp>"
    m["To"] = "hanako@example.org, ichiro@example.com"
    m["Subject"] = "名簿の件"
    m.set_content("本文 body@example.net です。\n", charset="iso-2022-jp")
    m.add_attachment("氏名,メール\n鈴木,suzuki@example.jp\n".encode("cp932"), maintype="text", subtype="csv",
                     filename="名簿.csv")
    m.add_attachment(zip_bytes([("x.txt", b"zipped@example.com\n")]), maintype="application", subtype="zip",
                     filename="x.zip")
    out("mime", "attachment.eml", m.as_bytes())

    q = email.message.EmailMessage(policy=email.policy.SMTP)
    q["From"] = "a@example.com"
    q["Subject"] = "qp"
    q.set_content("a very long line that will be soft-broken by quoted-printable somewhere near the end "
                  "long.address.in.body@example.org and more\n", cte="quoted-printable")
    q.add_alternative("<p>html <a href=\"mailto:html@example.net\">mail</a></p>", subtype="html", cte="base64")

    d = tempfile.mkdtemp()
    try:
        box = mailbox.mbox(os.path.join(d, "box"))
        box.add(q)
        r = email.message.EmailMessage()
        r["From"] = "second@example.com"
        r.set_content("From the start of a line\nsecond body@example.net\n")
        box.add(r)
        box.flush()
        box.close()
        with open(os.path.join(d, "box"), "rb") as f:
            out("mime", "two.mbox", f.read())
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    office()
    zips()
    pdfs()
    mime()
