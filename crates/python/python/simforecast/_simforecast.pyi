"""Type stubs of the native module (PyO3). Import :mod:`simforecast`, not this."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union, final, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import TypeAlias

__all__ = ["__version__", "TRAINING_OPTIONS", "Event", "Model", "Monitor", "Pruner", "load_model",
           "train", "_model_from_bytes", "_monitor_from_state"]

__version__: str
#: The keyword options of :func:`train` (the command line's options, ``--k-grid`` = ``k_grid``).
TRAINING_OPTIONS: List[str]

_PathLike: TypeAlias = Union[str, "os.PathLike[str]"]
_FloatArray: TypeAlias = npt.NDArray[np.float64]
#: Paths (files, directories, globs of LAMMPS ``fix ave/time`` output or logs), one path, a list
#: of 1-D float64 arrays (one trace each), or a 2-D float64 array (one trace a row).
_Traces: TypeAlias = Union[_PathLike, Sequence[_PathLike], Sequence[_FloatArray], _FloatArray]
_OptionValue: TypeAlias = Union[int, float, str, Sequence[int], Sequence[float]]

@final
class Event:
    """What the monitor decided at one frame: a screening part (verdict, vote, score, cut,
    halt, advisory), a forecast part (mu_minus_sigma ... confident), or both. Absent parts are
    None."""

    #: Frames seen when it was decided (the event of the 100th value has frame 100).
    frame: int
    #: "relevant", "irrelevant" or "unsure"; None when no screening stage decided here.
    verdict: Optional[Literal["relevant", "irrelevant", "unsure"]]
    #: Stop the run now.
    halt: bool
    #: An irrelevant verdict reported for information only (no halt).
    advisory: bool
    #: A stage refused to act: the trace is out of the training distribution.
    ood: bool
    #: Weighted share of irrelevant neighbours.
    vote: Optional[float]
    #: The screening stage's calibrated score, compared with ``cut``.
    score: Optional[float]
    #: The screening stage's cut (None: it has none).
    cut: Optional[float]
    screen_stage: Optional[int]
    forecast_stage: Optional[int]
    #: Forecast of mu - sigma and mu + sigma (None when this event is no forecast).
    mu_minus_sigma: Optional[float]
    mu_plus_sigma: Optional[float]
    #: Point estimate of mu and its interval, of nominal coverage ``level``.
    mu_hat: Optional[float]
    mu_low: Optional[float]
    mu_high: Optional[float]
    level: Optional[float]
    #: The forecast may be acted on: within the tolerance in force and in distribution (a KNN
    #: model's forecast at its deadline may not be).
    confident: Optional[bool]
    #: The interval's relative half-width (high - low) / 2 / |middle| is within ``tolerance``.
    within_tolerance: Optional[bool]
    #: The tolerance in force when the forecast was made (None: none, any width).
    tolerance: Optional[float]
    #: What the forecast rests on: "model" for a monitor's forecasts ("own_statistics" is the
    #: model-free convergence mode's).
    evidence: Optional[Literal["model", "own_statistics"]]
    @property
    def is_forecast(self) -> bool:
        """True when this event carries a forecast."""
    def to_dict(self) -> Dict[str, Any]:
        """The event's fields by name (absent ones None)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class Monitor:
    """Watches one running trace with the same Rust monitor as the LAMMPS fix: push its values
    frame by frame; an event says what the model decided at that frame."""

    def __new__(cls, model: Model, tolerance: Optional[float] = None) -> Monitor: ...
    def push(self, value: float) -> Optional[Event]:
        """Appends one frame; returns the event decided at this frame, or None. A NaN or
        infinite value raises NonFiniteError and leaves the monitor as it was."""
    def push_many(self, values: _FloatArray) -> List[Event]:
        """Appends every value of a 1-D float64 array; returns the events decided, in order. A
        NaN or infinite value raises NonFiniteError naming its frame, and nothing is pushed;
        another dtype or shape raises ArgumentTypeError."""
    @property
    def state(self) -> Literal["collecting", "screened_relevant", "screened_irrelevant", "forecast_ready"]:
        """Where the monitor stands."""
    @property
    def frames(self) -> int:
        """Frames pushed so far."""
    @property
    def finished(self) -> bool:
        """True once every stage has decided (later frames change nothing)."""
    @property
    def last_event(self) -> Optional[Event]:
        """The last event, or None."""
    @property
    def model(self) -> Model:
        """The model this monitor runs."""
    @property
    def tolerance(self) -> Optional[float]:
        """The tolerance in force: the relative half-width of the 90 % interval for mu the
        monitor waits for before it forecasts (the one set, else the model's; None: any width).
        Set None to return to the model's; a value that is not positive or lies outside
        ``model.tolerance_range`` raises InvalidArgumentError (monitor unchanged)."""
    @tolerance.setter
    def tolerance(self, value: Optional[float]) -> None: ...
    def reset(self) -> None:
        """Starts a new trace with the same model (and tolerance)."""
    def save_state(self) -> bytes:
        """The monitor's progress as bytes."""
    def load_state(self, state: bytes) -> None:
        """Restores progress saved by save_state (StateError if it belongs to another model or
        is corrupted; the monitor is then unchanged)."""
    # Monitors pickle (model and progress), so they can move to another process.

@final
class Model:
    """A trained model. Load one with :func:`load_model`, make one with :func:`train`."""

    @staticmethod
    def load(path: _PathLike) -> Model:
        """Reads a model file (ModelFileError when it cannot be used)."""
    @staticmethod
    def from_bytes(data: bytes) -> Model:
        """A model from the bytes of a model file."""
    def to_bytes(self) -> bytes:
        """The bytes of the model file (models also pickle as these)."""
    def save(self, path: _PathLike) -> None:
        """Writes the model file, atomically."""
    def card(self) -> Dict[str, Any]:
        """The model card as a dict: the same as ``simforecast inspect --json``."""
    def card_text(self) -> str:
        """The model card as text: the same as ``simforecast inspect`` (and ``str(model)``)."""
    def monitor(self, frame_spacing: Optional[int] = None,
                tolerance: Optional[float] = None) -> Monitor:
        """A monitor over one new run; ``frame_spacing`` (steps between the values you will
        push), when given, must be the model's; ``tolerance`` as ``Monitor.tolerance``."""
    @property
    def tolerance(self) -> Optional[float]:
        """The model's default tolerance (relative half-width); None when it has none."""
    @property
    def tolerance_range(self) -> Optional[Tuple[float, float]]:
        """The tolerances the model was calibrated for (what a monitor accepts); None: any
        positive one."""
    def replay(self, values: _FloatArray, tolerance: Optional[float] = None) -> List[Event]:
        """Replays a whole trace through a fresh monitor, as ``simforecast predict``, at
        ``tolerance`` (None: the model's): its events until every stage has decided."""
    @overload
    def evaluate(self, traces: _Traces, *, frame_spacing: Optional[int] = ...,
                 column: Optional[str] = ..., names: Optional[Sequence[str]] = ...,
                 per_trace: Literal[False] = ..., bank_at: float = ...) -> Dict[str, Any]: ...
    @overload
    def evaluate(self, traces: _Traces, *, frame_spacing: Optional[int] = ...,
                 column: Optional[str] = ..., names: Optional[Sequence[str]] = ...,
                 per_trace: Literal[True], bank_at: float = ...) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]: ...
    # evaluate: ``simforecast evaluate --json`` (n, n_irrelevant, halts, false_halts,
    # precision, recall, f1, confusion, r2, r2_all, forecast_share, coverage, interval_width,
    # mean_frames_to_decision, compute_saved, ood; bank_at, honest, curve, runs); arrays need
    # ``frame_spacing``, which must be the model's; ``column`` defaults to the model's.
    @property
    def frame_spacing(self) -> int:
        """Steps between frames of the traces the model was trained on."""
    @property
    def max_window(self) -> int:
        """Frames after which no stage is left to decide."""
    @property
    def windows(self) -> List[int]:
        """Windows of the stages, in order."""
    @property
    def threshold(self) -> float: ...
    @property
    def below(self) -> bool:
        """True when a run is irrelevant below the threshold (else above)."""
    @property
    def tail(self) -> int:
        """Frames at the end of a run over which its result is taken."""
    @property
    def column(self) -> str: ...
    @property
    def units(self) -> Optional[str]: ...
    @property
    def preset(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Pruner:
    """Report a value every frame, ask whether to stop (the shape of Optuna and Ray Tune).

    ``unit="frame"``: ``report``'s first argument counts frames, one apart; ``unit="step"``: it
    is the time step, the model's frame spacing apart. ``stop_on_forecast=True`` also stops a
    run once its forecast is known."""

    def __new__(cls, model: Model, *, unit: Literal["frame", "step"] = "frame",
                stop_on_forecast: bool = False) -> Pruner: ...
    def report(self, step: int, value: float) -> Optional[Event]:
        """Feeds the value of the frame at ``step``; returns the event decided there, or None.
        A report out of turn or a non-finite value raises and changes nothing."""
    def should_stop(self) -> bool:
        """True once the model halted the run (or forecast it, with stop_on_forecast)."""
    @property
    def halt_frame(self) -> Optional[int]: ...
    @property
    def forecast(self) -> Optional[Event]: ...
    @property
    def frames(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def last_step(self) -> Optional[int]: ...
    @property
    def unit(self) -> Literal["frame", "step"]: ...
    @property
    def stop_on_forecast(self) -> bool: ...

def _model_from_bytes(data: bytes) -> Model:
    """Unpickles a model."""

def _monitor_from_state(model: bytes, state: bytes, tolerance: Optional[float] = None) -> Monitor:
    """Unpickles a monitor."""

def load_model(path: _PathLike) -> Model:
    """Reads a model file (ModelFileError when it is missing, foreign, truncated, corrupted or
    of another format version)."""

def train(
    traces: _Traces,
    threshold: float,
    *,
    below: bool = False,
    preset: Optional[Literal["default", "paper", "fixed", "eager"]] = None,
    frame_spacing: Optional[int] = None,
    column: Optional[str] = None,
    tail: int = 1000,
    names: Optional[Sequence[str]] = None,
    units: Optional[str] = None,
    **options: _OptionValue,
) -> Model:
    """Trains a model on every trace, as ``simforecast train`` does (the GIL is released).

    A run is irrelevant when mu, the mean of its last ``tail`` frames, is above ``threshold``
    (below with ``below=True``). ``traces``: paths (read by the trace loader; ``column`` picks
    the column, default auto) or arrays (``frame_spacing``, the steps between two values, is
    then required; ``column`` and ``names`` are recorded). ``options`` override the preset, one
    per command-line option (see TRAINING_OPTIONS): screen_windows, forecast_windows,
    halt_windows, forecast_by, k_grid, powers, target_precision, min_cut, min_halts,
    screen_score, early_miss, tolerance, variance, folds, level, seed. An unknown option raises
    ArgumentTypeError (a TypeError) naming them.
    """
