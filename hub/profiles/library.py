"""The set of loaded profiles, and the checks that need all of them (ids, exact identities)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from hub.profiles.compiled import LoadedProfile
from hub.profiles.problems import ProfileProblem, format_field
from hub.profiles.schema import (
    BleFingerprint,
    Fingerprint,
    MatterFingerprint,
    MdnsFingerprint,
)

if TYPE_CHECKING:
    from hub.core.integration import DiscoveryRecord
    from hub.profiles.matcher import MatchIndex, MatchResult

__all__ = ["ProfileLibrary", "exact_identities", "library_problems"]

ExactKey = tuple[object, ...]


def _alternatives(pattern: str) -> list[str] | None:
    """``"0x0101|0x0102"`` -> both values (lower case); None for wildcard patterns."""
    if "*" in pattern or "?" in pattern:
        return None
    return [alt.strip().lower() for alt in pattern.split("|")]


def exact_identities(fp: Fingerprint) -> list[ExactKey]:
    """The exact product identities a fingerprint claims (empty for pattern/generic ones)."""
    if isinstance(fp, MatterFingerprint):
        if fp.vendor_id is None or fp.product_id is None:
            return []
        return [("matter", fp.vendor_id, fp.product_id)]
    if isinstance(fp, MdnsFingerprint):
        vids = _alternatives(fp.txt.get("vid", "*"))
        pids = _alternatives(fp.txt.get("pid", "*"))
        if vids is None or pids is None:
            return []
        return [("mdns", fp.service.lower(), v, p) for v in vids for p in pids]
    if isinstance(fp, BleFingerprint):
        if fp.manufacturer_id is None or not fp.manufacturer_data_start:
            return []
        return [("ble", fp.manufacturer_id, bytes(fp.manufacturer_data_start))]
    return [("tuya_lan", fp.product_key)]


def _describe(key: ExactKey) -> str:
    kind = key[0]
    if kind == "matter":
        return f"Matter vendor 0x{key[1]:04X} product 0x{key[2]:04X}"
    if kind == "mdns":
        return f"mDNS {key[1]} vid {key[2]} pid {key[3]}"
    if kind == "ble":
        data = key[2]
        assert isinstance(data, bytes)
        return f"BLE manufacturer 0x{key[1]:04X} data {data.hex()}"
    return f"Tuya product key {key[1]}"


def library_problems(
    profiles: Sequence[LoadedProfile],
) -> tuple[list[LoadedProfile], list[ProfileProblem]]:
    """Unique ids (a later duplicate is set aside) and no exact identity claimed twice."""
    kept: list[LoadedProfile] = []
    problems: list[ProfileProblem] = []
    by_id: dict[str, LoadedProfile] = {}
    for profile in profiles:
        first = by_id.get(profile.id)
        if first is not None:
            problems.append(
                ProfileProblem(
                    profile.source,
                    profile.lines.get(("id",)),
                    "id",
                    f"profile id {profile.id} is already used by {first.source}",
                )
            )
            continue
        by_id[profile.id] = profile
        kept.append(profile)
    claimed: dict[ExactKey, LoadedProfile] = {}
    for profile in kept:
        for i, fp in enumerate(profile.fingerprints):
            for key in exact_identities(fp):
                owner = claimed.get(key)
                if owner is None:
                    claimed[key] = profile
                elif owner is not profile:
                    where = ("identity", "fingerprints", i)
                    problems.append(
                        ProfileProblem(
                            profile.source,
                            profile.lines.get(where),
                            format_field(where),
                            f"{_describe(key)} is already claimed by {owner.id} ({owner.source})",
                        )
                    )
    return kept, problems


class ProfileLibrary:
    """Loaded profiles by id, the problems of those set aside, and matching."""

    __slots__ = ("_index", "_profiles", "problems")

    def __init__(
        self, profiles: Iterable[LoadedProfile], problems: Iterable[ProfileProblem] = ()
    ) -> None:
        self._profiles: dict[str, LoadedProfile] = {p.id: p for p in profiles}
        self.problems: list[ProfileProblem] = list(problems)
        self._index: MatchIndex | None = None

    def get(self, profile_id: str) -> LoadedProfile | None:
        return self._profiles.get(profile_id)

    def ids(self) -> list[str]:
        return sorted(self._profiles)

    def as_mapping(self) -> Mapping[str, LoadedProfile]:
        return dict(self._profiles)

    def __iter__(self) -> Iterator[LoadedProfile]:
        return iter(self._profiles.values())

    def __len__(self) -> int:
        return len(self._profiles)

    def __contains__(self, profile_id: object) -> bool:
        return profile_id in self._profiles

    @property
    def index(self) -> MatchIndex:
        """The fingerprint index, built on first use."""
        if self._index is None:
            from hub.profiles.matcher import MatchIndex  # matcher imports this module

            self._index = MatchIndex(self._profiles.values())
        return self._index

    def match(self, record: DiscoveryRecord) -> MatchResult:
        return self.index.match(record)
