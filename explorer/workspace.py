"""The workspace a visitor works in: one dataset, the encoder that embedded it, the embeddings."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.data.dataset import Dataset
from explorer.models.embedding import Embeddings
from explorer.models.encoder import Encoder


@dataclass(frozen=True)
class Workspace:
    dataset: Dataset
    encoder: Encoder | None
    embeddings: Embeddings

    @property
    def key(self) -> str:
        """Changes whenever data or model change: downstream results are keyed on it."""
        p = self.embeddings.provenance
        return f"{p['data_hash'][:16]}-{p['checkpoint_hash'][:16]}"

    def describe(self) -> dict[str, str]:
        p = self.embeddings.provenance
        return {
            "Data": self.dataset.name,
            "Model": p["model_name"],
            "N": f"{self.embeddings.n:,}",
            "D": str(self.embeddings.dim),
            "Classes": str(len(self.dataset.classes)),
        }
