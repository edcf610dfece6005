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

Every component of the project follows one contract (``Component``): a ``COMPONENT`` name,
``save(directory)`` and ``Class.load(directory)``. Loaders share one error path
(``load_component``): whatever goes wrong while a folder is read (a damaged JSON file, a missing
field, a truncated weights file, tensors of another shape) comes out as an ``ArtifactError`` that
names the folder, the file and the field. Model constructor arguments are stored as a config
dataclass (``model_config``/``config_from``) and checked against the safetensors header before
any tensor is allocated (``Artifact.load_module``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import shutil
import struct
import tempfile
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import ClassVar, Protocol, TypeVar, runtime_checkable

SCHEMA_VERSION = 1
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.safetensors"
PRETRAINED_DIR = "model"
ARTIFACTS_VAR = "APPLIED_MLX_ARTIFACTS"
_RESERVED = {"schema_version", "component", "weights", "files", "created", "versions"}
_VERSIONED = ("torch", "torchvision", "transformers", "numpy", "pandas", "scikit-learn", "safetensors")


# Files that only code can read back (pickles): never loaded, and a folder holding one is refused.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".h5", ".msgpack")
MAX_HEADER_BYTES = 100_000_000  # a safetensors header is a few kB per hundred tensors
T = TypeVar("T")


class ArtifactError(ValueError):
    """An artifact folder is missing, incomplete, of another schema version or does not fit the model."""


@runtime_checkable
class Component(Protocol):
    """What every trained component of the project offers: a name, ``save`` and ``load``.

    ``COMPONENT`` is checked on load (an image classifier folder is not loaded as a recommender);
    ``save(directory, metrics=None, **config)`` writes an artifact folder atomically;
    ``Class.load(directory, **options)`` reads it back or raises ``ArtifactError``.
    """

    COMPONENT: ClassVar[str]

    def save(self, directory, metrics: dict | None = None, **config) -> Path: ...

    @classmethod
    def load(cls, directory, **options): ...


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
        its tokenizer), saved together into ``model/``; or a dict ``{subfolder: object or list}`` for
        several models, each in its own named subfolder (``{"intent": [model, tok], "qa": [...]}``).
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
            named = pretrained if isinstance(pretrained, dict) else {PRETRAINED_DIR: pretrained}
            for name, objects in named.items():
                _check_relative_name(name, "a pretrained subfolder")
                for obj in objects if isinstance(objects, (list, tuple)) else [objects]:
                    obj.save_pretrained(staging / name)
                weights.append(name + "/")
        for name, content in (files or {}).items():
            _check_relative_name(name, "an extra file")
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


def _check_relative_name(name, what: str) -> str:
    """``name`` if it is a plain relative path inside the folder (no '..', not absolute); else ValueError."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} needs a non-empty name, got {name!r}")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise ValueError(f"{what} must stay inside the artifact folder, got {name!r}")
    return name


def _swap_into_place(staging: Path, directory: Path) -> None:
    if directory.exists():
        old = directory.with_name(f".{directory.name}-old-{os.getpid()}")
        os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old)
    else:
        os.replace(staging, directory)


def read_safetensors_header(path: str | os.PathLike) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Tensor name -> (dtype, shape) from a safetensors file's header, reading only the header.

    Checks what can be checked without allocating a tensor: the header is JSON of a sane size and every
    tensor's bytes lie inside the file (a truncated file is caught here). ArtifactError otherwise.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ArtifactError(f"{path} is not a readable safetensors file ({size} bytes, no header)")
            (length,) = struct.unpack("<Q", head)
            if length > min(MAX_HEADER_BYTES, size - 8):
                raise ArtifactError(f"{path} is not a readable safetensors file (header of {length} bytes "
                                    f"in a file of {size})")
            header = json.loads(f.read(length).decode("utf-8"))
    except ArtifactError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path} is not a readable safetensors file ({type(e).__name__}: {e})") from None
    if not isinstance(header, dict):
        raise ArtifactError(f"{path} is not a readable safetensors file (its header is not a JSON object)")
    data_bytes = size - 8 - length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = str(info["dtype"]), tuple(int(d) for d in info["shape"]), info["data_offsets"]
            if not 0 <= int(start) <= int(end) or any(d < 0 for d in shape):
                raise ValueError("negative offsets or sizes")
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{path}: the header entry of tensor {name!r} is malformed ({e})") from None
        if int(end) > data_bytes:
            raise ArtifactError(f"{path} is truncated: tensor {name!r} ends at byte {end} of a data section of "
                                f"{data_bytes} bytes")
        tensors[name] = (dtype, shape)
    return tensors


def check_no_pickles(folder: str | os.PathLike) -> Path:
    """``folder`` if no file in it is a pickle-based checkpoint (``pytorch_model.bin``, ``*.pt``, ...);
    ArtifactError otherwise: such files run code when loaded, so the project never reads them."""
    folder = Path(folder)
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)
    if found:
        raise ArtifactError(f"{folder} holds {', '.join(found)}: pickle-based files can run code when loaded, "
                            "so they are refused; keep only the safetensors weights (and the tokenizer files)")
    return folder


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, where: str):
    """``value`` as the annotated type ``tp`` (int, float, bool, str, list/tuple of those, X | None, dict);
    ArtifactError naming ``where`` otherwise."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, where)
            except ArtifactError as e:
                errors.append(str(e))
        raise ArtifactError(errors[0] if errors else f"{where} is {value!r}, which is not allowed")
    if tp is typing.Any:
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ArtifactError(f"{where} must be a list, got {type(value).__name__} {value!r:.60}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ArtifactError(f"{where} must have {len(args)} entries, got {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else typing.Any
        out = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ArtifactError(f"{where} must be a JSON object, got {type(value).__name__}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ArtifactError(f"{where} must be true or false, got {value!r:.60}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArtifactError(f"{where} must be a whole number, got {value!r:.60}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArtifactError(f"{where} must be a number, got {value!r:.60}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ArtifactError(f"{where} must be a string, got {value!r:.60}")
        return value
    return value


def config_from(cls: type[T], data, where: str) -> T:
    """The config dataclass ``cls`` from a dict read from JSON, every field type-checked.

    where: what the dict is, for the message (``"config.json field 'ranker'"``). A missing field, an
    unknown one, a value of the wrong type or one the dataclass's ``__post_init__`` rejects (a
    ValueError there) raises ArtifactError naming ``where`` and the field.
    """
    if not isinstance(data, dict):
        raise ArtifactError(f"{where} must be a JSON object of {cls.__name__}'s fields, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ArtifactError(f"{where} has unknown field(s) {', '.join(map(repr, unknown))} for {cls.__name__}")
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ArtifactError(f"{where} lacks the field {name!r} ({_type_name(hints.get(name))})")
            continue
        values[name] = _coerce(data[name], hints.get(name, typing.Any), f"{where}.{name}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise ArtifactError(f"{where}: {e}") from None


def positive(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise ValueError unless ``value`` is > 0 (>= 0 with allow_zero): for config dataclasses' checks."""
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def as_dict(config) -> dict:
    """A config dataclass as a plain JSON-able dict (tuples as lists), for ``config.json``."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=_json_default))


@dataclass
class Artifact:
    """A loaded, checked artifact folder: its config and metrics, and access to its weights."""

    path: Path
    config: dict
    metrics: dict = field(default_factory=dict)
    _header: dict | None = field(default=None, repr=False, compare=False)

    @property
    def component(self) -> str:
        return self.config["component"]

    @property
    def pretrained_dir(self) -> Path:
        """The ``save_pretrained`` folder ``model/``, for ``from_pretrained`` (see ``pretrained_path``)."""
        return self.pretrained_path(PRETRAINED_DIR)

    def pretrained_path(self, name: str = PRETRAINED_DIR) -> Path:
        """The ``save_pretrained`` subfolder ``name``, checked to hold no pickle-based file."""
        path = self.path / name
        if not path.is_dir():
            raise ArtifactError(f"{self.path} has no {name}/ folder (a transformers model)")
        return check_no_pickles(path)

    def from_pretrained(self, loader, name: str = PRETRAINED_DIR, **kwargs):
        """``loader.from_pretrained(<subfolder name>, use_safetensors=True, **kwargs)``: safetensors only.

        loader: a transformers class (``AutoModelForSequenceClassification``, ``AutoTokenizer``...). A
        tokenizer loader gets no ``use_safetensors``; any failure is an ArtifactError naming the folder.
        """
        path = self.pretrained_path(name)
        if "Tokenizer" not in getattr(loader, "__name__", ""):
            kwargs.setdefault("use_safetensors", True)
        with reading(path, f"the {name}/ folder"):
            return loader.from_pretrained(str(path), **kwargs)

    def field(self, dotted: str, kind: type | tuple = object, default=dataclasses.MISSING):
        """The config value at ``dotted`` (``"model.hidden"``), checked to be of ``kind``.

        A missing field (without a default) or one of another type raises ArtifactError naming it.
        """
        value = self.config
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                if default is not dataclasses.MISSING:
                    return default
                raise ArtifactError(f"{self.path / CONFIG_FILE} lacks the field {dotted!r}")
            value = value[part]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        bad_bool = isinstance(value, bool) and bool not in kinds and (int in kinds or float in kinds)
        if not isinstance(value, kinds) or bad_bool:
            names = " or ".join(k.__name__ for k in kinds)
            raise ArtifactError(f"{self.path / CONFIG_FILE}: the field {dotted!r} must be {names}, got {value!r:.80}")
        return value

    def section(self, dotted: str, cls: type[T]) -> T:
        """The config dataclass ``cls`` from the config field ``dotted``, type-checked (``config_from``)."""
        return config_from(cls, self.field(dotted, dict), f"{self.path / CONFIG_FILE}: field {dotted}")

    def file(self, name: str) -> Path:
        """Path of an extra file saved with the artifact."""
        path = self.path / _check_relative_name(name, "an artifact file")
        if not path.is_file():
            raise ArtifactError(f"{self.path} lacks {name}, which this component needs")
        return path

    def read_json(self, name: str, kind: type = (dict, list)):
        """An extra JSON file's content, checked to be of ``kind``; ArtifactError naming the file otherwise."""
        return _read_json(self.file(name), f"file {name}", kind)

    def read_csv(self, name: str, columns=(), **kwargs):
        """An extra CSV file as a DataFrame holding at least ``columns``; ArtifactError naming the file and
        the missing columns, or the parser's complaint."""
        import pandas as pd

        path = self.file(name)
        with reading(path, "the table"):
            frame = pd.read_csv(path, **kwargs)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ArtifactError(f"{path} lacks the column(s) {', '.join(missing)} (it has {list(frame.columns)[:10]})")
        return frame

    def weights_header(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Tensor name -> (dtype, shape) of ``model.safetensors``, from its header alone."""
        if self._header is None:
            path = self.path / WEIGHTS_FILE
            if not path.is_file():
                raise ArtifactError(f"{self.path} has no {WEIGHTS_FILE}")
            self._header = read_safetensors_header(path)
        return self._header

    def state_dict(self) -> dict:
        """The saved PyTorch tensors (safetensors: no code is unpickled)."""
        from safetensors.torch import load_file

        self.weights_header()  # a truncated or foreign file is caught before anything is allocated
        path = self.path / WEIGHTS_FILE
        try:
            return load_file(str(path))
        except Exception as e:  # a foreign file the header check let through
            raise ArtifactError(f"{path} is not a readable safetensors file ({e})") from None

    def check_shapes(self, expected: dict) -> None:
        """Compare ``expected`` (name -> shape, or a state dict) with the file's header; ArtifactError listing
        missing, unexpected and wrongly shaped tensors."""
        saved = {k: shape for k, (_, shape) in self.weights_header().items()}
        expected = {k: tuple(getattr(v, "shape", v)) for k, v in expected.items()}
        missing = sorted(set(expected) - set(saved))
        unexpected = sorted(set(saved) - set(expected))
        mismatched = [f"{k}: saved {saved[k]}, model {shape}" for k, shape in expected.items()
                      if k in saved and saved[k] != shape]
        if missing or unexpected or mismatched:
            parts = []
            if mismatched:
                parts.append("shape mismatch: " + "; ".join(mismatched[:10]))
            if missing:
                parts.append("missing from the file: " + ", ".join(missing[:10]))
            if unexpected:
                parts.append("not in the model: " + ", ".join(unexpected[:10]))
            raise ArtifactError(f"the weights in {self.path / WEIGHTS_FILE} do not fit the model its "
                                f"{CONFIG_FILE} describes ({' | '.join(parts)})")

    def load_into(self, model):
        """Load the saved weights into ``model`` (built with the config's arguments); return it.

        Raises ArtifactError listing missing, unexpected and wrongly shaped tensors (checked against the
        file's header before the tensors are read).
        """
        self.check_shapes(model.state_dict())
        model.load_state_dict(self.state_dict())
        return model

    def load_module(self, build: Callable[[], T]) -> T:
        """``build()`` with the saved weights, checked before any memory is spent on them.

        build: makes the model from the config (no tensors read from the file). It runs once on PyTorch's
        ``meta`` device, where tensors have shapes but no storage, so the shapes the config implies are
        compared with the file's header first: a config asking for a huge layer fails here, with an
        ArtifactError naming the tensors, instead of allocating it.
        """
        import torch

        with torch.device("meta"):
            skeleton = build()
        self.check_shapes(skeleton.state_dict())
        return self.load_into(build())


class reading:  # noqa: N801  (used as a context manager, like open)
    """``with reading(path, what):`` turns any fault inside into an ArtifactError naming ``path``."""

    def __init__(self, path, what: str = "the artifact"):
        self.path, self.what = path, what

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is None or isinstance(error, (ArtifactError, KeyboardInterrupt, SystemExit, GeneratorExit)):
            return False  # a tokenizer's PanicException (a BaseException) is still converted below
        if isinstance(error, MemoryError):
            raise ArtifactError(f"{self.path}: {self.what} asks for more memory than there is") from None
        raise ArtifactError(f"{self.path}: {self.what} could not be read ({type(error).__name__}: {error})") from error


def _read_json(path: Path, what: str, kind=dict):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ArtifactError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start}): the {what} is damaged") from None
    except json.JSONDecodeError as e:
        raise ArtifactError(f"{path} is not valid JSON ({e}): the {what} is damaged") from None
    except (OSError, RecursionError) as e:
        raise ArtifactError(f"{path} could not be read ({type(e).__name__}: {e})") from None
    if not isinstance(data, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join("a JSON object" if k is dict else "a JSON list" for k in kinds)
        raise ArtifactError(f"{path} holds {type(data).__name__} {json.dumps(data)[:40]}, not {names}: the "
                            f"{what} is damaged")
    return data


def _names_list(config: dict, key: str, path: Path) -> list[str]:
    names = config.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ArtifactError(f"{path}: the field {key!r} must be a list of file names, got {names!r:.80}")
    for name in names:
        try:
            _check_relative_name(name.rstrip("/") or ".", f"the {key!r} entry")
        except ValueError as e:
            raise ArtifactError(f"{path}: {e}") from None
    return names


def load_artifact(directory: str | os.PathLike, component: str | None = None) -> Artifact:
    """Open and check an artifact folder.

    component: if given, the folder must hold that component.
    Raises ArtifactError when the folder or a declared file is missing, a JSON file is damaged (not
    UTF-8, not JSON, not an object), the schema version differs or the component does not match.
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
    declared = _names_list(config, "weights", config_path) + _names_list(config, "files", config_path)
    missing = [w for w in declared if not (directory / w.rstrip("/")).exists()]
    if missing:
        raise ArtifactError(f"{directory} lacks {', '.join(missing)}, which its config declares")
    metrics_path = directory / METRICS_FILE
    metrics = _read_json(metrics_path, "metrics") if metrics_path.is_file() else {}
    return Artifact(path=directory, config=config, metrics=metrics)


def load_component(directory: str | os.PathLike, component: str, build: Callable[[Artifact], T]) -> T:
    """The one loading path of every component: open and check ``directory``, then ``build(artifact)``.

    Whatever goes wrong inside ``build`` (a missing config field, a damaged table, a tokenizer that will
    not parse, tensors of another shape) comes out as an ArtifactError naming the folder and the cause.
    """
    art = load_artifact(directory, component)
    with reading(art.path, f"the {component} component"):
        return build(art)
