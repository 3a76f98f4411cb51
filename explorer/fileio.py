"""Files the app writes or hands out: atomic writes and content hashes (every file it writes goes
through here), and CSV that a spreadsheet opens as data."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from explorer.errors import InputError

LOG = logging.getLogger("explorer")


class DiskFullError(InputError):
    """The disk a file was to be written to is full (or over its quota); nothing was left there."""


FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(path: str | Path, exc: OSError) -> DiskFullError:
    """The error to raise for a full disk under ``path``, naming the setting that chose the folder."""
    from explorer import config

    path, settings = Path(path), config.settings()
    named = {"EXPLORER_CACHE_DIR": settings.cache_dir, "EXPLORER_GALLERY_DIR": settings.gallery_dir}
    where = next(
        (f"{name} ({folder})" for name, folder in named.items() if folder and Path(folder) in (path, *path.parents)),
        str(path.parent),
    )
    return DiskFullError(f"the disk holding {where} is full ({exc.strerror}): free some space or point it elsewhere")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``.

    A reader never sees a half-written file, and a crash leaves the old file intact. A full disk
    raises :class:`DiskFullError` (an InputError: its message names the folder's setting) and
    leaves no temp file.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints and exports are meant to be read
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in FULL:
            raise disk_full(path, exc) from None
        raise
    return path


def cache_write(path: str | Path, data: bytes, max_bytes: int) -> str | None:
    """Write a cache entry and keep its folder under ``max_bytes``. A full disk is no failure of
    the work the entry caches: nothing is written and the message is returned (None when written)."""
    try:
        atomic_write_bytes(path, data)
    except DiskFullError as exc:
        LOG.warning("cache entry not written: %s", exc)
        return f"{exc}; results are kept in memory only"
    keep_under(Path(path).parent, max_bytes)
    return None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(frame) -> bytes:
    """A frame as CSV that a spreadsheet opens as data: a text cell starting like a formula (=, +,
    -, @, tab, CR: OWASP's CSV injection list) gets a leading apostrophe; numbers are untouched."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            text = out[c].astype(str)
            risky = text.str.startswith(FORMULA_START)
            if risky.any():
                out[c] = text.where(~risky, "'" + text)
    return out.to_csv(index=False).encode()


def keep_under(folder: str | Path, max_bytes: int, *, pattern: str = "*.npz") -> list[Path]:
    """Delete the least recently used files of ``folder`` matching ``pattern`` until they hold at
    most ``max_bytes`` (a read refreshes a file's use: :func:`touch`). Returns what was deleted."""
    files = []
    for p in Path(folder).glob(pattern):
        try:
            st = p.stat()
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in files)
    gone = []
    for _, size, p in sorted(files, key=lambda f: f[0]):
        if total <= max_bytes:
            break
        p.unlink(missing_ok=True)
        total -= size
        gone.append(p)
    return gone


def touch(path: str | Path) -> None:
    """Mark a cache file as used now (its modification time orders :func:`keep_under`)."""
    with contextlib.suppress(OSError):  # gone meanwhile: nothing to mark
        os.utime(path)


def user_path(text: str | Path) -> tuple[Path, str]:
    """A path a visitor typed or put in the address, resolved, and how to name it in a message
    (at most 200 characters). Raises InputError for one no file call can use: a NUL character,
    a name too long, a symlink loop, no permission."""
    shown = str(text)[:200] + ("..." if len(str(text)) > 200 else "")
    try:
        path = Path(text).expanduser().resolve()
        path.stat() if path.exists() else None  # too long / no permission: raised here, not later
    except ValueError:  # a NUL byte
        raise InputError(f"{shown!r} is not a usable path: it holds a NUL character") from None
    except (OSError, RuntimeError) as exc:  # too long, a symlink loop, no permission
        raise InputError(
            f"{shown!r} is not a usable path: {exc.strerror if isinstance(exc, OSError) else exc}"
        ) from None
    return path, shown
