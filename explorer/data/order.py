"""Labels in the order people read them: s1, s2, ... s10 (natsort), case aside."""

from __future__ import annotations

from collections.abc import Iterable

from natsort import natsort_keygen, natsorted, ns

natural_key = natsort_keygen(key=str, alg=ns.IGNORECASE)


def natural(values: Iterable) -> list:
    """The distinct values, naturally sorted ("s2" before "s10"; "7" and "007" stay two)."""
    return natsorted(dict.fromkeys(values), key=str, alg=ns.IGNORECASE)
