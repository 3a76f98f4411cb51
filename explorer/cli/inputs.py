"""What the command line reads: data (the bundled digits, a folder of images, a vector table),
models, embeddings written by ``embed``, pairs files and the thumbnails of the items."""

from __future__ import annotations

from pathlib import Path

import click

from explorer.errors import InputError

TABLES = (".csv", ".tsv", ".txt", ".parquet", ".npy", ".npz")


def load_data(data: str, *, label_column: str | None, progress):
    """``digits`` (the bundled set), a folder of images (one sub-folder per identity), or a vector
    table (CSV / TSV / Parquet / NPY / NPZ, its vectors taken as embeddings)."""
    from explorer.data.digits import load_digits
    from explorer.data.folders import load_directory
    from explorer.data.vectors import dataset_from_frame, read_table

    if data == "digits":
        return load_digits()
    path = Path(data).expanduser()
    if path.is_dir():
        return load_directory(path, progress=progress)  # the operator's own disk: no allowed roots
    if path.suffix.lower() in TABLES and path.is_file():
        raw = path.read_bytes()
        frame = read_table(raw, path.name)
        return dataset_from_frame(frame, name=path.name, label_column=label_column, origin="server")
    raise InputError(f"{data}: not 'digits', a folder of images or a vector table ({', '.join(TABLES)})")


def load_model(model: str, dataset):
    """``bundled``, ``faces`` / ``faces-crops`` (the face descriptor), ``none`` (vectors as they
    are) or a checkpoint file (.safetensors, .pt with weights only, .onnx, with its spec)."""
    from explorer.models.checkpoints import load_default_encoder, load_server_checkpoint

    if model == "none":
        if dataset.kind != "vector":
            raise InputError("images need a model to embed them: --model bundled, faces or a checkpoint")
        return None
    if model == "bundled":
        return load_default_encoder()
    if model in ("faces", "faces-crops"):
        from explorer.faces.encoder import FaceEncoder
        from explorer.faces.pipeline import FaceSettings

        return FaceEncoder(FaceSettings(crops=model == "faces-crops"))
    if not Path(model).expanduser().is_file():
        raise InputError(f"{model}: no such checkpoint (or: bundled, faces, faces-crops, none)")
    from explorer.faces.encoder import as_face_model

    return as_face_model(load_server_checkpoint(Path(model).expanduser()))  # a fine-tuned descriptor cuts its chips


def read_embeddings(path: Path, *, label_column: str | None = None):
    """Embeddings written by ``embed`` (their provenance kept: an .npz holds it, a Parquet file in
    its metadata) or any vector table (taken as embeddings)."""
    from explorer.models.embedding import Embeddings, embed_dataset

    if path.suffix.lower() == ".npz" and path.is_file():
        try:
            return Embeddings.from_npz(path.read_bytes())
        except (KeyError, ValueError):
            pass  # another NPZ: read as a vector table
    ds = load_data(str(path), label_column=label_column, progress=None)
    emb = embed_dataset(ds, None)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        meta = {k.decode(): v.decode() for k, v in (pq.read_schema(path).metadata or {}).items()}
        if "checkpoint_hash" in meta:
            emb.provenance = {**emb.provenance, **{k: v for k, v in meta.items() if k != "pandas"}}
    return emb


def read_protocol(path: Path, ids):
    """A pairs file (LFW pairs.txt, or a CSV with two item columns and a truth column) against
    the embeddings' ids; lines naming unknown items are reported and skipped."""
    from explorer.data.protocol import parse_lfw_pairs, parse_pairs_csv

    if not path.is_file():
        raise InputError(f"{path}: no such pairs file")
    raw = path.read_bytes()
    if path.suffix.lower() == ".csv":
        proto = parse_pairs_csv(raw, ids)
    else:
        proto = parse_lfw_pairs(raw.decode("utf-8", errors="replace"), ids)
    if proto.skipped:
        click.echo(f"{path.name}: {proto.skipped_text()}", err=True)
    if not len(proto.same):
        raise InputError(f"{path.name}: no pair names two items of these embeddings")
    return proto


def thumbnails_of(data: str, ids) -> list | None:
    """The thumbnails of the items ``ids`` from the data they were embedded from (a blank tile
    for an id the data lacks); None for data without images."""
    ds = load_data(data, label_column=None, progress=None)
    if not ds.thumbnails:
        return None
    at = {str(i): k for k, i in enumerate(ds.ids)}
    blank = ds.thumbnails[0] * 0
    return [ds.thumbnails[at[str(i)]] if str(i) in at else blank for i in ids]
