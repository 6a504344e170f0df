"""The expert's queue (کارتابل): views with counts, filters, the table, claim / unclaim / assign on
selected rows, "next task", and export of the whole filtered set."""
import hashlib

import pandas as pd
import streamlit as st

from domain.calendar import SLA_LABELS_FA, SlaStatus
from domain.errors import DomainError
from domain.jalali import format_jalali_date, now_tehran, to_jalali
from domain.processes import PROCESSES
from domain.reference import PROVINCE_NAMES_FA
from domain.text import fa_code
from domain.text import to_persian_digits as fa
from logic import queue as q
from logic import saved_filters as sf
from logic import workflow as wf
from logic.export import CSV_MIME, XLSX_MIME
from ui.session import db_session, engine, require_page
from ui.widgets import (jalali_date_input, open_after_callback, page_picker, row_link_table, run_action,
                        show_flash)

actor = require_page(__file__)

st.title("کارتابل")
show_flash()
if info := st.session_state.pop("queue-info", None):
    st.info(info)

now = now_tehran()
eng = engine()
with db_session() as session:
    counts = q.view_counts(session, actor, now)
    saved = {f.id: f for f in sf.list_filters(session, actor)}

# The filters outlive a visit to a request screen (Streamlit drops a widget's state when another page
# runs): each run keeps them under their own keys and a return, by the back button or the sidebar,
# puts them back, so the expert finds the queue as they left it.
FILTER_KEYS = tuple(f"queue-{k}" for k in sf.FIELDS)
for k in (*FILTER_KEYS, "queue-page"):
    if k not in st.session_state and f"kept-{k}" in st.session_state:
        st.session_state[k] = st.session_state[f"kept-{k}"]

ALL_LABEL = "همه"
# Pixel widths that fit the table in the main area of a laptop screen without scrolling sideways.
# The deadline's text («۱۴۰۵/۰۹/۱۱ — ۲ روز کاری مانده») needs its 200; the names give way to it.
COLUMN_WIDTHS = {"کارشناس": 75, "وضعیت مهلت": 100, "مهلت": 200, "تاریخ ثبت": 75, "مرحله": 95, "نوع درخواست": 95,
                 "عضو": 85, "کد رهگیری": 110}
# Text colour and a light background per deadline status; the status is always written out too.
SLA_STYLES = {
    SlaStatus.ON_TIME.value: "color: #1b5e20; background-color: #e8f5e9",
    SlaStatus.AT_RISK.value: "color: #8a4b00; background-color: #fff3e0",
    SlaStatus.BREACHED.value: "color: #b71c1c; background-color: #ffebee; font-weight: bold",
    SlaStatus.PAUSED.value: "color: #455a64; background-color: #eceff1",
    SlaStatus.NO_LIMIT.value: "color: #455a64",
}
STAGE_NAMES = {s.code: s.name_fa for p in reversed(PROCESSES.values()) for s in p.stages}

views = q.available_views(actor)
# A link to a view (the home page's figures: /queue?view=overdue) opens the queue on it.
asked = st.query_params.get("view")
if asked in views:
    st.session_state["queue-view"] = asked
    del st.query_params["view"]  # once: afterwards the radio leads
# First visit: my own work if I hold any, else what I can take (a manager: the whole province).
# (Only the first render uses `index`: the key keeps the user's choice afterwards.)
first = "mine"
if not counts["mine"] and q.takes_work(actor):
    first = "group"
elif not counts["mine"] and q.is_manager(actor):
    first = "all"
# --- saved filters: applied, saved and deleted in callbacks (before the widgets they set are made) ---
SAVED_DEFAULTS = {"type": None, "stage": None, "sla": None, "search": "", "from": "", "to": "", "sort": "due",
                  "desc": False, "page-size": 25, "province": None}


def apply_saved() -> None:
    chosen = saved.get(st.session_state.get("queue-saved"))
    if chosen is None:
        return
    for k in sf.FIELDS:
        if k in chosen.filters:
            st.session_state[f"queue-{k}"] = chosen.filters[k]
        elif k in SAVED_DEFAULTS:  # the view stays as it is when the saved one is no longer offered
            st.session_state[f"queue-{k}"] = SAVED_DEFAULTS[k]


def save_current() -> None:
    filters = {k: st.session_state.get(f"queue-{k}", SAVED_DEFAULTS.get(k)) for k in sf.FIELDS}
    if not actor.is_central:
        del filters["province"]
    outcome = run_action(sf.save_filter, eng, actor, st.session_state.get("queue-saved-name", ""), filters)
    if outcome is not None:
        st.session_state["queue-saved"] = outcome.id
        st.session_state["queue-saved-name"] = ""


def delete_chosen() -> None:
    if run_action(sf.delete_filter, eng, actor, st.session_state.get("queue-saved")) is not None:
        st.session_state["queue-saved"] = None


# The picker shows the saved filter in force: once a filter is changed (or the saved one was deleted
# in another tab) it shows none, so picking the same one again applies it again.
chosen = saved.get(st.session_state.get("queue-saved"))
if chosen is None or any(st.session_state.get(f"queue-{k}", SAVED_DEFAULTS.get(k)) != v
                         for k, v in chosen.filters.items()):
    st.session_state["queue-saved"] = None
with st.container(border=True):
    f1, f2, f3, f4 = st.columns([4, 2, 4, 2], vertical_alignment="bottom")
    f1.selectbox("فیلترهای ذخیره‌شده", list(saved), key="queue-saved", index=None, on_change=apply_saved,
                 format_func=lambda i: fa(saved[i].name), disabled=not saved,
                 placeholder="فیلتری را برگزینید" if saved else "هنوز فیلتری ذخیره نکرده‌اید")
    f2.button("حذف فیلتر", key="queue-saved-delete", icon=":material/delete:", on_click=delete_chosen,
              disabled=st.session_state.get("queue-saved") is None, width="stretch",
              help="فیلتر برگزیده را از فهرست شما برمی‌دارد." if saved else "فیلتری برای حذف نیست.")
    f3.text_input("نام فیلتر تازه", key="queue-saved-name", placeholder="مثلاً «تأخیرهای تمدید»")
    f4.button("ذخیرهٔ فیلتر", key="queue-saved-save", icon=":material/bookmark_add:", on_click=save_current,
              width="stretch", help="نما، فیلترها و ترتیب کنونی را با این نام نگه می‌دارد.")

# (A value kept from an earlier visit leads: no default then, or Streamlit would warn about both.)
view = st.radio("نما", views, index=0 if "queue-view" in st.session_state else views.index(first), key="queue-view",
                horizontal=True,
                format_func=lambda v: f"{q.VIEWS_FA[v]} ({q.count_label(counts[v])})")

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    type_code = c1.selectbox("نوع درخواست", [None, *PROCESSES], key="queue-type",
                             format_func=lambda c: ALL_LABEL if c is None else PROCESSES[c].name_fa, placeholder="یکی را برگزینید")
    stages = ({s.code: s.name_fa for s in PROCESSES[type_code].stages} if type_code else STAGE_NAMES)
    stage_code = c2.selectbox("مرحله", [None, *stages], key="queue-stage",
                              format_func=lambda c: ALL_LABEL if c is None else stages[c], placeholder="یکی را برگزینید")
    sla = c3.selectbox("وضعیت مهلت", [None, *q.SLA_FILTERS], key="queue-sla",
                       format_func=lambda s: ALL_LABEL if s is None else SLA_LABELS_FA[SlaStatus(s)], placeholder="یکی را برگزینید")
    d1, d2, d3 = st.columns(3)
    with d1:
        submitted_from = jalali_date_input("ثبت‌شده از تاریخ", key="queue-from")
    with d2:
        submitted_to = jalali_date_input("تا تاریخ", key="queue-to")
    search = d3.text_input("جستجو", key="queue-search", max_chars=100,
                           placeholder="کد ملی، شماره عضویت، نام یا کد رهگیری (یا چند رقم آغاز یا پایان آن)")
    s1, s2, s3, s4 = st.columns([3, 2, 3, 2])
    sort = s1.selectbox("ترتیب", list(q.SORTS_FA), key="queue-sort", format_func=q.SORTS_FA.get, placeholder="یکی را برگزینید")
    descending = s2.toggle("نزولی", key="queue-desc", help="از بزرگ به کوچک (دیرترین مهلت، تازه‌ترین ثبت، …)")
    page_size = s3.selectbox("ردیف در هر صفحه", [25, 50, 100], key="queue-page-size", format_func=fa, placeholder="یکی را برگزینید")
    province_id = None
    if actor.is_central:  # central staff work every province: narrow to one when needed
        province_id = s4.selectbox("استان", [None, *sorted(PROVINCE_NAMES_FA, key=PROVINCE_NAMES_FA.get)],
                                   key="queue-province", placeholder="یکی را برگزینید",
                                   format_func=lambda p: ALL_LABEL if p is None else PROVINCE_NAMES_FA[p])
for k in FILTER_KEYS:
    if k in st.session_state:
        st.session_state[f"kept-{k}"] = st.session_state[k]

# Any change of view or filter starts again from the first page.
signature = (view, type_code, stage_code, sla, submitted_from, submitted_to, search, sort, descending, page_size,
             province_id)
if st.session_state.get("queue-signature") != signature:
    st.session_state["queue-signature"] = signature
    st.session_state["queue-page"] = 1

flt = q.QueueFilter(view=view, type_code=type_code, stage_code=stage_code, sla=sla, submitted_from=submitted_from,
                    submitted_to=submitted_to, search=search, sort=sort, descending=descending, province_id=province_id,
                    page=st.session_state.get("queue-page", 1), page_size=page_size)
try:
    with db_session() as session:
        result = q.queue_page(session, actor, flt, now)
except DomainError as exc:
    st.error(exc.message)
    st.stop()


def take_next() -> None:
    outcome = run_action(q.next_task, eng, actor)
    if outcome is not None:
        open_after_callback(f"/request?code={outcome.tracking_code}")
    elif "flash" not in st.session_state:
        st.session_state["queue-info"] = "کار آزادی در کارتابل گروه شما نیست."


if q.takes_work(actor):
    st.button("برداشتن کار بعدی", key="queue-next-task", type="primary", icon=":material/bolt:", on_click=take_next,
              help="فوری‌ترین کار آزاد گروه شما را برمی‌دارد و پرونده‌اش را باز می‌کند.")

rows = result.rows
selected = []
# The actions on ticked rows sit above the table (filled in below, once the table says what is ticked).
actions = st.container()
if not rows:
    st.info("در این نما با این فیلترها درخواستی نیست.")
else:
    # The grid lays columns out left to right: listed in reverse, they read right to left.
    links = [f"/request?code={r.tracking_code}" for r in rows]
    table = pd.DataFrame({
        "پرونده": links,
        "کارشناس": [r.assignee_name or "—" for r in rows],
        "وضعیت مهلت": [SLA_LABELS_FA[SlaStatus(r.sla)] for r in rows],
        "مهلت": [q.format_due(r) for r in rows],
        "تاریخ ثبت": [format_jalali_date(r.submitted_at) for r in rows],
        "مرحله": [r.stage_name for r in rows],
        "نوع درخواست": [r.type_name for r in rows],
        "عضو": [r.member_name for r in rows],
        "کد رهگیری": [fa_code(r.tracking_code) for r in rows],
    })
    if actor.is_central:
        table.insert(len(table.columns) - 1, "استان", [PROVINCE_NAMES_FA[r.province_id] for r in rows])
    # The status is written out and coloured (the colour alone would leave out whoever cannot tell
    # red from green); a breached deadline's date is red too.
    status_style = [SLA_STYLES.get(r.sla, "") for r in rows]
    styled = (table.style
              .apply(lambda col: status_style, subset=["وضعیت مهلت"])
              .apply(lambda col: ["color: #b71c1c" if r.sla == SlaStatus.BREACHED.value else "" for r in rows],
                     subset=["مهلت"]))
    # The key follows the rows shown (ids and versions): after an action or a page change the old
    # selection, which Streamlit keeps by row position, cannot point at different requests.
    shown = hashlib.sha1(repr([(r.id, r.version) for r in rows]).encode()).hexdigest()[:12]
    # Ticking rows selects them for the actions above; a click on any cell opens that request here,
    # in this tab and session (the «باز کردن» link still opens a new tab for whoever wants one).
    event = row_link_table(
        styled, f"queue-table-{shown}", links, ["multi-row", "single-cell"],
        hide_index=True,
        width="stretch",
        column_config={"پرونده": st.column_config.LinkColumn("پرونده", display_text="باز کردن", width=55),
                       **{name: st.column_config.TextColumn(name, width=w) for name, w in COLUMN_WIDTHS.items()}},
    )
    selected = [rows[i] for i in event.selection.rows if i < len(rows)]

st.caption(f"{q.count_label(result.total)} درخواست — صفحهٔ {fa(result.page)} از {fa(result.pages)}"
           + ("+ (برای دیدن بقیه، فیلتر را محدودتر کنید)" if result.capped else ""))
st.session_state["queue-page"] = result.page  # the service may have clamped it
page_picker("queue-page", result.pages)
st.session_state["kept-queue-page"] = result.page

picks = [(r.id, r.version) for r in selected]
with actions:
    # Each button says why it is disabled (its help), so nobody is left guessing.
    a1, a2, a3 = st.columns([2, 2, 5], vertical_alignment="bottom")
    if q.takes_work(actor):
        why = q.claim_blocker(actor, selected)
        a1.button(f"برداشتن ({fa(len(picks))})", key="queue-claim", disabled=why is not None, on_click=run_action,
                  args=(q.claim_selected, eng, actor, picks), help=why or "ردیف‌های انتخاب‌شده را برمی‌دارد.",
                  width="stretch")
    why = q.unclaim_blocker(actor, selected)
    a2.button(f"رها کردن ({fa(len(picks))})", key="queue-unclaim", disabled=why is not None, on_click=run_action,
              args=(q.unclaim_selected, eng, actor, picks), width="stretch",
              help=why or "ردیف‌های انتخاب‌شده را به کارتابل گروه بازمی‌گرداند.")
    if q.is_manager(actor):
        with db_session() as session:
            choices = {c.id: c.full_name for c in q.assignable_staff(session, actor, [r.id for r in selected])}
        why = q.assign_blocker(selected, len(choices))
        with a3:
            b1, b2 = st.columns([4, 1], vertical_alignment="bottom")
            target = b1.selectbox("ارجاع ردیف‌های انتخاب‌شده به", list(choices), key="queue-assignee", index=None,
                                  format_func=choices.get, disabled=not choices, help=why,
                                  placeholder="کارشناسی که نقش و استان لازم را دارد")
            if why is None and target not in choices:
                why = "نخست کارشناسی را که کار به او ارجاع می‌شود برگزینید."
            b2.button("ارجاع", key="queue-assign", disabled=why is not None, on_click=run_action,
                      args=(wf.assign, eng, actor, [r.id for r in selected], target), help=why,
                      kwargs={"success": f"{fa(len(picks))} درخواست به {choices.get(target, '')} ارجاع شد."})
            if selected and why:
                st.caption(why)  # also in words beside the button, not only on hover

# Exports are built only when a button is pressed (a callable), from the whole filtered set.
stamp = str(to_jalali(now)).replace("-", "")
e1, e2 = st.columns(2)
e1.download_button("خروجی CSV", data=lambda: q.export_file(eng, actor, flt, "csv"), mime=CSV_MIME,
                   file_name=f"queue-{stamp}.csv", key="queue-export-csv", on_click="ignore",
                   icon=":material/download:")
e2.download_button("خروجی Excel", data=lambda: q.export_file(eng, actor, flt, "xlsx"), mime=XLSX_MIME,
                   file_name=f"queue-{stamp}.xlsx", key="queue-export-xlsx", on_click="ignore",
                   icon=":material/download:")
