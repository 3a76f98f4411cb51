"""Data and model pickers for the Data & model page.

Each picker returns a loader (a callable that builds the thing when the user presses the
button) or None while its inputs are incomplete; nothing heavy runs on a mere rerun.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from explorer import config
from explorer.data.folders import dataset_from_files, load_directory, load_zip
from explorer.data.vectors import LABEL_NAMES, dataset_from_frame, label_candidates, read_projector_pair, read_table
from explorer.errors import InputError
from explorer.models.checkpoints import load_checkpoint, load_server_checkpoint
from explorer.ui.workspace import bundled_digits, bundled_encoder, face_encoder

DATA_SOURCES = (
    "Bundled digits",
    "Image folder (zip)",
    "Image folder (directory upload)",
    "Image folder on the server",
    "Vector table",
    "TF Projector pair",
)
FACES = "Face descriptor (dlib ResNet, 128-d)"
MODEL_SOURCES = ("Bundled digits ConvNet", FACES, "Upload a checkpoint", "Checkpoint on the server")
PARSED_TABLE = "dm_parsed_table"
TABLE_TYPES = ["csv", "tsv", "parquet", "npy", "npz"]
CKPT_TYPES = ["safetensors", "json", "pt", "pth", "onnx", "ts", "torchscript", "pkl", "pickle"]


def restorable(loader: Callable, token: str) -> Callable:
    """Mark a loader of server-side data as restorable after a refresh (see explorer.ui.restore)."""
    loader.restore = token
    return loader


def data_loader_for(token: str) -> Callable:
    """The data loader a restore token names: ``digits`` or ``dir:<server path>``."""
    if token == "digits":
        return restorable(lambda progress: bundled_digits(), token)
    if token.startswith("dir:"):
        path, roots = token[4:], config.settings().data_roots  # re-checked: the URL is user input
        return restorable(lambda progress: load_directory(path, allowed_roots=roots, progress=progress), token)
    raise InputError(f"unknown data in the address: {token!r}")


def model_loader_for(token: str) -> Callable:
    """The model loader a restore token names: ``bundled``, ``faces`` / ``faces-crops`` (the face
    descriptor; with "crops", an image where no face is found is used whole), ``ckpt:<server path>``
    or ``run:<run id>:<step>`` (a checkpoint of a training run on this server)."""
    if token == "bundled":
        return restorable(lambda ds: bundled_encoder(), token)
    if token in ("faces", "faces-crops"):
        return restorable(lambda ds: face_encoder(crops=token == "faces-crops"), token)
    if token.startswith("ckpt:"):
        path, roots = token[5:], config.settings().data_roots
        return restorable(lambda ds: on_its_base(load_server_checkpoint(path, allowed_roots=roots)), token)
    if token.startswith("run:"):
        run_id, _, step = token[4:].partition(":")
        return restorable(lambda ds: trained_encoder(run_id, step), token)
    raise InputError(f"unknown model in the address: {token!r}")


def trained_encoder(run_id: str, step: str):
    """The checkpoint at ``step`` of training run ``run_id`` on this server ("Use this model")."""
    from explorer.training import jobs  # here, not at the top: it imports the trainer (~0.6 s) on every first page

    run = jobs.get_run(run_id)
    if run is None or not step.isdigit() or int(step) not in run.checkpoints:
        raise InputError(f"no checkpoint at step {step} of a training run {run_id!r} on this server")
    if not run.keep_data and st.session_state.get("train_run") != run.id:  # trained on a visitor's uploads
        raise InputError(f"training run {run_id!r} belongs to the session that started it")
    return on_its_base(
        load_checkpoint(
            run.model_path(int(step)).read_bytes(), f"{run.model_name(int(step))}.safetensors", origin="server"
        )
    )


def on_its_base(encoder):
    """A head trained on a frozen descriptor (its spec names the base by its token) embeds through
    that descriptor, a descriptor fine-tuned here through the face pipeline; any other checkpoint as
    it is."""
    from explorer.faces.encoder import as_face_model

    encoder = as_face_model(encoder)  # a descriptor fine-tuned here cuts its face chips first
    base = (encoder.model_info.info or {}).get("base")
    if not base:
        return encoder
    from explorer.models.encoder import StackedEncoder

    return StackedEncoder(model_loader_for(base)(None), encoder)


def picker_state(data_token: str, model_token: str) -> dict[str, str]:
    """The pickers' widget values that name these restore tokens (so that after a refresh the Data &
    model page shows the sources the workspace came from, not the defaults)."""
    values = {}
    if data_token == "digits":
        values["dm_source"] = "Bundled digits"
    elif data_token.startswith("dir:"):
        values.update(dm_source="Image folder on the server", dm_path=data_token[4:])
    if model_token == "bundled":
        values["dm_model"] = "Bundled digits ConvNet"
    elif model_token in ("faces", "faces-crops"):
        values.update(dm_model=FACES, dm_crops=model_token == "faces-crops")
    elif model_token.startswith("ckpt:"):
        values.update(dm_model="Checkpoint on the server", dm_ckpt_path=model_token[5:])
    return values  # a run's checkpoint ("run:") has no picker: the Train page's "Use this model" chose it


def data_picker() -> tuple[Callable | None, bool]:
    """Returns (loader, needs_model). ``loader(progress) -> Dataset``."""
    source = st.radio("Data source", DATA_SOURCES, key="dm_source", horizontal=True)
    if source == "Bundled digits":
        st.caption("scikit-learn's digits: 1,797 8x8 grey images of 10 digits (ships with scikit-learn).")
        return data_loader_for("digits"), True
    if source == "Image folder (zip)":
        up = st.file_uploader("Zip with one folder per identity", type=["zip"], key="dm_zip")
        if up is None:
            return None, True
        return (lambda progress: load_zip(up.getvalue(), name=up.name, progress=progress)), True
    if source == "Image folder (directory upload)":
        ups = st.file_uploader(
            "A folder with one sub-folder per identity", accept_multiple_files="directory", key="dm_dir"
        )
        if not ups:
            return None, True
        name = ups[0].name.split("/", 1)[0]
        return (
            lambda progress: dataset_from_files(
                [(u.name, u.getvalue()) for u in ups], name=name, origin="upload", progress=progress
            )
        ), True
    if source == "Image folder on the server":
        roots = config.settings().data_roots
        st.caption("Allowed folders: " + ", ".join(f"`{r}`" for r in roots))
        path = st.text_input("Folder path", key="dm_path", placeholder=str(roots[-1]) if roots else "")
        if not path:
            return None, True
        return data_loader_for(f"dir:{path}"), True
    return _table_picker(source)


def _table_picker(source: str) -> tuple[Callable | None, bool]:
    if source == "Vector table":
        up = st.file_uploader("Vectors with a label column", type=TABLE_TYPES, key="dm_table")
        if up is None:
            st.session_state.pop(PARSED_TABLE, None)  # a file the widget no longer holds is let go
            return None, False
        name, key, parse = up.name, (up.file_id,), lambda: read_table(up.getvalue(), up.name)
    else:
        vec = st.file_uploader("vectors.tsv (no header)", type=["tsv"], key="dm_proj_vec")
        meta = st.file_uploader("metadata.tsv", type=["tsv"], key="dm_proj_meta")
        if vec is None or meta is None:
            st.session_state.pop(PARSED_TABLE, None)
            return None, False
        name, key = vec.name, (vec.file_id, meta.file_id)
        parse = lambda: read_projector_pair(vec.getvalue(), meta.getvalue())  # noqa: E731
    try:
        frame = _parsed_once(key, parse)
    except InputError as exc:
        st.error(str(exc))
        return None, False
    cands = label_candidates(frame)
    if not cands:  # every column is a number: any of them could be a vector coordinate
        st.warning(
            f"No column of {name} is named like a label ({', '.join(LABEL_NAMES[:5])}, ...) or holds text: "
            "choose the column that names the identity. Every other numeric column becomes a vector coordinate."
        )
    label = st.selectbox(
        "Label column",
        cands or [str(c) for c in frame.columns],
        key="dm_label",
        index=0 if cands else None,
        placeholder="Choose the label column",
        help="The column that names the identity of each row.",
    )
    if label is None:
        return None, False
    ids = st.selectbox("Id column", ["(none)", *[str(c) for c in frame.columns if c != label]], key="dm_id")
    as_inputs = st.checkbox(
        "These are model inputs, not embeddings (run them through a vector model)", key="dm_as_inputs"
    )
    id_col = None if ids == "(none)" else ids

    def load(progress):
        return dataset_from_frame(
            frame.copy(), name=name, label_column=label, id_column=id_col, is_embedding=not as_inputs
        )

    return load, as_inputs


def _parsed_once(key: tuple, parse: Callable):
    """Parse an uploaded table once per upload, not on every rerun (this session only)."""
    cached = st.session_state.get(PARSED_TABLE)
    if cached is None or cached[0] != key:
        cached = (key, parse())
        st.session_state[PARSED_TABLE] = cached
    return cached[1]


def model_picker(needs_model: bool) -> Callable | None:
    """Returns ``loader(dataset) -> Encoder`` or None (vectors that are embeddings already)."""
    if not needs_model:
        st.caption("The vectors are used as embeddings as they are: no model needed.")
        return None
    source = st.radio("Model", MODEL_SOURCES, key="dm_model", horizontal=True)
    if source == "Bundled digits ConvNet":
        info = bundled_encoder().model_info.info
        metrics = info.get("held_out_metrics", {})
        st.caption(
            f"Trained by scripts/train_default_model.py on {info.get('trained_on', '?')}; held-out "
            + ", ".join(f"{k} {v}" for k, v in metrics.items())
        )
        return model_loader_for("bundled")
    if source == FACES:
        return face_picker()
    if source == "Upload a checkpoint":
        ups = st.file_uploader(
            "Checkpoint (+ its .json spec where needed)",
            type=CKPT_TYPES,
            accept_multiple_files=True,
            key="dm_ckpt",
            help="safetensors (spec inside or as .json), a state_dict .pt with its .json, or ONNX.",
        )
        return _uploaded_model(ups) if ups else None
    path = st.text_input("Checkpoint path on the server", key="dm_ckpt_path")
    return model_loader_for(f"ckpt:{path}") if path else None


def _uploaded_model(ups) -> Callable | None:
    specs = [u for u in ups if u.name.lower().endswith(".json")]
    weights = [u for u in ups if not u.name.lower().endswith(".json")]
    if len(weights) != 1:
        st.warning("Upload exactly one checkpoint file (plus optionally one .json spec).")
        return None
    w, spec = weights[0], (specs[0].getvalue() if specs else None)
    return lambda ds: on_its_base(load_checkpoint(w.getvalue(), w.name, spec_json=spec, origin="upload"))


def face_picker() -> Callable:
    from explorer.faces.encoder import CARD

    st.caption(
        f"{CARD['what']}. Trained on {CARD['trained_on']}; {CARD['lfw']}; {CARD['threshold']}. "
        f"Licence: {CARD['licence']}. Photos without a face are listed as failures to acquire."
    )
    crops = st.checkbox(
        "These images are face crops already",
        key="dm_crops",
        help="where no face is found in an image, the whole image is taken as the face (AT&T's photos, "
        "dlib's chips); otherwise such an image is a failure to acquire and left out",
    )
    return model_loader_for("faces-crops" if crops else "faces")
