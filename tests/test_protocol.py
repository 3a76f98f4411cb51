import numpy as np
import pytest

from explorer.data.protocol import parse_lfw_pairs, parse_pairs_csv
from explorer.errors import InputError

IDS = np.array([f"{n}/{n}_{i:04d}.jpg" for n in ("Ann", "Bob") for i in (1, 2, 3)])


def test_lfw_pairs_folds_and_unknowns():
    text = "2 1\nAnn 1 2\nAnn 1 Bob 3\nBob 1 2\nBob 2 Zed 1\ngarbage line here now extra\n"
    p = parse_lfw_pairs(text, IDS)
    assert list(p.index_a) == [0, 0, 3] and list(p.index_b) == [1, 5, 4]
    assert list(p.same) == [True, False, True] and list(p.fold) == [0, 0, 1]
    assert p.unknown_ids == ["Zed/Zed_0001"]
    assert len(p.malformed) == 1 and "line 6" in p.malformed[0]


def test_lfw_header_required():
    with pytest.raises(InputError, match="folds n"):
        parse_lfw_pairs("Ann 1 2\n", IDS)


def test_pairs_csv():
    data = b"id_a,id_b,same\nAnn/Ann_0001.jpg,Ann/Ann_0002.jpg,1\nAnn/Ann_0001.jpg,Bob/Bob_0001.jpg,false\nx,y,1\nAnn/Ann_0001.jpg,Bob/Bob_0001.jpg,maybe\n"
    p = parse_pairs_csv(data, IDS)
    assert list(p.same) == [True, False] and p.unknown_ids == ["x", "y"] and len(p.malformed) == 1
    with pytest.raises(InputError, match="needs two item columns and a truth column"):
        parse_pairs_csv(b"a,b\n1,2\n", IDS)


def test_a_published_pairs_csv_is_read_by_its_own_column_names_and_its_scores_named():
    from explorer.data.protocol import parse_pairs_csv

    ids = np.array(["p1/a.jpg", "p1/b.jpg", "p2/c.jpg"])
    csv = b"file_x,file_y,Decision,Facenet_cosine\np1/a.jpg,p1/b.jpg,Yes,0.2\np1/a.jpg,p2/c.jpg,No,0.9\n"
    proto = parse_pairs_csv(csv, ids)
    assert proto.same.tolist() == [True, False] and proto.index_b.tolist() == [1, 2]
    assert proto.score_columns == ("Facenet_cosine",)


def test_skipped_lines_are_counted_as_lines_not_as_distinct_ids():
    """280 pairs naming one of 61 unknown ids are 280 lines skipped, not 61; malformed lines past
    those listed still count."""
    known = "Ann/Ann_0001.jpg,Ann/Ann_0002.jpg,1\n"
    unknown = "".join(f"Ann/Ann_0001.jpg,ghost{k % 61},0\n" for k in range(280))
    bad = "".join(f"Ann/Ann_0001.jpg,Bob/Bob_0001.jpg,maybe{k}\n" for k in range(250))
    p = parse_pairs_csv(("id_a,id_b,same\n" + known + unknown + bad).encode(), IDS)
    assert len(p.same) == 1 and len(p.unknown_ids) == 61 and p.pairs_unknown == 280
    assert p.n_malformed == 250 and len(p.malformed) == 200 and p.skipped == 530
    assert p.skipped_text().startswith("530 lines skipped: 280 name an item not in the workspace (61 distinct ids)")
    lfw = parse_lfw_pairs("1 3\nAnn 1 2\nZed 1 2\nZed 1 3\nAnn 1 Zed 4\nbad\n", IDS)
    assert lfw.pairs_unknown == 3 and lfw.n_malformed == 1 and len(lfw.unknown_ids) == 4
