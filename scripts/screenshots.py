"""Retake the README's pictures (docs/images) and a picture of every page at a desktop and a phone
width (tests/artifacts/pages), from the real app in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--pages-only]

Needs Debian's Chromium (apt-get install chromium) and ../shared/data/att_faces. The camera is
Chromium's fake device playing a video made from the test photo. Nothing here is a test: look at
the pictures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import CHROME_ARGS, CHROMIUM  # noqa: E402
from live_frames import ATT, people, scene, y4m  # noqa: E402
from test_browser import _section, _server  # noqa: E402
from test_browser_live import _enrol_face, _start_live  # noqa: E402

DOCS, PAGES = REPO / "docs" / "images", REPO / "tests" / "artifacts" / "pages"
WIDTHS = {"desktop": 1440, "phone": 390}
ROUTES = ["", "distances", "threshold", "compare", "projection", "retrieval", "clusters", "report", "train", "identify"]


def scores_file(path: Path) -> Path:
    """Twelve systems' scores on 3,000 pairs of 40 subjects (a published-results-like file)."""
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 40, 3000), rng.integers(0, 40, 3000)
    same = rng.random(3000) < 0.4
    b = np.where(same, a, b)
    same = a == b
    lines = ["file_x,file_y,decision," + ",".join(f"model_{k}" for k in range(1, 13))]
    for i in range(3000):
        s = [rng.normal(1.0 + 0.15 * k if same[i] else 0.0, 1.0) for k in range(12)]
        lines.append(
            f"p{a[i]}/{i}a.jpg,p{b[i]}/{i}b.jpg,{'Yes' if same[i] else 'No'}," + ",".join(f"{x:.4f}" for x in s)
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def main_column(shot: Path, out: Path, height: int = 1300) -> None:
    """The page's main column (the sidebar cut off), at most ``height`` px tall, 3/4 size."""
    im = Image.open(shot)
    im = im.crop((340, 60, min(im.size[0], 1420), min(im.size[1], 60 + height)))
    im.resize((im.size[0] * 3 // 4, im.size[1] * 3 // 4)).save(out, optimize=True)


def every_page(browser, url: str) -> None:
    """Every page at both widths, on the bundled workspace (Identify and Train on AT&T faces below)."""
    for name, width in WIDTHS.items():
        pg = browser.new_page(viewport={"width": width, "height": 1000})
        for route in ROUTES:
            pg.goto(f"{url}/{route}")
            pg.wait_for_timeout(6000)  # the page's figures draw (a map's first layout takes the longest)
            pg.screenshot(path=str(PAGES / f"{route or 'data_model'}_{name}.png"), full_page=True)
        pg.close()


def readme_pictures(browser, url: str, tmp: Path) -> None:
    pg = browser.new_page(viewport={"width": 1440, "height": 1400})
    pg.goto(url + "/compare")
    pg.get_by_text("What to compare").first.wait_for(timeout=120_000)
    pg.locator("input[type=file]").set_input_files(str(scores_file(tmp / "scores.csv")))
    pg.get_by_text("pairs flip").first.wait_for(timeout=180_000)
    pg.wait_for_timeout(2000)
    pg.screenshot(path=str(tmp / "compare.png"))
    main_column(tmp / "compare.png", DOCS / "compare.png")
    faces = f"?data=dir:{ATT.resolve()}&model=faces-crops"
    pg.goto(url + "/train" + faces)
    pg.get_by_role("button", name="Start", exact=True).wait_for(timeout=300_000)
    pg.wait_for_timeout(2000)
    pg.screenshot(path=str(tmp / "train.png"))
    main_column(tmp / "train.png", DOCS / "train.png")
    pg.goto(url + "/projection" + faces)
    pg.get_by_text("Colour by").first.wait_for(timeout=300_000)
    pg.wait_for_timeout(15000)  # the refined UMAP layout
    pg.screenshot(path=str(tmp / "projection.png"))
    main_column(tmp / "projection.png", DOCS / "projection.png")
    pg.close()


def live_picture(pw, url: str, tmp: Path) -> None:
    video = y4m([scene([people(1)[0][1]], shift=2 * k) for k in range(20)], tmp / "camera.y4m")
    args = [*CHROME_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    b = pw.chromium.launch(executable_path=CHROMIUM, args=args)
    for name, width in WIDTHS.items():
        pg = b.new_context(viewport={"width": width, "height": 1400}, permissions=["camera"]).new_page()
        _start_live(pg, url)
        pg.get_by_text("In view:").first.wait_for(timeout=60_000)
        _enrol_face(pg, 1, "Eileen")
        pg.get_by_text("In view: Eileen").first.wait_for(timeout=30_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(tmp / f"live_{name}.png"))
        shutil.copy(tmp / f"live_{name}.png", PAGES / f"identify_live_{name}.png")
        if name == "desktop":
            main_column(tmp / "live_desktop.png", DOCS / "live.png")
        _section(pg, "People")
        pg.wait_for_timeout(2000)
        pg.screenshot(path=str(PAGES / f"identify_people_{name}.png"), full_page=True)
    b.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages-only", action="store_true", help="only the pages at both widths, not docs/images")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    PAGES.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    with _server(tmp / "cache") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        every_page(browser, url)
        if not a.pages_only:
            readme_pictures(browser, url, tmp)
        browser.close()
        live_picture(pw, url, tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"pictures in {DOCS.relative_to(REPO)} and {PAGES.relative_to(REPO)}")


if __name__ == "__main__":
    main()
