"""Identify's live mode in headless Chromium, the camera being Chromium's fake device playing a
video made here from real faces (tests/live_frames.py): a face enrolled from the stream is named
within a second and holds its name; two faces in view both get theirs; where WebRTC cannot connect
the page says so and opens the snapshot camera."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from live_frames import people, scene
from test_browser import ARTIFACTS, CHROME_ARGS, CHROMIUM, _need_browser, _section, _server

IN_VIEW = re.compile(r"frames a second processed .*In view: (.*)\.")


def _y4m(frames: list[np.ndarray], path: Path, fps: int = 20) -> Path:
    """A raw YUV 4:2:0 video (Chromium's fake camera plays it in a loop)."""
    from PIL import Image

    out = [f"YUV4MPEG2 W{frames[0].shape[1]} H{frames[0].shape[0]} F{fps}:1 Ip A1:1 C420jpeg\n".encode()]
    for f in frames:
        y, u, v = (np.asarray(c) for c in Image.fromarray(f).convert("YCbCr").split())
        out += [b"FRAME\n", y.tobytes(), u[::2, ::2].tobytes(), v[::2, ::2].tobytes()]
    path.write_bytes(b"".join(out))
    return path


@pytest.fixture(scope="module")
def pw():
    _need_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        yield p


def _camera(pw, video: Path, *extra: str):
    args = [*CHROME_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", *extra]  # fmt: skip
    return pw.chromium.launch(executable_path=CHROMIUM, args=args)


def _start_live(pg, url: str) -> None:
    """Open the Live section and press the stream's START once its component has loaded."""
    pg.goto(url + "/identify")
    pg.get_by_label("Name").wait_for(timeout=120_000)  # a fresh server warms up on its first visitor
    _section(pg, "Live")
    frame = pg.frame_locator('iframe[title="streamlit_webrtc.component.webrtc_streamer"]')
    start = frame.get_by_role("button", name="START")
    start.wait_for(timeout=60_000)
    start.click()


def _in_view(pg, timeout_s: float = 30.0, want=None) -> str:
    """The live status line's "In view" part, once it satisfies ``want`` (the first one seen if None)."""
    deadline = time.monotonic() + timeout_s
    seen = ""
    while time.monotonic() < deadline:
        m = IN_VIEW.search(pg.inner_text("body"))
        if m:
            seen = m.group(1)
            if want is None or want(seen):
                return seen
        pg.wait_for_timeout(100)
    raise AssertionError(f"the live status never showed what was wanted in {timeout_s} s; last: {seen!r}")


def test_a_face_enrolled_from_the_stream_is_named_within_a_second_and_holds(pw, tmp_path):
    face = people(1)[0][1]
    video = _y4m([scene([face], shift=2 * k) for k in range(20)], tmp_path / "one.y4m")  # moving right and back
    with _server(tmp_path) as url:
        b = _camera(pw, video)
        pg = b.new_context(viewport={"width": 1400, "height": 1400}, permissions=["camera"]).new_page()
        _start_live(pg, url)
        assert _in_view(pg, want=lambda s: s == "unknown") == "unknown"  # nobody enrolled yet
        pg.get_by_role("button", name="Capture the faces in view").click()
        pg.get_by_text("face 1").first.wait_for(timeout=30_000)
        pg.get_by_label("Name").fill("Eileen")
        pg.get_by_label("Name").press("Enter")
        pg.get_by_role("button", name="Enroll this face").click()
        pg.get_by_text("Enrolled Eileen").wait_for(timeout=30_000)
        enrolled = time.monotonic()
        _in_view(pg, 10, want=lambda s: s.startswith("Eileen ("))
        assert time.monotonic() - enrolled < 2.0  # the status refreshes each second: named within a second of it
        held = []
        for _ in range(10):  # 3 s: the name holds, no flicker to unknown or "..."
            held.append(_in_view(pg, 5))
            pg.wait_for_timeout(300)
        assert all(s.startswith("Eileen (") for s in held), held
        pg.screenshot(path=str(ARTIFACTS / "identify_live.png"), full_page=True)
        b.close()


def test_two_faces_in_view_both_get_their_names(pw, tmp_path):
    two = people(2)
    video = _y4m([scene([im for _, im in two], shift=k % 10) for k in range(10)], tmp_path / "two.y4m")
    with _server(tmp_path) as url:
        b = _camera(pw, video)
        pg = b.new_context(viewport={"width": 390, "height": 1600}, permissions=["camera"]).new_page()  # a phone
        _start_live(pg, url)
        _in_view(pg, want=lambda s: s == "unknown, unknown")
        pg.get_by_role("button", name="Capture the faces in view").click()
        for k, (name, _) in enumerate(two):  # enrol each face of the capture under its name
            pg.get_by_text("face 2").first.wait_for(timeout=30_000)
            pg.get_by_text(f"face {k + 1}", exact=True).last.click()
            pg.get_by_label("Name").fill(name)
            pg.get_by_label("Name").press("Enter")
            pg.get_by_role("button", name="Enroll this face").click()
            pg.get_by_text(f"Enrolled {name}").wait_for(timeout=30_000)
            if k == 0:
                pg.get_by_role("button", name="Capture the faces in view").click()
        got = _in_view(pg, 10, want=lambda s: "unknown" not in s and "..." not in s)
        assert sorted(x.split(" (")[0] for x in got.split(", ")) == ["Eileen", "s1"], got
        pg.screenshot(path=str(ARTIFACTS / "identify_live_phone.png"), full_page=True)
        b.close()


def test_where_webrtc_cannot_connect_the_page_says_so_and_opens_the_snapshot_camera(pw, tmp_path, monkeypatch):
    """No UDP route for WebRTC (the policy a strict network or browser applies): no frame arrives."""
    video = _y4m([scene([people(1)[0][1]])], tmp_path / "one.y4m")
    monkeypatch.setenv("EXPLORER_LIVE_NO_FRAME_S", "4")
    with _server(tmp_path) as url:
        b = _camera(pw, video, "--force-webrtc-ip-handling-policy=disable_non_proxied_udp")
        pg = b.new_context(viewport={"width": 1400, "height": 1400}, permissions=["camera"]).new_page()
        _start_live(pg, url)
        pg.get_by_text("WebRTC could not connect from this browser").wait_for(timeout=60_000)
        pg.get_by_role("button", name="Take Photo").wait_for(timeout=60_000)  # the snapshot camera, opened
        b.close()
