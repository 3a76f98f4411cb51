"""AppTest of the Train page: start a tiny run on the bundled digits, see progress, stop another."""

import time

import numpy as np
import pytest
from conftest import APP, open_faces_workspace, open_page
from streamlit.testing.v1 import AppTest

from explorer.training import jobs


def _number(at, label):
    return next(n for n in at.number_input if n.label == label)


def _wait(run, cond, timeout=180):
    t = time.time()
    while not cond() and time.time() - t < timeout:
        time.sleep(0.1)
    assert cond(), run.status


def _start(at) -> jobs.Run | None:
    """Press Start; the run this session started."""
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception, at.exception
    return jobs.get_run(at.session_state["train_run"]) if "train_run" in at.session_state else None


def _vectors_on_train(labels: list[str], dim: int, seed: int = 0, spread: bool = True) -> AppTest:
    """A session whose workspace is an uploaded vector table (one row per label, Gaussian around
    the label's index when ``spread``), on the Train page."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    rng = np.random.default_rng(seed)
    index = {c: k for k, c in enumerate(dict.fromkeys(labels))}
    rows = [f"{c},{','.join(f'{v:.4f}' for v in rng.normal(index[c] if spread else 0, 1.0, dim))}" for c in labels]
    at.radio(key="dm_source").set_value("Vector table").run()
    header = "label," + ",".join(f"f{j}" for j in range(dim))
    at.file_uploader[0].upload("v.csv", (header + "\n" + "\n".join(rows)).encode(), "text/csv")
    at.run()
    at.button(key="dm_go").click().run()
    assert not at.error, [e.value for e in at.error]
    at.switch_page("app_pages/train.py").run()
    return at


def _held_out_by_default(at, run):
    """After "Use this model" the pages say how many items the model trained on and evaluate the
    identities it never saw; a toggle shows all; the threshold card records which were evaluated."""
    from explorer.analysis.retrieval import retrieval_metrics

    ws = at.session_state["workspace"]
    trained = set(run.spec.info["training_data"]["identities"])
    held = ~np.isin(ws.embeddings.labels, list(trained))
    at.switch_page("app_pages/retrieval.py").run()
    assert not at.exception, at.exception
    n_seen = int((~held).sum())
    assert any(f"trained on {n_seen:,} of these 1,797 items" in i.value for i in at.info)
    metric = at.selectbox(key="rt_metric").value
    ref = retrieval_metrics(ws.embeddings.vectors[held], ws.embeddings.labels[held], metric=metric)
    assert {m.label: m.value for m in at.metric}["MAP@R"] == f"{ref.map_at_r:.4f}"
    at.toggle(key="eval_all_identities").set_value(True).run()
    every = retrieval_metrics(ws.embeddings.vectors, ws.embeddings.labels, metric=metric)
    assert {m.label: m.value for m in at.metric}["MAP@R"] == f"{every.map_at_r:.4f}"
    assert any("flatter it" in w.value for w in at.warning)
    at.toggle(key="eval_all_identities").set_value(False).run()
    at.switch_page("app_pages/threshold.py").run()
    assert not at.exception, at.exception
    card = next(e for e in at.expander if e.label == "Preview the card").markdown[0].value
    assert "Evaluated on held-out identities (never seen in training): 2 identities, 0 of them seen" in card
    at.switch_page("app_pages/compare.py").run()
    at.segmented_control(key="cmp_part").set_value("Two models on this workspace").run()
    at.radio(key="cmp_b_source").set_value("Bundled digits ConvNet").run()
    next(b for b in at.button if b.label == "Embed the workspace with model B").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert "MAP@R" in table.columns and len(table) == 3  # A, B and B - A
    at.switch_page("app_pages/train.py").run()


def test_start_progress_checkpoint_and_stop():
    jobs._RUNS.clear()
    at = open_page("app_pages/train.py")
    _number(at, "Steps").set_value(20)
    _number(at, "Validate every (steps)").set_value(5)
    _number(at, "Checkpoint every (steps)").set_value(10)
    _number(at, "Index refresh every (steps)").set_value(5)
    run = _start(at)
    assert run is not None and run.cfg.steps == 20 and run.cfg.miner == "hnsw"
    _wait(run, lambda: not run.active)
    at.run()
    assert run.status == "finished" and run.checkpoints == [10, 20]
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "HNSW index" in text and "steps since the last" in text
    assert {m.label for m in at.metric} >= {"P@1", "MAP@R", "ROC AUC", "EER"}
    assert any(e.label == "Settings of this run" for e in at.expander)
    settings = at.table[0].value  # what the run is, for whoever reattaches to it
    assert settings.loc["Steps", "value"] == "20" and settings.loc["Negatives", "value"].startswith("hnsw (semihard")
    assert settings.loc["Data", "value"] == "digits (scikit-learn), 1,797 items"
    assert [r["step"] for r in run.validations] == [0, 5, 10, 15, 20]
    assert any(b.label == "Use this model" for b in at.button)
    table = next(d.value for d in at.dataframe if "against the start" in d.value)  # the start is a row
    assert list(table["checkpoint"]) == ["start (before training)", "step 10", "step 20"]
    assert table["MAP@R"][0] == pytest.approx(run.validations[0]["map_at_r"])
    marks = dict(zip(table["checkpoint"], table["against the start"], strict=True))
    best = run.best_checkpoint()
    assert all(("best" in marks[f"step {s}"]) == (s == best) for s in (10, 20))
    assert (
        at.text_input(key=f"tr_name_{run.id}_20").value
        == run.model_name(20)
        == (f"digits (scikit-learn) triplet step 20 MAP@R {run.figures(20)['map_at_r']:.3f}")
    )
    # "Use this model": the workspace now embeds with the trained checkpoint
    next(b for b in at.button if b.label == "Use this model").click().run()
    assert not at.exception, at.exception
    ws = at.session_state["workspace"]
    assert "step 20" in ws.embeddings.provenance["model_name"] and ws.embeddings.n == 1797
    n_train = len(run.trainer.data.y_train)  # what the model learned from travels with it (the threshold card names it)
    assert ws.embeddings.provenance["model_trained_on"] == (
        f"digits (scikit-learn): {n_train:,} items of 8 identities (2 identities held out for validation)"
    )
    _held_out_by_default(at, run)
    # ... and the address names it, so a refresh comes back to the same workspace
    assert at.query_params["model"] == f"run:{run.id}:20" and at.query_params["data"] == "digits"
    fresh = AppTest.from_file(APP, default_timeout=180)
    fresh.query_params.update(at.query_params)
    fresh.run()
    assert not fresh.exception and not fresh.error
    assert "step 20" in fresh.session_state["workspace"].embeddings.provenance["model_name"]
    fresh = AppTest.from_file(APP, default_timeout=180)
    fresh.query_params.update(data="digits", model=f"run:{run.id}:15")  # not a checkpoint of that run
    fresh.run()
    assert any("no checkpoint at step 15" in e.value for e in fresh.error)
    assert fresh.session_state["workspace"].embeddings.provenance["model_name"] == "digits_convnet.safetensors"
    # a second, long run: Stop ends it and keeps a checkpoint of where it stopped
    next(b for b in at.button if b.label == "New run").click().run()
    _number(at, "Steps").set_value(5000)
    _number(at, "Zoom (+-)").set_value(0.25)
    next(c for c in at.checkbox if c.label == "Weight average").check()
    next(c for c in at.checkbox if c.label == "Random erasing").check()
    stripes = next(c for c in at.checkbox if c.label == "Stripe embeddings")
    # 8 x 8 digits are too small for stripes: greyed out (AppTest, as a browser, refuses to tick it), saying why
    assert stripes.disabled and "at least 24 px high; these images train at 8 x 8 px" in stripes.help
    next(b for b in at.button if b.label == "Start").click().run()
    run2 = jobs.get_run(at.session_state["train_run"])
    assert run2.id != run.id and run2.cfg.ema == 0.999 and run2.cfg.erase == 0.5 and run2.cfg.zoom == 0.25
    assert run.cfg.zoom == 0.1
    assert "stripes" not in run2.spec.params
    assert run.cfg.ema == 0.0 and run.cfg.erase == 0.0  # both off unless ticked
    _wait(run2, lambda: run2.step >= 3)
    next(b for b in at.button if b.label == "Stop").click().run()
    _wait(run2, lambda: not run2.active)
    assert run2.status == "stopped" and run2.checkpoints[-1] == run2.step < 5000
    jobs._RUNS.clear()


def test_options_of_a_new_architecture_are_refused_for_the_workspace_model(att_faces):
    """On faces both options are open; ticked with the workspace model as the start they would be
    silently dropped (they change the architecture), so Start refuses and says why."""
    jobs._RUNS.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["data"] = f"dir:{att_faces}"
    at.query_params["model"] = "bundled"
    at.run()
    at.switch_page("app_pages/train.py").run()
    boxes = {c.label: c for c in at.checkbox}
    assert not boxes["Learned alignment"].disabled and not boxes["Stripe embeddings"].disabled
    at.radio[0].set_value("workspace")
    boxes["Stripe embeddings"].check()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception, at.exception
    assert any("Cannot start: stripe embeddings build a new architecture" in e.value for e in at.error)
    assert "train_run" not in at.session_state and not jobs._RUNS


def test_the_address_keeps_the_run_and_the_workspace_across_page_switches(att_faces):
    """Streamlit clears the query string on every page switch; a refresh after one must still find
    the workspace and the run, so the router writes them back."""
    jobs._RUNS.clear()
    at = open_page("app_pages/train.py")
    _number(at, "Steps").set_value(5)
    next(b for b in at.button if b.label == "Start").click().run()
    run = jobs.get_run(at.session_state["train_run"])
    assert at.query_params["run"] == run.id and at.query_params["data"] == "digits"
    _wait(run, lambda: not run.active)
    at.switch_page("app_pages/retrieval.py")
    at.query_params.clear()  # what the browser does on a page switch
    at.run()
    assert not at.exception, at.exception
    assert at.query_params == {"run": run.id, "data": "digits", "model": "bundled"}
    # a refresh is a new session on that address: it reattaches to the run
    fresh = AppTest.from_file(APP, default_timeout=180)
    fresh.query_params.update(at.query_params)
    fresh.run()
    fresh.switch_page("app_pages/train.py").run()
    assert fresh.session_state["train_run"] == run.id
    assert any(e.label == "Settings of this run" for e in fresh.expander)
    # the same run seen from a workspace of other data: "Use this model" says what it trained on
    other = AppTest.from_file(APP, default_timeout=180)
    other.query_params.update(data=f"dir:{att_faces}", model="bundled", run=run.id)
    other.run()
    other.switch_page("app_pages/train.py").run()
    assert any(
        "This run trained on digits (scikit-learn); the workspace now holds att_faces" in w.value for w in other.warning
    )
    assert not any("This run trained on" in w.value for w in fresh.warning)
    # "New run" lets go of it for good
    next(b for b in fresh.button if b.label == "New run").click().run()
    fresh.switch_page("app_pages/distances.py")
    fresh.query_params.clear()
    fresh.run()
    assert "run" not in fresh.query_params and fresh.query_params["data"] == "digits"
    jobs._RUNS.clear()


def test_vectors_train_an_mlp_without_image_options():
    """A vector table trains the MLP; augmentation, zoom and erasing warp images only, so they are
    greyed out and the run's settings say augmentation is off."""
    jobs._RUNS.clear()
    at = _vectors_on_train([f"c{i % 10}" for i in range(200)], 6)
    boxes = {c.label: c for c in at.checkbox}
    assert boxes["Augment images"].disabled and not boxes["Augment images"].value
    assert boxes["Random erasing"].disabled and "these items are vectors" in boxes["Augment images"].help
    assert _number(at, "Zoom (+-)").disabled
    _number(at, "Steps").set_value(10)
    run = _start(at)
    _wait(run, lambda: not run.active)
    at.run()
    assert run.status == "finished" and run.spec.architecture == "mlp" and not run.cfg.augment
    settings = at.table[0].value
    assert settings.loc["Augmentation", "value"] == "off" and settings.loc["Input", "value"] == "vector[6]"
    # a run on uploads belongs to this session: never in the address, refused from another session
    assert "run" not in at.query_params and not run.keep_data
    other = AppTest.from_file(APP, default_timeout=180)
    other.query_params["run"] = run.id
    other.run()
    other.switch_page("app_pages/train.py").run()
    assert any("belongs to the session that started it" in w.value for w in other.warning)
    assert not any(b.label == "Use this model" for b in other.button)
    other = AppTest.from_file(APP, default_timeout=180)
    other.query_params.update(data="digits", model=f"run:{run.id}:{run.checkpoints[-1]}")
    other.run()
    assert any("belongs to the session that started it" in e.value for e in other.error)
    jobs._RUNS.clear()


def test_the_form_lists_every_loss_and_strategy_and_its_help_says_what_not_how_much():
    """The choices come from the registries, by title; help texts say what an option does and when
    to use it, and carry no measured figures (those live in benchmarks/README.md)."""
    import re

    from explorer.training.negatives import NEGATIVES
    from explorer.training.objectives import OBJECTIVES

    at = open_page("app_pages/train.py")
    loss = next(s for s in at.selectbox if s.label == "Loss")
    negatives = next(s for s in at.selectbox if s.label == "Negatives")
    assert loss.options == [c.title for c in OBJECTIVES.values()]
    assert negatives.options == [c.title for c in NEGATIVES.values()]
    assert all(c.help in negatives.help for c in NEGATIVES.values())
    widgets = [*at.selectbox, *at.number_input, *at.checkbox, *at.slider]
    helps = [w.help for w in widgets if w.help]
    assert len(helps) >= 12
    for text in helps:
        assert not re.search(r"[Mm]easured|\bAUC\b|accuracy \d|[+-]0\.0\d|\bseeds?\b", text), text


def test_a_head_on_the_face_descriptor_is_measured_against_the_descriptor_and_used_through_it(
    att_faces, tmp_path, monkeypatch
):
    jobs._RUNS.clear()
    at = open_faces_workspace(att_faces, tmp_path, monkeypatch, 8, "app_pages/train.py")
    start = at.radio[0]
    assert start.options[-1].startswith("a head on the face descriptor")
    start.set_value("head")
    _number(at, "Steps").set_value(20)
    _number(at, "P (identities per batch)").set_value(4)
    run = _start(at)
    _wait(run, lambda: not run.active)
    at.run()
    assert run.status == "finished" and run.spec.info["base"] == "faces-crops" and not run.cfg.augment
    assert any(
        "The untrained descriptor (unit length, as the head's output) reads ROC AUC" in c.value for c in at.caption
    )
    auc = next(m for m in at.metric if m.label == "ROC AUC")
    assert "against the untrained descriptor" in auc.help
    next(b for b in at.button if b.label == "Use this model").click().run()
    assert not at.exception, at.exception
    ws = at.session_state["workspace"]
    assert ws.embeddings.dim == run.spec.out_dim and "on Face descriptor" in ws.embeddings.provenance["model_name"]
    jobs._RUNS.clear()


def test_the_face_descriptor_itself_is_fine_tuned_and_measured_against_the_untrained_one(
    att_faces, tmp_path, monkeypatch
):
    jobs._RUNS.clear()
    at = open_faces_workspace(att_faces, tmp_path, monkeypatch, 12, "app_pages/train.py")
    start = at.radio[0]
    assert "the face descriptor itself (dlib's weights, fine-tuned)" in start.options
    start.set_value("workspace")
    next(r for r in at.radio if r.label == "Fine-tuning the descriptor trains").set_value(4)
    _number(at, "Steps").set_value(4)
    _number(at, "P (identities per batch)").set_value(4)
    _number(at, "K (items per identity)").set_value(2)
    _number(at, "Validate every (steps)").set_value(2)
    _number(at, "Checkpoint every (steps)").set_value(2)
    next(c for c in at.checkbox if c.label == "Augment images").uncheck()
    run = _start(at)
    assert run is not None, [e.value for e in at.error]
    _wait(run, lambda: not run.active, timeout=600)
    at.run()
    assert (
        run.status == "finished" and run.spec.architecture == "dlib_resnet" and run.spec.params["trained_blocks"] == 4
    )
    base = run.spec.info["baseline"]
    assert base["auc"] == pytest.approx(run.validations[0]["auc"], abs=1e-6)  # step 0 is the untrained descriptor
    said = " ".join(c.value for c in at.caption)
    assert "The starting descriptor (Face descriptor (dlib ResNet, 128-d)) reads ROC AUC" in said
    auc = next(m for m in at.metric if m.label == "ROC AUC")
    assert "against the untrained descriptor" in auc.help
    jobs._RUNS.clear()


def test_too_few_identities_state_the_rule():
    """3 identities of 2 items or more (and one of 1): the page states the rule, not only a count."""
    at = _vectors_on_train(["a"] * 5 + ["b"] * 5 + ["c"] * 5 + ["d"], 4, spread=False)
    said = " ".join(w.value for w in at.warning)
    assert "at least 4 identities with 2 items or more each" in said and "this data has 3 such identities of 4" in said


def test_a_run_on_uploads_leaves_nothing_on_disk_after_the_session(tmp_path, monkeypatch):
    """Its spec names the data and every identity, its checkpoints are weights trained on them:
    they live in a private temporary folder while the session lasts, and go with it."""
    import gc

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    jobs._RUNS.clear()
    at = _vectors_on_train([f"person{i % 14}" for i in range(112)], 4, seed=1)
    _number(at, "Steps").set_value(6)
    run = _start(at)
    assert run is not None, [e.value for e in at.error] + [w.value for w in at.warning]
    _wait(run, lambda: not run.active)
    folder = run.folder
    assert run.checkpoints and folder.is_dir() and "person0" in (folder / "spec.json").read_text()
    written = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert not [p for p in written if "person0" in p.read_bytes().decode("latin-1")]  # nothing in the shared cache
    del at
    gc.collect()  # Streamlit lets a closed session's state go; collecting it ends the run's files
    deadline = time.time() + 60
    while folder.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert not folder.exists() and jobs.get_run(run.id) is None
