"""What the Matter end-to-end session sets up: the virtual devices, the names and profiles the
hub should give them, and the bundle the ``lab`` fixture hands to the tests."""

from __future__ import annotations

from dataclasses import dataclass

from hub_process import HubProcess
from matter_lab import MatterLab, VirtualDevice

# name -> (kind, passcode, discriminator, port). Discriminators differ in their top 4 bits: the
# manual pairing code carries only those, and the server tries every device that matches them.
DEVICES = {
    "light": ("onoff-light", 20202021, 0x100, 5540),
    "ct": ("ct-light", 20202022, 0x500, 5541),
    "lock": ("door-lock", 20202023, 0x900, 5542),
    "spare": ("onoff-light", 20202024, 0xD00, 5543),  # for the failing-attestation test
}
PROFILES = {
    "light": "generic.matter.on-off-light",
    "ct": "generic.matter.color-temperature-light",
    "lock": "generic.matter.door-lock",
}
NAMES = {
    "light": {"zh": "客厅吸顶灯", "en": "Living room light"},
    "ct": {"zh": "书房台灯", "en": "Study lamp"},
    "lock": {"zh": "入户门锁", "en": "Front door lock"},
}


@dataclass
class Lab:
    lab: MatterLab
    devices: dict[str, VirtualDevice]
    hub: HubProcess  # supervises a matter-server that has the test PAA
    no_paa_hub: HubProcess  # its server lacks the PAA: attestation fails
