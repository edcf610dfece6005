"""The repository's own hygiene: scripts import the installed package, links resolve, moved paths are gone."""

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Paths that moved: the published references to docs/, the one-off experiments and the GPU run to studies/.
# Spelled in pieces so that this file does not mention them itself.
MOVED = ("shared/" + "REFERENCES.md", "benchmarks/" + "day", "benchmarks/" + "full_gpu")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def repo_files() -> list[Path]:
    """Every file git tracks or would track (untracked but not ignored), as absolute paths."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout to list the repository's files")
    return [ROOT / line for line in sorted(set(out.splitlines())) if (ROOT / line).is_file()]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def markdown_of(path: Path) -> str:
    """A README's text, or a notebook's markdown cells, without code blocks and code spans (no links there)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "code", text)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    """Every heading anchor of a markdown file."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.+?)\s*#*$", text, flags=re.M)}


def documents() -> list[Path]:
    """README.md, docs/, the day READMEs and notebooks, and the studies' READMEs."""
    found = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("Day*/README.md"),
             *ROOT.glob("Day*/*.ipynb"), *ROOT.glob("studies/**/README.md")]
    return sorted(set(found))


def broken_links(doc: Path) -> list[str]:
    """The relative links of ``doc`` whose file (or heading anchor) does not exist."""
    broken = []
    for target in LINK.findall(markdown_of(doc)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I):  # https:, mailto:, attachment:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors_of(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


def test_github_anchor_matches_githubs_rule():
    assert github_anchor("Day 1 — MovieLens 100k") == "day-1--movielens-100k"
    assert github_anchor("Working offline") == "working-offline"


def test_broken_links_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "there.md").write_text("# A heading\n")
    doc = tmp_path / "README.md"
    doc.write_text("[ok](there.md) [ok](there.md#a-heading) [gone](missing.md) [bad](there.md#nope)\n"
                   "[web](https://example.org) `[not a link](nowhere.md)`\n")
    assert broken_links(doc) == ["missing.md", "there.md#nope (no such heading)"]


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_that_exists(doc):
    assert broken_links(doc) == [], f"{doc.relative_to(ROOT)} links to files that do not exist"


def test_scripts_import_the_installed_package_not_a_patched_path():
    scripts = [p for folder in ("tools", "benchmarks", "studies") for p in (ROOT / folder).rglob("*.py")]
    assert scripts
    patched = [str(p.relative_to(ROOT)) for p in scripts if "sys.path.insert" in p.read_text(encoding="utf-8")]
    assert patched == [], "install the package (pip install -e .) instead of editing sys.path"


def test_benchmarks_hold_only_what_make_bench_runs():
    others = [p.name for p in (ROOT / "benchmarks").iterdir()
              if p.is_file() and not re.fullmatch(r"bench_\w+\.py", p.name)]
    assert others == [], "experiments and their results belong in studies/dayN/, with a README"


def test_every_study_folder_has_a_readme():
    folders = [p for p in (ROOT / "studies").iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    assert folders
    assert [p.name for p in folders if not (p / "README.md").is_file()] == []


def files_naming_moved_paths(files) -> list[str]:
    """``path: moved path`` for each file that still names a path that moved."""
    found = []
    for path in files:
        text = text_of(path)
        found += [f"{path.relative_to(ROOT)}: {old}" for old in MOVED if text and old in text]
    return found


def test_no_file_outside_the_package_names_a_moved_path():
    files = [p for p in repo_files() if not p.relative_to(ROOT).parts[0] == "applied_mlx"]
    assert files_naming_moved_paths(files) == []


def test_no_file_in_the_package_names_a_moved_path():
    files = [p for p in repo_files() if p.relative_to(ROOT).parts[0] == "applied_mlx"]
    assert files_naming_moved_paths(files) == []
