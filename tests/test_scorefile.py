"""Pair score files: columns found or mapped, directions detected and stated, folds at random."""

import io

import numpy as np
import pandas as pd
import pytest

from explorer.data.scorefile import (
    DISTANCE,
    SIMILARITY,
    ColumnMap,
    guess_columns,
    random_folds,
    read_scores,
    subjects_from_labels,
)
from explorer.errors import InputError


def published_like(n_same=140, n_diff=140, seed=0) -> pd.DataFrame:
    """Like published face-pair files: file names, Yes / No, several models' scores, sorted by label."""
    rng = np.random.default_rng(seed)
    people = [f"p{k}" for k in range(20)]
    rows = []
    for k in range(n_same + n_diff):
        same = k < n_same
        pa = people[k % 20]
        pb = pa if same else people[(k % 20 + 1 + k % 7) % 20]
        rows.append(
            {
                "file_x": f"{pa}/img{k % 5}.jpg",
                "file_y": f"{pb}/img{(k + 1) % 5}.jpg",
                "Decision": "Yes" if same else "No",
                "Facenet_cosine": (0.2 if same else 0.8) + rng.normal(0, 0.05),  # a distance, separates
                "ArcFace_similarity": (0.7 if same else 0.1) + rng.normal(0, 0.2),  # a similarity
                "weak_euclidean": (1.0 if same else 1.1) + rng.normal(0, 0.3),
            }
        )
    return pd.DataFrame(rows)


def test_columns_are_found_by_name_and_the_rest_are_scores():
    cols = guess_columns(published_like())
    assert (cols.a, cols.b, cols.same) == ("file_x", "file_y", "Decision")
    assert cols.scores == ("Facenet_cosine", "ArcFace_similarity", "weak_euclidean")


def test_directions_are_detected_and_scores_evaluated_as_given():
    from sklearn.metrics import roc_auc_score

    frame = published_like()
    t = read_scores(frame, guess_columns(frame))
    assert t.directions["Facenet_cosine"] is DISTANCE and t.directions["ArcFace_similarity"] is SIMILARITY
    assert t.detected["Facenet_cosine"] > 0.99
    y = frame["Decision"] == "Yes"
    np.testing.assert_array_equal(t.same, y)
    for name in ("Facenet_cosine", "ArcFace_similarity"):
        # as a distance (smaller = same), the AUC is sklearn's on the score read the right way
        ref = roc_auc_score(y, frame[name] if name.endswith("similarity") else -frame[name])
        assert roc_auc_score(t.same, -t.distances(name)) == pytest.approx(ref, abs=1e-12)
    assert t.subjects is not None and t.subjects[0][0] == "p0"  # identity/file names give the subjects


def test_a_direction_set_by_the_user_wins():
    frame = published_like()
    t = read_scores(frame, guess_columns(frame), {"ArcFace_similarity": "distance"})
    assert t.directions["ArcFace_similarity"] is DISTANCE and "ArcFace_similarity" not in t.detected


def test_a_file_sorted_by_label_gets_random_folds_with_both_kinds_in_each():
    frame = published_like()
    t = read_scores(frame, guess_columns(frame))
    assert "at random" in t.fold_source and len(np.unique(t.fold)) == 10
    for k in range(10):
        assert 0 < t.same[t.fold == k].mean() < 1
    np.testing.assert_array_equal(random_folds(280), t.fold)  # seeded: the same folds every time
    frame["fold"] = np.arange(len(frame)) % 4
    t = read_scores(frame, guess_columns(frame))
    assert "'fold' column" in t.fold_source and set(t.fold) == {0, 1, 2, 3}


def test_unknown_truth_rows_are_listed_and_missing_scores_left_out():
    frame = published_like()
    frame.loc[3, "Decision"] = "maybe"
    frame.loc[5, "weak_euclidean"] = np.nan
    t = read_scores(frame, guess_columns(frame))
    assert len(t) == 279 and "row 5" in t.malformed[0] and "maybe" in t.malformed[0]
    assert np.isnan(t.scores["weak_euclidean"]).sum() == 1


def test_mapped_columns_and_clear_errors():
    frame = pd.DataFrame({"left": ["x"] * 4, "right": ["y"] * 4, "verdict": [1, 0, 1, 0], "s": [0.1, 0.9, 0.2, 0.8]})
    with pytest.raises(InputError, match="same identity"):
        guess_columns(frame)
    t = read_scores(frame, ColumnMap(same="verdict", scores=("s",), a="left", b="right"))
    assert t.directions["s"] is DISTANCE and t.subjects is None
    with pytest.raises(InputError, match="no column 'nope'"):
        read_scores(frame, ColumnMap(same="nope", scores=("s",)))
    with pytest.raises(InputError, match="holds no numbers"):
        read_scores(frame.assign(s="x"), ColumnMap(same="verdict", scores=("s",)))
    with pytest.raises(InputError, match="reads as same"):
        read_scores(frame.assign(verdict="?"), ColumnMap(same="verdict", scores=("s",)))
    with pytest.raises(InputError, match="whole numbers"):
        read_scores(frame.assign(f=[0.5, 1, 2, 3]), ColumnMap(same="verdict", scores=("s",), fold="f"))


def test_csv_round_trip_and_subjects_from_a_workspace():
    frame = published_like()
    parsed = pd.read_csv(io.BytesIO(frame.to_csv(index=False).encode()))
    t = read_scores(parsed, guess_columns(parsed))
    ids = np.array([f"p{k}/img{j}.jpg" for k in range(20) for j in range(5)])
    labels = np.array([f"person {k}" for k in range(20) for _ in range(5)])
    sa, sb = subjects_from_labels(t.a, t.b, ids, labels)
    assert sa[0] == "person 0" and (sa[t.same] == sb[t.same]).all()
    assert subjects_from_labels(t.a, t.b, ids[:10], labels[:10]) is None


def test_figures_of_a_published_file_are_sklearn_s_to_1e_12():
    """AUC and EER of each score column as the file gives it, against sklearn (EER: its ROC,
    FAR = FRR solved on the straight segments)."""
    from scipy.interpolate import interp1d
    from scipy.optimize import brentq
    from sklearn.metrics import roc_auc_score, roc_curve

    from explorer.analysis.comparison import weighted_figures

    frame = published_like()
    t = read_scores(frame, guess_columns(frame))
    y = (frame["Decision"] == "Yes").to_numpy()
    for name, sign in (("Facenet_cosine", -1), ("ArcFace_similarity", 1), ("weak_euclidean", -1)):
        f = weighted_figures(t.distances(name), t.same)
        s = sign * frame[name].to_numpy()
        fpr, tpr, _ = roc_curve(y, s)
        perfect = roc_auc_score(y, s) == 1.0  # the crossing is at 0 (brentq has no sign change)
        eer = 0.0 if perfect else brentq(lambda v, f=fpr, t=tpr: 1 - v - interp1d(f, t)(v), 0, 1, xtol=1e-15)
        assert f["AUC"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert f["EER"] == pytest.approx(eer, abs=1e-9)


def test_a_header_without_rows_says_so():
    frame = pd.DataFrame({"file_x": [], "file_y": [], "same": [], "score": []})
    with pytest.raises(InputError, match="a header .* and no rows"):
        guess_columns(frame)
