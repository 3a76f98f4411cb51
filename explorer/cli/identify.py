"""``explorer identify``: every face of a photo against a gallery kept on disk (the Identify page's
server gallery, ``EXPLORER_GALLERY_DIR``), one line per face."""

from __future__ import annotations

from pathlib import Path

from explorer.errors import InputError


def identify_lines(photo: Path, gallery: Path, *, threshold: float, k: int = 5) -> list[str]:
    """One line per face of ``photo``, largest first: its box, the answer at ``threshold``
    (euclidean) and its ``k`` closest enrolled people."""
    from explorer.data.images import decode_image
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import acquire_all
    from explorer.faces.store import StoredGallery

    if not photo.is_file():
        raise InputError(f"{photo}: no such photo")
    if not (gallery / "gallery.sqlite").is_file():
        raise InputError(f"{gallery}: not a gallery folder (no gallery.sqlite: enrol people on the Identify page)")
    faces = acquire_all(decode_image(photo.read_bytes()))
    if isinstance(faces, str):
        raise InputError(f"{photo.name}: {faces}")
    g = StoredGallery(gallery)
    vectors = FaceEncoder().encode([f.chip for f in faces])
    lines = []
    for n, (face, v) in enumerate(zip(faces, vectors, strict=True), 1):
        r = g.identify(v, k=k, threshold=threshold)
        closest = ", ".join(f"{m.name} {m.distance:.3f}" for m in r.matches) or "nobody enrolled"
        answer = f"{r.answer} at {r.matches[0].distance:.3f}" if r.answer else "unknown"
        lines.append(f"face {n} {face.box}: {answer} (closest: {closest})")
    return lines
