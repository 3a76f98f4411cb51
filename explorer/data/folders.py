"""Image folders (one sub-folder per identity) from a zip, a directory upload or a server path."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from explorer import config
from explorer.data.archive import check_member_name, read_zip
from explorer.data.dataset import Dataset, LoadFailure, hash_parts
from explorer.data.images import decode_image, kept_pixels, thumbnail
from explorer.data.order import natural_key
from explorer.errors import InputError, UnsafeInputError
from explorer.fileio import user_path

Progress = Callable[[float, str], None] | None
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


def strip_wrapper(paths: list[str]) -> str:
    """The single top-level folder that wraps every entry (to strip), or ``""``."""
    firsts = {p.split("/", 1)[0] for p in paths}
    if len(firsts) == 1 and all("/" in p for p in paths):
        inner = [p.split("/", 1)[1] for p in paths]
        if any("/" in p for p in inner):  # identities are one level further down
            return firsts.pop() + "/"
    return ""


def select_images(paths: list[str], skipped: Iterable[tuple[str, str]] = ()) -> tuple[list[tuple[str, int]], list]:
    """Which of ``paths`` (laid out as ``identity/file``) are images to load, as (id, index into
    ``paths``) in natural order of the id, and the failures: names outside an identity folder, of
    another kind, or given twice. Raises ``UnsafeInputError`` for an unsafe name."""
    names = [check_member_name(p) for p in paths]
    failures = [LoadFailure(p, r) for p, r in skipped]
    seen: set[str] = set()
    unique = []
    for k, p in enumerate(names):  # an archive may hold one name twice: ids must be unique
        if not p or any(j in p for j in _JUNK):
            continue
        if p in seen:
            failures.append(LoadFailure(p, "the same path again in the archive (the first one is used)"))
        else:
            seen.add(p)
            unique.append((p, k))
    wrapper = strip_wrapper([p for p, _ in unique])
    chosen = []
    for path, k in unique:
        rel = path[len(wrapper) :] if wrapper else path
        if "/" not in rel:
            failures.append(LoadFailure(path, "not inside an identity folder (expected identity/image)"))
        elif not rel.lower().endswith(config.IMAGE_EXTENSIONS):
            failures.append(LoadFailure(path, "not an image file (skipped)"))
        else:
            chosen.append((rel, k))
    chosen.sort(key=lambda pk: natural_key(pk[0]))
    return chosen, failures


def dataset_from_files(
    files: Iterable[tuple[str, bytes]],
    *,
    name: str,
    origin: str,
    skipped: Iterable[tuple[str, str]] = (),
    progress: Progress = None,
) -> Dataset:
    """Build an image Dataset from ``(relative_path, bytes)`` pairs laid out as ``identity/file``.

    Files outside an identity folder or with another extension are skipped and listed; images
    that fail to decode are listed with the reason. Raises ``InputError`` when no image loads.
    """
    files = list(files)
    chosen, failures = select_images([p for p, _ in files], skipped)
    candidates = [(rel, files[k][1]) for rel, k in chosen]
    ids, labels, images, thumbs, chunks = [], [], [], [], []
    budget, kept = config.settings().max_load_pixels, 0

    def over(rel: str, i: int) -> UnsafeInputError:
        return UnsafeInputError(
            f"these images hold more than {budget:,} pixels in all (after scaling each to at most "
            f"{config.settings().max_image_side:,} px a side; reached at {rel}, image {i + 1:,} of "
            f"{len(candidates):,}): load fewer or smaller images, or raise EXPLORER_MAX_LOAD_PIXELS"
        )

    headed = 0  # the budget from the headers first: a set over it is refused before any decoding
    for i, (rel, blob) in enumerate(candidates):
        headed += kept_pixels(blob) or 0
        if headed > budget:
            raise over(rel, i)
    for i, (rel, blob) in enumerate(candidates):
        if progress and i % 16 == 0:
            progress(i / max(len(candidates), 1), f"decoding {rel}")
        try:
            img = decode_image(blob)
        except InputError as exc:  # UnsafeInputError included: one bad image never sinks the set
            failures.append(LoadFailure(rel, str(exc)))
            continue
        kept += img.shape[0] * img.shape[1]
        if kept > budget:
            raise over(rel, i)
        label = rel.split("/", 1)[0]
        ids.append(rel)
        labels.append(label)
        images.append(img)
        thumbs.append(thumbnail(img))
        chunks += [rel.encode(), label.encode(), blob]
    if not images:
        raise InputError(
            "no loadable images found: expected one folder per identity holding JPEG, PNG, WEBP, "
            f"BMP or PGM/PPM files ({len(failures)} entries skipped)"
        )
    if progress:
        progress(1.0, f"{len(images)} images decoded")
    return Dataset(
        name=name,
        kind="image",
        ids=ids,
        labels=labels,
        items=images,
        thumbnails=thumbs,
        failures=failures,
        content_hash=hash_parts(chunks),
        origin=origin,
    )


def load_zip(data: bytes, *, name: str = "upload.zip", origin: str = "upload", progress: Progress = None) -> Dataset:
    """An image folder Dataset from zip bytes (a single wrapper folder is tolerated)."""
    files, skipped = read_zip(data)
    if not files:
        raise InputError("the archive is empty: expected one folder per identity holding images")
    return dataset_from_files(files, name=name, origin=origin, skipped=skipped, progress=progress)


def list_directory(root: str | Path, *, allowed_roots: list[Path] | None = None) -> tuple[Path, list[tuple[str, Path]]]:
    """The folder (resolved) and its files as (relative path, path), symlinks left out, within the
    byte and file budgets (EXPLORER_MAX_ARCHIVE_BYTES / _FILES). ``allowed_roots`` (from operator
    settings) limits which folders visitors may open."""
    root, shown = user_path(root)
    is_dir = root.is_dir()
    if allowed_roots is not None and not any(root == r or r in root.parents for r in allowed_roots):
        raise UnsafeInputError(
            f"{root} is outside the folders this server allows: " + ", ".join(str(r) for r in allowed_roots)
        )
    if not is_dir:
        raise InputError(f"{shown} is not a folder")
    files, total = [], 0
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > config.settings().max_archive_bytes:
            raise UnsafeInputError(
                f"folder refused: over {config.settings().max_archive_bytes:,} bytes in all (EXPLORER_MAX_ARCHIVE_BYTES)"
            )
        files.append((path.relative_to(root).as_posix(), path))
        if len(files) > config.settings().max_archive_files:
            raise UnsafeInputError(
                f"folder refused: over {config.settings().max_archive_files:,} files (EXPLORER_MAX_ARCHIVE_FILES)"
            )
    return root, files


def load_directory(root: str | Path, *, allowed_roots: list[Path] | None = None, progress: Progress = None) -> Dataset:
    """An image folder Dataset from a folder on the server's disk.

    ``allowed_roots`` (from operator settings) limits which folders visitors may open.
    """
    root, files = list_directory(root, allowed_roots=allowed_roots)
    return dataset_from_files(
        [(rel, path.read_bytes()) for rel, path in files], name=root.name, origin="server", progress=progress
    )
