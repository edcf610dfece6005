"""safe_extract on the archives people really make and on hostile ones: nothing outside the archive's
own top-level entries is ever removed, and every refusal is a DataError saying what was wrong."""

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from applied_mlx import data
from applied_mlx.data import DataError


def write_zip(path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def write_tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    """A .tar.gz of (name, content) files and ready-made TarInfo entries (links, devices, folders)."""
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tf.addfile(info, io.BytesIO(member[1]))
    return path


def tar_entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.fixture
def dest(tmp_path):
    """A destination that already holds a file the archive knows nothing about."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "unrelated.txt").write_text("keep me")
    return folder


def test_tar_made_with_dot_members_extracts_without_touching_the_rest(tmp_path, dest):
    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "data/f.txt").write_text("payload")
    archive = tmp_path / "x.tgz"
    with tarfile.open(archive, "w:gz") as tf:  # what `tar czf x.tgz -C src .` writes
        tf.add(src, arcname=".")
    with tarfile.open(archive) as tf:
        assert tf.getnames() == [".", "./data", "./data/f.txt"]
    assert data.safe_extract(archive, dest) == dest
    assert (dest / "data/f.txt").read_text() == "payload"
    assert (dest / "unrelated.txt").read_text() == "keep me"
    assert sorted(p.name for p in dest.iterdir()) == ["data", "unrelated.txt"]  # no staging left


def test_zip_with_dot_slash_names(tmp_path, dest):
    archive = write_zip(tmp_path / "x.zip", {"./data/f.txt": b"payload", "./top.txt": b"t"})
    data.safe_extract(archive, dest)
    assert (dest / "data/f.txt").read_bytes() == b"payload" and (dest / "top.txt").read_bytes() == b"t"
    assert (dest / "unrelated.txt").read_text() == "keep me"


def test_redundant_separators_and_dots_are_collapsed(tmp_path, dest):
    archive = write_tar(tmp_path / "x.tgz", [("./a/./b//c.txt", b"c")])
    data.safe_extract(archive, dest)
    assert (dest / "a/b/c.txt").read_bytes() == b"c"


def test_same_named_top_level_entries_are_replaced_and_nothing_else(tmp_path, dest):
    (dest / "data").mkdir()
    (dest / "data/stale.txt").write_text("old")
    archive = write_zip(tmp_path / "x.zip", {"data/f.txt": b"new"})
    data.safe_extract(archive, dest)
    assert sorted(p.name for p in (dest / "data").iterdir()) == ["f.txt"]
    assert (dest / "unrelated.txt").exists()


@pytest.mark.parametrize("members, why", [
    ({"../x": b"x"}, r"'\.\./x'.*'\.\.'"),
    ({"./../x": b"x"}, r"'\.\.'"),
    ({"ok/../../x": b"x"}, r"'\.\.'"),
    ({"/abs/x": b"x"}, "absolute"),
    ({"C:/x": b"x"}, "absolute"),
])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_traversal_is_refused(tmp_path, dest, members, why, kind):
    path = tmp_path / f"evil.{kind}"
    archive = write_zip(path, members) if kind == "zip" else write_tar(path, list(members.items()))
    with pytest.raises(DataError, match=why):
        data.safe_extract(archive, dest)
    assert not (tmp_path / "x").exists() and not Path("/abs/x").exists()
    assert sorted(p.name for p in dest.iterdir()) == ["unrelated.txt"]


@pytest.mark.parametrize("link", [
    tar_entry("ok/link", tarfile.SYMTYPE, "/etc/passwd"),
    tar_entry("ok/link", tarfile.SYMTYPE, "../../outside"),
    tar_entry("ok/link", tarfile.LNKTYPE, "../outside"),
])
def test_links_pointing_outside_are_refused(tmp_path, dest, link):
    archive = write_tar(tmp_path / "evil.tgz", [("ok/a.txt", b"a"), link])
    with pytest.raises(DataError, match="ok/link.*points outside"):
        data.safe_extract(archive, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["unrelated.txt"]


def test_zip_symlink_pointing_outside_is_refused(tmp_path, dest):
    archive = write_zip(tmp_path / "evil.zip", {"ok/a.txt": b"a"}, symlinks={"ok/link": "../../etc/passwd"})
    with pytest.raises(DataError, match="ok/link.*points outside"):
        data.safe_extract(archive, dest)


def test_a_link_cannot_be_used_to_write_through(tmp_path, dest):
    outside = tmp_path / "victim"
    outside.mkdir()
    archive = write_tar(tmp_path / "evil.tgz", [tar_entry("d", tarfile.SYMTYPE, str(outside)), ("d/f.txt", b"x")])
    with pytest.raises(DataError, match="points outside"):
        data.safe_extract(archive, dest)
    assert list(outside.iterdir()) == []


def test_links_inside_the_archive_become_copies(tmp_path, dest):
    archive = write_tar(tmp_path / "x.tgz", [("d/a.txt", b"alpha"), tar_entry("d/sym", tarfile.SYMTYPE, "a.txt"),
                                             tar_entry("d/hard", tarfile.LNKTYPE, "d/a.txt")])
    data.safe_extract(archive, dest)
    for name in ("sym", "hard"):
        assert not (dest / "d" / name).is_symlink() and (dest / "d" / name).read_bytes() == b"alpha"


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_files_are_refused(tmp_path, dest, kind):
    archive = write_tar(tmp_path / "evil.tgz", [("ok/a.txt", b"a"), tar_entry("ok/dev", kind)])
    with pytest.raises(DataError, match="ok/dev.*device"):
        data.safe_extract(archive, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["unrelated.txt"]


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_total_size_is_bounded(tmp_path, dest, kind):
    members = {"bomb/zeros.bin": bytes(200_000)}  # compresses to a few hundred bytes
    path = tmp_path / f"bomb.{kind}"
    archive = write_zip(path, members) if kind == "zip" else write_tar(path, list(members.items()))
    assert archive.stat().st_size < 2_000
    with pytest.raises(DataError, match="more than 100000 bytes"):
        data.safe_extract(archive, dest, max_bytes=100_000)
    assert sorted(p.name for p in dest.iterdir()) == ["unrelated.txt"]
    data.safe_extract(archive, dest, max_bytes=200_000)  # exactly at the limit is fine
    assert (dest / "bomb/zeros.bin").stat().st_size == 200_000


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_member_count_is_bounded(tmp_path, dest, kind):
    members = {f"many/{i}.txt": b"x" for i in range(20)}
    path = tmp_path / f"many.{kind}"
    archive = write_zip(path, members) if kind == "zip" else write_tar(path, list(members.items()))
    with pytest.raises(DataError, match="more than 10 members"):
        data.safe_extract(archive, dest, max_members=10)
    assert sorted(p.name for p in dest.iterdir()) == ["unrelated.txt"]


def test_a_failed_extraction_leaves_existing_entries_alone(tmp_path, dest):
    (dest / "data").mkdir()
    (dest / "data/old.txt").write_text("old")
    archive = write_tar(tmp_path / "evil.tgz", [("data/new.txt", b"n"), ("../x", b"x")])
    with pytest.raises(DataError):
        data.safe_extract(archive, dest)
    assert (dest / "data/old.txt").read_text() == "old" and not (dest / "data/new.txt").exists()


def test_limits_must_be_positive(tmp_path, dest):
    archive = write_zip(tmp_path / "x.zip", {"a.txt": b"a"})
    with pytest.raises(ValueError, match="max_bytes"):
        data.safe_extract(archive, dest, max_bytes=0)
