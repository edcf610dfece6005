"""The one training loop every day uses: ``fit``, plus ``evaluate`` and ``predict``.

A batch can be
- a tuple/list ``(x1, ..., xn, target)``: the model is called as ``model(x1, ..., xn)``;
- a dict (the transformers style): ``labels`` is the target, the rest are keyword arguments;
  with no ``loss_fn``, the model's own loss (``output.loss``) is used.
Models may return a tensor or an object with ``.logits``.

``fit`` handles the device, AMP on CUDA, gradient clipping, a scheduler stepped per batch or per
epoch, validation metrics, early stopping on a chosen metric with the best weights restored,
tqdm progress bars and a history table.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .env import get_device, seed_everything

MetricFn = Callable[[np.ndarray, np.ndarray], float]
_LOWER_IS_BETTER = ("loss", "mse", "rmse", "mae", "mape", "error", "ece", "perplexity")


@dataclass
class FitResult:
    """What ``fit`` returns: the per-epoch history and where the best epoch was."""

    history: pandas.DataFrame  # noqa: F821 (pandas is imported lazily)
    monitor: str
    best_epoch: int | None
    best_score: float | None
    stopped_early: bool
    seconds: float

    def __repr__(self) -> str:
        return (f"FitResult(epochs={len(self.history)}, best_epoch={self.best_epoch}, "
                f"{self.monitor}={self.best_score}, stopped_early={self.stopped_early}, "
                f"seconds={self.seconds:.1f})")


def to_device(obj, device):
    """Move tensors inside (nested) dicts, lists and tuples to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


class TensorBatches(torch.utils.data.Dataset):
    """Named tensors that share their first dimension, indexed a whole batch at a time.

    Used with ``tensor_loader``: one fancy-indexing call per batch instead of one ``__getitem__``
    per row, which is what makes small-model training on tabular data fast.
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor]):
        self.tensors = {name: torch.as_tensor(t) for name, t in tensors.items()}
        sizes = {name: t.shape[0] for name, t in self.tensors.items()}
        if not sizes or len(set(sizes.values())) != 1:
            raise ValueError(f"tensors must be non-empty and share their first dimension, got sizes {sizes}")
        self.length = next(iter(sizes.values()))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(index)
        return {name: t[index] for name, t in self.tensors.items()}


def tensor_loader(tensors: Mapping[str, torch.Tensor], batch_size: int, shuffle: bool = False,
                  seed: int | None = None) -> torch.utils.data.DataLoader:
    """A DataLoader of dict batches (``{"x": ..., "labels": ...}``) sliced from whole tensors.

    shuffle: a new order every epoch, reproducible when ``seed`` is given.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dataset = TensorBatches(tensors)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    order = (torch.utils.data.RandomSampler(dataset, generator=generator) if shuffle
             else torch.utils.data.SequentialSampler(dataset))
    batches = torch.utils.data.BatchSampler(order, batch_size, drop_last=False)
    return torch.utils.data.DataLoader(dataset, batch_size=None, sampler=batches)


def _length(loader) -> int | None:
    try:
        return len(loader)
    except TypeError:  # an iterable without a length
        return None


def _split(batch):
    """(inputs, target, as_kwargs) of a batch."""
    if isinstance(batch, Mapping):
        inputs = dict(batch)
        return inputs, inputs.pop("labels", None), True
    if isinstance(batch, (list, tuple)):
        if len(batch) == 1:
            return tuple(batch), None, False
        return tuple(batch[:-1]), batch[-1], False
    return (batch,), None, False


def _batch_size(inputs, target) -> int:
    if isinstance(target, torch.Tensor) and target.ndim > 0:
        return target.shape[0]
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs[0]
    return first.shape[0] if isinstance(first, torch.Tensor) and first.ndim > 0 else 1


def _step(model, batch, loss_fn, device, autocast, need_loss=True):
    """Forward one batch; return (loss or None, output logits, target, batch size).

    Without ``loss_fn``, dict batches use the model's own ``output.loss``; tuple batches then
    get no loss, which only training (``need_loss``) refuses.
    """
    inputs, target, as_kwargs = _split(to_device(batch, device))
    with autocast():
        if loss_fn is None and as_kwargs:
            output = model(**inputs, **({"labels": target} if target is not None else {}))
            loss = getattr(output, "loss", None)
            if loss is None and target is not None and need_loss:
                raise ValueError("the model returned no .loss: pass loss_fn")
        else:
            if loss_fn is None and need_loss:
                raise ValueError("loss_fn is required unless batches are dicts for a model that "
                                 "computes its own loss (output.loss)")
            output = model(**inputs) if as_kwargs else model(*inputs)
            logits = getattr(output, "logits", output)
            loss = loss_fn(logits, target) if loss_fn is not None and target is not None else None
    logits = getattr(output, "logits", output)
    return loss, logits, target, _batch_size(inputs, target)


def amp_dtype() -> torch.dtype:
    """bf16 where the GPU computes it natively (Ampere and later), else fp16 (with a GradScaler).

    A T4 reports bf16 as supported through emulation, which is several times slower than fp16 and
    has no cuDNN convolutions; only native support counts.
    """
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16


def _amp_context(device: torch.device, amp: bool | None):
    """(autocast factory, GradScaler or None) for the device; AMP only on CUDA."""
    use = device.type == "cuda" if amp is None else (amp and device.type == "cuda")
    if not use:
        return nullcontext, None
    dtype = amp_dtype()
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


def _run_eval(model, loader, loss_fn, device, autocast, progress=False, desc="eval"):
    """(mean loss or nan, outputs, targets) over a loader, in eval mode with no grad."""
    from tqdm.auto import tqdm

    model.eval()
    total, count, outputs, targets = 0.0, 0, [], []
    with torch.no_grad():
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            loss, logits, target, n = _step(model, batch, loss_fn, device, autocast, need_loss=False)
            if loss is not None:
                total += loss.item() * n
                count += n
            outputs.append(logits.detach().float().cpu())
            if target is not None:
                targets.append(target.detach().cpu())
    out = torch.cat(outputs) if outputs else torch.empty(0)
    tgt = torch.cat(targets) if targets else None
    return (total / count if count else math.nan), out, tgt


def _score(metrics: Mapping[str, MetricFn] | None, outputs, targets) -> dict[str, float]:
    if not metrics:
        return {}
    if targets is None:
        raise ValueError("metrics need targets, but the loader's batches carry none")
    y_true, y_pred = targets.numpy(), outputs.numpy()
    return {name: float(fn(y_true, y_pred)) for name, fn in metrics.items()}


def evaluate(model: nn.Module, loader, loss_fn=None, metrics: Mapping[str, MetricFn] | None = None,
             device=None, amp: bool | None = None, progress: bool = False) -> dict[str, float]:
    """Mean loss (``loss``, when there is a loss) and each metric over ``loader``.

    metrics: name -> fn(y_true, y_pred) on NumPy arrays of targets and raw model outputs.
    """
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    autocast, _ = _amp_context(device, amp)
    loss, outputs, targets = _run_eval(model, loader, loss_fn, device, autocast, progress)
    result = {} if math.isnan(loss) else {"loss": loss}
    result.update(_score(metrics, outputs, targets))
    return result


def predict(model: nn.Module, loader, device=None, amp: bool | None = None, progress: bool = False,
            return_targets: bool = False):
    """Concatenated raw outputs (logits) over ``loader`` on the CPU; with targets if asked."""
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    autocast, _ = _amp_context(device, amp)
    _, outputs, targets = _run_eval(model, loader, None, device, autocast, progress, desc="predict")
    return (outputs, targets) if return_targets else outputs


def _lower_is_better(name: str) -> bool:
    return any(tag in name.lower() for tag in _LOWER_IS_BETTER)


def fit(
    model: nn.Module,
    train_loader,
    val_loader=None,
    *,
    loss_fn: Callable | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    num_epochs: int = 10,
    scheduler=None,
    scheduler_interval: str = "epoch",
    metrics: Mapping[str, MetricFn] | None = None,
    monitor: str | None = None,
    mode: str | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    grad_clip: float | None = None,
    device=None,
    amp: bool | None = None,
    seed: int | None = None,
    progress: bool = True,
) -> FitResult:
    """Train ``model`` and return a ``FitResult`` with the history table.

    loss_fn: loss(logits, target); None for dict batches whose model returns ``.loss``.
    optimizer: default AdamW(lr, weight_decay) over the parameters that require grad.
    scheduler: stepped each batch or each epoch (``scheduler_interval``); a
        ReduceLROnPlateau is stepped with the monitored value.
    metrics: name -> fn(y_true, y_pred) on the validation set; in the history as ``val_<name>``.
    monitor: the history column that picks the best epoch (default ``val_loss``, or
        ``train_loss`` without a validation loader); mode ``min``/``max`` is inferred from its name.
    patience: stop after this many epochs without improvement (None: never stop early).
    restore_best: load the best epoch's weights into ``model`` before returning.
    amp: mixed precision; default on for CUDA (bf16 where supported, else fp16 with a scaler).
    seed: seed everything first, so that a CPU run is repeatable.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError("scheduler_interval must be 'epoch' or 'batch'")
    if seed is not None:
        seed_everything(seed)
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    if optimizer is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    monitor = monitor or ("val_loss" if val_loader is not None else "train_loss")
    if monitor.startswith("val_") and val_loader is None:
        raise ValueError(f"monitor={monitor!r} needs a val_loader")
    mode = mode or ("min" if _lower_is_better(monitor) else "max")
    if mode not in ("min", "max"):
        raise ValueError("mode must be 'min' or 'max'")
    sign = 1.0 if mode == "min" else -1.0
    autocast, scaler = _amp_context(device, amp)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)

    rows, best_score, best_epoch, best_state, stale, stopped = [], None, None, None, 0, False
    start = time.perf_counter()
    epochs = tqdm(range(1, num_epochs + 1), desc="epochs", disable=not progress)
    # one batch bar, reset every epoch: a bar per epoch would leave hundreds of widgets in a notebook
    batches = tqdm(total=_length(train_loader), desc="batches", leave=False, disable=not progress)
    for epoch in epochs:
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        batches.reset(total=_length(train_loader))
        for batch in train_loader:
            optimizer.zero_grad(set_to_none=True)
            loss, _, _, n = _step(model, batch, loss_fn, device, autocast)
            if loss is None:
                raise ValueError("training batches must carry targets")
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the loss became {loss.item()} at epoch {epoch}: lower lr, "
                                         "clip gradients (grad_clip) or check the inputs")
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if scheduler is not None and scheduler_interval == "batch" and not plateau:
                scheduler.step()
            total += loss.item() * n
            count += n
            batches.update(1)
            batches.set_postfix(loss=f"{total / count:.4f}", refresh=False)
        row = {"epoch": epoch, "train_loss": total / max(count, 1)}
        if val_loader is not None:
            val_loss, outputs, targets = _run_eval(model, val_loader, loss_fn, device, autocast)
            row["val_loss"] = val_loss
            row.update({f"val_{k}": v for k, v in _score(metrics, outputs, targets).items()})
        if monitor not in row:
            raise ValueError(f"monitor={monitor!r} is not among the history columns {list(row)}")
        row["lr"] = optimizer.param_groups[0]["lr"]
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step(row[monitor]) if plateau else scheduler.step()

        score = row[monitor]
        if best_score is None or sign * (score - best_score) < -min_delta:
            best_score, best_epoch, stale = score, epoch, 0
            if restore_best:
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            stale += 1
        epochs.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k not in ("epoch", "lr", "seconds")})
        if patience is not None and stale >= patience:
            stopped = True
            break
    batches.close()
    epochs.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    history = pd.DataFrame(rows).set_index("epoch")
    return FitResult(history=history, monitor=monitor, best_epoch=best_epoch,
                     best_score=None if best_score is None else float(best_score),
                     stopped_early=stopped, seconds=time.perf_counter() - start)


class LengthBucketSampler(torch.utils.data.Sampler):
    """Training batches of similar lengths, still shuffled: a batch sampler for ``DataLoader``.

    Each epoch shuffles the indices, cuts them into pools of ``batch_size * pool_batches``, sorts
    each pool by length, cuts it into batches and shuffles the order of all the batches. Padding
    shrinks to a few tokens per batch while each batch still mixes the data set at random.
    seed: makes the sequence of epochs repeatable (epoch e uses seed + e).
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, pool_batches: int = 50, seed: int = 0,
                 drop_last: bool = False):
        if batch_size < 1 or pool_batches < 1:
            raise ValueError("batch_size and pool_batches must be >= 1")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.pool_batches, self.seed, self.drop_last = batch_size, pool_batches, seed, drop_last
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        indices = rng.permutation(len(self.lengths))
        pool = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, len(indices), pool):
            chunk = indices[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        for i in rng.permutation(len(batches)):
            yield batches[i].tolist()


def linear_warmup_scheduler(optimizer, num_training_steps: int, warmup_ratio: float = 0.1):
    """Linear warm-up over ``warmup_ratio`` of the steps, then linear decay to 0 (BERT's schedule).

    Step it every batch (``fit(..., scheduler_interval="batch")``).
    """
    warmup = int(round(warmup_ratio * num_training_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (num_training_steps - step) / max(1, num_training_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
