"""The Day 6 app in a real browser: headless Debian Chromium (installed by tools/install_chromium.sh from
the package registry when missing) driven by Playwright. One chat exchange, one image upload, and a
screenshot of each that must be a non-empty PNG; the Dashboard filled in on page load, with no button pressed."""

import importlib.util
import re
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


# the recommendation table draws only the rows in view, each cell marked with its row number; vega draws each line
# of the native plot as one path in the SVG group of the line marks
DASHBOARD_STATE = """() => ({
    rows: new Set(Array.from(document.querySelectorAll('#recommendations [data-row]')).map(c => c.dataset.row)).size,
    lines: document.querySelectorAll('#forecast-plot g.mark-line path').length,
    table: document.querySelector('#recommendations')?.innerText || '',
})"""


def test_the_dashboard_is_filled_in_on_page_load(tool, app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=tool.find_chromium(), headless=True, args=tool.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.goto(app_url, timeout=60_000)
            page.get_by_role("tab", name="Dashboard").click()  # the tab only: neither Forecast nor Recommend
            page.wait_for_function(f"() => {{ const s = ({DASHBOARD_STATE})(); return s.rows > 0 && s.lines > 0; }}",
                                   timeout=60_000)
            tool.settle(page, 60_000)
            state = page.evaluate(DASHBOARD_STATE)
            page.screenshot(path=str(tmp_path / "app_dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert state["rows"] == 10 and state["lines"] == 3  # the default count; history, actual and forecast
    assert "score (%)" in state["table"] and "reason" in state["table"]
    assert re.search(r"\d\.\d{5,}", state["table"]) is None  # no raw scores such as 0.009934161781050364
    assert (tmp_path / "app_dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
