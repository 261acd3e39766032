"""Every profile shipped under device_profiles/ validates, and its fixtures pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.capabilities.catalogue import Catalogue
from hub.profiles.fixtures import run_fixtures
from hub.profiles.loader import (
    LoadedProfile,
    find_profile_files,
    load_profile_dirs,
    load_profile_file,
)

ROOT = Path(__file__).resolve().parents[3] / "device_profiles"
FILES = find_profile_files([ROOT]) if ROOT.is_dir() else []


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_shipped_profile_loads_and_fixtures_pass(path: Path, catalogue: Catalogue) -> None:
    result = load_profile_file(path, catalogue)
    assert isinstance(result, LoadedProfile), "\n".join(str(p) for p in result)
    failures = [f"{r.label}: {'; '.join(r.diffs)}" for r in run_fixtures(result) if not r.passed]
    assert not failures, "\n".join(failures)


def test_shipped_profiles_have_fixtures(catalogue: Catalogue) -> None:
    # Generic profiles may be thin, product profiles must show their codecs work.
    for path in FILES:
        result = load_profile_file(path, catalogue)
        if isinstance(result, LoadedProfile) and not result.generic:
            assert result.model.tests, f"{path}: a product profile needs tests"


def test_shipped_library_has_no_collisions(catalogue: Catalogue) -> None:
    library = load_profile_dirs([ROOT], catalogue)
    assert not library.problems, "\n".join(str(p) for p in library.problems)
    assert len(library) == len(FILES)


def test_catalogue_folder_is_not_scanned() -> None:
    assert all("capabilities" not in p.relative_to(ROOT).parts for p in FILES)
