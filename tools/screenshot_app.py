"""Drive the Day 6 app in headless Chromium: one chat exchange, one image upload, a screenshot of each.

    python tools/screenshot_app.py IMAGE [--out Day6_Multimodal]   # serves the app over the day artifacts

The browser test (tests/app/test_browser.py) calls ``drive_app`` on an app it serves itself. The browser
is Debian's ``chromium`` (tools/install_chromium.sh), driven by Playwright through ``executable_path``:
Playwright's own browser download is never used (it needs the internet).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
CHAT_MESSAGE = "recommend me something like Star Wars"


def find_chromium() -> str | None:
    """The chromium executable: ``$CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def settle(page, timeout_ms: int) -> None:
    """Wait until Gradio shows no pending output and every image has loaded, then for its fade-in to end:
    a screenshot taken as soon as the text appears can catch the other outputs half-drawn."""
    page.wait_for_function("() => !document.querySelector('.pending, .generating') && "
                           "Array.from(document.images).every(img => img.complete)", timeout=timeout_ms)
    page.wait_for_timeout(600)


def drive_app(url: str, image: str | os.PathLike, out_dir: str | os.PathLike, message: str = CHAT_MESSAGE,
              timeout_s: float = 60) -> dict:
    """Open ``url``, send ``message`` in the Chat tab and upload ``image`` in the Image tab.

    Returns {"chat_reply", "image_text", "chat_png", "image_png"}: the texts the page showed and the
    screenshot paths (``out_dir/app_chat.png``, ``out_dir/app_image.png``).
    """
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no chromium on PATH: run tools/install_chromium.sh")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ms = int(timeout_s * 1000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(url, timeout=ms)
            box = page.get_by_role("textbox").first
            box.wait_for(timeout=ms)
            box.fill(message)
            box.press("Enter")
            reply = page.locator(".message.bot, [data-testid='bot']").last
            page.get_by_text("route:").last.wait_for(timeout=ms)
            chat_reply = reply.inner_text()
            settle(page, ms)
            page.screenshot(path=str(out_dir / "app_chat.png"))

            page.get_by_role("tab", name="Image").click()
            page.locator("#image-input input[type=file]").set_input_files(str(image))
            page.get_by_role("button", name="Classify").click()
            page.locator("#image-text").get_by_text("I see").wait_for(timeout=ms)
            image_text = page.locator("#image-text").inner_text()
            settle(page, ms)
            page.screenshot(path=str(out_dir / "app_image.png"))
        finally:
            browser.close()
    return {"chat_reply": chat_reply, "image_text": image_text, "chat_png": out_dir / "app_chat.png",
            "image_png": out_dir / "app_image.png"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path, help="a photo to upload")
    parser.add_argument("--out", type=Path, default=ROOT / "Day6_Multimodal")
    parser.add_argument("--message", default=CHAT_MESSAGE)
    args = parser.parse_args(argv)
    from applied_mlx.app import build_demo, load_components

    demo = build_demo(load_components())
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        result = drive_app(demo.local_url, args.image, args.out, args.message)
    finally:
        demo.close()
    print(result["chat_reply"], "\n---\n", result["image_text"])
    print("screenshots:", result["chat_png"], result["image_png"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
