"""Identify's live mode: the camera through WebRTC (streamlit-webrtc), every face boxed and named as
it moves; enrolling a face from the stream; the snapshot camera where WebRTC cannot connect."""

from __future__ import annotations

import secrets
import time

import numpy as np
import streamlit as st

from explorer import config
from explorer.faces.live import SLOTS, UNKNOWN, LiveIdentifier, LiveSettings
from explorer.ui import identify as ui
from explorer.ui.memo import memo_get
from explorer.ui.safe import plain
from explorer.ui.state import get_workspace
from explorer.ui.threshold import picked

LIVE, TOKEN, STARTED, FAILED = "id_live", "id_live_token", "id_live_started", "id_live_failed"
CAPTURED, WHICH, ENROLLED = "id_live_captured", "id_live_which", "id_live_enrolled"
# on 127.0.0.1 no STUN server is needed (or reachable): host candidates connect, on both sides
RTC = {"iceServers": []}
# what the component says where the browser cannot stream (in the page's words, pointing to the fallback)
SAY = {
    "media_api_not_available": "This browser gives no camera to this page (browsers allow it on https or on localhost only): use the snapshot camera below.",
    "device_access_denied": "The camera was refused: allow it in the browser's address bar, or use the snapshot camera below.",
    "device_not_available": "No camera was found: use the snapshot camera below, or upload a photo in the Identify section.",
}
CAMERA = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False}


def identifier(t: float) -> LiveIdentifier:
    """This session's live identifier (one stream per session), following the page's gallery,
    face model and threshold."""
    s = config.settings()
    li = st.session_state.get(LIVE)
    if li is None:
        li = LiveIdentifier(
            ui.gallery(), ui.face_model(), t, LiveSettings(detect_side=s.live_detect_side, max_fps=s.live_max_fps)
        )
        with st.spinner("Loading the face models ..."):
            li.warm()
        st.session_state[LIVE] = li
    li.gallery, li.encoder, li.threshold = ui.gallery(), ui.face_model(), t
    return li


def _callback(li: LiveIdentifier, token: str, limit: int):
    """The stream's frame handler: of the frames queued while one was processed, the newest is
    processed and the others dropped; over the budget, frames pass through unannotated."""
    import av

    async def frames(queued: list) -> list:
        li.note_dropped(len(queued) - 1)
        if not SLOTS.admit(token, limit):
            return queued[-1:]
        out = li.offer(queued[-1].to_ndarray(format="rgb24"))
        return [] if out is None else [av.VideoFrame.from_ndarray(out, format="rgb24")]

    return frames


def live(t: float) -> None:
    s = config.settings()
    li = identifier(t)
    token = st.session_state.setdefault(TOKEN, secrets.token_hex(8))
    st.write(
        f"Point the camera at faces: each gets a box and a name with its distance, or *unknown*. A box shows a "
        f"name only after {li.settings.dwell} descriptions in a row agree on it, and *unknown* the same way "
        f"(*...* until then), so names do not flicker; a face is described when it appears and then every "
        f"{li.settings.redescribe_s:g} s. Frames stay in memory and are never stored."
    )
    st.caption(gallery_meaning(t))
    if SLOTS.busy(token, s.live_streams):
        st.warning(
            f"The server is processing {s.live_streams} live streams already: use the snapshot camera below, or try again in a minute."
        )
        snapshot(t, opened=True)
        return
    try:
        from streamlit_webrtc import WebRtcMode, webrtc_streamer

        ctx = webrtc_streamer(
            key="id_live_stream",
            mode=WebRtcMode.SENDRECV,
            rtc_configuration=RTC,
            media_stream_constraints=CAMERA,
            queued_video_frames_callback=_callback(li, token, s.live_streams),
            async_processing=True,
            video_html_attrs={
                "autoPlay": True,
                "controls": False,
                "muted": True,
                "style": {"width": "100%", "maxWidth": "720px"},
            },
            translations=SAY,
        )
    except Exception as exc:  # noqa: BLE001 - the component needs a full server runtime (not a test harness's)
        st.warning(
            f"The live view cannot run on this server ({plain(type(exc).__name__)}): use the snapshot camera below."
        )
        snapshot(t, opened=True)
        return
    running = ctx.state.playing or ctx.state.signalling
    if running:
        st.session_state.setdefault(STARTED, time.monotonic())
    else:
        st.session_state.pop(STARTED, None)
        st.session_state.pop(FAILED, None)
        li.reset()  # the next start is a new stream
    st.fragment(run_every=1.0 if running else None)(status)(li, running)
    enrol_from_live(li)
    snapshot(t, opened=bool(st.session_state.get(FAILED)))


def status(li: LiveIdentifier, running: bool) -> None:
    """The stream's rate and who is in view, refreshed every second while it runs; where no frame
    has come through since the start, WebRTC failed to connect: said, and the snapshot camera opened."""
    st_ = li.stats()
    started = st.session_state.get(STARTED)
    if running and started is not None and (st_.last_frame_at is None or st_.last_frame_at < started):
        waited = time.monotonic() - started
        if waited > config.settings().live_no_frame_s:
            st.warning(
                f"No frame has reached the server {waited:.0f} s after the start: WebRTC could not connect from "
                "this browser (off this machine it needs https, and some browsers or networks refuse it). "
                "The snapshot camera below works without it."
            )
            if not st.session_state.get(FAILED):
                st.session_state[FAILED] = True
                st.rerun()  # the whole page: the snapshot camera opens
            return
        st.caption("Connecting ...")
        return
    if not running or st_.last_frame_at is None:
        return
    in_view = li.tracks()
    names = ", ".join(
        "..." if x.shown is None else "unknown" if x.shown == UNKNOWN else f"{plain(x.shown)} ({x.shown_distance:.2f})"
        for x in in_view
    )
    first = (
        f" A name first showed {st_.first_named_at - st_.first_frame_at:.2f} s into the stream."
        if st_.first_named_at is not None
        else ""
    )
    st.caption(
        f"{st_.fps:.1f} frames a second processed ({st_.ms_per_frame:.0f} ms each; at most "
        f"{li.settings.max_fps:g}), {st_.dropped:,} dropped. In view: {names or 'no face'}.{first}"
    )


def gallery_meaning(t: float) -> str:
    """The gallery's size N and what the threshold means at that N."""
    g = ui.gallery()
    n = len(g.people())
    head = f"Gallery: N = {n:,} {'person' if n == 1 else 'people'} ({len(g):,} faces); threshold {t:.3g}."
    ws = get_workspace()
    r = memo_get(ws, "open_set", ()) if ws is not None else None
    if r is not None:
        at = np.searchsorted(r.thresholds, t, side="right") - 1
        return (
            f"{head} On the workspace's 1:N measurement (N = {r.gallery_size:,}), this threshold wrongly names "
            f"{100 * r.fpir[at]:.1f} % of strangers (FPIR) and misses {100 * r.fnir[at]:.1f} % of enrolled people "
            "(FNIR); FPIR grows with N."
        )
    pick = picked()
    if pick and n:
        fpir = 1 - (1 - float(pick["far"])) ** n
        return (
            f"{head} At the picked FAR of {100 * float(pick['far']):.3g} % per comparison, a stranger meets N people: "
            f"about {100 * fpir:.3g} % of strangers get someone's name (FPIR ~ 1 - (1 - FAR)^N, were the "
            "comparisons independent); it grows with N. Measure 1:N in the Workspace section for the real figure."
        )
    return f"{head} A stranger is compared with all N people, so the chance of a wrong name (FPIR) grows with N: measure it in the Workspace section."


def enrol_from_live(li: LiveIdentifier) -> None:
    """Enrol a face of the stream: capture the faces in view, choose one (the largest first), name
    it. The buttons act in callbacks, before the page reruns, so the page never shows a capture
    that was already enrolled."""
    st.button(
        "Capture the faces in view", key="id_live_capture", help="to enroll one of them", on_click=_capture, args=(li,)
    )
    if done := st.session_state.pop(ENROLLED, None):
        st.success(done)
    captured = st.session_state.get(CAPTURED)
    if captured is None:
        return
    if not captured:
        st.info("No face is in view (or none described yet): start the camera and face it.")
        return
    st.image([c for c, _ in captured], width=96, caption=[f"face {k}" for k in range(1, len(captured) + 1)])
    st.radio(
        "Which face", list(range(len(captured))), format_func=lambda k: f"face {k + 1}", horizontal=True, key=WHICH
    )
    name = st.text_input("Name", key="id_live_name", placeholder="the person's name")
    st.button("Enroll this face", type="primary", disabled=not name.strip(), key="id_live_enroll", on_click=_enrol)


def _capture(li: LiveIdentifier) -> None:
    st.session_state[CAPTURED] = [
        (x.face.chip, x.vector) for x in li.tracks() if x.face is not None and x.vector is not None
    ]
    st.session_state.pop(WHICH, None)  # a new capture: the largest face first again


def _enrol() -> None:
    captured, name = st.session_state.pop(CAPTURED, None), st.session_state.get("id_live_name", "").strip()
    if not captured or not name:
        return
    chip, vector = captured[st.session_state.get(WHICH) or 0]
    ui.gallery().enroll(name, vector[None, :], [chip], ["live camera"])
    st.session_state[ENROLLED] = f"Enrolled {plain(name)}: the live view names this face from now on."


def snapshot(t: float, *, opened: bool) -> None:
    """The camera without WebRTC: one still at a time, every face in it named."""
    st.caption(
        "No live view? It needs WebRTC, which browsers allow on https or on this machine (localhost) only, and "
        "some refuse; the snapshot camera takes one still at a time without it. Where the browser gives this page "
        "no camera at all (http from another machine), upload a photo in the Identify section."
    )
    if opened or st.toggle("Snapshot camera", key="id_live_snap"):
        shot = st.camera_input("Take a photo", key="id_live_shot")
        if shot is not None:
            ui.named_faces(shot, t)
