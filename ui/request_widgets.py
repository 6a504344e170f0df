"""Read-only parts of the request screen, drawn from a `logic.request_view.RequestView`."""
from __future__ import annotations

import streamlit as st

from domain.text import fa_code
from domain.text import to_persian_digits as fa
from logic.request_view import MemberCard, RequestView, Sla
from ui.widgets import plain, sla_badge


def _badge(title: str, sla: Sla) -> str:
    text = sla.label + (f" — {sla.remaining_label}" if sla.remaining_label else "")
    return f"{title}: {sla_badge(sla.status, text)}"


def header(view: RequestView) -> None:
    h = view.header
    st.subheader(f"{h.type_name} — کد رهگیری {fa_code(h.tracking_code)}")
    c1, c2, c3, c4 = st.columns(4)
    c1.markdown(f"**مرحله**  \n{h.stage_name}")
    c2.markdown(f"**وضعیت**  \n{h.status_label}")
    c3.markdown(f"**در دست**  \n{h.assignee_name or 'برداشته نشده'}")
    c4.markdown(f"**نسخه**  \n{fa(h.version)}")
    st.markdown(f"{_badge('مهلت مرحله', h.stage_sla)} &nbsp; {_badge('مهلت کل درخواست', h.request_sla)}",
                unsafe_allow_html=True)


def member_card(m: MemberCard) -> None:
    with st.container(border=True):
        st.markdown(f"**عضو: {plain(m.full_name)}**")
        c1, c2, c3 = st.columns(3)
        c1.markdown(f"کد ملی: {fa_code(m.national_id)}  \nشمارهٔ عضویت: {fa_code(m.membership_no) if m.membership_no else '—'}")
        c2.markdown(f"رشته: {m.field_label}  \nپایه: {m.grade_label}")
        c3.markdown(f"اعتبار عضویت تا: {m.valid_until_fa}  \nوضعیت: {m.status_label} ({m.province_name})")
        if m.licences:
            st.markdown("پروانهٔ اشتغال معتبر:  \n" + "  \n".join(lic.summary for lic in m.licences))
        else:
            st.markdown("پروانهٔ اشتغال معتبر: ندارد")


def type_data(view: RequestView) -> None:
    if view.data:
        st.markdown("**اطلاعات درخواست**  \n" + "  \n".join(f"{label}: {plain(value)}" for label, value in view.data))


def documents_table(view: RequestView) -> None:
    st.dataframe(
        [{"شناسه": fa(d.id), "نوع مدرک": d.type_label, "عنوان": d.title or "", "نام فایل": d.file_name,
          "قالب": d.mime_label, "حجم": d.size_label, "بارگذاری": d.uploaded_at_fa,
          "الزامی": "بله" if d.required else "خیر", "نظر": d.verdict_label, "دلیل": d.verdict_reason or ""}
         for d in view.documents],
        hide_index=True, width="stretch", key="req-docs-table")


def timeline(view: RequestView) -> None:
    st.dataframe(
        [{"زمان": e.at_fa, "شخص": e.who, "اقدام": e.action_label, "از مرحله": e.from_stage or "",
          "به مرحله": e.to_stage or "", "توضیح": " — ".join(x for x in (e.reason, e.detail) if x)}
         for e in view.timeline],
        hide_index=True, width="stretch", key="req-timeline")
