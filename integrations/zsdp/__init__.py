"""ZS-DP: open data-point protocol over the LAN for Zhongshan-made devices (docs/zsdp.md).

Protocol layer only: wire format, pairing and session crypto, and the two endpoints
(``HubConnection`` for the hub, ``DeviceEndpoint`` for devices and simulators).
"""

from integrations.zsdp.device import DeviceEndpoint, DeviceHandler, KeyStore, MemoryKeyStore
from integrations.zsdp.discovery import SERVICE_TYPE, Advertisement
from integrations.zsdp.errors import (
    ConnectionClosedError,
    ErrorCode,
    HandshakeError,
    ProtocolError,
    RemoteError,
    RequestTimeoutError,
    ZsdpError,
)
from integrations.zsdp.handshake import (
    PROTOCOL_VERSION,
    DeviceInfo,
    LongTermKey,
    generate_pairing_code,
    normalize_pairing_code,
)
from integrations.zsdp.hub import HubConnection, Update
from integrations.zsdp.messages import Event, Report
from integrations.zsdp.wire import (
    DPType,
    DPValue,
    dp_bitmap,
    dp_bool,
    dp_enum,
    dp_raw,
    dp_string,
    dp_value,
)

__all__ = [
    "PROTOCOL_VERSION",
    "SERVICE_TYPE",
    "Advertisement",
    "ConnectionClosedError",
    "DPType",
    "DPValue",
    "DeviceEndpoint",
    "DeviceHandler",
    "DeviceInfo",
    "ErrorCode",
    "Event",
    "HandshakeError",
    "HubConnection",
    "KeyStore",
    "LongTermKey",
    "MemoryKeyStore",
    "ProtocolError",
    "RemoteError",
    "Report",
    "RequestTimeoutError",
    "Update",
    "ZsdpError",
    "dp_bitmap",
    "dp_bool",
    "dp_enum",
    "dp_raw",
    "dp_string",
    "dp_value",
    "generate_pairing_code",
    "normalize_pairing_code",
]
