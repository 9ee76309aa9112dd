"""simforecast: forecast a simulation's result from its first frames, and stop the runs that
will not be worth finishing.

A model (``train`` or ``load_model``) screens a running trace at a few windows of frames: it
halts a run whose result will be past the threshold, clears the others, and forecasts their
result (mu - sigma, mu + sigma and an interval for mu, where mu and sigma are the mean and the
standard deviation of the run's last ``tail`` frames). ``Model.monitor()`` watches one run frame
by frame, with the same Rust monitor as the LAMMPS ``fix forecast``: the same decisions for the
same frames. ``Pruner`` gives it the report / should-stop shape of Optuna and Ray Tune, and
``simforecast.optuna.SimforecastPruner`` is an Optuna pruner.

Errors are :class:`SimforecastError` subclasses carrying the library's message (see
:mod:`simforecast.errors`).
"""

from __future__ import annotations

from .errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    ModelFileError,
    NonFiniteError,
    NumericalError,
    SimforecastError,
    SimforecastIOError,
    SimforecastWarning,
    StateError,
    TraceFileError,
)
from ._simforecast import (
    TRAINING_OPTIONS,
    Event,
    Model,
    Monitor,
    Pruner,
    __version__,
    load_model,
    train,
)

__all__ = [
    "__version__",
    "TRAINING_OPTIONS",
    "load_model",
    "train",
    "Model",
    "Monitor",
    "Event",
    "Pruner",
    "SimforecastError",
    "InvalidArgumentError",
    "ArgumentTypeError",
    "NonFiniteError",
    "ModelFileError",
    "TraceFileError",
    "StateError",
    "NumericalError",
    "SimforecastIOError",
    "SimforecastWarning",
]
