"""Recorded advertisements (tests/fixtures/ble/advertisements.yaml) as regression tests: each is
matched against the shipped profiles (plus the test ones) and decoded by the hub's own parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config import HubConfig
from hub.core.integration import DiscoveryRecord
from hub.profile_access import ProfileAccess
from integrations.ble.advertisement import build_sighting
from integrations.ble.bthome import BTHOME_UUID
from integrations.ble.bthome_device import BthomeReceiver
from integrations.ble.virtual import parse_advertising_data

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ble"
ENTRIES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "advertisements.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> ProfileAccess:
    access = ProfileAccess()
    config = HubConfig.load(
        tmp_path_factory.mktemp("data"), profile_dirs=[str(FIXTURES / "profiles")]
    )
    _catalogue, problems = access.load(config)
    assert not [p for p in problems if "ble" in p.lower()], problems
    return access


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_recorded_advertisement(entry: dict[str, Any], profiles: ProfileAccess) -> None:
    fields = parse_advertising_data(bytes.fromhex(entry["raw"]))
    sighting = build_sighting(
        entry["address"],
        local_name=fields.local_name,
        manufacturer_data=fields.manufacturer_data,
        service_data=fields.service_data,
        service_uuids=fields.service_uuids,
    )
    record = DiscoveryRecord(
        "ble", "ble", sighting.address, sighting.identity(), sighting.local_name
    )
    assert profiles.library is not None
    match = profiles.library.match(record)
    assert match.best == entry["profile"], match.candidates

    loaded = profiles.get(entry["profile"])
    assert loaded is not None
    runtime = loaded.binding("bthome")
    if runtime is None:
        assert "expect" not in entry
        return
    key = bytes.fromhex(entry["bindkey"]) if entry.get("bindkey") else None
    receiver = BthomeReceiver(key, runtime.require_encryption)
    outcome = receiver.receive(sighting.service_data[BTHOME_UUID], sighting.address, 0.0)
    if "reject" in entry:
        assert outcome.verdict.value == entry["reject"], outcome
        return
    assert outcome.accepted, outcome
    assert outcome.packet is not None
    result = runtime.decode(outcome.packet.objects)
    assert not result.errors
    for path, value in entry["expect"].items():
        assert result.states[path] == value, path
    for path in entry.get("absent", []):
        assert path not in result.states
