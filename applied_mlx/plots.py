"""The shared plots. Each function draws one figure and returns it (``fig.savefig`` to keep it)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def plot_history(history, columns: Sequence[str] | None = None, title: str = "training curves"):
    """Loss curves (train and validation) and, beside them, the other validation metrics.

    history: the ``FitResult.history`` DataFrame (index = epoch), or ``FitResult`` itself.
    columns: metric columns for the right panel (default: every ``val_*`` column but the loss).
    """
    history = getattr(history, "history", history)
    if len(history) == 0:
        raise ValueError("the history is empty: nothing to plot")
    losses = [c for c in ("train_loss", "val_loss") if c in history]
    columns = list(columns) if columns is not None else [
        c for c in history.columns if c.startswith("val_") and c != "val_loss"]
    n_panels = 2 if columns else 1
    fig, axes = plt.subplots(1, n_panels, figsize=(5.5 * n_panels, 3.8), squeeze=False)
    ax = axes[0, 0]
    for c in losses:
        ax.plot(history.index, history[c], marker="o", label=c.replace("_", " "))
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    ax.legend()
    if columns:
        ax = axes[0, 1]
        for c in columns:
            ax.plot(history.index, history[c], marker="o", label=c.removeprefix("val_"))
        ax.set(xlabel="epoch", title="validation metrics")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, labels: Sequence[str], normalize: bool = False,
                          title: str = "confusion matrix"):
    """Heat map of counts (or row-normalised rates) with true classes as rows.

    labels: class names in id order (ids 0..n-1).
    """
    import seaborn as sns
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=list(range(len(labels))))
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = max(4.0, 0.55 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(values, annot=len(labels) <= 20, fmt=".2f" if normalize else "d", cmap="Blues",
                xticklabels=labels, yticklabels=labels, cbar=True, ax=ax, square=True)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


def plot_forecast(history_values, actual, predicted, history_index=None, future_index=None,
                  title: str = "forecast vs actual", ylabel: str = "value"):
    """The look-back (shaded), the actual future and the forecast, for one series.

    history_values: the look-back window fed to the model; actual/predicted: the horizon.
    history_index/future_index: x positions (timestamps or steps); default consecutive steps.
    """
    history_values, actual, predicted = (np.asarray(a, dtype=float) for a in (history_values, actual, predicted))
    if actual.shape != predicted.shape:
        raise ValueError(f"actual has shape {actual.shape}, predicted {predicted.shape}")
    n_hist, n_fut = len(history_values), len(actual)
    hx = np.arange(n_hist) if history_index is None else history_index
    fx = np.arange(n_hist, n_hist + n_fut) if future_index is None else future_index
    fig, ax = plt.subplots(figsize=(10, 3.8))
    ax.axvspan(hx[0], hx[-1], color="0.92", label="look-back")
    ax.plot(hx, history_values, color="0.35", lw=1.2, label="history")
    ax.plot(fx, actual, color="C0", lw=1.5, label="actual")
    ax.plot(fx, predicted, color="C3", lw=1.5, ls="--", label="forecast")
    ax.set(title=title, ylabel=ylabel)
    ax.legend(loc="upper left", ncols=4)
    if history_index is not None:
        fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_reliability(table, title: str = "reliability diagram"):
    """Accuracy against confidence per bin (from ``metrics.reliability_table``), with the diagonal."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    width = table["upper"] - table["lower"]
    ax.bar(table["lower"], table["accuracy"], width=width, align="edge", edgecolor="k", alpha=0.7,
           label="accuracy")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy", title=title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
