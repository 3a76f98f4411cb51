"""Dataset x Encoder -> Embeddings, batched, with progress, cached by content hash."""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer import config
from explorer.data.dataset import Dataset
from explorer.errors import InputError
from explorer.fileio import cache_write, touch
from explorer.models.encoder import Encoder

Progress = Callable[[float, str], None] | None


@dataclass
class Embeddings:
    """(N, D) float32 vectors with labels, ids and provenance (data, checkpoint, preprocessing)."""

    vectors: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    provenance: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def to_npz(self) -> bytes:
        buf = io.BytesIO()
        np.savez(
            buf,
            vectors=self.vectors,
            labels=self.labels.astype("U"),
            ids=self.ids.astype("U"),
            provenance=np.array(json.dumps(self.provenance)),
        )
        return buf.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> Embeddings:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["vectors"], z["labels"], z["ids"], json.loads(str(z["provenance"])))


def cache_key(data_hash: str, checkpoint_hash: str, preprocessing: str) -> str:
    return hashlib.sha256(f"{data_hash}|{checkpoint_hash}|{preprocessing}".encode()).hexdigest()


class EmbeddingCache:
    """Content-addressed cache: memory always (bounded), disk when a directory is given.

    Disk entries are written atomically, so a crash never leaves a half entry.
    """

    def __init__(self, directory: str | Path | None = None, max_memory_entries: int = 8):
        self.directory = Path(directory) if directory else None
        self.max_memory_entries = max_memory_entries
        self._memory: OrderedDict[str, Embeddings] = OrderedDict()
        self.disk_note: str | None = None  # why the last entry is not on disk (a full disk), if it is not

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / "embeddings" / f"{key}.npz"

    def get(self, key: str, *, use_disk: bool = True) -> Embeddings | None:
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        if use_disk and self.directory and self._path(key).is_file():
            try:
                emb = Embeddings.from_npz(self._path(key).read_bytes())
            except (OSError, ValueError, KeyError):
                return None  # a damaged entry is recomputed, never trusted
            touch(self._path(key))
            self._remember(key, emb)
            return emb
        return None

    def put(self, key: str, emb: Embeddings, *, use_disk: bool = True) -> None:
        """Keep ``emb``; on disk too unless the disk is full (then ``disk_note`` says so)."""
        self._remember(key, emb)
        if use_disk and self.directory:
            self.disk_note = cache_write(self._path(key), emb.to_npz(), config.settings().max_cache_bytes)

    def _remember(self, key: str, emb: Embeddings) -> None:
        self._memory[key] = emb
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_memory_entries:
            self._memory.popitem(last=False)


def embed_items(encoder: Encoder, items, *, batch_size: int | None = None, progress: Progress = None) -> np.ndarray:
    """Run the encoder over ``items`` in batches (default: ``encoder.batch_size``); returns (N, D) float32."""
    n = len(items)
    batch_size = batch_size or encoder.batch_size
    out = []
    for start in range(0, n, batch_size):
        out.append(encoder.encode(items[start : start + batch_size]))
        if progress:
            done = min(start + batch_size, n)
            progress(done / n, f"embedded {done:,} / {n:,}")
    if not out:
        raise InputError("nothing to embed: the dataset is empty")
    return np.concatenate(out).astype(np.float32, copy=False)


def embed_dataset(
    dataset: Dataset,
    encoder: Encoder | None,
    *,
    cache: EmbeddingCache | None = None,
    use_disk: bool | None = None,
    batch_size: int | None = None,
    progress: Progress = None,
    engine=None,
) -> Embeddings:
    """Embed a dataset (or take its vectors as they are when they are embeddings already).

    ``engine``: who runs the encoder over the items (an object with ``embed_items`` like this
    module's; :class:`explorer.distributed.embedding.RayEmbedding`: an actor pool on Ray). Default:
    this process.

    ``use_disk`` defaults to: disk cache for bundled/server data, memory only for uploads
    (personal data) unless the operator set ``EXPLORER_CACHE_UPLOADS``.
    """
    if use_disk is None:
        use_disk = dataset.origin != "upload" or config.settings().cache_uploads
    if dataset.kind == "vector" and dataset.is_embedding:
        vectors = np.asarray(dataset.items, dtype=np.float32)
        return Embeddings(
            vectors, dataset.labels, dataset.ids, provenance_of(dataset, None, "as loaded", vectors.shape)
        )
    if encoder is None:
        raise InputError("this data needs a model to embed it: choose a checkpoint")
    key = cache_key(dataset.content_hash, encoder.model_info.checkpoint_hash, encoder.preprocessing_key())
    if cache is not None and (hit := cache.get(key, use_disk=use_disk)) is not None:
        if progress:
            progress(1.0, "loaded from cache")
        return hit
    run = embed_items if engine is None else engine.embed_items
    vectors = run(encoder, dataset.items, batch_size=batch_size, progress=progress)
    emb = Embeddings(
        vectors,
        dataset.labels,
        dataset.ids,
        provenance_of(dataset, encoder, encoder.preprocessing_key(), vectors.shape),
    )
    if cache is not None:
        cache.put(key, emb, use_disk=use_disk)
    return emb


def provenance_of(dataset: Dataset, encoder: Encoder | None, preprocessing: str, shape) -> dict:
    return {
        "data_name": dataset.name,
        "data_hash": dataset.content_hash,
        "data_origin": dataset.origin,
        "model_name": encoder.model_info.name if encoder else "none (vectors given)",
        "model_format": encoder.model_info.format if encoder else "none",
        "checkpoint_hash": encoder.model_info.checkpoint_hash if encoder else "none",
        "model_trained_on": (encoder.model_info.info or {}).get("trained_on") if encoder else None,
        "preprocessing": preprocessing,
        "precision": getattr(encoder, "precision", "fp32") if encoder else "n/a",
        "n": int(shape[0]),
        "dim": int(shape[1]),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
