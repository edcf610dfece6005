"""Damaged copies of a saved artifact folder, for the loaders' fault tests (shared by the day tests)."""

import json
import shutil

DROP = object()  # as a value in an edit: delete the field


def edit_config(folder, edits: dict) -> None:
    """Set the dotted fields of ``folder/config.json`` to the given values (``DROP`` deletes one)."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    for dotted, value in edits.items():
        *parents, last = dotted.split(".")
        node = config
        for part in parents:
            node = node[part]
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    path.write_text(json.dumps(config))


def edited_copy(src, dst, dotted, value):
    """A copy of the artifact folder ``src`` whose config.json has ``dotted`` set to ``value`` (or deleted)."""
    shutil.copytree(src, dst)
    edit_config(dst, {dotted: value})
    return dst
