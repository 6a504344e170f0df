"""The request screen: everything needed to decide on one request, and the decision itself.

All data comes from logic.request_view.load_request; every button is an on_click callback that
calls one service through ui.widgets.run_action. Callbacks read the form from session state (the
values of this click), and the version from the run that drew the button (the version the user saw),
so a change by someone else in between is reported as stale instead of being overwritten.
"""
import streamlit as st

from domain.errors import DomainError, StaleRequest
from domain.jalali import now_tehran
from domain.outcomes import GRANTABLE_RANKS
from domain.processes import StageKind
from domain.text import fa_code, normalize_digits_only
from domain.text import to_persian_digits as fa
from logic import documents as docs
from logic import queue as q
from logic import workflow as wf
from logic.documents import VERDICT_LABELS_FA
from logic.request_view import load_request
from ui import request_widgets as widgets
from ui.document_viewer import show_document
from ui.fee_form import render_fee_form
from ui.session import db_session, engine, first_view, require_page, viewed
from ui.widgets import long_text, run_action, show_flash

ACTION_LABELS = {"approve": "تأیید و ارسال به مرحلهٔ بعد", "reject": "رد درخواست",
                 "return": "بازگشت به عضو برای اصلاح", "complete": "صدور انجام شد"}
COMMITTEE_LABELS = {"approve": "اعطای صلاحیت", "reject": "عدم اعطای صلاحیت"}
FORM_KEYS = ("req-reason", "req-confirm", "req-doc-reason", "req-refer", "req-granted-rank", "req-check-all")

actor = require_page(__file__)
st.title("پروندهٔ درخواست")

# A code in the URL (?code=..., e.g. a link from the queue) fills the search box once; after that
# the box leads and the URL follows it, so a reload or a shared link opens the same request.
# Streamlit forgets the box's value after a run of another page, so an empty box is filled again.
url_code = st.query_params.get("code", "")
if url_code and (url_code != st.session_state.get("req-url-code") or not st.session_state.get("req-code")):
    st.session_state["req-url-code"] = st.session_state["req-code"] = url_code
code = normalize_digits_only(st.text_input("کد رهگیری درخواست", key="req-code", placeholder="۰۵۰۸۰۰۰۰۰۰۰۱"))
if not code:
    st.info("کد رهگیری درخواست را وارد کنید.")
    st.stop()
st.query_params["code"] = st.session_state["req-url-code"] = code

try:
    with db_session() as session:
        view = load_request(session, actor, code, now_tehran())
except DomainError as exc:  # unknown, or another province's: the same message either way
    st.error(exc.message)
    st.stop()

# A form belongs to one request at one stage: ticks and reasons must not carry over to the next.
form_for = (view.request_id, view.header.stage_code, view.header.status)
if st.session_state.get("req-form-for") != form_for:
    for key in [k for k in st.session_state if str(k).startswith("req-check-")] + list(FORM_KEYS):
        st.session_state.pop(key, None)
    if st.session_state.get("req-form-for", (None,))[0] != view.request_id:
        st.session_state.pop("req-doc-pick", None)
        st.session_state.pop("req-stale", None)
    st.session_state["req-form-for"] = form_for


def _unless_stale(service):
    """Run `service`; a stale version is kept aside for its own message and reload button."""
    def call(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except StaleRequest as exc:
            st.session_state["req-stale"] = exc.message
            return None
    return call


def _act(action: str, request_id: int, version: int, kind: StageKind, checks: int) -> None:
    state = st.session_state
    if not state.get("req-confirm"):
        state["flash"] = ("error", "برای انجام این اقدام، ابتدا «تأیید می‌کنم» را تیک بزنید.")
        return
    reason = state.get("req-reason") or ""
    ticks = [bool(state.get("req-check-all")) or bool(state.get(f"req-check-{i}")) for i in range(checks)]
    committee = kind is StageKind.COMMITTEE
    if action == "approve" and committee:
        call = (wf.committee_decision, dict(granted=True, reason=reason or None, checklist=ticks))
    elif action == "approve":
        call = (wf.approve, dict(checklist=ticks, note=reason or None, refer=bool(state.get("req-refer")),
                                 granted_rank=state.get("req-granted-rank")))
    elif action == "reject" and committee:
        call = (wf.committee_decision, dict(granted=False, reason=reason))
    elif action == "reject":
        call = (wf.reject, dict(reason=reason))
    elif action == "return":
        call = (wf.return_for_correction, dict(reason=reason))
    else:
        call = (wf.complete, {})
    if run_action(_unless_stale(call[0]), engine(), actor, request_id, version, **call[1]) is not None:
        state["req-reason"], state["req-confirm"] = "", False


def _take(request_id: int, version: int) -> None:
    run_action(_unless_stale(wf.claim), engine(), actor, request_id, version)


def _reload() -> None:
    st.session_state.pop("req-stale", None)
    st.session_state.pop("req-form-for", None)  # start the form afresh on the current version


def _verdict() -> None:
    state = st.session_state
    if run_action(docs.set_verdict, engine(), actor, state.get("req-doc-pick"),
                  state.get("req-doc-verdict-choice"), state.get("req-doc-reason")) is not None:
        state["req-doc-reason"] = ""


def _comment(request_id: int) -> None:
    text = st.session_state.get("req-comment") or ""
    if run_action(lambda: wf.comment(engine(), actor, request_id, text) or True, success="یادداشت ثبت شد."):
        st.session_state["req-comment"] = ""


def _step_document(ids: list[int], step: int) -> None:
    """Previous / next document (the list is in the screen's order; it wraps around)."""
    state = st.session_state
    here = ids.index(state["req-doc-pick"]) if state.get("req-doc-pick") in ids else 0
    state["req-doc-pick"] = ids[(here + step) % len(ids)]


def _act_and_next(request_id: int, version: int, kind: StageKind, checks: int) -> None:
    """«ثبت و کار بعدی»: the approval, then the next most urgent task opens here, in this tab."""
    before = st.session_state.get("flash")
    _act("approve", request_id, version, kind, checks)
    flash = st.session_state.get("flash")
    if st.session_state.get("req-stale") or flash is before or (flash and flash[0] != "success"):
        return  # refused or stale: stay on this request with its message
    nxt = run_action(q.next_after, engine(), actor, done=request_id, success=None)
    if nxt is not None:
        st.session_state["req-code"] = nxt.tracking_code
        st.session_state["flash"] = ("success", f"{flash[1]} پروندهٔ بعدی: {fa_code(nxt.tracking_code)}")
    elif st.session_state.get("flash", (None,))[0] != "error":
        st.session_state["flash"] = ("success", f"{flash[1]} کار دیگری در کارتابل شما نیست.")


from domain.reference import DOCUMENT_TYPES_FA  # noqa: E402
from logic.uploads import UPLOADER_ROLES, store_document  # noqa: E402


def _upload(request_id: int) -> None:
    """Adding a document (a scan the member brought to the office)."""
    state = st.session_state
    file = state.get("req-upload")
    if file is None:
        state["flash"] = ("error", "ابتدا فایل مدرک را انتخاب کنید.")
    elif state.get("req-upload-done") == (request_id, file.file_id):
        state["flash"] = ("error", "این فایل همین حالا بارگذاری شد؛ برای مدرک دیگر فایل دیگری انتخاب کنید.")
    elif run_action(store_document, engine(), actor, request_id=request_id, doc_type=state.get("req-upload-type"),
                    file_name=file.name, data=file.getvalue(), success="مدرک بارگذاری شد.") is not None:
        state["req-upload-done"] = (request_id, file.file_id)


show_flash()
widgets.header(view)
perm = view.permission

# Two panes: the documents on one side, the decision on the other, which stays in view while the
# documents scroll (ui/theme.py makes the `req-panel` container sticky).
docs_pane, decision_pane = st.columns([3, 2], gap="medium")

with docs_pane:
    st.subheader("مدارک")
    if view.documents:
        by_id = {d.id: d for d in view.documents}
        ids = list(by_id)
        d1, d2, d3 = st.columns([6, 1, 1], vertical_alignment="bottom")
        pick = d1.selectbox("مدرک برای نمایش", ids, key="req-doc-pick",
                            format_func=lambda i: f"{fa(ids.index(i) + 1)} از {fa(len(ids))}: {by_id[i].type_label} — "
                                                  f"{by_id[i].file_name}", placeholder="یکی را برگزینید")
        d2.button("قبلی", key="req-doc-prev", on_click=_step_document, args=(ids, -1), disabled=len(ids) < 2,
                  icon=":material/arrow_forward:", width="stretch")
        d3.button("بعدی", key="req-doc-next", on_click=_step_document, args=(ids, 1), disabled=len(ids) < 2,
                  icon=":material/arrow_back:", width="stretch")
        try:
            with db_session() as session:
                meta, content = docs.read_document(session, actor, pick, audit=first_view("document", pick))
                shown = docs.screen_copy(session, meta, content)
            viewed("document", pick)
            show_document(meta, content, shown)
        except DomainError as exc:
            st.error(exc.message)
        if perm.may_act:
            with st.container(border=True):
                st.radio("نظر دربارهٔ این مدرک", ["accepted", "rejected"], key="req-doc-verdict-choice",
                         format_func=VERDICT_LABELS_FA.get, horizontal=True)
                long_text("دلیل رد مدرک (برای رد الزامی است)", "req-doc-reason", area=False)
                st.button("ثبت نظر دربارهٔ مدرک", key="req-doc-verdict", on_click=_verdict)
        with st.expander("فهرست همهٔ مدارک"):
            widgets.documents_table(view)
    else:
        st.info("مدرکی برای این درخواست بارگذاری نشده است.")

with decision_pane, st.container(key="req-panel"):
    widgets.member_card(view.member)
    widgets.type_data(view)
    st.subheader("بررسی و اقدام")
    if st.session_state.get("req-stale"):
        st.error(st.session_state["req-stale"])
        st.button("بارگذاری دوباره", key="req-reload", on_click=_reload, type="primary")
    elif not perm.may_act:
        st.info(perm.reason)
    else:
        if perm.may_claim:
            st.button("برداشتن کار", key="req-claim", on_click=_take, args=(view.request_id, view.version))
        if view.header.stage_kind is StageKind.FEE:
            render_fee_form(actor, view.request_id)
        checks = len(view.checklist)
        # One box for the whole list: while it is ticked the items are shown done, not as boxes of their
        # own (boxes ticked by a callback could be unticked again by a click sent before the browser
        # saw them change).
        if checks > 1 and st.checkbox("همهٔ موارد فهرست بررسی شد", key="req-check-all"):
            st.markdown("\n".join(f"- ✓ {item}" for item in view.checklist))
            ticks = [True] * checks
        else:
            ticks = [st.checkbox(item, key=f"req-check-{i}") for i, item in enumerate(view.checklist)]
        # A guard rail: approving for a member who is no longer a member in good standing here (a
        # renewal of a lapsed membership is what renewals are for).
        lapsed_renewal = view.member.status == "lapsed" and view.header.type_code == "membership_renewal"
        if view.member.status in ("lapsed", "transferred", "resigned", "expelled") and not lapsed_renewal:
            st.warning(f"وضعیت عضویت این عضو «{view.member.status_label}» است؛ پیش از تأیید آن را بررسی کنید.")
        rejected = view.rejected_required_documents
        if rejected:
            st.warning("مدرک الزامی ردشده دارد: " + "، ".join(d.type_label for d in rejected)
                       + ". درخواست را رد کنید یا برای اصلاح به عضو بازگردانید.")
        long_text("دلیل (برای رد یا بازگشت الزامی است؛ برای تأیید، یادداشت اختیاری)", "req-reason")
        if perm.refer_to:
            st.checkbox(f"ارجاع به «{perm.refer_to}» همراه با تأیید", key="req-refer")
        if perm.grants_by_points:  # seed 002, note 2: the top ranks' conditions not met, the rank the points give
            st.selectbox("رتبهٔ اعطایی", [None, *GRANTABLE_RANKS], key="req-granted-rank",
                         format_func=lambda r: "رتبهٔ درخواستی (شرایط دو رتبهٔ نهایی احراز شد)" if r is None
                         else f"رتبهٔ {fa(r)} بر اساس امتیاز کسب‌شده", placeholder="یکی را برگزینید")
        st.checkbox("تأیید می‌کنم", key="req-confirm")
        labels = {**ACTION_LABELS, **(COMMITTEE_LABELS if view.header.stage_kind is StageKind.COMMITTEE else {})}
        blocked = not all(ticks) or bool(rejected)
        args = (view.request_id, view.version, view.header.stage_kind, checks)
        if "approve" in perm.actions and view.header.stage_kind is not StageKind.COMMITTEE and q.takes_work(actor):
            st.button("ثبت تأیید و کار بعدی", key="req-approve-next", on_click=_act_and_next, args=args,
                      type="primary", disabled=blocked, icon=":material/skip_next:", width="stretch",
                      help="تأیید این درخواست و باز کردن فوری‌ترین کار بعدی شما در همین صفحه")
        for column, action in zip(st.columns(len(perm.actions)), perm.actions):
            column.button(labels[action], key=f"req-{action}", on_click=_act, args=(action, *args),
                          type="primary" if action in ("approve", "complete") else "secondary",
                          disabled=action == "approve" and blocked)

history, notes, upload = st.tabs(["تاریخچه", "یادداشت روی پرونده", "بارگذاری مدرک"])
with history:
    widgets.timeline(view)
with notes:
    long_text("یادداشت روی پرونده", "req-comment")
    st.button("افزودن یادداشت", key="req-comment-add", on_click=_comment, args=(view.request_id,))
with upload:
    if actor.has(*UPLOADER_ROLES) and view.header.status in ("open", "returned"):
        st.selectbox("نوع مدرک", list(DOCUMENT_TYPES_FA), format_func=DOCUMENT_TYPES_FA.get, key="req-upload-type",
                     placeholder="یکی را برگزینید")
        st.file_uploader("فایل PDF، JPEG یا PNG (حداکثر ۵ مگابایت؛ نوع فایل از محتوای آن تشخیص داده می‌شود)",
                         type=["pdf", "jpg", "jpeg", "png"], key="req-upload")
        st.button("بارگذاری", key="req-upload-add", on_click=_upload, args=(view.request_id,))
    else:
        st.caption("افزودن مدرک برای کارشناسان بررسی‌کننده و تا وقتی درخواست باز است ممکن است.")
