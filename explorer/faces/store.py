"""A gallery kept on the server (operator opt-in): SQLite is the source of truth, the enrolled
chips are PNG files beside it. Forgetting a person deletes their rows and their photos."""

from __future__ import annotations

import io
import secrets
import sqlite3
import threading
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
        for name, vector, source, photo in rows:
            chip = np.asarray(Image.open(self.folder / "photos" / photo).convert("RGB"))
            super().enroll(name, np.frombuffer(vector, np.float32)[None], [chip], [source])

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.folder / "gallery.sqlite")

    def enroll(self, name: str, vectors: np.ndarray, chips: list[np.ndarray], sources: list[str]) -> None:
        with self._lock:
            super().enroll(name, vectors, chips, sources)  # checks first: nothing half-written
            rows = []
            for v, chip, source in zip(
                np.asarray(vectors, np.float32).reshape(-1, self.dim), chips, sources, strict=True
            ):
                photo = f"{secrets.token_hex(8)}.png"
                buf = io.BytesIO()
                Image.fromarray(np.asarray(chip, np.uint8)).save(buf, format="PNG")
                atomic_write_bytes(self.folder / "photos" / photo, buf.getvalue())
                rows.append((name.strip(), v.tobytes(), source, photo))
            with self._db() as db:
                db.executemany("INSERT INTO faces (name, vector, source, photo) VALUES (?, ?, ?, ?)", rows)

    def forget(self, name: str) -> int:
        with self._lock:
            removed = super().forget(name)
            with self._db() as db:
                photos = [p for (p,) in db.execute("SELECT photo FROM faces WHERE name = ?", (name,))]
                db.execute("DELETE FROM faces WHERE name = ?", (name,))
            for photo in photos:
                (self.folder / "photos" / photo).unlink(missing_ok=True)
            return removed
