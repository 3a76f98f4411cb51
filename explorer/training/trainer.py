"""One training run's model and step: P x K batches, negatives, a loss, open-set validation.

The trainer is plain Python (no threads, no Streamlit): ``step()`` trains one batch and returns
its numbers, ``validate()`` embeds the held-out identities and measures them. The negatives and the
loss are objects chosen once from the config (``negatives.py``, ``objectives.py``). ``jobs.Run``
drives the trainer in a background thread and writes checkpoints.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel

from explorer.device import torch_device
from explorer.models.architectures import build_model, stripe_views
from explorer.models.spec import ModelSpec
from explorer.training.augment import augment
from explorer.training.batches import PKBatches
from explorer.training.config import TrainConfig, TrainData
from explorer.training.evaluation import evaluate, evaluate_matrix
from explorer.training.negatives import Mined, MiningContext, negatives_for
from explorer.training.objectives import objective_for

VALIDATION_LIMIT = 2000  # held-out items embedded at each validation (a seeded sample beyond)


class Trainer:
    """Model, optimiser, batches, negatives and loss of one run; ``state()`` / ``load_state()`` for
    checkpoints."""

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
        # EXPLORER_DEVICE: the model (and its optimiser state) lives there; batches go there and
        # embeddings come back, with their gradient, so mining and the losses stay on the CPU
        self.device = torch_device()
        self.model = (model if model is not None else build_model(spec)).to(self.device)
        # stripe embeddings (ConvNet ``stripes``): every loss is taken on each stripe and averaged
        self.stripes = int(getattr(self.model, "stripes", 1))
        self.objective = objective_for(cfg, dim=spec.out_dim, stripes=self.stripes, train_labels=data.y_train)
        self.opt = torch.optim.Adam(self._param_groups(), lr=cfg.lr)
        # torch's AveragedModel keeps the average (BatchNorm statistics included: use_buffers)
        self.average = (
            AveragedModel(self.model, avg_fn=ema_with_warmup(cfg.ema), use_buffers=True) if cfg.ema > 0 else None
        )
        self.step_no = 0
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.x = torch.from_numpy(data.x_train)
        self.y = torch.from_numpy(data.y_train)
        self.batches = PKBatches(data.y_train, P=cfg.P, K=cfg.K, seed=cfg.seed)
        ctx = MiningContext(
            self.x,
            self.y,
            embed=self._embed_tensor,
            augment=self._augment if cfg.augment else None,
            snapshot=lambda: (self.embed(self.data.x_train, usable=False), self.model_hash()),
            threads=threads,
            frozen=self.frozen_snapshot,
        )
        self.negatives = negatives_for(cfg, ctx, needed=self.objective.uses_negatives)
        self._index_hash = ""  # the index's snapshot, as a loaded checkpoint names it
        self._index_saved: tuple | None = None

    def _param_groups(self) -> list[dict]:
        """The model's parameters, with those the loss learns (its own group when they learn at
        another rate)."""
        own = list(self.objective.module.parameters()) if self.objective.module is not None else []
        apart = own and self.objective.lr_factor != 1.0
        groups = [{"params": list(self.model.parameters()) + ([] if apart else own), "lr_factor": 1.0}]
        if apart:
            groups.append({"params": own, "lr_factor": self.objective.lr_factor})
        return [{**g, "lr": self.cfg.lr * g["lr_factor"]} for g in groups]

    # -- embedding ---------------------------------------------------------------------------------
    def _embed_tensor(self, x: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
        e = (self.model if model is None else model)(x.to(self.device))
        e = e.cpu() if self.device.type != "cpu" else e  # differentiable: the gradient goes back there
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
        try:
            return self._embed_with(model, x, batch)
        finally:
            model.train()

    def _embed_with(self, model: torch.nn.Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
        out = []
        with torch.no_grad():
            for s in range(0, len(x), batch):
                out.append(self._embed_tensor(torch.from_numpy(np.ascontiguousarray(x[s : s + batch])), model).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.spec.out_dim), np.float32)

    def frozen_snapshot(self):
        """A copy of the weights being trained, as they are now, and a function that embeds every
        training item with it (for an index rebuilt while training goes on)."""
        model = copy.deepcopy(self.model).eval()
        model_hash = self.model_hash()
        return lambda: (self._embed_with(model, self.data.x_train), model_hash)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """A batch (or the mined negatives) as the run's augmentation settings warp it."""
        return augment(x, self.gen, scale=self.cfg.zoom, erase=self.cfg.erase)

    def model_hash(self) -> str:
        """sha256 of the model's weights (names, shapes, bytes): which snapshot embedded an index."""
        h = hashlib.sha256()
        for name, v in self.model.state_dict().items():
            h.update(f"{name}{tuple(v.shape)}{v.dtype}".encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    # -- one step ----------------------------------------------------------------------------------
    def next_batch(self) -> np.ndarray:
        """Item ids of this step's batch (the negatives strategy may compose it)."""
        return self.negatives.batch(self.step_no, self.batches)

    def step(self) -> dict:
        torch.set_num_threads(self.threads)
        idx = self.next_batch()
        xb, yb = self.x[idx], self.y[idx]
        if self.cfg.augment:
            xb = self._augment(xb)
        self.model.train()
        mined = self.negatives.mine(idx, self._embed_tensor(xb), yb)
        figures = triplet_figures(mined, margin=self.cfg.margin, squared=self.cfg.squared)
        loss = self.objective.loss(stripe_views(mined.emb, self.stripes), mined, yb)
        self.opt.zero_grad()
        loss.backward()
        for group in self.opt.param_groups:
            group["lr"] = self.learning_rate() * group.get("lr_factor", 1.0)
        self.opt.step()
        if self.average is not None:
            self.average.update_parameters(self.model)
        self.step_no += 1
        return {"step": self.step_no, "loss": float(loss.detach()), **figures, **self.negatives.report(self.step_no)}

    def learning_rate(self, step: int | None = None) -> float:
        """The rate at a step: constant, or cosine from lr to 0 over ``cfg.steps``."""
        s = self.step_no if step is None else step
        if self.cfg.schedule == "cosine":
            return 0.5 * self.cfg.lr * (1 + np.cos(np.pi * min(s, self.cfg.steps) / self.cfg.steps))
        return self.cfg.lr

    # -- validation --------------------------------------------------------------------------------
    def validate(self) -> dict:
        """Open-set figures on the held-out identities (``evaluation.evaluate``); a model judged by a
        learned verifier (the Siamese head) by that verifier's scores."""
        x, y = self.data.x_val, self.data.y_val
        if len(x) > VALIDATION_LIMIT:
            keep = np.sort(np.random.default_rng(self.cfg.seed).choice(len(x), VALIDATION_LIMIT, replace=False))
            x, y = x[keep], y[keep]
        e = self.embed(x)
        scores = self.objective.dissimilarity(e)
        return {"step": self.step_no, **(evaluate(e, y) if scores is None else evaluate_matrix(scores, y))}

    # -- the miner's index -------------------------------------------------------------------------
    def save_index(self, folder) -> bool:
        """Write the miner's index (if it changed since the last save); False when there is none.
        A rebuild under way is taken first: an interrupted run resumes exactly as it would have gone on."""
        self.negatives.settle()
        miner = self.negatives.miner
        if miner is None or miner.index is None:
            return False
        if self._index_saved != (str(folder), miner.refreshed_at, miner.model_hash):
            miner.save(folder)
            self._index_saved = (str(folder), miner.refreshed_at, miner.model_hash)
        return True

    def restore_index(self, folder) -> str:
        """After ``load_state``: the index saved with that checkpoint, if its manifest matches."""
        miner = self.negatives.miner
        if miner is None:
            return ""
        if not self._index_hash:
            miner.index = None
            return "index rebuilt (the checkpoint names none)"
        return miner.restore(folder, dim=self.spec.out_dim, model_hash=self._index_hash)

    # -- checkpoints -------------------------------------------------------------------------------
    def state(self) -> dict[str, torch.Tensor]:
        """Every tensor a resume needs: model, average, the loss's own parameters, optimiser
        (flattened names)."""
        parts = {"model.": self.model, "average.": self.average, self.objective.prefix: self.objective.module}
        out = {
            f"{prefix}{k}": v.detach().cpu().clone()
            for prefix, m in parts.items()
            if m is not None
            for k, v in m.state_dict().items()
        }
        for pid, st in self.opt.state_dict()["state"].items():
            for name, v in st.items():
                out[f"opt.{pid}.{name}"] = v.detach().cpu().clone() if torch.is_tensor(v) else torch.tensor(v)
        out["trainer.step"] = torch.tensor(self.step_no)
        miner = self.negatives.miner
        if miner is not None and miner.index is not None and miner.model_hash:
            out["trainer.index_hash"] = torch.tensor(list(bytes.fromhex(miner.model_hash)), dtype=torch.uint8)
        return out

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        def part(prefix: str) -> dict[str, torch.Tensor]:
            return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

        self.model.load_state_dict(part("model."))
        if self.average is not None:
            if average := part("average."):
                self.average.load_state_dict(average)
            else:  # a checkpoint from before the run averaged: start the average there
                self.average.n_averaged.zero_()
        if self.objective.module is not None:
            self.objective.module.load_state_dict(part(self.objective.prefix))
        opt = self.opt.state_dict()
        restored: dict = {}
        for k, v in part("opt.").items():
            pid, name = k.split(".", 1)
            restored.setdefault(int(pid), {})[name] = v
        opt["state"] = restored
        self.opt.load_state_dict(opt)
        self.step_no = int(state["trainer.step"])
        self.gen.manual_seed(self.cfg.seed + self.step_no)
        h = state.get("trainer.index_hash")
        self._index_hash = bytes(h.tolist()).hex() if h is not None else ""
        if self.negatives.miner is not None:
            self.negatives.miner.index = None  # restore_index() takes the saved one, else the next step rebuilds it

    def trained_spec(self, info: dict | None = None) -> ModelSpec:
        return replace(self.spec, info={**self.spec.info, **(info or {})})


def triplet_figures(mined: Mined, *, margin: float, squared: bool) -> dict:
    """A step's triplets in numbers: how many, the share still violating the margin, mean
    anchor-positive and anchor-negative distance (NaN without triplets)."""
    a, p, n, emb = mined.a, mined.p, mined.n, mined.emb
    if len(a) == 0:
        return {"active": 0.0, "triplets": 0, "d_ap": float("nan"), "d_an": float("nan")}
    with torch.no_grad():
        d_ap, d_an = (emb[a] - emb[p]).norm(dim=1), (emb[a] - emb[n]).norm(dim=1)
        if squared:
            d_ap, d_an = d_ap**2, d_an**2
        active = float(((d_ap - d_an + margin) > 0).float().mean())
    return {"active": active, "triplets": int(len(a)), "d_ap": float(d_ap.mean()), "d_an": float(d_an.mean())}


def ema_with_warmup(decay: float):
    """AveragedModel's update for an exponential moving average whose decay ramps up as
    min(decay, (1 + n) / (10 + n)) after n updates (as timm's ModelEma), so that short runs are
    not averaged with their first, untrained weights."""

    @torch.no_grad()
    def update(average: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1.0 + float(n)) / (10.0 + float(n)))
        return average * d + current * (1.0 - d)

    return update
