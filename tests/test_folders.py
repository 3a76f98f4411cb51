import numpy as np
import pytest
from conftest import image_bytes, make_zip, rng_image

from explorer.data.folders import dataset_from_files, load_directory, load_zip, strip_wrapper
from explorer.errors import InputError, UnsafeInputError


def test_att_faces_zip_has_400_items_40_labels(att_zip, att_faces):
    ds = load_zip(att_zip)
    assert len(ds) == 400
    assert sorted(ds.classes) == sorted(f"s{i}" for i in range(1, 41))
    assert set(ds.class_counts().values()) == {10}
    assert ds.items[0].shape == (112, 92) and ds.items[0].dtype == np.uint8
    # the README beside the identity folders is listed, not fatal
    assert [f.path for f in ds.failures] == ["att_faces/README.ORL.txt"]
    # same bytes as the originals on disk
    i = list(ds.ids).index("s1/1.pgm")
    np.testing.assert_array_equal(ds.items[i], np.asarray(__import__("PIL.Image").Image.open(att_faces / "s1/1.pgm")))
    assert ds.warnings() == []


def test_server_folder_equals_zip(att_zip, att_faces):
    a, b = load_zip(att_zip), load_directory(att_faces, allowed_roots=[att_faces.parent])
    assert list(a.ids) == list(b.ids) and a.content_hash == b.content_hash and b.origin == "server"


def test_server_folder_outside_allowed_roots_refused(tmp_path, att_faces):
    with pytest.raises(UnsafeInputError, match="outside"):
        load_directory(att_faces, allowed_roots=[tmp_path])


def test_mixed_files_bad_images_and_webp_named_jpg():
    png = image_bytes(rng_image(0), "PNG")
    entries = {
        "alice/1.png": png,
        "alice/2.jpg": image_bytes(rng_image(1), "WEBP", lossless=True),  # really WEBP: loads
        "bob/1.jpg": image_bytes(rng_image(2), "JPEG")[:200],  # truncated
        "bob/2.png": png,
        "bob/notes.txt": b"hello",
        "loose.png": png,
        "__MACOSX/alice/._1.png": b"junk",
    }
    ds = load_zip(make_zip(entries))
    assert sorted(ds.ids) == ["alice/1.png", "alice/2.jpg", "bob/2.png"]
    reasons = {f.path: f.reason for f in ds.failures}
    assert set(reasons) == {"bob/1.jpg", "bob/notes.txt", "loose.png"}
    assert "broken image" in reasons["bob/1.jpg"] and "not an image" in reasons["bob/notes.txt"]


def test_one_identity_loads_with_a_warning():
    ds = load_zip(
        make_zip({"only/1.png": image_bytes(rng_image(0), "PNG"), "only/2.png": image_bytes(rng_image(1), "PNG")})
    )
    assert len(ds) == 2 and any("no negative" in w for w in ds.warnings())


def test_empty_zip_and_zip_without_images():
    with pytest.raises(InputError, match="empty"):
        load_zip(make_zip({}))
    with pytest.raises(InputError, match="no loadable images"):
        load_zip(make_zip({"a/readme.txt": b"x"}))


def test_traversal_in_directory_upload_names_refused():
    with pytest.raises(UnsafeInputError):
        dataset_from_files([("../x/1.png", b"x")], name="d", origin="upload")


def test_wrapper_detection():
    assert strip_wrapper(["top/a/1.png", "top/b/1.png"]) == "top/"
    assert strip_wrapper(["a/1.png", "b/1.png"]) == ""
    assert strip_wrapper(["a/1.png", "a/2.png"]) == ""  # one identity, not a wrapper


def test_content_hash_tracks_bytes():
    png0, png1 = image_bytes(rng_image(0), "PNG"), image_bytes(rng_image(1), "PNG")
    a = load_zip(make_zip({"x/1.png": png0, "y/1.png": png1}))
    b = load_zip(make_zip({"x/1.png": png0, "y/1.png": png1}))
    c = load_zip(make_zip({"x/1.png": png1, "y/1.png": png0}))
    assert a.content_hash == b.content_hash != c.content_hash
