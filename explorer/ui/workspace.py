"""Building the workspace (with progress) and showing it in the sidebar."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from explorer import config
from explorer.data.dataset import Dataset
from explorer.data.digits import load_digits
from explorer.errors import InputError
from explorer.faces.acquisition import AcquisitionCache
from explorer.models.checkpoints import load_default_encoder
from explorer.models.embedding import EmbeddingCache, Embeddings, embed_dataset
from explorer.models.encoder import Encoder
from explorer.ui import address, state
from explorer.ui.safe import plain
from explorer.workspace import Workspace, uploaded_model


@st.cache_resource(show_spinner=False)
def bundled_digits() -> Dataset:
    return load_digits()


@st.cache_resource(show_spinner=False)
def bundled_encoder() -> Encoder:
    return load_default_encoder()


@st.cache_resource(show_spinner=False)
def face_encoder(crops: bool = False) -> Encoder:
    """The face descriptor (from the installed package: the same for every visitor)."""
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import FaceSettings

    return FaceEncoder(FaceSettings(crops=crops))


@st.cache_resource(show_spinner=False)
def shared_faces() -> AcquisitionCache:
    """Face chips of server-side data only: shared by all (uploads keep theirs in the session)."""
    return AcquisitionCache(directory=config.settings().cache_dir)


@st.cache_resource(show_spinner=False)
def shared_cache() -> EmbeddingCache:
    """Disk-backed cache for server-side data only (bundled and server paths): shared by all."""
    return EmbeddingCache(directory=config.settings().cache_dir, max_memory_entries=8)


def private(dataset: Dataset, encoder=None) -> bool:
    """Derived from a visitor's uploads (the data, or the model that embeds them): kept in that
    visitor's session only."""
    uploaded = dataset.origin == "upload" or uploaded_model(encoder)
    return uploaded and not config.settings().cache_uploads


def cache_for(dataset: Dataset, encoder=None) -> EmbeddingCache:
    return state.upload_cache() if private(dataset, encoder) else shared_cache()


def faces_for(dataset: Dataset) -> AcquisitionCache:
    return state.upload_faces() if private(dataset) else shared_faces()


def prepare_and_embed(dataset: Dataset, encoder, progress) -> tuple[Dataset, Embeddings]:
    """The dataset the encoder embeds (a face descriptor cuts face chips from the photos first)
    and its embeddings, through the caches fit for its privacy. progress(fraction, message)."""
    faces, cache = faces_for(dataset), cache_for(dataset, encoder)
    faces.disk_note = cache.disk_note = None  # set again by a write of this call that the disk refused
    if encoder is not None:
        dataset = encoder.prepare(dataset, progress=lambda f, msg: progress(0.4 * min(f, 1.0), msg), store=faces)
    emb = embed_dataset(
        dataset,
        encoder,
        cache=cache,
        use_disk=not private(dataset, encoder),
        progress=lambda f, msg: progress(0.4 + 0.6 * min(f, 1.0), msg),
    )
    for note in dict.fromkeys(n for n in (faces.disk_note, cache.disk_note) if n):
        st.warning(f"Embedded, but {plain(note)}.")
    return dataset, emb


def build_workspace(load_data: Callable, load_model: Callable | None) -> Workspace | None:
    """Load data and model, embed with a progress bar, and make it the workspace.

    On any user-caused error the message is shown and the previous workspace stays.
    """
    bar = st.progress(0.0, text="Loading data ...")
    try:
        dataset = load_data(lambda f, msg: bar.progress(min(f, 1.0) * 0.3, text=msg))
        encoder = load_model(dataset) if load_model else None
        dataset, emb = prepare_and_embed(dataset, encoder, lambda f, msg: bar.progress(0.3 + 0.7 * f, text=msg))
    except InputError as exc:
        bar.empty()
        st.error(f"Could not load: {plain(exc)}. Your previous workspace is unchanged.")
        return None
    bar.empty()
    ws = Workspace(dataset, encoder, emb)
    state.set_workspace(ws)
    if emb.n > config.EXACT_SEARCH_UP_TO:  # its maps will build their graph by NN-descent: compile it now
        from explorer.ui.warmup import start_nndescent_warmup

        start_nndescent_warmup()
    _remember_in_address(load_data, load_model)
    return ws


def _remember_in_address(load_data: Callable, load_model: Callable | None) -> None:
    """Server-side choices go into the URL so a refresh restores them; uploads never do."""
    data = getattr(load_data, "restore", None)
    model = getattr(load_model, "restore", None) if load_model else "none"
    if data and model and model != "none":
        address.remember(data=data, model=model)
    else:
        address.forget("data", "model")


def sidebar(slot) -> None:
    """The workspace panel, drawn into ``slot`` (an ``st.sidebar.empty()``): again after the page,
    when the page replaced the workspace, in place of the first drawing."""
    ws = state.get_workspace()
    with slot.container():
        st.markdown("### Workspace")
        if ws is None:
            st.info("No data loaded yet.")
            return
        for name, value in ws.describe().items():
            st.markdown(f"**{name}:** {plain(value)}")
