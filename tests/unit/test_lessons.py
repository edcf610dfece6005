"""The notebooks are the lessons and the package is their saved code (the d2l ``#@save`` pattern).

A code cell whose first line is ``#@save applied_mlx.<module>`` defines functions, classes or
constants that the package holds too: every top-level ``def``/``class`` (decorators included) and
every top-level ``NAME = ...`` in that cell must be the same source, character for character, as the
definition of that name in the module. Edit the lesson, copy the cell into the module (or the other
way round), and this test keeps the two from drifting apart.

The rest checks the shape every lesson shares: the same sections in the same order, a tagged
``parameters`` cell near the top, a pinned ``%pip`` install for Colab, LaTeX beside the code it
explains, the model and a plain training loop written out in cells, and committed outputs a reader
on GitHub can read (no widget state, no localhost iframes, no ``inspect.getsource`` printouts).
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import textwrap
from pathlib import Path

import pytest

import applied_mlx

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(ROOT.glob("Day*/*.ipynb"), key=lambda p: int(re.match(r"Day(\d+)", p.parent.name).group(1)))
SAVE = re.compile(r"^#@save\s+(applied_mlx(?:\.\w+)+)\s*$")
# The story every day tells, in this order (each a ``## `` heading whose text contains the word).
SECTIONS = ("goal", "data", "baseline", "model", "training", "evaluation", "error analysis",
            "saved component", "what to try next")


def cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def saved_cells(notebook: Path) -> list[tuple[int, str, str]]:
    """(cell index, module name, source) of every ``#@save`` code cell."""
    found = []
    for i, cell in enumerate(cells(notebook)):
        text = source(cell)
        first = text.split("\n", 1)[0]
        if cell["cell_type"] == "code" and (match := SAVE.match(first)):
            found.append((i, match.group(1), text))
    return found


def definitions(text: str) -> dict[str, str]:
    """Top-level name -> its source (decorators included) for defs, classes and plain assignments."""
    tree = ast.parse(text)
    lines = text.splitlines()
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        else:
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        segment = textwrap.dedent("\n".join(lines[start - 1:node.end_lineno]))
        for name in names:
            found[name] = segment
    return found


SAVED = [(nb, i, module, text) for nb in NOTEBOOKS for i, module, text in saved_cells(nb)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_lesson_saves_its_code_into_the_package(notebook):
    marked = saved_cells(notebook)
    assert marked, f"{notebook.name} has no '#@save applied_mlx.<module>' cell: the lesson's code is not in its cells"
    for i, _module, text in marked:
        assert definitions(text), f"{notebook.name} cell {i} is marked #@save but defines nothing"


@pytest.mark.parametrize("notebook,index,module,text", SAVED,
                         ids=[f"{nb.parent.name}-cell{i}" for nb, i, _, _ in SAVED])
def test_saved_cell_is_identical_to_the_package(notebook, index, module, text):
    path = Path(importlib.import_module(module).__file__)
    in_package = definitions(path.read_text())
    for name, code in definitions(text).items():
        assert name in in_package, (f"{notebook.name} cell {index} defines {name!r}, which {module} "
                                    f"({path.relative_to(ROOT)}) does not: copy it into the package")
        assert code == in_package[name], (
            f"{notebook.name} cell {index}: {name!r} differs from {module}.{name}; the notebook and "
            f"{path.relative_to(ROOT)} must hold the same source")


def test_the_pattern_is_checked_on_a_real_definition():
    """definitions() sees decorators and assignments; a changed character is a difference."""
    text = "#@save applied_mlx.env\nimport os\n\n@staticmethod\ndef f(x):\n    return x\n\nA = 1\n"
    found = definitions(text)
    assert found == {"f": "@staticmethod\ndef f(x):\n    return x", "A": "A = 1"}
    assert definitions(text.replace("return x", "return  x"))["f"] != found["f"]


def headings(notebook: Path) -> list[str]:
    return [line[3:].strip().lower() for cell in cells(notebook) if cell["cell_type"] == "markdown"
            for line in source(cell).splitlines() if line.startswith("## ")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_lesson_tells_the_story_in_the_same_order(notebook):
    found = headings(notebook)
    positions = []
    for section in SECTIONS:
        where = [i for i, h in enumerate(found) if section in h]
        assert where, f"{notebook.name} has no '## ...{section}...' section (found: {found})"
        positions.append(where[0])
    assert positions == sorted(positions), f"{notebook.name}: sections out of order: {found}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_lesson_has_a_tagged_parameters_cell_near_the_top(notebook):
    tagged = [i for i, c in enumerate(cells(notebook)) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    text = source(cells(notebook)[tagged[0]])
    assert tagged[0] <= 8, f"{notebook.name}: the parameters cell is cell {tagged[0]}, not near the top"
    for name in ("profile", "seed"):
        assert re.search(rf"^{name}\s*=", text, re.M), f"{notebook.name}: the parameters cell sets no {name!r}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_colab_install_is_pinned_and_uses_pip_magic(notebook):
    text = "\n".join(source(c) for c in cells(notebook) if c["cell_type"] == "code")
    assert "!pip" not in text, f"{notebook.name} uses !pip; use %pip (installs into the running kernel)"
    install = r"%pip install[^\n]*applied-mlx @ git\+https://github\.com/applied-mlx/applied-mlx@([\w.\-]+)"
    pins = re.findall(install, text)
    # A notebook that needs the other notebooks too (Day 6 builds missing components) clones the same release.
    pins += re.findall(r"git clone[^\n]*--branch ([\w.\-]+) https://github\.com/applied-mlx/applied-mlx", text)
    assert pins, f"{notebook.name} has no '%pip install \"applied-mlx @ git+...@<tag>\"' cell"
    assert set(pins) == {f"v{applied_mlx.__version__}"}, (
        f"{notebook.name} installs {pins}; the package is v{applied_mlx.__version__}")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_lesson_shows_code_and_math_not_printouts(notebook):
    code = "\n".join(source(c) for c in cells(notebook) if c["cell_type"] == "code")
    prose = "\n".join(source(c) for c in cells(notebook) if c["cell_type"] == "markdown")
    assert "getsource" not in code, f"{notebook.name} prints code with inspect.getsource; define it in a cell"
    assert len(re.findall(r"\$\$", prose)) >= 2, f"{notebook.name} has no displayed LaTeX equation ($$...$$)"


@pytest.mark.parametrize("notebook", [nb for nb in NOTEBOOKS if not nb.parent.name.startswith("Day6")],
                         ids=lambda p: p.parent.name)
def test_lesson_writes_out_a_plain_training_loop(notebook):
    loops = [c for c in cells(notebook) if c["cell_type"] == "code"
             and ".backward()" in source(c) and ".step()" in source(c)]
    assert loops, f"{notebook.name}: no cell with loss.backward() and optimizer.step(): the training is hidden"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_committed_outputs_read_cleanly(notebook):
    outputs = json.dumps([c.get("outputs", []) for c in cells(notebook) if c["cell_type"] == "code"])
    assert "application/vnd.jupyter.widget-view+json" not in outputs, \
        f"{notebook.name} commits widget progress bars (frozen '0%' on GitHub)"
    assert "127.0.0.1" not in outputs and "localhost:" not in outputs, \
        f"{notebook.name} commits an output pointing at a local server"
    long_lines = [line for line in outputs.split("\\n") if len(line) > 400 and "image/" not in line
                  and "base64" not in line and "<" not in line]
    assert not long_lines, f"{notebook.name} has an output line of {len(long_lines[0])} characters (a raw repr?)"
