import io

import numpy as np
import pytest
import torch

from explorer.errors import InputError, ModelOutputError, UnsafeInputError
from explorer.models.architectures import build_model
from explorer.models.checkpoints import (
    load_checkpoint,
    load_default_encoder,
    load_server_checkpoint,
    save_safetensors,
)
from explorer.models.spec import InputSpec, ModelSpec

SPEC = ModelSpec(
    "convnet", {"in_channels": 1, "widths": [8, 16]}, InputSpec("image", 8, 8, 1, mean=(0.5,), std=(0.25,)), 12
)
IMAGES = list(np.random.default_rng(0).integers(0, 256, size=(5, 8, 8), dtype=np.uint8))


def _oracle(model, images, spec=SPEC):
    x = torch.from_numpy(((np.stack(images).astype(np.float32) / 255 - 0.5) / 0.25)[:, None])
    with torch.no_grad():
        out = model.eval()(x).numpy()
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(SPEC).eval()


def test_safetensors_roundtrip_with_embedded_spec(model, tmp_path):
    path = save_safetensors(model, SPEC, tmp_path / "m.safetensors")
    assert path.with_suffix(".json").is_file()
    enc = load_checkpoint(path.read_bytes(), "m.safetensors")
    assert enc.out_dim == 12 and enc.model_info.format == "safetensors"
    np.testing.assert_allclose(enc.encode(IMAGES), _oracle(model, IMAGES), atol=1e-5)


def test_state_dict_with_json_spec(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    enc = load_checkpoint(buf.getvalue(), "m.pt", spec_json=SPEC.to_json())
    np.testing.assert_allclose(enc.encode(IMAGES), _oracle(model, IMAGES), atol=1e-5)
    with pytest.raises(InputError, match="no model spec"):
        load_checkpoint(buf.getvalue(), "m.pt")


class Boom:
    def __reduce__(self):
        return (print, ("executed",))


def test_pickle_with_arbitrary_object_refused_without_running(capsys):
    buf = io.BytesIO()
    torch.save({"weights": Boom()}, buf)
    with pytest.raises(UnsafeInputError, match="never unpickled"):
        load_checkpoint(buf.getvalue(), "evil.pt", spec_json=SPEC.to_json())
    with pytest.raises(UnsafeInputError, match="refused"):
        load_checkpoint(b"\x80\x04junk", "evil.pkl")
    assert "executed" not in capsys.readouterr().out


def test_shapes_not_matching_spec(model, tmp_path):
    path = save_safetensors(model, SPEC, tmp_path / "m.safetensors")
    wrong = ModelSpec(SPEC.architecture, SPEC.params, SPEC.input, out_dim=16)
    with pytest.raises(InputError, match="shapes differ.*head.weight"):
        load_checkpoint(path.read_bytes(), "m.safetensors", spec_json=wrong.to_json())


def test_bad_files():
    with pytest.raises(InputError):
        load_checkpoint(b"garbage" * 10, "m.safetensors", spec_json=SPEC.to_json())
    with pytest.raises(InputError, match="spec JSON is invalid"):
        load_checkpoint(b"x", "m.pt", spec_json=b"{not json")
    with pytest.raises(InputError, match="unknown checkpoint format"):
        load_checkpoint(b"x", "m.h5")


def test_torchscript_upload_refused_but_server_path_loads(model, tmp_path):
    path = tmp_path / "m.ts"
    torch.jit.script(model).save(str(path))
    path.with_suffix(".json").write_text(SPEC.to_json())
    with pytest.raises(UnsafeInputError, match="TorchScript runs code"):
        load_checkpoint(path.read_bytes(), "m.ts", spec_json=SPEC.to_json(), origin="upload")
    with pytest.raises(UnsafeInputError, match="TorchScript"):  # a .pt that is really TorchScript
        load_checkpoint(path.read_bytes(), "m.pt", spec_json=SPEC.to_json(), origin="upload")
    enc = load_server_checkpoint(path, allowed_roots=[tmp_path])
    np.testing.assert_allclose(enc.encode(IMAGES), _oracle(model, IMAGES), atol=1e-5)


def test_onnx_spec_read_from_graph():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(1).normal(size=(64, 7)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])],
        "lin",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 7])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    enc = load_checkpoint(model.SerializeToString(), "m.onnx")
    assert (enc.input_spec.height, enc.input_spec.width, enc.input_spec.channels, enc.out_dim) == (8, 8, 1, 7)
    x = np.stack(IMAGES).astype(np.float32).reshape(5, 64) / 255
    ref = x @ w
    np.testing.assert_allclose(enc.encode(IMAGES), ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-5)
    assert isinstance(onnx.load_from_string(model.SerializeToString()), onnx.ModelProto)


def test_output_checks():
    class NanNet(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 4), float("nan"))

    class Flat(torch.nn.Module):
        def forward(self, x):
            return x.reshape(-1)

    from explorer.models.encoder import ModelInfo, TorchEncoder

    info = ModelInfo("t", "test", "0", "upload", {})
    with pytest.raises(ModelOutputError, match="NaN"):
        TorchEncoder(NanNet(), SPEC.input, 4, info).encode(IMAGES)
    with pytest.raises(ModelOutputError, match="shape"):
        TorchEncoder(Flat(), SPEC.input, 4, info).encode(IMAGES)
    three_channels = torch.nn.Conv2d(3, 4, 3)  # the spec feeds 1 channel
    with pytest.raises(ModelOutputError, match="failed on a batch"):
        TorchEncoder(three_channels, SPEC.input, 4, info).encode(IMAGES)


def test_bundled_default_is_small_and_loads():
    from explorer import config

    assert config.DEFAULT_CHECKPOINT.stat().st_size < 1_000_000
    enc = load_default_encoder()
    assert enc.input_spec.height == 8 and enc.out_dim == 32
    assert enc.model_info.info["held_out_metrics"]["precision_at_1"] > 0.9


def test_mlp_embeds_a_table_of_model_inputs(tmp_path):
    import pandas as pd

    from explorer.data.vectors import dataset_from_frame
    from explorer.models.embedding import embed_dataset

    spec = ModelSpec("mlp", {"in_dim": 3, "hidden": [8]}, InputSpec("vector", dim=3, mean=(1.0,), std=(2.0,)), 4)
    torch.manual_seed(0)
    model = build_model(spec).eval()
    path = save_safetensors(model, spec, tmp_path / "mlp.safetensors")
    enc = load_checkpoint(path.read_bytes(), path.name)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=list("xxyyz"))
    emb = embed_dataset(dataset_from_frame(frame, name="t", is_embedding=False), enc)
    with torch.no_grad():
        ref = model(torch.from_numpy((x - 1.0) / 2.0)).numpy()
    np.testing.assert_allclose(emb.vectors, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-5)
    assert emb.provenance["model_format"] == "safetensors"


ALIGNED = ModelSpec(
    "convnet",
    {"in_channels": 1, "widths": [8, 16], "align": True},
    InputSpec("image", 28, 24, 1, mean=(0.5,), std=(0.25,)),
    12,
)


def test_learned_alignment_starts_as_the_identity_and_moves_as_its_affine_map_says(tmp_path):
    from explorer.models.architectures import Align

    torch.manual_seed(0)
    aligned = build_model(ALIGNED).eval()
    plain = build_model(ModelSpec("convnet", {"in_channels": 1, "widths": [8, 16]}, ALIGNED.input, 12)).eval()
    plain.load_state_dict({k: v for k, v in aligned.state_dict().items() if not k.startswith("align.")})
    x = torch.randn(3, 1, 28, 24)
    with torch.no_grad():
        np.testing.assert_allclose(aligned(x).numpy(), plain(x).numpy(), atol=1e-5)  # identity at the start
        # a shift of one pixel to the right: theta's x offset is 2 / width in affine_grid's units
        a = Align(1)
        a.loc[-1].bias.copy_(torch.tensor([1.0, 0, 2 / 24, 0, 1.0, 0]))
        np.testing.assert_allclose(a(x)[..., :-1].numpy(), x[..., 1:].numpy(), atol=1e-4)
        # a zoom by 2 about the centre: output pixel j reads input position (j - 11.5) / 2 + 11.5
        a.loc[-1].bias.copy_(torch.tensor([0.5, 0, 0, 0, 0.5, 0]))
        out = a(x)
        j, i = 13, 14  # output (row 14, col 13) reads input row 14.25, col 12.25
        r, c = 0.5 * (i - 13.5) + 13.5, 0.5 * (j - 11.5) + 11.5
        r0, c0, fr, fc = int(r), int(c), r - int(r), c - int(c)
        want = (
            (1 - fr) * (1 - fc) * x[..., r0, c0]
            + (1 - fr) * fc * x[..., r0, c0 + 1]
            + fr * (1 - fc) * x[..., r0 + 1, c0]
            + fr * fc * x[..., r0 + 1, c0 + 1]
        )
        np.testing.assert_allclose(out[..., i, j].numpy(), want.numpy(), atol=1e-4)
    # a trained alignment travels in the checkpoint
    with torch.no_grad():
        aligned.align.loc[-1].bias.copy_(torch.tensor([0.8, 0.1, 0.05, -0.1, 0.9, 0.0]))
    images = list(np.random.default_rng(1).integers(0, 256, size=(4, 28, 24), dtype=np.uint8))
    enc = load_checkpoint(save_safetensors(aligned, ALIGNED, tmp_path / "a.safetensors").read_bytes(), "a.safetensors")
    np.testing.assert_allclose(enc.encode(images), _oracle(aligned, images, ALIGNED), atol=1e-5)


def test_training_from_scratch_aligns_faces_not_digits():
    from types import SimpleNamespace

    from explorer.training.setup import scratch_options, spec_from_scratch

    faces = SimpleNamespace(kind="image", items=[np.zeros((112, 92), np.uint8)])
    digits = SimpleNamespace(kind="image", items=[np.zeros((8, 8), np.uint8)])
    assert spec_from_scratch(faces, align=True).params.get("align") is True
    assert spec_from_scratch(faces).params.get("align") is None  # opt-in
    assert spec_from_scratch(digits, align=True).params.get("align") is None
    striped = spec_from_scratch(faces, stripes=True)  # 4 stripes of 64 dimensions
    assert striped.params["stripes"] == 4 and striped.out_dim == 256 and spec_from_scratch(faces).out_dim == 64
    assert "stripes" not in spec_from_scratch(digits, stripes=True).params  # 8 rows: too small
    # what the Train page greys out, and why: exactly what spec_from_scratch would drop
    assert scratch_options(faces) == {"align": None, "stripes": None}
    assert scratch_options(digits) == {
        "align": "needs images of at least 24 px on each side; these images train at 8 x 8 px",
        "stripes": "needs images at least 24 px high; these images train at 8 x 8 px",
    }
    wide = SimpleNamespace(kind="image", items=[np.zeros((30, 120), np.uint8)])  # 48 x 12 after scaling
    assert (
        scratch_options(wide)["stripes"].endswith("48 x 12 px")
        and "stripes" not in spec_from_scratch(wide, stripes=True).params
    )
    vectors = SimpleNamespace(kind="vector", items=np.zeros((3, 5)))
    assert all("vectors" in why for why in scratch_options(vectors).values())


def test_a_striped_model_travels_in_a_checkpoint_and_a_bad_split_is_refused(tmp_path):
    spec = ModelSpec(
        "convnet",
        {"in_channels": 1, "widths": [8, 16], "stripes": 4},
        InputSpec("image", 28, 24, 1, mean=(0.5,), std=(0.25,)),
        16,
    )
    torch.manual_seed(0)
    striped = build_model(spec).eval()
    images = list(np.random.default_rng(2).integers(0, 256, size=(5, 28, 24), dtype=np.uint8))
    enc = load_checkpoint(save_safetensors(striped, spec, tmp_path / "s.safetensors").read_bytes(), "s.safetensors")
    assert enc.out_dim == 16
    np.testing.assert_allclose(enc.encode(images), _oracle(striped, images, spec), atol=1e-5)
    with pytest.raises(InputError, match="equal stripes"):  # 16 dimensions do not split into 3
        build_model(ModelSpec("convnet", {"stripes": 3}, spec.input, 16))
