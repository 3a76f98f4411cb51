"""Encoders: preprocessing from an InputSpec, then a torch or ONNX forward pass.

The torch path is the fast one: cache-sized batches under ``torch.inference_mode``, conv+BN folded,
channels_last for conv nets, and bf16 autocast only where the CPU has native bf16 and the first batch agrees with fp32
to a cosine of at least ``config.BF16_MIN_COSINE`` (else it stays fp32).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

from explorer import config
from explorer.data.images import resize, to_channels
from explorer.device import torch_device
from explorer.errors import InputError, ModelOutputError
from explorer.models.spec import InputSpec


@dataclass(frozen=True)
class ModelInfo:
    name: str
    format: str  # "safetensors", "state_dict", "onnx", "torchscript"
    checkpoint_hash: str
    origin: str  # "bundled", "server", "upload"
    info: dict


DEFAULT_DISTANCE = "sqeuclidean"


class Encoder:
    """Maps items (images or vectors) to (N, out_dim) float32 embeddings."""

    def __init__(self, input_spec: InputSpec, out_dim: int, model_info: ModelInfo, *, normalize: bool = True):
        self.input_spec = input_spec
        self.out_dim = out_dim
        self.model_info = model_info
        self.normalize = normalize

    @property
    def distance(self) -> str:
        """The distance this model's scores are read in (its card's "distance"; a model that does
        not say: squared euclidean, the pages' historic first choice): the pages' default."""
        return str(self.model_info.info.get("distance") or DEFAULT_DISTANCE)

    # -- preprocessing --------------------------------------------------------------------------
    def preprocess(self, items) -> np.ndarray:
        """Items -> float32 batch: (B, C, H, W) for images, (B, D) for vectors."""
        s = self.input_spec
        mean = np.asarray(s.mean, dtype=np.float32)
        std = np.asarray(s.std, dtype=np.float32)
        if s.kind == "vector":
            x = np.asarray(items, dtype=np.float32)
            if x.ndim != 2 or x.shape[1] != s.dim:
                raise InputError(f"model expects vectors of length {s.dim}, data has shape {x.shape}")
            return (x - mean) / std
        if isinstance(items, np.ndarray) and items.ndim == 2:
            raise InputError("this model takes images, but the data are vectors")
        batch = np.stack([to_channels(resize(img, s.height, s.width), s.channels) for img in items])
        x = batch.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return (x - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)

    @property
    def batch_size(self) -> int:
        """Batch size that keeps a batch's activations cache-sized.

        Measured on the AT&T faces (benchmarks/bench_embedding.py): at 112x92 a batch of 16 runs
        ~2x faster than 128, whose first feature maps (~170 MB) fall out of cache; 8x8 digits
        want 512. So: about 256k input pixels per batch, a power of two in [1, 512].
        """
        s = self.input_spec
        if s.kind == "vector":
            return 1024
        target = (1 << 18) // max(s.height * s.width, 1)
        return int(min(512, max(1, 1 << max(target.bit_length() - 1, 0))))

    def preprocessing_key(self) -> str:
        return f"{self.input_spec.describe()}|normalize={self.normalize}"

    def prepare(self, dataset, *, progress=None, store=None):
        """The dataset this encoder embeds: the data as they are (a face descriptor first cuts face
        chips from photos, into ``store`` when given: a cache fit for the data's privacy)."""
        return dataset

    def acquire_item(self, image):
        """What this encoder embeds of one decoded image, or why nothing (a failure to acquire,
        as a string): the image itself here; a face descriptor's aligned chip. What ``prepare``
        does to a whole set, item by item (for jobs that never hold the set)."""
        return image

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, batch: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, items) -> np.ndarray:
        """Preprocess, run and check one batch; returns (B, out_dim) float32."""
        x = self.preprocess(items)
        out = self.forward(x)
        return self._check(out, len(x))

    def _check(self, out: np.ndarray, n: int) -> np.ndarray:
        out = np.asarray(out)
        if out.ndim != 2 or out.shape[0] != n or out.shape[1] < 1:
            raise ModelOutputError(
                f"model output has shape {out.shape}; expected ({n}, D), one vector per item, D >= 1"
            )
        if not np.isfinite(out).all():
            bad = int((~np.isfinite(out).all(axis=1)).sum())
            raise ModelOutputError(f"model output holds NaN or inf for {bad} of {n} items in a batch")
        out = out.astype(np.float32, copy=False)
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.maximum(norms, 1e-12)
        return out


def bf16_supported() -> bool:
    """Native bf16 matmul/conv on this CPU (AVX512-BF16 or AMX); emulated bf16 is slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def fuse_conv_bn(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` with every Conv2d -> BatchNorm2d pair inside a Sequential folded into one
    conv (torch's own ``fuse_conv_bn_eval``): the same function in eval mode, one memory pass less."""
    if not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) or isinstance(
        model, torch.jit.ScriptModule
    ):
        return model
    model = copy.deepcopy(model).eval()
    for seq in [m for m in model.modules() if isinstance(m, torch.nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], torch.nn.Conv2d) and isinstance(seq[i + 1], torch.nn.BatchNorm2d):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = torch.nn.Identity()
    return model


class TorchEncoder(Encoder):
    """A torch module (built-in architecture or trusted TorchScript)."""

    def __init__(
        self,
        model: torch.nn.Module,
        input_spec: InputSpec,
        out_dim: int,
        model_info: ModelInfo,
        *,
        normalize: bool = True,
        fast: bool = True,
        threads: int | None = None,
    ):
        super().__init__(input_spec, out_dim, model_info, normalize=normalize)
        self.device = torch_device()  # EXPLORER_DEVICE: the batches go there, the results come back as numpy
        self.model = (fuse_conv_bn(model.eval()) if fast else model.eval()).to(self.device)
        self.threads = threads or config.settings().threads
        self.channels_last = fast and input_spec.kind == "image"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.precision = "fp32"  # becomes "bf16" after a passing calibration
        # bf16 only when the operator asks for it (it moves distances by up to ~1e-2, and a threshold
        # card must hold for the fp32 model) and the CPU has it natively
        self.bf16_allowed = fast and config.settings().bf16 and self.device.type == "cpu" and bf16_supported()
        self._calibrated = not self.bf16_allowed
        self.spec = None  # ModelSpec and unfused module of a built-in architecture (training starts from them)
        self.source: torch.nn.Module | None = None

    def to_device(self, device: torch.device) -> None:
        """Run on ``device`` from now on (an encoder unpickled where another device is seen)."""
        self.device = device
        self.model = self.model.to(device)
        self.bf16_allowed = self.bf16_allowed and device.type == "cpu"

    def __getstate__(self) -> dict:
        """Pickled for another process (a Ray actor): on the CPU; ``to_device`` moves it there."""
        state = dict(self.__dict__)
        if self.device.type != "cpu":
            state["model"], state["device"] = copy.deepcopy(self.model).cpu(), torch.device("cpu")
        return state

    def _run(self, x: torch.Tensor, bf16: bool) -> np.ndarray:
        try:
            with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
                out = self.model(x.to(self.device))
        except RuntimeError as exc:  # e.g. a TorchScript model whose input does not fit its spec
            raise ModelOutputError(f"the model failed on a batch of shape {tuple(x.shape)}: {str(exc)[:300]}") from None
        if not isinstance(out, torch.Tensor):
            raise ModelOutputError(f"the model returned {type(out).__name__}, not one tensor of embeddings")
        return out.float().cpu().numpy()

    def forward(self, batch: np.ndarray) -> np.ndarray:
        torch.set_num_threads(self.threads)  # set on purpose: the machine is small and shared
        x = torch.from_numpy(np.ascontiguousarray(batch))
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if not self._calibrated:
            ref = self._run(x, False)
            self._calibrated = True
            if ref.ndim != 2 or len(ref) != len(x):
                return ref  # not embeddings: encode() says what is wrong with them
            low = self._run(x, True)
            cos = (ref * low).sum(1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(low, axis=1), 1e-12)
            self.precision = "bf16" if np.nanmin(cos) >= config.BF16_MIN_COSINE else "fp32"
            return low if self.precision == "bf16" else ref  # every batch in one precision
        return self._run(x, self.precision == "bf16")

    def preprocessing_key(self) -> str:  # bf16 embeddings are not fp32 ones: they are cached apart
        return super().preprocessing_key() + ("|bf16-allowed" if self.bf16_allowed else "")


class OnnxEncoder(Encoder):
    """An ONNX graph run by onnxruntime (any architecture)."""

    def __init__(self, session, input_spec: InputSpec, out_dim: int, model_info: ModelInfo, *, normalize: bool = True):
        super().__init__(input_spec, out_dim, model_info, normalize=normalize)
        self.session = session
        self.input_name = session.get_inputs()[0].name

    def forward(self, batch: np.ndarray) -> np.ndarray:
        try:
            return self.session.run(None, {self.input_name: batch.astype(np.float32)})[0]
        except InputError:  # the sandbox's own words (time or memory limit)
            raise
        except Exception as exc:  # onnxruntime raises its own untyped errors  # noqa: BLE001
            raise ModelOutputError(f"the ONNX model failed on a batch of shape {batch.shape}: {exc}") from None


class StackedEncoder(Encoder):
    """A head on a frozen base: the base's descriptors, then the head (an Encoder of vectors) on
    them. What a head trained on a face descriptor's vectors embeds photos with."""

    def __init__(self, base: Encoder, head: Encoder):
        info = head.model_info
        name = f"{info.name} on {base.model_info.name}"
        digest = f"{base.model_info.checkpoint_hash[:32]}{info.checkpoint_hash[:32]}"
        super().__init__(base.input_spec, head.out_dim, ModelInfo(name, info.format, digest, info.origin, info.info),
                         normalize=head.normalize)  # fmt: skip
        self.base, self.head = base, head

    def prepare(self, dataset, *, progress=None, store=None):
        return self.base.prepare(dataset, progress=progress, store=store)

    def acquire_item(self, image):
        return self.base.acquire_item(image)

    @property
    def batch_size(self) -> int:
        return self.base.batch_size

    def encode(self, items) -> np.ndarray:
        """The base's checked descriptors, then the head's checked embeddings of them."""
        return self.head.encode(self.base.encode(items))

    def preprocessing_key(self) -> str:
        return f"{self.base.preprocessing_key()}|head: {self.head.preprocessing_key()}"
