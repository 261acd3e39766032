"""A hub restarted on the same data directory reads its YAML (catalogue, profiles) from the
parse cache its first start wrote, and loads exactly the same (edits: tests/unit/test_yamlio)."""

from __future__ import annotations

from pathlib import Path

from fakes import FakeIntegration

from hub.app import Hub
from hub.config import HubConfig
from hub.util import yamlio


async def _start(data: Path) -> Hub:
    hub = Hub(HubConfig.load(data, port=0, plugins=()), extra_plugins=[lambda h: FakeIntegration()])
    await hub.start()
    return hub


async def test_restart_reads_the_cache_and_loads_the_same(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "yaml"
    (cache / "0000.pickle").parent.mkdir(parents=True)
    (cache / "0000.pickle").write_bytes(b"left from an older version")

    first = await _start(tmp_path)
    try:
        assert first.problems == []
        library = first.profiles.library
        assert library is not None and len(library) > 10
        before = {p.id: p for p in library}
    finally:
        await first.stop()
    assert yamlio.cache_folder() is None  # a stopped hub caches no more
    written = sorted(p.name for p in cache.iterdir())
    assert "0000.pickle" not in written  # pruned: nothing used it
    assert len(written) >= len(before) + 5  # every profile and the catalogue's files

    second = await _start(tmp_path)
    try:
        assert second.problems == []
        assert sorted(p.name for p in cache.iterdir()) == written  # all read, none new
        library = second.profiles.library
        assert library is not None
        assert sorted(p.id for p in library) == sorted(before)
        for again in library:
            assert again.model == before[again.id].model
            assert dict(again.lines) == dict(before[again.id].lines)
    finally:
        await second.stop()
