"""Real test images made with Pillow, plus hostile files (renamed HTML, SVG, pixel floods, truncation)."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_exif(size: tuple[int, int] = (60, 40)) -> bytes:
    """A JPEG carrying orientation 6 (rotate 90°), a camera model, GPS coordinates and a comment."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x0110] = "SpyCam 3000"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (31.0, 14.0, 5.5), 3: "E", 4: (121.0, 28.0, 1.0)})
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"shopper home address")
    return out.getvalue()


def png_rgba(size: tuple[int, int] = (80, 50)) -> bytes:
    img = Image.new("RGBA", size, (0, 128, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, 20, 20))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def noisy_jpeg(size: tuple[int, int] = (400, 300), seed: int = 1) -> bytes:
    """A JPEG whose entropy-coded data is large, so cutting it leaves real pixels undecoded."""
    rnd = random.Random(seed)
    img = Image.frombytes("RGB", size, bytes(rnd.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (CRC fixed), i.e. a pixel-flood header."""
    out = io.BytesIO()
    Image.new("L", (8, 8), 0).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = 8  # the IHDR chunk follows the 8-byte signature: length(4) type(4) data(13) crc(4)
    assert data[ihdr + 4 : ihdr + 8] == b"IHDR"
    struct.pack_into(">II", data, ihdr + 8, width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4 : ihdr + 8 + 13])) & 0xFFFFFFFF
    struct.pack_into(">I", data, ihdr + 8 + 13, crc)
    return bytes(data)


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(1)</script><rect width="10" height="10"/></svg>'
)


def jpeg_markers(data: bytes) -> list[int]:
    """The marker codes of a JPEG's header segments, up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    pos, markers = 2, []
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return markers
