"""The face pipeline on real photos: detection, alignment, the descriptor, failures to acquire.

The test photo is NASA's portrait of astronaut Eileen Collins (public domain), as scikit-image
ships it (``skimage.data.astronaut``), saved as JPEG in tests/data.
"""

import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from explorer.data.dataset import Dataset
from explorer.faces import models
from explorer.faces.acquisition import AcquisitionCache, acquire_dataset
from explorer.faces.encoder import SAME_PERSON, FaceEncoder
from explorer.faces.pipeline import FaceSettings, acquire, describe, describe_dlib

PHOTO = REPO / "tests" / "data" / "astronaut.jpg"


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(Image.open(PHOTO).convert("RGB"))


def _descriptor(image, **settings) -> np.ndarray:
    face = acquire(image, FaceSettings(**settings))
    assert not isinstance(face, str), face
    return describe([face.chip])[0]


def test_a_face_is_found_aligned_and_its_mirror_is_the_same_person(photo, att_faces):
    face = acquire(photo)
    left, top, right, bottom = face.box
    assert face.faces_found == 1 and face.found_by == "hog" and face.chip.shape == (150, 150, 3)
    assert 150 < left < right < 290 and 60 < top < bottom < 200  # her face, not the patch on her suit
    assert face.landmarks.shape == (5, 2)
    assert all(left - 10 <= x <= right + 10 and top - 10 <= y <= bottom + 30 for x, y in face.landmarks)
    d = describe([face.chip])[0]
    assert d.shape == (128,) and d.dtype == np.float32
    assert np.linalg.norm(d - _descriptor(photo[:, ::-1])) < SAME_PERSON
    other = np.asarray(Image.open(att_faces / "s1" / "1.pgm"))
    assert np.linalg.norm(d - _descriptor(other, crops=True)) > SAME_PERSON


def test_a_digit_and_a_blank_image_are_failures_to_acquire():
    from sklearn.datasets import load_digits

    digit = (load_digits().images[0] * 16).astype(np.uint8)
    assert acquire(digit) == "no face found (8 x 8 px)"
    assert acquire(np.full((300, 200, 3), 128, np.uint8)) == "no face found (200 x 300 px)"
    whole = acquire(np.full((300, 200, 3), 128, np.uint8), FaceSettings(crops=True))  # a crop is used whole
    assert whole.found_by == "whole image" and whole.box == (0, 0, 200, 300) and whole.faces_found == 0


def test_of_two_faces_the_larger_is_used_and_both_are_counted(photo):
    small = np.asarray(Image.fromarray(photo).resize((384, 384)))
    both = np.full((512, 900, 3), 255, np.uint8)
    both[:384, :384] = small
    both[:, 388:] = photo  # the full-size face, right
    face = acquire(both)
    assert face.faces_found == 2 and face.box[0] > 388
    assert np.linalg.norm(describe([face.chip])[0] - _descriptor(photo)) < 0.1


def test_a_large_photo_is_scaled_down_for_detection_and_cut_from_full_resolution(photo, monkeypatch):
    big = np.asarray(Image.fromarray(photo).resize((4000, 4000), Image.Resampling.BICUBIC))
    seen = []
    real = models.hog_detector()

    class Spy:
        def run(self, image, upsample, threshold):
            seen.append((image.shape, upsample))
            return real.run(image, upsample, threshold)

    monkeypatch.setattr(models, "hog_detector", lambda: Spy())
    face = acquire(big, FaceSettings(detect_max_side=1024))
    assert seen == [((1024, 1024, 3), 0)]  # detection on 1024 px, no upsampling
    small = acquire(photo)
    np.testing.assert_allclose(np.array(face.box) / (4000 / 512), small.box, atol=6)  # in the photo's pixels
    assert np.linalg.norm(describe([face.chip])[0] - describe([small.chip])[0]) < 0.2
    seen.clear()
    acquire(photo[::4, ::4])  # 128 px: upsampled once
    assert seen[0][1] == 1


def test_the_model_files_are_found_without_importing_the_package_and_68_points_never_load(photo, monkeypatch):
    code = (
        "import sys; from explorer.faces import models; print(models.model_folder().is_dir(), "
        "'face_recognition_models' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "False"], out.stderr  # its __init__ needs pkg_resources
    import dlib

    opened = []
    for name in ("shape_predictor", "face_recognition_model_v1", "cnn_face_detection_model_v1"):
        real = getattr(dlib, name)
        monkeypatch.setattr(dlib, name, lambda path, real=real: opened.append(path) or real(path))
    for loader in (models.landmarks, models.descriptor, models.cnn_detector):
        loader.cache_clear()
    acquire(np.full((120, 120, 3), 100, np.uint8), FaceSettings(crops=True, cnn=True))
    describe_dlib([acquire(photo).chip])  # dlib opens the descriptor file itself here
    assert opened and not any(models.NEVER in p for p in opened)
    assert {p.rsplit("/", 1)[-1] for p in opened} <= set(models.FILES.values())
    for loader in (models.landmarks, models.descriptor, models.cnn_detector):
        loader.cache_clear()


def _photos(photo) -> Dataset:
    items = [photo, photo[:, ::-1].copy(), np.full((64, 64, 3), 90, np.uint8), photo[::2, ::2].copy()]
    return Dataset(name="photos", kind="image", ids=["a", "b", "blank", "c"], labels=["x", "x", "y", "x"],
                   items=items, content_hash="p" * 64, origin="upload")  # fmt: skip


def test_a_dataset_of_photos_becomes_chips_with_its_failures_listed_and_cached(photo, tmp_path):
    ds = _photos(photo)
    chips = acquire_dataset(ds)
    assert chips.ids.tolist() == ["a", "b", "c"] and chips.labels.tolist() == ["x", "x", "x"]
    assert [f.path for f in chips.failures] == ["blank"] and "failure to acquire" in chips.failures[0].reason
    assert all(c.shape == (150, 150, 3) for c in chips.items) and len(chips.faces) == 3
    assert chips.content_hash != ds.content_hash and chips.thumbnails[0].shape[:2] == (64, 64)
    store = AcquisitionCache(tmp_path)
    first = store.get_or_acquire(ds, FaceSettings())
    again = AcquisitionCache(tmp_path).get_or_acquire(ds, FaceSettings())  # read back from disk
    assert again.ids.tolist() == first.ids.tolist() and again.content_hash == first.content_hash
    for a, b in zip(first.faces, again.faces, strict=True):
        assert a.box == b.box and np.array_equal(a.chip, b.chip) and np.array_equal(a.landmarks, b.landmarks)
    assert [f.reason for f in again.failures] == [f.reason for f in first.failures]


def test_the_face_encoder_embeds_chips_with_euclidean_descriptors(photo):
    from explorer.models.embedding import embed_dataset

    enc = FaceEncoder()
    chips = enc.prepare(_photos(photo))
    emb = embed_dataset(chips, enc)
    assert emb.vectors.shape == (3, 128) and not np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0)
    np.testing.assert_allclose(emb.vectors, describe(chips.items), atol=1e-6)
    assert np.linalg.norm(emb.vectors[0] - emb.vectors[1]) < SAME_PERSON
    assert enc.prepare(chips) is chips  # chips already
    with pytest.raises(Exception, match="face chips"):
        enc.encode([photo])


def test_held_out_att_faces_read_as_their_authors_report(att_faces):
    """s31-s40 (100 photos never used for anything here): pair ROC AUC >= 0.999 untrained."""
    from explorer.data.folders import load_directory
    from explorer.models.embedding import embed_dataset
    from explorer.training.evaluation import evaluate

    ds = load_directory(att_faces)
    held = np.isin(ds.labels, [f"s{i}" for i in range(31, 41)])
    sub = Dataset(name="att s31-s40", kind="image", ids=ds.ids[held], labels=ds.labels[held],
                  items=[ds.items[i] for i in np.flatnonzero(held)], content_hash="s" * 64, origin="server")  # fmt: skip
    enc = FaceEncoder(FaceSettings(crops=True))
    emb = embed_dataset(enc.prepare(sub), enc)
    assert emb.n == 100
    assert evaluate(emb.vectors, emb.labels)["auc"] >= 0.999
