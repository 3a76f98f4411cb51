"""The held-out view of a workspace whose model trained here."""

import numpy as np

from explorer.data.dataset import Dataset
from explorer.models.embedding import Embeddings
from explorer.models.encoder import Encoder, ModelInfo
from explorer.models.spec import InputSpec
from explorer.workspace import Workspace, card_entry, held_out, scope


def _ws(identities):
    labels = np.array([f"p{k % 5}" for k in range(20)])
    ds = Dataset("d", "vector", [str(k) for k in range(20)], labels, np.eye(20, dtype=np.float32), "h" * 64, "server")
    info = {} if identities is None else {"training_data": {"identities": identities}}
    enc = Encoder(InputSpec(kind="vector", dim=20), 20, ModelInfo("m", "safetensors", "c" * 64, "none", info))
    emb = Embeddings(np.eye(20, dtype=np.float32), labels, ds.ids, {"data_hash": "h" * 64, "checkpoint_hash": "c" * 64})
    return Workspace(ds, enc, emb)


def test_held_out_view_keeps_only_identities_the_model_never_saw():
    ws = _ws(["p0", "p1", "p9"])
    s = scope(ws)
    assert (s.identities, s.identities_seen, s.items, s.items_seen) == (5, 2, 20, 8)
    view = held_out(ws)
    assert set(view.embeddings.labels) == {"p2", "p3", "p4"} and view.embeddings.n == 12
    assert (ws.embeddings.labels[view.rows] == view.embeddings.labels).all()
    assert view.key != ws.key and view.dataset.content_hash != ws.dataset.content_hash
    assert len(view.dataset) == 12 and view.dataset.items.shape == (12, 20)
    assert card_entry(ws, view) == {
        "which": "held-out identities (never seen in training)",
        "identities": 3,
        "seen_in_training": 0,
        "items": 12,
    }
    assert card_entry(ws, ws)["seen_in_training"] == 2


def test_a_model_that_says_nothing_of_its_training_sees_the_whole_workspace():
    ws = _ws(None)
    assert scope(ws) is None and held_out(ws) is ws and card_entry(ws, ws) is None
    assert scope(_ws(["q1"])) is None  # trained on other identities: nothing here was seen
