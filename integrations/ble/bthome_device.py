"""What the hub remembers per added BTHome device, and the checks every packet passes.

* **Key:** the bind key entered when the device was added (device secret ``bthome_bindkey``).
* **Downgrade protection:** when the profile says ``require_encryption`` (the default) or a key
  is known, a plaintext packet is refused: someone near the door could otherwise broadcast
  "closed" in the clear.
* **Replays:** an encrypted packet must carry a counter above the last accepted one. A counter
  back below :data:`COUNTER_RESTART` is taken as the device restarting (battery change), as
  Home Assistant's parser does; any other step back is a replay and is refused.
* **Repeats:** devices send each packet many times. Plain packets carry a packet id (object
  0x00): the same id within :data:`REPEAT_WINDOW_S`, or one up to 64 behind, is a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from integrations.ble.bthome import (
    PACKET_ID,
    BthomeError,
    BthomeKeyError,
    BthomePacket,
    parse_service_data,
)

__all__ = ["COUNTER_RESTART", "REPEAT_WINDOW_S", "BthomeReceiver", "Outcome", "Verdict"]

COUNTER_RESTART: Final = 100
REPEAT_WINDOW_S: Final = 4.0


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    REPEAT = "repeat"  # the same packet again: fine, nothing new
    REPLAY = "replay"  # an older counter: refused
    WRONG_KEY = "wrong_key"
    NO_KEY = "no_key"
    PLAINTEXT_REFUSED = "plaintext_refused"
    MALFORMED = "malformed"


@dataclass(slots=True)
class Outcome:
    verdict: Verdict
    packet: BthomePacket | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED


@dataclass(slots=True)
class BthomeReceiver:
    """Packet checks for one device; :attr:`objects` are the last accepted values per id."""

    key: bytes | None
    require_encryption: bool
    counter: int | None = None  # last accepted encryption counter
    packet_id: int | None = None
    packet_at: float | None = None
    objects: dict[int, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def receive(self, data: bytes, address: str, now: float) -> Outcome:
        outcome = self._check(data, address, now)
        name = outcome.verdict.value
        self.counts[name] = self.counts.get(name, 0) + 1
        return outcome

    def _check(self, data: bytes, address: str, now: float) -> Outcome:
        try:
            packet = parse_service_data(data, address, self.key)
        except BthomeKeyError as err:
            verdict = Verdict.NO_KEY if self.key is None else Verdict.WRONG_KEY
            return Outcome(verdict, detail=str(err))
        except BthomeError as err:
            return Outcome(Verdict.MALFORMED, detail=str(err))
        if not packet.encrypted and (self.require_encryption or self.key is not None):
            return Outcome(
                Verdict.PLAINTEXT_REFUSED,
                packet,
                "plaintext packet from a device that must encrypt (downgrade refused)",
            )
        if packet.counter is not None and self.counter is not None:
            if packet.counter == self.counter:
                return Outcome(Verdict.REPEAT, packet)
            if packet.counter < self.counter and packet.counter >= COUNTER_RESTART:
                return Outcome(
                    Verdict.REPLAY,
                    packet,
                    f"counter {packet.counter} is behind the last accepted {self.counter}",
                )
        elif packet.counter is None and self._repeat(packet.packet_id, now):
            return Outcome(Verdict.REPEAT, packet)
        if packet.counter is not None:
            self.counter = packet.counter
        self.packet_id = packet.packet_id
        self.packet_at = now
        return Outcome(Verdict.ACCEPTED, packet)

    def _repeat(self, packet_id: int | None, now: float) -> bool:
        last, at = self.packet_id, self.packet_at
        if packet_id is None or last is None or at is None or now - at > REPEAT_WINDOW_S:
            return False
        ahead = (packet_id - last) % 256
        return ahead == 0 or ahead >= 64  # the same packet, or an older one

    def remember(self, objects: dict[int, Any]) -> dict[int, Any]:
        """Store accepted values; returns the previous ones (the runtime's edge reference)."""
        previous = dict(self.objects)
        self.objects.update({k: v for k, v in objects.items() if k != PACKET_ID})
        return previous

    def verify(self, data: bytes, address: str) -> Outcome:
        """Check a key against one captured packet without changing any state (adding)."""
        try:
            packet = parse_service_data(data, address, self.key)
        except BthomeKeyError as err:
            verdict = Verdict.NO_KEY if self.key is None else Verdict.WRONG_KEY
            return Outcome(verdict, detail=str(err))
        except BthomeError as err:
            return Outcome(Verdict.MALFORMED, detail=str(err))
        if not packet.encrypted and (self.require_encryption or self.key is not None):
            return Outcome(Verdict.PLAINTEXT_REFUSED, packet, "the device broadcasts in the clear")
        return Outcome(Verdict.ACCEPTED, packet)
