"""Why a photo was refused, in Chinese for the shopper and English for logs and API clients."""

from __future__ import annotations

# code -> (HTTP status, Chinese, English)
REJECTIONS: dict[str, tuple[int, str, str]] = {
    "unknown_kind": (
        422,
        "照片类型不对，请选择：快递外包装、快递面单或商品照片。",
        "Unknown photo kind; expected package, label or items.",
    ),
    "empty_file": (422, "文件是空的，请重新选择照片。", "The file is empty."),
    "too_large": (
        413,
        "照片太大了（不能超过 {max_mb} MB），请压缩后再上传。",
        "The file is larger than {max_mb} MB.",
    ),
    "unsupported_format": (
        415,
        "只支持 JPG、PNG、WEBP 格式的照片，请换一张。",
        "Not an image in an accepted format (JPEG, PNG, WEBP).",
    ),
    "too_many_pixels": (
        422,
        "照片尺寸太大了，请换一张普通尺寸的照片。",
        "The image dimensions exceed the allowed limits.",
    ),
    "corrupt_image": (
        422,
        "照片文件已损坏或不完整，请重新拍摄后上传。",
        "The image is corrupt or truncated.",
    ),
}


class PhotoRejected(Exception):
    """An upload the evidence store refused; status is the HTTP status the gateway should answer."""

    def __init__(self, code: str, message_zh: str, message_en: str, status: int) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.status = status


def rejection(code: str, **fmt: object) -> PhotoRejected:
    """The PhotoRejected for one of the REJECTIONS codes, its messages filled in."""
    status, zh, en = REJECTIONS[code]
    return PhotoRejected(code, zh.format(**fmt), en.format(**fmt), status)
