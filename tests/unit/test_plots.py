import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from applied_mlx import plots
from applied_mlx.metrics import reliability_table


def test_plot_history_draws_losses_and_metrics(tmp_path):
    history = pd.DataFrame({"train_loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6],
                            "val_accuracy": [0.5, 0.7, 0.8], "lr": [1e-3] * 3},
                           index=pd.Index([1, 2, 3], name="epoch"))
    fig = plots.plot_history(history)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_ax, metric_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train loss", "val loss"]
    assert [line.get_label() for line in metric_ax.lines] == ["accuracy"]  # lr is not a metric
    assert list(metric_ax.lines[0].get_ydata()) == [0.5, 0.7, 0.8]
    fig.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 5000
    assert len(plots.plot_history(history[["train_loss"]]).axes) == 1
    with pytest.raises(ValueError, match="empty"):
        plots.plot_history(history.iloc[:0])


def test_confusion_matrix_counts_and_normalisation():
    fig = plots.plot_confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["ant", "bee"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1", "1", "1", "2"]  # rows true, columns predicted
    fig = plots.plot_confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["ant", "bee"], normalize=True)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.50", "0.50", "0.33", "0.67"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["ant", "bee"]


def test_plot_forecast():
    fig = plots.plot_forecast(np.arange(24.0), np.ones(6), np.zeros(6))
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["history", "actual", "forecast"]
    assert list(ax.lines[1].get_xdata()) == list(range(24, 30))
    idx = pd.date_range("2020-01-01", periods=30, freq="h")
    plots.plot_forecast(np.arange(24.0), np.ones(6), np.zeros(6), idx[:24], idx[24:])
    with pytest.raises(ValueError, match="shape"):
        plots.plot_forecast(np.arange(4.0), np.ones(3), np.ones(2))


def test_plot_reliability():
    table = reliability_table([0, 1, 1], np.array([[0.9, 0.1], [0.3, 0.7], [0.4, 0.6]]), n_bins=5)
    fig = plots.plot_reliability(table)
    bars = fig.axes[0].patches
    # top probabilities .9, .7, .6 land in bins (.8, 1], (.6, .8] and (.4, .6]; all three are right
    assert [round(b.get_x(), 2) for b in bars] == [0.4, 0.6, 0.8]
    assert [b.get_height() for b in bars] == [1.0, 1.0, 1.0]
