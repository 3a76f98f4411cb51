"""One training run's model, data and step: P x K batches, a loss, a miner, open-set validation.

The trainer is plain Python (no threads, no Streamlit): ``step()`` trains one batch and returns
its numbers, ``validate()`` embeds the held-out identities and measures them. ``jobs.Run`` drives
it in a background thread and writes checkpoints.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_metric_learning import samplers
from pytorch_metric_learning.utils import common_functions as pml_common
from scipy.spatial.distance import pdist
from torch.optim.swa_utils import AveragedModel

from explorer.analysis.retrieval import ranked_metrics, retrieval_metrics
from explorer.analysis.thresholds import kfold_accuracy
from explorer.analysis.verification import fast_figures
from explorer.models.architectures import build_model, stripe_views
from explorer.models.encoder import Encoder, ModelInfo
from explorer.models.spec import InputSpec, ModelSpec
from explorer.training.augment import augment
from explorer.training.losses import (
    LOSSES,
    PROXY_LR_FACTOR,
    SiameseHead,
    all_pairs,
    contrastive_loss,
    distance,
    proxy_anchor_loss,
    triplet_loss,
    triplets_to_pairs,
)
from explorer.training.miners import MINERS, HnswMiner, in_batch_miner

SCHEDULES = ("constant", "cosine")
_SAMPLER_LOCK = threading.Lock()
VALIDATION_LIMIT = 2000  # held-out items embedded at each validation (a seeded sample beyond)


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "triplet"  # triplet | contrastive | siamese | proxy-anchor
    miner: str = "hnsw"  # hnsw | hnsw-batches | semihard | hard | batch-hard (proxy-anchor uses none)
    margin: float = 0.2  # proxy-anchor: on cosine similarity (0.1 in its paper)
    squared: bool = False  # triplet / contrastive on squared distances
    lr: float = 1e-3
    schedule: str = "constant"  # constant | cosine (the learning rate falls to 0 at the last step)
    P: int = 8  # identities per batch
    K: int = 4  # items per identity
    steps: int = 300
    augment: bool = True
    # random erasing: the share of augmented images that get a rectangle of noise. Measured on AT&T faces
    # (README, training benchmark): Proxy-Anchor +0.010 ROC AUC at 5 min (4 seeds with the learned
    # alignment, 2 without), triplet runs mostly worse (down to -0.019); so it is off unless asked for
    erase: float = 0.0
    # augmentation's zoom: each training image scaled by 1 +- up to this fraction (with augment)
    zoom: float = 0.1
    # an exponential moving average of the weights (decay per step; 0: off) is what validation,
    # checkpoints and "Use this model" get; training goes on with the raw weights. Measured on AT&T
    # faces (README, training benchmark): with Proxy-Anchor it stops the drift after the loss reaches 0
    ema: float = 0.0
    hnsw_mode: str = "semihard"  # hard | semihard
    hnsw_k: int = 32
    hnsw_ef: int = 64
    refresh_every: int = 50  # steps between index rebuilds
    validate_every: int = 25
    checkpoint_every: int = 100
    snapshot_every: int = 100  # validation map snapshots
    seed: int = 0

    def check(self) -> TrainConfig:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}")
        if self.miner not in MINERS:
            raise ValueError(f"miner must be one of {', '.join(MINERS)}")
        if self.P < 2 or self.K < 2:
            raise ValueError("a batch needs at least 2 identities (P) of at least 2 items (K)")
        if self.steps < 1 or self.margin <= 0 or self.lr <= 0:
            raise ValueError("steps, margin and learning rate must be positive")
        if not 0 <= self.erase <= 1:
            raise ValueError("erase is a probability: 0 to 1")
        if not 0 <= self.zoom < 1:
            raise ValueError("zoom is a fraction of the size: 0 (off) up to, not including, 1")
        if not 0 <= self.ema < 1:
            raise ValueError("ema is a decay per step: 0 (off) up to, not including, 1")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainData:
    """Preprocessed inputs (float32, as the model takes them) and integer labels, split by identity."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    classes: list[str] = field(default_factory=list)


def split_identities(
    labels: np.ndarray, *, val_fraction: float = 0.25, seed: int = 0, val_labels: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, validation): whole identities go to one side (open-set validation)."""
    labels = np.asarray(labels).astype(str)
    names = np.unique(labels)
    if val_labels is None:
        n_val = max(1, round(len(names) * val_fraction))
        val_labels = np.random.default_rng(seed).choice(names, n_val, replace=False).tolist()
    val = np.isin(labels, list(val_labels))
    if val.all() or not val.any():
        raise ValueError("training and validation each need at least one identity")
    return ~val, val


def input_spec_for(dataset, max_side: int = 48) -> InputSpec:
    """An input spec for training from scratch: grey or RGB as the images are, the longer side
    scaled to ``max_side``; vectors as they are."""
    if dataset.kind == "vector":
        return InputSpec(kind="vector", dim=int(np.asarray(dataset.items).shape[1]))
    img = dataset.items[0]
    h, w = img.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    return InputSpec(
        kind="image",
        height=max(4, round(h * scale)),
        width=max(4, round(w * scale)),
        channels=3 if img.ndim == 3 else 1,
        mean=(0.5,) * (3 if img.ndim == 3 else 1),
        std=(0.25,) * (3 if img.ndim == 3 else 1),
    )


ALIGN_MIN_SIDE = 24  # images at least this large get the learned alignment (8 x 8 digits do not)
STRIPES = 4  # stripe embeddings: horizontal stripes of the feature map (brow, eyes, nose, mouth on a face)
STRIPES_MIN_HEIGHT = 24  # images at least this high (a feature map of 6 rows) can have them


def scratch_options(dataset, max_side: int = 48) -> dict[str, str | None]:
    """Which of the from-scratch options (``align``, ``stripes``) ``spec_from_scratch`` can apply to a
    dataset: None where it can, else the reason it cannot, in words."""
    inp = input_spec_for(dataset, max_side)
    if inp.kind == "vector":
        why = "these items are vectors (the built-in model for them is an MLP)"
        return {"align": why, "stripes": why}
    size = f"these images train at {inp.width} x {inp.height} px"
    return {
        "align": None
        if min(inp.height, inp.width) >= ALIGN_MIN_SIDE
        else f"needs images of at least {ALIGN_MIN_SIDE} px on each side; {size}",
        "stripes": None
        if inp.height >= STRIPES_MIN_HEIGHT
        else f"needs images at least {STRIPES_MIN_HEIGHT} px high; {size}",
    }


def spec_from_scratch(
    dataset, *, out_dim: int = 64, max_side: int = 48, align: bool = False, stripes: bool = False
) -> ModelSpec:
    """The built-in architecture for a dataset: an MLP for vectors; for images the ConvNet, with a
    learned alignment (spatial transformer) in front when ``align`` and the images are large enough,
    and with ``stripes``, STRIPES stripe embeddings of ``out_dim`` dimensions each (PCB) on images
    at least STRIPES_MIN_HEIGHT high."""
    inp = input_spec_for(dataset, max_side)
    if inp.kind == "vector":
        return ModelSpec("mlp", {"in_dim": inp.dim, "hidden": [256]}, inp, out_dim)
    params = {"in_channels": inp.channels, "widths": [16, 32, 64]}
    cannot = scratch_options(dataset, max_side)
    if align and cannot["align"] is None:
        params["align"] = True
    if stripes and cannot["stripes"] is None:
        params["stripes"] = STRIPES
        out_dim *= STRIPES
    return ModelSpec("convnet", params, inp, out_dim)


def with_provenance(spec: ModelSpec, dataset, train: np.ndarray, val: np.ndarray, *, fine_tuned: bool) -> ModelSpec:
    """The spec with what its model learns from, carried by every checkpoint: ``training_data`` (name,
    items, content hash: the Train page compares it with the workspace) and ``trained_on`` in words (as
    the bundled model's; the threshold card repeats it), naming the model a fine-tuning run started from."""
    labels = np.asarray(dataset.labels)
    words = (
        f"{dataset.name}: {len(labels[train]):,} items of {len(np.unique(labels[train])):,} identities "
        f"({len(np.unique(labels[val])):,} identities held out for validation)"
    )
    if fine_tuned and spec.info.get("trained_on"):
        words += f"; fine-tuned from a model trained on {spec.info['trained_on']}"
    return replace(
        spec,
        info={
            **spec.info,
            "trained_on": words,
            "training_data": {"name": dataset.name, "items": len(labels), "data_hash": dataset.content_hash},
        },
    )


def prepare(dataset, spec: ModelSpec, train: np.ndarray, val: np.ndarray) -> TrainData:
    """Preprocess a dataset's items as the spec says (once: training reuses the arrays)."""
    pre = Encoder(spec.input, spec.out_dim, ModelInfo("prep", "none", "", "", {}))
    items = dataset.items
    x = pre.preprocess(items if dataset.kind == "vector" else list(items)).astype(np.float32)
    classes, y = np.unique(np.asarray(dataset.labels).astype(str), return_inverse=True)
    return TrainData(x[train], y[train].astype(np.int64), x[val], y[val].astype(np.int64), classes.tolist())


class Trainer:
    """Model, optimiser, sampler and miner of one run; ``state()`` / ``load_state()`` for checkpoints."""

    def __init__(
        self,
        cfg: TrainConfig,
        data: TrainData,
        spec: ModelSpec,
        model: torch.nn.Module | None = None,
        *,
        threads: int = 2,
    ):
        self.cfg, self.data, self.spec = cfg.check(), data, spec
        if len(np.unique(data.y_train)) < cfg.P:
            raise ValueError(f"P = {cfg.P} identities per batch, but training has {len(np.unique(data.y_train))}")
        torch.manual_seed(cfg.seed)
        self.threads = threads
        self.model = model if model is not None else build_model(spec)
        self.head = SiameseHead(spec.out_dim) if cfg.loss == "siamese" else None
        self.proxies = None
        groups = [
            {
                "params": list(self.model.parameters()) + (list(self.head.parameters()) if self.head else []),
                "lr_factor": 1.0,
            }
        ]
        # stripe embeddings (ConvNet ``stripes``): every loss is taken on each stripe and averaged
        self.stripes = int(getattr(self.model, "stripes", 1))
        if cfg.loss == "proxy-anchor":  # one proxy per training identity; labels renumbered 0 .. C - 1
            names = np.unique(data.y_train)

            def proxies():
                return proxy_anchor_loss(len(names), spec.out_dim // self.stripes, margin=cfg.margin)

            # a set of proxies per stripe (one module without stripes: the checkpoints' names stay)
            self.proxies = (
                torch.nn.ModuleList(proxies() for _ in range(self.stripes)) if self.stripes > 1 else proxies()
            )
            self._proxy_label = torch.full((int(names.max()) + 1,), -1, dtype=torch.long)
            self._proxy_label[torch.from_numpy(names)] = torch.arange(len(names))
            groups.append({"params": list(self.proxies.parameters()), "lr_factor": PROXY_LR_FACTOR})
        self.opt = torch.optim.Adam([{**g, "lr": cfg.lr * g["lr_factor"]} for g in groups], lr=cfg.lr)
        # torch's AveragedModel keeps the average (BatchNorm statistics included: use_buffers)
        self.average = (
            AveragedModel(self.model, avg_fn=ema_with_warmup(cfg.ema), use_buffers=True) if cfg.ema > 0 else None
        )
        self.step_no = 0
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.x = torch.from_numpy(data.x_train)
        self.y = torch.from_numpy(data.y_train)
        self.sampler = samplers.MPerClassSampler(
            data.y_train,
            m=cfg.K,
            batch_size=cfg.P * cfg.K,
            length_before_new_iter=max(len(data.y_train), cfg.P * cfg.K * 10),
        )
        self._batches = None
        self._index_hash = ""  # the index's snapshot, as a loaded checkpoint names it
        self._index_saved: tuple | None = None
        self.loss_fn = (
            triplet_loss(cfg.margin, squared=cfg.squared)
            if cfg.loss == "triplet"
            else contrastive_loss(cfg.margin, squared=cfg.squared)
            if cfg.loss == "contrastive"
            else None
        )
        # hnsw-batches: the index picks who shares a batch; semi-hard (or, hnsw_mode "hard", batch-hard)
        # mining inside it
        inside = (
            {"semihard": "semihard", "hard": "batch-hard"}[cfg.hnsw_mode] if cfg.miner == "hnsw-batches" else cfg.miner
        )
        mined = self.proxies is None  # proxy-anchor needs no miner: every item meets every proxy
        self.batch_miner = (
            in_batch_miner(inside, cfg.margin, distance(cfg.squared)) if mined and cfg.miner != "hnsw" else None
        )
        # its charts show PML's batch-hard triplets (each anchor's hardest positive and negative: O(B^2))
        self.chart_miner = None if mined else in_batch_miner("batch-hard", cfg.margin, distance(cfg.squared))
        self.hnsw = (
            HnswMiner(
                data.y_train,
                k=cfg.hnsw_k,
                mode=cfg.hnsw_mode,
                margin=cfg.margin,
                ef=cfg.hnsw_ef,
                threads=threads,
                random_state=cfg.seed,
            )
            if mined and cfg.miner.startswith("hnsw")
            else None
        )

    # -- helpers -----------------------------------------------------------------------------------
    def _embed_tensor(self, x: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
        e = (self.model if model is None else model)(x)
        return F.normalize(e, dim=1) if self.spec.normalize else e

    @property
    def usable_model(self) -> torch.nn.Module:
        """The model a run hands out and validates: the weights' moving average when ``ema``, else
        the trained weights themselves."""
        return self.average.module if self.average is not None and self.average.n_averaged > 0 else self.model

    def embed(self, x: np.ndarray, batch: int = 256, *, usable: bool = True) -> np.ndarray:
        """Embeddings of preprocessed inputs (eval mode, no gradients) by the usable model, or with
        ``usable=False`` by the weights being trained (what the miner's index holds)."""
        torch.set_num_threads(self.threads)
        model = self.usable_model if usable else self.model
        model.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(x), batch):
                out.append(self._embed_tensor(torch.from_numpy(np.ascontiguousarray(x[s : s + batch])), model).numpy())
        model.train()
        return np.concatenate(out) if out else np.zeros((0, self.spec.out_dim), np.float32)

    def _next_batch(self) -> np.ndarray:
        if self.hnsw is not None and self.cfg.miner == "hnsw-batches":
            return self.hnsw.compose_batch(self.cfg.P, self.cfg.K, np.random.default_rng([self.cfg.seed, self.step_no]))
        b = self.cfg.P * self.cfg.K
        per = len(self.sampler) // b  # batches in one pass of the sampler (a multiple of b)
        block, offset = divmod(self.step_no, per)
        if self._batches is None or self._batches[0] != block:
            self._batches = (block, self._sample_block(block).reshape(per, b))
        return self._batches[1][offset]

    def _sample_block(self, block: int) -> np.ndarray:
        """One pass of PML's MPerClassSampler (``per`` batches of P x K), drawn from a generator seeded
        by (seed, block): the same run draws the same batch at the same step, resumed or not. The
        sampler draws from PML's module-level ``NUMPY_RANDOM`` (numpy's global state unless replaced)
        and shuffles its own identity list in place, so both are set for the draw, under a lock (runs
        and tests share the module)."""
        with _SAMPLER_LOCK:
            saved = pml_common.NUMPY_RANDOM
            pml_common.NUMPY_RANDOM = np.random.RandomState([self.cfg.seed, block])
            try:
                self.sampler.labels = sorted(self.sampler.labels_to_indices)
                return np.fromiter(iter(self.sampler), np.int64)
            finally:
                pml_common.NUMPY_RANDOM = saved

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """A batch (or the mined negatives) as the run's augmentation settings warp it."""
        return augment(x, self.gen, scale=self.cfg.zoom, erase=self.cfg.erase)

    def refresh_index(self) -> None:
        self.hnsw.refresh(self.embed(self.data.x_train, usable=False), self.step_no, model_hash=self.model_hash())

    def model_hash(self) -> str:
        """sha256 of the model's weights (names, shapes, bytes): which snapshot embedded an index."""
        h = hashlib.sha256()
        for name, v in self.model.state_dict().items():
            h.update(f"{name}{tuple(v.shape)}{v.dtype}".encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    def save_index(self, folder) -> bool:
        """Write the miner's index (if it changed since the last save); False when there is none."""
        if self.hnsw is None or self.hnsw.index is None:
            return False
        if self._index_saved != (str(folder), self.hnsw.refreshed_at, self.hnsw.model_hash):
            self.hnsw.save(folder)
            self._index_saved = (str(folder), self.hnsw.refreshed_at, self.hnsw.model_hash)
        return True

    def restore_index(self, folder) -> str:
        """After ``load_state``: the index saved with that checkpoint, if its manifest matches."""
        if self.hnsw is None:
            return ""
        if not self._index_hash:
            self.hnsw.index = None
            return "index rebuilt (the checkpoint names none)"
        return self.hnsw.restore(folder, dim=self.spec.out_dim, model_hash=self._index_hash)

    # -- one step ----------------------------------------------------------------------------------
    def step(self) -> dict:
        torch.set_num_threads(self.threads)
        cfg = self.cfg
        if self.hnsw is not None and (
            self.hnsw.index is None or self.hnsw.staleness(self.step_no) >= cfg.refresh_every
        ):
            self.refresh_index()
        idx = self._next_batch()
        xb, yb = self.x[idx], self.y[idx]
        if cfg.augment:
            xb = self._augment(xb)
        self.model.train()
        emb = self._embed_tensor(xb)
        labels = yb
        duplicates = 0
        if self.chart_miner is not None:
            a, p, n = self.chart_miner(emb, yb)
        elif self.cfg.miner == "hnsw":
            a, p, n, extra, labels, duplicates = self._global_triplets(idx, emb, yb)
            if extra is not None:
                emb = torch.cat([emb, extra])
        else:
            a, p, n = self.batch_miner(emb, yb)
        triplets = (a, p, n)
        with torch.no_grad():
            d_ap = (emb[a] - emb[p]).norm(dim=1)
            d_an = (emb[a] - emb[n]).norm(dim=1)
            if cfg.squared:
                d_ap, d_an = d_ap**2, d_an**2
            active = float(((d_ap - d_an + cfg.margin) > 0).float().mean()) if len(a) else 0.0
        views = stripe_views(emb, self.stripes)  # each loss is taken on each stripe and averaged
        if self.proxies is not None:
            proxies = self.proxies if self.stripes > 1 else [self.proxies]
            loss = torch.stack([pa(v, self._proxy_label[yb]) for pa, v in zip(proxies, views, strict=True)]).mean()
        elif len(a) == 0:
            loss = emb.sum() * 0.0
        elif self.head is not None:  # every pair of the batch, and the mined negatives on top (whole embedding)
            a1, p1, a2, n2 = all_pairs(yb)
            loss = self.head.loss(emb, labels, (a1, p1, torch.cat([a2, a]), torch.cat([n2, n])))
        else:  # the triplets mined on the whole embedding, on each stripe
            tuples = triplets_to_pairs(triplets) if cfg.loss == "contrastive" else triplets
            loss = torch.stack([self.loss_fn(v, labels, indices_tuple=tuples) for v in views]).mean()
        self.opt.zero_grad()
        loss.backward()
        for group in self.opt.param_groups:
            group["lr"] = self.learning_rate() * group.get("lr_factor", 1.0)
        self.opt.step()
        if self.average is not None:
            self.average.update_parameters(self.model)
        self.step_no += 1
        out = {
            "step": self.step_no,
            "loss": float(loss.detach()),
            "active": active,
            "triplets": int(len(a)),
            "d_ap": float(d_ap.mean()) if len(a) else float("nan"),
            "d_an": float(d_an.mean()) if len(a) else float("nan"),
        }
        if self.hnsw is not None:
            out.update(
                staleness=self.hnsw.staleness(self.step_no),
                refreshes=self.hnsw.refreshes,
                duplicates=duplicates if cfg.miner == "hnsw" else len(self.hnsw.duplicates),
            )
        return out

    def learning_rate(self, step: int | None = None) -> float:
        """The rate at a step: constant, or cosine from lr to 0 over ``cfg.steps``."""
        s = self.step_no if step is None else step
        if self.cfg.schedule == "cosine":
            return 0.5 * self.cfg.lr * (1 + np.cos(np.pi * min(s, self.cfg.steps) / self.cfg.steps))
        return self.cfg.lr

    def _global_triplets(self, idx: np.ndarray, emb: torch.Tensor, yb: torch.Tensor):
        """Triplets whose negatives come from the HNSW index: one per anchor, against the anchor's
        hardest in-batch positive; the negatives are embedded by the current model (with gradients)."""
        with torch.no_grad():
            d = torch.cdist(emb, emb)
            same = (yb[:, None] == yb[None, :]) & ~torch.eye(len(yb), dtype=torch.bool)
            hardest_pos = torch.where(same, d, torch.full_like(d, -1.0)).max(dim=1).values
        mined = self.hnsw.mine(idx, emb.detach().numpy(), hardest_pos.numpy())
        ok = np.flatnonzero(mined.negatives >= 0)
        if len(ok) == 0:
            empty = torch.empty(0, dtype=torch.long)
            return empty, empty, empty, None, yb, len(mined.duplicates)
        negs = mined.negatives[ok]
        # a negative already in the batch is used where it is; the others are embedded once each
        # (several anchors often pick the same one), with gradients
        where = {int(item): pos for pos, item in enumerate(idx)}
        outside = np.unique(np.array([v for v in negs.tolist() if v not in where], np.int64))
        for j, item in enumerate(outside.tolist()):
            where[item] = len(idx) + j
        extra = None
        if len(outside):
            xn = self.x[outside]
            if self.cfg.augment:
                xn = self._augment(xn)
            extra = self._embed_tensor(xn)
        a, p, n = [], [], []
        same_np = same.numpy()
        for i, item in zip(ok.tolist(), negs.tolist(), strict=True):
            for q in np.flatnonzero(same_np[i]):
                a.append(i)
                p.append(q)
                n.append(where[item])
        labels = torch.cat([yb, self.y[outside]])
        t = lambda v: torch.as_tensor(v, dtype=torch.long)  # noqa: E731
        return t(a), t(p), t(n), extra, labels, len(mined.duplicates)

    # -- validation --------------------------------------------------------------------------------
    def validate(self) -> dict:
        """Open-set figures on the held-out identities: P@1, MAP@R, pair ROC AUC, EER, 10-fold
        verification accuracy, mean genuine and impostor distance and their gap."""
        x, y = self.data.x_val, self.data.y_val
        if len(x) > VALIDATION_LIMIT:
            keep = np.sort(np.random.default_rng(self.cfg.seed).choice(len(x), VALIDATION_LIMIT, replace=False))
            x, y = x[keep], y[keep]
        e = self.embed(x)
        if self.head is None:
            return {"step": self.step_no, **evaluate(e, y)}
        with torch.no_grad():  # a Siamese model is judged by its head: distance = -logit
            t = torch.from_numpy(e)
            logits = torch.stack([self.head(t[i : i + 1].expand(len(t), -1), t) for i in range(len(t))])
        return {"step": self.step_no, **evaluate_matrix(-logits.numpy().astype(np.float64), y)}

    # -- checkpoints -------------------------------------------------------------------------------
    def state(self) -> dict[str, torch.Tensor]:
        """Every tensor a resume needs: model, head, optimiser (flattened names)."""
        out = {f"model.{k}": v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.average is not None:
            out.update({f"average.{k}": v.detach().clone() for k, v in self.average.state_dict().items()})
        if self.head is not None:
            out.update({f"head.{k}": v.detach().clone() for k, v in self.head.state_dict().items()})
        if self.proxies is not None:
            out.update({f"proxies.{k}": v.detach().clone() for k, v in self.proxies.state_dict().items()})
        opt = self.opt.state_dict()
        for pid, st in opt["state"].items():
            for name, v in st.items():
                out[f"opt.{pid}.{name}"] = v.detach().clone() if torch.is_tensor(v) else torch.tensor(v)
        out["trainer.step"] = torch.tensor(self.step_no)
        if self.hnsw is not None and self.hnsw.index is not None and self.hnsw.model_hash:
            out["trainer.index_hash"] = torch.tensor(list(bytes.fromhex(self.hnsw.model_hash)), dtype=torch.uint8)
        return out

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
        if self.average is not None:
            average = {k[8:]: v for k, v in state.items() if k.startswith("average.")}
            if average:
                self.average.load_state_dict(average)
            else:  # a checkpoint from before the run averaged: start the average there
                self.average.n_averaged.zero_()
        if self.head is not None:
            self.head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
        if self.proxies is not None:
            self.proxies.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("proxies.")})
        opt = self.opt.state_dict()
        restored: dict = {}
        for k, v in state.items():
            if k.startswith("opt."):
                _, pid, name = k.split(".", 2)
                restored.setdefault(int(pid), {})[name] = v
        opt["state"] = restored
        self.opt.load_state_dict(opt)
        self.step_no = int(state["trainer.step"])
        self.gen.manual_seed(self.cfg.seed + self.step_no)
        self._batches = None
        h = state.get("trainer.index_hash")
        self._index_hash = bytes(h.tolist()).hex() if h is not None else ""
        if self.hnsw is not None:
            self.hnsw.index = None  # restore_index() takes the saved one, else the next step rebuilds it

    def trained_spec(self, info: dict | None = None) -> ModelSpec:
        return replace(self.spec, info={**self.spec.info, **(info or {})})


def ema_with_warmup(decay: float):
    """AveragedModel's update for an exponential moving average whose decay ramps up as
    min(decay, (1 + n) / (10 + n)) after n updates (as timm's ModelEma), so that short runs are
    not averaged with their first, untrained weights."""

    @torch.no_grad()
    def update(average: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1.0 + float(n)) / (10.0 + float(n)))
        return average * d + current * (1.0 - d)

    return update


def collapse_warning(steps: list[dict], margin: float, window: int = 20) -> str | None:
    """A message when the embedding is collapsing: over the last ``window`` steps every
    anchor-positive and anchor-negative distance is near 0 (under a tenth of the margin) and the loss
    sits at the margin. Hardest-negative mining from scratch is known to fall into this."""
    rows = [r for r in steps[-window:] if r.get("triplets")]
    if len(rows) < window:
        return None
    d_ap, d_an = np.mean([r["d_ap"] for r in rows]), np.mean([r["d_an"] for r in rows])
    loss = np.mean([r["loss"] for r in rows])
    if d_ap < 0.1 * margin and d_an < 0.1 * margin and loss > 0.8 * margin:
        return (
            f"The embedding is collapsing: anchor-positive {d_ap:.4f} and anchor-negative {d_an:.4f} are both "
            f"near 0 and the loss sits at the margin ({loss:.3f}); it learns nothing more. Hardest-negative "
            "mining from scratch is prone to this: stop, and try semi-hard negatives, a lower learning rate "
            "or a larger margin."
        )
    return None


def evaluate(vectors: np.ndarray, labels: np.ndarray, *, folds: int = 10, seed: int = 0) -> dict:
    """Open-set figures of an embedding (see ``Trainer.validate``): retrieval over every item, ROC
    AUC and EER over every pair, 10-fold accuracy over balanced pairs (LFW protocol)."""
    labels = np.asarray(labels)
    r = retrieval_metrics(vectors, labels)
    return _pair_figures(pdist(np.asarray(vectors, np.float64)), labels, r.precision_at_1, r.map_at_r, folds, seed)


def evaluate_matrix(dist: np.ndarray, labels: np.ndarray, *, folds: int = 10, seed: int = 0) -> dict:
    """The same figures from a full (n, n) dissimilarity matrix (a Siamese head's -logits), which
    need not be a metric: each row ranks the others by it (small n: a validation set)."""
    labels = np.asarray(labels)
    d = np.array(dist, np.float64)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :-1]  # itself (at inf) last, dropped
    r = (labels[:, None] == labels[None, :]).sum(axis=1) - 1
    has = r > 0
    p1, _, map_r = ranked_metrics(labels[order][has], labels[has], r[has])
    np.fill_diagonal(d, 0)
    i, j = np.triu_indices(len(labels), 1)
    sym = (d + d.T) / 2  # the head is not symmetric
    return _pair_figures(sym[i, j], labels, float(p1.mean()), float(map_r.mean()), folds, seed)


def _pair_figures(d: np.ndarray, labels: np.ndarray, p1: float, map_r: float, folds: int, seed: int) -> dict:
    i, j = np.triu_indices(len(labels), 1)
    same = labels[i] == labels[j]
    fig = fast_figures(d[same], d[~same])
    # accuracy as LFW measures it: balanced pairs (every genuine pair and as many impostor pairs drawn
    # at random, or the other way round), 10 folds; on all pairs "different" alone would score ~0.9
    rng = np.random.default_rng(seed)
    gen, imp = np.flatnonzero(same), np.flatnonzero(~same)
    m = min(len(gen), len(imp))
    pick = np.r_[rng.choice(gen, m, replace=False), rng.choice(imp, m, replace=False)]
    fold = rng.permutation(len(pick)) % folds
    acc = kfold_accuracy(d[pick], same[pick], fold)["accuracy_mean"] if m else float("nan")
    gen, imp = float(d[same].mean()), float(d[~same].mean())
    return {
        "p_at_1": p1,
        "map_at_r": map_r,
        "auc": fig.auc,
        "eer": fig.eer,
        "accuracy": acc,
        "genuine": gen,
        "impostor": imp,
        "gap": imp - gen,
    }
