"""Browser test: start the server on a free localhost port and look at it in headless Chromium."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import ARTIFACTS, CHROME_ARGS, CHROMIUM

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(cache_dir: Path, *, slow: str = ""):
    """The app on a free localhost port; ``slow``: functions made slower (tests/slow_server.py)."""
    port = _free_port()
    env = {**os.environ, "EXPLORER_CACHE_DIR": str(cache_dir)}
    launch = [str(REPO / "tests" / "slow_server.py"), slow] if slow else ["-m", "streamlit"]
    proc = subprocess.Popen(
        [
            sys.executable,
            *launch,
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            proc.kill()
            pytest.fail("streamlit did not start within 120 s: " + proc.stdout.read().decode(errors="replace")[-2000:])
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_opening_a_page_directly_on_a_fresh_server_runs_the_router(browser, tmp_path):
    """The server's first visitor opens /distances: the router still runs and builds the workspace."""
    with _server(tmp_path) as url:
        pg = browser.new_page(viewport={"width": 1400, "height": 1300})
        pg.goto(url + "/distances")
        pg.get_by_text("d-prime").first.wait_for(timeout=120_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(ARTIFACTS / "distances.png"), full_page=True)
        assert "Data & model" in pg.inner_text("body")  # the router's navigation, not a bare page


def test_default_summary_shows_in_chromium(browser, tmp_path):
    with _server(tmp_path) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        hosts = set()
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]) if r.url.startswith("http") else None)
        page.goto(url)
        page.get_by_text("Items (N)").first.wait_for(timeout=120_000)
        page.get_by_text("1,797").first.wait_for(timeout=30_000)
        page.get_by_text("Download embeddings (Parquet)").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # let the charts draw before the picture
        shot = ARTIFACTS / "data_model_default.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        body = page.inner_text("body")
        assert "Data & model" in body and "Download embeddings (Parquet)" in body
        assert hosts == {url.split("/")[2]}  # nothing is fetched from anywhere else (no font host, no CDN)


def test_threshold_page_pick_and_protocol_upload(browser, tmp_path):
    """A person picks a threshold by target FAR, then evaluates a pairs CSV they upload."""
    import numpy as np
    from sklearn.datasets import load_digits

    y = load_digits().target
    ids = [f"digit_{k:04d}" for k in range(len(y))]
    rng = np.random.default_rng(0)
    rows = ["id_a,id_b,same"]
    for _ in range(400):
        a, b = rng.integers(0, len(y), 2)
        rows.append(f"{ids[a]},{ids[b]},{int(y[a] == y[b])}")
    rows += [f"{ids[k]},{ids[k + 10]},{int(y[k] == y[k + 10])}" for k in range(200)]
    rows.append("nobody,digit_0001,1")
    csv = tmp_path / "pairs.csv"
    csv.write_text("\n".join(rows))
    with _server(tmp_path / "cache") as url:
        pg = browser.new_page(viewport={"width": 1400, "height": 2400})
        pg.goto(url + "/threshold")
        pg.get_by_text("Whole curve").first.wait_for(timeout=120_000)
        pg.get_by_text("EER threshold").first.wait_for(timeout=30_000)
        pg.get_by_role("combobox").nth(1).click()  # "Pick the threshold by"
        pg.get_by_role("option", name="target FAR").click()
        pg.get_by_text("Target FAR").first.wait_for(timeout=30_000)
        pg.wait_for_timeout(1500)
        body = pg.inner_text("body")
        assert "Threshold card" in body and "False accepts" in body
        pg.get_by_text("Pairs from a protocol file").click()
        pairs_file = pg.locator('[data-testid="stFileUploader"]').filter(has_text="Pairs file")  # not the groups one
        pairs_file.locator("input[type=file]").set_input_files(str(csv))
        pg.get_by_text("fold accuracy").first.wait_for(timeout=60_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(ARTIFACTS / "threshold_protocol.png"), full_page=True)
        body = pg.inner_text("body")
        assert "1 line skipped: 1 name an item not in the workspace (1 distinct id)" in body
        assert "10-fold accuracy" in body


def test_compare_evaluates_an_uploaded_scores_file_at_a_phone_width(browser, tmp_path):
    """A person with a published pairs file (Yes / No, several models' scores) on a phone."""
    from test_scorefile import published_like

    csv = tmp_path / "scores.csv"
    published_like().to_csv(csv, index=False)
    with _server(tmp_path / "cache") as url:
        pg = browser.new_page(viewport={"width": 400, "height": 2400})
        pg.goto(url + "/compare")
        pg.get_by_text("What to compare").first.wait_for(timeout=120_000)
        pg.locator("input[type=file]").set_input_files(str(csv))
        pg.get_by_text("pairs flip").first.wait_for(timeout=120_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(ARTIFACTS / "compare_phone.png"), full_page=True)
        body = pg.inner_text("body")
        assert "detected from the truth column (2 distances, 1 similarity)" in body
        assert "Threshold card" in body and "Traceback" not in body


def test_projection_click_and_box_select_open_the_items(browser, tmp_path):
    """A person hovers a point: its image and caption follow the pointer; clicks it: that item and
    its neighbours appear; then picks the box tool and
    drags a box over the map: every item inside it is listed (counted over all items)."""
    with _server(tmp_path / "cache") as url:
        pg = browser.new_page(viewport={"width": 1400, "height": 1800})
        pg.goto(url + "/projection")
        pg.get_by_text("points drawn (UMAP, 2D)").first.wait_for(timeout=240_000)
        plot = pg.locator(".js-plotly-plot .nsewdrag").first
        plot.wait_for(timeout=60_000)
        pg.wait_for_timeout(1500)
        at = pg.evaluate(
            """() => {
                const gd = document.querySelector('.js-plotly-plot');
                const t = gd._fullData.find(d => d.x && d.x.length);
                const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
                return [r.left + xa.l2p(t.x[0]), r.top + ya.l2p(t.y[0])];
            }"""
        )
        pg.mouse.move(at[0] - 30, at[1] - 30)
        pg.mouse.move(at[0], at[1], steps=5)  # hover: the item's image and caption beside the pointer
        preview = pg.locator("#ee-hover-preview")
        preview.wait_for(state="visible", timeout=30_000)
        assert re.fullmatch(r"digit_\d{4} \(0\)", preview.inner_text().strip())  # a 0 under the pointer
        drawn = pg.evaluate(
            "() => { const c = document.querySelector('#ee-hover-preview canvas');"
            " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s; }"
        )
        assert drawn > 0  # the digit's cell was drawn (not a blank canvas)
        pg.screenshot(path=str(ARTIFACTS / "projection_hover.png"))
        pg.mouse.click(at[0], at[1])
        pg.get_by_text("Selected: 1 item").first.wait_for(timeout=60_000)
        pg.get_by_text("Nearest neighbours in the embedding").first.wait_for(timeout=60_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(ARTIFACTS / "projection_click.png"), full_page=True)
        pg.locator(".modebar-btn[data-title='Box Select']").first.click()
        box = pg.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
        pg.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.05)
        pg.mouse.down()
        pg.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=12)
        pg.mouse.up()
        pg.get_by_text("Download these items (CSV)").first.wait_for(timeout=60_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(ARTIFACTS / "projection_selection.png"), full_page=True)
        body = pg.inner_text("body")
        n = int(body.split("Selected: ")[1].split(" item")[0].replace(",", ""))
        assert 1 < n < 1797


def test_train_page_starts_a_run_and_the_charts_update(browser, tmp_path):
    """A person presses Start: the progress line moves on by itself (the live fragment), charts appear."""
    import re

    with _server(tmp_path / "cache") as url:
        pg = browser.new_page(viewport={"width": 1400, "height": 1800})
        pg.goto(url + "/train")
        steps = pg.get_by_role("spinbutton", name="Steps", exact=True)
        steps.wait_for(timeout=120_000)
        steps.fill("400")
        pg.get_by_role("spinbutton", name="Checkpoint every (steps)", exact=True).fill("20")
        pg.get_by_role("button", name="Start").click()
        # (the first validation waits for numba to compile in this fresh cache)
        pg.get_by_text(re.compile(r"running: step [1-9]\d* of 400")).first.wait_for(timeout=300_000)

        def step_now():
            m = re.search(r"step (\d+) of 400", pg.inner_text("body"))
            return int(m.group(1)) if m else -1

        first = step_now()
        pg.wait_for_timeout(6000)
        assert step_now() > first  # redrawn without any click
        # the checkpoint list follows the run, without a click, while it still runs
        name = pg.get_by_label("Model name")
        name.wait_for(timeout=120_000)
        assert "running: step" in pg.inner_text("body") and re.search(r"step \d+", name.input_value())
        assert "run=" in pg.url  # a refresh reattaches
        pg.get_by_text("MAP@R").first.wait_for(timeout=60_000)
        pg.screenshot(path=str(ARTIFACTS / "train_live.png"), full_page=True)
        pg.reload()
        pg.get_by_text(re.compile(r"step \d+ of 400")).first.wait_for(timeout=120_000)
        assert step_now() >= first
        pg.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()  # not the header's
        pg.get_by_text(re.compile(r"stopped: step \d+ of 400")).first.wait_for(timeout=120_000)


PHOTO = REPO / "tests" / "data" / "astronaut.jpg"


def _mirrored(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "eileen_mirrored.jpg"
    Image.open(PHOTO).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path)
    return path


def _section(pg, name: str) -> None:
    """Switch the Identify page to a section (its segmented control, not the sidebar's link)."""
    pg.locator('[data-testid="stButtonGroup"]').get_by_text(name, exact=True).click()
    if name != "Enroll":  # wait until the Enroll section's widgets are gone, not merely greyed out
        pg.get_by_text("Photos of this person").wait_for(state="detached", timeout=60_000)


def _enroll_from_upload(pg, url: str, name: str = "Eileen") -> None:
    pg.goto(url + "/identify")
    pg.get_by_label("Name").wait_for(timeout=120_000)  # a fresh server warms up on its first visitor
    pg.wait_for_timeout(1000)
    pg.get_by_label("Name").fill(name)
    pg.get_by_label("Name").press("Enter")
    pg.locator("input[type=file]").set_input_files(str(PHOTO))
    pg.get_by_text(PHOTO.name).first.wait_for(timeout=120_000)
    pg.get_by_role("button", name="Enroll", exact=True).click()
    pg.get_by_text(f"Enrolled {name} from 1 photo").first.wait_for(timeout=120_000)


def test_identify_enrols_from_an_upload_and_names_another_photo(browser, tmp_path):
    with _server(tmp_path) as url:
        pg = browser.new_page(viewport={"width": 1400, "height": 1400})
        _enroll_from_upload(pg, url)
        _section(pg, "Identify")
        pg.get_by_text("A photo to identify").first.wait_for(timeout=60_000)
        probe = pg.get_by_label("A photo to identify").get_by_test_id("stFileUploaderDropzoneInput")
        probe.set_input_files(str(_mirrored(tmp_path)))
        pg.get_by_text("at distance").first.wait_for(timeout=120_000)
        assert "Eileen, at distance" in pg.inner_text("body")
        pg.screenshot(path=str(ARTIFACTS / "identify.png"), full_page=True)
        pg.set_viewport_size({"width": 390, "height": 1600})
        pg.wait_for_timeout(1000)
        pg.screenshot(path=str(ARTIFACTS / "identify_phone.png"), full_page=True)


def _y4m(photo: Path, path: Path, frames: int = 10) -> Path:
    """The photo in a 640 x 480 frame, as the fake camera's video."""
    from live_frames import y4m
    from PIL import Image

    frame = Image.new("RGB", (640, 480), (40, 40, 40))
    frame.paste(Image.open(photo).convert("RGB").resize((480, 480)), (80, 0))
    return y4m([np.asarray(frame)] * frames, path, fps=10)


def test_the_camera_identifies_an_enrolled_face(pw, tmp_path):
    """Chromium's fake video device plays the test photo as the camera; the shot is identified."""
    video = _y4m(PHOTO, tmp_path / "camera.y4m")
    args = [*CHROME_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    with _server(tmp_path) as url:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        context = b.new_context(viewport={"width": 1400, "height": 1400}, permissions=["camera"])
        pg = context.new_page()
        _enroll_from_upload(pg, url)
        _section(pg, "Identify")
        pg.get_by_text("A photo to identify").first.wait_for(timeout=60_000)
        pg.get_by_text("Use the camera").click()
        # the shot is taken from the live stream: wait until frames of the fake device play
        pg.wait_for_function("() => [...document.querySelectorAll('video')].some(v => v.readyState >= 2 && v.videoWidth > 0)",
                             timeout=60_000)  # fmt: skip
        pg.wait_for_timeout(1000)
        pg.get_by_role("button", name="Take Photo").click(timeout=60_000)
        pg.get_by_text("at distance").first.wait_for(timeout=120_000)
        assert "Eileen, at distance" in pg.inner_text("body")
        pg.screenshot(path=str(ARTIFACTS / "identify_camera.png"), full_page=True)
        b.close()


def test_the_evaluation_report_opens_offline_with_every_figure_drawn(browser, tmp_path):
    """The HTML report written by the command line, opened from disk with every request that
    would leave the file refused: each figure draws, each thumbnail decodes."""
    from click.testing import CliRunner

    from explorer.cli import main

    emb, report = tmp_path / "digits.parquet", tmp_path / "report.html"
    assert CliRunner().invoke(main, ["embed", "digits", "-o", str(emb)]).exit_code == 0
    res = CliRunner().invoke(main, ["evaluate", str(emb), "--far", "1e-3", "--data", "digits", "-o", str(report)])
    assert res.exit_code == 0, res.output
    pg = browser.new_page(viewport={"width": 1300, "height": 900})
    left = []
    pg.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith("file:") else (left.append(r.request.url), r.abort()),
    )
    pg.goto(report.as_uri())
    pg.locator(".figure .main-svg").first.wait_for(timeout=30_000)
    pg.wait_for_timeout(500)
    figures = pg.locator(".figure").count()
    assert figures == 5 and pg.locator(".figure:has(.main-svg)").count() == figures
    assert pg.locator(".figure .bars, .figure .scatterlayer .trace, .figure .heatmaplayer image").count() >= figures
    sizes = pg.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert len(sizes) == 48 and min(sizes) > 0  # 12 false accepts and 12 false rejects, two images each
    assert not left, left
    pg.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)


PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


def test_on_a_phone_the_sidebar_closes_once_a_page_is_chosen(browser, tmp_path):
    """A phone (its user agent, 390 px, touch): the pages open from the sidebar, which then gets out
    of the way. (A desktop browser made narrow keeps it open: Streamlit closes it for phones.)"""
    with _server(tmp_path) as url:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, user_agent=PHONE_UA, is_mobile=True, has_touch=True
        )
        pg = context.new_page()
        pg.goto(url)
        pg.get_by_text("Items (N)").first.wait_for(timeout=120_000)
        assert "on a phone: the >> at the top left" in pg.inner_text("body")
        sidebar = pg.locator('[data-testid="stSidebar"]')
        assert sidebar.bounding_box()["width"] == 0  # closed at first
        pg.locator('[data-testid="stExpandSidebarButton"]').click()
        pg.wait_for_timeout(800)
        assert sidebar.bounding_box()["width"] > 200
        pg.get_by_role("link", name="Compare").click()
        pg.get_by_text("What to compare").first.wait_for(timeout=60_000)
        pg.wait_for_timeout(800)
        assert sidebar.bounding_box()["width"] == 0  # out of the way of the page
        pg.screenshot(path=str(ARTIFACTS / "phone_after_navigation.png"))
        context.close()
