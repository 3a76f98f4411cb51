"""AppTest of the Retrieval page on the bundled digits: the figures shown match the library and PML."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import open_page
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN

from explorer.analysis.neighbors import build_index
from explorer.analysis.quality import label_suspects, neighbours
from explorer.analysis.retrieval import retrieval_metrics

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def page():
    return open_page("app_pages/retrieval.py")


def test_metrics_shown_equal_pml(page):
    emb = page.session_state["workspace"].embeddings
    calc = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        knn_func=CustomKNN(LpDistance(normalize_embeddings=False)),
        device=torch.device("cpu"),
    )
    x, y = torch.from_numpy(emb.vectors), torch.from_numpy(np.unique(emb.labels, return_inverse=True)[1])
    ref = calc.get_accuracy(x, y, x, y, ref_includes_query=True)
    m = {e.label: e.value for e in page.metric}
    assert m["Precision@1"] == f"{ref['precision_at_1']:.4f}"
    assert m["MAP@R"] == f"{ref['mean_average_precision_at_r']:.4f}"
    per_class = page.dataframe[0].value
    assert len(per_class) == 10 and per_class["map_at_r"].is_monotonic_increasing


def test_flags_listed_with_ids(page):
    emb = page.session_state["workspace"].embeddings
    sus = label_suspects(emb.labels, neighbours(emb.vectors, build_index(emb.vectors, metric="sqeuclidean")))
    frames = [d.value for d in page.dataframe]
    shown = next(f for f in frames if "neighbour_label" in f.columns)
    assert list(shown["item"]) == list(emb.ids[sus["item"].to_numpy()])


def test_metric_switch_and_hnsw_offered_only_beyond_exact_size(page, monkeypatch):
    page.selectbox(key="rt_metric").set_value("cosine").run()
    assert not page.exception and not [r for r in page.radio if r.key == "rt_kind"]  # 1,797 items: exact only
    assert any("Exact search over all 1,797 items" in c.value for c in page.caption)
    import explorer.config

    monkeypatch.setattr(explorer.config, "EXACT_SEARCH_UP_TO", 1000)  # as if the workspace were large
    page.run()
    page.radio(key="rt_kind").set_value("hnsw").run()
    assert not page.exception
    emb = page.session_state["workspace"].embeddings
    exact = retrieval_metrics(emb.vectors, emb.labels, metric="cosine").map_at_r
    m = {e.label: e.value for e in page.metric}
    assert abs(float(m["MAP@R"]) - exact) < 0.01
    how = next(c.value for c in page.caption if c.value.startswith("How approximate"))
    assert f"exact search {exact:.4f}" in how and f"MAP@R {float(m['MAP@R']):.4f}" in how
