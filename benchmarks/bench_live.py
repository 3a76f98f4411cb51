"""Live identification: frames processed per second and the time from a frame in to its annotated
frame out, with 0, 1 and 4 faces in view, against the plain loop (detect at full resolution,
describe and search every face, every frame) in the same run; and how long a new face waits for its
name. Frames of real faces (tests/live_frames.py) moving 2 px a frame, as the camera delivers them
(RGB arrays in, av.VideoFrame out: the conversions are counted).

    .venv/bin/python benchmarks/bench_live.py [--seconds 10] [--browser]

``--browser`` also runs the app with headless Chromium's fake camera playing 4 faces at 30 frames a
second (640 x 480) over WebRTC on this machine, browser and server sharing its cores, and reads the
rate the page reports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from live_frames import people, scene  # noqa: E402

from explorer.faces.annotate import boxed  # noqa: E402
from explorer.faces.encoder import FaceEncoder  # noqa: E402
from explorer.faces.gallery import Gallery  # noqa: E402
from explorer.faces.live import LiveIdentifier, LiveSettings  # noqa: E402
from explorer.faces.pipeline import acquire_all  # noqa: E402

THRESHOLD = 0.6


def _gallery(encoder) -> Gallery:
    """The four people of the scenes, each enrolled from a frame of their own, among 1,000 others."""
    g = Gallery()
    for name, im in people(4):
        face = acquire_all(scene([im]))[0]
        g.enroll(name, encoder.encode([face.chip]), [face.chip], [name])
    rng = np.random.default_rng(0)
    others = rng.normal(size=(1000, 128)).astype(np.float32) * 0.09
    g.enroll_many([f"other{k}" for k in range(1000)], others, [np.zeros((8, 8, 3), np.uint8)] * 1000, [""] * 1000)
    return g


def _frames(n_faces: int, count: int) -> list[av.VideoFrame]:
    faces = [im for _, im in people(max(n_faces, 1))][:n_faces]
    out = []
    for k in range(count):
        img = scene(faces, shift=2 * (k % 20)) if faces else np.full((480, 640, 3), 96, np.uint8)
        out.append(av.VideoFrame.from_ndarray(img, format="rgb24"))
    return out


def plain_loop(g: Gallery, encoder):
    """The baseline: every frame, detect at full resolution, describe and search every face, draw."""

    def handle(frame: av.VideoFrame) -> av.VideoFrame:
        img = frame.to_ndarray(format="rgb24")
        faces = acquire_all(img)
        faces = [] if isinstance(faces, str) else faces
        vectors = encoder.encode([f.chip for f in faces]) if faces else []
        results = [g.identify(v, k=1, threshold=THRESHOLD) for v in vectors]
        labels = [r.answer or "unknown" for r in results]
        out = boxed(img, [f.box for f in faces], labels, [r.answer is not None for r in results])
        return av.VideoFrame.from_ndarray(out, format="rgb24")

    return handle


def live_loop(li: LiveIdentifier):
    def handle(frame: av.VideoFrame) -> av.VideoFrame:
        out = li.offer(frame.to_ndarray(format="rgb24"))
        return av.VideoFrame.from_ndarray(out, format="rgb24")

    return handle


def run(handle, frames: list, seconds: float) -> tuple[float, float, float]:
    """Frames back to back for ``seconds``: (frames a second, p50 ms in -> out, p95 ms)."""
    took = []
    start = time.perf_counter()
    k = 0
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        handle(frames[k % len(frames)])
        took.append(time.perf_counter() - t)
        k += 1
    elapsed = time.perf_counter() - start
    return k / elapsed, 1e3 * float(np.median(took)), 1e3 * float(np.percentile(took, 95))


def time_to_name(g: Gallery, encoder, n_faces: int, fps: float) -> float:
    """From a new face's first frame to its name, camera time, at the rate the live loop reached
    (the worst of the faces appearing together)."""
    li = LiveIdentifier(g, encoder, THRESHOLD, LiveSettings(max_fps=1e6))
    frames = _frames(n_faces, 20)
    now = 0.0
    for k in range(20):
        t = time.perf_counter()
        li.process(frames[k].to_ndarray(format="rgb24"), now)
        now += max(1.0 / fps, time.perf_counter() - t)
        tracks = li.tracks(now)
        if tracks and all(x.decided_at is not None for x in tracks):
            return max(x.decided_at - x.first_seen for x in tracks) + (now - tracks[0].seen_at)
    return float("nan")


def through_the_browser(seconds: float) -> None:
    """The app's live view in Chromium, 4 faces at 30 frames a second: the rate the page reports."""
    import re
    import tempfile

    from conftest import CHROME_ARGS, CHROMIUM
    from live_frames import y4m
    from playwright.sync_api import sync_playwright
    from test_browser import _server
    from test_browser_live import _start_live

    tmp = Path(tempfile.mkdtemp())
    video = y4m([scene([im for _, im in people(4)], shift=k % 20) for k in range(30)], tmp / "four.y4m", fps=30)
    args = [*CHROME_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    with _server(tmp) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        pg = b.new_context(viewport={"width": 1400, "height": 1400}, permissions=["camera"]).new_page()
        _start_live(pg, url)
        pg.get_by_text("frames a second processed").wait_for(timeout=60_000)
        pg.wait_for_timeout(1000 * seconds)
        line = re.search(
            r"([0-9.]+) frames a second processed \(([0-9]+) ms each.*?In view: (.*?)\.", pg.inner_text("body")
        )
        print(f"\nthrough Chromium (fake camera, 4 faces at 30 frames/s): {line.group(1)} frames/s processed and "
              f"returned, {line.group(2)} ms a frame on the server; in view: {line.group(3)}")  # fmt: skip
        b.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="per path and face count")
    ap.add_argument("--browser", action="store_true", help="also the app in headless Chromium (4 faces, 30 frames/s)")
    a = ap.parse_args()
    import torch

    encoder = FaceEncoder()
    g = _gallery(encoder)
    print(f"torch threads {torch.get_num_threads()}; gallery {len(g.people()):,} people; frames 640 x 480\n")
    print("| faces in view | path | frames/s | in -> out p50 ms | p95 ms | vs plain loop | new face named after |")
    print("|---|---|---|---|---|---|---|")
    for n in (0, 1, 4):
        frames = _frames(n, 40)
        base = run(plain_loop(g, encoder), frames, a.seconds)
        li = LiveIdentifier(g, encoder, THRESHOLD, LiveSettings(max_fps=1e6))  # capacity: no cap
        live = run(live_loop(li), frames, a.seconds)
        named = time_to_name(g, encoder, n, min(live[0], 30.0)) if n else float("nan")
        print(f"| {n} | plain loop (baseline) | {base[0]:.1f} | {base[1]:.1f} | {base[2]:.1f} | 1.00x | |")
        when = "" if np.isnan(named) else f"{1e3 * named:.0f} ms"
        print(f"| {n} | live (tracks, described on arrival then every 0.5 s) | {live[0]:.1f} | {live[1]:.1f} | "
              f"{live[2]:.1f} | {live[0] / base[0]:.2f}x | {when} |", flush=True)  # fmt: skip
    if a.browser:
        through_the_browser(max(a.seconds, 10.0))


if __name__ == "__main__":
    main()
