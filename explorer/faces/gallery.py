"""A gallery of enrolled people for one-shot identification and verification.

Each enrolled face is a descriptor (euclidean), the chip that was enrolled and its source. Search
is exact up to ``exact_up_to`` enrolled faces and by an hnswlib index beyond (rebuilt when the
gallery changes); a person's distance is that of their closest enrolled face. Plain Python: where
the gallery lives (a visitor's session; a server's SQLite file) is the caller's choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.analysis.neighbors import build_index

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


@dataclass
class Gallery:
    dim: int = 128
    exact_up_to: int = EXACT_UP_TO
    names: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 128), np.float32))
    chips: list[np.ndarray] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.vectors = np.asarray(self.vectors, np.float32).reshape(-1, self.dim)
        self._index = None

    def __len__(self) -> int:
        return len(self.names)

    def people(self) -> dict[str, int]:
        """Enrolled people and how many faces each, in enrolment order."""
        out: dict[str, int] = {}
        for name in self.names:
            out[name] = out.get(name, 0) + 1
        return out

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
        self.names += names
        self.vectors = np.concatenate([self.vectors, vectors])
        self.chips += list(chips)
        self.sources += list(sources)
        self._index = None

    def forget(self, name: str) -> int:
        """Remove every face of ``name`` (descriptors, chips, sources); returns how many."""
        return self.forget_many({name})

    def forget_many(self, names: set[str]) -> int:
        keep = [i for i, n in enumerate(self.names) if n not in names]
        removed = len(self.names) - len(keep)
        self.names = [self.names[i] for i in keep]
        self.vectors = self.vectors[keep]
        self.chips = [self.chips[i] for i in keep]
        self.sources = [self.sources[i] for i in keep]
        self._index = None
        return removed

    def replace_people(
        self, names: list[str], vectors: np.ndarray, chips: list[np.ndarray], sources: list[str]
    ) -> None:
        """Enrol these faces, in place of whatever was enrolled for the same people (one pass each)."""
        self.forget_many(set(names))
        self.enroll_many(names, vectors, chips, sources)

    @property
    def search_kind(self) -> str:
        return "exact" if len(self) <= self.exact_up_to else "hnsw"

    def nearest_faces(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distances, face rows) of each query's k nearest enrolled faces, nearest first (euclidean)."""
        if self._index is None:
            options = {"ef": HNSW_EF} if self.search_kind == "hnsw" else {}
            self._index = build_index(self.vectors, metric="euclidean", kind=self.search_kind, **options)
        return self._index.query(np.asarray(queries, np.float32).reshape(-1, self.dim), min(k, len(self)))

    def identify(self, query: np.ndarray, *, k: int = 5, threshold: float) -> Identification:
        """The k closest people to one descriptor (each at their closest face)."""
        if not len(self):
            return Identification([], threshold)
        most = max(self.people().values())
        d, rows = self.nearest_faces(query, k * most)  # k * most faces hold at least k people
        matches, seen = [], set()
        for dist, row in zip(d[0].tolist(), rows[0].tolist(), strict=True):
            if self.names[row] not in seen:
                seen.add(self.names[row])
                matches.append(Match(self.names[row], float(dist), self.chips[row]))
        return Identification(matches[:k], threshold)


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
