"""Save and load a trained component: weights + ``config.json`` + ``metrics.json``.

An artifact folder holds
- ``model.safetensors`` (a PyTorch state dict) and/or ``model/`` (a transformers
  ``save_pretrained`` folder, tokenizer included);
- ``config.json``: ``schema_version``, the component name, the model class and constructor
  arguments, every piece of preprocessing state inference needs, the profile and data it was
  trained on, library versions;
- ``metrics.json``: the evaluation numbers the notebook printed;
- any extra files the component declares (a knowledge base, say).

Loading never unpickles (safetensors only), checks the schema version, the component and the
files, and raises ``ArtifactError`` naming what is missing or mismatched.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

SCHEMA_VERSION = 1
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.safetensors"
PRETRAINED_DIR = "model"
ARTIFACTS_VAR = "APPLIED_MLX_ARTIFACTS"
_RESERVED = {"schema_version", "component", "weights", "files", "created", "versions"}
_VERSIONED = ("torch", "torchvision", "transformers", "numpy", "pandas", "scikit-learn", "safetensors")


class ArtifactError(ValueError):
    """An artifact folder is missing, incomplete, of another schema version or does not fit the model."""


def artifact_dir(day: str) -> Path:
    """Where a day's component lives: ``$APPLIED_MLX_ARTIFACTS/<day>``, else ``<day>/artifacts``.

    day: the day's folder name, e.g. ``"Day1_Recommendation"``. Without the variable, a notebook
    running inside its day folder uses ``./artifacts``; from the repository root,
    ``<day>/artifacts``; anywhere else (Colab), ``./artifacts/<day>``.
    """
    root = os.environ.get(ARTIFACTS_VAR, "").strip()
    if root:
        return Path(root).expanduser() / day
    cwd = Path.cwd()
    if cwd.name == day:
        return cwd / "artifacts"
    if (cwd / day).is_dir():
        return cwd / day / "artifacts"
    return cwd / "artifacts" / day


def library_versions() -> dict[str, str]:
    """Versions of the libraries that matter for reloading, where installed."""
    from . import __version__

    versions = {"python": platform.python_version(), "applied_mlx": __version__}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "tolist"):  # a torch tensor
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable: store plain numbers, strings, lists")


def write_json(path: str | os.PathLike, data) -> Path:
    """Write ``data`` as indented JSON (NumPy and tensor values converted); return the path."""
    path = Path(path)
    path.write_text(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def _state_dict_for_saving(model) -> dict:
    # safetensors refuses tensors that share memory (tied weights); separate copies are fine.
    return {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}


def save_artifact(directory: str | os.PathLike, *, component: str, config: dict, metrics: dict | None = None,
                  model=None, pretrained=None, files: dict | None = None) -> Path:
    """Write an artifact folder atomically (a complete folder or the previous one, never half of one).

    component: the component's name, checked on load (e.g. ``"recommender"``).
    config: model class and arguments, preprocessing state, training data/profile; JSON-able.
    model: a ``torch.nn.Module`` whose state dict goes to ``model.safetensors``.
    pretrained: an object, or a list of objects, with ``save_pretrained`` (a transformers model,
        its tokenizer), saved together into ``model/``.
    files: extra files, name -> str, bytes or a JSON-able dict/list.
    """
    if model is None and pretrained is None:
        raise ValueError("save_artifact needs model= (a torch module) or pretrained= (save_pretrained objects)")
    reserved = sorted(set(config) & _RESERVED)
    if reserved:
        raise ValueError(f"config may not set {', '.join(reserved)}: save_artifact writes those itself")
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        weights = []
        if model is not None:
            from safetensors.torch import save_file

            save_file(_state_dict_for_saving(model), str(staging / WEIGHTS_FILE))
            weights.append(WEIGHTS_FILE)
        if pretrained is not None:
            for obj in pretrained if isinstance(pretrained, (list, tuple)) else [pretrained]:
                obj.save_pretrained(staging / PRETRAINED_DIR)
            weights.append(PRETRAINED_DIR + "/")
        for name, content in (files or {}).items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            elif isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                write_json(target, content)
        full_config = {
            "schema_version": SCHEMA_VERSION,
            "component": component,
            **config,
            "weights": weights,
            "files": sorted(files or {}),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": library_versions(),
        }
        write_json(staging / CONFIG_FILE, full_config)
        write_json(staging / METRICS_FILE, metrics or {})
        _swap_into_place(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return directory


def _swap_into_place(staging: Path, directory: Path) -> None:
    if directory.exists():
        old = directory.with_name(f".{directory.name}-old-{os.getpid()}")
        os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old)
    else:
        os.replace(staging, directory)


@dataclass
class Artifact:
    """A loaded, checked artifact folder: its config and metrics, and access to its weights."""

    path: Path
    config: dict
    metrics: dict = field(default_factory=dict)

    @property
    def component(self) -> str:
        return self.config["component"]

    @property
    def pretrained_dir(self) -> Path:
        """The ``save_pretrained`` folder, for ``from_pretrained``."""
        path = self.path / PRETRAINED_DIR
        if not path.is_dir():
            raise ArtifactError(f"{self.path} has no {PRETRAINED_DIR}/ folder (a transformers model)")
        return path

    def file(self, name: str) -> Path:
        """Path of an extra file saved with the artifact."""
        path = self.path / name
        if not path.is_file():
            raise ArtifactError(f"{self.path} lacks {name}, which this component needs")
        return path

    def state_dict(self) -> dict:
        """The saved PyTorch tensors (safetensors: no code is unpickled)."""
        from safetensors.torch import load_file

        path = self.path / WEIGHTS_FILE
        if not path.is_file():
            raise ArtifactError(f"{self.path} has no {WEIGHTS_FILE}")
        try:
            return load_file(str(path))
        except Exception as e:  # a truncated or foreign file
            raise ArtifactError(f"{path} is not a readable safetensors file ({e})") from None

    def load_into(self, model):
        """Load the saved weights into ``model`` (built with the config's arguments); return it.

        Raises ArtifactError listing missing, unexpected and wrongly shaped tensors.
        """
        saved = self.state_dict()
        expected = model.state_dict()
        missing = sorted(set(expected) - set(saved))
        unexpected = sorted(set(saved) - set(expected))
        mismatched = [f"{k}: saved {tuple(saved[k].shape)}, model {tuple(v.shape)}"
                      for k, v in expected.items() if k in saved and saved[k].shape != v.shape]
        if missing or unexpected or mismatched:
            parts = []
            if mismatched:
                parts.append("shape mismatch: " + "; ".join(mismatched))
            if missing:
                parts.append("missing from the file: " + ", ".join(missing))
            if unexpected:
                parts.append("not in the model: " + ", ".join(unexpected))
            raise ArtifactError(f"the weights in {self.path} do not fit {type(model).__name__} "
                                f"({' | '.join(parts)}); was the model built from this artifact's config?")
        model.load_state_dict(saved)
        return model


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ArtifactError(f"{path} is not valid JSON ({e}): the {what} is damaged") from None


def load_artifact(directory: str | os.PathLike, component: str | None = None) -> Artifact:
    """Open and check an artifact folder.

    component: if given, the folder must hold that component.
    Raises ArtifactError when the folder or a declared file is missing, the schema version
    differs or the component does not match.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"no artifact folder at {directory}: run the day's notebook to train and save it")
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise ArtifactError(f"{directory} has no {CONFIG_FILE}: not an artifact folder, or an incomplete one")
    config = _read_json(config_path, "config")
    version = config.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(f"{config_path} has schema_version {version!r}; this applied_mlx reads "
                            f"version {SCHEMA_VERSION}: re-run the notebook that made it, or install "
                            "the applied_mlx version that wrote it")
    if component is not None and config.get("component") != component:
        raise ArtifactError(f"{directory} holds a {config.get('component')!r} component, not {component!r}")
    missing = [w for w in config.get("weights", []) if not (directory / w.rstrip("/")).exists()]
    missing += [f for f in config.get("files", []) if not (directory / f).exists()]
    if missing:
        raise ArtifactError(f"{directory} lacks {', '.join(missing)}, which its config declares")
    metrics_path = directory / METRICS_FILE
    metrics = _read_json(metrics_path, "metrics") if metrics_path.is_file() else {}
    return Artifact(path=directory, config=config, metrics=metrics)
