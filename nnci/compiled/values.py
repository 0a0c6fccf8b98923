"""Values an entry writes whole (blocks that are no lane, the plan's stacked blocks, expectations,
warnings): tagged JSON lists, decoded only into `nnci.ir` classes with fields of the right types."""

from __future__ import annotations

import base64
import functools
import typing
from typing import Any

import attrs

from nnci import ir
from nnci.cache import annotation_types
from nnci.diagnostics import Diagnostic, Span
from nnci.quantity import Quantity
from nnci.units import BASES, Dimension, _interned


class Unusable(Exception):
    """An entry that cannot be used, or a program that cannot be stored."""


TUPLE, KEY, DIM, ARRAY, DICT, SPAN, NOTHING = range(7)  # tags of what is not an attrs class of the registry
CLASSES: tuple[type, ...] = (
    ir.Block, ir.Field, ir.Const, ir.Text, ir.SelfRef, ir.QuantityRef, ir.BlockRef, ir.Entry, ir.Map,
    ir.Binary, ir.Negate, ir.Call, ir.Comparison, ir.Check, ir.Expect, ir.Figure, Quantity, Diagnostic,
)  # fmt: skip
FIRST_CLASS_TAG = 10
TAGS = {cls: FIRST_CLASS_TAG + index for index, cls in enumerate(CLASSES)}
LEAVES = (str, int, float, bool)


class Encoder:
    def __init__(self) -> None:
        self.files: dict[str, int] = {}

    def file(self, name: str) -> int:
        return self.files.setdefault(name, len(self.files))

    def value(self, value: object) -> object:
        cls = type(value)
        if value is None:
            return [NOTHING]
        if cls in LEAVES:
            return value
        if cls is ir.BlockKey:
            return [KEY, value[0], value[1]]  # type: ignore[index]
        if cls is tuple:
            return [TUPLE, *[self.value(v) for v in value]]  # type: ignore[attr-defined]
        if cls is dict:
            items = list(value.items())  # type: ignore[attr-defined]
            return [DICT, [self.value(k) for k, _ in items], [self.value(v) for _, v in items]]
        if cls is Span:
            span: Span = value  # type: ignore[assignment]
            return [SPAN, self.file(span.file), span.line, span.column, span.end_line, span.end_column]
        if cls is Dimension:
            dimension: Dimension = value  # type: ignore[assignment]
            return [DIM, dimension._denominator, *dimension._numerators]
        if cls.__module__ == "numpy" and cls.__name__ == "ndarray":
            if value.dtype != "float64" or value.ndim != 1:  # type: ignore[attr-defined]
                raise Unusable("an array other than one column of floats")
            # its float64s, little-endian, in base64: a column reads back bit for bit, at memory speed
            return [ARRAY, base64.b64encode(value.astype("<f8").tobytes()).decode("ascii")]  # type: ignore[attr-defined]
        tag = TAGS.get(cls)
        if tag is None:
            raise Unusable(f"cannot store a {cls.__name__}")
        if cls is Quantity and getattr(value.magnitude, "is_series", False):  # type: ignore[attr-defined]
            raise Unusable("a series")
        return [tag, *[self.value(getattr(value, f.name)) for f in attrs.fields(cls)]]  # type: ignore[arg-type]


@functools.cache
def _checks() -> dict[int, tuple[type, tuple[tuple[type, ...], ...]]]:
    namespace = {**vars(ir), "Quantity": Quantity, "Dimension": Dimension, "Span": Span, "Any": Any}
    out = {}
    for cls, tag in TAGS.items():
        hints = typing.get_type_hints(cls, globalns=namespace, localns=namespace)
        out[tag] = (cls, tuple(annotation_types(hints[f.name])[0] for f in attrs.fields(cls)))  # type: ignore[arg-type]
    return out


class Decoder:
    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.checks = _checks()

    def value(self, data: object) -> Any:
        if type(data) is not list:
            if data is None or type(data) not in LEAVES:
                raise Unusable("not a value")
            return data
        tag = data[0]
        if tag == TUPLE:
            return tuple([self.value(v) for v in data[1:]])
        if tag == NOTHING:
            return None
        if tag == KEY:
            module, name = data[1:]
            if type(module) is not str or type(name) is not str:
                raise Unusable("malformed block key")
            return ir.BlockKey(module, name)
        if tag == DICT:
            keys, values = data[1:]
            return dict(zip([self.value(k) for k in keys], [self.value(v) for v in values], strict=True))
        if tag == SPAN:
            file, *where = data[1:]
            if len(where) != 4 or not all(type(v) is int for v in where):
                raise Unusable("malformed span")
            return Span(self.files[file], *where)
        if tag == DIM:
            denominator, *numerators = data[1:]
            if len(numerators) != len(BASES) or not all(type(v) is int for v in (denominator, *numerators)):
                raise Unusable("malformed dimension")
            if denominator < 1:
                raise Unusable("malformed dimension")
            return _interned(tuple(numerators), denominator)
        if tag == ARRAY:
            import numpy

            if len(data) != 2 or type(data[1]) is not str:
                raise Unusable("malformed column")
            try:
                raw = base64.b64decode(data[1], validate=True)
            except ValueError as error:
                raise Unusable("malformed column") from error
            if len(raw) % 8:
                raise Unusable("malformed column")
            return numpy.frombuffer(raw, dtype="<f8").astype(float)  # a copy of its own, writable
        found = self.checks.get(tag) if type(tag) is int else None
        if found is None:
            raise Unusable(f"unknown tag {tag!r}")
        cls, allowed = found
        values = [self.value(v) for v in data[1:]]
        if len(values) != len(allowed) or not all(map(isinstance, values, allowed)):
            raise Unusable(f"malformed {cls.__name__}")
        if cls is Quantity and not isinstance(values[1], Dimension):
            raise Unusable("malformed quantity")
        return cls(*values)


def typed(value: Any, container: type, item: type) -> Any:
    if type(value) is not container:
        raise Unusable(f"not a {container.__name__}")
    items: Any = value.values() if isinstance(value, dict) else value
    if not all(type(v) is item for v in items):
        raise Unusable(f"not a {container.__name__} of {item.__name__}")
    return value
