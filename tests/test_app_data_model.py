"""AppTest of the Data & model page: default workspace, a real zip upload, a bad upload."""

from pathlib import Path

import numpy as np
import pytest
from conftest import image_bytes, make_zip, rng_image
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def test_default_workspace_is_embedded_on_first_launch(app):
    m = _metrics(app)
    assert m["Items (N)"] == "1,797" and m["Dimensions (D)"] == "32" and m["Classes"] == "10"
    assert m["Failed to load"] == "0"
    sidebar = " ".join(md.value for md in app.sidebar.markdown)
    assert "1,797" in sidebar and "digits" in sidebar
    assert len(app.get("download_button")) == 2


def _upload_zip(at, name, data):
    at.radio(key="dm_source").set_value("Image folder (zip)").run()
    at.file_uploader[0].upload(name, data, "application/zip")
    at.run()
    at.button(key="dm_go").click().run()
    assert not at.exception, at.exception


def test_zip_upload_of_att_faces_then_bad_upload_keeps_workspace(app, att_zip):
    _upload_zip(app, "att_faces.zip", att_zip)
    m = _metrics(app)
    assert m["Items (N)"] == "400" and m["Classes"] == "40" and m["Failed to load"] == "1"
    assert sorted(app.selectbox(key="dm_grid_class").options) == sorted(f"s{i}" for i in range(1, 41))

    app.file_uploader[0].clear()
    _upload_zip(app, "evil.zip", make_zip({"a/1.png": b"x", "../../etc/evil.png": b"x"}))
    assert any("points outside the archive" in e.value for e in app.error)
    m = _metrics(app)
    assert m["Items (N)"] == "400" and m["Classes"] == "40"  # the previous workspace stays


def test_vector_table_with_ambiguous_label(app):
    csv = b"who,where,x,y\n" + b"".join(f"p{i % 3},r{i},{i},{i * 2}\n".encode() for i in range(12))
    app.radio(key="dm_source").set_value("Vector table").run()
    app.file_uploader[0].upload("t.csv", csv, "text/csv")
    app.run()
    assert app.selectbox(key="dm_label").options == ["who", "where"]  # the user must choose
    app.selectbox(key="dm_label").set_value("where").run()
    app.button(key="dm_go").click().run()
    assert any("not numeric: who" in e.value for e in app.error)
    assert _metrics(app)["Items (N)"] == "1,797"  # workspace kept
    app.selectbox(key="dm_label").set_value("who").run()
    app.selectbox(key="dm_id").set_value("where").run()
    app.button(key="dm_go").click().run()
    assert not app.error
    m = _metrics(app)
    assert m["Items (N)"] == "12" and m["Dimensions (D)"] == "2" and m["Classes"] == "3"


def test_vector_table_of_numbers_only_asks_for_the_label(app):
    """No column is named like a label and none holds text: nothing is taken silently."""
    csv = b"digit,a,b,c\n" + b"".join(f"{i % 4},{i},{i * 2},{i % 5}\n".encode() for i in range(16))
    app.radio(key="dm_source").set_value("Vector table").run()
    app.file_uploader[0].upload("numbers.csv", csv, "text/csv")
    app.run()
    assert any("choose the column that names the identity" in w.value for w in app.warning)
    assert app.selectbox(key="dm_label").value is None
    assert not [b for b in app.button if b.key == "dm_go" and not b.disabled]
    assert _metrics(app)["Items (N)"] == "1,797"
    app.selectbox(key="dm_label").set_value("digit").run()
    app.button(key="dm_go").click().run()
    m = _metrics(app)
    assert m["Items (N)"] == "16" and m["Dimensions (D)"] == "3" and m["Classes"] == "4"


def test_refresh_restores_server_side_workspace_from_the_address(att_faces):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["data"] = f"dir:{att_faces}"
    at.query_params["model"] = "bundled"
    at.run()
    assert not at.exception
    assert _metrics(at)["Items (N)"] == "400"
    # the pickers show where the workspace came from, not the defaults
    assert at.radio(key="dm_source").value == "Image folder on the server"
    assert at.text_input(key="dm_path").value == str(att_faces)
    assert at.radio(key="dm_model").value == "Bundled digits ConvNet"


def test_address_outside_allowed_folders_falls_back_to_default():
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["data"] = "dir:/etc"
    at.query_params["model"] = "bundled"
    at.run()
    assert any("outside the folders" in e.value for e in at.error)
    assert _metrics(at)["Items (N)"] == "1,797"


@pytest.mark.parametrize("kind", ["loop", "long"])
def test_a_checkpoint_path_in_the_address_that_no_file_call_can_use_is_a_message(tmp_path, monkeypatch, kind):
    """A symlink loop or a 5,000-character name: the default workspace and a message, on this
    run and the next page's, never a broken page."""
    monkeypatch.setenv("EXPLORER_DATA_ROOTS", str(tmp_path))
    if kind == "loop":
        (tmp_path / "a.safetensors").symlink_to(tmp_path / "b.safetensors")
        (tmp_path / "b.safetensors").symlink_to(tmp_path / "a.safetensors")
        path = tmp_path / "a.safetensors"
    else:
        path = tmp_path / ("x" * 5000 + ".safetensors")
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["data"] = "digits"
    at.query_params["model"] = f"ckpt:{path}"
    at.run()
    assert not at.exception, at.exception
    assert any("is not a usable path" in e.value for e in at.error), [e.value for e in at.error]
    assert _metrics(at)["Items (N)"] == "1,797"
    at.switch_page("app_pages/distances.py").run()
    assert not at.exception and not any("did not expect" in e.value for e in at.error)


def test_uploads_are_not_put_in_the_address(app):
    assert app.query_params["data"] == "digits"
    png = [image_bytes(rng_image(i), "PNG") for i in range(3)]
    _upload_zip(app, "two.zip", make_zip({"a/1.png": png[0], "a/2.png": png[1], "b/1.png": png[2]}))
    assert _metrics(app)["Items (N)"] == "3"
    assert "data" not in app.query_params  # personal data never goes into a shareable address


def _faces_zip(att_faces, people=("s1", "s2", "s3")) -> bytes:
    return make_zip(
        {f"faces/{p}/{f.name}": f.read_bytes() for p in people for f in sorted((att_faces / p).glob("*.pgm"))}
    )


def test_photos_of_faces_get_the_face_descriptor_proposed_and_one_click_uses_it(app, att_faces):
    _upload_zip(app, "faces.zip", _faces_zip(att_faces))
    assert _metrics(app)["Dimensions (D)"] == "32"  # the digits model
    assert any("These photos hold faces" in i.value for i in app.info)
    app.button(key="dm_use_faces").click().run()
    assert not app.exception, app.exception
    m = _metrics(app)
    assert m["Dimensions (D)"] == "128" and int(m["Items (N)"].replace(",", "")) + int(m["Failed to load"]) == 30
    assert "Face descriptor" in " ".join(md.value for md in app.sidebar.markdown)
    assert not any("These photos hold faces" in i.value for i in app.info)


def test_the_face_descriptor_as_a_model_source_lists_failures_to_acquire(app, att_faces):
    blank = image_bytes(np.full((120, 100), 128, np.uint8), "PNG")
    data = make_zip({**{f"faces/s1/{i}.pgm": (att_faces / "s1" / f"{i}.pgm").read_bytes() for i in range(1, 6)},
                     "faces/s2/blank.png": blank, "faces/s2/1.pgm": (att_faces / "s2" / "1.pgm").read_bytes()})  # fmt: skip
    app.radio(key="dm_source").set_value("Image folder (zip)").run()
    app.radio(key="dm_model").set_value("Face descriptor (dlib ResNet, 128-d)").run()
    assert any("99.38 %" in c.value for c in app.caption)  # the card: what it is, licence, LFW as reported
    app.checkbox(key="dm_crops").check().run()
    app.file_uploader[0].upload("faces.zip", data, "application/zip")
    app.run()
    app.button(key="dm_go").click().run()
    assert not app.exception, app.exception
    m = _metrics(app)
    assert m["Dimensions (D)"] == "128" and m["Items (N)"] == "7"  # crops: the blank image is used whole
    app.checkbox(key="dm_crops").uncheck().run()
    app.button(key="dm_go").click().run()
    m = _metrics(app)
    assert m["Failed to load"] != "0" and int(m["Items (N)"]) < 7
    reasons = app.dataframe[-1].value["reason"].tolist()
    assert any("failure to acquire: no face found" in r for r in reasons)
    n = sum(r.startswith("failure to acquire") for r in reasons)  # pointed to the crops choice beside them
    assert f"No face was found in {n} photo" in " ".join(i.value for i in app.info)
    assert "tick **These images are face crops already**" in " ".join(i.value for i in app.info)


def test_a_model_uploaded_for_server_data_leaves_nothing_in_the_shared_cache(app, tmp_path):
    """The bundled digits (server data) embedded by an uploaded checkpoint: the embeddings stay in
    the visitor's session, never in the shared cache or on disk."""
    import safetensors.numpy as stn

    from explorer.config import DEFAULT_CHECKPOINT
    from explorer.models.embedding import cache_key
    from explorer.ui.workspace import shared_cache

    raw = DEFAULT_CHECKPOINT.read_bytes()
    tensors = stn.load(raw)
    # another model, the same architecture: one float weight scaled (the dict's order is the
    # safetensors version's, so pick by kind, not position)
    first = next(k for k, v in sorted(tensors.items()) if v.ndim and v.dtype == np.float32)
    tensors[first] = tensors[first] * np.float32(1.01)
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    path.write_bytes(raw)
    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    mine = stn.save(tensors, metadata=meta)
    app.radio(key="dm_model").set_value("Upload a checkpoint").run()
    next(u for u in app.file_uploader if u.key == "dm_ckpt").upload(
        "mine.safetensors", mine, "application/octet-stream"
    )
    app.run()
    app.button(key="dm_go").click().run()
    assert not app.exception, app.exception
    ws = app.session_state["workspace"]
    assert ws.embeddings.provenance["model_name"] == "mine.safetensors"
    key = cache_key(ws.dataset.content_hash, ws.encoder.model_info.checkpoint_hash, ws.encoder.preprocessing_key())
    cache = shared_cache()
    assert cache.get(key) is None
    if cache.directory is not None:
        assert not list(cache.directory.rglob(f"*{key}*"))
