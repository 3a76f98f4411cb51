import io

import numpy as np
import pytest
from conftest import image_bytes, rng_image
from PIL import Image

from explorer.data.images import decode_image, resize, thumbnail, to_channels
from explorer.errors import InputError, UnsafeInputError


def test_png_roundtrip_is_exact():
    arr = rng_image(0)
    np.testing.assert_array_equal(decode_image(image_bytes(arr, "PNG")), arr)


def test_grey_stays_2d_and_pgm_loads():
    arr = rng_image(1, (12, 9))
    out = decode_image(image_bytes(arr, "PPM" if arr.ndim == 3 else "PNG"))
    assert out.shape == (12, 9)
    np.testing.assert_array_equal(decode_image(image_bytes(arr, "PPM")), arr)  # PIL writes L as PGM


@pytest.mark.parametrize("fmt", ["WEBP", "PNG", "BMP"])
def test_format_read_from_content_not_extension(fmt):
    arr = rng_image(2)
    out = decode_image(image_bytes(arr, fmt, **({"lossless": True} if fmt == "WEBP" else {})))
    np.testing.assert_array_equal(out, arr)


def test_rgba_is_composited_on_white():
    arr = np.zeros((4, 4, 4), np.uint8)
    arr[..., 0] = 255
    arr[:2, :, 3] = 255  # top half opaque red, bottom half transparent
    out = decode_image(image_bytes(arr, "PNG"))
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(out[3, 0], [255, 255, 255])


def test_palette_png_becomes_rgb():
    img = Image.fromarray(rng_image(3)).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    out = decode_image(buf.getvalue())
    np.testing.assert_array_equal(out, np.asarray(img.convert("RGB")))


def test_16bit_grey_is_scaled_not_clipped():
    arr = np.linspace(1000, 60000, 64, dtype=np.uint16).reshape(8, 8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    out = decode_image(buf.getvalue())
    assert out.dtype == np.uint8 and out.shape == (8, 8)
    assert out.min() == 0 and out.max() == 255
    assert (np.diff(out.ravel().astype(int)) >= 0).all()  # order kept


def test_exif_rotation_is_applied():
    arr = np.zeros((10, 20, 3), np.uint8)  # landscape as stored
    arr[:, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", exif=exif, quality=95)
    out = decode_image(buf.getvalue())
    assert out.shape[:2] == (20, 10)  # upright: portrait


def test_truncated_jpeg_is_an_error():
    data = image_bytes(rng_image(4, (64, 64, 3)), "JPEG")
    with pytest.raises(InputError, match="broken image"):
        decode_image(data[: len(data) // 2])


def test_not_an_image():
    with pytest.raises(InputError, match="not an image"):
        decode_image(b"hello, world")


def test_pixel_cap_refuses_before_decoding():
    with pytest.raises(UnsafeInputError, match="over the cap"):
        decode_image(image_bytes(rng_image(5, (100, 100)), "PNG"), max_pixels=5000)


def test_default_pixel_cap_refuses_a_decompression_bomb():
    bomb = image_bytes(np.zeros((6500, 6500), np.uint8), "PNG")  # 42 MP, a few KB compressed
    assert len(bomb) < 200_000
    with pytest.raises(UnsafeInputError):
        decode_image(bomb)


def test_channels_and_resize_and_thumbnail():
    rgb = rng_image(6, (30, 20, 3))
    assert to_channels(rgb, 1).shape == (30, 20, 1)
    assert to_channels(rgb[..., 0], 3).shape == (30, 20, 3)
    assert resize(rgb, 15, 10).shape == (15, 10, 3)
    assert resize(rgb[..., :1], 15, 10).shape == (15, 10, 1)
    assert thumbnail(rng_image(7, (8, 8)), 64).shape == (64, 64)
