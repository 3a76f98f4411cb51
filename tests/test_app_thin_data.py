"""Both pair pages on bad or thin data: each case explained on the page, no exception, workspace kept."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.data.dataset import Dataset
from explorer.models.embedding import Embeddings
from explorer.workspace import Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["app_pages/distances.py", "app_pages/threshold.py"]


def _workspace(vectors, labels, name):
    vectors = np.asarray(vectors, np.float32)
    ids = np.array([f"item{k}" for k in range(len(vectors))])
    labels = np.asarray(labels).astype(str)
    ds = Dataset(name, "vector", ids, labels, vectors, content_hash=name * 8, origin="upload", is_embedding=True)
    prov = {
        "data_name": name,
        "data_hash": name * 8,
        "model_name": "none",
        "model_format": "none",
        "checkpoint_hash": "none",
        "preprocessing": "as loaded",
        "n": len(vectors),
        "dim": vectors.shape[1],
    }
    return Workspace(ds, None, Embeddings(vectors, labels, ids, prov))


def _open(page, ws):
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.session_state["workspace"] = ws
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.session_state["workspace"] is ws  # kept
    return at


def _texts(at):
    return " ".join([w.value for w in at.warning] + [e.value for e in at.error] + [i.value for i in at.info])


RNG = np.random.default_rng(0)
CASES = {
    "one_class": (RNG.normal(size=(30, 4)), np.zeros(30), "Only one identity"),
    "singletons": (RNG.normal(size=(12, 4)), np.arange(12), "single item"),
    "equal": (np.ones((20, 4)), np.arange(20) % 3, "same distance"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("page", PAGES)
def test_thin_data_is_explained(case, page):
    x, y, phrase = CASES[case]
    at = _open(page, _workspace(x, y, case))
    if case == "equal" and page.endswith("threshold.py"):
        phrase = "All "
    assert phrase in _texts(at), _texts(at)


@pytest.mark.parametrize("page", PAGES)
def test_nan_rows_are_left_out_and_named(page):
    x = RNG.normal(size=(60, 4))
    x[[3, 7], 1] = np.nan
    at = _open(page, _workspace(x, np.arange(60) % 4, "nan"))
    assert "2 items have NaN" in _texts(at) and "item3" in _texts(at)
    labels = {m.label: m.value for m in at.metric}
    if page.endswith("distances.py"):
        n = 58  # the pairs of the finite rows only
        assert (
            int(labels["Genuine pairs"].replace(",", "")) + int(labels["Impostor pairs"].replace(",", ""))
            == n * 57 // 2
        )
    else:
        assert "Threshold" in labels


def test_sampling_beyond_the_operators_limit_is_reported(monkeypatch):
    monkeypatch.setenv("EXPLORER_MAX_PAIRS", "1000")
    monkeypatch.setenv("EXPLORER_IMPOSTOR_SAMPLE", "3000")
    x = RNG.normal(size=(200, 4))
    at = _open("app_pages/threshold.py", _workspace(x, np.arange(200) % 5, "sampled"))
    captions = " ".join(c.value for c in at.caption)
    assert "3,000 impostor pairs sampled uniformly out of" in captions
    at.switch_page("app_pages/distances.py").run()
    assert not at.exception
    assert "sampled uniformly" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("case", sorted(CASES) + ["nan"])
@pytest.mark.parametrize("page", ["app_pages/projection.py", "app_pages/retrieval.py", "app_pages/clusters.py"])
def test_other_pages_hold_on_thin_data(case, page):
    if case == "nan":
        x = RNG.normal(size=(60, 4))
        x[[3, 7], 1] = np.nan
        y = np.arange(60) % 4
    else:
        x, y, _ = CASES[case]
    at = _open(page, _workspace(x, y, case))  # no exception, workspace kept
    if case == "singletons" and page.endswith("retrieval.py"):
        assert "single item" in _texts(at)
    if case == "nan":
        assert "2 items have NaN" in _texts(at)
    if case == "equal":
        assert "same embedding" in _texts(at)
