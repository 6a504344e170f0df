"""Shows one document: images with a zoom slider, PDFs inline, and a download button for both.

`st.pdf` in Streamlit 1.67 only renders when the optional `streamlit-pdf` component is installed
(`streamlit[pdf]`); without it, it shows a warning instead of the file. So the viewer uses it when
the component is there, and otherwise hands the PDF to the browser's own viewer in an <iframe>:
- `st.iframe` cannot do it: Streamlit always sandboxes that iframe, and Chromium refuses to show
  PDFs in sandboxed frames (a grey "sad page");
- `st.html` and `st.markdown` pass through DOMPurify, which drops <iframe>, <embed> and <object>;
- so a small script in `st.html(..., unsafe_allow_javascript=True)` builds the iframe from a blob
  URL. The script is ours and the only data in it is base64 text, which cannot break out of it.
"""
from __future__ import annotations

import base64
import importlib.util
import json

import streamlit as st

from domain.text import to_persian_digits as fa
from logic.documents import DocumentInfo
from ui.theme import right_to_left_browser
from ui.widgets import plain

PDF_HEIGHT = 720
# Above this, sending the file inline makes the page heavy; the download button still works.
INLINE_PDF_LIMIT = 10 * 1024 * 1024
ZOOM_MIN, ZOOM_MAX, ZOOM_DEFAULT, ZOOM_STEP = 200, 1600, 700, 50

_PDF_FRAME = """<div id="{box}"></div>
<script>
(() => {{
  const bytes = Uint8Array.from(atob("{data}"), c => c.charCodeAt(0));
  const frame = document.createElement("iframe");
  frame.src = URL.createObjectURL(new Blob([bytes], {{type: "application/pdf"}}));
  frame.title = {title};
  frame.style.cssText = "width:100%;height:{height}px;border:1px solid #d0d4da;border-radius:.5rem";
  document.getElementById("{box}").replaceChildren(frame);
}})();
</script>"""


def _has_pdf_component() -> bool:
    return importlib.util.find_spec("streamlit_pdf") is not None


def _show_image(doc: DocumentInfo, content: bytes) -> None:
    # A select slider, for its Persian-digit labels (st.slider prints Latin ones).
    widths = list(range(ZOOM_MIN, ZOOM_MAX + 1, ZOOM_STEP))
    if right_to_left_browser():
        # The slider widget lays its values out by the browser's language: in a Persian browser the
        # first value sits at the right and → steps back toward it. Listed largest first, moving
        # right (or pressing →) makes the image larger there too.
        widths.reverse()
    width = st.select_slider("بزرگ‌نمایی (عرض به پیکسل)", widths, value=ZOOM_DEFAULT, format_func=fa,
                             key=f"doc-zoom-{doc.id}")
    try:
        # Keep the scan's own format: "auto" would re-encode an RGB PNG as a lossy JPEG.
        st.image(content, width=width, caption=doc.file_name,
                 output_format="PNG" if doc.mime == "image/png" else "JPEG")
    except Exception:  # noqa: BLE001 - a damaged upload must not break the whole request screen
        st.warning("نمایش این تصویر ممکن نیست؛ فایل را دریافت کنید و با نرم‌افزار دیگری باز کنید.")


def _show_pdf(doc: DocumentInfo, content: bytes) -> None:
    if _has_pdf_component():
        st.pdf(content, height=PDF_HEIGHT, key=f"doc-pdf-{doc.id}", alt=doc.type_label)
    elif len(content) <= INLINE_PDF_LIMIT:
        title = json.dumps(doc.type_label).replace("<", "\\u003c")  # a JS string that cannot close <script>
        st.html(_PDF_FRAME.format(box=f"pdf-{doc.id}", data=base64.b64encode(content).decode("ascii"), title=title,
                                  height=PDF_HEIGHT), unsafe_allow_javascript=True)
    else:
        st.info("این فایل برای نمایش در صفحه بزرگ است؛ آن را دریافت کنید.")


def show_document(doc: DocumentInfo, content: bytes, shown: bytes | None = None) -> None:
    """The document's bytes (already checked against their sha256 by logic.documents.read_document);
    `shown`, a large image's screen copy (logic.documents.screen_copy), is displayed in their place
    while the download sends the original."""
    st.markdown(f"**{doc.type_label}**{' — ' + plain(doc.title) if doc.title else ''}")
    # Persian labels between the parts keep a Latin file name from reordering the line (bidi).
    st.caption(f"نام فایل: {plain(doc.file_name)} — قالب: {doc.mime_label} — حجم: {doc.size_label}")
    if doc.is_image:
        _show_image(doc, shown or content)
    elif doc.is_pdf:
        _show_pdf(doc, content)
    # Downloading needs no rerun: "ignore" keeps the page (and its ticked checklist) as it is.
    st.download_button("دریافت فایل", content, file_name=doc.file_name, mime=doc.mime, key=f"doc-download-{doc.id}",
                       on_click="ignore", icon=":material/download:")
