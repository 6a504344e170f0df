"""Bad input, generated: every parser and form handler either succeeds or refuses with a DomainError
whose message is Persian, and a refused call leaves the database exactly as it was.

Parsers are checked on their own (and what they return is checked too). Service-level handlers run
against one database state per test function, set up once inside the test; before each call the
row counts of every data table and a checksum of the mutable rows are taken, and compared after a
refused call. A call that succeeds may change the database (that is its job); where a success uses
up the state (a rejected request is closed), the test makes a fresh one for the next example.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import bcrypt
import jdatetime
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.jalali import MAX_YEAR, MIN_YEAR, TEHRAN, parse_jalali_date
from domain.national_id import is_valid_national_id, validate_national_id
from domain.reference import TEHRAN_ID
from domain.text import (MAX_AMOUNT_RIAL, clean_reason, normalize_digits_only, normalize_text, parse_amount_rial,
                        to_ascii_digits)
from logic import fees, holidays, payments, queue, staff, tariffs, uploads
from logic import workflow as wf
from logic.documents import set_verdict
from logic.request_view import load_request
from tests.conftest import DATA_TABLES
from tests.factories import (FEES, add_document, add_tariff, file_request, make_assessment, make_member, make_staff,
                             tiny_pdf, tiny_png)

SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)  # 1405/08/30, a Saturday
LATER = SAT_0800 + timedelta(hours=2)
END_1402 = date(2024, 3, 19)

# Moderate example counts keep the suite fast; one database state per test function.
PURE = settings(max_examples=200, deadline=None, database=None)
DB = settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- what bad input looks like ----------------------------------------------------------------------

SQL_LIKE = [
    "'; DROP TABLE request; --", "1 OR 1=1", "' OR '1'='1", "\" OR \"\"=\"", "'); DELETE FROM member; --",
    "%' AND 1=1 --", "$$; SELECT pg_sleep(10); $$", "1; TRUNCATE request_event", "\\'; COPY blob TO '/tmp/x'",
    "admin'--", "' UNION SELECT password_hash FROM staff_user --", "%", "_", "\\", "%%", "'" * 50,
]
MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
          "{{7*7}}", "${jndi:ldap://x}", "../../etc/passwd", "C:\\Windows\\system32"]
BIDI = ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
        "\u200f", "\u061c", "\ufeff"]
INVISIBLE = ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
             "\u200f", "\u061c", "\ufeff", "\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\u0640"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x7f", "\x85", "\r", "\n", "\t", "\v", "\f", "\u2028", "\u2029"]
PERSIAN_LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآأإئؤءيكة"
DIGIT_CHARS = "0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"

sql_like = st.sampled_from(SQL_LIKE + MARKUP)
invisible_mix = st.text(alphabet=st.sampled_from(INVISIBLE + CONTROLS + list(PERSIAN_LETTERS + " ab1۲")), max_size=40)
persian_text = st.text(alphabet=PERSIAN_LETTERS + " \u200c" + DIGIT_CHARS, max_size=60)
digits_mix = st.text(alphabet=DIGIT_CHARS + ",٬،٫.-−+/ \u200f\u066b", max_size=25)
# Long text is built by repetition: cheap to generate, and it crosses every length limit.
long_text = st.builds(lambda s, n: (s or "ا") * n, st.text(min_size=1, max_size=4), st.integers(100, 5000))
huge_text = st.sampled_from(["ا" * 100_000, "1" * 100_000, "'" * 100_000, "\u202e" * 10_000 + "x"])
any_text = st.one_of(st.text(max_size=60), sql_like, invisible_mix, persian_text, digits_mix, long_text,
                     huge_text, st.just(""), st.just("   "))
# What a form might hand a service instead of text.
odd_values = st.one_of(st.none(), st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.booleans(),
                       st.decimals(allow_nan=False, allow_infinity=False), st.binary(max_size=20))


def is_persian(message: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in message)


def refused_in_persian(exc: DomainError) -> None:
    assert isinstance(exc.message, str) and is_persian(exc.message), repr(exc.message)


# --- the database snapshot --------------------------------------------------------------------------

_STATE = {
    "request": "concat_ws(':', id, version, status, stage_code, assignee_id, stage_due_at, due_at, referred)",
    "staff_user": "concat_ws(':', id, username, password_hash, roles::text, is_active, failed_logins, locked_until)",
    "fee_tariff": "concat_ws(':', id, annual_fee, entrance_fee, card_fee, updated_at)",
    "document": "concat_ws(':', id, verdict, verdict_reason)",
    "holiday": "concat_ws(':', id, day, name_fa)",
    "member": "concat_ws(':', id, status, valid_until, membership_no)",
    "fee_assessment": "concat_ws(':', id, finance_status)",
}


def snapshot(engine) -> dict:
    """Row counts of every data table, plus a checksum of the rows a refused call could alter."""
    with engine.connect() as c:
        snap = {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in DATA_TABLES}
        for table, expr in _STATE.items():
            snap[f"{table}*"] = c.execute(sa.text(
                f"SELECT md5(coalesce(string_agg({expr}, ',' ORDER BY id), '')) FROM {table}")).scalar()
        snap["province_setting*"] = c.execute(sa.text(
            "SELECT md5(string_agg(concat_ws(':', province_id, workdays::text, opens, closes), ',' "
            "ORDER BY province_id)) FROM province_setting")).scalar()
    return snap


def attempt(engine, call):
    """Run one handler call. A refusal must be a Persian DomainError that changed nothing.
    Returns (True, result) on success, (False, error) on refusal."""
    before = snapshot(engine)
    try:
        return True, call()
    except DomainError as exc:
        refused_in_persian(exc)
        assert snapshot(engine) == before, f"a refused call changed the database: {exc.message}"
        return False, exc


# --- parsers ----------------------------------------------------------------------------------------

def _date_like():
    sep = st.sampled_from(["/", "-", ".", " / ", "/ ", "،", "\\", "", "//"])
    num = st.one_of(st.integers(-5, 99999), st.sampled_from([0, 1, 12, 13, 29, 30, 31, 32, 1300, 1403, 1404,
                                                              1500, 1501]))
    fam = st.sampled_from([str, lambda s: s.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
                           lambda s: s.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))])
    return st.builds(lambda y, m, d, s1, s2, f, pad: f(f"{pad}{y}{s1}{m}{s2}{d}{pad}"),
                     num, num, num, sep, sep, fam, st.sampled_from(["", " ", "\u200f", "\u202e", "\t"]))


@PURE
@given(st.one_of(_date_like(), any_text, odd_values))
def test_jalali_dates(text):
    try:
        d = parse_jalali_date(text)
    except DomainError as exc:
        refused_in_persian(exc)
        return
    assert isinstance(d, jdatetime.date) and MIN_YEAR <= d.year <= MAX_YEAR
    # What was accepted reads back as the same day.
    assert parse_jalali_date(f"{d.year}/{d.month}/{d.day}") == d


@PURE
@given(st.one_of(any_text, odd_values, st.integers(-10, 10**16).map(str),
                 st.integers(0, 10**15).map(lambda n: f"{n:,}".translate(str.maketrans("0123456789,", "۰۱۲۳۴۵۶۷۸۹٬")))))
def test_amounts(value):
    try:
        n = parse_amount_rial(value)
    except DomainError as exc:
        refused_in_persian(exc)
        return
    assert type(n) is int and 0 <= n <= MAX_AMOUNT_RIAL


@PURE
@given(st.one_of(any_text, odd_values, st.from_regex(r"\A[0-9۰-۹]{10}\Z"), st.from_regex(r"\A\s*[0-9]{8,11}\s*\Z")))
def test_national_ids(value):
    try:
        nid = validate_national_id(value)
    except DomainError as exc:
        refused_in_persian(exc)
        assert not is_valid_national_id(value) if isinstance(value, str) else True
        return
    assert len(nid) == 10 and nid.isascii() and nid.isdigit() and is_valid_national_id(nid)


@PURE
@given(any_text)
def test_digits_and_normalisation(text):
    ascii_digits = to_ascii_digits(text)
    assert not any(ch in ascii_digits for ch in "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")
    only = normalize_digits_only(text)
    assert not any(ch.isspace() for ch in only) and "," not in only
    norm = normalize_text(text)
    assert normalize_text(norm) == norm                                         # idempotent
    assert not any(ch in norm for ch in BIDI + ["\u0640"])                       # bidi marks and tatweel gone
    assert not any(ch in norm for ch in CONTROLS)                              # so are controls and line breaks
    assert norm == norm.strip()


@PURE
@given(any_text)
def test_free_text_fields(text):
    try:
        out = clean_reason(text, field="دلیل")
    except DomainError as exc:
        refused_in_persian(exc)
        return
    assert out and len(out) <= 2000 and out == normalize_text(text)


@PURE
@given(st.one_of(any_text, _date_like().map(lambda d: d + " 10:30"),
                 st.sampled_from(["2025-10-07T10:30:00+03:30", "1404/07/15 24:00", "1404/07/15 10:61",
                                  "2025-02-30", "9999-12-31T23:59:59+99:99", "1404/12/30", "0000/01/01"])))
def test_payment_times(text):
    try:
        at = payments.parse_paid_at(text)
    except DomainError as exc:
        refused_in_persian(exc)
        return
    assert at.tzinfo is not None


@PURE
@given(st.one_of(any_text, odd_values), st.sampled_from(["image/png", "image/jpeg", "application/pdf"]))
def test_file_names(name, mime):
    out = uploads.sanitize_file_name(name, mime, "degree")
    stem, ext = out.rsplit(".", 1)
    assert ext == uploads.ALLOWED[mime][0] and 1 <= len(out) <= 200 and len(stem) <= uploads.MAX_STEM_CHARS
    assert not any(ch in out for ch in "/\\\x00") and ".." not in out
    assert not any(ch in out for ch in INVISIBLE + CONTROLS if ch != "\u200c")
    assert stem == stem.strip()


@PURE
@given(st.binary(max_size=300))
def test_file_contents(data):
    try:
        mime = uploads.detect_type(data)
    except DomainError as exc:
        refused_in_persian(exc)
        return
    assert data.startswith(uploads.ALLOWED[mime][1])


# --- form handlers against the database --------------------------------------------------------------

@pytest.fixture
def people(db):
    t = TEHRAN_ID
    return {
        "expert": make_staff(db, "t.expert", ["expert"], t),
        "finance": make_staff(db, "t.finance", ["finance"], t),
        "admin": make_staff(db, "t.admin", ["admin"], t),
    }


@pytest.fixture
def state():
    """What a test sets up once and its examples share (the fixture lives for one test function)."""
    return {}


def new_request(engine, type_code="new_membership", **member):
    mid = make_member(engine, TEHRAN_ID, **member)
    return file_request(engine, mid, type_code, submitted_at=SAT_0800).request_id


def version(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT version FROM request WHERE id = :i"), {"i": rid}).scalar_one()


@DB
@given(reason=any_text, action=st.sampled_from(["reject", "return"]))
def test_reject_and_return_reasons(db, people, state, reason, action):
    if "rid" not in state or version(db, state["rid"]) != 1:  # decided: the next example needs an open one
        state["rid"] = new_request(db, status="applicant")
    rid = state["rid"]
    fn = wf.reject if action == "reject" else wf.return_for_correction
    ok, out = attempt(db, lambda: fn(db, people["expert"], rid, 1, reason, now=LATER))
    if ok:
        assert out.status == ("rejected" if action == "reject" else "returned")


@DB
@given(text=any_text)
def test_comments(db, people, state, text):
    rid = state.get("rid") or state.setdefault("rid", new_request(db, status="applicant"))
    before = version(db, rid)
    attempt(db, lambda: wf.comment(db, people["expert"], rid, text, now=LATER))
    assert version(db, rid) == before  # a comment never moves the version, accepted or not


@DB
@given(reason=any_text, verdict=st.sampled_from(["rejected", "accepted", "maybe", "", "'; DROP TABLE document; --"]))
def test_document_verdict_reasons(db, people, state, reason, verdict):
    if "ids" not in state:
        rid = new_request(db, status="applicant")
        state["ids"] = (rid, add_document(db, rid, tiny_png(), "image/png"))
    ids = state["ids"]
    attempt(db, lambda: set_verdict(db, people["expert"], ids[1], verdict, reason, now=LATER))


@DB
@given(day=st.one_of(_date_like(), any_text), name=any_text)
def test_closures(db, people, day, name):
    ok, out = attempt(db, lambda: holidays.add_closure(db, people["admin"], day, name, province_id=TEHRAN_ID))
    if ok:
        assert out.holidays == 1


@DB
@given(debt=st.one_of(any_text, odd_values), note=st.one_of(st.none(), any_text),
       through=st.one_of(st.sampled_from([1403, 1404, 1405]), st.integers(-10, 10**6)))
def test_renewal_fee_determination(db, people, state, debt, note, through):
    if "rid" not in state:
        for year in (1403, 1404, 1405):
            add_tariff(db, year)
        state["rid"] = new_request(db, "membership_renewal", valid_until=END_1402)
    rid = state["rid"]
    ok, out = attempt(db, lambda: fees.determine_renewal_fee(db, people["expert"], rid, None, through, debt, note,
                                                             reason="اصلاح مبلغ", now=LATER))
    if ok:
        assert out.stage_code == "fee_determination" and out.version == 1


@DB
@given(ref=st.one_of(any_text, odd_values, st.from_regex(r"\A[A-Za-z0-9-]{6,12}\Z")),
       amount=st.one_of(any_text, odd_values, st.just(1_500_000), st.just("۱٬۵۰۰٬۰۰۰"), st.integers(-5, 10**16)))
def test_payment_confirmations(db, people, state, ref, amount):
    if "rid" not in state or version(db, state["rid"]) != 1:  # paid: the next one needs a request to pay
        state["rid"] = new_request(db, "card_reissue")
        make_assessment(db, state["rid"], 1_500_000)
    rid = state["rid"]
    ok, out = attempt(db, lambda: payments.confirm_payment(db, people["finance"], rid, ref, amount, now=LATER))
    if ok:
        assert out.request_id == rid


@DB
@given(data=st.one_of(st.binary(max_size=400), any_text, st.sampled_from([
    "tracking_code,bank_reference,amount,paid_at\n1234567890,\x00REF,1,1404/01/01",  # a NUL byte
    b"\xff\xfe" + "tracking_code".encode("utf-16-le"),                                 # not UTF-8
    "tracking_code,bank_reference,amount,paid_at\n" + "\n".join(["1,2,3,4"] * 5001),  # too many rows
]), st.builds(
    lambda rows: "tracking_code,bank_reference,amount,paid_at\n" + "\n".join(",".join(r) for r in rows),
    st.lists(st.lists(st.one_of(any_text, digits_mix).map(lambda s: s.replace("\x00", "")), min_size=0,
                      max_size=5), max_size=5))))
def test_gateway_files(db, people, data):
    """A file never pays a request here (none waits for payment): rows are reported, nothing stored."""
    before = snapshot(db)
    try:
        rows = payments.import_gateway_csv(db, people["finance"], data, now=LATER)
    except DomainError as exc:
        refused_in_persian(exc)
    else:
        assert all(r.status == "error" and is_persian(r.message) for r in rows)
    assert snapshot(db) == before


@pytest.mark.parametrize("data", [
    "tracking_code,bank_reference,amount,paid_at\n" + "1" * 200_000,
    "tracking_code,bank_reference,amount,paid_at\r1234567890,REF123456,1000,1404/01/01\r",
    b"tracking_code,bank_reference,amount,paid_at\n\r0",
], ids=["huge cell", "CR line breaks", "stray CR"])
def test_gateway_files_the_csv_reader_chokes_on_are_refused_in_persian(db, people, data):
    """A cell over the csv module's 128 KiB limit, and CR line ends (old Mac files, a stray \\r)."""
    ok, out = attempt(db, lambda: payments.import_gateway_csv(db, people["finance"], data, now=LATER))
    assert not ok or all(r.status == "error" for r in out)


@DB
@given(username=st.one_of(any_text, st.from_regex(r"\A[a-z][a-z0-9._-]{2,20}\Z")),
       password=st.one_of(any_text, st.text(min_size=8, max_size=80)),
       full_name=st.one_of(any_text, st.just("مریم احمدی")))
def test_staff_accounts(db, people, username, password, full_name, monkeypatch):
    real = bcrypt.gensalt
    monkeypatch.setattr(staff.bcrypt, "gensalt", lambda rounds=12, prefix=b"2b": real(4, prefix))  # fast hashes
    ok, uid = attempt(db, lambda: staff.create_staff(db, people["admin"], username=username, full_name=full_name,
                                                     roles=["expert"], province_id=TEHRAN_ID, password=password))
    if ok:
        with db.connect() as c:
            stored = c.execute(sa.text("SELECT username, password_hash FROM staff_user WHERE id = :i"),
                               {"i": uid}).one()
        assert stored.username == username.strip().lower()
        assert bcrypt.checkpw(password.encode(), stored.password_hash.encode())


@DB
@given(amounts=st.fixed_dictionaries({f: st.one_of(any_text, odd_values, st.just(v), st.just(f"{v:,}"))
                                      for f, v in FEES.items()}),
       year=st.one_of(st.sampled_from([1404, 1405]), st.integers(-10, 10**5)), reason=st.one_of(st.none(), any_text))
def test_tariffs(db, people, amounts, year, reason):
    attempt(db, lambda: tariffs.save_tariff(db, people["admin"], TEHRAN_ID, year, amounts, reason=reason,
                                            now=LATER))


@DB
@given(name=st.one_of(any_text, odd_values), data=st.one_of(
    st.binary(max_size=200), st.sampled_from([b"", b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"MZ" * 100,
                                              tiny_png(), tiny_pdf(), tiny_png()[:-1]])),
    doc_type=st.one_of(st.sampled_from(["degree", "photo", "other"]), any_text), title=st.one_of(st.none(), any_text))
def test_document_uploads(db, people, state, name, data, doc_type, title):
    rid = state.get("rid") or state.setdefault("rid", new_request(db, status="applicant"))
    ok, doc_id = attempt(db, lambda: uploads.store_document(db, people["expert"], request_id=rid, doc_type=doc_type,
                                                           file_name=name, data=data, title=title))
    if ok:
        assert data in (tiny_png(), tiny_pdf())


@DB
@given(search=any_text, code=st.one_of(any_text, st.from_regex(r"\A[0-9۰-۹]{10,14}\Z")))
def test_search_boxes(db, people, state, search, code):
    """Queries: the queue's search box, the request screen's and finance's tracking-code boxes."""
    if not state:
        state["rid"] = new_request(db, status="applicant", first_name="زهرا", last_name="O'Brien_%")
    before = snapshot(db)
    with Session(db) as s:
        for fn in (lambda: queue.queue_page(s, people["expert"], queue.QueueFilter(view="group", search=search), LATER),
                   lambda: load_request(s, people["expert"], code, LATER),
                   lambda: payments.lookup_for_payment(s, people["finance"], code)):
            try:
                fn()
            except DomainError as exc:
                refused_in_persian(exc)
            s.rollback()
    assert snapshot(db) == before


def test_search_text_is_data_not_sql(db, people):
    obrien = new_request(db, status="applicant", first_name="زهرا", last_name="O'Brien")
    percent = new_request(db, status="applicant", first_name="مریم", last_name="100%_x")
    with Session(db) as s:
        # Names match word by word (full-text prefix): punctuation separates words and is never a
        # wildcard, so "%" or "_" alone match nothing rather than everyone.
        for text, hits in (("O'Brien", [obrien]), ("o'br", [obrien]), ("100%", [percent]), ("%", []), ("%_", []),
                           ("_", []), ("' OR '1'='1", []), ("'; DROP TABLE request; --", [])):
            page = queue.queue_page(s, people["expert"], queue.QueueFilter(view="group", search=text), LATER)
            assert sorted(r.id for r in page.rows) == hits, text
    assert snapshot(db)["request"] == 2
