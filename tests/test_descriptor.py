"""dlib's face descriptor in torch against dlib's own call on real faces (the oracle), and the
reader of dlib's serialisation against hand-made bytes."""

import numpy as np
import pytest
from conftest import REPO
from PIL import Image
from scipy.spatial.distance import pdist

from explorer.faces.pipeline import acquire, describe, describe_dlib
from explorer.models.dlib_format import Stream, read_layers

PHOTO = REPO / "tests" / "data" / "astronaut.jpg"
TOLERANCE = 1e-4  # per component and per pair distance (float32 summation order aside)


@pytest.fixture(scope="module")
def chips(att_faces) -> np.ndarray:
    """Aligned chips of two photos of each of the 40 AT&T people, and of the test photo and its mirror."""
    photos = [
        np.asarray(Image.open(att_faces / f"s{p}" / f"{k}.pgm").convert("RGB")) for p in range(1, 41) for k in (1, 6)
    ]
    img = np.asarray(Image.open(PHOTO).convert("RGB"))
    photos += [img, img[:, ::-1].copy()]
    found = [f.chip for f in map(acquire, photos) if not isinstance(f, str)]
    assert len(found) >= 60
    return np.stack(found)


def test_the_torch_descriptor_equals_dlibs_on_real_faces(chips):
    ours, theirs = describe(list(chips)), describe_dlib(list(chips))
    assert ours.shape == theirs.shape == (len(chips), 128) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() <= TOLERANCE
    assert np.abs(pdist(ours) - pdist(theirs)).max() <= TOLERANCE  # every pair's euclidean distance


def test_batches_and_a_single_chip_give_the_same_descriptors(chips):
    whole = describe(list(chips))
    one = np.concatenate([describe([c]) for c in chips[:5]])
    np.testing.assert_allclose(one, whole[:5], atol=1e-6)


def test_the_file_reads_as_dlibs_network():
    from explorer.faces import models

    layers = read_layers(models.model_path("descriptor").read_bytes())
    assert layers.size == 150 and np.allclose(layers.mean_rgb, (122.782, 117.001, 104.298), atol=1e-4)
    assert len(layers.convs) == len(layers.affines) == 29 and layers.dense.weight.shape == (256, 128)
    assert [c.weight.shape[0] for c in layers.convs[1:]] == [32] * 6 + [64] * 8 + [128] * 6 + [256] * 8
    assert [(c.stride, c.padding) for c in layers.convs[:3]] == [(2, 0), (1, 1), (1, 1)]
    params = sum(c.weight.size + c.bias.size for c in layers.convs) + 2 * sum(a.gamma.size for a in layers.affines)
    assert params + layers.dense.weight.size == 5_614_592


def test_the_conversion_is_cached_by_the_files_sha256(tmp_path, monkeypatch):
    from explorer.faces import descriptor as d

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    d.descriptor.cache_clear()
    try:
        first = d.descriptor()
        path = d.converted_path(first.sha256)
        assert path.is_file() and first.sha256 in path.read_bytes()[:2000].decode("latin-1")
        d.descriptor.cache_clear()
        monkeypatch.setattr(d, "convert", lambda sha: pytest.fail("converted again"))
        again = d.descriptor()  # from the cache
        chip = np.full((1, 150, 150, 3), 120, np.uint8)
        np.testing.assert_array_equal(first(chip), again(chip))
        from explorer.faces.encoder import as_face_model
        from explorer.models.checkpoints import load_checkpoint

        as_checkpoint = as_face_model(load_checkpoint(path.read_bytes(), path.name, origin="server"))
        np.testing.assert_allclose(as_checkpoint.encode(list(chip)), first(chip), atol=1e-5)  # a checkpoint like any
    finally:
        d.descriptor.cache_clear()


@pytest.mark.parametrize(
    ("data", "value"),
    [(b"\x01\x00", 0), (b"\x01\x05", 5), (b"\x81\x05", -5), (b"\x02\x00\x01", 256), (b"\x82\xff\xff", -65535)],
)
def test_packed_integers_read_as_dlib_writes_them(data, value):
    assert Stream(data).integer() == value


def test_floats_strings_and_tensors_read_as_dlib_writes_them():
    # 122.782f: frexp gives mantissa m / 2**24 and exponent e; dlib shifts off zero low bytes
    m, e = np.frexp(np.float32(122.782))
    mantissa, exponent = int(m * 2**24), int(e) - 24

    def enc(v: int) -> bytes:  # dlib's packed integer, written out
        body = abs(v).to_bytes(8, "little").rstrip(b"\0") or b"\0"
        return bytes([len(body) | (0x80 if v < 0 else 0)]) + body

    s = Stream(enc(mantissa) + enc(exponent) + b"\x01\x03abc" + b"\x01\x02" + enc(1) + enc(2) + enc(1) + enc(1)
               + np.array([1.5, -2.0], "<f4").tobytes())  # fmt: skip
    assert s.real() == pytest.approx(122.782, abs=1e-5) and s.string() == "abc"
    np.testing.assert_array_equal(s.tensor().reshape(-1), [1.5, -2.0])
