"""The public statistics page (no login): the board's published releases, frozen as approved.

It reads only published snapshots (aggregates after small-cell suppression) and links nowhere else;
app.py registers it at /public for visitors who are not signed in."""
import pandas as pd
import streamlit as st

from domain.jalali import format_jalali_date
from domain.reference import PROVINCE_NAMES_FA
from domain.text import to_persian_digits as fa
from logic import releases as rel
from ui import freshness
from ui.boot import leave_legacy_pages_mode
from ui.release_view import prerendered, show_snapshot
from ui.session import engine, read

leave_legacy_pages_mode()

st.title("آمار منتشرشدهٔ سازمان نظام مهندسی ساختمان")
st.caption("آماری که هیأت مدیرهٔ سازمان استان (یا سازمان مرکزی برای همهٔ استان‌ها) تهیه، با تأیید عضو دیگری از "
           "هیأت مدیره منتشر کرده است. عددهای هر انتشار پس از انتشار تغییر نمی‌کنند؛ اصلاح هر انتشار، انتشار "
           "تازه‌ای است و هر دو در این فهرست می‌مانند. برای حفظ محرمانگی، تعدادهای ۱ تا ۴ (جمع‌ها هم) نشان داده "
           "نمی‌شوند و همهٔ خانه‌های پنهان یک نشان دارند: «×».")

provinces, fresh = read(rel.published_provinces)
freshness.caption(fresh)
options = ["all"] + [rel.NATIONAL if p is None else p for p in provinces]
labels = {"all": "همه", rel.NATIONAL: rel.NATIONAL_FA + " (سراسری)", **PROVINCE_NAMES_FA}
scope = st.selectbox("استان", options, format_func=labels.get, key="public-province", placeholder="یکی را برگزینید")

releases, fresh = read(lambda session: rel.published_releases(session, None if scope == "all" else scope), fresh)
if not releases:
    st.info("هنوز آماری منتشر نشده است.")
    st.stop()



st.table(pd.DataFrame([{"شماره": fa(r.id), "عنوان": r.title, "استان": r.province, "دوره": r.period,
                        "تاریخ انتشار": format_jalali_date(r.published_at), "وضعیت": r.status_fa}
                       for r in releases]), hide_index=True)

by_id = {r.id: r for r in releases}
asked = st.query_params.get("release", "")
ids = list(by_id)
index = ids.index(int(asked)) if asked.isdigit() and int(asked) in by_id else 0
chosen = st.selectbox("انتشار", ids, index=index, key="public-release", format_func=lambda i, d=by_id: d[i].label, placeholder="یکی را برگزینید")
st.query_params["release"] = str(chosen)
release = by_id[chosen]

st.header(release.title)
st.caption(f"{release.province}، {release.period}؛ منتشرشده در {format_jalali_date(release.published_at)}")
if release.superseded_by_id is not None:
    st.warning(f"این انتشار با انتشار شمارهٔ {fa(release.superseded_by_id)} («{release.superseded_by_title}») در "
               f"{format_jalali_date(release.superseded_at)} اصلاح شده است؛ هر دو برای شفافیت دیده می‌شوند.")
if release.supersedes_id is not None:
    st.info(f"این انتشار اصلاحیهٔ انتشار شمارهٔ {fa(release.supersedes_id)} («{release.supersedes_title}») است.")

# Frozen at publication: rendered once per app process and release, and served from there.
snapshot, shown = prerendered(engine().url.render_as_string(hide_password=True), release.id,
                              release.published_at.isoformat(),
                              lambda: read(lambda session: rel.published_snapshot(session, release.id), fresh)[0])
show_snapshot(snapshot, key=f"public-{release.id}", release_id=release.id, heading=False, shown=shown)
