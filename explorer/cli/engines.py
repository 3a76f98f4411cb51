"""``--engine ray``: where the command line runs the encoder and the all-pairs pass."""

from __future__ import annotations

import functools

import click

ENGINES = ("here", "ray")


def engine_options(*, actors: bool = False, tasks: bool = False):
    """The --engine and --address options (and --actors and --gpus-per-actor for embedding, --tasks
    for pairs)."""

    def wrap(command):
        extra = []
        if actors:
            extra.append(click.option("--actors", default=1, show_default=True, type=int, help="Ray: encoder actors"))
            extra.append(click.option("--gpus-per-actor", "gpus", default=0.0, show_default=True, type=float,
                                      help="Ray: GPUs each encoder actor takes (a fraction shares one)"))  # fmt: skip
        if tasks:
            extra.append(
                click.option("--tasks", default=None, type=int, help="Ray: all-pairs tasks (default 2 per CPU)")
            )
        options = [
            click.option("--engine", type=click.Choice(ENGINES), default="here", show_default=True,
                         help="here: this process; ray: a Ray cluster (pip install '.[ray]')"),
            click.option("--address", default=None,
                         help="Ray: the cluster (auto, or ray://host:10001); default a local one for the job"),
            *extra,
        ]  # fmt: skip
        return functools.reduce(lambda c, o: o(c), reversed(options), command)

    return wrap


def embedding_engine(engine: str, address: str | None, actors: int = 1, gpus: float = 0.0):
    if engine != "ray":
        return None
    from explorer.distributed.embedding import RayEmbedding

    return RayEmbedding(actors, address=address, gpus=gpus)


def pairs_engine(engine: str, address: str | None, tasks: int | None = None):
    if engine != "ray":
        return None
    from explorer.distributed.pairs import RayPairs

    return RayPairs(tasks, address=address)
