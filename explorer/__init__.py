"""Embedding Explorer library: data -> checkpoint -> embeddings -> analysis.

Pure Python / numpy / torch. Streamlit is imported only in ``explorer.ui``.
"""

import os as _os

from explorer.config import numba_cache_dir as _numba_cache_dir

# numba reads its cache folder once, when it is first imported: a persistent one keeps UMAP's and
# our kernels' compiled code across server restarts (compiling them is most of a first UMAP).
_os.environ.setdefault("NUMBA_CACHE_DIR", str(_numba_cache_dir()))

__version__ = "0.1.0"
