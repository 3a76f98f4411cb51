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
    at.selectbox(key="cmp_rule").set_value("target FAR").run()
    md = next(e for e in at.expander if e.label == "Preview the card").markdown[0].value
    assert "ArcFace_similarity >= threshold (similarity)" in md and "(target FMR 0.001)" in md
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


def _many_columns(n_scores: int, *, one_folder: bool, seed: int = 3, n: int = 240):
    import pandas as pd

    rng = np.random.default_rng(seed)
    same = np.arange(n) % 2 == 0
    frame = pd.DataFrame(
        {
            "file_x": [f"photos/{k}_a.jpg" if one_folder else f"p{k % 30}/a{k}.jpg" for k in range(n)],
            "file_y": [
                f"photos/{k}_b.jpg" if one_folder else f"p{k % 30 if s else (k + 1) % 30}/b{k}.jpg"
                for k, s in enumerate(same)
            ],
            "same": same.astype(int),
        }
    )
    scores = {f"system_{j}": np.where(same, 1.0, 0.0) + rng.normal(0, 0.5 + 0.05 * j, n) for j in range(n_scores)}
    return pd.concat([frame, pd.DataFrame(scores)], axis=1)  # similarities


def test_twelve_score_columns_of_one_folder_give_no_zero_width_interval():
    """Every item in one folder: one subject, so no interval over subjects, and none of zero width."""
    at = open_page("app_pages/compare.py")
    frame = _many_columns(12, one_folder=True)
    at.file_uploader(key="cmp_file").upload("pairs.csv", frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.multiselect(key="cmp_drawn").value == ["system_0", "system_1"]  # A and B drawn, all in the table
    table = at.dataframe[0].value
    assert len(table) == 13  # 12 systems and B - A
    y = frame["same"] == 1
    rows = {r["system"]: r for _, r in table.iterrows()}
    assert rows["system_11"]["AUC"].startswith(f"{roc_auc_score(y, frame['system_11']):.4f} [")
    for _, row in table.iterrows():
        for f, text in row.items():
            if f != "system" and "[" in text:
                lo, hi = text.split("[")[1].rstrip("]").split(", ")
                assert lo != hi, (row["system"], f, text)
    assert any("No intervals over subjects" in w.value and "1 subject" in w.value for w in at.warning)
    md = next(e for e in at.expander if e.label == "Preview the card").markdown[0].value
    assert "not computed: the pairs carry 1 subject" in md
    hist = at.get("plotly_chart")[-1]
    assert "system_0" in hist.proto.spec and "system_5" not in hist.proto.spec
    at.multiselect(key="cmp_drawn").set_value([f"system_{j}" for j in range(12)]).run()
    assert not at.exception, at.exception


def test_two_hundred_score_columns_and_scores_near_the_float_limit():
    at = open_page("app_pages/compare.py")
    frame = _many_columns(200, one_folder=False, n=120)
    frame.loc[:5, "system_0"] = 1e308
    frame.loc[6:11, "system_0"] = -1e308
    at.file_uploader(key="cmp_file").upload("wide.csv", frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    assert len(at.dataframe[0].value) == 201
    y = frame["same"] == 1
    rows = {r["system"]: r for _, r in at.dataframe[0].value.iterrows()}
    assert rows["system_0"]["AUC"].startswith(f"{roc_auc_score(y, frame['system_0']):.4f}")


def test_a_scores_file_with_a_header_and_no_rows_says_so():
    at = open_page("app_pages/compare.py")
    at.file_uploader(key="cmp_file").upload("empty.csv", b"file_x,file_y,same,score\n", "text/csv")
    at.run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "a header" in errors and "no rows" in errors and "numeric" not in errors


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_compare_page_holds_a_scores_file_to_its_row_budget(monkeypatch, kind):
    import io

    monkeypatch.setenv("EXPLORER_MAX_SCORE_ROWS", "100")
    frame = _many_columns(2, one_folder=False, n=101)

    def upload(f):
        at = open_page("app_pages/compare.py")
        if kind == "csv":
            data = f.to_csv(index=False).encode()
        else:
            buf = io.BytesIO()
            f.to_parquet(buf)
            data = buf.getvalue()
        at.file_uploader(key="cmp_file").upload(f"pairs.{kind}", data, "application/octet-stream")
        at.run()
        assert not at.exception, at.exception
        return at

    over = upload(frame)
    assert any("EXPLORER_MAX_SCORE_ROWS" in e.value for e in over.error) and not over.dataframe
    within = upload(frame.iloc[:100])
    assert not within.error and len(within.dataframe[0].value) == 3


def test_the_workspace_panel_shows_on_a_page_that_stops_before_its_upload():
    at = open_page("app_pages/compare.py")  # Compare stops until a scores file is given
    said = " ".join(m.value for m in at.sidebar.markdown)
    assert "### Workspace" in said and "**Data:**" in said


def test_the_card_proves_its_rule_on_held_out_subjects(scores_page):
    from explorer.analysis.dev_eval import dev_eval_listed
    from explorer.analysis.thresholds import pick_threshold

    at, frame = scores_page
    at.selectbox(key="cmp_card_for").set_value("Facenet_cosine").run()
    md = next(e for e in at.expander if e.label == "Preview the card").markdown[0].value
    assert "## On held-out people" in md
    subjects = (frame["file_x"].str.split("/").str[0].to_numpy(), frame["file_y"].str.split("/").str[0].to_numpy())
    want = dev_eval_listed(
        frame["Facenet_cosine"].to_numpy(),
        (frame["Decision"] == "Yes").to_numpy(),
        subjects,
        lambda c: pick_threshold(c, "EER"),
    ).as_dict()
    row = next(line for line in md.splitlines() if line.startswith("| FNMR |"))
    assert f"{100 * want['eval_fnmr']['mean']:.4g}%" in row


def test_a_groups_file_puts_false_matches_between_groups_on_the_compare_card(scores_page):
    at, frame = scores_page
    rows = "subject,group\n" + "\n".join(f"p{k},{'even' if k % 2 == 0 else 'odd'}" for k in range(20))
    at.file_uploader(key="cmp_groups_file").upload("groups.csv", rows.encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    md = next(e for e in at.expander if e.label == "Preview the card").markdown[0].value
    assert "## Between groups" in md and "| FMR | even | odd |" in md
