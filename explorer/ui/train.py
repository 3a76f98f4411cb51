"""The Train page's parts: the form, starting a run, the live view, using a checkpoint."""

from __future__ import annotations

import threading
import weakref
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from explorer import plots
from explorer.errors import InputError
from explorer.faces.encoder import FACE_MODELS, FaceEncoder
from explorer.models.dlib_resnet import TRAINED_BLOCKS
from explorer.training import jobs
from explorer.training.collapse import collapse_warning
from explorer.training.config import SCHEDULES, TrainConfig
from explorer.training.launch import start_head_training, start_training
from explorer.training.negatives import NEGATIVES
from explorer.training.objectives import OBJECTIVES
from explorer.training.setup import ALIGN_MIN_SIDE, STRIPES, STRIPES_MIN_HEIGHT, scratch_options
from explorer.ui import address, state
from explorer.ui.downloads import download
from explorer.ui.safe import plain
from explorer.ui.sources import model_loader_for, restorable
from explorer.ui.workspace import build_workspace
from explorer.workspace import Workspace

RUN_KEY = "train_run"


def choices_help(registry: dict) -> str:
    """A selectbox's help: each choice's title and what it does (the class's own words)."""
    return "\n\n".join(f"**{cls.title}**: {cls.help}" for cls in registry.values())


def current_run() -> jobs.Run | None:
    """The run this visitor started or reattached to (its id is in the address, so a refresh keeps it)."""
    own = st.session_state.get(RUN_KEY)
    run_id = own or st.query_params.get("run")
    run = jobs.get_run(run_id) if run_id else None
    if run is not None and not run.keep_data and run.id != own:
        st.warning(
            "That run trained on a visitor's uploads: it belongs to the session that started it, and is not "
            "shown to anyone else."
        )
        address.forget("run")
        return None
    if run is not None:
        st.session_state[RUN_KEY] = run.id
        remember_run(run)
    elif run_id:
        address.forget("run")  # not a run on this server (any more): the address stops naming it
    return run


# What each option does and when to use it (measured effects: benchmarks/README.md)
HELP = {
    "margin": "how much farther a negative must be than a positive, in distance units (squared with the squared "
    "losses); for Proxy-Anchor on cosine similarity, where 0.1 is the paper's value",
    "refresh": "HNSW negatives: how often the index is rebuilt from the current model. Lower keeps the negatives "
    "fresh, at the cost of one pass over the training set per rebuild. The rebuild runs beside training and is "
    "taken up to 10 steps later, so no step waits for it",
    "k": "HNSW negatives: how many nearest items each anchor asks the index for; raise it when identities have "
    "many items each, so that other identities are among them",
    "ef": "HNSW search breadth: higher finds the true nearest items more often, and is slower",
    "mode": "semihard: the closest negative farther than the positive (stable); hard: the closest negative of "
    "all (faster learning, can collapse from scratch)",
    "val": "share of identities held out for validation (never trained on)",
    "zoom": "with augmentation on: each training image is scaled by 1 +- up to this fraction. Raise it when the "
    "same identity appears at different distances from the camera",
    "augment": "random shift (up to 10 %), zoom, rotation (up to 10 degrees), horizontal flip, brightness and contrast",
    "align": f"from scratch, on images of at least {ALIGN_MIN_SIDE} px: a spatial transformer in front of the "
    "ConvNet resamples each image with an affine map (scale, shift, rotation) that it learns. Try it with "
    "Proxy-Anchor on images that are not framed alike; it tends to hurt triplet losses",
    "erase": "with augmentation on: half the augmented images get a rectangle (20-50 % of each side) of noise, "
    "so the model cannot rely on one region. Use it with Proxy-Anchor; it tends to hurt triplet losses",
    "ema": 'validation, checkpoints and "Use this model" take an exponential moving average of the weights '
    "(decay 0.999 per step, about the last 1,000 steps); training goes on with the raw weights. Use it for "
    "long runs, which tend to drift once the training identities are learnt",
    "stripes": f"from scratch, on images at least {STRIPES_MIN_HEIGHT} px high: the ConvNet's last feature map "
    f"is cut into {STRIPES} horizontal stripes (on a face: brow, eyes, nose, mouth), each embedded on its own "
    f"and trained with its own loss; the embedding is their concatenation ({STRIPES} x 64 dimensions). Use it "
    "on faces and other images whose parts sit at the same height; best with Proxy-Anchor",
}


def form(ws: Workspace) -> tuple[TrainConfig, dict] | None:
    """The run's settings; returns them when Start is pressed."""
    with st.form("train_form"):
        choice = _model_and_loss(ws) | _batch(ws) | _options(ws)
        go = st.form_submit_button("Start", type="primary")
    if not go:
        return None
    opts = {key: choice.pop(key) for key in ("start", "val", "align", "stripes", "trained_blocks")}
    choice["snapshot_every"] = max(choice["validate_every"], choice["checkpoint_every"])
    return TrainConfig(**choice), opts


def _model_and_loss(ws: Workspace) -> dict:
    name = ws.encoder.model_info.name if ws.encoder else ""
    starts = {"new": "built-in architecture, from scratch"}
    face = isinstance(ws.encoder, FACE_MODELS)
    if getattr(ws.encoder, "source", None) is not None:
        starts["workspace"] = (
            "the face descriptor itself (dlib's weights, fine-tuned)" if face else (f"the workspace model ({name})")
        )
    if isinstance(ws.encoder, FaceEncoder):  # the workspace's vectors are the frozen face descriptor's
        starts["head"] = f"a head on the {name.split(' (')[0].lower()} (trains on its vectors)"
    c1, c2, c3 = st.columns(3)
    start = c1.radio("Starting model", list(starts), format_func=starts.get)
    trained_blocks = 0
    if face:
        trained_blocks = c1.radio(
            "Fine-tuning the descriptor trains", list(TRAINED_BLOCKS), format_func=TRAINED_BLOCKS.get,
            help="The rest keeps dlib's weights. Fewer layers learn faster and forget less of dlib's 3 million faces; "
            "a learning rate near 1e-4 keeps what it knows (the default suits a model from scratch).",
        )  # fmt: skip
    loss = c2.selectbox(
        "Loss", list(OBJECTIVES), format_func=lambda n: OBJECTIVES[n].title, help=choices_help(OBJECTIVES)
    )
    negatives_help = choices_help(NEGATIVES) + "\n\nNot used by a loss that needs no negatives (Proxy-Anchor)."
    miner = c3.selectbox("Negatives", list(NEGATIVES), format_func=lambda n: NEGATIVES[n].title, help=negatives_help)
    return {"start": start, "loss": loss, "miner": miner, "trained_blocks": int(trained_blocks)}


def _batch(ws: Workspace) -> dict:
    d1, d2, d3, d4, d5 = st.columns(5)
    e1, e2, e3, e4, e5 = st.columns(5)
    return {
        "margin": float(d1.number_input("Margin", 0.01, 5.0, 0.2, step=0.05, help=HELP["margin"])),
        "lr": float(
            d2.number_input(
                "Learning rate", 1e-5, 1.0, 3e-3, step=1e-3, format="%.4f", help="How big each step of Adam is"
            )
        ),
        "P": int(d3.number_input("P (identities per batch)", 2, 64, 8)),
        "K": int(d4.number_input("K (items per identity)", 2, 32, 4)),
        "steps": int(d5.number_input("Steps", 10, 100_000, 300, step=50)),
        "refresh_every": int(e1.number_input("Index refresh every (steps)", 1, 10_000, 50, help=HELP["refresh"])),
        "hnsw_k": int(e2.number_input("Nearby items per anchor (k)", 2, 512, 32, help=HELP["k"])),
        "hnsw_ef": int(e3.number_input("Search breadth (HNSW ef)", 8, 1024, 64, help=HELP["ef"])),
        "hnsw_mode": e4.selectbox("HNSW negatives", ["semihard", "hard"], help=HELP["mode"]),
        "val": float(e5.slider("Validation identities", 0.1, 0.5, 0.25, help=HELP["val"])),
    }


def _options(ws: Workspace) -> dict:
    images = ws.dataset.kind == "image"  # augmentation (zoom, erasing) warps images; vectors pass through
    vectors = "" if images else " — not on this data: these items are vectors"
    cannot = scratch_options(ws.dataset)  # the options a model from scratch cannot have on this data, and why

    def why_not(option: str) -> str:
        return f" — not on this data: {cannot[option]}" if cannot[option] else ""

    f1, f2, f3, f4, f5 = st.columns(5)
    g0, g1, g2, g3, g4 = st.columns(5)
    schedules = {"constant": "constant", "cosine": "cosine decay to 0 at the last step"}
    zoom = f4.number_input("Zoom (+-)", 0.0, 0.5, 0.1, step=0.05, format="%.2f", disabled=not images,
                           help=HELP["zoom"] + vectors)  # fmt: skip
    aug = g0.checkbox("Augment images", images, disabled=not images, help=HELP["augment"] + vectors)
    align = g1.checkbox(
        "Learned alignment", False, disabled=bool(cannot["align"]), help=HELP["align"] + why_not("align")
    )
    erase = g2.checkbox("Random erasing", False, disabled=not images, help=HELP["erase"] + vectors)
    ema = g3.checkbox("Weight average", False, help=HELP["ema"])
    stripes = g4.checkbox("Stripe embeddings", False, disabled=bool(cannot["stripes"]),
                          help=HELP["stripes"] + why_not("stripes"))  # fmt: skip
    # a box ticked on other data keeps its state once greyed out here: it must not count (nor be refused)
    return {
        "validate_every": int(f1.number_input("Validate every (steps)", 1, 10_000, 25)),
        "checkpoint_every": int(f2.number_input("Checkpoint every (steps)", 1, 100_000, 100)),
        "schedule": f3.selectbox("Learning-rate schedule", SCHEDULES, format_func=schedules.get),
        "zoom": float(zoom),
        "seed": int(f5.number_input("Seed", 0, 2**31 - 1, 0)),
        "augment": bool(aug) and images,
        "erase": 0.5 if erase and images else 0.0,
        "ema": 0.999 if ema else 0.0,
        "align": bool(align) and cannot["align"] is None,
        "stripes": bool(stripes) and cannot["stripes"] is None,
    }


def start(ws: Workspace, cfg: TrainConfig, opts: dict) -> jobs.Run | None:
    try:
        with st.spinner("Preparing the training data ..."):
            if opts["start"] == "head":  # vectors: augmentation does not apply
                cfg = replace(cfg, augment=False, erase=0.0)
                base = ws.encoder.restore_token
                run = start_head_training(
                    ws.dataset, ws.embeddings.vectors, base, cfg, val_fraction=opts["val"], align=opts["align"],
                    stripes=opts["stripes"],
                )  # fmt: skip
            else:
                run = start_training(
                    ws.dataset,
                    cfg,
                    val_fraction=opts["val"],
                    start_from=ws.encoder if opts["start"] == "workspace" else None,
                    align=opts["align"],
                    stripes=opts["stripes"],
                    trained_blocks=opts.get("trained_blocks", 0),
                )
    except jobs.Busy as exc:
        st.warning(str(exc))
        return None
    except (ValueError, InputError) as exc:
        st.error(f"Cannot start: {plain(exc)}")
        return None
    st.session_state[RUN_KEY] = run.id
    if not run.keep_data:  # its folder goes with this session
        st.session_state.setdefault(OWNED, {})[run.id] = SessionRun(run.id)
    remember_run(run)
    return run


def remember_run(run: jobs.Run) -> None:
    """A run on server-side data is named in the address (a refresh or a link reattaches to it);
    a run on uploads never is: it belongs to this session alone."""
    if run.keep_data:
        address.remember(run=run.id)


def controls(run: jobs.Run) -> None:
    c = st.columns(5)
    if run.status == "running" and c[0].button("Pause"):
        run.pause()
        st.rerun()
    if run.status == "paused" and c[0].button("Resume"):
        run.go_on()
        st.rerun()
    if run.active and c[1].button("Stop"):
        run.stop()
        st.rerun()
    if run.status in ("interrupted", "stopped", "failed") and run.step < run.cfg.steps:
        if c[0].button(f"Continue from step {run.step}", type="primary"):
            try:
                jobs.resume(run)
            except jobs.Busy as exc:
                st.warning(str(exc))
            st.rerun()
    if c[4].button("New run", disabled=run.active):
        st.session_state.pop(RUN_KEY, None)
        address.forget("run")
        st.rerun()


def settings(run: jobs.Run) -> None:
    """What the run is (reattaching to a run by its address shows no form), and its settings as JSON."""
    with st.expander("Settings of this run"):
        rows = run.settings()
        st.table(pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting"))
        download("Download settings (JSON)", run.settings_json(), f"run_{run.id}_settings.json", key="tr_settings_dl")


def live(run: jobs.Run) -> None:
    """Charts of the run, redrawn every second while it runs."""

    def body():
        st.progress(
            min(run.step / run.cfg.steps, 1.0),
            text=f"{run.status}: step {run.step:,} of {run.cfg.steps:,} (run {run.id})",
        )
        if run.error:
            st.error(f"The run failed: {plain(run.error)}. Its last checkpoint is kept.")
        if run.note:
            st.info(f"The server {run.note}. Its last checkpoint is kept; continue it when the slot is free.")
        steps = list(run.steps)
        if steps and "staleness" in steps[-1]:
            last = steps[-1]
            refresh_steps = [
                r["step"] for a, r in zip(steps[:-1], steps[1:], strict=True) if r["refreshes"] > a["refreshes"]
            ]
            dup = max(r.get("duplicates", 0) for r in steps)
            st.caption(
                f"HNSW index: {last['refreshes']} builds, {last['staleness']} steps since the last; "
                f"{dup} other-identity items at distance ~0 from an anchor seen (never used as negatives)."
            )
        else:
            refresh_steps = []
        warning = collapse_warning(steps, run.cfg.margin)
        if warning:
            st.warning(warning)
        st.plotly_chart(plots.training_curves(steps, refreshes=refresh_steps), key="tr_curves")
        vals = list(run.validations)
        base = run.spec.info.get("baseline")  # a head: the frozen descriptor's own figures on the same people
        if vals:
            v = vals[-1]
            against = "change against the untrained descriptor" if base else f"change since step {vals[0]['step']}"
            m = st.columns(6)
            for col, (key, name) in zip(
                m,
                (
                    ("p_at_1", "P@1"),
                    ("map_at_r", "MAP@R"),
                    ("auc", "ROC AUC"),
                    ("eer", "EER"),
                    ("accuracy", "10-fold accuracy"),
                    ("gap", "distance gap"),
                ),
                strict=True,
            ):
                first = base[key] if base else vals[0][key]
                col.metric(
                    name,
                    f"{v[key]:.4f}" if key == "auc" else f"{v[key]:.3f}",
                    f"{v[key] - first:+.4f}" if key == "auc" else f"{v[key] - first:+.3f}",
                    help=against,
                    delta_color="inverse" if key == "eer" else "normal",
                )
            if base:
                better = v["map_at_r"] > base["map_at_r"]
                which = (
                    "The untrained descriptor (unit length, as the head's output)"
                    if run.spec.architecture == "mlp"
                    else f"The starting descriptor ({plain(run.spec.info.get('baseline_of', 'untrained'))})"
                )
                st.caption(
                    f"{which} reads ROC AUC {base['auc']:.4f}, 10-fold accuracy {base['accuracy']:.3f} and MAP@R "
                    f"{base['map_at_r']:.3f} on these held-out identities: at step {v['step']} training has "
                    f"{'helped' if better else 'not helped'} on people it never saw ({v['map_at_r'] - base['map_at_r']:+.3f} "
                    "MAP@R); a checkpoint is named best only when it reads better than that."
                )
            st.plotly_chart(plots.validation_curves(vals), key="tr_val")
        snaps = list(run.snapshots)
        if snaps:
            s = snaps[-1]
            st.caption(f"Held-out identities in the embedding at step {s['step']} (PCA)")
            st.plotly_chart(
                plots.scatter_map(s["coords"], s["labels"], kind="category", name="identity", hover=s["labels"]),
                key="tr_snap",
            )
        if not run.active and st.session_state.get("tr_was_active"):
            st.session_state["tr_was_active"] = False
            st.rerun(scope="app")  # the buttons outside this fragment change with the status
        st.session_state["tr_was_active"] = run.active

    st.fragment(body, run_every=1.0 if run.active else None)()


def checkpoints(run: jobs.Run) -> None:
    if not run.checkpoints:
        st.caption("Checkpoints appear here as the run writes them.")
        return
    best = run.best_checkpoint()

    def label(step: int) -> str:
        v = run.figures(step)
        figures = f" · MAP@R {v['map_at_r']:.3f} · ROC AUC {v['auc']:.4f}" if v else ""
        return f"step {step}{figures}" + (" · best MAP@R" if step == best and len(run.checkpoints) > 1 else "")

    step = st.selectbox(
        "Checkpoint",
        run.checkpoints[::-1],
        format_func=label,
        key="tr_ckpt",
        help="validation figures on the held-out identities at each checkpoint; a run often "
        "peaks and then drifts, so the best one need not be the last",
    )
    path = run.model_path(step)
    trained_on = run.spec.info.get("training_data", {})
    ws = state.get_workspace()
    if trained_on and ws is not None and trained_on.get("data_hash") != ws.dataset.content_hash:
        st.warning(
            f"This run trained on {plain(trained_on.get('name'))}; the workspace now holds {plain(ws.dataset.name)}. "
            '"Use this model" embeds the workspace data with it.'
        )
    c1, c2 = st.columns(2)
    download(
        "Download checkpoint (safetensors, spec inside)",
        path.read_bytes(),
        f"trained_{run.id}_step{step}.safetensors",
        key="tr_dl",
        where=c2,
    )
    if c1.button("Use this model", type="primary", help="Every page re-embeds the workspace data with it"):

        def same_data(progress):  # already in memory; restorable by the address it came from, if any
            return ws.dataset

        token = address.remembered("data")
        ws2 = build_workspace(
            restorable(same_data, token) if token else same_data, model_loader_for(f"run:{run.id}:{step}")
        )
        remember_run(run)  # the run stays reachable beside the workspace's new address
        if ws2 is not None:
            st.success(
                f"The workspace now uses step {step} of run {run.id}: "
                f"{ws2.embeddings.n:,} items embedded in {ws2.embeddings.dim} dimensions."
            )


def summary_counts(ws: Workspace) -> tuple[int, int]:
    labels, counts = np.unique(np.asarray(ws.dataset.labels).astype(str), return_counts=True)
    return len(labels), int((counts >= 2).sum())


# a batch draws 2 identities of 2 items or more, and whole identities (a quarter, at least one)
# are held out for validation: 4 such identities is the least that leaves both sides something
MIN_IDENTITIES = 4


def too_few_identities(n_ids: int, usable: int) -> str:
    """The rule the data does not meet, and where it stands."""
    return (
        f"Training needs at least {MIN_IDENTITIES} identities with 2 items or more each (a batch takes 2 items of "
        f"each of 2 identities or more, and whole identities are held out to validate on); this data has {usable} "
        f"such {'identity' if usable == 1 else 'identities'} of {n_ids}."
    )


OWNED = "train_owned_runs"


class SessionRun:
    """Held in a visitor's session state for each run on their uploads: when Streamlit lets the
    session go (the tab closed, its disconnected-session time over), the session state is
    collected and the run is stopped and its folder deleted. Nothing of it outlives the session."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        weakref.finalize(self, _discard_in_background, run_id)


def _discard_in_background(run_id: str) -> None:
    # a finalizer runs in whatever thread collected the session: stopping the run waits for its
    # last step, so that happens on a thread of its own
    threading.Thread(target=jobs.discard, args=(run_id,), name=f"discard-{run_id}", daemon=True).start()
