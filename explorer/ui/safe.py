"""Visitors' text shown as text in Streamlit elements that render Markdown: see
:mod:`explorer.markdown` (the library's reports escape the same way)."""

from explorer.markdown import plain, plain_all

__all__ = ["plain", "plain_all"]
