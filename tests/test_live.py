"""Live identification: tracks follow faces, the dwell rule names them without flicker, descriptions
run on arrival and then on schedule, frames over the budget are dropped, streams are budgeted."""

from __future__ import annotations

import numpy as np
import pytest
from live_frames import people, scene

from explorer.faces.annotate import KNOWN, PENDING, UNKNOWN
from explorer.faces.gallery import Gallery
from explorer.faces.live import LiveIdentifier, LiveSettings, StreamSlots, Track, iou, match
from explorer.faces.pipeline import acquire_all, describe


class Counting:
    """The face descriptor, counting the faces it describes."""

    def __init__(self):
        self.described = 0

    def encode(self, chips):
        self.described += len(chips)
        return describe(chips)


@pytest.fixture(scope="module")
def four():
    named = people(4)
    frame = scene([im for _, im in named])
    faces = acquire_all(frame)
    return named, frame, faces, describe([f.chip for f in faces])


def _gallery(four, who: set[str]) -> Gallery:
    """A gallery of the scene's people named in ``who``, each enrolled from their face in the scene."""
    named, frame, faces, vectors = four
    g = Gallery()
    for name, im in named:
        if name in who:
            alone = acquire_all(scene([im]))[0]
            g.enroll(name, describe([alone.chip]), [alone.chip], [name])
    return g


def test_overlap_and_matching_against_hand_cases():
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    tracks = [Track(0, (0, 0, 100, 100), 0, 0), Track(1, (200, 0, 300, 100), 0, 0)]
    # the faces moved a little, listed the other way round; a third is new
    boxes = [(210, 5, 310, 105), (500, 0, 600, 100), (8, 0, 108, 100)]
    assert match(tracks, boxes, 0.3) == {0: 1, 2: 0}
    assert match(tracks, [(50, 0, 150, 100)], 0.5) == {}  # a third of the box overlaps: not the same face


def test_the_dwell_rule_names_after_n_agreeing_descriptions_and_never_flickers():
    t = Track(0, (0, 0, 1, 1), 0, 0)
    for k, answer in enumerate(["ann", "ann"]):
        t.hear(answer, 0.3, k, dwell=3)
        assert t.shown is None and t.label == "..."
    t.hear("ann", 0.31, 2, dwell=3)
    assert t.shown == "ann" and t.label == "ann 0.31" and t.decided_at == 2
    for k, answer in enumerate(["bob", "ann", "bob", "bob", "ann"], 3):  # contested, never 3 in a row
        t.hear(answer, 0.5, k, dwell=3)
        assert t.shown == "ann"
    for k in range(3):
        t.hear("", 0.8, 10 + k, dwell=3)  # "" = beyond the threshold
    assert t.shown == "" and t.label == "unknown" and t.decided_at == 2


def test_a_face_is_named_after_the_dwell_and_then_described_every_half_second(four):
    named, frame, faces, _ = four
    enc = Counting()
    li = LiveIdentifier(_gallery(four, {"Eileen"}), enc, 0.6, LiveSettings(dwell=3, redescribe_s=0.5))
    one = scene([named[0][1]])
    times = np.arange(0, 2.0, 0.05)  # 20 frames a second for 2 s
    shown = []
    for now in times:
        out = li.process(one, now)
        shown.append(li.tracks(now)[0].shown)
    assert shown[:2] == [None, None] and set(shown[2:]) == {"Eileen"}  # named at the 3rd frame, held
    # described on its first 3 frames, then at 0.1 + 0.5 k: 0.6, 1.1, 1.6 (hand count: 3 + 3)
    assert enc.described == 6
    (box,) = [t.box for t in li.tracks(times[-1])]
    assert tuple(out[box[3], (box[0] + box[2]) // 2]) == KNOWN  # the box is drawn green, on a copy
    assert tuple(one[box[3], (box[0] + box[2]) // 2]) != KNOWN


def test_every_face_of_four_gets_its_own_name_or_unknown(four):
    li = LiveIdentifier(_gallery(four, {"Eileen", "s1", "s3"}), Counting(), 0.6)
    named, frame, *_ = four
    for k in range(4):
        now = 0.05 * k
        out = li.process(scene([im for _, im in named], shift=2 * k), now)  # moving right
    tracks = li.tracks(now)
    assert len(tracks) == 4 and sorted(t.id for t in tracks) == [0, 1, 2, 3]  # followed, not restarted
    by_x = sorted(tracks, key=lambda t: (t.box[1] > 200, t.box[0]))  # the grid: top row, then bottom
    assert [t.shown for t in by_x] == ["Eileen", "s1", "", "s3"]  # s2 is not enrolled: unknown
    drawn = [t for t in by_x if t.seen_at == now]  # HOG may miss a face in a frame: its track holds
    colours = [tuple(out[t.box[3], (t.box[0] + t.box[2]) // 2]) for t in drawn]
    assert len(drawn) >= 3 and colours == [UNKNOWN if t.shown == "" else KNOWN for t in drawn]
    assert "..." not in [t.label for t in tracks]
    first = LiveIdentifier(_gallery(four, set()), Counting(), 0.6)
    out = first.process(frame, 0.0)
    t0 = first.tracks(0.0)[0]
    assert tuple(out[t0.box[3], (t0.box[0] + t0.box[2]) // 2]) == PENDING  # undecided: grey


def test_a_face_that_leaves_ends_its_track_and_returns_as_new(four):
    named, *_ = four
    li = LiveIdentifier(_gallery(four, {"Eileen"}), Counting(), 0.6, LiveSettings(lost_after_s=1.0))
    one, empty = scene([named[0][1]]), np.full((480, 640, 3), 96, np.uint8)
    li.process(one, 0.0)
    li.process(empty, 0.5)
    assert [t.id for t in li.tracks(0.5)] == [0]  # missed once: kept
    li.process(empty, 1.2)
    assert li.tracks(1.2) == []
    li.process(one, 1.3)
    assert [(t.id, t.shown) for t in li.tracks(1.3)] == [(1, None)]  # a new track, dwelling again


def test_frames_over_the_rate_are_dropped_not_queued(four):
    named, *_ = four
    li = LiveIdentifier(_gallery(four, set()), Counting(), 0.6, LiveSettings(max_fps=10))
    one = scene([named[0][1]])
    # a bucket of 2 frames filled at 10 a second (by hand: 2 -> 1, 1.4 -> 0.4, 0.99, 1.0 -> 0, 0.5, 1.0 -> 0)
    got = [li.offer(one, now) is not None for now in (0.0, 0.04, 0.099, 0.1, 0.15, 0.2)]
    assert got == [True, True, False, True, False, True]
    li.note_dropped(5)
    s = li.stats()
    assert s.processed == 4 and s.dropped == 7 and s.fps == pytest.approx(15.0)


def test_a_camera_at_the_rate_loses_nothing_to_jitter_and_a_faster_one_is_thinned_to_it():
    class Still(LiveIdentifier):
        def process(self, frame, now):  # the budget alone, not the faces
            return np.zeros(1)

    rng = np.random.default_rng(0)
    at_rate = Still(Gallery(), Counting(), 0.6, LiveSettings(max_fps=20))
    times = np.arange(200) * 0.05 + rng.uniform(-0.004, 0.004, 200)  # 20 a second, +-4 ms
    assert all(at_rate.offer(None, t) is not None for t in times)
    faster = Still(Gallery(), Counting(), 0.6, LiveSettings(max_fps=20))
    kept = [t for t in np.arange(300) / 30 if faster.offer(None, t) is not None]  # 30 a second for 10 s
    assert 200 <= len(kept) <= 202 and np.diff(kept).max() < 0.07  # 20 a second, evenly: no long gap


def test_the_stream_budget_admits_one_stream_a_session_up_to_the_limit():
    slots = StreamSlots(idle_s=5.0)
    assert slots.admit("a", 2, now=0) and slots.admit("b", 2, now=1) and slots.admit("a", 2, now=2)
    assert not slots.admit("c", 2, now=3) and slots.busy("c", 2, now=3) and not slots.busy("a", 2, now=3)
    assert slots.admit("c", 2, now=6.5)  # b's last frame was 5.5 s ago: its slot is free
    assert not slots.admit("b", 2, now=6.6)  # a (4.6 s idle) and c hold the two slots
    assert slots.admit("b", 2, now=7.1)  # a's went idle at 7
