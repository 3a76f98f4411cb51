"""Training benchmarks, each against a named baseline in the same run.

1. ``index``: the HNSW miner's index (hnswlib through ``HnswIndex``) at 100k x 128 against the exact
   index (``BruteForceIndex``: blocked matrix products on the same 2 threads). Recall@10 of 10k
   queries (items of the set, themselves excluded), queries per second of each, build time.
   Goal: recall >= 0.99 at >= 3x the exact queries/s, build <= 12 s on this 2-core box.
   (BruteForceIndex is scikit-learn's brute-force search; the numpy blocks it replaced are shown too.) Two kinds
   of data: embedding-like (1000 identities of 100 items on a 16-dimensional manifold in 128-d,
   L2-normalised, as a trained embedding is) and isotropic Gaussian blobs (the worst case for a
   graph index: no low-dimensional structure).
2. ``quality``: quality per minute on real faces (../shared/data/att_faces): train on s1-s30,
   validate on s31-s40 (never seen). At equal training CPU time (1, 2, 5 min of one core, read on
   the process's CPU clock so that another load on the machine does not move the marks; validation
   time not counted) HNSW mining (negatives per anchor from the index, and doppelganger batches:
   identities the index finds confusable share a batch, semi-hard mining inside) against PML's
   in-batch semi-hard and batch-hard mining and PML's Proxy-Anchor loss (no miner), with raw pixels
   and PCA (fit on the training identities) as floors. Goal: pair ROC AUC >= 0.99 and 10-fold
   balanced verification accuracy >= 0.95 on the unseen identities within 5 min, HNSW ahead.

Run: ``.venv/bin/python benchmarks/bench_training.py [index|quality] [--quick] [--seeds 0,1] [--align]
[--stripes] [--erase 0.5] [--ema 0.999] [--methods proxy-anchor,semihard]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from explorer.analysis.neighbors import BruteForceIndex, HnswIndex  # noqa: E402

FACES = REPO.parent / "shared" / "data" / "att_faces"


# -- 1. the index ---------------------------------------------------------------------------------
def embedding_like(n: int, d: int, ids: int = 1000, latent: int = 16, seed: int = 0) -> np.ndarray:
    """Unit vectors on a ``latent``-dimensional manifold: identity centres plus within-identity
    spread, through a random linear map and a tanh, then L2-normalised (as a trained head's output)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ids, latent))
    z = centres[np.arange(n) % ids] + 0.35 * rng.normal(size=(n, latent))
    x = np.tanh(z @ rng.normal(size=(latent, d)) / np.sqrt(latent)) + 0.02 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def blobs(n: int, d: int, seed: int = 0) -> np.ndarray:
    from sklearn.datasets import make_blobs

    x, _ = make_blobs(n_samples=n, centers=n // 500, n_features=d, cluster_std=4.0, random_state=seed)
    return x.astype(np.float32)


def numpy_blocks_knn(x: np.ndarray, q: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """The exact search BruteForceIndex did before it used scikit-learn: float32 products per block
    of queries, argpartition, sort of the k."""
    c = x.mean(0)
    xc, qc = x - c, q - c
    sq = np.einsum("ij,ij->i", xc, xc)
    out = []
    for s in range(0, len(qc), block):
        qb = qc[s : s + block]
        d = qb @ xc.T
        d *= -2.0
        d += np.einsum("ij,ij->i", qb, qb)[:, None]
        d += sq[None, :]
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        out.append(np.take_along_axis(part, np.argsort(np.take_along_axis(d, part, axis=1), axis=1), axis=1))
    return np.concatenate(out)


def bench_index(n: int, d: int, n_queries: int) -> None:
    print(f"\n## HNSW index, {n} x {d}, {n_queries} queries (k = 10, itself excluded), 2 threads")
    print("| data | index (M, ef_construction, ef) | build s | queries/s | recall@10 | qps vs exact |")
    print("|---|---|---|---|---|---|")
    for name, make in (("embedding-like", embedding_like), ("isotropic blobs", blobs)):
        x = make(n, d)
        q = np.random.default_rng(1).choice(n, n_queries, replace=False)
        exact = BruteForceIndex("euclidean")
        t = time.perf_counter()
        exact.add(x)
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        _, truth = exact.query(x[q], 10, exclude=q)
        t_exact = time.perf_counter() - t
        qps_exact = n_queries / t_exact
        print(f"| {name} | exact (BruteForceIndex) | {t_build:.2f} | {qps_exact:,.0f} | 1 | 1 |")
        t = time.perf_counter()
        numpy_nb = numpy_blocks_knn(x, x[q], 11)
        t_np = time.perf_counter() - t
        np_recall = np.mean(
            [len(set(a) & set(b[b != i][:10])) / 10 for a, b, i in zip(truth, numpy_nb, q, strict=True)]
        )
        print(
            f"| {name} | exact (numpy blocks + argpartition, our index before it used scikit-learn) | - | "
            f"{n_queries / t_np:,.0f} | {np_recall:.4f} | {t_exact / t_np:.2f}x |"
        )
        for M, efc in ((16, 100), (16, 200)):
            index = HnswIndex("euclidean", M=M, ef_construction=efc, threads=2)
            t = time.perf_counter()
            index.add(x)
            t_build = time.perf_counter() - t
            for ef in (32, 64, 128, 256):
                index.ef = ef
                t = time.perf_counter()
                _, got = index.query(x[q], 10, exclude=q)
                t_q = time.perf_counter() - t
                recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got, strict=True)])
                qps = n_queries / t_q
                print(
                    f"| {name} | HNSW ({M}, {efc}, {ef}) | {t_build:.2f} | {qps:,.0f} | {recall:.4f} | "
                    f"{qps / qps_exact:.1f}x |",
                    flush=True,
                )


# -- 2. quality per minute on faces ---------------------------------------------------------------
QUALITY_CONFIG = dict(lr=3e-3, margin=0.5, P=8, K=4)  # augmentation on, as the Train page's default
METHODS = ("hnsw", "hnsw-batches", "semihard", "batch-hard", "proxy-anchor")
NAMES = {
    "hnsw": "HNSW negatives per anchor",
    "hnsw-batches": "HNSW doppelganger batches",
    "semihard": "in-batch semi-hard",
    "batch-hard": "in-batch batch-hard",
    "proxy-anchor": "Proxy-Anchor loss (no miner)",
}


def method_config(method: str, seed: int, erase: float = 0.0, ema: float = 0.0, zoom: float = 0.1):
    from explorer.training.config import TrainConfig

    if method == "proxy-anchor":  # its paper's margin (on cosine similarity)
        return TrainConfig(
            loss="proxy-anchor",
            steps=10**9,
            seed=seed,
            erase=erase,
            ema=ema,
            zoom=zoom,
            **{**QUALITY_CONFIG, "margin": 0.1},
        )
    return TrainConfig(miner=method, steps=10**9, seed=seed, erase=erase, ema=ema, zoom=zoom, **QUALITY_CONFIG)


@dataclass(frozen=True)
class Recipe:
    """What a quality run trains (the command line's quality options)."""

    align: bool = False
    methods: tuple[str, ...] = METHODS
    erase: float = 0.0
    ema: float = 0.0
    stripes: bool = False
    zoom: float = 0.1
    max_side: int = 48

    def flags(self) -> list[str]:
        """The same recipe as command-line options, for a child process."""
        return (
            ["--methods", ",".join(self.methods)]
            + (["--align"] if self.align else [])
            + (["--stripes"] if self.stripes else [])
            + ["--erase", str(self.erase), "--ema", str(self.ema), "--zoom", str(self.zoom)]
            + ["--max-side", str(self.max_side)]
        )


def quality_one(marks: list[float], seed: int, threads: int, recipe: Recipe) -> dict:
    """One seed: the floors, then one run per miner read at each mark (minutes of training time)."""
    import torch
    from sklearn.decomposition import PCA

    from explorer.data.folders import load_directory
    from explorer.training.evaluation import evaluate
    from explorer.training.setup import prepare, spec_from_scratch, split_identities
    from explorer.training.trainer import Trainer

    torch.set_num_threads(threads)
    ds = load_directory(FACES)
    train, val = split_identities(ds.labels, val_labels=[f"s{i}" for i in range(31, 41)])
    r = recipe
    spec = spec_from_scratch(ds, align=r.align, stripes=r.stripes, max_side=r.max_side)
    data = prepare(ds, spec, train, val)
    flat_tr, flat_val = data.x_train.reshape(len(data.x_train), -1), data.x_val.reshape(len(data.x_val), -1)
    out = {
        "info": {"train": len(data.y_train), "val": len(data.y_val), "size": [spec.input.height, spec.input.width]},
        "raw pixels": evaluate(flat_val, data.y_val),
        "PCA 64 (fit on s1-s30)": evaluate(PCA(64, random_state=0).fit(flat_tr).transform(flat_val), data.y_val),
    }
    for miner in r.methods:
        tr = Trainer(method_config(miner, seed, r.erase, r.ema, r.zoom), data, spec, threads=threads)
        spent, todo = 0.0, list(marks)
        while todo:
            t = time.process_time()
            tr.step()
            spent += time.process_time() - t
            if spent >= todo[0] * 60:  # validation time is not training time
                out[f"{miner}@{todo.pop(0):g}"] = {**tr.validate(), "steps": tr.step_no}
    return out


def bench_quality(marks: list[float], seeds: list[int], recipe: Recipe) -> None:
    """Seeds two at a time (this box has 2 cores), one process and one core each; then the table (mean
    over seeds)."""
    import json
    import os
    import subprocess

    from explorer.training.setup import STRIPES

    r = recipe
    align, methods, erase, ema, stripes, zoom = r.align, r.methods, r.erase, r.ema, r.stripes, r.zoom
    runs = []
    for pair in (seeds[i : i + 2] for i in range(0, len(seeds), 2)):
        procs = [
            subprocess.Popen(
                [sys.executable, "-W", "ignore", __file__, "quality-one", "--seed", str(s)]
                + ["--marks", ",".join(map(str, marks))]
                + r.flags(),
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
            for s in pair
        ]
        runs += [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    info = runs[0]["info"]
    print(
        f"\n## Quality per minute: att_faces, train s1-s30 ({info['train']} images), validate on the unseen "
        f"s31-s40 ({info['val']} images), {info['size'][0]} x {info['size'][1]} px, built-in ConvNet from scratch "
        f"({'with' if align else 'without'} the learned alignment; {f'{STRIPES} stripe embeddings; ' if stripes else ''}"
        f"augmentation zoom +-{zoom:g}; random erasing p = {erase:g}; weight average decay {ema:g}), "
        f"triplet loss {QUALITY_CONFIG} (Proxy-Anchor: margin 0.1); one core per run; seeds {seeds} (mean, and each seed)"
    )
    print("| method | train time | steps | ROC AUC | 10-fold accuracy (balanced) | EER | P@1 | MAP@R |")
    print("|---|---|---|---|---|---|---|---|")
    keys = ["raw pixels", "PCA 64 (fit on s1-s30)"] + [f"{m}@{t:g}" for t in marks for m in methods]
    for key in keys:
        rows = [r[key] for r in runs]
        name, _, when = key.partition("@")
        name = NAMES.get(name, name) if when else name

        def cell(k, fmt, rows=rows):
            vals = [r[k] for r in rows]
            each = " / ".join(format(v, fmt) for v in vals)
            return f"{format(float(np.mean(vals)), fmt)} ({each})" if len(vals) > 1 else each

        steps = " / ".join(str(r["steps"]) for r in rows) if when else "-"
        print(
            f"| {name} | {when + ' min' if when else '-'} | {steps} | {cell('auc', '.4f')} | "
            f"{cell('accuracy', '.4f')} | {cell('eer', '.4f')} | {cell('p_at_1', '.3f')} | {cell('map_at_r', '.3f')} |"
        )
    for when in marks:
        mean = {m: float(np.mean([r[f"{m}@{when:g}"]["auc"] for r in runs])) for m in methods}
        acc = {m: float(np.mean([r[f"{m}@{when:g}"]["accuracy"] for r in runs])) for m in methods}
        spread = {m: float(np.std([r[f"{m}@{when:g}"]["auc"] for r in runs])) for m in methods}
        in_batch = [mean[m] for m in ("semihard", "batch-hard") if m in mean]
        verdicts = []
        if in_batch:  # HNSW against the best in-batch miner, where both ran
            verdicts = [
                f"{NAMES[m]} {mean[m]:.4f} +- {spread[m]:.4f} (sd over seeds; "
                f"{'ahead of' if mean[m] > max(in_batch) else 'NOT ahead of'} in-batch)"
                for m in ("hnsw", "hnsw-batches")
                if m in mean
            ]
            verdicts.append(f"best in-batch {max(in_batch):.4f}")
        best = max(methods, key=mean.get)
        goal = mean[best] >= 0.99 and acc[best] >= 0.95
        print(
            f"At {when:g} min (mean ROC AUC over seeds): {'; '.join(verdicts) or 'no in-batch run to compare'}. "
            f"Goal AUC >= 0.99 and accuracy >= 0.95: {'met' if goal else 'NOT met'} "
            f"(best: {NAMES[best]}, AUC {mean[best]:.4f}, accuracy {acc[best]:.4f})."
        )


def bench_refresh(steps: int, refresh_every: int) -> None:
    """Step times with the HNSW negatives' index rebuilt in the step (baseline: REFRESH_LAG 0)
    against rebuilt beside training (the default), AT&T faces from scratch as the Train page does."""
    import torch

    import explorer.training.negatives as negatives
    from explorer.data.folders import load_directory
    from explorer.training.config import TrainConfig
    from explorer.training.setup import prepare, spec_from_scratch, split_identities
    from explorer.training.trainer import Trainer

    ds = load_directory(FACES)
    train, val = split_identities(ds.labels, val_labels=[f"s{i}" for i in range(31, 41)])
    spec = spec_from_scratch(ds)
    data = prepare(ds, spec, train, val)
    cfg = TrainConfig(miner="hnsw", steps=steps, refresh_every=refresh_every, lr=3e-3)
    print(f"\nIndex rebuilds every {refresh_every} steps, {steps} steps, AT&T s1-s30 from scratch, 2 threads")
    lag = negatives.REFRESH_LAG
    for name, value in (("in the step (baseline)", 0), ("beside training", lag)):
        negatives.REFRESH_LAG = value
        torch.manual_seed(0)
        tr = Trainer(cfg, data, spec, threads=2)
        tr.step()  # the first index is built in the step either way
        times = []
        for _ in range(steps - 1):
            t = time.perf_counter()
            tr.step()
            times.append(time.perf_counter() - t)
        t = np.array(times)
        print(
            f"   {name}: {t.sum():.1f} s in all, median step {1000 * np.median(t):.0f} ms, "
            f"p99 {1000 * np.percentile(t, 99):.0f} ms, slowest {1000 * t.max():.0f} ms"
        )
    negatives.REFRESH_LAG = lag


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("part", nargs="?", choices=("index", "refresh", "quality", "all", "quality-one"), default="all")
    ap.add_argument("--quick", action="store_true", help="smaller sizes and budgets (a smoke run)")
    ap.add_argument("--seed", type=int, default=0, help="quality-one: the seed of this process")
    ap.add_argument("--marks", default="1,2,5", help="quality-one: minutes of training at which to validate")
    ap.add_argument("--seeds", default="0,1,2,3", help="quality: seeds (two run at a time)")
    ap.add_argument("--align", action="store_true", help="quality: the ConvNet with the learned alignment")
    ap.add_argument("--stripes", action="store_true", help="quality: the ConvNet with stripe embeddings (PCB)")
    ap.add_argument(
        "--erase", type=float, default=0.0, help="quality: random erasing probability (0: off, the default)"
    )
    ap.add_argument(
        "--ema", type=float, default=0.0, help="quality: weight averaging decay per step (0: off, the default)"
    )
    ap.add_argument(
        "--zoom", type=float, default=0.1, help="quality: augmentation zoom, +- this fraction (0.1: the default)"
    )
    ap.add_argument(
        "--max-side", type=int, default=48, help="quality: the images' longer side in training, px (48: the app's)"
    )
    ap.add_argument("--methods", default=",".join(METHODS), help=f"quality: a subset of {','.join(METHODS)}")
    a = ap.parse_args()
    methods = tuple(m for m in a.methods.split(",") if m)
    if not methods or set(methods) - set(METHODS):
        ap.error(f"--methods: a comma-separated subset of {','.join(METHODS)}")
    recipe = Recipe(a.align, methods, a.erase, a.ema, a.stripes, a.zoom, a.max_side)
    if a.part == "quality-one":  # a child process of bench_quality
        import json

        print(json.dumps(quality_one([float(m) for m in a.marks.split(",")], a.seed, threads=1, recipe=recipe)))
        return
    if a.part in ("index", "all"):
        bench_index(20_000 if a.quick else 100_000, 128, 2000 if a.quick else 10_000)
    if a.part in ("refresh", "all"):
        bench_refresh(100 if a.quick else 600, 50)
    if a.part in ("quality", "all"):
        bench_quality(
            [0.1, 0.2] if a.quick else [1, 2, 5],
            seeds=[0, 1] if a.quick else [int(v) for v in a.seeds.split(",")],
            recipe=recipe,
        )


if __name__ == "__main__":
    main()
