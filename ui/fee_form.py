"""The fee-determination form, for the request screen at FEE stages (and a read-only view of a
request's assessments elsewhere).

`render_fee_form(actor, request_id)` is a self-contained fragment: it reads what it needs, previews
the quote as the expert types (Persian or Latin digits, separators), saves through
`logic.fees` (one service call per click), and lists every version of the assessment with the reason
for each correction. Saving does not change the request's version, so the page's approve form stays
valid.
"""
from __future__ import annotations

import streamlit as st

from domain.actor import Actor
from domain.errors import DomainError, ValidationError
from domain.fees import ITEM_LABELS_FA, first_year_due, is_last_day_of_year, renewal_quote
from domain.jalali import format_jalali_date, format_jalali_datetime, now_tehran, to_jalali
from domain.processes import FeeRule, StageKind
from domain.text import format_rial, format_toman, normalize_text, parse_amount_rial, to_persian_digits as fa
from logic import fees
from ui.session import db_session, engine
from ui.widgets import long_text, plain, run_action, show_flash

KEY = "fee"


def _amount(n: int) -> str:
    return f"{format_rial(n)} ریال"


def _total(label: str, total: int) -> None:
    st.metric(label, _amount(total))
    st.caption(f"برابر با {format_toman(total)}")


def _parse_debt(text: str) -> tuple[int | None, str | None]:
    if not normalize_text(text or ""):
        return 0, None
    try:
        return parse_amount_rial(text), None
    except ValidationError as exc:
        return None, f"بدهی پیشین: {exc.message}"


def _lines_table(lines: list[dict]) -> None:
    table = []
    for line in lines:
        row = {"سال": fa(line.get("year", ""))}
        if "item" in line:
            row["بابت"] = ITEM_LABELS_FA.get(line["item"], line["item"])
        row["تعرفه (ریال)"] = format_rial(line.get("fee", line.get("amount", 0)))
        if line.get("free"):
            row["تخفیف (ریال)"] = "رایگان (معافیت شورای مرکزی)"
        else:
            row["تخفیف (ریال)"] = format_rial(line.get("discount", 0))
        row["مبلغ (ریال)"] = format_rial(line.get("amount", 0))
        table.append(row)
    st.dataframe(table, hide_index=True, width="stretch")


def _saved(result) -> None:
    """After a saved version the correction reason starts empty again."""
    if result is not None and f"{KEY}-reason" in st.session_state:
        st.session_state[f"{KEY}-reason"] = ""


def _save_renewal(actor: Actor, request_id: int, version: int) -> None:
    # Read the widgets' current values here (not values bound when the button was drawn).
    state = st.session_state
    _saved(run_action(fees.determine_renewal_fee, engine(), actor, request_id, version,
                      state[f"{KEY}-through-year"], state.get(f"{KEY}-prior-debt", ""), state.get(f"{KEY}-note", ""),
                      reason=state.get(f"{KEY}-reason")))


def _renewal_form(view: fees.FeeView, actor: Actor) -> None:
    if view.valid_until is None:
        st.warning("پایان اعتبار عضویت این عضو ثبت نشده است؛ تا اصلاح پروندهٔ عضو، مبلغ تمدید محاسبه نمی‌شود.")
        return
    valid = to_jalali(view.valid_until)
    st.markdown(f"**پایان اعتبار عضویت:** {format_jalali_date(valid)}")
    first = first_year_due(valid)
    if not is_last_day_of_year(valid):
        st.caption(f"این تاریخ آخرین روز سال نیست (پروندهٔ پیش از سامانه)؛ سال {fa(valid.year)} پرداخت‌شده "
                   f"شمرده می‌شود و سال‌های تمدیدنشده از {fa(first)} آغاز می‌شوند.")
    current = view.current
    last = max([first, *[y for y in view.annual_fees if y >= first]])
    options = list(range(first, last + 1))
    this_year = to_jalali(now_tehran()).year
    default = valid.year + current.years if current and current.years else min(max(this_year, first), last)
    disabled = not view.can_edit
    through = st.selectbox("تمدید تا پایان سال", options, index=options.index(default) if default in options else 0,
                           format_func=fa, key=f"{KEY}-through-year", disabled=disabled, placeholder="یکی را برگزینید")
    debt_text = st.text_input("بدهی پیشین (ریال)", value=format_rial(current.prior_debt) if current else "۰",
                              key=f"{KEY}-prior-debt", disabled=disabled,
                              help="بدهی‌ای که از بررسی پرداخت‌های پیشین عضو به دست آمده است؛ رقم فارسی یا لاتین، "
                                   "با یا بدون جداکنندهٔ هزارگان.")
    debt, debt_error = _parse_debt(debt_text)
    if debt_error:
        st.error(debt_error)
    long_text("یادداشت (دلیل بدهی، سال‌های پرداخت‌شده...)", f"{KEY}-note", value=(current.note or "") if current else "", disabled=disabled)
    quote = None
    try:
        quote = renewal_quote(valid, through, view.annual_fees, debt or 0, view.discounts)
    except DomainError as exc:
        st.error(exc.message)
    if quote is not None:
        st.markdown(f"**سال‌های تمدیدنشده:** {fa(quote.years)} سال، تا {format_jalali_date(quote.new_valid_until)}")
        _lines_table([line.as_json() for line in quote.lines])
        if quote.discount:
            st.caption(f"تخفیف {fa(quote.discount.percent.normalize())}٪: {quote.discount.name_fa}")
        if debt:
            st.markdown(f"**بدهی پیشین:** {_amount(debt)}")
        _total("مبلغ قابل پرداخت", quote.total)
        if current and current.total != quote.total:
            st.caption(f"مبلغ تعیین‌شدهٔ فعلی: {_amount(current.total)}")
    if current:
        long_text("دلیل اصلاح مبلغ (برای نسخهٔ تازه الزامی است)", f"{KEY}-reason", area=False, disabled=disabled)
    st.button("ثبت مبلغ" if current is None else "ثبت نسخهٔ اصلاح‌شده", key=f"{KEY}-save", type="primary",
              disabled=disabled or quote is None or debt_error is not None,
              on_click=_save_renewal, args=(actor, view.request_id, view.version))


def _licence_years() -> list[tuple[int, bool]]:
    state = st.session_state
    start, count = state[f"{KEY}-lic-from"], state[f"{KEY}-lic-count"]
    return [(y, bool(state.get(f"{KEY}-lic-free-{y}", False))) for y in range(start, start + count)]


def _save_licence(actor: Actor, request_id: int, version: int) -> None:
    state = st.session_state
    _saved(run_action(fees.determine_licence_renewal_fee, engine(), actor, request_id, version, _licence_years(),
                      state.get(f"{KEY}-note", ""), reason=state.get(f"{KEY}-reason")))


def _licence_form(view: fees.FeeView, actor: Actor) -> None:
    st.markdown(f"**پایان اعتبار پروانهٔ اشتغال:** {format_jalali_date(view.licence_expires_on)}")
    current = view.current
    this_year = to_jalali(now_tehran()).year
    chosen = {line["year"]: bool(line.get("free")) for line in current.lines} if current else {}
    options = list(range(this_year - 5, this_year + 4))
    start_default = min(chosen) if chosen else this_year
    disabled = not view.can_edit
    c1, c2 = st.columns(2)
    start = c1.selectbox("از سال", options, index=options.index(start_default) if start_default in options else 5,
                         format_func=fa, key=f"{KEY}-lic-from", disabled=disabled, placeholder="یکی را برگزینید")
    # The member's own years by default (seed 002: the expert sets the years, each free or paid).
    asked = len(chosen) if chosen else (view.requested_years or 1)
    count = c2.selectbox("تعداد سال", [1, 2, 3, 4, 5], index=min(max(asked, 1), 5) - 1, format_func=fa,
                         key=f"{KEY}-lic-count", disabled=disabled, placeholder="یکی را برگزینید")
    fee = view.licence_renewal_fees.get(this_year)
    if fee is None:
        st.error(f"تعرفهٔ سال {fa(this_year)} برای این استان ثبت نشده است.")
    lines = []
    for y in range(start, start + count):
        free = st.checkbox(f"سال {fa(y)}: رایگان (معافیت شورای مرکزی)", value=chosen.get(y, False),
                           key=f"{KEY}-lic-free-{y}", disabled=disabled)
        if fee is not None:
            lines.append({"year": y, "fee": fee, "discount": fee if free else 0, "amount": 0 if free else fee,
                          "free": free})
    if fee is not None:
        st.caption(f"تعرفهٔ تمدید پروانه برای هر سال (تعرفهٔ سال {fa(this_year)}): {_amount(fee)}")
        _lines_table(lines)
        _total("مبلغ قابل پرداخت", sum(line["amount"] for line in lines))
    long_text("یادداشت", f"{KEY}-note", value=(current.note or "") if current else "", disabled=disabled)
    if current:
        long_text("دلیل اصلاح مبلغ (برای نسخهٔ تازه الزامی است)", f"{KEY}-reason", area=False, disabled=disabled)
    st.button("ثبت سال‌ها و مبلغ" if current is None else "ثبت نسخهٔ اصلاح‌شده", key=f"{KEY}-save", type="primary",
              disabled=disabled or fee is None, on_click=_save_licence, args=(actor, view.request_id, view.version))


def _history(view: fees.FeeView) -> None:
    if not view.assessments:
        st.caption("هنوز مبلغی تعیین نشده است.")
        return
    st.markdown("**تاریخچهٔ تعیین مبلغ**")
    for i, a in enumerate(view.assessments):
        title = (f"نسخهٔ {fa(a.version)}{' (فعلی)' if i == 0 else ''}: {_amount(a.total)} — "
                 f"{a.created_by or 'سامانه (از تعرفه)'} — {format_jalali_datetime(a.created_at)}")
        with st.expander(title, expanded=i == 0):
            if a.reason:
                st.markdown(f"**دلیل اصلاح:** {plain(a.reason)}")
            st.markdown(f"**وضعیت تأیید مالی:** {fees.FINANCE_STATUS_FA.get(a.finance_status, a.finance_status)}")
            if a.new_valid_until:
                st.markdown(f"**اعتبار پس از پرداخت:** {format_jalali_date(a.new_valid_until)}")
            if a.lines:
                _lines_table(a.lines)
            if a.prior_debt:
                st.markdown(f"**بدهی پیشین:** {_amount(a.prior_debt)}")
            st.markdown(f"**جمع:** {_amount(a.total)} ({format_toman(a.total)})")
            if a.note:
                st.caption(a.note)


def _forget_other_request(request_id: int) -> None:
    """Widget values typed for one request must not show up on the next one the screen opens."""
    if st.session_state.get(f"{KEY}-request-id") != request_id:
        for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(f"{KEY}-")]:
            del st.session_state[key]
        st.session_state[f"{KEY}-request-id"] = request_id


_FORMS = {FeeRule.MEMBERSHIP_YEARS: _renewal_form, FeeRule.LICENCE_YEARS: _licence_form}


@st.fragment
def render_fee_form(actor: Actor, request_id: int) -> None:
    """The fee section of the request screen: the form at FEE stages, the history everywhere."""
    _forget_other_request(request_id)
    show_flash()
    try:
        with db_session() as session:
            view = fees.fee_view(session, actor, request_id)
    except DomainError as exc:
        st.error(exc.message)
        return
    with st.container(border=True, key=f"{KEY}-form"):
        st.subheader("تعیین مبلغ")
        form = _FORMS.get(view.fee_rule)
        if view.stage_kind is StageKind.FEE and form is not None:
            if view.edit_block:
                st.info(view.edit_block)
            form(view, actor)
        _history(view)
