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
    encoder = load_model(model, dataset)
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
    skipped = len(proto.unknown_ids) + len(proto.malformed)
    if skipped:
        click.echo(f"{path.name}: {skipped:,} lines skipped (unknown ids or malformed)", err=True)
    if not len(proto.same):
        raise InputError(f"{path.name}: no pair names two items of these embeddings")
    return proto


def _choice(far: float | None, by: str | None):
    from explorer.analysis.thresholds import PICK_BY
    from explorer.evaluation import ThresholdChoice

    by = by or ("target FAR" if far is not None else "EER")
    if by not in PICK_BY:
        raise InputError(f"--by {by!r}: choose one of {', '.join(PICK_BY)}")
    if by == "target FAR" and far is None:
        raise InputError("--by 'target FAR' needs --far (e.g. --far 1e-3)")
    return ThresholdChoice(by, far if by in ("target FAR", "target TAR") else None)


def threshold_to(
    path: Path, output: Path, *, far: float | None, by: str | None, metric: str, label_column: str | None = None
) -> dict:
    """The Threshold page's card for all pairs of these embeddings, the threshold picked ``by``
    (``target FAR`` with ``far``, ``EER``, ...), written as JSON or Markdown by the suffix."""
    from explorer.evaluation import verification
    from explorer.report import card_json, card_markdown

    if output.suffix.lower() not in (".json", ".md"):
        raise InputError(f"{output}: write the card as .json or .md")
    choice = _choice(far, by)
    emb = read_embeddings(path, label_column=label_column)
    bar, progress = _bar("all pairs")
    with bar:
        card = verification(emb, metric=metric, choice=choice, progress=progress).card
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(card_json(card) if output.suffix.lower() == ".json" else card_markdown(card).encode())
    return card


REPORTS = (".html", ".md", ".json")


def thumbnails_of(data: str, ids) -> list | None:
    """The thumbnails of the items ``ids`` from the data they were embedded from (a blank tile
    for an id the data lacks); None for data without images."""
    ds = load_data(data, label_column=None, progress=None)
    if not ds.thumbnails:
        return None
    at = {str(i): k for k, i in enumerate(ds.ids)}
    blank = ds.thumbnails[0] * 0
    return [ds.thumbnails[at[str(i)]] if str(i) in at else blank for i in ids]


def evaluate_to(
    path: Path,
    output: Path,
    *,
    pairs: Path | None = None,
    metric: str = "sqeuclidean",
    far: float | None = None,
    by: str | None = None,
    data: str | None = None,
    label_column: str | None = None,
):
    """The evaluation report of these embeddings (all pairs, or a pairs file's), as HTML,
    Markdown or JSON by the suffix; ``data``: where the items came from, for the error gallery's
    images."""
    from explorer.evaluation import evaluate
    from explorer.evaluation_report import report_html, report_json, report_markdown

    suffix = output.suffix.lower()
    if suffix not in REPORTS:
        raise InputError(f"{output}: write the report as {', '.join(REPORTS)}")
    choice = _choice(far, by)
    emb = read_embeddings(path, label_column=label_column)
    protocol = read_protocol(pairs, emb.ids) if pairs is not None else None
    bar, progress = _bar("evaluating")
    with bar:
        ev = evaluate(emb, metric=metric, choice=choice, protocol=protocol, progress=progress)
    if suffix == ".html":
        body = report_html(ev, thumbnails=thumbnails_of(data, emb.ids) if data else None).encode()
    elif suffix == ".md":
        body = report_markdown(ev).encode()
    else:
        body = report_json(ev)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body)
    return ev


def _run(work):
    """Bad input: exit 2 with its one-line message; anything else: exit 1, one line."""
    try:
        return work()
    except (InputError, ValueError) as exc:
        raise BadInput(str(exc).splitlines()[0]) from None
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        raise click.ClickException(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


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
    n = _run(lambda: embed_to(data, model, output, label_column=label_column))
    click.echo(f"{n:,} embeddings written to {output}")


@main.command()
@click.argument("embeddings", type=click.Path(path_type=Path))
@click.option("--far", type=float, default=None, help="the target FAR (FMR), e.g. 1e-3")
@click.option(
    "--by", default=None, help="how to pick: target FAR (with --far; the default then), EER, max accuracy, ..."
)
@click.option("--metric", default="sqeuclidean", show_default=True, help="the distance")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".json or .md")
@click.option("--label-column", default=None, help="a vector table's label column, when it cannot be told")
def threshold(embeddings: Path, far: float | None, by: str | None, metric: str, output: Path, label_column) -> None:
    """The Threshold page's card for all pairs of EMBEDDINGS (written by embed, or any vector table)."""
    card = _run(lambda: threshold_to(embeddings, output, far=far, by=by, metric=metric, label_column=label_column))
    click.echo(f"threshold card written to {output} (threshold {card['threshold']:.6g}, {card['how_chosen']})")


@main.command()
@click.argument("embeddings", type=click.Path(path_type=Path))
@click.option("--pairs", type=click.Path(dir_okay=False, path_type=Path), default=None, help="LFW pairs.txt or a CSV")
@click.option("--metric", default="sqeuclidean", show_default=True, help="the distance")
@click.option("--far", type=float, default=None, help="pick the threshold at this FAR (default: at the EER)")
@click.option("--by", default=None, help="or pick it by: EER, max accuracy, max F1, min cost")
@click.option("--data", default=None, help="the data the embeddings came from, for the error gallery's images")
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".html, .md or .json"
)
@click.option("--label-column", default=None, help="a vector table's label column, when it cannot be told")
def evaluate(embeddings: Path, pairs, metric: str, far, by, data, output: Path, label_column) -> None:
    """The evaluation report of EMBEDDINGS: provenance, verification (histograms, ROC, DET, TAR@FAR,
    the threshold card), retrieval, clusters and the errors; HTML opens offline."""
    ev = _run(
        lambda: evaluate_to(
            embeddings, output, pairs=pairs, metric=metric, far=far, by=by, data=data, label_column=label_column
        )
    )
    v = ev.verification
    click.echo(
        f"report written to {output} (AUC {v.head.auc:.6f}, EER {100 * v.head.eer:.3f}%, threshold "
        f"{v.result.threshold:.6g} at FAR {v.result.far:.3g})"
    )


@main.command()
@click.option("--port", default=8501, show_default=True, type=int)
def serve(port: int) -> None:
    """Start the app (as ``make run`` does)."""
    app = Path(__file__).resolve().parent.parent / "app.py"
    sys.exit(subprocess.call([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port)]))


if __name__ == "__main__":
    main()
