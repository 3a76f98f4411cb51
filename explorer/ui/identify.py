"""The Identify page's parts: this visitor's gallery, enrolling, identifying, verifying, forgetting."""

from __future__ import annotations

import base64
import re

import numpy as np
import streamlit as st

from explorer import config
from explorer.analysis.calibration import Logistic, Pairs
from explorer.analysis.identification import open_set, open_set_rows
from explorer.data.images import decode_image
from explorer.errors import InputError
from explorer.faces.annotate import boxed
from explorer.faces.encoder import FACE_MODELS, SAME_PERSON
from explorer.faces.gallery import Gallery, threshold_from_pick
from explorer.faces.pipeline import Face, acquire_all
from explorer.faces.store import StoredGallery
from explorer.ui import state
from explorer.ui.memo import memo, memo_get
from explorer.ui.one_to_many import one_to_many
from explorer.ui.pairs import workspace_scores
from explorer.ui.safe import plain, plain_all
from explorer.ui.threshold import picked
from explorer.ui.workspace import face_encoder
from explorer.workspace import Workspace

GALLERY = "id_gallery"
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp"]
PEOPLE_SHOWN = 500  # people listed with their face in the People section
SEEN_LIMIT = 16  # this session's recent uploads kept: every face and its descriptor


def gallery() -> Gallery:
    """This visitor's gallery, in the session only (never seen by anyone else); or, where the
    operator keeps one on the server (EXPLORER_GALLERY_DIR), that shared gallery."""
    folder = config.settings().gallery_dir
    return server_gallery(str(folder)) if folder else st.session_state.setdefault(GALLERY, Gallery())


@st.cache_resource(show_spinner=False)
def server_gallery(folder: str) -> StoredGallery:
    return StoredGallery(folder)


def where() -> str:
    """Where the gallery lives, in words for the page."""
    folder = config.settings().gallery_dir
    if folder:
        return f"This server keeps one gallery for every visitor, in {folder} (its operator enabled it)."
    return "Your gallery lives in this browser session only: nobody else sees it, and it is gone when the session ends."


def face_model():
    """What describes faces here: the workspace's model when it describes faces (the descriptor,
    or one fine-tuned from it on the Train page), else the descriptor."""
    ws = state.get_workspace()
    return ws.encoder if ws is not None and isinstance(ws.encoder, FACE_MODELS) else face_encoder()


def calibration() -> tuple[Logistic, str] | None:
    """The face model's distances as likelihood ratios, fitted on every pair of the workspace when
    this same model embedded it (face photos), else None."""
    ws = state.get_workspace()
    if ws is None or ws.dataset.faces is None or ws.encoder is not face_model():
        return None
    scores = workspace_scores(ws, "euclidean")
    if not (scores.n_genuine and scores.n_impostor):
        return None
    fitted = memo(ws, "face_calibration", ("euclidean",), lambda: Logistic().fit(Pairs.binned(scores)))
    return fitted, f"calibrated on the workspace's {scores.n_genuine + scores.n_impostor:,} pairs"


def threshold() -> tuple[float, str]:
    """The Threshold page's pick for this face model when there is one, else dlib's 0.6."""
    got = threshold_from_pick(picked(), face_model().model_info.checkpoint_hash)
    return got or (SAME_PERSON, f"{SAME_PERSON}, dlib's same-person threshold (pick another on the Threshold page)")


def photo_input(label: str, key: str, *, many: bool = False) -> list:
    """Uploaded photos, or one from the camera when the visitor switches it on."""
    files = st.file_uploader(label, type=PHOTO_TYPES, accept_multiple_files=many, key=key)
    files = list(files or []) if many else [files] if files else []
    if st.toggle("Use the camera", key=f"{key}_cam"):
        shot = st.camera_input("Take a photo", key=f"{key}_shot")
        files += [shot] if shot is not None else []
    return files


def photo_name(f) -> str:
    """What to call an uploaded photo: its file name, or "camera photo, 05:47" for a camera shot
    (Streamlit names those camera-input-<UTC timestamp>.jpg)."""
    m = re.match(r"camera-input-\d{4}-\d\d-\d\dT(\d\d)_(\d\d)", f.name)
    return f"camera photo, {m.group(1)}:{m.group(2)} UTC" if m else f.name


def largest_face(f) -> tuple[Face, np.ndarray] | None:
    """The photo's largest face and its descriptor (saying where there are several), or None
    (saying why)."""
    _, faces, vectors = every_face_in(f)
    if isinstance(faces, str):
        st.warning(f"{plain(photo_name(f))}: {plain(faces)}.")
        return None
    if len(faces) > 1:
        st.info(f"{plain(photo_name(f))}: {len(faces)} faces found; the largest was used.")
    return faces[0], vectors[0]


def enroll() -> None:
    """Enrol a person from photos; a photo with several faces asks which face is theirs (nothing
    is taken silently)."""
    name = st.text_input("Name", key="id_name", placeholder="the person's name")
    files = photo_input("Photos of this person (one is enough)", "id_enroll", many=True)
    chosen, pending = {}, False
    for f in files:
        _, faces, _ = every_face_in(f)
        if isinstance(faces, list) and len(faces) > 1:
            st.image([x.chip for x in faces], width=72, caption=[f"face {k}" for k in range(1, len(faces) + 1)])
            pick = st.radio(
                f"{plain(photo_name(f))} holds {len(faces)} faces: which is this person?", list(range(len(faces))),
                format_func=lambda k: f"face {k + 1}", index=None, horizontal=True, key=f"id_which_{f.file_id}",
            )  # fmt: skip
            chosen[f.file_id], pending = pick, pending or pick is None
    ready = bool(name.strip() and files) and not pending
    if st.button("Enroll", type="primary", disabled=not ready, key="id_enroll_go"):
        faces = []
        for f in files:
            _, found, vectors = every_face_in(f)
            if isinstance(found, str):
                st.warning(f"{plain(photo_name(f))}: {plain(found)}.")
                continue
            k = chosen.get(f.file_id) or 0
            faces.append((photo_name(f), found[k], vectors[k]))
        if faces:
            chips = [f.chip for _, f, _ in faces]
            gallery().enroll(name, np.stack([d for _, _, d in faces]), chips, [n for n, _, _ in faces])
            st.success(f"Enrolled {plain(name.strip())} from {len(faces)} photo(s): the faces below.")
            st.image(chips, width=96, caption=plain_all(n for n, _, _ in faces))


ALL_SEEN = "id_all_faces_seen"


def every_face_in(f) -> tuple[np.ndarray | None, list[Face] | str, np.ndarray | None]:
    """(the photo, every face in it or why none, their descriptors by this page's face model), kept
    for the last few uploads of this session."""
    seen = st.session_state.setdefault(ALL_SEEN, {})
    model = face_model()
    key = (f.file_id, model.model_info.checkpoint_hash)
    if key not in seen:
        with st.spinner(f"Finding and describing the faces of {photo_name(f)} ..."):
            try:
                photo = decode_image(f.getvalue())
                faces = acquire_all(photo)
            except InputError as exc:
                photo, faces = None, str(exc)
            vectors = None if isinstance(faces, str) else model.encode([x.chip for x in faces])
        seen[key] = (photo, faces, vectors)
        while len(seen) > SEEN_LIMIT:
            seen.pop(next(iter(seen)))
    return seen[key]


def identify(t: float) -> None:
    """Every face of the photo boxed and named on it, and each face with its closest people."""
    files = photo_input("A photo to identify (every face in it is searched)", "id_probe")
    if files:
        named_faces(files[-1], t)


def named_faces(f, t: float) -> None:
    """One photo's faces, each boxed and named on it and listed with its closest people."""
    g = gallery()
    photo, faces, vectors = every_face_in(f)
    if isinstance(faces, str):
        st.warning(f"{plain(photo_name(f))}: {plain(faces)}.")
        return
    results = [g.identify(v, k=5, threshold=t) for v in vectors]
    labels = [f"{r.answer} {r.matches[0].distance:.2f}" if r.answer else "unknown" for r in results]
    st.image(boxed(photo, [f.box for f in faces], labels, [r.answer is not None for r in results]),
             caption=f"{len(faces)} face{'s' if len(faces) != 1 else ''} found", width=min(720, photo.shape[1]))  # fmt: skip
    for k, (face, result) in enumerate(zip(faces, results, strict=True), 1):
        which = f"Face {k}: " if len(faces) > 1 else ""
        c1, c2 = st.columns([1, 4])
        c1.image(face.chip, caption="the face searched", width=120)
        if result.answer:
            c2.success(
                f"{which}**{plain(result.answer)}**, at distance {result.matches[0].distance:.3f} (threshold {t:.3g})"
            )
        else:
            closest = (
                f": the closest is {plain(result.matches[0].name)} at {result.matches[0].distance:.3f}"
                if result.matches
                else ""
            )
            c2.warning(f"{which}**Unknown**{closest}, beyond the threshold {t:.3g}")
        if result.matches:
            c2.image(
                [m.chip for m in result.matches],
                width=96,
                caption=plain_all(f"{m.name} {m.distance:.3f}" for m in result.matches),
            )
    st.caption(f"Each face's closest of {len(g.people())} enrolled people ({g.search_kind} search).")
    cal = calibration()
    best = [(k, r.matches[0]) for k, r in enumerate(results, 1) if r.matches]
    if cal is not None and best:
        prior = float(st.session_state.get("id_prior", 0.5))
        odds = [(k, m, float(np.exp(cal[0].llr(m.distance))) * prior / (1 - prior)) for k, m in best]
        st.caption(
            "Probability that each face is its closest person, at a prior of "
            f"{prior:g} (set on Verify; {cal[1]}): "
            + "; ".join(f"face {k}: {plain(m.name)} {100 * o / (1 + o):.4g}% (odds {o:.3g} to 1)" for k, m, o in odds)
            + "."
        )


FORGET_PENDING, FORGET_DONE = "id_forget_pending", "id_forget_done"


def people() -> None:
    """Who is enrolled, and Forget: it acts on the name chosen at the click, after a confirmation,
    and only while that person is enrolled (another visitor of a shared gallery may have gone first)."""
    g = gallery()
    if done := st.session_state.pop(FORGET_DONE, None):
        (st.success if done[0] else st.warning)(done[1])
    enrolled = g.people()
    if not enrolled:
        st.caption("Nobody is enrolled yet.")
        return
    shown = g.first_faces(PEOPLE_SHOWN)
    st.dataframe(
        {
            "face": [f"data:image/jpeg;base64,{base64.b64encode(t).decode()}" for _, _, t in shown],
            "person": [n for n, _, _ in shown],
            "faces": [c for _, c, _ in shown],
        },
        column_config={"face": st.column_config.ImageColumn("face", help="the first face enrolled")},
        hide_index=True,
    )
    if len(enrolled) > len(shown):
        st.caption(f"The first {len(shown):,} of {len(enrolled):,} people, in enrollment order.")
    who = st.selectbox("Person", list(enrolled), index=None, placeholder="choose a person", key="id_forget_who")
    if st.button("Forget this person", key="id_forget", disabled=who is None):
        st.session_state[FORGET_PENDING] = who
    pending = st.session_state.get(FORGET_PENDING)
    if pending is None:
        return
    faces = enrolled.get(pending, 0)
    st.warning(f"Forget **{plain(pending)}**: {faces} face(s) and their photos will be deleted.")
    c1, c2 = st.columns(2)
    if c1.button(f"Yes, forget {plain(pending)}", type="primary", key="id_forget_yes"):
        st.session_state.pop(FORGET_PENDING)
        st.session_state[FORGET_DONE] = forget(g, pending)
        st.rerun()
    if c2.button("Cancel", key="id_forget_no"):
        st.session_state.pop(FORGET_PENDING)
        st.rerun()


def forget(g: Gallery, name: str) -> tuple[bool, str]:
    """Forget exactly ``name`` if enrolled now: (whether anything was removed, what to say)."""
    removed = g.forget(name) if name in g.people() else 0
    if not removed:
        return False, f"Nobody named {plain(name)} is enrolled now (forgotten already?): nothing was removed."
    return True, f"Forgot {plain(name)}: {removed} face(s) and their photos removed."


def workspace(ws: Workspace | None, t: float) -> None:
    """Enrol the workspace in one click, and its open-set 1:N figures."""
    if ws is None or ws.dataset.faces is None:
        st.caption("Embed photos with the face descriptor on the Data & model page to enroll them or measure 1:N here.")
        return
    ds, emb = ws.dataset, ws.embeddings
    # the gallery holds the face descriptor's vectors (probes are described by it): a head's are another space
    other = (
        None if isinstance(ws.encoder, FACE_MODELS) else f"the workspace is embedded by {emb.provenance['model_name']}"
    )
    if other:
        st.caption(f"Enrolling needs the face descriptor's own vectors; {other}. 1:N below measures that model.")
    label = f"Enroll the workspace ({emb.n:,} faces of {len(ds.classes):,} people)"
    if st.button(label, key="id_enroll_ws", disabled=bool(other)):
        g = gallery()
        g.replace_people(ds.labels.tolist(), emb.vectors, list(ds.items), [str(i) for i in ds.ids])
        st.success(f"Enrolled {len(ds.classes):,} people ({g.search_kind} search).")
    if st.button("Measure 1:N on the workspace (open set)", key="id_open_set"):
        try:
            memo(ws, "open_set", (), lambda: open_set(emb.vectors, ds.labels))
        except ValueError as exc:
            st.error(f"Cannot measure 1:N: {plain(exc)}.")
    r = memo_get(ws, "open_set", ())
    if r is not None:  # kept for this workspace: the figures stay as the page reruns
        enrolled, probes = open_set_rows(ds.labels, r.unknown_identities)
        one_to_many(ws, r, enrolled, probes, t)
