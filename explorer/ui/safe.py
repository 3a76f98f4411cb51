"""Visitors' text shown as text: labels, ids, names and file names reach Streamlit elements that
render Markdown (captions, messages, metric and widget labels), where ``![t](http://...)`` would
make every viewer's browser fetch that address. :func:`plain` escapes what Markdown (and
Streamlit's own ``:color[...]``, ``:material/...:`` and ``$...$``) would read."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def plain(text: object) -> str:
    """``text`` with every Markdown-active character backslash-escaped (shown as written)."""
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def plain_all(values) -> list[str]:
    return [plain(v) for v in values]
