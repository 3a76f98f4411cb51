"""A step that takes seconds says what it is doing while it runs (a spinner or a progress bar with
words), not only Streamlit's small running mark. The library functions behind each step are made
slower (tests/slow_server.py), so that this holds on a fast machine too."""

from __future__ import annotations

from conftest import ARTIFACTS
from test_browser import PHOTO, _mirrored, _section, _server

SLOW = ",".join(
    [
        "explorer.analysis.projection:knn_graph=2",
        "explorer.analysis.projection:project_umap=1.5",
        "explorer.ui.grid:image_grid=2",
        "explorer.evaluation:verification=2",
        "explorer.analysis.retrieval:retrieval_metrics=2",
        "explorer.analysis.clustering:cluster=2",
        "explorer.ui.compare:curves=2",
        "explorer.analysis.comparison:compare=2",
        "explorer.faces.pipeline:acquire_all=2",
    ]
)

# every spinner's and progress bar's words, as they change, polled every 50 ms
WATCH = """() => {
  window.__said = new Set();
  clearInterval(window.__watch);
  window.__watch = setInterval(() => {
    for (const el of document.querySelectorAll('[data-testid=stSpinner], [data-testid=stProgress]'))
      window.__said.add(el.innerText.trim());
  }, 50);
}"""


def said_while(pg, act, done) -> str:
    """Everything a spinner or progress bar said from ``act()`` until ``done()`` returns."""
    pg.evaluate(WATCH)
    act()
    done()
    return " | ".join(pg.evaluate("() => [...window.__said]"))


def nav(pg, title: str):
    return lambda: pg.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()


def test_each_slow_step_names_what_it_does(browser, tmp_path):
    from test_scorefile import published_like

    scores = tmp_path / "scores.csv"
    published_like().to_csv(scores, index=False)
    with _server(tmp_path / "cache", slow=SLOW) as url:
        pg = browser.new_page(viewport={"width": 1400, "height": 1800})
        pg.goto(url)
        pg.get_by_text("N: 1,797").first.wait_for(timeout=240_000)

        said = said_while(
            pg,
            nav(pg, "Projection"),
            lambda: pg.get_by_text("points drawn (UMAP, 2D)").first.wait_for(timeout=240_000),
        )
        assert "nearest neighbours (exactly)" in said and "UMAP: each item's neighbours" in said, said
        assert "UMAP: a first layout" in said and "UMAP: refining" in said, said

        pg.locator(".modebar-btn[data-title='Box Select']").first.click()
        box = pg.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
        pg.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.05)
        pg.mouse.down()
        pg.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=12)
        said = said_while(
            pg, pg.mouse.up, lambda: pg.get_by_text("Download these items (CSV)").first.wait_for(timeout=60_000)
        )
        assert "items selected" in said and "Gathering the" in said, said

        pg.locator("[data-testid=stSidebarNav] a", has_text="Report").first.click()
        build = pg.get_by_role("button", name="Build the report")
        said = said_while(
            pg, build.click, lambda: pg.get_by_text("Download the report").first.wait_for(timeout=120_000)
        )
        for step in ("genuine and impostor pairs", "retrieval: ranking every item", "clusters: k-means with k = 10"):
            assert step in said, said

        pg.locator("[data-testid=stSidebarNav] a", has_text="Compare").first.click()
        upload = pg.locator("input[type=file]")
        upload.wait_for(state="attached", timeout=60_000)
        said = said_while(
            pg,
            lambda: upload.set_input_files(str(scores)),
            lambda: pg.get_by_text("pairs flip").first.wait_for(timeout=120_000),
        )
        assert "Reading the ROC of 3 score column(s)" in said and "Bootstrap over subjects" in said, said

        pg.locator("[data-testid=stSidebarNav] a", has_text="Identify").first.click()
        pg.get_by_label("Name").wait_for(timeout=120_000)
        _section(pg, "Verify")
        pg.get_by_label("First photo").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(PHOTO))
        pg.get_by_text(PHOTO.name).first.wait_for(timeout=60_000)
        second = pg.get_by_label("Second photo").get_by_test_id("stFileUploaderDropzoneInput")
        said = said_while(
            pg,
            lambda: second.set_input_files(str(_mirrored(tmp_path))),
            lambda: pg.get_by_text("the same person").first.wait_for(timeout=120_000),
        )
        assert "Finding and describing the faces of" in said, said
        pg.screenshot(path=str(ARTIFACTS / "verify.png"), full_page=True)
