"""Embedding Explorer library: data -> checkpoint -> embeddings -> analysis.

Pure Python / numpy / torch. Streamlit is imported only in ``explorer.ui``.
"""

__version__ = "0.1.0"
