"""Vector tables: CSV, TSV, Parquet, NPY/NPZ and the TensorFlow Embedding Projector TSV pair.

Every format becomes a DataFrame first, then one path picks the label, id and vector columns.
NPY/NPZ are read with ``allow_pickle=False``: an object array is refused, never unpickled.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd

from explorer.data.dataset import Dataset, hash_parts
from explorer.errors import AmbiguousColumnsError, InputError, UnsafeInputError

LABEL_NAMES = ("label", "labels", "class", "identity", "target", "name", "person")
ID_NAMES = ("id", "ids", "item_id", "filename", "file", "path")
VECTOR_KEYS = ("embeddings", "embedding", "vectors", "x", "features", "X")
LABEL_KEYS = ("labels", "label", "y", "targets", "target")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".joblib")


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """Parse a table file into a DataFrame by its extension."""
    lower = filename.lower()
    if lower.endswith(PICKLE_SUFFIXES):
        raise UnsafeInputError(
            f"{filename}: pickle files are refused (they can run code when opened); use CSV, TSV, Parquet, NPY or NPZ"
        )
    try:
        check_decoded_size(data, lower, filename)
        if lower.endswith((".csv", ".tsv", ".txt")):
            return _read_delimited(data, "\t" if lower.endswith((".tsv", ".txt")) else ",")
        if lower.endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        if lower.endswith(".npy"):
            return _frame_from_array(np.load(io.BytesIO(data), allow_pickle=False), filename)
        if lower.endswith(".npz"):
            return _frame_from_npz(data, filename)
    except (UnsafeInputError, InputError):
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object arrays" in str(exc).lower():
            raise UnsafeInputError(
                f"{filename}: holds pickled Python objects, which are never loaded; save plain numeric arrays"
            ) from None
        raise InputError(f"{filename}: cannot be parsed: {exc}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{filename}: cannot be parsed: {str(exc).strip()}") from None
    raise InputError(f"{filename}: unsupported table format; use .csv, .tsv, .parquet, .npy or .npz")


TEXT = "text"  # frame.attrs key: {column: its cells as written}


def _npy_bytes(fh) -> int:
    """What an NPY stream declares it holds (its header alone is read)."""
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(fh)
    if dtype.hasobject:
        raise UnsafeInputError("holds pickled Python objects, which are never loaded; save plain numeric arrays")
    return int(np.prod(shape, dtype=np.float64)) * dtype.itemsize


def check_decoded_size(data: bytes, lower: str, filename: str) -> None:
    """Refuse a table whose decoded size exceeds ``EXPLORER_MAX_TABLE_BYTES`` before decoding it:
    NPY / NPZ by their headers (an NPZ member's declared size, not its compressed one), Parquet by
    its rows x columns (8 bytes a cell at least), CSV / TSV by its bytes times the worst growth of a
    number's text into float64 (8 bytes from a 2-byte cell: 4x)."""
    import zipfile as _zip

    from explorer import config

    limit = config.settings().max_table_bytes
    if lower.endswith(".npy"):
        size = _npy_bytes(io.BytesIO(data))
    elif lower.endswith(".npz"):
        with _zip.ZipFile(io.BytesIO(data)) as z:
            size = 0
            for info in z.infolist():
                with z.open(info) as fh:
                    size += _npy_bytes(fh)
    elif lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        # encoded sizes shrink repeated values to nothing: count 8 bytes a cell at least, as decoded
        encoded = sum(meta.row_group(k).total_byte_size for k in range(meta.num_row_groups))
        size = max(encoded, 8 * meta.num_rows * meta.num_columns)
    else:
        size = 4 * len(data)
    if size > limit:
        raise UnsafeInputError(
            f"{filename}: would take {size:,} bytes once decoded, over the limit of {limit:,} "
            "(EXPLORER_MAX_TABLE_BYTES)"
        )


def _read_delimited(data: bytes, sep: str) -> pd.DataFrame:
    """Numbers parsed for the vectors; columns that could be a label or an id read as written:
    text columns keep NA, None or null as names (not missing values), and a column named like a
    label or an id (or any whole-number one, in a table of at most 16 columns) keeps its text beside
    (``text_of``), so "007", "7" and "7.0" stay three labels."""
    frame = pd.read_csv(io.BytesIO(data), sep=sep)
    named = {str(c) for c in frame.columns if str(c).lower() in LABEL_NAMES + ID_NAMES}
    texts = [c for c in frame.columns if frame[c].dtype == object]
    whole = [
        c
        for c in frame.columns
        if c not in texts and (str(c) in named or (pd.api.types.is_integer_dtype(frame[c]) and frame.shape[1] <= 16))
    ]
    if texts or whole:
        text = pd.read_csv(io.BytesIO(data), sep=sep, usecols=texts + whole, dtype=str, keep_default_na=False)
        for c in texts:
            frame[c] = text[c]
        if whole:
            frame.attrs[TEXT] = {str(c): text[c].tolist() for c in whole}
    return frame


def text_of(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column's cells as the file wrote them (where it kept them), else as read, as text."""
    kept = frame.attrs.get(TEXT, {}).get(str(column))
    return np.asarray(kept if kept is not None else frame[column].astype(str).to_numpy(), dtype=str)


def _frame_from_array(arr: np.ndarray, filename: str) -> pd.DataFrame:
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{filename}: array of dtype {arr.dtype} is not numeric")
    if arr.ndim != 2:
        raise InputError(f"{filename}: expected a 2-D array (N x D), got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"v{i}" for i in range(arr.shape[1])])


def _frame_from_npz(data: bytes, filename: str) -> pd.DataFrame:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        keys = list(npz.keys())
        vec_key = next((k for k in VECTOR_KEYS if k in keys), None)
        if vec_key is None:
            two_d = [k for k in keys if npz[k].ndim == 2]
            if len(two_d) != 1:
                raise InputError(f"{filename}: name the vectors array one of {VECTOR_KEYS} (found {keys})")
            vec_key = two_d[0]
        frame = _frame_from_array(npz[vec_key], filename)
        for key, col in (
            (next((k for k in LABEL_KEYS if k in keys), None), "label"),
            ("ids" if "ids" in keys else None, "id"),
        ):
            if key is not None:
                values = npz[key]
                if len(values) != len(frame):
                    raise InputError(f"{filename}: {key!r} has {len(values)} rows, vectors have {len(frame)}")
                frame.insert(0, col, values.astype(str))
    return frame


def read_projector_pair(vectors: bytes, metadata: bytes) -> pd.DataFrame:
    """The TF Embedding Projector pair: vectors TSV without header + metadata TSV.

    The metadata has a header row when it has several columns; a one-column file has none
    (as the projector writes it), which is detected by its row count.
    """
    try:
        vec = pd.read_csv(io.BytesIO(vectors), sep="\t", header=None)
        meta = pd.read_csv(io.BytesIO(metadata), sep="\t", header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"projector files cannot be parsed: {str(exc).strip()}") from None
    if len(meta) == len(vec) + 1:
        meta = pd.DataFrame(meta.values[1:], columns=[str(c) for c in meta.iloc[0]])
    elif len(meta) == len(vec) and meta.shape[1] == 1:
        meta.columns = ["label"]
    else:
        raise InputError(f"metadata has {len(meta)} rows for {len(vec)} vectors (expected N, or N + a header)")
    vec.columns = [f"v{i}" for i in range(vec.shape[1])]
    frame = pd.concat([meta.reset_index(drop=True), vec], axis=1)
    frame.attrs["vector_columns"] = list(vec.columns)  # other metadata columns are not vectors
    return frame


def label_candidates(frame: pd.DataFrame) -> list[str]:
    """Columns that could hold the label: well-known names, then non-numeric columns."""
    named = sorted(
        (c for c in frame.columns if str(c).lower() in LABEL_NAMES), key=lambda c: LABEL_NAMES.index(str(c).lower())
    )
    if named:  # in the order of LABEL_NAMES: "label" before "name"
        return named
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) and str(c).lower() not in ID_NAMES]


def dataset_from_frame(
    frame: pd.DataFrame,
    *,
    name: str,
    label_column: str | None = None,
    id_column: str | None = None,
    origin: str = "upload",
    is_embedding: bool = True,
) -> Dataset:
    """A vector Dataset from a table: one label column, an optional id column, numeric vectors.

    Raises ``AmbiguousColumnsError`` when the label column must be chosen, ``InputError`` for
    missing labels, non-numeric vector columns, NaN/inf values or an empty table.
    """
    if frame.empty:
        raise InputError(f"{name}: the table has no rows")
    frame.columns = [str(c) for c in frame.columns]
    if label_column is None:
        cands = label_candidates(frame)
        if len(cands) != 1:
            msg = (
                f"{name}: several columns could be the label ({', '.join(cands)}): choose one"
                if cands
                else f"{name}: no label column found (looked for {', '.join(LABEL_NAMES)} or a text column): choose one"
            )
            raise AmbiguousColumnsError(msg, cands or list(frame.columns))
        label_column = cands[0]
    if label_column not in frame.columns:
        raise InputError(f"{name}: no column {label_column!r}; columns are {list(frame.columns)}")
    if id_column is None:
        id_column = next((c for c in frame.columns if c.lower() in ID_NAMES and c != label_column), None)
    vector_cols = frame.attrs.get("vector_columns") or [c for c in frame.columns if c not in (label_column, id_column)]
    bad = [c for c in vector_cols if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise InputError(f"{name}: vector columns must be numeric; not numeric: {', '.join(bad[:8])}")
    if not vector_cols:
        raise InputError(f"{name}: no numeric vector columns besides the label")
    vectors = frame[vector_cols].to_numpy(dtype=np.float64)
    with np.errstate(over="ignore"):
        finite = np.isfinite(vectors.astype(np.float32))  # checked in the dtype kept: 1e39 is inf in float32
    if not finite.all():
        rows = np.flatnonzero(~finite.all(axis=1))
        raise InputError(
            f"{name}: {len(rows)} {'row holds' if len(rows) == 1 else 'rows hold'} NaN, inf, empty cells or "
            "values beyond float32's range (3.4e38) "
            f"(data rows {', '.join(map(str, rows[:5] + 1))}, counting from 1 below the header); "
            "fix or drop them"
        )
    labels = text_of(frame, label_column)
    ids = text_of(frame, id_column) if id_column else np.array([f"row_{i}" for i in range(len(frame))])
    if len(set(ids)) != len(ids):
        raise InputError(f"{name}: id column {id_column!r} has repeated values")
    vectors = vectors.astype(np.float32)
    digest = hash_parts([vectors.tobytes(), labels.astype("U").tobytes(), ids.astype("U").tobytes()])
    return Dataset(name, "vector", ids, labels, vectors, content_hash=digest, origin=origin, is_embedding=is_embedding)
