"""The demand-driven rule engine.

Asked for a quantity of a block, it uses the block's own field if the user gave one (fields are
late-bound: an amend's override flows into everything its base derives), else the first formula
in the registry whose inputs it can supply. Results are memoised and carry their derivation, so
every number can be traced to its inputs, formula and citation. A quantity that cannot be derived
is `Unknown`, naming what is missing; it never becomes 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from nnci import arrays, ir
from nnci.ast import string_literal
from nnci.diagnostics import Diagnostic, Span, source_lines
from nnci.formulas import formulas_for
from nnci.formulas.registry import Formula, Item, NotApplicable, Noted, OutsideData, Skip
from nnci.quantity import DimensionError, Quantity
from nnci.schema import AGGREGATES, COUNTED, JOB_KINDS, QUANTITIES, ROLES, SCHEMA, article
from nnci.series import is_series
from nnci.uncertain.distributions import DISTRIBUTIONS, BadParameters
from nnci.units import DIMENSIONLESS, TIME

if TYPE_CHECKING:
    from nnci.uncertain.sampling import Sampler


@attrs.frozen
class Derivation:
    """How a value was obtained: given in a field, or by a formula from other derivations."""

    block: ir.BlockKey
    name: str
    value: Quantity
    formula: Formula | None
    inputs: Sequence[Derivation]  # a tuple, or for a sum over jobs of stacked groups `MadeWhenRead`
    span: Span | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        return self.name if self.block == ir.FIGURE else f"{self.block}.{self.name}"


class MadeWhenRead(Sequence[Derivation]):
    """The inputs of a sum over thousands of jobs, made when first read: `nnci run` reads only the
    sum, `explain` and tracing read its inputs. Equal to the tuple it stands for."""

    __slots__ = ("_count", "_made", "_make")

    def __init__(self, count: int, make: Callable[[], tuple[Derivation, ...]]) -> None:
        self._count, self._make = count, make
        self._made: tuple[Derivation, ...] | None = None

    def made(self) -> tuple[Derivation, ...]:
        if self._made is None:
            self._made = self._make()
            assert len(self._made) == self._count
        return self._made

    def __getitem__(self, index: Any) -> Any:
        return self.made()[index]

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Derivation]:
        return iter(self.made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MadeWhenRead):
            other = other.made()
        return isinstance(other, tuple) and self.made() == other

    def __hash__(self) -> int:
        return hash(self.made())

    def __repr__(self) -> str:
        return repr(self.made())


@attrs.frozen
class Unknown:
    """A quantity that cannot be derived; `missing` names the inputs that would allow it."""

    block: ir.BlockKey
    name: str
    missing: tuple[str, ...]
    reason: str | None = None  # said instead of `missing` when no formula applies at all, or for a fault
    fault: bool = False  # its inputs are there but the arithmetic failed (division by zero, overflow)

    @property
    def label(self) -> str:
        return self.name if self.block == ir.FIGURE else f"{self.block}.{self.name}"


Result = Derivation | Unknown

CYCLE = " (it depends on itself)"  # marks a missing entry that is a circular definition


class _Missing(Exception):
    def __init__(self, unknown: Unknown) -> None:
        self.unknown = unknown


class EvalError(Exception):
    def __init__(self, message: str, span: Span, code: str = "E405", help: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.code = code
        self.help = help


class Engine:
    def __init__(
        self,
        program: ir.Program,
        methods: dict[ir.BlockKey, str] | None = None,
        row: int | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        """`methods` forces a method on some jobs (for side-by-side comparison); `row` (0-based) evaluates
        jobs over a table for that one row, with scalars (how `explain job[17].energy` replays a row);
        `sampler` draws every distribution (else each is its median)."""
        self.program = program
        self.lanes: dict[ir.BlockKey, tuple[ir.BlockKey, ...]] = {}  # a plan's stacked block → the blocks it stands for
        self.forced = dict(methods or {})
        self.row = row
        self.sampler = sampler
        self.fields: list[tuple[ir.BlockKey, str]] = []  # the given fields being evaluated, innermost last
        self.codes: dict[tuple[str, str], tuple[Any, dict[str, int]]] = {}
        self.memo: dict[tuple[ir.BlockKey, str, str | None], Result] = {}
        # a job of a stacked group → its figures known to be unknown, said of its own blocks when asked
        self.deferred: dict[ir.BlockKey, Callable[[str], Result | None]] = {}
        # sums over the rows of a job over a table, and per group of a text column, by the result summed
        self.row_sums: dict[int, tuple[Derivation, float]] = {}
        self.group_sums: dict[tuple[int, str, str], tuple[Derivation, dict[str, tuple[float, int]]]] = {}
        self.active: list[tuple[ir.BlockKey, str, str | None]] = []
        self.cycles = 0
        self.diagnostics: list[Diagnostic] = []
        self.row_faults: list[Diagnostic] = []  # of `diagnostics`, those about some rows of a table only

    # -- public -------------------------------------------------------------------------

    def quantity(self, key: ir.BlockKey, name: str, method: str | None = None) -> Result:
        """A quantity of a block; `method` is inherited from the job that asks, unless the block is a
        job with a method of its own."""
        method = self.method_of(key, method)
        memo_key = (key, name, method)
        if memo_key in self.memo:
            return self.memo[memo_key]
        deferred = self.deferred.get(key)
        if deferred is not None and method == self.method_of(key, None):
            found = deferred(name)
            if found is not None:
                self.memo[memo_key] = found
                return found
        if memo_key in self.active:
            self.cycles += 1
            return Unknown(key, name, (f"{key}.{name}{CYCLE}",))
        cycles_before = self.cycles
        self.active.append(memo_key)
        try:
            result = self._derive(key, name, method)
        finally:
            self.active.pop()
        if isinstance(result, Derivation) or self.cycles == cycles_before:
            self.memo[memo_key] = result
        return result

    def remember(self, result: Result) -> None:
        """A figure found outside this engine (a job's entry of a stacked group, a sum over jobs): asked
        for later (by `total.*`, an expectation), it is not derived again."""
        self.memo[result.block, result.name, self.method_of(result.block, None)] = result

    def method_of(self, key: ir.BlockKey, inherited: str | None) -> str | None:
        block = self.program.blocks.get(key)
        if block is None or block.kind not in JOB_KINDS:
            return inherited
        if key in self.forced:
            return self.forced[key]
        field = block.fields.get("method")
        return field.expr.value if field is not None and isinstance(field.expr, ir.Text) else None

    def evaluate(
        self, expr: ir.Expr, block: ir.BlockKey | None, method: str | None = None
    ) -> tuple[Quantity, list[Derivation]]:
        """Evaluate an expression; raises _Missing or EvalError."""
        deps: list[Derivation] = []
        return self._eval(expr, block, deps, method), deps

    def try_evaluate(self, expr: ir.Expr, block: ir.BlockKey | None) -> Quantity | Unknown | None:
        """Like evaluate, but an unknown input gives Unknown and an arithmetic error gives None."""
        try:
            return self.evaluate(expr, block, self.method_of(block, None) if block else None)[0]
        except _Missing as missing:
            return missing.unknown
        except EvalError as error:
            self._report(error)
            return None

    # -- derivation ---------------------------------------------------------------------

    def _derive(self, key: ir.BlockKey, name: str, method: str | None) -> Result:
        if key == ir.TOTAL:
            return self._total(name)
        if key == ir.FIGURE:
            return self._figure(name)
        block = self.program.blocks[key]
        field = block.fields.get(name)
        if field is not None:
            self.fields.append((key, name))
            try:
                value, deps = self.evaluate(field.expr, key, method)
            except _Missing as error:
                return Unknown(key, name, error.unknown.missing)
            except EvalError as error:
                self._report(error)
                return Unknown(key, name, (f"{key}.{name} (could not be computed)",))
            finally:
                self.fields.pop()
            return Derivation(key, name, self._retag(block.kind, name, value), None, tuple(deps), field.span)
        # a formula that needs a field the block does not give (`device`) is another description of a job
        formulas = [f for f in formulas_for(block.kind, name, method) if all(n in block.fields for n in f.needs)]
        if "device" in block.fields and "fleet" not in block.fields:  # one kind of device, no fleet to read
            formulas = [f for f in formulas if not any(i.path.startswith("fleet.") for i in f.inputs)]
        if not formulas and method is not None and formulas_for(block.kind, name):
            reason = f"method `{method}` does not estimate it; give `{name}` directly, or choose another method"
            return Unknown(key, name, (f"{key}.{name}",), reason)
        missing: list[str] = []
        for formula in formulas:
            result = self._apply(formula, key, method)
            if isinstance(result, Derivation) or result.fault:
                return result  # inputs present decide the formula; a numeric fault is not a reason to try another
            missing.extend(m for m in result.missing if m not in missing)
        reasons = [m for m in missing if not m.endswith(CYCLE)]
        if name not in AGGREGATES.get(block.kind, ()):
            reasons.insert(0, f"{key}.{name}")  # giving the quantity itself is the first way out
        # A circle matters only when nothing else would break it: then it is the reason given.
        return Unknown(key, name, tuple(dict.fromkeys(reasons or missing)) or (f"{key}.{name}",))

    def _retag(self, kind: str, name: str, value: Quantity) -> Quantity:
        """A bare number given for a counted quantity (queries, tokens, FLOP) is that count."""
        spec = SCHEMA[kind].get(name)
        if spec is not None and spec.dim in COUNTED and value.dimension == DIMENSIONLESS:
            return Quantity(value.magnitude, spec.dim)
        return value

    def _apply(self, formula: Formula, key: ir.BlockKey, method: str | None) -> Result:
        kwargs: dict[str, Any] = {}
        deps: list[Derivation] = []
        missing: list[str] = []
        faults: list[str] = []
        for spec in formula.inputs:
            try:
                kwargs[spec.name] = self._input(key, spec.path, spec.optional, deps, method)
            except _Missing as error:
                missing.extend(error.unknown.missing)
                if error.unknown.fault:
                    faults.append(error.unknown.reason or "")
            except EvalError as error:  # e.g. a map weight that divides by zero
                self._report(error)
                missing.append(f"{key}: {error} at {error.span}")
        if faults:  # an input is there but its arithmetic failed: so does everything built on it
            return Unknown(key, formula.output, tuple(dict.fromkeys(missing)), faults[0], fault=True)
        if missing:
            return Unknown(key, formula.output, tuple(dict.fromkeys(missing)))
        if not formula.takes_series and _has_series(kwargs.values()):
            block = self.program.blocks.get(key)
            if block is not None and block.kind in JOB_KINDS:  # the formula over time needs the job's start
                return Unknown(key, formula.output, (f"{key}.start",))
            return Unknown(key, formula.output, (f"{key}.{formula.output} (an input varies in time; only a job's "
                                                 "carbon is integrated over time)",))  # fmt: skip
        try:
            with arrays.quiet():
                raw = formula.fn(**kwargs)
        except Skip:
            return Unknown(key, formula.output, ())
        except NotApplicable as error:
            return Unknown(key, formula.output, (f"{key}: {error}",))
        except OutsideData as error:
            return self._outside(key, formula, error)
        except ZeroDivisionError:
            return self._fault(key, formula, [0], None, "divides by zero", deps)
        except OverflowError:
            return self._fault(key, formula, [0], None, "overflows")
        note = (raw.note or None) if isinstance(raw, Noted) else None
        value = raw.value if isinstance(raw, Noted) else raw
        bad = arrays.bad_rows(value)
        if bad and self.over_samples(value):
            return self._fault(key, formula, [], None, f"gives no finite number in {samples_text(bad, value)}")
        if bad:
            count = arrays.length(value)
            new = sorted(set(bad) - arrays.unknown_rows(list(kwargs.values())))
            if count is None or len(bad) == count:
                return self._fault(key, formula, new or bad, count, "gives no finite number")
            if new:  # some rows fail here; they are unknown, and the others stand
                self._fault(key, formula, new, count, "gives no finite number")
            value = arrays.unknown_in(value, bad)
            note = "; ".join(n for n in (note, f"unknown in {arrays.rows_text(bad, count)}") if n)
        return Derivation(key, formula.output, Quantity(value, formula.dim), formula, tuple(deps), note=note)

    def _outside(self, key: ir.BlockKey, formula: Formula, error: OutsideData) -> Unknown:
        """A job over a series whose interval the data does not cover: an error where its start is
        written (the first such row's cell for a job over a table), and the figure unknown."""
        block = self.program.blocks.get(key)
        span = None
        if block is not None:
            field = block.fields.get("start") or block.fields.get("duration")
            span = field.span if field is not None else block.span
            if field is not None and isinstance(field.expr, ir.ColumnRef) and error.rows and self.row is None:
                span = self.program.tables[field.expr.table].columns[field.expr.column].cell_span(error.rows[0])
        shown = key if key.module != ir.PLAN_MODULE else key.name.split("+")[0]
        message = f"`{shown}` {error.what}"
        self._add(Diagnostic("E411", message, span, notes=error.notes, help=error.help))
        return Unknown(key, formula.output, (f"{key}.{formula.output}",), message, fault=True)

    def _fault(
        self,
        key: ir.BlockKey,
        formula: Formula,
        rows: list[int],
        count: int | None,
        what: str,
        inputs: list[Derivation] = (),  # type: ignore[assignment]
    ) -> Unknown:
        """A formula whose inputs are all there but whose arithmetic fails: unknown, and said where (a zero
        divisor at the field that gives it)."""
        where = f" in {arrays.rows_text(rows, count)}" if count is not None else ""
        reason = f"`{formula.name}` ({formula.equation}) {what}{where}"
        block = self.program.blocks.get(key)
        stacked = key.module == ir.PLAN_MODULE  # a stacked job is redone job by job, with messages of its own
        zeros = [d for d in inputs if not arrays.is_array(d.value.magnitude) and d.value.magnitude == 0]
        if block is not None and count is None and zeros and not stacked:
            given = next((d for d in zeros if d.span is not None), None)
            names = ", ".join(f"`{d.label}`" for d in zeros)
            self._add(Diagnostic("E405", f"`{key}.{formula.output}` cannot be computed: {names} is 0",
                                 given.span if given else block.span, notes=(reason,),
                                 help=f"`{formula.output}` divides by it: give it a value above 0, or leave "
                                 f"`{zeros[0].name}` out (then `{formula.output}` is unknown)"))  # fmt: skip
        if block is not None and count is not None and not stacked:
            span = block.fields["rows"].span if "rows" in block.fields else block.span
            self._add(Diagnostic("E405", f"`{key}.{formula.output}` cannot be computed{where}", span,
                                 notes=(reason,), help="check the values of those rows"))  # fmt: skip
        return Unknown(key, formula.output, (f"{key}.{formula.output}",), f"`{key}.{formula.output}`: {reason}", True)

    def _input(self, key: ir.BlockKey, path: str, optional: bool, deps: list[Derivation], method: str | None) -> Any:
        head, _, rest = path.partition(".")
        if head.endswith("]"):  # `devices[]`: every entry; `devices[accelerator]`: the entries with that role
            name, _, role = head[:-1].partition("[")
            return self._map_input(key, name, rest, optional, deps, method, role or None)
        if rest:
            return self._input(self._follow(key, head), rest, optional, deps, method)
        result = self.quantity(key, head, method)
        if isinstance(result, Unknown):
            if optional and not result.fault:
                return None
            raise _Missing(result)
        deps.append(result)
        return result.value.magnitude

    def _follow(self, key: ir.BlockKey, field_name: str) -> ir.BlockKey:
        field = self.program.blocks[key].fields.get(field_name)
        if field is None or not isinstance(field.expr, ir.BlockRef):
            raise _Missing(Unknown(key, field_name, (f"{key}.{field_name}",)))
        return field.expr.block

    def _map_input(
        self,
        key: ir.BlockKey,
        field_name: str,
        rest: str,
        optional: bool,
        deps: list[Derivation],
        method: str | None,
        role: str | None = None,
    ) -> list[Item]:
        """Each entry's weight and, unless the path stops at the map, the named block's quantity; with a
        `role`, only the entries whose block has that role."""
        field = self.program.blocks[key].fields.get(field_name)
        if field is None or not isinstance(field.expr, ir.Map):
            raise _Missing(Unknown(key, field_name, (f"{key}.{field_name}",)))
        items = []
        for entry in field.expr.entries:
            if role is not None and self.role_of(entry.block) != role:
                continue
            weight_deps: list[Derivation] = []
            weight = self._eval(entry.value, key, weight_deps, method)
            deps.append(Derivation(key, f"{field_name}[{entry.block}]", weight, None, tuple(weight_deps), entry.span))
            value = self._input(entry.block, rest, optional, deps, method) if rest else None
            items.append(Item(weight.magnitude, value))
        return items

    def role_of(self, key: ir.BlockKey) -> str:
        """A device's role: `accelerator` unless its record says `host`."""
        field = self.program.blocks[key].fields.get("role")
        return field.expr.value if field is not None and isinstance(field.expr, ir.Text) else ROLES[0]

    def _figure(self, name: str) -> Result:
        """A figure derived from others (`figure ratio = serve.total / train.total`), traced like any other."""
        figure = self.program.figures[name]
        try:
            value, deps = self.evaluate(figure.expr, None, None)
        except _Missing as error:
            return Unknown(ir.FIGURE, name, error.unknown.missing, error.unknown.reason, error.unknown.fault)
        except EvalError as error:
            self._report(error)
            return Unknown(ir.FIGURE, name, (f"{name} (could not be computed)",), f"{error} at {error.span}", True)
        return Derivation(ir.FIGURE, name, value, None, tuple(deps), figure.span)

    def _total(self, name: str) -> Result:
        values: list[Quantity] = []
        deps: list[Derivation] = []
        missing: list[str] = []
        for job in self.program.jobs:
            if name not in SCHEMA[self.program.blocks[job].kind]:
                continue  # queries are summed over inference jobs only
            result = self.quantity(job, name)
            if isinstance(result, Unknown):
                missing.extend(result.missing)
            else:
                values.append(result.value)
                deps.append(result)
        if missing:
            return Unknown(ir.TOTAL, name, tuple(dict.fromkeys(missing)))
        if not values:
            having = [kind for kind in JOB_KINDS if name in SCHEMA[kind]]
            if not self.program.jobs:
                return Unknown(ir.TOTAL, name, ("a training or inference block",), "there is no job to sum over")
            shown = " or ".join(having)
            return Unknown(ir.TOTAL, name, (f"{article(shown)} block",),
                           f"there is no {shown} job, and only {shown} jobs have `{name}`")  # fmt: skip
        for value in values[1:]:
            values[0]._same(value, "+")
        if self.sampler is not None:  # per sample, in the jobs' order (a job over a table: its rows' sum)
            summed: Any = 0.0
            for dep in deps:
                rows = self.program.rows_of(dep.block) is not None
                summed = summed + (arrays.total(dep.value.magnitude) if rows else dep.value.magnitude)
            return Derivation(ir.TOTAL, name, Quantity(summed, values[0].dimension), None, tuple(deps))
        total = math.fsum(self._row_sum(dep) for dep in deps)  # rows of a table are summed too
        if not math.isfinite(total):
            return Unknown(ir.TOTAL, name, (f"total.{name}: the sum is not a finite number",))
        return Derivation(ir.TOTAL, name, Quantity(total, values[0].dimension), None, tuple(deps))

    # -- expressions --------------------------------------------------------------------

    def _eval(self, expr: ir.Expr, block: ir.BlockKey | None, deps: list[Derivation], method: str | None) -> Quantity:
        if isinstance(expr, ir.Const):
            return expr.value
        if isinstance(expr, (ir.SelfRef, ir.QuantityRef)):
            key = expr.block if isinstance(expr, ir.QuantityRef) else block
            assert key is not None
            result = self.quantity(key, expr.name, method)
            if isinstance(result, Unknown):
                raise _Missing(result)
            deps.append(result)
            if block is None and self.row is None and self.program.rows_of(result.block) is not None:
                return self._over_rows(result)
            return result.value
        if isinstance(expr, ir.Negate):
            return -self._eval(expr.operand, block, deps, method)
        if isinstance(expr, ir.Binary):
            return self._binary(expr, block, deps, method)
        if isinstance(expr, ir.Call) and expr.func == ir.GROUP:
            return self._group(expr, deps, method)
        if isinstance(expr, ir.Call):
            args = [self._eval(a, block, deps, method) for a in expr.args]
            return self._call(expr, args)
        if isinstance(expr, ir.Distribution):
            return self._distribution(expr, [self._eval(a, block, deps, method) for a in expr.args])
        if isinstance(expr, ir.ColumnRef):
            column = self.program.tables[expr.table].columns[expr.column]
            if expr.instants:  # `start = jobs.start`: the cells as seconds since 1970
                instants = self.program.instants[expr.table, expr.column]
                return Quantity(instants if self.row is None else float(instants[self.row]), TIME)
            values = column.values if self.row is None else float(column.values[self.row])
            return Quantity(values, column.dimension or DIMENSIONLESS)
        if isinstance(expr, ir.RowIndicator):
            return Quantity(self._indicator(expr), DIMENSIONLESS)
        raise EvalError("this expression has no numeric value", expr.span)

    def _over_rows(self, result: Derivation) -> Quantity:
        """A job over a table seen from outside any block (a figure, a top-level check): its sum over the
        rows, as `expect` and `total` see it; a figure that is no sum (a PUE) only if no row differs."""
        magnitude = result.value.magnitude
        if QUANTITIES.get(result.name) is not None and QUANTITIES[result.name].summed:
            return Quantity(self._row_sum(result), result.value.dimension)
        if not arrays.is_array(magnitude):
            return result.value
        low, high = float(magnitude.min()), float(magnitude.max())
        if low == high:
            return Quantity(low, result.value.dimension)
        reason = f"`{result.label}` differs by row and is not a sum; use a sum such as `{result.block}.energy`"
        raise _Missing(Unknown(result.block, result.name, (result.label,), reason))

    def _row_sum(self, result: Derivation) -> float:
        """The correctly rounded sum over the rows of a job over a table (a figure the same in every row
        counts once per row); summed once however many figures and checks read it."""
        found = self.row_sums.get(id(result))
        if found is None or found[0] is not result:
            magnitude = result.value.magnitude
            table = self.program.rows_of(result.block)
            rows = self.program.tables[table].rows if table is not None else 1
            value = arrays.total(magnitude) if arrays.is_array(magnitude) else float(magnitude) * rows
            found = self.row_sums[id(result)] = (result, value)
        return found[1]

    def _group(self, expr: ir.Call, deps: list[Derivation], method: str | None) -> Quantity:
        """`group(month.energy, jobs.account, "nlp")`: the figure summed over the rows of that group only."""
        figure, rows = expr.args
        assert isinstance(figure, ir.QuantityRef) and isinstance(rows, ir.RowIndicator)
        result = self.quantity(figure.block, figure.name, method)
        if isinstance(result, Unknown):
            raise _Missing(result)
        total, count = self._group_sums(result, rows.table, rows.column)[rows.value]
        if not math.isfinite(total):
            cells = self.program.tables[rows.table].columns[rows.column].labels
            bad = [row for row in arrays.bad_rows(result.value.magnitude) if cells[row] == rows.value]
            raise EvalError(f"`{result.label}` is not a finite number in {arrays.rows_text(bad)}, of the group "
                            f"{rows.column} = {string_literal(rows.value)}", expr.span,
                            help="the other groups stand; see the error about those rows")  # fmt: skip
        value = Quantity(total, result.value.dimension)
        name = (
            f"{figure.name}[{rows.column} = {string_literal(rows.value)}]"  # explain: the group's sum, then the figure
        )
        note = f"the sum over {count:,} row{'s' if count != 1 else ''} of the group"
        deps.append(Derivation(figure.block, name, value, None, (result,), None, note))
        return value

    def _group_sums(self, result: Derivation, table: str, column: str) -> dict[str, tuple[float, int]]:
        """Every group's correctly rounded sum of a figure (and its row count), in one pass over the rows:
        a file may state the share of each of hundreds of accounts."""
        key = (id(result), table, column)
        found = self.group_sums.get(key)
        if found is not None and found[0] is result:
            return found[1]
        cells = self.program.tables[table].columns[column].labels
        magnitude = result.value.magnitude
        values = magnitude.tolist() if arrays.is_array(magnitude) else [float(magnitude)] * len(cells)
        by_group: dict[str, list[float]] = {}
        for cell, value in zip(cells, values, strict=True):
            by_group.setdefault(cell, []).append(value)
        sums = {cell: (math.fsum(members), len(members)) for cell, members in by_group.items()}
        self.group_sums[key] = (result, sums)
        return sums

    def _indicator(self, expr: ir.RowIndicator) -> Any:
        cells = self.program.tables[expr.table].columns[expr.column].labels
        if self.row is not None:
            return 1.0 if cells[self.row] == expr.value else 0.0
        if (expr.table, expr.column) not in self.codes:  # one pass over the column for all its names
            import numpy

            index: dict[str, int] = {}
            codes = numpy.array([index.setdefault(cell, len(index)) for cell in cells], dtype=numpy.intp)
            self.codes[expr.table, expr.column] = (codes, index)
        codes, index = self.codes[expr.table, expr.column]
        return (codes == index[expr.value]).astype(float)

    def _binary(
        self, expr: ir.Binary, block: ir.BlockKey | None, deps: list[Derivation], method: str | None
    ) -> Quantity:
        left = self._eval(expr.left, block, deps, method)
        right = self._eval(expr.right, block, deps, method)
        try:
            with arrays.quiet():
                result = _arithmetic(expr.op, left, right, expr.right)
        except ZeroDivisionError:
            raise EvalError("division by zero", expr.span) from None
        except OverflowError:
            raise EvalError("the result is too large a number", expr.span) from None
        except (DimensionError, ValueError) as error:
            raise EvalError(str(error), expr.span) from None
        if isinstance(result.magnitude, complex):
            raise EvalError("a negative number to a fractional power has no real value", expr.span)
        bad = arrays.bad_rows(result.magnitude)
        what = "division by zero" if expr.op == "/" else "the result is not a finite number"
        if bad and self.over_samples(result.magnitude):
            raise EvalError(f"{what} in {samples_text(bad, result.magnitude)}", expr.span)
        if bad:
            count = arrays.length(result.magnitude)
            new = sorted(set(bad) - arrays.unknown_rows([left.magnitude, right.magnitude]))
            if count is None or len(bad) == count:
                where = f" in {arrays.rows_text(new or bad, count)}" if count is not None else ""
                raise EvalError(what + where, expr.span)
            if new and (block is None or block.module != ir.PLAN_MODULE):  # those rows are unknown; the others stand
                self._report(EvalError(f"{what} in {arrays.rows_text(new, count)}", expr.span), in_rows=True)
            return Quantity(arrays.unknown_in(result.magnitude, bad), result.dimension)
        return result

    def _call(self, expr: ir.Call, args: list[Quantity]) -> Quantity:
        try:
            if expr.func == "sum":
                total = args[0]
                for arg in args[1:]:
                    total = total + arg
                if arrays.bad_rows(total.magnitude):
                    raise EvalError("the result is not a finite number", expr.span)
                return total
            for arg in args[1:]:
                args[0]._same(arg, expr.func)
            return Quantity(arrays.pick(expr.func, [a.magnitude for a in args]), args[0].dimension)
        except DimensionError as error:
            raise EvalError(str(error), expr.span) from None

    def _distribution(self, expr: ir.Distribution, args: list[Quantity]) -> Quantity:
        """Its median, or (sampling) its draws: the same array wherever this distribution is read."""
        distribution = DISTRIBUTIONS[expr.name]
        if any(arrays.is_array(a.magnitude) for a in args):
            raise EvalError(f"the parameters of `{expr.name}` must be single values, not one per row or sample",
                            expr.span, help="give the distribution numbers (with units), or a constant expression")  # fmt: skip
        params = [float(a.magnitude) for a in args]
        try:
            distribution.validate(params)
        except BadParameters as error:
            shown = ", ".join(Quantity(p, a.dimension).format() for p, a in zip(params, args, strict=True))
            raise EvalError(f"`{expr.name}({shown})` {error}", expr.span, "E408",
                            help=f"write `{distribution.signature}`: {distribution.doc}") from None  # fmt: skip
        dimension = args[0].dimension
        if self.sampler is None:
            return Quantity(distribution.median(params), dimension)
        block, name = self.fields[-1] if self.fields else (None, "value")
        label = f"{block}.{name}" if block is not None else name
        text = source_text(self.program.sources, expr.span) or expr.name
        draws = self.sampler.draw(distribution, params, expr.span, label, text)
        return Quantity(draws, dimension)

    def over_samples(self, value: Any) -> bool:
        """Whether an array is one value per sample (else per row: a job over a table is never sampled)."""
        if self.sampler is None or not arrays.is_array(value):
            return False
        return not any(self.program.rows_of(key) for key, _, _ in self.active)

    def _report(self, error: EvalError, in_rows: bool = False) -> None:
        """`in_rows`: a fault in some rows of a job over a table only; those rows are unknown, the others
        stand, so it does not stop the run (`row_faults`: said after the results, the exit code 1)."""
        hint = "check the divisor" if "division" in str(error) else "check the values this expression combines"
        diagnostic = Diagnostic(error.code, str(error), error.span, help=error.help or hint)
        self._add(diagnostic)
        if in_rows and diagnostic not in self.row_faults:
            self.row_faults.append(diagnostic)

    def _add(self, diagnostic: Diagnostic) -> None:
        if diagnostic not in self.diagnostics:
            self.diagnostics.append(diagnostic)


def _has_series(values: Any) -> bool:
    """Whether a formula's inputs hold a series (directly, or as the value of a map entry)."""
    for value in values:
        if isinstance(value, list):
            if any(is_series(item.value) or is_series(item.weight) for item in value):
                return True
        elif is_series(value):
            return True
    return False


def samples_text(bad: list[int], value: Any) -> str:
    return f"{len(bad):,} of {arrays.length(value):,} samples"


def source_text(sources: dict[str, str], span: Span) -> str | None:
    """The text a span covers, when it lies on one line."""
    text = sources.get(span.file)
    if text is None or span.end_line != span.line:
        return None
    lines = source_lines(text)
    return lines[span.line - 1][span.column - 1 : span.end_column - 1] if span.line <= len(lines) else None


def _arithmetic(op: str, left: Quantity, right: Quantity, right_expr: ir.Expr) -> Quantity:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    exponent = static_exponent(right_expr)
    if exponent is None:
        raise ValueError("an exponent must be a plain number")
    return Quantity(left.magnitude**exponent, left.dimension ** exponent_fraction(exponent))


def static_exponent(expr: ir.Expr) -> float | None:
    """The value of an exponent written with plain numbers only (`^ 2`, `^ -0.5`, `^ (1/3)`, `^ 3 ^ 2`):
    a dimension never depends on a computed value, so nothing else may stand there. None otherwise
    (or where the arithmetic fails: `^ (1/0)`). Check and evaluation both read it."""
    if isinstance(expr, ir.Const):
        magnitude = expr.value.magnitude
        plain = expr.value.dimension.is_dimensionless and not arrays.is_array(magnitude)
        return float(magnitude) if plain and not getattr(magnitude, "is_series", False) else None
    if isinstance(expr, ir.Negate):
        inner = static_exponent(expr.operand)
        return None if inner is None else -inner
    if isinstance(expr, ir.Binary):
        left, right = static_exponent(expr.left), static_exponent(expr.right)
        if left is None or right is None:
            return None
        try:
            value = {"+": left + right, "-": left - right, "*": left * right}.get(expr.op)
            if value is None:
                value = left / right if expr.op == "/" else float(left**right)
        except (ZeroDivisionError, OverflowError, TypeError):
            return None
        return value if isinstance(value, float) and math.isfinite(value) else None
    return None


def exponent_fraction(value: float) -> Fraction:
    if not math.isfinite(value):
        raise ValueError("exponent must be finite")
    return Fraction(value).limit_denominator(1000)
