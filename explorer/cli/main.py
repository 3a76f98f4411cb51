"""The command line (``explorer``): the same library the pages use, for scripts and CI.

Exit codes: 0 done, 2 bad input (the page's one-line message, never a traceback), 1 anything
else (one line too). Built on click (a dependency of Streamlit already).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from explorer.cli.compare import compare_to
from explorer.cli.engines import embedding_engine, engine_options, pairs_engine
from explorer.cli.tasks import embed_to, evaluate_to, threshold_to
from explorer.errors import InputError


class BadInput(click.ClickException):
    exit_code = 2


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


# the card's options beyond the counts, shared by threshold and evaluate
held_out_option = click.option(
    "--held-out",
    type=click.IntRange(0, 20),
    default=0,
    show_default=True,
    help="random splits of the identities on which to prove the threshold on people it was not picked on (0: none)",
)
groups_option = click.option(
    "--groups",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="a table of identity and group (CSV, TSV, Parquet): false matches between groups on the card",
)


@main.command()
@click.argument("data")
@click.option(
    "--model", "-m", default="bundled", show_default=True, help="bundled, faces, faces-crops, none or a checkpoint file"
)
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".parquet, .csv or .npz"
)
@click.option("--label-column", default=None, help="a vector table's label column, when it cannot be told")
@engine_options(actors=True)
def embed(
    data: str, model: str, output: Path, label_column: str | None, engine: str, address, actors: int, gpus: float
) -> None:
    """Embed DATA (digits, a folder of images, a vector table) with a model and write the
    embeddings with their provenance."""
    n = _run(
        lambda: embed_to(
            data, model, output, label_column=label_column, engine=embedding_engine(engine, address, actors, gpus)
        )
    )
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
@held_out_option
@groups_option
@engine_options(tasks=True)
def threshold(
    embeddings: Path,
    far,
    by,
    metric: str,
    output: Path,
    label_column,
    held_out: int,
    groups,
    engine: str,
    address,
    tasks,
) -> None:
    """The Threshold page's card for all pairs of EMBEDDINGS (written by embed, or any vector table)."""
    card = _run(
        lambda: threshold_to(
            embeddings,
            output,
            far=far,
            by=by,
            metric=metric,
            label_column=label_column,
            engine=pairs_engine(engine, address, tasks),
            held_out=held_out,
            groups=groups,
        )
    )
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
@held_out_option
@groups_option
@engine_options(tasks=True)
def evaluate(
    embeddings: Path,
    pairs,
    metric: str,
    far,
    by,
    data,
    output: Path,
    label_column,
    held_out: int,
    groups,
    engine,
    address,
    tasks,
):
    """The evaluation report of EMBEDDINGS: provenance, verification (histograms, ROC, DET, TAR@FAR,
    the threshold card), retrieval, clusters and the errors; HTML opens offline."""
    ev = _run(
        lambda: evaluate_to(
            embeddings,
            output,
            pairs=pairs,
            metric=metric,
            far=far,
            by=by,
            data=data,
            label_column=label_column,
            engine=pairs_engine(engine, address, tasks),
            held_out=held_out,
            groups=groups,
        )
    )
    v = ev.verification
    click.echo(
        f"report written to {output} (AUC {v.head.auc:.6f}, EER {100 * v.head.eer:.3f}%, threshold "
        f"{v.result.threshold:.6g} at FAR {v.result.far:.3g})"
    )


@main.command()
@click.argument("first", type=click.Path(path_type=Path))
@click.argument("second", type=click.Path(path_type=Path), required=False)
@click.option("--score", "scores", multiple=True, help="a scores file's column to compare (repeat; A first, then B)")
@click.option("--metric", default="euclidean", show_default=True, help="the distance, for two embeddings")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help=".csv, .json or .md"
)
@click.option("--label-column", default=None, help="a vector table's label column, when it cannot be told")
def compare(first: Path, second: Path | None, scores, metric: str, output: Path | None, label_column) -> None:
    """Compare verifiers on the same pairs, as the Compare page does: the score columns of one
    scores file (FIRST), or two embeddings of the same items (FIRST and SECOND, by two models)."""
    _run(lambda: compare_to(first, second, scores=scores, metric=metric, output=output, label_column=label_column))
    if output is not None:
        click.echo(f"table written to {output}")


@main.command()
@click.argument("data", required=False)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="run.json: the settings")
@click.option("--resume", default=None, help="go on with this run (its id, printed at its start)")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="model.safetensors")
def train(data: str | None, config_path: Path | None, resume: str | None, output: Path | None) -> None:
    """Train on DATA as the Train page does (triplet loss, HNSW hard negatives, ...), with the
    settings in --config; checkpoints in the run's folder; Ctrl-C stops at a checkpoint."""
    from explorer.cli.train import train_to

    run = _run(lambda: train_to(data, config_path, resume=resume, output=output))
    v = run.figures(run.best_checkpoint()) if run.best_checkpoint() is not None else None
    best = f"; best step {v['step']}: MAP@R {v['map_at_r']:.4f}" if v else ""
    click.echo(f"run {run.id} {run.status} at step {run.step}{best}")
    if output is not None and run.status == "finished" and v is not None:
        click.echo(f"model written to {output}")


@main.command()
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--gallery", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="a gallery folder (the Identify page's EXPLORER_GALLERY_DIR)")  # fmt: skip
@click.option("--threshold", default=0.6, show_default=True, type=float, help="same person below this distance")
def identify(photo: Path, gallery: Path, threshold: float) -> None:
    """Every face of PHOTO against the people enrolled in a gallery folder: one line per face,
    largest first, with its answer (a name or unknown) and its closest people."""
    from explorer.cli.identify import identify_lines

    for line in _run(lambda: identify_lines(photo, gallery, threshold=threshold)):
        click.echo(line)


@main.command()
@click.option("--port", default=8501, show_default=True, type=int)
def serve(port: int) -> None:
    """Start the app (as ``make run`` does)."""
    app = Path(__file__).resolve().parents[2] / "app.py"
    sys.exit(subprocess.call([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port)]))


if __name__ == "__main__":
    main()
