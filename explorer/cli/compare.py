"""``explorer compare``: verifiers on the same pairs, as the Compare page shows them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from explorer import config
from explorer.cli.inputs import read_embeddings
from explorer.cli.progress import progress_bar
from explorer.errors import InputError

SCORE_FILES = (".csv", ".tsv", ".txt", ".parquet")


def _score_systems(path: Path, chosen: tuple[str, ...]):
    """A scores file's score columns (``chosen`` ones in that order, else all) as distances on
    its pairs, each score's direction detected from the labels."""
    from explorer.data.scorefile import guess_columns, read_scores
    from explorer.data.vectors import read_table

    if not path.is_file() or path.suffix.lower() not in SCORE_FILES:
        raise InputError(f"{path}: not a scores file ({', '.join(SCORE_FILES)})")
    frame = read_table(path.read_bytes(), path.name)
    cmap = guess_columns(frame)
    if chosen:
        missing = [c for c in chosen if c not in cmap.scores]
        if missing:
            raise InputError(f"no score column {', '.join(map(repr, missing))}; the file's are {list(cmap.scores)}")
        cmap = replace(cmap, scores=tuple(chosen))
    table = read_scores(frame, cmap)
    for name, auc in table.detected.items():
        click.echo(f"{name}: read as a {table.directions[name].name} (AUC {auc:.4f} that way)", err=True)
    return {c: table.distances(c) for c in cmap.scores}, table.same, table.subjects, None


def _encoder_systems(first: Path, second: Path, metric: str, label_column: str | None):
    """Two embeddings of the same items (matched by id) on the same sampled pairs."""
    from explorer.analysis.comparison import two_encoders

    ea, eb = (read_embeddings(p, label_column=label_column) for p in (first, second))
    at_b = {str(i): k for k, i in enumerate(eb.ids)}
    rows = [k for k, i in enumerate(ea.ids) if str(i) in at_b]
    if len(rows) < 2:
        raise InputError(f"{first.name} and {second.name} share {len(rows)} item ids: embed the same data with both")
    names = (f"A: {ea.provenance.get('model_name', first.stem)}", f"B: {eb.provenance.get('model_name', second.stem)}")
    if names[0] == names[1]:
        names = (f"A: {first.stem}", f"B: {second.stem}")
    two = two_encoders(
        names,
        ea.vectors[rows],
        eb.vectors[[at_b[str(ea.ids[k])] for k in rows]],
        ea.labels[rows],
        metric=metric,
        replicates=config.settings().bootstrap,
    )
    labels = ea.labels[rows][two.rows]
    return two.distances, two.same, (labels[two.a], labels[two.b]), two.map_at_r


def compare_to(
    first: Path,
    second: Path | None,
    *,
    scores: tuple[str, ...] = (),
    metric: str = "euclidean",
    output: Path | None = None,
    label_column: str | None = None,
) -> list[dict]:
    """The Compare page's table: each system's figures with 95% intervals over subjects (paired
    bootstrap) and B - A. Systems: a scores file's columns, or two embeddings of the same items."""
    import pandas as pd

    from explorer.analysis.comparison import compare, comparison_rows

    if output is not None and output.suffix.lower() not in (".csv", ".json", ".md"):
        raise InputError(f"{output}: write the table as .csv, .json or .md")
    if second is None:
        distances, same, subjects, map_at_r = _score_systems(first, scores)
    else:
        distances, same, subjects, map_at_r = _encoder_systems(first, second, metric, label_column)
    bar, progress = progress_bar("bootstrap")
    with bar:
        c = compare(distances, same, subjects=subjects, replicates=config.settings().bootstrap, progress=progress)
    rows = comparison_rows(c)
    if map_at_r is not None:
        m_a, m_b, (lo, hi) = map_at_r
        for row, text in zip(rows, (f"{m_a:.4f}", f"{m_b:.4f}", f"{m_b - m_a:.4f} [{lo:.4f}, {hi:.4f}]"), strict=True):
            row["MAP@R"] = text
    frame = pd.DataFrame(rows)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        suffix = output.suffix.lower()
        if suffix == ".csv":
            output.write_text(frame.to_csv(index=False))
        elif suffix == ".json":
            output.write_text(frame.to_json(orient="records", indent=2))
        else:
            from explorer.evaluation_report import markdown_table

            output.write_text(markdown_table(rows) + "\n")
    click.echo(frame.to_string(index=False))
    click.echo(f"95% intervals over {c.replicates:,} bootstrap replicates drawing {c.over}; B - A is paired.")
    if c.subjects_note:
        click.echo(f"no intervals over subjects: {c.subjects_note}")
    return rows
