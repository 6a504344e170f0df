"""Finance: approve assessed amounts, record confirmed payments, import the gateway's file."""
from datetime import datetime, time

import streamlit as st

from domain.errors import DomainError, ValidationError
from domain.fees import ITEM_LABELS_FA
from domain.jalali import (TEHRAN, format_jalali_date, format_jalali_datetime, now_tehran, parse_jalali_date,
                          to_gregorian)
from domain.processes import PROCESSES
from domain.text import fa_code, format_rial, format_toman, normalize_text, parse_amount_rial, to_persian_digits as fa
from logic import payments as pay
from logic import workflow as wf
from logic.fees import FINANCE_STATUS_FA
from ui.session import db_session, engine, require_page
from ui.widgets import jalali_date_input, long_text, run_action, show_flash

actor = require_page(__file__)
st.title("پرداخت‌ها")
st.caption(f"{actor.province_label} — مبالغ به ریال")
show_flash()


def amount(n: int | None) -> str:
    return "تعیین نشده" if n is None else f"{format_rial(n)} ریال ({format_toman(n)})"


def lines_table(lines: list[dict]) -> None:
    st.dataframe([{"سال": fa(l.get("year", "")),
                   "بابت": ITEM_LABELS_FA.get(l["item"], l["item"]) if "item" in l else "حق عضویت سالانه",
                   "تعرفه (ریال)": format_rial(l.get("fee", l.get("amount", 0))),
                   "تخفیف (ریال)": format_rial(l.get("discount", 0)),
                   "مبلغ (ریال)": format_rial(l.get("amount", 0))} for l in lines], hide_index=True, width="stretch")


tab_approve, tab_record, tab_import, tab_recent = st.tabs(
    ["تأیید مبلغ", "ثبت پرداخت", "بارگذاری فایل درگاه", "پرداخت‌های اخیر"])

# --- finance approval of assessed amounts --------------------------------------------------------
with tab_approve:
    with db_session() as session:
        pending = pay.pending_finance_approvals(session, actor)
    if not pending:
        st.info("مبلغی در انتظار تأیید امور مالی نیست.")
    else:
        st.dataframe([{"کد رهگیری": fa_code(p.tracking_code), "عضو": p.member_name, "کد ملی": fa_code(p.national_id),
                       "مبلغ (ریال)": format_rial(p.total), "کارشناس": p.assessed_by or "—",
                       "زمان تعیین": format_jalali_datetime(p.assessed_at),
                       "مهلت": format_jalali_datetime(p.stage_due_at)} for p in pending],
                     hide_index=True, width="stretch")
        pick = st.selectbox("درخواست", range(len(pending)), key="pay-pending",
                            format_func=lambda i: f"{fa_code(pending[i].tracking_code)} — {pending[i].member_name} — "
                                                  f"{format_rial(pending[i].total)} ریال", placeholder="یکی را برگزینید")
        choice = pending[pick or 0]
        with st.container(border=True):
            st.markdown(f"**{choice.member_name}** — نسخهٔ {fa(choice.assessment_version)} از مبلغ تعیین‌شده")
            lines_table(choice.lines)
            if choice.prior_debt:
                st.markdown(f"**بدهی پیشین:** {amount(choice.prior_debt)}")
            st.markdown(f"**مبلغ قابل پرداخت:** {amount(choice.total)}")
            if choice.new_valid_until:
                st.markdown(f"**اعتبار پس از پرداخت:** {format_jalali_date(choice.new_valid_until)}")
            if choice.note:
                st.caption(choice.note)
            checklist = PROCESSES[choice.type_code].stage(choice.stage_code).checklist
            for i, item in enumerate(checklist):
                st.checkbox(item, key=f"pay-check-{choice.request_id}-{i}")

            def approve(p=choice, n=len(checklist)):
                ticks = [bool(st.session_state.get(f"pay-check-{p.request_id}-{i}")) for i in range(n)]
                run_action(wf.approve, engine(), actor, p.request_id, p.version, checklist=ticks,
                           success=f"مبلغ درخواست {fa_code(p.tracking_code)} تأیید شد و لینک پرداخت برای عضو فعال می‌شود.")

            def reject(p=choice):
                run_action(wf.reject, engine(), actor, p.request_id, p.version,
                           st.session_state.get("pay-reject-reason", ""),
                           success=f"مبلغ درخواست {fa_code(p.tracking_code)} رد شد و درخواست بسته شد.")

            st.button("تأیید مبلغ", key="pay-approve", type="primary", on_click=approve)
            long_text("دلیل رد (الزامی)", "pay-reject-reason", area=False)
            st.button("رد مبلغ", key="pay-reject", on_click=reject)

# --- recording a confirmed payment ---------------------------------------------------------------
with tab_record:
    with db_session() as session:
        waiting = pay.awaiting_payment(session, actor)
    with st.expander(f"درخواست‌های در انتظار پرداخت ({fa(len(waiting))})", expanded=False):
        if waiting:
            st.dataframe([{"کد رهگیری": fa_code(w.tracking_code), "نوع": PROCESSES[w.type_code].name_fa,
                           "عضو": w.member_name, "مبلغ": amount(w.total),
                           "از": format_jalali_datetime(w.since)} for w in waiting], hide_index=True, width="stretch")
        else:
            st.caption("درخواستی در انتظار پرداخت نیست.")
    code = st.text_input("کد رهگیری درخواست", key="pay-code")
    if normalize_text(code):
        try:
            with db_session() as session:
                found = pay.lookup_for_payment(session, actor, code)
            st.info(f"{found.member_name} — {PROCESSES[found.type_code].name_fa} — مبلغ تعیین‌شده: "
                    f"{amount(found.total)}" +
                    (f" — {FINANCE_STATUS_FA[found.finance_status]}" if found.finance_status == "pending" else ""))
        except DomainError as exc:
            st.error(exc.message)
    st.text_input("شمارهٔ مرجع بانکی", key="pay-ref", max_chars=40)
    amount_text = st.text_input("مبلغ پرداخت‌شده (ریال)", key="pay-amount")
    if normalize_text(amount_text):
        try:
            st.caption(amount(parse_amount_rial(amount_text)))
        except ValidationError as exc:
            st.error(exc.message)
    c1, c2 = st.columns(2)
    with c1:
        paid_day = jalali_date_input("تاریخ پرداخت (شمسی)", key="pay-date", default=now_tehran().date())
    now = now_tehran()
    c2.time_input("ساعت پرداخت", value=time(now.hour, now.minute), key="pay-time", step=60)

    def jalali_day(text):
        try:
            return to_gregorian(parse_jalali_date(text))
        except ValidationError:
            return None

    def record():
        state = st.session_state
        day = jalali_day(state.get("pay-date", ""))
        if day is None:
            state["flash"] = ("error", "تاریخ پرداخت درست نیست.")
            return
        paid_at = datetime.combine(day, state.get("pay-time") or time(0), tzinfo=TEHRAN)
        run_action(pay.confirm_by_tracking_code, engine(), actor, state.get("pay-code", ""),
                   state.get("pay-ref", ""), state.get("pay-amount", ""), paid_at=paid_at, source="manual")

    st.button("ثبت پرداخت", key="pay-record", type="primary", disabled=paid_day is None, on_click=record)

# --- the gateway's file ------------------------------------------------------------------------
with tab_import:
    st.markdown(pay.CSV_HELP_FA)
    st.file_uploader("فایل CSV درگاه", type=["csv"], key="pay-csv")

    def import_file():
        upload = st.session_state.get("pay-csv")
        if upload is None:
            st.session_state["flash"] = ("error", "فایلی انتخاب نشده است.")
            return
        try:
            results = pay.import_gateway_csv(engine(), actor, upload.getvalue())
        except DomainError as exc:
            st.session_state["flash"] = ("error", exc.message)
            return
        st.session_state["pay-import-result"] = results
        counts = {s: sum(r.status == s for r in results) for s in ("recorded", "replayed", "error")}
        st.session_state["flash"] = (
            "error" if counts["error"] else "success",
            f"{fa(counts['recorded'])} پرداخت ثبت شد، {fa(counts['replayed'])} سطر پیش‌تر ثبت شده بود و "
            f"{fa(counts['error'])} سطر خطا داشت.")

    st.button("بارگذاری و ثبت", key="pay-import", type="primary", on_click=import_file)
    results = st.session_state.get("pay-import-result")
    if results:
        st.dataframe([{"سطر": fa(r.line), "کد رهگیری": fa_code(r.tracking_code), "مرجع بانکی": fa_code(r.bank_reference),
                       "مبلغ": fa(r.amount), "نتیجه": pay.IMPORT_STATUS_FA[r.status], "پیام": r.message}
                      for r in results], hide_index=True, width="stretch")

# --- recent payments ---------------------------------------------------------------------------
with tab_recent:
    with db_session() as session:
        recent = pay.recent_payments(session, actor)
    if recent:
        st.dataframe([{"کد رهگیری": fa_code(p.tracking_code), "عضو": p.member_name, "مرجع بانکی": fa_code(p.bank_reference),
                       "مبلغ (ریال)": format_rial(p.amount), "زمان پرداخت": format_jalali_datetime(p.paid_at),
                       "منبع": pay.SOURCE_FA.get(p.source, p.source), "ثبت‌کننده": p.recorded_by or "درگاه"}
                      for p in recent], hide_index=True, width="stretch")
    else:
        st.caption("هنوز پرداختی ثبت نشده است.")
