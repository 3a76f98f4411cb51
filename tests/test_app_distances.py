"""AppTest of the Distances page on the bundled digits: the figures shown match the library."""

from pathlib import Path

import numpy as np
import pytest
from conftest import open_page

from explorer.analysis.pairs import all_pairs
from explorer.analysis.scores import separation

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def page():
    return open_page("app_pages/distances.py")


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def test_figures_match_library_and_metric_switch(page):
    emb = page.session_state["workspace"].embeddings
    m = _metrics(page)
    n = emb.n
    labels = emb.labels
    counts = np.unique(labels, return_counts=True)[1]
    n_gen = int((counts * (counts - 1) // 2).sum())
    assert m["Genuine pairs"] == f"{n_gen:,}" and m["Impostor pairs"] == f"{n * (n - 1) // 2 - n_gen:,}"
    ref = separation(all_pairs(emb.vectors, labels, metric="sqeuclidean"))
    assert m["d-prime"] == f"{ref.d_prime:.3f}"
    page.selectbox(key="ds_metric").set_value("cosine").run()
    ref = separation(all_pairs(emb.vectors, labels, metric="cosine"))
    assert _metrics(page)["d-prime"] == f"{ref.d_prime:.3f}"
    assert len(page.dataframe) == 2


def test_facenet_mark_offered_for_unit_norm_sqeuclidean(page):
    assert page.checkbox(key="ds_facenet").value is False
    page.checkbox(key="ds_facenet").check().run()
    assert not page.exception


def test_histograms_are_densities_by_default(page):
    """1,800 genuine pairs against 78,000 impostor ones: as counts the genuine histogram is a sliver,
    so both are scaled to area 1 unless the user asks for counts."""
    import base64
    import json

    def values(v):  # plotly writes numpy arrays as typed arrays (dtype + base64 bytes)
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"]) if isinstance(v, dict) else np.asarray(v)

    def histogram():
        fig = json.loads(page.get("plotly_chart")[0].proto.spec)
        return fig["layout"]["yaxis"]["title"]["text"], fig["data"]

    title, bars = histogram()
    assert title == "density" and page.toggle(key="ds_density").value
    for bar in bars:  # each integrates to 1 over its bins
        assert np.sum(values(bar["y"]) * values(bar["width"])) == pytest.approx(1.0, rel=1e-6)
    page.toggle(key="ds_density").set_value(False).run()
    title, bars = histogram()
    assert title == "pairs" and values(bars[0]["y"]).sum() == int(_metrics(page)["Genuine pairs"].replace(",", ""))


def test_a_sampled_workspace_shows_a_first_look_then_the_full_sample(monkeypatch):
    """Beyond EXPLORER_MAX_PAIRS the impostor pairs are sampled; a first look from 1,000,000 of
    them is drawn first, then replaced: the page ends on the full sample's figures."""
    monkeypatch.setenv("EXPLORER_MAX_PAIRS", "100000")
    monkeypatch.setenv("EXPLORER_IMPOSTOR_SAMPLE", "1200000")
    at = open_page("app_pages/distances.py")
    ws = at.session_state["workspace"]
    emb = ws.embeddings
    full = all_pairs(emb.vectors, emb.labels, metric="sqeuclidean", max_pairs=100_000, sample_size=1_200_000)
    assert _metrics(at)["Impostor pairs"] == f"{full.n_impostor:,}" == "1,200,000"
    assert _metrics(at)["d-prime"] == f"{separation(full).d_prime:.3f}"
    assert not [i for i in at.info if "first look" in i.value]  # replaced by the full figures
