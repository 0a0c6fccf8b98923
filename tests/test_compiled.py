"""The compiled-program cache: a hit gives exactly what compiling again gives, and is proved, not assumed."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import observation

from nnci import api, cli, compiled
from nnci.compiled import entries as entries_module
from nnci.compiled import values
from nnci.compiled.values import Encoder

load_module = importlib.import_module("nnci.load")  # `nnci.load` the attribute is the API's function

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted(ROOT.joinpath("models").glob("*.nnci"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NNCI_CACHE_DIR", str(folder))
    monkeypatch.delenv("NNCI_NO_CACHE", raising=False)
    monkeypatch.setattr(api, "COMPILED_MIN_BYTES", 0)  # every program is stored, not only large ones
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{compiled.SUBFOLDER}/*{compiled.SUFFIX}"))


def output_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def uncached(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    with monkeypatch.context() as patch:
        patch.setenv("NNCI_NO_CACHE", "1")
        return output_of(argv, capsys)


def workload(folder: Path, count: int) -> Path:
    """The IF-equivalent workload (tests/strategies.observation): `count` observations, stacked by the plan."""
    text = "nnci 0.1\n" + "".join(
        observation(i, 300 + i, 1.1 + i / 1000, 429 + i, 0.95, 1000 + i, 360 + i) for i in range(count)
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "w.nnci"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_model_gives_the_same_output_from_the_cache(
    path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for argv in (["run", str(path), "--format", "json"], ["run", str(path)], ["explain", str(path), "total.total"]):
        expected = uncached(argv, capsys, monkeypatch)
        assert output_of(argv, capsys) == expected  # computed, and stored where it can be
        stored = entries(cache_dir)
        if path.with_suffix(".csv").exists() or "uncertain" in path.name:
            assert not stored, "tables and distributions are not stored"
            continue
        assert stored
        with monkeypatch.context() as patch:
            patch.setattr(load_module, "read_module", lambda text, key: pytest.fail(f"{key} parsed on a hit"))
            assert output_of(argv, capsys) == expected


def test_a_stacked_workload_from_the_cache_is_the_same_and_parses_nothing(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workload(tmp_path, 40)
    for argv in (["run", str(path), "--format", "json"], ["explain", str(path), "total.energy"],
                 ["explain", str(path), "t7.energy"], ["run", str(path), "--show", "it_energy"],
                 ["check", str(path)], ["report", str(path)], ["diff", str(path), str(path)]):  # fmt: skip
        expected = uncached(argv, capsys, monkeypatch)
        assert output_of(argv, capsys) == expected
        with monkeypatch.context() as patch:
            patch.setattr(load_module, "read_module", lambda text, key: pytest.fail(f"{key} parsed on a hit"))
            assert output_of(argv, capsys) == expected
    assert len(entries(cache_dir)) == 2  # run and explain (which resolves every block) have an entry each


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 2000), st.floats(1, 3), st.floats(0, 1500), st.floats(0.01, 1),
                          st.integers(1, 100_000), st.floats(1, 1e5)), min_size=17, max_size=40))  # fmt: skip
def test_a_hit_equals_compiling_again_on_generated_workloads(rows: list[tuple[float, ...]]) -> None:
    """The compiled form, written and read back, is the program compiled from the text (property)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.nnci"
        path.write_text("nnci 0.1\n" + "".join(observation(i, *row) for i, row in enumerate(rows)))
        os.environ["NNCI_CACHE_DIR"] = str(Path(folder) / "cache")
        os.environ.pop("NNCI_NO_CACHE", None)
        smallest, api.COMPILED_MIN_BYTES = api.COMPILED_MIN_BYTES, 0
        try:
            program, plan, _, warnings = api.load_compiled(path)
            assert entries(Path(folder) / "cache")
            again, replanned, _, rewarned = api.load_compiled(path)
            second = api.evaluate(again, plan=replanned)  # first, while no lane is built
        finally:
            del os.environ["NNCI_CACHE_DIR"]
            api.COMPILED_MIN_BYTES = smallest
        assert again.blocks == program.blocks and list(again.blocks) == list(program.blocks)
        assert again.roots == program.roots and again.expects == program.expects
        assert replanned.groups == plan.groups and replanned.lanes == plan.lanes
        for key in plan.lanes:
            assert _same_block(replanned.program.blocks[key], plan.program.blocks[key])
        assert rewarned == warnings
        spans = [f.span for b in program.blocks.values() for f in b.fields.values()]
        assert spans == [f.span for b in again.blocks.values() for f in b.fields.values()]  # spans are not in ==
        # the jobs' figures from the stacked groups, their spans read without building the blocks
        first = api.evaluate(program, plan=plan)
        assert [(j.key, j.citations, [(n, r.span) for n, r in j.quantities.items()]) for j in first.jobs] == [
            (j.key, j.citations, [(n, r.span) for n, r in j.quantities.items()]) for j in second.jobs
        ]


def _same_block(a: object, b: object) -> bool:
    """Equal, spans and columns of numbers included (compared as the encoder writes them: exact floats)."""
    return Encoder().value(a) == Encoder().value(b)


def test_an_edited_import_is_seen(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "grids.nnci").write_text("grid g {\n  intensity = 429 gCO2e/kWh\n}\n")
    main = tmp_path / "main.nnci"
    main.write_text(
        'import "grids" as grids\n'
        "device gpu {\n  power = 300 W\n}\n"
        "datacenter dc {\n  pue = 1.1\n  grid = grids.g\n}\n"
        "training t {\n  fleet = { gpu = 8 }\n  site = dc\n  duration = 10 h\n}\n"
    )
    argv = ["run", str(main), "--format", "json"]
    first = output_of(argv, capsys)
    assert output_of(argv, capsys) == first and entries(cache_dir)
    (tmp_path / "grids.nnci").write_text("grid g {\n  intensity = 100 gCO2e/kWh\n}\n")
    edited = output_of(argv, capsys)
    assert edited != first
    assert edited == uncached(argv, capsys, monkeypatch)


def test_an_import_that_now_leaves_the_project_is_refused(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loader runs again on a hit: a symlink swapped to point outside is E104, entry or not."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    text = "grid g {\n  intensity = 429 gCO2e/kWh\n}\n"
    (project / "real.nnci").write_text(text)
    (outside / "real.nnci").write_text(text)
    (project / "grids.nnci").symlink_to(project / "real.nnci")
    main = project / "main.nnci"
    main.write_text(
        'import "grids" as grids\ndatacenter dc {\n  pue = 1.1\n  grid = grids.g\n}\n'
        "device gpu {\n  power = 300 W\n}\ntraining t {\n  fleet = { gpu = 8 }\n  site = dc\n  duration = 10 h\n}\n"
    )
    argv = ["check", str(main)]
    assert cli.main(["run", str(main)]) == 0 and entries(cache_dir)
    (project / "grids.nnci").unlink()
    (project / "grids.nnci").symlink_to(outside / "real.nnci")  # the same text, now outside the project
    capsys.readouterr()
    assert cli.main(["run", str(main)]) == 1
    assert "E104" in capsys.readouterr().err
    assert cli.main(argv) == 1


def _stored_workload(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[list[str], str, Path]:
    path = workload(tmp_path, 20)
    argv = ["run", str(path), "--format", "json"]
    code, out, _ = output_of(argv, capsys)
    assert code == 0
    [entry] = entries(cache_dir)
    return argv, out, entry


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "reseal"])
def test_a_damaged_entry_is_ignored_and_removed(
    damage: str, tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, expected, entry = _stored_workload(tmp_path, cache_dir, capsys)
    raw = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        at = len(raw) - 1000
        entry.write_bytes(raw[:at] + bytes([raw[at] ^ 0x55]) + raw[at + 1 :])
    elif damage == "garbage":
        entry.write_bytes(b"\x80\x04cos\nsystem\n(S'echo planted'\ntR.")  # a pickle: never loaded as one
    else:  # a structurally wrong payload with a valid checksum: refused by the decoder, not by the checksum
        import hashlib
        import json

        key = entry.name.removesuffix(compiled.SUFFIX)
        body = json.dumps({"files_read": {}, "imports": {}, "bound": {}, "roots": [], "program": {"files": 7}})
        payload = len(body).to_bytes(8, "little") + body.encode() + b""
        header = {"format": compiled.FORMAT, "key": key, "sha256": hashlib.sha256(payload).hexdigest()}
        entry.write_bytes(compiled.MAGIC + b" " + json.dumps(header).encode() + b"\n" + payload)
    code, out, err = output_of(argv, capsys)
    assert (code, out) == (0, expected) and "planted" not in err
    assert entry.exists() and entry.read_bytes() != raw[: len(raw) // 2]  # stored again, whole
    assert output_of(argv, capsys)[1] == expected


def test_a_resealed_entry_whose_column_lost_a_value_is_compiled_again(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stacked column one value short (its checksum made to hold): refused when decoded, because a
    column must hold one value per lane, so the file is compiled again and the output is right."""
    import base64
    import hashlib
    import json

    argv, expected, entry = _stored_workload(tmp_path, cache_dir, capsys)
    header_line, _, payload = entry.read_bytes().partition(b"\n")
    size = int.from_bytes(payload[:8], "little")
    data = json.loads(payload[8 : 8 + size])
    found = []

    def shorten(value: object) -> None:  # every stored column, one float (8 bytes) short
        if isinstance(value, list):
            if len(value) == 2 and value[0] == values.ARRAY and isinstance(value[1], str):
                value[1] = base64.b64encode(base64.b64decode(value[1])[:-8]).decode()
                found.append(value)
            else:
                for item in value:
                    shorten(item)

    shorten(data["program"]["stacked"])
    assert found, "the workload stores no column"
    body = json.dumps(data).encode()
    payload = len(body).to_bytes(8, "little") + body + payload[8 + size :]
    header = json.loads(header_line.partition(b" ")[2])
    header["sha256"] = hashlib.sha256(payload).hexdigest()
    entry.write_bytes(compiled.MAGIC + b" " + json.dumps(header).encode() + b"\n" + payload)
    code, out, err = output_of(argv, capsys)
    assert (code, out) == (0, expected) and "Traceback" not in err


def test_an_entry_whose_numbers_were_changed_is_not_trusted(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Changing a stored number breaks the checksum: the entry is dropped, the file compiled again."""
    argv, expected, entry = _stored_workload(tmp_path, cache_dir, capsys)
    raw = entry.read_bytes()
    changed = raw.replace(b'"300 W"', b'"999 W"', 1) if b'"300 W"' in raw else raw.replace(b"1.1", b"9.9", 1)
    assert changed != raw
    entry.write_bytes(changed)
    assert output_of(argv, capsys)[1] == expected


def test_only_its_own_entries_are_touched(tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    folder = cache_dir / compiled.SUBFOLDER
    folder.mkdir(parents=True)
    os.chmod(folder, 0o700)
    foreign = [folder / "notes.txt", folder / ("0" * 64 + ".pickle"), folder / ("a" * 63 + compiled.SUFFIX)]
    for path in foreign:
        path.write_text("mine")
    monkeypatch.setattr(entries_module, "MAX_ENTRIES", 2)
    for count in (17, 18, 19):
        assert cli.main(["run", str(workload(tmp_path / str(count), count)), "--format", "json"]) == 0
    capsys.readouterr()
    assert all(path.read_text() == "mine" for path in foreign)
    assert 1 <= len(entries(cache_dir)) <= 2
    assert (os.stat(folder).st_mode & 0o777) == 0o700


def test_set_samples_and_stdin_are_not_stored(tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path = workload(tmp_path, 20)
    assert cli.main(["run", str(path), "--set", "dc0.pue=1.2"]) == 0
    assert cli.main(["run", str(path), "--samples", "100"]) == 0
    monkeypatch.setattr("sys.stdin", open(path))  # noqa: SIM115 - closed with the test
    assert cli.main(["run", "-"]) == 0
    capsys.readouterr()
    assert not entries(cache_dir)


def test_no_cache_writes_nothing(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("NNCI_NO_CACHE", "1")
    assert cli.main(["run", str(workload(tmp_path, 20))]) == 0
    capsys.readouterr()
    assert not cache_dir.exists() or not entries(cache_dir)


def test_a_copy_elsewhere_is_its_own_entry(tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The key holds the path: the same text in another folder (whose imports could resolve elsewhere)
    is compiled for itself, and its messages name its own file."""
    path = workload(tmp_path, 20)
    other = tmp_path / "copy"
    other.mkdir()
    shutil.copy(path, other / "w.nnci")
    first = output_of(["run", str(path), "--format", "json"], capsys)[1]
    second = output_of(["run", str(other / "w.nnci"), "--format", "json"], capsys)[1]
    assert len(entries(cache_dir)) == 2
    assert first.replace(str(path), str(other / "w.nnci")) == second


def test_an_entry_resealed_with_a_broken_lane_stops_with_a_message(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lane is built only when read: an entry whose checksum holds but whose lanes do not (not written
    by nnci) stops the command that reads them with a message, not a traceback; the entry is removed, the
    next run is right. (`run --format json` reads no lane's spans: it succeeds, with the right output.)"""
    import hashlib
    import json

    argv, expected, entry = _stored_workload(tmp_path, cache_dir, capsys)
    raw = entry.read_bytes()
    header_line, _, payload = raw.partition(b"\n")
    size = int.from_bytes(payload[:8], "little")
    binary = bytearray(payload[8 + size :])
    data = json.loads(payload[8 : 8 + size])["program"]
    ordered = int.from_bytes(binary[:8], "little")
    lanes = sum(len(names.split("\n")) for names in data["lane_names"] if names)  # each stacked block's, joined
    first_lane = 8 + 4 * (ordered + lanes)  # the first lane's file number: now one no entry has
    binary[first_lane : first_lane + 4] = (10**6).to_bytes(4, "little", signed=True)
    payload = payload[: 8 + size] + bytes(binary)
    header = json.loads(header_line.partition(b" ")[2])
    header["sha256"] = hashlib.sha256(payload).hexdigest()
    entry.write_bytes(compiled.MAGIC + b" " + json.dumps(header).encode() + b"\n" + payload)
    assert output_of(argv, capsys)[:2] == (0, expected)
    code, _, err = output_of([*argv, "--sources"], capsys)  # traces every figure to the blocks it read
    assert code == 1 and "could not be read" in err and "Traceback" not in err
    assert not entry.exists()
    assert output_of(argv, capsys)[:2] == (0, expected)


def test_what_checking_found_is_reported_on_a_hit_too(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault only checking derives (a figure no column shows: energy per query of zero queries) is an
    error on every run, the same text and exit code from the cache as without it."""
    path = tmp_path / "z.nnci"
    path.write_text(
        "nnci 0.1\ngrid g {\n  intensity = 429 gCO2e/kWh\n}\ndevice d {\n  power = 300 W\n}\n"
        "datacenter dc {\n  pue = 1.1\n  grid = g\n}\n"
        "inference q {\n  fleet = { d = 8 }\n  site = dc\n  duration = 10 h\n  queries = 1000 - 1000\n}\n"
    )
    for argv in (["run", str(path)], ["run", str(path), "--format", "json"], ["check", str(path)]):
        expected = uncached(argv, capsys, monkeypatch)
        assert argv[0] == "check" or (expected[0] == 1 and "E405" in expected[2])
        assert output_of(argv, capsys) == expected  # stored
        assert output_of(argv, capsys) == expected  # from the cache


def test_the_grammar_is_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout keeps the grammar beside the package, not in it: its text is hashed all the same."""
    from nnci.resources import grammar_path

    grammar = tmp_path / "nnci.lark"
    grammar.write_bytes(grammar_path().read_bytes())
    monkeypatch.setattr(entries_module, "grammar_path", lambda: grammar)
    entries_module._salt.cache_clear()
    try:
        before = entries_module._salt()
        grammar.write_bytes(grammar.read_bytes() + b"\n// changed\n")
        entries_module._salt.cache_clear()
        assert entries_module._salt() != before
    finally:
        entries_module._salt.cache_clear()


def test_entries_are_kept_within_a_size_in_all(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_BYTES in all, the oldest entries go; the newest stays whatever its size."""
    monkeypatch.setattr(entries_module, "MAX_BYTES", 1)
    for count in (17, 18, 19):
        assert cli.main(["run", str(workload(tmp_path / str(count), count)), "--format", "json"]) == 0
        [newest] = entries(cache_dir)  # only the one just written
    capsys.readouterr()
    assert cli.main(["run", str(tmp_path / "19" / "w.nnci"), "--format", "json"]) == 0
    assert entries(cache_dir) == [newest]
    monkeypatch.undo()  # the real bound holds many such entries
    monkeypatch.setenv("NNCI_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(api, "COMPILED_MIN_BYTES", 0)
    assert cli.main(["run", str(tmp_path / "17" / "w.nnci"), "--format", "json"]) == 0
    assert len(entries(cache_dir)) == 2
