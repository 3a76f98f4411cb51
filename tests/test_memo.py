"""The per-session memo: bounded by count and by bytes, least recently used out first."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.ui.memo import Memo, estimate_bytes


def test_oldest_unused_entries_go_first_when_the_count_bound_is_reached():
    m = Memo("ws", max_entries=3, max_bytes=10**9)
    for k in "abc":
        m.put((k,), k)
    assert m.get(("a",)) == "a"  # a is now the most recently used
    m.put(("d",), "d")
    assert list(m.entries) == [("c",), ("a",), ("d",)] and m.get(("b",)) is None


def test_the_byte_bound_keeps_the_newest_entries_that_fit():
    m = Memo("ws", max_entries=100, max_bytes=3 * 8000 + 100)
    for i in range(5):
        m.put(("x", i), np.zeros(1000))  # 8,000 bytes each
    assert [k[1] for k in m.entries] == [2, 3, 4] and m.nbytes == 24_000
    m.put(("big",), np.zeros(10_000))  # alone over the bound: it stays, everything else goes
    assert list(m.entries) == [("big",)]


def test_sizes_are_estimated_from_the_buffers_inside():
    @dataclass
    class Result:
        coords: np.ndarray
        table: pd.DataFrame

    a = np.zeros((100, 2), np.float32)
    frame = pd.DataFrame({"v": np.arange(50, dtype=np.int64)})
    size = estimate_bytes(Result(a, frame))
    assert size == a.nbytes + int(frame.memory_usage(deep=True).sum())
    assert estimate_bytes((a, a)) < 2 * a.nbytes  # one array held twice is counted once
    assert estimate_bytes({"k": a}) >= a.nbytes
