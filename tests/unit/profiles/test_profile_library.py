"""Loading folders into a library: broken profiles are set aside, the rest load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hub.capabilities.catalogue import Catalogue
from hub.profiles.loader import (
    LoadedProfile,
    find_profile_files,
    load_profile_dirs,
    load_profile_file,
)


def test_broken_profile_is_set_aside(
    tmp_path: Path, catalogue: Catalogue, sample: Callable[[str], str]
) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "light.yaml").write_text(sample("light"), encoding="utf-8")
    (tmp_path / "vendor" / "broken.yaml").write_text(
        sample("lock").replace("class: security", "class: nope"), encoding="utf-8"
    )
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "core.yaml").write_text(
        "schema: zshub.capabilities/1\n", encoding="utf-8"
    )
    lib = load_profile_dirs([tmp_path], catalogue)
    assert lib.ids() == ["test.sample.light"]
    assert "test.sample.light" in lib and len(lib) == 1
    assert [p.id for p in lib] == ["test.sample.light"]
    light = lib.get("test.sample.light")
    assert isinstance(light, LoadedProfile) and light.source.endswith("light.yaml")
    assert lib.get("test.sample.lock") is None
    (problem,) = lib.problems
    assert problem.file.endswith("broken.yaml") and problem.field == "safety.class"


def test_find_profile_files_skips_the_catalogue(tmp_path: Path) -> None:
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "x.yaml").write_text("", encoding="utf-8")
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "p.yaml").write_text("", encoding="utf-8")
    (tmp_path / "a" / "notes.txt").write_text("", encoding="utf-8")
    single = tmp_path / "a" / "b" / "p.yaml"
    assert find_profile_files([tmp_path, single]) == [single]


def test_missing_and_empty_files(tmp_path: Path, catalogue: Catalogue) -> None:
    (problem,) = load_profile_file(tmp_path / "nope.yaml", catalogue)  # type: ignore[misc]
    assert problem.field == "(file)" and "cannot read" in problem.message
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n", encoding="utf-8")
    (problem,) = load_profile_file(empty, catalogue)  # type: ignore[misc]
    assert problem.message == "the document is empty"
