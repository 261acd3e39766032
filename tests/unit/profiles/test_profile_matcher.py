"""Matching discovery records to profiles: exact beats pattern beats generic; ties are ambiguous."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.capabilities.catalogue import Catalogue
from hub.core.integration import DiscoveryRecord
from hub.profiles.library import ProfileLibrary
from hub.profiles.loader import LoadedProfile, load_profile_dirs
from hub.profiles.matcher import EXACT, GENERIC, PATTERN, match


@pytest.fixture
def library(samples_dir: Path, catalogue: Catalogue) -> ProfileLibrary:
    lib = load_profile_dirs([samples_dir], catalogue)
    assert not lib.problems
    return lib


def record(transport: str, **identity: object) -> DiscoveryRecord:
    return DiscoveryRecord(integration=transport, transport=transport, key="k", identity=identity)


def test_exact_matter_identity_beats_generic(library: ProfileLibrary) -> None:
    result = match(
        record("matter", vendor_id=0xFFF1, product_id=0x7E01, device_types=[0x010C]), library
    )
    assert result.best == "test.sample.light"
    assert not result.ambiguous
    ids = [c[0] for c in result.candidates]
    assert ids == ["test.sample.light", "test.generic.dimmable-light"]
    (exact, generic) = result.candidates
    assert exact[1] >= EXACT > generic[1] >= GENERIC
    assert "Matter vendor 0xFFF1 product 0x7E01" in exact[2][0]


def test_generic_matches_by_device_type(library: ProfileLibrary) -> None:
    result = match(record("matter", vendor_id=0x1234, product_id=1, device_types=[0x0101]), library)
    assert result.best == "test.generic.dimmable-light"
    assert result.candidates[0][1] < PATTERN


def test_matter_ids_as_text(library: ProfileLibrary) -> None:
    result = match(record("matter", vendor_id="0xFFF1", product_id="0x7E01"), library)
    assert result.best == "test.sample.light"


def test_mdns_alternatives_and_service_suffix(library: ProfileLibrary) -> None:
    for pid in ("0x0001", "0x0002", "0X0002"):
        r = record(
            "mdns", service="_zsdp._tcp.local.", txt={"vid": "0x7e01", "pid": pid, "fw": "1.2"}
        )
        assert match(r, library).best == "test.sample.light"
    assert (
        match(
            record("mdns", service="_zsdp._tcp", txt={"vid": "0x7E01", "pid": "0x0003"}), library
        ).candidates
        == []
    )


def test_ble_manufacturer_prefix_is_exact(library: ProfileLibrary) -> None:
    r = record("ble", local_name="TC-0042", manufacturer_data={0xFFFF: bytes.fromhex("544301")})
    result = match(r, library)
    assert result.best == "test.sample.cooktop"
    assert result.candidates[0][1] >= EXACT
    wrong = record("ble", local_name="TC-0042", manufacturer_data={0xFFFF: bytes.fromhex("5500")})
    assert match(wrong, library).candidates == []


def test_ble_name_and_service_data_are_patterns(library: ProfileLibrary) -> None:
    r = record(
        "bthome",
        local_name="TM-01",
        service_data={"0000FCD2-0000-1000-8000-00805F9B34FB": b"\x40"},
        connectable=False,
    )
    result = match(r, library)
    assert result.best == "test.sample.contact"
    assert PATTERN <= result.candidates[0][1] < EXACT


def test_record_name_stands_in_for_local_name(library: ProfileLibrary) -> None:
    r = DiscoveryRecord(
        integration="ble",
        transport="ble",
        key="AA:BB",
        identity={"service_data": {"0000fcd2-0000-1000-8000-00805f9b34fb": b""}},
        name="TM-02",
    )
    assert match(r, library).best == "test.sample.contact"


def test_tuya_product_key(library: ProfileLibrary) -> None:
    assert (
        match(record("tuya_lan", product_key="testGasDetector1"), library).best == "test.sample.gas"
    )


def test_no_match(library: ProfileLibrary) -> None:
    result = match(record("matter", vendor_id=1, product_id=2, device_types=[0x0202]), library)
    assert result.candidates == [] and result.best is None and not result.ambiguous
    assert match(record("zigbee", model="x"), library).candidates == []


def test_equal_scores_are_ambiguous(
    samples_dir: Path,
    catalogue: Catalogue,
    loaded: Callable[[str], LoadedProfile],
    sample: Callable[[str], str],
) -> None:
    # Two profiles with the same name pattern and no exact identity: never guess.
    text = sample("contact").replace("id: test.sample.contact", "id: test.sample.contact-b")
    other = loaded(text)
    lib = ProfileLibrary([*load_profile_dirs([samples_dir], catalogue), other])
    r = record("ble", local_name="TM-9", service_data={"0000fcd2-0000-1000-8000-00805f9b34fb": b""})
    result = lib.match(r)
    assert result.ambiguous
    assert result.best is None
    assert {c[0] for c in result.candidates} == {"test.sample.contact", "test.sample.contact-b"}


def test_more_specific_pattern_wins(
    samples_dir: Path,
    catalogue: Catalogue,
    loaded: Callable[[str], LoadedProfile],
    sample: Callable[[str], str],
) -> None:
    text = (
        sample("contact")
        .replace("id: test.sample.contact", "id: test.sample.any-tm")
        .replace('      service_data_uuid: "0000fcd2-0000-1000-8000-00805f9b34fb"\n', "")
    )
    lib = ProfileLibrary([*load_profile_dirs([samples_dir], catalogue), loaded(text)])
    r = record("ble", local_name="TM-9", service_data={"0000fcd2-0000-1000-8000-00805f9b34fb": b""})
    result = lib.match(r)
    assert result.best == "test.sample.contact"
    assert [c[0] for c in result.candidates] == ["test.sample.contact", "test.sample.any-tm"]


def test_matching_a_thousand_records(library: ProfileLibrary) -> None:
    records = [
        record("mdns", service="_zsdp._tcp", txt={"vid": "0x7E01", "pid": f"0x{i:04X}"})
        for i in range(500)
    ] + [
        record("matter", vendor_id=0xFFF1, product_id=i, device_types=[0x0101]) for i in range(500)
    ]
    results = [library.match(r) for r in records]
    assert sum(1 for r in results if r.best == "test.sample.light") == 2  # pid 0x0001 and 0x0002
    assert sum(1 for r in results if r.best == "test.generic.dimmable-light") == 500
