"""The screen copy of a large scanned image: at most PREVIEW_MAX_SIDE pixels on its long side, made
once per stored file (`blob_preview`) and shown instead of the original, which only the download
button sends. Decoding a 40-megapixel scan takes seconds and hundreds of MB; its copy, milliseconds."""
from __future__ import annotations

import io
import warnings

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from db.models import BlobPreview

# The zoom slider of the document viewer goes up to 1,600 pixels wide: a larger copy shows nothing more.
PREVIEW_MAX_SIDE = 1600


def make_preview(data: bytes, mime: str) -> tuple[bytes, str, int, int] | None:
    """(bytes, mime, width, height) of the screen copy, or None when the image is small enough to
    be shown as it is (or cannot be read: the upload checks already refuse such files)."""
    from PIL import Image  # Streamlit depends on Pillow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                if max(im.size) <= PREVIEW_MAX_SIDE:
                    return None
                im.draft("RGB", (PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))  # JPEG: decode at a reduced scale
                im.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
                out = io.BytesIO()
                if mime == "image/png":  # drawings and text stay sharp
                    im.save(out, "PNG", optimize=True)
                else:
                    im.convert("RGB").save(out, "JPEG", quality=85)
                return out.getvalue(), mime, im.width, im.height
    except Exception:  # noqa: BLE001 - an unreadable image is shown (or refused) as it is
        return None


def store_preview(s: Session, sha256: str, data: bytes, mime: str) -> bytes | None:
    """Make and keep the copy of a stored file if it needs one; returns its bytes."""
    made = make_preview(data, mime)
    if made is None:
        return None
    content, kind, width, height = made
    s.execute(pg_insert(BlobPreview).values(sha256=sha256, mime=kind, width=width, height=height, content=content)
              .on_conflict_do_nothing(index_elements=[BlobPreview.sha256]))
    return content


def screen_copy(s: Session, sha256: str, data: bytes, mime: str) -> bytes:
    """What the viewer shows: the kept copy, or one made now for a file stored before copies were
    made (or by the demo loader), or the original when it is small."""
    if not mime.startswith("image/"):
        return data
    kept = s.scalar(sa.select(BlobPreview.content).where(BlobPreview.sha256 == sha256))
    if kept is not None:
        return bytes(kept)
    return store_preview(s, sha256, data, mime) or data
