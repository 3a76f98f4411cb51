"""dlib's face descriptor in torch: its weights converted once from the installed model file into
the cache (safetensors with its spec, like every checkpoint here, keyed by the file's sha256),
then loaded; one module per process.

Exact to dlib's own call (max |difference| per component about 5e-7 on real faces; the tests
hold 1e-4), several times faster on a CPU, and a torch module: it runs where torch runs and can
be trained.
"""

from __future__ import annotations

import json
import threading
from functools import cache

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as st_save

from explorer import config
from explorer.device import torch_device
from explorer.faces import models
from explorer.fileio import atomic_write_bytes
from explorer.models.checkpoints import SPEC_KEY
from explorer.models.dlib_format import read_layers
from explorer.models.dlib_resnet import DlibResNet, chips_tensor, descriptor_spec, from_dlib

FORMAT = "dlib-resnet-v2"  # v2: the ModelSpec in the metadata
# chips per forward pass; measured here (128 AT&T chips, 2 threads): 4: 293 faces/s, 8: 354,
# 16: 394, 32: 363, 64: 333 (the first feature maps of a larger batch fall out of cache)
BATCH = 16
_LOCK = threading.Lock()


class Descriptor:
    """The converted network and the input means it was trained with."""

    def __init__(self, net: DlibResNet, mean_rgb: tuple[float, float, float], sha256: str):
        self.device = torch_device()  # EXPLORER_DEVICE
        self.net = net.eval().to(self.device)
        self.mean_rgb = mean_rgb
        self.sha256 = sha256  # of dlib's file the weights came from

    def __call__(self, chips: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """(n, 150, 150, 3) uint8 aligned RGB chips -> (n, 128) float32 descriptors."""
        if not len(chips):
            return np.zeros((0, 128), np.float32)
        torch.set_num_threads(threads or config.settings().threads)
        out = []
        with torch.inference_mode():
            for k in range(0, len(chips), BATCH):
                x = chips_tensor(chips[k : k + BATCH], self.mean_rgb).to(self.device)
                out.append(self.net(x.contiguous(memory_format=torch.channels_last)).float().cpu().numpy())
        return np.concatenate(out)


def converted_path(sha256: str):
    return config.settings().cache_dir / "faces" / f"{FORMAT}-{sha256[:16]}.safetensors"


def convert(sha256: str) -> bytes:
    """dlib's file as safetensors: the module's state and, in the metadata, what it is."""
    layers = read_layers(models.model_path("descriptor").read_bytes())
    net = from_dlib(layers)
    spec = descriptor_spec(layers.mean_rgb, "faces", info={"converted_from": models.FILES["descriptor"],
                                                          "source_sha256": sha256})  # fmt: skip
    meta = {"format": FORMAT, "source_sha256": sha256, "mean_rgb": json.dumps(list(layers.mean_rgb)),
            SPEC_KEY: spec.to_json()}  # fmt: skip
    return st_save({k: v.contiguous() for k, v in net.state_dict().items()}, metadata=meta)


@cache
def descriptor() -> Descriptor:
    """The torch descriptor, from the cache (converted there at first use)."""
    sha = models.file_hash("descriptor")
    path = converted_path(sha)
    with _LOCK:
        if not path.is_file():
            atomic_write_bytes(path, convert(sha))
        net = DlibResNet()
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
            if meta.get("source_sha256") != sha:
                raise ValueError(f"{path} was converted from another dlib file")
            net.load_state_dict({k: f.get_tensor(k) for k in f.keys()})  # noqa: SIM118 - safe_open is no dict
    net = net.to(memory_format=torch.channels_last)
    return Descriptor(net, tuple(json.loads(meta["mean_rgb"])), sha)
