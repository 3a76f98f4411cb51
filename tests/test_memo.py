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


def test_the_shared_memo_computes_a_result_once_however_many_ask():
    import threading
    import time

    from explorer.ui.memo import SharedMemo

    shared, calls = SharedMemo(), []

    def slow():
        calls.append(1)
        time.sleep(0.3)
        return 42

    got = []
    threads = [
        threading.Thread(target=lambda: got.append(shared.get_or_compute(("ws", "x", ()), slow))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [42] * 6 and len(calls) == 1


def test_results_of_uploads_stay_in_the_session_and_server_results_are_shared():
    from conftest import open_page

    from explorer.ui.memo import shared_memo

    at = open_page("app_pages/distances.py")
    server_key = at.session_state["workspace"].key
    assert any(k[0] == server_key for k in shared_memo().memo.entries)  # digits: computed once for all
    at.switch_page("app_pages/data_model.py").run()
    at.radio(key="dm_source").set_value("Vector table").run()
    rows = "\n".join(f"p{k % 3},{k},{k % 5}" for k in range(30))
    at.file_uploader[0].upload("t.csv", f"label,x,y\n{rows}".encode(), "text/csv")
    at.run()
    at.button(key="dm_go").click().run()
    at.switch_page("app_pages/distances.py").run()
    assert not at.exception
    mine = at.session_state["workspace"].key
    assert not any(k[0] == mine for k in shared_memo().memo.entries)
    assert at.session_state["derived_results"].workspace == mine and at.session_state["derived_results"].entries
