"""Train: triplet / contrastive / Siamese training of the workspace data, live, in the background."""

import streamlit as st

from explorer.ui import checkpoints, state, train_form
from explorer.ui import train as ui

st.title("Train")
ws = state.require_workspace(whole=True)
st.write(
    "Train an embedding on the workspace data and watch it learn. Whole identities are held out for "
    "validation (open set). Negatives come from the batch, or from an HNSW index over the whole training "
    "set, rebuilt as the model moves. The run goes on in the background: switch pages or refresh, it keeps "
    "going (its id is in the address)."
)
run = ui.current_run()
if run is None:
    if ws.dataset.kind == "vector" and ws.dataset.is_embedding:
        st.info("These vectors are embeddings already: a small MLP on top of them will be trained.")
    n_ids, usable = train_form.summary_counts(ws)
    if usable < train_form.MIN_IDENTITIES:
        st.warning(train_form.too_few_identities(n_ids, usable))
        st.stop()
    got = train_form.form(ws)
    if got is not None and ui.start(ws, *got) is not None:
        st.rerun()  # the run's view replaces the form
if run is not None:
    ui.controls(run)
    ui.settings(run)
    ui.live(run)
    st.subheader("Checkpoints")
    checkpoints.checkpoint_list(run)
