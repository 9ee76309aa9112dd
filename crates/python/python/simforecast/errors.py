"""The exceptions and the warning simforecast raises.

Every error is a :class:`SimforecastError` carrying the library's message; the subclasses say
what kind of failure it was, and those about arguments are also the builtin exception Python
code expects (``ValueError``, ``TypeError``, ``OSError``).
"""

from __future__ import annotations

from typing import Optional

__all__ = [
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


class SimforecastError(Exception):
    """Base of every error simforecast raises (an internal error, a bug, is raised as this)."""


class InvalidArgumentError(SimforecastError, ValueError):
    """An argument outside its domain: a window past the shortest trace, an empty list of
    traces, a frame spacing other than the model's, a threshold that is not finite..."""


class ArgumentTypeError(SimforecastError, TypeError):
    """An argument of the wrong type: an unknown training option, an array that is not 1-D
    float64, a list mixing paths and arrays..."""


class NonFiniteError(InvalidArgumentError):
    """A NaN or infinite sample. ``frame`` is its 0-based frame (for a monitor: the count of
    frames pushed before it), ``value`` the sample."""

    def __init__(self, message: str, frame: Optional[int] = None,
                 value: Optional[float] = None) -> None:
        super().__init__(message)
        self.frame = frame
        self.value = value


class ModelFileError(SimforecastError):
    """A model file that cannot be read or used: missing, not a model file, truncated,
    corrupted, or of a format version this simforecast does not read."""


class TraceFileError(SimforecastError):
    """Trace files that cannot be read or used together: no such path, an unknown format, no
    single obvious column, irregular steps, traces of different columns or frame spacings."""


class StateError(SimforecastError):
    """Saved monitor state that belongs to another model, or is corrupted."""


class NumericalError(SimforecastError):
    """A numerical step failed (a singular matrix, traces without variance...)."""


class SimforecastIOError(SimforecastError, OSError):
    """Writing or reading a file failed (other than reading a model file)."""


class SimforecastWarning(UserWarning):
    """Something set aside on the way: traces not used, files skipped, preset windows dropped
    because the traces are too short for them."""
