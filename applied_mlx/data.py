"""Data sets: one registry entry each, and ``fetch(name)`` that finds or downloads them safely.

``fetch`` looks, in order, in

1. the mirror folder ``$APPLIED_MLX_MIRROR`` (a read-only copy in the same layout as the cache),
2. the cache ``$APPLIED_MLX_CACHE`` (default ``~/.cache/applied_mlx``),
3. the canonical URL: downloaded with a progress bar, checked against the registry's checksum,
   written atomically (an interrupted or corrupt download never leaves a file that looks
   complete), and archives extracted safely (no member may land outside the target folder).

Every hit is verified: files against the registry's checksum, folders for their members and,
where the registry has one, the digest of the whole tree. A folder extracted into the cache is
also checked against the digests of its files taken when it was extracted from a verified
archive, so a file changed afterwards is caught. Whatever in the cache fails a check is set aside
with a warning and fetched again. Offline with nothing usable found, it fails at once (no
retries) with a message naming the URL, the file it wanted, what was wrong with the one it had,
and the variables to set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

MIRROR_VAR = "APPLIED_MLX_MIRROR"
CACHE_VAR = "APPLIED_MLX_CACHE"
OFFLINE_VAR = "APPLIED_MLX_OFFLINE"
_CHUNK = 1 << 16


class DataError(RuntimeError):
    """A data set could not be found, downloaded or verified; the message says what to do."""


@dataclass(frozen=True)
class DataSource:
    """One registry entry.

    path: what ``fetch`` returns, relative to the mirror or cache root (a file, or the folder
        an archive extracts to).
    checksum: ``"sha256:<hex>"`` or ``"md5:<hex>"`` of the file at ``url`` as published; None
        only where no checksum of the canonical download is published (then ``tree_sha256``
        must be given).
    archive: the archive's path relative to the root when ``url`` is a zip or tar; it is
        extracted into its own folder, so ``path`` must lie inside that folder.
    members: files that must exist inside ``path`` (checked on every hit).
    tree_sha256: digest of the extracted folder (see ``tree_digest``), checked on every hit. Only
        where it is known for the canonical download; without it, a mirror folder is checked for
        its members only, and a cache folder against the file digests recorded when it was
        extracted from the archive (which the checksum vouches for).
    """

    name: str
    url: str
    path: str
    checksum: str | None
    size: int | None
    license: str
    citation: str
    description: str = ""
    archive: str | None = None
    members: tuple[str, ...] = ()
    tree_sha256: str | None = None
    homepage: str = ""

    def __post_init__(self):
        if self.checksum is None and self.tree_sha256 is None:
            raise ValueError(f"{self.name}: a registry entry needs a checksum or a tree_sha256")
        if self.checksum is not None:
            algo, _, digest = self.checksum.partition(":")
            if algo not in ("sha256", "md5") or not digest:
                raise ValueError(f"{self.name}: checksum must look like 'sha256:<hex>' or 'md5:<hex>'")


REGISTRY: dict[str, DataSource] = {}


def register(source: DataSource) -> DataSource:
    """Add ``source`` to the registry (replacing an entry of the same name) and return it."""
    REGISTRY[source.name] = source
    return source


for _source in (
    DataSource(
        name="ett-h1",
        description="ETTh1: electricity transformer load and oil temperature, hourly, 7 variables, "
        "2016-07-01 to 2018-06-26 (17,420 rows)",
        url="https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv",
        path="ett/ETTh1.csv",
        checksum="sha256:f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
        size=2_589_657,
        license="CC BY-ND 4.0",
        citation="Zhou et al., Informer: Beyond Efficient Transformer for Long Sequence "
        "Time-Series Forecasting, AAAI 2021",
        homepage="https://github.com/zhouhaoyi/ETDataset",
    ),
    DataSource(
        name="clinc150",
        description="CLINC150 intents: 150 in-scope intents plus out-of-scope, the 'full' variant "
        "(train/val/test 15000/3000/4500, oos 100/100/1000)",
        url="https://raw.githubusercontent.com/clinc/oos-eval/master/data/data_full.json",
        path="clinc150/data_full.json",
        checksum="sha256:36923c3705a59e08fe9c3883d8bc2dd966ef93e22cb78ac41171782a698d56e0",
        size=2_495_390,
        license="CC BY 3.0",
        citation="Larson et al., An Evaluation Dataset for Intent Classification and "
        "Out-of-Scope Prediction, EMNLP 2019",
        homepage="https://github.com/clinc/oos-eval",
    ),
    DataSource(
        name="sst2",
        description="SST-2 (GLUE): single sentences labelled 0 negative / 1 positive; "
        "train 67,349, dev 872",
        url="https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
        archive="glue/SST-2.zip",
        path="glue/SST-2",
        members=("train.tsv", "dev.tsv"),
        # The MD5 that torchtext and other loaders publish for this archive. No tree_sha256: no digest
        # of the extracted files is published, and the mirror's copy differs from GLUE's (whitespace).
        checksum="md5:9f81648d4199384278b86e315dac217c",
        size=None,
        license="Stanford Sentiment Treebank / GLUE terms (research use)",
        citation="Socher et al., Recursive Deep Models for Semantic Compositionality Over a "
        "Sentiment Treebank, EMNLP 2013; Wang et al., GLUE, ICLR 2019",
        homepage="https://gluebenchmark.com/",
    ),
    DataSource(
        name="movielens-100k",
        description="MovieLens 100k: 100,000 ratings (1-5) by 943 users of 1,682 movies, with user "
        "demographics and movie genres",
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        archive="movielens/ml-100k.zip",
        path="movielens/ml-100k",
        members=("u.data", "u.item", "u.user", "u.genre", "u.occupation"),
        # GroupLens publishes this MD5 next to the archive (ml-100k.zip.md5). No tree_sha256: no digest
        # of the extracted files is published, and the mirror holds only some of them.
        checksum="md5:0e33842e24a9c977be4e0107933c0723",
        size=4_924_029,
        license="GroupLens research licence: research use, no redistribution",
        citation="F. Maxwell Harper and Joseph A. Konstan, The MovieLens Datasets: History and "
        "Context, ACM TiiS 5(4), 2015",
        homepage="https://grouplens.org/datasets/movielens/100k/",
    ),
    DataSource(
        name="squad-v1.1-dev",
        description="SQuAD v1.1 development set: 48 articles, 10,570 questions",
        url="https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json",
        path="squad/dev-v1.1.json",
        checksum="sha256:95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9",
        size=4_854_279,
        license="CC BY-SA 4.0",
        citation="Rajpurkar et al., SQuAD: 100,000+ Questions for Machine Comprehension of Text, "
        "EMNLP 2016",
        homepage="https://rajpurkar.github.io/SQuAD-explorer/",
    ),
    DataSource(
        name="hymenoptera",
        description="Ants vs bees from the PyTorch transfer-learning tutorial: 244 train and "
        "153 val images in ImageFolder layout",
        url="https://download.pytorch.org/tutorial/hymenoptera_data.zip",
        archive="hymenoptera/hymenoptera_data.zip",
        path="hymenoptera/hymenoptera_data",
        members=("train/ants", "train/bees", "val/ants", "val/bees"),
        # No checksum of the zip is published; the digest of the 398 extracted files is ours.
        checksum=None,
        tree_sha256="de482aeb9aa7e451514763b89460f2f6de607558d0b3b6c7490a6ae5b243ce8d",
        size=None,
        license="Images from ImageNet: research and education use",
        citation="PyTorch tutorial 'Transfer Learning for Computer Vision' (Chilamkurthy, 2017)",
        homepage="https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html",
    ),
):
    register(_source)


def mirror_root() -> Path | None:
    """The mirror folder from ``$APPLIED_MLX_MIRROR``, or None when unset."""
    value = os.environ.get(MIRROR_VAR, "").strip()
    return Path(value).expanduser() if value else None


def cache_root() -> Path:
    """The cache folder: ``$APPLIED_MLX_CACHE`` or ``~/.cache/applied_mlx``."""
    value = os.environ.get(CACHE_VAR, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "applied_mlx"


def file_checksum(path: str | os.PathLike, algo: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _file_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, keyed by its '/'-separated path relative to ``root``."""
    return {p.relative_to(root).as_posix(): file_checksum(p) for p in root.rglob("*") if p.is_file()}


def _digest_of(files: dict[str, str]) -> str:
    lines = sorted(f"{name}\t{digest}\n" for name, digest in files.items())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def tree_digest(root: str | os.PathLike) -> str:
    """sha256 over the sorted ``relative/path<TAB>sha256`` lines of every file under ``root``."""
    return _digest_of(_file_digests(Path(root)))


def _get(name: str) -> DataSource:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; registered: {', '.join(sorted(REGISTRY))}") from None


def _check_file(path: Path, checksum: str, what: str) -> None:
    algo, _, expected = checksum.partition(":")
    actual = file_checksum(path, algo)
    if actual != expected:
        raise DataError(f"{what} {path} has {algo} {actual}, expected {expected}: the file is corrupt "
                        "or a different version")


def _check_members(source: DataSource, folder: Path, where: str) -> None:
    missing = [m for m in source.members if not (folder / m).exists()]
    if missing:
        raise DataError(f"the {where} copy of {source.name!r} at {folder} lacks {', '.join(missing)}")


def _check_tree(source: DataSource, folder: Path, where: str, files: dict[str, str]) -> None:
    if source.tree_sha256 and _digest_of(files) != source.tree_sha256:
        raise DataError(f"the {where} copy of {source.name!r} at {folder} does not match the registered "
                        "tree digest: files are missing, extra or changed")


def _check_folder(source: DataSource, folder: Path, where: str) -> None:
    _check_members(source, folder, where)
    if source.tree_sha256:
        _check_tree(source, folder, where, _file_digests(folder))


# An extracted folder in the cache is checked against the digests of its files taken right after
# the extraction from a verified archive (its "record"), so a file changed later is caught even
# where no digest of the canonical extracted files is published (SST-2, MovieLens).


def _record_path(source: DataSource) -> Path:
    return cache_root() / ".extracted" / f"{source.name}.json"


def _origin(source: DataSource) -> str:
    """What a record is tied to: the archive's checksum, or the tree digest where none is published."""
    return source.checksum or source.tree_sha256 or ""


def _write_record(source: DataSource, files: dict[str, str]) -> None:
    path = _record_path(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps({"path": source.path, "archive": _origin(source), "files": files}, indent=1))
    os.replace(tmp, path)


def _read_record(source: DataSource) -> dict[str, str] | None:
    """The file digests recorded at extraction, or None when there is no record."""
    path = _record_path(source)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise DataError(f"the extraction record {path} of {source.name!r} is unreadable ({e})") from None
    if (not isinstance(record, dict) or record.get("path") != source.path or record.get("archive") != _origin(source)
            or not isinstance(record.get("files"), dict)):
        raise DataError(f"the extraction record {path} of {source.name!r} belongs to another version of the data")
    return record["files"]


def _listing(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _compare_files(source: DataSource, folder: Path, files: dict[str, str], recorded: dict[str, str]) -> None:
    changed = sorted(n for n in files.keys() & recorded.keys() if files[n] != recorded[n])
    problems = [f"{label}: {_listing(names)}" for label, names in (
        ("changed", changed), ("missing", sorted(recorded.keys() - files.keys())),
        ("not from the archive", sorted(files.keys() - recorded.keys()))) if names]
    if problems:
        raise DataError(f"the cache copy of {source.name!r} at {folder} is not what was extracted from the "
                        f"verified archive ({'; '.join(problems)})")


def _check_cached_tree(source: DataSource, folder: Path) -> None:
    """The members, the files as the verified extraction left them, and the registered tree digest if any."""
    _check_members(source, folder, "cache")
    recorded = _read_record(source)
    if recorded is None and not source.tree_sha256:
        raise DataError(f"the cache copy of {source.name!r} at {folder} has no record of a verified "
                        "extraction, so its files cannot be checked")
    files = _file_digests(folder)
    if recorded is not None:
        _compare_files(source, folder, files, recorded)
    _check_tree(source, folder, "cache", files)


def _set_aside(path: Path, error: DataError) -> str:
    """Take a cache entry that failed its check out of the way, warn, and say what was done.

    A folder (extracted, so it can be made again) is deleted; a file is kept as ``<name>.corrupt``.
    """
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
        note = f"{error}; it was removed."
    else:
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        note = f"{error}; it was moved to {aside}."
    note = note[:1].upper() + note[1:]
    warnings.warn(note, stacklevel=4)  # points at the caller of fetch
    return note


def _from_mirror(source: DataSource, mirror: Path) -> Path | None:
    """The mirror's file or folder, verified, or its verified archive extracted into the cache; else None.

    The mirror is read-only to us, so anything there that fails its check raises DataError.
    """
    target = mirror / source.path
    if target.is_file():
        if source.checksum:
            _check_file(target, source.checksum, "the mirror file")
        return target
    if target.is_dir():
        _check_folder(source, target, "mirror")
        return target
    if source.archive and (mirror / source.archive).is_file():
        archive = mirror / source.archive
        if source.checksum:
            _check_file(archive, source.checksum, "the mirror archive")
        return _extract_into_cache(source, archive)
    return None


def _from_cache(source: DataSource, cache: Path) -> tuple[Path | None, list[str]]:
    """The cache's verified copy of ``source`` (its archive extracted if need be), or None.

    Files are always checked (a file someone placed in the cache by hand deserves the same check
    as a download). Whatever fails a check is set aside so that it cannot block a fresh download;
    the notes say what was wrong and what was done.
    """
    notes = []
    target = cache / source.path
    if target.exists():
        try:
            if target.is_dir():
                _check_cached_tree(source, target)
            elif source.checksum:
                _check_file(target, source.checksum, "the cache file")
            return target, notes
        except DataError as e:
            notes.append(_set_aside(target, e))
            _record_path(source).unlink(missing_ok=True)
    archive = cache / source.archive if source.archive else None
    if archive is not None and archive.is_file():
        try:
            if source.checksum:
                _check_file(archive, source.checksum, "the cache archive")
            return _extract_into_cache(source, archive), notes
        except DataError as e:
            notes.append(_set_aside(archive, e))
    return None, notes


def fetch(name: str, *, progress: bool = True, timeout: float = 30.0) -> Path:
    """Return the local path of data set ``name``: from the mirror, the cache, or a download.

    Every hit is verified first. A cache file, archive or extracted folder that fails its check is
    set aside with a warning and fetched again; offline, the DataError says what was wrong with it.
    progress: show a tqdm bar while downloading.
    timeout: seconds to wait for the server to connect or send the next bytes.
    """
    source = _get(name)
    mirror = mirror_root()
    if mirror is not None:
        hit = _from_mirror(source, mirror)
        if hit is not None:
            return hit
    cache = cache_root()
    hit, notes = _from_cache(source, cache)
    if hit is not None:
        return hit
    download_to = cache / (source.archive or source.path)
    download(source.url, download_to, checksum=source.checksum, size=source.size,
             progress=progress, timeout=timeout, hint=" ".join([*notes, _hint(source)]))
    if not source.archive:
        return download_to
    try:
        return _extract_into_cache(source, download_to)
    except DataError as e:
        raise DataError(f"{e}; the archive downloaded from {source.url} was deleted (the server may hold another "
                        "version than the registry's)") from None
    finally:
        download_to.unlink(missing_ok=True)  # the extracted folder is what is kept; a bad archive must not linger


def _hint(source: DataSource) -> str:
    return (f"Download {source.url} yourself and place it at $APPLIED_MLX_CACHE/"
            f"{source.archive or source.path} (cache now: {cache_root()}), or point "
            f"{MIRROR_VAR} at a folder holding {source.path}.")


def download(url: str, dest: str | os.PathLike, *, checksum: str | None = None, size: int | None = None,
             progress: bool = True, timeout: float = 30.0, hint: str = "") -> Path:
    """Download ``url`` to ``dest`` atomically: a temporary file, checked, then renamed.

    checksum: ``"sha256:<hex>"`` or ``"md5:<hex>"``; a mismatch deletes the download.
    size: expected byte count, used for the progress bar and checked when no checksum is given.
    Raises DataError, with the URL, the destination and ``hint``, on any failure.
    """
    dest = Path(dest)
    if os.environ.get(OFFLINE_VAR, "").strip() not in ("", "0"):
        raise DataError(f"{OFFLINE_VAR} is set, so {url} was not downloaded (wanted: {dest}). {hint}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    algo, _, expected = (checksum or "sha256:").partition(":")
    digest = hashlib.new(algo)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise DataError(f"could not download {url} ({reason}); wanted it at {dest}. "
                            f"Offline? {hint}") from None
        with response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or size
            bar = _progress_bar(total, dest.name, progress)
            received = 0
            try:
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except Exception as e:  # IncompleteRead, a reset or a timeout mid-transfer
                        raise DataError(f"the download of {url} broke off after {received} bytes ({e!r}). "
                                        f"{hint}") from None
                    if not block:
                        break
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    bar.update(len(block))
            finally:
                bar.close()
        if total and received != total:
            raise DataError(f"the download of {url} ended after {received} of {total} bytes. {hint}")
        if checksum and digest.hexdigest() != expected:
            raise DataError(f"{url} downloaded with {algo} {digest.hexdigest()}, expected {expected}: "
                            f"the file is corrupt or the server holds another version; nothing was kept. {hint}")
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()


def _progress_bar(total: int | None, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total or None, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=not enabled)


def _extract_into_cache(source: DataSource, archive: Path) -> Path:
    """Extract ``archive`` into the cache folder that holds ``source.path``, verify it, record its files, return it."""
    cache = cache_root()
    target = cache / source.path
    _record_path(source).unlink(missing_ok=True)  # it stops describing the folder from here on
    safe_extract(archive, cache / Path(source.archive).parent)
    if not target.is_dir():
        raise DataError(f"{archive} did not contain {Path(source.path).relative_to(Path(source.archive).parent)}")
    try:
        _check_members(source, target, "extracted")
        files = _file_digests(target)
        _check_tree(source, target, "extracted", files)
    except DataError:
        _remove(target)  # this extraction made it, and it is wrong
        raise
    _write_record(source, files)
    return target


MAX_EXTRACT_BYTES = 4 << 30  # generous: the largest registered archive extracts to well under 100 MB
MAX_EXTRACT_MEMBERS = 100_000
_DRIVE = re.compile(r"^[A-Za-z]:")  # 'C:/x' is absolute on Windows
_MAX_LINK_TEXT = 4096  # a zip stores a symlink's target as the member's content


class _Entry(NamedTuple):
    """One archive member, before its name is checked: kind is file, dir, symlink, hardlink or special."""

    raw: str
    kind: str
    size: int = 0
    link: str = ""
    open: Callable[[], IO[bytes]] | None = None


class _Budget:
    """Counts extracted bytes and refuses to go past ``limit``."""

    def __init__(self, archive: Path, limit: int):
        self.archive, self.limit, self.used = archive, limit, 0

    def check(self, size: int) -> None:
        if self.used + size > self.limit:
            raise DataError(f"{self.archive} extracts to more than {self.limit} bytes; refusing it (a damaged or "
                            "hostile archive; pass a larger max_bytes if it is genuine)")

    def spend(self, size: int) -> None:
        self.check(size)
        self.used += size


def _zip_entries(zf: zipfile.ZipFile) -> Iterator[_Entry]:
    for info in zf.infolist():
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip was not made on Unix
        if info.is_dir() or kind == stat.S_IFDIR:
            yield _Entry(info.filename, "dir")
        elif kind == stat.S_IFLNK:
            if info.file_size > _MAX_LINK_TEXT:
                raise DataError(f"{zf.filename}: refusing member {info.filename!r}: a link with a "
                                f"{info.file_size}-byte target")
            yield _Entry(info.filename, "symlink", link=zf.read(info).decode("utf-8", "replace"))
        elif kind in (0, stat.S_IFREG):
            yield _Entry(info.filename, "file", info.file_size, open=lambda info=info: zf.open(info))
        else:
            yield _Entry(info.filename, "special")


def _tar_entries(tf: tarfile.TarFile) -> Iterator[_Entry]:
    for member in tf:  # one member at a time, so the limits stop a huge archive early
        if member.isdir():
            yield _Entry(member.name, "dir")
        elif member.isreg():
            yield _Entry(member.name, "file", member.size, open=lambda member=member: tf.extractfile(member))
        elif member.issym() or member.islnk():
            yield _Entry(member.name, "symlink" if member.issym() else "hardlink", link=member.linkname)
        else:  # character and block devices, fifos, and types tarfile does not know
            yield _Entry(member.name, "special")


@contextlib.contextmanager
def _archive_entries(archive: Path) -> Iterator[Iterator[_Entry]]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            yield _zip_entries(zf)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            yield _tar_entries(tf)
    else:
        raise DataError(f"{archive} is neither a zip nor a tar archive")


def _member_name(raw: str, archive: Path) -> str:
    """The member's path inside the target folder, '/'-separated, without '.' parts ('' for the folder itself)."""
    text = raw.replace("\\", "/")
    if "\0" in text:
        raise DataError(f"{archive}: refusing member {raw!r}: its name holds a NUL character")
    if text.startswith("/") or _DRIVE.match(text):
        raise DataError(f"{archive}: refusing member {raw!r}: an absolute path")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DataError(f"{archive}: refusing member {raw!r}: a '..' part would lead outside the target folder")
    return "/".join(parts)


def _link_source(entry: _Entry, name: str, archive: Path, staging: Path) -> Path:
    """The already extracted file a link member points to; links are written as copies, never as links."""
    base = posixpath.dirname(name) if entry.kind == "symlink" else ""  # a hard link's target is archive-relative
    target = posixpath.normpath(posixpath.join(base, entry.link.replace("\\", "/")))
    if entry.link.startswith("/") or _DRIVE.match(entry.link) or target == ".." or target.startswith("../"):
        raise DataError(f"{archive}: refusing member {entry.raw!r}: a link to {entry.link!r}, which points outside "
                        "the target folder")
    source = staging / target
    if not source.is_file():
        raise DataError(f"{archive}: refusing member {entry.raw!r}: a link to {entry.link!r}, which is not a file "
                        "extracted before it")
    return source


def _extract_entry(entry: _Entry, name: str, archive: Path, staging: Path, budget: _Budget) -> None:
    target = staging / name
    if entry.kind == "dir":
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry.kind in ("symlink", "hardlink"):
        source = _link_source(entry, name, archive, staging)
        budget.spend(source.stat().st_size)
        shutil.copyfile(source, target)
        return
    budget.check(entry.size)  # the declared size, before a byte is inflated
    with entry.open() as src, open(target, "wb") as out:
        while block := src.read(_CHUNK):
            budget.spend(len(block))  # the actual bytes, in case the declared size lies
            out.write(block)


def _extract_all(entries: Iterator[_Entry], archive: Path, staging: Path, max_bytes: int,
                 max_members: int) -> list[str]:
    """Write every member into ``staging`` after checking it; return the names written."""
    budget, names = _Budget(archive, max_bytes), []
    for count, entry in enumerate(entries, 1):
        if count > max_members:
            raise DataError(f"{archive} has more than {max_members} members; refusing it (pass a larger "
                            "max_members if it is genuine)")
        name = _member_name(entry.raw, archive)
        if entry.kind == "special":
            raise DataError(f"{archive}: refusing member {entry.raw!r}: a device, fifo or other special file")
        if not name:
            if entry.kind == "dir":
                continue  # './' itself: the target folder
            raise DataError(f"{archive}: refusing member {entry.raw!r}: it has no name")
        _extract_entry(entry, name, archive, staging, budget)
        names.append(name)
    return names


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _install(staging: Path, dest: Path, tops: list[str], archive: Path) -> None:
    """Move the staged top-level entries into ``dest``, replacing same-named ones: all of them, or none."""
    backup = Path(tempfile.mkdtemp(prefix=".replaced-", dir=dest))
    placed, saved = [], []
    try:
        for top in tops:
            final = dest / top
            if final.exists() or final.is_symlink():
                os.replace(final, backup / top)  # moves a link itself, never what it points to
                saved.append(top)
            os.replace(staging / top, final)
            placed.append(top)
    except OSError as e:
        for top in placed:  # only what this extraction put there
            _remove(dest / top)
        for top in saved:
            os.replace(backup / top, dest / top)
        raise DataError(f"could not move the contents of {archive} into {dest} ({e}); {dest} is as it was") from None
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, *, max_bytes: int = MAX_EXTRACT_BYTES,
                 max_members: int = MAX_EXTRACT_MEMBERS) -> Path:
    """Extract a zip or tar archive into ``dest``; refuse members that could escape it.

    Member names are normalised ('./data/f.txt' is 'data/f.txt'); absolute paths, '..' parts, links
    pointing outside the archive's own files, and devices are refused (links inside it are written as
    copies). So are archives that hold more than ``max_members`` members or extract to more than
    ``max_bytes`` bytes. Extraction happens in a temporary folder inside ``dest`` and is moved into
    place only when complete; the archive's top-level entries then replace same-named ones in
    ``dest``, and nothing else there is touched, whether extraction succeeds or fails.
    Raises DataError, saying what was wrong, for an unsafe, oversized or unreadable archive.
    """
    if max_bytes < 1 or max_members < 1:
        raise ValueError(f"max_bytes and max_members must be positive, got {max_bytes} and {max_members}")
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        with _archive_entries(archive) as entries:
            names = _extract_all(entries, archive, staging, max_bytes, max_members)
        # Skip the macOS resource forks some zips carry.
        tops = sorted({n.split("/", 1)[0] for n in names} - {"__MACOSX"})
        _install(staging, dest, tops, archive)
        return dest
    except DataError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, NotImplementedError,
            RuntimeError, OSError, ValueError) as e:
        # RuntimeError: an encrypted zip; OSError: a bad gzip stream or a full disk; ValueError: a NUL in a link
        raise DataError(f"{archive} is damaged or could not be extracted into {dest} ({e})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def describe(name: str | None = None) -> str:
    """A readable description of one registry entry, or of all of them."""
    names = [name] if name else sorted(REGISTRY)
    blocks = []
    for n in names:
        s = _get(n)
        blocks.append(
            f"{s.name}: {s.description}\n  url: {s.url}\n  licence: {s.license}\n  cite: {s.citation}"
        )
    return "\n".join(blocks)


def resolve_model(name: str | os.PathLike) -> str:
    """What to pass to ``from_pretrained``: a local folder as is, else ``$APPLIED_MLX_MIRROR/models/<name>``
    when that folder exists, else ``name`` itself (a hub id, downloaded by transformers).

    Raises ValueError for a path-like name (``./x``, ``/x``, ``~/x``) that is not an existing folder.
    """
    text = str(name)
    local = Path(text).expanduser()
    if local.is_dir():
        return str(local)
    if text.startswith((".", "/", "~")) or isinstance(name, Path):
        raise ValueError(f"model folder {text} does not exist")
    mirror = mirror_root()
    if mirror is not None and (mirror / "models" / text).is_dir():
        return str(mirror / "models" / text)
    return text
