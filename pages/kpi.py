"""Manager KPIs (شاخص‌های عملکرد) for a Jalali period: open work by stage and age, SLA compliance
and its monthly trend, cycle times, throughput per expert, breached and at-risk requests, and for
central staff the provinces side by side. Every number comes from logic.kpi in one call."""
import streamlit as st

from domain.jalali import format_jalali_datetime, to_jalali
from domain.reference import PROVINCE_NAMES_FA
from logic import kpi
from ui import charts
from ui.session import require_page

actor = require_page(__file__)
st.title("شاخص‌های عملکرد")
report = charts.period_report("kpi", actor, kpi.kpi_report)

scope = ("همهٔ استان‌ها" if report.is_national else PROVINCE_NAMES_FA[report.provinces[0]])
st.caption(f"{scope} — {report.period.label}؛ کارهای باز و تأخیرها در لحظهٔ "
           f"{format_jalali_datetime(report.now)}. هر اقدام ثبت‌شده در این اعداد است "
           f"(صفحه تا {charts.fa_number(charts.REPORT_CACHE_SECONDS)} ثانیه نتیجه را نگه می‌دارد).")
stamp = str(to_jalali(report.now)).replace("-", "")
fa = charts.fa_number

# Headline figures.
open_total = sum(b.total for b in report.backlog)
breached = sum(b.breached for b in report.backlog)
at_risk = sum(b.at_risk for b in report.backlog)
verdicts = sum(s.verdicts for s in report.stages)
met = sum(s.met for s in report.stages)
closed = sum(r.closed for r in report.requests)
closed_met = sum(r.met for r in report.requests)
m = st.columns(6)
m[0].metric("کارهای باز", fa(open_total))
m[1].metric("گذشته از مهلت", fa(breached))
m[2].metric("در آستانهٔ تأخیر", fa(at_risk))
m[3].metric("مرحله‌ها در مهلت", "—" if not verdicts else fa(100 * met / verdicts, 1) + "٪")
m[4].metric("درخواست‌ها در مهلت", "—" if not closed else fa(100 * closed_met / closed, 1) + "٪")
m[5].metric("درخواست‌های انجام‌شده", fa(sum(r.closed for r in report.requests if r.status == "completed")))
st.caption("«کارهای باز»: همهٔ درخواست‌های باز، چه نزد کارشناسان و چه در انتظار عضو (پرداخت، اصلاح)؛ همان «همهٔ "
           "درخواست‌های باز» کارتابل مدیر و «درخواست‌های در جریان» پیشخوان، در همین لحظه.")
if report.provinces and not report.is_national and actor.province_id is not None:
    # Each headline figure opens the matching list of the manager's queue.
    links = st.columns(3)
    for col, (label, view) in zip(links, (("فهرست کارهای باز", "all"), ("فهرست گذشته از مهلت", "overdue"),
                                          ("فهرست در آستانهٔ تأخیر", "at_risk"))):
        col.page_link("pages/queue.py", label=label, icon=":material/list:", query_params={"view": view})


def backlog() -> None:
    table = kpi.backlog_table(report)
    labels = [f"{r['type']} — {r['stage']}" for r in table.rows]
    series = [("نزد عضو", [r["paused"] for r in table.rows])] + [
        (label, [r[f"age{i}"] for r in table.rows]) for i, label in enumerate(kpi.AGE_LABELS_FA)]
    st.plotly_chart(charts.hbars("کارهای باز به تفکیک نوع درخواست، مرحله و سن مرحله (روز کاری)", labels, series,
                                 x_title="تعداد", stacked=True), key="kpi-backlog-chart")
    charts.show_table(table, "kpi-backlog", stamp)


def compliance() -> None:
    trend = kpi.trend_table(report)
    months = [r["month"] for r in trend.rows]
    st.plotly_chart(charts.month_lines("روند ماهانهٔ انجام در مهلت", months, [
        ("مرحله‌ها", [r["visit_share"] for r in trend.rows]),
        ("کل فرایند درخواست‌ها", [r["request_share"] for r in trend.rows])], y_title="درصد", suffix="٪"),
        key="kpi-trend-chart")
    charts.show_table(trend, "kpi-trend", stamp)
    st.subheader("به تفکیک مرحله")
    charts.show_table(kpi.stage_compliance_table(report), "kpi-stages", stamp)


def cycle_times() -> None:
    types = kpi.type_compliance_table(report)
    st.plotly_chart(charts.bars("زمان چرخهٔ درخواست‌های انجام‌شده (روز کاری)", [r["type"] for r in types.rows], [
        ("میانه", [r["median_days"] for r in types.rows]), ("صدک ۹۰", [r["p90_days"] for r in types.rows]),
        ("مهلت کل فرایند", [r["limit_days"] for r in types.rows])], y_title="روز کاری", digits=2),
        key="kpi-cycle-chart")
    charts.show_table(types, "kpi-types", stamp)


def experts() -> None:
    if report.is_national:
        st.caption("کارشناسان سازمان مرکزی؛ برای کارشناسان هر استان، آن استان را انتخاب کنید.")
    people = kpi.experts_table(report)
    st.plotly_chart(charts.bars("اقدام در هفته", [r["name"] for r in people.rows],
                                [("اقدام در هفته", [r["per_week"] for r in people.rows])], y_title="اقدام",
                                digits=1), key="kpi-experts-chart")
    charts.show_table(people, "kpi-experts", stamp)


def exceptions() -> None:
    for which, count in (("breached", breached), ("at_risk", at_risk)):
        table = kpi.exceptions_table(report, which)
        st.subheader(f"{table.title} ({fa(count)})")
        if count > len(table.rows):
            st.caption(f"{fa(len(table.rows))} مورد نخست، به ترتیب مهلت.")
        charts.show_table(table, f"kpi-{which}", stamp)


def provinces() -> None:
    table = kpi.province_comparison_table(report)
    st.plotly_chart(charts.bars("کارهای باز و تأخیرها در هر استان", [r["province"] for r in table.rows], [
        ("کارهای باز", [r["open"] for r in table.rows]), ("گذشته از مهلت", [r["breached"] for r in table.rows])],
        y_title="تعداد"), key="kpi-provinces-chart")
    charts.show_table(table, "kpi-provinces", stamp)


sections = {"کارهای باز": backlog, "انجام در مهلت": compliance, "زمان چرخه": cycle_times, "کارشناسان": experts,
            "تأخیرها": exceptions}
if report.is_national:
    sections["مقایسهٔ استان‌ها"] = provinces
# Only the open tab is drawn: Streamlit draws every tab's content, hidden or not, and five or six
# charts with their tables kept the browser busy on every visit. Another tab reruns the page; the
# report comes from the cache.
for tab, draw in zip(st.tabs(list(sections), key="kpi-tab", on_change="rerun"), sections.values()):
    if tab.open:
        with tab:
            draw()
