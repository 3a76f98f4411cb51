"""Training augmentation: shapes, seeding, each part by hand."""

import torch

from explorer.training.augment import augment


def test_augment_keeps_shape_and_is_seeded():
    x = torch.arange(2 * 1 * 6 * 5, dtype=torch.float32).reshape(2, 1, 6, 5)
    a = augment(x, torch.Generator().manual_seed(0))
    b = augment(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)
    v = torch.ones(3, 4)
    assert torch.equal(augment(v, torch.Generator()), v)


def test_augment_parts_do_what_they_say():
    x = torch.rand(5, 1, 12, 10)
    off = dict(shift=0, scale=0, rotate=0, flip=False, brightness=0, contrast=0, erase=0)
    assert torch.allclose(augment(x, torch.Generator(), **off), x, atol=1e-6)  # the identity warp resamples nothing
    flipped = augment(x, torch.Generator().manual_seed(3), **{**off, "flip": True})
    for a, b in zip(flipped, x, strict=True):  # each image is itself or its mirror
        assert torch.allclose(a, b) or torch.allclose(a, b.flip(2))
    lit = augment(x, torch.Generator().manual_seed(3), **{**off, "brightness": 0.5})
    offset = (lit - x).flatten(1)
    assert torch.allclose(offset, offset[:, :1].expand_as(offset), atol=1e-6)  # one offset per image
    assert (offset[:, 0].abs() <= 0.5).all() and offset[:, 0].std() > 0
    con = augment(x, torch.Generator().manual_seed(3), **{**off, "contrast": 0.3})
    assert torch.allclose(con.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)  # the mean stays
    moved = augment(x, torch.Generator().manual_seed(3), **{**off, "shift": 0.2, "rotate": 10, "scale": 0.1})
    assert moved.shape == x.shape and not torch.allclose(moved, x)
    assert moved.min() >= x.min() - 1e-6 and moved.max() <= x.max() + 1e-6  # bilinear + border: no new values


def test_random_erasing_replaces_one_rectangle_per_chosen_image():
    from explorer.training.augment import random_erase

    x = torch.full((400, 2, 20, 15), 7.0)  # noise never equals 7 exactly
    out = random_erase(x, torch.Generator().manual_seed(1), 0.5)
    changed = out != 7.0
    assert torch.equal(changed[:, 0], changed[:, 1])  # the same rectangle in every channel
    hit = changed.flatten(1).any(1)
    assert 0.4 < hit.float().mean() < 0.6
    for img in changed[hit, 0]:  # by hand: the changed pixels are exactly their bounding box
        rows, cols = torch.nonzero(img.any(1)).flatten(), torch.nonzero(img.any(0)).flatten()
        h, w = int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
        assert int(img.sum()) == h * w
        assert int(20 * 0.2) <= h <= 20 * 0.5 and int(15 * 0.2) <= w <= 15 * 0.5
    assert torch.equal(random_erase(x, torch.Generator(), 0.0), x)
    assert (
        augment(
            x,
            torch.Generator().manual_seed(0),
            shift=0,
            scale=0,
            rotate=0,
            flip=False,
            brightness=0,
            contrast=0,
            erase=1.0,
        )
        .ne(7.0)
        .flatten(1)
        .any(1)
        .all()
    )
