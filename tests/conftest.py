"""Shared fixtures: real faces from ../shared, small image files made on the fly."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
ATT_FACES = (REPO.parent / "shared" / "data" / "att_faces").resolve()


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache_for_the_session(tmp_path_factory):
    """Tests never write into the repo's .cache: set before any module-scoped fixture opens an
    app (whose shared caches keep the folder they were made with)."""
    import os

    os.environ["EXPLORER_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "cache")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never write into the repo's .cache."""
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def att_faces() -> Path:
    if not (ATT_FACES / "s1").is_dir():
        pytest.skip(f"AT&T faces not found at {ATT_FACES} (../shared/data/att_faces beside the repo)")
    return ATT_FACES


@pytest.fixture(scope="session")
def att_zip(att_faces) -> bytes:
    """The AT&T faces zipped with a single wrapper folder, as a user would zip them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(att_faces.rglob("*")):
            if path.is_file():
                zf.write(path, "att_faces/" + path.relative_to(att_faces).as_posix())
    return buf.getvalue()


def image_bytes(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def rng_image(seed: int, shape=(20, 16, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


APP = str(REPO / "app.py")


def open_page(page: str, *, timeout: int = 180):
    """A fresh AppTest session on the bundled default workspace, switched to ``page``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def open_faces_workspace(att_faces: Path, tmp_path: Path, monkeypatch, people: int, page: str):
    """An AppTest session whose workspace is the first ``people`` AT&T identities embedded by the
    face descriptor (a server folder named in the address), switched to ``page``."""
    import shutil

    from streamlit.testing.v1 import AppTest

    folder = tmp_path / "faces"
    for person in [f"s{i}" for i in range(1, people + 1)]:
        shutil.copytree(att_faces / person, folder / person)
    monkeypatch.setenv("EXPLORER_DATA_ROOTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["data"] = f"dir:{folder}"
    at.query_params["model"] = "faces-crops"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def assert_same_pair_scores(s, t) -> None:
    """Two PairScores with the same counts and exact tails bit for bit (and sums to rounding)."""
    np.testing.assert_array_equal(s.impostor_hist, t.impostor_hist)
    np.testing.assert_array_equal(s.genuine_hist, t.genuine_hist)
    for side in ("impostor", "genuine"):
        u, v = getattr(s, side), getattr(t, side)
        np.testing.assert_array_equal(u.values, v.values)
        np.testing.assert_array_equal(u.a, v.a)
        np.testing.assert_array_equal(u.b, v.b)
        assert u.cover == v.cover
    np.testing.assert_allclose(s.impostor_moments, t.impostor_moments, rtol=1e-12)


# Markdown or HTML that would act if rendered: an image or link not escaped, an HTML tag opened
RAW_MARKUP = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\[[^\]\n]*(?<!\\)\]\(|(?<!\\)<[A-Za-z/]")


def raw_markup(text: str) -> list[str]:
    """The places in ``text`` (as given to a Markdown renderer) where markup would act."""
    return [text[max(m.start() - 20, 0) : m.end() + 20] for m in RAW_MARKUP.finditer(text)]


# browser tests (tests/test_browser*.py): headless Debian Chromium, driven by Playwright
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_browser():
    """Skip (or, with REQUIRE_BROWSER=1, fail) where Debian's Chromium is missing."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but Chromium is missing (apt-get install chromium chromium-driver)")
        pytest.skip("Chromium not installed (apt-get install chromium chromium-driver); .ci/run installs it")


@pytest.fixture(scope="module")
def pw():
    """One Playwright for a browser test module (a second one inside the first's event loop is refused)."""
    need_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw):
    """Debian's headless Chromium, one per browser test module."""
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
    yield b
    b.close()
