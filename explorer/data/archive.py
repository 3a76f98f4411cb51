"""Safe reading of zip archives: no path traversal, no zip bombs, no symlinks.

The standard library's ``zipfile`` does the decoding; what it does not do is refuse hostile
archives before extracting, so the checks below are ours.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from explorer import config
from explorer.errors import InputError, UnsafeInputError


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = config.MAX_ZIP_ENTRIES
    max_total_bytes: int = config.MAX_ZIP_TOTAL_BYTES
    max_ratio: float = config.MAX_ZIP_RATIO
    ratio_floor_bytes: int = 1 << 20  # tiny entries compress absurdly well and are harmless

    @classmethod
    def current(cls) -> ArchiveLimits:
        """The operator's settings (EXPLORER_MAX_ARCHIVE_FILES / _BYTES, EXPLORER_MAX_ZIP_RATIO)."""
        s = config.settings()
        return cls(s.max_archive_files, s.max_archive_bytes, s.max_zip_ratio)


def check_member_name(name: str) -> str:
    """Return the normalised relative path of an archive member, or raise for unsafe names."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise UnsafeInputError(f"archive refused: entry {name!r} has an absolute path")
    parts = PurePosixPath(clean).parts
    if ".." in parts:
        raise UnsafeInputError(f"archive refused: entry {name!r} points outside the archive (../)")
    return "/".join(p for p in parts if p not in ("", "."))


def read_zip(data: bytes, limits: ArchiveLimits | None = None) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """Read every regular file of a zip held in memory.

    Returns ``(files, skipped)``: files as ``(relative_path, bytes)`` and skipped entries as
    ``(name, reason)``. Raises ``UnsafeInputError`` for traversal, absolute paths, too many
    entries, too large a total or a suspicious compression ratio; ``InputError`` for non-zips.
    """
    limits = limits or ArchiveLimits.current()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        raise InputError("not a zip archive (or a damaged one); upload a .zip with one folder per identity") from None
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnsafeInputError(
            f"archive refused: {len(infos):,} entries, over the cap of {limits.max_entries:,} (EXPLORER_MAX_ARCHIVE_FILES)"
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise UnsafeInputError(
            f"archive refused: {total:,} bytes uncompressed, over the cap of {limits.max_total_bytes:,} "
            "(EXPLORER_MAX_ARCHIVE_BYTES)"
        )
    names = [check_member_name(i.filename) for i in infos]  # refuse before reading anything
    files, skipped = [], []
    for info, name in zip(infos, names):
        if info.is_dir() or not name:
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            skipped.append((name, "symbolic link (not followed)"))
            continue
        if info.flag_bits & 0x1:
            skipped.append((name, "encrypted entry"))
            continue
        if info.file_size >= limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise UnsafeInputError(
                f"archive refused: entry {name!r} expands {info.file_size / max(info.compress_size, 1):.0f}x "
                f"(cap {limits.max_ratio:.0f}x, EXPLORER_MAX_ZIP_RATIO), a zip bomb pattern"
            )
        files.append((name, _read_member(zf, info, name)))
    return files, skipped


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    # Read at most the declared size + 1: a header that lies about the size is caught here.
    try:
        with zf.open(info) as fh:
            blob = fh.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError) as exc:
        raise InputError(f"archive entry {name!r} cannot be read: {exc}") from None
    if len(blob) > info.file_size:
        raise UnsafeInputError(f"archive refused: entry {name!r} is larger than its header says")
    return blob
