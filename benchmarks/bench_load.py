"""Many visitors at once on the real server, over its websocket (loopback only, bounded in time).

Starts ``streamlit run app.py`` on a free port of 127.0.0.1, then N visitors (asyncio tasks, one
websocket each, as a browser tab) open the default page and walk the analysis pages on the
bundled default data: Data & model, Distances, Threshold, Projection, Retrieval, Clusters, then
the same again (the second round is what a visitor who comes back sees), reading each page for
``--think`` seconds (x 0.5 .. 1.5, seeded; 0 hammers the server). Each rerun is timed
from the request to the server's "script finished"; an exception element in the reply counts as
an error. Reported: visitors, reruns, p50 / p95 / max seconds per rerun (overall and per page),
errors, distinct sessions (each visitor must get its own), the server's peak memory (RSS of
the server process and its children) and its log's deprecation warnings (none is the mark). ``--train`` keeps both cores busy with a training loop in
another process meanwhile (what a training run costs the visitors).

The baseline is the same walk by one visitor alone, in the same run.

Run: ``.venv/bin/python benchmarks/bench_load.py [--visitors 20] [--train] [--timeout 600]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = ("", "distances", "threshold", "projection", "retrieval", "clusters")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(cache: str, log) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {**os.environ, "EXPLORER_CACHE_DIR": cache}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return proc, port
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def _rss(pid: int) -> int:
    """Resident bytes of a process and its children (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            continue
    return total


async def _visit(port: int, rounds: int, results: list, sessions: set, think: float, seed: int) -> None:
    import random

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    pause = random.Random(seed)
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    await asyncio.sleep(pause.uniform(0, think))  # visitors arrive spread over one think time
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=60) as ws:
        first = True
        for _ in range(rounds):
            for page in PAGES:
                if not first:
                    await asyncio.sleep(pause.uniform(0.5, 1.5) * think)  # a person reads the page
                first = False
                msg = BackMsg()
                msg.rerun_script.query_string = ""
                msg.rerun_script.page_name = page
                t = time.perf_counter()
                await ws.send(msg.SerializeToString())
                error = False
                while True:
                    fwd = ForwardMsg()
                    fwd.ParseFromString(await ws.recv())
                    kind = fwd.WhichOneof("type")
                    if kind == "new_session":
                        sessions.add(fwd.new_session.initialize.session_id or fwd.new_session.script_run_id)
                    elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                        error |= fwd.delta.new_element.WhichOneof("type") == "exception"
                    elif kind == "script_finished":
                        if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                            continue
                        break
                results.append((page or "data_model", time.perf_counter() - t, error))


async def _crowd(port: int, visitors: int, rounds: int, timeout: float, think: float) -> tuple[list, set]:
    results: list = []
    sessions: set = set()
    await asyncio.wait_for(
        asyncio.gather(*[_visit(port, rounds, results, sessions, think, k) for k in range(visitors)]), timeout=timeout
    )
    return results, sessions


def _train_load() -> subprocess.Popen:
    """A training loop on the digits in another process (both cores), like a run on the Train page."""
    code = (
        "import numpy as np\n"
        "from explorer.data.digits import load_digits\n"
        "from explorer.training.config import TrainConfig\n"
        "from explorer.training.setup import split_identities, spec_from_scratch, prepare, with_provenance\n"
        "from explorer.training.trainer import Trainer\n"
        "ds = load_digits()\n"
        "tr, va = split_identities(ds.labels)\n"
        "spec = with_provenance(spec_from_scratch(ds), ds, tr, va, fine_tuned=False)\n"
        "t = Trainer(TrainConfig(steps=10**6), prepare(ds, spec, tr, va), spec, None, threads=2)\n"
        "while True:\n    t.step()\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


def _summary(name: str, results: list) -> str:
    times = sorted(t for _, t, _ in results)
    if not times:
        return f"{name}: no reruns"
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]  # noqa: E731
    return (
        f"{name}: {len(times)} reruns, p50 {statistics.median(times):.2f} s, p95 {q(0.95):.2f} s, "
        f"max {times[-1]:.2f} s, errors {sum(e for *_, e in results)}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--think", type=float, default=3.0, help="seconds a visitor reads a page (0: hammer)")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache, open(Path(cache) / "server.log", "w+") as log:
        proc, port = _start_server(cache, log)
        trainer = None
        try:
            alone, _ = asyncio.run(_crowd(port, 1, args.rounds, args.timeout, 0.0))  # also warms the caches
            alone, _ = asyncio.run(_crowd(port, 1, args.rounds, args.timeout, 0.0))
            trainer = _train_load() if args.train else None
            peak = [0]

            async def watched():
                task = asyncio.create_task(_crowd(port, args.visitors, args.rounds, args.timeout, args.think))
                while not task.done():
                    peak[0] = max(peak[0], _rss(proc.pid))
                    await asyncio.sleep(0.5)
                return await task

            t = time.perf_counter()
            crowd, sessions = asyncio.run(watched())
            wall = time.perf_counter() - t
        finally:
            if trainer is not None:
                trainer.kill()
            proc.terminate()
            proc.wait(30)
        log.seek(0)
        lines = log.read().splitlines()
    deprecations = [line for line in lines if "deprecat" in line.lower() or "will be removed" in line]
    print(_summary("baseline, 1 visitor alone", alone))
    print(
        _summary(
            f"{args.visitors} visitors at once, {args.think:g} s reading each page"
            + (" + a training loop" if args.train else ""),
            crowd,
        )
    )
    for page in PAGES:
        print("   ", _summary(page or "data_model", [r for r in crowd if r[0] == (page or "data_model")]))
    print(
        f"distinct sessions {len(sessions)} of {args.visitors}; wall {wall:.1f} s; server peak RSS {peak[0] / 2**20:.0f} MB"
    )
    print(f"server log: {len(lines):,} lines, {len(deprecations):,} deprecation warnings")
    for line in deprecations[:5]:
        print("   ", line)


if __name__ == "__main__":
    main()
