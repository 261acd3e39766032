"""A device whose attestation the Matter server cannot verify (the server was started without the
"Matter Test PAA" that signs matter.js's test certificates) is refused with a clear error, and
the hub adds nothing."""

from __future__ import annotations

import pytest
from hub_process import HubProcess
from matter_setup import Lab

pytestmark = [pytest.mark.slow, pytest.mark.netns]


def test_failed_attestation_gives_a_clear_error(no_paa_hub: HubProcess, lab: Lab) -> None:
    api = no_paa_hub.owner_api()
    api.wait_matter_connected()
    status, body = api.call(
        "POST",
        "/api/matter/commission",
        {"code": lab.devices["spare"].pairing_code, "name": {"zh": "备用灯", "en": "Spare light"}},
    )
    assert status >= 400, body
    error = body["error"]
    assert error["code"] == "matter_attestation_failed", body
    assert "认证" in error["message"]["zh"] or "证书" in error["message"]["zh"], error
    assert "attestation" in error["message"]["en"].lower(), error
    status, body = api.call("GET", "/api/devices")
    assert status == 200
    assert body["devices"] == []
