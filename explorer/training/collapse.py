"""Signs in a run's step log that a person watching it should be told about."""

from __future__ import annotations

import numpy as np


def collapse_warning(steps: list[dict], margin: float, window: int = 20) -> str | None:
    """A message when the embedding is collapsing: over the last ``window`` steps every
    anchor-positive and anchor-negative distance is near 0 (under a tenth of the margin) and the loss
    sits at the margin. Hardest-negative mining from scratch is known to fall into this."""
    rows = [r for r in steps[-window:] if r.get("triplets")]
    if len(rows) < window:
        return None
    d_ap, d_an = np.mean([r["d_ap"] for r in rows]), np.mean([r["d_an"] for r in rows])
    loss = np.mean([r["loss"] for r in rows])
    if d_ap < 0.1 * margin and d_an < 0.1 * margin and loss > 0.8 * margin:
        return (
            f"The embedding is collapsing: anchor-positive {d_ap:.4f} and anchor-negative {d_an:.4f} are both "
            f"near 0 and the loss sits at the margin ({loss:.3f}); it learns nothing more. Hardest-negative "
            "mining from scratch is prone to this: stop, and try semi-hard negatives, a lower learning rate "
            "or a larger margin."
        )
    return None
