"""Building many frozen attrs instances fast: a class's slot setters fill an instance made with
`object.__new__`, without the `__init__` that sets each field through `object.__setattr__` (the
parser's reductions and the compiled-program cache's lanes build hundreds of thousands of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


def setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of a frozen attrs class, in field order. Only for a class whose `__init__`
    does nothing more (no validator, converter or `__attrs_post_init__`); the caller sets every field
    (defaults are not applied)."""
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    assert all(f.validator is None and f.converter is None for f in fields), cls
    assert not hasattr(cls, "__attrs_post_init__"), cls
    return tuple(cls.__dict__[f.name].__set__ for f in fields)
