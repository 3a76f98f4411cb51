"""AppTest of the Identify page: enrol, identify, unknown, verify, forget, one bad photo."""

import io

import numpy as np
import pytest
from conftest import REPO, image_bytes, open_faces_workspace, open_page, raw_markup
from PIL import Image

PHOTO = REPO / "tests" / "data" / "astronaut.jpg"


@pytest.fixture
def photos(att_faces) -> dict[str, bytes]:
    img = Image.open(PHOTO).convert("RGB")
    mirrored = io.BytesIO()
    img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, format="JPEG")
    return {
        "eileen.jpg": PHOTO.read_bytes(),
        "eileen_mirrored.jpg": mirrored.getvalue(),
        "s1.png": image_bytes(np.asarray(Image.open(att_faces / "s1" / "1.pgm")), "PNG"),
        "s2.png": image_bytes(np.asarray(Image.open(att_faces / "s2" / "1.pgm")), "PNG"),
        "blank.png": image_bytes(np.full((200, 200, 3), 128, np.uint8), "PNG"),
    }


SECTION_OF = {"id_enroll": "Enroll", "id_probe": "Identify", "id_va": "Verify", "id_vb": "Verify"}


def _section(at, name):
    at.segmented_control(key="id_section").set_value(name).run()


def _upload(at, key, name, data):
    _section(at, SECTION_OF[key])
    at.file_uploader(key=key).upload(name, data, "image/png")
    at.run()


def _enroll(at, name, filename, data):
    _section(at, "Enroll")
    at.text_input(key="id_name").input(name)
    _upload(at, "id_enroll", filename, data)
    at.button(key="id_enroll_go").click().run()
    assert not at.exception, at.exception


def _texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_enroll_identify_unknown_verify_and_forget(photos):
    at = open_page("app_pages/identify.py")
    assert "dlib's same-person threshold" in _texts(at.caption)
    _enroll(at, "Eileen", "eileen.jpg", photos["eileen.jpg"])
    assert "Enrolled Eileen from 1 photo" in _texts(at.success)
    at.file_uploader(key="id_enroll").clear().run()
    _enroll(at, "Somebody", "s1.png", photos["s1.png"])
    gallery = at.session_state["id_gallery"]
    assert gallery.people() == {"Eileen": 1, "Somebody": 1}

    _upload(at, "id_probe", "eileen_mirrored.jpg", photos["eileen_mirrored.jpg"])
    assert "**Eileen**, at distance" in _texts(at.success)
    _upload(at, "id_probe", "s2.png", photos["s2.png"])  # a person nobody enrolled
    assert "**Unknown**" in _texts(at.warning)

    _upload(at, "id_va", "eileen.jpg", photos["eileen.jpg"])
    _upload(at, "id_vb", "eileen_mirrored.jpg", photos["eileen_mirrored.jpg"])
    assert "**the same person**" in _texts(at.success)
    _upload(at, "id_vb", "s1.png", photos["s1.png"])
    assert "**different people**" in _texts(at.warning)

    _section(at, "People")
    at.selectbox(key="id_forget_who").set_value("Eileen").run()
    at.button(key="id_forget").click().run()
    assert gallery.people() == {"Eileen": 1, "Somebody": 1}  # not before the confirmation
    at.button(key="id_forget_yes").click().run()
    assert "Forgot Eileen: 1 face(s)" in _texts(at.success)
    assert gallery.people() == {"Somebody": 1}
    assert "Eileen" not in gallery.names and len(gallery.chips) == len(gallery.sources) == 1
    _upload(at, "id_probe", "eileen_mirrored.jpg", photos["eileen_mirrored.jpg"])
    assert "**Unknown**" in _texts(at.warning)


def test_a_photo_without_a_face_is_not_enrolled_and_says_why(photos):
    at = open_page("app_pages/identify.py")
    _enroll(at, "Nobody", "blank.png", photos["blank.png"])
    assert "blank.png: no face found" in _texts(at.warning)
    assert at.session_state["id_gallery"].people() == {}
    at.file_uploader(key="id_enroll").clear().run()
    _enroll(at, "Nobody", "broken.png", b"not an image")
    assert "broken.png: not an image" in _texts(at.warning)


def test_the_threshold_picked_for_the_face_descriptor_is_the_pages_threshold():
    from explorer.faces.encoder import FaceEncoder

    at = open_page("app_pages/identify.py")
    pick = {"checkpoint": FaceEncoder().model_info.checkpoint_hash, "metric": "sqeuclidean", "threshold": 0.25,
            "far": 0.001, "tar": 0.97, "how": "FAR target", "data": "att_faces (faces)", "pairs": "all pairs"}  # fmt: skip
    at.session_state["th_picked"] = pick
    at.run()
    assert "0.5, picked on the Threshold page (FAR target): FAR 0.1 %, TAR 97 %" in _texts(at.caption)
    at.session_state["th_picked"] = {**pick, "checkpoint": "another model"}  # not for this descriptor
    at.run()
    assert "dlib's same-person threshold" in _texts(at.caption)


def test_the_workspace_is_enrolled_in_one_click_and_measured_one_to_many(att_faces, tmp_path, monkeypatch):
    at = open_faces_workspace(att_faces, tmp_path, monkeypatch, 6, "app_pages/identify.py")
    _section(at, "Workspace")
    ws = at.session_state["workspace"]
    assert ws.embeddings.dim == 128 and ws.dataset.faces is not None
    at.button(key="id_enroll_ws").click().run()
    gallery = at.session_state["id_gallery"]
    assert gallery.people() == dict.fromkeys(["s1", "s2", "s3", "s4", "s5", "s6"], 10)
    np.testing.assert_array_equal(gallery.vectors, ws.embeddings.vectors)  # the workspace's own descriptors
    at.button(key="id_open_set").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Gallery size N"] == "5" and metrics["Rank-1"] == "100.0%"  # one of six held back as unknown
    assert "held back as 10 unknown probes" in _texts(at.caption)
    from explorer.analysis.identification import open_set

    r = open_set(ws.embeddings.vectors, ws.dataset.labels)  # what the page measured, again
    at_t = np.searchsorted(r.thresholds, 0.6, side="right") - 1
    _section(at, "Live")  # what the threshold means at this N, from the measurement
    assert (
        f"On the workspace's 1:N measurement (N = 5), this threshold wrongly names {100 * r.fpir[at_t]:.1f} % "
        f"of strangers (FPIR) and misses {100 * r.fnir[at_t]:.1f} % of enrolled people"
    ) in _texts(at.caption)


def test_an_operator_can_keep_one_gallery_on_the_server(photos, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_GALLERY_DIR", str(tmp_path / "gallery"))
    at = open_page("app_pages/identify.py")
    assert "This server keeps one gallery for every visitor" in _texts(at.markdown)
    _enroll(at, "Eileen", "eileen.jpg", photos["eileen.jpg"])
    other = open_page("app_pages/identify.py")  # another visitor sees the server's gallery
    _upload(other, "id_probe", "eileen_mirrored.jpg", photos["eileen_mirrored.jpg"])
    assert "**Eileen**, at distance" in _texts(other.success)
    assert (tmp_path / "gallery" / "gallery.sqlite").is_file() and "id_gallery" not in other.session_state


def _people_page(names):
    """The Identify page's People section over a gallery of made-up faces (no photos needed)."""
    from explorer.faces.gallery import Gallery

    at = open_page("app_pages/identify.py")
    g = Gallery()
    rng = np.random.default_rng(0)
    g.enroll_many(names, rng.normal(size=(len(names), 128)), [np.zeros((8, 8, 3), np.uint8)] * len(names), names)
    at.session_state["id_gallery"] = g
    _section(at, "People")
    return at, g


def test_forget_removes_only_the_person_named_at_the_click():
    """Visitor A chooses Bob; meanwhile Bob is forgotten (another visitor of a shared gallery);
    A confirms: nobody else is deleted, and the page says nothing was removed."""
    at, g = _people_page(["Alice", "Bob", "Carol"])
    assert at.selectbox(key="id_forget_who").value is None and at.button(key="id_forget").disabled
    at.selectbox(key="id_forget_who").set_value("Bob").run()
    at.button(key="id_forget").click().run()
    assert "Forget **Bob**: 1 face(s)" in _texts(at.warning)
    g.forget("Bob")  # the other visitor
    at.button(key="id_forget_yes").click().run()
    assert not at.exception, at.exception
    assert g.people() == {"Alice": 1, "Carol": 1}
    assert "Nobody named Bob is enrolled now" in _texts(at.warning)


def test_forget_can_be_cancelled_and_a_hostile_name_is_shown_as_written():
    hostile = "![t](http://elsewhere.example/t.png)<img src=x>"
    at, g = _people_page(["Alice", hostile])
    at.selectbox(key="id_forget_who").set_value(hostile).run()
    at.button(key="id_forget").click().run()
    at.button(key="id_forget_no").click().run()
    assert g.people() == {"Alice": 1, hostile: 1}
    at.selectbox(key="id_forget_who").set_value(hostile).run()
    at.button(key="id_forget").click().run()
    assert "\\!\\[t\\](http" in _texts(at.warning) and "\\<img" in _texts(at.warning)
    at.button(key="id_forget_yes").click().run()
    assert g.people() == {"Alice": 1}
    assert "Forgot \\!\\[t\\]" in _texts(at.success) and not raw_markup(_texts(at.success))


def test_a_hostile_name_is_shown_as_written_when_identified(photos):
    hostile = "![t](http://elsewhere.example/t.png) <b>x</b>"
    at = open_page("app_pages/identify.py")
    _enroll(at, hostile, "eileen.jpg", photos["eileen.jpg"])
    _upload(at, "id_probe", "eileen_mirrored.jpg", photos["eileen_mirrored.jpg"])
    for shown in (_texts(at.success), _texts(at.caption), _texts(at.markdown), _texts(at.warning)):
        assert not raw_markup(shown), raw_markup(shown)
    assert "**\\!\\[t\\](http://elsewhere.example/t.png) \\<b>x\\</b>**, at distance" in _texts(at.success)


def _two_faces(att_faces) -> bytes:
    """The test photo with an AT&T person beside her: two faces, one enrolled below, one not."""
    a = Image.open(PHOTO).convert("RGB")
    b = Image.open(att_faces / "s1" / "1.pgm").convert("RGB").resize((a.size[1] * 92 // 112, a.size[1]))
    canvas = Image.new("RGB", (a.size[0] + b.size[0], a.size[1]))
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.size[0], 0))
    return image_bytes(np.asarray(canvas), "PNG")


def test_every_face_of_a_photo_is_searched_boxed_and_named(photos, att_faces):
    at = open_page("app_pages/identify.py")
    _enroll(at, "Eileen", "eileen.jpg", photos["eileen.jpg"])
    at.file_uploader(key="id_enroll").clear().run()
    _enroll(at, "Somebody", "s1.png", photos["s1.png"])
    _upload(at, "id_probe", "two.png", _two_faces(att_faces))
    assert not at.exception, at.exception
    said = _texts(at.success)
    assert "Face 1: **Somebody**" in said and "Face 2: **Eileen**" in said  # largest first: the AT&T face
    assert "Each face's closest of 2 enrolled people" in _texts(at.caption)


def test_the_boxes_are_drawn_where_the_faces_are():
    from explorer.faces.annotate import KNOWN, UNKNOWN, boxed

    img = np.zeros((100, 200, 3), np.uint8)
    out = boxed(img, [(10, 40, 60, 90), (120, 40, 180, 95)], ["ann 0.31", "unknown"], [True, False])
    assert tuple(out[90, 30]) == KNOWN and tuple(out[95, 150]) == UNKNOWN  # the boxes' bottom edges
    assert out[65, 35].sum() == 0 and out.shape == img.shape  # inside stays the photo; a copy
    assert img.sum() == 0


def test_a_photo_with_several_faces_asks_which_face_to_enrol(att_faces, photos):
    at = open_page("app_pages/identify.py")
    _section(at, "Enroll")
    at.text_input(key="id_name").input("Eileen")
    _upload(at, "id_enroll", "two.png", _two_faces(att_faces))
    assert at.button(key="id_enroll_go").disabled  # not before the face is chosen
    which = next(r for r in at.radio if "holds 2 faces" in r.label)
    which.set_value(1).run()  # face 2: the smaller one, hers
    at.button(key="id_enroll_go").click().run()
    assert not at.exception, at.exception
    assert at.session_state["id_gallery"].people() == {"Eileen": 1}
    _upload(at, "id_probe", "eileen_mirrored.jpg", photos["eileen_mirrored.jpg"])
    assert "**Eileen**, at distance" in _texts(at.success)  # the face enrolled was hers


def test_live_mode_states_its_rules_and_falls_back_to_the_snapshot_camera(photos):
    at = open_page("app_pages/identify.py")
    _enroll(at, "Eileen", "eileen.jpg", photos["eileen.jpg"])
    _section(at, "Live")
    assert not at.exception, at.exception
    said = " ".join(m.value for m in at.markdown)
    assert "only after 3 descriptions in a row agree" in said and "every 0.5 s" in said and "never stored" in said
    assert "Gallery: N = 1 person (1 faces); threshold 0.6." in _texts(at.caption)
    assert "No live view? It needs WebRTC" in _texts(at.caption)
    # AppTest has no server runtime for the WebRTC component: the page says so, the snapshot camera is open
    assert "The live view cannot run on this server" in _texts(at.warning)
    at.session_state["th_picked"] = {"far": 0.001, "checkpoint": "x", "metric": "cosine", "threshold": 0.5}
    at.run()
    assert "about 0.1 % of strangers get someone's name" in _texts(at.caption)  # 1 - (1 - 0.001)^1
    at.camera_input(key="id_live_shot").upload("shot.jpg", photos["eileen_mirrored.jpg"]).run()
    assert not at.exception, at.exception
    assert "**Eileen**, at distance" in _texts(at.success)


def test_the_count_is_current_the_people_show_their_faces_and_a_camera_shot_reads_as_one(photos):
    at = open_page("app_pages/identify.py")
    _enroll(at, "Eileen", "eileen.jpg", photos["eileen.jpg"])
    assert "Enrolled: 1 person." in _texts(at.caption)  # counted in the run that enrolled, not the next
    _section(at, "People")
    table = at.dataframe[0].value
    assert list(table["person"]) == ["Eileen"] and list(table["faces"]) == [1]
    assert table["face"][0].startswith("data:image/jpeg;base64,")  # each person's face, not a bare name
    _section(at, "Identify")
    at.toggle(key="id_probe_cam").set_value(True).run()
    at.camera_input(key="id_probe_shot").upload("camera-input-2026-12-07T05_47_06.774Z.jpg", photos["blank.png"]).run()
    assert "camera photo, 05:47 UTC: no face found" in _texts(at.warning)


def test_verify_gives_the_probability_of_the_same_person_at_a_prior(att_faces, tmp_path, monkeypatch, photos):
    """Calibrated on a faces workspace of the same model: the logistic fit of its pairs, at the
    visitor's prior; without such a workspace the page says what a probability needs."""
    from explorer.analysis.calibration import Logistic, Pairs, probability_same
    from explorer.analysis.pairs import all_pairs

    plain = open_page("app_pages/identify.py")  # the digits: no calibration for faces
    _upload(plain, "id_va", "eileen.jpg", photos["eileen.jpg"])
    _upload(plain, "id_vb", "eileen_mirrored.jpg", photos["eileen_mirrored.jpg"])
    assert "needs this model's distances calibrated" in _texts(plain.caption)

    at = open_faces_workspace(att_faces, tmp_path, monkeypatch, 6, "app_pages/identify.py")
    other = image_bytes(np.asarray(Image.open(att_faces / "s2" / "5.pgm")), "PNG")  # s2 again: not sure at all
    _upload(at, "id_va", "s2.png", photos["s2.png"])
    _upload(at, "id_vb", "s2_5.png", other)
    at.number_input(key="id_prior").set_value(0.1).run()
    assert not at.exception, at.exception
    emb = at.session_state["workspace"].embeddings
    fitted = Logistic().fit(Pairs.binned(all_pairs(emb.vectors, emb.labels, metric="euclidean")))
    d = float((_texts(at.success) + _texts(at.warning)).split("Distance ")[1].split(":")[0])
    odds = np.exp(fitted.llr(d)) * 0.1 / 0.9
    shown = float(_texts(at.markdown).split("odds ")[1].split(" to 1")[0])
    assert shown == pytest.approx(odds, rel=0.05)  # the page's exact distance, ours rounded to 3 decimals
    p = float(probability_same(fitted.llr(d), 0.1))
    assert f"**{100 * p:.4g}%**" in _texts(at.markdown) or p > 0.9999


def test_one_to_many_shows_frtes_points_the_cmc_the_n_curve_and_templates(att_faces, tmp_path, monkeypatch):
    from explorer.analysis.identification import fnir_at_fpir, open_set, open_set_rows
    from explorer.analysis.one_to_many import cmc, fnir_by_gallery_size, template_comparison

    at = open_faces_workspace(att_faces, tmp_path, monkeypatch, 40, "app_pages/identify.py")  # rank-1 below 100%
    _section(at, "Workspace")
    at.button(key="id_open_set").click().run()
    at.button(key="id_n_curve").click().run()
    at.number_input(key="id_template_k").set_value(4).run()
    assert not at.exception, at.exception
    ws = at.session_state["workspace"]
    x, labels = ws.embeddings.vectors, ws.dataset.labels
    r = open_set(x, labels)
    m = {e.label: e.value for e in at.metric}
    for target in (0.003, 0.01):
        got = fnir_at_fpir(r, target)
        assert m[f"FNIR at FPIR {target:g}"] == ("n/a" if got is None else f"{100 * got[0]:.1f}%")
    enrolled, probes = open_set_rows(labels, r.unknown_identities)
    c = cmc(x, labels, enrolled, probes, metric="euclidean")
    assert m["Investigation FNIR"] == f"{100 * (1 - c[-1]):.1f}%" and len(c) == 32  # N: 40 less 8 held back
    one, four = template_comparison(x, labels, (1, 4), metric="euclidean")
    assert (
        f"rank-1 {100 * one.rank1:.1f}% with one image enrolled, {100 * four.rank1:.1f}% with the mean of 4"
        in _texts(at.caption)
    )
    curve = fnir_by_gallery_size(x, labels, metric="euclidean")
    if curve.fit is None:
        assert "nothing to fit" in _texts(at.caption)
    else:
        assert f"at N = 10,000, **{100 * curve.extrapolate(10_000):.1f}%**" in _texts(at.caption)


def test_identify_gives_each_faces_probability_where_the_model_is_calibrated(att_faces, tmp_path, monkeypatch, photos):
    from explorer.analysis.calibration import Logistic, Pairs, probability_same
    from explorer.analysis.pairs import all_pairs

    at = open_faces_workspace(att_faces, tmp_path, monkeypatch, 6, "app_pages/identify.py")
    _enroll(at, "Someone", "s2.png", photos["s2.png"])
    other = image_bytes(np.asarray(Image.open(att_faces / "s2" / "5.pgm")), "PNG")
    at.session_state["id_prior"] = 0.2  # as set on Verify
    _upload(at, "id_probe", "s2_5.png", other)
    assert not at.exception, at.exception
    emb = at.session_state["workspace"].embeddings
    fitted = Logistic().fit(Pairs.binned(all_pairs(emb.vectors, emb.labels, metric="euclidean")))
    probe = list(at.session_state["id_all_faces_seen"].values())[-1][2][0]  # the face described on the page
    d = at.session_state["id_gallery"].identify(probe, k=1, threshold=1.0).matches[0].distance
    p = float(probability_same(fitted.llr(d), 0.2))
    odds = float(np.exp(fitted.llr(d))) * 0.2 / 0.8
    assert f"face 1: Someone {100 * p:.4g}% (odds {odds:.3g} to 1)" in _texts(at.caption)
