"""Each command-line option changes what it says it changes: one test per option not covered
elsewhere, against the library's own result for that option."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO, image_bytes

from explorer.analysis.pairs import all_pairs
from explorer.analysis.thresholds import pick_threshold
from explorer.analysis.verification import scores_curve
from explorer.cli import main


@pytest.fixture
def table(tmp_path):
    """A vector table whose label column is not one the reader finds by name (``person``)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(12), 8)
    vectors = (rng.normal(size=(96, 6)) + np.eye(6)[labels % 6] * 2 + (labels >= 6)[:, None]).astype(np.float32)
    frame = pd.DataFrame(vectors, columns=[f"v{i}" for i in range(6)])
    frame.insert(0, "person", [f"p{k}" for k in labels])
    frame.insert(0, "id", [f"item{k}" for k in range(96)])
    path = tmp_path / "vectors.csv"
    frame.to_csv(path, index=False)
    return path, vectors, np.array([f"p{k}" for k in labels])


@pytest.mark.parametrize("metric", ["cosine", "manhattan"])
def test_threshold_metric_and_label_column(tmp_path, table, metric):
    path, vectors, labels = table
    out = tmp_path / "card.json"
    args = ["threshold", str(path), "--metric", metric, "--label-column", "person", "--by", "EER", "-o", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    card = json.loads(out.read_text())
    want = pick_threshold(scores_curve(all_pairs(vectors, labels, metric=metric)), "EER")
    assert card["metric"] == metric and card["threshold"] == pytest.approx(want, rel=1e-12)
    assert card["pairs"]["mated"] == 12 * 28  # the labels came from the person column


def test_evaluate_metric_far_and_by(tmp_path, table):
    path, vectors, labels = table
    out = tmp_path / "report.json"
    args = ["evaluate", str(path), "--metric", "euclidean", "--far", "0.05", "--label-column", "person"]
    assert CliRunner().invoke(main, [*args, "-o", str(out)]).exit_code == 0
    data = json.loads(out.read_text())
    card = data["threshold_card"]
    curve = scores_curve(all_pairs(vectors, labels, metric="euclidean"))
    assert card["metric"] == "euclidean" and card["fmr_target"] == 0.05
    assert card["threshold"] == pytest.approx(pick_threshold(curve, "target FAR", target=0.05), rel=1e-12)
    res = CliRunner().invoke(main, ["evaluate", str(path), "--label-column", "person", "--by", "max accuracy",
                                    "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    card = json.loads(out.read_text())["threshold_card"]
    assert card["how_chosen"] == "max accuracy" and card["metric"] == "sqeuclidean"
    want = pick_threshold(scores_curve(all_pairs(vectors, labels, metric="sqeuclidean")), "max accuracy")
    assert card["threshold"] == pytest.approx(want, rel=1e-12)


def test_embed_label_column(tmp_path, table):
    path, _, labels = table
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["embed", str(path), "-m", "none", "--label-column", "person", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out)["label"].astype(str).tolist() == labels.tolist()


def test_embed_faces_lists_the_photos_without_a_face(tmp_path, att_faces):
    folder = tmp_path / "photos"
    for person in ("s1", "s2"):
        shutil.copytree(att_faces / person, folder / person)
    for k in range(3):
        (folder / "s2" / f"blank{k}.png").write_bytes(image_bytes(np.full((112, 92), 128, np.uint8), "PNG"))
    out = tmp_path / "faces.parquet"
    res = CliRunner().invoke(main, ["embed", str(folder), "-m", "faces", "-o", str(out)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    left = [line for line in lines if line.startswith("skipped") and "failure to acquire" in line]
    assert {line.split()[1].rstrip(":") for line in left} >= {f"s2/blank{k}.png" for k in range(3)}
    written = int(lines[-1].split()[0])
    assert written + len(left) == 23 and f"{len(left)} items left out:" in res.output


def test_compare_of_one_folder_says_why_there_is_no_subject_interval(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    same = rng.random(n) < 0.4
    pd.DataFrame(
        {
            "file_x": [f"photos/{k}a.jpg" for k in range(n)],
            "file_y": [f"photos/{k}b.jpg" for k in range(n)],
            "same": same.astype(int),
            "s": np.where(same, 1.0, 0.0) + rng.normal(0, 0.7, n),
            "t": np.where(same, 1.0, 0.0) + rng.normal(0, 0.9, n),
        }
    ).to_csv(tmp_path / "one_folder.csv", index=False)
    out = tmp_path / "table.json"
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "one_folder.csv"), "--metric", "euclidean",
                                    "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "no intervals over subjects: the pairs carry 1 subject" in res.output
    for row in json.loads(out.read_text()):
        for k, text in row.items():
            if k != "system" and "[" in text:
                lo, hi = text.split("[")[1].rstrip("]").split(", ")
                assert lo != hi


def test_identify_names_every_face_of_a_photo_against_a_gallery_folder(tmp_path, att_faces):
    from PIL import Image

    from explorer.faces.pipeline import acquire, describe
    from explorer.faces.store import StoredGallery

    photo = np.asarray(Image.open(REPO / "tests" / "data" / "astronaut.jpg").convert("RGB"))
    face = acquire(photo)
    StoredGallery(tmp_path / "g").enroll("Eileen", describe([face.chip]), [face.chip], ["eileen.jpg"])
    other = np.asarray(Image.open(att_faces / "s1" / "1.pgm").convert("RGB").resize((420, 512)))
    two = np.concatenate([photo, other], axis=1)
    (tmp_path / "two.png").write_bytes(image_bytes(two, "PNG"))
    res = CliRunner().invoke(main, ["identify", str(tmp_path / "two.png"), "--gallery", str(tmp_path / "g")])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 2 and "unknown (closest: Eileen" in lines[0] and ": Eileen at 0.0" in lines[1]
    bad = CliRunner().invoke(main, ["identify", str(tmp_path / "two.png"), "--gallery", str(tmp_path)])
    assert bad.exit_code == 2 and "not a gallery folder" in bad.output


def test_held_out_proves_the_threshold_on_people_it_was_not_picked_on(tmp_path, table):
    from explorer.analysis.dev_eval import dev_eval_all_pairs

    path, vectors, labels = table
    out = tmp_path / "card.json"
    args = ["threshold", str(path), "--label-column", "person", "--by", "EER", "--held-out", "4", "-o", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    held = json.loads(out.read_text())["held_out_people"]
    want = dev_eval_all_pairs(
        vectors, labels, lambda v, lab: all_pairs(v, lab, metric="sqeuclidean"), lambda c: pick_threshold(c, "EER"),
        partitions=4,
    ).as_dict()  # fmt: skip
    assert held["estimates"] == 8 and held["eval_fmr"] == pytest.approx(want["eval_fmr"])
    res = CliRunner().invoke(main, [*args[:-4], "-o", str(out)])
    assert json.loads(out.read_text())["held_out_people"] is None  # not asked: not done


def test_groups_put_false_matches_between_groups_on_the_card(tmp_path, table):
    from explorer.analysis.group_pairs import group_pairs_of_scores

    path, vectors, labels = table
    groups = tmp_path / "groups.csv"
    groups.write_text("person,group\n" + "\n".join(f"p{k},{'young' if k < 6 else 'old'}" for k in range(12)))
    out = tmp_path / "report.json"
    args = ["evaluate", str(path), "--label-column", "person", "--far", "0.05", "--groups", str(groups)]
    res = CliRunner().invoke(main, [*args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    card = json.loads(out.read_text())["threshold_card"]
    s = all_pairs(vectors, labels, metric="sqeuclidean")
    mapping = {f"p{k}": "young" if k < 6 else "old" for k in range(12)}
    want = group_pairs_of_scores(s, labels, mapping, card["threshold"]).as_dict()
    assert [c["false_matches"] for c in card["between_groups"]["cells"]] == [c["false_matches"] for c in want["cells"]]
    md = tmp_path / "report.md"
    assert CliRunner().invoke(main, [*args, "-o", str(md)]).exit_code == 0
    assert "## Between groups" in md.read_text() and "| FMR | old | young |" in md.read_text()


def test_held_out_that_no_split_can_count_says_why_and_writes_the_card(tmp_path, table):
    path, _, _ = table
    out = tmp_path / "card.md"
    # 12 people: a half holds 6, 960 impostor pairs, too few for an FMR of 5e-4 (4,224 in all: enough)
    args = ["threshold", str(path), "--label-column", "person", "--far", "0.0005", "--held-out", "2", "-o", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "## On held-out people\n\nNot counted: no split" in out.read_text()
