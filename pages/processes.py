"""Process definitions, read from domain.processes: stages, actors, limits and checklists."""
import streamlit as st

from domain.processes import PROCESSES, limit_fa
from domain.roles import role_label
from domain.text import to_persian_digits as fa
from ui.session import require_page

require_page(__file__)
st.title("فرایندها و مهلت‌ها")
st.caption("مهلت‌ها همان است که در نمودار فرایندها آمده و به روز کاری است؛ «کمتر از ۱ روز» با نیم روز کاری "
           "سنجیده می‌شود. مرحله یا فرایندی که نمودار برایش زمانی نداده «بدون مهلت مصوب» است و در درصد رعایت "
           "مهلت شمرده نمی‌شود. در مراحل عضو (تکمیل اطلاعات، پرداخت) ساعت مهلت متوقف است. درخواستی که بیرون "
           "از ساعت اداری برسد، از آغاز روز کاری بعد شمرده می‌شود.")
for proc in PROCESSES.values():
    with st.expander(f"{proc.name_fa} — مهلت کل: {limit_fa(proc.total_limit_days)}", expanded=False):
        st.caption(proc.description_fa)
        rows = [{
            "ردیف": fa(i),
            "مرحله": s.name_fa,
            "اقدام‌کننده": role_label(s.role) if s.role else "عضو",
            "مهلت": limit_fa(s.limit_days) if s.clock_runs else "ساعت متوقف (نوبت عضو)",
            "شرطی": "بله" if s.optional else "",
            "فهرست بررسی": "؛ ".join(s.checklist),
        } for i, s in enumerate(proc.stages, start=1)]
        st.table(rows)
