"""Visitors' text shown as text: labels, ids, names and file names reach Streamlit elements that
render Markdown (captions, messages, metric and widget labels), where ``![t](http://...)`` would
make every viewer's browser fetch that address. :func:`plain` escapes what Markdown (and
Streamlit's own ``:color[...]``, ``:material/...:`` and ``$...$``) would read."""

from __future__ import annotations

import re

# what makes inline Markdown act: emphasis (an underscore inside a word never does), code, links and images ([ ] !), HTML
# (a tag opens with <: a > alone is text, except first on a line, a quote), strikethrough,
# tables, LaTeX ($), and Streamlit's :directives[...] / :material/icons: (a colon before a letter);
# a line's first character could start a heading, quote or list: one line is all we ever show
_SPECIAL = re.compile(r"([\\`*\[\]!<~|$]|:(?=[A-Za-z])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^[#>+\-=])")
_NUMBERED = re.compile(r"^(\d+)([.)])")  # "1." would start a list: escape its dot


def plain(text: object) -> str:
    """``text`` with every Markdown-active character backslash-escaped (shown as written), on one line."""
    line = _SPECIAL.sub(lambda m: "\\" + m.group(0), " ".join(str(text).splitlines()))
    return _NUMBERED.sub(lambda m: m.group(1) + "\\" + m.group(2), line)


def plain_all(values) -> list[str]:
    return [plain(v) for v in values]
