"""The gallery against brute force, forgetting, and the 1:N figures against a hand count."""

import numpy as np
import pytest

from explorer.analysis.identification import fnir_at_fpir, open_set
from explorer.faces.gallery import Gallery, verify


def _gallery(exact_up_to=2000, seed=0):
    rng = np.random.default_rng(seed)
    g = Gallery(dim=8, exact_up_to=exact_up_to)
    people = {}
    for p in range(30):
        n = 1 + p % 3
        v = rng.normal(size=(n, 8)).astype(np.float32)
        people[f"p{p}"] = v
        g.enroll(f"p{p}", v, [np.full((2, 2, 3), p, np.uint8)] * n, [f"p{p}_{i}.jpg" for i in range(n)])
    return g, people


@pytest.mark.parametrize("exact_up_to", [2000, 10])  # exact search, and the HNSW index
def test_identify_equals_a_hand_loop_over_every_enrolled_face(exact_up_to):
    g, people = _gallery(exact_up_to)
    assert g.search_kind == ("exact" if exact_up_to == 2000 else "hnsw") and len(g) == 60
    for q in np.random.default_rng(1).normal(size=(25, 8)).astype(np.float32):
        got = g.identify(q, k=5, threshold=2.5)
        want = sorted((float(np.linalg.norm(v - q, axis=1).min()), name) for name, v in people.items())[:5]
        assert [m.name for m in got.matches] == [n for _, n in want]
        np.testing.assert_allclose([m.distance for m in got.matches], [d for d, _ in want], rtol=1e-5)
        assert got.answer == (want[0][1] if want[0][0] <= 2.5 else None)  # unknown beyond the threshold


def test_forgetting_a_person_leaves_nothing_of_them():
    g, _ = _gallery()
    before = len(g)
    assert g.forget("p4") == 2 and len(g) == before - 2
    assert "p4" not in g.names and "p4" not in g.people()
    assert not any(s.startswith("p4_") for s in g.sources) and not any((c == 4).all() for c in g.chips)
    assert g.vectors.shape == (before - 2, 8)
    assert all(m.name != "p4" for m in g.identify(np.zeros(8), k=30, threshold=1.0).matches)
    with pytest.raises(ValueError, match="name"):
        g.enroll("  ", np.zeros((1, 8)), [np.zeros((2, 2, 3))], ["x"])


def test_verify_is_the_euclidean_distance_at_the_threshold():
    d, same = verify(np.zeros(4), np.array([0.3, 0.4, 0, 0]), threshold=0.6)
    assert d == pytest.approx(0.5) and same
    assert not verify(np.zeros(4), np.ones(4), threshold=0.6)[1]


def test_open_set_figures_equal_a_hand_count():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(10, 4)) * 3
    labels = np.repeat([f"id{i}" for i in range(10)], 4)
    x = (centres[np.repeat(np.arange(10), 4)] + rng.normal(size=(40, 4))).astype(np.float32)
    r = open_set(x, labels, unknown_fraction=0.2, random_state=0)
    unknown = set(r.unknown_identities)
    assert len(unknown) == 2 and r.gallery_size == 8 and r.mated == 8 * 3 and r.non_mated == 2 * 4
    x64 = x.astype(np.float64)  # the hand count in float64, as the library measures distances
    enrolled = {n: x64[np.flatnonzero(labels == n)[0]] for n in dict.fromkeys(labels) if n not in unknown}
    names = list(enrolled)
    g = np.stack([enrolled[n] for n in names])
    ranks, mated_d, non_d = [], [], []
    for i in range(40):
        d = np.linalg.norm(g - x64[i], axis=1)
        if labels[i] in unknown:
            non_d.append(d.min())
        elif not np.array_equal(x64[i], enrolled[labels[i]]):
            order = np.argsort(d, kind="stable")
            ranks.append(next(k for k, j in enumerate(order) if names[j] == labels[i]))
            mated_d.append(d[order[0]] if names[order[0]] == labels[i] else np.inf)
    assert r.rank1 == pytest.approx(np.mean(np.array(ranks) == 0)) and r.rank5 == pytest.approx(
        np.mean(np.array(ranks) < 5)
    )
    # each figure holds from its threshold up to the next: compared between them, away from rounding
    mids = (r.thresholds[:-1] + r.thresholds[1:]) / 2
    for t, fnir, fpir in zip(mids, r.fnir[:-1], r.fpir[:-1], strict=True):
        assert fnir == pytest.approx(np.mean(~(np.array(mated_d) <= t)))
        assert fpir == pytest.approx(np.mean(np.array(non_d) <= t))
    got = fnir_at_fpir(r, 0.25)
    ok = r.fpir <= 0.25
    assert got[0] == pytest.approx(r.fnir[ok].min())
    with pytest.raises(ValueError, match="two identities"):
        open_set(x[:4], labels[:4])


def test_a_server_gallery_survives_a_restart_and_forgetting_deletes_rows_and_photos(tmp_path):
    import sqlite3

    from explorer.faces.store import StoredGallery

    g = StoredGallery(tmp_path, dim=8)
    rng = np.random.default_rng(0)
    chips = [rng.integers(0, 255, (150, 150, 3), dtype=np.uint8) for _ in range(3)]
    g.enroll("ann", rng.normal(size=(2, 8)), chips[:2], ["a1.jpg", "a2.jpg"])
    g.enroll("bob", rng.normal(size=(1, 8)), chips[2:], ["b.jpg"])
    again = StoredGallery(tmp_path, dim=8)  # the server restarts
    assert again.people() == {"ann": 2, "bob": 1} and again.sources == g.sources
    np.testing.assert_array_equal(again.vectors, g.vectors)
    from explorer.faces.thumbs import decoded, thumbnail

    # the photos on disk are the whole chips (PNG: lossless); memory keeps their thumbnails
    assert all(np.array_equal(a, decoded(thumbnail(b))) for a, b in zip(again.chips, chips, strict=True))
    assert len(list((tmp_path / "photos").glob("*.png"))) == 3
    assert again.forget("ann") == 2
    assert len(list((tmp_path / "photos").glob("*.png"))) == 1
    with sqlite3.connect(tmp_path / "gallery.sqlite") as db:
        assert db.execute("SELECT name, source FROM faces").fetchall() == [("bob", "b.jpg")]
    assert StoredGallery(tmp_path, dim=8).people() == {"bob": 1}


def test_replacing_people_enrols_them_anew_and_keeps_the_others():
    g, people = _gallery()
    names = ["p1", "p1", "new"]
    vectors = np.random.default_rng(5).normal(size=(3, 8))
    g.replace_people(names, vectors, [np.zeros((2, 2, 3), np.uint8)] * 3, ["a", "b", "c"])
    assert g.people()["p1"] == 2 and g.people()["new"] == 1 and g.people()["p2"] == people["p2"].shape[0]
    np.testing.assert_allclose(g.vectors[[i for i, n in enumerate(g.names) if n == "p1"]], vectors[:2], rtol=1e-6)
    with pytest.raises(ValueError, match="enrol at least one"):
        g.enroll_many(["a", "b"], np.zeros((1, 8)), [np.zeros((2, 2, 3))], ["x"])
    assert "a" not in g.people()  # nothing half-added


def test_a_server_gallery_keeps_memory_and_disk_in_step_when_a_write_fails(tmp_path, monkeypatch):
    """A full disk on the second photo: nothing of the enrolment stays, on disk or in memory."""
    import errno

    from explorer.faces import store

    g = store.StoredGallery(tmp_path, dim=8)
    rng = np.random.default_rng(0)
    chip = lambda: rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)  # noqa: E731
    g.enroll("ann", rng.normal(size=(1, 8)), [chip()], ["a.jpg"])
    real, calls = store.atomic_write_bytes, []

    def full_disk(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(store, "atomic_write_bytes", full_disk)
    with pytest.raises(OSError):
        g.enroll("bob", rng.normal(size=(3, 8)), [chip(), chip(), chip()], ["b1", "b2", "b3"])
    assert g.people() == {"ann": 1} and len(g.vectors) == len(g.chips) == 1  # memory as it was
    assert len(list((tmp_path / "photos").iterdir())) == 1  # the photo written before the failure is gone
    assert store.StoredGallery(tmp_path, dim=8).people() == {"ann": 1}


def test_photos_without_a_row_are_swept_at_start(tmp_path):
    """A process killed after an enrolment's photos and before its rows leaves photos that no
    Forget could reach: the next start deletes them and keeps every enrolled face."""
    from explorer.faces.store import StoredGallery

    g = StoredGallery(tmp_path, dim=8)
    g.enroll("ann", np.ones((1, 8)), [np.zeros((20, 20, 3), np.uint8)], ["a.jpg"])
    kept = {p.name for p in (tmp_path / "photos").iterdir()}
    (tmp_path / "photos" / "0123456789abcdef.png").write_bytes(b"orphan")
    (tmp_path / "photos" / ".x.png.123.tmp").write_bytes(b"torn")
    again = StoredGallery(tmp_path, dim=8)
    assert {p.name for p in (tmp_path / "photos").iterdir()} == kept
    assert again.people() == {"ann": 1}


def test_the_index_grows_with_enrolments_and_forgets_by_marking_never_by_a_rebuild(monkeypatch):
    """Past exact_up_to the index is built once; later enrolments are added to it and forgotten
    faces marked deleted, and every answer stays the brute-force one."""
    import hnswlib

    g = Gallery(dim=8, exact_up_to=20)
    rng = np.random.default_rng(7)
    people = {}
    for p in range(40):
        v = rng.normal(size=(2, 8)).astype(np.float32)
        people[f"p{p}"] = v
        g.enroll(f"p{p}", v, [np.zeros((4, 4, 3), np.uint8)] * 2, ["a", "b"])
        if p == 10:
            assert g.search_kind == "hnsw"
            built = g._index
            monkeypatch.setattr(hnswlib, "Index", lambda *a, **k: pytest.fail("the index was built again"))
    assert g._index is built and g._index.get_current_count() == 80
    assert g.forget("p3") == 2 and g.forget("p17") == 2
    del people["p3"], people["p17"]
    for q in rng.normal(size=(30, 8)).astype(np.float32):
        got = g.identify(q, k=3, threshold=1.0)
        want = sorted((float(np.linalg.norm(v - q, axis=1).min()), n) for n, v in people.items())[:3]
        assert [m.name for m in got.matches] == [n for _, n in want]
    assert g.chips[0].shape == (48, 48, 3) and g._thumbs.nbytes() < 2000 * len(g)  # JPEG thumbnails, not 150 px chips


def test_thumbnails_on_disk_show_the_right_faces_and_leave_nothing_of_a_forgotten_one(tmp_path):
    from explorer.faces.thumbs import FileThumbs, MemoryThumbs

    rng = np.random.default_rng(3)
    chips = [np.full((150, 150, 3), 40 * k, np.uint8) for k in range(5)]  # a grey level per face
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    on_disk, in_memory = FileThumbs(tmp_path), MemoryThumbs()
    g, m = Gallery(dim=8, thumbs=on_disk), Gallery(dim=8, thumbs=in_memory)
    for x in (g, m):
        x.enroll_many(["a", "b", "c", "b", "d"], vectors, chips, list("12345"))
    assert g.forget("b") == 2 and m.forget("b") == 2
    for x in (g, m):  # each remaining face keeps its own thumbnail, in the gallery's order
        assert [int(c.mean().round()) for c in x.chips] == [0, 80, 160]
        assert x.identify(vectors[2], k=1, threshold=1.0).matches[0].chip.mean().round() == 80
    on_disk._file.seek(0)
    raw = on_disk._file.read()
    kept = sum(on_disk._lengths)
    assert len(raw) > kept and raw.count(0) >= len(raw) - kept  # b's two thumbnails: zeros on disk
    assert not list(tmp_path.iterdir())  # the file has no name: only this process reads it


def test_each_person_is_listed_once_with_their_first_face():
    from explorer.faces.thumbs import decoded, thumbnail

    chips = [np.full((150, 150, 3), 30 * k, np.uint8) for k in range(6)]  # a grey level per face
    g = Gallery(dim=4)
    g.enroll_many(["bo", "al", "bo", "cy", "al", "cy"], np.eye(6, 4, dtype=np.float32) + 1, chips, list("abcdef"))
    g.forget("cy")
    got = g.first_faces(10)
    assert [(n, c) for n, c, _ in got] == [("bo", 2), ("al", 2)]  # enrolment order, counts
    assert [decoded(t).mean().round() for _, _, t in got] == [
        decoded(thumbnail(chips[k])).mean().round() for k in (0, 1)
    ]
    assert [n for n, _, _ in g.first_faces(1)] == ["bo"]
