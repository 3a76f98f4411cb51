"""Identify's live mode in headless Chromium, the camera being Chromium's fake device playing a
video made here from real faces (tests/live_frames.py): a face enrolled from the stream is named
within a second and holds its name; two faces in view both get theirs; where WebRTC cannot connect
the page says so and opens the snapshot camera."""

from __future__ import annotations

import re
import time
from pathlib import Path

from conftest import ARTIFACTS, CHROME_ARGS, CHROMIUM
from live_frames import people, scene, y4m
from test_browser import _section, _server

IN_VIEW = re.compile(r"frames a second processed .*In view: (.*?)\.(?= A name first|\n|$)", re.M)


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
    pg.screenshot(path=str(ARTIFACTS / "identify_live_failed.png"), full_page=True)
    raise AssertionError(f"the live status never showed what was wanted in {timeout_s} s; last: {seen!r}")


def test_a_face_enrolled_from_the_stream_is_named_within_a_second_and_holds(pw, tmp_path):
    face = people(1)[0][1]
    video = y4m([scene([face], shift=2 * k) for k in range(20)], tmp_path / "one.y4m")  # moving right and back
    with _server(tmp_path) as url:
        b = _camera(pw, video)
        pg = b.new_context(viewport={"width": 1400, "height": 1400}, permissions=["camera"]).new_page()
        hosts = set()
        pg.on("request", lambda r: hosts.add(r.url.split("/")[2]) if r.url.startswith("http") else None)
        _start_live(pg, url)
        assert _in_view(pg, want=lambda s: s == "unknown") == "unknown"  # nobody enrolled yet
        assert hosts == {url.split("/")[2]}  # the component and its media come from this server only
        _enrol_face(pg, 1, "Eileen")
        enrolled = time.monotonic()
        _in_view(pg, 10, want=lambda s: s.startswith("Eileen ("))
        assert time.monotonic() - enrolled < 2.0  # the status refreshes each second: named within a second of it
        held = []
        for _ in range(10):  # 3 s: the name holds, no flicker to unknown or "..."
            held.append(_in_view(pg, 5))
            pg.wait_for_timeout(300)
        assert all(s.startswith("Eileen (") for s in held), held
        frame = pg.frame_locator('iframe[title="streamlit_webrtc.component.webrtc_streamer"]')
        frame.get_by_role("button", name="STOP").click()  # a new stream, Eileen enrolled: named within a second
        pg.get_by_text("frames a second processed").wait_for(state="detached", timeout=30_000)
        frame.get_by_role("button", name="START").click()
        _in_view(pg, 30, want=lambda s: s.startswith("Eileen ("))
        first = re.search(r"A name first showed ([0-9.]+) s into the stream", pg.inner_text("body"))
        assert first and float(first.group(1)) < 1.0
        pg.screenshot(path=str(ARTIFACTS / "identify_live.png"), full_page=True)
        b.close()


def _enrol_face(pg, which: int, name: str) -> None:
    """Capture the faces in view, choose face ``which`` (1: the largest), enrol it as ``name``;
    each step waits for the page's answer to the one before."""
    pg.get_by_role("button", name="Capture the faces in view").click()
    group = pg.get_by_role("radiogroup", name="Which face")
    group.get_by_text(f"face {which}", exact=True).click(timeout=30_000)
    pg.get_by_label("Name").fill(name)
    pg.get_by_label("Name").press("Enter")
    pg.get_by_role("button", name="Enroll this face").click()
    pg.get_by_text(f"Enrolled {name}").wait_for(timeout=30_000)
    group.wait_for(state="detached", timeout=30_000)  # the capture is gone with its enrolment


def test_two_faces_in_view_both_get_their_names(pw, tmp_path):
    video = y4m([scene([im for _, im in people(2)], shift=k % 10) for k in range(10)], tmp_path / "two.y4m")
    with _server(tmp_path) as url:
        b = _camera(pw, video)
        pg = b.new_context(viewport={"width": 390, "height": 1600}, permissions=["camera"]).new_page()  # a phone
        _start_live(pg, url)
        _in_view(pg, want=lambda s: s == "unknown, unknown")
        _enrol_face(pg, 1, "Ann")
        _enrol_face(pg, 2, "Bea")
        got = _in_view(pg, 10, want=lambda s: "unknown" not in s and "..." not in s)
        named = dict(x[:-1].split(" (") for x in got.split(", "))
        # each face matches its own enrolment closely (the other's would be beyond the threshold)
        assert sorted(named) == ["Ann", "Bea"] and all(float(d) < 0.3 for d in named.values()), got
        pg.screenshot(path=str(ARTIFACTS / "identify_live_phone.png"), full_page=True)
        b.close()


# the browser may only relay through a TURN server and has none: it offers no address, so the peers
# never connect (as behind a network or browser policy that allows no direct connection)
RELAY_ONLY = """
const Direct = window.RTCPeerConnection;
window.RTCPeerConnection = function (config) { return new Direct({...(config || {}), iceTransportPolicy: "relay"}); };
window.RTCPeerConnection.prototype = Direct.prototype;
"""


def test_where_webrtc_cannot_connect_the_page_says_so_and_opens_the_snapshot_camera(pw, tmp_path, monkeypatch):
    video = y4m([scene([people(1)[0][1]])], tmp_path / "one.y4m")
    monkeypatch.setenv("EXPLORER_LIVE_NO_FRAME_S", "4")
    with _server(tmp_path) as url:
        b = _camera(pw, video)
        context = b.new_context(viewport={"width": 1400, "height": 1400}, permissions=["camera"])
        context.add_init_script(RELAY_ONLY)  # in every frame, the component's iframe included
        pg = context.new_page()
        _start_live(pg, url)
        pg.get_by_text("WebRTC could not connect from this browser").wait_for(timeout=60_000)
        pg.get_by_role("button", name="Take Photo").wait_for(timeout=60_000)  # the snapshot camera, opened
        # a page off localhost over http gets no camera API at all: the component says the page is not
        # loaded securely, and the page's sentence beside it points to the snapshot camera
        bare = b.new_context(viewport={"width": 1400, "height": 1400})
        bare.add_init_script("Object.defineProperty(Navigator.prototype, 'mediaDevices', {get: () => undefined})")
        pg = bare.new_page()
        _start_live(pg, url)
        frame = pg.frame_locator('iframe[title="streamlit_webrtc.component.webrtc_streamer"]')
        frame.get_by_text("not loaded securely").wait_for(timeout=30_000)
        said = pg.get_by_text("No live view? It needs WebRTC")
        assert said.is_visible() and "upload a photo in the Identify section" in said.inner_text()
        b.close()
