"""Embedding throughput on the AT&T faces: plain fp32 loop vs our fast path, in one run.

    .venv/bin/python benchmarks/bench_embedding.py [--repeats 3]

Model: the built-in ConvNet (widths 32-64-128, 128-d output) at the faces' native 112x92 grey,
seeded random weights (throughput does not depend on the weight values).
- baseline "plain fp32 loop": one image at a time, torch.no_grad, default memory format.
- fast path: ``embed_items`` with a TorchEncoder: batches, inference_mode, channels_last, thread
  count set on purpose, bf16 autocast only where the CPU has native bf16 and cosine >= 0.9999.
Both include preprocessing from decoded uint8 images. Prints images/s, the ratio and the
minimum cosine between the two outputs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer import config  # noqa: E402
from explorer.data.folders import load_directory  # noqa: E402
from explorer.models.architectures import build_model  # noqa: E402
from explorer.models.embedding import embed_items  # noqa: E402
from explorer.models.encoder import ModelInfo, TorchEncoder, bf16_supported  # noqa: E402
from explorer.models.spec import InputSpec, ModelSpec  # noqa: E402

FACES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "att_faces"
SPEC = ModelSpec(
    "convnet",
    {"in_channels": 1, "widths": [32, 64, 128]},
    InputSpec("image", 112, 92, 1, mean=(0.5,), std=(0.25,)),
    128,
)


def plain_loop(model, encoder, images) -> np.ndarray:
    out = []
    with torch.no_grad():
        for img in images:
            x = torch.from_numpy(encoder.preprocess([img]))
            out.append(model(x).numpy())
    v = np.concatenate(out)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def best_of(fn, repeats: int) -> tuple[float, np.ndarray]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the encoder's cache-sized batch")
    args = ap.parse_args()
    images = load_directory(FACES).items
    torch.manual_seed(0)
    plain_model = build_model(SPEC).eval()
    fast_model = build_model(SPEC).eval()
    fast_model.load_state_dict(plain_model.state_dict())
    info = ModelInfo("bench", "safetensors", "0", "server", {})
    enc = TorchEncoder(fast_model, SPEC.input, SPEC.out_dim, info, fast=True)
    plain_loop(plain_model, enc, images[:8])  # warm-up both paths
    embed_items(enc, images[:8])
    bs = args.batch_size or enc.batch_size
    t_plain, ref = best_of(lambda: plain_loop(plain_model, enc, images), args.repeats)
    t_fast, fast = best_of(lambda: embed_items(enc, images, batch_size=bs), args.repeats)
    t_big, _ = best_of(lambda: embed_items(enc, images, batch_size=128), args.repeats)
    cos = float((ref * fast).sum(1).min())
    n = len(images)
    print(
        f"AT&T faces: {n} images 112x92, ConvNet 32-64-128 -> 128-d, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, native bf16: {bf16_supported()}, fast-path precision: {enc.precision}"
    )
    print(f"plain fp32 loop (batch 1):   {n / t_plain:8.1f} images/s")
    print(f"fast path, batch 128:        {n / t_big:8.1f} images/s  (too large: activations leave the cache)")
    print(f"fast path (batch {bs}):       {n / t_fast:8.1f} images/s")
    print(f"speed-up: {t_plain / t_fast:.2f}x   min cosine to fp32: {cos:.6f}")
    if cos < config.BF16_MIN_COSINE:
        raise SystemExit("fast path disagrees with fp32")


if __name__ == "__main__":
    main()
