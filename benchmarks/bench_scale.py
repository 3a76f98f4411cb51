"""Every page at 10k, 30k and 100k items: time of the page's run after the click and the app
process's memory, so the growth shows.

Each size runs in a fresh process (the app under Streamlit's AppTest, the page scripts as the
server runs them, in this process): a workspace of synthetic embeddings (``--dim``, 100 items per
identity on a 16-dimensional subspace plus noise, like a learned embedding) is put in the session,
then each page is opened in turn with its defaults and timed from the switch to its first result
(the first chart, metric, table or image it sends: Projection's PCA map, Retrieval's sampled
figures) and to the end of its run. Memory: the process's resident set after
each page and its peak so far. Baseline: the same pages on the bundled digits (1,797 items) in the
same run.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--sizes 10000,30000,100000] [--dim 128]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = ["distances", "threshold", "projection", "retrieval", "clusters", "compare"]

CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {repo!r})
from streamlit.testing.v1 import AppTest

from explorer.data.dataset import Dataset, hash_parts
from explorer.models.embedding import embed_dataset
from explorer.workspace import Workspace

n, dim, pages = {n}, {dim}, {pages!r}


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024


# the first result of a page: the first chart, metric, table or image it sends after the click
import streamlit.delta_generator as dg
FIRST = []
for name in ("plotly_chart", "metric", "dataframe", "table", "image"):
    def wrap(f):
        def inner(*a, **k):
            if not FIRST:
                FIRST.append(time.perf_counter())
            return f(*a, **k)
        return inner
    setattr(dg.DeltaGenerator, name, wrap(getattr(dg.DeltaGenerator, name)))

at = AppTest.from_file({app!r}, default_timeout=1800)
t = time.perf_counter()
at.run()
out = {{"n": n, "start_s": time.perf_counter() - t, "pages": {{}}}}
if n:
    rng = np.random.default_rng(0)
    ids_per = 100
    classes = n // ids_per
    basis = np.linalg.qr(rng.normal(size=(dim, 16)))[0].T.astype(np.float32)  # a 16-d subspace
    centres = rng.normal(size=(classes, 16)).astype(np.float32)
    y = np.repeat(np.arange(classes), ids_per)[:n]
    x = (centres[y] + 0.35 * rng.normal(size=(n, 16)).astype(np.float32)) @ basis
    x += 0.05 * rng.normal(size=x.shape).astype(np.float32)
    labels = np.array([f"id{{c}}" for c in y])
    ids = np.array([f"item{{i:06d}}" for i in range(n)])
    ds = Dataset(
        name=f"synthetic {{n:,}} x {{dim}}", kind="vector", ids=ids, labels=labels, items=x.astype(np.float32),
        content_hash=hash_parts([x.tobytes(), labels.astype("U").tobytes()]), origin="server", is_embedding=True,
    )
    at.session_state["workspace"] = Workspace(ds, None, embed_dataset(ds, None))
for page in pages:
    FIRST.clear()
    t = time.perf_counter()
    at.switch_page(f"app_pages/{{page}}.py").run()
    s = time.perf_counter() - t
    first = FIRST[0] - t if FIRST else s
    errors = [str(e.value)[:200] for e in at.exception] + [str(e.value)[:200] for e in at.error]
    out["pages"][page] = {{
        "s": s, "first_s": first, "rss_mb": rss_mb(), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "errors": errors,
    }}
print(json.dumps(out))
"""


def measure(n: int, dim: int, pages: list[str]) -> dict:
    code = CHILD.format(repo=str(REPO), app=str(REPO / "app.py"), n=n, dim=dim, pages=pages)
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        return {"n": n, "error": (proc.stderr.strip().splitlines() or [f"rc {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--pages", default=",".join(PAGES))
    a = ap.parse_args()
    pages = a.pages.split(",")
    runs = [measure(0, a.dim, pages)] + [measure(int(s), a.dim, pages) for s in a.sizes.split(",")]
    print(
        f"\nEvery page after the click: first result / whole page (s), and the process's memory "
        f"(MB: resident / peak), D = {a.dim}"
    )
    head = "| page | " + " | ".join("digits 1,797" if r["n"] == 0 else f"{r['n']:,}" for r in runs) + " |"
    print(head)
    print("|" + " --- |" * (len(runs) + 1))
    for page in pages:
        cells = []
        for r in runs:
            p = r.get("pages", {}).get(page)
            if p is None:
                cells.append(f"failed: {r.get('error', '?')[:60]}")
                continue
            flag = " (error: " + p["errors"][0][:60] + ")" if p["errors"] else ""
            cells.append(f"{p['first_s']:.1f} / {p['s']:.1f} s, {p['rss_mb']:.0f} / {p['peak_mb']:.0f} MB{flag}")
        print(f"| {page} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
