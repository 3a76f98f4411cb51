"""Compile numba code ahead of a visitor's first click (numba also caches it on disk)."""

from __future__ import annotations

import numpy as np

from explorer.analysis.metrics import BASE_METRICS


def compile_kernels() -> None:
    """Run every compiled pair path once on tiny data: all metrics, a diagonal and an off-diagonal
    block, both float widths of raw distances, and the exact figures."""
    from explorer.analysis.pairs import all_pairs
    from explorer.analysis.verification import fast_figures

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 4)), np.arange(80) % 4
    for metric in BASE_METRICS:
        all_pairs(x, y, metric=metric, block=32, bins=64)
    all_pairs(x, y, bins=64, max_pairs=100, sample_size=200)  # sampled impostors
    for dtype in (np.float32, np.float64):
        g, i = rng.random(50).astype(dtype), (rng.random(60) + 0.5).astype(dtype)
        fast_figures(g, i, bins=64, auc_tolerance=0)


def compile_umap() -> None:
    """A tiny UMAP: loads (first time: compiles) the fuzzy graph and layout code."""
    from explorer.analysis.projection import project_umap

    x = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    project_umap(x, n_epochs=20, random_state=0)


def compile_nndescent() -> None:
    """NN-descent (the kNN graph beyond 20k items) compiles about 15 s in every process: part of
    it cannot be cached. Not under the heavy-work lock, so a visitor's other work need not wait."""
    import warnings

    from explorer.analysis.projection import GRAPH_THREADS, nndescent

    x = np.random.default_rng(0).normal(size=(400, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba: "cannot cache ... dynamic globals", known
        for metric in ("euclidean", "cosine"):
            nn = nndescent()(x, metric=metric, n_neighbors=6, random_state=0, n_jobs=GRAPH_THREADS)
            _, _ = nn.neighbor_graph  # sorting the graph compiles too


def compile_retrieval() -> None:
    """The retrieval ranking kernel (P@1, R-Precision, MAP@R)."""
    from explorer.analysis.retrieval import retrieval_metrics

    rng = np.random.default_rng(0)
    retrieval_metrics(rng.normal(size=(60, 4)).astype(np.float32), np.arange(60) % 3)


def compile_all() -> None:
    """Everything numba compiles, into its disk cache: run at install (``make install``), so that a
    new user's first map does not wait for a compiler."""
    compile_kernels()
    compile_retrieval()
    compile_umap()
    compile_nndescent()


if __name__ == "__main__":
    import time

    t = time.perf_counter()
    compile_all()
    print(f"compiled the numba kernels into the cache in {time.perf_counter() - t:.0f} s")
