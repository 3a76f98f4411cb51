"""Ray against the single process, on this machine: the encoder in an actor pool (1, 2, 3 actors)
and the all-pairs pass as Ray tasks, with Ray's start-up cost stated apart.

embed: the face descriptor (dlib's ResNet, the heaviest encoder here) on AT&T face chips cut
once; baseline ``embed_items`` in this process (its default threads). Each Ray run starts a local
cluster with one logical CPU more than its actors, so the Data library's own tasks get one; the
cluster's start is timed apart from the job (whose time includes the actors' start).

pairs: ``all_pairs`` on synthetic embeddings (``--items``, 128 dimensions, 50 per identity),
in-process (two threads) against ``RayPairs`` on a local cluster of the machine's CPUs (two tasks
per CPU); the counts and tails are checked equal. The projection to 10^7 items scales the
measured pair rate by the pair count (N^2 / 2).

folder: the same, end to end from a folder of photos (read, decode, cut each chip, describe): the
single process against the actors doing all of it (the command only lists the files).

Run: ``.venv/bin/python benchmarks/bench_ray.py [embed|folder|pairs] [--faces 200] [--items 50000]``
(needs the [ray] extra: ``make install-ray``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _pools(job, here: np.ndarray, base: float, unit: str) -> None:
    """The single-process row, then one row per pool of 1, 2 and 3 actors on a local cluster of
    one logical CPU more: its start, the job (``job(actors)`` -> vectors) and the ratio."""
    import ray

    from explorer.distributed.cluster import quiet

    n = len(here)
    print(f"| engine | cluster start | job | {unit}/s | vs single process |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| single process | - | {base:.1f} s | {n / base:.1f} | 1.00x |")
    for actors in (1, 2, 3):
        t = time.perf_counter()
        ray.init(num_cpus=actors + 1, include_dashboard=False, log_to_driver=False, configure_logging=False)
        quiet(ray)
        start = time.perf_counter() - t
        t = time.perf_counter()
        there = job(actors)
        took = time.perf_counter() - t
        ray.shutdown()
        same = np.array_equal(there, here)
        print(
            f"| Ray, {actors} actor{'s' * (actors > 1)} | {start:.1f} s | {took:.1f} s | {n / took:.1f} | "
            f"{base / took:.2f}x{'' if same else ' (NOT EQUAL)'} |"
        )


def embed(faces: int) -> None:
    from explorer.data.folders import load_directory
    from explorer.distributed.embedding import RayEmbedding
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import FaceSettings
    from explorer.models.embedding import embed_items

    encoder = FaceEncoder(FaceSettings(crops=True))
    items = encoder.prepare(load_directory(REPO.parent / "shared" / "data" / "att_faces")).items[:faces]
    t = time.perf_counter()
    here = embed_items(encoder, items)
    base = time.perf_counter() - t
    print(f"embed: {len(items)} AT&T chips, face descriptor; {os.cpu_count()} cores")
    _pools(lambda actors: RayEmbedding(actors).embed_items(encoder, items), here, base, "faces")


def folder(faces: int) -> None:
    """End to end from a folder of photos: read, decode, cut the face chip and describe; the
    single process (load_directory, prepare, embed) against the actors doing all of it."""
    import shutil
    import tempfile

    from explorer.data.folders import load_directory
    from explorer.distributed.embedding import RayEmbedding
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import FaceSettings
    from explorer.models.embedding import embed_items

    src = REPO.parent / "shared" / "data" / "att_faces"
    with tempfile.TemporaryDirectory() as tmp:
        for person in sorted(p for p in src.iterdir() if p.is_dir())[: max(1, faces // 10)]:
            shutil.copytree(person, Path(tmp) / person.name)
        encoder = FaceEncoder(FaceSettings(crops=True))
        t = time.perf_counter()
        here = embed_items(encoder, encoder.prepare(load_directory(tmp)).items)
        base = time.perf_counter() - t
        print(f"folder: {len(here)} AT&T photos read, chips cut and described; {os.cpu_count()} cores")
        _pools(lambda actors: RayEmbedding(actors).embed_folder(tmp, encoder)[0].vectors, here, base, "photos")


def pairs(items: int) -> None:
    import ray

    from explorer.analysis.pairs import all_pairs
    from explorer.distributed.cluster import quiet
    from explorer.distributed.pairs import RayPairs

    rng = np.random.default_rng(0)
    ids = items // 50
    y = np.repeat(np.arange(ids), 50)[:items]
    basis = rng.normal(size=(16, 128))
    x = ((rng.normal(size=(ids, 16))[y] + 0.5 * rng.normal(size=(items, 16))) @ basis).astype(np.float32)
    x += 0.05 * rng.normal(size=x.shape).astype(np.float32)
    n_pairs = items * (items - 1) // 2
    all_pairs(x[:2000], y[:2000])  # compile / load the kernels first
    t = time.perf_counter()
    here = all_pairs(x, y, max_pairs=n_pairs)  # every pair, however many
    base = time.perf_counter() - t
    t = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    quiet(ray)
    start = time.perf_counter() - t
    cpus = int(ray.cluster_resources()["CPU"])
    t = time.perf_counter()
    there = all_pairs(x, y, max_pairs=n_pairs, engine=RayPairs())
    job = time.perf_counter() - t
    ray.shutdown()
    same = (
        np.array_equal(there.impostor_hist, here.impostor_hist)
        and np.array_equal(there.impostor.values, here.impostor.values)
        and np.array_equal(there.impostor.a, here.impostor.a)
        and np.array_equal(there.genuine_hist, here.genuine_hist)
    )
    print(f"pairs: {items:,} x 128, {n_pairs:,} pairs ({here.source}); {os.cpu_count()} cores")
    print("| engine | cluster start | pass | pairs/s | vs in-process |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| in-process, 2 threads | - | {base:.1f} s | {n_pairs / base:.3g} | 1.00x |")
    print(
        f"| Ray, {2 * cpus} tasks on {cpus} CPUs | {start:.1f} s | {job:.1f} s | {n_pairs / job:.3g} | {base / job:.2f}x |"
    )
    print(f"counts and tails equal: {same}")
    big = 10**7
    scale = (big * (big - 1) / 2) / n_pairs
    core_s = job * cpus * scale
    print(
        f"projected at 10^7 items ({big * (big - 1) // 2:.3g} pairs): {core_s / 3600:,.0f} core-hours at this rate; "
        f"{core_s / 3600 / 256:,.1f} h on 256 such cores (rows: {big * 128 * 4 / 1e9:.1f} GB float32 in the object store)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="?", choices=["embed", "folder", "pairs", "all"], default="all")
    ap.add_argument("--faces", type=int, default=200)
    ap.add_argument("--items", type=int, default=50_000)
    args = ap.parse_args()
    if args.what in ("embed", "all"):
        embed(args.faces)
    if args.what in ("folder", "all"):
        folder(args.faces)
    if args.what in ("pairs", "all"):
        pairs(args.items)


if __name__ == "__main__":
    main()
