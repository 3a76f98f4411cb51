"""AppTest of the Threshold page on the bundled digits: the figures shown match the library."""

from pathlib import Path

import numpy as np
import pytest
from conftest import open_page
from streamlit.testing.v1 import AppTest

from explorer.analysis.pairs import all_pairs
from explorer.analysis.thresholds import at_threshold, pick_threshold
from explorer.analysis.verification import eer, scores_curve, tar_at_far

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def reference():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    emb = at.session_state["workspace"].embeddings
    return scores_curve(all_pairs(emb.vectors, emb.labels, metric="sqeuclidean"))


@pytest.fixture
def page():
    return open_page("app_pages/threshold.py")


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def _pct(v):
    return f"{100 * v:.4g}%"


def test_slider_moves_every_figure(page, reference):
    page.selectbox(key="th_by").set_value("slider (manual)").run()
    page.slider(key="th_slider").set_value(0.6).run()
    assert not page.exception
    r = at_threshold(reference, 0.6)
    m = _metrics(page)
    assert m["Threshold"] == f"{r.threshold:.5g}" and m["FAR"] == _pct(r.far) and m["TAR"] == _pct(r.tar)
    assert m["Accuracy"] == _pct(r.accuracy)
    conf = page.dataframe[0].value
    assert conf.iloc[0, 0] == r.tp and conf.iloc[1, 0] == r.fp and conf.iloc[0, 1] == r.fn
    e, et = eer(reference)
    assert m["EER"] == f"{100 * e:.3f}%" and m["EER threshold"] == f"{et:.5g}"
    table = page.dataframe[1].value
    tar = tar_at_far(reference, 1e-3)
    assert table.loc[table["FAR target"] == "0.001", "TAR"].item() == f"{tar:.6f}"
    t_far = pick_threshold(reference, "target FAR", target=1e-3)
    assert table.loc[table["FAR target"] == "0.001", "threshold"].item() == f"{t_far:.5g}"
    # 1.45 M impostor pairs: FAR 1e-6 allows one false accept, so it is measurable (and exact, from the tail)
    assert table.loc[table["FAR target"] == "1e-06", "TAR"].item() == f"{tar_at_far(reference, 1e-6):.6f}"


@pytest.mark.parametrize("by", ["EER", "max accuracy", "target FAR"])
def test_pick_by_sets_the_threshold(page, reference, by):
    page.selectbox(key="th_by").set_value(by).run()
    assert not page.exception
    opts = {"target": 1e-3} if by == "target FAR" else {}
    t = pick_threshold(reference, by, **opts)
    r = at_threshold(reference, t)
    m = _metrics(page)
    assert m["Threshold"] == f"{r.threshold:.5g}" and m["FAR"] == _pct(r.far) and m["TAR"] == _pct(r.tar)
    assert page.slider(key="th_slider").value == pytest.approx(t)
    if by == "target FAR":
        assert r.far <= 1e-3


def test_card_and_gallery(page):
    page.selectbox(key="th_by").set_value("EER").run()
    md = [m.value for m in page.markdown if "Verification threshold card" in m.value]
    assert md and "EER" in md[0] and "sha256" in md[0]
    texts = " ".join(m.value for m in page.markdown)
    assert "False accepts" in texts and "False rejects" in texts


def test_protocol_csv_with_unknown_ids_and_bad_lines(page):
    emb = page.session_state["workspace"].embeddings
    ids, labels = emb.ids, emb.labels
    rng = np.random.default_rng(0)
    lines = ["id_a,id_b,same"]
    for _ in range(300):
        a, b = rng.integers(0, len(ids), 2)
        lines.append(f"{ids[a]},{ids[b]},{int(labels[a] == labels[b])}")
    for c in np.unique(labels):  # genuine pairs of every class
        k = np.flatnonzero(labels == c)[:6]
        lines += [f"{ids[k[j]]},{ids[k[j + 1]]},1" for j in range(5)]
    lines += ["nobody,also_nobody,1", f"{ids[0]},{ids[1]},maybe"]
    page.radio(key="th_source").set_value("Pairs from a protocol file").run()
    assert not page.exception
    page.file_uploader(key="th_pairs_file").set_value(("pairs.csv", "\n".join(lines).encode(), "text/csv")).run()
    assert not page.exception
    texts = " ".join(e.label for e in page.expander)
    assert "2 lines skipped: 1 name an item not in the workspace (2 distinct ids), 1 malformed" in texts
    # the figures are those of the listed pairs, computed by hand
    from explorer.analysis.distances import pairwise
    from explorer.analysis.verification import roc_curve

    rows = [ln.split(",") for ln in lines[1:-2]]
    where = {v: k for k, v in enumerate(ids)}
    a, b = np.array([where[r[0]] for r in rows]), np.array([where[r[1]] for r in rows])
    same = np.array([r[2] == "1" for r in rows])
    d = np.array([pairwise(emb.vectors[[i]], emb.vectors[[j]], metric="sqeuclidean")[0, 0] for i, j in zip(a, b)])
    curve = roc_curve(d[same], d[~same])
    page.selectbox(key="th_by").set_value("EER").run()
    e, et = eer(curve)
    m = _metrics(page)
    assert m["EER"] == f"{100 * e:.3f}%" and m["EER threshold"] == f"{et:.5g}"
    assert any("fold accuracy" in md.value for md in page.markdown)


def test_lfw_pairs_on_real_faces_end_to_end(att_faces):
    """Faces named the LFW way, a 10-fold pairs.txt: the page's k-fold line equals a plain loop."""
    import io
    import zipfile

    from test_thresholds import _plain_kfold

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for person in sorted(att_faces.iterdir()):
            for img in sorted(person.glob("*.pgm")):
                zf.write(img, f"faces/{person.name}/{person.name}_{int(img.stem):04d}.pgm")
    rng = np.random.default_rng(1)
    lines, folds, n = [], 10, 20
    for _ in range(folds):
        for _ in range(n):
            p = f"s{rng.integers(1, 41)}"
            i, j = rng.choice(np.arange(1, 11), 2, replace=False)
            lines.append(f"{p} {i} {j}")
        for _ in range(n):
            p, q = rng.choice(np.arange(1, 41), 2, replace=False)
            lines.append(f"s{p} {rng.integers(1, 11)} s{q} {rng.integers(1, 11)}")
    text = f"{folds} {n}\n" + "\n".join(lines) + "\nnot a pair line\n"

    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.radio(key="dm_source").set_value("Image folder (zip)").run()
    at.file_uploader[0].upload("faces.zip", buf.getvalue(), "application/zip")
    at.run()
    at.button(key="dm_go").click().run()
    assert not at.exception, at.exception
    at.switch_page("app_pages/threshold.py").run()
    at.radio(key="th_source").set_value("Pairs from a protocol file").run()
    at.file_uploader(key="th_pairs_file").set_value(("pairs.txt", text.encode(), "text/plain")).run()
    assert not at.exception, at.exception
    assert "1 line skipped: 0 name an item not in the workspace (0 distinct ids), 1 malformed" in " ".join(
        e.label for e in at.expander
    )

    emb = at.session_state["workspace"].embeddings
    where = {str(v).rsplit(".", 1)[0]: k for k, v in enumerate(emb.ids)}
    a, b, same, fold = [], [], [], []
    for k, ln in enumerate(lines):
        parts = ln.split()
        if len(parts) == 3:
            ia, ib = f"{parts[0]}/{parts[0]}_{int(parts[1]):04d}", f"{parts[0]}/{parts[0]}_{int(parts[2]):04d}"
        else:
            ia, ib = f"{parts[0]}/{parts[0]}_{int(parts[1]):04d}", f"{parts[2]}/{parts[2]}_{int(parts[3]):04d}"
        a.append(where[ia])
        b.append(where[ib])
        same.append(len(parts) == 3)
        fold.append(k // (2 * n))
    v = emb.vectors.astype(np.float64)
    d = ((v[a] - v[b]) ** 2).sum(1)  # sqeuclidean, the page's default
    mean, std = _plain_kfold(d, np.array(same), np.array(fold))
    line = next(m.value for m in at.markdown if "fold accuracy" in m.value)
    assert line.startswith("**10-fold accuracy**") and f"{100 * mean:.2f}% +- {100 * std:.2f}%" in line


def test_a_pairs_file_that_is_not_one_is_refused(page):
    ws = page.session_state["workspace"]
    page.radio(key="th_source").set_value("Pairs from a protocol file").run()
    page.file_uploader(key="th_pairs_file").set_value(("pairs.txt", b"hello world\nnot pairs\n", "text/plain")).run()
    assert not page.exception
    assert any("folds n" in e.value for e in page.error)
    assert page.session_state["workspace"] is ws


def test_a_file_whose_matching_pairs_are_all_genuine_says_so_not_one_identity(page):
    """A six-plus-identity workspace and a file of which one genuine pair matches: the page says how
    many of the file's pairs matched, and that no impostor pair is left, not "only one identity"."""
    ids = page.session_state["workspace"].embeddings.ids
    labels = page.session_state["workspace"].embeddings.labels
    k = np.flatnonzero(labels == labels[0])[:2]
    text = "id_a,id_b,same\n" + f"{ids[k[0]]},{ids[k[1]]},1\n" + "nobody,also_nobody,0\nghost,spirit,0\n"
    page.radio(key="th_source").set_value("Pairs from a protocol file").run()
    page.file_uploader(key="th_pairs_file").set_value(("pairs.csv", text.encode(), "text/csv")).run()
    assert not page.exception
    warnings = " ".join(w.value for w in page.warning)
    assert "1 of the file's pairs matched items of this workspace" in warnings and "no impostor" in warnings
    assert "Only one identity" not in warnings


def test_the_distance_is_the_models_own_until_changed(att_faces, tmp_path, monkeypatch):
    from conftest import open_faces_workspace

    at = open_faces_workspace(att_faces, tmp_path, monkeypatch, 4, "app_pages/threshold.py")
    assert at.selectbox(key="th_metric").value == "euclidean"  # the face descriptor's, as its card says
    at.selectbox(key="th_metric").set_value("cosine").run()
    at.switch_page("app_pages/distances.py").run()
    assert at.selectbox(key="ds_metric").value == "euclidean"
    at.switch_page("app_pages/threshold.py").run()
    assert at.selectbox(key="th_metric").value == "cosine"  # a choice holds within the workspace
    digits = open_page("app_pages/threshold.py")
    assert digits.selectbox(key="th_metric").value == "sqeuclidean"  # a model that does not say


def test_beyond_the_counts_shows_the_named_points_modelled_rates_and_calibration(page):
    from explorer.analysis.calibration import Pairs, min_cllr
    from explorer.analysis.operating_points import named_points
    from explorer.analysis.tail_model import fit_tail

    emb = page.session_state["workspace"].embeddings
    s = all_pairs(emb.vectors, emb.labels, metric="sqeuclidean")
    frames = [d.value for d in page.dataframe]
    named = next(f for f in frames if "point" in f).set_index("point")["value"]
    want = named_points(scores_curve(s))
    assert named["FMR1000"] == f"{100 * want.fmr1000:.3f}%" and named["ZeroFNMR"] == f"{100 * want.zero_fnmr:.3f}%"
    modelled = next(f for f in frames if "modelled threshold" in f)
    assert list(modelled["FMR"]) == ["1e-07", "1e-08"]  # 1.45 M impostor pairs count down to 1e-6
    tail = fit_tail(s.impostor, s.n_impostor, floor=0.0)
    assert modelled["modelled threshold"].iloc[0] == f"{tail.threshold_at(1e-7):.5g}"
    assert _metrics(page)["min Cllr"] == f"{min_cllr(Pairs.binned(s)):.4f} bits"
    assert any("95% over pairs" in c.value for c in page.caption)


def test_the_threshold_proven_on_held_out_people_goes_on_the_card(page):
    from explorer.analysis.dev_eval import dev_eval_all_pairs

    page.selectbox(key="th_by").set_value("target FAR").run()
    page.number_input(key="th_far").set_value(1e-3).run()
    page.button(key="th_dev_eval").click().run()
    assert not page.exception
    emb = page.session_state["workspace"].embeddings
    want = dev_eval_all_pairs(
        emb.vectors,
        emb.labels,
        lambda v, lab: all_pairs(v, lab, metric="sqeuclidean"),
        lambda c: pick_threshold(c, "target FAR", target=1e-3),
    )
    table = next(d.value for d in page.dataframe if "FMR eval" in d.value)
    assert list(table["FMR eval"]) == pytest.approx([r.eval_fmr for r in want.rows])
    assert _metrics(page)["FMR on held-out people"] == f"{100 * want.as_dict()['eval_fmr']['mean']:.4g}%"
    card = next(m.value for m in page.markdown if "## On held-out people" in m.value)
    assert "counted on people it was not picked on" in card


def test_a_group_file_gives_false_matches_between_groups_on_the_card(page):
    from explorer.analysis.group_pairs import group_pairs_of_scores

    rows = "identity,group\n" + "\n".join(f"{k},{'even' if k % 2 == 0 else 'odd'}" for k in range(10))
    page.file_uploader(key="th_groups_file").upload("groups.csv", rows.encode(), "text/csv")
    page.run()
    assert not page.exception, page.exception
    emb = page.session_state["workspace"].embeddings
    s = all_pairs(emb.vectors, emb.labels, metric="sqeuclidean")
    t = page.session_state["th_picked"]["threshold"]
    want = group_pairs_of_scores(s, emb.labels, {str(k): "even" if k % 2 == 0 else "odd" for k in range(10)}, t)
    cells = next(d.value for d in page.dataframe if "false matches" in d.value)
    assert list(cells["false matches"]) == [int(want.false_matches[i, j]) for i in range(2) for j in range(i, 2)]
    assert list(cells["groups"]) == ["even with even", "even with odd", "odd with odd"]
    card = next(m.value for m in page.markdown if "## Between groups" in m.value)
    assert "| FMR | even | odd |" in card
