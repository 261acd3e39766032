"""mDNS / DNS-SD advertisement of ZS-DP devices: the TXT record codec (docs/zsdp.md §3).

Only the record format lives here; registering and browsing (python-zeroconf) belongs to the
integration and the simulators. Parsing follows RFC 6763 §6: keys are case-insensitive, the
first occurrence of a key wins, unknown keys are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from integrations.zsdp.errors import ErrorCode, ProtocolError
from integrations.zsdp.messages import MODEL_MAX_LEN, is_valid_fw, is_valid_id

__all__ = ["SERVICE_TYPE", "TXT_MAX_TOTAL", "Advertisement", "encoded_txt_size"]

SERVICE_TYPE = "_zsdp._tcp.local."
TXT_MAX_TOTAL = 400  # RFC 6763 §6.2: keep the record small enough for one packet
TXT_MAX_STRING = 255  # one "key=value" string, length-prefixed by one byte
INSTANCE_MAX = 63

_HEX16_RE = re.compile(r"0[xX][0-9A-Fa-f]{4}", re.ASCII)
_VERSION_RE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})", re.ASCII)

TxtItems = Iterable[tuple[bytes | str, bytes | str | None]]


def encoded_txt_size(txt: dict[str, str]) -> int:
    """Bytes the TXT record takes on the wire (one length byte per string)."""
    return sum(1 + len(f"{k}={v}".encode()) for k, v in txt.items())


@dataclass(frozen=True, slots=True)
class Advertisement:
    """What a device announces in its ``_zsdp._tcp`` TXT record."""

    device_id: str
    vid: int
    pid: int
    fw: str
    version: tuple[int, int]  # dpv: highest protocol version the device speaks
    pairing_open: bool
    model: str | None = None

    def to_txt(self) -> dict[str, str]:
        if not is_valid_id(self.device_id):
            raise ValueError(f"bad device id {self.device_id!r}")
        if not (0 <= self.vid <= 0xFFFF and 0 <= self.pid <= 0xFFFF):
            raise ValueError("vid and pid are 16-bit numbers")
        if not is_valid_fw(self.fw):
            raise ValueError(f"bad firmware version {self.fw!r}")
        txt = {
            "id": self.device_id,
            "vid": f"0x{self.vid:04X}",
            "pid": f"0x{self.pid:04X}",
            "fw": self.fw,
            "dpv": f"{self.version[0]}.{self.version[1]}",
            "pair": "1" if self.pairing_open else "0",
        }
        if self.model is not None:
            if len(self.model.encode("utf-8")) > MODEL_MAX_LEN:
                raise ValueError("model longer than 64 bytes")
            txt["md"] = self.model
        if encoded_txt_size(txt) > TXT_MAX_TOTAL:
            raise ValueError("TXT record larger than 400 bytes")
        return txt

    def instance_name(self) -> str:
        """A DNS-SD instance label (at most 63 bytes): model and device id."""
        name = f"{self.model or 'ZS-DP'} {self.device_id}"
        return name.encode("utf-8")[:INSTANCE_MAX].decode("utf-8", "ignore")

    @classmethod
    def from_txt(cls, txt: dict[bytes, bytes | None] | dict[str, str] | TxtItems) -> Advertisement:
        """Parse a TXT record (as python-zeroconf's ``properties`` or as key/value pairs)."""
        pairs: TxtItems = txt.items() if isinstance(txt, dict) else txt
        props: dict[str, str] = {}
        for raw_key, raw_value in pairs:
            key = _text(raw_key, "TXT key").lower()
            if key not in props:  # RFC 6763 §6.4: only the first occurrence counts
                props[key] = "" if raw_value is None else _text(raw_value, f"TXT {key}")
        missing = [k for k in ("id", "vid", "pid", "dpv") if k not in props]
        if missing:
            raise ProtocolError(ErrorCode.MALFORMED, f"TXT record lacks {', '.join(missing)}")
        if not is_valid_id(props["id"]):
            raise ProtocolError(ErrorCode.BAD_VALUE, f"bad TXT id {props['id']!r}")
        version = _VERSION_RE.fullmatch(props["dpv"])
        if version is None or int(version[1]) > 255 or int(version[2]) > 255:
            raise ProtocolError(ErrorCode.BAD_VALUE, f"bad TXT dpv {props['dpv']!r}")
        fw = props.get("fw", "")
        model = props.get("md")
        if fw and not is_valid_fw(fw):
            raise ProtocolError(ErrorCode.BAD_VALUE, f"bad TXT fw {fw!r}")
        if model is not None and len(model.encode("utf-8")) > MODEL_MAX_LEN:
            raise ProtocolError(ErrorCode.BAD_VALUE, "TXT md longer than 64 bytes")
        return cls(
            device_id=props["id"],
            vid=_hex16(props["vid"], "vid"),
            pid=_hex16(props["pid"], "pid"),
            fw=fw,
            version=(int(version[1]), int(version[2])),
            pairing_open=props.get("pair") == "1",
            model=model,
        )


def _text(value: bytes | str, what: str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} is not UTF-8") from None


def _hex16(text: str, what: str) -> int:
    if not _HEX16_RE.fullmatch(text):
        raise ProtocolError(ErrorCode.BAD_VALUE, f"bad TXT {what} {text!r} (want 0xHHHH)")
    return int(text, 16)
