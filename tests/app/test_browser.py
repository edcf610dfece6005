"""The Day 6 app in a real browser: headless Debian Chromium (installed by tools/install_chromium.sh from
the package registry when missing) driven by Playwright. One chat exchange, one image upload, and a
screenshot of each that must be a non-empty PNG."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt: pip install it")


def _screenshot_tool():
    spec = importlib.util.spec_from_file_location("screenshot_app", ROOT / "tools" / "screenshot_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    """tools/screenshot_app.py, with chromium installed (or the test skipped, saying why)."""
    tool = _screenshot_tool()
    if tool.find_chromium() is None:
        result = subprocess.run(["bash", str(ROOT / "tools" / "install_chromium.sh")], capture_output=True,
                                text=True, timeout=900)
        if result.returncode != 0 or tool.find_chromium() is None:
            pytest.skip("no chromium, and tools/install_chromium.sh could not install Debian's (needs root or "
                        f"sudo -n and the Debian registry): {(result.stderr or result.stdout)[-300:]}")
    return tool


def test_chat_and_image_upload_in_headless_chromium(tool, app_url, shape_png, tmp_path):
    result = tool.drive_app(app_url, shape_png, tmp_path, message="recommend me something like Movie 3")
    assert "route: recommend" in result["chat_reply"] and "because you rated Movie 3 (" in result["chat_reply"]
    assert result["image_text"].startswith("I see ") and "runner-up" in result["image_text"]
    for png in (result["chat_png"], result["image_png"]):
        data = Path(png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, f"{png} is empty or not a PNG"
