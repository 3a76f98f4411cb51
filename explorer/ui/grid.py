"""Grids of item images that say how many they show and page through the rest."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from explorer.ui.safe import plain_all


def page_of(n: int, per_page: int, *, key: str, what: str = "items") -> tuple[int, int]:
    """[lo, hi) of the page a picker chooses; beyond one page it says "Items 61-71 of 71 shown"."""
    pages = -(-n // per_page)
    if pages <= 1:
        return 0, n
    page = int(st.number_input(f"Page (of {pages})", 1, pages, 1, key=key, help=f"{per_page} {what} a page"))
    lo, hi = (min(page, pages) - 1) * per_page, min(page * per_page, n)
    st.caption(f"{what.capitalize()} {lo + 1:,}-{hi:,} of {n:,} shown.")
    return lo, hi


def image_grid(images: Sequence, captions: Sequence[str], *, key: str, per_page: int = 60, width: int = 64) -> None:
    """``per_page`` images at a time, with a page picker beyond one page."""
    if not len(images):
        return
    lo, hi = page_of(len(images), per_page, key=key)
    st.image(list(images[lo:hi]), caption=plain_all(captions[lo:hi]), width=width)
