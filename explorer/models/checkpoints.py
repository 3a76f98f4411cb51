"""Checkpoint formats -> Encoder. Nothing uploaded is ever unpickled.

- safetensors + spec (preferred; the spec may ride inside the file's metadata)
- PyTorch state_dict for a built-in architecture (``torch.load(..., weights_only=True)``)
- ONNX via onnxruntime (input spec read from the graph where it can be)
- TorchScript: only from the server's disk, or uploads when the operator enables it
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from explorer import config
from explorer.errors import InputError, UnsafeInputError
from explorer.fileio import atomic_write_bytes, sha256_bytes, user_path
from explorer.models.architectures import build_model
from explorer.models.encoder import Encoder, ModelInfo, OnnxEncoder, TorchEncoder
from explorer.models.spec import InputSpec, ModelSpec

SPEC_KEY = "explorer_spec"
TORCHSCRIPT_SUFFIXES = (".ts", ".torchscript", ".jit")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


def save_safetensors(model: torch.nn.Module, spec: ModelSpec, path: str | Path) -> Path:
    """Write weights + spec (in the metadata) and a readable ``.json`` copy, atomically."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    path = Path(path)
    atomic_write_bytes(path, st_save(state, metadata={SPEC_KEY: spec.to_json()}))
    atomic_write_bytes(path.with_suffix(".json"), spec.to_json().encode())
    return path


def safetensors_metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors blob.

    The safetensors package reads metadata only from files (safe_open); its documented layout
    (8-byte little-endian header length, then a JSON header) lets us read it from memory.
    """
    if len(data) < 8:
        raise InputError("not a safetensors file (too short)")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise InputError("not a safetensors file (bad header length)")
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("not a safetensors file (header is not JSON)") from None
    return header.get("__metadata__") or {}


def _load_weights(model: torch.nn.Module, state: dict, spec: ModelSpec) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs spec {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append("shapes differ (" + "; ".join(wrong[:4]) + ")")
        if missing:
            parts.append(f"missing tensors {missing[:4]}")
        if unexpected:
            parts.append(f"unexpected tensors {unexpected[:4]}")
        raise InputError(f"weights do not match the {spec.architecture} spec: " + ", ".join(parts))
    model.load_state_dict(state, strict=True)


def _torch_encoder(model, spec: ModelSpec, name: str, fmt: str, digest: str, origin: str) -> TorchEncoder:
    info = ModelInfo(name=name, format=fmt, checkpoint_hash=digest, origin=origin, info=spec.info)
    enc = TorchEncoder(model, spec.input, spec.out_dim, info, normalize=spec.normalize)
    if fmt != "torchscript":  # a built-in architecture: training can start from it (unfused weights)
        enc.spec, enc.source = spec, model
    return enc


def _resolve_spec(spec_json: bytes | str | None, embedded: str | None, filename: str) -> ModelSpec:
    text = spec_json if spec_json is not None else embedded
    if text is None:
        raise InputError(f"{filename}: no model spec; upload the .json spec written beside the checkpoint")
    return ModelSpec.from_json(text)


def load_checkpoint(
    data: bytes,
    filename: str,
    *,
    spec_json: bytes | str | None = None,
    origin: str = "upload",
    allow_torchscript: bool | None = None,
) -> Encoder:
    """Turn checkpoint bytes into an Encoder, choosing the format by extension.

    ``allow_torchscript`` defaults to True for the server's own files and to the operator
    setting for uploads. Raises ``InputError`` / ``UnsafeInputError`` with the reason.
    """
    lower = filename.lower()
    digest = sha256_bytes(data)
    if allow_torchscript is None:
        allow_torchscript = origin != "upload" or config.settings().allow_torchscript_upload
    if lower.endswith(".safetensors"):
        spec = _resolve_spec(spec_json, safetensors_metadata(data).get(SPEC_KEY), filename)
        try:
            state = st_load(data)
        except (SafetensorError, ValueError, RuntimeError) as exc:
            raise InputError(f"{filename}: damaged safetensors file ({exc})") from None
        model = build_model(spec)
        _load_weights(model, state, spec)
        return _torch_encoder(model, spec, filename, "safetensors", digest, origin)
    if lower.endswith(".onnx"):
        return load_onnx(data, filename, spec_json=spec_json, origin=origin)
    if lower.endswith(TORCHSCRIPT_SUFFIXES) or (lower.endswith((".pt", ".pth")) and _is_torchscript(data)):
        if not allow_torchscript:
            raise UnsafeInputError(
                f"{filename}: TorchScript runs code, so it is only loaded from the server's disk or when the "
                "operator sets EXPLORER_ALLOW_TORCHSCRIPT_UPLOAD=1; export safetensors or ONNX instead"
            )
        spec = _resolve_spec(spec_json, None, filename)
        model = torch.jit.load(io.BytesIO(data), map_location="cpu")
        return _torch_encoder(model, spec, filename, "torchscript", digest, origin)
    if lower.endswith((".pt", ".pth", ".bin", ".ckpt")):
        spec = _resolve_spec(spec_json, None, filename)
        state = load_state_dict(data, filename)
        model = build_model(spec)
        _load_weights(model, state, spec)
        return _torch_encoder(model, spec, filename, "state_dict", digest, origin)
    if lower.endswith(PICKLE_SUFFIXES):
        raise UnsafeInputError(f"{filename}: pickle files are refused (they run code when opened)")
    raise InputError(f"{filename}: unknown checkpoint format; use .safetensors (+ .json), .pt state_dict, or .onnx")


def _is_torchscript(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(n.endswith("constants.pkl") or "/code/" in n for n in zf.namelist())
    except zipfile.BadZipFile:
        return False


def load_state_dict(data: bytes, filename: str) -> dict[str, torch.Tensor]:
    """A state_dict via ``torch.load(weights_only=True)``: anything beyond tensors is refused."""
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError/RuntimeError/etc. for refused content  # noqa: BLE001
        raise UnsafeInputError(
            f"{filename}: refused: it is not a plain tensor state_dict, and arbitrary Python objects are "
            f"never unpickled ({type(exc).__name__})"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"{filename}: expected a state_dict (a dict of tensors)")
    return obj


def load_onnx(data: bytes, filename: str, *, spec_json=None, origin: str = "upload") -> OnnxEncoder:
    """An ONNX model; the input spec comes from the graph (N, C, H, W) or (N, D) where fixed."""
    import onnxruntime as ort  # heavy import, only when an ONNX model is used

    cfg = config.settings()
    if origin == "upload":  # a visitor's graph runs in its own process, under time and memory limits
        from explorer.models.sandbox import SandboxedSession

        try:
            session = SandboxedSession(
                data, threads=cfg.threads, memory=cfg.onnx_memory_bytes, timeout=cfg.onnx_timeout_s
            )
        except InputError as exc:
            raise InputError(f"{filename}: {exc}") from None
    else:
        try:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = cfg.threads
            session = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors are untyped
            raise InputError(f"{filename}: not a loadable ONNX model ({str(exc)[:200]})") from None
    if spec_json is not None:
        spec = ModelSpec.from_json(spec_json)
        inp, out_dim, normalize, info = spec.input, spec.out_dim, spec.normalize, spec.info
    else:
        inp = onnx_input_spec(session, filename)
        out_dim, normalize, info = 0, True, {}
    digest = sha256_bytes(data)
    enc = OnnxEncoder(session, inp, out_dim, ModelInfo(filename, "onnx", digest, origin, info), normalize=normalize)
    if not enc.out_dim:  # read D by running one zero input
        probe = np.zeros((1, inp.channels, inp.height, inp.width) if inp.kind == "image" else (1, inp.dim), np.float32)
        enc.out_dim = int(enc._check(enc.forward(probe), 1).shape[1])
    return enc


def onnx_input_spec(session, filename: str) -> InputSpec:
    shape = session.get_inputs()[0].shape
    dims = [d if isinstance(d, int) else None for d in shape]
    if len(dims) == 4 and all(dims[1:]):
        c, h, w = dims[1:]
        return InputSpec(kind="image", channels=c, height=h, width=w, mean=(0.0,) * c, std=(1.0,) * c)
    if len(dims) == 2 and dims[1]:
        return InputSpec(kind="vector", dim=dims[1])
    raise InputError(
        f"{filename}: the graph's input shape {shape} is not fixed (N, C, H, W) or (N, D); upload a spec JSON"
    )


def load_default_encoder() -> Encoder:
    """The bundled ConvNet trained on digits (see scripts/train_default_model.py)."""
    path = config.DEFAULT_CHECKPOINT
    return load_checkpoint(path.read_bytes(), path.name, origin="bundled")


def load_server_checkpoint(path: str | Path, *, allowed_roots: list[Path] | None = None) -> Encoder:
    """A checkpoint from the server's disk; a ``.json`` spec beside it is used when present."""
    path, shown = user_path(path)  # a symlink loop or a 5,000-character name is an InputError too
    if allowed_roots is not None and not any(r == path or r in path.parents for r in allowed_roots):
        raise UnsafeInputError(f"{shown} is outside the folders this server allows")
    if not path.is_file():
        raise InputError(f"{shown} is not a file")
    spec_path = path.with_suffix(".json")
    spec = spec_path.read_bytes() if spec_path.is_file() and path.suffix != ".json" else None
    return load_checkpoint(path.read_bytes(), path.name, spec_json=spec, origin="server")
