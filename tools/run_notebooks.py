"""Execute the day notebooks in order (Days 1-5, then Day 6), each in its own folder.

    python tools/run_notebooks.py                  # every Day*/*.ipynb into runs/<time>/
    python tools/run_notebooks.py --inplace Day1*/*.ipynb   # refresh the committed outputs
    python tools/run_notebooks.py --app            # then start the Day 6 app on what they saved
    python tools/run_notebooks.py --tidy           # shrink committed notebooks without running them

The profile comes from APPLIED_MLX_PROFILE (default: full with CUDA, quick without). ``make demo`` does not
wait for the notebooks: it starts the app at once and trains the missing components behind it
(``python -m applied_mlx.app --train quick``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def day_notebooks() -> list[Path]:
    """Every Day*/*.ipynb under the repository, by day number."""
    found = ROOT.glob("Day*/*.ipynb")
    return sorted(found, key=lambda p: (int(re.match(r"Day(\d+)", p.parent.name).group(1)), p.name))


def execute(notebook: Path, output: Path, timeout: int) -> float:
    """Run ``notebook`` in its own folder, write the executed copy to ``output``; return seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    tidy(nb)
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, output)
    return time.perf_counter() - start


def tidy(nb, max_png_bytes: int = 150_000, jpeg_quality: int = 85) -> None:
    """Make an executed notebook small enough to commit and to read on GitHub, in place.

    The widgets' saved state (progress bars) is megabytes that GitHub cannot render anyway; each
    widget output keeps its text/plain form. Large PNG figures (photo grids, heatmap overlays) are
    re-encoded as JPEG, a fifth of the size at the same resolution; small PNGs (line plots) stay.
    """
    import base64
    import io

    from PIL import Image

    widgets_to_text(nb)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            png = data.get("image/png")
            if not png or len(png) * 3 // 4 <= max_png_bytes:
                continue
            image = Image.open(io.BytesIO(base64.b64decode(png)))
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                flat = Image.new("RGB", image.size, "white")
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=jpeg_quality, optimize=True)
            del data["image/png"]
            data["image/jpeg"] = base64.b64encode(buffer.getvalue()).decode("ascii")


def _html_text(value: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", value or ""))


def widget_text(model_id: str, state: dict) -> str | None:
    """The text a tqdm notebook bar (an HBox of HTML, progress, HTML) showed when it finished; None if unknown."""
    box = state.get(model_id, {})
    if box.get("model_name") != "HBoxModel":
        return None
    layout = state.get(str(box.get("state", {}).get("layout", "")).removeprefix("IPY_MODEL_"), {})
    if layout.get("state", {}).get("visibility") == "hidden":  # a bar closed with leave=False
        return None
    parts = []
    for ref in box.get("state", {}).get("children", []):
        child = state.get(str(ref).removeprefix("IPY_MODEL_"), {})
        values = child.get("state", {})
        if child.get("model_name") == "HTMLModel":
            parts.append(_html_text(values.get("value", "")))
        elif child.get("model_name") in ("FloatProgressModel", "IntProgressModel"):
            total = values.get("max") or 0
            filled = round(10 * (values.get("value", 0) / total)) if total else 0
            parts.append("|" + "\u2588" * filled + " " * (10 - filled) + "|")
    text = "".join(parts).strip()
    return text or None


def widgets_to_text(nb) -> None:
    """Replace each widget output (tqdm's notebook bars) with the text line it ended on, and drop widget state.

    GitHub cannot render widgets and shows a frozen "0%" bar for each; the saved widget state holds
    the bar's final description, fill and counts, which is what a reader should see. A bar whose state was
    not saved (closed with leave=False) is dropped.
    """
    import nbformat

    saved = nb.metadata.pop("widgets", {}) or {}
    state = saved.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view is None:
                kept.append(output)
                continue
            text = widget_text(view.get("model_id", ""), state)
            if text:
                kept.append(nbformat.v4.new_output("stream", name="stderr", text=text + "\n"))
        if "outputs" in cell:
            cell["outputs"] = kept


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every Day*/*.ipynb")
    parser.add_argument("--inplace", action="store_true", help="overwrite the notebooks with their outputs")
    parser.add_argument("--out", type=Path, default=None, help="folder for executed copies (default runs/<time>)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument("--app", action="store_true", help="start the Day 6 app afterwards, if it exists")
    parser.add_argument("--tidy", action="store_true",
                        help="only tidy the notebooks in place (widget state, large PNGs), do not execute them")
    args = parser.parse_args(argv)

    notebooks = [p.resolve() for p in args.notebooks] or day_notebooks()
    if args.tidy:
        import nbformat

        for path in notebooks:
            before = path.stat().st_size
            nb = nbformat.read(path, as_version=4)
            tidy(nb)
            nbformat.write(nb, path)
            print(f"{os.path.relpath(path, ROOT)}: {before / 1e6:.2f} MB -> {path.stat().st_size / 1e6:.2f} MB")
        return 0
    out = args.out or ROOT / "runs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    if not notebooks:
        print("No day notebooks yet (Day*/*.ipynb).")
    for nb in notebooks:
        target = nb if args.inplace else out / nb.parent.name / nb.name
        print(f"running {nb.relative_to(ROOT)} ...", flush=True)
        seconds = execute(nb, target, args.timeout)
        print(f"  done in {seconds:.0f} s -> {os.path.relpath(target, ROOT)}", flush=True)
    if args.app:
        if (ROOT / "applied_mlx" / "app" / "__main__.py").exists():
            return subprocess.call([sys.executable, "-m", "applied_mlx.app"], cwd=ROOT)
        print("The Day 6 app (applied_mlx/app/) is not built yet.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
