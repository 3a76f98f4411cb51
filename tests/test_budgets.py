"""What a few bytes may cost: every budget refuses with the limit and its setting, nothing else breaks."""

import io

import numpy as np
import pytest
from conftest import image_bytes, make_zip

from explorer.data.folders import load_zip
from explorer.data.images import decode_image
from explorer.data.vectors import read_table
from explorer.errors import InputError, UnsafeInputError


def _solid_png(w, h) -> bytes:
    return image_bytes(np.full((h, w, 3), 200, np.uint8), "PNG")


def test_a_large_photo_is_kept_at_the_size_models_need():
    img = decode_image(_solid_png(6000, 4000))
    assert img.shape == (1365, 2048, 3)  # longer side 2048 (EXPLORER_MAX_IMAGE_SIDE), aspect kept
    jpeg = image_bytes(np.full((4000, 6000, 3), 90, np.uint8), "JPEG")
    assert max(decode_image(jpeg).shape[:2]) == 2048


def test_a_load_of_images_has_a_pixel_budget(monkeypatch):
    monkeypatch.setenv("EXPLORER_MAX_LOAD_PIXELS", "5e6")
    zipped = make_zip({f"p{k}/{k}.png": _solid_png(2000, 1000) for k in range(4)})  # a few KB, 8 MP decoded
    assert len(zipped) < 50_000
    with pytest.raises(UnsafeInputError, match="EXPLORER_MAX_LOAD_PIXELS"):
        load_zip(zipped)
    monkeypatch.setenv("EXPLORER_MAX_LOAD_PIXELS", "1e7")
    assert len(load_zip(zipped)) == 4


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def test_tables_are_measured_before_they_are_decoded(monkeypatch):
    monkeypatch.setenv("EXPLORER_MAX_TABLE_BYTES", str(10_000_000))
    big = _npz(embeddings=np.zeros((20_000, 100)))  # 16 MB of zeros in a few KB
    assert len(big) < 100_000
    with pytest.raises(UnsafeInputError, match="EXPLORER_MAX_TABLE_BYTES"):
        read_table(big, "e.npz")
    # an NPY whose header declares terabytes is refused from its header (the header is all it holds)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with pytest.raises(UnsafeInputError, match="would take 8,000,000,000,000 bytes"):
        read_table(header.getvalue(), "e.npy")
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"label": ["a"] * 50_000, **{f"v{k}": np.zeros(50_000) for k in range(40)}}).to_parquet(buf)
    with pytest.raises(UnsafeInputError, match="EXPLORER_MAX_TABLE_BYTES"):
        read_table(buf.getvalue(), "t.parquet")
    with pytest.raises(UnsafeInputError, match="EXPLORER_MAX_TABLE_BYTES"):
        read_table(b"label,v\n" + b"a,1\n" * 700_000, "t.csv")


def test_a_broken_npz_is_an_input_error():
    with pytest.raises(InputError):
        read_table(b"PK\x03\x04 not a zip", "e.npz")


def test_pair_files_are_counted_before_they_are_parsed(monkeypatch):
    from explorer.data.protocol import parse_lfw_pairs, parse_pairs_csv

    monkeypatch.setenv("EXPLORER_MAX_SCORE_ROWS", "1000")
    ids = np.array(["a/a_0001", "a/a_0002"])
    with pytest.raises(InputError, match="EXPLORER_MAX_SCORE_ROWS"):
        parse_lfw_pairs("1 2000\n" + "a 1 2\n" * 2000, ids)
    with pytest.raises(InputError, match="EXPLORER_MAX_SCORE_ROWS"):
        parse_pairs_csv(b"id_a,id_b,same\n" + b"a/a_0001,a/a_0002,1\n" * 2000, ids)
    ok = parse_pairs_csv(b"id_a,id_b,same\n" + b"a/a_0001,a/a_0002,1\n" * 999, ids)
    assert len(ok.same) == 999 and ok.same.all()


@pytest.mark.parametrize(
    "change,match",
    [
        ({"params": {"widths": [16, 32, 4e6]}}, "between 1 and 4,096"),
        ({"params": {"widths": [16, 32.5]}}, "whole number"),
        ({"input": {"kind": "image", "height": 100000, "width": 100000, "channels": 1}}, "input height"),
        ({"input": {"kind": "image", "height": 32, "width": 32, "channels": 4}}, "channels must be 1"),
        ({"input": {"kind": "image", "height": -3, "width": 32, "channels": 1}}, "input height"),
        ({"out_dim": 0}, "out_dim"),
        ({"params": {"widths": [4096] * 12}}, "parameters, over the limit"),
    ],
)
def test_a_model_spec_is_checked_before_anything_is_built(change, match):
    import json

    from explorer.config import ASSETS_DIR
    from explorer.models.spec import ModelSpec

    spec = json.loads((ASSETS_DIR / "digits_convnet.json").read_text())
    for key, value in change.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and key == "input" else value
    with pytest.raises(InputError, match=match):
        ModelSpec.from_json(json.dumps(spec))


def test_the_disk_cache_keeps_under_its_size_least_recently_used_out_first(tmp_path, monkeypatch):
    import os
    import time

    from explorer.models.embedding import EmbeddingCache, Embeddings

    def emb(n):
        return Embeddings(np.zeros((n, 100), np.float32), np.array(["a"] * n), np.array([str(k) for k in range(n)]), {})

    monkeypatch.setenv("EXPLORER_MAX_CACHE_BYTES", str(1_300_000))  # three entries fit
    cache = EmbeddingCache(tmp_path, max_memory_entries=0)
    for k in range(3):
        cache.put(f"k{k}", emb(1000))  # ~400 KB each
        path = tmp_path / "embeddings" / f"k{k}.npz"
        os.utime(path, (time.time() - 100 + k, time.time() - 100 + k))
    assert cache.get("k0") is not None  # read: now the most recently used
    cache.put("k3", emb(1000))
    left = sorted(p.stem for p in (tmp_path / "embeddings").glob("*.npz"))
    assert left == ["k0", "k2", "k3"]  # k1, the least recently used, went


def test_a_zip_holding_one_name_twice_keeps_the_first_and_says_so():
    import zipfile

    png = [image_bytes(np.full((8, 8), v, np.uint8), "PNG") for v in (10, 200)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("a/1.png", png[0])
        zf.writestr("a/1.png", png[1])
        zf.writestr("b/1.png", png[1])
    ds = load_zip(buf.getvalue())
    assert list(ds.ids) == ["a/1.png", "b/1.png"] and ds.items[0][0, 0] == 10
    assert any("the same path again" in f.reason for f in ds.failures)


def test_bad_server_paths_say_what_is_wrong(tmp_path):
    from explorer.data.folders import load_directory

    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for bad, match in (
        (str(tmp_path) + "/\x00x", "NUL"),
        (str(loop), "not a usable path|not a folder"),
        ("/" + "a" * 5000, "usable path|not a folder"),
    ):
        with pytest.raises(InputError, match=match):
            load_directory(bad, allowed_roots=[tmp_path.resolve(), __import__("pathlib").Path("/").resolve()])


def test_a_bad_address_falls_back_to_the_default_workspace():
    from conftest import APP
    from streamlit.testing.v1 import AppTest

    for token in ("dir:\x00", "dir:" + "a" * 5000, "nonsense"):
        at = AppTest.from_file(APP, default_timeout=180)
        at.query_params["data"] = token
        at.run()
        assert not at.exception, at.exception
        assert at.session_state["workspace"].embeddings.n == 1797
        at.switch_page("app_pages/distances.py").run()
        assert not at.exception


def _endless_onnx() -> bytes:
    """y = x + (a loop adding 1, 10^15 times): loads at once, never finishes a batch."""
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "one"], ["v_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])],
    )
    graph = helper.make_graph(
        [
            helper.make_node("Loop", ["trips", "go", "start"], ["v"], body=body),
            helper.make_node("Add", ["x", "v"], ["y"]),
        ],
        "endless",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [
            helper.make_tensor("trips", TensorProto.INT64, [], [10**15]),
            helper.make_tensor("go", TensorProto.BOOL, [], [True]),
            helper.make_tensor("start", TensorProto.FLOAT, [1], [0.0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def test_an_uploaded_onnx_model_with_an_endless_loop_is_stopped(monkeypatch):
    import multiprocessing

    from explorer.models.checkpoints import load_checkpoint

    monkeypatch.setenv("EXPLORER_ONNX_TIMEOUT_S", "3")
    with pytest.raises(InputError, match="EXPLORER_ONNX_TIMEOUT_S"):
        load_checkpoint(_endless_onnx(), "loop.onnx")  # D is read by running one input: it never ends
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]  # the child was killed


def test_image_and_table_bombs_stay_under_a_memory_ceiling(tmp_path):
    """A few hundred KB of solid-colour 39.7 MP PNGs (kept whole they were 6.5 GB) and an NPZ of
    zeros that decodes to 800 MB, each loaded in a process limited to 1.5 GB of address space."""
    import subprocess
    import sys

    big = image_bytes(np.full((5630, 7050, 3), 120, np.uint8), "PNG")
    (tmp_path / "bomb.zip").write_bytes(make_zip({f"p{k % 4}/{k}.png": big for k in range(48)}))
    buf = io.BytesIO()
    np.savez_compressed(buf, embeddings=np.zeros((100_000, 1000)))
    (tmp_path / "bomb.npz").write_bytes(buf.getvalue())
    code = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))
from explorer.data.folders import load_zip
from explorer.data.vectors import read_table
from explorer.errors import InputError
try:
    load_zip(open({str(tmp_path / "bomb.zip")!r}, "rb").read())
    print("zip loaded")
except InputError as exc:
    print("zip refused:", exc)
try:
    read_table(open({str(tmp_path / "bomb.npz")!r}, "rb").read(), "bomb.npz")
    print("npz loaded")
except InputError as exc:
    print("npz refused:", exc)
"""
    import os

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "zip refused: these images hold more than 100,000,000 pixels" in out.stdout
    assert "npz refused:" in out.stdout and "EXPLORER_MAX_TABLE_BYTES" in out.stdout


REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


def test_archive_and_image_limits_are_settings_named_in_their_messages(monkeypatch):
    monkeypatch.setenv("EXPLORER_MAX_ARCHIVE_FILES", "2")
    png = image_bytes(np.full((8, 8), 9, np.uint8), "PNG")
    with pytest.raises(UnsafeInputError, match="EXPLORER_MAX_ARCHIVE_FILES"):
        load_zip(make_zip({f"a/{k}.png": png for k in range(3)}))
    monkeypatch.setenv("EXPLORER_MAX_IMAGE_PIXELS", "50")
    with pytest.raises(UnsafeInputError, match="EXPLORER_MAX_IMAGE_PIXELS"):
        decode_image(png)


def test_a_model_that_gives_zero_dimensions_is_refused():
    from explorer.errors import ModelOutputError
    from explorer.models.encoder import Encoder, ModelInfo
    from explorer.models.spec import InputSpec

    enc = Encoder(InputSpec(kind="vector", dim=3), 0, ModelInfo("m", "onnx", "h", "upload", {}))
    with pytest.raises(ModelOutputError, match="D >= 1"):
        enc._check(np.zeros((2, 0), np.float32), 2)


def test_a_set_over_the_pixel_budget_is_refused_from_the_headers_before_decoding(monkeypatch):
    """Each image's kept size is read from its header: a set over EXPLORER_MAX_LOAD_PIXELS costs
    no decoding at all (a 65 KB zip of 40 MP PNGs once cost 43 s of decoding before its refusal)."""
    from explorer.data import folders

    monkeypatch.setenv("EXPLORER_MAX_LOAD_PIXELS", "5000")
    png = image_bytes(np.full((50, 40), 9, np.uint8), "PNG")  # 2,000 pixels kept each
    decoded = []
    real = folders.decode_image
    monkeypatch.setattr(folders, "decode_image", lambda b: decoded.append(1) or real(b))
    with pytest.raises(UnsafeInputError, match=r"reached at a/2.png, image 3 of 3\).*EXPLORER_MAX_LOAD_PIXELS"):
        load_zip(make_zip({f"a/{k}.png": png for k in range(3)}))
    assert decoded == []
    assert len(load_zip(make_zip({f"a/{k}.png": png for k in range(2)}))) == 2  # within it: loaded
