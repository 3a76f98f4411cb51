"""A gallery of enrolled people for one-shot identification and verification.

Each enrolled face is a descriptor (euclidean), the chip that was enrolled and its source. Search
is exact up to ``exact_up_to`` enrolled faces and by an hnswlib index beyond (grown as faces are
enrolled); a person's distance is that of their closest enrolled face. Plain Python: where
the gallery lives (a visitor's session; a server's SQLite file) is the caller's choice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from explorer.faces.thumbs import FileThumbs, MemoryThumbs

EXACT_UP_TO = 2000  # enrolled faces searched exactly; an HNSW index beyond
# the index's search breadth: identification wants the true nearest face (benchmarks/README.md, 100k
# faces on a 32-d subspace: ef 64 finds the right person for 99.6 % of queries, 128 for 99.9 %)
HNSW_EF = 128


@dataclass(frozen=True)
class Match:
    name: str
    distance: float  # euclidean, to the person's closest enrolled face
    chip: np.ndarray  # that face's enrolled chip


@dataclass(frozen=True)
class Identification:
    """The k closest people, and the answer at the threshold: the closest person, or None (unknown)."""

    matches: list[Match]
    threshold: float

    @property
    def answer(self) -> str | None:
        return self.matches[0].name if self.matches and self.matches[0].distance <= self.threshold else None


GROWTH = 2  # the index's capacity grows by this factor when full


class Gallery:
    """Enrolled faces: each a descriptor, a thumbnail of the enrolled face and its source, under a
    person's name. Arrays, not Python objects per face: a query is one BLAS pass (exact, up to
    ``exact_up_to`` faces) or an HNSW search (beyond), and nothing per person runs in Python; the
    index grows as faces are enrolled (``add_items``) and forgotten faces are marked deleted in it,
    so no query waits for an index to be built."""

    def __init__(self, dim: int = 128, exact_up_to: int = EXACT_UP_TO, thumbs: MemoryThumbs | FileThumbs | None = None):
        self.dim, self.exact_up_to = dim, exact_up_to
        # one lock for reads and writes: a live stream's thread queries while the page enrols
        self._lock = threading.RLock()
        # per face, in arrays with room to grow (an enrolment appends in place: O(1) amortised)
        self._n = 0
        self._vec = np.zeros((16, dim), np.float32)
        self._sq_all = np.zeros(16, np.float32)  # squared norms: |q - v|^2 = |q|^2 - 2 q.v + |v|^2
        self._codes_all = np.zeros(16, np.int64)  # the person of each face
        self._ids_all = np.zeros(16, np.int64)  # each face's id in the index (ascending, never reused)
        self._person: list[str] = []  # name of each code
        self._code_of: dict[str, int] = {}
        self._counts = np.zeros(0, np.int64)  # faces per code
        self._thumbs = thumbs if thumbs is not None else MemoryThumbs()  # one per face, in memory or on disk
        self.sources: list[str] = []
        self._next_id = 0
        self._index = None  # hnswlib.Index over the face ids, once beyond exact_up_to

    def __len__(self) -> int:
        return self._n

    @property
    def vectors(self) -> np.ndarray:
        return self._vec[: self._n]

    @property
    def _sq(self) -> np.ndarray:
        return self._sq_all[: self._n]

    @property
    def _codes(self) -> np.ndarray:
        return self._codes_all[: self._n]

    @property
    def _ids(self) -> np.ndarray:
        return self._ids_all[: self._n]

    def _reserve(self, more: int) -> None:
        need = self._n + more
        if need > len(self._vec):
            size = max(need, GROWTH * len(self._vec))
            self._vec = np.resize(self._vec, (size, self.dim))
            self._sq_all, self._codes_all, self._ids_all = (
                np.resize(a, size) for a in (self._sq_all, self._codes_all, self._ids_all)
            )

    @property
    def chips(self) -> list[np.ndarray]:
        """The enrolled faces' thumbnails, decoded (for display; a query decodes only its matches)."""
        return [self._thumbs.get(i) for i in range(len(self))]

    @property
    def names(self) -> list[str]:
        """The person of each enrolled face, in enrolment order."""
        return [self._person[c] for c in self._codes]

    def people(self) -> dict[str, int]:
        """Enrolled people and how many faces each, in enrolment order."""
        return {self._person[c]: int(n) for c, n in enumerate(self._counts) if n}

    def first_faces(self, most: int) -> list[tuple[str, int, bytes]]:
        """The first ``most`` people in enrolment order: name, how many faces, the JPEG thumbnail
        of their first enrolled face."""
        with self._lock:
            codes, first = np.unique(self._codes, return_index=True)  # codes ascend: enrolment order
            return [
                (self._person[c], int(self._counts[c]), self._thumbs.raw(int(r)))
                for c, r in zip(codes[:most], first[:most], strict=True)
            ]

    def enroll(self, name: str, vectors: np.ndarray, chips: list[np.ndarray], sources: list[str]) -> None:
        """Add faces of one person (one descriptor, chip and source each)."""
        self.enroll_many([name] * len(np.asarray(vectors).reshape(-1, self.dim)), vectors, chips, sources)

    def enroll_many(self, names: list[str], vectors: np.ndarray, chips: list[np.ndarray], sources: list[str]) -> None:
        """Add faces, each with the name of its person; checked whole before anything is added."""
        self._add(*self._checked(names, vectors, chips, sources))

    def _checked(self, names, vectors, chips, sources) -> tuple[list[str], np.ndarray, list, list]:
        """The faces to enrol, normalised; raises ValueError before anything is added."""
        names = [str(n).strip() for n in names]
        if not all(names):
            raise ValueError("a person needs a name to be enrolled")
        vectors = np.asarray(vectors, np.float32).reshape(-1, self.dim)
        if not (len(vectors) == len(chips) == len(sources) == len(names)) or not len(vectors):
            raise ValueError("enrol at least one face, with its chip and source")
        if not np.isfinite(vectors).all():
            raise ValueError("a descriptor holds NaN or inf")
        return names, vectors, list(chips), list(sources)

    def _add(self, names: list[str], vectors: np.ndarray, chips: list, sources: list) -> None:
        with self._lock:
            for name in dict.fromkeys(names):
                if name not in self._code_of:
                    self._code_of[name] = len(self._person)
                    self._person.append(name)
            codes = np.array([self._code_of[n] for n in names], np.int64)
            self._counts = np.r_[self._counts, np.zeros(len(self._person) - len(self._counts), np.int64)]
            np.add.at(self._counts, codes, 1)
            ids = np.arange(self._next_id, self._next_id + len(names), dtype=np.int64)
            self._next_id += len(names)
            self._reserve(len(names))
            at = slice(self._n, self._n + len(names))
            self._vec[at], self._sq_all[at] = vectors, np.einsum("ij,ij->i", vectors, vectors)
            self._codes_all[at], self._ids_all[at] = codes, ids
            self._n += len(names)
            self._thumbs.add(chips)
            self.sources += list(sources)
            if self._index is not None:
                self._grow(len(names))
                self._index.add_items(vectors, ids)
            elif len(self) > self.exact_up_to:
                self._build()

    def _build(self) -> None:
        """The HNSW index of every enrolled face (once, when the gallery outgrows exact search)."""
        import hnswlib

        self._index = hnswlib.Index(space="l2", dim=self.dim)
        # room for a quarter more before the first resize: hnswlib holds a lock and a level per slot
        self._index.init_index(max_elements=max(len(self) * 5 // 4, 1024), ef_construction=200, M=16, random_seed=0)
        self._index.set_num_threads(2)
        self._index.add_items(self.vectors, self._ids)
        self._index.set_ef(HNSW_EF)

    def _grow(self, more: int) -> None:
        need = self._index.get_current_count() + more
        if need > self._index.get_max_elements():
            self._index.resize_index(max(need, self._index.get_max_elements() * GROWTH))

    def forget(self, name: str) -> int:
        """Remove every face of ``name`` (descriptors, chips, sources); returns how many."""
        return self.forget_many({name})

    def forget_many(self, names: set[str]) -> int:
        with self._lock:
            codes = [self._code_of[n] for n in names if n in self._code_of]
            if not codes:
                return 0
            gone = np.isin(self._codes, codes)
            if self._index is not None:
                for face in self._ids[gone]:
                    self._index.mark_deleted(int(face))
            keep = np.flatnonzero(~gone)
            for a in (self._vec, self._sq_all, self._codes_all, self._ids_all):
                a[: len(keep)] = a[keep]
            self._n = len(keep)
            self._thumbs.keep(keep)
            self.sources = [self.sources[i] for i in keep]
            self._counts[codes] = 0
            for n in names:
                self._code_of.pop(n, None)
            if self._index is not None and len(self) <= self.exact_up_to:
                self._index = None  # back to exact search
            return int(gone.sum())

    def replace_people(
        self, names: list[str], vectors: np.ndarray, chips: list[np.ndarray], sources: list[str]
    ) -> None:
        """Enrol these faces, in place of whatever was enrolled for the same people (one pass each)."""
        self.forget_many(set(names))
        self.enroll_many(names, vectors, chips, sources)

    @property
    def search_kind(self) -> str:
        return "exact" if self._index is None else "hnsw"

    def _candidates(self, q: np.ndarray, k: int) -> np.ndarray:
        """Rows of the faces nearest ``q``, nearest first, enough to hold k people."""
        if self._index is None:  # one BLAS pass: squared distances by the expansion, then an exact sort
            d2 = self._sq - 2.0 * (self.vectors @ q) + float(q @ q)
            return np.argsort(d2, kind="stable")
        most = int(self._counts.max())  # k * most faces hold at least k people
        n = min(len(self), k * most)
        labels, _ = self._index.knn_query(q[None, :], k=n)
        return np.searchsorted(self._ids, labels[0].astype(np.int64))

    def identify(self, query: np.ndarray, *, k: int = 5, threshold: float) -> Identification:
        """The k closest people to one descriptor (each at their closest face)."""
        q = np.asarray(query, np.float32).reshape(self.dim)
        with self._lock:
            if not len(self):
                return Identification([], threshold)
            rows = self._candidates(q, k)
            _, first = np.unique(self._codes[rows], return_index=True)  # each person's nearest face
            best = rows[np.sort(first)]
            d = np.linalg.norm(self.vectors[best].astype(np.float64) - q, axis=1)  # exact, not the expansion
            order = np.argsort(d, kind="stable")[:k]
            return Identification(
                [
                    Match(self._person[self._codes[r]], float(d[i]), self._thumbs.get(r))
                    for i, r in zip(order, best[order], strict=True)
                ],  # fmt: skip
                threshold,
            )


def verify(a: np.ndarray, b: np.ndarray, *, threshold: float) -> tuple[float, bool]:
    """1:1: the euclidean distance of two descriptors, and whether it says "same person"."""
    d = float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
    return d, d <= threshold


def threshold_from_pick(pick: dict | None, checkpoint_hash: str) -> tuple[float, str] | None:
    """A threshold picked on the Threshold page, as a euclidean distance for this descriptor, with
    what it stands for; None when it was picked for another model or a distance that is not
    euclidean (squared euclidean converts)."""
    if not pick or pick.get("checkpoint") != checkpoint_hash or pick.get("metric") not in ("euclidean", "sqeuclidean"):
        return None
    t = float(pick["threshold"]) ** (0.5 if pick["metric"] == "sqeuclidean" else 1.0)
    words = (
        f"{t:.4g}, picked on the Threshold page ({pick['how']}): FAR {100 * pick['far']:.3g} %, "
        f"TAR {100 * pick['tar']:.3g} % on {pick['data']} ({pick['pairs']})"
    )
    return t, words
