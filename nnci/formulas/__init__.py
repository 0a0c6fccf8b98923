"""Published estimation formulas, one module per domain; importing this package registers them all."""

from nnci.formulas import carbon, compute, embodied, energy, hourly  # noqa: F401  (registration side effect)
from nnci.formulas.registry import REGISTRY, Formula, all_formulas, formulas_for

__all__ = ["REGISTRY", "Formula", "all_formulas", "formulas_for"]
