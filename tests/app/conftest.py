"""The app tier's fixtures: smoke artifacts of Days 1-5 (reused from the notebook tier when it ran in the
same session, else made by running the five notebooks once), and an app served on 127.0.0.1."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENT_DAYS = ("Day1_Recommendation", "Day2_ImageClassification", "Day3_Chatbot", "Day4_TimeSeries",
                  "Day5_Sentiment")


def missing_days(root: Path) -> list[str]:
    """The component days whose artifact folder under ``root`` has no config.json yet."""
    return [day for day in COMPONENT_DAYS if not (root / day / "config.json").is_file()]


@pytest.fixture(scope="session")
def smoke_artifacts(smoke_artifacts_root, tmp_path_factory):
    """A folder holding the smoke-profile artifacts of Days 1-5, as their notebooks write them."""
    root = Path(smoke_artifacts_root)
    todo = missing_days(root)
    if todo:
        notebooks = [str(next((ROOT / day).glob("*.ipynb"))) for day in todo]
        env = dict(os.environ, APPLIED_MLX_PROFILE="smoke", APPLIED_MLX_ARTIFACTS=str(root), PYTHONHASHSEED="0")
        out = tmp_path_factory.mktemp("executed")
        result = subprocess.run([sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--out", str(out),
                                 "--timeout", "600", *notebooks], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=1500)
        assert result.returncode == 0, f"the smoke notebooks failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    assert not missing_days(root), f"no artifacts for {missing_days(root)} under {root}"
    return root


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def launch_app():
    """A function that starts ``python -m applied_mlx.app --no-browser --port <free> *args`` in ``cwd`` as a user
    does and reads its output until the URL line: (server process, URL or None, the lines seen)."""
    import time

    root = Path(__file__).resolve().parents[2]

    def launch(args, cwd, timeout: float):
        env = dict(os.environ, PYTHONPATH=str(root), PYTHONUNBUFFERED="1")
        server = subprocess.Popen([sys.executable, "-m", "applied_mlx.app", "--port", str(free_port()),
                                   "--no-browser", *map(str, args)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        url, seen, deadline = None, [], time.monotonic() + timeout
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            seen.append(line)
            if line.startswith("Running on local URL: "):
                url = line.split(": ", 1)[1].strip()
        return server, url, seen

    return launch


def serve(components):
    """Build the app over ``components`` and serve it on 127.0.0.1 without blocking; return the Blocks."""
    from applied_mlx.app import build_demo

    demo = build_demo(components)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    return demo


@pytest.fixture(scope="session")
def app_components(smoke_artifacts):
    """The five smoke components the session's app serves (found now, each loaded on first use)."""
    from applied_mlx.app import Components

    return Components(smoke_artifacts)


@pytest.fixture(scope="session")
def app_url(app_components):
    """The URL of the app over the five smoke components, served for the whole session."""
    demo = serve(app_components)
    yield demo.local_url
    demo.close()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def partial_root(smoke_artifacts, tmp_path_factory):
    """Days 1, 3 and 5 as saved; Day 2 damaged (a schema version from the future); Day 4 absent."""
    import json

    root = tmp_path_factory.mktemp("partial")
    for day in ("Day1_Recommendation", "Day3_Chatbot", "Day5_Sentiment"):
        (root / day).symlink_to(smoke_artifacts / day, target_is_directory=True)
    shutil.copytree(smoke_artifacts / "Day2_ImageClassification", root / "Day2_ImageClassification")
    config = root / "Day2_ImageClassification" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "schema_version": 99}))
    return root


@pytest.fixture(scope="session")
def partial_client(partial_root):
    """A client of the app started with Day 4 missing and Day 2 incompatible."""
    from gradio_client import Client

    from applied_mlx.app import Components

    demo = serve(Components(partial_root))
    yield Client(demo.local_url, verbose=False)
    demo.close()


def root_with(smoke_artifacts: Path, root: Path, copied=(), left_out=()) -> Path:
    """A folder of the smoke artifacts under ``root``: the ``copied`` days as copies (to damage), the others
    linked, the ``left_out`` ones absent."""
    root.mkdir(parents=True, exist_ok=True)
    for day in COMPONENT_DAYS:
        if day in copied:
            shutil.copytree(smoke_artifacts / day, root / day)
        elif day not in left_out:
            (root / day).symlink_to(smoke_artifacts / day, target_is_directory=True)
    return root


@pytest.fixture
def make_root(smoke_artifacts, tmp_path):
    """``make_root(copied=(), left_out=())``: a fresh artifacts folder, as ``root_with`` makes it."""
    return lambda copied=(), left_out=(): root_with(smoke_artifacts, tmp_path / "artifacts", copied, left_out)


@pytest.fixture
def serve_app():
    """``serve_app(components)``: the app served on 127.0.0.1 (closed after the test); returns its URL."""
    demos = []

    def start(components) -> str:
        demos.append(serve(components))
        return demos[-1].local_url

    yield start
    for demo in demos:
        demo.close()


@pytest.fixture(scope="session")
def shape_png(tmp_path_factory) -> Path:
    """A small PNG like the smoke data (a green square on black)."""
    from PIL import Image, ImageDraw

    from applied_mlx.vision import SHAPE_COLOURS

    path = tmp_path_factory.mktemp("images") / "square.png"
    img = Image.new("RGB", (64, 64), "black")
    ImageDraw.Draw(img).rectangle([16, 16, 48, 48], fill=SHAPE_COLOURS["square"])
    img.save(path)
    return path
