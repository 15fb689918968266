"""Catalog artwork drawn locally with Pillow, so the demo needs nothing from the network."""

import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FULL_SIZE = (1600, 1200)
PREVIEW_SIZE = (400, 300)


def _palette(rng: random.Random) -> list[tuple[int, int, int]]:
    base = rng.random()
    colours = []
    for step in range(4):
        hue = (base + step * 0.18) % 1.0
        image = Image.new("HSV", (1, 1), (int(hue * 255), 150 + rng.randint(0, 80), 140 + rng.randint(0, 100)))
        colours.append(image.convert("RGB").getpixel((0, 0)))
    return colours


def draw_artwork(seed: str) -> Image.Image:
    """A deterministic abstract picture for ``seed``: a gradient sky with layered shapes."""
    rng = random.Random(seed)
    width, height = FULL_SIZE
    top, bottom, *accents = _palette(rng)
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", FULL_SIZE, bottom), Image.new("RGB", FULL_SIZE, top), gradient)
    layer = Image.new("RGBA", FULL_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(14):
        colour = (*rng.choice(accents), rng.randint(60, 170))
        x, y, radius = rng.randint(0, width), rng.randint(0, height), rng.randint(60, 420)
        if rng.random() < 0.6:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
        else:
            draw.polygon([(x, y), (x + radius, y + rng.randint(-radius, radius)), (x - radius // 2, y + radius)],
                         fill=colour)
    layer = layer.filter(ImageFilter.GaussianBlur(3))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def artwork_files(seed: str, title: str) -> tuple[bytes, bytes]:
    """(full-size JPEG, watermarked preview JPEG) for a product."""
    full = draw_artwork(seed)
    preview = full.resize(PREVIEW_SIZE, Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(preview)
    font = ImageFont.load_default(size=22)
    draw.text((12, PREVIEW_SIZE[1] - 36), f"{title} · preview", fill=(255, 255, 255), font=font,
              stroke_width=2, stroke_fill=(0, 0, 0))
    return _jpeg(full, 90), _jpeg(preview, 80)
