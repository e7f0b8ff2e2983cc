"""Uploads: one storage interface, images checked and re-encoded before they are kept.

An upload is never trusted: ``save_image`` decodes it with Pillow (not by its name or the
client's content type), refuses anything that is not a JPEG, PNG or WebP of sane size, and
re-encodes the pixels so that metadata (EXIF, GPS, comments) and anything smuggled after the
image data are dropped. The file is stored under a random name; the ``media`` blueprint serves
it back as an image only (``nosniff``, inline, never HTML).

``storage()`` is the one place that picks the implementation: today ``LocalStorage`` under
``<VAR_PATH>/uploads``; an object store for several nodes can replace it there.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import tempfile
import warnings
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Blueprint, abort, current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from tontine.errors import DomainError

#: Pillow format → (file extension, served content type).
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {ext: ctype for ext, ctype in FORMATS.values()}
KEY_RE = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
#: Largest accepted image: a side and the total pixel count (decompression bombs).
MAX_SIDE = 10_000
MAX_PIXELS = 30_000_000
#: Stored images are scaled down to fit this box: enough for any page or share card.
STORED_SIDE = 2400
ONE_YEAR = 365 * 24 * 3600


class InvalidImage(DomainError):
    """The upload is not an image we accept; the message tells the user what to send."""

    def __init__(self, message: str):
        super().__init__(message, field="photo", status=400)


class Storage(Protocol):
    """Where uploaded files live; keys are generated names (``KEY_RE``), never user input."""

    def save(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> BinaryIO | None: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files in one directory on this machine (the default, one node)."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        if not KEY_RE.match(key):
            raise ValueError(f"malformed storage key {key!r}")
        return self.root / key

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # readers never see a half-written file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO | None:
        try:
            return self._path(key).open("rb")
        except (ValueError, OSError):
            return None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except ValueError:
            pass


def storage() -> Storage:
    """The current app's storage (the one place to swap in an object store)."""
    found = current_app.extensions.get("tontine.storage")
    if found is None:
        found = LocalStorage(Path(current_app.config["VAR_PATH"]) / "uploads")
        current_app.extensions["tontine.storage"] = found
    return found


def clean_image(data: bytes) -> tuple[bytes, str]:
    """Decode, check and re-encode an image; returns (clean bytes, extension)."""
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    if not data:
        raise InvalidImage(_("The file is empty."))
    if len(data) > limit:
        raise InvalidImage(
            _("The image is too large (at most %(size)s MB).", size=round(limit / 1024 / 1024, 1))
        )
    refused = _("Upload a JPEG, PNG or WebP image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if fmt not in FORMATS:
                    raise InvalidImage(refused)
                if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                    raise InvalidImage(_("The image has too many pixels."))
                probe.verify()  # structure and checksums, before decoding the pixels
            with Image.open(io.BytesIO(data)) as image:
                if fmt == "JPEG":
                    image.draft("RGB", (STORED_SIDE, STORED_SIDE))  # decode big photos small
                image.load()
                image = ImageOps.exif_transpose(image)  # keep the orientation, drop the EXIF
                if max(image.size) > STORED_SIDE:
                    image.thumbnail((STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)
                return _encode(image, fmt), FORMATS[fmt][0]
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage(refused) from None
    except (OSError, ValueError, SyntaxError, EOFError):  # truncated or corrupt data
        raise InvalidImage(_("This image is damaged; try another file.")) from None


def _encode(image: Image.Image, fmt: str) -> bytes:
    # Pillow re-writes what it finds in ``info`` (comments, EXIF, XMP): keep only the colours.
    icc = image.info.get("icc_profile")
    image.info = {"icc_profile": icc} if icc else {}
    out = io.BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=88, optimize=True)
    elif fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "WEBP", quality=85)
    return out.getvalue()


def save_image(data: bytes) -> str:
    """Store an uploaded image (checked and re-encoded) under a random name; return its key."""
    clean, ext = clean_image(data)
    key = f"{secrets.token_hex(16)}.{ext}"
    storage().save(key, clean)
    return key


def delete(key: str | None) -> None:
    """Forget a stored file (e.g. when the form that uploaded it was refused)."""
    if key:
        storage().delete(key)


# --- Serving ------------------------------------------------------------------------------

media = Blueprint("media", __name__)


@media.get("/media/<key>")
def file(key: str):  # type: ignore[no-untyped-def]
    """Serve a stored image as an image: never sniffed, never rendered as a page."""
    if not KEY_RE.match(key):
        abort(404)
    handle = storage().open(key)
    if handle is None:
        abort(404)
    response = send_file(
        handle,
        mimetype=CONTENT_TYPES[key.rsplit(".", 1)[1]],
        download_name=key,
        as_attachment=False,
        etag=key,
        max_age=ONE_YEAR,
        conditional=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f"inline; filename={key}"
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
