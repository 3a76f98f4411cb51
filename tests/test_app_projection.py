"""AppTest of the Projection page on the bundled digits: every point drawn, at the library's coordinates."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import open_page

from explorer.analysis.projection import default_epochs, project_pca, project_umap
from explorer.ui.projection import PREVIEW_EPOCHS

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def page():
    return open_page("app_pages/projection.py", timeout=300)


def _array(v):
    """Plotly sends numpy arrays as typed arrays: {"dtype": ..., "bdata": base64}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def _points(at):
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    xs = np.concatenate([_array(t["x"]).astype(float) for t in spec["data"]])
    rows = np.concatenate([_array(t["customdata"]).astype(int) for t in spec["data"]])
    return rows, xs, spec


def test_umap_map_draws_every_point_at_library_coordinates(page):
    emb = page.session_state["workspace"].embeddings
    assert any("1,797 points drawn (UMAP, 2D)" in c.value for c in page.caption)
    rows, xs, spec = _points(page)
    assert len(rows) == 1797 and sorted(rows) == list(range(1797))
    assert len(spec["data"]) == 10  # one trace per digit
    # same seed, same map: the page's preview run, then the full run from it
    preview = project_umap(emb.vectors, random_state=0, n_epochs=PREVIEW_EPOCHS)
    ref = project_umap(emb.vectors, random_state=0, init=preview, n_epochs=default_epochs(1797) - PREVIEW_EPOCHS)
    np.testing.assert_allclose(xs, ref[rows, 0], rtol=1e-5, atol=1e-5)


def test_pca_3d_and_colour_by_neighbour(page):
    page.radio(key="pj_method").set_value("PCA").run()
    page.radio(key="pj_dims").set_value(3).run()
    page.selectbox(key="pj_colour").set_value("nearest neighbour has another label").run()
    assert not page.exception
    emb = page.session_state["workspace"].embeddings
    rows, xs, spec = _points(page)
    assert spec["data"][0]["type"] == "scatter3d" and len(rows) == 1797
    ref = project_pca(emb.vectors, n_components=3)
    np.testing.assert_allclose(xs, ref[rows, 0], rtol=1e-4, atol=1e-4)
    assert {t["name"] for t in spec["data"]} <= {"another label", "same label"}


def test_search_outlines_a_label_and_lists_its_items(page):
    page.radio(key="pj_method").set_value("PCA").run()
    page.radio(key="pj_dims").set_value(2).run()
    page.selectbox(key="pj_colour").set_value("label").run()
    page.text_input(key="pj_find").set_value("3").run()
    assert not page.exception
    labels = page.session_state["workspace"].dataset.labels
    n = int((labels == "3").sum())
    rows, _, spec = _points(page)
    matches = spec["data"][-1]
    assert matches["name"] == f"matches ({n})"
    assert sorted(_array(matches["customdata"]).astype(int)) == sorted(np.flatnonzero(labels == "3"))
    assert any(f"Found: {n} items" in h.value for h in page.subheader)
    page.text_input(key="pj_find").set_value("no such thing").run()
    assert any("Nothing found" in w.value for w in page.warning)


def test_a_bounded_map_draws_a_sample_and_says_so(monkeypatch):
    monkeypatch.setenv("EXPLORER_MAP_POINTS", "1000")
    at = open_page("app_pages/projection.py", timeout=300)
    at.radio(key="pj_method").set_value("PCA").run()
    rows, _, spec = _points(at)
    assert len(rows) == 1000 and len(np.unique(rows)) == 1000
    assert any("1,000 points drawn of 1,797 (a random sample" in c.value for c in at.caption)


def test_the_hover_images_use_no_deprecated_streamlit_api(caplog):
    """The map's hover preview is an st.iframe of our own script: no deprecation warning (a
    Streamlit release may drop st.components.v1.html any day), the captions' "<" escaped in it."""
    import logging

    with caplog.at_level(logging.WARNING):
        at = open_page("app_pages/projection.py", timeout=300)
        at.radio(key="pj_method").set_value("PCA").run()
    assert not at.exception, at.exception
    frames = at.get("iframe")
    assert frames and "plotly_hover" in frames[0].proto.srcdoc
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if "deprecat" in m.lower() or "will be removed" in m], said
