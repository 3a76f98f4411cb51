"""The encoder on Ray: a Ray Data job whose rows are the batches of the single-process path, run
by a fixed pool of actors with ``map_batches``; each actor holds the encoder and reads the items
from the object store. The batches are the single-process ones, so the embeddings are too."""

from __future__ import annotations

import numpy as np

from explorer.distributed.cluster import connected
from explorer.errors import InputError


class _Embedder:
    """One actor: the encoder and the items, fetched once; each call embeds whole batches."""

    def __init__(self, shared: list, threads: int):
        import ray

        self.encoder, self.items = ray.get(shared[0])
        on_this_worker(self.encoder, threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows, vectors = [], []
        for start, stop in zip(batch["start"], batch["stop"], strict=True):
            vectors.append(self.encoder.encode(self.items[int(start) : int(stop)]))
            rows.append(np.arange(start, stop, dtype=np.int64))
        return {"row": np.concatenate(rows), "vector": np.concatenate(vectors).astype(np.float32, copy=False)}


def on_this_worker(encoder, threads: int) -> None:
    """An encoder unpickled in an actor: its torch threads (one actor per logical CPU it was
    given) and the device this worker sees (EXPLORER_DEVICE; a GPU Ray gave the actor)."""
    if hasattr(encoder, "threads"):
        encoder.threads = threads
    if hasattr(encoder, "to_device"):
        from explorer.device import torch_device

        encoder.to_device(torch_device())


def check_gpus(ray, gpus: float, actors: int) -> None:
    """Refuse GPU actors the cluster cannot place (Ray would wait for them for ever)."""
    if gpus < 0:
        raise InputError("--gpus-per-actor must be 0 or more")
    have = float(ray.cluster_resources().get("GPU", 0))
    if gpus and have < gpus:
        raise InputError(f"--gpus-per-actor {gpus:g}: this Ray cluster has {have:g} GPUs (0 runs on the CPUs)")


def pool_batches(ray, udf, shared, *, n: int, size: int, actors: int, threads: int, gpus: float = 0.0):
    """The output batches of a Ray Data job over the batches [start, stop) of ``n`` items (``size``
    each, as the single process cuts them), run by a fixed pool of ``actors`` actors of ``udf``
    (constructed with the job's ``shared`` objects and their torch threads), each given ``gpus``
    GPUs (a fraction shares one)."""
    rows = [{"start": s, "stop": min(s + size, n)} for s in range(0, n, size)]
    ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), 4 * actors))
    out = ds.map_batches(
        udf,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=min(actors, len(rows))),
        fn_constructor_args=([shared], threads),
        num_cpus=threads,
        **({"num_gpus": gpus} if gpus else {}),
        batch_format="numpy",
    )
    yield from out.iter_batches(batch_size=None, batch_format="numpy")


class RayEmbedding:
    """Embeds with ``actors`` actors of ``threads`` torch threads each. On a local cluster the
    cluster gets one logical CPU more than the actors: Ray Data's read and collect tasks need one,
    and an actor pool as large as the CPU count starves them and hangs."""

    def __init__(self, actors: int = 1, *, address: str | None = None, threads: int = 1, gpus: float = 0.0):
        if actors < 1:
            raise InputError("--actors must be at least 1")
        if gpus < 0:
            raise InputError("--gpus-per-actor must be 0 or more")
        self.actors, self.address, self.threads, self.gpus = actors, address, threads, gpus

    def embed_items(self, encoder, items, *, batch_size: int | None = None, progress=None) -> np.ndarray:
        n = len(items)
        if not n:
            raise InputError("nothing to embed: the dataset is empty")
        size = batch_size or encoder.batch_size
        vectors, done = np.empty((n, encoder.out_dim), np.float32), 0
        with connected(self.address, cpus=self.actors * self.threads + 1) as ray:
            check_gpus(ray, self.gpus, self.actors)
            try:
                shared = ray.put((encoder, items))
            except Exception as exc:  # noqa: BLE001 - what cannot be shipped, said in one line
                raise InputError(f"this model cannot be sent to Ray workers: {type(exc).__name__}: {exc}") from None
            for batch in pool_batches(
                ray, _Embedder, shared, n=n, size=size, actors=self.actors, threads=self.threads, gpus=self.gpus
            ):
                vectors[batch["row"]] = batch["vector"]
                done += len(batch["row"])
                if progress:
                    progress(done / n, f"embedded {done:,} / {n:,} on Ray ({self.actors} actors)")
        if done != n:
            raise RuntimeError(f"Ray returned {done:,} of {n:,} embeddings")
        return vectors

    def streams(self, encoder) -> bool:
        """Whether a folder of images can go to this engine as paths (see :mod:`folder_job`): any
        model of images."""
        return encoder is not None

    def embed_folder(self, root, encoder, *, progress=None):
        """(Embeddings, failures) of an image folder read, decoded and embedded by the actors."""
        from explorer.distributed.folder_job import embed_folder

        return embed_folder(
            root, encoder, actors=self.actors, address=self.address, threads=self.threads, gpus=self.gpus,
            progress=progress,
        )  # fmt: skip
