"""fetch() against a real HTTP server on 127.0.0.1, a temporary mirror and a temporary cache."""

import hashlib
import http.server
import io
import socket
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from applied_mlx import data
from applied_mlx.data import DataError, DataSource

PAYLOAD = b"date,value\n" + b"".join(f"2020-01-01 {h:02d}:00,{h}\n".encode() for h in range(24)) * 200


def sha256(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def tar_bytes(members: dict[str, bytes], symlink: tuple[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
        if symlink:
            info = tarfile.TarInfo(symlink[0])
            info.type = tarfile.SYMTYPE
            info.linkname = symlink[1]
            tf.addfile(info)
    return buf.getvalue()


ARCHIVE = zip_bytes({"toy/a.txt": b"alpha", "toy/sub/b.txt": b"beta"})


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.hits.append(self.path)
        if self.path == "/truncated.csv":  # promises the whole payload, sends a third, hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.routes = {"/good.csv": PAYLOAD, "/toy.zip": ARCHIVE,
                      "/toy.tar.gz": tar_bytes({"toy/a.txt": b"alpha", "toy/sub/b.txt": b"beta"})}
    Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def roots(tmp_path, monkeypatch):
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    monkeypatch.setenv(data.CACHE_VAR, str(cache))
    monkeypatch.delenv(data.MIRROR_VAR, raising=False)
    monkeypatch.delenv(data.OFFLINE_VAR, raising=False)
    return cache, mirror


@pytest.fixture
def entry(monkeypatch):
    """Register a throwaway data set; the registry is restored afterwards."""
    monkeypatch.setattr(data, "REGISTRY", dict(data.REGISTRY))

    def make(**kw):
        base = dict(name="toy", url="http://127.0.0.1:9/x", path="toy/series.csv", checksum=sha256(PAYLOAD),
                    size=len(PAYLOAD), license="CC0", citation="none")
        return data.register(DataSource(**{**base, **kw}))

    return make


def no_leftovers(folder: Path) -> bool:
    return not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


def test_download_verifies_writes_and_then_hits_the_cache(server, roots, entry):
    cache, _ = roots
    entry(url=server + "/good.csv")
    path = data.fetch("toy", progress=False)
    assert path == cache / "toy/series.csv" and path.read_bytes() == PAYLOAD
    assert Handler.hits == ["/good.csv"]
    assert data.fetch("toy", progress=False) == path
    assert Handler.hits == ["/good.csv"]  # the second call never touched the network


def test_hash_mismatch_keeps_nothing(server, roots, entry):
    cache, _ = roots
    entry(url=server + "/good.csv", checksum=sha256(b"another version"))
    with pytest.raises(DataError, match="expected .*corrupt or the server holds another version"):
        data.fetch("toy", progress=False)
    assert no_leftovers(cache)


def test_md5_checksums_are_supported(server, roots, entry):
    entry(url=server + "/good.csv", checksum="md5:" + hashlib.md5(PAYLOAD).hexdigest())
    assert data.fetch("toy", progress=False).read_bytes() == PAYLOAD


def test_interrupted_transfer_keeps_nothing(server, roots, entry):
    cache, _ = roots
    entry(url=server + "/truncated.csv")
    with pytest.raises(DataError, match="broke off|ended after"):
        data.fetch("toy", progress=False)
    assert no_leftovers(cache)


def test_server_down_fails_fast_with_instructions(roots, entry):
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    entry(url=f"http://127.0.0.1:{port}/series.csv")
    start = time.perf_counter()
    with pytest.raises(DataError) as info:
        data.fetch("toy", progress=False)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert f"http://127.0.0.1:{port}/series.csv" in message
    assert "toy/series.csv" in message and "APPLIED_MLX_MIRROR" in message and "APPLIED_MLX_CACHE" in message


def test_offline_variable_skips_the_network(server, roots, entry, monkeypatch):
    entry(url=server + "/good.csv")
    monkeypatch.setenv(data.OFFLINE_VAR, "1")
    with pytest.raises(DataError, match="APPLIED_MLX_OFFLINE is set"):
        data.fetch("toy", progress=False)
    assert Handler.hits == []


def test_mirror_hit_is_verified_and_preferred(server, roots, entry, monkeypatch):
    cache, mirror = roots
    entry(url=server + "/good.csv")
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy/series.csv").write_bytes(PAYLOAD)
    monkeypatch.setenv(data.MIRROR_VAR, str(mirror))
    assert data.fetch("toy", progress=False) == mirror / "toy/series.csv"
    assert Handler.hits == [] and no_leftovers(cache)
    (mirror / "toy/series.csv").write_bytes(PAYLOAD[:-1] + b"!")
    with pytest.raises(DataError, match="the mirror file .* has sha256"):
        data.fetch("toy", progress=False)


def test_mirror_folder_of_an_extracted_archive(roots, entry, monkeypatch):
    _, mirror = roots
    entry(url="http://127.0.0.1:9/toy.zip", archive="toy.zip", path="toy", members=("a.txt", "sub/b.txt"))
    (mirror / "toy/sub").mkdir(parents=True)
    (mirror / "toy/a.txt").write_bytes(b"alpha")
    monkeypatch.setenv(data.MIRROR_VAR, str(mirror))
    with pytest.raises(DataError, match="lacks sub/b.txt"):
        data.fetch("toy")
    (mirror / "toy/sub/b.txt").write_bytes(b"beta")
    assert data.fetch("toy") == mirror / "toy"


def test_mirror_archive_is_extracted_into_the_cache(roots, entry, monkeypatch):
    cache, mirror = roots
    entry(archive="toy.zip", path="toy", members=("a.txt",), checksum=sha256(ARCHIVE))
    mirror.mkdir()
    (mirror / "toy.zip").write_bytes(ARCHIVE)
    monkeypatch.setenv(data.MIRROR_VAR, str(mirror))
    path = data.fetch("toy")
    assert path == cache / "toy" and (path / "sub/b.txt").read_bytes() == b"beta"


def test_files_placed_in_the_cache_by_hand_are_verified(roots, entry):
    cache, _ = roots
    entry(archive="toy.zip", path="toy", members=("a.txt",), checksum=sha256(ARCHIVE))
    cache.mkdir()
    (cache / "toy.zip").write_bytes(ARCHIVE)  # as the error message tells an offline user to do
    assert (data.fetch("toy") / "sub/b.txt").read_bytes() == b"beta"
    entry(name="toy2", path="toy2.csv")
    (cache / "toy2.csv").write_bytes(b"not the data")
    with pytest.raises(DataError, match="[Tt]he cache file .* has sha256"), pytest.warns(UserWarning, match="moved to"):
        data.fetch("toy2")


@pytest.mark.parametrize("route", ["/toy.zip", "/toy.tar.gz"])
def test_archive_download_is_extracted_and_the_archive_dropped(server, roots, entry, route):
    cache, _ = roots
    body = Handler.routes[route]
    entry(url=server + route, archive="datasets/toy" + route[4:], path="datasets/toy",
          members=("a.txt", "sub/b.txt"), checksum=sha256(body), size=len(body))
    path = data.fetch("toy", progress=False)
    assert path == cache / "datasets/toy" and (path / "a.txt").read_bytes() == b"alpha"
    assert sorted(p.name for p in (cache / "datasets").iterdir()) == ["toy"]


def toy_archive_entry(entry, server, **kw):
    """The toy zip as a downloadable archive entry, extracted to ``datasets/toy`` in the cache."""
    return entry(url=server + "/toy.zip", archive="datasets/toy.zip", path="datasets/toy", members=("a.txt",),
                 checksum=sha256(ARCHIVE), size=len(ARCHIVE), **kw)


TAMPERINGS = {
    "changed: sub/b.txt": lambda root: (root / "sub/b.txt").write_bytes(b"BETA"),
    "missing: sub/b.txt": lambda root: (root / "sub/b.txt").unlink(),
    "not from the archive: sub/extra.txt": lambda root: (root / "sub/extra.txt").write_bytes(b"?"),
}


@pytest.mark.parametrize("what", TAMPERINGS)
def test_a_tampered_extracted_file_is_caught_and_fetched_again(server, roots, entry, what):
    toy_archive_entry(entry, server)
    path = data.fetch("toy", progress=False)
    TAMPERINGS[what](path)
    with pytest.warns(UserWarning, match=f"{what}.*it was removed"):
        assert data.fetch("toy", progress=False) == path
    assert (path / "sub/b.txt").read_bytes() == b"beta" and not (path / "sub/extra.txt").exists()
    assert Handler.hits == ["/toy.zip", "/toy.zip"]
    assert data.fetch("toy", progress=False) == path and len(Handler.hits) == 2  # the fresh copy verifies


def test_a_tampered_extracted_file_offline_is_named_and_never_used(server, roots, entry, monkeypatch):
    toy_archive_entry(entry, server)
    path = data.fetch("toy", progress=False)
    (path / "sub/b.txt").write_bytes(b"BETA")
    monkeypatch.setenv(data.OFFLINE_VAR, "1")
    with pytest.raises(DataError) as info, pytest.warns(UserWarning):
        data.fetch("toy", progress=False)
    message = str(info.value)
    assert "changed: sub/b.txt" in message and "it was removed" in message
    assert server + "/toy.zip" in message and "APPLIED_MLX_CACHE" in message
    assert not path.exists() and Handler.hits == ["/toy.zip"]


def test_an_extracted_folder_without_a_record_is_not_trusted(server, roots, entry):
    cache, _ = roots
    toy_archive_entry(entry, server)
    (cache / "datasets/toy").mkdir(parents=True)  # a folder placed by hand: nothing vouches for its files
    (cache / "datasets/toy/a.txt").write_bytes(b"made up")
    with pytest.warns(UserWarning, match="no record of a verified extraction"):
        path = data.fetch("toy", progress=False)
    assert (path / "a.txt").read_bytes() == b"alpha" and Handler.hits == ["/toy.zip"]


def test_a_registered_tree_digest_vouches_for_a_cache_folder(roots, entry):
    cache, _ = roots
    (cache / "toy").mkdir(parents=True)
    (cache / "toy/a.txt").write_bytes(b"alpha")
    entry(archive="toy.zip", path="toy", checksum=None, tree_sha256=data.tree_digest(cache / "toy"))
    assert data.fetch("toy") == cache / "toy"  # no record needed: the registry's digest checks every file
    (cache / "toy/a.txt").write_bytes(b"alphA")
    with pytest.raises(DataError, match="tree digest.*it was removed"), pytest.warns(UserWarning):
        data.fetch("toy")


def test_a_corrupt_cached_archive_is_set_aside_and_downloaded_again(server, roots, entry):
    cache, _ = roots
    toy_archive_entry(entry, server)
    (cache / "datasets").mkdir(parents=True)
    (cache / "datasets/toy.zip").write_bytes(ARCHIVE[:-10] + b"0123456789")
    with pytest.warns(UserWarning, match=r"The cache archive .*toy\.zip has sha256 .*moved to .*toy\.zip\.corrupt"):
        path = data.fetch("toy", progress=False)
    assert (path / "a.txt").read_bytes() == b"alpha" and Handler.hits == ["/toy.zip"]
    assert sorted(p.name for p in (cache / "datasets").iterdir()) == ["toy", "toy.zip.corrupt"]


def test_a_corrupt_cached_archive_offline_says_what_was_removed(server, roots, entry, monkeypatch):
    cache, _ = roots
    toy_archive_entry(entry, server)
    (cache / "datasets").mkdir(parents=True)
    (cache / "datasets/toy.zip").write_bytes(b"garbage")
    monkeypatch.setenv(data.OFFLINE_VAR, "1")
    with pytest.raises(DataError) as info, pytest.warns(UserWarning):
        data.fetch("toy", progress=False)
    message = str(info.value)
    assert str(cache / "datasets/toy.zip") in message and "has sha256" in message and "moved to" in message
    assert server + "/toy.zip" in message and "APPLIED_MLX_CACHE" in message
    assert not (cache / "datasets/toy.zip").exists()  # so the next fetch online downloads it
    monkeypatch.delenv(data.OFFLINE_VAR)
    assert (data.fetch("toy", progress=False) / "a.txt").read_bytes() == b"alpha"


def test_a_cached_archive_that_cannot_be_opened_is_downloaded_again(server, roots, entry, tmp_path):
    cache, _ = roots
    (tmp_path / "good.zip").write_bytes(ARCHIVE)
    good = data.tree_digest(data.safe_extract(tmp_path / "good.zip", tmp_path / "good") / "toy")
    entry(url=server + "/toy.zip", archive="datasets/toy.zip", path="datasets/toy", checksum=None, tree_sha256=good)
    (cache / "datasets").mkdir(parents=True)
    (cache / "datasets/toy.zip").write_bytes(ARCHIVE[: len(ARCHIVE) // 2])  # no checksum to catch it: unopenable
    with pytest.warns(UserWarning, match="neither a zip nor a tar|damaged"):
        path = data.fetch("toy", progress=False)
    assert (path / "sub/b.txt").read_bytes() == b"beta" and Handler.hits == ["/toy.zip"]


def test_a_downloaded_archive_that_fails_its_tree_digest_leaves_nothing(server, roots, entry):
    cache, _ = roots
    entry(url=server + "/toy.zip", archive="datasets/toy.zip", path="datasets/toy", checksum=None,
          tree_sha256="0" * 64)
    with pytest.raises(DataError, match="tree digest.*was deleted"):
        data.fetch("toy", progress=False)
    assert list((cache / "datasets").iterdir()) == []


def test_tree_digest_detects_changed_files(roots, entry, monkeypatch, tmp_path):
    _, mirror = roots
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy/a.txt").write_bytes(b"alpha")
    digest = data.tree_digest(mirror / "toy")
    expected_line = "a.txt\t" + hashlib.sha256(b"alpha").hexdigest() + "\n"
    assert digest == hashlib.sha256(expected_line.encode()).hexdigest()
    entry(archive="toy.zip", path="toy", checksum=None, tree_sha256=digest)
    monkeypatch.setenv(data.MIRROR_VAR, str(mirror))
    assert data.fetch("toy") == mirror / "toy"
    (mirror / "toy/a.txt").write_bytes(b"alphA")
    with pytest.raises(DataError, match="tree digest"):
        data.fetch("toy")


@pytest.mark.parametrize("archive", [
    zip_bytes({"../escape.txt": b"x"}),
    zip_bytes({"/abs/escape.txt": b"x"}),
    tar_bytes({"ok/../../escape.txt": b"x"}),
    tar_bytes({"ok/a.txt": b"x"}, symlink=("ok/link", "/etc/passwd")),
])
def test_safe_extract_refuses_escaping_members(tmp_path, archive):
    path = tmp_path / "evil.bin"
    path.write_bytes(archive)
    dest = tmp_path / "out"
    with pytest.raises(DataError, match="refusing member"):
        data.safe_extract(path, dest)
    assert not (tmp_path / "escape.txt").exists()
    assert list(dest.iterdir()) == []  # no staging folder or partial extraction left


def test_safe_extract_rejects_damaged_archives(tmp_path):
    path = tmp_path / "bad.zip"
    path.write_bytes(ARCHIVE[: len(ARCHIVE) // 2])
    with pytest.raises(DataError, match="neither a zip nor a tar|damaged"):
        data.safe_extract(path, tmp_path / "out")


def test_unknown_name_lists_the_registry():
    with pytest.raises(ValueError, match="unknown data set 'nope'; registered: .*movielens-100k"):
        data.fetch("nope")


def test_entries_need_a_checksum():
    with pytest.raises(ValueError, match="needs a checksum"):
        DataSource(name="x", url="u", path="p", checksum=None, size=None, license="", citation="")
    with pytest.raises(ValueError, match="sha256:<hex>"):
        DataSource(name="x", url="u", path="p", checksum="crc:1", size=None, license="", citation="")


def test_registry_covers_the_mirror_manifest():
    assert set(data.REGISTRY) >= {"ett-h1", "clinc150", "sst2", "movielens-100k", "squad-v1.1-dev",
                                  "hymenoptera"}
    for source in data.REGISTRY.values():
        assert source.url.startswith("https://"), source.name
        assert source.license and source.citation, source.name
        if source.archive:
            assert Path(source.path).is_relative_to(Path(source.archive).parent), source.name
    assert "Harper and Joseph A. Konstan" in data.describe("movielens-100k")


def test_resolve_model_prefers_a_folder_then_the_mirror_then_the_hub(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(data.MIRROR_VAR, raising=False)
    assert data.resolve_model("org/name") == "org/name"
    (tmp_path / "mirror/models/org/name").mkdir(parents=True)
    monkeypatch.setenv(data.MIRROR_VAR, str(tmp_path / "mirror"))
    assert data.resolve_model("org/name") == str(tmp_path / "mirror/models/org/name")
    (tmp_path / "org/name").mkdir(parents=True)  # a local folder of the same name wins
    assert data.resolve_model("org/name") == "org/name"
    with pytest.raises(ValueError, match="model folder ./missing does not exist"):
        data.resolve_model("./missing")
