"""Day 4, time-series forecasting: the ETTh1 benchmark protocol, sliding windows, baselines, an LSTM.

The protocol (docs/REFERENCES.md, as in the Informer, DLinear and PatchTST code):

- ETTh1's first 20 months, split 12/4/4: train rows ``[0, 8640)``, validation ``[8640 - L, 11520)``,
  test ``[11520 - L, 14400)``, where ``L`` is the look-back: a validation or test window may *look
  back* into the previous part, but every target it is scored on lies inside its own part;
- a StandardScaler fitted on the training rows only, metrics (MSE, MAE) on that standardised scale;
- every window with stride 1 counted: a part of ``n`` rows (look-back included) holds
  ``n - L - H + 1`` windows for horizon ``H``.

Windows are never copied out of the series: ``SlidingWindows`` keeps a strided *view*
(``Tensor.unfold``), and a batch gathers only its own rows.

The model, ``LSTMForecaster``: RevIN (each window normalised by its own mean and spread, undone on
the output), channel independence (each of the 7 variables is its own sequence through shared
weights), the look-back cut into segments of ``patch_len`` hours so that the LSTM runs 14 steps
instead of 336, and a linear head that maps the last hidden state to all ``H`` future values at
once (direct multi-horizon output: no error feedback over 720 steps, one forward pass). With
``highway=True`` the same LSTM is a residual on an LSTNet-style linear highway that starts as the
least-squares ``LinearBaseline`` (``init_highway_from``), so the untrained model is that baseline.

The component, ``Forecaster``, saves and loads through ``applied_mlx.artifacts``: each horizon's model is
rebuilt from the ``LSTMConfig`` it was built with, checked against the weights file before it is allocated.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .artifacts import ArtifactError, as_dict, load_component, positive, save_artifact

ETT_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
ETT_SPLIT = (8640, 2880, 2880)  # 12/4/4 months of 30 days, hourly
HORIZONS = (96, 192, 336, 720)
COMPONENT = "forecaster"
MAX_LAYERS = 16  # stacked LSTM layers a config may ask for (each is built, even on the meta device)
FLOAT32_MAX = float(np.finfo(np.float32).max)


# Per-profile sizes (the notebook and the integration test read these) -------------------------

SETTINGS = {
    # tiny generated data, a tiny model, one epoch: seconds
    "smoke": dict(data="synthetic", n_rows=1500, lookback=96, horizons=(24, 48), patch_len=24, hidden_size=16,
                  num_layers=1, dropout=0.1, lr=5e-3, batch_size=64, num_epochs=1, patience=None),
    # real ETTh1, DLinear's look-back of 336 h, a small LSTM over two-day segments: minutes on a CPU
    # (the training loss of each horizon chosen on validation: studies/day4/README.md)
    "quick": dict(data="ETTh1", lookback=336, horizons=HORIZONS, patch_len=48, hidden_size=64, num_layers=1,
                  dropout=0.3, lr=2e-3, batch_size=128, num_epochs=6, patience=2,
                  loss={96: "mae", 192: "mse", 336: "mse", 720: "mae"}),
    # the same protocol with a larger model, day-long segments and more epochs: for a GPU
    "full": dict(data="ETTh1", lookback=336, horizons=HORIZONS, patch_len=24, hidden_size=128, num_layers=1,
                 dropout=0.3, lr=1e-3, batch_size=128, num_epochs=15, patience=3,
                 loss={96: "mae", 192: "mse", 336: "mse", 720: "mae"}),
}


def settings(profile: str) -> dict:
    """A copy of the sizes for ``profile`` (smoke, quick or full)."""
    if profile not in SETTINGS:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(SETTINGS)}")
    return dict(SETTINGS[profile])


def training_loss(cfg: dict, horizon: int) -> str:
    """The loss a ``settings`` dict trains the LSTM of ``horizon`` with: ``"mse"`` or ``"mae"``
    (``cfg["loss"]`` is one name for every horizon, or one per horizon; MSE where it names none)."""
    loss = cfg.get("loss", "mse")
    return loss if isinstance(loss, str) else loss.get(horizon, "mse")


def model_args(cfg: dict, num_channels: int) -> dict:
    """The ``LSTMForecaster`` arguments (all but the horizon) from a ``settings`` dict."""
    return dict(lookback=cfg["lookback"], num_channels=num_channels, patch_len=cfg["patch_len"],
                hidden_size=cfg["hidden_size"], num_layers=cfg["num_layers"], dropout=cfg["dropout"],
                highway=cfg.get("highway", False))


# Data ---------------------------------------------------------------------------------------

def load_etth1(path: str | Path | None = None) -> pd.DataFrame:
    """ETTh1 as a DataFrame: an hourly DatetimeIndex named ``date`` and the 7 float columns.

    path: the CSV; default ``applied_mlx.data.fetch("ett-h1")`` (mirror, cache or download).
    """
    if path is None:
        from .data import fetch

        path = fetch("ett-h1")
    frame = pd.read_csv(path, parse_dates=["date"], index_col="date")
    missing = [c for c in ETT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} lacks the ETTh1 columns {missing}")
    return frame[list(ETT_COLUMNS)].astype("float32")


def synthetic_series(n_rows: int = 2000, columns=ETT_COLUMNS, seed: int = 0,
                     start: str = "2016-07-01") -> pd.DataFrame:
    """A generated hourly multivariate series: a trend, a daily cycle, a weekly cycle and noise.

    Used by the smoke profile (and the tests) in place of ETTh1; each column gets its own level,
    slope, amplitude and phase.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows, dtype=np.float64)[:, None]
    c = len(columns)
    level, slope = rng.normal(0, 5, c), rng.normal(0, 2e-3, c)
    amp_day, amp_week = rng.uniform(1, 3, c), rng.uniform(0.2, 1, c)
    phase = rng.uniform(0, 2 * np.pi, c)
    values = (level + slope * t + amp_day * np.sin(2 * np.pi * t / 24 + phase)
              + amp_week * np.sin(2 * np.pi * t / 168 + phase) + rng.normal(0, 0.3, (n_rows, c)))
    index = pd.date_range(start, periods=n_rows, freq="h", name="date")
    return pd.DataFrame(values.astype("float32"), index=index, columns=list(columns))


def load_csv(path: str | Path, target: str | None = None, timestamp: str | None = None) -> pd.DataFrame:
    """Any CSV of a regular time series, shaped like ``load_etth1``'s: a DatetimeIndex named ``date``, float32 columns.

    timestamp: the column of times (default ``date`` if there is one, else the first column).
    target: a column that must be among the numeric ones (the one a notebook plots).
    Other non-numeric columns are dropped. A ValueError says what is wrong with a file that cannot be read,
    has no time column or no numeric column, holds missing values, or whose times are not at regular steps.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such CSV file: {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a readable CSV: {e}") from None
    timestamp = timestamp or ("date" if "date" in frame.columns else str(frame.columns[0]))
    if timestamp not in frame.columns:
        raise ValueError(f"{path} has no column {timestamp!r}; its columns are {list(frame.columns)}")
    try:
        with warnings.catch_warnings():  # "could not infer format": dateutil parses each time instead, fine here
            warnings.simplefilter("ignore", UserWarning)
            index = pd.DatetimeIndex(pd.to_datetime(frame.pop(timestamp)), name="date")
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: the column {timestamp!r} does not hold timestamps ({e})") from None
    numeric = frame.select_dtypes("number")
    if numeric.shape[1] == 0 or len(numeric) < 3:
        raise ValueError(f"{path} needs at least 3 rows and one numeric column besides {timestamp!r}; "
                         f"it has {len(numeric)} rows and the columns {list(frame.columns)}")
    if target is not None and target not in numeric.columns:
        raise ValueError(f"{path} has no numeric column {target!r}; its numeric columns are {list(numeric.columns)}")
    if numeric.isna().any().any():
        raise ValueError(f"{path} has missing values in {list(numeric.columns[numeric.isna().any()])}; "
                         "fill or drop them first")
    numeric.index = index
    frequency(numeric)  # regular steps, or a ValueError
    return numeric.astype("float32")


def frequency(frame: pd.DataFrame) -> str:
    """The pandas frequency of ``frame``'s regular DatetimeIndex (``'h'`` for ETTh1); ValueError if it has none."""
    index = frame.index
    freq = None
    if isinstance(index, pd.DatetimeIndex) and len(index) >= 3:
        with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset: take either
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(index)
    if freq is None:
        raise ValueError("the series needs a DatetimeIndex of at least 3 times at regular steps (e.g. hourly, "
                         "no gaps, no duplicates, in order); resample it first")
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
        pd.Timedelta(offset)
    except ValueError:
        raise ValueError(f"the series' steps ({freq!r}) vary in length; resample it to a fixed step") from None
    return offset.freqstr


def load_dataset(dataset: str, data: str = "ETTh1", target: str | None = None, seed: int = 0,
                 n_rows: int = 1500) -> tuple[pd.DataFrame, str]:
    """(the series, its name) for a notebook's ``dataset`` parameter.

    dataset: ``"ETTh1"``, or the path of a CSV (``load_csv``: a timestamp column and numeric columns).
    data: the profile's data for ETTh1 (``settings(profile)["data"]``): ``"synthetic"`` (the smoke profile)
        puts ``synthetic_series(n_rows)`` in its place.
    """
    if dataset != "ETTh1":
        return load_csv(dataset, target=target), Path(dataset).name
    if data == "synthetic":
        return synthetic_series(n_rows, seed=seed), "synthetic"
    frame = load_etth1()
    if target is not None and target not in frame.columns:
        raise ValueError(f"ETTh1 has no column {target!r}; its columns are {list(frame.columns)}")
    return frame, "ETTh1"


def split_sizes(n_rows: int) -> tuple[int, int, int]:
    """Rows in train/validation/test for a series other than ETTh1: 60/20/20 %, in time order."""
    n_train, n_val = int(n_rows * 0.6), int(n_rows * 0.2)
    return n_train, n_val, n_rows - n_train - n_val


def protocol_splits(n_rows: int, lookback: int, sizes: tuple[int, int, int] | None = None) -> dict:
    """Row ranges ``{"train": (start, end), "val": ..., "test": ...}`` of the benchmark protocol.

    sizes: rows in train/val/test; default ETTh1's 8640/2880/2880 when the series is long enough,
        else 60/20/20 % of ``n_rows``. Validation and test ranges start ``lookback`` rows early
        (their first window looks back into the previous part) but every target stays inside.
    """
    if sizes is None:
        sizes = ETT_SPLIT if n_rows >= sum(ETT_SPLIT) else split_sizes(n_rows)
    n_train, n_val, n_test = sizes
    if n_train + n_val + n_test > n_rows:
        raise ValueError(f"the split needs {n_train + n_val + n_test} rows, the series has {n_rows}")
    if lookback < 1 or lookback > n_train:
        raise ValueError(f"lookback must be between 1 and the {n_train} training rows, got {lookback}")
    return {"train": (0, n_train),
            "val": (n_train - lookback, n_train + n_val),
            "test": (n_train + n_val - lookback, n_train + n_val + n_test)}


def prepare(frame: pd.DataFrame, lookback: int, sizes=None):
    """(scaler fitted on the training rows only, the whole series scaled by it, the protocol splits)."""
    splits = protocol_splits(len(frame), lookback, sizes)
    scaler = StandardScaler.fit(frame.to_numpy()[slice(*splits["train"])])
    return scaler, scaler.transform(frame.to_numpy()), splits


def n_windows(n_rows: int, lookback: int, horizon: int) -> int:
    """How many stride-1 windows (look-back + horizon) fit in ``n_rows`` rows."""
    return max(n_rows - lookback - horizon + 1, 0)


@dataclass
class StandardScaler:
    """Per-column standardisation, ``(x - mean) / std``, with its state as plain lists for JSON.

    std uses ``ddof=0`` like scikit-learn's; a constant column gets std 1 so nothing divides by 0.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values) -> StandardScaler:
        """Fit on ``values`` (rows x columns): pass the training rows only."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or len(values) < 2:
            raise ValueError(f"fit needs a 2-D array of at least 2 rows, got shape {values.shape}")
        std = values.std(axis=0)
        return cls(mean=values.mean(axis=0), std=np.where(std > 0, std, 1.0))

    def transform(self, values) -> np.ndarray:
        return ((np.asarray(values, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, values) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) * self.std + self.mean).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, state: dict) -> StandardScaler:
        return cls(mean=np.asarray(state["mean"], dtype=np.float64), std=np.asarray(state["std"], dtype=np.float64))


class SlidingWindows(torch.utils.data.Dataset):
    """Every stride-1 window of ``values[start:end]``: ``(look-back (L, C), target (H, C))``.

    The windows are a view of the series (``Tensor.unfold``): memory stays that of the series,
    whatever the number of windows. Indexing with one int gives one window; with a list, array or
    tensor of ints it gives a batch (gathered in one step: see ``window_loader``).
    """

    def __init__(self, values, lookback: int, horizon: int, start: int = 0, end: int | None = None):
        series = torch.as_tensor(np.asarray(values, dtype=np.float32))
        if series.ndim != 2:
            raise ValueError(f"values must be 2-D (time x channels), got shape {tuple(series.shape)}")
        end = len(series) if end is None else end
        if not 0 <= start < end <= len(series):
            raise ValueError(f"bad range [{start}, {end}) for a series of {len(series)} rows")
        if n_windows(end - start, lookback, horizon) == 0:
            raise ValueError(f"rows [{start}, {end}) hold no window of {lookback} + {horizon} steps")
        self.lookback, self.horizon, self.start, self.end = lookback, horizon, start, end
        self.series = series
        # (n_windows, C, L + H): a strided view, no copy.
        self.windows = series[start:end].unfold(0, lookback + horizon, 1)

    def __len__(self) -> int:
        return self.windows.shape[0]

    def __getitem__(self, index):
        w = self.windows[torch.as_tensor(index)]  # one window (C, L+H) or a batch (B, C, L+H)
        w = w.transpose(-1, -2)
        return w[..., :self.lookback, :], w[..., self.lookback:, :]

    def target_rows(self, i: int) -> range:
        """The series rows that window ``i`` is scored on."""
        first = self.start + i + self.lookback
        return range(first, first + self.horizon)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All look-backs ``(N, L, C)`` and targets ``(N, H, C)`` as NumPy views (no copy)."""
        w = self.windows.numpy().transpose(0, 2, 1)
        return w[:, :self.lookback], w[:, self.lookback:]


def window_loader(dataset: SlidingWindows, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """A DataLoader that fetches each batch with one indexing call and never drops a window."""
    generator = torch.Generator().manual_seed(seed)
    order = (torch.utils.data.RandomSampler(dataset, generator=generator) if shuffle
             else torch.utils.data.SequentialSampler(dataset))
    sampler = torch.utils.data.BatchSampler(order, batch_size=batch_size, drop_last=False)
    # batch_size=None: the sampler's index lists go to __getitem__ as they are.
    return torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None)


def make_datasets(values: np.ndarray, splits: dict, lookback: int, horizon: int) -> dict:
    """``SlidingWindows`` for each part of ``splits`` over the (already scaled) ``values``."""
    return {name: SlidingWindows(values, lookback, horizon, start, end) for name, (start, end) in splits.items()}


# Baselines ----------------------------------------------------------------------------------

def repeat_last(x: np.ndarray, horizon: int) -> np.ndarray:
    """Forecast the last look-back value for every future step. x: (N, L, C) -> (N, H, C)."""
    return np.repeat(x[:, -1:, :], horizon, axis=1)


def seasonal_naive(x: np.ndarray, horizon: int, season: int = 24) -> np.ndarray:
    """Repeat the last ``season`` steps (yesterday, for hourly data). x: (N, L, C) -> (N, H, C)."""
    if x.shape[1] < season:
        raise ValueError(f"the look-back ({x.shape[1]}) is shorter than the season ({season})")
    steps = x.shape[1] - season + np.arange(horizon) % season
    return x[:, steps, :]


class LinearBaseline:
    """One linear map from the look-back to the horizon, shared by all channels, by least squares.

    DLinear's trend/remainder split followed by two linear layers is itself one linear map of the
    window, so the least-squares solution is the best DLinear on the training windows. Like
    NLinear, the window's last value is subtracted first and added back (a level shift the map
    need not learn); ``alpha`` is a ridge penalty.
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha
        self.weight = None  # (L + 1, H): last row is the bias

    @staticmethod
    def _design(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, lookback, c = x.shape
        flat = x.transpose(0, 2, 1).reshape(n * c, lookback).astype(np.float64)
        last = flat[:, -1:]
        return np.hstack([flat - last, np.ones((n * c, 1))]), last

    def fit(self, x: np.ndarray, y: np.ndarray, chunk: int = 1024) -> LinearBaseline:
        """Accumulate the normal equations over all windows, a chunk at a time (no (N*C, L) copy), and solve."""
        lookback, horizon = x.shape[1], y.shape[1]
        self._xtx = np.zeros((lookback + 1, lookback + 1))
        self._xty = np.zeros((lookback + 1, horizon))
        for i in range(0, len(x), chunk):
            design, last = self._design(x[i:i + chunk])
            target = y[i:i + chunk].transpose(0, 2, 1).reshape(-1, horizon) - last
            self._xtx += design.T @ design
            self._xty += design.T @ target
        return self.solve(self.alpha)

    def solve(self, alpha: float) -> LinearBaseline:
        """Re-solve for another ridge penalty from the stored normal equations (cheap)."""
        self.alpha = alpha
        penalty = alpha * np.eye(len(self._xtx))
        penalty[-1, -1] = 0.0  # never shrink the bias
        self.weight = np.linalg.solve(self._xtx + penalty, self._xty)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x: (N, L, C) -> (N, H, C)."""
        if self.weight is None:
            raise ValueError("call fit first")
        n, _, c = x.shape
        design, last = self._design(x)
        out = design @ self.weight + last
        return out.reshape(n, c, -1).transpose(0, 2, 1).astype(np.float32)


def fit_linear_baseline(train: SlidingWindows, val: SlidingWindows, alphas=(1.0, 10.0, 100.0, 1000.0, 10000.0)):
    """The ``LinearBaseline`` whose ridge penalty gives the lowest validation MSE; (model, alpha)."""
    xv, yv = val.arrays()
    model = LinearBaseline().fit(*train.arrays())
    scores = {alpha: float(np.mean((model.solve(alpha).predict(xv) - yv) ** 2)) for alpha in alphas}
    best = min(scores, key=scores.get)
    return model.solve(best), best


# The LSTM -----------------------------------------------------------------------------------

class RevIN(nn.Module):
    """Reversible instance normalisation (Kim et al., ICLR 2022): each window by its own statistics.

    ``normalize`` returns the normalised window and the statistics that ``denormalize`` needs, so
    the module holds no per-batch state. A learnable per-channel affine map sits in between.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_channels))
            self.bias = nn.Parameter(torch.zeros(num_channels))

    def normalize(self, x: torch.Tensor):
        """x: (B, L, C) -> (normalised x, (mean, std))."""
        mean = x.mean(dim=1, keepdim=True).detach()
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        z = (x - mean) / std
        if self.affine:
            z = z * self.weight + self.bias
        return z, (mean, std)

    def denormalize(self, y: torch.Tensor, stats) -> torch.Tensor:
        """y: (B, H, C) in normalised units -> the window's units."""
        mean, std = stats
        if self.affine:
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * std + mean


@dataclass(frozen=True)
class LSTMConfig:
    """``LSTMForecaster``'s constructor arguments: what the artifact's config.json keeps for each horizon."""

    lookback: int
    horizon: int
    num_channels: int
    patch_len: int = 24
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.1
    revin: bool = True
    highway: bool = False
    blend: bool = False

    def __post_init__(self):
        for name in ("lookback", "horizon", "num_channels", "patch_len", "hidden_size", "num_layers"):
            positive(name, getattr(self, name))
        if self.num_layers > MAX_LAYERS:
            raise ValueError(f"num_layers must be at most {MAX_LAYERS}, got {self.num_layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.lookback % self.patch_len:
            raise ValueError(f"lookback ({self.lookback}) must be a multiple of patch_len ({self.patch_len})")
        if self.highway and self.blend:
            raise ValueError("choose highway (the LSTM as a residual) or blend (a weighted mean), not both")


class LinearHighway:
    """The least-squares line inside an ``LSTMForecaster``: LSTNet's highway, or a blend with it.

    highway=True (Lai et al., LSTNet, 2018): the forecast is the LSTM's head *plus* the per-channel
        linear map ``W (x - x_last) + b + x_last`` of ``LinearBaseline``. The head starts at zero, so
        the untrained model is that map and the LSTM learns the residual; ``init_highway_from`` copies
        in a least-squares solution.
    blend=True (Bates and Granger, 1969): the forecast is ``w * LSTM + (1 - w) * linear``, with the
        linear map frozen and ``w`` a buffer (``blend_weight``) that travels in the weights;
        ``blend_with_linear`` builds one from a trained plain model.
    studies/day4/README.md compares the two on ETTh1.
    """

    def _add_linear(self, highway: bool, blend: bool) -> None:
        self.highway = nn.Linear(self.lookback, self.horizon) if highway or blend else None
        self.blend = blend
        if blend:
            self.highway.requires_grad_(False)  # the least-squares map stays as it was solved
            self.register_buffer("blend_weight", torch.ones(()))
        if highway:
            # The LSTM's contribution starts at exactly zero: the untrained model is the highway.
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @classmethod
    def from_config(cls, config: LSTMConfig) -> LSTMForecaster:
        """The (untrained) model an ``LSTMConfig`` describes."""
        return cls(**dataclasses.asdict(config))

    def init_highway_from(self, linear: LinearBaseline) -> LSTMForecaster:
        """Copy a fitted ``LinearBaseline`` (same look-back and horizon) into the highway."""
        if self.highway is None:
            raise ValueError("this model was built with highway=False")
        if linear.weight is None or linear.weight.shape != (self.lookback + 1, self.horizon):
            raise ValueError(f"need a fitted LinearBaseline of look-back {self.lookback} and horizon {self.horizon}")
        weight = torch.as_tensor(linear.weight, dtype=torch.float32)  # (L + 1, H): the last row is the bias
        with torch.no_grad():
            self.highway.weight.copy_(weight[:-1].T)
            self.highway.bias.copy_(weight[-1])
        return self

    def _linear(self, x: torch.Tensor) -> torch.Tensor:
        """The highway's map alone, per channel, in the input's units: ``W (x - x_last) + b + x_last``."""
        last = x[:, -1:, :]
        return nn.functional.linear((x - last).transpose(1, 2), self.highway.weight,
                                    self.highway.bias).transpose(1, 2) + last

    def _residual(self, y: torch.Tensor, series: torch.Tensor) -> torch.Tensor:
        """highway=True: the head's output ``y`` (B*C, H) plus ``W (z - z_last) + z_last`` of each normalised series.

        In RevIN's space this maps back to exactly ``W (x - x_last) + x_last`` (RevIN is affine per window);
        the bias is added in ``_finish``, after RevIN, so that it does not scale with each window's spread.
        """
        if not self.config.highway:
            return y
        last = series[:, -1:]
        return y + nn.functional.linear(series - last, self.highway.weight) + last

    def _finish(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The forecast ``y`` (B, H, C) in the series' units: plus the highway's bias, or blended with the line."""
        if self.config.highway:
            return y + self.highway.bias[:, None]
        if self.blend:
            return self.blend_weight * y + (1 - self.blend_weight) * self._linear(x)
        return y


class LSTMForecaster(LinearHighway, nn.Module):
    """Look-back (B, L, C) -> forecast (B, H, C): RevIN, each channel its own sequence, an LSTM over
    segments of ``patch_len`` steps, and a linear head that gives all H steps at once.
    highway, blend: the least-squares line inside the model (see ``LinearHighway``)."""

    def __init__(self, lookback: int, horizon: int, num_channels: int, patch_len: int = 24,
                 hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.1, revin: bool = True,
                 highway: bool = False, blend: bool = False):
        super().__init__()
        self.config = LSTMConfig(lookback=lookback, horizon=horizon, num_channels=num_channels, patch_len=patch_len,
                                 hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, revin=revin,
                                 highway=highway, blend=blend)
        self.lookback, self.horizon, self.num_channels = lookback, horizon, num_channels
        self.patch_len = patch_len
        self.revin = RevIN(num_channels) if revin else None
        self.embed = nn.Sequential(nn.Linear(patch_len, hidden_size), nn.ReLU())  # a segment -> an LSTM input
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, horizon)  # the last hidden state -> all H future steps
        self._add_linear(highway, blend)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, lookback, channels = x.shape
        z, stats = self.revin.normalize(x) if self.revin is not None else (x, None)
        # Channel independence: each of the C variables is its own sequence, through the same weights.
        series = z.permute(0, 2, 1).reshape(batch * channels, lookback)
        segments = series.reshape(batch * channels, lookback // self.patch_len, self.patch_len)
        _, (hidden, _) = self.lstm(self.embed(segments))  # L / patch_len recurrent steps
        y = self.head(self.dropout(hidden[-1]))  # (B*C, H): every future step from the last state
        y = self._residual(y, series)
        y = y.reshape(batch, channels, self.horizon).permute(0, 2, 1)
        if self.revin is not None:
            y = self.revin.denormalize(y, stats)
        return self._finish(y, x)


def blend_with_linear(model: LSTMForecaster, linear: LinearBaseline, weight: float) -> LSTMForecaster:
    """A new model whose forecast is ``weight * model(x) + (1 - weight) * linear(x)``.

    model: a trained plain ``LSTMForecaster`` (no highway); linear: a fitted ``LinearBaseline`` of the
    same look-back and horizon; weight: the LSTM's share, in [0, 1] (``choose_blend_weight`` picks it
    on validation). The result saves and loads like any ``LSTMForecaster`` (``blend=True``).
    """
    if not isinstance(model, LinearHighway) or model.highway is not None:  # a notebook's own copy of the class too
        raise ValueError("blend a trained plain LSTMForecaster (built with highway=False, blend=False)")
    weight = float(weight)
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight is the LSTM's share and must lie in [0, 1], got {weight}")
    blended = LSTMForecaster.from_config(dataclasses.replace(model.config, blend=True))
    missing, unexpected = blended.load_state_dict(model.state_dict(), strict=False)
    if unexpected or set(missing) != {"highway.weight", "highway.bias", "blend_weight"}:
        raise ValueError(f"cannot blend this model: missing {missing}, unexpected {unexpected}")
    blended.init_highway_from(linear)
    blended.blend_weight.fill_(weight)
    return blended.to(next(model.parameters()).device).train(model.training)


def choose_blend_weight(model: nn.Module, linear: LinearBaseline, val: SlidingWindows, steps: int = 21,
                        device=None) -> tuple[float, pd.Series]:
    """The LSTM's share ``w`` in ``w * LSTM + (1 - w) * linear`` with the lowest validation MSE.

    Tries ``steps`` evenly spaced weights from 0 (the line alone) to 1 (the LSTM alone); a tie goes to
    the smaller weight. Returns (the weight, the validation MSE of every weight tried).
    """
    x, y = val.arrays()
    lstm, line = predict_windows(model, val, device=device), linear.predict(x)
    weights = np.linspace(0.0, 1.0, steps)
    mse = pd.Series([forecast_errors(y, w * lstm + (1 - w) * line)["mse"] for w in weights],
                    index=pd.Index(weights.round(4), name="LSTM weight"), name="val mse")
    return float(mse.idxmin()), mse


LOSSES = {"mse": nn.MSELoss, "mae": nn.L1Loss}


def _mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((np.asarray(y_pred, np.float64) - y_true) ** 2))


def train_forecaster(model: nn.Module, train: SlidingWindows, val: SlidingWindows, *, batch_size: int = 64,
                     num_epochs: int = 10, lr: float = 1e-3, weight_decay: float = 0.0, patience: int | None = 3,
                     highway_lr: float | None = None, loss: str = "mse", seed: int = 0, device=None,
                     progress: bool = True):
    """Train through ``applied_mlx.training.fit``, early stopping on validation MSE.

    loss: what the optimizer minimises, ``"mse"`` or ``"mae"`` (absolute error: a spike in the
    training months pulls the fit less); either way the best epoch is the one with the lowest
    validation MSE, the benchmark's metric.

    A one-cycle learning-rate schedule (warm up, then anneal) is stepped per batch.
    highway_lr: the peak learning rate of a model's linear highway (default ``lr``; 0 freezes it).
    The model's validation MSE before training counts as "epoch 0": ``fit`` keeps its best epoch,
    and if no epoch beats the untrained model (a highway model starts as the linear baseline),
    the untrained weights are put back (``result.best_epoch`` is then 0).
    Returns the ``FitResult``; the best weights are left in ``model``.
    """
    from .training import evaluate, fit

    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    torch.manual_seed(seed)
    train_loader = window_loader(train, batch_size, shuffle=True, seed=seed)
    val_loader = window_loader(val, 4 * batch_size)
    highway = list(model.highway.parameters()) if getattr(model, "highway", None) is not None else []
    highway_lr = lr if highway_lr is None else highway_lr
    for p in highway:
        p.requires_grad_(highway_lr > 0)
    others = [p for p in model.parameters() if all(p is not q for q in highway)]
    groups = [{"params": others, "lr": lr}]
    if highway and highway_lr > 0:
        groups.append({"params": highway, "lr": highway_lr})
    optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[g["lr"] for g in groups], epochs=num_epochs,
                                                    steps_per_epoch=len(train_loader), pct_start=0.2)
    initial_mse = evaluate(model, val_loader, nn.MSELoss(), device=device)["loss"]
    initial = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    result = fit(model, train_loader, val_loader, loss_fn=LOSSES[loss](), optimizer=optimizer, num_epochs=num_epochs,
                 scheduler=scheduler, scheduler_interval="batch", metrics={"mse": _mse}, monitor="val_mse",
                 patience=patience, grad_clip=1.0, seed=seed, device=device, progress=progress)
    result.initial_score = initial_mse
    if result.best_score is not None and result.best_score >= initial_mse:
        model.load_state_dict(initial)
        result.best_epoch, result.best_score = 0, initial_mse
    return result


def predict_windows(model: nn.Module, dataset: SlidingWindows, batch_size: int = 256, device=None) -> np.ndarray:
    """The model's forecasts ``(N, H, C)`` for every window of ``dataset`` (none dropped)."""
    from .training import predict

    return predict(model, window_loader(dataset, batch_size), device=device).numpy()


def forecast_errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """MSE and MAE over every window, step and channel, and the MSE at each horizon step."""
    if y_true.shape != y_pred.shape:
        raise ValueError(f"targets have shape {y_true.shape}, forecasts {y_pred.shape}")
    err = y_pred.astype(np.float64) - y_true
    return {"mse": float(np.mean(err ** 2)), "mae": float(np.mean(np.abs(err))),
            "mse_by_step": np.mean(err ** 2, axis=(0, 2))}


# The component ------------------------------------------------------------------------------

def _model_key(horizon: int) -> str:
    return f"h{horizon}"


@dataclass(frozen=True)
class ScalerState:
    """A ``StandardScaler``'s statistics as config.json keeps them: a finite mean and a std > 0 per column."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self):
        if len(self.mean) != len(self.std) or not self.mean:
            raise ValueError(f"mean and std need one value per column, got {len(self.mean)} and {len(self.std)}")
        if not np.isfinite([*self.mean, *self.std]).all() or min(self.std) <= 0:
            raise ValueError("mean must be finite and std finite and > 0 in every column")


def _forecaster_parts(models: dict, scaler: StandardScaler, columns, lookback: int,
                      freq: str) -> tuple[dict, nn.Module]:
    """(config.json's entries, the weights as one module) for a forecaster; ValueError if the parts disagree."""
    columns = [str(c) for c in columns]
    if not models:
        raise ValueError("no models to save: pass {horizon: trained LSTMForecaster}")
    for h, m in models.items():
        config = getattr(m, "config", None)
        if not isinstance(config, LSTMConfig):
            raise ValueError(f"the H={h} model is a {type(m).__name__}, not an LSTMForecaster")
        if (config.horizon, config.lookback, config.num_channels) != (int(h), lookback, len(columns)):
            raise ValueError(f"the H={h} model forecasts {config.horizon} steps from {config.lookback} rows of "
                             f"{config.num_channels} channels; expected {int(h)} from {lookback} of {len(columns)}")
    entries = {"model_class": "LSTMForecaster",
               "models": {str(int(h)): as_dict(m.config) for h, m in sorted(models.items())},
               "lookback": lookback, "horizons": sorted(int(h) for h in models), "columns": columns,
               "freq": freq, "scaler": scaler.to_dict()}
    return entries, nn.ModuleDict({_model_key(h): m for h, m in sorted(models.items())})


def _check_model_args(models: dict, model_args: dict) -> None:
    """ValueError unless every model was built with ``model_args`` (all but the horizon; defaults for the rest)."""
    for h, m in models.items():
        try:
            expected = LSTMConfig(**{**model_args, "horizon": m.config.horizon})
        except (TypeError, ValueError) as e:
            raise ValueError(f"model_args are not LSTMForecaster arguments: {e}") from None
        differ = {f.name: (getattr(m.config, f.name), getattr(expected, f.name))
                  for f in dataclasses.fields(LSTMConfig) if getattr(m.config, f.name) != getattr(expected, f.name)}
        if differ:
            raise ValueError(f"the H={h} model was built with other arguments than model_args "
                             f"(argument: (model, model_args)): {differ}")


def _save(directory, entries: dict, bundle: nn.Module, metrics: dict | None, config: dict) -> Path:
    clash = sorted(set(entries) & set(config))
    if clash:
        raise ValueError(f"config may not set {', '.join(clash)}: the forecaster writes those itself")
    return save_artifact(directory, component=COMPONENT, config={**entries, **config}, metrics=metrics, model=bundle)


def save_forecaster(directory, models: dict, *, scaler: StandardScaler, columns, lookback: int,
                    model_args: dict | None = None, metrics: dict | None = None, freq: str = "h", profile: str = "",
                    data: str = "") -> Path:
    """Save one trained ``LSTMForecaster`` per horizon, the scaler and the window sizes as an artifact.

    models: horizon -> model; each model's own ``config`` (its ``LSTMConfig``) goes to config.json, and
        ``Forecaster.load`` rebuilds the model from it.
    model_args: the arguments (all but the horizon) the models were meant to be built with, if given:
        a model built with others is refused (ValueError), so that what is saved is what was evaluated.
    """
    entries, bundle = _forecaster_parts(models, scaler, columns, lookback, freq)
    if model_args is not None:
        _check_model_args(models, model_args)
    return _save(directory, entries, bundle, metrics, {"profile": profile, "data": data})


def _column_names(art) -> list[str]:
    columns = art.field("columns", list)
    if not columns or not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise ArtifactError(f"{art.path / 'config.json'}: the field 'columns' must be distinct column names, "
                            f"got {columns!r:.120}")
    return columns


def _frequency(art) -> str:
    freq = art.field("freq", str, default="h")
    try:
        pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        raise ArtifactError(f"{art.path / 'config.json'}: the field 'freq' is {freq!r}, not a pandas "
                            "frequency such as 'h'") from None
    return freq


def _model_configs(art, lookback: int, num_channels: int) -> dict[int, LSTMConfig]:
    """horizon -> ``LSTMConfig`` from config.json's ``models``, each checked against the look-back and columns."""
    where = art.path / "config.json"
    entries = art.field("models", dict)
    if not entries:
        raise ArtifactError(f"{where}: the field 'models' holds no model")
    configs = {}
    for key in entries:
        config = art.section(f"models.{key}", LSTMConfig)
        if key != str(config.horizon):
            raise ArtifactError(f"{where}: the field 'models.{key}' describes a model of horizon {config.horizon}")
        if (config.lookback, config.num_channels) != (lookback, num_channels):
            raise ArtifactError(f"{where}: the field 'models.{key}' has lookback {config.lookback} and "
                                f"num_channels {config.num_channels}; the forecaster has lookback {lookback} and "
                                f"{num_channels} columns")
        configs[config.horizon] = config
    return configs


class Forecaster:
    """The trained component: ``Forecaster.load(dir).forecast(history, horizon)``.

    history: a DataFrame with a regular DatetimeIndex (at the trained frequency) and the trained
        columns (others are ignored), or an array of shape (rows, channels) in column order; at
        least ``lookback`` rows, all finite, of a size the model's float32 arithmetic can take once
        standardised. Values in the original units.
    Returns a DataFrame of ``horizon`` rows in the original units, indexed by the future
    timestamps (or, for an array, by the step numbers that follow the history).
    """

    COMPONENT = COMPONENT

    def __init__(self, models: dict, scaler: StandardScaler, columns, lookback: int, freq: str = "h",
                 device=None, metrics: dict | None = None):
        self.models = {int(h): m.eval() for h, m in models.items()}
        self.scaler, self.columns, self.lookback, self.freq = scaler, list(columns), lookback, freq
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.metrics = metrics or {}
        for m in self.models.values():
            m.to(self.device)

    @property
    def horizons(self) -> list[int]:
        return sorted(self.models)

    @classmethod
    def load(cls, directory, device=None) -> Forecaster:
        """Build the models from the artifact's config and load their weights (safetensors).

        Any fault in the folder is an ArtifactError naming the file and the field; the sizes in config.json
        are checked against the weights file before any model is allocated.
        """
        return load_component(directory, COMPONENT, lambda art: cls._from_artifact(art, device))

    @classmethod
    def _from_artifact(cls, art, device) -> Forecaster:
        columns, freq = _column_names(art), _frequency(art)
        lookback = art.field("lookback", int)
        if lookback < 1:
            raise ArtifactError(f"{art.path / 'config.json'}: the field 'lookback' must be > 0, got {lookback}")
        state = art.section("scaler", ScalerState)
        if len(state.mean) != len(columns):
            raise ArtifactError(f"{art.path / 'config.json'}: the field 'scaler' has statistics for "
                                f"{len(state.mean)} columns, the forecaster {len(columns)}")
        configs = _model_configs(art, lookback, len(columns))
        bundle = art.load_module(lambda: nn.ModuleDict({_model_key(h): LSTMForecaster.from_config(c)
                                                        for h, c in configs.items()}))
        scaler = StandardScaler(mean=np.asarray(state.mean), std=np.asarray(state.std))
        return cls({h: bundle[_model_key(h)] for h in configs}, scaler, columns, lookback, freq, device,
                   metrics=art.metrics)

    def save(self, directory, metrics: dict | None = None, **config) -> Path:
        """Write this forecaster as an artifact folder; ``config``: more JSON-able facts (profile, data)."""
        entries, bundle = _forecaster_parts(self.models, self.scaler, self.columns, self.lookback, self.freq)
        return _save(directory, entries, bundle, self.metrics if metrics is None else metrics, config)

    def _check_horizon(self, horizon) -> int:
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be a positive int, got {horizon!r}")
        if horizon > self.horizons[-1]:
            raise ValueError(f"horizon {horizon} is beyond what was trained: at most {self.horizons[-1]} "
                             f"(trained horizons: {self.horizons})")
        return int(horizon)

    def _check_index(self, index) -> None:
        if not isinstance(index, pd.DatetimeIndex):
            raise ValueError(f"the DataFrame needs a DatetimeIndex (hourly timestamps), got {type(index).__name__}; "
                             "set one with df.set_index('date'), or pass a NumPy array")
        if len(index) > 1:
            expected = pd.Timedelta(pd.tseries.frequencies.to_offset(self.freq))
            wrong = np.asarray((index[1:] - index[:-1]) != expected)  # unit-agnostic (ns or us)
            if wrong.any():
                bad = int(np.argmax(wrong))
                raise ValueError(f"the time index is irregular: every step must be {expected} "
                                 f"(freq {self.freq!r}), but {index[bad]} -> {index[bad + 1]} is not; "
                                 "fill or resample the gaps first")

    def _values(self, history) -> tuple[np.ndarray, object]:
        """(last ``lookback`` rows as a float array in column order, the future index maker)."""
        if isinstance(history, pd.DataFrame):
            missing = [c for c in self.columns if c not in history.columns]
            if missing:
                raise ValueError(f"the history lacks the columns {missing}; it needs {self.columns}")
            self._check_index(history.index)
            values = history[self.columns].to_numpy(dtype=np.float64, na_value=np.nan)
            last = history.index[-1] if len(history) else None
            offset = pd.tseries.frequencies.to_offset(self.freq)
            future = lambda h: pd.date_range(last + offset, periods=h, freq=self.freq, name=history.index.name)
        else:
            try:
                values = np.asarray(history, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("history must be a DataFrame or a numeric array of shape (rows, "
                                 f"{len(self.columns)})") from None
            if values.ndim == 1 and len(self.columns) == 1:
                values = values[:, None]
            if values.ndim != 2 or values.shape[1] != len(self.columns):
                raise ValueError(f"an array history must have shape (rows, {len(self.columns)}) with columns "
                                 f"{self.columns}, got {values.shape}")
            n = len(values)
            future = lambda h: pd.RangeIndex(n, n + h, name="step")
        if len(values) < self.lookback:
            raise ValueError(f"the history has {len(values)} rows; the model needs at least {self.lookback} "
                             f"(its look-back)")
        values = values[-self.lookback:]
        if not np.isfinite(values).all():
            raise ValueError("the last look-back rows of the history hold NaN or infinite values; "
                             "fill or drop them first")
        return values, future

    def _standardised(self, values: np.ndarray) -> np.ndarray:
        """The look-back on the training scale, as the model's float32; ValueError where float32 cannot hold it."""
        z = (values - self.scaler.mean) / self.scaler.std  # float64: a huge value becomes a number to check
        reach = float(np.abs(z).max())
        if not reach <= FLOAT32_MAX:
            raise ValueError(f"the history's values (up to {np.abs(values).max():.3g} in size) are beyond what the "
                             f"scaler and the model can take: standardised with the training statistics they reach "
                             f"{reach:.3g}, past the model's float32 range ({FLOAT32_MAX:.3g})")
        return z.astype(np.float32)

    def _finite(self, y: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``y`` (the model's output, standardised) if it and its value in the original units are finite
        float32 numbers; ValueError otherwise (the history was too large for the model's arithmetic)."""
        units = y.astype(np.float64) * self.scaler.std + self.scaler.mean
        if not (np.isfinite(y).all() and np.abs(units).max() <= FLOAT32_MAX):
            raise ValueError(f"the history's values (up to {np.abs(values).max():.3g} in size) are beyond what the "
                             "model can take: its float32 arithmetic overflows on them and the forecast would be "
                             "infinite or NaN; rescale the series closer to the data the model was trained on")
        return y

    def forecast(self, history, horizon: int) -> pd.DataFrame:
        """The next ``horizon`` steps after ``history``, in the original units (see the class doc)."""
        horizon = self._check_horizon(horizon)
        values, future = self._values(history)
        model_h = min(h for h in self.horizons if h >= horizon)  # the shortest model that reaches
        x = torch.as_tensor(self._standardised(values))[None].to(self.device)
        with torch.no_grad():
            y = self._finite(self.models[model_h](x)[0, :horizon].cpu().numpy(), values)
        return pd.DataFrame(self.scaler.inverse_transform(y), index=future(horizon), columns=self.columns)

    def standardized_errors(self, predicted, actual) -> np.ndarray:
        """(predicted - actual) on the training scale, (rows, channels): the errors the benchmark's MSE and MAE
        average. predicted, actual: DataFrames with the trained columns, or arrays in column order."""
        def scaled(values):
            values = values[self.columns] if isinstance(values, pd.DataFrame) else values
            array = np.asarray(values, dtype=np.float64)
            if array.ndim != 2 or array.shape[1] != len(self.columns):
                raise ValueError(f"expected shape (rows, {len(self.columns)}) with columns {self.columns}, "
                                 f"got {array.shape}")
            return self.scaler.transform(array)

        return scaled(predicted) - scaled(actual)


def benchmark_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ETTh1 the benchmark uses (train + validation + test: the first 20 months, ``ETT_SPLIT``)."""
    return frame.iloc[:sum(ETT_SPLIT)]
