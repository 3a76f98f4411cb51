"""The JSON spec stored beside (and inside) our safetensors checkpoints."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from explorer.errors import InputError

SPEC_FORMAT = "embedding-explorer/1"


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
            return cls(
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
        except InputError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"model spec JSON is invalid ({type(exc).__name__}: {exc})") from None
