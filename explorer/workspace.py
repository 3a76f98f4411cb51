"""The workspace a visitor works in: one dataset, the encoder that embedded it, the embeddings.

A model trained here knows the identities it trained on (its checkpoint says so). Figures of such
a model on those identities flatter it, so a workspace also has a *held-out view*: the items of
the identities the model never saw (:func:`held_out`), which the pages show by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from explorer.data.dataset import Dataset, hash_parts
from explorer.models.embedding import Embeddings
from explorer.models.encoder import Encoder


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe part: letters, digits, dots and dashes."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(text)).strip("-.")[:limit] or "unnamed"


@dataclass(frozen=True)
class Workspace:
    dataset: Dataset
    encoder: Encoder | None
    embeddings: Embeddings
    view: str = ""  # "" for the whole workspace; "held-out identities" for that view
    rows: np.ndarray | None = None  # a view's rows in the whole workspace

    @property
    def key(self) -> str:
        """Changes whenever data, model or view change: downstream results are keyed on it."""
        p = self.embeddings.provenance
        return f"{p['data_hash'][:16]}-{p['checkpoint_hash'][:16]}" + ("-held-out" if self.view else "")

    @property
    def file_stem(self) -> str:
        """Downloads are named after what they hold: data, model (and view), e.g.
        ``digits_digits-convnet`` or ``att_faces_face-descriptor_held-out``."""
        parts = [self.dataset.name, self.embeddings.provenance["model_name"]] + (["held-out"] if self.view else [])
        return "_".join(slug(p) for p in parts)

    def describe(self) -> dict[str, str]:
        p = self.embeddings.provenance
        return {
            "Data": self.dataset.name,
            "Model": p["model_name"],
            "N": f"{self.embeddings.n:,}",
            "D": str(self.embeddings.dim),
            "Classes": str(len(self.dataset.classes)),
        }


def uploaded_model(encoder: Encoder | None) -> bool:
    """The model, or any part of it (a head on a descriptor), came from a visitor's upload."""
    if encoder is None:
        return False
    parts = [encoder, getattr(encoder, "base", None), getattr(encoder, "head", None)]
    return any(p is not None and p.model_info.origin == "upload" for p in parts)


def from_uploads(ws: Workspace) -> bool:
    """Anything of it came from a visitor (data or model): nothing derived may be shared."""
    return ws.dataset.origin == "upload" or uploaded_model(ws.encoder)


def trained_identities(encoder: Encoder | None) -> set[str] | None:
    """The identities a model trained here learnt from (its checkpoint's ``training_data``);
    None for a model that does not say (bundled, uploaded from elsewhere, the face descriptor)."""
    if encoder is None:
        return None
    head = getattr(encoder, "head", encoder)  # a head on a descriptor: the head is what trained here
    names = ((head.model_info.info or {}).get("training_data") or {}).get("identities")
    return None if names is None else {str(n) for n in names}


@dataclass(frozen=True)
class Scope:
    """What the model saw of a workspace: identities and items it trained on."""

    identities: int
    identities_seen: int
    items: int
    items_seen: int

    @property
    def held_out_identities(self) -> int:
        return self.identities - self.identities_seen


def scope(ws: Workspace) -> Scope | None:
    """None when the model does not say what it trained on, or trained on none of these identities."""
    names = trained_identities(ws.encoder)
    if not names:
        return None
    labels = ws.embeddings.labels.astype(str)
    seen = np.isin(labels, list(names))
    if not seen.any():
        return None
    classes = np.unique(labels)
    return Scope(len(classes), int(np.isin(classes, list(names)).sum()), len(labels), int(seen.sum()))


def held_out(ws: Workspace) -> Workspace:
    """The view of the items whose identity the model did not train on (the whole workspace when
    it says nothing of its training)."""
    names = trained_identities(ws.encoder)
    if not names:
        return ws
    rows = np.flatnonzero(~np.isin(ws.embeddings.labels.astype(str), list(names)))
    ds, emb = ws.dataset, ws.embeddings
    pick = lambda v: None if v is None else [v[k] for k in rows]  # noqa: E731
    items = ds.items[rows] if isinstance(ds.items, np.ndarray) else pick(ds.items)
    digest = hash_parts([ds.content_hash.encode(), b"held-out"])
    data = replace(
        ds,
        name=f"{ds.name} (held-out identities)",
        ids=ds.ids[rows],
        labels=ds.labels[rows],
        items=items,
        thumbnails=pick(ds.thumbnails),
        faces=pick(ds.faces),
        content_hash=digest,
    )
    prov = {**emb.provenance, "data_hash": digest, "data_name": data.name, "n": len(rows)}
    vectors = Embeddings(emb.vectors[rows], emb.labels[rows], emb.ids[rows], prov)
    return Workspace(data, ws.encoder, vectors, "held-out identities", rows)


def card_entry(ws: Workspace, view: Workspace) -> dict | None:
    """What a threshold card records of the identities evaluated (None: the model says nothing)."""
    s = scope(ws)
    if s is None:
        return None
    held = bool(view.view)
    return {
        "which": "held-out identities (never seen in training)" if held else "all identities, trained-on included",
        "identities": s.held_out_identities if held else s.identities,
        "seen_in_training": 0 if held else s.identities_seen,
        "items": view.embeddings.n,
    }
