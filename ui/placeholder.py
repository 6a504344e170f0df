"""A page that a later issue builds: it says what it will be."""
from __future__ import annotations

import streamlit as st


def coming(title: str, what: str, items: list[str]) -> None:
    st.title(title)
    st.info("این صفحه در مرحلهٔ بعدی ساخته می‌شود.", icon="🛠️")
    st.markdown(what)
    st.markdown("\n".join(f"- {i}" for i in items))
