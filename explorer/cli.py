"""The command line (``explorer``): the same library the pages use, for scripts and CI.

Exit codes: 0 done, 2 bad input (the page's one-line message, never a traceback), 1 anything
else (one line too). Built on click (a dependency of Streamlit already).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from explorer import config
from explorer.errors import InputError

TABLES = (".csv", ".tsv", ".txt", ".parquet", ".npy", ".npz")
OUTPUTS = {".parquet", ".csv", ".npz"}


class BadInput(click.ClickException):
    exit_code = 2


def _bar(label: str):
    """A click progress bar fed by the library's progress(fraction, message) callbacks."""
    bar = click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=False)
    state = {"at": 0}

    def progress(fraction: float, message: str = "") -> None:
        at = int(1000 * min(max(fraction, 0.0), 1.0))
        if at > state["at"]:
            bar.update(at - state["at"])
            state["at"] = at

    return bar, progress


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
    return load_server_checkpoint(Path(model).expanduser())


def embed_to(data: str, model: str, output: Path, *, label_column: str | None = None) -> int:
    """Load, prepare (face chips for the face descriptor), embed through the disk cache and write
    ``output`` by its suffix. Returns the number of items written."""
    from explorer.faces.acquisition import AcquisitionCache
    from explorer.models.embedding import EmbeddingCache, embed_dataset
    from explorer.summary import to_csv_bytes, to_parquet_bytes

    if output.suffix.lower() not in OUTPUTS:
        raise InputError(f"{output}: write .parquet, .csv or .npz")
    bar, progress = _bar("loading")
    with bar:
        dataset = load_data(data, label_column=label_column, progress=progress)
    for failure in dataset.failures[:10]:
        click.echo(f"skipped {failure.path}: {failure.reason}", err=True)
    encoder = None if dataset.kind == "vector" and model == "none" else load_model(model, dataset)
    cache_dir = config.settings().cache_dir
    bar, progress = _bar("embedding")
    with bar:
        if encoder is not None:
            dataset = encoder.prepare(dataset, progress=progress, store=AcquisitionCache(directory=cache_dir))
        emb = embed_dataset(dataset, encoder, cache=EmbeddingCache(directory=cache_dir), progress=progress)
    suffix = output.suffix.lower()
    if suffix == ".parquet":
        body = to_parquet_bytes(emb)
    elif suffix == ".csv":
        body = to_csv_bytes(emb)
    else:
        body = emb.to_npz()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body)
    return emb.n


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Embedding Explorer on the command line: the library the app uses."""


@main.command()
@click.argument("data")
@click.option(
    "--model", "-m", default="bundled", show_default=True, help="bundled, faces, faces-crops, none or a checkpoint file"
)
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".parquet, .csv or .npz"
)
@click.option("--label-column", default=None, help="a vector table's label column, when it cannot be told")
def embed(data: str, model: str, output: Path, label_column: str | None) -> None:
    """Embed DATA (digits, a folder of images, a vector table) with a model and write the
    embeddings with their provenance."""
    try:
        n = embed_to(data, model, output, label_column=label_column)
    except (InputError, ValueError) as exc:
        raise BadInput(str(exc).splitlines()[0]) from None
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        raise click.ClickException(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    click.echo(f"{n:,} embeddings written to {output}")


@main.command()
@click.option("--port", default=8501, show_default=True, type=int)
def serve(port: int) -> None:
    """Start the app (as ``make run`` does)."""
    app = Path(__file__).resolve().parent.parent / "app.py"
    sys.exit(subprocess.call([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port)]))


if __name__ == "__main__":
    main()
