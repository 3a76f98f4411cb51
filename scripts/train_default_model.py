"""Train the bundled default checkpoint: a small ConvNet on a seeded digits train split.

    .venv/bin/python scripts/train_default_model.py

Triplet loss with semi-hard mining (pytorch-metric-learning), m-per-class batches. Prints the
held-out P@1, MAP@R (PML's AccuracyCalculator) and ROC AUC over all held-out pairs (sklearn),
and writes explorer/assets/digits_convnet.safetensors (+ .json), reproducibly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from pytorch_metric_learning import distances, losses, miners, samplers
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN
from scipy.spatial.distance import pdist
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer import config  # noqa: E402
from explorer.data.digits import digits_images  # noqa: E402
from explorer.models.architectures import build_model  # noqa: E402
from explorer.models.checkpoints import save_safetensors  # noqa: E402
from explorer.models.spec import InputSpec, ModelSpec  # noqa: E402

SEED = 0
EPOCHS = 40


def main() -> None:
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    images, target = digits_images()
    idx_train, idx_test = train_test_split(np.arange(len(target)), test_size=0.3, random_state=SEED, stratify=target)
    x = images.astype(np.float32)[:, None] / 255.0
    mean, std = float(x[idx_train].mean()), float(x[idx_train].std())
    x = (x - mean) / std
    spec = ModelSpec(
        architecture="convnet",
        params={"in_channels": 1, "widths": [16, 32, 64]},
        input=InputSpec(kind="image", height=8, width=8, channels=1, mean=(round(mean, 4),), std=(round(std, 4),)),
        out_dim=32,
        normalize=True,
    )
    model = build_model(spec)
    xt, yt = torch.from_numpy(x[idx_train]), torch.from_numpy(target[idx_train])
    sampler = samplers.MPerClassSampler(yt, m=8, batch_size=80, length_before_new_iter=len(yt))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt, yt),
        batch_size=80,
        sampler=sampler,
        generator=torch.Generator().manual_seed(SEED),
    )
    loss_fn = losses.TripletMarginLoss(margin=0.2)
    miner = miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    for epoch in range(EPOCHS):
        model.train()
        total = 0.0
        for xb, yb in loader:
            emb = torch.nn.functional.normalize(model(xb), dim=1)
            loss = loss_fn(emb, yb, miner(emb, yb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        sched.step()
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: loss {total / len(loader):.4f}")
    model.eval()
    with torch.inference_mode():
        emb = torch.nn.functional.normalize(model(torch.from_numpy(x[idx_test])), dim=1).numpy()
    y = target[idx_test]
    acc = AccuracyCalculator(
        include=("precision_at_1", "mean_average_precision_at_r"),
        k="max_bin_count",
        knn_func=CustomKNN(distances.LpDistance()),
    )  # exact kNN, no faiss needed
    res = acc.get_accuracy(torch.from_numpy(emb), torch.from_numpy(y))  # query = reference set
    d = pdist(emb, "sqeuclidean")
    same = pdist(y[:, None], lambda a, b: float(a[0] == b[0])).astype(bool)
    auc = roc_auc_score(same, -d)
    metrics = {
        "precision_at_1": round(float(res["precision_at_1"]), 4),
        "map_at_r": round(float(res["mean_average_precision_at_r"]), 4),
        "roc_auc_sqeuclidean": round(float(auc), 4),
    }
    info = {
        "trained_on": "sklearn digits, stratified 70% train split (seed 0)",
        "held_out": f"{len(idx_test)} digits (30%)",
        "loss": "TripletMarginLoss(margin=0.2), semi-hard miner",
        "epochs": EPOCHS,
        "seed": SEED,
        "held_out_metrics": metrics,
    }
    spec = ModelSpec(spec.architecture, spec.params, spec.input, spec.out_dim, spec.normalize, info)
    path = save_safetensors(model, spec, config.DEFAULT_CHECKPOINT)
    print(
        f"held-out: P@1 {metrics['precision_at_1']:.4f}  MAP@R {metrics['map_at_r']:.4f}  "
        f"ROC AUC {metrics['roc_auc_sqeuclidean']:.4f}"
    )
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
