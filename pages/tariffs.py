"""Tariffs: the province's yearly fees in Rial (administrators and finance), and the central council's
discount rules (kept by the central administrator)."""
import streamlit as st

from domain.errors import ValidationError
from domain.jalali import format_jalali_datetime, now_tehran, to_jalali
from domain.reference import PROVINCE_NAMES_FA, TEHRAN_ID
from domain.text import format_rial, parse_amount_rial, to_persian_digits as fa
from logic import tariffs as tar
from ui.session import db_session, engine, require_page
from ui.widgets import long_text, run_action, show_flash

actor = require_page(__file__)
st.title("تعرفه‌ها")
st.caption("مبالغ به ریال است (تومان در کنار آن). رقم فارسی یا لاتین، با یا بدون جداکنندهٔ هزارگان پذیرفته "
           "می‌شود. هر تغییر در گزارش رویدادها ثبت می‌شود. تعرفه‌ای که در تعیین مبلغی به کار رفته است فقط با "
           "نوشتن دلیل تغییر می‌کند و مبلغ‌های تعیین‌شدهٔ پیشین همان می‌مانند.")
show_flash()

FORM_KEYS = [f"tariff-{f}" for f in tar.FIELD_NAMES] + ["tariff-reason"]


def reset_form() -> None:
    """Another year or province: the fields start again from its stored values."""
    for key in FORM_KEYS:
        st.session_state.pop(key, None)


this_year = to_jalali(now_tehran()).year
if actor.province_id is None:
    province = st.selectbox("استان", list(PROVINCE_NAMES_FA), key="tariff-province",
                            index=list(PROVINCE_NAMES_FA).index(TEHRAN_ID), format_func=PROVINCE_NAMES_FA.get,
                            on_change=reset_form, placeholder="یکی را برگزینید")
else:
    province = actor.province_id
    st.caption(f"استان {PROVINCE_NAMES_FA[province]}")

with db_session() as session:
    rows = tar.list_tariffs(session, actor, province)
by_year = {r.jalali_year: r for r in rows}

st.subheader("تعرفه‌های ثبت‌شده")
if rows:
    st.dataframe(
        [{"سال": fa(r.jalali_year),
          **{label: tar.describe_amount(r.amounts[f]) for f, label in tar.TARIFF_FIELDS},
          "به کار رفته": "بله" if r.used else "خیر",
          "آخرین تغییر": format_jalali_datetime(r.updated_at)} for r in rows],
        hide_index=True, width="stretch")
else:
    st.info("برای این استان هنوز تعرفه‌ای ثبت نشده است.")

st.subheader("ثبت یا تغییر تعرفه")
years = sorted(set(by_year) | {this_year, this_year + 1}, reverse=True)
year = st.selectbox("سال", years, index=years.index(this_year), format_func=fa, key="tariff-year",
                    on_change=reset_form, placeholder="یکی را برگزینید")
existing = by_year.get(year)
base = existing or by_year.get(year - 1)
if existing is None:
    st.caption(f"تعرفهٔ سال {fa(year)} هنوز ثبت نشده است" +
               (f"؛ مبالغ از تعرفهٔ سال {fa(year - 1)} پیشنهاد شده است." if base else "."))

errors = []
with st.container(border=True):
    cols = st.columns(2)
    for i, (field, label) in enumerate(tar.TARIFF_FIELDS):
        with cols[i % 2]:
            text = st.text_input(f"{label} (ریال)", value=format_rial(base.amounts[field]) if base else "",
                                 key=f"tariff-{field}")
            try:
                st.caption(tar.describe_amount(parse_amount_rial(text)))
            except ValidationError as exc:
                errors.append(field)
                st.error(exc.message)
    if existing is not None and existing.used:
        st.warning(f"تعرفهٔ سال {fa(year)} در مبلغ‌های تعیین‌شده به کار رفته است. برای تغییر آن دلیل را بنویسید؛ "
                   "مبلغ‌های تعیین‌شدهٔ پیشین تغییر نمی‌کنند.")
        long_text("دلیل تغییر", "tariff-reason", area=False)


def save(province_id: int, jalali_year: int, seen, expect_new: bool) -> None:
    state = st.session_state
    run_action(tar.save_tariff, engine(), actor, province_id, jalali_year,
               {f: state.get(f"tariff-{f}", "") for f in tar.FIELD_NAMES}, reason=state.get("tariff-reason"),
               seen_updated_at=seen, expect_new=expect_new)


st.button("ذخیرهٔ تعرفه", key="tariff-save", type="primary", disabled=bool(errors), on_click=save,
          args=(province, year, existing.updated_at if existing else None, existing is None))

st.subheader("قاعده‌های تخفیف (مصوبهٔ شورای مرکزی)")
st.caption("اعضایی که پایان اعتبارشان در بازهٔ سال‌های یک قاعدهٔ فعال است، در همهٔ سال‌های تمدیدنشده این تخفیف "
           "را می‌گیرند. تغییر قاعده بر مبلغ‌های تعیین‌شدهٔ پیشین اثری ندارد.")
with db_session() as session:
    rules = tar.list_discount_rules(session)
if rules:
    st.dataframe([{"عنوان": r.name_fa, "از سال": fa(r.year_from), "تا سال": fa(r.year_to),
                   "درصد": fa(r.percent.normalize()), "وضعیت": "فعال" if r.is_active else "غیرفعال"} for r in rules],
                 hide_index=True, width="stretch")
if actor.province_id is None and "admin" in actor.roles:
    with st.container(border=True):
        st.markdown("**افزودن قاعدهٔ تخفیف**")
        st.text_input("عنوان (شمارهٔ مصوبه)", key="disc-name", max_chars=300)
        c1, c2, c3 = st.columns(3)
        c1.text_input("پایان اعتبار از سال", key="disc-from", placeholder="۱۳۸۱")
        c2.text_input("تا سال", key="disc-to", placeholder="۱۳۸۸")
        c3.text_input("درصد تخفیف", key="disc-percent", placeholder="۵")
        st.button("افزودن قاعده", key="disc-add",
                  on_click=lambda: run_action(tar.add_discount_rule, engine(), actor, st.session_state["disc-name"],
                                              st.session_state["disc-from"], st.session_state["disc-to"],
                                              st.session_state["disc-percent"]))
    if rules:
        with st.container(border=True):
            rule = st.selectbox("قاعده", rules, key="disc-choice",
                                format_func=lambda r: f"{r.name_fa} ({'فعال' if r.is_active else 'غیرفعال'})", placeholder="یکی را برگزینید")
            long_text("دلیل تغییر وضعیت", "disc-reason", area=False)
            st.button("غیرفعال کردن" if rule.is_active else "فعال کردن", key="disc-toggle",
                      on_click=lambda: run_action(tar.set_discount_rule_active, engine(), actor, rule.id,
                                                  not rule.is_active, st.session_state.get("disc-reason", "")))
