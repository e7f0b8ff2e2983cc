"""Demo portraits: a warm background, a simple figure and the borrower's initial (Pillow).

Real loans carry the photo the partner uploads with the borrower's consent; the demo draws
one so that its pages look like a real site without shipping anyone's picture.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw

PALETTES = (
    ((244, 162, 97), (231, 111, 81)),
    ((42, 157, 143), (38, 70, 83)),
    ((233, 196, 106), (244, 162, 97)),
    ((129, 178, 154), (61, 64, 91)),
    ((224, 122, 95), (61, 64, 91)),
)


def portrait(name: str, size: tuple[int, int] = (640, 480)) -> bytes:
    """A PNG for ``name``; the same name always gives the same picture."""
    digest = hashlib.sha256(name.encode()).digest()
    top, bottom = PALETTES[digest[0] % len(PALETTES)]
    width, height = size
    image = Image.new("RGB", size, top)
    draw = ImageDraw.Draw(image)
    for y in range(height):  # vertical gradient
        t = y / height
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    skin = (120 + digest[1] % 80, 80 + digest[2] % 60, 50 + digest[3] % 40)
    cx = width // 2
    draw.ellipse([cx - 70, 110, cx + 70, 250], fill=skin)  # head
    draw.pieslice([cx - 170, 270, cx + 170, 610], 180, 360, fill=(250, 250, 245))  # shoulders
    draw.text((24, 20), name[:1].upper(), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
