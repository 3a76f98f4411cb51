"""The command line: the same embeddings as the library, one-line errors with exit code 2."""

import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from explorer.cli import main
from explorer.data.digits import load_digits
from explorer.models.checkpoints import load_default_encoder
from explorer.models.embedding import embed_dataset


def test_embed_digits_writes_the_library_embeddings_with_provenance(tmp_path):
    out = tmp_path / "digits.parquet"
    res = CliRunner().invoke(main, ["embed", "digits", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "1,797 embeddings written" in res.output
    table = pq.read_table(out)
    want = embed_dataset(load_digits(), load_default_encoder())
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert meta["checkpoint_hash"] == want.provenance["checkpoint_hash"]
    frame = table.to_pandas()
    vec = frame[[c for c in frame.columns if c not in ("id", "label")]].to_numpy(np.float32)
    np.testing.assert_array_equal(vec, want.vectors)
    assert list(frame["label"]) == list(want.labels)


def test_embed_a_vector_table_as_it_is(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5)).astype(np.float32)
    frame = pd.DataFrame(x, columns=[f"v{i}" for i in range(5)])
    frame.insert(0, "label", [f"s{i % 3}" for i in range(30)])
    src = tmp_path / "vectors.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "out.npz"
    res = CliRunner().invoke(main, ["embed", str(src), "-m", "none", "-o", str(out)])
    assert res.exit_code == 0, res.output
    with np.load(io.BytesIO(out.read_bytes()), allow_pickle=False) as z:
        np.testing.assert_array_equal(z["vectors"], x)
        assert list(z["labels"]) == list(frame["label"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["embed", "/no/such/place", "-o", "x.parquet"], "not 'digits', a folder of images or a vector table"),
        (["embed", "digits", "-m", "none", "-o", "x.parquet"], "images need a model"),
        (["embed", "digits", "-o", "x.txt"], "write .parquet, .csv or .npz"),
        (["embed", "digits", "-m", "missing.safetensors", "-o", "x.npz"], "no such checkpoint"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, args, message):
    res = CliRunner().invoke(main, [a if not a.startswith("x.") else str(tmp_path / a) for a in args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert len([line for line in res.output.splitlines() if line.startswith("Error:")]) == 1


def test_threshold_card_is_the_pages_for_the_embeddings_embed_wrote(tmp_path):
    """The card's threshold is the library's pick on all pairs; the provenance is the model's."""
    import json

    from explorer.analysis.pairs import all_pairs
    from explorer.analysis.thresholds import pick_threshold
    from explorer.analysis.verification import scores_curve

    emb_path = tmp_path / "digits.parquet"
    assert CliRunner().invoke(main, ["embed", "digits", "-o", str(emb_path)]).exit_code == 0
    out = tmp_path / "card.json"
    res = CliRunner().invoke(main, ["threshold", str(emb_path), "--far", "1e-3", "-o", str(out)])
    assert res.exit_code == 0, res.output
    card = json.loads(out.read_text())
    want = embed_dataset(load_digits(), load_default_encoder())
    curve = scores_curve(all_pairs(want.vectors, want.labels, metric="sqeuclidean"))
    assert card["threshold"] == pick_threshold(curve, "target FAR", target=1e-3)
    assert card["fmr_target"] == 1e-3 and card["comparison"]["fmr"] <= 1e-3
    assert json.dumps(want.provenance["checkpoint_hash"]) in out.read_text()
    md = tmp_path / "card.md"
    assert CliRunner().invoke(main, ["threshold", str(emb_path), "--by", "EER", "-o", str(md)]).exit_code == 0
    assert "EER" in md.read_text()
    bad = CliRunner().invoke(main, ["threshold", str(emb_path), "--far", "1e-9", "-o", str(out)])
    assert bad.exit_code == 2 and "cannot be measured" in bad.output and "Traceback" not in bad.output


def test_compare_two_score_columns_is_the_pages_table(tmp_path):
    """Two score columns of one file: the table's point figures are sklearn's AUC of each column."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    n = 400
    same = rng.random(n) < 0.3
    subject = rng.integers(0, 20, n)
    good = np.where(same, rng.normal(2, 1, n), rng.normal(0, 1, n))  # a similarity
    weak = np.where(same, rng.normal(0.5, 1, n), rng.normal(1, 1, n))  # a distance, weaker
    pd.DataFrame(
        {
            "subject_a": subject,
            "subject_b": np.where(same, subject, (subject + 1) % 20),
            "same": same.astype(int),
            "good": good,
            "weak": weak,
        }
    ).to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "table.json"
    res = CliRunner().invoke(
        main, ["compare", str(tmp_path / "scores.csv"), "--score", "weak", "--score", "good", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    import json

    rows = json.loads(out.read_text())
    assert [r["system"] for r in rows] == ["weak", "good", "good - weak"]
    for row, auc in zip(rows, (roc_auc_score(same, -weak), roc_auc_score(same, good)), strict=False):
        assert row["AUC"].startswith(f"{auc:.4f} [")
    assert "good: read as a similarity" in res.output


def test_compare_two_models_embeddings_on_the_same_pairs(tmp_path):
    """The digits embedded by the bundled model and by no model (raw pixels): MAP@R of each is the
    library's retrieval on the same items."""
    from explorer.analysis.retrieval import retrieval_metrics
    from explorer.summary import to_parquet_bytes

    ds = load_digits()
    emb_a = embed_dataset(ds, load_default_encoder())
    pixels = np.stack([np.asarray(x, np.float32).ravel() for x in ds.items])
    raw = pd.DataFrame(pixels, columns=[f"p{i}" for i in range(pixels.shape[1])])
    raw.insert(0, "label", ds.labels)
    raw.insert(0, "id", ds.ids)
    raw.to_parquet(tmp_path / "pixels.parquet")
    (tmp_path / "model.parquet").write_bytes(to_parquet_bytes(emb_a))
    out = tmp_path / "table.md"
    res = CliRunner().invoke(
        main, ["compare", str(tmp_path / "pixels.parquet"), str(tmp_path / "model.parquet"), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    want_a = retrieval_metrics(pixels, ds.labels, metric="euclidean").map_at_r
    want_b = retrieval_metrics(emb_a.vectors, ds.labels, metric="euclidean").map_at_r
    text = out.read_text()
    assert f"| {want_a:.4f} |" in text and f"| {want_b:.4f} |" in text
    bad = CliRunner().invoke(main, ["compare", str(tmp_path / "pixels.parquet"), str(tmp_path / "nothing.parquet")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
