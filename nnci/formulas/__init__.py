"""Published estimation formulas, one module per domain; importing this package registers them all.

Every module of this package except the registry and the shared citations is a domain (carbon,
energy, ...) and is imported here, in alphabetical order (the order formulas are tried in): a new
domain is a new file, named nowhere else.
"""

import importlib
import pkgutil

from nnci.formulas.registry import REGISTRY, Formula, all_formulas, formulas_for

_NOT_DOMAINS = ("citations", "registry")
DOMAINS = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_DOMAINS))
for _domain in DOMAINS:
    importlib.import_module(f"{__name__}.{_domain}")  # registration side effect

__all__ = ["DOMAINS", "REGISTRY", "Formula", "all_formulas", "formulas_for"]
