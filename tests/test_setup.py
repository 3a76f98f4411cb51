"""What a run starts from: provenance of the split and the starting model."""

import pytest
from training_fixtures import blobs

from explorer.training.setup import split_identities


def test_provenance_names_the_data_the_split_and_the_starting_model():
    from explorer.data.dataset import Dataset
    from explorer.training.setup import spec_from_scratch, with_provenance

    x, y = blobs(n_ids=5, per=4)
    ds = Dataset(
        name="blobs",
        kind="vector",
        ids=[str(i) for i in range(len(y))],
        labels=[f"p{v}" for v in y],
        items=x,
        content_hash="h" * 64,
        origin="server",
    )
    train, val = split_identities(ds.labels, val_labels=["p0", "p1"])
    spec = with_provenance(spec_from_scratch(ds), ds, train, val, fine_tuned=False)
    assert spec.info["trained_on"] == "blobs: 12 items of 3 identities (2 identities held out for validation)"
    assert spec.info["training_data"] == {
        "name": "blobs",
        "items": 20,
        "data_hash": "h" * 64,
        "identities": ["p2", "p3", "p4"],  # the identities trained on: the pages hold the others out
    }
    again = with_provenance(spec, ds, train, val, fine_tuned=True)  # fine-tuning it names where it started
    assert (
        again.info["trained_on"]
        == spec.info["trained_on"] + "; fine-tuned from a model trained on " + spec.info["trained_on"]
    )


def test_a_residual_head_starts_as_the_identity_and_keeps_the_size():
    import torch

    from explorer.data.dataset import Dataset
    from explorer.models.architectures import build_model
    from explorer.training.setup import spec_from_scratch

    x, y = blobs(n_ids=4, per=3)
    ds = Dataset(name="d", kind="vector", ids=[str(i) for i in range(len(y))], labels=y.astype(str), items=x,
                 content_hash="d" * 64, origin="server")  # fmt: skip
    spec = spec_from_scratch(ds, residual=True)
    assert spec.out_dim == x.shape[1] and spec.params["residual"] is True
    model = build_model(spec)
    t = torch.from_numpy(x)
    torch.testing.assert_close(model(t), t)  # its last layer starts at zero
    assert spec_from_scratch(ds).out_dim == 64  # not a head: the plain MLP
    with pytest.raises(Exception, match="keeps the input's size"):
        build_model(type(spec)("mlp", {"in_dim": 32, "residual": True}, spec.input, 16))
