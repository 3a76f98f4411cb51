"""Safe image decoding: pixel caps, truncated files, modes, EXIF orientation.

Pillow reads the format from the content, not the extension, so a ``.jpg`` that is really WEBP
or PNG loads. Every image leaves here as uint8, (H, W) grey or (H, W, 3) RGB.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps

from explorer import config
from explorer.errors import InputError, UnsafeInputError

_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def decode_image(data: bytes, *, max_pixels: int | None = None, max_side: int | None = None) -> np.ndarray:
    """Decode image bytes into a uint8 array, (H, W) for grey sources or (H, W, 3) otherwise,
    its longer side at most ``max_side`` (default: the ``EXPLORER_MAX_IMAGE_SIDE`` setting): a
    photo is kept at the size any model here needs, not at full resolution (JPEGs are decoded
    at the reduced scale directly).

    Raises ``UnsafeInputError`` for images over ``max_pixels`` and ``InputError`` for anything
    that is not a complete image.
    """
    side = config.settings().max_image_side if max_side is None else max_side
    max_pixels = config.settings().max_image_pixels if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise UnsafeInputError(
                    f"image is {w}x{h} = {w * h:,} pixels, over the cap of {max_pixels:,} (EXPLORER_MAX_IMAGE_PIXELS)"
                )
            if max(w, h) > side and img.format == "JPEG":
                img.draft(img.mode, (side, side))  # DCT scaling: decodes at 1/2, 1/4 or 1/8 size
            img.load()
    except UnsafeInputError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UnsafeInputError(f"image refused as a decompression bomb: {exc}") from None
    except Image.UnidentifiedImageError:
        raise InputError("not an image Pillow can read (JPEG, PNG, WEBP, BMP, PGM/PPM)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"broken image file: {exc}") from None
    img = ImageOps.exif_transpose(img)
    if max(img.size) > side:
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _to_array(img)


def kept_pixels(data: bytes, *, max_side: int | None = None) -> int | None:
    """How many pixels ``decode_image`` would keep of these bytes, read from the header alone (no
    decoding: a budget over many images is checked before the work); None when the header is not
    an image's (decoding then says why)."""
    side = config.settings().max_image_side if max_side is None else max_side
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            w, h = Image.open(io.BytesIO(data)).size
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return None
    scale = min(1.0, side / max(w, h, 1))
    return int(round(w * scale)) * int(round(h * scale))


def _to_array(img: Image.Image) -> np.ndarray:
    if img.mode in {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}:
        # 16-bit / float grey: scale the actual range to 0..255 rather than clip.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return np.clip((arr - lo) * scale, 0, 255).astype(np.uint8)
    if img.mode in _GREY_MODES:
        if img.mode == "LA":
            img = _flatten_alpha(img.convert("RGBA")).convert("L")
        return np.asarray(img.convert("L"), dtype=np.uint8)
    if img.mode == "P":
        img = img.convert("RGBA")
    if "A" in img.getbands():  # RGBA, PA
        img = _flatten_alpha(img.convert("RGBA"))
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """Composite on white: transparent pixels become background, not black."""
    bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
    return Image.alpha_composite(bg, img).convert("RGB")


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """Convert a (H, W) or (H, W, 3) uint8 image to ``channels`` (1 or 3) as (H, W, C)."""
    if channels == 1:
        if img.ndim == 3:
            img = np.asarray(Image.fromarray(img).convert("L"))
        return img[:, :, None]
    if channels == 3:
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        return img
    raise ValueError(f"channels must be 1 or 3, got {channels}")


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a uint8 (H, W) or (H, W, C) image; area filter down, bilinear up (OpenCV)."""
    if img.shape[0] == height and img.shape[1] == width:
        return img
    shrinking = img.shape[0] > height or img.shape[1] > width
    out = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return out.reshape(height, width, *img.shape[2:])


def thumbnail(img: np.ndarray, size: int = config.THUMBNAIL_SIZE) -> np.ndarray:
    """A small uint8 copy for galleries; tiny images (8x8 digits) are enlarged with nearest."""
    h, w = img.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    method = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BOX
    return np.asarray(Image.fromarray(img).resize((nw, nh), method))
