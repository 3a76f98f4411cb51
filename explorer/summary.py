"""What the Data & model page shows about a workspace: counts, norms, duplicates, exports."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.data.dataset import count_labels
from explorer.fileio import csv_bytes
from explorer.models.embedding import Embeddings


@dataclass(frozen=True)
class EmbeddingSummary:
    n: int
    dim: int
    n_classes: int
    class_counts: dict[str, int]
    norms: np.ndarray  # (N,) L2 norm of each embedding
    duplicate_rows: int  # rows identical to an earlier row
    duplicate_groups: int  # distinct vectors that occur more than once


def summarize(emb: Embeddings) -> EmbeddingSummary:
    class_counts = count_labels(emb.labels)
    _, dup_counts = np.unique(emb.vectors, axis=0, return_counts=True)
    return EmbeddingSummary(
        n=emb.n,
        dim=emb.dim,
        n_classes=len(class_counts),
        class_counts=class_counts,
        norms=np.linalg.norm(emb.vectors.astype(np.float64), axis=1),
        duplicate_rows=int(emb.n - len(dup_counts)),
        duplicate_groups=int((dup_counts > 1).sum()),
    )


def embeddings_frame(emb: Embeddings) -> pd.DataFrame:
    """One row per item: id, label, then e0..e{D-1}."""
    cols = {f"e{i}": emb.vectors[:, i] for i in range(emb.dim)}
    return pd.DataFrame({"id": emb.ids, "label": emb.labels, **cols})


def to_parquet_bytes(emb: Embeddings) -> bytes:
    buf = io.BytesIO()
    frame = embeddings_frame(emb)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {k.encode(): str(v).encode() for k, v in emb.provenance.items()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    pq.write_table(table, buf)
    return buf.getvalue()


def to_csv_bytes(emb: Embeddings) -> bytes:
    return csv_bytes(embeddings_frame(emb))
