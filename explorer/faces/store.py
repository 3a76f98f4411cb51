"""A gallery kept on the server (operator opt-in): SQLite is the source of truth, the enrolled
chips are PNG files beside it. Forgetting a person deletes their rows and their photos."""

from __future__ import annotations

import io
import secrets
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.faces.gallery import Gallery
from explorer.faces.thumbs import FileThumbs
from explorer.fileio import atomic_write_bytes

SCHEMA = "CREATE TABLE IF NOT EXISTS faces (id INTEGER PRIMARY KEY, name TEXT NOT NULL, vector BLOB NOT NULL, source TEXT, photo TEXT NOT NULL)"


class StoredGallery(Gallery):
    """A Gallery whose enrolments and forgets are written through to ``folder``.

    Disk first, memory after: an enrolment writes its photos, then its rows in one transaction,
    and only then joins the gallery in memory (a failed write, a full disk say, removes the photos
    it wrote and leaves memory as it was). A photo is only ever reached through its row, so a
    process killed between the two leaves photos without rows: they are swept at start."""

    def __init__(self, folder: str | Path, dim: int = 128):
        self.folder = Path(folder)
        (self.folder / "photos").mkdir(parents=True, exist_ok=True)
        # the thumbnails a query shows, on disk beside the photos (a million would take a GB of memory);
        # the base class's lock makes visitors, who share this gallery, one writer at a time
        super().__init__(dim=dim, thumbs=FileThumbs(self.folder))
        with self._db() as db:
            db.execute(SCHEMA)
            rows = db.execute("SELECT name, vector, source, photo FROM faces ORDER BY id").fetchall()
        self._sweep({r[3] for r in rows})
        if rows:  # in one call: the base class, not the write-through below
            chips = [np.asarray(Image.open(self.folder / "photos" / r[3]).convert("RGB")) for r in rows]
            vectors = np.stack([np.frombuffer(r[1], np.float32) for r in rows])
            Gallery.enroll_many(self, [r[0] for r in rows], vectors, chips, [r[2] for r in rows])

    def _sweep(self, referenced: set[str]) -> None:
        """Delete photos no row names (an enrolment killed between its photos and its rows) and
        temp files of a write that never finished."""
        for path in (self.folder / "photos").iterdir():
            if path.name not in referenced:
                path.unlink(missing_ok=True)

    @contextmanager
    def _db(self):
        """A connection for one transaction: committed (or rolled back) and closed."""
        with closing(sqlite3.connect(self.folder / "gallery.sqlite")) as db, db:
            yield db

    def enroll_many(self, names: list[str], vectors: np.ndarray, chips: list[np.ndarray], sources: list[str]) -> None:
        with self._lock:
            checked = self._checked(names, vectors, chips, sources)  # nothing written before the checks
            written: list[Path] = []
            try:
                rows = []
                for name, v, chip, source in zip(*checked, strict=True):
                    photo = f"{secrets.token_hex(8)}.png"
                    buf = io.BytesIO()
                    Image.fromarray(np.asarray(chip, np.uint8)).save(buf, format="PNG")
                    written.append(atomic_write_bytes(self.folder / "photos" / photo, buf.getvalue()))
                    rows.append((name, v.tobytes(), source, photo))
                with self._db() as db:
                    db.executemany("INSERT INTO faces (name, vector, source, photo) VALUES (?, ?, ?, ?)", rows)
            except BaseException:
                for path in written:
                    path.unlink(missing_ok=True)
                raise
            self._add(*checked)

    def forget_many(self, names: set[str]) -> int:
        if not names:
            return 0
        with self._lock:
            marks = ",".join("?" * len(names))
            with self._db() as db:
                photos = [p for (p,) in db.execute(f"SELECT photo FROM faces WHERE name IN ({marks})", tuple(names))]
                db.execute(f"DELETE FROM faces WHERE name IN ({marks})", tuple(names))
            removed = super().forget_many(names)
            for photo in photos:  # the rows are gone: a photo left by a kill here is swept at start
                (self.folder / "photos" / photo).unlink(missing_ok=True)
            return removed
