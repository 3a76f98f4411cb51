"""A gallery kept on the server (operator opt-in): SQLite is the source of truth, the enrolled
chips are PNG files beside it. Forgetting a person deletes their rows and their photos."""

from __future__ import annotations

import io
import secrets
import sqlite3
import threading
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.faces.gallery import Gallery
from explorer.fileio import atomic_write_bytes

SCHEMA = "CREATE TABLE IF NOT EXISTS faces (id INTEGER PRIMARY KEY, name TEXT NOT NULL, vector BLOB NOT NULL, source TEXT, photo TEXT NOT NULL)"


class StoredGallery(Gallery):
    """A Gallery whose enrolments and forgets are written through to ``folder``."""

    def __init__(self, folder: str | Path, dim: int = 128):
        super().__init__(dim=dim)
        self.folder = Path(folder)
        (self.folder / "photos").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # visitors share it: one writer at a time
        with self._db() as db:
            db.execute(SCHEMA)
            rows = db.execute("SELECT name, vector, source, photo FROM faces ORDER BY id").fetchall()
        if rows:  # in one call: the base class, not the write-through below
            chips = [np.asarray(Image.open(self.folder / "photos" / r[3]).convert("RGB")) for r in rows]
            vectors = np.stack([np.frombuffer(r[1], np.float32) for r in rows])
            Gallery.enroll_many(self, [r[0] for r in rows], vectors, chips, [r[2] for r in rows])

    @contextmanager
    def _db(self):
        """A connection for one transaction: committed (or rolled back) and closed."""
        with closing(sqlite3.connect(self.folder / "gallery.sqlite")) as db, db:
            yield db

    def enroll_many(self, names: list[str], vectors: np.ndarray, chips: list[np.ndarray], sources: list[str]) -> None:
        with self._lock:
            super().enroll_many(names, vectors, chips, sources)  # checks first: nothing half-written
            rows = []
            flat = np.asarray(vectors, np.float32).reshape(-1, self.dim)
            for name, v, chip, source in zip(names, flat, chips, sources, strict=True):
                photo = f"{secrets.token_hex(8)}.png"
                buf = io.BytesIO()
                Image.fromarray(np.asarray(chip, np.uint8)).save(buf, format="PNG")
                atomic_write_bytes(self.folder / "photos" / photo, buf.getvalue())
                rows.append((str(name).strip(), v.tobytes(), source, photo))
            with self._db() as db:
                db.executemany("INSERT INTO faces (name, vector, source, photo) VALUES (?, ?, ?, ?)", rows)

    def forget_many(self, names: set[str]) -> int:
        if not names:
            return 0
        with self._lock:
            removed = super().forget_many(names)
            marks = ",".join("?" * len(names))
            with self._db() as db:
                photos = [p for (p,) in db.execute(f"SELECT photo FROM faces WHERE name IN ({marks})", tuple(names))]
                db.execute(f"DELETE FROM faces WHERE name IN ({marks})", tuple(names))
            for photo in photos:
                (self.folder / "photos" / photo).unlink(missing_ok=True)
            return removed
