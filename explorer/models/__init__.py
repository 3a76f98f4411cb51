"""Checkpoints -> Encoders -> embeddings (with a content-hash cache)."""
