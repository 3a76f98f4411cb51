"""An uploaded ONNX graph runs in a child process, under a memory limit and a time limit.

A graph can hold an endless loop or allocate without bound, and onnxruntime cannot be told to
stop a run from another thread. So an uploaded graph is loaded and run in its own process
(started fresh, "spawn": nothing of the server's memory is shared with it), whose address space
is capped (``RLIMIT_AS``); each call waits at most ``timeout`` seconds, after which the process
is killed and the model refused. The process also ends with its owner (the encoder object, held
by the visitor's session) and with the server. What comes back is read as JSON and raw array
bytes, never unpickled (a graph that subverted the child could send anything). Hand-written:
onnxruntime has no out-of-process runner, and multiprocessing gives the isolation in ~120 lines.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import weakref
from dataclasses import dataclass

import numpy as np

from explorer.errors import InputError


@dataclass(frozen=True)
class _Input:
    name: str
    shape: list


def _send(conn, kind: str, *, message: str = "", array: np.ndarray | None = None, inputs=None) -> None:
    """One message as JSON (+ the array's raw bytes): nothing that needs unpickling."""
    head = {"kind": kind, "message": message, "inputs": inputs}
    if array is not None:
        array = np.ascontiguousarray(array, np.float32)
        head["shape"] = list(array.shape)
    conn.send_bytes(json.dumps(head).encode())
    if array is not None:
        conn.send_bytes(array.tobytes())


def _serve(conn, model: bytes, threads: int, memory: int) -> None:  # pragma: no cover - runs in the child
    try:
        import resource

        if memory > 0:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
        shapes = [[d if isinstance(d, int) else None for d in i.shape] for i in session.get_inputs()]
        _send(conn, "ready", inputs=[[i.name, s] for i, s in zip(session.get_inputs(), shapes, strict=True)])
    except BaseException as exc:  # noqa: BLE001 - whatever it is, the parent is told
        _send(conn, "error", message=f"{type(exc).__name__}: {str(exc)[:300]}")
        return
    while True:
        try:
            head = json.loads(conn.recv_bytes())
            batch = np.frombuffer(conn.recv_bytes(), np.float32).reshape(head["shape"])
        except (EOFError, OSError):
            return
        try:
            _send(conn, "ok", array=np.asarray(session.run(None, {head["name"]: batch})[0]))
        except BaseException as exc:  # noqa: BLE001 - a failed batch (MemoryError included) is reported
            _send(conn, "error", message=f"{type(exc).__name__}: {str(exc)[:300]}")


class SandboxedSession:
    """The part of ``onnxruntime.InferenceSession`` the encoder uses (``get_inputs``, ``run``),
    served by a child process. Raises InputError when the graph cannot load, fails, or runs
    over ``timeout`` seconds (the child is then killed and every later call refused)."""

    def __init__(self, model: bytes, *, threads: int, memory: int, timeout: float, load_timeout: float = 120.0):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, model, threads, memory), daemon=True)
        self._proc.start()
        child.close()
        self.timeout = timeout
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        head, _ = self._receive(load_timeout, "loading the graph")
        if head["kind"] != "ready":
            self.close()
            raise InputError(f"not a loadable ONNX model ({head['message']})")
        self._inputs = [_Input(str(n), list(s)) for n, s in head["inputs"]]

    def get_inputs(self) -> list[_Input]:
        return self._inputs

    def run(self, outputs, feeds: dict) -> list[np.ndarray]:
        del outputs  # the first output, always
        if not self._proc.is_alive():
            raise InputError("the ONNX model's process has ended (it ran out of time or memory earlier)")
        ((name, batch),) = feeds.items()
        batch = np.ascontiguousarray(batch, np.float32)
        self._conn.send_bytes(json.dumps({"name": name, "shape": list(batch.shape)}).encode())
        self._conn.send_bytes(batch.tobytes())
        head, out = self._receive(self.timeout, "one batch")
        if head["kind"] != "ok":
            raise InputError(f"the ONNX model failed: {head['message']}")
        return [out]

    def _receive(self, timeout: float, what: str):
        if not self._conn.poll(timeout):
            self.close()
            raise InputError(
                f"the ONNX model took over {timeout:g} s for {what} and was stopped (EXPLORER_ONNX_TIMEOUT_S)"
            )
        try:
            head = json.loads(self._conn.recv_bytes(1 << 20))
            out = None
            if "shape" in head:
                shape = [int(d) for d in head["shape"]]
                out = np.frombuffer(self._conn.recv_bytes(), np.float32).reshape(shape)
            return head, out
        except (EOFError, OSError, ValueError):
            self.close()
            raise InputError(
                f"the ONNX model's process ended during {what}: most likely over its memory limit "
                "(EXPLORER_ONNX_MEMORY_BYTES)"
            ) from None

    def close(self) -> None:
        self._finalizer()


def _kill(proc) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join(5)
