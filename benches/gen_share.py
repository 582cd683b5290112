#!/usr/bin/env python3
"""Writes a synthetic dumped file share for benches/share.sh: xlsx, docx, pptx, PDF and eml
files (some in zip archives), made by independent libraries (openpyxl, python-docx,
python-pptx, fpdf2, the email package). Prints the number of distinct addresses written and
writes them, one per line, to OUT/expected.txt.

    gen_share.py OUT SCALE      # SCALE 1: about 300 files, 40 MB
"""
import io, os, random, sys, zipfile
from email.message import EmailMessage

import docx
import openpyxl
import pptx
from fpdf import FPDF

out, scale = sys.argv[1], int(sys.argv[2])
share = os.path.join(out, "share")
os.makedirs(share, exist_ok=True)
rng = random.Random(11)
written = set()


def addr():
    a = f"user{rng.randrange(10**7)}@dept{rng.randrange(50)}.example"
    written.add(a)
    return a


def xlsx(rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名簿"
    ws.append(["氏名", "部署", "メールアドレス", "備考"])
    for i in range(rows):
        ws.append([f"職員{i}", f"課{i % 9}", addr(), f"連絡は {addr()} まで"])
    b = io.BytesIO()
    wb.save(b)
    return b.getvalue()


def docx_bytes(paras):
    d = docx.Document()
    for i in range(paras):
        d.add_paragraph(f"第{i}回 会議の議事録。出席者 {addr()} および {addr()}。" + "本文" * 40)
    b = io.BytesIO()
    d.save(b)
    return b.getvalue()


def pptx_bytes(slides):
    p = pptx.Presentation()
    for i in range(slides):
        s = p.slides.add_slide(p.slide_layouts[1])
        s.shapes.title.text = f"Slide {i}"
        s.placeholders[1].text = f"Contact {addr()}\nOwner {addr()}"
        s.notes_slide.notes_text_frame.text = f"Speaker: {addr()}"
    b = io.BytesIO()
    p.save(b)
    return b.getvalue()


def pdf_bytes(pages):
    f = FPDF()
    f.set_font("Helvetica", size=10)
    for i in range(pages):
        f.add_page()
        for j in range(30):
            f.cell(0, 6, f"Line {j}: contact {addr()} or {addr()} for details", new_x="LMARGIN", new_y="NEXT")
    return bytes(f.output())


def eml_bytes(n):
    m = EmailMessage()
    m["From"] = addr()
    m["To"] = ", ".join(addr() for _ in range(3))
    m["Subject"] = "名簿の件"
    m.set_content("\n".join(f"{addr()} さんへ" for _ in range(n)))
    csv = "氏名,メールアドレス\n" + "".join(f"職員,{addr()}\n" for _ in range(n))
    m.add_attachment(csv.encode("shift_jis"), maintype="text", subtype="csv", filename="名簿.csv")
    return bytes(m)


makers = [("xlsx", lambda: xlsx(400)), ("docx", lambda: docx_bytes(120)), ("pptx", lambda: pptx_bytes(15)),
          ("pdf", lambda: pdf_bytes(8)), ("eml", lambda: eml_bytes(100))]
count = 0
for i in range(60 * scale):
    kind, make = makers[i % len(makers)]
    data = make()
    if i % 3 == 0:
        with zipfile.ZipFile(os.path.join(share, f"archive{i:04}.zip"), "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"案件/doc{i:04}.{kind}", data)
    else:
        with open(os.path.join(share, f"doc{i:04}.{kind}"), "wb") as f:
            f.write(data)
    count += 1
with open(os.path.join(out, "expected.txt"), "w") as f:
    f.write("\n".join(sorted(written)) + "\n")
print(len(written))
