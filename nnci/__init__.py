"""nnci: the energy use and carbon footprint of training and serving neural networks."""

from nnci.api import check, compile, evaluate, load, loads, run
from nnci.diagnostics import Diagnostic, NnciError
from nnci.evaluate import Results, UnknownQuantity
from nnci.quantity import Quantity

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "NnciError",
    "Quantity",
    "Results",
    "UnknownQuantity",
    "__version__",
    "check",
    "compile",
    "evaluate",
    "load",
    "loads",
    "run",
]
