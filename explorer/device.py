"""The one device choice of the app: where models embed and train (``EXPLORER_DEVICE``)."""

from __future__ import annotations

import torch

from explorer import config
from explorer.errors import InputError

CHOICES = ("auto", "cpu", "cuda")


def torch_device(choice: str | None = None) -> torch.device:
    """``auto``: CUDA when torch sees a GPU, else the CPU; ``cpu``; ``cuda`` (an error without a GPU)."""
    choice = (choice or config.settings().device).lower()
    if choice not in CHOICES:
        raise InputError(f"EXPLORER_DEVICE={choice!r}: choose one of {', '.join(CHOICES)}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("EXPLORER_DEVICE=cuda, but torch sees no CUDA GPU on this machine (auto or cpu run here)")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)
