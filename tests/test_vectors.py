import io

import numpy as np
import pandas as pd
import pytest

from explorer.data.vectors import dataset_from_frame, read_projector_pair, read_table
from explorer.errors import AmbiguousColumnsError, InputError, UnsafeInputError

RNG = np.random.default_rng(0)
VECS = RNG.normal(size=(6, 3)).astype(np.float32)
LABELS = ["a", "a", "b", "b", "c", "c"]


def _csv(sep=","):
    frame = pd.DataFrame(VECS, columns=["x0", "x1", "x2"])
    frame.insert(0, "label", LABELS)
    frame.insert(0, "id", [f"i{i}" for i in range(6)])
    return frame.to_csv(index=False, sep=sep).encode()


@pytest.mark.parametrize("name,sep", [("t.csv", ","), ("t.tsv", "\t")])
def test_csv_tsv(name, sep):
    ds = dataset_from_frame(read_table(_csv(sep), name), name=name)
    np.testing.assert_allclose(ds.items, VECS, rtol=1e-6)
    assert list(ds.labels) == LABELS and list(ds.ids) == [f"i{i}" for i in range(6)]
    assert ds.kind == "vector" and ds.is_embedding


def test_parquet_and_npz():
    frame = read_table(_csv(), "t.csv")
    buf = io.BytesIO()
    frame.to_parquet(buf)
    ds = dataset_from_frame(read_table(buf.getvalue(), "t.parquet"), name="p")
    np.testing.assert_allclose(ds.items, VECS, rtol=1e-6)
    buf = io.BytesIO()
    np.savez(buf, embeddings=VECS, labels=np.array(LABELS))
    ds = dataset_from_frame(read_table(buf.getvalue(), "t.npz"), name="z")
    np.testing.assert_array_equal(ds.items, VECS)
    assert list(ds.labels) == LABELS


def test_npy_needs_a_chosen_label_column():
    buf = io.BytesIO()
    np.save(buf, np.hstack([VECS, np.array([[0], [0], [1], [1], [2], [2]])]))
    frame = read_table(buf.getvalue(), "t.npy")
    with pytest.raises(AmbiguousColumnsError) as err:
        dataset_from_frame(frame.copy(), name="n")
    assert "v3" in err.value.candidates
    ds = dataset_from_frame(frame.copy(), name="n", label_column="v3")
    assert ds.items.shape == (6, 3) and list(ds.labels) == ["0.0", "0.0", "1.0", "1.0", "2.0", "2.0"]


def test_two_text_columns_are_ambiguous():
    frame = pd.DataFrame({"who": list("aabbcc"), "where": list("xyxyxy"), "v": np.arange(6.0)})
    with pytest.raises(AmbiguousColumnsError) as err:
        dataset_from_frame(frame, name="t")
    assert err.value.candidates == ["who", "where"]


def test_nan_and_inf_are_refused_with_rows():
    text = b"label,x,y\na,1,2\nb,nan,2\nc,1,inf\n"
    with pytest.raises(InputError, match="2 rows hold NaN"):
        dataset_from_frame(read_table(text, "t.csv"), name="t")


def test_ragged_rows():
    with pytest.raises(InputError, match="cannot be parsed"):
        read_table(b"label,x,y\na,1,2\nb,1,2,3,4\n", "t.csv")
    with pytest.raises(InputError, match="NaN"):  # short row -> empty cell
        dataset_from_frame(read_table(b"label,x,y\na,1,2\nb,1\n", "t.csv"), name="t")


def test_non_numeric_vector_column():
    text = b"label,x,y\na,1,[1 2]\nb,2,[3 4]\n"
    with pytest.raises(InputError, match="must be numeric.*y"):
        dataset_from_frame(read_table(text, "t.csv"), name="t", label_column="label")


class Boom:
    def __reduce__(self):
        return (print, ("executed",))


def test_pickled_objects_are_refused_not_executed(tmp_path, capsys):
    buf = io.BytesIO()
    np.save(buf, np.array([Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeInputError, match="pickled"):
        read_table(buf.getvalue(), "t.npy")
    with pytest.raises(UnsafeInputError, match="pickle files are refused"):
        read_table(b"\x80\x04junk", "t.pkl")
    assert "executed" not in capsys.readouterr().out


def test_unsupported_extension():
    with pytest.raises(InputError, match="unsupported"):
        read_table(b"x", "t.xlsx")


def test_tf_projector_pair_with_header_and_single_column():
    vec = "\n".join("\t".join(str(v) for v in row) for row in VECS).encode()
    meta = ("label\tsource\n" + "\n".join(f"{lab}\tcam" for lab in LABELS)).encode()
    ds = dataset_from_frame(read_projector_pair(vec, meta), name="p", label_column="label")
    np.testing.assert_allclose(ds.items, VECS, rtol=1e-6)
    single = "\n".join(LABELS).encode()
    ds = dataset_from_frame(read_projector_pair(vec, single), name="p")
    assert list(ds.labels) == LABELS
    with pytest.raises(InputError, match="rows"):
        read_projector_pair(vec, b"a\nb\n")


def test_labels_and_ids_are_read_as_they_were_written():
    """'007', '7' and '7.0' are three identities; people named NA, None or null stay themselves."""
    from explorer.data.vectors import dataset_from_frame, read_table

    csv = b"label,id,a,b\n007,x1,1,2\n7,x2,1,3\n7.0,x3,2,2\nNA,x4,0,1\nNone,x5,1,1\nnull,x6,3,1\n"
    ds = dataset_from_frame(read_table(csv, "t.csv"), name="t")
    assert list(ds.labels) == ["007", "7", "7.0", "NA", "None", "null"]
    ids = b"who,id,a\np1,007,1\np2,7,2\n"
    assert list(dataset_from_frame(read_table(ids, "i.csv"), name="i").ids) == ["007", "7"]


def test_label_is_preferred_over_name_and_float32_overflow_is_refused():
    import pytest

    from explorer.data.vectors import dataset_from_frame, label_candidates, read_table
    from explorer.errors import InputError

    frame = read_table(b"name,label,a\nann,p1,1\nbob,p2,2\n", "t.csv")
    assert label_candidates(frame)[0] == "label"
    with pytest.raises(InputError, match="float32"):
        dataset_from_frame(read_table(b"label,a\np1,1e39\np2,1\n", "t.csv"), name="t")
