"""The JSON spec stored beside (and inside) our safetensors checkpoints."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from explorer.errors import InputError

SPEC_FORMAT = "embedding-explorer/1"
MAX_INPUT_SIDE = 1024  # pixels a side of a model's input
MAX_VECTOR_DIM = 65_536
MAX_OUT_DIM = 8192
MAX_WIDTH = 4096  # channels or units of one layer
MAX_LAYERS = 16


@dataclass(frozen=True)
class InputSpec:
    """What an encoder expects.

    Images: resized to (height, width), converted to ``channels`` (1 grey or 3 RGB), scaled to
    [0, 1], then ``(x - mean) / std`` per channel. Vectors: ``dim`` floats, same normalisation.
    """

    kind: Literal["image", "vector"] = "image"
    height: int = 0
    width: int = 0
    channels: int = 1
    dim: int = 0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    def describe(self) -> str:
        if self.kind == "vector":
            return f"vector[{self.dim}]"
        return f"{self.channels}x{self.height}x{self.width}, mean {list(self.mean)}, std {list(self.std)}"


@dataclass(frozen=True)
class ModelSpec:
    """A built-in architecture, its parameters, its input, and what it was trained on."""

    architecture: str
    params: dict
    input: InputSpec
    out_dim: int
    normalize: bool = True  # L2-normalise outputs (embeddings on the unit sphere)
    info: dict = field(default_factory=dict)  # provenance: training data, seed, held-out metrics

    def to_json(self) -> str:
        d = asdict(self)
        d["format"] = SPEC_FORMAT
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelSpec:
        try:
            d = json.loads(text)
            if d.get("format") != SPEC_FORMAT:
                raise InputError(f"spec format {d.get('format')!r} is not {SPEC_FORMAT!r}")
            inp = d["input"]
            return check_spec(
                cls(
                    architecture=str(d["architecture"]),
                    params=dict(d["params"]),
                    input=InputSpec(
                        kind=inp["kind"],
                        height=int(inp.get("height", 0)),
                        width=int(inp.get("width", 0)),
                        channels=int(inp.get("channels", 1)),
                        dim=int(inp.get("dim", 0)),
                        mean=tuple(float(v) for v in inp.get("mean", (0.0,))),
                        std=tuple(float(v) for v in inp.get("std", (1.0,))),
                    ),
                    out_dim=int(d["out_dim"]),
                    normalize=bool(d.get("normalize", True)),
                    info=dict(d.get("info", {})),
                )
            )
        except InputError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            raise InputError(f"model spec JSON is invalid ({type(exc).__name__}: {exc})") from None


def _whole(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InputError(f"model spec: {what} must be a whole number, got {value!r}")
    if not lo <= int(value) <= hi:
        raise InputError(f"model spec: {what} must be between {lo:,} and {hi:,}, got {value!r}")
    return int(value)


def check_spec(spec: ModelSpec) -> ModelSpec:
    """Refuse a spec that cannot be built or would cost too much, before anything is built:
    input sizes, channels, widths, output size and the parameter count (estimated from the
    shapes alone). Returns the spec."""
    inp = spec.input
    if inp.kind == "image":
        _whole(inp.height, "input height", 1, MAX_INPUT_SIDE)
        _whole(inp.width, "input width", 1, MAX_INPUT_SIDE)
        if inp.channels not in (1, 3):
            raise InputError(f"model spec: input channels must be 1 (grey) or 3 (RGB), got {inp.channels!r}")
        n_in = inp.channels
        if len(inp.mean) not in (1, n_in) or len(inp.std) not in (1, n_in):
            raise InputError(f"model spec: mean and std need 1 or {n_in} values")
    elif inp.kind == "vector":
        n_in = _whole(inp.dim, "input dim", 1, MAX_VECTOR_DIM)
    else:
        raise InputError(f"model spec: input kind must be 'image' or 'vector', got {inp.kind!r}")
    if any(not v > 0 for v in inp.std):
        raise InputError("model spec: std values must be positive")
    out = _whole(spec.out_dim, "out_dim", 1, MAX_OUT_DIM)
    layers = spec.params.get("widths", spec.params.get("hidden", ()))
    if not isinstance(layers, list | tuple) or len(layers) > MAX_LAYERS:
        raise InputError(f"model spec: at most {MAX_LAYERS} layers, as a list of widths")
    widths = [_whole(v, "a layer width", 1, MAX_WIDTH) for v in layers]
    dims = [n_in, *widths, out]
    per = 9 if spec.architecture == "convnet" else 1  # 3 x 3 kernels
    count = sum(per * a * b + b for a, b in zip(dims[:-1], dims[1:], strict=True))
    from explorer import config

    limit = config.settings().max_model_params
    if count > limit:
        raise InputError(
            f"model spec: about {count:,} parameters, over the limit of {limit:,} (EXPLORER_MAX_MODEL_PARAMS)"
        )
    return spec
