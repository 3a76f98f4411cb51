"""An error no page expected is shown with what to do next, never only Streamlit's bare notice;
the traceback goes to the server's log (visitors see the error's type, as the config says)."""

from __future__ import annotations

import logging

import streamlit as st

LOG = logging.getLogger("explorer")


def run_page(page) -> None:
    """Run a navigation page; an unexpected error is logged and explained (st.stop and reruns,
    which are not Exceptions, pass through)."""
    try:
        page.run()
    except Exception as exc:  # noqa: BLE001 - the last line of defence: say what to do, keep the session
        LOG.exception("page %s failed", getattr(page, "title", "?"))
        st.error(
            f"This page hit an error it did not expect ({type(exc).__name__}). Your workspace is kept: reload "
            "the page to try again, or change the last thing you chose. The server's log has the details."
        )
