"""Connecting to Ray: a cluster at an address, or a local one started for the job and stopped
after it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from explorer.errors import InputError

EXTRA = "Ray is not installed: pip install '.[ray]' (or make install-ray)"


def ray_module():
    """The ray module, or InputError saying how to install the extra."""
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is the [data] extra
    except ImportError:
        raise InputError(EXTRA) from None
    return ray


@contextmanager
def connected(address: str | None = None, *, cpus: int | None = None) -> Iterator[object]:
    """Ray, connected: to the cluster at ``address`` (``auto``: the one this machine belongs to;
    ``ray://host:10001``: a remote one), else a local cluster of ``cpus`` logical CPUs, started
    here and shut down after. Workers inherit the numba cache directory, so compiled kernels
    load rather than compile."""
    ray = ray_module()
    if ray.is_initialized():
        quiet(ray)
        yield ray
        return
    env = {k: os.environ[k] for k in ("NUMBA_CACHE_DIR", "EXPLORER_CACHE_DIR") if k in os.environ}
    options = dict(runtime_env={"env_vars": env}, log_to_driver=False, configure_logging=False)
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, **options)
    quiet(ray)
    try:
        yield ray
    finally:
        ray.shutdown()


def quiet(ray) -> None:
    """No Ray Data progress lines on stdout: the command line draws its own bar."""
    import logging

    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
