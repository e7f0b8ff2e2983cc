"""Uploads: only real JPEG/PNG/WebP images are kept, re-encoded, and served back as images."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tontine import storage
from tontine.funding import FundingModel
from tontine.hookspecs import hookimpl
from tontine.storage import InvalidImage, save_image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30), **save: Any) -> bytes:
    out = io.BytesIO()
    mode = "L" if size[0] * size[1] > 1_000_000 else "RGB"
    Image.new(mode, size, 120 if mode == "L" else (200, 80, 20)).save(out, fmt, **save)
    return out.getvalue()


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def uploads(app: Any) -> list[Path]:
    root = Path(app.config["VAR_PATH"]) / "uploads"
    return sorted(p for p in root.glob("*") if not p.name.startswith(".")) if root.exists() else []


def test_a_png_is_stored_under_a_random_name_and_served_as_an_image(app, client):
    key = save_image(image_bytes("PNG"))
    assert storage.KEY_RE.match(key) and key.endswith(".png")
    assert save_image(image_bytes("PNG")) != key

    response = client.get(f"/media/{key}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert Image.open(io.BytesIO(response.data)).format == "PNG"


@pytest.mark.parametrize(
    ("fmt", "ext", "mimetype"), [("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp")]
)
def test_jpeg_and_webp_are_accepted(app, client, fmt, ext, mimetype):
    key = save_image(image_bytes(fmt))
    assert key.endswith(f".{ext}")
    assert client.get(f"/media/{key}").mimetype == mimetype


def test_metadata_is_stripped(app):
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}  # GPS
    original = image_bytes("JPEG", exif=exif.tobytes(), comment=b"my home address")
    assert b"secret description" in original
    key = save_image(original)
    stored = (Path(app.config["VAR_PATH"]) / "uploads" / key).read_bytes()
    assert b"secret description" not in stored and b"my home address" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()


@pytest.mark.parametrize(
    "data", [SVG, HTML, b"GIF89a" + b"\0" * 40, b"", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10]
)
def test_what_is_not_a_jpeg_png_or_webp_is_refused(app, data):
    with pytest.raises(InvalidImage):
        save_image(data)
    assert uploads(app) == []


def test_a_gif_is_refused_even_though_pillow_reads_it(app):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(InvalidImage, match="JPEG, PNG or WebP"):
        save_image(out.getvalue())


def test_a_truncated_image_is_refused(app):
    data = image_bytes("JPEG", size=(300, 300))
    with pytest.raises(InvalidImage):
        save_image(data[: len(data) // 2])
    assert uploads(app) == []


def test_too_many_bytes_or_pixels_are_refused(make_app):
    app = make_app(plugins=[], UPLOAD_MAX_BYTES=2000)
    with app.app_context():
        with pytest.raises(InvalidImage, match="too large"):
            save_image(image_bytes("PNG", size=(200, 200), compress_level=0))
        with pytest.raises(InvalidImage, match="too many pixels"):
            save_image(image_bytes("PNG", size=(12_000, 1)))
        assert uploads(app) == []


@pytest.mark.parametrize(
    "path",
    [
        "/media/0123456789abcdef0123456789abcdef.png",  # well formed, unknown
        "/media/secret_key",
        "/media/..%2Fsecret_key",
        "/media/%2E%2E%2Fvar%2Fsecret_key",
        "/media/0123456789abcdef0123456789abcdef.html",
        "/media/0123456789ABCDEF0123456789ABCDEF.png",
    ],
)
def test_unknown_or_malformed_keys_are_404(app, client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"-----BEGIN" not in response.data


class Giving(FundingModel):
    key = "giving"


class GivingPlugin:
    @hookimpl
    def register_funding_models(self) -> list[Any]:
        return [Giving()]


@pytest.mark.parametrize(("payload", "name"), [(SVG, "garden.png"), (HTML, "garden.jpg")])
def test_a_disguised_upload_is_refused_on_the_project_form(
    make_app, make_user, login, form_post, payload, name
):
    from sqlalchemy import func, select

    from tontine.db import db
    from tontine.projects.models import Project

    app = make_app(plugins=[], extra_plugins=[GivingPlugin()])
    with app.app_context():
        client = app.test_client()
        user = make_user(roles=("supporter", "project_owner"))
        login(client, user)
        data = {
            "title": "A garden on the roof",
            "story": "We grow vegetables.",
            "goal": "500",
            "duration_days": "30",
            "funding_model": "giving",
            "photo": (io.BytesIO(payload), name, "image/png"),
        }
        response = form_post(client, "/projects/new", data=data, content_type="multipart/form-data")
        assert response.status_code == 400
        assert "Upload a JPEG, PNG or WebP image." in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count()).select_from(Project)) == 0
        assert uploads(app) == []


def test_big_photos_are_scaled_down_and_keep_their_orientation(app):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotated 90° clockwise
    key = save_image(image_bytes("JPEG", size=(4000, 3000), exif=exif.tobytes()))
    stored = Image.open(Path(app.config["VAR_PATH"]) / "uploads" / key)
    assert stored.size == (1800, 2400)  # turned upright, fits the 2400 px box
