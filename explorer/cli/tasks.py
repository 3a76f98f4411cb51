"""The command line's work: embed, threshold and evaluate, each reading its inputs, running the
library with a progress bar and writing its output by the file's suffix."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import click

from explorer import config
from explorer.cli.inputs import load_data, load_model, read_embeddings, read_protocol, thumbnails_of
from explorer.cli.progress import progress_bar
from explorer.errors import InputError

OUTPUTS = {".parquet", ".csv", ".npz"}


def embed_to(data: str, model: str, output: Path, *, label_column: str | None = None, engine=None) -> int:
    """Load, prepare (face chips for the face descriptor), embed through the disk cache and write
    ``output`` by its suffix. Returns the number of items written."""
    from explorer.faces.acquisition import AcquisitionCache
    from explorer.models.embedding import EmbeddingCache, embed_dataset

    if output.suffix.lower() not in OUTPUTS:
        raise InputError(f"{output}: write .parquet, .csv or .npz")
    folder = Path(data).expanduser().is_dir()
    encoder = load_model(model, SimpleNamespace(kind="image")) if folder else None
    if folder and engine is not None and engine.streams(encoder):  # the actors read the images themselves
        bar, progress = progress_bar("reading and embedding")
        with bar:
            emb, failures = engine.embed_folder(data, encoder, progress=progress)
        _skipped(failures)
        _write(emb, output)
        return emb.n
    bar, progress = progress_bar("loading")
    with bar:
        dataset = load_data(data, label_column=label_column, progress=progress)
    _skipped(dataset.failures)
    encoder = encoder if folder else load_model(model, dataset)
    cache_dir = config.settings().cache_dir
    bar, progress = progress_bar("embedding")
    loaded = len(dataset.failures)
    with bar:
        if encoder is not None:
            dataset = encoder.prepare(dataset, progress=progress, store=AcquisitionCache(directory=cache_dir))
        emb = embed_dataset(
            dataset, encoder, cache=EmbeddingCache(directory=cache_dir), progress=progress, engine=engine
        )
    _skipped(dataset.failures[loaded:])  # what preparing left out: photos without a face, for one
    _write(emb, output)
    return emb.n


def _skipped(failures) -> None:
    """The items left out, a line each (the first 10), and how many in all."""
    if failures:
        click.echo(f"{len(failures):,} item{'s' if len(failures) != 1 else ''} left out:", err=True)
    for failure in failures[:10]:
        click.echo(f"skipped {failure.path}: {failure.reason}", err=True)
    if len(failures) > 10:
        click.echo(f"... and {len(failures) - 10:,} more", err=True)


def _write(emb, output: Path) -> None:
    from explorer.summary import to_csv_bytes, to_parquet_bytes

    suffix = output.suffix.lower()
    if suffix == ".parquet":
        body = to_parquet_bytes(emb)
    elif suffix == ".csv":
        body = to_csv_bytes(emb)
    else:
        body = emb.to_npz()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body)


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
    path: Path,
    output: Path,
    *,
    far: float | None,
    by: str | None,
    metric: str,
    label_column: str | None = None,
    engine=None,
    held_out: int = 0,
    groups: Path | None = None,
) -> dict:
    """The Threshold page's card for all pairs of these embeddings, the threshold picked ``by``
    (``target FAR`` with ``far``, ``EER``, ...), written as JSON or Markdown by the suffix."""
    from explorer.evaluation import verification
    from explorer.report import card_json, card_markdown

    if output.suffix.lower() not in (".json", ".md"):
        raise InputError(f"{output}: write the card as .json or .md")
    choice = _choice(far, by)
    emb = read_embeddings(path, label_column=label_column)
    bar, progress = progress_bar("all pairs")
    with bar:
        card = verification(
            emb,
            metric=metric,
            choice=choice,
            progress=progress,
            engine=engine,
            held_out=held_out,
            groups=_groups(groups),
        ).card
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(card_json(card) if output.suffix.lower() == ".json" else card_markdown(card).encode())
    return card


def _groups(path: Path | None) -> dict[str, str] | None:
    """Each identity's group from a table (explorer/data/group_map.py), or None."""
    if path is None:
        return None
    from explorer import config
    from explorer.data.group_map import read_group_map

    return read_group_map(path.read_bytes(), path.name, max_rows=config.settings().max_score_rows)


REPORTS = (".html", ".md", ".json")


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
    engine=None,
    held_out: int = 0,
    groups: Path | None = None,
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
    bar, progress = progress_bar("evaluating")
    with bar:
        ev = evaluate(
            emb,
            metric=metric,
            choice=choice,
            protocol=protocol,
            progress=progress,
            engine=engine,
            held_out=held_out,
            groups=_groups(groups),
        )
    if suffix == ".html":
        body = report_html(ev, thumbnails=thumbnails_of(data, emb.ids) if data else None).encode()
    elif suffix == ".md":
        body = report_markdown(ev).encode()
    else:
        body = report_json(ev)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body)
    return ev
