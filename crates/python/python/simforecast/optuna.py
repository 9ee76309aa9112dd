"""An Optuna pruner that prunes a trial when the simforecast model halts its simulation.

Each trial reports one frame of its trace per step (``trial.report(value, step)``, steps 0, 1,
2, ... or, with ``unit="step"``, the time steps at the model's frame spacing); after each report
``trial.should_prune()`` asks this pruner, which feeds the new frames to the trial's own
monitor and prunes once the model halts the run (or, with ``stop_on_forecast=True``, once the
run's result is forecast).

    import optuna
    import simforecast as sf
    from simforecast.optuna import SimforecastPruner

    model = sf.load_model("wide.sfm")
    study = optuna.create_study(pruner=SimforecastPruner(model))

Requires ``optuna`` (``pip install optuna``).
"""

from __future__ import annotations

from typing import Dict, Literal, Optional, Union

import optuna

from ._simforecast import Model, Pruner, load_model

__all__ = ["SimforecastPruner"]


class SimforecastPruner(optuna.pruners.BasePruner):
    """Prunes a trial when the model halts its run.

    Args:
        model: a :class:`simforecast.Model`, or the path of a model file.
        unit: what a trial's report steps count: ``"frame"`` (consecutive integers) or
            ``"step"`` (time steps, the model's frame spacing apart).
        stop_on_forecast: also prune once the run's result is forecast (it is known; the rest
            of the run adds nothing the study needs).
    """

    def __init__(self, model: Union[Model, str], *, unit: Literal["frame", "step"] = "frame",
                 stop_on_forecast: bool = False) -> None:
        self._model = model if isinstance(model, Model) else load_model(model)
        self._unit = unit
        self._stop_on_forecast = stop_on_forecast
        Pruner(self._model, unit=unit)  # checks `unit` now rather than at the first trial
        self._pruners: Dict[int, Pruner] = {}

    @property
    def model(self) -> Model:
        return self._model

    def pruner(self, trial_number: int) -> Optional[Pruner]:
        """The :class:`simforecast.Pruner` that follows a trial (None before its first report)."""
        return self._pruners.get(trial_number)

    def prune(self, study: "optuna.study.Study", trial: "optuna.trial.FrozenTrial") -> bool:
        values = trial.intermediate_values
        if not values:
            return False
        p = self._pruners.get(trial.number)
        if p is None:
            p = Pruner(self._model, unit=self._unit, stop_on_forecast=self._stop_on_forecast)
            self._pruners[trial.number] = p
        last = p.last_step
        for step in sorted(values):
            if last is None or step > last:
                p.report(step, float(values[step]))
        return p.should_stop()
