"""Analysis on embeddings: distances, pair statistics (verification, neighbours come next)."""
