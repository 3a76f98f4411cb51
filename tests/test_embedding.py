import numpy as np
import pytest
import torch

from explorer.data.digits import load_digits
from explorer.errors import InputError
from explorer.models import encoder as encoder_mod
from explorer.models.checkpoints import load_default_encoder
from explorer.models.embedding import EmbeddingCache, Embeddings, embed_dataset, embed_items


@pytest.fixture(scope="module")
def digits():
    return load_digits()


class Counting:
    """Wraps an encoder and counts forward calls (to prove the cache avoids recomputation)."""

    def __init__(self, enc):
        self.enc, self.calls = enc, 0

    def __getattr__(self, name):
        return getattr(self.enc, name)

    def encode(self, items):
        self.calls += 1
        return self.enc.encode(items)


def test_digits_dataset(digits):
    from sklearn.datasets import load_digits as sk

    assert len(digits) == 1797 and len(digits.classes) == 10
    np.testing.assert_array_equal(digits.labels.astype(int), sk().target)
    assert digits.items[0].shape == (8, 8) and digits.items[0].max() <= 255


def test_batched_equals_one_by_one(digits):
    enc = load_default_encoder()
    items = digits.items[:64]
    batched = embed_items(enc, items, batch_size=32)
    single = np.concatenate([enc.encode([x]) for x in items])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert batched.dtype == np.float32 and batched.shape == (64, 32)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_fast_path_matches_plain_fp32_model(digits):
    from safetensors.torch import load_file

    from explorer import config
    from explorer.models.architectures import build_model
    from explorer.models.spec import ModelSpec

    spec = ModelSpec.from_json(config.DEFAULT_CHECKPOINT.with_suffix(".json").read_text())
    plain = build_model(spec)
    plain.load_state_dict(load_file(config.DEFAULT_CHECKPOINT))
    enc = load_default_encoder()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in enc.model.modules())  # conv+BN folded
    x = torch.from_numpy(enc.preprocess(digits.items[:50]))
    with torch.no_grad():
        ref = plain.eval()(x).numpy()
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(enc.encode(digits.items[:50]), ref, atol=1e-5)


def test_batch_size_is_cache_sized():
    enc = load_default_encoder()
    assert enc.batch_size == 512  # 8x8 digits
    from explorer.models.encoder import Encoder
    from explorer.models.spec import InputSpec

    faces = Encoder(InputSpec("image", 112, 92, 1), 8, enc.model_info)
    assert faces.batch_size == 16


def test_bf16_only_when_the_operator_asks_and_calibration_keeps_cosine(digits, monkeypatch):
    monkeypatch.setattr(encoder_mod, "bf16_supported", lambda: True)
    plain = load_default_encoder()
    fp32 = embed_items(plain, digits.items[:256], batch_size=128)
    assert plain.precision == "fp32" and not plain.bf16_allowed  # the default: exact fp32
    monkeypatch.setenv("EXPLORER_BF16", "1")
    enc = load_default_encoder()
    fast = embed_items(enc, digits.items[:256], batch_size=128)
    assert enc.bf16_allowed and enc.precision in {"bf16", "fp32"}
    assert enc.preprocessing_key() != plain.preprocessing_key()  # cached apart from fp32 embeddings
    cos = (fp32 * fast).sum(1)
    assert cos.min() >= 0.9999
    if enc.precision == "bf16":  # the calibration batch is returned in the precision of the rest
        again = embed_items(enc, digits.items[:128], batch_size=128)
        np.testing.assert_array_equal(again, fast[:128])


def test_cache_avoids_recompute_and_survives_restart(digits, tmp_path):
    enc = Counting(load_default_encoder())
    cache = EmbeddingCache(tmp_path)
    a = embed_dataset(digits, enc, cache=cache, batch_size=512)
    calls = enc.calls
    b = embed_dataset(digits, enc, cache=cache, batch_size=512)
    assert enc.calls == calls and b is a
    files = list((tmp_path / "embeddings").glob("*"))
    assert len(files) == 1 and files[0].suffix == ".npz"  # written atomically: no temp left over
    fresh = EmbeddingCache(tmp_path)  # a restarted server
    c = embed_dataset(digits, enc, cache=fresh)
    assert enc.calls == calls
    np.testing.assert_array_equal(c.vectors, a.vectors)
    assert list(c.labels) == list(a.labels) and c.provenance == a.provenance
    assert a.provenance["data_hash"] == digits.content_hash


def test_uploads_stay_in_memory(digits, tmp_path):
    digits_upload = type(digits)(**{**digits.__dict__, "origin": "upload"})
    cache = EmbeddingCache(tmp_path)
    embed_dataset(digits_upload, load_default_encoder(), cache=cache)
    assert not (tmp_path / "embeddings").exists()


def test_vectors_pass_through_and_need_no_model():
    import pandas as pd

    from explorer.data.vectors import dataset_from_frame

    frame = pd.DataFrame({"label": ["a", "b"], "x": [1.0, 2.0], "y": [3.0, 4.0]})
    emb = embed_dataset(dataset_from_frame(frame, name="t"), None)
    np.testing.assert_array_equal(emb.vectors, [[1, 3], [2, 4]])
    ds = dataset_from_frame(frame, name="t", is_embedding=False)
    with pytest.raises(InputError, match="needs a model"):
        embed_dataset(ds, None)
    with pytest.raises(InputError, match="takes images"):
        embed_dataset(ds, load_default_encoder())


def test_npz_roundtrip_refuses_pickle():
    emb = Embeddings(np.eye(3, dtype=np.float32), np.array(["a", "b", "c"]), np.array(["1", "2", "3"]), {"k": 1})
    back = Embeddings.from_npz(emb.to_npz())
    np.testing.assert_array_equal(back.vectors, emb.vectors)
    assert back.provenance == {"k": 1}
