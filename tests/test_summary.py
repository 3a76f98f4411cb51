import io

import numpy as np
import pandas as pd

from explorer.models.embedding import Embeddings
from explorer.summary import summarize, to_csv_bytes, to_parquet_bytes


def _emb():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(20, 4)).astype(np.float32)
    v[5] = v[0]
    v[6] = v[0]
    v[9] = v[3]
    labels = np.array(["a"] * 8 + ["b"] * 12)
    return Embeddings(v, labels, np.array([f"i{i}" for i in range(20)]), {"data_hash": "x"})


def test_summary_against_hand_loops():
    emb = _emb()
    s = summarize(emb)
    seen, dups = [], 0
    for row in emb.vectors:
        if any(np.array_equal(row, r) for r in seen):
            dups += 1
        else:
            seen.append(row)
    assert s.duplicate_rows == dups == 3 and s.duplicate_groups == 2
    assert s.class_counts == {"a": 8, "b": 12} and s.n_classes == 2
    np.testing.assert_allclose(s.norms, [np.sqrt((r.astype(float) ** 2).sum()) for r in emb.vectors])


def test_exports_roundtrip():
    emb = _emb()
    pq = pd.read_parquet(io.BytesIO(to_parquet_bytes(emb)))
    csv = pd.read_csv(io.BytesIO(to_csv_bytes(emb)))
    for frame in (pq, csv):
        assert list(frame.columns[:2]) == ["id", "label"]
        np.testing.assert_allclose(frame[[f"e{i}" for i in range(4)]].to_numpy(), emb.vectors, rtol=1e-6)
        assert list(frame["label"]) == list(emb.labels)
