"""AppTest of the Compare page: a published-style scores file evaluated as it is; two models A / B."""

import numpy as np
import pytest
from conftest import open_page
from sklearn.metrics import roc_auc_score
from test_scorefile import published_like


@pytest.fixture
def scores_page():
    at = open_page("app_pages/compare.py")
    frame = published_like()
    at.file_uploader(key="cmp_file").upload("pairs.csv", frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at, frame


def test_a_published_scores_file_is_evaluated_as_it_is(scores_page):
    at, frame = scores_page
    assert not at.error
    table = at.dataframe[0].value
    y = frame["Decision"] == "Yes"
    rows = {r["system"]: r for _, r in table.iterrows()}
    ref = {
        "Facenet_cosine": roc_auc_score(y, -frame["Facenet_cosine"]),
        "ArcFace_similarity": roc_auc_score(y, frame["ArcFace_similarity"]),  # detected: a similarity
        "weak_euclidean": roc_auc_score(y, -frame["weak_euclidean"]),
    }
    for name, auc in ref.items():
        assert rows[name]["AUC"].startswith(f"{auc:.4f} [")
    assert any("detected: a similarity" in c.value for c in at.caption)
    assert any("drawn at random (seed 0)" in m.value for m in at.markdown)  # sorted by label: random folds
    assert any("pairs flip" in m.value for m in at.markdown)


def test_the_card_is_in_the_scores_units_with_intervals_over_subjects(scores_page):
    at, frame = scores_page
    at.selectbox(key="cmp_card_for").set_value("ArcFace_similarity").run()
    at.selectbox(key="cmp_rule").set_value("target FMR").run()
    md = next(e for e in at.expander if e.label == "Preview the card").markdown[0].value
    assert "ArcFace_similarity >= threshold (similarity)" in md and "FMR target 0.001" in md
    assert "over subjects" in md and "presentation attacks" in md


def test_a_direction_set_by_hand_turns_the_curve(scores_page):
    at, frame = scores_page
    at.selectbox(key="cmp_dir_ArcFace_similarity").set_value("distance").run()
    rows = {r["system"]: r for _, r in at.dataframe[0].value.iterrows()}
    y = frame["Decision"] == "Yes"
    assert rows["ArcFace_similarity"]["AUC"].startswith(f"{roc_auc_score(y, -frame['ArcFace_similarity']):.4f} [")


def test_a_file_without_a_truth_column_asks_for_one():
    at = open_page("app_pages/compare.py")
    csv = b"left,right,verdict,s\n" + b"".join(f"x{k},y{k},{k % 2},{k / 10}\n".encode() for k in range(20))
    at.file_uploader(key="cmp_file").upload("p.csv", csv, "text/csv")
    at.run()
    assert any("Map the columns" in w.value for w in at.warning)
    at.selectbox(key="cmp_role_same").set_value("verdict").run()
    assert not at.exception and at.dataframe[0].value.shape[0] == 1
    y = np.arange(20) % 2 == 1
    # larger scores for the mated pairs: detected as a similarity, and read that way
    assert at.dataframe[0].value["AUC"][0].startswith(f"{roc_auc_score(y, np.arange(20) / 10):.4f}")
