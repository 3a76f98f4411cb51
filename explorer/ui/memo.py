"""Memo of derived results, keyed by workspace key + parameters, bounded.

Results of a workspace built from uploads (data or model) live in st.session_state: they must
never be shared between visitors. Results of server-side workspaces (the bundled digits, server
folders, server models) are the same for everyone, so they live in one process-wide store keyed
by content hash (the workspace key) and are computed once: a second visitor asking while the first
computes waits for that result instead of computing it again. Entries of an older workspace are dropped when the workspace changes, and the
memo holds at most MAX_ENTRIES results of at most MAX_BYTES together (estimated), the least
recently used going first. Callers key by choices from a finite set (a metric, a k), never by a
free number typed into a box.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from explorer.workspace import Workspace, from_uploads

MEMO = "derived_results"
MAX_ENTRIES = 64
MAX_BYTES = 512 * 2**20


class Memo:
    """An LRU store with a bound on entries and on their estimated bytes."""

    def __init__(self, workspace: str, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.workspace, self.max_entries, self.max_bytes = workspace, max_entries, max_bytes
        self.entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()

    @property
    def nbytes(self) -> int:
        return sum(size for _, size in self.entries.values())

    def get(self, key: tuple) -> Any:
        if key not in self.entries:
            return None
        self.entries.move_to_end(key)
        return self.entries[key][0]

    def put(self, key: tuple, value: Any) -> None:
        self.entries[key] = (value, estimate_bytes(value))
        self.entries.move_to_end(key)
        while len(self.entries) > 1 and (len(self.entries) > self.max_entries or self.nbytes > self.max_bytes):
            self.entries.popitem(last=False)  # the newest stays, even alone over the byte bound


def estimate_bytes(value: Any, _seen: set | None = None) -> int:
    """Rough memory held by a result: arrays and frames by their buffers, containers, dataclasses
    and plain objects by their parts (each object counted once)."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, pd.DataFrame | pd.Series):
        return (
            int(value.memory_usage(deep=True).sum())
            if isinstance(value, pd.DataFrame)
            else int(value.memory_usage(deep=True))
        )
    if isinstance(value, dict):
        return sum(estimate_bytes(k, seen) + estimate_bytes(v, seen) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return sys.getsizeof(value) + sum(estimate_bytes(v, seen) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(estimate_bytes(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return sys.getsizeof(value) + estimate_bytes(vars(value), seen)
    return sys.getsizeof(value)


def _store(ws: Workspace) -> Memo:
    store = st.session_state.get(MEMO)
    if not isinstance(store, Memo) or store.workspace != ws.key:
        store = st.session_state[MEMO] = Memo(ws.key)
    return store


class SharedMemo:
    """One LRU for every session (server-side workspaces only), with a lock per key so that a
    result is computed once however many visitors ask for it at the same time."""

    def __init__(self, *, max_entries: int = 4 * MAX_ENTRIES, max_bytes: int = 2 * MAX_BYTES):
        self.memo = Memo("shared", max_entries=max_entries, max_bytes=max_bytes)
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple) -> Any:
        with self._lock:
            return self.memo.get(key)

    def get_or_compute(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self.memo.entries:
                return self.memo.get(key)
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:  # one computes; the others wait here, then find the result
            with self._lock:
                if key in self.memo.entries:
                    return self.memo.get(key)
            value = compute()
            with self._lock:
                self.memo.put(key, value)
                self._computing.pop(key, None)
            return value


@st.cache_resource(show_spinner=False)
def shared_memo() -> SharedMemo:
    return SharedMemo()


def memo(ws: Workspace, name: str, params: tuple, compute: Callable[[], Any]) -> Any:
    if not from_uploads(ws):
        return shared_memo().get_or_compute((ws.key, name, params), compute)
    store = _store(ws)
    key = (name, params)
    if key not in store.entries:
        store.put(key, compute())
    return store.get(key)


def memo_get(ws: Workspace, name: str, params: tuple) -> Any:
    """A memoised result if there is one for this workspace, else None (nothing is computed)."""
    if not from_uploads(ws):
        return shared_memo().get((ws.key, name, params))
    store = st.session_state.get(MEMO)
    return store.get((name, params)) if isinstance(store, Memo) and store.workspace == ws.key else None
