"""The Train page's form: the run's settings as a person chooses them (starting model, loss,
negatives, batch, options), with what each does, and the data's least for a run."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.faces.encoder import FACE_MODELS, FaceEncoder
from explorer.models.dlib_resnet import TRAINED_BLOCKS
from explorer.training.config import SCHEDULES, TrainConfig
from explorer.training.negatives import NEGATIVES
from explorer.training.objectives import OBJECTIVES
from explorer.training.setup import ALIGN_MIN_SIDE, STRIPES, STRIPES_MIN_HEIGHT, scratch_options
from explorer.workspace import Workspace


def choices_help(registry: dict) -> str:
    """A selectbox's help: each choice's title and what it does (the class's own words)."""
    return "\n\n".join(f"**{cls.title}**: {cls.help}" for cls in registry.values())


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
