"""An image folder embedded on Ray end to end: the command lists the files (the images the
single-process loader would choose, in its order), the actors read, decode, acquire (a face
descriptor's aligned chip: ``Encoder.acquire_item``) and embed them batch by batch, and only paths
travel in and vectors out, so the command never holds the images.

With GPUs (``--gpus-per-actor``) the job has two stages: CPU actors read, decode and acquire (the
face detector runs there), GPU actors embed what they acquired; the embeddings are then the
single process's to float rounding (the GPU stage batches the acquired items afresh).

The batches are the single-process ones where every image decodes and is acquired. The data's hash is streamed:
sha256 over each image's own hash (of its id, label and bytes), in order, since no one process
sees every byte; embeddings of the same folder by the single process carry a different hash.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from explorer.data.dataset import LoadFailure, hash_parts
from explorer.data.folders import list_directory, select_images
from explorer.distributed.cluster import connected
from explorer.distributed.embedding import check_gpus, on_this_worker, pool_batches
from explorer.errors import InputError
from explorer.models.embedding import Embeddings, provenance_of


class _FolderEmbedder:
    """One actor: reads, decodes and embeds whole batches of the listed files."""

    def __init__(self, shared: list, threads: int):
        import ray

        self.encoder, self.paths, self.ids, self.labels = ray.get(shared[0])
        on_this_worker(self.encoder, threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from explorer.data.images import decode_image

        rows = np.concatenate(
            [np.arange(a, b, dtype=np.int64) for a, b in zip(batch["start"], batch["stop"], strict=True)]
        )
        vectors = np.full((len(rows), self.encoder.out_dim), np.nan, np.float32)  # NaN: a failed item
        reasons, digests = [""] * len(rows), [""] * len(rows)
        at = 0
        for start, stop in zip(batch["start"], batch["stop"], strict=True):
            items, ok = [], []
            for k, r in enumerate(range(int(start), int(stop)), at):
                try:
                    blob = Path(self.paths[r]).read_bytes()
                    item = self.encoder.acquire_item(decode_image(blob))
                except (OSError, InputError) as exc:  # one bad image never sinks the set
                    item = str(exc) or type(exc).__name__
                if isinstance(item, str):  # not decoded, or no face in it
                    reasons[k] = item
                    continue
                items.append(item)
                ok.append(k)
                digests[k] = hash_parts([self.ids[r].encode(), self.labels[r].encode(), blob])
            if items:  # one encoder batch per single-process batch
                vectors[ok] = self.encoder.encode(items)
            at += int(stop) - int(start)
        return {
            "row": rows,
            "vector": vectors,
            "reason": np.asarray(reasons, dtype=object),
            "digest": np.asarray(digests, dtype=object),
        }


class _FolderReader:
    """Stage one of the two-stage job (CPU actors): reads, decodes and acquires the listed files,
    one output row per item: the item (an empty array where it failed), why it failed, its hash."""

    def __init__(self, shared: list, threads: int):
        import ray

        self.encoder, self.paths, self.ids, self.labels = ray.get(shared[0])
        if hasattr(self.encoder, "threads"):
            self.encoder.threads = threads

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from explorer.data.images import decode_image

        rows, items, reasons, digests = [], [], [], []
        for start, stop in zip(batch["start"], batch["stop"], strict=True):
            for r in range(int(start), int(stop)):
                try:
                    blob = Path(self.paths[r]).read_bytes()
                    item = self.encoder.acquire_item(decode_image(blob))
                except (OSError, InputError) as exc:  # one bad image never sinks the set
                    item, blob = str(exc) or type(exc).__name__, b""
                failed = isinstance(item, str)
                rows.append(r)
                items.append(np.zeros(0, np.uint8) if failed else np.asarray(item))
                reasons.append(item if failed else "")
                digests.append("" if failed else hash_parts([self.ids[r].encode(), self.labels[r].encode(), blob]))
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return {"row": np.asarray(rows, np.int64), "item": out, "reason": np.asarray(reasons, dtype=object),
                "digest": np.asarray(digests, dtype=object)}  # fmt: skip


class _ItemEmbedder:
    """Stage two (the GPU actors): embeds the items stage one acquired."""

    def __init__(self, shared: list, threads: int):
        import ray

        self.encoder = ray.get(shared[0])[0]
        on_this_worker(self.encoder, threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ok = np.array([not why for why in batch["reason"]], bool)
        vectors = np.full((len(ok), self.encoder.out_dim), np.nan, np.float32)  # NaN: a failed item
        if ok.any():
            vectors[ok] = self.encoder.encode([np.asarray(batch["item"][k]) for k in np.flatnonzero(ok)])
        return {"row": batch["row"], "vector": vectors, "reason": batch["reason"], "digest": batch["digest"]}


def _two_stage(ray, shared, *, n: int, size: int, actors: int, threads: int, gpus: float):
    """Reading, decoding and face detection in CPU actors, the encoder in GPU actors."""
    rows = [{"start": s, "stop": min(s + size, n)} for s in range(0, n, size)]
    ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), 4 * actors))
    acquired = ds.map_batches(
        _FolderReader, batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(actors, len(rows))),
        fn_constructor_args=([shared], threads), num_cpus=threads, batch_format="numpy",
    )  # fmt: skip
    described = acquired.map_batches(
        _ItemEmbedder, batch_size=size, compute=ray.data.ActorPoolStrategy(size=min(actors, len(rows))),
        fn_constructor_args=([shared], threads), num_cpus=0, batch_format="numpy",
        **({"num_gpus": gpus} if gpus else {}),
    )  # fmt: skip
    yield from described.iter_batches(batch_size=None, batch_format="numpy")


def embed_folder(root: str | Path, encoder, *, actors: int = 1, address: str | None = None, threads: int = 1,
                 gpus: float = 0.0, stages: int | None = None, progress=None) -> tuple[Embeddings, list[LoadFailure]]:  # fmt: skip
    """Embeddings of the images under ``root`` (one sub-folder per identity) and what failed.
    ``stages``: 1, each actor reads, acquires and embeds; 2 (the default with ``gpus``), CPU actors
    read, decode and acquire (detect the faces), GPU actors embed."""
    root, files = list_directory(root)
    chosen, failures = select_images([rel for rel, _ in files])
    if not chosen:
        raise InputError(f"no loadable images found under {root}: expected one folder per identity holding images")
    ids = [rel for rel, _ in chosen]
    labels = [rel.split("/", 1)[0] for rel in ids]
    paths = [str(files[k][1]) for _, k in chosen]
    n = len(ids)
    vectors, reason, digest, done = np.full((n, encoder.out_dim), np.nan, np.float32), [""] * n, [""] * n, 0
    with connected(address, cpus=actors * threads + 1) as ray:
        check_gpus(ray, gpus, actors)
        shared = ray.put((encoder, paths, ids, labels))
        split = (stages or (2 if gpus else 1)) == 2
        job = _two_stage if split else functools.partial(pool_batches, udf=_FolderEmbedder)
        for batch in job(ray, shared=shared, n=n, size=encoder.batch_size, actors=actors, threads=threads, gpus=gpus):
            vectors[batch["row"]] = batch["vector"]
            for r, why, d in zip(batch["row"], batch["reason"], batch["digest"], strict=True):
                reason[r], digest[r] = str(why), str(d)
            done += len(batch["row"])
            if progress:
                progress(done / n, f"read and embedded {done:,} / {n:,} on Ray ({actors} actors)")
    ok = np.array([not why for why in reason])
    failures += [LoadFailure(ids[r], reason[r]) for r in np.flatnonzero(~ok)]
    if not ok.any():
        raise InputError(f"no image under {root} could be decoded ({len(failures)} failures)")
    data_hash = hashlib.sha256("".join(d for d in digest if d).encode()).hexdigest()
    source = SimpleNamespace(name=root.name, content_hash=data_hash, origin="server")
    kept = vectors[ok]
    emb = Embeddings(
        kept,
        np.asarray(labels)[ok],
        np.asarray(ids)[ok],
        provenance_of(source, encoder, encoder.preprocessing_key(), kept.shape),
    )
    return emb, failures
