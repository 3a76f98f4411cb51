"""The steps a new user waits for, timed in headless Chromium as they click, with what the page
said while each ran (every spinner's and progress bar's words, polled every 50 ms).

    .venv/bin/python benchmarks/bench_steps.py [--cache DIR] [--pairs 6000]

A fresh server on the AT&T faces (../shared/data/att_faces, embedded by the face descriptor):
the first Projection map, a lasso over the whole map, the report, Compare with a scores file of
280 pairs and one of ``--pairs`` pairs (then a change of A), and Verify of two photos. Each step
is timed from the click to the element that ends it. ``--cache``: the numba and embedding cache
(default: a new empty one, as a first start after `make install` minus its compiled kernels).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import ATT_FACES, CHROME_ARGS, CHROMIUM  # noqa: E402
from test_browser import PHOTO, _mirrored, _section, _server  # noqa: E402
from test_browser_slow import WATCH  # noqa: E402
from test_scorefile import published_like  # noqa: E402

ROWS: list[tuple[str, float, str]] = []


def step(pg, name: str, act, done) -> None:
    pg.evaluate(WATCH)
    t = time.perf_counter()
    act()
    done()
    dt = time.perf_counter() - t
    said = " / ".join(pg.evaluate("() => [...window.__said]"))
    ROWS.append((name, dt, said))
    print(f"{name}: {dt:.2f} s  [{said}]", flush=True)


def many_pairs(n: int, people: int, seed: int = 0) -> pd.DataFrame:
    """A published-like pairs file: half same-person pairs, three systems' scores."""
    rng = np.random.default_rng(seed)
    pa = rng.integers(0, people, n)
    same = np.arange(n) < n // 2
    pb = np.where(same, pa, (pa + rng.integers(1, people, n)) % people)
    return pd.DataFrame(
        {
            "file_x": [f"p{a}/img{k % 5}.jpg" for k, a in enumerate(pa)],
            "file_y": [f"p{b}/img{(k + 1) % 5}.jpg" for k, b in enumerate(pb)],
            "Decision": np.where(same, "Yes", "No"),
            "Facenet_cosine": np.where(same, 0.2, 0.8) + rng.normal(0, 0.2, n),
            "ArcFace_similarity": np.where(same, 0.7, 0.1) + rng.normal(0, 0.25, n),
            "weak_euclidean": np.where(same, 1.0, 1.1) + rng.normal(0, 0.3, n),
        }
    )


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--pairs", type=int, default=6000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_steps_"))
    small, big = tmp / "scores.csv", tmp / "many.csv"
    published_like().to_csv(small, index=False)
    many_pairs(args.pairs, args.pairs // 4).to_csv(big, index=False)
    with sync_playwright() as p, _server(args.cache or tmp / "cache") as url:
        pg = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS).new_page(
            viewport={"width": 1400, "height": 1800}
        )

        def nav(title):
            return lambda: pg.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()

        def idle():
            pg.wait_for_timeout(300)
            pg.locator("[data-testid=stStatusWidget]").wait_for(state="detached", timeout=120_000)

        pg.goto(url + f"/?data=dir:{ATT_FACES}&model=faces-crops")
        pg.get_by_text("N: 400").first.wait_for(timeout=600_000)
        pg.wait_for_timeout(3000)
        step(
            pg, "first Projection map", nav("Projection"), lambda: pg.get_by_text("points drawn (UMAP").first.wait_for()
        )
        pg.wait_for_timeout(1500)
        pg.locator(".modebar-btn[data-title='Lasso Select']").first.click()
        box = pg.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
        corners = [(0.02, 0.02), (0.98, 0.02), (0.98, 0.98), (0.02, 0.98), (0.02, 0.05)]
        pg.mouse.move(box["x"] + box["width"] * 0.02, box["y"] + box["height"] * 0.02)
        pg.mouse.down()
        for fx, fy in corners[1:]:
            pg.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=6)
        step(
            pg, "lasso over the map", pg.mouse.up, lambda: pg.get_by_text("Download these items (CSV)").first.wait_for()
        )
        nav("Report")()
        build = pg.get_by_role("button", name="Build the report")
        step(pg, "build the report", build.click, lambda: pg.get_by_text("Download the report").first.wait_for())
        nav("Compare")()
        upload = pg.locator("input[type=file]")
        upload.wait_for(state="attached")

        def flips(before: str = ""):
            """Until the line counting the pairs that flip reads other than ``before``."""
            pg.wait_for_function(
                "b => [...document.querySelectorAll('p')].some(p => p.innerText.includes('pairs flip')"
                " && p.innerText !== b)",
                arg=before,
                timeout=120_000,
            )
            return pg.locator("p", has_text="pairs flip").first.inner_text()

        step(pg, "Compare: 280 pairs uploaded", lambda: upload.set_input_files(str(small)), flips)
        pg.wait_for_timeout(1000)
        before = flips()
        step(
            pg,
            f"Compare: {args.pairs:,} pairs uploaded",
            lambda: upload.set_input_files(str(big)),
            lambda: flips(before),
        )
        pg.wait_for_timeout(1000)

        def choose_a():
            pg.locator("[data-testid=stSelectbox]").filter(has=pg.get_by_text("A", exact=True)).locator(
                "[role=combobox]"
            ).first.click()
            pg.get_by_role("option", name="ArcFace_similarity", exact=True).click()

        step(pg, f"Compare: another A ({args.pairs:,} pairs)", choose_a, idle)
        nav("Identify")()
        pg.get_by_label("Name").wait_for(timeout=120_000)
        _section(pg, "Verify")
        pg.get_by_label("First photo").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(PHOTO))
        pg.get_by_text(PHOTO.name).first.wait_for()
        second = pg.get_by_label("Second photo").get_by_test_id("stFileUploaderDropzoneInput")
        step(
            pg,
            "Verify two photos",
            lambda: second.set_input_files(str(_mirrored(tmp))),
            lambda: pg.get_by_text("the same person").first.wait_for(timeout=120_000),
        )
    print("\n| step | seconds | what the page said while it ran |\n| --- | --- | --- |")
    for name, dt, said in ROWS:
        print(f"| {name} | {dt:.2f} | {said or '(done before any spinner shows)'} |")


if __name__ == "__main__":
    main()
