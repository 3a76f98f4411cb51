"""Start the app with some library functions made slower, so that a browser test can see what a
slow step shows while it runs (on a fast machine the step may end before any spinner appears).

    python tests/slow_server.py "module:function=seconds,..." run app.py --server.port ...

Each function sleeps before it runs. It is replaced in its module, and in every module imported so
far that holds it by name, before the app runs; nothing in the app is changed.
"""

from __future__ import annotations

import functools
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, as `streamlit run app.py` sees it


def slow_down(spec: str) -> None:
    for item in filter(None, spec.split(",")):
        target, seconds = item.split("=")
        module, name = target.split(":")
        mod = importlib.import_module(module)
        real = getattr(mod, name)

        @functools.wraps(real)
        def slower(*args, _real=real, _s=float(seconds), **kwargs):
            time.sleep(_s)
            return _real(*args, **kwargs)

        for other in list(sys.modules.values()):  # a module that imported it already: rebind there too
            if getattr(other, name, None) is real:
                setattr(other, name, slower)


if __name__ == "__main__":
    slow_down(sys.argv[1])
    from streamlit.web.cli import main

    sys.argv = ["streamlit", *sys.argv[2:]]
    sys.exit(main())
