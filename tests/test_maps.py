"""The map's parts: distinct colours in natural order, bounded drawing, exact regions, search."""

import numpy as np
import pytest

from explorer.data.order import natural
from explorer.data.search import find
from explorer.plots.maps import OTHER, PALETTE, category_colours, drawn_rows, scatter_map
from explorer.plots.regions import inside_box, inside_polygon, selected_region


def test_natural_order_reads_like_a_person():
    assert natural(["s10", "s2", "s1", "S3", "s1"]) == ["s1", "s2", "S3", "s10"]
    assert len(natural(["7", "007", "7.0"])) == 3  # labels as written stay three


def test_forty_identities_get_forty_distinct_colours_and_a_natural_legend():
    labels = np.array([f"s{i}" for i in range(1, 41)]).repeat(10)
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(len(labels), 2))
    fig = scatter_map(coords, labels, kind="category", name="label", hover=labels)
    names = [t.name for t in fig.data]
    assert names == [f"s{i}" for i in range(1, 41)]
    colours = [t.marker.color for t in fig.data]
    assert len(set(colours)) == 40 and OTHER not in colours
    assert sum(len(t.customdata) for t in fig.data) == 400


def test_beyond_the_palette_the_chosen_or_largest_are_coloured_the_rest_grey():
    labels = np.array([f"c{i}" for i in range(60)]).repeat(np.arange(1, 61))  # c59 largest
    got = category_colours(labels)
    assert len(got.coloured) == len(PALETTE) and set(got.coloured) == {f"c{i}" for i in range(12, 60)}
    assert got.grey == [f"c{i}" for i in range(12)] and got.colour_of("c3") == OTHER
    chosen = category_colours(labels, ["c5", "c1"])
    assert chosen.coloured == ["c1", "c5"] and len(chosen.grey) == 58
    fig = scatter_map(np.zeros((len(labels), 2)), labels, kind="category", name="label", hover=labels, colours=chosen)
    assert [t.name for t in fig.data] == ["c1", "c5", "58 other labels"]
    assert len(fig.data[-1].customdata) == len(labels) - 2 - 6


def test_drawn_rows_are_bounded_and_keep_the_matches():
    keep = np.zeros(5000, bool)
    keep[[3, 4000, 4999]] = True
    rows = drawn_rows(5000, 1000, keep=keep, seed=1)
    assert len(rows) == 1000 and len(np.unique(rows)) == 1000 and set(np.flatnonzero(keep)) <= set(rows)
    np.testing.assert_array_equal(rows, drawn_rows(5000, 1000, keep=keep, seed=1))
    np.testing.assert_array_equal(drawn_rows(50, 1000), np.arange(50))
    fig = scatter_map(
        np.random.default_rng(0).normal(size=(5000, 2)),
        np.array(["a", "b"]).repeat(2500),
        kind="category",
        name="label",
        hover=np.arange(5000).astype(str),
        rows=rows,
        matches=keep,
    )
    drawn = np.concatenate([t.customdata for t in fig.data[:-1]])
    assert sorted(drawn) == sorted(rows) and fig.data[-1].name == "matches (3)"
    assert sorted(fig.data[-1].customdata) == [3, 4000, 4999]


def _inside_by_hand(p, xs, ys):
    """Oracle: the crossing-number loop, one point and one edge at a time."""
    inside = False
    n = len(xs)
    for i in range(n):
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        if (y1 > p[1]) != (y2 > p[1]) and p[0] < x1 + (p[1] - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_lasso_and_box_select_every_item_inside_them():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, size=(3000, 2))
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    r = 0.5 + 0.3 * np.sin(5 * t)  # a star: concave
    xs, ys = list(r * np.cos(t)), list(r * np.sin(t))
    want = np.array([_inside_by_hand(p, xs, ys) for p in pts])
    np.testing.assert_array_equal(inside_polygon(pts, xs, ys), want)
    box = inside_box(pts, [0.5, -0.2], [-0.1, 0.3])
    np.testing.assert_array_equal(
        box, (pts[:, 0] >= -0.2) & (pts[:, 0] <= 0.5) & (pts[:, 1] >= -0.1) & (pts[:, 1] <= 0.3)
    )
    got = selected_region(pts, {"box": [{"x": [0.5, -0.2], "y": [-0.1, 0.3]}], "lasso": [{"x": xs, "y": ys}]})
    np.testing.assert_array_equal(got, np.flatnonzero(box | want))
    assert selected_region(pts, {"box": [], "lasso": [], "points": [{"customdata": 3}]}) is None


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("s1", [0, 1]),  # a label: its items, not s10's
        ("S1", [0, 1]),
        ("s1, s10", [0, 1, 2]),
        ("img_0", [0, 1, 2, 3]),  # not a label: ids containing it
        ("1", [0, 1, 2]),  # not a label either: ids and labels containing it
        ("", []),
        ("zz", []),
    ],
)
def test_find_by_label_or_id(query, want):
    ids = np.array(["img_01.png", "img_02.png", "img_03.png", "img_04.png"])
    labels = np.array(["s1", "s1", "s10", "s2"])
    assert list(np.flatnonzero(find(ids, labels, query))) == want


def test_atlas_cells_hold_each_thumbnail_in_order():
    from explorer.plots.atlas import build_atlas, cell_of

    rng = np.random.default_rng(0)
    thumbs = [np.full((8, 8), v, np.uint8) for v in rng.integers(0, 256, 30)]  # grey squares, 8 x 8
    thumbs.append(np.full((20, 10, 3), (255, 0, 0), np.uint8))  # a tall red one: centred, aspect kept
    atlas = build_atlas(thumbs, cell=16)
    assert atlas.cols == 6 and atlas.count == 31
    for i in (0, 7, 29):
        cell = cell_of(atlas, i).astype(int)
        assert np.abs(cell - int(thumbs[i][0, 0])).max() <= 12  # JPEG: within its rounding
    red = cell_of(atlas, 30).astype(int)
    assert red[8, 8, 0] > 200 and red[8, 8, 1] < 60  # the middle is red
    assert red[8, 1].max() < 40  # the sides are the black margin (10 px wide -> 8 of 16)
