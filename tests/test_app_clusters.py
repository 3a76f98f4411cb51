"""AppTest of the Clusters page on the bundled digits: scores shown equal scikit-learn's."""

from pathlib import Path

import numpy as np
import pytest
from conftest import open_page
from sklearn import metrics as skm
from sklearn.cluster import AgglomerativeClustering, KMeans

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def page():
    return open_page("app_pages/clusters.py")


def _m(at):
    return {m.label: m.value for m in at.metric}


def test_kmeans_scores_equal_sklearn(page):
    emb = page.session_state["workspace"].embeddings
    pred = KMeans(n_clusters=10, n_init=3, random_state=0).fit_predict(emb.vectors.astype(np.float64))
    m = _m(page)
    assert m["NMI"] == f"{skm.normalized_mutual_info_score(emb.labels, pred):.4f}"
    assert m["ARI"] == f"{skm.adjusted_rand_score(emb.labels, pred):.4f}"
    assert m["Silhouette"] == f"{skm.silhouette_score(emb.vectors.astype(np.float64), pred):.4f}"


def test_agglomerative_average_cosine(page):
    page.radio(key="cl_method").set_value("agglomerative").run()
    page.selectbox(key="cl_linkage").set_value("average").run()
    page.selectbox(key="cl_metric").set_value("cosine").run()
    assert not page.exception
    emb = page.session_state["workspace"].embeddings
    pred = AgglomerativeClustering(n_clusters=10, linkage="average", metric="cosine").fit_predict(
        emb.vectors.astype(np.float64)
    )
    assert _m(page)["AMI"] == f"{skm.adjusted_mutual_info_score(emb.labels, pred):.4f}"


def test_sweep_suggests_a_k(page):
    page.radio(key="cl_method").set_value("kmeans").run()
    page.slider(key="cl_sweep_range").set_value((5, 12)).run()
    page.button(key="cl_sweep_go").click().run()
    assert not page.exception
    cap = " ".join(c.value for c in page.caption)
    assert "Suggested k = " in cap


def test_projection_colours_by_the_chosen_clustering(page):
    page.radio(key="cl_method").set_value("agglomerative").run()
    page.selectbox(key="cl_linkage").set_value("ward").run()
    page.number_input(key="cl_k").set_value(4).run()
    page.switch_page("app_pages/projection.py").run()
    page.radio(key="pj_method").set_value("PCA").run()
    page.selectbox(key="pj_colour").set_value("cluster").run()
    assert not page.exception
    assert any("agglomerative, k = 4" in c.value for c in page.caption)
    import json

    spec = json.loads(page.get("plotly_chart")[0].proto.spec)
    assert sorted(t["name"] for t in spec["data"]) == [f"cluster {c}" for c in range(4)]
