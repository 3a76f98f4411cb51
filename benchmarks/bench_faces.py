"""Faces: the pipeline's throughput, identification at a 100k-face gallery, verification on AT&T.

    .venv/bin/python benchmarks/bench_faces.py [pipeline|gallery|descriptor|quality|all] [--quick]

1. pipeline: faces per second (detect + align + describe) on the AT&T photos (112 x 92) and on
   4000 px photos (the test photo scaled up), against the same pipeline detecting at full
   resolution (baseline).
2. gallery: identification through the Gallery among 100k (``--big``: also 1M) enrolled faces
   (synthetic 128-d descriptors, two a person): p50 query against numpy brute force in the same
   run, enrol of one more face, memory beyond the vectors, the right person against exact.
3. descriptor: the torch descriptor (dlib's weights converted) against dlib's own call on the same
   chips in the same run (faces/s, 1 and 2 torch threads, their largest difference), and the
   whole photo path of the 400 AT&T photos (read + decode, detect + landmarks + chip, describe)
   with each descriptor: where the time goes.
4. quality: held-out ROC AUC, EER and 10-fold accuracy on AT&T s31-s40: dlib's descriptor
   untrained, and a head trained on its descriptors of s1-s30 for up to 2 CPU minutes with the Train
   page's defaults (triplet loss, HNSW negatives).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer.faces.pipeline import FaceSettings, acquire, describe, describe_dlib  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FACES = REPO.parent / "shared" / "data" / "att_faces"
PHOTO = REPO / "tests" / "data" / "astronaut.jpg"


def _rate(images, settings: FaceSettings) -> tuple[float, float, int]:
    """(acquire faces/s, describe faces/s, faces found) over ``images``."""
    t = time.perf_counter()
    faces = [f for f in (acquire(img, settings) for img in images) if not isinstance(f, str)]
    t_acquire = time.perf_counter() - t
    t = time.perf_counter()
    describe([f.chip for f in faces])
    t_describe = time.perf_counter() - t
    return len(images) / t_acquire, len(faces) / max(t_describe, 1e-9), len(faces)


def bench_pipeline(quick: bool) -> None:
    from PIL import Image

    from explorer.data.folders import load_directory

    acquire(np.asarray(Image.open(PHOTO)))  # loads the models
    att = load_directory(FACES).items[: 40 if quick else 400]
    big = np.asarray(Image.open(PHOTO).convert("RGB").resize((4000, 4000), Image.Resampling.BICUBIC))
    bigs = [big] * (2 if quick else 5)
    print("| photos | detection | acquire (detect + landmarks + chip) photos/s | describe faces/s | faces found |")
    print("|---|---|---|---|---|")
    rates = {}
    for name, images, settings in (
        (f"AT&T, {len(att)} x 112 x 92", att, FaceSettings(crops=True)),
        (f"4000 x 4000, {len(bigs)}", bigs, FaceSettings(detect_max_side=10**6)),
        (f"4000 x 4000, {len(bigs)}", bigs, FaceSettings()),
    ):
        full = settings.detect_max_side > 4000
        a, d, n = _rate(images, settings)
        rates[(name, full)] = a
        how = "full resolution (baseline)" if full else f"scaled to {settings.detect_max_side} px"
        print(f"| {name} | {how} | {a:.1f} | {d:.1f} | {n} |", flush=True)
    big = f"4000 x 4000, {len(bigs)}"
    print(f"Acquiring at 4000 px, scaled against full resolution: {rates[(big, False)] / rates[(big, True)]:.1f}x")


def _descriptors(n: int, q: int, rank: int | None, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two faces per person and probes near them, at dlib's scale (people ~0.9 apart, a person's
    faces ~0.3); ``rank``: people on a subspace of that many dimensions (None: all 128, isotropic)."""
    people = rng.normal(size=(n // 2, rank or 128)).astype(np.float32)
    if rank:
        people = people @ np.linalg.qr(rng.normal(size=(128, rank)))[0].T.astype(np.float32) * np.sqrt(128 / rank)
    faces = np.repeat(people * 0.06, 2, axis=0) + rng.normal(size=(n, 128)).astype(np.float32) * 0.02
    pick = rng.choice(n, q, replace=False)
    return faces, faces[pick] + rng.normal(size=(q, 128)).astype(np.float32) * 0.02, np.repeat(np.arange(n // 2), 2)


def _rss() -> int:
    """Resident bytes this process holds (Linux /proc), after handing freed memory back (glibc's
    malloc_trim): what is kept, not what a bulk enrolment used on the way."""
    import ctypes
    import gc
    import os

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _brute_force(faces: np.ndarray, codes: np.ndarray, n_people: int, q: np.ndarray, k: int) -> np.ndarray:
    """The baseline: every face's distance (numpy, one BLAS pass), each person's closest, the k closest people."""
    d2 = (faces * faces).sum(1) - 2.0 * (faces @ q) + float(q @ q)
    best = np.full(n_people, np.inf, np.float32)
    np.minimum.at(best, codes, d2)
    top = np.argpartition(best, k)[:k]
    return top[np.argsort(best[top])]


def bench_gallery(quick: bool, big: bool = False) -> None:
    """Identification through the Gallery (its real path, names and thumbnails included) against
    numpy brute force in the same run: p50 query, enrol of one more face, memory beyond the vectors,
    and the right person against exact."""
    import tempfile

    from PIL import Image

    from explorer.faces.gallery import Gallery
    from explorer.faces.thumbs import FileThumbs

    chip = acquire(np.asarray(Image.open(PHOTO).convert("RGB"))).chip
    # a server gallery (1M) keeps its thumbnails on disk, a visitor's in memory; the largest first, so
    # that memory freed by one run does not hide the next one's growth
    runs = ([(1_000_000, "disk")] if big else []) + [(20_000 if quick else 100_000, "memory")]
    print("\n| enrolled faces | thumbnails | build s (enrol all) | p50 query ms | brute force p50 ms | vs brute force | "
          "enrol 1 face ms (p50) | memory beyond the vectors | right person (vs exact) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for n, where in runs:
        probes_n = 500 if quick else 2000 if n <= 100_000 else 300  # brute force at 1M: ~0.4 s a query
        faces, probes, person = _descriptors(n, probes_n, 32, np.random.default_rng(0))
        names = [f"p{p}" for p in person]
        before = _rss()
        g = Gallery(exact_up_to=2000, thumbs=FileThumbs(tempfile.gettempdir()) if where == "disk" else None)
        t = time.perf_counter()
        g.enroll_many(names, faces, [chip] * n, [""] * n)
        build = time.perf_counter() - t
        after = _rss()
        extra = after - before - g.vectors.nbytes  # beyond the gallery's own copy of the descriptors
        index_bytes = 0
        if g._index is not None:  # the index as hnswlib writes it: its vectors, links and labels
            with tempfile.NamedTemporaryFile() as f:
                g._index.save_index(f.name)
                index_bytes = Path(f.name).stat().st_size
        parts = (f"  ({n:,}: process {after / 2**20:,.0f} MB after enrolling, was {before / 2**20:,.0f} MB; "
                 f"descriptors {g.vectors.nbytes / 2**20:,.0f} MB, hnswlib index {index_bytes / 2**20:,.0f} MB, "
                 f"thumbnails {g._thumbs.nbytes() / 2**20:,.0f} MB in {where})")  # fmt: skip
        times, base_times, right = [], [], []
        for q in probes:
            t = time.perf_counter()
            got = g.identify(q, k=5, threshold=0.6).matches[0].name
            times.append(time.perf_counter() - t)
            t = time.perf_counter()
            want = _brute_force(faces, person, n // 2, q, 5)[0]
            base_times.append(time.perf_counter() - t)
            right.append(got == f"p{want}")
        enrol = []
        for k in range(20):
            t = time.perf_counter()
            g.enroll(f"new{k}", faces[k] + 0.5, [chip], ["x"])
            enrol.append(time.perf_counter() - t)
        p50, b50 = np.median(times) * 1e3, np.median(base_times) * 1e3
        print(f"| {n:,} | {where} | {build:.1f} | {p50:.2f} | {b50:.2f} | {b50 / p50:.1f}x | {np.median(enrol) * 1e3:.2f} | "
              f"{extra / 2**20:,.0f} MB | {np.mean(right):.4f} |", flush=True)  # fmt: skip
        notes.append(parts)
        del g
    print("\n".join(notes))


def bench_quality(quick: bool) -> None:
    import torch

    from explorer.data.folders import load_directory
    from explorer.faces.encoder import FaceEncoder
    from explorer.models.embedding import embed_dataset
    from explorer.training.config import TrainConfig, TrainData
    from explorer.training.evaluation import evaluate
    from explorer.training.setup import spec_from_scratch
    from explorer.training.trainer import Trainer

    torch.set_num_threads(1)
    enc = FaceEncoder(FaceSettings(crops=True))
    emb = embed_dataset(enc.prepare(load_directory(FACES)), enc)
    val = np.isin(emb.labels, [f"s{i}" for i in range(31, 41)])
    classes, y = np.unique(emb.labels, return_inverse=True)
    data = TrainData(emb.vectors[~val], y[~val], emb.vectors[val], y[val], classes.tolist())
    print("\n| s31-s40 (100 photos, never trained on) | CPU time | steps | ROC AUC | EER | 10-fold accuracy |")
    print("|---|---|---|---|---|---|")
    row = evaluate(data.x_val, data.y_val)
    print(f"| dlib descriptor, untrained | - | - | {row['auc']:.4f} | {row['eer']:.4f} | {row['accuracy']:.3f} |")
    unit = evaluate(data.x_val / np.linalg.norm(data.x_val, axis=1, keepdims=True), data.y_val)
    print(f"| the same, L2-normalised (the head's step 0) | - | 0 | {unit['auc']:.4f} | {unit['eer']:.4f} | "
          f"{unit['accuracy']:.3f} |")  # fmt: skip
    from explorer.data.dataset import Dataset

    vectors = Dataset("att", "vector", emb.ids[~val], emb.labels[~val], emb.vectors[~val], "h", "server")
    spec = spec_from_scratch(vectors, residual=True)  # as the Train page's head: it starts as the identity
    tr = Trainer(TrainConfig(lr=3e-3, steps=10**9, augment=False), data, spec, threads=1)
    spent, marks = 0.0, [0.25, 0.5] if quick else [0.25, 0.5, 1, 2]
    while marks:
        t = time.process_time()
        tr.step()
        spent += time.process_time() - t
        if spent >= marks[0] * 60:
            v = tr.validate()
            print(f"| head (residual MLP 128-256-128, triplet, HNSW negatives) | {marks.pop(0):g} min | {tr.step_no:,} | "
                  f"{v['auc']:.4f} | {v['eer']:.4f} | {v['accuracy']:.3f} |", flush=True)  # fmt: skip


def bench_descriptor(quick: bool) -> None:
    from explorer.data.images import decode_image
    from explorer.faces.descriptor import descriptor

    files = sorted(FACES.glob("s*/*.pgm"))[: 40 if quick else 400]
    t0 = time.perf_counter()
    photos = [decode_image(p.read_bytes()) for p in files]
    t_decode = time.perf_counter() - t0
    settings = FaceSettings(crops=True)
    t0 = time.perf_counter()
    faces = [f for f in (acquire(img, settings) for img in photos) if not isinstance(f, str)]
    t_acquire = time.perf_counter() - t0
    chips = [f.chip for f in faces]
    describe(chips[:4]), describe_dlib(chips[:4])  # load both
    timed = {}
    for name, run in (
        ("dlib's call (dlib-bin)", lambda: describe_dlib(chips)),
        ("torch, 1 thread", lambda: descriptor()(np.stack(chips), threads=1)),
        ("torch, 2 threads", lambda: descriptor()(np.stack(chips), threads=2)),
    ):
        t0 = time.perf_counter()
        out = run()
        timed[name] = (time.perf_counter() - t0, out)
    base_t, base = timed["dlib's call (dlib-bin)"]
    print(f"| descriptor, {len(chips)} AT&T chips | s | faces/s | vs dlib | max abs difference to dlib |")
    print("|---|---|---|---|---|")
    for name, (t, out) in timed.items():
        print(f"| {name} | {t:.2f} | {len(chips) / t:.1f} | {base_t / t:.1f}x | {np.abs(out - base).max():.1e} |")
    t_torch = timed["torch, 2 threads"][0]
    print()
    print(
        f"| whole photo path, {len(files)} photos | read + decode | detect + landmarks + chip | describe | total | photos/s |"
    )
    print("|---|---|---|---|---|---|")
    for name, t_desc in (("with dlib's call (before)", base_t), ("with the torch descriptor", t_torch)):
        total = t_decode + t_acquire + t_desc
        print(
            f"| {name} | {t_decode:.2f} s | {t_acquire:.2f} s | {t_desc:.2f} s | {total:.2f} s | {len(files) / total:.1f} |"
        )
    before, after = t_decode + t_acquire + base_t, t_decode + t_acquire + t_torch
    print(f"End to end {before / after:.2f}x faster; detection is now {100 * t_acquire / after:.0f} % of the time.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("part", nargs="?", choices=("pipeline", "gallery", "descriptor", "quality", "all"), default="all")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--big", action="store_true", help="gallery: also 1,000,000 enrolled faces (minutes)")
    a = ap.parse_args()
    parts = (("pipeline", bench_pipeline), ("gallery", bench_gallery), ("descriptor", bench_descriptor),
             ("quality", bench_quality))  # fmt: skip
    for part, run in parts:
        if a.part in (part, "all"):
            run(a.quick, a.big) if part == "gallery" else run(a.quick)


if __name__ == "__main__":
    main()
