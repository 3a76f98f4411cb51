"""Live identification: the faces of a camera's frames followed from frame to frame and named.

Each processed frame: detect faces on a downscaled copy (dlib's HOG, no upsampling), continue the
tracks whose boxes overlap a detection, describe a track when it appears and then every
``redescribe_s`` (not every frame), and draw each box with its name and distance, "unknown", or
"..." while undecided. The dwell rule keeps names from flickering: a track shows a name, or
"unknown", only after ``dwell`` descriptions in a row agree on it; a new or contested track is
described on every frame until they do. Frames arriving faster than ``max_fps`` are dropped, not
queued. Frames live in memory only: nothing here writes them anywhere.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from explorer.faces.annotate import boxed
from explorer.faces.gallery import Gallery
from explorer.faces.pipeline import Face, FaceSettings, cut, detect, rgb

BURST = 2.0  # frames the rate budget lets through at once
UNKNOWN = ""  # a track's answer when the closest person is beyond the threshold (names are never empty)


@dataclass(frozen=True)
class LiveSettings:
    detect_side: int = 480  # frames are scaled to this longer side for detection
    dwell: int = 3  # descriptions in a row that must agree before a name (or "unknown") is shown
    redescribe_s: float = 0.5  # a settled track is described again this often
    max_fps: float = 20.0  # frames beyond this rate are dropped
    overlap: float = 0.3  # intersection over union for a detection to continue a track
    lost_after_s: float = 1.0  # a track not detected for this long ends


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, w) * max(0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One face followed across frames, and what its box says."""

    id: int
    box: tuple[int, int, int, int]
    first_seen: float
    seen_at: float
    face: Face | None = None  # the face at its last description (its chip is what Enrol takes)
    vector: np.ndarray | None = None  # its descriptor then
    described_at: float = -np.inf
    candidate: str | None = None  # the last description's answer (UNKNOWN for nobody)
    streak: int = 0  # how many descriptions in a row gave ``candidate``
    shown: str | None = None  # what the box says: None until the dwell rule decides
    distance: float = float("nan")  # to the closest person at the last description
    shown_distance: float = float("nan")  # ... at the last description that agreed with ``shown``
    decided_at: float | None = None  # when ``shown`` was first decided

    def settled(self, dwell: int) -> bool:
        return self.shown is not None and self.candidate == self.shown and self.streak >= dwell

    def hear(self, answer: str, distance: float, now: float, dwell: int) -> None:
        """One description's answer, through the dwell rule."""
        self.streak = self.streak + 1 if answer == self.candidate else 1
        self.candidate, self.distance, self.described_at = answer, distance, now
        if self.streak >= dwell:
            self.shown = answer
            self.decided_at = self.decided_at if self.decided_at is not None else now
        if answer == self.shown:
            self.shown_distance = distance

    @property
    def label(self) -> str:
        if self.shown is None:
            return "..."
        return "unknown" if self.shown == UNKNOWN else f"{self.shown} {self.shown_distance:.2f}"


def match(tracks: list[Track], boxes: list[tuple[int, int, int, int]], least: float) -> dict[int, int]:
    """Detections continuing tracks: {box index: track index}, greedily by overlap, each at most once."""
    pairs = sorted(((iou(t.box, b), i, j) for j, t in enumerate(tracks) for i, b in enumerate(boxes)), reverse=True)
    out: dict[int, int] = {}
    used: set[int] = set()
    for o, i, j in pairs:
        if o >= least and i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


@dataclass
class Stats:
    """What the page shows of a stream: processed frames a second, dropped frames, time per frame."""

    fps: float = 0.0
    processed: int = 0
    dropped: int = 0
    ms_per_frame: float = 0.0
    last_frame_at: float | None = None
    first_frame_at: float | None = None
    first_named_at: float | None = None  # when a box first showed a name (an enrolled person)
    times: deque = field(default_factory=lambda: deque(maxlen=64))


class LiveIdentifier:
    """A camera stream's tracks against a gallery. ``process`` runs on the stream's thread; the
    page reads ``tracks()`` and ``stats()``, and may change ``gallery``, ``encoder`` and
    ``threshold`` between frames."""

    def __init__(self, gallery: Gallery, encoder, threshold: float, settings: LiveSettings = LiveSettings()):
        self.gallery, self.encoder, self.threshold, self.settings = gallery, encoder, threshold, settings
        self._tracks: list[Track] = []
        self._next = 0
        self._lock = threading.Lock()
        self._busy = threading.Lock()
        self._stats = Stats()
        self._tokens, self._filled_at = BURST, None

    def warm(self) -> None:
        """Load the detector, the landmarks and the descriptor before the first frame (about half
        a second, once per process), so the stream's first face is not kept waiting for them."""
        blank = np.full((120, 160, 3), 128, np.uint8)
        detect(blank, FaceSettings(detect_max_side=self.settings.detect_side, upsample_below=0))
        face = cut(blank, (40, 20, 120, 100))
        self.encoder.encode([face.chip])

    def _take(self, now: float) -> bool:
        """Whether a frame arriving now may be processed: a token bucket filled at ``max_fps`` a
        second, holding up to BURST, so a camera's jitter around the rate drops nothing while a
        faster camera is thinned evenly to the rate."""
        if self._filled_at is not None:
            self._tokens = min(BURST, self._tokens + (now - self._filled_at) * self.settings.max_fps)
        self._filled_at = now
        if self._tokens >= 1.0 - 1e-9:
            self._tokens -= 1.0
            return True
        return False

    def offer(self, frame: np.ndarray, now: float | None = None) -> np.ndarray | None:
        """The frame annotated, or None when it is dropped: over the frame rate, or while another
        frame is being processed."""
        now = time.monotonic() if now is None else now
        if not self._take(now) or not self._busy.acquire(blocking=False):
            with self._lock:
                self._stats.dropped += 1
            return None
        try:
            return self.process(frame, now)
        finally:
            self._busy.release()

    def note_dropped(self, n: int) -> None:
        """Frames dropped before they were offered (queued behind one being processed)."""
        if n > 0:
            with self._lock:
                self._stats.dropped += n

    def process(self, frame: np.ndarray, now: float) -> np.ndarray:
        """Detect, track, describe what is due, name by the dwell rule; the frame annotated."""
        started = time.perf_counter()
        img = rgb(frame)
        s = self.settings
        boxes, _ = detect(img, FaceSettings(detect_max_side=s.detect_side, upsample_below=0))
        with self._lock:
            tracks = [t for t in self._tracks if now - t.seen_at <= s.lost_after_s]
            continued = match(tracks, boxes, s.overlap)
            current = []
            for i, box in enumerate(boxes):
                if i in continued:
                    t = tracks[continued[i]]
                    t.box, t.seen_at = box, now
                else:
                    t = Track(self._next, box, now, now)
                    self._next += 1
                    tracks.append(t)
                current.append(t)
            self._tracks = tracks
        due = [t for t in current if not t.settled(s.dwell) or now - t.described_at >= s.redescribe_s]
        if due:
            faces = [cut(img, t.box, len(boxes)) for t in due]
            vectors = self.encoder.encode([f.chip for f in faces])
            for t, f, v in zip(due, faces, vectors, strict=True):
                r = self.gallery.identify(v, k=1, threshold=self.threshold)
                answer = r.answer if r.answer is not None else UNKNOWN
                with self._lock:
                    t.face, t.vector = f, v
                    t.hear(answer, r.matches[0].distance if r.matches else float("nan"), now, s.dwell)
                    if t.shown and self._stats.first_named_at is None:
                        self._stats.first_named_at = now
        known = [None if t.shown is None else t.shown != UNKNOWN for t in current]
        out = boxed(img, [t.box for t in current], [t.label for t in current], known)
        self._count(now, time.perf_counter() - started)
        return out

    def _count(self, now: float, took: float) -> None:
        with self._lock:
            st = self._stats
            st.processed += 1
            st.times.append(now)
            st.last_frame_at = now
            st.first_frame_at = now if st.first_frame_at is None else st.first_frame_at
            st.ms_per_frame = 1000 * took if st.processed == 1 else 0.9 * st.ms_per_frame + 100 * took
            span = st.times[-1] - st.times[0]
            st.fps = (len(st.times) - 1) / span if span > 0 else 0.0

    def tracks(self, now: float | None = None) -> list[Track]:
        """The tracks in view (detected within the last ``lost_after_s``), largest first; copies."""
        now = time.monotonic() if now is None else now
        with self._lock:
            live = [Track(**vars(t)) for t in self._tracks if now - t.seen_at <= self.settings.lost_after_s]
        return sorted(live, key=lambda t: (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]), reverse=True)

    def stats(self) -> Stats:
        with self._lock:
            return Stats(**{**vars(self._stats), "times": deque(self._stats.times)})

    def reset(self) -> None:
        """A new stream: no tracks, no figures."""
        with self._lock:
            self._tracks, self._stats = [], Stats()
            self._tokens, self._filled_at = BURST, None


class StreamSlots:
    """The server's budget of live streams: at most ``limit`` process frames at once, one per
    visitor session. A stream holds its slot while frames arrive, and gives it up ``idle_s`` after
    its last one (a closed tab needs no goodbye)."""

    def __init__(self, idle_s: float = 5.0):
        self.idle_s = idle_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def admit(self, session: str, limit: int, now: float | None = None) -> bool:
        """Whether this session's stream may process a frame now (taking a slot if it had none)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._last = {k: t for k, t in self._last.items() if now - t <= self.idle_s}
            if session not in self._last and len(self._last) >= limit:
                return False
            self._last[session] = now
            return True

    def busy(self, session: str, limit: int, now: float | None = None) -> bool:
        """Whether every slot is held by other sessions."""
        now = time.monotonic() if now is None else now
        with self._lock:
            others = [k for k, t in self._last.items() if k != session and now - t <= self.idle_s]
            return len(others) >= limit


SLOTS = StreamSlots()
