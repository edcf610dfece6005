"""Data sets: one registry entry each, and ``fetch(name)`` that finds or downloads them safely.

``fetch`` looks, in order, in

1. the mirror folder ``$APPLIED_MLX_MIRROR`` (a read-only copy in the same layout as the cache),
2. the cache ``$APPLIED_MLX_CACHE`` (default ``~/.cache/applied_mlx``),
3. the canonical URL: downloaded with a progress bar, checked against the registry's checksum,
   written atomically (an interrupted or corrupt download never leaves a file that looks
   complete), and archives extracted safely (no member may land outside the target folder).

Offline with nothing found, it fails at once (no retries) with a message naming the URL, the
file it wanted and the variables to set.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
    tree_sha256: digest of the extracted folder (see ``tree_digest``), checked on every hit.
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
        # The MD5 that torchtext and other loaders publish for this archive.
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
        # GroupLens publishes this MD5 next to the archive (ml-100k.zip.md5).
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


def tree_digest(root: str | os.PathLike) -> str:
    """sha256 over the sorted ``relative/path<TAB>sha256`` lines of every file under ``root``."""
    root = Path(root)
    lines = sorted(
        f"{p.relative_to(root).as_posix()}\t{file_checksum(p)}\n" for p in root.rglob("*") if p.is_file()
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


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


def _check_folder(source: DataSource, folder: Path, where: str) -> None:
    missing = [m for m in source.members if not (folder / m).exists()]
    if missing:
        raise DataError(f"{where} copy of {source.name!r} at {folder} lacks {', '.join(missing)}")
    if source.tree_sha256 and tree_digest(folder) != source.tree_sha256:
        raise DataError(f"{where} copy of {source.name!r} at {folder} does not match the registered "
                        "tree digest: files are missing, extra or changed")


def _verified_hit(source: DataSource, root: Path, where: str) -> Path | None:
    """``root/path`` if present and valid, or an archive in ``root``, verified and extracted to the cache.

    Files are always checked against the checksum (they are small, and a file someone placed in
    the cache by hand deserves the same check as a download).
    """
    target = root / source.path
    if target.is_file():
        if source.checksum:
            _check_file(target, source.checksum, f"the {where} file")
        return target
    if target.is_dir():
        _check_folder(source, target, where)
        return target
    if source.archive and (root / source.archive).is_file():
        archive = root / source.archive
        if source.checksum:
            _check_file(archive, source.checksum, f"the {where} archive")
        return _extract_into_cache(source, archive)
    return None


def fetch(name: str, *, progress: bool = True, timeout: float = 30.0) -> Path:
    """Return the local path of data set ``name``: from the mirror, the cache, or a download.

    progress: show a tqdm bar while downloading.
    timeout: seconds to wait for the server to connect or send the next bytes.
    """
    source = _get(name)
    mirror = mirror_root()
    if mirror is not None:
        hit = _verified_hit(source, mirror, "mirror")
        if hit is not None:
            return hit
    cache = cache_root()
    hit = _verified_hit(source, cache, "cache")
    if hit is not None:
        return hit
    download_to = cache / (source.archive or source.path)
    download(source.url, download_to, checksum=source.checksum, size=source.size,
             progress=progress, timeout=timeout, hint=_hint(source))
    if source.archive:
        path = _extract_into_cache(source, download_to)
        download_to.unlink()  # the extracted folder is what is kept
        return path
    return download_to


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
    """Extract ``archive`` into the cache folder that holds ``source.path``, verify it, return the path."""
    cache = cache_root()
    extract_to = cache / Path(source.archive).parent
    target = cache / source.path
    safe_extract(archive, extract_to)
    if not target.exists():
        raise DataError(f"{archive} did not contain {Path(source.path).relative_to(Path(source.archive).parent)}")
    _check_folder(source, target, "extracted")
    return target


def _member_ok(name: str, dest: Path) -> bool:
    resolved = (dest / name).resolve()
    return resolved == dest or dest in resolved.parents


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a zip or tar archive into ``dest``; refuse members that would escape it.

    Extraction happens in a temporary folder next to ``dest`` and is moved into place only when
    complete, so an interrupted extraction leaves nothing half-written. Existing top-level entries
    of the same names are replaced. Raises DataError for an unsafe or unreadable archive.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        staging_resolved = staging.resolve()
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                names = zf.namelist()
                for member in zf.infolist():
                    is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
                    if is_link or not _member_ok(member.filename, staging_resolved):
                        raise DataError(f"{archive}: refusing member {member.filename!r}, which points "
                                        "outside the target folder")
                zf.extractall(staging)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                names = tf.getnames()
                for member in tf.getmembers():
                    if not (member.isfile() or member.isdir()) or not _member_ok(member.name, staging_resolved):
                        raise DataError(f"{archive}: refusing member {member.name!r} (a link, device or "
                                        "path outside the target folder)")
                # Python's own 'data' filter, where it exists, re-checks every member as well.
                extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tf.extractall(staging, **extra)
        else:
            raise DataError(f"{archive} is neither a zip nor a tar archive")
        # Skip the macOS resource forks some zips carry.
        tops = {n.split("/", 1)[0] for n in names if n and not n.startswith("__MACOSX")}
        for top in sorted(tops):
            src, final = staging / top, dest / top
            if not src.exists():
                continue
            if final.is_dir():
                shutil.rmtree(final)
            elif final.exists():
                final.unlink()
            os.replace(src, final)
        return dest
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as e:
        raise DataError(f"{archive} is damaged ({e}); delete it and fetch again") from None
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
