"""Validating profile files: structure, semantics, fixtures and library-wide collisions.

The per-profile checks run whenever a profile loads (:mod:`hub.profiles.compiled` for bindings,
:mod:`hub.profiles.checks` for what spans sections); this module adds what only a linter does:
running every fixture and comparing profiles with each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hub.capabilities.catalogue import Catalogue
from hub.profiles.checks import check_profile
from hub.profiles.compiled import LoadedProfile
from hub.profiles.fixtures import FixtureResult, run_fixtures
from hub.profiles.library import library_problems
from hub.profiles.loader import find_profile_files, load_profile_file
from hub.profiles.problems import ProfileProblem, format_field

__all__ = ["ValidationReport", "check_profile", "validate_paths", "validate_report"]


@dataclass(slots=True)
class ValidationReport:
    files: list[Path] = field(default_factory=list)
    loaded: list[LoadedProfile] = field(default_factory=list)
    problems: list[ProfileProblem] = field(default_factory=list)
    fixtures: dict[str, list[FixtureResult]] = field(default_factory=dict)  # file -> results

    @property
    def ok(self) -> bool:
        return bool(self.files) and not self.problems


def _fixture_problem(profile: LoadedProfile, result: FixtureResult) -> ProfileProblem:
    field_name = format_field(("tests", result.index))
    return ProfileProblem(
        profile.source, result.line, field_name, "fixture failed: " + "; ".join(result.diffs)
    )


def validate_report(
    paths: Iterable[Path], catalogue: Catalogue, *, run_tests: bool = True
) -> ValidationReport:
    """Load every profile under ``paths``, run its fixtures and the library-wide checks."""
    report = ValidationReport(files=find_profile_files(paths))
    for file in report.files:
        result = load_profile_file(file, catalogue)
        if not isinstance(result, LoadedProfile):
            report.problems.extend(result)
            continue
        report.loaded.append(result)
        if run_tests:
            results = run_fixtures(result)
            report.fixtures[result.source] = results
            report.problems += [_fixture_problem(result, r) for r in results if not r.passed]
    _kept, collisions = library_problems(report.loaded)
    report.problems.extend(collisions)
    return report


def validate_paths(paths: Iterable[Path], catalogue: Catalogue) -> list[ProfileProblem]:
    """Every problem of the profiles under ``paths`` (files or folders), fixtures included."""
    return validate_report(paths, catalogue).problems
