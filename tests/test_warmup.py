"""The warm-up fills a fresh numba cache: a new process then loads compiled code from disk."""

import os
import subprocess
import sys


def _warm_in_a_fresh_process(cache, code: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}  # explorer derives it from the cache
    env["EXPLORER_CACHE_DIR"] = str(cache)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=600)
    return {p.name.split("-")[0] for p in (cache / "numba").rglob("*.nbi")}


def test_the_kernel_warmup_fills_a_fresh_cache(tmp_path):
    code = "from explorer.analysis.warmup import compile_kernels; compile_kernels()"
    cached = _warm_in_a_fresh_process(tmp_path, code)
    # the pair kernels (every metric's row distances, binning) and the exact figures' kernel
    assert {"kernels.pair_rows_distance", "kernels._bin_rect", "verification._within_sorted"} <= cached, cached
    assert len([n for n in cached if n.startswith("kernels.")]) >= 5, cached


def test_the_umap_warmup_fills_a_fresh_cache(tmp_path):
    code = "from explorer.analysis.warmup import compile_umap; compile_umap()"
    cached = _warm_in_a_fresh_process(tmp_path, code)
    assert "umap_layout._epochs" in cached, cached  # the layout's epochs: the slow compile of a first map
