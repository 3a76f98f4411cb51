"""Data sources: each produces one :class:`~explorer.data.dataset.Dataset`."""

from explorer.data.dataset import Dataset, LoadFailure

__all__ = ["Dataset", "LoadFailure"]
