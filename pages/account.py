"""Everyone's own account: change password (which ends every session of the account)."""
import streamlit as st

from domain.text import ltr
from domain.text import to_persian_digits as fa
from logic import staff as svc
from ui.session import engine, require_page
from ui.widgets import run_action, show_flash

actor = require_page(__file__)
st.title("حساب کاربری")
show_flash()
st.markdown(f"**{actor.full_name}** ({ltr(actor.username)}) — {actor.roles_label} — {actor.province_label}")

st.subheader("تغییر گذرواژه")
old = st.text_input("گذرواژهٔ فعلی", type="password", key="account-old")
new = st.text_input("گذرواژهٔ تازه", type="password", key="account-new",
                    help=f"دست‌کم {fa(svc.MIN_PASSWORD_CHARS)} نویسه و حداکثر {fa(svc.MAX_PASSWORD_BYTES)} بایت")
again = st.text_input("تکرار گذرواژهٔ تازه", type="password", key="account-again")


def change() -> None:
    if new != again:
        st.session_state["flash"] = ("error", "گذرواژهٔ تازه و تکرار آن یکسان نیست.")
        return
    run_action(svc.change_own_password, engine(), actor, old, new,
               success="گذرواژه تغییر کرد. همهٔ نشست‌ها پایان یافت؛ دوباره وارد شوید.")


st.button("تغییر گذرواژه", key="account-change", type="primary", on_click=change)
