"""Find items by label or id: the search box of the map."""

from __future__ import annotations

import numpy as np
import pandas as pd


def find(ids: np.ndarray, labels: np.ndarray, query: str) -> np.ndarray:
    """A boolean mask of the items a query finds. Terms are separated by commas; a term that is
    a label (case aside) finds that label's items and an id equal to it ("s1" is not "s10"); any
    other term finds ids and labels containing it."""
    ids_s = pd.Series(np.asarray(ids).astype(str)).str.lower()
    lab_s = pd.Series(np.asarray(labels).astype(str)).str.lower()
    known = set(lab_s.unique())
    hit = np.zeros(len(ids_s), bool)
    for term in (t.strip().lower() for t in query.split(",")):
        if not term:
            continue
        if term in known:
            hit |= (lab_s == term).to_numpy() | (ids_s == term).to_numpy()
        else:
            hit |= ids_s.str.contains(term, regex=False).to_numpy() | lab_s.str.contains(term, regex=False).to_numpy()
    return hit
