import pytest
from conftest import make_zip

from explorer.data.archive import ArchiveLimits, read_zip
from explorer.errors import InputError, UnsafeInputError


def test_reads_regular_files():
    files, skipped = read_zip(make_zip({"a/1.png": b"x", "a/2.png": b"yy"}))
    assert dict(files) == {"a/1.png": b"x", "a/2.png": b"yy"} and skipped == []


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/etc/passwd", "C:/win.png", "..\\evil.png"])
def test_traversal_and_absolute_paths_refused(name):
    with pytest.raises(UnsafeInputError, match="archive refused"):
        read_zip(make_zip({"a/ok.png": b"x", name: b"evil"}))


def test_entry_count_cap():
    with pytest.raises(UnsafeInputError, match="entries"):
        read_zip(make_zip({f"a/{i}.png": b"x" for i in range(6)}), ArchiveLimits(max_entries=5))


def test_total_size_cap():
    with pytest.raises(UnsafeInputError, match="uncompressed"):
        read_zip(make_zip({"a/1.png": b"x" * 1000}), ArchiveLimits(max_total_bytes=999))


def test_compression_ratio_cap_catches_a_bomb():
    data = make_zip({"a/bomb.png": b"\0" * (4 << 20)})
    assert len(data) < 20_000
    with pytest.raises(UnsafeInputError, match="zip bomb"):
        read_zip(data)


def test_not_a_zip():
    with pytest.raises(InputError, match="not a zip"):
        read_zip(b"PK but not really")


def test_empty_zip_reads_nothing():
    assert read_zip(make_zip({})) == ([], [])
