"""tools/run_notebooks.py: tidying an executed notebook before it is committed."""

import base64
import importlib.util
import io
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image

TOOL = Path(__file__).resolve().parents[2] / "tools" / "run_notebooks.py"
spec = importlib.util.spec_from_file_location("run_notebooks", TOOL)
run_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_notebooks)


def png_b64(array: np.ndarray, mode: str = "RGB") -> str:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def notebook_with(*pngs: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    outputs = [nbformat.v4.new_output("display_data", data={"image/png": p, "text/plain": "<Figure>"}) for p in pngs]
    nb.cells.append(nbformat.v4.new_code_cell("plot()", outputs=outputs, execution_count=1))
    return nb


def test_tidy_reencodes_large_pngs_keeps_small_ones_and_drops_widget_state():
    rng = np.random.default_rng(0)
    photo = png_b64(rng.integers(0, 256, (400, 400, 3), dtype=np.uint8))  # noise: a large PNG
    rgba = png_b64(rng.integers(0, 256, (400, 400, 4), dtype=np.uint8), mode="RGBA")
    line_plot = png_b64(np.full((50, 50, 3), 255, dtype=np.uint8))
    nb = notebook_with(photo, rgba, line_plot)

    run_notebooks.tidy(nb)

    assert "widgets" not in nb.metadata
    big, big_alpha, small = (o["data"] for o in nb.cells[0].outputs)
    for data in (big, big_alpha):
        assert set(data) == {"image/jpeg", "text/plain"}
        image = Image.open(io.BytesIO(base64.b64decode(data["image/jpeg"])))
        assert image.format == "JPEG" and image.size == (400, 400) and image.mode == "RGB"
    assert small["image/png"] == line_plot, "a small figure should stay a lossless PNG"


def test_widget_bars_become_their_final_text_and_hidden_ones_go():
    """tqdm's notebook bars are committed as the line they ended on, not as a frozen '0%' widget."""
    def model(name, **state):
        return {"model_name": name, "state": state}

    state = {
        "box": model("HBoxModel", children=["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"], layout="IPY_MODEL_lay"),
        "lay": model("LayoutModel", visibility=None),
        "l": model("HTMLModel", value="epochs: 100%"), "p": model("FloatProgressModel", value=5.0, max=5.0),
        "r": model("HTMLModel", value=" 5/5 [00:01&lt;00:00]"),
        "gone": model("HBoxModel", children=["IPY_MODEL_l"], layout="IPY_MODEL_hidden"),
        "hidden": model("LayoutModel", visibility="hidden"),
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    bar = {"application/vnd.jupyter.widget-view+json": {"model_id": "box"}, "text/plain": "HBox(children=...)"}
    closed = {"application/vnd.jupyter.widget-view+json": {"model_id": "gone"}, "text/plain": "HBox(children=...)"}
    outputs = [nbformat.v4.new_output("display_data", data=bar), nbformat.v4.new_output("display_data", data=closed),
               nbformat.v4.new_output("stream", name="stdout", text="done\n")]
    nb.cells.append(nbformat.v4.new_code_cell("fit()", outputs=outputs, execution_count=1))

    run_notebooks.tidy(nb)

    texts = [o.get("text") for o in nb.cells[0].outputs]
    assert texts == ["epochs: 100%|\u2588" * 1 + "\u2588" * 9 + "| 5/5 [00:01<00:00]\n", "done\n"]
    assert "widgets" not in nb.metadata
