"""Matching discovered devices to profiles by their fingerprints (docs/profile-format.md §3).

Scores: an exact product identity (Matter vendor+product id, mDNS ``vid``+``pid``, BLE manufacturer
id + data prefix, Tuya product key) is tier 300; model/name patterns (BLE ``local_name``, service
UUIDs, partial TXT) tier 200; generic profiles and service/device-type-only matches tier 100. Within
a tier each matched constraint adds one point, so a more specific fingerprint wins. Equal top
scores are reported as ambiguous and never guessed.

:class:`MatchIndex` buckets fingerprints by an anchor (ids, product keys, UUIDs, service names) so
matching a record looks at a few entries, not the whole library.

Record identity keys (``DiscoveryRecord.identity``): mDNS ``service`` + ``txt``; Matter
``vendor_id``, ``product_id``, ``device_types``; BLE ``local_name``, ``manufacturer_data``
(``{company id: bytes}``), ``service_uuids``, ``service_data`` (``{uuid: bytes}``),
``connectable``; Tuya LAN ``product_key``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Final

from hub.core.integration import DiscoveryRecord
from hub.profiles.compiled import LoadedProfile
from hub.profiles.library import ProfileLibrary
from hub.profiles.schema import (
    BleFingerprint,
    Fingerprint,
    MatterFingerprint,
    MdnsFingerprint,
    TuyaLanFingerprint,
)

__all__ = [
    "EXACT",
    "GENERIC",
    "PATTERN",
    "MatchIndex",
    "MatchResult",
    "match",
]

EXACT: Final = 300
PATTERN: Final = 200
GENERIC: Final = 100

# Record transport -> fingerprint transport.
_FAMILY: Final[dict[str, str]] = {
    "mdns": "mdns",
    "zsdp": "mdns",
    "matter": "matter",
    "ble": "ble",
    "ble_gatt": "ble",
    "bthome": "ble",
    "tuya_ble": "ble",
    "tuya_lan": "tuya_lan",
}


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Ranked candidates ``(profile_id, score, reasons)``; ``best`` only when unambiguous."""

    candidates: list[tuple[str, int, list[str]]] = field(default_factory=list)
    best: str | None = None
    ambiguous: bool = False


# --------------------------------------------------------------------------- normalising


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            return None
    return None


def _service(name: Any) -> str:
    """``_zsdp._tcp.local.`` -> ``_zsdp._tcp``."""
    text = str(name).lower().rstrip(".")
    return text.removesuffix(".local")


def _bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    if isinstance(value, list | tuple) and all(isinstance(b, int) for b in value):
        return bytes(value)
    return None


@dataclass(slots=True)
class _Identity:
    """A record's identity, normalised once per match."""

    service: str | None = None
    txt: dict[str, str] = field(default_factory=dict)
    vendor_id: int | None = None
    product_id: int | None = None
    device_types: frozenset[int] = frozenset()
    local_name: str | None = None
    manufacturer: dict[int, bytes] = field(default_factory=dict)
    service_uuids: frozenset[str] = frozenset()
    service_data: frozenset[str] = frozenset()
    connectable: bool | None = None
    product_key: str | None = None


def _normalise(identity: Mapping[str, Any]) -> _Identity:
    out = _Identity()
    if identity.get("service") is not None:
        out.service = _service(identity["service"])
    txt = identity.get("txt")
    if isinstance(txt, Mapping):
        for k, v in txt.items():
            key = k.decode() if isinstance(k, bytes) else str(k)
            val = v.decode(errors="replace") if isinstance(v, bytes) else str(v)
            out.txt[key.lower()] = val.lower()
    out.vendor_id = _int(identity.get("vendor_id"))
    out.product_id = _int(identity.get("product_id"))
    types = identity.get("device_types") or ()
    out.device_types = frozenset(t for t in (_int(x) for x in types) if t is not None)
    name = identity.get("local_name")
    out.local_name = str(name) if name is not None else None
    mdata = identity.get("manufacturer_data")
    if isinstance(mdata, Mapping):
        for k, v in mdata.items():
            mid, data = _int(k), _bytes(v)
            if mid is not None and data is not None:
                out.manufacturer[mid] = data
    out.service_uuids = frozenset(str(u).lower() for u in identity.get("service_uuids") or ())
    sdata = identity.get("service_data")
    if isinstance(sdata, Mapping):
        out.service_data = frozenset(str(u).lower() for u in sdata)
    conn = identity.get("connectable")
    out.connectable = conn if isinstance(conn, bool) else None
    product_key = identity.get("product_key")
    out.product_key = str(product_key) if product_key is not None else None
    return out


# --------------------------------------------------------------------------- compiled fingerprints

_Check = Callable[[_Identity], bool]


@dataclass(frozen=True, slots=True)
class _Entry:
    profile_id: str
    score: int
    reason: str
    checks: tuple[_Check, ...]

    def matches(self, ident: _Identity) -> bool:
        return all(check(ident) for check in self.checks)


def _txt_pattern(pattern: str) -> Callable[[str], bool]:
    alternatives = [alt.strip().lower() for alt in pattern.split("|")]
    if not any("*" in a or "?" in a for a in alternatives):
        exact = frozenset(alternatives)
        return lambda value: value in exact
    return lambda value: any(fnmatchcase(value, a) for a in alternatives)


def _txt_check(key: str, test: Callable[[str], bool]) -> _Check:
    def check(ident: _Identity) -> bool:
        value = ident.txt.get(key)
        return value is not None and test(value)

    return check


def _is_exact_pattern(pattern: str) -> bool:
    return "*" not in pattern and "?" not in pattern


def _mdns_entry(profile: LoadedProfile, fp: MdnsFingerprint) -> _Entry:
    checks: list[_Check] = []
    service = fp.service.lower()
    checks.append(lambda ident: ident.service == service)
    checks += [_txt_check(key.lower(), _txt_pattern(pattern)) for key, pattern in fp.txt.items()]
    exact = all(k in fp.txt and _is_exact_pattern(fp.txt[k]) for k in ("vid", "pid"))
    if profile.generic or not fp.txt:
        tier = GENERIC
    else:
        tier = EXACT if exact else PATTERN
    txt = " ".join(f"{k}={v}" for k, v in fp.txt.items())
    return _Entry(profile.id, tier + len(checks), f"mDNS {fp.service} {txt}".strip(), tuple(checks))


def _matter_entry(profile: LoadedProfile, fp: MatterFingerprint) -> _Entry:
    checks: list[_Check] = []
    reason: list[str] = []
    if fp.vendor_id is not None and fp.product_id is not None:
        vid, pid = fp.vendor_id, fp.product_id
        checks.append(lambda ident: ident.vendor_id == vid and ident.product_id == pid)
        reason.append(f"Matter vendor 0x{vid:04X} product 0x{pid:04X}")
    if fp.device_types:
        types = frozenset(fp.device_types)
        if fp.vendor_id is None:
            checks.append(lambda ident: bool(types & ident.device_types))
        else:
            # Before commissioning a record may not know its device types yet.
            checks.append(lambda ident: not ident.device_types or bool(types & ident.device_types))
        reason.append("device type " + "/".join(f"0x{t:04X}" for t in fp.device_types))
    tier = EXACT if fp.vendor_id is not None and not profile.generic else GENERIC
    return _Entry(profile.id, tier + len(checks), "Matter " + ", ".join(reason), tuple(checks))


def _ble_entry(profile: LoadedProfile, fp: BleFingerprint) -> _Entry:
    checks: list[_Check] = []
    reason: list[str] = []
    if fp.manufacturer_id is not None:
        mid, prefix = fp.manufacturer_id, bytes(fp.manufacturer_data_start)
        checks.append(
            lambda ident: mid in ident.manufacturer and ident.manufacturer[mid].startswith(prefix)
        )
        reason.append(f"manufacturer 0x{mid:04X}" + (f" data {prefix.hex()}" if prefix else ""))
    if fp.local_name is not None:
        name = fp.local_name
        checks.append(
            lambda ident: ident.local_name is not None and fnmatchcase(ident.local_name, name)
        )
        reason.append(f"name {name}")
    if fp.service_uuid is not None:
        uuid = fp.service_uuid.lower()
        checks.append(lambda ident: uuid in ident.service_uuids)
        reason.append(f"service {uuid}")
    if fp.service_data_uuid is not None:
        sd = fp.service_data_uuid.lower()
        checks.append(lambda ident: sd in ident.service_data or sd in ident.service_uuids)
        reason.append(f"service data {sd}")
    if fp.connectable is not None:
        conn = fp.connectable
        checks.append(lambda ident: ident.connectable is None or ident.connectable is conn)
    exact = fp.manufacturer_id is not None and bool(fp.manufacturer_data_start)
    if profile.generic:
        tier = GENERIC
    else:
        tier = EXACT if exact else PATTERN
    return _Entry(profile.id, tier + len(checks), "BLE " + ", ".join(reason), tuple(checks))


def _tuya_entry(profile: LoadedProfile, fp: TuyaLanFingerprint) -> _Entry:
    key = fp.product_key
    tier = GENERIC if profile.generic else EXACT
    return _Entry(
        profile.id,
        tier + 1,
        f"Tuya product key {key}",
        (lambda ident: ident.product_key == key,),
    )


# --------------------------------------------------------------------------- index


class MatchIndex:
    """Fingerprints of a set of profiles, bucketed by anchor for cheap matching."""

    __slots__ = (
        "_ble_by_mfr",
        "_ble_by_name",
        "_ble_by_service",
        "_matter_by_id",
        "_matter_by_type",
        "_mdns_by_service",
        "_tuya_by_key",
    )

    def __init__(self, profiles: Iterable[LoadedProfile]) -> None:
        self._matter_by_id: dict[tuple[int, int], list[_Entry]] = {}
        self._matter_by_type: dict[int, list[_Entry]] = {}
        self._mdns_by_service: dict[str, list[_Entry]] = {}
        self._ble_by_mfr: dict[int, list[_Entry]] = {}
        self._ble_by_service: dict[str, list[_Entry]] = {}
        self._ble_by_name: list[_Entry] = []
        self._tuya_by_key: dict[str, list[_Entry]] = {}
        for profile in profiles:
            for fp in profile.fingerprints:
                self._add(profile, fp)

    def _add(self, profile: LoadedProfile, fp: Fingerprint) -> None:
        if isinstance(fp, MatterFingerprint):
            entry = _matter_entry(profile, fp)
            if fp.vendor_id is not None and fp.product_id is not None:
                self._matter_by_id.setdefault((fp.vendor_id, fp.product_id), []).append(entry)
            else:
                for t in fp.device_types:
                    self._matter_by_type.setdefault(t, []).append(entry)
        elif isinstance(fp, MdnsFingerprint):
            entry = _mdns_entry(profile, fp)
            self._mdns_by_service.setdefault(fp.service.lower(), []).append(entry)
        elif isinstance(fp, BleFingerprint):
            entry = _ble_entry(profile, fp)
            # One anchor per fingerprint: every constraint must hold anyway.
            if fp.manufacturer_id is not None:
                self._ble_by_mfr.setdefault(fp.manufacturer_id, []).append(entry)
            elif fp.service_data_uuid is not None:
                self._ble_by_service.setdefault(fp.service_data_uuid.lower(), []).append(entry)
            elif fp.service_uuid is not None:
                self._ble_by_service.setdefault(fp.service_uuid.lower(), []).append(entry)
            else:
                self._ble_by_name.append(entry)
        else:
            entry = _tuya_entry(profile, fp)
            self._tuya_by_key.setdefault(fp.product_key, []).append(entry)

    def _candidates(self, family: str, ident: _Identity) -> list[_Entry]:
        if family == "matter":
            out: list[_Entry] = []
            if ident.vendor_id is not None and ident.product_id is not None:
                out += self._matter_by_id.get((ident.vendor_id, ident.product_id), [])
            seen: set[int] = set()
            for t in ident.device_types:
                for e in self._matter_by_type.get(t, []):
                    if id(e) not in seen:
                        seen.add(id(e))
                        out.append(e)
            return out
        if family == "mdns":
            return self._mdns_by_service.get(ident.service or "", [])
        if family == "ble":
            out = []
            for mid in ident.manufacturer:
                out += self._ble_by_mfr.get(mid, [])
            for uuid in ident.service_data | ident.service_uuids:
                out += self._ble_by_service.get(uuid, [])
            if ident.local_name is not None:
                out += self._ble_by_name
            return out
        if family == "tuya_lan":
            return self._tuya_by_key.get(ident.product_key or "", [])
        return []

    def match(self, record: DiscoveryRecord) -> MatchResult:
        family = _FAMILY.get(record.transport)
        if family is None:
            return MatchResult()
        ident = _normalise(record.identity)
        if family == "ble" and ident.local_name is None and record.name:
            ident.local_name = record.name
        best: dict[str, tuple[int, list[str]]] = {}
        for entry in self._candidates(family, ident):
            if not entry.matches(ident):
                continue
            current = best.get(entry.profile_id)
            if current is None or entry.score > current[0]:
                best[entry.profile_id] = (entry.score, [entry.reason])
            elif entry.score == current[0] and entry.reason not in current[1]:
                current[1].append(entry.reason)
        ranked = sorted(
            ((pid, score, reasons) for pid, (score, reasons) in best.items()),
            key=lambda c: (-c[1], c[0]),
        )
        if not ranked:
            return MatchResult()
        ambiguous = len(ranked) > 1 and ranked[1][1] == ranked[0][1]
        return MatchResult(
            candidates=ranked, best=None if ambiguous else ranked[0][0], ambiguous=ambiguous
        )


def match(record: DiscoveryRecord, library: ProfileLibrary) -> MatchResult:
    """Rank the library's profiles for one discovered device."""
    return library.index.match(record)
