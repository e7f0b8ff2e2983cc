"""Demo pictures drawn locally with Pillow: no photo is downloaded, none is of a real person.

A dream gets a colourful illustration (a gradient, soft shapes and the dreamer's initials);
its person gets a round portrait badge. Both are deterministic for a given seed.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def initials(name: str) -> str:
    """ "Jean-Pierre Vidal" → "JV": first and last capitalised words."""
    words = [w for w in name.split() if w[:1].isalpha()]
    named = [w for w in words if w[0].isupper()] or words
    if not named:
        return "?"
    return (named[0][0] + (named[-1][0] if len(named) > 1 else "")).upper()


def _gradient(size: tuple[int, int], start: str, end: str) -> Image.Image:
    width, height = size
    a, b = _rgb(start), _rgb(end)
    # A diagonal gradient: one row of colours, stretched and rotated, is fast to make.
    strip = Image.new("RGB", (256, 1))
    for x in range(256):
        strip.putpixel((x, 0), _mix(a, b, x / 255))
    side = int((width**2 + height**2) ** 0.5) + 2
    big = strip.resize((side, side)).rotate(-30, resample=Image.Resampling.BICUBIC)
    left, top = (side - width) // 2, (side - height) // 2
    return big.crop((left, top, left + width, top + height))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _jpeg(image: Image.Image) -> bytes:
    """JPEG: gradients compress well and encode fast (the storage re-encodes them anyway)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def illustration(
    name: str, colours: tuple[str, str], seed: str, size: tuple[int, int] = (960, 540)
) -> bytes:
    """A dream's picture: gradient, translucent circles and hills, the dreamer's initials."""
    rng = random.Random(seed)
    width, height = size
    image = _gradient(size, *colours).convert("RGBA")
    shapes = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    light, dark = _rgb(colours[0]), _rgb(colours[1])
    for _ in range(14):
        radius = rng.randint(height // 12, height // 3)
        x, y = rng.randint(-radius, width), rng.randint(-radius, height)
        tone = _mix(light, (255, 255, 255), rng.uniform(0.2, 0.8))
        draw.ellipse((x, y, x + radius * 2, y + radius * 2), fill=(*tone, rng.randint(40, 110)))
    for layer in range(3):
        base = height * (0.62 + 0.12 * layer)
        points = [(0, height)]
        for step in range(0, width + 80, 80):
            points.append((step, base + rng.uniform(-height * 0.06, height * 0.06)))
        points.append((width, height))
        shade = _mix(dark, (0, 0, 0), 0.15 * layer)
        draw.polygon(points, fill=(*shade, 150 + 30 * layer))
    shapes = shapes.filter(ImageFilter.GaussianBlur(2))
    image = Image.alpha_composite(image, shapes)
    text = initials(name)
    draw = ImageDraw.Draw(image)
    font = _font(height // 3)
    box = draw.textbbox((0, 0), text, font=font)
    tx = (width - (box[2] - box[0])) // 2 - box[0]
    ty = (height - (box[3] - box[1])) // 2 - box[1] - height // 10
    draw.text((tx + 6, ty + 6), text, font=font, fill=(0, 0, 0, 70))
    draw.text((tx, ty), text, font=font, fill=(255, 255, 255, 235))
    return _jpeg(image)


def portrait(name: str, colours: tuple[str, str], size: int = 320) -> bytes:
    """A person's badge: their initials on a round gradient."""
    disc = _gradient((size, size), colours[1], colours[0])
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), fill=255)
    image = Image.new("RGB", (size, size), (255, 255, 255))
    image.paste(disc, (0, 0), mask)
    draw = ImageDraw.Draw(image)
    font = _font(size // 3)
    text = initials(name)
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(
        ((size - (box[2] - box[0])) // 2 - box[0], (size - (box[3] - box[1])) // 2 - box[1]),
        text,
        font=font,
        fill=(255, 255, 255),
    )
    return _jpeg(image)
