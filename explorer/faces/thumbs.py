"""Where a gallery keeps its enrolled faces' display thumbnails: in memory (a visitor's gallery), or
in a file on disk (a server's, where a million faces' thumbnails would take a gigabyte of memory).

A thumbnail is a 48 px JPEG, about 1 kB, where a 150 px chip is 67.5 kB. A query decodes only its
matches' thumbnails. Forgetting a face removes its thumbnail: from memory, or overwritten with zeros
in the file (nothing of a forgotten face stays readable; the file goes with the process).
"""

from __future__ import annotations

import io
import tempfile
import threading
from array import array
from pathlib import Path

import numpy as np

THUMB, THUMB_QUALITY = 48, 80
CHUNK = 4096  # thumbnails encoded and written at a time


def thumbnail(chip: np.ndarray, side: int = THUMB) -> bytes:
    """A face's display thumbnail, JPEG-encoded."""
    from PIL import Image

    buf = io.BytesIO()
    img = Image.fromarray(np.asarray(chip, np.uint8))
    img.convert("RGB").resize((side, side), Image.Resampling.BILINEAR).save(buf, format="JPEG", quality=THUMB_QUALITY)
    return buf.getvalue()


def decoded(thumb: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(thumb)).convert("RGB"))


class MemoryThumbs:
    """Thumbnails as bytes in a list, one per enrolled face in the gallery's order."""

    def __init__(self):
        self._items: list[bytes] = []

    def __len__(self) -> int:
        return len(self._items)

    def add(self, chips: list[np.ndarray]) -> None:
        self._items += [thumbnail(c) for c in chips]

    def raw(self, row: int) -> bytes:
        return self._items[row]

    def get(self, row: int) -> np.ndarray:
        return decoded(self.raw(row))

    def keep(self, rows: np.ndarray) -> None:
        """Keep only these rows (in this order): the others are forgotten."""
        self._items = [self._items[i] for i in rows]

    def nbytes(self) -> int:
        return sum(len(t) for t in self._items)


class FileThumbs:
    """Thumbnails appended to one file in ``folder``; in memory only each one's offset and length
    (12 bytes a face). The file is anonymous (unlinked from the start: only this process reads it,
    and it is gone when the process ends, even when killed)."""

    def __init__(self, folder: str | Path):
        Path(folder).mkdir(parents=True, exist_ok=True)
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - held open for the gallery's life
        self._offsets, self._lengths = array("q"), array("i")  # appended in place: O(1) an enrolment
        self._end = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, chips: list[np.ndarray]) -> None:
        for at in range(0, len(chips), CHUNK):  # a bulk enrolment never holds all its thumbnails at once
            self._append([thumbnail(c) for c in chips[at : at + CHUNK]])

    def _append(self, data: list[bytes]) -> None:
        lengths = np.fromiter((len(d) for d in data), np.int64, len(data))
        with self._lock:
            self._file.seek(self._end)
            self._file.write(b"".join(data))
            self._file.flush()
            offsets = self._end + np.r_[0, np.cumsum(lengths)[:-1]]
            self._end += int(lengths.sum())
            self._offsets.extend(offsets.tolist())
            self._lengths.extend(lengths.tolist())

    def raw(self, row: int) -> bytes:
        with self._lock:
            self._file.seek(int(self._offsets[row]))
            return self._file.read(int(self._lengths[row]))

    def get(self, row: int) -> np.ndarray:
        return decoded(self.raw(row))

    def keep(self, rows: np.ndarray) -> None:
        gone = np.setdiff1d(np.arange(len(self)), rows)
        with self._lock:
            for i in gone:  # overwritten in place: a forgotten face is not left readable on disk
                self._file.seek(int(self._offsets[i]))
                self._file.write(bytes(int(self._lengths[i])))
            self._file.flush()
            rows = np.asarray(rows, np.int64)
            self._offsets = array("q", np.asarray(self._offsets, np.int64)[rows].tobytes())
            self._lengths = array("i", np.asarray(self._lengths, np.int32)[rows].tobytes())

    def nbytes(self) -> int:
        return sum(self._lengths)

    def close(self) -> None:
        self._file.close()
