"""Issue 15: the loader reads unsaved editor buffers (text by path) in place of the files on disk.

Expected energies are hand calculations: device power × count × duration × PUE.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nnci
from nnci import api
from nnci.diagnostics import NnciError
from nnci.load import load
from nnci.resources import std_dir

SITE = "grid g {\n  intensity = 400 gCO2e/kWh\n}\n\ndatacenter dc {\n  pue = 1.2\n  grid = g\n}\n"
DEVICE_300 = "device gpu {\n  power = 300 W\n}\n"
DEVICE_500 = "device gpu {\n  power = 500 W\n}\n"
JOB = 'import "dev" as d\n\n' + SITE + "\ntraining x {\n  fleet = { d.gpu = 8 }\n  site = dc\n  duration = 100 h\n}\n"


def energy_kwh(program: nnci.ir.Program) -> float:
    return api.evaluate(program).quantity("x", "energy").to("kWh")


def test_an_unsaved_buffer_imports_a_file_on_disk(tmp_path: Path) -> None:
    (tmp_path / "dev.nnci").write_text(DEVICE_300)
    main = tmp_path / "main.nnci"  # never written: the editor holds it
    program = api.load(main, buffers={main: JOB})
    assert energy_kwh(program) == pytest.approx(8 * 0.300 * 100 * 1.2)  # 288 kWh
    assert not main.exists()


def test_a_file_on_disk_imports_an_unsaved_buffer(tmp_path: Path) -> None:
    main = tmp_path / "main.nnci"
    main.write_text(JOB)
    program = api.load(main, buffers={tmp_path / "dev.nnci": DEVICE_500})
    assert energy_kwh(program) == pytest.approx(8 * 0.500 * 100 * 1.2)  # 480 kWh
    assert not (tmp_path / "dev.nnci").exists()


def test_without_the_buffer_the_missing_import_is_an_error(tmp_path: Path) -> None:
    """The control for the test above: the import is found only because of the buffer."""
    main = tmp_path / "main.nnci"
    main.write_text(JOB)
    with pytest.raises(NnciError) as caught:
        api.load(main)
    assert [d.code for d in caught.value.diagnostics][:1] == ["E200"]


@pytest.mark.parametrize("key", ["relative", "absolute", "through a symlink"])
def test_a_buffer_shadows_a_file_whose_disk_content_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    (tmp_path / "dev.nnci").write_text(DEVICE_300)
    (tmp_path / "main.nnci").write_text(JOB)
    (tmp_path / "link").symlink_to(tmp_path)
    monkeypatch.chdir(tmp_path)
    written = {"relative": "dev.nnci", "absolute": str(tmp_path / "dev.nnci"), "through a symlink": "link/dev.nnci"}
    assert energy_kwh(api.load("main.nnci")) == pytest.approx(288.0)  # disk: 300 W
    program = api.load("main.nnci", buffers={written[key]: DEVICE_500})
    assert energy_kwh(program) == pytest.approx(480.0)  # the buffer: 500 W
    assert program.sources["dev.nnci"] == DEVICE_500


def test_a_buffer_for_a_root_file_shadows_its_disk_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dev.nnci").write_text(DEVICE_300)
    (tmp_path / "main.nnci").write_text(JOB)
    monkeypatch.chdir(tmp_path)
    edited = JOB.replace("duration = 100 h", "duration = 50 h")
    assert energy_kwh(api.load("main.nnci", buffers={"main.nnci": edited})) == pytest.approx(8 * 0.3 * 50 * 1.2)


def test_an_unsaved_buffer_with_an_error_is_located_in_its_own_text(tmp_path: Path) -> None:
    (tmp_path / "dev.nnci").write_text(DEVICE_300)
    main = tmp_path / "main.nnci"
    with pytest.raises(NnciError) as caught:
        api.load(main, buffers={main: JOB.replace("site = dc", "site = dcc")})
    (problem,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert problem.span is not None and problem.span.line == JOB.split("\n").index("  site = dc") + 1


def test_the_project_rule_still_refuses_an_escape_to_a_buffer(tmp_path: Path) -> None:
    """A buffer outside the project is no more importable than a file there."""
    project = tmp_path / "project"
    project.mkdir()
    main = project / "main.nnci"
    text = JOB.replace('"dev"', '"../dev"')
    _, diagnostics = load([main], buffers={main: text, tmp_path / "dev.nnci": DEVICE_300})
    assert [d.code for d in diagnostics] == ["E104"]
    assert diagnostics[0].span is not None and diagnostics[0].span.line == 1
    # ...unless its folder is allowed, as for a file on disk
    program, diagnostics = load(
        [main], allow_imports=[tmp_path], buffers={main: text, tmp_path / "dev.nnci": DEVICE_300}
    )
    assert diagnostics == [] and "../dev.nnci" not in program.failed.get(program.roots[0], set())


def test_the_size_limit_applies_to_a_buffer(tmp_path: Path) -> None:
    main = tmp_path / "main.nnci"
    (tmp_path / "dev.nnci").write_text(DEVICE_300)

    def refused(limit: int, text: str) -> list[str]:
        """The size diagnostics about main.nnci (the standard library's prelude has its own size)."""
        _, diagnostics = load([main], max_bytes=limit, buffers={main: text})
        return [d.message for d in diagnostics if "main.nnci" in d.message and "larger than the limit" in d.message]

    assert refused(len(JOB) - 1, JOB) and not refused(len(JOB), JOB)
    # the limit is in bytes of UTF-8, as for a file: `é` is two
    accented = JOB.replace("training x", "# é\ntraining x")
    assert refused(len(accented), accented) and not refused(len(accented.encode()), accented)


def test_std_imports_come_from_the_package_whatever_the_buffers(tmp_path: Path) -> None:
    main = tmp_path / "main.nnci"
    text = 'import "std/hardware" as hw\n\ntraining x {\n  fleet = { hw.a100_sxm4_80gb = 8 }\n  duration = 1 h\n}\n'
    broken = {main: text, std_dir() / "hardware.nnci": "this is not nnci {", std_dir() / "sources.nnci": "{"}
    program, diagnostics = load([main], buffers=broken)
    assert diagnostics == []
    assert program.sources["std/hardware"] == (std_dir() / "hardware.nnci").read_text(encoding="utf-8")


def test_an_imported_table_can_be_an_unsaved_buffer(tmp_path: Path) -> None:
    """Data files imported by a scenario follow the same rule: a jobs table held by the editor."""
    main = tmp_path / "main.nnci"
    main.write_text(
        'import "jobs.csv" as jobs\n\n' + SITE + "\ndevice gpu {\n  power = 300 W\n}\n\n"
        "training nightly {\n  rows = jobs\n  fleet = { gpu = jobs.gpus }\n  site = dc\n  duration = jobs.hours\n}\n"
    )
    table = "job,gpus,hours [h]\na,8,10\nb,2,5\n"
    results = api.evaluate(api.load(main, buffers={tmp_path / "jobs.csv": table}))
    energy = results.quantity("total", "energy").to("kWh")
    assert energy == pytest.approx((8 * 0.3 * 10 + 2 * 0.3 * 5) * 1.2)  # n × P × Δt × PUE, summed over rows
