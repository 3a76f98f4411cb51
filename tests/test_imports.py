"""Streamlit stays out of the library: every explorer module but explorer.ui imports without it."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BLOCKER = """
import importlib, importlib.abc, pkgutil, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "streamlit" or name.startswith("streamlit."):
            raise ImportError("streamlit is blocked in the library")
sys.meta_path.insert(0, Block())
import explorer
names = [m.name for m in pkgutil.walk_packages(explorer.__path__, "explorer.") if not m.name.startswith("explorer.ui")]
for n in names:
    importlib.import_module(n)
print(len(names))
"""


def test_library_imports_without_streamlit():
    out = subprocess.run([sys.executable, "-c", BLOCKER], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 15  # every module was actually imported


def test_ui_needs_streamlit_and_only_ui_imports_it():
    offenders = [
        p
        for p in (REPO / "explorer").rglob("*.py")
        if "ui" not in p.relative_to(REPO / "explorer").parts[:1]
        and any(line.lstrip().startswith(("import streamlit", "from streamlit")) for line in p.read_text().splitlines())
    ]
    assert offenders == []
