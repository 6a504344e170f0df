"""Transparency releases (board): compose a release for a Jalali period, preview it, keep it as a
draft; another board member approves and publishes it; corrections supersede, never overwrite."""
import jdatetime
import streamlit as st

from domain.errors import DomainError
from domain.jalali import format_jalali_date, format_jalali_datetime, now_tehran, to_jalali
from domain.reference import PROVINCE_NAMES_FA
from domain.text import ltr
from domain.text import to_persian_digits as fa
from logic import releases as rel
from ui.release_view import show_snapshot
from ui.session import db_session, engine, require_page
from ui.widgets import jalali_date_input, long_text, run_action, show_flash

actor = require_page(__file__)
st.title("انتشار آمار")
st.caption("هیأت مدیره آمار شفافیت را برای یک دورهٔ شمسی تهیه می‌کند؛ عضو دیگری از هیأت مدیره آن را تأیید و منتشر "
           "می‌کند. عددهای منتشرشده دیگر تغییر نمی‌کنند و در صفحهٔ عمومی (بدون ورود) دیده می‌شوند؛ اصلاح، انتشار "
           "تازه‌ای است که جای انتشار پیشین را می‌گیرد.")
show_flash()

with db_session() as session:
    releases = rel.board_releases(session, actor)
drafts = [r for r in releases if r.status == "draft"]
published = [r for r in releases if r.status == "published"]
correctable = [r for r in published if r.superseded_by_id is None]

compose_tab, drafts_tab, published_tab = st.tabs(
    ["تهیهٔ انتشار", f"در انتظار تأیید ({fa(len(drafts))})", f"منتشرشده ({fa(len(published))})"])

# --- compose ------------------------------------------------------------------------------------
with compose_tab:
    today = to_jalali(now_tehran())
    with st.form("release-form"):
        st.text_input("عنوان", key="rel-title", max_chars=rel.TITLE_MAX,
                      placeholder="آمار صدور پروانهٔ اشتغال از اول فروردین تا پایان اردیبهشت")
        if actor.is_central:
            province_options = [None, *PROVINCE_NAMES_FA]
            st.selectbox("استان", province_options, key="rel-province",
                         format_func=lambda p: rel.NATIONAL_FA if p is None else PROVINCE_NAMES_FA[p], placeholder="یکی را برگزینید")
        else:
            st.caption(f"استان: {PROVINCE_NAMES_FA[actor.province_id]}")
        c1, c2 = st.columns(2)
        with c1:
            period_from = jalali_date_input("آغاز دوره", key="rel-from", default=jdatetime.date(today.year, 1, 1))
        with c2:
            period_to = jalali_date_input("پایان دوره", key="rel-to", default=today)
        st.multiselect("جدول‌ها", list(rel.TABLES), default=list(rel.TABLES), key="rel-tables",
                       format_func=lambda k: rel.TABLES[k].title_fa, placeholder="برگزینید")
        st.selectbox("اصلاحیهٔ انتشار", [None, *[r.id for r in correctable]], key="rel-supersedes",
                     format_func=lambda i: "— (انتشار تازه، نه اصلاحیه)" if i is None else
                     next(r.label for r in correctable if r.id == i),
                     help="اگر این انتشار عددهای انتشار پیشینی را اصلاح می‌کند، آن را برگزینید و دلیل را بنویسید.", placeholder="یکی را برگزینید")
        note = long_text("یادداشت / دلیل اصلاح", "rel-note", in_form=True)
        submitted = st.form_submit_button("پیش‌نمایش", key="rel-preview", type="primary")

    if submitted:
        params = {"title": st.session_state.get("rel-title", ""),
                  "province_id": st.session_state.get("rel-province") if actor.is_central else actor.province_id,
                  "period_from": period_from, "period_to": period_to,
                  "tables": list(st.session_state.get("rel-tables", [])),
                  "supersedes_id": st.session_state.get("rel-supersedes"),
                  "note": note}
        try:
            with db_session() as session:
                snapshot = rel.preview(session, actor, title=params["title"], province_id=params["province_id"],
                                       period_from=period_from, period_to=period_to, tables=params["tables"])
            st.session_state["rel-draft"] = (params, snapshot)
        except DomainError as exc:
            st.session_state.pop("rel-draft", None)
            st.error(exc.message)

    pending = st.session_state.get("rel-draft")
    if pending:
        params, snapshot = pending

        def save() -> None:
            if run_action(rel.compose, engine(), actor, **params) is not None:
                st.session_state.pop("rel-draft", None)

        st.divider()
        st.subheader("پیش‌نمایش (همان که منتشر می‌شود)")
        st.button("ثبت پیش‌نویس برای تأیید", key="rel-compose", type="primary", on_click=save)
        show_snapshot(snapshot, key="preview", downloads=False)

# --- drafts -------------------------------------------------------------------------------------
with drafts_tab:
    if not drafts:
        st.info("پیش‌نویسی در انتظار تأیید نیست.")
    else:
        drafts_by_id = {r.id: r for r in drafts}
        chosen = st.selectbox("پیش‌نویس", list(drafts_by_id), key="rel-draft-choice",
                              format_func=lambda i, d=drafts_by_id: d[i].label, placeholder="یکی را برگزینید")
        draft = drafts_by_id[chosen]
        st.caption(f"تهیه‌کننده: {draft.composed_by_name}، {format_jalali_datetime(draft.composed_at)}")
        if draft.supersedes_id is not None:
            st.info(f"اصلاحیهٔ انتشار شمارهٔ {fa(draft.supersedes_id)} («{draft.supersedes_title}»)؛ "
                    f"دلیل: {draft.note}")
        if draft.composed_by == actor.id:
            st.warning("این پیش‌نویس را شما تهیه کرده‌اید؛ عضو دیگری از هیأت مدیره باید آن را تأیید و منتشر کند.")
        c1, c2 = st.columns(2)
        c1.button("تأیید و انتشار", key="rel-approve", type="primary", disabled=draft.composed_by == actor.id,
                  on_click=lambda: run_action(rel.approve_and_publish, engine(), actor, draft.id))
        c2.button("کنار گذاشتن پیش‌نویس", key="rel-discard",
                  on_click=lambda: run_action(rel.discard_draft, engine(), actor, draft.id))
        with db_session() as session:
            snapshot = rel.board_snapshot(session, actor, draft.id)
        show_snapshot(snapshot, key=f"draft-{draft.id}", downloads=False)

# --- published ----------------------------------------------------------------------------------
with published_tab:
    if not published:
        st.info("هنوز انتشاری منتشر نشده است.")
    else:
        st.dataframe([{"شماره": fa(r.id), "عنوان": r.title, "استان": r.province, "دوره": r.period,
                       "تهیه‌کننده": r.composed_by_name, "تأییدکننده": r.approved_by_name,
                       "تاریخ انتشار": format_jalali_datetime(r.published_at),
                       "وضعیت": (f"اصلاح‌شده با شمارهٔ {fa(r.superseded_by_id)}" if r.superseded_by_id else
                                 f"اصلاحیهٔ شمارهٔ {fa(r.supersedes_id)}" if r.supersedes_id else "جاری")}
                      for r in published], hide_index=True, width="stretch")
        published_by_id = {r.id: r for r in published}
        chosen = st.selectbox("انتشار", list(published_by_id), key="rel-published-choice",
                              format_func=lambda i, d=published_by_id: d[i].label, placeholder="یکی را برگزینید")
        shown = published_by_id[chosen]
        if shown.superseded_by_id:
            st.warning(f"این انتشار با انتشار شمارهٔ {fa(shown.superseded_by_id)} («{shown.superseded_by_title}») "
                       "اصلاح شده است.")
        with db_session() as session:
            snapshot = rel.board_snapshot(session, actor, chosen)
        show_snapshot(snapshot, key=f"published-{chosen}", release_id=chosen)
        st.caption(f"نشانی عمومی: {ltr(f'/public?release={chosen}')} — منتشرشده در "
                   f"{format_jalali_date(shown.published_at)}")
