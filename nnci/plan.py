"""Compile once: jobs of the same shape are evaluated together, as columns.

A job's *shape* is everything that decides which formulas apply to it: its kind, which fields it
gives and how (a constant of some dimension, a reference, a map of so many entries, an expression),
its method, and the shapes of the blocks it refers to. Jobs of one shape are stacked into one job
whose constants are columns (numpy arrays, an entry per job) and whose references point to stacked
blocks; the engine then derives every figure once for the whole group, and each job's figure is its
entry. A block that every job of a group shares is not stacked: it stays one scalar block.

Small groups are evaluated job by job, as before: a scalar scenario never imports numpy.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import attrs

from nnci import ir

BATCH_MIN = 16  # fewer jobs of one shape than this are evaluated one by one
_UNKNOWN = object()  # a block whose shape is not yet known (None is a shape's "cannot be stacked")
PLAN_MODULE = ir.PLAN_MODULE


@attrs.frozen
class Group:
    """Jobs of one shape; `stacked` is the job standing for all of them, None to evaluate each alone."""

    jobs: tuple[ir.BlockKey, ...]
    stacked: ir.BlockKey | None = None


@attrs.frozen
class Plan:
    program: ir.Program  # the program with the stacked blocks added
    groups: tuple[Group, ...]
    lanes: dict[ir.BlockKey, tuple[ir.BlockKey, ...]]  # stacked block → the block it stands for, per job

    def lane_key(self, key: ir.BlockKey, lane: int) -> ir.BlockKey:
        """The block of one job that a block of the plan stands for (a shared block stands for itself)."""
        keys = self.lanes.get(key)
        return keys[lane] if keys is not None else key


def compile_plan(program: ir.Program, stack: bool = True) -> Plan:
    """`stack=False` evaluates every job alone (with `--samples`, a job's arrays are its samples)."""
    if not stack:
        return Plan(program, tuple(Group((job,)) for job in program.jobs), {})
    compiler = _Compiler(program)
    groups: dict[Hashable, list[ir.BlockKey]] = {}
    singles: list[Group] = []
    for job in program.jobs:
        shape = compiler.shape(job)
        if shape is None:
            singles.append(Group((job,)))
        else:
            groups.setdefault(shape, []).append(job)
    planned = list(singles)
    for jobs in groups.values():
        if len(jobs) < BATCH_MIN:
            planned.extend(Group((job,)) for job in jobs)
        else:
            planned.append(Group(tuple(jobs), compiler.stack(tuple(jobs))))
    if not compiler.stacked:
        return Plan(program, tuple(planned), {})
    blocks = {**program.blocks, **compiler.stacked}
    return Plan(attrs.evolve(program, blocks=blocks), tuple(planned), compiler.lanes)


class _Compiler:
    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.shapes: dict[ir.BlockKey, int | None] = {}
        self.ids: dict[Hashable, int] = {}  # each distinct shape as a small number: cheap to hash and nest
        self.stacked: dict[ir.BlockKey, ir.Block] = {}
        self.lanes: dict[ir.BlockKey, tuple[ir.BlockKey, ...]] = {}
        self.by_lanes: dict[tuple[ir.BlockKey, ...], ir.BlockKey] = {}

    # -- shapes -----------------------------------------------------------------------------

    def shape(self, key: ir.BlockKey, depth: int = 0) -> int | None:
        """A hashable description of the block's structure; None when it cannot be stacked (a job over
        a table, a reference to `total`, a circle, or a chain too deep to follow)."""
        known = self.shapes.get(key, _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        self.shapes[key] = None  # a circle through this block makes it unstackable
        block = self.program.blocks.get(key)
        if block is None or depth > 64:
            return None
        parts: list[Hashable] = [block.kind]
        for name, field in block.fields.items():  # in the order written: blocks written alike share a shape
            expr = field.expr
            if expr.__class__ is ir.Const and (
                expr.value.magnitude.__class__ is float or not getattr(expr.value.magnitude, "is_series", False)
            ):
                shape: Hashable | None = expr.value.dimension  # most fields: a constant; its dimension decides
            else:
                shape = self._expr_shape(expr, depth)
            if shape is None:
                return None
            parts.append((name, shape))
        result = self.ids.setdefault(tuple(parts), len(self.ids))
        self.shapes[key] = result
        return result

    def _expr_shape(self, expr: ir.Expr, depth: int) -> Hashable | None:
        if expr.__class__ is ir.BlockRef:  # most: a site, a grid, a fleet
            if expr.block == ir.TOTAL:  # type: ignore[attr-defined]
                return None
            target = self.shape(expr.block, depth + 1)  # type: ignore[attr-defined]
            return None if target is None else ("r", target, None)
        if isinstance(expr, ir.Const):
            if getattr(expr.value.magnitude, "is_series", False):  # one series: only its own block shares it
                return ("series", id(expr.value.magnitude))
            return expr.value.dimension  # as `shape` takes it inline for a field
        if isinstance(expr, ir.Text):
            return ("t", expr.value)
        if isinstance(expr, ir.SelfRef):
            return ("s", expr.name)
        if isinstance(expr, (ir.QuantityRef, ir.BlockRef)):
            if expr.block == ir.TOTAL:
                return None
            target = self.shape(expr.block, depth + 1)
            return None if target is None else ("r", target, getattr(expr, "name", None))
        if isinstance(expr, ir.Map):
            entries: list[Hashable] = []
            for entry in expr.entries:
                block, value = self.shape(entry.block, depth + 1), self._expr_shape(entry.value, depth)
                if block is None or value is None:
                    return None
                entries.append((block, value))
            return ("m", tuple(entries))
        if isinstance(expr, ir.Binary):
            left, right = self._expr_shape(expr.left, depth), self._expr_shape(expr.right, depth)
            if expr.op == "^":  # the exponent decides the dimension: it must be the same in every job
                right = ("e", expr.right) if right is not None else None
            return None if left is None or right is None else ("b", expr.op, left, right)
        if isinstance(expr, ir.Negate):
            operand = self._expr_shape(expr.operand, depth)
            return None if operand is None else ("n", operand)
        if isinstance(expr, ir.Call):
            args = [self._expr_shape(a, depth) for a in expr.args]
            return None if any(a is None for a in args) else ("f", expr.func, tuple(args))
        if isinstance(expr, ir.Distribution):  # one input, as written: jobs stack only if they share it
            span = expr.span
            return ("d", expr.name, span.file, span.line, span.column)
        return None  # tables: a job over a table is already evaluated as columns

    # -- stacking ---------------------------------------------------------------------------

    def stack(self, keys: tuple[ir.BlockKey, ...]) -> ir.BlockKey:
        """One block standing for `keys` (blocks of one shape), its constants columns."""
        first = keys[0]
        if all(key == first for key in keys):
            return first
        if keys in self.by_lanes:
            return self.by_lanes[keys]
        blocks = self.program.blocks
        model = blocks[first]
        key = ir.BlockKey(PLAN_MODULE, f"{model.key}+{len(keys) - 1}#{len(self.stacked)}")
        self.by_lanes[keys] = key
        self.lanes[key] = keys
        # blocks of one shape have the same fields in the same order: each field's column at once
        columns = zip(*[blocks[k].fields.values() for k in keys], strict=True)
        fields = {
            name: ir.Field(name, self._stack_expr([f.expr for f in column]), field.span)
            for (name, field), column in zip(model.fields.items(), columns, strict=True)
        }
        self.stacked[key] = ir.Block(key, model.kind, fields, (), model.citations, model.doc, model.span, model.base)
        return key

    def _stack_expr(self, exprs: list[Any]) -> ir.Expr:
        first = exprs[0]
        if isinstance(first, ir.Const):
            values = [e.value.magnitude for e in exprs]
            if values.count(values[0]) == len(values):
                return first
            import numpy

            return ir.Const(
                attrs.evolve(first.value, magnitude=numpy.array(values, dtype=float)), first.text, first.span
            )
        if isinstance(first, ir.QuantityRef):
            return ir.QuantityRef(self.stack(tuple(e.block for e in exprs)), first.name, first.span)
        if isinstance(first, ir.BlockRef):
            return ir.BlockRef(self.stack(tuple(e.block for e in exprs)), first.span)
        if isinstance(first, ir.Map):
            entries = tuple(
                ir.Entry(
                    self.stack(tuple(e.entries[i].block for e in exprs)),
                    self._stack_expr([e.entries[i].value for e in exprs]),
                    entry.span,
                )
                for i, entry in enumerate(first.entries)
            )
            return ir.Map(entries, first.span)
        if isinstance(first, ir.Binary):
            left = self._stack_expr([e.left for e in exprs])
            return ir.Binary(first.op, left, self._stack_expr([e.right for e in exprs]), first.span)
        if isinstance(first, ir.Negate):
            return ir.Negate(self._stack_expr([e.operand for e in exprs]), first.span)
        if isinstance(first, ir.Call):
            args = tuple(self._stack_expr([e.args[i] for e in exprs]) for i in range(len(first.args)))
            return ir.Call(first.func, args, first.span)
        return first  # Text, SelfRef and a Distribution (the same one) are the same in every job of a shape
