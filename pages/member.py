"""The member profile: everything the national portal holds about one member (seed 000), the
membership conditions, and the staff corrections (each with a reason, audited).

Opened from the directory by a link (/member?id=<id>) or by typing a national ID or membership
number. Another province's member is "not found", exactly like an unknown one.
"""
import pandas as pd
import streamlit as st

from domain.errors import DomainError
from domain.jalali import format_jalali_date, format_jalali_datetime, parse_jalali_date, to_gregorian
from domain.national_id import birth_province
from domain.reference import (CONTACT_KINDS_FA, DEGREE_LEVELS_FA, FIELDS_FA, GRADES_FA, MEMBER_STATUSES_FA,
                             PROVINCE_NAMES_FA, RESIDENCE_PROOFS_FA)
from domain.text import fa_code
from domain.text import to_ascii_digits
from domain.text import to_persian_digits as fa
from logic import documents as docs
from logic import member_changes as changes
from logic import members as mem
from ui.document_viewer import show_document
from ui.session import db_session, engine, first_view, require_page, viewed
from ui.widgets import jalali_date_input, long_text, row_link_table, run_action, show_flash

actor = require_page(__file__)
st.title("پروندهٔ عضو")
state = st.session_state

# A link (?id=<member id>, or ?nid=<national ID>) picks the member once; after that the search box
# leads, and the URL follows the member shown so that a reload or a shared link opens them again.
url_id = to_ascii_digits(st.query_params.get("id", "")).strip()
if url_id and url_id != state.get("mem-url-id"):
    state["mem-url-id"] = url_id
    state["mem-pick"] = int(url_id) if url_id.isdigit() else -1
    state["mem-key"] = ""
url_nid = st.query_params.get("nid", "")
if url_nid and url_nid != state.get("mem-url-nid"):
    state["mem-url-nid"] = state["mem-key"] = url_nid
    state.pop("mem-pick", None)


def _typed() -> None:
    state.pop("mem-pick", None)


typed = st.text_input("کد ملی یا شمارهٔ عضویت", key="mem-key", on_change=_typed, max_chars=40,
                      placeholder="۰۰۱۳۵۴۲۴۱۹")
key = typed.strip() or state.get("mem-pick")
if not key:
    st.info("کد ملی یا شمارهٔ عضویت را وارد کنید، یا عضو را از فهرست اعضا باز کنید.")
    st.markdown("[فهرست اعضا](/members)")
    st.stop()

try:
    with db_session() as session:
        profile = mem.load_profile(session, actor, key, audit=first_view("member", key))
    viewed("member", key)
except DomainError as exc:  # unknown, or another province's: the same message either way
    st.error(exc.message)
    st.stop()

main = profile.main
mid = main.id
state["mem-pick"] = mid
if typed.strip():
    st.query_params.from_dict({"id": str(mid)})
    state["mem-url-id"] = str(mid)

show_flash()
st.subheader(f"{main.full_name} — کد ملی {fa_code(main.national_id)}")
c1, c2, c3, c4 = st.columns(4)
c1.markdown(f"**شمارهٔ عضویت**  \n{fa_code(main.membership_no) if main.membership_no else '—'}")
c2.markdown(f"**رشته و پایه**  \n{FIELDS_FA.get(main.field, main.field)}، "
            f"{GRADES_FA.get(main.grade, '—') if main.grade else 'بدون پایه'}")
c3.markdown(f"**وضعیت**  \n{MEMBER_STATUSES_FA.get(main.status, main.status)}")
c4.markdown(f"**اعتبار عضویت تا**  \n{format_jalali_date(main.valid_until)}")

problems = [r for r in profile.rules if not r.ok]
if problems:
    st.warning("شرایط عضویت — موارد ناقص:  \n" + "  \n".join(f"• {r.title}: {r.problem}" for r in problems))
else:
    st.success("همهٔ شرایط عضویت برقرار است (کد ملی، مدرک تحصیلی، مدرک سکونت، اقامتگاه قانونی، پروانه‌ها).")

TABS = ["اطلاعات اصلی", "اطلاعات تحصیلی", "تماس و نشانی", "آرشیو مدارک", "همسر و فرزندان", "پروانه‌ها",
        "اعتبار عضویت", "درخواست‌ها", "سوابق پرونده"]
may_correct = changes.may_correct(actor)
if may_correct:
    TABS.append("اصلاح اطلاعات")
tabs = st.tabs(TABS)


def _view(document_id: int) -> None:
    """A document through the same sha256-checked reader and viewer as the request screen."""
    try:
        with db_session() as session:
            meta, content = docs.read_document(session, actor, document_id,
                                                  audit=first_view("document", document_id))
            shown = docs.screen_copy(session, meta, content)
        viewed("document", document_id)
        show_document(meta, content, shown)
    except DomainError as exc:
        st.error(exc.message)


@st.fragment
def _document_pane(label: str, key: str, names: dict[int, str]) -> None:
    """A document picker and its viewer: choosing another document (or zooming) reruns this part
    alone (issue #18), not the profile's queries and the other tabs."""
    pick = st.selectbox(label, list(names), key=key, format_func=names.get, placeholder="یکی را برگزینید")
    _view(pick)


# The screen of the request that made a change (its code is shown in Persian digits beside it).
REQUEST_LINK = st.column_config.LinkColumn("پرونده", display_text="باز کردن", width=65)


def _table(rows: list[dict], key: str, empty: str, **kwargs) -> None:
    """Rows as a table read right to left: the grid lays columns out left to right, so the first
    column of each row is placed last."""
    if rows:
        frame = pd.DataFrame(rows)
        # A click on a row opens its request in this tab.
        row_link_table(frame[frame.columns[::-1]], key, [r.get("پرونده") for r in rows], hide_index=True,
                       width="stretch", **kwargs)
    else:
        st.info(empty)


# --- main information ---------------------------------------------------------------------------
with tabs[0]:
    st.markdown("  \n".join(f"**{label}:** {value}" for label, value in main.rows()))

# --- education ----------------------------------------------------------------------------------
degree_docs = {e.document_id for e in profile.educations if e.document_id}
with tabs[1]:
    _table([{"مقطع": e.level_label, "رشته": e.field, "گرایش": e.specialisation or "—",
             "دانشگاه": e.university or "—", "دانش‌آموختگی": format_jalali_date(e.graduated_on),
             "کد استعلام": fa_code(e.verification_code) if e.verification_code else "—",
             "تصویر مدرک": "دارد" if e.document_id else "ندارد", "شرط عضویت": e.condition_label}
            for e in profile.educations], "mem-edu-table", "مدرک تحصیلی‌ای ثبت نشده است.")
    st.caption("اعضا مدارک تحصیلی خود را تغییر نمی‌دهند؛ مغایرت‌ها را کارشناسان استان با ذکر دلیل اصلاح می‌کنند.")
    scanned = [e for e in profile.educations if e.document_id]
    if scanned:
        by_id = {e.document_id: e for e in scanned}
        _document_pane("تصویر مدرک تحصیلی", "mem-degree-pick", {i: f"{e.level_label} — {e.field}"
                                                                 for i, e in by_id.items()})

# --- contacts and addresses ---------------------------------------------------------------------
with tabs[2]:
    st.markdown("**اطلاعات تماس**")
    _table([{"نوع": c.kind_label, "مقدار": fa(c.value) if c.kind != "email" else c.value,
             "وضعیت": "فعال" if c.is_active else "غیرفعال"} for c in profile.contacts],
           "mem-contacts-table", "اطلاعات تماسی ثبت نشده است.")
    st.markdown("**نشانی‌ها**")
    _table([{"اقامتگاه قانونی": "✔ اقامتگاه قانونی" if a.is_legal else "",
             "استان": PROVINCE_NAMES_FA.get(a.province_id, ""),
             "شهر": a.city, "نشانی": a.line, "کد پستی": fa_code(a.postal_code) if a.postal_code else "—"}
            for a in profile.addresses], "mem-addresses-table", "نشانی‌ای ثبت نشده است.")
    legal = next((a for a in profile.addresses if a.is_legal), None)
    if legal:
        st.caption(f"همهٔ مکاتبات به اقامتگاه قانونی فرستاده می‌شود: {legal.label}")

# --- documents ----------------------------------------------------------------------------------
with tabs[3]:
    _table([{"شناسه": fa(d.info.id), "نوع مدرک": d.info.type_label, "عنوان": d.info.title or "",
             "توضیح": d.description or "", "نام فایل": d.info.file_name, "قالب": d.info.mime_label,
             "حجم": d.info.size_label, "بارگذاری": d.info.uploaded_at_fa,
             "درخواست": fa_code(d.tracking_code) if d.tracking_code else "آرشیو عضو"}
            for d in profile.documents], "mem-docs-table", "مدرکی در آرشیو عضو نیست.")
    # Degree scans are shown under education (one viewer per file on the page).
    viewable = {d.info.id: d for d in profile.documents if d.info.id not in degree_docs}
    if degree_docs:
        st.caption("تصویر مدارک تحصیلی در بخش «اطلاعات تحصیلی» نمایش داده می‌شود.")
    if viewable:
        _document_pane("مدرک برای نمایش", "mem-doc-pick", {i: f"{d.info.type_label} — {d.info.file_name}"
                                                          for i, d in viewable.items()})

# --- family -------------------------------------------------------------------------------------
with tabs[4]:
    for title, people, key in (("همسر", profile.spouses, "mem-spouse-table"),
                               ("فرزندان", profile.children, "mem-children-table")):
        st.markdown(f"**{title}**")
        _table([{"نسبت": f.relation_label, "نام": f.first_name, "نام خانوادگی": f.last_name,
                 "کد ملی": fa_code(f.national_id) if f.national_id else "—",
                 "تاریخ تولد": format_jalali_date(f.birth_date)} for f in people], key, f"{title} ثبت نشده است.")

# --- licences -----------------------------------------------------------------------------------
with tabs[5]:
    for title, items, key in (("پروانهٔ اشتغال به کار", profile.work_licences, "mem-work-licences"),
                              ("پروانهٔ کارشناسان مادهٔ ۳۲", profile.article32_licences, "mem-article32")):
        st.markdown(f"**{title}**")
        _table([{"شماره": fa_code(x.licence_no), "رشته": FIELDS_FA.get(x.field, x.field),
                 "پایه": GRADES_FA.get(x.grade, fa(x.grade)), "صلاحیت‌ها": x.competencies_label,
                 "صدور": format_jalali_date(x.issued_on), "اعتبار تا": format_jalali_date(x.expires_on),
                 "وضعیت": "معتبر" if x.valid else "منقضی",
                 "درخواست صدور": fa_code(x.tracking_code) if x.tracking_code else "—", "پرونده": x.link}
                for x in items], key, f"{title} ندارد.", column_config={"پرونده": REQUEST_LINK})
    article32 = next((r for r in profile.rules if r.code == "article32" and not r.ok), None)
    if article32:
        st.warning(article32.problem)

# --- validity -----------------------------------------------------------------------------------
with tabs[6]:
    st.markdown(f"اعتبار عضویت کنونی تا **{format_jalali_date(main.valid_until)}**")
    _table([{"زمان تغییر": format_jalali_datetime(v.changed_at), "اعتبار پیشین": format_jalali_date(v.old_valid_until),
             "اعتبار تازه": format_jalali_date(v.new_valid_until),
             "درخواست": fa_code(v.tracking_code) if v.tracking_code else "—"} for v in profile.validity],
           "mem-validity-table", "تغییری در اعتبار عضویت ثبت نشده است.")

# --- the record's history: what each request changed ---------------------------------------------
with tabs[8]:
    ranks = profile.ranks
    if ranks:
        st.markdown("**رتبهٔ کنونی:** " + "؛ ".join(f"{r.summary} (ثبت {format_jalali_date(r.at)})"
                                                  for r in ranks.values()))
    _table([{"زمان": format_jalali_datetime(c.at), "تغییر": c.label, "شرح": c.summary,
             "درخواست": fa_code(c.tracking_code) if c.tracking_code else "—", "پرونده": c.link} for c in profile.record],
           "mem-record-table", "درخواستی هنوز چیزی در پروندهٔ این عضو تغییر نداده است.",
           column_config={"پرونده": REQUEST_LINK})

# --- requests -----------------------------------------------------------------------------------
with tabs[7]:
    _table([{"کد رهگیری": fa_code(r.tracking_code), "نوع درخواست": r.type_name, "مرحله": r.stage_name,
             "وضعیت": r.status_label, "تاریخ ثبت": format_jalali_date(r.submitted_at),
             "تاریخ پایان": format_jalali_date(r.closed_at), "پرونده": r.link} for r in profile.requests],
           "mem-requests-table", "درخواستی از این عضو ثبت نشده است.",
           column_config={"پرونده": st.column_config.LinkColumn("پرونده", display_text="باز کردن", width=65)})


# --- corrections --------------------------------------------------------------------------------

def _parse_date(text: str | None):
    return to_gregorian(parse_jalali_date(text)) if text and text.strip() else None


def _fix_main(member_id: int, seen: dict) -> None:
    def call():
        wanted = {
            "first_name": state.get(f"mem-fix-first-{member_id}"),
            "last_name": state.get(f"mem-fix-last-{member_id}"),
            "father_name": state.get(f"mem-fix-father-{member_id}") or None,
            "national_id": to_ascii_digits(state.get(f"mem-fix-nid-{member_id}") or "").strip(),
            "gender": state.get(f"mem-fix-gender-{member_id}"),
            "birth_date": _parse_date(state.get(f"mem-fix-birth-{member_id}")),
            # Where the ID's prefix names the issuing province, that is the birth province (no select).
            "birth_province_id": birth_province(to_ascii_digits(state.get(f"mem-fix-nid-{member_id}") or ""))
            or state.get(f"mem-fix-bprov-{member_id}", seen["birth_province_id"]),
            "residence_proof": state.get(f"mem-fix-proof-{member_id}"),
        }
        edits = {k: v for k, v in wanted.items() if v != seen[k]}
        return changes.correct_main_info(engine(), actor, member_id, edits, state.get("mem-fix-main-reason") or "",
                                         seen={k: seen[k] for k in edits})
    outcome = run_action(call)
    if outcome is not None:
        state["mem-fix-main-reason"] = ""
        if "national_id" in outcome.changed:  # the box may hold the old ID: keep showing this member
            state["mem-key"], state["mem-pick"] = "", member_id


def _fix_education(education_id: int, seen: dict) -> None:
    def call():
        wanted = {
            "level": state.get(f"mem-fix-edu-level-{education_id}"),
            "field": state.get(f"mem-fix-edu-field-{education_id}") or "",
            "specialisation": state.get(f"mem-fix-edu-spec-{education_id}") or None,
            "university": state.get(f"mem-fix-edu-uni-{education_id}") or None,
            "graduated_on": _parse_date(state.get(f"mem-fix-edu-grad-{education_id}")),
            "verification_code": to_ascii_digits(state.get(f"mem-fix-edu-code-{education_id}") or "").strip() or None,
        }
        edits = {k: v for k, v in wanted.items() if v != seen[k]}
        return changes.correct_education(engine(), actor, education_id, edits,
                                         state.get("mem-fix-edu-reason") or "", seen={k: seen[k] for k in edits})
    if run_action(call) is not None:
        state["mem-fix-edu-reason"] = ""


def _fix_address(address_id: int | None) -> None:
    if run_action(changes.set_legal_address, engine(), actor, address_id,
                  state.get("mem-fix-addr-reason") or "") is not None:
        state["mem-fix-addr-reason"] = ""


def _fix_contact(contact_id: int | None, active: bool) -> None:
    if run_action(changes.set_contact_active, engine(), actor, contact_id, active,
                  state.get("mem-fix-contact-reason") or "") is not None:
        state["mem-fix-contact-reason"] = ""


if may_correct:
    with tabs[9]:
        st.caption("هر اصلاح با دلیل آن در گزارش رویدادها ثبت می‌شود؛ "
                   "اگر ورودی با قواعد عضویت نخواند، هیچ چیز تغییر نمی‌کند.")
        with st.expander("اطلاعات اصلی", expanded=True):
            seen = {"first_name": main.first_name, "last_name": main.last_name, "father_name": main.father_name,
                    "national_id": main.national_id, "gender": main.gender, "birth_date": main.birth_date,
                    "birth_province_id": main.birth_province_id, "residence_proof": main.residence_proof}
            a1, a2, a3 = st.columns(3)
            a1.text_input("نام", value=main.first_name, key=f"mem-fix-first-{mid}")
            a2.text_input("نام خانوادگی", value=main.last_name, key=f"mem-fix-last-{mid}")
            a3.text_input("نام پدر", value=main.father_name or "", key=f"mem-fix-father-{mid}")
            b1, b2, b3 = st.columns(3)
            b1.text_input("کد ملی", value=main.national_id, key=f"mem-fix-nid-{mid}", max_chars=10)
            b2.selectbox("جنسیت", list(mem.GENDERS_FA), index=list(mem.GENDERS_FA).index(main.gender),
                         key=f"mem-fix-gender-{mid}", format_func=mem.GENDERS_FA.get, placeholder="یکی را برگزینید")
            with b3:
                jalali_date_input("تاریخ تولد", key=f"mem-fix-birth-{mid}", default=main.birth_date)
            d1, d2 = st.columns(2)
            from_id = birth_province(to_ascii_digits(state.get(f"mem-fix-nid-{mid}") or main.national_id))
            if from_id is not None:  # the issuing office's province: read-only
                d1.text_input("استان محل تولد", value=PROVINCE_NAMES_FA[from_id], disabled=True,
                              key=f"mem-fix-bprov-fa-{mid}-{from_id}")
                d1.caption("از کد ملی")
            else:
                provinces = list(PROVINCE_NAMES_FA)
                d1.selectbox("استان محل تولد", provinces, index=provinces.index(main.birth_province_id),
                             key=f"mem-fix-bprov-{mid}", format_func=PROVINCE_NAMES_FA.get, placeholder="یکی را برگزینید")
            proofs = [None, *RESIDENCE_PROOFS_FA]
            d2.selectbox("مدرک سکونت (برای متولدان استان دیگر)", proofs, index=proofs.index(main.residence_proof)
                         if main.residence_proof in proofs else 0, key=f"mem-fix-proof-{mid}",
                         format_func=lambda p: "—" if p is None else RESIDENCE_PROOFS_FA[p], placeholder="یکی را برگزینید")
            long_text("دلیل اصلاح", "mem-fix-main-reason")
            st.button("ثبت اصلاح اطلاعات اصلی", key="mem-fix-main", on_click=_fix_main, args=(mid, seen))

        with st.expander("اطلاعات تحصیلی", expanded=bool(profile.educations)):
            if not profile.educations:
                st.info("مدرک تحصیلی‌ای برای اصلاح نیست.")
            else:
                edus = {e.id: e for e in profile.educations}
                eid = st.selectbox("مدرک", list(edus), key="mem-fix-edu-pick",
                                   format_func=lambda i: f"{edus[i].level_label} — {edus[i].field}", placeholder="یکی را برگزینید")
                e = edus[eid]
                seen_edu = {"level": e.level, "field": e.field, "specialisation": e.specialisation,
                            "university": e.university, "graduated_on": e.graduated_on,
                            "verification_code": e.verification_code}
                levels = list(DEGREE_LEVELS_FA)
                f1, f2, f3 = st.columns(3)
                f1.selectbox("مقطع", levels, index=levels.index(e.level), key=f"mem-fix-edu-level-{eid}",
                             format_func=DEGREE_LEVELS_FA.get, placeholder="یکی را برگزینید")
                f2.text_input("رشته", value=e.field, key=f"mem-fix-edu-field-{eid}")
                f3.text_input("گرایش", value=e.specialisation or "", key=f"mem-fix-edu-spec-{eid}")
                g1, g2, g3 = st.columns(3)
                g1.text_input("دانشگاه", value=e.university or "", key=f"mem-fix-edu-uni-{eid}")
                with g2:
                    jalali_date_input("تاریخ دانش‌آموختگی", key=f"mem-fix-edu-grad-{eid}", default=e.graduated_on)
                g3.text_input("کد استعلام / تأییدیه", value=e.verification_code or "", key=f"mem-fix-edu-code-{eid}")
                long_text("دلیل اصلاح", "mem-fix-edu-reason")
                st.button("ثبت اصلاح مدرک", key="mem-fix-edu", on_click=_fix_education, args=(eid, seen_edu))

        with st.expander("اقامتگاه قانونی"):
            others = {a.id: a for a in profile.addresses if not a.is_legal}
            if not others:
                st.info("نشانی دیگری برای تعیین به‌عنوان اقامتگاه قانونی نیست.")
            else:
                aid = st.selectbox("نشانی تازهٔ اقامتگاه قانونی", list(others), key="mem-fix-addr-pick",
                                   format_func=lambda i: others[i].label, placeholder="یکی را برگزینید")
                long_text("دلیل تغییر", "mem-fix-addr-reason")
                st.button("تعیین به‌عنوان اقامتگاه قانونی", key="mem-fix-addr", on_click=_fix_address, args=(aid,))

        with st.expander("فعال یا غیرفعال کردن اطلاعات تماس"):
            if not profile.contacts:
                st.info("اطلاعات تماسی ثبت نشده است.")
            else:
                cons = {c.id: c for c in profile.contacts}
                cid = st.selectbox("اطلاعات تماس", list(cons), key="mem-fix-contact-pick",
                                   format_func=lambda i: f"{CONTACT_KINDS_FA.get(cons[i].kind)}: {fa_code(cons[i].value)} "
                                                         f"({'فعال' if cons[i].is_active else 'غیرفعال'})", placeholder="یکی را برگزینید")
                long_text("دلیل تغییر", "mem-fix-contact-reason")
                active = cons[cid].is_active
                st.button("غیرفعال کردن" if active else "فعال کردن", key="mem-fix-contact", on_click=_fix_contact,
                          args=(cid, not active))
