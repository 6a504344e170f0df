"""Small builders for test data, written through plain SQL so tests don't depend on the services
they test; and the helpers, constants and builders that more than one test module shares (test
modules import from here, never from each other)."""
from __future__ import annotations

import functools
import hashlib
import random
import struct
import zlib
from collections import defaultdict
from datetime import date, datetime, timedelta
from itertools import count

import bcrypt
import jdatetime
import sqlalchemy as sa

from domain.calendar import BusinessCalendar
from domain.errors import DomainError
from domain.jalali import TEHRAN, now_tehran
from domain.processes import NOTE_ACTIONS, PROCESSES, StageKind
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.roles import Role
from logic import releases as rel
from domain.outcomes import example_data
from logic import workflow as wf
from logic.auth import Actor
from logic.payments import confirm_payment

PASSWORD = "Demo@1404"


@functools.cache
def password_hash(password: str = PASSWORD) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


def make_staff(engine: sa.Engine, username: str, roles: list[str], province_id: int | None,
               full_name: str | None = None, password: str = PASSWORD) -> Actor:
    full_name = full_name or f"کاربر {username}"
    with engine.begin() as conn:
        uid = conn.execute(
            sa.text("INSERT INTO staff_user (username, full_name, password_hash, roles, province_id) "
                    "VALUES (:u, :n, :h, :r, :p) RETURNING id"),
            {"u": username, "n": full_name, "h": password_hash(password), "r": roles, "p": province_id},
        ).scalar_one()
    return Actor(uid, username, full_name, frozenset(roles), province_id)


_member_seq = iter(range(100_000_000, 999_999_999, 7919))


def make_member(engine: sa.Engine, province_id: int, *, status: str = "active", field: str = "civil",
                valid_until=None, first_name: str = "مریم", last_name: str = "احمدی",
                birth_province_id: int | None = None, mobile: str | None = None) -> int:
    from domain.national_id import birth_province, make_national_id
    birth = birth_province_id or province_id
    nid = make_national_id(f"{next(_member_seq):09d}")
    while birth_province(nid) not in (None, birth):  # an ID issued in another province would contradict it
        nid = make_national_id(f"{next(_member_seq):09d}")
    membership_no = None if status == "applicant" else f"T-{nid}"
    with engine.begin() as conn:
        mid = conn.execute(sa.text(
            "INSERT INTO member (national_id, membership_no, first_name, last_name, gender, birth_province_id, "
            "province_id, field, grade, status, valid_until, residence_proof) VALUES (:nid, :no, :fn, :ln, 'f', "
            ":bp, :p, :f, :g, :st, :vu, :rp) RETURNING id"),
            {"nid": nid, "no": membership_no, "fn": first_name, "ln": last_name, "bp": birth, "p": province_id,
             "f": field, "g": None if status == "applicant" else 3, "st": status, "vu": valid_until,
             "rp": None if birth == province_id else "insurance_list"}).scalar_one()
        if mobile:
            conn.execute(sa.text("INSERT INTO contact (member_id, kind, value) VALUES (:m, 'mobile', :v)"),
                         {"m": mid, "v": mobile})
    return mid


def make_assessment(engine: sa.Engine, request_id: int, total: int, *, new_valid_until=None,
                    finance_status: str = "not_required", version: int = 1, reason: str | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO fee_assessment (request_id, version, total, new_valid_until, finance_status, reason) "
            "VALUES (:r, :v, :t, :nv, :fs, :reason) RETURNING id"),
            {"r": request_id, "v": version, "t": total, "nv": new_valid_until, "fs": finance_status,
             "reason": reason}).scalar_one()


# --- documents (request view, page, upload and member tests) -------------------------------------

DOCS_SAT_0800 = datetime(2026, 11, 14, 8, 0, tzinfo=TEHRAN)  # a Saturday


def tiny_png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 2x2 RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def tiny_pdf(text: str = "Test document") -> bytes:
    """A valid one-page PDF whose cross-reference table points at every object."""
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /Font << /F1 5 0 R >> >> "
               b"/Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def store_blob(conn, content: bytes) -> str:
    """The content, stored once by its SHA-256 (which it returns)."""
    sha = hashlib.sha256(content).hexdigest()
    conn.execute(sa.text("INSERT INTO blob (sha256, size_bytes, content) VALUES (:s, :n, :c) "
                         "ON CONFLICT DO NOTHING"), {"s": sha, "n": len(content), "c": content})
    return sha


def add_document(engine, request_id: int, content: bytes, mime: str, doc_type: str = "national_card", *,
                 required: bool = True, file_name: str | None = None, title: str | None = None,
                 uploaded_at: datetime = DOCS_SAT_0800) -> int:
    """A blob (stored once per content) and a document row of the request's member."""
    ext = "pdf" if mime == "application/pdf" else "png"
    with engine.begin() as conn:
        sha = store_blob(conn, content)
        return conn.execute(sa.text(
            "INSERT INTO document (member_id, request_id, doc_type, title, file_name, mime, size_bytes, sha256, "
            "required, uploaded_at) SELECT member_id, id, :t, :title, :f, :m, :n, :s, :r, :u FROM request "
            "WHERE id = :rid RETURNING id"),
            {"rid": request_id, "t": doc_type, "title": title, "f": file_name or f"{doc_type}.{ext}", "m": mime,
             "n": len(content), "s": sha, "r": required, "u": uploaded_at}).scalar_one()


def corrupt_blob(engine, document_id: int) -> None:
    """Flip one byte of the stored content behind the service's back (same length, new hash)."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE blob SET content = overlay(content PLACING decode(CASE WHEN get_byte(content, 20) = 0 "
            "THEN '01' ELSE '00' END, 'hex') FROM 21 FOR 1) "
            "WHERE sha256 = (SELECT sha256 FROM document WHERE id = :d)"), {"d": document_id})


# --- fees and payments ---------------------------------------------------------------------------

SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)  # 1405/08/30, a Saturday
END_1402 = date(2024, 3, 19)   # 1402/12/29

FEES = {"entrance_fee": 20_000_000, "annual_fee": 5_000_000, "card_fee": 1_500_000, "licence_issue_fee": 8_000_000,
        "licence_renewal_fee": 3_000_000, "article32_renewal_fee": 4_000_000, "rating_fee": 12_000_000}


def add_tariff(engine, year, province_id=TEHRAN_ID, **overrides) -> int:
    values = {**FEES, **overrides}
    with engine.begin() as c:
        return c.execute(sa.text(
            "INSERT INTO fee_tariff (province_id, jalali_year, entrance_fee, annual_fee, card_fee, licence_issue_fee, "
            "licence_renewal_fee, article32_renewal_fee, rating_fee) VALUES (:p, :y, :entrance_fee, :annual_fee, "
            ":card_fee, :licence_issue_fee, :licence_renewal_fee, :article32_renewal_fee, :rating_fee) RETURNING id"),
            {"p": province_id, "y": year, **values}).scalar_one()


def set_finance_required(engine, required: bool, province_id=TEHRAN_ID) -> None:
    with engine.begin() as c:
        c.execute(sa.text("UPDATE province_setting SET finance_approval_required = :r WHERE province_id = :p"),
                  {"r": required, "p": province_id})


def rows(engine, sql, **params):
    with engine.connect() as c:
        return c.execute(sa.text(sql), params).mappings().all()


def assessments(engine, rid):
    return rows(engine, "SELECT * FROM fee_assessment WHERE request_id = :r ORDER BY version", r=rid)


def request_events(engine, rid):
    return rows(engine, "SELECT * FROM request_event WHERE request_id = :r ORDER BY id", r=rid)


def request(engine, rid):
    return rows(engine, "SELECT * FROM request WHERE id = :r", r=rid)[0]


# --- the workflow, step by step ------------------------------------------------------------------

CAL = BusinessCalendar()  # the default province calendar; the test database has no holidays


def req_row(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT * FROM request WHERE id = :i"), {"i": rid}).mappings().one()


def events(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT * FROM request_event WHERE request_id = :i ORDER BY id"),
                         {"i": rid}).mappings().all()


def check_invariants(engine, rid):
    """What must hold after every step, whatever the step was."""
    r = req_row(engine, rid)
    evs = [e for e in events(engine, rid) if e["action"] not in NOTE_ACTIONS]
    assert [e["version"] for e in evs] == list(range(1, r["version"] + 1)), "one event per version"
    stage = PROCESSES[r["type_code"]].stage(r["stage_code"])
    with engine.connect() as c:
        open_visits = c.execute(sa.text("SELECT * FROM stage_visit WHERE request_id = :i AND left_at IS NULL"),
                                {"i": rid}).mappings().all()
    proc = PROCESSES[r["type_code"]]
    if r["status"] == "open" and stage.clock_runs:
        # A deadline where the seed gives a limit; none where it gives none («بدون مهلت مصوب»).
        assert (r["due_at"] is not None) == (proc.total_limit_days is not None and not stage.outside_total)
        if stage.limit_days is None:
            assert r["stage_due_at"] is None
        else:
            limit = float(stage.limit_days) * CAL.day_hours
            expected = CAL.add_working_hours(r["stage_entered_at"], limit - float(r["stage_hours_used"]))
            assert r["stage_due_at"] == expected
        assert len(open_visits) == 1 and open_visits[0]["due_at"] == r["stage_due_at"]
    else:
        assert r["stage_due_at"] is None and r["due_at"] is None
        assert open_visits == []
    if r["status"] in ("completed", "rejected"):
        assert r["closed_at"] is not None and r["assignee_id"] is None
        assert (r["met_sla"] is not None) == (proc.total_limit_days is not None)
    return r


def actor_for(world, stage, r):
    """A staff member who may act at this stage of this request."""
    candidates = {
        Role.EXPERT: ["expert"], Role.FINAL_REVIEWER: ["final", "expert2"], Role.HEAD: ["head"],
        Role.FINANCE: ["finance"], Role.COMMITTEE: ["committee"], Role.RATING_COMMITTEE: ["rating"],
        Role.CENTRAL_EXPERT: ["central"],
    }[stage.role]
    for key in candidates:
        if not (stage.four_eyes and world[key].id == r["initial_reviewer_id"]):
            return world[key]
    raise AssertionError("no eligible actor")


def step(engine, world, rid, now, *, amount=1_500_000, refer=False):
    """Take one forward step at whatever stage the request is in."""
    r = req_row(engine, rid)
    stage = PROCESSES[r["type_code"]].stage(r["stage_code"])
    ticks = [True] * len(stage.checklist)
    if stage.kind is StageKind.MEMBER:
        return wf.member_completed(engine, rid, r["version"], now=now)
    if stage.kind is StageKind.PAYMENT:
        with engine.connect() as c:
            has = c.execute(sa.text("SELECT count(*) FROM fee_assessment WHERE request_id = :i"), {"i": rid}).scalar()
        if not has:
            make_assessment(engine, rid, amount)
        total = req_total(engine, rid)
        return confirm_payment(engine, world["finance"], rid, f"REF{rid:06d}{r['version']}", total, now=now)
    if stage.kind is StageKind.FEE:
        make_assessment(engine, rid, amount, new_valid_until=date(2028, 3, 19),
                        finance_status="pending" if r["type_code"] == "membership_renewal" else "not_required")
    actor = actor_for(world, stage, r)
    if stage.kind is StageKind.ISSUE:
        return wf.complete(engine, actor, rid, r["version"], now=now)
    return wf.approve(engine, actor, rid, r["version"], checklist=ticks, now=now, refer=refer)


def req_total(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT total FROM fee_assessment WHERE request_id = :i ORDER BY version DESC "
                                 "LIMIT 1"), {"i": rid}).scalar()


# --- members -------------------------------------------------------------------------------------

def add_member_document(engine, member_id: int, content: bytes, mime: str, doc_type: str, *,
                        title: str | None = None, description: str | None = None, request_id: int | None = None) -> int:
    """A blob and a document of the member's archive (no request unless given)."""
    ext = "pdf" if mime == "application/pdf" else "png"
    with engine.begin() as conn:
        sha = store_blob(conn, content)
        return conn.execute(sa.text(
            "INSERT INTO document (member_id, request_id, doc_type, title, description, file_name, mime, size_bytes, "
            "sha256, required) VALUES (:m, :r, :t, :title, :d, :f, :mime, :n, :s, true) RETURNING id"),
            {"m": member_id, "r": request_id, "t": doc_type, "title": title, "d": description,
             "f": f"{doc_type}.{ext}", "mime": mime, "n": len(content), "s": sha}).scalar_one()


def insert(engine, table: str, **values) -> int:
    cols = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    with engine.begin() as conn:
        stmt = sa.text(f"INSERT INTO {table} ({cols}) VALUES ({params}) RETURNING id")
        return conn.execute(stmt, values).scalar_one()


def make_full_member(engine, province_id: int = TEHRAN_ID, *, first_name: str = "علی", last_name: str = "کریمی",
                     today: date | None = None, **kwargs) -> dict:
    """A member with every profile section filled: two degrees (one scanned), contacts (one off),
    two addresses (one legal), an archive document, spouse and two children, a work and an Article 32
    licence, two validity changes (one by a request) and two requests."""
    today = today or now_tehran().date()
    mid = make_member(engine, province_id, first_name=first_name, last_name=last_name, mobile="09121234567",
                      valid_until=today + timedelta(days=20), birth_province_id=ISFAHAN_ID, **kwargs)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE member SET father_name = 'حسن', birth_date = '1985-04-02', joined_on = "
                             "'2015-06-01' WHERE id = :m"), {"m": mid})
    scan = add_member_document(engine, mid, tiny_png((10, 120, 200)), "image/png", "degree", title="مدرک کارشناسی")
    archive = add_member_document(engine, mid, tiny_pdf("Lease"), "application/pdf", "official_lease",
                                  title="اجاره‌نامه", description="اجاره‌نامهٔ رسمی محل سکونت")
    bachelor = insert(engine, "education", member_id=mid, level="bachelor", field="مهندسی عمران",
                      specialisation="سازه", university="دانشگاه تهران", graduated_on=date(2008, 7, 1),
                      verification_code="123456789012", document_id=scan)
    master = insert(engine, "education", member_id=mid, level="master", field="مهندسی عمران",
                    specialisation="ژئوتکنیک", university="دانشگاه شریف", graduated_on=date(2011, 7, 1),
                    verification_code="998877665544", document_id=None)
    old_mobile = insert(engine, "contact", member_id=mid, kind="mobile", value="09351112233", is_active=False)
    email = insert(engine, "contact", member_id=mid, kind="email", value="ali.karimi@example.com")
    insert(engine, "contact", member_id=mid, kind="landline", value="02188776655")
    legal = insert(engine, "address", member_id=mid, province_id=province_id, city="تهران",
                   line="خیابان آزادی، کوچهٔ یکم، پلاک ۱۲", postal_code="1311111111", is_legal=True)
    home = insert(engine, "address", member_id=mid, province_id=province_id, city="شهریار",
                  line="بلوار معلم، پلاک ۷", postal_code="3351111111", is_legal=False)
    insert(engine, "family_member", member_id=mid, relation="spouse", first_name="سارا", last_name="رضایی",
           national_id="0013542419", birth_date=date(1987, 1, 1))
    insert(engine, "family_member", member_id=mid, relation="child", first_name="پارسا", last_name="کریمی",
           national_id="0499370899", birth_date=date(2015, 1, 1))
    insert(engine, "family_member", member_id=mid, relation="child", first_name="نیلوفر", last_name="کریمی",
           national_id=None, birth_date=date(2018, 1, 1))
    insert(engine, "work_licence", member_id=mid, kind="work", licence_no=f"W{mid:08d}", field="civil", grade=2,
           competencies=["design", "supervision"], issued_on=today - timedelta(days=400),
           expires_on=today + timedelta(days=1000))
    insert(engine, "work_licence", member_id=mid, kind="article32", licence_no=f"A{mid:08d}", field="civil",
           grade=2, competencies=[], issued_on=today - timedelta(days=300), expires_on=today + timedelta(days=700))
    start = now_tehran() - timedelta(days=3)
    renewal = file_request(engine, mid, "membership_renewal", submitted_at=start)
    transfer = file_request(engine, mid, "transfer", {"destination_province": ISFAHAN_ID}, submitted_at=start)
    insert(engine, "validity_change", member_id=mid, old_valid_until=date(2020, 3, 19),
           new_valid_until=date(2023, 3, 20))
    insert(engine, "validity_change", member_id=mid, old_valid_until=date(2023, 3, 20),
           new_valid_until=today + timedelta(days=20), request_id=renewal.request_id)
    return {"id": mid, "scan": scan, "archive": archive, "bachelor": bachelor, "master": master,
            "old_mobile": old_mobile, "email": email, "legal": legal, "home": home, "renewal": renewal,
            "transfer": transfer}


def national_id_of(engine, member_id: int) -> str:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT national_id FROM member WHERE id = :m"), {"m": member_id}).scalar_one()


def audit_rows(engine, action: str | None = None) -> list:
    with engine.connect() as c:
        q = "SELECT * FROM audit_event" + (" WHERE action = :a" if action else "") + " ORDER BY id"
        return c.execute(sa.text(q), {"a": action}).mappings().all()


# --- random request histories (KPI and analytics tests) ------------------------------------------

# 1 Azar 1405 is 22 November 2026: the simulation runs through the Aban/Azar boundary.
NOW = datetime(2026, 11, 25, 11, 17, 23, tzinfo=TEHRAN)
SIM_START = datetime(2026, 10, 4, 8, 0, tzinfo=TEHRAN)
HOLIDAYS = [(date(2026, 11, 3), None), (date(2026, 11, 17), TEHRAN_ID), (date(2026, 10, 13), ISFAHAN_ID)]
MASHHAD_ID = 11
PREFIX = {TEHRAN_ID: "t", ISFAHAN_ID: "i", MASHHAD_ID: "m"}


class Simulation:
    """Requests moving through their processes at random, at increasing simulated times."""

    def __init__(self, engine, staff, seed: int):
        self.engine, self.staff, self.rng = engine, staff, random.Random(seed)
        self.requests: list[int] = []
        self.members: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.refs = 0

    def row(self, rid):
        with self.engine.connect() as c:
            return c.execute(sa.text("SELECT * FROM request WHERE id = :i"), {"i": rid}).mappings().one()

    def submit(self, at: datetime, province: int | None = None, type_code: str | None = None) -> int:
        rng = self.rng
        province = province or rng.choice([TEHRAN_ID, TEHRAN_ID, ISFAHAN_ID, MASHHAD_ID])
        type_code = type_code or rng.choice(list(PROCESSES))
        member = make_member(self.engine, province, status="applicant" if type_code == "new_membership" else "active",
                             valid_until=validity_for(type_code), field=rng.choice(["civil", "architecture", "electrical"]))
        data = {"destination_province": rng.choice([p for p in (TEHRAN_ID, ISFAHAN_ID, 1) if p != province])} \
            if type_code == "transfer" else None
        out = file_request(self.engine, member, type_code, data, submitted_at=at, province_id=province)
        self.requests.append(out.request_id)
        return out.request_id

    def actor_for(self, stage, r):
        role = stage.role
        pid = r["province_id"]
        if role == Role.CENTRAL_EXPERT:
            return self.staff["central"]
        keys = {Role.EXPERT: ["expert", "expert2"], Role.FINAL_REVIEWER: ["final", "expert2"], Role.HEAD: ["head"],
                Role.FINANCE: ["finance"], Role.COMMITTEE: ["committee"], Role.RATING_COMMITTEE: ["rating"]}[role]
        self.rng.shuffle(keys)
        for key in keys:
            person = self.staff[f"{PREFIX[pid]}.{key}"]
            if not (stage.four_eyes and person.id == r["initial_reviewer_id"]):
                if r["assignee_id"] in (None, person.id):
                    return person
        return None

    def act(self, rid: int, at: datetime) -> None:
        """One random step on one request, as whoever may take it."""
        rng, e = self.rng, self.engine
        r = self.row(rid)
        if r["status"] in ("completed", "rejected"):
            return
        if r["status"] == "returned":
            wf.resubmit(e, rid, r["version"], now=at)
            return
        stage = PROCESSES[r["type_code"]].stage(r["stage_code"])
        if stage.kind is StageKind.MEMBER:
            wf.member_completed(e, rid, r["version"], now=at)
            return
        if stage.kind is StageKind.PAYMENT:
            with e.connect() as c:
                total = c.execute(sa.text("SELECT total FROM fee_assessment WHERE request_id = :i "
                                          "ORDER BY version DESC LIMIT 1"), {"i": rid}).scalar()
            if total is None:
                total = 1_000_000 + 10_000 * rng.randrange(100)
                make_assessment(e, rid, total)
            self.refs += 1
            confirm_payment(e, self.staff[f"{PREFIX[r['province_id']]}.finance"], rid, f"KPI{self.refs:08d}", total,
                            paid_at=at - timedelta(minutes=rng.randrange(0, 90)), now=at)
            return
        actor = self.actor_for(stage, r)
        if actor is None:
            return
        if stage.kind is StageKind.FEE:
            with e.connect() as c:
                has = c.execute(sa.text("SELECT count(*) FROM fee_assessment WHERE request_id = :i"),
                                {"i": rid}).scalar()
            if not has:
                pending = r["type_code"] == "membership_renewal" and r["province_id"] != MASHHAD_ID
                make_assessment(e, rid, 2_000_000 + 10_000 * rng.randrange(300), new_valid_until=date(2028, 3, 19),
                                finance_status="pending" if pending else "not_required")
        x = rng.random()
        ticks = [True] * len(stage.checklist)
        if r["assignee_id"] is None and x < 0.2:
            wf.claim(e, actor, rid, r["version"], now=at)
        elif stage.kind is StageKind.ISSUE:
            wf.complete(e, actor, rid, r["version"], now=at)
        elif x < 0.3 and stage.kind in (StageKind.REVIEW, StageKind.FEE):
            wf.return_for_correction(e, actor, rid, r["version"], "مدرک ناخوانا است", now=at)
        elif x < 0.36:
            wf.reject(e, actor, rid, r["version"], "شرایط احراز نشد", now=at)
        else:
            proc = PROCESSES[r["type_code"]]
            refer = rng.random() < 0.3 and proc.referral_after(proc.index(stage.code)) is not None
            wf.approve(e, actor, rid, r["version"], checklist=ticks, refer=refer, now=at)

    def run(self, start: datetime, end: datetime, steps: int, new_share: float = 0.3) -> None:
        """`steps` events at random moments in [start, end), in time order."""
        moments = sorted(start + (end - start) * self.rng.random() for _ in range(steps))
        for at in moments:
            at = at.replace(microsecond=self.rng.randrange(1_000_000))
            if not self.requests or self.rng.random() < new_share:
                self.submit(at)
                continue
            rid = self.rng.choice(self.requests)
            try:
                self.act(rid, at)
            except DomainError:
                pass  # a step the workflow refuses (a stale guess): nothing was written


def add_licences(engine, rng: random.Random) -> None:
    """Work licences (some expired, some not yet issued, some members with two) and Article 32 ones."""
    with engine.begin() as c:
        members = [r.id for r in c.execute(sa.text("SELECT id FROM member ORDER BY id"))]
        n = 0
        for mid in members:
            for _ in range(rng.choice([0, 1, 1, 2])):
                n += 1
                issued = date(2026, 11, 20) - timedelta(days=rng.randrange(-20, 2000))
                kind = "work" if rng.random() < 0.85 else "article32"
                c.execute(sa.text(
                    "INSERT INTO work_licence (member_id, kind, licence_no, field, grade, issued_on, expires_on) "
                    "VALUES (:m, :k, :no, 'civil', 3, :i, :e)"),
                    {"m": mid, "k": kind, "no": f"L{n:07d}", "i": issued,
                     "e": issued + timedelta(days=rng.choice([365, 3 * 365, 5 * 365]))})
        # Some members with grades and other statuses, so that every group is there.
        c.execute(sa.text("UPDATE member SET grade = 1 + (id % 3) WHERE id % 4 = 0 AND status = 'active'"))
        c.execute(sa.text("UPDATE member SET status = 'lapsed' WHERE id % 7 = 0 AND status = 'active'"))


# --- transparency releases: a known world --------------------------------------------------------

ALL_TABLES = list(rel.TABLES)


def g(jy: int, jm: int, jd: int) -> date:
    return jdatetime.date(jy, jm, jd).togregorian()


def at(jy: int, jm: int, jd: int, hour: int = 10) -> datetime:
    return datetime.combine(g(jy, jm, jd), datetime.min.time(), tzinfo=TEHRAN) + timedelta(hours=hour)


# The seed's period: from 1 Farvardin to the end of Ordibehesht (here of 1403).
FIRST, LAST = g(1403, 1, 1), g(1403, 2, 31)
_licence_no = count(1)
_tracking = count(10**11)


def add_licence(db, member_id: int, field: str, grade: int, issued: date, *, years: int = 5,
                kind: str = "work") -> None:
    with db.begin() as c:
        c.execute(sa.text("INSERT INTO work_licence (member_id, kind, licence_no, field, grade, issued_on, expires_on) "
                          "VALUES (:m, :k, :n, :f, :g, :i, :e)"),
                  {"m": member_id, "k": kind, "n": f"L{next(_licence_no):08d}", "f": field, "g": grade,
                   "i": issued, "e": issued + timedelta(days=365 * years)})


def validity_for(type_code: str) -> date:
    """A member's validity for filing a request of the type in 1405: lapsed at the end of 1404 where
    the type is open to lapsed members (a renewal is then inside its window), else paid through 1405
    (seed 001: a service needs paid dues)."""
    return date(2027, 3, 20) if PROCESSES[type_code].needs_paid_dues else date(2026, 3, 20)


def file_request(engine, member_id: int, type_code: str, data: dict | None = None, *,
                 submitted_at: datetime | None = None, province_id: int | None = None):
    """Submit a request as the portal sends it: the type's example declaration
    (`domain.outcomes.example_data`) under `data`, and for a licence renewal a licence of its kind
    (issued 2022-05-01, so a work licence is still valid)."""
    if province_id is None:
        with engine.connect() as c:
            province_id = c.execute(sa.text("SELECT province_id FROM member WHERE id = :m"),
                                    {"m": member_id}).scalar() or TEHRAN_ID
    kind = PROCESSES[type_code].renews_licence
    if kind:
        add_licence(engine, member_id, "civil", 2, date(2022, 5, 1), kind=kind)
    return wf.submit(engine, member_id, type_code, example_data(type_code, province_id, member_id) | (data or {}),
                     submitted_at=submitted_at)


def add_request(db, member_id: int, province_id: int, type_code: str, *, submitted: datetime,
                closed: datetime | None = None, status: str = "completed", hours: float = 7,
                met: bool | None = None) -> None:
    proc = PROCESSES[type_code]
    closed_status = status in ("completed", "rejected")
    stage = proc.stages[-1].code if closed_status else proc.stages[0].code
    if closed_status and met is None and proc.total_limit_days is not None:
        met = hours <= proc.total_limit_days * 7  # Tehran's office day: 07:30-14:30
    with db.begin() as c:
        c.execute(sa.text(
            "INSERT INTO request (tracking_code, member_id, province_id, type_code, stage_code, status, submitted_at, "
            "clock_started_at, stage_entered_at, closed_at, met_sla, process_hours_used) "
            "VALUES (:t, :m, :p, :type, :stage, :status, :s, :s, :s, :c, :met, :h)"),
            {"t": str(next(_tracking)), "m": member_id, "p": province_id, "type": type_code, "stage": stage,
             "status": status, "s": submitted, "c": closed if closed_status else None,
             "met": met if closed_status else None, "h": hours})
        if type_code == "licence_renewal" and status == "completed":
            # What its last step writes on the record (logic.effects): the latest work licence renewed.
            c.execute(sa.text(
                "INSERT INTO record_change (member_id, request_id, kind, at, province_id, licence_id, details) "
                "SELECT :m, currval(pg_get_serial_sequence('request', 'id')), 'licence_renewed', :c, :p, w.id, "
                "'{\"years\": 1}' FROM work_licence w WHERE w.member_id = :m AND w.kind = 'work' "
                "ORDER BY w.expires_on DESC, w.id DESC LIMIT 1"), {"m": member_id, "c": closed, "p": province_id})


def build_world(db) -> dict:
    """Tehran, period 1403/01/01-1403/02/31:
    licences issued: civil g1 6, civil g3 7, architecture g3 2 (small), mechanical g2 5;
    licences renewed: civil g1 5, mechanical g2 1 (small);
    members at the end: civil 13 with a valid licence + 1 without, architecture 2 + 0,
    mechanical 5 + 0, electrical 0 + 6 (plus a transferred member and an applicant, not counted);
    new members: architecture 1, electrical 6; membership renewals: civil 8;
    services: new membership 7 received and finished (5 in time, median 2 working days)...
    Isfahan has licences and renewals in the same period that a Tehran release must not count."""
    people = {
        "board1": make_staff(db, "tehran.board", ["board"], TEHRAN_ID, "عضو هیأت مدیره یکم"),
        "board2": make_staff(db, "tehran.board2", ["board"], TEHRAN_ID, "عضو هیأت مدیره دوم"),
        "isfahan": make_staff(db, "isfahan.board", ["board"], ISFAHAN_ID, "هیأت مدیره اصفهان"),
        "central": make_staff(db, "central.board", ["board"], None, "هیأت مدیره مرکزی"),
        "central2": make_staff(db, "central.board2", ["board"], None, "هیأت مدیره مرکزی دوم"),
        "expert": make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID, "زهرا کارگر"),
    }
    civil = [make_member(db, TEHRAN_ID, field="civil", first_name="رضا", last_name=f"عمرانی{i}") for i in range(13)]
    for i, m in enumerate(civil):
        add_licence(db, m, "civil", 1 if i < 6 else 3, g(1403, 1, 5 + i))
    expired = make_member(db, TEHRAN_ID, field="civil", first_name="نادر", last_name="بی‌پروانه")
    add_licence(db, expired, "civil", 2, g(1397, 6, 1), years=5)  # expired in 1402
    arch = [make_member(db, TEHRAN_ID, field="architecture", first_name="سارا", last_name="معمارزاده")
            for _ in range(2)]
    for m in arch:
        add_licence(db, m, "architecture", 3, g(1403, 2, 10))
    mech = [make_member(db, TEHRAN_ID, field="mechanical") for _ in range(5)]
    for m in mech:
        add_licence(db, m, "mechanical", 2, g(1403, 2, 1))
    add_licence(db, mech[0], "mechanical", 2, g(1403, 2, 5), kind="article32")  # not a work licence
    add_licence(db, civil[0], "civil", 1, g(1402, 12, 29))  # the day before the period
    add_licence(db, civil[1], "civil", 1, g(1403, 3, 1))    # the day after
    elec = [make_member(db, TEHRAN_ID, field="electrical") for _ in range(6)]
    make_member(db, TEHRAN_ID, status="applicant", field="electrical")
    make_member(db, TEHRAN_ID, status="transferred", field="civil")
    isfahan = [make_member(db, ISFAHAN_ID, field="civil") for _ in range(3)]
    for m in isfahan:
        add_licence(db, m, "civil", 1, g(1403, 1, 20))
        add_request(db, m, ISFAHAN_ID, "membership_renewal", submitted=at(1403, 1, 20), closed=at(1403, 1, 25))

    # Licence renewals: 5 civil grade 1 and 1 mechanical in the period; a rejection, one finished
    # after the period and one still open are not renewals in the period.
    for m in civil[:5]:
        add_request(db, m, TEHRAN_ID, "licence_renewal", submitted=at(1403, 2, 1), closed=at(1403, 2, 20), hours=21)
    add_request(db, mech[0], TEHRAN_ID, "licence_renewal", submitted=at(1403, 2, 1), closed=at(1403, 2, 20), hours=21)
    add_request(db, civil[6], TEHRAN_ID, "licence_renewal", submitted=at(1403, 2, 1), closed=at(1403, 2, 22),
                status="rejected", hours=7)
    add_request(db, civil[7], TEHRAN_ID, "licence_renewal", submitted=at(1403, 2, 1), closed=at(1403, 3, 2))
    add_request(db, civil[8], TEHRAN_ID, "licence_renewal", submitted=at(1403, 2, 30), status="open")

    # New members: 6 electrical and 1 architecture, working hours 7,7,14,14,21,42,49 (days 1,1,2,2,3,6,7).
    for m, hours in zip(elec + arch[:1], (7, 7, 14, 14, 21, 42, 49)):
        add_request(db, m, TEHRAN_ID, "new_membership", submitted=at(1403, 1, 15), closed=at(1403, 2, 5), hours=hours)
    # Membership renewals: 8 civil completed, 1 rejected.
    for m in civil[:8]:
        add_request(db, m, TEHRAN_ID, "membership_renewal", submitted=at(1403, 1, 10), closed=at(1403, 1, 12), hours=3)
    add_request(db, civil[9], TEHRAN_ID, "membership_renewal", submitted=at(1403, 1, 10), closed=at(1403, 1, 12),
                status="rejected", hours=3)
    return {**people, "civil": civil, "elec": elec}


def compose(db, actor, **kw):
    args = {"title": "آمار صدور پروانه اشتغال از اول فروردین ۱۴۰۳ لغایت پایان اردیبهشت",
            "province_id": TEHRAN_ID, "period_from": FIRST, "period_to": LAST, "tables": ALL_TABLES, **kw}
    return rel.compose(db, actor, **args)
