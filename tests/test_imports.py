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


# What each part of the library may import of the others (docs/architecture.md); any import, at the
# top of a module or inside a function, counts.
FOUNDATION = {"config", "errors", "fileio", "compute", "markdown", "device"}
ALLOWED = {
    "foundation": FOUNDATION,
    "data": FOUNDATION,
    "models": FOUNDATION | {"data"},
    "analysis": FOUNDATION,
    "training": FOUNDATION | {"analysis", "data", "models"},
    "faces": FOUNDATION | {"analysis", "data", "models"},
    "plots": set(),
    "card_sections": FOUNDATION,
    "report": FOUNDATION | {"analysis", "data", "models", "card_sections"},
    "summary": FOUNDATION | {"analysis", "data", "models"},
    "workspace": FOUNDATION | {"data", "models"},
    "distributed": FOUNDATION | {"analysis", "data", "models"},
    "evaluation": FOUNDATION | {"analysis", "data", "models", "report"},
    "evaluation_report": {"analysis", "evaluation", "plots", "report", "markdown"},
    "cli": FOUNDATION
    | {"analysis", "data", "models", "faces", "report", "summary", "workspace", "evaluation", "evaluation_report"}
    | {"distributed", "training"},
}


def _part(path: Path) -> str:
    rel = path.relative_to(REPO / "explorer").with_suffix("").parts
    name = rel[0]
    return "foundation" if name in FOUNDATION else name


def _imported_parts(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "explorer" and len(parts) > 1:
                found.add(parts[1])
            elif name == "explorer" and isinstance(node, ast.ImportFrom):
                found.update(a.name for a in node.names)
    return found


def test_each_part_of_the_library_imports_only_what_it_may():
    wrong = []
    for path in (REPO / "explorer").rglob("*.py"):
        part = _part(path)
        if part in ("ui", "__init__"):
            continue  # the Streamlit layer may use the whole library
        own = path.relative_to(REPO / "explorer").parts[0].removesuffix(".py")
        for used in _imported_parts(path) - {own}:
            if used not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(REPO)} imports explorer.{used}")
    assert wrong == []
