"""The map's hover preview: the hovered item's image and caption in a small panel that follows
the pointer.

Streamlit's own plotly chart (kept for its box / lasso / click selection) reports no hover, and a
plotly hover label cannot hold an image. So a zero-height ``st.iframe`` of our own HTML next to the
chart (Streamlit serves it same-origin; it replaces ``st.components.v1.html``, deprecated) carries
the thumbnails as one image (``plots.atlas``) and listens to the chart's ``plotly_hover`` in the
page, drawing the hovered item's cell in a panel. Captions are set as text, never as HTML, and
reach the script as JSON with every ``<`` escaped. Everything stays in this visitor's page.
"""

from __future__ import annotations

import base64
import json

import streamlit as st

from explorer.plots.atlas import Atlas

_SCRIPT = """
<script>
(() => {
  const doc = window.parent.document;
  const key = %(key)s, cols = %(cols)d, cell = %(cell)d, captions = %(captions)s;
  const sheet = new (window.parent.Image)();
  sheet.src = "data:image/jpeg;base64,%(jpeg)s";
  function panel() {
    let box = doc.getElementById("ee-hover-preview");
    if (!box) {
      box = doc.createElement("div");
      box.id = "ee-hover-preview";
      box.style.cssText = "position:fixed;z-index:1000;display:none;pointer-events:none;background:#fff;" +
        "border:1px solid #ccc;border-radius:6px;padding:6px;box-shadow:0 2px 8px rgba(0,0,0,.2);" +
        "font:12px sans-serif;color:#222;max-width:220px";
      const canvas = doc.createElement("canvas");
      canvas.width = canvas.height = 96;
      const text = doc.createElement("div");
      text.style.cssText = "margin-top:4px;word-break:break-all";
      box.append(canvas, text);
      doc.body.appendChild(box);
    }
    return box;
  }
  function attach() {
    const gd = doc.querySelector(".st-key-" + key + " .js-plotly-plot");
    if (!gd || !gd.on || gd.__eeHover === sheet) return;
    gd.__eeHover = sheet;
    gd.on("plotly_hover", (e) => {
      const p = e.points && e.points[0];
      if (!p) return;
      const row = Array.isArray(p.customdata) ? p.customdata[0] : p.customdata;
      if (row == null || row < 0 || row >= captions.length) return;
      const box = panel(), canvas = box.firstChild, ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(sheet, (row %% cols) * cell, Math.floor(row / cols) * cell, cell, cell, 0, 0, 96, 96);
      box.lastChild.textContent = captions[row];
      const ev = e.event || {clientX: 0, clientY: 0};
      const x = ev.clientX + 18, y = ev.clientY + 18;
      box.style.left = Math.min(x, window.parent.innerWidth - 130) + "px";
      box.style.top = Math.min(y, window.parent.innerHeight - 160) + "px";
      box.style.display = "block";
      box.dataset.row = row;
    });
    gd.on("plotly_unhover", () => { panel().style.display = "none"; });
  }
  attach();
  setInterval(attach, 500);
})();
</script>
"""


def hover_preview(chart_key: str, atlas: Atlas, captions: list[str]) -> None:
    """Show item i's atlas cell and ``captions[i]`` when the pointer is on the point whose
    customdata is i, on the chart drawn with ``key=chart_key``."""
    html = _SCRIPT % {
        "key": json.dumps(chart_key),
        "cols": atlas.cols,
        "cell": atlas.cell,
        # JSON inside a script: no "</script" or "<!--" can end or bend it once every "<" is escaped
        "captions": json.dumps([str(c) for c in captions]).replace("<", "\\u003c"),
        "jpeg": base64.b64encode(atlas.jpeg).decode("ascii"),
    }
    st.iframe(html, height=HEIGHT)


HEIGHT = 1  # px: the element only listens (st.iframe takes no zero height)
