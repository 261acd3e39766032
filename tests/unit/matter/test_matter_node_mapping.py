"""Recorded node dumps (tests/fixtures/matter) mapped to profiles and capability states.

Each dump goes through the integration's public path for a commissioned node
(``MatterIntegration.register_node``) in a real hub with the shipped profile library: the
profile is chosen (product profile by vendor/product id, else the generic one by device type),
the endpoint map is worked out and every attribute is decoded by the profile's codecs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.app import Hub
from hub.config import HubConfig
from integrations.matter.integration import MatterIntegration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "matter"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
async def matter(tmp_path: Path) -> AsyncIterator[tuple[Hub, MatterIntegration]]:
    made: list[MatterIntegration] = []

    def factory(hub: Hub) -> MatterIntegration:
        made.append(MatterIntegration(hub))
        return made[0]

    hub = Hub(HubConfig.load(tmp_path, port=0, plugins=()), extra_plugins=[factory])
    await hub.start()
    yield hub, made[0]
    await hub.stop()


CASES = [
    (
        "on_off_light.json",
        "generic.matter.on-off-light",
        {},
        {"main/onoff/on": False},
    ),
    (
        # 0xFFF1/0x8101 is the Guzhen demo lamp's Matter SKU: its product profile wins over the
        # generic colour-temperature light.
        "color_temperature_light.json",
        "cn.zs.demo-guzhen-lighting.xdd-cct-480",
        {},
        {
            "main/onoff/on": True,
            "main/brightness/level": pytest.approx(50.3, abs=0.01),  # 127 of 1-254
            "main/color_temperature/kelvin": 4000,  # 250 mireds
            "main/color_temperature/min_kelvin": 2703,  # physical max 370 mireds
            "main/color_temperature/max_kelvin": 6494,  # physical min 154 mireds
        },
    ),
    (
        # The lamp's function is on endpoint 2; the generic profile says endpoint 1.
        "extended_color_light.json",
        "generic.matter.extended-color-light",
        {"1": 2},
        {
            "main/onoff/on": True,
            "main/brightness/level": 100,
            "main/color/hue": 180,
            "main/color/saturation": 100,
            "main/color/mode": "hs",
            "main/color_temperature/kelvin": 2703,
            "main/color_temperature/min_kelvin": 2000,
            "main/color_temperature/max_kelvin": 6536,
        },
    ),
    (
        "door_lock.json",
        "generic.matter.door-lock",
        {},
        {
            "main/lock/lock_state": "locked",
            "main/lock/door_state": "closed",
            "main/lock/auto_relock_s": 60,
            "main/battery/percent": 90,  # 180 half-percent
            "main/battery/low": False,
        },
    ),
    ("contact_sensor.json", "generic.matter.contact-sensor", {}, {"main/contact/open": False}),
    (
        "occupancy_sensor.json",
        "generic.matter.occupancy-sensor",
        {},
        {"main/occupancy/occupied": True},
    ),
    (
        # A range hood: extractor hood on endpoint 1, its light on endpoint 2; the primary
        # (first) endpoint decides the profile.
        "extractor_hood.json",
        "generic.matter.extractor-hood",
        {},
        {"main/fan/mode": "medium", "main/fan/percent": 66},
    ),
    ("fan.json", "generic.matter.fan", {}, {"main/fan/mode": "high", "main/fan/percent": 100}),
    (
        "water_heater.json",
        "generic.matter.water-heater",
        {},
        {
            "main/temperature/celsius": 41.5,  # 4150 × 0.01 °C
            "main/temperature_setpoint/setpoint": 45.0,
            "main/temperature_setpoint/min": 35.0,
            "main/temperature_setpoint/max": 75.0,
            "main/heating/state": "heating",
        },
    ),
    (
        "water_valve.json",
        "generic.matter.water-valve",
        {},
        {"main/valve/state": "open", "main/valve/fault": ()},
    ),
]


@pytest.mark.parametrize(("fixture", "profile", "endpoints", "expected"), CASES)
async def test_dump_maps_to_capabilities(
    matter: tuple[Hub, MatterIntegration],
    fixture: str,
    profile: str,
    endpoints: dict[str, int],
    expected: dict[str, Any],
) -> None:
    hub, integration = matter
    node = load(fixture)
    device = await integration.register_node(node)
    assert device.profile_id == profile
    assert device.integration == "matter" and device.transport == "matter"
    assert device.identity["key"] == f"node-{node['node_id']}"
    assert device.identity["node_id"] == node["node_id"]
    assert device.identity["vendor_id"] == node["attributes"]["0/40/2"]
    assert device.config["matter"] == {"node_id": node["node_id"], "endpoints": endpoints}
    states = {
        path.split("/", 1)[1]: state.value
        for path, state in hub.states.device_states(device.id).items()
    }
    assert states == expected
    assert hub.registry.device(device.id).availability.value == "online"


async def test_names_come_from_the_node(matter: tuple[Hub, MatterIntegration]) -> None:
    _hub, integration = matter
    lock = await integration.register_node(load("door_lock.json"))
    assert (lock.name_zh, lock.name_en) == ("Front door", "Front door")  # NodeLabel
    heater = await integration.register_node(load("water_heater.json"))
    assert heater.name_en == "JSQ-M16 water heater"  # no NodeLabel: ProductName
    named = await integration.register_node(load("fan.json"), name_zh="落地扇", name_en="Fan")
    assert (named.name_zh, named.name_en) == ("落地扇", "Fan")


async def test_generic_profile_when_vendor_is_unknown(
    matter: tuple[Hub, MatterIntegration],
) -> None:
    _hub, integration = matter
    node = load("color_temperature_light.json")
    node["attributes"]["0/40/2"] = 0x1234  # not the Guzhen lamp: generic colour-temperature
    device = await integration.register_node(node)
    assert device.profile_id == "generic.matter.color-temperature-light"


async def test_unavailable_node_is_offline(matter: tuple[Hub, MatterIntegration]) -> None:
    hub, integration = matter
    node = load("on_off_light.json")
    node["available"] = False
    device = await integration.register_node(node)
    assert hub.registry.device(device.id).availability.value == "offline"


async def test_node_without_a_profile_is_kept(matter: tuple[Hub, MatterIntegration]) -> None:
    hub, integration = matter
    node = load("on_off_light.json")
    node["attributes"]["1/29/0"] = [{"0": 0x0850, "1": 1}]  # a device type no profile knows
    device = await integration.register_node(node)
    assert device.profile_id is None
    assert hub.states.device_states(device.id) == {}
