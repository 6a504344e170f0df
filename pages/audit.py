"""Audit log: request events and other audited writes, with filters and export."""
import streamlit as st

from domain.processes import ACTIONS_FA
from domain.text import format_number
from logic.audit_view import AUDIT_ACTIONS_FA, COLUMNS, PAGE_SIZE, for_screen, AuditFilter, audit_page, audit_people
from logic.export import export_csv
from ui.session import db_session, require_page
from ui.widgets import int_box, jalali_date_input

actor = require_page(__file__)
st.title("گزارش رویدادها")
labels = {**ACTIONS_FA, **AUDIT_ACTIONS_FA}
with db_session() as session:
    people = dict(audit_people(session, actor))
c1, c2, c3 = st.columns(3)
person = c1.selectbox("شخص", [None, *people], key="audit-person", format_func=lambda p: "همه" if p is None else people[p], placeholder="یکی را برگزینید")
action = c2.selectbox("اقدام", [None, *labels], key="audit-action", format_func=lambda a: "همه" if a is None else labels[a], placeholder="یکی را برگزینید")
code = c3.text_input("کد رهگیری درخواست", key="audit-code")
d1, d2, d3 = st.columns(3)
with d1:
    since = jalali_date_input("از تاریخ", key="audit-from")
with d2:
    until = jalali_date_input("تا تاریخ", key="audit-to")
flt = AuditFilter(person, action, code or None, since, until, int(st.session_state.get("audit-page", 1)))
with db_session() as session:
    rows, total = audit_page(session, actor, flt)
st.caption(f"{format_number(total)} رویداد")
with d3:
    int_box("صفحه", "audit-page", 1, max(1, -(-total // PAGE_SIZE)))
# The grid lays columns out left to right: listed in reverse, the time is the rightmost, read first,
# and the long description gets the room left over on the left instead of pushing the time out of view.
shown = [dict(reversed(list(r.items()))) for r in for_screen(rows)]
st.dataframe(shown, hide_index=True, width="stretch",
             column_config={"زمان": st.column_config.TextColumn("زمان", width=130),
                            "درخواست": st.column_config.TextColumn("درخواست", width=120),
                            "شرح": st.column_config.TextColumn("شرح", width="large")})


def export_all() -> bytes:
    with db_session() as s:
        return export_csv(audit_page(s, actor, flt, everything=True)[0], COLUMNS)


if rows:
    st.download_button("دریافت CSV همهٔ رویدادهای فیلترشده", export_all, file_name="audit.csv",
                       mime="text/csv", key="audit-export-csv", on_click="ignore")
