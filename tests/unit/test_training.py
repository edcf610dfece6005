from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from applied_mlx.metrics import accuracy_from_logits
from applied_mlx.training import evaluate, fit, predict


def regression_loaders(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([1.5, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(n, generator=g)
    train = DataLoader(TensorDataset(x[:192], y[:192, None]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(x[192:], y[192:, None]), batch_size=50)  # 64 rows: a partial batch
    return train, val


def test_fit_lowers_the_loss_and_records_history():
    train, val = regression_loaders()
    torch.manual_seed(0)  # the init must not depend on which tests ran before
    model = nn.Linear(4, 1)
    result = fit(model, train, val, loss_fn=nn.MSELoss(), lr=0.05, num_epochs=20, seed=0, progress=False)
    h = result.history
    assert list(h.columns[:2]) == ["train_loss", "val_loss"] and len(h) == 20
    assert h["train_loss"].iloc[-1] < 0.1 * h["train_loss"].iloc[0]
    assert h["val_loss"].iloc[-1] < 0.1 * h["val_loss"].iloc[0]
    assert result.monitor == "val_loss" and result.best_score == h["val_loss"].min()
    # evaluate() over the same loader reproduces the restored best epoch's validation loss
    assert evaluate(model, val, nn.MSELoss())["loss"] == pytest.approx(result.best_score, rel=1e-5)


def test_early_stopping_restores_the_best_epoch():
    train, val = regression_loaders()
    model = nn.Linear(4, 1)
    scripted = iter([0.5, 0.9, 0.7, 0.6, 0.95])  # the monitored score per epoch; best at epoch 2
    snapshots = []

    def score(y_true, y_pred):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(scripted)

    result = fit(model, train, val, loss_fn=nn.MSELoss(), lr=0.05, num_epochs=5, metrics={"score": score},
                 monitor="val_score", patience=2, seed=0, progress=False)
    assert result.best_epoch == 2 and result.best_score == 0.9
    assert result.stopped_early and len(result.history) == 4  # epochs 3 and 4 did not improve
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, snapshots[1][name]), name
        assert not torch.equal(tensor, snapshots[-1][name]), name


def test_fit_is_deterministic_on_cpu_with_a_seed():
    def run():
        train, val = regression_loaders()
        torch.manual_seed(123)  # model init outside fit, as a notebook does
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
        result = fit(model, train, val, loss_fn=nn.MSELoss(), num_epochs=3, seed=1, progress=False)
        return result.history.drop(columns="seconds"), model.state_dict()

    (h1, s1), (h2, s2) = run(), run()
    assert h1.equals(h2)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


class DictModel(nn.Module):
    """A transformers-style model: keyword inputs, an output with .logits and .loss."""

    def __init__(self):
        super().__init__()
        self.emb = nn.EmbeddingBag(20, 2, mode="sum")

    def forward(self, input_ids, attention_mask, labels=None):
        logits = self.emb(input_ids, per_sample_weights=attention_mask.float())
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SimpleNamespace(logits=logits, loss=loss)


def dict_loader():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 20, (64, 6), generator=g)
    labels = (ids < 10).sum(1).gt(3).long()  # learnable from the tokens

    def collate(rows):
        idx = torch.tensor(rows)
        return {"input_ids": ids[idx], "attention_mask": torch.ones_like(ids[idx]), "labels": labels[idx]}

    return DataLoader(list(range(64)), batch_size=16, collate_fn=collate)


def test_dict_batches_use_the_models_own_loss():
    loader = dict_loader()
    torch.manual_seed(0)
    model = DictModel()
    result = fit(model, loader, loader, lr=0.1, num_epochs=15, metrics={"accuracy": accuracy_from_logits},
                 seed=0, progress=False)
    assert result.history["train_loss"].iloc[-1] < result.history["train_loss"].iloc[0]
    assert result.history["val_accuracy"].max() >= 0.8
    logits, labels = predict(model, loader, return_targets=True)
    assert logits.shape == (64, 2) and labels.shape == (64,)
    assert evaluate(model, loader, metrics={"accuracy": accuracy_from_logits})["accuracy"] == pytest.approx(
        accuracy_from_logits(labels.numpy(), logits.numpy()))


def test_schedulers_per_batch_per_epoch_and_on_plateau():
    train, val = regression_loaders()
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    per_batch = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (1 + step))
    fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=opt, scheduler=per_batch,
        scheduler_interval="batch", num_epochs=2, progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / (1 + 2 * len(train)))

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    result = fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=opt, scheduler=step, num_epochs=3,
                 progress=False)
    assert result.history["lr"].tolist() == pytest.approx([0.1, 0.05, 0.025])

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    scores = iter([1.0, 2.0, 3.0])
    fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=opt, scheduler=plateau, num_epochs=3,
        metrics={"err": lambda y, p: next(scores)}, monitor="val_err", progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)  # two epochs without improvement


def test_gradient_clipping_bounds_the_step():
    x, y = torch.ones(8, 4) * 100, torch.zeros(8, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = nn.Linear(4, 1)
    before = torch.cat([p.detach().clone().flatten() for p in model.parameters()])
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    fit(model, loader, loss_fn=nn.MSELoss(), optimizer=opt, num_epochs=1, grad_clip=1e-3, progress=False)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert torch.linalg.vector_norm(after - before) <= 1e-3 + 1e-6


def test_frozen_parameters_stay_put():
    train, val = regression_loaders()
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    model[0].requires_grad_(False)
    frozen = model[0].weight.clone()
    fit(model, train, loss_fn=nn.MSELoss(), num_epochs=1, progress=False)
    assert torch.equal(model[0].weight, frozen)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(model, train, loss_fn=nn.MSELoss(), num_epochs=1, progress=False)


def test_fit_errors():
    train, val = regression_loaders()
    with pytest.raises(ValueError, match="num_epochs must be >= 1"):
        fit(nn.Linear(4, 1), train, loss_fn=nn.MSELoss(), num_epochs=0)
    with pytest.raises(ValueError, match="needs a val_loader"):
        fit(nn.Linear(4, 1), train, loss_fn=nn.MSELoss(), monitor="val_loss")
    with pytest.raises(ValueError, match="not among the history columns"):
        fit(nn.Linear(4, 1), train, val, loss_fn=nn.MSELoss(), monitor="val_f1", num_epochs=1, progress=False)
    with pytest.raises(ValueError, match="loss_fn is required"):
        fit(nn.Linear(4, 1), train, num_epochs=1, progress=False)
    bad = DataLoader(TensorDataset(torch.full((4, 4), float("nan")), torch.zeros(4, 1)), batch_size=4)
    with pytest.raises(FloatingPointError, match="the loss became nan"):
        fit(nn.Linear(4, 1), bad, loss_fn=nn.MSELoss(), num_epochs=1, progress=False)


def test_evaluate_without_a_loss_gives_metrics_only():
    train, val = regression_loaders()
    result = evaluate(nn.Linear(4, 1), val, metrics={"rows": lambda y, p: len(y)})
    assert result == {"rows": 64.0}


def test_predict_keeps_every_row_and_the_order():
    x = torch.arange(10, dtype=torch.float32)[:, None]
    loader = DataLoader(TensorDataset(x, x), batch_size=3)  # 3 + 3 + 3 + 1: no row dropped
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.zero_()
    assert np.allclose(predict(model, loader).numpy().ravel(), 2 * np.arange(10))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="AMP runs only on CUDA")
def test_amp_on_cuda_trains():
    train, val = regression_loaders()
    model = nn.Linear(4, 1)
    result = fit(model, train, val, loss_fn=nn.MSELoss(), lr=0.05, num_epochs=5, device="cuda", progress=False)
    assert result.history["val_loss"].iloc[-1] < 0.2 * result.history["val_loss"].iloc[0]
    assert next(model.parameters()).device.type == "cuda"


def test_tensor_loader_slices_whole_batches_and_shuffles_reproducibly():
    from applied_mlx.training import tensor_loader

    x, y = torch.arange(10), torch.arange(10) * 2.0
    batches = list(tensor_loader({"x": x, "labels": y}, batch_size=4))
    assert [len(b["x"]) for b in batches] == [4, 4, 2]
    assert torch.equal(torch.cat([b["x"] for b in batches]), x)
    order = [torch.cat([b["x"] for b in tensor_loader({"x": x}, 3, shuffle=True, seed=1)]) for _ in range(2)]
    assert torch.equal(order[0], order[1]) and not torch.equal(order[0], x)
    assert sorted(order[0].tolist()) == x.tolist()
    for b in tensor_loader({"x": x, "labels": y}, 3, shuffle=True, seed=0):
        assert torch.equal(b["labels"], b["x"] * 2.0)  # rows stay aligned
    with pytest.raises(ValueError, match="share their first dimension"):
        tensor_loader({"x": x, "y": y[:5]}, 2)
    with pytest.raises(ValueError, match="batch_size"):
        tensor_loader({"x": x}, 0)


def test_amp_uses_fp16_with_a_scaler_where_bf16_is_only_emulated(monkeypatch):
    """A T4 'supports' bf16 by emulation: AMP must pick fp16 + GradScaler there, bf16 only when native."""
    from applied_mlx import training

    calls = []

    def supported(including_emulation=True):
        calls.append(including_emulation)
        return including_emulation  # emulated only, as on a T4

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", supported)
    assert training.amp_dtype() == torch.float16 and calls == [False]
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert training.amp_dtype() == torch.bfloat16
