"""What a run starts from: provenance of the split and the starting model."""

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
    assert spec.info["training_data"] == {"name": "blobs", "items": 20, "data_hash": "h" * 64}
    again = with_provenance(spec, ds, train, val, fine_tuned=True)  # fine-tuning it names where it started
    assert (
        again.info["trained_on"]
        == spec.info["trained_on"] + "; fine-tuned from a model trained on " + spec.info["trained_on"]
    )
