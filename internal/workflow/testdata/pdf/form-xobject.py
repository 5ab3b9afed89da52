"""Writes form-xobject.pdf: one page whose text is drawn partly by the page
and partly by a form XObject (with its own font resources), twice, the
second time moved by a /Matrix. Run: python3 form-xobject.py"""
import zlib

page = b"BT /F1 12 Tf 72 720 Td (Drawn by the page.) Tj ET\nq /Fm1 Do Q\nq 1 0 0 1 0 -40 cm /Fm1 Do Q\n"
form = b"BT /F2 12 Tf 72 680 Td (Drawn by a form) Tj 100 0 Td (XObject.) Tj ET\n"
objects = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> /XObject << /Fm1 6 0 R >> >> >>",
    None,  # the page's content stream
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    None,  # the form XObject
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding /WinAnsiEncoding >>",
]
streams = {
    4: (b"<< /Filter /FlateDecode", zlib.compress(page)),
    6: (b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Matrix [1 0 0 1 0 0]"
        b" /Resources << /Font << /F2 7 0 R >> >> /Filter /FlateDecode", zlib.compress(form)),
}
out = bytearray(b"%PDF-1.4\n")
offsets = []
for i, obj in enumerate(objects, start=1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % i
    if obj is None:
        head, data = streams[i]
        out += head + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
    else:
        out += obj
    out += b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
for off in offsets:
    out += b"%010d 00000 n \n" % off
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
with open("form-xobject.pdf", "wb") as f:
    f.write(out)
