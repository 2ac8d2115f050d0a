"""Stop a diverging run loudly instead of training, checkpointing and exporting NaN.

The training loop already brings each step's loss terms to the host (it sums them
for the log window), so checking them there costs nothing; the step adds one
number to them, the global gradient norm, because a NaN gradient from a finite
loss would otherwise be applied and checkpointed before any loss showed it.
Weights are checked in full only where they leave the process: before every
checkpoint and before export.
"""
from __future__ import annotations

import math

import numpy as np

GRADIENT_NORM = "gradient_norm"
# Logged values that are rates, not terms of the loss: a NaN there names no culprit.
_NOT_TERMS = ("accuracy",)


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss, gradient or weight."""


def non_finite_terms(values: dict[str, float]) -> list[str]:
    """Names of the loss terms (and the gradient norm) whose value is not finite, in log order,
    the total last: the first name is the term that went first."""
    bad = [name for name, value in values.items()
           if not name.startswith(_NOT_TERMS) and not math.isfinite(value)]
    return sorted(bad, key=lambda name: (name == "total_loss", name == GRADIENT_NORM))


def check_step(step: int, values: dict[str, float], last_checkpoint: str | None) -> None:
    """Raises DivergenceError if any loss term or the gradient norm of `step` is not finite."""
    bad = non_finite_terms(values)
    if not bad:
        return
    shown = ", ".join(f"{name} = {values[name]}" for name in bad)
    raise DivergenceError(
        f"training diverged at step {step}: {bad[0]} is not finite ({shown}); "
        f"no checkpoint was written from this step on. {_resume_hint(last_checkpoint)}")


def _resume_hint(last_checkpoint: str | None) -> str:
    if last_checkpoint is None:
        return "The run has no checkpoint yet: start again with a lower train.learning_rate."
    return (f"The newest finite checkpoint is {last_checkpoint}: rerun the same command with a lower "
            "--set train.learning_rate=... to resume from it.")


def non_finite_variables(variables) -> list[str]:
    """Paths (or names) of the numeric variables holding a NaN or an infinity."""
    bad = []
    for v in variables:
        values = np.asarray(v.numpy())
        if values.dtype.kind not in "OSUb" and not np.isfinite(values).all():
            bad.append(getattr(v, "path", None) or v.name)
    return bad


def check_variables(variables, what: str) -> None:
    """Raises DivergenceError naming the variables of `what` that are not finite."""
    bad = non_finite_variables(variables)
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DivergenceError(f"{what}: {len(bad)} variable(s) hold NaN or infinite values: {shown}")
