"""Shared fixtures for the profile tests: the shipped catalogue and the sample profiles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.capabilities.catalogue import Catalogue, default_catalogue_dir
from hub.profiles.loader import LoadedProfile, ProfileProblem, load_profile_text

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    cat, errors = Catalogue.load_dir(default_catalogue_dir())
    assert not errors, [str(e) for e in errors]
    return cat


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture
def sample() -> Callable[[str], str]:
    """Text of a sample profile: sample("light")."""

    def read(name: str) -> str:
        return (SAMPLES / f"{name}.yaml").read_text(encoding="utf-8")

    return read


@pytest.fixture
def load(catalogue: Catalogue) -> Callable[..., LoadedProfile | list[ProfileProblem]]:
    def run(text: str, source: str = "p.yaml") -> LoadedProfile | list[ProfileProblem]:
        return load_profile_text(text, catalogue, source)

    return run


@pytest.fixture
def loaded(
    load: Callable[..., LoadedProfile | list[ProfileProblem]],
) -> Callable[[str], LoadedProfile]:
    """Load text that must be valid; fails the test with the problems otherwise."""

    def run(text: str) -> LoadedProfile:
        result = load(text)
        assert isinstance(result, LoadedProfile), "\n".join(str(p) for p in result)
        return result

    return run
