"""Uploading documents: judged by content, named safely, stored once, audited, and a refused file
leaves nothing behind. Stored uploads read back through the sha256-checked reader."""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.errors import DomainError, InvalidTransition, NotFound, PermissionDenied, StaleRequest, ValidationError
from domain.jalali import TEHRAN
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import uploads
from logic import workflow as wf
from logic.documents import CorruptDocument, read_document
from logic.uploads import MAX_UPLOAD_BYTES, UploadRefused, sanitize_file_name, store_document
from tests.factories import check_invariants, corrupt_blob, file_request, make_member, make_staff, tiny_pdf, tiny_png

SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)  # a Saturday
SAT_0900 = SAT_0800 + timedelta(hours=1)
PERSIAN = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآ"


def tiny_jpeg(rgb=(10, 120, 200)) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), rgb).save(buf, "JPEG")
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def padded_pdf(size: int) -> bytes:
    """A PDF of exactly `size` bytes (a comment line pads it)."""
    pdf = tiny_pdf()
    head, rest = pdf.split(b"\n", 1)
    pad = size - len(pdf) - 2
    return head + b"\n%" + b"x" * pad + b"\n" + rest


def counts(engine) -> dict:
    with engine.connect() as c:
        return {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("blob", "document", "request_event", "audit_event", "stage_visit")} | {
            "versions": c.execute(sa.text("SELECT coalesce(sum(version), 0) FROM request")).scalar()}


def doc_row(engine, document_id):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT * FROM document WHERE id = :d"), {"d": document_id}).mappings().one()


def read(engine, actor, document_id):
    with Session(engine) as s:
        return read_document(s, actor, document_id)


@pytest.fixture
def world(db):
    t = TEHRAN_ID
    return {
        "expert": make_staff(db, "t.expert", ["expert"], t),
        "final": make_staff(db, "t.final", ["final_reviewer"], t),
        "head": make_staff(db, "t.head", ["head"], t),
        "finance": make_staff(db, "t.finance", ["finance"], t),
        "manager": make_staff(db, "t.manager", ["manager"], t),
        "isfahan": make_staff(db, "i.expert", ["expert"], ISFAHAN_ID),
        "central": make_staff(db, "central.expert", ["central_expert"], None),
    }


@pytest.fixture
def request_id(db):
    member = make_member(db, TEHRAN_ID, status="applicant")
    return file_request(db, member, "new_membership", submitted_at=SAT_0800).request_id


# --- stored, read back, audited ---------------------------------------------------------------------

@pytest.mark.parametrize("maker, mime, ext", [(tiny_png, "image/png", "png"), (tiny_pdf, "application/pdf", "pdf"),
                                               (tiny_jpeg, "image/jpeg", "jpg")])
def test_an_upload_is_stored_audited_and_reads_back(db, world, request_id, maker, mime, ext):
    data = maker()
    doc_id = store_document(db, world["expert"], request_id=request_id, doc_type="national_card",
                            file_name=f"کارت ملی من.{ext}", data=data, title="  روی کارت ", now=SAT_0900)
    row = doc_row(db, doc_id)
    assert (row["mime"], row["size_bytes"], row["sha256"]) == (mime, len(data), hashlib.sha256(data).hexdigest())
    assert (row["file_name"], row["title"], row["request_id"]) == (f"کارت ملی من.{ext}", "روی کارت", request_id)
    assert row["verdict"] == "pending" and row["required"] is False and row["uploaded_at"] == SAT_0900
    meta, content = read(db, world["expert"], doc_id)
    assert content == data and meta.mime == mime
    with db.connect() as c:
        ev = c.execute(sa.text("SELECT * FROM request_event WHERE request_id = :r AND action = 'document_uploaded'"),
                       {"r": request_id}).mappings().one()
    assert ev["actor_id"] == world["expert"].id and ev["at"] == SAT_0900
    assert ev["data"]["document_id"] == doc_id and ev["data"]["sha256"] == row["sha256"]
    assert "کارت ملی" in ev["reason"]
    r = check_invariants(db, request_id)  # one event per version, clocks untouched
    assert r["version"] == 2 and r["stage_code"] == "initial_review"


def test_a_stored_upload_whose_bytes_are_damaged_is_refused_on_read_and_healed_by_a_new_upload(
        db, world, request_id):
    data = tiny_png()
    first = store_document(db, world["expert"], request_id=request_id, doc_type="photo", file_name="a.png",
                           data=data, now=SAT_0900)
    assert read(db, world["expert"], first)[1] == data
    corrupt_blob(db, first)
    with pytest.raises(CorruptDocument) as err:
        read(db, world["expert"], first)
    assert "آسیب دیده" in err.value.message
    # The member brings the same scan again: the verified bytes replace the damaged copy.
    second = store_document(db, world["expert"], request_id=request_id, doc_type="photo", file_name="a.png",
                            data=data, now=SAT_0900)
    assert read(db, world["expert"], first)[1] == data == read(db, world["expert"], second)[1]
    with db.connect() as c:
        blobs = c.execute(sa.text("SELECT count(*) FROM blob")).scalar()
        kinds = c.execute(sa.text("SELECT data->>'blob' FROM request_event WHERE action = 'document_uploaded' "
                                  "ORDER BY id")).scalars().all()
    assert blobs == 1 and kinds == ["new", "repaired"]


def test_the_same_file_twice_is_one_blob_and_two_documents(db, world, request_id):
    data = tiny_pdf()
    a = store_document(db, world["expert"], request_id=request_id, doc_type="degree", file_name="x.pdf", data=data)
    b = store_document(db, world["expert"], request_id=request_id, doc_type="work_record", file_name="y.pdf",
                       data=data)
    assert a != b
    c = counts(db)
    assert (c["blob"], c["document"]) == (1, 2)


def test_a_member_archive_document_is_audited(db, world):
    member = make_member(db, TEHRAN_ID)
    before = counts(db)
    doc_id = store_document(db, world["central"], member_id=member, doc_type="degree", file_name="مدرک.pdf",
                            data=tiny_pdf())
    row = doc_row(db, doc_id)
    assert row["member_id"] == member and row["request_id"] is None
    with db.connect() as c:
        audit = c.execute(sa.text("SELECT * FROM audit_event WHERE action = 'document_uploaded'")).mappings().one()
    assert (audit["entity"], audit["entity_id"], audit["province_id"]) == ("document", str(doc_id), TEHRAN_ID)
    assert audit["actor_id"] == world["central"].id and audit["data"]["member_id"] == member
    after = counts(db)
    assert after["request_event"] == before["request_event"]
    assert read(db, world["expert"], doc_id)[1] == tiny_pdf()


def test_an_upload_makes_a_form_opened_before_it_stale(db, world, request_id):
    store_document(db, world["expert"], request_id=request_id, doc_type="photo", file_name="p.png", data=tiny_png())
    with pytest.raises(StaleRequest):
        wf.approve(db, world["expert"], request_id, 1, checklist=[True] * 4, now=SAT_0900)
    wf.approve(db, world["expert"], request_id, 2, checklist=[True] * 4, now=SAT_0900)
    check_invariants(db, request_id)


# --- the content decides ------------------------------------------------------------------------------

def test_the_content_decides_the_type_and_the_extension_whatever_the_name_says(db, world, request_id):
    png_as_pdf = store_document(db, world["expert"], request_id=request_id, doc_type="photo",
                                file_name="scan.pdf", data=tiny_png())
    pdf_as_jpg = store_document(db, world["expert"], request_id=request_id, doc_type="degree",
                                file_name="photo.JPG", data=tiny_pdf())
    assert (doc_row(db, png_as_pdf)["mime"], doc_row(db, png_as_pdf)["file_name"]) == ("image/png", "scan.png")
    assert (doc_row(db, pdf_as_jpg)["mime"], doc_row(db, pdf_as_jpg)["file_name"]) == ("application/pdf", "photo.pdf")


def _gif() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("P", (4, 4)).save(buf, "GIF")
    return buf.getvalue()


def _zip() -> bytes:
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
    return buf.getvalue()


def _huge_png_header() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 100))
            + png_chunk(b"IEND", b""))


def _wide_png_header(side: int = 10_000) -> bytes:
    """A small file that decodes to side × side pixels (100 million at 10,000)."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 100))
            + png_chunk(b"IEND", b""))


def _pdf_with(catalog_extra: bytes) -> bytes:
    """The test PDF with more in its catalog (the cross-reference offsets are not what is checked)."""
    return tiny_pdf().replace(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra
                              + b" >>")


def _pdf_with_hidden_script() -> bytes:
    """JavaScript inside a compressed object stream, where a plain byte search cannot see it."""
    hidden = zlib.compress(b"7 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj")
    return tiny_pdf().replace(b"%%EOF", b"8 0 obj << /Type /ObjStm /Filter /FlateDecode /Length %d >>\nstream\n%s\n"
                              b"endstream\nendobj\n%%%%EOF" % (len(hidden), hidden))


def _bad_crc_png() -> bytes:
    data = bytearray(tiny_png())
    data[30] ^= 0xFF  # inside IHDR/IDAT: the chunk's CRC no longer matches
    return bytes(data)


REFUSED = {
    "empty": (b"", "report.pdf", "خالی"),
    "too big": (padded_pdf(MAX_UPLOAD_BYTES + 1), "big.pdf", "مگابایت"),
    "windows program named pdf": (b"MZ\x90\x00" + b"\x00" * 200, "invoice.pdf", "PDF"),
    "html named png": (b"<html><script>alert(1)</script></html>", "photo.png", "PDF"),
    "plain text": ("سلام".encode() * 20, "note.pdf", "PDF"),
    "gif": (_gif(), "image.png", "gif"),
    "zip named pdf": (_zip(), "docs.pdf", "zip"),
    "pdf after a byte-order mark": (b"\xef\xbb\xbf" + tiny_pdf(), "x.pdf", "PDF"),
    "truncated pdf": (tiny_pdf()[:-40], "x.pdf", "ناقص"),
    "pdf header only": (b"%PDF-1.7\n", "x.pdf", "ناقص"),
    "truncated png": (tiny_png()[:-12], "x.png", "آسیب"),
    "png without its last byte": (tiny_png()[:-1], "x.png", "آسیب"),
    "png with a bad checksum": (_bad_crc_png(), "x.png", "آسیب"),
    "png too many pixels": (_huge_png_header(), "x.png", "ابعاد"),
    "png of 10,000 × 10,000 pixels": (_wide_png_header(), "x.png", "ابعاد"),
    "pdf with a script on opening": (_pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "x.pdf",
                                     "محتوای فعال"),
    "pdf with an escaped script name": (_pdf_with(b"/OpenAction << /S /J#61vaScript /J#53 (x) >>"), "x.pdf",
                                        "محتوای فعال"),
    "pdf launching a program": (_pdf_with(b"/OpenAction << /S /Launch /F (cmd.exe) >>"), "x.pdf", "محتوای فعال"),
    "pdf with an embedded file": (_pdf_with(b"/Names << /EmbeddedFiles << /Names [] >> >>"), "x.pdf", "محتوای فعال"),
    "pdf with a script in an object stream": (_pdf_with_hidden_script(), "x.pdf", "محتوای فعال"),
    "truncated jpeg": (tiny_jpeg()[:-2], "x.jpg", "آسیب"),
    "jpeg magic then garbage": (b"\xff\xd8\xff" + b"garbage" * 30 + b"\xff\xd9", "x.jpg", "آسیب"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_file_gets_a_persian_message_and_nothing_is_stored(db, world, request_id, case):
    data, name, says = REFUSED[case]
    before = counts(db)
    with pytest.raises(UploadRefused) as err:
        store_document(db, world["expert"], request_id=request_id, doc_type="national_card", file_name=name,
                       data=data)
    assert says in err.value.message and any("\u0600" <= ch <= "\u06ff" for ch in err.value.message)
    assert counts(db) == before


def test_a_pdf_that_opens_at_its_first_page_is_not_active_content(db, world, request_id):
    data = _pdf_with(b"/OpenAction [3 0 R /Fit] /PageMode /UseNone")  # what word processors write
    doc_id = store_document(db, world["expert"], request_id=request_id, doc_type="work_record", file_name="a.pdf",
                            data=data)
    assert read(db, world["expert"], doc_id)[1] == data


def test_exactly_the_size_limit_is_accepted(db, world, request_id):
    data = padded_pdf(MAX_UPLOAD_BYTES)
    assert len(data) == MAX_UPLOAD_BYTES
    doc_id = store_document(db, world["expert"], request_id=request_id, doc_type="work_record", file_name="big.pdf",
                            data=data)
    assert read(db, world["expert"], doc_id)[1] == data


def test_a_failure_after_the_blob_is_written_rolls_everything_back(db, world, request_id, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(uploads, "write_event", broken)
    before = counts(db)
    with pytest.raises(RuntimeError):
        store_document(db, world["expert"], request_id=request_id, doc_type="photo", file_name="p.png",
                       data=tiny_png())
    assert counts(db) == before


# --- who may upload -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["expert", "final", "head", "central"])
def test_reviewers_of_the_province_may_upload(db, world, request_id, who):
    assert store_document(db, world[who], request_id=request_id, doc_type="other", file_name="a.png",
                          data=tiny_png())


@pytest.mark.parametrize("who, error", [("finance", PermissionDenied), ("manager", PermissionDenied),
                                        ("isfahan", NotFound)])
def test_others_may_not_upload_and_nothing_is_stored(db, world, request_id, who, error):
    before = counts(db)
    with pytest.raises(error):
        store_document(db, world[who], request_id=request_id, doc_type="other", file_name="a.png", data=tiny_png())
    member = make_member(db, TEHRAN_ID, first_name="زهرا")
    with pytest.raises(error):
        store_document(db, world[who], member_id=member, doc_type="other", file_name="a.png", data=tiny_png())
    assert counts(db) == before


def test_another_provinces_request_looks_missing(db, world, request_id):
    with pytest.raises(NotFound) as other:
        store_document(db, world["isfahan"], request_id=request_id, doc_type="other", file_name="a", data=tiny_png())
    with pytest.raises(NotFound) as missing:
        store_document(db, world["isfahan"], request_id=request_id + 999, doc_type="other", file_name="a",
                       data=tiny_png())
    assert other.value.message == missing.value.message


def test_a_closed_request_takes_no_new_documents(db, world, request_id):
    wf.reject(db, world["expert"], request_id, 1, "مدارک ناقص", now=SAT_0900)
    before = counts(db)
    with pytest.raises(InvalidTransition):
        store_document(db, world["expert"], request_id=request_id, doc_type="other", file_name="a", data=tiny_png())
    assert counts(db) == before


@pytest.mark.parametrize("kwargs", [
    {"doc_type": "passport"},                       # not a document type
    {"title": "ع" * 201},                           # too long
    {"data": "not bytes"},                          # not a file
    {"request_id": None},                           # no owner at all
])
def test_bad_form_values_are_refused_in_persian(db, world, request_id, kwargs):
    args = {"request_id": request_id, "doc_type": "other", "file_name": "a.png", "data": tiny_png(), **kwargs}
    before = counts(db)
    with pytest.raises(ValidationError) as err:
        store_document(db, world["expert"], **args)
    assert any("\u0600" <= ch <= "\u06ff" for ch in err.value.message)
    assert counts(db) == before
    with pytest.raises(ValidationError):  # both owners at once
        store_document(db, world["expert"], request_id=request_id, member_id=1, doc_type="other", file_name="a",
                       data=tiny_png())


# --- names ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, mime, expected", [
    ("../../etc/passwd", "image/png", "passwd.png"),
    ("C:\\Users\\Ali\\Desktop\\کارت ملی.PNG", "image/png", "کارت ملی.png"),
    ("evil\u202egpj.exe", "image/jpeg", "evilgpj.jpg"),          # right-to-left override dropped
    ("invoice.pdf.exe", "application/pdf", "invoice_pdf.pdf"),   # no double extensions
    ("شناسنامهٔ  علي\u200cاکبر.jpeg", "image/jpeg", "شناسنامهٔ علی\u200cاکبر.jpg"),  # Arabic ي, ZWNJ kept
    ("\x00\x07name\r\n.pdf", "application/pdf", "name.pdf"),
    ("rm -rf *; DROP TABLE blob;--.pdf", "application/pdf", "rm -rf _ DROP TABLE blob.pdf"),
    ("CON.pdf", "application/pdf", "CON_.pdf"),
    ("....", "image/png", "کارت ملی.png"),
    ("", "image/png", "کارت ملی.png"),
    (None, "application/pdf", "کارت ملی.pdf"),
    ("۱۴۰۴-۰۷-۱۵ اسکن.pdf", "application/pdf", "1404-07-15 اسکن.pdf"),
])
def test_file_names_are_sanitised(given, mime, expected):
    assert sanitize_file_name(given, mime, "national_card") == expected


def test_long_names_are_cut_and_keep_the_right_extension():
    name = sanitize_file_name(PERSIAN * 20 + ".png", "application/pdf")
    assert name.endswith(".pdf") and len(name) == uploads.MAX_STEM_CHARS + 4
    assert set(name[:-4]) <= set(PERSIAN)


def test_a_refused_file_never_reaches_the_database(monkeypatch, db, world, request_id):
    """Content checks happen before any connection is taken from the pool."""
    def no_db(*a, **k):
        raise AssertionError("the database was touched")
    monkeypatch.setattr(uploads, "session_scope", no_db)
    with pytest.raises(DomainError):
        store_document(db, world["expert"], request_id=request_id, doc_type="other", file_name="x.pdf",
                       data=b"%PDF-1.4 no end")


# --- the request screen's upload box -----------------------------------------------------------------------

def test_the_request_screen_uploads_a_file_and_refuses_a_disguised_one(db, db_url, world):
    from domain.jalali import now_tehran
    from tests.apptest import signed_in, texts

    member = make_member(db, TEHRAN_ID, status="applicant")
    out = file_request(db, member, "new_membership", submitted_at=now_tehran() - timedelta(days=1))
    at = signed_in(db_url, "t.expert")
    at.switch_page("pages/request.py")
    at.query_params["code"] = out.tracking_code
    at.run()
    assert not at.exception
    at.selectbox(key="req-upload-type").set_value("degree")
    at.file_uploader(key="req-upload").set_value(("مدرک کارشناسی.pdf", tiny_pdf(), "application/pdf"))
    at.button(key="req-upload-add").click().run()
    assert "مدرک بارگذاری شد." in texts(at.success)
    with db.connect() as c:
        stored = c.execute(sa.text("SELECT doc_type, file_name, mime FROM document WHERE request_id = :r"),
                           {"r": out.request_id}).all()
    assert [tuple(r) for r in stored] == [("degree", "مدرک کارشناسی.pdf", "application/pdf")]
    at.button(key="req-upload-add").click().run()  # the same file again by a second click
    assert any("همین حالا" in t for t in texts(at.error))

    before = counts(db)
    at.file_uploader(key="req-upload").set_value(("photo.png", _gif(), "image/png"))
    at.button(key="req-upload-add").click().run()
    assert any("gif" in t for t in texts(at.error))
    assert counts(db) == before


def test_the_upload_box_is_only_for_reviewers(db, db_url, world):
    from domain.jalali import now_tehran
    from tests.apptest import signed_in

    member = make_member(db, TEHRAN_ID, status="applicant")
    out = file_request(db, member, "new_membership", submitted_at=now_tehran() - timedelta(days=1))
    at = signed_in(db_url, "t.manager")
    at.switch_page("pages/request.py")
    at.query_params["code"] = out.tracking_code
    at.run()
    assert not at.exception and len(at.file_uploader) == 0


# --- screen copies of large scans ---------------------------------------------------------------------

def _scan(size: tuple[int, int], fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (240, 240, 235)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt, mime", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_a_large_scan_is_shown_from_a_scaled_copy_made_at_upload(db, world, request_id, fmt, mime):
    from PIL import Image
    from logic.documents import screen_copy

    data = _scan((4000, 3000), fmt)
    doc_id = store_document(db, world["expert"], request_id=request_id, doc_type="degree", file_name=f"x.{fmt}",
                            data=data, now=SAT_0900)
    with Session(db) as s:
        meta, content = read_document(s, world["expert"], doc_id, audit=False)
        shown = screen_copy(s, meta, content)
    assert content == data  # the download is the original
    with Image.open(io.BytesIO(shown)) as im:
        assert (im.format, im.size) == (fmt, (1600, 1200))
    with db.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM blob_preview")).scalar_one() == 1


def test_a_small_image_is_shown_as_it_is_and_gets_no_copy(db, world, request_id):
    from logic.documents import screen_copy

    data = _scan((800, 600), "PNG")
    doc_id = store_document(db, world["expert"], request_id=request_id, doc_type="degree", file_name="x.png",
                            data=data, now=SAT_0900)
    with Session(db) as s:
        meta, content = read_document(s, world["expert"], doc_id, audit=False)
        assert screen_copy(s, meta, content) == data
    with db.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM blob_preview")).scalar_one() == 0


def test_a_large_scan_stored_before_copies_existed_gets_one_on_its_first_view(db, world, request_id):
    from logic.documents import screen_copy
    from tests.factories import add_document

    doc_id = add_document(db, request_id, _scan((3200, 1600), "JPEG"), "image/jpeg", "degree")  # plain SQL, no copy
    for _ in range(2):
        with session_scope(db) as s:
            meta, content = read_document(s, world["expert"], doc_id, audit=False)
            assert len(screen_copy(s, meta, content)) < len(content)
    with db.connect() as c:
        assert c.execute(sa.text("SELECT width, height FROM blob_preview")).one() == (1600, 800)
