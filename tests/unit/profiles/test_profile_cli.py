"""The CLI functions: exit codes and ``file:line: field: message`` output."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.profiles.cli_profile import cmd_test, cmd_validate

PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<field>\S+): (?P<message>.+)$")


def test_validate_good(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_validate([samples_dir]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["6 profiles checked: 6 valid, 0 with problems (0 problems)"]


def test_validate_bad(
    tmp_path: Path,
    samples_dir: Path,
    capsys: pytest.CaptureFixture[str],
    sample: Callable[[str], str],
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        sample("light").replace("unit: min, to_unit: s", 'unit: "%"') + "colour: red\n",
        encoding="utf-8",
    )
    assert cmd_validate([bad, samples_dir / "lock.yaml"]) == 1
    out = capsys.readouterr().out.splitlines()
    problems, summary = out[:-1], out[-1]
    assert len(problems) == 1  # pydantic stops before semantic checks: the unknown key
    m = PROBLEM_LINE.match(problems[0])
    assert m is not None
    assert (m["file"], m["field"]) == (str(bad), "colour")
    assert summary == "2 profiles checked: 1 valid, 1 with problems (1 problem)"


def test_validate_reports_semantic_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample: Callable[[str], str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(sample("light").replace("unit: min, to_unit: s", 'unit: "%"'), encoding="utf-8")
    assert cmd_validate([tmp_path]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    m = PROBLEM_LINE.match(first)
    assert m is not None
    assert m["field"] == "bindings.zsdp.properties.main/timer/remaining_s.unit"
    assert (
        int(m["line"])
        == sample("light")
        .splitlines()
        .index("      main/timer/remaining_s: {dp: 26, type: value, unit: min, to_unit: s}")
        + 1
    )


def test_validate_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_validate([tmp_path]) == 1
    assert "no profiles found" in capsys.readouterr().out


def test_test_command_passes(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_test([samples_dir / "light.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert all(line.endswith(": PASS") for line in out[:-1])
    assert out[0].startswith(f"{samples_dir / 'light.yaml'}:")
    assert "tests[0] (zsdp)" in out[0]
    assert out[-1] == "6 tests: 6 passed, 0 failed"


def test_test_command_shows_diffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample: Callable[[str], str]
) -> None:
    bad = tmp_path / "light.yaml"
    bad.write_text(
        sample("light").replace(
            'expect_write: {dps: {"22": 500}}', 'expect_write: {dps: {"22": 499}}'
        ),
        encoding="utf-8",
    )
    broken = tmp_path / "zz.yaml"
    broken.write_text("schema: [", encoding="utf-8")
    assert cmd_test([tmp_path]) == 1
    out = capsys.readouterr().out.splitlines()
    fail = next(i for i, line in enumerate(out) if line.endswith(": FAIL"))
    assert "tests[1] (zsdp)" in out[fail]
    assert out[fail + 1] == "    - DP 22: expected 499, got 500"
    assert any(line.startswith(f"{broken}:") and "(yaml)" in line for line in out)
    assert out[-1] == "6 tests: 5 passed, 1 failed; 1 profile could not be loaded"
