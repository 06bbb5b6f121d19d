"""Synthetic product photos and the edits a 职业退货 makes to reuse one (shared by tests and benchmarks/fraud.py).

A product is a seeded look (body shape, colours, printed label, stripes). A shot is one camera's picture of it:
its own background (a table or floor colour, grain, a few other objects on it), the product at its own place,
size and tilt, its own light and sensor noise. Two shots of one product therefore look alike (same object, same
colours, similar framing) and are still different pictures, as two shoppers' photos of the same damaged pen are.
`EDITS` are what reuse looks like: the same picture cropped, resized, re-compressed, turned a few degrees,
brightened or darkened, or screenshotted inside a phone's chat UI.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

SIZE = (480, 360)
# Tables and floors photos are taken on: white, beige, light and dark wood, grey, black.
TABLES = ((235, 235, 230), (225, 210, 180), (190, 150, 105), (120, 80, 50), (150, 150, 150), (40, 40, 42))


def _colour(rng: random.Random, lo: int = 30, hi: int = 230) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def product_image(product: int, side: int = 240) -> Image.Image:
    """The product as it looks from the front, on a transparent sheet: the same for every shot of it."""
    rng = random.Random(f"product-{product}")
    img = Image.new("RGB", (side, side), (0, 0, 0))
    mask = Image.new("L", (side, side), 0)
    draw, outline = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    body, label, ink = _colour(rng), _colour(rng, 150, 255), _colour(rng, 0, 90)
    shape = rng.choice(("box", "bottle", "pen"))
    if shape == "box":
        box = (side * 0.12, side * 0.18, side * 0.88, side * 0.82)
        lid = [(box[0], box[1]), (box[0] + 20, box[1] - 18), (box[2] + 20, box[1] - 18), (box[2], box[1])]
        for pen, fill in ((draw, body), (outline, 255)):
            pen.rectangle(box, fill=fill)
        draw.polygon(lid, fill=tuple(max(0, c - 40) for c in body))
        outline.polygon(lid, fill=255)
    elif shape == "bottle":
        for pen, fill, cap in ((draw, body, ink), (outline, 255, 255)):
            pen.ellipse((side * 0.25, side * 0.1, side * 0.75, side * 0.95), fill=fill)
            pen.rectangle((side * 0.42, side * 0.02, side * 0.58, side * 0.2), fill=cap)
    else:
        tip = [(side * 0.92, side * 0.4), (side * 0.99, side * 0.5), (side * 0.92, side * 0.6)]
        for pen, fill, cap in ((draw, body, ink), (outline, 255, 255)):
            pen.rounded_rectangle((side * 0.08, side * 0.4, side * 0.92, side * 0.6), radius=12, fill=fill)
            pen.polygon(tip, fill=cap)
    draw.rectangle((side * 0.3, side * 0.42, side * 0.7, side * 0.58), fill=label)
    for i in range(rng.randint(3, 6)):  # the printed words on the label
        x = side * (0.33 + 0.06 * i)
        draw.rectangle((x, side * 0.46, x + side * 0.04, side * 0.54), fill=ink)
    for _ in range(rng.randint(2, 5)):  # stripes of the design
        y = rng.uniform(0.2, 0.8) * side
        draw.line((side * 0.15, y, side * 0.85, y), fill=_colour(rng), width=rng.randint(2, 6))
    img.putalpha(mask)  # the stripes stay on the product's body
    return img


def shot(product: int, shot_seed: int | str) -> Image.Image:
    """One photo of `product`: its own background, framing, tilt, light and noise (RGB, SIZE)."""
    rng = random.Random(f"shot-{product}-{shot_seed}")
    nrng = np.random.default_rng(rng.getrandbits(32))
    w, h = SIZE
    base = np.array(rng.choice(TABLES), dtype=np.float32) * rng.uniform(0.85, 1.1)
    grain = rng.uniform(0.02, 0.12) * np.sin(np.arange(h)[:, None] * rng.uniform(0.05, 0.4)
                                             + nrng.normal(0, 1.5, (h, 1)))
    bg = np.clip(base[None, None, :] * (1 + grain[..., None]) + nrng.normal(0, 6, (h, w, 3)), 0, 255)
    scene = Image.fromarray(bg.astype(np.uint8))
    draw = ImageDraw.Draw(scene)
    for _ in range(rng.randint(2, 4)):  # other things on the table
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 70)
        draw.ellipse((x - r, y - r * rng.uniform(0.5, 1.5), x + r, y + r), fill=_colour(rng))
    side = int(h * rng.uniform(0.7, 0.95))
    item = product_image(product).resize((side, side), Image.Resampling.BICUBIC).rotate(
        rng.uniform(-12, 12), resample=Image.Resampling.BICUBIC, expand=True)
    cx, cy = w / 2 + rng.uniform(-0.12, 0.12) * w, h / 2 + rng.uniform(-0.1, 0.1) * h
    scene.paste(item, (int(cx - item.width / 2), int(cy - item.height / 2)), item)
    light = np.linspace(rng.uniform(0.75, 1.0), rng.uniform(1.0, 1.25), w if rng.random() < 0.5 else h)
    pixels = np.asarray(scene, dtype=np.float32)
    pixels *= (light[None, :, None] if light.size == w else light[:, None, None])
    pixels += nrng.normal(0, 3, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg(img: Image.Image, quality: int = 88) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


Edit = Callable[[Image.Image, random.Random], Image.Image]


def crop(img: Image.Image, rng: random.Random) -> Image.Image:
    """Up to 12 % cut from each side (the 职业退货 trims the edge where something gave the scene away)."""
    w, h = img.size
    left, right = rng.uniform(0, 0.12) * w, rng.uniform(0, 0.12) * w
    top, bottom = rng.uniform(0, 0.12) * h, rng.uniform(0, 0.12) * h
    return img.crop((int(left), int(top), int(w - right), int(h - bottom)))


def resize(img: Image.Image, rng: random.Random) -> Image.Image:
    scale = rng.uniform(0.35, 1.6)
    return img.resize((max(16, int(img.width * scale)), max(16, int(img.height * scale))), Image.Resampling.BILINEAR)


def recompress(img: Image.Image, rng: random.Random) -> Image.Image:
    return decode(jpeg(img, quality=rng.randint(20, 50)))


def rotate(img: Image.Image, rng: random.Random) -> Image.Image:
    """Turned 2-5 degrees either way, then cut to the picture (as a phone's straighten tool does)."""
    angle = rng.choice((-1, 1)) * rng.uniform(2, 5)
    turned = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False)
    w, h = img.size
    margin = np.sin(np.radians(abs(angle)))
    dx, dy = int(h * margin) + 1, int(w * margin) + 1
    return turned.crop((dx, dy, w - dx, h - dy))


def brightness(img: Image.Image, rng: random.Random) -> Image.Image:
    factor = rng.choice((rng.uniform(0.6, 0.8), rng.uniform(1.2, 1.45)))
    return ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(factor)).enhance(rng.uniform(0.85, 1.15))


def screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """The photo as seen in a chat app on a phone: status bar, title bar, a margin, the input bar below."""
    screen_w, screen_h = 720, rng.choice((1280, 1440, 1560))
    dark = rng.random() < 0.4
    page = (18, 18, 18) if dark else (rng.randint(235, 250),) * 3
    shot_ = Image.new("RGB", (screen_w, screen_h), page)
    draw = ImageDraw.Draw(shot_)
    bar = (40, 40, 40) if dark else (rng.randint(230, 245), rng.randint(230, 245), rng.randint(230, 245))
    draw.rectangle((0, 0, screen_w, 50), fill=bar)  # status bar: clock, signal, battery
    draw.rectangle((20, 15, 90, 35), fill=(120, 120, 120))
    draw.rectangle((screen_w - 110, 15, screen_w - 20, 35), fill=(120, 120, 120))
    draw.rectangle((0, 50, screen_w, 150), fill=bar)  # title bar with a back arrow and the chat's name
    draw.polygon([(30, 100), (50, 80), (50, 120)], fill=(90, 90, 90))
    draw.rectangle((260, 85, 460, 115), fill=(90, 90, 90))
    draw.rectangle((0, screen_h - 120, screen_w, screen_h), fill=bar)  # the input bar and its buttons
    draw.rounded_rectangle((90, screen_h - 95, screen_w - 110, screen_h - 35), radius=20, fill=page)
    draw.ellipse((20, screen_h - 90, 70, screen_h - 40), outline=(90, 90, 90), width=4)
    margin = rng.randint(20, 140)
    width = screen_w - 2 * margin
    pasted = img.resize((width, int(img.height * width / img.width)), Image.Resampling.BICUBIC)
    top = 150 + rng.randint(60, 300)
    shot_.paste(pasted, (margin, top))
    return shot_


EDITS: dict[str, Edit] = {
    "crop": crop,
    "resize": resize,
    "recompress": recompress,
    "rotate": rotate,
    "brightness": brightness,
    "screenshot": screenshot,
}


def edited(data: bytes, edit: str, seed: int | str) -> bytes:
    """The photo `data` after one edit of EDITS, as the shopper would upload it (a JPEG, or a PNG screenshot)."""
    rng = random.Random(f"edit-{edit}-{seed}")
    img = EDITS[edit](decode(data), rng)
    if edit == "screenshot":
        out = io.BytesIO()
        img.save(out, "PNG")
        return out.getvalue()
    return jpeg(img, quality=rng.randint(20, 50) if edit == "recompress" else 90)
