"""What keeps a large home cheap: the heartbeat stretches with the number of links."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from integrations.zsdp.link import LinkSettings, ZsdpLink

if TYPE_CHECKING:
    from hub.app import Hub


def _link(size: list[int], settings: LinkSettings) -> ZsdpLink:
    return ZsdpLink(
        cast("Hub", object()),  # never touched: heartbeat_interval() only reads settings
        "lamp-0001",
        settings=settings,
        locate=lambda device: [],
        fleet_size=lambda: size[0],
    )


def test_heartbeat_stretches_so_the_hub_pings_at_most_its_budget() -> None:
    settings = LinkSettings(heartbeat_interval=2.0, ping_budget=100.0, heartbeat_max=15.0)
    size = [1]
    link = _link(size, settings)
    assert link.heartbeat_interval() == 2.0  # a small home keeps the configured heartbeat
    size[0] = 200
    assert link.heartbeat_interval() == 2.0  # 200 links × 1/2 s = the budget exactly
    size[0] = 1000
    assert link.heartbeat_interval() == 10.0  # 1,000 links × 1/10 s = 100 PINGs a second
    size[0] = 100_000
    assert link.heartbeat_interval() == 15.0  # never longer than the spec's default


def test_a_link_without_a_fleet_uses_its_settings() -> None:
    link = ZsdpLink(
        cast("Hub", object()),
        "lamp-0001",
        settings=LinkSettings(heartbeat_interval=3.0),
        locate=lambda device: [],
    )
    assert link.heartbeat_interval() == 3.0
