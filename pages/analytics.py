"""Analytics (تحلیل‌ها) per Jalali month: renewals and the Rial collected, new members, transfers,
work licences issued and renewed by field and grade, and members with and without a valid licence.
Each chart has its data as a table with CSV and XLSX downloads."""
import streamlit as st

from domain.jalali import now_tehran, to_jalali
from domain.reference import FIELDS_FA, PROVINCE_NAMES_FA
from logic import analytics as an
from ui import charts
from ui.session import require_page

actor = require_page(__file__)
st.title("تحلیل‌ها")
now = now_tehran()
report = charts.period_report("analytics", actor, an.analytics_report, last_complete_month=True)

scope = "همهٔ استان‌ها" if len(report.provinces) > 1 else PROVINCE_NAMES_FA[report.provinces[0]]
st.caption(f"{scope} — {report.period.label}")
stamp = str(to_jalali(now)).replace("-", "")
months = [m.month.label for m in report.months]

st.subheader("تمدید عضویت")
renewals = an.renewals_table(report)
st.plotly_chart(charts.bars("تمدیدهای پرداخت‌شده در هر ماه", months,
                            [("تعداد تمدید", [r["renewals"] for r in renewals.rows])], y_title="تعداد"),
                key="analytics-renewals-chart")
st.plotly_chart(charts.bars("مبلغ دریافتی تمدیدها (میلیون ریال)", months,
                            [("میلیون ریال", [r["amount"] / 1e6 for r in renewals.rows])], y_title="میلیون ریال"),
                key="analytics-amount-chart")
charts.show_table(renewals, "analytics-renewals", stamp)

st.subheader("اعضای جدید و انتقال‌ها")
members = an.members_table(report)
st.plotly_chart(charts.bars("اعضای جدید و انتقال‌ها در هر ماه", months, [
    ("اعضای جدید", [r["new_members"] for r in members.rows]),
    ("انتقال به استان", [r["transfers_in"] for r in members.rows]),
    ("انتقال از استان", [r["transfers_out"] for r in members.rows])], y_title="نفر"), key="analytics-members-chart")
charts.show_table(members, "analytics-members", stamp)

st.subheader("پروانه‌های اشتغال")
monthly = an.licences_month_table(report)
st.plotly_chart(charts.bars("پروانه‌های صادرشده و تمدیدشده در هر ماه", months, [
    ("صادرشده", [r["issued"] for r in monthly.rows]), ("تمدیدشده", [r["renewed"] for r in monthly.rows])],
    y_title="تعداد"), key="analytics-licences-month-chart")
charts.show_table(monthly, "analytics-licences-monthly", stamp)

licences = an.licences_table(report)
fields = [FIELDS_FA[f] for f in FIELDS_FA]
by_field = {f: [0, 0] for f in fields}
for r in licences.rows:
    by_field.setdefault(r["field"], [0, 0])
    by_field[r["field"]][0] += r["issued"]
    by_field[r["field"]][1] += r["renewed"]
st.plotly_chart(charts.bars("پروانه‌ها به تفکیک رشته (جزئیات پایه در جدول)", list(by_field), [
    ("صادرشده", [v[0] for v in by_field.values()]), ("تمدیدشده", [v[1] for v in by_field.values()])],
    y_title="تعداد"), key="analytics-licences-chart")
charts.show_table(licences, "analytics-licences", stamp)

holders = an.holders_table(report)
with_by_field = {f: [0, 0] for f in fields}
for r in holders.rows:
    with_by_field.setdefault(r["field"], [0, 0])
    with_by_field[r["field"]][0] += r["with"]
    with_by_field[r["field"]][1] += r["without"]
st.plotly_chart(charts.bars(holders.title, list(with_by_field), [
    ("دارای پروانهٔ معتبر", [v[0] for v in with_by_field.values()]),
    ("بدون پروانهٔ معتبر", [v[1] for v in with_by_field.values()])], y_title="نفر", stacked=True),
    key="analytics-holders-chart")
charts.show_table(holders, "analytics-holders", stamp)
