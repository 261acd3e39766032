"""How the hub keeps a device's ZS-DP long-term key: one device secret, JSON with hex.

Stored with ``hub.storage.set_secret(device_id, SECRET_NAME, dump_key(ltk))``: the
``device_secrets`` table, apart from the registry so no device listing leaks it, deleted with the
device.
"""

from __future__ import annotations

import json

from integrations.zsdp.crypto import preload
from integrations.zsdp.handshake import LongTermKey

__all__ = ["SECRET_NAME", "dump_key", "load_key"]

SECRET_NAME = "zsdp_ltk"
_FORMAT = 1


def dump_key(ltk: LongTermKey) -> str:
    return json.dumps(
        {"v": _FORMAT, "device_id": ltk.device_id, "hub_id": ltk.hub_id, "key": ltk.key.hex()},
        separators=(",", ":"),
    )


def load_key(text: str) -> LongTermKey:
    """Raises ValueError when the stored text is not a key this version wrote.

    A stored key means a paired device the hub will connect to: the ciphers are imported from
    here on in a worker thread, so that the handshake finds them loaded."""
    preload()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"stored ZS-DP key is not JSON: {err.msg}") from None
    if not isinstance(data, dict) or data.get("v") != _FORMAT:
        raise ValueError("stored ZS-DP key has an unknown format")
    device_id, hub_id, key = data.get("device_id"), data.get("hub_id"), data.get("key")
    if not (isinstance(device_id, str) and isinstance(hub_id, str) and isinstance(key, str)):
        raise ValueError("stored ZS-DP key lacks device_id, hub_id or key")
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raise ValueError("stored ZS-DP key is not hex") from None
    return LongTermKey(device_id, hub_id, raw)
