"""Ray engines: the encoder in a Ray Data actor pool and the all-pairs pass as Ray tasks give the
single-process results exactly. They need the [ray] extra (pip install '.[ray]'); without it they
skip, unless REQUIRE_RAY=1 (CI) makes that a failure."""

import os
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import assert_same_pair_scores

from explorer.cli import main

try:
    import ray
    import ray.data  # noqa: F401
except ImportError:
    if os.environ.get("REQUIRE_RAY") == "1":
        raise
    ray = None

needs_ray = pytest.mark.skipif(ray is None, reason="the [ray] extra is not installed: pip install '.[ray]'")


@pytest.fixture(scope="module")
def cluster():
    """A local cluster with one logical CPU more than the largest actor pool used here."""
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@needs_ray
def test_an_actor_pool_gives_the_single_process_embeddings(cluster):
    from explorer.data.digits import load_digits
    from explorer.distributed.embedding import RayEmbedding
    from explorer.models.checkpoints import load_default_encoder
    from explorer.models.embedding import embed_items

    items, encoder = load_digits().items, load_default_encoder()
    here = embed_items(encoder, items, batch_size=200)
    there = RayEmbedding(1).embed_items(encoder, items, batch_size=200)  # pools of 2: the tests below
    np.testing.assert_array_equal(there, here)


@needs_ray
def test_ray_tasks_give_the_in_process_counts_and_tails(cluster):
    from explorer.analysis.pairs import all_pairs
    from explorer.distributed.pairs import RayPairs

    rng = np.random.default_rng(3)
    y = rng.integers(0, 50, 2500)
    x = (rng.normal(size=(50, 16))[y] + rng.normal(size=(2500, 16))).astype(np.float32)
    here = all_pairs(x, y, metric="euclidean", block=512, k_tail=5000)
    there = all_pairs(x, y, metric="euclidean", block=512, k_tail=5000, engine=RayPairs(tasks=4))
    assert_same_pair_scores(there, here)


@needs_ray
def test_the_command_line_on_ray_writes_what_it_writes_here(cluster, tmp_path, monkeypatch):
    import json

    import pyarrow.parquet as pq

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))  # no cached embeddings: Ray runs
    here, there = tmp_path / "here.parquet", tmp_path / "ray.parquet"
    assert CliRunner().invoke(main, ["embed", "digits", "-o", str(here)]).exit_code == 0
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache2"))
    res = CliRunner().invoke(main, ["embed", "digits", "--engine", "ray", "--actors", "2", "-o", str(there)])
    assert res.exit_code == 0, res.output
    a, b = pq.read_table(here).to_pandas(), pq.read_table(there).to_pandas()
    assert a.equals(b)
    cards = []
    for extra in ([], ["--engine", "ray", "--tasks", "3"]):
        out = tmp_path / f"card{len(extra)}.json"
        res = CliRunner().invoke(main, ["threshold", str(here), "--far", "1e-3", "-o", str(out), *extra])
        assert res.exit_code == 0, res.output
        cards.append({k: v for k, v in json.loads(out.read_text()).items() if k != "created"})
    assert cards[0] == cards[1]


def test_without_the_extra_the_engine_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as without the extra
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    res = CliRunner().invoke(main, ["embed", "digits", "--engine", "ray", "-o", str(tmp_path / "x.parquet")])
    assert res.exit_code == 2 and "pip install '.[ray]'" in res.output and "Traceback" not in res.output


@needs_ray
def test_a_folder_read_by_the_actors_gives_the_loaders_embeddings(cluster, att_faces, tmp_path):
    """The actors read and decode the images themselves: the same items, order and vectors as
    the single-process loader; a file that does not decode is listed, not fatal."""
    import shutil

    from explorer.data.folders import load_directory
    from explorer.distributed.embedding import RayEmbedding
    from explorer.models.checkpoints import load_default_encoder
    from explorer.models.embedding import embed_dataset

    folder = tmp_path / "faces"
    for person in ("s1", "s2", "s10", "s3"):
        shutil.copytree(att_faces / person, folder / person)
    (folder / "s3" / "broken.pgm").write_bytes(b"P5 not really an image")
    encoder = load_default_encoder()
    want = embed_dataset(load_directory(folder), encoder)
    emb, failures = RayEmbedding(2).embed_folder(folder, encoder)
    assert list(emb.ids) == list(want.ids) and list(emb.labels) == list(want.labels)
    np.testing.assert_array_equal(emb.vectors, want.vectors)
    assert [f.path for f in failures] == ["s3/broken.pgm"]
    assert emb.provenance["checkpoint_hash"] == want.provenance["checkpoint_hash"]
    out = tmp_path / "faces.npz"
    res = CliRunner().invoke(main, ["embed", str(folder), "--engine", "ray", "--actors", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "skipped s3/broken.pgm" in res.output
    with np.load(out, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["vectors"], want.vectors)


@needs_ray
def test_the_face_descriptor_cuts_its_chips_in_the_actors(cluster, att_faces, tmp_path):
    """Photos for the face descriptor: each actor cuts the aligned chips itself and describes
    them; the single process's chips and descriptors, exactly."""
    import shutil

    from explorer.data.folders import load_directory
    from explorer.distributed.embedding import RayEmbedding
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import FaceSettings
    from explorer.models.embedding import embed_dataset

    folder = tmp_path / "faces"
    for person in ("s1", "s2"):
        shutil.copytree(att_faces / person, folder / person)
    encoder = FaceEncoder(FaceSettings(crops=True))
    want = embed_dataset(encoder.prepare(load_directory(folder)), encoder)
    emb, failures = RayEmbedding(2).embed_folder(folder, encoder)
    assert failures == [] and list(emb.ids) == list(want.ids)
    np.testing.assert_array_equal(emb.vectors, want.vectors)


@needs_ray
@pytest.mark.parametrize(("gpus", "says"), [("1", "this Ray cluster has 0 GPUs"), ("-1", "must be 0 or more")])
def test_gpu_actors_the_cluster_cannot_place_are_refused_not_waited_for(cluster, tmp_path, monkeypatch, gpus, says):
    from click.testing import CliRunner

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))  # a cached embedding would need no actor

    from explorer.cli import main

    args = ["embed", "digits", "--engine", "ray", "--gpus-per-actor", gpus, "-o", str(tmp_path / "x.parquet")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert says in res.output and "Traceback" not in res.output


def test_an_encoder_sent_to_another_process_goes_as_a_cpu_one_and_moves_where_it_is_told():
    import pickle

    import torch

    from explorer.models.checkpoints import load_default_encoder

    enc = load_default_encoder()
    back = pickle.loads(pickle.dumps(enc))
    assert back.device.type == "cpu" and next(back.model.parameters()).device.type == "cpu"
    back.to_device(torch.device("cpu"))
    items = [np.zeros((8, 8), np.uint8)] * 3
    np.testing.assert_array_equal(back.encode(items), enc.encode(items))


@needs_ray
def test_the_two_stage_job_reads_and_detects_apart_from_describing(cluster, att_faces, tmp_path):
    """What runs with GPUs, here on the CPUs: actors that read, decode and cut the chips, then
    actors that describe them; the single process's descriptors, and its failures to acquire."""
    import shutil

    from conftest import image_bytes

    from explorer.data.folders import load_directory
    from explorer.distributed.folder_job import embed_folder
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import FaceSettings
    from explorer.models.embedding import embed_dataset

    folder = tmp_path / "faces"
    for person in ("s1", "s2"):
        shutil.copytree(att_faces / person, folder / person)
    (folder / "s2" / "blank.png").write_bytes(image_bytes(np.full((112, 92), 128, np.uint8), "PNG"))
    (folder / "s2" / "broken.png").write_bytes(b"not an image")
    encoder = FaceEncoder(FaceSettings())  # not crops: the blank photo is a failure to acquire
    chips = encoder.prepare(load_directory(folder))
    want = embed_dataset(chips, encoder)
    emb, failures = embed_folder(folder, encoder, actors=2, stages=2)
    assert list(emb.ids) == list(want.ids)
    np.testing.assert_allclose(emb.vectors, want.vectors, atol=1e-6)
    said = {f.path: f.reason for f in failures}
    assert said.keys() == {f.path for f in chips.failures} and "failure to acquire" in said["s2/blank.png"]
