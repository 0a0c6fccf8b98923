"""The compiled plan: jobs of one shape evaluated together as columns give what each gives alone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import observation

import nnci
from nnci.engine import Derivation, Engine
from nnci.evaluate import evaluate
from nnci.plan import BATCH_MIN, compile_plan

DEMO = Path(__file__).resolve().parent.parent / "models" / "nnci-demo.nnci"


OBSERVATION = st.tuples(
    st.floats(1, 2000),
    st.floats(1, 3),
    st.floats(0, 1500),
    st.floats(0.01, 1),
    st.integers(0, 100_000),
    st.floats(0, 1e5),
)


def alone(program: nnci.ir.Program, key: nnci.ir.BlockKey, name: str) -> float:
    result = Engine(program).quantity(key, name)
    assert isinstance(result, Derivation)
    return float(result.value.magnitude)


def check_plan_agrees(text: str) -> None:
    program = nnci.loads(text)
    plan = compile_plan(program)
    assert any(group.stacked is not None for group in plan.groups)
    results = evaluate(program)
    for job in results.jobs:
        for name in ("energy", "operational", "embodied", "total"):
            computed = job.quantities[name]
            assert isinstance(computed, Derivation)
            assert computed.value.magnitude == alone(program, job.key, name), (job.key, name)
    expected_total = sum(alone(program, job.key, "total") for job in results.jobs)
    assert results.total["total"].value.magnitude == pytest.approx(expected_total, rel=1e-12)  # type: ignore[union-attr]


def test_stacked_jobs_equal_each_job_alone() -> None:
    observations = [(300.0 + i, 1.1 + i / 100, 429.0 - i, 0.95, 10_000 + i, 360.0 + i) for i in range(BATCH_MIN + 4)]
    check_plan_agrees("".join(observation(i, *o) for i, o in enumerate(observations)))


@settings(max_examples=20, deadline=None)
@given(st.lists(OBSERVATION, min_size=BATCH_MIN, max_size=BATCH_MIN + 8))
def test_the_plan_and_the_per_quantity_derivation_agree(observations: list[tuple[float, ...]]) -> None:
    text = "".join(observation(i, *o) for i, o in enumerate(observations))  # type: ignore[arg-type]
    check_plan_agrees(text)


def test_an_unknown_figure_of_stacked_jobs_names_each_jobs_own_blocks() -> None:
    """Water is unknown in every job (no WUE, no water intensity): a stacked group says so of each job's
    own datacenter, exactly as each job alone does, in `total.water` and in a job's own figure."""
    text = "".join(observation(i, 300 + i, 1.1, 400, 1, 8, 10) for i in range(BATCH_MIN + 2))
    text += "figure water = total.water\n"
    program = nnci.loads(text)
    assert any(group.stacked is not None for group in compile_plan(program).groups)
    stacked, one_by_one = evaluate(program), evaluate(program, plan=compile_plan(program, stack=False))
    assert not isinstance(stacked.derived["water"], Derivation)
    assert stacked.derived["water"] == one_by_one.derived["water"]
    assert "dc3.wue" in stacked.derived["water"].missing
    assert stacked.figure("t3", "water") == one_by_one.figure("t3", "water")


def test_jobs_of_different_shapes_are_grouped_apart() -> None:
    text = "".join(observation(i, 300, 1.1, 400, 1, 8, 10) for i in range(BATCH_MIN))
    text += "training other {\n  fleet = { gpu0 = 1 }\n  site = dc0\n  device_hours = 5 h\n}\n"
    plan = compile_plan(nnci.loads(text))
    sizes = sorted(len(group.jobs) for group in plan.groups)
    assert sizes == [1, BATCH_MIN, BATCH_MIN]


def test_a_small_program_is_evaluated_job_by_job() -> None:
    plan = compile_plan(nnci.load(DEMO))
    assert all(group.stacked is None for group in plan.groups)


def test_a_lane_whose_arithmetic_fails_is_unknown_and_the_others_are_not() -> None:
    text = "".join(observation(i, 300, 1.1, 400, 1, 8, 10) for i in range(BATCH_MIN))
    text = text.replace("duration = 10 h", "device_hours = 10 h").replace("gpu3 = 8, host3 = 8", "gpu3 = 0, host3 = 0")
    program = nnci.loads(text)
    assert any(group.stacked is not None and len(group.jobs) == BATCH_MIN for group in compile_plan(program).groups)
    results = nnci.evaluate(program)
    by_key = {str(job.key): job for job in results.jobs}
    assert not isinstance(by_key["t3"].quantities["energy"], Derivation)
    assert isinstance(by_key["t4"].quantities["energy"], Derivation)


def test_a_scalar_program_never_imports_numpy() -> None:
    code = (
        "import sys\nfrom nnci.cli import main\nmain(['run', sys.argv[1]])\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(DEMO)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


MODELS = sorted(DEMO.parent.glob("*.nnci"))


JOB_BLOCK = re.compile(r"^(training|inference) (\w+)( = [\w.]+)? \{\n.*?^\}\n", re.S | re.M)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_model_gives_the_same_figures_stacked(path: Path, tmp_path: Path) -> None:
    """Each model with a copy of each of its jobs (so that every job's shape has two jobs), with the
    plan's smallest group lowered to two: the stacked figures are the figures of each job alone."""
    text = path.read_text()
    copies = "".join(m[0].replace(f" {m[2]}", f" {m[2]}_copy", 1) for m in JOB_BLOCK.finditer(text))
    assert copies, "every model has jobs"
    for other in path.parent.glob(path.stem + ".csv"):
        (tmp_path / other.name).write_text(other.read_text())
    twice = tmp_path / path.name
    twice.write_text(text + "\n" + copies)
    program = nnci.load(twice)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nnci.plan.BATCH_MIN", 2)
        plan = compile_plan(program)
        over_tables = all(program.rows_of(job) for job in program.jobs)  # already columns: not stacked
        assert over_tables or any(group.stacked is not None for group in plan.groups)
        stacked = nnci.evaluate(program)
    alone_results = nnci.evaluate(program)
    for job, by_itself in zip(stacked.jobs, alone_results.jobs, strict=True):
        for name, result in job.quantities.items():
            single = by_itself.quantities[name]
            if isinstance(single, Derivation):
                assert isinstance(result, Derivation) and result.value == single.value, (job.key, name)
            else:
                assert not isinstance(result, Derivation), (job.key, name)


def test_devices_charged_in_full_are_found_through_the_stacked_group() -> None:
    """A device without a lifetime shared by many stacked jobs, and per-job devices each in two jobs:
    the plan finds the same devices charged in full, the same number of times, as job by job."""
    shared = "device gpu {\n  power = 300 W\n  manufacturing_energy = 1000 kWh\n  made_in = f\n}\n"
    text = "nnci 0.1\ngrid f {\n  intensity = 633 gCO2e/kWh\n}\n" + shared
    text += "datacenter dc {\n  pue = 1.1\n  grid = f\n}\n"
    for i in range(BATCH_MIN + 2):
        text += f"device own{i} {{\n  power = 250 W\n  embodied = {2500 + i} kgCO2e\n}}\n"
        text += (
            f"training t{i} {{\n  fleet = {{ gpu = {8 + i}, own{i} = 1 }}\n  site = dc\n  duration = {10 + i} h\n}}\n"
        )
        text += f"inference q{i} {{\n  fleet = {{ own{i} = 1 }}\n  site = dc\n  duration = 24 h\n}}\n"
    program = nnci.loads(text)
    stacked_plan, alone_plan = compile_plan(program), compile_plan(program, stack=False)
    assert any(group.stacked for group in stacked_plan.groups)
    engine = Engine(stacked_plan.program)
    engine.lanes = stacked_plan.lanes
    stacked = evaluate(program, engine, stacked_plan).charged_in_full_by_several
    alone = evaluate(program, Engine(program), alone_plan).charged_in_full_by_several
    assert stacked == alone
    counts = {str(device): count for device, _, count in alone}
    assert counts["gpu"] == BATCH_MIN + 2 and all(counts[f"own{i}"] == 2 for i in range(BATCH_MIN + 2))


def test_a_stacked_groups_results_equal_those_of_each_job_alone() -> None:
    """Jobs of a stacked group keep their figures as the group's columns (LaneFigures) and the sums'
    inputs are made when read: compared whole, figure by figure (value, formula, span, note), with the
    totals and their inputs, the notes and the charged devices, they equal evaluating job by job."""
    from nnci.engine import MadeWhenRead
    from nnci.evaluate import ALL, LaneFigures

    text = "".join(observation(i, 300 + i, 1.1, 400 + i, 1, 8 + i, 10 + i) for i in range(BATCH_MIN + 3))
    program = nnci.loads(text)
    stacked = evaluate(program, figures=ALL)
    one_by_one = evaluate(program, plan=compile_plan(program, stack=False), figures=ALL)
    assert all(isinstance(job.quantities, LaneFigures) for job in stacked.jobs)
    assert not any(isinstance(job.quantities, LaneFigures) for job in one_by_one.jobs)
    for mine, theirs in zip(stacked.jobs, one_by_one.jobs, strict=True):
        assert mine.key == theirs.key and list(mine.quantities) == list(theirs.quantities)
        for name in theirs.quantities:
            a, b = mine.quantities[name], theirs.quantities[name]
            assert isinstance(a, Derivation) and isinstance(b, Derivation)
            assert (a.value, a.formula, a.span, a.note) == (b.value, b.formula, b.span, b.note), (mine.key, name)
        assert mine.notes == theirs.notes and mine.citations == theirs.citations
    for name, total in one_by_one.total.items():
        mine_total = stacked.total[name]
        assert isinstance(mine_total, Derivation) and isinstance(total, Derivation)
        assert isinstance(mine_total.inputs, MadeWhenRead)
        assert mine_total.value == total.value  # each correctly rounded (math.fsum): equal in any order
        assert len(mine_total.inputs) == len(total.inputs) > 1
        assert [(d.block, d.value) for d in mine_total.inputs] == [(d.block, d.value) for d in total.inputs]
    assert stacked.charged_in_full_by_several == one_by_one.charged_in_full_by_several


@pytest.mark.parametrize("at_once", [1024, 3])
def test_writing_the_json_of_a_stacked_group_makes_no_job_derivation(
    at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON of a stacked group is written from its columns, some jobs at a time: no job's
    Derivation is made, and the sums' inputs stay unmade (what keeps a run over 20,000 jobs from
    building 220,000 objects); the text is the one written job by job."""
    import io

    from nnci import output
    from nnci.engine import MadeWhenRead
    from nnci.evaluate import ALL, LaneFigures
    from nnci.output import write_json

    monkeypatch.setattr(output, "LANES_AT_ONCE", at_once)

    text = "".join(observation(i, 300 + i, 1.1, 400 + i, 1, 8 + i, 10 + i) for i in range(BATCH_MIN + 3))
    program = nnci.loads(text)
    results = evaluate(program, figures=ALL)
    out = io.StringIO()
    write_json(results, ["<input>"], (), out.write)
    lanes = [job.quantities for job in results.jobs]
    assert all(isinstance(q, LaneFigures) and not q._made for q in lanes)
    assert all(isinstance(t.inputs, MadeWhenRead) and t.inputs._made is None for t in results.total.values())  # type: ignore[union-attr]
    one_by_one = io.StringIO()
    write_json(
        evaluate(program, plan=compile_plan(program, stack=False), figures=ALL), ["<input>"], (), one_by_one.write
    )
    assert out.getvalue() == one_by_one.getvalue()


def _stacked_and_alone_check(text: str) -> tuple[list[object], list[object]]:
    from nnci.check import check

    program = nnci.loads(text)
    plan, engine = nnci.compile(program)
    assert any(group.stacked is not None for group in plan.groups)
    return check(program, engine), check(program, Engine(program))


def test_a_stacked_group_with_a_bad_value_in_some_jobs_reports_each_at_its_own_block() -> None:
    """Columns in range are judged once for their group; a group with a problem in any job is judged
    job by job, so every problem is said where it was written, as when each block is checked alone."""
    observations = [(300.0 + i, 1.1, 429.0, 0.95, 8, 10.0) for i in range(BATCH_MIN + 4)]
    observations[3] = (300.0, 0.8, 429.0, 0.95, 8, 10.0)  # a PUE below 1
    observations[7] = (300.0, 1.1, 429.0, 0.95, -2, 10.0)  # a negative count
    observations[9] = (300.0, 1.1, 429.0, 0.95, 8, 0.0)  # a zero duration
    text = "".join(observation(i, *o) for i, o in enumerate(observations))  # type: ignore[arg-type]
    text = text.replace("queries = 1000\n}\ngrid g12", "queries = 0\n}\ngrid g12")
    stacked, alone = _stacked_and_alone_check(text)
    assert stacked == alone
    found = {(d.code, d.span.line) for d in stacked}  # type: ignore[attr-defined]
    lines = text.splitlines()
    assert ("E402", lines.index("  pue = 0.8") + 1) in found
    assert ("E402", lines.index("  fleet = { gpu7 = -2, host7 = 8 }") + 1) in found
    assert any(code == "E405" for code, _ in found)


def test_a_stacked_groups_dimension_problem_is_reported_at_every_block() -> None:
    text = "".join(observation(i, 300.0 + i, 1.1, 429.0, 0.95, 8, 10.0) for i in range(BATCH_MIN + 2))
    text = re.sub(r"power = (\d+\.0) W\n  manufacturing", r"power = \1 Wh\n  manufacturing", text)
    stacked, alone = _stacked_and_alone_check(text)
    assert stacked == alone
    assert sum(d.code == "E400" for d in stacked) == BATCH_MIN + 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "condition",
    ["power <= 1 kWh", "power >= 1 kWh", "power + 1 kWh >= 1 W", "max(power, 1 kWh) >= 1 W", "power ^ 0.37 >= 1 W"],
)
def test_a_check_line_of_a_block_not_first_in_its_group_is_judged(condition: str) -> None:
    """A block's `check` lines are not part of its shape: a wrong one in the fourth of sixteen alike
    devices is reported there, as when each block is checked alone (a breaker's finding)."""
    text = "".join(
        f"device d{i} {{\n  power = {300 + i} W\n"
        + (f'  check {condition}, "power looks low"\n' if i == 3 else "")
        + f"}}\ntraining t{i} {{\n  fleet = {{ d{i} = 8 }}\n  duration = 10 h\n}}\n"
        for i in range(BATCH_MIN)
    )
    stacked, alone = _stacked_and_alone_check(text)
    assert stacked == alone
    line = text.splitlines().index(f'  check {condition}, "power looks low"') + 1
    assert [(d.code, d.span.line) for d in stacked] == [("E401", line)]  # type: ignore[attr-defined]


def test_explaining_a_sum_over_stacked_jobs_says_how_to_see_one_jobs_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nnci.cli import main

    path = tmp_path / "s.nnci"
    path.write_text("".join(observation(i, 300.0 + i, 1.1, 429.0, 0.95, 8, 10.0) for i in range(BATCH_MIN)))
    assert main(["explain", str(path), "total.energy"]) == 0
    out = capsys.readouterr().out
    assert "├─ t3.energy = " in out and "t3.pue" not in out  # a stacked job: its formula, not its inputs
    assert out.rstrip().endswith(f"`nnci explain {path} t0.energy` shows one job's)")
    assert main(["explain", str(path), "t3.energy"]) == 0
    assert "├─ t3.pue = 1.1" in capsys.readouterr().out
