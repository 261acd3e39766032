"""``zshub profile validate|test|schema``: the functions hub/cli.py wires into subcommands.

Output goes to stdout, one problem per line as ``file:line: field: message`` (editors and CI jump to
it), then a summary line. Exit codes: 0 all good, 1 problems or failures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hub.capabilities.catalogue import Catalogue, CatalogueError, default_catalogue_dir
from hub.profiles.compiled import LoadedProfile
from hub.profiles.fixtures import run_fixtures
from hub.profiles.loader import find_profile_files, load_profile_file
from hub.profiles.schema import profile_json_schema
from hub.profiles.validator import validate_report

__all__ = ["cmd_schema", "cmd_test", "cmd_validate"]


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _catalogue() -> tuple[Catalogue, list[CatalogueError]]:
    """The shipped catalogue (ZSHUB_CAPABILITIES_DIR overrides its folder)."""
    return Catalogue.load_dir(default_catalogue_dir())


def cmd_validate(paths: list[Path]) -> int:
    """Validate profile files/folders: structure, semantics, fixtures, collisions."""
    catalogue, catalogue_errors = _catalogue()
    for err in catalogue_errors:
        _out(str(err))
    report = validate_report(paths, catalogue)
    for problem in report.problems:
        _out(str(problem))
    bad = len({p.file for p in report.problems})
    total = len(report.files)
    if not total:
        _out(f"no profiles found in {', '.join(str(p) for p in paths) or 'nothing'}")
        return 1
    summary = (
        f"{_plural(total, 'profile')} checked: {total - bad} valid, {bad} with problems "
        f"({_plural(len(report.problems), 'problem')})"
    )
    if catalogue_errors:
        summary += f"; capability catalogue: {_plural(len(catalogue_errors), 'problem')}"
    _out(summary)
    return 0 if report.ok and not catalogue_errors else 1


def cmd_test(paths: list[Path]) -> int:
    """Run the fixtures of profile files/folders and print PASS/FAIL per test with diffs."""
    catalogue, catalogue_errors = _catalogue()
    for err in catalogue_errors:
        _out(str(err))
    passed = failed = unloadable = 0
    files = find_profile_files(paths)
    for file in files:
        result = load_profile_file(file, catalogue)
        if not isinstance(result, LoadedProfile):
            unloadable += 1
            for problem in result:
                _out(str(problem))
            _out(f"{file}: SKIP: the profile does not load ({_plural(len(result), 'problem')})")
            continue
        for fixture in run_fixtures(result):
            where = file if fixture.line is None else f"{file}:{fixture.line}"
            if fixture.passed:
                passed += 1
                _out(f"{where}: {fixture.label}: PASS")
            else:
                failed += 1
                _out(f"{where}: {fixture.label}: FAIL")
                for diff in fixture.diffs:
                    _out(f"    - {diff}")
    summary = f"{_plural(passed + failed, 'test')}: {passed} passed, {failed} failed"
    if unloadable:
        summary += f"; {_plural(unloadable, 'profile')} could not be loaded"
    _out(summary)
    ok = files and not failed and not unloadable and not catalogue_errors
    return 0 if ok else 1


def cmd_schema() -> int:
    """Print the JSON Schema of profile files (for yaml-language-server / editors)."""
    _out(json.dumps(profile_json_schema(), indent=2, ensure_ascii=False))
    return 0
