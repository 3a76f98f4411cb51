"""The evaluation report: its figures against sklearn and hand loops, its three formats, and the
command line that writes it (the HTML is opened in Chromium in test_browser.py)."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import cdist, pdist
from sklearn.metrics import roc_auc_score

from explorer.analysis.clustering import against_labels, cluster
from explorer.cli import main
from explorer.evaluation import ThresholdChoice, evaluate
from explorer.evaluation_report import figures, report_dict, report_html, report_json, report_markdown
from explorer.models.embedding import Embeddings


def _blobs(n_classes=6, per=15, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(n_classes, dim))
    labels = np.repeat([f"s{i}" for i in range(n_classes)], per)
    x = (centres[np.repeat(np.arange(n_classes), per)] + rng.normal(size=(n_classes * per, dim))).astype(np.float32)
    ids = np.array([f"item{i:03d}" for i in range(len(x))])
    return Embeddings(x, labels, ids, {"data_name": "blobs", "checkpoint_hash": "none"})


@pytest.fixture(scope="module")
def blobs():
    return _blobs()


@pytest.fixture(scope="module")
def ev(blobs):
    return evaluate(blobs, metric="sqeuclidean", choice=ThresholdChoice("target FAR", 0.01))


def test_figures_are_sklearns_and_the_hand_loops(blobs, ev):
    d = pdist(blobs.vectors.astype(np.float64), "sqeuclidean")
    i, j = np.triu_indices(blobs.n, 1)
    same = blobs.labels[i] == blobs.labels[j]
    assert abs(ev.verification.head.auc - roc_auc_score(same, -d)) <= max(ev.verification.head.auc_bound, 1e-6)
    r = ev.verification.result  # the largest threshold whose FAR is within the target, counted by hand
    assert r.far <= 0.01 and r.fp == int(((d <= r.threshold) & ~same).sum())
    assert r.tp == int(((d <= r.threshold) & same).sum())
    full = cdist(blobs.vectors, blobs.vectors, "sqeuclidean")
    np.fill_diagonal(full, np.inf)
    p1 = np.mean(blobs.labels[full.argmin(1)] == blobs.labels)
    assert ev.retrieval.precision_at_1 == pytest.approx(p1)
    assert ev.clusters.metric == "euclidean"  # k-means has no squared form: its distance is the same
    res = cluster(blobs.vectors, method="kmeans", n_clusters=6, metric="euclidean")
    assert ev.clusters.figures == against_labels(blobs.labels, res.labels)
    fa = ev.verification.false_accepts  # closest impostor pairs accepted, from the exact tail
    want = np.sort(d[~same & (d <= r.threshold)])[: len(fa)]
    np.testing.assert_allclose([p.distance for p in fa], want)


def test_the_three_formats_hold_the_same_figures(ev):
    data = json.loads(report_json(ev))
    assert data == json.loads(json.dumps(report_dict(ev) | {"created": data["created"]}))
    assert data["verification"]["auc"] == ev.verification.head.auc
    assert data["threshold_card"]["threshold"] == ev.verification.result.threshold
    assert data["retrieval"]["map_at_r"] == ev.retrieval.map_at_r
    assert len(data["retrieval"]["per_class"]) == 6
    assert data["errors"]["false_accepts"][0]["a"].startswith("item")
    md = report_markdown(ev)
    for heading in ("## Verification", "### TAR at FAR", "## Retrieval", "## Clusters", "## Errors", "threshold card"):
        assert heading in md
    assert f"{ev.verification.head.auc:.6f}" in md
    page = report_html(ev)
    assert "<script src=" not in page  # plotly.js is inside the file (Chromium: no request leaves it)
    assert page.count('class="figure"') == len(figures(ev)) == 5


def test_thumbnails_are_data_urls_and_text_is_escaped(blobs):
    emb = Embeddings(blobs.vectors, blobs.labels.astype(object), blobs.ids.astype(object), {})
    ev = evaluate(emb, choice=ThresholdChoice("EER"))
    shown = ev.verification.false_accepts[0].a  # an item the error gallery shows
    ev.ids[shown] = "<script>alert(1)</script>![x](http://elsewhere.example/t.png)"
    thumbs = [np.full((8, 8), k % 255, np.uint8) for k in range(emb.n)]
    page = report_html(ev, thumbnails=thumbs)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('<img src="data:image/png;base64,') == 2 * (
        len(ev.verification.false_accepts) + len(ev.verification.false_rejects)
    )
    md = report_markdown(ev)
    assert "\\<script>alert(1)\\</script>\\!\\[x\\](http" in md  # read as written, never fetched


def _vector_table(tmp_path, emb: Embeddings):
    frame = pd.DataFrame(emb.vectors, columns=[f"v{i}" for i in range(emb.dim)])
    frame.insert(0, "label", emb.labels)
    frame.insert(0, "id", emb.ids)
    path = tmp_path / "vectors.csv"
    frame.to_csv(path, index=False)
    return path


def test_cli_evaluate_on_a_pairs_file_scores_only_its_pairs(tmp_path, blobs):
    src = _vector_table(tmp_path, blobs)
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, blobs.n, 200), rng.integers(0, blobs.n, 200)
    keep = a != b
    a, b = a[keep], b[keep]
    same = blobs.labels[a] == blobs.labels[b]
    pd.DataFrame({"id_a": blobs.ids[a], "id_b": blobs.ids[b], "same": same.astype(int)}).to_csv(
        tmp_path / "pairs.csv", index=False
    )
    out = tmp_path / "report.json"
    res = CliRunner().invoke(
        main, ["evaluate", str(src), "--pairs", str(tmp_path / "pairs.csv"), "--by", "EER", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["pairs"]["genuine"] + data["pairs"]["impostor"] == len(a)
    d = ((blobs.vectors[a].astype(np.float64) - blobs.vectors[b]) ** 2).sum(1)
    assert abs(data["verification"]["auc"] - roc_auc_score(same, -d)) <= 1e-6
    assert data["threshold_card"]["pairs"]["from"] == f"protocol file, {len(a)} pairs"
    html = tmp_path / "report.html"
    assert CliRunner().invoke(main, ["evaluate", str(src), "-o", str(html)]).exit_code == 0
    assert html.read_text().count('class="figure"') == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pairs", "missing.csv", "-o", "r.html"], "no such pairs file"),
        (["-o", "r.pdf"], "write the report as .html, .md, .json"),
        (["--by", "target FAR", "-o", "r.md"], "needs --far"),
        (["--far", "1e-9", "-o", "r.md"], "cannot be measured"),
    ],
)
def test_cli_evaluate_bad_input_exits_2_with_one_line(tmp_path, blobs, extra, message):
    src = _vector_table(tmp_path, blobs)
    args = [str(tmp_path / a) if a.startswith(("r.", "missing")) else a for a in extra]
    res = CliRunner().invoke(main, ["evaluate", str(src), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
