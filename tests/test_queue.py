"""The queue's queries and actions on a real database: views and their counts, filters, search,
sorting, paging, province isolation, "next task" (also under concurrency) and export."""
from __future__ import annotations

import io
import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from db.engine import session_scope
from domain.calendar import BusinessCalendar
from domain.errors import InvalidTransition, PermissionDenied, ValidationError
from domain.jalali import TEHRAN
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.text import to_persian_digits
from logic import queue as q
from logic import workflow as wf
from logic.export import export_csv, export_xlsx
from tests.factories import file_request, make_member, make_staff

CAL = BusinessCalendar()  # the test database has no holidays
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TEHRAN)  # a Tuesday, mid-morning
MON = datetime(2026, 11, 23, 0, 0, tzinfo=TEHRAN)
SAT = datetime(2026, 11, 21, 0, 0, tzinfo=TEHRAN)
INITIAL_TICKS = [True] * 4  # new_membership's initial review checklist


@pytest.fixture
def staff(db):
    t = TEHRAN_ID
    return {
        "expert": make_staff(db, "t.expert", ["expert"], t, "کارشناس یکم"),
        "expert2": make_staff(db, "t.expert2", ["expert", "final_reviewer"], t, "کارشناس دوم"),
        "final": make_staff(db, "t.final", ["final_reviewer"], t, "بررسی نهایی"),
        "manager": make_staff(db, "t.manager", ["manager"], t, "مدیر تهران"),
        "isfahan": make_staff(db, "i.expert", ["expert", "final_reviewer"], ISFAHAN_ID, "کارشناس اصفهان"),
        "central": make_staff(db, "central.expert", ["central_expert"], None, "کارشناس مرکزی"),
    }


def submit(db, at, *, province=TEHRAN_ID, type_code="new_membership", first="مریم", last="احمدی"):
    member = make_member(db, province, status="applicant" if type_code == "new_membership" else "active",
                         first_name=first, last_name=last)
    return file_request(db, member, type_code, submitted_at=at)


@pytest.fixture
def world(db, staff):
    """Tehran: A overdue, B due today (on time), C due today and at risk, D claimed by the expert,
    E waiting for the member's payment, G at final review after expert2's initial review.
    Isfahan: F overdue."""
    w = {
        "A": submit(db, SAT + timedelta(hours=8), first="علی", last="کریمی"),        # due Sun 08:00
        "B": submit(db, MON + timedelta(hours=13), first="زهرا", last="رضایی"),       # due Tue 13:00
        "C": submit(db, MON + timedelta(hours=11), first="حسین", last="محمدی"),       # due Tue 11:00
        "D": submit(db, NOW - timedelta(hours=1), first="سارا", last="حسینی"),        # due Wed 09:00
        "E": submit(db, MON + timedelta(hours=9), type_code="card_reissue", first="رضا", last="نوری"),
        "F": submit(db, SAT + timedelta(hours=8), province=ISFAHAN_ID, first="علی", last="کریمی"),
        "G": submit(db, MON + timedelta(hours=8), first="نرگس", last="صادقی"),
    }
    wf.claim(db, staff["expert"], w["D"].request_id, now=NOW - timedelta(minutes=30))
    wf.approve(db, staff["expert2"], w["G"].request_id, 1, checklist=INITIAL_TICKS, now=NOW - timedelta(hours=1))
    return w


def ids(page_or_rows):
    rows = page_or_rows.rows if isinstance(page_or_rows, q.QueuePage) else page_or_rows
    return [r.id for r in rows]


def rids(world, *names):
    return [world[n].request_id for n in names]


def page(db, actor, **kw):
    with session_scope(db) as s:
        return q.queue_page(s, actor, q.QueueFilter(**kw), NOW)


def counts(db, actor):
    with session_scope(db) as s:
        return q.view_counts(s, actor, NOW)


# --- views --------------------------------------------------------------------------------------

def test_each_view_and_its_count_for_an_expert(db, staff, world):
    expert = staff["expert"]
    expected = {"mine": ["D"], "group": ["A", "C", "B"], "overdue": ["A"], "due_today": ["C", "B"],
                "at_risk": ["C"]}
    assert counts(db, expert) == {v: len(names) for v, names in expected.items()}
    for view, names in expected.items():
        p = page(db, expert, view=view)
        assert ids(p) == rids(world, *names), view
        assert p.total == len(names)


def test_four_eyes_keeps_a_request_out_of_its_initial_reviewers_group(db, staff, world):
    assert world["G"].request_id not in ids(page(db, staff["expert2"], view="group"))
    assert ids(page(db, staff["final"], view="group")) == rids(world, "G")
    assert counts(db, staff["final"])["group"] == 1


def test_a_manager_sees_the_whole_province_in_the_deadline_views_and_all(db, staff, world):
    manager = staff["manager"]
    c = counts(db, manager)
    assert c == {"mine": 0, "group": 0, "overdue": 1, "due_today": 2, "at_risk": 1, "all": 6}
    # Sorted by stage deadline, the paused request (no deadline) last.
    assert ids(page(db, manager, view="all")) == rids(world, "A", "C", "B", "D", "G", "E")


def test_a_non_manager_cannot_use_the_all_view(db, staff, world):
    assert "all" not in counts(db, staff["expert"])
    assert "all" not in q.available_views(staff["expert"])
    with pytest.raises(PermissionDenied):
        page(db, staff["expert"], view="all")
    with session_scope(db) as s, pytest.raises(PermissionDenied):
        list(q.export_rows(s, staff["expert"], q.QueueFilter(view="all"), NOW))


def test_rows_carry_names_status_assignee_and_working_hours_left(db, staff, world):
    rows = {r.id: r for r in page(db, staff["manager"], view="all").rows}
    a, d, e = (rows[i] for i in rids(world, "A", "D", "E"))
    assert (a.type_name, a.stage_name, a.member_name) == ("عضویت جدید", "بررسی اولیه", "علی کریمی")
    assert a.sla == "breached" and a.remaining_hours == pytest.approx(CAL.working_hours_between(NOW, a.stage_due_at))
    assert a.remaining_hours < 0
    assert (d.assignee_id, d.assignee_name, d.sla) == (staff["expert"].id, "کارشناس یکم", "on_time")
    assert d.remaining_hours == pytest.approx(6.0)  # 7 working hours from 09:00, one gone
    assert d.version == 2
    assert (e.sla, e.remaining_hours, e.stage_due_at) == ("paused", None, None)
    # The «مهلت» column: the deadline's Jalali date and whole working days, on the province's calendar.
    assert q.format_due(a) == "۱۴۰۵/۰۹/۰۱ — ۲ روز کاری گذشته"  # Sun 08:00: 6.5 h, Monday, 2.5 h since
    assert q.format_due(d) == "۱۴۰۵/۰۹/۰۴ — کمتر از یک روز کاری مانده"  # Wed 09:00: six working hours
    assert q.format_due(e) == "متوقف (نزد عضو)" and e.days_left is None


# --- filters, search, sort, paging --------------------------------------------------------------

def test_each_filter_narrows_the_set(db, staff, world):
    m = staff["manager"]
    assert ids(page(db, m, view="all", type_code="card_reissue")) == rids(world, "E")
    assert ids(page(db, m, view="all", stage_code="final_review")) == rids(world, "G")
    assert ids(page(db, m, view="all", sla="breached")) == rids(world, "A")
    assert ids(page(db, m, view="all", sla="at_risk")) == rids(world, "C")
    assert ids(page(db, m, view="all", sla="paused")) == rids(world, "E")
    assert set(ids(page(db, m, view="all", sla="on_time"))) == set(rids(world, "B", "D", "G"))
    # Submission dates are inclusive days in Tehran: Monday covers B, C, E and G.
    monday = date(2026, 11, 23)
    assert set(ids(page(db, m, view="all", submitted_from=monday, submitted_to=monday))) == \
        set(rids(world, "B", "C", "E", "G"))
    assert ids(page(db, m, view="all", submitted_to=date(2026, 11, 21))) == rids(world, "A")
    assert ids(page(db, m, view="all", submitted_from=date(2026, 11, 24))) == rids(world, "D")
    # Filters combine.
    assert ids(page(db, m, view="all", type_code="new_membership", sla="on_time", stage_code="initial_review")) == \
        rids(world, "B", "D")
    with pytest.raises(ValidationError):
        page(db, m, view="all", submitted_from=date(2026, 11, 24), submitted_to=date(2026, 11, 23))


def member_of(db, request_id):
    with db.connect() as c:
        return c.execute(sa.text("SELECT m.* FROM member m JOIN request r ON r.member_id = m.id WHERE r.id = :i"),
                         {"i": request_id}).mappings().one()


def test_search_by_national_id_in_persian_digits_tracking_code_membership_number_and_name(db, staff, world):
    m = staff["manager"]
    a = world["A"].request_id
    nid = member_of(db, a)["national_id"]
    assert ids(page(db, m, view="all", search=to_persian_digits(nid))) == [a]
    assert ids(page(db, m, view="all", search=f"  {nid} ")) == [a]
    assert ids(page(db, m, view="all", search=to_persian_digits(world["B"].tracking_code))) == rids(world, "B")
    with db.begin() as c:
        c.execute(sa.text("UPDATE member SET membership_no = '08-0000123' WHERE id = :i"),
                  {"i": member_of(db, world["D"].request_id)["id"]})
    assert ids(page(db, m, view="all", search="۰۸-۰۰۰۰۱۲۳")) == rids(world, "D")
    # Arabic yeh and kaf typed on an Arabic keyboard find the Persian spelling.
    assert ids(page(db, m, view="all", search="علي كريمي")) == [a]
    assert ids(page(db, m, view="all", search="كريمي")) == [a]
    assert ids(page(db, m, view="all", search="رضا")) == rids(world, "B", "E")  # رضایی and رضا
    assert page(db, m, view="all", search="0000000000").total == 0
    # LIKE wildcards are literal text, not patterns.
    assert page(db, m, view="all", search="%").total == 0


def _named_by_fulltext(session, text: str) -> sa.ColumnElement[bool]:
    """The name search as migrations 0006 and 0012 served it (a full-text prefix match over the
    member's name, then its requests): the reference the word table must agree with."""
    from db.models import Member, Request, member_name_words
    from logic.members import name_tsquery

    tsq = name_tsquery(text)
    by_name = sa.false() if tsq is None else sa.text(
        f"{member_name_words('member.')} @@ to_tsquery('simple', :tsq)").bindparams(tsq=tsq)
    ids = sa.select(sa.func.array_agg(Member.id)).where(sa.or_(by_name, Member.membership_no == text))
    return Request.member_id == sa.any_(sa.cast(ids.scalar_subquery(), sa.ARRAY(sa.BigInteger)))


def _page_as_before(s, actor, flt: q.QueueFilter) -> tuple[list[int], int, int]:
    """queue_page as it was: the capped count, then the page read with the search's condition."""
    total = q.count_matching(s, actor, flt, NOW)
    pages = max(1, -(-total // flt.page_size))
    offset = (min(flt.page, pages) - 1) * flt.page_size
    rows = s.execute(q._rows_select(s, actor, flt, NOW).limit(flt.page_size).offset(offset)).all()
    return [r.id for r in rows], total, pages


def test_name_search_finds_the_same_rows_in_the_same_order_as_the_full_text_match(db, staff, monkeypatch):
    """Names with and without their half-space, stored with Arabic ي/ك, a name inside another
    («رضا» begins «رضایی» and the «رضا» of «محمد‌رضا», not «محمدرضا»), several requests of one member
    and equal deadlines (ordered by id): every search gives the page, order and count of before."""
    names = [("علی‌اکبر", "محمد‌زاده"), ("علیاکبر", "محمدزاده"), ("علي", "كاظمي"), ("رضا", "نوری"),
             ("زهرا", "رضایی"), ("محمدرضا", "کریمی"), ("محمد‌رضا", "کریمی"), ("علی", "رضازاده"),
             ("O'Brien", "Smith"), ("مریم", "احمدی")]
    made = []
    for i, (first, last) in enumerate(names * 3):
        at = MON + timedelta(hours=8, minutes=20 * (i % 7))  # equal deadlines, several per name
        made.append(submit(db, at, first=first, last=last).request_id)
    card = make_member(db, TEHRAN_ID, first_name="رضا", last_name="کاظمی")  # active: has a membership number
    file_request(db, card, "card_reissue", submitted_at=MON)
    with db.connect() as c:
        membership_no = c.execute(sa.text("SELECT membership_no FROM member WHERE id = :m"), {"m": card}).scalar()
    searches = ["رضا", "رضا نوری", "علی", "علي", "علی‌اکبر", "علیاکبر", "علی اکبر", "علی‌اک", "اکبر", "زاده",
                "محمد‌زاده", "محمدزاده", "كاظمي", "کاظمی", "عل كا", "محمدر", "محمد", "o'brien", "BRIEN", "smi o",
                "!!", "رضایی زهرا", "ی", membership_no, "نیست"]
    actors = [(staff["expert"], "group"), (staff["expert"], "due_today"), (staff["manager"], "all"),
              (staff["manager"], "due_today")]
    seen = capped = 0
    # A cap of 3 takes the other way to a page: walking the view in order, testing each row's member.
    for cap in (q.COUNT_CAP, 3):
        monkeypatch.setattr(q, "COUNT_CAP", cap)
        for actor, view in actors:
            for text in searches:
                for size, pg in ((25, 1), (2, 2)):
                    flt = q.QueueFilter(view=view, search=text, page_size=size, page=pg)
                    with session_scope(db) as s:
                        now = q.queue_page(s, actor, flt, NOW)
                    with monkeypatch.context() as mp:
                        mp.setattr(q, "_member_named", lambda s, text, walk=False: _named_by_fulltext(s, text))
                        with session_scope(db) as s:
                            before = _page_as_before(s, actor, flt)
                    assert (ids(now), now.total, now.pages) == before, (cap, view, text, size)
                    seen += len(now.rows)
                    capped += now.capped
    assert seen > 100 and capped > 10  # the searches found something to compare, both ways


def test_sort_orders(db, staff, world):
    m = staff["manager"]
    assert ids(page(db, m, view="all", sort="submitted")) == rids(world, "A", "G", "E", "C", "B", "D")
    # Type order is the process list's order (new membership before card reissue), then stage, then due.
    assert ids(page(db, m, view="all", sort="type")) == rids(world, "A", "C", "B", "D", "G", "E")
    with pytest.raises(ValidationError):
        page(db, m, view="all", sort="nonsense")


def test_counts_stop_at_the_cap_and_say_more_than(db, staff, monkeypatch):
    """Past COUNT_CAP a count says "more than" instead of counting every row; paging still works
    up to the cap and the export still has every row."""
    monkeypatch.setattr(q, "COUNT_CAP", 4)
    made = [submit(db, MON + timedelta(hours=8, minutes=5 * i)).request_id for i in range(7)]
    expert = staff["expert"]
    assert counts(db, expert)["group"] == 5
    p = page(db, expert, view="group", page_size=2)
    assert (p.total, p.capped, p.pages, ids(p)) == (5, True, 3, made[:2])
    assert q.count_label(p.total) == "بیش از ۴"
    assert q.count_label(4) == "۴"
    assert not page(db, expert, view="group", type_code="card_reissue").capped
    with session_scope(db) as s:
        exported = list(q.export_rows(s, expert, q.QueueFilter(view="group"), NOW))
    assert len(exported) == 7


def test_paging_returns_the_next_rows_and_the_right_total(db, staff):
    made = [submit(db, MON + timedelta(hours=8, minutes=5 * i), first=f"عضو{i}").request_id for i in range(30)]
    expert = staff["expert"]
    p1 = page(db, expert, view="group")
    p2 = page(db, expert, view="group", page=2)
    assert (p1.total, p1.pages, p1.page, len(p1.rows)) == (30, 2, 1, 25)
    assert (p2.total, p2.pages, p2.page, len(p2.rows)) == (30, 2, 2, 5)
    assert ids(p1) + ids(p2) == made  # due order = submission order here, no overlap, no gap
    assert ids(page(db, expert, view="group", page=2, page_size=10)) == made[10:20]
    assert len(page(db, expert, view="group", page_size=1000).rows) == 30  # capped at 100, not unbounded
    assert page(db, expert, view="group", page=9).page == 2  # past the end: the last page


# --- province isolation -------------------------------------------------------------------------

def test_an_expert_never_sees_another_provinces_request(db, staff, world):
    isfahan = staff["isfahan"]
    f = world["F"].request_id
    for view in q.available_views(isfahan):
        assert ids(page(db, isfahan, view=view)) in ([], [f]), view
    assert counts(db, isfahan) == {"mine": 0, "group": 1, "overdue": 1, "due_today": 0, "at_risk": 0}
    tehran_nid = member_of(db, world["A"].request_id)["national_id"]
    for search in (tehran_nid, to_persian_digits(tehran_nid), world["A"].tracking_code):
        for view in q.available_views(isfahan):
            assert ids(page(db, isfahan, view=view, search=search)) == [], (view, search)
    # Same name in both provinces: only Isfahan's own member comes back.
    assert ids(page(db, isfahan, view="group", search="علی کریمی")) == [f]
    assert ids(page(db, staff["expert"], view="group", search="علی کریمی")) == rids(world, "A")
    for view in q.available_views(staff["expert"]):
        assert f not in ids(page(db, staff["expert"], view=view))
    with session_scope(db) as s:
        exported = list(q.export_rows(s, isfahan, q.QueueFilter(view="group", search="کریمی"), NOW))
    assert [r["tracking_code"] for r in exported] == [world["F"].tracking_code]


def test_central_staff_handle_every_province(db, staff):
    t = submit(db, MON + timedelta(hours=8), type_code="card_reissue")
    i = submit(db, MON + timedelta(hours=9), type_code="card_reissue", province=ISFAHAN_ID)
    with db.begin() as c:  # skip the member's payment: straight to card issue
        c.execute(sa.text("UPDATE request SET stage_code = 'card_issue', stage_due_at = :d, stage_risk_at = :d "
                          "WHERE id IN (:a, :b)"), {"d": NOW + timedelta(days=1), "a": t.request_id,
                                                     "b": i.request_id})
    assert ids(page(db, staff["central"], view="group")) == [t.request_id, i.request_id]
    assert ids(page(db, staff["expert"], view="group")) == []


# --- actions ------------------------------------------------------------------------------------

def test_next_task_takes_the_most_urgent_skipping_claimed_and_four_eyes(db, staff, world):
    e2 = staff["expert2"]
    first = q.next_task(db, e2, now=NOW)
    assert first.request_id == world["A"].request_id and first.version == 2
    with db.connect() as c:
        ev = c.execute(sa.text("SELECT action, actor_id, version FROM request_event WHERE request_id = :i "
                               "ORDER BY id DESC LIMIT 1"), {"i": first.request_id}).one()
        assignee = c.execute(sa.text("SELECT assignee_id FROM request WHERE id = :i"),
                             {"i": first.request_id}).scalar()
    assert tuple(ev) == ("claim", e2.id, 2) and assignee == e2.id
    # D is claimed by someone else and G was expert2's own initial review: both skipped.
    assert q.next_task(db, e2, now=NOW).request_id == world["C"].request_id
    assert q.next_task(db, e2, now=NOW).request_id == world["B"].request_id
    assert q.next_task(db, e2, now=NOW) is None
    assert q.next_task(db, staff["final"], now=NOW).request_id == world["G"].request_id
    with pytest.raises(PermissionDenied):  # no stage of their own
        q.next_task(db, staff["manager"], now=NOW)
    assert ids(page(db, e2, view="mine")) == rids(world, "A", "C", "B")


def test_eight_experts_pressing_next_task_at_once_get_eight_different_requests(db):
    experts = [make_staff(db, f"t.e{i}", ["expert"], TEHRAN_ID) for i in range(8)]
    made = {submit(db, MON + timedelta(hours=8, minutes=i)).request_id for i in range(10)}
    barrier = threading.Barrier(len(experts))
    results, errors = {}, []

    def press(actor):
        try:
            barrier.wait()
            results[actor.id] = q.next_task(db, actor, now=NOW)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(a,)) for a in experts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    taken = [o.request_id for o in results.values()]
    assert len(taken) == 8 and len(set(taken)) == 8 and set(taken) <= made
    with db.connect() as c:
        holders = dict(c.execute(sa.text("SELECT id, assignee_id FROM request WHERE assignee_id IS NOT NULL")).all())
        claims = c.execute(sa.text("SELECT count(*) FROM request_event WHERE action = 'claim'")).scalar()
    assert holders == {o.request_id: aid for aid, o in results.items()}
    assert claims == 8


def test_claim_and_unclaim_selected_rows_report_what_they_skipped(db, staff, world):
    e2 = staff["expert2"]
    picks = [(world["A"].request_id, 1), (world["D"].request_id, 2)]  # D is held by the expert
    out = q.claim_selected(db, e2, picks, now=NOW)
    assert [o.request_id for o in out.done] == rids(world, "A")
    assert out.failed[0][0] == world["D"].request_id and "کارشناس یکم" in out.message
    with pytest.raises(InvalidTransition):
        q.claim_selected(db, e2, [(world["D"].request_id, 2)], now=NOW)
    with pytest.raises(ValidationError):
        q.claim_selected(db, e2, [], now=NOW)
    back = q.unclaim_selected(db, e2, [(world["A"].request_id, 2)], now=NOW)
    assert back.message == "۱ کار رها شد."
    assert world["A"].request_id in ids(page(db, e2, view="group"))


def test_assignable_staff_for_the_managers_picker(db, staff, world):
    m = staff["manager"]
    with session_scope(db) as s:
        names = lambda rs: [c.full_name for c in q.assignable_staff(s, m, rs)]  # noqa: E731
        assert names(rids(world, "A")) == ["کارشناس دوم", "کارشناس یکم"]
        # G is at final review: only final reviewers, and not expert2 who did its initial review.
        assert names(rids(world, "G")) == ["بررسی نهایی"]
        assert names(rids(world, "A", "G")) == []  # nobody holds both roles without a conflict
        assert names(rids(world, "E")) == []  # the member's payment stage
        assert names(rids(world, "F")) == []  # another province
        with pytest.raises(PermissionDenied):  # not a manager
            q.assignable_staff(s, staff["expert"], rids(world, "A"))
    assert wf.assign(db, m, rids(world, "A"), staff["expert2"].id, now=NOW) == 1


# --- export -------------------------------------------------------------------------------------

def test_export_streams_the_whole_filtered_set_as_csv_and_xlsx(db, staff):
    made = [submit(db, MON + timedelta(hours=8, minutes=i), first=f"عضو{i}").request_id
            for i in range(30)]
    flt = q.QueueFilter(view="group", page_size=25)
    with session_scope(db) as s:
        rows = list(q.export_rows(s, staff["expert"], flt, NOW))
    assert len(rows) == 30 > flt.page_size
    assert [r["tracking_code"] for r in rows] == [t for t in tracking_codes(db, made)]
    assert rows[0]["submitted_at"] == "۱۴۰۵/۰۹/۰۲ ۰۸:۰۰"  # 2 Azar 1405, Jalali with Persian digits
    data = export_csv(rows, q.EXPORT_COLUMNS)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].split(",")[:3] == ["کد رهگیری", "عضو", "کد ملی"]
    assert len(text.strip().splitlines()) == 31 and "۱۴۰۵/۰۹/۰۲" in text
    book = load_workbook(io.BytesIO(export_xlsx(rows, q.EXPORT_COLUMNS)))
    sheet = book.active
    assert sheet.sheet_view.rightToLeft
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "کد رهگیری" and len(values) == 31
    assert [v[0] for v in values[1:]] == [r["tracking_code"] for r in rows]
    with session_scope(db) as s:
        assert len(list(q.export_rows(s, staff["expert"], flt, NOW, limit=7))) == 7
    # A download through the service is audited with its row count and filter.
    q.export_file(db, staff["expert"], flt, "csv", NOW)
    with db.connect() as c:
        logged = c.execute(sa.text("SELECT actor_id, data FROM audit_event WHERE action = 'queue_exported'")).all()
    assert [(e.actor_id, e.data["rows"], e.data["filter"]["view"], e.data["format"]) for e in logged] == [
        (staff["expert"].id, 30, "group", "csv")]


def tracking_codes(db, request_ids):
    with db.connect() as c:
        codes = dict(c.execute(sa.text("SELECT id, tracking_code FROM request")).all())
    return [codes[i] for i in request_ids]


def test_export_keeps_formula_like_text_as_text():
    rows = [{"a": "=1+1", "b": -2.5, "c": None, "d": "@SUM(A1)"}]
    cols = [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]
    assert export_csv(rows, cols).decode("utf-8-sig").splitlines()[1] == "'=1+1,-2.5,,'@SUM(A1)"
    sheet = load_workbook(io.BytesIO(export_xlsx(rows, cols))).active
    assert [c.value for c in sheet[2]] == ["=1+1", -2.5, None, "@SUM(A1)"]
    assert sheet["A2"].data_type == "s"
    # A spreadsheet also reads a formula after spaces, and in full-width forms.
    for sneaky in (" =1+1", "\u3000=1+1", "＝1+1", "＋1", "＠SUM(A1)"):
        assert export_csv([{"a": sneaky}], [("a", "A")]).decode("utf-8-sig").splitlines()[1] == f"'{sneaky}"


def test_the_first_or_last_digits_of_a_code_or_a_national_id_find_the_request(db, staff, world):
    m = staff["manager"]
    b = world["B"]
    assert ids(page(db, m, view="all", search=to_persian_digits(b.tracking_code[-4:]))) == [b.request_id]
    assert b.request_id in ids(page(db, m, view="all", search=b.tracking_code[:8]))
    nid = member_of(db, world["C"].request_id)["national_id"]
    assert world["C"].request_id in ids(page(db, m, view="all", search=nid[-5:]))
    assert world["C"].request_id in ids(page(db, m, view="all", search=nid[:6]))
    # Three digits are too few to mean anything: no partial match.
    assert page(db, m, view="all", search=b.tracking_code[-3:]).total == 0
    # Another province's request stays out of reach, even by its last digits.
    assert page(db, m, view="all", search=world["F"].tracking_code[-6:]).total == 0


def test_every_sort_runs_both_ways(db, staff, world):
    m = staff["manager"]
    for sort in q.SORTS_FA:
        up = ids(page(db, m, view="all", sort=sort))
        down = ids(page(db, m, view="all", sort=sort, descending=True))
        assert sorted(up) == sorted(down) == sorted(rids(world, "A", "B", "C", "D", "E", "G")), sort
    assert ids(page(db, m, view="all", sort="submitted", descending=True)) == rids(world, "D", "B", "C", "E", "G", "A")
    assert ids(page(db, m, view="all", sort="code", descending=True)) == \
        sorted(rids(world, "A", "B", "C", "D", "E", "G"), reverse=True)


def test_central_staff_narrow_the_queue_to_one_province_and_others_cannot(db, staff, world):
    central = staff["central"]
    with db.begin() as c:
        c.execute(sa.text("UPDATE staff_user SET roles = '{central_expert,manager}' WHERE id = :i"), {"i": central.id})
    central = type(central)(central.id, central.username, central.full_name,
                            frozenset({"central_expert", "manager"}), None)
    everywhere = ids(page(db, central, view="all"))
    isfahan = ids(page(db, central, view="all", province_id=ISFAHAN_ID))
    assert isfahan == rids(world, "F") and set(isfahan) < set(everywhere)
    with pytest.raises(PermissionDenied):
        page(db, staff["manager"], view="all", province_id=ISFAHAN_ID)


def test_after_a_decision_the_next_task_is_my_most_urgent_held_one_then_my_groups(db, staff, world):
    expert = staff["expert"]
    d = world["D"].request_id  # held by the expert
    assert q.next_after(db, expert, now=NOW).request_id == d
    # Having just decided D, the next is the group's most urgent, claimed for the expert: A (overdue).
    nxt = q.next_after(db, expert, done=d, now=NOW)
    assert nxt.request_id == world["A"].request_id
    with db.connect() as c:
        assert c.execute(sa.text("SELECT assignee_id FROM request WHERE id = :i"), {"i": nxt.request_id}).scalar() \
            == expert.id
